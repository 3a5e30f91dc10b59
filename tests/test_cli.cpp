// The command line as a user meets it: exit codes, messages, and no half-written output.
#include <catch2/catch.hpp>

#include "cli_run.h"
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "model/safetensors.h"

namespace {
using lmsim_test::Result;
using lmsim_test::run;
const std::string kTiny = std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors";
const std::string kVectors = std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.vectors.safetensors";
bool exists(const std::string& p) { return std::ifstream(p).good(); }
}  // namespace

TEST_CASE("lmsim golden fp32 reproduces the reference vectors file", "[cli]") {
    std::string out = "/tmp/lmsim_cli_fp32.safetensors";
    std::remove(out.c_str());
    Result r = run("golden --weights " + kTiny + " --teacher-forcing " + kVectors +
                   " --tokens 8 --precision fp32 --out " + out);
    INFO(r.output);
    REQUIRE(r.code == 0);
    lmsim::SafetensorsFile f(out);
    auto mine = f.read_float("decode_logits", {8, 256});
    lmsim::SafetensorsFile ref(kVectors);
    auto theirs = ref.read_float("decode_logits", {8, 256});
    for (int i = 0; i < 8 * 256; ++i) REQUIRE(std::fabs(mine[i] - theirs[i]) < 1e-3);
    CHECK(f.read_int("input_ids", {1, 8}) == ref.read_int("input_ids", {1, 8}));
}

TEST_CASE("lmsim golden w4a4 writes JSON with a layer dump", "[cli]") {
    std::string out = "/tmp/lmsim_cli_w4.json";
    Result r = run("golden --model mamba2-tiny --seed 5 --prompt 1,2,3 --tokens 2 --precision w4a4 "
                   "--dump-layer 2 --out " + out);
    INFO(r.output);
    REQUIRE(r.code == 0);
    std::ifstream f(out);
    std::stringstream s;
    s << f.rdbuf();
    CHECK(s.str().find("\"layer2.h_q\"") != std::string::npos);
    CHECK(s.str().find("\"decode_logits\"") != std::string::npos);
}

TEST_CASE("lmsim golden: bad input exits 2 with a clear message and writes nothing", "[cli][errors]") {
    std::string out = "/tmp/lmsim_cli_bad.safetensors";
    std::remove(out.c_str());
    struct Case { std::string args, message; };
    for (const Case& c : {
             Case{"golden --model mamba2-tiny --prompt 1,x --out " + out, "'x' is not a token id"},
             Case{"golden --model mamba2-tiny --prompt 1 --precision w3a3 --out " + out, "unknown precision 'w3a3'"},
             Case{"golden --model mamba2-tiny --prompt 1 --rotation spin --out " + out, "unknown rotation 'spin'"},
             Case{"golden --model nosuch --prompt 1 --out " + out, "unknown model 'nosuch'"},
             Case{"golden --weights /nonexistent.safetensors --prompt 1 --out " + out, "cannot open file"},
             Case{"golden --model mamba2-tiny --prompt 999 --out " + out, "outside the vocabulary"},
             Case{"golden --model mamba2-tiny --prompt 1 --out /nonexistent/dir/x.json", "cannot write here"},
             Case{"golden --model mamba2-tiny --prompt 1 --dump-layer 9 --out " + out, "--dump-layer 9"},
         }) {
        Result r = run(c.args);
        INFO(c.args << "\n" << r.output);
        CHECK(r.code == 2);
        CHECK_THAT(r.output, Catch::Contains(c.message));
        CHECK_FALSE(exists(out));
    }
}

TEST_CASE("same seed, same command: identical output bytes", "[cli][determinism]") {
    auto bytes = [](const std::string& p) {
        std::ifstream f(p, std::ios::binary);
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    };
    std::string a = "/tmp/lmsim_det_a.safetensors", b = "/tmp/lmsim_det_b.safetensors";
    for (const std::string& out : {a, b}) {
        Result r = run("golden --model mamba2-tiny --seed 11 --prompt 5,6,7 --tokens 3 --precision w4a4 --out " + out);
        REQUIRE(r.code == 0);
    }
    CHECK(bytes(a) == bytes(b));
    CHECK(bytes(a).size() > 1000);
}

TEST_CASE("lmsim check: exit 0 when the design fits, 1 over budget, 2 on a bad config", "[cli][config]") {
    Result ok = run("check configs/vck190.json");
    INFO(ok.output);
    CHECK(ok.code == 0);
    CHECK_THAT(ok.output, Catch::Contains("HT_STATE") && Catch::Contains("fits"));
    Result over = run("check configs/vck190.json --set design.state_residency=on_chip");
    CHECK(over.code == 1);
    CHECK_THAT(over.output, Catch::Contains("does not fit vck190") && Catch::Contains("uram:"));
    Result bad = run("check configs/vck190.json --set design.mmu.multiplyer=lut");
    CHECK(bad.code == 2);
    CHECK_THAT(bad.output, Catch::Contains("did you mean 'multiplier'?"));
}
