#include "model/ptq.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "golden/hadamard.h"

namespace lmsim {

const char* to_string(Precision p) { return p == Precision::W4A4 ? "w4a4" : "w8a8"; }
const char* to_string(Rotation r) {
    return r == Rotation::None ? "none" : (r == Rotation::Offline ? "offline" : "offline+online");
}
Precision parse_precision(const std::string& s) {
    if (s == "w4a4" || s == "W4A4") return Precision::W4A4;
    if (s == "w8a8" || s == "W8A8") return Precision::W8A8;
    throw InputError(fmt::format("unknown precision '{}' (expected fp32, w8a8 or w4a4)", s));
}
Rotation parse_rotation(const std::string& s) {
    if (s == "none") return Rotation::None;
    if (s == "offline") return Rotation::Offline;
    if (s == "offline+online") return Rotation::OfflineOnline;
    throw InputError(fmt::format("unknown rotation '{}' (expected none, offline or offline+online)", s));
}

std::size_t QuantizedModel::weight_bytes() const {
    std::size_t b = 0;
    for (const auto& l : layers) b += l.in_proj.bytes() + l.out_proj.bytes();
    return b;
}

void check_hardware_dims(const ModelCard& c) {
    auto need = [&](bool ok, const std::string& what) {
        if (!ok)
            throw InputError(fmt::format("model '{}' does not fit LightMamba's tiling: {}", c.name, what));
    };
    need(c.ngroups == 1, fmt::format("ngroups is {}, the SSM unit shares one B and C (ngroups 1)", c.ngroups));
    need(c.d_model % fx::kWeightGroup == 0, fmt::format("d_model {} is not a multiple of 128", c.d_model));
    need(c.d_inner() % fx::kWeightGroup == 0, fmt::format("d_inner {} is not a multiple of 128", c.d_inner()));
    need(c.nheads() % fx::kGroup == 0, fmt::format("nheads {} is not a multiple of 8", c.nheads()));
    need(c.headdim % fx::kGroup == 0, fmt::format("headdim {} is not a multiple of 8", c.headdim));
    need(c.d_state % fx::kGroup == 0, fmt::format("d_state {} is not a multiple of 8", c.d_state));
    need(c.d_conv == 4, fmt::format("d_conv is {}, the conv unit has 4 taps", c.d_conv));
}

std::vector<int32_t> reordered_in_proj_rows(const ModelCard& c) {
    const int Di = c.d_inner(), N = c.d_state, H = c.nheads(), P = c.headdim, G = fx::kGroup;
    const int x0 = Di, b0 = 2 * Di, c0 = 2 * Di + N, dt0 = 2 * Di + 2 * N;
    std::vector<int32_t> rows;
    for (int n = 0; n < N; ++n) rows.push_back(b0 + n);
    for (int n = 0; n < N; ++n) rows.push_back(c0 + n);
    for (int hg = 0; hg < H / G; ++hg) {
        for (int h = 0; h < G; ++h) rows.push_back(dt0 + hg * G + h);
        const int base = hg * G * P;  // first channel of the head group
        for (int t = 0; t < G * P / G; ++t) {
            for (int i = 0; i < G; ++i) rows.push_back(x0 + base + t * G + i);
            for (int i = 0; i < G; ++i) rows.push_back(base + t * G + i);
        }
    }
    return rows;
}

void Rotation1D::apply(float* v) const {
    for (int i = 0; i < n; ++i) v[i] *= signs[i];
    hadamard_transform(v, n);
    const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(n)));
    for (int i = 0; i < n; ++i) v[i] *= inv;
}

Rotation1D make_rotation(int n, uint64_t seed) {
    hadamard_shape(n);  // throws when no Hadamard of this size exists
    Rotation1D r;
    r.n = n;
    Rng rng(mix_seed(seed, static_cast<uint64_t>(n)));
    for (int i = 0; i < n; ++i) r.signs.push_back((rng.next_u64() >> 63) ? -1.0f : 1.0f);
    return r;
}

namespace {

// All distinct two-hot scales 2^a + 2^b (a <= b <= 7), ascending, with their exponents.
struct TwoHot {
    int scale;
    uint8_t s1, s2;
};
const std::vector<TwoHot>& two_hot_scales() {
    static const std::vector<TwoHot> table = [] {
        std::vector<TwoHot> t;
        for (int a = 0; a <= fx::kMaxWeightExponent; ++a)
            for (int b = a; b <= fx::kMaxWeightExponent; ++b)
                t.push_back({(1 << a) + (1 << b), static_cast<uint8_t>(a), static_cast<uint8_t>(b)});
        std::sort(t.begin(), t.end(), [](const TwoHot& x, const TwoHot& y) { return x.scale < y.scale; });
        return t;
    }();
    return table;
}

}  // namespace

