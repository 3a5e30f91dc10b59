#include "hw/dataflow.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace lmsim::hw {

namespace {
int64_t ring_size_for(int64_t capacity) {
    int64_t n = 64;
    while (n < 4 * capacity + 64) n *= 2;
    return n;
}
}  // namespace

int64_t StreamAccess::tokens_for(int64_t trips) const {
    int64_t per_period = 0;
    for (int64_t pos = lo; pos < std::min(hi, period); pos += stride) ++per_period;
    int64_t n = (trips / period) * per_period;
    for (int64_t pos = lo; pos < std::min(hi, trips % period); pos += stride) ++n;
    return n * count;
}

bool phase_applies(const Phase& p, int layer, int layers) {
    switch (p.when) {
        case Applies::Always: return true;
        case Applies::FirstLayer: return layer == 0;
        case Applies::LastLayer: return layer == layers - 1;
    }
    return true;
}

int64_t BlockProgram::isolated_latency_cycles(int layer, int layers) const {
    int64_t c = overhead_cycles + depth_cycles;
    for (const Phase& p : phases)
        if (phase_applies(p, layer, layers)) c += p.trips * p.ii;
    return c;
}

const BlockProgram& DataflowGraph::block(const std::string& name) const {
    for (const BlockProgram& b : blocks)
        if (b.name == name) return b;
    throw std::out_of_range("no block named " + name);
}

// --- TimedFifo ------------------------------------------------------------------------------

TimedFifo::TimedFifo(std::string name, int depth, int64_t capacity, int latency_cycles)
    : name_(std::move(name)), depth_(depth), capacity_(capacity), latency_(latency_cycles) {
    const int64_t n = ring_size_for(capacity_);
    w_.assign(n, 0);
    r_.assign(n, 0);
    mask_ = n - 1;
    occupancy_cycles_.assign(capacity_ + 1, 0);
}

void TimedFifo::push_level(Cycle at, int level) {
    if (!level_samples_.empty() && level_samples_.back().at == at) level_samples_.back().level = level;
    else if (level_samples_.empty() || level_samples_.back().level != level) level_samples_.push_back({at, level});
}

void TimedFifo::close_level_bin() {
    // The window that ends: its highest level, then (if it ends lower) the level it stays at.
    push_level(level_bin_ * level_bin_cycles_, level_bin_max_);
    if (occupancy_ != level_bin_max_) push_level((level_bin_ + 1) * level_bin_cycles_, occupancy_);
}

void TimedFifo::sample_level(Cycle t) {
    const Cycle bin = t / level_bin_cycles_;
    if (bin == level_bin_) return;
    if (level_bin_ >= 0) close_level_bin();
    level_bin_ = bin;
    level_bin_max_ = occupancy_;
}

void TimedFifo::advance_statistics(Cycle safe_until) {
    while (true) {
        const bool have_w = stat_w_ < written_;
        const bool have_r = stat_r_ < read_;
        const Cycle tw = have_w ? write_cycle(stat_w_) : kNever;
        const Cycle tr = have_r ? read_cycle(stat_r_) : kNever;
        Cycle t;
        bool is_write;
        if (have_w && (!have_r || tw <= tr)) {
            t = tw;
            is_write = true;
        } else if (have_r) {
            t = tr;
            is_write = false;
        } else {
            return;
        }
        if (t > safe_until) return;
        if (level_bin_cycles_ > 0) sample_level(t);
        if (t > stat_time_) {
            occupancy_cycles_[std::clamp<int64_t>(occupancy_, 0, capacity_)] += t - stat_time_;
            stat_time_ = t;
        }
        if (is_write) {
            ++occupancy_;
            ++stat_w_;
            max_occupancy_ = std::max(max_occupancy_, occupancy_);
            level_bin_max_ = std::max(level_bin_max_, occupancy_);
        } else {
            --occupancy_;
            ++stat_r_;
        }
    }
}

void TimedFifo::finish_statistics(Cycle until) {
    advance_statistics(std::numeric_limits<Cycle>::max());
    if (level_bin_cycles_ > 0 && level_bin_ >= 0) {
        close_level_bin();
        level_bin_ = -1;
    }
    if (until > stat_time_) {
        occupancy_cycles_[std::clamp<int64_t>(occupancy_, 0, capacity_)] += until - stat_time_;
        stat_time_ = until;
    }
}

