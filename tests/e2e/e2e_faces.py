#!/usr/bin/env python3
"""End-to-end tests of the real plates (issue 30): insulated, flux and convective edges, exchange
through the faces, a conductivity that varies (an expression, regions as materials), heaters by
their power; the heat flows; the same bits on every decomposition.

The truth is never jacobi's own. This script assembles the discrete equations itself from the
discretisation documented in docs/numerics.md ("Real plates"), independently of plate.c, and
solves them with SciPy's sparse direct solver; and it checks closed forms: the linear and
quadratic solutions the scheme reproduces exactly, the composite wall's piecewise-linear one
through the harmonic means, a manufactured solution with every edge kind and a smooth k, and the
cooled fin's cosh profile, the last two at second order.

The discretisation. ex, ey = the number of edges not held among left/right, top/bottom;
h = width / (nx + 1 - ex); node (i, j) at x = (j + 1 - [left not held]) h,
y = (i + 1 - [top not held]) h (y downwards). Its control volume is its h x h cell clipped to
the plate: widths wx, wy = 1/2 on an edge not held, else 1 (in units of h); V = wx wy h^2.
Between neighbours the conductance t k_f w (w the shared face's length over h: wy for an east or
west face, wx for a north or south one), k_f = 2 k_p k_q / (k_p + k_q); to a held edge's ring
t k_p w, the ring's temperature the edge's value where the ring lies. Then at each free node
    diag T_p - sum_d c_d T_d = load,
    diag = sum_d c_d + faces h_s V + sum over its convective edges h t L,
    load = q V + faces h_s V T_s + sum (h t L T_amb) + sum (flux t L) + its heater shares,
L the node's length of that edge (wx h or wy h), a heater's share P q_p / Q (q_p its quarter
cells, Q the heater's total); a held region's point is held at its temperature.

usage: e2e_faces.py --jacobi PATH --mpiexec PATH --source DIR (--list | CASE)
"""
import math
import os
import sys
import tempfile

import h5py
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
import e2e_plate  # noqa: E402
from e2e import Failure  # noqa: E402
from e2e_plate import solve, toml  # noqa: E402

NORTH, SOUTH, WEST, EAST = 0, 1, 2, 3
SIDES = ("top", "bottom", "left", "right")


# ---- the plate as this script sees it ------------------------------------------------------

def value_at(v, x, y):
    """A number, or a Python callable of (x, y)."""
    return v(x, y) if callable(v) else v


class Spec:
    """A plate: edges[s] is ("held", T), ("insulated",), ("flux", F) or ("convective", h, T_amb),
    each value a number or (value, expression text) where it varies; k a number or such a pair;
    regions: dicts with a shape and temperature, conductivity or power (later ones win)."""

    def __init__(self, nx, ny, width=1.0, k=1.0, t=1.0):
        self.nx, self.ny, self.width, self.k, self.t = nx, ny, width, k, t
        self.edges = [("held", 0.0)] * 4
        self.surface = None  # (h, T_s, faces)
        self.q = None  # (callable, text)
        self.regions = []

    def free(self, s):
        return self.edges[s][0] != "held"

    @property
    def h(self):
        ex = self.free(WEST) + self.free(EAST)
        return self.width / (self.nx + 1 - ex)

    def x(self, j):
        return (j + 1 - self.free(WEST)) * self.h

    def y(self, i):
        return (i + 1 - self.free(NORTH)) * self.h

    @property
    def height(self):
        ey = self.free(NORTH) + self.free(SOUTH)
        return (self.ny + 1 - ey) * self.h


def fn(v):
    """The callable of a value given as a number or a (callable, text) pair."""
    return v[0] if isinstance(v, tuple) else v


def text(v):
    """The config value of a number or a (callable, text) pair."""
    return v[1] if isinstance(v, tuple) else float(v)


def inside(region, x, y, h):
    slack = 1e-9 * h
    if region["shape"] == "rectangle":
        return (region["x0"] - slack <= x <= region["x1"] + slack
                and region["y0"] - slack <= y <= region["y1"] + slack)
    reach = region["radius"] + slack
    return (x - region["cx"]) ** 2 + (y - region["cy"]) ** 2 <= reach * reach


