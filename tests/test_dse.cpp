// lmsim dse (issue "Design-space exploration"): the sweep file and its errors, the points, the
// results that survive (torn lines, resume, shards and merge), the front, the NSGA-II search
// against random sampling, and the analytic screen against the cycle-level model.
#include <catch2/catch.hpp>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "cli_run.h"
#include "common/error.h"
#include "config/hardware_config.h"
#include "dse/analytic.h"
#include "dse/explore.h"
#include "dse/nsga2_search.h"
#include "dse/results.h"
#include "dse/sweep.h"
#include "model/model_card.h"

namespace {
using lmsim_test::Result;
using lmsim_test::run;
namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
    std::string d = (fs::temp_directory_path() / name).string();
    fs::remove_all(d);
    return d;
}

std::string write_sweep(const std::string& name, const nlohmann::json& j) {
    const std::string path = (fs::temp_directory_path() / (name + ".json")).string();
    std::ofstream(path) << j.dump(1);
    return path;
}

// Four mamba2-tiny points on the VCK190: MMU input lanes (masters tied) x SSM lanes.
nlohmann::json tiny_sweep() {
    return {{"base", "vck190"},
            {"model", "mamba2-tiny"},
            {"parameters", {{"design.mmu.input_lanes", {{"values", {8, 16}}}}, {"design.ssmu.lanes", {{"values", {8, 16}}}}}},
            {"ties", {{"design.axi.masters", "design.mmu.input_lanes * design.mmu.output_lanes * 4 / design.axi.width_bits"}}},
            {"objectives", {{{"maximise", "decode.tokens_per_s"}}, {{"minimise", "resources.lut.used"}}}}};
}

std::string error_of(const nlohmann::json& sweep) {
    try {
        (void)lmsim::dse::load_sweep(write_sweep("lmsim-dse-bad", sweep));
    } catch (const lmsim::InputError& e) {
        return e.what();
    }
    return "";
}

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream f(path);
    std::vector<std::string> v;
    for (std::string l; std::getline(f, l);) v.push_back(l);
    return v;
}

}  // namespace

TEST_CASE("dse sweep: domains, ties and points", "[dse]") {
    nlohmann::json j = tiny_sweep();
    j["parameters"]["design.clock_mhz"] = {{"range", {300, 400}}, {"step", 50}};
    j["parameters"]["design.htu.butterfly_lanes"] = {{"log_range", {8, 64}}};
    const lmsim::dse::SweepSpec s = lmsim::dse::load_sweep(write_sweep("lmsim-dse-domains", j));
    REQUIRE(s.parameters.size() == 4);
    std::map<std::string, std::vector<nlohmann::json>> d;
    for (const auto& p : s.parameters) d[p.path] = p.values;
    CHECK(d["design.clock_mhz"] == std::vector<nlohmann::json>{300, 350, 400});
    CHECK(d["design.htu.butterfly_lanes"] == std::vector<nlohmann::json>{8, 16, 32, 64});
    CHECK(s.grid_size() == 2 * 2 * 3 * 4);
    // Mixed-radix indices round-trip; the tie follows the MMU's lanes.
    for (int64_t i = 0; i < s.grid_size(); ++i) CHECK(lmsim::dse::index_of(s, lmsim::dse::point_at(s, i)) == i);
    for (int64_t i = 0; i < s.grid_size(); ++i) {
        nlohmann::json values;
        lmsim::dse::point_sets(s, lmsim::dse::point_at(s, i), &values);
        CHECK(values["design.axi.masters"] == values["design.mmu.input_lanes"].get<int>() * 8 * 4 / 256);
    }
    // Shards are disjoint and cover the points.
    std::set<int64_t> all;
    std::size_t total = 0;
    for (int k = 1; k <= 3; ++k)
        for (const auto& p : lmsim::dse::enumerate_points(s, k, 3)) {
            all.insert(lmsim::dse::index_of(s, p));
            ++total;
        }
    CHECK(total == static_cast<std::size_t>(s.grid_size()));
    CHECK(all.size() == total);
    // Random sampling: distinct points, the same for the same seed, others for another.
    j["search"] = {{"method", "random"}, {"budget", 10}, {"seed", 3}};
    const auto a = lmsim::dse::enumerate_points(lmsim::dse::load_sweep(write_sweep("lmsim-dse-r", j)));
    const auto b = lmsim::dse::enumerate_points(lmsim::dse::load_sweep(write_sweep("lmsim-dse-r", j)));
    j["search"]["seed"] = 4;
    const auto c = lmsim::dse::enumerate_points(lmsim::dse::load_sweep(write_sweep("lmsim-dse-r", j)));
    CHECK(a.size() == 10);
    CHECK(a == b);
    CHECK(a != c);
    std::set<lmsim::dse::Point> distinct(a.begin(), a.end());
    CHECK(distinct.size() == 10);
}

