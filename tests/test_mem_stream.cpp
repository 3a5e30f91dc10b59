// Stream fidelity against command level on the released design's weight stream: one layer of
// Mamba2-2.7B weights and scales, 635,199 beats of 32 bytes (../shared/docs/lightmamba.md 3.2).
#include <catch2/catch.hpp>
#include <chrono>

#include "mem/stream_model.h"

using namespace lmsim::mem;

TEST_CASE("stream mode matches the command-level model within 1 % on the weight stream", "[mem][stream]") {
    const long weight_beats = 635199;  // per layer [C TOTAL_CYCS]
    for (const char* preset : {"LPDDR4_3200", "HBM2_DRAMSYS", "DDR4_2400"}) {
        DramSpec s = dram_preset(preset);
        const long bursts = weight_beats * 32 / s.org.bytes_per_access();
        auto t0 = std::chrono::steady_clock::now();
        long exact = command_level_stream(s, {}, 0, bursts, false, 32);
        auto t1 = std::chrono::steady_clock::now();
        StreamEstimate est = estimate_sequential_stream(s, {}, 0, bursts, false, 32);
        auto t2 = std::chrono::steady_clock::now();
        const double err = std::fabs(static_cast<double>(est.end_cycle - exact)) / exact;
        INFO(preset << ": command level " << exact << " cycles, stream " << est.end_cycle << " (" << err * 100
                    << " %), simulated " << est.simulated_bursts << " of " << bursts << " bursts; "
                    << std::chrono::duration<double>(t1 - t0).count() << " s vs "
                    << std::chrono::duration<double>(t2 - t1).count() << " s");
        CHECK(err < 0.01);
        // Work: the estimate simulates a fixed prefix until the rate converges (here at most a
        // fifth of one layer's stream) ...
        CHECK(est.simulated_bursts * 5 <= bursts);
        // ... so a whole token's stream (64 layers) costs the same prefix: under 1/20 of it.
        StreamEstimate token = estimate_sequential_stream(s, {}, 0, 64 * bursts, false, 32);
        CHECK(token.simulated_bursts * 20 <= 64 * bursts);
        CHECK(token.end_cycle > 60 * exact);
        CHECK(token.end_cycle < 68 * exact);
    }
}
