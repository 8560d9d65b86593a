#!/usr/bin/env python3
"""The peers of bench_gpu.cu, on the same GPU and the same numbers (data.cuh's splitmix64
formula, rebuilt here with numpy), timed the same way: CUDA events, warm-up, median.

  peers.py [--quick] [--json FILE]

  tensor ceiling   bf16 torch.mm, 8192^3 (what cuBLAS reaches with the tensor cores)
  topk             torch.mm(queries, items.T), then torch.topk, in query chunks
  rmse             CuPy: cp.sqrt(cp.mean(cp.square(a - b)))
  aggregate mean   torch.sparse.mm on the row-normalised CSR; torch-geometric's scatter mean
  mlp train step   torch.nn.Sequential + MSE + torch.optim.Adam (fp32, no TF32)
"""
import argparse
import json
import sys

import numpy as np
import torch

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniform01(seed, n, offset=0):
    i = np.arange(offset, offset + n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        u = splitmix64((np.uint64(seed) << np.uint64(32)) + i)
    return (u >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)


def uniform(seed, n, lo, hi):
    """data.cuh's uniform(): lo + (hi - lo) * u, in float32, on the GPU."""
    u = uniform01(seed, n)
    return torch.from_numpy(np.float32(lo) + np.float32(hi - lo) * u).cuda()


def median_ms(f, warmup=3, repeats=10):
    for _ in range(warmup):
        f()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        f()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def graph_csr(rows, seed):
    """bench_gpu.cu's graph: row i has 1 + floor(31 u) neighbours, neighbour ids
    floor(rows * u^3) (skewed towards small ids, so in-degrees follow a power law)."""
    deg = 1 + np.floor(31 * uniform01(seed, rows)).astype(np.int64)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(deg, out=offsets[1:])
    nnz = int(offsets[-1])
    u = uniform01(seed + 1, nnz).astype(np.float64)
    cols = np.minimum(np.floor(rows * u * u * u), rows - 1).astype(np.int64)
    return offsets, cols


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    out = open(args.json, "w") if args.json else None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    def emit(**rec):
        print(json.dumps(rec))
        if out:
            out.write(json.dumps(rec) + "\n")
            out.flush()

    # tensor-core ceiling
    s = 2048 if args.quick else 8192
    a = torch.randn(s, s, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(s, s, device="cuda", dtype=torch.bfloat16)
    ms = median_ms(lambda: torch.mm(a, b))
    emit(ceiling="bf16_tensor", value=2.0 * s ** 3 / (ms * 1e-3))
    del a, b

    # top-k: d = 64, k = 10
    m, n, d, k = (1000, 100000, 64, 10) if args.quick else (10000, 1000000, 64, 10)
    q = uniform(21, m * d, -1, 1).view(m, d)
    x = uniform(22, n * d, -1, 1).view(n, d)
    chunk = min(m, 2500)

    def topk():
        for r in range(0, m, chunk):
            torch.topk(torch.mm(q[r:r + chunk], x.T), k, dim=1)

    emit(peer="torch.mm+torch.topk", kernel="topk_inner_product<float>",
         shape=f"m={m} n={n} d={d} k={k}", ms=median_ms(topk, 1, 5))
    del q, x

    # rmse
    try:
        import cupy as cp
        nn_ = (1 << 22) if args.quick else (1 << 28)
        ca = cp.asarray(uniform(11, nn_, 1, 5))
        cb = cp.asarray(uniform(12, nn_, 1, 5))
        emit(peer="cupy", kernel="rmse<float>", shape=f"n={nn_}",
             ms=median_ms(lambda: float(cp.sqrt(cp.mean(cp.square(ca - cb))))))
        del ca, cb
    except ImportError:
        print("peers.py: no cupy", file=sys.stderr)

    # mean aggregation over the power-law graph
    rows, width = (100000, 64) if args.quick else (1000000, 64)
    offsets, cols = graph_csr(rows, 31)
    feats = uniform(33, rows * width, -1, 1).view(rows, width)
    deg = np.diff(offsets)
    vals = np.repeat(1.0 / deg, deg).astype(np.float32)
    adj = torch.sparse_csr_tensor(torch.from_numpy(offsets), torch.from_numpy(cols),
                                  torch.from_numpy(vals), size=(rows, rows)).cuda()
    shape = f"rows={rows} nnz={len(cols)} width={width}"
    emit(peer="torch.sparse.mm", kernel="aggregate_mean<float>", shape=shape,
         ms=median_ms(lambda: torch.sparse.mm(adj, feats)))
    try:
        from torch_geometric.utils import scatter
        dst = torch.from_numpy(np.repeat(np.arange(rows), deg)).cuda()
        src = torch.from_numpy(cols).cuda()
        emit(peer="torch_geometric.scatter", kernel="aggregate_mean<float>", shape=shape,
             ms=median_ms(lambda: scatter(feats[src], dst, dim=0, dim_size=rows, reduce="mean")))
    except ImportError:
        print("peers.py: no torch_geometric", file=sys.stderr)
    del adj, feats

    # MLP training step: 256 -> 512 -> 256 -> 1, ReLU, MSE, Adam, batch 4096
    batch = 4096
    sizes = [256, 512, 256, 1]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb = uniform(41, batch * sizes[0], -1, 1).view(batch, sizes[0])
    yb = uniform(42, batch, 0, 1).view(batch, 1)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()

    emit(peer="pytorch", kernel="mlp_train_step<float>", shape=f"batch={batch} 256-512-256-1",
         ms=median_ms(step, 5, 20))
    if out:
        out.close()


if __name__ == "__main__":
    main()
