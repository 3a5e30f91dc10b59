// lmsim: checks every token the functional datapath's blocks stream against the golden model's
// value of the same quantity. For each checked FIFO this file states, independently of the
// kernels that produce the tokens, which quantity the stream carries and in which order (the
// hardware's order: reordered in_proj tiles, the SSM loop nest group > head > p-tile > n, the
// 8 x 8 transposed tiles of h's second layout, the state beats in the memory image). The golden
// model (golden/int_model.h, algorithm order, no SystemC) records those quantities in its layer
// trace; the first token that differs stops the run with the token, layer, block, FIFO, token
// index and lane.
//
// Not checked (lmsim's own packing [A], no golden quantity to compare with): the weight and
// weight-scale beats, the conv taps that CONV_STATE serves CONV, the producer's x and y beats
// (the residual after every layer is compared instead) and the conv weights in the memory image.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/hardware_config.h"
#include "golden/int_model.h"
#include "hw/dataflow.h"
#include "hw/lightmamba_graph.h"

namespace lmsim::hw {

// A streamed token that differs from the golden model (exit 6 in the CLI).
struct StreamMismatch : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class StreamChecker {
public:
    // `golden` runs the same quantized model; it is advanced layer by layer as the datapath's
    // tokens need its traces. `graph` must outlive the checker.
    StreamChecker(const DataflowGraph& graph, const QuantizedModel& model, const DesignConfig& design, IntModel& golden);

    // Before a decode step: the embedded token the datapath also gets.
    void begin_token(int token_index, const std::vector<int32_t>& x);
    // One token pushed into `fifo` by its producer while at `layer`, the `seq`-th of that layer.
    void on_push(int fifo, int layer, int64_t seq, const std::vector<int64_t>& v, const std::vector<int>& s);
    // After the step: the residual after every layer, as RESIDUAL holds it, against the golden
    // model's; the golden model is advanced through every layer.
    void end_token(const std::vector<std::vector<int32_t>>& per_layer);

    int64_t tokens_checked() const { return checked_; }
    // The FIFOs that have a golden rule (the others are listed in stream_check.cpp).
    std::vector<std::string> checked_streams() const;
    // Tokens checked per FIFO name, over all decode steps so far.
    const std::map<std::string, int64_t>& per_stream() const { return per_stream_; }
    // The golden residual after the last layer of the last step.
    const std::vector<int32_t>& golden_residual() const { return x_; }

private:
    // The golden token: values and exponents (either may be empty: not carried), the golden
    // quantity's name, and whether the datapath's token may carry padding lanes after them.
    struct Expected {
        std::vector<int64_t> v, s;
        const char* quantity = "";
        bool padded = false;
    };
    using Rule = bool (StreamChecker::*)(const IntLayerTrace&, int64_t, Expected&) const;
    // Per FIFO: its rule, or (rule null, keys set) the common case of a stream whose k-th token
    // is the k-th 8-lane tile of one golden quantity (with its k-th exponent).
    struct StreamRule {
        Rule rule = nullptr;
        const char* tile_values = nullptr;
        const char* tile_exponents = nullptr;
        bool checked() const { return rule || tile_values; }
    };

    const IntLayerTrace& trace_for(int layer);
    const std::vector<int64_t>& at(const IntLayerTrace& t, const char* key) const;

    // One rule per checked stream: false when the stream has no golden value at that position.
    bool mux(const IntLayerTrace&, int64_t, Expected&) const;
    bool gemm(const IntLayerTrace&, int64_t, Expected&) const;
    bool demux_xbc(const IntLayerTrace&, int64_t, Expected&) const;
    bool demux_dt(const IntLayerTrace&, int64_t, Expected&) const;
    bool xbc_quant(const IntLayerTrace&, int64_t, Expected&) const;
    bool conv_out(const IntLayerTrace&, int64_t, Expected&) const;
    bool conv_state_prev(const IntLayerTrace&, int64_t, Expected&) const;
    bool conv_state_new(const IntLayerTrace&, int64_t, Expected&) const;
    bool silu_mux(const IntLayerTrace&, int64_t, Expected&) const;
    bool silu_in_order(const IntLayerTrace&, int64_t, Expected&) const;
    bool silu_b(const IntLayerTrace&, int64_t, Expected&) const;
    bool silu_c(const IntLayerTrace&, int64_t, Expected&) const;
    bool silu_x(const IntLayerTrace&, int64_t, Expected&) const;
    bool silu_z(const IntLayerTrace&, int64_t, Expected&) const;
    bool b_replay(const IntLayerTrace&, int64_t, Expected&) const;
    bool c_replay(const IntLayerTrace&, int64_t, Expected&) const;
    bool db(const IntLayerTrace&, int64_t, Expected&) const;
    bool h_prev(const IntLayerTrace&, int64_t, Expected&) const;
    bool dah(const IntLayerTrace&, int64_t, Expected&) const;
    bool dbx(const IntLayerTrace&, int64_t, Expected&) const;
    bool ht1(const IntLayerTrace&, int64_t, Expected&) const;
    bool ht2(const IntLayerTrace&, int64_t, Expected&) const;
    bool h_state_prev(const IntLayerTrace&, int64_t, Expected&) const;
    bool h_state_new(const IntLayerTrace&, int64_t, Expected&) const;
    bool norm2(const IntLayerTrace&, int64_t, Expected&) const;

    // Natural conv channel of the k-th conv tile to arrive; SSM loop position of iteration i.
    int conv_channel(int64_t k) const;
    int64_t ssm_channel(int64_t i, int* n) const;
    bool state_beat(const IntLayerTrace& t, int64_t k, const char* q, const char* s, Expected& e) const;
    int64_t silu_index(int64_t k) const;  // first SiLU-space element of the k-th SiLU tile
    bool silu_tile(const IntLayerTrace& t, int64_t first_index, Expected& e) const;
    // e.v = t[v_key][v_off, v_off + v_n), e.s likewise (s_key null: no exponents).
    void take(const IntLayerTrace& t, Expected& e, const char* v_key, int64_t v_off, int v_n,
              const char* s_key = nullptr, int64_t s_off = 0, int s_n = 1) const;

    const DataflowGraph& g_;
    const DesignConfig& d_;
    LayerShape sh_;
    IntModel& golden_;
    int D_, Di_, N_, H_, P_, CD_, rows_;
    std::vector<StreamRule> rules_;  // per FIFO
    int token_ = 0;
    std::vector<int32_t> x_;
    int next_layer_ = 0;  // the golden model has run layers [0, next_layer_) of this token
    std::deque<std::pair<int, IntLayerTrace>> traces_;  // the last few layers' traces
    std::vector<std::vector<int32_t>> residual_after_;  // golden residual after each layer
    int64_t checked_ = 0;
    std::map<std::string, int64_t> per_stream_;
};

}  // namespace lmsim::hw
