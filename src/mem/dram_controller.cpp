#include "mem/dram_controller.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>

#include "common/error.h"

namespace lmsim::mem {

namespace {
constexpr int kCommands = 5;
int log2_exact(int v) {
    int b = 0;
    while ((1 << b) < v) ++b;
    return b;
}
}  // namespace

std::string address_mapping_error(const std::string& m) {
    bool ok = m.size() == 8;
    for (const char* f : {"Bg", "Co", "Ba", "Ro"}) ok = ok && m.find(f) != std::string::npos && m.find(f) % 2 == 0;
    if (ok) return "";
    return fmt::format("address mapping '{}': expected the four fields Bg, Co, Ba, Ro in some order, least significant "
                       "first (e.g. BgCoBaRo)", m);
}

void interleave_ranges(uint64_t address, uint64_t bytes, int channels, std::vector<ChannelRange>& out) {
    out.clear();
    if (bytes == 0) return;
    const uint64_t I = kChannelInterleaveBytes, n = static_cast<uint64_t>(channels);
    const uint64_t end = address + bytes;
    const uint64_t k0 = address / I, k1 = (end - 1) / I;  // first and last block
    // Block k is on channel k mod n, at block k / n of that channel: two divisions per range.
    const uint64_t q0 = k0 / n, r0 = k0 % n, q1 = k1 / n, r1 = k1 % n;
    for (uint64_t c = 0; c < n; ++c) {
        // First block of channel c at or after k0, and last at or before k1.
        const uint64_t kf_q = c >= r0 ? q0 : q0 + 1, kl_q = c <= r1 ? q1 : q1 - 1;
        const uint64_t kf = kf_q * n + c;
        if (kf > k1) continue;
        const uint64_t kl = kl_q * n + c;
        const uint64_t lo = kf_q * I + (kf == k0 ? address % I : 0);
        const uint64_t hi = kl_q * I + (kl == k1 ? (end - 1) % I + 1 : I);
        out.push_back({static_cast<int>(c), lo, hi - lo});
    }
}

DramController::DramController(const DramSpec& spec, AddressMapping mapping)
    : spec_(spec),
      mapping_(std::move(mapping)),
      rules_(timing_constraints(spec)),
      rules_by_prev_(kCommands),
      next_(kCommands, std::vector<long>(spec.org.banks(), 0)),
      open_row_(spec.org.banks(), -1),
      next_refresh_(spec.t.refi),
      last_on_bank_(spec.org.banks(), -1) {
    const std::string& m = mapping_.order;
    if (const std::string e = address_mapping_error(m); !e.empty()) throw InputError(e);
    for (const TimingConstraint& r : rules_) {
        rules_by_prev_[static_cast<int>(r.prev)].push_back(r);
        if (r.prev != Command::REF && r.next != Command::REF) longest_rule_ = std::max(longest_rule_, r.cycles);
    }
    longest_rule_ = std::max(longest_rule_, spec_.t.faw);
    for (std::size_t i = 0; i < m.size(); i += 2) {
        const std::string f = m.substr(i, 2);
        if (f == "Bg") fields_.push_back({0, spec_.org.bank_groups});
        else if (f == "Co") fields_.push_back({1, spec_.org.columns});
        else if (f == "Ba") fields_.push_back({2, spec_.org.banks_per_group});
        else fields_.push_back({3, spec_.org.rows});
    }
    offset_bits_ = log2_exact(spec_.org.bytes_per_access());
    pow2_fields_ = (1 << offset_bits_) == spec_.org.bytes_per_access();
    int shift = offset_bits_;
    for (std::size_t i = 0; i < fields_.size(); ++i) {
        const int bits = log2_exact(fields_[i].size);
        pow2_fields_ = pow2_fields_ && (1 << bits) == fields_[i].size;
        field_shift_[fields_[i].id] = shift;
        field_mask_[fields_[i].id] = static_cast<uint64_t>(fields_[i].size - 1);
        shift += bits;
    }
}

DecodedAddress DramController::decode_by_division(uint64_t address) const {
    DecodedAddress d;
    uint64_t a = address >> offset_bits_;
    for (const Field& f : fields_) {
        const int v = static_cast<int>(a % static_cast<uint64_t>(f.size));
        a /= static_cast<uint64_t>(f.size);
        (f.id == 0 ? d.bank_group : f.id == 1 ? d.column : f.id == 2 ? d.bank : d.row) = v;
    }
    return d;
}

uint64_t DramController::same_row_span_bytes() const {
    uint64_t span = static_cast<uint64_t>(spec_.org.bytes_per_access());
    for (const Field& f : fields_) {
        if (f.size == 1) continue;
        if (f.id != 1) break;  // not the column
        span *= static_cast<uint64_t>(f.size);
    }
    return span;
}

long DramController::not_before(Command c, int bank) const {
    long t = std::max(next_[static_cast<int>(c)][bank], cmd_bus_free_);
    if (c == Command::ACT && recent_acts_.size() == 4) t = std::max(t, recent_acts_.front() + spec_.t.faw);
    return t;
}

void DramController::issue(Command c, const BankAddress& a, long cycle) {
    if (record_refreshes_ && c == Command::REF) refresh_cycles_.push_back(cycle);
    const int bpg = spec_.org.banks_per_group, me = a.bank_group * bpg + a.bank;
    // Raise the "not before" time of every command this one constrains, bank range by scope.
    const int banks = spec_.org.banks(), g0 = a.bank_group * bpg;
    for (const TimingConstraint& r : rules_by_prev_[static_cast<int>(c)]) {
        long* next = next_[static_cast<int>(r.next)].data();
        const long t = cycle + r.cycles;
        auto raise = [&](int from, int to) {
            for (int b = from; b < to; ++b) next[b] = std::max(next[b], t);
        };
        switch (r.scope) {
            case Scope::SameBank: raise(me, me + 1); break;
            case Scope::SameBankGroup: raise(g0, g0 + bpg); break;
            case Scope::OtherBankGroup: raise(0, g0); raise(g0 + bpg, banks); break;
            case Scope::Channel: raise(0, banks); break;
        }
    }
    switch (c) {
        case Command::ACT:
            open_row_[me] = a.row;
            // The four latest ACTs in time (a backfilled one may be older than the others).
            recent_acts_.insert(std::upper_bound(recent_acts_.begin(), recent_acts_.end(), cycle), cycle);
            if (recent_acts_.size() > 4) recent_acts_.erase(recent_acts_.begin());
            ++stats_.activates;
            break;
        case Command::PRE: open_row_[me] = -1; ++stats_.precharges; break;
        case Command::RD: ++stats_.reads; break;
        case Command::WR: ++stats_.writes; break;
        case Command::REF: ++stats_.refreshes; break;
    }
    if (cycle + 1 < cmd_bus_free_) ++backfilled_;
    cmd_bus_free_ = std::max(cmd_bus_free_, cycle + 1);
    if (recording_) {
        if (!log_.empty() && cycle < log_.back().cycle) log_sorted_ = false;
        log_.push_back({c, a, cycle});
    }
    if (checker_) {
        unchecked_.push_back({c, a, cycle});
        // No command can still go before cmd_bus_free_ - kBackfillWindowCycles.
        if (unchecked_.size() >= 4096) feed_checker(cmd_bus_free_ - kBackfillWindowCycles - 1);
    }
    if (c == Command::REF) {
        last_refresh_ = cycle;
        recent_.clear();
    } else {
        const Recent r{cycle, c, me};
        recent_.insert(std::upper_bound(recent_.begin(), recent_.end(), r,
                                        [](const Recent& x, const Recent& y) { return x.cycle < y.cycle; }),
                       r);
        last_on_bank_[me] = std::max(last_on_bank_[me], cycle);
    }
}

void DramController::check_protocol() {
    if (!checker_) checker_ = std::make_unique<ProtocolChecker>(spec_);
}

void DramController::feed_checker(long before_cycle) {
    std::stable_sort(unchecked_.begin(), unchecked_.end(),
                     [](const IssuedCommand& x, const IssuedCommand& y) { return x.cycle < y.cycle; });
    std::size_t n = 0;
    while (n < unchecked_.size() && unchecked_[n].cycle < before_cycle) {
        checker_->issue(unchecked_[n].cmd, unchecked_[n].at, unchecked_[n].cycle);
        ++n;
    }
    unchecked_.erase(unchecked_.begin(), unchecked_.begin() + static_cast<long>(n));
}

void DramController::finish_checking() {
    if (checker_) feed_checker(std::numeric_limits<long>::max());
}

long DramController::checked_commands() const { return checker_ ? checker_->commands() : 0; }

const std::vector<IssuedCommand>& DramController::commands() const {
    if (!log_sorted_) {
        std::stable_sort(log_.begin(), log_.end(), [](const IssuedCommand& x, const IssuedCommand& y) { return x.cycle < y.cycle; });
        log_sorted_ = true;
    }
    return log_;
}

long DramController::backfill_slot(Command c, int bank, long from, long before) const {
    const int bpg = spec_.org.banks_per_group;
    from = std::max({from, before - kBackfillWindowCycles, last_refresh_ + 1, last_on_bank_[bank] + 1});
    if (c == Command::ACT && last_refresh_ >= 0) from = std::max(from, last_refresh_ + static_cast<long>(spec_.t.rfc));
    if (from >= before) return -1;
    // Each command r near the window forbids the slots t with r.cycle - after < t < r.cycle + ahead:
    // `ahead` the rule from r to c (t after r), `after` the rule from c to r (r after t); both at
    // least 1, since one command a cycle uses the command bus.
    const auto by_cycle = [](const Recent& x, long cycle) { return x.cycle < cycle; };
    const auto lo = std::lower_bound(recent_.begin(), recent_.end(), from - longest_rule_, by_cycle);
    const auto hi = std::lower_bound(lo, recent_.end(), before + longest_rule_, by_cycle);
    std::vector<std::pair<long, long>>& forbidden = forbidden_;  // [first, last] slots
    forbidden.clear();
    for (auto it = lo; it != hi; ++it) {
        long ahead = 1, after = 1;
        for (const TimingConstraint& rule : rules_by_prev_[static_cast<int>(it->cmd)])
            if (rule.next == c && scope_applies(rule.scope, it->bank, bank, bpg)) ahead = std::max<long>(ahead, rule.cycles);
        for (const TimingConstraint& rule : rules_by_prev_[static_cast<int>(c)])
            if (rule.next == it->cmd && scope_applies(rule.scope, bank, it->bank, bpg)) after = std::max<long>(after, rule.cycles);
        forbidden.emplace_back(it->cycle - after + 1, it->cycle + ahead - 1);
    }
    std::sort(forbidden.begin(), forbidden.end());
    long t = from;
    std::size_t k = 0;
    while (t < before) {
        // The first slot at or after t outside every forbidden interval.
        bool moved = true;
        while (moved) {
            moved = false;
            for (; k < forbidden.size() && forbidden[k].first <= t; ++k)
                if (forbidden[k].second >= t) {
                    t = forbidden[k].second + 1;
                    moved = true;
                }
        }
        if (t >= before) break;
        if (c != Command::ACT) return t;
        // No more than four ACTs in any tFAW window, the new one included.
        std::vector<long> acts{t};
        for (auto it = lo; it != hi; ++it)
            if (it->cmd == Command::ACT && std::labs(it->cycle - t) < spec_.t.faw) acts.push_back(it->cycle);
        std::sort(acts.begin(), acts.end());
        bool ok = true;
        for (std::size_t i = 0; i + 4 < acts.size(); ++i) ok = ok && acts[i + 4] - acts[i] >= spec_.t.faw;
        if (ok) return t;
        ++t;
    }
    return -1;
}

long DramController::refresh_if_due(long now) {
    // Every refresh due by `now` is issued at its due time, or as soon after as the command bus
    // and the banks allow: a controller refreshes when the interval expires, in idle time too,
    // not when the next request happens to arrive.
    while (now >= next_refresh_) {
        long t = std::max(next_refresh_, cmd_bus_free_);
        const int bpg = spec_.org.banks_per_group;
        for (int b = 0; b < spec_.org.banks(); ++b) {
            if (open_row_[b] < 0) continue;
            BankAddress a{b / bpg, b % bpg, open_row_[b]};
            long at = std::max(t, not_before(Command::PRE, b));
            issue(Command::PRE, a, at);
            t = at;
        }
        long at = std::max(t, not_before(Command::REF, 0));
        issue(Command::REF, {0, 0, 0}, at);
        next_refresh_ += spec_.t.refi;
    }
    return now;
}

long DramController::access(uint64_t address, bool is_write, long arrival) {
    return serve({{address, is_write, arrival}}, 0).front();
}

std::vector<long> DramController::serve(const std::vector<Request>& requests, int window) {
    std::vector<long> done(requests.size());
    const int bpg = spec_.org.banks_per_group;
    // Row outcome of each request, decided by the row commands issued on its behalf: none (hit),
    // ACT (miss), PRE then ACT (conflict).
    enum Outcome : char { kHit, kMiss, kConflict };
    std::vector<char> outcome(requests.size(), kHit);
    std::vector<DecodedAddress> dec(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) dec[i] = decode(requests[i].address);
    auto bank_of = [&](std::size_t i) { return dec[i].bank_group * bpg + dec[i].bank; };
    // Banks already spoken for by an older request in the window (a bitmask: at most 64 banks).
    if (spec_.org.banks() > 64) throw InputError("the controller's lookahead supports at most 64 banks per channel");
    // Command-bus slots before prior_free were left by earlier calls; a request that arrived
    // before then had been queued, and its row commands may go back into them.
    const long prior_free = cmd_bus_free_;
    // Forget what can no longer constrain a slot this call may backfill.
    const long keep_from = prior_free - kBackfillWindowCycles - longest_rule_;
    std::size_t drop = 0;
    while (drop < recent_.size() && recent_[drop].cycle < keep_from) ++drop;
    recent_.erase(recent_.begin(), recent_.begin() + static_cast<long>(drop));
    // Within a call the slots before prior_free only fill up (constraints only accumulate), so
    // a slot found illegal for a request's row command stays illegal: each search resumes where
    // the last one for that request and command stopped ([j][0] PRE, [j][1] ACT).
    std::vector<std::array<long, 2>> search_from(requests.size(), {0, 0});
    auto row_slot = [&](Command c, int b, std::size_t j, long normal) {
        long& from = search_from[j][c == Command::PRE ? 0 : 1];
        from = std::max(from, requests[j].arrival);
        if (from + 1 >= prior_free) return normal;
        const long t = backfill_slot(c, b, from, std::min(prior_free, normal));
        from = t >= 0 ? t : prior_free;
        return t >= 0 ? t : normal;
    };
    for (std::size_t head = 0; head < requests.size(); ++head) {
        long now = refresh_if_due(std::max(requests[head].arrival, cmd_bus_free_));
        const int hb = bank_of(head);
        const BankAddress ha{dec[head].bank_group, dec[head].bank, dec[head].row};
        while (true) {
            // The head's next command and when it is legal.
            Command hc = open_row_[hb] == dec[head].row ? (requests[head].is_write ? Command::WR : Command::RD)
                       : open_row_[hb] >= 0 ? Command::PRE : Command::ACT;
            long ht = std::max(now, not_before(hc, hb));
            if (hc == Command::PRE || hc == Command::ACT) ht = row_slot(hc, hb, head, ht);
            // A younger request's row command that is legal before it, to a bank no older request
            // in the window still needs.
            std::size_t best = requests.size();
            long bt = ht;
            Command bc = Command::ACT;
            uint64_t claimed = uint64_t{1} << hb;
            for (std::size_t j = head + 1; j < requests.size() && j <= head + static_cast<std::size_t>(window); ++j) {
                const int b = bank_of(j);
                const uint64_t bit = uint64_t{1} << b;
                const bool taken = claimed & bit;
                claimed |= bit;
                if (taken || requests[j].arrival > now) continue;
                if (open_row_[b] == dec[j].row) continue;
                Command c = open_row_[b] >= 0 ? Command::PRE : Command::ACT;
                const long t = row_slot(c, b, j, std::max(now, not_before(c, b)));
                if (t < bt) best = j, bt = t, bc = c;
            }
            if (best < requests.size()) {
                const int b = bank_of(best);
                BankAddress a{dec[best].bank_group, dec[best].bank, bc == Command::PRE ? open_row_[b] : dec[best].row};
                issue(bc, a, bt);
                outcome[best] = bc == Command::PRE ? static_cast<char>(kConflict) : std::max<char>(outcome[best], kMiss);
                now = std::max(now, bt);
                continue;
            }
            BankAddress a = ha;
            if (hc == Command::PRE) a.row = open_row_[hb];
            issue(hc, a, ht);
            if (hc == Command::PRE) outcome[head] = kConflict;
            if (hc == Command::ACT) outcome[head] = std::max<char>(outcome[head], kMiss);
            now = std::max(now, ht);
            if (hc == Command::RD || hc == Command::WR) {
                done[head] = ht + (hc == Command::WR ? spec_.t.wl : spec_.t.rl) + spec_.t.burst_cycles;
                break;
            }
        }
    }
    for (char o : outcome) ++(o == kHit ? stats_.row_hits : o == kMiss ? stats_.row_misses : stats_.row_conflicts);
    return done;
}

}  // namespace lmsim::mem
