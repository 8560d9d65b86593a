#!/usr/bin/env python3
"""recfuse side by side with the peers users would otherwise pick, on identical data.

Run through bench/peers/run, which creates the virtual environment, builds recfuse_peer and pins
the thread counts. Each comparison generates its arrays with NumPy (fixed seed), writes them as raw
little-endian files, times the peer in this process and the recfuse kernel through recfuse_peer
(both: one warm-up call, then the median of --repeat calls), checks that the two results agree, and
prints one JSON object per comparison on stdout:

  {"component", "peer", "peer_seconds", "recfuse_seconds", "ratio" (peer / recfuse), "threads",
   "repeat", the sizes, "agree", ...}

The factorization comparisons (issue 3) fit models instead of timing one kernel call:

  implicit_als         implicit's AlternatingLeastSquares (CPU, conjugate gradient) vs
                       recfuse::fit_implicit_als on MovieLens 100K u1.base, same factors,
                       regularization, confidence, CG steps, iterations and threads: seconds per
                       sweep (fit seconds / iterations) and ndcg@10, precision@10 on u1.test
                       (every train rating is an interaction of value 1; relevant = test items
                       rated >= 4; the user's train items and items nobody trained on are never
                       recommended; users without a relevant item are skipped)
  implicit_als_large   the same fit on a generated power-law data set: seconds per sweep, and the
                       training loss each side reaches (one objective, computed here in NumPy)
  biased_sgd           scikit-surprise SVD vs recfuse::fit_biased_sgd on u1.base with recfuse's
                       default factors, epochs, learning rate and regularisation (no learning
                       rate decay on either side: surprise has none): fit seconds and RMSE on u1.test
  biased_sgd_defaults  what users get out of the box: SVD() vs fit_biased_sgd with sgd_options{}

These time one warm-up fit and then min(--repeat, 3) fits (median; 1 with --quick), except
implicit_als_large, which times a single fit per side. --full runs the MovieLens comparisons on
all five folds u1..u5 (seconds: median of every timed fit; metrics: mean over folds). The
MovieLens files are read from --data-dir (default $RECFUSE_ML100K, else shared/data/ml-100k
beside the repository); without them those comparisons are skipped.

The neural and graph comparisons (issue 4) run PyTorch on the CPU (torch.set_num_threads(threads),
float32) against the xsimd kernels:

  mlp_forward_b1, mlp_forward_b64, mlp_forward_b4096
                       a 64-256-128-1 MLP (relu, relu, identity) on a batch of 1, 64 or 4096 rows:
                       nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) under torch.inference_mode()
                       vs recfuse::nn::forward with the same weights (NumPy draws them like
                       torch.nn.Linear's init, U(-1/sqrt(in), 1/sqrt(in)), and both sides load
                       them). Each timed repeat loops many calls (the per-call time of a small
                       batch is microseconds); seconds are per call, and "gflops" counts
                       2 * batch * (64*256 + 256*128 + 128*1). Agreement: both outputs within
                       1e-4 of a float64 NumPy forward, relative to the largest |output|.
  mlp_train_step       one training step at batch 4096 (mlp_train_step_b256: batch 256): torch
                       zero_grad, MSE loss, backward, torch.optim.Adam(lr=1e-3).step vs
                       recfuse::nn::train_step(loss::mse) with adam(lr 1e-3). Timed steps keep
                       training one network; the check compares the weights after ONE step from
                       the shared start: |recfuse - torch| <= 1e-3 |torch| or <= 1e-6 per weight,
                       except weights whose float64 gradient is within float32 summation noise of
                       zero (Adam's first step moves every weight by about lr * sign(gradient), so
                       the sign of a gradient that rounds either way decides a 2e-3 difference);
                       those are counted and reported, and must be rare.
  graph_mean_sparse_mm, graph_mean_scatter
                       mean aggregation of 64-wide float32 features over a generated power-law
                       directed graph (100,000 nodes, about 1,000,000 edges; destinations drawn
                       with Pareto(1.5) weights, so in-degrees are heavy-tailed and some nodes
                       have none; sources uniform; repeated (destination, source) pairs are kept,
                       counted once per occurrence on both sides). recfuse::graph::aggregate
                       (aggregation::mean) on a CSR (row = destination, entries = sources, sorted)
                       vs (sparse_mm) torch.sparse.mm of the row-normalised adjacency with X, CSR
                       and coalesced COO both timed, the faster is the peer; (scatter) PyG-style
                       out.index_add_(0, dst, X[src]) / degree and
                       out.scatter_reduce_(..., reduce="mean", include_self=False), the faster is
                       the peer. "gb_per_s": edges * 64 * 4 bytes of gathered neighbour rows per
                       second on each side. Agreement: within 1e-5 of a float64 SciPy product.

The search comparison (issue 13) runs bm25s (method="lucene") against recfuse::search:

  bm25                 a generated corpus (200,000 documents of 1 to 24 tokens, Zipf(1.1)-like over
                       a 50,000-word vocabulary) and 10,000 queries of 1 to 4 tokens drawn from the
                       corpus' own token stream (so query words follow the corpus' frequencies);
                       both sides get the same token lists, k1 1.5, b 0.75. Timed: batch query
                       scoring and top-10 of all queries from token lists (bm25s:
                       BM25.retrieve(queries, k=10, n_threads=threads); recfuse: index.encode +
                       search::bm25_topk on exec::xsimd{threads}); index builds are timed once and
                       reported apart ("peer_build_seconds", "recfuse_build_seconds"), as is
                       recfuse's scoring alone on encoded queries ("recfuse_scoring_seconds").
                       bm25s runs with its numba backend (numba is in requirements.txt; its
                       numpy backend, about 20 times slower, only without numba or with --quick,
                       when the faster of the two is the peer: "peer_backend"). Agreement, per query:
                       recfuse's scores / (k1 + 1) (bm25s's lucene variant leaves out that
                       constant factor) equal bm25s's rank by rank within 1e-5 relative, over the
                       items bm25s scores above 0, and recfuse's ids are distinct.

"fraction_of_peak" (mlp_forward_b4096, mlp_train_step) divides recfuse's GFLOP/s by the fp32 FMA
peak of `threads` cores: --fma-peak-gflops when given, else `threads` times the 1-thread figure of
the `ceilings` program beside recfuse_peer (bench/ceilings.cpp), run once; the 1-thread figure is
used because a second core busy with other work drags the 2-thread figure down on a shared machine.
Training counts 3x the forward flops (forward, gradient of the input of each layer but the first,
gradient of the weights; the first layer's input gradient is skipped, so this slightly overcounts).

A comparison whose recfuse component is not built yet prints {"component", "peer", "skipped"}.
Progress and a closing table go to stderr. The exit status is 1 when any comparison disagrees or
fails, 0 otherwise (skips included).
"""

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recfuse-peer", required=True, help="path to the recfuse_peer program")
    p.add_argument("--threads", type=int, default=2, help="threads on both sides (default 2)")
    p.add_argument("--repeat", type=int, default=None, help="timed calls per side (default 7, 3 with --quick)")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    p.add_argument("--only", default="", help="comma-separated components to run (default: all)")
    p.add_argument("--seed", type=int, default=20240611)
    p.add_argument("--full", action="store_true", help="MovieLens comparisons on all five folds u1..u5")
    p.add_argument("--fma-peak-gflops", type=float, default=None,
                   help="fp32 FMA peak of --threads cores (default: threads x ceilings' 1-thread figure)")
    p.add_argument("--data-dir", default=None,
                   help="MovieLens 100K folder (default $RECFUSE_ML100K, else shared/data/ml-100k beside the repo)")
    args = p.parse_args()
    if args.threads < 1:
        p.error("--threads must be at least 1")
    if args.repeat is None:
        args.repeat = 3 if args.quick else 7
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.data_dir is None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        args.data_dir = os.environ.get("RECFUSE_ML100K") or os.path.join(
            os.path.dirname(root), "shared", "data", "ml-100k")
    return args


ARGS = parse_args()
# Thread pools read these when their libraries load, so they are set before the imports below;
# bench/peers/run exports them too.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import faiss  # noqa: E402
import sklearn  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse  # noqa: E402
import threadpoolctl  # noqa: E402
import implicit  # noqa: E402
from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402
import surprise  # noqa: E402
from surprise.model_selection import PredefinedKFold  # noqa: E402
import torch  # noqa: E402
import bm25s  # noqa: E402

faiss.omp_set_num_threads(ARGS.threads)
torch.set_num_threads(ARGS.threads)

