// Fuzz target: the hardware-config loader with --set overrides (config/hardware_config.h), then
// what every command derives from a valid config before it simulates: the resource estimate and
// the dataflow graph for two model cards.
// Input: a config document, a line "%%", then one override "path=value" per line. An empty
// document stands for configs/vck190.json. The document is written into a directory of this
// process's own holding a link `platforms` to configs/platforms, so "extends" resolves as it
// does for the bundled configs.
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <vector>

#include "config/hardware_config.h"
#include "config/resource_model.h"
#include "fuzz_common.h"
#include "hw/lightmamba_graph.h"
#include "model/model_card.h"

namespace {

std::string config_directory() {
    static const std::string dir = [] {
        const std::string d = lmsim::fuzz::input_file("-config.d");
        std::filesystem::create_directories(d);
        std::error_code ec;
        std::filesystem::create_directory_symlink(std::string(LMSIM_SOURCE_DIR) + "/configs/platforms",
                                                  d + "/platforms", ec);
        return d;
    }();
    return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const size_t split = text.find("%%");
    const std::string document = text.substr(0, split);
    std::vector<std::string> overrides;
    if (split != std::string::npos) {
        std::istringstream lines(text.substr(split + 2));
        for (std::string line; std::getline(lines, line);)
            if (!line.empty()) overrides.push_back(line);
    }
    std::string path = std::string(LMSIM_SOURCE_DIR) + "/configs/vck190.json";
    if (document.find_first_not_of(" \t\r\n") != std::string::npos) {
        path = config_directory() + "/config.json";
        std::ofstream(path, std::ios::binary | std::ios::trunc) << document;
    }
    return lmsim::fuzz::expect_only_input_errors([&] {
        const lmsim::HardwareConfig hw = lmsim::load_hardware_config(path, overrides);
        for (const char* model : {"mamba2-tiny", "mamba2-130m"}) {
            const lmsim::ModelCard card = lmsim::find_model_card(model);
            lmsim::estimate_resources(hw, card);
            lmsim::fuzz::expect_only_input_errors([&] { lmsim::hw::build_lightmamba_graph(card, hw.design); });
        }
    });
}
