// lmsim: DRAM organisation and timing presets, and the JEDEC timing constraints written as data
// (preceding command, following command, scope, minimum distance), Ramulator-2 style. The
// controller (issue 4) and the independent protocol checker both read this one table.
#pragma once
#include <string>
#include <vector>

namespace lmsim::mem {

enum class Command { ACT, PRE, RD, WR, REF };
const char* to_string(Command c);

struct DramOrganization {
    int bank_groups = 1;
    int banks_per_group = 1;
    int rows = 0;
    int columns = 0;          // column addresses per row
    int burst_length = 0;     // data beats per column access (BL)
    int data_width_bits = 0;  // channel (or pseudo-channel) data bus width
    int banks() const { return bank_groups * banks_per_group; }
    int bytes_per_access() const { return burst_length * data_width_bits / 8; }
    long row_bytes() const { return static_cast<long>(columns) * bytes_per_access(); }
};

// All values in clock cycles of tck_ns (command clock).
struct DramTiming {
    double tck_ns = 0;
    int rcd_rd = 0, rcd_wr = 0, rp = 0, ras = 0, rc = 0;
    int rl = 0, wl = 0;
    int ccd_s = 0, ccd_l = 0, rrd_s = 0, rrd_l = 0, faw = 0;
    int wtr_s = 0, wtr_l = 0, rtp = 0, wr = 0;
    int rfc = 0, refi = 0;
    int burst_cycles = 0;  // BL / data rate: bus cycles one access occupies
};

struct DramSpec {
    std::string name;    // preset name
    std::string family;  // "hbm2" | "ddr4" | "lpddr4"
    DramOrganization org;
    DramTiming t;
    std::string source;
    double peak_gbps() const { return org.data_width_bits / 8.0 * 2.0 / t.tck_ns; }  // DDR
};

// Presets: HBM2_DRAMSYS and HBM2_RAMULATOR (U280 pseudo-channel, 900 MHz), DDR4_2400,
// DDR4_3200, LPDDR4_3200 (../shared/docs/platforms-and-math.md section 2). Throws InputError
// naming the known presets for an unknown name.
DramSpec dram_preset(const std::string& name);
std::vector<std::string> dram_preset_names();

enum class Scope { SameBank, SameBankGroup, OtherBankGroup, Channel };
const char* to_string(Scope s);

struct TimingConstraint {
    Command prev, next;
    Scope scope;
    int cycles;
    const char* name;  // the JEDEC parameter(s) behind it
};

// Whether a rule of `scope` binds a command on bank `next` after one on bank `prev` (banks
// numbered bank_group * banks_per_group + bank).
inline bool scope_applies(Scope scope, int prev, int next, int banks_per_group) {
    const bool same_group = prev / banks_per_group == next / banks_per_group;
    switch (scope) {
        case Scope::SameBank: return prev == next;
        case Scope::SameBankGroup: return same_group;
        case Scope::OtherBankGroup: return !same_group;
        case Scope::Channel: return true;
    }
    return false;
}

// The pairwise constraints of a spec (the four-activate window is separate: faw), plus the
// data bus: two bursts of the same direction at least BL/2 cycles apart.
std::vector<TimingConstraint> timing_constraints(const DramSpec& spec);

}  // namespace lmsim::mem
