#include "dse/dse_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "dse/explore.h"
#include "model/safetensors.h"
#include "report/html_report.h"

namespace lmsim::dse {
namespace {

const char* const kShownResources[] = {"lut", "ff", "dsp", "bram36", "uram"};

double metric(const Record& r, const std::string& name) {
    const auto it = r.metrics.find(name);
    return it == r.metrics.end() ? NAN : it->second;
}


// The records of the final front's fidelity: cycle-level where any point was confirmed.
std::vector<Record> at_fidelity(const std::vector<Record>& records, Fidelity f) {
    std::vector<Record> out;
    for (const Record& r : records)
        if (r.fidelity == f) out.push_back(r);
    return out;
}

Fidelity front_fidelity(const std::vector<Record>& records) {
    for (const Record& r : records)
        if (r.fidelity == Fidelity::Cycle && r.ok) return Fidelity::Cycle;
    return Fidelity::Analytic;
}

std::vector<std::string> param_paths(const SweepSpec& s) {
    std::vector<std::string> p;
    for (const ParameterSpec& x : s.parameters) p.push_back(x.path);
    for (const TieSpec& t : s.ties) p.push_back(t.path);
    return p;
}

}  // namespace

std::vector<double> analytic_errors(const std::vector<Record>& records) {
    std::map<std::string, const Record*> analytic;
    for (const Record& r : records)
        if (r.fidelity == Fidelity::Analytic && r.ok) analytic[r.config_hash] = &r;
    std::vector<double> e;
    for (const Record& r : records) {
        if (r.fidelity != Fidelity::Cycle || !r.ok) continue;
        const auto it = analytic.find(r.config_hash);
        if (it == analytic.end()) continue;
        const double cycle = metric(r, "decode.tokens_per_s"), screen = metric(*it->second, "decode.tokens_per_s");
        if (cycle > 0) e.push_back((screen - cycle) / cycle);
    }
    return e;
}

SweepOutputs sweep_outputs(const SweepSpec& s, const std::vector<Record>& records, const std::string& chart_js) {
    SweepOutputs out;
    const Fidelity ff = front_fidelity(records);
    const std::vector<Record> pool = at_fidelity(records, ff);
    const std::vector<Record> front = pareto_front(s, pool);
    const std::vector<std::string> params = param_paths(s);

    // pareto.csv
    std::string csv = "point,fidelity,config_hash";
    for (const std::string& p : params) csv += "," + csv_field(p);
    csv += ",decode.tokens_per_s,energy.tokens_per_j";
    for (const char* k : kShownResources) csv += fmt::format(",resources.{}.used", k);
    for (const ObjectiveSpec& o : s.objectives) csv += "," + csv_field("objective:" + o.metric);
    csv += ",bound\n";
    for (const Record& r : front) {
        csv += fmt::format("{},{},{}", r.point_index, fidelity_name(r.fidelity), r.config_hash);
        for (const std::string& p : params) csv += "," + csv_field(r.params.contains(p) ? config_value_text(r.params[p]) : "");
        csv += fmt::format(",{:.6g},{:.6g}", metric(r, "decode.tokens_per_s"), metric(r, "energy.tokens_per_j"));
        for (const char* k : kShownResources) csv += fmt::format(",{:.0f}", metric(r, fmt::format("resources.{}.used", k)));
        for (const ObjectiveSpec& o : s.objectives) csv += fmt::format(",{:.6g}", metric(r, o.metric));
        csv += "," + csv_field(r.bound) + "\n";
    }
    out.pareto_csv = csv;

    // summary.md
    int64_t n[2] = {0, 0}, ok[2] = {0, 0}, feasible[2] = {0, 0};
    for (const Record& r : records) {
        const int f = static_cast<int>(r.fidelity);
        ++n[f], ok[f] += r.ok, feasible[f] += r.feasible;
    }
    std::string md = fmt::format("# Sweep {}\n\nbase `{}`, model {}, sweep hash `{}`\n\n", s.file, s.base_config, s.model, s.hash);
    md += "| fidelity | evaluated | ok | feasible |\n|---|---|---|---|\n";
    for (Fidelity f : {Fidelity::Analytic, Fidelity::Cycle})
        md += fmt::format("| {} | {} | {} | {} |\n", fidelity_name(f), n[static_cast<int>(f)], ok[static_cast<int>(f)],
                          feasible[static_cast<int>(f)]);
    md += fmt::format("\nThe front below is at the **{}** level ({} points); hypervolume {:.6g} (objectives minimised, up to the reference point).\n\n",
                      fidelity_name(ff), front.size(), hypervolume(s, pool));
    md += "## Best design per objective\n\n| objective | value | point | parameters | bounded by |\n|---|---|---|---|---|\n";
    for (const ObjectiveSpec& o : s.objectives) {
        const Record* best = nullptr;
        for (const Record& r : pool)
            if (r.feasible && !std::isnan(metric(r, o.metric)) &&
                (!best || o.minimised(metric(r, o.metric)) < o.minimised(metric(*best, o.metric))))
                best = &r;
        if (!best) {
            md += fmt::format("| {} {} | no feasible point | | | |\n", o.maximise ? "max" : "min", o.metric);
            continue;
        }
        md += fmt::format("| {} {} | {:.6g} | {} | `{}` | {} |\n", o.maximise ? "max" : "min", o.metric, metric(*best, o.metric),
                          best->point_index, best->params.dump(), best->bound);
    }
    md += "\n## The front\n\n| point | parameters | tokens/s | tokens/J | LUT | DSP | BRAM36 | bounded by |\n|---|---|---|---|---|---|---|---|\n";
    for (const Record& r : front)
        md += fmt::format("| {} | `{}` | {:.3f} | {:.4f} | {:.0f} | {:.0f} | {:.0f} | {} |\n", r.point_index, r.params.dump(),
                          metric(r, "decode.tokens_per_s"), metric(r, "energy.tokens_per_j"), metric(r, "resources.lut.used"),
                          metric(r, "resources.dsp.used"), metric(r, "resources.bram36.used"), r.bound);
    const std::vector<double> errors = analytic_errors(records);
    if (!errors.empty()) {
        double worst = 0, sum = 0;
        int within3 = 0, within5 = 0;
        for (double e : errors) {
            worst = std::max(worst, std::abs(e));
            sum += std::abs(e);
            within3 += std::abs(e) <= 0.03;
            within5 += std::abs(e) <= 0.05;
        }
        md += fmt::format("\n## The analytic screen against the cycle level\n\ntokens/s on the {} points evaluated at both: mean |error| {:.2f} %, worst {:.2f} %, within 3 %: {}, within 5 %: {}.\n",
                          errors.size(), 100 * sum / errors.size(), 100 * worst, within3, within5);
    }
    std::map<std::string, int> reasons;
    for (const Record& r : records)
        if (!r.ok) ++reasons[r.reason.substr(0, r.reason.find(':', r.reason.find(':') + 1))];
    if (!reasons.empty()) {
        md += "\n## Points that failed\n\n| reason | points |\n|---|---|\n";
        for (const auto& [why, count] : reasons) md += fmt::format("| {} | {} |\n", why, count);
    }
    out.summary_md = md;

    // report.html: every feasible point in grey, the front in colour, marker size by LUTs.
    auto points_js = [&](const std::vector<Record>& rs) {
        std::string js = "[";
        for (const Record& r : rs) {
            if (!r.feasible) continue;
            const double lut = metric(r, "resources.lut.fraction");
            js += fmt::format("{{x:{:.6g},y:{:.6g},r:{:.2f},label:{}}},", metric(r, "decode.tokens_per_s"),
                              metric(r, "energy.tokens_per_j"), 3 + 12 * (std::isnan(lut) ? 0 : std::min(1.0, lut)),
                              nlohmann::json(fmt::format("point {}: {} ({})", r.point_index, r.params.dump(), r.bound)).dump());
        }
        return js + "]";
    };
    std::string html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>lmsim dse " + html_escape(s.file) +
                       "</title><style>body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}"
                       "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}</style>";
    if (!chart_js.empty()) html += "<script>" + chart_js + "</script>";
    html += "</head><body><h1>Design-space exploration</h1>";
    html += fmt::format("<p>Sweep <code>{}</code> on <code>{}</code>, {} &mdash; the front at the {} level, {} points.</p>",
                        html_escape(s.file), html_escape(s.base_config), html_escape(s.model), fidelity_name(ff), front.size());
    if (!chart_js.empty()) {
        html += "<div style=\"height:32em\"><canvas id=\"front\"></canvas></div><script>"
                "new Chart(document.getElementById('front'),{type:'bubble',data:{datasets:["
                "{label:'feasible points',data:" + points_js(pool) + ",backgroundColor:'rgba(150,150,150,0.35)'},"
                "{label:'Pareto front',data:" + points_js(front) + ",backgroundColor:'rgba(220,60,40,0.8)'}]},"
                "options:{maintainAspectRatio:false,animation:false,plugins:{tooltip:{callbacks:{label:(c)=>c.raw.label}}},"
                "scales:{x:{title:{display:true,text:'tokens/s'}},y:{title:{display:true,text:'tokens/J'}}}}});"
                "document.body.setAttribute('data-rendered','charts');</script>"
                "<p>Marker size: the LUT fraction of the platform's budget.</p>";
    } else {
        html += "<p>(Chart.js is not installed: libjs-chart.js; tables only.)</p>";
    }
    html += "<h2>The front</h2><table><tr><th>point</th><th>parameters</th><th>tokens/s</th><th>tokens/J</th><th>LUT</th><th>DSP</th><th>BRAM36</th><th>bounded by</th></tr>";
    for (const Record& r : front)
        html += fmt::format("<tr><td>{}</td><td><code>{}</code></td><td>{:.3f}</td><td>{:.4f}</td><td>{:.0f}</td><td>{:.0f}</td><td>{:.0f}</td><td>{}</td></tr>",
                            r.point_index, html_escape(r.params.dump()), metric(r, "decode.tokens_per_s"), metric(r, "energy.tokens_per_j"),
                            metric(r, "resources.lut.used"), metric(r, "resources.dsp.used"), metric(r, "resources.bram36.used"),
                            html_escape(r.bound));
    html += "</table><h2>Summary</h2><pre>" + html_escape(md) + "</pre></body></html>\n";
    out.report_html = html;
    return out;
}

void write_sweep_outputs(const SweepSpec& s, const std::vector<Record>& records, const std::string& dir) {
    const SweepOutputs o = sweep_outputs(s, records, find_chart_js());
    write_file_atomically(dir + "/pareto.csv", o.pareto_csv);
    write_file_atomically(dir + "/summary.md", o.summary_md);
    write_file_atomically(dir + "/report.html", o.report_html);
}

}  // namespace lmsim::dse