std::vector<ProducerBurst> producer_bursts(const Phase& p, int layer, const ProducerParams& params) {
    std::vector<ProducerBurst> out;
    const uint64_t base = p.address + static_cast<uint64_t>(layer) * p.address_per_layer;
    const int64_t bb = params.beat_bytes;
    const uint64_t edge = static_cast<uint64_t>(params.boundary_bytes);
    for (int64_t beat = 0; beat < p.trips;) {
        const uint64_t addr = base + static_cast<uint64_t>(beat * bb);
        const int64_t to_edge = static_cast<int64_t>((edge - addr % edge) / static_cast<uint64_t>(bb));
        int64_t n = std::max<int64_t>(1, std::min({p.trips - beat, int64_t{params.burst_beats}, to_edge}));
        if (params.sequential_loops) n = std::min(n, params.loop_beats - beat % params.loop_beats);
        out.push_back({beat, static_cast<int>(n), addr});
        beat += n;
    }
    return out;
}

// --- BlockRunner ----------------------------------------------------------------------------

BlockRunner::BlockRunner(const BlockProgram& program, std::vector<TimedFifo>& fifos, int layers, int tokens,
                         int restart_cycles, const std::vector<Cycle>* triggers, BurstTiming* memory,
                         ProducerParams producer)
    : program_(program), fifos_(fifos), layers_(layers), tokens_(tokens), restart_cycles_(restart_cycles),
      triggers_(triggers), memory_(memory), producer_(producer) {
    if (program.is_memory_master) {
        if (!memory_) throw std::logic_error(program.name + ": a memory master needs a memory model");
        routed_.assign(ring_size_for(producer_.read_buffer_beats), 0);
    }
}

std::string BlockRunner::position() const {
    if (done_) return "finished";
    if (!in_invocation_) return fmt::format("token {} layer {}, waiting to start", token(), layer());
    const Phase& p = program_.phases[std::min(phase_, program_.phases.size() - 1)];
    return fmt::format("token {} layer {}, phase {}, iteration {} of {}", token(), layer(), p.name, iter_, p.trips);
}

bool BlockRunner::begin_invocation() {
    if (layer_ % layers_ == 0) {
        // The first layer of a token starts when the host writes T.
        const std::size_t k = static_cast<std::size_t>(layer_ / layers_);
        if (k > 0 && (!triggers_ || triggers_->size() <= k)) return false;
        invocation_start_ = k == 0 ? 0 : (*triggers_)[k];
    } else {
        invocation_start_ = last_end_ + restart_cycles_;
    }
    phase_lower_ = invocation_start_ + program_.overhead_cycles;
    phase_ = 0;
    iter_ = 0;
    entered_ = false;
    prev_start_ = kNever;
    prev_ii_ = 0;
    invocation_stall_ = 0;
    stall_tail_end_ = kNever;
    in_invocation_ = true;
    ++counters_.invocations;
    counters_.invocation_start.push_back(invocation_start_);
    return true;
}

void BlockRunner::end_invocation() {
    Cycle end = std::max({prev_start_ + prev_ii_ + program_.depth_cycles, memory_busy_until_, stall_tail_end_});
    end = std::max(end, invocation_start_);
    counters_.invocation_end.push_back(end);
    counters_.busy_cycles += (end - invocation_start_) - invocation_stall_;
    counters_.last_end = end;
    last_end_ = end;
    ++layer_;
    in_invocation_ = false;
}

