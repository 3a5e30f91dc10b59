// DRAM timing presets and the protocol checker: for every constraint of every preset, the
// following command is illegal one cycle early and legal exactly on time (Ramulator 2 style).
#include <catch2/catch.hpp>

#include "common/error.h"
#include "mem/protocol_checker.h"

using namespace lmsim;
using namespace lmsim::mem;

namespace {

// Puts the checker in a state where `prev` can be issued on bank `a` at `t0`, issues it, and
// opens or closes `target` long before so that only the constraint under test binds.
void set_up(ProtocolChecker& pc, const DramSpec& s, Command prev, const BankAddress& a, Command next,
            const BankAddress& target, long t0) {
    const bool same = a.bank_group == target.bank_group && a.bank == target.bank;
    long t = 0;
    const long gap = 3000;  // longer than any constraint
    // The target bank must be open for RD/WR/PRE as `next` (unless prev itself opens it).
    const bool target_needs_open = next == Command::RD || next == Command::WR || next == Command::PRE;
    if (target_needs_open && !same) pc.issue(Command::ACT, target, t += gap);
    if (target_needs_open && same && prev != Command::ACT && prev != Command::RD && prev != Command::WR) {
        // prev is PRE or REF on the same bank: next (RD/WR/PRE) would need an ACT in between;
        // such pairs are not in the table.
        FAIL("unsupported pair");
    }
    switch (prev) {
        case Command::ACT: break;
        case Command::PRE: pc.issue(Command::ACT, a, t += gap); break;
        case Command::RD:
        case Command::WR: pc.issue(Command::ACT, a, t += gap); break;
        case Command::REF: break;
    }
    REQUIRE(t + gap <= t0);
    pc.issue(prev, a, t0);
    (void)s;
}

BankAddress bank(int bg, int b) { return {bg, b, 5}; }

}  // namespace

TEST_CASE("DRAM presets have their documented values", "[mem][timing]") {
    DramSpec h = dram_preset("HBM2_DRAMSYS");
    CHECK(h.org.bytes_per_access() == 32);
    CHECK(h.org.row_bytes() == 1024);
    CHECK(h.t.rcd_rd == 11);  // 12 ns at 900 MHz (platforms-and-math.md 2.1)
    CHECK(h.t.rp == 13);
    CHECK(h.t.rc == 38);
    CHECK(h.t.rfc == 198);
    CHECK(h.t.refi == 3510);
    CHECK(h.peak_gbps() == Approx(14.4));  // 64 bits x 1.8 GT/s
    CHECK(dram_preset("DDR4_2400").peak_gbps() == Approx(19.2).epsilon(0.01));
    CHECK(dram_preset("LPDDR4_3200").peak_gbps() == Approx(6.4));
    CHECK(dram_preset("HBM2_RAMULATOR").t.rcd_rd == 7);
    CHECK_THROWS_WITH(dram_preset("GDDR7"), Catch::Contains("unknown DRAM preset 'GDDR7'"));
}

