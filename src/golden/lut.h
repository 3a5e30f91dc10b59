// lmsim: the lookup tables of LightMamba's nonlinear functions. The original tables (ref.zip)
// are not public; lmsim regenerates them from the exact functions with the deterministic
// construction below (docs/quantization.md "Lookup tables"), using the index arithmetic of the
// released code [C]: SiLU, softplus and exp are 4096-entry mantissa tables plus a 32-entry shift
// table; each RMSNorm has 8 reciprocal-square-root tables of 512 entries.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "golden/fixed_point.h"

namespace lmsim {

// out = table[clamp((v - offset) >> index_shift, 0, 4095)] << shift_table[clamp((v - offset)
// >> segment_shift, 0, 31)]; v in Q.10, out in Q.out_frac.
struct SegmentedLut {
    int64_t offset = 0;        // alpha [C]: -25600 (SiLU, softplus), -20480 (exp)
    int index_shift = 0;       // log2denom [C]: 5 (SiLU), 4 (softplus), 3 (exp)
    int segment_shift = 0;     // log2denom_s [C]: 12, 11, 10
    int out_frac = 0;
    int mantissa_bits = 0;     // magnitude bits of a table entry
    int shift_bits = 4;        // width of a shift-table entry
    std::vector<int32_t> table;
    std::vector<uint8_t> shift_table;

    int64_t lookup(int64_t v) const {
        int64_t d = v - offset;
        int64_t i = d >> index_shift, k = d >> segment_shift;
        i = i < 0 ? 0 : (i >= fx::kLutEntries ? fx::kLutEntries - 1 : i);
        k = k < 0 ? 0 : (k >= fx::kLutShiftEntries ? fx::kLutShiftEntries - 1 : k);
        return fx::shl(static_cast<int64_t>(table[i]), shift_table[k]);
    }
    double input_min() const { return fx::from_fixed(offset, fx::kLutInFrac); }
    double input_max() const {
        return fx::from_fixed(offset + (int64_t{fx::kLutEntries} << index_shift), fx::kLutInFrac);
    }
};

// Builds a segmented table: each entry holds f at the centre of its input bin; each 128-entry
// segment gets the smallest shift that lets its largest entry fit `mantissa_bits`.
SegmentedLut build_segmented_lut(const std::function<double(double)>& f, int64_t offset,
                                 int index_shift, int segment_shift, int out_frac,
                                 int mantissa_bits);

// 8 tables of 512 entries over the sum of squares; table i is used when sum >= alphas[i];
// entry = table[(sum - alpha) >> log2denom] << offset_diff [C Rmsnorm1/Rmsnorm2].
struct RsqrtLut {
    std::vector<int64_t> alphas, log2denoms, offsets_diff;
    std::vector<int32_t> tables;  // [8 * 512]
    int table_bits = 16;
    int in_frac = 0, out_frac = 0, channels = 0;
    double eps = 0, rms_min = 0, rms_max = 0;

    int64_t lookup(int64_t sum) const {
        int t = 0;
        for (int i = 0; i < fx::kRsqrtTables; ++i)
            if (sum >= alphas[i]) t = i;
        int64_t idx = (sum - alphas[t]) >> log2denoms[t];
        idx = idx < 0 ? 0 : (idx >= fx::kRsqrtEntries ? fx::kRsqrtEntries - 1 : idx);
        return static_cast<int64_t>(tables[t * fx::kRsqrtEntries + idx]) << offsets_diff[t];
    }
    // The exact value the table approximates, for a given sum of squares.
    double exact(double sum) const;
};

// Tables cover RMS values of the input in [rms_min, rms_max] (the design range) with 8
// geometrically spaced tables; entries hold rsqrt(mean + eps) at the centre of their bin.
RsqrtLut build_rsqrt_lut(int channels, int in_frac, int out_frac, double eps, double rms_min,
                         double rms_max, int table_bits);

struct LutSet {
    SegmentedLut silu, softplus, exp;
    RsqrtLut rsqrt1, rsqrt2;
};

// Mantissa widths: exp 7 bits [HLS: exp_tABLE is 4096 x 7 b]; SiLU and softplus 12 bits [A].
constexpr int kExpMantissaBits = 7;
constexpr int kSiluMantissaBits = 12;
constexpr int kSoftplusMantissaBits = 12;
constexpr int kRsqrtTableBits = 16;  // [A]
// Design RMS ranges of the two RMSNorm inputs (in real units) [A]: see docs/quantization.md.
constexpr double kNorm1RmsMin = 1.0 / 128, kNorm1RmsMax = 128.0;
constexpr double kNorm2RmsMin = 1.0 / 256, kNorm2RmsMax = 64.0;

LutSet build_luts(int d_model, int d_inner, double eps);

nlohmann::json lut_summary(const LutSet& luts);

}  // namespace lmsim
