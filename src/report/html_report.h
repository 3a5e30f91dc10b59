// lmsim: the run reports people look at. From a finished run's report.json: report.md (the
// headline figures and every table in Markdown) and report.html, one self-contained page (no
// network: Debian's Chart.js, libjs-chart.js, is inlined) with the configuration, the headline
// figures, latency per layer, utilisation bars per unit (busy / stalled on input / stalled on
// output / idle), FIFO occupancy, memory bandwidth per layer, a roofline and the energy
// breakdown; and one CSV per table. Free of SystemC: it reads the JSON only.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace lmsim {

// The tables of a report, as CSV files by name (per_layer.csv, fifos.csv, energy.csv).
std::map<std::string, std::string> report_tables_csv(const nlohmann::json& report);
std::string report_markdown(const nlohmann::json& report);
// `chart_js`: the charting library's source, inlined; empty: a page of tables, with a note.
std::string report_html(const nlohmann::json& report, const std::string& chart_js);
// Text for an HTML page (< > & " escaped), and a CSV field (quoted where it must be).
std::string html_escape(const std::string& s);
std::string csv_field(const std::string& s);
// Chart.js from Debian's libjs-chart.js, or empty if it is not installed.
std::string find_chart_js();

}  // namespace lmsim
