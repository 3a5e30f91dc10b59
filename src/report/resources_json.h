// lmsim: the resource section shared by `lmsim check --json` and every run report:
// resources.<kind>.{used, available}, plus the per-block breakdown.
#pragma once
#include <nlohmann/json.hpp>

#include "config/resource_model.h"

namespace lmsim {
nlohmann::json resources_json(const ResourceReport& report);
}