SIZES = {
    False: {"topk": (1000, 100_000, 64, 10), "seen": 50, "scaler": (10_000, 1024), "rmse": 10_000_000,
            # generated power-law set: users, items, draws (before de-duplication), iterations
            "als_large": (200_000, 50_000, 16_000_000, 5),
            # cap on ALS iterations / SGD epochs on MovieLens (None: the settings' own)
            "fit_cap": None, "fit_repeat": min(ARGS.repeat, 3),
            # calls per timed repeat of the MLP forward by batch; train steps per repeat by batch
            "mlp_calls": {1: 2000, 64: 500, 4096: 10}, "train_calls": {4096: 5, 256: 50},
            # graph: nodes, edges, feature width
            "graph": (100_000, 1_000_000, 64),
            # bm25: documents, vocabulary, queries, k
            "bm25": (200_000, 50_000, 10_000, 10)},
    True: {"topk": (100, 10_000, 64, 10), "seen": 50, "scaler": (1000, 256), "rmse": 100_000,
           "als_large": (20_000, 5_000, 200_000, 2), "fit_cap": 3, "fit_repeat": 1,
           "mlp_calls": {1: 20, 64: 5, 4096: 1}, "train_calls": {4096: 1, 256: 2},
           "graph": (10_000, 100_000, 64),
           "bm25": (5_000, 2_000, 200, 10)},
}[ARGS.quick]


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def time_calls(fn, repeat):
    """One warm-up call, then `repeat` timed calls: (median, min, last result)."""
    out = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), out


class Skipped(Exception):
    pass


def run_recfuse(component, files, sizes, out=None, repeat=None, threads=None):
    repeat = ARGS.repeat if repeat is None else repeat
    threads = ARGS.threads if threads is None else threads
    cmd = [ARGS.recfuse_peer, component, "--threads", str(threads), "--repeat", str(repeat)]
    for key, value in list(files.items()) + list(sizes.items()):
        cmd += ["--" + key, str(value)]
    if out is not None:
        cmd += ["--out", out]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode == 3 and lines:
        raise Skipped(json.loads(lines[-1]).get("skipped", "not built"))
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}: {proc.stderr.strip()}")
    return json.loads(lines[-1])


def write(path, array, dtype):
    np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tofile(path)
    return path


# ---- comparisons: each returns the fields of its JSON line -------------------------------------


def compare_rmse(tmp, rng):
    n = SIZES["rmse"]
    a = rng.standard_normal(n, dtype=np.float32)
    b = (a + 0.25 * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)
    files = {"a": write(f"{tmp}/rmse_a.f32", a, np.float32), "b": write(f"{tmp}/rmse_b.f32", b, np.float32)}
    rec = run_recfuse("rmse", files, {"n": n})
    peer_s, peer_min, peer_value = time_calls(lambda: np.sqrt(np.mean((a - b) ** 2)), ARGS.repeat)
    exact = float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))
    rec_value = rec["value"]
    # NumPy sums float32 pairwise in float32; recfuse accumulates in double.
    rec_err = abs(rec_value - exact) / exact
    peer_diff = abs(float(peer_value) - rec_value) / exact
    return {
        "component": "rmse",
        "peer": "numpy: np.sqrt(np.mean((a - b) ** 2))",
        "peer_seconds": peer_s,
        "recfuse_seconds": rec["seconds"],
        "peer_min_seconds": peer_min,
        "recfuse_min_seconds": rec["min_seconds"],
        "n": n,
        "dtype": "float32",
        "agree": rec_err <= 1e-6 and peer_diff <= 1e-5,
        "recfuse_rel_error": rec_err,
        "peer_rel_diff": peer_diff,
    }


def check_topk(queries, items, peer_idx, rec_idx, rec_val, k, seen_rows=None):
    """Both sides agree when, row by row, the exact (float64) scores of the items each picked match
    up to float32 rounding: the index sets may differ only among items whose scores tie to within
    that rounding. recfuse's result must also be valid: k distinct ids, best first, none seen."""
    m = queries.shape[0]
    q64 = queries.astype(np.float64)
    worst = 0.0
    rows_differing = 0
    problems = []
    for i in range(m):
        r = rec_idx[i]
        p = peer_idx[i]
        if np.any(r < 0) or len(set(r.tolist())) != k:
            problems.append(f"row {i}: recfuse ids {r.tolist()} are not {k} distinct items")
            continue
        if seen_rows is not None and np.isin(r, seen_rows[i]).any():
            problems.append(f"row {i}: recfuse returned an excluded item")
            continue
        exact_r = items[r].astype(np.float64) @ q64[i]
        exact_p = items[p].astype(np.float64) @ q64[i]
        scale = max(1.0, float(np.abs(exact_r).max()))
        tol = 1e-5 * scale * np.sqrt(queries.shape[1])
        if np.any(np.abs(rec_val[i].astype(np.float64) - exact_r) > tol):
            problems.append(f"row {i}: recfuse values differ from the exact scores of its ids")
        if np.any(np.diff(rec_val[i]) > 0):
            problems.append(f"row {i}: recfuse values are not best first")
        diff = float(np.abs(np.sort(exact_r) - np.sort(exact_p)).max())
        worst = max(worst, diff / scale)
        if diff > tol:
            problems.append(f"row {i}: top-{k} scores differ by {diff:g}")
        if set(r.tolist()) != set(p.tolist()):
            rows_differing += 1
    return {
        "agree": not problems,
        "rows_with_other_ids": rows_differing,
        "max_score_rel_diff": worst,
        **({"problems": problems[:5]} if problems else {}),
    }


def topk_data(rng):
    m, n, d, k = SIZES["topk"]
    queries = rng.standard_normal((m, d), dtype=np.float32)
    items = rng.standard_normal((n, d), dtype=np.float32)
    return queries, items, m, n, d, k


def compare_topk(tmp, queries, items, m, n, d, k):
    files = {
        "queries": write(f"{tmp}/topk_q.f32", queries, np.float32),
        "items": write(f"{tmp}/topk_items.f32", items, np.float32),
    }
    rec = run_recfuse("topk_inner_product", files, {"m": m, "n": n, "d": d, "k": k}, out=f"{tmp}/topk_out")
    index = faiss.IndexFlatIP(d)
    index.add(items)
    peer_s, peer_min, (_, peer_idx) = time_calls(lambda: index.search(queries, k), ARGS.repeat)
    rec_idx = np.fromfile(f"{tmp}/topk_out.indices", dtype="<i8").reshape(m, k)
    rec_val = np.fromfile(f"{tmp}/topk_out.values", dtype="<f4").reshape(m, k)
    return {
        "component": "topk_inner_product",
        "peer": "faiss.IndexFlatIP.search",
        "peer_seconds": peer_s,
        "recfuse_seconds": rec["seconds"],
        "peer_min_seconds": peer_min,
        "recfuse_min_seconds": rec["min_seconds"],
        "m": m, "n": n, "d": d, "k": k,
        "flops": 2 * d * m * n,
        **check_topk(queries, items, peer_idx, rec_idx, rec_val, k),
    }


