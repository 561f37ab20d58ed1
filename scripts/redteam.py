#!/usr/bin/env python3
"""redteam.py - a hostile user and environment against jacobi, rerunnable (not part of the suite).

Runs some 200 cases: bad configs (hand-made and byte-flipped), tampered checkpoints (attributes,
datasets, truncated and flipped files), odd output paths, process limits (ulimit -f, -v, -n),
full and inode-less file systems (root and unshare -m), and signals at odd moments. Each case
runs in a fresh directory under a time limit and is judged on what must always hold:
  crash  - a rank killed by SIGSEGV, SIGABRT, SIGBUS, SIGFPE or SIGILL, or a sanitizer report
  hang   - the time limit passed
  stray  - a file left that is not an input or one of jacobi's own names (PATH, its .xmf,
           its .ckpt.h5, .ckpt.xmf), a temporary (.tmp.) left, or the victim file outside changed
  odd    - an exit code outside 0-4 that is not the default action of SIGINT, SIGTERM or SIGUSR1
           (sent before the solve loop installs its handlers), or more than one
           error line
usage: scripts/redteam.py --jacobi build/solver/jacobi [--mpiexec mpiexec] [--seed N] [--only WORD]
Prints one line per case that failed a rule, then the figures.
"""
import argparse
import hashlib
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ARGS = None
TIMEOUT = 90
BASE = """[grid]
nx = 24
ny = 18
[boundary]
top = 100.0
bottom = 0.0
left = "10 * y"
right = 0.0
[solver]
tolerance = 1e-5
max_iterations = 400
check_interval = 5
[output]
path = "out.h5"
"""
CRASH_WORDS = ("Segmentation fault", "Bus error", "Aborted", "AddressSanitizer",
               "UndefinedBehaviorSanitizer", "runtime error:", "Floating point exception",
               "Illegal instruction", "buffer overflow detected", "double free",
               "core dumped", "signal 11", "signal 6", "signal 7")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Case:
    def __init__(self, name, config=BASE, ranks=1, sets=(), files=None, prepare=None,
                 wrap=None, mounts=None, send=None, env=None, out="out.h5"):
        self.name, self.config, self.ranks, self.sets = name, config, ranks, list(sets)
        self.files = files or {}
        self.prepare, self.wrap, self.mounts, self.send, self.env = prepare, wrap, mounts, send, env
        self.out = out


def own_names(path):
    """output.h's names: a ".h5" suffix is replaced only when something precedes it."""
    stem = path[:-3] if path.endswith(".h5") and len(path) > 3 else path
    ckpt = stem + ".ckpt.h5"
    return {path, stem + ".xmf", ckpt, ckpt[:-3] + ".xmf"}


