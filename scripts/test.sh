#!/usr/bin/env bash
# The whole test suite: reference tests, the xsimd tests once per x86-64 level the CPU runs
# (SSE2, AVX2+FMA, AVX-512; the others compiled and reported skipped), Kokkos (Serial and
# OpenMP) tests, docs snippets, the examples, the install consumer; where the CUDA toolkit is present (it brings CCCL), also the Thrust tests
# (OMP, CPP and TBB systems, compiled by g++) and the CUDA translation units compiled and linked
# by nvcc; then the reference and xsimd tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer; last, the Conan package is created offline and consumed.
# It first installs its apt packages and builds the pinned sources of ../shared/deps into
# .cache/deps (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
bash scripts/install-deps.sh test
start=$SECONDS
# The CUDA toolkit 12 or newer (C++20 in nvcc; it brings CCCL): /usr/local/cuda, or nvcc on PATH.
nvcc_bin=/usr/local/cuda/bin/nvcc
[ -x "$nvcc_bin" ] || nvcc_bin=$(command -v nvcc || true)
nvcc_major=0
if [ -n "$nvcc_bin" ]; then
  nvcc_major=$("$nvcc_bin" --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p' | head -n 1)
fi
if [ "${nvcc_major:-0}" -ge 12 ]; then
  cmake --workflow --preset test-cuda
else
  echo "test.sh: no CUDA toolkit 12+ (nvcc, CCCL) under /usr/local/cuda or on PATH: the Thrust tests and the CUDA compile are skipped"
  cmake --workflow --preset test
fi
echo "test.sh: main suite took $((SECONDS - start)) s"
cmake --workflow --preset sanitize
echo "test.sh: sanitizer suite done at $((SECONDS - start)) s"
# The Conan package: `conan create` offline (Conan pinned in .cache/conan-venv; xsimd and Kokkos
# from .cache/deps through conan/profiles/offline), consumed through find_package by test_package.
bash scripts/conan-create.sh
echo "test.sh: all suites passed in $((SECONDS - start)) s"
