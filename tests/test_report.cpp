// The reports people look at (report/html_report.h): report.md, a self-contained report.html that
// renders in headless Chromium without console errors, and the tables as CSV.
#include <catch2/catch.hpp>

#include "cli_run.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace {
using lmsim_test::Result;
using lmsim_test::run;
std::string file_text(const std::string& path) {
    std::ifstream f(path);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE("lmsim run writes report.md, report.html and the tables as CSV, the page renders in headless Chromium", "[report]") {
    const std::string out = (std::filesystem::temp_directory_path() / "lmsim-report").string();
    std::filesystem::remove_all(out);
    Result r = run("run u280 --model mamba2-tiny --tokens 2 --quiet --out " + out);
    INFO(r.output);
    REQUIRE(r.code == 0);
    for (const char* f : {"report.md", "report.html", "per_layer.csv", "fifos.csv", "energy.csv"}) {
        INFO(f);
        CHECK(std::filesystem::file_size(out + "/" + f) > 0);
    }
    const nlohmann::json j = nlohmann::json::parse(file_text(out + "/report.json"));
    // The CSVs hold the report's figures: one row per layer, per FIFO.
    std::ifstream layers(out + "/per_layer.csv");
    std::string line;
    int rows = -1;  // header
    while (std::getline(layers, line)) ++rows;
    CHECK(rows == static_cast<int>(j["per_layer_cycles"].size()));
    CHECK(file_text(out + "/report.md").find("tokens per second") != std::string::npos);
    // Bandwidth over time: every byte moved is in exactly one window.
    const auto& timeline = j["memory"]["bandwidth_timeline"];
    int64_t timeline_bytes = 0;
    for (const auto& b : timeline["bytes"]) timeline_bytes += b.get<int64_t>();
    CHECK(timeline_bytes == j["memory"]["bytes_read"].get<int64_t>() + j["memory"]["bytes_written"].get<int64_t>());
    CHECK(timeline["bytes"].size() > 1);
    CHECK(timeline["gbps"].size() == timeline["bytes"].size());
    // The page has the histogram's FIFO list and the timeline chart.
    CHECK(file_text(out + "/report.html").find("fifo-select") != std::string::npos);
    CHECK(file_text(out + "/report.html").find("chart-timeline") != std::string::npos);
    // Self-contained: no external scripts or style sheets.
    const std::string html = file_text(out + "/report.html");
    CHECK(html.find("<script src") == std::string::npos);
    CHECK(html.find("<link") == std::string::npos);
    // Chromium runs the page; the script marks the body once every chart was created, and a
    // JavaScript error shows as a CONSOLE line on stderr (checked 2026-12-02 by renaming one
    // chart call: the marker is missing and the error is logged).
    const std::string log = out + "/chromium.log";
    const std::string cmd = "timeout 120 chromium --headless=new --no-sandbox --disable-gpu --enable-logging=stderr --v=0 "
                            "--virtual-time-budget=5000 --dump-dom file://" + out + "/report.html 2> " + log;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string dom;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) dom.append(buf, n);
    const int status = pclose(p);
    INFO("chromium (Debian's chromium, installed by scripts/install-deps.sh) exit " << status << "; stderr:\n" << file_text(log));
    REQUIRE(status == 0);
    CHECK(dom.find("data-rendered=\"charts\"") != std::string::npos);
    const std::string err = file_text(log);
    CHECK(err.find("Uncaught") == std::string::npos);
    CHECK(err.find(":CONSOLE") == std::string::npos);
}
