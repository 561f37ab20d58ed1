"""plot_check.py - scripts/plot.py draws a non-empty PNG of /temperature and of /owner, and
under a Python without its modules says what to install instead of a traceback. With /fixed
(regions) it draws their outlines (the picture differs from the one without), in metres when
the file has `spacing`, and still draws a file of an older version without `spacing`.

usage: python3 plot_check.py PLOT_PY FILE.h5 OUTDIR
(a Python with h5py and matplotlib; CTest finds one, see tests/CMakeLists.txt)
"""
import os
import shutil
import subprocess
import sys


def plot(plot_py, h5, png, extra=()):
    """Run plot.py; the PNG's bytes, or None (with the failure printed)."""
    if os.path.exists(png):
        os.remove(png)
    p = subprocess.run([sys.executable, plot_py, h5, "-o", png, *extra], capture_output=True,
                       text=True)
    if p.returncode != 0:
        print(f"FAIL plot.py {h5} {' '.join(extra)}: exit {p.returncode}\n{p.stderr}",
              file=sys.stderr)
        return None
    with open(png, "rb") as f:
        data = f.read()
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 2000:
        print(f"FAIL {png}: expected a PNG of some size, got {len(data)} bytes", file=sys.stderr)
        return None
    print(f"ok {png}: {len(data)} bytes")
    return data


def check_regions(plot_py, h5, outdir):
    """A copy of the file with two regions in /fixed (and one without `spacing`, as an older
    file): both draw, and the outlines change the picture."""
    import h5py
    import matplotlib.image
    import numpy

    plain, regions, old = (os.path.join(outdir, n) for n in ("plain.h5", "regions.h5", "old.h5"))
    for copy in (plain, regions, old):
        shutil.copyfile(h5, copy)
        with h5py.File(copy, "a") as f:
            for name in ("fixed", "source"):
                if name in f:
                    del f[name]
    with h5py.File(regions, "a") as f:
        ny, nx = f["temperature"].shape[0] - 2, f["temperature"].shape[1] - 2
        i, j = numpy.mgrid[0:ny, 0:nx]
        mask = numpy.zeros((ny, nx), dtype="u1")
        mask[(i - ny / 2) ** 2 + (j - nx / 3) ** 2 <= (min(nx, ny) / 5) ** 2] = 1
        mask[ny // 4:ny // 2, 2 * nx // 3:5 * nx // 6] = 2
        f["fixed"] = mask
        f.attrs["spacing"] = 0.5 / (nx + 1)
    with h5py.File(plain, "a") as f:
        f.attrs["spacing"] = 0.5 / (f["temperature"].shape[1] - 1)
    with h5py.File(old, "a") as f:
        for name in ("spacing", "width", "height", "conductivity", "thickness"):
            if name in f.attrs:
                del f.attrs[name]
    pictures = {}
    for name, path in (("plain", plain), ("regions", regions), ("old", old)):
        if plot(plot_py, path, os.path.join(outdir, name + ".png")) is None:
            return 1
        pictures[name] = matplotlib.image.imread(os.path.join(outdir, name + ".png"))
    if pictures["plain"].shape != pictures["regions"].shape:
        print("FAIL the picture with regions has another size than the one without",
              file=sys.stderr)
        return 1
    changed = numpy.any(numpy.abs(pictures["plain"] - pictures["regions"]) > 0.1, axis=-1).mean()
    if changed < 0.002:
        print(f"FAIL /fixed drew no outlines: {changed:.2%} of the pixels changed",
              file=sys.stderr)
        return 1
    print(f"ok the regions' outlines: {changed:.2%} of the pixels changed")
    return 0


def main():
    plot_py, h5, outdir = sys.argv[1:4]
    os.makedirs(outdir, exist_ok=True)
    for extra, name in (([], "temperature.png"), (["--owner"], "owner.png")):
        if plot(plot_py, h5, os.path.join(outdir, name), extra) is None:
            return 1
    if check_regions(plot_py, h5, outdir) != 0:
        return 1
    # -S: no site-packages, as in a venv or pyenv Python without h5py and matplotlib
    p = subprocess.run([sys.executable, "-S", plot_py, h5, "-o", os.path.join(outdir, "x.png")],
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
