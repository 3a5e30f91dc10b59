// lmsim calibrate: the one fitted constant of a platform, fitted in the open. For the VCK190 that
// is platform.memory.noc_latency_ns, fitted to the board's measured tokens per second with the
// host's share of each token (platform.host) taken out; the fit is shown for the host estimate
// and both ends of its range, so a reader sees how much the fitted value depends on it.
//
// SystemC runs one simulation per process, so every point is a child `lmsim run` (timing mode).
// The time per token is close to linear in the NoC latency (the released producer pays it once
// per 256-beat loop) but a staircase at the cycle level; the fit shows the line through two
// probes and bisects the staircase to 0.1 ns.
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/child_run.h"
#include "cli/commands.h"
#include "common/error.h"
#include "config/hardware_config.h"
#include "energy/energy_model.h"
#include "model/model_card.h"

namespace lmsim::cli {
namespace {

struct CalibrateArgs {
    std::string config = "vck190";
    std::vector<std::string> sets;
    std::string model = "mamba2-2.7b";
    double board_tokens_per_s = 0;
    double board_tokens_per_j = 0;  // with --parameter platform.energy.static_w
    std::string board_source;
    std::string parameter = "platform.memory.noc_latency_ns";
};

// Seconds per token of the accelerator (no host) with the parameter at `value`.
double seconds_per_token(const CalibrateArgs& a, double value, const std::string& dir) {
    std::vector<std::string> args = {a.config, "--model", a.model};
    for (const auto& s : a.sets) args.insert(args.end(), {"--set", s});
    args.insert(args.end(), {"--set", fmt::format("{}={}", a.parameter, value)});
    try {
        const nlohmann::json j = run_child(args, dir);
        return j["decode"]["latency_ms_per_token"].get<double>() / 1e3;
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("calibrate: ") + e.what());
    }
}

// The static power (platform.energy.static_w): the one free term of the energy model, fitted so
// that the measured rate over the modelled power gives the measured tokens per joule. The
// dynamic energy per token comes from one child run (its action counts do not depend on the
// static power); the fit is closed-form (energy/energy_model.h fit_static_w).
void calibrate_static_power(const CalibrateArgs& a, const HardwareConfig& hw) {
    if (!(a.board_tokens_per_j > 0))
        throw InputError("--board-tokens-per-j: expected the measured energy efficiency (> 0) to fit platform.energy.static_w");
    const TemporaryDirectory tmp("lmsim-calibrate");
    std::vector<std::string> args = {a.config, "--model", a.model};
    for (const auto& s : a.sets) args.insert(args.end(), {"--set", s});
    nlohmann::json j;
    try {
        j = run_child(args, tmp.path);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("calibrate: ") + e.what());
    }
    const double dynamic = j["energy"]["dynamic_j_per_token"].get<double>();
    const double fitted = fit_static_w(dynamic, a.board_tokens_per_s, a.board_tokens_per_j);
    if (fitted < 0)
        throw InputError(fmt::format("--board-tokens-per-j {}: the modelled dynamic energy alone ({:.4f} J per token) exceeds "
                                     "the measured {:.4f} J per token", a.board_tokens_per_j, dynamic, 1.0 / a.board_tokens_per_j));
    fmt::print("calibrate platform.energy.static_w: {} on {} at {} MHz, board {:.4f} tokens/s at {:.4f} tokens/J{}\n", a.model,
               hw.platform.name, hw.design.clock_mhz, a.board_tokens_per_s, a.board_tokens_per_j,
               a.board_source.empty() ? "" : " (" + a.board_source + ")");
    fmt::print("  measured power {:.4f} W = static + dynamic {:.4f} J/token x {:.4f} tokens/s ({:.4f} W)\n",
               a.board_tokens_per_s / a.board_tokens_per_j, dynamic, a.board_tokens_per_s, dynamic * a.board_tokens_per_s);
    fmt::print("  fitted static_w = {:.4f} W (config value {:.4f} W)\n", fitted, hw.platform.energy.static_w);
}

