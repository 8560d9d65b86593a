#!/usr/bin/env python3
"""The cross-backend chart: bench_backends' JSON (--json) as a PNG bar chart.

    chart.py backends.json backends.png [--title TEXT] [--machine TEXT]

Two panels, one group of bars per component (the table's rows), one bar per backend column:
left, the time of each backend relative to xsimd (log scale, below 1 is faster than xsimd);
right, the fraction of the ceiling that bounds the component (bench/ceilings: read, copy or triad
bandwidth, fp32 or fp64 FMA peak). kokkos<OpenMP> bars are hatched where the Kokkos policy had no
kernel of its own and the serial reference ran instead. Needs matplotlib (bench/backends/run
installs it into bench/peers/.venv).
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {
    "reference": "#9e9e9e",
    "xsimd": "#1f77b4",
    "thrust<omp>": "#2ca02c",
    "kokkos<OpenMP>": "#d62728",
    "thrust<cuda>": "#9467bd",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("png")
    ap.add_argument("--title", default=None, help="replaces the generated title")
    ap.add_argument("--machine", default=None, help="appended to the title, e.g. the CPU")
    args = ap.parse_args()
    with open(args.json) as f:
        data = json.load(f)
    rows = data["rows"]
    columns = data["columns"]
    if not rows:
        sys.exit("chart.py: no rows in " + args.json)

    labels = [f"{r['family']}: {r['component']}\n{r['size']}" for r in rows]
    n, m = len(rows), len(columns)
    height = 0.8 / m
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.5 * n + 1.6), sharey=True,
                                      layout="constrained")
    for j, col in enumerate(columns):
        ys = [i - 0.4 + height * (j + 0.5) for i in range(n)]
        rel, frac, hatch = [], [], []
        for r in rows:
            cell = r["cells"].get(col, {})
            base = r["cells"].get("xsimd", {}).get("seconds")
            sec = cell.get("seconds")
            rel.append(sec / base if sec and base else 0)
            frac.append(100 * cell.get("fraction", 0) if sec else 0)
            hatch.append("//" if cell.get("kokkos_kernel", "native") != "native" else "")
        colour = COLOURS.get(col, None)
        for ax, values in ((left, rel), (right, frac)):
            bars = ax.barh(ys, values, height=height, color=colour, label=col,
                           edgecolor="white", linewidth=0.3)
            for bar, h in zip(bars, hatch):
                if h:
                    bar.set_hatch(h)
                    bar.set_edgecolor("black")
    left.set_xscale("log")
    left.axvline(1, color="black", linewidth=0.8)
    left.axvline(2, color="black", linewidth=0.8, linestyle=":")
    left.set_xlabel("time / xsimd time (log; dotted: 2x)")
    right.axvline(100, color="black", linewidth=0.8)
    right.set_xlabel("% of the ceiling (read / copy / triad GB/s, FMA GFLOP/s)")
    left.set_yticks(range(n))
    left.set_yticklabels(labels, fontsize=7)
    left.invert_yaxis()
    for ax in (left, right):
        ax.grid(axis="x", linewidth=0.3, alpha=0.6)
        ax.tick_params(axis="x", labelsize=8)
    handles, names = right.get_legend_handles_labels()
    fallback = plt.Rectangle((0, 0), 1, 1, facecolor=COLOURS["kokkos<OpenMP>"], hatch="//",
                             edgecolor="black")
    handles.append(fallback)
    names.append("kokkos<OpenMP> on the reference's kernel")
    fig.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize=8,
               frameon=False)
    title = args.title or (
        f"recfuse across backends: {data['threads']} threads (reference: 1), "
        f"xsimd {data['xsimd_arch']}{', --quick' if data.get('quick') else ''}; no GPU column")
    if args.machine:
        title += "\n" + args.machine
    fig.suptitle(title, fontsize=9)
    fig.savefig(args.png, dpi=90)
    print(f"chart.py: wrote {args.png}")


if __name__ == "__main__":
    main()
