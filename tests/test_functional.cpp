// Functional mode: the datapath's blocks, computing in hardware order on the tokens their
// programs stream, agree with the golden model (algorithm order) bit for bit after every layer,
// over several tokens with the conv and SSM states carried through the memory image.
#include <catch2/catch.hpp>

#include "config/hardware_config.h"
#include "golden/int_model.h"
#include "hw/functional_datapath.h"
#include "hw/lightmamba_graph.h"
#include "hw/stream_check.h"
#include "model/ptq.h"
#include "model/weights.h"

using namespace lmsim;

namespace {
void check_against_golden(const WeightSource& source, Rotation rotation, const std::vector<std::string>& sets, int tokens,
                          const std::string& config = "vck190") {
    HardwareConfig hw = load_hardware_config(find_config(config), sets);
    QuantSpec spec;
    spec.precision = parse_precision(hw.design.precision);
    spec.rotation = rotation;
    spec.reorder = hw.design.reorder;
    const QuantizedModel qm = quantize_model(source, spec);
    const hw::DataflowGraph graph = hw::build_lightmamba_graph(qm.card, hw.design);
    hw::FunctionalDatapath datapath(graph, qm, hw.design);
    IntModel golden(qm);
    // Every token of every block's output stream against the golden model's value of the same
    // quantity (hw/stream_check.h), then the residual after every layer.
    hw::StreamChecker checker(graph, qm, hw.design, golden);
    datapath.set_push_observer([&](int f, int l, int64_t k, const std::vector<int64_t>& v, const std::vector<int>& s) {
        checker.on_push(f, l, k, v, s);
    });
    for (int t = 0; t < tokens; ++t) {
        const int token = (17 + 31 * t) % qm.card.vocab_size;
        const std::vector<int32_t> x = golden.embed(token);
        checker.begin_token(t, x);
        std::vector<std::vector<int32_t>> per_layer;
        std::vector<int32_t> y;
        try {
            y = datapath.step(x, &per_layer);
            REQUIRE(per_layer.size() == static_cast<std::size_t>(qm.card.n_layer));
            checker.end_token(per_layer);
        } catch (const hw::StreamMismatch& e) {
            FAIL(e.what());
        }
        REQUIRE(y == checker.golden_residual());
    }
    CHECK(datapath.tokens_moved() > 0);
    // Every stream with a golden rule carried tokens (a rule that never fires checks nothing).
    for (const std::string& name : checker.checked_streams()) {
        INFO(name);
        CHECK(checker.per_stream().count(name) == 1);
    }
}
}  // namespace

TEST_CASE("functional datapath equals the golden model bit for bit: mamba2-tiny reference over 3 tokens", "[hw][functional]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    check_against_golden(*source, Rotation::Offline, {}, 3);
}

TEST_CASE("functional datapath equals the golden model bit for bit: natural in_proj order", "[hw][functional]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    check_against_golden(*source, Rotation::None, {"design.reorder=false"}, 2);
}

TEST_CASE("functional datapath equals the golden model bit for bit: online Hadamard on the HTU", "[hw][functional]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    check_against_golden(*source, Rotation::OfflineOnline, {"design.htu.enabled=true"}, 2);
}

TEST_CASE("functional datapath equals the golden model bit for bit: W8A8 on an 8 x 4 MMU", "[hw][functional]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    check_against_golden(*source, Rotation::Offline, {"design.precision=w8a8", "design.mmu.output_lanes=4"}, 2);
}

TEST_CASE("functional datapath equals the golden model bit for bit: synthetic mamba2-130m over 3 tokens", "[hw][functional]") {
    auto source = make_synthetic_weights(find_model_card("mamba2-130m"), SyntheticSpec{});
    check_against_golden(*source, Rotation::Offline, {}, 3);
}

// The template's widened designs (docs/configuration.md): the hardware order of the widened
// blocks changes (k tokens per SSM iteration, wide MMU tokens, several masters' beats), the
// golden model does not, and every stream must still agree token for token.
TEST_CASE("functional datapath equals the golden model bit for bit: SSM unit of 16 and 32 lanes", "[hw][functional][template]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    check_against_golden(*source, Rotation::Offline, {"design.ssmu.lanes=16"}, 3);
    check_against_golden(*source, Rotation::Offline, {"design.ssmu.lanes=32"}, 3);
}

TEST_CASE("functional datapath equals the golden model bit for bit: MMU 32 x 16 on four 512-bit masters, 64 x 32 on 16",
          "[hw][functional][template]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    check_against_golden(*source, Rotation::Offline,
                         {"design.mmu.input_lanes=32", "design.mmu.output_lanes=16", "design.axi.masters=4", "design.axi.width_bits=512"}, 3);
    check_against_golden(*source, Rotation::Offline,
                         {"design.mmu.input_lanes=64", "design.mmu.output_lanes=32", "design.axi.masters=16", "design.axi.width_bits=512"}, 2);
}

TEST_CASE("functional datapath equals the golden model bit for bit: W8A8 on a 16 x 8 MMU, four 256-bit masters",
          "[hw][functional][template]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    check_against_golden(*source, Rotation::Offline,
                         {"design.precision=w8a8", "design.mmu.input_lanes=16", "design.mmu.output_lanes=8", "design.axi.masters=4"}, 2);
}

TEST_CASE("functional datapath equals the golden model bit for bit: widened synthetic mamba2-130m over 3 tokens",
          "[hw][functional][template]") {
    auto source = make_synthetic_weights(find_model_card("mamba2-130m"), SyntheticSpec{});
    check_against_golden(*source, Rotation::Offline,
                         {"design.ssmu.lanes=32", "design.mmu.input_lanes=32", "design.mmu.output_lanes=16", "design.axi.masters=4",
                          "design.axi.width_bits=512"},
                         3);
}

TEST_CASE("functional datapath equals the golden model bit for bit: the U280 design, states on masters of their own",
          "[hw][functional][template]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    check_against_golden(*source, Rotation::OfflineOnline, {"design.axi.state_master.masters=2"}, 2, "u280");
}

TEST_CASE("functional datapath equals the golden model bit for bit: SSM unit of 64 lanes, MMU 16 x 4 W4A4, three state masters",
          "[hw][functional][template]") {
    auto source = open_safetensors_weights(std::string(LMSIM_TEST_DATA) + "/mamba2-tiny.weights.safetensors");
    check_against_golden(*source, Rotation::Offline, {"design.ssmu.lanes=64"}, 2);
    check_against_golden(*source, Rotation::Offline, {"design.mmu.input_lanes=16", "design.mmu.output_lanes=4"}, 2);
    // 3 x 256-bit state masters: 3 tokens per beat, so every state stream ends in a tail beat.
    check_against_golden(*source, Rotation::OfflineOnline, {"design.axi.state_master.masters=3"}, 2, "u280");
}
