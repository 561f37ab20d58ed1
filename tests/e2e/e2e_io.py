#!/usr/bin/env python3
"""End-to-end tests of the output file, checkpoints, restarts and signals.

Same shape as e2e.py: each case is a function named case_<name>; CTest runs one
case per test (`e2e_io.py --list` names them at configure time). Every run has
a time limit. Files are inspected with the HDF5 command-line tools (h5dump,
h5diff), which the build's HDF5 brings; h5py is used only where a file must be
corrupted on purpose, and that check is skipped (and says so) without it.

usage: e2e_io.py --jacobi PATH --mpiexec PATH --source DIR (--list | CASE)
"""
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import e2e
from e2e import TIMEOUT, Failure, expect_exit, expect_in


def plate(tol=1e-6, output="", **settings):
    """e2e.py's plate, converged tighter, with an [output] section."""
    return e2e.plate(tol=tol, extra=f"[output]\n{output}\n", **settings)


def command(ranks, sets=(), config="case.toml"):
    cmd = [e2e.ARGS.mpiexec, "-n", str(ranks), e2e.ARGS.jacobi, "--quiet"]
    for s in sets:
        cmd += ["--set", s]
    return cmd + [config]


def jacobi(cwd, ranks, sets=(), config="case.toml", env=None, timeout=TIMEOUT):
    """Run jacobi in cwd (which holds the config)."""
    cmd = command(ranks, sets, config)
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                           errors="replace", env=env)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout} s (a hang): {' '.join(cmd)}")
    e2e.expect_one_job(p, " ".join(cmd))
    return p


def tool(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT,
                          errors="replace")


def write(cwd, name, text):
    with open(os.path.join(cwd, name), "w", encoding="utf-8") as f:
        f.write(text)


def attribute(cwd, path, name):
    """A root attribute's value, as h5dump prints it."""
    p = tool(["h5dump", "-a", name, path], cwd)
    m = re.search(r"\(0\): (\S+)", p.stdout)
    if p.returncode != 0 or not m:
        raise Failure(f"h5dump -a {name} {path}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    return m.group(1)


def identical(cwd, a, b, what):
    """/temperature bit for bit (h5diff with no tolerance) and the same iteration count."""
    p = tool(["h5diff", "-r", a, b, "/temperature", "/temperature"], cwd)
    if p.returncode != 0:
        raise Failure(f"{what}: h5diff {a} {b} /temperature found differences (exit "
                      f"{p.returncode}):\n{p.stdout[:3000]}{p.stderr}")
    ia, ib = attribute(cwd, a, "iterations"), attribute(cwd, b, "iterations")
    if ia != ib:
        raise Failure(f"{what}: iterations {ia} in {a}, {ib} in {b}")


def temperature(cwd, path):
    """/temperature as a list of rows of floats, from h5dump."""
    p = tool(["h5dump", "-d", "/temperature", "-y", "-w", "0", "-m", "%.17g", path], cwd)
    if p.returncode != 0:
        raise Failure(f"h5dump {path}: exit {p.returncode}\n{p.stderr}")
    dims = re.search(r"DATASPACE\s+SIMPLE\s+\{\s*\(\s*(\d+),\s*(\d+)\s*\)", p.stdout)
    body = p.stdout[p.stdout.index("DATA {") + 6:]
    values = [float(v) for v in re.findall(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)",
                                           body.split("}")[0])]
    rows, cols = int(dims.group(1)), int(dims.group(2))
    if len(values) != rows * cols:
        raise Failure(f"{path}: expected {rows * cols} values, parsed {len(values)}")
    return [values[i * cols:(i + 1) * cols] for i in range(rows)]


def temporaries(cwd, path):
    """The temporaries PATH.tmp.* beside path, sorted."""
    return sorted(f for f in os.listdir(cwd) if f.startswith(path + ".tmp."))


def h5py_python():
    """A Python with h5py (Debian's /usr/bin/python3 has it), or None."""
    for py in ("/usr/bin/python3", sys.executable):
        if os.path.exists(py) and subprocess.run([py, "-c", "import h5py"],
                                                 capture_output=True).returncode == 0:
            return py
    return None


# ---- the output file ------------------------------------------------------------------------

def case_output_file_layout_and_sidecar():
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=9, ny=6, partitioner="cyclic", grid=(0, 0),
                                      output='path = "plate.h5"\nowner_map = true'))
        p = jacobi(tmp, 3)
        expect_exit(p, 0, "cyclic on 3 ranks")
        expect_in(p.stdout, ["output written to plate.h5; in ParaView open ./plate.xmf"],
                  "summary")
        t = temperature(tmp, "plate.h5")
        if len(t) != 8 or len(t[0]) != 11:
            raise Failure(f"/temperature: expected (ny + 2) x (nx + 2) = 8 x 11, got "
                          f"{len(t)} x {len(t[0])}")
        want_ring = ([100.0] * 11, [12.5] * 11)
        if t[0] != want_ring[0] or t[-1] != want_ring[1]:
            raise Failure(f"top/bottom rows with corners: got {t[0]} / {t[-1]}")
        for row in t[1:-1]:
            if row[0] != -3.0 or row[-1] != 0.7:
                raise Failure(f"left/right columns: got {row[0]}, {row[-1]}")
        it = re.search(r"converged after (\d+) (?:iterations?|cycles?)", p.stdout).group(1)
        expect_in(attribute(tmp, "plate.h5", "iterations"), [it], "iterations attribute")
        h = tool(["h5dump", "-A", "plate.h5"], tmp).stdout
        expect_in(h, ['ATTRIBUTE "residual"', 'ATTRIBUTE "converged"', 'ATTRIBUTE "tolerance"',
                      'ATTRIBUTE "nx"', 'ATTRIBUTE "ny"', '"cyclic"', 'ATTRIBUTE "ranks"',
                      'ATTRIBUTE "version"', "nx = 9"], "attributes")
        props = tool(["h5dump", "-p", "-H", "plate.h5"], tmp).stdout
        expect_in(props, ['DATASET "temperature"', 'DATASET "owner"', "H5T_IEEE_F64LE",
                          "H5T_STD_I32LE", "CHUNKED"], "datasets")
        with open(os.path.join(tmp, "plate.xmf"), encoding="utf-8") as f:
            xmf = f.read()
        expect_in(xmf, [">plate.h5:/temperature<", ">plate.h5:/owner<", "3DCoRectMesh",
                        'Dimensions="1 8 11"'], "plate.xmf")
        leftovers = [f for f in os.listdir(tmp) if ".tmp" in f]
        if leftovers:
            raise Failure(f"temporary files left behind: {leftovers}")


def case_parallel_mode_equals_gather():
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=11, ny=13, partitioner="block-cyclic", block_size=2,
                                      grid=(0, 0), output="owner_map = true"))
        g = jacobi(tmp, 4, ["output.path=g.h5"])
        expect_exit(g, 0, "gather on 4 ranks")
        p = jacobi(tmp, 4, ["output.path=p.h5", "output.mode=parallel"])
        if p.returncode == 2 and "parallel HDF5" in p.stderr:
            print("skipped: this HDF5 is serial")
            return
        expect_exit(p, 0, "parallel on 4 ranks")
        identical(tmp, "g.h5", "p.h5", "parallel against gather")
        q = tool(["h5diff", "g.h5", "p.h5", "/owner", "/owner"], tmp)
        if q.returncode != 0:
            raise Failure(f"/owner differs between gather and parallel:\n{q.stdout}")


# ---- restart ----------------------------------------------------------------------------------

def case_restart_other_ranks_and_partitioner_is_identical():
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(check=7))
        a = jacobi(tmp, 2, ["output.path=a.h5"])
        expect_exit(a, 0, "A: straight to convergence on 2 ranks")
        b = jacobi(tmp, 3, ["output.path=b.h5", "solver.max_iterations=300",
                            "decomposition.partitioner=cyclic"])
        expect_exit(b, 3, "B: stopped at max_iterations 300 on 3 ranks, cyclic")
        for ranks, sets in ((4, ["decomposition.partitioner=block-cyclic",
                                 "decomposition.block_size=3", "decomposition.process_grid=[2,2]"]),
                            (1, [])):
            c = jacobi(tmp, ranks, ["output.path=c.h5", "initial.from_file=b.h5", *sets])
            expect_exit(c, 0, f"B continued on {ranks} ranks {sets}")
            identical(tmp, "a.h5", "c.h5", f"A against B continued on {ranks} ranks")
            ca = re.search(r"field checksum (\w+)", a.stdout).group(1)
            expect_in(c.stdout, [f"field checksum {ca}"], "checksum of the continued run")


