#include "hw/functional_datapath.h"

#include <fmt/format.h>

#include <deque>
#include <functional>
#include <map>

#include "common/error.h"
#include "golden/fixed_point.h"
#include "golden/hadamard.h"
#include "golden/int_model.h"
#include "hw/lightmamba_graph.h"

namespace lmsim::hw {

using namespace fx;

namespace {

// One token on a stream: lanes and the exponents that go with them.
struct Token {
    std::vector<int64_t> v;
    std::vector<int> s;
};

// The paper's HTU: a 128-point fast Hadamard transform (7 butterfly stages) [P-n].
constexpr int kHtuButterflyPoints = 128;

// Kronecker product of two +-1 matrices (row-major).
std::vector<int8_t> kron_pm1(const std::vector<int8_t>& a, int na, const std::vector<int8_t>& b, int nb) {
    const int n = na * nb;
    std::vector<int8_t> h(static_cast<std::size_t>(n) * n);
    for (int i = 0; i < na; ++i)
        for (int j = 0; j < na; ++j)
            for (int k = 0; k < nb; ++k)
                for (int l = 0; l < nb; ++l)
                    h[static_cast<std::size_t>(i * nb + k) * n + (j * nb + l)] = static_cast<int8_t>(a[i * na + j] * b[k * nb + l]);
    return h;
}

bool fires(const StreamAccess& a, int64_t pos) { return pos >= a.lo && pos < a.hi && (pos - a.lo) % a.stride == 0; }

Token quantized(const int64_t* x, int bits, const char* what) {
    Token t;
    t.v.resize(kGroup);
    int8_t q[kGroup];
    t.s.push_back(quantize_group(x, kGroup, bits, q, what));
    for (int i = 0; i < kGroup; ++i) t.v[i] = q[i];
    return t;
}

}  // namespace

struct FunctionalDatapath::Impl {
    // What one block sees in one iteration: the tokens its fired reads popped (per access), and
    // the vectors its fired writes must fill with `count` tokens each.
    struct Io {
        std::vector<std::vector<Token>> in, out;
        std::vector<bool> out_fired;
        int64_t in_iter = 0;  // the phase-local iteration
    };
    struct Exec {
        const BlockProgram* p;
        int layer = 0;
        std::size_t phase = 0;
        int64_t iter = 0;
        bool entered = false;
        std::vector<int64_t> rpos, wpos;
        std::function<void(Exec&, const Phase&, Io&)> kernel;
    };

    const DataflowGraph g;  // a copy: the blocks point into it
    const QuantizedModel& m;
    DesignConfig d;
    LayerShape sh;
    int D, Di, N, H, P, CD, abits;
    std::vector<std::deque<Token>> q;
    std::vector<Exec> blocks;
    int64_t moved = 0;

    // Off-chip memory image, as the producer streams it, per layer.
    struct LayerMemory {
        std::vector<Token> conv_state, conv_weights, h;
    };
    std::vector<LayerMemory> memory;
    std::vector<Token> x_in, y_out;
    std::vector<std::vector<int32_t>>* per_layer = nullptr;
    PushObserver observer;
    std::vector<int> push_layer;      // per FIFO: the producer's layer of the last push
    std::vector<int64_t> push_seq;    // per FIFO: tokens pushed in that layer
    std::vector<int> conv_channel;  // natural first channel of the k-th conv tile to arrive

    Impl(const DataflowGraph& graph, const QuantizedModel& model, const DesignConfig& design)
        : g(graph), m(model), d(design), sh(layer_shape(model.card, design)) {
        const ModelCard& c = m.card;
        D = c.d_model, Di = c.d_inner(), N = c.d_state, H = c.nheads(), P = c.headdim, CD = c.conv_dim();
        abits = m.spec.gemm_bits();
        FunctionalDatapath::check_design(m.spec, d, m.card);
        q.resize(g.fifos.size());
        for (int k = 0; k < sh.bc_tiles + sh.d_inner_tiles; ++k)
            conv_channel.push_back(d.reorder ? (k < sh.bc_tiles ? Di + 8 * k : 8 * (k - sh.bc_tiles)) : 8 * k);
        build_memory();
        for (const BlockProgram& b : g.blocks) blocks.push_back(Exec{&b, 0, 0, 0, false, {}, {}, kernel_for(b.name)});
    }

    const QuantLayer& L(int layer) const { return m.layers[layer]; }

    // ---- The memory image: zero states, the layers' conv weights, in streaming order --------
    void build_memory() {
        memory.resize(m.card.n_layer);
        const int tiles = sh.bc_tiles + sh.d_inner_tiles;
        for (int l = 0; l < m.card.n_layer; ++l) {
            LayerMemory& mem = memory[l];
            mem.conv_state.assign(sh.conv_beats, Token{});
            mem.conv_weights.assign(sh.conv_beats, Token{});
            for (int k = 0; k < tiles; ++k) {
                mem.conv_state[k] = Token{std::vector<int64_t>(24, 0), std::vector<int>(3, 0)};
                Token w;
                const int ch0 = conv_channel[k], gi = ch0 / kGroup;
                for (int t = 0; t < 4; ++t) {
                    for (int i = 0; i < 8; ++i) w.v.push_back(L(l).conv_weight[static_cast<std::size_t>(t) * CD + ch0 + i]);
                    w.s.push_back(L(l).conv_weight_exp[static_cast<std::size_t>(t) * (CD / kGroup) + gi]);
                }
                for (int i = 0; i < 8; ++i) w.v.push_back(L(l).conv_bias[ch0 + i]);
                w.s.push_back(L(l).conv_bias_exp[gi]);
                mem.conv_weights[k] = w;
            }
            // SSM state: data beats of 32 values of h_q[n][ch], then beats of 64 exponents.
            mem.h.assign(sh.state_beats, Token{});
            const int64_t data = int64_t{N} * Di / 32;
            for (int64_t k = 0; k < data; ++k) mem.h[k].v.assign(32, 0);
            for (int64_t k = data; k < sh.state_beats; ++k) mem.h[k].s.assign(64, 0);
        }
    }

