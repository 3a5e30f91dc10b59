#include "golden/float_model.h"

#include <cmath>

namespace lmsim {

void matvec(const float* W, const float* x, float* y, int rows, int cols) {
    for (int r = 0; r < rows; ++r) {
        const float* w = W + static_cast<std::size_t>(r) * cols;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int c = 0; c < cols; ++c) acc += w[c] * x[c];
        y[r] = acc;
    }
}

float softplus_th20(float v) {
    // torch.nn.functional.softplus(beta=1, threshold=20), as mamba_ssm uses it.
    return v > 20.0f ? v : std::log1p(std::exp(v));
}

std::vector<float> FloatModel::rms_norm(const std::vector<float>& x, const std::vector<float>& w,
                                        double eps) {
    double ss = 0.0;
    for (float v : x) ss += static_cast<double>(v) * v;
    float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps));
    std::vector<float> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
    return y;
}

FloatModel::FloatModel(const ModelWeights& weights) : w_(weights) { reset(); }

void FloatModel::reset() {
    const ModelCard& c = w_.card;
    conv_state_.assign(c.n_layer, std::vector<float>(static_cast<std::size_t>(c.conv_dim()) * c.d_conv, 0.0f));
    ssm_state_.assign(c.n_layer, std::vector<float>(static_cast<std::size_t>(c.nheads()) * c.headdim * c.d_state, 0.0f));
}

std::vector<float> FloatModel::mixer_step(int layer, const std::vector<float>& u,
                                          FloatLayerTrace* trace) {
    const ModelCard& c = w_.card;
    const LayerWeights& L = w_.layers[layer];
    const int Di = c.d_inner(), N = c.d_state, H = c.nheads(), P = c.headdim, K = c.d_conv;
    const int G = c.ngroups, conv_dim = c.conv_dim();

    // 1. in_proj, split z | xBC | dt.
    std::vector<float> zxbcdt(c.d_in_proj());
    matvec(L.in_proj.data(), u.data(), zxbcdt.data(), c.d_in_proj(), c.d_model);
    const float* z = zxbcdt.data();
    const float* xbc_in = z + Di;
    const float* dt_raw = xbc_in + conv_dim;

    // 2. causal conv update: shift the window, append xBC, depthwise dot, SiLU.
    std::vector<float>& cs = conv_state_[layer];
    std::vector<float> xbc(conv_dim);
    for (int ch = 0; ch < conv_dim; ++ch) {
        float* s = &cs[static_cast<std::size_t>(ch) * K];
        for (int k = 0; k + 1 < K; ++k) s[k] = s[k + 1];
        s[K - 1] = xbc_in[ch];
        float acc = L.conv_b[ch];
        for (int k = 0; k < K; ++k) acc += s[k] * L.conv_w[static_cast<std::size_t>(ch) * K + k];
        xbc[ch] = silu(acc);
    }
    const float* x = xbc.data();
    const float* B = x + Di;
    const float* C = B + G * N;

    // 3-8. dt, dA, state update, output with the D skip.
    std::vector<float>& h = ssm_state_[layer];
    std::vector<float> y(Di), dts(H), dAs(H);
    const int heads_per_group = H / G;
    for (int hd = 0; hd < H; ++hd) {
        float A = -std::exp(L.A_log[hd]);
        float dt = softplus_th20(dt_raw[hd] + L.dt_bias[hd]);
        float dA = std::exp(dt * A);
        dts[hd] = dt;
        dAs[hd] = dA;
        const float* Bg = B + (hd / heads_per_group) * N;
        const float* Cg = C + (hd / heads_per_group) * N;
        for (int p = 0; p < P; ++p) {
            float xv = x[hd * P + p];
            float* hs = &h[(static_cast<std::size_t>(hd) * P + p) * N];
            float dtx = dt * xv;
            float acc = 0.0f;
            for (int n = 0; n < N; ++n) {
                hs[n] = hs[n] * dA + dtx * Bg[n];
                acc += hs[n] * Cg[n];
            }
            y[hd * P + p] = acc + L.D[hd] * xv;
        }
    }

    // 9-10. gate then norm (norm_before_gate = False), one group over d_inner.
    std::vector<float> g(Di);
    for (int i = 0; i < Di; ++i) g[i] = y[i] * silu(z[i]);
    std::vector<float> gn = rms_norm(g, L.gnorm, c.norm_eps);

    // 11. out_proj.
    std::vector<float> out(c.d_model);
    matvec(L.out_proj.data(), gn.data(), out.data(), c.d_model, Di);
    if (trace) {
        trace->zxbcdt = zxbcdt;
        trace->xbc_conv = xbc;
        trace->dt = dts;
        trace->dA = dAs;
        trace->y = y;
        trace->gated = g;
        trace->out = out;
    }
    return out;
}

std::vector<float> FloatModel::logits_from_residual(const std::vector<float>& residual) const {
    std::vector<float> y = rms_norm(residual, w_.norm_f, w_.card.norm_eps);
    std::vector<float> logits(w_.card.vocab_size);
    matvec(w_.head().data(), y.data(), logits.data(), w_.card.vocab_size, w_.card.d_model);
    return logits;
}

std::vector<float> FloatModel::step(int token) {
    const ModelCard& c = w_.card;
    // Residual stream kept in fp32 (residual_in_fp32); the first block's residual is the
    // embedding itself, later ones add the previous block's output.
    std::vector<float> residual(w_.embedding.begin() + static_cast<std::size_t>(token) * c.d_model,
                                w_.embedding.begin() + static_cast<std::size_t>(token + 1) * c.d_model);
    FloatLayerTrace trace;
    for (int l = 0; l < c.n_layer; ++l) {
        stop_if_asked();
        std::vector<float> u = rms_norm(residual, w_.layers[l].norm, c.norm_eps);
        std::vector<float> out = mixer_step(l, u, on_layer ? &trace : nullptr);
        if (on_layer) {
            trace.residual_in = residual;
            trace.normed = u;
        }
        for (int i = 0; i < c.d_model; ++i) residual[i] += out[i];
        if (on_layer) on_layer(l, trace);
    }
    return logits_from_residual(residual);
}

}  // namespace lmsim