def case_chebyshev_restart_is_identical():
    """Chebyshev continued from a file it wrote, on other ranks, partitioners and temporal
    blocks: the same field and count as straight through (its files hold /previous). A Jacobi
    file seeds a Chebyshev run (the recurrence begins there) and a Chebyshev file a Jacobi run
    (from its /temperature); both converge, and their bound holds against the answer."""
    cheb = "solver.method=chebyshev"
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(check=4))
        a = jacobi(tmp, 2, ["output.path=a.h5", cheb])
        expect_exit(a, 0, "A: chebyshev straight to convergence on 2 ranks")
        b = jacobi(tmp, 3, ["output.path=b.h5", "solver.max_iterations=61", cheb,
                            "decomposition.partitioner=cyclic"])
        expect_exit(b, 3, "B: chebyshev stopped at 61 on 3 ranks, cyclic")
        h = tool(["h5dump", "-H", "b.h5"], tmp).stdout
        expect_in(h, ['DATASET "previous"', 'ATTRIBUTE "chebyshev_start"'], "b.h5")
        k = jacobi(tmp, 2, ["output.path=k.h5", "output.checkpoint_interval=40", cheb,
                            "solver.temporal_block=4", "solver.max_iterations=90"])
        expect_exit(k, 3, "K: chebyshev with temporal blocks and a checkpoint at 80")
        ca = re.search(r"field checksum (\w+)", a.stdout).group(1)
        for source, ranks, sets in (("b.h5", 4, ["decomposition.partitioner=block-cyclic",
                                                 "decomposition.block_size=3",
                                                 "decomposition.process_grid=[2,2]"]),
                                    ("b.h5", 1, ["solver.temporal_block=4"]),
                                    ("k.ckpt.h5", 3, ["halo.mode=p2p"])):
            c = jacobi(tmp, ranks, ["output.path=c.h5", f"initial.from_file={source}", cheb, *sets])
            expect_exit(c, 0, f"{source} continued on {ranks} ranks {sets}")
            identical(tmp, "a.h5", "c.h5", f"A against {source} continued on {ranks} ranks")
            expect_in(c.stdout, [f"field checksum {ca}"], "checksum of the continued run")
        j = jacobi(tmp, 2, ["output.path=j.h5", "solver.max_iterations=500"])
        expect_exit(j, 3, "a Jacobi run stopped at 500")
        for source, method in (("j.h5", "chebyshev"), ("b.h5", "jacobi")):
            c = jacobi(tmp, 2, ["output.path=m.h5", f"initial.from_file={source}",
                                f"solver.method={method}", "solver.target_error=0.01"])
            expect_exit(c, 0, f"{method} seeded by {source}")
            if float(attribute(tmp, "m.h5", "error_bound")) > 0.01:
                raise Failure(f"{method} seeded by {source}: bound above the target")


def case_checkpoint_interval_writes_checkpoint():
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(check=5, max_iterations=130,
                                      output="checkpoint_interval = 50"))
        a = jacobi(tmp, 2, ["output.path=a.h5"])
        expect_exit(a, 3, "straight to 130 iterations")
        if attribute(tmp, "a.ckpt.h5", "iterations") != "100":
            raise Failure("a.ckpt.h5: expected iterations 100 (the last multiple of 50)")
        if not os.path.exists(os.path.join(tmp, "a.ckpt.xmf")):
            raise Failure("a.ckpt.xmf: the checkpoint's sidecar is missing")
        c = jacobi(tmp, 3, ["output.path=c.h5", "initial.from_file=a.ckpt.h5",
                            "output.checkpoint_interval=0", "decomposition.partitioner=cyclic"])
        expect_exit(c, 3, "continued from the checkpoint to 130")
        identical(tmp, "a.h5", "c.h5", "straight against continued from the checkpoint")


# ---- convergence history ----------------------------------------------------------------------

def history(cwd, path, ranks):
    """(/history as rows, the file's iterations and residual attributes), read with h5py; a
    Failure unless the run had `ranks` ranks."""
    import h5py
    with h5py.File(os.path.join(cwd, path), "r") as f:
        if int(f.attrs["ranks"]) != ranks:
            raise Failure(f"{path}: written by {int(f.attrs['ranks'])} ranks, started on {ranks}")
        h = f["history"]
        if h.attrs["columns"] != b"iteration, change, error_estimate, error_bound, seconds" \
                and h.attrs["columns"] != "iteration, change, error_estimate, error_bound, seconds":
            raise Failure(f"{path}: /history's columns attribute is {h.attrs['columns']!r}")
        return h[()].tolist(), int(f.attrs["iterations"]), float(f.attrs["residual"])