TEST_CASE("every timing constraint: illegal one cycle early, legal on time", "[mem][timing][checker]") {
    for (const auto& name : dram_preset_names()) {
        DramSpec s = dram_preset(name);
        for (const TimingConstraint& c : timing_constraints(s)) {
            if (c.scope == Scope::OtherBankGroup && s.org.bank_groups < 2) continue;
            if (c.scope == Scope::SameBankGroup && s.org.banks_per_group < 2 && c.prev == c.next) continue;
            const BankAddress a = bank(0, 0);
            BankAddress target = a;
            if (c.scope == Scope::SameBankGroup) target = bank(0, 1);
            if (c.scope == Scope::OtherBankGroup) target = bank(1, 0);
            if (c.scope == Scope::Channel) target = s.org.bank_groups > 1 ? bank(1, 1) : bank(0, 1);
            if (c.next == Command::REF || c.prev == Command::REF) target = a;
            // PRE -> ACT and REF -> ACT act on a closed bank; RD/WR -> PRE on the open one.
            ProtocolChecker pc(s);
            const long t0 = 20000;
            set_up(pc, s, c.prev, a, c.next, target, t0);
            INFO(name << ": " << to_string(c.prev) << " -> " << to_string(c.next) << " (" << c.name << ", "
                      << to_string(c.scope) << ", " << c.cycles << " cycles)");
            if (c.prev == Command::ACT && c.next == Command::ACT && c.scope == Scope::SameBank) {
                // tRC: the bank must be precharged in between (at tRAS); then tRC or tRAS + tRP
                // binds, whichever is later.
                pc.issue(Command::PRE, a, t0 + s.t.ras);
                const long due = std::max<long>(t0 + c.cycles, t0 + s.t.ras + s.t.rp);
                CHECK_FALSE(pc.check(c.next, target, due - 1).empty());
                CHECK(pc.check(c.next, target, due).empty());
                CHECK(pc.earliest(c.next, target, t0) == due);
                if (due == t0 + c.cycles) CHECK_THAT(pc.check(c.next, target, due - 1), Catch::Contains("tRC"));
                continue;
            }
            // Another rule of the same pair may bind later (e.g. the data bus over a 1-cycle
            // tCCD_S); the command is due at the latest of them.
            long due = t0 + c.cycles;
            for (const TimingConstraint& o : timing_constraints(s)) {
                if (o.prev != c.prev || o.next != c.next) continue;
                const int bpg = s.org.banks_per_group;
                if (scope_applies(o.scope, a.bank_group * bpg + a.bank, target.bank_group * bpg + target.bank, bpg))
                    due = std::max(due, t0 + o.cycles);
            }
            std::string early = pc.check(c.next, target, t0 + c.cycles - 1);
            CHECK_THAT(early, Catch::Contains(c.name));
            CHECK_FALSE(pc.check(c.next, target, due - 1).empty());
            CHECK(pc.check(c.next, target, due).empty());
            CHECK(pc.earliest(c.next, target, t0) == due);
        }
    }
}

TEST_CASE("four-activate window and bank state are enforced", "[mem][timing][checker]") {
    DramSpec s = dram_preset("DDR4_2400");
    ProtocolChecker pc(s);
    long t = 100;
    // Four ACTs to four bank groups, tRRD_S apart.
    for (int bg = 0; bg < 4; ++bg, t += s.t.rrd_s) pc.issue(Command::ACT, bank(bg, 0), t);
    const long first = 100;
    BankAddress fifth = bank(0, 1);
    CHECK_THAT(pc.check(Command::ACT, fifth, first + s.t.faw - 1), Catch::Contains("tFAW"));
    CHECK(pc.check(Command::ACT, fifth, first + s.t.faw).empty());
    // State rules.
    CHECK_THAT(pc.check(Command::ACT, bank(0, 0), 10000), Catch::Contains("still open"));
    CHECK_THAT(pc.check(Command::RD, {0, 0, 6}, 10000), Catch::Contains("row 5 is open"));
    CHECK_THAT(pc.check(Command::RD, bank(0, 2), 10000), Catch::Contains("bank closed"));
    CHECK_THAT(pc.check(Command::PRE, bank(0, 3), 10000), Catch::Contains("already closed"));
    CHECK_THAT(pc.check(Command::REF, bank(0, 0), 10000), Catch::Contains("is open"));
    CHECK_THAT(pc.check(Command::RD, bank(0, 0), 50), Catch::Contains("time order"));
    CHECK_THROWS_AS(pc.issue(Command::ACT, bank(0, 0), 10000), RangeError);
    // Refresh may be postponed by at most 8 intervals.
    const long overdue = 9L * s.t.refi + 1;
    CHECK_THAT(pc.check(Command::RD, bank(0, 0), overdue), Catch::Contains("refresh overdue"));
    CHECK(pc.check(Command::RD, bank(0, 0), overdue - 1).empty());
}
