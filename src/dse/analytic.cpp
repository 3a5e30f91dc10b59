#include "dse/analytic.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>

#include "config/resource_model.h"
#include "dse/fluid_schedule.h"
#include "dse/metrics.h"
#include "hw/accelerator.h"
#include "hw/lightmamba_graph.h"
#include "hw/memory_port.h"
#include "report/run_report.h"

namespace lmsim::dse {
namespace {

// Layers of the memory masters' programs run on the memory model: the first layer and one
// middle layer (layers are alike but for the first layer's x read and the last layer's y write).
constexpr int kMemoryLayers = 2;
// Layers the schedule times before the rest repeat its last one: the first, then enough middle
// layers for the pipeline between layers to settle [A: checked against 6 on the shipped configs].
constexpr int kScheduledLayers = 3;

struct MemoryPass {
    hw::Cycle first_layer_cycles = 0, middle_layer_cycles = 0;
    hw::MemoryPortStats middle_stats;  // one middle layer's traffic
    hw::MemoryPort::Energy middle_energy_at_zero;  // energy of one middle layer's accesses (no background)
    double background_pj_per_ns = 0;
    double peak_gbps = 0;
    std::string fidelity, preset, energy_source;
    std::map<std::string, double> cycles_per_beat;  // per phase of a middle layer
};

hw::MemoryPortStats minus(const hw::MemoryPortStats& a, const hw::MemoryPortStats& b) {
    hw::MemoryPortStats d;
    d.read_bytes = a.read_bytes - b.read_bytes, d.write_bytes = a.write_bytes - b.write_bytes;
    d.read_bursts = a.read_bursts - b.read_bursts, d.write_bursts = a.write_bursts - b.write_bursts;
    return d;
}

// Runs one memory master's program alone on the memory model: what it reads is taken at once,
// what it writes is there at once, so only the memory and the master's own issue rules time it.
MemoryPass run_memory_master(const hw::BlockProgram& program, const hw::DataflowGraph& graph, const PlatformConfig& platform,
                             const hw::MemoryMasterView& view, int layers) {
    std::vector<hw::TimedFifo> fifos;
    for (const hw::FifoSpec& f : graph.fifos) fifos.emplace_back(f);
    hw::MemoryPort port(platform, view.design, view.producer.beat_bytes);
    const std::vector<hw::Cycle> triggers = {0};
    hw::BlockRunner runner(program, fifos, layers, 1, hw::kManagerRestartCycles, &triggers, &port, view.producer);
    MemoryPass pass;
    hw::MemoryPortStats after_first;
    double energy_first_pj = 0;
    const int want = std::min(layers, kMemoryLayers);
    // Phase boundaries (iterations so far) of the layers run, to time each phase of the last.
    struct Boundary {
        int64_t iterations;
        int layer;
        std::string phase;
        int64_t beats;
    };
    std::vector<Boundary> boundaries;
    int64_t cumulative = 0;
    for (int l = 0; l < want; ++l)
        for (const hw::Phase& p : program.phases)
            if (hw::phase_applies(p, l, layers) && p.trips > 0) boundaries.push_back({cumulative += p.trips, l, p.name, p.trips});
    std::vector<hw::Cycle> boundary_cycle(boundaries.size(), 0);
    std::size_t next_boundary = 0;
    while (true) {
        int blocked = -1;
        const int64_t done = runner.counters().iterations;
        const int64_t room = next_boundary < boundaries.size() ? boundaries[next_boundary].iterations - done : (1 << 16);
        const hw::BlockRunner::Status st = runner.advance(std::max<int64_t>(1, std::min<int64_t>(1 << 16, room)), &blocked);
        while (next_boundary < boundaries.size() && runner.counters().iterations >= boundaries[next_boundary].iterations)
            boundary_cycle[next_boundary++] = runner.local_cycle();
        const auto& ends = runner.counters().invocation_end;
        if (ends.size() == 1 && after_first.read_bytes == 0) {
            after_first = port.stats();
            energy_first_pj = port.energy(0).total_pj;
        }
        if (static_cast<int>(ends.size()) >= want || st == hw::BlockRunner::Status::Done ||
            st == hw::BlockRunner::Status::WaitingForTrigger)
            break;
        if (st == hw::BlockRunner::Status::BlockedOnOutput) {
            hw::TimedFifo& q = fifos.at(static_cast<std::size_t>(blocked));
            hw::Cycle t = 0;
            while (q.read() < q.written()) {
                t = std::max(t, q.write_cycle(q.read()) + q.latency());
                q.pop(t);
            }
        } else if (st == hw::BlockRunner::Status::BlockedOnInput) {
            hw::TimedFifo& q = fifos.at(static_cast<std::size_t>(blocked));
            const hw::Cycle t = q.written() > 0 ? q.write_cycle(q.written() - 1) : 0;
            while (q.written() - q.read() < q.capacity()) q.push(t);
        }
    }
    for (std::size_t b = 0; b < boundaries.size(); ++b) {
        if (boundaries[b].layer != want - 1 || b == 0) continue;
        pass.cycles_per_beat[boundaries[b].phase] =
            double(boundary_cycle[b] - boundary_cycle[b - 1]) / double(std::max<int64_t>(1, boundaries[b].beats));
    }
    const auto& ends = runner.counters().invocation_end;
    pass.first_layer_cycles = ends.empty() ? 0 : ends[0];
    pass.middle_layer_cycles = ends.size() >= 2 ? ends[1] - ends[0] : pass.first_layer_cycles;
    pass.middle_stats = ends.size() >= 2 ? minus(port.stats(), after_first) : port.stats();
    const hw::MemoryPort::Energy e = port.energy(0);
    pass.middle_energy_at_zero = e;
    const double middle_pj = ends.size() >= 2 ? e.total_pj - energy_first_pj : e.total_pj;
    const double scale = e.total_pj > 0 ? middle_pj / e.total_pj : 1;
    for (double* x : {&pass.middle_energy_at_zero.total_pj, &pass.middle_energy_at_zero.act_pre_pj,
                      &pass.middle_energy_at_zero.rd_pj, &pass.middle_energy_at_zero.wr_pj,
                      &pass.middle_energy_at_zero.ref_pj})
        *x *= scale;
    const double probe_ns = 1e6;
    pass.background_pj_per_ns = (port.energy(probe_ns).background_pj - e.background_pj) / probe_ns;
    pass.peak_gbps = port.peak_gbps();
    pass.fidelity = port.fidelity();
    pass.preset = port.preset();
    pass.energy_source = e.source;
    return pass;
}

// The memory passes depend on the memory system, the master's AXI parameters, the clock and the
// program's memory phases only: a sweep over the datapath reuses them.
std::string memory_key(const HardwareConfig& hw, const hw::BlockProgram& program, const hw::MemoryMasterView& view, int layers) {
    std::string key = hw.document.at("platform").at("memory").dump();
    // Everything the memory port and the master's issue rules read (hw/memory_port.cpp: the
    // masters and their width choose the channels; dataflow.h ProducerParams).
    key += fmt::format("|{}|{}|{}|{}x{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", view.block, view.secondary_memory, hw.design.clock_mhz,
                       view.design.axi.masters, view.design.axi.width_bits, view.producer.beat_bytes, view.producer.burst_beats,
                       view.producer.outstanding, view.producer.read_buffer_beats, view.producer.boundary_bytes,
                       view.producer.sequential_loops, view.producer.loop_beats, view.producer.loop_restart_cycles, layers);

    for (const hw::Phase& p : program.phases)
        key += fmt::format("|{}:{}:{}:{}:{}", p.name, p.trips, static_cast<int>(p.when), p.address, p.address_per_layer);
    return key;
}

// One pass per key: the first thread to ask computes it, others asking meanwhile wait for it.
std::mutex g_cache_mutex;
std::map<std::string, std::shared_future<std::shared_ptr<const MemoryPass>>> g_memory_cache;

std::shared_ptr<const MemoryPass> memory_pass(const HardwareConfig& hw, const hw::DataflowGraph& graph,
                                              const PlatformConfig& platform, const hw::MemoryMasterView& view) {
    const hw::BlockProgram& program = graph.block(view.block);
    const std::string key = memory_key(hw, program, view, graph.layers);
    std::promise<std::shared_ptr<const MemoryPass>> promise;
    std::shared_future<std::shared_ptr<const MemoryPass>> future;
    bool mine = false;
    {
        std::lock_guard<std::mutex> lock(g_cache_mutex);
        const auto it = g_memory_cache.find(key);
        if (it != g_memory_cache.end()) {
            future = it->second;
        } else {
            future = promise.get_future().share();
            g_memory_cache.emplace(key, future);
            mine = true;
        }
    }
    if (mine) {
        try {
            promise.set_value(std::make_shared<const MemoryPass>(run_memory_master(program, graph, platform, view, graph.layers)));
        } catch (...) {
            promise.set_exception(std::current_exception());
        }
    }
    return future.get();
}

}  // namespace

AnalyticEstimate analytic_estimate(const HardwareConfig& hw, const ModelCard& model, int tokens) {
    const auto t0 = std::chrono::steady_clock::now();
    AnalyticEstimate est;
    const hw::DataflowGraph graph = hw::build_lightmamba_graph(model, hw.design);
    const int layers = graph.layers;

    // Terms per middle layer.
    hw::Cycle layer_cycles = 0, first_cycles = 0;
    std::string bound;
    auto consider = [&](const std::string& what, hw::Cycle middle, hw::Cycle first) {
        est.terms[what] = static_cast<double>(middle);
        if (middle > layer_cycles) layer_cycles = middle, bound = what;
        first_cycles = std::max(first_cycles, first);
    };
    hw::SimulationResult sim;
    const std::vector<hw::MemoryMasterView> masters = hw::memory_master_views(hw.design);
    std::vector<std::shared_ptr<const MemoryPass>> passes;
    for (const hw::MemoryMasterView& m : masters) {
        // The memory the master uses, at stream fidelity: the closed form calibrated from the
        // command level (hw/memory_port.h); command and tlm give the same times at far higher cost.
        PlatformConfig seen = hw::platform_for(hw.platform, m);
        seen.memory.fidelity = "stream";
        passes.push_back(memory_pass(hw, graph, seen, m));
        consider(m.block, passes.back()->middle_layer_cycles, passes.back()->first_layer_cycles);
    }
    for (const hw::BlockProgram& b : graph.blocks) {
        if (b.is_memory_master) continue;
        const hw::Cycle middle = b.isolated_latency_cycles(std::min(1, layers - 1), layers) + hw::kManagerRestartCycles;
        consider(b.name, middle, b.isolated_latency_cycles(0, layers));
    }
    // The schedule (dse/fluid_schedule.h) of the first kScheduledLayers layers, each memory
    // master's beats at their mean spacing in its pass; the layers after repeat the last one.
    std::map<std::string, double> per_beat;  // "BLOCK/phase" -> cycles per beat
    for (std::size_t m = 0; m < masters.size(); ++m)
        for (const auto& [phase, cycles] : passes[m]->cycles_per_beat) per_beat[masters[m].block + "/" + phase] = cycles;
    const FluidSchedule schedule = fluid_schedule(graph, per_beat, kScheduledLayers, hw::kManagerRestartCycles);
    est.terms["schedule.middle_layer"] = schedule.middle_layer_cycles;
    est.terms["schedule.first_layer"] = schedule.layer_end_cycles.front();
    est.terms["schedule.relaxation_rounds"] = schedule.relaxation_rounds;
    est.terms["schedule.converged"] = schedule.converged ? 1 : 0;
    if (schedule.middle_layer_cycles > double(layer_cycles)) {
        layer_cycles = static_cast<hw::Cycle>(std::llround(schedule.middle_layer_cycles));
        bound = "serial phases";
    }
    const int scheduled = static_cast<int>(schedule.layer_end_cycles.size());
    first_cycles = std::max<hw::Cycle>(first_cycles, static_cast<hw::Cycle>(std::llround(schedule.layer_end_cycles.front())));
    const hw::Cycle token_cycles =
        scheduled >= layers ? static_cast<hw::Cycle>(std::llround(schedule.layer_end_cycles.back()))
                            : static_cast<hw::Cycle>(std::llround(schedule.layer_end_cycles.back())) +
                                  static_cast<hw::Cycle>(layers - scheduled) * layer_cycles;

    est.terms["token"] = static_cast<double>(token_cycles);
    const std::string group = unit_group(bound);
    est.bound = fmt::format("{} ({} cycles per layer)", group == bound ? bound : fmt::format("{} ({})", group, bound), layer_cycles);

    // The run's report from the estimate: every block busy for its own work, the memory traffic
    // of the passes scaled to the layers, so the energy model and the report are `lmsim run`'s.
    const int64_t invocations = static_cast<int64_t>(layers) * tokens;
    for (int k = 0; k < tokens; ++k) sim.token_end_cycles.push_back((k + 1) * token_cycles);
    sim.total_cycles = sim.token_end_cycles.back();
    for (int k = 0; k < tokens; ++k)
        for (int l = 0; l < layers; ++l)
            sim.layer_end_cycles.push_back(k * token_cycles + first_cycles + static_cast<hw::Cycle>(l) * layer_cycles);
    for (const hw::BlockProgram& b : graph.blocks) {
        hw::BlockReport r;
        r.name = b.name, r.function = b.function, r.source = b.source;
        r.hls_latency_cycles = b.hls_latency_cycles;
        r.isolated_latency_cycles = b.isolated_latency_cycles(1, layers);
        r.depth_cycles = b.depth_cycles, r.overhead_cycles = b.overhead_cycles;
        r.timing_extrapolated = b.timing_extrapolated;
        int64_t iterations = 0, busy = 0;
        for (int l = 0; l < layers; ++l) {
            for (const hw::Phase& p : b.phases)
                if (hw::phase_applies(p, l, layers)) iterations += p.trips;
            busy += b.isolated_latency_cycles(l, layers);
        }
        for (std::size_t m = 0; m < masters.size(); ++m)
            if (masters[m].block == b.name)
                busy = passes[m]->first_layer_cycles + static_cast<int64_t>(layers - 1) * passes[m]->middle_layer_cycles;
        r.counters.iterations = iterations * tokens;
        r.counters.busy_cycles = std::min<int64_t>(busy * tokens, sim.total_cycles);
        r.counters.invocations = invocations;
        r.idle_cycles = sim.total_cycles - r.counters.busy_cycles;
        sim.blocks.push_back(std::move(r));
    }
    for (const hw::FifoSpec& f : graph.fifos) {
        hw::FifoReport r;
        r.name = f.name, r.producer = f.producer, r.consumer = f.consumer;
        r.depth = f.depth, r.capacity = f.capacity;
        for (const hw::BlockProgram& b : graph.blocks) {
            if (b.name != f.producer) continue;
            for (int l = 0; l < layers; ++l)
                for (const hw::Phase& p : b.phases)
                    if (hw::phase_applies(p, l, layers))
                        for (const hw::StreamAccess& w : p.writes)
                            if (graph.fifos[static_cast<std::size_t>(w.fifo)].name == f.name) r.tokens += w.tokens_for(p.trips);
        }
        r.tokens *= tokens;
        if (graph.block(f.producer).is_memory_master || graph.block(f.consumer).is_memory_master)
            r.memory_token_bytes = f.name == "weight" || f.name == "weight_scale" ? hw::producer_params(hw.design).beat_bytes
                                                                                   : hw::kMemoryTokenBytes;
        sim.fifos.push_back(std::move(r));
    }
    const double cycle_ns = 1000.0 / hw.design.clock_mhz;
    const double n_layers = static_cast<double>(invocations);
    sim.memory_fidelity = "analytic (" + passes.front()->fidelity + " memory model)";
    sim.memory_preset = passes.front()->preset;
    for (const auto& p : passes) {
        sim.memory.read_bytes += static_cast<int64_t>(p->middle_stats.read_bytes * n_layers);
        sim.memory.write_bytes += static_cast<int64_t>(p->middle_stats.write_bytes * n_layers);
        sim.memory.read_bursts += static_cast<int64_t>(p->middle_stats.read_bursts * n_layers);
        sim.memory.write_bursts += static_cast<int64_t>(p->middle_stats.write_bursts * n_layers);
        sim.memory_peak_gbps += p->peak_gbps;
        hw::MemoryPort::Energy& t = sim.memory_energy;
        const hw::MemoryPort::Energy& e = p->middle_energy_at_zero;
        t.act_pre_pj += e.act_pre_pj * n_layers, t.rd_pj += e.rd_pj * n_layers, t.wr_pj += e.wr_pj * n_layers;
        t.ref_pj += e.ref_pj * n_layers;
        t.background_pj += p->background_pj_per_ns * static_cast<double>(sim.total_cycles) * cycle_ns;
        t.source = p->energy_source + " (analytic: one middle layer's traffic x layers)";
    }
    sim.memory_energy.total_pj = sim.memory_energy.act_pre_pj + sim.memory_energy.rd_pj + sim.memory_energy.wr_pj +
                                 sim.memory_energy.ref_pj + sim.memory_energy.background_pj;

    const ResourceReport resources = estimate_resources(hw, model);
    RunSummary run;
    run.hw = &hw;
    run.model = &model;
    run.sim = &sim;
    run.resources = &resources;
    run.tokens = tokens;
    run.mode = "analytic";
    run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    est.report = run_report_json(run);
    est.report["analytic"] = {{"bound", est.bound}, {"terms_cycles_per_layer", est.terms}};
    return est;
}

}  // namespace lmsim::dse
