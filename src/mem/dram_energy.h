// lmsim: DRAM energy by command counts (Accelergy style: per-action energy x action counts).
// IDD-based (DRAMPower-style formulas) where device currents are published, pJ/bit where only
// that is known; every constant carries its source. Unknown parts are zero and say so.
#pragma once
#include <string>

#include "mem/dram_controller.h"

namespace lmsim::mem {

struct DramEnergyTable {
    double act_pre_pj = 0;    // one ACT and its PRE
    double rd_pj = 0;         // one read burst
    double wr_pj = 0;         // one write burst
    double ref_pj = 0;        // one all-bank refresh
    double background_mw = 0; // active standby, whole channel
    std::string source;
    std::string unknown;      // what is not covered ("" when complete)
};

struct DramEnergy {
    double act_pre_pj = 0, rd_pj = 0, wr_pj = 0, ref_pj = 0, background_pj = 0;
    double total_pj() const { return act_pre_pj + rd_pj + wr_pj + ref_pj + background_pj; }
};

DramEnergyTable energy_table(const DramSpec& spec);
DramEnergy channel_energy(const DramEnergyTable& table, const ChannelStats& stats, double elapsed_ns);

}  // namespace lmsim::mem