double quantize_weight_group(const double* w, int n, int bits, int8_t* q, uint8_t* s1, uint8_t* s2) {
    const int qmax = (1 << (bits - 1)) - 1, qmin = -qmax - 1;
    double absmax = 0;
    for (int i = 0; i < n; ++i) absmax = std::max(absmax, std::fabs(w[i]));
    const auto& scales = two_hot_scales();
    // Exact search over all pairs, starting at the no-clipping scale and walking outwards in
    // both directions, abandoning a candidate as soon as its partial error exceeds the best so
    // far (same result as brute force, far fewer operations).
    const double threshold = absmax / (qmax + 0.5);
    const int count = static_cast<int>(scales.size());
    int up = 0;
    while (up < count && scales[up].scale < threshold) ++up;
    int down = up - 1;
    double best = INFINITY;
    int best_i = std::min(up, count - 1);
    auto try_scale = [&](int i) {
        const double s = scales[i].scale;
        double err = 0;
        for (int k = 0; k < n && err < best; ++k) {
            double qv = std::clamp(std::nearbyint(w[k] / s), double(qmin), double(qmax));
            err += (w[k] - qv * s) * (w[k] - qv * s);
        }
        if (err < best) best = err, best_i = i;
    };
    while (up < count || down >= 0) {
        if (up < count) try_scale(up++);
        if (down >= 0) try_scale(down--);
    }
    const TwoHot& t = scales[best_i];
    for (int k = 0; k < n; ++k)
        q[k] = static_cast<int8_t>(std::clamp(std::nearbyint(w[k] / t.scale), double(qmin), double(qmax)));
    *s1 = t.s1;
    *s2 = t.s2;
    double err = 0;
    for (int k = 0; k < n; ++k) err += (w[k] - q[k] * t.scale) * (w[k] - q[k] * t.scale);
    return err;
}

uint8_t quantize_pot_group(const double* values, int n, int frac, int bits, int max_exp, int32_t* q) {
    const double qmax = std::ldexp(1.0, bits - 1) - 1, qmin = -qmax - 1;
    double absmax = 0;
    for (int i = 0; i < n; ++i) absmax = std::max(absmax, std::fabs(std::ldexp(values[i], frac)));
    int s = 0;
    while (s < max_exp && std::nearbyint(std::ldexp(absmax, -s)) > qmax) ++s;
    for (int i = 0; i < n; ++i)
        q[i] = static_cast<int32_t>(std::clamp(std::nearbyint(std::ldexp(values[i], frac - s)), qmin, qmax));
    return static_cast<uint8_t>(s);
}

PackedWeights pack_weights(const std::vector<float>& w, int rows, int cols, int bits, int frac,
                           double* sq_error) {
    PackedWeights p;
    p.rows = rows;
    p.cols = cols;
    p.bits = bits;
    const int G = fx::kWeightGroup, groups = cols / G;
    p.data.assign(bits == 4 ? (static_cast<std::size_t>(rows) * cols + 1) / 2
                            : static_cast<std::size_t>(rows) * cols, 0);
    p.s1.resize(static_cast<std::size_t>(rows) * groups);
    p.s2.resize(p.s1.size());
    std::vector<double> units(G);
    std::vector<int8_t> q(G);
    const double to_units = std::ldexp(1.0, frac);
    double err = 0;
    for (int r = 0; r < rows; ++r)
        for (int g = 0; g < groups; ++g) {
            const float* src = &w[static_cast<std::size_t>(r) * cols + g * G];
            for (int k = 0; k < G; ++k) units[k] = src[k] * to_units;
            std::size_t si = static_cast<std::size_t>(r) * groups + g;
            err += quantize_weight_group(units.data(), G, bits, q.data(), &p.s1[si], &p.s2[si]);
            for (int k = 0; k < G; ++k) {
                std::size_t i = static_cast<std::size_t>(r) * cols + g * G + k;
                if (bits == 8) {
                    p.data[i] = static_cast<uint8_t>(q[k]);
                } else {
                    uint8_t nib = static_cast<uint8_t>(q[k]) & 0xf;
                    p.data[i / 2] |= (i & 1) ? static_cast<uint8_t>(nib << 4) : nib;
                }
            }
        }
    if (sq_error) *sq_error += err / (to_units * to_units);
    return p;
}