    // A GEMM weight beat (all masters' beats together): the output_lanes x input_lanes tile of
    // stored rows ol*o.. and columns il*i.., with the rows' (s1, s2) for the 128-column weight
    // group the tile lies in.
    Token weight_tile(int layer, int64_t j) const {
        const bool in = j < sh.in_proj_iterations;
        const PackedWeights& w = in ? L(layer).in_proj : L(layer).out_proj;
        const int64_t jj = in ? j : j - sh.in_proj_iterations;
        const int64_t inputs = in ? sh.in_proj_input_tokens : sh.out_proj_input_tokens;
        const int rows = d.mmu.output_lanes, cols = d.mmu.input_lanes;
        const int o = static_cast<int>(jj / inputs), i = static_cast<int>(jj % inputs);
        Token t;
        t.v.resize(static_cast<std::size_t>(rows) * cols);
        t.s.resize(2 * static_cast<std::size_t>(rows));
        const int grp = cols * i / kWeightGroup;
        for (int r = 0; r < rows; ++r) {
            const int row = rows * o + r;
            for (int c = 0; c < cols; ++c) t.v[r * cols + c] = row < w.rows ? w.value(row, cols * i + c) : 0;
            const std::size_t si = static_cast<std::size_t>(row) * w.groups() + grp;
            t.s[r] = row < w.rows ? w.s1[si] : 0;
            t.s[rows + r] = row < w.rows ? w.s2[si] : 0;
        }
        return t;
    }

    // ---- Kernels: one per block, in hardware order -----------------------------------------
    using Kernel = std::function<void(Exec&, const Phase&, Io&)>;

    Kernel kernel_for(const std::string& name) {
        if (name == "WEIGHT_PRODUCER" || name == "STATE_MASTER") return producer();
        if (name == "RESIDUAL") return residual();
        if (name == "RMSNORM_QUANT_1") return rmsnorm(false);
        if (name == "GEMM_MUX") return gemm_mux();
        if (name == "GEMM") return gemm();
        if (name == "QUANT_CONV") return quant_conv();
        if (name == "CONV_STATE") return conv_state();
        if (name == "CONV") return conv();
        if (name == "SILU_QUANT") return silu_quant();
        if (name == "DTADAPT") return dtadapt();
        if (name == "DTA") return dta();
        if (name == "EXP_QUANT") return exp_quant();
        if (name == "B_BUFFER" || name == "C_BUFFER") return replay_buffer();
        if (name == "DTB_QUANT") return dtb_quant();
        if (name == "DBU") return dbu();
        if (name == "DAH") return dah();
        if (name == "HT_ADD_QUANT") return ht_add_quant();
        if (name == "HT_STATE") return ht_state();
        if (name == "HTC_QUANT") return htc_quant();
        if (name == "UD") return ud();
        if (name == "YZ") return yz();
        if (name == "RMSNORM_QUANT_2") return rmsnorm(true);
        if (name == "HTU") return htu();
        if (name == "GEMM_DEMUX" && d.mmu.output_lanes > kTokenLanes) return wide_demux();
        // GEMM_DEMUX, SILU_MUX, SILU_DEMUX: routing only.
        // (A tile made of several narrower MMU outputs is their concatenation.)
        return [](Exec&, const Phase&, Io& io) {
            Token t;
            for (auto& v : io.in)
                for (const Token& x : v) {
                    t.v.insert(t.v.end(), x.v.begin(), x.v.end());
                    t.s.insert(t.s.end(), x.s.begin(), x.s.end());
                }
            for (std::size_t a = 0; a < io.out.size(); ++a)
                if (io.out_fired[a]) io.out[a].push_back(t);
        };
    }

    // The producer's beats carry all masters' data: a stream phase moves `count` 32-byte tokens
    // per beat (the masters in lock step), a "_tail" phase the rest of its stream.
    // GEMM_DEMUX behind an MMU wider than one tile: a GEMM token carries output_lanes / 8 tiles,
    // routed one per iteration.
    Kernel wide_demux() {
        auto last = std::make_shared<Token>();
        return [this, last](Exec&, const Phase&, Io& io) {
            const int tiles = d.mmu.output_lanes / kTokenLanes;
            if (!io.in[0].empty()) *last = io.in[0][0];
            const int64_t slice = io.in_iter % tiles;
            Token t;
            t.v.assign(last->v.begin() + kTokenLanes * slice, last->v.begin() + kTokenLanes * (slice + 1));
            for (std::size_t a = 0; a < io.out.size(); ++a)
                if (io.out_fired[a]) io.out[a].push_back(t);
        };
    }

