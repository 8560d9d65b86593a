#!/usr/bin/env bash
# The whole test suite: reference, xsimd and Kokkos (Serial) tests, docs snippets, the examples,
# the install consumer; where the CUDA toolkit is present (it brings CCCL), also the Thrust tests
# (OMP, CPP and TBB systems, compiled by g++) and the CUDA translation units compiled and linked
# by nvcc; then the reference and xsimd tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
bash scripts/install-deps.sh test
start=$SECONDS
if [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc >/dev/null 2>&1; then
  cmake --workflow --preset test-cuda
else
  echo "test.sh: no CUDA toolkit (nvcc, CCCL) found under /usr/local/cuda or on PATH: the Thrust tests and the CUDA compile are skipped"
  cmake --workflow --preset test
fi
echo "test.sh: main suite took $((SECONDS - start)) s"
cmake --workflow --preset sanitize
echo "test.sh: all suites passed in $((SECONDS - start)) s"
