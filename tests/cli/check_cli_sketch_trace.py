#!/usr/bin/env python3
"""Runs `strata sketch trace` and `strata sketch diag` as a user would (see check_cli.py for the
pattern) on the committed SPD fixture and checks the answers and the error messages."""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_cli import fail, one_json, run  # noqa: E402

# /spd of tests/fixtures/h5py_fixture.h5 (make_h5py_fixture.py): a 4 x 4 SPD matrix with diagonal
# 4, 3, 2, 1, so its trace is 10.
SPD_DIAGONAL = [4.0, 3.0, 2.0, 1.0]
SPD_TRACE = 10.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--strata", required=True)
    p.add_argument("--mpiexec", default="")
    p.add_argument("--case", required=True)
    p.add_argument("--ranks", type=int, default=1)
    p.add_argument("--data", default="")
    a = p.parse_args()
    s, n = a.strata, a.ranks
    spd = os.path.join(a.data, "h5py_fixture.h5") + ":/spd"
    rect = os.path.join(a.data, "h5py_fixture.h5") + ":/A"

    if a.case == "sketch_trace":
        for op in ("trace", "diag"):
            code, out, err = run([s, "sketch", op, "--help"], n, a.mpiexec)
            if code != 0 or f"usage: strata sketch {op}" not in out:
                fail(f"'strata sketch {op} --help' should print its usage and exit 0", out, err)
        # Hutch++ with 12 products has 4 sketch vectors: it captures all of R^4, so the estimate
        # is the trace up to rounding; NA-Hutch++ likewise with ceil(30/6) = 5 >= 4.
        for method, m in (("hutch++", 12), ("na-hutch++", 30)):
            code, out, err = run([s, "sketch", "trace", "--input", spd, "--matvecs", str(m), "--method", method,
                                  "--json"], n, a.mpiexec)
            res = one_json(out, err)
            if code != 0 or res["status"] != "ok" or res["method"] != method or res["matvecs"] != m:
                fail(f"sketch trace --method {method}", out, err)
            if abs(res["estimate"] - SPD_TRACE) > 1e-12 * SPD_TRACE or res["mpi_ranks"] != n:
                fail(f"{method} should be exact on a 4 x 4 matrix with {m} products", out, err)
            if "time_s" not in res or "standard_error" not in res:
                fail("JSON keys time_s and standard_error", out, err)
        # Hutchinson is random: within 5 of its own standard errors of the trace (Rademacher
        # probes; the standard error estimates sqrt(Var/m) from the 60 samples).
        code, out, err = run([s, "sketch", "trace", "--input", spd, "--matvecs", "60", "--method", "hutchinson",
                              "--seed", "3", "--json"], n, a.mpiexec)
        res = one_json(out, err)
        if code != 0 or not res["standard_error"] or abs(res["estimate"] - SPD_TRACE) > 5 * res["standard_error"]:
            fail("hutchinson estimate", out, err)
        # The result does not depend on the number of ranks: the same seed gives the same digits.
        code, out, err = run([s, "sketch", "trace", "--input", spd, "--matvecs", "60", "--method", "hutchinson",
                              "--seed", "3", "--json"], 1, a.mpiexec)
        single = one_json(out, err)
        if abs(single["estimate"] - res["estimate"]) > 1e-12 * SPD_TRACE:
            fail(f"{n} ranks give {res['estimate']}, one rank {single['estimate']}", out, err)
        code, out, err = run([s, "sketch", "trace", "--input", spd], n, a.mpiexec)
        if code != 0 or "trace ~ " not in out:
            fail("human-readable sketch trace", out, err)

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "d.h5")
            for method in ("diag++", "hutchinson"):
                code, out, err = run([s, "sketch", "diag", "--input", spd, "--matvecs", "12", "--method", method,
                                      "--output", path + ":/" + method, "--json"], n, a.mpiexec)
                res = one_json(out, err)
                if code != 0 or res["status"] != "ok" or res["rows"] != 4 or res["matvecs"] != 12:
                    fail(f"sketch diag --method {method}", out, err)
            if not os.path.exists(path):
                fail("sketch diag did not write its output file")
            try:
                import h5py  # optional: CI may not have it
            except ImportError:
                h5py = None
            if h5py is not None:
                with h5py.File(path, "r") as f:
                    values = list(f["diag++"][()])
                if any(abs(v - e) > 1e-12 for v, e in zip(values, SPD_DIAGONAL)) or len(values) != 4:
                    fail(f"diag++ with 12 products should be exact, got {values}")

            for args, expected, status in [
                (["sketch", "trace", "--input", rect], "square", 1),
                (["sketch", "trace", "--input", spd, "--matvecs", "2"], "at least 3", 1),
                (["sketch", "trace", "--input", spd, "--matvecs", "30", "--method", "hutchinson++"],
                 "unknown trace method", 2),
                (["sketch", "trace", "--input", spd, "--probes", "uniform"], "--probes", 2),
                (["sketch", "trace", "--matvecs", "30"], "--input", 2),
                (["sketch", "trace", "--input", spd, "--matvecs", "0"], "--matvecs", 2),
                (["sketch", "trace", "--input", spd + "_missing"], "not found", 1),
                (["sketch", "diag", "--input", spd], "--output", 2),
                (["sketch", "diag", "--input", spd, "--output", path, "--method", "diag+"], "unknown diagonal method", 2),
                (["sketch", "diag", "--input", rect, "--output", path], "square", 1),
            ]:
                code, out, err = run([s] + args, n, a.mpiexec)
                if code != status or expected not in err:
                    fail(f"'strata {' '.join(args)}' should exit {status} with {expected!r}", out, err)
    else:
        fail(f"unknown case {a.case}")
    print(f"{a.case} (ranks {n}): ok")


if __name__ == "__main__":
    main()
