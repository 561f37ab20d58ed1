"""plot_check.py - scripts/plot.py draws a non-empty PNG of /temperature and of /owner, and
under a Python without its modules says what to install instead of a traceback.

usage: python3 plot_check.py PLOT_PY FILE.h5 OUTDIR
(a Python with h5py and matplotlib; CTest finds one, see tests/CMakeLists.txt)
"""
import os
import subprocess
import sys


def main():
    plot, h5, outdir = sys.argv[1:4]
    os.makedirs(outdir, exist_ok=True)
    for extra, name in (([], "temperature.png"), (["--owner"], "owner.png")):
        png = os.path.join(outdir, name)
        if os.path.exists(png):
            os.remove(png)
        p = subprocess.run([sys.executable, plot, h5, "-o", png, *extra], capture_output=True,
                           text=True)
        if p.returncode != 0:
            print(f"FAIL plot.py {' '.join(extra)}: exit {p.returncode}\n{p.stderr}",
                  file=sys.stderr)
            return 1
        with open(png, "rb") as f:
            data = f.read()
        if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 2000:
            print(f"FAIL {png}: expected a PNG of some size, got {len(data)} bytes",
                  file=sys.stderr)
            return 1
        print(f"ok {png}: {len(data)} bytes")
    # -S: no site-packages, as in a venv or pyenv Python without h5py and matplotlib
    p = subprocess.run([sys.executable, "-S", plot, h5, "-o", os.path.join(outdir, "x.png")],
                       capture_output=True, text=True)
    if p.returncode != 2 or "Traceback" in p.stderr or "needs h5py, NumPy and matplotlib" \
            not in p.stderr or "apt-get install python3-h5py" not in p.stderr:
        print(f"FAIL plot.py without its modules: expected exit 2 and one message naming what "
              f"to install, got exit {p.returncode}:\n{p.stderr}", file=sys.stderr)
        return 1
    print(f"ok without its modules: {p.stderr.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
