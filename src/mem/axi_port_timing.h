// lmsim: the data channels of one AXI port, and a bandwidth cap shared by all ports, as
// membench's direct driver, the TLM MemoryInterconnect and the accelerator's MemoryPort time them. Reads: the beats reach the master one per AXI cycle (less
// what the HBM switch's lateral links leave the port) from the burst's first data on, after the
// previous read's, and never before the DRAM's last data plus the path latency. Writes: the beats
// leave the master first, after the previous write's; the controller takes the burst once it has
// all of it [A]; the path latency counts half each way (data out, response back) [A].
#pragma once
#include <algorithm>

namespace lmsim::mem {

struct AxiPortTiming {
    double read_free_ns = 0, write_free_ns = 0;  // each data channel's last beat so far

    // A read whose DRAM data moves from first_ns to last_ns: the time of its last beat at the port.
    double read(double first_ns, double last_ns, double path_ns, double beats_ns) {
        const double start = std::max(first_ns + path_ns, read_free_ns);
        read_free_ns = std::max(last_ns + path_ns, start + beats_ns);
        return read_free_ns;
    }
    // A write issued at issue_ns: when the controller has all its data.
    double write_data(double issue_ns, double path_ns, double beats_ns) {
        write_free_ns = std::max(issue_ns, write_free_ns) + beats_ns;
        return write_free_ns + path_ns / 2;
    }
    // The write response, after the DRAM's last write.
    static double write_response(double dram_last_ns, double path_ns) { return dram_last_ns + path_ns / 2; }
};

// A bandwidth limit shared by every port (the Versal NoC's QoS rate, platform.memory.
// noc_bandwidth_gbps): transfers pass it one after another.
struct SharedBandwidth {
    double ns_per_byte = 0;  // 0: no limit
    double free_ns = 0;
    // When a transfer of `bytes` asked for at at_ns has passed (at_ns itself without a limit).
    double pass(double at_ns, double bytes) {
        if (ns_per_byte <= 0) return at_ns;
        free_ns = std::max(free_ns, at_ns) + bytes * ns_per_byte;
        return free_ns;
    }
};

}  // namespace lmsim::mem
