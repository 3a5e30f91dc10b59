#include "report/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <vector>

namespace lmsim {
namespace {

using nlohmann::json;

// Debian's libjs-chart.js (3.x) installs its UMD build here.
const char* const kChartJsPaths[] = {"/usr/share/javascript/chart.js/chart.min.js", "/usr/share/javascript/chart.js/chart.js",
                                     "/usr/share/javascript/chart.js/chart.umd.js"};


double num(const json& j, const char* key, double fallback = 0) {
    return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

struct Headline {
    std::string label, value;
};

std::vector<Headline> headlines(const json& r) {
    const json& d = r["decode"];
    std::vector<Headline> h = {
        {"design", r["config"]["design"].get<std::string>() + " on " + r["config"]["platform"].get<std::string>()},
        {"model", r["model"]["name"].get<std::string>()},
        {"clock", fmt::format("{} MHz", num(r["config"], "clock_mhz"))},
        {"tokens per second", fmt::format("{:.3f} ({:.3f} with the host's share)", num(d, "tokens_per_s"), num(d["host"], "tokens_per_s"))},
        {"cycles per layer", fmt::format("{:.0f}", num(d, "cycles_per_layer"))},
        {"MMU utilisation", fmt::format("{:.1f} %", 100 * num(r, "mmu_utilization"))},
        {"memory", fmt::format("{:.2f} of {:.2f} GB/s", num(r["memory"], "achieved_gbps"), num(r["memory"], "peak_gbps"))},
    };
    if (r.contains("energy"))
        h.push_back({"energy", fmt::format("{:.4f} J/token, {:.3f} tokens/J, {:.3f} W", num(r["energy"], "j_per_token"),
                                           num(r["energy"], "tokens_per_j"), num(r["energy"]["power_w"], "total"))});
    return h;
}

// Per unit: busy, stalled on input, stalled on output, idle (cycles).
struct UnitRow {
    std::string name;
    double busy, stall_in, stall_out, idle;
};
std::vector<UnitRow> unit_rows(const json& r) {
    std::vector<UnitRow> v;
    for (const auto& [name, u] : r["units"].items())
        v.push_back({name, num(u, "busy_cycles"), num(u, "stall_in_cycles"), num(u, "stall_out_cycles"), num(u, "idle_cycles")});
    return v;
}

struct FifoRow {
    std::string name, producer, consumer;
    double depth, capacity, tokens, max_occupancy;
};
std::vector<FifoRow> fifo_rows(const json& r) {
    std::vector<FifoRow> v;
    for (const auto& [name, f] : r["fifos"].items())
        v.push_back({name, f["producer"], f["consumer"], num(f, "depth"), num(f, "capacity_with_producer_pipeline"), num(f, "tokens"),
                     num(f, "max_occupancy")});
    return v;
}

// The roofline of the MMU: compute bound (MACs per cycle x clock), memory bound (peak bandwidth
// x operational intensity) and the run's point (its MACs per token x tokens per second).
struct Roofline {
    double peak_macs_per_s = 0, peak_bytes_per_s = 0, intensity = 0, achieved_macs_per_s = 0;
};
Roofline roofline(const json& r) {
    Roofline f;
    const json& mmu = r["config"]["document"]["design"]["mmu"];
    const double clock_hz = num(r["config"], "clock_mhz") * 1e6;
    f.peak_macs_per_s = num(mmu, "input_lanes") * num(mmu, "output_lanes") * clock_hz;
    f.peak_bytes_per_s = num(r["memory"], "peak_gbps") * 1e9;
    const double tokens = std::max(1.0, num(r["workload"], "simulated_tokens", 1));
    double macs = 0;
    if (r.contains("energy") && r["energy"]["actions"].contains("GEMM"))
        for (const auto& [action, a] : r["energy"]["actions"]["GEMM"].items()) macs += num(a, "count");
    macs /= tokens;
    const double bytes = (num(r["memory"], "bytes_read") + num(r["memory"], "bytes_written")) / tokens;
    f.intensity = bytes > 0 ? macs / bytes : 0;
    f.achieved_macs_per_s = macs * num(r["decode"], "tokens_per_s");
    return f;
}

}  // namespace

std::string html_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        switch (c) {
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '&': o += "&amp;"; break;
            case '"': o += "&quot;"; break;
            default: o += c;
        }
    }
    return o;
}

// RFC 4180: a field with a comma, quote or newline is quoted, its quotes doubled.
std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string find_chart_js() {
    for (const char* p : kChartJsPaths) {
        std::ifstream f(p);
        if (f) return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    }
    return "";
}

