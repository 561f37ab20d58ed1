#!/usr/bin/env python3
"""End-to-end tests of solver.method = "multigrid": the real binary under mpiexec.

Bit for bit the same field and cycle count on every rank count (1-4, oversubscribed),
partitioner, block size, process grid, halo mode and ranks_per_node, also where coarse levels
have fewer points than ranks; the result against the exact solution of the discrete equations
(exact.py, a sine transform) for every cycle, smoother and the full-multigrid start; the
convergence factor of V(2,2) on many shapes; restarts and signals mid-solve; every new config
error.

usage: e2e_multigrid.py --jacobi PATH --mpiexec PATH --source DIR (--list | CASE)
"""
import math
import os
import re
import signal
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
import e2e_error  # noqa: E402
import e2e_io  # noqa: E402
from e2e import PARTITIONERS, GRIDS, Failure, expect_exit, expect_in  # noqa: E402

MG = "solver.method=multigrid"


def factor(p):
    """The residual's reduction a cycle, from the summary."""
    m = re.search(r"residual reduced ([0-9.e+-]+) x a cycle", p.stdout)
    if not m:
        raise Failure(f"no convergence factor in the summary:\n{p.stdout}\n{p.stderr}")
    return float(m.group(1))


# ---- bit for bit ---------------------------------------------------------------------------

def case_multigrid_identical_partitioners_and_grids():
    """Every partitioner and process grid on 2-4 ranks, on a grid whose coarse levels live on
    several ranks (150 x 110: level 1 is 75 x 55 over the fine process grid) and on the small
    37 x 53 one: the same cycles and checksum as 1 rank."""
    for nx, ny in ((150, 110), (37, 53)):
        combos = [(r, p, b, g, "auto", 0) for r in (2, 3) for (p, b), g in
                  zip(PARTITIONERS * 2, GRIDS * 3)]
        combos += [(4, p, b, (2, 2), "auto", 0) for p, b in PARTITIONERS]
        e2e.identical_to_one_rank(combos, nx=nx, ny=ny, method="multigrid")


def case_multigrid_identical_on_2_ranks():
    """Within 2 ranks (the MPICH leg's limit): every partitioner, shared windows and messages,
    on a plate whose coarse levels span both ranks and on one that is its own coarsest level."""
    combos = [(2, p, b, g, mode, 0) for (p, b), g, mode in
              zip(PARTITIONERS, GRIDS + [(0, 0)], ("auto", "p2p", "auto", "p2p"))]
    for nx, ny in ((150, 110), (7, 5)):
        e2e.identical_to_one_rank(combos, nx=nx, ny=ny, method="multigrid")


def case_multigrid_identical_halo_modes_nodes_and_idle_ranks():
    """Shared windows and messages, nodes of 1 and 2 ranks, and plates so small or thin that
    some ranks own nothing on the coarse levels (or on the fine one), or the plate is its own
    coarsest level (7 x 5: fewer points than 4 ranks x 16)."""
    combos = [(ranks, p, b, (0, 0), mode, rpn) for ranks, (p, b), mode, rpn in
              ((2, PARTITIONERS[0], "p2p", 0), (3, PARTITIONERS[1], "auto", 1),
               (4, PARTITIONERS[2], "auto", 2), (4, PARTITIONERS[3], "p2p", 1),
               (4, PARTITIONERS[0], "shm", 0))]
    e2e.identical_to_one_rank(combos, nx=90, ny=70, method="multigrid")
    for nx, ny in ((7, 5), (3, 200), (300, 2)):
        e2e.identical_to_one_rank([(4, "block", 1, (4, 1), "auto", 0),
                                   (4, "cyclic", 1, (1, 4), "p2p", 0),
                                   (3, "block-cyclic", 2, (0, 0), "auto", 1)],
                                  nx=nx, ny=ny, method="multigrid")


