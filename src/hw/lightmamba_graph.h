// lmsim: the LightMamba accelerator as a dataflow graph: every hardware block of the released
// design (../shared/docs/lightmamba.md 3.2) with its per-layer loop program, and every FIFO
// between them with its configured depth. This file (with its .cpp) is the block diagram: the
// wiring is readable in one place, in dataflow order.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "config/hardware_config.h"
#include "hw/dataflow.h"
#include "model/model_card.h"

namespace lmsim::hw {

// Per-layer shapes in hardware units: 8-lane tiles (CP = NP = 8 in the code) and 32-byte beats.
struct LayerShape {
    int tile_lanes = 8;
    int d_model_tiles = 0;   // 320 for mamba2-2.7b
    int d_inner_tiles = 0;   // 640
    int bc_tiles = 0;        // 32 (B then C)
    int head_groups = 0;     // 10 groups of 8 heads
    int xz_tiles_per_group = 0;  // 64
    int in_proj_tiles = 0;   // 1322 = bc + groups x (1 dt + 2 x 64)
    int64_t ssm_iterations = 0;  // 81,920 = heads x headdim x d_state / 8
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
