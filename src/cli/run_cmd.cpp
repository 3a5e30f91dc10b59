// lmsim run [CONFIG] [--model NAME | --weights F] [--prompt-len N] [--tokens N] [--out DIR]:
// simulates decoding on the cycle-level model of the accelerator and writes DIR/report.json,
// DIR/units.csv and DIR/timeline.json. With no arguments: configs/vck190.json, synthetic
// mamba2-2.7b, one token, timing mode (the README's main job).
#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "cli/commands.h"
#include "common/error.h"
#include "config/resource_model.h"
#include "hw/accelerator.h"
#include "hw/lightmamba_graph.h"
#include "model/safetensors.h"
#include "report/run_report.h"

namespace lmsim::cli {
namespace {

struct RunArgs {
    std::string config = "vck190";
    std::vector<std::string> sets;
    std::string model = "mamba2-2.7b";
    std::string weights;
    int prompt_len = 0;
    int tokens = 1;
    bool functional = false;
    std::string out = "lmsim-run";
    bool quiet = false;
};

void run_simulation(const RunArgs& a) {
    if (a.functional)
        throw InputError("--functional: functional mode (blocks carrying data, checked against the golden model) "
                         "is not implemented yet; timing mode is (docs/validation.md)");
    if (a.tokens < 1) throw InputError(fmt::format("--tokens {}: expected at least 1", a.tokens));
    if (a.prompt_len < 0) throw InputError(fmt::format("--prompt-len {}: expected 0 or more", a.prompt_len));
    const HardwareConfig hw = load_hardware_config(find_config(a.config), a.sets);
    ModelCard card;
    if (!a.weights.empty()) {
        // Timing mode needs only the shapes: from the checkpoint's metadata or tensor shapes.
        card = open_safetensors_weights(a.weights)->card();
    } else {
        card = find_model_card(a.model);
    }
    const ResourceReport resources = estimate_resources(hw, card);
    hw::SimulationOptions options;
    options.tokens = a.prompt_len + a.tokens;
    const auto t0 = std::chrono::steady_clock::now();
    hw::Accelerator top("lightmamba", hw::build_lightmamba_graph(card, hw.design), hw.platform, hw.design, options);
    const hw::SimulationResult sim = top.run();
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    RunSummary run;
    run.hw = &hw;
    run.model = &card;
    run.sim = &sim;
    run.resources = &resources;
    run.prompt_len = a.prompt_len;
    run.tokens = a.tokens;
    run.wall_s = wall_s;
    const nlohmann::json report = run_report_json(run);
    std::filesystem::create_directories(a.out);
    write_file_atomically(a.out + "/report.json", report.dump(1) + "\n");
    write_file_atomically(a.out + "/units.csv", units_csv(sim));
    write_file_atomically(a.out + "/timeline.json", timeline_json(sim, hw.design.clock_mhz));

    const auto& d = report["decode"];
    fmt::print("{} on {} at {} MHz, {} ({} layers), {} token(s), {} memory model ({})\n", hw.design.name,
               hw.platform.name, hw.design.clock_mhz, card.name, card.n_layer, options.tokens, sim.memory_fidelity,
               sim.memory_preset);
    fmt::print("  cycles per token   {:.0f} ({:.0f} per layer)\n", d["cycles_per_token"].get<double>(),
               d["cycles_per_layer"].get<double>());
    fmt::print("  tokens per second  {:.3f}\n", d["tokens_per_s"].get<double>());
    fmt::print("  latency per token  {:.2f} ms\n", d["latency_ms_per_token"].get<double>());
    fmt::print("  MMU utilisation    {:.1f} %\n", 100.0 * report.value("mmu_utilization", 0.0));
    fmt::print("  memory             {:.3f} GB read, {:.3f} GB written, {:.2f} GB/s achieved (peak {:.2f})\n",
               sim.memory.read_bytes / 1e9, sim.memory.write_bytes / 1e9, report["memory"]["achieved_gbps"].get<double>(),
               sim.memory_peak_gbps);
    if (!a.quiet) {
        fmt::print("  {:<16} {:>12} {:>12} {:>12} {:>12}\n", "unit", "busy", "stall in", "stall out", "idle");
        for (const auto& b : sim.blocks)
            fmt::print("  {:<16} {:>12} {:>12} {:>12} {:>12}\n", b.name, b.counters.busy_cycles, b.counters.stall_in_cycles,
                       b.counters.stall_out_cycles, b.idle_cycles);
    }
    fmt::print("  simulated {:.1f} M cycles in {:.2f} s ({:.1f} M cycles/s)\n", sim.total_cycles / 1e6, wall_s,
               sim.total_cycles / 1e6 / wall_s);
    fmt::print("wrote {0}/report.json, {0}/units.csv, {0}/timeline.json\n", a.out);
}

}  // namespace

void add_run_command(CLI::App& app) {
    auto args = std::make_shared<RunArgs>();
    CLI::App* cmd = app.add_subcommand("run", "simulate decoding on the cycle-level accelerator model");
    cmd->add_option("config", args->config, "design config: vck190, u280 or a path")->capture_default_str();
    cmd->add_option("--set", args->sets, "override a config value: path=value (e.g. design.reorder=false)");
    cmd->add_option("--model", args->model, "model card (mamba2-130m ... mamba2-2.7b) or a JSON file")->capture_default_str();
    cmd->add_option("--weights", args->weights, "take the model's shapes from a safetensors checkpoint");
    cmd->add_option("--prompt-len", args->prompt_len, "prompt tokens, fed one by one before the decoded ones")->capture_default_str();
    cmd->add_option("--tokens", args->tokens, "tokens to decode")->capture_default_str();
    cmd->add_flag("--functional", args->functional, "carry data through the blocks (not implemented yet)");
    cmd->add_option("--out", args->out, "output directory")->capture_default_str();
    cmd->add_flag("--quiet", args->quiet, "omit the per-unit table");
    cmd->callback([args] { run_simulation(*args); });
}

}  // namespace lmsim::cli
