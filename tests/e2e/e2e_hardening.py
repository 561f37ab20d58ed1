#!/usr/bin/env python3
"""End-to-end tests of the second hardening pass (issue 34): a full disk and a file-size limit
met by every file a run writes in both output modes, work a file controls that must stay
interruptible, names checked before the solve, tampered checkpoint state, keys that do not
apply, and what an expression or a path may hold.

Same shape as e2e.py: each case is a function named case_<name>; CTest runs one case per test.
Every run has a time limit (a hang fails the case) and checks the exit code, the one message
on stderr and the files left behind.

usage: e2e_hardening.py --jacobi PATH --mpiexec PATH --source DIR (--list | CASE)
"""
import os
import shlex
import signal
import subprocess
import sys
import tempfile

import e2e
import e2e_io
from e2e import Failure, expect_exit, expect_in
from e2e_io import command, expect_one_error, in_namespace, jacobi, plate, write


def q(cmd):
    return " ".join(shlex.quote(a) for a in cmd)


def files(tmp, sub="."):
    return sorted(os.listdir(os.path.join(tmp, sub)))


def expect_no_temporaries(tmp, what, sub="."):
    left = [f for f in files(tmp, sub) if ".tmp." in f]
    if left:
        raise Failure(f"{what}: temporaries left behind: {left}")


def expect_no_crash(p, what):
    for word in ("Segmentation", "signal 25", "File size limit exceeded", "core dumped",
                 "Process received signal"):
        if word in p.stderr or word in p.stdout:
            raise Failure(f"{what}: crashed ({word}):\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")


# ---- a full disk and a file-size limit, every file, both modes (classes 1 and 2) -------------

def case_disk_full_at_every_size_both_modes_exits_1():
    """A 400 x 400 plate onto tmpfs file systems a little smaller and larger than its files:
    the disk fills during the datasets, during HDF5's final flush and close (in parallel mode
    this segfaulted on every rank in H5F__close), or during the sidecar. Every size ends with
    exit 1 and one message, or exit 3 and both files; never a crash, a hang or a temporary
    left. The file's blocks are reserved when it is created, so a disk without room for it is
    found there."""
    config = plate(nx=400, ny=400, tol=1e-12, max_iterations=20, check=5,
                   output='path = "small/out.h5"')
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        if not e2e_io.can_mount_a_small_tmpfs():
            return
        write(tmp, "case.toml", config)
        small = os.path.join(tmp, "small")
        os.mkdir(small)
        variants = [(2, ["output.mode=parallel"]), (2, ["output.mode=gather"]),
                    (3, ["output.mode=parallel", "output.owner_map=true",
                         "solver.method=chebyshev"]),
                    (2, ["output.mode=parallel", "output.checkpoint_interval=10"])]
        full = 0
        for ranks, sets in variants:
            for kib in range(1240, 1330, 9):
                cmd = ["sh", "-c", q(command(ranks, sets)) + "; rc=$?; ls small; exit $rc"]
                p = in_namespace(tmp, [["-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", small]],
                                 cmd)
                what = f"{kib} KiB disk, {ranks} ranks {sets}"
                if p.returncode == 2 and "parallel HDF5" in p.stderr:
                    print(f"note: this HDF5 is serial: {what} is not checked")
                    break
                expect_no_crash(p, what)
                listing = p.stdout.split()
                if ".tmp." in p.stdout:
                    raise Failure(f"{what}: a temporary was left:\n{p.stdout}")
                if p.returncode == 1:
                    expect_one_error(p, 1, ["No space left on device", "small/out."], what)
                    full += 1
                else:
                    expect_exit(p, 3, what)
                    if "out.h5" not in listing or "out.xmf" not in listing:
                        raise Failure(f"{what}: exit 3 without both files:\n{p.stdout}")
        if full == 0:
            raise Failure("no size filled the disk: the case tests nothing")


