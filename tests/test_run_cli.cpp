// `lmsim run` as a user meets it: the report's fields and their consistency, the deadlock
// report, the released design against the board, the paper's ablation direction.
#include <catch2/catch.hpp>

#include "cli_run.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "config/hardware_config.h"
#include "hw/lightmamba_graph.h"
#include "model/model_card.h"

namespace {
using lmsim_test::Result;
using lmsim_test::run;
nlohmann::json read_json(const std::string& path) {
    std::ifstream f(path);
    return nlohmann::json::parse(f);
}
std::string fresh_dir(const std::string& name) {
    std::string d = (std::filesystem::temp_directory_path() / name).string();
    std::filesystem::remove_all(d);
    return d;
}
std::string short_27b(int layers) { return lmsim_test::short_card("mamba2-2.7b", layers); }
}  // namespace

TEST_CASE("lmsim run writes report.json with the documented fields", "[cli][run]") {
    const std::string out = fresh_dir("lmsim-run-fields");
    Result r = run("run vck190 --model mamba2-tiny --prompt-len 1 --tokens 2 --out " + out);
    INFO(r.output);
    REQUIRE(r.code == 0);
    nlohmann::json j = read_json(out + "/report.json");
    CHECK(j["workload"]["simulated_tokens"] == 3);
    const double cpt = j["decode"]["cycles_per_token"];
    CHECK(cpt > 0);
    CHECK(j["decode"]["tokens_per_s"].get<double>() == Approx(400e6 / cpt));
    CHECK(j["decode"]["latency_ms_per_token"].get<double>() == Approx(cpt / 400e3));
    const lmsim::ModelCard card = lmsim::find_model_card("mamba2-tiny");
    REQUIRE(j["per_layer_cycles"].size() == static_cast<std::size_t>(card.n_layer));
    const long total = j["simulator"]["simulated_cycles"];
    for (auto& [name, u] : j["units"].items()) {
        INFO(name);
        CHECK(u["busy_cycles"].get<long>() + u["stall_in_cycles"].get<long>() + u["stall_out_cycles"].get<long>() +
                  u["idle_cycles"].get<long>() ==
              total);
    }
    CHECK(j["units"].contains("HT_STATE"));
    CHECK(j["units"].contains("WEIGHT_PRODUCER"));
    // Every byte the layer's phases name (lightmamba.md 3.2), for every layer of every token.
    const lmsim::HardwareConfig hw = lmsim::load_hardware_config(lmsim::find_config("vck190"));
    const lmsim::hw::LayerShape s = lmsim::hw::layer_shape(card, hw.design);
    const long per_layer_read = 2 * s.conv_beats + s.state_beats + s.weight_beats + s.scale_beats;
    const long per_layer_write = s.conv_beats + s.state_beats;
    CHECK(j["memory"]["bytes_read"].get<long>() == 3 * 32 * (card.n_layer * per_layer_read + s.x_beats));
    CHECK(j["memory"]["bytes_written"].get<long>() == 3 * 32 * (card.n_layer * per_layer_write + s.x_beats));
    CHECK(j["memory"]["achieved_gbps"].get<double>() > 0);
    // LPDDR4-3200 from DRAMSys's currents: a few pJ per bit moved (core only, no I/O).
    const double bits = 8.0 * (j["memory"]["bytes_read"].get<double>() + j["memory"]["bytes_written"].get<double>());
    const double pj_per_bit = j["memory"]["energy"]["dram_pj"].get<double>() / bits;
    CHECK(pj_per_bit > 1.0);
    CHECK(pj_per_bit < 30.0);
    CHECK(j["memory"]["energy"]["not_covered"].get<std::string>().empty());
    // Per channel: the VCK190's four LPDDR4 channels, adding up to the total.
    const auto per_channel = j["memory"]["energy"]["per_channel_pj"].get<std::vector<double>>();
    CHECK(per_channel.size() == 4);
    double channel_sum = 0;
    for (double e : per_channel) channel_sum += e;
    CHECK(channel_sum == Approx(j["memory"]["energy"]["dram_pj"].get<double>()));
    CHECK(j["resources"]["lut"]["available"].get<double>() > 0);
    CHECK(j["resources"]["uram"].contains("used"));
    CHECK(j["simulator"]["mode"] == "timing");
    CHECK(j["simulator"]["wall"]["s"].get<double>() > 0);
    CHECK(j["fifos"]["h_prev_to_dah"]["depth"] == 64);
    CHECK(j["fifos"]["h_prev_to_dah"]["occupancy_cycles"].size() > 64);
    CHECK(std::filesystem::exists(out + "/units.csv"));
    nlohmann::json trace = read_json(out + "/timeline.json");
    CHECK(trace["traceEvents"].size() > 27 * 3 * 4);
}