TEST_CASE("dse sweep: a tie that gives a fraction for an integer path fails that point only", "[dse]") {
    nlohmann::json j = tiny_sweep();
    j["ties"]["design.axi.masters"] = "design.mmu.input_lanes / 3";
    const lmsim::dse::SweepSpec s = lmsim::dse::load_sweep(write_sweep("lmsim-dse-frac", j));
    CHECK_THROWS_WITH(lmsim::dse::point_sets(s, {0, 0}), Catch::Contains("an integer is expected"));
}

TEST_CASE("dse sweep: bad sweeps are refused with the file, the path and what was expected", "[dse][errors]") {
    nlohmann::json j = tiny_sweep();
    j["parameters"]["design.mmu.inpt_lanes"] = {{"values", {8}}};
    std::string e = error_of(j);
    CHECK(e.find("/parameters/design.mmu.inpt_lanes") != std::string::npos);
    CHECK(e.find("the nearest valid path is 'design.mmu.input_lanes'") != std::string::npos);

    j = tiny_sweep();
    j["parameters"]["design.clock_mhz"] = {{"range", {400, 300}}};
    CHECK(error_of(j).find("the range is empty") != std::string::npos);
    j["parameters"]["design.clock_mhz"] = {{"values", nlohmann::json::array()}};
    CHECK(error_of(j).find("non-empty array") != std::string::npos);

    j = tiny_sweep();
    j["ties"]["design.ssmu.lanes"] = "8";
    CHECK(error_of(j).find("both varied (/parameters) and tied") != std::string::npos);
    j = tiny_sweep();
    j["ties"] = {{"design.axi.masters", "design.axi.outstanding / 32"}, {"design.axi.outstanding", "design.axi.masters * 32"}};
    CHECK(error_of(j).find("in a cycle") != std::string::npos);
    j = tiny_sweep();
    j["ties"]["design.axi.masters"] = "design.mmu.input_lanes * (2";
    CHECK(error_of(j).find("missing ')'") != std::string::npos);
    j["ties"]["design.axi.masters"] = "design.mmu.nothing * 2";
    CHECK(error_of(j).find("neither a varied parameter, a tie, nor a number of the base config") != std::string::npos);

    j = tiny_sweep();
    j["constraints"] = {"decode.tokens_per_sec >= 5"};
    e = error_of(j);
    CHECK(e.find("/constraints/0") != std::string::npos);
    CHECK(e.find("did you mean 'decode.tokens_per_s'") != std::string::npos);
    j["constraints"] = {"decode.tokens_per_s >= five"};
    CHECK(error_of(j).find("expected a number") != std::string::npos);
    j = tiny_sweep();
    j["objectives"] = {{{"maximise", "energy.tokens_per_joule"}}};
    CHECK(error_of(j).find("unknown metric 'energy.tokens_per_joule'") != std::string::npos);
    j["objectives"] = {{{"minimise", "decode.latency_ms_per_token"}}};
    CHECK(error_of(j).find("needs a \"reference\"") != std::string::npos);
    j = tiny_sweep();
    j["search"] = {{"method", "nsga2"}};
    CHECK(error_of(j).find("needs a budget") != std::string::npos);
    j["search"] = {{"method", "nsga2"}, {"budget", 10}, {"population", 10}};
    CHECK(error_of(j).find("not a multiple of 4") != std::string::npos);
    j = tiny_sweep();
    j["paramters"] = j["parameters"];
    CHECK(error_of(j).find("unknown key") != std::string::npos);
}