void run_calibrate(const CalibrateArgs& a) {
    if (!(a.board_tokens_per_s > 0)) throw InputError("--board-tokens-per-s: expected the measured rate (> 0)");
    const HardwareConfig hw = load_hardware_config(find_config(a.config), a.sets);
    if (a.parameter == "platform.energy.static_w") return calibrate_static_power(a, hw);
    if (a.parameter != "platform.memory.noc_latency_ns")
        throw InputError("--parameter: platform.memory.noc_latency_ns or platform.energy.static_w");
    const double current = hw.platform.memory.noc_latency_ns;
    const HostConfig& host = hw.platform.host;
    find_model_card(a.model);  // a bad --model is the user's, before any child run
    const double board_s = 1.0 / a.board_tokens_per_s;
    if (board_s - host.per_token_s_max <= 0)
        throw InputError(fmt::format("--board-tokens-per-s {}: {:.3f} ms per token leaves nothing for the accelerator "
                                     "after the host's share (up to {:.3f} ms, platform.host)",
                                     a.board_tokens_per_s, 1e3 * board_s, 1e3 * host.per_token_s_max));
    const TemporaryDirectory tmp("lmsim-calibrate");
    const std::string& dir = tmp.path;
    // Two points a few ns apart around the current value give the slope.
    constexpr double kProbeStepNs = 8;
    const double x0 = std::max(0.0, current - kProbeStepNs / 2), x1 = x0 + kProbeStepNs;
    const double t0 = seconds_per_token(a, x0, dir), t1 = seconds_per_token(a, x1, dir);
    const double slope = (t1 - t0) / (x1 - x0);
    if (!(slope > 0)) throw std::runtime_error("calibrate: the time per token does not grow with the NoC latency");
    fmt::print("calibrate {}: {} on {} at {} MHz, board {:.4f} tokens/s{}\n", a.parameter, a.model, hw.platform.name,
               hw.design.clock_mhz, a.board_tokens_per_s, a.board_source.empty() ? "" : " (" + a.board_source + ")");
    fmt::print("  accelerator time per token: {:.3f} ms at {} ns, {:.3f} ms at {} ns ({:.3f} ms per ns)\n", 1e3 * t0, x0,
               1e3 * t1, x1, 1e3 * slope);
    fmt::print("  {:>10} {:>12} {:>12} {:>16} {:>12}\n", "host ms", "linear ns", "fitted ns", "tokens/s (+host)", "residual");
    struct Point {
        const char* label;
        double host_s;
    };
    for (const Point& p : {Point{"min", host.per_token_s_min}, Point{"estimate", host.per_token_s},
                           Point{"max", host.per_token_s_max}}) {
        // The time per token grows monotonically with the latency but in steps (one per
        // accelerator cycle), so bisect: widen a bracket from the two probes until it holds the
        // target, halve it to 0.1 ns, keep the end whose rate is closer.
        const double target = board_s - p.host_s;
        constexpr double kResolutionNs = 0.1;
        constexpr int kMaxWiden = 12;
        double lo = x0, tlo = t0, hi = x1, thi = t1;
        for (int k = 0; k < kMaxWiden && tlo > target && lo > 0; ++k) {
            lo = std::max(0.0, lo - (hi - lo));
            tlo = seconds_per_token(a, lo, dir);
        }
        for (int k = 0; k < kMaxWiden && thi < target; ++k) {
            hi += hi - lo;
            thi = seconds_per_token(a, hi, dir);
        }
        if (tlo > target || thi < target)
            throw InputError(fmt::format("--board-tokens-per-s {}: no NoC latency in [{}, {}] ns gives that rate "
                                         "(the model gives {:.4f} to {:.4f} tokens/s there, host included)",
                                         a.board_tokens_per_s, lo, hi, 1.0 / (thi + p.host_s), 1.0 / (tlo + p.host_s)));
        while (hi - lo > kResolutionNs) {
            const double mid = 0.5 * (lo + hi), tm = seconds_per_token(a, mid, dir);
            (tm < target ? lo : hi) = mid;
            (tm < target ? tlo : thi) = tm;
        }
        const bool take_lo = std::fabs(tlo - target) <= std::fabs(thi - target);
        const double x = take_lo ? lo : hi, t = take_lo ? tlo : thi;
        const double tps = 1.0 / (t + p.host_s);
        fmt::print("  {:>10.3f} {:>12.2f} {:>12.2f} {:>16.4f} {:>+11.3f}%  ({})\n", 1e3 * p.host_s,
                   x0 + (target - t0) / slope, x, tps, 100.0 * (tps / a.board_tokens_per_s - 1), p.label);
    }
    // The latency enters the model as whole accelerator cycles (the burst's completion is rounded
    // up to a cycle), so fits closer together than one cycle are the same model.
    fmt::print("  config value: {} = {} ns; resolution: one {} MHz cycle = {:.2f} ns\n", a.parameter, current,
               hw.design.clock_mhz, 1e3 / hw.design.clock_mhz);
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
    auto args = std::make_shared<CalibrateArgs>();
    CLI::App* cmd = app.add_subcommand("calibrate", "fit the platform's one calibrated constant to a board measurement");
    cmd->add_option("config", args->config, "design config: vck190, u280 or a path")->capture_default_str();
    cmd->add_option("--set", args->sets, "override a config value: path=value (e.g. design.clock_mhz=425)");
    cmd->add_option("--model", args->model, "model card")->capture_default_str();
    cmd->add_option("--board-tokens-per-s", args->board_tokens_per_s, "the measured rate to fit")->required();
    cmd->add_option("--board-tokens-per-j", args->board_tokens_per_j, "the measured energy efficiency (platform.energy.static_w)");
    cmd->add_option("--board-source", args->board_source, "where the measured rate comes from (printed)");
    cmd->add_option("--parameter", args->parameter, "the constant to fit")->capture_default_str();
    cmd->callback([args] { run_calibrate(*args); });
}

}  // namespace lmsim::cli
