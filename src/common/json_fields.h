// lmsim: typed access to JSON objects with errors that name the file, the JSON path and what
// was expected. Shared by model cards and (later) hardware configs.
#pragma once
#include <nlohmann/json.hpp>
#include <map>
#include <string>
#include <vector>

namespace lmsim {

// A JSON object being read, with where it came from (file and JSON path such as "/mixer").
// Where each value of a merged document came from: JSON pointer -> file (or "--set").
using Provenance = std::map<std::string, std::string>;

class JsonObject {
public:
    JsonObject(const nlohmann::json& value, std::string file, std::string path,
               const Provenance* provenance = nullptr);

    // Load and parse a JSON file; throws InputError naming the file on I/O or syntax errors.
    static nlohmann::json parse_file(const std::string& file);

    bool has(const std::string& key) const;
    long long get_int(const std::string& key, long long min_value, long long max_value) const;
    long long get_int_or(const std::string& key, long long fallback, long long min_value,
                         long long max_value) const;
    double get_number(const std::string& key, double min_value, double max_value) const;
    double get_number_or(const std::string& key, double fallback, double min_value,
                         double max_value) const;
    bool get_bool_or(const std::string& key, bool fallback) const;
    std::string get_string(const std::string& key) const;
    std::string get_string_or(const std::string& key, const std::string& fallback) const;
    // A string that must be one of `allowed`.
    std::string get_enum_or(const std::string& key, const std::string& fallback,
                            const std::vector<std::string>& allowed) const;
    JsonObject get_object(const std::string& key) const;

    // Every key of the object must be one of `known`; an unknown key gets an error that
    // suggests the nearest known key.
    void require_known_keys(const std::vector<std::string>& known) const;

    std::string where(const std::string& key) const;  // "file: /path/key"
    std::string path() const { return path_; }
    const std::string& file() const { return file_; }

private:
    const nlohmann::json& at(const std::string& key, const char* expected) const;
    const nlohmann::json& value_;
    std::string file_;
    std::string path_;
    const Provenance* provenance_ = nullptr;
};

// Edit distance, used to suggest the nearest valid key.
std::size_t edit_distance(const std::string& a, const std::string& b);

// Every text lmsim puts in a JSON document must be UTF-8 (nlohmann::json refuses to write
// anything else). Throws InputError naming `what` and the offset of the first bad byte.
void require_utf8(const std::string& text, const std::string& what);

}  // namespace lmsim
