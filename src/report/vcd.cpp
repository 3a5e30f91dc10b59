#include "report/vcd.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <systemc>
#include <vector>

#include "common/error.h"

namespace lmsim {
namespace {

struct Change {
    int64_t cycle;
    int64_t seq;  // order of the trace's lines: at one cycle the later change wins
    int signal;
    int value;
};

enum UnitState { kIdle = 0, kBusy = 1, kStallIn = 2, kStallOut = 3 };

// VCD identifiers may not contain spaces.
std::string signal_name(const std::string& s) {
    std::string out;
    for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_');
    return out;
}

class VcdReplay : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(VcdReplay);
    VcdReplay(sc_core::sc_module_name name, const std::vector<std::string>& signals, std::vector<Change> changes,
              double fs_per_cycle, sc_core::sc_trace_file* file)
        : sc_module(name), changes_(std::move(changes)), fs_per_cycle_(fs_per_cycle) {
        for (const std::string& s : signals) {
            signals_.push_back(std::make_unique<sc_core::sc_signal<int>>(s.c_str(), 0));
            sc_core::sc_trace(file, *signals_.back(), s);
        }
        SC_THREAD(run);
    }

private:
    void run() {
        for (const Change& c : changes_) {
            const double at_fs = std::round(static_cast<double>(c.cycle) * fs_per_cycle_);
            const double now_fs = sc_core::sc_time_stamp().value();  // resolution: 1 fs
            if (at_fs > now_fs) wait(sc_core::sc_time(at_fs - now_fs, sc_core::SC_FS));
            signals_[static_cast<std::size_t>(c.signal)]->write(c.value);
        }
        wait(sc_core::sc_time(fs_per_cycle_, sc_core::SC_FS));  // the last values get a timestamp of their own
    }
    std::vector<std::unique_ptr<sc_core::sc_signal<int>>> signals_;
    std::vector<Change> changes_;
    double fs_per_cycle_;
};

}  // namespace

VcdSummary write_vcd_from_trace(const std::string& trace_path, const std::string& vcd_path) {
    std::ifstream in(trace_path);
    if (!in) throw InputError(fmt::format("{}: cannot read the trace", trace_path));
    double clock_mhz = 0;
    std::vector<std::string> signals;
    std::map<int, int> unit_signal;            // tid of process "units" -> signal
    std::map<std::string, int> fifo_signal;    // counter name -> signal
    std::vector<Change> changes;
    int units = 0;
    int64_t seq = 0;
    std::string line;
    for (long n = 1; std::getline(in, line); ++n) {
        if (n == 1) {
            // {"displayTimeUnit":...,"otherData":{"clock_mhz":F,...},
            const std::size_t k = line.find("\"clock_mhz\":");
            if (k == std::string::npos)
                throw InputError(fmt::format("{}:1: not a trace written by lmsim run --trace (no otherData.clock_mhz)", trace_path));
            clock_mhz = std::atof(line.c_str() + k + 12);
            continue;
        }
        if (line.rfind("{\"ph\"", 0) != 0) continue;
        if (!line.empty() && line.back() == ',') line.pop_back();
        nlohmann::json e;
        try {
            e = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& x) {
            throw InputError(fmt::format("{}:{}: not a trace event: {}", trace_path, n, x.what()));
        }
        try {
            const std::string ph = e.at("ph");
            const int pid = e.at("pid");
            if (ph == "M" && pid == 0 && e.at("name") == "thread_name") {
                unit_signal[e.at("tid").get<int>()] = static_cast<int>(signals.size());
                signals.push_back("units." + signal_name(e.at("args").at("name").get<std::string>()) + ".state");
                ++units;
            } else if (ph == "X" && pid == 0) {
                const int signal = unit_signal.at(e.at("tid").get<int>());
                const std::string cat = e.at("cat");
                const int64_t a = e.at("args").at("begin_cycle"), d = e.at("args").at("cycles");
                const int inside = cat == "invocation" ? kBusy : cat == "stall_in" ? kStallIn : kStallOut;
                const int after = cat == "invocation" ? kIdle : kBusy;
                changes.push_back({a, seq++, signal, inside});
                changes.push_back({a + d, seq++, signal, after});
            } else if (ph == "C" && pid == 1) {
                const std::string name = e.at("name");
                auto it = fifo_signal.find(name);
                if (it == fifo_signal.end()) {
                    it = fifo_signal.emplace(name, static_cast<int>(signals.size())).first;
                    signals.push_back("fifos." + signal_name(name) + ".tokens");
                }
                changes.push_back({e.at("args").at("cycle").get<int64_t>(), seq++, it->second, e.at("args").at("tokens").get<int>()});
            }
        } catch (const std::out_of_range&) {
            throw InputError(fmt::format("{}:{}: an event of an unknown track", trace_path, n));
        } catch (const nlohmann::json::exception& x) {
            throw InputError(fmt::format("{}:{}: not an lmsim trace event: {}", trace_path, n, x.what()));
        }
    }
    if (!(clock_mhz > 0)) throw InputError(fmt::format("{}: not a trace written by lmsim run --trace", trace_path));
    std::stable_sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
        return a.cycle != b.cycle ? a.cycle < b.cycle : a.seq < b.seq;
    });

    // sc_create_vcd_trace_file appends ".vcd"; the file is written under a temporary name.
    const std::string tmp_stem = vcd_path + ".tmp";
    sc_core::sc_set_time_resolution(1, sc_core::SC_FS);
    sc_core::sc_trace_file* file = sc_core::sc_create_vcd_trace_file(tmp_stem.c_str());
    file->set_time_unit(1, sc_core::SC_FS);
    VcdSummary summary;
    summary.units = units;
    summary.fifos = static_cast<int>(fifo_signal.size());
    summary.changes = static_cast<long>(changes.size());
    {
        VcdReplay replay("vcd_replay", signals, std::move(changes), 1e9 / clock_mhz, file);
        sc_core::sc_start();
        sc_core::sc_close_vcd_trace_file(file);
    }
    // As write_file_atomically: the complete file fsync'd, then renamed over the final name.
    const int fd = ::open((tmp_stem + ".vcd").c_str(), O_RDONLY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    std::error_code ec;
    std::filesystem::rename(tmp_stem + ".vcd", vcd_path, ec);
    if (ec) throw InputError(fmt::format("{}: cannot write: {}", vcd_path, ec.message()));
    return summary;
}

}  // namespace lmsim
