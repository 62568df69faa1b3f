# Helpers shared by the shell tests (tests/integration/*.sh, tests/reliability/*.sh).
# Each script takes BIN_DIR SOURCE_DIR WORK_DIR and starts with
#   source "$SRC/tests/support/lib.sh"; workdir "$WORK"
# A skipped test exits 77, which ctest reports as skipped (SKIP_RETURN_CODE in
# tests/CMakeLists.txt), never as passed; scripts/reliability.sh reports it as unfinished.

# A fresh, empty work folder, made the current directory.
workdir() { rm -rf "$1"; mkdir -p "$1"; cd "$1" || exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }
# The checks that compare with PyTorch need Debian's python3-torch at /usr/bin/python3
# (the python3 on PATH may be another interpreter).
needTorch() { /usr/bin/python3 -c "import torch" 2>/dev/null || skip "/usr/bin/python3 has no torch"; }
# Whether a checkpoint (a TorchScript archive) loads in PyTorch.
loads() { /usr/bin/python3 -c "import torch,sys; torch.jit.load(sys.argv[1])" "$1" 2>/dev/null; }
# A TCP port free on 127.0.0.1 now (for a rendezvous or a slurmctld).
freeport() { /usr/bin/python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
# The golden NIfTI checks read files with nibabel (Debian python3-nibabel).
needNibabel() { /usr/bin/python3 -c "import nibabel, numpy" 2>/dev/null || skip "/usr/bin/python3 has no nibabel/numpy (apt-get install python3-nibabel)"; }
