// lmsim design-space exploration: evaluating points and running a sweep.
//
// Two fidelities share one metric vocabulary (dse/metrics.h): the analytic screen (dse/analytic.h,
// in this process, threads) and the cycle-level model (a child `lmsim run` per point: SystemC
// elaborates one design per process, so confirmations run in parallel worker processes). A sweep
// screens its points analytically, then confirms at the cycle level every point on or within
// the confirmation margin of the screened front; `fidelity` can restrict it to one level.
// Every finished point is appended to DIR/results.jsonl at once (dse/results.h); a point already
// there (same config hash and fidelity) is never evaluated again.
#pragma once
#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dse/results.h"
#include "dse/sweep.h"

namespace lmsim::dse {

struct ExploreOptions {
    std::string out_dir;
    int jobs = 1;                     // worker threads (analytic) or processes (cycle)
    int shard = 1, shards = 1;        // --shard K/N (grid and random searches)
    std::optional<Fidelity> only;     // one fidelity; empty: screen, then confirm
    std::string lmsim_exe;            // the lmsim executable the cycle-level workers run
    const volatile std::sig_atomic_t* stop = nullptr;  // non-zero: finish running points, start no more
    std::function<void(const std::string&)> progress;  // one line per finished point (optional)
};

struct ExploreSummary {
    int64_t evaluated[2] = {0, 0};   // new evaluations this session, by fidelity
    int64_t reused = 0;              // found in results.jsonl (resume, or a repeated point)
    int64_t failed = 0;              // refused, deadlocked or failed (recorded with a reason)
    int64_t unfinished = 0;          // children stopped by a signal: not recorded, left for --resume
    int64_t points = 0;              // points of the search (this shard)
    bool interrupted = false;
    std::vector<Record> front;       // the final front (cycle-confirmed where confirmed)
    Fidelity front_fidelity = Fidelity::Analytic;
    double wall_s[2] = {0, 0};
};

// Evaluates points at one fidelity, in parallel, appending each finished point to the store.
class Evaluator {
public:
    Evaluator(const SweepSpec& sweep, ResultStore& store, ExploreOptions options);
    // One record per point, in order (reused where the store has it).
    std::vector<Record> evaluate(const std::vector<Point>& points, Fidelity f);
    ExploreSummary& summary() { return summary_; }
    bool stopped() const { return options_.stop && *options_.stop; }

private:
    struct Prepared;
    Prepared prepare(const Point& p, Fidelity f) const;
    void finish(Record& r);  // constraints and budgets, then append
    void run_analytic(std::vector<Prepared>& todo);
    void run_cycle(std::vector<Prepared>& todo);

    const SweepSpec& sweep_;
    ResultStore& store_;
    ExploreOptions options_;
    MergedConfig base_;
    ExploreSummary summary_;
};

// The sweep: search, screen, confirm; results in options.out_dir.
ExploreSummary explore(const SweepSpec& sweep, ResultStore& store, const ExploreOptions& options);

// The feasible records' non-dominated subset under the sweep's objectives, and the records within
// `margin` of it (each objective relaxed by that fraction toward the front).
std::vector<Record> pareto_front(const SweepSpec& sweep, const std::vector<Record>& records);
std::vector<Record> near_front(const SweepSpec& sweep, const std::vector<Record>& records, double margin);
// Hypervolume of the records' front, objectives normalised by their reference points.
double hypervolume(const SweepSpec& sweep, const std::vector<Record>& records);

// Constraint and budget check of an evaluated record (fills feasible and violations).
void judge(const SweepSpec& sweep, Record& r);

}  // namespace lmsim::dse
