#include "golden/int_model.h"

#include <algorithm>
#include <cmath>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "golden/float_model.h"
#include "golden/hadamard.h"

namespace lmsim {
namespace golden {

std::vector<int64_t> rms_norm(const int32_t* x, int n, const RsqrtLut& lut, const int32_t* weight,
                              const char* what) {
    __int128 sum = 0;
    for (int i = 0; i < n; ++i) sum += static_cast<int64_t>(x[i]) * x[i];
    if (sum > static_cast<__int128>(INT64_MAX)) fx::throw_range(what, INT64_MAX, 64);
    const int64_t r = lut.lookup(static_cast<int64_t>(sum));
    std::vector<int64_t> y(n);
    for (int i = 0; i < n; ++i) {
        int64_t xr = (static_cast<int64_t>(x[i]) * r) >> fx::kRsqrtShift1;
        y[i] = (xr * weight[i]) >> fx::kNormWeightShift;
    }
    return y;
}

namespace {

// x' = q << s. Per 128-input weight group, x' = (q << (s - s_min)) << s_min; when the exponents
// of the group's 16 activation groups span at most 11, q << (s - s_min) fits 16 bits (|q| <= 8)
// and the group's dot product runs on 16-bit lanes; otherwise on 32-bit lanes. Both give the
// same integer.
struct GemmInput {
    std::vector<int32_t> x32;  // q << s
    std::vector<int8_t> x8;    // q << (s - s_min[g]) where spread[g] <= 3, even/odd halves
    std::vector<int32_t> x8_sum;  // per group: sum of x8 (for the unsigned-weight correction)
    std::vector<int16_t> x16;  // q << (s - s_min[g]) where narrow[g]; per 128-group, the 64
                               // even inputs then the 64 odd ones (they meet the low and high
                               // nibbles of a weight byte)
    std::vector<uint8_t> s_min, narrow, tiny;
};

#if defined(__AVX2__)
// sum_j w_j x_j over one 128-input group with 4-bit weights and 8-bit activations: the weights
// are offset to unsigned (w + 8 == nibble ^ 8) for vpmaddubsw, and 8 * sum(x) is subtracted.
// |(w + 8) x| <= 15 * 64, so the 16-bit pair sums cannot saturate.
inline int32_t dot128_u4s8(const uint8_t* p, const int8_t* x_even, const int8_t* x_odd, int32_t x_sum) {
    const __m256i low4 = _mm256_set1_epi8(0x0f), eight = _mm256_set1_epi8(0x08);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (int j = 0; j < 64; j += 32) {
        __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j));
        __m256i lo = _mm256_xor_si256(_mm256_and_si256(v, low4), eight);
        __m256i hi = _mm256_xor_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), eight);
        __m256i xe = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_even + j));
        __m256i xo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_odd + j));
        __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xe), _mm256_maddubs_epi16(hi, xo));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
    return _mm_cvtsi128_si32(s4) - 8 * x_sum;
}
#endif

