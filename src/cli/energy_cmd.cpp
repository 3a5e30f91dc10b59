// lmsim energy: designs against GPU baselines by energy efficiency. Each (config, model) point
// runs as a child `lmsim run` (timing mode; cli/child_run.h) and reports tokens/s (with the
// host's share), power and tokens/J from its energy model (docs/energy.md); the baselines come
// from a JSON file (configs/baselines/gpus.json: every row of ../shared/baselines with its
// source) and the paper's claims are set beside lmsim's ratios. Output: a table on the terminal,
// and with --json / --csv the same figures as files (written whole or not at all).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/child_run.h"
#include "cli/commands.h"
#include "common/error.h"
#include "model/safetensors.h"  // write_file_atomically

namespace lmsim::cli {
namespace {

using nlohmann::json;

struct EnergyArgs {
    std::vector<std::string> configs = {"vck190", "u280"};
    std::vector<std::string> models = {"mamba2-2.7b"};
    std::vector<std::string> sets;
    std::string baselines = std::string(LMSIM_SOURCE_DIR) + "/configs/baselines/gpus.json";
    std::string json_out, csv_out;
};

struct Baseline {
    std::string name, model, source;
    double tokens_per_s = 0, power_w = 0, tokens_per_j = 0;
};

struct Point {
    std::string config, design, platform, model;
    double tokens_per_s = 0, power_w = 0, tokens_per_j = 0, static_w = 0;
};

json load_baselines(const std::string& path, std::vector<Baseline>* out) {
    std::ifstream f(path);
    if (!f) throw InputError(path + ": cannot read the baselines file");
    json j;
    try {
        j = json::parse(f);
    } catch (const json::exception& e) {
        throw InputError(fmt::format("{}: not valid JSON: {}", path, e.what()));
    }
    if (!j.contains("baselines") || !j["baselines"].is_array())
        throw InputError(path + ": /baselines: expected an array of GPU rows");
    for (std::size_t i = 0; i < j["baselines"].size(); ++i) {
        const json& r = j["baselines"][i];
        const std::string where = fmt::format("{}: /baselines/{}", path, i);
        Baseline b;
        for (const char* k : {"name", "model", "source"})
            if (!r.contains(k) || !r[k].is_string()) throw InputError(fmt::format("{}/{}: expected a string", where, k));
        for (const char* k : {"tokens_per_s", "power_w", "tokens_per_j"})
            if (!r.contains(k) || !r[k].is_number() || r[k].get<double>() <= 0)
                throw InputError(fmt::format("{}/{}: expected a positive number", where, k));
        b.name = r["name"];
        b.model = r["model"];
        b.source = r["source"];
        b.tokens_per_s = r["tokens_per_s"];
        b.power_w = r["power_w"];
        b.tokens_per_j = r["tokens_per_j"];
        out->push_back(b);
    }
    return j.value("claims", json::array());
}

void run_energy(const EnergyArgs& a) {
    std::vector<Baseline> baselines;
    const json claims = load_baselines(a.baselines, &baselines);
    for (const std::string& out : {a.json_out, a.csv_out})
        if (!out.empty() && std::filesystem::is_directory(out)) throw InputError(out + ": is a directory, expected a file name");
    const TemporaryDirectory tmp("lmsim-energy");
    std::vector<Point> points;
    int k = 0;
    for (const std::string& model : a.models)
        for (const std::string& config : a.configs) {
            std::vector<std::string> args = {config, "--model", model};
            for (const auto& s : a.sets) args.insert(args.end(), {"--set", s});
            const json r = run_child(args, tmp.path + "/" + std::to_string(k++));
            Point p;
            p.config = config;
            p.model = model;
            p.design = r["config"]["design"];
            p.platform = r["config"]["platform"];
            p.tokens_per_s = r["energy"]["at_tokens_per_s"];
            p.power_w = r["energy"]["power_w"]["total"];
            p.static_w = r["energy"]["power_w"]["static"];
            p.tokens_per_j = r["energy"]["tokens_per_j"];
            points.push_back(p);
        }

    fmt::print("{:<34} {:<12} {:>9} {:>8} {:>9}   against (same model): tokens/J ratio, tokens/s ratio\n", "design", "model",
               "tokens/s", "W", "tokens/J");
    json jp = json::array();
    std::string csv = "design,platform,model,tokens_per_s,power_w,tokens_per_j,baseline,baseline_tokens_per_s,baseline_power_w,"
                      "baseline_tokens_per_j,tokens_per_j_ratio,tokens_per_s_ratio\n";
    for (const Point& p : points) {
        std::string against;
        json vs = json::array();
        for (const Baseline& b : baselines) {
            if (b.model != p.model) continue;
            const double re = p.tokens_per_j / b.tokens_per_j, rs = p.tokens_per_s / b.tokens_per_s;
            against += fmt::format("  {} {:.2f}x, {:.2f}x;", b.name, re, rs);
            vs.push_back({{"baseline", b.name}, {"tokens_per_j_ratio", re}, {"tokens_per_s_ratio", rs}});
            csv += fmt::format("{},{},{},{:.6g},{:.6g},{:.6g},\"{}\",{:.6g},{:.6g},{:.6g},{:.6g},{:.6g}\n", p.design, p.platform,
                               p.model, p.tokens_per_s, p.power_w, p.tokens_per_j, b.name, b.tokens_per_s, b.power_w,
                               b.tokens_per_j, re, rs);
        }
        fmt::print("{:<34} {:<12} {:>9.3f} {:>8.3f} {:>9.4f} {}\n", p.design, p.model, p.tokens_per_s, p.power_w, p.tokens_per_j,
                   against.empty() ? "  (no baseline for this model)" : against);
        jp.push_back({{"config", p.config},
                      {"design", p.design},
                      {"platform", p.platform},
                      {"model", p.model},
                      {"tokens_per_s", p.tokens_per_s},
                      {"power_w", p.power_w},
                      {"static_w", p.static_w},
                      {"tokens_per_j", p.tokens_per_j},
                      {"against", vs}});
    }
    // The paper's claims beside lmsim's figures for the same platform and model.
    json jc = json::array();
    for (const json& c : claims) {
        for (const Point& p : points) {
            if (p.platform != c.value("design", "") || p.model != c.value("model", "")) continue;
            for (const Baseline& b : baselines) {
                if (b.name != c.value("against", "") || b.model != p.model) continue;
                const bool efficiency = c.value("metric", "") == "tokens_per_j";
                const double lmsim_ratio = efficiency ? p.tokens_per_j / b.tokens_per_j : p.tokens_per_s / b.tokens_per_s;
                const double paper = c.value("ratio", 0.0);
                fmt::print("claim: {} {} vs {} {}: paper {:.2f}x, lmsim {:.2f}x ({})\n", p.platform, p.model, b.name,
                           efficiency ? "tokens/J" : "tokens/s", paper, lmsim_ratio, c.value("source", ""));
                jc.push_back({{"platform", p.platform},
                              {"model", p.model},
                              {"against", b.name},
                              {"metric", c.value("metric", "")},
                              {"paper_ratio", paper},
                              {"lmsim_ratio", lmsim_ratio},
                              {"source", c.value("source", "")}});
            }
        }
    }
    json jb = json::array();
    for (const Baseline& b : baselines)
        jb.push_back({{"name", b.name},
                      {"model", b.model},
                      {"tokens_per_s", b.tokens_per_s},
                      {"power_w", b.power_w},
                      {"tokens_per_j", b.tokens_per_j},
                      {"source", b.source}});
    if (!a.json_out.empty())
        write_file_atomically(a.json_out, json{{"points", jp}, {"baselines", jb}, {"claims", jc}}.dump(2) + "\n");
    if (!a.csv_out.empty()) write_file_atomically(a.csv_out, csv);
}

}  // namespace

void add_energy_command(CLI::App& app) {
    auto args = std::make_shared<EnergyArgs>();
    CLI::App* cmd = app.add_subcommand("energy", "energy efficiency of designs against GPU baselines (docs/energy.md)");
    cmd->add_option("configs", args->configs, "design configs")->capture_default_str();
    cmd->add_option("--model", args->models, "model cards (several: efficiency against model size)")->capture_default_str();
    cmd->add_option("--set", args->sets, "override a config value in every design: path=value");
    cmd->add_option("--baselines", args->baselines, "GPU baselines file")->capture_default_str();
    cmd->add_option("--json", args->json_out, "also write the figures as JSON");
    cmd->add_option("--csv", args->csv_out, "also write one CSV row per design and baseline");
    cmd->callback([args] { run_energy(*args); });
}

}  // namespace lmsim::cli
