// Runs the lmsim binary built with the tests and captures its exit code and output.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "model/model_card.h"

namespace lmsim_test {
struct Result {
    int code;
    std::string output;
};
// A shell command line, stdout and stderr captured.
inline Result run_shell(const std::string& cmd_line) {
    std::string cmd = cmd_line + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int status = pclose(p);
    return {WEXITSTATUS(status), out};
}
inline Result run(const std::string& args) { return run_shell(std::string(LMSIM_BINARY) + " " + args); }
// A model card file with `name`'s shapes and fewer layers (every layer is the same; tests need a few).
inline std::string short_card(const std::string& name, int layers) {
    lmsim::ModelCard m = lmsim::find_model_card(name);
    nlohmann::json j = m.to_json();
    j["n_layer"] = layers;
    j["name"] = name + "-" + std::to_string(layers) + "layers";
    std::string path =
        (std::filesystem::temp_directory_path() / ("lmsim-" + name + "-" + std::to_string(layers) + ".json")).string();
    std::ofstream(path) << j.dump();
    return path;
}
}  // namespace lmsim_test
