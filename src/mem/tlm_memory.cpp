#include "mem/tlm_memory.h"

#include <cmath>
#include <cstring>

namespace lmsim::mem {

DramChannelTarget::DramChannelTarget(sc_core::sc_module_name name, const DramSpec& spec, AddressMapping mapping,
                                     int lookahead_window, bool keep_data)
    : sc_core::sc_module(name), socket("socket"), controller_(spec, std::move(mapping)), window_(lookahead_window),
      keep_data_(keep_data) {
    socket.register_b_transport(this, &DramChannelTarget::b_transport);
}

uint8_t* DramChannelTarget::backing(uint64_t address) {
    auto& page = pages_[address / kPageBytes];
    if (page.empty()) page.assign(kPageBytes, 0);
    return &page[address % kPageBytes];
}

void DramChannelTarget::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    const tlm::tlm_command cmd = trans.get_command();
    if (cmd != tlm::TLM_READ_COMMAND && cmd != tlm::TLM_WRITE_COMMAND) {
        trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return;
    }
    if (trans.get_byte_enable_ptr() || trans.get_streaming_width() < trans.get_data_length()) {
        trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        return;
    }
    const uint64_t address = trans.get_address();
    const unsigned length = trans.get_data_length();
    const DramSpec& spec = controller_.spec();
    const double tck_ns = spec.t.tck_ns;
    const unsigned access = static_cast<unsigned>(spec.org.bytes_per_access());

    // Timing: every burst-sized access the transaction touches.
    // The next command-clock edge; the tolerance absorbs sc_time's picosecond rounding of cycle times.
    const long arrival = static_cast<long>(std::ceil((sc_core::sc_time_stamp() + delay).to_seconds() * 1e9 / tck_ns - 1e-3));
    std::vector<DramController::Request> reqs;
    for (uint64_t a = address / access * access; a < address + length; a += access)
        reqs.push_back({a, cmd == tlm::TLM_WRITE_COMMAND, arrival});
    std::vector<long> done = controller_.serve(reqs, window_);
    long last = arrival, first = -1;
    for (long d : done) {
        last = std::max(last, d);
        first = first < 0 ? d : std::min(first, d);
    }
    if (DramTimingExtension* ext = trans.get_extension<DramTimingExtension>()) {
        ext->first_data = sc_core::sc_time(std::max(first, arrival) * tck_ns, sc_core::SC_NS);
        ext->valid = true;
    }

    // Function: copy through the sparse store, page by page.
    uint8_t* data = trans.get_data_ptr();
    for (unsigned off = 0; keep_data_ && off < length;) {
        const uint64_t a = address + off;
        const unsigned chunk = std::min<unsigned>(length - off, static_cast<unsigned>(kPageBytes - a % kPageBytes));
        if (cmd == tlm::TLM_WRITE_COMMAND) std::memcpy(backing(a), data + off, chunk);
        else std::memcpy(data + off, backing(a), chunk);
        off += chunk;
    }
    delay = sc_core::sc_time(last * tck_ns, sc_core::SC_NS) - sc_core::sc_time_stamp();
    ++transactions_;
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace lmsim::mem
