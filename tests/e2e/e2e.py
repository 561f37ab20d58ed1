#!/usr/bin/env python3
"""End-to-end tests: the real jacobi binary under mpiexec.

Each case is a function named case_<name>; CTest runs one case per test
(`e2e.py --list` names them at configure time). A case fails with a message
that says what it expected and what it got. Every run has a time limit: a hang
is a failure.

usage: e2e.py --jacobi PATH --mpiexec PATH --source DIR (--list | CASE)
"""
import argparse
import itertools
import os
import platform
import re
import subprocess
import sys
import tempfile

ARGS = None
TIMEOUT = 120  # seconds for one run


class Failure(Exception):
    pass


def run(config_text, ranks=1, args=(), timeout=TIMEOUT, name="case.toml"):
    """Write config_text (None: no file) to a fresh directory, run jacobi there."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-") as tmp:
        path = os.path.join(tmp, name)
        if config_text is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(config_text)
        cmd = [ARGS.mpiexec, "-n", str(ranks), ARGS.jacobi, *args]
        if config_text is not None:
            cmd.append(name)
        p = run_command(cmd, tmp, timeout)
        expect_header_ranks(p, ranks, " ".join(cmd))
        return p


HEADER_RANKS = re.compile(r"^jacobi \S+: .* (\d+) ranks? on \d+ nodes?", re.M)


def expect_header_ranks(p, ranks, what):
    """Every header a run printed names the rank count it was started with: a launcher of
    another MPI starts `ranks` singletons, each printing a header of 1 rank (issue 19)."""
    for m in HEADER_RANKS.finditer(p.stdout):
        if int(m.group(1)) != ranks:
            raise Failure(f"{what}: started on {ranks} ranks, but the header says "
                          f"{m.group(0)!r}: is --mpiexec the launcher of jacobi's MPI?")


def rank_pids(launcher_pid):
    """The jacobi processes a launcher started on this machine: its descendants running
    ARGS.jacobi. Open MPI's mpirun is their parent; MPICH's Hydra puts hydra_pmi_proxy
    between."""
    parents, exe = {}, os.path.realpath(ARGS.jacobi)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    pids = []
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, launcher_pid):
            ancestor = parents.get(ancestor)
        if ancestor == launcher_pid:
            try:
                if os.path.realpath(f"/proc/{pid}/exe") == exe:
                    pids.append(pid)
            except OSError:
                pass
    return sorted(pids)


def run_command(cmd, cwd, timeout=TIMEOUT):
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                           errors="replace")
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout} s (a hang): {' '.join(cmd)}")
    expect_one_job(p, " ".join(cmd))
    return p


def expect_one_job(p, what):
    """One summary at most: a launcher of another MPI runs n singletons, each printing its own
    (issue 19)."""
    if p.stdout.count("field checksum") > 1:
        raise Failure(f"{what}: {p.stdout.count('field checksum')} summaries, so as many "
                      f"separate jobs: is --mpiexec the launcher of jacobi's MPI?\n{p.stdout}")


def expect_exit(p, code, what=""):
    if p.returncode != code:
        raise Failure(f"{what}: expected exit code {code}, got {p.returncode}\n"
                      f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")


def expect_in(text, words, what):
    for w in words:
        if w not in text:
            raise Failure(f"{what}: expected {w!r} in:\n{text}")


def plate(nx=37, ny=53, tol=1e-3, partitioner="block", block_size=1, grid=(0, 1),
          mode="auto", rpn=0, check=1, max_iterations=100000, stores="auto", extra=""):
    stores_line = "" if stores == "auto" else f'stores = "{stores}"\n'
    return f"""[grid]
nx = {nx}
ny = {ny}
[boundary]
top = 100.0
bottom = 12.5
left = -3.0
right = 0.7
[initial]
interior = 1.25
[solver]
tolerance = {tol}
max_iterations = {max_iterations}
check_interval = {check}
{stores_line}[decomposition]
partitioner = "{partitioner}"
block_size = {block_size}
process_grid = [{grid[0]}, {grid[1]}]
[halo]
mode = "{mode}"
ranks_per_node = {rpn}
{extra}"""


def fingerprint(p):
    """(iterations, checksum) from a run's summary."""
    it = re.search(r"converged after (\d+) (?:iterations?|cycles?)", p.stdout)
    cs = re.search(r"field checksum ([0-9a-f]{16})", p.stdout)
    if not it or not cs:
        raise Failure(f"no summary in output:\n{p.stdout}\n{p.stderr}")
    return int(it.group(1)), cs.group(1)


# ---- bit-for-bit identity across decompositions ------------------------------------------

def expect_ranks(p, ranks, what):
    """The run got the rank count it asked for (its header says so)."""
    want = f"{ranks} rank{'s' if ranks != 1 else ''} on"
    if want not in p.stdout:
        raise Failure(f"{what}: expected the header to say {want!r} (the ranks asked for):\n"
                      f"{p.stdout}")


