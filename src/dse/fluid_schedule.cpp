#include "dse/fluid_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lmsim::dse {
namespace {

// Relaxation stops when no interval moved by more than this (cycles), or after kMaxRounds.
constexpr double kConvergedCycles = 0.5;
constexpr int kMaxRounds = 400;

// A StreamAccess with O(1) token counts and O(log) inverse: which iterations of a phase move
// which of its tokens.
struct AccessIndex {
    int64_t period = 1, per_period = 0;
    int count = 1;
    std::vector<int64_t> prefix;     // firing positions in [0, p), p = 0..period
    std::vector<int64_t> positions;  // the firing positions of one period
    explicit AccessIndex(const hw::StreamAccess& a) : period(std::max<int64_t>(1, a.period)), count(a.count) {
        prefix.assign(static_cast<std::size_t>(period) + 1, 0);
        for (int64_t p = 0; p < period; ++p) {
            const bool fires = p >= a.lo && p < a.hi && (p - a.lo) % std::max<int64_t>(1, a.stride) == 0;
            prefix[static_cast<std::size_t>(p) + 1] = prefix[static_cast<std::size_t>(p)] + (fires ? 1 : 0);
            if (fires) positions.push_back(p);
        }
        per_period = prefix.back();
    }
    int64_t tokens_for(int64_t trips) const {
        return ((trips / period) * per_period + prefix[static_cast<std::size_t>(trips % period)]) * count;
    }
    // The phase iteration that moves phase-local token t.
    int64_t iteration_of(int64_t t) const {
        if (per_period == 0) return 0;
        const int64_t firing = t / count;
        return (firing / per_period) * period + positions[static_cast<std::size_t>(firing % per_period)];
    }
};

struct Access {
    int fifo = -1;
    const AccessIndex* index = nullptr;
    int64_t phase_k0 = 0;  // global index of the phase's first token on the FIFO
    int64_t j0 = 0;        // the interval's first iteration within its phase
    int64_t k0 = 0, k1 = 0;  // the interval's tokens [k0, k1)
    int64_t i0 = 0, i1 = 0;  // interval-local iterations of its first and last token
    int64_t local_iteration(int64_t k) const { return index->iteration_of(k - phase_k0) - j0; }
};

struct Interval {
    int block = -1, layer = 0;
    int64_t n = 1;
    double ii = 1, depth = 1, overhead = 0;
    bool first_of_invocation = false, last_of_invocation = false;
    int previous = -1;  // the block's previous interval
    std::vector<Access> in, out;
    double S = 0, E = 0;
    double rate() const { return n > 0 ? (E - S) / static_cast<double>(n) : 0; }
};

struct Side {  // a FIFO's intervals on one side, in token order
    std::vector<int> interval;
    std::vector<int> access;  // index into the interval's in / out
    std::vector<int64_t> k0;
};

int find(const Side& s, int64_t k) {
    const auto it = std::upper_bound(s.k0.begin(), s.k0.end(), k);
    if (it == s.k0.begin()) return -1;
    return static_cast<int>(it - s.k0.begin()) - 1;
}

// A phase that writes a stream in one window of its period and reads, in a later window, what
// comes back of it through other blocks (HT_STATE's exchange: h(t-1) out to DAH, h(t) back from
// HT_ADD_QUANT, per tile) waits for the round trip: read iteration m of a period needs what write
// iteration m of that period sent, plus the path's cycles (each FIFO's latency and each block's
// depth on the shortest path of blocks from the written FIFO to the read one). The written token
// leaves `depth` cycles after its iteration starts (free-running) or K = depth / II slots later,
// when slot m + K starts (lock step, dataflow.h PipelineStyle::Stall) -- so a lock-step phase's
// reads advance T - K iterations per round trip. The slots of three periods are laid out with
// these rules; the phase's mean II is the last period's length over its iterations.
double recurrence_ii(const hw::DataflowGraph& g, std::size_t block, const hw::Phase& p) {
    double ii = p.ii;
    const hw::BlockProgram& self = g.blocks[block];
    for (const hw::StreamAccess& w : p.writes)
        for (const hw::StreamAccess& r : p.reads) {
            if (w.period != r.period || w.period <= 1 || !(w.hi <= r.lo) || w.stride != 1 || r.stride != 1) continue;
            if (std::min(w.hi, w.period) - w.lo != std::min(r.hi, r.period) - r.lo) continue;
            const hw::FifoSpec& fw = g.fifos[static_cast<std::size_t>(w.fifo)];
            const hw::FifoSpec& fr = g.fifos[static_cast<std::size_t>(r.fifo)];
            if (fw.consumer == self.name || g.block(fw.consumer).is_memory_master) continue;
            // Shortest path (cycles) from the written FIFO to the read FIFO through other blocks.
            std::map<std::string, double> dist;
            std::vector<std::string> frontier = {fw.consumer};
            dist[fw.consumer] = fw.latency_cycles + g.block(fw.consumer).depth_cycles;
            for (std::size_t step = 0; step < g.blocks.size() && !frontier.empty(); ++step) {
                std::vector<std::string> next;
                for (const std::string& b : frontier)
                    for (const hw::FifoSpec& f : g.fifos) {
                        if (f.producer != b || f.consumer == self.name) continue;
                        const hw::BlockProgram& c = g.block(f.consumer);
                        if (c.is_memory_master) continue;
                        const double d = dist[b] + f.latency_cycles + c.depth_cycles;
                        if (!dist.count(f.consumer) || d < dist[f.consumer]) dist[f.consumer] = d, next.push_back(f.consumer);
                    }
                frontier = next;
            }
            if (!dist.count(fr.producer)) continue;
            const double path = dist[fr.producer] + fr.latency_cycles;
            const bool lock_step = self.style == hw::PipelineStyle::Stall;
            const int64_t k = lock_step ? self.depth_cycles / std::max(1, p.ii) : 0;
            const int64_t period = w.period, periods = 3;
            std::vector<double> slot(static_cast<std::size_t>(period * periods), 0);
            bool feasible = true;
            for (int64_t j = 0; j < period * periods && feasible; ++j) {
                double t = j > 0 ? slot[static_cast<std::size_t>(j - 1)] + p.ii : 0;
                const int64_t pos = j % period, start = j - pos;
                if (pos >= r.lo && pos < std::min(r.hi, period)) {
                    const int64_t writer = start + w.lo + (pos - r.lo);  // the write iteration it waits for
                    if (lock_step) {
                        const int64_t written_in = writer + k;  // the slot its token is written in
                        if (written_in >= j) {
                            feasible = false;  // the graph builder refuses such designs
                            break;
                        }
                        t = std::max(t, slot[static_cast<std::size_t>(written_in)] + path);
                    } else {
                        t = std::max(t, slot[static_cast<std::size_t>(writer)] + self.depth_cycles + path);
                    }
                }
                slot[static_cast<std::size_t>(j)] = t;
            }
            if (!feasible) continue;
            const double last = slot.back() + p.ii - slot[static_cast<std::size_t>(period * (periods - 1))];
            ii = std::max(ii, last / static_cast<double>(period));
        }
    return ii;
}

}  // namespace

