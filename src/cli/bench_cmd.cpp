// lmsim bench golden: speed and peak memory of the golden model's decode (a benchmark, not a
// test). Figures go to docs/performance.md with the command that produced them.
#include <fmt/format.h>

#include <chrono>

#include "cli/commands.h"
#include "common/error.h"
#include "config/hardware_config.h"
#include "golden/float_model.h"
#include "hw/accelerator.h"
#include "hw/lightmamba_graph.h"
#include "golden/int_model.h"
#include "model/ptq.h"

namespace lmsim::cli {
namespace {

struct BenchGoldenArgs {
    ModelArgs model;
    std::string precision = "w4a4", rotation = "offline";
    int tokens = 3;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void run_bench_golden(const BenchGoldenArgs& a) {
    if (a.tokens < 1) throw InputError("--tokens must be >= 1");
    auto source = a.model.open();
    const ModelCard& card = source->card();
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
    for (int i = 0; i < a.tokens; ++i) {
        auto t = std::chrono::steady_clock::now();
        dec->step(i % card.vocab_size);
        per_token.push_back(seconds_since(t));
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
               steady, a.tokens, best, first);
    if (qm) fmt::print("  packed GEMM weights: {:.1f} MB\n", qm->weight_bytes() / 1e6);
    fmt::print("  peak resident memory: {:.2f} GB\n", peak_rss_bytes() / 1e9);
}

struct BenchRunArgs {
    std::string config = "vck190";
    std::vector<std::string> sets;
    std::string model = "mamba2-2.7b";
    int tokens = 1;
};

// Speed of the cycle-level model (issue 5 targets: >= 10 M simulated cycles per wall second on one
// core in timing mode, a mamba2-2.7b token on the VCK190 in <= 6 s, peak memory <= 2 GB).
void run_bench_run(const BenchRunArgs& a) {
    const HardwareConfig hw = load_hardware_config(find_config(a.config), a.sets);
    const ModelCard card = find_model_card(a.model);
    hw::SimulationOptions options;
    options.tokens = a.tokens;
    const auto t0 = std::chrono::steady_clock::now();
    hw::Accelerator top("lightmamba", hw::build_lightmamba_graph(card, hw.design), hw.platform, hw.design, options);
    const auto t1 = std::chrono::steady_clock::now();
    const hw::SimulationResult sim = top.run();
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
    golden->callback([args] { run_bench_golden(*args); });
    auto rargs = std::make_shared<BenchRunArgs>();
    CLI::App* runb = bench->add_subcommand("run", "speed and memory of the cycle-level model (timing mode)");
    runb->add_option("config", rargs->config, "design config")->capture_default_str();
    runb->add_option("--set", rargs->sets, "override a config value: path=value");
    runb->add_option("--model", rargs->model, "model card")->capture_default_str();
    runb->add_option("--tokens", rargs->tokens, "tokens to simulate")->capture_default_str();
    runb->callback([rargs] { run_bench_run(*rargs); });
}

}  // namespace lmsim::cli
