#!/usr/bin/env python3
"""The published PyTorch reference of Polar Express (arXiv 2505.16932, Algorithm 1), timed on the same
shapes as strata_bench_polar, for a side-by-side comparison on the same GPU.

    python3 perf/polar_express_torch.py --shapes 1024x1024,4096x4096 --dtypes float32,bfloat16 --steps 8
"""
import argparse
import time

import torch

# Algorithm 1's coefficients, with its safety factor 1.01 on all but the last.
COEFFS = [
    (8.28721201814563, -23.595886519098837, 17.300387312530933),
    (4.107059111542203, -2.9478499167379106, 0.5448431082926601),
    (3.9486908534822946, -2.908902115962949, 0.5518191394370137),
    (3.3184196573706015, -2.488488024314874, 0.51004894012372),
    (2.300652019954817, -1.6689039845747493, 0.4188073119525673),
    (1.891301407787398, -1.2679958271945868, 0.37680408948524835),
    (1.8750014808534479, -1.2500016453999487, 0.3750001645474248),
    (1.875, -1.25, 0.375),
]
COEFFS = [(a / 1.01, b / 1.01**3, c / 1.01**5) for (a, b, c) in COEFFS[:-1]] + [COEFFS[-1]]


def polar_express(g, steps):
    x = g
    if g.size(-2) > g.size(-1):
        x = x.mT
    x = x / (x.norm(dim=(-2, -1), keepdim=True) * 1.01 + 1e-7)
    for t in range(steps):
        a, b, c = COEFFS[min(t, len(COEFFS) - 1)]
        A = x @ x.mT
        B = b * A + c * A @ A
        x = a * x + B @ x
    if g.size(-2) > g.size(-1):
        x = x.mT
    return x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shapes", default="1024x1024,2048x2048,4096x4096,8192x8192")
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch", type=int, default=1)
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name()}, {a.steps} steps, batch {a.batch}")
    print(f"{'shape':>12} {'dtype':>9} {'total [ms]':>11} {'per step [ms]':>14} {'TFLOP/s':>9} {'||Q^TQ-I||_F':>13}")
    for shape in a.shapes.split(","):
        m, n = (int(v) for v in shape.split("x"))
        for name in a.dtypes.split(","):
            dtype = getattr(torch, name)
            g = torch.randn(a.batch, m, n, device="cuda", dtype=torch.float32).to(dtype)
            for _ in range(3):
                polar_express(g, a.steps)
            torch.cuda.synchronize()
            reps = 10
            start = time.perf_counter()
            for _ in range(reps):
                q = polar_express(g, a.steps)
            torch.cuda.synchronize()
            seconds = (time.perf_counter() - start) / reps
            small, large = min(m, n), max(m, n)
            flops = a.batch * a.steps * (4 * small * small * large + 2 * small**3)
            qf = q.float()
            gram = qf.mT @ qf if m >= n else qf @ qf.mT
            err = (gram - torch.eye(small, device="cuda")).norm(dim=(-2, -1)).max().item()
            print(f"{shape:>12} {name:>9} {seconds * 1e3:11.3f} {seconds * 1e3 / a.steps:14.3f} "
                  f"{flops / seconds / 1e12:9.1f} {err:13.2e}")


if __name__ == "__main__":
    main()