def assemble(p):
    """The discrete equations, held points included as identity rows: (A, b) over ny x nx."""
    nx, ny, h, t = p.nx, p.ny, p.h, p.t
    n = nx * ny
    X = np.array([[p.x(j) for j in range(nx)] for _ in range(ny)])
    Y = np.array([[p.y(i)] * nx for i in range(ny)])
    if getattr(p, "k_array", None) is not None:  # plate.conductivity_file's dataset
        k = np.array(p.k_array, dtype=float)
    else:
        k = np.array([[value_at(fn(p.k), X[i, j], Y[i, j]) for j in range(nx)]
                      for i in range(ny)])
    held = np.zeros((ny, nx), bool)
    held_t = np.zeros((ny, nx))
    for r in p.regions:
        cover = np.array([[inside(r, X[i, j], Y[i, j], h) for j in range(nx)] for i in range(ny)])
        if "conductivity" in r:
            k[cover] = r["conductivity"]
        if "temperature" in r:
            held[cover] = True
            held_t[cover] = r["temperature"]
    on = lambda s, i, j: p.free(s) and ((s == NORTH and i == 0) or (s == SOUTH and i == ny - 1)
                                         or (s == WEST and j == 0) or (s == EAST and j == nx - 1))
    wx = np.array([[0.5 if on(WEST, i, j) or on(EAST, i, j) else 1.0 for j in range(nx)]
                   for i in range(ny)])
    wy = np.array([[0.5 if on(NORTH, i, j) or on(SOUTH, i, j) else 1.0 for j in range(nx)]
                   for i in range(ny)])
    quarters = np.rint(4 * wx * wy).astype(int)
    rows, cols, vals = [], [], []
    b = np.zeros(n)
    for i in range(ny):
        for j in range(nx):
            me = i * nx + j
            if held[i, j]:
                rows.append(me), cols.append(me), vals.append(1.0)
                b[me] = held_t[i, j]
                continue
            x, y, V = X[i, j], Y[i, j], wx[i, j] * wy[i, j] * h * h
            diag = 0.0
            for s, (di, dj) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
                w = wx[i, j] if s in (NORTH, SOUTH) else wy[i, j]
                ii, jj = i + di, j + dj
                if 0 <= ii < ny and 0 <= jj < nx:
                    kq = k[ii, jj]
                    c = t * 2 * k[i, j] * kq / (k[i, j] + kq) * w
                    rows.append(me), cols.append(ii * nx + jj), vals.append(-c)
                    diag += c
                elif not p.free(s):
                    c = t * k[i, j] * w
                    rx = {NORTH: x, SOUTH: x, WEST: 0.0, EAST: (nx + 1 - p.free(WEST)) * h}[s]
                    ry = {NORTH: 0.0, SOUTH: (ny + 1 - p.free(NORTH)) * h, WEST: y, EAST: y}[s]
                    b[me] += c * value_at(fn(p.edges[s][1]), rx, ry)
                    diag += c
            for s in range(4):
                if not on(s, i, j):
                    continue
                L = h * (wx[i, j] if s in (NORTH, SOUTH) else wy[i, j])
                kind = p.edges[s]
                if kind[0] == "flux":
                    b[me] += value_at(fn(kind[1]), x, y) * t * L
                elif kind[0] == "convective":
                    hc = value_at(fn(kind[1]), x, y)
                    diag += hc * t * L
                    b[me] += hc * t * L * value_at(fn(kind[2]), x, y)
            if p.surface is not None:
                hs, ts, faces = p.surface
                diag += faces * value_at(fn(hs), x, y) * V
                b[me] += faces * value_at(fn(hs), x, y) * V * value_at(fn(ts), x, y)
            if p.q is not None:
                b[me] += p.q[0](x, y) * V
            rows.append(me), cols.append(me), vals.append(diag)
    for r in p.regions:
        if "power" not in r:
            continue
        cover = np.array([[inside(r, X[i, j], Y[i, j], h) and not held[i, j] for j in range(nx)]
                          for i in range(ny)])
        total = quarters[cover].sum()
        b += np.where(cover, r["power"] * quarters / total, 0.0).ravel()
    A = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
    return A, b


def truth(p):
    A, b = assemble(p)
    return scipy.sparse.linalg.spsolve(A.tocsc(), b).reshape(p.ny, p.nx)


def config(p, method="chebyshev", tol=1e-13, extra=None):
    """The TOML of the plate, as docs/configuration.md spells the keys."""
    boundary, tables = {}, {}
    for s, e in enumerate(p.edges):
        if e[0] == "held":
            boundary[SIDES[s]] = text(e[1])
        elif e[0] == "insulated":
            boundary[SIDES[s]] = "insulated"
        elif e[0] == "flux":
            tables[f"boundary.{SIDES[s]}"] = {"flux": text(e[1])}
        else:
            tables[f"boundary.{SIDES[s]}"] = {"h": text(e[1]), "ambient": text(e[2])}
    plate = {"width": p.width, "thickness": p.t}
    if getattr(p, "k_array", None) is None:  # else plate.conductivity_file gives it
        plate["conductivity"] = text(p.k)
    sections = {"grid": {"nx": p.nx, "ny": p.ny}, "plate": plate, "boundary": boundary}
    sections.update(tables)
    if p.surface is not None:
        sections["surface"] = {"h": text(p.surface[0]), "ambient": text(p.surface[1]),
                               "faces": p.surface[2]}
    if p.q is not None:
        sections["source"] = {"q": p.q[1]}
    sections["solver"] = {"method": method, "tolerance": tol, "max_iterations": 2000000}
    for name, keys in (extra or {}).items():
        sections.setdefault(name, {}).update(keys)
    regions = [{k: v for k, v in r.items()} for r in p.regions]
    return toml(sections, regions)


