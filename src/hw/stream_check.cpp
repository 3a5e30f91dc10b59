#include "hw/stream_check.h"

#include <fmt/format.h>

#include <algorithm>

#include "golden/fixed_point.h"

namespace lmsim::hw {

namespace {
// Layers whose traces are kept: blocks run at most a layer or two apart (the FIFOs between
// them hold less than a layer), so four is a margin; a request for an older layer is an error.
constexpr std::size_t kKeptLayers = 4;
// Streams deliberately not checked (lmsim's own packing, or covered by the residual check).
const char* const kUnchecked[] = {"x", "weight", "weight_scale", "conv_taps", "y"};
}  // namespace

StreamChecker::StreamChecker(const DataflowGraph& graph, const QuantizedModel& model, const DesignConfig& design,
                             IntModel& golden)
    : g_(graph), d_(design), sh_(layer_shape(model.card, design)), golden_(golden) {
    const ModelCard& c = model.card;
    D_ = c.d_model, Di_ = c.d_inner(), N_ = c.d_state, H_ = c.nheads(), P_ = c.headdim, CD_ = c.conv_dim();
    rows_ = design.mmu.output_lanes;
    // Streams whose k-th token is tile k of one golden quantity (values, exponents or none).
    const std::map<std::string, std::pair<const char*, const char*>> tiles = {
        {"residual_to_norm1", {"residual_in", nullptr}},
        {"norm1_to_mux", {"rmsnorm1_q", "rmsnorm1_s"}},
        {"demux_z", {"in_proj_out", nullptr}},  // z is the first d_inner of in_proj's output
        {"demux_out_proj", {"out_proj_out", nullptr}},
        {"dt_to_dta", {"dt_q", "dt_s"}},
        {"dt_to_dtb", {"dt_q", "dt_s"}},
        {"dta_to_exp", {"dtA", nullptr}},
        {"da_to_dah", {"dA_q", "dA_s"}},
        {"ud_to_htc", {"xD", nullptr}},
        {"y_to_yz", {"y_q", "y_s"}},
        {"yz_to_norm2", {"yz", nullptr}},
        {"htu_to_mux", {"rmsnorm2_q", "rmsnorm2_s"}},
    };
    const std::map<std::string, Rule> rules = {
        {"mux_to_gemm", &StreamChecker::mux},
        {"gemm_to_demux", &StreamChecker::gemm},
        {"demux_xbc", &StreamChecker::demux_xbc},
        {"demux_dt", &StreamChecker::demux_dt},
        {"quant_conv_to_conv_state", &StreamChecker::xbc_quant},
        {"conv_state_in", &StreamChecker::conv_state_prev},
        {"conv_state_out", &StreamChecker::conv_state_new},
        {"conv_to_silu_mux", &StreamChecker::conv_out},
        {"silu_mux_to_quant", &StreamChecker::silu_mux},
        {"silu_quant_to_demux", &StreamChecker::silu_in_order},
        {"b", &StreamChecker::silu_b},
        {"c", &StreamChecker::silu_c},
        {"u_to_dbu", &StreamChecker::silu_x},
        {"u_to_ud", &StreamChecker::silu_x},
        {"silu_z_to_yz", &StreamChecker::silu_z},
        {"b_replay", &StreamChecker::b_replay},
        {"c_replay", &StreamChecker::c_replay},
        {"db_to_dbu", &StreamChecker::db},
        {"h_state_in", &StreamChecker::h_state_prev},
        {"h_prev_to_dah", &StreamChecker::h_prev},
        {"dah_to_add", &StreamChecker::dah},
        {"dbu_to_add", &StreamChecker::dbx},
        {"ht1_to_state", &StreamChecker::ht1},
        {"ht2_to_htc", &StreamChecker::ht2},
        {"h_state_out", &StreamChecker::h_state_new},
        {"norm2_out", &StreamChecker::norm2},
    };
    // Every FIFO of the graph is either checked or named as not checked: a new stream must be
    // classified here.
    for (const FifoSpec& f : g_.fifos) {
        StreamRule r;
        if (auto it = rules.find(f.name); it != rules.end()) r.rule = it->second;
        else if (auto t = tiles.find(f.name); t != tiles.end()) r.tile_values = t->second.first, r.tile_exponents = t->second.second;
        else if (std::find_if(std::begin(kUnchecked), std::end(kUnchecked), [&](const char* n) { return f.name == n; }) ==
                 std::end(kUnchecked))
            throw std::logic_error("stream check: FIFO " + f.name + " has no golden rule and is not listed as unchecked");
        rules_.push_back(r);
    }
}

std::vector<std::string> StreamChecker::checked_streams() const {
    std::vector<std::string> names;
    for (std::size_t f = 0; f < rules_.size(); ++f)
        if (rules_[f].checked()) names.push_back(g_.fifos[f].name);
    return names;
}

void StreamChecker::begin_token(int token_index, const std::vector<int32_t>& x) {
    token_ = token_index;
    x_ = x;
    next_layer_ = 0;
    traces_.clear();
    residual_after_.clear();
}

const IntLayerTrace& StreamChecker::trace_for(int layer) {
    while (next_layer_ <= layer) {
        IntLayerTrace t;
        golden_.layer_step(next_layer_, x_, &t);
        residual_after_.push_back(x_);
        traces_.emplace_back(next_layer_, std::move(t));
        ++next_layer_;
        if (traces_.size() > kKeptLayers) traces_.pop_front();
    }
    for (const auto& lt : traces_)
        if (lt.first == layer) return lt.second;
    throw std::logic_error(fmt::format("stream check: layer {} asked for after its trace was dropped", layer));
}

const std::vector<int64_t>& StreamChecker::at(const IntLayerTrace& t, const char* key) const {
    auto it = t.find(key);
    if (it == t.end()) throw std::logic_error(std::string("stream check: the golden trace has no ") + key);
    return it->second;
}

void StreamChecker::take(const IntLayerTrace& t, Expected& e, const char* v_key, int64_t v_off, int v_n,
                         const char* s_key, int64_t s_off, int s_n) const {
    const std::vector<int64_t>& v = at(t, v_key);
    e.quantity = v_key;
    e.v.assign(v.begin() + v_off, v.begin() + v_off + v_n);
    if (s_key) {
        const std::vector<int64_t>& s = at(t, s_key);
        e.s.assign(s.begin() + s_off, s.begin() + s_off + s_n);
    }
}

void StreamChecker::on_push(int fifo, int layer, int64_t seq, const std::vector<int64_t>& v, const std::vector<int>& s) {
    const StreamRule& rule = rules_[static_cast<std::size_t>(fifo)];
    if (!rule.checked()) return;
    const IntLayerTrace& t = trace_for(layer);
    Expected e;
    if (rule.rule) {
        if (!(this->*rule.rule)(t, seq, e)) return;
    } else {
        take(t, e, rule.tile_values, 8 * seq, 8, rule.tile_exponents, seq);
    }
    const FifoSpec& f = g_.fifos[static_cast<std::size_t>(fifo)];
    auto fail = [&](const std::string& what) {
        throw StreamMismatch(fmt::format("functional mode: token {} layer {}: block {} -> {} (FIFO {}), token {} of the "
                                         "layer: {} (golden quantity {})",
                                         token_, layer, f.producer, f.consumer, f.name, seq,
                                         what, e.quantity));
    };
    if (!e.v.empty()) {
        if (v.size() < e.v.size() || (!e.padded && v.size() != e.v.size()))
            fail(fmt::format("{} lanes, expected {}", v.size(), e.v.size()));
        for (std::size_t i = 0; i < e.v.size(); ++i)
            if (v[i] != e.v[i]) fail(fmt::format("lane {}: {} vs golden {}", i, v[i], e.v[i]));
    }
    if (!e.s.empty()) {
        if (s.size() != e.s.size()) fail(fmt::format("{} exponents, expected {}", s.size(), e.s.size()));
        for (std::size_t i = 0; i < e.s.size(); ++i)
            if (s[i] != e.s[i]) fail(fmt::format("exponent {}: {} vs golden {}", i, s[i], e.s[i]));
    }
    ++checked_;
    ++per_stream_[f.name];
}

void StreamChecker::end_token(const std::vector<std::vector<int32_t>>& per_layer) {
    const int layers = static_cast<int>(per_layer.size());
    if (layers != g_.layers)
        throw std::logic_error(fmt::format("stream check: the datapath reported {} layer outputs of {}", layers, g_.layers));
    trace_for(layers - 1);
    for (int l = 0; l < layers; ++l) {
        const std::vector<int32_t>& got = per_layer[static_cast<std::size_t>(l)];
        const std::vector<int32_t>& want = residual_after_.at(static_cast<std::size_t>(l));
        for (std::size_t i = 0; i < want.size(); ++i)
            if (i >= got.size() || got[i] != want[i])
                throw StreamMismatch(fmt::format("functional mode: token {} layer {}: the datapath's residual differs from "
                                                 "the golden model at element {} ({} vs {})",
                                                 token_, l, i, i < got.size() ? got[i] : 0, want[i]));
    }
}

// ---- Hardware order -----------------------------------------------------------------------

int StreamChecker::conv_channel(int64_t k) const {
    if (!d_.reorder) return static_cast<int>(8 * k);
    return static_cast<int>(k < sh_.bc_tiles ? Di_ + 8 * k : 8 * (k - sh_.bc_tiles));
}

// The SSM loop nest: head group > head in the group (8) > p-tile > n; returns the first
// channel of the 8-channel tile and sets n.
int64_t StreamChecker::ssm_channel(int64_t i, int* n) const {
    const int64_t per_head = int64_t{N_} * sh_.headdim_tiles, per_group = per_head * 8;
    const int64_t grp = i / per_group, w = i % per_group;
    const int64_t head = w / per_head, pt = (w % per_head) / N_;
    *n = static_cast<int>(w % N_);
    return (8 * grp + head) * P_ + 8 * pt;
}

// SiLU space: [conv output over the conv channels (x, B, C) | z]. Tiles arrive as B, C, then
// x and z alternately per tile (reordered), or z then x, B, C (natural order).
int64_t StreamChecker::silu_index(int64_t k) const {
    if (d_.reorder) {
        if (k < sh_.bc_tiles) return Di_ + 8 * k;
        const int64_t p = k - sh_.bc_tiles;
        return p % 2 == 0 ? 8 * (p / 2) : CD_ + 8 * (p / 2);
    }
    return k < sh_.d_inner_tiles ? CD_ + 8 * k : 8 * (k - sh_.d_inner_tiles);
}

bool StreamChecker::silu_tile(const IntLayerTrace& t, int64_t first, Expected& e) const {
    take(t, e, "silu_q", first, 8, "silu_s", first / 8);
    return true;
}

// GEMM_MUX replays the quantized input vector once per output token of each projection.
// A token is the MMU's input_lanes activations: input_lanes / 8 groups, with their exponents.
bool StreamChecker::mux(const IntLayerTrace& t, int64_t j, Expected& e) const {
    const int il = d_.mmu.input_lanes, groups = il / kQuantGroup;
    if (j < sh_.in_proj_iterations) {
        const int64_t k = j % sh_.in_proj_input_tokens;
        take(t, e, "rmsnorm1_q", il * k, il, "rmsnorm1_s", groups * k, groups);
    } else {
        const int64_t k = (j - sh_.in_proj_iterations) % sh_.out_proj_input_tokens;
        take(t, e, "rmsnorm2_q", il * k, il, "rmsnorm2_s", groups * k, groups);
    }
    return true;
}
// The MMU's output tokens: in_proj rows in stored (reordered) order, then out_proj's.
bool StreamChecker::gemm(const IntLayerTrace& t, int64_t j, Expected& e) const {
    const bool in = j < sh_.in_proj_output_tokens;
    const int64_t r0 = rows_ * (in ? j : j - sh_.in_proj_output_tokens);
    const std::vector<int64_t>& all = at(t, in ? "in_proj_stored" : "out_proj_out");
    const int n = static_cast<int>(std::min<int64_t>(rows_, static_cast<int64_t>(all.size()) - r0));
    take(t, e, in ? "in_proj_stored" : "out_proj_out", r0, n);
    e.padded = n < rows_;
    return true;
}
bool StreamChecker::demux_xbc(const IntLayerTrace& t, int64_t k, Expected& e) const {
    take(t, e, "in_proj_out", Di_ + conv_channel(k), 8);
    return true;
}
bool StreamChecker::demux_dt(const IntLayerTrace& t, int64_t k, Expected& e) const {
    take(t, e, "in_proj_out", Di_ + CD_ + 8 * k, 8);
    return true;
}
bool StreamChecker::xbc_quant(const IntLayerTrace& t, int64_t k, Expected& e) const {
    const int ch = conv_channel(k);
    take(t, e, "xbc_q", ch, 8, "xbc_s", ch / 8);
    return true;
}
bool StreamChecker::conv_out(const IntLayerTrace& t, int64_t k, Expected& e) const {
    take(t, e, "conv_out", conv_channel(k), 8);
    return true;
}
// A conv-state beat: the three stored columns of one 8-channel tile, oldest first.
static void conv_state_beat(const std::vector<int64_t>& q, const std::vector<int64_t>& s, int cd, int ch,
                            std::vector<int64_t>* v, std::vector<int64_t>* e) {
    for (int d = 0; d < 3; ++d) {
        for (int i = 0; i < 8; ++i) v->push_back(q[static_cast<std::size_t>(d) * cd + ch + i]);
        e->push_back(s[static_cast<std::size_t>(d) * (cd / 8) + ch / 8]);
    }
}
bool StreamChecker::conv_state_prev(const IntLayerTrace& t, int64_t k, Expected& e) const {
    if (k >= sh_.bc_tiles + sh_.d_inner_tiles) return false;  // scale beats, then the conv weights
    e.quantity = "conv_state_prev";
    conv_state_beat(at(t, "conv_state_prev_q"), at(t, "conv_state_prev_s"), CD_, conv_channel(k), &e.v, &e.s);
    return true;
}
bool StreamChecker::conv_state_new(const IntLayerTrace& t, int64_t k, Expected& e) const {
    if (k >= sh_.bc_tiles + sh_.d_inner_tiles) return false;  // scale beats
    e.quantity = "conv_state";
    conv_state_beat(at(t, "conv_state_q"), at(t, "conv_state_s"), CD_, conv_channel(k), &e.v, &e.s);
    return true;
}
bool StreamChecker::silu_mux(const IntLayerTrace& t, int64_t k, Expected& e) const {
    const int64_t i = silu_index(k);
    if (i < CD_) take(t, e, "conv_out", i, 8);
    else take(t, e, "in_proj_out", i - CD_, 8);  // z, raw
    return true;
}
bool StreamChecker::silu_in_order(const IntLayerTrace& t, int64_t k, Expected& e) const {
    return silu_tile(t, silu_index(k), e);
}
bool StreamChecker::silu_b(const IntLayerTrace& t, int64_t k, Expected& e) const { return silu_tile(t, Di_ + 8 * k, e); }
bool StreamChecker::silu_c(const IntLayerTrace& t, int64_t k, Expected& e) const {
    return silu_tile(t, Di_ + N_ + 8 * k, e);
}
bool StreamChecker::silu_x(const IntLayerTrace& t, int64_t k, Expected& e) const { return silu_tile(t, 8 * k, e); }
bool StreamChecker::silu_z(const IntLayerTrace& t, int64_t k, Expected& e) const { return silu_tile(t, CD_ + 8 * k, e); }
bool StreamChecker::b_replay(const IntLayerTrace& t, int64_t k, Expected& e) const {
    return silu_tile(t, Di_ + 8 * (k % (N_ / 8)), e);
}
bool StreamChecker::c_replay(const IntLayerTrace& t, int64_t k, Expected& e) const {
    return silu_tile(t, Di_ + N_ + 8 * (k % (N_ / 8)), e);
}
// DTB_QUANT: per head group, dB for every n (8 heads of one n in a token).
bool StreamChecker::db(const IntLayerTrace& t, int64_t k, Expected& e) const {
    const int64_t grp = k / N_, n = k % N_, i = n * H_ + 8 * grp;
    take(t, e, "dB_q", i, 8, "dB_s", i / 8);
    return true;
}
// HT_STATE's exchange: per 8-channel tile, h(t-1) for every n.
bool StreamChecker::h_prev(const IntLayerTrace& t, int64_t k, Expected& e) const {
    const int64_t ct = k / N_, n = k % N_;
    take(t, e, "h_prev_q", n * Di_ + 8 * ct, 8, "h_prev_s", n * (Di_ / 8) + ct);
    return true;
}
bool StreamChecker::dah(const IntLayerTrace& t, int64_t i, Expected& e) const {
    int n = 0;
    const int64_t ch = ssm_channel(i, &n);
    take(t, e, "dah", int64_t{n} * Di_ + ch, 8);
    return true;
}
bool StreamChecker::dbx(const IntLayerTrace& t, int64_t i, Expected& e) const {
    int n = 0;
    const int64_t ch = ssm_channel(i, &n);
    take(t, e, "dbx", int64_t{n} * Di_ + ch, 8);
    return true;
}
bool StreamChecker::ht1(const IntLayerTrace& t, int64_t i, Expected& e) const {
    int n = 0;
    const int64_t ch = ssm_channel(i, &n);
    take(t, e, "h_q", int64_t{n} * Di_ + ch, 8, "h_s", (int64_t{n} * Di_ + ch) / 8);
    return true;
}
// HT_ADD_QUANT's second output: after every 8 n of a tile, the 8 x 8 block transposed, one
// token per channel with its 8 values along n.
bool StreamChecker::ht2(const IntLayerTrace& t, int64_t j, Expected& e) const {
    int n = 0;
    const int64_t ch = ssm_channel((j / 8) * 8 + 7, &n) + j % 8;
    const int64_t tile = int64_t{n / 8} * Di_ + ch;
    take(t, e, "h2_q", tile * 8, 8, "h2_s", tile);
    return true;
}
// State beats in the memory image: 32 values of h[n][d_inner] each, then 64 exponents each.
bool StreamChecker::state_beat(const IntLayerTrace& t, int64_t k, const char* q, const char* s, Expected& e) const {
    const int64_t data = int64_t{N_} * Di_ / 32;
    if (k < data) {
        take(t, e, q, 32 * k, 32);
    } else {
        const std::vector<int64_t>& exps = at(t, s);
        e.quantity = s;
        e.s.assign(exps.begin() + 64 * (k - data), exps.begin() + 64 * (k - data + 1));
    }
    return true;
}
bool StreamChecker::h_state_prev(const IntLayerTrace& t, int64_t k, Expected& e) const {
    return state_beat(t, k, "h_prev_q", "h_prev_s", e);
}
bool StreamChecker::h_state_new(const IntLayerTrace& t, int64_t k, Expected& e) const {
    return state_beat(t, k, "h_q", "h_s", e);
}
bool StreamChecker::norm2(const IntLayerTrace& t, int64_t k, Expected& e) const {
    if (d_.htu_enabled) take(t, e, "rmsnorm2_raw", 8 * k, 8);  // into the HTU, before quantization
    else take(t, e, "rmsnorm2_q", 8 * k, 8, "rmsnorm2_s", k);
    return true;
}

}  // namespace lmsim::hw
