// lmsim design-space exploration: the analytic screen. A per-token latency, energy and resource
// estimate computed from the same unit programs (hw/lightmamba_graph.h), memory model
// (hw/memory_port.h) and resource functions (config/resource_model.h) as the cycle-level run,
// without simulating iterations:
//  - memory passes: each memory master's own program (its phases, bursts and issue rules: the
//    BlockRunner) run alone on the memory model, its streams drained and fed at once, for two
//    layers; each phase's mean beat spacing (cached per memory configuration, so a sweep that
//    varies the datapath reuses it);
//  - the fluid schedule of the graph (dse/fluid_schedule.h) over the first layers, the memory
//    phases at their passes' spacing; later layers repeat the last one;
//  - the layer takes the longer of the schedule's layer and the largest single bound (a memory
//    pass, a block in isolation: overhead + trips x II + depth).
// docs/dse.md "The analytic screen" gives its error against the cycle level. The result is a
// report of the same shape as `lmsim run`'s (report.json), so the metrics, the energy model and
// the resource model are shared, not copied.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "config/hardware_config.h"
#include "model/model_card.h"

namespace lmsim::dse {

struct AnalyticEstimate {
    nlohmann::json report;                 // as `lmsim run`'s report.json (simulator.mode "analytic")
    std::string bound;                     // what bounds the layer
    std::map<std::string, double> terms;   // every term of the estimate, cycles per layer
};

// Thread-safe. Throws InputError where the graph builder refuses the design.
AnalyticEstimate analytic_estimate(const HardwareConfig& hw, const ModelCard& model, int tokens);

}  // namespace lmsim::dse
