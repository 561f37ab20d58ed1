#!/usr/bin/env python3
"""peers_bench.py - jacobi's multigrid side by side with its peers, in one run, each to the same TRUE
error (issue 30's jump problems, issue 32's held plate): hypre (bench/hypre_plate.c), PETSc
(bench/petsc_pcmg.c, bench/petsc_plate.c) and SciPy's sine-transform direct solve.

For every problem, each solver's answer must have a true max error <= --fraction of the
temperature range (100 degrees: 0.1 degrees at the default 1e-3):
  held       the 100-degree plate (top 100, the other edges 0, k = 1), n x n; the truth is the
             exact discrete solution by a sine transform (tests/e2e/exact.py);
  jump       left and right edges insulated, top held at 100 and bottom at 0, k a pattern of two
             materials with a contrast (checkerboard, insert, layered); the truth is SciPy's sparse
             direct solve of the same equations, assembled here from docs/numerics.md
             ("Real plates: the faces operator"), independently of jacobi's and hypre_plate's code.
The solvers:
  jacobi mg target     jacobi's default multigrid (full-multigrid start, then V(2,2)) with
                       solver.target_error = fraction x range (its guaranteed bound stops it);
  jacobi mg fewest     the same stopped by solver.max_iterations at the fewest cycles that reach
                       the error (found by trying 1, 2, ... cycles);
  hypre PFMG, hypre PCG+PFMG, hypre PCG+BoomerAMG
  PETSc PCMG FMG       bench/petsc_pcmg: Richardson around PCMG full multigrid on a DMDA
                       (Galerkin coarse operators, levels from the size), held plate only;
  PETSc CG+GAMG, PETSc CG+BoomerAMG
                       bench/petsc_plate: CG (unpreconditioned residual) with GAMG or hypre's
                       BoomerAMG through PETSc's PCHYPRE, held plate only;
                       each of these the loosest relative residual tolerance of 1e-1, 3e-2,
                       1e-2, ... that reaches the error (the search starts at 1e-2 and walks);
  SciPy DST            the exact discrete solution by the type-I sine transform
                       (tests/e2e/exact.py) in a Python process of its own (scipy.fft workers =
                       the rank count), held plate only; its error is rounding.
Every search is done once per problem and rank count; then the timed runs are interleaved
(solver after solver, --repeat rounds) and the medians reported. "solve" is each program's own
clock (jacobi: its wall time; hypre_plate and petsc_plate: assembly + setup + solve; petsc_pcmg:
DMDA + matrix + set-up + solve; SciPy: right-hand side + 2 transforms), "process" the launch of
mpirun (or python3) to its exit, jacobi's including the HDF5 file it writes (the peers' timed
runs write nothing; "output" is jacobi's write, from its summary), "cpu" the CPU seconds of all
its processes (user + system), the steadier figure on a shared machine. "x jacobi": the peer's
whole process over jacobi's (mg target) whole process, the same for the solve. For jacobi's
target run on the held plate the script also keeps where jacobi's whole process went
(--verbose's "process (rank 0)" line), printed after the table and written to CSV-phases.csv.

usage: peers_bench.py --jacobi BIN --hypre BIN --out CSV [--held "1024 2048"] [--ranks "1 2"]
                      [--jump 511] [--contrasts "10 1e3 1e6"] [--patterns "..."] [--repeat 3]
                      [--solvers "pfmg pcg-pfmg pcg-boomeramg"] [--petsc-pcmg BIN]
                      [--petsc-plate BIN] [--petsc "pcmg gamg boomeramg"] [--no-dst]
                      [--rtol "pfmg=1e-3 pcmg=3e-2 ..."]
       peers_bench.py --dst-solve N [--workers K] [--dst-out FILE]   (the SciPy peer's process)
Needs h5py, NumPy and SciPy (Debian's /usr/bin/python3).
"""
import argparse
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import exact  # noqa: E402

