// lmsim design-space exploration: the analytic screen's schedule. The accelerator's graph
// (hw/lightmamba_graph.h: every block's phases, every FIFO with its capacity and latency) timed
// as a fluid: each phase of each block in each layer is one interval [S, E) over which its
// iterations are spread evenly, split wherever a FIFO it reads or writes passes from one phase
// of the block at its other end to the next (so a producer that pauses between its consumer's
// phases is two intervals). The cycle-level rules (dataflow.h) are applied to the first and
// last token of every interval only:
//   - a block's phases run in order; an invocation starts its restart + overhead after the
//     previous one's last iteration has drained (depth);
//   - input: the first (last) token read is not read before the producer wrote it plus the
//     FIFO's latency; iterations before the first (after the last) run at the phase's II;
//   - output credit: a token is not written before the token `capacity` places earlier was read;
//   - a memory phase moves its beats at their mean spacing in that phase of the master's memory
//     pass (the master's program alone on the memory model);
//   - a phase that waits every period for what it wrote to come back through other blocks (the
//     SSM state's exchange with DAH and HT_ADD_QUANT, per tile) runs at its period's mean II
//     with that round trip (each block's depth and each FIFO's latency on the shortest path).
// Solved by relaxation (every constraint is a lower bound; repeated until nothing moves).
// What it leaves out: pipeline-style differences (stall pipelines are treated as free-running),
// uneven rates inside an interval, and the memory's latency per burst beyond its mean rate.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "hw/dataflow.h"

namespace lmsim::dse {

struct FluidSchedule {
    std::vector<double> layer_end_cycles;   // the modelled layers (RESIDUAL's last write)
    double middle_layer_cycles = 0;         // the last modelled layer's length
    int relaxation_rounds = 0;
    bool converged = false;
};

// `memory_cycles_per_beat`: per memory phase ("BLOCK/phase"), its beats' mean spacing in its
// master's memory pass (a middle layer).
// `model_layers` layers are scheduled (the first, then middle ones).
FluidSchedule fluid_schedule(const hw::DataflowGraph& graph, const std::map<std::string, double>& memory_cycles_per_beat,
                             int model_layers, int restart_cycles);

}  // namespace lmsim::dse
