# Helpers shared by the shell tests (tests/integration/*.sh, tests/reliability/*.sh).
# Each script takes BIN_DIR SOURCE_DIR WORK_DIR and starts with
#   source "$SRC/tests/support/lib.sh"; workdir "$WORK"
# A skipped test exits 77, which ctest reports as skipped (SKIP_RETURN_CODE in
# tests/CMakeLists.txt), never as passed; scripts/reliability.sh reports it as unfinished.

# A fresh, empty work folder, made the current directory.
workdir() { rm -rf "$1"; mkdir -p "$1"; cd "$1" || exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }
# The project's Python: the venv of scripts/setup.sh with scripts/requirements.txt (torch,
# monai, nibabel, scipy). ctest passes it as SEG_PYTHON (tests/CMakeLists.txt).
PY=${SEG_PYTHON:-$HOME/.venvs/segtrain/bin/python}
# The checks that compare with PyTorch or MONAI need them in that Python.
needTorch() { "$PY" -c "import torch" 2>/dev/null || skip "$PY has no torch (run scripts/setup.sh)"; }
needMonai() { "$PY" -c "import monai" 2>/dev/null || skip "$PY has no monai (run scripts/setup.sh)"; }
# Whether a checkpoint (a TorchScript archive) loads in PyTorch.
loads() { "$PY" -c "import torch,sys; torch.jit.load(sys.argv[1])" "$1" 2>/dev/null; }
# A TCP port free on 127.0.0.1 now (for a rendezvous or a slurmctld).
freeport() { "$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
# The golden NIfTI checks read files with nibabel.
needNibabel() { "$PY" -c "import nibabel, numpy" 2>/dev/null || skip "$PY has no nibabel/numpy (run scripts/setup.sh)"; }
