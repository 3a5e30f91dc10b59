// lmsim: an event-driven command-level controller for one DRAM channel (or HBM pseudo-channel),
// DRAMSys style: no per-cycle process; for each request it computes the earliest legal time of
// every command it needs (PRE, ACT, RD/WR) from per-bank and per-channel "not before" times
// that each issued command raises through the spec's constraint table. Open-page policy,
// in-order service (FCFS), all-bank refresh every tREFI. Every issued command can be replayed
// into the independent ProtocolChecker.
//
// Requests that arrived while an earlier call was still being served (a loosely-timed target
// serves each transaction whole, in call order) had been waiting in the controller's queue: the
// row commands (PRE, ACT) they need may go into command-bus slots the earlier call left free,
// back to their arrival (at most kBackfillWindowCycles back), wherever every timing rule with
// the commands before and after that slot holds. Column commands stay in order.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mem/dram_spec.h"
#include "mem/protocol_checker.h"

namespace lmsim::mem {

// A platform address space spread over several DRAM channels: consecutive 256-byte blocks go to
// consecutive channels [A: NoC/DDRMC interleaving granule, not published for the VCK190]. Used by
// membench and by the accelerator's memory port.
constexpr uint64_t kChannelInterleaveBytes = 256;
struct ChannelAddress {
    int channel;
    uint64_t local;  // address inside that channel
};
inline ChannelAddress interleave_channels(uint64_t address, int channels) {
    const uint64_t block = address / kChannelInterleaveBytes;
    return {static_cast<int>(block % static_cast<uint64_t>(channels)),
            (block / static_cast<uint64_t>(channels)) * kChannelInterleaveBytes + address % kChannelInterleaveBytes};
}

// The bytes [address, address + bytes) on each channel of an interleaved address space: channel
// c holds the 256-byte blocks k, k + n, k + 2n, ..., consecutive in that channel's own addresses,
// so each channel gets one contiguous range. Channels without bytes are left out.
struct ChannelRange {
    int channel;
    uint64_t local, bytes;
};
void interleave_ranges(uint64_t address, uint64_t bytes, int channels, std::vector<ChannelRange>& out);

// Address bits from least significant: byte offset within a burst, then the fields in the
// order given (e.g. "BgCoBaRo": bank group, column, bank, row — consecutive bursts rotate over
// bank groups first, the mapping that lets a stream use tCCD_S).
struct AddressMapping {
    std::string order = "BgCoBaRo";
};
// Empty when `order` names the four fields Bg, Co, Ba, Ro once each; otherwise what is wrong.
std::string address_mapping_error(const std::string& order);

// How many younger requests the controller's lookahead looks at (its request queue) [A: the
// AMD controllers' queue depths are not published]; every user of the controllers here uses it.
constexpr int kLookaheadWindow = 32;

struct DecodedAddress {
    int bank_group = 0, bank = 0, row = 0, column = 0;
};

struct IssuedCommand {
    Command cmd;
    BankAddress at;
    long cycle;
};

struct ChannelStats {
    long reads = 0, writes = 0, activates = 0, precharges = 0, refreshes = 0;
    long row_hits = 0, row_misses = 0, row_conflicts = 0;
};

class DramController {
public:
    DramController(const DramSpec& spec, AddressMapping mapping = {});

    DecodedAddress decode(uint64_t address) const {
        if (!pow2_fields_) return decode_by_division(address);
        // Each field wraps at its size (the row field too), by shifts and masks.
        DecodedAddress d;
        d.bank_group = static_cast<int>((address >> field_shift_[0]) & field_mask_[0]);
        d.column = static_cast<int>((address >> field_shift_[1]) & field_mask_[1]);
        d.bank = static_cast<int>((address >> field_shift_[2]) & field_mask_[2]);
        d.row = static_cast<int>((address >> field_shift_[3]) & field_mask_[3]);
        return d;
    }
    // The size of the aligned address regions whose accesses all fall in one bank and row: one
    // access times the sizes of the mapping's least significant fields up to the first that
    // selects a bank group, bank or row (fields of size 1 select nothing).
    uint64_t same_row_span_bytes() const;
    // Serves one burst-sized access that may start no earlier than `arrival` (cycles); returns
    // the cycle at which its data transfer ends (a batch of one, without lookahead).
    long access(uint64_t address, bool is_write, long arrival);

