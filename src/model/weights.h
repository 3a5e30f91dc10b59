// lmsim: float weights of a Mamba2 language model, from a mamba_ssm safetensors checkpoint or
// generated from a seed. Layers can be read one at a time (WeightSource) so that large models
// are quantized without ever holding all float weights in memory.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model_card.h"

namespace lmsim {

class SafetensorsFile;

// Float weights of one Mamba2 block, row-major, in mamba_ssm's layout.
struct LayerWeights {
    std::vector<float> norm;      // [d_model]            block RMSNorm weight
    std::vector<float> in_proj;   // [d_in_proj, d_model] rows: z, xBC, dt
    std::vector<float> conv_w;    // [conv_dim, d_conv]   w[c, 0] multiplies the oldest sample
    std::vector<float> conv_b;    // [conv_dim]
    std::vector<float> dt_bias;   // [nheads]
    std::vector<float> A_log;     // [nheads]
    std::vector<float> D;         // [nheads]
    std::vector<float> gnorm;     // [d_inner]            gated RMSNorm weight
    std::vector<float> out_proj;  // [d_model, d_inner]
};

class WeightSource {
public:
    virtual ~WeightSource() = default;
    virtual const ModelCard& card() const = 0;
    virtual std::vector<float> embedding() const = 0;  // [vocab, d_model]
    virtual std::vector<float> norm_f() const = 0;     // [d_model]
    // [vocab, d_model]; empty when the LM head is tied to the embedding.
    virtual std::vector<float> lm_head() const = 0;
    virtual LayerWeights layer(int index) const = 0;
    virtual std::string description() const = 0;
};

// Opens a mamba_ssm checkpoint in safetensors format. Dimensions come from the file's
// __metadata__["config"] when present, else from `card` when given, else from tensor shapes.
std::unique_ptr<WeightSource> open_safetensors_weights(const std::string& path,
                                                       const ModelCard* card = nullptr);

// Statistics of the synthetic weights; defaults follow mamba_ssm's initialisation (see
// docs/quantization.md), plus outlier channels in the residual stream.
struct SyntheticSpec {
    uint64_t seed = 0;
    double norm_weight_jitter = 0.1;   // N(1, jitter) for norm weights and D, as in the reference
    int outlier_channels = -1;         // -1: max(2, d_model / 128)
    double outlier_gain = 20.0;        // magnitude of outlier channels vs the others
    // dt_bias, A_log and D with per-layer, per-group-of-8-heads and per-head variation, so that
    // their quantization exponents spread over head groups as the released Mamba2-2.7B's do
    // (ref/weights dt_bs 5..7, A_s 0..6, D_s 0..6; docs/quantization.md "Synthetic weights").
    // false: mamba_ssm's initialisation (every exponent the same).
    bool trained_ssm_spread = true;
};
std::unique_ptr<WeightSource> make_synthetic_weights(const ModelCard& card,
                                                     const SyntheticSpec& spec);

// All weights in memory, for the float reference.
struct ModelWeights {
    ModelCard card;
    std::vector<float> embedding;
    std::vector<float> norm_f;
    std::vector<float> lm_head;  // empty when tied
    std::vector<LayerWeights> layers;
    const std::vector<float>& head() const { return lm_head.empty() ? embedding : lm_head; }
};
ModelWeights load_all_weights(const WeightSource& source);

// Deterministic random numbers (splitmix64), independent of the standard library's
// distributions so that a seed gives identical weights on every platform.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next_u64();
    double uniform();                    // [0, 1)
    double uniform(double lo, double hi);
    double normal();                     // N(0, 1), Box-Muller
private:
    uint64_t state_;
    bool has_spare_ = false;
    double spare_ = 0.0;
};
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

}  // namespace lmsim
