#include "dse/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "common/error.h"
#include "common/json_fields.h"
#include "dse/metrics.h"

namespace lmsim::dse {

// ---- tie expressions: number | path | ( e ) | e (+|-|*|/) e, usual precedence ----
struct TieExpression {
    enum Kind { Number, Path, Add, Sub, Mul, Div } kind = Number;
    double number = 0;
    std::string path;
    std::shared_ptr<const TieExpression> lhs, rhs;

    double evaluate(const std::map<std::string, double>& values) const {
        switch (kind) {
            case Number: return number;
            case Path: return values.at(path);
            case Add: return lhs->evaluate(values) + rhs->evaluate(values);
            case Sub: return lhs->evaluate(values) - rhs->evaluate(values);
            case Mul: return lhs->evaluate(values) * rhs->evaluate(values);
            case Div: return lhs->evaluate(values) / rhs->evaluate(values);
        }
        return 0;
    }
    void paths(std::set<std::string>& out) const {
        if (kind == Path) out.insert(path);
        if (lhs) lhs->paths(out);
        if (rhs) rhs->paths(out);
    }
};

namespace {

using Expr = std::shared_ptr<const TieExpression>;

class ExpressionParser {
public:
    ExpressionParser(const std::string& text, std::string where) : s_(text), where_(std::move(where)) {}
    Expr parse() {
        Expr e = sum();
        skip();
        if (i_ != s_.size()) fail(fmt::format("unexpected '{}'", s_.substr(i_, 1)));
        return e;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw InputError(fmt::format("{}: \"{}\": {} at character {} (expected numbers, config paths, + - * / and parentheses)",
                                     where_, s_, what, i_ + 1));
    }
    void skip() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    static Expr node(TieExpression::Kind k, Expr a, Expr b) {
        auto e = std::make_shared<TieExpression>();
        e->kind = k, e->lhs = std::move(a), e->rhs = std::move(b);
        return e;
    }
    Expr sum() {
        Expr e = product();
        for (skip(); i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-'); skip()) {
            const char op = s_[i_++];
            e = node(op == '+' ? TieExpression::Add : TieExpression::Sub, e, product());
        }
        return e;
    }
    Expr product() {
        Expr e = atom();
        for (skip(); i_ < s_.size() && (s_[i_] == '*' || s_[i_] == '/'); skip()) {
            const char op = s_[i_++];
            e = node(op == '*' ? TieExpression::Mul : TieExpression::Div, e, atom());
        }
        return e;
    }
    Expr atom() {
        skip();
        if (i_ >= s_.size()) fail("expression ends early");
        auto e = std::make_shared<TieExpression>();
        const char c = s_[i_];
        if (c == '(') {
            ++i_;
            Expr inner = sum();
            skip();
            if (i_ >= s_.size() || s_[i_] != ')') fail("missing ')'");
            ++i_;
            return inner;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
            std::size_t used = 0;
            try {
                e->number = std::stod(s_.substr(i_), &used);
            } catch (const std::exception&) {
                fail("not a number");
            }
            if (!std::isfinite(e->number)) fail("not a finite number");
            i_ += used;
            return e;
        }
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            const std::size_t start = i_;
            while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == '.')) ++i_;
            e->kind = TieExpression::Path;
            e->path = s_.substr(start, i_ - start);
            return e;
        }
        fail(fmt::format("unexpected '{}'", std::string(1, c)));
    }
    const std::string& s_;
    std::string where_;
    std::size_t i_ = 0;
};

// The base document's leaf paths (dotted), for "did you mean".
void leaf_paths(const nlohmann::json& j, const std::string& prefix, std::vector<std::string>& out) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "sources" || it.key() == "description") continue;
        const std::string p = prefix.empty() ? it.key() : prefix + "." + it.key();
        if (it->is_object()) leaf_paths(*it, p, out);
        else out.push_back(p);
    }
}

const nlohmann::json* find_path(const nlohmann::json& doc, const std::string& dotted) {
    const nlohmann::json* node = &doc;
    std::size_t pos = 0;
    while (true) {
        const std::size_t dot = dotted.find('.', pos);
        const std::string key = dotted.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        if (!node->is_object() || !node->contains(key)) return nullptr;
        node = &(*node)[key];
        if (dot == std::string::npos) return node;
        pos = dot + 1;
    }
}

