// lmsim vcd / lmsim run --vcd: a trace written by `lmsim run --trace` (report/trace.h) as a VCD
// file for GTKWave, written by SystemC's sc_trace: one signal per unit (its state: 0 idle, 1 busy,
// 2 stalled on an input, 3 stalled on an output) and one per FIFO (tokens held). SystemC
// elaborates once per process, so `lmsim run --vcd` converts its trace in a child `lmsim vcd`.
// Times: one simulated cycle is its length in femtoseconds, rounded per event (never accumulated).
#pragma once
#include <string>

namespace lmsim {

struct VcdSummary {
    int units = 0, fifos = 0;
    long changes = 0;
};
// Reads the trace (InputError naming the file and line if it is not one lmsim wrote), writes
// `vcd_path` (to a temporary name, renamed when complete).
VcdSummary write_vcd_from_trace(const std::string& trace_path, const std::string& vcd_path);

}  // namespace lmsim
