#!/usr/bin/env bash
# Installs what recfuse builds with, in two steps:
#   1. Debian packages: `scripts/install-deps.sh quickstart` for the library and examples (CLI11,
#      nlohmann-json and cpp-httplib for the example programs and the service),
#      `scripts/install-deps.sh test` for tests, benchmarks and the Conan package test too (plus
#      wrk and curl for the service's load test; apt-get is skipped when everything is there).
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
packages=(cmake make g++ pkg-config libcli11-dev nlohmann-json3-dev libcpp-httplib-dev)
if [ "$mode" = test ]; then
  packages+=(catch2 libbenchmark-dev libtbb-dev python3 python3-venv wrk curl)
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

# ---- 1b. bm25s, the peer the BM25 search is checked against (test mode) ------------------------
# A virtual environment in .cache/bm25s-venv with the pinned tests/search/requirements.txt from
# PyPI, made once; tests/CMakeLists.txt registers the bm25s agreement test when it exists.
if [ "$mode" = test ]; then
  venv="$repo/.cache/bm25s-venv"
  req="$repo/tests/search/requirements.txt"
  if [ -f "$req" ] && ! cmp -s "$req" "$venv/.requirements" 2>/dev/null; then
    echo "install-deps: installing the pinned bm25s peer into $venv (PyPI)"
    rm -rf "$venv"
    if python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"; then
      cp "$req" "$venv/.requirements"
    else
      rm -rf "$venv"
      echo "install-deps: WARNING: could not install bm25s from PyPI; the bm25s agreement test is not registered" >&2
    fi
  fi
fi

# ---- 2. Pinned sources into .cache/deps ---------------------------------------------------------
shared="${RECFUSE_SHARED:-$repo/../shared}"
deps="$shared/deps"
prefix="$repo/.cache/deps"
if [ ! -d "$deps" ]; then
  echo "install-deps: $deps not found (it holds the pinned xsimd, xtl, xtensor and Kokkos sources):"
  echo "install-deps: using whatever find_package finds; recfuse needs xsimd >= 13 (Debian 12's 8.1 is too old)"
  echo "install-deps: and xtensor >= 0.26; point CMAKE_PREFIX_PATH at an install of them, or put shared/ beside the repository"
  exit 0
fi

# The pinned releases and their SHA-256, kept here as well as in $deps/SHA256SUMS: a tarball that
# was swapped together with its checksum file is refused all the same.
declare -A pinned=(
  [xsimd-14.3.0]=fb26a407fc86edb88572479140c8c320798b7840fe5d1d817681d73fbe56c07b
  [xtl-0.8.2]=44d5c16ea5fd0cf75794ca11dfb25ca159d5e546930a9fa31bd8252bc80bcd75
  [xtensor-0.27.1]=2c150d6a59e4c17ff8a6eb4f20a6ea264b195b2425bfd76072abb091669b3dce
  [kokkos-4.6.01]=b9d70e4653b87a06dbb48d63291bf248058c7c7db4bd91979676ad5609bb1a3a
)
# What each install leaves behind, to notice a prefix that was partly deleted.
declare -A marker=(
  [xsimd-14.3.0]=include/xsimd/xsimd.hpp
  [xtl-0.8.2]=include/xtl/xtl_config.hpp
  [xtensor-0.27.1]=include/xtensor/core/xtensor_config.hpp
  [kokkos-4.6.01]=include/Kokkos_Core.hpp
)

libs=(xsimd-14.3.0 xtl-0.8.2 xtensor-0.27.1)
[ "$mode" = test ] && libs+=(kokkos-4.6.01)
work="$repo/.cache/deps-build"
jobs="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
for lib in "${libs[@]}"; do
  tarball="$deps/$lib.tar.gz"
  sum="${pinned[$lib]}"
  stamp="$prefix/.installed-$lib"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && [ -f "$prefix/${marker[$lib]}" ]; then
    continue
  fi
  if [ ! -f "$tarball" ]; then
    echo "install-deps: $tarball is missing (../shared/deps should hold $lib)" >&2
    exit 1
  fi
  got=$(sha256sum "$tarball" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then
    echo "install-deps: $tarball has SHA-256 $got, expected $sum: refusing to build it" >&2
    exit 1
  fi
  echo "install-deps: building $lib into $prefix"
  rm -rf "$work/$lib"
  mkdir -p "$work"
  tar -xzf "$tarball" -C "$work"
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
