#!/usr/bin/env python3
"""`strata hss compress|matvec|solve` under mpirun: the distributed runs give the 1-rank results
(compress: the product methods and the entries method).

Compares the JSON reports of a 1-rank run with an N-rank run: the same adaptive ranks, products
and (to rounding) error estimate for the distributed construction; the same product norm and a
residual at the rounding level for the distributed matvec and solve; and the values, read back
through strata itself (h5py may be missing): random sketches of Y at 1 and N ranks agree, and the
1-rank matvec of each solution X gives back B (norm and sketches).
"""
import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile

from check_cli import fail  # noqa: E402  (shared helpers)


def run(cmd, ranks, mpiexec):
    if mpiexec:
        cmd = shlex.split(mpiexec.replace("{n}", str(ranks))) + cmd
    elif ranks != 1:
        fail("more than one rank needs --mpiexec")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    return proc.returncode, proc.stdout, proc.stderr


def json_run(cmd, ranks, mpiexec):
    code, out, err = run(cmd, ranks, mpiexec)
    if code != 0:
        fail(f"'{' '.join(cmd)}' at {ranks} ranks exited {code}", out, err)
    lines = [line for line in out.splitlines() if line.strip()]
    if len(lines) != 1:
        fail(f"expected exactly one JSON line on stdout, got {len(lines)}", out, err)
    try:
        return json.loads(lines[0])
    except json.JSONDecodeError as e:
        fail(f"stdout is not valid JSON: {e}", out, err)


def sketch_norms(s, dataset, stream, path, mpiexec):
    """(||A||_F, ||S A||_F) for a fixed 32-row Rademacher sketch S (seed 11, given stream)."""
    r = json_run([s, "sketch", "apply", "--input", dataset, "--operator", "rademacher", "--rows",
                  "32", "--seed", "11", "--stream", str(stream), "--output",
                  path("SA.h5") + ":/SA", "--json"], 1, mpiexec)
    return r["input_frobenius_norm"], r["sketch_frobenius_norm"]


