// lmsim: hardware configuration. A platform file (board budgets, memory system, clock limits)
// and a design file (LightMamba's structural parameters) that extends it; any value can be
// overridden with --set path=value. The merged JSON document is validated into plain structs;
// every error names the file that set the value, its JSON path and what was expected.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/json_fields.h"

namespace lmsim {

// FPGA resources; BRAM in 36 Kb blocks (a BRAM18 count is twice this).
struct ResourceVector {
    double lut = 0, ff = 0, dsp = 0, bram36 = 0, uram = 0;
    ResourceVector& operator+=(const ResourceVector& o);
    ResourceVector operator+(const ResourceVector& o) const { return ResourceVector(*this) += o; }
    ResourceVector operator*(double k) const;
    static const std::vector<std::string>& kinds();  // "lut", "ff", "dsp", "bram36", "uram"
    double get(const std::string& kind) const;
};

// The U280's HBM AXI switch (platform.memory.crossbar; absent elsewhere): mini-switches of
// `ports_per_switch` AXI ports and as many pseudo-channels, in a row, neighbours joined by
// `lateral_links` links per direction (mem/hbm_switch.h).
struct HbmSwitchConfig {
    int ports_per_switch = 0;  // 0: no switch modelled (every port reaches its own channel only)
    int lateral_links = 0;
    double hop_latency_ns = 0;  // per lateral hop, request and response together
};

struct MemorySystemConfig {
    std::string kind;             // "lpddr4" | "ddr4" | "hbm2"
    int channels = 0;             // DRAM channels (HBM2: pseudo-channels)
    int channel_width_bits = 0;   // data bits per channel
    double data_rate_mtps = 0;    // transfers per second per pin, millions
    int axi_ports = 0;            // AXI ports the PL can use
    int axi_port_width_bits = 0;
    double axi_clock_mhz = 0;
    double noc_latency_ns = 0;    // Versal NoC (0 where there is none)
    // Memory controller, PHY and AXI path beyond the DRAM's own timing (added to every burst).
    double controller_latency_ns = 0;
    double noc_bandwidth_gbps = 0;
    std::string fidelity = "command";  // "command" | "tlm" | "stream" (hw/memory_port.h)
    HbmSwitchConfig crossbar;
    // DRAM timing preset (mem/dram_spec.h); empty: the default for the kind and data rate.
    std::string preset;
    // DRAM address bits above the access offset, least significant field first (mem/dram_controller.h).
    std::string address_mapping = "BgCoBaRo";
    double peak_gbps() const { return channels * channel_width_bits / 8.0 * data_rate_mtps / 1000.0; }
};

// The host's share of a token's time on the board (the processing system between the end of
// one token and the start of the next as the measurement saw it), added to the accelerator's
// time for figures comparable with the board's. An estimate with a range, not a measurement.
struct HostConfig {
    double per_token_s = 0;                    // estimate
    double per_token_s_min = 0, per_token_s_max = 0;
};

// Energy per action and static power (platform.energy; docs/energy.md has every constant's
// source). FPGA vendors publish no per-operation energies: the per-action values are documented
// estimates, and the static power is the one term fitted to a measured board figure.
struct EnergyConfig {
    double mac4_lut_pj = 0, mac8_lut_pj = 0;   // one multiply-accumulate in LUT fabric
    double mac4_dsp_pj = 0, mac8_dsp_pj = 0;   // one MAC in a DSP (4-bit: two packed per DSP)
    double lut_rom_lookup_pj = 0;              // one lookup-table read (SiLU, softplus, exp, rsqrt)
    double bram_pj_per_bit = 0, uram_pj_per_bit = 0;  // one bit read or written
    double fifo_lutram_pj_per_bit = 0, fifo_bram_pj_per_bit = 0;  // one bit pushed and popped
    double axi_pj_per_byte = 0;                // the AXI path between the PL and the memory interface
    double interconnect_pj_per_byte = 0;       // Versal NoC or the U280's HBM switch
    double static_w = 0;                       // device + board static power [fitted or estimated]
    std::string static_source;
};

struct PlatformConfig {
    std::string name, part, family;
    std::vector<ResourceVector> slrs;  // budgets per super logic region (one on Versal)
    int aie_tiles = 0;
    double max_clock_mhz = 0;
    EnergyConfig energy;
    HostConfig host;
    MemorySystemConfig memory;
    // A second memory system (platform.memory.secondary with its own channels and ports, e.g. the
    // VCK190's DDR4 UDIMM): the state masters can use it (design.axi.state_master.memory).
    std::optional<MemorySystemConfig> secondary_memory;
    ResourceVector total() const;
};

struct MmuConfig {
    int input_lanes = 8, output_lanes = 8;
    std::string multiplier = "lut";  // "lut" (released design) | "dsp_packed" (paper: 2 MACs/DSP)
    int macs() const { return input_lanes * output_lanes; }
};

struct AxiConfig {
    int masters = 1, width_bits = 256, burst_beats = 256, outstanding = 32;
    // The producer's loops: one burst_beats-beat loop per burst, the next request only after the
    // loop ends (an HLS pipelined inner loop in a sequential outer loop, case/M_AXI_STATIC.cpp)
    // instead of requests kept `outstanding` ahead.
    bool sequential_bursts = false;
    // Independent masters for the states and activations (design.axi.state_master): the conv
    // and SSM states and the residual's x / y move through state_masters masters of their own
    // (block STATE_MASTER, own burst queue, credits and timing), the weights through `masters`.
    // 0: one producer carries everything, as released. HBM2 only (each master its own
    // pseudo-channel, so the two groups share no DRAM channel).
    int state_masters = 0, state_width_bits = 256;
    bool state_on_secondary = false;  // the state masters on platform.memory.secondary
};

struct FifoDepths {
    int stream = 512;           // ACCELERATOR queues: weight, scale, conv, h, y [C]
    int internal = 8;           // MAMBA .queue(8) between blocks [C]
    int gemm_mux = 512;         // GEMM_MUX s_stream [C]
    int ht_state_to_dah = 64;   // [C]
    int m_axi = 1024;           // M_AXI internal [C]
};

struct BufferPlacement {
    std::string ht_state = "uram", conv_state = "uram", residual = "uram", gemm_buffer = "bram";
};

// A user override of one block's timing (design.blocks.<NAME>); a field not given keeps the
// block's published value. Zero is a value like any other.
struct BlockTiming {
    std::optional<int> ii;               // initiation interval, cycles
    std::optional<int> depth_cycles;     // pipeline depth, cycles
    std::optional<int> overhead_cycles;  // per-invocation start/stop overhead, cycles
};

// The blocks of the released design (../shared/docs/lightmamba.md 3.2) plus the paper's HTU.
const std::vector<std::string>& hardware_block_names();

struct DesignConfig {
    std::string name;
    double clock_mhz = 400;
    std::string precision = "w4a4";
    MmuConfig mmu;
    int ssmu_lanes = 8;
    int ht_state_ii = 2;
    bool htu_enabled = false;
    int htu_butterfly_lanes = 16;
    AxiConfig axi;
    FifoDepths fifo;
    BufferPlacement buffers;
    int fifo_lutram_max_depth = 64;  // FIFOs up to this depth use LUTRAM, deeper ones BRAM [A]
    bool reorder = true;
    int tile_np = 8, tile_pp = 8;
    bool fusion = true;
    std::string state_residency = "dram";  // "dram" (swapped per layer) | "on_chip"
    std::map<std::string, BlockTiming> blocks;  // per-block overrides (design.blocks.<NAME>)
    int weight_bits() const { return precision == "w4a4" ? 4 : 8; }
};

struct HardwareConfig {
    std::string file;             // the file given by the user
    nlohmann::json document;      // merged, after --set
    Provenance provenance;        // JSON pointer -> file that set it
    PlatformConfig platform;
    DesignConfig design;
};

// Loads `path` (following "extends"), applies `overrides` ("a.b.c=value", value parsed as JSON,
// else taken as a string) and validates. Throws InputError (exit code 2).
HardwareConfig load_hardware_config(const std::string& path,
                                    const std::vector<std::string>& overrides = {});

// The two steps of load_hardware_config, for callers that vary one base config many times (lmsim
// dse): the merged document before validation, overrides applied to it, and its validation.
struct MergedConfig {
    std::string file;
    nlohmann::json document;
    Provenance provenance;
};
MergedConfig merge_hardware_config(const std::string& path, const std::vector<std::string>& overrides = {});
void apply_config_override(MergedConfig& merged, const std::string& path_equals_value);
HardwareConfig read_hardware_config(MergedConfig merged);

// Resolves a bundled config name ("vck190", "u280") or a path.
std::string find_config(const std::string& name_or_path);

}  // namespace lmsim
