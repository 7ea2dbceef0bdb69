#!/usr/bin/env python3
"""torch.svd_lowrank on the GPU on the matrix shape of perf/bench_rsvd.cpp, for a side-by-side
with `strata_bench_rsvd` (same construction: A = G1 diag(sigma) G2^T / sqrt(m n), sigma_j =
exp(-j / k)). torch.svd_lowrank(A, q=k+p, niter=q) is HMT Alg. 5.1 on Alg. 4.4 with q power steps,
the same algorithm as strata::sketch::randomized_svd.

  python3 perf/rsvd_torch.py [--m 65536] [--n 8192] [--rank 256] [--oversample 10] [--power 1]
                             [--dtype float64|float32] [--repeats 5]
Prints the median time and ||A - U S V^T||_2 (by torch.linalg.matrix_norm(ord=2), on the GPU)
beside sigma_{k+1}.
"""
import argparse
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--m", type=int, default=65536)
    p.add_argument("--n", type=int, default=8192)
    p.add_argument("--rank", type=int, default=256)
    p.add_argument("--oversample", type=int, default=10)
    p.add_argument("--power", type=int, default=1)
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    dev = torch.device("cuda")
    dtype = getattr(torch, a.dtype)
    gen = torch.Generator(device=dev).manual_seed(0)
    r = min(a.m, a.n)
    sigma = torch.exp(-torch.arange(r, device=dev, dtype=dtype) / a.rank)
    g1 = torch.randn(a.m, r, device=dev, dtype=dtype, generator=gen)
    g2 = torch.randn(a.n, r, device=dev, dtype=dtype, generator=gen)
    A = (g1 * sigma) @ g2.T / (a.m * a.n) ** 0.5
    del g1, g2
    times = []
    for _ in range(a.repeats + 1):  # the first run warms up cuBLAS/cuSOLVER
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        U, S, V = torch.svd_lowrank(A, q=a.rank + a.oversample, niter=a.power)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    U, S, V = U[:, : a.rank], S[: a.rank], V[:, : a.rank]
    err = torch.linalg.matrix_norm(A - (U * S) @ V.T, ord=2).item()
    # sigma_{k+1} of A itself (the spectrum is only approximately sigma after the random product).
    s_true = torch.linalg.svdvals(A)[a.rank].item() if a.m * a.n <= 8192 * 8192 else float("nan")
    t = sorted(times[1:])[len(times[1:]) // 2]
    print(f"torch.svd_lowrank {a.m} x {a.n} rank {a.rank} q={a.rank + a.oversample} niter={a.power} "
          f"{a.dtype} on {torch.cuda.get_device_name()}: median {t * 1e3:.2f} ms over {a.repeats} runs")
    print(f"  ||A - U S V^T||_2 = {err:.3e}   sigma_(k+1) = {s_true:.3e} (nan: skipped for large A)")


if __name__ == "__main__":
    main()