def limited(limit_blocks, cmd):
    """cmd (an mpiexec line) with the ranks, not the launcher, under `ulimit -f`: Open MPI's
    launcher writes files of its own (PMIx's shared store) and hangs below a few MiB."""
    launcher, rest = cmd[:3], cmd[3:]
    return launcher + ["sh", "-c", f"ulimit -f {limit_blocks} && exec " + q(rest)]


def case_file_size_limit_refused_at_start_both_modes():
    """A file-size limit (`ulimit -f`, a quota of the batch system) below the run's largest
    file: refused at start-up with "File too large" and exit 2, before the solve, for the
    result, the owner map and a Chebyshev checkpoint (/previous), in both modes; likewise for
    the file behind a node's shared windows (which MPI_Win_allocate_shared met with EFBIG, and
    MPI_Abort). No rank is killed by SIGXFSZ and nothing is left. At a limit the files fit
    under, the same runs write them all: the start-up bound is an upper bound."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        # 2000 x 2000: files of 32 MB (/temperature), 48 MB (with /owner), 80 MB (and
        # /previous); two ranks on a node share windows of 64 MB.
        write(tmp, "case.toml", plate(nx=2000, ny=2000, tol=1e-12, max_iterations=4, check=2,
                                      output='path = "out.h5"'))
        cheby = ["solver.method=chebyshev", "output.checkpoint_interval=2"]
        # (ranks, sets, the limit in MiB, the words of the refusal)
        variants = [(1, ["output.mode=gather"], 20, ["File too large", "output.path"]),
                    (1, ["output.mode=parallel", "output.owner_map=true"], 40,
                     ["File too large", "output.path"]),
                    (2, ["output.mode=parallel", "output.owner_map=true"] + cheby, 72,
                     ["File too large", "output.path"]),
                    (2, ["output.mode=gather"], 20, ["shared memory", "file-size limit"])]
        for ranks, sets, mib, words in variants:
            what = f"ulimit -f {mib} MiB, {ranks} ranks {sets}"
            # sh's ulimit -f counts 512-byte blocks
            p = subprocess.run(limited(mib * 2048, command(ranks, sets)), cwd=tmp,
                               capture_output=True, text=True, errors="replace",
                               timeout=e2e.TIMEOUT)
            if p.returncode == 2 and "parallel HDF5" in p.stderr:
                print(f"note: this HDF5 is serial: {what} is not checked")
                continue
            expect_no_crash(p, what)
            expect_one_error(p, 2, words + ["ulimit -f"], what)
            if files(tmp) != ["case.toml"]:
                raise Failure(f"{what}: files left: {files(tmp)}")
            what = f"ulimit -f 100 MiB, {ranks} ranks {sets}"
            p = subprocess.run(limited(100 * 2048, command(ranks, sets)), cwd=tmp,
                               capture_output=True, text=True, errors="replace",
                               timeout=e2e.TIMEOUT)
            expect_no_crash(p, what)
            expect_exit(p, 3, what)
            want = ["case.toml", "out.h5", "out.xmf"]
            if "output.checkpoint_interval=2" in sets:
                want = ["case.toml", "out.ckpt.h5", "out.ckpt.xmf", "out.h5", "out.xmf"]
            if files(tmp) != want:
                raise Failure(f"{what}: expected {want}, got {files(tmp)}")
            for f in want[1:]:
                os.remove(os.path.join(tmp, f))


# ---- work whose length a file controls (class 3) ---------------------------------------------

def h5py_or_skip():
    py = e2e_io.h5py_python()
    if py is None:
        print("skipped: needs h5py to make a file hostile")
    return py


def set_attrs(py, tmp, path, **attrs):
    """Set root attributes of an HDF5 file with h5py (int64 for ints, float64 for floats)."""
    lines = ["import h5py, numpy", f"f = h5py.File({path!r}, 'r+')"]
    for name, value in attrs.items():
        kind = "numpy.int64" if isinstance(value, int) else "numpy.float64"
        lines.append(f"f.attrs[{name!r}] = {kind}({value!r})")
    lines.append("f.close()")
    subprocess.run([py, "-c", "\n".join(lines)], cwd=tmp, check=True, timeout=e2e.TIMEOUT)


def case_chebyshev_checkpoint_of_4e18_iterations_starts_at_once():
    """A Chebyshev checkpoint whose iterations is 4e18 (which passes every check) with its
    recurrence begun at 0: the weights of 4e18 steps were replayed one by one before the first
    sweep (hours, deaf to SIGTERM). The replay stops where the weights repeat, so the run does
    its 30 sweeps at once and stops at max_iterations (exit 3) with a finite field; and a
    SIGTERM meanwhile would be heard at the first check."""
    py = h5py_or_skip()
    if py is None:
        return
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        write(tmp, "case.toml", plate(nx=60, ny=40, check=5, max_iterations=40,
                                      output='path = "a.h5"\nmode = "gather"'))
        p = jacobi(tmp, 2, ["solver.method=chebyshev"])
        expect_exit(p, 3, "chebyshev to 40")
        big = 4 * 10**18
        set_attrs(py, tmp, "a.h5", iterations=big, chebyshev_start=0)
        p = jacobi(tmp, 2, ["solver.method=chebyshev", "initial.from_file=a.h5",
                            "output.path=b.h5", f"solver.max_iterations={big + 30}"],
                   timeout=60)
        expect_no_crash(p, "continued from 4e18")
        expect_exit(p, 3, "continued from 4e18")
        out = e2e_io.tool(["h5dump", "-a", "iterations", "b.h5"], tmp).stdout
        expect_in(out, [str(big + 30)], "b.h5's iterations")


# ---- every name checked before the solve (class 4) --------------------------------------------

def case_every_name_a_run_writes_is_checked_at_start():
    """output.path of every length around NAME_MAX (255): the checkpoint's sidecar's temporary
    is the longest name a run writes, and names of 240-244 bytes passed the start-up check and
    failed after the solve (exit 1; on SIGTERM, no checkpoint). Now each length is refused at
    start-up (exit 2, "File name too long", or in parallel mode a name MPI-IO cannot take,
    which crashed Open MPI's ompio) or runs to the end and writes all four files."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        write(tmp, "case.toml", plate(nx=20, ny=14, max_iterations=10, check=5,
                                      output="checkpoint_interval = 5"))
        seen = set()
        for mode in ("gather", "parallel"):
            for n in range(200, 260, 3):
                name = "n" * (n - 3) + ".h5"
                what = f"{mode}, a name of {n} bytes"
                p = jacobi(tmp, 1, [f"output.mode={mode}", f"output.path={name}"])
                if p.returncode == 2 and "parallel HDF5" in p.stderr:
                    print(f"note: this HDF5 is serial: {what} is not checked")
                    break
                expect_no_crash(p, what)
                left = [f for f in files(tmp) if f != "case.toml"]
                if p.returncode == 2:
                    expect_one_error(p, 2, ["output.path"], what)
                    if "File name too long" not in p.stderr and "MPI-IO" not in p.stderr:
                        raise Failure(f"{what}: refused for another reason:\n{p.stderr}")
                    if left:
                        raise Failure(f"{what}: refused, but left {left}")
                    seen.add(2)
                else:
                    expect_exit(p, 3, what)
                    stem = name[:-3]
                    want = sorted([name, stem + ".xmf", stem + ".ckpt.h5", stem + ".ckpt.xmf"])
                    if sorted(left) != want:
                        raise Failure(f"{what}: expected its four files, got {left}")
                    seen.add(3)
                for f in left:
                    os.remove(os.path.join(tmp, f))
        if seen != {2, 3}:
            raise Failure(f"expected both refused and written lengths, saw exits {seen}")


