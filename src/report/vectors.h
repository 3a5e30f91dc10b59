// lmsim: reading and writing decode vectors (input_ids, prefill_last_logits, decode_tokens,
// decode_logits) in the layout of ../shared/reference, as safetensors or JSON.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "golden/decoder.h"

namespace lmsim {

// Extra tensors written beside the vectors (e.g. --dump-layer intermediates): name -> (shape,
// values). Written as F32 when `as_float`, else I32.
struct DumpTensor {
    std::vector<int64_t> shape;
    std::vector<double> values;
    bool as_float = true;
};

// Writes `g` to path; the format follows the extension (.safetensors or .json). The file is
// written whole or not at all.
void write_generation(const std::string& path, const Generation& g, int vocab,
                      const std::map<std::string, std::string>& metadata,
                      const std::map<std::string, DumpTensor>& extra = {});

// Reads vectors written by write_generation or by the reference generator.
Generation read_generation(const std::string& path);

// Fails early (before a long run) when the output path cannot be written.
void check_output_path(const std::string& path);

}  // namespace lmsim