// A parameter path must name a value the config reader knows: setting it (to its first value) on
// the base config must not be refused as an unknown key. Other refusals (the value does not fit
// the rest of the design) are the point's, not the sweep's.
void require_config_path(const MergedConfig& base, const std::string& path, const nlohmann::json& value,
                         const std::string& where) {
    std::string problem;
    try {
        MergedConfig probe = base;
        apply_config_override(probe, path + "=" + config_value_text(value));
        (void)read_hardware_config(std::move(probe));
    } catch (const InputError& e) {
        const std::string what = e.what();
        if (what.find("unknown key") != std::string::npos || what.find("is not an object") != std::string::npos) problem = what;
    }
    if (problem.empty()) return;
    std::vector<std::string> paths;
    leaf_paths(base.document, "", paths);
    std::string nearest;
    std::size_t best = std::string::npos;
    for (const std::string& p : paths) {
        const std::size_t d = edit_distance(path, p);
        if (d < best) best = d, nearest = p;
    }
    throw InputError(fmt::format("{}: '{}' is not a path of the base config {}{} ({})", where, path, base.file,
                                 nearest.empty() ? "" : fmt::format("; the nearest valid path is '{}'", nearest), problem));
}

std::vector<nlohmann::json> parse_domain(const nlohmann::json& d, const std::string& where) {
    std::vector<nlohmann::json> values;
    if (!d.is_object()) throw InputError(where + ": expected an object {\"values\": [...]}, {\"range\": [lo, hi], \"step\": s} or {\"log_range\": [lo, hi], \"factor\": f}");
    const int forms = d.contains("values") + d.contains("range") + d.contains("log_range");
    if (forms != 1) throw InputError(where + ": expected exactly one of \"values\", \"range\", \"log_range\"");
    for (auto it = d.begin(); it != d.end(); ++it) {
        const bool known = it.key() == "values" || it.key() == "range" || it.key() == "log_range" ||
                           (it.key() == "step" && d.contains("range")) || (it.key() == "factor" && d.contains("log_range"));
        if (!known)
            throw InputError(fmt::format("{}/{}: unexpected key (expected values, range + step, or log_range + factor)", where, it.key()));
    }
    auto pair = [&](const char* key) {
        const nlohmann::json& r = d[key];
        if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number())
            throw InputError(fmt::format("{}/{}: expected [lo, hi] (two numbers)", where, key));
        return std::make_pair(r[0], r[1]);
    };
    if (d.contains("values")) {
        if (!d["values"].is_array() || d["values"].empty())
            throw InputError(where + "/values: expected a non-empty array of values");
        for (const auto& v : d["values"]) {
            if (std::find(values.begin(), values.end(), v) != values.end())
                throw InputError(fmt::format("{}/values: {} is listed twice", where, v.dump()));
            values.push_back(v);
        }
    } else if (d.contains("range")) {
        const auto [lo, hi] = pair("range");
        const nlohmann::json step = d.value("step", nlohmann::json(1));
        if (!step.is_number() || !(step.get<double>() > 0)) throw InputError(where + "/step: expected a number > 0");
        const bool integral = lo.is_number_integer() && hi.is_number_integer() && step.is_number_integer();
        const double a = lo.get<double>(), b = hi.get<double>(), s = step.get<double>();
        for (int64_t k = 0; a + k * s <= b + 1e-9 * std::abs(s); ++k) {
            if (k > 1000000) throw InputError(where + ": more than a million values");
            if (integral) values.emplace_back(lo.get<int64_t>() + k * step.get<int64_t>());
            else values.emplace_back(a + k * s);
        }
    } else {
        const auto [lo, hi] = pair("log_range");
        const nlohmann::json factor = d.value("factor", nlohmann::json(2));
        if (!factor.is_number() || !(factor.get<double>() > 1)) throw InputError(where + "/factor: expected a number > 1");
        if (!(lo.get<double>() > 0)) throw InputError(where + "/log_range: lo must be > 0");
        const bool integral = lo.is_number_integer() && factor.is_number_integer();
        double v = lo.get<double>();
        for (int k = 0; v <= hi.get<double>() * (1 + 1e-12); ++k, v *= factor.get<double>()) {
            if (integral) values.emplace_back(static_cast<int64_t>(std::llround(v)));
            else values.emplace_back(v);
        }
    }
    if (values.empty()) throw InputError(where + ": the range is empty (lo > hi)");
    return values;
}

