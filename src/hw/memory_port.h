// lmsim: the accelerator's view of off-chip memory: its AXI master(s), the Versal NoC where
// there is one, and the DRAM channels behind them. Given an AXI burst and the cycle it is issued
// (accelerator clock), it returns the cycle the burst completes. Three fidelities
// (memory.fidelity): "command" serves every DRAM access through the command-level controllers
// (mem/dram_controller.h); "tlm" sends the same traffic as TLM-2.0 base-protocol transactions
// (b_transport, loosely timed, one per channel a burst touches) from one initiator socket per
// channel to that channel's DramChannelTarget, which an external TLM-2.0 model can replace (the
// same times as "command"); "stream" uses a closed form per channel calibrated once per run from
// the command-level model (sustained rate, latency by row state, refreshes every tREFI; see
// stream_level and docs/memory.md).
//
// The TLM path needs every request at or after the current simulation time (a loosely-timed
// initiator annotates a delay >= 0). The block runners guarantee it: the producer issues each
// burst as soon as its bounds are known, and a woken block never computes behind the time it
// was woken at (accelerator.cpp). A request in the past is reported as an internal error.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/hardware_config.h"
#include "hw/dataflow.h"
#include "mem/axi_port_timing.h"
#include "mem/dram_controller.h"

namespace lmsim::hw {

struct MemoryPortStats {
    int64_t read_bytes = 0, write_bytes = 0, read_bursts = 0, write_bursts = 0;
    // Bandwidth over time: the bytes of the bursts whose last beat (or write response) falls in
    // each window of 2^kBandwidthWindowShift accelerator cycles.
    static constexpr int kBandwidthWindowShift = 12;
    std::vector<int64_t> bytes_per_window;
    mem::ChannelStats dram;  // summed over channels (command fidelity only)
};

// One burst as the producer asked for it (for replaying a run's traffic: lmsim bench memory).
struct BurstRequest {
    uint64_t address;
    int beats;
    Cycle issue;
    bool write;
};

class MemoryPort : public BurstTiming {
public:
    // beat_bytes: bytes of one producer beat over all masters together.
    MemoryPort(const PlatformConfig& platform, const DesignConfig& design, int beat_bytes);
    ~MemoryPort() override;

    BurstCompletion read_burst(uint64_t address, int beats, Cycle issue) override;
    BurstCompletion write_burst(uint64_t address, int beats, Cycle issue) override;

    const std::string& fidelity() const { return fidelity_; }
    const std::string& preset() const { return preset_; }
    int dram_channels() const { return static_cast<int>(channels_.size()); }
    double peak_gbps() const;  // min(DRAM, AXI, NoC)
    // stream fidelity: latency of an access after an idle gap; row_state 0 hit, 1 miss, 2 conflict
    double row_latency_ns(bool write, int row_state) const { return latency_ns_[write][row_state]; }
    const MemoryPortStats& stats() const;
    // Command and tlm fidelity: every DRAM command checked by an independent ProtocolChecker as
    // the run goes (a violation throws RangeError naming the rule); finish_checking() returns how
    // many commands were checked.
    void check_protocol();
    long finish_checking();
    // --trace: each DRAM channel's busy spans (ns; adjacent spans of one direction merged) and
    // refreshes. Command fidelity: from the first to the last access's data end of each burst's
    // share on the channel, and every REF the controller issued; tlm fidelity: the REFs only (its
    // channels answer through the sockets; no spans yet); stream fidelity: the closed form's
    // data-bus spans and its refresh every tREFI (stream_level).
    struct ChannelSpan {
        double begin_ns, end_ns;
        bool write;
    };
    // Spans of one direction closer than merge_gap_ns (at least touching) are one span.
    void trace_channels(bool on, double merge_gap_ns = 0);
    const std::vector<std::vector<ChannelSpan>>& channel_spans() const { return channel_spans_; }
    std::vector<double> refresh_starts_ns(int channel, double until_ns) const;
    double refresh_duration_ns() const { return refresh_ns_; }
    // Every burst asked for, in call order, when recording is on.
    void record_requests(bool on) { recording_ = on; }
    const std::vector<BurstRequest>& requests() const { return requests_; }
    std::vector<BurstRequest> take_requests() { return std::move(requests_); }
    // DRAM energy over `elapsed_ns` (mem/dram_energy.h): from the controllers' command counts at
    // command fidelity; at stream fidelity from counts implied by the bytes moved (one access per
    // burst-size chunk, one ACT/PRE per row of a sequential stream, one REF per tREFI).
    struct Energy {
        double total_pj = 0, act_pre_pj = 0, rd_pj = 0, wr_pj = 0, ref_pj = 0, background_pj = 0;
        std::vector<double> per_channel_pj;  // each DRAM channel's total
        std::string source, unknown;
    };
    Energy energy(double elapsed_ns) const;

private:
    BurstCompletion burst(uint64_t address, int beats, Cycle issue, bool write);
    // DRAM completion of the first and of the last access of a burst, ns.
    std::pair<double, double> command_level(uint64_t address, int64_t bytes, double issue_ns, bool write);
    std::pair<double, double> stream_level(uint64_t address, int64_t bytes, double issue_ns, bool write);
    std::pair<double, double> tlm_level(uint64_t address, int64_t bytes, double issue_ns, bool write);
    const mem::DramController& controller(int c) const;
    mem::DramController& controller(int c);
    // The burst's bytes on each channel: one contiguous range of that channel's addresses.
    void channel_ranges(uint64_t address, int64_t bytes, std::vector<mem::ChannelRange>& out) const;

    std::string fidelity_, preset_, kind_;
    bool hbm_ = false, stream_ = false;  // kind_ and fidelity_, tested per burst
    double cycle_ns_;
    int beat_bytes_, masters_;
    double noc_latency_ns_;
    mem::SharedBandwidth noc_;
    double axi_ns_per_byte_;
    std::vector<mem::DramController> channels_;
    double ns_per_byte_[2] = {0, 0};  // one channel's data bus, between refreshes
    std::vector<double> channel_free_ns_;  // stream fidelity: each channel's data bus
    enum RowState { kRowHit, kRowMiss, kRowConflict };
    double latency_ns_[2][3] = {};             // [write][row state]
    std::vector<std::vector<int>> open_row_;   // [channel][bank], -1 closed
    std::vector<long> channel_refresh_epoch_;
    double refresh_interval_ns_ = 0, refresh_ns_ = 0;
    double access_bytes_ = 0;
    mutable MemoryPortStats stats_;
    std::vector<std::vector<mem::DramController::Request>> scratch_;
    uint64_t same_row_span_ = 0;  // stream fidelity: see DramController::same_row_span_bytes
    std::vector<mem::ChannelRange> ranges_;
    struct TlmPath;  // fidelity "tlm": the initiator sockets and the channel targets
    std::unique_ptr<TlmPath> tlm_;
    bool recording_ = false;
    std::vector<BurstRequest> requests_;
    bool tracing_ = false;
    double trace_merge_ns_ = 0.5;
    std::vector<std::vector<ChannelSpan>> channel_spans_;
    void trace_span(int channel, double begin_ns, double end_ns, bool write);
};

// Replays recorded bursts open loop (each at its recorded issue cycle) on `port`; returns each
// burst's completion. Used to time the fidelities on a real run's traffic (lmsim bench memory).
std::vector<BurstCompletion> replay_requests(MemoryPort& port, const std::vector<BurstRequest>& requests);

}  // namespace lmsim::hw
