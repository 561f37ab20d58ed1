#!/usr/bin/env python3
"""The failure catalogue: every bad input gets one clear message and the
documented exit code, promptly, on every rank count, and leaves no file under
the output name.

Each case: the config text (or none), extra arguments, the expected exit code,
words the one message must hold. Every case runs on 2 ranks (the ranks must
agree: one message, one exit code) with a time limit: a hang is a failure; the
single-rank path is e2e.py's. CTest runs one class of cases per test.

usage: e2e_failures.py --jacobi PATH --mpiexec PATH (--list | CLASS)
"""
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import e2e
from e2e import Failure, expect_exit, expect_in

GOOD = """[grid]
nx = 12
ny = 9
[solver]
tolerance = 1e-6
[output]
path = "out.h5"
"""


def with_line(text, old, new):
    if old not in text:
        raise AssertionError(f"{old!r} not in the base config")
    return text.replace(old, new, 1)


def check(config, words, code=2, args=(), ranks=(2,), name="case.toml", raw=None):
    """Run the case on each rank count; one message with `words`, exit `code`."""
    for n in ranks:
        with tempfile.TemporaryDirectory(prefix="jacobi-fail-") as tmp:
            cmd = [e2e.ARGS.mpiexec, "-n", str(n), e2e.ARGS.jacobi, *args]
            if config is not None or raw is not None:
                path = os.path.join(tmp, name)
                with open(path, "wb") as f:
                    f.write(raw if raw is not None else config.encode("utf-8"))
                cmd.append(name)
            # a failure must come before any solving; one that waited (a rank in a collective
            # the others left) is a hang, which run_command reports: no wall-time limit here
            p = e2e.run_command(cmd, tmp, timeout=60)
            what = f"{' '.join(cmd[3:])} on {n} rank{'s' if n > 1 else ''}"
            expect_exit(p, code, what)
            expect_in(p.stderr, words, what)
            errors = [line for line in p.stderr.splitlines() if "error:" in line]
            if len(errors) != 1:
                raise Failure(f"{what}: expected one error message, got:\n{p.stderr}")
            left = [f for f in os.listdir(tmp) if f.startswith("out.h5")]
            if left:
                raise Failure(f"{what}: left {left} under the output name")


# ---- config files ---------------------------------------------------------------------------

def case_missing_empty_unreadable_binary_files():
    check(None, ["cannot read config file 'nope.toml'", "No such file"], args=("nope.toml",))
    check("", ["case.toml", "grid.nx is required"])
    check(None, ["cannot read config file '/proc/self/mem'"], args=("/proc/self/mem",))
    check(None, ["cannot read config file '.'", "Is a directory"], args=(".",))
    check(None, ["binary file (NUL byte at offset 7)"], raw=b"[grid]\n\x00\x01\x02nx = 3\n")
    check(None, ["case.toml:1:", "UTF-8"], raw=b"[gr\xffid]\nnx = 3\n")
    check(None, ["larger than 1048576 bytes"], raw=b"# " + b"a" * (1 << 20) + b"\n")


def case_fifo_config_is_refused_not_a_hang():
    """A FIFO nobody writes as the config: opening it would wait for a writer for ever; it is
    refused at once (a pipe with a writer, e.g. bash's <(...), is still read)."""
    with tempfile.TemporaryDirectory(prefix="jacobi-fail-") as tmp:
        os.mkfifo(os.path.join(tmp, "fifo.toml"))
        for n in (1, 2):
            cmd = [e2e.ARGS.mpiexec, "-n", str(n), e2e.ARGS.jacobi, "fifo.toml"]
            p = e2e.run_command(cmd, tmp, timeout=60)
            expect_exit(p, 2, f"a FIFO config on {n} ranks")
            expect_in(p.stderr, ["config file 'fifo.toml' is a FIFO with nothing written to it"],
                      "a FIFO config")
        # mpiexec passes a rank no inherited descriptor: the pipe is for a run without it
        piped = subprocess.run(["bash", "-c", f"{e2e.ARGS.jacobi} --quiet --set output.path=p.h5 "
                                "<(printf '[grid]\\nnx = 5\\nny = 4\\n[boundary]\\ntop = 1.0\\n')"],
                               cwd=tmp, capture_output=True, text=True, timeout=60)
        expect_exit(piped, 0, "a config through a pipe")
        expect_in(piped.stdout, ["converged after"], "a config through a pipe")