def run_case(case, victim):
    tmp = tempfile.mkdtemp(prefix="jacobi-redteam-")
    try:
        if case.config is not None:
            mode = "wb" if isinstance(case.config, bytes) else "w"
            with open(os.path.join(tmp, "case.toml"), mode) as f:
                f.write(case.config)
        for name, data in case.files.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        if case.prepare:
            case.prepare(tmp)
        before = set(walk(tmp))
        cmd = [ARGS.mpiexec, "-n", str(case.ranks), ARGS.jacobi, "--quiet"]
        for s in case.sets:
            cmd += ["--set", s]
        cmd.append("case.toml")
        if case.wrap:
            cmd = cmd[:3] + ["sh", "-c", case.wrap + " && exec " + " ".join(map(shlex.quote,
                                                                                 cmd[3:]))]
        if case.mounts:
            script = " && ".join("mount " + " ".join(map(shlex.quote, m)) for m in case.mounts)
            cmd = ["unshare", "-m", "sh", "-c", script + " && exec " +
                   " ".join(map(shlex.quote, cmd))]
        env = dict(os.environ, **(case.env or {}))
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace", env=env, start_new_session=True)
        hung = False
        try:
            if case.send:
                case.send(proc, tmp)
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            hung = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        verdicts = []
        text = out + err
        if hung:
            verdicts.append("hang")
        if any(w in text for w in CRASH_WORDS) or proc.returncode in (
                -11, -6, -7, -8, -4, 139, 134, 135, 136, 132):
            verdicts.append("crash")
        errors = [l for l in err.splitlines() if "error:" in l or "fatal:" in l]
        rc = proc.returncode
        # What mpirun does with a signal sent to it, and an MPI_Init that fails in a hostile
        # environment (ulimit -n), are the MPI's own: jacobi's rules are no crash, no hang and
        # no stray file there.
        mpi_own = case.send is not None and "mpirun" in case.name or \
            "MPI_Init" in err or "evsig_init_" in err
        if not hung and not mpi_own and rc not in (0, 1, 2, 3, 4, -2, -10, -15, 130, 138, 143):
            verdicts.append(f"odd exit {rc}")
        if rc in (1, 2) and len(errors) != 1 and not case.mounts and not mpi_own:
            verdicts.append(f"odd: {len(errors)} error lines")
        allowed = before | own_names(case.out) | {"case.toml"}
        stray = [f for f in walk(tmp) if f not in allowed or ".tmp." in f]
        if stray:
            verdicts.append(f"stray {stray[:3]}")
        if sha(victim) != VICTIM_SUM:
            verdicts.append("stray: victim changed")
        return verdicts, rc, time.monotonic() - start, (errors[:1] or [""])[0][:160]
    finally:
        subprocess.run(["rm", "-rf", tmp])


def walk(top):
    for root, dirs, names in os.walk(top):
        for n in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            yield os.path.relpath(os.path.join(root, n), top)


# ---- the cases ------------------------------------------------------------------------------

def config_cases(rng):
    bad_values = ['-1', '0', '1e400', 'nan', 'inf', '-inf', '"x"', '[1, 2]', '{a = 1}', 'true',
                  '9223372036854775808', '1.5', '"1 / 0"', '"\\u0001"', '""', '"' + "9" * 5000 + '"',
                  '0x10', '1_000', '"sqrt(-1)"', '"rint(x) ? 1e301 : 0"']
    keys = ["grid.nx", "grid.ny", "boundary.top", "boundary.left", "solver.tolerance",
            "solver.max_iterations", "solver.check_interval", "solver.temporal_block",
            "solver.target_error", "decomposition.block_size", "decomposition.process_grid",
            "output.checkpoint_interval", "initial.interior", "source.q", "plate.width",
            "halo.ranks_per_node", "solver.method", "output.mode", "machine.core_bandwidth_gbs"]
    out = []
    for i in range(60):
        k, v = rng.choice(keys), rng.choice(bad_values)
        out.append(Case(f"config: --set {k}={v[:20]}", ranks=rng.choice((1, 2)),
                        sets=[f"{k}={v}"]))
    data = BASE.encode()
    for i in range(25):
        b = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        out.append(Case(f"config: {i} flipped bytes", config=bytes(b)))
    hand = {
        "deep arrays": BASE + "x = " + "[" * 5000 + "]" * 5000 + "\n",
        "duplicate table": BASE + "[grid]\nnx = 3\n",
        "multigrid key with jacobi": BASE + "[solver.multigrid]\npre = 2\n",
        "dataset without file": BASE + "[source]\ndataset = \"/s\"\n",
        "region empty": BASE + "[[region]]\n",
        "region infinite under a later": BASE + '[[region]]\nshape = "disk"\ncx = 0.5\ncy = 0.5\n'
        'radius = 0.3\ntemperature = "1 / (x - x)"\n[[region]]\nshape = "rectangle"\nx0 = 0\n'
        'x1 = 1\ny0 = 0\ny1 = 1\ntemperature = 1\n',
        "region mask missing file": BASE + '[[region]]\nshape = "mask"\nfile = "nope.h5"\n'
        'temperature = 1\n',
        "huge grid": BASE.replace("nx = 24", "nx = 3037000499"),
        "ESC in expression": BASE.replace('"10 * y"', '"10 *\\u001b y"'),
        "BEL in expression": BASE.replace('"10 * y"', '"10 *\\u0007 y"'),
        "_pi": BASE.replace('"10 * y"', '"_pi"'),
        "NUL in file": BASE + "\x00\n",
        "invalid utf-8": BASE.encode() + b"# \xff\xfe\n",
        "CRLF": BASE.replace("\n", "\r\n"),
        "BOM": "\ufeff" + BASE,
        "empty": "",
    }
    for name, text in hand.items():
        out.append(Case(f"config: {name}", config=text, ranks=2))
    return out


