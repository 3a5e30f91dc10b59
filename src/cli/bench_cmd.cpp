// lmsim bench golden: speed and peak memory of the golden model's decode (a benchmark, not a
// test). Figures go to docs/performance.md with the command that produced them.
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <thread>

#include "cli/child_run.h"
#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "common/error.h"
#include "config/hardware_config.h"
#include "dse/explore.h"
#include "dse/results.h"
#include "dse/sweep.h"
#include "golden/float_model.h"
#include "hw/accelerator.h"
#include "hw/lightmamba_graph.h"
#include "hw/memory_port.h"
#include "golden/int_model.h"
#include "mem/membench.h"
#include "mem/stream_model.h"
#include "model/ptq.h"

namespace lmsim::cli {
namespace {

struct BenchGoldenArgs {
    ModelArgs model;
    std::string precision = "w4a4", rotation = "offline";
    int tokens = 3;
    bool quiet = false;
};

// A progress line on a terminal (stderr), nothing when it is not one or with --quiet.
bool progress_wanted(bool quiet) { return !quiet && ::isatty(STDERR_FILENO); }
void clear_progress(bool shown) {
    if (shown) std::fprintf(stderr, "\r\033[K");
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Ctrl-C / SIGTERM (every bench): before the measured loop the command ends at once; during it
// (golden: between tokens, run: between simulation slices) the figures of what is complete are
// printed, marked partial, and the exit code is 128 + the signal.
void run_bench_golden(const BenchGoldenArgs& a) {
    install_exit_at_once_handlers();
    if (a.tokens < 1) throw InputError("--tokens must be >= 1");
    auto source = a.model.open();
    const ModelCard& card = source->card();
    require_model_fits(card, a.precision == "fp32" ? kFloatBytesPerParameter : kQuantizedBytesPerParameter, 1,
                       fmt::format("bench golden on {} ({} layers)", card.name, card.n_layer));
    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<ModelWeights> fw;
    std::unique_ptr<QuantizedModel> qm;
    std::unique_ptr<Decoder> dec;
    if (a.precision == "fp32") {
        fw = std::make_unique<ModelWeights>(load_all_weights(*source));
        dec = std::make_unique<FloatModel>(*fw);
    } else {
        QuantSpec spec;
        spec.precision = parse_precision(a.precision);
        spec.rotation = parse_rotation(a.rotation);
        qm = std::make_unique<QuantizedModel>(quantize_model(*source, spec));
        dec = std::make_unique<IntModel>(*qm);
    }
    double setup_s = seconds_since(t0);
    std::vector<double> per_token;
    install_stop_handlers();
    dec->set_stop_flag(&g_stop_signal);
    try {
        for (int i = 0; i < a.tokens; ++i) {
            auto t = std::chrono::steady_clock::now();
            dec->step(i % card.vocab_size);
            per_token.push_back(seconds_since(t));
            if (progress_wanted(a.quiet)) {
                double s = 0;
                for (double x : per_token) s += x;
                std::fprintf(stderr, "\r  token %d of %d, %.1f s, ETA %.0f s   ", i + 1, a.tokens, s, s / (i + 1) * (a.tokens - i - 1));
                std::fflush(stderr);
            }
        }
        clear_progress(progress_wanted(a.quiet));
    } catch (const DecodeStopped&) {
        clear_progress(progress_wanted(a.quiet));
        fmt::print("bench golden: partial: stopped by {} after {} of {} tokens\n", signal_name(g_stop_signal),
                   per_token.size(), a.tokens);
        if (per_token.empty()) throw Interrupted{g_stop_signal};
    }
    // The first token pays for first touches of state and scratch memory; report it apart.
    double first = per_token.front(), steady = 0, best = first;
    for (std::size_t i = 1; i < per_token.size(); ++i) {
        steady += per_token[i];
        best = std::min(best, per_token[i]);
    }
    steady = per_token.size() > 1 ? steady / (per_token.size() - 1) : first;
    fmt::print("bench golden: {} {} ({}), rotation {}\n", card.name, a.precision, source->description(),
               a.precision == "fp32" ? "n/a" : a.rotation);
    fmt::print("  setup (weights{}):  {:.2f} s\n", a.precision == "fp32" ? "" : " + PTQ", setup_s);
    fmt::print("  decode per token:   {:.3f} s steady (mean of tokens 2..{}), best {:.3f} s, first {:.3f} s (one core)\n",
               steady, per_token.size(), best, first);
    if (qm) fmt::print("  packed GEMM weights: {:.1f} MB\n", qm->weight_bytes() / 1e6);
    fmt::print("  peak resident memory: {:.2f} GB\n", peak_rss_bytes() / 1e9);
    if (g_stop_signal) throw Interrupted{g_stop_signal};
}

struct BenchRunArgs {
    std::string config = "vck190";
    std::vector<std::string> sets;
    std::string model = "mamba2-2.7b";
    int tokens = 1;
    bool quiet = false;
};

// Speed of the cycle-level model (issue 5 targets: >= 10 M simulated cycles per wall second on one
// core in timing mode, a mamba2-2.7b token on the VCK190 in <= 6 s, peak memory <= 2 GB).
void run_bench_run(const BenchRunArgs& a) {
    install_exit_at_once_handlers();
    const HardwareConfig hw = load_hardware_config(find_config(a.config), a.sets);
    const ModelCard card = find_model_card(a.model);
    hw::SimulationOptions options;
    options.tokens = a.tokens;
    options.stop_signal = &g_stop_signal;  // read only once the stop handlers are installed
    if (progress_wanted(a.quiet)) options.progress = simulation_progress_line();
    const auto t0 = std::chrono::steady_clock::now();
    hw::Accelerator top("lightmamba", hw::build_lightmamba_graph(card, hw.design), hw.platform, hw.design, options);
    const auto t1 = std::chrono::steady_clock::now();
    install_stop_handlers();
    const hw::SimulationResult sim = top.run();
    clear_progress(progress_wanted(a.quiet));
    const auto t2 = std::chrono::steady_clock::now();
    const double build_s = std::chrono::duration<double>(t1 - t0).count();
    const double sim_s = std::chrono::duration<double>(t2 - t1).count();
    fmt::print("bench run: {} on {}, {} x {} token(s), timing mode, {} memory model ({})\n", hw.design.name,
               hw.platform.name, card.name, a.tokens, sim.memory_fidelity, sim.memory_preset);
    fmt::print("  simulated cycles:        {:.1f} M ({:.0f} per layer)\n", sim.total_cycles / 1e6,
               double(sim.total_cycles) / (card.n_layer * a.tokens));
    fmt::print("  elaboration + calibration: {:.2f} s\n", build_s);
    fmt::print("  simulation:              {:.2f} s wall, {:.1f} M simulated cycles per second (one core)\n", sim_s,
               sim.total_cycles / 1e6 / sim_s);
    fmt::print("  per token:               {:.2f} s wall\n", (build_s + sim_s) / a.tokens);
    fmt::print("  peak resident memory:    {:.3f} GB\n", peak_rss_bytes() / 1e9);
    if (sim.partial) {
        fmt::print("bench run: partial: stopped by {} after {:.1f} M simulated cycles ({} of {} tokens finished)\n",
                   signal_name(sim.stop_signal), sim.total_cycles / 1e6, sim.token_end_cycles.size(), a.tokens);
        throw Interrupted{sim.stop_signal};
    }
}

struct BenchMemoryArgs {
    std::string config = "vck190";
    std::vector<std::string> sets;
    std::string model = "mamba2-2.7b";
    int layers = 4;
};

// Speed of the memory models (issue 4 targets: command level >= 5 M DRAM bursts per wall second on
// one core; stream fidelity >= 100x faster than command level on the weight stream, completion
// times within 1 %). The weight stream is the released producer's own traffic: every burst of a
// timing run of `layers` layers is recorded, then replayed open loop (each burst at its recorded
// issue cycle) on a fresh memory port of each fidelity.
void run_bench_memory(const BenchMemoryArgs& a) {
    install_exit_at_once_handlers();  // nothing is complete before the end
    if (a.layers < 1) throw InputError("--layers must be >= 1");
    const std::string config = find_config(a.config);
    const HardwareConfig hw = load_hardware_config(config, a.sets);
    if (hw.design.axi.state_masters > 0)
        throw InputError("bench memory: the design has a state master (design.axi.state_master); the replay drives one "
                         "memory port with one producer's traffic: add --set design.axi.state_master.masters=0");
    ModelCard card = find_model_card(a.model);
    card.n_layer = std::min(card.n_layer, a.layers);
    hw::SimulationOptions options;
    options.record_memory_requests = true;
    hw::Accelerator top("lightmamba", hw::build_lightmamba_graph(card, hw.design), hw.platform, hw.design, options);
    const std::vector<hw::BurstRequest> requests = top.run().memory_requests;
    int64_t bytes = 0;
    for (const auto& r : requests) bytes += int64_t{r.beats} * hw::producer_params(hw.design).beat_bytes;
    fmt::print("bench memory: {} on {}, the weight producer's traffic of {} x {} layer(s): {} bursts, {:.1f} MB\n",
               hw.design.name, hw.platform.name, card.name, card.n_layer, requests.size(), bytes / 1e6);

    struct Timed {
        std::vector<hw::BurstCompletion> done;
        double setup_s, replay_s;
        int64_t dram_accesses;
        std::string preset;
    };
    auto replay = [&](const std::string& fidelity) {
        std::vector<std::string> sets = a.sets;
        sets.push_back("platform.memory.fidelity=" + fidelity);
        const HardwareConfig h = load_hardware_config(config, sets);
        const auto t0 = std::chrono::steady_clock::now();
        hw::MemoryPort port(h.platform, h.design, hw::producer_params(h.design).beat_bytes);
        const auto t1 = std::chrono::steady_clock::now();
        Timed t;
        t.done = hw::replay_requests(port, requests);
        const auto t2 = std::chrono::steady_clock::now();
        t.setup_s = std::chrono::duration<double>(t1 - t0).count();
        t.replay_s = std::chrono::duration<double>(t2 - t1).count();
        t.dram_accesses = port.stats().dram.reads + port.stats().dram.writes;
        t.preset = port.preset();
        return t;
    };
    const Timed cmd = replay("command"), str = replay("stream");
    double worst = 0, sum = 0;
    hw::Cycle last_cmd = 0, last_str = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const double d = std::fabs(double(str.done[i].last - cmd.done[i].last));
        const double span = double(cmd.done[i].last - requests[i].issue);
        worst = std::max(worst, d / span);
        sum += d / span;
        last_cmd = std::max(last_cmd, cmd.done[i].last);
        last_str = std::max(last_str, str.done[i].last);
    }
    fmt::print("  command level ({}): {:.3f} s wall, {:.1f} M DRAM accesses, {:.1f} M DRAM bursts per wall second (one core)\n",
               cmd.preset, cmd.replay_s, cmd.dram_accesses / 1e6, cmd.dram_accesses / 1e6 / cmd.replay_s);
    fmt::print("  stream:               {:.4f} s wall ({:.2f} s calibration at start-up, once per run), "
               "{:.0f}x faster than command level\n",
               str.replay_s, str.setup_s, cmd.replay_s / str.replay_s);
    fmt::print("  agreement:            last completion {:+.3f} %, per burst (issue to last beat) mean {:.2f} %, worst {:.1f} %\n",
               100.0 * (double(last_str) - double(last_cmd)) / double(last_cmd), 100 * sum / requests.size(), 100 * worst);

    // The DRAM-level stream estimate (mem/stream_model.h) on a whole token's weight stream.
    const mem::DramSpec spec = mem::dram_preset(cmd.preset);
    const long accesses = static_cast<long>(bytes / spec.org.bytes_per_access() * find_model_card(a.model).n_layer / card.n_layer);
    const auto t0 = std::chrono::steady_clock::now();
    const mem::AddressMapping mapping{hw.platform.memory.address_mapping};
    const long exact = mem::command_level_stream(spec, mapping, 0, accesses, false, mem::kLookaheadWindow);
    const auto t1 = std::chrono::steady_clock::now();
    const mem::StreamEstimate est = mem::estimate_sequential_stream(spec, mapping, 0, accesses, false, mem::kLookaheadWindow);
    const auto t2 = std::chrono::steady_clock::now();
    const double exact_s = std::chrono::duration<double>(t1 - t0).count();
    const double est_s = std::chrono::duration<double>(t2 - t1).count();
    fmt::print("  one channel, a whole token's weight stream ({:.1f} M sequential accesses): command level {:.2f} s "
               "({:.1f} M/s), converged-rate estimate {:.3f} s ({:.0f}x), {:+.3f} %\n",
               accesses / 1e6, exact_s, accesses / 1e6 / exact_s, est_s, exact_s / est_s,
               100.0 * double(est.end_cycle - exact) / double(exact));
    fmt::print("  peak resident memory: {:.3f} GB\n", peak_rss_bytes() / 1e9);
}

struct BenchDseArgs {
    std::string sweep = std::string(LMSIM_SOURCE_DIR) + "/configs/sweeps/u280.json";
    int jobs = 0;
};

// The analytic screen's speed on a sweep's points (issue 13: >= 10,000 points per minute on 2
// cores for mamba2-2.7b): every point screened into a temporary directory, nothing kept.
void run_bench_dse(const BenchDseArgs& a) {
    install_exit_at_once_handlers();
    const dse::SweepSpec s = dse::load_sweep(a.sweep);
    const TemporaryDirectory tmp("lmsim-bench-dse");
    dse::ExploreOptions o;
    o.out_dir = tmp.path;
    o.jobs = a.jobs > 0 ? a.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    o.only = dse::Fidelity::Analytic;
    dse::claim_directory(tmp.path, s, false);
    dse::ResultStore store(tmp.path);
    // A signal finishes the running points and starts no more; the figures are of those done.
    o.stop = &g_stop_signal;
    install_stop_handlers();
    const auto t0 = std::chrono::steady_clock::now();
    const dse::ExploreSummary sum = dse::explore(s, store, o);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<double> per_point;
    for (const dse::Record& r : store.records()) per_point.push_back(r.wall_s);
    std::sort(per_point.begin(), per_point.end());
    const auto at = [&](double q) { return per_point.empty() ? 0.0 : per_point[static_cast<std::size_t>(q * (per_point.size() - 1))]; };
    fmt::print("analytic screen of {} ({}, {} points, {} jobs)\n", a.sweep, s.model, sum.points, o.jobs);
    fmt::print("  wall              {:.2f} s (points, results.jsonl and its fsyncs)\n", wall);
    fmt::print("  points per minute {:.0f}\n", wall > 0 ? 60.0 * double(sum.evaluated[0]) / wall : 0.0);
    fmt::print("  per point         median {:.2f} ms, 90th percentile {:.2f} ms, max {:.1f} ms (one thread)\n",
               1e3 * at(0.5), 1e3 * at(0.9), 1e3 * at(1.0));
    if (g_stop_signal) {
        fmt::print("bench dse: partial: stopped by {} after {} of {} points\n", signal_name(g_stop_signal),
                   per_point.size(), sum.points);
        throw Interrupted{g_stop_signal};
    }
}

}  // namespace

void add_bench_command(CLI::App& app) {
    CLI::App* bench = app.add_subcommand("bench", "benchmarks that print speed figures");
    bench->require_subcommand(1);
    auto args = std::make_shared<BenchGoldenArgs>();
    CLI::App* golden = bench->add_subcommand("golden", "decode speed and memory of the golden model");
    args->model.add_to(golden);
    golden->add_option("--precision", args->precision, "fp32 | w8a8 | w4a4")->capture_default_str();
    golden->add_option("--rotation", args->rotation, "none | offline | offline+online")->capture_default_str();
    golden->add_option("--tokens", args->tokens, "tokens to time")->capture_default_str();
    golden->add_flag("--quiet", args->quiet, "no progress line on a terminal");
    golden->callback([args] { run_bench_golden(*args); });
    auto rargs = std::make_shared<BenchRunArgs>();
    CLI::App* runb = bench->add_subcommand("run", "speed and memory of the cycle-level model (timing mode)");
    runb->add_option("config", rargs->config, "design config")->capture_default_str();
    runb->add_option("--set", rargs->sets, "override a config value: path=value");
    runb->add_option("--model", rargs->model, "model card")->capture_default_str();
    runb->add_flag("--quiet", rargs->quiet, "no progress line on a terminal");
    runb->add_option("--tokens", rargs->tokens, "tokens to simulate")->capture_default_str();
    runb->callback([rargs] { run_bench_run(*rargs); });
    auto margs = std::make_shared<BenchMemoryArgs>();
    CLI::App* memb = bench->add_subcommand("memory", "speed of the memory models on the weight producer's traffic");
    memb->add_option("config", margs->config, "design config")->capture_default_str();
    memb->add_option("--set", margs->sets, "override a config value: path=value");
    memb->add_option("--model", margs->model, "model card")->capture_default_str();
    memb->add_option("--layers", margs->layers, "layers of traffic to record and replay")->capture_default_str();
    memb->callback([margs] { run_bench_memory(*margs); });
    auto dargs = std::make_shared<BenchDseArgs>();
    CLI::App* dseb = bench->add_subcommand("dse", "speed of the analytic screen on a sweep's points");
    dseb->add_option("sweep", dargs->sweep, "sweep file")->capture_default_str();
    dseb->add_option("--jobs", dargs->jobs, "worker threads (default: the number of cores)");
    dseb->callback([dargs] { run_bench_dse(*dargs); });
}

}  // namespace lmsim::cli
