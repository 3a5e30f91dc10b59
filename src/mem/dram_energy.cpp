#include "mem/dram_energy.h"

namespace lmsim::mem {

namespace {

// DRAMSys JEDEC_4Gb_DDR4-2400_8bit_A.json: VDD 1.2 V; IDD0 60.75, IDD2N 38.25, IDD3N 44.0,
// IDD4R 184.5, IDD4W 168.75, IDD5B 118 mA per x8 device; 8 devices per 64-bit rank
// (../shared/docs/platforms-and-math.md 1.3). mA x ns x V = pJ.
DramEnergyTable ddr4_2400(const DramSpec& s) {
    const double vdd = 1.2, idd0 = 60.75, idd2n = 38.25, idd3n = 44.0, idd4r = 184.5, idd4w = 168.75,
                 idd5b = 118.0;
    const int devices = 8;
    const double tck = s.t.tck_ns;
    DramEnergyTable e;
    // DRAMPower: E_act+pre = VDD (IDD0 tRC - (IDD3N tRAS + IDD2N (tRC - tRAS))).
    e.act_pre_pj = devices * vdd * (idd0 * s.t.rc - (idd3n * s.t.ras + idd2n * (s.t.rc - s.t.ras))) * tck;
    // Column access above active standby, for the burst's bus time.
    e.rd_pj = devices * vdd * (idd4r - idd3n) * s.t.burst_cycles * tck;
    e.wr_pj = devices * vdd * (idd4w - idd3n) * s.t.burst_cycles * tck;
    e.ref_pj = devices * vdd * (idd5b - idd3n) * s.t.rfc * tck;
    e.background_mw = devices * vdd * idd3n;  // mA x V = mW
    e.source = "[R] DRAMSys DDR4-2400 IDD values, DRAMPower-style formulas; core only (no I/O termination)";
    return e;
}

// DRAMSys JEDEC_8Gb_LPDDR4-3200_16bit.json (mempowerspec): two supplies, VDD1 1.8 V and VDD2
// 1.1 V; per rail IDD0 3.5 / 45.0, IDD2N 2.0 / 27.0, IDD3N 2.25 / 30.0, IDD4R 2.25 / 275.0,
// IDD4W 2.25 / 210.0, IDD5 (refresh) 10.0 / 90.0 mA; one x16 device per 16-bit channel. The same
// DRAMPower-style formulas, summed over the rails; VDDQ (I/O) not included.
DramEnergyTable lpddr4_3200(const DramSpec& s) {
    struct Rail {
        double v, idd0, idd2n, idd3n, idd4r, idd4w, idd5;
    };
    const Rail rails[] = {{1.8, 3.5, 2.0, 2.25, 2.25, 2.25, 10.0}, {1.1, 45.0, 27.0, 30.0, 275.0, 210.0, 90.0}};
    const double tck = s.t.tck_ns;
    DramEnergyTable e;
    for (const Rail& r : rails) {
        e.act_pre_pj += r.v * (r.idd0 * s.t.rc - (r.idd3n * s.t.ras + r.idd2n * (s.t.rc - s.t.ras))) * tck;
        e.rd_pj += r.v * (r.idd4r - r.idd3n) * s.t.burst_cycles * tck;
        e.wr_pj += r.v * (r.idd4w - r.idd3n) * s.t.burst_cycles * tck;
        e.ref_pj += r.v * (r.idd5 - r.idd3n) * s.t.rfc * tck;
        e.background_mw += r.v * r.idd3n;
    }
    e.source = "[R] DRAMSys LPDDR4-3200 (8 Gb x16) IDD values, both rails, DRAMPower-style formulas; core only "
               "(no VDDQ I/O)";
    return e;
}

}  // namespace

DramEnergyTable energy_table(const DramSpec& spec) {
    if (spec.name == "DDR4_2400") return ddr4_2400(spec);
    if (spec.name == "LPDDR4_3200") return lpddr4_3200(spec);
    DramEnergyTable e;
    if (spec.family == "hbm2") {
        // 3.9 pJ/bit for HBM2 data transfers [U: commonly cited, consistent with O'Connor et al.,
        // MICRO 2017]; DRAMSys's HBM2 memspec has no currents, so ACT, REF and background are not
        // covered.
        const double pj_per_bit = 3.9;
        e.rd_pj = e.wr_pj = pj_per_bit * spec.org.bytes_per_access() * 8;
        e.source = "[U] 3.9 pJ/bit HBM2 (platforms-and-math.md 1.3)";
        e.unknown = "activate, precharge, refresh and background energy (no HBM2 currents published)";
        return e;
    }
    e.source = "none";
    e.unknown = "all: no currents or pJ/bit figure for " + spec.name + " in the project's sources";
    return e;
}

DramEnergy channel_energy(const DramEnergyTable& t, const ChannelStats& s, double elapsed_ns) {
    DramEnergy e;
    e.act_pre_pj = t.act_pre_pj * s.activates;
    e.rd_pj = t.rd_pj * s.reads;
    e.wr_pj = t.wr_pj * s.writes;
    e.ref_pj = t.ref_pj * s.refreshes;
    e.background_pj = t.background_mw * elapsed_ns;  // mW x ns = pJ
    return e;
}

}  // namespace lmsim::mem
