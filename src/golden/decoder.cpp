#include "golden/decoder.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"

namespace lmsim {

int argmax(const std::vector<float>& v) {
    return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

Generation generate(Decoder& decoder, const std::vector<int32_t>& prompt, int n_tokens,
                    const std::vector<int32_t>& forced_tokens,
                    const std::function<void(int, int)>& on_step) {
    if (prompt.empty()) throw InputError("the prompt must hold at least one token");
    if (!forced_tokens.empty() && static_cast<int>(forced_tokens.size()) < n_tokens)
        throw InputError(fmt::format("teacher forcing needs {} tokens, the file gives {}",
                                     n_tokens, forced_tokens.size()));
    auto check = [&](int32_t t) {
        if (t < 0 || t >= decoder.vocab_size())
            throw InputError(fmt::format("token {} is outside the vocabulary [0, {})", t,
                                         decoder.vocab_size()));
    };
    for (int32_t t : prompt) check(t);
    Generation g;
    decoder.reset();
    try {
        const int steps = static_cast<int>(prompt.size()) + n_tokens;
        for (int32_t t : prompt) {
            g.prefill_last_logits = decoder.step(t);
            g.input_ids.push_back(t);
            if (on_step) on_step(static_cast<int>(g.input_ids.size()), steps);
        }
        std::vector<float> last = g.prefill_last_logits;
        for (int i = 0; i < n_tokens; ++i) {
            int32_t t = forced_tokens.empty() ? argmax(last) : forced_tokens[i];
            check(t);
            last = decoder.step(t);
            g.decode_tokens.push_back(t);
            g.decode_logits.insert(g.decode_logits.end(), last.begin(), last.end());
            if (on_step) on_step(static_cast<int>(g.input_ids.size() + g.decode_tokens.size()), steps);
        }
    } catch (const DecodeStopped&) {
        g.stopped = true;
    }
    return g;
}

}  // namespace lmsim
