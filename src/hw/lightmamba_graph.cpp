#include "hw/lightmamba_graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "common/error.h"

namespace lmsim::hw {

namespace {

// Tile width of every stream between blocks: CP = NP = G = 8 lanes [C] (HT_STATE.cpp, common.h).
constexpr int kTileLanes = kTokenLanes;
// One AXI beat of the released design: 256 bits [C] (DW_MAXI = CP * CP * 4).
constexpr int kBeatBytes = kMemoryTokenBytes;
// Scale beats of the weight stream: 3 per 256 weight beats [C] (M_AXI_STATIC: 2,453 loops of
// [3 scale + 256 weight beats]).
constexpr int kScaleBeatsPerLoop = 3;
constexpr int kWeightBeatsPerLoop = 256;
// Host buffers (pynq/mamba.ipynb) [C]: W, X, Y, conv state C, SSM state H (offsets from W).
constexpr uint64_t kWeightBase = 0x0;
constexpr uint64_t kXBase = 0x8000'0000;
constexpr uint64_t kYBase = 0x9000'0000;
constexpr uint64_t kConvBase = 0xA000'0000;
constexpr uint64_t kStateBase = 0xB000'0000;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

StreamAccess every(int fifo, int count = 1) { return StreamAccess{fifo, 1, 0, 1, 1, count}; }
// Fires on positions [lo, hi) step `stride` of each `period` iterations.
StreamAccess pattern(int fifo, int64_t period, int64_t lo, int64_t hi, int64_t stride = 1, int count = 1) {
    return StreamAccess{fifo, period, lo, hi, stride, count};
}

Phase loop(std::string name, int64_t trips, int ii, std::vector<StreamAccess> reads, std::vector<StreamAccess> writes,
           Applies when = Applies::Always) {
    Phase p;
    p.name = std::move(name);
    p.trips = trips;
    p.ii = ii;
    p.reads = std::move(reads);
    p.writes = std::move(writes);
    p.when = when;
    return p;
}

// An AXI-Stream register slice (regslice_both in the Vitis HLS RTL) holds two tokens and adds
// one cycle [C: the module's two payload registers and 2-bit state]; a SpinalHDL StreamFifo
// (.queue(n)) holds n tokens, push to pop in 2 cycles [C: ACCELERATOR.v, the 512-deep module's
// synchronous RAM read plus popReg; the 8-, 64- and 1024-deep ones are the same generator].
constexpr int kRegisterSliceTokens = 2;
constexpr int kRegisterSliceCycles = 1;
constexpr int kSpinalQueueLatencyCycles = 2;

// Each block as built: the pipeline style of the loop that faces its streams, and whether its
// input and output stream ports have register slices (SPINAL/src/main/verilog/<BLOCK>/all.v,
// Vitis HLS 2022.2 [C]; docs/validation.md "Pipeline styles" has the evidence per block).
struct BlockRtl {
    PipelineStyle style;
    bool in_regslice, out_regslice;
    // Tokens the block holds between its pipeline and its output ports: the output-facing
    // free-running process's pf FIFO (FDEPTH = ceil(L / II) + 1) plus the internal FIFOs
    // between its processes; -1 where not read (then a free-running block's depth, as before).
    int output_buffer_tokens = -1;
    // Cycles from an iteration reading the block's inputs to its outputs leaving the pipeline:
    // the stages (highest ap_enable_reg_pp0_iterN + 1, times II) of the processes on the path,
    // plus one cycle per internal SRL FIFO and two per RAM FIFO between them; -1 where a
    // process on the path was not read.
    int rtl_depth_cycles = -1;
};
const std::map<std::string, BlockRtl>& block_rtl() {
    using S = PipelineStyle;
    static const std::map<std::string, BlockRtl> r = {
        // free-running (frp_pipeline_valid, constant ap_block_pp0_stage0_11001)
        {"DBU", {S::FreeRunning, true, false, 5, 4}},  // u is read by dBu_mul (L 4), which writes
        {"DAH", {S::FreeRunning, true, false, 5, 4}},
        // buffering: quantizer pf 16 + ht1_stream 32 + ht_stream 32; depth 2 + RAM FIFO 2 + 6 +
        // RAM FIFO 2 + 15 (ht2_adapt, on the second output, is stp behind those FIFOs)
        {"HT_ADD_QUANT", {S::FreeRunning, true, false, 80, 27}},
        {"HTC_QUANT", {S::FreeRunning, true, false, 19, 25}},
        {"UD", {S::FreeRunning, true, true, 8, 7}},
        {"YZ", {S::FreeRunning, true, false, 6, 5}},
        {"GEMM", {S::FreeRunning, true, false, 7, 12}},
        {"GEMM_MUX", {S::FreeRunning, true, false, 4}},
        {"GEMM_DEMUX", {S::FreeRunning, true, true, 3, 2}},
        {"QUANT_CONV", {S::FreeRunning, true, true, 14, 13}},
        {"SILU_MUX", {S::FreeRunning, true, true}},
        {"SILU_QUANT", {S::FreeRunning, true, false, 19}},  // do_silu not read; its quantizer is frp
        {"SILU_DEMUX", {S::FreeRunning, true, false, 4, 3}},
        {"RMSNORM_QUANT_1", {S::FreeRunning, true, false, 19}},  // output through the frp quantizer
        {"RMSNORM_QUANT_2", {S::FreeRunning, true, false, 19}},
        {"DTB_QUANT", {S::FreeRunning, true, false, 19, 21}},  // stp front, frp quantizer at the output [A]
        {"EXP_QUANT", {S::FreeRunning, true, false, 19, 21}},  // stp front, frp quantizer at the output [A]
        {"RESIDUAL", {S::FreeRunning, true, true}},       // loop styles not read [A]
        // stall (ap_block_pp0_stage*_subdone computed from the ports)
        {"CONV_STATE", {S::Stall, true, true, 0, 8}},  // main loop II 2, 4 iterations in flight
        {"CONV", {S::Stall, true, true, 2, 9}},        // b_cache L3 -> d2 -> conv_mul L5
        {"HT_STATE", {S::Stall, true, true, 0, 8}},
        // DTA's stall pipeline is an inner loop: it runs and drains once per head group, so a
        // missing next dt never freezes the previous group's result; lmsim's single phase of 10
        // iterations would, so DTA is modelled free-running [A]. DTADAPT reads in its stall
        // do_bias process and writes in its stall do_copy process, joined by FIFOs: the two
        // are not in lock step, free-running at the block's ports [A].
        {"DTA", {S::FreeRunning, true, true, 0, 16}},
        {"DTADAPT", {S::FreeRunning, true, true, 23}},
        {"B_BUFFER", {S::Stall, true, true, 0, 2}},
        {"C_BUFFER", {S::Stall, true, true, 0, 2}},
        // M_AXI_STATIC's ports [C]; the M_AXI_FLOW stages behind them are not modelled [A]
        {"WEIGHT_PRODUCER", {S::FreeRunning, true, true}},
        // design.axi.state_master: the same port logic on masters of its own [A]
        {"STATE_MASTER", {S::FreeRunning, true, true}},
        // the paper's HTU: no RTL [A]
        {"HTU", {S::FreeRunning, true, true}},
    };
    return r;
}
const BlockRtl& rtl_of(const std::string& block) {
    auto it = block_rtl().find(block);
    if (it == block_rtl().end()) throw std::logic_error("no RTL facts for block " + block);
    return it->second;
}

// A block's pipeline depth where a source gives it: its RTL's (block_rtl()), or the weight
// producer's routing cycle; -1 otherwise (then derived from the HLS latency, or kDefaultDepth [A]
// for a block without a published one).
constexpr int kDefaultDepth = 2;
constexpr int kProducerDepthCycles = 1;
// The SSM unit's blocks: the ones whose programs follow design.ssmu.lanes.
bool ssm_unit_block(const std::string& block) {
    static const std::vector<std::string> names = {"B_BUFFER", "C_BUFFER", "DTB_QUANT", "DBU",
                                                   "HT_STATE", "DAH", "HT_ADD_QUANT", "HTC_QUANT"};
    return std::find(names.begin(), names.end(), block) != names.end();
}
// One adder-tree stage of a widened MMU [A]: a doubling of the input lanes adds one level of
// 2-input adders, registered once.
constexpr int kAdderStageCycles = 1;
int known_depth(const std::string& block) {
    if (block == "WEIGHT_PRODUCER" || block == "STATE_MASTER") return kProducerDepthCycles;
    return rtl_of(block).rtl_depth_cycles;
}

}  // namespace

int64_t published_hls_latency(const std::string& block) {
    // ../shared/docs/lightmamba.md 3.2, HLS reports of the released design (mamba2-2.7b).
    static const std::map<std::string, int64_t> hls = {
        {"GEMM", 627'848},      {"DTADAPT", 90},       {"DTA", 136},          {"EXP_QUANT", 69},
        {"B_BUFFER", 186},      {"DTB_QUANT", 1'365},  {"C_BUFFER", 10'266},  {"DBU", 81'927},
        {"DAH", 81'924},        {"HT_ADD_QUANT", 81'949}, {"HT_STATE", 371'232}, {"HTC_QUANT", 81'929},
        {"UD", 650},            {"YZ", 645},           {"CONV_STATE", 7'557}, {"QUANT_CONV", 688},
        {"CONV", 4'041},        {"SILU_QUANT", 1'330}, {"RMSNORM_QUANT_1", 664}, {"RMSNORM_QUANT_2", 1'305},
    };
    auto it = hls.find(block);
    return it == hls.end() ? 0 : it->second;
}

LayerShape layer_shape(const ModelCard& m, const DesignConfig& d) {
    auto require = [&](bool ok, const std::string& what) {
        if (!ok)
            throw InputError(fmt::format("model {}: {} (the hardware tiles by {} lanes)", m.name, what, kTileLanes));
    };
    require(m.d_model % kTileLanes == 0, fmt::format("d_model {} is not a multiple of 8", m.d_model));
    require(m.headdim % kTileLanes == 0, fmt::format("headdim {} is not a multiple of 8", m.headdim));
    require(m.nheads() % kTileLanes == 0, fmt::format("nheads {} is not a multiple of 8 (head groups)", m.nheads()));
    require(m.d_state % 16 == 0, fmt::format("d_state {} is not a multiple of 16", m.d_state));
    require(m.ngroups == 1, fmt::format("ngroups {} (the released design shares one B, C)", m.ngroups));
    const int k = d.ssmu_lanes / kTileLanes;  // tokens per SSM iteration (validated in the config)
    require(m.d_state % std::max(k, kTransposeTile) == 0,
            fmt::format("d_state {} does not split into the {}-lane SSM unit's {} n per iteration", m.d_state,
                        d.ssmu_lanes, k));
    LayerShape s;
    s.tile_lanes = kTileLanes;
    s.d_model_tiles = m.d_model / kTileLanes;
    s.d_inner_tiles = m.d_inner() / kTileLanes;
    s.bc_tiles = 2 * m.d_state / kTileLanes;
    s.head_groups = m.nheads() / kTileLanes;
    s.xz_tiles_per_group = s.d_inner_tiles / s.head_groups;
    s.in_proj_tiles = s.bc_tiles + s.head_groups * (1 + 2 * s.xz_tiles_per_group);
    s.d_state = m.d_state;
    s.headdim_tiles = m.headdim / kTileLanes;
    const int64_t state_elems = int64_t{m.nheads()} * m.headdim * m.d_state;
    s.ssm_tokens = state_elems / kTileLanes;
    s.ssm_tokens_per_iteration = k;
    s.ssm_iterations = s.ssm_tokens / k;
    // 8-bit data plus one 4-bit scale per 8 elements, in 32-byte beats.
    s.state_beats = state_elems / kBeatBytes + state_elems / 8 / 2 / kBeatBytes;
    const int64_t conv_elems = int64_t{m.conv_dim()} * m.d_conv;
    s.conv_beats = conv_elems / kBeatBytes + ceil_div(conv_elems / 8 / 2, kBeatBytes);
    s.x_beats = int64_t{m.d_model} * 4 / kBeatBytes;
    // MMU: input tokens of input_lanes activations, output tokens of output_lanes channels; one
    // weight beat (all masters together) per cycle.
    const int il = d.mmu.input_lanes, ol = d.mmu.output_lanes;
    s.in_proj_input_tokens = ceil_div(m.d_model, il);
    s.out_proj_input_tokens = ceil_div(m.d_inner(), il);
    auto output_tokens = [&](int64_t tiles8) { return ol >= kTileLanes ? ceil_div(tiles8 * kTileLanes, ol) : tiles8 * (kTileLanes / ol); };
    s.in_proj_output_tokens = output_tokens(s.in_proj_tiles);
    s.out_proj_output_tokens = output_tokens(s.d_model_tiles);
    s.in_proj_iterations = s.in_proj_output_tokens * s.in_proj_input_tokens;
    s.out_proj_iterations = s.out_proj_output_tokens * s.out_proj_input_tokens;
    s.weight_beats = s.in_proj_iterations + s.out_proj_iterations;
    s.scale_beats = ceil_div(s.weight_beats, kWeightBeatsPerLoop) * kScaleBeatsPerLoop;
    return s;
}

namespace {
DataflowGraph build_graph_without_timing(const ModelCard& model, const DesignConfig& design);
}

// The released design's shape, at which the HLS latencies were reported: mamba2-2.7b
// (models/mamba2-2.7b.json) on the VCK190 design (8 x 8 MMU, 8-lane SSMU, HT_STATE II = 2).
ModelCard released_model_shape() {
    ModelCard m;
    m.name = "mamba2-2.7b";
    m.d_model = 2560;
    m.n_layer = 64;
    m.d_state = 128;
    m.headdim = 64;
    m.expand = 2;
    m.ngroups = 1;
    m.d_conv = 4;
    return m;
}

const std::map<std::string, BlockTimingDefaults>& derived_timing() {
    static const std::map<std::string, BlockTimingDefaults> timing = [] {
        std::map<std::string, BlockTimingDefaults> o;
        const ModelCard m = released_model_shape();
        const DataflowGraph g = build_graph_without_timing(m, DesignConfig{});
        for (const BlockProgram& b : g.blocks) {
            const int64_t hls = published_hls_latency(b.name);
            if (hls == 0) continue;
            int64_t loops = 0;
            int phases = 0;
            for (const Phase& p : b.phases)
                if (phase_applies(p, 1, m.n_layer)) {
                    loops += p.trips * p.ii;
                    ++phases;
                }
            // What the loops don't explain is pipeline fill: one loop's depth for a single-loop
            // block; spread over the loops (each drains before the next starts) otherwise.
            const int64_t rest = std::max<int64_t>(0, hls - loops);
            BlockTimingDefaults t;
            const int known = known_depth(b.name);
            t.depth_cycles = known >= 0 ? known : static_cast<int>(std::max<int64_t>(1, rest / std::max(1, phases)));
            t.overhead_cycles = static_cast<int>(std::max<int64_t>(0, rest - t.depth_cycles));
            t.unexplained_cycles = hls - loops - t.depth_cycles;
            t.depth_from_rtl = rtl_of(b.name).rtl_depth_cycles >= 0;
            o[b.name] = t;
        }
        return o;
    }();
    return timing;
}

DataflowGraph build_lightmamba_graph(const ModelCard& model, const DesignConfig& design) {
    DataflowGraph g = build_graph_without_timing(model, design);
    apply_timing(g, design);
    // What the runners' bit masks of fired outputs and the stall drains rely on: at most 32
    // output streams per phase, and consecutive loops of a stall block writing different FIFOs
    // (a loop's drain may overlap the next loop, which must not put tokens ahead of it).
    for (const BlockProgram& b : g.blocks) {
        for (std::size_t i = 0; i < b.phases.size(); ++i) {
            if (b.phases[i].writes.size() > 32) throw std::logic_error(b.name + ": more than 32 output streams in a phase");
            if (b.style != PipelineStyle::Stall || i == 0) continue;
            for (const StreamAccess& w : b.phases[i].writes)
                for (const StreamAccess& v : b.phases[i - 1].writes)
                    if (w.fifo == v.fifo)
                        throw std::logic_error(b.name + ": consecutive stall loops write the same FIFO " + g.fifos[w.fifo].name);
        }
    }
    // Buffering and latency of every queue, as built: a free-running producer's output FIFO
    // holds its iterations in flight (pf FIFO, ~depth tokens); a stall producer has none.
    for (FifoSpec& f : g.fifos) {
        const BlockProgram& from = g.block(f.producer);
        const bool frp = from.style == PipelineStyle::FreeRunning;
        const int held = rtl_of(f.producer).output_buffer_tokens;
        f.capacity = (static_cast<int64_t>(f.depth) + f.port_slack + (held >= 0 ? held : frp ? from.depth_cycles : 0)) *
                     f.entry_tokens;
        f.latency_cycles = kSpinalQueueLatencyCycles +
                           kRegisterSliceCycles * (rtl_of(f.producer).out_regslice + rtl_of(f.consumer).in_regslice);
    }
    // An access that moves more tokens at once than its FIFO can hold would wait forever (wide
    // masters, a widened SSM unit's k-token accesses to one-token-wide queues).
    for (const BlockProgram& b : g.blocks)
        for (const Phase& p : b.phases)
            for (const auto* accesses : {&p.reads, &p.writes})
                for (const StreamAccess& a : *accesses)
                    if (a.count > g.fifos[a.fifo].capacity)
                        throw InputError(fmt::format("FIFO {} ({} -> {}) holds {} tokens, but {} moves {} at once (phase {}); "
                                                     "deepen it (design.fifo_depths) or narrow the masters / SSM unit",
                                                     g.fifos[a.fifo].name, g.fifos[a.fifo].producer, g.fifos[a.fifo].consumer,
                                                     g.fifos[a.fifo].capacity, b.name, a.count, p.name));
    return g;
}

namespace {
DataflowGraph build_graph_without_timing(const ModelCard& model, const DesignConfig& design) {
    const LayerShape s = layer_shape(model, design);
    DataflowGraph g;
    g.layers = model.n_layer;
    const bool reorder = design.reorder;
    const bool on_chip_state = design.state_residency == "on_chip";
    const FifoDepths& fd = design.fifo;

    // ---- FIFOs (name, depth, producer, consumer), in dataflow order --------------------------
    // Buffers that a design without reordering must have: the whole x and z vectors wait for dt,
    // which comes last (lightmamba.md 3.1). Without fusion the SSM's element-wise intermediates
    // are materialised over the whole state (80 x 64 x 128).
    const int wait_for_dt = reorder ? fd.internal : s.d_inner_tiles;
    const int ssm_intermediate = design.fusion ? fd.internal : static_cast<int>(s.ssm_iterations);
    auto fifo = [&](const std::string& name, int depth, const std::string& from, const std::string& to, int entry_tokens = 1) {
        // The register slices the two blocks' RTL has at these ports (block_rtl()).
        const int slack = kRegisterSliceTokens * (rtl_of(from).out_regslice + rtl_of(to).in_regslice);
        FifoSpec f{name, depth, from, to, slack};
        f.entry_tokens = entry_tokens;
        g.fifos.push_back(f);
        return static_cast<int>(g.fifos.size() - 1);
    };
    // A widened SSM unit (design.ssmu.lanes > 8) moves k tokens of the loop nest per iteration
    // on its internal streams; their queues are k tokens wide [A] (the released depths count
    // entries). The replay buffers serve k / 8 tokens of B or C per iteration once k > 8.
    const int k = s.ssm_tokens_per_iteration;
    const int kt = std::max(1, k / kTransposeTile);
    // The states and activations move through the weight producer (released) or through
    // masters of their own (design.axi.state_master).
    const bool split_masters = design.axi.state_masters > 0;
    const std::string state_master = split_masters ? "STATE_MASTER" : "WEIGHT_PRODUCER";
    const int f_x = fifo("x", fd.stream, state_master, "RESIDUAL");
    const int f_res = fifo("residual_to_norm1", fd.internal, "RESIDUAL", "RMSNORM_QUANT_1");
    const int f_norm1 = fifo("norm1_to_mux", fd.gemm_mux, "RMSNORM_QUANT_1", "GEMM_MUX");
    const int f_mux = fifo("mux_to_gemm", fd.internal, "GEMM_MUX", "GEMM");
    const int f_weight = fifo("weight", fd.stream, "WEIGHT_PRODUCER", "GEMM");
    const int f_scale = fifo("weight_scale", fd.stream, "WEIGHT_PRODUCER", "GEMM");
    const int f_gemm = fifo("gemm_to_demux", fd.internal, "GEMM", "GEMM_DEMUX");
    const int f_xbc = fifo("demux_xbc", fd.internal, "GEMM_DEMUX", "QUANT_CONV");
    const int f_dt = fifo("demux_dt", fd.internal, "GEMM_DEMUX", "DTADAPT");
    const int f_z = fifo("demux_z", wait_for_dt, "GEMM_DEMUX", "SILU_MUX");
    const int f_out = fifo("demux_out_proj", fd.internal, "GEMM_DEMUX", "RESIDUAL");
    // The conv path as built (SPINAL MAMBA.scala, CONV_STATE/CONV RTL ports): CONV_STATE takes
    // the quantized xBC, keeps the state and weights, and serves CONV each tile's four taps.
    const int f_qconv = fifo("quant_conv_to_conv_state", fd.internal, "QUANT_CONV", "CONV_STATE");
    const int f_conv_in = fifo("conv_state_in", fd.stream, state_master, "CONV_STATE");
    const int f_taps = fifo("conv_taps", fd.internal, "CONV_STATE", "CONV");
    const int f_conv_out = fifo("conv_state_out", fd.stream, "CONV_STATE", state_master);
    const int f_conv = fifo("conv_to_silu_mux", fd.internal, "CONV", "SILU_MUX");
    const int f_silu_in = fifo("silu_mux_to_quant", fd.internal, "SILU_MUX", "SILU_QUANT");
    const int f_silu = fifo("silu_quant_to_demux", fd.internal, "SILU_QUANT", "SILU_DEMUX");
    const int f_b = fifo("b", fd.internal, "SILU_DEMUX", "B_BUFFER");
    const int f_c = fifo("c", fd.internal, "SILU_DEMUX", "C_BUFFER");
    const int f_u_dbu = fifo("u_to_dbu", wait_for_dt, "SILU_DEMUX", "DBU");
    const int f_u_ud = fifo("u_to_ud", wait_for_dt, "SILU_DEMUX", "UD");
    const int f_zs = fifo("silu_z_to_yz", wait_for_dt, "SILU_DEMUX", "YZ");
    const int f_dt_a = fifo("dt_to_dta", fd.internal, "DTADAPT", "DTA");
    const int f_dt_b = fifo("dt_to_dtb", fd.internal, "DTADAPT", "DTB_QUANT");
    const int f_dta = fifo("dta_to_exp", fd.internal, "DTA", "EXP_QUANT");
    const int f_da = fifo("da_to_dah", fd.internal, "EXP_QUANT", "DAH");
    const int f_bb = fifo("b_replay", fd.internal, "B_BUFFER", "DTB_QUANT", kt);
    const int f_cb = fifo("c_replay", fd.internal, "C_BUFFER", "HTC_QUANT", kt);
    const int f_db = fifo("db_to_dbu", fd.internal, "DTB_QUANT", "DBU", k);
    const int f_h_in = fifo("h_state_in", fd.stream, state_master, "HT_STATE");
    const int f_hprev = fifo("h_prev_to_dah", fd.ht_state_to_dah, "HT_STATE", "DAH", k);
    const int f_dah = fifo("dah_to_add", ssm_intermediate, "DAH", "HT_ADD_QUANT", k);
    const int f_dbu = fifo("dbu_to_add", ssm_intermediate, "DBU", "HT_ADD_QUANT", k);
    const int f_ht1 = fifo("ht1_to_state", ssm_intermediate, "HT_ADD_QUANT", "HT_STATE", k);
    const int f_ht2 = fifo("ht2_to_htc", ssm_intermediate, "HT_ADD_QUANT", "HTC_QUANT", k);
    const int f_h_out = fifo("h_state_out", fd.stream, "HT_STATE", state_master);
    const int f_ud = fifo("ud_to_htc", fd.internal, "UD", "HTC_QUANT");
    const int f_y = fifo("y_to_yz", fd.internal, "HTC_QUANT", "YZ");
    const int f_yz = fifo("yz_to_norm2", fd.internal, "YZ", "RMSNORM_QUANT_2");
    const int f_norm2 = fifo("norm2_out", fd.gemm_mux, "RMSNORM_QUANT_2", design.htu_enabled ? "HTU" : "GEMM_MUX");
    const int f_htu = design.htu_enabled ? fifo("htu_to_mux", fd.gemm_mux, "HTU", "GEMM_MUX") : f_norm2;
    const int f_yout = fifo("y", fd.stream, "RESIDUAL", state_master);

    auto add = [&](BlockProgram b) { g.blocks.push_back(std::move(b)); };
    auto block = [](std::string name, std::string function, std::string source) {
        BlockProgram b;
        b.name = std::move(name);
        b.function = std::move(function);
        b.source = std::move(source);
        return b;
    };

    // ---- WEIGHT_PRODUCER (M_AXI_STATIC): strictly sequential per layer [C] --------------------
    // Each memory master is one block whose phases run in the released producer's order; with
    // design.axi.state_master the states and activations go to STATE_MASTER (same order, same
    // port logic, its own masters) and WEIGHT_PRODUCER keeps the weights.
    const uint64_t conv_layer = static_cast<uint64_t>(2 * s.conv_beats * kBeatBytes);
    const uint64_t state_layer = static_cast<uint64_t>(s.state_beats * kBeatBytes);
    const uint64_t weight_layer =
        static_cast<uint64_t>((s.weight_beats + s.scale_beats) * design.axi.masters * design.axi.width_bits / 8);
    auto mem = [&](std::string name, PhaseKind kind, int64_t beats, uint64_t base, uint64_t per_layer,
                   std::vector<StreamAccess> reads, std::vector<StreamAccess> writes, Applies when = Applies::Always) {
        Phase p = loop(std::move(name), beats, 1, std::move(reads), std::move(writes), when);
        p.kind = kind;
        p.address = base;
        p.address_per_layer = per_layer;
        return p;
    };
    // A master's beats carry all its ports' data (beat_tokens 32-byte tokens each); the
    // non-weight streams are 32-byte tokens, so a beat moves beat_tokens of them (the last beat
    // of a phase the rest).
    auto stream = [&](BlockProgram& b, int64_t beat_tokens, const std::string& name, PhaseKind kind, int64_t tokens,
                      uint64_t base, uint64_t per_layer, int f, Applies when = Applies::Always) {
        const int64_t full = tokens / beat_tokens, rest = tokens % beat_tokens;
        auto acc = [&](int64_t count) { return std::vector<StreamAccess>{every(f, static_cast<int>(count))}; };
        const bool rd = kind == PhaseKind::MemRead;
        if (full > 0)
            b.phases.push_back(mem(name, kind, full, base, per_layer, rd ? std::vector<StreamAccess>{} : acc(beat_tokens),
                                   rd ? acc(beat_tokens) : std::vector<StreamAccess>{}, when));
        if (rest > 0)
            b.phases.push_back(mem(name + "_tail", kind, 1, base + static_cast<uint64_t>(full * beat_tokens * kBeatBytes), per_layer,
                                   rd ? std::vector<StreamAccess>{} : acc(rest), rd ? acc(rest) : std::vector<StreamAccess>{}, when));
    };
    {
        BlockProgram b = block("WEIGHT_PRODUCER", split_masters ? "AXI masters: weights in" : "AXI master: states and weights in, states out",
                               "case/M_AXI_STATIC.cpp: per-layer phases and beat counts (lightmamba.md 3.2)");
        b.is_memory_master = true;
        BlockProgram st = block("STATE_MASTER", "AXI masters of their own: states and activations in and out",
                                "design.axi.state_master [A]: M_AXI_STATIC's state phases in its order");
        st.is_memory_master = true;
        BlockProgram& sm = split_masters ? st : b;
        const int sm_bits = split_masters ? design.axi.state_masters * design.axi.state_width_bits
                                          : design.axi.masters * design.axi.width_bits;
        const int64_t beat_tokens = std::max(1, sm_bits / 8 / kBeatBytes);
        stream(sm, beat_tokens, "read_x", PhaseKind::MemRead, s.x_beats, kXBase, 0, f_x, Applies::FirstLayer);
        stream(sm, beat_tokens, "read_conv_state", PhaseKind::MemRead, s.conv_beats, kConvBase, conv_layer, f_conv_in);
        stream(sm, beat_tokens, "read_conv_weights", PhaseKind::MemRead, s.conv_beats, kConvBase + s.conv_beats * kBeatBytes,
               conv_layer, f_conv_in);
        if (!on_chip_state)
            stream(sm, beat_tokens, "read_ssm_state", PhaseKind::MemRead, s.state_beats, kStateBase, state_layer, f_h_in);
        const int64_t period = kScaleBeatsPerLoop + kWeightBeatsPerLoop;
        b.phases.push_back(mem("read_weights", PhaseKind::MemRead, s.weight_beats + s.scale_beats, kWeightBase, weight_layer, {},
                               {pattern(f_scale, period, 0, kScaleBeatsPerLoop), pattern(f_weight, period, kScaleBeatsPerLoop, period)}));
        stream(sm, beat_tokens, "write_conv_state", PhaseKind::MemWrite, s.conv_beats, kConvBase, conv_layer, f_conv_out);
        if (!on_chip_state)
            stream(sm, beat_tokens, "write_ssm_state", PhaseKind::MemWrite, s.state_beats, kStateBase, state_layer, f_h_out);
        stream(sm, beat_tokens, "write_y", PhaseKind::MemWrite, s.x_beats, kYBase, 0, f_yout, Applies::LastLayer);
        add(b);
        if (split_masters) add(st);
    }

    // ---- Residual stream and the first norm -------------------------------------------------
    {
        BlockProgram b = block("RESIDUAL", "x_buf (URAM): emit x, add the out_proj result; loops over the layers",
                               "case/RESIDUAL.cpp (loops l_begin..l_close internally)");
        b.phases = {loop("load_x", s.x_beats, 1, {every(f_x)}, {}, Applies::FirstLayer),
                    loop("emit", s.d_model_tiles, 1, {}, {every(f_res)}),
                    loop("add", s.d_model_tiles, 1, {every(f_out)}, {}),
                    loop("store_y", s.d_model_tiles, 1, {}, {every(f_yout)}, Applies::LastLayer)};
        add(b);
    }
    {
        BlockProgram b = block("RMSNORM_QUANT_1", "sum of squares, rsqrt LUT, x LNW, 4-bit quant",
                               "src/rmsnorm1.h: two passes over 320 tiles");
        b.phases = {loop("sum_squares", s.d_model_tiles, 1, {every(f_res)}, {}),
                    loop("normalise", s.d_model_tiles, 1, {}, {every(f_norm1)})};
        add(b);
    }

    // ---- The MMU and its input / output routing -----------------------------------------------
    {
        BlockProgram b = block("GEMM_MUX", "GEMM_BUFFER: holds the input vector, replays it per output tile",
                               "case/GEMM_MUX.cpp: R = 1,322 (in_proj) / 320 (out_proj) replays");
        b.phases = {loop("load_in_proj", s.d_model_tiles, 1, {every(f_norm1)}, {}),
                    loop("replay_in_proj", s.in_proj_iterations, 1, {}, {every(f_mux)}),
                    loop("load_out_proj", s.d_inner_tiles, 1, {every(f_htu)}, {}),
                    loop("replay_out_proj", s.out_proj_iterations, 1, {}, {every(f_mux)})};
        add(b);
    }
    {
        BlockProgram b = block("GEMM", "MMU: input_lanes x output_lanes 4-bit MACs, one weight beat per cycle",
                               "case/GEMM.cpp, src/tensor_core.h: 1,322 x 320 + 320 x 640 tiles, II = 1");
        const int64_t in_inputs = s.in_proj_input_tokens, out_inputs = s.out_proj_input_tokens;
        // Three scale beats open every 256 weight beats of the layer's stream.
        const int64_t out_offset = (kWeightBeatsPerLoop - s.in_proj_iterations % kWeightBeatsPerLoop) % kWeightBeatsPerLoop;
        b.phases = {loop("in_proj", s.in_proj_iterations, 1,
                         {every(f_mux), every(f_weight), pattern(f_scale, kWeightBeatsPerLoop, 0, 1, 1, kScaleBeatsPerLoop)},
                         {pattern(f_gemm, in_inputs, in_inputs - 1, in_inputs)}),
                    loop("out_proj", s.out_proj_iterations, 1,
                         {every(f_mux), every(f_weight), pattern(f_scale, kWeightBeatsPerLoop, out_offset, out_offset + 1, 1, kScaleBeatsPerLoop)},
                         {pattern(f_gemm, out_inputs, out_inputs - 1, out_inputs)})};
        add(b);
    }
    {
        BlockProgram b = block("GEMM_DEMUX", "routes in_proj tiles to conv / dt / z, out_proj tiles to the residual",
                               "case/GEMM_DEMUX.cpp; order: lightmamba.md 3.2 'In-proj output order'");
        // One phase iteration per 8-channel tile; a GEMM output token carries output_lanes channels.
        const int ol = design.mmu.output_lanes;
        auto gemm_read = [&]() {
            return ol >= kTileLanes ? pattern(f_gemm, ol / kTileLanes, 0, 1) : every(f_gemm, kTileLanes / ol);
        };
        const int64_t gsz = 1 + 2 * s.xz_tiles_per_group;
        // Each in_proj phase must start on a GEMM token boundary (the read pattern restarts per
        // phase): its tile count a multiple of the tiles per token.
        if (ol > kTileLanes) {
            const int64_t per_token = ol / kTileLanes;
            const std::vector<int64_t> starts = reorder ? std::vector<int64_t>{s.bc_tiles}
                                                        : std::vector<int64_t>{s.d_inner_tiles, s.d_inner_tiles + s.bc_tiles};
            for (int64_t tiles : starts)
                if (tiles % per_token != 0)
                    throw InputError(fmt::format("design.mmu.output_lanes {}: an output token carries {} tiles, which does not "
                                                 "divide the {} tiles of {}'s in_proj section before the next (GEMM_DEMUX routes "
                                                 "whole tokens per section); use a power of two that divides it",
                                                 ol, per_token, tiles, model.name));
        }
        if (reorder) {
            // B, C first (32 tiles), then per group of 8 heads: dt, then 64 x (x, z).
            b.phases = {loop("bc", s.bc_tiles, 1, {gemm_read()}, {every(f_xbc)}),
                        loop("head_groups", s.head_groups * gsz, 1, {gemm_read()},
                             {pattern(f_dt, gsz, 0, 1), pattern(f_xbc, gsz, 1, gsz, 2), pattern(f_z, gsz, 2, gsz, 2)})};
        } else {
            // mamba_ssm's natural order: z, x, B, C, dt.
            b.phases = {loop("z", s.d_inner_tiles, 1, {gemm_read()}, {every(f_z)}),
                        loop("xbc", s.d_inner_tiles + s.bc_tiles, 1, {gemm_read()}, {every(f_xbc)}),
                        loop("dt", s.head_groups, 1, {gemm_read()}, {every(f_dt)})};
        }
        // GEMM tokens beyond the last whole tile (padding of wide MMU outputs) are dropped.
        b.phases.push_back(loop("out_proj", s.d_model_tiles, 1, {gemm_read()}, {every(f_out)}));
        add(b);
    }

    // ---- Conv path ----------------------------------------------------------------------------
    const int64_t xbc_tiles = s.d_inner_tiles + s.bc_tiles;
    {
        BlockProgram b = block("QUANT_CONV", "xBC int32 -> 8-bit (group 8)", "case/QUANT_CONV.cpp: 672 tiles");
        b.phases = {loop("quantise", xbc_tiles, 1, {every(f_xbc)}, {every(f_qconv)})};
        add(b);
    }
    {
        BlockProgram b = block("CONV_STATE", "URAM conv state and weights: load, serve taps, store",
                               "case/CONV_STATE.cpp: ct x D loop of 2,688; load and store of 714 + 714 beats");
        const int64_t taps = xbc_tiles * model.d_conv;
        // Per tile, d_conv taps at II 2: the three stored columns, then the new column, read from
        // QUANT_CONV in the last tap's iteration, which also shifts the state [C: CONV_STATE's
        // main loop 125_9/126_10, ports xBC in, o/w out].
        const int dc = model.d_conv;
        b.phases = {loop("load", 2 * s.conv_beats, 1, {every(f_conv_in)}, {}),
                    loop("serve_taps", taps, 2, {pattern(f_qconv, dc, dc - 1, dc)}, {every(f_taps)}),
                    loop("store", s.conv_beats, 1, {}, {every(f_conv_out)})};
        add(b);
    }
    {
        BlockProgram b = block("CONV", "depthwise causal conv, 4 taps", "case/CONV.cpp: 6 cycles per 8-channel tile");
        b.phases = {loop("conv", xbc_tiles, 6, {every(f_taps, model.d_conv)}, {every(f_conv)})};
        add(b);
    }
    // SiLU on xBC (from the conv) and on z (straight from the demux), in in_proj order.
    const int64_t silu_tiles = xbc_tiles + s.d_inner_tiles;
    {
        BlockProgram b = block("SILU_MUX", "merges conv output and z for the SiLU unit", "case/SILU_MUX.cpp");
        const int64_t pairs = 2 * s.d_inner_tiles;
        if (reorder)
            b.phases = {loop("bc", s.bc_tiles, 1, {every(f_conv)}, {every(f_silu_in)}),
                        loop("x_z", pairs, 1, {pattern(f_conv, 2, 0, 1), pattern(f_z, 2, 1, 2)}, {every(f_silu_in)})};
        else
            b.phases = {loop("z", s.d_inner_tiles, 1, {every(f_z)}, {every(f_silu_in)}),
                        loop("xbc", xbc_tiles, 1, {every(f_conv)}, {every(f_silu_in)})};
        add(b);
    }
    {
        BlockProgram b = block("SILU_QUANT", "SiLU LUT and quantisation", "case/SILU_QUANT.cpp: 1,312 tiles");
        b.phases = {loop("silu", silu_tiles, 1, {every(f_silu_in)}, {every(f_silu)})};
        add(b);
    }
    {
        BlockProgram b = block("SILU_DEMUX", "routes B, C, u (x) and SiLU(z)", "case/SILU_DEMUX.cpp");
        const int64_t half = s.bc_tiles / 2;
        const int64_t pairs = 2 * s.d_inner_tiles;
        if (reorder)
            b.phases = {loop("b", half, 1, {every(f_silu)}, {every(f_b)}), loop("c", half, 1, {every(f_silu)}, {every(f_c)}),
                        loop("u_z", pairs, 1, {every(f_silu)},
                             {pattern(f_u_dbu, 2, 0, 1), pattern(f_u_ud, 2, 0, 1), pattern(f_zs, 2, 1, 2)})};
        else
            b.phases = {loop("z", s.d_inner_tiles, 1, {every(f_silu)}, {every(f_zs)}),
                        loop("u", s.d_inner_tiles, 1, {every(f_silu)}, {every(f_u_dbu), every(f_u_ud)}),
                        loop("b", half, 1, {every(f_silu)}, {every(f_b)}), loop("c", half, 1, {every(f_silu)}, {every(f_c)})};
        add(b);
    }

    // ---- dt path ------------------------------------------------------------------------------
    {
        BlockProgram b = block("DTADAPT", "dt + bias, softplus LUT, 8-bit quant; two copies",
                               "case/DTADAPT.cpp: 4-cycle loop per 8-head tile");
        b.phases = {loop("dt", s.head_groups, 4, {every(f_dt)}, {every(f_dt_a), every(f_dt_b)})};
        add(b);
    }
    {
        // II 4: the RTL's pipeline has four states (ap_ST_fsm_pp0_stage0..3) [C], where the HLS
        // C reads as a 3-cycle loop.
        BlockProgram b = block("DTA", "dt x A", "case/DTA.cpp; SPINAL/src/main/verilog/DTA/all.v: II 4");
        b.phases = {loop("dta", s.head_groups, 4, {every(f_dt_a)}, {every(f_dta)})};
        add(b);
    }
    {
        BlockProgram b = block("EXP_QUANT", "exp LUT and quantisation: dA", "case/EXP_QUANT.cpp: 5-stage pipeline");
        b.phases = {loop("exp", s.head_groups, 1, {every(f_dta)}, {every(f_da)})};
        add(b);
    }
    const int64_t b_tiles = s.d_state / kTileLanes;  // 16 n-tiles of B (and of C)
    // A widened SSM unit (k = lanes / 8 tokens per iteration, consecutive n of one p-tile): the
    // loop nest's trip counts divide by k, the tokens per access multiply by k; a stream with
    // one token per 8 n (B, C tiles; the transposed h) fires every 8 / k iterations, or moves
    // k / 8 tokens per iteration once k > 8. k = 1 is the released design.
    auto per_n_tile = [&](int f) {  // one token per 8 consecutive n
        return k <= kTransposeTile ? pattern(f, kTransposeTile / k, 0, 1) : every(f, kt);
    };
    const int64_t tile_iters = s.d_state / k;  // SSM iterations per (head, p-tile)
    const int64_t head_iters = tile_iters * s.headdim_tiles;
    const int64_t group_iters = head_iters * kHeadGroup;
    {
        BlockProgram b = block("B_BUFFER", "holds B, replays it once per head group", "case/B_BUFFER.cpp: 16 + 10 x 16");
        b.phases = {loop("load", b_tiles, 1, {every(f_b)}, {}),
                    loop("replay", s.head_groups * b_tiles / kt, 1, {}, {every(f_bb, kt)})};
        add(b);
    }
    {
        BlockProgram b = block("DTB_QUANT", "dB = dt x B: per token one n for the group's 8 heads, quantised along the heads", "case/DTB_QUANT.cpp: 136 cycles per group");
        const int64_t per_group = s.d_state / k;  // iterations per group: k n-values each
        b.phases = {loop("dtb", s.head_groups * per_group, 1,
                         {pattern(f_dt_b, per_group, 0, 1), per_n_tile(f_bb)}, {every(f_db, k)})};
        add(b);
    }
    {
        BlockProgram b = block("C_BUFFER", "holds C, replays it for every (head, p-tile)", "case/C_BUFFER.cpp: 16 + 640 x 16");
        b.phases = {loop("load", b_tiles, 1, {every(f_c)}, {}),
                    loop("replay", s.d_inner_tiles * b_tiles / kt, 1, {}, {every(f_cb, kt)})};
        add(b);
    }

    // ---- SSM core: loop nest ct x cp x pt x nt x np, one 8-lane vector per token, k tokens
    // (consecutive n) per iteration -------------------------------------------------------------
    {
        BlockProgram b = block("DBU", "dBu = dB x u (>> 11), dB cache in BRAM", "case/DBU.cpp, src/dBu.h");
        // A dB token holds one n for the group's 8 heads; the group's first head sweeps every n
        // once, filling the wb[128][8] cache as it goes (the HLS latency, 81,927, leaves no room
        // for a separate fill loop).
        b.phases = {loop("dbu", s.ssm_iterations, 1,
                         {pattern(f_db, group_iters, 0, tile_iters, 1, k), pattern(f_u_dbu, tile_iters, 0, 1)},
                         {every(f_dbu, k)})};
        add(b);
    }
    {
        BlockProgram b = block("HT_STATE", "URAM SSM state: load, stream h(t-1) out and h(t) back per tile, store",
                               "case/HT_STATE.cpp: 20,480 + 1,280 load, 640 x (128 out + 128 in) at II = 2, store");
        const int ii = design.ht_state_ii;
        // The state's load and store move k beats per iteration (the widened URAM port), the
        // last iteration the rest.
        const int64_t full = s.state_beats / k, rest = s.state_beats % k;
        std::vector<Phase> ph;
        if (!on_chip_state) {
            ph.push_back(loop("load", full, 1, {every(f_h_in, k)}, {}));
            if (rest > 0) ph.push_back(loop("load_tail", 1, 1, {every(f_h_in, static_cast<int>(rest))}, {}));
        }
        ph.push_back(loop("exchange", 2 * s.ssm_iterations, ii, {pattern(f_ht1, 2 * tile_iters, tile_iters, 2 * tile_iters, 1, k)},
                          {pattern(f_hprev, 2 * tile_iters, 0, tile_iters, 1, k)}));
        if (!on_chip_state) {
            ph.push_back(loop("store", full, 1, {}, {every(f_h_out, k)}));
            if (rest > 0) ph.push_back(loop("store_tail", 1, 1, {}, {every(f_h_out, static_cast<int>(rest))}));
        }
        b.phases = ph;
        // Lock step (a stall pipeline, block_rtl()) holds depth / II iterations before their
        // writes; a tile's burst of h(t-1) must be longer, or the first h(t) it waits for could
        // never come back. The RTL reads at a later stage than lmsim's slot model assumes, so
        // the real limit is looser [A]; lmsim refuses what it cannot time.
        const int depth = known_depth("HT_STATE");
        if (tile_iters <= depth / ii)
            throw InputError(fmt::format("design.ssmu.lanes {}: HT_STATE streams {} iterations of h(t-1) per tile, not more than "
                                         "the {} iterations its lock-step pipeline holds (depth {} cycles / II {}); use fewer "
                                         "lanes or a larger design.ssmu.ht_state_ii",
                                         design.ssmu_lanes, tile_iters, depth / ii, depth, ii));
        add(b);
    }
    {
        BlockProgram b = block("DAH", "dAh = dA x h(t-1) (>> 6)", "case/DAH.cpp, src/dAh.h");
        b.phases = {loop("dah", s.ssm_iterations, 1, {pattern(f_da, group_iters, 0, 1), every(f_hprev, k)}, {every(f_dah, k)})};
        add(b);
    }
    {
        BlockProgram b = block("HT_ADD_QUANT", "h = dAh + dBu; 8x8 transpose; quantise along p (ht1) and n (ht2)",
                               "case/HT_ADD_QUANT.cpp, src/ht_add.h");
        // ht2 (layout 2, groups of 8 along n) needs a whole 8 x 8 tile: the transpose emits the
        // tile's 8 column tokens at its last iteration (k / 8 tiles per iteration once k > 8).
        const int64_t tile_period = std::max(1, kTransposeTile / k);
        b.phases = {loop("add", s.ssm_iterations, 1, {every(f_dah, k), every(f_dbu, k)},
                         {every(f_ht1, k), pattern(f_ht2, tile_period, tile_period - 1, tile_period, 1, kTransposeTile * kt)})};
        add(b);
    }
    {
        BlockProgram b = block("UD", "u x D skip (>> 8)", "case/UD.cpp: 640 tiles");
        b.phases = {loop("ud", s.d_inner_tiles, 1, {every(f_u_ud)}, {every(f_ud)})};
        add(b);
    }
    {
        BlockProgram b = block("HTC_QUANT", "y = sum_n h x C (+ uD), quantisation", "case/HTC_QUANT.cpp: 8-wide dot, 16 n-tiles");
        // ht2 arrives as k tokens (channel columns of the transposed tiles) per iteration.
        b.phases = {loop("htc", s.ssm_iterations, 1,
                         {every(f_ht2, k), per_n_tile(f_cb), pattern(f_ud, tile_iters, tile_iters - 1, tile_iters)},
                         {pattern(f_y, tile_iters, tile_iters - 1, tile_iters)})};
        add(b);
    }
    {
        BlockProgram b = block("YZ", "(y + uD) x SiLU(z) (>> 10)", "case/YZ.cpp: 5-stage pipeline");
        b.phases = {loop("yz", s.d_inner_tiles, 1, {every(f_y), every(f_zs)}, {every(f_yz)})};
        add(b);
    }
    {
        BlockProgram b = block("RMSNORM_QUANT_2", "gated RMSNorm over 5120, 4-bit quant (two passes)",
                               "src/rmsnorm2.h: needs the whole vector before emitting");
        b.phases = {loop("sum_squares", s.d_inner_tiles, 1, {every(f_yz)}, {}),
                    loop("normalise", s.d_inner_tiles, 1, {}, {every(f_norm2)})};
        add(b);
    }
    if (design.htu_enabled) {
        // The paper's HTU (lightmamba.md 3.3): 128-point FWHT (7 butterfly stages) and a 40-point
        // +-1 stage; parallelism and depth are unknown [A]: butterfly_lanes elements per cycle per
        // stage, and the 40-point stage as an 8 x 8 +-1 MAC array.
        const int64_t elems = int64_t{s.d_inner_tiles} * kTileLanes;
        const int64_t fwht = 7 * ceil_div(elems, design.htu_butterfly_lanes);
        const int64_t k40 = ceil_div(elems * 40, 64);
        BlockProgram b = block("HTU", "online Hadamard: 128-point FWHT + 40-point +-1 stage (paper only)",
                               "paper 3.1/3.3; lanes and depth [A]");
        b.phases = {loop("load", s.d_inner_tiles, 1, {every(f_norm2)}, {}), loop("fwht", fwht, 1, {}, {}),
                    loop("pm1_40", k40, 1, {}, {}), loop("emit", s.d_inner_tiles, 1, {}, {every(f_htu)})};
        add(b);
    }

    return g;
}
}  // namespace

void apply_timing(DataflowGraph& g, const DesignConfig& design) {
    // ---- Timing parameters: depth from the reports, overhead = HLS latency - loop cycles -------
    const std::map<std::string, BlockTimingDefaults>& defaults = derived_timing();
    for (const auto& kv : design.blocks)
        if (std::none_of(g.blocks.begin(), g.blocks.end(), [&](const BlockProgram& b) { return b.name == kv.first; }))
            throw InputError(fmt::format("design.blocks.{}: this design has no such block (is the unit enabled?), "
                                         "so the override would have no effect", kv.first));
    const DesignConfig released;  // the defaults are the released design's parameters
    const bool ssmu_widened = design.ssmu_lanes != released.ssmu_lanes;
    const bool mmu_changed = design.mmu.input_lanes != released.mmu.input_lanes ||
                             design.mmu.output_lanes != released.mmu.output_lanes ||
                             design.precision != released.precision;
    const bool axi_changed = design.axi.masters != released.axi.masters || design.axi.width_bits != released.axi.width_bits;
    for (BlockProgram& b : g.blocks) {
        b.style = rtl_of(b.name).style;
        const int known = known_depth(b.name);
        b.depth_cycles = known >= 0 ? known : kDefaultDepth;
        b.overhead_cycles = 0;
        b.hls_latency_cycles = published_hls_latency(b.name);
        auto dt = defaults.find(b.name);
        if (dt != defaults.end()) {
            b.depth_cycles = dt->second.depth_cycles;
            b.overhead_cycles = dt->second.overhead_cycles;
        }
        // Carrying the released timing over to other widths [A] (docs/validation.md "Timing of
        // a widened block"): trip counts and tokens per access follow the parameters (the
        // programs above); II, depth and overhead stay the released block's, except that a
        // wider MMU's adder tree is one stage deeper per doubling of its input lanes.
        if (ssmu_widened && ssm_unit_block(b.name))
            b.timing_extrapolated = fmt::format("SSM unit at {} lanes: released 8-lane II, depth and overhead; trips and tokens "
                                                "per access follow k = {} tokens per SSM iteration",
                                                design.ssmu_lanes, design.ssmu_lanes / kTokenLanes);
        if (b.name == "HT_STATE" && design.ht_state_ii != released.ht_state_ii)
            b.timing_extrapolated += fmt::format("{}exchange II {} (released 2) with the released depth",
                                                 b.timing_extrapolated.empty() ? "" : "; ", design.ht_state_ii);
        if (mmu_changed && (b.name == "GEMM" || b.name == "GEMM_MUX" || b.name == "GEMM_DEMUX")) {
            int extra = 0;
            for (int lanes = released.mmu.input_lanes; lanes < design.mmu.input_lanes; lanes *= 2) ++extra;
            if (b.name == "GEMM") b.depth_cycles += extra * kAdderStageCycles;
            b.timing_extrapolated = fmt::format("MMU {} x {} {}: released 8 x 8 W4A4 timing{}", design.mmu.input_lanes,
                                                design.mmu.output_lanes, design.precision,
                                                b.name == "GEMM" ? fmt::format(", adder tree +{} stages", extra) : "");
        }
        if (b.name == "STATE_MASTER")
            b.timing_extrapolated = fmt::format("{} x {}-bit state masters: the released single master's routing",
                                                design.axi.state_masters, design.axi.state_width_bits);
        if (axi_changed && b.name == "WEIGHT_PRODUCER")
            b.timing_extrapolated = fmt::format("{} x {}-bit masters: the released single master's routing", design.axi.masters,
                                                design.axi.width_bits);
        if (b.name == "HTU") b.timing_extrapolated = "the paper's HTU: no released RTL or HLS report";
        auto user = design.blocks.find(b.name);
        if (user == design.blocks.end()) continue;
        const BlockTiming& t = user->second;
        if (t.ii && !b.is_memory_master)
            for (Phase& p : b.phases) p.ii = *t.ii;
        if (t.depth_cycles) b.depth_cycles = *t.depth_cycles;
        if (t.overhead_cycles) b.overhead_cycles = *t.overhead_cycles;
    }
}

}  // namespace lmsim::hw