std::map<std::string, std::string> report_tables_csv(const json& r) {
    std::map<std::string, std::string> t;
    std::string layers = "layer,cycles\n";
    int i = 0;
    for (const auto& c : r["per_layer_cycles"]) layers += fmt::format("{},{}\n", i++, c.get<double>());
    t["per_layer.csv"] = layers;
    std::string fifos = "fifo,producer,consumer,depth,capacity,tokens,max_occupancy\n";
    for (const FifoRow& f : fifo_rows(r))
        fifos += fmt::format("{},{},{},{},{},{},{}\n", f.name, f.producer, f.consumer, f.depth, f.capacity, f.tokens, f.max_occupancy);
    t["fifos.csv"] = fifos;
    if (r.contains("energy")) {
        std::string e = "unit,action,count,pj_each,j_per_token\n";
        const double tokens = std::max(1.0, num(r["energy"], "counts_over_tokens", 1));
        for (const auto& [unit, actions] : r["energy"]["actions"].items())
            for (const auto& [action, a] : actions.items())
                e += fmt::format("{},{},{},{},{}\n", unit, csv_field(action), num(a, "count"), num(a, "pj_each"),
                                 num(a, "count") * num(a, "pj_each") / 1e12 / tokens);
        e += fmt::format("STATIC,static power,,,{}\n", num(r["energy"]["breakdown_j"], "STATIC"));
        t["energy.csv"] = e;
    }
    return t;
}

std::string report_markdown(const json& r) {
    std::string md = "# lmsim run report\n\n| | |\n|---|---|\n";
    for (const Headline& h : headlines(r)) md += fmt::format("| {} | {} |\n", h.label, h.value);
    md += "\n## Units (cycles)\n\n| unit | busy | stall in | stall out | idle | timing |\n|---|---|---|---|---|---|\n";
    for (const UnitRow& u : unit_rows(r)) {
        const json& uj = r["units"][u.name];
        md += fmt::format("| {} | {:.0f} | {:.0f} | {:.0f} | {:.0f} | {} |\n", u.name, u.busy, u.stall_in, u.stall_out, u.idle,
                          uj.contains("timing_extrapolated") ? "extrapolated: " + uj["timing_extrapolated"].get<std::string>()
                                                             : "published");
    }
    md += "\n## FIFOs\n\n| FIFO | producer → consumer | depth | capacity | tokens | max held |\n|---|---|---|---|---|---|\n";
    for (const FifoRow& f : fifo_rows(r))
        md += fmt::format("| {} | {} → {} | {:.0f} | {:.0f} | {:.0f} | {:.0f} |\n", f.name, f.producer, f.consumer, f.depth,
                          f.capacity, f.tokens, f.max_occupancy);
    if (r.contains("energy")) {
        md += "\n## Energy per token (J)\n\n| unit | J |\n|---|---|\n";
        for (const auto& [unit, j] : r["energy"]["breakdown_j"].items()) md += fmt::format("| {} | {:.6f} |\n", unit, j.get<double>());
    }
    const Roofline f = roofline(r);
    md += fmt::format("\n## Roofline (MMU)\n\nintensity {:.3f} MAC/byte; achieved {:.3g} MAC/s; compute bound {:.3g} MAC/s; "
                      "memory bound at this intensity {:.3g} MAC/s\n",
                      f.intensity, f.achieved_macs_per_s, f.peak_macs_per_s, f.peak_bytes_per_s * f.intensity);
    md += "\nTables as CSV: per_layer.csv, units.csv, fifos.csv, energy.csv.\n";
    return md;
}

