// Fuzz target: the sweep loader of lmsim dse (dse/sweep.h), then what a sweep does before it
// evaluates: the points of a small grid, their overrides and the configs they give.
// Input: a sweep file (JSON). Its "base" resolves as lmsim dse resolves it (a bundled config
// name, or a path).
#include "config/hardware_config.h"
#include "dse/sweep.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = lmsim::fuzz::write_input(data, size, "-sweep.json");
    return lmsim::fuzz::expect_only_input_errors([&] {
        const lmsim::dse::SweepSpec sweep = lmsim::dse::load_sweep(path);
        const int64_t points = sweep.grid_size();
        if (points <= 0) return;
        // The first, the last and one middle point: their overrides, applied to the base config.
        for (const int64_t index : {int64_t{0}, points / 2, points - 1}) {
            const lmsim::dse::Point p = lmsim::dse::point_at(sweep, index);
            if (lmsim::dse::index_of(sweep, p) != index) throw std::logic_error("point_at / index_of disagree");
            lmsim::fuzz::expect_only_input_errors([&] {
                const std::vector<std::string> sets = lmsim::dse::point_sets(sweep, p);
                lmsim::MergedConfig merged = lmsim::merge_hardware_config(sweep.base_config);
                for (const std::string& s : sets) lmsim::apply_config_override(merged, s);
                lmsim::read_hardware_config(merged);
            });
        }
        if (points <= 4096) {
            if (static_cast<int64_t>(lmsim::dse::enumerate_points(sweep).size()) != points)
                throw std::logic_error("enumerate_points does not give grid_size points");
        }
    });
}