# ---- tampered checkpoint state (classes 5 and 6) ---------------------------------------------

def chebyshev_checkpoint(tmp):
    """A Chebyshev run toward a target error, stopped short: b.h5 holds its stall state and
    /previous."""
    write(tmp, "case.toml", plate(nx=40, ny=30, tol=1e-12, check=5, max_iterations=30,
                                  output='path = "b.h5"'))
    p = jacobi(tmp, 2, ["solver.method=chebyshev", "solver.target_error=0.001"])
    expect_exit(p, 3, "chebyshev stopped at 30")


def case_tampered_stall_state_is_refused():
    """A checkpoint whose stall_best was set to 0 or 1e-300 (below the least bound rounding
    leaves on the plate, which no run's bound reaches) made the continued run stop at once
    with exit 3, claiming "target_error = 0 can be met", where the untampered file
    converges. Refused at start-up (exit 2, naming stall_best); the untampered file
    converges."""
    py = h5py_or_skip()
    if py is None:
        return
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        chebyshev_checkpoint(tmp)
        cont = ["solver.method=chebyshev", "solver.target_error=0.001",
                "initial.from_file=c.h5", "output.path=d.h5", "solver.max_iterations=100000"]
        for best in (0.0, 1e-300, -1.0):
            subprocess.run(["cp", "b.h5", "c.h5"], cwd=tmp, check=True)
            set_attrs(py, tmp, "c.h5", stall_best=best)
            p = jacobi(tmp, 2, cont)
            expect_one_error(p, 2, ["stall_best", "c.h5"], f"stall_best = {best}")
        subprocess.run(["cp", "b.h5", "c.h5"], cwd=tmp, check=True)
        p = jacobi(tmp, 2, cont)
        expect_exit(p, 0, "the untampered file converges")