def identical_to_one_rank(combos, nx=37, ny=53, check=1, stores="auto", sets=(), method=None):
    """Every combination gives the 1-rank run's (iterations, checksum); the reference always
    uses regular stores and the defaults, the combinations `stores` and the --set `sets`; both
    use solver.method = `method` if given."""
    common = () if method is None else ("--set", f"solver.method={method}")
    extra = common + tuple(a for kv in sets for a in ("--set", kv))
    reference = run(plate(nx, ny, check=check, stores="regular"), ranks=1, args=common)
    expect_exit(reference, 0, "reference run on 1 rank")
    want = fingerprint(reference)
    for ranks, partitioner, block, grid, mode, rpn in combos:
        text = plate(nx, ny, partitioner=partitioner, block_size=block, grid=grid, mode=mode,
                     rpn=rpn, check=check, stores=stores)
        what = (f"{ranks} ranks, {partitioner} block {block}, grid {list(grid)}, "
                f"halo {mode}, ranks_per_node {rpn}, {stores} stores, {' '.join(sets)}")
        p = run(text, ranks=ranks, args=extra)
        expect_exit(p, 0, what)
        expect_ranks(p, ranks, what)
        got = fingerprint(p)
        if got != want:
            raise Failure(f"{what}: expected (iterations, checksum) {want} as on 1 rank, "
                          f"got {got}")


PARTITIONERS = [("block", 1), ("cyclic", 1), ("block-cyclic", 3), ("block-cyclic", 7)]
GRIDS = [(0, 1), (1, 0), (0, 0)]


def case_identical_partitioners_2_ranks():
    identical_to_one_rank([(2, p, b, g, "auto", 0) for (p, b), g in
                           itertools.product(PARTITIONERS, GRIDS)])


def case_identical_partitioners_3_ranks():
    identical_to_one_rank([(3, p, b, g, "auto", 0) for (p, b), g in
                           itertools.product(PARTITIONERS, GRIDS)])


def case_identical_partitioners_4_ranks():
    identical_to_one_rank([(4, p, b, g, "auto", 0) for (p, b), g in
                           itertools.product(PARTITIONERS, GRIDS + [(2, 2), (4, 1)])])


def case_identical_halo_modes_and_nodes():
    combos = []
    for ranks, (p, b), mode, rpn in itertools.product(
            (2, 4), PARTITIONERS[:3], ("auto", "p2p", "shm"), (0, 1, 2)):
        if mode == "shm" and rpn not in (0, ranks):
            continue  # refused: neighbours on other nodes (case_shm_across_nodes_refused)
        combos.append((ranks, p, b, (0, 0), mode, rpn))
    identical_to_one_rank(combos)


def case_identical_with_idle_ranks():
    """Ranks that own nothing: block's b = ceil(9/4) = 3 leaves rank 3 empty, and a process
    grid 1 x 4 over 3 columns leaves rank 3 empty too. They still take part in every reduction."""
    identical_to_one_rank([(4, "block", 1, (4, 1), "auto", 0),
                           (4, "block", 1, (4, 1), "p2p", 2)], nx=11, ny=9)
    identical_to_one_rank([(4, "cyclic", 1, (1, 4), "auto", 0),
                           (4, "block-cyclic", 2, (1, 4), "auto", 1)], nx=3, ny=8)


def case_identical_with_check_interval():
    identical_to_one_rank([(r, p, b, (0, 0), "auto", 1) for r in (2, 3)
                           for p, b in PARTITIONERS], check=7)


def case_identical_without_overlap():
    """halo.overlap = false waits for the messages before sweeping (the default sweeps the inner
    points while they fly): the same bits either way; the other identity cases run with it on.
    Thin tiles (no inner points) and many tiles per rank too."""
    combos = [(2, "block", 1, (0, 1), "p2p", 0), (3, "block-cyclic", 2, (0, 0), "auto", 1),
              (4, "cyclic", 1, (2, 2), "p2p", 0)]
    identical_to_one_rank(combos, sets=("halo.overlap=false",))
    identical_to_one_rank(combos, nx=3, ny=40, check=3, stores="streaming")


def case_identical_with_streaming_stores():
    """Non-temporal stores change how the sweep writes, never what: odd widths exercise the
    alignment peel and the scalar tail on every tile."""
    identical_to_one_rank([(1, "block", 1, (0, 1), "auto", 0),
                           (3, "block-cyclic", 3, (0, 0), "auto", 0),
                           (4, "cyclic", 1, (2, 2), "p2p", 2)], stores="streaming")