def case_history_in_every_result():
    """Every result holds /history, a row (iteration or cycle, sweep change, error estimate,
    error bound, seconds) at every check: Jacobi, Chebyshev and multigrid, the same rows on
    other ranks and partitioners but for the seconds; a long run's rows are thinned to at most
    1025, evenly, keeping the first and last checks; a run continued from a file goes on with
    the file's history."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(tol=1e-6, check=5))
        for method in ("jacobi", "chebyshev", "multigrid"):
            runs = []
            for ranks, extra in ((1, ()), (3, ("decomposition.partitioner=cyclic",))):
                p = jacobi(tmp, ranks, [f"solver.method={method}", f"output.path={method}.h5",
                                        *extra])
                expect_exit(p, 0, f"{method} on {ranks} ranks")
                rows, iterations, residual = history(tmp, f"{method}.h5", ranks)
                what = f"{method} on {ranks} ranks: /history"
                step = 1 if method == "multigrid" else 5
                if [r[0] for r in rows] != [float(step * (i + 1)) for i in range(len(rows))]:
                    raise Failure(f"{what}: expected a row every {step} iterations, got "
                                  f"{[r[0] for r in rows]}")
                if rows[-1][0] not in (iterations, iterations + 1) or rows[-1][1] != residual:
                    raise Failure(f"{what}: the last row {rows[-1]} is not the last check "
                                  f"(iterations {iterations}, residual {residual})")
                if any(not 0 <= r[2] <= r[3] for r in rows) or \
                        any(b[4] < a[4] for a, b in zip(rows, rows[1:])):
                    raise Failure(f"{what}: every estimate within its bound, seconds rising:\n"
                                  f"{rows}")
                runs.append([r[:4] for r in rows])
            if runs[0] != runs[1]:
                raise Failure(f"{method}: /history differs between 1 rank and 3 (cyclic)")
            # the summary's --verbose figures are in the file too (3 ranks: messages or windows)
            import h5py
            with h5py.File(os.path.join(tmp, f"{method}.h5"), "r") as f:
                a = f.attrs
                halo = int(a["halo_shared_points"]) + int(a["halo_message_points"])
                if not (a["wall_seconds"] > 0 and a["compute_seconds"] > 0 and halo > 0
                        and int(a["exchange_every"]) == 1 and ("kernel" in a) == (
                            method != "multigrid")):
                    raise Failure(f"{method}: the run's figures in the attributes: "
                                  f"{dict(a)}")
        long_run = jacobi(tmp, 2, ["output.path=long.h5", "solver.tolerance=1e-300",
                                   "solver.max_iterations=5000", "solver.check_interval=1"])
        expect_exit(long_run, 3, "5000 iterations, a check each")
        rows, iterations, _ = history(tmp, "long.h5", 2)
        kept = [int(r[0]) for r in rows]
        # 5000 checks: the rows filled at 1024, 2048 and 4096 checks, so every 8th is kept
        if len(rows) > 1025 or kept[0] != 1 or kept[-1] != 5000 or \
                kept[:-1] != list(range(1, 5000, 8)):
            raise Failure(f"the long run's /history: expected checks 1, 9, 17, ... and 5000, "
                          f"got {len(rows)} rows: {kept[:5]} ... {kept[-3:]}")
        # a run continued from a file goes on with its history: stopped at 2502 (a check that
        # is not a multiple of the stride, so the file's last row is kept beyond it) and
        # continued on 3 ranks to 5000, the same rows as the run straight to 5000 but for
        # the seconds (and the error estimate, which each run measures afresh)
        half = jacobi(tmp, 2, ["output.path=half.h5", "solver.tolerance=1e-300",
                               "solver.max_iterations=2502", "solver.check_interval=1"])
        expect_exit(half, 3, "2502 iterations, a check each")
        rest = jacobi(tmp, 3, ["output.path=rest.h5", "solver.tolerance=1e-300",
                               "solver.max_iterations=5000", "solver.check_interval=1",
                               "initial.from_file=half.h5", "decomposition.partitioner=cyclic"])
        expect_exit(rest, 3, "continued from 2502 to 5000")
        continued, _, _ = history(tmp, "rest.h5", 3)
        # and from a checkpoint written mid-run (at 2000: its rows are those checks)
        ckpt = jacobi(tmp, 2, ["output.path=ck.h5", "solver.tolerance=1e-300",
                               "solver.max_iterations=2100", "solver.check_interval=1",
                               "output.checkpoint_interval=1000"])
        expect_exit(ckpt, 3, "2100 iterations, checkpoints every 1000")
        from_ckpt, at, _ = history(tmp, "ck.ckpt.h5", 2)
        kept = [int(r[0]) for r in from_ckpt]  # full at 1024 checks: every other one since
        if at != 2000 or kept != list(range(1, 2000, 2)) + [2000]:
            raise Failure(f"the checkpoint at {at}: expected checks 1, 3, ..., 1999 and 2000 "
                          f"in its /history, got {kept[:3]} ... {kept[-3:]}")
        on = jacobi(tmp, 2, ["output.path=on.h5", "solver.tolerance=1e-300",
                             "solver.max_iterations=2100", "solver.check_interval=1",
                             "initial.from_file=ck.ckpt.h5"])
        expect_exit(on, 3, "continued from the checkpoint at 2000 to 2100")
        straight, _, _ = history(tmp, "ck.h5", 2)
        if [r[:2] for r in history(tmp, "on.h5", 2)[0]] != [r[:2] for r in straight]:
            raise Failure("the run continued from the checkpoint at 2000: its /history is not "
                          "the straight run's to 2100")
        if [r[:2] for r in continued] != [r[:2] for r in rows] or \
                any(b[4] < a[4] for a, b in zip(continued, continued[1:])):
            raise Failure(f"the continued run's /history: expected the straight run's rows "
                          f"(iteration, change) with seconds rising; got {len(continued)} rows, "
                          f"{[int(r[0]) for r in continued[:3]]} ... "
                          f"{[int(r[0]) for r in continued[-3:]]}")


# ---- signals ----------------------------------------------------------------------------------

def finish(proc, what):
    """Wait for a signalled process; its result, or a Failure if it hangs (300 s)."""
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise Failure(f"{what} did not stop within 300 s")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def interrupted_run(tmp, ranks, send, sets=()):
    """Start a long run, wait for its first checkpoint (so it is solving), signal it with
    send(mpirun_pid); return (completed process, iteration in its checkpoint)."""
    write(tmp, "long.toml", plate(nx=160, ny=160, tol=1e-300, max_iterations=100000000,
                                  check=10, output='path = "s.h5"\ncheckpoint_interval = 200'))
    proc = subprocess.Popen(command(ranks, sets, config="long.toml"), cwd=tmp,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace")
    ckpt = os.path.join(tmp, "s.ckpt.h5")
    deadline = time.time() + 300  # a hang guard only: the run ends only by the signal
    while not os.path.exists(ckpt) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    if proc.poll() is not None or not os.path.exists(ckpt):
        proc.kill()
        out, err = proc.communicate()
        raise Failure(f"the long run ended or wrote no checkpoint:\n{out}\n{err}")
    send(proc.pid)
    p = finish(proc, "the signalled run")
    return p, int(attribute(tmp, "s.ckpt.h5", "iterations"))


def signal_then_continue(send, what, sets=(), method_sets=(), ranks=(3, 2, 4)):
    """`method_sets` apply to the uninterrupted and continued runs too; `ranks`: those of the
    interrupted, uninterrupted and continued runs."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        p, k = interrupted_run(tmp, ranks[0], send, tuple(sets) + tuple(method_sets))
        expect_exit(p, 4, what)
        unit = "cycle" if "solver.method=multigrid" in method_sets else "iteration"
        expect_in(p.stdout, [f"stopped by a signal at {unit} {k}: checkpoint written to "
                             "s.ckpt.h5", "continue with: jacobi --set "
                             "initial.from_file=s.ckpt.h5"], what)
        if not p.stdout.startswith("stopped by a signal"):
            raise Failure(f"{what}: the summary should lead with the checkpoint:\n{p.stdout}")
        if os.path.exists(os.path.join(tmp, "s.h5")):
            raise Failure(f"{what}: the interrupted run must not write the result file")
        stop = k + 150
        a = jacobi(tmp, ranks[1], ["output.path=a.h5", f"solver.max_iterations={stop}",
                                   "output.checkpoint_interval=0", *method_sets],
                   config="long.toml")
        expect_exit(a, 3, f"uninterrupted run to {stop}")
        c = jacobi(tmp, ranks[2], ["output.path=c.h5", f"solver.max_iterations={stop}",
                                   "initial.from_file=s.ckpt.h5", "output.checkpoint_interval=0",
                                   "decomposition.partitioner=cyclic", *method_sets],
                   config="long.toml")
        expect_exit(c, 3, f"continued from the signal's checkpoint to {stop}")
        identical(tmp, "a.h5", "c.h5", f"{what}: uninterrupted against continued")


def case_chebyshev_sigusr1_checkpoint_continues_exactly():
    """A Chebyshev run's checkpoint holds x^k and x^(k-1) (/previous) and where its recurrence
    began, so a run stopped by a signal continues on other ranks exactly as if uninterrupted."""
    signal_then_continue(lambda pid: os.kill(pid, signal.SIGUSR1), "chebyshev, SIGUSR1",
                         method_sets=("solver.method=chebyshev",))


def case_sigusr1_to_mpirun_checkpoints_and_exits_4():
    signal_then_continue(lambda pid: os.kill(pid, signal.SIGUSR1), "SIGUSR1 to mpirun")


def case_sigusr1_to_the_ranks_on_2_ranks_checkpoints_and_exits_4():
    """SIGUSR1 to each rank, found under the launcher (Hydra puts a proxy between), on rank
    counts a 2-core machine runs without oversubscribing, so MPICH's suite runs it too. (To
    MPICH's mpiexec itself, SIGUSR1 is forwarded, but mpiexec then exits 0 instead of 4 about
    one time in five; README, "Slurm".)"""
    def send(pid):
        pids = e2e.rank_pids(pid)
        if len(pids) != 2:
            raise Failure(f"found {len(pids)} rank processes under the launcher, expected 2")
        for r in pids:
            os.kill(r, signal.SIGUSR1)
    signal_then_continue(send, "SIGUSR1 to 2 ranks", ranks=(2, 1, 2))