# ---- TOML syntax ---------------------------------------------------------------------------

def case_toml_syntax_errors():
    check(with_line(GOOD, 'path = "out.h5"', 'path = "out.h5'), ["case.toml:7:", "unterminated"])
    check(with_line(GOOD, 'path = "out.h5"', 'path = "out\\q.h5"'), ["case.toml:7:", "escape"])
    check(GOOD + "[grid]\n", ["case.toml:8:", "[grid]", "line 1"])
    check(with_line(GOOD, "ny = 9", "ny = 9\nnx = 13"), ["case.toml:4:", "duplicate key grid.nx"])
    check(with_line(GOOD, "ny = 9", "ny = 9 9"), ["case.toml:3:", "got"])
    check(with_line(GOOD, "ny = 9", "ny ="), ["case.toml:3:"])
    check(with_line(GOOD, "ny = 9", "ny 9"), ["case.toml:3:", "="])
    check(with_line(GOOD, "[solver]", "[solver"), ["case.toml:4:"])
    check("[" * 5000 + "\n", ["case.toml:1:"])
    check(with_line(GOOD, "ny = 9", "ny = " + "[" * 5000), ["case.toml:3:"])
    check(with_line(GOOD, "[solver]", "[" + ".".join(["a"] * 60) + "]"),
          ["case.toml:5:", "longer than 128 bytes"])
    check(with_line(GOOD, "ny = 9", "ny = 9 " + "x" * 500000), ["case.toml:3:", "..."])
    check(with_line(GOOD, "[solver]", "x = { a = 1 }\n[solver]"),
          ["case.toml:4:", "unknown section [grid.x]"])
    check(with_line(GOOD, "[solver]", "[[solver]]"), ["not supported"])
    check(with_line(GOOD, 'path = "out.h5"', 'path = """out.h5'),
          ["unterminated multi-line string"])


# ---- names and types ---------------------------------------------------------------------------

def case_unknown_sections_and_keys():
    check(with_line(GOOD, "[solver]", "[solvr]"), ["case.toml:4:", "unknown section [solvr]",
                                                   "did you mean [solver]"])
    check(with_line(GOOD, "tolerance", "tolerence"), ["case.toml:5:", "solver.tolerence",
                                                      "did you mean solver.tolerance"])
    check(with_line(GOOD, "[solver]", "[plotting]\ncolour = 1\n[solver]"),
          ["case.toml:4:", "unknown section [plotting]"])
    check("nx = 3\n" + GOOD.replace("nx = 12\n", ""), ["case.toml:1:", "grid.nx"])


def case_wrong_types():
    check(with_line(GOOD, "nx = 12", 'nx = "12"'), ["case.toml:2: grid.nx must be", 'got "12"'])
    check(with_line(GOOD, "nx = 12", "nx = 12.0"), ["case.toml:2: grid.nx must be"])
    check(with_line(GOOD, "tolerance = 1e-6", "tolerance = true"),
          ["case.toml:5: solver.tolerance must be a number > 0"])
    check(GOOD + '[decomposition]\npartitioner = 3\n', ["case.toml:9: decomposition.partitioner"])
    check(GOOD + '[decomposition]\nprocess_grid = 2\n', ["case.toml:9: decomposition.process_grid"])
    check(GOOD + '[output]\n', ["case.toml:8:", "[output]"])
    check(with_line(GOOD, 'path = "out.h5"', "path = 5"), ["case.toml:7: output.path must be"])


# ---- out-of-range and absurd values -------------------------------------------------------------

