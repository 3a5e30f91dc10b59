// Lookup tables regenerated from the exact functions: worst-case error within the bounds that
// follow from their geometry (bin width x slope, plus the mantissa rounding).
#include <catch2/catch.hpp>
#include <cmath>

#include "golden/lut.h"

using namespace lmsim;

namespace {
// Worst absolute error (real units) of `lut` against f over [lo, hi), sampling every Q.10 step.
double worst_error(const SegmentedLut& lut, double (*f)(double), double lo, double hi) {
    double worst = 0;
    for (int64_t v = fx::to_fixed(lo, 10); v < fx::to_fixed(hi, 10); ++v) {
        double got = fx::from_fixed(lut.lookup(v), lut.out_frac);
        worst = std::max(worst, std::fabs(got - f(fx::from_fixed(v, 10))));
    }
    return worst;
}
double silu(double v) { return v / (1 + std::exp(-v)); }
double softplus(double v) { return v > 20 ? v : std::log1p(std::exp(v)); }
double expf_(double v) { return std::exp(v); }
}  // namespace

TEST_CASE("LUT geometry follows the released code", "[lut]") {
    LutSet l = build_luts(256, 512, 1e-5);
    CHECK(l.silu.table.size() == 4096);
    CHECK(l.silu.shift_table.size() == 32);
    CHECK(l.silu.input_min() == -25.0);
    CHECK(l.silu.input_max() == 103.0);
    CHECK(l.softplus.input_max() == 39.0);
    CHECK(l.exp.input_min() == -20.0);
    CHECK(l.exp.input_max() == 12.0);
    for (int v : l.exp.table) CHECK(std::abs(v) < 128);  // 7-bit mantissa [HLS]
    CHECK(l.rsqrt1.tables.size() == 8 * 512);
}

TEST_CASE("SiLU, softplus and exp tables: measured worst-case error", "[lut]") {
    LutSet l = build_luts(256, 512, 1e-5);
    // SiLU: half a bin (2^5 / 2^10 / 2 = 0.0156) times the largest slope (1.1) plus half a
    // mantissa step of the largest segment shift (2^5 / 2^10 / 2) near v = 100.
    double silu_err = worst_error(l.silu, silu, -25.0, 103.0);
    INFO("silu worst " << silu_err);
    CHECK(silu_err < 0.0156 * 1.1 + 0.0157 + 1e-3);
    // On [-8, 8) the segments need at most a shift of 2 (8 * 2^10 has 14 bits, mantissa 12).
    CHECK(worst_error(l.silu, silu, -8.0, 8.0) < 0.0156 * 1.1 + 2.0 / 1024 + 1e-4);
    // Softplus: half a bin 0.0078 times slope <= 1, plus mantissa rounding.
    double sp_err = worst_error(l.softplus, softplus, -25.0, 39.0);
    INFO("softplus worst " << sp_err);
    CHECK(sp_err < 0.0078 + 0.0079 + 1e-3);
    // exp on the range dt*A takes (<= 0): half a bin 0.0039 times slope <= 1, plus half an
    // output step of Q.6 (0.0078).
    double exp_err = worst_error(l.exp, expf_, -20.0, 0.0);
    INFO("exp worst " << exp_err);
    CHECK(exp_err < 0.0039 + 0.0079);
}

TEST_CASE("rsqrt tables: error inside the design range", "[lut]") {
    for (int channels : {256, 2560, 5120}) {
        LutSet l = build_luts(channels, 2 * channels, 1e-5);
        for (const RsqrtLut* t : {&l.rsqrt1, &l.rsqrt2}) {
            double worst_excess = -1, worst_rel = 0;
            for (double rms = t->rms_min; rms < t->rms_max; rms *= 1.01) {
                double sum = channels * std::ldexp(rms * rms, 2 * t->in_frac);
                double got = static_cast<double>(t->lookup(static_cast<int64_t>(sum)));
                double exact = t->exact(sum);
                int table = 0;
                for (int i = 0; i < 8; ++i)
                    if (sum >= t->alphas[i]) table = i;
                // Bound: the sum is at most half a bin from the bin centre; rsqrt moves by half
                // the relative change of the sum (plus 10 % for curvature); the 16-bit entry
                // adds half an LSB of 2^offset_diff.
                double bin = std::ldexp(1.0, static_cast<int>(t->log2denoms[table]));
                double rel_half_bin = 0.5 * bin / std::max(sum - bin, 1.0);
                double bound = 0.55 * rel_half_bin * exact +
                               0.5 * std::ldexp(1.0, static_cast<int>(t->offsets_diff[table])) + 1e-9;
                // Placement: 8 tables over a sum ratio R of 2^28-2^32 grow by g = R^(1/8) <= 16
                // each; a power-of-two bin is at most 2 g / 512 of the smallest sum it serves.
                REQUIRE(bin / sum <= 2.0 * 16 / 512);
                worst_excess = std::max(worst_excess, std::fabs(got - exact) - bound);
                worst_rel = std::max(worst_rel, std::fabs(got / exact - 1));
            }
            INFO("channels " << channels << " worst relative " << worst_rel);
            CHECK(worst_excess <= 0);
        }
    }
}