def case_bad_value_in_previous_is_named_previous():
    """A value beyond |T| <= 1e300 in a checkpoint's /previous was reported as
    /temperature[5][5]: the message names the dataset it is in."""
    py = h5py_or_skip()
    if py is None:
        return
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        chebyshev_checkpoint(tmp)
        subprocess.run([py, "-c", "import h5py; f = h5py.File('b.h5', 'r+'); "
                        "f['previous'][5, 5] = 1e301; f.close()"], cwd=tmp, check=True)
        p = jacobi(tmp, 2, ["solver.method=chebyshev", "initial.from_file=b.h5",
                            "output.path=d.h5", "solver.max_iterations=100"])
        expect_one_error(p, 2, ["/previous[5][5] is 1e+301"], "1e301 in /previous")
        if "/temperature" in p.stderr:
            raise Failure(f"the message names /temperature:\n{p.stderr}")


# ---- one unit for a file's count (class 11) --------------------------------------------------

def iterations_attr(tmp, path):
    return int(e2e_io.attribute(tmp, path, "iterations"))


def case_a_file_of_another_unit_starts_the_count_afresh():
    """A file's iterations are sweeps (Jacobi, Chebyshev) or cycles (multigrid). A Jacobi
    file's 600 sweeps seeded a multigrid run's cycle count ("converged after 636 iterations"
    for 6 cycles; max_iterations = 20 refused as leaving nothing to do). Across units the
    file's field is the start and the count begins at 0, both ways; within a unit it goes on."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        write(tmp, "case.toml", plate(nx=63, ny=63, tol=1e-8, check=1))
        p = jacobi(tmp, 2, ["output.path=j.h5", "solver.max_iterations=600"])
        expect_exit(p, 3, "jacobi to 600 sweeps")
        p = jacobi(tmp, 2, ["output.path=m.h5", "initial.from_file=j.h5",
                            "solver.method=multigrid", "solver.max_iterations=20"])
        expect_exit(p, 0, "multigrid from 600 sweeps, at most 20 cycles")
        cycles = iterations_attr(tmp, "m.h5")
        if not 0 < cycles <= 20:
            raise Failure(f"multigrid from a Jacobi file counted {cycles} cycles")
        p = jacobi(tmp, 2, ["output.path=s.h5", "initial.from_file=m.h5", "solver.tolerance=1e-300",
                            "solver.max_iterations=5"])
        expect_exit(p, 3, "jacobi from a multigrid file, 5 sweeps")
        if iterations_attr(tmp, "s.h5") != 5:
            raise Failure(f"jacobi from a multigrid file: {iterations_attr(tmp, 's.h5')} sweeps")
        p = jacobi(tmp, 2, ["output.path=c.h5", "initial.from_file=j.h5",
                            "solver.method=chebyshev", "solver.max_iterations=610"])
        expect_exit(p, 3, "chebyshev from a Jacobi file goes on counting sweeps")
        if iterations_attr(tmp, "c.h5") != 610:
            raise Failure(f"chebyshev from 600 Jacobi sweeps: {iterations_attr(tmp, 'c.h5')}")


# ---- names the sidecar cannot hold (class 8) --------------------------------------------------

def case_control_characters_in_output_name_are_refused():
    """TOML lets output.path hold \\u0001 (or a TAB, \\u007f, \\uFFFF), which went raw into the
    XDMF sidecar, and XML parsers then refused it. Refused at start-up (exit 2, one message,
    the character escaped), nothing written; in a directory's name (the sidecar names only the
    file) such a character is allowed, and the sidecar is well-formed XML."""
    import xml.etree.ElementTree as ET
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        for bad in ("a\\u0001b.h5", "t\\tab.h5", "d\\u007fel.h5", "e\\u001b[31m.h5",
                    "n\\uFFFFc.h5", "l\\nf.h5"):
            write(tmp, "case.toml", plate(nx=9, ny=7, output=f'path = "{bad}"'))
            p = jacobi(tmp, 2)
            expect_one_error(p, 2, ["output.path", "XDMF sidecar"], f"output.path {bad}")
            if files(tmp) != ["case.toml"]:
                raise Failure(f"output.path {bad}: files left: {files(tmp)}")
        os.mkdir(os.path.join(tmp, "d\x01ir"))
        write(tmp, "case.toml", plate(nx=9, ny=7, output='path = "d\\u0001ir/ok.h5"'))
        p = jacobi(tmp, 2)
        expect_exit(p, 0, "a control character in the directory's name")
        try:
            ET.parse(os.path.join(tmp, "d\x01ir", "ok.xmf"))
        except ET.ParseError as e:
            raise Failure(f"the sidecar is not well-formed XML: {e}")


# ---- a temperature checked only where it is held (class 9) ------------------------------------

REGIONS = """[grid]
nx = 9
ny = 9
[boundary]
top = 1.0
[solver]
tolerance = 1e-6
[output]
path = "r.h5"
[[region]]
shape = "rectangle"
x0 = 0.0
x1 = 1.0
y0 = 0.0
y1 = 0.5
temperature = "1 / (x - 0.5)"
"""

LATER = """[[region]]
shape = "rectangle"
x0 = 0.45
x1 = 0.55
y0 = 0.0
y1 = 1.0
temperature = "0"
"""


def case_region_temperature_is_checked_only_where_held():
    """A region's temperature infinite only at points a later region holds (x = 0.5, under the
    second region) was refused, while the start and the source are not evaluated at held
    points. Now it runs, on 1 and 2 ranks alike; without the later region the same points are
    the first region's and it is refused, naming region[1].temperature."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        write(tmp, "case.toml", REGIONS + LATER)
        sums = set()
        for ranks in (1, 2):
            p = jacobi(tmp, ranks)
            expect_exit(p, 0, f"the infinite points held by the later region, {ranks} ranks")
            sums.add(e2e_io.attribute(tmp, "r.h5", "residual"))
        if len(sums) != 1:
            raise Failure(f"1 and 2 ranks differ: {sums}")
        write(tmp, "case.toml", REGIONS)
        p = jacobi(tmp, 2, ["output.path=s.h5"])
        expect_one_error(p, 2, ["region[1].temperature", "finite"], "infinite where it holds")