def case_kernel_chosen_and_named():
    """solver.stores = "auto" (the default) times the kernel's variants and the summary names
    the one chosen; whatever it chose, and with either store set, the bits are the same."""
    runs = {}
    for stores in ("auto", "regular", "streaming"):
        p = run(plate(check=4, stores=stores), ranks=2, args=("--verbose",))
        expect_exit(p, 0, f"stores {stores} on 2 ranks")
        line = re.search(r"^  kernel (.*)$", p.stdout, re.M)
        if not line:
            raise Failure(f"stores {stores}: expected a 'kernel' line in the summary:\n{p.stdout}")
        expect_in(line.group(1), [f'solver.stores = "{stores}"', "between checks", "variants timed"],
                  f"stores {stores}: the kernel line")
        if stores != "auto":
            expect_in(line.group(1), [f"{stores} stores; between checks"],
                      f"stores {stores}: the kernel line")
        # The plate's tiles fit in any cache by their sizes, so where the build can evict
        # lines (x86) the candidates are also timed from cold caches, and the line says so:
        # with the same choice, or with the trial the run's first sweeps then made.
        if platform.machine() in ("x86_64", "AMD64"):
            expect_in(line.group(1), ["and from cold caches"], f"stores {stores}: the kernel line")
        if "and from cold caches, which chose the same" not in line.group(1) \
                and "and from cold caches" in line.group(1):
            expect_in(line.group(1), ["; the run's first 6 sweeps chose this, timed "],
                      f"stores {stores}: the kernel line")
        runs[stores] = fingerprint(p)
    if len(set(runs.values())) != 1:
        raise Failure(f"expected the same (iterations, checksum) for every store, got {runs}")
    # What runs no variant times none, and the line names what it runs: Chebyshev's weighted
    # sweep; a temporal block's wavefront after the variants (Jacobi) or the weighted sweep.
    for sets, words, absent in (
            (["solver.method=chebyshev"], ["Chebyshev's weighted sweep, ", "regular stores"],
             ["variants timed", "temporal"]),
            (["solver.method=chebyshev", "solver.temporal_block=4"],
             ["Chebyshev's weighted sweep, ", "temporal blocks of 4 sweeps: the wavefront",
              "rows in both buffers"], ["variants timed"]),
            (["solver.temporal_block=4"],
             ["variants timed", "temporal blocks of 4 sweeps: the wavefront", "rows in scratch"],
             ["Chebyshev"])):
        args = ["--verbose"] + [a for kv in sets for a in ("--set", kv)]
        p = run(plate(check=4), ranks=2, args=args)
        expect_exit(p, 0, f"{sets} on 2 ranks")
        line = re.search(r"^  kernel (.*)$", p.stdout, re.M)
        if not line:
            raise Failure(f"{sets}: expected a 'kernel' line in the summary:\n{p.stdout}")
        expect_in(line.group(1), words, f"{sets}: the kernel line")
        for word in absent:
            if word in line.group(1):
                raise Failure(f"{sets}: the kernel line says '{word}': {line.group(1)}")


# ---- Chebyshev: the same proofs for the second method --------------------------------------

def case_chebyshev_identical_partitioners():
    """solver.method = "chebyshev": the weighted sweep is pointwise, and every rank computes
    every omega by the same arithmetic, so the field and the count are the same on 2-4 ranks,
    every partitioner and process grid."""
    combos = [(r, p, b, g, "auto", 0) for r in (2, 3) for (p, b), g in
              itertools.product(PARTITIONERS, GRIDS)]
    combos += [(4, p, b, (2, 2), "auto", 0) for p, b in PARTITIONERS]
    identical_to_one_rank(combos, method="chebyshev")


def case_chebyshev_identical_halo_modes_overlap_stores():
    """Chebyshev over shared windows, messages (with and without overlap: the edge pieces of a
    thin tile are disjoint, since a weighted point must be swept once), nodes of 1 and 2 ranks,
    streaming stores and check intervals."""
    combos = []
    for ranks, (p, b), mode, rpn in itertools.product(
            (2, 4), PARTITIONERS[:3], ("auto", "p2p"), (0, 1, 2)):
        combos.append((ranks, p, b, (0, 0), mode, rpn))
    identical_to_one_rank(combos, method="chebyshev")
    thin = [(2, "block", 1, (0, 1), "p2p", 0), (3, "block-cyclic", 2, (0, 0), "auto", 1),
            (4, "cyclic", 1, (2, 2), "p2p", 0)]
    identical_to_one_rank(thin, method="chebyshev", sets=("halo.overlap=false",))
    identical_to_one_rank(thin, nx=3, ny=40, check=3, stores="streaming", method="chebyshev")
    identical_to_one_rank(thin, check=7, method="chebyshev")


