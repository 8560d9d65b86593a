#!/usr/bin/env bash
# The main job: build and run examples/quickstart (scale, score, top-k with exclusion, evaluate)
# on ../shared/data/ml-100k when present, on generated data otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
bash scripts/install-deps.sh quickstart
cmake --workflow --preset quickstart
./build/quickstart/examples/quickstart/quickstart --data ../shared/data/ml-100k "$@"
