#include "report/vectors.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_fields.h"
#include "model/safetensors.h"

namespace lmsim {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<int32_t> to_i32(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

}  // namespace

void check_output_path(const std::string& path) {
    if (!ends_with(path, ".safetensors") && !ends_with(path, ".json"))
        throw InputError(fmt::format("{}: output must end in .safetensors or .json", path));
    std::string probe = path + ".tmp";
    std::ofstream f(probe);
    if (!f) throw InputError(fmt::format("{}: cannot write here (does the folder exist?)", path));
    f.close();
    std::remove(probe.c_str());
}

void write_generation(const std::string& path, const Generation& g, int vocab,
                      const std::map<std::string, std::string>& metadata,
                      const std::map<std::string, DumpTensor>& extra) {
    const int64_t n = static_cast<int64_t>(g.decode_tokens.size());
    if (ends_with(path, ".json")) {
        nlohmann::json j;
        j["input_ids"] = {g.input_ids};
        j["prefill_last_logits"] = {g.prefill_last_logits};
        j["decode_tokens"] = g.decode_tokens;
        nlohmann::json rows = nlohmann::json::array();
        for (int64_t i = 0; i < n; ++i)
            rows.push_back(std::vector<float>(g.decode_logits.begin() + i * vocab,
                                              g.decode_logits.begin() + (i + 1) * vocab));
        j["decode_logits"] = rows;
        j["__metadata__"] = metadata;
        // A generation stopped by a signal (golden): what is complete, marked as such.
        if (g.stopped) {
            j["partial"] = true;
            if (metadata.count("partial_reason")) j["partial_reason"] = metadata.at("partial_reason");
        }
        for (const auto& kv : extra) j["dump"][kv.first] = {{"shape", kv.second.shape}, {"values", kv.second.values}};
        write_file_atomically(path, j.dump(1) + "\n");
        return;
    }
    if (!ends_with(path, ".safetensors"))
        throw InputError(fmt::format("{}: output must end in .safetensors or .json", path));
    SafetensorsWriter w;
    w.add_i32("input_ids", {1, static_cast<int64_t>(g.input_ids.size())}, g.input_ids);
    w.add_f32("prefill_last_logits", {1, vocab}, g.prefill_last_logits);
    w.add_i32("decode_tokens", {n}, g.decode_tokens);
    w.add_f32("decode_logits", {n, vocab}, g.decode_logits);
    for (const auto& kv : metadata) w.set_metadata(kv.first, kv.second);
    if (g.stopped) w.set_metadata("partial", "true");
    for (const auto& kv : extra) {
        if (kv.second.as_float)
            w.add_f32(kv.first, kv.second.shape, std::vector<float>(kv.second.values.begin(), kv.second.values.end()));
        else
            w.add_i32(kv.first, kv.second.shape, std::vector<int32_t>(kv.second.values.begin(), kv.second.values.end()));
    }
    w.write(path);
}

Generation read_generation(const std::string& path) {
    Generation g;
    if (ends_with(path, ".json")) {
        nlohmann::json j = JsonObject::parse_file(path);
        try {
            g.input_ids = j.at("input_ids").at(0).get<std::vector<int32_t>>();
            g.prefill_last_logits = j.at("prefill_last_logits").at(0).get<std::vector<float>>();
            g.decode_tokens = j.at("decode_tokens").get<std::vector<int32_t>>();
            for (const auto& row : j.at("decode_logits"))
                for (float v : row.get<std::vector<float>>()) g.decode_logits.push_back(v);
        } catch (const nlohmann::json::exception& e) {
            throw InputError(fmt::format("{}: not a vectors file: {}", path, e.what()));
        }
        return g;
    }
    SafetensorsFile f(path);
    const auto& ids = f.info("input_ids");
    g.input_ids = to_i32(f.read_int("input_ids", ids.shape));
    const auto& toks = f.info("decode_tokens");
    g.decode_tokens = to_i32(f.read_int("decode_tokens", toks.shape));
    g.prefill_last_logits = f.read_float("prefill_last_logits", f.info("prefill_last_logits").shape);
    g.decode_logits = f.read_float("decode_logits", f.info("decode_logits").shape);
    return g;
}

}  // namespace lmsim
