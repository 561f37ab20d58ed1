#!/usr/bin/env python3
"""End-to-end tests of any plate (issue 16): edge profiles and starting fields given as
expressions, heat sources (the Poisson equation k t lap T + q = 0), fixed-temperature regions
([[region]] rectangles, disks and masks), physical units and the heat flows.

The truth is never jacobi's own: manufactured solutions (a smooth T, q = -k t lap T derived by
hand, the edges = T) must converge at second order for every method; plates with regions and
sources are compared with an independent solve of the same discrete equations (scipy.sparse,
the fixed points identity rows); the heat flows are recomputed from the file's field. Bit for
bit over decompositions, restarts and checkpoints with all of it; every new config error;
and a plate without sources or regions keeps today's bits.

The discrete equations (docs/numerics.md, "Any plate"): h = width / (nx + 1) = height / (ny + 1);
point (i, j) of the interior at x = (j + 1) h, y = (i + 1) h from the top-left corner, y
downwards;
the ring on x = 0, width and y = 0, height; at every free interior point
    k t (T_N + T_S + T_W + T_E - 4 T) / h^2 + q = 0,
and a point inside a region is held at the region's temperature (later regions win).

usage: e2e_plate.py --jacobi PATH --mpiexec PATH --source DIR (--list | CASE)
"""
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import Failure, expect_exit, expect_in  # noqa: E402

TIMEOUT = 120  # seconds for one run
METHODS = ("jacobi", "chebyshev", "multigrid")
# Open MPI's mpiexec lingers 2 s after a rank exits non-zero (exit 2 or 3, half of these runs)
# before it tears the job down (odls_base_sigkill_timeout); 0 ends it at once, after every
# rank has exited on its own. Other MPIs ignore the variable.
ENV = dict(os.environ, OMPI_MCA_odls_base_sigkill_timeout=os.environ.get(
    "OMPI_MCA_odls_base_sigkill_timeout", "0"))
HEAT_KEYS = ("heat_top", "heat_bottom", "heat_left", "heat_right", "heat_source",
             "heat_imbalance", "heat_imbalance_bound")


# ---- configs -------------------------------------------------------------------------------

def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(v)


def toml(sections, regions=()):
    """TOML text from {section: {key: value}} (in order) and a list of [[region]] dicts."""
    lines = []
    for name, keys in sections.items():
        if keys is None:
            continue
        lines.append(f"[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in keys.items()]
    for region in regions:
        lines.append("[[region]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in region.items()]
    return "\n".join(lines) + "\n"


def line_of(text, start, after=1):
    """The 1-based number of the first line at or after line `after` that starts with `start`."""
    for n, line in enumerate(text.splitlines(), 1):
        if n >= after and line.startswith(start):
            return n
    raise Failure(f"test bug: no line starting with {start!r} in:\n{text}")


# ---- running -------------------------------------------------------------------------------

class Result:
    """A run: the process and, when it wrote its result (exit 0 or 3), the file's contents."""

    def __init__(self, p, cmd):
        self.p, self.cmd = p, cmd
        self.attrs, self.t, self.source, self.fixed = {}, None, None, None
        self.iterations = self.checksum = None

    @property
    def fingerprint(self):
        return self.iterations, self.checksum


def read_attrs(f):
    attrs = {}
    for k, v in f.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, np.ndarray) and v.shape == (1,) and k != "heat_regions":
            v = v[0]
        attrs[k] = v
    return attrs


def solve(tmp, text, ranks=2, sets=(), out="plate.h5", want=(0,), name="case.toml",
          quiet=False):
    """Write `text` to tmp/name and run jacobi there on `ranks` ranks with --set `sets` and
    output.path = out; check the exit code is in `want` and the run got its ranks (header and
    file); return a Result."""
    with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
        f.write(text)
    jacobi = os.path.abspath(e2e.ARGS.jacobi)  # runs in tmp: a relative --jacobi still works
    cmd = [e2e.ARGS.mpiexec, "-n", str(ranks), jacobi] + (["--quiet"] if quiet else [])
    for kv in tuple(sets) + (f"output.path={out}",):
        cmd += ["--set", kv]
    cmd.append(name)
    what = f"(cd {tmp} && {' '.join(cmd)})"
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=TIMEOUT,
                           errors="replace", env=ENV)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {TIMEOUT} s (a hang): {what}")
    if os.environ.get("JACOBI_E2E_VERBOSE"):
        print(f"  {time.time() - t0:5.2f} s exit {p.returncode}: {' '.join(sets)}")
    e2e.expect_one_job(p, what)
    e2e.expect_header_ranks(p, ranks, what)
    r = Result(p, what)
    if p.returncode not in want:
        raise Failure(f"{what}: expected exit code {' or '.join(map(str, want))}, got "
                      f"{p.returncode}\nconfig:\n{text}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    if p.returncode in (0, 3):
        if not quiet:
            e2e.expect_ranks(p, ranks, what)
        r.iterations, r.checksum = e2e.fingerprint(p)
        with h5py.File(os.path.join(tmp, out), "r") as f:
            r.attrs = read_attrs(f)
            r.t = f["temperature"][...]
            r.source = f["source"][...] if "source" in f else None
            r.fixed = f["fixed"][...] if "fixed" in f else None
        if int(r.attrs.get("ranks", -1)) != ranks:
            raise Failure(f"{what}: the file says ranks = {r.attrs.get('ranks')}, asked {ranks}")
        if int(r.attrs["iterations"]) != r.iterations:
            raise Failure(f"{what}: the file says {r.attrs['iterations']} iterations, the "
                          f"summary {r.iterations}")
    return r


def expect_config_error(r, origins, words, what):
    """Exit 2 (solve checked it), one error message, naming one of `origins` ("case.toml:12")
    and every word of `words`."""
    err = r.p.stderr
    if err.count("error:") != 1:
        raise Failure(f"{what}: expected exactly one error message, got:\n{err}")
    if not any(f"{o}:" in err for o in origins):
        raise Failure(f"{what}: expected the message to name {' or '.join(origins)}, got:\n{err}")
    for w in words:
        if w.lower() not in err.lower():
            raise Failure(f"{what}: expected {w!r} in the message, got:\n{err}")


# ---- the geometry and the independent solve ----------------------------------------------

class Plate:
    """The discrete problem as this script computes it, independently of jacobi: positions,
    the ring, q, the regions' numbers and temperatures at every interior point."""

    def __init__(self, nx, ny, width, k=1.0, t=1.0):
        self.nx, self.ny, self.width, self.k, self.t = nx, ny, width, k, t
        self.h = width / (nx + 1)
        self.height = (ny + 1) * self.h
        self.x = ((np.arange(nx) + 1) * self.h)[None, :].repeat(ny, 0)
        self.y = ((np.arange(ny) + 1) * self.h)[:, None].repeat(nx, 1)
        self.ring = np.zeros((ny + 2, nx + 2))
        self.q = np.zeros((ny, nx))
        self.region = np.zeros((ny, nx), dtype=np.int64)  # 0 free, else 1-based region
        self.held = np.zeros((ny, nx))

    def set_edges(self, top, bottom, left, right):
        """Each edge a function f(x, y) of numpy arrays (or a number), at the ring points the
        spec names: top and bottom for ring columns 0..nx+1 (corners included), left and
        right for ring rows 1..ny."""
        c = np.arange(self.nx + 2) * self.h
        r = np.arange(1, self.ny + 1) * self.h
        ev = lambda f, x, y: np.broadcast_to(f(x, y) if callable(f) else f, np.shape(x))
        self.ring[0, :] = ev(top, c, np.zeros_like(c))
        self.ring[-1, :] = ev(bottom, c, np.full_like(c, (self.ny + 1) * self.h))
        self.ring[1:-1, 0] = ev(left, np.zeros_like(r), r)
        self.ring[1:-1, -1] = ev(right, np.full_like(r, (self.nx + 1) * self.h), r)

    def add_region(self, inside, temperature):
        """inside: boolean (ny, nx); temperature: a number or f(x, y). Later regions win."""
        if not inside.any():
            raise Failure("test bug: a region with no point")
        number = self.region.max() + 1
        self.region[inside] = number
        tv = (temperature(self.x, self.y) if callable(temperature)
              else np.full_like(self.x, temperature))
        self.held[inside] = tv[inside]

    def rectangle(self, x0, x1, y0, y1, on_lines=False):
        """The points inside; on_lines: edges may lie on grid lines, where jacobi counts a
        point within 1e-9 h as inside (cfg.h), and so does this."""
        d = np.minimum.reduce([abs(self.x - x0), abs(self.x - x1), abs(self.y - y0),
                               abs(self.y - y1)])
        if not on_lines:
            self.unambiguous(d)
            return (self.x >= x0) & (self.x <= x1) & (self.y >= y0) & (self.y <= y1)
        if np.any((d > 1e-12 * self.h) & (d < 1e-6 * self.h)):
            raise Failure("test bug: a region's edge passes near, not on, a grid point")
        e = 1e-9 * self.h
        return (self.x >= x0 - e) & (self.x <= x1 + e) & (self.y >= y0 - e) & (self.y <= y1 + e)

    def disk(self, cx, cy, radius):
        d = np.hypot(self.x - cx, self.y - cy)
        self.unambiguous(abs(d - radius))
        return d <= radius

    def unambiguous(self, distance):
        """No grid point within 1e-6 h of a region's edge: jacobi's 1e-9 h allowance and this
        script's rounding cannot disagree on any point."""
        if distance.min() < 1e-6 * self.h:
            raise Failure("test bug: a region's edge passes through a grid point")

    @property
    def free(self):
        return self.region == 0

    def exact(self):
        """T*, the exact solution of the discrete equations: a sparse direct solve with the
        held points as identity rows. (ny + 2, nx + 2) with the ring."""
        nx, ny = self.nx, self.ny
        index = np.arange(nx * ny).reshape(ny, nx)
        free = self.free
        rows, cols, vals = [index.ravel()], [index.ravel()], [np.where(free, 4.0, 1.0).ravel()]
        b = np.where(free, self.h * self.h * self.q / (self.k * self.t), self.held)
        ii, jj = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            ni, nj = ii + di, jj + dj
            inside = (ni >= 0) & (ni < ny) & (nj >= 0) & (nj < nx)
            m = free & inside
            rows.append(index[m])
            cols.append(index[ni[m], nj[m]])
            vals.append(-np.ones(m.sum()))
            m = free & ~inside
            b[m] += self.ring[ni[m] + 1, nj[m] + 1]
        a = scipy.sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                           np.concatenate(cols))),
                                    shape=(nx * ny, nx * ny))
        t = self.ring.copy()
        t[1:-1, 1:-1] = scipy.sparse.linalg.spsolve(a.tocsc(), b.ravel()).reshape(ny, nx)
        return t

    def heat(self, t):
        """The heat flows of field t (W), as the spec defines them: into the plate through
        each edge k t sum (T_ring - T_adjacent) over free adjacent points; from each region
        k t sum over (held q, free p) neighbours of (T_q - T_p); the source sum q h^2 over
        free points; the imbalance, their sum."""
        kt, free, inner = self.k * self.t, self.free, t[1:-1, 1:-1]
        flows = {
            "heat_top": kt * np.sum((t[0, 1:-1] - t[1, 1:-1])[free[0, :]]),
            "heat_bottom": kt * np.sum((t[-1, 1:-1] - t[-2, 1:-1])[free[-1, :]]),
            "heat_left": kt * np.sum((t[1:-1, 0] - t[1:-1, 1])[free[:, 0]]),
            "heat_right": kt * np.sum((t[1:-1, -1] - t[1:-1, -2])[free[:, -1]]),
            "heat_source": np.sum((self.q * self.h * self.h)[free]),
        }
        regions = np.zeros(self.region.max())
        for a, b in (((slice(1, None), slice(None)), (slice(None, -1), slice(None))),
                     ((slice(None), slice(1, None)), (slice(None), slice(None, -1)))):
            for held_side, free_side in ((a, b), (b, a)):
                number = self.region[held_side]
                m = (number > 0) & free[free_side]
                np.add.at(regions, number[m] - 1,
                          kt * (inner[held_side][m] - inner[free_side][m]))
        flows["heat_regions"] = regions
        flows["heat_imbalance"] = sum(flows[k] for k in HEAT_KEYS[:5]) + regions.sum()
        return flows


