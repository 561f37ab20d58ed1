#!/usr/bin/env python3
"""plot.py - a heat map of a file written by jacobi, or the convergence of several runs.

usage: plot.py FILE.h5 [-o OUT.png] [--owner]
       plot.py --history FILE.h5 [FILE.h5...] [-o OUT.png]
       plot.py SERIES.h5 [--times T1,T2,...] [--point X,Y] [-o OUT.png]

Draws /temperature (or, with --owner, /owner: which rank owns each point, -1 on
the boundary ring) as an image with a colour bar as tall as the plate and
labelled axes; the title gives the iteration count, the last agreed change and
the error left (estimate and bound, in degrees). A file with /fixed (the
fixed-temperature regions) gets each region's outline drawn over it. Axes are in
metres from the top-left corner (y down) when the file has `spacing`, grid
indices otherwise (files of older versions).

With --history, draws each file's /history (one row per check): the error
estimate (solid) and the guaranteed bound (dashed) against iterations (cycles
for multigrid) on the left and against seconds on the right, every run on the
same two plots: e.g. Jacobi, Chebyshev and multigrid on one plate.

A transient's series (a file with /series, written with [time]) gets one frame
per chosen time (--times, seconds; the nearest snapshot; default: the first,
the last and two between) on one figure with a shared colour scale, and, with
--point X,Y (metres from the top-left corner, y down), the temperature of the
grid point nearest it against time, beside them.

Needs h5py, numpy and matplotlib (Debian: python3-h5py python3-matplotlib);
runs headless (Agg).
"""
import argparse
import os
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import h5py  # noqa: E402
    import matplotlib.pyplot as plt  # noqa: E402
except ImportError as missing:
    # A pyenv or venv python3 first on PATH often lacks them while Debian's has them.
    others = [p for p in ("/usr/bin/python3",) if os.path.exists(p) and
              os.path.realpath(p) != os.path.realpath(sys.executable)]
    print(f"plot.py: {sys.executable} (Python {sys.version.split()[0]}) cannot import "
          f"{missing.name or missing}: plot.py needs h5py, NumPy and matplotlib. Install them "
          "for this Python (pip install h5py matplotlib), or install Debian's (apt-get install "
          "python3-h5py python3-matplotlib)"
          + (f" and run it with {others[0]} {sys.argv[0]} ..." if others else ""),
          file=sys.stderr)
    sys.exit(2)


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def edges_not_held(config):
    """Which of top, bottom, left, right are not held (insulated, a flux, convective), from the
    config text the file keeps: their ring holds no temperature, and their outermost nodes lie on
    them (docs/numerics.md, "Real plates")."""
    try:
        import tomllib
        boundary = tomllib.loads(config).get("boundary", {})
    except Exception:  # an older Python, or a text this reader cannot take: all held
        return {}
    free = {}
    for side in ("top", "bottom", "left", "right"):
        v = boundary.get(side)
        free[side] = v == "insulated" or (isinstance(v, dict) and "temperature" not in v)
    return free


def draw_regions(ax, fixed, h, wl=0, wt=0):
    """Outline each region of the mask /fixed (ny, nx; interior point (i, j) at
    x = (j + 1 - wl) h, y = (i + 1 - wt) h, wl and wt 1 where the left and top edges are not
    held): its 0.5 contour, one colour a region, and a legend."""
    import numpy

    ny, nx = fixed.shape
    x, y = numpy.meshgrid((numpy.arange(nx) + 1 - wl) * h, (numpy.arange(ny) + 1 - wt) * h)
    colours = matplotlib.colormaps["tab10"]
    handles = []
    for k, region in enumerate(int(r) for r in numpy.unique(fixed) if r > 0):
        inside = (fixed == region).astype(float)
        colour = colours(k % 10)
        if inside.min() < 0.5 < inside.max():  # a region covering everything has no outline
            ax.contour(x, y, inside, levels=[0.5], colors=[colour], linewidths=1.5)
        handles.append(matplotlib.lines.Line2D([], [], color=colour, label=f"region {region}"))
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.7)


