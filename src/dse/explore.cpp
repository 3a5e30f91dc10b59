#include "dse/explore.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/error.h"
#include "dse/analytic.h"
#include "dse/nsga2_search.h"
#include "model/model_card.h"

extern char** environ;

namespace lmsim::dse {

struct Evaluator::Prepared {
    Point point;
    int64_t index = -1;
    Fidelity fidelity = Fidelity::Analytic;
    Record record;               // filled as far as known before evaluation
    std::vector<std::string> sets;
    std::optional<MergedConfig> config;  // empty: the point failed before evaluation
};

namespace {

// How often the cycle-level pool looks for finished children and for a stop request.
constexpr int kChildPollMs = 20;

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The last line of a failed child's output that says why ("lmsim: error: ...").
std::string failure_reason(const std::string& log_path, int status) {
    std::ifstream f(log_path);
    std::string line, reason;
    while (std::getline(f, line))
        if (line.rfind("lmsim", 0) == 0 && line.find("removed an earlier run") == std::string::npos) reason = line;
    std::string code;
    if (WIFEXITED(status)) {
        const int c = WEXITSTATUS(status);
        code = c == 2 ? "refused (exit 2)" : c == 5 ? "deadlock (exit 5)" : fmt::format("failed (exit {})", c);
    } else if (WIFSIGNALED(status)) {
        code = fmt::format("killed by signal {}", WTERMSIG(status));
    }
    return reason.empty() ? code : code + ": " + reason;
}

}  // namespace

Evaluator::Evaluator(const SweepSpec& sweep, ResultStore& store, ExploreOptions options)
    : sweep_(sweep), store_(store), options_(std::move(options)), base_(merge_hardware_config(sweep.base_config, {})) {}

Evaluator::Prepared Evaluator::prepare(const Point& p, Fidelity f) const {
    Prepared q;
    q.point = p;
    q.index = index_of(sweep_, p);
    q.fidelity = f;
    Record& r = q.record;
    r.sweep_hash = sweep_.hash;
    r.fidelity = f;
    r.point_index = q.index;
    r.version = lmsim_version();
    try {
        q.sets = point_sets(sweep_, p, &r.params);
        MergedConfig m = base_;
        for (const std::string& s : q.sets) apply_config_override(m, s);
        r.config_hash = fnv1a_hex(m.document.dump() + "\n" + sweep_.model + "\n" + std::to_string(sweep_.tokens));
        q.config = std::move(m);
    } catch (const InputError& e) {
        std::string joined;
        for (const std::string& s : q.sets) joined += s + "\n";
        r.config_hash = fnv1a_hex("unbuildable\n" + std::to_string(q.index) + "\n" + joined);
        r.reason = std::string("refused: ") + e.what();
    }
    return q;
}

void judge(const SweepSpec& sweep, Record& r) {
    r.violations.clear();
    if (!r.ok) {
        r.feasible = false;
        return;
    }
    for (const std::string& k : ResourceVector::kinds()) {
        const auto used = r.metrics.find("resources." + k + ".used"), avail = r.metrics.find("resources." + k + ".available");
        if (used != r.metrics.end() && avail != r.metrics.end() && used->second > avail->second)
            r.violations.push_back(fmt::format("resources.{}.used {:.0f} > available {:.0f}", k, used->second, avail->second));
    }
    for (const ConstraintSpec& c : sweep.constraints) {
        const auto it = r.metrics.find(c.metric);
        if (it == r.metrics.end()) r.violations.push_back(fmt::format("{}: the metric is absent", c.text));
        else if (!c.satisfied_by(it->second)) r.violations.push_back(fmt::format("{} (is {:.6g})", c.text, it->second));
    }
    r.feasible = r.violations.empty();
}

void Evaluator::finish(Record& r) {
    judge(sweep_, r);
    if (!r.ok) ++summary_.failed;
    ++summary_.evaluated[static_cast<int>(r.fidelity)];
    store_.append(r);
    if (options_.progress) {
        std::string what = r.ok ? fmt::format("{:.2f} tok/s, {:.3f} tok/J{}", r.metrics["decode.tokens_per_s"],
                                              r.metrics["energy.tokens_per_j"], r.feasible ? "" : " (infeasible)")
                                : r.reason.substr(0, 100);
        options_.progress(fmt::format("[{} {}] {} {}", fidelity_name(r.fidelity), r.point_index, r.params.dump(), what));
    }
}

std::vector<Record> Evaluator::evaluate(const std::vector<Point>& points, Fidelity f) {
    std::vector<Prepared> todo;
    std::vector<std::string> hashes;
    std::set<std::string> queued;
    for (const Point& p : points) {
        Prepared q = prepare(p, f);
        hashes.push_back(q.record.config_hash);
        if (store_.find(q.record.config_hash, f)) {
            ++summary_.reused;
            continue;
        }
        if (!queued.insert(q.record.config_hash).second) continue;  // the same design twice (ties)
        todo.push_back(std::move(q));
    }
    const auto t0 = std::chrono::steady_clock::now();
    if (f == Fidelity::Analytic) run_analytic(todo);
    else run_cycle(todo);
    summary_.wall_s[static_cast<int>(f)] += seconds_since(t0);
    std::vector<Record> out;
    for (const std::string& h : hashes)
        if (const Record* r = store_.find(h, f)) out.push_back(*r);
    return out;
}

void Evaluator::run_analytic(std::vector<Prepared>& todo) {
    const ModelCard card = find_model_card(sweep_.model);
    std::mutex mutex;
    std::size_t next = 0;
    std::exception_ptr failure;  // the first error a worker cannot record (e.g. a full disk)
    auto body = [&] {
        while (true) {
            std::size_t i;
            {
                std::lock_guard<std::mutex> lock(mutex);
                if (next >= todo.size() || stopped() || failure) return;
                i = next++;
            }
            Prepared& q = todo[i];
            Record r = q.record;
            const auto t0 = std::chrono::steady_clock::now();
            if (q.config) {
                try {
                    const HardwareConfig hw = read_hardware_config(*q.config);
                    const AnalyticEstimate e = analytic_estimate(hw, card, sweep_.tokens);
                    r.metrics = metrics_from_report(e.report);
                    r.bound = bound_from_metrics(r.metrics);
                    r.ok = true;
                } catch (const InputError& e) {
                    r.reason = std::string("refused: ") + e.what();
                } catch (const std::exception& e) {
                    r.reason = std::string("failed: ") + e.what();
                }
            }
            r.wall_s = seconds_since(t0);
            std::lock_guard<std::mutex> lock(mutex);
            finish(r);
        }
    };
    auto guarded = [&] {
        try {
            body();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex);
            if (!failure) failure = std::current_exception();
        }
    };
    const int n = std::max(1, std::min<int>(options_.jobs, static_cast<int>(todo.size())));
    std::vector<std::thread> threads;
    for (int k = 1; k < n; ++k) threads.emplace_back(guarded);
    guarded();
    for (std::thread& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
}

void Evaluator::run_cycle(std::vector<Prepared>& todo) {
    const std::string work = options_.out_dir + "/work";
    std::filesystem::create_directories(work);
    struct Running {
        Prepared* q;
        std::string dir;
        std::chrono::steady_clock::time_point t0;
    };
    std::map<pid_t, Running> running;
    // On any exception out of this loop the children still running are stopped and reaped, and
    // their directories removed: nothing keeps running behind a failed sweep.
    struct ChildGuard {
        std::map<pid_t, Running>& running;
        ~ChildGuard() {
            for (const auto& [pid, run] : running) ::kill(pid, SIGTERM);
            for (const auto& [pid, run] : running) {
                int st = 0;
                while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
                }
                std::error_code ec;
                std::filesystem::remove_all(run.dir, ec);
            }
        }
    } guard{running};
    std::size_t next = 0;
    auto launch = [&](Prepared& q) {
        const std::string dir = work + "/" + q.record.config_hash;
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        std::vector<std::string> args = {options_.lmsim_exe, "run", sweep_.base_config, "--model", sweep_.model,
                                         "--tokens", std::to_string(sweep_.tokens), "--quiet", "--out", dir};
        for (const std::string& s : q.sets) args.insert(args.end(), {"--set", s});
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        const std::string log = dir + "/run.log";
        posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        pid_t pid = 0;
        const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) throw std::runtime_error(fmt::format("cannot start {}: {}", options_.lmsim_exe, std::strerror(rc)));
        running.emplace(pid, Running{&q, dir, std::chrono::steady_clock::now()});
    };
    bool forwarded = false;
    while (true) {
        while (!stopped() && running.size() < static_cast<std::size_t>(std::max(1, options_.jobs)) && next < todo.size()) {
            Prepared& q = todo[next++];
            if (!q.config) {
                finish(q.record);
                continue;
            }
            // A design the config reader refuses needs no child.
            try {
                (void)read_hardware_config(*q.config);
            } catch (const InputError& e) {
                q.record.reason = std::string("refused: ") + e.what();
                finish(q.record);
                continue;
            }
            launch(q);
        }
        if (running.empty()) break;
        if (stopped() && !forwarded) {
            // Ctrl-C reaches the children through the terminal; a signal to this process alone
            // is passed on, so that they stop too (their partial runs are not recorded).
            for (const auto& [pid, run] : running) ::kill(pid, SIGTERM);
            forwarded = true;
        }
        // Polled, so that a stop signal arriving between the check above and the wait is seen
        // within kChildPollMs rather than when a child happens to finish.
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid == 0 || (pid < 0 && errno == EINTR)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(kChildPollMs));
            continue;
        }
        if (pid < 0) throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
        const auto it = running.find(pid);
        if (it == running.end()) continue;
        Running run = it->second;
        running.erase(it);
        Record r = run.q->record;
        r.wall_s = seconds_since(run.t0);
        // A child stopped by a signal (ours, the terminal's, an OOM killer's, a batch system's) or
        // that exited as stopped (130, 143) did not finish: not recorded, evaluated on --resume.
        // A crash (SIGSEGV, SIGABRT, ...) is the point's result: recorded as failed.
        const bool interrupted = WIFEXITED(status) && (WEXITSTATUS(status) == 130 || WEXITSTATUS(status) == 143);
        const bool stopped_by_signal = WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM ||
                                                               WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGHUP);
        if (interrupted || stopped_by_signal) {
            std::filesystem::remove_all(run.dir);
            ++summary_.unfinished;
            continue;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            try {
                std::ifstream f(run.dir + "/report.json");
                const nlohmann::json report = nlohmann::json::parse(f);
                r.metrics = metrics_from_report(report);
                r.bound = bound_from_metrics(r.metrics);
                r.ok = true;
            } catch (const std::exception& e) {
                r.reason = fmt::format("failed: {}/report.json: {}", run.dir, e.what());
            }
        } else {
            r.reason = failure_reason(run.dir + "/run.log", status);
        }
        finish(r);
        std::filesystem::remove_all(run.dir);
    }
    std::error_code ec;
    std::filesystem::remove(work, ec);  // only if empty
}

