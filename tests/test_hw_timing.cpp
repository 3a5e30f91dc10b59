// The cycle-level model of the datapath: each block alone reproduces its HLS latency; the
// event-driven SystemC model gives exactly the cycles of a cycle-by-cycle simulation of the same
// rules; the paper's techniques move the numbers in the paper's direction. Each SystemC
// elaboration is in its own test case (one per process under CTest).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>

#include "config/hardware_config.h"
#include "hw/accelerator.h"
#include "hw/cycle_stepper.h"
#include "hw/lightmamba_graph.h"
#include "hw/memory_port.h"
#include "model/model_card.h"

using namespace lmsim;
using namespace lmsim::hw;

namespace {
HardwareConfig vck190(const std::vector<std::string>& sets = {}) {
    return load_hardware_config(find_config("vck190"), sets);
}

// Runs the SystemC model and the cycle stepper on the same graph and compares every
// invocation's start and end, every token's end and every FIFO's token count.
void check_event_driven_equals_stepped(const std::string& model, const std::vector<std::string>& sets, int tokens,
                                       const std::string& config = "vck190") {
    const HardwareConfig hw = load_hardware_config(find_config(config), sets);
    const ModelCard card = find_model_card(model);
    const DataflowGraph graph = build_lightmamba_graph(card, hw.design);
    SimulationOptions options;
    options.tokens = tokens;
    options.batch_iterations = 37;  // small batches: many wake-ups and hand-overs
    Accelerator top("top", graph, hw.platform, hw.design, options);
    const SimulationResult sim = top.run();

    // The stepper's own memory ports (same models, fresh state), one per memory master.
    std::vector<std::unique_ptr<MemoryPort>> ports;
    std::vector<SteppedMemory> memories;
    for (const MemoryMasterView& m : memory_master_views(hw.design)) {
        ports.push_back(std::make_unique<MemoryPort>(platform_for(hw.platform, m), m.design, m.producer.beat_bytes));
        memories.push_back({m.block, ports.back().get(), m.producer});
    }
    const SteppedResult ref = step_cycles(graph, tokens, kManagerRestartCycles, memories);
    REQUIRE_FALSE(ref.deadlock);
    REQUIRE(sim.token_end_cycles == ref.token_end_cycles);
    REQUIRE(sim.total_cycles == ref.total_cycles);
    REQUIRE(sim.blocks.size() == ref.blocks.size());
    for (std::size_t b = 0; b < sim.blocks.size(); ++b) {
        INFO(sim.blocks[b].name);
        CHECK(sim.blocks[b].counters.invocation_start == ref.blocks[b].invocation_start);
        CHECK(sim.blocks[b].counters.invocation_end == ref.blocks[b].invocation_end);
        CHECK(sim.blocks[b].counters.iterations == ref.blocks[b].iterations);
        CHECK(sim.blocks[b].counters.bytes_read == ref.blocks[b].bytes_read);
        CHECK(sim.blocks[b].counters.bytes_written == ref.blocks[b].bytes_written);
    }
    for (std::size_t f = 0; f < sim.fifos.size(); ++f) CHECK(sim.fifos[f].tokens == ref.fifo_tokens[f]);
    // Busy + stalls + idle account for every cycle of every unit.
    for (const BlockReport& b : sim.blocks) {
        INFO(b.name);
        CHECK(b.idle_cycles >= 0);
        CHECK(b.counters.busy_cycles + b.counters.stall_in_cycles + b.counters.stall_out_cycles + b.idle_cycles ==
              sim.total_cycles);
    }
}

}  // namespace

