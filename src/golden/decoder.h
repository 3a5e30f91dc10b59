// lmsim: the interface shared by the float reference and the integer golden model, and the
// token-by-token decoding driver (the prompt is fed through the recurrent step, as the
// LightMamba hardware does).
#pragma once
#include <cstdint>
#include <vector>

namespace lmsim {

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual int vocab_size() const = 0;
    virtual void reset() = 0;                             // clear conv and SSM states
    virtual std::vector<float> step(int token) = 0;       // feed one token, return its logits
};

struct Generation {
    std::vector<int32_t> input_ids;
    std::vector<float> prefill_last_logits;  // [vocab]
    std::vector<int32_t> decode_tokens;      // [n]
    std::vector<float> decode_logits;        // [n, vocab]
};

int argmax(const std::vector<float>& v);

// Feeds `prompt`, then n tokens: greedily (token 0 = argmax of the prompt's last logits), or
// the given `forced_tokens` when not empty (teacher forcing).
Generation generate(Decoder& decoder, const std::vector<int32_t>& prompt, int n_tokens,
                    const std::vector<int32_t>& forced_tokens = {});

}  // namespace lmsim
