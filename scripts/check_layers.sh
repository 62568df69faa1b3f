#!/usr/bin/env bash
# Include layering of src/ and app/ (docs/architecture.md). CI runs it as the ctest
# integration.layering (tests/integration/layering.sh).
# Usage: scripts/check_layers.sh [ROOT]     ROOT: the repository root (default: this script's)
#
# This comment and RANKS below are the one place the rank table lives:
#
#   rank  area                          what it is
#   0     core                          errors, RNG, worker pool, connected components, utilities
#   1     models losses metrics infer   the leaves: include only core, never each other
#   2     data                          I/O, manifests, preprocessing, sampling, loaders
#   3     eval                          volume prediction, report writers
#   4     train  (src/train/dist too)   trainer loop, AMP, checkpoints, distributed
#   5     config                        YAML -> typed options structs
#   6     jobs                          composition roots: read the config, build parts, run
#   7     app                           app/*.cpp, app/AppCommon.*: CLI11, sinks, exit codes
#
# A file in area A may #include "B/..." only if B == A or rank(B) < rank(A); areas of equal
# rank (the leaves) may not include each other. A project header without an area folder
# ("Foo.h") may be included only from app/ ("AppCommon.h"). A folder under src/ that is not
# in the table is a violation: give a new area a rank here first.
# Extra rules, whatever the ranks say:
#   <yaml-cpp/...>                 only in src/config (config is parsed once, into typed structs)
#   <spdlog/sinks/...>             only in app/ (library code logs through named loggers)
#   <itk...>, "itk...", "data/ItkBridge.h"   only in ITK_USERS below
# Files below tests/ are not checked. Prints one line per violation and a summary; exit 1 when
# there is any, 0 otherwise.
set -euo pipefail

RANKS="core=0 models=1 losses=1 metrics=1 infer=1 data=2 eval=3 train=4 config=5 jobs=6 app=7"
# Who may include ITK: NIfTI I/O and resampling (src/data), Maurer distance maps (surface
# distances), zlib's deflate and crc32 for the PNGs of the HTML report. A trailing / means
# the whole folder.
ITK_USERS="src/data/ src/metrics/SurfaceDistance.cpp src/eval/HtmlReport.cpp"

ROOT=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ROOT=${ROOT%/}
[[ -d "$ROOT/src" ]] || { echo "check_layers: $ROOT has no src/ folder" >&2; exit 2; }

files=()
while IFS= read -r f; do files+=("$f"); done < <(
  {
    find "$ROOT/src" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.cc' \)
    [[ -d "$ROOT/app" ]] && find "$ROOT/app" -maxdepth 1 -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.cc' \)
  } | LC_ALL=C sort)
[[ ${#files[@]} -gt 0 ]] || { echo "check_layers: no C++ files under $ROOT/src" >&2; exit 2; }

exec awk -v root="$ROOT/" -v ranks="$RANKS" -v itk_users="$ITK_USERS" '
function rel(path) { return index(path, root) == 1 ? substr(path, length(root) + 1) : path }
# The area of a file given relative to ROOT: "app", the folder below src/, or "" (none).
function areaOf(p,   parts, n) {
  n = split(p, parts, "/")
  if (parts[1] == "app") return "app"
  if (parts[1] == "src" && n >= 3) return parts[2]
  return ""
}
function report(msg) { print msg; ++violations; bad[FILENAME] = 1 }
function itkAllowed(p,   i) {
  for (i = 1; i <= nitk; ++i) {
    if (substr(itk[i], length(itk[i])) == "/" ? index(p, itk[i]) == 1 : p == itk[i]) return 1
  }
  return 0
}
BEGIN {
  n = split(ranks, pairs, " ")
  for (i = 1; i <= n; ++i) { split(pairs[i], kv, "="); rank[kv[1]] = kv[2] + 0; known = known (i > 1 ? ", " : "") kv[1] }
  nitk = split(itk_users, itk, " ")
  itkList = itk_users; gsub(/ /, ", ", itkList)
  leaves = ""
  for (i = 1; i <= n; ++i) { split(pairs[i], kv, "="); if (kv[2] == "1") leaves = leaves (leaves == "" ? "" : ", ") kv[1] }
  nfiles = ARGC - 1
  # Files of an unknown area, checked here so that empty files count as well.
  for (i = 1; i < ARGC; ++i) {
    p = rel(ARGV[i]); a = areaOf(p)
    if (a == "") { print p ": not inside an area folder (src/<area>/ or app/)"; ++violations; bad[ARGV[i]] = 1 }
    else if (!(a in rank)) {
      print p ": src/" a " is no known area: give it a rank in scripts/check_layers.sh (known: " known ")"
      ++violations; bad[ARGV[i]] = 1
    }
  }
}
FNR == 1 { path = rel(FILENAME); area = areaOf(path); ranked = (area in rank) }
/^[ \t]*#[ \t]*include[ \t]*["<]/ {
  if (!match($0, /["<][^">]*[">]/)) next
  spelled = substr($0, RSTART, RLENGTH)
  inc = substr(spelled, 2, RLENGTH - 2)
  quoted = substr(spelled, 1, 1) == "\""
  where = path ":" FNR ": "

  if (inc ~ /^yaml-cpp\// && area != "config")
    report(where area " includes " spelled ": only src/config may use yaml-cpp")
  if (inc ~ /^spdlog\/sinks\// && area != "app")
    report(where area " includes " spelled ": only app/ configures logging sinks")
  if ((inc ~ /^itk/ || inc == "data/ItkBridge.h") && !itkAllowed(path))
    report(where area " includes " spelled ": ITK is used only in " itkList)

  if (!ranked) next
  slash = index(inc, "/")
  if (slash == 0) {
    if (quoted && area != "app")
      report(where area " includes " spelled " without an area folder: only app/ includes headers that way (\"AppCommon.h\")")
    next
  }
  target = substr(inc, 1, slash - 1)
  if (!(target in rank)) {
    # Quoted with an unknown first folder: a project header from an unranked area. Angle
    # brackets with an unknown folder are a library (<torch/...>, <spdlog/...>).
    if (quoted) report(where area " includes " spelled ": " target " is no known area (known: " known ")")
    next
  }
  if (target == area) next
  if (rank[target] == rank[area])
    report(where area " includes " spelled ": the leaves (" leaves ") include only core, never each other")
  else if (rank[target] > rank[area])
    report(where area " (rank " rank[area] ") includes " spelled " (" target ", rank " rank[target] " >= " rank[area] "): includes must point down")
}
END {
  if (violations > 0) {
    nb = 0; for (f in bad) ++nb
    printf "layers: %d violation%s in %d of %d files\n", violations, violations == 1 ? "" : "s", nb, nfiles
    exit 1
  }
  printf "layers: %d files, no upward include\n", nfiles
}' "${files[@]}"
