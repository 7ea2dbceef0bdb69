#!/usr/bin/env python3
"""Runs the strata command-line tool as a user would and checks what it prints and returns."""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

INFO_KEYS = {"version", "kokkos_version", "backends", "execution_space", "device", "mpi_ranks",
             "hdf5_parallel", "blas"}


def run(cmd, ranks, mpiexec):
    if ranks > 1 or (mpiexec and ranks != 1):
        cmd = shlex.split(mpiexec.replace("{n}", str(ranks))) + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    return proc.returncode, proc.stdout, proc.stderr


def fail(message, out="", err=""):
    print(f"FAILED: {message}\n--- stdout ---\n{out}\n--- stderr ---\n{err}")
    sys.exit(1)


def one_json(out, err):
    lines = [line for line in out.splitlines() if line.strip()]
    if len(lines) != 1:
        fail(f"expected exactly one JSON line on stdout, got {len(lines)}", out, err)
    try:
        return json.loads(lines[0])
    except json.JSONDecodeError as e:
        fail(f"stdout is not valid JSON: {e}", out, err)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--strata", required=True)
    p.add_argument("--mpiexec", default="")
    p.add_argument("--case", required=True)
    p.add_argument("--ranks", type=int, default=1)
    a = p.parse_args()
    s, n = a.strata, a.ranks

    if a.case == "help":
        for args in (["--help"], ["info", "--help"], ["demo", "--help"]):
            code, out, err = run([s] + args, n, a.mpiexec)
            if code != 0 or "usage: strata" not in out:
                fail(f"'strata {' '.join(args)}' should print usage and exit 0 (exit {code})", out, err)
        code, out, err = run([s], n, a.mpiexec)
        if code != 2 or "usage: strata" not in out:
            fail("'strata' with no command should print usage and exit 2", out, err)

    elif a.case == "info_json":
        code, out, err = run([s, "info", "--json"], n, a.mpiexec)
        if code != 0:
            fail(f"exit status {code}", out, err)
        info = one_json(out, err)
        missing = INFO_KEYS - info.keys()
        if missing:
            fail(f"missing keys {sorted(missing)}", out, err)
        if info["mpi_ranks"] != n:
            fail(f"mpi_ranks is {info['mpi_ranks']}, expected {n}", out, err)
        if not isinstance(info["backends"], list) or not info["backends"]:
            fail("backends must be a non-empty list", out, err)
        if not isinstance(info["hdf5_parallel"], bool):
            fail("hdf5_parallel must be a boolean", out, err)

    elif a.case == "info_text":
        code, out, err = run([s, "info"], n, a.mpiexec)
        if code != 0 or "Strata " not in out or "Kokkos" not in out:
            fail("human-readable info", out, err)

    elif a.case == "bad_input":
        cases = [
            (["info", "--bogus"], "unknown option '--bogus'"),
            (["nosuch"], "unknown command 'nosuch'"),
            (["demo", "--rows", "abc"], "option '--rows' expects an integer, got 'abc'"),
            (["demo", "--rows", "0"], "option '--rows' must be in [1, "),
            (["demo", "--cols"], "option '--cols' needs a value"),
            (["demo", "extra"], "unexpected argument 'extra'"),
        ]
        for args, expected in cases:
            code, out, err = run([s] + args, n, a.mpiexec)
            lines = err.strip().splitlines()
            if code != 2:
                fail(f"'strata {' '.join(args)}' should exit 2, got {code}", out, err)
            if len(lines) != 1 or expected not in lines[0]:
                fail(f"'strata {' '.join(args)}' should print one error line containing {expected!r}", out, err)
        code, out, err = run([s, "demo", "--rows", "-5", "--json"], n, a.mpiexec)
        obj = one_json(out, err)
        if code != 2 or obj.get("status") != "error" or "--rows" not in obj.get("error", ""):
            fail("--json errors must be a JSON object with status 'error'", out, err)

    elif a.case == "demo_json":
        code, out, err = run([s, "demo", "--rows", "20000", "--cols", "8", "--json"], n, a.mpiexec)
        if code != 0:
            fail(f"exit status {code}", out, err)
        demo = one_json(out, err)
        if demo["status"] != "ok" or demo["mpi_ranks"] != n:
            fail("demo status/ranks", out, err)
        names = [step["name"] for step in demo["steps"]]
        for required in ("random_matrix", "gram_matrix", "linear_operator"):
            if required not in names:
                fail(f"demo step {required} missing", out, err)
        for step in demo["steps"]:
            if not step["passed"] or step["value"] > step["bound"]:
                fail(f"step {step['name']} did not pass", out, err)

    elif a.case == "demo_output":
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "demo.h5")
            code, out, err = run([s, "demo", "--rows", "1000", "--cols", "3", "--output", path, "--quiet"], n, a.mpiexec)
            if code != 0 or "all checks passed" not in out:
                fail("demo with --output", out, err)
            if not os.path.exists(path) or os.path.getsize(path) < 1000 * 3 * 8:
                fail("demo --output did not leave the HDF5 file", out, err)
            leftovers = [f for f in os.listdir(d) if f != "demo.h5"]
            if leftovers:
                fail(f"temporary files left behind: {leftovers}", out, err)
    else:
        fail(f"unknown case {a.case}")
    print(f"{a.case} (ranks {n}): ok")


if __name__ == "__main__":
    main()
