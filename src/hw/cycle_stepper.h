// lmsim: the reference for the event-driven model: the same block programs and FIFO rules
// (dataflow.h), simulated by stepping a clock one cycle at a time and asking every block at every
// cycle whether its next iteration may start now. It shares no scheduling code with BlockRunner
// and is far too slow for real runs (it visits every cycle); tests check that both give the same
// cycle of every iteration-level event they report.
#pragma once
#include <string>
#include <vector>

#include "hw/dataflow.h"

namespace lmsim::hw {

struct SteppedResult {
    bool deadlock = false;
    Cycle total_cycles = 0;
    std::vector<Cycle> token_end_cycles;
    std::vector<BlockCounters> blocks;   // in graph order
    std::vector<int64_t> fifo_tokens;    // per FIFO
};

// Steps until every block has run `tokens` x layers invocations, or until no block has started
// an iteration for `deadlock_window_cycles` cycles (then deadlock = true).
SteppedResult step_cycles(const DataflowGraph& graph, int tokens, int restart_cycles, BurstTiming* memory,
                          ProducerParams producer, Cycle deadlock_window_cycles = 1'000'000);
// The same with one memory per memory-master block (design.axi.state_master).
struct SteppedMemory {
    std::string block;
    BurstTiming* memory;
    ProducerParams producer;
};
SteppedResult step_cycles(const DataflowGraph& graph, int tokens, int restart_cycles,
                          const std::vector<SteppedMemory>& memories, Cycle deadlock_window_cycles = 1'000'000);

}  // namespace lmsim::hw
