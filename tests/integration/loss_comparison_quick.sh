#!/usr/bin/env bash
# scripts/experiments/loss_comparison.sh --quick end to end: synthetic data, one run per
# loss and seed (ce, dice, dice_ce, gdl x 2 seeds), segeval on the held-out cases, the
# table (markdown + CSV) and the chart (SVG, parsed as XML); a second call reuses the
# finished runs; bad options exit 2.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
script="$SRC/scripts/experiments/loss_comparison.sh"

"$script" --quick --bin "$BIN" --out out > log.txt 2>&1 || fail "script exited $?: $(tail -20 log.txt)"
for f in results.md results.csv runs.csv results.svg setup.txt timings.csv; do [[ -s out/$f ]] || fail "out/$f missing"; done
[[ $(wc -l < out/timings.csv) -eq 8 ]] || fail "expected 8 runs (4 losses x 2 seeds): $(cat out/timings.csv)"
grep -q "^command: .*--quick" out/setup.txt || fail "setup.txt lacks the command line"
"$PY" - <<'PY' || fail "results are not as expected"
import csv, xml.etree.ElementTree as ET
rows = list(csv.DictReader(open("out/results.csv")))
losses = ["ce", "dice", "dice_ce", "gdl"]
assert sorted({r["loss"] for r in rows}) == losses, rows
for loss in losses:
    mine = [r for r in rows if r["loss"] == loss]
    assert all(r["seeds"] == "2" for r in mine), mine
    bins = [r["size_bin"] for r in mine]
    assert bins == ["0-10", "10-100", "100-1000", "1000-inf", "all"], bins
    overall = mine[-1]
    assert 0.0 <= float(overall["dice_mean"]) <= 1.0 and float(overall["fp_per_case_mean"]) >= 0, overall
    assert overall["sensitivity_sd"] != "", overall   # a spread over 2 seeds
raw = list(csv.DictReader(open("out/runs.csv")))
assert len(raw) == 4 * 2 * 5, len(raw)
# The table's mean is the mean of the per-seed values.
for r in rows:
    if r["size_bin"] == "all":
        vals = [float(x["dice"]) for x in raw if x["loss"] == r["loss"] and x["size_bin"] == "all"]
        assert abs(sum(vals) / len(vals) - float(r["dice_mean"])) < 1e-3, (r, vals)
md = open("out/results.md").read()
for loss in losses:
    assert f"\n| {loss} | " in md, md
assert "±" in md
svg = ET.parse("out/results.svg").getroot()
bars = [e for e in svg.iter() if e.get("class") == "bar"]
assert {b.get("data-loss") for b in bars} == set(losses), {b.get("data-loss") for b in bars}
panels = {e.get("id") for e in svg.iter() if (e.get("id") or "").startswith("panel-")}
assert panels == {"panel-sensitivity", "panel-lesion_dice", "panel-dice", "panel-fp_per_case"}, panels
PY

# A second call keeps the finished runs and rewrites the table.
"$script" --quick --bin "$BIN" --out out > log2.txt 2>&1 || fail "second call exited $?"
[[ $(grep -c "done before, kept" log2.txt) -eq 8 ]] || fail "finished runs were repeated: $(cat log2.txt)"

"$script" --quick --bin "$BIN" --out out --seeds 0 > /dev/null 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--seeds" err.txt || fail "--seeds 0: rc $rc, $(cat err.txt)"
"$script" --quick --bin "$BIN/nowhere" --out out > /dev/null 2> err.txt; rc=$?
[[ $rc -eq 2 ]] && grep -q "not found" err.txt || fail "missing binaries: rc $rc, $(cat err.txt)"
echo "loss_comparison_quick: ok"
