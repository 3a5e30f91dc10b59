// lmsim membench CONFIG: achieved bandwidth and burst latency of the platform's memory under an
// AXI traffic pattern (Shuhai-style), on the command-level DRAM model.
#include <fmt/format.h>

#include "cli/commands.h"
#include "common/error.h"
#include "config/hardware_config.h"
#include "mem/membench.h"

namespace lmsim::cli {
namespace {

struct MembenchArgs {
    std::string config;
    std::vector<std::string> sets;
    mem::MembenchSpec spec;
    bool tlm = false;
};

void run_membench_cmd(const MembenchArgs& a) {
    HardwareConfig hw = load_hardware_config(a.config, a.sets);
    MemorySystemConfig memory = hw.platform.memory;
    // The design's AXI masters, at the memory interface clock.
    memory.axi_port_width_bits = std::min(memory.axi_port_width_bits, hw.design.axi.width_bits);
    mem::MembenchResult r = a.tlm ? mem::run_membench_tlm(memory, a.spec) : mem::run_membench(memory, a.spec);
    fmt::print("membench {} ({} {}, preset {}): pattern {}{}, burst {} B, {} outstanding, {} channel(s){}\n",
               hw.platform.name, memory.kind, hw.file, r.preset, a.spec.pattern,
               a.spec.write_fraction > 0 ? fmt::format(" ({:.0f} % writes)", 100 * a.spec.write_fraction) : "",
               a.spec.burst_bytes, a.spec.outstanding, a.spec.channels,
               a.tlm ? fmt::format(", through the TLM-2.0 modules ({} AXI bursts after 4 KB splits)", r.axi_bursts) : "");
    fmt::print("  bandwidth  {:.2f} GB/s ({:.1f} % of {:.2f} GB/s peak)\n", r.gbps, 100 * r.gbps / r.peak_gbps, r.peak_gbps);
    fmt::print("  latency    min {:.0f} ns, mean {:.0f} ns, p99 {:.0f} ns (per burst, issue to last beat)\n",
               r.latency_min_ns, r.latency_mean_ns, r.latency_p99_ns);
    if (a.spec.pc_offset != 0)
        fmt::print("  switch     pseudo-channel offset {}: up to {} lateral hop(s), {:.1f} ns per hop (request and response); "
                   "the busiest lateral link leaves a port {:.0f} % of its rate\n",
                   a.spec.pc_offset, r.max_switch_hops, memory.crossbar.hop_latency_ns, 100 * r.min_switch_share);
    fmt::print("  energy     {:.3g} uJ, {:.2f} pJ/bit{}\n", r.energy_pj / 1e6, r.energy_pj_per_bit,
               r.energy_unknown.empty() ? "" : " (not covered: " + r.energy_unknown + ")");
}

}  // namespace

void add_membench_command(CLI::App& app) {
    auto args = std::make_shared<MembenchArgs>();
    CLI::App* cmd = app.add_subcommand("membench", "memory bandwidth and latency microbenchmark");
    cmd->add_option("config", args->config, "config: configs/u280.json, configs/vck190.json or a path")->required();
    cmd->add_option("--set", args->sets, "override a config value: path=value");
    cmd->add_option("--pattern", args->spec.pattern, "seq | random | stride:N")->capture_default_str();
    cmd->add_option("--burst", args->spec.burst_bytes, "bytes per AXI burst")->capture_default_str();
    cmd->add_option("--outstanding", args->spec.outstanding, "bursts in flight per port")->capture_default_str();
    cmd->add_option("--channels", args->spec.channels, "ports (HBM2: pseudo-channels) used")->capture_default_str();
    cmd->add_option("--bursts", args->spec.bursts_per_port, "bursts per port")->capture_default_str();
    cmd->add_option("--preset", args->spec.preset, "DRAM timing preset (default from the platform)");
    cmd->add_option("--pc-offset", args->spec.pc_offset,
                    "HBM2: port p reads pseudo-channel (p + N) mod channels through the AXI switch")
        ->capture_default_str();
    cmd->add_option("--write-fraction", args->spec.write_fraction,
                    "share of the bursts that are writes, spread evenly (independent AXI write channel)")
        ->capture_default_str();
    cmd->add_flag("--tlm", args->tlm,
                  "drive the traffic through the TLM-2.0 modules (AxiMaster -> MemoryInterconnect -> DramChannelTarget) "
                  "in SystemC time");
    cmd->callback([args] { run_membench_cmd(*args); });
}

}  // namespace lmsim::cli