def max_error(a, b):
    return float(np.abs(a[1:-1, 1:-1] - b[1:-1, 1:-1]).max())


# The "any plate" of cases 2-5: 40 x 30 points on a 4.1 m plate (h = 0.1 m), conductivity 2,
# thickness 0.5, three varying edges and one number, a starting field, a source that is an
# expression plus a file, and three regions: a rectangle, a disk held at a temperature that
# varies, and a mask that overlaps the rectangle (the mask, later, wins there).
ANY = dict(nx=40, ny=30, width=4.1, k=2.0, t=0.5)


def source_file_values(p):
    return 40.0 * np.cos(3.0 * p.x) * np.sin(2.0 * p.y) + 5.0


def mask_values(p):
    m = np.zeros((p.ny, p.nx), dtype=np.int16)
    m[20:27, 4:9] = 1
    m[24:27, 9:14] = 7  # an L, any nonzero value is inside
    m[7:9, 9:13] = 2    # overlaps the rectangle (region 1)
    return m


def any_plate(tmp, solver=None, decomposition=None, halo=None, output=None,
              source_dataset=None, nx=ANY["nx"], ny=ANY["ny"], width=ANY["width"]):
    """The config text of the any plate, with its input files written into tmp, and the
    Plate that models it."""
    p = Plate(nx, ny, width, ANY["k"], ANY["t"])
    W, H = p.width, p.height
    p.set_edges(lambda x, y: 100.0 * np.sin(np.pi * x / W), 0.0, lambda x, y: 20.0 * y,
                lambda x, y: 10.0 + 5.0 * y / H)
    p.q = 300.0 * np.exp(-((p.x - 2.0) ** 2 + (p.y - 1.5) ** 2)) + source_file_values(p)
    p.add_region(p.rectangle(0.55, 1.25, 0.45, 0.95), 80.0)
    p.add_region(p.disk(2.95, 1.85, 0.52), lambda x, y: -20.0 + 10.0 * x)
    p.add_region(mask_values(p) != 0, 35.0)
    with h5py.File(os.path.join(tmp, "mask.h5"), "w") as f:
        f["fixed"] = mask_values(p)
    with h5py.File(os.path.join(tmp, "source.h5"), "w") as f:
        f[source_dataset or "source"] = source_file_values(p)
    src = {"q": "300*exp(-((x-2)^2+(y-1.5)^2))", "from_file": "source.h5"}
    if source_dataset:
        src["dataset"] = source_dataset
    text = toml({
        "grid": {"nx": nx, "ny": ny},
        "plate": {"width": width, "conductivity": ANY["k"], "thickness": ANY["t"]},
        "boundary": {"top": "100*sin(pi*x/width)", "bottom": 0.0, "left": "20*y",
                     "right": "10 + 5*y/height"},
        "initial": {"interior": "20 + e*x*y"},
        "source": src,
        "solver": solver or {"tolerance": 1e-6},
        "decomposition": decomposition,
        "halo": halo,
        "output": output,
    }, regions=[
        {"shape": "rectangle", "x0": 0.55, "x1": 1.25, "y0": 0.45, "y1": 0.95,
         "temperature": 80.0},
        {"shape": "disk", "cx": 2.95, "cy": 1.85, "radius": 0.52, "temperature": "-20 + 10*x"},
        {"shape": "mask", "file": "mask.h5", "temperature": 35},
    ])
    return text, p


# ---- 1. manufactured solutions -------------------------------------------------------------

# T = sin(pi x) cosh(y) + x^2 y (not harmonic): lap T = (1 - pi^2) sin(pi x) cosh(y) + 2 y,
# so q = -k t lap T = k t ((pi^2 - 1) sin(pi x) cosh(y) - 2 y).
MANUFACTURED_T = "sin(pi*x)*cosh(y) + x^2*y"


def manufactured_t(x, y):
    return np.sin(np.pi * x) * np.cosh(y) + x * x * y


def manufactured_errors(method, sizes, width, height, k, t, target):
    """The max error against T at the grid points for each (nx, ny) of sizes."""
    errors = []
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        for nx, ny in sizes:
            plate = {"width": width}
            if height is not None:
                plate["height"] = height
            if (k, t) != (1.0, 1.0):
                plate.update(conductivity=k, thickness=t)
            text = toml({
                "grid": {"nx": nx, "ny": ny},
                "plate": plate,
                "boundary": {e: MANUFACTURED_T for e in ("top", "bottom", "left", "right")},
                "source": {"q": f"{k * t!r}*((pi^2 - 1)*sin(pi*x)*cosh(y) - 2*y)"},
                "solver": {"method": method, "target_error": target,
                           "max_iterations": 10000000},
            })
            r = solve(tmp, text, ranks=2)
            p = Plate(nx, ny, width, k, t)
            truth = manufactured_t(p.x, p.y)
            ring_error = np.abs(r.t[0, :] - manufactured_t(np.arange(nx + 2) * p.h, 0.0)).max()
            if ring_error > 1e-12:
                raise Failure(f"{method} {nx} x {ny}: the top edge is {ring_error:.3g} from "
                              f"T(x, 0) at x = c h")
            errors.append(float(np.abs(r.t[1:-1, 1:-1] - truth).max()))
    return errors


def expect_second_order(what, sizes, errors):
    print(f"{what}: max errors {', '.join(f'{n}x{m} {e:.4g}' for (n, m), e in zip(sizes, errors))}")
    for (s0, e0), (s1, e1) in zip(zip(sizes, errors), zip(sizes[1:], errors[1:])):
        ratio = e0 / e1 if e1 > 0 else math.inf
        order = math.log2(ratio) if ratio > 0 else -math.inf
        if not (3.3 <= ratio <= 4.7 and 1.8 <= order <= 2.2):
            raise Failure(f"{what}: max error {e0:.4g} at {s0[0]}x{s0[1]}, {e1:.4g} at "
                          f"{s1[0]}x{s1[1]}: ratio {ratio:.3f} (order {order:.2f}), expected "
                          f"about 4 (second order): all {list(zip(sizes, errors))}")