    Kernel producer() {
        auto weight_beat = std::make_shared<int64_t>(0);
        auto token = std::make_shared<int64_t>(0);  // next token of the phase's stream
        auto last = std::make_shared<std::string>();
        return [this, weight_beat, token, last](Exec& e, const Phase& ph, Io& io) {
            LayerMemory& mem = memory[e.layer];
            if (e.iter == 0) {
                const bool tail = ph.name.size() > 5 && ph.name.compare(ph.name.size() - 5, 5, "_tail") == 0;
                if (!(tail && *last == ph.name.substr(0, ph.name.size() - 5))) *token = 0;
                *last = ph.name;
            }
            const std::string name = ph.name.substr(0, ph.name.rfind("_tail") == std::string::npos ? ph.name.size() : ph.name.rfind("_tail"));
            if (name == "read_weights") {
                if (e.iter == 0) *weight_beat = 0;
                if (io.out_fired[0]) io.out[0].push_back(Token{});  // scale beat (its data rides on the weight beats)
                if (io.out_fired[1]) io.out[1].push_back(weight_tile(e.layer, (*weight_beat)++));
                return;
            }
            const bool read = ph.kind == PhaseKind::MemRead;
            const int count = read ? ph.writes[0].count : ph.reads[0].count;
            for (int j = 0; j < count; ++j) {
                const int64_t k = (*token)++;
                if (name == "read_x") io.out[0].push_back(x_in[k]);
                else if (name == "read_conv_state") io.out[0].push_back(mem.conv_state[k]);
                else if (name == "read_conv_weights") io.out[0].push_back(mem.conv_weights[k]);
                else if (name == "read_ssm_state") io.out[0].push_back(mem.h[k]);
                else if (name == "write_conv_state") mem.conv_state[k] = io.in[0][j];
                else if (name == "write_ssm_state") mem.h[k] = io.in[0][j];
                else if (name == "write_y") y_out[k] = io.in[0][j];
            }
        };
    }

    Kernel residual() {
        auto buf = std::make_shared<std::vector<Token>>(sh.d_model_tiles);
        return [this, buf](Exec& e, const Phase& ph, Io& io) {
            const int64_t k = e.iter;
            if (ph.name == "load_x") (*buf)[k] = io.in[0][0];
            else if (ph.name == "emit" || ph.name == "store_y") io.out[0].push_back((*buf)[k]);
            else if (ph.name == "add") {
                for (int i = 0; i < 8; ++i) {
                    int64_t v = (*buf)[k].v[i] + io.in[0][0].v[i];
                    check_range(v, kActivationBits, "residual add");
                    (*buf)[k].v[i] = v;
                }
                if (k == sh.d_model_tiles - 1 && per_layer) {
                    std::vector<int32_t> r;
                    for (const Token& t : *buf)
                        for (int64_t v : t.v) r.push_back(static_cast<int32_t>(v));
                    per_layer->push_back(r);
                }
            }
        };
    }

    // RMSNORM_QUANT_1 / _2 in the hardware's order: the first pass keeps the tiles and
    // accumulates the sum of squares tile by tile (64-bit accumulator [C]); the second looks up
    // the reciprocal square root once and normalises, weights and quantizes tile by tile (or
    // emits the raw values into the HTU).
    Kernel rmsnorm(bool second) {
        const int n = second ? Di : D;
        struct S {
            std::vector<int64_t> x;
            int64_t sum = 0, rsqrt = 0;
        };
        auto st = std::make_shared<S>();
        st->x.resize(n);
        return [this, second, st](Exec& e, const Phase& ph, Io& io) {
            const int64_t k = e.iter;
            const char* what = second ? "rmsnorm2 sum of squares" : "rmsnorm1 sum of squares";
            if (ph.name == "sum_squares") {
                if (k == 0) st->sum = 0;
                for (int i = 0; i < 8; ++i) {
                    const int64_t v = io.in[0][0].v[i];
                    st->x[8 * k + i] = v;
                    if (v * v > INT64_MAX - st->sum) throw_range(what, INT64_MAX, 64);
                    st->sum += v * v;
                }
                return;
            }
            const RsqrtLut& lut = second ? m.luts.rsqrt2 : m.luts.rsqrt1;
            const std::vector<int32_t>& w = second ? L(e.layer).norm2_weight : L(e.layer).norm1_weight;
            if (k == 0) st->rsqrt = lut.lookup(st->sum);
            int64_t y[8];
            for (int i = 0; i < 8; ++i) {
                const int64_t xr = (st->x[8 * k + i] * st->rsqrt) >> kRsqrtShift1;
                y[i] = (xr * w[8 * k + i]) >> kNormWeightShift;
            }
            if (second && d.htu_enabled)
                io.out[0].push_back(Token{std::vector<int64_t>(y, y + 8), {}});
            else
                io.out[0].push_back(quantized(y, abits, second ? "rmsnorm2 output" : "rmsnorm1 output"));
        };
    }

    // GEMM_BUFFER: holds the input vector's 8-lane tiles; a replayed token is the MMU's
    // input_lanes / 8 consecutive tiles (values, then one exponent per tile).
    Kernel gemm_mux() {
        auto buf = std::make_shared<std::vector<Token>>();
        return [this, buf](Exec& e, const Phase& ph, Io& io) {
            if (ph.name == "load_in_proj" || ph.name == "load_out_proj") {
                if (e.iter == 0) buf->clear();
                buf->push_back(io.in[0][0]);
            } else {
                const int64_t tiles = d.mmu.input_lanes / kTokenLanes;
                const int64_t inputs = static_cast<int64_t>(buf->size()) / tiles;
                const int64_t first = (e.iter % inputs) * tiles;
                Token t;
                for (int64_t k = first; k < first + tiles; ++k) {
                    t.v.insert(t.v.end(), (*buf)[k].v.begin(), (*buf)[k].v.end());
                    t.s.insert(t.s.end(), (*buf)[k].s.begin(), (*buf)[k].s.end());
                }
                io.out[0].push_back(std::move(t));
            }
        };
    }

