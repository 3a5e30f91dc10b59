#include "config/resource_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace lmsim {

namespace {

// HLS estimates over-state implementation: DTA's README post-implementation numbers
// (1,643 LUT, 1,708 FF [C]) against its HLS estimate (8,209 LUT, 6,834 FF [HLS]).
constexpr double kHlsLutToImpl = 1643.0 / 8209.0;
constexpr double kHlsFfToImpl = 1708.0 / 6834.0;

// Per-MAC logic of the MMU [A]: a signed 4x4 multiplier in LUT6 fabric ~16 LUTs plus its share
// of the 8-input adder tree and 34-bit accumulator ~10 LUTs; pipeline registers ~20 FFs.
// With DSP packing (paper: two 4-bit MACs per DSP, d_in x d_out / 2 DSPs [P-n]) only the adder
// tree and registers stay in fabric.
constexpr double kLutPerLutMac = 26, kLutPerDspMac = 10, kFfPerMac = 20;

// One m_axi adapter (256-bit, 32 outstanding, burst logic and read buffers) [A: typical Vitis
// HLS m_axi interface size]; the weight producer FSM of M_AXI_STATIC from its HLS estimate.
constexpr double kLutPerAxiMaster = 4500, kFfPerAxiMaster = 5000;
constexpr double kWeightProducerLutHls = 107649, kWeightProducerFfHls = 5948;

// A quantizer unit (8 lanes): QUANT_CONV's HLS estimate (4,174 LUT [HLS]) scaled.
constexpr double kQuantizerLut = 4174 * kHlsLutToImpl;

// Calibration: the released VCK190 design totals 107k LUT, 130k FF, 228 DSP, 456 BRAM36 and
// 61 URAM [C README, P-n Table IV]. The blocks above account for part of it; the rest
// (manager FSMs, AXI-stream glue of the SpinalHDL top, the Versal CIPS/NoC interface logic,
// HLS-internal FIFOs, and any error in the per-block numbers) is this fixed term, computed once
// as (released total) - (sum of the blocks for configs/vck190.json) and not scaled with the
// design. docs/configuration.md lists the derivation.
constexpr ResourceVector kUnattributed = {21471, 73815, 12, 268, 17};

struct Fifo {
    const char* name;
    long depth, width_bits;
};

ResourceVector fifo_cost(const Fifo& f, const DesignConfig& d, double* bytes) {
    ResourceVector r;
    *bytes += f.depth * f.width_bits / 8.0;
    if (f.depth <= d.fifo_lutram_max_depth) {
        r.lut = lutram_luts(f.depth, f.width_bits) + 20;  // + pointers and flags
        r.ff = 40;
    } else {
        r.bram36 = bram36_blocks(f.depth, f.width_bits);
        r.lut = 60;
        r.ff = 80;
    }
    return r;
}

// Largest buffer that may be placed in distributed (LUT) RAM [A]: beyond 1 Mib the LUT cost
// (64 bits per LUT) exceeds what such a buffer is ever given in practice.
constexpr long kMaxLutramBufferBits = 1L << 20;

ResourceVector buffer_cost(const std::string& kind, long depth, long width_bits) {
    ResourceVector r;
    if (kind == "uram") r.uram = uram_blocks(depth, width_bits);
    else if (kind == "bram") r.bram36 = bram36_blocks(depth, width_bits);
    else r.lut = lutram_luts(depth, width_bits);
    return r;
}

}  // namespace

double bram36_blocks(long depth, long width_bits) {
    if (depth <= 0 || width_bits <= 0) return 0;
    static const long shapes[][2] = {{512, 72}, {1024, 36}, {2048, 18}, {4096, 9},
                                     {8192, 4}, {16384, 2}, {32768, 1}};
    double best = INFINITY;
    for (const auto& s : shapes)
        best = std::min(best, std::ceil(double(depth) / s[0]) * std::ceil(double(width_bits) / s[1]));
    return best;
}

