#!/usr/bin/env python3
"""Regression tests of issue 10: never "ok" when the requested accuracy is not met (exit status 3,
"status": "inaccurate"), singular and rank-deficient inputs refused (exit 1), polar/sign/sqrt of
1 x 1, exactly converged and extremely scaled inputs, and option hygiene (exit 2). Input matrices
are written and results read back by strata_test_matrix_tool (h5py may be missing)."""
import argparse
import math
import os
import random
import subprocess
import sys
import tempfile

from check_cli import fail, one_json, run  # noqa: E402  (shared helpers)

TOOL = ""


def write_matrix(path, rows):
    """Writes the list of rows (floats) as a float64 dataset 'FILE.h5:/DATASET'."""
    text = "\n".join(" ".join(repr(float(v)) for v in row) for row in rows)
    proc = subprocess.run([TOOL, "write", path, str(len(rows)), str(len(rows[0]))], input=text,
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        fail(f"writing {path}", proc.stdout, proc.stderr)


def read_matrix(path):
    proc = subprocess.run([TOOL, "read", path], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        fail(f"reading {path}", proc.stdout, proc.stderr)
    values = proc.stdout.split()
    rows, cols = int(values[0]), int(values[1])
    flat = [float(v) for v in values[2:]]
    return [flat[i * cols:(i + 1) * cols] for i in range(rows)]


def gram_error(q):
    """||Q^T Q - I||_F (or ||Q Q^T - I||_F for a wide Q) in double on the host."""
    rows, cols = len(q), len(q[0])
    if rows < cols:
        q = [list(c) for c in zip(*q)]
        rows, cols = cols, rows
    total = 0.0
    for i in range(cols):
        for j in range(cols):
            g = sum(q[k][i] * q[k][j] for k in range(rows))
            total += (g - (1.0 if i == j else 0.0)) ** 2
    return math.sqrt(total)


def max_diff(a, b):
    return max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def expect(code, status, out, err, what, message=None):
    """Exit status `status`, one stderr line containing `message` (when given)."""
    if code != status:
        fail(f"{what}: expected exit status {status}, got {code}", out, err)
    if message is not None:
        # Under mpiexec, the launcher adds its own report of a non-zero exit: not Strata's lines.
        # Progress lines (--progress auto writes them in logs of runs past 10 s) are not errors.
        lines = [line for line in err.splitlines()
                 if line.startswith("strata") and not line.startswith("strata progress:")]
        if len(lines) != 1 or message not in lines[0]:
            fail(f"{what}: expected one stderr line containing {message!r}", out, err)


def case_accuracy(s, n, mpiexec, d):
    # -- polar: --steps and --tol exclude each other (it used to return ||Q^T Q - I|| = 5.2).
    x = os.path.join(d, "x.h5")
    code, out, err = run([s, "demo", "--rows", "300", "--cols", "6", "--hss-n", "256", "--output",
                          x, "--quiet"], n, mpiexec)
    if code != 0:
        fail("making the input with strata demo --output", out, err)
    q = os.path.join(d, "q.h5")
    code, out, err = run([s, "polar", "--input", x + ":/X", "--output", q + ":/Q", "--steps", "3",
                          "--tol", "1e-6"], n, mpiexec)
    expect(code, 2, out, err, "polar --steps --tol", "exclude each other")
    if os.path.exists(q):
        fail("polar --steps --tol wrote an output", out, err)
    # --tol: the reported error is the achieved ||Q^T Q - I||_F of the written Q (recomputed here
    # in double from the file: it differs from the iteration's own fp64 Gram matrix by rounding,
    # <= m n u = 300 * 6 * 1.1e-16 = 2e-13).
    code, out, err = run([s, "polar", "--input", x + ":/X", "--output", q + ":/Q", "--tol", "1e-6",
                          "--json"], n, mpiexec)
    r = one_json(out, err)
    expect(code, 0, out, err, "polar --tol 1e-6")
    achieved = gram_error(read_matrix(q + ":/Q"))
    if r["status"] != "ok" or not r["orthogonality_error"] <= 1e-6 or achieved > 1e-6 or \
            abs(achieved - r["orthogonality_error"]) > 2e-13:
        fail(f"polar --tol 1e-6: reported {r['orthogonality_error']}, recomputed {achieved}", out, err)
    # A tolerance below the fp64 rounding floor: written, warned, exit 3, "inaccurate".
    code, out, err = run([s, "polar", "--input", x + ":/X", "--output", q + ":/Q2", "--tol",
                          "1e-30", "--json"], n, mpiexec)
    r = one_json(out, err)
    expect(code, 3, out, err, "polar --tol 1e-30", "requested accuracy was not met")
    achieved = gram_error(read_matrix(q + ":/Q2"))
    if r["status"] != "inaccurate" or not 1e-30 < r["orthogonality_error"] < 1e-12 or \
            abs(achieved - r["orthogonality_error"]) > 2e-13:
        fail(f"polar --tol 1e-30: reported {r['orthogonality_error']}, recomputed {achieved}", out, err)

    # -- hss compress --tol 1e-12 of a random dense 256 x 256 matrix: incompressible (estimate
    # ~0.5); H is written, status "inaccurate", exit 3.
    rng = random.Random(7)
    dense = os.path.join(d, "dense.h5")
    write_matrix(dense + ":/A", [[rng.gauss(0, 1) for _ in range(256)] for _ in range(256)])
    h = os.path.join(d, "h.h5")
    code, out, err = run([s, "hss", "compress", "--input", dense + ":/A", "--tol", "1e-12",
                          "--output", h, "--json"], n, mpiexec)
    r = one_json(out, err)
    expect(code, 3, out, err, "hss compress of a random matrix", "requested accuracy was not met")
    if r["status"] != "inaccurate" or not r["relative_error_estimate"] > 1e-3:
        fail(f"hss compress: estimate {r['relative_error_estimate']}", out, err)
    if not os.path.exists(h):
        fail("hss compress with a missed tolerance must still write H", out, err)
    # The same matrix at a tolerance it meets (a rank-256 H is exact): ok, exit 0.
    code, out, err = run([s, "hss", "compress", "--input", dense + ":/A", "--rank", "64",
                          "--leaf-size", "64", "--output", h, "--json"], n, mpiexec)
    r = one_json(out, err)
    expect(code, 0, out, err, "hss compress --rank")
    if r["status"] != "ok":
        fail("hss compress --rank asks for no accuracy: status ok", out, err)

    # -- hss solve of a singular matrix: the 1-D Neumann Laplacian (null vector of ones; every
    # off-diagonal block has rank 1, so a rank-2 H reproduces it to rounding). Refused, exit 1,
    # nothing written. The Dirichlet Laplacian next to it is solved, and the reported lower bound on
    # cond_2 is checked against the exact value 1 / tan^2(pi / (2 (n + 1))).
    size = 256

    def laplacian(neumann):
        rows = []
        for i in range(size):
            row = [0.0] * size
            row[i] = 2.0
            if i > 0:
                row[i - 1] = -1.0
            if i + 1 < size:
                row[i + 1] = -1.0
            rows.append(row)
        if neumann:
            rows[0][0] = rows[-1][-1] = 1.0
        return rows

    b = os.path.join(d, "b.h5")
    write_matrix(b + ":/B", [[rng.gauss(0, 1)] for _ in range(size)])
    for name, neumann in (("neumann", True), ("dirichlet", False)):
        lap = os.path.join(d, name + ".h5")
        write_matrix(lap + ":/A", laplacian(neumann))
        hl = os.path.join(d, name + "_h.h5")
        code, out, err = run([s, "hss", "compress", "--input", lap + ":/A", "--rank", "2",
                              "--leaf-size", "16", "--output", hl, "--json"], n, mpiexec)
        expect(code, 0, out, err, f"hss compress of the {name} Laplacian")
        xs = os.path.join(d, name + "_x.h5")
        code, out, err = run([s, "hss", "solve", "--hss", hl, "--rhs", b + ":/B", "--output",
                              xs + ":/X", "--json"], n, mpiexec)
        r = one_json(out, err)
        if neumann:
            expect(code, 1, out, err, "hss solve of a singular matrix", "singular to working precision")
            if r["status"] != "error" or os.path.exists(xs):
                fail("hss solve of a singular matrix must write nothing", out, err)
        else:
            expect(code, 0, out, err, "hss solve of the Dirichlet Laplacian")
            kappa = 1.0 / math.tan(math.pi / (2 * (size + 1))) ** 2
            # A lower bound (<= kappa up to rounding); the power iterations reach it within a
            # factor 2 here (the top eigenvalues cluster, the bottom one is 4x below the next).
            if not kappa / 2 <= r["condition_lower_bound"] <= kappa * (1 + 1e-8) or \
                    r["residual"] > 1e-10:
                fail(f"cond_2 lower bound {r['condition_lower_bound']}, exact {kappa}", out, err)

    # -- sketch lstsq --method solve on a rank-deficient A (column 3 = column 0 + column 1): refused
    # like the default method (it used to return ||x|| = 1.4e15).
    a_rows = [[rng.gauss(0, 1) for _ in range(4)] for _ in range(200)]
    for row in a_rows:
        row[3] = row[0] + row[1]
    ad = os.path.join(d, "deficient.h5")
    write_matrix(ad + ":/A", a_rows)
    write_matrix(ad + ":/b", [[rng.gauss(0, 1)] for _ in range(200)])
    for method in ("solve", "precondition"):
        xl = os.path.join(d, f"lstsq_{method}.h5")
        code, out, err = run([s, "sketch", "lstsq", "--input", ad + ":/A", "--rhs", ad + ":/b",
                              "--method", method, "--output", xl + ":/x"], n, mpiexec)
        expect(code, 1, out, err, f"sketch lstsq --method {method} on a rank-deficient A",
               "rank deficient")
        if os.path.exists(xl):
            fail(f"sketch lstsq --method {method} wrote a solution", out, err)

    # -- sketch lstsq stopped by --max-iter before LSQR's tolerance: written, exit 3.
    write_matrix(ad + ":/F", [row[:3] for row in a_rows])
    xl = os.path.join(d, "lstsq_short.h5")
    code, out, err = run([s, "sketch", "lstsq", "--input", ad + ":/F", "--rhs", ad + ":/b",
                          "--max-iter", "1", "--tol", "1e-300", "--output", xl + ":/x", "--json"],
                         n, mpiexec)
    r = one_json(out, err)
    expect(code, 3, out, err, "sketch lstsq --max-iter 1", "requested accuracy was not met")
    if r["status"] != "inaccurate" or r["converged"] or r["iterations"] != 1 or \
            not os.path.exists(xl):
        fail("sketch lstsq --max-iter 1", out, err)

    # -- sketch rsvd --tol below what the largest rank reaches: written, exit 3, "inaccurate".
    code, out, err = run([s, "sketch", "rsvd", "--input", dense + ":/A", "--tol", "1e-300",
                          "--output", os.path.join(d, "svd.h5"), "--json"], n, mpiexec)
    r = one_json(out, err)
    expect(code, 3, out, err, "sketch rsvd --tol 1e-300", "requested accuracy was not met")
    if r["status"] != "inaccurate" or r["converged"] or not r["error_estimate"] > 1e-300:
        fail("sketch rsvd --tol 1e-300", out, err)


def case_polar_edges(s, n, mpiexec, d):
    """1 x 1 and 2 x 1 inputs, exactly converged ones, extreme scaling, rank deficiency."""
    f = os.path.join(d, "m.h5")
    o = os.path.join(d, "o.h5")
    # (operation, input, expected result, tolerance). Exact answers; the iteration ends at
    # ||Q^T Q - I|| = 0 or at the stagnation floor 16 sqrt(n) u, so |q - exact| <= 16 u.
    u = 2.0 ** -53
    cases = [
        ("factor", [[2.0]], [[1.0]]),
        ("factor", [[-3.0]], [[-1.0]]),
        ("factor", [[1.0], [0.0]], [[1.0], [0.0]]),
        ("factor", [[0.0, 5.0]], [[0.0, 1.0]]),
        ("sign", [[2.0]], [[1.0]]),
        ("sign", [[-3.0]], [[-1.0]]),
        ("sqrt", [[2.0]], [[math.sqrt(2.0)]]),
        ("invsqrt", [[4.0]], [[0.5]]),
        ("factor", [[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]),
    ]
    for k, (op, a, expected) in enumerate(cases):
        ds = f"/m{k}"
        write_matrix(f + ":" + ds, a)
        code, out, err = run([s, "polar", op, "--input", f + ":" + ds, "--output", o + ":" + ds,
                              "--json"], n, mpiexec)
        r = one_json(out, err)
        expect(code, 0, out, err, f"polar {op} of {a}")
        got = read_matrix(o + ":" + ds)
        if r["status"] != "ok" or max_diff(got, expected) > 16 * u * 2:
            fail(f"polar {op} of {a}: got {got}, expected {expected}", out, err)
        # --safety 1 makes [[-3]] / 3 exactly orthogonal at step 0: no step is taken.
        if op == "factor" and a == [[-3.0]]:
            code, out, err = run([s, "polar", "--input", f + ":" + ds, "--output", o + ":/exact",
                                  "--safety", "1", "--json"], n, mpiexec)
            r = one_json(out, err)
            if code != 0 or r["iterations"] != 0 or r["orthogonality_error"] != 0 or \
                    read_matrix(o + ":/exact") != [[-1.0]]:
                fail("an exactly converged input takes 0 steps", out, err)

    # Extreme scaling: polar(c M) = polar(M) for c = 1e300 and c = 1e-310 (subnormal entries,
    # ~44 significant bits: relative input perturbation <= 2^-1074 / 1e-310 = 5e-14 per entry,
    # amplified by at most 2 / sigma_min(M) ~ 10 in the polar factor: 1e-12 allowed).
    m = [[3.0, 1.0, 0.5], [1.0, 2.0, -1.0], [0.0, 1.0, 4.0], [2.0, -1.0, 1.0]]
    write_matrix(f + ":/M", m)
    code, out, err = run([s, "polar", "--input", f + ":/M", "--output", o + ":/QM"], n, mpiexec)
    expect(code, 0, out, err, "polar of M")
    reference = read_matrix(o + ":/QM")
    for c, tolerance in ((1e300, 1e-14), (1e-310, 1e-12)):
        ds = "/M" + ("big" if c > 1 else "tiny")
        write_matrix(f + ":" + ds, [[c * v for v in row] for row in m])
        code, out, err = run([s, "polar", "--input", f + ":" + ds, "--output", o + ":" + ds,
                              "--json"], n, mpiexec)
        r = one_json(out, err)
        expect(code, 0, out, err, f"polar of {c} M")
        got = read_matrix(o + ":" + ds)
        if max_diff(got, reference) > tolerance or not r["scale"] > 0 or \
                not math.isfinite(r["scale"]):
            fail(f"polar of {c} M: differs from polar(M) by {max_diff(got, reference)}", out, err)
    # sqrt of c S for an SPD S: sqrt(c) sqrt(S), c = 1e300 and 1e-310 (relative to sqrt(c)).
    spd = [[4.0, 1.0], [1.0, 3.0]]
    write_matrix(f + ":/S", spd)
    code, out, err = run([s, "polar", "sqrt", "--input", f + ":/S", "--output", o + ":/RS"], n, mpiexec)
    expect(code, 0, out, err, "sqrt of S")
    root = read_matrix(o + ":/RS")
    for c in (1e300, 1e-310):
        ds = "/S" + ("big" if c > 1 else "tiny")
        write_matrix(f + ":" + ds, [[c * v for v in row] for row in spd])
        code, out, err = run([s, "polar", "sqrt", "--input", f + ":" + ds, "--output",
                              o + ":" + ds], n, mpiexec)
        expect(code, 0, out, err, f"sqrt of {c} S")
        got = [[v / math.sqrt(c) for v in row] for row in read_matrix(o + ":" + ds)]
        if max_diff(got, root) > 1e-12:
            fail(f"sqrt of {c} S: differs from sqrt(c) sqrt(S) by {max_diff(got, root)}", out, err)

    # Rank deficiency: column 2 = column 0 + column 1. The polar factor is not unique: refused,
    # exit 1, with the numerical rank, instead of running to the step limit.
    write_matrix(f + ":/D", [[row[0], row[1], row[0] + row[1]] for row in m])
    code, out, err = run([s, "polar", "--input", f + ":/D", "--output", o + ":/QD"], n, mpiexec)
    expect(code, 1, out, err, "polar of a rank-deficient matrix", "rank deficient")
    if "numerical rank 2" not in err or "not unique" not in err:
        fail("polar of a rank-deficient matrix must give its numerical rank", out, err)
    # The zero matrix stays an error (not the subnormal one above).
    write_matrix(f + ":/Z", [[0.0, 0.0], [0.0, 0.0]])
    code, out, err = run([s, "polar", "--input", f + ":/Z", "--output", o + ":/QZ"], n, mpiexec)
    expect(code, 1, out, err, "polar of the zero matrix", "zero matrix")


def case_options(s, n, mpiexec, d):
    h = os.path.join(d, "h.h5")
    cases = [
        # A duplicated option is a usage error, not "last wins".
        (["demo", "--rows", "5", "--rows", "6"], "'--rows' is given more than once", "strata demo:"),
        (["info", "--json", "--json"], "'--json' is given more than once", "strata info:"),
        (["polar", "--input", "a.h5:/A", "--input=b.h5:/A", "--output", "q.h5"],
         "'--input' is given more than once", "strata polar factor:"),
        # Sizes that cannot fit: a clear error before any allocation, not std::bad_alloc.
        (["hss", "random", "--n", "99999999999", "--output", h], "GB of memory", "strata hss random:"),
        (["hss", "compress", "--problem", "cauchy-1d", "--n", "99999999999", "--tol", "1e-6",
          "--output", h], "GB of memory", "strata hss compress:"),
        # Kokkos' numeric options: checked, not a bare "stoi".
        (["info", "--kokkos-threads=abc"], "'--kokkos-threads' expects a non-negative integer, got 'abc'",
         "strata:"),
        # A rank above the leaf size cannot be used at the leaves.
        (["hss", "random", "--n", "256", "--rank", "100", "--leaf-size", "64", "--output", h],
         "--rank 100 is larger than --leaf-size 64", "strata hss random:"),
        # real(): finite numbers only, in range.
        (["polar", "--input", "a.h5:/A", "--output", "q.h5", "--tol", "abc"],
         "'--tol' expects a finite number, got 'abc'", "strata polar factor:"),
        (["polar", "sign", "--input", "a.h5:/A", "--output", "q.h5", "--tol", "-1"],
         "'--tol' must be >= 0", "strata polar sign:"),
        (["hss", "compress", "--problem", "cauchy-1d", "--n", "64", "--tol", "nan", "--output", h],
         "'--tol' expects a finite number", "strata hss compress:"),
        (["sketch", "rsvd", "--input", "a.h5:/A", "--output", "o.h5", "--tol", "1e999"],
         "'--tol' is out of the range of a double", "strata sketch rsvd:"),
        # Errors name the full subcommand.
        (["sketch", "trace", "--input", "a.h5:/A", "--bogus"], "unknown option '--bogus'",
         "strata sketch trace:"),
        (["hss", "solve", "--hss", "h.h5", "--rhs", "b.h5:/B", "--output", "x.h5:/X", "--bogus"],
         "unknown option '--bogus'", "strata hss solve:"),
        (["polar", "schedule", "--steps", "0"], "'--steps' must be >= 1", "strata polar schedule:"),
        # Values the library refuses are option errors too (they used to exit 1).
        (["polar", "schedule", "--degree", "4"], "degree must be 3 or 5", "strata polar schedule:"),
        (["polar", "--input", "a.h5:/A", "--output", "q.h5", "--method", "muon"],
         "--method muon needs --steps", "strata polar factor:"),
        (["polar", "sqrt", "--input", "a.h5:/A", "--output", "q.h5", "--safety", "0.5"],
         "safety factor must be >= 1", "strata polar sqrt:"),
    ]
    for args, message, prefix in cases:
        code, out, err = run([s] + args, n, mpiexec)
        expect(code, 2, out, err, "strata " + " ".join(args), message)
        if not err.startswith(prefix + " error:"):
            fail(f"'strata {' '.join(args)}' should start its error with {prefix!r}", out, err)
        if "bad_alloc" in err or "stoi" in err:
            fail(f"'strata {' '.join(args)}': a raw exception name", out, err)
    # --json errors are one JSON object, whatever the error.
    code, out, err = run([s, "info", "--kokkos-threads=x", "--json"], n, mpiexec)
    r = one_json(out, err)
    if code != 2 or r["status"] != "error" or "kokkos-threads" not in r["error"]:
        fail("--json with a bad Kokkos option", out, err)
    # Data errors exit 1 and name the full subcommand too.
    code, out, err = run([s, "sketch", "trace", "--input", os.path.join(d, "missing.h5") + ":/A"],
                         n, mpiexec)
    expect(code, 1, out, err, "sketch trace of a missing file")
    if not err.startswith("strata sketch trace: error:"):
        fail("a data error should name 'sketch trace'", out, err)
    # hss random reports the ranks it used: n = 1000 with leaf size 64 has leaves of 62 or 63
    # rows, so --rank 64 is 63 at the leaves (and 64 above them).
    code, out, err = run([s, "hss", "random", "--n", "1000", "--rank", "64", "--leaf-size", "64",
                          "--output", h, "--json"], n, mpiexec)
    r = one_json(out, err)
    expect(code, 0, out, err, "hss random --rank 64")
    if r["leaf_size"] != 63 or r["ranks_per_level"][-1] != 63 or r["rank"] != 64 or \
            r["requested_rank"] != 64:
        fail("hss random must report the ranks it used", out, err)


def main():
    global TOOL
    p = argparse.ArgumentParser()
    p.add_argument("--strata", required=True)
    p.add_argument("--tool", required=True)
    p.add_argument("--mpiexec", default="")
    p.add_argument("--case", required=True)
    p.add_argument("--ranks", type=int, default=1)
    a = p.parse_args()
    TOOL = a.tool
    cases = {"accuracy": case_accuracy, "polar_edges": case_polar_edges, "options": case_options}
    if a.case not in cases:
        fail(f"unknown case {a.case}")
    with tempfile.TemporaryDirectory() as d:
        cases[a.case](a.strata, a.ranks, a.mpiexec, d)
    print(f"{a.case} (ranks {a.ranks}): ok")


if __name__ == "__main__":
    main()
