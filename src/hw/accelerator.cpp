#include "hw/accelerator.h"
#include "hw/lightmamba_graph.h"

#include "common/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace lmsim::hw {

using sc_core::sc_event;
using sc_core::sc_module_name;
using sc_core::sc_time;

// The host-visible control block: registers at the AXI4-Lite offsets of Controller.scala
// (lightmamba.md 3.2). The host writes the embedding to X, POS, then T; polls IDLE; reads Y.
class Controller : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(Controller);
    Controller(sc_module_name name, Accelerator& top) : sc_module(name), top_(top) { SC_THREAD(run); }

    // Registers (values, for the report and for tests).
    int l_begin = 0, l_close = 0, pos = 0, idle = 1;
    sc_event token_progress;  // a block finished an invocation that ends a token
    sc_event trigger;         // T written for the next token
    std::vector<Cycle> token_end;

private:
    bool token_finished(int k) const {
        const std::size_t need = static_cast<std::size_t>(k + 1) * top_.graph_.layers;
        for (const auto& r : top_.runners_)
            if (r->counters().invocation_end.size() < need) return false;
        return true;
    }
    void run() {
        l_begin = 0;
        l_close = top_.graph_.layers;
        pos = top_.options_.position;
        idle = 0;  // T written for token 0 at cycle 0
        for (int k = 0; k < top_.options_.tokens; ++k) {
            while (!token_finished(k)) wait(token_progress);
            Cycle end = 0;
            for (const auto& r : top_.runners_) end = std::max(end, r->token_end(k));
            token_end.push_back(end);
            if (k + 1 < top_.options_.tokens) {
                ++pos;
                top_.triggers_.push_back(end + top_.options_.host_gap_cycles);
                trigger.notify(sc_core::SC_ZERO_TIME);
            }
        }
        idle = 1;
    }
    Accelerator& top_;
};

class HlsBlock : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(HlsBlock);
    HlsBlock(sc_module_name name, Accelerator& top, BlockRunner& runner)
        : sc_module(name), top_(top), runner_(runner) {
        std::set<int> in, out;
        for (const Phase& p : runner.program().phases) {
            for (const StreamAccess& a : p.reads) in.insert(a.fifo);
            for (const StreamAccess& a : p.writes) out.insert(a.fifo);
        }
        inputs_.assign(in.begin(), in.end());
        outputs_.assign(out.begin(), out.end());
        SC_THREAD(run);
    }
    BlockRunner::Status status = BlockRunner::Status::Progress;
    int blocked_fifo = -1;

private:
    void notify_at(sc_event& e, Cycle at) {
        const double now_ns = sc_core::sc_time_stamp().to_seconds() * 1e9;
        const double delay_ns = std::max(0.0, static_cast<double>(at) * top_.cycle_ns_ - now_ns);
        e.notify(sc_time(delay_ns, sc_core::SC_NS));
    }
    void run() {
        std::vector<int64_t> written(outputs_.size()), read(inputs_.size());
        std::size_t invocations = 0;
        const std::size_t layers = static_cast<std::size_t>(top_.graph_.layers);
        while (true) {
            for (std::size_t i = 0; i < outputs_.size(); ++i) written[i] = top_.fifos_[outputs_[i]].written();
            for (std::size_t i = 0; i < inputs_.size(); ++i) read[i] = top_.fifos_[inputs_[i]].read();
            status = runner_.advance(top_.options_.batch_iterations, &blocked_fifo);
            const Cycle local = runner_.local_cycle();
            // A waiting peer is woken at the time of the first token this batch wrote (or of the
            // first slot it freed), not at the end of the batch: it then never computes behind
            // simulation time, so the producer's memory requests are never in the past (what a
            // TLM-2.0 initiator needs: memory.fidelity = tlm).
            for (std::size_t i = 0; i < outputs_.size(); ++i) {
                const TimedFifo& f = top_.fifos_[outputs_[i]];
                if (f.written() != written[i]) notify_at(top_.data_written_[outputs_[i]], std::min(local, f.write_cycle(written[i])));
            }
            for (std::size_t i = 0; i < inputs_.size(); ++i) {
                const TimedFifo& f = top_.fifos_[inputs_[i]];
                if (f.read() != read[i]) notify_at(top_.space_freed_[inputs_[i]], std::min(local, f.read_cycle(read[i])));
            }
            const std::size_t now_done = runner_.counters().invocation_end.size();
            if (now_done / layers != invocations / layers) top_.controller_->token_progress.notify(sc_core::SC_ZERO_TIME);
            invocations = now_done;
            switch (status) {
                case BlockRunner::Status::Done: return;
                case BlockRunner::Status::Progress: wait(sc_core::SC_ZERO_TIME); break;
                case BlockRunner::Status::BlockedOnInput: wait(top_.data_written_[blocked_fifo]); break;
                case BlockRunner::Status::BlockedOnOutput: wait(top_.space_freed_[blocked_fifo]); break;
                case BlockRunner::Status::WaitingForTrigger: wait(top_.controller_->trigger); break;
            }
        }
    }
    Accelerator& top_;
    BlockRunner& runner_;
    std::vector<int> inputs_, outputs_;
};

