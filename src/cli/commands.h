// lmsim command line: one file per subcommand; main() only dispatches.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/weights.h"

namespace lmsim::hw {
struct SimulationProgress;
}

namespace lmsim::cli {

// The progress line of a simulation (run, bench run) on stderr: layers and tokens done, simulated
// cycles, elapsed seconds since this call, ETA. The caller installs it only on a terminal.
std::function<void(const hw::SimulationProgress&)> simulation_progress_line();

// --model NAME [--seed S] | --weights FILE, shared by the commands that need a model.
struct ModelArgs {
    std::string model;
    std::string weights;
    uint64_t seed = 0;
    bool seed_given = false;
    void add_to(CLI::App* app);
    std::unique_ptr<WeightSource> open() const;
};

std::vector<int32_t> parse_token_list(const std::string& text, const std::string& option);
// Every id in [0, vocab); the error names the option, the id and the vocabulary.
void require_in_vocabulary(const std::vector<int32_t>& ids, int vocab, const std::string& option);
// --model NAME and a checkpoint that carries its own dimensions must describe the same model.
void require_card_agrees(const ModelCard& given, const ModelCard& used, const std::string& weights_path);
// DIR is (or can be made) a writable directory; the listed result files of an earlier run in
// it are removed (and named on stderr), so a run that then fails leaves none behind.
void prepare_output_directory(const std::string& dir, const std::vector<std::string>& result_files);
long peak_rss_bytes();

// Absurd sizes are refused before anything is allocated or simulated (issue "Robustness"): the
// estimate, the limit and what to change. Memory: at most half this machine's physical memory.
// Time: at most kMaxEstimatedDays of wall time, estimated from below (a lower bound of the
// simulated cycles at a simulation speed above any measured one).
constexpr double kMaxEstimatedDays = 7;
void require_memory_estimate(double bytes, const std::string& what);
void require_time_estimate(double seconds, const std::string& what);
// The model's weights held `bytes_per_parameter` bytes each (kFloatBytesPerParameter: the fp32
// weights; kQuantizedBytesPerParameter: the golden model's peak, measured 2026-12-02 at 0.99
// bytes per parameter for mamba2-2.7b w4a4, 2.6 GB), and `tokens` logit vectors of 4 bytes.
constexpr double kFloatBytesPerParameter = 4, kQuantizedBytesPerParameter = 1;
void require_model_fits(const ModelCard& card, double bytes_per_parameter, double tokens, const std::string& what);

// Thrown by a command that ran to the end but must exit non-zero (e.g. a design over budget).
struct CheckFailed {
    int code;
};
// Thrown by a command stopped by SIGINT / SIGTERM after writing what was complete (exit 128 + signal).
struct Interrupted {
    int signal;
};


void add_golden_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_membench_command(CLI::App& app);
void add_quality_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_tables_command(CLI::App& app);
void add_calibrate_command(CLI::App& app);
void add_regress_command(CLI::App& app);
void add_energy_command(CLI::App& app);
void add_dse_command(CLI::App& app);
void add_vcd_command(CLI::App& app);

}  // namespace lmsim::cli