TEST_CASE("lmsim run --functional checks every layer against the golden model and reports it", "[cli][run][functional]") {
    const std::string out = fresh_dir("lmsim-run-functional");
    const std::string weights = std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors";
    Result r = run("run vck190 --weights " + weights + " --functional --prompt 5,6 --tokens 2 --out " + out);
    INFO(r.output);
    REQUIRE(r.code == 0);
    nlohmann::json j = read_json(out + "/report.json");
    CHECK(j["simulator"]["mode"] == "functional");
    CHECK(j["functional"]["bit_exact_with_golden"] == true);
    CHECK(j["functional"]["layers_checked"] == 4 * 4);
    // Every block's streams were compared token by token with the golden model, not only the
    // residual after each layer.
    CHECK(j["functional"]["stream_tokens_checked"].get<long>() > 1000);
    CHECK(j["functional"]["streams_checked"].get<int>() >= 35);
    CHECK(j["functional"]["input_tokens"][0] == 5);
    CHECK(j["functional"]["input_tokens"][1] == 6);
    // Timing does not depend on data: the same cycles as timing mode.
    const double functional_cycles = j["decode"]["cycles_per_token"];
    Result t = run("run vck190 --weights " + weights + " --prompt 5,6 --tokens 2 --out " + out);
    REQUIRE(t.code == 0);
    CHECK(read_json(out + "/report.json")["decode"]["cycles_per_token"].get<double>() == functional_cycles);
}

TEST_CASE("lmsim run names the blocked blocks and FIFOs of a deadlock and writes nothing", "[cli][run]") {
    // HT_STATE emits a tile's 128 h(t-1) vectors before it takes h(t) back; with a 4-deep FIFO
    // to DAH the loop through DAH and HT_ADD_QUANT cannot hold them.
    const std::string out = fresh_dir("lmsim-run-deadlock");
    Result r = run("run vck190 --model " + short_27b(2) + " --set design.fifo_depths.ht_state_to_dah=4 --out " + out);
    INFO(r.output);
    CHECK(r.code == 5);
    CHECK(r.output.find("deadlock") != std::string::npos);
    CHECK(r.output.find("HT_STATE") != std::string::npos);
    CHECK(r.output.find("h_prev_to_dah") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out + "/report.json"));
}

TEST_CASE("lmsim run refuses what it cannot do with a clear message", "[cli][run]") {
    Result f = run("run vck190 --model mamba2-tiny --functional --set design.state_residency=on_chip --out " +
                   fresh_dir("lmsim-run-f"));
    CHECK(f.code == 2);
    CHECK(f.output.find("state_residency") != std::string::npos);
    Result t = run("run vck190 --model mamba2-tiny --tokens 0");
    CHECK(t.code == 2);
    Result m = run("run vck190 --model mamba2-nonexistent");
    CHECK(m.code == 2);
    Result l = run("run vck190 --model mamba2-tiny --set design.ssmu.lanes=24");
    CHECK(l.code == 2);
    CHECK(l.output.find("/design/ssmu/lanes") != std::string::npos);
    // d_state 64 in 16 n per iteration: 4 iterations per tile, not more than HT_STATE's lock step.
    Result h = run("run vck190 --model mamba2-tiny --set design.ssmu.lanes=128");
    CHECK(h.code == 2);
    CHECK(h.output.find("HT_STATE streams 4 iterations") != std::string::npos);
    Result tile = run("run vck190 --model mamba2-tiny --set design.tiling.np=16");
    CHECK(tile.code == 2);
    CHECK(tile.output.find("/design/tiling") != std::string::npos);
    Result ol = run("run vck190 --model mamba2-tiny --set design.mmu.output_lanes=12 --set design.mmu.input_lanes=16 "
                    "--set design.axi.width_bits=384 --set design.axi.masters=2");
    CHECK(ol.code == 2);
    CHECK(ol.output.find("/design/mmu/output_lanes") != std::string::npos);
    Result fm = run("run vck190 --model mamba2-tiny --functional --set design.mmu.input_lanes=24 --set design.mmu.output_lanes=8 "
                    "--set design.axi.width_bits=384 --set design.axi.masters=2 --out " + fresh_dir("lmsim-run-fm"));
    CHECK(fm.code == 2);
    CHECK(fm.output.find("weight group") != std::string::npos);
}