namespace {

std::vector<int32_t> norm_weight_fixed(const std::vector<float>& w, int bits, long long* saturated) {
    std::vector<int32_t> out(w.size());
    const int64_t hi = fx::max_signed(bits);
    for (std::size_t i = 0; i < w.size(); ++i) {
        int64_t v = fx::to_fixed(w[i], fx::kNormWeightFrac);
        if (v > hi || v < -hi) ++*saturated;
        out[i] = static_cast<int32_t>(std::clamp<int64_t>(v, -hi, hi));
    }
    return out;
}

// Quantizes a per-channel parameter vector in groups of 8 with PoT exponents.
template <typename Q>
void pot_vector(const std::vector<double>& v, int frac, int bits, int max_exp, std::vector<Q>& q,
                std::vector<uint8_t>& e) {
    const int G = fx::kGroup;
    q.resize(v.size());
    e.resize(v.size() / G);
    std::vector<int32_t> tmp(G);
    for (std::size_t g = 0; g < v.size() / G; ++g) {
        e[g] = quantize_pot_group(&v[g * G], G, frac, bits, max_exp, tmp.data());
        for (int k = 0; k < G; ++k) q[g * G + k] = static_cast<Q>(tmp[k]);
    }
}

void rotate_rows(std::vector<float>& m, int rows, int cols, const Rotation1D& r,
                 const std::vector<float>* col_scale) {
    for (int i = 0; i < rows; ++i) {
        float* row = &m[static_cast<std::size_t>(i) * cols];
        if (col_scale)
            for (int c = 0; c < cols; ++c) row[c] *= (*col_scale)[c];
        r.apply(row);
    }
}

std::vector<float> transpose(const std::vector<float>& m, int rows, int cols) {
    std::vector<float> t(m.size());
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) t[static_cast<std::size_t>(j) * rows + i] = m[static_cast<std::size_t>(i) * cols + j];
    return t;
}

class RotatedSource : public WeightSource {
public:
    RotatedSource(const WeightSource& src, uint64_t seed)
        : src_(src), card_(src.card()), rot_(make_rotation(src.card().d_model, seed)) {
        card_.tie_embeddings = false;
    }
    const ModelCard& card() const override { return card_; }
    std::vector<float> embedding() const override {
        std::vector<float> e = src_.embedding();
        rotate_rows(e, card_.vocab_size, card_.d_model, rot_, nullptr);
        return e;
    }
    std::vector<float> norm_f() const override { return std::vector<float>(card_.d_model, 1.0f); }
    std::vector<float> lm_head() const override {
        std::vector<float> head = src_.lm_head();
        if (head.empty()) head = src_.embedding();
        std::vector<float> wf = src_.norm_f();
        rotate_rows(head, card_.vocab_size, card_.d_model, rot_, &wf);
        return head;
    }
    LayerWeights layer(int index) const override {
        LayerWeights w = src_.layer(index);
        rotate_rows(w.in_proj, card_.d_in_proj(), card_.d_model, rot_, &w.norm);
        w.norm.assign(card_.d_model, 1.0f);
        std::vector<float> t = transpose(w.out_proj, card_.d_model, card_.d_inner());
        rotate_rows(t, card_.d_inner(), card_.d_model, rot_, nullptr);
        w.out_proj = transpose(t, card_.d_inner(), card_.d_model);
        return w;
    }
    std::string description() const override { return src_.description() + " (rotated)"; }

private:
    const WeightSource& src_;
    ModelCard card_;
    Rotation1D rot_;
};

}  // namespace

std::unique_ptr<WeightSource> rotate_weights(const WeightSource& source, uint64_t seed) {
    return std::make_unique<RotatedSource>(source, seed);
}

