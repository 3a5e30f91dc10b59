#include "hw/cycle_stepper.h"

#include <algorithm>
#include <deque>

namespace lmsim::hw {

namespace {

struct Fifo {
    int64_t capacity;
    int latency;
    std::vector<Cycle> w, r;  // every token's write and read cycle
    int64_t written() const { return static_cast<int64_t>(w.size()); }
    int64_t read() const { return static_cast<int64_t>(r.size()); }
};

struct Access {
    const StreamAccess* a;
    int64_t pos = 0;
    bool fires() const {
        return pos >= a->lo && pos < a->hi && (pos - a->lo) % a->stride == 0;
    }
};

struct Burst {
    int64_t first_beat;
    int beats;
    uint64_t address;
    bool issued = false;
    Cycle first = 0, done = 0;
};

class SteppedBlock {
public:
    SteppedBlock(const BlockProgram& p, std::vector<Fifo>& fifos, int layers, int tokens, int restart,
                 const std::vector<Cycle>& triggers, BurstTiming* memory, const ProducerParams& producer)
        : p_(p), fifos_(fifos), layers_(layers), total_(layers * tokens), restart_(restart), triggers_(triggers),
          memory_(memory), producer_(producer) {}

    bool done() const { return inv_ >= total_; }
    const BlockCounters& counters() const { return counters_; }

    // Starts at most one iteration at cycle c; true if it did.
    bool step(Cycle c) {
        if (done()) return false;
        const bool drained = drain(c);
        if (in_inv_ && phase_ >= p_.phases.size()) {  // waiting for a stall pipeline's last writes
            settle();
            return drained;
        }
        if (!in_inv_) {
            Cycle start;
            if (inv_ % layers_ == 0) {
                const std::size_t k = static_cast<std::size_t>(inv_ / layers_);
                if (triggers_.size() <= k) return false;
                start = triggers_[k];
            } else {
                start = last_end_ + restart_;
            }
            if (start > c) return false;
            in_inv_ = true;
            inv_start_ = start;
            tail_end_ = kNever;
            phase_lower_ = start + p_.overhead_cycles;
            phase_ = 0;
            entered_ = false;
            counters_.invocation_start.push_back(start);
            ++counters_.invocations;
            if (!settle()) return false;
        }
        const Phase& ph = p_.phases[phase_];
        const bool stall = ph.kind == PhaseKind::Loop && p_.style == PipelineStyle::Stall;
        bool started = stall ? stall_loop(c) : ph.kind == PhaseKind::Loop ? loop(c) : ph.kind == PhaseKind::MemRead ? mem_read(c) : mem_write(c);
        if (started) settle();
        return started || drained;
    }

    // Issues at most one read request at cycle c (the producer's AR channel).
    void issue(Cycle c) {
        if (!in_inv_ || done() || phase_ >= p_.phases.size() || p_.phases[phase_].kind != PhaseKind::MemRead ||
            next_issue_ >= bursts_.size())
            return;
        Burst& b = bursts_[next_issue_];
        if (c < phase_lower_ || (last_issue_ != kNever && c < last_issue_ + 1)) return;
        const std::size_t k = static_cast<std::size_t>(producer_.outstanding);
        if (read_done_.size() >= k && read_done_[read_done_.size() - k] > c) return;
        const int64_t need = routed_base_ + b.first_beat + b.beats - 1 - producer_.read_buffer_beats;
        if (need >= 0 && (need >= static_cast<int64_t>(routed_.size()) || routed_[need] + 1 > c)) return;
        if (producer_.sequential_loops && b.first_beat % producer_.loop_beats == 0) {
            Cycle after = phase_lower_;
            if (b.first_beat > 0) {
                const int64_t prev = routed_base_ + b.first_beat - 1;
                if (prev >= static_cast<int64_t>(routed_.size())) return;
                after = routed_[prev];
            }
            if (after + producer_.loop_restart_cycles > c) return;
        }
        const BurstCompletion done = memory_->read_burst(b.address, b.beats, c);
        b.issued = true;
        b.first = done.first;
        b.done = done.last;
        read_done_.push_back(done.last);
        last_issue_ = c;
        ++next_issue_;
    }

private:
    // Moves past finished phases and invocations; false if the invocation ended (or waits for
    // a stall pipeline's last writes).
    bool settle() {
        while (true) {
            if (phase_ >= p_.phases.size()) {
                if (!drain_.empty()) return false;
                Cycle end = std::max({prev_start_ + prev_ii_ + p_.depth_cycles, mem_busy_, inv_start_, tail_end_});
                counters_.invocation_end.push_back(end);
                last_end_ = end;
                ++inv_;
                in_inv_ = false;
                return false;
            }
            const Phase& ph = p_.phases[phase_];
            if (!entered_) {
                if (!phase_applies(ph, inv_ % layers_, layers_) || ph.trips == 0) {
                    ++phase_;
                    continue;
                }
                entered_ = true;
                iter_ = 0;
                next_lower_ = phase_lower_;
                ins_.clear();
                outs_.clear();
                for (const StreamAccess& a : ph.reads) ins_.push_back({&a});
                for (const StreamAccess& a : ph.writes) outs_.push_back({&a});
                if (ph.kind != PhaseKind::Loop) make_bursts(ph);
                if (ph.kind == PhaseKind::MemRead) routed_base_ = static_cast<int64_t>(routed_.size());
            }
            if (iter_ < ph.trips || owed_) return true;
            // A stall pipeline's iterations still to write drain on their own, one slot per II.
            if (p_.style == PipelineStyle::Stall && ph.kind == PhaseKind::Loop && !pending_.empty()) {
                const int k = p_.depth_cycles / ph.ii;
                drain_.push_back({outs_, ph.ii, p_.depth_cycles - k * ph.ii, prev_start_ + ph.ii, std::move(pending_)});
                pending_.clear();
            }
            phase_lower_ = ph.kind == PhaseKind::MemWrite ? std::max(prev_start_ + 1, mem_busy_) : prev_start_ + ph.ii;
            ++phase_;
            entered_ = false;
        }
    }