def interior(r):
    return r.t[1:-1, 1:-1]


def run_against_truth(tmp, p, what, method="chebyshev", ranks=2, within=1e-9, sets=()):
    """Run jacobi on the plate, to a tolerance 1e-12 of the answer's size (rounding stops the
    change near 1e-15 of it), compare with the sparse solve; return (result, truth)."""
    T = truth(p)
    scale = max(1.0, float(np.abs(T).max()))
    r = solve(tmp, config(p, method, tol=1e-12 * scale), ranks=ranks, sets=sets)
    err = float(np.abs(interior(r) - T).max())
    if not err <= within * scale:
        raise Failure(f"{what}: jacobi is {err:.3g} from the sparse direct solve of the "
                      f"discrete equations (allowed {within * scale:.3g})\n{config(p, method)}")
    return r, T


# ---- exact discrete solutions ----------------------------------------------------------------

def case_faces_linear_and_quadratic_reproduced():
    """Held top and bottom with insulated or flux sides: T = a + b x + c y is the scheme's exact
    solution (a flux -k b on the left and k b on the right carries the x slope through the half
    cells); with a uniform source q and insulated sides T = a + c y - q y^2 / (2 k t) exactly
    (the 3-point scheme is exact on quadratics). To rounding (1e-9 of |T|, to a change of 1e-13
    of it), on 1-3 ranks."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        for nx, ny, ranks in ((9, 7, 1), (13, 17, 2), (5, 31, 3)):
            k, t, a, bx, cy = 3.0, 0.2, 40.0, 25.0, -60.0
            for sides in ("insulated", "flux"):
                p = Spec(nx, ny, width=0.6, k=k, t=t)
                slope = bx if sides == "flux" else 0.0
                exact = lambda x, y: a + slope * x + cy * y
                p.edges[NORTH] = ("held", (exact, f"{a} + {slope} * x + {cy} * y"))
                p.edges[SOUTH] = ("held", (exact, f"{a} + {slope} * x + {cy} * y"))
                p.edges[WEST] = ("insulated",) if sides == "insulated" else ("flux", -k * slope)
                p.edges[EAST] = ("insulated",) if sides == "insulated" else ("flux", k * slope)
                X, Y = np.meshgrid([p.x(j) for j in range(nx)], [p.y(i) for i in range(ny)])
                scale = max(1.0, float(np.abs(exact(X, Y)).max()))
                r = solve(tmp, config(p, tol=1e-13 * scale), ranks=ranks)
                err = float(np.abs(interior(r) - exact(X, Y)).max())
                if err > 1e-9 * scale:
                    raise Failure(f"{nx} x {ny}, {sides} sides: {err:.3g} from the linear "
                                  f"T = {a} + {slope} x + {cy} y")
            q = 500.0
            p = Spec(nx, ny, width=0.6, k=k, t=t)
            exact = lambda x, y: a + cy * y - q * y * y / (2 * k * t)
            edge = (exact, f"{a} + {cy} * y - {q} * y^2 / {2 * k * t}")
            p.edges = [("held", edge), ("held", edge), ("insulated",), ("insulated",)]
            p.q = (lambda x, y: q, str(q))
            X, Y = np.meshgrid([p.x(j) for j in range(nx)], [p.y(i) for i in range(ny)])
            scale = max(1.0, float(np.abs(exact(X, Y)).max()))
            r = solve(tmp, config(p, tol=1e-13 * scale), ranks=ranks)
            err = float(np.abs(interior(r) - exact(X, Y)).max())
            if err > 1e-9 * scale:
                raise Failure(f"{nx} x {ny}, source {q}: {err:.3g} from the quadratic")


def case_faces_composite_wall_piecewise_linear():
    """A wall in series (held left and right, insulated top and bottom), steel between two
    aluminium layers: the discrete solution is piecewise linear, the same flux through every
    face, each face's drop the flux over its conductance t k_f (k_f the harmonic mean where the
    materials meet), worked here in closed form; jacobi within 1e-9."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        for nx, ny, ranks in ((23, 4, 2), (40, 3, 3)):
            p = Spec(nx, ny, width=0.3, k=237.0, t=0.005)
            p.edges = [("insulated",), ("insulated",), ("held", 80.0), ("held", 20.0)]
            h = p.h
            p.regions = [{"shape": "rectangle", "x0": 0.1, "x1": 0.2, "y0": 0.0,
                          "y1": p.height, "conductivity": 16.0}]
            xs = np.array([(j + 1) * h for j in range(nx)])
            k = np.where((xs >= 0.1 - 1e-9 * h) & (xs <= 0.2 + 1e-9 * h), 16.0, 237.0)
            # conductances of the nx + 1 faces, ring to node 0 through the last node to the ring
            kf = [k[0]] + [2 * a * b / (a + b) for a, b in zip(k[:-1], k[1:])] + [k[-1]]
            resistance = np.array([1.0 / kk for kk in kf])
            flux = (80.0 - 20.0) / resistance.sum()
            exact = 80.0 - flux * np.cumsum(resistance)[:-1]
            r = solve(tmp, config(p), ranks=ranks)
            with h5py.File(os.path.join(tmp, "plate.h5"), "r") as f:
                written = f["conductivity"][...] if "conductivity" in f else None
            if written is None or written.tobytes() != np.tile(k, (ny, 1)).tobytes():
                raise Failure(f"composite wall {nx} x {ny}: /conductivity is {written}, the "
                              f"materials give {k}")
            err = float(np.abs(interior(r) - exact[None, :]).max())
            if err > 1e-9:
                raise Failure(f"composite wall {nx} x {ny}: {err:.3g} from the series solution")
            # each row carries t w flux (w its height over h): t flux (ny - 1) in all
            expected = flux * p.t * (ny - 1)
            if abs(r.attrs["heat_left"] - expected) > 1e-8 * expected:
                raise Failure(f"composite wall: heat_left {r.attrs['heat_left']}, the series "
                              f"flux gives {expected}")


