#include <fmt/format.h>

#include <fstream>

#include "cli/commands.h"
#include "common/error.h"

namespace lmsim::cli {

void ModelArgs::add_to(CLI::App* app) {
    app->add_option("--model", model, "model card: a name from models/ (mamba2-130m ... mamba2-2.7b) or a JSON file");
    app->add_option("--weights", weights, "mamba_ssm checkpoint in safetensors format (F32, F16, BF16)");
    app->add_option("--seed", seed, "seed of the synthetic weights (with --model)");
}

std::unique_ptr<WeightSource> ModelArgs::open() const {
    if (!weights.empty()) {
        if (model.empty()) return open_safetensors_weights(weights);
        ModelCard card = find_model_card(model);
        return open_safetensors_weights(weights, &card);
    }
    if (model.empty()) throw InputError("give --model NAME (synthetic weights) or --weights FILE");
    SyntheticSpec spec;
    spec.seed = seed;
    return make_synthetic_weights(find_model_card(model), spec);
}

std::vector<int32_t> parse_token_list(const std::string& text, const std::string& option) {
    std::vector<int32_t> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t comma = text.find(',', pos);
        std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        try {
            std::size_t used = 0;
            long v = std::stol(item, &used);
            if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
            out.push_back(static_cast<int32_t>(v));
        } catch (const std::exception&) {
            throw InputError(fmt::format("{}: '{}' is not a token id (expected comma-separated "
                                         "non-negative integers such as 1,2,3)", option, item));
        }
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return out;
}

long peak_rss_bytes() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) * 1024;
    return -1;
}

}  // namespace lmsim::cli