    void make_bursts(const Phase& ph) {
        bursts_.clear();
        next_issue_ = 0;
        for (const ProducerBurst& b : producer_bursts(ph, inv_ % layers_, producer_))
            bursts_.push_back({b.first_beat, b.beats, b.address});
    }

    // Every token the fired reads take is readable at cycle c.
    bool inputs_ready(Cycle c) const {
        for (const Access& i : ins_) {
            if (!i.fires()) continue;
            const Fifo& f = fifos_[i.a->fifo];
            for (int k = 0; k < i.a->count; ++k) {
                const int64_t t = f.read() + k;
                if (t >= f.written() || f.w[t] + f.latency > c) return false;
            }
        }
        return true;
    }
    void take_inputs(Cycle c) {
        for (const Access& i : ins_)
            if (i.fires())
                for (int k = 0; k < i.a->count; ++k) fifos_[i.a->fifo].r.push_back(c);
    }
    // Bit p: output p fires in the current iteration.
    uint32_t fired_outputs() const {
        uint32_t m = 0;
        for (std::size_t p = 0; p < outs_.size(); ++p)
            if (outs_[p].fires()) m |= uint32_t{1} << p;
        return m;
    }
    // Room at cycle w for the writes of an iteration whose fired outputs are `fired`.
    bool room(const std::vector<Access>& outs, uint32_t fired, Cycle w) const {
        for (std::size_t p = 0; p < outs.size(); ++p) {
            if (!(fired >> p & 1)) continue;
            const Fifo& f = fifos_[outs[p].a->fifo];
            for (int k = 0; k < outs[p].a->count; ++k) {
                const int64_t kr = f.written() + k - f.capacity;
                if (kr >= 0 && (kr >= f.read() || f.r[kr] + 1 > w)) return false;
            }
        }
        return true;
    }
    void write(const std::vector<Access>& outs, uint32_t fired, Cycle w) {
        for (std::size_t p = 0; p < outs.size(); ++p)
            if (fired >> p & 1)
                for (int k = 0; k < outs[p].a->count; ++k) fifos_[outs[p].a->fifo].w.push_back(w);
    }
    // A stall pipeline moves in lock step, its port conditions checked in the cycle each acts:
    // a slot reads iteration i's inputs at cycle c (when there), and the iteration K = depth /
    // II slots older writes at c + depth % II or, while its output has no room, later; the
    // whole pipeline waits for that write (the slot's time is the write's minus depth % II).
    bool stall_loop(Cycle c) {
        const Phase& ph = p_.phases[phase_];
        const int k = p_.depth_cycles / ph.ii, off = p_.depth_cycles - k * ph.ii;
        if (owed_) {
            if (c < owed_read_ + off || !room(outs_, pending_.front(), c)) return false;
            write(outs_, pending_.front(), c);
            pending_.pop_front();
            owed_ = false;
            tail_end_ = std::max(tail_end_, c + ph.ii);
            slot_time(c - off, ph.ii);
            return true;
        }
        if (c < next_lower_ || !inputs_ready(c)) return false;
        const uint32_t mine = fired_outputs();
        // Read and write in the same cycle (depth % II = 0): a write without room stalls the read.
        if (off == 0 && pending_.size() + 1 > static_cast<std::size_t>(k) &&
            !room(outs_, pending_.empty() ? mine : pending_.front(), c))
            return false;
        take_inputs(c);
        pending_.push_back(mine);
        for (Access& a : ins_) a.pos = (a.pos + 1) % a.a->period;
        for (Access& a : outs_) a.pos = (a.pos + 1) % a.a->period;
        ++iter_;
        ++counters_.iterations;
        if (pending_.size() > static_cast<std::size_t>(k)) {
            owed_ = true;
            owed_read_ = c;
            stall_loop(c);  // the write, if it can happen this cycle (depth % II = 0)
        } else {
            slot_time(c, ph.ii);
        }
        return true;
    }
    void slot_time(Cycle t, int ii) {
        prev_start_ = t;
        prev_ii_ = ii;
        next_lower_ = t + ii;
    }
    // The drain slots of stall pipelines' finished loops, each at its own pace.
    bool drain(Cycle c) {
        bool any = false;
        for (Drain& d : drain_) {
            if (d.masks.empty() || c < d.lower + d.off || !room(d.outs, d.masks.front(), c)) continue;
            write(d.outs, d.masks.front(), c);
            d.masks.pop_front();
            tail_end_ = std::max(tail_end_, c + d.ii);
            d.lower = c - d.off + d.ii;
            any = true;
        }
        while (!drain_.empty() && drain_.front().masks.empty()) drain_.pop_front();
        return any;
    }

