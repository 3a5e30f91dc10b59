// lmsim run --trace / --vcd / --trace-window (report/trace.h, report/vcd.h): the trace's spans
// add up to the units' counters, its FIFO counters reach the report's highest occupancy, its
// refreshes are the DRAM controllers', and the VCD (written by sc_trace in a child `lmsim vcd`)
// holds the same state times. What this does not prove: that Perfetto draws the file as intended
// (only that it is valid trace-event JSON with monotone timestamps per track).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli_run.h"

using lmsim_test::run;
using nlohmann::json;

namespace {

json read_json(const std::string& path) {
    std::ifstream f(path);
    return json::parse(f);
}

struct UnitSums {
    int64_t invocation = 0, stall_in = 0, stall_out = 0, stall_spans = 0;
};

// Per unit, from the trace: invocation cycles and stalled cycles (a merged train counts its
// stall_cycles, a single stall its length).
std::map<std::string, UnitSums> unit_sums(const json& trace) {
    std::map<int, std::string> names;
    std::map<std::string, UnitSums> sums;
    for (const json& e : trace["traceEvents"])
        if (e["ph"] == "M" && e["pid"] == 0 && e["name"] == "thread_name") names[e["tid"]] = e["args"]["name"];
    for (const json& e : trace["traceEvents"]) {
        if (e["ph"] != "X" || e["pid"] != 0) continue;
        UnitSums& u = sums[names.at(e["tid"].get<int>())];
        const int64_t cycles = e["args"]["cycles"];
        const int64_t stalled = e["args"].contains("stall_cycles") ? e["args"]["stall_cycles"].get<int64_t>() : cycles;
        if (e["cat"] == "invocation") u.invocation += cycles;
        else if (e["cat"] == "stall_in") u.stall_in += stalled, ++u.stall_spans;
        else if (e["cat"] == "stall_out") u.stall_out += stalled, ++u.stall_spans;
    }
    return sums;
}

// The VCD's time in each value of every signal (femtoseconds) and each signal's highest value.
struct VcdSignals {
    std::map<std::string, std::map<int, double>> time_in;
    std::map<std::string, int> highest;
    std::map<std::string, long> changes;
};
VcdSignals read_vcd(const std::string& path) {
    std::ifstream f(path);
    std::map<std::string, std::string> id_to_name;
    std::map<std::string, int> value;
    std::map<std::string, double> since;
    VcdSignals v;
    std::string line;
    double now = 0;
    bool header = true;
    std::vector<std::string> scopes;  // sc_trace writes a dotted name as nested scopes
    while (std::getline(f, line)) {
        std::istringstream w(line);
        std::string tok;
        w >> tok;
        if (header) {
            if (tok == "$scope") {
                std::string kind, name;
                w >> kind >> name;
                scopes.push_back(name);
            } else if (tok == "$upscope") {
                scopes.pop_back();
            } else if (tok == "$var") {
                std::string type, size, id, name;
                w >> type >> size >> id >> name;
                std::string full;
                for (std::size_t k = 1; k < scopes.size(); ++k) full += scopes[k] + ".";  // scopes[0]: "SystemC"
                id_to_name[id] = full + name;
            } else if (tok == "$enddefinitions") {
                header = false;
            }
            continue;
        }
        if (tok.empty()) continue;
        if (tok[0] == '#') {
            now = std::stod(tok.substr(1));
            continue;
        }
        if (tok[0] == 'b') {  // b0101 id
            std::string id;
            w >> id;
            if (!id_to_name.count(id)) continue;
            const std::string& name = id_to_name[id];
            const int x = static_cast<int>(std::stol(tok.substr(1), nullptr, 2));
            if (value.count(name)) v.time_in[name][value[name]] += now - since[name];
            value[name] = x;
            since[name] = now;
            v.highest[name] = std::max(v.highest[name], x);
            ++v.changes[name];
        }
    }
    return v;
}

}  // namespace

