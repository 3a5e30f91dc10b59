// lmsim: the stream-fidelity memory model (memory.fidelity = stream). A long sequential stream
// settles into a steady rate set by the bus, refresh and row switches; the stream model
// simulates refresh-interval-sized chunks at command level until the average cycles per burst
// converge, then extrapolates the rest at that rate. Completion times match the command-level
// model within 1 % (tests/test_mem_stream.cpp) while simulating a small part of the bursts.
#pragma once
#include <cstdint>

#include "mem/dram_controller.h"

namespace lmsim::mem {

struct StreamEstimate {
    long end_cycle = 0;           // completion of the last burst
    long simulated_bursts = 0;    // bursts actually simulated at command level
};

// A sequential read (or write) stream of `bursts` DRAM bursts starting at `base`, all available
// at cycle 0, served with lookahead `window` on a fresh channel.
StreamEstimate estimate_sequential_stream(const DramSpec& spec, const AddressMapping& mapping, uint64_t base,
                                          long bursts, bool is_write, int window);

// The same stream entirely at command level (the reference the estimate is checked against).
long command_level_stream(const DramSpec& spec, const AddressMapping& mapping, uint64_t base, long bursts,
                          bool is_write, int window);

}  // namespace lmsim::mem
