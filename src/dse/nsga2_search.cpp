#include "dse/nsga2_search.h"

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <pagmo/algorithms/nsga2.hpp>
#include <pagmo/batch_evaluators/member_bfe.hpp>
#include <pagmo/bfe.hpp>
#include <pagmo/population.hpp>
#include <pagmo/problem.hpp>
#include <pagmo/utils/hypervolume.hpp>

namespace lmsim::dse {
namespace {

// A point's rank value for a failed or infeasible record: behind the reference point of every
// objective (so behind every feasible point that counts), more so the more it misses.
constexpr double kFailedPenalty = 1e6;

struct SearchContext {
    const SweepSpec* sweep = nullptr;
    const BatchEvaluate* evaluate = nullptr;
    const std::function<bool()>* stopped = nullptr;
    std::map<int64_t, pagmo::vector_double> fitness;  // by point index
    std::vector<Record> records;
    std::vector<double> worst;  // the reference point, minimised
};

Point to_point(const SweepSpec& s, const double* x) {
    Point p(s.parameters.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
        const int hi = static_cast<int>(s.parameters[i].values.size()) - 1;
        p[i] = std::clamp(static_cast<int>(std::lround(x[i])), 0, hi);
    }
    return p;
}

pagmo::vector_double fitness_of(const SearchContext& c, const Record& r) {
    pagmo::vector_double f;
    const double miss = !r.ok ? kFailedPenalty : static_cast<double>(r.violations.size());
    for (std::size_t i = 0; i < c.sweep->objectives.size(); ++i) {
        const ObjectiveSpec& o = c.sweep->objectives[i];
        const auto it = r.metrics.find(o.metric);
        if (!r.feasible || it == r.metrics.end()) f.push_back(c.worst[i] + std::abs(c.worst[i]) + 1 + miss);
        else f.push_back(o.minimised(it->second));
    }
    return f;
}

// The discrete space as a pagmo user-defined problem: integer genes, minimised objectives, a
// batch fitness that evaluates the batch's new points together (in parallel).
struct SweepProblem {
    std::shared_ptr<SearchContext> context;

    std::pair<pagmo::vector_double, pagmo::vector_double> get_bounds() const {
        pagmo::vector_double lo, hi;
        for (const ParameterSpec& p : context->sweep->parameters) {
            lo.push_back(0);
            hi.push_back(static_cast<double>(p.values.size() - 1));
        }
        return {lo, hi};
    }
    pagmo::vector_double::size_type get_nobj() const { return context->sweep->objectives.size(); }
    pagmo::vector_double::size_type get_nix() const { return context->sweep->parameters.size(); }
    pagmo::vector_double fitness(const pagmo::vector_double& x) const { return batch_fitness(x); }
    bool has_batch_fitness() const { return true; }
    pagmo::vector_double batch_fitness(const pagmo::vector_double& xs) const {
        SearchContext& c = *context;
        const SweepSpec& s = *c.sweep;
        const std::size_t dim = s.parameters.size();
        const std::size_t n = xs.size() / dim;
        std::vector<Point> points;
        for (std::size_t k = 0; k < n; ++k) points.push_back(to_point(s, xs.data() + k * dim));
        // The budget counts distinct points: new ones are evaluated while it lasts.
        std::vector<Point> fresh;
        std::set<int64_t> queued;
        for (const Point& p : points) {
            const int64_t i = index_of(s, p);
            if (c.fitness.count(i) || queued.count(i)) continue;
            if (static_cast<int64_t>(c.fitness.size() + fresh.size()) >= s.search.budget || (*c.stopped)()) break;
            queued.insert(i);
            fresh.push_back(p);
        }
        if (!fresh.empty()) {
            // Records come back for the points evaluated (a stop can leave some out): matched
            // to their points by grid index, not by position.
            for (const Record& r : (*c.evaluate)(fresh)) {
                if (!queued.count(r.point_index) || c.fitness.count(r.point_index)) continue;
                c.fitness[r.point_index] = fitness_of(c, r);
                c.records.push_back(r);
            }
        }
        pagmo::vector_double out;
        for (const Point& p : points) {
            const auto it = c.fitness.find(index_of(s, p));
            if (it != c.fitness.end()) {
                out.insert(out.end(), it->second.begin(), it->second.end());
            } else {  // beyond the budget: not evaluated, ranks last
                for (double w : c.worst) out.push_back(w + std::abs(w) + 1 + 2 * kFailedPenalty);
            }
        }
        return out;
    }
};

}  // namespace

std::vector<Record> nsga2_search(const SweepSpec& s, const BatchEvaluate& evaluate, const std::function<bool()>& stopped) {
    auto context = std::make_shared<SearchContext>();
    context->sweep = &s;
    context->evaluate = &evaluate;
    context->stopped = &stopped;
    for (const ObjectiveSpec& o : s.objectives) context->worst.push_back(o.minimised(o.reference));
    const pagmo::problem problem{SweepProblem{context}};
    const pagmo::bfe batch{pagmo::member_bfe{}};
    const unsigned seed = static_cast<unsigned>(s.search.seed);
    pagmo::population pop(problem, batch, static_cast<pagmo::population::size_type>(s.search.population), seed);
    // Mutation: one gene per child on average (pagmo's default 0.01 suits long real vectors).
    const double mutation = 1.0 / static_cast<double>(std::max<std::size_t>(1, s.parameters.size()));
    pagmo::nsga2 algorithm(1u, 0.95, 10., mutation, 50., seed);
    algorithm.set_bfe(batch);
    const int64_t budget = std::min(s.search.budget, s.grid_size());
    // Generations until the budget is spent; a bound on them stops a search that keeps proposing
    // points it has seen (a small space nearly exhausted).
    const int64_t max_generations = 20 * (budget / s.search.population + 1);
    for (int64_t g = 0; g < max_generations; ++g) {
        if (static_cast<int64_t>(context->fitness.size()) >= budget || stopped()) break;
        pop = algorithm.evolve(pop);
    }
    return context->records;
}

double hypervolume_of(const std::vector<std::vector<double>>& points, const std::vector<double>& reference) {
    if (points.empty()) return 0;
    if (reference.size() == 1) {  // one objective: the distance from the best point to the reference
        double best = reference[0];
        for (const auto& p : points) best = std::min(best, p.at(0));
        return reference[0] - best;
    }
    const pagmo::hypervolume hv(points, true);
    return hv.compute(reference);
}

}  // namespace lmsim::dse
