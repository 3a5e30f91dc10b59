// lmsim: the timing rules of LightMamba's datapath, free of SystemC. The released design is a set
// of HLS blocks joined by bounded FIFOs (../shared/docs/lightmamba.md 3.2); every block runs one
// pipelined loop nest per layer. A block is described here as a *program*: per invocation a
// sequence of phases (HLS loops), each with a trip count, an initiation interval and the FIFO
// tokens each iteration reads and writes. The rules (LightningSim's, see docs/validation.md),
// for a free-running pipeline:
//
//   start(i) = max( start(i-1) + II,                         pipeline initiation
//                   write_cycle(token read) + latency,        input available
//                   read_cycle(token written - capacity) + 1) output slot free (credit)
//   token read at start(i); token written at start(i) + depth
//
// with each FIFO's capacity and latency as built (FifoSpec); a stall pipeline moves in lock
// step instead (PipelineStyle below). These
// recurrences are evaluated token by token in dependency order (BlockRunner, driven by SystemC
// processes that sleep while blocked) and, for the equivalence test, cycle by cycle
// (cycle_stepper.h): both must give identical cycles.
#pragma once
#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <vector>

namespace lmsim::hw {

using Cycle = int64_t;
constexpr Cycle kNever = std::numeric_limits<Cycle>::min() / 4;

// How a block's pipeline reacts to a blocked stream port (Vitis HLS 2022.2's two styles, read
// from each block's generated RTL; docs/validation.md "Pipeline styles"):
//  - FreeRunning (frp): an iteration issues only when every input it reads is there and every
//    output has room counting the iterations in flight (the per-output pf FIFO of depth ~ L);
//    once issued it never stalls. This is the rule in the header comment above.
//  - Stall (stp): the pipeline moves in lock step; one blocked read or write freezes every
//    iteration in flight. Iteration i's outputs are written K = depth / II slots after it
//    starts, in the slot where iteration i + K starts; that slot waits for the write's room
//    (capacity without in-flight slack) as well as for iteration i + K's inputs.
enum class PipelineStyle { FreeRunning, Stall };

// A read beat at the producer's port can be routed into its stream the next cycle [A].
constexpr Cycle kReadBeatRouteCycles = 1;

// Which iterations of a phase touch a FIFO: iteration i (phase-local) fires when
// pos = i mod period lies in [lo, hi) and (pos - lo) is a multiple of stride; it then moves
// `count` tokens.
struct StreamAccess {
    int fifo = -1;
    int64_t period = 1, lo = 0, hi = 1, stride = 1;
    int count = 1;
    int64_t tokens_for(int64_t trips) const;  // tokens moved by a phase of `trips` iterations
};

enum class Applies { Always, FirstLayer, LastLayer };
enum class PhaseKind { Loop, MemRead, MemWrite };

struct Phase {
    std::string name;
    PhaseKind kind = PhaseKind::Loop;
    int64_t trips = 0;
    int ii = 1;
    Applies when = Applies::Always;
    std::vector<StreamAccess> reads, writes;
    // Memory phases: one AXI beat per iteration from/to a linear region. MemRead writes each beat
    // to its `writes` FIFO(s); MemWrite takes each beat from reads[0].
    uint64_t address = 0;           // region of layer 0
    uint64_t address_per_layer = 0; // region stride between layers
};

struct BlockProgram {
    std::string name;         // as in the released design (GEMM, HT_STATE, ...)
    std::string function;     // one line for reports
    std::vector<Phase> phases;
    int depth_cycles = 1;     // iteration start -> its output tokens written
    PipelineStyle style = PipelineStyle::FreeRunning;
    int overhead_cycles = 0;  // ap_start -> first iteration (the rest of the HLS latency)
    int64_t hls_latency_cycles = 0;  // per invocation, from the HLS report (0: none published)
    std::string source;       // where the loop structure and latency come from
    bool is_memory_master = false;   // the weight producer (M_AXI_STATIC)
    // Why this block's II, depth or overhead are carried over from the released design to a
    // configuration they were not published for (empty: published as used). docs/validation.md
    // "Timing of a widened block".
    std::string timing_extrapolated;
    // Cycles of one invocation in isolation (inputs always ready, outputs never full):
    // overhead + sum(trips x II) + depth, over the phases that apply to a middle layer.
    int64_t isolated_latency_cycles(int layer, int layers) const;
};

struct FifoSpec {
    std::string name;
    int depth = 8;
    std::string producer, consumer;  // block names
    int port_slack = 0;  // tokens held by the AXI-Stream register slices at the two ports
    // Tokens per FIFO entry: 1, or the tokens a widened SSM unit moves per iteration (the queue
    // and its register slices are that many tokens wide; depth and slack count entries).
    int entry_tokens = 1;
    // Filled in by the graph builder once the blocks' timing is known (lightmamba_graph.cpp):
    // capacity = depth + port_slack + (a free-running producer's pipeline depth); latency = the
    // cycles from a token's write to the first cycle it can be read (queue + register slices).
    int64_t capacity = 0;
    int latency_cycles = 1;
};

// The accelerator as a graph: FIFOs (indexed by StreamAccess::fifo) and block programs.
struct DataflowGraph {
    std::vector<FifoSpec> fifos;
    std::vector<BlockProgram> blocks;
    int layers = 1;
    const BlockProgram& block(const std::string& name) const;
};

bool phase_applies(const Phase& p, int layer, int layers);

// Timestamps of one FIFO's tokens: write and read cycles, kept in ring buffers long enough for
// the credit rule and the statistics cursor. Also the occupancy histogram (time-weighted,
// counting the producer's in-flight output stage, so bins go up to depth + producer depth).
class TimedFifo {
public:
    // capacity and latency as in FifoSpec.
    TimedFifo(std::string name, int depth, int64_t capacity, int latency_cycles);
    explicit TimedFifo(const FifoSpec& f) : TimedFifo(f.name, f.depth, f.capacity, f.latency_cycles) {}
    const std::string& name() const { return name_; }
    int depth() const { return depth_; }
    int64_t capacity() const { return capacity_; }
    int latency() const { return latency_; }

