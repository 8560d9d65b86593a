#!/usr/bin/env bash
# The figures of docs/pipeline.md's fold table: recfuse-pipeline on MovieLens 100K folds u1..u5
# x seeds 1..3 (15 runs, --threads 2), then each figure's mean and sample standard deviation.
#
#   bash examples/pipeline/folds.sh [PROGRAM [DATA_DIR [OUT_DIR]]]
#
# PROGRAM defaults to build/quickstart/examples/pipeline/recfuse-pipeline (bash
# scripts/pipeline.sh builds it), DATA_DIR to ../shared/data/ml-100k, OUT_DIR to
# build/pipeline-folds (one .log and one .json per run; a run whose .json exists is not redone).
set -euo pipefail
cd "$(dirname "$0")/../.."
program=${1:-build/quickstart/examples/pipeline/recfuse-pipeline}
data=${2:-../shared/data/ml-100k}
out=${3:-build/pipeline-folds}
mkdir -p "$out"
for seed in 1 2 3; do
  for fold in 1 2 3 4 5; do
    run="$out/u$fold-s$seed"
    [ -s "$run.json" ] && continue
    "$program" --train "$data/u$fold.base" --test "$data/u$fold.test" --seed "$seed" \
      --threads 2 >"$run.log" 2>&1
    tail -n 1 "$run.log" >"$run.json"
  done
done
keys="rmse_mf rmse_autoencoder rmse_user_autoencoder rmse_fused ndcg@10_mf ndcg@10_fused cold_ndcg@10 cold_ndcg@10_random seconds"
printf '%-8s' run
for k in $keys; do printf ' %s' "$k"; done
printf '\n'
for seed in 1 2 3; do
  for fold in 1 2 3 4 5; do
    printf '%-8s' "u$fold-s$seed"
    for k in $keys; do
      printf ' %s' "$(grep -o "\"$k\": *[-0-9.enul]*" "$out/u$fold-s$seed.json" | sed 's/.*: *//')"
    done
    printf '\n'
  done
done | tee "$out/table.txt"
# mean +- sample standard deviation over the 15 runs, column by column
awk -v keys="$keys" 'BEGIN { n = split(keys, k, " ") }
  { for (i = 2; i <= NF; ++i) { s[i] += $i; q[i] += $i * $i }; ++m }
  END { for (i = 2; i <= n + 1; ++i) {
          mean = s[i] / m; v = (q[i] - m * mean * mean) / (m - 1); sd = v > 0 ? sqrt(v) : 0
          printf "%s: %.4f +- %.4f (%d runs)\n", k[i - 1], mean, sd, m } }' "$out/table.txt"
