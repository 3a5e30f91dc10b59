#include "model/model_card.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

#include "common/error.h"
#include "common/json_fields.h"

#ifndef LMSIM_SOURCE_DIR
#define LMSIM_SOURCE_DIR "."
#endif

namespace lmsim {

long long ModelCard::params_per_layer() const {
    long long in_proj = 1LL * d_in_proj() * d_model;
    long long conv = 1LL * conv_dim() * (d_conv + 1);
    long long out_proj = 1LL * d_model * d_inner();
    return in_proj + conv + 3LL * nheads() + d_inner() + out_proj + d_model;
}

void ModelCard::validate(const std::string& where) const {
    auto fail = [&](const std::string& what) {
        throw InputError(fmt::format("{}: invalid model card '{}': {}", where, name, what));
    };
    if (d_model <= 0 || n_layer <= 0 || d_state <= 0 || headdim <= 0 || expand <= 0 ||
        ngroups <= 0 || d_conv <= 0 || vocab_size <= 0)
        fail("every dimension must be positive");
    if (d_inner() % headdim != 0)
        fail(fmt::format("d_inner {} is not a multiple of headdim {}", d_inner(), headdim));
    if (nheads() % ngroups != 0)
        fail(fmt::format("nheads {} is not a multiple of ngroups {}", nheads(), ngroups));
    if (!(norm_eps > 0)) fail("norm_epsilon must be positive");
}

nlohmann::json ModelCard::to_json() const {
    return {{"name", name},           {"d_model", d_model},   {"n_layer", n_layer},
            {"d_state", d_state},     {"headdim", headdim},   {"expand", expand},
            {"ngroups", ngroups},     {"d_conv", d_conv},     {"vocab_size", vocab_size},
            {"norm_epsilon", norm_eps}, {"tie_embeddings", tie_embeddings}};
}

ModelCard model_card_from_json(const nlohmann::json& j, const std::string& file,
                               const std::string& default_name) {
    JsonObject o(j, file, "");
    // Keys written by lmsim's model cards and by mamba_ssm's config; "source", "dtype", "seed",
    // "rms_norm" and friends are accepted and ignored (they describe, they do not dimension).
    o.require_known_keys({"name", "d_model", "n_layer", "d_state", "headdim", "expand", "ngroups",
                          "d_conv", "vocab_size", "norm_epsilon", "tie_embeddings", "rms_norm",
                          "dtype", "seed", "source", "description", "d_intermediate",
                          "ssm_cfg", "attn_layer_idx", "attn_cfg", "residual_in_fp32",
                          "fused_add_norm", "pad_vocab_size_multiple", "vocab_size_unpadded"});
    ModelCard c;
    c.name = o.get_string_or("name", default_name);
    c.d_model = static_cast<int>(o.get_int("d_model", 1, 1 << 16));
    c.n_layer = static_cast<int>(o.get_int("n_layer", 1, 4096));
    c.d_state = static_cast<int>(o.get_int_or("d_state", 128, 1, 4096));
    c.headdim = static_cast<int>(o.get_int_or("headdim", 64, 1, 4096));
    c.expand = static_cast<int>(o.get_int_or("expand", 2, 1, 16));
    c.ngroups = static_cast<int>(o.get_int_or("ngroups", 1, 1, 1024));
    c.d_conv = static_cast<int>(o.get_int_or("d_conv", 4, 1, 64));
    long long vocab = o.get_int("vocab_size", 1, 1 << 22);
    long long pad = o.get_int_or("pad_vocab_size_multiple", 1, 1, 1024);
    c.vocab_size = static_cast<int>((vocab + pad - 1) / pad * pad);
    c.norm_eps = o.get_number_or("norm_epsilon", 1e-5, 0.0, 1.0);
    c.tie_embeddings = o.get_bool_or("tie_embeddings", true);
    if (o.has("d_intermediate") && o.get_int("d_intermediate", 0, 0) != 0)
        throw InputError(o.where("d_intermediate") + ": only 0 (no MLP) is supported");
    c.validate(file);
    return c;
}

ModelCard load_model_card_file(const std::string& path) {
    auto j = JsonObject::parse_file(path);
    std::string stem = path.substr(path.find_last_of('/') + 1);
    if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".json")
        stem = stem.substr(0, stem.size() - 5);
    return model_card_from_json(j, path, stem);
}

std::string models_directory() {
    if (const char* env = std::getenv("LMSIM_MODELS")) return env;
    if (std::ifstream("models/mamba2-130m.json")) return "models";
    return std::string(LMSIM_SOURCE_DIR) + "/models";
}

ModelCard find_model_card(const std::string& name_or_path) {
    if (name_or_path.find('/') != std::string::npos ||
        (name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".json"))
        return load_model_card_file(name_or_path);
    std::string path = models_directory() + "/" + name_or_path + ".json";
    if (!std::ifstream(path))
        throw InputError(fmt::format(
            "unknown model '{}': no file {} (known models are the *.json files in {})",
            name_or_path, path, models_directory()));
    return load_model_card_file(path);
}

}  // namespace lmsim