def case_chebyshev_temporal_block_is_identical():
    """Chebyshev with temporal blocks: each level uses its own iteration's omega, and level 0
    weighs against the previous iterate over the grown tile, so both buffers' rings are
    exchanged once per block; the same bits as the plain Chebyshev loop on 1-4 ranks."""
    for nx, ny in ((37, 53), (5, 200)):
        for k, check, most in ((2, 2, 100000), (4, 8, 100000), (3, 3, 101)):
            text = plate(nx, ny, check=check, max_iterations=most)
            cheb = ("--set", "solver.method=chebyshev")
            plain = run(text, args=cheb)
            blocked = run(text, args=cheb + ("--set", f"solver.temporal_block={k}"))
            what = f"chebyshev {nx} x {ny}, temporal_block {k}, check_interval {check}, max {most}"
            expect_exit(blocked, plain.returncode, what)
            if fingerprint(blocked) != fingerprint(plain):
                raise Failure(f"{what}: expected {fingerprint(plain)} as without blocking, "
                              f"got {fingerprint(blocked)}")
    identical_to_one_rank([(2, "block", 1, (0, 1), "auto", 0),
                           (3, "block", 1, (0, 0), "p2p", 0),
                           (4, "block-cyclic", 2, (2, 2), "auto", 2),
                           (4, "cyclic", 1, (2, 2), "auto", 0)], check=4,
                          sets=("solver.temporal_block=4",), method="chebyshev")


def case_chebyshev_random_differential():
    """Configurations nobody picked (a fixed seed, so a failure reproduces): random grids,
    rank counts, partitioners, block sizes, process grids, halo modes, nodes, overlap, stores,
    check intervals and temporal blocks; each Chebyshev run ends with the exit code, count and
    checksum of the plain 1-rank Chebyshev run of the same grid and check interval."""
    import random
    rng = random.Random(20261201)
    for trial in range(24):
        nx, ny = rng.choice([rng.randint(1, 70), rng.randint(240, 400)]), rng.randint(1, 40)
        k = rng.choice([1, 1, 2, 3, 4])
        check = k * rng.randint(1, 3)
        most = rng.choice([100000, rng.randint(5, 300)])
        ranks = rng.randint(1, 4)
        part, block = rng.choice(PARTITIONERS + [("block-cyclic", rng.randint(1, 9))])
        grid = rng.choice(GRIDS + [(2, 2), (ranks, 1), (1, ranks)])
        if grid[0] * grid[1] not in (0, ranks) and 0 not in grid:
            grid = (0, 0)
        mode, rpn = rng.choice([("auto", 0), ("p2p", 0), ("auto", 1), ("auto", 2), ("p2p", 2)])
        sets = ["solver.method=chebyshev", f"solver.check_interval={check}",
                f"solver.max_iterations={most}"]
        reference = run(plate(nx, ny), ranks=1, args=tuple(a for kv in sets for a in ("--set", kv)))
        sets += [f"solver.temporal_block={k}", f"halo.overlap={rng.choice(['true', 'false'])}",
                 f"solver.stores={rng.choice(['regular', 'streaming', 'auto'])}"]
        text = plate(nx, ny, partitioner=part, block_size=block, grid=grid, mode=mode, rpn=rpn)
        p = run(text, ranks=ranks, args=tuple(a for kv in sets for a in ("--set", kv)))
        what = (f"trial {trial}: {nx} x {ny} on {ranks} ranks, {part} {block}, grid {grid}, "
                f"{mode} rpn {rpn}, {' '.join(sets)}")
        if p.returncode == 2 and reference.returncode != 2:
            continue  # a combination the config refuses (e.g. more ranks than points): fine
        expect_exit(p, reference.returncode, what)
        if p.returncode in (0, 3):
            expect_ranks(p, ranks, what)
            if fingerprint(p) != fingerprint(reference):
                raise Failure(f"{what}: {fingerprint(p)}, 1 rank {fingerprint(reference)}")


# ---- temporal blocking ---------------------------------------------------------------------

def case_temporal_block_is_identical():
    """solver.temporal_block = K sweeps K iterations per pass through memory: the exit code, the
    iteration count and the field are the plain loop's, wherever the checks and max_iterations
    fall, on square, tall and wide grids (one wider than two of the wavefront's chunks)."""
    for nx, ny in ((37, 53), (5, 200), (300, 3), (4500, 4)):
        for k, check, most in ((2, 2, 100000), (4, 8, 100000), (3, 3, 101), (7, 14, 50),
                               (4, 4, 1)):
            text = plate(nx, ny, check=check, max_iterations=most)
            plain = run(text)
            blocked = run(text, args=("--set", f"solver.temporal_block={k}"))
            what = f"{nx} x {ny}, temporal_block {k}, check_interval {check}, max {most}"
            expect_exit(blocked, plain.returncode, what)
            if fingerprint(blocked) != fingerprint(plain):
                raise Failure(f"{what}: expected {fingerprint(plain)} as without blocking, "
                              f"got {fingerprint(blocked)}")


