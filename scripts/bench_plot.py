#!/usr/bin/env python3
"""bench_plot.py - draw scripts/bench.sh's CSVs as one PNG of six panels.

Usage: bench_plot.py DIR OUT.png      (DIR holds stream.csv, kernel.csv, scaling.csv, halo.csv
                                       and partitioners.csv as bench.sh writes them)

  1. the kernel's MLUP/s against grid size, with the memory roofline (copy GB/s / 16 B) drawn
  2. strong and weak scaling: MLUP/s against ranks, with ideal (linear) lines
  3. halo exchange time per iteration against grid size, by path (shm, p2p)
  4. the partitioners: time per iteration, and halo KiB per iteration between ranks
  5. time to solution: seconds and iterations of each method to a true error of 0.1% of the
     range, against n (Jacobi's extrapolated points hollow)

Needs only matplotlib (no numpy), Agg backend: no display. bench.sh runs it with Debian's
/usr/bin/python3 when that has matplotlib. An empty CSV leaves its panel saying so.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def read_rows(directory, name):
    """Rows of DIR/NAME as dicts; [] when the file is missing."""
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def empty(ax, title, why="no data"):
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes)


def marked(rows):
    return any(r.get("oversubscribed") == "yes" for r in rows)


def plot_kernel(ax, kernel, stream):
    title = "Kernel alone, 1 rank"
    if not kernel:
        return empty(ax, title)
    n = sorted({int(r["n"]) for r in kernel})
    for stores, style, label in (("regular", "o-", "regular stores"),
                                 ("streaming", "s--", "streaming stores"),
                                 ("update", "^:", "no max-diff (between checks)"),
                                 ("chebyshev", "d-.", "chebyshev (weighted)")):
        rows = [r for r in kernel if r.get("stores", "regular") == stores]
        ax.plot([int(r["n"]) for r in rows], [float(r["mlups"]) for r in rows], style,
                label=f"{label} (median)")
    ax.axhline(float(kernel[0]["roofline_mlups"]), color="C3", ls="--",
               label="roofline: copy (1 rank) / 16 B")
    for r in stream:
        if r["kernel"] == "copy" and int(r["ranks"]) > 1:
            ax.axhline(float(r["best_gbs"]) * 1e3 / 16, color="C3", ls=":",
                       label=f"copy ({r['ranks']} ranks) / 16 B")
    ax.set_xscale("log", base=2)
    ax.set_xticks(n, [f"{v}²" for v in n])
    ax.set_xlabel("grid (n x n)")
    ax.set_ylabel("MLUP/s")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend(fontsize="small")


def plot_scaling(ax, scaling):
    title = "Scaling (jacobi)" + (" — some runs oversubscribed" if marked(scaling) else "")
    if not scaling:
        return empty(ax, title)
    for kind, colour in (("strong", "C0"), ("weak", "C1")):
        rows = [r for r in scaling if r["kind"] == kind]
        if not rows:
            continue
        ranks = [int(r["ranks"]) for r in rows]
        mlups = [float(r["mlups"]) for r in rows]
        grid = f"{rows[0]['nx']}²" if kind == "strong" else f"{rows[0]['nx']}² per rank"
        ax.plot(ranks, mlups, "o-", color=colour, label=f"{kind}, {grid}")
        ax.plot(ranks, [mlups[0] * p / ranks[0] for p in ranks], ":", color=colour,
                label=f"{kind}, ideal")
        for r, p, m in zip(rows, ranks, mlups):
            if r.get("oversubscribed") == "yes":
                ax.annotate("oversub.", (p, m), fontsize="x-small")
    ax.set_xlabel("ranks")
    ax.set_ylabel("MLUP/s")
    ax.set_ylim(bottom=0)
    ax.set_xticks(sorted({int(r["ranks"]) for r in scaling}))
    ax.set_title(title)
    ax.legend(fontsize="small")


def plot_halo(ax, halo):
    title = "Halo exchange by path, 2 ranks" + (" (oversubscribed)" if marked(halo) else "")
    if not halo:
        return empty(ax, title, "skipped (needs 2 ranks)")
    n = [int(r["n"]) for r in halo]
    drawn = False
    for column, style, label in (("shm_halo_us", "o-", "shm"), ("p2p_halo_us", "s-", "p2p")):
        # jacobi prints times to the millisecond: a short run may read 0, which a log axis drops
        points = [(x, float(r[column])) for x, r in zip(n, halo) if float(r[column]) > 0]
        if points:
            ax.plot([x for x, _ in points], [y for _, y in points], style,
                    label=f'halo.mode "{label}"')
            drawn = True
    if not drawn:
        return empty(ax, title, "every halo time below jacobi's 1 ms resolution")
    if "resolution_us" in halo[0]:
        ax.plot(n, [float(r["resolution_us"]) for r in halo], ":", color="grey",
                label="resolution (1 ms / iterations)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(n, [f"{v}²" for v in n])
    ax.set_xlabel("grid (n x n)")
    ax.set_ylabel("halo time per iteration (µs)")
    ax.set_title(title)
    ax.legend(fontsize="small")


def plot_partitioners(ax, parts):
    title = "Partitioners, 2 ranks" + (" (oversubscribed)" if marked(parts) else "")
    if not parts:
        return empty(ax, title, "skipped (needs 2 cores)")
    names = [r["partitioner"] if r["block_size"] in ("-", "1") else f"bc {r['block_size']}"
             for r in parts]
    x = range(len(parts))
    ax.bar(x, [float(r["ms_per_iteration"]) for r in parts], color="C0", label="ms / iteration")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("ms per iteration", color="C0")
    twin = ax.twinx()
    kib = [float(r["halo_kib_between_ranks"]) for r in parts]
    twin.plot(list(x), kib, "D-", color="C3")
    twin.set_ylabel("halo KiB / iteration between ranks (log)", color="C3")
    if min(kib) > 0:
        twin.set_yscale("log")  # block's 2 rows against cyclic's every row: orders of magnitude
    ax.set_title(f"{title}, {parts[0]['n']}²")


def plot_tts(ax, rows, column, ylabel, title):
    """Time to solution: `column` of each method against n, log-log; Jacobi's extrapolated
    points hollow."""
    if not rows:
        return empty(ax, title)
    for method, color in (("jacobi", "C0"), ("chebyshev", "C1")):
        mine = [r for r in rows if r["method"] == method]
        for how, face in (("measured", color), ("extrapolated", "none")):
            pts = [r for r in mine if r["how"] == how]
            ax.plot([int(r["n"]) for r in pts], [float(r[column]) for r in pts], "o",
                    color=color, markerfacecolor=face,
                    label=f"{method} ({how})" if pts else None)
        ax.plot([int(r["n"]) for r in mine], [float(r[column]) for r in mine], "-", color=color)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n (n x n plate)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    directory, png = argv[1], argv[2]
    fig, axes = plt.subplots(3, 2, figsize=(13, 13))
    plot_kernel(axes[0][0], read_rows(directory, "kernel.csv"), read_rows(directory, "stream.csv"))
    plot_scaling(axes[0][1], read_rows(directory, "scaling.csv"))
    plot_halo(axes[1][0], read_rows(directory, "halo.csv"))
    plot_partitioners(axes[1][1], read_rows(directory, "partitioners.csv"))
    tts = read_rows(directory, "tts.csv")
    plot_tts(axes[2][0], tts, "seconds", "seconds",
             "Time to a true error of 0.1% of the range, 1 rank")
    plot_tts(axes[2][1], tts, "iterations", "iterations (Jacobi ~ n^2, Chebyshev ~ n)",
             "Iterations to that error")
    title = "jacobi benchmarks (scripts/bench.sh)"
    table = os.path.join(directory, "bench.txt")
    if os.path.exists(table):
        with open(table) as f:
            text = f.read()
        if "--quick" in text:
            title += " — --quick: a smoke test, not a measurement"
        elif "the machine is busy" in text:
            title += " — the machine was busy: noisy timings"
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