TEST_CASE("released VCK190 design on mamba2-2.7b: within the floors, and (regression of the fitted NoC latency) at the board's rate at 425 MHz", "[cli][run][regression]") {
    const std::string out = fresh_dir("lmsim-run-validation");
    Result r = run("run --quiet --out " + out);  // the default: vck190, mamba2-2.7b, one token
    INFO(r.output);
    REQUIRE(r.code == 0);
    nlohmann::json j = read_json(out + "/report.json");
    const double per_layer = j["decode"]["cycles_per_layer"];
    CHECK(per_layer >= 680'861);  // memory floor: beats per layer at one beat per cycle
    CHECK(per_layer >= 627'848);  // compute floor: the GEMM's HLS latency
    CHECK(per_layer <= 1'000'000);
    // A REGRESSION CHECK, not a validation: the NoC latency was fitted to the board's 7.0644
    // tok/s at 425 MHz with the host estimate added (lmsim calibrate, docs/validation.md), so
    // this only notices that something moved the fit.
    Result b = run("run --quiet --set design.clock_mhz=425 --out " + out);
    REQUIRE(b.code == 0);
    nlohmann::json k = read_json(out + "/report.json");
    CHECK(k["decode"]["host"]["tokens_per_s"].get<double>() == Approx(7.0644).epsilon(0.002));
    const double host_s = k["decode"]["host"]["s_per_token"];
    CHECK(host_s > 0);
    CHECK(1.0 / k["decode"]["host"]["tokens_per_s"].get<double>() ==
          Approx(1.0 / k["decode"]["tokens_per_s"].get<double>() + host_s));
}

TEST_CASE("lmsim calibrate recovers a known NoC latency from the rate it produces", "[cli][calibrate]") {
    // The rate of a 4-layer model at a NoC latency of 150 ns, then the fit from the config's
    // fitted value back to it: the fitted latency must give the same rate (to 0.01 %) and lie
    // within 5 ns of 150 (the rate is a staircase in the latency, flat over a few ns here).
    const std::string model = short_27b(4);
    const std::string out = fresh_dir("lmsim-run-calibrate");
    const std::string no_host =
        " --set platform.host.per_token_s=0 --set platform.host.per_token_s_min=0 --set platform.host.per_token_s_max=0";
    Result r = run("run --quiet --model " + model + " --set platform.memory.noc_latency_ns=150 --out " + out);
    REQUIRE(r.code == 0);
    const double tps = read_json(out + "/report.json")["decode"]["tokens_per_s"];
    Result c = run("calibrate --model " + model + no_host + " --board-tokens-per-s " + std::to_string(tps));
    INFO(c.output);
    REQUIRE(c.code == 0);
    const std::size_t at = c.output.find("(estimate)");
    REQUIRE(at != std::string::npos);
    const std::size_t line = c.output.rfind('\n', at) + 1;
    std::istringstream fields(c.output.substr(line, at - line));
    double host_ms = -1, linear = 0, fitted = 0, rate = 0;
    fields >> host_ms >> linear >> fitted >> rate;
    CHECK(host_ms == 0);
    CHECK(fitted == Approx(150).margin(5));
    CHECK(rate == Approx(tps).epsilon(1e-4));
}

TEST_CASE("reordering cuts a layer by about a third and raises MMU utilisation as in the paper", "[cli][run][ablation]") {
    const std::string model = short_27b(3);
    const std::string out = fresh_dir("lmsim-run-ablation");
    // Pipelined bursts: the design the paper's ablation describes is not throttled by the
    // released producer's per-loop latency.
    const std::string common = "run --quiet --model " + model + " --set design.axi.sequential_bursts=false --out " + out;
    Result on = run(common);
    REQUIRE(on.code == 0);
    nlohmann::json a = read_json(out + "/report.json");
    Result off = run(common + " --set design.reorder=false");
    INFO(off.output);
    REQUIRE(off.code == 0);
    nlohmann::json b = read_json(out + "/report.json");
    const double t_on = a["decode"]["cycles_per_token"], t_off = b["decode"]["cycles_per_token"];
    CHECK(1.0 - t_on / t_off == Approx(0.32).margin(0.05));
    CHECK(a["mmu_utilization"].get<double>() > 0.85);
    CHECK(b["mmu_utilization"].get<double>() < 0.70);
}

TEST_CASE("run reports HBM2 DRAM energy at 3.9 pJ/bit of the bytes moved", "[cli][run][memory]") {
    const std::string out = fresh_dir("lmsim-run-energy");
    Result r = run("run u280 --quiet --model mamba2-tiny --out " + out);
    INFO(r.output);
    REQUIRE(r.code == 0);
    nlohmann::json j = read_json(out + "/report.json");
    const double bits = 8.0 * (j["memory"]["bytes_read"].get<double>() + j["memory"]["bytes_written"].get<double>());
    // Every read and write burst of 32 B on each pseudo-channel, at 3.9 pJ/bit [U].
    CHECK(j["memory"]["energy"]["dram_pj"].get<double>() == Approx(3.9 * bits).epsilon(0.02));
}

TEST_CASE("tlm memory fidelity: the producer's bursts through the TLM-2.0 sockets time exactly as command level", "[cli][run][memory][tlm]") {
    // The same controllers behind DramChannelTarget sockets: identical cycles and DRAM command
    // counts, on the VCK190 at 400 and 425 MHz and on the U280's 32 pseudo-channels. A request
    // in the past (the producer computing behind simulation time) would fail the run.
    const std::string model = short_27b(3);
    const std::string out = fresh_dir("lmsim-run-tlm");
    for (const std::string config : {"vck190", "vck190 --set design.clock_mhz=425", "u280"}) {
        INFO(config);
        double cycles[2];
        nlohmann::json commands[2];
        for (int f = 0; f < 2; ++f) {
            Result r = run("run " + config + " --quiet --model " + model + " --set platform.memory.fidelity=" +
                           (f ? "tlm" : "command") + " --out " + out);
            INFO(r.output);
            REQUIRE(r.code == 0);
            const nlohmann::json j = read_json(out + "/report.json");
            cycles[f] = j["decode"]["cycles_per_token"];
            commands[f] = j["memory"]["dram_commands"];
            if (f) CHECK(j["memory"]["fidelity"] == "tlm");
        }
        CHECK(cycles[1] == cycles[0]);
        CHECK(commands[1] == commands[0]);
    }
}

TEST_CASE("lmsim run --check-protocol: every DRAM command of the run is legal, at command and tlm fidelity", "[cli][run][memory]") {
    const std::string model = short_27b(2);
    const std::string out = fresh_dir("lmsim-run-protocol");
    long checked[2];
    for (int f = 0; f < 2; ++f) {
        Result r = run(std::string("run --quiet --check-protocol --model ") + model + " --set platform.memory.fidelity=" +
                       (f ? "tlm" : "command") + " --out " + out);
        INFO(r.output);
        REQUIRE(r.code == 0);
        const nlohmann::json j = read_json(out + "/report.json");
        checked[f] = j["memory"]["protocol_check"]["commands_checked"];
        // Every read and write of the run, and the row commands and refreshes besides.
        CHECK(checked[f] > j["memory"]["dram_commands"]["reads"].get<long>() + j["memory"]["dram_commands"]["writes"].get<long>());
    }
    CHECK(checked[0] == checked[1]);
    Result refused = run("run --quiet --check-protocol --model " + model + " --out " + out);  // stream: no commands
    CHECK(refused.code == 2);
    CHECK_THAT(refused.output, Catch::Contains("--check-protocol: the stream memory model issues no DRAM commands"));
}

TEST_CASE("stream and command memory fidelity agree on the released design", "[cli][run][memory]") {
    const std::string model = short_27b(3);
    const std::string out = fresh_dir("lmsim-run-fidelity");
    Result c = run("run --quiet --model " + model + " --set platform.memory.fidelity=command --out " + out);
    REQUIRE(c.code == 0);
    const double cmd = read_json(out + "/report.json")["decode"]["cycles_per_token"];
    Result s = run("run --quiet --model " + model + " --set platform.memory.fidelity=stream --out " + out);
    REQUIRE(s.code == 0);
    const double str = read_json(out + "/report.json")["decode"]["cycles_per_token"];
    // The released producer pays one request latency per 256-beat loop; the closed form keeps
    // bursts back to back on the bus and places refreshes every tREFI (docs/memory.md).
    CHECK(str == Approx(cmd).epsilon(0.01));
    // And at the board's 425 MHz, where the loops fall differently on rows and refreshes.
    const std::string at425 = "run --quiet --model " + model + " --set design.clock_mhz=425 --out " + out;
    REQUIRE(run(at425 + " --set platform.memory.fidelity=command").code == 0);
    const double cmd425 = read_json(out + "/report.json")["decode"]["cycles_per_token"];
    REQUIRE(run(at425 + " --set platform.memory.fidelity=stream").code == 0);
    const double str425 = read_json(out + "/report.json")["decode"]["cycles_per_token"];
    CHECK(str425 == Approx(cmd425).epsilon(0.01));
}

TEST_CASE("lmsim bench memory: records the producer's traffic and replays it on both fidelities", "[cli][bench][memory]") {
    // A benchmark, so nothing about speed is asserted: only that it runs and says what it measured.
    Result r = run("bench memory --model mamba2-130m --layers 1");
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output, Catch::Contains("bursts, "));
    CHECK_THAT(r.output, Catch::Contains("M DRAM bursts per wall second"));
    CHECK_THAT(r.output, Catch::Contains("faster than command level"));
    CHECK_THAT(r.output, Catch::Contains("last completion"));
    CHECK(run("bench memory --layers 0").code == 2);
}

TEST_CASE("lmsim regress names every count that moved and exits 7, --update records them", "[cli][regress]") {
    // A copy of the table with one point, one count broken on purpose.
    std::ifstream in(std::string(LMSIM_SOURCE_DIR) + "/traces/regression.json");
    nlohmann::json table = nlohmann::json::parse(in);
    nlohmann::json point;
    for (const auto& p : table["points"])
        if (p["name"] == "vck190-ssmu16/tiny") point = p;
    REQUIRE(point.contains("counts"));
    const std::string dir = fresh_dir("lmsim-regress-test");
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/table.json";
    point["counts"]["units.DBU.busy_cycles"] = point["counts"]["units.DBU.busy_cycles"].get<int64_t>() + 1;
    point["counts"].erase("units.HT_STATE.iterations");
    std::ofstream(path) << nlohmann::json{{"points", {point}}}.dump();
    Result r = run("regress --table " + path);
    INFO(r.output);
    CHECK(r.code == 7);
    CHECK(r.output.find("units.DBU.busy_cycles") != std::string::npos);
    CHECK(r.output.find("(-1)") != std::string::npos);
    CHECK(r.output.find("units.HT_STATE.iterations: new count") != std::string::npos);
    Result u = run("regress --update --table " + path);
    CHECK(u.code == 0);
    Result again = run("regress --table " + path);
    CHECK(again.code == 0);
    CHECK(again.output.find("1 points") != std::string::npos);
    Result bad = run("regress --table " + path + " --label nightly");
    CHECK(bad.code == 2);
}

TEST_CASE("report.json: the memory streams' bytes add up to the bytes moved (one master), within the tail beats (several)",
          "[cli][run]") {
    for (const char* config : {"vck190", "u280"}) {
        const std::string out = fresh_dir(std::string("lmsim-run-streams-") + config);
        Result r = run(std::string("run ") + config + " --model mamba2-tiny --quiet --out " + out);
        INFO(r.output);
        REQUIRE(r.code == 0);
        const nlohmann::json j = read_json(out + "/report.json");
        double sum = 0;
        for (const auto& [name, bytes] : j["memory"]["bytes_per_stream"].items()) sum += bytes.get<double>();
        const double moved = j["memory"]["bytes_read"].get<double>() + j["memory"]["bytes_written"].get<double>();
        INFO(config << ": streams " << sum << " B, moved " << moved << " B");
        if (std::string(config) == "vck190") CHECK(sum == moved);
        else CHECK((sum <= moved && sum >= 0.95 * moved));
    }
}
