// lmsim check CONFIG [--set path=value ...]: does the design fit? Per-block and total resources
// against the platform's budget; exit 1 naming every resource over budget.
#include <fmt/format.h>

#include "cli/commands.h"
#include "common/error.h"
#include "config/resource_model.h"
#include "model/safetensors.h"
#include "report/resources_json.h"

namespace lmsim::cli {
namespace {

struct CheckArgs {
    std::string config;
    std::vector<std::string> sets;
    std::string model = "mamba2-2.7b";
    std::string json_out;
};

int run_check(const CheckArgs& a) {
    HardwareConfig hw = load_hardware_config(a.config, a.sets);
    ModelCard card = find_model_card(a.model);
    ResourceReport r = estimate_resources(hw, card);
    fmt::print("{} ({}) on {} ({}), {} MHz, sized for {}\n\n", hw.design.name, hw.file, hw.platform.name,
               hw.platform.part, hw.design.clock_mhz, card.name);
    fmt::print("{:<18} {:>9} {:>9} {:>7} {:>8} {:>6} {:>12}\n", "block", "LUT", "FF", "DSP", "BRAM36", "URAM", "on-chip B");
    for (const auto& b : r.blocks)
        fmt::print("{:<18} {:>9.0f} {:>9.0f} {:>7.0f} {:>8.0f} {:>6.0f} {:>12.0f}\n", b.block, b.used.lut,
                   b.used.ff, b.used.dsp, b.used.bram36, b.used.uram, b.on_chip_bytes);
    fmt::print("{:<18} {:>9.0f} {:>9.0f} {:>7.0f} {:>8.0f} {:>6.0f} {:>12.0f}\n", "total", r.total.lut,
               r.total.ff, r.total.dsp, r.total.bram36, r.total.uram, r.on_chip_bytes);
    fmt::print("{:<18} {:>9.0f} {:>9.0f} {:>7.0f} {:>8.0f} {:>6.0f}\n", "available", r.available.lut,
               r.available.ff, r.available.dsp, r.available.bram36, r.available.uram);
    auto pct = [](double u, double a) { return a > 0 ? 100.0 * u / a : 0.0; };
    fmt::print("{:<18} {:>8.1f}% {:>8.1f}% {:>6.1f}% {:>7.1f}% {:>5.1f}%\n", "used", pct(r.total.lut, r.available.lut),
               pct(r.total.ff, r.available.ff), pct(r.total.dsp, r.available.dsp),
               pct(r.total.bram36, r.available.bram36), pct(r.total.uram, r.available.uram));
    if (!a.json_out.empty()) {
        nlohmann::json j = resources_json(r);
        j["config"] = hw.document;
        j["model"] = card.name;
        write_file_atomically(a.json_out, j.dump(1) + "\n");
        fmt::print("\nwrote {}\n", a.json_out);
    }
    if (!r.over_budget.empty()) {
        fmt::print(stderr, "\nlmsim: the design does not fit {}:\n", hw.platform.name);
        for (const auto& o : r.over_budget) fmt::print(stderr, "  {}\n", o);
        return 1;
    }
    fmt::print("\nfits: every resource within the {} budget\n", hw.platform.name);
    return 0;
}

}  // namespace

void add_check_command(CLI::App& app) {
    auto args = std::make_shared<CheckArgs>();
    CLI::App* cmd = app.add_subcommand("check", "resources of a design against its platform's budget");
    cmd->add_option("config", args->config, "design config: configs/vck190.json, configs/u280.json or a path")->required();
    cmd->add_option("--set", args->sets, "override a value: path=value (e.g. design.mmu.input_lanes=16)");
    cmd->add_option("--model", args->model, "model the buffers are sized for")->capture_default_str();
    cmd->add_option("--json", args->json_out, "also write the figures as JSON (resources.<kind>.used/.available)");
    cmd->callback([args] {
        int code = run_check(*args);
        if (code != 0) throw CheckFailed{code};
    });
}

}  // namespace lmsim::cli
