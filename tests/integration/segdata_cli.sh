#!/usr/bin/env bash
# segdata exit codes and messages: 0 success, 2 bad usage or input (naming the
# file or case), never a signal.
# Usage: segdata_cli.sh BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1
WORK=$3
SEGDATA="$BIN/segdata"
failures=0

rm -rf "$WORK"
mkdir -p "$WORK"

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND, keeps stdout/stderr in $WORK/out, $WORK/err.
expect() {
  local want=$1 what=$2
  shift 3
  "$@" > "$WORK/out" 2> "$WORK/err"
  local got=$?
  if [[ $got -ne $want ]]; then
    echo "FAIL: $what: exit $got, expected $want"
    sed 's/^/  stdout: /' "$WORK/out" | head -20
    sed 's/^/  stderr: /' "$WORK/err" | head -20
    failures=$((failures + 1))
  else
    echo "ok: $what (exit $got)"
  fi
}

# expect_text FILE TEXT DESCRIPTION
expect_text() {
  if ! grep -qF -- "$2" "$1"; then
    echo "FAIL: $3: '$2' not in $(basename "$1")"
    sed 's/^/  /' "$1" | head -20
    failures=$((failures + 1))
  fi
}

expect 0 "--help" -- "$SEGDATA" --help
expect_text "$WORK/out" "synth" "--help lists subcommands"
expect 0 "--version" -- "$SEGDATA" --version
expect_text "$WORK/out" "segdata" "--version names the tool"
expect 0 "synth --help" -- "$SEGDATA" synth --help
expect 2 "unknown option" -- "$SEGDATA" --no-such-option
expect 2 "no subcommand" -- "$SEGDATA"
expect 2 "unknown log level" -- "$SEGDATA" --log-level loud inspect "$WORK/x.nii.gz"

missing="$WORK/missing/scan.nii.gz"
expect 2 "inspect missing file" -- "$SEGDATA" inspect "$missing"
expect_text "$WORK/err" "image file not found: $missing" "inspect names the missing file"

printf 'this is not a NIfTI file, just text padded out to a few hundred bytes %0300d' 0 > "$WORK/junk.nii"
expect 2 "inspect non-NIfTI" -- "$SEGDATA" inspect "$WORK/junk.nii"
expect_text "$WORK/err" "$WORK/junk.nii" "inspect names the bad file"

expect 2 "synth bad option" -- "$SEGDATA" synth --out "$WORK/bad" --classes 3
expect_text "$WORK/err" "classes" "synth names the option"
[[ -e "$WORK/bad" ]] && { echo "FAIL: synth wrote $WORK/bad despite a bad option"; failures=$((failures + 1)); }

ds="$WORK/ds"
expect 0 "synth" -- "$SEGDATA" synth --out "$ds" --cases 4 --test-cases 1 --size 24 24 16 --max-radius 3 --log-level warn
expect 0 "check a good dataset" -- "$SEGDATA" check "$ds"
expect_text "$WORK/out" "no problems" "check summary"
expect 2 "synth into a non-empty folder" -- "$SEGDATA" synth --out "$ds"
expect_text "$WORK/err" "not empty" "synth refuses a non-empty folder"

expect 0 "inspect --json" -- "$SEGDATA" inspect --json "$ds/labelsTr/case_000.nii.gz"
expect_text "$WORK/out" '"component_type": "uint8"' "inspect --json component type"
expect_text "$WORK/out" '"distinct_values"' "inspect --json lists label values"

# Break two labels: one is not a NIfTI file, one is on another grid.
"$SEGDATA" synth --out "$WORK/other" --cases 2 --test-cases 0 --size 20 20 16 --max-radius 2 --log-level warn
printf 'garbage garbage garbage %0400d' 0 | gzip > "$ds/labelsTr/case_001.nii.gz"
cp "$WORK/other/labelsTr/case_000.nii.gz" "$ds/labelsTr/case_002.nii.gz"
# And a test-case label holding class 2, which this one-class dataset.json does not declare.
"$SEGDATA" synth --out "$WORK/two" --cases 4 --test-cases 1 --size 24 24 16 --max-radius 3 --classes 2 --log-level warn
expect 0 "inspect a two-class label" -- "$SEGDATA" inspect --json "$WORK/two/labelsTs/case_003.nii.gz"
expect_text "$WORK/out" '2.0' "the two-class label holds class 2"
cp "$WORK/two/labelsTs/case_003.nii.gz" "$ds/labelsTs/case_003.nii.gz"
expect 2 "check a dataset with broken labels" -- "$SEGDATA" check "$ds"
expect_text "$WORK/out" "case case_001: $ds/labelsTr/case_001.nii.gz" "check names the unreadable label's case"
expect_text "$WORK/out" "case case_002:" "check names the case with a grid mismatch"
expect_text "$WORK/out" "does not match the image grid" "check explains the grid mismatch"
expect_text "$WORK/out" "case case_003: $ds/labelsTs/case_003.nii.gz: label values {2} are not declared" \
  "check names undeclared label values"

# A broken dataset.json is an input error too.
echo '{"channel_names": ' > "$ds/dataset.json"
expect 2 "check with invalid dataset.json" -- "$SEGDATA" check "$ds"
expect_text "$WORK/err" "$ds/dataset.json: invalid JSON" "check names dataset.json"

if [[ $failures -ne 0 ]]; then
  echo "segdata_cli: $failures failure(s)"
  exit 1
fi
echo "segdata_cli: OK"