QuantizedModel quantize_model(const WeightSource& original, const QuantSpec& spec) {
    QuantizedModel qm;
    qm.card = original.card();
    qm.spec = spec;
    const ModelCard& c = qm.card;
    check_hardware_dims(c);
    const bool rotate = spec.rotation != Rotation::None;
    const bool online = spec.rotation == Rotation::OfflineOnline;
    std::unique_ptr<WeightSource> rotated;
    if (rotate) rotated = rotate_weights(original, spec.rotation_seed);
    const WeightSource& source = rotate ? *rotated : original;
    if (online) hadamard_shape(c.d_inner());
    qm.luts = build_luts(c.d_model, c.d_inner());

    // Host side: embedding, final norm and LM head stay in float.
    qm.embedding = source.embedding();
    qm.lm_head = source.lm_head();
    if (qm.lm_head.empty()) qm.lm_head = qm.embedding;
    qm.norm_f = source.norm_f();

    const int wbits = spec.gemm_bits();
    std::vector<int32_t> rows(c.d_in_proj());
    for (int i = 0; i < c.d_in_proj(); ++i) rows[i] = i;
    if (spec.reorder) rows = reordered_in_proj_rows(c);
    double sq_error = 0;
    long long n_weights = 0;
    for (int l = 0; l < c.n_layer; ++l) {
        LayerWeights w = source.layer(l);
        QuantLayer q;
        // RMSNorm1 weight (1.0 when the rotation folded it into in_proj).
        q.norm1_weight = norm_weight_fixed(w.norm, fx::kNorm1WeightBits, &qm.stats.norm_weight_saturated);
        std::vector<float> permuted(w.in_proj.size());
        for (int r = 0; r < c.d_in_proj(); ++r)
            std::copy_n(&w.in_proj[static_cast<std::size_t>(rows[r]) * c.d_model], c.d_model,
                        &permuted[static_cast<std::size_t>(r) * c.d_model]);
        q.in_proj = pack_weights(permuted, c.d_in_proj(), c.d_model, wbits,
                                 fx::kInProjWeightFrac + spec.weight_extra_frac(), &sq_error);
        q.in_proj_rows = rows;

        if (online) {
            // Hardware: v' = (H v) >> k; weights: W' = W H^T 2^k / n, so that W' v' = W v.
            const int n = c.d_inner();
            int k = 0;
            while ((1 << (2 * (k + 1))) <= n) ++k;  // floor(log2(sqrt(n)))
            q.online_hadamard_shift = k;
            const float scale = static_cast<float>(std::ldexp(1.0, k) / n);
            for (int r = 0; r < c.d_model; ++r) {
                float* row = &w.out_proj[static_cast<std::size_t>(r) * n];
                hadamard_transform(row, n);
                for (int i = 0; i < n; ++i) row[i] *= scale;
            }
        }
        q.out_proj = pack_weights(w.out_proj, c.d_model, c.d_inner(), wbits,
                                  fx::kOutProjWeightFrac + spec.weight_extra_frac(), &sq_error);
        n_weights += static_cast<long long>(c.d_in_proj()) * c.d_model + 1LL * c.d_model * c.d_inner();
        q.norm2_weight = norm_weight_fixed(w.gnorm, fx::kNorm2WeightBits, &qm.stats.norm_weight_saturated);

        // Conv: tap-major layout, per (tap, 8 channels) PoT exponent (4 bits [C src/conv_step_0.h]); bias Q.20.
        const int K = c.d_conv, CD = c.conv_dim(), G = fx::kGroup;
        q.conv_weight.resize(static_cast<std::size_t>(K) * CD);
        q.conv_weight_exp.resize(static_cast<std::size_t>(K) * CD / G);
        std::vector<double> tap(G);
        std::vector<int32_t> tap_q(G);
        for (int k = 0; k < K; ++k)
            for (int g = 0; g < CD / G; ++g) {
                for (int i = 0; i < G; ++i) tap[i] = w.conv_w[static_cast<std::size_t>(g * G + i) * K + k];
                q.conv_weight_exp[k * (CD / G) + g] = quantize_pot_group(
                    tap.data(), G, fx::kConvWeightFrac, fx::kConvWeightBits, fx::kMaxActExponent, tap_q.data());
                for (int i = 0; i < G; ++i)
                    q.conv_weight[static_cast<std::size_t>(k) * CD + g * G + i] = static_cast<int8_t>(tap_q[i]);
            }
        pot_vector(std::vector<double>(w.conv_b.begin(), w.conv_b.end()), fx::kConvBiasFrac,
                   fx::kBiasBits, fx::kMaxBiasExponent, q.conv_bias, q.conv_bias_exp);
        pot_vector(std::vector<double>(w.dt_bias.begin(), w.dt_bias.end()), fx::kDtBiasFrac,
                   fx::kBiasBits, fx::kMaxDtBiasExponent, q.dt_bias, q.dt_bias_exp);
        std::vector<double> A(c.nheads());
        for (int h = 0; h < c.nheads(); ++h) A[h] = -std::exp(static_cast<double>(w.A_log[h]));
        pot_vector(A, fx::kAFrac, fx::kABits, fx::kMaxAExponent, q.A, q.A_exp);
        pot_vector(std::vector<double>(w.D.begin(), w.D.end()), fx::kDFrac, fx::kDBits,
                   fx::kMaxDExponent, q.D, q.D_exp);
        qm.layers.push_back(std::move(q));
    }
    qm.stats.weight_groups = n_weights / fx::kWeightGroup;
    qm.stats.weight_mse = n_weights ? sq_error / n_weights : 0.0;
    return qm;
}

}  // namespace lmsim
