#include "mem/membench.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "common/error.h"
#include "mem/axi_master.h"
#include "mem/axi_port_timing.h"
#include "mem/dram_controller.h"
#include "mem/dram_energy.h"
#include "mem/hbm_switch.h"
#include "mem/memory_interconnect.h"
#include "mem/protocol_checker.h"
#include "mem/tlm_memory.h"
#include "model/weights.h"

namespace lmsim::mem {

std::string default_preset(const MemorySystemConfig& m) {
    if (!m.preset.empty()) return m.preset;
    if (m.kind == "hbm2") return "HBM2_DRAMSYS";
    if (m.kind == "lpddr4") return "LPDDR4_3200";
    return m.data_rate_mtps >= 3200 ? "DDR4_3200" : "DDR4_2400";
}

namespace {

constexpr uint64_t kSpanPerPortBytes = uint64_t{1} << 27;  // 128 MB of addresses per port

// The checked benchmark: every argument validated, and each port's burst start addresses.
struct Workload {
    DramSpec spec;
    bool hbm = false;
    std::vector<std::vector<uint64_t>> bases;  // [port][burst]
    std::vector<char> write;                   // [burst]: a write (the same for every port)
    HbmSwitch::OffsetPattern paths;            // each port's share and latency through the HBM switch
};

Workload prepare(const MemorySystemConfig& memory, const MembenchSpec& b, MembenchResult& r) {
    r.preset = b.preset.empty() ? default_preset(memory) : b.preset;
    Workload w;
    w.spec = dram_preset(r.preset);
    const int access = w.spec.org.bytes_per_access();
    long stride = 0;
    bool random = false;
    if (b.pattern == "seq") stride = b.burst_bytes;
    else if (b.pattern == "random") random = true;
    else if (b.pattern.rfind("stride:", 0) == 0) {
        try {
            stride = std::stol(b.pattern.substr(7));
        } catch (const std::exception&) {
            stride = 0;
        }
        if (stride <= 0) throw InputError(fmt::format("--pattern {}: expected stride:N with N > 0 bytes", b.pattern));
    } else {
        throw InputError(fmt::format("--pattern {}: expected seq, random or stride:N", b.pattern));
    }
    if (b.burst_bytes < access || b.burst_bytes % access)
        throw InputError(fmt::format("--burst {}: expected a multiple of the {}-byte DRAM access", b.burst_bytes, access));
    if (b.outstanding < 1) throw InputError("--outstanding must be >= 1");
    if (b.bursts_per_port < 1) throw InputError("--bursts must be >= 1");
    if (!(b.write_fraction >= 0 && b.write_fraction <= 1))
        throw InputError(fmt::format("--write-fraction {}: expected a share from 0 to 1", b.write_fraction));
    if (b.channels < 1 || b.channels > memory.axi_ports)
        throw InputError(fmt::format("--channels {}: the platform's {} memory has {} ports", b.channels, memory.kind, memory.axi_ports));
    w.hbm = memory.kind == "hbm2";
    if (b.pc_offset != 0) {
        if (!w.hbm) throw InputError("--pc-offset: for hbm2 memory only (ports reach pseudo-channels through the AXI switch)");
        if (memory.crossbar.ports_per_switch == 0)
            throw InputError("--pc-offset: the platform models no HBM switch (platform.memory.crossbar)");
        if (b.pc_offset < 0 || b.pc_offset >= memory.channels)
            throw InputError(fmt::format("--pc-offset {}: expected 0 to {}", b.pc_offset, memory.channels - 1));
    }
    // Burst k is a write when the running count of writes k x fraction steps up: evenly spread.
    for (long k = 0; k < b.bursts_per_port; ++k)
        w.write.push_back(std::floor((k + 1) * b.write_fraction) > std::floor(k * b.write_fraction));
    Rng rng(17);
    w.bases.assign(b.channels, {});
    for (int p = 0; p < b.channels; ++p)
        for (long k = 0; k < b.bursts_per_port; ++k)
            w.bases[p].push_back(random ? (rng.next_u64() % kSpanPerPortBytes) / b.burst_bytes * b.burst_bytes
                                        : static_cast<uint64_t>(k * stride) % kSpanPerPortBytes);
    w.paths.share.assign(b.channels, 1.0);
    w.paths.latency_ns.assign(b.channels, 0.0);
    if (w.hbm) w.paths = HbmSwitch(memory.crossbar, memory.channels).read_with_offset(b.channels, b.pc_offset);
    r.max_switch_hops = w.paths.max_hops;
    r.min_switch_share = w.paths.min_share;
    return w;
}

// The controller's queue holds requests in the order they arrive (a write arrives after its
// data, later than the reads issued beside it); `owner` (each request's burst) follows.
void sort_by_arrival(std::vector<DramController::Request>& requests, std::vector<long>& owner) {
    const auto by_arrival = [](const DramController::Request& x, const DramController::Request& y) {
        return x.arrival < y.arrival;
    };
    if (std::is_sorted(requests.begin(), requests.end(), by_arrival)) return;
    std::vector<std::size_t> order(requests.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return by_arrival(requests[x], requests[y]); });
    std::vector<DramController::Request> sorted;
    std::vector<long> sorted_owner;
    for (std::size_t i : order) {
        sorted.push_back(requests[i]);
        sorted_owner.push_back(owner[i]);
    }
    requests.swap(sorted);
    owner.swap(sorted_owner);
}

// Bandwidth over the whole run, latency statistics, energy and the peak the run is held to.
void summarise(const MemorySystemConfig& memory, const MembenchSpec& b, const Workload& w,
               std::vector<const DramController*> controllers, std::vector<double> latencies, double end_ns,
               MembenchResult& r) {
    const double bytes = double(b.channels) * b.bursts_per_port * b.burst_bytes;
    r.gbps = bytes / end_ns;
    const DramEnergyTable table = energy_table(w.spec);
    for (const DramController* c : controllers) r.energy_pj += channel_energy(table, c->stats(), end_ns).total_pj();
    r.energy_pj_per_bit = r.energy_pj / (8.0 * bytes);
    r.energy_unknown = table.unknown;
    std::sort(latencies.begin(), latencies.end());
    r.latency_min_ns = latencies.front();
    double sum = 0;
    for (double l : latencies) sum += l;
    r.latency_mean_ns = sum / latencies.size();
    r.latency_p99_ns = latencies[static_cast<std::size_t>(0.99 * (latencies.size() - 1))];
    if (b.check_protocol) {
        for (const DramController* c : controllers) {
            ProtocolChecker checker(w.spec);
            try {
                for (const IssuedCommand& ic : c->commands()) {
                    checker.issue(ic.cmd, ic.at, ic.cycle);
                    ++r.commands_checked;
                }
            } catch (const std::exception& e) {
                r.protocol_violation = e.what();
                break;
            }
        }
    }
    const double dram_peak = (w.hbm ? b.channels : memory.channels) * w.spec.peak_gbps();
    const double port_peak = b.channels * memory.axi_port_width_bits / 8.0 * memory.axi_clock_mhz / 1000.0;
    r.peak_gbps = std::min(dram_peak, port_peak);
    if (memory.noc_bandwidth_gbps > 0) r.peak_gbps = std::min(r.peak_gbps, memory.noc_bandwidth_gbps);
}

}  // namespace

