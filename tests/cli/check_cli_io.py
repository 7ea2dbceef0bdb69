#!/usr/bin/env python3
"""Crafted input files and hostile output paths against the strata CLI (issue 10): every case ends
with one clear error line (or a correct result), nothing is lost, nothing crashes or hangs, and no
temporary or lock file is left behind. Crafted HDF5 files come from make_crafted_h5 (HDF5 C API;
h5py may be missing)."""
import argparse
import filecmp
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from check_cli import fail, one_json, run  # noqa: E402  (shared helpers)


def leftovers(d, keep):
    """Files of d that are not in keep (hidden temporary and lock files included)."""
    return sorted(set(os.listdir(d)) - set(keep))


def expect_error(s, n, mpiexec, args, expected, status=1):
    """Runs strata; it must exit with `status` and print one error line containing every string of
    `expected` (under mpiexec, which adds its own report of the exit status, the line must be
    there once)."""
    code, out, err = run([s] + args, n, mpiexec)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("strata progress:")]
    ours = [line for line in lines if line.startswith("strata ")]
    if code != status:
        fail(f"'strata {' '.join(args)}' should exit {status}, got {code}", out, err)
    if len(ours) != 1 or any(e not in ours[0] for e in expected) or (n == 1 and len(lines) != 1):
        fail(f"'strata {' '.join(args)}' should print one error line with {expected}", out, err)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--strata", required=True)
    p.add_argument("--crafter", required=True)
    p.add_argument("--mpiexec", default="")
    p.add_argument("--case", required=True)
    p.add_argument("--ranks", type=int, default=1)
    p.add_argument("--data", default="")
    a = p.parse_args()
    s, n, mpi = a.strata, a.ranks, a.mpiexec

    def craft(kind, path):
        proc = subprocess.run([a.crafter, kind, path], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            fail(f"make_crafted_h5 {kind} {path}", proc.stdout, proc.stderr)

    if a.case == "io_crafted":
        with tempfile.TemporaryDirectory() as d:
            huge, empty, lzf = (os.path.join(d, f) for f in ("huge.h5", "empty.h5", "lzf.h5"))
            craft("huge", huge)
            craft("empty", empty)
            craft("lzf", lzf)
            if os.path.getsize(huge) > 20000:
                fail(f"the crafted file is {os.path.getsize(huge)} bytes; expected a few KB")
            out = os.path.join(d, "out.h5")
            # Each rank checks its own share: (2^61 + 1) x 1 float64 overflows 64 bits on one rank;
            # at more ranks the share is still far beyond any memory.
            memory = [" needs ", " of memory, ", " GB are available"]
            if n == 1:
                memory[0] = " needs more than 18446744073 GB (2^64 bytes) of memory"
            for args, expected in [
                (["sketch", "rsvd", "--input", huge + ":/odd", "--rank", "1", "--output", out],
                 ["/odd' (", "x 1 float64 values on this rank)"] + memory),
                (["sketch", "rsvd", "--input", huge + ":/tall", "--rank", "1", "--output", out],
                 ["/tall' ("] + memory),
                (["sketch", "apply", "--input", huge + ":/tall", "--operator", "gaussian", "--rows", "8",
                  "--output", out + ":/SA"], ["/tall' ("] + memory),
                (["polar", "--input", huge + ":/odd", "--output", out + ":/Q"], ["/odd' ("] + memory),
                (["polar", "--input", huge + ":/batch", "--output", out + ":/Q"], ["/batch' ("] + memory),
                (["polar", "--input", huge + ":/square", "--output", out + ":/Q"],
                 [" x 1000000 float64 values on this rank) needs ", "GB are available"]),
                (["polar", "--input", empty + ":/zero", "--output", out + ":/Q"],
                 ["is empty (shape (0, 0))"]),
                (["sketch", "rsvd", "--input", empty + ":/rows0", "--rank", "1", "--output", out],
                 ["is empty (shape (0, 5))"]),
                (["polar", "--input", lzf + ":/A", "--output", out + ":/Q"],
                 ["HDF5 filter 'lzf' (filter id 32000)", "does not have"]),
            ]:
                expect_error(s, n, mpi, args, expected)
            # An int32 generator in an HSS file is refused like integer data elsewhere.
            h = os.path.join(d, "h.h5")
            code, o, e = run([s, "hss", "random", "--n", "256", "--rank", "4", "--output", h], n, mpi)
            if code != 0:
                fail("hss random", o, e)
            craft("int32-u", h)
            x = os.path.join(d, "x.h5")
            code, o, e = run([s, "hss", "random", "--n", "256", "--rank", "4", "--output",
                              os.path.join(d, "h2.h5"), "--rhs", x + ":/B"], n, mpi)
            if code != 0:
                fail("hss random --rhs", o, e)
            expect_error(s, n, mpi, ["hss", "matvec", "--hss", h, "--input", x + ":/B", "--output", out + ":/Y"],
                         ["dataset U in " + h + " has dtype integer (32-bit); expected float32 or float64"])
            if leftovers(d, ["huge.h5", "empty.h5", "lzf.h5", "h.h5", "h2.h5", "x.h5"]):
                fail(f"files left behind: {leftovers(d, ['huge.h5', 'empty.h5', 'lzf.h5', 'h.h5', 'h2.h5', 'x.h5'])}")

    elif a.case == "io_outputs":
        fixture = os.path.join(a.data, "h5py_fixture.h5")
        with tempfile.TemporaryDirectory() as d:
            data = os.path.join(d, "data.h5")
            shutil.copy(fixture, data)
            keep = os.path.join(d, "keep.h5")
            shutil.copy(fixture, keep)
            # Output == input: refused before anything is written; the input is byte for byte intact.
            expect_error(s, n, mpi, ["hss", "compress", "--input", data + ":/spd", "--rank", "2", "--output", data],
                         ["the output '" + data + "' is the input file '" + data + "'"])
            if not filecmp.cmp(data, keep, shallow=False):
                fail("hss compress with --output equal to its input changed the input")
            # Through another name (a hard link) too.
            alias = os.path.join(d, "alias.h5")
            os.link(data, alias)
            expect_error(s, n, mpi, ["hss", "compress", "--input", data + ":/spd", "--rank", "2", "--output", alias],
                         ["is the input file"])
            os.remove(alias)
            # A symbolic link planted at the old fixed temporary name is not written through.
            victim = os.path.join(d, "victim.txt")
            with open(victim, "w") as f:
                f.write("precious")
            hv = os.path.join(d, "hv.h5")
            os.symlink(victim, hv + ".strata-tmp")
            code, o, e = run([s, "hss", "random", "--n", "256", "--rank", "4", "--output", hv], n, mpi)
            if code != 0 or open(victim).read() != "precious" or os.path.islink(hv):
                fail("hss random with a link planted at the old temporary name", o, e)
            # A link at the target, a text file, a directory: refused, nothing changed.
            link = os.path.join(d, "link.h5")
            os.symlink(victim, link)
            expect_error(s, n, mpi, ["hss", "random", "--n", "256", "--output", link], ["it is a symbolic link"])
            expect_error(s, n, mpi, ["hss", "random", "--n", "256", "--output", victim],
                         ["it exists but is not an HDF5 file"])
            expect_error(s, n, mpi, ["polar", "--input", data + ":/spd", "--output", victim + ":/Q"],
                         ["it exists but is not an HDF5 file"])
            expect_error(s, n, mpi, ["hss", "random", "--n", "256", "--output", d], ["it is a directory"])
            if open(victim).read() != "precious" or not os.path.islink(link):
                fail("a refused output was modified")
            # A FIFO as output: refused at once (a regression would block: the timeout catches it).
            fifo = os.path.join(d, "pipe.h5")
            os.mkfifo(fifo)
            for args in (["polar", "--input", data + ":/spd", "--output", fifo + ":/Q"],
                         ["hss", "random", "--n", "256", "--output", fifo]):
                try:
                    proc = subprocess.run([s] + args, capture_output=True, text=True, timeout=60)
                except subprocess.TimeoutExpired:
                    fail(f"'strata {' '.join(args)}' blocked on the FIFO")
                if proc.returncode != 1 or "it is a FIFO" not in proc.stderr:
                    fail(f"'strata {' '.join(args)}' should refuse the FIFO", proc.stdout, proc.stderr)
            # A 244-character output name works for both writers.
            name = os.path.join(d, "l" * 241 + ".h5")
            code, o, e = run([s, "hss", "random", "--n", "256", "--output", name, "--json"], n, mpi)
            if code != 0 or one_json(o, e)["status"] != "ok":
                fail("hss random with a 244-character output name", o, e)
            code, o, e = run([s, "polar", "--input", data + ":/spd", "--output", name + ":/Q", "--json"], n, mpi)
            if code != 0:
                fail("polar into a 244-character output name", o, e)
            expected = ["data.h5", "keep.h5", "victim.txt", "hv.h5", "hv.h5.strata-tmp", "link.h5", "pipe.h5",
                        os.path.basename(name)]
            if leftovers(d, expected):
                fail(f"files left behind: {leftovers(d, expected)}")

    elif a.case == "io_concurrent":
        # Writers of one target at the same time: each either finishes or is told another is writing,
        # and the file left is always complete and valid.
        with tempfile.TemporaryDirectory() as d:
            h = os.path.join(d, "h.h5")
            procs = [subprocess.Popen([s, "hss", "random", "--n", "4096", "--rank", "8", "--seed", str(k),
                                       "--output", h], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for k in range(4)]
            results = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
            for code, err in results:
                if code != 0 and "another strata process is writing" not in err:
                    fail(f"a concurrent writer failed otherwise (exit {code})", "", err)
            if not any(code == 0 for code, _ in results):
                fail("no concurrent writer finished")
            x = os.path.join(d, "x.h5")
            code, o, e = run([s, "hss", "random", "--n", "4096", "--output", os.path.join(d, "other.h5"), "--rhs",
                              x + ":/B"], 1, "")
            code, o, e = run([s, "hss", "matvec", "--hss", h, "--input", x + ":/B", "--output",
                              os.path.join(d, "y.h5") + ":/Y", "--json"], 1, "")
            if code != 0 or one_json(o, e)["status"] != "ok":
                fail("the file left by concurrent writers is not a valid HSS file", o, e)
            if leftovers(d, ["h.h5", "x.h5", "other.h5", "y.h5"]):
                fail(f"files left behind: {leftovers(d, ['h.h5', 'x.h5', 'other.h5', 'y.h5'])}")

    elif a.case == "io_interrupted":
        # SIGTERM, SIGINT, SIGHUP while the output is being written: the process ends by that signal
        # and neither the temporary file nor the lock is left. The temporary file is watched for and
        # the signal sent as soon as it appears (the write of ~100 MB takes far longer than a poll).
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "big.h5")
                proc = subprocess.Popen([s, "hss", "random", "--n", "131072", "--leaf-size", "96", "--rank", "8",
                                         "--output", out, "--quiet"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                deadline = time.monotonic() + 120
                seen = False
                while proc.poll() is None and time.monotonic() < deadline:
                    if any(".strata-tmp-" in f for f in os.listdir(d)):
                        seen = True
                        proc.send_signal(sig)
                        break
                    time.sleep(0.0005)
                code = proc.wait(timeout=120)
                err = proc.stderr.read()
                if not seen:
                    fail(f"the temporary file never appeared (exit {code}): the write was too fast to "
                         "interrupt", "", err)
                if code != -sig:
                    fail(f"strata should end by signal {sig.name}, exit status {code}", "", err)
                if os.listdir(d):
                    fail(f"{sig.name} left files behind: {os.listdir(d)}", "", err)

    elif a.case == "io_disk_full":
        # An output larger than the room for it ends with one error line before anything is written
        # and leaves nothing behind. A file-size limit (ulimit -f) stands in for a full disk; the
        # writer reserves the space of each dataset first (fallocate, which a full disk refuses
        # with ENOSPC: tests/unit/io/test_atomic_output.cpp) and checks the limit. 32 MB leaves room
        # for Open MPI's start-up files.
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (32 << 20, 32 << 20))
        with tempfile.TemporaryDirectory() as d:
            for args in (["hss", "random", "--n", "131072", "--leaf-size", "96", "--rank", "8", "--output",
                          os.path.join(d, "h.h5")],
                         ["demo", "--rows", "400000", "--cols", "16", "--hss-n", "256", "--output",
                          os.path.join(d, "x.h5"), "--quiet"]):
                proc = subprocess.run([s] + args, capture_output=True, text=True, timeout=240, preexec_fn=limit)
                lines = [line for line in proc.stderr.splitlines() if line.strip()]
                if proc.returncode != 1 or len(lines) != 1 or "more than the file size limit" not in lines[0]:
                    fail(f"'strata {' '.join(args)}' past the file-size limit should fail with one line "
                         f"(exit {proc.returncode})", proc.stdout, proc.stderr)
                if os.listdir(d):
                    fail(f"a failed write left files behind: {os.listdir(d)}", proc.stdout, proc.stderr)
    else:
        fail(f"unknown case {a.case}")
    print(f"{a.case} (ranks {n}): ok")


if __name__ == "__main__":
    main()