bool BlockRunner::enter_phase() {
    while (phase_ < program_.phases.size()) {
        const Phase& p = program_.phases[phase_];
        if (!entered_) {
            if (!phase_applies(p, layer_ % layers_, layers_) || p.trips == 0) {
                ++phase_;
                continue;
            }
            entered_ = true;
            iter_ = 0;
            next_lower_ = phase_lower_;
            auto ports = [&](const std::vector<StreamAccess>& accesses) {
                std::vector<Port> v;
                for (const StreamAccess& a : accesses)
                    v.push_back(Port{&fifos_[a.fifo], a.period, a.lo, a.hi, a.stride, a.count,
                                     a.period == 1 && a.lo == 0 && a.hi >= 1, 0, 0});
                return v;
            };
            in_ports_ = ports(p.reads);
            out_ports_ = ports(p.writes);
            if (program_.style == PipelineStyle::Stall && p.kind == PhaseKind::Loop) {
                stall_k_ = program_.depth_cycles / p.ii;
                stall_off_ = program_.depth_cycles - stall_k_ * p.ii;
                stall_pending_.clear();
            }
            if (p.kind != PhaseKind::Loop) {
                bursts_.clear();
                cur_burst_ = 0;
                next_issue_ = 0;
                for (const ProducerBurst& b : producer_bursts(p, layer_ % layers_, producer_))
                    bursts_.push_back({b.first_beat, b.beats, b.address});
            }
        }
        if (iter_ < p.trips) return true;
        // The phase is over: the next one starts back to back (loops), after the last routed
        // beat (reads) or after every write response (writes) [A: the M_AXI FSM is sequential].
        if (p.kind == PhaseKind::MemWrite) phase_lower_ = std::max(prev_start_ + 1, memory_busy_until_);
        else phase_lower_ = prev_start_ + p.ii;
        ++phase_;
        entered_ = false;
    }
    return false;
}

BlockRunner::Status BlockRunner::advance(int64_t max_iterations, int* blocked) {
    if (done_) return Status::Done;
    for (int64_t n = 0; n < max_iterations; ++n) {
        if (!in_invocation_) {
            if (layer_ >= layers_ * tokens_) {
                done_ = true;
                return Status::Done;
            }
            if (!begin_invocation()) return Status::WaitingForTrigger;
        }
        // A stall pipeline's last iterations still to write: the phase's drain slots.
        if (entered_ && iter_ >= current_trips_ && !stall_pending_.empty()) {
            Status s = stall_loop_slot(blocked);
            if (s != Status::Progress) return s;
            continue;
        }
        // Fast path: still inside the current phase.
        if (!(entered_ && iter_ < current_trips_)) {
            if (!enter_phase()) {
                end_invocation();
                continue;
            }
            current_trips_ = program_.phases[phase_].trips;
            current_kind_ = program_.phases[phase_].kind;
        }
        const bool stall = current_kind_ == PhaseKind::Loop && program_.style == PipelineStyle::Stall;
        Status s = stall                                  ? stall_loop_slot(blocked)
                   : current_kind_ == PhaseKind::Loop      ? loop_iteration(blocked)
                   : current_kind_ == PhaseKind::MemRead ? mem_read_beat(blocked)
                                                         : mem_write_beat(blocked);
        if (s != Status::Progress) return s;
    }
    return Status::Progress;
}

void BlockRunner::record_start(Cycle t, Cycle lower, Cycle in_bound, Cycle out_bound, int ii) {
    if (t > lower) {
        const Cycle stall = t - lower;
        if (in_bound >= out_bound) counters_.stall_in_cycles += stall;
        else counters_.stall_out_cycles += stall;
        invocation_stall_ += stall;
    }
    prev_start_ = t;
    prev_ii_ = ii;
    next_lower_ = t + ii;
    ++counters_.iterations;
    ++iter_;
}

int BlockRunner::binding_input(Cycle bound) const {
    for (const Port& port : in_ports_) {
        if (!port.fires()) continue;
        const TimedFifo& f = *port.fifo;
        for (int c = 0; c < port.count; ++c)
            if (f.write_cycle(f.read() + c) + f.latency() == bound) return static_cast<int>(port.fifo - fifos_.data());
    }
    return -1;
}

int BlockRunner::binding_output(uint32_t fired, Cycle bound, int offset) const {
    for (std::size_t p = 0; p < out_ports_.size(); ++p) {
        if (!(fired >> p & 1)) continue;
        const TimedFifo& f = *out_ports_[p].fifo;
        for (int c = 0; c < out_ports_[p].count; ++c) {
            const int64_t kr = f.written() + c - f.capacity();
            if (kr >= 0 && f.read_cycle(kr) + 1 - offset == bound) return static_cast<int>(out_ports_[p].fifo - fifos_.data());
        }
    }
    return -1;
}

