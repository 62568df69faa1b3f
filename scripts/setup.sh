#!/usr/bin/env bash
# Installs what is missing (Debian 12 or 13, Ubuntu 22.04+), then configures and builds
# segtrain (Release, ccache) against the LibTorch of the project's venv. Idempotent: a second
# run installs nothing and rebuilds only what changed.
#   BUILD_DIR          build folder (default: build)
#   SEG_VENV           the Python venv, outside the clone (default: ~/.venvs/segtrain) with
#                      scripts/requirements.txt: torch 2.14.1 (CUDA 13.0) and the test references
#   SEG_SKIP_INSTALL=1 do not call apt (you installed the Debian packages yourself)
#   CMAKE_PREFIX_PATH  your own LibTorch instead of the venv's (official zip, another pip
#                      torch): python3 -c 'import torch;print(torch.utils.cmake_prefix_path)'
#   CCACHE_DIR         compiler cache (default ~/.cache/ccache, outside the clone)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SEG_VENV=${SEG_VENV:-$HOME/.venvs/segtrain}
REQUIREMENTS=scripts/requirements.txt

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config python3-venv
  libinsighttoolkit5-dev libyaml-cpp-dev libspdlog-dev libcli11-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev
  libgloo-dev      # declarations for c10d's ProcessGroupGloo.hpp (see src/CMakeLists.txt)
  slurm-wlm munge  # the single-node Slurm test (tests/integration/slurm_sbatch.sh)
)

if [[ "${SEG_SKIP_INSTALL:-0}" != 1 ]]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then
      command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 2; }
      SUDO="sudo"
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# The venv: created once, reinstalled only when scripts/requirements.txt changes. The torch
# 2.14.1 wheel for CPython 3.11 lies on this project's machines (no download); another
# Python (Debian 13 has 3.13) downloads it from PyPI.
stamp="$SEG_VENV/.segtrain-requirements"
if ! cmp -s "$REQUIREMENTS" "$stamp" 2>/dev/null; then
  base=$(command -v python3.11 || command -v python3) || { echo "setup: no python3 found" >&2; exit 2; }
  [[ -x "$SEG_VENV/bin/python" ]] || { echo "setup: creating the venv $SEG_VENV ($("$base" --version))"; "$base" -m venv "$SEG_VENV"; }
  echo "setup: installing $REQUIREMENTS into $SEG_VENV (torch is about 5.5 GB)"
  "$SEG_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$stamp"
fi
SEG_PYTHON="$SEG_VENV/bin/python"
torch_prefix=${CMAKE_PREFIX_PATH:-$("$SEG_PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')}
if "$SEG_PYTHON" -c 'import sys, torch; sys.exit(0 if torch.version.cuda else 1)' && [[ -z "${CMAKE_PREFIX_PATH:-}" ]] \
   && [[ ! -x "${CUDAToolkit_ROOT:-/usr/local/cuda}/bin/nvcc" ]]; then
  echo "setup: the venv's torch is a CUDA build, whose CMake package needs the CUDA toolkit (nvcc)" \
       "at /usr/local/cuda (or CUDAToolkit_ROOT); install it, or point CMAKE_PREFIX_PATH at a CPU LibTorch" >&2
  exit 2
fi

# Paths under the checkout are hashed relative to it, so a fresh clone elsewhere reuses the
# compiler cache (which stays in the home directory). Torch translation units are large.
export CCACHE_BASEDIR="$PWD"
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}

mkdir -p "$BUILD_DIR"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# Configure every time (a few seconds): the build then always uses this LibTorch and venv.
cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix" \
  -DSEG_PYTHON="$SEG_PYTHON" > "$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log" >&2; exit 1; }
grep -E "^-- segtrain:" "$BUILD_DIR/configure.log" || true
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$BUILD_DIR" -j "$jobs"
echo "setup: built segtrain, segeval, segdata in $BUILD_DIR/app"