TEST_CASE("lmsim run --trace: stall spans add up to the units' counters and FIFO counters reach the highest occupancy "
          "and refreshes are the controllers' and the VCD holds the same state times", "[trace]") {
    const std::string dir = (std::filesystem::temp_directory_path() / "lmsim-trace-test").string();
    std::filesystem::remove_all(dir);
    // Exact recording (no merging, every level change) on command-level memory.
    const auto r = run("run --model mamba2-tiny --tokens 2 --quiet --trace --vcd --trace-merge-cycles 0 --trace-level-cycles 1 "
                       "--set platform.memory.fidelity=command --out " + dir);
    REQUIRE(r.code == 0);
    const json report = read_json(dir + "/report.json");
    const json trace = read_json(dir + "/trace.json");
    const double clock_mhz = trace["otherData"]["clock_mhz"];

    // Timestamps are monotone on every track (viewers need no sorting), counters per name.
    std::map<std::pair<int, int>, double> last_ts;
    std::map<std::string, double> last_counter;
    for (const json& e : trace["traceEvents"]) {
        if (e["ph"] == "X") {
            auto key = std::make_pair(e["pid"].get<int>(), e["tid"].get<int>());
            const double ts = e["ts"];
            if (last_ts.count(key)) REQUIRE(ts >= last_ts[key]);
            last_ts[key] = ts;
        } else if (e["ph"] == "C") {
            const double ts = e["ts"];
            const std::string n = e["name"];
            if (last_counter.count(n)) REQUIRE(ts >= last_counter[n]);
            last_counter[n] = ts;
        }
    }

    const auto sums = unit_sums(trace);
    int64_t stall_spans = 0;
    for (const auto& [name, u] : report["units"].items()) {
        INFO(name);
        REQUIRE(sums.count(name));
        const UnitSums& s = sums.at(name);
        CHECK(s.stall_in == u["stall_in_cycles"].get<int64_t>());
        CHECK(s.stall_out == u["stall_out_cycles"].get<int64_t>());
        CHECK(s.invocation - s.stall_in - s.stall_out == u["busy_cycles"].get<int64_t>());
        stall_spans += s.stall_spans;
    }
    REQUIRE(stall_spans > 1000);  // the run stalls; the sums above are not 0 == 0

    // A stall names a FIFO of the block: one it reads (wait) or writes (full).
    std::map<int, std::string> names;
    for (const json& e : trace["traceEvents"])
        if (e["ph"] == "M" && e["pid"] == 0 && e["name"] == "thread_name") names[e["tid"]] = e["args"]["name"];
    for (const json& e : trace["traceEvents"]) {
        if (e["ph"] != "X" || e["pid"] != 0 || e["cat"] == "invocation") continue;
        const std::string n = e["name"], block = names.at(e["tid"].get<int>());
        const bool wait = n.rfind("wait ", 0) == 0, full = n.rfind("full ", 0) == 0;
        REQUIRE((wait || full || n == "memory responses"));
        const std::string fifo = n.substr(5);
        if (fifo == "memory" || n == "memory responses") continue;
        INFO(block << ": " << n);
        REQUIRE(report["fifos"].contains(fifo));
        CHECK(report["fifos"][fifo][wait ? "consumer" : "producer"] == block);
        CHECK(e["cat"] == (wait ? "stall_in" : "stall_out"));
    }

    // FIFO counters: the highest level is the report's highest occupancy.
    std::map<std::string, int> highest;
    for (const json& e : trace["traceEvents"])
        if (e["ph"] == "C") highest[e["name"]] = std::max(highest[e["name"]], e["args"]["tokens"].get<int>());
    for (const auto& [name, f] : report["fifos"].items()) {
        INFO(name);
        CHECK(highest[name] == f["max_occupancy"].get<int>());
    }

    // Memory: one refresh event per REF the controllers issued.
    int64_t refreshes = 0, reads = 0;
    for (const json& e : trace["traceEvents"]) {
        if (e["ph"] != "X" || e["pid"] != 2) continue;
        refreshes += e["cat"] == "refresh";
        reads += e["cat"] == "read";
    }
    CHECK(refreshes == report["memory"]["dram_commands"]["refreshes"].get<int64_t>());
    CHECK(refreshes > 0);
    CHECK(reads > 0);

    // The VCD: each unit's time stalled and busy, in cycles, as the counters say.
    const VcdSignals vcd = read_vcd(dir + "/run.vcd");
    const double fs_per_cycle = 1e9 / clock_mhz;
    for (const auto& [name, u] : report["units"].items()) {
        const std::string sig = "units." + name + ".state";
        INFO(sig);
        REQUIRE(vcd.time_in.count(sig));
        const auto& t = vcd.time_in.at(sig);
        const auto cycles = [&](int state) { return t.count(state) ? t.at(state) / fs_per_cycle : 0.0; };
        CHECK(cycles(2) == Approx(u["stall_in_cycles"].get<double>()).margin(1));
        CHECK(cycles(3) == Approx(u["stall_out_cycles"].get<double>()).margin(1));
        CHECK(cycles(1) == Approx(u["busy_cycles"].get<double>()).margin(1));
    }
    for (const auto& [name, f] : report["fifos"].items()) {
        INFO(name);
        CHECK(vcd.highest.count("fifos." + name + ".tokens"));
        if (vcd.highest.count("fifos." + name + ".tokens")) CHECK(vcd.highest.at("fifos." + name + ".tokens") == f["max_occupancy"].get<int>());
    }
}