    Kernel gemm() {
        auto acc = std::make_shared<std::vector<int64_t>>(d.mmu.output_lanes, 0);
        auto dot = std::make_shared<std::vector<int64_t>>(d.mmu.output_lanes, 0);
        return [this, acc, dot](Exec&, const Phase& ph, Io& io) {
            const bool in = ph.name == "in_proj";
            const int64_t inputs = in ? sh.in_proj_input_tokens : sh.out_proj_input_tokens;
            const Token& x = io.in[0][0];
            const Token& w = io.in[1][0];
            const int64_t i = io.in_iter % inputs;
            const char* what = in ? "in_proj accumulator" : "out_proj accumulator";
            const int acc_bits = m.spec.gemm_acc_bits();
            const int rows = d.mmu.output_lanes, cols = d.mmu.input_lanes;
            if (i == 0) std::fill(acc->begin(), acc->end(), 0), std::fill(dot->begin(), dot->end(), 0);
            for (int r = 0; r < rows; ++r) {
                int64_t s = 0;
                for (int c = 0; c < cols; ++c) s += w.v[r * cols + c] * shl(x.v[c], x.s[c / kQuantGroup]);
                (*dot)[r] += s;
            }
            // End of a 128-input weight group: scale by (2^s1 + 2^s2) and accumulate.
            if ((i + 1) % (kWeightGroup / cols) == 0 || i == inputs - 1)
                for (int r = 0; r < rows; ++r) {
                    (*acc)[r] += (*dot)[r] * ((int64_t{1} << w.s[r]) + (int64_t{1} << w.s[rows + r]));
                    if (abs64((*acc)[r]) > max_signed(acc_bits)) throw_range(what, (*acc)[r], acc_bits);
                    (*dot)[r] = 0;
                }
            if (io.out_fired[0]) {
                Token t;
                const int shift = in ? m.spec.in_proj_shift() : m.spec.out_proj_shift();
                for (int r = 0; r < rows; ++r) {
                    int64_t y = (*acc)[r] >> shift;
                    check_range(y, kActivationBits, what);
                    t.v.push_back(y);
                }
                io.out[0].push_back(t);
            }
        };
    }

    Kernel quant_conv() {
        return [](Exec&, const Phase&, Io& io) {
            io.out[0].push_back(quantized(io.in[0][0].v.data(), 8, "xBC before conv"));
        };
    }

    // CONV_STATE as built: per tile, taps 0..2 serve the stored columns with their weights;
    // tap 3 reads the quantized new column from QUANT_CONV, serves it with tap 3's weights and
    // the bias, and shifts it into the state.
    Kernel conv_state() {
        struct S {
            std::vector<Token> state, weights;
        };
        auto st = std::make_shared<S>();
        return [this, st](Exec& e, const Phase& ph, Io& io) {
            if (ph.name == "load") {
                if (e.iter == 0) {
                    st->state.clear();
                    st->weights.clear();
                }
                if (e.iter < sh.conv_beats) st->state.push_back(io.in[0][0]);
                else st->weights.push_back(io.in[0][0]);
                return;
            }
            if (ph.name == "store") {
                io.out[0].push_back(st->state[e.iter]);
                return;
            }
            const int64_t tile = e.iter / 4, dd = e.iter % 4;
            const Token& w = st->weights[tile];
            Token t;
            if (dd < 3) {
                const Token& s = st->state[tile];
                t.v.assign(s.v.begin() + 8 * dd, s.v.begin() + 8 * dd + 8);
                t.v.insert(t.v.end(), w.v.begin() + 8 * dd, w.v.begin() + 8 * dd + 8);
                t.s = {s.s[dd], w.s[dd]};
            } else {
                const Token& x = io.in[0][0];
                t.v.assign(x.v.begin(), x.v.end());
                t.v.insert(t.v.end(), w.v.begin() + 24, w.v.begin() + 40);  // tap 3 weights, then the bias
                t.s = {x.s[0], w.s[3], w.s[4]};
                Token& s = st->state[tile];
                for (int i = 0; i < 16; ++i) s.v[i] = s.v[i + 8];
                for (int i = 0; i < 8; ++i) s.v[16 + i] = x.v[i];
                s.s = {s.s[1], s.s[2], x.s[0]};
            }
            io.out[0].push_back(t);
        };
    }

    Kernel conv() {
        return [](Exec&, const Phase&, Io& io) {
            const std::vector<Token>& taps = io.in[0];
            const Token& t3 = taps[3];  // the new column, tap 3's weights, the bias
            Token out;
            for (int i = 0; i < 8; ++i) {
                int64_t acc = shl(t3.v[16 + i], t3.s[2]);  // bias
                for (int dd = 0; dd < 3; ++dd) {
                    acc += shl(taps[dd].v[i] * taps[dd].v[8 + i], taps[dd].s[0] + taps[dd].s[1]);
                    check_range(acc, kProductBits, "conv accumulator");
                }
                acc += shl(t3.v[i] * t3.v[8 + i], t3.s[0] + t3.s[1]);
                check_range(acc, kProductBits, "conv accumulator");
                int64_t y = acc >> kConvShift;
                check_range(y, kActivationBits, "conv output");
                out.v.push_back(y);
            }
            io.out[0].push_back(out);
        };
    }

