#!/usr/bin/env python3
"""Thread scaling of every Strata driver on a Kokkos OpenMP build (issue 15), with the OpenBLAS
peers at the same thread count from the same run.

Runs BUILD/bin/strata_thread_scaling (perf/thread_scaling.cpp: generated problems only, so it
needs no HDF5 and no input files) once per thread count with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS
= MKL_NUM_THREADS = t, and once more with --only=baselines (host LAPACK/BLAS with the BLAS's own t
threads, in a process of its own so that no Kokkos thread pool is spinning beside it). Prints, and
writes to --output, the best time of each workload per thread count and its speed-up over 1 thread,
then the peers' times and the ratio Strata / peer at every thread count.

  python3 perf/thread_scaling.py --build build/omp --output scaling.md
         [--threads 1,2,4,8,16] [--repeat 2] [--only gram,operator,...] [--baseline BUILD]
         [--driver-args="--hss-n=16384 ..."] [--proc-bind false] [--places cores]

Workloads and default sizes (see perf/thread_scaling.cpp for the exact definitions), chosen so that
the whole run at 1,2,4,8,16 threads stays under about 6 minutes on 16 cores: at 1 thread the driver
took 33 s of CPU time and the peers 9 s (--repeat 2, AMD EPYC core, measured with perf stat
task-clock), so five thread counts take at most 5 x 42 s even with no speed-up at all, about 2 min
with a 4x mean speed-up; the HSS compression is 19 of the 33 s:
  gram 200000x32 X^T X; operator A^T (A v) on it (the demo's linear_operator step);
  gemm: linalg::gemm alone on products of these drivers, each with a dgemm peer (OpenBLAS' own
  threads): A v of the gram matrix and Q^T Q of rsvd's 4000x42 and 1000x42 bases (20 calls each:
  the finest host splits), X^T X and X B of a polar step and Hutch++'s A S (2 calls each: the
  host BLAS rate that bounds polar and Hutch++);
  polar fp64 / fp32 of 100000x64; rsvd rank 32 of 4000x1000; lstsq 200000x64;
  sketch apply gaussian/srht/sparse-sign d = 256 on 100000x32; fwht 2^20 x 8;
  hutch++ 96 products with a dense 4000^2 matrix; hss cauchy-1d N = 8192 tol 1e-6 (compress with
  its phases, matvec and ULV factor + solve on 8 columns);
  peers: dgesvd of the polar matrix (U, V^T) and of the rsvd matrix (values), dgels of the lstsq
  problem, dgesv of a dense 4096^2 system with 8 right-hand sides, dgemm of the Gram product.
Issue 15's HSS target is at N = 16384: pass --driver-args=--hss-n=16384 (about 4x the HSS time).

Thread placement: OMP_PROC_BIND (default false, as in the issue's table) and OMP_PLACES from
--proc-bind/--places; OMP_WAIT_POLICY is left as the caller set it. The machine (CPU model, cores,
affinity, load average before and after) is printed: figures from a shared machine are indicative.
Fails (exit status 1) when the build is missing, a run fails or its result check fails, or Kokkos
did not run at the requested thread count (a Serial build, or KOKKOS_NUM_THREADS overriding).
"""
import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time

ALL = "gram,operator,gemm,polar64,polar32,rsvd,lstsq,sketch,fwht,hutchpp,hss"

# Workload row -> the peer row it is compared with (same problem, host LAPACK/BLAS).
PEERS = {
    "gram X^T X": "baseline dgemm (gram)",
    "polar fp64": "baseline dgesvd (polar, U and V^T)",
    "polar fp32": "baseline dgesvd (polar, U and V^T)",
    "rsvd": "baseline dgesvd (rsvd, values)",
    "lstsq": "baseline dgels (lstsq)",
}
# The gemm workload's rows ("gemm NAME (N calls)") have the peer "baseline dgemm (NAME, N calls)".
GEMM_PREFIX = "gemm "
# dgesv (dense, --gesv-n) has no same-size Strata row: it shows how the host LAPACK scales.