def history(paths, out):
    """The --history plot of `paths` into `out`; 0, or 2 with one message."""
    runs = []
    for path in paths:
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            print(f"plot.py: cannot open {path} as an HDF5 file: {e}", file=sys.stderr)
            return 2
        with f:
            if "history" not in f:
                print(f"plot.py: {path} has no /history (written by jacobi from version 0.1.0 "
                      "with the convergence history on)", file=sys.stderr)
                return 2
            rows = f["history"][...]
            method = text(f.attrs.get("method", "?"))
            ranks = int(f.attrs.get("ranks", 0))
            iterations = int(f.attrs.get("iterations", rows[-1, 0]))
        runs.append((path, method, ranks, iterations, rows))
    fig, (by_count, by_time) = plt.subplots(1, 2, figsize=(12, 5))
    colours = matplotlib.colormaps["tab10"]
    for k, (path, method, ranks, iterations, rows) in enumerate(runs):
        colour = colours(k % 10)
        unit = "cycles" if method == "multigrid" else "iterations"
        label = f"{os.path.basename(path)}: {method}, {iterations} {unit}, {ranks} ranks"
        for ax, x in ((by_count, rows[:, 0]), (by_time, rows[:, 4])):
            ax.semilogy(x, rows[:, 2], color=colour, label=f"{label}, estimate")
            ax.semilogy(x, rows[:, 3], color=colour, linestyle="--", label="bound")
        print(f"{path}: {method}, {len(rows)} checks drawn, {iterations} {unit}, "
              f"error about {rows[-1, 2]:.3g} degrees, at most {rows[-1, 3]:.3g}")
    by_count.set_xlabel("iterations (multigrid: cycles)")
    by_time.set_xlabel("seconds since the solve began")
    for ax in (by_count, by_time):
        ax.set_ylabel("error left (degrees, against the exact discrete solution)")
        ax.grid(True, which="both", alpha=0.3)
    by_count.legend(fontsize="small")
    fig.suptitle("error estimate (solid) and guaranteed bound (dashed) at every check")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")
    return 0


def series(path, times, point, out):
    """Frames of /series/T at the snapshots nearest `times`, and the curve at `point`."""
    import numpy as np

    with h5py.File(path, "r") as f:
        T = f["series/T"]
        time = f["series/time"][...]
        g = f["series"].attrs
        h, x0, y0 = float(g["spacing"]), float(g["x0"]), float(g["y0"])
        scheme = text(g.get("scheme", "?"))
        if times is None:
            picks = sorted({0, len(time) // 3, 2 * len(time) // 3, len(time) - 1})
        else:
            picks = [int(np.abs(time - t).argmin()) for t in times]
        frames = [T[k] for k in picks]
        curve = None
        if point is not None:
            j = int(round((point[0] - x0) / h))
            i = int(round((point[1] - y0) / h))
            ny, nx = T.shape[1], T.shape[2]
            if not (0 <= i < ny and 0 <= j < nx):
                print(f"plot.py: the point {point} is off the plate", file=sys.stderr)
                return 2
            curve = (T[:, i, j], x0 + j * h, y0 + i * h)
    ny, nx = frames[0].shape
    lo = min(float(fr.min()) for fr in frames)
    hi = max(float(fr.max()) for fr in frames)
    ncols = len(frames) + (curve is not None)
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 4.0), squeeze=False)
    extent = (x0 - 0.5 * h, x0 + (nx - 0.5) * h, y0 + (ny - 0.5) * h, y0 - 0.5 * h)
    for ax, k, fr in zip(axes[0], picks, frames):
        image = ax.imshow(fr, cmap="inferno", origin="upper", interpolation="nearest",
                          extent=extent, vmin=lo, vmax=hi)
        ax.set_title(f"t = {time[k]:.6g} s")
        ax.set_xlabel("x (m)")
        if point is not None:
            ax.plot([curve[1]], [curve[2]], "c+", markersize=10)
    axes[0][0].set_ylabel("y (m, down from the top edge)")
    fig.colorbar(image, ax=list(axes[0][:len(frames)]), label="temperature (degrees)",
                 shrink=0.8)
    if curve is not None:
        ax = axes[0][-1]
        ax.plot(time, curve[0], "o-", markersize=3)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("temperature (degrees)")
        ax.set_title(f"at x = {curve[1]:.4g} m, y = {curve[2]:.4g} m")
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{os.path.basename(path)}: {nx} x {ny}, {scheme}, {len(time)} snapshots")
    fig.savefig(out, dpi=100, bbox_inches="tight")
    print(f"wrote {out}")
    return 0


def numbers(s, count=None):
    values = [float(v) for v in s.split(",")]
    if count is not None and len(values) != count:
        raise argparse.ArgumentTypeError(f"expected {count} numbers, got {s!r}")
    return values


