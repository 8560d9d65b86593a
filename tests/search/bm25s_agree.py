#!/usr/bin/env python3
"""recfuse's BM25 against bm25s (PyPI, method="lucene") on the same corpus, queries and tokens.

    python tests/search/bm25s_agree.py --recfuse-search build/examples/search/recfuse-search \
        [--data ../shared/data] [--seed 1] [--k1 1.5] [--b 0.75] [--tolerance 1e-5]

recfuse-search --dump-bm25 writes the corpus (MovieLens 100K titles, or its generated titles where
DATA/ml-100k is absent), the queries (each title with one word dropped) as recfuse's tokens, and
recfuse's top 10 per query (ids and float scores, exec::xsimd with 2 threads). bm25s is indexed
with exactly those token lists (pre-tokenised input, so tokenisation cannot differ), with
method="lucene" and the same k1 and b, and scores every query (get_scores: the full score vector;
retrieve: its own top 10).

Checks, per query:
- scores: recfuse's score / (k1 + 1) equals bm25s's score of the same item within --tolerance
  relative (bm25s's lucene variant, like Lucene 8 and later, leaves out the constant factor
  (k1 + 1) of the classic weight recfuse computes; it changes no ranking);
- top-10 ids: the items bm25s scores above 0, ordered by recfuse's tie rule (higher score first,
  equal scores to the smaller id), must be recfuse's list. Scores that differ by less than the
  tolerance count as equal, so a near-tie the two float computations order differently is
  allowed to differ (tie-aware: at every rank the two items' bm25s scores agree within the
  tolerance, and no id repeats); "exact_id_lists" counts the queries whose lists are identical
  without that allowance. bm25s's own retrieve() top 10 (which orders ties arbitrarily) is
  compared the same tie-aware way.
Prints one JSON line; exit status 0 when every query agrees, 1 otherwise, 2 on a usage error.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def tie_aware_equal(got, want, score, tol):
    """got and want: best-first id lists; score(i): bm25s's score of item i.

    Equal when both have the same length, got repeats no id, and at every rank the two items'
    scores agree within tol (relative). With want a correct top list of the scores, got is then
    one too: it may order equal scores differently, or pick other members of the tie class cut
    at the end of the list, and nothing else.
    """
    if len(got) != len(want) or len(set(got)) != len(got):
        return False
    return all(abs(score(g) - score(w)) <= tol * max(1.0, abs(score(w)))
               for g, w in zip(got, want))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recfuse-search", required=True, help="the recfuse-search executable")
    ap.add_argument("--data", default=None, help="directory holding ml-100k/u.item")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--k1", default=None, help="BM25 k1 for both sides (recfuse-search's default 1.5)")
    ap.add_argument("--b", default=None, help="BM25 b for both sides (default 0.75)")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--max-queries", type=int, default=0, help="0: all")
    args = ap.parse_args()

    import numpy as np
    import bm25s

    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "bm25.json")
        cmd = [args.recfuse_search, "--dump-bm25", dump, "--seed", args.seed, "--threads", "2"]
        if args.data is not None:
            cmd += ["--data", args.data]
        if args.k1 is not None:
            cmd += ["--k1", args.k1]
        if args.b is not None:
            cmd += ["--b", args.b]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"bm25s_agree: {' '.join(cmd)} failed ({run.returncode}): {run.stderr}")
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        with open(dump, encoding="utf-8") as f:
            d = json.load(f)

    k1, b = d["k1"], d["b"]
    corpus, queries = d["corpus"], d["queries"]
    retriever = bm25s.BM25(method="lucene", k1=k1, b=b)
    retriever.index(corpus, show_progress=False)

    tol = args.tolerance
    n = len(queries) if args.max_queries <= 0 else min(args.max_queries, len(queries))
    bad_scores = bad_ids = bad_retrieve = exact = 0
    max_rel = 0.0
    examples = []
    for r in range(n):
        q = queries[r]
        got_ids = d["top_ids"][r]
        got = [s / (k1 + 1.0) for s in d["top_scores"][r]]
        if not q:
            if got_ids:
                bad_ids += 1
            continue
        full = np.asarray(retriever.get_scores(q), dtype=np.float64)
        # Scores of recfuse's items.
        for i, s in zip(got_ids, got):
            rel = abs(s - full[i]) / max(1.0, abs(full[i]))
            max_rel = max(max_rel, rel)
            if rel > tol:
                bad_scores += 1
                if len(examples) < 5:
                    examples.append({"query": r, "item": i, "recfuse": s, "bm25s": full[i]})
        # bm25s's positive items in recfuse's order.
        positive = np.nonzero(full > 0)[0]
        want = sorted(positive.tolist(), key=lambda i: (-full[i], i))[:10]
        exact += want == got_ids
        if not tie_aware_equal(got_ids, want, lambda i: full[i], tol):
            bad_ids += 1
            if len(examples) < 5:
                examples.append({"query": r, "recfuse_ids": got_ids, "bm25s_ids": want})
        # bm25s's own top 10 (retrieve), positive entries only.
        docs, scores = retriever.retrieve([q], k=min(10, len(corpus)), show_progress=False,
                                          n_threads=1)
        mine = [int(i) for i, s in zip(docs[0], scores[0]) if s > 0]
        if not tie_aware_equal(got_ids, mine, lambda i: full[i], tol):
            bad_retrieve += 1
            if len(examples) < 5:
                examples.append({"query": r, "recfuse_ids": got_ids, "bm25s_retrieve": mine})

    out = {
        "check": "bm25s_agree",
        "bm25s": bm25s.__version__ if hasattr(bm25s, "__version__") else "?",
        "dataset": summary.get("dataset"),
        "documents": len(corpus),
        "queries": n,
        "k1": k1,
        "b": b,
        "tolerance": tol,
        "max_relative_score_difference": max_rel,
        "score_mismatches": bad_scores,
        "id_list_mismatches": bad_ids,
        "retrieve_mismatches": bad_retrieve,
        "exact_id_lists": exact,
        "examples": examples,
        "ok": bad_scores == 0 and bad_ids == 0 and bad_retrieve == 0,
    }
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
