// Bad input as a new user meets it (issue "Robustness"): each case here failed before its fix
// (a crash, an internal error after a whole run, a stale result, an option silently ignored).
#include <catch2/catch.hpp>

#include "cli_run.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace {
using lmsim_test::Result;
using lmsim_test::run;
std::string fresh_dir(const std::string& name) {
    std::string d = (std::filesystem::temp_directory_path() / name).string();
    std::filesystem::remove_all(d);
    return d;
}
std::string tiny_weights() { return std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors"; }
}  // namespace

TEST_CASE("run: prompt ids outside the vocabulary are refused before anything runs", "[cli][errors]") {
    // Was a segmentation fault (999999) and a read past the embedding reported bit-exact (256).
    for (const char* id : {"999999", "256"}) {
        const std::string out = fresh_dir("lmsim-rob-vocab");
        Result r = run(std::string("run --model mamba2-tiny --functional --prompt ") + id + " --out " + out);
        INFO(r.output);
        CHECK(r.code == 2);
        CHECK(r.output.find("outside the model's vocabulary [0, 256)") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(out + "/report.json"));
    }
    Result last = run("run --model mamba2-tiny --functional --prompt 255 --out " + fresh_dir("lmsim-rob-vocab-ok"));
    INFO(last.output);
    CHECK(last.code == 0);
}

TEST_CASE("run: --out naming an existing file is refused up front, not after the run", "[cli][errors]") {
    const std::string file = fresh_dir("lmsim-rob-out-file");
    std::ofstream(file) << "keep me\n";
    Result r = run("run --model mamba2-tiny --out " + file);
    INFO(r.output);
    CHECK(r.code == 2);
    CHECK(r.output.find("is not a directory") != std::string::npos);
    CHECK(r.output.find("simulated") == std::string::npos);  // nothing ran
    std::ifstream f(file);
    std::string line;
    std::getline(f, line);
    CHECK(line == "keep me");
}

TEST_CASE("run: a failed run leaves no result of an earlier run in its directory", "[cli][errors]") {
    const std::string out = fresh_dir("lmsim-rob-stale");
    REQUIRE(run("run --model mamba2-tiny --out " + out).code == 0);
    REQUIRE(std::filesystem::exists(out + "/report.json"));
    // A deadlock (exit 5): the FIFO to DAH cannot hold HT_STATE's 128 vectors of a tile.
    Result r = run("run --model " + lmsim_test::short_card("mamba2-2.7b", 1) +
                   " --set design.fifo_depths.ht_state_to_dah=4 --out " + out);
    INFO(r.output);
    CHECK(r.code == 5);
    CHECK(r.output.find("removed") != std::string::npos);
    for (const char* f : {"report.json", "units.csv", "timeline.json"}) CHECK_FALSE(std::filesystem::exists(out + "/" + f));
}

TEST_CASE("run and golden: contradicting or ignored options are errors", "[cli][errors]") {
    // --model that disagrees with the dimensions a checkpoint carries (was silently ignored).
    Result m = run("run --weights " + tiny_weights() + " --model mamba2-130m --out " + fresh_dir("lmsim-rob-m"));
    INFO(m.output);
    CHECK(m.code == 2);
    CHECK(m.output.find("--model mamba2-130m") != std::string::npos);
    Result g = run("golden --weights " + tiny_weights() + " --model mamba2-130m --prompt 1 --tokens 1 --precision fp32 --out " +
                   fresh_dir("lmsim-rob-g") + ".json");
    INFO(g.output);
    CHECK(g.code == 2);
    // The matching card is accepted.
    CHECK(run("run --weights " + tiny_weights() + " --model mamba2-tiny --out " + fresh_dir("lmsim-rob-m2")).code == 0);
    // --seed has no effect on a checkpoint; --rotation none in timing mode.
    CHECK(run("run --weights " + tiny_weights() + " --seed 3 --out " + fresh_dir("lmsim-rob-s")).code == 2);
    CHECK(run("run --model mamba2-tiny --rotation none --out " + fresh_dir("lmsim-rob-r")).code == 2);
    // --prompt-len that contradicts --prompt.
    CHECK(run("run --model mamba2-tiny --prompt 1,2 --prompt-len 5 --out " + fresh_dir("lmsim-rob-p")).code == 2);
}