ConstraintSpec parse_constraint(const std::string& text, const std::string& where) {
    static const std::vector<std::pair<std::string, Comparison>> ops = {
        {"<=", Comparison::Le}, {">=", Comparison::Ge}, {"==", Comparison::Eq}, {"<", Comparison::Lt}, {">", Comparison::Gt}};
    for (const auto& [sym, op] : ops) {
        const std::size_t at = text.find(sym);
        if (at == std::string::npos) continue;
        auto trim = [](std::string s) {
            s.erase(0, s.find_first_not_of(" \t"));
            s.erase(s.find_last_not_of(" \t") + 1);
            return s;
        };
        ConstraintSpec c;
        c.metric = trim(text.substr(0, at));
        c.op = op;
        c.text = text;
        const std::string rhs = trim(text.substr(at + sym.size()));
        std::size_t used = 0;
        try {
            c.bound = std::stod(rhs, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != rhs.size())
            throw InputError(fmt::format("{}: \"{}\": expected a number after '{}'", where, text, sym));
        std::string nearest;
        if (!is_known_metric(c.metric, &nearest))
            throw InputError(fmt::format("{}: \"{}\": unknown metric '{}' (did you mean '{}'? docs/dse.md lists them)", where, text, c.metric, nearest));
        return c;
    }
    throw InputError(fmt::format("{}: \"{}\": expected 'metric <= number' (or >=, <, >, ==)", where, text));
}

}  // namespace

bool ConstraintSpec::satisfied_by(double v) const {
    switch (op) {
        case Comparison::Le: return v <= bound;
        case Comparison::Lt: return v < bound;
        case Comparison::Ge: return v >= bound;
        case Comparison::Gt: return v > bound;
        case Comparison::Eq: return v == bound;
    }
    return false;
}

std::string config_value_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string fidelity_name(Fidelity f) { return f == Fidelity::Analytic ? "analytic" : "cycle"; }

int64_t SweepSpec::grid_size() const {
    int64_t n = 1;
    for (const ParameterSpec& p : parameters) {
        const int64_t k = static_cast<int64_t>(p.values.size());
        if (n > std::numeric_limits<int64_t>::max() / k) return std::numeric_limits<int64_t>::max();
        n *= k;
    }
    return n;
}

std::string fnv1a_hex(const std::string& text) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
    return fmt::format("{:016x}", h);
}

