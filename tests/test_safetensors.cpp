// Reading real mamba_ssm checkpoints and rejecting bad ones with errors that name the problem.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "model/safetensors.h"
#include "model/weights.h"

using namespace lmsim;

namespace {
std::string tmp(const std::string& name) { return "/tmp/lmsim_test_" + name; }

// Writes a raw safetensors file from a header and data bytes.
void write_raw(const std::string& path, const std::string& header, const std::string& data) {
    std::ofstream f(path, std::ios::binary);
    uint64_t n = header.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << header << data;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

// A copy of the tiny checkpoint with one tensor replaced or dropped.
std::string variant(const std::string& name, const std::string& drop, const std::string& reshape,
                    float poison = 0.0f) {
    SafetensorsFile src(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    SafetensorsWriter w;
    for (const auto& kv : src.metadata()) w.set_metadata(kv.first, kv.second);
    for (const auto& t : src.names()) {
        if (t == drop) continue;
        auto shape = src.info(t).shape;
        auto data = src.read_float(t, shape);
        if (t == reshape) shape = {shape[0] / 2, 2 * (shape.size() > 1 ? shape[1] : 1)};
        if (poison != 0.0f && t == "backbone.layers.1.mixer.D") data[3] = poison;
        w.add_f32(t, shape, data);
    }
    std::string path = tmp(name + ".safetensors");
    w.write(path);
    return path;
}
}  // namespace

TEST_CASE("safetensors: F16 and BF16 are converted to float", "[safetensors]") {
    // 1.0, -2.5, 65504 (largest half), 2^-24 (smallest subnormal half)
    uint16_t f16[4] = {0x3c00, 0xc100, 0x7bff, 0x0001};
    uint16_t bf16[2] = {0x3f80, 0xc020};  // 1.0, -2.5
    std::string data(reinterpret_cast<char*>(f16), 8);
    data.append(reinterpret_cast<char*>(bf16), 4);
    nlohmann::json h = {{"a", {{"dtype", "F16"}, {"shape", {4}}, {"data_offsets", {0, 8}}}},
                        {"b", {{"dtype", "BF16"}, {"shape", {2}}, {"data_offsets", {8, 12}}}}};
    write_raw(tmp("half.safetensors"), h.dump(), data);
    SafetensorsFile f(tmp("half.safetensors"));
    auto a = f.read_float("a", {4});
    CHECK(a[0] == 1.0f);
    CHECK(a[1] == -2.5f);
    CHECK(a[2] == 65504.0f);
    CHECK(a[3] == std::ldexp(1.0f, -24));
    auto b = f.read_float("b", {2});
    CHECK(b[0] == 1.0f);
    CHECK(b[1] == -2.5f);
}

TEST_CASE("safetensors: writer and reader round-trip with metadata", "[safetensors]") {
    SafetensorsWriter w;
    w.add_f32("x", {2, 3}, {1, 2, 3, 4, 5, 6});
    w.add_i32("ids", {3}, {7, -8, 9});
    w.set_metadata("config", "{\"k\": 1}");
    w.write(tmp("rt.safetensors"));
    SafetensorsFile f(tmp("rt.safetensors"));
    CHECK(f.read_float("x", {2, 3})[5] == 6.0f);
    CHECK(f.read_int("ids", {3})[1] == -8);
    CHECK(f.metadata().at("config") == "{\"k\": 1}");
}

TEST_CASE("safetensors: bad files get clear errors", "[safetensors][errors]") {
    SECTION("truncated file") {
        write_raw(tmp("short.safetensors"), "", "");
        std::ofstream(tmp("tiny.safetensors")) << "abc";
        CHECK_THAT(error_of([] { SafetensorsFile f(tmp("tiny.safetensors")); }), Catch::Contains("truncated file"));
        nlohmann::json h = {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}}};
        write_raw(tmp("cut.safetensors"), h.dump(), std::string(8, '\0'));
        CHECK_THAT(error_of([] { SafetensorsFile f(tmp("cut.safetensors")); }), Catch::Contains("truncated file"));
    }
    SECTION("corrupt header") {
        write_raw(tmp("badjson.safetensors"), "{not json", std::string(16, '\0'));
        CHECK_THAT(error_of([] { SafetensorsFile f(tmp("badjson.safetensors")); }), Catch::Contains("corrupt header"));
        std::ofstream o(tmp("badlen.safetensors"), std::ios::binary);
        uint64_t huge = 1ull << 40;
        o.write(reinterpret_cast<const char*>(&huge), 8);
        o << "{}";
        o.close();
        CHECK_THAT(error_of([] { SafetensorsFile f(tmp("badlen.safetensors")); }), Catch::Contains("corrupt header"));
    }
    SECTION("unknown dtype") {
        nlohmann::json h = {{"a", {{"dtype", "F8_E4M3"}, {"shape", {4}}, {"data_offsets", {0, 4}}}}};
        write_raw(tmp("dtype.safetensors"), h.dump(), std::string(4, '\0'));
        CHECK_THAT(error_of([] { SafetensorsFile f(tmp("dtype.safetensors")); }),
                   Catch::Contains("unknown dtype 'F8_E4M3'") && Catch::Contains("'a'"));
    }
    SECTION("missing tensor") {
        std::string p = variant("missing", "backbone.layers.2.mixer.dt_bias", "");
        CHECK_THAT(error_of([&] { open_safetensors_weights(p); }),
                   Catch::Contains("missing tensor 'backbone.layers.2.mixer.dt_bias'"));
    }
    SECTION("wrong shape names the tensor, expected and actual shape") {
        std::string p = variant("shape", "", "backbone.layers.0.mixer.out_proj.weight");
        CHECK_THAT(error_of([&] { open_safetensors_weights(p); }),
                   Catch::Contains("'backbone.layers.0.mixer.out_proj.weight' has shape [128, 1024], expected [256, 512]"));
    }
    SECTION("NaN and Inf in weights") {
        for (float bad : {NAN, INFINITY}) {
            std::string p = variant("nan", "", "", bad);
            auto src = open_safetensors_weights(p);
            CHECK_THAT(error_of([&] { src->layer(1); }),
                       Catch::Contains("'backbone.layers.1.mixer.D' holds a non-finite value") &&
                           Catch::Contains("flat index 3"));
        }
    }
}

