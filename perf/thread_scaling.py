#!/usr/bin/env python3
"""Thread scaling of Strata's drivers on a Kokkos OpenMP build (issue 15).

Runs the `strata` CLI of one build (and optionally of a baseline build, alternating, in the same
session) under OMP_NUM_THREADS = each of --threads, and prints per workload and phase the best
time of --repeat runs and the speed-up over the same build's 1-thread time:

  hss      strata hss compress --problem cauchy-1d --n N --tol 1e-6: total, products, levels,
           estimate; then strata hss matvec and hss solve of the result on an N x 8 block
  demo     strata demo (default sizes: X is 200000 x 32): total and every step (polar_factor,
           least_squares, randomized_svd, ...)
  sketch   strata sketch apply S X for the gaussian, srht and sparse-sign operators (d = 256) on
           the demo's 200000 x 32 matrix X

  python3 perf/thread_scaling.py --build build/omp [--baseline BUILD] [--threads 1,2,4,8,16]
                                 [--repeat 3] [--hss-n 16384] [--only hss,demo,sketch]

Thread placement: OMP_PROC_BIND (default false, as in the issue's table) and OMP_PLACES are
passed through from --proc-bind/--places; OMP_WAIT_POLICY is left as the caller set it. The load
average before and after is printed: figures from a shared machine are only indicative.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def run_json(cmd, env):
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        sys.exit("failed: " + " ".join(cmd) + "\n" + out.stderr[-2000:])
    return json.loads(out.stdout)


def environment(threads, args):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["OMP_PROC_BIND"] = args.proc_bind
    if args.places:
        env["OMP_PLACES"] = args.places
    env.pop("KOKKOS_NUM_THREADS", None)
    return env


def prepare(strata, work, args):
    """Input files (not timed): the demo's X (200000 x 32) and an N x 8 block for the HSS runs."""
    env = environment(max(args.threads), args)
    x = os.path.join(work, "x.h5")
    rhs = os.path.join(work, "rhs.h5")
    if "sketch" in args.only:
        run_json([strata, "demo", "--hss-n", "256", "--output", x, "--json", "--quiet"], env)
    if "hss" in args.only:
        run_json([strata, "demo", "--rows", str(args.hss_n), "--cols", "8", "--hss-n", "256",
                  "--output", rhs, "--json", "--quiet"], env)
    return x, rhs


def measure(strata, threads, work, inputs, args):
    """{metric: seconds} for one run of every workload at `threads` threads."""
    env = environment(threads, args)
    x, rhs = inputs
    times = {}
    if "hss" in args.only:
        h = os.path.join(work, "h.h5")
        r = run_json([strata, "hss", "compress", "--problem", "cauchy-1d", "--n", str(args.hss_n),
                      "--tol", "1e-6", "--output", h, "--json"], env)
        for phase in ("total", "products", "levels", "estimate"):
            times["hss compress " + phase] = r["time_s"][phase]
        r = run_json([strata, "hss", "matvec", "--hss", h, "--input", rhs + ":/X", "--output",
                      os.path.join(work, "y.h5") + ":/Y", "--json"], env)
        times["hss matvec"] = r["time_s"]
        r = run_json([strata, "hss", "solve", "--hss", h, "--rhs", rhs + ":/X", "--output",
                      os.path.join(work, "s.h5") + ":/X", "--json"], env)
        times["hss solve factor"] = r["factor_time_s"]
        times["hss solve total"] = r["time_s"]
    if "demo" in args.only:
        r = run_json([strata, "demo", "--json", "--quiet"], env)
        times["demo total"] = r["time_s"]
        for step in r["steps"]:
            times["demo " + step["name"]] = step["time_s"]
    if "sketch" in args.only:
        for op in ("gaussian", "srht", "sparse-sign"):
            r = run_json([strata, "sketch", "apply", "--input", x + ":/X", "--operator", op,
                          "--rows", "256", "--output", os.path.join(work, "sx.h5") + ":/SX",
                          "--json"], env)
            times["sketch apply " + op] = r["time_s"]
    return times


def table(title, best, threads):
    print("\n" + title)
    head = "  ".join(f"{t:>3} thr (x)     " for t in threads)
    print(f"{'workload / phase':<32}{head}")
    for metric in best[threads[0]]:
        base = best[threads[0]][metric]
        cells = []
        for t in threads:
            v = best[t].get(metric)
            speed = base / v if v and base else float("nan")
            cells.append(f"{v:9.3f} s ({speed:4.1f})")
        print(f"{metric:<32}" + "  ".join(cells))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build", required=True, help="build folder holding bin/strata")
    p.add_argument("--baseline", help="a second build (e.g. of main), run alternately")
    p.add_argument("--threads", default="1,2,4,8,16")
    p.add_argument("--repeat", type=int, default=3, help="runs per point; the best is kept")
    p.add_argument("--hss-n", type=int, default=16384)
    p.add_argument("--only", default="hss,demo,sketch")
    p.add_argument("--proc-bind", default="false")
    p.add_argument("--places", default="")
    args = p.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    if args.threads[0] != 1:
        args.threads.insert(0, 1)
    args.only = args.only.split(",")
    builds = {"build": args.build}
    if args.baseline:
        builds["baseline"] = args.baseline
    binaries = {k: os.path.join(v, "bin", "strata") for k, v in builds.items()}
    for b in binaries.values():
        if not os.access(b, os.X_OK):
            sys.exit(f"no strata executable at {b}")
    print("load average before:", " ".join(f"{x:.2f}" for x in os.getloadavg()),
          f"| {os.cpu_count()} CPUs | OMP_PROC_BIND={args.proc_bind}",
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    for k, b in binaries.items():
        info = run_json([b, "info", "--json"], environment(1, args))
        print(f"{k}: Strata {info['version']}, Kokkos {info['kokkos_version']} "
              f"({info['execution_space']}), {info['blas']}")
    with tempfile.TemporaryDirectory(prefix="strata_scaling_") as work:
        inputs = prepare(binaries["build"], work, args)
        best = {k: {t: {} for t in args.threads} for k in builds}
        for _ in range(args.repeat):
            for t in args.threads:
                for k, b in binaries.items():
                    for metric, v in measure(b, t, work, inputs, args).items():
                        old = best[k][t].get(metric)
                        best[k][t][metric] = v if old is None else min(old, v)
    for k in builds:
        table(f"{k}: {builds[k]} (best of {args.repeat}; speed-up over 1 thread of this build)",
              best[k], args.threads)
    if args.baseline:
        print("\nbuild vs baseline, time ratio baseline / build (> 1: build faster)")
        print(f"{'workload / phase':<32}" + "".join(f"{t:>9} thr" for t in args.threads))
        for metric in best["build"][args.threads[0]]:
            cells = []
            for t in args.threads:
                a, b = best["build"][t].get(metric), best["baseline"][t].get(metric)
                cells.append(f"{b / a:13.2f}" if a and b else f"{'-':>13}")
            print(f"{metric:<32}" + "".join(cells))
    print("\nload average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