H5PY = "/usr/bin/python3"


def make_checkpoint(method, extra_sets=()):
    def prepare(tmp):
        cmd = [ARGS.mpiexec, "-n", "2", ARGS.jacobi, "--quiet", "--set", f"solver.method={method}",
               "--set", "output.path=src.h5", "--set", "solver.max_iterations=" +
               ("4" if method == "multigrid" else "40"), *extra_sets, "case.toml"]
        subprocess.run(cmd, cwd=tmp, capture_output=True, timeout=TIMEOUT)
    return prepare


def tamper(method, code):
    base = make_checkpoint(method)

    def prepare(tmp):
        base(tmp)
        subprocess.run([H5PY, "-c", "import h5py, numpy\nf = h5py.File('src.h5', 'r+')\n" + code +
                        "\nf.close()"], cwd=tmp, capture_output=True, timeout=TIMEOUT)
    return prepare


def checkpoint_cases(rng):
    edits = {
        "iterations -1": "f.attrs['iterations'] = numpy.int64(-1)",
        "iterations 2^63-1": "f.attrs['iterations'] = numpy.int64(2**63 - 1)",
        "iterations 4e18": "f.attrs['iterations'] = numpy.int64(4 * 10**18)",
        "iterations 1.5": "f.attrs['iterations'] = 1.5",
        "iterations string": "f.attrs['iterations'] = 'ten'",
        "iterations array": "f.attrs['iterations'] = numpy.arange(5000)",
        "no iterations": "del f.attrs['iterations']",
        "chebyshev_start huge": "f.attrs['chebyshev_start'] = numpy.int64(2**62)",
        "chebyshev_start -3": "f.attrs['chebyshev_start'] = numpy.int64(-3)",
        "stall_best nan": "f.attrs['stall_best'] = float('nan'); f.attrs['stall_at'] = numpy.int64(5)",
        "stall_best 0": "f.attrs['stall_best'] = 0.0; f.attrs['stall_at'] = numpy.int64(5)",
        "stall_best inf": "f.attrs['stall_best'] = float('inf'); f.attrs['stall_at'] = numpy.int64(5)",
        "stall_at huge": "f.attrs['stall_best'] = 1.0; f.attrs['stall_at'] = numpy.int64(2**62)",
        "method bogus": "f.attrs['method'] = 'bogus'",
        "method int": "f.attrs['method'] = numpy.int64(3)",
        "method multigrid": "f.attrs['method'] = 'multigrid'",
        "method long": "f.attrs['method'] = 'x' * 100000",
        "nx 25": "f.attrs['nx'] = numpy.int64(25)",
        "temperature 1e301": "f['temperature'][3, 3] = 1e301",
        "temperature nan": "f['temperature'][3, 3] = float('nan')",
        "previous 1e301": "f['previous'][3, 3] = 1e301" ,
        "previous deleted": "del f['previous']",
        "previous 3-D": "del f['previous']; f['previous'] = numpy.zeros((2, 20, 26))",
        "temperature int": "del f['temperature']; f['temperature'] = numpy.zeros((20, 26), "
                           "dtype='int32')",
        "temperature to group": "del f['temperature']; f.create_group('temperature')",
        "soft link loop": "del f['temperature']; f['temperature'] = h5py.SoftLink('/temperature')",
        "external to /dev/zero": "del f['temperature']; f['temperature'] = "
                                 "h5py.ExternalLink('/dev/zero', '/t')",
        "ring changed": "f['temperature'][0, 5] = 55.0",
        "error_estimate string": "f.attrs['error_estimate'] = 'small'",
    }
    out = []
    for name, code in edits.items():
        for method in ("chebyshev", "jacobi", "multigrid"):
            if ("previous" in name or "chebyshev_start" in name) and method != "chebyshev":
                continue
            out.append(Case(f"checkpoint {method}: {name}", ranks=rng.choice((1, 2, 3)),
                            sets=[f"solver.method={rng.choice(('jacobi', 'chebyshev', 'multigrid'))}",
                                  "initial.from_file=src.h5", "solver.max_iterations=" +
                                  str(rng.choice((10, 100, 4 * 10**18 + 50)))],
                            prepare=tamper(method, code)))
    for i in range(12):
        def flip(tmp, seed=i):
            make_checkpoint("chebyshev")(tmp)
            path = os.path.join(tmp, "src.h5")
            data = bytearray(open(path, "rb").read())
            r = random.Random(seed)
            if seed % 3 == 0:
                data = data[:r.randrange(len(data))]
            else:
                for _ in range(r.randint(1, 20)):
                    data[r.randrange(len(data))] = r.randrange(256)
            open(path, "wb").write(bytes(data))
        out.append(Case(f"checkpoint: damaged file {i}", ranks=2,
                        sets=["solver.method=chebyshev", "initial.from_file=src.h5"],
                        prepare=flip))
    return out


