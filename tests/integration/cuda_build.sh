#!/usr/bin/env bash
# The CUDA half is in the binaries, not only in the sources: against a CUDA LibTorch, segtrain
# links libtorch_cuda (the CUDA kernels of every ATen op it calls, the fused
# GradScaler ones included), defines our NCCL backend and calls ProcessGroupNCCL's constructor,
# and segtests holds the GPU-only tests, which report themselves skipped without a GPU.
# Args: BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
BIN=$1; SRC=$2; WORK=$3
source "$SRC/tests/support/lib.sh"; workdir "$WORK"
TESTS="$BIN/../tests/segtests"
"$BIN/segtrain" --version > version.txt || fail "--version"
grep -q "(CUDA build)" version.txt || skip "a CPU LibTorch: no CUDA half to check"
command -v nm >/dev/null && command -v readelf >/dev/null || skip "nm/readelf (binutils) missing"

readelf -d "$BIN/segtrain" > dynamic.txt
grep -q "NEEDED.*libtorch_cuda.so" dynamic.txt || fail "segtrain does not link libtorch_cuda.so"
nm -C "$BIN/segtrain" > symbols.txt
grep -q " T seg::dist::makeNcclBackend(" symbols.txt || fail "segtrain has no NCCL backend (seg::dist::makeNcclBackend)"
grep -q " U c10d::ProcessGroupNCCL::ProcessGroupNCCL(" symbols.txt || fail "segtrain does not construct c10d::ProcessGroupNCCL"
grep -q " U torch::cuda::nccl::version()" symbols.txt || fail "segtrain does not ask the loaded NCCL for its version"
grep -q "_amp_foreach_non_finite_check_and_unscale_" symbols.txt || fail "segtrain does not call the fused unscale kernel"
grep -q "_amp_update_scale_" symbols.txt || fail "segtrain does not call the fused scale update"
# The kernels behind those two ops on CUDA live in libtorch_cuda, which segtrain loads.
lib=$(ldd "$BIN/segtrain" | awk '/libtorch_cuda.so/ {print $3}')
[[ -f "$lib" ]] || fail "libtorch_cuda.so does not resolve: $(ldd "$BIN/segtrain" | grep torch_cuda)"
nm -D -C "$lib" > cuda_symbols.txt
grep -q "at::native::_amp_foreach_non_finite_check_and_unscale_cuda_(" cuda_symbols.txt || fail "$lib has no CUDA unscale kernel"
grep -q "at::native::_amp_update_scale_cuda_(" cuda_symbols.txt || fail "$lib has no CUDA scale update kernel"
echo "segtrain: NCCL backend and CUDA GradScaler kernels linked ($lib)"

"$TESTS" --gtest_list_tests > listed.txt || fail "segtests --gtest_list_tests"
awk '/^[^ ]/ {suite=$1} /^  / {print suite $1}' listed.txt > cuda_tests.txt
grep "_CUDA" cuda_tests.txt > only_cuda.txt || fail "segtests holds no *_CUDA tests"
echo "segtests: $(wc -l < only_cuda.txt) *_CUDA tests compiled:"; sed 's/^/  /' only_cuda.txt
if grep -q "^  GPUs none visible" version.txt; then
  "$TESTS" --gtest_filter='*_CUDA*' > run.txt 2>&1 || fail "the *_CUDA tests failed without a GPU: $(tail -20 run.txt)"
  skipped=$(grep -c "^\[  SKIPPED \]" run.txt)
  # gtest lists each skipped test once more in its summary.
  (( skipped >= $(wc -l < only_cuda.txt) )) || fail "not every *_CUDA test reported itself skipped: $(cat run.txt)"
  grep -q "no GPU visible" run.txt || fail "the skips give no reason: $(cat run.txt)"
  grep -q "^\[  PASSED  \] 0 tests" run.txt || fail "a *_CUDA test ran without a GPU: $(cat run.txt)"
  echo "without a GPU every *_CUDA test is skipped with the reason"
fi
echo "PASS"
