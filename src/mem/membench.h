// lmsim: a Shuhai-style memory microbenchmark on the command-level model: AXI ports issue bursts
// (sequential, random or strided) with a bounded number outstanding; each burst becomes DRAM
// bursts served by the channel controllers; achieved bandwidth and burst latency are reported.
// Two drivers of the same model: run_membench computes the bursts' times directly (fast, any
// number of runs per process); run_membench_tlm runs them through the TLM-2.0 modules.
#pragma once
#include <string>

#include "config/hardware_config.h"
#include "mem/dram_spec.h"

namespace lmsim::mem {

struct MembenchSpec {
    std::string pattern = "seq";  // seq | random | stride:N (N bytes between burst starts)
    int burst_bytes = 8192;       // one AXI burst (256 beats of 32 bytes)
    int outstanding = 32;         // AXI bursts in flight per port
    int channels = 1;             // ports used (HBM2: one pseudo-channel each)
    long bursts_per_port = 2000;
    std::string preset;           // DRAM preset; empty: from the platform's memory kind
    double write_fraction = 0;    // share of the bursts that are writes, spread evenly (0: reads only)
    bool check_protocol = false;  // replay every DRAM command through the ProtocolChecker
    int pc_offset = 0;            // HBM2: port p reads pseudo-channel (p + pc_offset) mod channels,
                                  // through the AXI switch (mem/hbm_switch.h); 0: its own
};

struct MembenchResult {
    std::string preset;
    double gbps = 0;
    double latency_min_ns = 0, latency_mean_ns = 0, latency_p99_ns = 0;
    double peak_gbps = 0;  // min(DRAM peak, AXI ports) for the channels used
    int max_switch_hops = 0;         // HBM2: lateral hops of the farthest port's path
    double min_switch_share = 1;     // HBM2: smallest share of a port's rate left by the switch
    double energy_pj = 0;  // all channels, by command counts (see dram_energy.h)
    double energy_pj_per_bit = 0;
    std::string energy_unknown;  // what the energy figure leaves out
    long axi_bursts = 0;         // run_membench_tlm: AXI bursts after the 4 KB split
    long commands_checked = 0;   // with check_protocol: DRAM commands replayed through the checker
    std::string protocol_violation;  // with check_protocol: the first violation, empty if none
};

// Throws InputError for a bad pattern, sizes or more channels than the platform has.
MembenchResult run_membench(const MemorySystemConfig& memory, const MembenchSpec& spec);
// The same benchmark through the TLM-2.0 modules, in SystemC time: an AxiMaster per port (which
// splits bursts at 4 KB boundaries, as AXI requires), the MemoryInterconnect, a DramChannelTarget
// per channel. One SystemC elaboration: call it once per process.
MembenchResult run_membench_tlm(const MemorySystemConfig& memory, const MembenchSpec& spec);
// The platform's preset (memory.preset), or the default for its kind and data rate.
std::string default_preset(const MemorySystemConfig& memory);

}  // namespace lmsim::mem
