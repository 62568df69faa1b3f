#pragma once
// Text pieces shared by the report writers (eval/ReportFiles, ReportTables, HtmlReport).
#include <string>
#include <vector>

#include "metrics/EvalReport.h"

namespace seg {

// Shortest text that reads back to the same double ("nan", "inf", "-inf" for the others).
std::string csvNumber(double v);
// RFC 4180 quoting of one CSV field.
std::string csvField(const std::string& s);
// printf "%.*f" plus suffix; "n/a" for NaN.
std::string fixed(double v, int decimals, const char* suffix = "");
// A bin edge: "%g", or "inf".
std::string edge(double v);
// Left- or right-aligned to `width` (never truncated).
std::string pad(const std::string& s, size_t width, bool right);
// The dataset's label name (with regions: the region's name) when known; otherwise
// "class c" / "region c" (or just "c" where the column already says class).
std::string className(const EvalReport& report, int c, bool withPrefix = true);

// "0-10", "10-100", "1000-inf"; "<5" for a lesion below the first edge (bin -1).
std::string sizeBinLabel(const std::vector<double>& sizeBinsMm3, int bin);
// "regions: whole tumor [1,2,3], tumor core [2,3]; ignore label 4"; "classes" when the
// encoding has neither regions nor an ignore label.
std::string describeEncoding(const LabelEncoding& encoding);
// "empty-reference rule: nan; lesions: 26-connected components, detected on any overlap"
// plus the dilation, volume threshold and preset when set, and the label encoding when it
// has regions or an ignore label.
std::string describeConventions(const EvalReport& report);

}  // namespace seg