def case_progress_time_left_and_restart_header():
    """The progress line shows the time elapsed and, from its second line on, the time left to
    the tolerance at the measured rate; a run continued from a checkpoint says from which
    iteration, and its summary's rate covers its own iterations and says so."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        # about a million iterations to the tolerance: minutes, so the run is still going at
        # its second progress line on any machine (200 x 200 to 1e-7 took 2 s on a fast one)
        write(tmp, "slow.toml", plate(nx=400, ny=400, tol=1e-9, check=10,
                                      max_iterations=100000000, output='path = "s.h5"'))
        cmd = [e2e.ARGS.mpiexec, "-n", "1", e2e.ARGS.jacobi, "slow.toml"]
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace")
        lines, deadline = [], time.time() + 60
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if sum("  iteration " in x for x in lines) >= 2:
                break
        for r in e2e.rank_pids(proc.pid):
            os.kill(r, signal.SIGUSR1)
        out, err = proc.communicate(timeout=60)
        lines += out.splitlines(keepends=True)
        progress = [x for x in lines if x.startswith("  iteration ")]
        if proc.returncode != 4 or len(progress) < 2:
            raise Failure(f"expected two progress lines, then exit 4 on SIGUSR1; got exit "
                          f"{proc.returncode}:\n{''.join(lines)}\n{err}")
        if not re.search(r", \d+ s elapsed$", progress[0].rstrip()):
            raise Failure(f"the first progress line should end with the time elapsed:\n"
                          f"{progress[0]}")
        # any positive time: how long depends on the machine and its load
        m = re.search(r"s elapsed, about ([0-9.e+]+) s to the tolerance$", progress[1].rstrip())
        if not m or not 0 < float(m.group(1)):
            raise Failure(f"the second progress line should give the time left to the "
                          f"tolerance:\n{progress[1]}")
        k = int(attribute(tmp, "s.ckpt.h5", "iterations"))
        c = subprocess.run([e2e.ARGS.mpiexec, "-n", "2", e2e.ARGS.jacobi, "--set",
                            "initial.from_file=s.ckpt.h5", "--set", "output.path=c.h5", "--set",
                            f"solver.max_iterations={k + 50}", "slow.toml"], cwd=tmp,
                           capture_output=True, text=True, timeout=TIMEOUT)
        expect_exit(c, 3, "continued for 50 iterations")
        expect_in(c.stdout, [f"continuing from iteration {k} of s.ckpt.h5",
                             f"(this run: iterations {k} to {k + 50})"], "the continued run")


def case_sigterm_to_ranks_checkpoints_and_exits_4():
    def send(pid):
        pids = e2e.rank_pids(pid)
        if not pids:
            raise Failure("found no rank processes under mpirun")
        for r in pids:  # one after another: they arrive at different iterations
            os.kill(r, signal.SIGTERM)
            time.sleep(0.01)
    # messages between the ranks, so the run stops (and checkpoints) with an exchange in flight
    # (halo.overlap): it must be completed, not left to the next run
    signal_then_continue(send, "SIGTERM to the ranks", sets=("halo.mode=p2p",))


def case_sigint_to_ranks_checkpoints_and_exits_4():
    """Ctrl-C in a terminal: every rank of the foreground job gets SIGINT."""
    def send(pid):
        pids = e2e.rank_pids(pid)
        if not pids:
            raise Failure("found no rank processes under mpirun")
        for r in pids:
            os.kill(r, signal.SIGINT)
    signal_then_continue(send, "SIGINT to the ranks")


def case_sigint_to_mpirun_stops_promptly_and_keeps_files_whole():
    """mpirun turns SIGINT into SIGTERM for the ranks and exits non-zero itself: the job ends
    promptly, the result file is not written, and the checkpoint is a whole HDF5 file."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        p, _ = interrupted_run(tmp, 3, lambda pid: os.kill(pid, signal.SIGINT))
        if p.returncode == 0:
            raise Failure(f"SIGINT to mpirun: expected a non-zero exit, got 0\n{p.stdout}")
        if os.path.exists(os.path.join(tmp, "s.h5")):
            raise Failure("SIGINT to mpirun: the interrupted run must not write the result file")
        check = tool(["h5dump", "-H", "s.ckpt.h5"], tmp)
        if check.returncode != 0:
            raise Failure(f"SIGINT to mpirun: the checkpoint is not a whole file:\n{check.stderr}")


def case_sbatch_trap_requeue_and_continue():
    """scripts/jacobi.sbatch without Slurm: a fake scontrol logs its arguments; SIGUSR1 goes
    to the batch shell, as --signal=B:USR1 sends it."""
    script = os.path.join(e2e.ARGS.source, "scripts", "jacobi.sbatch")
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        write(bindir, "scontrol", '#!/bin/sh\necho "$@" >> "$SCONTROL_LOG"\n')
        os.chmod(os.path.join(bindir, "scontrol"), 0o755)
        write(tmp, "long.toml", plate(nx=160, ny=160, tol=1e-300, max_iterations=100000000,
                                      check=10, output='path = "s.h5"\ncheckpoint_interval = 200'))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"],
                   SCONTROL_LOG=os.path.join(tmp, "scontrol.log"), SLURM_JOB_ID="4242",
                   SLURM_RESTART_COUNT="0", JACOBI=e2e.ARGS.jacobi,
                   MPIEXEC=f"{e2e.ARGS.mpiexec} -n 2")
        # jacobi's order: options, then the config (issue 19: the script once took CONFIG first)
        proc = subprocess.Popen(["bash", script, "--quiet", "long.toml"], cwd=tmp, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace")
        deadline = time.time() + 300  # a hang guard only: the run ends only by the signal
        while (not os.path.exists(os.path.join(tmp, "s.ckpt.h5")) and proc.poll() is None
               and time.time() < deadline):
            time.sleep(0.05)
        if proc.poll() is not None or not os.path.exists(os.path.join(tmp, "s.ckpt.h5")):
            proc.kill()
            out, err = proc.communicate()
            raise Failure(f"jacobi.sbatch ended or wrote no checkpoint:\n{out}\n{err}")
        proc.send_signal(signal.SIGUSR1)
        p = finish(proc, "jacobi.sbatch after SIGUSR1")
        expect_exit(p, 4, "jacobi.sbatch signalled")
        stop_lines = [line for line in p.stdout.splitlines() if "checkpoint stop" in line]
        if len(stop_lines) != 1 or "expected" not in stop_lines[0] or \
                "s.ckpt.h5" not in stop_lines[0] or "4242" not in stop_lines[0]:
            raise Failure("expected one line saying this is the expected checkpoint stop, "
                          f"naming s.ckpt.h5 and job 4242, got:\n{p.stdout}")
        with open(env["SCONTROL_LOG"], encoding="utf-8") as f:
            log = f.read()
        if log.strip() != "requeue 4242":
            raise Failure(f"expected the script to run 'scontrol requeue 4242', got {log!r}")
        k = int(attribute(tmp, "s.ckpt.h5", "iterations"))
        stop = k + 120
        env["SLURM_RESTART_COUNT"] = "1"
        again = subprocess.run(["bash", script, "--quiet", "--set",
                                f"solver.max_iterations={stop}", "long.toml"], cwd=tmp, env=env,
                               capture_output=True, text=True, timeout=TIMEOUT)
        expect_exit(again, 3, "the requeued job, to max_iterations")
        expect_in(again.stdout, ["continuing from s.ckpt.h5"], "the requeued job")
        a = jacobi(tmp, 2, ["output.path=a.h5", f"solver.max_iterations={stop}",
                            "output.checkpoint_interval=0"], config="long.toml")
        expect_exit(a, 3, "the uninterrupted run")
        identical(tmp, "a.h5", "s.h5", "uninterrupted against requeued by jacobi.sbatch")
        bad = subprocess.run(["bash", script, "--set", "solver.tolerance=abc", "long.toml"],
                             cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        expect_exit(bad, 2, "jacobi.sbatch with a bad --set")
        if bad.stderr.count("error:") != 1 or "solver.tolerance" not in bad.stderr or \
                "jacobi.sbatch" in bad.stderr:
            raise Failure(f"a bad --set: expected jacobi's one message alone, got:\n{bad.stderr}")


# ---- atomicity --------------------------------------------------------------------------------

def case_kill_during_write_keeps_previous_file():
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=40, ny=300, output='path = "plate.h5"'))
        first = jacobi(tmp, 2, ["solver.max_iterations=20"])
        expect_exit(first, 3, "the first run")
        shutil.copy(os.path.join(tmp, "plate.h5"), os.path.join(tmp, "saved.h5"))
        env = dict(os.environ, JACOBI_FAULT="kill-during-write")
        # Slabs of 16 MiB are larger than this grid: the fault fires after the one slab.
        killed = jacobi(tmp, 2, ["solver.max_iterations=30"], env=env)
        if killed.returncode in (0, 3):
            raise Failure(f"JACOBI_FAULT=kill-during-write: the run should die, got exit "
                          f"{killed.returncode}")
        stale = temporaries(tmp, "plate.h5")
        if len(stale) != 1:
            raise Failure(f"the killed write left {stale}, expected one plate.h5.tmp.*: did it "
                          "write anything?")
        identical(tmp, "saved.h5", "plate.h5", "plate.h5 after a run killed while writing")
        with open(os.path.join(tmp, "saved.h5"), "rb") as f, \
                open(os.path.join(tmp, "plate.h5"), "rb") as g:
            if f.read() != g.read():
                raise Failure("plate.h5 changed under a run killed while writing")
        env = dict(os.environ, JACOBI_FAULT="fail-during-write")
        failed = jacobi(tmp, 2, ["solver.max_iterations=30"], env=env)
        expect_exit(failed, 1, "JACOBI_FAULT=fail-during-write")
        expect_in(failed.stderr, ["plate.h5.tmp", "injected failure"], "write failure")
        if failed.stderr.count("error:") != 1:
            raise Failure(f"a failed write must say so once, got:\n{failed.stderr}")
        # A failed checkpoint is agreed inside the loop, then again on its way out: still once.
        failed = jacobi(tmp, 3, ["solver.max_iterations=30", "output.checkpoint_interval=10"],
                        env=env)
        expect_exit(failed, 1, "JACOBI_FAULT=fail-during-write, checkpoint")
        expect_in(failed.stderr, ["plate.ckpt.h5.tmp", "injected failure"], "checkpoint failure")
        if failed.stderr.count("error:") != 1:
            raise Failure(f"a failed checkpoint must say so once, got:\n{failed.stderr}")
        if temporaries(tmp, "plate.h5") != stale:
            raise Failure(f"a failed write must remove its temporary, and no other: expected "
                          f"{stale}, got {temporaries(tmp, 'plate.h5')}")
        identical(tmp, "saved.h5", "plate.h5", "plate.h5 after a failed write")


