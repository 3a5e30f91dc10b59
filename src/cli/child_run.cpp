#include "cli/child_run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace lmsim::cli {
namespace {

std::string quoted(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

}  // namespace

std::string lmsim_executable_path() {
    std::error_code ec;
    const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find the lmsim executable: " + ec.message());
    return p.string();
}

nlohmann::json run_child(const std::vector<std::string>& args, const std::string& dir) {
    std::filesystem::create_directories(dir);
    std::string cmd = quoted(lmsim_executable_path()) + " run";
    for (const std::string& a : args) cmd += " " + quoted(a);
    const std::string log = dir + "/run.log";
    cmd += " --quiet --out " + quoted(dir) + " > " + quoted(log) + " 2>&1";
    if (std::system(cmd.c_str()) != 0) {
        std::ifstream f(log);
        const std::string output((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        std::string shown;
        for (const std::string& a : args) shown += " " + a;
        throw std::runtime_error(fmt::format("lmsim run{} failed:\n{}", shown, output));
    }
    std::ifstream f(dir + "/report.json");
    return nlohmann::json::parse(f);
}

TemporaryDirectory::TemporaryDirectory(const std::string& prefix)
    : path((std::filesystem::temp_directory_path() / fmt::format("{}-{}", prefix, ::getpid())).string()) {
    std::filesystem::create_directories(path);
}

TemporaryDirectory::~TemporaryDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

}  // namespace lmsim::cli