    // The current iteration's outputs: room now, and written depth cycles on.
    bool outputs_free(Cycle c) const { return room(outs_, fired_outputs(), c); }
    void write_outputs(Cycle c) { write(outs_, fired_outputs(), c + p_.depth_cycles); }
    void started(Cycle c, int ii) {
        for (Access& a : ins_) a.pos = (a.pos + 1) % a.a->period;
        for (Access& a : outs_) a.pos = (a.pos + 1) % a.a->period;
        prev_start_ = c;
        prev_ii_ = ii;
        next_lower_ = c + ii;
        ++iter_;
        ++counters_.iterations;
    }

    bool loop(Cycle c) {
        if (c < next_lower_) return false;
        if (!inputs_ready(c) || !outputs_free(c)) return false;
        take_inputs(c);
        write_outputs(c);
        started(c, p_.phases[phase_].ii);
        return true;
    }

    bool mem_read(Cycle c) {
        if (c < next_lower_) return false;
        while (bursts_[cur_].first_beat + bursts_[cur_].beats <= iter_) ++cur_;
        const Burst& b = bursts_[cur_];
        if (!b.issued) return false;
        const Cycle arrival = std::max({last_arrival_ == kNever ? kNever : last_arrival_ + 1, b.first + (iter_ - b.first_beat),
                                        b.done - (b.first_beat + b.beats - 1 - iter_)});
        if (arrival + kReadBeatRouteCycles > c || !outputs_free(c)) return false;
        write_outputs(c);
        last_arrival_ = arrival;
        routed_.push_back(c);
        counters_.bytes_read += producer_.beat_bytes;
        started(c, 1);
        if (iter_ == p_.phases[phase_].trips) cur_ = 0;
        return true;
    }

    bool mem_write(Cycle c) {
        if (c < next_lower_) return false;
        while (bursts_[cur_].first_beat + bursts_[cur_].beats <= iter_) ++cur_;
        Burst& b = bursts_[cur_];
        Fifo& src = fifos_[p_.phases[phase_].reads.at(0).fifo];
        const int count = p_.phases[phase_].reads[0].count;
        for (int k = 0; k < count; ++k)
            if (src.read() + k >= src.written() || src.w[src.read() + k] + src.latency > c) return false;
        const std::size_t k = static_cast<std::size_t>(producer_.outstanding);
        if (iter_ == b.first_beat && write_done_.size() >= k && write_done_[write_done_.size() - k] > c) return false;
        if (producer_.sequential_loops && iter_ % producer_.loop_beats == 0 && iter_ > 0 &&
            mem_busy_ + producer_.loop_restart_cycles > c)
            return false;
        for (int k = 0; k < count; ++k) src.r.push_back(c);
        if (iter_ == b.first_beat + b.beats - 1) {
            b.done = memory_->write_burst(b.address, b.beats, c + 1).last;
            write_done_.push_back(b.done);
            mem_busy_ = std::max(mem_busy_, b.done);
        }
        counters_.bytes_written += producer_.beat_bytes;
        started(c, 1);
        if (iter_ == p_.phases[phase_].trips) cur_ = 0;
        return true;
    }

