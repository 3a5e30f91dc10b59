// lmsim fuzz targets: what they share. Each target is a libFuzzer entry point
// (LLVMFuzzerTestOneInput) over one input parser; its oracle is that the parser either succeeds
// or throws lmsim::InputError (a user's mistake, exit 2). Any other exception, a crash, a
// sanitizer report or a hang is a finding. docs/robustness.md says how to run them; the replay
// driver (replay_main.cpp) runs the seed corpus and the kept crash inputs as ordinary tests.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "common/error.h"

namespace lmsim::fuzz {

// The loaders read files: the input is written to a file of this process's own (in /dev/shm when
// it exists, so that fuzzing does not wear a disk) with the extension the loader dispatches on.
// The files (and the config target's directory) are removed when the process ends normally, so
// that replays in the test suite leave nothing behind.
inline std::string input_file(const std::string& extension) {
    struct Created {
        std::set<std::string> paths;
        ~Created() {
            std::error_code ec;
            for (const std::string& p : paths) std::filesystem::remove_all(p, ec);
        }
    };
    static Created created;
    static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    const std::string path = dir + "/lmsim-fuzz-" + std::to_string(getpid()) + extension;
    created.paths.insert(path);
    return path;
}

inline std::string write_input(const uint8_t* data, size_t size, const std::string& extension) {
    const std::string path = input_file(extension);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

// Runs `body`; an InputError is the expected answer to bad input, anything else propagates (and
// libFuzzer reports the uncaught exception as a crash).
template <typename Body>
int expect_only_input_errors(Body&& body) {
    try {
        body();
    } catch (const lmsim::InputError&) {
    }
    return 0;
}

}  // namespace lmsim::fuzz