template <int Bits>
void gemm_kernel(const PackedWeights& w, const GemmInput& in, int shift, int acc_bits, int32_t* out,
                 const char* what) {
    const int G = fx::kWeightGroup, groups = w.groups();
    const int64_t acc_max = fx::max_signed(acc_bits);
    for (int r = 0; r < w.rows; ++r) {
        int64_t acc = 0;
        const uint8_t* s1 = &w.s1[static_cast<std::size_t>(r) * groups];
        const uint8_t* s2 = &w.s2[static_cast<std::size_t>(r) * groups];
        for (int g = 0; g < groups; ++g) {
            int64_t dot;
            if constexpr (Bits == 4) {
                const uint8_t* p = &w.data[(static_cast<std::size_t>(r) * w.cols + g * G) / 2];
#if defined(__AVX2__)
                if (in.tiny[g]) {
                    const int8_t* xe = &in.x8[g * G];
                    dot = fx::shl(static_cast<int64_t>(dot128_u4s8(p, xe, xe + G / 2, in.x8_sum[g])), in.s_min[g]);
                } else
#endif
                if (in.narrow[g]) {
                    const int16_t* xe = &in.x16[g * G];
                    const int16_t* xo = xe + G / 2;
                    int32_t d = 0;
                    for (int j = 0; j < G / 2; ++j) {
                        int16_t lo = static_cast<int16_t>(static_cast<int8_t>(static_cast<uint8_t>(p[j] << 4)) >> 4);
                        int16_t hi = static_cast<int16_t>(static_cast<int8_t>(p[j]) >> 4);
                        d += lo * xe[j] + hi * xo[j];
                    }
                    dot = fx::shl(static_cast<int64_t>(d), in.s_min[g]);
                } else {
                    // |x'| < 2^18 and |w| <= 8: a 128-term dot fits 32 bits.
                    const int32_t* xg = &in.x32[g * G];
                    int32_t d = 0;
                    for (int j = 0; j < G / 2; ++j) {
                        int32_t lo = static_cast<int8_t>(static_cast<uint8_t>(p[j] << 4)) >> 4;
                        int32_t hi = static_cast<int8_t>(p[j]) >> 4;
                        d += lo * xg[2 * j] + hi * xg[2 * j + 1];
                    }
                    dot = d;
                }
            } else {
                const int32_t* xg = &in.x32[g * G];
                const int8_t* p = reinterpret_cast<const int8_t*>(&w.data[static_cast<std::size_t>(r) * w.cols + g * G]);
                int64_t d = 0;
                for (int j = 0; j < G; ++j) d += static_cast<int64_t>(p[j]) * xg[j];
                dot = d;
            }
            acc += dot * ((int64_t{1} << s1[g]) + (int64_t{1} << s2[g]));
            if (fx::abs64(acc) > acc_max) fx::throw_range(what, acc, acc_bits);
        }
        int64_t y = acc >> shift;
        fx::check_range(y, fx::kActivationBits, what);
        out[r] = static_cast<int32_t>(y);
    }
}

}  // namespace

void gemm(const PackedWeights& w, const int8_t* xq, const uint8_t* xs, int shift, int acc_bits,
          int32_t* out, const char* what) {
    // x' = q << s: (x*w) << (s + s1) + (x*w) << (s + s2) == x' * w * (2^s1 + 2^s2) exactly.
    const int G = fx::kWeightGroup, per = G / fx::kGroup;
    GemmInput in;
    in.x32.resize(w.cols);
    in.x16.resize(w.cols);
    in.x8.resize(w.cols);
    in.x8_sum.assign(w.groups(), 0);
    in.s_min.resize(w.groups());
    in.narrow.resize(w.groups());
    in.tiny.resize(w.groups());
    for (int c = 0; c < w.cols; ++c) in.x32[c] = fx::shl(static_cast<int32_t>(xq[c]), xs[c / fx::kGroup]);
    for (int g = 0; g < w.groups(); ++g) {
        const uint8_t* e = xs + g * per;
        int lo = *std::min_element(e, e + per), hi = *std::max_element(e, e + per);
        in.s_min[g] = static_cast<uint8_t>(lo);
        in.narrow[g] = w.bits == 4 && hi - lo <= 11;  // |q| <= 8: 8 << 11 fits int16
        in.tiny[g] = w.bits == 4 && hi - lo <= 3;     // 8 << 3 = 64 fits int8
        if (in.narrow[g])
            for (int c = g * G; c < (g + 1) * G; ++c) {
                const int i = c - g * G, slot = g * G + (i % 2) * (G / 2) + i / 2;
                const int32_t v = fx::shl(static_cast<int32_t>(xq[c]), xs[c / fx::kGroup] - lo);
                in.x16[slot] = static_cast<int16_t>(v);
                if (in.tiny[g]) {
                    in.x8[slot] = static_cast<int8_t>(v);
                    in.x8_sum[g] += v;
                }
            }
    }
    if (w.bits == 4) gemm_kernel<4>(w, in, shift, acc_bits, out, what);
    else gemm_kernel<8>(w, in, shift, acc_bits, out, what);
}

}  // namespace golden

