// lmsim design-space exploration: results that survive. One JSON line per evaluated point,
// appended to DIR/results.jsonl and fsync'd as soon as the point completes, so an interrupted
// sweep (Ctrl-C, kill -9, a lost node) loses nothing that finished. On reopening, a torn last
// line (a write cut short) is detected, dropped and cut from the file; a damaged line before
// the last is an error. DIR/sweep.json names the sweep the directory belongs to, so that a
// resume or a merge with another sweep's results is refused.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "dse/metrics.h"
#include "dse/sweep.h"

namespace lmsim::dse {

// The lmsim that wrote a record: project version and the git commit it was configured at.
std::string lmsim_version();

struct Record {
    std::string sweep_hash;
    std::string config_hash;   // of the point's merged config document, model and tokens
    Fidelity fidelity = Fidelity::Analytic;
    int64_t point_index = -1;  // mixed-radix index in the sweep's grid
    nlohmann::json params = nlohmann::json::object();  // path -> value, ties included
    bool ok = false;           // evaluated (false: refused, deadlocked, failed; see reason)
    std::string reason;
    bool feasible = false;     // ok, within the platform's budgets and every constraint
    std::vector<std::string> violations;
    Metrics metrics;
    std::string bound;         // what bounds the design (dse/metrics.h, dse/analytic.h)
    double wall_s = 0;
    std::string version;

    nlohmann::json to_json() const;
    static Record from_json(const nlohmann::json& j);  // throws InputError
};

class ResultStore {
public:
    // Opens (creating) DIR/results.jsonl and reads what is there.
    explicit ResultStore(const std::string& dir);
    ~ResultStore();
    ResultStore(const ResultStore&) = delete;
    ResultStore& operator=(const ResultStore&) = delete;

    const std::vector<Record>& records() const { return records_; }
    const Record* find(const std::string& config_hash, Fidelity f) const;
    // Writes one line and fsyncs it before returning.
    void append(const Record& r);
    int torn_lines_dropped() const { return torn_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
    int torn_ = 0;
    std::vector<Record> records_;
    std::map<std::pair<std::string, int>, std::size_t> index_;
};

// DIR/sweep.json: writes it for a new directory, or checks that an existing one is this sweep's
// (InputError naming both sweeps otherwise). `resume`: a directory that already holds results is
// refused unless resuming.
void claim_directory(const std::string& dir, const SweepSpec& sweep, bool resume);
// The sweep hash a directory belongs to ("" when it has no sweep.json).
std::string directory_sweep_hash(const std::string& dir);

}  // namespace lmsim::dse