# ---- start-up errors ----------------------------------------------------------------------------

def expect_config_error(p, words, what):
    expect_exit(p, 2, what)
    expect_in(p.stderr, words, what)
    if p.stderr.count("error:") != 1:
        raise Failure(f"{what}: expected exactly one error message, got:\n{p.stderr}")
    if "converged" in p.stdout:
        raise Failure(f"{what}: must fail before solving, got:\n{p.stdout}")


def case_bad_output_paths_exit_2():
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        os.mkdir(os.path.join(tmp, "adir"))
        cases = [("no/such/dir/out.h5", ["No such file or directory", "no/such/dir"]),
                 ("adir", ["it is a directory"]),
                 # a TOML escape: a newline in the path, written as one in the one-line message
                 ("no\\nsuch/out.h5", ['"no\\nsuch"', "No such file or directory"])]
        ro = os.path.join(tmp, "ro")
        os.mkdir(ro)
        mounted = False
        if os.geteuid() != 0:
            os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
            cases.append(("ro/out.h5", ["not writable"]))
        else:  # root writes into any directory: make it a read-only file system instead
            mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro],
                                     capture_output=True).returncode == 0
            if mounted:
                cases.append(("ro/out.h5", ["Read-only file system"]))
            else:
                print("note: could not mount a read-only file system; that case is skipped")
        try:
            for path, words in cases:
                write(tmp, "case.toml", plate(output=f'path = "{path}"'))
                for ranks in (1, 3):
                    p = jacobi(tmp, ranks)
                    expect_config_error(p, ["case.toml:23:", "output.path", *words],
                                        f"output.path = {path!r} on {ranks} ranks")
                    line = next(x for x in p.stderr.splitlines() if "error:" in x)
                    if not all(w in line for w in words):
                        raise Failure(f"output.path = {path!r}: the message spans lines:\n"
                                      f"{p.stderr}")
        finally:
            if mounted:
                subprocess.run(["umount", ro], check=False)
        if os.path.exists(os.path.join(tmp, "no")):
            raise Failure("a refused output created something")