    Kernel silu_quant() {
        return [this](Exec&, const Phase&, Io& io) {
            int64_t v[8];
            for (int i = 0; i < 8; ++i) v[i] = m.luts.silu.lookup(io.in[0][0].v[i]);
            io.out[0].push_back(quantized(v, 8, "SiLU output"));
        };
    }

    Kernel dtadapt() {
        return [this](Exec& e, const Phase&, Io& io) {
            const int grp = static_cast<int>(e.iter);
            int64_t sp[8];
            for (int i = 0; i < 8; ++i) {
                const int h = 8 * grp + i;
                int64_t v = io.in[0][0].v[i] + shl(static_cast<int64_t>(L(e.layer).dt_bias[h]), L(e.layer).dt_bias_exp[grp]);
                check_range(v, kActivationBits, "dt + bias");
                sp[i] = m.luts.softplus.lookup(v);
            }
            Token t = quantized(sp, 8, "softplus output");
            io.out[0].push_back(t);
            io.out[1].push_back(t);
        };
    }

    Kernel dta() {
        return [this](Exec& e, const Phase&, Io& io) {
            const int grp = static_cast<int>(e.iter);
            const Token& dt = io.in[0][0];
            Token t;
            for (int i = 0; i < 8; ++i) {
                const int h = 8 * grp + i;
                t.v.push_back(shifted_product(dt.v[i], L(e.layer).A[h], dt.s[0] + L(e.layer).A_exp[grp], kDtAShift,
                                              kProductBits, "dt*A"));
            }
            io.out[0].push_back(t);
        };
    }

    Kernel exp_quant() {
        return [this](Exec&, const Phase&, Io& io) {
            int64_t v[8];
            for (int i = 0; i < 8; ++i) v[i] = m.luts.exp.lookup(io.in[0][0].v[i]);
            io.out[0].push_back(quantized(v, 8, "exp output"));
        };
    }

    // B_BUFFER / C_BUFFER: the replay moves `count` tokens per iteration (a widened SSM unit).
    Kernel replay_buffer() {
        auto buf = std::make_shared<std::vector<Token>>();
        return [buf](Exec& e, const Phase& ph, Io& io) {
            if (ph.name == "load") {
                if (e.iter == 0) buf->clear();
                buf->push_back(io.in[0][0]);
            } else {
                const int64_t count = ph.writes[0].count;
                for (int64_t j = 0; j < count; ++j)
                    io.out[0].push_back((*buf)[(e.iter * count + j) % static_cast<int64_t>(buf->size())]);
            }
        };
    }

    Kernel dtb_quant() {
        auto dt = std::make_shared<Token>();
        auto b = std::make_shared<Token>();
        return [this, dt, b](Exec& e, const Phase&, Io& io) {
            if (!io.in[0].empty()) *dt = io.in[0][0];
            std::size_t next_b = 0;
            for (int j = 0; j < sh.ssm_tokens_per_iteration; ++j) {
                const int n = static_cast<int>((e.iter * sh.ssm_tokens_per_iteration + j) % N);
                if (n % kTokenLanes == 0 && next_b < io.in[1].size()) *b = io.in[1][next_b++];
                int64_t v[kTokenLanes];
                for (int i = 0; i < kTokenLanes; ++i) {
                    v[i] = shl(dt->v[i] * b->v[n % kTokenLanes], dt->s[0] + b->s[0]);
                    check_range(v[i], kProductBits, "dt*B");
                }
                io.out[0].push_back(quantized(v, 8, "dB"));
            }
        };
    }

    // Position in the SSM loop nest: group, head in the group, p-tile, n.
    struct SsmPos {
        int grp, head, pt, n;
    };
    SsmPos ssm_pos(int64_t i) const {
        const int64_t per_tile = N, per_head = per_tile * sh.headdim_tiles, per_group = per_head * 8;
        SsmPos p;
        p.grp = static_cast<int>(i / per_group);
        const int64_t w = i % per_group;
        p.head = static_cast<int>(w / per_head);
        p.pt = static_cast<int>((w % per_head) / per_tile);
        p.n = static_cast<int>(w % per_tile);
        return p;
    }

    Kernel dbu() {
        auto cache = std::make_shared<std::vector<Token>>(N);
        auto u = std::make_shared<Token>();
        return [this, cache, u](Exec& e, const Phase&, Io& io) {
            if (!io.in[1].empty()) *u = io.in[1][0];
            for (int j = 0; j < sh.ssm_tokens_per_iteration; ++j) {
                const SsmPos p = ssm_pos(e.iter * sh.ssm_tokens_per_iteration + j);
                if (!io.in[0].empty()) (*cache)[p.n] = io.in[0][j];
                const Token& db = (*cache)[p.n];
                Token t;
                for (int i = 0; i < kTokenLanes; ++i) {
                    int64_t q2 = shl(db.v[p.head] * u->v[i], db.s[0] + u->s[0]);
                    check_range(q2, kDbuProductBits, "dB*x");
                    t.v.push_back(q2 >> kDbuShift);
                }
                io.out[0].push_back(t);
            }
        };
    }

