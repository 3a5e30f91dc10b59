// Fuzz target: the safetensors reader (model/safetensors.h) and the checkpoint loader on top of
// it (model/weights.h: the model card inferred from the tensors' shapes, every tensor read).
// Input: a safetensors file.
#include "fuzz_common.h"
#include "model/safetensors.h"
#include "model/weights.h"

namespace {
// A checkpoint whose tensors add up to more than this is read header-only (the fuzzer's memory
// limit is 2 GB; the loader's own size checks are what is exercised).
constexpr int64_t kMaxLoadedElements = int64_t{1} << 22;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = lmsim::fuzz::write_input(data, size, ".safetensors");
    lmsim::fuzz::expect_only_input_errors([&] {
        const lmsim::SafetensorsFile file(path);
        for (const std::string& name : file.names()) {
            const lmsim::TensorInfo& info = file.info(name);
            lmsim::fuzz::expect_only_input_errors([&] {
                if (info.dtype == "F32" || info.dtype == "F16" || info.dtype == "BF16" || info.dtype == "F64")
                    file.read_float(name, info.shape);
                else
                    file.read_int(name, info.shape);
            });
        }
    });
    return lmsim::fuzz::expect_only_input_errors([&] {
        const auto source = lmsim::open_safetensors_weights(path);
        const lmsim::ModelCard& card = source->card();
        const int64_t elements = int64_t{card.n_layer} * card.d_model * card.d_model * 8 + int64_t{card.vocab_size} * card.d_model;
        if (elements > 0 && elements <= kMaxLoadedElements) lmsim::load_all_weights(*source);
    });
}