SweepSpec load_sweep(const std::string& path) {
    SweepSpec s;
    s.file = path;
    const nlohmann::json doc = JsonObject::parse_file(path);
    if (!doc.is_object()) throw InputError(path + ": expected a JSON object at the top level");
    const JsonObject top(doc, path, "");
    top.require_known_keys({"description", "base", "model", "tokens", "set", "parameters", "ties", "constraints",
                            "objectives", "search", "confirm"});
    // The base config: a bundled name, or a path relative to the sweep file.
    std::string base = top.get_string("base");
    if (base.find('/') != std::string::npos && base[0] != '/') {
        const std::size_t slash = path.find_last_of('/');
        base = (slash == std::string::npos ? std::string(".") : path.substr(0, slash)) + "/" + base;
    }
    try {
        s.base_config = find_config(base);
    } catch (const InputError& e) {
        throw InputError(fmt::format("{}: /base: {}", path, e.what()));
    }
    s.model = top.get_string_or("model", s.model);
    s.tokens = static_cast<int>(top.get_int_or("tokens", 1, 1, 1024));
    if (doc.contains("set")) {
        if (!doc["set"].is_array()) throw InputError(path + ": /set: expected an array of \"path=value\" strings");
        for (const auto& v : doc["set"]) {
            if (!v.is_string()) throw InputError(path + ": /set: expected an array of \"path=value\" strings");
            s.fixed_sets.push_back(v.get<std::string>());
        }
    }
    MergedConfig merged;
    try {
        merged = merge_hardware_config(s.base_config, s.fixed_sets);
        (void)read_hardware_config(merged);
    } catch (const InputError& e) {
        throw InputError(fmt::format("{}: the base config with /set does not load: {}", path, e.what()));
    }

    // Parameters.
    if (!doc.contains("parameters") || !doc["parameters"].is_object() || doc["parameters"].empty())
        throw InputError(path + ": /parameters: expected an object {\"config.path\": domain, ...} with at least one parameter");
    std::set<std::string> chosen;  // config paths the choices set
    std::map<std::string, std::string> chooser;  // ... and the choice parameter that sets each
    for (auto it = doc["parameters"].begin(); it != doc["parameters"].end(); ++it) {
        const std::string where = fmt::format("{}: /parameters/{}", path, it.key());
        if (it->is_object() && it->contains("choices")) {
            // A named alternative per value, each a list of "path=value" overrides.
            const nlohmann::json& c = (*it)["choices"];
            if (it->size() != 1 || !c.is_object() || c.empty())
                throw InputError(where + ": expected {\"choices\": {\"name\": [\"path=value\", ...], ...}}");
            ParameterSpec p;
            p.path = it.key();
            for (auto ch = c.begin(); ch != c.end(); ++ch) {
                const std::string cw = fmt::format("{}/choices/{}", where, ch.key());
                if (!ch->is_array() || ch->empty()) throw InputError(cw + ": expected a non-empty array of \"path=value\" strings");
                std::vector<std::string> sets;
                for (const auto& v : *ch) {
                    if (!v.is_string() || v.get<std::string>().find('=') == std::string::npos)
                        throw InputError(cw + ": expected \"path=value\" strings");
                    const std::string text = v.get<std::string>();
                    const std::string cpath = text.substr(0, text.find('='));
                    std::string value = text.substr(text.find('=') + 1);
                    nlohmann::json parsed;
                    try {
                        parsed = nlohmann::json::parse(value);
                    } catch (const nlohmann::json::exception&) {
                        parsed = value;
                    }
                    require_config_path(merged, cpath, parsed, cw);
                    const auto owner = chooser.find(cpath);
                    if (owner != chooser.end() && owner->second != it.key())
                        throw InputError(fmt::format("{}: '{}' is also set by the choice parameter '{}'", cw, cpath, owner->second));
                    chooser[cpath] = it.key();
                    chosen.insert(cpath);
                    sets.push_back(text);
                }
                p.values.emplace_back(ch.key());
                p.choice_sets.push_back(std::move(sets));
            }
            s.parameters.push_back(std::move(p));
            continue;
        }
        ParameterSpec p{it.key(), parse_domain(*it, where), {}};
        require_config_path(merged, p.path, p.values.front(), where);
        s.parameters.push_back(std::move(p));
    }
    std::set<std::string> varied;
    for (const ParameterSpec& p : s.parameters) varied.insert(p.path);
    for (const std::string& c : chosen)
        if (varied.count(c))
            throw InputError(fmt::format("{}: /parameters: '{}' is both a parameter and set by a choice", path, c));

    // Ties, ordered so that each comes after the ties it reads.
    std::map<std::string, TieSpec> ties;
    if (doc.contains("ties")) {
        if (!doc["ties"].is_object()) throw InputError(path + ": /ties: expected an object {\"config.path\": \"expression\"}");
        for (auto it = doc["ties"].begin(); it != doc["ties"].end(); ++it) {
            const std::string where = fmt::format("{}: /ties/{}", path, it.key());
            if (!it->is_string()) throw InputError(where + ": expected an expression (string)");
            if (varied.count(it.key()) || chosen.count(it.key()))
                throw InputError(where + ": the path is both varied (/parameters) and tied; a tied path follows the others");
            TieSpec t{it.key(), it->get<std::string>(), ExpressionParser(it->get<std::string>(), where).parse()};
            ties.emplace(t.path, t);
        }
        for (const auto& [tpath, t] : ties) {
            const std::string where = fmt::format("{}: /ties/{}", path, tpath);
            std::set<std::string> refs;
            t.expression->paths(refs);
            for (const std::string& r : refs) {
                if (chosen.count(r))
                    throw InputError(fmt::format("{}: reads '{}', which a choice sets; a tie reads parameters, ties and base values only", where, r));
                if (varied.count(r) || ties.count(r)) continue;
                const nlohmann::json* v = find_path(merged.document, r);
                if (!v || !v->is_number())
                    throw InputError(fmt::format("{}: '{}' is neither a varied parameter, a tie, nor a number of the base config", where, r));
            }
            for (const std::string& r : refs)
                if (varied.count(r)) {
                    const auto& values = std::find_if(s.parameters.begin(), s.parameters.end(),
                                                      [&](const ParameterSpec& p) { return p.path == r; })->values;
                    for (const auto& v : values)
                        if (!v.is_number())
                            throw InputError(fmt::format("{}: reads '{}', whose value {} is not a number", where, r, v.dump()));
                }
        }
        std::set<std::string> placed;
        while (placed.size() < ties.size()) {
            bool progress = false;
            for (const auto& [tpath, t] : ties) {
                if (placed.count(tpath)) continue;
                std::set<std::string> refs;
                t.expression->paths(refs);
                if (std::all_of(refs.begin(), refs.end(), [&](const std::string& r) { return !ties.count(r) || placed.count(r); })) {
                    s.ties.push_back(t);
                    placed.insert(tpath);
                    progress = true;
                }
            }
            if (!progress) {
                std::string cycle;
                for (const auto& [tpath, t] : ties)
                    if (!placed.count(tpath)) cycle += (cycle.empty() ? "" : ", ") + tpath;
                throw InputError(fmt::format("{}: /ties: the ties {} read each other in a cycle", path, cycle));
            }
        }
        for (const auto& [tpath, t] : ties) {
            std::set<std::string> refs;
            t.expression->paths(refs);
            for (const std::string& r : refs)
                if (!varied.count(r) && !ties.count(r)) s.base_numbers[r] = find_path(merged.document, r)->get<double>();
            const nlohmann::json* old = find_path(merged.document, tpath);
            if (old && old->is_number_integer()) s.integer_ties.push_back(tpath);
        }
        // Each tied path must be a config path too (checked with its value at the first point).
        // (A tie that cannot be computed at the first point fails that point, not the sweep: the
        // path is then checked with a placeholder value.)
        nlohmann::json first;
        try {
            (void)point_sets(s, Point(s.parameters.size(), 0), &first);
        } catch (const InputError&) {
            first = nlohmann::json::object();
        }
        for (const TieSpec& t : s.ties)
            require_config_path(merged, t.path, first.contains(t.path) ? first[t.path] : nlohmann::json(1),
                                fmt::format("{}: /ties/{}", path, t.path));
    }

    // Constraints and objectives.
    if (doc.contains("constraints")) {
        if (!doc["constraints"].is_array()) throw InputError(path + ": /constraints: expected an array of \"metric <= number\" strings");
        for (std::size_t i = 0; i < doc["constraints"].size(); ++i) {
            const std::string where = fmt::format("{}: /constraints/{}", path, i);
            if (!doc["constraints"][i].is_string()) throw InputError(where + ": expected \"metric <= number\"");
            s.constraints.push_back(parse_constraint(doc["constraints"][i].get<std::string>(), where));
        }
    }
    const HardwareConfig base_hw = read_hardware_config(merged);
    nlohmann::json objectives = doc.value("objectives", nlohmann::json::array(
        {{{"maximise", "decode.tokens_per_s"}}, {{"maximise", "energy.tokens_per_j"}}}));
    if (!objectives.is_array() || objectives.empty())
        throw InputError(path + ": /objectives: expected a non-empty array of {\"maximise\" | \"minimise\": metric}");
    for (std::size_t i = 0; i < objectives.size(); ++i) {
        const std::string where = fmt::format("{}: /objectives/{}", path, i);
        const nlohmann::json& o = objectives[i];
        if (!o.is_object() || (o.contains("maximise") == o.contains("minimise")))
            throw InputError(where + ": expected {\"maximise\": metric} or {\"minimise\": metric} (and an optional \"reference\")");
        for (auto it = o.begin(); it != o.end(); ++it)
            if (it.key() != "maximise" && it.key() != "minimise" && it.key() != "reference")
                throw InputError(fmt::format("{}/{}: unknown key (expected maximise | minimise, reference)", where, it.key()));
        ObjectiveSpec obj;
        obj.maximise = o.contains("maximise");
        const nlohmann::json& m = o[obj.maximise ? "maximise" : "minimise"];
        if (!m.is_string()) throw InputError(where + ": expected the metric's name (string)");
        obj.metric = m.get<std::string>();
        std::string nearest;
        if (!is_known_metric(obj.metric, &nearest))
            throw InputError(fmt::format("{}: unknown metric '{}' (did you mean '{}'?)", where, obj.metric, nearest));
        if (o.contains("reference")) {
            if (!o["reference"].is_number()) throw InputError(where + "/reference: expected a number");
            obj.reference = o["reference"].get<double>();
        } else if (obj.maximise) {
            obj.reference = 0;
        } else {
            // Minimised resources: the platform's budget is the worst value that still counts.
            const std::string prefix = "resources.", suffix = ".used";
            const bool resource = obj.metric.rfind(prefix, 0) == 0 && obj.metric.size() > prefix.size() + suffix.size() &&
                                  obj.metric.compare(obj.metric.size() - suffix.size(), suffix.size(), suffix) == 0;
            if (!resource) throw InputError(where + ": a minimised metric other than a resource needs a \"reference\" (its worst value that counts, for the hypervolume)");
            obj.reference = base_hw.platform.total().get(obj.metric.substr(prefix.size(), obj.metric.size() - prefix.size() - suffix.size()));
        }
        s.objectives.push_back(obj);
    }

    // Search.
    if (doc.contains("search")) {
        const JsonObject search = top.get_object("search");
        search.require_known_keys({"method", "budget", "seed", "population"});
        const std::string method = search.get_enum_or("method", "grid", {"grid", "random", "nsga2"});
        s.search.method = method == "grid" ? SearchMethod::Grid : method == "random" ? SearchMethod::Random : SearchMethod::Nsga2;
        s.search.budget = search.get_int_or("budget", 0, 0, 100000000);
        s.search.seed = static_cast<uint64_t>(search.get_int_or("seed", 1, 0, std::numeric_limits<int32_t>::max()));
        s.search.population = static_cast<int>(search.get_int_or("population", 24, 8, 4096));
        if (s.search.method != SearchMethod::Grid && s.search.budget == 0)
            throw InputError(fmt::format("{}: /search/budget: {} needs a budget (distinct points to evaluate, > 0)", path, method));
        if (s.search.method == SearchMethod::Nsga2 && s.objectives.size() < 2)
            throw InputError(fmt::format("{}: /search/method: nsga2 is a multi-objective search; name two or more /objectives (or use random)", path));
        if (s.search.method == SearchMethod::Nsga2 && s.search.population % 4 != 0)
            throw InputError(fmt::format("{}: /search/population: {} is not a multiple of 4 (pagmo's NSGA-II)", path, s.search.population));
    }
    if (s.search.method == SearchMethod::Grid && s.grid_size() > 100000000)
        throw InputError(fmt::format("{}: /parameters: the grid has {} points; use \"search\": {{\"method\": \"random\" or \"nsga2\", \"budget\": N}}",
                                     path, s.grid_size()));
    if (doc.contains("confirm")) {
        const JsonObject confirm = top.get_object("confirm");
        confirm.require_known_keys({"margin"});
        s.confirm_margin = confirm.get_number_or("margin", s.confirm_margin, 0, 1);
    }

    // The sweep's meaning, for resume and merge.
    nlohmann::json meaning = {{"base", merged.document}, {"model", s.model}, {"tokens", s.tokens}};
    for (const ParameterSpec& p : s.parameters) {
        meaning["parameters"][p.path] = p.values;
        if (!p.choice_sets.empty()) meaning["choices"][p.path] = p.choice_sets;
    }
    for (const TieSpec& t : s.ties) meaning["ties"][t.path] = t.text;
    for (const ConstraintSpec& c : s.constraints) meaning["constraints"].push_back(c.text);
    for (const ObjectiveSpec& o : s.objectives) meaning["objectives"].push_back({o.maximise, o.metric, o.reference});
    meaning["search"] = {static_cast<int>(s.search.method), s.search.budget, s.search.seed, s.search.population};
    meaning["confirm_margin"] = s.confirm_margin;
    s.hash = fnv1a_hex(meaning.dump());
    return s;
}

