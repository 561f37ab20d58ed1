#!/usr/bin/env python3
"""tts.py - time to solution: the wall time of each method to a field whose TRUE max error is
at most a given fraction of the temperature range, measured against the exact solution of the
same discrete equations (tests/e2e/exact.py, a sine transform). bench.sh's section 7.

For each grid n x n and method it finds the fewest iterations whose field is that close, by
bisection over solver.max_iterations between 0 and the count at which the guaranteed bound
(solver.target_error) stops the run, then times runs of exactly that many iterations (checks
only at the end; median of --repeat) and the run that stops on the bound itself. Jacobi's count
on grids where it is out of reach (over --jacobi-max iterations) is extrapolated from the
largest grid measured as (n + 1)^2, and its time from the rate measured in a short run: the
table says so.

usage: tts.py --jacobi BIN --launch "mpirun -n 1" --sizes "256 512" --out CSV [--repeat R]
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import exact  # noqa: E402

CONFIG = """[grid]
nx = {n}
ny = {n}
[boundary]
top = 100.0
[solver]
method = "{method}"
[output]
path = "{out}"
"""
RANGE = 100.0


def run(args, n, method, sets, tmp):
    path = os.path.join(tmp, "tts.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(n=n, method=method, out=os.path.join(tmp, "tts.h5")))
    cmd = shlex.split(args.launch) + [args.jacobi, "--quiet"]
    for kv in sets:
        cmd += ["--set", kv]
    cmd.append(path)
    env = dict(os.environ, OMPI_MCA_orte_abort_on_non_zero_status="0")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    m = re.search(r"after (\d+) (?:iterations?|cycles?).*\n.*\n?(?:.*\n)*?\s*wall time ([0-9.]+) s", p.stdout)
    if p.returncode not in (0, 3) or not m:
        raise SystemExit(f"tts.py: {' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return int(m.group(1)), float(m.group(2)), os.path.join(tmp, "tts.h5")


def true_error(h5):
    with h5py.File(h5, "r") as f:
        return exact.max_error(f["temperature"][...])


def fewest_iterations(args, n, method, goal, upper, tmp):
    """The fewest iterations (to 1%, by bisection) whose true error is <= goal, below upper."""
    lo, hi = 0, upper
    while hi - lo > max(1, hi // 100):
        mid = (lo + hi) // 2
        _, _, h5 = run(args, n, method, (f"solver.max_iterations={mid}", "solver.tolerance=1e-300",
                                         f"solver.check_interval={mid}"), tmp)
        if true_error(h5) <= goal:
            hi = mid
        else:
            lo = mid
    return hi


def timed(args, n, method, k, tmp):
    walls = sorted(run(args, n, method, (f"solver.max_iterations={k}", "solver.tolerance=1e-300",
                                         f"solver.check_interval={k}"), tmp)[1]
                   for _ in range(args.repeat))
    return walls[(len(walls) - 1) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jacobi", required=True)
    parser.add_argument("--launch", default="mpirun -n 1")
    parser.add_argument("--sizes", default="256 512 1024 2048")
    parser.add_argument("--fraction", type=float, default=1e-3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jacobi-max", type=int, default=60000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    goal = args.fraction * RANGE
    rows = []
    measured_jacobi = None  # (n, iterations) of the largest grid measured
    with tempfile.TemporaryDirectory(prefix="jacobi-tts-") as tmp:
        for n in (int(s) for s in args.sizes.split()):
            for method in ("jacobi", "chebyshev"):
                predicted = None
                if method == "jacobi" and measured_jacobi is not None:
                    m0, k0 = measured_jacobi
                    predicted = int(k0 * ((n + 1) / (m0 + 1)) ** 2)
                if predicted is not None and predicted > args.jacobi_max:
                    # out of reach: the measured rate of a short run, times the extrapolated count
                    k_short = max(20, args.jacobi_max // 20)
                    wall = timed(args, n, method, k_short, tmp)
                    rows.append((n, method, predicted, wall * predicted / k_short, "", "", "extrapolated"))
                    continue
                kb, wall_b, h5 = run(args, n, method, (f"solver.target_error={goal}",
                                                      "solver.check_interval=10",
                                                      "solver.max_iterations=100000000"), tmp)
                k = fewest_iterations(args, n, method, goal, kb, tmp)
                if method == "jacobi":
                    measured_jacobi = (n, k)
                rows.append((n, method, k, timed(args, n, method, k, tmp), kb, wall_b, "measured"))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("n,method,iterations,seconds,bound_iterations,bound_seconds,how\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")
    print(f"   {'n':>6} {'method':<10} {'iterations':>11} {'seconds':>10} {'speedup':>8} "
          f"{'by the bound: iterations':>25} {'seconds':>9}  how")
    jacobi_s = {}
    for n, method, k, s, kb, sb, how in rows:
        if method == "jacobi":
            jacobi_s[n] = s
        speed = (f"{jacobi_s[n] / s:8.1f}" if method != "jacobi" and n in jacobi_s and s > 0
                 else f"{'-':>8}")
        kb_text = f"{kb:>25}" if kb != "" else f"{'-':>25}"
        sb_text = f"{sb:9.3f}" if sb != "" else f"{'-':>9}"
        print(f"   {n:>6} {method:<10} {k:>11} {s:10.3f} {speed} {kb_text} {sb_text}  {how}")


if __name__ == "__main__":
    main()
