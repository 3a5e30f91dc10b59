// Hardware configs: the bundled designs load and fit, the resource model reproduces the
// published totals and scales sensibly, and every class of bad input gets a named error.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "common/error.h"
#include "config/resource_model.h"

using namespace lmsim;

namespace {
ResourceReport estimate(const std::string& config, const std::vector<std::string>& sets = {}) {
    return estimate_resources(load_hardware_config(config, sets), find_model_card("mamba2-2.7b"));
}
double block(const ResourceReport& r, const std::string& name, const std::string& kind) {
    for (const auto& b : r.blocks)
        if (b.block == name) return b.used.get(kind);
    FAIL("no block " << name);
    return 0;
}
std::string error_of(const std::string& config, const std::vector<std::string>& sets) {
    try {
        estimate(config, sets);
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}
std::string write(const std::string& name, const std::string& text) {
    std::string p = "/tmp/lmsim_cfg_" + name + ".json";
    std::ofstream(p) << text;
    return p;
}
}  // namespace

TEST_CASE("bundled configs load, compose and fit", "[config]") {
    for (const char* c : {"configs/vck190.json", "configs/u280.json"}) {
        HardwareConfig hw = load_hardware_config(c);
        ResourceReport r = estimate_resources(hw, find_model_card("mamba2-2.7b"));
        INFO(c);
        CHECK(r.over_budget.empty());
    }
    HardwareConfig vck = load_hardware_config("vck190");  // bundled name
    CHECK(vck.platform.name == "vck190");                 // from the extended platform file
    CHECK(vck.design.clock_mhz == 400);
    CHECK(vck.provenance.at("/platform/part").find("platforms/vck190.json") != std::string::npos);
    CHECK(vck.provenance.at("/design/mmu/input_lanes") == "configs/vck190.json");
    HardwareConfig u = load_hardware_config("configs/u280.json");
    CHECK(u.platform.slrs.size() == 3);
    CHECK(u.platform.memory.channels == 32);
    CHECK(u.platform.memory.peak_gbps() == Approx(460.8));
}

TEST_CASE("resource model reproduces the released VCK190 totals within 10 %", "[config][resources]") {
    ResourceReport r = estimate("configs/vck190.json");
    // 107k LUT, 130k FF, 228 DSP, 912 BRAM18 = 456 BRAM36, 61 URAM [C README, P-n Table IV]
    CHECK(r.total.lut == Approx(107000).epsilon(0.10));
    CHECK(r.total.ff == Approx(130000).epsilon(0.10));
    CHECK(r.total.dsp == Approx(228).epsilon(0.10));
    CHECK(r.total.bram36 == Approx(456).epsilon(0.10));
    CHECK(r.total.uram == Approx(61).epsilon(0.10));
    // The MMU of the released design is LUT fabric: no DSP.
    CHECK(block(r, "GEMM", "dsp") == 0);
    // HT_STATE holds one layer's state: 655,360 B + 81,920 B of scales in URAM.
    CHECK(block(r, "HT_STATE", "uram") == 24);
}

TEST_CASE("the U280 design stays within the paper's U280 resource row (each at most 10 % above)", "[config][resources]") {
    ResourceReport r = estimate("configs/u280.json");
    // 297k LUT, 394k FF, 1,164 DSP, 912 BRAM18, 61 URAM [P-n Table IV]. configs/u280.json is the
    // fastest swept design within this row (scripts/u280-sweep.sh); the row is a constraint
    // here, not a fit: its deviations per resource are in docs/configuration.md. A guard (the
    // sweep chose the config under this same resource model): it fails when the config or the
    // model changes so that the design leaves the row, not when the model is wrong.
    CHECK(r.total.lut <= 1.10 * 297000);
    CHECK(r.total.ff <= 1.10 * 394000);
    CHECK(r.total.dsp <= 1.10 * 1164);
    CHECK(r.total.bram36 <= 1.10 * 456);
    CHECK(r.total.uram <= 1.10 * 61);
}

TEST_CASE("resource model scales with the design's parameters", "[config][resources]") {
    ResourceReport base = estimate("configs/vck190.json");
    // Doubling the MMU's input lanes (and the AXI masters that feed it) doubles its multipliers.
    ResourceReport wide = estimate("configs/vck190.json", {"design.mmu.input_lanes=16", "design.axi.masters=2"});
    CHECK(block(wide, "GEMM", "lut") == Approx(2 * block(base, "GEMM", "lut")));
    ResourceReport dsp = estimate("configs/vck190.json", {"design.mmu.multiplier=dsp_packed"});
    ResourceReport dsp2 = estimate("configs/vck190.json", {"design.mmu.multiplier=dsp_packed",
                                                           "design.mmu.input_lanes=16", "design.axi.masters=2"});
    CHECK(block(dsp, "GEMM", "dsp") == 32);  // 64 MACs, two per DSP
    CHECK(block(dsp2, "GEMM", "dsp") == 2 * block(dsp, "GEMM", "dsp"));
    // A deeper FIFO costs memory only past the LUTRAM threshold (64 deep).
    ResourceReport d32 = estimate("configs/vck190.json", {"design.fifo_depths.internal=32"});
    ResourceReport d64 = estimate("configs/vck190.json", {"design.fifo_depths.internal=64"});
    ResourceReport d128 = estimate("configs/vck190.json", {"design.fifo_depths.internal=128"});
    CHECK(d32.total.bram36 == base.total.bram36);
    CHECK(d64.total.bram36 == base.total.bram36);
    CHECK(d64.total.lut == Approx(base.total.lut));  // a LUTRAM column holds 64 entries anyway
    CHECK(d128.total.bram36 > base.total.bram36);
    // Without fusion the SSM materialises its intermediates (paper: URAM 61 -> 246).
    ResourceReport unfused = estimate("configs/vck190.json", {"design.fusion=false"});
    CHECK(unfused.total.uram > 3 * base.total.uram);
    // More SSM lanes: more DSP in the SSM unit.
    ResourceReport lanes = estimate("configs/vck190.json", {"design.ssmu.lanes=16"});
    CHECK(block(lanes, "DAH", "dsp") == 2 * block(base, "DAH", "dsp"));
    // Keeping all 64 layers' state on chip does not fit the VCK190's URAM.
    ResourceReport onchip = estimate("configs/vck190.json", {"design.state_residency=on_chip"});
    REQUIRE(onchip.over_budget.size() == 1);
    CHECK_THAT(onchip.over_budget[0], Catch::StartsWith("uram:"));
}

TEST_CASE("memory primitive geometry", "[config][resources]") {
    CHECK(bram36_blocks(512, 72) == 1);
    CHECK(bram36_blocks(512, 256) == 4);
    CHECK(bram36_blocks(4096, 7) == 1);
    CHECK(bram36_blocks(32768, 1) == 1);
    CHECK(uram_blocks(20480, 256) == 20);
    CHECK(uram_blocks(4096, 72) == 1);
    CHECK(lutram_luts(64, 72) == 72);
}

TEST_CASE("bad configs get errors naming the file, the JSON path and what was expected", "[config][errors]") {
    const std::string vck = "configs/vck190.json";
    CHECK_THAT(error_of(vck, {"design.mmu.inptu_lanes=8"}),
               Catch::Contains("/design/mmu/inptu_lanes: unknown key (did you mean 'input_lanes'?)"));
    CHECK_THAT(error_of(vck, {"design.clock_mhz=\"fast\""}),
               Catch::Contains("--set design.clock_mhz: /design/clock_mhz: expected a number, found string"));
    CHECK_THAT(error_of(vck, {"design.ssmu.lanes=0"}),
               Catch::Contains("/design/ssmu/lanes: value 0 out of range"));
    CHECK_THAT(error_of(vck, {"design.clock_mhz=900"}), Catch::Contains("exceeds the platform's limit of 500 MHz"));
    CHECK_THAT(error_of(vck, {"design.mmu.output_lanes=16"}), Catch::Contains("must match"));
    CHECK_THAT(error_of("configs/u280.json", {"design.axi.masters=33", "design.mmu.input_lanes=66"}),
               Catch::Contains("33 AXI masters, but the platform's memory has 32 ports (hbm2)"));
    CHECK_THAT(error_of(vck, {"design.buffers.ht_state=lutram"}), Catch::Contains("more than LUTRAM allows"));
    CHECK_THAT(error_of(vck, {"design.buffers.ht_state=flash"}),
               Catch::Contains("/design/buffers/ht_state: 'flash' is not allowed, expected one of uram, bram, lutram"));
    CHECK_THAT(error_of(vck, {"design"}), Catch::Contains("expected path=value"));
    CHECK_THAT(error_of(vck, {"platform.memory.crossbar={\"ports_per_switch\": 4, \"lateral_links\": 2, \"hop_latency_ns\": 1}"}),
               Catch::Contains("/platform/memory/crossbar: a crossbar is modelled for hbm2 memory only"));
    CHECK_THAT(error_of("configs/u280.json", {"platform.memory.crossbar.ports_per_switch=5"}),
               Catch::Contains("/platform/memory/crossbar/ports_per_switch: expected a divisor of the 32 pseudo-channels"));
    CHECK_THAT(error_of(vck, {"platform.memory.preset=\"HBM2_RAMULATOR\""}),
               Catch::Contains("/platform/memory/preset: 'HBM2_RAMULATOR' is hbm2 timing, but the platform's memory is lpddr4"));
    CHECK_THAT(error_of(vck, {"platform.memory.preset=\"HBM3\""}),
               Catch::Contains("/platform/memory/preset: 'HBM3' is not allowed, expected one of HBM2_DRAMSYS"));
    CHECK(load_hardware_config("configs/u280.json", {"platform.memory.preset=\"HBM2_RAMULATOR\""}).platform.memory.preset ==
          "HBM2_RAMULATOR");
    CHECK_THAT(error_of("configs/u280.json", {"platform.memory.address_mapping=\"BgCoBa\""}),
               Catch::Contains("/platform/memory/address_mapping: address mapping 'BgCoBa': expected the four fields"));
    CHECK_THAT(error_of("configs/u280.json", {"platform.memory.crossbar.lateral_link=2"}),
               Catch::Contains("/platform/memory/crossbar/lateral_link: unknown key (did you mean 'lateral_links'?)"));
    CHECK_THAT(error_of(vck, {"design.blocks.HT_STAT.ii=1"}),
               Catch::Contains("/design/blocks/HT_STAT: unknown key (did you mean 'HT_STATE'?)"));
    CHECK_THAT(error_of(vck, {"design.blocks.HT_STATE.ii=0"}),
               Catch::Contains("/design/blocks/HT_STATE/ii: value 0 out of range"));
    HardwareConfig tuned = load_hardware_config(vck, {"design.blocks.HT_STATE.ii=1", "design.blocks.CONV.depth_cycles=9"});
    CHECK(tuned.design.blocks.at("HT_STATE").ii == 1);
    CHECK(tuned.design.blocks.at("CONV").depth_cycles == 9);
    // Errors inside a file name that file.
    std::string platform = std::string(LMSIM_SOURCE_DIR) + "/configs/platforms/vck190.json";
    std::string bad = write("bad", R"({"extends": ")" + platform + R"(",
        "design": {"name": "x", "clock_mhz": 400, "mmu": {"input_lanes": 8, "output_lanes": 8},
                   "ssmu": {"lanes": 8}, "axi": {"masters": 1, "width_bits": 256}, "fusion": "yes"}})");
    CHECK_THAT(error_of(bad, {}), Catch::Contains(bad + ": /design/fusion: expected true or false"));
    std::string broken = write("broken", "{\"design\": ");
    CHECK_THAT(error_of(broken, {}), Catch::Contains(broken + ": invalid JSON"));
    CHECK_THAT(error_of("configs/nosuch.json", {}), Catch::Contains("no such config file"));
}