def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--strata", required=True)
    p.add_argument("--mpiexec", default="")
    p.add_argument("--case", required=True)
    p.add_argument("--ranks", type=int, default=2)
    a = p.parse_args()
    s, n = a.strata, a.ranks

    if a.case != "hss_dist_compare":
        fail(f"unknown case {a.case}")
    with tempfile.TemporaryDirectory() as d:
        path = lambda name: os.path.join(d, name)
        # Distributed construction (tolerance mode, geometric tree with a permutation).
        reports = {}
        for ranks in (1, n):
            reports[ranks] = json_run(
                [s, "hss", "compress", "--problem", "cauchy-2d", "--n", "600", "--tol", "1e-6",
                 "--leaf-size", "32", "--output", path(f"H{ranks}.h5"), "--json"], ranks,
                a.mpiexec)
        one, many = reports[1], reports[n]
        if many["ranks"] != n or not many["distributed"] or one["distributed"]:
            fail(f"expected a distributed run at {n} ranks and a local one at 1: {many} {one}")
        for key in ("ranks_per_level", "products", "levels", "max_rank"):
            if one[key] != many[key]:
                fail(f"hss compress: {key} differs between 1 and {n} ranks: {one[key]} vs "
                     f"{many[key]}")
        # The same probes on the same matrices up to rounding: the estimates (~1e-9 here) agree
        # to far better than 1e-6 relative.
        if not close(one["relative_error_estimate"], many["relative_error_estimate"], 1e-6):
            fail(f"hss compress: error estimates differ: {one['relative_error_estimate']} vs "
                 f"{many['relative_error_estimate']}")
        if not one["relative_error_estimate"] <= 1e-6:
            fail(f"hss compress: estimate {one['relative_error_estimate']} above the tolerance")

        # The entries method (recursive skeletonization) distributed: the same skeleton sizes,
        # entry count and certificate as at 1 rank (the construction is the same per node; the
        # certificate is computed from the same sampled entries), and met_tolerance.
        ent = {}
        for ranks in (1, n):
            ent[ranks] = json_run(
                [s, "hss", "compress", "--problem", "laplace-curve", "--n", "1024", "--tol",
                 "1e-6", "--leaf-size", "32", "--method", "entries",
                 "--output", path(f"E{ranks}.h5"), "--json"], ranks, a.mpiexec)
        one, many = ent[1], ent[n]
        if many["ranks"] != n or not many["distributed"] or one["distributed"]:
            fail(f"entries: expected a distributed run at {n} ranks and a local one at 1: "
                 f"{many} {one}")
        for key in ("ranks_per_level", "entries", "levels", "max_rank"):
            if one[key] != many[key]:
                fail(f"hss compress --method entries: {key} differs between 1 and {n} ranks: "
                     f"{one[key]} vs {many[key]}")
        for key in ("estimate", "upper"):
            if not close(one["certificate"][key], many["certificate"][key], 1e-12):
                fail(f"hss compress --method entries: certificate {key} differs: "
                     f"{one['certificate']} vs {many['certificate']}")
        if not many["certificate"]["upper"] <= 1e-6:
            fail(f"hss compress --method entries: certificate {many['certificate']} above tol")

        # Distributed matvec and solve on the N-rank H (permuted tree) and on a random H.
        code, out, err = run([s, "hss", "random", "--n", "600", "--leaf-size", "32", "--rank",
                              "6", "--output", path("R.h5"), "--rhs", path("B.h5") + ":/B",
                              "--columns", "3", "--json"], 1, a.mpiexec)
        if code != 0:
            fail("hss random failed", out, err)
        for h in (path(f"H{n}.h5"), path("R.h5")):
            mv, sv = {}, {}
            for ranks in (1, n):
                mv[ranks] = json_run([s, "hss", "matvec", "--hss", h, "--input",
                                      path("B.h5") + ":/B", "--output",
                                      path(f"Y{ranks}.h5") + ":/Y", "--json"], ranks, a.mpiexec)
                sv[ranks] = json_run([s, "hss", "solve", "--hss", h, "--rhs",
                                      path("B.h5") + ":/B", "--output",
                                      path(f"X{ranks}.h5") + ":/X", "--json"], ranks, a.mpiexec)
            if not mv[n]["distributed"] or not sv[n]["distributed"] or sv[n]["ranks"] != n:
                fail(f"expected distributed matvec/solve at {n} ranks: {mv[n]} {sv[n]}")
            # The same per-node products, summed in another order: ~ (m + r L) u relative.
            if not close(mv[1]["norm_y"], mv[n]["norm_y"], 1e-12):
                fail(f"hss matvec: ||Y||_F differs: {mv[1]['norm_y']} vs {mv[n]['norm_y']}")
            # Backward-stable solves of well-conditioned matrices: residual ~ n u on both.
            for ranks in (1, n):
                if not sv[ranks]["residual"] <= 1e-11:
                    fail(f"hss solve at {ranks} ranks: residual {sv[ranks]['residual']}")
            # Values, not only norms (h5py is not available on CI; strata reads the files back).
            # ||Y||_F is blind to a row permutation or a block of rows placed on the wrong rank,
            # so compare sketches: for a Rademacher sketch S (d x 600, entries +-1/sqrt(d)),
            #   | ||S Y_1|| - ||S Y_n|| | <= ||S||_2 ||Y_1 - Y_n||_F <= ||S||_F ||Y_1 - Y_n||_F,
            # and ||S||_F = sqrt(600) exactly. ||Y_1 - Y_n|| is the rounding allowance of the
            # norm comparison above (1e-12 ||Y||); a permuted Y changes ||S Y|| by O(||Y||), and
            # three independent sketches make an accidental match impossible in practice.
            rows = 600
            s_norm = math.sqrt(rows)
            for stream in range(3):
                a1 = sketch_norms(s, path("Y1.h5") + ":/Y", stream, path, a.mpiexec)
                an = sketch_norms(s, path(f"Y{n}.h5") + ":/Y", stream, path, a.mpiexec)
                if abs(a1[1] - an[1]) > s_norm * 1e-12 * a1[0]:
                    fail(f"hss matvec: sketch {stream} of Y differs between 1 and {n} ranks: "
                         f"{a1[1]} vs {an[1]} (||Y|| = {a1[0]})")
            # Each solution, fed to the 1-rank matvec, must give back B: H X = B holds only for
            # the solution (H is nonsingular), so a permuted or misplaced X fails it. With
            # Y' = fl(H X),  ||Y' - B|| <= (residual + matvec rounding) ||B||, the residual being
            # the solve's reported ||H X - B|| / ||B|| and the rounding the 1e-12 allowance above;
            # then | ||Y'|| - ||B|| | and | ||S Y'|| - ||S B|| | (S as above, ||S||_F = sqrt(600))
            # are bounded by 1 and sqrt(600) times that.
            for ranks in (1, n):
                back = json_run([s, "hss", "matvec", "--hss", h, "--input",
                                 path(f"X{ranks}.h5") + ":/X", "--output",
                                 path("HX.h5") + ":/Y", "--json"], 1, a.mpiexec)
                slack = sv[ranks]["residual"] + 1e-12
                norm_b = sketch_norms(s, path("B.h5") + ":/B", 0, path, a.mpiexec)[0]
                if abs(back["norm_y"] - norm_b) > slack * norm_b:
                    fail(f"hss solve at {ranks} ranks: ||H X|| = {back['norm_y']} but ||B|| = "
                         f"{norm_b} (slack {slack})")
                for stream in range(3):
                    sb = sketch_norms(s, path("B.h5") + ":/B", stream, path, a.mpiexec)
                    sy = sketch_norms(s, path("HX.h5") + ":/Y", stream, path, a.mpiexec)
                    if abs(sy[1] - sb[1]) > s_norm * slack * norm_b:
                        fail(f"hss solve at {ranks} ranks: sketch {stream} of H X is {sy[1]}, "
                             f"of B {sb[1]}: X does not solve H X = B")
    print("OK")


if __name__ == "__main__":
    main()
