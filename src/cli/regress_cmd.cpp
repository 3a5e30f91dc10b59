// lmsim regress: the architecture regression table. traces/regression.json holds a design
// matrix (the released VCK190 design and each of its switches, the template's widened designs,
// the U280 design; mamba2-tiny, -130m, -2.7b in timing mode, mamba2-tiny in functional mode) and,
// per point, the exact counts its run produced: every token's end cycle, every layer's cycles,
// every unit's busy, stall and iteration counts, the bytes moved. `lmsim regress` reruns the
// points and prints every count that moved; `--update` rewrites the counts deliberately (the
// table is written to a temporary file and renamed, so a failed update leaves the old one).
//
// Each point runs as a child `lmsim run` (cli/child_run.h). Exit 0: every count equal; 7: a
// count differs or is missing (each printed); 2: a bad table or selection.
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

// Exit code of a regression difference (docs/errors.md).
constexpr int kRegressionDiffers = 7;

struct RegressArgs {
    std::string table = std::string(LMSIM_SOURCE_DIR) + "/traces/regression.json";
    std::string label = "all";
    std::string only;
    bool update = false;
};

// The counts of one run, flattened to "key" -> integer.
json counts_of(const json& report) {
    json c = json::object();
    const json& ends = report.at("decode").at("token_end_cycles");
    for (std::size_t i = 0; i < ends.size(); ++i) c[fmt::format("token_end_cycles.{}", i)] = ends[i];
    const json& layers = report.at("per_layer_cycles");
    for (std::size_t i = 0; i < layers.size(); ++i) c[fmt::format("per_layer_cycles.{}", i)] = layers[i];
    for (const auto& [unit, u] : report.at("units").items())
        for (const char* k : {"busy_cycles", "stall_in_cycles", "stall_out_cycles", "iterations", "invocations"})
            c[fmt::format("units.{}.{}", unit, k)] = u.at(k);
    for (const char* k : {"bytes_read", "bytes_written"}) c[fmt::format("memory.{}", k)] = report.at("memory").at(k);
    if (report.contains("functional"))
        c["functional.stream_tokens_checked"] = report.at("functional").at("stream_tokens_checked");
    return c;
}

json load_table(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw InputError(fmt::format("{}: cannot read the regression table", path));
    json t;
    try {
        t = json::parse(f);
    } catch (const json::exception& e) {
        throw InputError(fmt::format("{}: not valid JSON: {}", path, e.what()));
    }
    if (!t.contains("points") || !t["points"].is_array())
        throw InputError(fmt::format("{}: /points: expected an array of design points", path));
    for (std::size_t i = 0; i < t["points"].size(); ++i) {
        const json& p = t["points"][i];
        const std::string where = fmt::format("{}: /points/{}", path, i);
        if (!p.contains("name") || !p["name"].is_string()) throw InputError(where + "/name: expected a string");
        if (!p.contains("label") || (p["label"] != "quick" && p["label"] != "slow"))
            throw InputError(where + "/label: expected \"quick\" or \"slow\"");
        if (!p.contains("args") || !p["args"].is_array()) throw InputError(where + "/args: expected the lmsim run arguments");
        for (const json& a : p["args"])
            if (!a.is_string()) throw InputError(where + "/args: expected strings");
    }
    return t;
}

void run_regress(const RegressArgs& a) {
    if (a.label != "quick" && a.label != "slow" && a.label != "all")
        throw InputError(fmt::format("--label {}: expected quick, slow or all", a.label));
    json table = load_table(a.table);
    const TemporaryDirectory tmp("lmsim-regress");
    int selected = 0, differing = 0, compared = 0;
    for (json& p : table["points"]) {
        const std::string name = p["name"];
        if ((a.label != "all" && p["label"] != a.label) || (!a.only.empty() && name != a.only)) continue;
        ++selected;
        const std::vector<std::string> args = p["args"].get<std::vector<std::string>>();
        json now;
        try {
            now = counts_of(run_child(args, tmp.path + "/" + std::to_string(selected)));
        } catch (const std::exception& e) {
            // A point that no longer runs (or whose report lacks a count) (a deadlock, a refused config) is a difference too;
            // an update stops rather than record it.
            if (a.update) throw std::runtime_error(fmt::format("regress: point {}: {}", name, e.what()));
            fmt::print("{:<40} FAILED: {}\n", name, e.what());
            ++differing;
            continue;
        }
        if (a.update) {
            p["counts"] = now;
            fmt::print("{:<40} {} counts recorded\n", name, now.size());
            continue;
        }
        if (!p.contains("counts")) {
            fmt::print("{:<40} no counts recorded (lmsim regress --update --only {})\n", name, name);
            ++differing;
            continue;
        }
        const json& was = p["counts"];
        int diffs = 0;
        for (const auto& [key, value] : now.items()) {
            ++compared;
            if (!was.contains(key)) {
                fmt::print("{:<40} {}: new count {}\n", name, key, value.dump());
                ++diffs;
            } else if (was[key] != value) {
                const int64_t before = was[key].get<int64_t>(), after = value.get<int64_t>();
                fmt::print("{:<40} {}: {} -> {} ({:+})\n", name, key, before, after, after - before);
                ++diffs;
            }
        }
        for (const auto& [key, value] : was.items())
            if (!now.contains(key)) {
                fmt::print("{:<40} {}: count {} no longer reported\n", name, key, value.dump());
                ++diffs;
            }
        if (diffs == 0) fmt::print("{:<40} {} counts equal\n", name, now.size());
        differing += diffs > 0;
    }
    if (selected == 0)
        throw InputError(fmt::format("{}: no point matches --label {}{}", a.table, a.label, a.only.empty() ? "" : " --only " + a.only));
    if (a.update) {
        // Written to a temporary file beside the table and renamed over it (no fsync).
        write_file_atomically(a.table, table.dump(2) + "\n");
        fmt::print("wrote {} ({} points updated)\n", a.table, selected);
        return;
    }
    fmt::print("{} points, {} counts compared, {} point(s) differ\n", selected, compared, differing);
    if (differing > 0) throw CheckFailed{kRegressionDiffers};
}

}  // namespace

void add_regress_command(CLI::App& app) {
    auto args = std::make_shared<RegressArgs>();
    CLI::App* cmd = app.add_subcommand("regress", "rerun the architecture regression table (traces/) and print every count that moved");
    cmd->add_option("--table", args->table, "the table")->capture_default_str();
    cmd->add_option("--label", args->label, "quick (mamba2-tiny, runs in CI), slow, or all")->capture_default_str();
    cmd->add_option("--only", args->only, "one point by name");
    cmd->add_flag("--update", args->update, "rewrite the selected points' counts from this build");
    cmd->callback([args] { run_regress(*args); });
}

}  // namespace lmsim::cli