namespace {
template <typename T>
std::vector<int64_t> widen(const T* p, std::size_t n) {
    return std::vector<int64_t>(p, p + n);
}
}  // namespace

IntModel::IntModel(const QuantizedModel& model) : m_(model) { reset(); }

void IntModel::reset() {
    const ModelCard& c = m_.card;
    const int G = fx::kGroup;
    IntLayerState s;
    s.conv_q.assign(3 * static_cast<std::size_t>(c.conv_dim()), 0);
    s.conv_s.assign(3 * static_cast<std::size_t>(c.conv_dim()) / G, 0);
    s.h_q.assign(static_cast<std::size_t>(c.d_state) * c.d_inner(), 0);
    s.h_s.assign(static_cast<std::size_t>(c.d_state) * c.d_inner() / G, 0);
    state_.assign(c.n_layer, s);
}

std::vector<int32_t> IntModel::embed(int token) const {
    const int D = m_.card.d_model;
    std::vector<int32_t> x(D);
    for (int i = 0; i < D; ++i) {
        int64_t v = fx::to_fixed(m_.embedding[static_cast<std::size_t>(token) * D + i], fx::kResidualFrac);
        fx::check_range(v, fx::kActivationBits, "embedding (Q.10)");
        x[i] = static_cast<int32_t>(v);
    }
    return x;
}

std::vector<float> IntModel::logits(const std::vector<int32_t>& residual) const {
    const ModelCard& c = m_.card;
    std::vector<float> r(c.d_model);
    for (int i = 0; i < c.d_model; ++i) r[i] = static_cast<float>(fx::from_fixed(residual[i], fx::kResidualFrac));
    std::vector<float> y = FloatModel::rms_norm(r, m_.norm_f, c.norm_eps);
    std::vector<float> out(c.vocab_size);
    matvec(m_.lm_head.data(), y.data(), out.data(), c.vocab_size, c.d_model);
    return out;
}

std::vector<float> IntModel::step(int token) {
    std::vector<int32_t> x = embed(token);
    IntLayerTrace trace;
    for (int l = 0; l < m_.card.n_layer; ++l) {
        stop_if_asked();
        layer_step(l, x, on_layer ? &trace : nullptr);
        if (on_layer) on_layer(l, trace);
    }
    return logits(x);
}