def case_temporal_block_across_ranks_is_identical():
    """Temporal blocks on several ranks: rings K deep, corners included, exchanged once per
    block; every tile also computes the points of its neighbours' edges it needs for the
    levels still to come (overlapped tiles). Blocks of 1 to 3 rows or columns are thinner than
    the ring, so a ring reaches tiles two and three away; shared windows and messages; nodes of
    one and two ranks."""
    for k, check in ((2, 2), (3, 6), (4, 4)):
        identical_to_one_rank([
            (2, "block", 1, (0, 1), "auto", 0),
            (3, "block", 1, (0, 0), "p2p", 0),
            (4, "block", 1, (2, 2), "auto", 2),
            (4, "block-cyclic", 2, (2, 2), "shm", 0),
            (3, "block-cyclic", 3, (1, 0), "auto", 1),
            (4, "cyclic", 1, (2, 2), "auto", 0),
            (2, "cyclic", 1, (0, 1), "p2p", 2),
        ], check=check, sets=(f"solver.temporal_block={k}",))
    # a grid thinner than a block in one direction, and ranks that own nothing
    identical_to_one_rank([(4, "block", 1, (4, 1), "auto", 0),
                           (4, "block-cyclic", 2, (1, 4), "p2p", 0)], nx=3, ny=8, check=4,
                          sets=("solver.temporal_block=4",))
    # tiles wider than the wavefront's 2048-column chunks (sweep.h), cut into pieces whose
    # edges fall on different columns of every tile; K odd and even (the result written over
    # the block's input)
    for k in (3, 4):
        identical_to_one_rank([(2, "block", 1, (0, 1), "auto", 0),
                               (3, "block", 1, (1, 0), "p2p", 0),
                               (4, "block-cyclic", 2100, (2, 2), "auto", 2)], nx=6500, ny=9,
                              check=12, sets=(f"solver.temporal_block={k}",))


def case_temporal_block_continues_from_any_iteration():
    """A run stopped at 101 iterations (not a multiple of K = 4) continues with blocks that end
    at multiples of 4 and ends bit for bit where an uninterrupted plain run does, on 1 rank and
    on 3."""
    whole = run(plate(check=4))
    expect_exit(whole, 0, "uninterrupted plain run")
    for ranks in (1, 3):
        with tempfile.TemporaryDirectory(prefix="jacobi-e2e-") as tmp:
            with open(os.path.join(tmp, "case.toml"), "w", encoding="utf-8") as f:
                f.write(plate(check=4))
            base = [ARGS.mpiexec, "-n", str(ranks), ARGS.jacobi, "--set",
                    "solver.temporal_block=4"]
            first = run_command(base + ["--set", "solver.max_iterations=101", "--set",
                                        "output.path=a.h5", "case.toml"], tmp)
            expect_exit(first, 3, f"first part on {ranks} ranks, stopped at 101")
            rest = run_command(base + ["--set", "initial.from_file=a.h5", "--set",
                                       "output.path=b.h5", "case.toml"], tmp)
            expect_exit(rest, 0, f"continued on {ranks} ranks")
        if fingerprint(rest) != fingerprint(whole):
            raise Failure(f"{ranks} ranks: expected {fingerprint(whole)} as uninterrupted, "
                          f"got {fingerprint(rest)}")


def case_temporal_block_misuse_is_refused():
    cases = [
        (1, ["--set", "solver.temporal_block=3"],
         ["--set solver.temporal_block=3: solver.temporal_block = 3 must divide "
          "solver.check_interval = 1"]),
        (1, ["--set", "solver.temporal_block=2", "--set", "solver.check_interval=4", "--set",
             "output.checkpoint_interval=5"], ["must divide output.checkpoint_interval = 5"]),
        (2, ["--set", "solver.temporal_block=4", "--set", "solver.check_interval=4", "--set",
             "halo.mode=shm", "--set", "halo.ranks_per_node=1"],
         ['halo.mode = "shm", but rank 0\'s neighbour rank 1 is on another node']),
        (2, ["--set", "solver.temporal_block=100000", "--set", "solver.check_interval=100000"],
         ["with halo rings 100000 deep (--set solver.temporal_block)",
          "or shallower halos (a smaller solver.temporal_block)"]),
    ]
    for ranks, args, words in cases:
        p = run(plate(), ranks=ranks, args=args)
        expect_exit(p, 2, f"{args} on {ranks} ranks")
        expect_in(p.stderr, words, f"{args} on {ranks} ranks")


# ---- the examples ---------------------------------------------------------------------------