TEST_CASE("run: block timing overrides take effect, zero included, and overrides that would do nothing are refused", "[cli][errors]") {
    auto report = [](const std::string& set) {
        const std::string out = fresh_dir("lmsim-rob-ovr");
        Result r = run("run --model mamba2-tiny --quiet --out " + out + (set.empty() ? "" : " --set " + set));
        INFO(r.output);
        REQUIRE(r.code == 0);
        std::ifstream f(out + "/report.json");
        return nlohmann::json::parse(f);
    };
    const nlohmann::json base = report("");
    REQUIRE(base["units"]["RMSNORM_QUANT_1"]["overhead_cycles"].get<int>() > 0);
    REQUIRE(base["units"]["GEMM"]["depth_cycles"].get<int>() > 0);
    // A zero was ignored before: the block's program must carry it.
    CHECK(report("design.blocks.RMSNORM_QUANT_1.overhead_cycles=0")["units"]["RMSNORM_QUANT_1"]["overhead_cycles"] == 0);
    CHECK(report("design.blocks.GEMM.depth_cycles=0")["units"]["GEMM"]["depth_cycles"] == 0);
    // And an override changes the run when it lands on the critical path.
    CHECK(report("design.blocks.RMSNORM_QUANT_1.overhead_cycles=50000")["simulator"]["simulated_cycles"].get<long>() >
          base["simulator"]["simulated_cycles"].get<long>());
    Result htu = run("run --model mamba2-tiny --set design.blocks.HTU.ii=2 --out " + fresh_dir("lmsim-rob-htu"));
    CHECK(htu.code == 2);
    CHECK(htu.output.find("design.blocks.HTU") != std::string::npos);
    Result wp = run("run --model mamba2-tiny --set design.blocks.WEIGHT_PRODUCER.ii=2 --out " + fresh_dir("lmsim-rob-wp"));
    CHECK(wp.code == 2);
    CHECK(wp.output.find("WEIGHT_PRODUCER/ii") != std::string::npos);
}

namespace {
std::string file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
// report.json without the wall-clock fields (all under simulator.wall).
nlohmann::json without_wall(const std::string& path) {
    nlohmann::json j = nlohmann::json::parse(file_bytes(path));
    REQUIRE(j["simulator"].contains("wall"));
    j["simulator"].erase("wall");
    return j;
}
void check_run_is_deterministic(const std::string& args, const std::string& tag) {
    const std::string a = fresh_dir("lmsim-det-a-" + tag), b = fresh_dir("lmsim-det-b-" + tag);
    Result ra = run("run " + args + " --quiet --out " + a);
    Result rb = run("run " + args + " --quiet --out " + b);
    INFO(ra.output << rb.output);
    REQUIRE(ra.code == 0);
    REQUIRE(rb.code == 0);
    CHECK(without_wall(a + "/report.json") == without_wall(b + "/report.json"));
    for (const char* f : {"units.csv", "timeline.json"}) {
        INFO(f);
        CHECK(file_bytes(a + "/" + f) == file_bytes(b + "/" + f));
    }
}
}  // namespace

TEST_CASE("determinism: two runs give identical results apart from simulator.wall (timing, functional, golden)",
          "[cli][determinism]") {
    check_run_is_deterministic("vck190 --model mamba2-tiny --tokens 2", "timing");
    check_run_is_deterministic("u280 --model mamba2-tiny --tokens 2 --functional", "functional");
    const std::string g = fresh_dir("lmsim-det-golden");
    std::filesystem::create_directories(g);
    for (const char* out : {"/a.json", "/b.json"}) {
        Result r = run("golden --weights " + tiny_weights() + " --prompt 1,2,3 --tokens 3 --precision w4a4 --out " + g + out);
        REQUIRE(r.code == 0);
    }
    CHECK(file_bytes(g + "/a.json") == file_bytes(g + "/b.json"));
}

namespace {
// Runs `lmsim ARGS` in the background, sends `sig` after `after_s`, returns the exit code and
// the seconds from the signal to the exit.
std::pair<int, double> interrupt(const std::string& args, const char* sig, double after_s) {
    const std::string cmd = "sh -c '" + std::string(LMSIM_BINARY) + " " + args +
                            " >/dev/null 2>&1 & pid=$!; sleep " + std::to_string(after_s) + "; kill -" + sig +
                            " $pid; t0=$(date +%s%N); wait $pid; rc=$?; t1=$(date +%s%N); echo $rc $(( (t1 - t0) / 1000000 ))'";
    Result r = lmsim_test::run_shell(cmd);
    int rc = -1;
    long ms = -1;
    std::sscanf(r.output.c_str(), "%d %ld", &rc, &ms);
    return {rc, ms / 1000.0};
}
}  // namespace