    int64_t written() const { return written_; }
    int64_t read() const { return read_; }
    Cycle write_cycle(int64_t k) const { return w_[k & mask_]; }
    Cycle read_cycle(int64_t k) const { return r_[k & mask_]; }
    void push(Cycle w) {  // token `written()` written at w
        w_[written_ & mask_] = w;
        ++written_;
        if (written_ - stat_w_ > mask_ / 2) advance_statistics(std::min(w, read_ > 0 ? read_cycle(read_ - 1) : w));
    }
    void pop(Cycle r) {  // token `read()` read at r
        r_[read_ & mask_] = r;
        ++read_;
        // Every event up to the older of the two latest timestamps is final: later writes and
        // reads cannot happen before the latest one already recorded.
        if ((read_ & 63) == 0) advance_statistics(std::min(r, write_cycle(written_ - 1)));
    }

    // Occupancy statistics: cycles spent at each occupancy, up to `until`.
    void finish_statistics(Cycle until);
    // --trace: the occupancy as a counter, one sample per `bin_cycles` window in which it moved
    // (the window's highest level), plus the level it settles at where it then stays.
    struct LevelSample {
        Cycle at;
        int level;
    };
    void record_levels(Cycle bin_cycles) { level_bin_cycles_ = bin_cycles; }
    const std::vector<LevelSample>& level_samples() const { return level_samples_; }
    const std::vector<int64_t>& occupancy_cycles() const { return occupancy_cycles_; }
    int max_occupancy() const { return max_occupancy_; }

private:
    void advance_statistics(Cycle safe_until);
    std::string name_;
    int depth_;
    int64_t capacity_;
    int latency_;
    std::vector<Cycle> w_, r_;
    int64_t mask_;
    int64_t written_ = 0, read_ = 0;
    // statistics cursor: next write / read event not yet merged into the histogram
    int64_t stat_w_ = 0, stat_r_ = 0;
    Cycle stat_time_ = 0;
    int occupancy_ = 0, max_occupancy_ = 0;
    std::vector<int64_t> occupancy_cycles_;
    void sample_level(Cycle t);  // before the event at t changes the occupancy
    void close_level_bin();
    void push_level(Cycle at, int level);
    Cycle level_bin_cycles_ = 0;  // 0: not recorded
    Cycle level_bin_ = -1;        // the window being sampled
    int level_bin_max_ = 0;
    std::vector<LevelSample> level_samples_;
};

// One memory port as the producer sees it: the cycle (accelerator clock) at which an AXI burst
// completes: first and last read beat at the port, or write response. Implemented in
// hw/memory_port.h.
struct BurstCompletion {
    Cycle first = 0;  // reads: first data beat at the port; writes: = last
    Cycle last = 0;   // reads: last data beat at the port; writes: the write response
};
class BurstTiming {
public:
    virtual ~BurstTiming() = default;
    virtual BurstCompletion read_burst(uint64_t address, int beats, Cycle issue) = 0;
    virtual BurstCompletion write_burst(uint64_t address, int beats, Cycle issue) = 0;
};

// --trace: one stall of a block, the cycles [begin, end) an iteration (or beat) waited beyond its
// initiation interval, on an input (data not there) or an output (no room); `fifo` is the FIFO
// whose token or slot bound it, -1 for the memory port (a read beat not yet arrived, a write
// response outstanding). Stalls of one kind less than the merge gap apart are one span (a train
// of `stalls` stalls, `stall_cycles` of its cycles stalled, the rest busy); with a merge gap of
// 0 every span is one stall and stall_cycles = end - begin.
struct StallSpan {
    Cycle begin, end;
    int fifo;
    bool on_input;
    int64_t stalls = 1, stall_cycles = 0;
};

struct BlockCounters {
    int64_t busy_cycles = 0, stall_in_cycles = 0, stall_out_cycles = 0;
    int64_t iterations = 0, invocations = 0;
    Cycle last_end = 0;
    std::vector<Cycle> invocation_start, invocation_end;  // per invocation (token x layers + layer)
    // memory master only
    int64_t bytes_read = 0, bytes_written = 0, bursts = 0;
    std::vector<StallSpan> stalls;  // with BlockRunner::record_stalls
};

struct ProducerParams {
    int beat_bytes = 32;
    int burst_beats = 128;      // after the 4 KB split
    int outstanding = 32;
    int64_t read_buffer_beats = 1024;  // M_AXI internal FIFO [C]
    int64_t boundary_bytes = 4096;     // AXI: no burst crosses a 4 KB boundary (per master)
    // Sequential loops (AxiConfig::sequential_bursts): each loop of loop_beats beats issues its
    // requests when it starts, and starts loop_restart_cycles after the previous loop ended
    // (reads: its last beat routed; writes: its write responses back).
    bool sequential_loops = false;
    int loop_beats = 256;
    int loop_restart_cycles = 2;
};

// The AXI bursts of one memory phase of `layer`: (first beat, beats, address), at most
// burst_beats beats, never across a boundary_bytes boundary, and with sequential loops never
// into the next loop_beats-beat loop.
struct ProducerBurst {
    int64_t first_beat;
    int beats;
    uint64_t address;
};
std::vector<ProducerBurst> producer_bursts(const Phase& phase, int layer, const ProducerParams& params);

// Executes one block's program against the FIFOs: advances as far as the known timestamps
// allow and reports what it waits for.
class BlockRunner {
public:
    enum class Status { Progress, BlockedOnInput, BlockedOnOutput, WaitingForTrigger, Done };
    // `triggers[k]`: the cycle the host starts token k (the controller's T register), filled in
    // by the controller as tokens finish; token 0 starts at cycle 0.
    BlockRunner(const BlockProgram& program, std::vector<TimedFifo>& fifos, int layers, int tokens, int restart_cycles,
                const std::vector<Cycle>* triggers, BurstTiming* memory = nullptr, ProducerParams producer = {});

