#include <unistd.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "hw/accelerator.h"
#include "common/error.h"

namespace lmsim::cli {

void ModelArgs::add_to(CLI::App* app) {
    app->add_option("--model", model, "model card: a name from models/ (mamba2-130m ... mamba2-2.7b) or a JSON file");
    app->add_option("--weights", weights, "mamba_ssm checkpoint in safetensors format (F32, F16, BF16)");
    app->add_option("--seed", seed, "seed of the synthetic weights (with --model)")
        ->each([this](const std::string&) { seed_given = true; });
}

std::unique_ptr<WeightSource> ModelArgs::open() const {
    if (!weights.empty()) {
        if (model.empty()) return open_safetensors_weights(weights);
        ModelCard card = find_model_card(model);
        auto source = open_safetensors_weights(weights, &card);
        require_card_agrees(card, source->card(), weights);
        if (seed_given) throw InputError("--seed picks synthetic weights; it has no effect with --weights");
        return source;
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

void require_in_vocabulary(const std::vector<int32_t>& ids, int vocab, const std::string& option) {
    for (int32_t id : ids)
        if (id < 0 || id >= vocab)
            throw InputError(fmt::format("{}: token id {} is outside the model's vocabulary [0, {})", option, id, vocab));
}

void require_card_agrees(const ModelCard& given, const ModelCard& used, const std::string& weights_path) {
    auto differs = [&](const char* what, long a, long b) {
        if (a != b)
            throw InputError(fmt::format("--model {} has {} {}, but {} has {}: the checkpoint's own dimensions "
                                         "are used, so drop --model or give the matching card",
                                         given.name, what, a, weights_path, b));
    };
    differs("d_model", given.d_model, used.d_model);
    differs("n_layer", given.n_layer, used.n_layer);
    differs("vocab_size", given.vocab_size, used.vocab_size);
    differs("d_state", given.d_state, used.d_state);
    differs("headdim", given.headdim, used.headdim);
    differs("d_inner", given.d_inner(), used.d_inner());
}

void prepare_output_directory(const std::string& dir, const std::vector<std::string>& result_files) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        throw InputError(fmt::format("--out {}: exists and is not a directory (expected a directory to write "
                                     "the results into)", dir));
    fs::create_directories(dir, ec);
    if (ec) throw InputError(fmt::format("--out {}: cannot create the directory: {}", dir, ec.message()));
    const std::string probe = dir + "/.lmsim-write-test";
    {
        std::ofstream f(probe);
        if (!f) throw InputError(fmt::format("--out {}: the directory is not writable", dir));
    }
    fs::remove(probe, ec);
    std::string removed;
    for (const auto& name : result_files) {
        const fs::path p = fs::path(dir) / name;
        if (fs::exists(p, ec)) {
            fs::remove(p, ec);
            if (ec) throw InputError(fmt::format("--out {}: cannot remove the earlier run's {}: {}", dir, name, ec.message()));
            removed += (removed.empty() ? "" : ", ") + name;
        }
    }
    if (!removed.empty()) std::cerr << fmt::format("lmsim: removed an earlier run's {} from {}\n", removed, dir);
}

std::function<void(const hw::SimulationProgress&)> simulation_progress_line() {
    const auto t0 = std::chrono::steady_clock::now();
    return [t0](const hw::SimulationProgress& p) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double done = p.layers > 0 ? double(p.layers_done) / double(p.layers) : 0;
        std::fprintf(stderr, "\r  layer %lld of %lld, token %d of %d, %.1f M cycles, %.0f s, ETA %s   ",
                     static_cast<long long>(p.layers_done), static_cast<long long>(p.layers), p.tokens_done, p.tokens,
                     p.simulated_cycles / 1e6, s, done > 0 ? fmt::format("{:.0f} s", s * (1 - done) / done).c_str() : "?");
        std::fflush(stderr);
    };
}

void require_memory_estimate(double bytes, const std::string& what) {
    const double physical = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
    const double limit = physical > 0 ? physical / 2 : 8e9;
    if (bytes > limit)
        throw InputError(fmt::format("{}: needs about {:.3g} GB of memory; the limit is {:.3g} GB (half of this machine's "
                                     "{:.3g} GB); make the run smaller or split it",
                                     what, bytes / 1e9, limit / 1e9, physical / 1e9));
}

void require_time_estimate(double seconds, const std::string& what) {
    const double limit = kMaxEstimatedDays * 86400;
    if (seconds > limit)
        throw InputError(fmt::format("{}: would take at least {:.3g} days of simulation; the limit is {:.0f} days; "
                                     "make the run smaller or split it",
                                     what, seconds / 86400, kMaxEstimatedDays));
}

void require_model_fits(const ModelCard& card, double bytes_per_parameter, double tokens, const std::string& what) {
    const double parameters = double(card.params_per_layer()) * card.n_layer + double(card.vocab_size) * card.d_model *
                                                                                  (card.tie_embeddings ? 1 : 2);
    require_memory_estimate(parameters * bytes_per_parameter + tokens * card.vocab_size * 4.0, what);
}

long peak_rss_bytes() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) * 1024;
    return -1;
}

}  // namespace lmsim::cli
