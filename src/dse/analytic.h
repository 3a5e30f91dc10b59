// lmsim design-space exploration: the analytic screen. A per-token latency, energy and resource
// estimate computed from the same unit programs (hw/lightmamba_graph.h), memory model
// (hw/memory_port.h) and resource functions (config/resource_model.h) as the cycle-level run,
// without simulating the datapath:
//  - each memory master's time per layer: its own program (the producer's phases, bursts and
//    issue rules, BlockRunner) run alone on the memory model, its streams drained and fed at
//    once, for the first layers (cached per memory configuration: a sweep that varies the
//    datapath reuses it);
//  - each block's time per layer: its program in isolation (overhead + trips x II + depth);
//  - the layer takes the longest of these (what bounds it) plus the serial phases that do not
//    overlap with it (docs/dse.md: which, and how far the estimate is from the cycle level).
// The result is a report of the same shape as `lmsim run`'s (report.json), so the metrics, the
// energy model and the resource model are shared, not copied.
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