    // Runs iterations until blocked or finished (at most max_iterations); `blocked_fifo` names
    // the FIFO waited on.
    Status advance(int64_t max_iterations, int* blocked_fifo);
    const BlockCounters& counters() const { return counters_; }
    const BlockProgram& program() const { return program_; }
    // --trace: keep every stall (BlockCounters::stalls) with the FIFO that bound it; stalls of
    // one kind fewer than merge_gap_cycles apart are merged into one span.
    void record_stalls(bool on, Cycle merge_gap_cycles = 0) {
        record_stalls_ = on;
        stall_merge_gap_ = merge_gap_cycles;
    }
    Cycle local_cycle() const { return prev_start_; }
    int layer() const { return layer_ % layers_; }
    int token() const { return layer_ / layers_; }
    // End of the last invocation of token k (valid once the block has finished it).
    Cycle token_end(int k) const { return counters_.invocation_end.at(static_cast<std::size_t>((k + 1) * layers_ - 1)); }
    std::string position() const;  // "layer 3, phase main, iteration 1200 of 163840"

private:
    bool enter_phase();     // skips phases that don't apply; false at end of invocation
    bool begin_invocation();  // false: waiting for the host's trigger
    void end_invocation();
    Status loop_iteration(int* blocked);
    Status stall_loop_slot(int* blocked);  // PipelineStyle::Stall: one lock-step slot
    Status mem_read_beat(int* blocked);
    Status mem_write_beat(int* blocked);
    // The per-iteration helpers are on the hot path of every block: always inlined.
#define LMSIM_HOT __attribute__((always_inline)) inline
    LMSIM_HOT bool input_bound(Cycle* bound, int* blocked) const;
    LMSIM_HOT void pop_inputs(Cycle t);
    LMSIM_HOT bool output_bound(Cycle* bound, int* blocked) const;
    LMSIM_HOT bool output_bound(uint32_t fired, Cycle* bound, int* blocked) const;  // the ports in `fired`
    LMSIM_HOT uint32_t fired_outputs() const;  // bit p: output port p fires in the current iteration
    LMSIM_HOT void commit_writes(Cycle t);
    LMSIM_HOT void commit_writes(uint32_t fired, Cycle w);
#undef LMSIM_HOT
    void advance_positions();
    void record_start(Cycle t, Cycle lower, Cycle in_bound, Cycle out_bound, int ii);
    // --trace: before a stalled iteration's reads and writes, the FIFO whose token (input) or
    // slot (output) gave `bound`, and the stall itself once record_start has counted it.
    int binding_input(Cycle bound) const;
    int binding_output(uint32_t fired, Cycle bound, int offset) const;
    void note_stall(Cycle t, Cycle lower, Cycle in_bound, Cycle out_bound, int in_fifo, int out_fifo);
    bool record_stalls_ = false;
    Cycle stall_merge_gap_ = 0;
    void issue_read_burst(std::size_t b);
    bool read_burst_ready(std::size_t b) const;

