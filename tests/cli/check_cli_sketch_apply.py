#!/usr/bin/env python3
"""Runs `strata sketch apply` as a user would and checks what it prints, writes and returns.

numpy/h5py are not required: the output is checked through the JSON report (shape, finite norms,
||S A||_F = ||A||_F for the orthogonal Hadamard rotation and the full SRHT) and by reading the
written datasets back with read_contiguous below (a minimal reader for one contiguous float64
dataset, enough to compare the sketches of N ranks and of 1 rank entry by entry).
"""
import argparse
import math
import os
import struct
import sys
import tempfile

from check_cli import fail, one_json, run  # noqa: E402  (shared helpers)

KEYS = {"command", "status", "operator", "rows", "nnz", "input_shape", "seed", "stream", "scaled",
        "precision", "input_frobenius_norm", "sketch_frobenius_norm", "mpi_ranks", "time_s"}
OPERATORS = ("gaussian", "rademacher", "srht", "hadamard", "sparse-sign")


def read_back(path, dataset):
    try:
        import h5py  # optional
    except ImportError:
        return None
    with h5py.File(path, "r") as f:
        return f[dataset][()]


def read_contiguous(path, count):
    """The `count` little-endian float64 values of the one contiguous dataset of that many values
    in the HDF5 file `path`, in C (row-major) order, or None when they cannot be located.

    HDF5 (file format spec, "Data Layout Message", versions 3 and 4) stores a contiguous layout as
    version, class 1, address (8 bytes with the default 8-byte offsets), size (8 bytes); the size
    count * 8 identifies the dataset when the file holds only one of that size."""
    with open(path, "rb") as f:
        data = f.read()
    size = struct.pack("<Q", 8 * count)
    found = []
    at = data.find(size)
    while at >= 0:
        if at >= 10 and data[at - 10] in (3, 4) and data[at - 9] == 1:
            (address,) = struct.unpack_from("<Q", data, at - 8)
            if address + 8 * count <= len(data):
                found.append(address)
        at = data.find(size, at + 1)
    if len(set(found)) != 1:
        return None
    return struct.unpack_from(f"<{count}d", data, found[0])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--strata", required=True)
    p.add_argument("--mpiexec", default="")
    p.add_argument("--case", required=True)
    p.add_argument("--ranks", type=int, default=1)
    a = p.parse_args()
    s, n = a.strata, a.ranks
    rows, cols = 1000, 5  # n = 1000 is not a power of two: srht/hadamard zero-pad to 1024

    if a.case == "sketch_apply_help":
        code, out, err = run([s, "sketch", "apply", "--help"], n, a.mpiexec)
        if code != 0 or "usage: strata sketch apply" not in out or "--operator" not in out:
            fail("'strata sketch apply --help' should print its usage and exit 0", out, err)

    elif a.case == "sketch_apply_run":
        with tempfile.TemporaryDirectory() as d:
            x = os.path.join(d, "x.h5")
            # The input comes from strata itself (one rank: the same file for every rank count).
            code, out, err = run([s, "demo", "--rows", str(rows), "--cols", str(cols), "--output", x,
                                  "--quiet"], 1, "")
            if code != 0:
                fail("making the input with strata demo --output", out, err)
            sa = os.path.join(d, "sa.h5")
            for op in OPERATORS:
                d_rows = 1024 if op == "hadamard" else 64
                args = ["sketch", "apply", "--input", x + ":/X", "--operator", op, "--rows", str(d_rows),
                        "--seed", "42", "--output", sa + ":/SA_" + op.replace("-", "_"), "--json"]
                code, out, err = run([s] + args, n, a.mpiexec)
                res = one_json(out, err)
                if code != 0 or res.get("status") != "ok":
                    fail(f"sketch apply {op} (exit {code})", out, err)
                missing = KEYS - res.keys()
                if missing:
                    fail(f"missing JSON keys {sorted(missing)}", out, err)
                if (res["operator"] != op or res["rows"] != d_rows or res["seed"] != "42"
                        or res["input_shape"] != [rows, cols] or res["mpi_ranks"] != n):
                    fail(f"sketch apply {op}: wrong report", out, err)
                na, ns = res["input_frobenius_norm"], res["sketch_frobenius_norm"]
                if not (isinstance(ns, float) and math.isfinite(ns) and ns > 0):
                    fail(f"sketch apply {op}: the sketch is not finite and nonzero", out, err)
                # Isometry scaling: E||S A||_F^2 = ||A||_F^2. The rotation is orthogonal (equality to
                # rounding). Gaussian S with d rows: ||SA||_F^2 / ||A||_F^2 has relative std
                # sqrt(2 / d) ||A^T A||_F / ||A||_F^2 = sqrt(2 / (d k)) for the nearly orthogonal
                # Gaussian columns of demo's X (k = 5), i.e. ||SA||_F has relative std
                # sqrt(1 / (2 d k)) = 0.040 for d k = 320; 6 sigma = 0.24 -> 0.25. Rademacher, srht
                # (rows of an orthogonal rotation, drawn without replacement) and sparse sign
                # (s = 8) have no larger variance of the squared norm than the Gaussian.
                tol = 1e-12 if op == "hadamard" else 6 * math.sqrt(1 / (2 * d_rows * cols)) * 1.05
                if abs(ns - na) > tol * na:
                    fail(f"sketch apply {op}: ||SA||_F = {ns} vs ||A||_F = {na} (tol {tol})", out, err)
                # The same operator on one rank: the same sketch to rounding on any rank count,
                # entry by entry. Each entry is a sum over the m = 1000 rows, summed in another
                # order on N ranks: |difference| <= 2 gamma_m sum_l |S_il| |A_lj| <= 2 m u ||S_i,:||
                # ||A_:,j|| with ||S_i,:|| ~ sqrt(m / d) for the scaled random sketches (1 for the
                # rotation); x2 for the spread of the row norms: 4 m u max(1, sqrt(m / d)) ||A||_F.
                file_n = os.path.join(d, f"sa_{op}_n.h5")
                file_1 = os.path.join(d, f"sa_{op}_1.h5")
                code, out, err = run([s] + args[:-3] + ["--output", file_n + ":/SA", "--json"], n,
                                     a.mpiexec)
                code1, out1, err1 = run([s] + args[:-3] + ["--output", file_1 + ":/SA", "--json"], 1, "")
                one = one_json(out1, err1)
                if code != 0 or code1 != 0 or abs(one["sketch_frobenius_norm"] - ns) > 1e-12 * ns:
                    fail(f"sketch apply {op}: {n} ranks differ from 1 rank", out + out1, err + err1)
                if one.get("precision") != "fp64":
                    fail(f"sketch apply {op}: expected a double precision sketch", out1, err1)
                vals_n = read_contiguous(file_n, d_rows * cols)
                vals_1 = read_contiguous(file_1, d_rows * cols)
                if vals_n is None or vals_1 is None:
                    fail(f"sketch apply {op}: could not locate the {d_rows} x {cols} float64 dataset "
                         "in the written files")
                ss = math.sqrt(math.fsum(v * v for v in vals_1))
                if abs(ss - ns) > 1e-12 * ns:
                    fail(f"sketch apply {op}: the dataset read back has norm {ss}, the report {ns}")
                etol = 4 * rows * 2.0**-53 * max(1.0, math.sqrt(rows / d_rows)) * na
                worst = max(abs(x - y) for x, y in zip(vals_n, vals_1))
                if not worst <= etol:
                    fail(f"sketch apply {op}: {n} ranks and 1 rank differ by {worst} > {etol} in an entry")
                back = read_back(sa, "/SA_" + op.replace("-", "_"))
                if back is not None and (back.shape != (d_rows, cols) or not (abs(back).max() < float("inf"))):
                    fail(f"sketch apply {op}: the written dataset has shape {back.shape}", out, err)
            if not os.path.exists(sa):
                fail("no output file was written")
            # Unscaled srht entries are +-1: ||S A||_F^2 = (d) * mean square, i.e. sqrt(d) times the
            # scaled norm, exactly up to rounding.
            base = ["sketch", "apply", "--input", x + ":/X", "--operator", "srht", "--rows", "64",
                    "--output", sa + ":/raw", "--json"]
            scaled = one_json(*run([s] + base, n, a.mpiexec)[1:])
            raw = one_json(*run([s] + base + ["--no-scale"], n, a.mpiexec)[1:])
            if abs(raw["sketch_frobenius_norm"] - 8 * scaled["sketch_frobenius_norm"]) > 1e-12 * raw["sketch_frobenius_norm"]:
                fail("--no-scale: the unscaled srht sketch should be sqrt(64) times the scaled one")

    elif a.case == "sketch_apply_errors":
        with tempfile.TemporaryDirectory() as d:
            x = os.path.join(d, "x.h5")
            code, out, err = run([s, "demo", "--rows", str(rows), "--cols", str(cols), "--output", x,
                                  "--quiet"], 1, "")
            if code != 0:
                fail("making the input with strata demo --output", out, err)
            o = os.path.join(d, "o.h5")
            inp = ["--input", x + ":/X", "--output", o]
            for args, expected, status in [
                (["--operator", "fourier", "--rows", "8"] + inp, "unknown sketch operator 'fourier'", 2),
                (["--operator", "gaussian"] + inp, "--rows", 2),
                (["--rows", "8"] + inp, "--operator", 2),
                (["--operator", "gaussian", "--rows", "8", "--output", o], "--input", 2),
                (["--operator", "gaussian", "--rows", "0"] + inp, "option '--rows' must be in", 2),
                (["--operator", "srht", "--rows", "8", "--nnz", "2"] + inp, "sparse-sign operator only", 2),
                (["--operator", "gaussian", "--rows", "8", "--precision", "fp16"] + inp, "--precision", 2),
                (["--operator", "sparse-sign", "--rows", "4", "--nnz", "5"] + inp, "nnz = 5", 1),
                (["--operator", "srht", "--rows", "2000"] + inp, "expected d <= 1024", 1),
                (["--operator", "hadamard", "--rows", "512"] + inp, "must equal 1024", 1),
                (["--operator", "hadamard", "--no-pad"] + inp, "not a power of two", 1),
                (["--operator", "gaussian", "--rows", "8", "--input", x + ":/missing", "--output", o],
                 "not found", 1),
            ]:
                code, out, err = run([s, "sketch", "apply"] + args, n, a.mpiexec)
                if code != status or expected not in err:
                    fail(f"'strata sketch apply {' '.join(args)}' should exit {status} with {expected!r}"
                         f" (exit {code})", out, err)
            code, out, err = run([s, "sketch", "apply", "--operator", "srht", "--rows", "2000", "--json"] + inp,
                                 n, a.mpiexec)
            res = one_json(out, err)
            if code != 1 or res.get("status") != "error" or "d <= 1024" not in res.get("error", ""):
                fail("--json errors must be one JSON object with status 'error'", out, err)
    else:
        fail(f"unknown case {a.case}")
    print(f"{a.case} (ranks {n}): ok")


if __name__ == "__main__":
    main()
