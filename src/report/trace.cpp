#include "report/trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.h"

namespace lmsim {

TraceWindow parse_trace_window(const std::string& text) {
    TraceWindow w;
    w.text = text;
    const auto fail = [&] {
        throw InputError(fmt::format("--trace-window {}: expected cycles:BEGIN-END (accelerator cycles, END exclusive) "
                                     "or layers:FIRST-LAST (layer invocations counted across tokens, inclusive)",
                                     text));
    };
    const std::size_t colon = text.find(':');
    if (colon == std::string::npos) fail();
    const std::string kind = text.substr(0, colon), range = text.substr(colon + 1);
    if (kind == "layers") w.by_layers = true;
    else if (kind != "cycles") fail();
    const std::size_t dash = range.find('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == range.size()) fail();
    const auto number = [&](const std::string& s) {
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 18) fail();
        return static_cast<int64_t>(std::strtoll(s.c_str(), nullptr, 10));
    };
    w.begin = number(range.substr(0, dash));
    w.end = number(range.substr(dash + 1));
    if (w.by_layers ? w.end < w.begin : w.end <= w.begin) fail();
    return w;
}

std::pair<hw::Cycle, hw::Cycle> trace_window_cycles(const TraceWindow& w, const hw::SimulationResult& sim, int layers) {
    if (w.text.empty()) return {0, sim.total_cycles};
    if (!w.by_layers) return {w.begin, w.end};
    hw::Cycle begin = -1, end = -1;
    for (const hw::BlockReport& b : sim.blocks) {
        const auto& st = b.counters.invocation_start;
        const auto& en = b.counters.invocation_end;
        if (static_cast<int64_t>(en.size()) <= w.end) continue;
        const hw::Cycle s = st[static_cast<std::size_t>(w.begin)], e = en[static_cast<std::size_t>(w.end)];
        begin = begin < 0 ? s : std::min(begin, s);
        end = std::max(end, e);
    }
    // A run stopped by a signal may not have reached the window's layers: the trace keeps what ran.
    if (begin < 0 && sim.partial) return {0, sim.total_cycles};
    if (begin < 0)
        throw InputError(fmt::format("--trace-window {}: the run has {} layer invocations (layers 0-{})", w.text,
                                     sim.blocks.empty() ? 0 : sim.blocks.front().counters.invocation_end.size(),
                                     static_cast<int64_t>(sim.blocks.empty() ? 0 : sim.blocks.front().counters.invocation_end.size()) - 1));
    (void)layers;
    return {begin, end};
}

namespace {

struct Event {
    double ts_us;
    double dur_us;  // < 0: not a span
    std::string line;
};

// Events of one track: by start, the enclosing (longer) span first at a tie, so that viewers
// nest the stalls inside their invocation and timestamps are monotone per track.
void sort_track(std::vector<Event>& v) {
    std::stable_sort(v.begin(), v.end(), [](const Event& a, const Event& b) {
        if (a.ts_us != b.ts_us) return a.ts_us < b.ts_us;
        return a.dur_us > b.dur_us;
    });
}

std::string stall_name(const hw::StallSpan& s, const std::vector<hw::FifoReport>& fifos, bool memory_master) {
    if (s.fifo >= 0) return fmt::format("{} {}", s.on_input ? "wait" : "full", fifos.at(static_cast<std::size_t>(s.fifo)).name);
    if (memory_master) return s.on_input ? "wait memory" : "memory responses";
    return s.on_input ? "wait input" : "wait output";
}

}  // namespace

std::string trace_json(const hw::SimulationResult& sim, double clock_mhz, std::pair<hw::Cycle, hw::Cycle> window) {
    const hw::Cycle w0 = window.first, w1 = window.second;
    const double us_per_cycle = 1.0 / clock_mhz;
    std::string out = "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"clock_mhz\":" + fmt::format("{}", clock_mhz) +
                      ",\"window_cycles\":[" + fmt::format("{}, {}", w0, w1) + "]},\n\"traceEvents\":[\n";
    bool first = true;
    const auto emit = [&](const std::string& line) {
        if (!first) out += ",\n";
        out += line;
        first = false;
    };
    const auto meta = [&](int pid, int tid, const char* what, const std::string& name) {
        emit(fmt::format("{{\"ph\":\"M\",\"pid\":{},\"tid\":{},\"name\":\"{}\",\"args\":{{\"name\":\"{}\"}}}}", pid,
                         tid, what, name));
    };
    // A span [a, b) cycles clipped to the window; false if outside it.
    const auto clip = [&](hw::Cycle& a, hw::Cycle& b) {
        const bool point = a == b;  // a zero-length span is kept if it lies inside the window
        a = std::max(a, w0);
        b = std::min(b, w1);
        return b > a || (point && a == b && a >= w0 && a < w1);
    };
    const auto span = [&](int pid, int tid, const std::string& name, const char* cat, hw::Cycle a, hw::Cycle b,
                          std::vector<Event>& track, const std::string& extra_args = "") {
        if (!clip(a, b)) return;
        const double ts = a * us_per_cycle, dur = (b - a) * us_per_cycle;
        track.push_back({ts, dur,
                         fmt::format("{{\"ph\":\"X\",\"pid\":{},\"tid\":{},\"name\":\"{}\",\"cat\":\"{}\",\"ts\":{:.4f}, "
                                     "\"dur\":{:.4f},\"args\":{{\"begin_cycle\":{},\"cycles\":{}{}}}}}",
                                     pid, tid, name, cat, ts, dur, a, b - a, extra_args)});
    };

    meta(0, 0, "process_name", "units");
    const int layers = sim.layer_end_cycles.empty() || sim.token_end_cycles.empty()
                           ? 1
                           : static_cast<int>(sim.layer_end_cycles.size() / sim.token_end_cycles.size());
    for (std::size_t tid = 0; tid < sim.blocks.size(); ++tid) {
        const hw::BlockReport& b = sim.blocks[tid];
        meta(0, static_cast<int>(tid), "thread_name", b.name);
        std::vector<Event> track;
        const auto& st = b.counters.invocation_start;
        const auto& en = b.counters.invocation_end;
        for (std::size_t i = 0; i < st.size() && i < en.size(); ++i)
            span(0, static_cast<int>(tid), fmt::format("token {} layer {}", i / std::max(1, layers), i % std::max(1, layers)),
                 "invocation", st[i], en[i], track);
        const bool memory_master = b.counters.bursts > 0 || b.counters.bytes_read > 0 || b.counters.bytes_written > 0;
        for (const hw::StallSpan& s : b.counters.stalls) {
            // A merged train (more than one stall): its stall count and stalled cycles, exact when
            // the window keeps it whole.
            const bool whole = s.begin >= w0 && s.end <= w1;
            const std::string extra =
                s.stalls > 1 ? fmt::format(",\"stalls\":{},\"stall_cycles\":{}{}", s.stalls, s.stall_cycles, whole ? "" : ",\"clipped\":true")
                             : "";
            span(0, static_cast<int>(tid), s.stalls > 1 ? fmt::format("{} x{}", stall_name(s, sim.fifos, memory_master), s.stalls)
                                                         : stall_name(s, sim.fifos, memory_master),
                 s.on_input ? "stall_in" : "stall_out", s.begin, s.end, track, extra);
        }
        sort_track(track);
        for (const Event& e : track) emit(e.line);
    }

    meta(1, 0, "process_name", "FIFO levels");
    for (const hw::FifoReport& f : sim.fifos) {
        // The level at the window's start, then every change inside it.
        int level = 0;
        bool started = false;
        for (const auto& s : f.level_samples) {
            if (s.at < w0) {
                level = s.level;
                continue;
            }
            if (s.at >= w1) break;
            if (!started && s.at > w0)
                emit(fmt::format("{{\"ph\":\"C\",\"pid\":1,\"name\":\"{}\",\"ts\":{:.4f},\"args\":{{\"tokens\":{},\"cycle\":{}}}}}",
                                 f.name, w0 * us_per_cycle, level, w0));
            started = true;
            emit(fmt::format("{{\"ph\":\"C\",\"pid\":1,\"name\":\"{}\",\"ts\":{:.4f},\"args\":{{\"tokens\":{},\"cycle\":{}}}}}", f.name,
                             s.at * us_per_cycle, s.level, s.at));
        }
        if (!started && !f.level_samples.empty())
            emit(fmt::format("{{\"ph\":\"C\",\"pid\":1,\"name\":\"{}\",\"ts\":{:.4f},\"args\":{{\"tokens\":{},\"cycle\":{}}}}}", f.name,
                             w0 * us_per_cycle, level, w0));
    }

    // Memory: reads, writes and refreshes of a channel on three tracks (spans of one track never
    // overlap: adjacent ones of one direction are merged where they are recorded).
    meta(2, 0, "process_name", "memory");
    const double ns_per_cycle = 1000.0 * us_per_cycle;
    const auto cycles = [&](double ns) { return static_cast<hw::Cycle>(ns / ns_per_cycle); };
    for (std::size_t c = 0; c < sim.channel_traces.size(); ++c) {
        const hw::ChannelTrace& ch = sim.channel_traces[c];
        std::vector<Event> tracks[3];
        const int tid0 = static_cast<int>(3 * c);
        for (int k = 0; k < 3; ++k) meta(2, tid0 + k, "thread_name", ch.name + (k == 0 ? " read" : k == 1 ? " write" : " refresh"));
        for (const auto& s : ch.spans) {
            const int k = s.write ? 1 : 0;
            span(2, tid0 + k, s.write ? "write" : "read", s.write ? "write" : "read", cycles(s.begin_ns),
                 std::max(cycles(s.end_ns), cycles(s.begin_ns) + 1), tracks[k]);
        }
        for (double t : ch.refresh_start_ns)
            span(2, tid0 + 2, "refresh", "refresh", cycles(t), std::max(cycles(t + ch.refresh_ns), cycles(t) + 1), tracks[2]);
        for (auto& track : tracks) {
            sort_track(track);
            for (const Event& e : track) emit(e.line);
        }
    }
    out += "\n]}\n";
    return out;
}

}  // namespace lmsim
