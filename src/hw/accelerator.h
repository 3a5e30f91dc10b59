// lmsim: the LightMamba accelerator as SystemC modules. One HlsBlock module per hardware block
// (names as in the released design), each an SC_THREAD that evaluates its loop program
// (dataflow.h) as far as the FIFO timestamps allow, then sleeps on the FIFO it waits for: it
// wakes once per batch of tiles or bursts, never per cycle. The Controller holds the host
// registers (L_BEGIN, L_CLOSE, POS, T, IDLE) and starts each token; every block's Manager FSM
// (idle -> work -> wait, once per layer) is the invocation loop of its runner. A deadlock (no
// block can progress) ends the simulation with the blocked blocks and FIFOs named.
#pragma once
#include <csignal>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <systemc>
#include <vector>

#include "config/hardware_config.h"
#include "hw/dataflow.h"
#include "hw/memory_port.h"

namespace lmsim::hw {

// Manager FSM restart: ap_ready -> wait -> (ap_idle) -> work asserts ap_start again, one cycle
// per state, plus one registered hop of the ManagerSignals chain [A: reconstructed from
// SPINAL/GEMM_wrapper.v; Manager.scala is not in the repository, lightmamba.md 7.3].
constexpr int kManagerRestartCycles = 3;

// A sequential HLS outer loop around a pipelined inner loop: the inner loop's exit, the outer
// increment and the inner loop's re-entry [A: typical Vitis HLS schedule, not in the reports].
constexpr int kHlsLoopRestartCycles = 2;

// The weight producer's AXI parameters from the design.
ProducerParams producer_params(const DesignConfig& design);

// The design's memory masters: the graph block that drives each, the design as that master
// sees it (its masters and width in design.axi), and its AXI parameters. One (WEIGHT_PRODUCER)
// as released; two with design.axi.state_master (STATE_MASTER on masters of its own).
struct MemoryMasterView {
    std::string block;
    DesignConfig design;
    ProducerParams producer;
    bool secondary_memory = false;  // on platform.memory.secondary (design.axi.state_master.memory)
};
std::vector<MemoryMasterView> memory_master_views(const DesignConfig& design);
// The platform as a master sees it: its memory system is the secondary one where it uses that.
PlatformConfig platform_for(const PlatformConfig& platform, const MemoryMasterView& master);

// Where a long simulation stands, for a progress line (SimulationOptions::progress).
struct SimulationProgress {
    Cycle simulated_cycles = 0;
    int tokens_done = 0, tokens = 0;
    int64_t layers_done = 0, layers = 0;  // over all tokens (the residual stream's layer ends)
};

struct SimulationOptions {
    int tokens = 1;
    int position = 0;             // POS of the first token
    Cycle host_gap_cycles = 0;    // host work between tokens (embedding, polling) [A: not modelled]
    int64_t batch_iterations = 1 << 16;  // iterations a block evaluates before it yields
    bool record_memory_requests = false;  // keep every burst in SimulationResult::memory_requests
    // --trace: every block's stalls (BlockCounters::stalls), each FIFO's level sampled per
    // trace_level_bin_cycles window (FifoReport::level_samples), every DRAM channel's busy spans
    // and refreshes (SimulationResult::channel_traces). Recording changes no result.
    bool trace = false;
    Cycle trace_level_bin_cycles = 256;
    Cycle trace_merge_gap_cycles = 0;  // StallSpan: stalls of one kind closer than this are one span
    bool check_memory_protocol = false;   // every DRAM command through the ProtocolChecker (command, tlm)
    // The kernel runs in slices of this many cycles; between slices `progress` is called (if
    // set) and `stop_signal` is read: non-zero stops the run with what is complete
    // (SimulationResult::partial). Slicing does not change any result.
    Cycle slice_cycles = 1 << 20;
    std::function<void(const SimulationProgress&)> progress;
    const volatile std::sig_atomic_t* stop_signal = nullptr;
};

struct BlockReport {
    std::string name, function, source;
    BlockCounters counters;
    int64_t hls_latency_cycles = 0, isolated_latency_cycles = 0;
    int depth_cycles = 0, overhead_cycles = 0;
    int64_t idle_cycles = 0;  // within the simulated span
    std::string timing_extrapolated;  // BlockProgram::timing_extrapolated
};

struct FifoReport {
    std::string name, producer, consumer;
    int depth = 0;
    int64_t capacity = 0, tokens = 0;
    int max_occupancy = 0;
    std::vector<int64_t> occupancy_cycles;  // index: tokens held (FIFO + producer output stage)
    // Bytes of one token: a weight or weight-scale token is one beat of the weight masters;
    // every other memory stream's token is 32 bytes (one beat of the released 256-bit master,
    // several per beat on wider masters); 0 for the streams between blocks.
    int64_t memory_token_bytes = 0;
    std::vector<TimedFifo::LevelSample> level_samples;  // with SimulationOptions::trace
};

// --trace: one DRAM channel behind one memory master.
struct ChannelTrace {
    std::string name;  // "<master> channel <c>"
    std::vector<MemoryPort::ChannelSpan> spans;
    std::vector<double> refresh_start_ns;
    double refresh_ns = 0;
};

struct SimulationResult {
    Cycle total_cycles = 0;
    bool partial = false;             // stopped by SimulationOptions::stop_signal
    int stop_signal = 0;              // the signal that stopped it
    std::vector<Cycle> token_end_cycles;      // per token: the cycle its last block went idle (finished tokens)
    std::vector<Cycle> layer_end_cycles;      // per layer of every token (RESIDUAL's add done)
    std::vector<BlockReport> blocks;
    std::vector<FifoReport> fifos;
    MemoryPortStats memory;
    std::vector<BurstRequest> memory_requests;  // with SimulationOptions::record_memory_requests
    std::vector<ChannelTrace> channel_traces;   // with SimulationOptions::trace
    long memory_commands_checked = -1;          // with check_memory_protocol: all legal (-1: not checked)
    std::string memory_fidelity, memory_preset;
    double memory_peak_gbps = 0;
    MemoryPort::Energy memory_energy;
};

class DeadlockError : public std::runtime_error {
public:
    explicit DeadlockError(const std::string& what) : std::runtime_error(what) {}
};

class HlsBlock;
class Controller;

class Accelerator : public sc_core::sc_module {
public:
    Accelerator(sc_core::sc_module_name name, DataflowGraph graph, const PlatformConfig& platform,
                const DesignConfig& design, SimulationOptions options);
    ~Accelerator() override;
    // Elaborates, simulates until every block has finished every token, and collects the
    // counters. Throws DeadlockError naming the blocked blocks and FIFOs.
    SimulationResult run();
    const DataflowGraph& graph() const { return graph_; }

private:
    friend class HlsBlock;
    friend class Controller;
    DataflowGraph graph_;
    SimulationOptions options_;
    double cycle_ns_;
    int weight_beat_bytes_;  // one beat of the weight masters together
    std::vector<TimedFifo> fifos_;
    std::vector<sc_core::sc_event> data_written_, space_freed_;
    std::vector<std::unique_ptr<MemoryPort>> memories_;  // one per memory master, as memory_master_views()
    std::vector<std::string> masters_;                    // their blocks' names
    std::vector<Cycle> triggers_;
    std::vector<std::unique_ptr<BlockRunner>> runners_;
    std::vector<std::unique_ptr<HlsBlock>> modules_;
    std::unique_ptr<Controller> controller_;
};

}  // namespace lmsim::hw
