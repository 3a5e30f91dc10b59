// lmsim: a Mamba2 model after LightMamba's offline post-training quantization: integer weights
// in the layouts the hardware streams, the lookup tables, and the host-side float pieces
// (embedding, final norm, LM head).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "golden/fixed_point.h"
#include "golden/lut.h"
#include "model/model_card.h"

namespace lmsim {

enum class Precision { W4A4, W8A8 };
enum class Rotation { None, Offline, OfflineOnline };

const char* to_string(Precision p);
const char* to_string(Rotation r);
Precision parse_precision(const std::string& s);  // "w4a4" | "w8a8"
Rotation parse_rotation(const std::string& s);    // "none" | "offline" | "offline+online"

struct QuantSpec {
    Precision precision = Precision::W4A4;
    Rotation rotation = Rotation::Offline;
    bool reorder = true;             // in_proj rows in the hardware's computation order
    uint64_t rotation_seed = 0x4c4d;  // random signs of the offline rotation

    int gemm_bits() const { return precision == Precision::W4A4 ? 4 : 8; }
    int weight_extra_frac() const { return precision == Precision::W4A4 ? 0 : fx::kW8A8ExtraShift; }
    int in_proj_shift() const { return fx::kInProjShift + weight_extra_frac(); }
    int out_proj_shift() const { return fx::kOutProjShift + weight_extra_frac(); }
    int gemm_acc_bits() const {
        return precision == Precision::W4A4 ? fx::kProductBits : fx::kW8A8AccBits;
    }
};

// A [rows, cols] GEMM weight, `bits` wide, two 4-bit values per byte (low nibble first) or one
// int8 per byte; one (s1, s2) exponent pair per row and 128-column group: w = q (2^s1 + 2^s2).
struct PackedWeights {
    int rows = 0, cols = 0, bits = 4;
    std::vector<uint8_t> data;
    std::vector<uint8_t> s1, s2;  // [rows, cols / 128]

    int groups() const { return cols / fx::kWeightGroup; }
    int value(int r, int c) const {
        std::size_t i = static_cast<std::size_t>(r) * cols + c;
        if (bits == 8) return static_cast<int8_t>(data[i]);
        uint8_t b = data[i / 2];
        int nib = (i & 1) ? (b >> 4) : (b & 0xf);
        return nib >= 8 ? nib - 16 : nib;
    }
    int scale(int r, int g) const {
        std::size_t i = static_cast<std::size_t>(r) * groups() + g;
        return (1 << s1[i]) + (1 << s2[i]);
    }
    std::size_t bytes() const { return data.size() + s1.size() + s2.size(); }
};

struct QuantLayer {
    std::vector<int32_t> norm1_weight;   // [d_model]  Q.8, 11-bit
    PackedWeights in_proj;               // [d_in_proj, d_model], rows in in_proj_row order
    std::vector<int32_t> in_proj_rows;   // stored row r computes natural output in_proj_rows[r]
    std::vector<int8_t> conv_weight;     // [d_conv, conv_dim] tap-major, Q.10 with exponents
    std::vector<uint8_t> conv_weight_exp;  // [d_conv, conv_dim / 8]
    std::vector<int8_t> conv_bias;       // [conv_dim] Q.20 with exponents
    std::vector<uint8_t> conv_bias_exp;  // [conv_dim / 8]
    std::vector<int8_t> dt_bias;         // [nheads] Q.10 with exponents
    std::vector<uint8_t> dt_bias_exp;    // [nheads / 8]
    std::vector<int16_t> A;              // [nheads] Q.10 with exponents, negative
    std::vector<uint8_t> A_exp;          // [nheads / 8]
    std::vector<int8_t> D;               // [nheads] Q.10 with exponents
    std::vector<uint8_t> D_exp;          // [nheads / 8]
    std::vector<int32_t> norm2_weight;   // [d_inner] Q.8, 13-bit
    PackedWeights out_proj;              // [d_model, d_inner]
    int online_hadamard_shift = 0;       // right shift after the online Hadamard (0 when off)
};

struct QuantStats {
    long long norm_weight_saturated = 0;  // norm weights clipped to their word width
    long long weight_groups = 0;
    double weight_mse = 0;                // mean squared error of GEMM weights (real units)
};

struct QuantizedModel {
    ModelCard card;
    QuantSpec spec;
    LutSet luts;
    std::vector<float> embedding;  // [vocab, d_model] host side, rotated when rotation is on
    std::vector<float> norm_f;     // [d_model] host side (ones when folded into lm_head)
    std::vector<float> lm_head;    // [vocab, d_model] host side
    std::vector<QuantLayer> layers;
    QuantStats stats;

    std::size_t weight_bytes() const;
};

// Checks that the model's dimensions fit LightMamba's tiling (groups of 8 and 128, head groups
// of 8, one B/C group); throws InputError naming the dimension otherwise.
void check_hardware_dims(const ModelCard& card);

// Natural in_proj output index of each row in the hardware's computation order: B, C tiles;
// then per 8-head group, its dt tile followed by (x tile, z tile) pairs [C].
std::vector<int32_t> reordered_in_proj_rows(const ModelCard& card);

}  // namespace lmsim
