// Fuzz target: the decode-vector reader (report/vectors.h), as lmsim golden --vectors and the
// reference comparison use it. Input: one byte choosing the format ('j' JSON, else safetensors),
// then the file.
#include "fuzz_common.h"
#include "report/vectors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string path = lmsim::fuzz::write_input(data + 1, size - 1, data[0] == 'j' ? ".json" : ".safetensors");
    return lmsim::fuzz::expect_only_input_errors([&] { lmsim::read_generation(path); });
}
