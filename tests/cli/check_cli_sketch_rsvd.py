#!/usr/bin/env python3
"""Checks `strata sketch rsvd` and `strata sketch lstsq` as a user runs them. Inputs come from
`strata demo --output` (a Gaussian matrix) and the committed h5py fixture; outputs are read back
through strata itself (numpy/h5py may be missing on CI)."""
import argparse
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_cli import fail, one_json, run  # noqa: E402
from check_cli_sketch_apply import read_contiguous  # noqa: E402

RSVD_KEYS = {"rank", "matvecs", "error_estimate", "time_s", "singular_values", "converged"}
LSTSQ_KEYS = {"iterations", "residual_norm", "normal_residual_norm", "converged", "time_s"}


def symmetric_eigenvalues(a):
    """Cyclic Jacobi on a small symmetric matrix (list of lists), descending."""
    n = len(a)
    a = [row[:] for row in a]
    for _ in range(100):
        off = sum(a[i][j] ** 2 for i in range(n) for j in range(n) if i != j)
        if off < 1e-30:
            break
        for p in range(n):
            for q in range(p + 1, n):
                if abs(a[p][q]) < 1e-300:
                    continue
                theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                t = math.copysign(1.0, theta) / (abs(theta) + math.sqrt(theta * theta + 1))
                c = 1 / math.sqrt(t * t + 1)
                s = t * c
                for k in range(n):
                    akp, akq = a[k][p], a[k][q]
                    a[k][p], a[k][q] = c * akp - s * akq, s * akp + c * akq
                for k in range(n):
                    apk, aqk = a[p][k], a[q][k]
                    a[p][k], a[q][k] = c * apk - s * aqk, s * apk + c * aqk
    return sorted((a[i][i] for i in range(n)), reverse=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--strata", required=True)
    p.add_argument("--mpiexec", default="")
    p.add_argument("--case", required=True)
    p.add_argument("--ranks", type=int, default=1)
    p.add_argument("--data", default="")
    a = p.parse_args()
    s, n = a.strata, a.ranks

    if a.case == "sketch_rsvd":
        with tempfile.TemporaryDirectory() as d:
            x = os.path.join(d, "x.h5")
            code, out, err = run([s, "demo", "--rows", "3000", "--cols", "12", "--output", x, "--quiet"], n, a.mpiexec)
            if code != 0:
                fail("making the input with strata demo --output", out, err)
            # ||X||_F from the polar command's Frobenius scaling (scale = 1.01 ||X||_F).
            code, out, err = run([s, "polar", "--input", x + ":/X", "--output", os.path.join(d, "p.h5"), "--json"],
                                 n, a.mpiexec)
            fro = one_json(out, err)["scale"] / 1.01
            f = os.path.join(d, "f.h5")
            # Full rank (k = n = 12): exact, so sum S^2 = ||X||_F^2 and the estimate is at rounding.
            code, out, err = run([s, "sketch", "rsvd", "--input", x + ":/X", "--rank", "12", "--output", f, "--json"],
                                 n, a.mpiexec)
            res = one_json(out, err)
            if code != 0 or not RSVD_KEYS <= res.keys() or res["rank"] != 12 or res["mpi_ranks"] != n:
                fail("rsvd --rank 12 --json: status, keys or rank", out, err)
            for phase in ("total", "read", "sketch", "qr", "svd", "write"):
                if phase not in res["time_s"]:
                    fail(f"time_s lacks the phase {phase}", out, err)
            sv = res["singular_values"]
            if len(sv) != 12 or any(b > a_ for a_, b in zip(sv, sv[1:])):
                fail("12 singular values in descending order expected", out, err)
            if abs(math.sqrt(sum(v * v for v in sv)) - fro) > 1e-10 * fro or res["error_estimate"] > 1e-9 * fro:
                fail(f"full-rank rsvd must reproduce ||X||_F = {fro}", out, err)
            # A 3000 x 12 Gaussian matrix has all its singular values in sqrt(3000) +- sqrt(12) (plus a
            # few percent of fluctuation): a rank-4 error near sigma_5 lies in that band.
            code, out, err = run([s, "sketch", "rsvd", "--input", x + ":/X", "--rank", "4", "--power", "1",
                                  "--output", f, "--json"], n, a.mpiexec)
            res = one_json(out, err)
            low, high = math.sqrt(3000) - math.sqrt(12), math.sqrt(3000) + math.sqrt(12)
            if code != 0 or res["rank"] != 4 or not (0.95 * low <= res["singular_values"][-1] <= 1.05 * high):
                fail("rank-4 singular values outside the Marchenko-Pastur band", out, err)
            if res["error_estimate"] < 0.95 * low:
                fail("the error estimate is below sigma_5, which no rank-4 approximation beats", out, err)
            if "upper bound" not in res.get("error_measure", "") or "10 Gaussian" not in res["error_measure"]:
                fail("the default error measure is named as HMT's bound from 10 probes", out, err)
            matvecs_with_probes = res["matvecs"]
            # Without probes: the same factors from 10 fewer products, no error measure (-1).
            code, out, err = run([s, "sketch", "rsvd", "--input", x + ":/X", "--rank", "4", "--power", "1",
                                  "--error-probes", "0", "--output", f, "--json"], n, a.mpiexec)
            res0 = one_json(out, err)
            if (code != 0 or res0["error_estimate"] != -1 or res0["matvecs"] != matvecs_with_probes - 10
                    or not res0["error_measure"].startswith("none")
                    or res0["singular_values"] != res["singular_values"]):
                fail("rsvd --error-probes 0: no estimate, 10 fewer matvecs, the same singular values", out, err)
            # The Frobenius estimate of a rank-4 error of a 3000 x 12 Gaussian matrix: sqrt(sum_{j > 4}
            # sigma_j^2) lies in sqrt(8) times the Marchenko-Pastur band, up to the estimator's spread
            # sqrt(2 / r) (r = 40 probes: 22%; the factor 2 below is > 4 standard deviations).
            code, out, err = run([s, "sketch", "rsvd", "--input", x + ":/X", "--rank", "4", "--power", "1",
                                  "--estimator", "frobenius", "--error-probes", "40", "--output", f, "--json"],
                                 n, a.mpiexec)
            resf = one_json(out, err)
            if (code != 0 or "||A - U S V^T||_F" not in resf["error_measure"]
                    or not (math.sqrt(8) * low / 2 <= resf["error_estimate"] <= 2 * math.sqrt(8) * high)):
                fail("rsvd --estimator frobenius: named, and within the band", out, err)
            # Shapes of /U and /V through `strata polar` (its Frobenius scale is 1.01 ||.||_F = 1.01 * 2
            # for 4 orthonormal columns) ...
            for name, rows in (("/U", 3000), ("/V", 12)):
                code, out, err = run([s, "polar", "--input", f + ":" + name, "--output", os.path.join(d, "q.h5"),
                                      "--json"], n, a.mpiexec)
                q = one_json(out, err)
                if code != 0 or q["rows"] != rows or q["cols"] != 4 or abs(q["scale"] / 1.01 - 2.0) > 1e-12:
                    fail(f"{name} should be {rows} x 4 with ||.||_F = 2", out, err)
                # ... and orthonormality entry by entry from the values read back: max |Q^T Q - I|.
                # Householder-type orthonormalization gives ||Q^T Q - I|| <= c m k u (Higham, Thm.
                # 19.4); 10 m k u = 1.3e-11 for m = 3000, k = 4. Unit columns that are not orthogonal
                # (e.g. normalized columns of the Gaussian X: off-diagonals ~ 1/sqrt(m) = 0.018) fail.
                vals = read_contiguous(f, rows * 4)
                if vals is None:
                    fail(f"could not locate the {rows} x 4 float64 dataset {name} in {f}")
                gram_err = max(abs(sum(vals[r * 4 + i] * vals[r * 4 + j] for r in range(rows)) - (i == j))
                               for i in range(4) for j in range(4))
                if gram_err > 10 * rows * 4 * 2.0**-53:
                    fail(f"{name}: max |Q^T Q - I| = {gram_err}: columns not orthonormal")
            # /U lies in the range of X: least squares reproduces it with a zero residual.
            code, out, err = run([s, "sketch", "lstsq", "--input", x + ":/X", "--rhs", f + ":/U", "--output",
                                  os.path.join(d, "sol.h5") + ":/x", "--json"], n, a.mpiexec)
            ls = one_json(out, err)
            if code != 0 or ls["residual_norm"] > 1e-12:
                fail("U from rsvd must lie in the range of X", out, err)
            # Adaptive rank on the rank-2 fixture /A (3 x 4): exact after rank 2 (three steps of one
            # column stop at rank 2 or 3), singular values equal to the fixture's (Jacobi here).
            fixture = os.path.join(a.data, "h5py_fixture.h5")
            am = [[10.0 * i + j + 0.5 for j in range(4)] for i in range(3)]
            aat = [[sum(am[i][k] * am[j][k] for k in range(4)) for j in range(3)] for i in range(3)]
            exact = [math.sqrt(max(e, 0.0)) for e in symmetric_eigenvalues(aat)]
            code, out, err = run([s, "sketch", "rsvd", "--input", fixture + ":/A", "--tol", "1e-8", "--block", "1",
                                  "--output", f, "--json"], n, a.mpiexec)
            res = one_json(out, err)
            if code != 0 or res["rank"] not in (2, 3) or not res["converged"] or res["error_estimate"] > 1e-8:
                fail("adaptive rsvd of the rank-2 fixture", out, err)
            for got, want in zip(res["singular_values"], exact):
                if abs(got - want) > 1e-10 * exact[0]:
                    fail(f"singular values {res['singular_values']} differ from {exact}", out, err)
            code, out, err = run([s, "sketch", "rsvd", "--input", fixture + ":/A", "--rank", "2", "--output", f],
                                 n, a.mpiexec)
            if code != 0 or "rank 2" not in out:
                fail("human-readable rsvd output", out, err)

    elif a.case == "sketch_lstsq":
        with tempfile.TemporaryDirectory() as d:
            x = os.path.join(d, "x.h5")
            code, out, err = run([s, "demo", "--rows", "2000", "--cols", "10", "--output", x, "--quiet"], n, a.mpiexec)
            if code != 0:
                fail("making the input with strata demo --output", out, err)
            f = os.path.join(d, "f.h5")
            # b = the columns of U from the rsvd (in the range of X): residual 0 for both methods.
            code, out, err = run([s, "sketch", "rsvd", "--input", x + ":/X", "--rank", "3", "--output", f], n, a.mpiexec)
            if code != 0:
                fail("rsvd for the right-hand sides", out, err)
            for method, operator in [(m_, o_) for m_ in ("precondition", "solve")
                                     for o_ in ("sparse-sign", "srht", "gaussian", "rademacher")]:
                code, out, err = run([s, "sketch", "lstsq", "--input", x + ":/X", "--rhs", f + ":/U", "--method", method,
                                      "--operator", operator, "--sketch-rows", "40",
                                      "--output", os.path.join(d, "sol.h5") + ":/x", "--json"], n, a.mpiexec)
                res = one_json(out, err)
                if code != 0 or not LSTSQ_KEYS <= res.keys() or not res["converged"] or res["residual_norm"] > 1e-12:
                    fail(f"lstsq --method {method} --operator {operator}", out, err)
                if res.get("operator") != operator or res.get("sketch_rows") != 40:
                    fail("lstsq reports the operator and the sketch rows it used", out, err)
                if (method == "solve") != (res["iterations"] == 0):
                    fail("iterations: 0 for solve, > 0 for precondition", out, err)
            # Error paths: right-hand sides with the wrong number of rows (/S: 3 entries, /V: 10 x 3, also
            # against A = /V, 10 x 3), a bad method, a missing --rhs, too few sketch rows. (A wide A is
            # in sketch_errors.)
            for args, expected, status in [
                (["sketch", "lstsq", "--input", x + ":/X", "--rhs", f + ":/S", "--output", f + ":/x"], "rows", 1),
                (["sketch", "lstsq", "--input", x + ":/X", "--rhs", f + ":/V", "--output", f + ":/x"], "rows", 1),
                (["sketch", "lstsq", "--input", f + ":/V", "--rhs", f + ":/S", "--output", f + ":/x"],
                 "has 3 entries but A has 10 rows", 1),
                (["sketch", "lstsq", "--input", x + ":/X", "--rhs", f + ":/U", "--output", f + ":/x", "--method", "qr"],
                 "--method", 2),
                (["sketch", "lstsq", "--input", x + ":/X", "--output", f + ":/x"], "--rhs", 2),
                (["sketch", "lstsq", "--input", x + ":/X", "--rhs", f + ":/U", "--output", f + ":/x",
                  "--operator", "hadamard"], "--operator", 2),
                (["sketch", "rsvd", "--input", x + ":/X", "--tol", "0.1", "--output", f,
                  "--operator", "srht"], "adaptive", 1),
                (["sketch", "rsvd", "--input", x + ":/X", "--rank", "3", "--output", f,
                  "--operator", "dense"], "--operator", 2),
                (["sketch", "lstsq", "--input", x + ":/X", "--rhs", f + ":/U", "--output", f + ":/x",
                  "--sketch-rows", "5"], "sketch needs at least", 1),
            ]:
                code, out, err = run([s] + args, n, a.mpiexec)
                if code != status or expected not in err:
                    fail(f"'strata {' '.join(args)}' should exit {status} with {expected!r}", out, err)

    elif a.case == "sketch_errors":
        for op in ("rsvd", "lstsq"):
            code, out, err = run([s, "sketch", op, "--help"], n, a.mpiexec)
            if code != 0 or f"usage: strata sketch {op}" not in out:
                fail(f"sketch {op} --help", out, err)
        fixture = os.path.join(a.data, "h5py_fixture.h5")
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "f.h5")
            for args, expected, status in [
                (["sketch", "rsvd", "--input", fixture + ":/A", "--output", f], "--rank", 2),
                (["sketch", "rsvd", "--input", fixture + ":/A", "--rank", "2", "--tol", "1e-3", "--output", f],
                 "exactly one", 2),
                (["sketch", "rsvd", "--input", fixture + ":/A", "--rank", "4", "--output", f], "exceeds min(m, n) = 3", 1),
                (["sketch", "rsvd", "--input", fixture + ":/A", "--rank", "x", "--output", f], "--rank", 2),
                (["sketch", "rsvd", "--input", fixture + ":/missing", "--rank", "1", "--output", f], "not found", 1),
                (["sketch", "rsvd", "--rank", "1", "--output", f], "--input", 2),
                (["sketch", "rsvd", "--input", fixture + ":/A", "--rank", "1"], "--output", 2),
                (["sketch", "rsvd", "--input", fixture + ":/A", "--rank", "1", "--output", f, "--estimator", "max"],
                 "--estimator", 2),
                (["sketch", "rsvd", "--input", fixture + ":/A", "--tol", "1e-3", "--error-probes", "0", "--output", f],
                 "--error-probes", 2),
                (["sketch", "lstsq", "--input", fixture + ":/A", "--rhs", fixture + ":/A", "--output", f + ":/x"],
                 "tall matrix", 1),
            ]:
                code, out, err = run([s] + args, n, a.mpiexec)
                if code != status or expected not in err:
                    fail(f"'strata {' '.join(args)}' should exit {status} with {expected!r}", out, err)
            if os.listdir(d):
                fail(f"failed runs left files behind: {os.listdir(d)}")
    else:
        fail(f"unknown case {a.case}")
    print(f"{a.case} (ranks {n}): ok")


if __name__ == "__main__":
    main()
