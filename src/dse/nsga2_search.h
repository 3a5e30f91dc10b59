// lmsim design-space exploration: the multi-objective evolutionary search, on pagmo2's NSGA-II
// (Debian's libpagmo-dev) over the discrete space: one integer gene per parameter (an index into
// its values). Kept in its own file so that pagmo's headers compile once.
#pragma once
#include <functional>
#include <vector>

#include "dse/results.h"
#include "dse/sweep.h"

namespace lmsim::dse {

// Evaluates a batch of points at the search's fidelity (in parallel), one record per point.
using BatchEvaluate = std::function<std::vector<Record>(const std::vector<Point>&)>;

// NSGA-II with the sweep's population and seed until `budget` distinct points are evaluated (a
// point the search proposes again costs nothing; points proposed after the budget is spent are
// not evaluated and rank last). Infeasible and failed points rank behind every feasible one,
// ordered by how far they miss (constraint-domination by penalty). Returns every record evaluated.
std::vector<Record> nsga2_search(const SweepSpec& sweep, const BatchEvaluate& evaluate, const std::function<bool()>& stopped);

// Hypervolume dominated by `points` (minimised objectives) up to `reference` (pagmo2).
double hypervolume_of(const std::vector<std::vector<double>>& points, const std::vector<double>& reference);

}  // namespace lmsim::dse
