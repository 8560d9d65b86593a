#!/usr/bin/env bash
# The main job: build and run examples/pipeline (recfuse-pipeline: factorization, item and
# user autoencoders, item graphs and features fused by a learned MLP; ranking, cold-start items
# and explanations) on ../shared/data/ml-100k when present, on generated data otherwise.
# Extra arguments go to recfuse-pipeline (e.g. --embeddings build/title_embeddings.npy).
set -euo pipefail
cd "$(dirname "$0")/.."
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
bash scripts/install-deps.sh quickstart
cmake --workflow --preset quickstart
./build/quickstart/examples/pipeline/recfuse-pipeline "$@"