    const BlockProgram& p_;
    std::vector<Fifo>& fifos_;
    int layers_, total_, restart_;
    const std::vector<Cycle>& triggers_;
    BurstTiming* memory_;
    ProducerParams producer_;
    BlockCounters counters_;
    int inv_ = 0;
    bool in_inv_ = false, entered_ = false;
    std::size_t phase_ = 0, cur_ = 0, next_issue_ = 0;
    int64_t iter_ = 0;
    Cycle inv_start_ = 0, phase_lower_ = 0, next_lower_ = 0, prev_start_ = kNever, last_end_ = 0, mem_busy_ = 0;
    int prev_ii_ = 0;
    std::vector<Access> ins_, outs_;
    // Stall pipelines: fired outputs of the iterations yet to write (current loop, finished loops).
    std::deque<uint32_t> pending_;
    bool owed_ = false;    // the front of pending_ is due: its slot read at owed_read_
    Cycle owed_read_ = 0;
    struct Drain {
        std::vector<Access> outs;
        int ii, off;
        Cycle lower;
        std::deque<uint32_t> masks;
    };
    std::deque<Drain> drain_;
    Cycle tail_end_ = kNever;
    std::vector<Burst> bursts_;
    Cycle last_issue_ = kNever, last_arrival_ = kNever;
    std::vector<Cycle> routed_, read_done_, write_done_;
    int64_t routed_base_ = 0;
};

}  // namespace

SteppedResult step_cycles(const DataflowGraph& graph, int tokens, int restart_cycles, BurstTiming* memory,
                          ProducerParams producer, Cycle deadlock_window_cycles) {
    std::vector<SteppedMemory> memories;
    for (const BlockProgram& b : graph.blocks)
        if (b.is_memory_master) memories.push_back({b.name, memory, producer});
    return step_cycles(graph, tokens, restart_cycles, memories, deadlock_window_cycles);
}

SteppedResult step_cycles(const DataflowGraph& graph, int tokens, int restart_cycles,
                          const std::vector<SteppedMemory>& memories, Cycle deadlock_window_cycles) {
    std::vector<Fifo> fifos;
    for (const FifoSpec& f : graph.fifos)
        fifos.push_back({f.capacity, f.latency_cycles, {}, {}});
    std::vector<Cycle> triggers = {0};
    std::vector<SteppedBlock> blocks;
    for (const BlockProgram& b : graph.blocks) {
        BurstTiming* memory = nullptr;
        ProducerParams producer = memories.empty() ? ProducerParams{} : memories.front().producer;
        for (const SteppedMemory& m : memories)
            if (b.is_memory_master && m.block == b.name) memory = m.memory, producer = m.producer;
        blocks.emplace_back(b, fifos, graph.layers, tokens, restart_cycles, triggers, memory, producer);
    }
    SteppedResult r;
    Cycle last_progress = 0;
    for (Cycle c = 0;; ++c) {
        bool all_done = true;
        for (SteppedBlock& b : blocks) {
            if (b.done()) continue;
            all_done = false;
            if (b.step(c)) last_progress = c;
            b.issue(c);
        }
        // The host starts the next token when every block has finished this one.
        const std::size_t k = r.token_end_cycles.size();
        if (k < static_cast<std::size_t>(tokens)) {
            const std::size_t need = (k + 1) * static_cast<std::size_t>(graph.layers);
            bool finished = true;
            Cycle end = 0;
            for (const SteppedBlock& b : blocks) {
                if (b.counters().invocation_end.size() < need) {
                    finished = false;
                    break;
                }
                end = std::max(end, b.counters().invocation_end[need - 1]);
            }
            if (finished) {
                r.token_end_cycles.push_back(end);
                triggers.push_back(end);
            }
        }
        if (all_done) break;
        if (c - last_progress > deadlock_window_cycles) {
            r.deadlock = true;
            break;
        }
    }
    r.total_cycles = r.token_end_cycles.empty() ? 0 : r.token_end_cycles.back();
    for (const SteppedBlock& b : blocks) r.blocks.push_back(b.counters());
    for (const Fifo& f : fifos) r.fifo_tokens.push_back(f.written());
    return r;
}

}  // namespace lmsim::hw