def case_multigrid_identical_cycles_and_smoothers():
    """W and F cycles, the Chebyshev and damped-Jacobi smoothers, uneven smoothing counts and
    the full-multigrid start are pointwise too."""
    combos = [(2, "cyclic", 1, (0, 1), "auto", 0), (3, "block-cyclic", 5, (0, 0), "p2p", 0),
              (4, "block", 1, (2, 2), "auto", 2)]
    for sets in (("solver.multigrid.cycle=W",), ("solver.multigrid.cycle=F",
                                                 "solver.multigrid.fmg=true"),
                 ("solver.multigrid.smoother=chebyshev", "solver.multigrid.pre=3",
                  "solver.multigrid.post=1"),
                 ("solver.multigrid.smoother=jacobi", "solver.multigrid.pre=0")):
        reference = e2e.run(e2e.plate(120, 90), ranks=1,
                            args=tuple(a for kv in (MG,) + sets for a in ("--set", kv)))
        expect_exit(reference, 0, f"1 rank {sets}")
        want = e2e.fingerprint(reference)
        for ranks, part, block, grid, mode, rpn in combos:
            text = e2e.plate(120, 90, partitioner=part, block_size=block, grid=grid, mode=mode,
                             rpn=rpn)
            p = e2e.run(text, ranks=ranks, args=tuple(a for kv in (MG,) + sets
                                                      for a in ("--set", kv)))
            what = f"{ranks} ranks {part} {block} {grid} {mode} {rpn} {sets}"
            expect_exit(p, 0, what)
            e2e.expect_ranks(p, ranks, what)
            if e2e.fingerprint(p) != want:
                raise Failure(f"{what}: {e2e.fingerprint(p)}, 1 rank {want}")


def case_multigrid_random_differential():
    """Configurations nobody picked (fixed seed): random grids, ranks, partitioners, grids,
    halo modes, cycles and smoothers; each equals its 1-rank run."""
    import random
    rng = random.Random(20261215)
    for trial in range(16):
        nx, ny = rng.randint(1, 260), rng.randint(1, 90)
        ranks = rng.randint(1, 4)
        part, block = rng.choice(PARTITIONERS + [("block-cyclic", rng.randint(1, 9))])
        grid = rng.choice(GRIDS + [(2, 2), (ranks, 1), (1, ranks)])
        if grid[0] * grid[1] not in (0, ranks) and 0 not in grid:
            grid = (0, 0)
        mode, rpn = rng.choice([("auto", 0), ("p2p", 0), ("auto", 1), ("p2p", 2)])
        sets = [MG, f"solver.multigrid.cycle={rng.choice('VWF')}",
                f"solver.multigrid.smoother={rng.choice(['redblack', 'chebyshev', 'jacobi'])}",
                f"solver.multigrid.pre={rng.randint(1, 3)}",
                f"solver.multigrid.post={rng.randint(0, 3)}",
                f"solver.multigrid.fmg={rng.choice(['true', 'false'])}",
                f"solver.max_iterations={rng.choice([3, 100])}"]
        args = tuple(a for kv in sets for a in ("--set", kv))
        reference = e2e.run(e2e.plate(nx, ny, tol=1e-6), ranks=1, args=args)
        text = e2e.plate(nx, ny, tol=1e-6, partitioner=part, block_size=block, grid=grid,
                         mode=mode, rpn=rpn)
        p = e2e.run(text, ranks=ranks, args=args)
        what = f"trial {trial}: {nx} x {ny} on {ranks} ranks, {part} {block}, {grid}, {sets}"
        if p.returncode == 2 and reference.returncode != 2:
            continue  # refused (more ranks than points): fine
        expect_exit(p, reference.returncode, what)
        if p.returncode in (0, 3):
            e2e.expect_ranks(p, ranks, what)
            if e2e.fingerprint(p) != e2e.fingerprint(reference):
                raise Failure(f"{what}: {e2e.fingerprint(p)}, 1 rank {e2e.fingerprint(reference)}")


# ---- against the truth -------------------------------------------------------------------

SHAPES = [(1, 1), (3, 3), (1, 17), (2, 200), (13, 13), (31, 64), (97, 5), (64, 64), (127, 33),
          (256, 256), (300, 77)]