TEST_CASE("lmsim run --trace merges stall trains without losing a stalled cycle and --trace-window keeps only its span", "[trace]") {
    const std::string dir = (std::filesystem::temp_directory_path() / "lmsim-trace-window").string();
    std::filesystem::remove_all(dir);
    REQUIRE(run("run --model mamba2-tiny --tokens 2 --quiet --trace --out " + dir).code == 0);
    const json report = read_json(dir + "/report.json");
    const json merged = read_json(dir + "/trace.json");
    for (const auto& [name, u] : report["units"].items()) {
        INFO(name);
        const UnitSums s = unit_sums(merged)[name];
        CHECK(s.stall_in == u["stall_in_cycles"].get<int64_t>());
        CHECK(s.stall_out == u["stall_out_cycles"].get<int64_t>());
    }

    // Layers 1-2 of the run (of 8: 2 tokens x 4 layers): every span inside the window.
    REQUIRE(run("run --model mamba2-tiny --tokens 2 --quiet --trace --trace-window layers:1-2 --out " + dir).code == 0);
    const json windowed = read_json(dir + "/trace.json");
    const int64_t w0 = windowed["otherData"]["window_cycles"][0], w1 = windowed["otherData"]["window_cycles"][1];
    REQUIRE(w0 > 0);
    REQUIRE(w1 < report["simulator"]["simulated_cycles"].get<int64_t>());
    int64_t spans = 0;
    for (const json& e : windowed["traceEvents"]) {
        if (e["ph"] != "X") continue;
        const int64_t a = e["args"]["begin_cycle"], n = e["args"]["cycles"];
        CHECK(a >= w0);
        CHECK(a + n <= w1);
        CHECK(!(n == 0 && a == w0));  // a span that ended where the window starts is not in it
        ++spans;
    }
    CHECK(spans > 0);
    CHECK(windowed["traceEvents"].size() < merged["traceEvents"].size());

    // Refused before anything runs, exit 2: a bad window, a window without a trace, layers the run lacks.
    for (const char* bad : {"--trace --trace-window layers:3", "--trace --trace-window cycles:9-3", "--trace-window cycles:0-10",
                            "--trace --trace-window layers:0-8", "--trace-merge-cycles 3", "--trace --trace-level-cycles 0"}) {
        INFO(bad);
        std::filesystem::remove_all(dir);
        const auto r = run(std::string("run --model mamba2-tiny --tokens 2 --quiet --out ") + dir + " " + bad);
        CHECK(r.code == 2);
        CHECK(!std::filesystem::exists(dir + "/report.json"));
    }
}

TEST_CASE("lmsim vcd refuses a file that is not an lmsim trace", "[trace]") {
    const std::string path = (std::filesystem::temp_directory_path() / "lmsim-not-a-trace.json").string();
    std::ofstream(path) << "{\"traceEvents\": []}\n";
    const auto r = run("vcd " + path + " --out /tmp/lmsim-not-a-trace.vcd");
    CHECK(r.code == 2);
    CHECK(r.output.find("not a trace written by lmsim") != std::string::npos);
}
