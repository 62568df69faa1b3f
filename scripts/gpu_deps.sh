#!/usr/bin/env bash
# Packs our non-torch build dependencies (ITK, yaml-cpp, spdlog/fmt, CLI11, nlohmann-json,
# GoogleTest and what they pull in) as Debian 12 packages unpacked into one relocatable
# prefix, for the device machine, which has the CUDA LibTorch (pip) but nothing else of
# ours and cannot download: .gpu-deps/prefix.tar.xz, read by scripts/gpu_check.sh.
# Packages every glibc system has (libc, libstdc++, libgcc, ...) are left out; nothing is
# ever unpacked into /. Run on a Debian 12 machine with apt (no root needed for download).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.gpu-deps
ROOTS=(libinsighttoolkit5-dev libyaml-cpp-dev libspdlog-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev libgloo-dev)
# Base system, compilers and tools the device image has (or that a build never loads).
SKIP='^(libc6|libc6-dev|libc-dev-bin|libgcc-s1|gcc-12-base|libstdc\+\+6|libcrypt1|libcrypt-dev|libnsl-dev|libnsl2|libtirpc.*|linux-libc-dev|rpcsvc-proto|libgomp1|libquadmath0|libgfortran5|libzstd1|zlib1g|libselinux1|libpcre2.*|debconf.*|dpkg|perl.*|python3.*|catch2|googletest|hdf5-helpers|icu-devtools|libjs-.*|gfortran.*|cpp.*|gcc.*|g\+\+.*|libkeyutils1)$'
mkdir -p "$DEST/debs"
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
  "${ROOTS[@]}" 2>/dev/null | grep '^[a-z0-9]' | sort -u | grep -Ev "$SKIP" > "$DEST/packages.txt"
(cd "$DEST/debs" && xargs apt-get download -q < ../packages.txt >/dev/null)
rm -rf "$DEST/prefix" && mkdir -p "$DEST/prefix"
for deb in "$DEST"/debs/*.deb; do dpkg -x "$deb" "$DEST/prefix"; done
# Docs, manuals and locale data are not needed to build or run.
rm -rf "$DEST/prefix/usr/share/doc" "$DEST/prefix/usr/share/man" "$DEST/prefix/usr/share/locale" \
       "$DEST/prefix/usr/share/lintian" "$DEST/prefix/usr/share/info"
# Static archives are not linked (we link the shared libraries), except GoogleTest's, which
# Debian ships only static, and HDF5's, which its CMake package files name.
find "$DEST/prefix" -name '*.a' ! -name 'libgtest*' ! -name 'libgmock*' ! -name 'libhdf5*' -delete
tar -C "$DEST/prefix" -cJf "$DEST/prefix.tar.xz" .
echo "gpu_deps: $(wc -l < "$DEST/packages.txt") packages, $(du -sh "$DEST/prefix" | cut -f1) unpacked, $(du -h "$DEST/prefix.tar.xz" | cut -f1) packed in $DEST/prefix.tar.xz"