# ---- second order ----------------------------------------------------------------------------

def manufactured(nx):
    """T = cos(pi x) e^y + y^2 on a 1 x 0.75 plate with k = 1 + x y / 2, t = 0.1, both faces
    exchanging with h_s = 3 at T_s = 10: top held at T, bottom a flux k dT/dy, left convective
    (h = 4, ambient = T - (k / h) dT/dx there: -k dT/dn = h (T - ambient)), right insulated
    (dT/dx = 0 at x = 1), q = -div(k t grad T) + 2 h_s (T - T_s)."""
    t, hs, ts, hc = 0.1, 3.0, 10.0, 4.0
    # by hand: T_x = -pi sin(pi x) e^y, T_y = cos(pi x) e^y + 2 y, lap T = (1 - pi^2) cos(pi x)
    # e^y + 2, div(k grad T) = k lap T + k_x T_x + k_y T_y with k_x = y / 2, k_y = x / 2
    T_text, k_text = "cos(pi*x)*exp(y) + y^2", "1 + x*y/2"
    tx_text, ty_text = "(-pi*sin(pi*x)*exp(y))", "(cos(pi*x)*exp(y) + 2*y)"
    div_text = (f"(({k_text})*((1 - pi^2)*cos(pi*x)*exp(y) + 2) + (y/2)*{tx_text}"
                f" + (x/2)*{ty_text})")
    q_text = f"-{t}*{div_text} + {2 * hs}*({T_text} - {ts})"
    flux_text = f"({k_text})*{ty_text}"  # into the plate through the bottom (normal +y)
    ambient_text = f"{T_text} - (({k_text})/{hc})*{tx_text}"  # left: k T_x = h (T - ambient)
    T = lambda x, y: math.cos(math.pi * x) * math.exp(y) + y * y
    k = lambda x, y: 1 + x * y / 2
    tx = lambda x, y: -math.pi * math.sin(math.pi * x) * math.exp(y)
    ty = lambda x, y: math.cos(math.pi * x) * math.exp(y) + 2 * y
    div = lambda x, y: (k(x, y) * ((1 - math.pi ** 2) * math.cos(math.pi * x) * math.exp(y) + 2)
                        + (y / 2) * tx(x, y) + (x / 2) * ty(x, y))
    q = lambda x, y: -t * div(x, y) + 2 * hs * (T(x, y) - ts)
    flux = lambda x, y: k(x, y) * ty(x, y)
    ambient = lambda x, y: T(x, y) - (k(x, y) / hc) * tx(x, y)
    ny = (nx - 1) * 3 // 4 + 1  # height (ny) h = 0.75 with top held, bottom free: ny = 3 (nx - 1) / 4 + 1
    p = Spec(nx, ny, width=1.0, k=(k, k_text), t=t)
    p.edges = [("held", (T, T_text)), ("flux", (flux, flux_text)),
               ("convective", hc, (ambient, ambient_text)), ("insulated",)]
    p.surface = (hs, ts, 2)
    p.q = (q, q_text)
    return p, T