def case_bad_restart_files_exit_2():
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=12, ny=10, output='path = "out.h5"'))
        good = jacobi(tmp, 2, ["solver.max_iterations=40", "output.path=good.h5"])
        expect_exit(good, 3, "the good file")
        other = jacobi(tmp, 1, ["solver.max_iterations=5", "output.path=other.h5", "grid.nx=13"])
        expect_exit(other, 3, "a file for another grid")
        write(tmp, "text.h5", "not an HDF5 file\n")
        with open(os.path.join(tmp, "good.h5"), "rb") as f:
            data = f.read()
        with open(os.path.join(tmp, "truncated.h5"), "wb") as f:
            f.write(data[:len(data) // 2])
        cases = [("missing.h5", [], ["No such file"]),
                 ("text.h5", [], ["not an HDF5 file"]),
                 ("other.h5", [], ["12 x 15", "grid.nx = 12"]),
                 ("truncated.h5", [], ["truncated"]),
                 ("good.h5", ["boundary.top=99"], ["boundary.top", "99"]),
                 ("good.h5", ["solver.max_iterations=40"], ["iteration 40", "max_iterations"])]
        py = h5py_python()
        if py:
            shutil.copy(os.path.join(tmp, "good.h5"), os.path.join(tmp, "nan.h5"))
            subprocess.run([py, "-c", "import h5py\nwith h5py.File('nan.h5', 'r+') as f: "
                            "f['temperature'][4, 5] = float('nan')"], cwd=tmp, check=True)
            cases.append(("nan.h5", [], ["[4][5]", "not finite"]))
        else:
            print("note: no Python with h5py: the non-finite file is not checked")
        for n, (path, sets, words) in enumerate(cases):
            for ranks in ((1, 3) if n == 0 else (3,)):  # rank 0 decides; one case on 1 rank
                p = jacobi(tmp, ranks, [f"initial.from_file={path}", *sets])
                expect_config_error(p, ["initial.from_file", "--set", path, *words],
                                    f"initial.from_file = {path!r} on {ranks} ranks")
        if os.path.exists(os.path.join(tmp, "out.h5")):
            raise Failure("a refused restart wrote out.h5")


def checksums(tmp, names):
    """{name: sha256 of its bytes} of the files (the victims a failing run must not touch)."""
    import hashlib
    out = {}
    for n in names:
        with open(os.path.join(tmp, n), "rb") as f:
            out[n] = hashlib.sha256(f.read()).hexdigest()
    return out


def expect_unchanged(tmp, before, what):
    after = checksums(tmp, before)
    changed = [n for n in before if before[n] != after[n]]
    if changed:
        raise Failure(f"{what}: changed {changed}")


# Each mutation of a good file: the h5py statements (f is the file open r+), then the words the
# one message must hold. Attributes of the wrong shape, type and range, values out of range.
HOSTILE_MUTATIONS = [
    # /temperature's values elsewhere: through an external link to a FIFO (fifo.h5, made
    # below), in external raw storage, in a virtual dataset (both refused whatever the files)
    ("extlink_fifo", "del f['temperature']; "
     "f['temperature'] = h5py.ExternalLink('fifo.h5', '/temperature')",
     ["/temperature is an external link to fifo.h5, which is a FIFO, not a regular file"]),
    ("extlink_abs_fifo", "del f['temperature']; "  # HDF5 then tries the base name nearby
     "f['temperature'] = h5py.ExternalLink('/nonexistent/fifo.h5', '/temperature')",
     ["/temperature is an external link to fifo.h5, which is a FIFO, not a regular file"]),
    ("external_storage", "s = f['temperature'].shape; del f['temperature']; "
     "f.create_dataset('temperature', s, 'f8', external=[('fifo.h5', 0, 8 * s[0] * s[1])])",
     ["its values are kept in other files (external storage)"]),
    ("virtual", "s = f['temperature'].shape; del f['temperature']; "
     "l = h5py.VirtualLayout(shape=s, dtype='f8'); "
     "l[:] = h5py.VirtualSource('fifo.h5', 'temperature', shape=s); "
     "f.create_virtual_dataset('temperature', l)", ["it is a virtual dataset"]),
    ("iterations_array", "del f.attrs['iterations']; f.attrs['iterations'] = np.arange(5000)",
     ["iterations attribute holds 5000 values, expected one"]),
    ("nx_array", "del f.attrs['nx']; f.attrs['nx'] = np.arange(5000)",
     ["nx attribute holds 5000 values, expected one"]),
    ("ny_2d", "del f.attrs['ny']; f.attrs['ny'] = np.ones((3, 3), dtype='i8')",
     ["ny attribute holds 9 values"]),
    ("iterations_empty", "del f.attrs['iterations']; f.attrs['iterations'] = h5py.Empty('i8')",
     ["iterations attribute holds 0 values"]),
    ("iterations_string", "del f.attrs['iterations']; f.attrs['iterations'] = 'forty'",
     ["iterations attribute is a string, expected an integer"]),
    ("nx_compound", "del f.attrs['nx']; f.attrs['nx'] = np.zeros(1, dtype=[('a', 'i8')])[0]",
     ["nx attribute is a compound"]),
    ("iterations_nan", "del f.attrs['iterations']; f.attrs['iterations'] = float('nan')",
     ["iterations attribute is nan, expected a whole number"]),
    ("iterations_fraction", "del f.attrs['iterations']; f.attrs['iterations'] = 15.7",
     ["iterations attribute is 15.699999999999999, expected a whole number"]),
    ("iterations_negative", "f.attrs['iterations'] = np.int64(-3)", ["iteration -3", "negative"]),
    ("iterations_uint64", "del f.attrs['iterations']; f.attrs['iterations'] = np.uint64(2**64 - 1)",
     ["iteration 9223372036854775807", "max_iterations"]),
    ("iterations_missing", "del f.attrs['iterations']", ["no iterations attribute"]),
    ("nx_float_mismatch", "del f.attrs['nx']; f.attrs['nx'] = 13.0",
     ["written for nx = 13"]),
    ("temperature_huge", "f['temperature'][4, 5] = 1.7e308", ["[4][5] is 1.7e+308", "1e+300"]),
    ("temperature_huge_negative", "f['temperature'][1, 1] = -1e301", ["[1][1] is -1e+301"]),
    ("temperature_int", "t = f['temperature'][...]; del f['temperature']; "
     "f['temperature'] = t.astype('i4')", ["/temperature is not float64"]),
    ("temperature_3d", "t = f['temperature'][...]; del f['temperature']; "
     "f['temperature'] = t.reshape(1, *t.shape)", ["/temperature has 3 dimensions"]),
    ("temperature_scalar", "del f['temperature']; f['temperature'] = 1.0",
     ["/temperature has 0 dimensions"]),
    ("temperature_group", "del f['temperature']; f.create_group('temperature')",
     ["no /temperature dataset"]),
    ("history_3_columns", "h = f['history'][:, :3]; del f['history']; f['history'] = h",
     ["/history is not a float array of 1 to 1025 rows of 5 columns"]),
    ("history_stride_3", "f['history'].attrs['stride'] = 3",
     ["/history has stride 3", "expected a power of two"]),
    ("history_beyond", "f['history'][-1, 0] = 1e6",
     ["/history holds", "up to iteration 1000000", "up to iterations = 40"]),
]


CHEBYSHEV_MUTATIONS = [
    ("start_array", "del f.attrs['chebyshev_start']; f.attrs['chebyshev_start'] = np.arange(5000)",
     ["chebyshev_start attribute holds 5000 values, expected one"]),
    ("start_string", "del f.attrs['chebyshev_start']; f.attrs['chebyshev_start'] = 'zero'",
     ["chebyshev_start attribute is a string"]),
    ("start_missing", "del f.attrs['chebyshev_start']", ["no chebyshev_start attribute"]),
    ("start_late", "f.attrs['chebyshev_start'] = np.int64(40)",
     ["chebyshev_start = 40, expected from 0 to iterations - 1 = 39"]),
    ("start_negative", "f.attrs['chebyshev_start'] = np.int64(-3)", ["chebyshev_start = -3"]),
    ("previous_shape", "del f['previous']; f['previous'] = np.zeros((5, 5))",
     ["/previous is 5 x 5"]),
    ("previous_nan", "f['previous'][3, 3] = np.nan", ["/previous[3][3] is nan: not finite"]),
    ("previous_ring", "f['previous'][0, 4] = 7.0", ["boundary point /previous[0][4]"]),
]


def case_hostile_chebyshev_restart_files_exit_2():
    """A Chebyshev state's own objects, /previous and chebyshev_start, are checked like the rest
    of a restart file: shape, class, range, finite values and the configured ring."""
    py = h5py_python()
    if not py:
        print("skipped: no Python with h5py: the malformed Chebyshev files are not made")
        return
    cheb = "solver.method=chebyshev"
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=12, ny=10, output='path = "out.h5"'))
        good = jacobi(tmp, 2, [cheb, "solver.max_iterations=40", "output.path=good.h5"])
        expect_exit(good, 3, "the good Chebyshev file")
        script = ["import shutil, h5py, numpy as np"]
        for name, mutation, _ in CHEBYSHEV_MUTATIONS:
            script.append(f"shutil.copy('good.h5', '{name}.h5')")
            script.append(f"with h5py.File('{name}.h5', 'r+') as f:\n    {mutation}")
        subprocess.run([py, "-c", "\n".join(script)], cwd=tmp, check=True)
        for n, (name, _, words) in enumerate(CHEBYSHEV_MUTATIONS):
            for ranks in ((1, 3) if n % 3 == 0 else (2,)):
                what = f"chebyshev from {name}.h5 on {ranks} ranks"
                p = jacobi(tmp, ranks, [cheb, f"initial.from_file={name}.h5"], timeout=60)
                expect_config_error(p, ["initial.from_file", f"{name}.h5", *words], what)
        if os.path.exists(os.path.join(tmp, "out.h5")):
            raise Failure("a refused restart wrote out.h5")


def case_hostile_restart_files_exit_2():
    """Files jacobi did not write: every attribute is checked for shape, class and range before
    it is read (no overflow, no silent rounding), every value for |T| <= 1e300; special files
    are never opened. Exit 2, one message, no hang, the file itself untouched."""
    py = h5py_python()
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=12, ny=10, output='path = "out.h5"'))
        good = jacobi(tmp, 2, ["solver.max_iterations=40", "output.path=good.h5"])
        expect_exit(good, 3, "the good file")
        cases = []
        if py:
            script = ["import shutil, h5py, numpy as np"]
            for name, mutation, _ in HOSTILE_MUTATIONS:
                script.append(f"shutil.copy('good.h5', '{name}.h5')")
                script.append(f"with h5py.File('{name}.h5', 'r+') as f:\n    {mutation}")
            subprocess.run([py, "-c", "\n".join(script)], cwd=tmp, check=True)
            cases += [(f"{name}.h5", words) for name, _, words in HOSTILE_MUTATIONS]
        else:
            print("skipped: no Python with h5py: the malformed attribute files are not made")
        os.mkfifo(os.path.join(tmp, "fifo.h5"))
        os.symlink("fifo.h5", os.path.join(tmp, "link-to-fifo.h5"))
        os.mkdir(os.path.join(tmp, "dir.h5"))
        cases += [("fifo.h5", ["it is a FIFO, not a regular file"]),
                  ("link-to-fifo.h5", ["it is a FIFO"]),
                  ("/dev/null", ["it is a character device"]),
                  ("dir.h5", ["it is a directory"])]
        victims = [n for n in os.listdir(tmp) if n.endswith(".h5") and
                   os.path.isfile(os.path.join(tmp, n)) and
                   not stat.S_ISFIFO(os.lstat(os.path.join(tmp, n)).st_mode)]
        before = checksums(tmp, victims)
        for n, (path, words) in enumerate(cases):
            for ranks in ((1, 3) if n % 5 == 0 else (2,)):
                what = f"initial.from_file = {path!r} on {ranks} ranks"
                p = jacobi(tmp, ranks, [f"initial.from_file={path}"], timeout=60)
                expect_config_error(p, ["initial.from_file", path, *words], what)
        expect_unchanged(tmp, before, "the restart files")
        if os.path.exists(os.path.join(tmp, "out.h5")):
            raise Failure("a refused restart wrote out.h5")
        # A whole-number float count is a count: accepted, and the run continues from it.
        if py:
            subprocess.run([py, "-c", "import shutil, h5py\nshutil.copy('good.h5', 'f.h5')\n"
                            "with h5py.File('f.h5', 'r+') as f:\n    del f.attrs['iterations']"
                            "\n    f.attrs['iterations'] = 40.0"], cwd=tmp, check=True)
            a = jacobi(tmp, 2, ["initial.from_file=good.h5", "output.path=a.h5",
                                "solver.max_iterations=60"])
            b = jacobi(tmp, 2, ["initial.from_file=f.h5", "output.path=b.h5",
                                "solver.max_iterations=60"])
            expect_exit(a, 3, "continued from good.h5")
            expect_exit(b, 3, "continued from a float iterations = 40.0")
            identical(tmp, "a.h5", "b.h5", "iterations 40 against 40.0")


