#!/usr/bin/env python3
"""Runs `strata hss` as a user would: random test matrices, matvec, ULV solve, help and errors."""
import argparse
import math
import os
import subprocess
import sys
import tempfile

from check_cli import fail, one_json, run  # noqa: E402  (shared helpers)


def sketch_norms(s, dataset, stream, out_file):
    """(||A||_F, ||S A||_F) for a fixed 32-row Rademacher sketch S (entries +-1/sqrt(32), seed 11,
    the given stream), computed by `strata sketch apply` (h5py may be missing on CI)."""
    code, out, err = run([s, "sketch", "apply", "--input", dataset, "--operator", "rademacher",
                          "--rows", "32", "--seed", "11", "--stream", str(stream), "--output",
                          out_file + ":/SA", "--json"], 1, "")
    if code != 0:
        fail(f"sketch apply of {dataset}", out, err)
    r = one_json(out, err)
    return r["input_frobenius_norm"], r["sketch_frobenius_norm"]


def expect_same_values(s, got, want, rows, slack, what, out_file):
    """Fails unless ||got - want||_F <= slack ||want||_F is consistent with the norms and three
    sketches: | ||G|| - ||W|| | <= ||G - W||_F and | ||S G|| - ||S W|| | <= ||S||_2 ||G - W||_F
    <= ||S||_F ||G - W||_F = sqrt(rows) ||G - W||_F (Rademacher +-1/sqrt(d): ||S||_F^2 = rows).
    ||G|| alone is blind to permuted or misplaced rows; the sketches are not."""
    for stream in range(3):
        ng, sg = sketch_norms(s, got, stream, out_file)
        nw, sw = sketch_norms(s, want, stream, out_file)
        if stream == 0 and abs(ng - nw) > slack * nw:
            fail(f"{what}: ||.||_F is {ng}, expected {nw} (slack {slack} relative)")
        if abs(sg - sw) > math.sqrt(rows) * slack * nw:
            fail(f"{what}: sketch {stream} is {sg}, expected {sw} (||.|| = {nw}, slack {slack})")


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
                # The residual is the solver's own report: check X independently. The matvec of
                # X (a separate code path) must give back B: ||fl(H X) - B|| <= (residual +
                # matvec rounding) ||B||. Matvec rounding (test_hss_core's bound): 2 K u ||H|| ||X||
                # with K = m + (2L + 1) max(m, 2r) = 50 + 13 * 50 = 700 and ||H|| ||X|| / ||B|| <=
                # cond(H) ~ 2 (the shifted random HSS matrix): 2800 u.
                code, out, err = run([s, "hss", "matvec", "--hss", h, "--input",
                                      os.path.join(d, "X.h5") + ":/X", "--output",
                                      os.path.join(d, "HX.h5") + ":/Y", "--json"], n, a.mpiexec)
                if code != 0:
                    fail("hss matvec of the solution", out, err)
                u = 2.0 ** -53 if dtype == "float64" else 2.0 ** -24
                expect_same_values(s, os.path.join(d, "HX.h5") + ":/Y", b + ":/B", 2000,
                                   r["residual"] + 2800 * u, f"H X for the {dtype} "
                                   f"{'SPD' if spd else 'general'} solve", os.path.join(d, "SA.h5"))
                os.remove(os.path.join(d, "HX.h5"))
                os.remove(os.path.join(d, "SA.h5"))
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
            # Values of Y = H B (the loop above ends with the transpose; redo H B): solving
            # H X = Y must give back B, which fails for permuted or misplaced rows of Y.
            # ||X - B|| <= cond(H) (residual + matvec rounding) ||B||. cond(H) ~ 2 for the
            # shifted random HSS matrix (hss_matrix.hpp: the shift 2(L+1) + 2 exceeds the norms
            # of the random parts); allow 10. Matvec rounding 2 K u cond(H), K = m + (2L+1)
            # max(m, 2r) <= 600 here (at most n = 1000 in any case).
            code, out, err = run([s, "hss", "matvec", "--hss", h, "--input", b + ":/B", "--output",
                                  os.path.join(d, "Y.h5") + ":/Y", "--json"], n, a.mpiexec)
            if code != 0:
                fail("hss matvec", out, err)
            code, out, err = run([s, "hss", "solve", "--hss", h, "--rhs",
                                  os.path.join(d, "Y.h5") + ":/Y", "--output",
                                  os.path.join(d, "X.h5") + ":/X", "--json"], n, a.mpiexec)
            r = one_json(out, err)
            if code != 0:
                fail("hss solve of H B", out, err)
            expect_same_values(s, os.path.join(d, "X.h5") + ":/X", b + ":/B", 1000,
                               10 * (r["residual"] + 2 * 1000 * 10 * 2.0 ** -53),
                               "solve(H, matvec(H, B))", os.path.join(d, "SA.h5"))
            code, out, err = run([s, "hss", "matvec", "--hss", h, "--input", h + ":/hss/leaves/D",
                                  "--output", os.path.join(d, "Z.h5") + ":/Z"], n, a.mpiexec)
            if code != 1 or "rows" not in out + err:
                fail("a 1-D / wrongly shaped input must be refused with exit 1", out, err)

    elif a.case == "hss_bad_input":
        cases = [
            (["hss"], 2, "missing operation"),
            (["hss", "nosuch"], 2, "unknown operation 'nosuch'"),
            (["hss", "compress", "--rank", "4", "--output", "h.h5"], 2, "option '--input FILE.h5:/DATASET' is required"),
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
    elif a.case == "hss_solve_krylov":
        # A loose HSS (tol 1e-4) preconditions the exact cauchy-1d operator: GMRES reaches 1e-10
        # in a few iterations (issue 13 asks <= 10), where the direct ULV solve of that HSS leaves
        # a residual near the compression tolerance.
        base = ["hss", "solve", "--problem", "cauchy-1d", "--n", "1024", "--tol", "1e-4", "--json"]

        def solve(extra, ranks, want_code=0):
            code, out, err = run([s] + base + extra, ranks, a.mpiexec)
            if code != want_code:
                fail(f"'strata {' '.join(base + extra)}' at {ranks} ranks: exit {code}, "
                     f"expected {want_code}", out, err)
            return one_json(out, err)

        direct = solve([], n)
        if direct["krylov"] != "none" or not 1e-8 < direct["relative_residual"] < 1e-2:
            fail(f"direct ULV solve: residual {direct['relative_residual']}, expected about the "
                 "HSS tolerance 1e-4 against the exact matrix")
        # The default construction reads O(N k) entries (skeletonization), no products, and its
        # certificate met the tolerance.
        h = direct["hss"]
        if (h["method"] != "entries" or h["products"] != 0 or not 0 < h["entries"] < 1024 * 1024
                or h["met_tolerance"] is not True or not 0 <= h["relative_error_estimate"] <= 1e-4):
            fail(f"direct ULV solve: expected an entries-built H that met tol 1e-4: {h}")
        lm = solve(["--method", "levitt-martinsson", "--krylov", "gmres", "--krylov-tol", "1e-10"],
                   n)
        if (lm["hss"]["method"] != "levitt-martinsson" or lm["hss"]["entries"] != 0
                or lm["hss"]["products"] <= 0 or not lm["converged"]
                or lm["relative_residual"] > 1e-10):
            fail(f"gmres preconditioned by a product-built H: {lm}")
        # An H that misses --tol against the fp64 matrix (fp32 cannot resolve 1e-8: the product
        # methods' probes see fp32 rounding; the entries method certifies H against the fp32
        # entries, and the CLI adds their rounding, u ||A||_F, to its bound): the direct solve
        # is inaccurate (exit 3, one warning line); GMRES preconditioned by that H still
        # converges (exit 0) and warns that the preconditioner missed the tolerance.
        miss = ["--n", "256", "--leaf-size", "32", "--tol", "1e-8", "--precision", "fp32"]
        for method in ("entries", "levitt-martinsson"):
            for krylov, want_code in ((["--krylov", "none"], 3), (["--krylov", "gmres"], 0)):
                args = [s] + base[:4] + miss + ["--method", method, "--json"] + krylov
                code, out, err = run(args, n, a.mpiexec)
                got = one_json(out, err) if code in (0, 3) else None
                if (code != want_code or got is None or got["hss"]["met_tolerance"] is not False
                        or not got["hss"]["relative_error_bound"] > 1e-8
                        or "warning" not in err or "tol" not in err
                        or got["status"] != ("inaccurate" if want_code else "ok")):
                    fail(f"'{' '.join(args[1:])}': expected exit {want_code} with met_tolerance "
                         f"false, a bound above 1e-8 and a warning, got exit {code}", out, err)
        g = solve(["--krylov", "gmres", "--krylov-tol", "1e-10"], n)
        if g["status"] != "ok" or not g["converged"] or g["iterations"] > 10:
            fail(f"gmres: status {g['status']}, {g['iterations']} iterations")
        if not g["relative_residual"] <= 1e-10:
            fail(f"gmres: true residual {g['relative_residual']} > 1e-10")
        history = g["residual_history"]
        if len(history) != g["iterations"] + 1 or history[0] != 1:
            fail(f"gmres: residual history {history} for {g['iterations']} iterations")
        for phase in ("compress", "factor", "solve", "operator", "preconditioner",
                      "orthogonalization"):
            if phase not in g["time_s"]:
                fail(f"gmres: time_s lacks '{phase}': {g['time_s']}")
        if n > 1:
            single = solve(["--krylov", "gmres", "--krylov-tol", "1e-10"], 1)
            if single["iterations"] != g["iterations"]:
                fail(f"gmres: {g['iterations']} iterations at {n} ranks, "
                     f"{single['iterations']} at 1")
        # An fp32 HSS preconditions the fp64 GMRES as well (its error 1e-4 >> fp32 rounding).
        f = solve(["--krylov", "gmres", "--krylov-tol", "1e-10", "--precision", "fp32"], n)
        if (f["hss_precision"] != "fp32" or f["dtype"] != "float64" or not f["converged"]
                or f["iterations"] > 10 or f["relative_residual"] > 1e-10):
            fail(f"gmres with an fp32 HSS: {f}")
        c = solve(["--krylov", "cg", "--krylov-tol", "1e-10"], n)
        if not c["converged"] or c["relative_residual"] > 1e-10:
            fail(f"cg on the symmetric positive definite cauchy-1d: {c}")
        # Too few iterations: exit 3, status inaccurate, never "converged".
        short = solve(["--krylov", "gmres", "--krylov-tol", "1e-14", "--max-iter", "1"], n, 3)
        if short["status"] != "inaccurate" or short["converged"]:
            fail(f"gmres with --max-iter 1: {short}")
        for extra, text in ((["--krylov", "bicg"], "must be gmres, cg or none"),
                            (["--method", "dense"], "unknown method 'dense'"),
                            (["--krylov", "gmres", "--krylov-tol", "0"], "must be a number > 0"),
                            (["--krylov", "gmres", "--restart", "0"], "--restart"),
                            (["--restart", "5"], "goes with '--krylov gmres|cg'")):
            code, out, err = run([s] + base + extra, n, a.mpiexec)
            if code != 2 or text not in out + err:
                fail(f"'{' '.join(extra)}': expected exit 2 and '{text}', got {code}", out, err)
        code, out, err = run([s, "hss", "solve", "--hss", "H.h5", "--krylov", "gmres"], n,
                             a.mpiexec)
        if code != 2 or "needs '--problem" not in out + err:
            fail("--krylov without --problem must be a usage error", out, err)
    else:
        fail(f"unknown case {a.case}")
    print("ok")


if __name__ == "__main__":
    main()
