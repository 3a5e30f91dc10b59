// lmsim golden: the float reference (fp32) or the bit-exact integer golden model (w8a8, w4a4)
// decoding a prompt token by token; writes the decode vectors.
#include <fmt/format.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>

#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "common/error.h"
#include "golden/float_model.h"
#include "golden/int_model.h"
#include "golden/metrics.h"
#include "model/ptq.h"
#include "report/vectors.h"

namespace lmsim::cli {
namespace {

struct GoldenArgs {
    ModelArgs model;
    std::string prompt, precision = "w4a4", rotation = "offline", teacher, out;
    int tokens = 8;
    int dump_layer = -1;
    bool no_reorder = false, quiet = false;
};

void run_golden(const GoldenArgs& a) {
    // Until decoding starts there is nothing to keep: Ctrl-C / SIGTERM end the command at once.
    install_exit_at_once_handlers();
    if (a.out.empty()) throw InputError("--out FILE.safetensors|FILE.json is required");
    check_output_path(a.out);
    if (a.tokens < 0) throw InputError("--tokens must be >= 0");
    auto source = a.model.open();
    const ModelCard& card = source->card();
    require_model_fits(card, a.precision == "fp32" || a.precision == "FP32" ? kFloatBytesPerParameter : kQuantizedBytesPerParameter, double(a.tokens) + 1,
                       fmt::format("golden on {} ({:.3g} M parameters per layer, {} layers, {} tokens)", card.name,
                                   card.params_per_layer() / 1e6, card.n_layer, a.tokens));
    if (a.dump_layer >= card.n_layer)
        throw InputError(fmt::format("--dump-layer {}: the model has layers 0 to {}", a.dump_layer, card.n_layer - 1));

    Generation teacher;
    std::vector<int32_t> prompt;
    if (!a.teacher.empty()) teacher = read_generation(a.teacher);
    if (!a.prompt.empty()) prompt = parse_token_list(a.prompt, "--prompt");
    else if (!a.teacher.empty()) prompt = teacher.input_ids;
    else throw InputError("--prompt is required (comma-separated token ids), or --teacher-forcing with input_ids");

    const bool fp32 = a.precision == "fp32" || a.precision == "FP32";
    std::map<std::string, DumpTensor> dump;
    std::map<std::string, std::string> meta{{"config", card.to_json().dump()},
                                            {"precision", fp32 ? "fp32" : a.precision},
                                            {"weights", source->description()},
                                            {"generator", "lmsim golden"}};
    auto append = [&](const std::string& name, const std::vector<double>& v, bool as_float) {
        DumpTensor& t = dump[fmt::format("layer{}.{}", a.dump_layer, name)];
        t.as_float = as_float;
        if (t.shape.empty()) t.shape = {0, static_cast<int64_t>(v.size())};
        t.shape[0] += 1;
        t.values.insert(t.values.end(), v.begin(), v.end());
    };

    std::unique_ptr<Decoder> decoder;
    std::unique_ptr<ModelWeights> float_weights;
    std::unique_ptr<QuantizedModel> quantized;
    auto t0 = std::chrono::steady_clock::now();
    if (fp32) {
        float_weights = std::make_unique<ModelWeights>(load_all_weights(*source));
        auto fm = std::make_unique<FloatModel>(*float_weights);
        if (a.dump_layer >= 0)
            fm->on_layer = [&](int l, const FloatLayerTrace& t) {
                if (l != a.dump_layer) return;
                auto d = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
                append("residual_in", d(t.residual_in), true);
                append("normed", d(t.normed), true);
                append("in_proj_out", d(t.zxbcdt), true);
                append("silu_conv", d(t.xbc_conv), true);
                append("dt", d(t.dt), true);
                append("dA", d(t.dA), true);
                append("y", d(t.y), true);
                append("gated", d(t.gated), true);
                append("out_proj_out", d(t.out), true);
            };
        decoder = std::move(fm);
    } else {
        QuantSpec spec;
        spec.precision = parse_precision(a.precision);
        spec.rotation = parse_rotation(a.rotation);
        spec.reorder = !a.no_reorder;
        quantized = std::make_unique<QuantizedModel>(quantize_model(*source, spec));
        meta["rotation"] = to_string(spec.rotation);
        meta["reorder"] = spec.reorder ? "true" : "false";
        auto im = std::make_unique<IntModel>(*quantized);
        if (a.dump_layer >= 0)
            im->on_layer = [&](int l, const IntLayerTrace& t) {
                if (l != a.dump_layer) return;
                for (const auto& kv : t) append(kv.first, std::vector<double>(kv.second.begin(), kv.second.end()), false);
            };
        decoder = std::move(im);
    }
    auto t1 = std::chrono::steady_clock::now();
    // Decoding: a signal stops it at the next layer boundary; the finished tokens are written,
    // marked partial, and the exit code is 128 + the signal.
    install_stop_handlers();
    decoder->set_stop_flag(&g_stop_signal);
    // A progress line on a terminal (tokens done, elapsed, ETA); nothing when stderr is not one
    // or with --quiet.
    const bool show_progress = !a.quiet && ::isatty(STDERR_FILENO);
    const auto progress = [&](int done, int steps) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        std::fprintf(stderr, "\r  token %d of %d (prompt %zu), %.1f s, ETA %.0f s   ", done, steps, prompt.size(), s,
                     s * (steps - done) / std::max(1, done));
        std::fflush(stderr);
    };
    Generation g = generate(*decoder, prompt, a.tokens, teacher.decode_tokens,
                            show_progress ? std::function<void(int, int)>(progress) : std::function<void(int, int)>());
    if (show_progress) std::fprintf(stderr, "\r\033[K");
    auto t2 = std::chrono::steady_clock::now();
    if (g.stopped) {
        const std::string reason = fmt::format("stopped by {} after {} of {} prompt tokens and {} of {} decoded tokens",
                                               signal_name(g_stop_signal), g.input_ids.size(), prompt.size(),
                                               g.decode_tokens.size(), a.tokens);
        meta["partial"] = "true";
        meta["partial_reason"] = reason;
        // A step abandoned after its --dump-layer layer ran left one row too many: keep the rows
        // of the finished steps.
        const int64_t steps = static_cast<int64_t>(g.input_ids.size() + g.decode_tokens.size());
        for (auto& [name, t] : dump) {
            if (t.shape.empty() || t.shape[0] <= steps) continue;
            const std::size_t row = t.values.size() / static_cast<std::size_t>(t.shape[0]);
            t.shape[0] = steps;
            t.values.resize(row * static_cast<std::size_t>(steps));
        }
        if (g.input_ids.empty()) {
            fmt::print(stderr, "lmsim: {}; nothing complete, nothing written\n", reason);
        } else {
            write_generation(a.out, g, card.vocab_size, meta, dump);
            fmt::print(stderr, "lmsim: {}; wrote what is complete to {} (marked partial)\n", reason, a.out);
        }
        throw Interrupted{g_stop_signal};
    }
    write_generation(a.out, g, card.vocab_size, meta, dump);

