#include "golden/fixed_point.h"

#include <fmt/format.h>

#include <cmath>

namespace lmsim::fx {

void throw_range(const char* what, int64_t value, int bits) {
    throw RangeError(fmt::format("{}: value {} does not fit a signed {}-bit word", what, value, bits));
}

int64_t to_fixed(double v, int frac) { return static_cast<int64_t>(std::llround(std::ldexp(v, frac))); }
double from_fixed(int64_t v, int frac) { return std::ldexp(static_cast<double>(v), -frac); }

}  // namespace lmsim::fx
