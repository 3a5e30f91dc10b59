#include "mem/protocol_checker.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"

namespace lmsim::mem {

namespace {
constexpr int kCommands = 5;
constexpr long kNever = -1;
}  // namespace

ProtocolChecker::ProtocolChecker(const DramSpec& spec)
    : spec_(spec),
      rules_(timing_constraints(spec)),
      last_(kCommands, std::vector<long>(spec.org.banks(), kNever)),
      open_row_(spec.org.banks(), -1) {}

std::string ProtocolChecker::timing_violation(Command cmd, const BankAddress& a, long cycle) const {
    const int me = index(a), bpg = spec_.org.banks_per_group;
    std::string all;  // every violated rule, "; "-separated
    for (const TimingConstraint& r : rules_) {
        if (r.next != cmd) continue;
        for (int b = 0; b < spec_.org.banks(); ++b) {
            const long prev = last_[static_cast<int>(r.prev)][b];
            if (prev == kNever) continue;
            if (scope_applies(r.scope, b, me, bpg) && cycle < prev + r.cycles)
                all += fmt::format("{}{} at {} on bg{}/bank{}: {} ({}) needs {} cycles after {} at {} on bg{}/bank{}",
                                   all.empty() ? "" : "; ", to_string(cmd), cycle, a.bank_group, a.bank, r.name,
                                   to_string(r.scope), r.cycles, to_string(r.prev), prev, b / bpg, b % bpg);
        }
    }
    if (cmd == Command::ACT && recent_acts_.size() == 4 && cycle < recent_acts_.front() + spec_.t.faw)
        all += fmt::format("{}ACT at {}: tFAW allows 4 activates in {} cycles, the 4th before this was at {}",
                           all.empty() ? "" : "; ", cycle, spec_.t.faw, recent_acts_.front());
    return all;
}

std::string ProtocolChecker::check(Command cmd, const BankAddress& a, long cycle) const {
    if (a.bank_group < 0 || a.bank_group >= spec_.org.bank_groups || a.bank < 0 ||
        a.bank >= spec_.org.banks_per_group || a.row < 0 || a.row >= spec_.org.rows)
        return fmt::format("{} at {}: address bg{}/bank{}/row{} outside the device", to_string(cmd), cycle,
                           a.bank_group, a.bank, a.row);
    if (cycle < last_cycle_)
        return fmt::format("{} at {}: commands must be issued in time order (last at {})", to_string(cmd), cycle, last_cycle_);
    // JEDEC lets a controller postpone up to 8 refreshes: at most 9 x tREFI between two REFs.
    const long refresh_due = last_refresh_ + kMaxRefreshIntervals * spec_.t.refi;
    if (cmd != Command::REF && cycle > refresh_due)
        return fmt::format("{} at {}: refresh overdue (last REF at {}, at most {} x tREFI = {} cycles apart)",
                           to_string(cmd), cycle, last_refresh_, kMaxRefreshIntervals, kMaxRefreshIntervals * spec_.t.refi);
    const int open = open_row_[index(a)];
    switch (cmd) {
        case Command::ACT:
            if (open >= 0) return fmt::format("ACT at {} on bg{}/bank{}: row {} is still open", cycle, a.bank_group, a.bank, open);
            break;
        case Command::RD:
        case Command::WR:
            if (open != a.row)
                return fmt::format("{} at {} on bg{}/bank{} row {}: {}", to_string(cmd), cycle, a.bank_group, a.bank,
                                   a.row, open < 0 ? std::string("bank closed") : fmt::format("row {} is open", open));
            break;
        case Command::PRE:
            if (open < 0) return fmt::format("PRE at {} on bg{}/bank{}: bank already closed", cycle, a.bank_group, a.bank);
            break;
        case Command::REF:
            for (int b = 0; b < spec_.org.banks(); ++b)
                if (open_row_[b] >= 0) return fmt::format("REF at {}: bank {} is open", cycle, b);
            break;
    }
    return timing_violation(cmd, a, cycle);
}

long ProtocolChecker::earliest(Command cmd, const BankAddress& a, long from) const {
    long t = std::max(from, last_cycle_);
    // Every rule is a lower bound; one pass over the rules gives the largest of them.
    const int me = index(a), bpg = spec_.org.banks_per_group;
    for (const TimingConstraint& r : rules_) {
        if (r.next != cmd) continue;
        for (int b = 0; b < spec_.org.banks(); ++b) {
            const long prev = last_[static_cast<int>(r.prev)][b];
            if (prev == kNever) continue;
            if (scope_applies(r.scope, b, me, bpg)) t = std::max(t, prev + r.cycles);
        }
    }
    if (cmd == Command::ACT && recent_acts_.size() == 4) t = std::max(t, recent_acts_.front() + spec_.t.faw);
    return t;
}

void ProtocolChecker::issue(Command cmd, const BankAddress& a, long cycle) {
    std::string v = check(cmd, a, cycle);
    if (!v.empty()) throw RangeError("DRAM protocol violation: " + v);
    const int me = index(a);
    last_[static_cast<int>(cmd)][me] = cycle;
    if (cmd == Command::ACT) {
        open_row_[me] = a.row;
        recent_acts_.push_back(cycle);
        if (recent_acts_.size() > 4) recent_acts_.pop_front();
    } else if (cmd == Command::PRE) {
        open_row_[me] = -1;
    }
    if (cmd == Command::REF) last_refresh_ = cycle;
    last_cycle_ = cycle;
    ++commands_;
}

}  // namespace lmsim::mem
