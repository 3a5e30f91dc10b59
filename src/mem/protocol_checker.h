// lmsim: an independent DRAM protocol checker. It replays every command a controller issues on
// one channel and reports the first violated rule: a timing constraint of the spec's table, the
// four-activate window, the refresh interval (at most 9 x tREFI between REFs), or bank state (ACT to an open bank, RD/WR to a closed bank or another
// row, PRE of a closed bank, REF with a bank open). Tests use it so that no timing violation can
// pass silently.
#pragma once
#include <deque>
#include <string>
#include <vector>

#include "mem/dram_spec.h"

namespace lmsim::mem {

struct BankAddress {
    int bank_group = 0;
    int bank = 0;  // within the bank group
    int row = 0;
};

class ProtocolChecker {
public:
    explicit ProtocolChecker(const DramSpec& spec);

    // Empty when `cmd` at `cycle` is legal after the commands recorded so far; otherwise every
    // rule it violates (e.g. "RD at 113 on bg0/bank1: tRCD (read) needs 11 cycles after ACT at 105").
    std::string check(Command cmd, const BankAddress& a, long cycle) const;
    // The earliest cycle >= `from` at which the timing rules allow `cmd` (bank state aside).
    long earliest(Command cmd, const BankAddress& a, long from) const;
    // Checks, then records; throws RangeError with check()'s message on a violation.
    void issue(Command cmd, const BankAddress& a, long cycle);

    long commands() const { return commands_; }

private:
    int index(const BankAddress& a) const { return a.bank_group * spec_.org.banks_per_group + a.bank; }
    std::string timing_violation(Command cmd, const BankAddress& a, long cycle) const;
    DramSpec spec_;
    std::vector<TimingConstraint> rules_;
    // last[c][bank]: cycle of the last command c on that bank (-1: never).
    std::vector<std::vector<long>> last_;
    std::vector<int> open_row_;  // -1: closed
    std::deque<long> recent_acts_;
    long last_cycle_ = -1;
    long last_refresh_ = 0;  // the device starts refreshed
    static constexpr int kMaxRefreshIntervals = 9;
    long commands_ = 0;
};

}  // namespace lmsim::mem
