// lmsim design-space exploration: the sweep file. A sweep names a base config and a model, the
// config paths to vary (each a finite list of values: listed, a linear range or a power-of-two
// range), tied paths computed from the varied ones (an arithmetic expression over config paths,
// e.g. the masters that feed the MMU one weight beat per cycle), constraints and objectives on
// report metrics (dse/metrics.h), and the search (grid, seeded random sampling, NSGA-II).
// docs/dse.md describes the format; every error names the sweep file, the JSON path and what was
// expected, before any point is evaluated.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/hardware_config.h"

namespace lmsim::dse {

struct ParameterSpec {
    std::string path;                  // config path, e.g. design.mmu.input_lanes (a name for choices)
    std::vector<nlohmann::json> values;  // the domain, in order (the choices' names)
    // {"choices": {"NAME": ["path=value", ...]}}: each value sets several config paths together
    // (e.g. a memory system); empty for a plain parameter.
    std::vector<std::vector<std::string>> choice_sets;
};

// value = expression over config paths (+ - * / and parentheses); a path is a varied parameter,
// another tie, or a value of the base config.
struct TieExpression;
struct TieSpec {
    std::string path;
    std::string text;
    std::shared_ptr<const TieExpression> expression;
};

enum class Comparison { Le, Lt, Ge, Gt, Eq };
struct ConstraintSpec {
    std::string metric;
    Comparison op = Comparison::Le;
    double bound = 0;
    std::string text;  // as written
    bool satisfied_by(double value) const;
};

struct ObjectiveSpec {
    std::string metric;
    bool maximise = true;
    double reference = 0;  // hypervolume reference point (the worst value that still counts)
    // The objective as a quantity to minimise (pagmo's convention).
    double minimised(double value) const { return maximise ? -value : value; }
};

enum class SearchMethod { Grid, Random, Nsga2 };
struct SearchSpec {
    SearchMethod method = SearchMethod::Grid;
    int64_t budget = 0;     // distinct points evaluated (random, nsga2); 0 with grid: every point
    uint64_t seed = 1;
    int population = 24;    // nsga2; a multiple of 4 (pagmo)
};

enum class Fidelity { Analytic, Cycle };
std::string fidelity_name(Fidelity f);

struct SweepSpec {
    std::string file;          // the sweep file as given
    std::string base_config;   // resolved path of the base config
    std::string model = "mamba2-2.7b";
    int tokens = 1;
    std::vector<std::string> fixed_sets;  // "path=value" applied to every point
    std::vector<ParameterSpec> parameters;
    std::vector<TieSpec> ties;            // in evaluation order (a tie after the ties it reads)
    std::map<std::string, double> base_numbers;  // base config values the ties read
    std::vector<std::string> integer_ties;       // tied paths whose base value is an integer
    std::vector<ConstraintSpec> constraints;
    std::vector<ObjectiveSpec> objectives;
    SearchSpec search;
    double confirm_margin = 0.05;  // screened points within this fraction of the front are confirmed
    std::string hash;              // of the sweep's meaning (base document, model, domains, ...)
    int64_t grid_size() const;     // product of the domain sizes (saturates at INT64_MAX)
};

// A point of the space: one index per parameter.
using Point = std::vector<int>;

// Reads and validates a sweep file: every parameter path must be a path of the base config
// (the error names the nearest valid path), every range non-empty, ties acyclic and not on a
// varied path, constraint and objective metrics known (dse/metrics.h). Throws InputError.
SweepSpec load_sweep(const std::string& path);

// The overrides of one point (fixed sets, then parameters, then ties) as "path=value" strings,
// and the same values as a JSON object {path: value}. Throws InputError when a tie cannot be
// computed for this point (e.g. a fraction for an integer path): the point fails.
std::vector<std::string> point_sets(const SweepSpec& s, const Point& p, nlohmann::json* values = nullptr);

// Mixed-radix index <-> point.
Point point_at(const SweepSpec& s, int64_t index);
int64_t index_of(const SweepSpec& s, const Point& p);

// Points of a grid or random search, deterministic in the sweep (seed); `shard` (1-based) of
// `shards` keeps every shards-th point from shard-1: the slices are disjoint and cover the list.
std::vector<Point> enumerate_points(const SweepSpec& s, int shard = 1, int shards = 1);

// A value as `--set path=value` takes it: a string bare, anything else as JSON.
std::string config_value_text(const nlohmann::json& v);

// 64-bit FNV-1a, printed as 16 hex digits.
std::string fnv1a_hex(const std::string& text);

}  // namespace lmsim::dse