double uram_blocks(long depth, long width_bits) {
    if (depth <= 0 || width_bits <= 0) return 0;
    return std::ceil(depth / 4096.0) * std::ceil(width_bits / 72.0);
}

double lutram_luts(long depth, long width_bits) {
    if (depth <= 0 || width_bits <= 0) return 0;
    return std::ceil(depth / 64.0) * width_bits;
}

ResourceReport estimate_resources(const HardwareConfig& config, const ModelCard& m) {
    const DesignConfig& d = config.design;
    ResourceReport rep;
    const double k = d.ssmu_lanes / 8.0;  // released design: 8 lanes
    const long Di = m.d_inner(), N = m.d_state, D = m.d_model, CD = m.conv_dim();
    const long beat = 256;  // 8 lanes x 8 bit + scale, and 8 x int32: the 256-bit stream word [HLS]
    auto add = [&](const std::string& name, ResourceVector r, double bytes, const std::string& src) {
        rep.blocks.push_back({name, r, bytes, src});
    };
    auto table_brams = [&](long entries, long bits, int copies) { return copies * bram36_blocks(entries, bits); };
    auto check_buffer = [&](const char* key, const std::string& kind, double bits) {
        if (kind == "lutram" && bits > kMaxLutramBufferBits)
        {
            std::string pointer = std::string("/design/buffers/") + key;
            auto it = config.provenance.find(pointer);
            throw InputError(fmt::format("{}: {} = \"lutram\": the buffer holds {:.0f} bits for {}, more "
                                         "than LUTRAM allows (at most {} bits per buffer); use \"bram\" or \"uram\"",
                                         it != config.provenance.end() ? it->second : config.file, pointer,
                                         bits, m.name, kMaxLutramBufferBits));
        }
    };
    {
        const long layers = d.state_residency == "on_chip" ? m.n_layer : 1;
        check_buffer("ht_state", d.buffers.ht_state, layers * N * Di * 9.0);
        check_buffer("conv_state", d.buffers.conv_state, 2 * 4.0 * CD * 9);
        check_buffer("residual", d.buffers.residual, D * 32.0);
        check_buffer("gemm_buffer", d.buffers.gemm_buffer, std::max(D, Di) * (d.weight_bits() + 1.0));
    }

    // ---- Norm, residual ------------------------------------------------------------------
    add("RESIDUAL", ResourceVector{692 * kHlsLutToImpl, 1430 * kHlsFfToImpl, 0, 0, 0} +
                        buffer_cost(d.buffers.residual, D * 32 / beat, beat),
        D * 4.0, "[HLS] x factor; x_buf D x int32");
    for (const char* norm : {"RMSNORM_QUANT_1", "RMSNORM_QUANT_2"})
        add(norm, ResourceVector{2000, 2000, 32, table_brams(4096, 16, 1), 0},
            4096 * 2.0, "[A] 8 lanes x (x*rsqrt, *w) at 2 DSP each; 8x512x16b rsqrt ROM");

    // ---- MMU --------------------------------------------------------------------------------
    {
        const double macs = d.mmu.macs();
        ResourceVector r;
        if (d.mmu.multiplier == "lut") r.lut = macs * kLutPerLutMac;
        else r.lut = macs * kLutPerDspMac, r.dsp = std::ceil(macs / 2);
        r.ff = macs * kFfPerMac;
        add("GEMM", r, 0, d.mmu.multiplier == "lut" ? "[A] per-MAC LUT multiplier" : "[P-n] 2 MACs/DSP + [A] adder tree");
        const long in_max = std::max(D, Di);
        double bytes = in_max * d.weight_bits() / 8.0 + in_max / 8.0;
        add("GEMM_BUFFER", buffer_cost(d.buffers.gemm_buffer, in_max / d.mmu.input_lanes,
                                       d.mmu.input_lanes * d.weight_bits() + 8),
            bytes, "input vector and scales, geometry");
        double fb = 0;
        ResourceVector mux = fifo_cost({"gemm_mux", d.fifo.gemm_mux, d.mmu.input_lanes * d.weight_bits() + 8}, d, &fb);
        mux.lut += 300;
        add("GEMM_MUX", mux, fb, "[C] s_stream FIFO, [A] 300 LUT control");
        add("GEMM_DEMUX", ResourceVector{300, 400, 0, 0, 0}, 0, "[A]");
    }

    // ---- Conv path ----------------------------------------------------------------------------
    add("QUANT_CONV", ResourceVector{kQuantizerLut, kQuantizerLut, 0, 0, 0}, 0, "[HLS] x factor");
    {
        long cols = CD * 8 / beat;  // 256-bit words of one conv column (8-bit values)
        ResourceVector r{43416 * kHlsLutToImpl, 30511 * kHlsFfToImpl, 0, 0, 0};
        // state (3 columns + current) and weights (4 taps), with one scale word per 32 channels
        r += buffer_cost(d.buffers.conv_state, 4 * cols, beat) + buffer_cost(d.buffers.conv_state, 4 * cols / 16 + 1, beat);
        r += buffer_cost(d.buffers.conv_state, 4 * cols, beat) + buffer_cost(d.buffers.conv_state, 4 * cols / 16 + 1, beat);
        add("CONV_STATE", r, 2 * 4.0 * CD * 1.125, "[HLS] x factor; state and weights, geometry");
    }
    add("CONV", ResourceVector{1000, 1200, 32, 0, 0}, 0, "[A] 8 lanes x 4 taps");
    add("SILU_MUX", ResourceVector{200, 300, 0, 0, 0}, 0, "[A]");
    add("SILU_QUANT", ResourceVector{5328 * kHlsLutToImpl, 5328 * kHlsLutToImpl, 0, table_brams(4096, 13, 8), 0},
        8 * 4096 * 2.0, "[HLS] x factor; 8 copies of the SiLU ROM (4096 x 13b)");
    add("SILU_DEMUX", ResourceVector{200, 300, 0, 0, 0}, 0, "[A]");

    // ---- SSM unit (scales with lanes) ----------------------------------------------------------
    add("DTADAPT", ResourceVector{7990 * kHlsLutToImpl, 5348 * kHlsFfToImpl, 0, table_brams(4096, 13, 8), 0} * 1.0,
        8 * 4096 * 2.0, "[HLS] x factor; 8 softplus ROMs");
    add("DTA", ResourceVector{1643, 1708, 8, 32, 0} * k, 0, "[C] README per-IP");
    add("EXP_QUANT", ResourceVector{kQuantizerLut, kQuantizerLut, 0, table_brams(4096, 7, 8) + table_brams(32, 4, 8), 0} * k,
        8 * 4096.0, "[HLS] 8 x (4096 x 7b + 32 x 4b) exp ROMs; quantizer");
    add("B_BUFFER", ResourceVector{388, 518, 0, 0, 0}, N * 1.125, "[C] as C_BUFFER");
    add("C_BUFFER", ResourceVector{388, 518, 0, 0, 0}, N * 1.125, "[C] README per-IP");
    add("DTB", ResourceVector{1044, 917, 8, 0, 0} * k, 0, "[C] README per-IP");
    add("DTB_QUANT", ResourceVector{3532, 3427, 8, 0, 0} * k, 0, "[C] README per-IP");
    add("DBU", ResourceVector{1341, 937, 8, 3, 0} * k, N * 8.0, "[C] README per-IP");
    add("DAH", ResourceVector{1211, 1019, 8, 0, 0} * k, 0, "[C] README per-IP");
    add("HT_ADD_QUANT", ResourceVector{2 * kQuantizerLut, 2 * kQuantizerLut, 0, 0, 0} * k, 0, "[A] two quantizers");
    {
        // The state of one layer (or of all layers when it stays on chip), 8-bit values and one
        // scale byte per 8, as 256-bit words.
        const long layers = d.state_residency == "on_chip" ? m.n_layer : 1;
        const long words = layers * N * Di * 8 / beat, scale_words = layers * N * Di / 8 * 8 / beat;
        ResourceVector r{63765 * kHlsLutToImpl, 40268 * kHlsFfToImpl, 0, 0, 0};
        r = r * k;
        r += buffer_cost(d.buffers.ht_state, words, beat) + buffer_cost(d.buffers.ht_state, scale_words, beat);
        add("HT_STATE", r, layers * N * Di * 1.125, "[HLS] x factor; state store, geometry");
    }
    add("HTC_QUANT", ResourceVector{14538 * kHlsLutToImpl, 14538 * kHlsLutToImpl, 64, 0, 0} * k, 0,
        "[HLS] x factor; [A] 8 lanes x 8 products in DSP");
    add("UD", ResourceVector{1065 * kHlsLutToImpl, 1065 * kHlsLutToImpl, 8, 0, 0} * k, 0, "[HLS] x factor; [A] 8 DSP");
    add("YZ", ResourceVector{300, 400, 8, 0, 0} * k, 0, "[C] 8 multipliers; [A] logic");
    if (!d.fusion) {
        // Without fine-grained tiling and fusion the SSM materialises dA*h and dB*x (int32) and
        // the transposed state (int8) for a whole layer [P-n: URAM 246 vs 61].
        const long words32 = N * Di * 32 / beat, words8 = N * Di * 8 / beat;
        add("SSM_INTERMEDIATES", buffer_cost("uram", words32, beat) * 2 + buffer_cost("uram", words8, beat),
            N * Di * 9.0, "geometry: 2 x int32 + int8 over [N, d_inner]");
    }
    if (d.htu_enabled) {
        // 7 butterfly stages of `lanes` 32-bit adders, a 40-point +-1 stage (40 accumulators),
        // and the whole d_inner vector buffered (the 40-point stage mixes across blocks).
        const double adders = d.htu_butterfly_lanes * 7 + 40;
        add("HTU", ResourceVector{adders * 32, adders * 32, 0, 0, 0} + buffer_cost("bram", Di * 32 / beat, beat),
            Di * 4.0, "[P-n] 128-point FHT + 40-point stage; [A] lanes, 32-bit adders");
    }

    // ---- Memory interface, FIFOs, control -------------------------------------------------------
    {
        ResourceVector r{kWeightProducerLutHls * kHlsLutToImpl, kWeightProducerFfHls * kHlsFfToImpl, 0, 0, 0};
        r += ResourceVector{kLutPerAxiMaster, kFfPerAxiMaster, 0, 0, 0} * d.axi.masters;
        double bytes = 0;
        const long wide = 1L * d.axi.masters * d.axi.width_bits;
        r += fifo_cost({"m_axi weights", d.fifo.m_axi, wide}, d, &bytes);
        // The state and activation streams' queues sit with the state master when it has one.
        const int state_queues = d.axi.state_masters > 0 ? 0 : 6;
        for (int i = 0; i < state_queues; ++i) r += fifo_cost({"m_axi stream", d.fifo.m_axi, beat}, d, &bytes);
        add("M_AXI", r, bytes, "[HLS] weight producer x factor; [A] per-master adapter; [C] 7 internal queues");
    }
    if (d.axi.state_masters > 0) {
        // design.axi.state_master: a second producer like the released one, without the weight
        // path: its adapters and its m_axi queues for the state and activation streams [A].
        ResourceVector r{kWeightProducerLutHls * kHlsLutToImpl, kWeightProducerFfHls * kHlsFfToImpl, 0, 0, 0};
        r += ResourceVector{kLutPerAxiMaster, kFfPerAxiMaster, 0, 0, 0} * d.axi.state_masters;
        double bytes = 0;
        for (int i = 0; i < 6; ++i) r += fifo_cost({"m_axi stream", d.fifo.m_axi, beat}, d, &bytes);
        add("STATE_MASTER", r, bytes, "[A] a copy of the producer's logic and queues on its own masters");
    }
    {
        // The released SpinalHDL queues, counted in SPINAL/src/main/scala (ACCELERATOR.scala,
        // MAMBA.scala) with their data widths [C]: at the top, 512-deep (fifo_depths.stream) the
        // weight queue, nine 256-bit state / conv / y queues and two 24-bit weight-scale queues;
        // inside MAMBA, 67 queue(8) (24 x 256-bit, 18 x 64-bit, 3 x 32-bit, 2 x 24-bit, 20 x 8-bit)
        // and HT_STATE's two 64-deep outputs (64- and 8-bit). The 64-bit internal queues carry
        // the SSM core's 8 x 8-bit tokens and widen with the SSM unit [A: which queue is which
        // was read from the port widths, not traced one by one].
        ResourceVector r;
        double bytes = 0;
        const int ssm_tokens = d.ssmu_lanes / 8;
        r += fifo_cost({"weights", d.fifo.stream, 1L * d.axi.masters * d.axi.width_bits}, d, &bytes);
        for (int i = 0; i < 9; ++i) r += fifo_cost({"state/conv/y", d.fifo.stream, beat}, d, &bytes);
        for (int i = 0; i < 2; ++i) r += fifo_cost({"weight scale", d.fifo.stream, 24}, d, &bytes);
        struct InternalQueues {
            int count, width_bits;
        };
        for (const InternalQueues& q : {InternalQueues{24, 256}, InternalQueues{18, 64 * ssm_tokens}, InternalQueues{3, 32},
                                        InternalQueues{2, 24}, InternalQueues{20, 8}})
            for (int i = 0; i < q.count; ++i) r += fifo_cost({"internal", d.fifo.internal, q.width_bits}, d, &bytes);
        r += fifo_cost({"ht_state->dah", d.fifo.ht_state_to_dah, 64 * ssm_tokens}, d, &bytes);
        r += fifo_cost({"ht_state->dah scale", d.fifo.ht_state_to_dah, 8 * ssm_tokens}, d, &bytes);
        add("STREAM_FIFOS", r, bytes, "[C] 12 ACCELERATOR queues (512-deep), 67 MAMBA queue(8), 2 x 64-deep");
    }
    if (!d.reorder) {
        // Natural in_proj order (z, x, B, C, dt): the whole z and x (u) vectors wait for dt, the
        // last output; the cycle model sizes these three FIFOs (z, u to DBU, u to UD) to d_inner.
        ResourceVector r;
        double bytes = 0;
        for (int i = 0; i < 3; ++i) r += fifo_cost({"wait for dt", Di / 8, 72}, d, &bytes);
        add("REORDER_BUFFERS", r, bytes, "geometry: 3 x d_inner/8 tiles of 8 x 8 bits + scale");
    }
    add("CONTROLLER", ResourceVector{1000, 1500, 0, 0, 0}, 0, "[A] AXI-Lite registers and manager FSMs");
    add("UNATTRIBUTED", kUnattributed, 0, "calibrated on the released VCK190 totals (fixed)");

    for (const auto& b : rep.blocks) {
        rep.total += b.used;
        rep.on_chip_bytes += b.on_chip_bytes;
    }
    rep.available = config.platform.total();
    for (const auto& kind : ResourceVector::kinds())
        if (rep.total.get(kind) > rep.available.get(kind))
            rep.over_budget.push_back(fmt::format("{}: {:.0f} used > {:.0f} available", kind,
                                                  rep.total.get(kind), rep.available.get(kind)));
    return rep;
}

}  // namespace lmsim
