#include "model/weights.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "model/safetensors.h"

namespace lmsim {

uint64_t Rng::next_u64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
double Rng::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
}
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
    Rng r(seed ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL));
    r.next_u64();
    return r.next_u64();
}

namespace {

std::string layer_prefix(int i) { return fmt::format("backbone.layers.{}.", i); }

class SafetensorsSource : public WeightSource {
public:
    SafetensorsSource(const std::string& path, const ModelCard* card)
        : file_(std::make_unique<SafetensorsFile>(path)) {
        auto meta = file_->metadata().find("config");
        if (meta != file_->metadata().end()) {
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(meta->second);
            } catch (const nlohmann::json::exception& e) {
                throw InputError(fmt::format("{}: __metadata__/config is not valid JSON: {}", path,
                                             e.what()));
            }
            card_ = model_card_from_json(j, path + " (__metadata__/config)", stem(path));
        } else if (card) {
            card_ = *card;
        } else {
            card_ = infer_card(path);
        }
        check_shapes();
    }
    const ModelCard& card() const override { return card_; }
    std::vector<float> embedding() const override {
        return file_->read_float("backbone.embedding.weight",
                                 {card_.vocab_size, card_.d_model});
    }
    std::vector<float> norm_f() const override {
        return file_->read_float("backbone.norm_f.weight", {card_.d_model});
    }
    std::vector<float> lm_head() const override {
        if (card_.tie_embeddings || !file_->has("lm_head.weight")) return {};
        return file_->read_float("lm_head.weight", {card_.vocab_size, card_.d_model});
    }
    LayerWeights layer(int i) const override {
        const ModelCard& c = card_;
        std::string p = layer_prefix(i);
        LayerWeights w;
        w.norm = file_->read_float(p + "norm.weight", {c.d_model});
        w.in_proj = file_->read_float(p + "mixer.in_proj.weight", {c.d_in_proj(), c.d_model});
        w.conv_w = file_->read_float(p + "mixer.conv1d.weight", {c.conv_dim(), 1, c.d_conv});
        w.conv_b = file_->read_float(p + "mixer.conv1d.bias", {c.conv_dim()});
        w.dt_bias = file_->read_float(p + "mixer.dt_bias", {c.nheads()});
        w.A_log = file_->read_float(p + "mixer.A_log", {c.nheads()});
        w.D = file_->read_float(p + "mixer.D", {c.nheads()});
        w.gnorm = file_->read_float(p + "mixer.norm.weight", {c.d_inner()});
        w.out_proj = file_->read_float(p + "mixer.out_proj.weight", {c.d_model, c.d_inner()});
        return w;
    }
    std::string description() const override { return file_->path(); }

private:
    static std::string stem(const std::string& path) {
        std::string s = path.substr(path.find_last_of('/') + 1);
        auto dot = s.find('.');
        return dot == std::string::npos ? s : s.substr(0, dot);
    }
    // Dimensions from tensor shapes alone (ngroups assumed 1, as in every published Mamba2).
    ModelCard infer_card(const std::string& path) const {
        ModelCard c;
        c.name = stem(path);
        const auto& emb = file_->info("backbone.embedding.weight");
        if (emb.shape.size() != 2)
            throw InputError(fmt::format("{}: tensor 'backbone.embedding.weight' has shape {}, "
                                         "expected [vocab, d_model]", path,
                                         shape_string(emb.shape)));
        c.vocab_size = static_cast<int>(emb.shape[0]);
        c.d_model = static_cast<int>(emb.shape[1]);
        while (file_->has(layer_prefix(c.n_layer) + "mixer.in_proj.weight")) ++c.n_layer;
        if (c.n_layer == 0) throw InputError(fmt::format("{}: missing tensor '{}'", path,
                                             layer_prefix(0) + "mixer.in_proj.weight"));
        const auto& a = file_->info(layer_prefix(0) + "mixer.A_log");
        const auto& g = file_->info(layer_prefix(0) + "mixer.norm.weight");
        const auto& cw = file_->info(layer_prefix(0) + "mixer.conv1d.weight");
        if (a.shape.size() != 1 || g.shape.size() != 1 || cw.shape.size() != 3)
            throw InputError(fmt::format("{}: cannot infer dimensions from layer 0 shapes", path));
        int d_inner = static_cast<int>(g.shape[0]);
        int nheads = static_cast<int>(a.shape[0]);
        c.expand = d_inner / c.d_model;
        c.headdim = d_inner / std::max(1, nheads);
        c.ngroups = 1;
        c.d_state = static_cast<int>((cw.shape[0] - d_inner) / 2);
        c.d_conv = static_cast<int>(cw.shape[2]);
        c.tie_embeddings = !file_->has("lm_head.weight");
        c.validate(path);
        return c;
    }
    void check_shapes() const {
        // Fail early, naming the tensor, rather than in the middle of a run.
        if (!file_->has("backbone.embedding.weight"))
            throw InputError(fmt::format("{}: missing tensor 'backbone.embedding.weight'",
                                         file_->path()));
        const ModelCard& c = card_;
        auto expect = [&](const std::string& name, std::vector<int64_t> shape) {
            const auto& t = file_->info(name);
            if (t.shape != shape)
                throw InputError(fmt::format("{}: tensor '{}' has shape {}, expected {}",
                                             file_->path(), name, shape_string(t.shape),
                                             shape_string(shape)));
        };
        expect("backbone.embedding.weight", {c.vocab_size, c.d_model});
        expect("backbone.norm_f.weight", {c.d_model});
        for (int i = 0; i < c.n_layer; ++i) {
            std::string p = layer_prefix(i);
            expect(p + "norm.weight", {c.d_model});
            expect(p + "mixer.in_proj.weight", {c.d_in_proj(), c.d_model});
            expect(p + "mixer.conv1d.weight", {c.conv_dim(), 1, c.d_conv});
            expect(p + "mixer.conv1d.bias", {c.conv_dim()});
            expect(p + "mixer.dt_bias", {c.nheads()});
            expect(p + "mixer.A_log", {c.nheads()});
            expect(p + "mixer.D", {c.nheads()});
            expect(p + "mixer.norm.weight", {c.d_inner()});
            expect(p + "mixer.out_proj.weight", {c.d_model, c.d_inner()});
        }
    }
    std::unique_ptr<SafetensorsFile> file_;
    ModelCard card_;
};

