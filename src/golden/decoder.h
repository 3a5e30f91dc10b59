// lmsim: the interface shared by the float reference and the integer golden model, and the
// token-by-token decoding driver (the prompt is fed through the recurrent step, as the
// LightMamba hardware does).
#pragma once
#include <csignal>
#include <cstdint>
#include <functional>
#include <vector>

namespace lmsim {

// Thrown by Decoder::step between layers when its stop flag is set (the step is abandoned; the
// decoder's state is then partly advanced: reset() before using it again).
struct DecodeStopped {};

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual int vocab_size() const = 0;
    virtual void reset() = 0;                             // clear conv and SSM states
    virtual std::vector<float> step(int token) = 0;       // feed one token, return its logits
    // A flag (e.g. set by a signal handler) that, once non-zero, stops the decoder at its next
    // layer boundary (DecodeStopped).
    void set_stop_flag(const volatile std::sig_atomic_t* flag) { stop_flag_ = flag; }

protected:
    void stop_if_asked() const {
        if (stop_flag_ && *stop_flag_) throw DecodeStopped{};
    }

private:
    const volatile std::sig_atomic_t* stop_flag_ = nullptr;
};

struct Generation {
    // Stopped by the decoder's stop flag: input_ids holds the prompt tokens fed, decode_tokens
    // and decode_logits the tokens finished (prefill_last_logits: of the last prompt token fed).
    bool stopped = false;
    std::vector<int32_t> input_ids;
    std::vector<float> prefill_last_logits;  // [vocab]
    std::vector<int32_t> decode_tokens;      // [n]
    std::vector<float> decode_logits;        // [n, vocab]
};

int argmax(const std::vector<float>& v);

// Feeds `prompt`, then n tokens: greedily (token 0 = argmax of the prompt's last logits), or
// the given `forced_tokens` when not empty (teacher forcing).
Generation generate(Decoder& decoder, const std::vector<int32_t>& prompt, int n_tokens,
                    const std::vector<int32_t>& forced_tokens = {},
                    const std::function<void(int steps_done, int steps)>& on_step = {});

}  // namespace lmsim