def case_multigrid_target_error_is_met_against_exact():
    """target_error stops multigrid only where the true error (against the sine-transform
    solution) is below it, and the bound is never below the true error, for every cycle and
    smoother, on grids from 1 x 1 to 2 x 200, with four sets of edges and starts."""
    cycles = [(), ("solver.multigrid.cycle=W",), ("solver.multigrid.cycle=F",
                                                  "solver.multigrid.fmg=true"),
              ("solver.multigrid.smoother=chebyshev",), ("solver.multigrid.smoother=jacobi",)]
    for i, (nx, ny) in enumerate(SHAPES):
        edges, interior = e2e_error.EDGES[i % len(e2e_error.EDGES)]
        floor = e2e_error.rounding_floor(edges, interior)
        for target in (1e-2, 1e-6):
            extra = cycles[(i + int(target < 1e-3)) % len(cycles)]
            p, attrs, true = e2e_error.solve(e2e_error.config(nx, ny, edges, interior),
                                             (MG, f"solver.target_error={target}") + extra,
                                             want_exit=(0,))
            what = f"{nx} x {ny}, edges {edges}, target {target}, {extra}"
            if not true <= target + floor:
                raise Failure(f"{what}: true error {true:.3g} above the target")
            e2e_error.check_estimate(what, attrs, true, floor, 0.25, 4.0)


def case_multigrid_convergence_factor_is_below_a_tenth():
    """V(2,2) with red-black smoothing reduces the residual by at least 10x a cycle on every
    shape, two-grid and multigrid, independently of size: 40^2 to 1023^2, odd and even, and
    thin plates to 1:400. (A
    plate of 1024 points or fewer, 32^2, is its own coarsest level: one cycle solves it.)"""
    p = e2e.run(e2e.plate(32, 32, tol=1e-9), args=("--set", MG))
    expect_exit(p, 0, "32 x 32")
    if e2e.fingerprint(p)[0] != 1:
        raise Failure(f"32 x 32: expected one cycle (solved exactly), got {e2e.fingerprint(p)}")
    seen = []
    # two-grid (the hierarchy has two levels): 40^2, 63^2, 100 x 37, 2000 x 5; multigrid: the rest
    for nx, ny in ((40, 40), (63, 63), (100, 37), (2000, 5), (255, 255), (256, 256),
                   (1023, 1023), (1000, 16), (64, 4096), (300, 77)):
        p = e2e.run(e2e.plate(nx, ny, tol=1e-9), args=("--verbose", "--set", MG))
        expect_exit(p, 0, f"{nx} x {ny}")
        f = factor(p)
        seen.append((nx, ny, f))
        if not f <= 0.1:
            raise Failure(f"{nx} x {ny}: residual reduced {f} x a V(2,2) cycle, expected <= 0.1")
    print("V(2,2) factors:", seen)


def continuous(nx, rows, top):
    """The continuous solution of the square-celled plate (width 1, height (nx + 1) h for an
    nx x nx grid, h = 1 / (nx + 1)) whose top edge is `top` and other edges 0, at the first
    `rows` interior rows: the Fourier series, sum over odd n of 4 top / (n pi) sin(n pi x)
    sinh(n pi (H - d)) / sinh(n pi H), d the depth below the top edge, to n pi h = 60."""
    h = 1.0 / (nx + 1)
    height = (nx + 1) * h
    x = (np.arange(1, nx + 1) * h)[None, :]
    d = (np.arange(1, rows + 1) * h)[:, None]
    t = np.zeros((rows, nx))
    for n in range(1, int(60 / (math.pi * h)) + 2, 2):
        k = n * math.pi
        ratio = np.exp(-k * d) * -np.expm1(-2 * k * (height - d)) / -math.expm1(-2 * k * height)
        t += 4 * top / k * ratio * np.sin(k * x)
    return t


def case_multigrid_fmg_reaches_the_discretization_error():
    """Full multigrid, the default start: one cycle (V or F) leaves a true error against the
    discrete solution within 0.1% of the temperature range and below the discrete solution's
    own distance to the continuous one (the discretization error, 0.72 degrees next to the top
    corners); a second cycle brings it within 0.01%, at every size."""
    for n in (63, 256, 1023):
        text = e2e_error.config(n, n, (100.0, 0.0, 0.0, 0.0), 0.0)
        discrete_vs_continuous = discretization_error(n)
        for cycle in ("V", "F"):
            errors = []
            for cycles in (1, 2):
                p, attrs, true = e2e_error.solve(text, (MG, f"solver.multigrid.cycle={cycle}",
                                                        f"solver.max_iterations={cycles}",
                                                        "solver.tolerance=1e-30"),
                                                 want_exit=(3,))
                if attrs["iterations"] != cycles:
                    raise Failure(f"{n}^2: ran {attrs['iterations']} cycles, asked for {cycles}")
                errors.append(true)
            if not (errors[0] < discrete_vs_continuous and errors[0] <= 0.1):
                raise Failure(f"{n}^2, one {cycle}-cycle from the FMG start: error {errors[0]:.3g}, "
                              f"expected below the discretization error "
                              f"{discrete_vs_continuous:.3g} and <= 0.1")
            if not errors[1] <= 0.01:
                raise Failure(f"{n}^2, two {cycle}-cycles from the FMG start: error "
                              f"{errors[1]:.3g}, expected <= 0.01")
            print(f"{n}^2 {cycle}: FMG cycle leaves {errors[0]:.3g}, a second {errors[1]:.3g}; "
                  f"discretization error {discrete_vs_continuous:.3g}")


