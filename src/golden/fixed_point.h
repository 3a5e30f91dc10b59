// lmsim: LightMamba's integer arithmetic, element by element and group by group. This header is
// the one definition of the hardware's number formats, quantizer and shift requantization; the
// golden model composes these primitives in algorithm order and the SystemC datapath will
// compose the same primitives in hardware order.
//
// Sources: PKU-SEC-Lab/LightMamba mamba_cpp/layers.h and mamba_cpp/util.h (commit 084bcfc),
// summarised in ../shared/docs/platforms-and-math.md section 4.4. Tags: [C] read from the code,
// [A] an lmsim assumption where the code leaves the value open (ref.zip and the Python
// quantization library are not public); each [A] is explained in docs/quantization.md.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>

#include "common/error.h"

namespace lmsim::fx {

// ---- Word widths (signed bits) of the hardware, asserted by range checks ---------------------
constexpr int kActivationBits = 32;   // X_T: activations, residual, GEMM outputs [C]
constexpr int kProductBits = 34;      // XD_T: GEMM/conv accumulators and shifted products [C]
constexpr int kDbuProductBits = 37;   // DBU_T: dB*x shifted product [C]
constexpr int kHtcAccBits = 38;       // HTC_T: h*C accumulator [C]
constexpr int kNorm1WeightBits = 11;  // LNW1_T [C]
constexpr int kNorm2WeightBits = 13;  // LNW2_T [C]
constexpr int kW8A8AccBits = 42;      // [A] W8A8 GEMM accumulator: 34 + 8 for the wider operands

// ---- Grouping ---------------------------------------------------------------------------------
constexpr int kGroup = 8;             // CP: channels per dynamic quantization group [C]
constexpr int kWeightGroup = 128;     // G: input channels per weight-scale pair [C]
constexpr int kMaxActExponent = 15;   // 4-bit activation exponent, clamp(…, 0, 15) [C]
constexpr int kMaxWeightExponent = 7; // 3-bit weight exponents s1, s2 [C]
constexpr int kMaxBiasExponent = 31;  // 5-bit conv/dt bias exponent [C conv; A dt]
constexpr int kMaxAExponent = 7;      // 3-bit exponent of A [C]
constexpr int kMaxDtBiasExponent = 7; // 3-bit BIAS_S register [C src/dtadapt.h]; the released dt_bs reach 7
constexpr int kMaxDExponent = 7;      // 3-bit D_weight_s [C src/uD.h]
constexpr int kABits = 16;            // A stored as 16-bit [C]
constexpr int kDBits = 8;             // D skip weight bits [C src/uD.h: 8-bit D_weight]
constexpr int kConvWeightBits = 8;    // [C]
constexpr int kBiasBits = 8;          // [C]

// ---- Fixed shifts of the datapath [C] --------------------------------------------------------
constexpr int kRsqrtShift1 = 12;      // RSQRT_TRUNC_MUL1: (x * rsqrt) >> 12
constexpr int kNormWeightShift = 8;   // RSQRT_TRUNC_MUL2: (. * lnw) >> 8
constexpr int kInProjShift = 10;      // in_proj acc >> 10
constexpr int kOutProjShift = 12;     // out_proj acc >> 12
constexpr int kConvShift = 10;        // conv acc >> 10
constexpr int kDtAShift = 10;         // (dt*A) >> 10
constexpr int kDbuShift = 11;         // (dB*x) >> 11
constexpr int kUdShift = 8;           // (x*D) >> 8
constexpr int kDahShift = 6;          // (dA*h) >> 6
constexpr int kHtcShift = 17;         // sum(h*C) >> 17
constexpr int kYzShift = 10;          // (y*z) >> 10
constexpr int kW8A8ExtraShift = 4;    // [A] W8A8 weights carry 4 more fraction bits

// ---- Number formats: fraction bits of each tensor (value = integer / 2^frac) -----------------
// [C] fixes the residual (O_RES = 10) and the LUT inputs (offsets -25600 and -20480 are -25 and
// -20 in Q.10). The other formats follow from the fixed shifts once a few free choices [A] are
// made; the static_asserts below check that every shift turns its inputs into its output.
constexpr int kResidualFrac = 10;         // [C]
constexpr int kLutInFrac = 10;            // SiLU / softplus / exp inputs [C]
constexpr int kNormWeightFrac = 8;        // LNW: 1.0 == 256, matching the >> 8 [A]
constexpr int kNorm1OutFrac = 10;         // [C: the released rsqrt1 table is 2^22 sqrt(C / S), so x * rsqrt >> 12 is Q.10]
constexpr int kRsqrt1Frac = kNorm1OutFrac + kRsqrtShift1 - kResidualFrac;  // 12
constexpr int kInProjWeightFrac = kLutInFrac + kInProjShift - kNorm1OutFrac;  // 10
constexpr int kConvWeightFrac = kLutInFrac + kConvShift - kLutInFrac;         // 10
constexpr int kConvBiasFrac = kLutInFrac + kConvWeightFrac;                    // 20 (product units)
constexpr int kDtBiasFrac = kLutInFrac;                                         // 10
constexpr int kSiluOutFrac = 10;          // u, B, C, SiLU(z) [C: the released SiLU table is Q.10]
constexpr int kDtFrac = 10;               // softplus output [C: the released softplus table is Q.10]
constexpr int kAFrac = kLutInFrac + kDtAShift - kDtFrac;                        // 10
constexpr int kDAFrac = 6;                // forced: dA*h >> 6 must keep h's format
constexpr int kDBFrac = kDtFrac + kSiluOutFrac;                                 // 20 (no shift)
constexpr int kStateFrac = kDBFrac + kSiluOutFrac - kDbuShift;                  // 19
constexpr int kYFrac = kStateFrac + kSiluOutFrac - kHtcShift;                   // 12
constexpr int kDFrac = kYFrac + kUdShift - kSiluOutFrac;                        // 10
constexpr int kYzFrac = kYFrac + kSiluOutFrac - kYzShift;                       // 12
constexpr int kNorm2OutFrac = 12;         // [C: the released rsqrt2 table is 2^24 sqrt(C / S), Q.12 for yz in Q.12]
constexpr int kRsqrt2Frac = kNorm2OutFrac + kRsqrtShift1 - kYzFrac;             // 12
constexpr int kOutProjWeightFrac = kResidualFrac + kOutProjShift - kNorm2OutFrac;  // 10

static_assert(kDAFrac + kStateFrac - kDahShift == kStateFrac, "dA*h keeps the state format");
static_assert(kSiluOutFrac + kDFrac - kUdShift == kYFrac, "x*D lands in y's format");
static_assert(kNorm1OutFrac + kInProjWeightFrac - kInProjShift == kLutInFrac, "in_proj output");
static_assert(kNorm2OutFrac + kOutProjWeightFrac - kOutProjShift == kResidualFrac, "out_proj");

// ---- LUT geometry [C]: index = clamp((v - offset) >> shift, 0, entries-1) ---------------------
constexpr int kLutEntries = 4096;
constexpr int kLutShiftEntries = 32;
constexpr int kRsqrtTables = 8;
constexpr int kRsqrtEntries = 512;

// ---- Primitives --------------------------------------------------------------------------------
inline int bit_length(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }
inline int64_t max_signed(int bits) { return (int64_t{1} << (bits - 1)) - 1; }
inline int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

// Left shift of a possibly negative value. In C++17 `v << s` is undefined for negative v, so
// the datapath's "<<" (the hardware's shift of a two's-complement word) is written as a
// multiplication by 2^s, which compilers emit as the same shift.
template <typename T>
constexpr T shl(T v, int s) {
    return static_cast<T>(v * (static_cast<T>(1) << s));
}

[[noreturn]] void throw_range(const char* what, int64_t value, int bits);
inline void check_range(int64_t v, int bits, const char* what) {
    if (abs64(v) > max_signed(bits)) throw_range(what, v, bits);
}

// Group exponent of the PoT quantizer: s = clamp(bitlen(absmax - 1) - (bits - 1), 0, 15),
// with absmax - 1 only when absmax >= 1 [C Quant].
inline int quant_exponent(int64_t absmax, int bits) {
    int64_t m = absmax >= 1 ? absmax - 1 : absmax;
    int s = bit_length(static_cast<uint64_t>(m)) - (bits - 1);
    return s < 0 ? 0 : (s > kMaxActExponent ? kMaxActExponent : s);
}

// Round half up by two arithmetic shifts [C Quant]: ((x >> (s - 1)) + 1) >> 1 for s > 0, x for
// s = 0. For |x| < 2^31 (checked by the quantizer) this cannot overflow x's type.
template <typename T>
inline T round_shift(T x, int s) {
    return s > 0 ? static_cast<T>(((x >> (s - 1)) + 1) >> 1) : x;
}

template <typename T>
inline T saturate(T v, int bits) {
    const T hi = static_cast<T>(max_signed(bits)), lo = static_cast<T>(-hi - 1);
    return v < lo ? lo : (v > hi ? hi : v);
}

// One element of the quantizer: round half up, then saturate to `bits` signed [C Quant].
inline int32_t quant_value(int64_t x, int s, int bits) {
    return static_cast<int32_t>(saturate(round_shift(x, s), bits));
}

// Quantizes one group of `n` values (n = kGroup in the datapath). Checks that the inputs fit
// the 32-bit activation word, as the hardware's quantizer input does [C].
template <typename In, typename Out>
inline uint8_t quantize_group(const In* x, int n, int bits, Out* q, const char* what) {
    In hi = 0, lo = 0;
    for (int i = 0; i < n; ++i) {
        hi = x[i] > hi ? x[i] : hi;
        lo = x[i] < lo ? x[i] : lo;
    }
    const int64_t absmax = std::max(static_cast<int64_t>(hi), -static_cast<int64_t>(lo));
    check_range(absmax, kActivationBits, what);
    const int s = quant_exponent(absmax, bits);
    for (int i = 0; i < n; ++i) q[i] = static_cast<Out>(saturate(round_shift(x[i], s), bits));
    return static_cast<uint8_t>(s);
}

// Quantizes `n` values in consecutive groups of kGroup.
template <typename In, typename Out>
inline void quantize_groups(const In* x, int n, int bits, Out* q, uint8_t* s, const char* what) {
    for (int g = 0; g < n / kGroup; ++g)
        s[g] = quantize_group(x + g * kGroup, kGroup, bits, q + g * kGroup, what);
}

// A product of two quantized values, shifted left by the sum of their exponents and right by
// the fixed requantization shift; the shifted product is checked against `product_bits` and
// the result against the 32-bit activation word [C].
inline int32_t shifted_product(int64_t a, int64_t b, int exponent_sum, int right_shift,
                               int product_bits, const char* what) {
    int64_t p = shl(a * b, exponent_sum);
    check_range(p, product_bits, what);
    int64_t r = p >> right_shift;
    check_range(r, kActivationBits, what);
    return static_cast<int32_t>(r);
}

// value of a float in a fixed-point format, rounded to nearest.
int64_t to_fixed(double v, int frac);
double from_fixed(int64_t v, int frac);

}  // namespace lmsim::fx
