#!/usr/bin/env bash
# The command-line contract of segtrain and segeval: --help/--version exit 0, bad
# usage and bad config exit 2 with a message naming the file, key and line.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
expect() {  # expect RC PATTERN cmd...
  local want=$1 pattern=$2; shift 2
  "$@" > out.txt 2> err.txt; local rc=$?
  [[ $rc -eq $want ]] || fail "$* exited $rc, expected $want; stderr: $(cat err.txt)"
  [[ -z "$pattern" ]] || grep -qE -- "$pattern" out.txt err.txt || fail "$*: no '$pattern' in output: $(cat out.txt err.txt)"
}

for tool in segtrain segeval segdata; do
  expect 0 "Usage|usage" "$BIN/$tool" --help
  expect 0 "LibTorch 1|LibTorch 2" "$BIN/$tool" --version
  expect 0 "ITK 5" "$BIN/$tool" --version
  expect 2 "" "$BIN/$tool" --no-such-flag
done

expect 2 "/nonexistent.yaml" "$BIN/segtrain" --config /nonexistent.yaml
printf 'data:\n  root: d\nmodel:\n  featurs: [8, 16]\n' > unknown.yaml
expect 2 "unknown.yaml:4:3: model.featurs: unknown key" "$BIN/segtrain" --config unknown.yaml
printf 'data:\n  root: d\ntrain:\n  optimizer:\n    lr: fast\n' > type.yaml
expect 2 "type.yaml:5:5: train.optimizer.lr: expected a number, got 'fast'" "$BIN/segtrain" --config type.yaml
printf 'data:\n  root: d\n' > ok.yaml
expect 2 "train.epochs" "$BIN/segtrain" --config ok.yaml --set train.epochs=abc
expect 2 "train.epochs" "$BIN/segtrain" --config ok.yaml --set train.epochs=0
expect 0 "smooth_dr" "$BIN/segtrain" --config ok.yaml --print-config
expect 2 "dataset.json|d" "$BIN/segtrain" --config ok.yaml --output run --log-level error
expect 2 "--config" "$BIN/segtrain"
expect 2 "--output" "$BIN/segeval" --predictions x --labels y
expect 2 "nowhere" "$BIN/segeval" --predictions nowhere --labels nowhere --output o
echo "cli_contract: ok"
