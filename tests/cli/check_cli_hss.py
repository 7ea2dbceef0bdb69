#!/usr/bin/env python3
"""Runs `strata hss` as a user would: random test matrices, matvec, ULV solve, help and errors."""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile


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

    if a.case == "hss_help":
        for args, text in ((["hss", "--help"], "usage: strata hss"),
                           (["hss", "matvec", "--help"], "usage: strata hss matvec"),
                           (["hss", "solve", "--help"], "usage: strata hss solve"),
                           (["hss", "random", "--help"], "usage: strata hss random")):
            code, out, err = run([s] + args, n, a.mpiexec)
            if code != 0 or text not in out:
                fail(f"'strata {' '.join(args)}' should print '{text}' and exit 0 (exit {code})",
                     out, err)

    elif a.case == "hss_solve":
        with tempfile.TemporaryDirectory() as d:
            h, b = os.path.join(d, "H.h5"), os.path.join(d, "B.h5")
            for extra, spd, dtype, bound in (([], False, "float64", 1e-12),
                                             (["--symmetric"], True, "float64", 1e-12),
                                             ([], False, "float32", 1e-4)):
                code, out, err = run([s, "hss", "random", "--n", "2000", "--leaf-size", "50",
                                      "--rank", "10", "--dtype", dtype, "--output", h,
                                      "--rhs", b + ":/B", "--columns", "3", "--json"] + extra,
                                     n, a.mpiexec)
                info = one_json(out, err)
                if code != 0 or info["n"] != 2000 or info["levels"] != 6:
                    fail("hss random", out, err)
                cmd = [s, "hss", "solve", "--hss", h, "--rhs", b + ":/B", "--output",
                       os.path.join(d, "X.h5") + ":/X", "--json"] + (["--spd"] if spd else [])
                code, out, err = run(cmd, n, a.mpiexec)
                r = one_json(out, err)
                if code != 0 or r["status"] != "ok" or r["cols"] != 3:
                    fail("hss solve", out, err)
                # A well-conditioned random HSS matrix (cond ~ 2): a backward-stable solve leaves a
                # residual of a few hundred units of roundoff at most.
                if not (0 <= r["residual"] <= bound) or r["time_s"] <= 0:
                    fail(f"residual {r['residual']} above {bound} or bad time", out, err)
                if r["dtype"] != dtype or r["variant"] != ("spd" if spd else "general"):
                    fail("dtype / variant reported wrongly", out, err)
            leftovers = sorted(f for f in os.listdir(d) if f not in ("H.h5", "B.h5", "X.h5"))
            if leftovers:
                fail(f"temporary files left behind: {leftovers}")

    elif a.case == "hss_matvec":
        with tempfile.TemporaryDirectory() as d:
            h, b = os.path.join(d, "H.h5"), os.path.join(d, "B.h5")
            code, out, err = run([s, "hss", "random", "--n", "1000", "--output", h, "--rhs",
                                  b + ":/B", "--columns", "2", "--quiet"], n, a.mpiexec)
            if code != 0:
                fail("hss random", out, err)
            for extra in ([], ["--transpose"]):
                code, out, err = run([s, "hss", "matvec", "--hss", h, "--input", b + ":/B",
                                      "--output", os.path.join(d, "Y.h5") + ":/Y", "--json"] + extra,
                                     n, a.mpiexec)
                r = one_json(out, err)
                if code != 0 or r["rows"] != 1000 or r["cols"] != 2 or r["transpose"] != bool(extra):
                    fail("hss matvec", out, err)
            if os.path.getsize(os.path.join(d, "Y.h5")) < 1000 * 2 * 8:
                fail("hss matvec did not write Y")
            code, out, err = run([s, "hss", "matvec", "--hss", h, "--input", h + ":/hss/leaves/D",
                                  "--output", os.path.join(d, "Z.h5") + ":/Z"], n, a.mpiexec)
            if code != 1 or "rows" not in out + err:
                fail("a 1-D / wrongly shaped input must be refused with exit 1", out, err)

    elif a.case == "hss_bad_input":
        cases = [
            (["hss"], 2, "missing operation"),
            (["hss", "nosuch"], 2, "unknown operation 'nosuch'"),
            (["hss", "compress"], 2, "'hss compress' is not available"),
            (["hss", "matvec", "--input", "x.h5:/X", "--output", "y.h5:/Y"], 2,
             "missing option '--hss'"),
            (["hss", "solve", "--hss", "/nonexistent/H.h5", "--rhs", "b.h5:/B", "--output",
              "x.h5:/X"], 1, "cannot open HSS file"),
            (["hss", "random", "--n", "100", "--output", "h.h5", "--dtype", "int8"], 2,
             "must be float64 or float32"),
            (["hss", "random", "--n", "100", "--output", "h.h5", "--bogus"], 2,
             "unknown option '--bogus'"),
        ]
        with tempfile.TemporaryDirectory() as d:
            for args, want_code, text in cases:
                proc = subprocess.run([s] + args, capture_output=True, text=True, timeout=120, cwd=d)
                both = proc.stdout + proc.stderr
                if proc.returncode != want_code or text not in both:
                    fail(f"'strata {' '.join(args)}': expected exit {want_code} and '{text}', "
                         f"got exit {proc.returncode}", proc.stdout, proc.stderr)
    else:
        fail(f"unknown case {a.case}")
    print("ok")


if __name__ == "__main__":
    main()
