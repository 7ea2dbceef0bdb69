#!/usr/bin/env python3
"""Runs the strata command-line tool as a user would and checks what it prints and returns."""
import argparse
import json
import os
import re
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


def significant_digits(text):
    """The digits of a number's mantissa without leading or trailing zeros ("0.0100" -> "1")."""
    mantissa = re.split(r"[eE]", text.lstrip("-"))[0].replace(".", "")
    return mantissa.strip("0") or "0"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--strata", required=True)
    p.add_argument("--mpiexec", default="")
    p.add_argument("--case", required=True)
    p.add_argument("--ranks", type=int, default=1)
    p.add_argument("--data", default="")
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
        for required in ("random_matrix", "gram_matrix", "linear_operator", "polar_factor"):
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
    elif a.case == "polar_schedule":
        code, out, err = run([s, "polar", "schedule", "--steps", "8", "--safety", "1", "--json"], n, a.mpiexec)
        sched = one_json(out, err)
        if code != 0 or len(sched["steps"]) != 8:
            fail("polar schedule --json", out, err)
        first = sched["steps"][0]
        # Algorithm 1 of arXiv 2505.16932, first row (before its safety factor).
        if abs(first["a"] - 8.28721201814563) > 1e-9 or abs(first["c"] - 17.300387312530933) > 1e-9:
            fail("the first Polar Express step differs from the published one", out, err)
        bounds = [st["bound"] for st in sched["steps"]]
        if any(b2 > b1 for b1, b2 in zip(bounds, bounds[1:])) or bounds[-1] > 1e-14:
            fail(f"bounds must decrease to double precision: {bounds}", out, err)
        for args, expected, status in [
            (["polar", "schedule", "--steps", "0"], "--steps", 2),
            (["polar", "schedule", "--lower", "1.5"], "lower bound", 2),
            (["polar", "schedule", "--method", "svd"], "unknown method 'svd'", 2),
            (["polar", "frobnicate"], "unknown operation", 2),
        ]:
            code, out, err = run([s] + args, n, a.mpiexec)
            if code != status or expected not in err:
                fail(f"'strata {' '.join(args)}' should exit {status} with {expected!r}", out, err)

    elif a.case == "polar_run":
        with tempfile.TemporaryDirectory() as d:
            x = os.path.join(d, "x.h5")
            code, out, err = run([s, "demo", "--rows", "3000", "--cols", "12", "--output", x, "--quiet"], n, a.mpiexec)
            if code != 0:
                fail("making the input with strata demo --output", out, err)
            for precision, floor in (("fp64", 1e-12), ("fp32", 1e-3)):
                q = os.path.join(d, f"q_{precision}.h5")
                code, out, err = run([s, "polar", "--input", x + ":/X", "--output", q + ":/Q", "--precision", precision,
                                      "--json"], n, a.mpiexec)
                res = one_json(out, err)
                if code != 0 or res["orthogonality_error"] > floor or res["iterations"] < 3 or res["mpi_ranks"] != n:
                    fail(f"polar {precision}", out, err)
                # Tolerance mode stops as soon as the error is below --tol, so no later than the default.
                tol = "1e-8" if precision == "fp64" else "1e-2"
                code, out, err = run([s, "polar", "--input", x + ":/X", "--output", q + ":/Q2", "--precision", precision,
                                      "--tol", tol, "--json"], n, a.mpiexec)
                loose = one_json(out, err)
                if code != 0 or loose["orthogonality_error"] > float(tol) or loose["iterations"] > res["iterations"]:
                    fail(f"polar --tol {tol} ({precision})", out, err)
            # bf16 storage with fp32 accumulation: every step rounds X to bf16 (a perturbation of
            # norm <= 2^-9 ||X||_F = 2^-9 sqrt(12)), so the singular values of Q settle within
            # 4 sqrt(n) 2^-9 of 1 and ||Q^T Q - I||_F <= 2 sqrt(n) of that = n / 64 (the bound of
            # tests/unit/polar/test_bf16.cpp, n = 12).
            q = os.path.join(d, "q_bf16.h5")
            code, out, err = run([s, "polar", "--input", x + ":/X", "--output", q + ":/Q", "--precision", "bf16",
                                  "--json"], n, a.mpiexec)
            res = one_json(out, err)
            if code != 0 or res["precision"] != "bf16" or res["orthogonality_error"] > 12 / 64 or res["iterations"] < 3:
                fail("polar bf16", out, err)
            q = os.path.join(d, "q_fp64.h5")
            for args, expected, status in [
                (["polar", "--input", x + ":/X", "--output", q, "--steps", "0"], "--steps", 2),
                (["polar", "sqrt", "--input", x + ":/X", "--output", q, "--precision", "bf16"], "polar factor only", 1),
                (["polar", "--input", x + ":/X", "--output", q, "--precision", "fp16"], "--precision", 2),
                (["polar", "sqrt", "--input", x + ":/X", "--output", q], "square", 1),
                (["polar", "--input", x + ":/missing", "--output", q], "not found", 1),
                (["polar", "--output", q], "--input", 2),
            ]:
                code, out, err = run([s] + args, n, a.mpiexec)
                if code != status or expected not in err:
                    fail(f"'strata {' '.join(args)}' should exit {status} with {expected!r}", out, err)

    elif a.case == "polar_batch":
        fixture = os.path.join(a.data, "h5py_fixture.h5")
        with tempfile.TemporaryDirectory() as d:
            q = os.path.join(d, "q.h5")
            code, out, err = run([s, "polar", "--input", fixture + ":/batch", "--output", q + ":/Q", "--json"], n, a.mpiexec)
            res = one_json(out, err)
            if code != 0 or res["batch"] != 3 or res["rows"] != 5 or res["cols"] != 4 or res["orthogonality_error"] > 1e-13:
                fail("polar on a 3-D batch", out, err)
            # Matrix functions of a symmetric positive definite matrix: sqrt, invsqrt (||Z Y - I||_F at
            # the fp64 floor) and its sign, the identity (||S^2 - I||_F at the floor).
            for op in ("sqrt", "invsqrt", "sign"):
                code, out, err = run([s, "polar", op, "--input", fixture + ":/spd", "--output", q + ":/" + op, "--json"],
                                     n, a.mpiexec)
                res = one_json(out, err)
                if code != 0 or res["orthogonality_error"] > 1e-13 or res["command"] != "polar " + op:
                    fail(f"polar {op} of the SPD fixture", out, err)
            code, out, err = run([s, "polar", "sign", "--input", fixture + ":/batch", "--output", q], n, a.mpiexec)
            if code != 1 or "polar factor only" not in err:
                fail("sign of a batch should be refused with a clear error", out, err)
    elif a.case == "progress":
        # ctest gives strata a pipe for standard error: the log form of progress.
        demo = [s, "demo", "--rows", "2000", "--cols", "4", "--hss-n", "256"]
        code, out, err = run(demo + ["--progress", "always"], n, a.mpiexec)
        # Strata's lines only: under mpiexec the launcher may add its own.
        lines = [line for line in err.splitlines() if line.startswith("strata")]
        # Each phase ends with one line; `demo` itself has 11 steps. Only rank 0 writes.
        done = [line for line in lines if line.startswith("strata progress: strata demo: done at 11/11 after ")]
        if code != 0 or len(done) != 1:
            fail("--progress always: one 'strata demo' line at its end, from rank 0 only", out, err)
        phases = [line for line in lines if line.startswith("strata progress: ")]
        if len(phases) < 2 or len(phases) != len(lines):
            fail("--progress always: a line per phase (demo and its iterations), nothing else", out, err)
        # Short runs leave a log clean under auto (the default); never writes nothing at all.
        for extra in ([], ["--progress", "auto"], ["--progress", "never"], ["--json"]):
            code, out, err = run(demo + extra, n, a.mpiexec)
            if code != 0 or "strata progress:" in err:
                fail(f"'strata demo {' '.join(extra)}' (a short run) wrote progress to a log", out, err)
        # --progress always overrides --json's silence; standard output keeps one JSON object.
        code, out, err = run(demo + ["--json", "--progress", "always"], n, a.mpiexec)
        one_json(out, err)
        if code != 0 or "strata progress: strata demo: done at 11/11" not in err:
            fail("--json --progress always", out, err)
        code, out, err = run(demo + ["--progress", "sometimes"], n, a.mpiexec)
        if code != 2 or "option '--progress' must be auto, always or never, got 'sometimes'" not in err:
            fail("a bad --progress value is an option error (exit 2)", out, err)
        # The hss commands report their phases too: one final line each, from rank 0 only. They
        # read and write HDF5 files, so only where the build has HDF5.
        code, out, err = run([s, "info", "--json"], n, a.mpiexec)
        if code != 0:
            fail("strata info --json", out, err)
        has_hdf5 = one_json(out, err)["hdf5"]
        with tempfile.TemporaryDirectory() as d:
            h, b, x = (os.path.join(d, f) for f in ("h.h5", "b.h5", "x.h5"))
            for cmd, label, phases in (
                    (["hss", "random", "--n", "256", "--leaf-size", "32", "--rank", "4", "--output", h,
                      "--rhs", b + ":/B", "--columns", "2"], "hss random (generate, write)", 2),
                    (["hss", "matvec", "--hss", h, "--input", b + ":/B", "--output", x + ":/Y"],
                     "hss matvec (read, multiply, write)", 3),
                    (["hss", "solve", "--hss", h, "--rhs", b + ":/B", "--output", x + ":/X"],
                     "hss solve (read, factor and solve, write)", 3)) if has_hdf5 else ():
                code, out, err = run([s] + cmd + ["--progress", "always"], n, a.mpiexec)
                done = [line for line in err.splitlines()
                        if line.startswith(f"strata progress: {label}: done at {phases}/{phases} after ")]
                if code != 0 or len(done) != 1:
                    fail(f"strata {' '.join(cmd[:2])} --progress always: one final line from rank 0", out, err)

    elif a.case == "json_numbers":
        # Numbers are printed shortest-round-trip: the fewest digits that read back exactly.
        code, out, err = run([s, "polar", "schedule", "--steps", "8", "--safety", "1", "--json"], n, a.mpiexec)
        if code != 0:
            fail("polar schedule --json", out, err)
        tokens = re.findall(r"(?<![\w.\"])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.\"])", out)
        if len(tokens) < 20:
            fail(f"expected the schedule's numbers, found {tokens}", out, err)
        for token in tokens:
            value = float(token)
            shortest = repr(value)  # Python's repr is the shortest round-trip text too
            if significant_digits(token) != significant_digits(shortest):
                fail(f"{token} is not the shortest text of {value} ({shortest})", out, err)
        sched = one_json(out, err)
        if not isinstance(sched["safety"], int) or sched["safety"] != 1:
            fail("an integral double (--safety 1) must print as an integer", out, err)

    elif a.case == "option_errors":
        # Option errors exit 2 and name the full subcommand, whichever command parses them.
        for args, prefix in [(["sketch", "rsvd", "--bogus", "1"], "strata sketch rsvd"),
                             (["sketch", "trace", "--matvecs", "x"], "strata sketch trace"),
                             (["hss", "compress", "--tol", "abc"], "strata hss compress"),
                             (["polar", "sign", "--tol", "1e999"], "strata polar sign"),
                             (["polar", "--lower", "nan"], "strata polar factor"),
                             (["info", "--progress"], "strata info")]:
            code, out, err = run([s] + args, n, a.mpiexec)
            lines = [line for line in err.splitlines() if line.startswith("strata")]
            if code != 2 or len(lines) != 1 or not lines[0].startswith(prefix + ": error: "):
                fail(f"'strata {' '.join(args)}' should exit 2 with one '{prefix}: error:' line "
                     f"(exit {code})", out, err)
    else:
        fail(f"unknown case {a.case}")
    print(f"{a.case} (ranks {n}): ok")


if __name__ == "__main__":
    main()
