#include "report/resources_json.h"

namespace lmsim {

nlohmann::json resources_json(const ResourceReport& r) {
    nlohmann::json j;
    for (const auto& kind : ResourceVector::kinds())
        j["resources"][kind] = {{"used", r.total.get(kind)}, {"available", r.available.get(kind)}};
    j["resources"]["on_chip_bytes"] = r.on_chip_bytes;
    j["resources"]["over_budget"] = r.over_budget;
    for (const auto& b : r.blocks) {
        nlohmann::json row = {{"block", b.block}, {"on_chip_bytes", b.on_chip_bytes}, {"source", b.source}};
        for (const auto& kind : ResourceVector::kinds()) row[kind] = b.used.get(kind);
        j["resource_blocks"].push_back(row);
    }
    return j;
}

}  // namespace lmsim
