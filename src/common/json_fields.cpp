#include "common/json_fields.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace lmsim {

JsonObject::JsonObject(const nlohmann::json& value, std::string file, std::string path,
                       const Provenance* provenance)
    : value_(value), file_(std::move(file)), path_(std::move(path)), provenance_(provenance) {
    if (!value_.is_object())
        throw InputError(fmt::format("{}: {}: expected a JSON object, found {}", file_,
                                     path_.empty() ? "/" : path_, value_.type_name()));
}

nlohmann::json JsonObject::parse_file(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw InputError(fmt::format("{}: cannot open file", file));
    std::stringstream buffer;
    buffer << in.rdbuf();
    try {
        return nlohmann::json::parse(buffer.str());
    } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number out of range (406)
        throw InputError(fmt::format("{}: invalid JSON: {}", file, e.what()));
    }
}

std::string JsonObject::where(const std::string& key) const {
    std::string pointer = path_ + "/" + key;
    std::string file = file_;
    if (provenance_) {
        // The file that set this value, or failing that the nearest enclosing object's.
        for (std::string p = pointer; !p.empty(); p = p.substr(0, p.find_last_of('/'))) {
            auto it = provenance_->find(p);
            if (it != provenance_->end()) {
                file = it->second;
                break;
            }
        }
    }
    return fmt::format("{}: {}", file, pointer);
}

bool JsonObject::has(const std::string& key) const { return value_.contains(key); }

const nlohmann::json& JsonObject::at(const std::string& key, const char* expected) const {
    if (!value_.contains(key))
        throw InputError(fmt::format("{}: missing key, expected {}", where(key), expected));
    return value_.at(key);
}

long long JsonObject::get_int(const std::string& key, long long min_value,
                              long long max_value) const {
    const auto& v = at(key, "an integer");
    if (!v.is_number_integer())
        throw InputError(fmt::format("{}: expected an integer, found {} ({})", where(key),
                                     v.type_name(), v.dump()));
    long long x = v.get<long long>();
    if (x < min_value || x > max_value)
        throw InputError(fmt::format("{}: value {} out of range, expected {} to {}", where(key), x,
                                     min_value, max_value));
    return x;
}

long long JsonObject::get_int_or(const std::string& key, long long fallback, long long min_value,
                                 long long max_value) const {
    return has(key) ? get_int(key, min_value, max_value) : fallback;
}

double JsonObject::get_number(const std::string& key, double min_value, double max_value) const {
    const auto& v = at(key, "a number");
    if (!v.is_number())
        throw InputError(fmt::format("{}: expected a number, found {} ({})", where(key),
                                     v.type_name(), v.dump()));
    double x = v.get<double>();
    if (!(x >= min_value && x <= max_value))
        throw InputError(fmt::format("{}: value {} out of range, expected {} to {}", where(key), x,
                                     min_value, max_value));
    return x;
}

double JsonObject::get_number_or(const std::string& key, double fallback, double min_value,
                                 double max_value) const {
    return has(key) ? get_number(key, min_value, max_value) : fallback;
}

bool JsonObject::get_bool_or(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto& v = value_.at(key);
    if (!v.is_boolean())
        throw InputError(fmt::format("{}: expected true or false, found {} ({})", where(key),
                                     v.type_name(), v.dump()));
    return v.get<bool>();
}

std::string JsonObject::get_string(const std::string& key) const {
    const auto& v = at(key, "a string");
    if (!v.is_string())
        throw InputError(fmt::format("{}: expected a string, found {} ({})", where(key),
                                     v.type_name(), v.dump()));
    return v.get<std::string>();
}

std::string JsonObject::get_string_or(const std::string& key, const std::string& fallback) const {
    return has(key) ? get_string(key) : fallback;
}

JsonObject JsonObject::get_object(const std::string& key) const {
    const auto& v = at(key, "an object");
    return JsonObject(v, file_, path_ + "/" + key, provenance_);
}

std::string JsonObject::get_enum_or(const std::string& key, const std::string& fallback,
                                    const std::vector<std::string>& allowed) const {
    std::string v = get_string_or(key, fallback);
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        throw InputError(fmt::format("{}: '{}' is not allowed, expected one of {}", where(key), v, list));
    }
    return v;
}

void JsonObject::require_known_keys(const std::vector<std::string>& known) const {
    for (auto it = value_.begin(); it != value_.end(); ++it) {
        if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
        std::string nearest;
        std::size_t best = std::string::npos;
        for (const auto& k : known) {
            std::size_t d = edit_distance(it.key(), k);
            if (d < best) best = d, nearest = k;
        }
        std::string hint = (!nearest.empty() && best <= std::max<std::size_t>(2, nearest.size() / 3))
                               ? fmt::format(" (did you mean '{}'?)", nearest)
                               : "";
        throw InputError(fmt::format("{}: unknown key{}", where(it.key()), hint));
    }
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

void require_utf8(const std::string& text, const std::string& what) {
    const auto* b = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned char c = b[i];
        // The length of the sequence and the range of its second byte (RFC 3629: no overlong
        // forms, no surrogates, nothing above U+10FFFF).
        int len = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) len = 1;
        else if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) len = 3, lo = 0xA0;
        else if (c == 0xED) len = 3, hi = 0x9F;
        else if (c >= 0xE1 && c <= 0xEF) len = 3;
        else if (c == 0xF0) len = 4, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) len = 4, hi = 0x8F;
        bool ok = len > 0 && i + static_cast<std::size_t>(len) <= n;
        for (int k = 1; ok && k < len; ++k) {
            const unsigned char x = b[i + static_cast<std::size_t>(k)];
            ok = k == 1 ? x >= lo && x <= hi : x >= 0x80 && x <= 0xBF;
        }
        if (!ok) throw InputError(fmt::format("{}: not valid UTF-8 (byte {} is 0x{:02X})", what, i, c));
        i += static_cast<std::size_t>(len);
    }
}

}  // namespace lmsim
