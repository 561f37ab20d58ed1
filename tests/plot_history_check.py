"""plot_history_check.py - scripts/plot.py --history on real runs: Jacobi, Chebyshev and
multigrid on one plate, drawn on one plot (a PNG that changes when a run is left out), each
run's checks all drawn (the count plot.py reports is the rows of /history, read with h5py);
a file without /history is refused with one message.

usage: python3 plot_history_check.py PLOT_PY JACOBI MPIEXEC CONFIG OUTDIR
(a Python with h5py and matplotlib; CTest finds one, see tests/CMakeLists.txt)
"""
import os
import re
import subprocess
import sys

import h5py
import matplotlib.image
import numpy


def fail(message):
    print(f"FAIL {message}", file=sys.stderr)
    return 1


def main():
    plot_py, jacobi, mpiexec, config, outdir = sys.argv[1:6]
    os.makedirs(outdir, exist_ok=True)
    files = []
    for method in ("jacobi", "chebyshev", "multigrid"):
        path = os.path.join(outdir, f"history-{method}.h5")
        p = subprocess.run([mpiexec, "-n", "2", jacobi, "--quiet", "--set", "grid.nx=48",
                            "--set", "grid.ny=40", "--set", f"solver.method={method}", "--set",
                            f"output.path={path}", config], capture_output=True, text=True,
                           timeout=300)
        if p.returncode != 0:
            return fail(f"jacobi, {method}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
        with h5py.File(path, "r") as f:
            if int(f.attrs["ranks"]) != 2:
                return fail(f"jacobi, {method}: started on 2 ranks, the file says "
                            f"{int(f.attrs['ranks'])}: is {mpiexec} the launcher of its MPI?")
        files.append(path)
    pictures = {}
    for name, runs in (("three", files), ("two", files[:2])):
        png = os.path.join(outdir, f"history-{name}.png")
        if os.path.exists(png):
            os.remove(png)
        p = subprocess.run([sys.executable, plot_py, "--history", *runs, "-o", png],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0 or not os.path.exists(png):
            return fail(f"plot.py --history {runs}: exit {p.returncode}\n{p.stderr}")
        for path in runs:
            with h5py.File(path, "r") as f:
                rows = f["history"].shape[0]
                method = f.attrs["method"].decode()
            if not re.search(rf"^{re.escape(path)}: {method}, {rows} checks drawn", p.stdout,
                             re.M):
                return fail(f"plot.py --history: expected '{path}: {method}, {rows} checks "
                            f"drawn', got:\n{p.stdout}")
        pictures[name] = matplotlib.image.imread(png)
    if pictures["three"].shape != pictures["two"].shape:
        return fail("the plots of three and two runs differ in size")
    changed = numpy.any(numpy.abs(pictures["three"] - pictures["two"]) > 0.1, axis=-1).mean()
    if changed < 0.002:
        return fail(f"the multigrid run drew nothing: {changed:.2%} of the pixels changed")
    print(f"ok three runs on one plot; the third changed {changed:.2%} of the pixels")
    old = os.path.join(outdir, "history-old.h5")
    with h5py.File(files[0], "r") as src, h5py.File(old, "w") as dst:
        dst["temperature"] = src["temperature"][...]
    p = subprocess.run([sys.executable, plot_py, "--history", old], capture_output=True,
                       text=True, timeout=300)
    if p.returncode != 2 or "has no /history" not in p.stderr or "Traceback" in p.stderr:
        return fail(f"a file without /history: expected exit 2 and one message, got exit "
                    f"{p.returncode}:\n{p.stderr}")
    print(f"ok a file without /history: {p.stderr.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
