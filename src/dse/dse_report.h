// lmsim design-space exploration: what a sweep leaves in its directory besides results.jsonl:
// pareto.csv (the front), summary.md (counts, the best design per objective and what bounds it,
// the analytic screen's error on the confirmed points) and report.html (the front as a chart,
// tokens/s against tokens/J with LUTs as the marker size, drawn with the run reports' inlined
// Chart.js). All from the records alone, so `lmsim dse merge` writes the same files.
#pragma once
#include <string>
#include <vector>

#include "dse/results.h"
#include "dse/sweep.h"

namespace lmsim::dse {

struct SweepOutputs {
    std::string pareto_csv, summary_md, report_html;
};

// `chart_js`: the charting library (report/html_report.h find_chart_js); empty: tables only.
SweepOutputs sweep_outputs(const SweepSpec& sweep, const std::vector<Record>& records, const std::string& chart_js);
// Writes the three files into `dir` (each atomically).
void write_sweep_outputs(const SweepSpec& sweep, const std::vector<Record>& records, const std::string& dir);

// Analytic against cycle-level tokens/s on the points evaluated at both: relative errors.
std::vector<double> analytic_errors(const std::vector<Record>& records);

}  // namespace lmsim::dse
