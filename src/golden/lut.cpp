#include "golden/lut.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>


namespace lmsim {

SegmentedLut build_segmented_lut(const std::function<double(double)>& f, int64_t offset,
                                 int index_shift, int segment_shift, int out_frac,
                                 int mantissa_bits) {
    SegmentedLut lut;
    lut.offset = offset;
    lut.index_shift = index_shift;
    lut.segment_shift = segment_shift;
    lut.out_frac = out_frac;
    lut.mantissa_bits = mantissa_bits;
    lut.table.resize(fx::kLutEntries);
    lut.shift_table.resize(fx::kLutShiftEntries);
    const int per_segment = fx::kLutEntries / fx::kLutShiftEntries;  // 2^(segment-index shift)
    const int max_shift = (1 << lut.shift_bits) - 1;
    const int64_t mant_max = (int64_t{1} << mantissa_bits) - 1;
    std::vector<double> target(fx::kLutEntries);
    for (int i = 0; i < fx::kLutEntries; ++i) {
        // Start of bin i, in Q.10 units then in real units.
        const double start = static_cast<double>(offset) + i * std::ldexp(1.0, index_shift);
        target[i] = std::ldexp(f(std::ldexp(start, -fx::kLutInFrac)), out_frac);
    }
    for (int k = 0; k < fx::kLutShiftEntries; ++k) {
        double peak = 0;
        for (int i = k * per_segment; i < (k + 1) * per_segment; ++i)
            peak = std::max(peak, std::fabs(std::nearbyint(target[i])));
        int shift = std::max(0, fx::bit_length(static_cast<uint64_t>(peak)) - mantissa_bits);
        shift = std::min(shift, max_shift);
        lut.shift_table[k] = static_cast<uint8_t>(shift);
        for (int i = k * per_segment; i < (k + 1) * per_segment; ++i) {
            // Round half to even (the default rounding mode): ties do occur, e.g. SiLU at 16.875.
            const int64_t m = static_cast<int64_t>(std::nearbyint(std::ldexp(target[i], -shift)));
            lut.table[i] = static_cast<int32_t>(std::clamp(m, -mant_max - 1, mant_max));
        }
    }
    return lut;
}

double RsqrtLut::exact(double sum) const {
    return std::sqrt(static_cast<double>(channels)) * std::ldexp(1.0, in_frac + out_frac) / std::sqrt(sum);
}

RsqrtLut build_rsqrt_lut(int channels, int in_frac, int out_frac, double mean_square_lo, double mean_square_top) {
    RsqrtLut lut;
    lut.channels = channels;
    lut.in_frac = in_frac;
    lut.out_frac = out_frac;
    lut.mean_square_lo = mean_square_lo;
    lut.mean_square_top = mean_square_top;
    const int T = fx::kRsqrtTables, E = fx::kRsqrtEntries;
    // Each table covers 8 times the sums of the one before (3 more bits of log2denom) [C].
    constexpr double kTableRatio = 8.0;
    const double entry_max = std::ldexp(1.0, lut.table_bits) - 1;
    const double a0 = channels * std::ldexp(mean_square_lo, 2 * in_frac);
    const double top = channels * std::ldexp(mean_square_top, 2 * in_frac);
    std::vector<double> thr(T + 1, 0.0);
    for (int i = 1; i <= T; ++i) thr[i] = top * std::pow(kTableRatio, i - T);
    lut.tables.resize(static_cast<std::size_t>(T) * E);
    for (int t = 0; t < T; ++t) {
        const double alpha = a0 + thr[t];
        int d = 0;
        while ((thr[t + 1] - thr[t]) / std::ldexp(1.0, d) >= E) ++d;
        int shift = 0;
        while (lut.exact(alpha) / std::ldexp(1.0, shift) > entry_max) ++shift;
        lut.alphas.push_back(static_cast<int64_t>(std::floor(alpha)));
        lut.log2denoms.push_back(d);
        lut.offsets_diff.push_back(shift);
        for (int j = 0; j < E; ++j) {
            const double v = std::nearbyint(lut.exact(alpha + j * std::ldexp(1.0, d)) / std::ldexp(1.0, shift));
            lut.tables[static_cast<std::size_t>(t) * E + j] = static_cast<int32_t>(std::min(v, entry_max));
        }
    }
    return lut;
}

LutSet build_luts(int d_model, int d_inner) {
    using namespace fx;
    LutSet s;
    // Offsets and shifts [C]: SiLU alpha -25600, log2denom 5 / 12; softplus -25600, 4 / 11;
    // exp -20480, 3 / 10.
    s.silu = build_segmented_lut([](double v) { return v / (1.0 + std::exp(-v)); }, -25600, 5, 12,
                                 kSiluOutFrac, kSiluMantissaBits);
    s.softplus = build_segmented_lut([](double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); },
                                     -25600, 4, 11, kDtFrac, kSoftplusMantissaBits);
    s.exp = build_segmented_lut([](double v) { return std::exp(v); }, -20480, 3, 10, kDAFrac,
                                kExpMantissaBits);
    s.rsqrt1 = build_rsqrt_lut(d_model, kResidualFrac, kRsqrt1Frac, kNorm1MeanSquareLo, kNorm1MeanSquareTop);
    s.rsqrt2 = build_rsqrt_lut(d_inner, kYzFrac, kRsqrt2Frac, kNorm2MeanSquareLo, kNorm2MeanSquareTop);
    return s;
}