ProducerParams producer_params(const DesignConfig& design) {
    ProducerParams p;
    p.beat_bytes = design.axi.masters * design.axi.width_bits / 8;
    // Each master's bursts: at most burst_beats, never across 4 KB (the masters move in lockstep).
    p.burst_beats = std::min(design.axi.burst_beats, 4096 / (design.axi.width_bits / 8));
    p.boundary_bytes = 4096L * design.axi.masters;
    p.outstanding = design.axi.outstanding;
    p.read_buffer_beats = design.fifo.m_axi;
    p.sequential_loops = design.axi.sequential_bursts;
    p.loop_beats = design.axi.burst_beats;
    p.loop_restart_cycles = kHlsLoopRestartCycles;
    return p;
}

std::vector<MemoryMasterView> memory_master_views(const DesignConfig& design) {
    std::vector<MemoryMasterView> v;
    v.push_back({"WEIGHT_PRODUCER", design, producer_params(design)});
    if (design.axi.state_masters > 0) {
        DesignConfig d = design;
        d.axi.masters = design.axi.state_masters;
        d.axi.width_bits = design.axi.state_width_bits;
        v.push_back({"STATE_MASTER", d, producer_params(d), design.axi.state_on_secondary});
    }
    return v;
}

PlatformConfig platform_for(const PlatformConfig& platform, const MemoryMasterView& master) {
    if (!master.secondary_memory) return platform;
    if (!platform.secondary_memory) throw std::logic_error(master.block + ": on a secondary memory the platform does not have");
    PlatformConfig p = platform;
    p.memory = *platform.secondary_memory;
    return p;
}

Accelerator::Accelerator(sc_module_name name, DataflowGraph graph, const PlatformConfig& platform,
                         const DesignConfig& design, SimulationOptions options)
    : sc_module(name), graph_(std::move(graph)), options_(options), cycle_ns_(1000.0 / design.clock_mhz),
      weight_beat_bytes_(producer_params(design).beat_bytes) {
    for (const FifoSpec& f : graph_.fifos) {
        fifos_.emplace_back(f);
        if (options_.trace) fifos_.back().record_levels(std::max<Cycle>(1, options_.trace_level_bin_cycles));
    }
    data_written_ = std::vector<sc_event>(fifos_.size());
    space_freed_ = std::vector<sc_event>(fifos_.size());
    const std::vector<MemoryMasterView> masters = memory_master_views(design);
    for (const MemoryMasterView& m : masters) {
        masters_.push_back(m.block);
        memories_.push_back(std::make_unique<MemoryPort>(platform_for(platform, m), m.design, m.producer.beat_bytes));
        memories_.back()->record_requests(options_.record_memory_requests);
        if (options_.trace) memories_.back()->trace_channels(true, static_cast<double>(options_.trace_merge_gap_cycles) * cycle_ns_);
        if (options_.check_memory_protocol) memories_.back()->check_protocol();
    }
    triggers_ = {0};
    controller_ = std::make_unique<Controller>("controller", *this);
    for (const BlockProgram& b : graph_.blocks) {
        MemoryPort* port = nullptr;
        ProducerParams producer = masters.front().producer;
        for (std::size_t m = 0; m < masters.size(); ++m)
            if (b.is_memory_master && masters[m].block == b.name) port = memories_[m].get(), producer = masters[m].producer;
        if (b.is_memory_master && !port) throw std::logic_error("no memory port for memory master " + b.name);
        runners_.push_back(std::make_unique<BlockRunner>(b, fifos_, graph_.layers, options_.tokens, kManagerRestartCycles,
                                                         &triggers_, port, producer));
        runners_.back()->record_stalls(options_.trace, options_.trace_merge_gap_cycles);
        modules_.push_back(std::make_unique<HlsBlock>(b.name.c_str(), *this, *runners_.back()));
    }
}

