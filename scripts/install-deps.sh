#!/usr/bin/env bash
# Installs what recfuse builds with, in two steps:
#   1. Debian packages: `scripts/install-deps.sh quickstart` for the library and examples,
#      `scripts/install-deps.sh test` for tests, benchmarks and the Conan package test too
#      (apt-get is skipped when everything is there already).
#   2. The pinned release sources in ../shared/deps (xsimd 14.3.0, xtl 0.8.2, xtensor 0.27.1 and,
#      for `test`, Kokkos 4.6.01 with the Serial and OpenMP spaces): their checksums are verified,
#      then they are built once into .cache/deps (outside git), where the CMake presets look first.
#      Debian's xsimd 8.1 is too old for recfuse (it needs xsimd >= 13) and Debian's Kokkos 3.4 has
#      no OpenMP space, so neither is installed.
# RECFUSE_SHARED overrides where shared/ is (default: ../shared beside the repository).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-quickstart}"

# ---- 1. Debian packages ------------------------------------------------------------------------
packages=(cmake make g++)
if [ "$mode" = test ]; then
  packages+=(catch2 libbenchmark-dev libtbb-dev python3 python3-venv)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
else
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---- 2. Pinned sources into .cache/deps ---------------------------------------------------------
shared="${RECFUSE_SHARED:-$repo/../shared}"
deps="$shared/deps"
prefix="$repo/.cache/deps"
if [ ! -f "$deps/SHA256SUMS" ]; then
  echo "install-deps: $deps not found (it holds the pinned xsimd, xtl, xtensor and Kokkos sources):"
  echo "install-deps: using whatever find_package finds; recfuse needs xsimd >= 13 (Debian 12's 8.1 is too old)"
  echo "install-deps: and xtensor >= 0.26; point CMAKE_PREFIX_PATH at an install of them, or put shared/ beside the repository"
  exit 0
fi
(cd "$deps" && sha256sum --quiet -c SHA256SUMS) || {
  echo "install-deps: checksum mismatch in $deps/SHA256SUMS: refusing to build these sources" >&2
  exit 1
}

libs=(xsimd-14.3.0 xtl-0.8.2 xtensor-0.27.1)
[ "$mode" = test ] && libs+=(kokkos-4.6.01)
work="$repo/.cache/deps-build"
jobs="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
for lib in "${libs[@]}"; do
  sum=$(grep " $lib.tar.gz\$" "$deps/SHA256SUMS" | cut -d' ' -f1)
  stamp="$prefix/.installed-$lib"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    continue
  fi
  echo "install-deps: building $lib into $prefix"
  rm -rf "$work/$lib"
  mkdir -p "$work"
  tar -xzf "$deps/$lib.tar.gz" -C "$work"
  args=(-S "$work/$lib" -B "$work/$lib/build" -DCMAKE_INSTALL_PREFIX="$prefix"
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release)
  case "$lib" in
    xtensor-*) args+=(-DBUILD_TESTS=OFF) ;;
    kokkos-*) args+=(-DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON -DCMAKE_CXX_STANDARD=20
                     -DCMAKE_CXX_EXTENSIONS=OFF -DKokkos_ENABLE_TESTS=OFF -DKokkos_ENABLE_EXAMPLES=OFF
                     -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON) ;;
  esac
  cmake "${args[@]}" > "$work/$lib.log" 2>&1 || { cat "$work/$lib.log" >&2; exit 1; }
  cmake --build "$work/$lib/build" --parallel "$jobs" >> "$work/$lib.log" 2>&1 || { tail -50 "$work/$lib.log" >&2; exit 1; }
  cmake --install "$work/$lib/build" >> "$work/$lib.log" 2>&1 || { tail -50 "$work/$lib.log" >&2; exit 1; }
  rm -rf "$work/$lib"
  echo "$sum" > "$stamp"
done
echo "install-deps: pinned sources installed in $prefix (${libs[*]})"
