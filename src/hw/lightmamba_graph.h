// lmsim: the LightMamba accelerator as a dataflow graph: every hardware block of the released
// design (../shared/docs/lightmamba.md 3.2) with its per-layer loop program, and every FIFO
// between them with its configured depth. This file (with its .cpp) is the block diagram: the
// wiring is readable in one place, in dataflow order.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "config/hardware_config.h"
#include "golden/fixed_point.h"
#include "hw/dataflow.h"
#include "model/model_card.h"

namespace lmsim::hw {

// The number 8 plays four roles in LightMamba; they are named here once, and the graph, the
// functional datapath and the stream checker derive their shapes from these names:
//  - the quantization group: 8 elements share one power-of-two exponent (fx::kGroup), a fact of
//    the number format that no hardware parameter changes;
//  - the stream token: every FIFO between blocks carries whole groups, one group per token
//    (CP = NP = G = 8 in the released C, common.h) -> kTokenLanes;
//  - the head group: dt, dt x A and dA travel as tokens of one group of heads (DTADAPT, DTA,
//    EXP_QUANT; a dB token is one n for a head group) -> kHeadGroup;
//  - the transpose tile of h's second layout: one group along p by one along n (HT_ADD_QUANT's
//    8 x 8 tile, design.tiling np x pp) -> kTransposeTile;
// and, separately, the SSM unit's parallelism: design.ssmu.lanes elements per SSM iteration
// (8 in the release), i.e. lanes / 8 tokens of the loop nest per iteration (LayerShape).
constexpr int kQuantGroup = fx::kGroup;
constexpr int kTokenLanes = kQuantGroup;
constexpr int kHeadGroup = kTokenLanes;
constexpr int kTransposeTile = kQuantGroup;
// One beat of the released 256-bit AXI master [C] (DW_MAXI = CP * CP * 4): the token of every
// memory stream but the weights' (a wider master's beat carries several).
constexpr int kMemoryTokenBytes = 32;

// Per-layer shapes in hardware units: 8-lane tiles (CP = NP = 8 in the code) and 32-byte beats.
struct LayerShape {
    int tile_lanes = kTokenLanes;
    int d_model_tiles = 0;   // 320 for mamba2-2.7b
    int d_inner_tiles = 0;   // 640
    int bc_tiles = 0;        // 32 (B then C)
    int head_groups = 0;     // 10 groups of 8 heads
    int xz_tiles_per_group = 0;  // 64
    int in_proj_tiles = 0;   // 1322 = bc + groups x (1 dt + 2 x 64)
    // The SSM loop nest (head group > head > p-tile > n) in tokens of 8 p-values, and in the SSM
    // unit's iterations: each moves ssm_tokens_per_iteration consecutive n of one p-tile.
    int64_t ssm_tokens = 0;      // 81,920 = heads x headdim x d_state / 8
    int ssm_tokens_per_iteration = 1;  // design.ssmu.lanes / 8
    int64_t ssm_iterations = 0;  // ssm_tokens / ssm_tokens_per_iteration (81,920 released)
    int d_state = 0;
    int headdim_tiles = 0;   // 8
    int64_t state_beats = 0;     // 21,760 = 20,480 data + 1,280 scale
    int64_t conv_beats = 0;      // 714 = 672 + 42
    int64_t x_beats = 0;         // 320 (int32 residual)
    // GEMM (MMU) in its own tokens
    int64_t in_proj_iterations = 0, out_proj_iterations = 0;  // 423,040 and 204,800
    int64_t in_proj_input_tokens = 0, out_proj_input_tokens = 0;    // per output token
    int64_t in_proj_output_tokens = 0, out_proj_output_tokens = 0;
    int64_t weight_beats = 0, scale_beats = 0;  // 627,840 and 7,359
};

LayerShape layer_shape(const ModelCard& model, const DesignConfig& design);

// Published per-invocation latencies (HLS reports of the released design at mamba2-2.7b);
// 0 where none was published.
int64_t published_hls_latency(const std::string& block);

// Builds the graph for a model and design. The blocks' fixed overheads are derived once at the
// released design's shape (mamba2-2.7b): overhead = HLS latency - (trips x II + depth), so that
// each block in isolation reproduces its HLS latency; design.blocks.<NAME> overrides ii, depth
// and overhead. Throws InputError for shapes the hardware cannot tile.
DataflowGraph build_lightmamba_graph(const ModelCard& model, const DesignConfig& design);

// The shape the HLS latencies were reported at (mamba2-2.7b, models/mamba2-2.7b.json).
ModelCard released_model_shape();
// Per block with a published HLS latency, at the released shape and design: the cycles the loop
// trips x II don't explain (rest = HLS - loops) become the pipeline depth (single-loop blocks;
// spread over the loops otherwise, unless the reports give the depth) and the remainder a fixed
// per-invocation overhead. Listed in docs/validation.md.
struct BlockTimingDefaults {
    int depth_cycles = 0, overhead_cycles = 0;
    // HLS latency - loop cycles - depth, unclamped; where the depth comes from the RTL this
    // compares three sources (the C code's trip counts, the RTL's II and stages, the HLS
    // report), so it is not zero by construction.
    int64_t unexplained_cycles = 0;
    bool depth_from_rtl = false;
};
const std::map<std::string, BlockTimingDefaults>& derived_timing();
// Sets depth, HLS latency and overhead of every block, then applies design.blocks overrides.
void apply_timing(DataflowGraph& g, const DesignConfig& design);

}  // namespace lmsim::hw