void BlockRunner::note_stall(Cycle t, Cycle lower, Cycle in_bound, Cycle out_bound, int in_fifo, int out_fifo) {
    if (t <= lower) return;
    const bool on_input = in_bound >= out_bound;  // as record_start attributes it
    const int fifo = on_input ? in_fifo : out_fifo;
    std::vector<StallSpan>& v = counters_.stalls;
    if (!v.empty() && v.back().fifo == fifo && v.back().on_input == on_input && lower - v.back().end < stall_merge_gap_ &&
        lower >= invocation_start_ && v.back().begin >= invocation_start_) {
        v.back().end = t;
        ++v.back().stalls;
        v.back().stall_cycles += t - lower;
        return;
    }
    v.push_back({lower, t, fifo, on_input, 1, t - lower});
}

void BlockRunner::advance_positions() {
    for (Port& p : in_ports_) p.step();
    for (Port& p : out_ports_) p.step();
}

// Bounds from the outputs (credit rule); false if a needed read time is not known yet.
bool BlockRunner::output_bound(Cycle* bound, int* blocked) const { return output_bound(fired_outputs(), bound, blocked); }

// Bounds from the inputs: every token the fired reads take must be written; false (and the
// FIFO in `blocked`) if one is not yet.
bool BlockRunner::input_bound(Cycle* bound, int* blocked) const {
    for (const Port& port : in_ports_) {
        if (!port.fires()) continue;
        const TimedFifo& f = *port.fifo;
        for (int c = 0; c < port.count; ++c) {
            const int64_t k = f.read() + c;
            if (k >= f.written()) {
                *blocked = static_cast<int>(port.fifo - fifos_.data());
                return false;
            }
            *bound = std::max(*bound, f.write_cycle(k) + f.latency());
        }
    }
    return true;
}

void BlockRunner::pop_inputs(Cycle t) {
    for (Port& port : in_ports_) {
        if (!port.fires()) continue;
        for (int c = 0; c < port.count; ++c) port.fifo->pop(t);
    }
}

uint32_t BlockRunner::fired_outputs() const {
    uint32_t m = 0;
    for (std::size_t p = 0; p < out_ports_.size(); ++p)
        if (out_ports_[p].fires()) m |= uint32_t{1} << p;
    return m;
}

bool BlockRunner::output_bound(uint32_t fired, Cycle* bound, int* blocked) const {
    for (std::size_t p = 0; p < out_ports_.size(); ++p) {
        if (!(fired >> p & 1)) continue;
        const TimedFifo& f = *out_ports_[p].fifo;
        for (int c = 0; c < out_ports_[p].count; ++c) {
            const int64_t kr = f.written() + c - f.capacity();
            if (kr < 0) continue;
            if (kr >= f.read()) {
                *blocked = static_cast<int>(out_ports_[p].fifo - fifos_.data());
                return false;
            }
            *bound = std::max(*bound, f.read_cycle(kr) + 1);
        }
    }
    return true;
}

void BlockRunner::commit_writes(uint32_t fired, Cycle w) {
    for (std::size_t p = 0; p < out_ports_.size(); ++p)
        if (fired >> p & 1)
            for (int c = 0; c < out_ports_[p].count; ++c) out_ports_[p].fifo->push(w);
}

