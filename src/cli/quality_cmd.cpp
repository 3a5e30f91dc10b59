// lmsim quality: W8A8 and W4A4 against the float reference (logit cosine, top-1 agreement,
// worst error), for each rotation mode. The quantized runs are teacher-forced on the float
// run's tokens so every row compares the same context.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/error.h"
#include "golden/float_model.h"
#include "golden/int_model.h"
#include "golden/metrics.h"
#include "model/ptq.h"
#include "model/safetensors.h"

namespace lmsim::cli {
namespace {

struct QualityArgs {
    ModelArgs model;
    std::string prompt = "1,2,3,4,5,6,7,8";
    int tokens = 8;
    std::string json_out;
};

void run_quality(const QualityArgs& a) {
    auto source = a.model.open();
    const ModelCard& card = source->card();
    std::vector<int32_t> prompt = parse_token_list(a.prompt, "--prompt");
    ModelWeights weights = load_all_weights(*source);
    FloatModel fm(weights);
    Generation ref = generate(fm, prompt, a.tokens);
    fmt::print("{} ({}), prompt of {} tokens, {} decoded tokens compared against fp32\n\n", card.name,
               source->description(), prompt.size(), a.tokens);
    fmt::print("{:<6} {:<15} {:>10} {:>7} {:>12} {:>14}\n", "prec", "rotation", "cosine", "top-1", "max|err|", "weight MSE");
    nlohmann::json rows = nlohmann::json::array();
    for (Precision p : {Precision::W8A8, Precision::W4A4})
        for (Rotation r : {Rotation::None, Rotation::Offline, Rotation::OfflineOnline}) {
            QuantSpec spec;
            spec.precision = p;
            spec.rotation = r;
            QuantizedModel qm = quantize_model(*source, spec);
            IntModel im(qm);
            Generation g = generate(im, prompt, a.tokens, ref.decode_tokens);
            LogitAgreement m = compare_logits(ref.decode_logits, g.decode_logits, card.vocab_size);
            fmt::print("{:<6} {:<15} {:>10.5f} {:>7.3f} {:>12.4g} {:>14.4g}\n", to_string(p), to_string(r),
                       m.mean_cosine, m.top1_agreement, m.max_abs_error, qm.stats.weight_mse);
            rows.push_back({{"precision", to_string(p)}, {"rotation", to_string(r)},
                            {"cosine", m.mean_cosine}, {"top1", m.top1_agreement},
                            {"max_abs_error", m.max_abs_error}, {"weight_mse", qm.stats.weight_mse},
                            {"norm_weights_saturated", qm.stats.norm_weight_saturated}});
        }
    if (!a.json_out.empty()) {
        nlohmann::json j = {{"model", card.to_json()}, {"weights", source->description()},
                            {"prompt", prompt}, {"tokens", a.tokens}, {"rows", rows}};
        write_file_atomically(a.json_out, j.dump(1) + "\n");
        fmt::print("\nwrote {}\n", a.json_out);
    }
}

}  // namespace

void add_quality_command(CLI::App& app) {
    auto args = std::make_shared<QualityArgs>();
    CLI::App* cmd = app.add_subcommand("quality", "quantized vs float logits for every precision and rotation");
    args->model.add_to(cmd);
    cmd->add_option("--prompt", args->prompt, "prompt token ids")->capture_default_str();
    cmd->add_option("--tokens", args->tokens, "decoded tokens compared")->capture_default_str();
    cmd->add_option("--json", args->json_out, "also write the table as JSON");
    cmd->callback([args] { run_quality(*args); });
}

}  // namespace lmsim::cli