def case_plate_manufactured_second_order_square():
    """A unit square plate (k = t = 1): T = sin(pi x) cosh(y) + x^2 y with q = -lap T and the
    edges T; 15^2, 31^2, 63^2; the max error falls 4x a halving, for every method."""
    sizes = [(15, 15), (31, 31), (63, 63)]
    for method in METHODS:
        errors = manufactured_errors(method, sizes, 1.0, None, 1.0, 1.0, 1e-9)
        expect_second_order(f"{method}, 1 m square", sizes, errors)


def case_plate_manufactured_second_order_rectangle_units():
    """The same T on a 2 m x 1 m plate (nx + 1 = 2 (ny + 1), both sizes given) of conductivity
    0.5 W/(m K) and thickness 0.02 m, q = -k t lap T: second order for every method, so k, t,
    width and height all enter the equations as specified."""
    sizes = [(31, 15), (63, 31), (127, 63)]
    for method in METHODS:
        errors = manufactured_errors(method, sizes, 2.0, 1.0, 0.5, 0.02, 1e-9)
        expect_second_order(f"{method}, 2 m x 1 m, k 0.5, t 0.02", sizes, errors)


# ---- 2. regions and sources against an independent solve ----------------------------------

def case_plate_regions_against_scipy():
    """The any plate (three varying edges, a source expression plus a file, a rectangle, a
    disk at a varying temperature and an overlapping mask) against scipy's sparse direct
    solve of the same equations: every method within its target (1e-8) and its own bound;
    stopped early, the bound is never below the true error; the held points hold their
    temperature exactly."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        text, plate = any_plate(tmp, solver={"target_error": 1e-8, "max_iterations": 1000000},
                                source_dataset="/heat")
        exact = plate.exact()
        floor = 1e-10
        for method in METHODS:
            r = solve(tmp, text, ranks=2, sets=(f"solver.method={method}",))
            true, bound = max_error(r.t, exact), float(r.attrs["error_bound"])
            what = f"{method}, target_error 1e-8"
            print(f"{what}: {r.iterations} iterations, true error {true:.3g}, bound {bound:.3g}, "
                  f"estimate {float(r.attrs['error_estimate']):.3g}")
            if not true <= 1e-8 + floor:
                raise Failure(f"{what}: converged {true:.3g} from scipy's solve (at "
                              f"{np.unravel_index(np.abs(r.t - exact).argmax(), r.t.shape)})")
            if not bound >= true - floor:
                raise Failure(f"{what}: the bound {bound:.3g} is below the true error {true:.3g}")
            held = ~plate.free
            if not np.array_equal(r.t[1:-1, 1:-1][held], exact[1:-1, 1:-1][held]):
                worst = np.abs(r.t[1:-1, 1:-1] - exact[1:-1, 1:-1])[held].max()
                if worst > 1e-12 * np.abs(plate.held).max():
                    raise Failure(f"{what}: a held point is {worst:.3g} from its temperature")
            if method == "multigrid" and r.iterations > 60:
                raise Failure(f"{what}: {r.iterations} cycles: the regions slow multigrid "
                              f"down (a plain plate takes about 10)")
        stops = {"jacobi": (1, 40, 700), "chebyshev": (1, 15, 60), "multigrid": (1, 2, 4)}
        for method, counts in stops.items():
            for most in counts:
                r = solve(tmp, text, ranks=2, want=(3,),
                          sets=(f"solver.method={method}", f"solver.max_iterations={most}"))
                true, bound = max_error(r.t, exact), float(r.attrs["error_bound"])
                est = float(r.attrs["error_estimate"])
                print(f"{method} stopped at {most}: true {true:.4g}, bound {bound:.4g} "
                      f"({bound / true:.3g} x), estimate {est:.4g} ({est / true:.3g} x)")
                if not bound >= true - floor:
                    raise Failure(f"{method} stopped after {most} iterations: the bound "
                                  f"{bound:.6g} is below the true error {true:.6g}")


def case_plate_thin_regions_against_scipy():
    """Regions that are hard for coarse grids and for the flows: a rectangle whose edges lie
    on grid lines (they are in), a wire one point wide (x0 = x1), a disk holding a single
    point, a block touching the top and left edges, a checkerboard mask (a float dataset of
    0.5s) along the bottom edge; a source from a float32 dataset plus an expression; a 64 x 37
    plate (even and odd counts). Every method, and multigrid's cycles and smoothers on 1 and
    3 ranks, within its target of scipy's solve; the bound never below the true error; the
    heat flows (edges skip held neighbours) from the file's field."""
    nx, ny, width, k, t = 64, 37, 1.3, 150.0, 0.003
    p = Plate(nx, ny, width, k, t)
    W, H = p.width, p.height
    p.set_edges(lambda x, y: 50.0 * np.cos(np.pi * x / W), 10.0,
                lambda x, y: 30.0 * (1.0 - y / H), 0.0)
    checker = np.zeros((ny, nx))
    ii, jj = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    checker[28:, 45:61] = np.where((ii + jj)[28:, 45:61] % 2 == 0, 0.5, 0.0)
    q_file = (2000.0 * np.sin(7.0 * p.x) * np.cos(5.0 * p.y)).astype(np.float32)
    p.q = 1e4 * p.x * (1.3 - p.x) + q_file.astype(np.float64)
    p.add_region(p.rectangle(0.3, 0.36, 0.1, 0.5, on_lines=True), 60.0)
    p.add_region(p.rectangle(0.8, 0.8, 0.2, 0.6, on_lines=True), lambda x, y: -10.0 + 50.0 * y)
    p.add_region(p.disk(1.0, 0.4, 0.005), 120.0)
    p.add_region(p.rectangle(0.0, 0.1, 0.0, 0.12, on_lines=True), 25.0)
    p.add_region(checker != 0, lambda x, y: 30.0 + 20.0 * np.sin(10.0 * x))
    sizes = [int((p.region == n).sum()) for n in range(1, 6)]
    if sizes[:4] != [4 * 21, 21, 1, 5 * 6] or not (p.region[0, 0] == 4 and p.region[-1, 46] == 5):
        raise Failure(f"test bug: region sizes {sizes}")
    text = toml({
        "grid": {"nx": nx, "ny": ny},
        "plate": {"width": width, "conductivity": k, "thickness": t},
        "boundary": {"top": "50*cos(pi*x/width)", "bottom": 10, "left": "30*(1 - y/height)",
                     "right": 0.0},
        "source": {"q": "1e4*x*(1.3-x)", "from_file": "q.h5", "dataset": "/q"},
        "solver": {"target_error": 1e-8, "max_iterations": 1000000},
    }, regions=[
        {"shape": "rectangle", "x0": 0.3, "x1": 0.36, "y0": 0.1, "y1": 0.5, "temperature": 60.0},
        {"shape": "rectangle", "x0": 0.8, "x1": 0.8, "y0": 0.2, "y1": 0.6,
         "temperature": "-10 + 50*y"},
        {"shape": "disk", "cx": 1.0, "cy": 0.4, "radius": 0.005, "temperature": 120},
        {"shape": "rectangle", "x0": 0.0, "x1": 0.1, "y0": 0.0, "y1": 0.12, "temperature": 25},
        {"shape": "mask", "file": "checker.h5", "temperature": "30 + 20*sin(10*x)"},
    ])
    exact = p.exact()
    floor = 1e-10
    mg = "solver.method=multigrid"
    runs = [(2, ("solver.method=jacobi",)), (2, ("solver.method=chebyshev",)), (1, (mg,)),
            (3, (mg, "decomposition.partitioner=cyclic")),
            (2, (mg, "solver.multigrid.cycle=F", "solver.multigrid.fmg=true")),
            (2, (mg, "solver.multigrid.smoother=jacobi", "solver.multigrid.cycle=W")),
            (2, (mg, "solver.multigrid.smoother=chebyshev"))]
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        with h5py.File(os.path.join(tmp, "checker.h5"), "w") as f:
            f["fixed"] = checker
        with h5py.File(os.path.join(tmp, "q.h5"), "w") as f:
            f["q"] = q_file
        failures, fingerprints = [], {}
        for ranks, sets in runs:
            what = f"{' '.join(sets)} on {ranks} ranks"
            try:
                r = solve(tmp, text, ranks=ranks, sets=sets)
                true, bound = max_error(r.t, exact), float(r.attrs["error_bound"])
                print(f"{what}: {r.iterations} iterations, true error {true:.3g}, bound "
                      f"{bound:.3g}")
                if not np.array_equal(r.fixed, p.region):
                    bad = np.argwhere(r.fixed != p.region)
                    raise Failure(f"{what}: /fixed differs at {len(bad)} points, first (i, j) = "
                                  f"{tuple(bad[0])}: {r.fixed[tuple(bad[0])]}, expected "
                                  f"{p.region[tuple(bad[0])]}")
                if not true <= 1e-8 + floor:
                    at = np.unravel_index(np.abs(r.t - exact).argmax(), r.t.shape)
                    raise Failure(f"{what}: converged {true:.3g} from scipy's solve (worst at "
                                  f"{at})")
                if not bound >= true - floor:
                    raise Failure(f"{what}: the bound {bound:.3g} is below the true error "
                                  f"{true:.3g}")
                if sets == ("solver.method=chebyshev",):
                    check_heat(what, r, p, True)
                if sets[1:] in ((), ("decomposition.partitioner=cyclic",)):
                    fingerprints[what] = r.fingerprint
            except Failure as e:
                failures.append(str(e))
        mg_runs = [v for w, v in fingerprints.items() if "multigrid" in w]
        if len(set(mg_runs)) > 1:
            failures.append(f"multigrid on 1 and 3 ranks: not the same bits: {fingerprints}")
        for most in (1, 3):
            r = solve(tmp, text, ranks=2, sets=(mg, f"solver.max_iterations={most}"), want=(3,))
            true, bound = max_error(r.t, exact), float(r.attrs["error_bound"])
            if not bound >= true - floor:
                failures.append(f"multigrid stopped after {most}: the bound {bound:.3g} is "
                                f"below the true error {true:.3g}")
        if failures:
            raise Failure(f"{len(failures)} failures:\n\n" + "\n\n".join(failures))