MembenchResult run_membench(const MemorySystemConfig& memory, const MembenchSpec& b) {
    MembenchResult r;
    const Workload w = prepare(memory, b, r);
    const DramSpec& spec = w.spec;
    const int access = spec.org.bytes_per_access();
    // HBM2: port p reaches pseudo-channel (p + pc_offset) mod channels, its own by default,
    // another through the AXI switch. Other kinds: every port shares the platform's DRAM
    // channels, interleaved (interleave_channels).
    const bool hbm = w.hbm;
    const int dram_channels = memory.channels;
    auto pc_of = [&](int port) { return (port + b.pc_offset) % memory.channels; };
    const std::vector<double>& share = w.paths.share;
    const std::vector<double>& switch_ns = w.paths.latency_ns;
    std::vector<DramController> ctrl;
    for (int c = 0; c < dram_channels; ++c) {
        ctrl.emplace_back(spec, AddressMapping{memory.address_mapping});
        ctrl.back().record_commands(b.check_protocol);
    }
    const double axi_ns_per_beat = 1000.0 / memory.axi_clock_mhz;
    const int beat_bytes = memory.axi_port_width_bits / 8;
    const long beats = std::max<long>(1, b.burst_bytes / beat_bytes);
    // The path latency (NoC, controller and PHY, HBM switch hops) is added once per burst: request
    // and read data for a read, write data and response for a write [A: the same both ways].
    struct Port {
        double path_ns = 0, beats_ns = 0;
        std::vector<double> done, issued;
        // Reads and writes have their own address channel, outstanding slots and data channel
        // (index 0 read, 1 write): the AXI channels are independent.
        std::vector<long> of_direction[2];  // bursts of each direction, in order
        double last_issue[2] = {-1e300, -1e300};
        AxiPortTiming timing;
    };
    std::vector<Port> ports(b.channels);
    for (int p = 0; p < b.channels; ++p) {
        ports[p].path_ns = memory.noc_latency_ns + memory.controller_latency_ns + switch_ns[p];
        ports[p].beats_ns = beats * axi_ns_per_beat / share[p];
        ports[p].done.assign(b.bursts_per_port, 0);
        ports[p].issued.assign(b.bursts_per_port, 0);
    }
    SharedBandwidth noc{memory.noc_bandwidth_gbps > 0 ? 1.0 / memory.noc_bandwidth_gbps : 0};
    std::vector<double> latencies;
    double end_ns = 0;
    // Bursts are handed to the controllers a few at a time (never more than are in flight), so
    // that the controller's lookahead spans burst boundaries as a real request queue does; every
    // port's next few in one round, so that ports sharing channels meet there in time order.
    const long chunk = std::min<long>(b.outstanding, 4);
    for (long k0 = 0; k0 < b.bursts_per_port; k0 += chunk) {
        const long k1 = std::min(b.bursts_per_port, k0 + chunk), n = k1 - k0;
        std::vector<std::vector<DramController::Request>> per(dram_channels);
        std::vector<std::vector<long>> owner(dram_channels);  // p * n + (k - k0) of each request
        for (int p = 0; p < b.channels; ++p) {
            Port& port = ports[p];
            for (long k = k0; k < k1; ++k) {
                const int dir = w.write[k] ? 1 : 0;
                // A new burst may start when a slot of its direction frees up (outstanding
                // limit), one address beat per AXI cycle on its address channel.
                std::vector<long>& mine = port.of_direction[dir];
                double issue = std::max(0.0, port.last_issue[dir] + axi_ns_per_beat);
                if (static_cast<long>(mine.size()) >= b.outstanding)
                    issue = std::max(issue, port.done[mine[mine.size() - static_cast<std::size_t>(b.outstanding)]]);
                port.issued[k] = port.last_issue[dir] = issue;
                mine.push_back(k);
                // A write's data crosses the port first (AxiPortTiming).
                const double arrival = dir == 1 ? port.timing.write_data(issue, port.path_ns, port.beats_ns) : issue;
                const uint64_t base = w.bases[p][k];
                for (long off = 0; off < b.burst_bytes; off += access) {
                    uint64_t a = base + static_cast<uint64_t>(off);
                    const ChannelAddress ca = hbm ? ChannelAddress{pc_of(p), a} : interleave_channels(a, dram_channels);
                    per[ca.channel].push_back({ca.local, dir == 1, static_cast<long>(std::ceil(arrival / spec.t.tck_ns))});
                    owner[ca.channel].push_back(p * n + (k - k0));
                }
            }
        }
        std::vector<double> dram_done(b.channels * n, 0), dram_first(b.channels * n, 1e300);
        for (int ch = 0; ch < dram_channels; ++ch) {
            if (per[ch].empty()) continue;
            sort_by_arrival(per[ch], owner[ch]);
            std::vector<long> t = ctrl[ch].serve(per[ch], kLookaheadWindow);
            for (std::size_t i = 0; i < t.size(); ++i) {
                double& d = dram_done[owner[ch][i]];
                d = std::max(d, t[i] * spec.t.tck_ns);
                double& f = dram_first[owner[ch][i]];
                f = std::min(f, t[i] * spec.t.tck_ns);
            }
        }
        for (int p = 0; p < b.channels; ++p) {
            Port& port = ports[p];
            for (long k = k0; k < k1; ++k) {
                const long i = p * n + (k - k0);
                // The NoC's shared rate holds the burst's data back (SharedBandwidth).
                const double last = std::max(dram_done[i], noc.pass(port.issued[k], b.burst_bytes));
                port.done[k] = w.write[k] ? AxiPortTiming::write_response(last, port.path_ns)
                                          : port.timing.read(dram_first[i], last, port.path_ns, port.beats_ns);
                end_ns = std::max(end_ns, port.done[k]);
                latencies.push_back(port.done[k] - port.issued[k]);
            }
        }
    }
    std::vector<const DramController*> used;
    for (const auto& c : ctrl) used.push_back(&c);
    summarise(memory, b, w, used, std::move(latencies), end_ns, r);
    return r;
}

