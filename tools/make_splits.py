#!/usr/bin/env python3
"""Write the per-user 80/20 splits of docs/generalisation.md (standard library only).

    python3 tools/make_splits.py OUT_DIR [--data ../shared/data] [--seed 1] [--only lastfm|sparse]

Writes, into OUT_DIR (never into the repository: the data's licences forbid copies):
  lastfm.train, lastfm.test   Last.FM (lastfm-kg/user_artists.dat): listening counts, every
                              user's pairs split 80/20 at random (seeded).
  sparse.train, sparse.test   the sparse proxy of an e-commerce ratings set, built from
                              MovieLens 100K's u.data: every rating kept with a probability that
                              grows with the rating (skewing the set towards 5 stars), then cut to
                              the 5-core (every user and item with >= 5 ratings, iterated), ids
                              written as strings ("u12", "item:345"), every user's ratings split
                              80/20 at random (seeded).
Lines are `user<TAB>item<TAB>value`. A data set whose source file is absent is skipped with a
message on standard error. Counts go to standard output. The same seed writes the same files
(random.Random is the Mersenne Twister, fixed across Python versions for random() and shuffle
of a list when seeded with an int).
"""
import argparse
import os
import random
import sys

# Probability of keeping a MovieLens rating of 1..5 stars before the 5-core cut: ~10% of the
# ratings survive, and 5 stars go from 21% of ML-100K to ~40% of the proxy.
KEEP = {1: 0.06, 2: 0.06, 3: 0.08, 4: 0.13, 5: 0.26}
TEST_FRACTION = 0.2


def per_user_split(rows, rng):
    """rows: list of (user, item, value). Each user's rows shuffled; round(20%) go to test
    (none for a user with a single row), the rest to train. Users in first-seen order."""
    by_user = {}
    for r in rows:
        by_user.setdefault(r[0], []).append(r)
    train, test = [], []
    for user_rows in by_user.values():
        rng.shuffle(user_rows)
        n_test = int(TEST_FRACTION * len(user_rows) + 0.5) if len(user_rows) > 1 else 0
        test.extend(user_rows[:n_test])
        train.extend(user_rows[n_test:])
    return train, test


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for u, i, v in rows:
            f.write(f"{u}\t{i}\t{v}\n")


def describe(name, train, test):
    rows = train + test
    users = len({r[0] for r in rows})
    items = len({r[1] for r in rows})
    density = len(rows) / (users * items) if users and items else 0.0
    print(f"{name}: {len(rows)} pairs ({len(train)} train, {len(test)} test), {users} users, "
          f"{items} items, density {density:.4%}")


def five_core(rows, k=5):
    while True:
        uc, ic = {}, {}
        for u, i, _ in rows:
            uc[u] = uc.get(u, 0) + 1
            ic[i] = ic.get(i, 0) + 1
        kept = [r for r in rows if uc[r[0]] >= k and ic[r[1]] >= k]
        if len(kept) == len(rows):
            return kept
        rows = kept


def lastfm(data, out, seed):
    src = os.path.join(data, "lastfm-kg", "user_artists.dat")
    if not os.path.exists(src):
        print(f"make_splits: {src} not found: Last.FM skipped", file=sys.stderr)
        return
    rows = []
    with open(src, encoding="utf-8") as f:
        next(f)  # header: userID artistID weight
        for line in f:
            u, i, w = line.split()
            rows.append((u, i, int(w)))
    train, test = per_user_split(rows, random.Random(seed))
    write(os.path.join(out, "lastfm.train"), train)
    write(os.path.join(out, "lastfm.test"), test)
    describe("lastfm", train, test)


def sparse(data, out, seed):
    src = os.path.join(data, "ml-100k", "u.data")
    if not os.path.exists(src):
        print(f"make_splits: {src} not found: sparse proxy skipped", file=sys.stderr)
        return
    rng = random.Random(seed)
    rows = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            u, i, r, _ = line.split()
            r = int(r)
            if rng.random() < KEEP[r]:
                rows.append((f"u{u}", f"item:{i}", r))
    rows = five_core(rows)
    train, test = per_user_split(rows, rng)
    write(os.path.join(out, "sparse.train"), train)
    write(os.path.join(out, "sparse.test"), test)
    describe("sparse", train, test)
    stars = [sum(1 for r in rows if r[2] == s) / len(rows) for s in range(1, 6)]
    print("sparse: stars 1..5: " + ", ".join(f"{s:.1%}" for s in stars) +
          f", mean {sum(r[2] for r in rows) / len(rows):.3f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="output directory (created; outside the repository)")
    p.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "..", "shared", "data"),
                   help="the shared data folder (default: ../shared/data beside the project)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", choices=["lastfm", "sparse"],
                   help="write only this data set's split (default: both)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.only in (None, "lastfm"):
        lastfm(a.data, a.out, a.seed)
    if a.only in (None, "sparse"):
        sparse(a.data, a.out, a.seed)


if __name__ == "__main__":
    main()