def discretization_error(n):
    """max |T* - T| over the rows next to the top edge (where the corners' jumps make it
    largest): a lower bound on the discretization error of the whole plate."""
    import exact
    grid = np.zeros((n + 2, n + 2))
    grid[0, 1:-1] = 100.0
    rows = min(n, 24)
    return float(np.abs(exact.solve(grid)[:rows] - continuous(n, rows, 100.0)).max())


# ---- restarts, signals, files ------------------------------------------------------------

def case_multigrid_restart_and_signal_mid_solve():
    """A run stopped after 3 cycles continues on other ranks and partitioners to the same field
    and cycle count as straight through, also with the full-multigrid start (cycle 1 only); a
    Jacobi file seeds multigrid and a multigrid file
    Jacobi; SIGUSR1 mid-solve checkpoints, exits 4 and continues exactly."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-mg-") as tmp:
        e2e_io.write(tmp, "case.toml", e2e_io.plate(nx=140, ny=90))
        a = e2e_io.jacobi(tmp, 2, ["output.path=a.h5", MG])
        expect_exit(a, 0, "A: multigrid straight to convergence")
        b = e2e_io.jacobi(tmp, 3, ["output.path=b.h5", MG, "solver.max_iterations=3",
                                   "decomposition.partitioner=cyclic"])
        expect_exit(b, 3, "B: stopped after 3 cycles")
        ca = re.search(r"field checksum (\w+)", a.stdout).group(1)
        for ranks, sets in ((4, ["decomposition.partitioner=block-cyclic",
                                 "decomposition.block_size=3", "decomposition.process_grid=[2,2]"]),
                            (1, [])):
            c = e2e_io.jacobi(tmp, ranks, ["output.path=c.h5", "initial.from_file=b.h5", MG,
                                           *sets])
            expect_exit(c, 0, f"B continued on {ranks} ranks")
            e2e_io.identical(tmp, "a.h5", "c.h5", f"A against B continued on {ranks} ranks")
            expect_in(c.stdout, [f"field checksum {ca}"], "checksum of the continued run")
        if e2e_io.attribute(tmp, "a.h5", "method") != '"multigrid"':
            raise Failure(f"a.h5: method {e2e_io.attribute(tmp, 'a.h5', 'method')}")
        # the full-multigrid start is cycle 1 only: a continued run goes on with plain cycles
        fmg = [MG, "solver.multigrid.fmg=true", "solver.multigrid.cycle=F"]
        f = e2e_io.jacobi(tmp, 1, ["output.path=f.h5", *fmg])
        expect_exit(f, 0, "FMG straight to convergence")
        g = e2e_io.jacobi(tmp, 2, ["output.path=g.h5", "solver.max_iterations=2", *fmg])
        expect_exit(g, 3, "FMG stopped after 2 cycles")
        h = e2e_io.jacobi(tmp, 3, ["output.path=h.h5", "initial.from_file=g.h5", *fmg,
                                   "decomposition.partitioner=cyclic"])
        expect_exit(h, 0, "FMG continued on 3 ranks")
        e2e_io.identical(tmp, "f.h5", "h.h5", "FMG straight against continued after 2 cycles")
        j = e2e_io.jacobi(tmp, 2, ["output.path=j.h5", "solver.max_iterations=50"])
        expect_exit(j, 3, "a Jacobi run stopped at 50")
        for source, method in (("j.h5", "multigrid"), ("b.h5", "jacobi")):
            c = e2e_io.jacobi(tmp, 2, ["output.path=m.h5", f"initial.from_file={source}",
                                       f"solver.method={method}", "solver.target_error=0.5"])
            expect_exit(c, 0, f"{method} seeded by {source}")
            if float(e2e_io.attribute(tmp, "m.h5", "error_bound")) > 0.5:
                raise Failure(f"{method} seeded by {source}: bound above the target")
    e2e_io.signal_then_continue(lambda pid: os.kill(pid, signal.SIGUSR1), "multigrid, SIGUSR1",
                                method_sets=(MG,))


def case_multigrid_checkpoints_at_cycle_boundaries():
    """output.checkpoint_interval counts cycles: a checkpoint after cycle 4 of 7 continues to
    the same field as straight through."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-mg-") as tmp:
        e2e_io.write(tmp, "case.toml", e2e_io.plate(nx=100, ny=100, max_iterations=7,
                                                    output="checkpoint_interval = 4",
                                                    tol=1e-30))
        a = e2e_io.jacobi(tmp, 2, ["output.path=a.h5", MG])
        expect_exit(a, 3, "straight to 7 cycles")
        if e2e_io.attribute(tmp, "a.ckpt.h5", "iterations") != "4":
            raise Failure("a.ckpt.h5: expected the checkpoint of cycle 4")
        c = e2e_io.jacobi(tmp, 3, ["output.path=c.h5", "initial.from_file=a.ckpt.h5", MG,
                                   "output.checkpoint_interval=0",
                                   "decomposition.partitioner=cyclic"])
        expect_exit(c, 3, "continued from the checkpoint to 7")
        e2e_io.identical(tmp, "a.h5", "c.h5", "straight against continued from cycle 4")