TEST_CASE("signals: SIGINT and SIGTERM stop a run within a second, what is complete is written, marked partial", "[cli][signals]") {
    for (const auto& [sig, code] : {std::pair<const char*, int>{"INT", 130}, std::pair<const char*, int>{"TERM", 143}}) {
        INFO(sig);
        const std::string out = fresh_dir(std::string("lmsim-signal-") + sig);
        // mamba2-2.7b over 3 tokens takes ~15 s; the signal comes after 2.
        const auto [rc, seconds] = interrupt("run --tokens 3 --quiet --out " + out, sig, 2.0);
        CHECK(rc == code);
        CHECK(seconds < 1.0);
        std::ifstream f(out + "/report.json");
        REQUIRE(f.good());
        const nlohmann::json j = nlohmann::json::parse(f);
        CHECK(j["partial"] == true);
        CHECK(j["partial_reason"].get<std::string>().find(std::string("SIG") + sig) != std::string::npos);
        CHECK(j["decode"]["token_end_cycles"].size() < 3);
        CHECK(std::filesystem::exists(out + "/report.html"));
    }
    // With a trace window of layers the stopped run never reached: the trace keeps what ran.
    const std::string out = fresh_dir("lmsim-signal-trace");
    const auto [rc, seconds] = interrupt("run --tokens 3 --quiet --trace --trace-window layers:150-160 --out " + out, "INT", 2.0);
    CHECK(rc == 130);
    CHECK(seconds < 1.0);
    CHECK(std::filesystem::exists(out + "/trace.json"));
    CHECK(std::filesystem::exists(out + "/report.html"));
}

TEST_CASE("signals: golden and bench stop within a second and keep what is complete or say nothing is", "[cli][signals]") {
    // golden while decoding (mamba2-tiny: about 1 ms per token, 20000 tokens): the finished
    // tokens are written, marked partial.
    for (const auto& [sig, code] : {std::pair<const char*, int>{"INT", 130}, std::pair<const char*, int>{"TERM", 143}}) {
        INFO(sig);
        const std::string dir = fresh_dir(std::string("lmsim-golden-signal-") + sig);
        std::filesystem::create_directories(dir);
        const std::string out = dir + "/vectors.json";
        const auto [rc, seconds] = interrupt("golden --model mamba2-tiny --prompt 1,2 --tokens 20000 --out " + out, sig, 1.5);
        CHECK(rc == code);
        CHECK(seconds < 1.0);
        std::ifstream f(out);
        REQUIRE(f.good());
        const nlohmann::json j = nlohmann::json::parse(f);
        CHECK(j["partial"] == true);
        CHECK(j["partial_reason"].get<std::string>().find(std::string("SIG") + sig) != std::string::npos);
        const std::size_t n = j["decode_tokens"].size();
        CHECK(n > 0);
        CHECK(n < 20000);
        CHECK(j["decode_logits"].size() == n);  // no token without its logits
    }
    // golden while quantizing mamba2-2.7b (minutes): nothing is complete, nothing is written.
    {
        const std::string dir = fresh_dir("lmsim-golden-signal-setup");
        std::filesystem::create_directories(dir);
        const std::string out = dir + "/vectors.json";
        const auto [rc, seconds] = interrupt("golden --model mamba2-2.7b --prompt 1 --tokens 1 --out " + out, "INT", 1.0);
        CHECK(rc == 130);
        CHECK(seconds < 1.0);
        CHECK(!std::filesystem::exists(out));
    }
    // bench run (a 2.7B token takes about 5 s) and bench golden: the figures of what is done.
    {
        const std::string cmd = "sh -c '" + std::string(LMSIM_BINARY) +
                                " bench run --tokens 3 > /tmp/lmsim-bench-signal.txt 2>&1 & pid=$!; sleep 2; kill -INT $pid; "
                                "wait $pid; echo $?'";
        const Result r = lmsim_test::run_shell(cmd);
        CHECK(std::atoi(r.output.c_str()) == 130);
        std::ifstream f("/tmp/lmsim-bench-signal.txt");
        const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        INFO(text);
        CHECK(text.find("partial: stopped by SIGINT") != std::string::npos);
    }
    {
        const std::string cmd = "sh -c '" + std::string(LMSIM_BINARY) +
                                " bench golden --model mamba2-tiny --tokens 20000 > /tmp/lmsim-bench-signal.txt 2>&1 & pid=$!; "
                                "sleep 1.5; kill -TERM $pid; wait $pid; echo $?'";
        const Result r = lmsim_test::run_shell(cmd);
        CHECK(std::atoi(r.output.c_str()) == 143);
        std::ifstream f("/tmp/lmsim-bench-signal.txt");
        const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        INFO(text);
        CHECK(text.find("partial: stopped by SIGTERM") != std::string::npos);
        CHECK(text.find("decode per token") != std::string::npos);
    }
}

