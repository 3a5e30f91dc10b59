// Runs the lmsim binary built with the tests and captures its exit code and output.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace lmsim_test {
struct Result {
    int code;
    std::string output;
};
inline Result run(const std::string& args) {
    std::string cmd = std::string(LMSIM_BINARY) + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int status = pclose(p);
    return {WEXITSTATUS(status), out};
}
}  // namespace lmsim_test