def case_every_example_config_runs():
    configs = sorted(f for f in os.listdir(os.path.join(ARGS.source, "configs"))
                     if f.endswith(".toml"))
    if not configs:
        raise Failure("no configs/*.toml found")
    for name in configs:
        with open(os.path.join(ARGS.source, "configs", name), encoding="utf-8") as f:
            text = f.read()
        # Two ranks keep the suite quick on small machines; the simulated two-node example
        # needs four (two per node) to have both kinds of halo.
        ranks = 4 if "ranks_per_node" in text else 2
        p = run(text, ranks=ranks, args=("--quiet",), name=name)
        expect_exit(p, 0, f"configs/{name} on {ranks} ranks")
        # a transient ([time], issue 31) reaches its end time instead
        expect_in(p.stdout, ["reached t =" if "\n[time]" in text else "converged after"],
                  f"configs/{name}")


def case_progress_header_and_summary():
    p = run(plate(), ranks=2)
    expect_exit(p, 0, "plate on 2 ranks")
    expect_in(p.stdout, ["37 x 53 interior points, 2 ranks", "partitioner block",
                         "converged after", "error left: about", "field checksum"],
              "terminal output")
    summary = p.stdout[p.stdout.index("converged after"):].splitlines()
    if len(summary) > 8 or max(len(line) for line in summary) > 100 or "MLUP/s" in p.stdout:
        raise Failure(f"the default summary: at most 8 lines of at most 100 characters, the "
                      f"details under --verbose; got:\n{p.stdout}")
    v = run(plate(), ranks=2, args=("--verbose",))
    expect_in(v.stdout, ["MLUP/s", "halo exchange", "kernel ", "halo per iteration",
                         "process (rank 0)"], "--verbose")
    # where the whole process's time went: its phases add up to the total, which holds the
    # solve's wall time and the output's write
    m = re.search(r"process \(rank 0\) ([0-9.]+) s: MPI start-up ([0-9.]+) s, configuration and "
                  r"plan ([0-9.]+) s, allocation and first touch ([0-9.]+) s, solve ([0-9.]+) s "
                  r"\(the wall time and the error estimate above\), heat balance ([0-9.]+) s, "
                  r"output ([0-9.]+) s", v.stdout)
    wall = re.search(r"wall time ([0-9.]+) s", v.stdout)
    if m is None or wall is None:
        raise Failure(f"--verbose: no process line or wall time:\n{v.stdout}")
    total, *phases = (float(x) for x in m.groups())
    if abs(total - sum(phases)) > 0.002 or phases[3] < float(wall.group(1)) - 0.001:
        raise Failure(f"--verbose: process {total} s against its phases {phases} (sum "
                      f"{sum(phases)}) and the wall time {wall.group(1)} s")
    # heat flows in W only where the plate has units: a conductivity (W/(m K))
    if "heat into" in p.stdout:
        raise Failure(f"heat flows in W on a plate without a conductivity:\n{p.stdout}")
    k = run(plate(), ranks=2, args=("--set", "plate.conductivity=237"))
    expect_in(k.stdout, ["heat into the plate (W): top "], "plate.conductivity = 237")
    q = run(plate(), ranks=2, args=("--quiet",))
    if "partitioner block" in q.stdout or "converged after" not in q.stdout:
        raise Failure(f"--quiet should keep only the summary, got:\n{q.stdout}")


def case_header_lists_every_edge_defaults_marked():
    """An edge left out of the config is held at 0 degrees: the header says so for each."""
    text = "[grid]\nnx = 20\nny = 10\n[boundary]\ntop = 100.0\nleft = \"50 * y\"\n"
    p = run(text, ranks=1)
    expect_exit(p, 0, "two edges given")
    expect_in(p.stdout, ['  edges held at (degrees): top 100, bottom 0 (default), left "50 * y", '
                         'right 0 (default)'], "the header")


def case_header_names_each_edge_kind_and_the_materials():
    """Issue 30's plate: the header says what each edge is (not "held at 0" for an insulated
    one), the conductivity as written, the faces' exchange and the regions by what they are."""
    text = ("[grid]\nnx = 9\nny = 6\n[plate]\nconductivity = \"237 - 10 * x\"\n"
            "[boundary]\nleft = 80.0\ntop = \"insulated\"\n[boundary.bottom]\nh = 25.0\n"
            "ambient = 20.0\n[boundary.right]\nflux = 150.0\n[surface]\nh = 10.0\n"
            "ambient = 20.0\nfaces = 1\n[[region]]\nshape = \"disk\"\ncx = 0.5\ncy = 0.3\n"
            "radius = 0.1\npower = 50.0\n")
    p = run(text, ranks=1, args=("--set", "solver.max_iterations=1"))
    if p.returncode not in (0, 3):
        raise Failure(f"expected a run, got exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    expect_in(p.stdout, ["  edges: top insulated, bottom convective, h 25 W/(m^2 K) to 20, left "
                         "held at 80, right flux 150 W/m^2 in\n",
                         'conductivity "237 - 10 * x" W/(m K)',
                         "one face exchanging h 10 W/(m^2 K) with 20, 1 heater"], "the header")