# ---- hostile environments: links, full disks, racing runs (issue 17) ------------------------

def mount_namespace_works():
    """Whether this process may mount in a private mount namespace (root, `unshare -m`)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


def in_namespace(tmp, mounts, cmd, env=None, timeout=TIMEOUT):
    """Run cmd in tmp inside a private mount namespace after `mount` commands (lists of
    arguments): the mounts vanish with the namespace, whatever happens."""
    script = " && ".join(" ".join(shlex.quote(a) for a in ["mount", *m]) for m in mounts)
    script += " && exec " + " ".join(shlex.quote(a) for a in cmd)
    try:
        return subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=tmp, capture_output=True,
                              text=True, errors="replace", timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout} s (a hang): {script}")


def expect_one_error(p, code, words, what):
    expect_exit(p, code, what)
    expect_in(p.stderr, words, what)
    errors = [line for line in p.stderr.splitlines() if "error:" in line or "fatal:" in line]
    if len(errors) != 1:
        raise Failure(f"{what}: expected one message on one line, got:\n{p.stderr}")
    if "Segmentation" in p.stderr or "signal" in p.stderr:
        raise Failure(f"{what}: crashed:\n{p.stderr}")


def case_links_at_temporary_names_clobber_nothing():
    """Symbolic and hard links at every name a temporary once had (PATH.tmp, the sidecar's, the
    checkpoint's): the run writes its own fresh temporaries, renames them over the final
    names, and every victim the links point to keeps its bytes. A link at a final name is not
    jacobi's to replace: refused at start-up, the link and its target as they were."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=20, ny=14, check=5, max_iterations=60,
                                      output='path = "out.h5"\ncheckpoint_interval = 20'))
        for n in range(6):
            write(tmp, f"victim{n}", f"precious {n}\n" * 100)
        os.symlink("victim0", os.path.join(tmp, "out.h5.tmp"))
        os.link(os.path.join(tmp, "victim1"), os.path.join(tmp, "out.xmf.tmp"))
        os.symlink("victim2", os.path.join(tmp, "out.ckpt.h5.tmp"))
        os.symlink("victim3", os.path.join(tmp, "out.ckpt.xmf.tmp"))
        victims = [f"victim{n}" for n in range(6)]
        before = checksums(tmp, victims)
        for ranks, sets in ((1, []), (3, []), (2, ["output.mode=parallel"])):
            p = jacobi(tmp, ranks, sets)
            if p.returncode == 2 and "parallel HDF5" in p.stderr:
                print("note: this HDF5 is serial: the parallel-mode write is not checked")
                continue
            expect_exit(p, 3, f"links at the temporary names, {ranks} ranks {sets}")
            expect_unchanged(tmp, before, f"the links' targets after {ranks} ranks {sets}")
            for name in ("out.h5", "out.xmf", "out.ckpt.h5", "out.ckpt.xmf"):
                if os.path.islink(os.path.join(tmp, name)):
                    raise Failure(f"{name} is still a link: the result was written through it")
            for name, target in (("out.h5.tmp", "victim0"), ("out.ckpt.h5.tmp", "victim2"),
                                 ("out.ckpt.xmf.tmp", "victim3")):
                if os.readlink(os.path.join(tmp, name)) != target:
                    raise Failure(f"the link {name} was replaced or removed")
            if os.stat(os.path.join(tmp, "out.xmf.tmp")).st_nlink != 2:
                raise Failure("the hard link out.xmf.tmp was removed")
            if attribute(tmp, "out.h5", "iterations") != "60":
                raise Failure("out.h5 is not the run's result")
            left = [f for f in os.listdir(tmp) if ".tmp." in f]
            if left:
                raise Failure(f"temporaries left behind: {left}")
        # links at the final names: a symbolic link, a hard link to a file that is not
        # jacobi's, a dangling link
        for name, make, words in (
                ("out.h5", lambda q: os.symlink("victim4", q), ["out.h5", "symbolic link"]),
                ("out.xmf", lambda q: os.link(os.path.join(tmp, "victim5"), q),
                 ["its sidecar out.xmf", "not a sidecar jacobi wrote"]),
                ("out.ckpt.h5", lambda q: os.symlink("/nonexistent/dangling", q),
                 ["its checkpoint out.ckpt.h5", "symbolic link"])):
            for old in ("out.h5", "out.xmf", "out.ckpt.h5", "out.ckpt.xmf"):
                os.unlink(os.path.join(tmp, old)) if os.path.lexists(
                    os.path.join(tmp, old)) else None
            make(os.path.join(tmp, name))
            link = os.readlink(os.path.join(tmp, name)) if os.path.islink(
                os.path.join(tmp, name)) else None
            for ranks in (1, 2):
                p = jacobi(tmp, ranks, [])
                expect_config_error(p, words, f"a link at {name}, {ranks} ranks")
            expect_unchanged(tmp, before, f"the links' targets after a link at {name}")
            if link is not None and os.readlink(os.path.join(tmp, name)) != link:
                raise Failure(f"the link at {name} was replaced")


