// lmsim design-space exploration: the metrics of one evaluated point. Both fidelities (the
// analytic screen and the cycle-level run) produce the same flat set of named numbers, so that
// constraints, objectives and the front read one vocabulary:
//   decode.tokens_per_s  decode.cycles_per_token  decode.cycles_per_layer  decode.latency_ms_per_token
//   energy.tokens_per_j  energy.j_per_token  energy.dynamic_j_per_token  energy.power_w
//   resources.<lut|ff|dsp|bram36|uram>.used | .available | .fraction   resources.on_chip_bytes
//   memory.bytes_read  memory.bytes_written  memory.achieved_gbps  memory.peak_gbps
//   mmu_utilization   clock_mhz   units.<BLOCK>.busy_cycles | .stall_in_cycles | .utilization
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmsim::dse {

using Metrics = std::map<std::string, double>;

// The part of the accelerator a block belongs to: "memory", "MMU", "SSM unit", or the block.
std::string unit_group(const std::string& unit);

// Whether `name` is a metric of the vocabulary above; when not, `nearest` gets the closest one.
bool is_known_metric(const std::string& name, std::string* nearest = nullptr);

// The metrics of a `lmsim run` report.json.
Metrics metrics_from_report(const nlohmann::json& report);

// What bounds a design, from its per-unit busy fractions: the busiest unit's group ("memory",
// "MMU", "SSM unit", or the unit) when it is busy most of the time, else "serial phases" with the
// busiest named (the time goes to phases that do not overlap: fills, tails). A memory master's
// time waiting for its reads counts as busy: it is the memory's latency and bandwidth.
std::string bound_from_metrics(const Metrics& m);

}  // namespace lmsim::dse