namespace {
// One block of the released design runs one middle-layer invocation with every input available
// from cycle 0 and room for every output: the simulated latency must match the published HLS
// figure (lightmamba.md 3.2) within 2 %.
void check_isolated_latency(const std::string& name) {
    const ModelCard card = released_model_shape();
    const DataflowGraph g = build_lightmamba_graph(card, DesignConfig{});
    const BlockProgram& b = g.block(name);
    REQUIRE(b.hls_latency_cycles > 0);
    // Inputs hold every token of three invocations; outputs have room for all of theirs.
    std::vector<int64_t> tokens(g.fifos.size(), 0);
    for (const Phase& p : b.phases) {
        for (const StreamAccess& a : p.reads) tokens[a.fifo] += 3 * a.tokens_for(p.trips);
        for (const StreamAccess& a : p.writes) tokens[a.fifo] += 3 * a.tokens_for(p.trips);
    }
    std::vector<TimedFifo> fifos;
    for (std::size_t f = 0; f < g.fifos.size(); ++f) {
        const int64_t room = std::max<int64_t>(1, tokens[f]);
        fifos.emplace_back(g.fifos[f].name, static_cast<int>(room), room, g.fifos[f].latency_cycles);
    }
    for (const Phase& p : b.phases)
        for (const StreamAccess& a : p.reads)
            for (int64_t k = 0; k < 3 * a.tokens_for(p.trips); ++k) fifos[a.fifo].push(-g.fifos[a.fifo].latency_cycles);
    BlockRunner r(b, fifos, 3, 1, kManagerRestartCycles, nullptr);
    int blocked = -1;
    REQUIRE(r.advance(int64_t{1} << 40, &blocked) == BlockRunner::Status::Done);
    const Cycle latency = r.counters().invocation_end[1] - r.counters().invocation_start[1];
    INFO(name << ": simulated " << latency << " cycles, HLS " << b.hls_latency_cycles);
    CHECK(std::abs(double(latency) - double(b.hls_latency_cycles)) <= 0.02 * double(b.hls_latency_cycles));
}
}  // namespace

#define LMSIM_HLS_LATENCY_TEST(BLOCK) \
    TEST_CASE("HLS latency in isolation within 2 %: " BLOCK, "[hw][timing][hls]") { check_isolated_latency(BLOCK); }
LMSIM_HLS_LATENCY_TEST("GEMM")
LMSIM_HLS_LATENCY_TEST("DTADAPT")
LMSIM_HLS_LATENCY_TEST("DTA")
LMSIM_HLS_LATENCY_TEST("EXP_QUANT")
LMSIM_HLS_LATENCY_TEST("B_BUFFER")
LMSIM_HLS_LATENCY_TEST("DTB_QUANT")
LMSIM_HLS_LATENCY_TEST("C_BUFFER")
LMSIM_HLS_LATENCY_TEST("DBU")
LMSIM_HLS_LATENCY_TEST("DAH")
LMSIM_HLS_LATENCY_TEST("HT_ADD_QUANT")
LMSIM_HLS_LATENCY_TEST("HT_STATE")
LMSIM_HLS_LATENCY_TEST("HTC_QUANT")
LMSIM_HLS_LATENCY_TEST("UD")
LMSIM_HLS_LATENCY_TEST("YZ")
LMSIM_HLS_LATENCY_TEST("CONV_STATE")
LMSIM_HLS_LATENCY_TEST("QUANT_CONV")
LMSIM_HLS_LATENCY_TEST("CONV")
LMSIM_HLS_LATENCY_TEST("SILU_QUANT")
LMSIM_HLS_LATENCY_TEST("RMSNORM_QUANT_1")
LMSIM_HLS_LATENCY_TEST("RMSNORM_QUANT_2")

TEST_CASE("every block with a published HLS latency has its own test", "[hw][timing][hls]") {
    const DataflowGraph g = build_lightmamba_graph(released_model_shape(), DesignConfig{});
    int published = 0;
    for (const BlockProgram& b : g.blocks) published += b.hls_latency_cycles > 0;
    CHECK(published == 20);
}

