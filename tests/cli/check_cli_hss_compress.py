#!/usr/bin/env python3
"""Runs `strata hss compress` as a user would: built-in problems at a tolerance with every method,
then `strata hss matvec` / `strata hss solve` on the result; a dense --input; the JSON keys; the
error cases (exit 2 for usage errors, 1 for data errors). Inputs come from `strata hss random`
and the committed h5py fixture (numpy/h5py are not needed)."""
import argparse
import os
import shutil
import struct
import sys
import tempfile

from check_cli import fail, one_json, run  # noqa: E402  (shared helpers)

KEYS = ("n", "levels", "leaf_size", "max_rank", "ranks_per_level", "matvecs", "memory_bytes",
        "relative_error_estimate", "time_s")


def check_summary(r, n, out, err):
    """The JSON keys and their consistency."""
    missing = [k for k in KEYS if k not in r]
    if missing:
        fail(f"JSON keys missing: {missing}", out, err)
    if r["status"] != "ok" or r["n"] != n:
        fail("status / n", out, err)
    ranks = r["ranks_per_level"]
    if not isinstance(ranks, list) or len(ranks) != r["levels"] or r["levels"] < 1:
        fail("ranks_per_level must be an array with one entry per level", out, err)
    if r["max_rank"] != max(ranks) or min(ranks) < 1:
        fail("max_rank must be the largest entry of ranks_per_level", out, err)
    # The entries method reads entries of A, no products: then the entry count must be positive.
    used = r["matvecs"] if r.get("method") != "entries" else r.get("entries", 0)
    if not r["leaf_size"] >= 1 or used <= 0 or r["memory_bytes"] <= 0:
        fail("leaf_size / matvecs (entries) / memory_bytes", out, err)
    t = r["time_s"]
    if not isinstance(t, dict) or "total" not in t or len(t) < 3 or t["total"] <= 0:
        fail("time_s must hold total and a per-phase breakdown", out, err)
    phases = sum(v for k, v in t.items() if k != "total")
    if abs(phases - t["total"]) > 1e-6 * max(1.0, t["total"]):
        fail(f"phases add up to {phases}, not to total {t['total']}", out, err)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--strata", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--mpiexec", default="")
    p.add_argument("--case", required=True)
    p.add_argument("--ranks", type=int, default=1)
    a = p.parse_args()
    s, nr = a.strata, a.ranks

    if a.case == "hss_compress_help":
        code, out, err = run([s, "hss", "compress", "--help"], nr, a.mpiexec)
        if code != 0 or "usage: strata hss compress" not in out or "--problem" not in out:
            fail("'strata hss compress --help'", out, err)

    elif a.case == "hss_compress_problem":
        with tempfile.TemporaryDirectory() as d:
            h, b = os.path.join(d, "H.h5"), os.path.join(d, "B.h5")
            n = 1024
            # Right-hand sides of the right size (the random HSS matrix itself is not used).
            code, out, err = run([s, "hss", "random", "--n", str(n), "--output",
                                  os.path.join(d, "unused.h5"), "--rhs", b + ":/B", "--columns",
                                  "2", "--quiet"], nr, a.mpiexec)
            if code != 0:
                fail("hss random (right-hand sides)", out, err)
            # The error estimate is a Gaussian-probe estimate of ||A - H||_F / ||A||_F. Every
            # method (the entry method too: it tightens its ID tolerance until the estimate meets
            # tol) stops when the estimate meets tol, or reports "inaccurate". Cauchy 1/(r + 1e-3) on 1-D points has ranks ~ 25
            # at 1e-8. Levitt-Martinsson and the entry method need O(rank) products (< N); the
            # quasi-optimal method draws fresh sketches on every level (O(k log(N/k)) products,
            # more than N at this small N), so its count is not checked.
            products = {}
            for method, tol, factor in (("levitt-martinsson", 1e-8, 1), ("quasi-optimal", 1e-6, 1),
                                        ("entries", 1e-8, 1)):
                code, out, err = run([s, "hss", "compress", "--problem", "cauchy-1d", "--n", str(n),
                                      "--tol", str(tol), "--method", method, "--output", h,
                                      "--json"], nr, a.mpiexec)
                r = one_json(out, err)
                if code != 0:
                    fail(f"hss compress --method {method}", out, err)
                check_summary(r, n, out, err)
                if r["method"] != method or not 0 <= r["relative_error_estimate"] <= factor * tol:
                    fail(f"{method}: error estimate {r['relative_error_estimate']} above "
                         f"{factor} x {tol}", out, err)
                if r["max_rank"] >= 64 or (method != "quasi-optimal" and r["matvecs"] >= n):
                    fail(f"{method}: {r['matvecs']} products, max rank {r['max_rank']}", out, err)
                code, out, err = run([s, "hss", "matvec", "--hss", h, "--input", b + ":/B",
                                      "--output", os.path.join(d, "Y.h5") + ":/Y", "--json"],
                                     nr, a.mpiexec)
                m = one_json(out, err)
                if code != 0 or m["rows"] != n or m["cols"] != 2:
                    fail(f"hss matvec on the {method} result", out, err)
                products[method] = (m["norm_y"], factor * tol)
            # The three results approximate the same A, so their products with the same B must
            # agree, which the self-reported estimates alone do not show. With H_i = A + E_i,
            # ||E_i||_F <= f_i tol_i ||A||_F (the bound the estimate was checked against),
            #   | ||H_i B|| - ||H_j B|| | <= ||(E_i - E_j) B||_F.
            # B is Gaussian (hss random --rhs), so E ||E B||_F^2 = k ||E||_F^2 and
            # E ||A B||_F^2 = k ||A||_F^2: the relative difference is (f_i tol_i + f_j tol_j) times
            # a ratio of two chi-square-like quantities with k = 2 columns, which stays below 3
            # except with probability ~ e^-3 per spectral direction (fixed seed, so deterministic
            # here), times up to 3 for the Gaussian-probe estimate under-reporting the true error
            # (few probes): allowance 10 (f_i tol_i + f_j tol_j). Rounding (~1e-13) is negligible.
            # A wrong level or a lost coupling block changes A B by far more than 2e-5.
            names = sorted(products)
            for i, mi in enumerate(names):
                for mj in names[i + 1:]:
                    (yi, bi), (yj, bj) = products[mi], products[mj]
                    allowed = 10 * (bi + bj)
                    if abs(yi - yj) > allowed * max(yi, yj):
                        fail(f"||H B||_F differs between {mi} ({yi}) and {mj} ({yj}) by more than "
                             f"{allowed} relative")
            # The Cauchy matrix is well conditioned (its diagonal 1/delta = 1000 dominates the
            # spectrum; the ULV residual measured here is ~ 2e-15): 1e-10 leaves a wide margin
            # while catching a wrong factorization.
            code, out, err = run([s, "hss", "solve", "--hss", h, "--rhs", b + ":/B", "--output",
                                  os.path.join(d, "X.h5") + ":/X", "--json"], nr, a.mpiexec)
            r = one_json(out, err)
            if code != 0 or not 0 <= r["residual"] <= 1e-10:
                fail("hss solve on the compressed Cauchy matrix", out, err)
            # Single precision: estimate within tol, file stored as float32.
            code, out, err = run([s, "hss", "compress", "--problem", "gaussian-2d", "--n", "1024",
                                  "--tol", "1e-4", "--precision", "fp32", "--output", h, "--json"],
                                 nr, a.mpiexec)
            r = one_json(out, err)
            if code != 0 or r["precision"] != "fp32":
                fail("hss compress --precision fp32", out, err)
            check_summary(r, 1024, out, err)
            if not 0 <= r["relative_error_estimate"] <= 1e-4:
                fail(f"fp32 error estimate {r['relative_error_estimate']} above 1e-4", out, err)
            # Text mode: a summary naming the output.
            code, out, err = run([s, "hss", "compress", "--problem", "laplace", "--dim", "1",
                                  "--n", "1024", "--rank", "12", "--leaf-size", "32", "--output",
                                  h], nr, a.mpiexec)
            if code != 0 or "wrote " + h not in out or "ranks per level" not in out:
                fail("hss compress (text output)", out, err)

    elif a.case == "hss_compress_input":
        with tempfile.TemporaryDirectory() as d:
            h, g = os.path.join(d, "H.h5"), os.path.join(d, "G.h5")
            # A dense square Gaussian matrix (n x n block of `hss random --rhs`): not compressible,
            # so a fixed rank leaves a large error; the run must still be complete and consistent.
            n = 256
            code, out, err = run([s, "hss", "random", "--n", str(n), "--output",
                                  os.path.join(d, "unused.h5"), "--rhs", g + ":/G", "--columns",
                                  str(n), "--quiet"], nr, a.mpiexec)
            if code != 0:
                fail("hss random (dense input)", out, err)
            for method in ("levitt-martinsson", "quasi-optimal", "entries"):
                code, out, err = run([s, "hss", "compress", "--input", g + ":/G", "--rank", "8",
                                      "--leaf-size", "32", "--method", method, "--output", h,
                                      "--json"], nr, a.mpiexec)
                r = one_json(out, err)
                if code != 0:
                    fail(f"hss compress --input --method {method}", out, err)
                check_summary(r, n, out, err)
                if r["max_rank"] != 8 or r["levels"] != 3:
                    fail(f"{method}: rank 8 on 3 levels expected", out, err)
                # No HSS matrix of rank 8 is close to a Gaussian matrix: the exact leaf blocks hold
                # 1/8 of its energy and a rank-8 basis of a 32-row block row at most ~ 1/2 of the
                # rest, so ||A - H||_F / ||A||_F >= ~0.7 for any such H; the estimate (10 probes,
                # n = 256: relative spread ~ 1/sqrt(2560)) must stay above 0.5. No upper bound:
                # the null-space methods may amplify the part they cannot represent.
                est = r["relative_error_estimate"]
                if not (isinstance(est, float) and 0.5 <= est < float("inf")):
                    fail(f"{method}: error estimate {est}", out, err)

    elif a.case == "hss_compress_errors":
        fixture = os.path.join(a.data, "h5py_fixture.h5")
        with tempfile.TemporaryDirectory() as d:
            h = os.path.join(d, "H.h5")
            # A copy of the fixture with NaN in /spd (its first row 4, 1, 0, 0 is stored once as
            # little-endian float64 in the file).
            bad = os.path.join(d, "nan.h5")
            shutil.copy(fixture, bad)
            with open(bad, "rb") as f:
                data = f.read()
            row = struct.pack("<4d", 4.0, 1.0, 0.0, 0.0)
            if data.count(row) != 1:
                fail("the fixture's /spd row was not found exactly once")
            with open(bad, "wb") as f:
                f.write(data.replace(row, struct.pack("<4d", float("nan"), 1.0, 0.0, 0.0)))
            base = ["hss", "compress", "--output", h]
            cases = [
                (base + ["--rank", "4"], 2, "neither --input nor --problem"),
                (base + ["--rank", "4", "--input", fixture + ":/spd", "--problem", "cauchy-1d",
                         "--n", "64"], 2, "not both"),
                (base + ["--problem", "nosuch-1d", "--n", "64", "--tol", "1e-6"], 2,
                 "unknown problem 'nosuch-1d'"),
                (base + ["--problem", "cauchy-1d", "--tol", "1e-6"], 2, "needs '--n N'"),
                (base + ["--problem", "cauchy-1d", "--n", "64", "--tol", "0"], 2,
                 "'--tol' must be a number > 0"),
                (base + ["--problem", "cauchy-1d", "--n", "64", "--tol", "-1e-3"], 2,
                 "'--tol' must be a number > 0"),
                (base + ["--problem", "cauchy-1d", "--n", "64"], 2, "exactly one of '--tol"),
                (base + ["--problem", "cauchy-1d", "--n", "64", "--tol", "1e-6", "--rank", "4"], 2,
                 "exactly one of '--tol"),
                (base + ["--problem", "cauchy-1d", "--n", "256", "--rank", "16", "--leaf-size",
                         "8"], 2, "smaller than --rank"),
                (base + ["--problem", "cauchy-1d", "--n", "64", "--tol", "1e-6", "--method",
                         "magic"], 2, "unknown method 'magic'"),
                (base + ["--problem", "cauchy-1d", "--n", "64", "--tol", "1e-6", "--precision",
                         "fp16"], 2, "must be fp64 or fp32"),
                (base + ["--problem", "laplace-2d", "--n", "64", "--dim", "3", "--tol", "1e-6"],
                 2, "dim"),
                (base + ["--input", fixture + ":/spd", "--n", "4", "--rank", "1"], 2,
                 "go with '--problem'"),
                (["hss", "compress", "--problem", "cauchy-1d", "--n", "64", "--tol", "1e-6"], 2,
                 "'--output FILE.h5' is required"),
                (base + ["--input", fixture + ":/A", "--rank", "1"], 1,
                 "needs a square matrix"),
                (base + ["--input", bad + ":/spd", "--rank", "1", "--leaf-size", "2"], 1,
                 "NaN or Inf"),
                (base + ["--input", fixture + ":/missing", "--rank", "1"], 1, "not found"),
            ]
            for args, want_code, text in cases:
                code, out, err = run([s] + args, nr, a.mpiexec)
                lines = [line for line in err.splitlines()
                         if line.strip() and not line.startswith("strata progress:")]
                if code != want_code or text not in out + err or len(lines) != 1:
                    fail(f"'strata {' '.join(args)}': expected exit {want_code}, one line "
                         f"containing '{text}'; got exit {code}", out, err)
            if os.path.exists(h):
                fail("a failed run must not leave an output file")
    else:
        fail(f"unknown case {a.case}")
    print("ok")


if __name__ == "__main__":
    main()
