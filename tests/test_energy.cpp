// The energy model (energy/energy_model.h, docs/energy.md): the report's figures agree with each
// other, the counts come from the simulation, and the one fitted term reproduces its fit.
#include <catch2/catch.hpp>

#include "cli_run.h"
#include "energy/energy_model.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace {
using lmsim_test::Result;
using lmsim_test::run;
nlohmann::json run_report(const std::string& args, const std::string& tag) {
    const std::string out = (std::filesystem::temp_directory_path() / ("lmsim-energy-" + tag)).string();
    std::filesystem::remove_all(out);
    Result r = run("run " + args + " --quiet --out " + out);
    INFO(r.output);
    REQUIRE(r.code == 0);
    std::ifstream f(out + "/report.json");
    return nlohmann::json::parse(f);
}
}  // namespace

TEST_CASE("energy: tokens/J, power and the breakdown agree with each other and with the action counts", "[energy]") {
    for (const char* config : {"vck190", "u280"}) {
        INFO(config);
        const nlohmann::json j = run_report(std::string(config) + " --model mamba2-tiny --tokens 2", config);
        const nlohmann::json& e = j["energy"];
        const double rate = e["at_tokens_per_s"].get<double>();
        CHECK(rate == Approx(j["decode"]["host"]["tokens_per_s"].get<double>()));
        CHECK(e["tokens_per_j"].get<double>() == Approx(1.0 / e["j_per_token"].get<double>()));
        CHECK(e["tokens_per_j"].get<double>() == Approx(rate / e["power_w"]["total"].get<double>()));
        CHECK(e["power_w"]["total"].get<double>() ==
              Approx(e["power_w"]["static"].get<double>() + e["power_w"]["dynamic"].get<double>()));
        // Units add up to the total; each unit is its actions' count x pJ each.
        double units = 0;
        for (const auto& [unit, joules] : e["breakdown_j"].items()) units += joules.get<double>();
        CHECK(units == Approx(e["j_per_token"].get<double>()));
        const double tokens = e["counts_over_tokens"].get<double>();
        for (const auto& [unit, actions] : e["actions"].items()) {
            double pj = 0;
            for (const auto& [action, a] : actions.items()) pj += a["count"].get<double>() * a["pj_each"].get<double>();
            INFO(unit);
            CHECK(pj / 1e12 / tokens == Approx(e["breakdown_j"][unit].get<double>()));
        }
        // Counts are the simulation's: the MMU's MACs are its iterations x its lanes.
        const double gemm_iterations = j["units"]["GEMM"]["iterations"].get<double>();
        const auto& mmu = j["config"]["document"]["design"]["mmu"];
        double macs = 0;
        for (const auto& [action, a] : e["actions"]["GEMM"].items()) macs += a["count"].get<double>();
        CHECK(macs == gemm_iterations * mmu["input_lanes"].get<double>() * mmu["output_lanes"].get<double>());
        CHECK(e["breakdown_j"]["STATIC"].get<double>() == Approx(e["power_w"]["static"].get<double>() / rate));
    }
}

TEST_CASE("energy: the fitted static power solves rate / (static + dynamic x rate) = tokens/J", "[energy]") {
    const double s = lmsim::fit_static_w(0.1, 7.21, 2.25);
    CHECK(7.21 / (s + 0.1 * 7.21) == Approx(2.25));
    CHECK_THROWS(lmsim::fit_static_w(0.1, 0, 2.25));
}

TEST_CASE("energy (regression): the VCK190's static power is the calibration's fit to the paper's W4A4 figure, W8A8 is predicted",
          "[energy][regression]") {
    const nlohmann::json w4 = run_report("vck190", "w4a4");
    const double dyn4 = w4["energy"]["dynamic_j_per_token"].get<double>();
    const double fitted = lmsim::fit_static_w(dyn4, 7.21, 2.25);
    const double configured = w4["energy"]["power_w"]["static"].get<double>();
    INFO("fitted " << fitted << " W, configured " << configured << " W");
    CHECK(configured == Approx(fitted).margin(0.001));  // configs/platforms/vck190.json
    // The W8A8 prediction at the board's rate (docs/energy.md): 1.128 tokens/J against 1.45.
    const nlohmann::json w8 = run_report("vck190 --set design.precision=w8a8 --set design.mmu.output_lanes=4", "w8a8");
    const double dyn8 = w8["energy"]["dynamic_j_per_token"].get<double>();
    const double predicted = 3.61 / (configured + dyn8 * 3.61);
    INFO("W8A8 predicted " << predicted << " tokens/J");
    CHECK(predicted == Approx(1.128).margin(0.005));
}

TEST_CASE("lmsim energy: designs against the GPU baselines of the same model, as a table, JSON and CSV", "[energy][cli]") {
    const std::string dir = (std::filesystem::temp_directory_path() / "lmsim-energy-cmd").string();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    Result r = run("energy vck190 u280 --model mamba2-130m --json " + dir + "/e.json --csv " + dir + "/e.csv");
    INFO(r.output);
    REQUIRE(r.code == 0);
    std::ifstream f(dir + "/e.json");
    const nlohmann::json j = nlohmann::json::parse(f);
    REQUIRE(j["points"].size() == 2);
    for (const auto& p : j["points"]) {
        CHECK(p["tokens_per_j"].get<double>() == Approx(p["tokens_per_s"].get<double>() / p["power_w"].get<double>()));
        REQUIRE(p["against"].size() == 1);  // the measured H100 row for mamba2-130m
        CHECK(p["against"][0]["baseline"] == "H100 80GB (FP16, measured)");
        CHECK(p["against"][0]["tokens_per_j_ratio"].get<double>() == Approx(p["tokens_per_j"].get<double>() / 5.732));
    }
    CHECK(j["claims"].empty());  // the paper's claims are about mamba2-2.7b
    CHECK(j["baselines"].size() == 7);
    std::ifstream c(dir + "/e.csv");
    std::string line;
    int lines = 0;
    while (std::getline(c, line)) ++lines;
    CHECK(lines == 1 + 2);
    // A bad baselines file is the user's error, named, and nothing is written.
    std::ofstream(dir + "/bad.json") << R"({"baselines": [{"name": "x", "model": "mamba2-130m"}]})";
    Result bad = run("energy vck190 --model mamba2-130m --baselines " + dir + "/bad.json --json " + dir + "/none.json");
    CHECK(bad.code == 2);
    CHECK(bad.output.find("/baselines/0/source") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir + "/none.json"));
}
