// lmsim command line: simulations in child processes. SystemC elaborates one design per
// process, so a command that simulates several points (calibrate, regress) runs each as a
// child `lmsim run` of this same executable and reads its report.json.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmsim::cli {

// This lmsim executable's path (/proc/self/exe), for the commands that start child runs.
std::string lmsim_executable_path();

// `lmsim run ARGS... --quiet --out DIR` (DIR created if missing); returns DIR/report.json.
// Throws std::runtime_error with the child's output when it fails.
nlohmann::json run_child(const std::vector<std::string>& args, const std::string& dir);

// A temporary directory removed (with its contents) when this object goes away.
struct TemporaryDirectory {
    explicit TemporaryDirectory(const std::string& prefix);
    ~TemporaryDirectory();
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
    std::string path;
};

}  // namespace lmsim::cli
