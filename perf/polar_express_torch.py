#!/usr/bin/env python3
"""The published PyTorch reference of Polar Express (arXiv 2505.16932, Algorithm 1), timed on the same
shapes as strata_bench_polar, for a side-by-side comparison on the same GPU, and a Muon optimizer step
(github.com/KellerJordan/Muon, muon.py: momentum, 5 quintic Newton-Schulz steps in bf16, update).

    python3 perf/polar_express_torch.py --shapes 1024x1024,4096x4096 --dtypes float32,bfloat16 --steps 8
    # batched bf16 and Muon-style rows (compare with strata_bench_polar --batch=128
    # --batch-shape=1024x1024 --precisions=fp32,bf16 and --batch-shape=4096x1024):
    python3 perf/polar_express_torch.py --batch 128 --shapes 1024x1024,4096x1024 --dtypes float32,bfloat16 --muon

"per step" divides by the steps actually run (the reference takes no final error check). --device cpu
runs the same code on the CPU (slow; for checking the script without a GPU).
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


def zeropower_via_newtonschulz5(g, steps):
    """muon.py's orthogonalization: bf16 iterate, the fixed quintic, Frobenius scaling without safety."""
    a, b, c = (3.4445, -4.7750, 2.0315)
    x = g.bfloat16()
    if g.size(-2) > g.size(-1):
        x = x.mT
    x = x / (x.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        A = x @ x.mT
        B = b * A + c * A @ A
        x = a * x + B @ x
    if g.size(-2) > g.size(-1):
        x = x.mT
    return x


def muon_step(weight, grad, momentum, lr=0.02, beta=0.95, weight_decay=0.0, steps=5):
    """One Muon step on a batch of weights, as Muon.step with muon_update (nesterov); the gradient
    is not overwritten (grad.lerp instead of grad.lerp_) so that repeated timings see the same input."""
    momentum.lerp_(grad, 1 - beta)
    update = grad.lerp(momentum, beta)
    update = zeropower_via_newtonschulz5(update, steps)
    update = update * max(1, grad.size(-2) / grad.size(-1)) ** 0.5
    weight.mul_(1 - lr * weight_decay)
    weight.add_(update.to(weight.dtype), alpha=-lr)


def timed(fn, device, reps=10, warmup=3):
    for _ in range(warmup):
        out = fn()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(reps):
        out = fn()
    synchronize(device)
    return (time.perf_counter() - start) / reps, out


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shapes", default="1024x1024,2048x2048,4096x4096,8192x8192")
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--muon", action="store_true", help="also time one Muon step per shape (fp32 weights)")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    p.add_argument("--reps", type=int, default=10)
    a = p.parse_args()
    device = torch.device(a.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        where = torch.cuda.get_device_name(device)
    else:
        where = "CPU"
    print(f"PyTorch {torch.__version__} on {where}, {a.steps} steps, batch {a.batch}")
    print(f"{'case':>6} {'shape':>12} {'dtype':>9} {'total [ms]':>11} {'per step [ms]':>14} {'TFLOP/s':>9} "
          f"{'||Q^TQ-I||_F':>13}")
    for shape in a.shapes.split(","):
        m, n = (int(v) for v in shape.split("x"))
        small, large = min(m, n), max(m, n)
        eye = torch.eye(small, device=device)
        # Three GEMMs per step on the small Gram side: X X^T, A A, B X.
        flops_per_step = a.batch * (4 * small * small * large + 2 * small**3)
        for name in a.dtypes.split(","):
            dtype = getattr(torch, name)
            g = torch.randn(a.batch, m, n, device=device, dtype=torch.float32).to(dtype)
            seconds, q = timed(lambda: polar_express(g, a.steps), device, a.reps)
            qf = q.float()
            gram = qf.mT @ qf if m >= n else qf @ qf.mT
            err = (gram - eye).norm(dim=(-2, -1)).max().item()
            print(f"{'PE':>6} {shape:>12} {name:>9} {seconds * 1e3:11.3f} {seconds * 1e3 / a.steps:14.3f} "
                  f"{a.steps * flops_per_step / seconds / 1e12:9.1f} {err:13.2e}")
        if a.muon:
            weight = torch.randn(a.batch, m, n, device=device, dtype=torch.float32)
            grad = torch.randn(a.batch, m, n, device=device, dtype=torch.float32)
            momentum = torch.zeros_like(weight)
            seconds, _ = timed(lambda: muon_step(weight, grad, momentum), device, a.reps)
            print(f"{'Muon':>6} {shape:>12} {'bf16 NS':>9} {seconds * 1e3:11.3f} {seconds * 1e3 / 5:14.3f} "
                  f"{5 * flops_per_step / seconds / 1e12:9.1f} {'':>13}")


if __name__ == "__main__":
    main()
