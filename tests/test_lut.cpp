// Lookup tables: built as the released design's, entry for entry (against checksums and samples
// of PKU-SEC-Lab/LightMamba ref/tables, tests/data/released_tables.json), and their worst-case
// error against the exact functions within the bounds their geometry gives (bin width x slope,
// plus half a mantissa step).
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "golden/lut.h"

using namespace lmsim;

namespace {
double silu(double v) { return v / (1 + std::exp(-v)); }
double softplus(double v) { return v > 20 ? v : std::log1p(std::exp(v)); }
double expf_(double v) { return std::exp(v); }

uint64_t fnv1a64(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

nlohmann::json released() {
    std::ifstream f(std::string(LMSIM_TEST_DATA) + "/released_tables.json");
    return nlohmann::json::parse(f);
}

// Worst error of each 128-entry segment of `lut` against f, minus the segment's bound: the
// entry is f at the start of its bin (so up to a whole bin away, times the largest slope over
// the segment), rounded to half a mantissa step of the segment's shift.
double worst_excess(const SegmentedLut& lut, double (*f)(double), double (*slope)(double), double lo, double hi) {
    double worst = -1;
    const double bin = std::ldexp(1.0, lut.index_shift - fx::kLutInFrac);
    for (int64_t v = fx::to_fixed(lo, 10); v < fx::to_fixed(hi, 10); ++v) {
        const double x = fx::from_fixed(v, 10);
        const int64_t k = std::clamp<int64_t>((v - lut.offset) >> lut.segment_shift, 0, 31);
        const double step = std::ldexp(1.0, lut.shift_table[k] - lut.out_frac);
        const double bound = bin * std::max(std::fabs(slope(x)), std::fabs(slope(x - bin))) * 1.01 + 0.5 * step + 1e-9;
        const double got = fx::from_fixed(lut.lookup(v), lut.out_frac);
        worst = std::max(worst, std::fabs(got - f(x)) - bound);
    }
    return worst;
}
double silu_slope(double v) {
    const double s = 1 / (1 + std::exp(-v));
    return s * (1 + v * (1 - s));
}
double softplus_slope(double v) { return 1 / (1 + std::exp(-v)); }
}  // namespace

TEST_CASE("lookup tables for Mamba2-2.7B reproduce every entry of the released tables", "[lut][released]") {
    const nlohmann::json ref = released()["tables"];
    const std::vector<TableFile> files = released_table_files(build_luts(2560, 5120));
    REQUIRE(files.size() == ref.size());
    for (const TableFile& t : files) {
        INFO(t.name);
        REQUIRE(ref.contains(t.name));
        const nlohmann::json& r = ref[t.name];
        CHECK(t.values.size() == r["entries"].get<std::size_t>());
        for (auto& [index, value] : r["samples"].items()) {
            INFO("entry " << index);
            CHECK(t.values.at(std::stoul(index)) == value.get<int64_t>());
        }
        // The whole file: same text, so every entry, as the released flow wrote it.
        const std::string text = released_table_text(t);
        CHECK(text.size() == r["chars"].get<std::size_t>());
        char hash[17];
        std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
        CHECK(std::string(hash) == r["fnv1a64"].get<std::string>());
    }
}

TEST_CASE("LUT geometry follows the released code", "[lut]") {
    LutSet l = build_luts(256, 512);
    CHECK(l.silu.table.size() == 4096);
    CHECK(l.silu.shift_table.size() == 32);
    CHECK(l.silu.input_min() == -25.0);
    CHECK(l.silu.input_max() == 103.0);
    CHECK(l.softplus.input_max() == 39.0);
    CHECK(l.exp.input_min() == -20.0);
    CHECK(l.exp.input_max() == 12.0);
    for (const SegmentedLut* t : {&l.silu, &l.softplus, &l.exp}) {
        for (int v : t->table) CHECK((v >= -128 && v <= 127));  // signed 8-bit mantissas [C]
        for (int s : t->shift_table) CHECK(s <= 15);              // 4-bit shifts [C]
    }
    CHECK(l.rsqrt1.tables.size() == 8 * 512);
    for (int v : l.rsqrt1.tables) CHECK((v >= 0 && v <= 255));  // RSQRT_BITS = 8 [C]
}

TEST_CASE("SiLU, softplus and exp tables: worst-case error within each segment's geometric bound", "[lut]") {
    LutSet l = build_luts(2560, 5120);
    CHECK(worst_excess(l.silu, silu, silu_slope, -25.0, 103.0) <= 0);
    CHECK(worst_excess(l.softplus, softplus, softplus_slope, -25.0, 39.0) <= 0);
    CHECK(worst_excess(l.exp, expf_, expf_, -20.0, 0.0) <= 0);  // dt*A <= 0
    // Inputs past either end take the end entries (clamped index), as in the HLS.
    CHECK(l.silu.lookup(fx::to_fixed(-40.0, 10)) == l.silu.lookup(fx::to_fixed(-25.0, 10)));
    CHECK(l.exp.lookup(fx::to_fixed(30.0, 10)) == l.exp.lookup(fx::to_fixed(12.0, 10) - 1));
}

TEST_CASE("rsqrt tables: error against rsqrt of the mean square within the bin and entry bound", "[lut]") {
    for (int channels : {256, 2560, 5120}) {
        LutSet l = build_luts(channels, 2 * channels);
        for (const RsqrtLut* t : {&l.rsqrt1, &l.rsqrt2}) {
            const double lo = t->channels * std::ldexp(t->mean_square_lo, 2 * t->in_frac);
            const double top = t->channels * std::ldexp(t->mean_square_top, 2 * t->in_frac);
            double worst = -1;
            for (double sum = lo; sum < top; sum *= 1.003) {
                const int64_t s = static_cast<int64_t>(std::ceil(sum));
                const double got = static_cast<double>(t->lookup(s));
                const double exact = t->exact(static_cast<double>(s));
                int table = 0;
                for (int i = 0; i < 8; ++i)
                    if (s >= t->alphas[i]) table = i;
                // The entry is R at the start of the sum's bin (the released tables sample the
                // unfloored alpha, up to 1 below): R falls by at most R(start - 1) - R(sum)
                // across the bin; the 8-bit entry adds half an LSB of 2^offset_diff.
                const double bin = std::ldexp(1.0, static_cast<int>(t->log2denoms[table]));
                const int64_t idx = std::min<int64_t>((s - t->alphas[table]) >> t->log2denoms[table], 511);
                const double start = static_cast<double>(t->alphas[table]) + idx * bin;
                const double bound = t->exact(std::max(start - 1, 1.0)) - exact +
                                     0.5 * std::ldexp(1.0, static_cast<int>(t->offsets_diff[table])) + 1e-6;
                worst = std::max(worst, std::fabs(got - exact) - bound);
                if (table > 0) REQUIRE(bin / s <= 14.0 / 512);  // tables 1..7 cover 8x each in 512 bins
            }
            INFO("channels " << channels << ", in_frac " << t->in_frac);
            CHECK(worst <= 0);
        }
    }
}

TEST_CASE("lmsim tables writes the released text files and $readmemh files", "[lut][cli]") {
    const std::string out = (std::filesystem::temp_directory_path() / "lmsim-tables").string();
    std::filesystem::remove_all(out);
    lmsim_test::Result r = lmsim_test::run("tables --model mamba2-2.7b --out " + out);
    INFO(r.output);
    REQUIRE(r.code == 0);
    const nlohmann::json ref = released()["tables"];
    for (auto& [name, t] : ref.items()) {
        INFO(name);
        std::ifstream f(out + "/" + name + ".txt");
        const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        char hash[17];
        std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
        CHECK(std::string(hash) == t["fnv1a64"].get<std::string>());
        // The hex file: one word per line after the comment, same count, same first value.
        std::ifstream h(out + "/" + name + ".hex");
        std::string line;
        std::getline(h, line);
        CHECK(line.rfind("//", 0) == 0);
        std::vector<std::string> words;
        while (std::getline(h, line)) words.push_back(line);
        CHECK(words.size() == t["entries"].get<std::size_t>());
    }
    // exp_table entry 4095 is 127: 8-bit word 7f; rmsnorm1_alphas are 64-bit words.
    std::ifstream h(out + "/silu_table.hex");
    std::string line, last;
    while (std::getline(h, line)) last = line;
    CHECK(last.size() == 2);
    CHECK(lmsim_test::run("tables --model mamba2-nonexistent --out " + out).code == 2);
}
