// lmsim: the lookup tables of LightMamba's nonlinear functions, built exactly as the released
// design's (PKU-SEC-Lab/LightMamba ref/tables/*.txt [C]): for Mamba2-2.7B every entry of all 14
// released files is reproduced by the constructions below (tests/test_lut.cpp checks them
// against checksums and samples of the released files; docs/quantization.md "Lookup tables").
// Index arithmetic as in src/silu.h, softplus.h, exp.h, rmsnorm1.h, rmsnorm2.h [C]: SiLU,
// softplus and exp are 4096-entry 8-bit mantissa tables plus a 32-entry 4-bit shift table; each
// RMSNorm has 8 reciprocal-square-root tables of 512 8-bit entries.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
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

// Builds a segmented table as the released flow did: entry i holds f at the START of its input
// bin, offset + i * 2^index_shift (Q.10), in Q.out_frac, float64; each 128-entry segment gets
// the smallest shift (at most 15) that lets its largest entry fit a signed mantissa of
// `mantissa_bits` magnitude bits; entries are rounded half to even [C: reproduces every released
// entry; bin centres or half-up rounding do not].
SegmentedLut build_segmented_lut(const std::function<double(double)>& f, int64_t offset,
                                 int index_shift, int segment_shift, int out_frac,
                                 int mantissa_bits);

// 8 tables of 512 entries over the sum of squares; table i is used when sum >= alphas[i];
// entry = table[(sum - alpha) >> log2denom] << offset_diff [C Rmsnorm1/Rmsnorm2]. The tables
// approximate R(S) = sqrt(channels) * 2^(in_frac + out_frac) / sqrt(S): rsqrt of the mean square
// of the Q.in_frac input, in Q.out_frac. No eps is added: the floor a0 takes its place.
struct RsqrtLut {
    std::vector<int64_t> alphas, log2denoms, offsets_diff;
    std::vector<int32_t> tables;  // [8 * 512]
    int table_bits = 8;           // RSQRT_BITS [C]: unsigned 8-bit entries
    int in_frac = 0, out_frac = 0, channels = 0;
    double mean_square_lo = 0, mean_square_top = 0;  // the range the tables were built for (real units)

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

// The released placement [C: reproduces rmsnorm{1,2}_{alphas,log2denoms,offsets_diff,tables}]:
// with a0 and top the sums of squares (integer units) of the lowest and highest mean square,
// thresholds thr_0 = 0, thr_i = top * 8^(i - 8) (i = 1..8); alpha_i = floor(a0 + thr_i);
// log2denom_i = the smallest d with (thr_(i+1) - thr_i) / 2^d < 512; offset_diff_i = the
// smallest shift with R(a0 + thr_i) / 2^shift <= 255; entry j = round_half_even(R(a0 + thr_i +
// j * 2^log2denom_i) / 2^shift), sampled at the bin start with the unfloored a0.
RsqrtLut build_rsqrt_lut(int channels, int in_frac, int out_frac, double mean_square_lo, double mean_square_top);

struct LutSet {
    SegmentedLut silu, softplus, exp;
    RsqrtLut rsqrt1, rsqrt2;
};

// Mantissa widths: 7 magnitude bits, i.e. signed 8-bit entries [C: the released tables span
// -71..126 (SiLU), 0..124 (softplus), 0..127 (exp); exp_tABLE is 4096 x 7 b in the HLS].
constexpr int kExpMantissaBits = 7;
constexpr int kSiluMantissaBits = 7;
constexpr int kSoftplusMantissaBits = 7;
// The mean-square range of each RMSNorm's input the released tables cover [C: derived from the
// released tables, sum of squares 1e-4 .. 1.2 * 2^24 over 2560 channels (RMSNorm1) and 0.1 .. 2^24
// over 5120 (RMSNorm2), real units]. For other widths lmsim keeps the mean-square range, so the
// sums scale with the channels [A]; at 2560 / 5120 the released tables come out exactly.
constexpr double kNorm1MeanSquareLo = 1e-4 / 2560, kNorm1MeanSquareTop = 1.2 * 16777216.0 / 2560;
constexpr double kNorm2MeanSquareLo = 0.1 / 5120, kNorm2MeanSquareTop = 16777216.0 / 5120;

LutSet build_luts(int d_model, int d_inner);

nlohmann::json lut_summary(const LutSet& luts);

// The tables as the released design stores them (ref/tables/<name>.txt), for `lmsim tables`
// and the checks against the released files: name, values, and the width of a ROM word in bits
// (two's complement where `is_signed`).
struct TableFile {
    std::string name;  // e.g. "silu_table", "rmsnorm1_alphas"
    std::vector<int64_t> values;
    int word_bits = 8;
    bool is_signed = true;
};
std::vector<TableFile> released_table_files(const LutSet& luts);
// The released text format: every value followed by a comma, no spaces, no newline.
std::string released_table_text(const TableFile& table);
// $readmemh format: one word per line, in hex, two's complement in word_bits.
std::string readmemh_text(const TableFile& table);

}  // namespace lmsim
