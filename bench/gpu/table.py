#!/usr/bin/env python3
"""The table bench/gpu/run prints last: each recfuse kernel, its time, its fraction of the
ceiling that bounds it, and the peer's time on the same data (ratio > 1: recfuse is faster).

  table.py RECFUSE_JSONL PEERS_JSONL
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def main():
    ours = load(sys.argv[1])
    peers = load(sys.argv[2]) if len(sys.argv) > 2 else []
    ceilings = {r["ceiling"]: r["value"] for r in ours + peers if "value" in r}
    print("ceilings: " + ", ".join(
        f"{k} {v * 1e-12:.1f} TFLOP/s" if k != "copy" else f"copy {v * 1e-9:.0f} GB/s"
        for k, v in ceilings.items()))
    print()
    print("| kernel | shape | recfuse ms | fraction of ceiling | peer | peer ms | peer / recfuse |")
    print("|---|---|---|---|---|---|---|")
    floors = {r["kernel"]: r["floor_ms"] for r in ours if "floor_ms" in r}
    for r in ours:
        if "kernel" not in r or "ms" not in r:
            continue
        matches = [p for p in peers if p.get("kernel") == r["kernel"] and p.get("shape") == r["shape"]]
        frac = f"{100 * r['fraction']:.1f}% of {r['ceiling']}"
        if not matches:
            print(f"| {r['kernel']} | {r['shape']} | {r['ms']:.3f} | {frac} | - | - | - |")
        for p in matches:
            print(f"| {r['kernel']} | {r['shape']} | {r['ms']:.3f} | {frac} | {p['peer']} | "
                  f"{p['ms']:.3f} | {p['ms'] / r['ms']:.2f} |")
    for kernel, floor_ms in floors.items():
        mine = [r["ms"] for r in ours if r.get("kernel") == kernel and "ms" in r]
        if mine:
            print(f"\n{kernel}: floor {floor_ms:.3f} ms (FLOPs at the fp32 peak or bytes at copy "
                  f"bandwidth, whichever is larger); measured {mine[0] / floor_ms:.1f}x the floor")


if __name__ == "__main__":
    main()