def case_faces_manufactured_second_order():
    """Every edge kind, a smooth k(x, y), exchange through both faces: the error against the
    manufactured T falls 4x per halving of h (ratios within 3.6-4.4), for Jacobi and Chebyshev."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        for method in ("chebyshev", "jacobi"):
            errors = []
            sizes = (9, 17, 33) if method == "chebyshev" else (9, 17)
            for nx in sizes:
                p, T = manufactured(nx)
                r = solve(tmp, config(p, method, tol=1e-12), ranks=2)
                X, Y = np.meshgrid([p.x(j) for j in range(p.nx)], [p.y(i) for i in range(p.ny)])
                exact = np.vectorize(T)(X, Y)
                errors.append(float(np.abs(interior(r) - exact).max()))
            ratios = [a / b for a, b in zip(errors, errors[1:])]
            if not all(3.6 <= q <= 4.4 for q in ratios):
                raise Failure(f"{method}: errors {errors} on nx = {sizes}: ratios {ratios}, "
                              f"expected about 4 (second order)")


def case_faces_fin_second_order():
    """The cooled fin: a 0.1 m aluminium strip (k = 200, t = 2 mm) held at 100 at x = 0,
    insulated at x = L and along its sides, both faces to air at 20 with h = 25: against
    T_inf + (T0 - T_inf) cosh(m (L - x)) / cosh(m L), m^2 = 2 h / (k t), second order."""
    L, k, t, hs = 0.1, 200.0, 0.002, 25.0
    m = math.sqrt(2 * hs / (k * t))
    exact = lambda x: 20.0 + 80.0 * np.cosh(m * (L - x)) / math.cosh(m * L)
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        errors = []
        for nx in (10, 20, 40):
            p = Spec(nx, 3, width=L, k=k, t=t)
            p.edges = [("insulated",), ("insulated",), ("held", 100.0), ("insulated",)]
            p.surface = (hs, 20.0, 2)
            r = solve(tmp, config(p), ranks=2)
            xs = np.array([p.x(j) for j in range(nx)])
            errors.append(float(np.abs(interior(r) - exact(xs)[None, :]).max()))
            # the heat: what the held end gives leaves through the faces
            if abs(r.attrs["heat_left"] + r.attrs["heat_surface"]) > 1e-6 * r.attrs["heat_left"]:
                raise Failure(f"fin {nx}: heat_left {r.attrs['heat_left']}, heat_surface "
                              f"{r.attrs['heat_surface']}: they should cancel")
        ratios = [a / b for a, b in zip(errors, errors[1:])]
        if not all(3.6 <= q <= 4.4 for q in ratios):
            raise Failure(f"fin: errors {errors}, ratios {ratios}, expected about 4")


# ---- against the sparse direct solve ---------------------------------------------------------

def kinds_plate(nx, ny, variant):
    """Plates of every kind on an nx x ny grid, by variant."""
    p = Spec(nx, ny, width=0.2 * (nx + 1), k=5.0, t=0.01)
    if variant == "insulated":
        p.edges = [("held", 50.0), ("insulated",), ("insulated",), ("held", 10.0)]
    elif variant == "flux":
        p.edges = [("flux", 300.0), ("held", 0.0), ("insulated",), ("flux", -100.0)]
    elif variant == "convective":
        p.edges = [("convective", 20.0, 5.0), ("convective", 7.0, 40.0), ("held", 30.0),
                   ("convective", (lambda x, y: 3 + y, "3 + y"), 0.0)]
    elif variant == "faces":
        p.edges = [("insulated",)] * 4
        p.surface = (12.0, 20.0, 1)
        p.q = (lambda x, y: 1000.0 * x, "1000 * x")
    elif variant == "composite":
        p.edges = [("held", 100.0), ("convective", 30.0, 20.0), ("insulated",), ("flux", 50.0)]
        if nx < 2:
            return p  # no room for the nodes (refused): the caller skips it
        H = min(p.y(ny - 1), p.width * (ny + 1) / (nx + 1))  # within the plate
        radius = 0.45 * min(H, 0.8 * p.width)
        p.regions = [{"shape": "rectangle", "x0": 0.0, "x1": 0.3 * p.width, "y0": 0.0,
                      "y1": H, "conductivity": 0.05},
                     {"shape": "disk", "cx": 0.55 * p.width, "cy": H / 2, "radius": radius,
                      "conductivity": 500.0}]
        # a material that covers no node is refused: on the smallest grids, leave it out
        p.regions = [r for r in p.regions
                     if any(inside(r, p.x(j), p.y(i), p.h) for i in range(ny) for j in range(nx))]
    return p


def case_faces_many_shapes_against_scipy():
    """Held, insulated, flux, convective, face-exchange and composite plates on 1 x 1 to
    150 x 3 (primes, thin plates), for Jacobi, Chebyshev and multigrid: jacobi's field within 1e-7 of the
    range from the sparse direct solve of the equations this script assembles."""
    shapes = ((1, 1), (2, 1), (1, 5), (3, 2), (7, 5), (13, 11), (150, 3), (3, 41), (17, 2))
    variants = ("insulated", "flux", "convective", "faces", "composite")
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        for n, (nx, ny) in enumerate(shapes):
            for v, variant in enumerate(variants):
                p = kinds_plate(nx, ny, variant)
                if (p.free(WEST) + p.free(EAST) > nx) or (p.free(NORTH) + p.free(SOUTH) > ny):
                    continue  # no room for the nodes: refused (case_faces_refusals)
                method = ("chebyshev", "jacobi", "multigrid")[(n + v) % 3]
                if method == "jacobi" and nx * ny > 200:
                    method = "chebyshev"
                run_against_truth(tmp, p, f"{variant} {nx} x {ny}, {method}", method=method,
                                  ranks=min(1 + (n + v) % 3, nx * ny), within=1e-7)


def case_faces_heaters_and_held_regions_against_scipy():
    """Heaters by their power (a disk and a rectangle crossing an insulated edge, where the
    control volumes are halves and quarters) and a held region inside the faces operator: the
    field from the sparse solve, and the heat flows: each heater delivers its power (to 1e-12),
    the held region's and the edges' flows equal this script's from the file's field, the
    balance within its bound."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        p = Spec(31, 21, width=0.3, k=237.0, t=0.005)
        p.edges = [("insulated",), ("convective", 15.0, 20.0), ("held", 80.0), ("insulated",)]
        p.surface = (10.0, 20.0, 2)
        p.regions = [{"shape": "disk", "cx": 0.15, "cy": 0.1, "radius": 0.021, "power": 50.0},
                     {"shape": "rectangle", "x0": 0.2, "x1": 0.3, "y0": 0.0, "y1": 0.03,
                      "power": 7.5},
                     {"shape": "disk", "cx": 0.06, "cy": 0.12, "radius": 0.02,
                      "temperature": 5.0}]
        r, T = run_against_truth(tmp, p, "heaters and a held disk", ranks=3)
        heat = r.attrs["heat_regions"]
        for n, power in ((0, 50.0), (1, 7.5)):
            if abs(heat[n] - power) > 1e-12 * power:
                raise Failure(f"heater {n + 1}: delivers {heat[n]!r} W, its power is {power}")
        total = (r.attrs["heat_top"] + r.attrs["heat_bottom"] + r.attrs["heat_left"]
                 + r.attrs["heat_right"] + sum(heat) + r.attrs["heat_source"]
                 + r.attrs["heat_surface"])
        if abs(total - r.attrs["heat_imbalance"]) > 1e-9 * 60:
            raise Failure(f"the flows sum to {total}, heat_imbalance {r.attrs['heat_imbalance']}")
        if not abs(r.attrs["heat_imbalance"]) <= r.attrs["heat_imbalance_bound"]:
            raise Failure(f"imbalance {r.attrs['heat_imbalance']} beyond its bound "
                          f"{r.attrs['heat_imbalance_bound']}")
        # the surface's flow recomputed from the file's field: h V (T_s - T) over free points
        h = p.h
        wx = np.ones((p.ny, p.nx))
        wx[:, -1] = 0.5
        wy = np.ones((p.ny, p.nx))
        wy[0, :] = 0.5
        wy[-1, :] = 0.5
        V = wx * wy * h * h
        X, Y = np.meshgrid([p.x(j) for j in range(p.nx)], [p.y(i) for i in range(p.ny)])
        free = ~np.array([[inside(p.regions[2], X[i, j], Y[i, j], h) for j in range(p.nx)]
                          for i in range(p.ny)])
        surface = float((2 * 10.0 * V * (20.0 - interior(r)))[free].sum())
        if abs(surface - r.attrs["heat_surface"]) > 1e-9 * abs(surface):
            raise Failure(f"heat_surface {r.attrs['heat_surface']}, from the field {surface}")
        # the convective bottom edge: h t L (T_amb - T), L = wx h; the held left edge:
        # t k wy (80 - T) through each row's conductance to the ring
        T = interior(r)
        bottom = float((15.0 * p.t * wx[-1, :] * h * (20.0 - T[-1, :])).sum())
        left = float((p.t * 237.0 * wy[:, 0] * (80.0 - T[:, 0])).sum())
        for key, mine in (("heat_bottom", bottom), ("heat_left", left)):
            if abs(mine - r.attrs[key]) > 1e-9 * abs(mine):
                raise Failure(f"{key} {r.attrs[key]}, from the field {mine}")