TOP = 100.0
RTOLS = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7, 3e-8, 1e-8)
HYPRE = ("pfmg", "pcg-pfmg", "pcg-boomeramg")
PETSC = ("pcmg", "gamg", "boomeramg")
NAMES = {"pfmg": "hypre PFMG", "pcg-pfmg": "hypre PCG+PFMG", "pcg-boomeramg": "hypre PCG+BoomerAMG",
         "pcmg": "PETSc PCMG FMG", "gamg": "PETSc CG+GAMG", "boomeramg": "PETSc CG+BoomerAMG",
         "dst": "SciPy DST"}
# petsc_plate's options for its two solvers (petsc_pcmg sets its own method)
PETSC_PLATE = {"gamg": ["-ksp_type", "cg", "-pc_type", "gamg"],
               "boomeramg": ["-ksp_type", "cg", "-pc_type", "hypre", "-pc_hypre_type", "boomeramg"]}
CONFIG = """[grid]
nx = {n}
ny = {n}
[boundary]
top = 100.0
bottom = 0.0
{sides}
[solver]
method = "multigrid"
{stop}
[output]
path = "{out}"
"""


def env():
    e = dict(os.environ, OMPI_MCA_orte_abort_on_non_zero_status="0", OMP_NUM_THREADS="1")
    if os.geteuid() == 0:
        e.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return e


CPU = [0.0]  # the CPU seconds (user + system, every process) of the last run()


def run(cmd, ok=(0,)):
    u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env())
    elapsed = time.perf_counter() - t0
    u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[0] = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
    if p.returncode not in ok:
        raise SystemExit(f"peers_bench.py: {shlex.join(cmd)} exited {p.returncode}:\n"
                         f"{p.stdout}\n{p.stderr}")
    return p.stdout, elapsed