TEST_CASE("dse results: a torn last line is dropped and cut, damage before it is an error", "[dse]") {
    const std::string dir = fresh_dir("lmsim-dse-store");
    lmsim::dse::Record r;
    r.sweep_hash = "s", r.config_hash = "a", r.ok = true, r.feasible = true, r.metrics = {{"decode.tokens_per_s", 1.5}};
    {
        lmsim::dse::ResultStore store(dir);
        store.append(r);
        r.config_hash = "b";
        store.append(r);
    }
    // A write cut short: half a record, no newline.
    {
        std::ofstream f(dir + "/results.jsonl", std::ios::app);
        f << R"({"sweep":"s","config_hash":"c","fidel)";
    }
    {
        lmsim::dse::ResultStore store(dir);
        CHECK(store.torn_lines_dropped() == 1);
        CHECK(store.records().size() == 2);
        CHECK(store.find("b", lmsim::dse::Fidelity::Analytic) != nullptr);
        r.config_hash = "c";
        store.append(r);
    }
    const auto lines = lines_of(dir + "/results.jsonl");
    REQUIRE(lines.size() == 3);
    for (const std::string& l : lines) CHECK_NOTHROW(nlohmann::json::parse(l));
    // A damaged line that is not the last was not a cut-short write.
    {
        std::ofstream f(dir + "/results.jsonl");
        f << lines[0] << "\n{broken\n" << lines[2] << "\n";
    }
    CHECK_THROWS_WITH(lmsim::dse::ResultStore(dir), Catch::Contains("results.jsonl:2: damaged record before the last line"));
}

TEST_CASE("dse front: non-dominated points, the margin, and the hypervolume", "[dse]") {
    const lmsim::dse::SweepSpec s = lmsim::dse::load_sweep(write_sweep("lmsim-dse-front", tiny_sweep()));
    // Objectives: max tokens/s, min LUT (reference: the VCK190's 899,840 LUTs).
    auto rec = [](int i, double tps, double lut) {
        lmsim::dse::Record r;
        r.point_index = i, r.ok = true, r.feasible = true;
        r.metrics = {{"decode.tokens_per_s", tps}, {"resources.lut.used", lut}};
        return r;
    };
    std::vector<lmsim::dse::Record> rs = {rec(0, 10, 100000), rec(1, 20, 200000), rec(2, 9, 150000), rec(3, 19.9, 99500)};
    lmsim::dse::Record infeasible = rec(4, 100, 10);
    infeasible.feasible = false;
    rs.push_back(infeasible);
    std::set<int64_t> front, near;
    for (const auto& r : lmsim::dse::pareto_front(s, rs)) front.insert(r.point_index);
    for (const auto& r : lmsim::dse::near_front(s, rs, 0.03)) near.insert(r.point_index);
    CHECK(front == std::set<int64_t>{1, 3});  // 0 is dominated by 3, 2 by 0; 4 is infeasible
    CHECK(near == std::set<int64_t>{0, 1, 3});  // 0 is within 3 % of 3
    // Two points, reference (0 tok/s, 899,840 LUT): the union of their boxes.
    const double box1 = 20 * (899840 - 200000), box3 = 19.9 * (899840 - 99500);
    const double both = box1 + box3 - 19.9 * (899840 - 200000);
    CHECK(lmsim::dse::hypervolume(s, rs) == Approx(both).epsilon(1e-9));
    CHECK(lmsim::dse::hypervolume_of({{-20, 200000}, {-19.9, 99500}}, {0, 899840}) == Approx(both).epsilon(1e-9));
}