def beside(ax):
    """An axes for the colour bar, right of `ax` and exactly as tall."""
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    return make_axes_locatable(ax).append_axes("right", size="4%", pad=0.1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", help="an HDF5 file written by jacobi")
    parser.add_argument("-o", "--output", help="PNG to write (default: FILE with .png)")
    parser.add_argument("--owner", action="store_true",
                        help="draw /owner (needs output.owner_map = true) instead of /temperature")
    parser.add_argument("--history", nargs="+", metavar="FILE.h5",
                        help="draw these files' convergence histories on one plot instead")
    parser.add_argument("--times", type=numbers, metavar="T1,T2,...",
                        help="a series: the times (s) to draw (the nearest snapshots)")
    parser.add_argument("--point", type=lambda s: numbers(s, 2), metavar="X,Y",
                        help="a series: the temperature against time at this point (m)")
    args = parser.parse_args(argv)
    if args.history:
        files = args.history + ([args.file] if args.file else [])
        return history(files, args.output or os.path.splitext(files[0])[0] + ".history.png")
    if not args.file:
        parser.error("a file is needed (or --history FILE.h5...)")
    out = args.output or os.path.splitext(args.file)[0] + (".owner" if args.owner else "") + ".png"
    name = "owner" if args.owner else "temperature"
    try:
        f = h5py.File(args.file, "r")
    except OSError as e:
        print(f"plot.py: cannot open {args.file} as an HDF5 file: {e}", file=sys.stderr)
        return 2
    if "series" in f:
        f.close()
        return series(args.file, args.times, args.point,
                      args.output or os.path.splitext(args.file)[0] + ".series.png")
    with f:
        if name not in f:
            hint = " (run with output.owner_map = true)" if args.owner else ""
            print(f"plot.py: {args.file} has no /{name}{hint}", file=sys.stderr)
            return 2
        data = f[name][...]
        iterations = int(f.attrs.get("iterations", -1))
        residual = float(f.attrs.get("residual", float("nan")))
        converged = bool(f.attrs.get("converged", 0))
        partitioner = text(f.attrs.get("partitioner", "?"))
        unit = "cycles" if text(f.attrs.get("method", "")) == "multigrid" else "iterations"
        ranks = int(f.attrs.get("ranks", 0))
        spacing = float(f.attrs["spacing"]) if "spacing" in f.attrs else None
        estimate = float(f.attrs.get("error_estimate", float("nan")))
        bound = float(f.attrs.get("error_bound", float("nan")))
        fixed = f["fixed"][...] if "fixed" in f else None
        free = edges_not_held(text(f.attrs.get("config", "")))
    ny, nx = data.shape[0] - 2, data.shape[1] - 2
    if not args.owner and any(free.values()):
        # the ring beyond an edge that is not held holds 0, no temperature: not drawn
        data = data.astype(float)
        for side, index in (("top", (0, slice(None))), ("bottom", (-1, slice(None))),
                            ("left", (slice(None), 0)), ("right", (slice(None), -1))):
            if free.get(side):
                data[index] = float("nan")
    fig, ax = plt.subplots(figsize=(7, 7 * data.shape[0] / max(data.shape[1], 1) + 1.0))
    h = spacing or 1.0  # ring point (i, j) at x = (j - wl) h, y = (i - wt) h: pixel centres on
    wl, wt = int(free.get("left", False)), int(free.get("top", False))  # the points
    extent = ((-0.5 - wl) * h, (nx + 1.5 - wl) * h, (ny + 1.5 - wt) * h, (-0.5 - wt) * h)
    if args.owner:
        # One colour per rank (and one for the boundary, -1), with integer ticks.
        values = int(data.max()) + 2
        cmap = matplotlib.colormaps["tab20"].resampled(values)
        norm = matplotlib.colors.BoundaryNorm([v - 0.5 for v in range(-1, values)], values)
        image = ax.imshow(data, cmap=cmap, norm=norm, origin="upper", interpolation="nearest",
                          extent=extent)
        ticks = range(-1, values - 1, max(1, values // 20))
        fig.colorbar(image, cax=beside(ax), label="owning rank (-1: boundary)", ticks=list(ticks))
    else:
        image = ax.imshow(data, cmap="inferno", origin="upper", interpolation="nearest",
                          extent=extent)
        fig.colorbar(image, cax=beside(ax), label="temperature (degrees)")
    if fixed is not None:
        draw_regions(ax, fixed, h, wl, wt)
    if spacing:
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m, down from the top edge)")
    else:
        ax.set_xlabel("column j (0 and nx + 1: left and right edges)")
        ax.set_ylabel("row i (0: top edge, ny + 1: bottom edge)")
    state = "converged" if converged else "not converged"
    ax.set_title(f"{os.path.basename(args.file)}: {nx} x {ny}, {ranks} ranks {partitioner}\n"
                 f"{iterations} {unit} ({state}), last change {residual:.3e}\n"
                 f"error left about {estimate:.3g} degrees, at most {bound:.3g}")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
