#!/usr/bin/env bash
# Installs what is missing (Debian 12 / Ubuntu 22.04+), then configures and builds
# segtrain (Release, ccache). Idempotent: a second run installs nothing and rebuilds
# only what changed.
#   BUILD_DIR   build folder (default: build)
#   SEG_SKIP_INSTALL=1   do not call apt (you installed the dependencies yourself)
#   CMAKE_PREFIX_PATH    e.g. a CUDA LibTorch: python3 -c 'import torch;print(torch.utils.cmake_prefix_path)'
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libinsighttoolkit5-dev libyaml-cpp-dev libspdlog-dev libcli11-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libgloo-dev
  libopenblas0-openmp
  python3-torch python3-nibabel python3-scipy python3-numpy
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

# Debian's default reference BLAS makes CPU training ~3x slower than OpenBLAS; the
# libopenblas0-openmp package registers itself as the libblas.so.3 alternative.
if command -v update-alternatives >/dev/null; then
  current=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
  [[ -z "$current" || "$current" == *openblas* ]] || echo "setup: warning: libblas.so.3 points to $current, not OpenBLAS" >&2
fi

# Paths under the checkout are hashed relative to it, so a fresh clone elsewhere
# reuses the compiler cache (the cache itself stays in the home directory).
export CCACHE_BASEDIR="$PWD"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release ${CMAKE_PREFIX_PATH:+-DCMAKE_PREFIX_PATH="$CMAKE_PREFIX_PATH"}
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$BUILD_DIR" -j "$jobs"
echo "setup: built segtrain, segeval, segdata in $BUILD_DIR/app"
