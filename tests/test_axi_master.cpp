// AXI masters as TLM-2.0 initiators: 4 KB boundary splits, the outstanding limit, independent
// read and write channels. One SystemC elaboration: the split checks are plain functions, the
// rest runs in a single test case.
#include <catch2/catch.hpp>

#include "mem/axi_master.h"
#include "mem/tlm_memory.h"

using namespace lmsim::mem;

TEST_CASE("AXI bursts never cross 4 KB and respect the burst length", "[mem][axi]") {
    auto b = split_axi_bursts(4000, 10000, 32, 256);
    uint64_t total = 0, next = 4000;
    for (const auto& x : b) {
        CHECK(x.address == next);
        CHECK(x.address / 4096 == (x.address + x.bytes - 1) / 4096);
        CHECK(x.bytes <= 32u * 256);
        total += x.bytes;
        next += x.bytes;
    }
    CHECK(total == 10000);
    CHECK(b.front().bytes == 96);  // up to the first boundary
    auto aligned = split_axi_bursts(0, 65536, 32, 64);  // 2 KB bursts
    CHECK(aligned.size() == 32);
}

namespace {
struct Driver : sc_core::sc_module {
    AxiMaster *one, *many;
    sc_core::sc_event one_done, many_read_done, many_write_done;
    sc_core::sc_time t_one, t_many;
    SC_HAS_PROCESS(Driver);
    Driver(sc_core::sc_module_name n, AxiMaster* a, AxiMaster* b) : sc_core::sc_module(n), one(a), many(b) {
        SC_THREAD(run_one);
        SC_THREAD(run_many);
    }
    void run_one() {
        one->read(0, 1 << 20, &one_done);
        wait(one_done);
        t_one = sc_core::sc_time_stamp();
    }
    void run_many() {
        many->read(0, 1 << 20, &many_read_done);
        many->write(1 << 24, 1 << 18, &many_write_done);
        wait(many_read_done & many_write_done);
        t_many = sc_core::sc_time_stamp();
    }
};
}  // namespace

TEST_CASE("AXI master: outstanding bursts overlap, read and write channels are independent", "[mem][axi][tlm]") {
    const DramSpec hbm = dram_preset("HBM2_DRAMSYS");
    DramChannelTarget pc0("pc0", hbm), pc1("pc1", hbm);
    AxiMaster one("one", 32, 64, 1), many("many", 32, 64, 8);
    one.socket.bind(pc0.socket);
    many.socket.bind(pc1.socket);
    Driver d("driver", &one, &many);
    sc_core::sc_start();
    CHECK(one.max_in_flight(false) == 1);
    CHECK(many.max_in_flight(false) == 8);
    CHECK(many.max_in_flight(true) >= 1);
    CHECK(one.bursts_issued() == (1 << 20) / 2048);
    CHECK(many.bursts_issued() == (1 << 20) / 2048 + (1 << 18) / 2048);
    // With eight bursts in flight the channel never waits for a request: more bytes per second
    // than one burst at a time, which leaves the bus idle for each burst's access latency.
    const double gbps_one = (1 << 20) / d.t_one.to_seconds() / 1e9;
    const double gbps_many = ((1 << 20) + (1 << 18)) / d.t_many.to_seconds() / 1e9;
    INFO("one " << gbps_one << " GB/s, many " << gbps_many << " GB/s");
    CHECK(gbps_many > gbps_one);
    CHECK(gbps_many < 14.4);
}

namespace {
struct TwoCodings : sc_core::sc_module {
    std::vector<AxiMaster*> masters;
    std::vector<sc_core::sc_event> done;
    std::vector<sc_core::sc_time> finished;
    SC_HAS_PROCESS(TwoCodings);
    TwoCodings(sc_core::sc_module_name n, std::vector<AxiMaster*> m)
        : sc_core::sc_module(n), masters(std::move(m)), done(masters.size()), finished(masters.size()) {
        for (std::size_t i = 0; i < masters.size(); ++i)
            sc_core::sc_spawn([this, i] { run(i); });
    }
    void run(std::size_t i) {
        masters[i]->read(0, 1 << 18, &done[i]);
        wait(done[i]);
        masters[i]->write(1 << 22, 1 << 16, &done[i]);
        wait(done[i]);
        finished[i] = sc_core::sc_time_stamp();
    }
};
}  // namespace

TEST_CASE("AXI master: the approximately-timed coding (nb_transport) completes as the loosely-timed one", "[mem][axi][tlm]") {
    const DramSpec hbm = dram_preset("HBM2_DRAMSYS");
    DramChannelTarget t0("t0", hbm), t1("t1", hbm), t2("t2", hbm), t3("t3", hbm);
    AxiMaster lt1("lt1", 32, 64, 1), at1("at1", 32, 64, 1, AxiMaster::Coding::ApproximatelyTimed);
    AxiMaster lt8("lt8", 32, 64, 8), at8("at8", 32, 64, 8, AxiMaster::Coding::ApproximatelyTimed);
    lt1.socket.bind(t0.socket);
    at1.socket.bind(t1.socket);
    lt8.socket.bind(t2.socket);
    at8.socket.bind(t3.socket);
    TwoCodings d("driver", {&lt1, &at1, &lt8, &at8});
    sc_core::sc_start();
    CHECK(at1.bursts_issued() == lt1.bursts_issued());
    CHECK(at8.max_in_flight(false) == 8);
    // One burst at a time: identical completion.
    CHECK(d.finished[1] == d.finished[0]);
    CHECK(t1.controller().stats().reads == t0.controller().stats().reads);
    // Eight in flight: the same work, within 0.5 % (concurrent requests may reach the controller
    // in another order).
    CHECK(d.finished[3].to_seconds() == Approx(d.finished[2].to_seconds()).epsilon(0.005));
    CHECK(d.finished[2] < d.finished[0]);
}