    Kernel dah() {
        auto da = std::make_shared<Token>();
        return [this, da](Exec& e, const Phase&, Io& io) {
            if (!io.in[0].empty()) *da = io.in[0][0];
            for (int j = 0; j < sh.ssm_tokens_per_iteration; ++j) {
                const SsmPos p = ssm_pos(e.iter * sh.ssm_tokens_per_iteration + j);
                const Token& h = io.in[1][j];
                Token t;
                for (int i = 0; i < kTokenLanes; ++i) {
                    int64_t q1 = shl(da->v[p.head] * h.v[i], da->s[0] + h.s[0]);
                    check_range(q1, kProductBits, "dA*h");
                    t.v.push_back(q1 >> kDahShift);
                }
                io.out[0].push_back(t);
            }
        };
    }

    Kernel ht_add_quant() {
        auto tile = std::make_shared<std::vector<int64_t>>(64);
        return [this, tile](Exec& e, const Phase&, Io& io) {
            for (int j = 0; j < sh.ssm_tokens_per_iteration; ++j) {
                const SsmPos p = ssm_pos(e.iter * sh.ssm_tokens_per_iteration + j);
                int64_t h[kTokenLanes];
                for (int i = 0; i < kTokenLanes; ++i) {
                    h[i] = io.in[0][j].v[i] + io.in[1][j].v[i];
                    check_range(h[i], kActivationBits, "h = dA*h + dB*x");
                    (*tile)[(p.n % kTransposeTile) * kTokenLanes + i] = h[i];
                }
                io.out[0].push_back(quantized(h, 8, "h (layout 1)"));
                // The tile's last n: its 8 columns (channels), each along n.
                if (p.n % kTransposeTile == kTransposeTile - 1 && io.out_fired[1])
                    for (int ch = 0; ch < kTokenLanes; ++ch) {
                        int64_t col[kTransposeTile];
                        for (int k = 0; k < kTransposeTile; ++k) col[k] = (*tile)[k * kTokenLanes + ch];
                        io.out[1].push_back(quantized(col, 8, "h (layout 2)"));
                    }
            }
        };
    }

    Kernel ht_state() {
        struct S {
            std::vector<int64_t> hq;
            std::vector<int> hs;
        };
        auto st = std::make_shared<S>();
        auto beat = std::make_shared<int64_t>(0);  // next state beat of the load or store
        return [this, st, beat](Exec& e, const Phase& ph, Io& io) {
            const int64_t data = int64_t{N} * Di / 32;
            const bool load = ph.name == "load" || ph.name == "load_tail";
            if (load || ph.name == "store" || ph.name == "store_tail") {
                if ((ph.name == "load" || ph.name == "store") && e.iter == 0) *beat = 0;
                if (load && *beat == 0) {
                    st->hq.assign(static_cast<std::size_t>(N) * Di, 0);
                    st->hs.assign(static_cast<std::size_t>(N) * Di / 8, 0);
                }
                const int count = load ? ph.reads[0].count : ph.writes[0].count;
                for (int j = 0; j < count; ++j) {
                    const int64_t k = (*beat)++;
                    Token t;
                    if (k < data) {
                        if (load) std::copy(io.in[0][j].v.begin(), io.in[0][j].v.end(), st->hq.begin() + 32 * k);
                        else t.v.assign(st->hq.begin() + 32 * k, st->hq.begin() + 32 * k + 32);
                    } else {
                        const int64_t off = 64 * (k - data);
                        if (load) std::copy(io.in[0][j].s.begin(), io.in[0][j].s.end(), st->hs.begin() + off);
                        else t.s.assign(st->hs.begin() + off, st->hs.begin() + off + 64);
                    }
                    if (!load) io.out[0].push_back(t);
                }
                return;
            }
            // exchange: per channel tile, N h(t-1) vectors out, then N h(t) back, k per iteration.
            const int kk = sh.ssm_tokens_per_iteration;
            const int64_t tile_iters = N / kk, it = e.iter;
            const int64_t ct = it / (2 * tile_iters), r = (it / tile_iters) % 2;
            for (int j = 0; j < kk; ++j) {
                const int64_t n = (it % tile_iters) * kk + j;
                const std::size_t base = static_cast<std::size_t>(n) * Di + kTokenLanes * ct;
                const std::size_t si = static_cast<std::size_t>(n) * (Di / kQuantGroup) + ct;
                if (r == 0) {
                    Token t;
                    t.v.assign(st->hq.begin() + base, st->hq.begin() + base + kTokenLanes);
                    t.s = {st->hs[si]};
                    io.out[0].push_back(t);
                } else {
                    std::copy(io.in[0][j].v.begin(), io.in[0][j].v.end(), st->hq.begin() + base);
                    st->hs[si] = io.in[0][j].s[0];
                }
            }
        };
    }

    Kernel ud() {
        return [this](Exec& e, const Phase&, Io& io) {
            const Token& u = io.in[0][0];
            const int h = static_cast<int>(8 * e.iter / P);
            Token t;
            for (int i = 0; i < 8; ++i)
                t.v.push_back(shifted_product(u.v[i], L(e.layer).D[h], u.s[0] + L(e.layer).D_exp[h / 8], kUdShift,
                                              kProductBits, "x*D"));
            io.out[0].push_back(t);
        };
    }