FluidSchedule fluid_schedule(const hw::DataflowGraph& g, const std::map<std::string, double>& memory_cycles_per_beat,
                             int model_layers, int restart_cycles) {
    const int layers = g.layers;
    const int modelled = std::max(1, std::min(model_layers, layers));
    // Access indices, one per (block, phase, access).
    std::vector<std::vector<std::vector<AccessIndex>>> reads(g.blocks.size()), writes(g.blocks.size());
    for (std::size_t b = 0; b < g.blocks.size(); ++b)
        for (const hw::Phase& p : g.blocks[b].phases) {
            reads[b].emplace_back();
            writes[b].emplace_back();
            for (const hw::StreamAccess& a : p.reads) reads[b].back().emplace_back(a);
            for (const hw::StreamAccess& a : p.writes) writes[b].back().emplace_back(a);
        }

    // Phase instances in program order, with their tokens on every FIFO.
    struct PhaseInstance {
        int block, layer, phase;
        std::vector<int64_t> in_k0, out_k0;
    };
    std::vector<PhaseInstance> phases;
    std::vector<int64_t> written(g.fifos.size(), 0), read(g.fifos.size(), 0);
    // Boundaries (global token index where a phase instance starts) per FIFO and side.
    std::vector<std::vector<int64_t>> produced_at(g.fifos.size()), consumed_at(g.fifos.size());
    for (int l = 0; l < modelled; ++l)
        for (std::size_t b = 0; b < g.blocks.size(); ++b)
            for (std::size_t ph = 0; ph < g.blocks[b].phases.size(); ++ph) {
                const hw::Phase& p = g.blocks[b].phases[ph];
                if (!hw::phase_applies(p, l, layers) || p.trips == 0) continue;
                PhaseInstance pi{static_cast<int>(b), l, static_cast<int>(ph), {}, {}};
                for (std::size_t a = 0; a < p.reads.size(); ++a) {
                    const int f = p.reads[a].fifo;
                    pi.in_k0.push_back(read[f]);
                    consumed_at[f].push_back(read[f]);
                    read[f] += reads[b][ph][a].tokens_for(p.trips);
                }
                for (std::size_t a = 0; a < p.writes.size(); ++a) {
                    const int f = p.writes[a].fifo;
                    pi.out_k0.push_back(written[f]);
                    produced_at[f].push_back(written[f]);
                    written[f] += writes[b][ph][a].tokens_for(p.trips);
                }
                phases.push_back(std::move(pi));
            }

    // Split each phase instance where a FIFO it uses passes to the next phase of its peer.
    std::vector<Interval> iv;
    std::vector<int> last_of_block(g.blocks.size(), -1);
    std::vector<Side> producers(g.fifos.size()), consumers(g.fifos.size());
    std::vector<int> invocation_layer(g.blocks.size(), -1);
    for (const PhaseInstance& pi : phases) {
        const hw::BlockProgram& b = g.blocks[static_cast<std::size_t>(pi.block)];
        const hw::Phase& p = b.phases[static_cast<std::size_t>(pi.phase)];
        std::vector<int64_t> cuts = {0, p.trips};
        auto add_cuts = [&](const AccessIndex& idx, int64_t k0, const std::vector<int64_t>& peer_starts) {
            const int64_t k1 = k0 + idx.tokens_for(p.trips);
            auto it = std::upper_bound(peer_starts.begin(), peer_starts.end(), k0);
            for (; it != peer_starts.end() && *it < k1; ++it) cuts.push_back(idx.iteration_of(*it - k0));
        };
        for (std::size_t a = 0; a < p.reads.size(); ++a)
            add_cuts(reads[pi.block][pi.phase][a], pi.in_k0[a], produced_at[p.reads[a].fifo]);
        for (std::size_t a = 0; a < p.writes.size(); ++a)
            add_cuts(writes[pi.block][pi.phase][a], pi.out_k0[a], consumed_at[p.writes[a].fifo]);
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        const bool memory = p.kind != hw::PhaseKind::Loop;
        const auto mem = memory_cycles_per_beat.find(b.name + "/" + p.name);
        const double ii = memory && mem != memory_cycles_per_beat.end() ? std::max(1.0, mem->second)
                                                                         : recurrence_ii(g, static_cast<std::size_t>(pi.block), p);
        for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
            Interval x;
            x.block = pi.block, x.layer = pi.layer;
            const int64_t j0 = cuts[c], j1 = cuts[c + 1];
            x.n = j1 - j0, x.ii = ii, x.depth = b.depth_cycles, x.overhead = b.overhead_cycles;
            x.first_of_invocation = invocation_layer[pi.block] != pi.layer;
            invocation_layer[pi.block] = pi.layer;
            x.previous = last_of_block[pi.block];
            auto make = [&](const AccessIndex& idx, int fifo, int64_t phase_k0, std::vector<Access>& out, Side& side, int id) {
                Access a;
                a.fifo = fifo, a.index = &idx, a.phase_k0 = phase_k0, a.j0 = j0;
                a.k0 = phase_k0 + idx.tokens_for(j0), a.k1 = phase_k0 + idx.tokens_for(j1);
                if (a.k1 <= a.k0) return;
                a.i0 = a.local_iteration(a.k0), a.i1 = a.local_iteration(a.k1 - 1);
                side.interval.push_back(id);
                side.access.push_back(static_cast<int>(out.size()));
                side.k0.push_back(a.k0);
                out.push_back(a);
            };
            const int id = static_cast<int>(iv.size());
            for (std::size_t a = 0; a < p.reads.size(); ++a)
                make(reads[pi.block][pi.phase][a], p.reads[a].fifo, pi.in_k0[a], x.in, consumers[p.reads[a].fifo], id);
            for (std::size_t a = 0; a < p.writes.size(); ++a)
                make(writes[pi.block][pi.phase][a], p.writes[a].fifo, pi.out_k0[a], x.out, producers[p.writes[a].fifo], id);
            last_of_block[pi.block] = id;
            iv.push_back(std::move(x));
        }
    }
    // An interval is its invocation's last unless the block's next one is in the same layer.
    for (Interval& x : iv) x.last_of_invocation = true;
    for (const Interval& x : iv)
        if (x.previous >= 0 && !x.first_of_invocation) iv[static_cast<std::size_t>(x.previous)].last_of_invocation = false;

    // Relaxation.
    FluidSchedule out;
    for (int round = 0; round < kMaxRounds; ++round) {
        double moved = 0;
        for (Interval& x : iv) {
            double S = 0, E_min = 0;
            if (x.previous >= 0) {
                const Interval& prev = iv[static_cast<std::size_t>(x.previous)];
                S = x.first_of_invocation ? prev.E + prev.depth + restart_cycles + x.overhead : prev.E;
            } else {
                S = x.overhead;
            }
            for (const Access& a : x.in) {
                const hw::FifoSpec& f = g.fifos[static_cast<std::size_t>(a.fifo)];
                const Side& side = producers[static_cast<std::size_t>(a.fifo)];
                for (const bool first : {true, false}) {
                    const int64_t k = first ? a.k0 : a.k1 - 1;
                    const int at = find(side, k);
                    if (at < 0) continue;
                    const Interval& p = iv[static_cast<std::size_t>(side.interval[static_cast<std::size_t>(at)])];
                    const Access& pa = p.out[static_cast<std::size_t>(side.access[static_cast<std::size_t>(at)])];
                    if (k >= pa.k1) continue;
                    const double w = p.S + static_cast<double>(pa.local_iteration(k)) * p.rate() + p.depth + f.latency_cycles;
                    if (first) S = std::max(S, w - static_cast<double>(a.i0) * x.ii);
                    else E_min = std::max(E_min, w + static_cast<double>(x.n - a.i1) * x.ii);
                }
            }
            for (const Access& a : x.out) {
                const hw::FifoSpec& f = g.fifos[static_cast<std::size_t>(a.fifo)];
                const Side& side = consumers[static_cast<std::size_t>(a.fifo)];
                // The first and last token, and the first one that has to wait for the consumer
                // (capacity places after the interval's first): from there on the interval goes
                // no faster than its II once the consumer has freed the room.
                for (const int which : {0, 1, 2}) {
                    const int64_t token = which == 0 ? a.k0 : which == 1 ? a.k1 - 1 : a.k0 + f.capacity;
                    if (which == 2 && token >= a.k1) continue;
                    const int64_t k = token - f.capacity;
                    if (k < 0) continue;
                    const int at = find(side, k);
                    if (at < 0) continue;
                    const Interval& c = iv[static_cast<std::size_t>(side.interval[static_cast<std::size_t>(at)])];
                    const Access& ca = c.in[static_cast<std::size_t>(side.access[static_cast<std::size_t>(at)])];
                    if (k >= ca.k1) continue;
                    const double r = c.S + static_cast<double>(ca.local_iteration(k)) * c.rate() + 1;
                    if (which == 0) S = std::max(S, r - static_cast<double>(a.i0) * x.ii);
                    else if (which == 1) E_min = std::max(E_min, r + static_cast<double>(x.n - a.i1) * x.ii);
                    else E_min = std::max(E_min, r + static_cast<double>(x.n - a.local_iteration(token)) * x.ii);
                }
            }
            const double E = std::max(S + static_cast<double>(x.n) * x.ii, E_min);
            moved = std::max({moved, std::abs(S - x.S), std::abs(E - x.E)});
            x.S = S, x.E = E;
        }
        out.relaxation_rounds = round + 1;
        if (moved < kConvergedCycles) {
            out.converged = true;
            break;
        }
    }

    // Layer ends: RESIDUAL's last interval of each layer.
    int residual = -1;
    for (std::size_t b = 0; b < g.blocks.size(); ++b)
        if (g.blocks[b].name == "RESIDUAL") residual = static_cast<int>(b);
    if (residual < 0) throw std::logic_error("fluid_schedule: the graph has no RESIDUAL block");
    out.layer_end_cycles.assign(static_cast<std::size_t>(modelled), 0);
    for (const Interval& x : iv)
        if (x.block == residual && x.last_of_invocation) out.layer_end_cycles[static_cast<std::size_t>(x.layer)] = x.E + x.depth;
    out.middle_layer_cycles = modelled >= 2 ? out.layer_end_cycles[static_cast<std::size_t>(modelled - 1)] -
                                                  out.layer_end_cycles[static_cast<std::size_t>(modelled - 2)]
                                            : out.layer_end_cycles[0];
    return out;
}

}  // namespace lmsim::dse
