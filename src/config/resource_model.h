// lmsim: FPGA resources of a LightMamba design, block by block, as functions of its structural
// parameters. Coefficients come from the released design's per-IP implementation numbers [C],
// from its HLS estimates scaled to implementation [HLS x factor], from memory-primitive
// geometry, or are assumptions [A]; one calibrated term per resource stands for the logic whose
// numbers are not public (docs/configuration.md "Resource model").
#pragma once
#include <string>
#include <vector>

#include "config/hardware_config.h"
#include "model/model_card.h"

namespace lmsim {

struct BlockResources {
    std::string block;
    ResourceVector used;
    double on_chip_bytes = 0;  // bytes of on-chip buffers and FIFOs held by the block
    std::string source;        // where the numbers come from
};

struct ResourceReport {
    std::vector<BlockResources> blocks;
    ResourceVector total;
    ResourceVector available;
    double on_chip_bytes = 0;
    std::vector<std::string> over_budget;  // "dsp: 2100 used > 1968 available"
};

// Memory primitives (UltraScale+ and Versal): BRAM36 configurations 512x72 ... 32Kx1, URAM
// 4Kx72, LUTRAM 64x1 per LUT.
double bram36_blocks(long depth, long width_bits);
double uram_blocks(long depth, long width_bits);
double lutram_luts(long depth, long width_bits);

// `model` sizes the buffers (the released design is built for mamba2-2.7b).
ResourceReport estimate_resources(const HardwareConfig& config, const ModelCard& model);

}  // namespace lmsim