    Kernel htc_quant() {
        auto acc = std::make_shared<std::vector<int64_t>>(8, 0);
        auto c = std::make_shared<Token>();
        return [this, acc, c](Exec& e, const Phase&, Io& io) {
            // k transposed-h tokens per iteration; a C token opens every 8 of them.
            std::size_t next_c = 0;
            for (int j = 0; j < sh.ssm_tokens_per_iteration; ++j) {
                const int64_t il = (e.iter * sh.ssm_tokens_per_iteration + j) % N;
                const int ch = static_cast<int>(il % kTokenLanes);
                if (il == 0) std::fill(acc->begin(), acc->end(), 0);
                if (ch == 0 && next_c < io.in[1].size()) *c = io.in[1][next_c++];
                const Token& h2 = io.in[0][j];
                int64_t accg = 0;
                for (int k = 0; k < kTransposeTile; ++k) accg += h2.v[k] * c->v[k];
                (*acc)[ch] += shl(accg, h2.s[0] + c->s[0]);
                check_range((*acc)[ch], kHtcAccBits, "h*C accumulator");
            }
            if (io.out_fired[0]) {
                const Token& xd = io.in[2][0];
                int64_t y[8];
                for (int i = 0; i < 8; ++i) {
                    int64_t htc = (*acc)[i] >> kHtcShift;
                    check_range(htc, kActivationBits, "h*C");
                    y[i] = htc + xd.v[i];
                    check_range(y[i], kActivationBits, "y = h*C + x*D");
                }
                io.out[0].push_back(quantized(y, 8, "y"));
            }
        };
    }

    Kernel yz() {
        return [](Exec&, const Phase&, Io& io) {
            const Token& y = io.in[0][0];
            const Token& z = io.in[1][0];
            Token t;
            for (int i = 0; i < 8; ++i)
                t.v.push_back(shifted_product(y.v[i], z.v[i], y.s[0] + z.s[0], kYzShift, kProductBits, "y*z"));
            io.out[0].push_back(t);
        };
    }

    // The HTU in its own order (the paper's 128-point FHT + a dense +-1 stage across the 40
    // blocks of 128): 7 butterfly stages within each block of F = min(128, 2^m) elements, then
    // the dense stage on column b of the n / F blocks with the matrix H_K (x) H_(2^m / F) --
    // the same matrix as the golden model's H_K (x) H_(2^m), since the Sylvester H_(2^m) is
    // H_(2^m / F) (x) H_F on the index c * F + b.
    Kernel htu() {
        auto buf = std::make_shared<std::vector<int64_t>>();
        const HadamardShape shape = hadamard_shape(Di);
        const int F = std::min(kHtuButterflyPoints, shape.butterfly), blocks = Di / F;
        auto dense = std::make_shared<std::vector<int8_t>>(
            kron_pm1(hadamard_dense(shape.dense), shape.dense, hadamard_matrix(shape.butterfly / F), shape.butterfly / F));
        return [this, buf, F, blocks, dense](Exec& e, const Phase& ph, Io& io) {
            if (ph.name == "load") {
                if (e.iter == 0) buf->clear();
                buf->insert(buf->end(), io.in[0][0].v.begin(), io.in[0][0].v.end());
            } else if (ph.name == "emit") {
                if (e.iter == 0) {
                    std::vector<int64_t>& v = *buf;
                    for (int blk = 0; blk < blocks; ++blk)
                        for (int len = 1; len < F; len <<= 1)  // one butterfly stage
                            for (int i = 0; i < F; i += 2 * len)
                                for (int j = blk * F + i; j < blk * F + i + len; ++j) {
                                    const int64_t a = v[j], b = v[j + len];
                                    v[j] = a + b;
                                    v[j + len] = a - b;
                                }
                    std::vector<int64_t> col(blocks);
                    for (int b = 0; b < F; ++b) {
                        for (int r = 0; r < blocks; ++r) {
                            int64_t acc = 0;
                            for (int c = 0; c < blocks; ++c)
                                acc += (*dense)[static_cast<std::size_t>(r) * blocks + c] * v[static_cast<std::size_t>(c) * F + b];
                            col[r] = acc;
                        }
                        for (int r = 0; r < blocks; ++r) v[static_cast<std::size_t>(r) * F + b] = col[r];
                    }
                    for (auto& x : v) x >>= L(e.layer).online_hadamard_shift;
                }
                io.out[0].push_back(quantized(&(*buf)[8 * e.iter], abits, "rmsnorm2 output"));
            }
        };
    }

    // ---- The scheduler: any order the FIFOs allow (data does not depend on it) -------------
    bool enter(Exec& e) {
        const auto& phases = e.p->phases;
        while (true) {
            if (e.layer >= g.layers) return false;
            if (e.phase >= phases.size()) {
                ++e.layer;
                e.phase = 0;
                e.entered = false;
                continue;
            }
            const Phase& ph = phases[e.phase];
            if (!e.entered) {
                if (!phase_applies(ph, e.layer, g.layers) || ph.trips == 0) {
                    ++e.phase;
                    continue;
                }
                e.entered = true;
                e.iter = 0;
                e.rpos.assign(ph.reads.size(), 0);
                e.wpos.assign(ph.writes.size(), 0);
            }
            if (e.iter < ph.trips) return true;
            ++e.phase;
            e.entered = false;
        }
    }

