// lmsim: energy per token, Accelergy-style: per-action energy x action counts, plus static power.
// The counts come from the simulation (each unit's iterations, each FIFO's tokens, the bytes the
// memory masters moved, the DRAM controllers' commands); the per-action energies and the static
// power come from platform.energy (docs/energy.md: every constant with its source, and which one
// is fitted). Free of SystemC: it reads a finished run's counters.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "config/hardware_config.h"
#include "hw/accelerator.h"

namespace lmsim {

struct EnergyAction {
    std::string unit, action;
    double count = 0;    // over the simulated tokens
    double pj_each = 0;
    double pj() const { return count * pj_each; }
};

struct EnergyReport {
    std::vector<EnergyAction> actions;       // every counted action, by unit
    std::map<std::string, double> unit_j;    // per unit, per token (actions summed), incl. "STATIC"
    double dynamic_j_per_token = 0;          // actions, DRAM background included
    double static_j_per_token = 0;           // static_w x time per token
    double j_per_token = 0, tokens_per_j = 0;
    double tokens_per_s = 0;                 // the rate the power is taken at
    double static_w = 0, dynamic_w = 0, total_w = 0;
    std::string static_source;
};

// `tokens` simulated tokens at `tokens_per_s` (the rate static power is spread over: the
// accelerator's, with the host's share where the platform has one).
EnergyReport estimate_energy(const HardwareConfig& hw, const hw::SimulationResult& sim, int tokens, double tokens_per_s);

// Static power that makes `tokens_per_s` / (static + dynamic) equal `tokens_per_j`, given the
// dynamic energy per token: the one fitted term (lmsim calibrate).
double fit_static_w(double dynamic_j_per_token, double tokens_per_s, double tokens_per_j);

}  // namespace lmsim
