// Hadamard matrices are orthogonal; the offline rotation fused into the float weights leaves
// the logits unchanged (within float rounding).
#include <catch2/catch.hpp>
#include <cmath>

#include "golden/float_model.h"
#include "golden/hadamard.h"
#include "model/ptq.h"

using namespace lmsim;

TEST_CASE("Hadamard matrices are orthogonal, including 12 and 40 times powers of two", "[hadamard]") {
    for (int n : {1, 2, 8, 12, 20, 24, 40, 80, 96, 160, 256}) {
        auto h = hadamard_matrix(n);
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) {
                long dot = 0;
                for (int k = 0; k < n; ++k) dot += h[i * n + k] * h[j * n + k];
                REQUIRE(dot == (i == j ? n : 0));
            }
    }
    auto h40 = hadamard_dense(40);
    for (int i = 0; i < 40; ++i)
        for (int j = 0; j < 40; ++j) {
            long dot = 0;
            for (int k = 0; k < 40; ++k) dot += h40[i * 40 + k] * h40[j * 40 + k];
            REQUIRE(dot == (i == j ? 40 : 0));
        }
}

TEST_CASE("fast Hadamard transform equals the dense matrix product", "[hadamard]") {
    for (int n : {16, 48, 80, 640, 1536, 5120}) {
        auto h = hadamard_matrix(n);
        std::vector<int64_t> v(n);
        for (int i = 0; i < n; ++i) v[i] = (i * 7919) % 23 - 11;
        std::vector<int64_t> fast = v;
        hadamard_transform(fast.data(), n);
        for (int i = 0; i < n; ++i) {
            int64_t acc = 0;
            for (int k = 0; k < n; ++k) acc += h[static_cast<std::size_t>(i) * n + k] * v[k];
            REQUIRE(fast[i] == acc);
        }
    }
    CHECK_THROWS_AS(hadamard_shape(100), InputError);
}

TEST_CASE("fused offline rotation keeps the float logits (1e-5 relative)", "[rotation][float]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    auto rotated = rotate_weights(*source, 1234);
    ModelWeights a = load_all_weights(*source), b = load_all_weights(*rotated);
    // The rotation really changed the weights.
    CHECK(a.layers[0].in_proj[0] != b.layers[0].in_proj[0]);
    FloatModel fa(a), fb(b);
    for (int token : {3, 14, 15, 92, 65}) {
        auto la = fa.step(token), lb = fb.step(token);
        double err = 0, norm = 0;
        for (std::size_t i = 0; i < la.size(); ++i) {
            err = std::max(err, static_cast<double>(std::fabs(la[i] - lb[i])));
            norm = std::max(norm, static_cast<double>(std::fabs(la[i])));
        }
        CHECK(err / norm < 1e-5);
    }
}

TEST_CASE("the 5120-point online Hadamard follows the paper's 128 x 40 split", "[hadamard]") {
    // 5120 = 40 * 128 = 20 * 256; the add count of the unnormalised transform is finite and
    // matches n log2(M) + M K (K - 1).
    HadamardShape s = hadamard_shape(5120);
    CHECK(s.dense * s.butterfly == 5120);
    CHECK(hadamard_add_count(5120) == 5120LL * 8 + 256LL * 20 * 19);
}