    double setup_s = std::chrono::duration<double>(t1 - t0).count();
    double run_s = std::chrono::duration<double>(t2 - t1).count();
    fmt::print("model       {} ({}), {} layers, d_model {}\n", card.name, source->description(), card.n_layer, card.d_model);
    fmt::print("precision   {}{}\n", meta["precision"], fp32 ? "" : fmt::format(", rotation {}, reorder {}", meta["rotation"], meta["reorder"]));
    fmt::print("decoded     {} prompt + {} tokens in {:.3f} s ({:.3f} s per token; setup {:.3f} s)\n",
               prompt.size(), a.tokens, run_s, run_s / std::max<std::size_t>(1, prompt.size() + a.tokens), setup_s);
    std::string toks;
    for (auto t : g.decode_tokens) toks += (toks.empty() ? "" : ",") + std::to_string(t);
    fmt::print("tokens      {}\n", toks);
    if (!a.teacher.empty() && teacher.decode_logits.size() == g.decode_logits.size()) {
        LogitAgreement m = compare_logits(teacher.decode_logits, g.decode_logits, card.vocab_size);
        double prefill_err = 0;
        for (std::size_t i = 0; i < g.prefill_last_logits.size() && i < teacher.prefill_last_logits.size(); ++i)
            prefill_err = std::max(prefill_err, static_cast<double>(std::fabs(g.prefill_last_logits[i] - teacher.prefill_last_logits[i])));
        fmt::print("vs {}: cosine {:.6f}, top-1 {:.3f}, max |error| decode {:.3g}, prefill {:.3g}\n",
                   a.teacher, m.mean_cosine, m.top1_agreement, m.max_abs_error, prefill_err);
    }
    fmt::print("wrote       {}\n", a.out);
}

}  // namespace

void add_golden_command(CLI::App& app) {
    auto args = std::make_shared<GoldenArgs>();
    CLI::App* cmd = app.add_subcommand("golden", "decode with the float reference or the integer golden model");
    args->model.add_to(cmd);
    cmd->add_option("--prompt", args->prompt, "prompt token ids, e.g. 1,2,3");
    cmd->add_option("--tokens", args->tokens, "tokens to decode after the prompt")->capture_default_str();
    cmd->add_option("--precision", args->precision, "fp32 | w8a8 | w4a4")->capture_default_str();
    cmd->add_option("--rotation", args->rotation, "none | offline | offline+online")->capture_default_str();
    cmd->add_flag("--no-reorder", args->no_reorder, "keep in_proj rows in the natural order z, xBC, dt");
    cmd->add_option("--teacher-forcing", args->teacher, "vectors file: feed its decode_tokens (and compare logits)");
    cmd->add_option("--out", args->out, "output FILE.safetensors or FILE.json");
    cmd->add_option("--dump-layer", args->dump_layer, "also write layer L's intermediates (every step)");
    cmd->add_flag("--quiet", args->quiet, "no progress line on a terminal");
    cmd->callback([args] { run_golden(*args); });
}

}  // namespace lmsim::cli