def case_plate_thin_plates_against_scipy():
    """Plates of one or two rows or columns, and 1 x 1, with a source and (where there is room)
    a held point from a mask: every method within its target of scipy's solve, its bound
    never below the true error (multigrid's coarsest levels and the narrow bands)."""
    failures = []
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        for nx, ny in ((1, 1), (1, 17), (17, 1), (40, 2), (2, 200), (3, 64), (150, 3)):
            p = Plate(nx, ny, 0.5, 3.0, 0.2)
            W, H = p.width, p.height
            p.set_edges(lambda x, y: 40.0 * np.sin(np.pi * x / W), 5.0, lambda x, y: 10.0 * y / H,
                        -2.0)
            p.q = 1e3 * np.cos(3.0 * p.x + 2.0 * p.y)
            regions = []
            if nx * ny > 2:
                mask = np.zeros((ny, nx), dtype=np.uint8)
                mask[ny // 2, nx // 2] = mask[-1, -1] = 1
                p.add_region(mask != 0, lambda x, y: 15.0 + 0.0 * x)
                with h5py.File(os.path.join(tmp, "m.h5"), "w") as f:
                    f["fixed"] = mask
                regions = [{"shape": "mask", "file": "m.h5", "temperature": 15.0}]
            text = toml({
                "grid": {"nx": nx, "ny": ny},
                "plate": {"width": 0.5, "conductivity": 3.0, "thickness": 0.2},
                "boundary": {"top": "40*sin(pi*x/width)", "bottom": 5, "left": "10*y/height",
                             "right": -2},
                "source": {"q": "1e3*cos(3*x + 2*y)"},
                "solver": {"target_error": 1e-9, "max_iterations": 10000000},
            }, regions=regions)
            exact = p.exact()
            for method in METHODS:
                what = f"{method} on {nx} x {ny}"
                try:
                    r = solve(tmp, text, ranks=2 if nx * ny >= 2 else 1,
                              sets=(f"solver.method={method}",))
                    true, bound = max_error(r.t, exact), float(r.attrs["error_bound"])
                    if not true <= 1e-9 + 1e-11 or not bound >= true - 1e-11:
                        raise Failure(f"{what}: true error {true:.3g} (target 1e-9), bound "
                                      f"{bound:.3g}")
                except Failure as e:
                    failures.append(str(e))
    if failures:
        raise Failure(f"{len(failures)} failures:\n\n" + "\n\n".join(failures))


def case_plate_profiles_sources_and_masks_written():
    """What the file holds: the ring at the positions the spec names (top and bottom at
    x = c h, c = 0..nx+1, corners included; left and right at y = r h), /source = q (the
    expression plus the file; 0 at held points), /fixed = the region numbers (later wins), the units; and the
    starting field's expression, seen through one Jacobi sweep."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        text, plate = any_plate(tmp)
        r = solve(tmp, text, ranks=3, sets=("solver.max_iterations=1", "solver.method=jacobi",
                                            "decomposition.partitioner=cyclic"), want=(3,))
        ring = np.ones_like(plate.ring, dtype=bool)
        ring[1:-1, 1:-1] = False
        ring[0, 0] = ring[0, -1] = ring[-1, 0] = ring[-1, -1] = True
        worst = np.abs(r.t - plate.ring)[ring].max()
        if worst > 1e-12 * 100:
            at = np.unravel_index(np.where(ring, np.abs(r.t - plate.ring), 0).argmax(), r.t.shape)
            raise Failure(f"the ring is {worst:.3g} from the edge profiles at the spec's points "
                          f"(worst at ring point {at}: file {r.t[at]!r}, expected "
                          f"{plate.ring[at]!r})")
        if r.source is None or r.source.shape != (plate.ny, plate.nx):
            raise Failure(f"/source: expected a ({plate.ny}, {plate.nx}) dataset, got "
                          f"{None if r.source is None else r.source.shape}")
        if r.source.dtype != np.float64:
            raise Failure(f"/source: expected float64, got {r.source.dtype}")
        # q where it acts: 0 at held points, where no equation uses it (nor is it evaluated)
        want_q = np.where(plate.region > 0, 0.0, plate.q)
        if not np.allclose(r.source, want_q, rtol=1e-12, atol=1e-12):
            raise Failure(f"/source is {np.abs(r.source - want_q).max():.3g} from q (the "
                          f"expression plus the file's dataset, 0 at held points)")
        if r.fixed is None or r.fixed.dtype != np.uint8 or r.fixed.shape != (plate.ny, plate.nx):
            raise Failure(f"/fixed: expected uint8 ({plate.ny}, {plate.nx}), got "
                          f"{None if r.fixed is None else (r.fixed.dtype, r.fixed.shape)}")
        if not np.array_equal(r.fixed, plate.region):
            bad = np.argwhere(r.fixed != plate.region)
            i, j = bad[0]
            raise Failure(f"/fixed differs from the regions at {len(bad)} points, e.g. "
                          f"(i, j) = ({i}, {j}), x = {plate.x[i, j]:.3f}, y = {plate.y[i, j]:.3f}"
                          f": file {r.fixed[i, j]}, expected {plate.region[i, j]}")
        for key, want in (("width", plate.width), ("height", plate.height),
                          ("spacing", plate.h), ("conductivity", ANY["k"]),
                          ("thickness", ANY["t"])):
            got = r.attrs.get(key)
            if got is None or not math.isclose(float(got), want, rel_tol=1e-14):
                raise Failure(f"attribute {key}: expected {want!r}, got {got!r}")
        with open(os.path.join(tmp, "plate.xmf"), encoding="utf-8") as f:
            xmf = f.read()
        m = re.search(r'Dimensions="3">\s*(\S+) (\S+) (\S+)\s*</DataItem>\s*</Geometry>', xmf)
        if not m or not (math.isclose(float(m.group(1)), plate.h, rel_tol=1e-12) and
                         math.isclose(abs(float(m.group(2))), plate.h, rel_tol=1e-12)):
            raise Failure(f"plate.xmf: expected the spacing in metres, h = {plate.h}, got:\n{xmf}")
        # the file's config attribute reproduces the run (expressions, regions and all)
        again = solve(tmp, r.attrs["config"], ranks=2, out="again.h5", want=(3,),
                      name="again.toml", sets=("solver.max_iterations=1",))
        if again.fingerprint != r.fingerprint:
            raise Failure(f"the file's config attribute, run again: {again.fingerprint}, the "
                          f"run that wrote it {r.fingerprint}:\n{r.attrs['config']}")
        # the same edge by --set, bare and quoted: the same bits
        for value in ("20*y", '"20*y"'):
            other = solve(tmp, text.replace('left = "20*y"', "left = 0.0"), ranks=2, want=(3,),
                          out="set.h5", sets=("solver.max_iterations=1", "solver.method=jacobi",
                                              f"boundary.left={value}"))
            if other.fingerprint != r.fingerprint:
                raise Failure(f"--set boundary.left={value}: {other.fingerprint}, in the file "
                              f"{r.fingerprint}")
        # one Jacobi sweep from T0 = 20 + e x y: T1 = avg(T0) + h^2 q / (4 k t) where free
        t0 = plate.ring.copy()
        t0[1:-1, 1:-1] = np.where(plate.free, 20.0 + np.e * plate.x * plate.y, plate.held)
        avg = 0.25 * ((t0[:-2, 1:-1] + t0[2:, 1:-1]) + (t0[1:-1, :-2] + t0[1:-1, 2:]))
        t1 = np.where(plate.free, avg + plate.h ** 2 * plate.q / (4 * plate.k * plate.t),
                      plate.held)
        worst = np.abs(r.t[1:-1, 1:-1] - t1).max()
        if worst > 1e-11:
            at = np.unravel_index(np.abs(r.t[1:-1, 1:-1] - t1).argmax(), t1.shape)
            raise Failure(f"after one Jacobi sweep from initial.interior = \"20 + e*x*y\" the "
                          f"field is {worst:.3g} from avg(T0) + h^2 q / (4 k t) (at {at}: "
                          f"{r.t[1:-1, 1:-1][at]!r}, expected {t1[at]!r})")


def case_plate_units_resolved():
    """[plate]: neither size given, width = 1 m; height alone gives the width; a pair
    consistent up to rounding (4.1 m and 3.1 m for 40 x 30, h = 0.1) is accepted; the
    Laplace plate's field does not depend on the units."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        base = {"grid": {"nx": 40, "ny": 30}, "boundary": {"top": 100.0},
                "solver": {"tolerance": 1e-5}}
        runs = {}
        for label, plate, width, height in (
                ("no [plate]", None, 1.0, 31 / 41),
                ("height = 3.1", {"height": 3.1}, 4.1, 3.1),
                ("width = 4.1, height = 3.1", {"width": 4.1, "height": 3.1}, 4.1, 3.1),
                ("width 0.041, k 400, t 0.002", {"width": 0.041, "conductivity": 400.0,
                                                 "thickness": 0.002}, 0.041, 0.031)):
            r = solve(tmp, toml(dict(base, plate=plate)), ranks=2)
            for key, want in (("width", width), ("height", height),
                              ("spacing", width / 41)):
                if not math.isclose(float(r.attrs.get(key, math.nan)), want, rel_tol=1e-12):
                    raise Failure(f"{label}: attribute {key} = {r.attrs.get(key)!r}, expected "
                                  f"{want!r}")
            runs[label] = r.fingerprint
        if len(set(runs.values())) != 1:
            raise Failure(f"a plate without sources: the units changed the field: {runs}")