Accelerator::~Accelerator() = default;

namespace {
const char* status_text(BlockRunner::Status s) {
    switch (s) {
        case BlockRunner::Status::BlockedOnInput: return "waiting for input from";
        case BlockRunner::Status::BlockedOnOutput: return "waiting for space in";
        case BlockRunner::Status::WaitingForTrigger: return "waiting for the host trigger";
        case BlockRunner::Status::Progress: return "runnable";
        case BlockRunner::Status::Done: return "finished";
    }
    return "?";
}
}  // namespace

SimulationResult Accelerator::run() {
    SimulationResult r;
    // In slices: between them, progress and the stop signal. The kernel stops on its own when no
    // event is left (done, or a deadlock found below).
    const sc_core::sc_time slice(static_cast<double>(options_.slice_cycles) * cycle_ns_, sc_core::SC_NS);
    const Cycle layers = static_cast<Cycle>(graph_.layers) * options_.tokens;
    while (true) {
        sc_core::sc_start(slice);
        if (options_.stop_signal && *options_.stop_signal != 0) {
            r.partial = true;
            r.stop_signal = *options_.stop_signal;
            break;
        }
        if (!sc_core::sc_pending_activity()) break;
        if (options_.progress) {
            SimulationProgress p;
            p.simulated_cycles = static_cast<Cycle>(sc_core::sc_time_stamp().to_seconds() * 1e9 / cycle_ns_ + 0.5);
            p.tokens_done = static_cast<int>(controller_->token_end.size());
            p.tokens = options_.tokens;
            for (const auto& run : runners_)
                if (run->program().name == "RESIDUAL") p.layers_done = static_cast<int64_t>(run->counters().invocation_end.size());
            p.layers = layers;
            options_.progress(p);
        }
    }
    // Deadlock: the kernel ran out of events with blocks unfinished.
    std::string stuck;
    std::set<int> stuck_fifos;
    Cycle progress_until = 0;
    for (std::size_t i = 0; i < runners_.size(); ++i) {
        progress_until = std::max(progress_until, runners_[i]->local_cycle());
        const HlsBlock& m = *modules_[i];
        if (m.status == BlockRunner::Status::Done) continue;
        std::string what = status_text(m.status);
        if (m.blocked_fifo >= 0 && m.status != BlockRunner::Status::WaitingForTrigger) {
            what += " FIFO " + fifos_[m.blocked_fifo].name();
            stuck_fifos.insert(m.blocked_fifo);
        }
        stuck += fmt::format("\n  {:<16} {} ({})", runners_[i]->program().name, what, runners_[i]->position());
    }
    if (!stuck.empty() && !r.partial) {
        std::string f;
        for (int k : stuck_fifos) {
            const TimedFifo& q = fifos_[k];
            f += fmt::format("\n  {:<22} {} -> {}: {} of {} tokens held (depth {} + producer pipeline {})", q.name(),
                             graph_.fifos[k].producer, graph_.fifos[k].consumer, q.written() - q.read(), q.capacity(),
                             q.depth(), q.capacity() - q.depth());
        }
        throw DeadlockError(fmt::format(
            "deadlock: no block can progress after cycle {} (every block below waits on another).\nBlocks:{}\nFIFOs:{}\n"
            "A FIFO too shallow for the computation order is the usual cause (e.g. design.reorder=false needs the "
            "whole x and z vectors buffered).",
            progress_until, stuck, f));
    }
    r.token_end_cycles = controller_->token_end;
    r.total_cycles = r.token_end_cycles.empty() ? 0 : r.token_end_cycles.back();
    for (std::size_t i = 0; i < runners_.size(); ++i) {
        const BlockRunner& run = *runners_[i];
        BlockReport b;
        b.name = run.program().name;
        b.function = run.program().function;
        b.source = run.program().source;
        b.counters = run.counters();
        b.hls_latency_cycles = run.program().hls_latency_cycles;
        b.isolated_latency_cycles = run.program().isolated_latency_cycles(1, graph_.layers);
        b.depth_cycles = run.program().depth_cycles;
        b.overhead_cycles = run.program().overhead_cycles;
        b.timing_extrapolated = run.program().timing_extrapolated;
        b.idle_cycles = r.total_cycles - b.counters.busy_cycles - b.counters.stall_in_cycles - b.counters.stall_out_cycles;
        if (b.name == "RESIDUAL") r.layer_end_cycles = b.counters.invocation_end;
        r.blocks.push_back(std::move(b));
    }
    for (std::size_t k = 0; k < fifos_.size(); ++k) {
        fifos_[k].finish_statistics(r.total_cycles);
        FifoReport f;
        f.name = fifos_[k].name();
        f.producer = graph_.fifos[k].producer;
        f.consumer = graph_.fifos[k].consumer;
        f.depth = fifos_[k].depth();
        f.capacity = fifos_[k].capacity();
        f.tokens = fifos_[k].written();
        f.max_occupancy = fifos_[k].max_occupancy();
        f.occupancy_cycles = fifos_[k].occupancy_cycles();
        f.level_samples = fifos_[k].level_samples();
        const BlockProgram& from = graph_.block(f.producer);
        const BlockProgram& to = graph_.block(f.consumer);
        if (from.is_memory_master || to.is_memory_master)
            f.memory_token_bytes = f.name == "weight" || f.name == "weight_scale" ? weight_beat_bytes_ : kMemoryTokenBytes;
        r.fifos.push_back(std::move(f));
    }
    // Every memory master's traffic together (their channels are disjoint: config validation).
    const MemoryPort& first = *memories_.front();
    r.memory_fidelity = first.fidelity();
    r.memory_preset = first.preset();
    r.memory_energy.source = first.energy(0).source;
    for (auto& port : memories_) {
        const MemoryPortStats& s = port->stats();
        r.memory.read_bytes += s.read_bytes;
        r.memory.write_bytes += s.write_bytes;
        r.memory.read_bursts += s.read_bursts;
        r.memory.write_bursts += s.write_bursts;
        if (r.memory.bytes_per_window.size() < s.bytes_per_window.size()) r.memory.bytes_per_window.resize(s.bytes_per_window.size(), 0);
        for (std::size_t w = 0; w < s.bytes_per_window.size(); ++w) r.memory.bytes_per_window[w] += s.bytes_per_window[w];
        mem::ChannelStats& d = r.memory.dram;
        d.reads += s.dram.reads, d.writes += s.dram.writes, d.activates += s.dram.activates;
        d.precharges += s.dram.precharges, d.refreshes += s.dram.refreshes, d.row_hits += s.dram.row_hits;
        d.row_misses += s.dram.row_misses, d.row_conflicts += s.dram.row_conflicts;
        r.memory_peak_gbps += port->peak_gbps();
        const MemoryPort::Energy e = port->energy(static_cast<double>(r.total_cycles) * cycle_ns_);
        MemoryPort::Energy& t = r.memory_energy;
        t.total_pj += e.total_pj, t.act_pre_pj += e.act_pre_pj, t.rd_pj += e.rd_pj, t.wr_pj += e.wr_pj;
        t.ref_pj += e.ref_pj, t.background_pj += e.background_pj;
        t.per_channel_pj.insert(t.per_channel_pj.end(), e.per_channel_pj.begin(), e.per_channel_pj.end());
        t.unknown = e.unknown;
        if (options_.trace) {
            const std::size_t m = static_cast<std::size_t>(&port - memories_.data());
            const double until_ns = static_cast<double>(r.total_cycles) * cycle_ns_;
            for (int c = 0; c < port->dram_channels(); ++c) {
                ChannelTrace t;
                t.name = fmt::format("{} channel {}", masters_.at(m), c);
                t.spans = port->channel_spans().at(static_cast<std::size_t>(c));
                t.refresh_start_ns = port->refresh_starts_ns(c, until_ns);
                t.refresh_ns = port->refresh_duration_ns();
                r.channel_traces.push_back(std::move(t));
            }
        }
        std::vector<BurstRequest> req = port->take_requests();
        r.memory_requests.insert(r.memory_requests.end(), req.begin(), req.end());
    }
    if (options_.check_memory_protocol) {
        // A violation is the simulator's fault, not the input's: an internal error, as one found
        // during the run is (it surfaces through the SystemC kernel).
        try {
            r.memory_commands_checked = 0;
            for (auto& port : memories_) r.memory_commands_checked += port->finish_checking();
        } catch (const RangeError& e) {
            throw std::logic_error(e.what());
        }
    }
    return r;
}

}  // namespace lmsim::hw
