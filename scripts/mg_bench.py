#!/usr/bin/env python3
"""mg_bench.py - multigrid's benchmarks: its time to solution side by side with PETSc and a direct
solve, its convergence factor over grid shapes, and what a cycle costs against plain sweeps.
bench.sh's section 8 (issue 15's targets).

  tts     time to a field whose TRUE max error is <= --fraction of the temperature range (against
          the exact discrete solution, tests/e2e/exact.py), for each n in --sizes and each rank
          count in --ranks, side by side in one run, median of --repeat, runs interleaved:
            jacobi multigrid: V(2,2) red-black (the default), FMG + F-cycles, V(2,2) Chebyshev;
              the fewest cycles that reach the error (solver.max_iterations = k, tolerance
              1e-30: exit code 3 is expected), found on 1 rank (multigrid is bit for bit the same
              on every decomposition; every rank count's first timed run is checked again);
            PETSc CG + GAMG and CG + hypre BoomerAMG (bench/petsc_plate.c, if --petsc is given):
              the loosest -ksp_rtol of 1e-1, 3e-2, 1e-2, ... that reaches the error, for each
              rank count (their iterates depend on the decomposition);
            the sine-transform direct solve (SciPy, 1 thread; exact.solve), 1 process.
          Times: "solve" is each program's own clock: jacobi's wall time (set-up of the levels,
          cycles, residual checks; not start-up, not the output), petsc_plate's total (matrix
          and right-hand side assembly, KSPSetUp, KSPSolve), SciPy's solve (right-hand side,
          two transforms, the division). "process" is the launch to exit of mpirun for jacobi
          (less the output write its summary reports) and petsc_plate (no output).
  factor  the residual reduction a cycle that jacobi prints, V(2,2) red-black, on squares and
          on flat grids (aspect ratios to 1:64), 1 rank.
  cost    a multigrid cycle's time against (its fine-sweep equivalents x one plain Jacobi
          sweep's time), both measured here, interleaved, at each n of --sizes. The cycle's time
          is the marginal one, (wall of k + 1 cycles - wall of 1 cycle) / k, so that the levels'
          set-up (allocation, first touch) is not charged to it; it includes each cycle's
          residual check, which a plain sweep's run of one check at the end does not. With
          --before, an earlier build's cycles too, interleaved (a change's effect side by side).
          The ratio's median, and its spread over the repetitions (min-max).
  fmg     the full-multigrid start's first cycle (solver.max_iterations = 1): its true error
          against the exact discrete solution and its time in plain sweeps' time, (run of
          the FMG cycle - run of one plain V(2,2) cycle + the marginal V(2,2) cycle) / sweep,
          for each variant's --set keys, interleaved, median of --repeat (and min-max).

usage: mg_bench.py tts --jacobi BIN [--petsc BIN] --sizes "2048 4096" --ranks "1 2" --out CSV
       mg_bench.py factor --jacobi BIN --out CSV [--quick]
       mg_bench.py cost --jacobi BIN --sizes "1024 2048 4096" --out CSV [--smoothers "redblack"]
                        [--before OLDBIN]
       mg_bench.py fmg --jacobi BIN --sizes "4096" --out CSV [--fmg-variants "; KEY=V ..."]
"""
import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import exact  # noqa: E402

TOP = 100.0  # the plate: top edge 100, the others 0, so the range is 100
CONFIG = """[grid]
nx = {nx}
ny = {ny}
[boundary]
top = {top}
[solver]
method = "{method}"
[output]
path = "{out}"
"""
MG_VARIANTS = {  # name -> the --set keys of the variant
    "mg V(2,2) redblack": (),
    "mg FMG+F redblack": ("solver.multigrid.fmg=true", "solver.multigrid.cycle=F"),
    "mg V(2,2) chebyshev": ("solver.multigrid.smoother=chebyshev",),
}
PETSC_VARIANTS = {
    "petsc CG+GAMG": ("-ksp_type", "cg", "-pc_type", "gamg"),
    "petsc CG+BoomerAMG": ("-ksp_type", "cg", "-pc_type", "hypre", "-pc_hypre_type", "boomeramg"),
}
RTOLS = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7)



