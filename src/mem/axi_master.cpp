#include "mem/axi_master.h"

#include <algorithm>
#include <memory>

namespace lmsim::mem {

namespace {
constexpr uint64_t kAxiBoundary = 4096;  // AXI: a burst must not cross a 4 KB boundary
}

std::vector<AxiBurst> split_axi_bursts(uint64_t address, uint64_t length, unsigned beat_bytes, unsigned max_beats) {
    std::vector<AxiBurst> out;
    const uint64_t max_bytes = static_cast<uint64_t>(beat_bytes) * max_beats;
    uint64_t a = address, end = address + length;
    while (a < end) {
        const uint64_t to_boundary = kAxiBoundary - a % kAxiBoundary;
        const uint64_t n = std::min({end - a, max_bytes, to_boundary});
        out.push_back({a, static_cast<unsigned>(n)});
        a += n;
    }
    return out;
}

AxiMaster::AxiMaster(sc_core::sc_module_name name, unsigned beat_bytes, unsigned burst_beats, int outstanding,
                     Coding coding)
    : sc_core::sc_module(name), socket("socket"), coding_(coding), beat_bytes_(beat_bytes), burst_beats_(burst_beats),
      scratch_(static_cast<std::size_t>(beat_bytes) * burst_beats) {
    socket.register_nb_transport_bw(this, &AxiMaster::nb_transport_bw);
    for (int dir = 0; dir < 2; ++dir)
        for (int i = 0; i < outstanding; ++i)
            sc_core::sc_spawn([this, dir] { slot(dir == 1); }, sc_core::sc_gen_unique_name(dir ? "wr_slot" : "rd_slot"));
}

void AxiMaster::read(uint64_t address, uint64_t length, sc_core::sc_event* done) { enqueue(false, address, length, done); }
void AxiMaster::write(uint64_t address, uint64_t length, sc_core::sc_event* done) { enqueue(true, address, length, done); }

void AxiMaster::enqueue(bool write, uint64_t address, uint64_t length, sc_core::sc_event* done) {
    auto bursts = split_axi_bursts(address, length, beat_bytes_, burst_beats_);
    auto remaining = std::make_shared<int>(static_cast<int>(bursts.size()));
    for (const auto& b : bursts) queue_[write].push_back({b, done, remaining});
    work_[write].notify(sc_core::SC_ZERO_TIME);
}

void AxiMaster::slot(bool write) {
    const int dir = write ? 1 : 0;
    tlm::tlm_generic_payload t;
    while (true) {
        while (queue_[dir].empty()) wait(work_[dir]);
        Job job = queue_[dir].front();
        queue_[dir].pop_front();
        max_in_flight_[dir] = std::max(max_in_flight_[dir], ++in_flight_[dir]);
        t.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        t.set_address(job.burst.address);
        t.set_data_ptr(scratch_.data());  // timing-only traffic: the payload bytes are not kept
        t.set_data_length(job.burst.bytes);
        t.set_streaming_width(job.burst.bytes);
        t.set_byte_enable_ptr(nullptr);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        const sc_core::sc_time requested = sc_core::sc_time_stamp();
        if (coding_ == Coding::LooselyTimed) {
            socket->b_transport(t, delay);
            wait(delay);
        } else {
            sc_core::sc_event response;
            awaiting_response_[&t] = &response;
            tlm::tlm_phase phase = tlm::BEGIN_REQ;
            const tlm::tlm_sync_enum s = socket->nb_transport_fw(t, phase, delay);
            if (s == tlm::TLM_COMPLETED) wait(delay);  // the target answered at once
            else wait(response);                      // BEGIN_RESP on the backward path
            awaiting_response_.erase(&t);
        }
        ++bursts_;
        latencies_.push_back(sc_core::sc_time_stamp() - requested);
        --in_flight_[dir];
        if (--*job.remaining == 0) {
            ++transfers_done_;
            transfer_done_.notify(sc_core::SC_ZERO_TIME);
            if (job.done) job.done->notify(sc_core::SC_ZERO_TIME);
        }
    }
}

tlm::tlm_sync_enum AxiMaster::nb_transport_bw(tlm::tlm_generic_payload& t, tlm::tlm_phase& phase,
                                              sc_core::sc_time& delay) {
    if (phase == tlm::BEGIN_RESP) {
        auto it = awaiting_response_.find(&t);
        if (it != awaiting_response_.end()) it->second->notify(delay);
        phase = tlm::END_RESP;
        return tlm::TLM_COMPLETED;
    }
    return tlm::TLM_ACCEPTED;  // END_REQ: the request was taken
}

}  // namespace lmsim::mem
