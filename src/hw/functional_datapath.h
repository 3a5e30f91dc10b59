// lmsim: functional mode of the datapath model. The same block programs as the timing model
// (lightmamba_graph.h), executed with data: every iteration of every block pops the tokens its
// program reads and pushes the tokens it writes, computed with the integer primitives of
// golden/fixed_point.h in the hardware's order (8-lane tiles, the reordered in_proj output, the
// MMU's 8 x 8 tiles with per-group scales, the conv state served tap by tap, the SSM state in
// its two layouts, HT_STATE's per-tile exchange). The golden model composes the same primitives
// in algorithm order; tests require the two to agree bit for bit after every layer.
//
// Timing does not depend on data, so the data pass runs beside the timing simulation (its block
// order is any order the FIFOs allow); cycle counts are those of timing mode. Off-chip memory is
// a functional image: the weight producer's read phases take their tokens from it and its
// write phases put the conv and SSM states back, so the state is carried across tokens through
// the memory, as on the board. The contents of a beat are lmsim's own packing [A]: the data a
// beat carries is the data its position in the stream stands for (a tile's state, a GEMM tile's
// weights with their scales); the scale beats carry nothing.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "config/hardware_config.h"
#include "golden/quant_model.h"
#include "hw/dataflow.h"

namespace lmsim::hw {

class FunctionalDatapath {
public:
    // Throws InputError when the design and the quantized model disagree (reorder, online
    // Hadamard vs HTU, W8A8, MMU shape). `model` must outlive the datapath; the graph is copied.
    FunctionalDatapath(const DataflowGraph& graph, const QuantizedModel& model, const DesignConfig& design);
    // The same checks, before anything is quantized or simulated.
    static void check_design(const QuantSpec& spec, const DesignConfig& design, const ModelCard& card);
    ~FunctionalDatapath();

    // One decode step: the embedded token (Q.10) in, the residual after the last layer out;
    // `per_layer` (optional) receives the residual after every layer.
    std::vector<int32_t> step(const std::vector<int32_t>& x, std::vector<std::vector<int32_t>>* per_layer = nullptr);
    int64_t tokens_moved() const;  // tokens through all FIFOs so far

    // Called for every token a block pushes: the FIFO's index in the graph, the producer's
    // layer, the token's index among those it pushed into that FIFO in that layer, its lanes
    // and exponents (see hw/stream_check.h).
    using PushObserver = std::function<void(int fifo, int layer, int64_t seq, const std::vector<int64_t>& values,
                                            const std::vector<int>& exponents)>;
    void set_push_observer(PushObserver observer);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace lmsim::hw
