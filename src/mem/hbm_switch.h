// lmsim: the U280's HBM AXI switch, the path from an AXI port to a pseudo-channel that is not its
// own. PG276 [P]: a 16 x 16 AXI crossbar per stack gives every port the whole memory space, with
// a "lateral AXI switch access throughput loss" (a PG276 section whose figures were not
// retrievable). As modelled here (platform.memory.crossbar, every value tagged in
// configs/platforms/u280.json): the ports and pseudo-channels form mini-switches of
// `ports_per_switch` ports each, in a row over both stacks; a port reaches the channels of its
// own mini-switch directly and any other by lateral hops between neighbouring mini-switches,
// each joined by `lateral_links` links per direction. A hop adds `hop_latency_ns` to a burst
// (request out, data back). Bandwidth: every link carries one AXI beat per AXI cycle, and flows
// that cross the same link in the same direction share it; a flow gets the smallest share along
// its path (at most a whole port). A fluid model: it gives the steady throughput loss of a
// traffic pattern, not arbitration cycle by cycle.
#pragma once
#include <utility>
#include <vector>

#include "config/hardware_config.h"

namespace lmsim::mem {

class HbmSwitch {
public:
    // `channels`: pseudo-channels (and AXI ports) in all.
    HbmSwitch(const HbmSwitchConfig& config, int channels);

    int switch_of(int port_or_channel) const { return port_or_channel / ports_per_switch_; }
    // Lateral hops between a port and a pseudo-channel (0: local).
    int hops(int port, int channel) const;
    double latency_ns(int port, int channel) const { return hops(port, channel) * hop_latency_ns_; }

    struct Flow {
        int port, channel;
        bool write;  // data towards the channel (write) or towards the port (read)
    };
    // The share of a port's beat rate each flow gets when all run at once (1: unimpeded).
    std::vector<double> shares(const std::vector<Flow>& flows) const;

    // Ports 0 .. ports-1 each reading pseudo-channel (port + offset) mod channels at once: each
    // port's share and added latency, the farthest path's hops and the smallest share.
    struct OffsetPattern {
        std::vector<double> share, latency_ns;
        int max_hops = 0;
        double min_share = 1;
    };
    OffsetPattern read_with_offset(int ports, int offset) const;

private:
    int ports_per_switch_, links_, switches_, channels_;
    double hop_latency_ns_;
};

}  // namespace lmsim::mem