std::string report_html(const json& r, const std::string& chart_js) {
    // The data the charts draw, as one JSON object in the page.
    json data;
    data["layers"] = r["per_layer_cycles"];
    json units = json::array();
    for (const UnitRow& u : unit_rows(r)) units.push_back({u.name, u.busy, u.stall_in, u.stall_out, u.idle});
    data["units"] = units;
    json fifos = json::array();
    for (const FifoRow& f : fifo_rows(r)) fifos.push_back({f.name, f.max_occupancy, f.capacity});
    data["fifos"] = fifos;
    // Per FIFO, the share of the run's cycles at each occupancy (report.json's occupancy_cycles),
    // in at most kHistogramBins bins of equal width; the page shows one FIFO at a time, first the
    // one that came closest to full.
    constexpr std::size_t kHistogramBins = 48;
    json histograms = json::object();
    std::string fullest;
    double fullest_share = -1;
    for (const auto& [name, f] : r["fifos"].items()) {
        if (!f.contains("occupancy_cycles")) continue;
        const auto counts = f["occupancy_cycles"].get<std::vector<double>>();
        double total = 0;
        for (double c : counts) total += c;
        if (counts.empty() || total <= 0) continue;
        const std::size_t width = (counts.size() + kHistogramBins - 1) / kHistogramBins;
        json bins = json::array();
        for (std::size_t lo = 0; lo < counts.size(); lo += width) {
            const std::size_t hi = std::min(counts.size(), lo + width);
            double c = 0;
            for (std::size_t k = lo; k < hi; ++k) c += counts[k];
            bins.push_back({width == 1 ? std::to_string(lo) : fmt::format("{}-{}", lo, hi - 1), c / total});
        }
        histograms[name] = bins;
        const double share = num(f, "max_occupancy") / std::max(1.0, num(f, "capacity_with_producer_pipeline"));
        if (share > fullest_share) fullest_share = share, fullest = name;
    }
    data["fifo_histograms"] = histograms;
    data["fifo_histogram_first"] = fullest;
    // Memory bandwidth per layer: the layer's bytes (the producer moves the same per layer) over
    // its cycles.
    const double layers = std::max<double>(1.0, static_cast<double>(r["per_layer_cycles"].size()));
    const double tokens = std::max(1.0, num(r["workload"], "simulated_tokens", 1));
    const double bytes_per_layer = (num(r["memory"], "bytes_read") + num(r["memory"], "bytes_written")) / tokens / layers;
    const double clock_hz = num(r["config"], "clock_mhz") * 1e6;
    json bw = json::array();
    for (const auto& c : r["per_layer_cycles"]) bw.push_back(c.get<double>() > 0 ? bytes_per_layer / (c.get<double>() / clock_hz) / 1e9 : 0);
    data["bandwidth_gbps"] = bw;
    if (r["memory"].contains("bandwidth_timeline")) {
        const json& t = r["memory"]["bandwidth_timeline"];
        data["timeline_gbps"] = t["gbps"];
        data["timeline_window_us"] = num(t, "window_cycles") / clock_hz * 1e6;
    } else {
        data["timeline_gbps"] = json::array();
        data["timeline_window_us"] = 0;
    }
    data["peak_gbps"] = num(r["memory"], "peak_gbps");
    const Roofline f = roofline(r);
    data["roofline"] = {{"peak_macs", f.peak_macs_per_s}, {"peak_bytes", f.peak_bytes_per_s}, {"intensity", f.intensity},
                        {"achieved", f.achieved_macs_per_s}};
    json energy = json::array();
    if (r.contains("energy"))
        for (const auto& [unit, j] : r["energy"]["breakdown_j"].items()) energy.push_back({unit, j.get<double>()});
    data["energy"] = energy;

    std::string h = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>lmsim run report</title>\n<style>"
                    "body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse;margin:8px 0}"
                    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
                    ".chart{height:360px;margin:12px 0}</style>\n";
    if (!chart_js.empty()) h += "<script>\n" + chart_js + "\n</script>\n";
    h += "</head><body>\n<h1>lmsim run report</h1>\n<table>\n";
    for (const Headline& x : headlines(r)) h += "<tr><td>" + html_escape(x.label) + "</td><td>" + html_escape(x.value) + "</td></tr>\n";
    h += "</table>\n";
    if (chart_js.empty())
        h += "<p><b>Charts omitted:</b> Chart.js (Debian's libjs-chart.js) was not installed when this report was "
             "written; the tables below and the CSV files hold every figure.</p>\n";
    const char* charts[][2] = {{"layers", "Cycles per layer"},
                               {"units", "Utilisation per unit: busy / stalled on input / stalled on output / idle (cycles)"},
                               {"fifos", "FIFO occupancy: most tokens held against capacity"},
                               {"bandwidth", "Memory bandwidth per layer (GB/s, layer average) against the peak"},
                               {"timeline", "Memory bandwidth over time (GB/s per window, bursts by completion) against the peak"},
                               {"roofline", "Roofline of the MMU (MAC/s against MAC per DRAM byte)"},
                               {"energy", "Energy per token by unit (J)"}};
    for (const auto& c : charts) {
        h += fmt::format("<h2>{}</h2>\n<div class=\"chart\"><canvas id=\"chart-{}\"></canvas></div>\n", c[1], c[0]);
        if (std::string(c[0]) == "fifos")
            h += "<h2>FIFO occupancy histogram: share of the run's cycles at each level</h2>\n"
                 "<p>FIFO <select id=\"fifo-select\"></select></p>\n"
                 "<div class=\"chart\"><canvas id=\"chart-fifo_histogram\"></canvas></div>\n";
    }
    h += "<h2>Units</h2>\n<table><tr><th>unit</th><th>busy</th><th>stall in</th><th>stall out</th><th>idle</th><th>timing</th></tr>\n";
    for (const UnitRow& u : unit_rows(r)) {
        const json& uj = r["units"][u.name];
        h += fmt::format("<tr><td>{}</td><td>{:.0f}</td><td>{:.0f}</td><td>{:.0f}</td><td>{:.0f}</td><td>{}</td></tr>\n", u.name,
                         u.busy, u.stall_in, u.stall_out, u.idle,
                         html_escape(uj.contains("timing_extrapolated") ? uj["timing_extrapolated"].get<std::string>() : "published"));
    }
    h += "</table>\n<p>Tables as CSV beside this page: per_layer.csv, units.csv, fifos.csv, energy.csv.</p>\n";
    h += "<script>\nconst D = " + data.dump() + ";\n";
    h += R"JS(
function chart(id, config) {
  if (typeof Chart === 'undefined') return;
  config.options = Object.assign({responsive: true, maintainAspectRatio: false, animation: false}, config.options || {});
  new Chart(document.getElementById('chart-' + id), config);
}
chart('layers', {type: 'bar', data: {labels: D.layers.map((_, i) => i),
  datasets: [{label: 'cycles', data: D.layers, backgroundColor: '#4e79a7'}]}});
const colours = ['#59a14f', '#e15759', '#f28e2b', '#bab0ac'];
chart('units', {type: 'bar', data: {labels: D.units.map(u => u[0]),
  datasets: ['busy', 'stall in', 'stall out', 'idle'].map((n, k) => ({label: n, data: D.units.map(u => u[k + 1]), backgroundColor: colours[k]}))},
  options: {indexAxis: 'y', scales: {x: {stacked: true}, y: {stacked: true}}}});
chart('fifos', {type: 'bar', data: {labels: D.fifos.map(f => f[0]),
  datasets: [{label: 'max held', data: D.fifos.map(f => f[1]), backgroundColor: '#4e79a7'},
             {label: 'capacity', data: D.fifos.map(f => f[2]), backgroundColor: '#bab0ac'}]},
  options: {scales: {y: {type: 'logarithmic'}}}});
const select = document.getElementById('fifo-select');
Object.keys(D.fifo_histograms).sort().forEach(n => { const o = document.createElement('option'); o.value = n; o.text = n; select.add(o); });
select.value = D.fifo_histogram_first;
const histogram = (name) => ({labels: (D.fifo_histograms[name] || []).map(b => b[0]),
  datasets: [{label: 'share of cycles (' + name + ')', data: (D.fifo_histograms[name] || []).map(b => b[1]), backgroundColor: '#4e79a7'}]});
let histogramChart = null;
if (typeof Chart !== 'undefined') {
  histogramChart = new Chart(document.getElementById('chart-fifo_histogram'), {type: 'bar', data: histogram(select.value),
    options: {responsive: true, maintainAspectRatio: false, animation: false,
              scales: {x: {title: {display: true, text: 'tokens held'}}, y: {title: {display: true, text: 'share of cycles'}}}}});
  select.addEventListener('change', () => { histogramChart.data = histogram(select.value); histogramChart.update(); });
}
chart('bandwidth', {type: 'line', data: {labels: D.bandwidth_gbps.map((_, i) => i),
  datasets: [{label: 'achieved', data: D.bandwidth_gbps, borderColor: '#4e79a7'},
             {label: 'peak', data: D.bandwidth_gbps.map(() => D.peak_gbps), borderColor: '#e15759'}]}});
chart('timeline', {type: 'line', data: {labels: D.timeline_gbps.map((_, i) => (i * D.timeline_window_us).toFixed(1)),
  datasets: [{label: 'achieved', data: D.timeline_gbps, borderColor: '#4e79a7', pointRadius: 0},
             {label: 'peak', data: D.timeline_gbps.map(() => D.peak_gbps), borderColor: '#e15759', pointRadius: 0}]},
  options: {scales: {x: {title: {display: true, text: 'µs'}}, y: {title: {display: true, text: 'GB/s'}}}}});
const R = D.roofline, xs = [];
for (let x = Math.max(R.intensity / 100, 1e-3); x <= R.intensity * 100; x *= 2) xs.push(x);
chart('roofline', {type: 'scatter', data: {datasets: [
  {label: 'bound: min(compute, memory x intensity)', showLine: true, pointRadius: 0, borderColor: '#bab0ac',
   data: xs.map(x => ({x: x, y: Math.min(R.peak_macs, R.peak_bytes * x)}))},
  {label: 'this run', data: [{x: R.intensity, y: R.achieved}], backgroundColor: '#e15759', pointRadius: 6}]},
  options: {scales: {x: {type: 'logarithmic', title: {display: true, text: 'MAC per DRAM byte'}},
                     y: {type: 'logarithmic', title: {display: true, text: 'MAC/s'}}}}});
chart('energy', {type: 'bar', data: {labels: D.energy.map(e => e[0]),
  datasets: [{label: 'J per token', data: D.energy.map(e => e[1]), backgroundColor: '#76b7b2'}]}});
document.body.setAttribute('data-rendered', typeof Chart === 'undefined' ? 'tables-only' : 'charts');
</script>
</body></html>
)JS";
    return h;
}

}  // namespace lmsim