    // Runs one iteration if its inputs are there; false otherwise.
    bool iterate(Exec& e, Io& io) {
        if (!enter(e)) return false;
        const Phase& ph = e.p->phases[e.phase];
        for (std::size_t a = 0; a < ph.reads.size(); ++a)
            if (fires(ph.reads[a], e.rpos[a]) && q[ph.reads[a].fifo].size() < static_cast<std::size_t>(ph.reads[a].count))
                return false;
        io.in.assign(ph.reads.size(), {});
        io.out.assign(ph.writes.size(), {});
        io.out_fired.assign(ph.writes.size(), false);
        for (std::size_t a = 0; a < ph.reads.size(); ++a)
            if (fires(ph.reads[a], e.rpos[a]))
                for (int c = 0; c < ph.reads[a].count; ++c) {
                    io.in[a].push_back(std::move(q[ph.reads[a].fifo].front()));
                    q[ph.reads[a].fifo].pop_front();
                }
        for (std::size_t a = 0; a < ph.writes.size(); ++a) io.out_fired[a] = fires(ph.writes[a], e.wpos[a]);
        io.in_iter = e.iter;
        e.kernel(e, ph, io);
        for (std::size_t a = 0; a < ph.writes.size(); ++a) {
            const std::size_t want = io.out_fired[a] ? static_cast<std::size_t>(ph.writes[a].count) : 0;
            if (io.out[a].size() != want)
                throw std::logic_error(fmt::format("{} phase {}: {} tokens for FIFO {}, expected {}", e.p->name, ph.name,
                                                   io.out[a].size(), g.fifos[ph.writes[a].fifo].name, want));
            const int f = ph.writes[a].fifo;
            if (observer) {
                if (push_layer[f] != e.layer) push_layer[f] = e.layer, push_seq[f] = 0;
                for (const Token& t : io.out[a]) observer(f, e.layer, push_seq[f]++, t.v, t.s);
            }
            for (Token& t : io.out[a]) q[f].push_back(std::move(t));
            moved += static_cast<int64_t>(want);
        }
        for (std::size_t a = 0; a < ph.reads.size(); ++a)
            if (++e.rpos[a] == ph.reads[a].period) e.rpos[a] = 0;
        for (std::size_t a = 0; a < ph.writes.size(); ++a)
            if (++e.wpos[a] == ph.writes[a].period) e.wpos[a] = 0;
        ++e.iter;
        return true;
    }

    std::vector<int32_t> step(const std::vector<int32_t>& x) {
        x_in.clear();
        for (int k = 0; k < sh.d_model_tiles; ++k) x_in.push_back(Token{std::vector<int64_t>(x.begin() + 8 * k, x.begin() + 8 * k + 8), {}});
        y_out.assign(sh.x_beats, Token{});
        push_layer.assign(g.fifos.size(), -1);
        push_seq.assign(g.fifos.size(), 0);
        for (Exec& e : blocks) {
            e.layer = 0;
            e.phase = 0;
            e.entered = false;
        }
        Io io;
        while (true) {
            bool progress = false, all_done = true;
            for (Exec& e : blocks) {
                while (iterate(e, io)) progress = true;
                if (e.layer < g.layers) all_done = false;
            }
            if (all_done) break;
            if (!progress) {
                std::string stuck;
                for (Exec& e : blocks)
                    if (e.layer < g.layers) stuck += fmt::format(" {} (layer {}, phase {})", e.p->name, e.layer, e.p->phases[e.phase].name);
                throw std::logic_error("functional datapath: no block can run:" + stuck);
            }
        }
        std::vector<int32_t> y;
        for (const Token& t : y_out)
            for (int64_t v : t.v) y.push_back(static_cast<int32_t>(v));
        return y;
    }
};

void FunctionalDatapath::check_design(const QuantSpec& spec, const DesignConfig& d, const ModelCard& card) {
    // An MMU input token spans whole activation groups and lies in one 128-column weight group.
    if (kWeightGroup % d.mmu.input_lanes != 0)
        throw InputError(fmt::format("--functional: design.mmu.input_lanes {} must divide the weight group of {} columns "
                                     "(8, 16, 32, 64 or 128), so that one input token has one weight scale per row",
                                     d.mmu.input_lanes, kWeightGroup));
    if (card.d_model % d.mmu.input_lanes != 0 || card.d_inner() % d.mmu.input_lanes != 0)
        throw InputError(fmt::format("--functional: design.mmu.input_lanes {} does not divide {}'s d_model {} and d_inner {} "
                                     "(the functional MMU has no padded input token)",
                                     d.mmu.input_lanes, card.name, card.d_model, card.d_inner()));
    if (spec.precision != (d.precision == "w8a8" ? Precision::W8A8 : Precision::W4A4))
        throw InputError("--functional: the quantized model's precision differs from design.precision");
    if (spec.reorder != d.reorder)
        throw InputError(fmt::format("--functional: the model's in_proj rows are {} but design.reorder is {}",
                                     spec.reorder ? "reordered" : "in natural order", d.reorder));
    if (d.state_residency != "dram")
        throw InputError("--functional: the SSM state is modelled through DRAM only (design.state_residency=dram)");
    if ((spec.rotation == Rotation::OfflineOnline) != d.htu_enabled)
        throw InputError("--functional: the online Hadamard of the quantized model needs design.htu.enabled=true, and only then");
}

FunctionalDatapath::FunctionalDatapath(const DataflowGraph& graph, const QuantizedModel& model, const DesignConfig& design)
    : impl_(std::make_unique<Impl>(graph, model, design)) {}

FunctionalDatapath::~FunctionalDatapath() = default;

std::vector<int32_t> FunctionalDatapath::step(const std::vector<int32_t>& x, std::vector<std::vector<int32_t>>* per_layer) {
    impl_->per_layer = per_layer;
    std::vector<int32_t> y = impl_->step(x);
    impl_->per_layer = nullptr;
    return y;
}

int64_t FunctionalDatapath::tokens_moved() const { return impl_->moved; }

void FunctionalDatapath::set_push_observer(PushObserver observer) { impl_->observer = std::move(observer); }

}  // namespace lmsim::hw