namespace {

// Objective values (minimised) of a record, or empty if it has no value for one of them.
std::vector<double> objective_vector(const SweepSpec& s, const Record& r) {
    std::vector<double> v;
    for (const ObjectiveSpec& o : s.objectives) {
        const auto it = r.metrics.find(o.metric);
        if (it == r.metrics.end()) return {};
        v.push_back(o.minimised(it->second));
    }
    return v;
}

bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
    bool strictly = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] > b[i]) return false;
        if (a[i] < b[i]) strictly = true;
    }
    return strictly;
}

}  // namespace

std::vector<Record> near_front(const SweepSpec& s, const std::vector<Record>& records, double margin) {
    std::vector<std::pair<const Record*, std::vector<double>>> feasible;
    for (const Record& r : records)
        if (r.ok && r.feasible) {
            std::vector<double> v = objective_vector(s, r);
            if (!v.empty()) feasible.emplace_back(&r, std::move(v));
        }
    std::vector<Record> out;
    for (const auto& [r, v] : feasible) {
        // Relaxed toward the front: a point survives if no other point dominates its objectives
        // improved by `margin` (of their magnitude).
        std::vector<double> relaxed = v;
        for (double& x : relaxed) x -= margin * std::abs(x);
        bool dominated = false;
        for (const auto& [other, w] : feasible)
            if (other != r && dominates(w, relaxed)) {
                dominated = true;
                break;
            }
        if (!dominated) out.push_back(*r);
    }
    // In the order of the grid.
    std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.point_index < b.point_index; });
    return out;
}

