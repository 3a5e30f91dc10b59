// The DRAM channel behind a TLM-2.0 socket: data round-trips, and the annotated times are
// exactly those of the command-level controller. One SystemC elaboration: a single test case.
#include <catch2/catch.hpp>
#include <tlm_utils/simple_initiator_socket.h>

#include "mem/protocol_checker.h"
#include "mem/tlm_memory.h"

using namespace lmsim::mem;

namespace {

struct StreamInitiator : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<StreamInitiator> socket;
    std::vector<uint8_t> written, read_back;
    std::vector<sc_core::sc_time> completions;
    int stream_bursts = 64;
    unsigned burst_bytes = 8192;

    SC_HAS_PROCESS(StreamInitiator);
    explicit StreamInitiator(sc_core::sc_module_name n) : sc_core::sc_module(n), socket("socket") {
        SC_THREAD(run);
    }
    void transfer(tlm::tlm_command cmd, uint64_t address, uint8_t* data, unsigned length) {
        tlm::tlm_generic_payload t;
        t.set_command(cmd);
        t.set_address(address);
        t.set_data_ptr(data);
        t.set_data_length(length);
        t.set_streaming_width(length);
        t.set_byte_enable_ptr(nullptr);
        t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        socket->b_transport(t, delay);
        REQUIRE(t.get_response_status() == tlm::TLM_OK_RESPONSE);
        wait(delay);  // one transaction in flight
    }
    void run() {
        written.resize(5000);
        for (std::size_t i = 0; i < written.size(); ++i) written[i] = static_cast<uint8_t>(i * 7 + 3);
        transfer(tlm::TLM_WRITE_COMMAND, 0x12345, written.data(), static_cast<unsigned>(written.size()));
        read_back.assign(written.size(), 0);
        transfer(tlm::TLM_READ_COMMAND, 0x12345, read_back.data(), static_cast<unsigned>(read_back.size()));
        std::vector<uint8_t> buf(burst_bytes);
        for (int k = 0; k < stream_bursts; ++k) {
            transfer(tlm::TLM_READ_COMMAND, 0x100000 + uint64_t(k) * burst_bytes, buf.data(), burst_bytes);
            completions.push_back(sc_core::sc_time_stamp());
        }
    }
};

}  // namespace

TEST_CASE("TLM-2.0 DRAM target: functional data and command-exact timing", "[mem][tlm]") {
    const DramSpec spec = dram_preset("HBM2_DRAMSYS");
    DramChannelTarget target("hbm_pc0", spec);
    target.controller().record_commands(true);
    StreamInitiator init("init");
    init.socket.bind(target.socket);
    sc_core::sc_start();

    CHECK(init.read_back == init.written);
    CHECK(target.transactions() == 2 + init.stream_bursts);

    // Replaying the same requests (same arrival cycles) on a bare controller gives the same
    // completion times.
    DramController ref(spec);
    auto serve = [&](uint64_t address, unsigned length, bool write, long arrival) {
        std::vector<DramController::Request> reqs;
        for (uint64_t a = address / 32 * 32; a < address + length; a += 32) reqs.push_back({a, write, arrival});
        auto d = ref.serve(reqs, 32);
        return std::max(arrival, *std::max_element(d.begin(), d.end()));
    };
    long t = serve(0x12345, 5000, true, 0);
    t = serve(0x12345, 5000, false, t);
    for (int k = 0; k < init.stream_bursts; ++k) {
        t = serve(0x100000 + uint64_t(k) * 8192, 8192, false, t);
        CHECK(init.completions[k] == sc_core::sc_time(t * spec.t.tck_ns, sc_core::SC_NS));
    }
    // One 8 KB burst in flight at a time: latency-bound, well under the 14.4 GB/s peak.
    const double gbps = init.stream_bursts * 8192.0 / (init.completions.back() - init.completions.front() +
                                                        (init.completions[1] - init.completions[0])).to_seconds() / 1e9;
    INFO(gbps << " GB/s");
    CHECK(gbps < 14.4);
    CHECK(gbps > 8.0);

    // Every command the target issued passes the protocol checker.
    ProtocolChecker checker(spec);
    for (const auto& c : target.controller().commands()) {
        REQUIRE(checker.check(c.cmd, c.at, c.cycle).empty());
        checker.issue(c.cmd, c.at, c.cycle);
    }
}
