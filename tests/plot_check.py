"""plot_check.py - scripts/plot.py draws a non-empty PNG of /temperature and of /owner.

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
