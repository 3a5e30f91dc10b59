// lmsim: Mamba2 model dimensions (a "model card"), read from models/*.json or from the config
// stored in a safetensors file's metadata.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace lmsim {

struct ModelCard {
    std::string name;
    int d_model = 0;
    int n_layer = 0;
    int d_state = 128;   // N
    int headdim = 64;    // P
    int expand = 2;
    int ngroups = 1;
    int d_conv = 4;
    int vocab_size = 0;  // rows of the embedding (already padded)
    double norm_eps = 1e-5;
    bool tie_embeddings = true;

    int d_inner() const { return expand * d_model; }
    int nheads() const { return d_inner() / headdim; }
    int conv_dim() const { return d_inner() + 2 * ngroups * d_state; }
    int d_in_proj() const { return 2 * d_inner() + 2 * ngroups * d_state + nheads(); }
    long long params_per_layer() const;

    // Checks the relations between fields that the float reference needs.
    void validate(const std::string& where) const;
    nlohmann::json to_json() const;
};

// Reads a model card JSON object (the form of models/*.json and of mamba_ssm's config).
ModelCard model_card_from_json(const nlohmann::json& j, const std::string& file,
                               const std::string& default_name);
ModelCard load_model_card_file(const std::string& path);

// Resolves --model NAME: a path to a JSON file, or a name looked up in the models/ folder
// (searched in $LMSIM_MODELS, then ./models, then the source tree's models/).
ModelCard find_model_card(const std::string& name_or_path);
std::string models_directory();

}  // namespace lmsim
