// The PoT activation quantizer [C Quant], the two-hot weight quantizer, and range checks.
#include <catch2/catch.hpp>

#include "golden/fixed_point.h"
#include "model/ptq.h"

using namespace lmsim;
using namespace lmsim::fx;

TEST_CASE("quantizer: all-zero group gives exponent 0 and zeros", "[quant]") {
    int32_t x[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int8_t q[8];
    CHECK(quantize_group(x, 8, 4, q, "t") == 0);
    for (int v : q) CHECK(v == 0);
}

TEST_CASE("quantizer: exponent from bit length of absmax - 1", "[quant]") {
    // absmax 8: 8 - 1 = 7 has 3 bits; 4-bit quantizer keeps 3 magnitude bits -> s = 0.
    CHECK(quant_exponent(8, 4) == 0);
    CHECK(quant_exponent(9, 4) == 1);     // 8 -> 4 bits -> s = 1
    CHECK(quant_exponent(16, 4) == 1);    // 15 -> 4 bits
    CHECK(quant_exponent(17, 4) == 2);
    CHECK(quant_exponent(128, 8) == 0);
    CHECK(quant_exponent(129, 8) == 1);
    CHECK(quant_exponent(1, 8) == 0);     // absmax 1 -> 0 -> no bits
    CHECK(quant_exponent(int64_t{1} << 30, 4) == kMaxActExponent);  // clamped to 15
}

TEST_CASE("quantizer: round half up with arithmetic shifts, negatives included", "[quant]") {
    CHECK(quant_value(3, 1, 8) == 2);     // 1.5 -> 2
    CHECK(quant_value(5, 1, 8) == 3);     // 2.5 -> 3
    CHECK(quant_value(-3, 1, 8) == -1);   // -1.5 -> -1 (half up, not away from zero)
    CHECK(quant_value(-5, 1, 8) == -2);   // -2.5 -> -2
    CHECK(quant_value(-6, 2, 8) == -1);   // -1.5 -> -1
    CHECK(quant_value(-7, 2, 8) == -2);   // -1.75 -> -2
    CHECK(quant_value(12, 3, 8) == 2);    // 1.5 -> 2
    CHECK(quant_value(-100, 0, 8) == -100);
}

TEST_CASE("quantizer: saturation at the signed range", "[quant]") {
    // absmax 15 -> s = 1 -> 15 rounds to 8, saturates to 7 in 4 bits.
    int32_t x[8] = {15, -16, 1, 2, 3, 4, 5, 6};
    int8_t q[8];
    CHECK(quantize_group(x, 8, 4, q, "t") == 1);
    CHECK(q[0] == 7);
    CHECK(q[1] == -8);
    CHECK(quant_value(1000, 0, 8) == 127);
    CHECK(quant_value(-1000, 0, 8) == -128);
}

TEST_CASE("quantizer: largest magnitude of the 32-bit input word", "[quant]") {
    int32_t big = INT32_MAX;
    int32_t x[8] = {big, -big, 0, 0, 0, 0, 0, 0};
    int8_t q[8];
    // The exponent clamps at 15 so large values saturate.
    CHECK(quantize_group(x, 8, 8, q, "t") == 15);
    CHECK(q[0] == 127);
    CHECK(q[1] == -128);
    int64_t too_big[8] = {int64_t{1} << 31, 0, 0, 0, 0, 0, 0, 0};
    CHECK_THROWS_AS(quantize_group(too_big, 8, 8, q, "t"), RangeError);
}

TEST_CASE("shifted products are range checked", "[quant]") {
    CHECK(shifted_product(-3, 5, 2, 1, kProductBits, "t") == -30);
    CHECK(shifted_product(-3, 5, 0, 1, kProductBits, "t") == -8);  // arithmetic shift floors
    CHECK_THROWS_AS(shifted_product(127, 127, 30, 0, kProductBits, "t"), RangeError);
}

TEST_CASE("two-hot weight quantization finds the best scale pair", "[quant][weights]") {
    Rng rng(7);
    for (int trial = 0; trial < 200; ++trial) {
        double w[128];
        double spread = std::ldexp(1.0, trial % 10);
        for (double& v : w) v = rng.normal() * spread;
        int8_t q[128];
        uint8_t s1, s2;
        double err = quantize_weight_group(w, 128, 4, q, &s1, &s2);
        REQUIRE(s1 <= s2);
        REQUIRE(s2 <= kMaxWeightExponent);
        // Brute force over every pair: none is better.
        for (int a = 0; a <= 7; ++a)
            for (int b = a; b <= 7; ++b) {
                double s = (1 << a) + (1 << b), e = 0;
                for (double v : w) {
                    double qv = std::max(-8.0, std::min(7.0, std::nearbyint(v / s)));
                    e += (v - qv * s) * (v - qv * s);
                }
                REQUIRE(err <= e * (1 + 1e-12));
            }
        for (int8_t v : q) REQUIRE((v >= -8 && v <= 7));
    }
}

TEST_CASE("packed 4-bit weights round-trip", "[weights]") {
    std::vector<float> w(2 * 256);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>((static_cast<int>(i % 15) - 7) * 3) / 1024.0f;
    double err = 0;
    PackedWeights p = pack_weights(w, 2, 256, 4, 10, &err);
    CHECK(p.data.size() == 256);
    CHECK(err == Approx(0.0).margin(1e-12));
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 256; ++c)
            CHECK(p.value(r, c) * p.scale(r, c / 128) == std::lround(w[r * 256 + c] * 1024.0f));
}
