// lmsim run --trace: the run as a Chrome trace-event file (open it in https://ui.perfetto.dev or
// chrome://tracing). Process "units": a track per block, its invocations ("token k layer l") with
// its stalls nested inside ("wait <FIFO>" for data, "full <FIFO>" for room, "wait memory" for a
// read beat, "memory responses" for outstanding writes). Process "FIFO levels": a counter per
// FIFO (tokens held, the highest level in each sampling window). Process "memory": a track per
// DRAM channel, its busy spans (read / write) and refreshes. Times are microseconds of simulated
// time; every event also carries its cycles. One event per line, so that `lmsim vcd` and other
// tools read the file line by line.
#pragma once
#include <string>

#include "hw/accelerator.h"

namespace lmsim {

// --trace-window: the part of the run a trace keeps. Events that overlap it are kept, clipped to
// it. "cycles:A-B" (accelerator cycles, B exclusive) or "layers:A-B" (layer invocations of the
// run, counting across tokens: token k's layer l is k x layers + l; A and B inclusive; the span
// from the first block's start of A to the last block's end of B).
struct TraceWindow {
    std::string text;  // as given; empty: the whole run
    bool by_layers = false;
    int64_t begin = 0, end = -1;  // cycles or layer indices; end -1: open
};
// Throws InputError naming --trace-window and the expected forms.
TraceWindow parse_trace_window(const std::string& text);
// The window in cycles [begin, end) for this run; throws InputError if a layer window names
// layers the run does not have (a run stopped by a signal keeps what ran: the whole span).
std::pair<hw::Cycle, hw::Cycle> trace_window_cycles(const TraceWindow& w, const hw::SimulationResult& sim, int layers);

std::string trace_json(const hw::SimulationResult& sim, double clock_mhz, std::pair<hw::Cycle, hw::Cycle> window);

}  // namespace lmsim