def pattern(name, n, contrast):
    """k on n x n points: 1 and contrast."""
    i, j = np.indices((n, n))
    k = np.ones((n, n))
    if name == "checkerboard":  # 8 x 8 squares of 2 materials, edges not on coarse grid lines
        s = max(n // 8, 1)
        k[((i // s + j // s) % 2) == 1] = contrast
    elif name == "insert":  # a square insert in the middle, a third of the plate across
        a, b = n // 3, n - n // 3
        k[a:b, a:b] = contrast
    elif name == "layered":  # 8 layers across the heat's path (top to bottom), in series
        s = max(n // 8, 1)
        k[(i // s) % 2 == 1] = contrast
    else:
        raise SystemExit(f"peers_bench.py: unknown pattern {name}")
    return k


def direct_truth(k):
    """The insulated-sides plate's exact discrete solution, by SciPy's sparse direct solve."""
    import scipy.sparse
    import scipy.sparse.linalg
    ny, nx = k.shape
    hm = lambda a, b: 2.0 * (a * b) / (a + b)  # noqa: E731
    wx = np.ones(nx)
    wx[0] = wx[-1] = 0.5
    idx = np.arange(nx * ny).reshape(ny, nx)
    rows, cols, vals = [], [], []
    diag = np.zeros((ny, nx))
    b = np.zeros((ny, nx))
    ce = hm(k[:, :-1], k[:, 1:])  # east-west faces, height 1
    cs = hm(k[:-1, :], k[1:, :]) * wx[None, :]  # north-south faces, width wx
    for c, p, q in ((ce, idx[:, :-1], idx[:, 1:]), (cs, idx[:-1, :], idx[1:, :])):
        rows += [p.ravel(), q.ravel()]
        cols += [q.ravel(), p.ravel()]
        vals += [-c.ravel(), -c.ravel()]
    diag[:, :-1] += ce
    diag[:, 1:] += ce
    diag[:-1, :] += cs
    diag[1:, :] += cs
    ctop = k[0, :] * wx
    cbot = k[-1, :] * wx
    diag[0, :] += ctop
    diag[-1, :] += cbot
    b[0, :] += ctop * TOP
    rows.append(idx.ravel())
    cols.append(idx.ravel())
    vals.append(diag.ravel())
    ij = (np.concatenate(rows), np.concatenate(cols))
    A = scipy.sparse.csr_matrix((np.concatenate(vals), ij), shape=(nx * ny, nx * ny))
    return scipy.sparse.linalg.spsolve(A.tocsc(), b.ravel()).reshape(ny, nx)


def held_truth(n):
    grid = np.zeros((n + 2, n + 2))
    grid[0, :] = TOP
    return exact.solve(grid)


class Problem:
    def __init__(self, name, n, k, tmp):
        self.name, self.n, self.k, self.tmp = name, n, k, tmp
        self.truth = held_truth(n) if k is None else direct_truth(k)
        self.kbin = self.kh5 = None
        if k is not None:
            import h5py
            self.kbin = os.path.join(tmp, f"{name}.bin")
            self.kh5 = os.path.join(tmp, f"{name}.h5")
            k.tofile(self.kbin)
            with h5py.File(self.kh5, "w") as f:
                f["conductivity"] = k

    def error(self, field):
        return float(np.abs(field - self.truth).max())


NUM = r"([0-9.eE+-]+)"


def phases_of(text):
    """{phase: seconds} from jacobi's --verbose line "process (rank 0) T s: phase t s, ..."."""
    m = re.search(r"process \(rank 0\) ([0-9.]+) s: (.*)", text)
    if not m:
        return None
    phases = {"whole (rank 0)": float(m.group(1))}
    for part in re.sub(r"\([^)]*\)", "", m.group(2)).split(","):
        p = re.fullmatch(r"\s*(.+?) ([0-9.]+) s\s*", part)
        if p:
            phases[p.group(1)] = float(p.group(2))
    return phases


class Jacobi:
    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp
        self.h5 = os.path.join(tmp, "j.h5")

    def run(self, pb, ranks, stop, check, refusal_ok=False):
        sides = 'left = 0.0\nright = 0.0' if pb.k is None else \
            f'left = "insulated"\nright = "insulated"\n[plate]\nconductivity_file = "{pb.kh5}"'
        path = os.path.join(self.tmp, "j.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(CONFIG.format(n=pb.n, sides=sides, stop=stop, out=self.h5))
        out, elapsed = run(["mpirun", "-n", str(ranks), self.binary, "--quiet", "--verbose", path],
                           ok=(0, 2, 3) if refusal_ok else (0, 3))
        if refusal_ok and "after" not in out:
            return None  # refused at start-up (exit 2): target_error cannot be certified here
        it = re.search(r"after (\d+) (?:iterations?|cycles?)", out)
        wall = re.search(rf"wall time {NUM} s", out)
        output = re.search(rf"output {NUM} s", out)
        if not (it and wall and output):
            raise SystemExit(f"peers_bench.py: no summary from jacobi:\n{out}")
        r = {"iterations": int(it.group(1)), "solve": float(wall.group(1)), "process": elapsed,
             "output": float(output.group(1)), "cpu": CPU[0], "phases": phases_of(out)}
        if check:
            import h5py
            with h5py.File(self.h5, "r") as f:
                r["error"] = pb.error(f["temperature"][1:-1, 1:-1])
        return r


class Hypre:
    def __init__(self, binary, tmp):
        self.binary, self.out = binary, os.path.join(tmp, "h.bin")

    def run(self, pb, ranks, solver, tol, check):
        cmd = ["mpirun", "-n", str(ranks), self.binary, "-nx", str(pb.n), "-ny", str(pb.n),
               "-solver", solver, "-tol", f"{tol:g}", "-maxit", "300"]
        if pb.k is not None:
            cmd += ["-plate", "insulated", "-k", pb.kbin]
        if check:
            cmd += ["-out", self.out]
        out, elapsed = run(cmd)
        m = re.search(r"iterations (\d+) relres (\S+) assembly (\S+) s setup (\S+) s solve (\S+) s "
                      r"total (\S+) s", out)
        r = {"iterations": int(m.group(1)), "relres": float(m.group(2)),
             "solve": float(m.group(6)), "process": elapsed, "cpu": CPU[0], "output": 0.0,
             "setup": float(m.group(3)) + float(m.group(4))}
        r["reached"] = r["relres"] <= tol  # else stopped at -maxit: a tighter tol cannot do better
        if check:
            r["error"] = pb.error(np.fromfile(self.out).reshape(pb.n, pb.n))
            os.remove(self.out)
        return r


class Petsc:
    """bench/petsc_pcmg (solver "pcmg") and bench/petsc_plate ("gamg", "boomeramg"), held plate."""

    def __init__(self, pcmg, plate, tmp):
        self.binary = {"pcmg": pcmg, "gamg": plate, "boomeramg": plate}
        self.out = os.path.join(tmp, "p.bin")

    def available(self, solver):
        return bool(self.binary.get(solver))

    def run(self, pb, ranks, solver, tol, check):
        cmd = ["mpirun", "-n", str(ranks), self.binary[solver], "-nx", str(pb.n), "-ny", str(pb.n),
               "-top", f"{TOP:g}", "-ksp_rtol", f"{tol:g}", "-ksp_max_it", "300"]
        if solver != "pcmg":  # petsc_pcmg stops on the true residual itself
            cmd += PETSC_PLATE[solver] + ["-ksp_norm_type", "unpreconditioned"]
        if check:
            cmd += ["-out", self.out]
        out, elapsed = run(cmd)
        m = re.search(rf"iterations (\d+) .*total {NUM} s reason (-?\d+)", out)
        if not m:
            raise SystemExit(f"peers_bench.py: no summary from {shlex.join(cmd)}:\n{out}")
        r = {"iterations": int(m.group(1)), "solve": float(m.group(2)), "process": elapsed,
             "cpu": CPU[0], "output": 0.0, "reached": int(m.group(3)) > 0}
        if check:
            r["error"] = pb.error(np.fromfile(self.out).reshape(pb.n, pb.n))
            os.remove(self.out)
        return r


class Dst:
    """SciPy's sine-transform solve in a process of its own (this script, --dst-solve)."""

    def __init__(self, tmp):
        self.out = os.path.join(tmp, "d.bin")

    def run(self, pb, ranks, check):
        cmd = [sys.executable, os.path.abspath(__file__), "--dst-solve", str(pb.n),
               "--workers", str(ranks)]
        if check:
            cmd += ["--dst-out", self.out]
        out, elapsed = run(cmd)
        m = re.search(rf"solve {NUM} s", out)
        r = {"iterations": 0, "solve": float(m.group(1)), "process": elapsed, "cpu": CPU[0],
             "output": 0.0}
        if check:
            r["error"] = pb.error(np.fromfile(self.out).reshape(pb.n, pb.n))
            os.remove(self.out)
        return r


def dst_solve(n, workers, out):
    """The SciPy peer's whole work: the held plate's right-hand side and two transforms."""
    import scipy.fft
    t0 = time.perf_counter()
    grid = np.zeros((n + 2, n + 2))
    grid[0, :] = TOP
    with scipy.fft.set_workers(workers):
        field = exact.solve(grid)
    solve = time.perf_counter() - t0
    print(f"dst n {n} workers {workers} solve {solve:.6f} s", flush=True)
    if out:
        field.tofile(out)


def loosest(run_at, goal, start=RTOLS.index(1e-2), known=False):
    """(tol, result) for the loosest tolerance of RTOLS whose run reaches goal, or None. Walks from
    start: looser while the error holds, tighter until it does (or the solver stops short).
    known: start is a previous search's answer (--rtol); if it still reaches goal, take it."""
    i = start
    r = run_at(RTOLS[i])
    if r["error"] <= goal:
        while i > 0 and not known:
            looser = run_at(RTOLS[i - 1])
            if looser["error"] > goal:
                break
            i, r = i - 1, looser
        return RTOLS[i], r
    while r["reached"] and i + 1 < len(RTOLS):
        i += 1
        r = run_at(RTOLS[i])
        if r["error"] <= goal:
            return RTOLS[i], r
    return None


def search(pb, ranks, goal, jac, hyp, pet, dst, solvers, known, most_cycles=30):
    """{solver: (description of its stop, run function, its true error) or None}; known:
    {solver: rtol} to try first and keep if it reaches goal (--rtol)."""
    found = {}
    t = jac.run(pb, ranks, f"target_error = {goal:g}", check=True, refusal_ok=True)
    found["jacobi mg target"] = None if t is None else (
        f"target_error={goal:g} ({t['iterations']} cycles, err {t['error']:.3g})",
        lambda c: jac.run(pb, ranks, f"target_error = {goal:g}", c), t["error"])
    for k in range(1, most_cycles + 1):
        stop = f"max_iterations = {k}\ntolerance = 1e-30"
        r = jac.run(pb, ranks, stop, check=True)
        if r["error"] <= goal:
            found["jacobi mg fewest"] = (f"{k} cycles (err {r['error']:.3g})",
                                         lambda c, s=stop: jac.run(pb, ranks, s, c), r["error"])
            break
    for s in solvers:
        if s in HYPRE and hyp:
            at = lambda tol, c, s=s: hyp.run(pb, ranks, s, tol, c)  # noqa: E731
        elif s in PETSC and pet and pet.available(s) and pb.k is None:
            at = lambda tol, c, s=s: pet.run(pb, ranks, s, tol, c)  # noqa: E731
        else:
            continue
        tol = known.get(s)
        hit = loosest(lambda tol, at=at: at(tol, True), goal,
                      *(() if tol is None else (RTOLS.index(tol), True)))
        found[NAMES[s]] = None if hit is None else (
            f"rtol {hit[0]:g} ({hit[1]['iterations']} its, err {hit[1]['error']:.3g})",
            lambda c, at=at, tol=hit[0]: at(tol, c), hit[1]["error"])
    if dst and pb.k is None:
        r = dst.run(pb, ranks, True)
        found[NAMES["dst"]] = None if r["error"] > goal else (
            f"exact (err {r['error']:.2g})", lambda c: dst.run(pb, ranks, c), r["error"])
    return found


def main():
    if "--dst-solve" in sys.argv:  # the SciPy peer's own process
        ap = argparse.ArgumentParser()
        ap.add_argument("--dst-solve", type=int, required=True)
        ap.add_argument("--workers", type=int, default=1)
        ap.add_argument("--dst-out", default="")
        a = ap.parse_args()
        dst_solve(a.dst_solve, a.workers, a.dst_out)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jacobi", required=True)
    ap.add_argument("--hypre", default="", help="bench/hypre_plate (none: hypre not run)")
    ap.add_argument("--petsc-pcmg", default="", help="bench/petsc_pcmg (none: not run)")
    ap.add_argument("--petsc-plate", default="", help="bench/petsc_plate (none: not run)")
    ap.add_argument("--petsc", default=" ".join(PETSC), help="PETSc's solvers to run")
    ap.add_argument("--no-dst", action="store_true", help="leave out SciPy's sine-transform solve")
    ap.add_argument("--out", required=True)
    ap.add_argument("--held", default="1024 2048")
    ap.add_argument("--ranks", default="1 2")
    ap.add_argument("--jump", type=int, default=511)
    ap.add_argument("--jump-ranks", default="1")
    ap.add_argument("--contrasts", default="10 1e3 1e6")
    ap.add_argument("--patterns", default="checkerboard insert layered")
    ap.add_argument("--fraction", type=float, default=1e-3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--solvers", default=" ".join(HYPRE),
                    help="hypre_plate's solvers to run (BoomerAMG needs ~10x PFMG's memory)")
    ap.add_argument("--rtol", default="",
                    help='"SOLVER=TOL ..." (TOL one of 1e-1, 3e-2, ...): a previous search\'s stop, '
                    'checked once and kept if it still reaches the error (saves the walk)')
    a = ap.parse_args()
    known = {k: float(v) for k, v in (kv.split("=") for kv in a.rtol.split())}
    for k, v in known.items():
        if k not in NAMES or v not in RTOLS:
            raise SystemExit(f"peers_bench.py: --rtol {k}={v}: no such solver or tolerance")
    goal = a.fraction * TOP
    rows, phase_rows = [], []
    solvers = (a.solvers.split() if a.hypre else []) + a.petsc.split()
    with tempfile.TemporaryDirectory() as tmp:
        jac = Jacobi(a.jacobi, tmp)
        hyp = Hypre(a.hypre, tmp) if a.hypre else None
        pet = Petsc(a.petsc_pcmg, a.petsc_plate, tmp) if (a.petsc_pcmg or a.petsc_plate) else None
        dst = None if a.no_dst else Dst(tmp)
        cases = [(f"held {n}^2", n, None, a.ranks) for n in map(int, a.held.split())]
        for pat in a.patterns.split():
            for c in a.contrasts.split():
                cases.append((f"{pat} x{c} {a.jump}^2", a.jump, (pat, float(c)), a.jump_ranks))
        for name, n, kspec, ranks_s in cases:
            k = None if kspec is None else pattern(kspec[0], n, kspec[1])
            pb = Problem(name.split()[0] + (kspec and f"_{kspec[1]:g}" or ""), n, k, tmp)
            for ranks in map(int, ranks_s.split()):
                found = search(pb, ranks, goal, jac, hyp, pet, dst, solvers, known)
                times = {s: [] for s, f in found.items() if f}
                for _ in range(a.repeat):  # interleaved: one run of each solver a round
                    for s in times:
                        times[s].append(found[s][1](False))
                med = {s: {key: statistics.median(r[key] for r in times[s])
                           for key in ("solve", "process", "cpu", "output")} for s in times}
                ref = "jacobi mg target" if "jacobi mg target" in med else "jacobi mg fewest"
                for s, f in found.items():
                    if not f:
                        why = "refused (no certified bound)" if s.startswith("jacobi") else \
                            "not reached (300 iterations or rtol 1e-8)"
                        rows.append((name, ranks, s, why) + ("",) * 11)
                        print(f"{name:14} {ranks} {s:20} {why}", flush=True)
                        continue
                    m = med[s]
                    procs = [r["process"] for r in times[s]]
                    spread = max(procs) - min(procs)
                    xp = m["process"] / med[ref]["process"] if ref in med else float("nan")
                    xs = m["solve"] / med[ref]["solve"] if ref in med else float("nan")
                    rows.append((name, ranks, s, f[0].replace(",", ";"), times[s][0]["iterations"],
                                 f"{f[2]:.4g}", f"{m['solve']:.4f}", f"{m['process']:.4f}",
                                 f"{spread:.4f}", f"{m['cpu']:.4f}", f"{m['output']:.4f}",
                                 f"{xs:.2f}", f"{xp:.2f}", len(times[s]), ref))
                    print(f"{name:14} {ranks} {s:20} {f[0]:40} solve {m['solve']:8.3f} s "
                          f"process {m['process']:8.3f} s (spread {spread:.3f}) cpu "
                          f"{m['cpu']:8.3f} s  x jacobi: solve {xs:6.2f} process {xp:6.2f}",
                          flush=True)
                runs = [r["phases"] for r in times.get("jacobi mg target", []) if r.get("phases")]
                if runs:
                    text = []
                    for phase in runs[0]:
                        sec = statistics.median(r.get(phase, float("nan")) for r in runs)
                        phase_rows.append((name, ranks, phase, f"{sec:.4f}", len(runs)))
                        text.append(f"{phase} {sec:.3f} s")
                    print(f"{name:14} {ranks} jacobi mg target, where the process went (rank 0, "
                          f"median of {len(runs)}): " + ", ".join(text), flush=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("problem,ranks,solver,stop,iterations,true_error,solve_s,process_s,"
                "process_spread_s,process_cpu_s,output_s,solve_x_jacobi,process_x_jacobi,runs,"
                "jacobi_reference\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")
    with open(os.path.splitext(a.out)[0] + "_phases.csv", "w", encoding="utf-8") as f:
        f.write("problem,ranks,phase,seconds,runs\n")
        for r in phase_rows:
            f.write(",".join(str(x) for x in r) + "\n")


if __name__ == "__main__":
    main()