def write_csv(path, header, rows):
    """One CSV: the header line, then each row's values as str() gives them."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")

def launch(ranks):
    return ["mpirun", "-n", str(ranks)]


def mpi_env():
    # jacobi exits 3 at max_iterations (as asked); Open MPI would otherwise tear the job down
    return dict(os.environ, OMPI_MCA_orte_abort_on_non_zero_status="0")


class Jacobi:
    """Runs of the jacobi binary on an nx x ny plate, in a scratch directory."""

    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp
        self.h5 = os.path.join(tmp, "mg.h5")

    def run(self, nx, ny, method, sets, ranks=1):
        """(summary dict, process seconds less the output write)."""
        path = os.path.join(self.tmp, "mg.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(CONFIG.format(nx=nx, ny=ny, top=TOP, method=method, out=self.h5))
        cmd = launch(ranks) + [self.binary, "--quiet", "--verbose"]
        for kv in sets:
            cmd += ["--set", kv]
        cmd.append(path)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env())
        elapsed = time.perf_counter() - t0
        s = parse_summary(p.stdout)
        if p.returncode not in (0, 3) or s is None:
            raise SystemExit(f"mg_bench.py: {shlex.join(cmd)} exited {p.returncode}:\n"
                             f"{p.stdout}\n{p.stderr}")
        return s, elapsed - s["output"]

    def cycles(self, n, sets, k, ranks=1):
        return self.run(n, n, "multigrid", tuple(sets) + (f"solver.max_iterations={k}",
                                                          "solver.tolerance=1e-30"), ranks)

    def error(self):
        import h5py  # only where a field is checked
        with h5py.File(self.h5, "r") as f:
            return exact.max_error(f["temperature"][...])


def parse_summary(text):
    num = r"([0-9.eE+-]+)"
    it = re.search(r"after (\d+) (?:iterations?|cycles?)", text)
    wall = re.search(rf"wall time {num} s", text)
    output = re.search(rf"output {num} s", text)
    if not (it and wall and output):
        return None
    s = {"iterations": int(it.group(1)), "wall": float(wall.group(1)),
         "output": float(output.group(1))}
    mg = re.search(rf"on (\d+) levels, {num} fine-sweep equivalents a cycle.*residual reduced {num} x",
                   text)
    if mg:
        s.update(levels=int(mg.group(1)), work=float(mg.group(2)), factor=float(mg.group(3)))
    mg = re.search(rf"on (\d+) levels, {num} fine-sweep equivalents a cycle", text)
    if mg:  # one cycle: no reduction measured
        s.update(levels=int(mg.group(1)), work=float(mg.group(2)))
    return s


class Petsc:
    """Runs of bench/petsc_plate on an n x n plate."""

    def __init__(self, binary, tmp):
        self.binary, self.out = binary, os.path.join(tmp, "petsc.bin")

    def run(self, n, options, rtol, ranks, check):
        cmd = launch(ranks) + [self.binary, "-nx", str(n), "-ny", str(n), "-top", str(TOP),
                               *options, "-ksp_rtol", f"{rtol:g}"]
        if check:
            cmd += ["-out", self.out]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env())
        elapsed = time.perf_counter() - t0
        m = re.search(r"iterations (\d+) assembly ([0-9.]+) s setup ([0-9.]+) s solve ([0-9.]+) s "
                      r"total ([0-9.]+) s reason (-?\d+)", p.stdout)
        if p.returncode != 0 or not m:
            raise SystemExit(f"mg_bench.py: {shlex.join(cmd)} exited {p.returncode}:\n"
                             f"{p.stdout}\n{p.stderr}")
        r = {"iterations": int(m.group(1)), "assembly": float(m.group(2)),
             "setup": float(m.group(3)), "solve": float(m.group(4)), "total": float(m.group(5)),
             "reason": int(m.group(6)), "process": elapsed}
        if check:
            field = np.fromfile(self.out, dtype=np.float64).reshape(n, n)
            os.remove(self.out)
            r["error"] = max_error_interior(field)
        return r


def max_error_interior(interior):
    """The true max error of an interior field (ny x nx) of the plate."""
    ny, nx = interior.shape
    grid = np.zeros((ny + 2, nx + 2))
    grid[0, :] = TOP
    grid[1:-1, 1:-1] = interior
    return exact.max_error(grid)


def direct_solve_seconds(n):
    """SciPy's sine-transform solve of the plate, timed in this process (1 thread)."""
    grid = np.zeros((n + 2, n + 2))
    grid[0, :] = TOP
    t0 = time.perf_counter()
    exact.solve(grid)
    return time.perf_counter() - t0


def fewest_cycles(jac, n, sets, goal, most=20):
    for k in range(1, most + 1):
        s, _ = jac.cycles(n, sets, k)
        err = jac.error()
        if err <= goal:
            return k, err, s
    raise SystemExit(f"mg_bench.py: {sets} did not reach {goal} in {most} cycles at {n}^2")


