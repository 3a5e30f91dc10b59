#include "mem/hbm_switch.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include "common/error.h"

namespace lmsim::mem {

HbmSwitch::HbmSwitch(const HbmSwitchConfig& c, int channels)
    : ports_per_switch_(c.ports_per_switch > 0 ? c.ports_per_switch : channels),
      links_(std::max(1, c.lateral_links)),
      switches_(channels / ports_per_switch_),
      channels_(channels),
      hop_latency_ns_(c.hop_latency_ns) {
    if (channels % ports_per_switch_ != 0)
        throw InputError(fmt::format("HBM switch: {} ports per mini-switch do not divide {} pseudo-channels",
                                     ports_per_switch_, channels));
}

int HbmSwitch::hops(int port, int channel) const { return std::abs(switch_of(port) - switch_of(channel)); }

std::vector<double> HbmSwitch::shares(const std::vector<Flow>& flows) const {
    // Flows on each lateral segment (between switch s and s + 1), per direction of the data:
    // [segment][0] towards higher switch numbers, [segment][1] towards lower.
    std::vector<std::array<int, 2>> load(std::max(0, switches_ - 1), {0, 0});
    auto walk = [&](const Flow& f, auto&& visit) {
        // Data goes from the channel to the port on a read, from the port to the channel on a write.
        const int from = f.write ? switch_of(f.port) : switch_of(f.channel);
        const int to = f.write ? switch_of(f.channel) : switch_of(f.port);
        for (int s = std::min(from, to); s < std::max(from, to); ++s) visit(s, to > from ? 0 : 1);
    };
    for (const Flow& f : flows) walk(f, [&](int s, int d) { ++load[s][d]; });
    std::vector<double> out;
    out.reserve(flows.size());
    for (const Flow& f : flows) {
        double share = 1.0;
        walk(f, [&](int s, int d) { share = std::min(share, double(links_) / load[s][d]); });
        out.push_back(share);
    }
    return out;
}

HbmSwitch::OffsetPattern HbmSwitch::read_with_offset(int ports, int offset) const {
    OffsetPattern o;
    std::vector<Flow> flows;
    for (int p = 0; p < ports; ++p) {
        flows.push_back({p, (p + offset) % channels_, false});
        o.latency_ns.push_back(latency_ns(p, flows.back().channel));
        o.max_hops = std::max(o.max_hops, hops(p, flows.back().channel));
    }
    o.share = shares(flows);
    for (double s : o.share) o.min_share = std::min(o.min_share, s);
    return o;
}

}  // namespace lmsim::mem
