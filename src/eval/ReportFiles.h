#pragma once
// segeval's report files. Every file states the conventions it used (empty rule,
// connectivity, size bins, match rule) because tools disagree on them (design.md §7).
#include <string>

#include "metrics/EvalReport.h"

namespace seg {

// Files written atomically (temporary file in the same directory, then rename), so a
// crash never leaves a half-written report. NaN is "nan" in CSV and null in JSON.
// cases.csv: one row per case and class (overlap, surface distances, lesion counts).
void writeCasesCsv(const EvalReport& report, const std::string& path);
// lesions.csv: one row per reference lesion.
void writeLesionsCsv(const EvalReport& report, const std::string& path);
void writeSizeBinsCsv(const EvalReport& report, const std::string& path);
// metrics.json: conventions, summary per class, per size bin, overall, and per case.
void writeMetricsJson(const EvalReport& report, const std::string& path);
// Creates outputDir if needed and writes cases.csv, lesions.csv, size_bins.csv and
// metrics.json into it. Throws InputError naming the path when it cannot.
void writeEvalReport(const EvalReport& report, const std::string& outputDir);

}  // namespace seg