TEST_CASE("block loop structures leave a small non-negative remainder of the HLS latency", "[hw][timing]") {
    // The derived overheads are prologue/epilogue cycles: a large one would mean a loop nest that
    // does not match the code.
    for (const auto& [name, t] : derived_timing()) {
        INFO(name);
        CHECK(t.overhead_cycles >= 0);
        CHECK(t.overhead_cycles <= 110);  // DTA: 136 - 10 x 3 - depth (the largest, see docs/validation.md)
    }
    // The GEMM is exactly its tiles plus its depth: 1,322 x 320 + 320 x 640 + 8.
    const LayerShape s = layer_shape(released_model_shape(), DesignConfig{});
    CHECK(s.in_proj_iterations + s.out_proj_iterations == 627'840);
    CHECK(s.weight_beats + s.scale_beats == 635'199);  // TOTAL_CYCS of M_AXI_STATIC.cpp
    CHECK(3 * s.conv_beats + 2 * s.state_beats + s.weight_beats + s.scale_beats == 680'861);  // lightmamba.md 3.2
    CHECK(s.in_proj_tiles == 1'322);
    CHECK(s.ssm_iterations == 81'920);
}

TEST_CASE("RTL pipeline depths, RTL initiation intervals and the C code's trip counts add up to the HLS latencies", "[hw][timing][rtl]") {
    // Not true by construction: the depth and II come from the generated RTL, the trips from
    // the HLS C, the latency from the HLS report. What is left over should be the block's FSM
    // entry and exit states and the dataflow start FIFOs (up to ~40 cycles), or a few cycles
    // negative where the RTL's chain of processes overlaps what the report counts. The blocks
    // that leave more are open items (docs/validation.md): this list must shrink, not grow.
    const std::set<std::string> unexplained = {
        "DTA",        // 80 left: LAT 136 = ~32 x 4 + 8 suggests ~32 RTL iterations, not the C's 10
        "DTB_QUANT",  // 64 left: the stp front and frp quantizer overlap differently
    };
    int checked = 0;
    std::set<std::string> found;
    for (const auto& [name, t] : derived_timing()) {
        if (!t.depth_from_rtl) continue;
        INFO(name << ": HLS - loops - RTL depth = " << t.unexplained_cycles);
        CHECK(t.unexplained_cycles >= -16);  // HTC_QUANT's -16 today: its quantizer overlaps the report's count
        if (t.unexplained_cycles > 40) found.insert(name);
        ++checked;
    }
    CHECK(found == unexplained);
    CHECK(checked >= 14);
}

TEST_CASE("event-driven model equals a cycle-by-cycle simulation: mamba2-tiny over 2 tokens", "[hw][timing][equivalence]") {
    check_event_driven_equals_stepped("mamba2-tiny", {}, 2);
}

TEST_CASE("event-driven model equals a cycle-by-cycle simulation: no reordering and pipelined bursts",
          "[hw][timing][equivalence]") {
    check_event_driven_equals_stepped(
        "mamba2-tiny", {"design.reorder=false", "design.axi.sequential_bursts=false", "design.fifo_depths.stream=64"}, 1);
}

TEST_CASE("event-driven model equals a cycle-by-cycle simulation: stream memory with on-chip state and HTU",
          "[hw][timing][equivalence]") {
    check_event_driven_equals_stepped(
        "mamba2-tiny", {"platform.memory.fidelity=stream", "design.state_residency=on_chip", "design.htu.enabled=true"}, 2);
}

// The template's widened designs: the same equality (both models read the same programs, so
// this checks the runners' handling of k tokens per access and wide FIFO entries, not the
// programs themselves; the functional tests check those).
TEST_CASE("event-driven model equals a cycle-by-cycle simulation: SSM unit of 16 lanes", "[hw][timing][equivalence][template]") {
    check_event_driven_equals_stepped("mamba2-tiny", {"design.ssmu.lanes=16"}, 2);
}

TEST_CASE("event-driven model equals a cycle-by-cycle simulation: SSM unit of 32 lanes, HT_STATE at II 1",
          "[hw][timing][equivalence][template]") {
    check_event_driven_equals_stepped("mamba2-tiny", {"design.ssmu.lanes=32", "design.ssmu.ht_state_ii=1"}, 1);
}

TEST_CASE("event-driven model equals a cycle-by-cycle simulation: MMU 32 x 16 on four masters, command memory",
          "[hw][timing][equivalence][template]") {
    check_event_driven_equals_stepped("mamba2-tiny",
                                      {"design.mmu.input_lanes=32", "design.mmu.output_lanes=16", "design.axi.masters=4",
                                       "design.axi.width_bits=512", "platform.memory.fidelity=command"},
                                      1);
}

TEST_CASE("event-driven model equals a cycle-by-cycle simulation: MMU 64 x 32 on sixteen masters",
          "[hw][timing][equivalence][template]") {
    check_event_driven_equals_stepped("mamba2-tiny",
                                      {"design.mmu.input_lanes=64", "design.mmu.output_lanes=32", "design.axi.masters=16",
                                       "design.axi.width_bits=512"},
                                      1);
}

TEST_CASE("event-driven model equals a cycle-by-cycle simulation: U280 with the states on four masters of their own",
          "[hw][timing][equivalence][template]") {
    check_event_driven_equals_stepped("mamba2-tiny", {"design.axi.state_master.masters=4"}, 2, "u280");
}

TEST_CASE("event-driven model equals a cycle-by-cycle simulation: VCK190 with the states on the DDR4 (secondary memory)",
          "[hw][timing][equivalence][template]") {
    check_event_driven_equals_stepped("mamba2-tiny", {"design.axi.state_master.masters=1", "design.axi.state_master.memory=secondary"},
                                      2);
}

TEST_CASE("a state master on the secondary memory moves the states there and nothing else", "[hw][timing][template]") {
    // The released VCK190 design with its states and activations on the DDR4 UDIMM: the weight
    // producer's traffic is the weights alone, and the two memory ports' peaks add up.
    const HardwareConfig hw = load_hardware_config(find_config("vck190"),
                                                   {"design.axi.state_master.masters=1", "design.axi.state_master.memory=secondary"});
    const std::vector<MemoryMasterView> views = memory_master_views(hw.design);
    REQUIRE(views.size() == 2);
    CHECK_FALSE(views[0].secondary_memory);
    CHECK(views[1].secondary_memory);
    CHECK(platform_for(hw.platform, views[1]).memory.kind == "ddr4");
    CHECK(platform_for(hw.platform, views[0]).memory.kind == "lpddr4");
    const ModelCard card = find_model_card("mamba2-tiny");
    SimulationOptions options;
    Accelerator top("top", build_lightmamba_graph(card, hw.design), hw.platform, hw.design, options);
    const SimulationResult sim = top.run();
    // Each port's peak is the least of its DRAM, AXI and NoC rates: one 256-bit master at 400 MHz
    // (12.8 GB/s) on the LPDDR4 (12.8) and one on the DDR4 (25.6).
    CHECK(sim.memory_peak_gbps == Approx(12.8 + 12.8));
    int64_t weight_read = -1, weight_written = -1, state_read = -1, state_written = -1;
    for (const BlockReport& b : sim.blocks) {
        if (b.name == "WEIGHT_PRODUCER") weight_read = b.counters.bytes_read, weight_written = b.counters.bytes_written;
        if (b.name == "STATE_MASTER") state_read = b.counters.bytes_read, state_written = b.counters.bytes_written;
    }
    CHECK(weight_read > 0);
    CHECK(weight_written == 0);  // every write is a state's or y's
    CHECK(state_read > 0);
    CHECK(state_written > 0);
    // Without the DDR4 the same design is refused: LPDDR4 masters share channels.
    CHECK_THROWS_WITH(load_hardware_config(find_config("vck190"), {"design.axi.state_master.masters=1"}),
                      Catch::Contains("every master shares the DRAM channels"));
}

TEST_CASE("event-driven model equals a cycle-by-cycle simulation: the U280 platform with a 32-lane SSM unit",
          "[hw][timing][equivalence][template]") {
    check_event_driven_equals_stepped("mamba2-tiny", {"design.ssmu.lanes=32"}, 1, "u280");
}

TEST_CASE("stream memory port: row-state latencies and the released producer's loop pattern within 1 % of command level", "[hw][memory]") {
    // 256-beat loops, each issued when the previous one's data has passed the port (the released
    // producer's sequential loops), with uneven gaps as GEMM back-pressure makes them.
    Cycle end[2];
    for (int f = 0; f < 2; ++f) {
        const HardwareConfig hw = vck190({f ? "platform.memory.fidelity=stream" : "platform.memory.fidelity=command"});
        MemoryPort port(hw.platform, hw.design, 32);
        if (f) {
            CHECK(port.row_latency_ns(false, 0) < port.row_latency_ns(false, 1));
            CHECK(port.row_latency_ns(false, 1) < port.row_latency_ns(false, 2));
        }
        Cycle t = 0;
        uint64_t addr = 96;  // not 4 KB aligned, as the layers' weight regions
        for (int k = 0; k < 3000; ++k) {
            const BurstCompletion a = port.read_burst(addr, 126, t);
            const BurstCompletion b = port.read_burst(addr + 126 * 32, 2, t + 1);
            t = std::max({a.last, b.last, a.first + 255}) + 3 + (k % 7) * 97;
            addr += 8192;
        }
        end[f] = t;
    }
    INFO("command " << end[0] << " stream " << end[1]);
    CHECK(double(end[1]) == Approx(double(end[0])).epsilon(0.01));
}
