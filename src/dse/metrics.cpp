#include "dse/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/json_fields.h"
#include "config/hardware_config.h"

namespace lmsim::dse {
namespace {

// A unit busy at least this fraction of a token's time is what bounds the design; below it the
// time goes to phases that do not overlap [A: a reporting threshold, not a hardware constant].
constexpr double kBoundBusyFraction = 0.9;

const std::vector<std::string>& fixed_metric_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n = {
            "decode.tokens_per_s", "decode.cycles_per_token", "decode.cycles_per_layer",
            "decode.latency_ms_per_token", "energy.tokens_per_j", "energy.j_per_token",
            "energy.dynamic_j_per_token", "energy.power_w", "resources.on_chip_bytes",
            "memory.bytes_read", "memory.bytes_written", "memory.achieved_gbps", "memory.peak_gbps",
            "mmu_utilization", "clock_mhz"};
        for (const std::string& k : ResourceVector::kinds())
            for (const char* f : {"used", "available", "fraction"}) n.push_back(fmt::format("resources.{}.{}", k, f));
        for (const std::string& b : hardware_block_names())
            for (const char* f : {"busy_cycles", "stall_in_cycles", "utilization"}) n.push_back(fmt::format("units.{}.{}", b, f));
        return n;
    }();
    return names;
}

double number(const nlohmann::json& j, const char* key) {
    return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

}  // namespace

std::string unit_group(const std::string& unit) {
    static const std::set<std::string> memory = {"WEIGHT_PRODUCER", "STATE_MASTER"};
    static const std::set<std::string> mmu = {"GEMM", "GEMM_MUX", "GEMM_DEMUX"};
    static const std::set<std::string> ssm = {"HT_STATE", "DBU", "DAH", "HT_ADD_QUANT", "HTC_QUANT",
                                              "DTB_QUANT", "B_BUFFER", "C_BUFFER", "DTA", "DTADAPT", "EXP_QUANT"};
    if (memory.count(unit)) return "memory";
    if (mmu.count(unit)) return "MMU";
    if (ssm.count(unit)) return "SSM unit";
    return unit;
}

bool is_known_metric(const std::string& name, std::string* nearest) {
    const auto& names = fixed_metric_names();
    if (std::find(names.begin(), names.end(), name) != names.end()) return true;
    if (nearest) {
        std::size_t best = std::string::npos;
        for (const std::string& n : names) {
            const std::size_t d = edit_distance(name, n);
            if (d < best) best = d, *nearest = n;
        }
    }
    return false;
}

Metrics metrics_from_report(const nlohmann::json& r) {
    Metrics m;
    const nlohmann::json& d = r.at("decode");
    m["decode.tokens_per_s"] = number(d, "tokens_per_s");
    m["decode.cycles_per_token"] = number(d, "cycles_per_token");
    m["decode.cycles_per_layer"] = number(d, "cycles_per_layer");
    m["decode.latency_ms_per_token"] = number(d, "latency_ms_per_token");
    if (r.contains("energy")) {
        const nlohmann::json& e = r["energy"];
        m["energy.tokens_per_j"] = number(e, "tokens_per_j");
        m["energy.j_per_token"] = number(e, "j_per_token");
        m["energy.dynamic_j_per_token"] = number(e, "dynamic_j_per_token");
        if (e.contains("power_w")) m["energy.power_w"] = number(e["power_w"], "total");
    }
    const nlohmann::json& res = r.at("resources");
    for (const std::string& k : ResourceVector::kinds()) {
        if (!res.contains(k)) continue;
        const double used = number(res[k], "used"), avail = number(res[k], "available");
        m["resources." + k + ".used"] = used;
        m["resources." + k + ".available"] = avail;
        m["resources." + k + ".fraction"] = avail > 0 ? used / avail : 0;
    }
    m["resources.on_chip_bytes"] = number(res, "on_chip_bytes");
    const nlohmann::json& mem = r.at("memory");
    m["memory.bytes_read"] = number(mem, "bytes_read");
    m["memory.bytes_written"] = number(mem, "bytes_written");
    m["memory.achieved_gbps"] = number(mem, "achieved_gbps");
    m["memory.peak_gbps"] = number(mem, "peak_gbps");
    m["mmu_utilization"] = number(r, "mmu_utilization");
    if (r.contains("config")) m["clock_mhz"] = number(r["config"], "clock_mhz");
    for (auto it = r.at("units").begin(); it != r.at("units").end(); ++it) {
        m["units." + it.key() + ".busy_cycles"] = number(*it, "busy_cycles");
        m["units." + it.key() + ".stall_in_cycles"] = number(*it, "stall_in_cycles");
        m["units." + it.key() + ".utilization"] = number(*it, "utilization");
    }
    return m;
}

std::string bound_from_metrics(const Metrics& m) {
    std::string busiest;
    double most = -1;
    for (const auto& [name, value] : m) {
        const std::string prefix = "units.", suffix = ".utilization";
        if (name.compare(0, prefix.size(), prefix) != 0 || name.size() <= suffix.size() ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const std::string unit = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
        // A memory master waiting on its input waits on the memory: that time is the memory's.
        double occupied = value;
        if (unit_group(unit) == "memory") {
            const auto busy = m.find("units." + unit + ".busy_cycles"), stalled = m.find("units." + unit + ".stall_in_cycles");
            if (busy != m.end() && stalled != m.end() && busy->second > 0) occupied = value * (1 + stalled->second / busy->second);
        }
        if (occupied > most) most = occupied, busiest = unit;
    }
    if (busiest.empty()) return "unknown";
    const std::string group = unit_group(busiest);
    const std::string who = group == busiest ? busiest : fmt::format("{} ({})", group, busiest);
    if (most >= kBoundBusyFraction) return fmt::format("{} {:.0f} % busy", who, 100 * most);
    return fmt::format("serial phases (busiest: {} {:.0f} %)", who, 100 * most);
}

}  // namespace lmsim::dse
