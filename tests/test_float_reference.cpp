// The float reference must reproduce the official mamba_ssm output (tests/data, copied from
// ../shared/reference): every logit within 1e-3 absolute.
#include <catch2/catch.hpp>
#include <cmath>

#include "golden/float_model.h"
#include "model/safetensors.h"
#include "model/weights.h"

using namespace lmsim;

namespace {
std::string data(const std::string& f) { return std::string(LMSIM_TEST_DATA) + "/" + f; }

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    float m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}
}  // namespace

TEST_CASE("float reference reproduces mamba_ssm logits on the tiny model", "[float][reference]") {
    auto source = open_safetensors_weights(data("mamba2-tiny.weights.safetensors"));
    ModelWeights w = load_all_weights(*source);
    CHECK(w.card.d_model == 256);
    CHECK(w.card.nheads() == 16);
    CHECK(w.card.d_in_proj() == 1168);
    SafetensorsFile vec(data("mamba2-tiny.vectors.safetensors"));
    auto ids64 = vec.read_int("input_ids", {1, 8});
    auto tokens64 = vec.read_int("decode_tokens", {8});
    auto prefill = vec.read_float("prefill_last_logits", {1, 256});
    auto decode = vec.read_float("decode_logits", {8, 256});
    std::vector<int32_t> ids(ids64.begin(), ids64.end());

    FloatModel model(w);
    Generation g = generate(model, ids, 8);
    CHECK(max_abs_diff(g.prefill_last_logits, prefill) < 1e-3f);
    for (int i = 0; i < 8; ++i) CHECK(g.decode_tokens[i] == tokens64[i]);
    CHECK(max_abs_diff(g.decode_logits, decode) < 1e-3f);
}