    // Serves a batch in order of column commands, with a lookahead window: while the oldest
    // request waits, row commands (PRE, ACT) for up to `window` younger requests to other banks
    // are issued when they are legal earlier (the controller's request queue). Returns each
    // request's completion cycle.
    struct Request {
        uint64_t address;
        bool is_write;
        long arrival;
    };
    std::vector<long> serve(const std::vector<Request>& requests, int window);

    const ChannelStats& stats() const { return stats_; }
    const DramSpec& spec() const { return spec_; }
    // Every command issued, in time order, when recording is on (for the protocol checker).
    void record_commands(bool on) { recording_ = on; }
    const std::vector<IssuedCommand>& commands() const;
    // Checks every command from now on with an independent ProtocolChecker, in time order, as the
    // controller goes (commands are held back only while a backfill could still precede them),
    // so a run of any length is checked in bounded memory. A violation throws RangeError naming
    // the rule. finish_checking() checks what is still held back; checked_commands() counts.
    void check_protocol();
    void finish_checking();
    long checked_commands() const;
    // --trace: the cycle of every refresh (REF) issued from now on.
    void record_refreshes(bool on) { record_refreshes_ = on; }
    const std::vector<long>& refresh_cycles() const { return refresh_cycles_; }
    // Row commands placed in earlier free command-bus slots (see above).
    long backfilled_commands() const { return backfilled_; }
    static constexpr long kBackfillWindowCycles = 64;  // [A] how far back a queued request's row command may go

private:
    long not_before(Command c, int bank) const;
    void issue(Command c, const BankAddress& a, long cycle);
    long refresh_if_due(long now);
    // The earliest free command-bus slot in [from, before) where row command c (PRE or ACT) on
    // `bank` is legal with every command around it; -1 if none.
    long backfill_slot(Command c, int bank, long from, long before) const;
    DramSpec spec_;
    AddressMapping mapping_;
    // The mapping parsed once: field (0 bank group, 1 column, 2 bank, 3 row) and its size, least
    // significant first.
    struct Field {
        int id, size;
    };
    std::vector<Field> fields_;
    DecodedAddress decode_by_division(uint64_t address) const;
    // Every field a power of two (all presets): decode by shifts and masks, indexed by field
    // (0 bank group, 1 column, 2 bank, 3 row).
    bool pow2_fields_ = false;
    int field_shift_[4] = {};
    uint64_t field_mask_[4] = {};
    int offset_bits_ = 0;
    std::vector<TimingConstraint> rules_;
    std::vector<std::vector<TimingConstraint>> rules_by_prev_;  // indexed by the preceding command
    // next_[c][bank]: earliest cycle command c may be issued to that bank.
    std::vector<std::vector<long>> next_;
    std::vector<long> recent_acts_;  // last four ACT cycles (tFAW)
    std::vector<int> open_row_;
    long cmd_bus_free_ = 0;  // one command per cycle on the command bus
    long next_refresh_ = 0;
    ChannelStats stats_;
    bool recording_ = false;
    bool record_refreshes_ = false;
    std::vector<long> refresh_cycles_;
    mutable std::vector<IssuedCommand> log_;
    mutable bool log_sorted_ = true;
    // Recent commands, in time order, for backfilling: every command that can constrain a slot
    // in the window (REF aside: a backfilled command never precedes the last refresh).
    struct Recent {
        long cycle;
        Command cmd;
        int bank;
    };
    std::vector<Recent> recent_;
    std::vector<long> last_on_bank_;  // cycle of the latest command on each bank
    long last_refresh_ = -1;
    int longest_rule_ = 0;  // cycles: the longest constraint, REF's aside
    long backfilled_ = 0;
    mutable std::vector<std::pair<long, long>> forbidden_;  // backfill_slot's scratch
    // check_protocol(): the checker and the commands not yet given to it.
    std::unique_ptr<ProtocolChecker> checker_;
    std::vector<IssuedCommand> unchecked_;
    void feed_checker(long before_cycle);
};

}  // namespace lmsim::mem