TEST_CASE("dse analytic screen: within 3 % of the cycle level on the shipped designs", "[dse]") {
    // The analytic estimate against `lmsim run` on mamba2-2.7b (docs/dse.md "The analytic
    // screen"): the issue's 3 % on the shipped configs. Measured 2026-12-02: VCK190 +0.2 %
    // (bound by the producer's sequential bursts), U280 -2.4 % (HT_STATE's exchange).
    const lmsim::ModelCard card = lmsim::find_model_card("mamba2-2.7b");
    for (const auto& [config, tolerance] : std::vector<std::pair<std::string, double>>{{"vck190", 0.03}, {"u280", 0.03}}) {
        const lmsim::HardwareConfig hw = lmsim::load_hardware_config(config);
        const lmsim::dse::AnalyticEstimate e = lmsim::dse::analytic_estimate(hw, card, 1);
        const std::string out = fresh_dir("lmsim-dse-analytic-" + config);
        Result r = run("run " + config + " --quiet --out " + out);
        REQUIRE(r.code == 0);
        std::ifstream f(out + "/report.json");
        const nlohmann::json cycle = nlohmann::json::parse(f);
        const double a = e.report["decode"]["tokens_per_s"].get<double>(), c = cycle["decode"]["tokens_per_s"].get<double>();
        INFO(config << ": analytic " << a << " tok/s, cycle " << c << " (" << e.bound << ")");
        CHECK(std::abs(a - c) / c <= tolerance);
        // The same bytes move (the passes run the producer's program; a middle layer's traffic x
        // layers leaves out the first layer's x and the last layer's y), and the same resources.
        CHECK(e.report["memory"]["bytes_read"].get<double>() == Approx(cycle["memory"]["bytes_read"].get<double>()).epsilon(5e-3));
        CHECK(e.report["resources"]["lut"]["used"] == cycle["resources"]["lut"]["used"]);
        const double ea = e.report["energy"]["tokens_per_j"].get<double>(), ec = cycle["energy"]["tokens_per_j"].get<double>();
        CHECK(std::abs(ea - ec) / ec <= tolerance + 0.01);
    }
}

TEST_CASE("dse search: NSGA-II finds a larger hypervolume than random sampling on the same budget", "[dse]") {
    // The U280 sweep screened analytically: mean hypervolume over 5 seeds, 96 distinct points each
    // (docs/dse.md "Search").
    const std::string base = std::string(LMSIM_SOURCE_DIR) + "/configs/sweeps/u280.json";
    nlohmann::json j;
    std::ifstream(base) >> j;
    j["base"] = "u280";
    double hv[2] = {0, 0};
    for (int seed = 1; seed <= 5; ++seed)
        for (int method = 0; method < 2; ++method) {
            j["search"] = {{"method", method == 0 ? "random" : "nsga2"}, {"budget", 96}, {"seed", seed}, {"population", 16}};
            const lmsim::dse::SweepSpec s = lmsim::dse::load_sweep(write_sweep("lmsim-dse-hv", j));
            const std::string dir = fresh_dir("lmsim-dse-hv");
            lmsim::dse::ResultStore store(dir);
            lmsim::dse::ExploreOptions o;
            o.out_dir = dir;
            o.jobs = 2;
            o.only = lmsim::dse::Fidelity::Analytic;
            (void)lmsim::dse::explore(s, store, o);
            CHECK(store.records().size() <= 96);
            hv[method] += lmsim::dse::hypervolume(s, store.records()) / 5;
        }
    WARN("mean hypervolume: random " << hv[0] << ", NSGA-II " << hv[1]);
    CHECK(hv[1] > hv[0]);
}