# ---- the plan and the config -------------------------------------------------------------

def case_multigrid_dry_run_prints_every_level():
    """--dry-run with multigrid prints each level's size, ranks, tiles, halo and transfer
    points, and the model's time a cycle."""
    p = e2e.run(e2e.plate(4096, 4096), args=("--dry-run", "--ranks", "4096", "--set", MG,
                                             "--set", "halo.ranks_per_node=64"))
    expect_exit(p, 0, "dry run")
    expect_in(p.stdout, ["multigrid plan", "4096x4096", "coarsest", "predicted time per cycle"],
              "dry run")


def case_multigrid_keys_refused_with_their_line():
    """Every new key's bad values: exit 2, file, line, key and what was expected."""
    base = e2e.plate(20, 20)
    cases = [('[solver.multigrid]\ncycle = "X"\n', 'solver.multigrid.cycle must be one of "V", '
              '"W", "F"'),
             ('[solver.multigrid]\nsmoother = "sor"\n', 'solver.multigrid.smoother must be one of'),
             ('[solver.multigrid]\npre = 64\n', "solver.multigrid.pre must be"),
             ('[solver.multigrid]\npost = -1\n', "solver.multigrid.post must be"),
             ('[solver.multigrid]\nfmg = "yes"\n', "solver.multigrid.fmg must be"),
             ('[solver.multigrid]\nsmooth = 3\n', "unknown key solver.multigrid.smooth; did you mean "
              "solver.multigrid.smoother?"),
             ('[solver.multigrid]\npre = 0\npost = 0\n',
              "solver.multigrid.pre + solver.multigrid.post must be at least 1")]
    first = base.count("\n") + 2  # the line after [solver.multigrid]
    for extra, want in cases:
        p = e2e.run(base + extra, args=("--set", MG))
        expect_exit(p, 2, extra)
        lines = [f"case.toml:{n}: {want}" for n in range(first, first + extra.count("\n"))]
        if not any(line in p.stderr for line in lines):
            raise Failure(f"{extra!r}: expected one of {lines} in {p.stderr!r}")
    p = e2e.run(base, args=("--set", MG, "--set", "solver.temporal_block=2"))
    expect_exit(p, 2, "temporal blocks with multigrid")
    expect_in(p.stderr, ["--set", "solver.temporal_block = 2 applies to the jacobi and "
                         "chebyshev methods"], "temporal blocks with multigrid")
    p = e2e.run(base, args=("--set", MG, "--set", "solver.multigrid.cycle=W"))
    expect_exit(p, 0, "--set solver.multigrid.cycle=W")
    expect_in(p.stdout, ["W(2,2) cycles"], "--set solver.multigrid.cycle=W")


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    e2e.CASES = CASES
    sys.exit(e2e.main())