nlohmann::json lut_summary(const LutSet& luts) {
    auto seg = [](const SegmentedLut& l) {
        return nlohmann::json{{"entries", l.table.size()}, {"offset", l.offset},
                              {"index_shift", l.index_shift}, {"segment_shift", l.segment_shift},
                              {"mantissa_bits", l.mantissa_bits}, {"out_frac", l.out_frac}};
    };
    auto rs = [](const RsqrtLut& l) {
        return nlohmann::json{{"alphas", l.alphas}, {"log2denoms", l.log2denoms},
                              {"offsets_diff", l.offsets_diff}, {"mean_square_lo", l.mean_square_lo},
                              {"mean_square_top", l.mean_square_top}, {"out_frac", l.out_frac}};
    };
    return {{"silu", seg(luts.silu)}, {"softplus", seg(luts.softplus)}, {"exp", seg(luts.exp)},
            {"rsqrt1", rs(luts.rsqrt1)}, {"rsqrt2", rs(luts.rsqrt2)}};
}

std::vector<TableFile> released_table_files(const LutSet& luts) {
    std::vector<TableFile> out;
    auto seg = [&](const std::string& name, const SegmentedLut& l) {
        out.push_back({name + "_table", std::vector<int64_t>(l.table.begin(), l.table.end()), l.mantissa_bits + 1, true});
        out.push_back({name + "_table_s", std::vector<int64_t>(l.shift_table.begin(), l.shift_table.end()), l.shift_bits, false});
    };
    seg("silu", luts.silu);
    seg("softplus", luts.softplus);
    seg("exp", luts.exp);
    auto rs = [&](const std::string& name, const RsqrtLut& l) {
        // ROM word widths: alphas are compared with the 64-bit sum (X_POW2SUM_T) [C]; the
        // log2denoms (up to 39) and offsets (up to 17) fit 6 and 5 bits [D].
        constexpr int kAlphaBits = 64, kLog2DenomBits = 6, kOffsetBits = 5;
        out.push_back({name + "_alphas", l.alphas, kAlphaBits, true});
        out.push_back({name + "_log2denoms", l.log2denoms, kLog2DenomBits, false});
        out.push_back({name + "_offsets_diff", l.offsets_diff, kOffsetBits, false});
        out.push_back({name + "_tables", std::vector<int64_t>(l.tables.begin(), l.tables.end()), l.table_bits, false});
    };
    rs("rmsnorm1", luts.rsqrt1);
    rs("rmsnorm2", luts.rsqrt2);
    return out;
}

std::string released_table_text(const TableFile& table) {
    std::string s;
    for (int64_t v : table.values) s += std::to_string(v) + ",";
    return s;
}

std::string readmemh_text(const TableFile& table) {
    const int digits = (table.word_bits + 3) / 4;
    const uint64_t mask = table.word_bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << table.word_bits) - 1;
    std::string s = "// lmsim tables: " + table.name + ", " + std::to_string(table.values.size()) + " words of " +
                    std::to_string(table.word_bits) + (table.is_signed ? " bits, two's complement\n" : " bits\n");
    static const char* hex = "0123456789abcdef";
    for (int64_t v : table.values) {
        const bool fits = table.word_bits >= 64 ||
                          (table.is_signed ? v >= -(int64_t{1} << (table.word_bits - 1)) && v < (int64_t{1} << (table.word_bits - 1))
                                           : v >= 0 && v < (int64_t{1} << table.word_bits));
        if (!fits)
            throw std::logic_error(table.name + ": value " + std::to_string(v) + " does not fit a " +
                                   std::to_string(table.word_bits) + "-bit ROM word");
        const uint64_t u = static_cast<uint64_t>(v) & mask;
        std::string w(static_cast<std::size_t>(digits), '0');
        for (int d = 0; d < digits; ++d) w[static_cast<std::size_t>(digits - 1 - d)] = hex[(u >> (4 * d)) & 15];
        s += w + "\n";
    }
    return s;
}

}  // namespace lmsim