std::vector<Record> pareto_front(const SweepSpec& s, const std::vector<Record>& records) {
    return near_front(s, records, 0.0);
}

double hypervolume(const SweepSpec& s, const std::vector<Record>& records) {
    std::vector<std::vector<double>> points;
    std::vector<double> reference;
    for (const ObjectiveSpec& o : s.objectives) reference.push_back(o.minimised(o.reference));
    for (const Record& r : pareto_front(s, records)) {
        std::vector<double> v = objective_vector(s, r);
        bool inside = true;
        for (std::size_t i = 0; i < v.size(); ++i) inside = inside && v[i] < reference[i];
        if (inside) points.push_back(v);
    }
    return hypervolume_of(points, reference);
}

ExploreSummary explore(const SweepSpec& s, ResultStore& store, const ExploreOptions& o) {
    Evaluator ev(s, store, o);
    const Fidelity search = o.only.value_or(Fidelity::Analytic);
    std::vector<Record> screened;
    if (s.search.method == SearchMethod::Nsga2) {
        if (o.shards > 1)
            throw InputError("--shard: an NSGA-II search is one evolving population; shard grid or random searches");
        screened = nsga2_search(s, [&](const std::vector<Point>& batch) { return ev.evaluate(batch, search); },
                                [&] { return ev.stopped(); });
    } else {
        const std::vector<Point> points = enumerate_points(s, o.shard, o.shards);
        ev.summary().points = static_cast<int64_t>(points.size());
        screened = ev.evaluate(points, search);
    }
    if (ev.summary().points == 0) ev.summary().points = static_cast<int64_t>(screened.size());
    ExploreSummary& sum = ev.summary();
    sum.front_fidelity = search;
    if (!ev.stopped() && !o.only) {
        // Confirmation: the screened front and every point within the margin of it (the margin
        // above the screen's measured error, docs/dse.md); then, as long as a screened point's
        // figures are not dominated by the confirmed front (a confirmed design came out worse
        // than screened), that point too.
        std::vector<Point> confirm;
        for (const Record& r : near_front(s, screened, s.confirm_margin)) confirm.push_back(point_at(s, r.point_index));
        std::vector<Record> confirmed = ev.evaluate(confirm, Fidelity::Cycle);
        std::set<int64_t> done;
        for (const Record& r : confirmed) done.insert(r.point_index);
        while (!ev.stopped()) {
            const std::vector<Record> front = pareto_front(s, confirmed);
            std::vector<Point> more;
            for (const Record& r : screened) {
                if (!r.ok || !r.feasible || done.count(r.point_index)) continue;
                std::vector<Record> trial = front;
                trial.push_back(r);
                bool on_front = false;
                for (const Record& f : pareto_front(s, trial)) on_front = on_front || f.point_index == r.point_index;
                if (on_front) more.push_back(point_at(s, r.point_index)), done.insert(r.point_index);
            }
            if (more.empty()) break;
            const std::vector<Record> got = ev.evaluate(more, Fidelity::Cycle);
            confirmed.insert(confirmed.end(), got.begin(), got.end());
        }
        sum.front = pareto_front(s, confirmed);
        sum.front_fidelity = Fidelity::Cycle;
    } else {
        sum.front = pareto_front(s, screened);
    }
    sum.interrupted = ev.stopped();
    return sum;
}

}  // namespace lmsim::dse
