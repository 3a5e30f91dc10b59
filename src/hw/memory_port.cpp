#include "hw/memory_port.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <fmt/format.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <stdexcept>

#include "common/error.h"
#include "mem/axi_port_timing.h"
#include "mem/dram_energy.h"
#include "mem/tlm_memory.h"
#include "mem/membench.h"
#include "mem/stream_model.h"

namespace lmsim::hw {

namespace {
// Stream calibration: DRAM accesses simulated at command level per direction (the stream model
// stops early once the rate has converged).
constexpr long kCalibrationAccesses = 1L << 20;

}  // namespace

// fidelity "tlm": one TLM-2.0 initiator socket per DRAM channel, each bound to that channel's
// DramChannelTarget. Transactions are timing only (the weights' values live in the functional
// model) and carry a DramTimingExtension for the first data's time.
struct MemoryPort::TlmPath : sc_core::sc_module {
    using Socket = tlm_utils::simple_initiator_socket<TlmPath>;
    std::vector<std::unique_ptr<Socket>> sockets;
    std::vector<std::unique_ptr<mem::DramChannelTarget>> targets;
    tlm::tlm_generic_payload payload;
    mem::DramTimingExtension timing;
    std::vector<uint8_t> scratch;
    TlmPath(sc_core::sc_module_name name, const mem::DramSpec& spec, const mem::AddressMapping& mapping, int channels)
        : sc_core::sc_module(name) {
        for (int c = 0; c < channels; ++c) {
            sockets.push_back(std::make_unique<Socket>(sc_core::sc_gen_unique_name("to_channel")));
            targets.push_back(std::make_unique<mem::DramChannelTarget>(sc_core::sc_gen_unique_name("dram_channel"), spec,
                                                                       mapping, mem::kLookaheadWindow, false));
            sockets.back()->bind(targets.back()->socket);
        }
        payload.set_extension(&timing);
    }
    ~TlmPath() override { payload.clear_extension(&timing); }
};

MemoryPort::MemoryPort(const PlatformConfig& platform, const DesignConfig& design, int beat_bytes)
    : fidelity_(platform.memory.fidelity),
      preset_(mem::default_preset(platform.memory)),
      kind_(platform.memory.kind),
      cycle_ns_(1000.0 / design.clock_mhz),
      beat_bytes_(beat_bytes),
      masters_(design.axi.masters),
      noc_latency_ns_(platform.memory.noc_latency_ns + platform.memory.controller_latency_ns),
      noc_{platform.memory.noc_bandwidth_gbps > 0 ? 1.0 / platform.memory.noc_bandwidth_gbps : 0},
      axi_ns_per_byte_(cycle_ns_ / beat_bytes) {
    const mem::DramSpec spec = mem::dram_preset(preset_);
    access_bytes_ = spec.org.bytes_per_access();
    refresh_interval_ns_ = spec.t.refi * spec.t.tck_ns;
    refresh_ns_ = spec.t.rfc * spec.t.tck_ns;
    // HBM2: each AXI master reaches its own pseudo-channel; other memories share all channels.
    const int n = kind_ == "hbm2" ? masters_ : platform.memory.channels;
    const mem::AddressMapping mapping{platform.memory.address_mapping};
    for (int c = 0; c < n; ++c) channels_.emplace_back(spec, mapping);
    channel_free_ns_.assign(n, 0.0);
    same_row_span_ = channels_.front().same_row_span_bytes();
    hbm_ = kind_ == "hbm2";
    stream_ = fidelity_ == "stream";
    if (fidelity_ == "tlm") tlm_ = std::make_unique<TlmPath>(sc_core::sc_gen_unique_name("memory_tlm"), spec, mapping, n);
    if (stream_) {
        for (int w = 0; w < 2; ++w) {
            const mem::StreamEstimate e =
                mem::estimate_sequential_stream(spec, mapping, 0, kCalibrationAccesses, w == 1, mem::kLookaheadWindow);
            const double per_channel = e.end_cycle * spec.t.tck_ns / (double(kCalibrationAccesses) * spec.org.bytes_per_access());
            // The converged rate includes refresh; the closed form below places refreshes
            // explicitly, so it takes the rate between refreshes.
            const double refresh_share = double(spec.t.rfc) / double(spec.t.refi);
            ns_per_byte_[w] = per_channel * (1.0 - refresh_share);  // one channel's data bus
        }
        // Latency of one access after an idle gap, measured on a fresh command-level controller,
        // for the three row states the stream closed form tells apart: the row open (hit), the
        // bank closed (miss, as after a refresh) and another row open (conflict).
        for (int w = 0; w < 2; ++w) {
            mem::DramController c(spec, mapping);
            const long gap = 64;
            const uint64_t a0 = 0;
            long t = gap;
            // Addresses in the bank of a0: another column of its row, and another row.
            const mem::DecodedAddress d0 = c.decode(a0);
            auto find = [&](bool same_row) {
                for (uint64_t a = spec.org.bytes_per_access();; a += spec.org.bytes_per_access()) {
                    const mem::DecodedAddress d = c.decode(a);
                    if (d.bank_group == d0.bank_group && d.bank == d0.bank && (d.row == d0.row) == same_row) return a;
                }
            };
            const uint64_t same_row = find(true), other_row = find(false);
            latency_ns_[w][kRowMiss] = (c.access(a0, w == 1, t) - t) * spec.t.tck_ns;
            t = c.access(a0, w == 1, t) + gap;  // settle
            latency_ns_[w][kRowHit] = (c.access(same_row, w == 1, t) - t) * spec.t.tck_ns;
            t = c.access(same_row, w == 1, t) + gap;
            latency_ns_[w][kRowConflict] = (c.access(other_row, w == 1, t) - t) * spec.t.tck_ns;
        }
        open_row_.assign(n, std::vector<int>(spec.org.banks(), -1));
        channel_refresh_epoch_.assign(n, 0);
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
        e.per_channel_pj.push_back(d.total_pj());
    };
    if (!stream_) {
        for (int c = 0; c < static_cast<int>(channels_.size()); ++c) add(controller(c).stats());
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
    if (noc_.ns_per_byte > 0) p = std::min(p, 1.0 / noc_.ns_per_byte);
    return p;
}

const mem::DramController& MemoryPort::controller(int c) const {
    return tlm_ ? tlm_->targets[static_cast<std::size_t>(c)]->controller() : channels_[static_cast<std::size_t>(c)];
}

mem::DramController& MemoryPort::controller(int c) {
    return tlm_ ? tlm_->targets[static_cast<std::size_t>(c)]->controller() : channels_[static_cast<std::size_t>(c)];
}

void MemoryPort::check_protocol() {
    if (stream_) throw InputError("the DRAM protocol check needs platform.memory.fidelity command or tlm (stream issues no commands)");
    for (int c = 0; c < static_cast<int>(channels_.size()); ++c) controller(c).check_protocol();
}

long MemoryPort::finish_checking() {
    long n = 0;
    for (int c = 0; c < static_cast<int>(channels_.size()); ++c) {
        controller(c).finish_checking();
        n += controller(c).checked_commands();
    }
    return n;
}

const MemoryPortStats& MemoryPort::stats() const {
    stats_.dram = {};
    for (int c = 0; c < static_cast<int>(channels_.size()); ++c) {
        const mem::ChannelStats& s = controller(c).stats();
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
    channel_ranges(address, bytes, ranges_);
    for (const mem::ChannelRange& r : ranges_)
        for (uint64_t off = 0; off < r.bytes; off += static_cast<uint64_t>(access)) per[r.channel].push_back({r.local + off, write, arrival});
    long done = arrival, first = -1;
    for (int c = 0; c < n; ++c) {
        if (per[c].empty()) continue;
        const std::vector<long> t = channels_[c].serve(per[c], mem::kLookaheadWindow);
        long channel_first = t.front(), channel_last = t.front();
        for (long x : t) {
            done = std::max(done, x);
            first = first < 0 ? x : std::min(first, x);
            channel_first = std::min(channel_first, x);
            channel_last = std::max(channel_last, x);
        }
        if (tracing_) trace_span(c, channel_first * spec.t.tck_ns, channel_last * spec.t.tck_ns, write);
    }
    return {first * spec.t.tck_ns, done * spec.t.tck_ns};
}

void MemoryPort::channel_ranges(uint64_t address, int64_t bytes, std::vector<mem::ChannelRange>& out) const {
    out.clear();
    const int n = static_cast<int>(channels_.size());
    if (hbm_) {
        // Every master moves its share of each beat to its own pseudo-channel, in whole DRAM
        // accesses from an access boundary (the masters move in lockstep [A]).
        const uint64_t access = static_cast<uint64_t>(access_bytes_);
        const uint64_t share = std::max<uint64_t>(access, static_cast<uint64_t>(bytes / n) / access * access);
        const uint64_t local = address / static_cast<uint64_t>(n) / access * access;
        for (int c = 0; c < n; ++c) out.push_back({c, local, share});
        return;
    }
    mem::interleave_ranges(address, static_cast<uint64_t>(bytes), n, out);
}

// The TLM-2.0 path: each channel's range as one base-protocol transaction, loosely timed. The
// initiator runs ahead of simulation time (temporal decoupling): the request's time, aligned to
// the DRAM clock edge as the controller takes it (as command_level does), goes in the annotated
// delay; the returned delay is the time to the last data, the extension the first data's.
std::pair<double, double> MemoryPort::tlm_level(uint64_t address, int64_t bytes, double issue_ns, bool write) {
    const double tck = channels_.front().spec().t.tck_ns;
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    const sc_core::sc_time at(std::ceil(issue_ns / tck) * tck, sc_core::SC_NS);
    if (at < now)
        throw std::logic_error(fmt::format("memory port (tlm): a {} burst issued at {:.1f} ns reached the port at "
                                           "simulation time {}; a loosely-timed initiator cannot annotate a negative delay",
                                           write ? "write" : "read", issue_ns, now.to_string()));
    TlmPath& path = *tlm_;
    channel_ranges(address, bytes, ranges_);
    double first = 1e300, last = issue_ns;
    for (const mem::ChannelRange& r : ranges_) {
        if (path.scratch.size() < r.bytes) path.scratch.resize(r.bytes);
        tlm::tlm_generic_payload& t = path.payload;
        t.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        t.set_address(r.local);
        t.set_data_ptr(path.scratch.data());
        t.set_data_length(static_cast<unsigned>(r.bytes));
        t.set_streaming_width(static_cast<unsigned>(r.bytes));
        t.set_byte_enable_ptr(nullptr);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        path.timing.valid = false;
        sc_core::sc_time delay = at - now;
        (*path.sockets[static_cast<std::size_t>(r.channel)])->b_transport(t, delay);
        if (t.is_response_error())
            throw std::runtime_error("memory port (tlm): the target answered " + t.get_response_string());
        // The channel's times fall on its clock edges; sc_time holds them to the picosecond, so
        // they are taken back to the edge (as command_level computes them) before the port
        // rounds them up to its own clock.
        auto edge_ns = [&](const sc_core::sc_time& x) { return std::round(x.to_seconds() * 1e9 / tck) * tck; };
        const double end_ns = edge_ns(now + delay);
        last = std::max(last, end_ns);
        // A target without the extension: the first data is taken at the end (conservative).
        first = std::min(first, path.timing.valid ? edge_ns(path.timing.first_data) : end_ns);
    }
    return {first, last};
}

// The stream closed form, per channel: the burst's data is cut as the command level cuts it
// (256-byte interleave blocks, or each pseudo-channel's share); a channel's block follows the
// previous one on that channel's bus without a gap, or starts one idle latency after the request
// (that latency includes the first access's own transfer). All-bank refreshes sit every tREFI,
// tRFC long, on every channel (as the controllers issue them): a block that would start inside
// one waits for its end, one that spans the start of one is stretched by it.
std::pair<double, double> MemoryPort::stream_level(uint64_t address, int64_t bytes, double issue_ns, bool write) {
    const double npb = ns_per_byte_[write];
    const double t_access = access_bytes_ * npb;
    double first = 1e300, last = issue_ns;
    const int bpg = channels_.front().spec().org.banks_per_group;
    // One block of `blk` bytes on channel c, in bank b and row `row` (of its first access).
    auto block = [&](int c, double blk, int b, int row) {
        // The row state of the block's bank decides the latency after an idle gap; all-bank
        // refresh closes every row.
        const long epoch = static_cast<long>(std::floor(std::max(issue_ns, channel_free_ns_[c]) / refresh_interval_ns_));
        if (epoch != channel_refresh_epoch_[c]) {
            std::fill(open_row_[c].begin(), open_row_[c].end(), -1);
            channel_refresh_epoch_[c] = epoch;
        }
        const int state = open_row_[c][b] == row ? kRowHit : open_row_[c][b] < 0 ? kRowMiss : kRowConflict;
        open_row_[c][b] = row;
        double start = std::max(issue_ns + latency_ns_[write][state] - t_access, channel_free_ns_[c]);
        const double k = std::floor(start / refresh_interval_ns_);
        if (k >= 1 && start < k * refresh_interval_ns_ + refresh_ns_) start = k * refresh_interval_ns_ + refresh_ns_;
        double end = start + blk * npb, data = start + t_access;
        const double next = (k + 1) * refresh_interval_ns_;  // start stays in refresh interval k
        if (end > next) {
            end += refresh_ns_;
            if (data > next) data += refresh_ns_;
            // The block resumes after the refresh: its own row is open again, every other closed
            // (what the blocks after the refresh would leave, one by one).
            std::fill(open_row_[c].begin(), open_row_[c].end(), -1);
            open_row_[c][b] = row;
            channel_refresh_epoch_[c] = static_cast<long>(std::floor(end / refresh_interval_ns_));
        }
        channel_free_ns_[c] = end;
        if (tracing_) trace_span(c, start, end, write);
        first = std::min(first, data);
        last = std::max(last, end);
    };
    auto bank_row = [&](int c, uint64_t local) {
        const mem::DecodedAddress da = channels_[c].decode(local);
        return std::pair<int, int>{da.bank_group * bpg + da.bank, da.row};
    };
    const int n = static_cast<int>(channels_.size());
    if (hbm_) {
        // Each pseudo-channel's share as one block.
        channel_ranges(address, bytes, ranges_);
        for (const mem::ChannelRange& r : ranges_) {
            const auto [b, row] = bank_row(r.channel, r.local);
            block(r.channel, double(r.bytes), b, row);
        }
    } else if (same_row_span_ >= mem::kChannelInterleaveBytes) {
        // Blocks that continue each other in one bank and row follow each other on the
        // channel's bus without a gap, so each channel's range is served in pieces, one per
        // aligned same-row region (same_row_span_bytes): it times exactly as the 256-byte blocks
        // one by one, at a cost per channel instead of per block.
        channel_ranges(address, bytes, ranges_);
        for (const mem::ChannelRange& r : ranges_)
            for (uint64_t p = r.local, hi = r.local + r.bytes; p < hi;) {
                const uint64_t q = std::min(hi, (p / same_row_span_ + 1) * same_row_span_);
                const auto [b, row] = bank_row(r.channel, p);
                block(r.channel, double(q - p), b, row);
                p = q;
            }
    } else {
        // Rows narrower than the interleave block: block by block, each timed by the bank and
        // row of its first access.
        for (int64_t off = 0; off < bytes;) {
            const uint64_t a = address + static_cast<uint64_t>(off);
            const int64_t in_block = static_cast<int64_t>(mem::kChannelInterleaveBytes - a % mem::kChannelInterleaveBytes);
            const int64_t len = std::min(in_block, bytes - off);
            const mem::ChannelAddress ca = mem::interleave_channels(a, n);
            const auto [b, row] = bank_row(ca.channel, ca.local);
            block(ca.channel, double(len), b, row);
            off += len;
        }
    }
    return {first, last};
}

BurstCompletion MemoryPort::burst(uint64_t address, int beats, Cycle issue, bool write) {
    const int64_t bytes = int64_t{beats} * beat_bytes_;
    if (recording_) requests_.push_back({address, beats, issue, write});
    const double issue_ns = static_cast<double>(issue) * cycle_ns_;
    double first_ns, last_ns;
    if (stream_) {
        std::tie(first_ns, last_ns) = stream_level(address, bytes, issue_ns, write);
    } else if (tlm_) {
        std::tie(first_ns, last_ns) = tlm_level(address, bytes, issue_ns, write);
    } else {
        std::tie(first_ns, last_ns) = command_level(address, bytes, issue_ns, write);
    }
    last_ns = std::max(last_ns, noc_.pass(issue_ns, double(bytes)));  // the NoC's rate (SharedBandwidth)
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
    const std::size_t window = static_cast<std::size_t>(c.last >> MemoryPortStats::kBandwidthWindowShift);
    if (window >= stats_.bytes_per_window.size()) stats_.bytes_per_window.resize(window + 1, 0);
    stats_.bytes_per_window[window] += bytes;
    return c;
}

void MemoryPort::trace_channels(bool on, double merge_gap_ns) {
    tracing_ = on;
    // Half a nanosecond is below any DRAM clock period: without a gap only touching spans merge.
    constexpr double kTouchingNs = 0.5;
    trace_merge_ns_ = std::max(kTouchingNs, merge_gap_ns);
    channel_spans_.assign(channels_.size(), {});
    for (int c = 0; c < dram_channels(); ++c) controller(c).record_refreshes(on);
}

void MemoryPort::trace_span(int channel, double begin_ns, double end_ns, bool write) {
    std::vector<ChannelSpan>& v = channel_spans_[static_cast<std::size_t>(channel)];
    // Back to back in one direction (a streaming producer): one span.
    if (!v.empty() && v.back().write == write && begin_ns <= v.back().end_ns + trace_merge_ns_ && begin_ns >= v.back().begin_ns) {
        v.back().end_ns = std::max(v.back().end_ns, end_ns);
        return;
    }
    v.push_back({begin_ns, end_ns, write});
}

std::vector<double> MemoryPort::refresh_starts_ns(int channel, double until_ns) const {
    std::vector<double> out;
    if (stream_) {
        // The closed form refreshes every channel at k * tREFI, k >= 1 (stream_level).
        for (double t = refresh_interval_ns_; t < until_ns; t += refresh_interval_ns_) out.push_back(t);
        return out;
    }
    const mem::DramController& c = controller(channel);
    for (long cycle : c.refresh_cycles()) {
        const double t = cycle * c.spec().t.tck_ns;
        if (t < until_ns) out.push_back(t);
    }
    return out;
}

std::vector<BurstCompletion> replay_requests(MemoryPort& port, const std::vector<BurstRequest>& requests) {
    std::vector<BurstCompletion> done;
    done.reserve(requests.size());
    for (const BurstRequest& r : requests)
        done.push_back(r.write ? port.write_burst(r.address, r.beats, r.issue) : port.read_burst(r.address, r.beats, r.issue));
    return done;
}

BurstCompletion MemoryPort::read_burst(uint64_t address, int beats, Cycle issue) { return burst(address, beats, issue, false); }
BurstCompletion MemoryPort::write_burst(uint64_t address, int beats, Cycle issue) { return burst(address, beats, issue, true); }

}  // namespace lmsim::hw
