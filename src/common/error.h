// lmsim: error type shared by every layer of the simulator.
#pragma once
#include <stdexcept>
#include <string>

namespace lmsim {

// An input error: bad file, bad JSON, bad tensor, bad argument. The message names the file,
// the path inside it and what was expected. The command line maps it to exit code 2.
class InputError : public std::runtime_error {
public:
    explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

// An arithmetic range violation inside the integer datapath (a value that does not fit the
// hardware word it is assigned to). Raised by the range checks of the golden model.
class RangeError : public std::runtime_error {
public:
    explicit RangeError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace lmsim
