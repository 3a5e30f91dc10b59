// lmsim run [CONFIG] [--model NAME | --weights F] [--prompt-len N] [--tokens N] [--out DIR]:
// simulates decoding on the cycle-level model of the accelerator and writes DIR/report.json,
// DIR/units.csv and DIR/timeline.json. With no arguments: configs/vck190.json, synthetic
// mamba2-2.7b, one token, timing mode (the README's main job).
#include <fmt/format.h>
#include <cstdio>
#include <unistd.h>
#include <csignal>

#include <chrono>
#include <filesystem>

#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "common/error.h"
#include "config/resource_model.h"
#include "golden/int_model.h"
#include "hw/accelerator.h"
#include "hw/functional_datapath.h"
#include "model/ptq.h"
#include "hw/lightmamba_graph.h"
#include "hw/stream_check.h"
#include "model/safetensors.h"
#include "report/html_report.h"
#include "report/run_report.h"
#include "report/trace.h"
#include "cli/child_run.h"

namespace lmsim::cli {
namespace {


struct RunArgs {
    std::string config = "vck190";
    std::vector<std::string> sets;
    std::string model = "mamba2-2.7b";
    std::string weights;
    bool model_given = false;
    int prompt_len = 0;
    bool prompt_len_given = false;
    bool seed_given = false;
    std::string prompt;
    int tokens = 1;
    bool functional = false;
    std::string rotation;  // functional mode; default offline (offline+online with the HTU)
    uint64_t seed = 0;
    std::string out = "lmsim-run";
    bool quiet = false;
    bool check_protocol = false;
    bool trace = false, vcd = false;
    std::string trace_window;
    // Defaults: a full mamba2-2.7b token on the VCK190 gives a 123 MB trace (docs/reports.md).
    int64_t trace_merge_cycles = 256, trace_level_cycles = 4096;
    bool trace_merge_cycles_given = false, trace_level_cycles_given = false;
};

// --vcd: the trace converted by a child `lmsim vcd` (SystemC elaborates once per process).
void convert_trace_to_vcd(const std::string& trace, const std::string& vcd) {
    const std::string cmd = fmt::format("'{}' vcd '{}' --out '{}' > /dev/null", lmsim_executable_path(), trace, vcd);
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("lmsim vcd " + trace + " failed (its message is above)");
}

void run_simulation(const RunArgs& a) {
    // Until the simulation starts there is nothing to keep: Ctrl-C / SIGTERM end the run at once.
    install_exit_at_once_handlers();
    if (a.tokens < 1) throw InputError(fmt::format("--tokens {}: expected at least 1", a.tokens));
    if (a.prompt_len < 0) throw InputError(fmt::format("--prompt-len {}: expected 0 or more", a.prompt_len));
    const HardwareConfig hw = load_hardware_config(find_config(a.config), a.sets);
    // Timing mode needs only the shapes; functional mode needs the weights (a checkpoint, or
    // synthetic weights of the model card).
    std::unique_ptr<WeightSource> source;
    if (!a.weights.empty()) {
        if (a.model_given) {
            const ModelCard given = find_model_card(a.model);
            source = open_safetensors_weights(a.weights, &given);
            require_card_agrees(given, source->card(), a.weights);
        } else {
            source = open_safetensors_weights(a.weights);
        }
    }
    else if (a.functional) {
        SyntheticSpec spec;
        spec.seed = a.seed;
        source = make_synthetic_weights(find_model_card(a.model), spec);
    }
    const ModelCard card = source ? source->card() : find_model_card(a.model);
    std::vector<int32_t> prompt = a.prompt.empty() ? std::vector<int32_t>{} : parse_token_list(a.prompt, "--prompt");
    require_in_vocabulary(prompt, card.vocab_size, "--prompt");
    if (!prompt.empty() && a.prompt_len_given && a.prompt_len != static_cast<int>(prompt.size()))
        throw InputError(fmt::format("--prompt-len {} contradicts --prompt, which has {} token(s); give one of them",
                                     a.prompt_len, prompt.size()));
    if (!a.weights.empty() && a.seed_given)
        throw InputError("--seed picks synthetic weights; it has no effect with --weights");
    if (!a.functional && (!a.rotation.empty() || a.seed_given))
        throw InputError(fmt::format("{} applies to functional mode only; add --functional or drop it",
                                     a.seed_given ? "--seed" : "--rotation"));
    const int prompt_len = prompt.empty() ? a.prompt_len : static_cast<int>(prompt.size());
    // Absurd sizes are refused before anything runs. Memory: every block keeps an invocation's
    // start and end per layer per token (two 8-byte cycles), the trace every FIFO's level
    // samples (at most two of 16 bytes per window of a lower bound of the cycles). Time: a lower bound of the cycles (every layer's in_proj and out_proj MACs at the
    // MMU's full rate) at 20 M simulated cycles per second (above every measured speed,
    // docs/performance.md).
    {
        constexpr double kCycleBytes = 8, kFastestCyclesPerSecond = 20e6;
        const hw::DataflowGraph shape = hw::build_lightmamba_graph(card, hw.design);
        const double blocks = static_cast<double>(shape.blocks.size()), fifos = static_cast<double>(shape.fifos.size());
        const double invocations = (double(prompt_len) + a.tokens) * card.n_layer;
        const double macs_per_layer = double(card.d_in_proj()) * card.d_model + double(card.d_model) * card.d_inner();
        const double cycles = invocations * macs_per_layer / std::max(1, hw.design.mmu.macs());
        double bytes = invocations * blocks * 2 * kCycleBytes;
        if (a.trace || a.vcd) bytes += cycles / std::max<int64_t>(1, a.trace_level_cycles) * fifos * 2 * 16;
        const std::string what = fmt::format("{} token(s) of {} ({} layers)", prompt_len + a.tokens, card.name, card.n_layer);
        require_memory_estimate(bytes, what);
        if (a.functional) require_model_fits(card, kQuantizedBytesPerParameter, 1, what + ", functional mode");
        require_time_estimate(cycles / kFastestCyclesPerSecond * (a.functional ? 10 : 1), what);
    }
    // The output directory is checked before anything runs, and the results of an earlier run
    // in it are removed, so that a run that fails leaves no result that is not its own.
    TraceWindow trace_window;
    if (!a.trace_window.empty()) {
        if (!a.trace && !a.vcd) throw InputError("--trace-window limits --trace and --vcd; add one of them");
        trace_window = parse_trace_window(a.trace_window);
        const int64_t invocations = int64_t{prompt_len + a.tokens} * card.n_layer;
        if (trace_window.by_layers && trace_window.end >= invocations)
            throw InputError(fmt::format("--trace-window {}: the run has {} layer invocations ({} token(s) x {} layers: 0-{})",
                                         a.trace_window, invocations, prompt_len + a.tokens, card.n_layer, invocations - 1));
    }
    if (a.trace_merge_cycles < 0 || a.trace_level_cycles < 1)
        throw InputError(fmt::format("--trace-merge-cycles {} / --trace-level-cycles {}: expected >= 0 and >= 1",
                                     a.trace_merge_cycles, a.trace_level_cycles));
    if (!a.trace && !a.vcd && (a.trace_merge_cycles_given || a.trace_level_cycles_given))
        throw InputError("--trace-merge-cycles and --trace-level-cycles shape --trace and --vcd; add one of them");
    if (a.out.find('\'') != std::string::npos && a.vcd)
        throw InputError(fmt::format("--out {}: --vcd needs an output path without a single quote", a.out));
    const std::vector<std::string> outputs = {"report.json", "units.csv", "timeline.json", "report.md", "report.html",
                                              "per_layer.csv", "fifos.csv", "energy.csv", "trace.json", "run.vcd"};
    prepare_output_directory(a.out, outputs);
    // Functional mode: the quantization that goes with the design, checked before anything runs.
    QuantSpec spec;
    if (a.functional) {
        spec.precision = parse_precision(hw.design.precision);
        spec.rotation = parse_rotation(a.rotation.empty() ? (hw.design.htu_enabled ? "offline+online" : "offline") : a.rotation);
        spec.reorder = hw.design.reorder;
        hw::FunctionalDatapath::check_design(spec, hw.design, card);
    }
    const ResourceReport resources = estimate_resources(hw, card);
    hw::SimulationOptions options;
    options.tokens = prompt_len + a.tokens;
    options.check_memory_protocol = a.check_protocol;
    options.trace = a.trace || a.vcd;
    options.trace_merge_gap_cycles = a.trace_merge_cycles;
    options.trace_level_bin_cycles = a.trace_level_cycles;
    if (a.check_protocol && hw.platform.memory.fidelity == "stream")
        throw InputError("--check-protocol: the stream memory model issues no DRAM commands; add --set "
                         "platform.memory.fidelity=command (or tlm)");
    // Functional mode's quantized model, made before the simulation (the PTQ of a large model
    // takes minutes: a signal during it ends the run at once, with nothing to keep yet).
    std::unique_ptr<const QuantizedModel> quantized;
    if (a.functional) quantized = std::make_unique<const QuantizedModel>(quantize_model(*source, spec));
    // Ctrl-C / SIGTERM stop the run between simulation slices (or between functional tokens);
    // what is complete is written, marked partial, and the exit code is 128 + the signal.
    install_stop_handlers();
    options.stop_signal = &g_stop_signal;
    const bool show_progress = !a.quiet && ::isatty(STDERR_FILENO);
    const auto t0 = std::chrono::steady_clock::now();
    if (show_progress) options.progress = simulation_progress_line();
    const hw::DataflowGraph graph = hw::build_lightmamba_graph(card, hw.design);
    hw::Accelerator top("lightmamba", graph, hw.platform, hw.design, options);
    const hw::SimulationResult sim = top.run();
    if (show_progress) std::fprintf(stderr, "\r\033[K");
    int stopped_by = sim.partial ? sim.stop_signal : 0;
    std::string partial_reason;
    if (stopped_by)
        partial_reason = fmt::format("interrupted by {} after {} of {} simulated tokens (timing)", signal_name(stopped_by),
                                     sim.token_end_cycles.size(), options.tokens);
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // Functional mode: the same block programs with data, every streamed token and every layer's
    // residual checked against the golden model.
    nlohmann::json functional, functional_wall;
    if (a.functional && !stopped_by) {
        const auto f0 = std::chrono::steady_clock::now();
        const QuantizedModel& qm = *quantized;
        hw::FunctionalDatapath datapath(graph, qm, hw.design);
        IntModel golden(qm);
        // Every token every block streams, against the golden model's value of the same
        // quantity (hw/stream_check.h); then the residual after every layer.
        hw::StreamChecker checker(graph, qm, hw.design, golden);
        datapath.set_push_observer([&](int f, int l, int64_t k, const std::vector<int64_t>& v, const std::vector<int>& e) {
            checker.on_push(f, l, k, v, e);
        });
        std::vector<int32_t> ids;
        for (int k = 0; k < prompt_len; ++k)
            ids.push_back(prompt.empty() ? (17 + 31 * k) % card.vocab_size : prompt[static_cast<std::size_t>(k)]);
        if (ids.empty()) ids.push_back(17 % card.vocab_size);  // no prompt: decode from one start token
        std::vector<int32_t> generated;
        std::vector<double> step_s;
        const double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
        long layers_checked = 0;
        for (int t = 0; t < options.tokens; ++t) {
            if (g_stop_signal != 0) {
                stopped_by = g_stop_signal;
                partial_reason = fmt::format("interrupted by {} after {} of {} tokens checked (functional; timing complete)",
                                             signal_name(stopped_by), t, options.tokens);
                break;
            }
            const int32_t token = ids[std::min<std::size_t>(static_cast<std::size_t>(t), ids.size() - 1)];
            const std::vector<int32_t> x = golden.embed(token);
            std::vector<std::vector<int32_t>> per_layer;
            const auto s0 = std::chrono::steady_clock::now();
            // A difference throws hw::StreamMismatch (exit 6, src/cli/main.cpp).
            checker.begin_token(t, x);
            const std::vector<int32_t> y = datapath.step(x, &per_layer);
            checker.end_token(per_layer);
            step_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count());
            layers_checked += card.n_layer;
            // Greedy decoding after the prompt: the host's LM head on the datapath's output.
            const std::vector<float> logits = golden.logits(y);
            const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
            if (t + 1 >= static_cast<int>(ids.size())) ids.push_back(next);
            if (t + 1 >= prompt_len) generated.push_back(next);
        }
        functional = {{"bit_exact_with_golden", true},
                       {"layers_checked", layers_checked},
                       {"stream_tokens_checked", checker.tokens_checked()},
                       {"streams_checked", checker.checked_streams().size()},
                       {"input_tokens", std::vector<int32_t>(ids.begin(), ids.begin() + options.tokens)},
                       {"generated_tokens", generated},
                       {"precision", to_string(spec.precision)},
                       {"rotation", to_string(spec.rotation)},
                       {"weights", source->description()},
                       {"stream_tokens_moved", datapath.tokens_moved()}};
        functional_wall = {{"setup_s", setup_s},
                           {"datapath_s_per_token", step_s},
                           {"total_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count()}};
    }

    RunSummary run;
    run.hw = &hw;
    run.model = &card;
    run.sim = &sim;
    run.resources = &resources;
    run.prompt_len = prompt_len;
    run.tokens = a.tokens;
    run.wall_s = wall_s;
    run.mode = a.functional ? "functional" : "timing";
    nlohmann::json report = run_report_json(run);
    if (stopped_by) {
        report["partial"] = true;
        report["partial_reason"] = partial_reason;
    }
    if (a.functional) {
        report["functional"] = functional;
        report["simulator"]["wall"]["functional"] = functional_wall;
    }
    write_file_atomically(a.out + "/report.json", report.dump(1) + "\n");
    write_file_atomically(a.out + "/units.csv", units_csv(sim));
    write_file_atomically(a.out + "/timeline.json", timeline_json(sim, hw.design.clock_mhz));
    if (options.trace) {
        write_file_atomically(a.out + "/trace.json",
                              trace_json(sim, hw.design.clock_mhz, trace_window_cycles(trace_window, sim, card.n_layer)));
        if (a.vcd) convert_trace_to_vcd(a.out + "/trace.json", a.out + "/run.vcd");
        if (!a.trace) std::filesystem::remove(a.out + "/trace.json");
    }
    for (const auto& [name, csv] : report_tables_csv(report)) write_file_atomically(a.out + "/" + name, csv);
    write_file_atomically(a.out + "/report.md", report_markdown(report));
    write_file_atomically(a.out + "/report.html", report_html(report, find_chart_js()));
    if (stopped_by) {
        fmt::print(stderr, "lmsim: {}; wrote what is complete to {} (report.json: \"partial\": true)\n", partial_reason, a.out);
        throw Interrupted{stopped_by};
    }

    const auto& d = report["decode"];
    fmt::print("{} on {} at {} MHz, {} ({} layers), {} token(s), {} memory model ({})\n", hw.design.name,
               hw.platform.name, hw.design.clock_mhz, card.name, card.n_layer, options.tokens, sim.memory_fidelity,
               sim.memory_preset);
    fmt::print("  cycles per token   {:.0f} ({:.0f} per layer)\n", d["cycles_per_token"].get<double>(),
               d["cycles_per_layer"].get<double>());
    fmt::print("  tokens per second  {:.3f}\n", d["tokens_per_s"].get<double>());
    if (hw.platform.host.per_token_s_max > 0)
        fmt::print("  with the host      {:.3f} ({:.3f} to {:.3f}; host {:.2f} ms per token, {:.2f} to {:.2f})\n",
                   d["host"]["tokens_per_s"].get<double>(), d["host"]["tokens_per_s_range"][0].get<double>(),
                   d["host"]["tokens_per_s_range"][1].get<double>(), 1e3 * hw.platform.host.per_token_s,
                   1e3 * hw.platform.host.per_token_s_min, 1e3 * hw.platform.host.per_token_s_max);
    fmt::print("  latency per token  {:.2f} ms\n", d["latency_ms_per_token"].get<double>());
    fmt::print("  MMU utilisation    {:.1f} %\n", 100.0 * report.value("mmu_utilization", 0.0));
    fmt::print("  memory             {:.3f} GB read, {:.3f} GB written, {:.2f} GB/s achieved (peak {:.2f})\n",
               sim.memory.read_bytes / 1e9, sim.memory.write_bytes / 1e9, report["memory"]["achieved_gbps"].get<double>(),
               sim.memory_peak_gbps);
    if (!a.quiet) {
        fmt::print("  {:<16} {:>12} {:>12} {:>12} {:>12}\n", "unit", "busy", "stall in", "stall out", "idle");
        for (const auto& b : sim.blocks)
            fmt::print("  {:<16} {:>12} {:>12} {:>12} {:>12}\n", b.name, b.counters.busy_cycles, b.counters.stall_in_cycles,
                       b.counters.stall_out_cycles, b.idle_cycles);
    }
    fmt::print("  simulated {:.1f} M cycles in {:.2f} s ({:.1f} M cycles/s)\n", sim.total_cycles / 1e6, wall_s,
               sim.total_cycles / 1e6 / wall_s);
    if (a.functional)
        fmt::print("  functional: {} streamed tokens on {} FIFOs and {} layer outputs bit-exact with the golden model; "
                   "generated tokens {}\n",
                   functional["stream_tokens_checked"].get<long>(), functional["streams_checked"].get<long>(),
                   functional["layers_checked"].get<long>(), functional["generated_tokens"].dump());
    fmt::print("wrote {0}/report.json, report.html, report.md, units.csv, per_layer.csv, fifos.csv, energy.csv, timeline.json{1}{2}\n",
               a.out, a.trace ? ", trace.json" : "", a.vcd ? ", run.vcd" : "");
}

}  // namespace

void add_run_command(CLI::App& app) {
    auto args = std::make_shared<RunArgs>();
    CLI::App* cmd = app.add_subcommand("run", "simulate decoding on the cycle-level accelerator model");
    cmd->add_option("config", args->config, "design config: vck190, u280 or a path")->capture_default_str();
    cmd->add_option("--set", args->sets, "override a config value: path=value (e.g. design.reorder=false)");
    cmd->add_option("--model", args->model, "model card (mamba2-130m ... mamba2-2.7b) or a JSON file")
        ->capture_default_str()
        ->each([args](const std::string&) { args->model_given = true; });
    cmd->add_option("--seed", args->seed, "seed of the synthetic weights (functional mode)")
        ->each([args](const std::string&) { args->seed_given = true; });
    cmd->add_option("--prompt", args->prompt, "prompt token ids, comma-separated (sets --prompt-len)");
    cmd->add_option("--rotation", args->rotation, "functional mode: none | offline | offline+online (default: offline, "
                                                  "offline+online when design.htu.enabled)");
    cmd->add_option("--weights", args->weights, "take the model's shapes from a safetensors checkpoint");
    cmd->add_option("--prompt-len", args->prompt_len, "prompt tokens, fed one by one before the decoded ones")
        ->capture_default_str()
        ->each([args](const std::string&) { args->prompt_len_given = true; });
    cmd->add_option("--tokens", args->tokens, "tokens to decode")->capture_default_str();
    cmd->add_flag("--functional", args->functional,
                  "carry data through the blocks and check every layer against the golden model");
    cmd->add_option("--out", args->out, "output directory")->capture_default_str();
    cmd->add_flag("--quiet", args->quiet, "omit the per-unit table");
    cmd->add_flag("--check-protocol", args->check_protocol,
                  "check every DRAM command against the JEDEC rules as the run goes (command or tlm memory)");
    cmd->add_flag("--trace", args->trace,
                  "also write trace.json (Perfetto / chrome://tracing): unit busy and stall spans naming the FIFO, "
                  "FIFO levels, DRAM channel spans and refreshes");
    cmd->add_flag("--vcd", args->vcd, "also write run.vcd (GTKWave; SystemC sc_trace): unit states and FIFO levels");
    cmd->add_option("--trace-window", args->trace_window,
                    "what --trace / --vcd keep: cycles:BEGIN-END or layers:FIRST-LAST (layers counted across tokens)");
    cmd->add_option("--trace-merge-cycles", args->trace_merge_cycles,
                    "--trace / --vcd: stalls of one kind fewer than this many cycles apart are one span (0: every stall)")
        ->capture_default_str()
        ->each([args](const std::string&) { args->trace_merge_cycles_given = true; });
    cmd->add_option("--trace-level-cycles", args->trace_level_cycles,
                    "--trace / --vcd: FIFO levels sampled per window of this many cycles (the window's highest level)")
        ->capture_default_str()
        ->each([args](const std::string&) { args->trace_level_cycles_given = true; });
    cmd->callback([args] { run_simulation(*args); });
}

}  // namespace lmsim::cli
