#!/usr/bin/env python3
"""recfuse side by side with the peers users would otherwise pick, on identical data.

Run through bench/peers/run, which creates the virtual environment, builds recfuse_peer and pins
the thread counts. Each comparison generates its arrays with NumPy (fixed seed), writes them as raw
little-endian files, times the peer in this process and the recfuse kernel through recfuse_peer
(both: one warm-up call, then the median of --repeat calls), checks that the two results agree, and
prints one JSON object per comparison on stdout:

  {"component", "peer", "peer_seconds", "recfuse_seconds", "ratio" (peer / recfuse), "threads",
   "repeat", the sizes, "agree", ...}

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


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recfuse-peer", required=True, help="path to the recfuse_peer program")
    p.add_argument("--threads", type=int, default=2, help="threads on both sides (default 2)")
    p.add_argument("--repeat", type=int, default=None, help="timed calls per side (default 7, 3 with --quick)")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    p.add_argument("--only", default="", help="comma-separated components to run (default: all)")
    p.add_argument("--seed", type=int, default=20240611)
    args = p.parse_args()
    if args.threads < 1:
        p.error("--threads must be at least 1")
    if args.repeat is None:
        args.repeat = 3 if args.quick else 7
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
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

faiss.omp_set_num_threads(ARGS.threads)

SIZES = {
    False: {"topk": (1000, 100_000, 64, 10), "seen": 50, "scaler": (10_000, 1024), "rmse": 10_000_000},
    True: {"topk": (100, 10_000, 64, 10), "seen": 50, "scaler": (1000, 256), "rmse": 100_000},
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


def run_recfuse(component, files, sizes, out=None):
    cmd = [ARGS.recfuse_peer, component, "--threads", str(ARGS.threads), "--repeat", str(ARGS.repeat)]
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


def main():
    only = {c for c in ARGS.only.split(",") if c}
    listing = subprocess.run([ARGS.recfuse_peer, "list"], capture_output=True, text=True, check=True)
    log("recfuse_peer components:", listing.stdout.strip())
    versions = {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "faiss-cpu": faiss.__version__}
    log(f"threads {ARGS.threads} (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, "
        f"faiss.omp_set_num_threads; recfuse --threads), repeat {ARGS.repeat}, versions {versions}")

    # Each data set has its own stream from the seed, so --only changes no comparison's data.
    def rng(stream):
        return np.random.default_rng([ARGS.seed, stream])

    topk = functools.cache(lambda: topk_data(rng(1)))
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
                line["repeat"] = ARGS.repeat
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
    log(f"{'component':<28} {'peer s':>10} {'recfuse s':>10} {'ratio':>7}  agree")
    for line in rows:
        if "ratio" in line:
            log(f"{line['component']:<28} {line['peer_seconds']:>10.4g} {line['recfuse_seconds']:>10.4g} "
                f"{line['ratio']:>7.2f}  {line['agree']}")
        else:
            log(f"{line['component']:<28} {'skipped: ' + line['skipped'] if 'skipped' in line else 'ERROR: ' + line['error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