def fail(message):
    sys.stderr.write("thread_scaling.py: " + message + "\n")
    sys.exit(1)


def environment(threads, args):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["OMP_PROC_BIND"] = args.proc_bind
    if args.places:
        env["OMP_PLACES"] = args.places
    env.pop("KOKKOS_NUM_THREADS", None)
    env.pop("GOTO_NUM_THREADS", None)
    env["KOKKOS_DISABLE_WARNINGS"] = "1"
    return env


def run_driver(binary, threads, extra, args):
    """[(name, seconds, check)] and the info record of one driver run."""
    cmd = [binary, f"--repeat={args.repeat}"] + extra + shlex.split(args.driver_args)
    try:
        out = subprocess.run(cmd, env=environment(threads, args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        fail(f"timed out after {args.timeout} s at {threads} threads: " + " ".join(cmd))
    if out.returncode != 0:
        fail(f"failed (status {out.returncode}) at {threads} threads: " + " ".join(cmd) + "\n" +
             out.stderr[-3000:])
    info, rows = None, []
    for line in out.stdout.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record["name"] == "info":
            info = record
        else:
            rows.append((record["name"], record["seconds"], record["first"]))
    if info is None:
        fail("no info line from " + " ".join(cmd))
    if info["concurrency"] != threads:
        fail(f"Kokkos ran {info['execution_space']} with {info['concurrency']} threads where "
             f"{threads} were asked (a Serial build, or KOKKOS_NUM_THREADS / --kokkos-num-threads "
             "in the driver arguments?)")
    return info, rows


def machine():
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return (f"{platform.node()}: {model}, {os.cpu_count()} CPUs ({affinity} in this process's "
            f"affinity), load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def table(best, threads):
    """Markdown rows: time (speed-up over 1 thread) per thread count."""
    lines = ["| workload | " + " | ".join(f"{t} thr: s (x)" for t in threads) + " |",
             "|---|" + "---|" * len(threads)]
    for name in best[threads[0]]:
        base = best[threads[0]][name]
        cells = []
        for t in threads:
            v = best[t].get(name)
            cells.append(f"{v:.4f} ({base / v:.1f})" if v and base else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build", required=True, help="build folder holding bin/strata_thread_scaling")
    p.add_argument("--output", required=True, help="file the tables are written to (markdown)")
    p.add_argument("--baseline", help="a second build with the same driver, run alternately")
    p.add_argument("--threads", default="1,2,4,8,16")
    p.add_argument("--repeat", type=int, default=2, help="runs per point in the driver; best kept")
    p.add_argument("--only", default=ALL, help="workloads (default: " + ALL + ")")
    p.add_argument("--no-peers", action="store_true", help="skip the LAPACK/BLAS peers")
    p.add_argument("--driver-args", default="",
                   help="extra driver options, given as --driver-args=\"--hss-n=16384 ...\"")
    p.add_argument("--proc-bind", default="false")
    p.add_argument("--places", default="")
    p.add_argument("--timeout", type=int, default=900, help="seconds per driver run")
    args = p.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    if threads[0] != 1:
        threads.insert(0, 1)
    builds = {"build": args.build}
    if args.baseline:
        builds["baseline"] = args.baseline
    binaries = {}
    for key, folder in builds.items():
        binary = os.path.join(folder, "bin", "strata_thread_scaling")
        if not os.access(binary, os.X_OK):
            fail(f"no executable {binary} (configure with -DStrata_ENABLE_BENCHMARKS=ON and build "
                 "the target strata_thread_scaling)")
        binaries[key] = binary
    if max(threads) > (os.cpu_count() or 1):
        print(f"warning: {max(threads)} threads on {os.cpu_count()} CPUs (oversubscribed)")

    started = time.time()
    header = [f"machine: {machine()}",
              f"OMP_PROC_BIND={args.proc_bind} OMP_PLACES={args.places or '(unset)'} "
              f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}; "
              f"driver: --repeat={args.repeat} --only={args.only} {args.driver_args}"]
    if args.repeat < 2:
        # Each figure is then a cold run: the first workload of a process also pays the process's
        # one-time costs at that thread count (the BLAS's per-thread buffers, first-touch faults).
        header.append("note: --repeat 1 times cold runs only (best = first); the first workload "
                      "(gram) also pays each process's one-time costs; use --repeat 3 for speed-ups")
    for line in header:
        print(line, flush=True)
    best = {k: {t: {} for t in threads} for k in builds}
    first = {k: {t: {} for t in threads} for k in builds}
    peers = {t: {} for t in threads}
    infos = {}
    for t in threads:
        for key, binary in binaries.items():
            info, rows = run_driver(binary, t, [f"--only={args.only}"], args)
            infos[(key, t)] = info
            for name, seconds, cold in rows:
                best[key][t][name] = seconds
                first[key][t][name] = cold
            print(f"{key} {t:>2} threads ({info['execution_space']}, concurrency "
                  f"{info['concurrency']}, OpenBLAS threads {info['openblas_threads']}): " +
                  ", ".join(f"{n} {s:.3f}" for n, s, _ in rows), flush=True)
        if not args.no_peers:
            info, rows = run_driver(binaries["build"], t, ["--only=baselines"], args)
            for name, seconds, _ in rows:
                peers[t][name] = seconds
            if info["openblas_threads"] not in (-1, t):
                print(f"warning: the peers ran with {info['openblas_threads']} OpenBLAS threads, "
                      f"not {t} (OpenBLAS built for fewer threads?)")
            print(f"peers {t:>2} threads (OpenBLAS threads {info['openblas_threads']}): " +
                  ", ".join(f"{n} {s:.3f}" for n, s, _ in rows), flush=True)

    out = header[:]
    for key in builds:
        out += ["", f"{key}: {builds[key]} (best of {args.repeat} per point; speed-up over 1 thread)",
                ""]
        out += table(best[key], threads)
        out += ["", f"{key}: the first run of each workload in its process (cold: one-time costs "
                "such as the BLAS's per-thread buffers and first-touch page faults included, as in "
                "one-shot timings like strata demo's steps; speed-up over 1 thread)", ""]
        out += table(first[key], threads)
    if not args.no_peers:
        out += ["", "peers: host LAPACK/BLAS with its own threads (same run, same thread count)", ""]
        out += table(peers, threads)
        out += ["", "Strata / peer time at each thread count (< 1: Strata faster)", "",
                "| workload / peer | " + " | ".join(f"{t} thr" for t in threads) + " |",
                "|---|" + "---|" * len(threads)]
        pairs = list(PEERS.items()) + [
            (name, "baseline dgemm (" + name[len(GEMM_PREFIX):].replace(" (", ", ", 1))
            for name in best["build"][threads[0]] if name.startswith(GEMM_PREFIX)]
        for name, peer in pairs:
            if name not in best["build"][threads[0]]:
                continue
            cells = []
            for t in threads:
                a, b = best["build"][t].get(name), peers[t].get(peer)
                cells.append(f"{a / b:.2f}" if a and b else "-")
            out.append(f"| {name} / {peer} | " + " | ".join(cells) + " |")
    if args.baseline:
        out += ["", "build vs baseline: time ratio baseline / build (> 1: build faster)", "",
                "| workload | " + " | ".join(f"{t} thr" for t in threads) + " |",
                "|---|" + "---|" * len(threads)]
        for name in best["build"][threads[0]]:
            cells = []
            for t in threads:
                a, b = best["build"][t].get(name), best["baseline"][t].get(name)
                cells.append(f"{b / a:.2f}" if a and b else "-")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
    out += ["", f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
            f"whole run {time.time() - started:.0f} s"]
    text = "\n".join(out) + "\n"
    print("\n" + text)
    with open(args.output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
