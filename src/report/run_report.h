// lmsim: the report of `lmsim run`: report.json (decode rate, per-layer cycles, per-unit busy /
// stall / idle cycles, FIFO occupancy, memory traffic, resources, simulator speed), units.csv
// (one row per block) and timeline.json (Chrome trace events, one per block invocation; open it in
// chrome://tracing or https://ui.perfetto.dev).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "config/hardware_config.h"
#include "config/resource_model.h"
#include "hw/accelerator.h"
#include "model/model_card.h"

namespace lmsim {

struct RunSummary {
    const HardwareConfig* hw = nullptr;
    const ModelCard* model = nullptr;
    const hw::SimulationResult* sim = nullptr;
    const ResourceReport* resources = nullptr;
    int prompt_len = 0, tokens = 1;
    double wall_s = 0;
    std::string mode = "timing";
};

// Average cycles per decoded token over all simulated tokens.
double cycles_per_token(const hw::SimulationResult& sim, int64_t host_gap_cycles = 0);

nlohmann::json run_report_json(const RunSummary& run);
std::string units_csv(const hw::SimulationResult& sim);
std::string timeline_json(const hw::SimulationResult& sim, double clock_mhz);

}  // namespace lmsim
