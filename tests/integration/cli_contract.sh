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
  expect 0 "LibTorch 2\.[0-9]+\.[0-9]+ \((CUDA|CPU) build\)" "$BIN/$tool" --version
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

# What the build links and sees, from --version: a CUDA LibTorch names its CUDA, cuDNN and
# NCCL (header and loaded library agree); the GPU count is what LibTorch sees.
"$BIN/segtrain" --version > version.txt || fail "--version"
cat version.txt
if grep -q "(CUDA build)" version.txt; then
  grep -qE "^  CUDA [0-9]+\.[0-9]+ \(built with\)" version.txt || fail "--version names no CUDA"
  grep -qE "^  cuDNN [0-9]+\.[0-9]+\.[0-9]+ \(built with; loaded [0-9]" version.txt || fail "--version names no cuDNN"
  nccl=$(sed -nE 's/^  NCCL ([0-9.]+) \(nccl.h; LibTorch built with ([0-9.]+); loaded ([0-9.]+)\)$/\1 \2 \3/p' version.txt)
  read -r ours built loaded <<<"$nccl"
  [[ -n "$ours" && "$ours" == "$built" && "$ours" == "$loaded" ]] || fail "--version: NCCL versions differ or are missing: '$nccl'"
fi
grep -q "^  Gloo yes" version.txt || fail "--version: no Gloo"

# No GPU visible: cuda or nccl is a usage error (exit 2, one line) before anything is written;
# auto trains on the CPU and says so.
if grep -q "^  GPUs none visible" version.txt; then
  expect 2 "^segtrain: error: train.device: cuda requested, but no GPU is visible" \
    "$BIN/segtrain" --config ok.yaml --set train.device=cuda --output gpu_run
  [[ $(grep -c "error" err.txt) -eq 1 ]] || fail "train.device cuda: expected one error line, got: $(cat err.txt)"
  [[ ! -e gpu_run ]] || fail "train.device cuda: gpu_run was created"
  expect 2 "^segtrain: error: dist.backend: nccl needs a GPU" \
    "$BIN/segtrain" --config ok.yaml --set dist.backend=nccl --output nccl_run
  [[ $(grep -c "error" err.txt) -eq 1 ]] || fail "dist.backend nccl: expected one error line, got: $(cat err.txt)"
  [[ ! -e nccl_run ]] || fail "dist.backend nccl: nccl_run was created"
  expect 2 "^segeval: error: --device: cuda requested, but no GPU is visible" \
    "$BIN/segeval" --checkpoint none.pt --images x --device cuda --output eval_out
  [[ ! -e eval_out ]] || fail "segeval --device cuda: eval_out was created"
  # auto: falls back to the CPU and says so (the run then stops at the missing dataset).
  expect 2 "" "$BIN/segtrain" --config ok.yaml --set train.device=auto --output auto_run
  grep -q "train.device auto: no GPU visible, training on the CPU" err.txt || fail "auto did not say it trains on the CPU: $(cat err.txt)"
else
  echo "note: a GPU is visible; the no-GPU checks do not apply"
fi
echo "cli_contract: ok"