namespace {

// The TLM-2.0 testbench: one traffic thread per port queues its bursts on its AxiMaster.
struct TlmTraffic : sc_core::sc_module {
    std::vector<AxiMaster*> masters;
    const Workload& work;
    unsigned burst_bytes;
    double end_ns = 0;
    SC_HAS_PROCESS(TlmTraffic);
    TlmTraffic(sc_core::sc_module_name n, std::vector<AxiMaster*> m, const Workload& w, unsigned bytes)
        : sc_core::sc_module(n), masters(std::move(m)), work(w), burst_bytes(bytes) {
        for (std::size_t p = 0; p < masters.size(); ++p)
            sc_core::sc_spawn([this, p] { drive(p); }, sc_core::sc_gen_unique_name("port"));
    }
    void drive(std::size_t p) {
        const std::vector<uint64_t>& bases = work.bases[p];
        for (std::size_t k = 0; k < bases.size(); ++k) {
            if (work.write[k]) masters[p]->write(bases[k], burst_bytes);
            else masters[p]->read(bases[k], burst_bytes);
        }
        while (masters[p]->transfers_done() < static_cast<long>(bases.size())) wait(masters[p]->transfer_done_event());
        end_ns = std::max(end_ns, sc_core::sc_time_stamp().to_seconds() * 1e9);
    }
};

}  // namespace