# ---- also seen: an address-space limit --------------------------------------------------------

def case_address_space_limit_refused_at_start():
    """`ulimit -v` below what the ranks map (every rank of a node maps the node's whole shared
    window): refused at start-up (exit 2, naming ulimit -v), where the window's allocation had
    failed inside MPI and ended the run in MPI_Abort. The launcher is not limited (it would
    not start)."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        write(tmp, "case.toml", plate(nx=6000, ny=6000, max_iterations=1, output='path = "o.h5"'))
        cmd = command(2, [])
        cmd = cmd[:3] + ["sh", "-c", "ulimit -v 400000 && exec " + q(cmd[3:])]
        p = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, errors="replace",
                           timeout=e2e.TIMEOUT)
        expect_no_crash(p, "ulimit -v 400000")
        expect_one_error(p, 2, ["address space", "ulimit -v", "grid.nx"], "ulimit -v 400000")
        if "MPI_ABORT" in p.stderr:
            raise Failure(f"ended in MPI_Abort:\n{p.stderr}")
        if files(tmp) != ["case.toml"]:
            raise Failure(f"files left: {files(tmp)}")


def catches(pid, signum):
    """Whether process pid has a handler for signal signum (/proc's SigCgt mask)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16) >> (signum - 1) & 1 == 1
    except OSError:
        pass
    return False


def case_file_size_limit_lowered_mid_run_fails_the_write_cleanly():
    """The file-size limit lowered while the run solves (prlimit, as a batch system or quota
    may), then SIGUSR1 asks for a checkpoint, which meets it. SIGXFSZ had killed the writing
    rank (exit 153, its temporary left, the job killed); now the checkpoint fails with "File
    too large", every rank exits 1 with one message and no temporary is left. Both output
    modes. The run is waited on by its state (every rank in the solve loop: its SIGUSR1
    handler installed), never by time, and the limit is lowered while no file is written
    (a limit lowered inside HDF5's close is beyond what HDF5 1.10 recovers from: README)."""
    import time
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-h34-") as tmp:
        write(tmp, "case.toml", plate(nx=200, ny=200, tol=1e-300, check=10,
                                      max_iterations=10**9, output='path = "o.h5"'))
        for mode in ("gather", "parallel"):
            what = f"ulimit -f lowered mid-run, {mode} mode"
            proc = subprocess.Popen(command(2, [f"output.mode={mode}"]), cwd=tmp,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    errors="replace")
            try:
                deadline = time.monotonic() + e2e.TIMEOUT
                pids = []
                while proc.poll() is None and not (
                        len(pids) == 2 and all(catches(pid, signal.SIGUSR1) for pid in pids)):
                    if time.monotonic() > deadline:
                        raise Failure(f"{what}: not solving within {e2e.TIMEOUT} s")
                    time.sleep(0.05)
                    pids = e2e.rank_pids(proc.pid)
                if proc.poll() is not None:
                    out, err = proc.communicate()
                    if proc.returncode == 2 and "parallel HDF5" in err:
                        print(f"note: this HDF5 is serial: {what} is not checked")
                        continue
                    raise Failure(f"{what}: ended early ({proc.returncode}):\n{err}")
                for pid in pids:
                    subprocess.run(["prlimit", f"--pid={pid}", "--fsize=100000"], check=True)
                for pid in pids:
                    os.kill(pid, signal.SIGUSR1)
                out, err = proc.communicate(timeout=e2e.TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise Failure(f"{what}: timed out after {e2e.TIMEOUT} s (a hang)")
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
            p = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
            expect_no_crash(p, what)
            expect_one_error(p, 1, ["File too large", "o.ckpt.h5"], what)
            expect_no_temporaries(tmp, what)
            for f in files(tmp):
                if f != "case.toml":
                    os.remove(os.path.join(tmp, f))


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    e2e.CASES = CASES
    sys.exit(e2e.main())
