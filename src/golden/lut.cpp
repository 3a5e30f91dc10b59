#include "golden/lut.h"

#include <algorithm>
#include <cmath>

#include "golden/float_model.h"

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
        // Centre of bin i, in Q.10 units then in real units.
        double centre = static_cast<double>(offset) + (i + 0.5) * std::ldexp(1.0, index_shift);
        target[i] = std::ldexp(f(std::ldexp(centre, -fx::kLutInFrac)), out_frac);
    }
    for (int k = 0; k < fx::kLutShiftEntries; ++k) {
        double peak = 0;
        for (int i = k * per_segment; i < (k + 1) * per_segment; ++i)
            peak = std::max(peak, std::fabs(std::nearbyint(target[i])));
        int shift = std::max(0, fx::bit_length(static_cast<uint64_t>(peak)) - mantissa_bits);
        shift = std::min(shift, max_shift);
        lut.shift_table[k] = static_cast<uint8_t>(shift);
        for (int i = k * per_segment; i < (k + 1) * per_segment; ++i) {
            int64_t m = std::llround(std::ldexp(target[i], -shift));
            lut.table[i] = static_cast<int32_t>(std::clamp(m, -mant_max - 1, mant_max));
        }
    }
    return lut;
}

double RsqrtLut::exact(double sum) const {
    double mean = std::ldexp(sum, -2 * in_frac) / channels;
    return std::ldexp(1.0 / std::sqrt(mean + eps), out_frac);
}

RsqrtLut build_rsqrt_lut(int channels, int in_frac, int out_frac, double eps, double rms_min,
                         double rms_max, int table_bits) {
    RsqrtLut lut;
    lut.channels = channels;
    lut.in_frac = in_frac;
    lut.out_frac = out_frac;
    lut.eps = eps;
    lut.rms_min = rms_min;
    lut.rms_max = rms_max;
    lut.table_bits = table_bits;
    const int T = fx::kRsqrtTables, E = fx::kRsqrtEntries;
    // Sum of squares (integer domain) at the ends of the design range.
    auto sum_of = [&](double rms) { return channels * std::ldexp(rms * rms, 2 * in_frac); };
    double lo = sum_of(rms_min), hi = sum_of(rms_max);
    const uint64_t entry_max = (uint64_t{1} << table_bits) - 1;
    lut.tables.resize(static_cast<std::size_t>(T) * E);
    // Placement: table t aims to end at from_t * (hi / from_t)^(1 / (T - t)), from_0 = lo (table
    // 0 starts at 0), from_t = alpha_t; bins are powers of two, rounded down or up per table
    // (all 2^(T-1) choices are tried), the next table starts where the previous really ends,
    // and the last table takes the smallest bin that reaches hi. The choice kept minimises the
    // largest bin relative to the sum where it is used.
    auto place = [&](unsigned mask, std::vector<int64_t>* alphas, std::vector<int>* denoms) {
        double start = 0.0, worst = 0.0;
        for (int t = 0; t < T; ++t) {
            double from = t == 0 ? lo : start;
            double aim = from * std::pow(hi / from, 1.0 / (T - t));
            double bins = std::log2(std::max(1.0, (aim - start) / E));
            int d = (mask >> t) & 1 ? static_cast<int>(std::ceil(bins)) : static_cast<int>(std::floor(bins));
            if (t + 1 == T) d = std::max(0, static_cast<int>(std::ceil(std::log2(std::max(1.0, (hi - start) / E)))));
            worst = std::max(worst, std::ldexp(1.0, d) / from);
            if (alphas) alphas->push_back(static_cast<int64_t>(start));
            if (denoms) denoms->push_back(d);
            start += std::ldexp(static_cast<double>(E), d);
        }
        return worst;
    };
    unsigned best_mask = 0;
    double best_worst = INFINITY;
    for (unsigned mask = 0; mask < (1u << (T - 1)); ++mask) {
        double w = place(mask, nullptr, nullptr);
        if (w < best_worst) best_worst = w, best_mask = mask;
    }
    std::vector<int64_t> alphas;
    std::vector<int> denoms;
    place(best_mask, &alphas, &denoms);
    for (int t = 0; t < T; ++t) {
        int64_t alpha = alphas[t];
        int log2denom = denoms[t];
        lut.alphas.push_back(alpha);
        lut.log2denoms.push_back(log2denom);
        std::vector<double> v(E);
        double peak = 0;
        for (int j = 0; j < E; ++j) {
            double centre = alpha + (j + 0.5) * std::ldexp(1.0, log2denom);
            v[j] = lut.exact(centre);
            peak = std::max(peak, v[j]);
        }
        int offset_diff = std::max(0, fx::bit_length(static_cast<uint64_t>(std::llround(peak))) - table_bits);
        lut.offsets_diff.push_back(offset_diff);
        for (int j = 0; j < E; ++j) {
            int64_t m = std::llround(std::ldexp(v[j], -offset_diff));
            lut.tables[static_cast<std::size_t>(t) * E + j] =
                static_cast<int32_t>(std::min<uint64_t>(static_cast<uint64_t>(m), entry_max));
        }
    }
    return lut;
}

LutSet build_luts(int d_model, int d_inner, double eps) {
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
    s.rsqrt1 = build_rsqrt_lut(d_model, kResidualFrac, kRsqrt1Frac, eps, kNorm1RmsMin,
                               kNorm1RmsMax, kRsqrtTableBits);
    s.rsqrt2 = build_rsqrt_lut(d_inner, kYzFrac, kRsqrt2Frac, eps, kNorm2RmsMin, kNorm2RmsMax,
                               kRsqrtTableBits);
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
                              {"offsets_diff", l.offsets_diff}, {"rms_min", l.rms_min},
                              {"rms_max", l.rms_max}, {"out_frac", l.out_frac}};
    };
    return {{"silu", seg(luts.silu)}, {"softplus", seg(luts.softplus)}, {"exp", seg(luts.exp)},
            {"rsqrt1", rs(luts.rsqrt1)}, {"rsqrt2", rs(luts.rsqrt2)}};
}

}  // namespace lmsim