std::vector<std::string> point_sets(const SweepSpec& s, const Point& p, nlohmann::json* values) {
    std::vector<std::string> sets = s.fixed_sets;
    nlohmann::json shown = nlohmann::json::object();
    std::map<std::string, double> numbers;
    for (std::size_t i = 0; i < s.parameters.size(); ++i) {
        const nlohmann::json& v = s.parameters[i].values.at(static_cast<std::size_t>(p.at(i)));
        if (!s.parameters[i].choice_sets.empty()) {
            const auto& chosen = s.parameters[i].choice_sets.at(static_cast<std::size_t>(p.at(i)));
            sets.insert(sets.end(), chosen.begin(), chosen.end());
            shown[s.parameters[i].path] = v;
            continue;
        }
        sets.push_back(s.parameters[i].path + "=" + config_value_text(v));
        shown[s.parameters[i].path] = v;
        if (v.is_number()) numbers[s.parameters[i].path] = v.get<double>();
    }
    if (!s.ties.empty()) {
        for (const auto& [path, v] : s.base_numbers) numbers.emplace(path, v);
        for (const TieSpec& t : s.ties) {
            const double v = t.expression->evaluate(numbers);
            if (!std::isfinite(v)) throw InputError(fmt::format("tie {} = {} is not finite at this point", t.path, t.text));
            const bool integer_path = std::find(s.integer_ties.begin(), s.integer_ties.end(), t.path) != s.integer_ties.end();
            const bool integral = std::abs(v - std::round(v)) < 1e-9;
            if (integer_path && !integral)
                throw InputError(fmt::format("tie {} = {} gives {} at this point; an integer is expected", t.path, t.text, v));
            const nlohmann::json value = integral ? nlohmann::json(static_cast<int64_t>(std::llround(v))) : nlohmann::json(v);
            numbers[t.path] = v;
            shown[t.path] = value;
            sets.push_back(t.path + "=" + value.dump());
        }
    }
    if (values) *values = shown;
    return sets;
}

