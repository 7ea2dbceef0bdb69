#!/usr/bin/env python3
"""Weak and strong scaling tables of the distributed drivers (issue 14) from runs of
BUILD/bin/strata_mpi_scaling (perf/mpi_scaling.cpp) at several rank counts.

  python3 perf/mpi_scaling.py --build build/cuda --output scaling.md
         [--ranks 1,2,4] [--scaling weak,strong] [--mpiexec "mpirun --bind-to none"]
         [--driver-args "--precision=fp32 --polar-rows=4194304 ..."]

Each (scaling, P) is one `mpiexec -n P strata_mpi_scaling --scaling=... DRIVER_ARGS` (the driver
prints medians over its --reps of the slowest rank). The tables give, per workload, the time at
each P (the polar factor per step: its step count may change with the global size) and the efficiency: weak t(1) / t(P), strong t(1) / (P t(P)), both 1.0 for perfect scaling
(issue 14's goal: >= 0.85); beside them the driver's own figures of the same run: the Gram
allreduce per polar step, the measured bus bandwidth, and the agreement with the one-rank result
(--check). One rank per GPU: Kokkos maps ranks to the node-local devices (see mpi_scaling.cpp).
Fails (exit status 1) when a run fails or prints no result for a workload it was asked for.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

PATTERNS = {
    # Polar per step: under weak scaling the global matrix, hence the step count, may change with P.
    "polar step": re.compile(r"^polar +(\S+ x \S+), P=\d+: \S+ s, \d+ steps, ([0-9.eE+-]+) ms per step"),
    "rsvd": re.compile(r"^rsvd +(\S+ x \S+) .*, P=\d+: ([0-9.eE+-]+) s"),
    "hss compress": re.compile(r"^hss +cauchy-1d N=(\d+) .*: compress ([0-9.eE+-]+) s"),
    "hss factor": re.compile(r"^hss +cauchy-1d N=(\d+) .*ULV factor ([0-9.eE+-]+) s"),
    "hss solve": re.compile(r"^hss +cauchy-1d N=(\d+) .*solve ([0-9.eE+-]+) s"),
}
# The driver's workload names and the rows each must produce.
ROWS = {"polar": ["polar step"], "rsvd": ["rsvd"], "hss": ["hss compress", "hss factor", "hss solve"],
        "comm": []}
EXTRAS = [
    re.compile(r"^comm .*"),
    re.compile(r"^check .*"),
    re.compile(r"^hss +compress phases.*"),
    re.compile(r"^polar .*"),
]


def run(args, scaling, p):
    exe = os.path.join(args.build, "bin", "strata_mpi_scaling")
    cmd = shlex.split(args.mpiexec) + ["-n", str(p), exe, "--scaling=" + scaling]
    cmd += shlex.split(args.driver_args)
    print("$ " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=args.timeout)
    if out.returncode != 0:
        sys.stdout.write(out.stdout)
        raise SystemExit(f"strata_mpi_scaling failed at P={p} ({scaling}): status {out.returncode}")
    lines = [l for l in out.stdout.splitlines() if not l.startswith("[")]
    results, notes = {}, []
    for line in lines:
        for name, pat in PATTERNS.items():
            m = pat.match(line)
            if m:
                value = float(m.group(2))
                results[name] = (m.group(1), value / 1e3 if name == "polar step" else value)
        if any(e.match(line) for e in EXTRAS):
            notes.append(line)
    return results, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--ranks", default="1,2,4")
    ap.add_argument("--scaling", default="weak,strong")
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--driver-args", default="")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per run")
    args = ap.parse_args()
    ranks = [int(r) for r in args.ranks.split(",")]
    asked = ["comm", "polar", "rsvd", "hss"]
    for a in shlex.split(args.driver_args):
        if a.startswith("--workloads="):
            asked = a.split("=", 1)[1].split(",")
    unknown = [w for w in asked if w not in ROWS]
    if unknown:
        raise SystemExit(f"unknown workloads {unknown}")
    report = [f"# strata_mpi_scaling: ranks {ranks}, driver args `{args.driver_args}`", ""]
    for scaling in args.scaling.split(","):
        runs = {p: run(args, scaling, p) for p in ranks}
        names = [n for w in asked for n in ROWS[w]]
        missing = [f"{n} (P={p})" for n in names for p in ranks if n not in runs[p][0]]
        if missing:
            raise SystemExit(f"{scaling}: no result for {missing}")
        report.append(f"## {scaling} scaling (efficiency: " +
                      ("t(1) / t(P)" if scaling == "weak" else "t(1) / (P t(P))") + ")")
        report.append("")
        report.append("| workload | " + " | ".join(f"P={p}: size, s (eff.)" for p in ranks) + " |")
        report.append("|---|" + "---|" * len(ranks))
        for n in names:
            p0, t0 = ranks[0], runs[ranks[0]][0][n][1]  # the base: t(1) when ranks start at 1
            cells = []
            for p in ranks:
                size, t = runs[p][0][n]
                eff = (t0 / t if scaling == "weak" else p0 * t0 / (p * t)) if t > 0 else float("nan")
                cells.append(f"{size}, {t:.4g} ({eff:.2f})")
            report.append(f"| {n} | " + " | ".join(cells) + " |")
        if scaling == "weak" and "hss compress" in names:
            report.append("")
            report.append("HSS compress under weak scaling: its on-the-fly kernel products cost O(N^2 s / P) "
                          "per rank, so with N growing like P they grow like P (efficiency ~1/P by "
                          "construction); the phases below separate them from the levels.")
        report.append("")
        for p in ranks:
            report.append(f"P={p}:")
            report += ["    " + l for l in runs[p][1]]
        report.append("")
    text = "\n".join(report) + "\n"
    print(text)
    with open(args.output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
