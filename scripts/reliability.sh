#!/usr/bin/env bash
# Every reliability suite from one command, ending with the figures (docs/reliability.md):
#   bad inputs tried / clear errors / crashes      tests/reliability/bad_inputs.sh
#   kill trials / exact resumes                    tests/reliability/kill_soak.sh (SIGKILL soak)
#   dead-rank trials / max detection time          needs segtrain --nproc (distributed training)
#   AMP faults skipped / counted / converged       segtests AmpFaultTest (injected inf/NaN/spikes)
#   sanitizer findings                             scripts/sanitize.sh (build-asan, ASan+UBSan)
#   fuzz executions / findings                     scripts/fuzz.sh (libFuzzer, build-fuzz)
#
#   scripts/reliability.sh [--quick] [--kill-trials N] [--fuzz-seconds S] [--no-sanitize] [--no-fuzz]
# --quick: 3 kill trials, 30 s of fuzzing per target, sanitizer run limited to the unit tests
# and the fast integration tests. Defaults: 20 kill trials, 600 s per fuzz target, everything.
# Uses build/ (scripts/setup.sh builds it when missing). Exit 0 only when every figure that
# must be zero is zero.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}
KILL_TRIALS=20; FUZZ_SECONDS=600; SANITIZE=1; FUZZ=1; QUICK=0
while (($#)); do
  case $1 in
    --quick) QUICK=1; KILL_TRIALS=3; FUZZ_SECONDS=30 ;;
    --kill-trials) KILL_TRIALS=$2; shift ;;
    --fuzz-seconds) FUZZ_SECONDS=$2; shift ;;
    --no-sanitize) SANITIZE=0 ;;
    --no-fuzz) FUZZ=0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "reliability: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

[[ -x "$BUILD_DIR/app/segtrain" && -x "$BUILD_DIR/tests/segtests" ]] || SEG_SKIP_INSTALL=${SEG_SKIP_INSTALL:-0} BUILD_DIR=$BUILD_DIR scripts/setup.sh
BIN="$ROOT/$BUILD_DIR/app"
WORK="$ROOT/$BUILD_DIR/reliability"
mkdir -p "$WORK"
figures=(); ok=1
section() { echo; echo "== $1"; }
lastLine() { grep -E "$1" "$2" | tail -1; }

section "bad inputs"
bash tests/reliability/bad_inputs.sh "$BIN" "$ROOT" "$WORK/bad_inputs" 2>&1 | tee "$WORK/bad_inputs.txt" | grep -E "^(FAIL|skipped|bad inputs)"
[[ ${PIPESTATUS[0]} -eq 0 ]] || ok=0
figures+=("$(lastLine '^bad inputs:' "$WORK/bad_inputs.txt" || echo 'bad inputs: suite did not finish')")

section "kill/resume soak ($KILL_TRIALS trials)"
bash tests/reliability/kill_soak.sh "$BIN" "$ROOT" "$WORK/kill_soak" "$KILL_TRIALS" 2>&1 | tee "$WORK/kill_soak.txt"
[[ ${PIPESTATUS[0]} -eq 0 ]] || ok=0
figures+=("$(lastLine '^kill trials:' "$WORK/kill_soak.txt" || echo 'kill trials: suite did not finish')")

section "dead rank"
if "$BIN/segtrain" --help 2>/dev/null | grep -q -- "--nproc" && [[ -f tests/reliability/dead_rank.sh ]]; then
  bash tests/reliability/dead_rank.sh "$BIN" "$ROOT" "$WORK/dead_rank" 2>&1 | tee "$WORK/dead_rank.txt"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || ok=0
  figures+=("$(lastLine '^dead-rank trials:' "$WORK/dead_rank.txt" || echo 'dead-rank trials: suite did not finish')")
else
  echo "not available: this build has no distributed training (segtrain --nproc)"
  figures+=("dead-rank trials: not available (no segtrain --nproc in this build)")
fi

section "AMP faults"
"$ROOT/$BUILD_DIR/tests/segtests" --gtest_filter='AmpFaultTest.*' 2>&1 | tee "$WORK/amp_faults.txt" | grep -E "AMP faults:|OK|FAILED|Failure"
if [[ ${PIPESTATUS[0]} -eq 0 ]]; then
  figures+=("$(lastLine '^AMP faults:' "$WORK/amp_faults.txt") / converged yes")
else
  ok=0; figures+=("AMP faults: FAILED (see $WORK/amp_faults.txt)")
fi

if ((SANITIZE)); then
  section "sanitizers (build-asan; a cold build takes long)"
  ctestArgs=""
  ((QUICK)) && ctestArgs="-E integration\.(train_eval|kill_resume|kill_soak|segeval_nibabel|loss_comparison|progress)"
  CTEST_ARGS="$ctestArgs" scripts/sanitize.sh > "$WORK/sanitize.txt" 2>&1
  rc=$?
  grep -E "tests passed|tests failed|sanitizer findings" "$WORK/sanitize.txt"
  ((rc == 0)) || ok=0
  f=$(lastLine '^sanitizer findings:' "$WORK/sanitize.txt")
  passed=$(lastLine 'tests passed' "$WORK/sanitize.txt")
  figures+=("${f:-sanitizer findings: build or run failed (see $WORK/sanitize.txt)}${passed:+ ($passed)}")
else
  figures+=("sanitizer findings: not run (--no-sanitize)")
fi

if ((FUZZ)); then
  section "fuzzing (${FUZZ_SECONDS}s per target)"
  scripts/fuzz.sh "$FUZZ_SECONDS" 2>&1 | tee "$WORK/fuzz.txt" | grep -E "^fuzz "
  [[ ${PIPESTATUS[0]} -eq 0 ]] || ok=0
  while read -r line; do figures+=("$line"); done < <(grep -E "^fuzz " "$WORK/fuzz.txt" | sed 's/ (.*//')
else
  figures+=("fuzz: not run (--no-fuzz)")
fi

echo
echo "== reliability figures"
for f in "${figures[@]}"; do echo "  $f"; done
((ok))
