// Fuzz target: the command line (cli/commands.h: every subcommand's options, as lmsim's main
// builds them) and the token-list parser the commands apply to --prompt and --tokens-list values.
// Input: the arguments, separated by NUL bytes or newlines. The commands' actions are replaced by
// no-ops, so what is fuzzed is parsing and the option checks, not a simulation. CLI11's parse
// errors are the expected answer to a bad command line (exit 2).
// The actions are moved out, not dropped: each owns the shared arguments its options write to.
#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

#include "cli/commands.h"
#include "fuzz_common.h"

namespace {

using Action = std::function<void()>;
// CLI11 keeps a command's actions in protected members; a pointer to member formed in a derived
// class's scope reaches them on any App.
struct ActionAccess : CLI::App {
    static constexpr Action CLI::App::*final_action = &ActionAccess::final_callback_;
    static constexpr Action CLI::App::*parse_complete_action = &ActionAccess::parse_complete_callback_;
};

void disarm(CLI::App* app, std::vector<Action>& kept) {
    kept.push_back(std::move(app->*ActionAccess::final_action));
    kept.push_back(std::move(app->*ActionAccess::parse_complete_action));
    app->*ActionAccess::final_action = nullptr;
    app->*ActionAccess::parse_complete_action = nullptr;
    for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) disarm(sub, kept);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args{"lmsim"};
    std::string current;
    for (size_t i = 0; i < size; ++i) {
        const char c = static_cast<char>(data[i]);
        if (c == '\0' || c == '\n') {
            args.push_back(current);
            current.clear();
        } else {
            current.push_back(c);
        }
    }
    if (!current.empty()) args.push_back(current);
    if (args.size() > 64) return 0;
    for (size_t i = 1; i < args.size(); ++i)
        lmsim::fuzz::expect_only_input_errors([&] { lmsim::cli::parse_token_list(args[i], "--prompt"); });

    // One parser for the whole run (building it costs more than a parse); clear() resets what a
    // parse left. Its actions are disarmed once, and kept alive with it.
    static std::vector<Action> kept;
    static CLI::App& app = [] () -> CLI::App& {
        static CLI::App a{"lmsim"};
        a.require_subcommand(1);
        using namespace lmsim::cli;
        for (auto add : {add_run_command, add_golden_command, add_quality_command, add_bench_command, add_check_command,
                         add_membench_command, add_tables_command, add_calibrate_command, add_regress_command,
                         add_energy_command, add_dse_command, add_vcd_command})
            add(a);
        disarm(&a, kept);
        return a;
    }();
    app.clear();
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError&) {
    }
    return 0;
}