def case_not_converged_exits_3():
    p = run(plate(max_iterations=10), ranks=2)
    expect_exit(p, 3, "max_iterations 10")
    expect_in(p.stdout, ["NOT converged after 10 iterations"], "summary")
    p = run(plate(max_iterations=1), ranks=2)
    expect_exit(p, 3, "max_iterations 1")
    expect_in(p.stdout, ["NOT converged after 1 iteration (jacobi): stopped at "
                         "solver.max_iterations"], "summary, one iteration")


def case_set_overrides_file():
    p = run(plate(), ranks=1, args=("--set", "solver.max_iterations=5", "--set",
                                    "decomposition.partitioner=cyclic"))
    expect_exit(p, 3, "--set solver.max_iterations=5")
    expect_in(p.stdout, ["NOT converged after 5 iterations", "partitioner cyclic"], "summary")


# ---- the CLI --------------------------------------------------------------------------------

def case_help_and_version():
    p = run(None, args=("--help",))
    expect_exit(p, 0, "--help")
    expect_in(p.stdout, ["usage: jacobi", "--set KEY=VALUE", "--dry-run", "exit codes", "--quiet",
                         "--verbose", "Jacobi", "Chebyshev", "multigrid"], "--help")
    p = run(None, args=("--version",))
    expect_exit(p, 0, "--version")
    if not re.match(r"jacobi \d+\.\d+\.\d+", p.stdout):
        raise Failure(f"--version: expected 'jacobi X.Y.Z', got {p.stdout!r}")


def case_usage_errors_exit_2():
    cases = [((), "no config file given"),
             (("--frobnicate", "x.toml"), 'unknown option "--frobnicate"'),
             (("--ranks", "8", "x.toml"), "needs --dry-run"),
             (("--dry-run", "--ranks", "zero", "x.toml"), "--ranks must be a whole number"),
             (("a.toml", "b.toml"), "one config file expected"),
             (("x.toml", "--set"), "needs a value"),
             (("--set", "x.toml"), '--set took "x.toml" as its KEY=VALUE')]
    for args, words in cases:
        for ranks in (1, 3):
            p = run(None, ranks=ranks, args=args)
            expect_exit(p, 2, f"jacobi {' '.join(args)} on {ranks} ranks")
            expect_in(p.stderr, [words, "usage: jacobi"], f"jacobi {' '.join(args)}")
            if p.stderr.count("error:") != 1:
                raise Failure(f"expected one error message, got:\n{p.stderr}")


def case_dry_run_plans_for_many_ranks():
    p = run(plate(nx=1024, ny=1024), ranks=1, args=("--dry-run", "--ranks", "1024"))
    expect_exit(p, 0, "--dry-run --ranks 1024")
    expect_in(p.stdout, ["[grid]", "nx = 1024", "1024 ranks"], "dry run")
    if "converged" in p.stdout:
        raise Failure("--dry-run must not solve")


def halo_total(p):
    m = re.search(r"^total\b.*$", p.stdout, re.M)
    if not m:
        raise Failure(f"no totals line in plan:\n{p.stdout}")
    return m.group(0)


def case_dry_run_shows_cyclic_costs_more_halo():
    block = run(plate(nx=64, ny=64), args=("--dry-run", "--ranks", "4"))
    cyclic = run(plate(nx=64, ny=64, partitioner="cyclic"), args=("--dry-run", "--ranks", "4"))
    expect_exit(block, 0, "block dry run")
    expect_exit(cyclic, 0, "cyclic dry run")
    nb = [int(x) for x in re.findall(r"\d+", halo_total(block))]
    nc = [int(x) for x in re.findall(r"\d+", halo_total(cyclic))]
    if not nb or not nc or sum(nc) <= sum(nb):
        raise Failure(f"expected cyclic's totals above block's:\n{halo_total(block)}\n"
                      f"{halo_total(cyclic)}")


def case_dry_run_predicts_block_beats_cyclic_on_a_cluster():
    """The performance model on 4096 ranks, 64 a node: a row per partitioner, the configured
    one marked; block's strips beat cyclic's single rows, and block-cyclic sits between."""
    p = run(plate(nx=8192, ny=8192, rpn=64, grid=(0, 0)),
            args=("--dry-run", "--ranks", "4096", "--set", "machine.net_latency_us=2"))
    expect_exit(p, 0, "--dry-run --ranks 4096")
    rows = {}
    for m in re.finditer(r"^(block|block-cyclic|cyclic)\s+(\S+)\s+([0-9.]+)\s+.*$", p.stdout, re.M):
        rows[(m.group(1), m.group(2))] = (float(m.group(3)), m.group(0))
    want = [("block", "-"), ("block-cyclic", "4"), ("block-cyclic", "16"), ("block-cyclic", "64"),
            ("cyclic", "-")]
    missing = [w for w in want if w not in rows]
    if missing:
        raise Failure(f"no prediction for {missing} in:\n{p.stdout}")
    if "<- configured" not in rows[("block", "-")][1]:
        raise Failure(f"the configured partitioner (block) is not marked:\n{p.stdout}")
    t = {k: v[0] for k, v in rows.items()}
    if not t[("block", "-")] < t[("block-cyclic", "64")] < t[("block-cyclic", "4")] < t[("cyclic", "-")]:
        raise Failure(f"expected block < block-cyclic 64 < block-cyclic 4 < cyclic in us/iter:\n{p.stdout}")