def case_files_not_jacobis_at_output_names_are_refused():
    """A file jacobi did not write is never replaced by a result, a checkpoint or a sidecar:
    a user's notes, the config itself, the source file, a foreign XDMF file, an HDF5 file
    without jacobi's attributes: exit 2 at start-up, the file's bytes unchanged. Its own
    result and sidecar, from an earlier run, are replaced."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=12, ny=10, max_iterations=30, output='path = "out.h5"'))
        write(tmp, "notes.txt", "my notes\n")
        write(tmp, "mine.xmf", '<?xml version="1.0" ?>\n<Xdmf Version="2.0"></Xdmf>\n')
        write(tmp, "empty.ckpt.h5", "")
        py = h5py_python()
        if py:
            subprocess.run([py, "-c", "import h5py, numpy as np\n"
                            "with h5py.File('foreign.h5', 'w') as f:\n"
                            "    f['temperature'] = np.zeros((12, 14))\n"
                            "    f.attrs['iterations'] = 3"], cwd=tmp, check=True)
        names = ["notes.txt", "case.toml", "mine.xmf", "empty.ckpt.h5"] + (
            ["foreign.h5"] if py else [])
        before = checksums(tmp, names)
        cases = [("output.path=notes.txt", ["output.path \"notes.txt\"", "not a result"]),
                 ("output.path=case.toml", ["output.path \"case.toml\"", "not a result"]),
                 ("output.path=mine.h5", ["its sidecar mine.xmf", "not a sidecar jacobi wrote"]),
                 ("output.path=empty.h5", ["its checkpoint empty.ckpt.h5",
                                           "not a result or checkpoint"])]
        if py:
            cases.append(("output.path=foreign.h5", ["foreign.h5", "not a result or checkpoint"]))
        for n, (kv, words) in enumerate(cases):
            for ranks in ((1, 2) if n % 2 == 0 else (2,)):
                p = jacobi(tmp, ranks, [kv])
                expect_config_error(p, words, f"{kv} on {ranks} ranks")
        expect_unchanged(tmp, before, "the files that are not jacobi's")
        for k in range(2):  # jacobi's own, from the run before: replaced
            p = jacobi(tmp, 2, [f"solver.max_iterations={30 + k}"])
            expect_exit(p, 3, f"run {k + 1} over its own out.h5")
            if attribute(tmp, "out.h5", "iterations") != str(30 + k):
                raise Failure(f"run {k + 1}: out.h5 is not its result")


def can_mount_a_small_tmpfs():
    """Whether a case may mount a tmpfs in a private namespace; says why not, visibly."""
    if mount_namespace_works():
        return True
    print("skipped: needs root and a private mount namespace (unshare -m) to mount a small tmpfs")
    return False


def case_disk_full_during_writes_exits_1_cleanly():
    """A 2 MiB file system fills up while the result, a checkpoint or a parallel write is
    written: exit 1, one message on one line (HDF5's reason has a newline), no crash at
    MPI_Finalize (a handle left open), no temporary left, the previous files untouched."""
    if not can_mount_a_small_tmpfs():
        return
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        small = os.path.join(tmp, "small")
        os.mkdir(small)
        write(tmp, "case.toml", plate(nx=600, ny=600, tol=1e-12, max_iterations=20, check=5,
                                      output='path = "small/out.h5"'))
        mount = ["-t", "tmpfs", "-o", "size=2m", "tmpfs", small]
        variants = [(1, []), (3, []), (2, ["output.owner_map=true"]),
                    (3, ["output.checkpoint_interval=10"]), (2, ["output.mode=parallel"]),
                    (1, ["output.mode=parallel", "output.checkpoint_interval=5"])]
        for ranks, sets in variants:
            # First a small result, then the large run that cannot fit beside it.
            cmd = ["sh", "-c", " ".join(shlex.quote(a) for a in command(
                1, ["grid.nx=20", "grid.ny=20"])) + " >/dev/null; " +
                " ".join(shlex.quote(a) for a in command(ranks, sets)) +
                "; rc=$?; sha256sum small/*; ls small; exit $rc"]
            p = in_namespace(tmp, [mount], cmd)
            what = f"disk full, {ranks} ranks {sets}"
            if p.returncode == 2 and "parallel HDF5" in p.stderr:
                print(f"note: this HDF5 is serial: {what} is not checked")
                continue
            expect_one_error(p, 1, ["No space left on device", "small/out."], what)
            listing = p.stdout.split()
            if sorted(f for f in listing if f.startswith("out.") and "/" not in f) != \
                    ["out.h5", "out.xmf"]:
                raise Failure(f"{what}: expected only the small run's out.h5 and out.xmf, "
                              f"got:\n{p.stdout}")


def case_failed_sidecar_leaves_both_old_files():
    """The sidecar's temporary is written before either rename: when it cannot be created (no
    inode left for it, found only after the compute), out.h5 and out.xmf both stay the
    previous run's, and no temporary is left."""
    if not can_mount_a_small_tmpfs():
        return
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        small = os.path.join(tmp, "small")
        os.mkdir(small)
        write(tmp, "case.toml", plate(nx=20, ny=14, output='path = "small/out.h5"'))
        # Four inodes: the root, then out.h5 and out.xmf of the first run, and one temporary.
        mount = ["-t", "tmpfs", "-o", "size=8m,nr_inodes=4", "tmpfs", small]
        q = lambda c: " ".join(shlex.quote(a) for a in c)
        for ranks in (1, 3):
            cmd = ["sh", "-c", q(command(1, ["solver.max_iterations=5"])) + " >/dev/null; "
                   "sha256sum small/out.h5 small/out.xmf && " +
                   q(command(ranks, ["solver.max_iterations=9"])) +
                   "; rc=$?; sha256sum small/out.h5 small/out.xmf; ls small; exit $rc"]
            p = in_namespace(tmp, [mount], cmd)
            what = f"no inode for the sidecar's temporary, {ranks} ranks"
            expect_one_error(p, 1, ["out.xmf", "No space left on device"], what)
            sums = [line for line in p.stdout.splitlines() if "small/out." in line]
            if len(sums) != 4 or sums[:2] != sums[2:]:
                raise Failure(f"{what}: out.h5 or out.xmf changed:\n{p.stdout}")
            if ".tmp." in p.stdout:
                raise Failure(f"{what}: a temporary was left:\n{p.stdout}")


def case_racing_runs_commit_one_whole_result():
    """Two runs writing the same output.path at once, with and without HDF5's file locking:
    both succeed, each writes its own temporary, and the file left is one run's whole
    result: its attributes (config, iterations) and its field from the same run."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=500, ny=500, tol=1e-300, max_iterations=40,
                                      output='path = "out.h5"\ncheckpoint_interval = 20'))
        refs = {}
        for top in ("100.0", "7.0"):
            r = jacobi(tmp, 1, [f"boundary.top={top}", f"output.path=ref{top}.h5"])
            expect_exit(r, 3, f"reference with top = {top}")
            refs[top] = f"ref{top}.h5"
        for locking in (None, "FALSE"):
            env = dict(os.environ)
            if locking:
                env["HDF5_USE_FILE_LOCKING"] = locking
            for attempt in range(3):
                procs = [subprocess.Popen(command(1, [f"boundary.top={top}"]), cwd=tmp, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True, errors="replace")
                         for top in refs]
                results = [finish(p, "a racing run") for p in procs]
                what = f"racing runs (HDF5_USE_FILE_LOCKING={locking}, attempt {attempt})"
                for r in results:
                    expect_exit(r, 3, what)
                config = tool(["h5dump", "-a", "config", "out.h5"], tmp).stdout
                m = re.search(r"top = ([0-9.]+)", config)
                if not m or m.group(1) not in refs:
                    raise Failure(f"{what}: out.h5 has no config with a known top:\n{config}")
                identical(tmp, refs[m.group(1)], "out.h5",
                          f"{what}: out.h5's field against the run its config names")
                ckpt_config = tool(["h5dump", "-a", "config", "out.ckpt.h5"], tmp).stdout
                c = re.search(r"top = ([0-9.]+)", ckpt_config)
                corner = tool(["h5dump", "-d", "/temperature", "-s", "0,0", "-c", "1,1", "-m",
                               "%.17g", "out.ckpt.h5"], tmp).stdout
                v = re.search(r"\(0,0\): ([0-9.eE+-]+)", corner)
                if not c or not v or float(c.group(1)) != float(v.group(1)):
                    raise Failure(f"{what}: out.ckpt.h5 mixes runs: config top "
                                  f"{c and c.group(1)}, top edge {v and v.group(1)}")
                left = [f for f in os.listdir(tmp) if ".tmp." in f]
                if left:
                    raise Failure(f"{what}: temporaries left behind: {left}")


def case_xdmf_sidecar_escapes_any_file_name():
    """Output names with XML's reserved characters give a sidecar that is well-formed XML and
    names the file exactly; pvbatch (if installed) reads the field through it."""
    import xml.etree.ElementTree as ET
    names = ['a&b.h5', 'l<t>g.h5', 'q"uote\'s.h5', 'sp ace.h5', 'x:y.h5', 'C:colon:s&.h5']
    pvbatch = shutil.which("pvbatch")
    check_script = os.path.join(e2e.ARGS.source, "tests", "pvbatch_check.py")
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-io-") as tmp:
        write(tmp, "case.toml", plate(nx=9, ny=7, output="owner_map = true"))
        for name in names:
            p = jacobi(tmp, 2, [f"output.path={json_string(name)}"])
            expect_exit(p, 0, f"output.path = {name!r}")
            xmf = name[:-3] + ".xmf"
            try:
                root = ET.parse(os.path.join(tmp, xmf)).getroot()
            except ET.ParseError as e:
                raise Failure(f"{xmf} is not well-formed XML: {e}")
            if ":" in name:  # by offset: an HDF reference cannot hold a ':' in the name
                items = [(d.text.strip(), d.get("Seek")) for d in root.iter("DataItem")
                         if d.get("Format") == "Binary"]
                if [i[0] for i in items] != [name, name] or not all(i[1] for i in items):
                    raise Failure(f"{xmf}: the binary data items are {items}")
            else:
                items = [d.text.strip() for d in root.iter("DataItem")
                         if d.get("Format") == "HDF"]
                if items != [f"{name}:/temperature", f"{name}:/owner"]:
                    raise Failure(f"{xmf}: the HDF data items are {items}")
            if pvbatch:
                v = subprocess.run([pvbatch, check_script, xmf, name], cwd=tmp,
                                   capture_output=True, text=True, timeout=300, errors="replace")
                if v.returncode != 0 or "FAIL" in v.stdout or v.stdout.count("ok ") < 2:
                    raise Failure(f"pvbatch on {xmf}: exit {v.returncode}\n{v.stdout[-2000:]}"
                                  f"\n{v.stderr[-2000:]}")
        if not pvbatch:
            print("note: pvbatch not found: the sidecars were checked as XML only")


def json_string(text):
    """text as a TOML basic string (JSON's escapes are TOML's for these characters)."""
    import json
    return json.dumps(text)


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    e2e.CASES = CASES
    sys.exit(e2e.main())