TEST_CASE("safetensors: dimensions inferred from shapes when the metadata has no config", "[safetensors]") {
    SafetensorsFile src(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    SafetensorsWriter w;  // no metadata
    for (const auto& t : src.names()) w.add_f32(t, src.info(t).shape, src.read_float(t, src.info(t).shape));
    w.write(tmp("nometa.safetensors"));
    auto s = open_safetensors_weights(tmp("nometa.safetensors"));
    const ModelCard& c = s->card();
    CHECK(c.d_model == 256);
    CHECK(c.n_layer == 4);
    CHECK(c.d_state == 64);
    CHECK(c.headdim == 32);
    CHECK(c.nheads() == 16);
    CHECK(c.vocab_size == 256);
}

TEST_CASE("model cards: the five Mamba2 sizes have the documented dimensions", "[models]") {
    struct Row { const char* name; int d_in_proj, conv_dim; long long per_layer; };
    // ../shared/docs/platforms-and-math.md section 3.1 and 3.2
    for (Row r : {Row{"mamba2-130m", 3352, 1792, 3765320}, Row{"mamba2-370m", 4384, 2304, 6601056},
                  Row{"mamba2-780m", 6448, 3328, 14644112}, Row{"mamba2-1.3b", 8512, 4352, 25849280},
                  Row{"mamba2-2.7b", 10576, 5376, 40216560}}) {
        ModelCard c = find_model_card(r.name);
        CHECK(c.d_in_proj() == r.d_in_proj);
        CHECK(c.conv_dim() == r.conv_dim);
        CHECK(c.params_per_layer() == r.per_layer);
        CHECK(c.vocab_size == 50288);
    }
    CHECK_THROWS_WITH(find_model_card("mamba2-99b"), Catch::Contains("unknown model 'mamba2-99b'"));
}

TEST_CASE("a refused safetensors file releases its descriptor and mapping, a shape larger than the file is refused", "[safetensors]") {
    namespace fs = std::filesystem;
    const auto open_fds = [] {
        std::size_t n = 0;
        for (auto it = fs::directory_iterator("/proc/self/fd"); it != fs::directory_iterator(); ++it) ++n;
        return n;
    };
    const std::string path = (fs::temp_directory_path() / "lmsim-bad-header.safetensors").string();
    {
        // A header length that runs past the end of the file (found by fuzzing: each refusal
        // leaked a descriptor until the process could open no more files).
        std::ofstream f(path, std::ios::binary);
        const uint64_t n = 1000;
        f.write(reinterpret_cast<const char*>(&n), 8);
        f << "{}";
    }
    const std::size_t before = open_fds();
    for (int i = 0; i < 200; ++i) CHECK_THROWS_AS(SafetensorsFile{path}, InputError);
    const std::size_t after = open_fds();
    CHECK(after == before);
    CHECK(before > 0);

    // A shape whose element count overflows 64 bits.
    const std::string header = R"({"t":{"dtype":"U8","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})";
    {
        std::ofstream f(path, std::ios::binary);
        const uint64_t n = header.size();
        f.write(reinterpret_cast<const char*>(&n), 8);
        f << header;
    }
    try {
        SafetensorsFile file(path);
        FAIL("accepted");
    } catch (const InputError& e) {
        CHECK(std::string(e.what()).find("more elements than the file has bytes") != std::string::npos);
    }
}