def case_faces_conductivity_from_a_dataset():
    """plate.conductivity_file: a random k (0.5 to 500) per point from an HDF5 dataset, a steel
    region over it, convective and insulated edges: against the sparse solve with the same k,
    on 1 and 3 ranks; /conductivity written back is the dataset with the region over it; a
    dataset with a zero is refused, naming the key and the point."""
    rng = np.random.default_rng(30)
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        nx, ny = 19, 12
        p = Spec(nx, ny, width=0.2, k=1.0, t=0.01)
        p.edges = [("held", 60.0), ("convective", 40.0, 10.0), ("insulated",), ("held", 0.0)]
        k = np.exp(rng.uniform(math.log(0.5), math.log(500.0), (ny, nx)))
        with h5py.File(os.path.join(tmp, "k.h5"), "w") as f:
            f["k"] = k
        p.regions = [{"shape": "rectangle", "x0": 0.05, "x1": 0.1, "y0": 0.02, "y1": 0.08,
                      "conductivity": 16.0}]
        X, Y = np.meshgrid([p.x(j) for j in range(nx)], [p.y(i) for i in range(ny)])
        expected = np.where((X >= 0.05 - 1e-12) & (X <= 0.1 + 1e-12) & (Y >= 0.02 - 1e-12)
                            & (Y <= 0.08 + 1e-12), 16.0, k)
        p.k_array = expected
        T = truth(p)
        extra = {"plate": {"conductivity_file": "k.h5", "conductivity_dataset": "k"}}
        for ranks in (1, 3):
            text_ = config(p, tol=1e-12 * float(np.abs(T).max()), extra=extra)
            r = solve(tmp, text_, ranks=ranks)
            err = float(np.abs(interior(r) - T).max())
            if err > 1e-7 * 60:
                raise Failure(f"k from a dataset on {ranks} ranks: {err:.3g} from the sparse solve")
            with h5py.File(os.path.join(tmp, "plate.h5"), "r") as f:
                if f["conductivity"][...].tobytes() != expected.tobytes():
                    raise Failure("/conductivity is not the dataset with the region over it")
        k[3, 5] = 0.0
        with h5py.File(os.path.join(tmp, "k.h5"), "w") as f:
            f["k"] = k
        p.regions = []
        p.k_array = k
        r = solve(tmp, config(p, extra=extra), ranks=2, want=(2,), out="bad.h5")
        err = r.p.stderr
        if (err.count("error:") != 1 or "plate.conductivity_file" not in err
                or f"x = {p.x(5)!r}"[:12] not in err):
            raise Failure(f"a zero conductivity in the dataset: expected one message naming "
                          f"plate.conductivity_file and the point x = {p.x(5)}, got:\n{err}")


