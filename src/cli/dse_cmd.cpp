// lmsim dse: design-space exploration (src/dse/, docs/dse.md).
//   lmsim dse SWEEP.json --out DIR [--jobs N] [--resume] [--shard K/N] [--fidelity screen|analytic|cycle]
//   lmsim dse SWEEP.json --out DIR --slurm [--shards N] [--dry-run]
//   lmsim dse merge SWEEP.json --out DIR SHARD_DIR...
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "cli/child_run.h"
#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "common/error.h"
#include "dse/dse_report.h"
#include "dse/explore.h"
#include "dse/results.h"
#include "model/safetensors.h"

namespace lmsim::cli {
namespace {

struct DseArgs {
    std::string sweep, out, shard = "1/1", fidelity = "screen";
    int jobs = 0;
    bool resume = false, slurm = false, dry_run = false, quiet = false;
    int slurm_shards = 4;
    std::vector<std::string> merge_dirs;
};

void parse_shard(const std::string& text, int* k, int* n) {
    const std::size_t slash = text.find('/');
    try {
        if (slash == std::string::npos) throw std::invalid_argument("");
        std::size_t a = 0, b = 0;
        *k = std::stoi(text.substr(0, slash), &a);
        *n = std::stoi(text.substr(slash + 1), &b);
        if (a != slash || b != text.size() - slash - 1) throw std::invalid_argument("");
    } catch (const std::exception&) {
        throw InputError(fmt::format("--shard '{}': expected K/N, e.g. 2/4", text));
    }
    if (*n < 1 || *k < 1 || *k > *n) throw InputError(fmt::format("--shard '{}': expected 1 <= K <= N", text));
}

void print_summary(const dse::SweepSpec& s, const dse::ExploreSummary& sum, const std::string& dir) {
    fmt::print("sweep {} (hash {}): {} points{}\n", s.file, s.hash, sum.points, sum.interrupted ? " (interrupted)" : "");
    fmt::print("  evaluated  {} analytic ({:.1f} s), {} cycle-level ({:.1f} s); {} found in results.jsonl; {} failed\n",
               sum.evaluated[0], sum.wall_s[0], sum.evaluated[1], sum.wall_s[1], sum.reused, sum.failed);
    if (sum.unfinished > 0)
        fmt::print("  unfinished {} cycle-level runs stopped by a signal: not recorded; --resume evaluates them\n", sum.unfinished);
    fmt::print("  front      {} points at the {} level\n", sum.front.size(), dse::fidelity_name(sum.front_fidelity));
    for (const dse::Record& r : sum.front)
        fmt::print("    {:>8}  {:8.3f} tok/s  {:7.4f} tok/J  {}  [{}]\n", r.point_index, r.metrics.at("decode.tokens_per_s"),
                   r.metrics.count("energy.tokens_per_j") ? r.metrics.at("energy.tokens_per_j") : 0.0, r.params.dump(), r.bound);
    fmt::print("wrote {}/results.jsonl, pareto.csv, summary.md, report.html\n", dir);
}

// Single-quoted for the shell (a quote inside becomes '\'').
std::string shell_quoted(const std::string& t) {
    std::string r = "'";
    for (char c : t) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return r + "'";
}

// The Slurm job array: one task per shard, each its own directory under DIR/shards, then a merge
// job that runs once every task has succeeded.
std::string slurm_script(const DseArgs& a, const std::string& exe, int shards, bool merge) {
    const std::string sweep = std::filesystem::absolute(a.sweep).string(), out = std::filesystem::absolute(a.out).string();
    const auto q = shell_quoted;
    std::string s = "#!/bin/sh\n";
    if (!merge) {
        s += fmt::format("#SBATCH --job-name=lmsim-dse\n#SBATCH --array=1-{}\n#SBATCH --output={}/slurm/shard-%a.log\n", shards, out);
        s += fmt::format("#SBATCH --cpus-per-task={}\n", std::max(1, a.jobs));
        s += fmt::format("OUT={}\n", q(out));
        s += fmt::format("exec {} dse {} --out \"$OUT/shards/$SLURM_ARRAY_TASK_ID\" --shard \"$SLURM_ARRAY_TASK_ID/{}\" --fidelity {} --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\" --resume --quiet\n",
                         q(exe), q(sweep), shards, q(a.fidelity));
    } else {
        s += fmt::format("#SBATCH --job-name=lmsim-dse-merge\n#SBATCH --output={}/slurm/merge.log\n", out);
        s += fmt::format("exec {} dse merge {} --out {}", q(exe), q(sweep), q(out + "/merged"));
        for (int k = 1; k <= shards; ++k) s += " " + q(fmt::format("{}/shards/{}", out, k));
        s += "\n";
    }
    return s;
}

int run_slurm(const DseArgs& a, const dse::SweepSpec& s) {
    // #SBATCH --output takes the path unquoted and expands %: refuse what it would mangle.
    const std::string abs_out = std::filesystem::absolute(a.out).string();
    if (abs_out.find_first_of(" \t\n%'\"") != std::string::npos)
        throw InputError(fmt::format("--out '{}': with --slurm the directory may not contain spaces, quotes or '%' "
                                     "(Slurm's #SBATCH --output takes it unquoted and expands %)", a.out));
    if (s.search.method == dse::SearchMethod::Nsga2)
        throw InputError("--slurm: an NSGA-II search is one evolving population; shard grid or random searches");
    const std::string exe = lmsim_executable_path();
    const std::string array = slurm_script(a, exe, a.slurm_shards, false), merge = slurm_script(a, exe, a.slurm_shards, true);
    if (a.dry_run) {
        fmt::print("# {}/slurm/sweep.sbatch\n{}\n# {}/slurm/merge.sbatch\n{}", a.out, array, a.out, merge);
        fmt::print("# submitted as: sbatch --parsable sweep.sbatch; sbatch --dependency=afterok:<array job> merge.sbatch\n");
        return 0;
    }
    std::filesystem::create_directories(a.out + "/slurm");
    write_file_atomically(a.out + "/slurm/sweep.sbatch", array);
    write_file_atomically(a.out + "/slurm/merge.sbatch", merge);
    const std::string submit = "sbatch --parsable " + shell_quoted(a.out + "/slurm/sweep.sbatch");
    FILE* p = ::popen(submit.c_str(), "r");
    if (!p) throw InputError("--slurm: cannot run sbatch");
    char buf[256] = {0};
    std::string job;
    while (std::fgets(buf, sizeof buf, p)) job += buf;
    if (::pclose(p) != 0 || job.empty())
        throw InputError("--slurm: sbatch failed (is Slurm installed and running? scripts/slurm-local.sh starts a one-node cluster)");
    job = job.substr(0, job.find_first_of(";\n"));
    const std::string dep = fmt::format("sbatch --parsable --dependency=afterok:{} {}", job, shell_quoted(a.out + "/slurm/merge.sbatch"));
    FILE* q = ::popen(dep.c_str(), "r");
    std::string merge_job;
    while (q && std::fgets(buf, sizeof buf, q)) merge_job += buf;
    if (!q || ::pclose(q) != 0) throw InputError("--slurm: sbatch of the merge job failed");
    merge_job = merge_job.substr(0, merge_job.find_first_of(";\n"));
    fmt::print("submitted job array {} ({} shards) and merge job {}; the merged results land in {}/merged\n", job,
               a.slurm_shards, merge_job, a.out);
    return 0;
}

int run_merge(const DseArgs& a) {
    const dse::SweepSpec s = dse::load_sweep(a.sweep);
    if (a.merge_dirs.empty()) throw InputError("dse merge: name the shard directories to merge");
    std::vector<dse::Record> merged;
    std::set<std::pair<std::string, int>> seen;
    for (const std::string& dir : a.merge_dirs) {
        if (!std::filesystem::exists(dir + "/results.jsonl"))
            throw InputError(fmt::format("dse merge: {}: no results.jsonl", dir));
        const std::string owner = dse::directory_sweep_hash(dir);
        if (owner != s.hash)
            throw InputError(fmt::format("dse merge: {} holds sweep {}, not {} ({})", dir, owner.empty() ? "(none)" : owner, s.hash, s.file));
        const dse::ResultStore shard(dir);
        for (const dse::Record& r : shard.records())
            if (seen.insert({r.config_hash, static_cast<int>(r.fidelity)}).second) merged.push_back(r);
    }
    if (std::filesystem::exists(a.out + "/results.jsonl") && std::filesystem::file_size(a.out + "/results.jsonl") > 0)
        throw InputError(fmt::format("dse merge: {} already holds results; choose another --out", a.out));
    dse::claim_directory(a.out, s, false);
    {
        dse::ResultStore out(a.out);
        for (const dse::Record& r : merged) out.append(r);
    }
    dse::write_sweep_outputs(s, merged, a.out);
    fmt::print("merged {} records from {} directories into {}/results.jsonl, pareto.csv, summary.md, report.html\n",
               merged.size(), a.merge_dirs.size(), a.out);
    return 0;
}

int run_dse(const DseArgs& a) {
    const dse::SweepSpec s = dse::load_sweep(a.sweep);
    if (a.slurm) return run_slurm(a, s);
    dse::ExploreOptions o;
    o.out_dir = a.out;
    o.jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    parse_shard(a.shard, &o.shard, &o.shards);
    if (a.fidelity == "analytic") o.only = dse::Fidelity::Analytic;
    else if (a.fidelity == "cycle") o.only = dse::Fidelity::Cycle;
    else if (a.fidelity != "screen") throw InputError(fmt::format("--fidelity '{}': expected screen, analytic or cycle", a.fidelity));
    if (o.shards > 1 && s.search.method == dse::SearchMethod::Nsga2)
        throw InputError("--shard: an NSGA-II search is one evolving population; shard grid or random searches");
    o.lmsim_exe = lmsim_executable_path();
    dse::claim_directory(a.out, s, a.resume);
    dse::ResultStore store(a.out);
    if (store.torn_lines_dropped() > 0)
        std::cerr << fmt::format("lmsim dse: dropped a torn last line of {} (a write cut short); that point runs again\n", store.path());
    install_stop_handlers();
    o.stop = &g_stop_signal;
    if (!a.quiet) o.progress = [](const std::string& line) { std::cerr << line << "\n"; };
    const dse::ExploreSummary sum = dse::explore(s, store, o);
    dse::write_sweep_outputs(s, store.records(), a.out);
    print_summary(s, sum, a.out);
    if (sum.interrupted) {
        std::cerr << fmt::format("lmsim dse: stopped by {}; every finished point is in {}; continue with --resume\n",
                                 signal_name(g_stop_signal), store.path());
        throw Interrupted{g_stop_signal};
    }
    return 0;
}

}  // namespace

void add_dse_command(CLI::App& app) {
    auto a = std::make_shared<DseArgs>();
    CLI::App* cmd = app.add_subcommand("dse", "design-space exploration: sweep, screen, confirm, front (docs/dse.md)");
    cmd->add_option("sweep", a->sweep, "sweep file (configs/sweeps/*.json)");
    cmd->add_option("--out", a->out, "results directory (results.jsonl, pareto.csv, summary.md, report.html)");
    cmd->add_option("--jobs", a->jobs, "parallel workers (default: the number of cores)");
    cmd->add_flag("--resume", a->resume, "continue a sweep in --out: finished points are not evaluated again");
    cmd->add_option("--shard", a->shard, "K/N: evaluate the K-th of N deterministic slices of the points");
    cmd->add_option("--fidelity", a->fidelity, "screen (analytic, then cycle-level on the front; default) | analytic | cycle");
    cmd->add_flag("--slurm", a->slurm, "write a Slurm job array (one task per shard) and a dependent merge job; submit with sbatch");
    cmd->add_option("--shards", a->slurm_shards, "with --slurm: array tasks")->check(CLI::Range(1, 10000));
    cmd->add_flag("--dry-run", a->dry_run, "with --slurm: print the job scripts, submit nothing");
    cmd->add_flag("--quiet", a->quiet, "no line per finished point");
    CLI::App* merge = cmd->add_subcommand("merge", "merge shard directories of one sweep (deduplicated by config hash)");
    merge->add_option("sweep", a->sweep, "the sweep file")->required();
    merge->add_option("dirs", a->merge_dirs, "shard directories")->required();
    merge->add_option("--out", a->out, "merged results directory")->required();
    cmd->require_subcommand(0, 1);
    cmd->callback([a, merge] {
        if (merge->parsed()) {
            run_merge(*a);
            return;
        }
        if (a->sweep.empty()) throw InputError("dse: name a sweep file (configs/sweeps/*.json)");
        if (a->out.empty()) throw InputError("dse: --out DIR is required (the results directory)");
        run_dse(*a);
    });
}

}  // namespace lmsim::cli