def path_cases():
    paths = ["", ".", "..", "/", "sub/", "nodir/x.h5", "/proc/self/mem", "/dev/full",
             "/dev/null", "case.toml", "src.h5", "a b/ü ñ.h5", "-x.h5", "x" * 252 + ".h5",
             "y" * 238 + ".h5", "/" + "d/" * 2000 + "x.h5", "loop/x.h5", "t\\u0009ab.h5",
             "n\\u000aew.h5", "ctl\\u001f.h5", "uffff\\uFFFF.h5", ".h5", "x.ckpt.h5",
             "out.xmf", "fifo.h5", "dirlink/x.h5", "/sys/kernel/x.h5"]
    out = []

    def prepare(tmp):
        os.mkdir(os.path.join(tmp, "sub"))
        os.mkdir(os.path.join(tmp, "a b"))
        os.symlink("loop", os.path.join(tmp, "loop"))
        os.mkfifo(os.path.join(tmp, "fifo.h5"))
        os.symlink("/proc/self", os.path.join(tmp, "dirlink"))
        open(os.path.join(tmp, "src.h5"), "wb").write(b"not mine")
    for p in paths:
        for mode in ("gather", "parallel"):
            out.append(Case(f"path {mode}: {p[:40]!r}", ranks=2,
                            config=BASE.replace('path = "out.h5"', f'path = "{p}"'),
                            sets=[f"output.mode={mode}", "output.checkpoint_interval=50"],
                            prepare=prepare,
                            out=p.replace("\\u0009", "\t").replace("\\u000a", "\n")))
    return out


def limit_cases():
    out = []
    for blocks in (6000, 9000, 20000, 100000):
        for mode in ("gather", "parallel"):
            out.append(Case(f"ulimit -f {blocks} (512 B) on the ranks, {mode}", ranks=2,
                            sets=[f"output.mode={mode}", "grid.nx=700", "grid.ny=700",
                                  "solver.max_iterations=20", "output.owner_map=true",
                                  "solver.method=chebyshev", "output.checkpoint_interval=10"],
                            wrap=f"ulimit -f {blocks}"))
    for kib in (300000, 500000, 900000):
        out.append(Case(f"ulimit -v {kib}", ranks=2, sets=["grid.nx=3000", "grid.ny=3000",
                                                          "solver.max_iterations=2"],
                        wrap=f"ulimit -v {kib}"))
    for n in (12, 20, 30, 64):
        out.append(Case(f"ulimit -n {n}", ranks=2, wrap=f"ulimit -n {n}"))
    if os.geteuid() == 0:
        for size in ("64k", "300k", "600k", "1m"):
            for mode in ("gather", "parallel"):
                out.append(Case(f"tmpfs {size} {mode}", ranks=2,
                                sets=[f"output.mode={mode}", "output.path=small/out.h5",
                                      "grid.nx=200", "grid.ny=200", "output.checkpoint_interval=5",
                                      "solver.max_iterations=20"],
                                prepare=lambda tmp: os.mkdir(os.path.join(tmp, "small")),
                                mounts=[["-t", "tmpfs", "-o", f"size={size}", "tmpfs", "small"]],
                                out="small/out.h5"))
        out.append(Case("tmpfs without inodes", ranks=2, sets=["output.path=small/out.h5"],
                        prepare=lambda tmp: os.mkdir(os.path.join(tmp, "small")),
                        mounts=[["-t", "tmpfs", "-o", "size=8m,nr_inodes=2", "tmpfs", "small"]],
                        out="small/out.h5"))
        out.append(Case("read-only output directory", ranks=2, sets=["output.path=small/out.h5"],
                        prepare=lambda tmp: os.mkdir(os.path.join(tmp, "small")),
                        mounts=[["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", "small"]],
                        out="small/out.h5"))
    return out