# ---- bit for bit -----------------------------------------------------------------------------

def case_faces_identical_over_decompositions():
    """Every edge kind, composite k, a heater and exchange through the faces: the iteration
    count, checksum, field and heat flows the same bits on 1-4 ranks, every partitioner, block
    sizes, process grids, halo modes, ranks_per_node, temporal blocks and overlap, for Jacobi,
    Chebyshev and multigrid (which takes no temporal blocks)."""
    p = Spec(23, 17, width=0.3, k=(lambda x, y: 100 + 200 * x, "100 + 200 * x"), t=0.005)
    p.edges = [("insulated",), ("convective", 25.0, (lambda x, y: 20 + 10 * x, "20 + 10 * x")),
               ("held", 80.0), ("flux", (lambda x, y: 500 * y, "500 * y"))]
    p.surface = (10.0, 20.0, 2)
    p.regions = [{"shape": "rectangle", "x0": 0.1, "x1": 0.15, "y0": 0.0, "y1": 0.1,
                  "conductivity": 16.0},
                 {"shape": "disk", "cx": 0.2, "cy": 0.12, "radius": 0.03, "power": 20.0}]
    combos = ((2, ("decomposition.partitioner=cyclic",)),
              (3, ("decomposition.partitioner=block-cyclic", "decomposition.block_size=3")),
              (4, ("decomposition.process_grid=[2, 2]", "halo.mode=p2p")),
              (4, ("decomposition.process_grid=[1, 4]", "halo.ranks_per_node=2")),
              (2, ("solver.temporal_block=3", "solver.check_interval=3")),
              (3, ("solver.temporal_block=2", "solver.check_interval=2",
                   "decomposition.partitioner=cyclic")),
              (2, ("halo.overlap=false", "halo.mode=shm")))
    keys = ("heat_top", "heat_bottom", "heat_left", "heat_right", "heat_surface",
            "heat_imbalance", "heat_imbalance_bound")
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        for method in ("jacobi", "chebyshev", "multigrid"):
            text_ = config(p, method, tol=1e-9)
            refs = {}  # by check interval: a temporal block of K checks at multiples of K
            for ranks, sets in combos:
                if method == "multigrid" and any("temporal_block" in s for s in sets):
                    continue  # multigrid refuses temporal blocks (a cycle is not a sweep)
                check = tuple(s for s in sets if s.startswith("solver.check_interval"))
                if check not in refs:
                    refs[check] = solve(tmp, text_, ranks=1, sets=check)
                ref = refs[check]
                r = solve(tmp, text_, ranks=ranks, sets=sets)
                what = f"{method} on {ranks} ranks, {' '.join(sets)}"
                if r.fingerprint != ref.fingerprint or r.t.tobytes() != ref.t.tobytes():
                    raise Failure(f"{what}: {r.fingerprint}, 1 rank {ref.fingerprint}")
                for k in keys:
                    if r.attrs[k] != ref.attrs[k]:
                        raise Failure(f"{what}: {k} {r.attrs[k]!r}, 1 rank {ref.attrs[k]!r}")
                if r.attrs["heat_regions"].tobytes() != ref.attrs["heat_regions"].tobytes():
                    raise Failure(f"{what}: heat_regions differ from 1 rank's")


