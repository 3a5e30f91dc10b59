// lmsim tables: the lookup tables lmsim uses for a model, in the released design's text format
// (ref/tables/<name>.txt: comma-separated) and as $readmemh hex files for ROM initialisation.
#include <fmt/format.h>

#include <filesystem>

#include "cli/commands.h"
#include "common/error.h"
#include "golden/lut.h"
#include "model/model_card.h"
#include "model/safetensors.h"

namespace lmsim::cli {
namespace {

struct TablesArgs {
    std::string model = "mamba2-2.7b";
    std::string out;
};

void run_tables(const TablesArgs& a) {
    if (a.out.empty()) throw InputError("--out DIR is required");
    const ModelCard card = find_model_card(a.model);
    const std::vector<TableFile> files = released_table_files(build_luts(card.d_model, card.d_inner()));
    prepare_output_directory(a.out, {});
    for (const TableFile& t : files) {
        write_file_atomically(a.out + "/" + t.name + ".txt", released_table_text(t));
        write_file_atomically(a.out + "/" + t.name + ".hex", readmemh_text(t));
    }
    fmt::print("{}: d_model {}, d_inner {}: wrote {} tables to {} (<name>.txt as ref/tables, <name>.hex for $readmemh)\n",
               card.name, card.d_model, card.d_inner(), files.size(), a.out);
    for (const TableFile& t : files)
        fmt::print("  {:<24} {:>5} words of {:>2} bits{}\n", t.name, t.values.size(), t.word_bits,
                   t.is_signed ? ", signed" : "");
}

}  // namespace

void add_tables_command(CLI::App& app) {
    auto args = std::make_shared<TablesArgs>();
    CLI::App* cmd = app.add_subcommand("tables", "write the lookup tables lmsim uses, as text and $readmemh files");
    cmd->add_option("--model", args->model, "model card (the tables depend on d_model and d_inner)")->capture_default_str();
    cmd->add_option("--out", args->out, "output directory")->required();
    cmd->callback([args] { run_tables(*args); });
}

}  // namespace lmsim::cli
