"""plot_series_check.py - scripts/plot.py on a transient's series (issue 31): frames at chosen
times and a temperature-vs-time curve at a point make one PNG as wide as its panels; a point off
the plate is refused (exit 2) with nothing written.

usage: plot_series_check.py PLOT_PY SERIES.h5 OUTDIR
"""
import os
import subprocess
import sys

import matplotlib.image


def main(plot, series, outdir):
    out = os.path.join(outdir, "warm-up.series.png")
    if os.path.exists(out):
        os.unlink(out)
    p = subprocess.run([sys.executable, plot, series, "--times", "0,150,600", "--point",
                        "0.15,0.1", "-o", out], capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(out):
        print(f"FAIL plot.py exit {p.returncode}:\n{p.stdout}{p.stderr}")
        return 1
    height, width = matplotlib.image.imread(out).shape[:2]
    if not width > 3 * height:  # three frames and a curve side by side
        print(f"FAIL the picture is {width} x {height}: not four panels side by side")
        return 1
    bad = os.path.join(outdir, "off.png")
    p = subprocess.run([sys.executable, plot, series, "--point", "5,5", "-o", bad],
                       capture_output=True, text=True)
    if p.returncode != 2 or os.path.exists(bad) or "off the plate" not in p.stderr:
        print(f"FAIL a point off the plate: exit {p.returncode}, {p.stderr!r}")
        return 1
    print("ok plot.py draws the series' frames and curve")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