MembenchResult run_membench_tlm(const MemorySystemConfig& memory, const MembenchSpec& b) {
    MembenchResult r;
    const Workload w = prepare(memory, b, r);
    const unsigned beat_bytes = static_cast<unsigned>(memory.axi_port_width_bits / 8);
    const unsigned burst_beats = std::max(1u, static_cast<unsigned>(b.burst_bytes) / beat_bytes);
    MemoryInterconnect interconnect("interconnect", memory, b.channels, b.pc_offset);
    std::vector<std::unique_ptr<DramChannelTarget>> targets;
    for (int c = 0; c < memory.channels; ++c) {
        targets.push_back(std::make_unique<DramChannelTarget>(sc_core::sc_gen_unique_name("channel"), w.spec,
                                                              AddressMapping{memory.address_mapping}, kLookaheadWindow, false));
        interconnect.to_channels[c]->bind(targets.back()->socket);
        targets.back()->controller().record_commands(b.check_protocol);
    }
    std::vector<std::unique_ptr<AxiMaster>> masters;
    std::vector<AxiMaster*> raw;
    for (int p = 0; p < b.channels; ++p) {
        masters.push_back(std::make_unique<AxiMaster>(sc_core::sc_gen_unique_name("axi_port"), beat_bytes, burst_beats,
                                                      b.outstanding));
        masters.back()->socket.bind(interconnect.from_masters);
        raw.push_back(masters.back().get());
    }
    TlmTraffic traffic("traffic", raw, w, static_cast<unsigned>(b.burst_bytes));
    sc_core::sc_start();
    std::vector<double> latencies;
    for (const auto& m : masters)
        for (const sc_core::sc_time& t : m->burst_latencies()) latencies.push_back(t.to_seconds() * 1e9);
    std::vector<const DramController*> used;
    for (const auto& t : targets) used.push_back(&t->controller());
    summarise(memory, b, w, used, std::move(latencies), traffic.end_ns, r);
    r.axi_bursts = 0;
    for (const auto& m : masters) r.axi_bursts += m->bursts_issued();
    return r;
}

}  // namespace lmsim::mem
