// lmsim: the float reference: one Mamba2 decode step exactly as mamba_ssm computes it
// (order and formulas in ../shared/docs/platforms-and-math.md section 4), fp32 storage with
// fp32 or wider accumulation.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "golden/decoder.h"
#include "model/weights.h"

namespace lmsim {

// Intermediates of one layer, for --dump-layer and for calibration.
struct FloatLayerTrace {
    std::vector<float> residual_in, normed, zxbcdt, xbc_conv, dt, dA, y, gated, out;
};

class FloatModel : public Decoder {
public:
    explicit FloatModel(const ModelWeights& weights);
    int vocab_size() const override { return w_.card.vocab_size; }
    void reset() override;
    std::vector<float> step(int token) override;

    // Host side pieces, shared with the integer model (which keeps them in float).
    static std::vector<float> rms_norm(const std::vector<float>& x, const std::vector<float>& w,
                                       double eps);
    std::vector<float> logits_from_residual(const std::vector<float>& residual) const;

    // Called after each layer when set (layer index, intermediates).
    std::function<void(int, const FloatLayerTrace&)> on_layer;

private:
    std::vector<float> mixer_step(int layer, const std::vector<float>& u, FloatLayerTrace* trace);
    const ModelWeights& w_;
    std::vector<std::vector<float>> conv_state_;  // per layer [conv_dim, d_conv]
    std::vector<std::vector<float>> ssm_state_;   // per layer [nheads, headdim, d_state]
};

// y[r] = sum_c W[r, c] x[c] for a row-major [rows, cols] matrix (vectorised float dot products).
void matvec(const float* W, const float* x, float* y, int rows, int cols);
inline float silu(float v) { return v / (1.0f + std::exp(-v)); }
float softplus_th20(float v);

}  // namespace lmsim
