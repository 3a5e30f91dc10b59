#include "dse/results.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "common/json_fields.h"
#include "model/safetensors.h"

#ifndef LMSIM_VERSION
#define LMSIM_VERSION "unknown"
#endif

namespace lmsim::dse {

std::string lmsim_version() { return LMSIM_VERSION; }

nlohmann::json Record::to_json() const {
    // A non-finite metric (JSON has no NaN or infinity) is left out rather than written as null.
    nlohmann::json finite = nlohmann::json::object();
    for (const auto& [name, value] : metrics)
        if (std::isfinite(value)) finite[name] = value;
    nlohmann::json j = {{"sweep", sweep_hash}, {"config_hash", config_hash}, {"fidelity", fidelity_name(fidelity)},
                        {"point", point_index}, {"params", params}, {"ok", ok}, {"feasible", feasible},
                        {"metrics", finite}, {"wall_s", std::isfinite(wall_s) ? wall_s : 0.0}, {"lmsim_version", version}};
    if (!reason.empty()) j["reason"] = reason;
    if (!violations.empty()) j["violations"] = violations;
    if (!bound.empty()) j["bound"] = bound;
    return j;
}

Record Record::from_json(const nlohmann::json& j) {
    try {
        Record r;
        r.sweep_hash = j.at("sweep").get<std::string>();
        r.config_hash = j.at("config_hash").get<std::string>();
        const std::string f = j.at("fidelity").get<std::string>();
        if (f != "analytic" && f != "cycle") throw InputError("fidelity '" + f + "'");
        r.fidelity = f == "analytic" ? Fidelity::Analytic : Fidelity::Cycle;
        r.point_index = j.at("point").get<int64_t>();
        r.params = j.at("params");
        r.ok = j.at("ok").get<bool>();
        r.feasible = j.at("feasible").get<bool>();
        r.metrics = j.at("metrics").get<Metrics>();
        r.wall_s = j.value("wall_s", 0.0);
        r.version = j.value("lmsim_version", "");
        r.reason = j.value("reason", "");
        r.bound = j.value("bound", "");
        if (j.contains("violations")) r.violations = j["violations"].get<std::vector<std::string>>();
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw InputError(std::string("not a result record: ") + e.what());
    }
}

ResultStore::ResultStore(const std::string& dir) : path_(dir + "/results.jsonl") {
    std::filesystem::create_directories(dir);
    std::string text;
    {
        std::ifstream f(path_, std::ios::binary);
        if (f) text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    // Complete lines are records; a last line without its newline is a write that was cut short
    // (each record is one write of the line and its newline). A complete line that does not parse
    // is damage, not a torn write: an error, wherever it is.
    std::size_t pos = 0, good_end = 0;
    int line_no = 0;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        ++line_no;
        const bool complete = nl != std::string::npos;
        const std::string line = text.substr(pos, complete ? nl - pos : std::string::npos);
        const bool last = !complete || nl + 1 == text.size();
        try {
            if (!complete) throw InputError("no newline");
            Record r = Record::from_json(nlohmann::json::parse(line));
            index_[{r.config_hash, static_cast<int>(r.fidelity)}] = records_.size();
            records_.push_back(std::move(r));
            good_end = nl + 1;
        } catch (const std::exception& e) {
            if (complete)
                throw InputError(fmt::format("{}:{}: damaged record{} ({}); the file was not written by lmsim dse alone",
                                             path_, line_no, last ? "" : " before the last line", e.what()));
            ++torn_;
        }
        pos = complete ? nl + 1 : text.size();
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw InputError(fmt::format("{}: cannot open for appending ({})", path_, std::strerror(errno)));
    if (torn_ > 0 && ::ftruncate(fd_, static_cast<off_t>(good_end)) != 0)
        throw InputError(fmt::format("{}: cannot cut the torn last line ({})", path_, std::strerror(errno)));
}

ResultStore::~ResultStore() {
    if (fd_ >= 0) ::close(fd_);
}

const Record* ResultStore::find(const std::string& config_hash, Fidelity f) const {
    const auto it = index_.find({config_hash, static_cast<int>(f)});
    return it == index_.end() ? nullptr : &records_[it->second];
}

void ResultStore::append(const Record& r) {
    const std::string line = r.to_json().dump() + "\n";
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw InputError(fmt::format("{}: write failed ({})", path_, std::strerror(errno)));
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd_) != 0) throw InputError(fmt::format("{}: fsync failed ({})", path_, std::strerror(errno)));
    index_[{r.config_hash, static_cast<int>(r.fidelity)}] = records_.size();
    records_.push_back(r);
}

std::string directory_sweep_hash(const std::string& dir) {
    const std::string file = dir + "/sweep.json";
    if (!std::filesystem::exists(file)) return "";
    const nlohmann::json j = JsonObject::parse_file(file);
    if (!j.is_object() || !j.contains("sweep_hash") || !j["sweep_hash"].is_string())
        throw InputError(file + ": /sweep_hash: expected the hash of the sweep this directory holds");
    return j["sweep_hash"].get<std::string>();
}

void claim_directory(const std::string& dir, const SweepSpec& sweep, bool resume) {
    std::filesystem::create_directories(dir);
    const std::string owner = directory_sweep_hash(dir);
    const bool has_results = std::filesystem::exists(dir + "/results.jsonl") && std::filesystem::file_size(dir + "/results.jsonl") > 0;
    if (!owner.empty() && owner != sweep.hash) {
        const nlohmann::json j = JsonObject::parse_file(dir + "/sweep.json");
        throw InputError(fmt::format("{}: holds the results of another sweep ({}, hash {}); {} has hash {}. Use another --out, or remove the directory",
                                     dir, j.value("file", "?"), owner, sweep.file, sweep.hash));
    }
    if (has_results && !resume)
        throw InputError(fmt::format("{}: already holds results ({}/results.jsonl); pass --resume to continue this sweep, or choose another --out", dir, dir));
    if (owner.empty()) {
        const nlohmann::json j = {{"sweep_hash", sweep.hash}, {"file", sweep.file}, {"base", sweep.base_config},
                                  {"model", sweep.model}, {"lmsim_version", lmsim_version()}};
        write_file_atomically(dir + "/sweep.json", j.dump(2) + "\n");
    }
}

}  // namespace lmsim::dse