TEST_CASE("dse command: screen, confirm, resume without re-evaluation, and refusals", "[dse][cli]") {
    const std::string sweep = write_sweep("lmsim-dse-cli", tiny_sweep());
    const std::string out = fresh_dir("lmsim-dse-cli-out");
    Result r = run("dse " + sweep + " --out " + out + " --jobs 2 --quiet");
    INFO(r.output);
    REQUIRE(r.code == 0);
    auto lines = lines_of(out + "/results.jsonl");
    std::map<std::string, int> by_fidelity;
    std::set<std::pair<std::string, std::string>> keys;
    for (const std::string& l : lines) {
        const nlohmann::json rec = nlohmann::json::parse(l);
        ++by_fidelity[rec["fidelity"].get<std::string>()];
        const bool first_time = keys.insert({rec["config_hash"].get<std::string>(), rec["fidelity"].get<std::string>()}).second;
        CHECK(first_time);  // never twice
        CHECK(rec.contains("lmsim_version"));
    }
    CHECK(by_fidelity["analytic"] == 4);
    CHECK(by_fidelity["cycle"] >= 1);  // the front, confirmed
    CHECK(fs::exists(out + "/pareto.csv"));
    CHECK(fs::exists(out + "/report.html"));
    CHECK(fs::exists(out + "/summary.md"));
    // Again without --resume: refused, nothing lost.
    r = run("dse " + sweep + " --out " + out + " --quiet");
    CHECK(r.code == 2);
    CHECK(r.output.find("pass --resume") != std::string::npos);
    CHECK(lines_of(out + "/results.jsonl") == lines);
    // With --resume: nothing evaluated again.
    r = run("dse " + sweep + " --out " + out + " --resume --quiet");
    REQUIRE(r.code == 0);
    CHECK(r.output.find("evaluated  0 analytic") != std::string::npos);
    CHECK(lines_of(out + "/results.jsonl") == lines);
    // Another sweep into the same directory: refused before anything runs.
    nlohmann::json other = tiny_sweep();
    other["parameters"]["design.ssmu.lanes"]["values"] = {8};
    r = run("dse " + write_sweep("lmsim-dse-cli-other", other) + " --out " + out + " --resume --quiet");
    CHECK(r.code == 2);
    CHECK(r.output.find("holds the results of another sweep") != std::string::npos);
    // Bad options.
    CHECK(run("dse " + sweep + " --out " + fresh_dir("lmsim-dse-x") + " --shard 3/2").code == 2);
    CHECK(run("dse " + sweep + " --out " + fresh_dir("lmsim-dse-x") + " --fidelity exact").code == 2);
}

