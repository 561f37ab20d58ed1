#!/usr/bin/env python3
"""time_bench.py - the transient's bench (issue 31): time per implicit step in fine-sweep
equivalents, and a warm-up to 1% of the steady state, implicit (BDF2, multigrid) against
explicit steps at their stability limit. Not a test: numbers for docs/performance.md.

usage: time_bench.py JACOBI [--n 1023,2047] [--ranks 1,2] [--reps 3] [--warm-up-n 1023]
                     [--mpiexec mpiexec]

The plate: held edges, the top at 100, the others at 0, aluminium-like (k 237, rho 2700,
c 900, t 0.005), 1 m wide, from 0 degrees. An explicit step at the limit is one pass of the
faces operator plus the stepper's copy of the field and its change; the unit ("fine-sweep
equivalent") is one steady Jacobi sweep of the faces operator on the same grid, measured. The warm-up: the
slowest mode decays as e^(-lambda_1 t), lambda_1 = alpha pi^2 (1/W^2 + 1/H^2), so the field is
within 1% of the steady state (of the initial difference) at t_1% = ln(100) / lambda_1; BDF2
runs there in 50 steps; explicit steps would need t_1% / dt_limit of them, which is hours at
1023^2: that time is EXTRAPOLATED from the measured explicit step time, not run.
Times are the runs' own (wall, max over ranks, set-up and output excluded).
"""
import argparse
import math
import os
import re
import subprocess
import tempfile

K, RHO, C, T = 237.0, 2700.0, 900.0, 0.005


def config(n, end, steps, scheme):
    return (f"[grid]\nnx = {n}\nny = {n}\n[plate]\nwidth = 1.0\nconductivity = {K}\n"
            f"thickness = {T}\ndensity = {RHO}\nspecific_heat = {C}\n"
            "[boundary]\ntop = 100.0\nbottom = 0.0\nleft = 0.0\nright = 0.0\n"
            "[initial]\ninterior = 0.0\n"
            f"[time]\nend = {end!r}\nsteps = {steps}\nscheme = \"{scheme}\"\n"
            f"output_every = {end!r}\n[output]\npath = \"bench.h5\"\n")


def sweep_seconds(args, ranks, n):
    """One fine sweep of the faces operator: 400 steady Jacobi sweeps of the same plate made a
    faces plate by a negligible exchange through the faces (wall time / 400)."""
    text = (f"[grid]\nnx = {n}\nny = {n}\n[plate]\nwidth = 1.0\nconductivity = {K}\n"
            f"thickness = {T}\n[boundary]\ntop = 100.0\nbottom = 0.0\nleft = 0.0\nright = 0.0\n"
            "[surface]\nh = 1e-12\nambient = 0.0\n[initial]\ninterior = 0.0\n"
            "[solver]\nmethod = \"jacobi\"\ntolerance = 1e-300\nmax_iterations = 400\n"
            "check_interval = 400\n[output]\npath = \"sweeps.h5\"\n")
    with tempfile.TemporaryDirectory(prefix="jacobi-time-bench-") as tmp:
        with open(os.path.join(tmp, "s.toml"), "w") as f:
            f.write(text)
        p = subprocess.run([args.mpiexec, "-n", str(ranks), args.jacobi, "s.toml"],
                           cwd=tmp, capture_output=True, text=True)
    m = re.search(r"wall time ([0-9.e+-]+) s", p.stdout)
    if p.returncode != 3 or m is None:
        raise SystemExit(f"time_bench.py: the sweep run failed (exit {p.returncode}):\n"
                         f"{p.stdout}{p.stderr}")
    return float(m.group(1)) / 400


def run(args, ranks, text):
    with tempfile.TemporaryDirectory(prefix="jacobi-time-bench-") as tmp:
        with open(os.path.join(tmp, "b.toml"), "w") as f:
            f.write(text)
        p = subprocess.run([args.mpiexec, "-n", str(ranks), args.jacobi, "-q", "b.toml"],
                           cwd=tmp, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"time_bench.py: jacobi failed (exit {p.returncode}):\n{p.stderr}")
    m = re.search(r"in (\d+) steps \((\d+) cycles, (\d+) sweeps, ([0-9.e+-]+) s;", p.stdout)
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), float(m.group(4))


def median(values):
    v = sorted(values)
    return v[len(v) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jacobi")
    ap.add_argument("--n", default="1023,2047", help="grid sizes (interior points a side)")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions (median)")
    ap.add_argument("--warm-up-n", type=int, default=1023,
                    help="the grid of the warm-up comparison (0: none)")
    ap.add_argument("--mpiexec", default="mpiexec")
    args = ap.parse_args()
    args.jacobi = os.path.abspath(args.jacobi)
    for n in (int(v) for v in args.n.split(",")):
        h = 1.0 / (n + 1)
        # C / diag inside a held plate of one material, less a hair for rounding
        limit = 0.999 * RHO * C * h * h / (4 * K)
        lam1 = K / (RHO * C) * math.pi ** 2 * 2
        t1 = math.log(100) / lam1
        print(f"{n}x{n}, explicit limit {limit:.4g} s, warm-up to 1%: {t1:.4g} s of simulated "
              "time")
        for ranks in (int(r) for r in args.ranks.split(",")):
            # one repetition: a plain sweep, an explicit step, implicit steps at 100 and 10000 x
            # the limit, each in the same order, so that the machine's load falls on all alike
            sweep, ex, im = [], [], {100: [], 10000: []}
            counts = {}
            for _ in range(args.reps):
                sweep.append(sweep_seconds(args, ranks, n))
                _, _, _, t = run(args, ranks, config(n, 20 * limit, 20, "explicit"))
                ex.append(t / 20)
                for factor in (100, 10000):
                    steps, cycles, sweeps, t = run(args, ranks,
                                                   config(n, 5 * factor * limit, 5, "implicit"))
                    im[factor].append(t / steps)
                    counts[factor] = (cycles / steps, sweeps / steps)
            per_sweep, per_step = median(sweep), median(ex)
            print(f"  {ranks} rank(s): a fine sweep {per_sweep:.3g} s, an explicit step "
                  f"{per_step:.3g} s ({per_step / per_sweep:.1f} sweeps: the step, its copy of "
                  f"the field and its change); median of {args.reps} interleaved")
            for factor in (100, 10000):
                ratios = sorted(t / s for t, s in zip(im[factor], sweep))
                print(f"  {ranks} rank(s): implicit step at {factor} x the limit: "
                      f"{median(im[factor]) / per_sweep:.1f} fine-sweep equivalents "
                      f"(per repetition {', '.join(f'{r:.1f}' for r in ratios)}; "
                      f"{counts[factor][0]:.1f} cycles + {counts[factor][1]:.1f} certificate "
                      f"passes a step)")
            if n != args.warm_up_n:
                continue
            steps, cycles, sweeps, wu = run(args, ranks, config(n, t1, 50, "bdf2"))
            _, _, _, wi = run(args, ranks, config(n, t1, 50, "implicit"))
            explicit_steps = math.ceil(t1 / limit)
            print(f"  {ranks} rank(s): warm-up to 1%: BDF2 in 50 steps {wu:.3g} s "
                  f"({cycles} cycles), backward Euler in 50 steps {wi:.3g} s; explicit "
                  f"{explicit_steps} steps x {per_step:.3g} s = {explicit_steps * per_step:.3g} s "
                  f"(EXTRAPOLATED from 20 measured steps): {explicit_steps * per_step / wu:.0f}x "
                  "BDF2's time")


if __name__ == "__main__":
    main()