# ---- 3. bit for bit --------------------------------------------------------------------------

def identical_any_plate(combos, methods=METHODS, temporal=()):
    """For each method, every combination (ranks, partitioner, block, process grid, halo
    mode, ranks_per_node) gives the 1-rank run's iterations, checksum, field, /source, /fixed,
    heat flows and error estimate and bound, bit for bit; `temporal`: (K, check_interval) to
    run also with solver.temporal_block = K (jacobi and chebyshev)."""
    failures = []  # each leg (method, temporal block) stops at its first failure
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        text, _ = any_plate(tmp)
        for method in methods:
            legs = [((), combos)]
            if method != "multigrid":
                legs += [((f"solver.check_interval={c}", f"solver.temporal_block={k}"),
                          combos[:3]) for k, c in temporal]
            for sets, legs_combos in legs:
                base = (f"solver.method={method}",) + sets
                try:
                    ref = solve(tmp, text, ranks=1, sets=base + ("solver.stores=regular",))
                    if sets:  # temporal blocks change no bit: against plain sweeps
                        plain = solve(tmp, text, ranks=1, out="plain.h5",
                                      sets=(f"solver.method={method}", sets[0]))
                        expect_same_bits(plain, ref, f"{method} on 1 rank, {' '.join(sets)} "
                                                     f"against plain sweeps")
                    for ranks, part, block, grid, mode, rpn, *more in legs_combos:
                        more = tuple(more[0]) if more else ()
                        what = (f"{method} on {ranks} ranks, {part} {block}, grid {list(grid)}, "
                                f"halo {mode}, ranks_per_node {rpn} {' '.join(sets + more)}")
                        r = solve(tmp, text, ranks=ranks, out="b.h5", sets=base + more + (
                            f"decomposition.partitioner={part}",
                            f"decomposition.block_size={block}",
                            f"decomposition.process_grid=[{grid[0]}, {grid[1]}]",
                            f"halo.mode={mode}", f"halo.ranks_per_node={rpn}"))
                        expect_same_bits(ref, r, what)
                except Failure as e:
                    failures.append(str(e))
    if failures:
        raise Failure(f"{len(failures)} legs failed:\n\n" + "\n\n".join(failures))


def expect_same_bits(ref, r, what):
    """r has ref's iterations, checksum, datasets, heat flows, estimate and bound, bit for
    bit."""
    if r.fingerprint != ref.fingerprint:
        raise Failure(f"{what}: (iterations, checksum) {r.fingerprint}, reference "
                      f"{ref.fingerprint}")
    for name, a, b in (("/temperature", ref.t, r.t), ("/source", ref.source, r.source),
                       ("/fixed", ref.fixed, r.fixed)):
        if a is None or b is None or a.shape != b.shape or a.tobytes() != b.tobytes():
            raise Failure(f"{what}: {name} is not the reference's, bit for bit")
    for key in HEAT_KEYS + ("heat_regions", "error_estimate", "error_bound"):
        a, b = ref.attrs.get(key), r.attrs.get(key)
        if a is None or b is None or np.asarray(a).tobytes() != np.asarray(b).tobytes():
            raise Failure(f"{what}: attribute {key} = {b!r}, reference {a!r}: not the same "
                          f"bits")


def case_plate_identical_on_2_ranks():
    """Within 2 ranks (the MPICH leg): the any plate on every partitioner, process grids,
    shared windows and messages, nodes of one rank, without overlap, streaming stores,
    temporal blocks; every method."""
    combos = [(2, "block", 1, (0, 1), "auto", 0), (2, "cyclic", 1, (1, 0), "p2p", 0),
              (2, "block-cyclic", 3, (0, 0), "auto", 1), (2, "block-cyclic", 7, (1, 2), "shm", 0),
              (2, "block", 1, (1, 2), "p2p", 0, ("halo.overlap=false", "solver.stores=streaming"))]
    identical_any_plate(combos, temporal=((3, 3),))


def case_plate_identical_on_3_and_4_ranks():
    """3 and 4 ranks, oversubscribed: square and strip process grids, every partitioner,
    nodes of 1 and 2 ranks, temporal blocks; every method."""
    combos = [(3, "block", 1, (0, 0), "auto", 0), (4, "block", 1, (2, 2), "p2p", 2),
              (4, "cyclic", 1, (2, 2), "auto", 0), (3, "block-cyclic", 2, (1, 3), "auto", 1),
              (4, "block-cyclic", 5, (4, 1), "shm", 0),
              (3, "cyclic", 1, (0, 1), "p2p", 1, ("halo.overlap=false",))]
    identical_any_plate(combos, temporal=((4, 4),))


def case_plate_parallel_output_equals_gather():
    """output.mode = "parallel" writes /temperature, /source, /fixed and the heat flows with
    the bits of the gathered file (skipped with a serial HDF5)."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        text, _ = any_plate(tmp)
        sets = ("solver.method=chebyshev", "decomposition.partitioner=block-cyclic",
                "decomposition.block_size=4", "decomposition.process_grid=[1, 2]")
        g = solve(tmp, text, ranks=2, sets=sets)
        p = solve(tmp, text, ranks=2, out="p.h5", sets=sets + ("output.mode=parallel",),
                  want=(0, 2))
        if p.p.returncode == 2 and "parallel HDF5" in p.p.stderr:
            print("skipped: this HDF5 is serial")
            return
        expect_exit(p.p, 0, "parallel output")
        expect_same_bits(g, p, "parallel output against gather")


# ---- 4. heat balance -------------------------------------------------------------------------

def check_heat(what, r, plate, converged):
    a = r.attrs
    no_regions = plate.region.max() == 0
    missing = [k for k in HEAT_KEYS + (() if no_regions else ("heat_regions",)) if k not in a]
    if missing:
        raise Failure(f"{what}: no attributes {missing} in the file: {sorted(a)}")
    mine = plate.heat(r.t)
    regions = np.atleast_1d(np.asarray(a.get("heat_regions", []), dtype=np.float64))
    scale = sum(abs(mine[k]) for k in HEAT_KEYS[:5]) + np.abs(mine["heat_regions"]).sum()
    tol = 1e-11 * scale
    for key in HEAT_KEYS[:6]:
        if not abs(float(a[key]) - mine[key]) <= tol:
            raise Failure(f"{what}: {key} = {float(a[key])!r} W, from the file's field "
                          f"{mine[key]!r} W (all mine: {mine})")
    if regions.shape != mine["heat_regions"].shape or \
            not np.all(np.abs(regions - mine["heat_regions"]) <= tol):
        raise Failure(f"{what}: heat_regions = {regions}, from the file's field "
                      f"{mine['heat_regions']}")
    total = sum(float(a[k]) for k in HEAT_KEYS[:5]) + regions.sum()
    if not abs(total - float(a["heat_imbalance"])) <= 1e-12 * scale:
        raise Failure(f"{what}: edges + regions + source = {total!r} W, heat_imbalance "
                      f"{float(a['heat_imbalance'])!r} W")
    bound = float(a["heat_imbalance_bound"])
    if not abs(float(a["heat_imbalance"])) <= bound:
        raise Failure(f"{what}: |heat_imbalance| = {abs(float(a['heat_imbalance'])):.3g} W above "
                      f"heat_imbalance_bound {bound:.3g} W")
    if converged and not bound <= 1e-6 * scale:
        raise Failure(f"{what}: converged, but heat_imbalance_bound {bound:.3g} W is not small "
                      f"against the flows ({scale:.3g} W)")
    return mine


def case_plate_heat_balance():
    """The heat flows in the file equal this script's, computed from the file's field, for
    every method; they sum to heat_imbalance, within heat_imbalance_bound, converged or
    stopped early; and the summary reports them."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        text, plate = any_plate(tmp, solver={"target_error": 1e-9, "max_iterations": 1000000})
        for method in METHODS:
            r = solve(tmp, text, ranks=2, sets=(f"solver.method={method}",))
            mine = check_heat(f"{method}, converged", r, plate, True)
            print(f"{method}: " + ", ".join(f"{k[5:]} {np.round(v, 4)}" for k, v in mine.items()))
            if not re.search(r"heat", r.p.stdout, re.I) or " W" not in r.p.stdout:
                raise Failure(f"{method}: the summary does not report the heat flows in W:\n"
                              f"{r.p.stdout}")
            for most in ((3, 50) if method != "multigrid" else (1,)):
                e = solve(tmp, text, ranks=2, want=(3,),
                          sets=(f"solver.method={method}", f"solver.max_iterations={most}"))
                check_heat(f"{method}, stopped after {most}", e, plate, False)
        # a plate of uniform source and cold edges, no regions: all of q h^2 nx ny leaves
        # through the edges, shared by symmetry
        uniform = toml({"grid": {"nx": 31, "ny": 31},
                        "plate": {"width": 0.32, "conductivity": 50.0, "thickness": 0.01},
                        "source": {"q": 2000.0},
                        "solver": {"target_error": 1e-10, "method": "multigrid"}})
        r = solve(tmp, uniform, ranks=2)
        total = 2000.0 * 31 * 31 * (0.32 / 32) ** 2
        if not math.isclose(float(r.attrs["heat_source"]), total, rel_tol=1e-12):
            raise Failure(f"uniform q 2000 W/m^2 on 31 x 31 points, h = 0.01 m: heat_source "
                          f"{r.attrs['heat_source']!r} W, expected {total!r}")
        edges = [float(r.attrs[k]) for k in HEAT_KEYS[:4]]
        if not all(math.isclose(e, -total / 4, rel_tol=1e-7) for e in edges):
            raise Failure(f"uniform source, cold edges: each edge should take a quarter of the "
                          f"{total} W (-{total / 4}), got {edges}")


