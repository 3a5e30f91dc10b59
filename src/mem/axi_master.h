// lmsim: an AXI master as a TLM-2.0 initiator (base protocol, blocking transport). A request
// (address, length, read or write) is cut into AXI bursts of at most `burst_beats` beats that
// never cross a 4 KB boundary (AXI rule); up to `outstanding` bursts per direction are in flight
// at once (one SC_THREAD per slot, each waiting out its transaction's annotated delay), and the
// read and write channels are independent (separate slots).
//
// Two codings of the base protocol: loosely timed (b_transport, each slot waits out the
// annotated delay) and approximately timed (nb_transport: BEGIN_REQ forward; the target's
// BEGIN_RESP on the backward path ends the burst, answered with END_RESP / TLM_COMPLETED), the
// coding DRAMSys's targets speak. Against DramChannelTarget both give the same completion times
// with one burst in flight; with several, the order in which concurrent requests reach the
// controller may differ (the target socket's b/nb conversion runs one process per request).
#pragma once
#ifndef SC_INCLUDE_DYNAMIC_PROCESSES
#define SC_INCLUDE_DYNAMIC_PROCESSES  // sc_spawn for the outstanding-request slots
#endif
#include <deque>
#include <map>
#include <memory>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <vector>

namespace lmsim::mem {

struct AxiBurst {
    uint64_t address;
    unsigned bytes;
};

// Splits [address, address + length) into AXI bursts: at most max_beats x beat_bytes each, none
// crossing a 4 KB boundary.
std::vector<AxiBurst> split_axi_bursts(uint64_t address, uint64_t length, unsigned beat_bytes, unsigned max_beats);

class AxiMaster : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<AxiMaster> socket;

    enum class Coding { LooselyTimed, ApproximatelyTimed };
    AxiMaster(sc_core::sc_module_name name, unsigned beat_bytes, unsigned burst_beats, int outstanding,
              Coding coding = Coding::LooselyTimed);

    // Queues a transfer; `done` is notified when all its bursts have completed.
    void read(uint64_t address, uint64_t length, sc_core::sc_event* done = nullptr);
    void write(uint64_t address, uint64_t length, sc_core::sc_event* done = nullptr);

    long bursts_issued() const { return bursts_; }
    // Transfers (read or write calls) whose bursts have all completed, and an event notified
    // (one delta later) each time one does.
    long transfers_done() const { return transfers_done_; }
    const sc_core::sc_event& transfer_done_event() const { return transfer_done_; }
    // Each burst's time from its request to its completion, in completion order.
    const std::vector<sc_core::sc_time>& burst_latencies() const { return latencies_; }
    int max_in_flight(bool write) const { return write ? max_in_flight_[1] : max_in_flight_[0]; }

private:
    struct Job {
        AxiBurst burst;
        sc_core::sc_event* done;
        std::shared_ptr<int> remaining;  // bursts of the transfer still in flight
    };
    void enqueue(bool write, uint64_t address, uint64_t length, sc_core::sc_event* done);
    void slot(bool write);
    tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& t, tlm::tlm_phase& phase, sc_core::sc_time& delay);
    Coding coding_;
    std::map<tlm::tlm_generic_payload*, sc_core::sc_event*> awaiting_response_;
    unsigned beat_bytes_, burst_beats_;
    std::deque<Job> queue_[2];
    sc_core::sc_event work_[2];
    int in_flight_[2] = {0, 0};
    int max_in_flight_[2] = {0, 0};
    long bursts_ = 0, transfers_done_ = 0;
    sc_core::sc_event transfer_done_;
    std::vector<sc_core::sc_time> latencies_;
    std::vector<uint8_t> scratch_;
};

}  // namespace lmsim::mem