def loosest_rtol(pet, n, options, goal, ranks, start=1e-3, loosen=True):
    """The loosest rtol of RTOLS that reaches goal, searched from start (without loosen: start
    itself, or tighter if it does not reach goal); (rtol, its run)."""
    i = RTOLS.index(start)
    r = pet.run(n, options, RTOLS[i], ranks, check=True)
    if r["error"] <= goal:  # loosen while it still reaches the goal
        while loosen and i > 0:
            looser = pet.run(n, options, RTOLS[i - 1], ranks, check=True)
            if looser["error"] > goal:
                break
            i, r = i - 1, looser
        return RTOLS[i], r
    while i + 1 < len(RTOLS):  # tighten until it does
        i += 1
        r = pet.run(n, options, RTOLS[i], ranks, check=True)
        if r["error"] <= goal:
            return RTOLS[i], r
    raise SystemExit(f"mg_bench.py: {options} did not reach {goal} at rtol {RTOLS[-1]}")


def tts(args):
    goal = args.fraction * TOP
    sizes = [int(s) for s in args.sizes.split()]
    rank_counts = [int(r) for r in args.ranks.split()]
    rows = []  # n, ranks, method, setting, iterations, error, solve s, process s
    with tempfile.TemporaryDirectory(prefix="jacobi-mg-") as tmp:
        jac = Jacobi(args.jacobi, tmp)
        pet = Petsc(args.petsc, tmp) if args.petsc else None
        for n in sizes:
            plan = []  # (method, ranks, setting, iterations, error, run(rep) -> (solve, process))
            for name, sets in MG_VARIANTS.items():
                k, err, _ = fewest_cycles(jac, n, sets, goal)
                for ranks in rank_counts:
                    plan.append([name, ranks, f"{k} cycles", k, err,
                                 lambda sets=sets, k=k, ranks=ranks: jac.cycles(n, sets, k, ranks)])
            first = {}  # plan index -> the search's run at the chosen rtol: repetition 1
            if pet:
                for name, options in PETSC_VARIANTS.items():
                    start = args.rtol.get(name.split("+")[-1], 1e-3)
                    for ranks in rank_counts:  # each from the previous rank count's rtol
                        start, r = loosest_rtol(pet, n, options, goal, ranks, start,
                                                loosen=args.search)
                        first[len(plan)] = r
                        plan.append([name, ranks, f"rtol {start:g}", r["iterations"], r["error"],
                                     lambda o=options, t=start, ranks=ranks: pet.run(n, o, t, ranks,
                                                                                     False)])
            plan.append(["scipy DST direct", 1, "1 thread", 1, 0.0, None])
            times = {i: ([], []) for i in range(len(plan))}
            for i, r in first.items():  # its -out write is after its clock: the time stands
                times[i][0].append(r["total"])
            for rep in range(args.repeat):  # interleaved: every method once per repetition
                for i, (name, ranks, _, _, _, runner) in enumerate(plan):
                    if name.startswith("petsc") and len(times[i][0]) >= args.petsc_repeat:
                        continue  # the search's run counts as one repetition
                    if runner is None:
                        times[i][0].append(direct_solve_seconds(n))
                        continue
                    r = runner()
                    if name.startswith("mg"):
                        s, process = r
                        if rep == 0 and ranks != 1:  # bit for bit: the same error on P ranks
                            err = jac.error()
                            if err > goal:
                                raise SystemExit(f"mg_bench.py: {name} on {ranks} ranks: error "
                                                 f"{err} > {goal}")
                        times[i][0].append(s["wall"])
                        times[i][1].append(process)
                    else:
                        times[i][0].append(r["total"])
                        times[i][1].append(r["process"])
            for i, (name, ranks, setting, iters, err, _) in enumerate(plan):
                solve = statistics.median(times[i][0])
                process = statistics.median(times[i][1]) if times[i][1] else None
                rows.append((n, ranks, name, setting, iters, err, solve, process,
                             len(times[i][0])))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("n,ranks,method,setting,iterations,true_error,solve_s,process_s\n")
        for n, ranks, name, setting, iters, err, solve, process, _ in rows:
            f.write(f"{n},{ranks},{name},{setting},{iters},{err:.4g},{solve:.6f},"
                    f"{'' if process is None else f'{process:.6f}'}\n")
    print(f"   goal: true max error <= {goal:g} degrees ({100 * args.fraction:g}% of the range); "
          f"median of {args.repeat}, interleaved")
    print(f"   {'n':>5} {'ranks':>5} {'method':<20} {'setting':<12} {'iters':>5} {'error':>8} "
          f"{'solve s':>9} {'process s':>9} {'reps':>4}  {'GAMG/mg':>8} {'hypre/mg':>8} {'DST/mg':>7}")
    for n in sizes:
        for ranks in rank_counts:
            sel = [r for r in rows if r[0] == n and (r[1] == ranks or r[2].startswith("scipy"))]
            peer = {r[2]: r[6] for r in sel}
            for r in sel:
                ratios = ""
                if r[2].startswith("mg"):
                    ratios = " ".join(f"{peer[p] / r[6]:8.2f}" if p in peer else f"{'-':>8}"
                                      for p in ("petsc CG+GAMG", "petsc CG+BoomerAMG"))
                    ratios += f" {peer['scipy DST direct'] / r[6]:7.2f}"
                process = f"{r[7]:9.3f}" if r[7] is not None else f"{'-':>9}"
                print(f"   {n:>5} {ranks:>5} {r[2]:<20} {r[3]:<12} {r[4]:>5} {r[5]:8.3g} "
                      f"{r[6]:9.3f} {process} {r[8]:>4}  {ratios}")