Point point_at(const SweepSpec& s, int64_t index) {
    Point p(s.parameters.size());
    for (std::size_t i = s.parameters.size(); i-- > 0;) {
        const int64_t k = static_cast<int64_t>(s.parameters[i].values.size());
        p[i] = static_cast<int>(index % k);
        index /= k;
    }
    return p;
}

int64_t index_of(const SweepSpec& s, const Point& p) {
    int64_t index = 0;
    for (std::size_t i = 0; i < s.parameters.size(); ++i)
        index = index * static_cast<int64_t>(s.parameters[i].values.size()) + p[i];
    return index;
}

std::vector<Point> enumerate_points(const SweepSpec& s, int shard, int shards) {
    std::vector<int64_t> indices;
    const int64_t n = s.grid_size();
    if (s.search.method == SearchMethod::Grid || s.search.budget >= n) {
        for (int64_t i = 0; i < n; ++i) indices.push_back(i);
    } else {
        // Seeded sampling without replacement, in draw order.
        std::mt19937_64 rng(s.search.seed);
        std::uniform_int_distribution<int64_t> draw(0, n - 1);
        std::set<int64_t> seen;
        while (static_cast<int64_t>(indices.size()) < s.search.budget) {
            const int64_t i = draw(rng);
            if (seen.insert(i).second) indices.push_back(i);
        }
    }
    std::vector<Point> points;
    for (std::size_t k = 0; k < indices.size(); ++k)
        if (static_cast<int>(k % static_cast<std::size_t>(shards)) == shard - 1) points.push_back(point_at(s, indices[k]));
    return points;
}

}  // namespace lmsim::dse