TEST_CASE("dse command: shards merged equal one run, and kill -9 loses nothing finished", "[dse][cli]") {
    nlohmann::json j = tiny_sweep();
    j["parameters"]["design.clock_mhz"] = {{"values", {300, 400}}};
    const std::string sweep = write_sweep("lmsim-dse-shards", j);
    const std::string whole = fresh_dir("lmsim-dse-whole"), a = fresh_dir("lmsim-dse-s1"), b = fresh_dir("lmsim-dse-s2"),
                      merged = fresh_dir("lmsim-dse-merged");
    REQUIRE(run("dse " + sweep + " --out " + whole + " --fidelity cycle --jobs 2 --quiet").code == 0);
    REQUIRE(run("dse " + sweep + " --out " + a + " --fidelity cycle --shard 1/2 --quiet").code == 0);
    REQUIRE(run("dse " + sweep + " --out " + b + " --fidelity cycle --shard 2/2 --quiet").code == 0);
    Result r = run("dse merge " + sweep + " " + a + " " + b + " " + a + " --out " + merged);
    INFO(r.output);
    REQUIRE(r.code == 0);
    auto metrics_by_hash = [](const std::string& dir) {
        std::map<std::string, nlohmann::json> m;
        for (const std::string& l : lines_of(dir + "/results.jsonl")) {
            const nlohmann::json rec = nlohmann::json::parse(l);
            m[rec["config_hash"].get<std::string>() + rec["fidelity"].get<std::string>()] = rec["metrics"];
        }
        return m;
    };
    // The shards are disjoint slices that cover the sweep (the merge alone would hide overlap).
    const auto in_a = metrics_by_hash(a), in_b = metrics_by_hash(b);
    CHECK(in_a.size() == 4);
    CHECK(in_b.size() == 4);
    for (const auto& [key, m] : in_a) CHECK_FALSE(in_b.count(key));
    CHECK(metrics_by_hash(merged).size() == 8);
    CHECK(metrics_by_hash(merged) == metrics_by_hash(whole));  // the merge deduplicated shard 1 given twice
    CHECK(lines_of(merged + "/pareto.csv") == lines_of(whole + "/pareto.csv"));

    // kill -9 in the middle of a sweep, then --resume: every point exactly once.
    const std::string killed = fresh_dir("lmsim-dse-killed");
    const std::string cmd = std::string(LMSIM_BINARY) + " dse " + sweep + " --out " + killed + " --fidelity cycle --jobs 1 --quiet";
    const pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);  // its own process group: kill -9 takes the running child with it
        execl("/bin/sh", "sh", "-c", ("exec " + cmd + " > /dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    setpgid(pid, pid);
    const auto t0 = std::chrono::steady_clock::now();
    while (lines_of(killed + "/results.jsonl").size() < 2 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::kill(-pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const std::size_t finished = lines_of(killed + "/results.jsonl").size();
    CHECK(finished >= 2);
    CHECK(finished < 8);
    // A torn line as a crash mid-write leaves it.
    {
        std::ofstream f(killed + "/results.jsonl", std::ios::app);
        f << R"({"sweep":"x","conf)";
    }
    r = run("dse " + sweep + " --out " + killed + " --fidelity cycle --resume --quiet");
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK(r.output.find("dropped a torn last line") != std::string::npos);
    CHECK(metrics_by_hash(killed) == metrics_by_hash(whole));
    CHECK(lines_of(killed + "/results.jsonl").size() == 8);
}

TEST_CASE("dse analytic screen: within 5 % of the cycle level on 95 % of 50 random points of each shipped sweep", "[.dse-accuracy]") {
    // The slow half of the accuracy target (CTest label `slow`, docs/dse.md): 50 points drawn
    // with a fixed seed from each shipped sweep, screened, then run at the cycle level.
    for (const std::string name : {"u280", "vck190"}) {
        nlohmann::json j;
        std::ifstream(std::string(LMSIM_SOURCE_DIR) + "/configs/sweeps/" + name + ".json") >> j;
        j["base"] = std::string(LMSIM_SOURCE_DIR) + "/configs/" + name + ".json";
        j["search"] = {{"method", "random"}, {"budget", 50}, {"seed", 7}};
        const std::string sweep = write_sweep("lmsim-dse-accuracy-" + name, j);
        const std::string out = fresh_dir("lmsim-dse-accuracy-" + name);
        REQUIRE(run("dse " + sweep + " --out " + out + " --fidelity analytic --quiet").code == 0);
        REQUIRE(run("dse " + sweep + " --out " + out + " --fidelity cycle --resume --quiet").code == 0);
        std::map<std::string, double> analytic, cycle;
        for (const std::string& l : lines_of(out + "/results.jsonl")) {
            const nlohmann::json r = nlohmann::json::parse(l);
            if (!r["ok"].get<bool>()) continue;
            (r["fidelity"] == "analytic" ? analytic : cycle)[r["config_hash"]] = r["metrics"]["decode.tokens_per_s"];
        }
        int both = 0, within = 0;
        for (const auto& [hash, c] : cycle) {
            if (!analytic.count(hash)) continue;
            ++both;
            within += std::abs(analytic[hash] - c) / c <= 0.05;
        }
        INFO(name << ": " << within << " of " << both << " points within 5 %");
        CHECK(both >= 30);
        CHECK(within >= 0.95 * both);
    }
}

TEST_CASE("dse command: Ctrl-C stops between points, keeps what finished, and --resume completes", "[dse][cli]") {
    nlohmann::json j = tiny_sweep();
    j["parameters"]["design.clock_mhz"] = {{"values", {300, 400}}};
    const std::string sweep = write_sweep("lmsim-dse-sigint", j);
    const std::string out = fresh_dir("lmsim-dse-sigint");
    const pid_t pid = fork();
    if (pid == 0) {
        execl(LMSIM_BINARY, LMSIM_BINARY, "dse", sweep.c_str(), "--out", out.c_str(), "--fidelity", "cycle", "--jobs", "1",
              "--quiet", static_cast<char*>(nullptr));
        _exit(127);
    }
    const auto t0 = std::chrono::steady_clock::now();
    while (lines_of(out + "/results.jsonl").size() < 1 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::kill(pid, SIGINT);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    const std::size_t kept = lines_of(out + "/results.jsonl").size();
    if (kept < 8) CHECK(WEXITSTATUS(status) == 130);  // stopped (not: finished before the signal)
    CHECK(kept >= 1);
    for (const std::string& l : lines_of(out + "/results.jsonl")) {
        const nlohmann::json rec = nlohmann::json::parse(l);
        CHECK(rec["ok"].get<bool>());  // a run the signal stopped is not recorded as a failure
    }
    CHECK(fs::exists(out + "/pareto.csv"));  // the outputs of what finished
    CHECK_FALSE(fs::exists(out + "/work"));  // no child's directory left behind
    Result r = run("dse " + sweep + " --out " + out + " --fidelity cycle --resume --quiet");
    REQUIRE(r.code == 0);
    CHECK(lines_of(out + "/results.jsonl").size() == 8);
}

TEST_CASE("dse report: report.html is self-contained and its chart renders in Chromium", "[dse][report]") {
    const std::string sweep = write_sweep("lmsim-dse-html", tiny_sweep());
    const std::string out = fresh_dir("lmsim-dse-html");
    REQUIRE(run("dse " + sweep + " --out " + out + " --fidelity analytic --quiet").code == 0);
    std::ifstream f(out + "/report.html");
    const std::string html((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(html.find("<script src") == std::string::npos);
    CHECK(html.find("new Chart(") != std::string::npos);
    // The DOM and Chromium's console on one stream: the marker the script sets once the chart is
    // made, and no JavaScript error (as the run report's test, tests/test_report.cpp).
    const Result dom = lmsim_test::run_shell("timeout 120 chromium --headless=new --no-sandbox --disable-gpu "
                                             "--enable-logging=stderr --v=0 --virtual-time-budget=5000 --dump-dom file://" +
                                             out + "/report.html");
    INFO(dom.output.substr(0, 2000));
    REQUIRE(dom.code == 0);
    CHECK(dom.output.find("data-rendered=\"charts\"") != std::string::npos);
    CHECK(dom.output.find("Uncaught") == std::string::npos);
    CHECK(dom.output.find(":CONSOLE") == std::string::npos);
}

TEST_CASE("dse sweep: a choice sets several paths together, and may not collide with other parameters", "[dse]") {
    nlohmann::json j = tiny_sweep();
    j["parameters"]["memory"] = {{"choices",
                                  {{"lpddr4", {"platform.memory.kind=lpddr4"}},
                                   {"ddr4", {"platform.memory.kind=ddr4", "platform.memory.channels=1", "platform.memory.channel_width_bits=64"}}}}};
    const lmsim::dse::SweepSpec s = lmsim::dse::load_sweep(write_sweep("lmsim-dse-choice", j));
    CHECK(s.grid_size() == 8);
    bool saw_ddr4 = false;
    for (int64_t i = 0; i < s.grid_size(); ++i) {
        nlohmann::json values;
        const std::vector<std::string> sets = lmsim::dse::point_sets(s, lmsim::dse::point_at(s, i), &values);
        if (values["memory"] == "ddr4") {
            saw_ddr4 = true;
            CHECK(std::count(sets.begin(), sets.end(), "platform.memory.channel_width_bits=64") == 1);
            const lmsim::HardwareConfig hw = lmsim::load_hardware_config("vck190", sets);
            CHECK(hw.platform.memory.kind == "ddr4");
            CHECK(hw.platform.memory.peak_gbps() == Approx(25.6));
        }
    }
    CHECK(saw_ddr4);
    // A choice's path also varied, a tie reading one, a misspelt path inside a choice: refused.
    nlohmann::json k = j;
    k["parameters"]["platform.memory.channels"] = {{"values", {1, 2}}};
    CHECK(error_of(k).find("both a parameter and set by a choice") != std::string::npos);
    k = j;
    k["ties"]["design.axi.outstanding"] = "platform.memory.channels * 8";
    CHECK(error_of(k).find("which a choice sets") != std::string::npos);
    k = j;
    k["parameters"]["memory"]["choices"]["ddr4"] = {"platform.memory.chanels=1"};
    const std::string e = error_of(k);
    CHECK(e.find("/parameters/memory/choices/ddr4") != std::string::npos);
    CHECK(e.find("the nearest valid path is 'platform.memory.channels'") != std::string::npos);
}

TEST_CASE("dse sweep: one objective, misplaced companion keys, bad numbers in ties, damaged complete lines", "[dse][errors]") {
    // One objective: a grid works and its report has a hypervolume; NSGA-II is refused.
    nlohmann::json j = tiny_sweep();
    j["objectives"] = {{{"maximise", "decode.tokens_per_s"}}};
    const std::string out = fresh_dir("lmsim-dse-one-objective");
    Result r = run("dse " + write_sweep("lmsim-dse-one", j) + " --out " + out + " --fidelity analytic --quiet");
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(fs::exists(out + "/summary.md"));
    j["search"] = {{"method", "nsga2"}, {"budget", 8}};
    CHECK(error_of(j).find("multi-objective") != std::string::npos);
    j = tiny_sweep();
    j["parameters"]["design.htu.butterfly_lanes"] = {{"log_range", {8, 64}}, {"step", 4}};
    CHECK(error_of(j).find("/step: unexpected key") != std::string::npos);
    j = tiny_sweep();
    j["ties"]["design.axi.masters"] = "2 * .";
    CHECK(error_of(j).find("not a number") != std::string::npos);
    j["ties"]["design.axi.masters"] = "1e999";  // out of double's range: an input error, not an internal one
    CHECK(error_of(j).find("/ties/design.axi.masters: \"1e999\": not a") != std::string::npos);
    j = tiny_sweep();
    j["parameters"]["mem_a"] = {{"choices", {{"x", {"platform.memory.channels=4"}}}}};
    j["parameters"]["mem_b"] = {{"choices", {{"y", {"platform.memory.channels=2"}}}}};
    CHECK(error_of(j).find("also set by the choice parameter") != std::string::npos);
    // A complete last line that does not parse is damage, not a torn write: refused, not cut.
    const std::string dir = fresh_dir("lmsim-dse-damaged");
    fs::create_directories(dir);
    std::ofstream(dir + "/results.jsonl") << "{\"not\": \"a record\"}\n";
    CHECK_THROWS_WITH(lmsim::dse::ResultStore(dir), Catch::Contains("results.jsonl:1: damaged record"));
    CHECK(lines_of(dir + "/results.jsonl").size() == 1);
}