// Streams of the synthetic generator, one per tensor kind (so that a tensor does not depend on
// the order in which others are drawn).
enum SynthStream : uint64_t {
    kEmbedding = 1, kOutlierPick, kInProj, kConvW, kConvB, kDt, kALog, kDSkip, kNorm, kGNorm,
    kOutProj, kNormF
};

class SyntheticSource : public WeightSource {
public:
    SyntheticSource(const ModelCard& card, const SyntheticSpec& spec) : card_(card), spec_(spec) {
        card_.validate("synthetic weights");
        int n = spec.outlier_channels >= 0 ? spec.outlier_channels
                                           : std::max(2, card.d_model / 128);
        n = std::min(n, card.d_model);
        Rng rng(mix_seed(spec.seed, kOutlierPick));
        std::vector<int> all(card.d_model);
        for (int i = 0; i < card.d_model; ++i) all[i] = i;
        for (int i = 0; i < n; ++i) {  // partial Fisher-Yates
            int j = i + static_cast<int>(rng.next_u64() % static_cast<uint64_t>(card.d_model - i));
            std::swap(all[i], all[j]);
            outliers_.push_back(all[i]);
        }
        std::sort(outliers_.begin(), outliers_.end());
    }
    const ModelCard& card() const override { return card_; }
    std::vector<float> embedding() const override {
        // mamba_ssm: nn.init.normal_(std=0.02); outlier channels scaled by outlier_gain.
        std::vector<float> e(static_cast<std::size_t>(card_.vocab_size) * card_.d_model);
        Rng rng(mix_seed(spec_.seed, kEmbedding));
        for (auto& v : e) v = static_cast<float>(0.02 * rng.normal());
        for (int v = 0; v < card_.vocab_size; ++v)
            for (int c : outliers_) e[static_cast<std::size_t>(v) * card_.d_model + c] *= spec_.outlier_gain;
        return e;
    }
    std::vector<float> norm_f() const override { return jittered(card_.d_model, kNormF, 0); }
    std::vector<float> lm_head() const override { return {}; }
    LayerWeights layer(int i) const override {
        const ModelCard& c = card_;
        LayerWeights w;
        w.norm = jittered(c.d_model, kNorm, i);
        // nn.Linear default init (kaiming_uniform a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        w.in_proj = uniform(1LL * c.d_in_proj() * c.d_model, 1.0 / std::sqrt(c.d_model), kInProj, i);
        // Conv1d default init, fan_in = d_conv (depthwise).
        double conv_bound = 1.0 / std::sqrt(c.d_conv);
        w.conv_w = uniform(1LL * c.conv_dim() * c.d_conv, conv_bound, kConvW, i);
        w.conv_b = uniform(c.conv_dim(), conv_bound, kConvB, i);
        if (spec_.trained_ssm_spread) {
            ssm_params_trained_like(i, &w);
        } else {
            // dt = exp(U(log 1e-3, log 1e-1)) floored at 1e-4, dt_bias = softplus^-1(dt).
            Rng dt_rng(mix_seed(spec_.seed, kDt, i));
            for (int h = 0; h < c.nheads(); ++h) {
                double dt = std::exp(dt_rng.uniform(std::log(1e-3), std::log(1e-1)));
                dt = std::max(dt, 1e-4);
                w.dt_bias.push_back(static_cast<float>(dt + std::log(-std::expm1(-dt))));
            }
            // A_log = log(U(1, 16)).
            Rng a_rng(mix_seed(spec_.seed, kALog, i));
            for (int h = 0; h < c.nheads(); ++h)
                w.A_log.push_back(static_cast<float>(std::log(a_rng.uniform(1.0, 16.0))));
            w.D = jittered(c.nheads(), kDSkip, i);
        }
        w.gnorm = jittered(c.d_inner(), kGNorm, i);
        // out_proj: Linear init rescaled by 1/sqrt(n_layer) (mamba_ssm rescale_prenorm_residual);
        // rows of the outlier channels scaled by outlier_gain, so every block keeps feeding them.
        w.out_proj = uniform(1LL * c.d_model * c.d_inner(),
                             1.0 / std::sqrt(c.d_inner()) / std::sqrt(c.n_layer), kOutProj, i);
        for (int ch : outliers_)
            for (int k = 0; k < c.d_inner(); ++k)
                w.out_proj[static_cast<std::size_t>(ch) * c.d_inner() + k] *= spec_.outlier_gain;
        return w;
    }
    std::string description() const override {
        return fmt::format("synthetic {} (seed {})", card_.name, spec_.seed);
    }

private:
    // dt_bias, A_log and D as a trained model spreads them: a level per layer, per group of 8
    // heads and per head, fitted to the released Mamba2-2.7B parameters (ref/weights, medians
    // dt_bias -4.1, A -1.6, D 0.7): dt_bias = -4.2 + N(0, 0.56) + N(0, 0.33) + N(0, 0.88);
    // ln|A| = 0.375 + N(0, 0.59) + N(0, 0.32) + N(0, 0.88); D = layer level (a quarter of the
    // layers near 0) x exp(N(0, 0.5)) per group + N(0, 0.1) per head [A: the released values'
    // spread, docs/quantization.md].
    void ssm_params_trained_like(int layer, LayerWeights* w) const {
        const int H = card_.nheads(), G = 8;
        Rng rng(mix_seed(spec_.seed, kDt, static_cast<uint64_t>(layer)));
        const double dt_layer = rng.normal() * 0.56, a_layer = rng.normal() * 0.59;
        const double d_level = rng.uniform(0.0, 1.0) < 0.25 ? 0.05 : 0.6 + 0.4 * rng.uniform(0.0, 1.0);
        double dt_group = 0, a_group = 0, d_group = 1;
        for (int h = 0; h < H; ++h) {
            if (h % G == 0) {
                dt_group = rng.normal() * 0.33;
                a_group = rng.normal() * 0.32;
                d_group = std::exp(rng.normal() * 0.5);
            }
            w->dt_bias.push_back(static_cast<float>(-4.2 + dt_layer + dt_group + rng.normal() * 0.88));
            w->A_log.push_back(static_cast<float>(0.375 + a_layer + a_group + rng.normal() * 0.88));
            w->D.push_back(static_cast<float>(d_level * d_group + rng.normal() * 0.1));
        }
    }
    std::vector<float> uniform(long long n, double bound, uint64_t stream, int layer) const {
        std::vector<float> v(static_cast<std::size_t>(n));
        Rng rng(mix_seed(spec_.seed, stream, static_cast<uint64_t>(layer)));
        for (auto& x : v) x = static_cast<float>(rng.uniform(-bound, bound));
        return v;
    }
    std::vector<float> jittered(int n, uint64_t stream, int layer) const {
        std::vector<float> v(n);
        Rng rng(mix_seed(spec_.seed, stream, static_cast<uint64_t>(layer)));
        for (auto& x : v) x = static_cast<float>(1.0 + spec_.norm_weight_jitter * rng.normal());
        return v;
    }
    ModelCard card_;
    SyntheticSpec spec_;
    std::vector<int> outliers_;
};

}  // namespace

std::unique_ptr<WeightSource> open_safetensors_weights(const std::string& path,
                                                       const ModelCard* card) {
    return std::make_unique<SafetensorsSource>(path, card);
}

std::unique_ptr<WeightSource> make_synthetic_weights(const ModelCard& card,
                                                     const SyntheticSpec& spec) {
    return std::make_unique<SyntheticSource>(card, spec);
}

ModelWeights load_all_weights(const WeightSource& source) {
    ModelWeights m;
    m.card = source.card();
    m.embedding = source.embedding();
    m.norm_f = source.norm_f();
    m.lm_head = source.lm_head();
    for (int i = 0; i < m.card.n_layer; ++i) m.layers.push_back(source.layer(i));
    return m;
}

}  // namespace lmsim