// One lock-step slot of a stall pipeline: iteration iter_ starts (if any is left) and the
// iteration K slots older writes, `off` cycles into the slot; the slot waits for both.
BlockRunner::Status BlockRunner::stall_loop_slot(int* blocked) {
    const Phase& p = program_.phases[phase_];
    const bool starts = iter_ < p.trips;
    const Cycle lower = starts ? next_lower_ : stall_drain_lower_;
    Cycle in_bound = kNever, out_bound = kNever;
    if (starts && !input_bound(&in_bound, blocked)) return Status::BlockedOnInput;
    const uint32_t mine = starts ? fired_outputs() : 0;
    const std::size_t pending = stall_pending_.size();
    const bool due = starts ? pending + 1 > static_cast<std::size_t>(stall_k_) : pending > 0;
    const uint32_t due_mask = !due ? 0 : pending > 0 ? stall_pending_.front() : mine;
    if (due) {
        Cycle room = kNever;
        if (!output_bound(due_mask, &room, blocked)) return Status::BlockedOnOutput;
        if (room != kNever) out_bound = room - stall_off_;
    }
    // The slot's time follows both its reads and the due write. When the write falls later
    // in the slot (depth % II > 0) the reads happen as soon as the inputs are there and the
    // write's wait holds the pipeline afterwards; when both fall in the same cycle (depth % II
    // = 0) a blocked write stalls that cycle's reads too.
    const Cycle t = std::max({lower, in_bound, out_bound});
    if (record_stalls_ && starts && t > next_lower_)
        note_stall(t, next_lower_, in_bound, out_bound, binding_input(in_bound),
                   due ? binding_output(due_mask, out_bound, stall_off_) : -1);
    if (starts) {
        pop_inputs(stall_off_ > 0 ? std::max(lower, in_bound) : t);
        stall_pending_.push_back(mine);
    }
    if (due) {
        commit_writes(due_mask, t + stall_off_);
        stall_pending_.pop_front();
        stall_tail_end_ = std::max(stall_tail_end_, t + stall_off_ + p.ii);
    }
    if (starts) {
        advance_positions();
        record_start(t, next_lower_, in_bound, out_bound, p.ii);
        stall_drain_lower_ = next_lower_;
    } else {
        // A drain slot that waits is not counted as a stall: the block's next loop may be
        // running meanwhile (the drain overlaps it, docs/validation.md).
        stall_drain_lower_ = t + p.ii;
    }
    return Status::Progress;
}

void BlockRunner::commit_writes(Cycle t) { commit_writes(fired_outputs(), t + program_.depth_cycles); }

BlockRunner::Status BlockRunner::loop_iteration(int* blocked) {
    const Phase& p = program_.phases[phase_];
    Cycle in_bound = kNever, out_bound = kNever;
    if (!input_bound(&in_bound, blocked)) return Status::BlockedOnInput;
    if (!output_bound(&out_bound, blocked)) return Status::BlockedOnOutput;
    const Cycle t = std::max({next_lower_, in_bound, out_bound});
    if (record_stalls_ && t > next_lower_)
        note_stall(t, next_lower_, in_bound, out_bound, binding_input(in_bound), binding_output(fired_outputs(), out_bound, 0));
    pop_inputs(t);
    commit_writes(t);
    advance_positions();
    record_start(t, next_lower_, in_bound, out_bound, p.ii);
    return Status::Progress;
}

void BlockRunner::issue_read_burst(std::size_t b) {
    Burst& burst = bursts_[b];
    // The producer's FSM enters a phase's loop when the previous one has finished (phase_lower_);
    // one AR per cycle.
    Cycle issue = std::max(phase_lower_, last_issue_ == kNever ? kNever : last_issue_ + 1);
    if (producer_.sequential_loops && burst.first_beat % producer_.loop_beats == 0) {
        // A new loop: after the previous loop's last beat left the read buffer.
        const int64_t prev = routed_base_ + burst.first_beat - 1;
        const Cycle after = burst.first_beat == 0 ? phase_lower_ : routed_[prev & (static_cast<int64_t>(routed_.size()) - 1)];
        issue = std::max(issue, after + producer_.loop_restart_cycles);
    }
    const std::size_t k = static_cast<std::size_t>(producer_.outstanding);
    if (read_done_.size() >= k) issue = std::max(issue, read_done_[read_done_.size() - k]);
    // Room in the M_AXI read buffer for the whole burst (reserved when the request is issued).
    const int64_t global_last = routed_base_ + burst.first_beat + burst.beats - 1;
    const int64_t need = global_last - producer_.read_buffer_beats;
    if (need >= 0) issue = std::max(issue, routed_[need & (static_cast<int64_t>(routed_.size()) - 1)] + 1);
    const BurstCompletion c = memory_->read_burst(burst.address, burst.beats, issue);
    burst.first = c.first;
    burst.done = c.last;
    read_done_.push_back(burst.done);
    last_issue_ = issue;
    ++counters_.bursts;
}

bool BlockRunner::read_burst_ready(std::size_t b) const {
    // The beats issue_read_burst bounds the burst by (the previous loop's last, and the one whose
    // leaving makes room in the read buffer) have been routed.
    const Burst& burst = bursts_[b];
    if (producer_.sequential_loops && burst.first_beat % producer_.loop_beats == 0 && burst.first_beat > 0 &&
        routed_base_ + burst.first_beat - 1 >= routed_count_)
        return false;
    const int64_t need = routed_base_ + burst.first_beat + burst.beats - 1 - producer_.read_buffer_beats;
    return need < routed_count_;
}

