// lmsim: command-line entry point. Each subcommand lives in its own file under src/cli/.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/json_fields.h"
#include "hw/accelerator.h"
#include "hw/stream_check.h"

// libsystemc references sc_main; lmsim owns main() and starts simulations from its commands.
extern "C" int sc_main(int, char**) { return 0; }

int main(int argc, char** argv) {
    CLI::App app{"lmsim: cycle-accurate simulator of the LightMamba FPGA accelerator"};
    app.require_subcommand(1);
    lmsim::cli::add_run_command(app);
    lmsim::cli::add_golden_command(app);
    lmsim::cli::add_quality_command(app);
    lmsim::cli::add_bench_command(app);
    lmsim::cli::add_check_command(app);
    lmsim::cli::add_membench_command(app);
    lmsim::cli::add_tables_command(app);
    lmsim::cli::add_calibrate_command(app);
    lmsim::cli::add_regress_command(app);
    lmsim::cli::add_energy_command(app);
    lmsim::cli::add_dse_command(app);
    lmsim::cli::add_vcd_command(app);
    try {
        // Arguments end up in reports (JSON): a byte that is not UTF-8 is refused here, by name.
        for (int i = 1; i < argc; ++i) lmsim::require_utf8(argv[i], fmt::format("argument {} ('{}')", i, argv[i]));
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const lmsim::cli::CheckFailed& e) {
        return e.code;
    } catch (const lmsim::cli::Interrupted& e) {
        return 128 + e.signal;  // 130 for SIGINT, 143 for SIGTERM
    } catch (const lmsim::InputError& e) {
        std::cerr << "lmsim: error: " << e.what() << "\n";
        return 2;
    } catch (const lmsim::hw::StreamMismatch& e) {
        std::cerr << "lmsim: " << e.what() << "\n";
        return 6;
    } catch (const lmsim::hw::DeadlockError& e) {
        std::cerr << "lmsim: " << e.what() << "\n";
        return 5;
    } catch (const lmsim::RangeError& e) {
        std::cerr << "lmsim: arithmetic range error: " << e.what() << "\n";
        return 3;
    } catch (const std::exception& e) {
        std::cerr << "lmsim: internal error: " << e.what() << "\n";
        return 4;
    }
    return 0;
}