def signal_cases(rng):
    out = []
    for i in range(20):
        sig = rng.choice((signal.SIGTERM, signal.SIGINT, signal.SIGUSR1))
        delay = rng.choice((0.0, 0.05, 0.2, 0.5, 1.0))
        to_ranks = rng.random() < 0.5

        def send(proc, tmp, sig=sig, delay=delay, to_ranks=to_ranks):
            time.sleep(delay)
            if to_ranks:
                for pid in ranks_of(proc.pid):
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            else:
                try:
                    os.kill(proc.pid, sig)
                except ProcessLookupError:
                    pass
        out.append(Case(f"signal {sig.name} after {delay} s to {'ranks' if to_ranks else 'mpirun'}",
                        ranks=2, sets=["grid.nx=300", "grid.ny=300", "solver.tolerance=1e-12",
                                       "solver.max_iterations=3000",
                                       f"solver.method={rng.choice(('jacobi', 'chebyshev', 'multigrid'))}",
                                       f"output.mode={rng.choice(('gather', 'parallel'))}",
                                       "output.checkpoint_interval=100"], send=send))
    return out


def ranks_of(launcher):
    exe = os.path.realpath(ARGS.jacobi)
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.path.realpath(f"/proc/{entry}/exe") == exe:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def main():
    global ARGS, VICTIM_SUM
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jacobi", required=True)
    parser.add_argument("--mpiexec", default="mpiexec")
    parser.add_argument("--seed", type=int, default=34)
    parser.add_argument("--only", default="")
    ARGS = parser.parse_args()
    ARGS.jacobi = os.path.abspath(ARGS.jacobi)
    rng = random.Random(ARGS.seed)
    victim = os.path.join(tempfile.gettempdir(), "jacobi-redteam-victim")
    with open(victim, "w") as f:
        f.write("a file that is not jacobi's\n")
    VICTIM_SUM = sha(victim)
    cases = (config_cases(rng) + checkpoint_cases(rng) + path_cases() + limit_cases() +
             signal_cases(rng))
    cases = [c for c in cases if ARGS.only in c.name]
    figures = {"cases": 0, "crash": 0, "hang": 0, "stray": 0, "odd": 0}
    codes = {}
    for case in cases:
        verdicts, rc, seconds, first = run_case(case, victim)
        figures["cases"] += 1
        codes[rc] = codes.get(rc, 0) + 1
        for v in verdicts:
            figures[v.split()[0].rstrip(":")] += 1
        if verdicts:
            print(f"{'; '.join(verdicts)}: {case.name} (exit {rc}) {first}", flush=True)
    os.remove(victim)
    print(f"cases {figures['cases']}, crashes {figures['crash']}, hangs {figures['hang']}, "
          f"stray files {figures['stray']}, odd exits or messages {figures['odd']}; exit codes "
          + ", ".join(f"{k}: {v}" for k, v in sorted(codes.items())))
    return 1 if figures["crash"] or figures["hang"] or figures["stray"] else 0


if __name__ == "__main__":
    sys.exit(main())