void IntModel::layer_step(int layer, std::vector<int32_t>& residual, IntLayerTrace* trace) {
    using namespace fx;
    const ModelCard& c = m_.card;
    const QuantLayer& L = m_.layers[layer];
    const QuantSpec& spec = m_.spec;
    IntLayerState& st = state_[layer];
    const int D = c.d_model, Di = c.d_inner(), N = c.d_state, H = c.nheads(), P = c.headdim;
    const int CD = c.conv_dim(), G = kGroup, abits = spec.gemm_bits();
    if (trace) {
        trace->clear();
        auto& t = *trace;
        t["residual_in"] = widen(residual.data(), residual.size());
        t["conv_state_prev_q"] = widen(st.conv_q.data(), st.conv_q.size());
        t["conv_state_prev_s"] = widen(st.conv_s.data(), st.conv_s.size());
        t["h_prev_q"] = widen(st.h_q.data(), st.h_q.size());
        t["h_prev_s"] = widen(st.h_s.data(), st.h_s.size());
    }

    // 1. RMSNorm1 -> activation quantizer (4 or 8 bits).
    std::vector<int64_t> n1 = golden::rms_norm(residual.data(), D, m_.luts.rsqrt1,
                                               L.norm1_weight.data(), "rmsnorm1 sum of squares");
    std::vector<int8_t> aq(D);
    std::vector<uint8_t> as(D / G);
    quantize_groups(n1.data(), D, abits, aq.data(), as.data(), "rmsnorm1 output");

    // 2. in_proj in stored-row order, scattered back to the natural order z | xBC | dt.
    std::vector<int32_t> stored(c.d_in_proj()), zxbcdt(c.d_in_proj());
    golden::gemm(L.in_proj, aq.data(), as.data(), spec.in_proj_shift(), spec.gemm_acc_bits(),
                 stored.data(), "in_proj accumulator");
    for (int r = 0; r < c.d_in_proj(); ++r) zxbcdt[L.in_proj_rows[r]] = stored[r];
    const int32_t* z = zxbcdt.data();
    const int32_t* xbc_in = z + Di;
    const int32_t* dt_in = xbc_in + CD;

    // 3. Quantize xBC to 8 bits, depthwise conv over [3 stored columns, new column].
    std::vector<int8_t> xq(CD);
    std::vector<uint8_t> xs(CD / G);
    quantize_groups(xbc_in, CD, 8, xq.data(), xs.data(), "xBC before conv");
    std::vector<int32_t> conv(CD);
    for (int ch = 0; ch < CD; ++ch) {
        const int g = ch / G;
        int64_t acc = shl(static_cast<int64_t>(L.conv_bias[ch]), L.conv_bias_exp[g]);
        for (int d = 0; d < 4; ++d) {
            int64_t v = d < 3 ? st.conv_q[static_cast<std::size_t>(d) * CD + ch] : xq[ch];
            int vs = d < 3 ? st.conv_s[static_cast<std::size_t>(d) * (CD / G) + g] : xs[g];
            acc += shl(v * L.conv_weight[static_cast<std::size_t>(d) * CD + ch],
                       vs + L.conv_weight_exp[static_cast<std::size_t>(d) * (CD / G) + g]);
            check_range(acc, kProductBits, "conv accumulator");
        }
        int64_t out = acc >> kConvShift;
        check_range(out, kActivationBits, "conv output");
        conv[ch] = static_cast<int32_t>(out);
    }
    // New conv state: the last three columns, each with its own exponents.
    std::copy(st.conv_q.begin() + CD, st.conv_q.end(), st.conv_q.begin());
    std::copy(xq.begin(), xq.end(), st.conv_q.begin() + 2 * CD);
    std::copy(st.conv_s.begin() + CD / G, st.conv_s.end(), st.conv_s.begin());
    std::copy(xs.begin(), xs.end(), st.conv_s.begin() + 2 * (CD / G));

    // 4. SiLU LUT on [conv(xBC), z], 8-bit quantization, split into x, B, C, z.
    const int CS = CD + Di;
    std::vector<int64_t> silu(CS);
    for (int i = 0; i < CD; ++i) silu[i] = m_.luts.silu.lookup(conv[i]);
    for (int i = 0; i < Di; ++i) silu[CD + i] = m_.luts.silu.lookup(z[i]);
    std::vector<int8_t> uq(CS);
    std::vector<uint8_t> us(CS / G);
    quantize_groups(silu.data(), CS, 8, uq.data(), us.data(), "SiLU output");
    const int8_t *x_q = uq.data(), *B_q = x_q + Di, *C_q = B_q + N, *z_q = C_q + N;
    const uint8_t *x_s = us.data(), *B_s = x_s + Di / G, *C_s = B_s + N / G, *z_s = C_s + N / G;

    // 5. dt + bias, softplus LUT, 8-bit quantization in groups of 8 heads.
    std::vector<int64_t> dt_sp(H);
    for (int h = 0; h < H; ++h) {
        int64_t v = dt_in[h] + shl(static_cast<int64_t>(L.dt_bias[h]), L.dt_bias_exp[h / G]);
        check_range(v, kActivationBits, "dt + bias");
        dt_sp[h] = m_.luts.softplus.lookup(v);
    }
    std::vector<int8_t> dtq(H);
    std::vector<uint8_t> dts(H / G);
    quantize_groups(dt_sp.data(), H, 8, dtq.data(), dts.data(), "softplus output");

    // 6. dA = exp((dt*A) >> 10), 8-bit.
    std::vector<int64_t> dtA(H), dA_pre(H);
    for (int h = 0; h < H; ++h) {
        dtA[h] = shifted_product(dtq[h], L.A[h], dts[h / G] + L.A_exp[h / G], kDtAShift, kProductBits, "dt*A");
        dA_pre[h] = m_.luts.exp.lookup(dtA[h]);
    }
    std::vector<int8_t> dAq(H);
    std::vector<uint8_t> dAs(H / G);
    quantize_groups(dA_pre.data(), H, 8, dAq.data(), dAs.data(), "exp output");

    // 7. dB[n, h] = (dt*B) << (dts + Bs), 8-bit in groups of 8 heads for each n.
    std::vector<int64_t> dB(static_cast<std::size_t>(N) * H);
    for (int n = 0; n < N; ++n)
        for (int h = 0; h < H; ++h) {
            int64_t p = shl(static_cast<int64_t>(dtq[h]) * B_q[n], dts[h / G] + B_s[n / G]);
            check_range(p, kProductBits, "dt*B");
            dB[static_cast<std::size_t>(n) * H + h] = p;
        }
    std::vector<int8_t> dBq(dB.size());
    std::vector<uint8_t> dBs(dB.size() / G);
    quantize_groups(dB.data(), static_cast<int>(dB.size()), 8, dBq.data(), dBs.data(), "dB");

    // 8. x*D skip.
    std::vector<int64_t> xD(Di);
    for (int ch = 0; ch < Di; ++ch) {
        const int h = ch / P;
        xD[ch] = shifted_product(x_q[ch], L.D[h], x_s[ch / G] + L.D_exp[h / G], kUdShift,
                                 kProductBits, "x*D");
    }

    // 9. h = (dA*h_prev) >> 6 + (dB*x) >> 11 over [N, d_inner]; requantized in two layouts.
    // Operands are constant over a group of 8 channels (a group lies inside one head), so the
    // inner loop is 8 lanes wide; range violations are collected as maxima and reported after
    // the row.
    Scratch& w = scratch_;
    w.h.resize(static_cast<std::size_t>(N) * Di);
    w.h2q.resize(w.h.size());
    w.h2s.resize(w.h.size() / G);
    // (p << s) >> r equals p << (s - r) for s >= r and p >> (r - s) otherwise (floor), so with
    // 8-bit operands everything stays in 32-bit lanes; |p << s| > limit is checked as
    // |p| > limit >> s.
    const int64_t dah_max = max_signed(kProductBits), dbx_max = max_signed(kDbuProductBits);
    const int32_t act_max = static_cast<int32_t>(max_signed(kActivationBits));
    auto limit_for = [](int64_t max, int shift) {
        return static_cast<int32_t>(std::min<int64_t>(max >> shift, INT32_MAX));
    };
    for (int n = 0; n < N; ++n) {
        const int8_t* hq = &st.h_q[static_cast<std::size_t>(n) * Di];
        const uint8_t* hs = &st.h_s[static_cast<std::size_t>(n) * (Di / G)];
        int32_t* out = &w.h[static_cast<std::size_t>(n) * Di];
        int32_t excess = 0;  // non-zero once any value leaves its word
        for (int g = 0; g < Di / G; ++g) {
            const int h = g * G / P;
            const std::size_t bi = static_cast<std::size_t>(n) * H + h;
            const int32_t a = dAq[h], b = dBq[bi];
            const int sh1 = dAs[h / G] + hs[g], sh2 = dBs[bi / G] + x_s[g];
            const int l1 = std::max(sh1 - kDahShift, 0), r1 = std::max(kDahShift - sh1, 0);
            const int l2 = std::max(sh2 - kDbuShift, 0), r2 = std::max(kDbuShift - sh2, 0);
            const int32_t lim1 = limit_for(dah_max, sh1), lim2 = limit_for(dbx_max, sh2);
            for (int k = 0; k < G; ++k) {
                const int ch = g * G + k;
                const int32_t p1 = a * hq[ch], p2 = b * x_q[ch];
                const int32_t sum = (shl(p1, l1) >> r1) + (shl(p2, l2) >> r2);
                excess |= ((p1 > lim1) | (-p1 > lim1) | (p2 > lim2) | (-p2 > lim2) |
                           (sum > act_max) | (sum < -act_max));
                out[ch] = sum;
            }
        }
        if (excess) {  // name the offending quantity, with 64-bit arithmetic
            for (int ch = 0; ch < Di; ++ch) {
                const int h = ch / P;
                const std::size_t bi = static_cast<std::size_t>(n) * H + h;
                int64_t q1 = shl(int64_t{dAq[h]} * hq[ch], dAs[h / G] + hs[ch / G]);
                int64_t q2 = shl(int64_t{dBq[bi]} * x_q[ch], dBs[bi / G] + x_s[ch / G]);
                check_range(q1, kProductBits, "dA*h");
                check_range(q2, kDbuProductBits, "dB*x");
                check_range((q1 >> kDahShift) + (q2 >> kDbuShift), kActivationBits, "h = dA*h + dB*x");
            }
        }
    }
    // The two products on their own, for the hardware checks (DAH and DBU stream them).
    if (trace) {
        std::vector<int64_t> dah(w.h.size()), dbx(w.h.size());
        for (int n = 0; n < N; ++n)
            for (int ch = 0; ch < Di; ++ch) {
                const int h = ch / P;
                const std::size_t i = static_cast<std::size_t>(n) * Di + ch, bi = static_cast<std::size_t>(n) * H + h;
                dah[i] = shl(int64_t{dAq[h]} * st.h_q[i], dAs[h / G] + st.h_s[i / G]) >> kDahShift;
                dbx[i] = shl(int64_t{dBq[bi]} * x_q[ch], dBs[bi / G] + x_s[ch / G]) >> kDbuShift;
            }
        (*trace)["dah"] = std::move(dah);
        (*trace)["dbx"] = std::move(dbx);
    }
    // Layout 1 (stored state): groups of 8 along d_inner.
    quantize_groups(w.h.data(), N * Di, 8, st.h_q.data(), st.h_s.data(), "h (layout 1)");
    // Layout 2 (for C): groups of 8 along N, kept as 8 x 8 transposed tiles [N/8][d_inner][8]
    // with exponents [N/8][d_inner].
    int32_t column[kGroup];
    for (int nt = 0; nt < N / G; ++nt)
        for (int ch = 0; ch < Di; ++ch) {
            for (int k = 0; k < G; ++k) column[k] = w.h[static_cast<std::size_t>(nt * G + k) * Di + ch];
            const std::size_t tile = static_cast<std::size_t>(nt) * Di + ch;
            w.h2s[tile] = quantize_group(column, G, 8, &w.h2q[tile * G], "h (layout 2)");
        }

    // 10. y = (sum_nt (sum_8 h2*C) << (h2s + Cs)) >> 17 + xD, 8-bit. The accumulation runs
    // over nt in order for every channel, as in the hardware's HTC loop.
    w.acc.assign(Di, 0);
    int64_t overflow = 0;
    const int64_t htc_max = max_signed(kHtcAccBits);
    for (int nt = 0; nt < N / G; ++nt) {
        const int8_t* c8 = &C_q[nt * G];
        for (int ch = 0; ch < Di; ++ch) {
            const int8_t* h8 = &w.h2q[(static_cast<std::size_t>(nt) * Di + ch) * G];
            int32_t accg = 0;
            for (int k = 0; k < G; ++k) accg += static_cast<int32_t>(h8[k]) * c8[k];
            w.acc[ch] += shl(static_cast<int64_t>(accg), w.h2s[static_cast<std::size_t>(nt) * Di + ch] + C_s[nt]);
            overflow |= abs64(w.acc[ch]) > htc_max;
        }
        if (overflow)
            for (int ch = 0; ch < Di; ++ch) check_range(w.acc[ch], kHtcAccBits, "h*C accumulator");
    }
    std::vector<int64_t> y(Di);
    for (int ch = 0; ch < Di; ++ch) {
        int64_t htc = w.acc[ch] >> kHtcShift;
        check_range(htc, kActivationBits, "h*C");
        y[ch] = htc + xD[ch];
        check_range(y[ch], kActivationBits, "y = h*C + x*D");
    }
    std::vector<int8_t> yq(Di);
    std::vector<uint8_t> ys(Di / G);
    quantize_groups(y.data(), Di, 8, yq.data(), ys.data(), "y");

    // 11. yz = (y * SiLU(z)) >> 10.
    std::vector<int32_t> yz(Di);
    for (int ch = 0; ch < Di; ++ch)
        yz[ch] = shifted_product(yq[ch], z_q[ch], ys[ch / G] + z_s[ch / G], kYzShift, kProductBits, "y*z");

    // 12. RMSNorm2 [-> online Hadamard] -> quantizer -> out_proj -> residual add.
    std::vector<int64_t> n2 = golden::rms_norm(yz.data(), Di, m_.luts.rsqrt2, L.norm2_weight.data(),
                                               "rmsnorm2 sum of squares");
    if (trace) (*trace)["rmsnorm2_raw"] = n2;
    if (spec.rotation == Rotation::OfflineOnline) {
        hadamard_transform(n2.data(), Di);
        for (auto& v : n2) v >>= L.online_hadamard_shift;
    }
    std::vector<int8_t> oq(Di);
    std::vector<uint8_t> os(Di / G);
    quantize_groups(n2.data(), Di, abits, oq.data(), os.data(), "rmsnorm2 output");
    std::vector<int32_t> out(D);
    golden::gemm(L.out_proj, oq.data(), os.data(), spec.out_proj_shift(), spec.gemm_acc_bits(),
                 out.data(), "out_proj accumulator");
    for (int i = 0; i < D; ++i) {
        int64_t v = static_cast<int64_t>(residual[i]) + out[i];
        check_range(v, kActivationBits, "residual add");
        residual[i] = static_cast<int32_t>(v);
    }

    if (trace) {
        auto& t = *trace;
        t["rmsnorm1_q"] = widen(aq.data(), aq.size());
        t["rmsnorm1_s"] = widen(as.data(), as.size());
        t["in_proj_out"] = widen(zxbcdt.data(), zxbcdt.size());
        t["in_proj_stored"] = widen(stored.data(), stored.size());
        t["xbc_q"] = widen(xq.data(), xq.size());
        t["xbc_s"] = widen(xs.data(), xs.size());
        t["conv_out"] = widen(conv.data(), conv.size());
        t["conv_state_q"] = widen(st.conv_q.data(), st.conv_q.size());
        t["conv_state_s"] = widen(st.conv_s.data(), st.conv_s.size());
        t["silu_q"] = widen(uq.data(), uq.size());
        t["silu_s"] = widen(us.data(), us.size());
        t["dt_q"] = widen(dtq.data(), dtq.size());
        t["dt_s"] = widen(dts.data(), dts.size());
        t["dtA"] = dtA;
        t["dA_q"] = widen(dAq.data(), dAq.size());
        t["dA_s"] = widen(dAs.data(), dAs.size());
        t["dB_q"] = widen(dBq.data(), dBq.size());
        t["dB_s"] = widen(dBs.data(), dBs.size());
        t["xD"] = xD;
        t["h_q"] = widen(st.h_q.data(), st.h_q.size());
        t["h_s"] = widen(st.h_s.data(), st.h_s.size());
        t["h2_q"] = widen(w.h2q.data(), w.h2q.size());
        t["h2_s"] = widen(w.h2s.data(), w.h2s.size());
        t["y_q"] = widen(yq.data(), yq.size());
        t["y_s"] = widen(ys.data(), ys.size());
        t["yz"] = widen(yz.data(), yz.size());
        t["rmsnorm2_q"] = widen(oq.data(), oq.size());
        t["rmsnorm2_s"] = widen(os.data(), os.size());
        t["out_proj_out"] = widen(out.data(), out.size());
        t["residual_out"] = widen(residual.data(), residual.size());
    }
}

}  // namespace lmsim