def case_out_of_range_and_absurd_values():
    check(with_line(GOOD, "nx = 12", "nx = -5"), ["case.toml:2: grid.nx must be", 'got "-5"'])
    check(with_line(GOOD, "ny = 9", "ny = 0"), ["case.toml:3: grid.ny must be"])
    check(with_line(GOOD, "nx = 12", "nx = 9223372036854775807"), ["grid.nx", "too large"])
    check(with_line(GOOD, "nx = 12", "nx = 99999999999999999999"), ["case.toml:2:"])
    check(with_line(with_line(GOOD, "nx = 12", "nx = 10000000"), "ny = 9", "ny = 10000000"),
          ["case.toml:2: grid.nx x grid.ny = 10000000 x 10000000: the grid needs", "GiB"])
    for bad in ("0", "-1e-3", "nan", "inf", "0.0"):
        check(with_line(GOOD, "tolerance = 1e-6", f"tolerance = {bad}"),
              ["case.toml:5: solver.tolerance must be a number > 0"])
    check(GOOD + "max_iterations = 0\n", ["solver", "max_iterations"])
    check(with_line(GOOD, "[solver]", "[solver]\ncheck_interval = 0"),
          ["case.toml:5: solver.check_interval must be"])
    check(GOOD + "[boundary]\ntop = 1e301\n", ["case.toml:9: boundary.top must be"])
    check(GOOD + "[decomposition]\nblock_size = 0\n", ["case.toml:9: decomposition.block_size"])
    check(GOOD + "[decomposition]\nprocess_grid = [-1, 1]\n",
          ["case.toml:9: decomposition.process_grid"])
    check(GOOD + "[decomposition]\nprocess_grid = [2, 3]\n",
          ["case.toml:9:", "process_grid", "6 processes"], ranks=(1, 4))
    check(GOOD + "[decomposition]\nprocess_grid = [2, 0]\n",
          ["case.toml:9:", "process_grid", "3"], ranks=(3,))
    check(GOOD + "[halo]\nranks_per_node = -1\n", ["case.toml:9: halo.ranks_per_node"])
    check(with_line(with_line(GOOD, "nx = 12", "nx = 1"), "ny = 9", "ny = 2"),
          ["3 ranks for only 2 interior points"], ranks=(3,))


def case_misspelt_values_get_did_you_mean():
    """Values get "did you mean" like keys, from the file and from --set; an override's
    refusal names its key."""
    check(None, ['decomposition.partitioner must be one of', 'got "cylic"',
                 'did you mean "cyclic"?'],
          args=("--set", "decomposition.partitioner=cylic"), raw=GOOD.encode())
    check(GOOD.replace('tolerance = 1e-6', 'tolerance = 1e-6\nmethod = "chebychev"'),
          ['case.toml:', 'solver.method must be one of', 'did you mean "chebyshev"?'])
    check(None, ['got "zzz"'], args=("--set", "halo.mode=zzz"), raw=GOOD.encode())
    p = e2e.run(GOOD, ranks=1, args=("--set", "halo.mode=zzz"))
    if "did you mean" in p.stderr:
        raise Failure(f"nothing is close to zzz, yet:\n{p.stderr}")


def case_set_malformed():
    for arg, words in (("solver.tolerance", ["--set solver.tolerance", "="]),
                       ("=5", ["--set =5", "empty"]),
                       ("tolerance=1", ["--set tolerance=1", "section"]),
                       ("solver.tolerence=1", ["did you mean solver.tolerance"]),
                       ("solver.tolerance=abc", ['--set solver.tolerance=abc: solver.tolerance '
                                                 'must be a number > 0, got "abc"']),
                       ("grid.nx=", ["--set grid.nx=", "grid.nx"]),
                       ("grid.nx=1.5", ["grid.nx must be"]),
                       ("decomposition.partitioner=diagonal", ["decomposition.partitioner",
                                                               '"block"'])):
        check(GOOD, words, args=("--set", arg))


# ---- a rank killed from outside ------------------------------------------------------------------

