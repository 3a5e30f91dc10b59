#include "hw/memory_port.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "mem/dram_energy.h"
#include "mem/membench.h"
#include "mem/stream_model.h"

namespace lmsim::hw {

namespace {
// Request-queue lookahead of the controllers (mem/dram_controller.h), as in membench.
constexpr int kControllerWindow = 32;
// Stream calibration: DRAM accesses simulated at command level per direction (the stream model
// stops early once the rate has converged).
constexpr long kCalibrationAccesses = 1L << 20;
// Non-HBM memories interleave consecutive 256-byte blocks over their channels [A], as membench.
constexpr uint64_t kInterleaveBytes = 256;
// Stream calibration of the latency after a gap: loops replayed at command level.
constexpr int kCalibrationLoops = 257;
}  // namespace

MemoryPort::MemoryPort(const PlatformConfig& platform, const DesignConfig& design, int beat_bytes)
    : fidelity_(platform.memory.fidelity),
      preset_(mem::default_preset(platform.memory)),
      kind_(platform.memory.kind),
      cycle_ns_(1000.0 / design.clock_mhz),
      beat_bytes_(beat_bytes),
      masters_(design.axi.masters),
      noc_latency_ns_(platform.memory.noc_latency_ns),
      noc_ns_per_byte_(platform.memory.noc_bandwidth_gbps > 0 ? 1.0 / platform.memory.noc_bandwidth_gbps : 0),
      axi_ns_per_byte_(cycle_ns_ / beat_bytes) {
    const mem::DramSpec spec = mem::dram_preset(preset_);
    access_bytes_ = spec.org.bytes_per_access();
    refresh_interval_ns_ = spec.t.refi * spec.t.tck_ns;
    refresh_ns_ = spec.t.rfc * spec.t.tck_ns;
    next_refresh_ns_ = refresh_interval_ns_;
    // HBM2: each AXI master reaches its own pseudo-channel; other memories share all channels.
    const int n = kind_ == "hbm2" ? masters_ : platform.memory.channels;
    for (int c = 0; c < n; ++c) channels_.emplace_back(spec);
    if (fidelity_ == "stream") {
        for (int w = 0; w < 2; ++w) {
            const mem::StreamEstimate e =
                mem::estimate_sequential_stream(spec, {}, 0, kCalibrationAccesses, w == 1, kControllerWindow);
            const double per_channel = e.end_cycle * spec.t.tck_ns / (double(kCalibrationAccesses) * spec.org.bytes_per_access());
            // The converged rate includes refresh; the closed form below places refreshes
            // explicitly, so it takes the rate between refreshes.
            const double refresh_share = double(spec.t.rfc) / double(spec.t.refi);
            ns_per_byte_[w] = per_channel / n * (1.0 - refresh_share);
        }
        // Latency of a request after a gap in the stream, measured at command level on the
        // producer's own pattern: loops of loop_bytes issued one after the other's end (the
        // median, so that refreshes, placed explicitly, are not counted twice).
        const int64_t loop_bytes = int64_t{design.axi.burst_beats} * beat_bytes;
        for (int w = 0; w < 2; ++w) {
            std::vector<double> latency;
            double t = 0;
            for (int k = 0; k < kCalibrationLoops; ++k) {
                const auto [first, last] = command_level(static_cast<uint64_t>(k * loop_bytes), loop_bytes, t, w == 1);
                latency.push_back(first - t);
                t = std::max(last, t + loop_bytes * axi_ns_per_byte_);
            }
            std::nth_element(latency.begin(), latency.begin() + latency.size() / 2, latency.end());
            idle_latency_ns_[w] = latency[latency.size() / 2];
            channels_.assign(n, mem::DramController(spec));  // start the run on fresh channels
        }
        stats_ = {};
    }
}

MemoryPort::~MemoryPort() = default;

MemoryPort::Energy MemoryPort::energy(double elapsed_ns) const {
    const mem::DramSpec& spec = channels_.front().spec();
    const mem::DramEnergyTable table = mem::energy_table(spec);
    Energy e;
    e.source = table.source;
    e.unknown = table.unknown;
    auto add = [&](const mem::ChannelStats& s) {
        const mem::DramEnergy d = mem::channel_energy(table, s, elapsed_ns);
        e.act_pre_pj += d.act_pre_pj;
        e.rd_pj += d.rd_pj;
        e.wr_pj += d.wr_pj;
        e.ref_pj += d.ref_pj;
        e.background_pj += d.background_pj;
    };
    if (fidelity_ == "command") {
        for (const auto& c : channels_) add(c.stats());
    } else {
        const int n = static_cast<int>(channels_.size());
        const double access = spec.org.bytes_per_access();
        mem::ChannelStats s;
        s.reads = static_cast<long>(stats_.read_bytes / access / n);
        s.writes = static_cast<long>(stats_.write_bytes / access / n);
        s.activates = s.precharges = static_cast<long>((stats_.read_bytes + stats_.write_bytes) / double(spec.org.row_bytes()) / n);
        s.refreshes = static_cast<long>(elapsed_ns / refresh_interval_ns_);
        for (int c = 0; c < n; ++c) add(s);
        e.source += " (stream fidelity: command counts implied by the bytes moved)";
    }
    e.total_pj = e.act_pre_pj + e.rd_pj + e.wr_pj + e.ref_pj + e.background_pj;
    return e;
}

double MemoryPort::peak_gbps() const {
    const mem::DramSpec spec = mem::dram_preset(preset_);
    double p = std::min(spec.peak_gbps() * channels_.size(), 1.0 / axi_ns_per_byte_);
    if (noc_ns_per_byte_ > 0) p = std::min(p, 1.0 / noc_ns_per_byte_);
    return p;
}

const MemoryPortStats& MemoryPort::stats() const {
    stats_.dram = {};
    for (const auto& c : channels_) {
        const mem::ChannelStats& s = c.stats();
        stats_.dram.reads += s.reads;
        stats_.dram.writes += s.writes;
        stats_.dram.activates += s.activates;
        stats_.dram.precharges += s.precharges;
        stats_.dram.refreshes += s.refreshes;
        stats_.dram.row_hits += s.row_hits;
        stats_.dram.row_misses += s.row_misses;
        stats_.dram.row_conflicts += s.row_conflicts;
    }
    return stats_;
}

std::pair<double, double> MemoryPort::command_level(uint64_t address, int64_t bytes, double issue_ns, bool write) {
    const mem::DramSpec& spec = channels_.front().spec();
    const int access = spec.org.bytes_per_access();
    const long arrival = static_cast<long>(std::ceil(issue_ns / spec.t.tck_ns));
    const int n = static_cast<int>(channels_.size());
    std::vector<std::vector<mem::DramController::Request>>& per = scratch_;  // reused: no allocation per burst
    per.resize(n);
    for (auto& v : per) v.clear();
    if (kind_ == "hbm2") {
        // Every master moves its share of each beat to its own pseudo-channel.
        const int64_t share = std::max<int64_t>(access, bytes / n);
        const uint64_t local = address / static_cast<uint64_t>(n);
        for (int c = 0; c < n; ++c)
            for (int64_t off = 0; off < share; off += access) per[c].push_back({local + off, write, arrival});
    } else {
        for (int64_t off = 0; off < bytes; off += access) {
            const uint64_t a = address + static_cast<uint64_t>(off);
            const int c = static_cast<int>((a / kInterleaveBytes) % n);
            const uint64_t local = (a / kInterleaveBytes / n) * kInterleaveBytes + a % kInterleaveBytes;
            per[c].push_back({local, write, arrival});
        }
    }
    long done = arrival, first = -1;
    for (int c = 0; c < n; ++c) {
        if (per[c].empty()) continue;
        stats_.dram_accesses += static_cast<int64_t>(per[c].size());
        const std::vector<long> t = channels_[c].serve(per[c], kControllerWindow);
        for (long x : t) {
            done = std::max(done, x);
            first = first < 0 ? x : std::min(first, x);
        }
    }
    return {first * spec.t.tck_ns, done * spec.t.tck_ns};
}

BurstCompletion MemoryPort::burst(uint64_t address, int beats, Cycle issue, bool write) {
    const int64_t bytes = int64_t{beats} * beat_bytes_;
    const double issue_ns = static_cast<double>(issue) * cycle_ns_;
    double first_ns, last_ns;
    if (fidelity_ == "stream") {
        // All-bank refresh every tREFI, tRFC long, on every channel at once (as the command-level
        // controllers do): a burst that would start during one waits for its end; one that
        // overlaps the start of one is stretched by it.
        // The data of a burst follows the previous burst's on the bus without a gap, or starts
        // one idle latency after the request (that latency includes the first access's own
        // transfer, t_access).
        const double t_access = access_bytes_ * static_cast<double>(channels_.size()) * ns_per_byte_[write];
        double start_ns = std::max(issue_ns + idle_latency_ns_[write] - t_access, bus_free_ns_);
        while (start_ns >= next_refresh_ns_ + refresh_ns_) next_refresh_ns_ += refresh_interval_ns_;
        if (start_ns >= next_refresh_ns_) {
            start_ns = next_refresh_ns_ + refresh_ns_;
            next_refresh_ns_ += refresh_interval_ns_;
        }
        first_ns = start_ns + t_access;
        last_ns = start_ns + bytes * ns_per_byte_[write];
        if (last_ns > next_refresh_ns_) {
            first_ns = first_ns > next_refresh_ns_ ? first_ns + refresh_ns_ : first_ns;
            last_ns += refresh_ns_;
            next_refresh_ns_ += refresh_interval_ns_;
        }
        bus_free_ns_ = last_ns;
    } else {
        std::tie(first_ns, last_ns) = command_level(address, bytes, issue_ns, write);
    }
    if (noc_ns_per_byte_ > 0) {
        noc_free_ns_ = std::max(noc_free_ns_, issue_ns) + bytes * noc_ns_per_byte_;
        last_ns = std::max(last_ns, noc_free_ns_);
    }
    first_ns += noc_latency_ns_;
    last_ns += noc_latency_ns_;
    if (write) {
        stats_.write_bytes += bytes;
        ++stats_.write_bursts;
    } else {
        stats_.read_bytes += bytes;
        ++stats_.read_bursts;
    }
    auto cycles = [&](double ns) { return std::max(issue + 1, static_cast<Cycle>(std::ceil(ns / cycle_ns_ - 1e-9))); };
    BurstCompletion c{cycles(first_ns), cycles(last_ns)};
    if (write) c.first = c.last;
    return c;
}

BurstCompletion MemoryPort::read_burst(uint64_t address, int beats, Cycle issue) { return burst(address, beats, issue, false); }
BurstCompletion MemoryPort::write_burst(uint64_t address, int beats, Cycle issue) { return burst(address, beats, issue, true); }

}  // namespace lmsim::hw
