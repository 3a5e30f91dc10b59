// lmsim: LightMamba's offline post-training quantization, from float weights to a
// QuantizedModel: Hadamard rotation fused into the weights, two-hot power-of-two weight scales,
// PoT-quantized conv / dt / A / D parameters, LUT generation, in_proj row reordering.
// Layers are read and quantized one at a time, so float weights of one layer at most are held.
#pragma once
#include <cstdint>
#include <vector>

#include "golden/quant_model.h"
#include "model/weights.h"

namespace lmsim {

QuantizedModel quantize_model(const WeightSource& source, const QuantSpec& spec);

// The residual-stream rotation R = H_n diag(signs) / sqrt(n) (orthogonal), applied in place.
struct Rotation1D {
    int n = 0;
    std::vector<float> signs;
    void apply(float* v) const;  // v <- R v
};
Rotation1D make_rotation(int n, uint64_t seed);

// The offline rotation fused into float weights (QuaRot-style, as LightMamba fuses it): the
// residual stream becomes R r. Embedding rows <- R e; block RMSNorm scale folded into in_proj,
// whose rows <- R (w_norm . row) with the norm weight set to 1; out_proj <- R W_out; LM head
// rows <- R (w_f . head) with norm_f set to 1 (the head is untied). The model it describes
// computes the same logits as `source` in exact arithmetic.
std::unique_ptr<WeightSource> rotate_weights(const WeightSource& source, uint64_t seed);

// Two-hot PoT weight quantization of one group: picks s1 <= s2 in [0, 7] and q in `bits`
// minimising the squared error of w_units ~ q (2^s1 + 2^s2). Returns the squared error.
double quantize_weight_group(const double* w_units, int n, int bits, int8_t* q, uint8_t* s1,
                             uint8_t* s2);

// PoT quantization of a group of real values in units 2^frac: the smallest exponent in
// [0, max_exp] that fits `bits`, round to nearest, saturate. Returns the exponent.
uint8_t quantize_pot_group(const double* values, int n, int frac, int bits, int max_exp, int32_t* q);

PackedWeights pack_weights(const std::vector<float>& w, int rows, int cols, int bits, int frac,
                           double* sq_error);

}  // namespace lmsim
