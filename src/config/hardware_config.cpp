#include "config/hardware_config.h"

#include "mem/dram_controller.h"

#include <fmt/format.h>

#include <fstream>
#include <functional>

#include "common/error.h"

#ifndef LMSIM_SOURCE_DIR
#define LMSIM_SOURCE_DIR "."
#endif

namespace lmsim {

ResourceVector& ResourceVector::operator+=(const ResourceVector& o) {
    lut += o.lut;
    ff += o.ff;
    dsp += o.dsp;
    bram36 += o.bram36;
    uram += o.uram;
    return *this;
}
ResourceVector ResourceVector::operator*(double k) const {
    return {lut * k, ff * k, dsp * k, bram36 * k, uram * k};
}
const std::vector<std::string>& ResourceVector::kinds() {
    static const std::vector<std::string> k = {"lut", "ff", "dsp", "bram36", "uram"};
    return k;
}
double ResourceVector::get(const std::string& kind) const {
    if (kind == "lut") return lut;
    if (kind == "ff") return ff;
    if (kind == "dsp") return dsp;
    if (kind == "bram36") return bram36;
    if (kind == "uram") return uram;
    throw InputError("unknown resource kind " + kind);
}

const std::vector<std::string>& hardware_block_names() {
    static const std::vector<std::string> names = {
        "RESIDUAL", "RMSNORM_QUANT_1", "RMSNORM_QUANT_2", "GEMM_MUX", "GEMM", "GEMM_DEMUX",
        "QUANT_CONV", "CONV_STATE", "CONV", "SILU_MUX", "SILU_QUANT", "SILU_DEMUX", "DTADAPT",
        "DTA", "EXP_QUANT", "B_BUFFER", "C_BUFFER", "DTB_QUANT", "DBU", "DAH", "HT_ADD_QUANT",
        "HT_STATE", "HTC_QUANT", "UD", "YZ", "WEIGHT_PRODUCER", "STATE_MASTER", "HTU"};
    return names;
}

ResourceVector PlatformConfig::total() const {
    ResourceVector t;
    for (const auto& s : slrs) t += s;
    return t;
}

namespace {

// The widest SSM unit the template builds: 16 consecutive n per iteration [A] (two transpose
// tiles; d_state is 128 in every Mamba2 size, 64 in the tiny test model).
constexpr int kMaxSsmLanes = 128;

std::string dir_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

void record(const nlohmann::json& j, const std::string& pointer, const std::string& file, Provenance& prov) {
    prov[pointer] = file;
    if (j.is_object())
        for (auto it = j.begin(); it != j.end(); ++it) record(*it, pointer + "/" + it.key(), file, prov);
}

void merge_into(nlohmann::json& base, const nlohmann::json& over) {
    for (auto it = over.begin(); it != over.end(); ++it) {
        if (base.contains(it.key()) && base[it.key()].is_object() && it->is_object())
            merge_into(base[it.key()], *it);
        else
            base[it.key()] = *it;
    }
}

nlohmann::json load_with_extends(const std::string& path, Provenance& prov, int depth) {
    if (depth > 8) throw InputError(fmt::format("{}: \"extends\" chain too deep (a cycle?)", path));
    nlohmann::json j = JsonObject::parse_file(path);
    if (!j.is_object()) throw InputError(fmt::format("{}: expected a JSON object at the top level", path));
    nlohmann::json merged = nlohmann::json::object();
    if (j.contains("extends")) {
        if (!j["extends"].is_string())
            throw InputError(fmt::format("{}: /extends: expected a file name (string)", path));
        std::string base = j["extends"].get<std::string>();
        if (base.empty() || base[0] != '/') base = dir_of(path) + "/" + base;
        merged = load_with_extends(base, prov, depth + 1);
        j.erase("extends");
    }
    record(j, "", path, prov);
    merge_into(merged, j);
    return merged;
}

void apply_override(nlohmann::json& doc, const std::string& text, Provenance& prov) {
    require_utf8(text, "--set");
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw InputError(fmt::format("--set '{}': expected path=value, e.g. design.mmu.input_lanes=16", text));
    std::string path = text.substr(0, eq), value = text.substr(eq + 1);
    nlohmann::json v;
    try {
        v = nlohmann::json::parse(value);
    } catch (const nlohmann::json::exception&) {
        v = value;  // a bare word is a string
    }
    std::string pointer;
    nlohmann::json* node = &doc;
    std::size_t pos = 0;
    while (true) {
        std::size_t dot = path.find('.', pos);
        std::string key = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        if (key.empty()) throw InputError(fmt::format("--set '{}': empty key in the path", text));
        pointer += "/" + key;
        if (dot == std::string::npos) {
            (*node)[key] = v;
            break;
        }
        if (!node->contains(key)) (*node)[key] = nlohmann::json::object();
        node = &(*node)[key];
        if (!node->is_object())
            throw InputError(fmt::format("--set '{}': {} is not an object", text, pointer));
        pos = dot + 1;
    }
    prov[pointer] = "--set " + path;
}

ResourceVector read_budget(const JsonObject& o) {
    o.require_known_keys({"lut", "ff", "dsp", "bram36", "uram"});
    ResourceVector r;
    r.lut = static_cast<double>(o.get_int("lut", 0, 100000000));
    r.ff = static_cast<double>(o.get_int("ff", 0, 100000000));
    r.dsp = static_cast<double>(o.get_int("dsp", 0, 1000000));
    r.bram36 = static_cast<double>(o.get_int("bram36", 0, 1000000));
    r.uram = static_cast<double>(o.get_int("uram", 0, 1000000));
    return r;
}

// One memory system (platform.memory, or its "secondary": a second memory a design can put
// masters on, e.g. the VCK190's DDR4 beside its LPDDR4).
MemorySystemConfig read_memory(const JsonObject& m, bool secondary) {
    MemorySystemConfig mem;
    std::vector<std::string> known = {"kind", "channels", "channel_width_bits", "data_rate_mtps", "axi_ports",
                                      "axi_port_width_bits", "axi_clock_mhz", "noc_latency_ns", "controller_latency_ns",
                                      "noc_bandwidth_gbps", "fidelity", "crossbar", "address_mapping", "preset", "sources"};
    known.push_back(secondary ? "description" : "secondary");
    m.require_known_keys(known);
    mem.kind = m.get_enum_or("kind", "", {"lpddr4", "ddr4", "hbm2"});
    mem.channels = static_cast<int>(m.get_int("channels", 1, 1024));
    mem.channel_width_bits = static_cast<int>(m.get_int("channel_width_bits", 8, 1024));
    mem.data_rate_mtps = m.get_number("data_rate_mtps", 100, 20000);
    mem.axi_ports = static_cast<int>(m.get_int("axi_ports", 1, 1024));
    mem.axi_port_width_bits = static_cast<int>(m.get_int("axi_port_width_bits", 32, 1024));
    mem.axi_clock_mhz = m.get_number("axi_clock_mhz", 1, 2000);
    mem.noc_latency_ns = m.get_number_or("noc_latency_ns", 0, 0, 10000);
    mem.controller_latency_ns = m.get_number_or("controller_latency_ns", 0, 0, 10000);
    mem.noc_bandwidth_gbps = m.get_number_or("noc_bandwidth_gbps", 0, 0, 10000);
    mem.fidelity = m.get_enum_or("fidelity", "command", {"command", "tlm", "stream"});
    if (m.has("preset")) mem.preset = m.get_enum_or("preset", "", mem::dram_preset_names());
    if (!mem.preset.empty()) {
        const std::string family = mem::dram_preset(mem.preset).family;
        if (family != mem.kind)
            throw InputError(m.where("preset") + fmt::format(": '{}' is {} timing, but the platform's memory is {}",
                                                             mem.preset, family, mem.kind));
    }
    mem.address_mapping = m.get_string_or("address_mapping", "BgCoBaRo");
    if (const std::string e = mem::address_mapping_error(mem.address_mapping); !e.empty())
        throw InputError(m.where("address_mapping") + ": " + e);
    if (m.has("crossbar")) {
        JsonObject x = m.get_object("crossbar");
        x.require_known_keys({"ports_per_switch", "lateral_links", "hop_latency_ns", "sources"});
        if (mem.kind != "hbm2") throw InputError(m.where("crossbar") + ": a crossbar is modelled for hbm2 memory only");
        mem.crossbar.ports_per_switch = static_cast<int>(x.get_int("ports_per_switch", 1, 1024));
        mem.crossbar.lateral_links = static_cast<int>(x.get_int("lateral_links", 1, 64));
        mem.crossbar.hop_latency_ns = x.get_number("hop_latency_ns", 0, 1000);
        if (mem.channels % mem.crossbar.ports_per_switch != 0 || mem.axi_ports != mem.channels)
            throw InputError(x.where("ports_per_switch") + fmt::format(": expected a divisor of the {} pseudo-channels, "
                                                                        "with as many AXI ports as pseudo-channels",
                                                                        mem.channels));
    }
    return mem;
}

PlatformConfig read_platform(const JsonObject& p, const nlohmann::json& doc) {
    p.require_known_keys({"name", "part", "family", "slrs", "aie_tiles", "max_clock_mhz",
                          "energy", "host", "memory", "sources"});
    PlatformConfig c;
    c.name = p.get_string("name");
    c.part = p.get_string("part");
    c.family = p.get_enum_or("family", "", {"versal", "ultrascale+"});
    const auto& slrs = doc.at("platform").at("slrs");
    if (!slrs.is_array() || slrs.empty())
        throw InputError(p.where("slrs") + ": expected a non-empty array of per-SLR budgets");
    for (std::size_t i = 0; i < slrs.size(); ++i)
        c.slrs.push_back(read_budget(JsonObject(slrs[i], p.file(), p.path() + "/slrs/" + std::to_string(i))));
    c.aie_tiles = static_cast<int>(p.get_int_or("aie_tiles", 0, 0, 100000));
    c.max_clock_mhz = p.get_number("max_clock_mhz", 1, 2000);
    if (p.has("energy")) {
        JsonObject e = p.get_object("energy");
        // Every per-action constant: its key, its field and its upper bound (one list serves the
        // key check and the reading).
        struct Constant {
            const char* key;
            double EnergyConfig::*field;
            double max;
        };
        const Constant constants[] = {
            {"mac4_lut_pj", &EnergyConfig::mac4_lut_pj, 1000},       {"mac8_lut_pj", &EnergyConfig::mac8_lut_pj, 1000},
            {"mac4_dsp_pj", &EnergyConfig::mac4_dsp_pj, 1000},       {"mac8_dsp_pj", &EnergyConfig::mac8_dsp_pj, 1000},
            {"lut_rom_lookup_pj", &EnergyConfig::lut_rom_lookup_pj, 1000},
            {"bram_pj_per_bit", &EnergyConfig::bram_pj_per_bit, 1000}, {"uram_pj_per_bit", &EnergyConfig::uram_pj_per_bit, 1000},
            {"fifo_lutram_pj_per_bit", &EnergyConfig::fifo_lutram_pj_per_bit, 1000},
            {"fifo_bram_pj_per_bit", &EnergyConfig::fifo_bram_pj_per_bit, 1000},
            {"axi_pj_per_byte", &EnergyConfig::axi_pj_per_byte, 10000},
            {"interconnect_pj_per_byte", &EnergyConfig::interconnect_pj_per_byte, 10000},
            {"static_w", &EnergyConfig::static_w, 1000}};
        std::vector<std::string> keys = {"sources"};
        for (const Constant& k : constants) keys.push_back(k.key);
        e.require_known_keys(keys);
        EnergyConfig& x = c.energy;
        for (const Constant& k : constants) x.*k.field = e.get_number(k.key, 0, k.max);
        if (e.has("sources")) {
            const auto& src = doc.at("platform").at("energy").at("sources");
            if (src.is_object() && src.contains("static_w") && src["static_w"].is_string()) x.static_source = src["static_w"];
        }
    }
    if (p.has("host")) {
        JsonObject h = p.get_object("host");
        h.require_known_keys({"per_token_s", "per_token_s_min", "per_token_s_max", "source"});
        c.host.per_token_s = h.get_number("per_token_s", 0, 10);
        c.host.per_token_s_min = h.get_number_or("per_token_s_min", c.host.per_token_s, 0, 10);
        c.host.per_token_s_max = h.get_number_or("per_token_s_max", c.host.per_token_s, 0, 10);
        if (!(c.host.per_token_s_min <= c.host.per_token_s && c.host.per_token_s <= c.host.per_token_s_max))
            throw InputError(fmt::format("{}: expected per_token_s_min <= per_token_s <= per_token_s_max, got {} <= {} <= {}",
                                         h.where("per_token_s"), c.host.per_token_s_min, c.host.per_token_s,
                                         c.host.per_token_s_max));
    }
    JsonObject m = p.get_object("memory");
    c.memory = read_memory(m, false);
    if (m.has("secondary")) {
        const JsonObject sec = m.get_object("secondary");
        // A secondary memory lmsim can use has the same fields as the primary; one with a kind
        // and a description only is named, not modelled.
        if (sec.has("channels")) c.secondary_memory = read_memory(sec, true);
    }
    return c;
}

DesignConfig read_design(const JsonObject& d, const PlatformConfig& plat) {
    d.require_known_keys({"name", "description", "clock_mhz", "precision", "mmu", "ssmu", "htu",
                          "axi", "fifo_depths", "buffers", "fifo_lutram_max_depth", "reorder",
                          "tiling", "fusion", "state_residency", "blocks", "sources"});
    DesignConfig c;
    c.name = d.get_string("name");
    c.clock_mhz = d.get_number("clock_mhz", 1, 2000);
    c.precision = d.get_enum_or("precision", "w4a4", {"w4a4", "w8a8"});
    JsonObject mmu = d.get_object("mmu");
    mmu.require_known_keys({"input_lanes", "output_lanes", "multiplier"});
    c.mmu.input_lanes = static_cast<int>(mmu.get_int("input_lanes", 1, 1024));
    c.mmu.output_lanes = static_cast<int>(mmu.get_int("output_lanes", 1, 1024));
    c.mmu.multiplier = mmu.get_enum_or("multiplier", "lut", {"lut", "dsp_packed"});
    JsonObject ssmu = d.get_object("ssmu");
    ssmu.require_known_keys({"lanes", "ht_state_ii"});
    c.ssmu_lanes = static_cast<int>(ssmu.get_int("lanes", 1, 1 << 20));
    c.ht_state_ii = static_cast<int>(ssmu.get_int_or("ht_state_ii", 2, 1, 16));
    if (d.has("htu")) {
        JsonObject htu = d.get_object("htu");
        htu.require_known_keys({"enabled", "butterfly_lanes"});
        c.htu_enabled = htu.get_bool_or("enabled", false);
        c.htu_butterfly_lanes = static_cast<int>(htu.get_int_or("butterfly_lanes", 16, 2, 4096));
    }
    JsonObject axi = d.get_object("axi");
    axi.require_known_keys({"masters", "width_bits", "burst_beats", "outstanding", "sequential_bursts", "state_master"});
    c.axi.masters = static_cast<int>(axi.get_int("masters", 1, 1024));
    c.axi.width_bits = static_cast<int>(axi.get_int("width_bits", 32, 1024));
    c.axi.burst_beats = static_cast<int>(axi.get_int_or("burst_beats", 256, 1, 256));
    c.axi.outstanding = static_cast<int>(axi.get_int_or("outstanding", 32, 1, 1024));
    c.axi.sequential_bursts = axi.get_bool_or("sequential_bursts", false);
    std::string state_master_where;
    if (axi.has("state_master")) {
        JsonObject sm = axi.get_object("state_master");
        sm.require_known_keys({"masters", "width_bits", "memory"});
        c.axi.state_masters = static_cast<int>(sm.get_int("masters", 0, 1024));
        c.axi.state_width_bits = static_cast<int>(sm.get_int_or("width_bits", 256, 32, 1024));
        c.axi.state_on_secondary = sm.get_enum_or("memory", "primary", {"primary", "secondary"}) == "secondary";
        if (c.axi.state_on_secondary && !plat.secondary_memory)
            throw InputError(sm.where("memory") + ": secondary: the platform has no modelled secondary memory "
                                                  "(platform.memory.secondary with channels, data rate, ports)");
        state_master_where = axi.where("state_master");
    }
    if (d.has("fifo_depths")) {
        JsonObject f = d.get_object("fifo_depths");
        f.require_known_keys({"stream", "internal", "gemm_mux", "ht_state_to_dah", "m_axi"});
        c.fifo.stream = static_cast<int>(f.get_int_or("stream", c.fifo.stream, 1, 1 << 20));
        c.fifo.internal = static_cast<int>(f.get_int_or("internal", c.fifo.internal, 1, 1 << 20));
        c.fifo.gemm_mux = static_cast<int>(f.get_int_or("gemm_mux", c.fifo.gemm_mux, 1, 1 << 20));
        c.fifo.ht_state_to_dah = static_cast<int>(f.get_int_or("ht_state_to_dah", c.fifo.ht_state_to_dah, 1, 1 << 20));
        c.fifo.m_axi = static_cast<int>(f.get_int_or("m_axi", c.fifo.m_axi, 1, 1 << 20));
    }
    if (d.has("buffers")) {
        JsonObject b = d.get_object("buffers");
        b.require_known_keys({"ht_state", "conv_state", "residual", "gemm_buffer"});
        const std::vector<std::string> kinds = {"uram", "bram", "lutram"};
        c.buffers.ht_state = b.get_enum_or("ht_state", c.buffers.ht_state, kinds);
        c.buffers.conv_state = b.get_enum_or("conv_state", c.buffers.conv_state, kinds);
        c.buffers.residual = b.get_enum_or("residual", c.buffers.residual, kinds);
        c.buffers.gemm_buffer = b.get_enum_or("gemm_buffer", c.buffers.gemm_buffer, kinds);
    }
    c.fifo_lutram_max_depth = static_cast<int>(d.get_int_or("fifo_lutram_max_depth", c.fifo_lutram_max_depth, 0, 1 << 24));
    c.reorder = d.get_bool_or("reorder", true);
    if (d.has("tiling")) {
        JsonObject t = d.get_object("tiling");
        t.require_known_keys({"np", "pp"});
        c.tile_np = static_cast<int>(t.get_int_or("np", 8, 1, 4096));
        c.tile_pp = static_cast<int>(t.get_int_or("pp", 8, 1, 4096));
    }
    c.fusion = d.get_bool_or("fusion", true);
    c.state_residency = d.get_enum_or("state_residency", "dram", {"dram", "on_chip"});
    if (d.has("blocks")) {
        JsonObject blocks = d.get_object("blocks");
        blocks.require_known_keys(hardware_block_names());
        for (const auto& name : hardware_block_names()) {
            if (!blocks.has(name)) continue;
            JsonObject b = blocks.get_object(name);
            b.require_known_keys({"ii", "depth_cycles", "overhead_cycles"});
            BlockTiming t;
            if (b.has("ii")) {
                // The weight producer's beats are timed by the memory system, not by an II.
                if (name == "WEIGHT_PRODUCER" || name == "STATE_MASTER")
                    throw InputError(fmt::format("{}: the weight producer has no initiation interval to "
                                                 "override (its beats are timed by the memory system); "
                                                 "expected depth_cycles or overhead_cycles only",
                                                 b.where("ii")));
                t.ii = static_cast<int>(b.get_int_or("ii", 1, 1, 1024));
            }
            if (b.has("depth_cycles"))
                t.depth_cycles = static_cast<int>(b.get_int_or("depth_cycles", 0, 0, 1 << 20));
            if (b.has("overhead_cycles"))
                t.overhead_cycles = static_cast<int>(b.get_int_or("overhead_cycles", 0, 0, 1 << 20));
            c.blocks[name] = t;
        }
    }

    // Combinations that cannot be built.
    if (c.clock_mhz > plat.max_clock_mhz)
        throw InputError(fmt::format("{}: {} MHz exceeds the platform's limit of {} MHz",
                                     d.where("clock_mhz"), c.clock_mhz, plat.max_clock_mhz));
    const long weight_bits_per_cycle = 1L * c.mmu.macs() * c.weight_bits();
    const long axi_bits_per_cycle = 1L * c.axi.masters * c.axi.width_bits;
    if (weight_bits_per_cycle != axi_bits_per_cycle)
        throw InputError(fmt::format(
            "{}: the MMU's {} x {} tile consumes {} bits of {}-bit weights per cycle, but the AXI "
            "masters deliver {} x {} = {} bits per beat; they must match (one weight beat per MMU "
            "cycle, as in the released design)", d.where("mmu"), c.mmu.input_lanes, c.mmu.output_lanes,
            weight_bits_per_cycle, c.weight_bits(), c.axi.masters, c.axi.width_bits, axi_bits_per_cycle));
    if (c.axi.masters > plat.memory.axi_ports)
        throw InputError(fmt::format("{}: {} AXI masters, but the platform's memory has {} ports ({})",
                                     axi.where("masters"), c.axi.masters, plat.memory.axi_ports, plat.memory.kind));
    if (c.axi.state_masters > 0) {
        // On the primary memory the two groups of masters must not share DRAM channels (hbm2
        // pseudo-channels); on the secondary memory they share nothing.
        const MemorySystemConfig& sm = c.axi.state_on_secondary ? *plat.secondary_memory : plat.memory;
        if (!c.axi.state_on_secondary && plat.memory.kind != "hbm2")
            throw InputError(fmt::format("{}: on {} every master shares the DRAM channels; lmsim models independent "
                                         "masters only where each has channels of its own (hbm2 pseudo-channels, or "
                                         "\"memory\": \"secondary\" where the platform has a second memory)",
                                         state_master_where, plat.memory.kind));
        const int sharing = c.axi.state_on_secondary ? 0 : c.axi.masters;
        if (sharing + c.axi.state_masters > sm.axi_ports)
            throw InputError(fmt::format("{}: {} weight + {} state masters, but the {} memory has {} ports", state_master_where,
                                         sharing, c.axi.state_masters, sm.kind, sm.axi_ports));
        if (c.axi.state_width_bits > sm.axi_port_width_bits || c.axi.state_width_bits % 256 != 0)
            throw InputError(fmt::format("{}: width_bits {}: expected a multiple of 256 (a state beat carries whole "
                                         "32-byte tokens) up to the memory's {}-bit ports",
                                         state_master_where, c.axi.state_width_bits, sm.axi_port_width_bits));
    }
    if (c.axi.width_bits > plat.memory.axi_port_width_bits)
        throw InputError(fmt::format("{}: {} bits is wider than the platform's {}-bit memory ports",
                                     axi.where("width_bits"), c.axi.width_bits, plat.memory.axi_port_width_bits));
    if (c.mmu.output_lanes != 4 && c.mmu.output_lanes % 8 != 0)
        throw InputError(fmt::format("{}: {}; expected 4 or a multiple of 8 (an output token carries whole groups of 8 "
                                     "channels, or half of one)", mmu.where("output_lanes"), c.mmu.output_lanes));
    if (c.mmu.input_lanes % 8 != 0)
        throw InputError(fmt::format("{}: {} is not a multiple of 8 (activation groups of 8 feed the MMU)",
                                     mmu.where("input_lanes"), c.mmu.input_lanes));
    // The SSM unit's widths (docs/configuration.md "SSM unit"): 8 (released) to 128 elements per
    // iteration, a power of two, so that an iteration's lanes / 8 consecutive n tile the 8 x 8
    // transpose tile (or whole tiles of it).
    if (c.ssmu_lanes < 8 || c.ssmu_lanes > kMaxSsmLanes || (c.ssmu_lanes & (c.ssmu_lanes - 1)))
        throw InputError(fmt::format("{}: {} lanes; expected 8, 16, 32, 64 or 128 (a power of two: an SSM iteration "
                                     "moves lanes / 8 groups of 8 p-values at consecutive n)",
                                     ssmu.where("lanes"), c.ssmu_lanes));
    if (c.tile_np != 8 || c.tile_pp != 8)
        throw InputError(fmt::format("{}: {} x {}; the transpose tile is one quantization group along n by one along p "
                                     "(8 x 8), fixed by the number format; widen the SSM unit with design.ssmu.lanes",
                                     d.where("tiling"), c.tile_np, c.tile_pp));
    if (c.htu_enabled && c.htu_butterfly_lanes & (c.htu_butterfly_lanes - 1))
        throw InputError(fmt::format("{}: butterfly lanes must be a power of two", d.where("htu")));
    return c;
}

}  // namespace

std::string find_config(const std::string& name_or_path) {
    if (std::ifstream(name_or_path).good()) return name_or_path;
    for (const std::string& dir : {std::string("configs"), std::string(LMSIM_SOURCE_DIR) + "/configs"}) {
        std::string p = dir + "/" + name_or_path + ".json";
        if (std::ifstream(p).good()) return p;
    }
    throw InputError(fmt::format("{}: no such config file (bundled: configs/vck190.json, configs/u280.json)", name_or_path));
}

MergedConfig merge_hardware_config(const std::string& path, const std::vector<std::string>& overrides) {
    MergedConfig m;
    m.file = find_config(path);
    m.document = load_with_extends(m.file, m.provenance, 0);
    for (const auto& o : overrides) apply_override(m.document, o, m.provenance);
    return m;
}

void apply_config_override(MergedConfig& merged, const std::string& path_equals_value) {
    apply_override(merged.document, path_equals_value, merged.provenance);
}

HardwareConfig read_hardware_config(MergedConfig merged) {
    HardwareConfig h;
    h.file = std::move(merged.file);
    h.document = std::move(merged.document);
    h.provenance = std::move(merged.provenance);
    JsonObject top(h.document, h.file, "", &h.provenance);
    top.require_known_keys({"platform", "design", "sources", "description"});
    h.platform = read_platform(top.get_object("platform"), h.document);
    h.design = read_design(top.get_object("design"), h.platform);
    return h;
}

HardwareConfig load_hardware_config(const std::string& path, const std::vector<std::string>& overrides) {
    return read_hardware_config(merge_hardware_config(path, overrides));
}

}  // namespace lmsim
