#include "mem/stream_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace lmsim::mem {

namespace {

// Serves bursts [from, to) of the stream on `c`; returns the last completion cycle.
long serve_range(DramController& c, uint64_t base, long from, long to, bool is_write, int window) {
    const int bytes = c.spec().org.bytes_per_access();
    std::vector<DramController::Request> reqs;
    reqs.reserve(static_cast<std::size_t>(to - from));
    for (long i = from; i < to; ++i) reqs.push_back({base + static_cast<uint64_t>(i) * bytes, is_write, 0});
    std::vector<long> done = c.serve(reqs, window);
    return done.empty() ? 0 : *std::max_element(done.begin(), done.end());
}

}  // namespace

long command_level_stream(const DramSpec& spec, const AddressMapping& mapping, uint64_t base, long bursts,
                          bool is_write, int window) {
    DramController c(spec, mapping);
    long end = 0;
    const long chunk = 4096;  // the controller's lookahead never reaches past `window` anyway
    for (long i = 0; i < bursts; i += chunk) end = std::max(end, serve_range(c, base, i, std::min(bursts, i + chunk), is_write, window));
    return end;
}

StreamEstimate estimate_sequential_stream(const DramSpec& spec, const AddressMapping& mapping, uint64_t base,
                                          long bursts, bool is_write, int window) {
    StreamEstimate e;
    DramController c(spec, mapping);
    // Simulate one refresh interval's worth of bursts at a time. After the first chunk (the
    // start-up transient), the cycles per burst averaged since then converge as refresh and row
    // switches recur; once two successive averages agree within kTolerance, the rest of the
    // stream is extrapolated at that rate.
    constexpr double kTolerance = 2e-5;
    constexpr int kMinChunks = 12;
    const long chunk = std::max<long>(64, spec.t.refi / std::max(1, spec.t.burst_cycles));
    long done = 0, end = 0, warm_bursts = 0, warm_end = 0;
    double last_rate = -1;
    int chunks = 0;
    while (done < bursts) {
        const long next = std::min(bursts, done + chunk);
        end = std::max(end, serve_range(c, base, done, next, is_write, window));
        e.simulated_bursts += next - done;
        done = next;
        if (++chunks == 1) {
            warm_bursts = done;
            warm_end = end;
            continue;
        }
        const double rate = static_cast<double>(end - warm_end) / static_cast<double>(done - warm_bursts);
        if (chunks > kMinChunks && last_rate > 0 && std::fabs(rate - last_rate) <= kTolerance * rate && done < bursts) {
            end += static_cast<long>(std::llround(rate * static_cast<double>(bursts - done)));
            done = bursts;
        }
        last_rate = rate;
    }
    e.end_cycle = end;
    return e;
}

}  // namespace lmsim::mem