# ---- 5. restart and checkpoint ---------------------------------------------------------------

def case_plate_restart_and_checkpoint():
    """With profiles, sources and regions: a run stopped at max_iterations continues on other
    ranks and partitioners to the straight run's field and count, and so does one continued
    from its checkpoint, for every method; a file of the plate without regions seeds the plate
    with them (the held points are imposed again); a file of another edge profile is refused."""
    stops = {"jacobi": (137, 200), "chebyshev": (41, 30), "multigrid": (3, 2)}
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        text, plate = any_plate(tmp, solver={"tolerance": 1e-7, "max_iterations": 1000000})
        for method, (stop, interval) in stops.items():
            m = f"solver.method={method}"
            a = solve(tmp, text, ranks=2, out="a.h5", sets=(m,))
            b = solve(tmp, text, ranks=3, out="b.h5", want=(3,),
                      sets=(m, f"solver.max_iterations={stop}", "decomposition.partitioner=cyclic"))
            c = solve(tmp, text, ranks=4, out="c.h5", sets=(
                m, "initial.from_file=b.h5", "decomposition.partitioner=block-cyclic",
                "decomposition.block_size=3", "decomposition.process_grid=[2, 2]"))
            expect_same_bits(a, c, f"{method}: stopped at {stop} on 3 ranks, continued on 4")
            d = solve(tmp, text, ranks=1, out="d.h5",
                      sets=(m, f"output.checkpoint_interval={interval}"))
            with h5py.File(os.path.join(tmp, "d.ckpt.h5"), "r") as f:
                at = int(f.attrs["iterations"])
            if at != (d.iterations // interval) * interval and \
                    at != ((d.iterations - 1) // interval) * interval:
                raise Failure(f"{method}: checkpoint at {at}, run of {d.iterations} "
                              f"iterations, interval {interval}")
            e = solve(tmp, text, ranks=2, out="e.h5",
                      sets=(m, "initial.from_file=d.ckpt.h5", "halo.mode=p2p"))
            expect_same_bits(d, e, f"{method}: continued from the checkpoint of iteration {at}")
            expect_same_bits(a, e, f"{method}: the straight run on 2 ranks against the "
                                   f"checkpointed one continued")
        # seeded by the plate without regions (same ring): held points imposed again
        plain = re.sub(r"\[\[region\]\][^\[]*", "", text)
        if "[[region]]" in plain or "shape" in plain:
            raise Failure(f"test bug: regions left in:\n{plain}")
        solve(tmp, plain, ranks=2, out="plain.h5", want=(3,), sets=("solver.max_iterations=30",))
        s = solve(tmp, text, ranks=2, out="s.h5", sets=(
            "initial.from_file=plain.h5", "solver.method=chebyshev", "solver.target_error=1e-8"))
        true = max_error(s.t, plate.exact())
        if not true <= 1e-8 + 1e-10:
            raise Failure(f"seeded by a file without regions: converged {true:.3g} from "
                          f"scipy's solve")
        other = text.replace('left = "20*y"', 'left = "20*y + 1"')
        r = solve(tmp, other, ranks=2, out="o.h5", want=(2,), sets=("initial.from_file=a.h5",))
        expect_in(r.p.stderr, ["initial.from_file"], "a file whose left edge is another profile")


def case_plate_signal_checkpoints_and_continues_exactly():
    """SIGUSR1 to mpiexec mid-solve on a plate with profiles, sources and regions: the
    checkpoint is written, exit 4, and the run continued from it on other ranks ends bit for
    bit where an uninterrupted one does (Jacobi, and Chebyshev with its /previous)."""
    for method in ("jacobi", "chebyshev"):
        with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
            text, _ = any_plate(tmp, nx=160, ny=120, width=16.1, solver={
                "method": method, "tolerance": 1e-300, "max_iterations": 100000000,
                "check_interval": 10}, output={"checkpoint_interval": 200})
            with open(os.path.join(tmp, "case.toml"), "w", encoding="utf-8") as f:
                f.write(text)
            cmd = [e2e.ARGS.mpiexec, "-n", "3", os.path.abspath(e2e.ARGS.jacobi), "--quiet",
                   "--set", "output.path=s.h5", "case.toml"]
            proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, errors="replace", env=ENV)
            ckpt, deadline = os.path.join(tmp, "s.ckpt.h5"), time.time() + 300  # hangs only
            while not os.path.exists(ckpt) and proc.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            if proc.poll() is not None or not os.path.exists(ckpt):
                proc.kill()
                out, err = proc.communicate()
                raise Failure(f"{method}: the long run ended or wrote no checkpoint:\n"
                              f"{out}\n{err}")
            proc.send_signal(signal.SIGUSR1)
            try:
                out, err = proc.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise Failure(f"{method}: the signalled run did not stop within 300 s")
            if proc.returncode != 4:
                raise Failure(f"{method}: SIGUSR1: expected exit 4, got {proc.returncode}\n"
                              f"{out}\n{err}")
            with h5py.File(ckpt, "r") as f:
                k = int(f.attrs["iterations"])
            stop = (f"solver.max_iterations={k + 150}", "output.checkpoint_interval=0")
            a = solve(tmp, text, ranks=2, out="a.h5", want=(3,), sets=stop)
            c = solve(tmp, text, ranks=4, out="c.h5", want=(3,), sets=stop + (
                "initial.from_file=s.ckpt.h5", "decomposition.partitioner=cyclic"))
            expect_same_bits(a, c, f"{method}: uninterrupted to {k + 150} against continued "
                                   f"from the signal's checkpoint at {k}")


# ---- 6. config errors ------------------------------------------------------------------------

def error_cases(tmp):
    """(what, config text, ranks, origins, words) for every new config error."""
    good, _ = any_plate(tmp)
    with h5py.File(os.path.join(tmp, "short.h5"), "w") as f:
        f["fixed"] = np.ones((29, 40), dtype=np.uint8)
        f["source"] = np.ones((30, 41))
        f["text"] = np.array([[b"a"] * 40] * 30)
    with h5py.File(os.path.join(tmp, "nan.h5"), "w") as f:
        s = np.ones((30, 40))
        s[3, 7] = np.nan
        f["source"] = s
    os.mkfifo(os.path.join(tmp, "fifo"))
    with h5py.File(os.path.join(tmp, "elink.h5"), "w") as f:  # links to a FIFO: never opened
        f["fixed"] = h5py.ExternalLink("fifo", "/fixed")
        f["source"] = h5py.ExternalLink(os.path.join(tmp, "fifo"), "/source")
    with h5py.File(os.path.join(tmp, "lzf.h5"), "w") as f:  # h5py's own filter, not HDF5's
        f.create_dataset("fixed", data=np.ones((30, 40), dtype=np.uint8), chunks=(8, 8),
                         compression="lzf")
        f.create_dataset("source", data=np.ones((30, 40)), chunks=(8, 8), compression="lzf")
    cases = []

    def replace(what, old, new, key_start, words, ranks=1, region_key=False):
        if old not in good:
            raise Failure(f"test bug: {old!r} not in the config")
        text = good.replace(old, new, 1)
        n = line_of(text, new.split("\n")[0])
        origins = [f"case.toml:{n + k}" for k in range(new.count("\n") + 1)]
        if region_key:  # any line of the region's table, its [[region]] header included
            lines = text.splitlines() + ["[[region]]"]
            header = max(i for i in range(1, n + 1) if lines[i - 1] == "[[region]]")
            end = min(i for i in range(n + 1, len(lines) + 1) if lines[i - 1] == "[[region]]")
            origins += [f"case.toml:{i}" for i in range(header, end)]
        cases.append((what, text, ranks, origins, words + ([key_start] if key_start else [])))

    # expressions that do not parse, or name what does not exist
    replace("top edge expression that does not parse", 'top = "100*sin(pi*x/width)"',
            'top = "100 * * x"', "boundary.top", ["position"])
    replace("source expression with a missing parenthesis", 'q = "300*exp(-((x-2)^2+(y-1.5)^2))"',
            'q = "300*exp(-((x-2)^2+(y-1.5)^2)"', "source.q", ["position"])
    replace("starting field naming an unknown variable", 'interior = "20 + e*x*y"',
            'interior = "20 + 5*x*z"', "initial.interior", ["position"])
    replace("region temperature that does not parse", 'temperature = "-20 + 10*x"',
            'temperature = "-20 + 10*"', "temperature", ["position"], region_key=True)
    # values that are not finite, or beyond the temperatures kept finite
    replace("an edge of 1/0", 'left = "20*y"', 'left = "1/0"', "boundary.left", [])
    replace("a starting field log(x - 1), NaN for x < 1", 'interior = "20 + e*x*y"',
            'interior = "log(x-1)"', "initial.interior", [])
    replace("a source sqrt(-1 - x)", 'q = "300*exp(-((x-2)^2+(y-1.5)^2))"',
            'q = "sqrt(-1-x)"', "source.q", [])
    replace("a region temperature 1/(x - x)", 'temperature = "-20 + 10*x"',
            'temperature = "1/(x-x)"', "temperature", [])  # its own line, not the header's
    replace("an edge of 1e200 * 1e200", 'right = "10 + 5*y/height"', 'right = "1e200*1e200"',
            "boundary.right", [])
    replace("an edge beyond 1e300", 'top = "100*sin(pi*x/width)"', 'top = "2e300*(1+0*x)"',
            "boundary.top", [])
    # units
    replace("a negative conductivity", "conductivity = 2.0", "conductivity = -1.0",
            "plate.conductivity", [])
    replace("a zero conductivity", "conductivity = 2.0", "conductivity = 0.0",
            "plate.conductivity", [])
    replace("a zero thickness", "thickness = 0.5", "thickness = 0.0", "plate.thickness", [])
    replace("a negative width", "width = 4.1", "width = -4.1", "plate.width", [])
    text = good.replace("width = 4.1", "width = 4.1\nheight = 2.0")
    cases.append(("width and height inconsistent with nx, ny", text, 1,
                  [f"case.toml:{line_of(text, 'width')}", f"case.toml:{line_of(text, 'height')}"],
                  ["height", "width"]))
    # regions
    replace("a rectangle outside the plate", "x0 = 0.55\nx1 = 1.25", "x0 = 5.0\nx1 = 6.0",
            "region", [], region_key=True)
    replace("a disk outside the plate", "cx = 2.95\ncy = 1.85", "cx = -3.0\ncy = 1.85",
            "region", [], region_key=True)
    replace("a rectangle between grid points", "x0 = 0.55\nx1 = 1.25\ny0 = 0.45\ny1 = 0.95",
            "x0 = 0.52\nx1 = 0.58\ny0 = 0.52\ny1 = 0.58", "region", [], region_key=True)
    replace("a disk between grid points", "cx = 2.95\ncy = 1.85\nradius = 0.52",
            "cx = 2.95\ncy = 1.85\nradius = 0.03", "region", [], region_key=True)
    replace("a rectangle with x0 > x1", "x0 = 0.55\nx1 = 1.25", "x0 = 1.25\nx1 = 0.55",
            "region", [], region_key=True)
    replace("a disk of negative radius", "radius = 0.52", "radius = -0.52", "radius", [],
            region_key=True)
    replace("an unknown shape", 'shape = "disk"', 'shape = "triangle"', "shape", [],
            region_key=True)
    text = good.replace("x1 = 1.25\n", "", 1)
    n = line_of(text, "[[region]]")
    cases.append(("a rectangle without x1", text, 1, [f"case.toml:{n}", f"case.toml:{n + 1}"],
                  ["x1"]))
    replace("a misspelt region key", "radius = 0.52", "radios = 0.52", "radius", [],
            region_key=True)
    replace("a rectangle partly outside the plate", "x1 = 1.25", "x1 = 4.2", "x1", [],
            region_key=True)
    replace("a disk key in a rectangle", "y1 = 0.95", "y1 = 0.95\nradius = 0.2", "radius", [],
            region_key=True)
    replace("a source that could heat beyond the sums' range",
            'q = "300*exp(-((x-2)^2+(y-1.5)^2))"', "q = 1e300", "source.q", [])
    replace("an assignment for a comparison", 'left = "20*y"', 'left = "x = 1"', "boundary.left",
            [])
    replace("an expression over 1000 bytes", 'left = "20*y"', 'left = "' + "+".join(["y"] * 600)
            + '"', "boundary.left", [])
    first = good.index("[[region]]")
    text = good[:first] + good[first:].split("[[region]]")[1].join(["[region]", ""])
    cases.append(("one [region] table", text, 1, [f"case.toml:{line_of(text, '[region]')}"],
                  ["[[region]]"]))
    many = good + "".join(f"[[region]]\nshape = \"disk\"\ncx = {0.1 * (1 + n % 40):.1f}\n"
                          f"cy = {0.1 * (1 + n // 40):.1f}\nradius = 0.01\ntemperature = 1\n"
                          for n in range(253))
    cases.append(("256 regions", many, 1,
                  [f"case.toml:{n}" for n in range(line_of(many, "[[region]]"),
                                                  many.count("\n") + 1)], ["255"]))
    # files: masks and sources (read on rank 0, scattered: 2 ranks)
    replace("a mask dataset of strings", 'file = "mask.h5"', 'file = "short.h5"\n'
            'dataset = "/text"', "region", ["/text"], ranks=2, region_key=True)
    replace("a mask of the wrong shape", 'file = "mask.h5"', 'file = "short.h5"', "region",
            ["29", "30"], ranks=2, region_key=True)
    replace("a mask dataset that is not there", 'file = "mask.h5"',
            'file = "mask.h5"\ndataset = "/nope"', "region", ["/nope"], ranks=2, region_key=True)
    replace("a mask file that is not there", 'file = "mask.h5"', 'file = "nosuch.h5"', "region",
            ["nosuch.h5"], ranks=2, region_key=True)
    replace("a source file of the wrong shape", 'from_file = "source.h5"',
            'from_file = "short.h5"', "source.from_file", ["41", "40"], ranks=2)
    replace("a source dataset that is not there", 'from_file = "source.h5"',
            'from_file = "source.h5"\ndataset = "/nope"', "source", ["/nope"], ranks=2)
    replace("a source with a NaN", 'from_file = "source.h5"', 'from_file = "nan.h5"',
            "source.from_file", [], ranks=2)
    replace("a mask through an external link to a FIFO", 'file = "mask.h5"', 'file = "elink.h5"',
            "region", ["/fixed is an external link to fifo, which is a FIFO"], ranks=2,
            region_key=True)
    replace("a source through an external link to a FIFO", 'from_file = "source.h5"',
            'from_file = "elink.h5"', "source.from_file",
            ["/source is an external link to", "which is a FIFO, not a regular file"], ranks=2)
    # a filter HDF5 lacks: its reason, not an empty one (the stack was cleared by the cleanup)
    replace("a mask compressed with LZF", 'file = "mask.h5"', 'file = "lzf.h5"', "region",
            ["required filter 'lzf' is not registered"], ranks=2, region_key=True)
    replace("a source compressed with LZF", 'from_file = "source.h5"', 'from_file = "lzf.h5"',
            "source.from_file", ["required filter 'lzf' is not registered"], ranks=2)
    return cases


def case_plate_config_errors():
    """Every new configuration error: exit 2, one message, naming the file, the line and the
    key (and the position in an expression that does not parse)."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        failures = []
        for what, text, ranks, origins, words in error_cases(tmp):
            try:
                r = solve(tmp, text, ranks=ranks, want=(2,), quiet=True)
                expect_config_error(r, origins, words, what)
            except Failure as e:
                failures.append(str(e))
        good, _ = any_plate(tmp)
        for kv in ("region.temperature=5", "region[1].temperature=5"):
            try:
                r = solve(tmp, good, ranks=1, sets=(kv,), want=(2,), quiet=True)
                expect_config_error(r, [f"--set {kv}"], ["region"], f"--set {kv}")
            except Failure as e:
                failures.append(str(e))
        if failures:
            raise Failure(f"{len(failures)} error cases failed:\n\n" + "\n\n".join(failures))


# ---- 7. today's bits ----------------------------------------------------------------------

# configs/plate.toml solved by the build before issue 16 (commit 0dcd5c0), on any ranks: the
# docs' figures (16150 iterations, 0.337 degrees left) and the checksums of that binary.
# multigrid's changed once, in issue 32, with the full-multigrid start as the default (it was
# (4, "95b69bf632fb9dad"), which solver.multigrid.fmg = false still gives)
TODAYS_PLATE = {"jacobi": (16150, "1511e5599c7a7290"), "chebyshev": (479, "98eaab7d655bef5a"),
                "multigrid": (3, "5d2f20e0614e181e")}


def case_plate_refusals_name_the_first_point_on_any_decomposition():
    """A value refused at a point is reported at the first such point (row-major), once,
    without a rank's name, on 1, 3 and 4 ranks and any partitioner; a region whose points a
    later one takes says so; a target the bound cannot reach (rounding) is refused; an
    expression that is infinite only at a corner (no part of the equations) is accepted, and
    edges near the largest temperature give finite heat figures."""
    base = ("[grid]\nnx = 19\nny = 13\n[boundary]\ntop = 10.0\n"
            "[solver]\nmax_iterations = 30\n")
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        text = base + '[source]\nq = "sqrt(0.3 - y)"\n'
        messages = set()
        for ranks, part in ((1, "block"), (3, "cyclic"), (4, "block")):
            r = solve(tmp, text, ranks=ranks, want=(2,), quiet=True,
                      sets=(f"decomposition.partitioner={part}",))
            expect_config_error(r, ["case.toml:9"], ["source.q", "not a number"], "q at a point")
            if "rank" in r.p.stderr:
                raise Failure(f"a point's refusal names a rank:\n{r.p.stderr}")
            messages.update(line for line in r.p.stderr.splitlines() if "error:" in line)
        if len(messages) != 1:
            raise Failure(f"the refused point depends on the decomposition: {messages}")
        hidden = (base + '[[region]]\nshape = "disk"\ncx = 0.5\ncy = 0.35\nradius = 0.05\n'
                  'temperature = 1.0\n[[region]]\nshape = "rectangle"\nx0 = 0.3\nx1 = 0.7\n'
                  'y0 = 0.2\ny1 = 0.5\ntemperature = 2.0\n')
        r = solve(tmp, hidden, ranks=2, want=(2,), quiet=True)
        expect_config_error(r, ["case.toml:8"], ["region 1", "later regions hold all"],
                            "a hidden region")
        r = solve(tmp, base, ranks=1, want=(2,), quiet=True,
                  sets=("solver.target_error=1e-15",))
        if (r.p.stderr.count("jacobi: error:") != 1 or "--set solver.target_error" not in
                r.p.stderr or "rounding alone leaves" not in r.p.stderr):
            raise Failure(f"an unreachable target: expected one message naming --set "
                          f"solver.target_error, got:\n{r.p.stderr}")
        r = solve(tmp, base.replace("top = 10.0", 'top = "1 / x"'), ranks=2, want=(3,),
                  quiet=True)
        if not np.isfinite(r.t).all():
            raise Failure("a corner where the edge's expression is infinite is not finite in "
                          "the file")
        r = solve(tmp, base.replace("top = 10.0", "top = 1e290"), ranks=2, want=(3,),
                  quiet=True)
        for key in HEAT_KEYS:
            if not np.isfinite(r.attrs[key]):
                raise Failure(f"{key} is {r.attrs[key]} with edges at 1e290")


def case_plate_without_sources_keeps_todays_bits():
    """configs/plate.toml gives the pre-issue iterations and checksum for every method; edges
    and start given as constant expressions ("100.0") are the number form bit for bit; and
    units or a zero source change nothing in a Laplace plate."""
    with open(os.path.join(e2e.ARGS.source, "configs", "plate.toml"), encoding="utf-8") as f:
        text = f.read()
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        for method, want in TODAYS_PLATE.items():
            r = solve(tmp, text, ranks=2, sets=(f"solver.method={method}",))
            if r.fingerprint != want:
                raise Failure(f"configs/plate.toml, {method}: (iterations, checksum) "
                              f"{r.fingerprint}, before issue 16 {want}")
            if r.source is not None or r.fixed is not None:
                raise Failure(f"configs/plate.toml: /source or /fixed written without sources "
                              f"or regions")
            classic = Plate(128, 128, 1.0)
            classic.set_edges(100.0, 0.0, 0.0, 0.0)
            check_heat(f"configs/plate.toml, {method}", r, classic, False)
        number = e2e.plate(37, 53, tol=1e-5)
        exprs = number
        for key, value in (("top", "100.0"), ("bottom", "12.5"), ("left", "-3.0"),
                           ("right", "0.7"), ("interior", "1.25")):
            exprs = exprs.replace(f"{key} = {value}\n", f'{key} = "{value}"\n')
        if exprs.count('"') < 10:
            raise Failure(f"test bug: not every value became an expression:\n{exprs}")
        units = number.replace("[boundary]", "[plate]\nwidth = 0.38\nconductivity = 3.0\n"
                               "thickness = 0.1\n[source]\nq = 0.0\n[boundary]")
        zero = number.replace("[boundary]", '[source]\nq = "0"\n[boundary]')
        for method in METHODS:
            m = (f"solver.method={method}",)
            ref = solve(tmp, number, ranks=1, sets=m)
            for label, other, ranks in (("constant expressions", exprs, 2),
                                        ("width, conductivity, thickness, q = 0", units, 3)):
                r = solve(tmp, other, ranks=ranks, sets=m + ("decomposition.partitioner=cyclic",))
                if r.fingerprint != ref.fingerprint or r.t.tobytes() != ref.t.tobytes():
                    raise Failure(f"{method}, {label}: {r.fingerprint}, the number form "
                                  f"{ref.fingerprint}")
            r = solve(tmp, zero, ranks=2, sets=m)
            if max_error(r.t, ref.t) > 1e-12 or abs(r.iterations - ref.iterations) > 1:
                raise Failure(f"{method}, q = \"0\": {r.iterations} iterations, "
                              f"{max_error(r.t, ref.t):.3g} from the plate without a source "
                              f"({ref.iterations})")


def case_plate_extremes_stay_finite():
    """A source of 0 on a plate whose h^2 / (4 k t) overflows is no source (it was a NaN at
    every point, which no max saw: "converged", a NaN field); regions without sources hold
    temperatures up to the 1e300 every plate allows (they were refused above 6.25e298, in the
    sources' name); with a source that far, the refusal names the source and what is held."""
    base = e2e.plate(21, 13, tol=1e-6)
    zero = base.replace("[boundary]", '[source]\nq = "0*x"\n[boundary]')
    tiny = zero.replace("[source]", "[plate]\nconductivity = 1e-300\nthickness = 1e-20\n"
                        "[source]")
    hot = base.replace("top = 100.0", "top = 1e299")
    disk = {"shape": "disk", "cx": 0.5, "cy": 0.3, "radius": 0.1, "temperature": 0.0}
    hot_region = hot + toml({}, regions=[disk])
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-plate-") as tmp:
        for method in METHODS:
            m = (f"solver.method={method}",)
            ref = solve(tmp, zero, ranks=2, sets=m)
            r = solve(tmp, tiny, ranks=2, sets=m)
            if not np.isfinite(r.t).all() or max_error(r.t, ref.t) > 1e-12:
                raise Failure(f"{method}, k t = 1e-320, q = \"0*x\": {np.isnan(r.t).sum()} NaN "
                              f"points, {max_error(r.t, ref.t):.3g} from k = t = 1")
            r = solve(tmp, hot_region, ranks=2, sets=m + ("solver.tolerance=1e290",))
            if not np.isfinite(r.t).all() or r.t.max() > 1e299 or r.t.min() < -3.0:
                raise Failure(f"{method}, top 1e299 and a disk at 0: the field reaches "
                              f"[{r.t.min():.3g}, {r.t.max():.3g}]")
            if not (r.fixed[...] > 0).any() or not (r.t[1:-1, 1:-1][r.fixed > 0] == 0).all():
                raise Failure(f"{method}, top 1e299 and a disk at 0: the disk does not hold 0")
        r = solve(tmp, hot.replace("[boundary]", "[source]\nq = 1.0\n[boundary]"), want=(2,))
        expect_in(r.p.stderr, ["case.toml:", "the sources (source.q)", "to 1e+299 with what is "
                               "held"], "top 1e299 and a source of 1")


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    e2e.CASES = CASES
    sys.exit(e2e.main())