TEST_CASE("absurd sizes are refused up front with the estimate and the limit", "[cli][robustness]") {
    const std::string dir = fresh_dir("lmsim-absurd");
    std::filesystem::create_directories(dir);
    // 10^7 tokens of mamba2-2.7b: hundreds of GB of per-invocation records.
    Result r = run("run --tokens 10000000 --out " + dir);
    CHECK(r.code == 2);
    CHECK(r.output.find("needs about") != std::string::npos);
    CHECK(r.output.find("the limit is") != std::string::npos);
    CHECK(!std::filesystem::exists(dir + "/report.json"));
    // A model of d_model 65536 (the card's largest) for the golden model: terabytes of weights.
    const std::string card = dir + "/huge.json";
    std::ofstream(card) << R"({"name":"huge","d_model":65536,"n_layer":64,"d_state":128,"headdim":64,"expand":2,)"
                        << R"("ngroups":1,"d_conv":4,"vocab_size":50288})";
    r = run("golden --model " + card + " --prompt 1 --tokens 1 --out " + dir + "/g.json");
    CHECK(r.code == 2);
    CHECK(r.output.find("needs about") != std::string::npos);
    // The time bound: a 65536-wide model over 10^4 tokens is years of simulation.
    r = run("run --model " + card + " --tokens 10000 --out " + dir);
    CHECK(r.code == 2);
    CHECK(r.output.find("days of simulation") != std::string::npos);
}

TEST_CASE("progress: a line on a terminal, nothing when the output is not one or with --quiet", "[cli][progress]") {
    const std::string out = fresh_dir("lmsim-progress");
    // script(1) gives the run a pseudo-terminal.
    Result tty = lmsim_test::run_shell("script -qfec '" + std::string(LMSIM_BINARY) + " run --model mamba2-130m --out " + out +
                                       "' /dev/null");
    INFO(tty.output);
    CHECK(tty.code == 0);
    CHECK(tty.output.find("ETA") != std::string::npos);
    Result pipe = run("run --model mamba2-130m --out " + out);
    CHECK(pipe.code == 0);
    CHECK(pipe.output.find("ETA") == std::string::npos);
}

TEST_CASE("progress: golden and bench show a line on a terminal, none through a pipe or with --quiet", "[cli][progress]") {
    const std::string dir = fresh_dir("lmsim-progress-golden");
    std::filesystem::create_directories(dir);
    for (const std::string& args : {"golden --model mamba2-tiny --prompt 1,2 --tokens 50 --out " + dir + "/g.json",
                                   std::string("bench golden --model mamba2-tiny --tokens 20"),
                                   std::string("bench run --model mamba2-130m")}) {
        INFO(args);
        Result tty = lmsim_test::run_shell("script -qfec '" + std::string(LMSIM_BINARY) + " " + args + "' /dev/null");
        CHECK(tty.code == 0);
        CHECK(tty.output.find("ETA") != std::string::npos);
        Result quiet = lmsim_test::run_shell("script -qfec '" + std::string(LMSIM_BINARY) + " " + args + " --quiet' /dev/null");
        CHECK(quiet.code == 0);
        CHECK(quiet.output.find("ETA") == std::string::npos);
        Result pipe = run(args);
        CHECK(pipe.code == 0);
        CHECK(pipe.output.find("ETA") == std::string::npos);
    }
}
