// lmsim: the path between the platform's AXI ports and its DRAM channels as a TLM-2.0 module,
// for initiators that run in SystemC time (lmsim membench --tlm; an external traffic generator).
// Loosely timed, base protocol: a master's transaction arrives on `from_masters` (the socket
// index is the port); the interconnect cuts it into one transaction per DRAM channel (HBM2: the
// port's pseudo-channel, (port + pc_offset) mod channels; other kinds: the 256-byte channel
// interleave), forwards each with the same annotated delay to that channel's target socket
// (DramChannelTarget, or an external model), and returns in the delay the completion at the
// port: the DRAM's last data (held back by the NoC's shared rate, where there is one) plus the
// fixed path latency (NoC, controller and PHY, HBM switch hops), and no earlier than the port can
// move the beats (one per AXI cycle, less what shared
// HBM lateral links leave it; mem/hbm_switch.h). A DramTimingExtension on the channel
// transactions gives the first data's time where the target knows it.
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <memory>
#include <vector>

#include "config/hardware_config.h"
#include "mem/axi_port_timing.h"
#include "mem/dram_controller.h"
#include "mem/tlm_memory.h"

namespace lmsim::mem {

class MemoryInterconnect : public sc_core::sc_module {
public:
    tlm_utils::multi_passthrough_target_socket<MemoryInterconnect> from_masters;
    using ChannelSocket = tlm_utils::simple_initiator_socket<MemoryInterconnect>;
    std::vector<std::unique_ptr<ChannelSocket>> to_channels;  // bind each to a channel target

    // ports: AXI masters that will bind to from_masters, in port order.
    MemoryInterconnect(sc_core::sc_module_name name, const MemorySystemConfig& memory, int ports, int pc_offset = 0);
    ~MemoryInterconnect() override;

    int dram_channels() const { return static_cast<int>(to_channels.size()); }

private:
    void b_transport(int port, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    bool hbm_;
    int pc_offset_, channels_;
    double fixed_latency_ns_, ns_per_byte_;
    std::vector<double> switch_ns_, share_;
    std::vector<AxiPortTiming> ports_;  // each port's read and write data channels
    SharedBandwidth noc_;               // the NoC's rate, shared by all ports
    tlm::tlm_generic_payload sub_;
    DramTimingExtension timing_;
    std::vector<ChannelRange> ranges_;
};

}  // namespace lmsim::mem
