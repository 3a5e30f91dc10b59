#include "mem/dram_spec.h"

#include <fmt/format.h>

#include <cmath>

#include "common/error.h"

namespace lmsim::mem {

const char* to_string(Command c) {
    switch (c) {
        case Command::ACT: return "ACT";
        case Command::PRE: return "PRE";
        case Command::RD: return "RD";
        case Command::WR: return "WR";
        case Command::REF: return "REF";
    }
    return "?";
}

const char* to_string(Scope s) {
    switch (s) {
        case Scope::SameBank: return "same bank";
        case Scope::SameBankGroup: return "same bank group";
        case Scope::OtherBankGroup: return "other bank group";
        case Scope::Channel: return "channel";
    }
    return "?";
}

namespace {

// A DRAMSys HBM2 value given in ns at tCK = 1 ns, converted to the U280's 900 MHz HBM clock:
// n = ceil(t_ns / 1.111 ns) (platforms-and-math.md 2.1, column "Converted").
int at_900mhz(double t_ns) { return static_cast<int>(std::ceil(t_ns / (1000.0 / 900.0) - 1e-9)); }

DramSpec hbm2_dramsys() {
    DramSpec s;
    s.name = "HBM2_DRAMSYS";
    s.family = "hbm2";
    // Per pseudo-channel: 16 banks in 4 bank groups, 1 KB page (32 columns x 32 B), BL4, 64 bits.
    s.org = {4, 4, 32768, 32, 4, 64};
    DramTiming& t = s.t;
    t.tck_ns = 1000.0 / 900.0;
    t.rcd_rd = at_900mhz(12);
    t.rcd_wr = at_900mhz(6);
    t.rp = at_900mhz(14);
    t.ras = at_900mhz(28);
    t.rc = at_900mhz(42);
    t.rl = 17;  // mode-register cycle counts, kept as cycles
    t.wl = 7;
    t.ccd_s = 2;
    t.ccd_l = 3;
    t.rrd_s = 4;
    t.rrd_l = 6;
    t.faw = at_900mhz(16);
    t.wtr_s = 4;
    t.wtr_l = 9;
    t.rtp = at_900mhz(5);
    t.wr = at_900mhz(14);
    t.rfc = at_900mhz(220);
    t.refi = at_900mhz(3900);
    t.burst_cycles = 2;  // BL4 at double data rate
    s.source = "[R] tukl-msd/DRAMSys configs/memspec/HBM2.json, converted to 900 MHz (platforms-and-math.md 2.1)";
    return s;
}

DramSpec hbm2_ramulator() {
    DramSpec s = hbm2_dramsys();
    s.name = "HBM2_RAMULATOR";
    // Ramulator2 HBM2_2Gbps preset (tCK 1 ns), cycle counts kept; clock set to the U280's 900 MHz.
    DramTiming& t = s.t;
    t.rcd_rd = 7;
    t.rcd_wr = 7;
    t.rp = 7;
    t.ras = 17;
    t.rc = 19;
    t.rl = 7;
    t.wl = 2;
    t.ccd_s = 1;
    t.ccd_l = 2;
    t.rrd_s = 2;
    t.rrd_l = 3;
    t.faw = 15;
    t.wtr_s = 3;
    t.wtr_l = 4;
    t.rtp = 3;
    t.wr = 8;
    t.rfc = 160;
    t.refi = 3900;
    s.source = "[R] Ramulator2 src/dram/impl/HBM2.cpp preset HBM2_2Gbps (platforms-and-math.md 2.1)";
    return s;
}

DramSpec ddr4(int rate) {
    DramSpec s;
    s.family = "ddr4";
    // x8 devices, 8 per rank (64-bit), 4 bank groups x 4 banks, 1,024 columns, BL8: 8 KB page.
    s.org = {4, 4, 32768, 1024, 8, 64};
    DramTiming& t = s.t;
    if (rate == 2400) {
        s.name = "DDR4_2400";
        t.tck_ns = 0.833;
        t.rcd_rd = t.rcd_wr = 16;
        t.rp = 16;
        t.ras = 39;
        t.rc = 55;
        t.rl = 16;
        t.wl = 16;
        t.ccd_s = 4;
        t.ccd_l = 6;
        t.rrd_s = 4;
        t.rrd_l = 6;
        t.faw = 26;
        t.wtr_s = 3;
        t.wtr_l = 9;
        t.rtp = 12;  // DRAMSys (Ramulator2 DDR4_2400R gives 9)
        t.wr = 18;
        t.rfc = 312;
        t.refi = 9360;
        s.source = "[R] DRAMSys JEDEC_4Gb_DDR4-2400_8bit_A.json (platforms-and-math.md 2.2)";
    } else {
        s.name = "DDR4_3200";
        t.tck_ns = 0.625;
        t.rcd_rd = t.rcd_wr = 22;
        t.rp = 22;
        t.ras = 52;
        t.rc = 74;
        t.rl = 22;
        t.wl = 16;
        t.ccd_s = 4;
        t.ccd_l = 8;
        t.rrd_s = 4;
        t.rrd_l = 8;
        t.faw = 34;
        t.wtr_s = 4;
        t.wtr_l = 12;
        t.rtp = 12;
        t.wr = 24;
        t.rfc = 416;  // 260 ns (4 Gb) at 0.625 ns
        t.refi = 12480;  // 7.8 us
        s.source = "[R] Ramulator2 DDR4_3200AA and JESD79-4C x8 tables (platforms-and-math.md 2.2)";
    }
    t.burst_cycles = 4;  // BL8, double data rate
    return s;
}

DramSpec lpddr4_3200() {
    DramSpec s;
    s.name = "LPDDR4_3200";
    s.family = "lpddr4";
    // x16 channel, 8 banks (no bank groups), 65,536 rows, 1,024 columns, BL16: 2 KB page.
    s.org = {1, 8, 65536, 1024 / 16, 16, 16};
    DramTiming& t = s.t;
    t.tck_ns = 0.625;
    t.rcd_rd = t.rcd_wr = 29;
    t.rp = 34;  // all-bank precharge; per-bank 29
    t.ras = 68;
    t.rc = 102;
    t.rl = 28;
    t.wl = 14;
    t.ccd_s = t.ccd_l = 8;
    t.rrd_s = t.rrd_l = 16;
    t.faw = 64;
    t.wtr_s = t.wtr_l = 16;
    t.rtp = 12;
    t.wr = 29;
    t.rfc = 448;
    t.refi = 6246;
    t.burst_cycles = 8;  // BL16, double data rate
    s.source = "[R] DRAMSys JEDEC_8Gb_LPDDR4-3200_16bit.json (platforms-and-math.md 2.2)";
    return s;
}

}  // namespace

std::vector<std::string> dram_preset_names() {
    return {"HBM2_DRAMSYS", "HBM2_RAMULATOR", "DDR4_2400", "DDR4_3200", "LPDDR4_3200"};
}

DramSpec dram_preset(const std::string& name) {
    if (name == "HBM2_DRAMSYS") return hbm2_dramsys();
    if (name == "HBM2_RAMULATOR") return hbm2_ramulator();
    if (name == "DDR4_2400") return ddr4(2400);
    if (name == "DDR4_3200") return ddr4(3200);
    if (name == "LPDDR4_3200") return lpddr4_3200();
    std::string list;
    for (const auto& n : dram_preset_names()) list += (list.empty() ? "" : ", ") + n;
    throw InputError(fmt::format("unknown DRAM preset '{}' (known: {})", name, list));
}

std::vector<TimingConstraint> timing_constraints(const DramSpec& spec) {
    const DramTiming& t = spec.t;
    using C = Command;
    using S = Scope;
    const int rd_to_wr = t.rl + t.burst_cycles + 2 - t.wl;   // JESD235: RD -> WR = CL + BL/2 + 2 - CWL
    const int wr_to_rd_l = t.wl + t.burst_cycles + t.wtr_l;  // WR -> RD = CWL + BL/2 + tWTR
    const int wr_to_rd_s = t.wl + t.burst_cycles + t.wtr_s;
    const int wr_to_pre = t.wl + t.burst_cycles + t.wr;
    return {
        {C::ACT, C::ACT, S::SameBank, t.rc, "tRC"},
        {C::ACT, C::ACT, S::SameBankGroup, t.rrd_l, "tRRD_L"},
        {C::ACT, C::ACT, S::OtherBankGroup, t.rrd_s, "tRRD_S"},
        {C::ACT, C::RD, S::SameBank, t.rcd_rd, "tRCD (read)"},
        {C::ACT, C::WR, S::SameBank, t.rcd_wr, "tRCD (write)"},
        {C::ACT, C::PRE, S::SameBank, t.ras, "tRAS"},
        {C::PRE, C::ACT, S::SameBank, t.rp, "tRP"},
        {C::RD, C::RD, S::Channel, t.burst_cycles, "data bus (BL/2)"},
        {C::WR, C::WR, S::Channel, t.burst_cycles, "data bus (BL/2)"},
        {C::RD, C::RD, S::SameBankGroup, t.ccd_l, "tCCD_L"},
        {C::RD, C::RD, S::OtherBankGroup, t.ccd_s, "tCCD_S"},
        {C::WR, C::WR, S::SameBankGroup, t.ccd_l, "tCCD_L"},
        {C::WR, C::WR, S::OtherBankGroup, t.ccd_s, "tCCD_S"},
        {C::RD, C::WR, S::Channel, rd_to_wr, "RL + BL/2 + 2 - WL"},
        {C::WR, C::RD, S::SameBankGroup, wr_to_rd_l, "WL + BL/2 + tWTR_L"},
        {C::WR, C::RD, S::OtherBankGroup, wr_to_rd_s, "WL + BL/2 + tWTR_S"},
        {C::RD, C::PRE, S::SameBank, t.rtp, "tRTP"},
        {C::WR, C::PRE, S::SameBank, wr_to_pre, "WL + BL/2 + tWR"},
        {C::PRE, C::REF, S::Channel, t.rp, "tRP (before refresh)"},
        {C::REF, C::ACT, S::Channel, t.rfc, "tRFC"},
        {C::REF, C::REF, S::Channel, t.rfc, "tRFC"},
    };
}

}  // namespace lmsim::mem