BlockRunner::Status BlockRunner::mem_read_beat(int* blocked) {
    if (iter_ == 0) routed_base_ = routed_count_;
    while (bursts_[cur_burst_].first_beat + bursts_[cur_burst_].beats <= iter_) ++cur_burst_;
    // The burst this beat belongs to, and every later one whose bounds are already known, as
    // the AR channel would, before the beat can wait for output space: the same issue cycles as
    // issuing each at its first beat, asked for no later in simulation time than they fall (what
    // a TLM-2.0 initiator needs: memory.fidelity = tlm).
    while (next_issue_ < bursts_.size() && (next_issue_ <= cur_burst_ || read_burst_ready(next_issue_)))
        issue_read_burst(next_issue_++);
    const Burst& b = bursts_[cur_burst_];
    // The port carries one beat per cycle: beat i of a burst arrives no earlier than its first
    // beat + i, nor than the burst's last beat minus the beats after it.
    const Cycle arrival = std::max({last_arrival_ == kNever ? kNever : last_arrival_ + 1, b.first + (iter_ - b.first_beat),
                                    b.done - (b.first_beat + b.beats - 1 - iter_)});
    const Cycle in_bound = arrival + kReadBeatRouteCycles;
    Cycle out_bound = kNever;
    if (!output_bound(&out_bound, blocked)) return Status::BlockedOnOutput;
    const Cycle t = std::max({next_lower_, in_bound, out_bound});
    if (record_stalls_ && t > next_lower_) note_stall(t, next_lower_, in_bound, out_bound, -1, binding_output(fired_outputs(), out_bound, 0));
    commit_writes(t);
    advance_positions();
    last_arrival_ = arrival;
    routed_[routed_count_ & (static_cast<int64_t>(routed_.size()) - 1)] = t;
    ++routed_count_;
    counters_.bytes_read += producer_.beat_bytes;
    record_start(t, next_lower_, in_bound, out_bound, 1);
    return Status::Progress;
}

BlockRunner::Status BlockRunner::mem_write_beat(int* blocked) {
    const Phase& p = program_.phases[phase_];
    while (bursts_[cur_burst_].first_beat + bursts_[cur_burst_].beats <= iter_) ++cur_burst_;
    Burst& b = bursts_[cur_burst_];
    TimedFifo& src = fifos_[p.reads.at(0).fifo];
    const int count = p.reads[0].count;  // 32-byte tokens per beat
    if (src.read() + count > src.written()) {
        *blocked = p.reads[0].fifo;
        return Status::BlockedOnInput;
    }
    const Cycle in_bound = src.write_cycle(src.read() + count - 1) + src.latency();
    Cycle out_bound = kNever;
    const std::size_t k = static_cast<std::size_t>(producer_.outstanding);
    if (iter_ == b.first_beat && write_done_.size() >= k) out_bound = write_done_[write_done_.size() - k];
    if (producer_.sequential_loops && iter_ % producer_.loop_beats == 0 && iter_ > 0)
        out_bound = std::max(out_bound, memory_busy_until_ + producer_.loop_restart_cycles);  // responses of the last loop
    const Cycle t = std::max({next_lower_, in_bound, out_bound});
    if (record_stalls_ && t > next_lower_) note_stall(t, next_lower_, in_bound, out_bound, p.reads[0].fifo, -1);
    for (int c = 0; c < count; ++c) src.pop(t);
    if (iter_ == b.first_beat + b.beats - 1) {
        // The burst goes out once its last beat is in the write buffer [A].
        b.done = memory_->write_burst(b.address, b.beats, t + 1).last;
        write_done_.push_back(b.done);
        memory_busy_until_ = std::max(memory_busy_until_, b.done);
        ++counters_.bursts;
    }
    counters_.bytes_written += producer_.beat_bytes;
    advance_positions();
    record_start(t, next_lower_, in_bound, out_bound, 1);
    return Status::Progress;
}

}  // namespace lmsim::hw
