#include "mem/memory_interconnect.h"

#include <algorithm>

#include "mem/hbm_switch.h"

namespace lmsim::mem {

namespace {
double ns_of(const sc_core::sc_time& t) { return t.to_seconds() * 1e9; }
}  // namespace

MemoryInterconnect::MemoryInterconnect(sc_core::sc_module_name name, const MemorySystemConfig& m, int ports, int pc_offset)
    : sc_core::sc_module(name),
      from_masters("from_masters"),
      hbm_(m.kind == "hbm2"),
      pc_offset_(pc_offset),
      channels_(m.channels),
      fixed_latency_ns_(m.noc_latency_ns + m.controller_latency_ns),
      ns_per_byte_(1000.0 / m.axi_clock_mhz / (m.axi_port_width_bits / 8.0)),
      switch_ns_(ports, 0.0),
      share_(ports, 1.0),
      ports_(ports),
      noc_{m.noc_bandwidth_gbps > 0 ? 1.0 / m.noc_bandwidth_gbps : 0} {
    from_masters.register_b_transport(this, &MemoryInterconnect::b_transport);
    for (int c = 0; c < channels_; ++c)
        to_channels.push_back(std::make_unique<ChannelSocket>(sc_core::sc_gen_unique_name("to_channel")));
    if (hbm_) {
        const HbmSwitch::OffsetPattern paths = HbmSwitch(m.crossbar, channels_).read_with_offset(ports, pc_offset_);
        switch_ns_ = paths.latency_ns;
        share_ = paths.share;
    }
    sub_.set_extension(&timing_);
}

MemoryInterconnect::~MemoryInterconnect() { sub_.clear_extension(&timing_); }

void MemoryInterconnect::b_transport(int port, tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    const uint64_t length = t.get_data_length();
    const bool write = t.get_command() == tlm::TLM_WRITE_COMMAND;
    const double lat = fixed_latency_ns_ + switch_ns_[port];
    const double beats_ns = double(length) * ns_per_byte_ / share_[port];
    // A write's data crosses the port first (AxiPortTiming).
    sc_core::sc_time at = now + delay;
    if (write) at = sc_core::sc_time(ports_[port].write_data(ns_of(at), lat, beats_ns), sc_core::SC_NS);
    if (hbm_) ranges_ = {{(port + pc_offset_) % channels_, t.get_address(), length}};
    else interleave_ranges(t.get_address(), length, channels_, ranges_);
    double first = 1e300, dram_done = ns_of(at);
    t.set_response_status(tlm::TLM_OK_RESPONSE);
    for (const ChannelRange& r : ranges_) {
        sub_.set_command(t.get_command());
        sub_.set_address(r.local);
        sub_.set_data_ptr(t.get_data_ptr());  // timing only: the channel targets keep no data here
        sub_.set_data_length(static_cast<unsigned>(r.bytes));
        sub_.set_streaming_width(static_cast<unsigned>(r.bytes));
        sub_.set_byte_enable_ptr(nullptr);
        sub_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        timing_.valid = false;
        sc_core::sc_time d = at - now;
        (*to_channels[r.channel])->b_transport(sub_, d);
        if (sub_.is_response_error()) t.set_response_status(sub_.get_response_status());
        dram_done = std::max(dram_done, ns_of(now + d));
        first = std::min(first, timing_.valid ? ns_of(timing_.first_data) : ns_of(now + d));
    }
    // The NoC's shared rate holds the data back (SharedBandwidth).
    dram_done = std::max(dram_done, noc_.pass(ns_of(now + delay), double(length)));
    const double done = write ? AxiPortTiming::write_response(dram_done, lat) : ports_[port].read(first, dram_done, lat, beats_ns);
    delay = sc_core::sc_time(done, sc_core::SC_NS) - now;
}

}  // namespace lmsim::mem