def case_dry_run_ranks_only_layouts_that_keep_every_rank_busy():
    """64 ranks on a 128^2 plate: block-cyclic with blocks of 64 leaves 60 ranks without a point
    (imbalance 16); the model predicts it fastest on one node, but the plan marks it not ranked
    and names the fastest busy layout, and explains every column."""
    p = run(plate(nx=128, ny=128, grid=(0, 0)), args=("--dry-run", "--ranks", "64"))
    expect_exit(p, 0, "--dry-run --ranks 64")
    rows = {(m.group(1), m.group(2)): m.group(0) for m in re.finditer(
        r"^(block|block-cyclic|cyclic)\s+(\S+)\s+[0-9.]+\s.*$", p.stdout, re.M)}
    idle = rows.get(("block-cyclic", "64"), "")
    if not re.search(r"\s60\s+16\.00\b.*\(ranks idle: not ranked\)", idle) or "fastest" in idle:
        raise Failure(f"block-cyclic 64 on 64 ranks: expected 60 idle, imbalance 16.00, not "
                      f"ranked:\n{p.stdout}")
    fastest = [row for row in rows.values() if "<- fastest" in row]
    if len(fastest) != 1 or not re.search(r"\s0\s+1\.00\b", fastest[0]):
        raise Failure(f"expected one fastest row, with no rank idle:\n{p.stdout}")
    expect_in(p.stdout, ["# us/iter:", "# efficiency:", "# slowest:", "idle: ranks that own no "
                         "point", "imbalance:"], "the plan's column explanations")


# ---- configuration errors, collective and prompt ----------------------------------------------

def case_config_errors_exit_2_on_every_rank_count():
    cases = [
        (plate(tol='"abc"'),
         ['case.toml:12: solver.tolerance must be a number > 0, got "abc"']),
        (plate().replace("[solver]", "[solvr]"), ["case.toml:11:", "did you mean [solver]"]),
        (plate().replace("nx = 37", "nx = 0"), ["case.toml:2:", "grid.nx"]),
        (plate(grid=(3, 0)), ["case.toml:18:", "process_grid"]),
        (plate(mode="shm", rpn=1), ["halo.mode", "another node"]),
    ]
    for text, words in cases:
        for ranks in (1, 2, 4):
            if ranks == 1 and "ranks_per_node = 1" in text:
                continue  # one rank has no neighbours: shm is fine
            p = run(text, ranks=ranks)
            expect_exit(p, 2, f"{words[0]} on {ranks} ranks")
            expect_in(p.stderr, words, f"{ranks} ranks")
            if p.stderr.count("error:") != 1:
                raise Failure(f"expected exactly one error message, got:\n{p.stderr}")


def case_missing_config_file():
    for ranks in (1, 3):
        p = run(None, ranks=ranks, args=("no-such.toml",))
        expect_exit(p, 2, "missing config")
        expect_in(p.stderr, ["no-such.toml"], "missing config")


def case_launcher_starts_the_ranks_asked_for():
    """--mpiexec is the launcher of jacobi's MPI: n ranks are one job of n ranks, not n
    1-rank jobs (each header would then say 1 rank; run() checks every header)."""
    for ranks in (1, 2):
        p = run(plate(nx=8, ny=8), ranks=ranks)
        expect_exit(p, 0, f"{ranks} ranks")
        expect_ranks(p, ranks, f"{ranks} ranks")
        if p.stdout.count("field checksum") != 1:
            raise Failure(f"{ranks} ranks: expected one summary (one job), got:\n{p.stdout}")


def case_more_ranks_than_points():
    p = run(plate(nx=1, ny=2), ranks=3)
    expect_exit(p, 2, "3 ranks for 2 points")
    expect_in(p.stderr, ["3 ranks", "2 interior points"], "more ranks than points")


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jacobi")
    parser.add_argument("--mpiexec", default="mpiexec")
    parser.add_argument("--source", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    parser.add_argument("--list", action="store_true")
    parser.add_argument("case", nargs="?")
    ARGS = parser.parse_args()
    if ARGS.list:
        print(";".join(CASES))
        return 0
    if ARGS.case not in CASES:
        print(f"unknown case {ARGS.case!r}; cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    try:
        CASES[ARGS.case]()
    except Failure as e:
        print(f"FAIL {ARGS.case}: {e}", file=sys.stderr)
        return 1
    print(f"ok {ARGS.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
