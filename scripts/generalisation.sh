#!/usr/bin/env bash
# docs/generalisation.md's table: recfuse-mf with its defaults (tuned on a validation split)
# against the baselines on every data set there is: MovieLens 100K u1..u5, Last.FM (implicit,
# per-user 80/20) and the sparse e-commerce proxy built from ML-100K (per-user 80/20). The splits
# are written by tools/make_splits.py into build/generalisation/ (never into the repository); a
# data set whose files are absent is skipped with a message. Prints a Markdown table. The sparse
# proxy is made and measured for every seed of SPARSE_SEEDS (its split is small, so one seed is
# noisy), with the mean of those rows.
#
#   scripts/generalisation.sh [extra recfuse-mf options, e.g. --no-tune or --tune-seconds 5]
# Environment: BUILD (a build folder, default build/test; configured with the test preset when
# it has no CMakeCache.txt), DATA (default ../shared/data), THREADS (default 1; the figures do not
# depend on it), SEED (the splits' seed, default 1), SPARSE_SEEDS (the sparse proxy's split
# seeds, default "1 2 3"; SEED's split is build/generalisation/sparse.*, the others'
# build/generalisation/seedN/sparse.*).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build/test}"
DATA="${DATA:-../shared/data}"
THREADS="${THREADS:-1}"
SEED="${SEED:-1}"
SPARSE_SEEDS="${SPARSE_SEEDS:-1 2 3}"
OUT=build/generalisation
[ -f "$BUILD/CMakeCache.txt" ] || cmake --preset test -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j1 --target recfuse-mf >/dev/null
MF="$BUILD/examples/mf/recfuse-mf"
mkdir -p "$OUT"
python3 tools/make_splits.py "$OUT" --data "$DATA" --seed "$SEED" >&2
# sparse_dir SEED: the folder of that seed's sparse proxy split (made when missing).
sparse_dir() {
  if [ "$1" = "$SEED" ]; then
    echo "$OUT"
  else
    [ -f "$OUT/seed$1/sparse.train" ] ||
      python3 tools/make_splits.py "$OUT/seed$1" --data "$DATA" --seed "$1" --only sparse >&2
    echo "$OUT/seed$1"
  fi
}
# mean_row NAME FIRST LAST: the mean of columns FIRST..LAST of the rows on standard input.
mean_row() {
  awk -F'|' -v name="$1" -v first="$2" -v last="$3" '{for (c = first; c <= last; ++c) s[c] += $c}
    END {printf "| %s |", name; for (c = first; c <= last; ++c) printf " **%.4f** |", s[c] / NR; print ""}'
}

# json KEY...: the keys' values in the JSON line on standard input, tab separated (figures with
# 4 decimals; the settings reg and alpha as they are).
json() {
  python3 -c '
import json, sys
d = json.loads(sys.stdin.read().strip().splitlines()[-1])
def show(k):
    x = d.get(k, "-")
    if not isinstance(x, float):
        return "-" if x is None else str(x)
    return "%g" % x if k in ("reg", "alpha") else "%.4f" % x
print("\t".join(show(k) for k in sys.argv[1:]))
' "$@"
}
mf() { "$MF" --threads "$THREADS" "$@" "${EXTRA[@]}" | tail -1; }
EXTRA=("$@")
expl="rmse_global_mean rmse_biases rmse reg epochs tune_seconds"
impl="ndcg@10_popularity ndcg@10 recall@10_popularity recall@10 reg alpha epochs tune_seconds"

# explicit NAME TRAIN TEST: one row of the explicit table.
explicit() {
  local s a
  s=$(mf --train "$2" --test "$3" --model biased_sgd | json $expl)
  a=$(mf --train "$2" --test "$3" --model biased_als | json rmse reg epochs tune_seconds)
  IFS=$'\t' read -r gm bi sgd sreg sep ssec <<<"$s"
  IFS=$'\t' read -r als areg aep asec <<<"$a"
  echo "| $1 | $gm | $bi | $sgd | $als | $sreg / $sep | $areg / $aep | $ssec / $asec |"
}
# implicit NAME TRAIN TEST [recfuse-mf options]: one row of the implicit table.
implicit() {
  local name=$1 train=$2 test=$3
  shift 3
  IFS=$'\t' read -r pn n pr r reg alpha ep sec <<<"$(mf --train "$train" --test "$test" \
    --model implicit_als "$@" | json $impl)"
  echo "| $name | $pn | $n | $pr | $r | $reg / $alpha / $ep | $sec |"
}

M="$DATA/ml-100k"
echo "Explicit ratings: test RMSE (lower is better)"
echo
echo "| data | global mean | regularised biases | biased_sgd | biased_als | sgd reg / epochs | als reg / iterations | tuning s (sgd / als) |"
echo "|---|---|---|---|---|---|---|---|"
if [ -f "$M/u1.base" ]; then
  rows=()
  for f in 1 2 3 4 5; do
    rows+=("$(explicit "ML-100K u$f" "$M/u$f.base" "$M/u$f.test")")
    echo "${rows[-1]}"
  done
  printf '%s\n' "${rows[@]}" | mean_row "ML-100K mean" 3 6
else
  echo "ML-100K not found in $M: skipped" >&2
fi
if [ -f "$OUT/sparse.train" ]; then
  rows=()
  for s in $SPARSE_SEEDS; do
    d=$(sparse_dir "$s")
    rows+=("$(explicit "sparse proxy, split seed $s" "$d/sparse.train" "$d/sparse.test")")
    echo "${rows[-1]}"
  done
  printf '%s\n' "${rows[@]}" | mean_row "sparse proxy mean" 3 6
else
  echo "sparse proxy not made (no $M/u.data): skipped" >&2
fi
echo
echo "Implicit feedback: NDCG@10 and recall@10 of the top 10, training items excluded (higher is better)"
echo
echo "| data | popularity ndcg@10 | implicit_als ndcg@10 | popularity recall@10 | implicit_als recall@10 | reg / alpha / iterations | tuning s |"
echo "|---|---|---|---|---|---|---|"
if [ -f "$M/u1.base" ]; then
  for f in 1 2 3 4 5; do implicit "ML-100K u$f (rated >= 4 relevant)" "$M/u$f.base" "$M/u$f.test"; done
fi
if [ -f "$OUT/lastfm.train" ]; then
  implicit "Last.FM (log counts, every test artist relevant)" "$OUT/lastfm.train" "$OUT/lastfm.test" \
    --values log --relevance 0
else
  echo "Last.FM not made (no $DATA/lastfm-kg/user_artists.dat): skipped" >&2
fi
if [ -f "$OUT/sparse.train" ]; then
  rows=()
  for s in $SPARSE_SEEDS; do
    d=$(sparse_dir "$s")
    rows+=("$(implicit "sparse proxy, split seed $s (rated >= 4 relevant)" "$d/sparse.train" "$d/sparse.test")")
    echo "${rows[-1]}"
  done
  printf '%s\n' "${rows[@]}" | mean_row "sparse proxy mean" 3 6
fi
