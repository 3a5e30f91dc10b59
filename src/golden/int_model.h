// lmsim: the quantized golden model: LightMamba's integer decode step in algorithm order,
// composed from the primitives of fixed_point.h. Host-side float: embedding lookup (then
// conversion to Q.10), final RMSNorm and LM head. Everything between is integer.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "golden/decoder.h"
#include "golden/quant_model.h"

namespace lmsim {

// Integer state of one layer, in the layouts the hardware keeps [C]:
// conv: 3 past columns of quantized xBC with per-8-channel exponents;
// ssm:  h in layout 1, [d_state, d_inner] int8 with exponents per 8 channels along d_inner.
struct IntLayerState {
    std::vector<int8_t> conv_q;   // [3, conv_dim]
    std::vector<uint8_t> conv_s;  // [3, conv_dim / 8]
    std::vector<int8_t> h_q;      // [d_state, d_inner]
    std::vector<uint8_t> h_s;     // [d_state, d_inner / 8]
};

// Named integer intermediates of one layer step (for --dump-layer and hardware checks).
using IntLayerTrace = std::map<std::string, std::vector<int64_t>>;

class IntModel : public Decoder {
public:
    explicit IntModel(const QuantizedModel& model);
    int vocab_size() const override { return m_.card.vocab_size; }
    void reset() override;
    std::vector<float> step(int token) override;

    // One layer on the Q.10 residual (updated in place) and the layer's state.
    void layer_step(int layer, std::vector<int32_t>& residual, IntLayerTrace* trace);
    std::vector<int32_t> embed(int token) const;
    std::vector<float> logits(const std::vector<int32_t>& residual) const;

    const std::vector<IntLayerState>& states() const { return state_; }
    std::function<void(int, const IntLayerTrace&)> on_layer;

private:
    // Buffers of the SSM step, reused across layers and tokens.
    struct Scratch {
        std::vector<int32_t> h;
        std::vector<int64_t> acc;
        std::vector<int8_t> h2q;
        std::vector<uint8_t> h2s;
    };
    const QuantizedModel& m_;
    std::vector<IntLayerState> state_;
    Scratch scratch_;
};

namespace golden {

// RMSNorm with the rsqrt LUT and the norm weight, then the activation quantizer [C Rmsnorm1/2].
// Returns the normalised values before quantization.
std::vector<int64_t> rms_norm(const int32_t* x, int n, const RsqrtLut& lut, const int32_t* weight,
                              const char* what);

// out[r] = (sum_g sum_8 x*w << (xs + s1) + ... << (xs + s2)) >> shift for every stored row
// [C IN_PROJ/OUT_PROJ]; accumulators checked against acc_bits after each 128-input group.
void gemm(const PackedWeights& w, const int8_t* xq, const uint8_t* xs, int shift, int acc_bits,
          int32_t* out, const char* what);

}  // namespace golden
}  // namespace lmsim
