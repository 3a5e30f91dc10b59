#include "energy/energy_model.h"

#include <stdexcept>

#include "hw/lightmamba_graph.h"

namespace lmsim {
namespace {

constexpr double kPjPerJ = 1e12;
// Bits per token on the streams between blocks: 8 lanes of 8 bits plus one 8-bit exponent [A:
// the int32 streams (GEMM outputs, conv, residual) are wider, the 4-bit ones narrower].
constexpr int kStreamTokenBits = 72;
// A memory stream's token: one 32-byte beat of the released master [C].
constexpr int kMemoryTokenBits = 8 * hw::kMemoryTokenBytes;
// Lanes of the fixed 8-lane units (UD, YZ, DTA, CONV, RMSNorm, the LUT units) [C].
constexpr int kUnitLanes = hw::kTokenLanes;
constexpr int kConvTaps = 4;  // d_conv [C]

}  // namespace

double fit_static_w(double dynamic_j_per_token, double tokens_per_s, double tokens_per_j) {
    if (!(tokens_per_s > 0 && tokens_per_j > 0)) throw std::invalid_argument("fit_static_w: rates must be positive");
    return tokens_per_s / tokens_per_j - dynamic_j_per_token * tokens_per_s;
}

EnergyReport estimate_energy(const HardwareConfig& hw, const hw::SimulationResult& sim, int tokens, double tokens_per_s) {
    const EnergyConfig& e = hw.platform.energy;
    const DesignConfig& d = hw.design;
    EnergyReport r;
    auto add = [&](const std::string& unit, const std::string& action, double count, double pj_each) {
        if (count > 0) r.actions.push_back({unit, action, count, pj_each});
    };
    const bool w4 = d.weight_bits() == 4, dsp = d.mmu.multiplier == "dsp_packed";
    const double gemm_mac_pj = w4 ? (dsp ? e.mac4_dsp_pj : e.mac4_lut_pj) : (dsp ? e.mac8_dsp_pj : e.mac8_lut_pj);
    const std::string gemm_action = std::string(w4 ? "mac4" : "mac8") + (dsp ? "_dsp" : "_lut");
    const int ssm_lanes = d.ssmu_lanes;
    const int abits = w4 ? 4 : 8;
    for (const hw::BlockReport& b : sim.blocks) {
        const double it = static_cast<double>(b.counters.iterations);
        const std::string& n = b.name;
        // Arithmetic: MACs per iteration as each unit's program moves them.
        if (n == "GEMM") add(n, gemm_action, it * d.mmu.input_lanes * d.mmu.output_lanes, gemm_mac_pj);
        else if (n == "DBU" || n == "DAH" || n == "HTC_QUANT" || n == "DTB_QUANT") add(n, "mac8_dsp", it * ssm_lanes, e.mac8_dsp_pj);
        else if (n == "UD" || n == "YZ" || n == "DTA" || n == "RMSNORM_QUANT_1" || n == "RMSNORM_QUANT_2")
            add(n, "mac8_dsp", it * kUnitLanes, e.mac8_dsp_pj);
        else if (n == "CONV") add(n, "mac8_dsp", it * kUnitLanes * kConvTaps, e.mac8_dsp_pj);
        // Lookup tables.
        if (n == "SILU_QUANT" || n == "EXP_QUANT" || n == "DTADAPT") add(n, "lut_rom_lookup", it * kUnitLanes, e.lut_rom_lookup_pj);
        if (n == "RMSNORM_QUANT_1" || n == "RMSNORM_QUANT_2")
            add(n, "lut_rom_lookup", static_cast<double>(b.counters.invocations), e.lut_rom_lookup_pj);
        // On-chip memories: one access per iteration of the unit's width [A].
        if (n == "HT_STATE") add(n, "uram_bit", it * ssm_lanes * (8 + 1), e.uram_pj_per_bit);
        else if (n == "CONV_STATE" || n == "RESIDUAL") add(n, "uram_bit", it * kMemoryTokenBits, e.uram_pj_per_bit);
        else if (n == "GEMM_MUX") add(n, "bram_bit", it * (d.mmu.input_lanes * abits + 8.0 * d.mmu.input_lanes / kUnitLanes), e.bram_pj_per_bit);
        else if (n == "B_BUFFER" || n == "C_BUFFER" || n == "DBU") add(n, "bram_bit", it * kStreamTokenBits, e.bram_pj_per_bit);
    }
    // FIFOs: every token pushed and popped once, in LUTRAM up to fifo_lutram_max_depth, else BRAM.
    double lutram_bits = 0, bram_bits = 0;
    for (const hw::FifoReport& f : sim.fifos) {
        // The weight FIFO carries whole weight beats; the other memory streams 32-byte tokens
        // (the weight-scale FIFO's too [A]); the streams between blocks kStreamTokenBits.
        const double token_bits = f.name == "weight"           ? 8.0 * f.memory_token_bytes
                                  : f.memory_token_bytes > 0 ? kMemoryTokenBits
                                                             : kStreamTokenBits;
        const double bits = static_cast<double>(f.tokens) * token_bits;
        (f.depth <= d.fifo_lutram_max_depth ? lutram_bits : bram_bits) += bits;
    }
    add("FIFOS", "lutram_bit", lutram_bits, e.fifo_lutram_pj_per_bit);
    add("FIFOS", "bram_bit", bram_bits, e.fifo_bram_pj_per_bit);
    // The memory path: AXI, then the NoC (Versal) or the HBM switch (U280), then the DRAM.
    const double bytes = static_cast<double>(sim.memory.read_bytes + sim.memory.write_bytes);
    add("AXI", "byte", bytes, e.axi_pj_per_byte);
    add("INTERCONNECT", "byte", bytes, e.interconnect_pj_per_byte);
    const hw::MemoryPort::Energy& m = sim.memory_energy;
    const mem::ChannelStats& c = sim.memory.dram;
    auto dram = [&](const std::string& action, double count, double total_pj) {
        if (total_pj <= 0) return;
        // Command counts where the controllers issued commands; else the energy as one action.
        if (count > 0) add("DRAM", action, count, total_pj / count);
        else add("DRAM", action + " (total)", 1, total_pj);
    };
    dram("act_pre", static_cast<double>(c.activates), m.act_pre_pj);
    dram("read", static_cast<double>(c.reads), m.rd_pj);
    dram("write", static_cast<double>(c.writes), m.wr_pj);
    dram("refresh", static_cast<double>(c.refreshes), m.ref_pj);
    dram("background", 0, m.background_pj);

    const double n_tokens = std::max(1, tokens);
    for (const EnergyAction& a : r.actions) r.unit_j[a.unit] += a.pj() / kPjPerJ / n_tokens;
    for (const auto& [unit, j] : r.unit_j) r.dynamic_j_per_token += j;
    r.tokens_per_s = tokens_per_s;
    r.static_w = e.static_w;
    r.static_source = e.static_source;
    r.static_j_per_token = tokens_per_s > 0 ? e.static_w / tokens_per_s : 0;
    r.unit_j["STATIC"] = r.static_j_per_token;
    r.j_per_token = r.dynamic_j_per_token + r.static_j_per_token;
    r.tokens_per_j = r.j_per_token > 0 ? 1.0 / r.j_per_token : 0;
    r.dynamic_w = r.dynamic_j_per_token * tokens_per_s;
    r.total_w = r.static_w + r.dynamic_w;
    return r;
}

}  // namespace lmsim
