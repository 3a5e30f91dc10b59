// lmsim vcd TRACE --out FILE.vcd: converts a trace of `lmsim run --trace` into a VCD through
// SystemC's sc_trace (report/vcd.h). `lmsim run --vcd` runs it as a child process (SystemC
// elaborates once per process).
#include <fmt/format.h>

#include "cli/commands.h"
#include "common/error.h"
#include "report/vcd.h"

namespace lmsim::cli {

void add_vcd_command(CLI::App& app) {
    struct Args {
        std::string trace, out;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("vcd", "convert a trace of lmsim run --trace into a VCD (unit states, FIFO levels)");
    cmd->add_option("trace", args->trace, "trace.json written by lmsim run --trace")->required();
    cmd->add_option("--out", args->out, "VCD file to write")->required();
    cmd->callback([args] {
        const VcdSummary s = write_vcd_from_trace(args->trace, args->out);
        fmt::print("wrote {}: {} units, {} FIFOs, {} changes\n", args->out, s.units, s.fifos, s.changes);
    });
}

}  // namespace lmsim::cli
