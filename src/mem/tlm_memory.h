// lmsim: a DRAM channel as a TLM-2.0 target (base protocol). The accelerator's AXI masters are
// TLM-2.0 initiators; an external TLM memory model (DRAMSys, say) can take this target's place.
//
// Protocol use: blocking transport (b_transport) in the loosely-timed coding style, with exact
// timing annotation: the target serves the transaction's DRAM bursts on the command-level
// controller, starting no earlier than sc_time_stamp() + delay, and returns in `delay` the time
// until the last data beat. No temporal decoupling is applied inside the target, so the
// annotated completion times are the command model's. Reads return what was written (a sparse
// backing store). Approximately-timed initiators (nb_transport, BEGIN_REQ ... BEGIN_RESP) are
// served through simple_target_socket's b/nb conversion: the request is accepted at once
// (END_REQ) and BEGIN_RESP comes at the same completion time (tests/test_axi_master.cpp).
// An initiator that attaches a DramTimingExtension also learns the time of the first data.
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>
#include <unordered_map>
#include <vector>

#include "mem/dram_controller.h"

namespace lmsim::mem {

// An optional extension an initiator may attach to learn when the first data of its transaction
// moves (the base protocol's annotation gives only the end). DramChannelTarget fills it in; a
// target that does not know it leaves it untouched (`valid` stays false).
struct DramTimingExtension : tlm::tlm_extension<DramTimingExtension> {
    sc_core::sc_time first_data = sc_core::SC_ZERO_TIME;  // absolute simulation time
    bool valid = false;
    tlm::tlm_extension_base* clone() const override { return new DramTimingExtension(*this); }
    void copy_from(const tlm::tlm_extension_base& e) override { *this = static_cast<const DramTimingExtension&>(e); }
};

class DramChannelTarget : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<DramChannelTarget> socket;

    // keep_data = false: timing only, the payload's bytes are neither stored nor returned (for
    // traffic whose data lives elsewhere, as the accelerator's weight stream).
    DramChannelTarget(sc_core::sc_module_name name, const DramSpec& spec, AddressMapping mapping = {},
                      int lookahead_window = kLookaheadWindow, bool keep_data = true);

    const DramController& controller() const { return controller_; }
    DramController& controller() { return controller_; }
    long transactions() const { return transactions_; }

private:
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    uint8_t* backing(uint64_t address);
    DramController controller_;
    int window_;
    bool keep_data_;
    long transactions_ = 0;
    static constexpr uint64_t kPageBytes = 4096;
    std::unordered_map<uint64_t, std::vector<uint8_t>> pages_;
};

}  // namespace lmsim::mem