    const BlockProgram& program_;
    std::vector<TimedFifo>& fifos_;
    int layers_, tokens_, restart_cycles_;
    const std::vector<Cycle>* triggers_;
    BurstTiming* memory_;
    ProducerParams producer_;
    BlockCounters counters_;
    int layer_ = 0;
    std::size_t phase_ = 0;
    int64_t iter_ = 0, current_trips_ = 0;
    PhaseKind current_kind_ = PhaseKind::Loop;
    bool in_invocation_ = false, done_ = false, entered_ = false;
    Cycle invocation_start_ = 0, phase_lower_ = 0, next_lower_ = 0, prev_start_ = kNever;
    int prev_ii_ = 0;
    Cycle invocation_stall_ = 0;
    Cycle last_end_ = kNever;  // end of the previous invocation
    // The current phase's accesses, with their position counters (i mod period, and the
    // position within the stride), so that no division runs per iteration.
    struct Port {
        TimedFifo* fifo;
        int64_t period, lo, hi, stride;
        int count;
        bool always;
        int64_t pos = 0, stride_pos = 0;
        bool fires() const { return always || (pos >= lo && pos < hi && stride_pos == 0); }
        void step() {
            if (always) return;
            if (++pos == period) pos = 0;
            if (pos == lo) stride_pos = 0;
            else if (++stride_pos == stride) stride_pos = 0;
        }
    };
    std::vector<Port> in_ports_, out_ports_;
    // Stall pipelines: iterations started whose writes are still to come (their fired output
    // ports), oldest first; the slot pacing of the phase's drain; the end of the last drain.
    std::deque<uint32_t> stall_pending_;
    Cycle stall_drain_lower_ = kNever, stall_tail_end_ = kNever;
    int stall_k_ = 0, stall_off_ = 0;
    // memory phases (the weight producer)
    struct Burst {
        int64_t first_beat;
        int beats;
        uint64_t address;
        Cycle first = kNever, done = kNever;
    };
    std::vector<Burst> bursts_;
    std::size_t cur_burst_ = 0, next_issue_ = 0;
    Cycle last_issue_ = kNever, last_arrival_ = kNever, memory_busy_until_ = 0;
    std::vector<Cycle> read_done_, write_done_;  // completion of every burst, in issue order
    std::vector<Cycle> routed_;  // route cycle of the producer's read beats (ring, buffer credit)
    int64_t routed_count_ = 0, routed_base_ = 0;
};

}  // namespace lmsim::hw