def case_kill_9_of_one_rank_ends_the_job():
    """mpirun's own behaviour: one rank dies, the job ends (no hang)."""
    long_run = GOOD.replace("nx = 12", "nx = 400").replace("ny = 9", "ny = 400").replace(
        "tolerance = 1e-6", "tolerance = 1e-12\nmax_iterations = 100000000") + \
        "[boundary]\ntop = 1.0\n"  # a hot edge: otherwise the zero field converges at once
    with tempfile.TemporaryDirectory(prefix="jacobi-kill-") as tmp:
        with open(os.path.join(tmp, "case.toml"), "w") as f:
            f.write(long_run)
        p = subprocess.Popen([e2e.ARGS.mpiexec, "-n", "3", e2e.ARGS.jacobi, "case.toml"],
                             cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            victim = None
            deadline = time.monotonic() + 300  # a hang guard only
            while victim is None and time.monotonic() < deadline:
                time.sleep(0.5)
                if p.poll() is not None:
                    raise Failure(f"the job ended before a rank was killed:\n{p.stderr.read()}")
                ranks = e2e.rank_pids(p.pid)
                victim = ranks[-1] if len(ranks) >= 3 else None
            if victim is None:
                raise Failure("the ranks never started")
            time.sleep(1.0)
            if p.poll() is not None:
                raise Failure(f"the job ended before a rank was killed:\n{p.stderr.read()}")
            os.kill(victim, signal.SIGKILL)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                raise Failure("the job hung after one rank was killed")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        if p.returncode == 0:
            raise Failure("expected a non-zero exit after a rank was killed")


# ---- names the run would write (issue 17) --------------------------------------------------

# A run that would take minutes to solve: a refusal must come before it (a time limit tells).
SLOW = GOOD.replace("nx = 12", "nx = 2000").replace("ny = 9", "ny = 2000").replace(
    "tolerance = 1e-6", "tolerance = 1e-300\nmax_iterations = 100000000") + \
    "[boundary]\ntop = 1.0\n"


def file_state(path):
    """What a victim is: its kind and, for a regular file, its bytes' checksum."""
    import hashlib
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            return ("file", hashlib.sha256(f.read()).hexdigest())
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    return (stat.S_IFMT(st.st_mode), st.st_rdev)


def refused_at_start_up(make, sets, words, ranks=(1, 3)):
    """make(tmp) puts special files in a fresh directory and returns the victims' names; the
    run (SLOW, with --set sets) must be refused at once: exit 2, one message with `words`,
    and every victim as it was."""
    for n in ranks:
        with tempfile.TemporaryDirectory(prefix="jacobi-fail-") as tmp:
            victims = make(tmp)
            before = {v: file_state(os.path.join(tmp, v)) for v in victims}
            with open(os.path.join(tmp, "case.toml"), "w") as f:
                f.write(SLOW)
            cmd = [e2e.ARGS.mpiexec, "-n", str(n), e2e.ARGS.jacobi]
            for kv in sets:
                cmd += ["--set", kv]
            cmd.append("case.toml")
            # SLOW never ends by itself: a refusal that came after solving would be a hang
            p = e2e.run_command(cmd, tmp, timeout=60)
            what = f"{' '.join(cmd[3:])} on {n} rank{'s' if n > 1 else ''}"
            expect_exit(p, 2, what)
            expect_in(p.stderr, ["output.path", *words], what)
            errors = [line for line in p.stderr.splitlines() if "error:" in line]
            if len(errors) != 1:
                raise Failure(f"{what}: expected one error message, got:\n{p.stderr}")
            after = {v: file_state(os.path.join(tmp, v)) for v in victims}
            if after != before:
                raise Failure(f"{what}: victims changed: {before} -> {after}")
            left = [f for f in os.listdir(tmp) if ".tmp." in f]
            if left:
                raise Failure(f"{what}: left {left}")


def made_by(create, *names):
    """A maker of `names` in tmp by create(path) (os.mkfifo, os.mkdir)."""
    def make(tmp):
        for name in names:
            create(os.path.join(tmp, name))
        return list(names)
    return make


def fifo(*names):
    return made_by(os.mkfifo, *names)


def directory(*names):
    return made_by(os.mkdir, *names)


def socket_file(name):
    def make(tmp):
        import socket
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(os.path.join(tmp, name))
        sock.close()
        return [name]
    return make


def case_special_files_at_output_names_are_refused():
    """output.path, its sidecar, its checkpoint and the checkpoint's sidecar: a FIFO, a device,
    a socket, a directory or a link to one at any of them is refused at start-up (it would
    have been replaced by a regular file, or found only after the compute)."""
    refused_at_start_up(fifo("fifo.h5"), ["output.path=fifo.h5"],
                        ['"fifo.h5" cannot be written', "it is a FIFO, not a regular file"])
    refused_at_start_up(lambda tmp: [], ["output.path=/dev/null"],
                        ['"/dev/null"', "it is a character device"])
    refused_at_start_up(socket_file("sock.h5"), ["output.path=sock.h5"], ["it is a socket"],
                        ranks=(2,))
    refused_at_start_up(fifo("out.xmf"), [], ["its sidecar out.xmf: it is a FIFO"])
    refused_at_start_up(directory("out.xmf"), [], ["its sidecar out.xmf: it is a directory"],
                        ranks=(2,))
    refused_at_start_up(directory("out.ckpt.h5"), [],
                        ["its checkpoint out.ckpt.h5: it is a directory"], ranks=(2,))
    refused_at_start_up(fifo("out.ckpt.xmf"), [],
                        ["its checkpoint's sidecar out.ckpt.xmf: it is a FIFO"], ranks=(2,))

    def link_to_fifo(tmp):
        os.mkfifo(os.path.join(tmp, "target"))
        os.symlink("target", os.path.join(tmp, "out.xmf"))
        return ["target", "out.xmf"]
    refused_at_start_up(link_to_fifo, [], ["its sidecar out.xmf: it is a FIFO"], ranks=(2,))
    refused_at_start_up(directory("plain"), ["output.path=plain"],
                        ['"plain" cannot be written', "it is a directory"], ranks=(2,))
    refused_at_start_up(directory("d"), ["output.path=d/"], ["it is a directory"], ranks=(2,))


def case_immutable_files_at_output_names_are_refused():
    """An immutable (chattr +i) or append-only file at the sidecar's or the result's name
    cannot be renamed over, even by root: refused at start-up, not after the compute."""
    if shutil.which("chattr") is None:
        print("skipped: chattr not found")
        return
    done = 0
    for name, flag in (("out.xmf", "+i"), ("out.h5", "+a"), ("out.ckpt.xmf", "+i")):
        with tempfile.TemporaryDirectory(prefix="jacobi-fail-probe-", dir=os.getcwd()) as probe:
            test = os.path.join(probe, "x")
            open(test, "w").close()
            if subprocess.run(["chattr", flag, test], capture_output=True).returncode != 0:
                print(f"skipped: chattr {flag} does not work here (not root, or a file system "
                      "without attributes)")
                return
            subprocess.run(["chattr", f"-{flag[1]}", test], check=True)

        def make(tmp, name=name, flag=flag):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write("the user's own file\n")
            subprocess.run(["chattr", flag, path], check=True)
            return [name]

        def undo(tmp, name=name, flag=flag):
            subprocess.run(["chattr", f"-{flag[1]}", os.path.join(tmp, name)], check=False)

        # The temporary directory is removed after each run: clear the flag first.
        orig = tempfile.TemporaryDirectory.cleanup

        def cleanup(self, orig=orig, undo=undo):
            undo(self.name)
            orig(self)
        tempfile.TemporaryDirectory.cleanup = cleanup
        try:
            refused_at_start_up(make, [], ["immutable or append-only"], ranks=(1, 2))
        finally:
            tempfile.TemporaryDirectory.cleanup = orig
        done += 1
    if done == 0:
        raise Failure("no immutable case ran")
    # An append-only directory: a temporary could be made there, never renamed or removed.
    with tempfile.TemporaryDirectory(prefix="jacobi-fail-") as probe:  # where the case runs
        if subprocess.run(["chattr", "+a", probe], capture_output=True).returncode != 0:
            print("skipped: chattr +a on a directory does not work in the temporary directory")
            return
        subprocess.run(["chattr", "-a", probe], check=True)

    def append_only(tmp):
        os.mkdir(os.path.join(tmp, "ad"))
        subprocess.run(["chattr", "+a", os.path.join(tmp, "ad")], check=True)
        return ["ad"]
    orig = tempfile.TemporaryDirectory.cleanup

    def cleanup(self, orig=orig):
        subprocess.run(["chattr", "-a", os.path.join(self.name, "ad")], check=False)
        orig(self)
    tempfile.TemporaryDirectory.cleanup = cleanup
    try:
        refused_at_start_up(append_only, ["output.path=ad/out.h5"],
                            ['directory "ad" is append-only'], ranks=(1, 2))
    finally:
        tempfile.TemporaryDirectory.cleanup = orig


# ---- standard output and signals outside the solve loop (issue 17) --------------------------

def singleton(cmd_tail, cwd, stdout=None, shell_suffix=None, timeout=60):
    """Run the jacobi binary itself (an MPI singleton, stdout its own, not mpirun's pipe)."""
    cmd = [e2e.ARGS.jacobi, *cmd_tail]
    if shell_suffix is not None:
        import shlex
        script = " ".join(shlex.quote(a) for a in cmd) + " " + shell_suffix
        cmd = ["bash", "-c", "set -o pipefail; " + script + "; exit ${PIPESTATUS[0]}"]
    try:
        return subprocess.run(cmd, cwd=cwd, stdout=stdout if stdout is not None else
                              subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout} s (a hang): {' '.join(cmd)}")


def case_stdout_write_errors_exit_1():
    """A summary, plan or help text written to a full (/dev/full) or closed stdout, or to a
    pipe closed early (`| head -c 20`), is exit 1 with one message on stderr; the result file
    is written first and is whole. (Under mpirun the ranks write to mpirun's pipe: their
    output's fate is mpirun's, so these run the binary alone.)"""
    with tempfile.TemporaryDirectory(prefix="jacobi-fail-") as tmp:
        with open(os.path.join(tmp, "case.toml"), "w") as f:
            f.write(GOOD.replace("[solver]", "[boundary]\ntop = 1.0\n[solver]"))
        runs = [(["case.toml"], "> /dev/full", True), (["--quiet", "case.toml"], ">&-", True),
                (["case.toml"], "| head -c 20 >/dev/null", True),
                (["--dry-run", "--ranks", "500", "--set", "grid.nx=5000", "case.toml"], "> /dev/full",
                 False),
                (["--dry-run", "--ranks", "5000", "--set", "grid.nx=5000", "case.toml"],
                 "| head -c 100 >/dev/null", False),
                (["--help"], "> /dev/full", False), (["--version"], ">&-", False)]
        for args, redirect, writes in runs:
            for name in ("out.h5", "out.xmf"):
                if os.path.exists(os.path.join(tmp, name)):
                    os.unlink(os.path.join(tmp, name))
            what = f"jacobi {' '.join(args)} {redirect}"
            p = singleton(args, tmp, shell_suffix=redirect)
            expect_exit(p, 1, what)
            expect_in(p.stderr, ["writing to standard output"], what)
            if p.stderr.count("error:") != 1:
                raise Failure(f"{what}: expected one message, got:\n{p.stderr}")
            if writes:
                dump = subprocess.run(["h5dump", "-a", "iterations", "out.h5"], cwd=tmp,
                                      capture_output=True, text=True)
                if dump.returncode != 0 or not os.path.exists(os.path.join(tmp, "out.xmf")):
                    raise Failure(f"{what}: the result was not written whole:\n{dump.stderr}")
        ok = singleton(["--quiet", "case.toml"], tmp, shell_suffix="> /dev/null")
        expect_exit(ok, 0, "a writable stdout")


def case_signals_before_the_solve_loop_end_the_run():
    """SIGINT and SIGTERM during a long --dry-run (before the solve loop, where they mean
    'checkpoint and stop') end it at once; --ranks beyond its bound is refused at once."""
    with tempfile.TemporaryDirectory(prefix="jacobi-fail-") as tmp:
        with open(os.path.join(tmp, "case.toml"), "w") as f:
            f.write(GOOD.replace("nx = 12", "nx = 100000").replace("ny = 9", "ny = 100000"))
        long_plan = ["--dry-run", "--ranks", "1048576", "case.toml"]
        for sig in (signal.SIGINT, signal.SIGTERM):
            for launcher in ("alone", "mpirun"):
                cmd = [e2e.ARGS.jacobi, *long_plan]
                if launcher == "mpirun":
                    cmd = [e2e.ARGS.mpiexec, "-n", "2", *cmd]
                proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, errors="replace")
                # signalled once it is planning: a jacobi has used 0.3 s of CPU (its start takes
                # a few ms), a state, not a time that a fast or a loaded machine misses
                targets = planning(proc, launcher)
                for pid in targets:
                    os.kill(pid, sig)
                try:
                    out, _ = proc.communicate(timeout=120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    raise Failure(f"{sig.name} to a --dry-run ({launcher}) was ignored")
                # at once: the default action ends it where it is, so the ranking it was
                # computing is never printed (a handler that let it finish would print it)
                if proc.returncode == 0 or "block-cyclic" in out:
                    raise Failure(f"{sig.name} to a --dry-run ({launcher}): exit "
                                  f"{proc.returncode}, the plan finished")
                if launcher == "alone" and proc.returncode != -sig:
                    raise Failure(f"{sig.name} to a --dry-run: exit {proc.returncode}, expected "
                                  f"the signal's default action ({-sig})")
    for ranks in ("1048577", "2147483647", "99999999999"):
        check(GOOD, ["--ranks must be a whole number from 1 to 1048576", ranks],
              args=("--dry-run", "--ranks", ranks), ranks=(1, 2))


# ---- message quality (issue 17) ------------------------------------------------------------

def case_long_paths_keep_the_reason():
    """A 5000-character path made the message stop at 1023 characters, before the reason: the
    message now loses its middle and keeps its end."""
    for segment, count, reason in (("d" * 200, 15, "No such file or directory"),
                                   ("d" * 200, 25, "File name too long"),
                                   ("e" * 5000, 1, "File name too long")):
        deep = "/nonexistent/" + "/".join([segment] * count) + "/out.h5"
        check(GOOD, ["output.path", "[...]", reason], args=("--set", f"output.path={deep}"),
              ranks=(1, 2))
        check(GOOD, ["initial.from_file", "[...]", reason],
              args=("--set", f"initial.from_file={deep}"), ranks=(2,))


# ---- limits of the environment: /dev/shm and cgroups (issue 17) ----------------------------

def case_small_dev_shm_is_refused_not_a_hang():
    """A /dev/shm too small for the node's window (16 MiB here, 64 MiB is Docker's default):
    exit 2 naming the size and the ways out, not a hang; the way out it names works; a window
    allocation that fails anyway (a read-only backing directory) ends every rank."""
    from e2e_io import expect_one_error, in_namespace, mount_namespace_works
    if not mount_namespace_works():
        print("skipped: needs root and a private mount namespace (unshare -m) to mount a small "
              "/dev/shm")
        return
    big = GOOD.replace("nx = 12", "nx = 2000").replace("ny = 9", "ny = 2000").replace(
        "tolerance = 1e-6", "tolerance = 1e-300\nmax_iterations = 3")
    with tempfile.TemporaryDirectory(prefix="jacobi-fail-") as tmp:
        with open(os.path.join(tmp, "case.toml"), "w") as f:
            f.write(big)
        small_shm = ["-t", "tmpfs", "-o", "size=16m", "tmpfs", "/dev/shm"]
        for n in (2, 3):
            cmd = [e2e.ARGS.mpiexec, "-n", str(n), e2e.ARGS.jacobi, "--quiet", "case.toml"]
            p = in_namespace(tmp, [small_shm], cmd, timeout=60)
            expect_one_error(p, 2, ["case.toml:2: grid.nx x grid.ny = 2000 x 2000", "of shared "
                                    "memory", "/dev/shm has 1", "MiB free",
                                    "OMPI_MCA_osc_sm_backing_directory"], f"{n} ranks")
            no_inodes = ["-t", "tmpfs", "-o", "size=200m,nr_inodes=3", "tmpfs", "/dev/shm"]
            p = in_namespace(tmp, [no_inodes], cmd, timeout=60)
            expect_one_error(p, 2, ["no inodes free"], f"{n} ranks, no inodes")
            # The way out the message names.
            env = dict(os.environ, OMPI_MCA_osc_sm_backing_directory=tmp)
            p = in_namespace(tmp, [small_shm], cmd, env=env, timeout=120)
            expect_exit(p, 0, f"{n} ranks, windows in {tmp}")
            # A window that cannot be allocated after all: every rank ends, one message.
            ro = os.path.join(tmp, "ro")
            os.makedirs(ro, exist_ok=True)
            env = dict(os.environ, OMPI_MCA_osc_sm_backing_directory=ro)
            p = in_namespace(tmp, [["-t", "tmpfs", "-o", "ro,size=200m", "tmpfs", ro]], cmd,
                             env=env, timeout=60)
            expect_one_error(p, 1, ["MPI_Win_allocate_shared failed"], f"{n} ranks, read-only "
                             "backing directory")
        # One rank: its window is private memory, no file: a small /dev/shm is fine.
        cmd = [e2e.ARGS.mpiexec, "-n", "1", e2e.ARGS.jacobi, "--quiet", "case.toml"]
        p = in_namespace(tmp, [small_shm], cmd, timeout=120)
        expect_exit(p, 0, "1 rank with a small /dev/shm")
        if not os.path.exists(os.path.join(tmp, "out.h5")):
            raise Failure("the 1-rank run wrote no out.h5")


def make_memory_cgroup(limit):
    """A fresh memory cgroup limited to `limit` bytes (v2 memory.max or v1
    memory.limit_in_bytes), as a directory to write pids into; None where it cannot be made."""
    own = ""
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, controllers, path = line.rstrip("\n").split(":", 2)
            if hid == "0" and controllers == "":
                own = path
    candidates = [("/sys/fs/cgroup/memory", "memory.limit_in_bytes"),
                  ("/sys/fs/cgroup" + own.rstrip("/"), "memory.max")]
    for parent, limit_file in candidates:
        if not os.path.exists(os.path.join(parent, limit_file)) and \
                limit_file == "memory.limit_in_bytes":
            continue
        path = os.path.join(parent, f"jacobi-e2e-{os.getpid()}")
        try:
            os.mkdir(path)
        except OSError:
            continue
        try:
            with open(os.path.join(path, limit_file), "w") as f:
                f.write(str(limit))
            return path
        except OSError:
            os.rmdir(path)
    return None


def case_cgroup_memory_limit_is_refused():
    """A batch job's memory cgroup below physical memory (300 MiB): an 8000² grid (1 GiB) is
    refused with exit 2 naming the limit, instead of an OOM kill with no message; a grid that
    fits still runs."""
    group = make_memory_cgroup(300 << 20)
    if group is None:
        print("skipped: cannot create a memory cgroup here (needs root and a writable cgroup "
              "v1 memory hierarchy or v2 memory controller)")
        return
    try:
        with tempfile.TemporaryDirectory(prefix="jacobi-fail-") as tmp:
            with open(os.path.join(tmp, "case.toml"), "w") as f:
                f.write(GOOD.replace("tolerance = 1e-6", "tolerance = 1e-300\nmax_iterations = 3"))
            for n, size, code in ((2, 8000, 2), (1, 6000, 2), (3, 1000, 0)):
                import shlex
                cmd = [e2e.ARGS.mpiexec, "-n", str(n), e2e.ARGS.jacobi, "--quiet", "--set",
                       f"grid.nx={size}", "--set", f"grid.ny={size}", "case.toml"]
                script = (f"echo $$ > {shlex.quote(os.path.join(group, 'cgroup.procs'))} && "
                          "exec " + " ".join(shlex.quote(a) for a in cmd))
                p = e2e.run_command(["sh", "-c", script], tmp, timeout=120)
                what = f"{size}² on {n} ranks in a 300 MiB cgroup"
                expect_exit(p, code, what)
                if code == 2:
                    expect_in(p.stderr, [f"grid.nx x grid.ny = {size} x {size}",
                                         "the memory limit of this job's cgroup is 300.0 MiB"],
                              what)
                    if p.stderr.count("error:") != 1:
                        raise Failure(f"{what}: expected one message, got:\n{p.stderr}")
    finally:
        remove_cgroup(group)


def cpu_seconds(pid):
    """User and system CPU time of a process so far; 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def planning(proc, launcher, cpu=0.3):
    """The pids to signal (`proc` itself, or the ranks under mpirun) once one of them has used
    `cpu` seconds of CPU; a Failure if the plan ended first."""
    deadline = time.monotonic() + 300  # a hang guard only
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failure(f"the plan for 2^20 ranks ended before it had used {cpu} s of CPU "
                          f"({launcher}): the case no longer tests anything")
        pids = [proc.pid] if launcher == "alone" else e2e.rank_pids(proc.pid)
        # one jacobi that far is planning, and all are past MPI_Init (collective); a rank
        # waiting for rank 0's plan may block rather than spin (MPICH), so not all of them
        want = 1 if launcher == "alone" else 2
        if len(pids) == want and any(cpu_seconds(p) >= cpu for p in pids):
            return pids
        time.sleep(0.02)
    raise Failure(f"the --dry-run ({launcher}) did not start planning")


def remove_cgroup(path):
    """rmdir a cgroup whose processes have exited (the kernel may hold it busy a moment)."""
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.1)
    print(f"note: could not remove the cgroup {path}")


CLASSES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
           if name.startswith("case_")}

if __name__ == "__main__":
    e2e.CASES = CLASSES
    sys.exit(e2e.main())
