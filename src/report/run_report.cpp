#include "report/run_report.h"

#include <fmt/format.h>

#include <systemc>

#include "energy/energy_model.h"
#include "report/resources_json.h"

namespace lmsim {

double cycles_per_token(const hw::SimulationResult& sim, int64_t host_gap_cycles) {
    if (sim.token_end_cycles.empty()) return 0;
    double sum = 0;
    hw::Cycle start = 0;
    for (hw::Cycle end : sim.token_end_cycles) {
        sum += static_cast<double>(end - start);
        start = end + host_gap_cycles;
    }
    return sum / static_cast<double>(sim.token_end_cycles.size());
}

nlohmann::json run_report_json(const RunSummary& run) {
    using nlohmann::json;
    const hw::SimulationResult& sim = *run.sim;
    const DesignConfig& design = run.hw->design;
    const double cpt = cycles_per_token(sim);
    const double clock_hz = design.clock_mhz * 1e6;
    json j;
    j["config"] = {{"file", run.hw->file}, {"design", design.name}, {"platform", run.hw->platform.name},
                   {"clock_mhz", design.clock_mhz}, {"precision", design.precision}, {"reorder", design.reorder},
                   {"fusion", design.fusion}, {"state_residency", design.state_residency},
                   {"htu", design.htu_enabled}, {"document", run.hw->document}};
    j["model"] = {{"name", run.model->name}, {"layers", run.model->n_layer}, {"d_model", run.model->d_model}};
    j["workload"] = {{"prompt_len", run.prompt_len}, {"tokens", run.tokens},
                     {"simulated_tokens", static_cast<int>(sim.token_end_cycles.size())},
                     {"note", "decode, batch 1; the prompt is fed token by token, as the hardware does"}};
    j["decode"] = {{"cycles_per_token", cpt},
                   {"tokens_per_s", cpt > 0 ? clock_hz / cpt : 0.0},
                   {"latency_ms_per_token", cpt / clock_hz * 1e3},
                   {"cycles_per_layer", cpt / run.model->n_layer},
                   {"token_end_cycles", sim.token_end_cycles}};
    // The board's figure includes the host's share of each token (platform.host): the same
    // decode with it added, for comparison with a board measurement.
    const HostConfig& host = run.hw->platform.host;
    auto with_host = [&](double host_s) { return cpt > 0 ? 1.0 / (cpt / clock_hz + host_s) : 0.0; };
    j["decode"]["host"] = {{"s_per_token", host.per_token_s},
                           {"s_per_token_range", {host.per_token_s_min, host.per_token_s_max}},
                           {"tokens_per_s", with_host(host.per_token_s)},
                           {"tokens_per_s_range", {with_host(host.per_token_s_max), with_host(host.per_token_s_min)}}};
    // Cycles of every layer of the first token: between the residual stream's layer ends.
    json per_layer = json::array();
    hw::Cycle prev = 0;
    for (std::size_t l = 0; l < sim.layer_end_cycles.size() && l < static_cast<std::size_t>(run.model->n_layer); ++l) {
        per_layer.push_back(sim.layer_end_cycles[l] - prev);
        prev = sim.layer_end_cycles[l];
    }
    j["per_layer_cycles"] = per_layer;
    json units = json::object();
    for (const hw::BlockReport& b : sim.blocks) {
        const hw::BlockCounters& c = b.counters;
        json u = {{"busy_cycles", c.busy_cycles},
                  {"stall_in_cycles", c.stall_in_cycles},
                  {"stall_out_cycles", c.stall_out_cycles},
                  {"idle_cycles", b.idle_cycles},
                  {"iterations", c.iterations},
                  {"invocations", c.invocations},
                  {"utilization", sim.total_cycles > 0 ? double(c.busy_cycles) / double(sim.total_cycles) : 0.0},
                  {"depth_cycles", b.depth_cycles},
                  {"overhead_cycles", b.overhead_cycles},
                  {"isolated_latency_cycles", b.isolated_latency_cycles},
                  {"function", b.function},
                  {"source", b.source}};
        if (b.hls_latency_cycles > 0) u["hls_latency_cycles"] = b.hls_latency_cycles;
        // The timing is the released block's carried over to parameters it was not published
        // for (the rule in docs/validation.md); absent: as published.
        if (!b.timing_extrapolated.empty()) u["timing_extrapolated"] = b.timing_extrapolated;
        units[b.name] = u;
    }
    j["units"] = units;
    // The MMU's share of cycles doing a MAC tile (the paper's "hardware utilization").
    for (const hw::BlockReport& b : sim.blocks)
        if (b.name == "GEMM" && sim.total_cycles > 0)
            j["mmu_utilization"] = double(b.counters.iterations) / double(sim.total_cycles);
    json fifos = json::object();
    for (const hw::FifoReport& f : sim.fifos) {
        fifos[f.name] = {{"producer", f.producer},
                         {"consumer", f.consumer},
                         {"depth", f.depth},
                         {"capacity_with_producer_pipeline", f.capacity},
                         {"tokens", f.tokens},
                         {"max_occupancy", f.max_occupancy},
                         {"occupancy_cycles", f.occupancy_cycles}};
    }
    j["fifos"] = fifos;
    const double seconds = sim.total_cycles / clock_hz;
    json streams = json::object();
    for (const hw::FifoReport& f : sim.fifos)
        if (f.memory_token_bytes > 0) streams[f.name] = f.tokens * f.memory_token_bytes;
    j["memory"] = {{"bytes_read", sim.memory.read_bytes},
                   {"bytes_written", sim.memory.write_bytes},
                   {"achieved_gbps", seconds > 0 ? (sim.memory.read_bytes + sim.memory.write_bytes) / seconds / 1e9 : 0.0},
                   {"peak_gbps", sim.memory_peak_gbps},
                   {"read_bursts", sim.memory.read_bursts},
                   {"write_bursts", sim.memory.write_bursts},
                   {"bytes_per_stream", streams},
                   {"fidelity", sim.memory_fidelity},
                   {"dram_preset", sim.memory_preset}};
    const auto& en = sim.memory_energy;
    j["memory"]["energy"] = {{"dram_pj", en.total_pj},
                             {"act_pre_pj", en.act_pre_pj},
                             {"read_pj", en.rd_pj},
                             {"write_pj", en.wr_pj},
                             {"refresh_pj", en.ref_pj},
                             {"background_pj", en.background_pj},
                             {"per_channel_pj", en.per_channel_pj},
                             {"pj_per_token", sim.token_end_cycles.empty() ? 0.0 : en.total_pj / double(sim.token_end_cycles.size())},
                             {"source", en.source},
                             {"not_covered", en.unknown},
                             {"note", "DRAM only: the FPGA's power is not modelled (no per-module figure is published)"}};
    {
        // Bandwidth over time: windows of 2^12 cycles merged by powers of two to at most
        // kMaxTimelinePoints points (GB/s of each window; every byte moved is in one window).
        constexpr std::size_t kMaxTimelinePoints = 1024;
        std::vector<int64_t> w = sim.memory.bytes_per_window;
        int64_t window_cycles = int64_t{1} << hw::MemoryPortStats::kBandwidthWindowShift;
        while (w.size() > kMaxTimelinePoints) {
            std::vector<int64_t> m((w.size() + 1) / 2, 0);
            for (std::size_t k = 0; k < w.size(); ++k) m[k / 2] += w[k];
            w = std::move(m);
            window_cycles *= 2;
        }
        json gbps = json::array();
        for (int64_t b : w) gbps.push_back(double(b) / (double(window_cycles) / clock_hz) / 1e9);
        j["memory"]["bandwidth_timeline"] = {{"window_cycles", window_cycles}, {"bytes", w}, {"gbps", gbps},
                                             {"note", "bytes of the bursts completing in each window"}};
    }
    if (sim.memory_commands_checked >= 0)
        j["memory"]["protocol_check"] = {{"commands_checked", sim.memory_commands_checked}, {"violations", 0},
                                         {"checker", "mem/protocol_checker.h: every JEDEC rule of the preset, bank state, refresh interval"}};
    if (sim.memory_fidelity != "stream")
        j["memory"]["dram_commands"] = {{"reads", sim.memory.dram.reads},        {"writes", sim.memory.dram.writes},
                                        {"activates", sim.memory.dram.activates}, {"precharges", sim.memory.dram.precharges},
                                        {"refreshes", sim.memory.dram.refreshes}, {"row_hits", sim.memory.dram.row_hits}};
    if (run.resources) {
        json r = resources_json(*run.resources);
        j["resources"] = r["resources"];
        j["resource_blocks"] = r["resource_blocks"];
    }
    // Energy per token (energy/energy_model.h), at the rate with the host's share: the board's
    // static power burns while the host works too.
    {
        const EnergyReport en = estimate_energy(*run.hw, sim, static_cast<int>(sim.token_end_cycles.size()),
                                                j["decode"]["host"]["tokens_per_s"].get<double>());
        json actions = json::object(), breakdown = json::object();
        for (const EnergyAction& a : en.actions) actions[a.unit][a.action] = {{"count", a.count}, {"pj_each", a.pj_each}};
        for (const auto& [unit, joules] : en.unit_j) breakdown[unit] = joules;
        j["energy"] = {{"j_per_token", en.j_per_token},
                       {"tokens_per_j", en.tokens_per_j},
                       {"at_tokens_per_s", en.tokens_per_s},
                       {"dynamic_j_per_token", en.dynamic_j_per_token},
                       {"power_w", {{"static", en.static_w}, {"dynamic", en.dynamic_w}, {"total", en.total_w}}},
                       {"static_source", en.static_source},
                       {"breakdown_j", breakdown},
                       {"actions", actions},
                       {"counts_over_tokens", sim.token_end_cycles.size()}};
    }
    // Everything that depends on the machine's wall clock is under simulator.wall, so that two
    // runs of one command give identical reports once that key is removed (tests/test_robustness).
    j["simulator"] = {{"simulated_cycles", sim.total_cycles},
                      {"mode", run.mode},
                      {"systemc", sc_core::sc_release()},
                      {"wall", {{"s", run.wall_s}, {"simulated_cycles_per_s", run.wall_s > 0 ? sim.total_cycles / run.wall_s : 0.0}}}};
    return j;
}

std::string units_csv(const hw::SimulationResult& sim) {
    std::string s = "block,busy_cycles,stall_in_cycles,stall_out_cycles,idle_cycles,iterations,invocations,hls_latency_cycles,isolated_latency_cycles\n";
    for (const hw::BlockReport& b : sim.blocks)
        s += fmt::format("{},{},{},{},{},{},{},{},{}\n", b.name, b.counters.busy_cycles, b.counters.stall_in_cycles,
                         b.counters.stall_out_cycles, b.idle_cycles, b.counters.iterations, b.counters.invocations,
                         b.hls_latency_cycles, b.isolated_latency_cycles);
    return s;
}

std::string timeline_json(const hw::SimulationResult& sim, double clock_mhz) {
    nlohmann::json events = nlohmann::json::array();
    int tid = 0;
    for (const hw::BlockReport& b : sim.blocks) {
        events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 0}, {"tid", tid}, {"args", {{"name", b.name}}}});
        const auto& st = b.counters.invocation_start;
        const auto& en = b.counters.invocation_end;
        for (std::size_t i = 0; i < st.size() && i < en.size(); ++i) {
            // Trace times are microseconds.
            events.push_back({{"name", fmt::format("layer {}", i)},
                              {"ph", "X"},
                              {"pid", 0},
                              {"tid", tid},
                              {"ts", st[i] / clock_mhz},
                              {"dur", (en[i] - st[i]) / clock_mhz}});
        }
        ++tid;
    }
    return nlohmann::json{{"traceEvents", events}, {"displayTimeUnit", "ns"}}.dump() + "\n";
}

}  // namespace lmsim