# ---- refusals -------------------------------------------------------------------------------

def case_faces_refusals():
    """Exit 2, one message naming the file and what is wrong, nothing written, on 1 and 3
    ranks: a plate with nothing to anchor its temperature (every edge insulated or a flux, no
    exchange); a heater or a material whose shape holds no point."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        floating = Spec(9, 7)
        floating.edges = [("insulated",), ("flux", 10.0), ("insulated",), ("insulated",)]
        heater = Spec(9, 7)
        heater.edges[NORTH] = ("insulated",)
        heater.regions = [{"shape": "disk", "cx": 0.55, "cy": 0.35, "radius": 0.01,
                           "power": 5.0}]
        material = Spec(9, 7)
        material.edges[NORTH] = ("insulated",)
        material.regions = [{"shape": "disk", "cx": 0.55, "cy": 0.35, "radius": 0.01,
                             "conductivity": 5.0}]
        for what, plate, method, words in (
                ("no anchor", floating, "chebyshev", ("not unique",)),
                ("an empty heater", heater, "chebyshev", ("region[1].power", "no point")),
                ("an empty material", material, "chebyshev", ("region 1", "no grid point"))):
            for ranks in (1, 3):
                r = solve(tmp, config(plate, method), ranks=ranks, out=f"refused{ranks}.h5", want=(2,))
                err = r.p.stderr
                if err.count("error:") != 1 or "case.toml" not in err:
                    raise Failure(f"{what} on {ranks} ranks: expected one message naming "
                                  f"case.toml, got:\n{err}")
                for w in words:
                    if w not in err:
                        raise Failure(f"{what}: expected {w!r} in:\n{err}")
                if os.path.exists(os.path.join(tmp, f"refused{ranks}.h5")):
                    raise Failure(f"{what}: a result was written")


def case_faces_cooled_plate_example():
    """configs/cooled-plate.toml (the student's plate of issue 30) against the sparse solve of
    its equations, its heater delivering 50 W and its flows balancing."""
    src = os.path.join(e2e.ARGS.source, "configs", "cooled-plate.toml")
    with open(src, encoding="utf-8") as f:
        text_ = f.read()
    p = Spec(59, 41, width=0.3, k=237.0, t=0.005)
    p.edges = [("insulated",), ("insulated",), ("held", 80.0), ("held", 20.0)]
    p.surface = (10.0, 20.0, 2)
    p.regions = [{"shape": "disk", "cx": 0.15, "cy": 0.1, "radius": 0.01, "power": 50.0}]
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-") as tmp:
        r = solve(tmp, text_, ranks=2, sets=("solver.tolerance=1e-12",))
        if (r.t.shape[0] - 2, r.t.shape[1] - 2) != (p.ny, p.nx):
            raise Failure(f"test bug: the config's grid is not {p.nx} x {p.ny}")
        T = truth(p)
        err = float(np.abs(interior(r) - T).max())
        if err > 1e-6:
            raise Failure(f"cooled plate: {err:.3g} from the sparse solve")
        if abs(r.attrs["heat_regions"][0] - 50.0) > 1e-12 * 50:
            raise Failure(f"cooled plate: the heater delivers {r.attrs['heat_regions'][0]!r}")
        with h5py.File(os.path.join(tmp, "plate.h5"), "r") as f:
            if "conductivity" in f:
                raise Failure("cooled plate: /conductivity written for a plate of one k")
        # the sidecar puts the top ring point where it lies: h above the insulated top edge's
        # nodes (y = -(metres from the top) in the sidecar, so +h), x = 0 on the held left edge
        with open(os.path.join(tmp, "plate.xmf"), encoding="utf-8") as f:
            xmf = f.read()
        origin = xmf.split('GeometryType="ORIGIN_DXDYDZ"')[1].split(">")[2].split("<")[0]
        z0, y0, x0 = (float(v) for v in origin.split())
        if (z0, x0) != (0.0, 0.0) or abs(y0 - p.h) > 1e-15:
            raise Failure(f"cooled plate: the sidecar's origin is {origin}, expected 0 {p.h} 0")


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    e2e.CASES = CASES
    sys.exit(e2e.main())