def seen_items(rng, queries, items):
    """About SIZES['seen'] seen items per user (40 to 60% more or less, so rows differ), half of
    them drawn from the user's own top 50 so that the exclusion changes the answer."""
    m, n = queries.shape[0], items.shape[0]
    mean = SIZES["seen"]
    counts = rng.integers(int(mean * 0.8), int(mean * 1.2) + 1, size=m)
    top = 50
    rows = []
    for b in range(0, m, 256):
        scores = queries[b:b + 256] @ items.T
        best = np.argpartition(-scores, top, axis=1)[:, :top]
        for i in range(best.shape[0]):
            c = int(counts[b + i])
            chosen = set(rng.choice(best[i], size=c // 2, replace=False).tolist())
            while len(chosen) < c:
                chosen.update(rng.integers(0, n, size=c - len(chosen)).tolist())
            rows.append(np.array(sorted(chosen), dtype=np.int32))
    offsets = np.zeros(m + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in rows])
    return rows, offsets, np.concatenate(rows).astype(np.int32)


def compare_topk_exclude(tmp, rng, queries, items, m, n, d, k):
    seen_rows, offsets, seen = seen_items(rng, queries, items)
    files = {
        "queries": write(f"{tmp}/topk_q.f32", queries, np.float32),
        "items": write(f"{tmp}/topk_items.f32", items, np.float32),
        "exclude-offsets": write(f"{tmp}/seen_offsets.i64", offsets, np.int64),
        "exclude-indices": write(f"{tmp}/seen_indices.i32", seen, np.int32),
    }
    rec = run_recfuse("topk_inner_product", files, {"m": m, "n": n, "d": d, "k": k}, out=f"{tmp}/topkx_out")
    index = faiss.IndexFlatIP(d)
    index.add(items)
    counts = np.diff(offsets)
    max_seen = int(counts.max())

    def peer():
        # What users do: search k + (most items any user has seen), then drop each row's seen
        # items and keep the first k that remain.
        dist, ids = index.search(queries, k + max_seen)
        row_of_seen = np.repeat(np.arange(m, dtype=np.int64), counts)
        seen_keys = row_of_seen * n + seen
        keys = np.arange(m, dtype=np.int64)[:, None] * n + ids
        drop = np.isin(keys, seen_keys)
        keep = np.argsort(drop, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(dist, keep, 1), np.take_along_axis(ids, keep, 1)

    peer_s, peer_min, (_, peer_idx) = time_calls(peer, ARGS.repeat)
    rec_idx = np.fromfile(f"{tmp}/topkx_out.indices", dtype="<i8").reshape(m, k)
    rec_val = np.fromfile(f"{tmp}/topkx_out.values", dtype="<f4").reshape(m, k)
    return {
        "component": "topk_inner_product_exclude",
        "peer": "faiss.IndexFlatIP.search(k + max_seen) + numpy filter",
        "peer_seconds": peer_s,
        "recfuse_seconds": rec["seconds"],
        "peer_min_seconds": peer_min,
        "recfuse_min_seconds": rec["min_seconds"],
        "m": m, "n": n, "d": d, "k": k,
        "seen_per_user_mean": float(counts.mean()), "seen_per_user_max": max_seen,
        "flops": 2 * d * m * n,
        **check_topk(queries, items, peer_idx, rec_idx, rec_val, k, seen_rows),
    }


def scaler_data(rng):
    rows, cols = SIZES["scaler"]
    loc = rng.uniform(-10, 10, size=cols).astype(np.float32)
    scale = rng.uniform(0.5, 5, size=cols).astype(np.float32)
    x = (rng.standard_normal((rows, cols), dtype=np.float32) * scale + loc).astype(np.float32)
    return x, rows, cols


def compare_scaler(tmp, x, rows, cols, stage):
    files = {"x": write(f"{tmp}/scaler_x.f32", x, np.float32)}
    component = f"standard_scaler_{stage}"
    rec = run_recfuse(component, files, {"rows": rows, "cols": cols}, out=f"{tmp}/scaler_out.f32")
    if stage == "fit":
        peer_s, peer_min, _ = time_calls(lambda: StandardScaler().fit(x), ARGS.repeat)
        peer_name = "sklearn StandardScaler().fit"
    else:
        fitted = StandardScaler().fit(x)
        peer_s, peer_min, _ = time_calls(lambda: fitted.transform(x, copy=True), ARGS.repeat)
        peer_name = "sklearn StandardScaler.transform(copy=True)"
    expected = StandardScaler().fit(x).transform(x, copy=True)
    got = np.fromfile(f"{tmp}/scaler_out.f32", dtype="<f4").reshape(rows, cols)
    diff = float(np.abs(got.astype(np.float64) - expected).max())
    return {
        "component": component,
        "peer": peer_name,
        "peer_seconds": peer_s,
        "recfuse_seconds": rec["seconds"],
        "peer_min_seconds": peer_min,
        "recfuse_min_seconds": rec["min_seconds"],
        "rows": rows, "cols": cols, "dtype": "float32",
        # Both sides standardise the same data: outputs are ~N(0, 1), so float32 rounding of the
        # mean and scale shows up as ~1e-6; 1e-4 leaves room and still catches a wrong formula.
        "agree": diff <= 1e-4,
        "max_abs_diff": diff,
    }


# ---- factorization (issue 3) -------------------------------------------------------------------

RANK_K = 10


@functools.cache
def recfuse_defaults():
    """recfuse's default options (sgd_options{}, implicit_als_options{}) as recfuse_peer reports them,
    so the peers follow the defaults when they are tuned."""
    proc = subprocess.run([ARGS.recfuse_peer, "defaults"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"recfuse_peer defaults exited with {proc.returncode}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def folds():
    return [1, 2, 3, 4, 5] if ARGS.full else [1]


def capped(count):
    cap = SIZES["fit_cap"]
    return count if cap is None else min(count, cap)


@functools.cache
def movielens(fold):
    """u{fold}.base and u{fold}.test as int64 (user, item, rating) rows, ids from 1 as in the files."""
    paths = [os.path.join(ARGS.data_dir, f"u{fold}.{part}") for part in ("base", "test")]
    for path in paths:
        if not os.path.exists(path):
            raise Skipped(f"MovieLens 100K not found: {path} (set --data-dir or RECFUSE_ML100K)")
    base, test = (np.loadtxt(path, dtype=np.int64, usecols=(0, 1, 2)) for path in paths)
    return base, test, paths


def csr_rows(rows, n_rows):
    """Per-row id arrays -> (int64 offsets, int32 indices)."""
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in rows])
    indices = np.concatenate(rows).astype(np.int32) if rows else np.zeros(0, np.int32)
    return offsets, indices


def time_fits(make, fit, repeat, warmup=True):
    """One untimed warm-up fit (unless warmup is False), then `repeat` timed fits of fresh models:
    (seconds of each, the last model)."""
    if warmup:
        fit(make())
    times = []
    model = None
    for _ in range(repeat):
        model = make()
        t0 = time.perf_counter()
        fit(model)
        times.append(time.perf_counter() - t0)
    return times, model


def ranking_metrics(recs, rel_offsets, rel_indices, k):
    """precision, recall and ndcg at k with binary gains, as recfuse/metrics/ranking.hpp defines
    them: ideal DCG over min(k, |relevant|) positions, precision = hits / k, a repeated id counts
    once, users without a relevant item are skipped."""
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    users = 0
    precision = recall = ndcg = 0.0
    for u in range(recs.shape[0]):
        relevant = set(rel_indices[rel_offsets[u]:rel_offsets[u + 1]].tolist())
        if not relevant:
            continue
        users += 1
        seen = set()
        hits = 0
        dcg = 0.0
        for i, item in enumerate(recs[u, :k].tolist()):
            if item in relevant and item not in seen:
                hits += 1
                dcg += discount[i]
            seen.add(item)
        precision += hits / k
        recall += hits / len(relevant)
        ndcg += dcg / float(discount[:min(len(relevant), k)].sum())
    if users == 0:
        raise RuntimeError("no user has a relevant item")
    return {"precision": precision / users, "recall": recall / users, "ndcg": ndcg / users, "users": users}


def topk_excluding(user_factors, item_factors, ex_offsets, ex_indices, k):
    """Best k items per user by inner product, best first, ties to the smaller id (recfuse's
    order), never an excluded item."""
    scores = user_factors.astype(np.float32) @ item_factors.astype(np.float32).T
    rows = np.repeat(np.arange(scores.shape[0]), np.diff(ex_offsets))
    scores[rows, ex_indices] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def check_recs(recs, ex_offsets, ex_indices, k):
    """Problems with recfuse's recommendations: padding, repeats or excluded items."""
    problems = []
    for u in range(recs.shape[0]):
        r = recs[u].tolist()
        if min(r) < 0 or len(set(r)) != k:
            problems.append(f"user {u}: ids {r} are not {k} distinct items")
        elif np.isin(recs[u], ex_indices[ex_offsets[u]:ex_offsets[u + 1]]).any():
            problems.append(f"user {u}: an excluded item was recommended")
    return problems


@functools.cache
def implicit_fold(fold):
    """MovieLens fold as implicit feedback: every train rating an interaction of value 1; exclusion =
    the user's train items plus items with no train interaction (so both sides rank the same
    candidates); relevant = test items rated >= 4."""
    base, test, paths = movielens(fold)
    users = int(max(base[:, 0].max(), test[:, 0].max()))
    items = int(max(base[:, 1].max(), test[:, 1].max()))
    train = scipy.sparse.csr_matrix(
        (np.ones(len(base), dtype=np.float32), (base[:, 0] - 1, base[:, 1] - 1)), shape=(users, items))
    train.sum_duplicates()
    train.data[:] = 1.0  # a pair rated twice is still one interaction of value 1
    train.sort_indices()
    untrained = np.flatnonzero(np.diff(train.tocsc().indptr) == 0)
    exclude = [np.union1d(train.indices[train.indptr[u]:train.indptr[u + 1]], untrained) for u in range(users)]
    liked = test[test[:, 2] >= 4]
    relevant = [np.unique(liked[liked[:, 0] == u + 1, 1] - 1) for u in range(users)]
    return {"train": train, "users": users, "items": items, "exclude": csr_rows(exclude, users),
            "relevant": csr_rows(relevant, users), "untrained_items": len(untrained), "paths": paths}


def write_interactions(tmp, prefix, csr):
    coo = csr.tocoo()
    return {
        "train-user": write(f"{tmp}/{prefix}_user.i32", coo.row, np.int32),
        "train-item": write(f"{tmp}/{prefix}_item.i32", coo.col, np.int32),
        "train-value": write(f"{tmp}/{prefix}_value.f32", coo.data, np.float32),
    }


def implicit_settings():
    d = recfuse_defaults()["implicit_als"]
    return {"factors": d["factors"], "iterations": capped(d["iterations"]), "regularization": d["regularization"],
            "alpha": d["alpha"], "cg_steps": d["cg_steps"]}


def make_implicit(st):
    def make():
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):  # else it warns
            return make_model()

    def make_model():
        # implicit scales the matrix by alpha and uses c = alpha * value (its _als.pyx CG solver:
        # A = Y^T Y + reg I + sum (c - 1) y y^T, b = sum c y); recfuse uses c = 1 + alpha * value. With
        # values 1, implicit's alpha = 1 + recfuse's alpha gives both the same c and objective.
        model = AlternatingLeastSquares(factors=st["factors"], regularization=st["regularization"],
                                        alpha=1.0 + st["alpha"], iterations=st["iterations"], use_cg=True,
                                        num_threads=ARGS.threads, random_state=ARGS.seed, dtype=np.float32)
        model.cg_steps = st["cg_steps"]
        return model
    return make


def fit_implicit(train):
    def fit(model):
        # implicit's advice (it warns otherwise): BLAS single-threaded inside its own OpenMP loop.
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
            model.fit(train, show_progress=False)
    return fit


def implicit_rec_sizes(st):
    return {"factors": st["factors"], "iterations": st["iterations"], "reg": st["regularization"],
            "alpha": st["alpha"], "cg-steps": st["cg_steps"]}


def compare_implicit_als(tmp):
    st = implicit_settings()
    repeat = SIZES["fit_repeat"]
    peer_times, rec_times, per_fold, problems = [], [], [], []
    for fold in folds():
        data = implicit_fold(fold)
        users, items, train = data["users"], data["items"], data["train"]
        ex_off, ex_idx = data["exclude"]
        rel_off, rel_idx = data["relevant"]
        files = write_interactions(tmp, "als", train)
        files.update({
            "exclude-offsets": write(f"{tmp}/als_ex_off.i64", ex_off, np.int64),
            "exclude-indices": write(f"{tmp}/als_ex_idx.i32", ex_idx, np.int32),
            "relevant-offsets": write(f"{tmp}/als_rel_off.i64", rel_off, np.int64),
            "relevant-indices": write(f"{tmp}/als_rel_idx.i32", rel_idx, np.int32),
        })
        sizes = {"users": users, "items": items, "nnz": train.nnz, "k": RANK_K, **implicit_rec_sizes(st)}
        rec = run_recfuse("implicit_als", files, sizes, out=f"{tmp}/als_out", repeat=repeat)
        rec_recs = np.fromfile(f"{tmp}/als_out.recs", dtype="<i8").reshape(users, RANK_K)
        problems += [f"u{fold}: {p}" for p in check_recs(rec_recs, ex_off, ex_idx, RANK_K)]
        rec_check = ranking_metrics(rec_recs, rel_off, rel_idx, RANK_K)
        for key in ("ndcg", "precision", "recall"):
            if abs(rec_check[key] - rec[key]) > 1e-9:
                problems.append(f"u{fold}: recfuse {key} {rec[key]} but {rec_check[key]} recomputed here")
        times, model = time_fits(make_implicit(st), fit_implicit(train), repeat)
        peer_recs = topk_excluding(model.user_factors, model.item_factors, ex_off, ex_idx, RANK_K)
        peer = ranking_metrics(peer_recs, rel_off, rel_idx, RANK_K)
        peer_times += times
        rec_times += rec["fit_seconds_all"]
        per_fold.append({"fold": fold, "users_evaluated": peer["users"], "peer_ndcg": peer["ndcg"],
                         "recfuse_ndcg": rec["ndcg"], "peer_precision": peer["precision"],
                         "recfuse_precision": rec["precision"], "peer_recall": peer["recall"],
                         "recfuse_recall": rec["recall"], "train_interactions": int(train.nnz)})
    mean = {key: float(np.mean([f[key] for f in per_fold])) for key in per_fold[0]
            if key.startswith(("peer_", "recfuse_"))}
    iters = st["iterations"]
    peer_fit = statistics.median(peer_times)
    rec_fit = statistics.median(rec_times)
    # recfuse must not rank much worse than implicit on the same objective (a loose guard: a
    # broken solver lands far below; quick mode's 3 sweeps are noisier).
    close = bool(mean["recfuse_ndcg"] >= 0.85 * mean["peer_ndcg"] - 0.01)
    if not close:
        problems.append(f"recfuse ndcg@{RANK_K} {mean['recfuse_ndcg']:.4f} is far below implicit's {mean['peer_ndcg']:.4f}")
    return {
        "component": "implicit_als",
        "peer": f"implicit {implicit.__version__} AlternatingLeastSquares (CPU, CG)",
        "peer_seconds": peer_fit / iters,
        "recfuse_seconds": rec_fit / iters,
        "seconds": "per sweep (fit seconds / iterations), median fit",
        "peer_fit_seconds": peer_fit, "recfuse_fit_seconds": rec_fit,
        "peer_min_fit_seconds": min(peer_times), "recfuse_min_fit_seconds": min(rec_times),
        "fit_repeat": repeat, "recfuse_kernel": rec["kernel"],
        "data": f"MovieLens 100K {', '.join(f'u{f}' for f in folds())}, values 1, relevant = test rating >= 4",
        "users": data["users"], "items": data["items"], "untrained_items_excluded": data["untrained_items"],
        **({"train_interactions": per_fold[0]["train_interactions"]} if len(per_fold) == 1 else {}),
        "users_evaluated": sum(f["users_evaluated"] for f in per_fold),
        "k": RANK_K,
        **{f"{key}@{RANK_K}": value for key, value in mean.items()},
        **({"per_fold": per_fold} if len(per_fold) > 1 else {}),
        "settings": {**st, "recfuse_alpha": st["alpha"], "implicit_alpha": 1.0 + st["alpha"],
                     "confidence": f"1 + {st['alpha']:g} on both sides"},
        "agree": not problems,
        **({"problems": problems[:5]} if problems else {}),
    }


def power_law_interactions(rng, users, items, draws):
    """Seeded power-law implicit data: `draws` (user, item) pairs, user activity ~ rank^-0.5 and item
    popularity ~ rank^-0.7 (continuous inverse-CDF draws, ranks shuffled into ids), de-duplicated,
    every value 1. Users x items CSR, rows sorted."""
    def ids(n, exponent):
        top = (n + 1.0) ** (1.0 - exponent) - 1.0
        rank = np.power(1.0 + rng.random(draws) * top, 1.0 / (1.0 - exponent)).astype(np.int64) - 1
        return rng.permutation(n)[np.minimum(rank, n - 1)]
    keys = np.sort(ids(users, 0.5) * items + ids(items, 0.7))
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # np.unique is far slower here
    indptr = np.zeros(users + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(keys // items, minlength=users))
    cols = (keys % items).astype(np.int32)
    return scipy.sparse.csr_matrix((np.ones(len(keys), dtype=np.float32), cols, indptr), shape=(users, items))


def implicit_loss(csr, x, y, regularization, alpha):
    """The implicit-ALS objective both sides minimise, normalised as implicit's calculate_loss:
    [sum_ui c_ui (p_ui - x_u . y_i)^2 + reg (|X|^2 + |Y|^2)] / (sum c over observed + unobserved),
    c = 1 + alpha * value, p = 1 where observed."""
    x64 = x.astype(np.float64)
    y64 = y.astype(np.float64)
    total = float(np.sum((x64.T @ x64) * (y64.T @ y64)))  # sum over every (u, i) of (x_u . y_i)^2
    total += regularization * (float(np.sum(x64 * x64)) + float(np.sum(y64 * y64)))
    del x64, y64
    coo = csr.tocoo()
    conf = 1.0 + alpha * coo.data.astype(np.float64)
    step = 1 << 17  # float32 dot products of the observed pairs, summed in float64
    for b in range(0, len(conf), step):
        s = np.einsum("ij,ij->i", x[coo.row[b:b + step]], y[coo.col[b:b + step]]).astype(np.float64)
        total += float(np.sum(conf[b:b + step] * (1.0 - s) ** 2 - s * s))
    return total / (conf.sum() + csr.shape[0] * csr.shape[1] - csr.nnz)


def compare_implicit_als_large(tmp, rng):
    users, items, draws, iters = SIZES["als_large"]
    st = {**implicit_settings(), "iterations": iters}
    t0 = time.perf_counter()
    train = power_law_interactions(rng, users, items, draws)
    log(f"   generated {users} x {items}, {train.nnz} interactions in {time.perf_counter() - t0:.1f} s")
    files = write_interactions(tmp, "alsl", train)
    sizes = {"users": users, "items": items, "nnz": train.nnz, "warmup": 0, **implicit_rec_sizes(st)}
    rec = run_recfuse("implicit_als", files, sizes, repeat=1, out=f"{tmp}/alsl_out")
    rec_x = np.fromfile(f"{tmp}/alsl_out.user_factors", dtype="<f4").reshape(users, st["factors"])
    rec_y = np.fromfile(f"{tmp}/alsl_out.item_factors", dtype="<f4").reshape(items, st["factors"])
    rec_loss = implicit_loss(train, rec_x, rec_y, st["regularization"], st["alpha"])
    del rec_x, rec_y
    times, model = time_fits(make_implicit(st), fit_implicit(train), 1, warmup=False)
    peer_loss = implicit_loss(train, model.user_factors, model.item_factors, st["regularization"], st["alpha"])
    counts = np.diff(train.indptr)
    # Same objective, same number of sweeps from different random starts: the losses should be
    # close; a solver that diverges or stalls is far off.
    close = bool(abs(rec_loss - peer_loss) <= 0.1 * abs(peer_loss))
    return {
        "component": "implicit_als_large",
        "peer": f"implicit {implicit.__version__} AlternatingLeastSquares (CPU, CG)",
        "peer_seconds": times[0] / iters,
        "recfuse_seconds": rec["fit_seconds_all"][0] / iters,
        "seconds": "per sweep (fit seconds / iterations), one timed fit per side, no warm-up",
        "peer_fit_seconds": times[0], "recfuse_fit_seconds": rec["fit_seconds_all"][0],
        "fit_repeat": 1, "recfuse_kernel": rec["kernel"],
        "data": "generated power law (user activity rank^-0.5, item popularity rank^-0.7), values 1",
        "users": users, "items": items, "interactions": int(train.nnz),
        "interactions_per_user_max": int(counts.max()),
        "interactions_per_item_max": int(np.diff(train.tocsc().indptr).max()),
        "settings": {**st, "recfuse_alpha": st["alpha"], "implicit_alpha": 1.0 + st["alpha"]},
        "peer_loss": peer_loss, "recfuse_loss": rec_loss,
        "agree": close,
        **({} if close else {"problems": [f"losses differ: recfuse {rec_loss:.6g}, implicit {peer_loss:.6g}"]}),
    }


@functools.cache
def explicit_fold(fold):
    """MovieLens fold for biased MF: 0-based ids over the files' id range; a test user or item with
    no train rating gets id -1 (unseen: recfuse falls back to the biases, as surprise does)."""
    base, test, paths = movielens(fold)
    users = int(max(base[:, 0].max(), test[:, 0].max()))
    items = int(max(base[:, 1].max(), test[:, 1].max()))
    known_u = np.zeros(users + 1, bool)
    known_u[base[:, 0]] = True
    known_i = np.zeros(items + 1, bool)
    known_i[base[:, 1]] = True
    tu = np.where(known_u[test[:, 0]], test[:, 0] - 1, -1)
    ti = np.where(known_i[test[:, 1]], test[:, 1] - 1, -1)
    data = surprise.Dataset.load_from_folds([tuple(paths)], surprise.Reader("ml-100k"))
    trainset, testset = next(PredefinedKFold().split(data))
    return {"users": users, "items": items, "base": base, "test": test, "test_user": tu, "test_item": ti,
            "trainset": trainset, "testset": testset}


def compare_biased_sgd(tmp, defaults):
    d = recfuse_defaults()["sgd"]
    repeat = SIZES["fit_repeat"]
    if defaults:
        # Out of the box: sgd_options{} against SVD(); only --quick caps the epochs.
        rec_opts = {"epochs": capped(d["epochs"])} if SIZES["fit_cap"] else {}
        peer_opts = {"n_epochs": capped(20)} if SIZES["fit_cap"] else {}
    else:
        rec_opts = {"factors": d["factors"], "epochs": capped(d["epochs"]), "lr": d["learning_rate"],
                    "lr-decay": 1.0, "reg-bias": d["reg_bias"], "reg-factor": d["reg_factor"]}
        peer_opts = {"n_factors": d["factors"], "n_epochs": capped(d["epochs"]), "lr_all": d["learning_rate"],
                     "reg_bu": d["reg_bias"], "reg_bi": d["reg_bias"], "reg_pu": d["reg_factor"],
                     "reg_qi": d["reg_factor"], "init_std_dev": d["init_std_dev"]}
    peer_times, rec_times, rec1_times, per_fold, problems = [], [], [], [], []
    rec = None
    for fold in folds():
        data = explicit_fold(fold)
        base, test = data["base"], data["test"]
        files = {
            "train-user": write(f"{tmp}/sgd_tu.i32", base[:, 0] - 1, np.int32),
            "train-item": write(f"{tmp}/sgd_ti.i32", base[:, 1] - 1, np.int32),
            "train-value": write(f"{tmp}/sgd_tv.f32", base[:, 2], np.float32),
            "test-user": write(f"{tmp}/sgd_su.i32", data["test_user"], np.int32),
            "test-item": write(f"{tmp}/sgd_si.i32", data["test_item"], np.int32),
            "test-value": write(f"{tmp}/sgd_sv.f32", test[:, 2], np.float32),
        }
        sizes = {"users": data["users"], "items": data["items"], "nnz": len(base), "test-nnz": len(test), **rec_opts}
        rec = run_recfuse("biased_sgd", files, sizes, out=f"{tmp}/sgd_out", repeat=repeat)
        # surprise fits on one thread: recfuse on one thread too, for the per-core view.
        rec1 = run_recfuse("biased_sgd", files, sizes, repeat=repeat, threads=1)
        pred = np.fromfile(f"{tmp}/sgd_out.pred", dtype="<f4").astype(np.float64)
        rmse_here = float(np.sqrt(np.mean((pred - test[:, 2]) ** 2)))
        if abs(rmse_here - rec["rmse"]) > 1e-6 * rmse_here:
            problems.append(f"u{fold}: recfuse rmse {rec['rmse']} but {rmse_here} recomputed here")
        if pred.min() < 1 or pred.max() > 5:
            problems.append(f"u{fold}: recfuse predictions outside [1, 5]")
        if abs(rec1["rmse"] - rec["rmse"]) > 1e-6 * rec["rmse"]:
            problems.append(f"u{fold}: rmse on 1 thread {rec1['rmse']} != on {ARGS.threads} {rec['rmse']}")

        def make():
            return surprise.SVD(random_state=ARGS.seed, **peer_opts)

        times, model = time_fits(make, lambda m: m.fit(data["trainset"]), repeat)
        est = np.array([p.est for p in model.test(data["testset"])])
        truth = np.array([r for (_, _, r) in data["testset"]], dtype=np.float64)
        peer_rmse = float(np.sqrt(np.mean((est - truth) ** 2)))
        peer_times += times
        rec_times += rec["fit_seconds_all"]
        rec1_times += rec1["fit_seconds_all"]
        per_fold.append({"fold": fold, "peer_rmse": peer_rmse, "recfuse_rmse": rec["rmse"]})
    peer_rmse = float(np.mean([f["peer_rmse"] for f in per_fold]))
    rec_rmse = float(np.mean([f["recfuse_rmse"] for f in per_fold]))
    # A loose guard: recfuse must not fit much worse than surprise.
    if rec_rmse > peer_rmse + 0.03:
        problems.append(f"recfuse rmse {rec_rmse:.4f} is well above surprise's {peer_rmse:.4f}")
    peer_fit = statistics.median(peer_times)
    rec_fit = statistics.median(rec_times)
    rec1_fit = statistics.median(rec1_times)
    svd = surprise.SVD(random_state=ARGS.seed, **peer_opts)
    peer_settings = {"n_factors": svd.n_factors, "n_epochs": svd.n_epochs, "lr_all": svd.lr_bu,
                     "reg_bu": svd.reg_bu, "reg_bi": svd.reg_bi, "reg_pu": svd.reg_pu, "reg_qi": svd.reg_qi,
                     "init_std_dev": svd.init_std_dev, "learning_rate_decay": "none"}
    return {
        "component": "biased_sgd_defaults" if defaults else "biased_sgd",
        "peer": f"scikit-surprise {surprise.__version__} SVD" + ("() defaults" if defaults else ""),
        "peer_seconds": peer_fit,
        "recfuse_seconds": rec_fit,
        "seconds": "fit, median",
        "peer_min_seconds": min(peer_times), "recfuse_min_seconds": min(rec_times),
        "recfuse_1thread_seconds": rec1_fit, "ratio_1thread": peer_fit / max(rec1_fit, 1e-12),
        "peer_seconds_per_epoch": peer_fit / peer_settings["n_epochs"],
        "recfuse_seconds_per_epoch": rec_fit / rec["settings"]["epochs"],
        "fit_repeat": repeat, "recfuse_kernel": rec["kernel"], "peer_threads": 1,
        "data": f"MovieLens 100K {', '.join(f'u{f}' for f in folds())}",
        "peer_rmse": peer_rmse, "recfuse_rmse": rec_rmse,
        **({"per_fold": per_fold} if len(per_fold) > 1 else {}),
        "recfuse_settings": rec["settings"], "peer_settings": peer_settings,
        "agree": not problems,
        **({"problems": problems[:5]} if problems else {}),
    }


# ---- neural and graph (issue 4) ----------------------------------------------------------------

MLP_WIDTHS = (64, 256, 128, 1)
MLP_ACTIVATIONS = ("relu", "relu", "identity")


def mlp_flops(batch):
    return 2 * batch * sum(a * b for a, b in zip(MLP_WIDTHS[:-1], MLP_WIDTHS[1:]))


@functools.cache
def fma_peak():
    """(GFLOP/s of `threads` cores, where the figure came from), or (None, reason)."""
    if ARGS.fma_peak_gflops:
        return ARGS.fma_peak_gflops, "--fma-peak-gflops"
    ceilings = os.path.join(os.path.dirname(os.path.abspath(ARGS.recfuse_peer)), "ceilings")
    if not os.access(ceilings, os.X_OK):
        return None, f"{ceilings} not built"
    proc = subprocess.run([ceilings, "--json"], capture_output=True, text=True)  # about 3 s
    if proc.returncode != 0:
        return None, f"ceilings exited with {proc.returncode}"
    c = json.loads(proc.stdout)
    return ARGS.threads * c["fma_gflops_1t"], (f"{ARGS.threads} x ceilings fma_gflops_1t {c['fma_gflops_1t']} "
                                               f"(its fma_gflops_2t this run: {c['fma_gflops_2t']})")


def peak_fields(gflops):
    peak, source = fma_peak()
    if peak is None:
        return {"fraction_of_peak": None, "peak_source": source}
    return {"fraction_of_peak": gflops / peak, "peak_gflops": peak, "peak_source": source}


@functools.cache
def mlp_parameters(seed_stream):
    """torch.nn.Linear-like init drawn by NumPy: per layer W (out x in), b (out), U(-1/sqrt(in), 1/sqrt(in))."""
    rng = np.random.default_rng([ARGS.seed, seed_stream])
    layers = []
    for fan_in, fan_out in zip(MLP_WIDTHS[:-1], MLP_WIDTHS[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, size=fan_out).astype(np.float32)
        layers.append((w, b))
    return layers


def flat(layers):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in layers]).astype(np.float32)


def torch_mlp(layers):
    mods = []
    for i, (w, b) in enumerate(layers):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        mods.append(lin)
        if MLP_ACTIVATIONS[i] == "relu":
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


def numpy_forward(layers, x):
    h = x.astype(np.float64)
    for i, (w, b) in enumerate(layers):
        h = h @ w.astype(np.float64).T + b.astype(np.float64)
        if MLP_ACTIVATIONS[i] == "relu":
            h = np.maximum(h, 0.0)
    return h


def mlp_sizes(batch, calls):
    return {"widths": ",".join(map(str, MLP_WIDTHS)), "activations": ",".join(MLP_ACTIVATIONS),
            "batch": batch, "calls": calls}


def torch_versions():
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def compare_mlp_forward(tmp, batch):
    layers = mlp_parameters(6)
    rng = np.random.default_rng([ARGS.seed, 7, batch])
    x = rng.standard_normal((batch, MLP_WIDTHS[0]), dtype=np.float32)
    calls = SIZES["mlp_calls"][batch]
    files = {"params": write(f"{tmp}/mlp_params.f32", flat(layers), np.float32),
             "x": write(f"{tmp}/mlp_x.f32", x, np.float32)}
    rec = run_recfuse("mlp_forward", files, mlp_sizes(batch, calls), out=f"{tmp}/mlp_out.f32")
    net = torch_mlp(layers).eval()
    xt = torch.from_numpy(x)

    def peer():
        with torch.inference_mode():
            for _ in range(calls):
                out = net(xt)
        return out

    peer_s, peer_min, out = time_calls(peer, ARGS.repeat)
    peer_s, peer_min = peer_s / calls, peer_min / calls
    peer_out = out.numpy().astype(np.float64)
    rec_out = np.fromfile(f"{tmp}/mlp_out.f32", dtype="<f4").reshape(batch, MLP_WIDTHS[-1]).astype(np.float64)
    exact = numpy_forward(layers, x)
    scale = max(float(np.abs(exact).max()), 1e-30)
    rec_err = float(np.abs(rec_out - exact).max()) / scale
    peer_err = float(np.abs(peer_out - exact).max()) / scale
    flops = mlp_flops(batch)
    rec_gflops = flops / rec["seconds"] / 1e9
    return {
        "component": f"mlp_forward_b{batch}",
        "peer": "torch nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) under inference_mode",
        "peer_seconds": peer_s,
        "recfuse_seconds": rec["seconds"],
        "seconds": "per call (median repeat / calls_per_repeat)",
        "peer_min_seconds": peer_min,
        "recfuse_min_seconds": rec["min_seconds"],
        "batch": batch, "widths": list(MLP_WIDTHS), "activations": list(MLP_ACTIVATIONS),
        "calls_per_repeat": calls, "dtype": "float32", "recfuse_kernel": rec["kernel"],
        "flops": flops, "peer_gflops": flops / peer_s / 1e9, "gflops": rec_gflops,
        **(peak_fields(rec_gflops) if batch >= 4096 else {}),
        "agree": rec_err <= 1e-4 and peer_err <= 1e-4,
        "recfuse_rel_error": rec_err, "peer_rel_error": peer_err,
        **torch_versions(),
    }


def numpy_gradients(layers, x, y):
    """float64 gradients of the mean squared error, and a bound on the float32 summation noise of
    each weight gradient (sum of |terms| times 2^-24 times a few)."""
    hs = [x.astype(np.float64)]
    for i, (w, b) in enumerate(layers):
        h = hs[-1] @ w.astype(np.float64).T + b
        if MLP_ACTIVATIONS[i] == "relu":
            h = np.maximum(h, 0.0)
        hs.append(h)
    delta = 2.0 * (hs[-1] - y.astype(np.float64)) / y.size
    grads, noise = [], []
    for i in reversed(range(len(layers))):
        w = layers[i][0].astype(np.float64)
        if MLP_ACTIVATIONS[i] == "relu":
            delta = delta * (hs[i + 1] > 0)
        grads.append((delta.T @ hs[i], delta.sum(0)))
        noise.append((np.abs(delta).T @ np.abs(hs[i]), np.abs(delta).sum(0)))
        delta = delta @ w
    grads.reverse()
    noise.reverse()
    eps = 2.0 ** -24 * 64
    return (np.concatenate([np.concatenate([gw.ravel(), gb]) for gw, gb in grads]),
            eps * np.concatenate([np.concatenate([nw.ravel(), nb]) for nw, nb in noise]))


def compare_mlp_train_step(tmp, batch):
    layers = mlp_parameters(8)
    rng = np.random.default_rng([ARGS.seed, 9, batch])
    x = rng.standard_normal((batch, MLP_WIDTHS[0]), dtype=np.float32)
    y = rng.standard_normal((batch, MLP_WIDTHS[-1]), dtype=np.float32)
    calls = SIZES["train_calls"][batch]
    files = {"params": write(f"{tmp}/train_params.f32", flat(layers), np.float32),
             "x": write(f"{tmp}/train_x.f32", x, np.float32), "y": write(f"{tmp}/train_y.f32", y, np.float32)}
    rec = run_recfuse("mlp_train_step", files, {**mlp_sizes(batch, calls), "lr": 1e-3}, out=f"{tmp}/train_out.f32")
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step(net, opt):
        opt.zero_grad()
        loss = ((net(xt) - yt) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    # One step from the shared start, for the check.
    net = torch_mlp(layers)
    step(net, torch.optim.Adam(net.parameters(), lr=1e-3))
    peer_after = torch.cat([p.detach().reshape(-1) for p in net.parameters()]).numpy().astype(np.float64)
    # The timed steps keep training one network, as recfuse's do.
    net = torch_mlp(layers)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def peer():
        for _ in range(calls):
            loss = step(net, opt)
        return loss

    peer_s, peer_min, _ = time_calls(peer, ARGS.repeat)
    peer_s, peer_min = peer_s / calls, peer_min / calls
    rec_after = np.fromfile(f"{tmp}/train_out.f32", dtype="<f4").astype(np.float64)
    grad, noise = numpy_gradients(layers, x, y)
    diff = np.abs(rec_after - peer_after)
    ok = (diff <= 1e-3 * np.abs(peer_after)) | (diff <= 1e-6)
    ambiguous = np.abs(grad) <= noise
    bad = ~ok & ~ambiguous
    flops = 3 * mlp_flops(batch)
    rec_gflops = flops / rec["seconds"] / 1e9
    return {
        "component": "mlp_train_step" if batch == 4096 else f"mlp_train_step_b{batch}",
        "peer": "torch: zero_grad; ((net(x) - y) ** 2).mean().backward(); Adam(lr=1e-3).step()",
        "peer_seconds": peer_s,
        "recfuse_seconds": rec["seconds"],
        "seconds": "per step (median repeat / calls_per_repeat)",
        "peer_min_seconds": peer_min,
        "recfuse_min_seconds": rec["min_seconds"],
        "batch": batch, "widths": list(MLP_WIDTHS), "activations": list(MLP_ACTIVATIONS),
        "calls_per_repeat": calls, "dtype": "float32", "recfuse_kernel": rec["kernel"],
        "flops": flops, "peer_gflops": flops / peer_s / 1e9, "gflops": rec_gflops,
        **(peak_fields(rec_gflops) if batch >= 4096 else {}),
        "agree": int(bad.sum()) == 0 and int((~ok).sum()) <= max(2, len(ok) // 1000),
        "parameters": len(ok), "weights_outside_tolerance": int((~ok).sum()),
        "of_which_gradient_within_noise": int((~ok & ambiguous).sum()),
        "max_abs_diff_after_one_step": float(diff.max()),
        "recfuse_first_loss": rec["first_loss"],
        **torch_versions(),
    }


@functools.cache
def graph_data():
    """(offsets int64, sources int32 sorted within rows, destinations, features): see the docstring."""
    nodes, edges, d = SIZES["graph"]
    rng = np.random.default_rng([ARGS.seed, 10])
    weight = rng.pareto(1.5, nodes) + 1.0
    dst = rng.choice(nodes, size=edges, p=weight / weight.sum()).astype(np.int64)
    src = rng.integers(0, nodes, size=edges, dtype=np.int64)
    order = np.lexsort((src, dst))
    dst, src = dst[order], src[order]
    offsets = np.zeros(nodes + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(dst, minlength=nodes))
    x = rng.standard_normal((nodes, d), dtype=np.float32)
    return offsets, src.astype(np.int32), dst, x


def graph_exact(offsets, src, x):
    nodes = len(offsets) - 1
    deg = np.diff(offsets).astype(np.float64)
    a = scipy.sparse.csr_matrix((np.ones(len(src)), src, offsets), shape=(nodes, nodes), copy=True)
    return (a @ x.astype(np.float64)) / np.maximum(deg, 1.0)[:, None]


def compare_graph_mean(tmp, style):
    offsets, src, dst, x = graph_data()
    nodes, d = x.shape
    edges = len(src)
    files = {"offsets": write(f"{tmp}/graph_offsets.i64", offsets, np.int64),
             "indices": write(f"{tmp}/graph_indices.i32", src, np.int32),
             "x": write(f"{tmp}/graph_x.f32", x, np.float32)}
    rec = run_recfuse("graph_aggregate_mean", files, {"nodes": nodes, "nnz": edges, "d": d}, out=f"{tmp}/graph_out.f32")
    xt = torch.from_numpy(x)
    deg = np.diff(offsets)
    candidates = {}
    if style == "sparse_mm":
        # The row-normalised adjacency; a repeated pair becomes one entry of value count / degree.
        # copy=True: sum_duplicates would otherwise rewrite the shared src and offsets in place.
        a = scipy.sparse.csr_matrix((1.0 / deg[dst], src, offsets), shape=(nodes, nodes), dtype=np.float64,
                                    copy=True)
        a.sum_duplicates()
        a.sort_indices()
        with warnings.catch_warnings():  # "beta state" and "invariant checks disabled" notices
            warnings.simplefilter("ignore", UserWarning)
            a_csr = torch.sparse_csr_tensor(torch.from_numpy(a.indptr.astype(np.int64)),
                                            torch.from_numpy(a.indices.astype(np.int64)),
                                            torch.from_numpy(a.data.astype(np.float32)), size=(nodes, nodes))
            a_coo = a_csr.to_sparse_coo().coalesce()
        candidates["torch.sparse.mm(A_csr, X)"] = lambda: torch.sparse.mm(a_csr, xt)
        candidates["torch.sparse.mm(A_coo, X) (coalesced COO)"] = lambda: torch.sparse.mm(a_coo, xt)
        extra = {"adjacency_nnz": int(a.nnz)}
    else:
        dst_t = torch.from_numpy(dst)
        src_t = torch.from_numpy(src.astype(np.int64))
        deg_t = torch.from_numpy(np.maximum(deg, 1).astype(np.float32))[:, None]
        index = dst_t[:, None].expand(-1, d)

        def index_add():
            out = torch.zeros(nodes, d)
            out.index_add_(0, dst_t, xt[src_t])
            return out.div_(deg_t)

        def scatter_mean():
            return torch.zeros(nodes, d).scatter_reduce_(0, index, xt[src_t], reduce="mean", include_self=False)

        candidates["out.index_add_(0, dst, X[src]) / degree"] = index_add
        candidates["out.scatter_reduce_(0, dst, X[src], 'mean', include_self=False)"] = scatter_mean
        extra = {}
    timed = {}
    exact = graph_exact(offsets, src, x)
    scale = max(1.0, float(np.abs(exact).max()))
    errors = {}
    for name, fn in candidates.items():
        med, mn, out = time_calls(fn, ARGS.repeat)
        timed[name] = (med, mn)
        errors[name] = float(np.abs(out.numpy().astype(np.float64) - exact).max()) / scale
    peer = min(timed, key=lambda k: timed[k][0])
    rec_out = np.fromfile(f"{tmp}/graph_out.f32", dtype="<f4").reshape(nodes, d).astype(np.float64)
    rec_err = float(np.abs(rec_out - exact).max()) / scale
    gathered = edges * d * 4
    return {
        "component": f"graph_mean_{style}",
        "peer": f"torch {peer}",
        "peer_seconds": timed[peer][0],
        "recfuse_seconds": rec["seconds"],
        "peer_min_seconds": timed[peer][1],
        "recfuse_min_seconds": rec["min_seconds"],
        "nodes": nodes, "edges": edges, "d": d, "dtype": "float32",
        "max_in_degree": int(deg.max()), "isolated_nodes": int((deg == 0).sum()),
        "duplicate_edges": int(edges - len(np.unique(dst * nodes + src))),
        **extra,
        "recfuse_kernel": rec["kernel"],
        "candidates_seconds": {k: v[0] for k, v in timed.items()},
        "gb_per_s": gathered / rec["seconds"] / 1e9, "peer_gb_per_s": gathered / timed[peer][0] / 1e9,
        "gathered_bytes": gathered,
        "agree": rec_err <= 1e-5 and all(e <= 1e-5 for e in errors.values()),
        "recfuse_rel_error": rec_err, "peer_rel_errors": errors,
        **torch_versions(),
    }


# ---- search (issue 13) --------------------------------------------------------------------------


def bm25_data(rng):
    """Token lists: documents of 1 to 24 tokens over a Zipf-like vocabulary, and queries of 1 to 4
    tokens drawn from the corpus' token stream."""
    docs, vocab, m, k = SIZES["bm25"]
    weights = 1.0 / np.arange(1, vocab + 1) ** 1.1
    lengths = rng.integers(1, 25, size=docs)
    stream = rng.choice(vocab, size=int(lengths.sum()), p=weights / weights.sum())
    words = [f"w{i}" for i in range(vocab)]
    corpus, at = [], 0
    for n in lengths:
        corpus.append([words[i] for i in stream[at:at + n]])
        at += n
    q_lengths = rng.integers(1, 5, size=m)
    picks = rng.integers(0, len(stream), size=int(q_lengths.sum()))
    queries, at = [], 0
    for n in q_lengths:
        queries.append([words[i] for i in stream[picks[at:at + n]]])
        at += n
    return corpus, queries, k


def write_tokens(path, lists):
    with open(path, "w", encoding="utf-8") as f:
        for tokens in lists:
            f.write(" ".join(tokens) + "\n")
    return path


def check_bm25(peer_ids, peer_scores, rec_idx, rec_val, k1, k):
    """Rank by rank, recfuse's score / (k1 + 1) equals bm25s's (positive entries) within 1e-5."""
    worst, problems, other_ids = 0.0, [], 0
    for i in range(len(peer_ids)):
        p_ids = [int(a) for a, s in zip(peer_ids[i], peer_scores[i]) if s > 0]
        p_val = [float(s) for s in peer_scores[i] if s > 0]
        p_order = sorted(range(len(p_val)), key=lambda j: -p_val[j])
        p_val = [p_val[j] for j in p_order]
        p_ids = [p_ids[j] for j in p_order]
        r_ids = [int(a) for a in rec_idx[i] if a >= 0]
        r_val = [float(v) / (k1 + 1.0) for v, a in zip(rec_val[i], rec_idx[i]) if a >= 0]
        if len(set(r_ids)) != len(r_ids):
            problems.append(f"query {i}: recfuse repeats an id: {r_ids}")
            continue
        if len(r_ids) != len(p_ids):
            problems.append(f"query {i}: recfuse has {len(r_ids)} results, bm25s {len(p_ids)} positive")
            continue
        for a, b in zip(r_val, p_val):
            rel = abs(a - b) / max(1.0, abs(b))
            worst = max(worst, rel)
            if rel > 1e-5:
                problems.append(f"query {i}: scores {r_val} vs bm25s {p_val}")
                break
        other_ids += set(r_ids) != set(p_ids)
    return {"agree": not problems, "max_score_rel_diff": worst, "queries_with_other_ids_in_ties": other_ids,
            **({"problems": problems[:5]} if problems else {})}


def compare_bm25(tmp, data):
    corpus, queries, k = data
    k1, b = 1.5, 0.75
    files = {"corpus": write_tokens(f"{tmp}/bm25_corpus.txt", corpus),
             "queries": write_tokens(f"{tmp}/bm25_queries.txt", queries)}
    rec = run_recfuse("bm25", files, {"k": k, "k1": k1, "b": b}, out=f"{tmp}/bm25_out")
    m = len(queries)
    rec_idx = np.fromfile(f"{tmp}/bm25_out.indices", dtype="<i8").reshape(m, k)
    rec_val = np.fromfile(f"{tmp}/bm25_out.values", dtype="<f4").reshape(m, k)
    # bm25s's numba backend is about 20 times faster than its numpy one here (10,000 queries:
    # about 6 s against 140 s per call), so the numpy backend is timed only without numba or
    # with --quick.
    backends = ["numpy"]
    try:
        import numba  # noqa: F401

        backends = ["numpy", "numba"] if ARGS.quick else ["numba"]
    except ImportError:
        pass
    timings = {}
    best = None
    for backend in backends:
        retriever = bm25s.BM25(method="lucene", k1=k1, b=b, backend=backend)
        t0 = time.perf_counter()
        retriever.index(corpus, show_progress=False)
        build_s = time.perf_counter() - t0
        peer_s, peer_min, (ids, scores) = time_calls(
            lambda: retriever.retrieve(queries, k=k, n_threads=ARGS.threads, show_progress=False), ARGS.repeat)
        timings[backend] = peer_s
        if best is None or peer_s < best[1]:
            best = (backend, peer_s, peer_min, build_s, ids, scores)
    backend, peer_s, peer_min, build_s, ids, scores = best
    return {
        "component": "bm25",
        "peer": f"bm25s {bm25s.__version__} BM25(method='lucene', backend='{backend}').retrieve",
        "peer_seconds": peer_s,
        "recfuse_seconds": rec["seconds"],
        "peer_min_seconds": peer_min,
        "recfuse_min_seconds": rec["min_seconds"],
        "peer_backend": backend,
        **{f"bm25s_{name}_seconds": t for name, t in timings.items()},
        "peer_build_seconds": build_s,
        "recfuse_build_seconds": rec["build_seconds"],
        "recfuse_scoring_seconds": rec["scoring_seconds"],
        "documents": len(corpus), "queries": m, "k": k, "k1": k1, "b": b,
        "terms": rec["terms"], "postings": rec["postings"],
        **check_bm25(ids, scores, rec_idx, rec_val, k1, k),
    }


def quality(line):
    """The accuracy each side reached, for the table."""
    if f"peer_ndcg@{RANK_K}" in line:
        return (f"ndcg@{RANK_K} {line[f'peer_ndcg@{RANK_K}']:.4f} / {line[f'recfuse_ndcg@{RANK_K}']:.4f}, "
                f"precision@{RANK_K} {line[f'peer_precision@{RANK_K}']:.4f} / {line[f'recfuse_precision@{RANK_K}']:.4f}")
    if "peer_loss" in line:
        return f"loss {line['peer_loss']:.5g} / {line['recfuse_loss']:.5g}"
    if "fraction_of_peak" in line and line["fraction_of_peak"] is not None:
        return (f"{line['peer_gflops']:.1f} / {line['gflops']:.1f} GFLOP/s; "
                f"{100 * line['fraction_of_peak']:.0f}% of peak")
    if "gflops" in line:
        return f"{line['peer_gflops']:.2f} / {line['gflops']:.2f} GFLOP/s"
    if "gb_per_s" in line:
        return f"{line['peer_gb_per_s']:.2f} / {line['gb_per_s']:.2f} GB/s gathered"
    if line.get("component") == "bm25":
        return (f"build {line['peer_build_seconds']:.3g} / {line['recfuse_build_seconds']:.3g} s; "
                f"bm25s {line['peer_backend']}")
    if "peer_rmse" in line:
        return (f"rmse {line['peer_rmse']:.4f} / {line['recfuse_rmse']:.4f}; "
                f"recfuse 1 thread {line['recfuse_1thread_seconds']:.4g} s, ratio {line['ratio_1thread']:.2f}")
    return ""


def main():
    only = {c for c in ARGS.only.split(",") if c}
    listing = subprocess.run([ARGS.recfuse_peer, "list"], capture_output=True, text=True, check=True)
    log("recfuse_peer components:", listing.stdout.strip())
    versions = {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "faiss-cpu": faiss.__version__,
                "implicit": implicit.__version__, "scikit-surprise": surprise.__version__, "scipy": scipy.__version__,
                "torch": torch.__version__, "bm25s": bm25s.__version__}
    log(f"threads {ARGS.threads} (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, "
        f"faiss.omp_set_num_threads, torch.set_num_threads; recfuse --threads), repeat {ARGS.repeat}, "
        f"versions {versions}")

    # Each data set has its own stream from the seed, so --only changes no comparison's data.
    def rng(stream):
        return np.random.default_rng([ARGS.seed, stream])

    topk = functools.cache(lambda: topk_data(rng(1)))
    bm25_corpus = functools.cache(lambda: bm25_data(rng(6)))
    scaler = functools.cache(lambda: scaler_data(rng(3)))
    plan = [
        ("topk_inner_product", "faiss.IndexFlatIP.search", lambda tmp: compare_topk(tmp, *topk())),
        ("topk_inner_product_exclude", "faiss.IndexFlatIP.search(k + max_seen) + numpy filter",
         lambda tmp: compare_topk_exclude(tmp, rng(2), *topk())),
        ("standard_scaler_fit", "sklearn StandardScaler().fit",
         lambda tmp: compare_scaler(tmp, *scaler(), "fit")),
        ("standard_scaler_transform", "sklearn StandardScaler.transform(copy=True)",
         lambda tmp: compare_scaler(tmp, *scaler(), "transform")),
        ("rmse", "numpy: np.sqrt(np.mean((a - b) ** 2))", lambda tmp: compare_rmse(tmp, rng(4))),
        ("implicit_als", "implicit AlternatingLeastSquares (CG), MovieLens 100K",
         lambda tmp: compare_implicit_als(tmp)),
        ("implicit_als_large", "implicit AlternatingLeastSquares (CG), generated power law",
         lambda tmp: compare_implicit_als_large(tmp, rng(5))),
        ("biased_sgd", "scikit-surprise SVD, recfuse's settings", lambda tmp: compare_biased_sgd(tmp, False)),
        ("biased_sgd_defaults", "scikit-surprise SVD() vs sgd_options{}", lambda tmp: compare_biased_sgd(tmp, True)),
        *((f"mlp_forward_b{b}", "torch nn.Sequential MLP forward", functools.partial(compare_mlp_forward, batch=b))
          for b in (1, 64, 4096)),
        ("mlp_train_step", "torch MLP train step (Adam), batch 4096",
         functools.partial(compare_mlp_train_step, batch=4096)),
        ("mlp_train_step_b256", "torch MLP train step (Adam), batch 256",
         functools.partial(compare_mlp_train_step, batch=256)),
        ("graph_mean_sparse_mm", "torch.sparse.mm (CSR or COO)",
         functools.partial(compare_graph_mean, style="sparse_mm")),
        ("graph_mean_scatter", "torch index_add_ / scatter_reduce",
         functools.partial(compare_graph_mean, style="scatter")),
        ("bm25", "bm25s BM25(method='lucene').retrieve", lambda tmp: compare_bm25(tmp, bm25_corpus())),
    ]
    unknown = only - {name for name, _, _ in plan}
    if unknown:
        log(f"peers.py: unknown component(s) in --only: {', '.join(sorted(unknown))}")
        return 2
    failed = False
    rows = []
    with tempfile.TemporaryDirectory(prefix="recfuse_peers_") as tmp:
        for component, peer, run in plan:
            if only and component not in only:
                continue
            log(f"-- {component} vs {peer}")
            try:
                fields = run(tmp)
                line = {key: fields.pop(key) for key in ("component", "peer", "peer_seconds", "recfuse_seconds")}
                line["ratio"] = line["peer_seconds"] / max(line["recfuse_seconds"], 1e-12)
                line.update(fields)
                line["threads"] = ARGS.threads
                line["repeat"] = line.get("fit_repeat", ARGS.repeat)
                line["quick"] = ARGS.quick
                line["versions"] = versions
                failed |= not line["agree"]
            except Skipped as e:
                line = {"component": component, "peer": peer, "skipped": str(e)}
            except Exception as e:  # noqa: BLE001 - reported as a failed comparison
                line = {"component": component, "peer": peer, "error": str(e)}
                failed = True
            print(json.dumps(line), flush=True)
            rows.append(line)

    log("")
    log(f"{'component':<28} {'peer s':>10} {'recfuse s':>10} {'ratio':>7}  agree  quality (peer / recfuse)")
    for line in rows:
        if "ratio" in line:
            log(f"{line['component']:<28} {line['peer_seconds']:>10.4g} {line['recfuse_seconds']:>10.4g} "
                f"{line['ratio']:>7.2f}  {str(line['agree']):<5}  {quality(line)}")
        else:
            log(f"{line['component']:<28} {'skipped: ' + line['skipped'] if 'skipped' in line else 'ERROR: ' + line['error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