def factor(args):
    if args.quick:
        shapes = [(32, 32), (64, 64), (256, 16)]
    else:
        shapes = [(n, n) for n in (32, 64, 128, 256, 512, 1024, 2048, 4096)]
        shapes += [(1000, 1000), (1023, 1023), (1025, 1025), (777, 333)]
        shapes += [(2048, 2048 // a) for a in (2, 4, 8, 16, 32, 64)]
        shapes += [(64, 4096), (4096, 64), (33, 2048)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="jacobi-mg-") as tmp:
        jac = Jacobi(args.jacobi, tmp)
        for nx, ny in shapes:
            s, _ = jac.run(nx, ny, "multigrid", ("solver.max_iterations=6",
                                                 "solver.tolerance=1e-30"))
            rows.append((nx, ny, s["levels"], s["work"], s["factor"]))
    write_csv(args.out, "nx,ny,levels,work_per_cycle,factor", rows)
    print(f"   {'nx x ny':>11} {'aspect':>7} {'levels':>6} {'work/cycle':>10} {'factor':>8}")
    for nx, ny, levels, work, fac in rows:
        aspect = f"1:{max(nx, ny) / min(nx, ny):.3g}"
        print(f"   {f'{nx}x{ny}':>11} {aspect:>7} {levels:>6} {work:10.2f} {fac:8.4f}"
              f"{'' if fac <= 0.1 else '  > 0.1'}")
    worst = max(rows, key=lambda r: r[4])
    print(f"   worst: {worst[4]:.4f} at {worst[0]}x{worst[1]} (target <= 0.1: "
          f"{'met' if worst[4] <= 0.1 else 'NOT met'})")


def cost(args):
    sizes = [int(s) for s in args.sizes.split()]
    smoothers = tuple(args.smoothers.split())
    rows = []
    with tempfile.TemporaryDirectory(prefix="jacobi-mg-") as tmp:
        jac = Jacobi(args.jacobi, tmp)
        peers = [("", jac)]
        if args.before:  # an earlier build's cycles, interleaved with this one's
            peers.append((" (before)", Jacobi(args.before, tmp)))
        for n in sizes:
            cycles = min(400, max(4, int(8 * (2048 / n) ** 2)))
            sweeps = min(4000, max(20, int(200 * (2048 / n) ** 2)))
            names = [m + tag for tag, _ in peers for m in smoothers]
            sweep_t, cycle_t, work = [], {m: [] for m in names}, {}
            for _ in range(args.repeat):  # interleaved
                s, _ = jac.run(n, n, "jacobi", (f"solver.max_iterations={sweeps}",
                                                f"solver.check_interval={sweeps}",
                                                "solver.tolerance=1e-300"))
                sweep_t.append(s["wall"] / sweeps)
                for tag, prog in peers:
                    for m in smoothers:  # the marginal cycle: the levels' set-up cancels out
                        one, _ = prog.cycles(n, (f"solver.multigrid.smoother={m}",), 1)
                        s, _ = prog.cycles(n, (f"solver.multigrid.smoother={m}",), cycles + 1)
                        cycle_t[m + tag].append((s["wall"] - one["wall"]) / cycles)
                        work[m + tag] = s["work"]
            sweep = statistics.median(sweep_t)
            for m in names:
                c = statistics.median(cycle_t[m])
                spread = (min(cycle_t[m]) / (work[m] * sweep), max(cycle_t[m]) / (work[m] * sweep))
                rows.append((n, m, cycles, work[m], sweep, c, c / (work[m] * sweep), *spread))
    write_csv(args.out, "n,smoother,cycles,work_per_cycle,sweep_s,cycle_s,ratio,ratio_min,ratio_max",
              rows)
    print(f"   {'n':>5} {'smoother':<19} {'work/cycle':>10} {'sweep ms':>9} {'cycle ms':>9} "
          f"{'cycle / (work x sweep)':>23} {'(min-max)':>11}")
    for n, m, _, work, sweep, c, ratio, lo, hi in rows:
        print(f"   {n:>5} {m:<19} {work:10.2f} {1e3 * sweep:9.3f} {1e3 * c:9.3f} {ratio:23.2f}"
              f" {lo:5.2f}-{hi:<5.2f}{'' if ratio <= 1.3 else '  > 1.3'}")


def fmg(args):
    """The full-multigrid start's first cycle: its true error (against the exact discrete
    solution) and its time in fine sweeps, for each variant of --fmg-variants (--set lists,
    ";"-separated), interleaved with a plain sweep and a plain V(2,2) cycle."""
    sizes = [int(s) for s in args.sizes.split()]
    variants = [tuple(v.split()) for v in args.fmg_variants.split(";")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="jacobi-mg-") as tmp:
        jac = Jacobi(args.jacobi, tmp)
        for n in sizes:
            cycles = min(400, max(4, int(8 * (2048 / n) ** 2)))
            sweeps = min(4000, max(20, int(200 * (2048 / n) ** 2)))
            sweep_t, v_one, v_t = [], [], []
            fmg_wall = {v: [] for v in variants}
            error, work = {}, {}
            for _ in range(args.repeat):  # interleaved
                s, _ = jac.run(n, n, "jacobi", (f"solver.max_iterations={sweeps}",
                                                f"solver.check_interval={sweeps}",
                                                "solver.tolerance=1e-300"))
                sweep_t.append(s["wall"] / sweeps)
                one, _ = jac.cycles(n, ("solver.multigrid.fmg=false",), 1)
                s, _ = jac.cycles(n, ("solver.multigrid.fmg=false",), cycles + 1)
                v_one.append(one["wall"])
                v_t.append((s["wall"] - one["wall"]) / cycles)
                for v in variants:
                    s, _ = jac.cycles(n, ("solver.multigrid.fmg=true",) + v, 1)
                    fmg_wall[v].append(s["wall"])
                    work[v] = s["work"]
                    if v not in error:
                        error[v] = jac.error()
            sweep, cyc = statistics.median(sweep_t), statistics.median(v_t)
            for v in variants:
                # the FMG cycle: its run less a plain cycle's run (the same set-up and check),
                # plus the plain cycle's marginal time
                t = [w - o + cyc for w, o in zip(fmg_wall[v], v_one)]
                rows.append((n, " ".join(v) or "default", work[v], error[v],
                             statistics.median(t) / sweep, min(t) / sweep, max(t) / sweep))
    write_csv(args.out, "n,variant,work,true_error,sweeps_median,sweeps_min,sweeps_max", rows)
    print(f"   {'n':>5} {'variant':<48} {'work':>6} {'true error':>10} {'in sweeps (min-max)':>22}")
    for n, v, work, err, med, lo, hi in rows:
        print(f"   {n:>5} {v:<48} {work:6.2f} {err:10.3g} {med:8.1f} ({lo:5.1f}-{hi:5.1f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("tts", "factor", "cost", "fmg"))
    parser.add_argument("--jacobi", required=True)
    parser.add_argument("--petsc", default="", help="bench/petsc_plate (none: PETSc not run)")
    parser.add_argument("--sizes", default="2048 4096")
    parser.add_argument("--ranks", default="1 2")
    parser.add_argument("--fraction", type=float, default=1e-3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--petsc-repeat", type=int, default=0,
                        help="PETSc's repetitions (default --repeat): it is the slow one")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoothers", default="redblack chebyshev jacobi",
                        help="cost: the smoothers whose cycles are timed")
    parser.add_argument("--fmg-variants", default="",
                        help='fmg: ";"-separated --set lists, e.g. "; solver.multigrid.post=1"')
    parser.add_argument("--before", default="",
                        help="cost: an earlier build of jacobi whose cycles are timed beside")
    parser.add_argument("--rtol", default="", help='PETSc start rtols, e.g. "GAMG=1e-3 BoomerAMG=1e-2"')
    parser.add_argument("--no-search", dest="search", action="store_false",
                        help="PETSc: no looser rtol than --rtol's is tried (tighter if it fails)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    args.petsc_repeat = args.petsc_repeat or args.repeat
    args.rtol = {k: float(v) for k, v in (kv.split("=") for kv in args.rtol.split())}
    {"tts": tts, "factor": factor, "cost": cost, "fmg": fmg}[args.part](args)


if __name__ == "__main__":
    main()
