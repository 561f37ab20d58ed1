#!/usr/bin/env python3
"""End-to-end tests of the transient ([time], issue 31): the real binary under mpiexec, its
series read back with h5py, checked against closed forms.

The truth. On a plate held at 0 on its four edges, with uniform k, t, rho and c, the grid mode
u_ij = sin(pi x_j / W) sin(pi y_i / H) is an eigenvector of the faces operator (docs/numerics.md,
"Real plates": diag 4 k t, conductances k t) scaled by the capacity C = rho c t h^2:
    A u = lambda C u,   lambda = k / (rho c h^2) (4 sin^2(pi h / 2W) + 4 sin^2(pi h / 2H)).
So a step multiplies the mode by exactly: backward Euler (1 + lambda dt)^-1; forward Euler
(1 - lambda dt); BDF2 a_(n+1) = (2 a_n - a_(n-1) / 2) / (3/2 + lambda dt) after a first
backward Euler step. The semi-discrete solution is e^(-lambda t) u, and the continuous one
e^(-alpha pi^2 (1/W^2 + 1/H^2) t) sin sin, alpha = k / (rho c).

usage: e2e_time.py --jacobi PATH --mpiexec PATH --source DIR (--list | CASE)
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
import e2e_faces  # noqa: E402
from e2e import Failure  # noqa: E402

K, RHO, C, THICK = 2.0, 3.0, 4.0, 0.5


def mode_config(nx=15, ny=11, width=1.6, end=0.5, steps=10, scheme="implicit", extra=""):
    h = width / (nx + 1)
    height = h * (ny + 1)
    return (f"[grid]\nnx = {nx}\nny = {ny}\n[plate]\nwidth = {width!r}\nconductivity = {K}\n"
            f"thickness = {THICK}\ndensity = {RHO}\nspecific_heat = {C}\n"
            "[boundary]\ntop = 0\nbottom = 0\nleft = 0\nright = 0\n"
            f"[initial]\ninterior = \"sin(pi*x/{width!r})*sin(pi*y/{height!r})\"\n"
            f"[time]\nend = {end!r}\nsteps = {steps}\nscheme = \"{scheme}\"\n{extra}"
            "[output]\npath = \"series.h5\"\n")


class Series:
    def __init__(self, path):
        with h5py.File(path, "r") as f:
            self.T = f["/series/T"][...]
            self.time = f["/series/time"][...]
            self.heat = f["/series/heat"][...]
            self.columns = f["/series/heat"].attrs["columns"]
            if isinstance(self.columns, bytes):
                self.columns = self.columns.decode()
            self.columns = self.columns.split(",")
            self.spacing = float(f["/series"].attrs["spacing"])
            self.iterations = int(f.attrs["iterations"])


def run_series(tmp, text, ranks=1, sets=(), expect=0):
    """Run jacobi on `text` in tmp under mpiexec; the series (or None) and the process."""
    path = os.path.join(tmp, "case.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    out = os.path.join(tmp, "series.h5")
    if os.path.exists(out):
        os.unlink(out)
    cmd = [e2e.ARGS.mpiexec, "-n", str(ranks), e2e.ARGS.jacobi]
    for s in sets:
        cmd += ["--set", s]
    cmd.append("case.toml")
    p = e2e.run_command(cmd, tmp)
    if p.returncode != expect:
        raise Failure(f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}:\n"
                      f"{p.stdout}{p.stderr}")
    if expect != 0:
        return None, p
    e2e.expect_header_ranks(p, ranks, " ".join(cmd))
    e2e.expect_ranks(p, ranks, " ".join(cmd))
    return Series(out), p


def mode(nx, ny, width):
    h = width / (nx + 1)
    height = h * (ny + 1)
    x = (np.arange(nx) + 1) * h
    y = (np.arange(ny) + 1) * h
    u = np.outer(np.sin(np.pi * y / height), np.sin(np.pi * x / width))
    lam = K / (RHO * C * h * h) * (4 * math.sin(math.pi * h / (2 * width)) ** 2 +
                                   4 * math.sin(math.pi * h / (2 * height)) ** 2)
    cont = K / (RHO * C) * math.pi ** 2 * (1 / width ** 2 + 1 / height ** 2)
    return u, lam, cont


def amplitudes(scheme, lam, dt, n):
    a = [1.0]
    for k in range(n):
        if scheme == "implicit" or (scheme == "bdf2" and k == 0):
            a.append(a[-1] / (1 + lam * dt))
        elif scheme == "explicit":
            a.append(a[-1] * (1 - lam * dt))
        else:
            a.append((2 * a[-1] - 0.5 * a[-2]) / (1.5 + lam * dt))
    return np.array(a)


def check_mode(scheme, steps, ranks, step_error, within, sets=()):
    nx, ny, width, end = 15, 11, 1.6, 0.5
    extra = f"step_error = {step_error!r}\n" if step_error else ""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        s, _ = run_series(tmp, mode_config(nx, ny, width, end, steps, scheme, extra), ranks,
                          sets)
    u, lam, _ = mode(nx, ny, width)
    dt = end / steps
    if len(s.time) != steps + 1 or abs(s.time[-1] - end) > 1e-12:
        raise Failure(f"{scheme}: times {s.time}, expected {steps + 1} from 0 to {end}")
    a = amplitudes(scheme, lam, dt, steps)
    for n in range(steps + 1):
        err = float(np.abs(s.T[n] - a[n] * u).max())
        # rounding, plus each step's solve error (bounded by step_error, carried on by the
        # scheme, whose amplification of an error is at most 1 in the max norm; BDF2's two-step
        # recurrence at most 3x)
        allowed = within + (3 if scheme == "bdf2" else 1) * n * step_error
        if err > allowed:
            raise Failure(f"{scheme}: at step {n} the mode is {err:.3g} from "
                          f"{a[n]:.17g} x the mode (allowed {allowed:.3g})")


def case_time_mode_decays_backward_euler():
    """Backward Euler's amplification (1 + lambda dt)^-1 per step, 2 ranks."""
    check_mode("implicit", 10, 2, 1e-12, 1e-13)


def case_time_mode_decays_jacobi_sweeps():
    """The implicit steps solved by Jacobi sweeps alone (solver.method = "jacobi") instead of
    multigrid cycles: backward Euler's and BDF2's factors all the same, 3 ranks."""
    check_mode("implicit", 10, 3, 1e-12, 1e-13, ("solver.method=jacobi",))
    check_mode("bdf2", 10, 3, 1e-12, 1e-13, ("solver.method=jacobi",))


def case_time_mode_decays_chebyshev_steps():
    """The implicit steps solved by method "chebyshev" (solver.method = "chebyshev": rho of the
    step's operator by Lanczos, stopped by the row-sum certificate): backward Euler's and BDF2's
    factors all the same to rounding and the step error, 3 ranks; and with a loose step error
    (1e-4, the solves stopped after a few iterations) the field within the steps' bounds, the
    run counting fewer sweeps than Jacobi's to the same goal."""
    check_mode("implicit", 10, 3, 1e-12, 1e-13, ("solver.method=chebyshev",))
    check_mode("bdf2", 10, 3, 1e-12, 1e-13, ("solver.method=chebyshev",))
    check_mode("implicit", 10, 2, 1e-4, 1e-13, ("solver.method=chebyshev",))
    sweeps = {}
    for method in ("jacobi", "chebyshev"):
        with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
            _, p = run_series(tmp, mode_config(63, 47, 1.6, 0.5, 4, "implicit",
                                               "step_error = 1e-10\n"), 2,
                              (f"solver.method={method}",))
        if method == "chebyshev" and "each step solved by Chebyshev iterations" not in p.stdout:
            raise Failure(f"the header does not name Chebyshev's steps:\n{p.stdout}")
        m = re.search(r"(\d+) sweeps", p.stdout)
        if not m:
            raise Failure(f"{method}: no sweep count in\n{p.stdout}")
        sweeps[method] = int(m.group(1))
    if not sweeps["chebyshev"] < sweeps["jacobi"]:
        raise Failure(f"63 x 47, 4 steps: sweeps {sweeps}, Chebyshev's should be fewer")


def case_time_mode_decays_explicit():
    """Forward Euler's (1 - lambda dt) per step, to rounding (no solve), 3 ranks."""
    check_mode("explicit", 40, 3, 0.0, 1e-13)


def case_time_mode_decays_bdf2():
    """BDF2's recurrence after a backward Euler step, 2 ranks."""
    check_mode("bdf2", 10, 2, 1e-12, 1e-13)


def case_time_order_first_and_second():
    """Against the semi-discrete e^(-lambda t) (the continuous mode's time dependence on this
    grid, so h does not enter): backward Euler's error halves as dt halves, BDF2's quarters;
    and against the continuous e^(-alpha pi^2 (1/W^2 + 1/H^2) t), BDF2 on a finer grid is
    within its spatial error O(h^2)."""
    nx, ny, width, end = 15, 11, 1.6, 0.5
    u, lam, cont = mode(nx, ny, width)
    for scheme, want in (("implicit", 2.0), ("bdf2", 4.0)):
        errors = []
        for steps in (10, 20, 40):
            with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
                s, _ = run_series(tmp, mode_config(nx, ny, width, end, steps, scheme,
                                                   "step_error = 1e-13\n"), 2)
            errors.append(float(np.abs(s.T[-1] - math.exp(-lam * end) * u).max()))
        ratios = [errors[k] / errors[k + 1] for k in range(2)]
        for r in ratios:
            if not (0.85 * want <= r <= 1.15 * want):
                raise Failure(f"{scheme}: errors {errors} as dt halves, ratios {ratios}, "
                              f"expected about {want}")
    nx, ny = 63, 47
    u, lam, cont = mode(nx, ny, width)
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        s, _ = run_series(tmp, mode_config(nx, ny, width, 0.1, 20, "bdf2",
                                           "step_error = 1e-10\n"), 2)
    err = float(np.abs(s.T[-1] - math.exp(-cont * 0.1) * u).max())
    h = width / (nx + 1)
    if err > 0.5 * cont * 0.1 * math.exp(-cont * 0.1) * (math.pi * h) ** 2 / 12 * 4 + 1e-4:
        raise Failure(f"bdf2 on {nx} x {ny}: {err:.3g} from the continuous solution")


def faces_plate(extra=""):
    """A small plate with every kind of physics: an insulated edge, a convective one, a heater,
    exchange through the faces, a material."""
    return ("[grid]\nnx = 23\nny = 17\n[plate]\nwidth = 0.3\nconductivity = 237.0\n"
            "thickness = 0.005\ndensity = 2700.0\nspecific_heat = 900.0\n"
            "[boundary]\ntop = \"insulated\"\nbottom.h = 50.0\nbottom.ambient = 20.0\n"
            "left = 80.0\nright = 20.0\n[surface]\nh = 10.0\nambient = 20.0\n"
            "[initial]\ninterior = 20.0\n"
            "[[region]]\nshape = \"disk\"\ncx = 0.15\ncy = 0.1\nradius = 0.03\npower = 50.0\n"
            "[[region]]\nshape = \"rectangle\"\nx0 = 0.2\nx1 = 0.25\ny0 = 0.0\ny1 = 0.1\n"
            "conductivity = 16.0\n"
            f"[time]\nend = 60.0\nsteps = 6\n{extra}[output]\npath = \"series.h5\"\n")


def step_matrices(p, rho, c):
    """The steady equations (A, b) of e2e_faces's plate p (held points identity rows) and each
    point's capacity rho c t V (0 at a held point), the control volumes as docs/numerics.md
    ("Real plates") clips them."""
    A, b = e2e_faces.assemble(p)
    nx, ny = p.nx, p.ny
    N, S, W, E = e2e_faces.NORTH, e2e_faces.SOUTH, e2e_faces.WEST, e2e_faces.EAST
    wx = np.ones((ny, nx))
    wy = np.ones((ny, nx))
    if p.free(W):
        wx[:, 0] = 0.5
    if p.free(E):
        wx[:, -1] = 0.5
    if p.free(N):
        wy[0, :] = 0.5
    if p.free(S):
        wy[-1, :] = 0.5
    cap = rho * c * p.t * wx * wy * p.h * p.h
    held = np.zeros((ny, nx), bool)
    for r in p.regions:
        if "temperature" in r:
            held |= np.array([[e2e_faces.inside(r, p.x(j), p.y(i), p.h) for j in range(nx)]
                              for i in range(ny)])
    cap[held] = 0.0
    return A, b, cap.ravel()


def check_step_bounds(tmp, p, scheme, steps, dt, ranks, step_error, rho=2700.0, c=900.0,
                      method="multigrid"):
    """Run p with [time] (a snapshot every step, multigrid) and check each step's reported bound
    (/series/heat's step_bound) against the distance of the step's result to the sparse direct
    solve of that step's equations from the series' own previous fields. Returns the largest
    ratio of the true error to the bound."""
    extra = {"plate": {"density": rho, "specific_heat": c}, "initial": {"interior": 20.0},
             "time": {"end": steps * dt, "steps": steps, "scheme": scheme,
                      "output_every": dt},
             "output": {"path": "series.h5"}}
    if step_error:
        extra["time"]["step_error"] = step_error
    text = e2e_faces.config(p, method=method, extra=extra)
    s, _ = run_series(tmp, text, ranks)
    A, b, cap = step_matrices(p, rho, c)
    col = s.columns.index("step_bound")
    T = [np.asarray(f)[1:-1, 1:-1].ravel() if f.shape == (p.ny + 2, p.nx + 2)
         else np.asarray(f).ravel() for f in s.T]
    if len(T) != steps + 1:
        raise Failure(f"{scheme}: {len(T)} snapshots, expected {steps + 1}")
    worst = 0.0
    for n in range(steps):
        second = scheme == "bdf2" and n > 0
        rate = cap / dt
        if second:
            M = A + scipy.sparse.diags(1.5 * rate)
            rhs = b + rate * (2.0 * T[n] - 0.5 * T[n - 1])
        else:
            M = A + scipy.sparse.diags(rate)
            rhs = b + rate * T[n]
        exact = scipy.sparse.linalg.spsolve(M.tocsc(), rhs)
        err = float(np.abs(T[n + 1] - exact).max())
        bound = float(s.heat[n + 1, col])
        # the truth's own rounding (its coefficients are this script's, not jacobi's bits)
        slack = 1e-11 * max(1.0, float(np.abs(exact).max()))
        if not (bound > 0.0 and err <= bound + slack):
            raise Failure(f"{scheme}, {p.nx} x {p.ny}, step {n + 1}: the true step error "
                          f"{err:.3g} exceeds the reported bound {bound:.3g}")
        worst = max(worst, err / bound)
    return worst


def case_time_step_bound_never_below_the_true_step_error():
    """Each implicit and BDF2 step's reported bound (the row-sum certificate of the multigrid
    solve, docs/numerics.md "The transient's certificate") is never below the true distance of
    the step's result to the exact solution of that step's equations (SciPy's sparse direct
    solve), on plates of several shapes: insulated, convective and face-exchange edges, a
    composite conductivity, a thin plate; 1 to 3 ranks, steps of about 1 and 200 x the explicit
    limit and more (so the solves stop after one or a few cycles, well short of rounding)."""
    shapes = ((95, 63, "insulated"), (127, 31, "convective"), (63, 95, "faces"),
              (99, 67, "composite"), (255, 7, "composite"))
    ratios = []
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        for n, (nx, ny, variant) in enumerate(shapes):
            p = e2e_faces.kinds_plate(nx, ny, variant)
            for m, scheme in enumerate(("implicit", "bdf2")):
                dt = (5e3, 1e6)[(n + m) % 2]
                # the default goal (backward Euler's from its truncation error) or a loose
                # time.step_error: either way the solves stop short of rounding
                step_error = (None, 1e-2)[(n + 2 * m) % 2 if n % 2 else m]
                ratios.append(check_step_bounds(tmp, p, scheme, 6, dt, 1 + (n + m) % 3,
                                                step_error))
        # the steps solved by Chebyshev iterations (solver.method = "chebyshev"), their bound
        # the same certificate's at every 4th iteration: two shapes, both schemes
        for n, (nx, ny, variant) in enumerate(shapes[:3:2]):
            p = e2e_faces.kinds_plate(nx, ny, variant)
            for m, scheme in enumerate(("implicit", "bdf2")):
                ratios.append(check_step_bounds(tmp, p, scheme, 6, (5e3, 1e6)[(n + m) % 2],
                                                1 + (n + m) % 3, 1e-2 if m else None,
                                                method="chebyshev"))
    print(f"largest true error / bound: {max(ratios):.3g}")


def case_time_plate_at_rest_certified_at_rounding():
    """A plate already at its steady state (held edges and start at 20, nothing else): each
    step's goal is 0 (1e-3 x a change of 0), below what any iterate can certify; the solve
    ends at its certificate's rounding floor instead of running to solver.max_iterations (50
    here: the run would fail), the field stays at 20 to rounding and each step's bound is at
    rounding's level (of 20), not 0."""
    text = mode_config(15, 11, 1.6, 0.5, 4, "implicit").replace(
        "top = 0\nbottom = 0\nleft = 0\nright = 0\n", "top = 20\nbottom = 20\nleft = 20\n"
        "right = 20\n")
    text = re.sub(r'interior = "[^"]*"', "interior = 20.0", text)
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        s, _ = run_series(tmp, text + "[solver]\nmax_iterations = 50\n", 2)
    moved = float(np.abs(s.T[:, 1:-1, 1:-1] - 20.0).max())
    if moved > 1e-12:
        raise Failure(f"the plate at rest moved by {moved:.3g}")
    bounds = s.heat[1:, s.columns.index("step_bound")]
    if not np.all((bounds > 0.0) & (bounds < 1e-12)):
        raise Failure(f"step bounds {bounds}: expected positive and at rounding's level")


def case_time_identical_over_decompositions():
    """Every scheme: the series (fields, times, heat table) the same bits on 1-4 ranks, every
    partitioner, both halo modes, ranks_per_node (the implicit steps by multigrid, and by
    Chebyshev iterations: solver.method = "chebyshev")."""
    combos = [(2, "block", "auto", 0), (3, "cyclic", "p2p", 0), (4, "block-cyclic", "shm", 0),
              (4, "block", "p2p", 2), (2, "cyclic", "auto", 1)]
    for scheme, method in (("implicit", None), ("bdf2", None), ("explicit", None),
                           ("implicit", "chebyshev"), ("bdf2", "chebyshev")):
        steps = 6 if scheme != "explicit" else 60000
        extra = f"scheme = \"{scheme}\"\n"
        if method:
            extra += "step_error = 1e-6\n[solver]\nmethod = \"chebyshev\"\n"
        text = faces_plate(extra).replace("steps = 6", f"steps = {steps}")
        if scheme == "explicit":
            text = text.replace("end = 60.0", "end = 0.5").replace("steps = 60000", "steps = 20")
        with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
            ref, _ = run_series(tmp, text, 1)
            for ranks, part, mode_, rpn in combos:
                sets = (f"decomposition.partitioner={part}", f"halo.mode={mode_}",
                        f"halo.ranks_per_node={rpn}", "decomposition.block_size=3")
                got, _ = run_series(tmp, text, ranks, sets)
                what = (f"{scheme} ({method or 'multigrid'}), {ranks} ranks, {part}, halo "
                        f"{mode_}, ranks_per_node {rpn}")
                for name in ("T", "time", "heat"):
                    a, b = getattr(ref, name), getattr(got, name)
                    if a.shape != b.shape or a.tobytes() != b.tobytes():
                        raise Failure(f"{what}: /series/{name} differs from 1 rank's")


def case_time_heat_balance_backward_euler():
    """Backward Euler stores exactly what flows in: (E_(n+1) - E_n) / dt equals the flows at
    t_(n+1) (edges, heater, faces), to the step's solve error times the operator's size."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        s, _ = run_series(tmp, faces_plate("step_error = 1e-9\n"), 2)
    col = {name: k for k, name in enumerate(s.columns)}
    flows = sum(s.heat[:, col[c]] for c in ("edge_north", "edge_south", "edge_west",
                                            "edge_east", "regions", "sources", "surface"))
    dt = s.time[1] - s.time[0]
    for n in range(len(s.time) - 1):
        rate = (s.heat[n + 1, col["stored"]] - s.heat[n, col["stored"]]) / dt
        if abs(rate - flows[n + 1]) > 1e-3 * max(1.0, abs(flows[n + 1])):
            raise Failure(f"step {n + 1}: stored rises {rate!r} W, the flows give "
                          f"{flows[n + 1]!r} W")
    if abs(s.heat[-1, col["regions"]] - 50.0) > 1e-9:
        raise Failure(f"the heater gives {s.heat[-1, col['regions']]!r} W, not 50")


def case_time_insulated_plate_stores_its_heater_power():
    """A plate insulated all round with a 10 W heater has no steady state (refused without
    [time]), but a transient: every scheme stores exactly what the heater gives, E(t) =
    rho c t W H T0 + P t (the closed form), to the solves' error; 3 ranks."""
    text = ("[grid]\nnx = 20\nny = 20\n[plate]\nwidth = 0.2\nconductivity = 200.0\n"
            "thickness = 0.01\ndensity = 2700.0\nspecific_heat = 900.0\n"
            "[boundary]\ntop = \"insulated\"\nbottom = \"insulated\"\nleft = \"insulated\"\n"
            "right = \"insulated\"\n[initial]\ninterior = 20.0\n"
            "[[region]]\nshape = \"disk\"\ncx = 0.1\ncy = 0.1\nradius = 0.03\npower = 10.0\n"
            "[time]\nend = 100.0\nsteps = 10\nstep_error = 1e-9\n"
            "[output]\npath = \"series.h5\"\n")
    e0 = 2700.0 * 900.0 * 0.01 * 0.2 * 0.2 * 20.0
    for scheme, steps in (("implicit", 10), ("bdf2", 10), ("explicit", 400)):
        t = text.replace("steps = 10", f"steps = {steps}\nscheme = \"{scheme}\"")
        with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
            s_, _ = run_series(tmp, t, 3)
        col = {name: k for k, name in enumerate(s_.columns)}
        want = e0 + 10.0 * s_.time
        err = float(np.abs(s_.heat[:, col["stored"]] - want).max())
        # a solve error d in every point moves E by at most C_total d
        if err > 1e-9 * e0 + 2700.0 * 900.0 * 0.01 * 0.04 * 1e-9 * steps:
            raise Failure(f"{scheme}: stored energy {err:.3g} J from {e0} + 10 t")
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        steady = text[:text.index("[time]")] + "[output]\npath = \"series.h5\"\n"
        _, p = run_series(tmp, steady, 1, expect=2)
        if "steady state is not unique" not in p.stderr:
            raise Failure(f"without [time] the plate should be refused:\n{p.stderr}")


def case_time_output_times_pick_snapshots():
    """output_times (a float array) with output_every: snapshots at the first step at or past
    each listed time (15 s: the step ending at 20 s) and each multiple, the last step always."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        s, _ = run_series(tmp, faces_plate("output_times = [15.0, 30, 40.0]\n"
                                           "output_every = 25.0\n"), 2)
        if list(s.time) != [0.0, 20.0, 30.0, 40.0, 50.0, 60.0]:
            raise Failure(f"snapshot times {list(s.time)}, expected 0, 20, 30, 40, 50, 60")


def case_time_snapshots_every():
    """output_every picks the snapshots: 0 and every 20 s of a 60 s run in 10 s steps."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        s, p = run_series(tmp, faces_plate("output_every = 20.0\n"), 2)
        if list(s.time) != [0.0, 20.0, 40.0, 60.0]:
            raise Failure(f"snapshot times {list(s.time)}, expected 0, 20, 40, 60")
        if s.T.shape != (4, 17, 23) or s.iterations != 6:
            raise Failure(f"/series/T {s.T.shape}, iterations {s.iterations}")
        xmf = open(os.path.join(tmp, "series.xmf"), encoding="utf-8").read()
        times = [float(t) for t in re.findall(r'<Time Value="([^"]+)"', xmf)]
        if 'CollectionType="Temporal"' not in xmf or times != [0.0, 20.0, 40.0, 60.0]:
            raise Failure(f"the XDMF's temporal collection has times {times}")


def case_time_refusals():
    """Each mistake: exit 2, one line naming the file, the line and the key; nothing written."""
    base = mode_config()
    cases = [
        (base.replace("steps = 10\n", ""), r"case\.toml:\d+: time\.end: give exactly one"),
        (base.replace("steps = 10\n", "steps = 10\nstep = 0.05\n"),
         r"case\.toml:\d+: time\.steps: give exactly one of time\.step .* got both"),
        (base.replace("steps = 10\n", "step = 0.3\n"),
         r"case\.toml:\d+: time\.step must divide time\.end"),
        (base.replace("end = 0.5\n", ""), r"case\.toml:\d+: time\.\w+: \[time\] needs time\.end"),
        (base.replace("end = 0.5", "end = -1.0"), r"case\.toml:\d+: time\.end must be"),
        (base.replace("\"implicit\"", "\"crank\""), r"case\.toml:\d+: time\.scheme must be"),
        (base.replace("\"implicit\"", "\"explicit\""),
         r"case\.toml:\d+: time\.steps gives a step of 0\.05 s, above the explicit scheme's "
         r"stability limit 0\.015 s"),
        (base.replace("density = 3.0", "density = 0"), r"case\.toml:\d+: plate\.density must be"),
        (base.replace("[time]", "[solver]\ntemporal_block = 4\ncheck_interval = 4\n[time]"),
         r"case\.toml:\d+: solver\.temporal_block must be 1 with \[time\]"),
        (base.replace("end = 0.5", "end = \"stedy\""),
         r"case\.toml:\d+: time\.end must be a number > 0 or \"steady\".*did you mean"),
        (base.replace("end = 0.5", "end = \"steady\""),
         r"case\.toml:\d+: time\.steps: with time\.end = \"steady\" give time\.step"),
        (base.replace("steps = 10\n", "steps = 10\nmax_steps = 5\n"),
         r"case\.toml:\d+: time\.max_steps applies only with time\.end = \"steady\""),
        (base.replace("[initial]\n", "[initial]\nfrom_file = \"case.toml\"\n"),
         r"case\.toml:\d+: initial\.from_file \"case\.toml\": not a readable HDF5 file"),
        (base.replace("[time]", "[time]\noutput_times = [0.2, 0.1]"),
         r"case\.toml:\d+: time\.output_times must increase and end by time\.end"),
        (base.replace("[time]", "[time]\noutput_times = [0.2, \"x\"]"),
         r"case\.toml:\d+: time\.output_times must be an array of one or more numbers"),
        (base.replace("[time]", "[time]\nbogus = 1"), r"case\.toml:\d+: unknown key time\.bogus"),
        (base.replace("[time]", "[time]\noutput_every = \"often\""),
         r"case\.toml:\d+: time\.output_every must be"),
    ]
    for text, want in cases:
        with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
            _, p = run_series(tmp, text, 2, expect=2)
            # jacobi's own lines (mpiexec adds its report of the exit code)
            lines = [line for line in p.stderr.splitlines() if line.startswith("jacobi")]
            if len(lines) != 1 or not re.search(want, lines[0]):
                raise Failure(f"expected one line matching {want!r}, got:\n{p.stderr!r}")
            left = [n for n in os.listdir(tmp) if n != "case.toml"]
            if left:
                raise Failure(f"a refused run left {left} behind ({want})")


# A series that runs for hours on any machine (4e7 explicit steps of a 31 x 23 plate), for the
# signal tests: they stop it once it is under way, never after a fixed time.
LONG_STEPS = 40000000


def long_series_under_way(tmp):
    """Start the long series on 2 ranks in tmp and return (proc, lines) once the loop's first
    progress line (printed about once a second) shows it under way: a state, not a time."""
    dt = 1e-5
    text = mode_config(31, 23, 1.6, 4.0, 400000, "explicit").replace(
        "steps = 400000\n", f"step = {dt!r}\noutput_every = 1e-3\n").replace(
        "end = 4.0", f"end = {LONG_STEPS * dt!r}")
    with open(os.path.join(tmp, "case.toml"), "w", encoding="utf-8") as f:
        f.write(text)
    proc = subprocess.Popen([e2e.ARGS.mpiexec, "-n", "2", e2e.ARGS.jacobi, "case.toml"],
                            cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace")
    lines = []
    while True:  # the run cannot end before its first progress line on any machine
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("  t = "):
            break
    return text, dt, proc, lines


def case_time_sigterm_stops_with_a_whole_series():
    """SIGTERM to the ranks mid-series: every rank stops after the same step, exit 4, the series
    file whole up to that step (its last snapshot the step's), and that snapshot the same bits
    as a run told to end there."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        text, dt, proc, lines = long_series_under_way(tmp)
        pids = e2e.rank_pids(proc.pid)
        if not pids:
            proc.kill()
            raise Failure("found no rank processes under mpiexec")
        for r in pids:  # one after another: they arrive at different steps
            os.kill(r, signal.SIGTERM)
            time.sleep(0.01)
        out, err = proc.communicate(timeout=120)
        out = "".join(lines) + out
        if proc.returncode != 4 or "stopped by a signal at t =" not in out:
            raise Failure(f"expected exit 4 and the stop in the summary, got exit "
                          f"{proc.returncode}:\n{out}{err}")
        left = [n for n in os.listdir(tmp) if ".tmp." in n]
        if left:
            raise Failure(f"the stop left {left} behind")
        s_ = Series(os.path.join(tmp, "series.h5"))
        k = s_.iterations
        if not (0 < k < LONG_STEPS) or abs(s_.time[-1] - k * dt) > 1e-12 * k * dt or \
                not np.all(np.diff(s_.time) > 0):
            raise Failure(f"stopped after {k} steps with times ending {s_.time[-3:]}")
        short = text.replace(f"end = {LONG_STEPS * dt!r}", f"end = {k * dt!r}")
        ref, _ = run_series(tmp, short, 3)
        if ref.iterations != k or ref.T[-1].tobytes() != s_.T[-1].tobytes():
            raise Failure(f"the stopped series' last snapshot (step {k}) differs from a run of "
                          f"{ref.iterations} steps on 3 ranks")


def h5diff_series(tmp, a, b, what):
    """The two series files the same under h5diff, datasets and attributes, except the root's
    attributes (config records each run's own decomposition and initial.from_file; iterations
    and version are compared here instead)."""
    p = subprocess.run(["h5diff", "--exclude-attribute", "/", a, b], cwd=tmp,
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise Failure(f"{what}: h5diff {a} {b} found differences (exit {p.returncode}):\n"
                      f"{p.stdout}{p.stderr}")
    with h5py.File(os.path.join(tmp, a), "r") as f, h5py.File(os.path.join(tmp, b), "r") as g:
        for name in ("iterations", "version"):
            if f.attrs[name] != g.attrs[name]:
                raise Failure(f"{what}: root attribute {name} {f.attrs[name]} != {g.attrs[name]}")


def case_time_restart_mid_series_is_identical():
    """Every scheme: a run checkpoints from the loop (output.checkpoint_interval, on 1 rank);
    continued from its last checkpoint on 3 ranks, cyclic, p2p, the series file equals the
    uninterrupted run's under h5diff; the checkpoint holds the series up to its step. BDF2's
    steps by Chebyshev iterations too (its rho found again by the continued run)."""
    for scheme, steps, every, method in (("implicit", 6, 2, None), ("bdf2", 6, 2, None),
                                         ("explicit", 20, 8, None), ("bdf2", 6, 2, "chebyshev")):
        extra = f"scheme = \"{scheme}\"\n"
        if method:
            extra += f"step_error = 1e-6\n[solver]\nmethod = \"{method}\"\n"
        text = faces_plate(extra).replace("steps = 6", f"steps = {steps}")
        if scheme == "explicit":
            text = text.replace("end = 60.0", "end = 0.5")
        text = text.replace("[output]\n", f"[output]\ncheckpoint_interval = {every}\n")
        with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
            ref, _ = run_series(tmp, text, 1)
            last = (steps - 1) // every * every  # the last checkpoint before the end
            with h5py.File(os.path.join(tmp, "series.ckpt.h5"), "r") as f:
                k = int(f.attrs["iterations"])
                kept = f["/series/T"][...]
                step = int(f["/state"].attrs["step"])
            if k != last or step != last or kept.tobytes() != ref.T[:last + 1].tobytes():
                raise Failure(f"{scheme}: the checkpoint is of step {k} ({step}) with "
                              f"{len(kept)} snapshots, expected step {last} with the first "
                              f"{last + 1} of the series")
            os.rename(os.path.join(tmp, "series.h5"), os.path.join(tmp, "whole.h5"))
            got, p = run_series(tmp, text, 3, ("initial.from_file=series.ckpt.h5",
                                               "decomposition.partitioner=cyclic",
                                               "halo.mode=p2p"))
            h5diff_series(tmp, "whole.h5", "series.h5", f"{scheme} continued from step {k}")
            # a checkpoint continued with another scheme, or another step: exit 2, named
            other = "bdf2" if scheme == "implicit" else "implicit"
            for change, want in ((f"time.scheme={other}", f"a checkpoint of scheme \"{scheme}\""),
                                 ("time.steps=3", "a checkpoint after")):
                _, p = run_series(tmp, text, 2, ("initial.from_file=series.ckpt.h5", change),
                                  expect=2)
                if "initial.from_file \"series.ckpt.h5\": " + want not in p.stderr:
                    raise Failure(f"{scheme} continued with {change}: expected {want!r}:\n"
                                  f"{p.stderr}")
            if scheme == "bdf2":  # a checkpoint altered: refused, nothing read out of range
                with h5py.File(os.path.join(tmp, "series.ckpt.h5"), "r+") as f:
                    f["/state"].attrs.modify("next_time", -5)
                _, p = run_series(tmp, text, 2, ("initial.from_file=series.ckpt.h5",), expect=2)
                if "its /state's attributes are out of range" not in p.stderr:
                    raise Failure(f"an altered checkpoint: expected a refusal:\n{p.stderr}")


def case_time_signal_mid_series_then_restart():
    """SIGUSR1 after the loop's first progress line (which shows simulated time, the step and
    the time left): exit 4, the series whole, a checkpoint at the step reached; continued from
    it on 3 ranks for 40 more steps, the series equals a fresh run's to that step."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        text, dt, proc, lines = long_series_under_way(tmp)
        for r in e2e.rank_pids(proc.pid):
            os.kill(r, signal.SIGUSR1)
        out, err = proc.communicate(timeout=120)
        lines += out.splitlines(keepends=True)
        progress = [x for x in lines if x.startswith("  t = ")]
        if proc.returncode != 4 or not progress:
            raise Failure(f"expected a progress line, then exit 4 on SIGUSR1; got exit "
                          f"{proc.returncode}:\n{''.join(lines)}\n{err}")
        if not re.match(rf"  t = [0-9.e+-]+ +s  step \d+/{LONG_STEPS}  change \S+  bound \S+  "
                        r"\d+ s left$", progress[0].rstrip()):
            raise Failure(f"the progress line should give simulated time, step and time "
                          f"left:\n{progress[0]}")
        left = [n for n in os.listdir(tmp) if ".tmp." in n]
        if left or "initial.from_file=series.ckpt.h5" not in "".join(lines):
            raise Failure(f"the stop left {left}, or its summary does not say how to go on:\n"
                          f"{''.join(lines)}")
        with h5py.File(os.path.join(tmp, "series.ckpt.h5"), "r") as f:
            k = int(f.attrs["iterations"])
        stopped = Series(os.path.join(tmp, "series.h5"))
        if stopped.iterations != k or not 0 < k < LONG_STEPS:
            raise Failure(f"the series stopped at step {stopped.iterations}, its checkpoint "
                          f"is of step {k}")
        short = text.replace(f"end = {LONG_STEPS * dt!r}", f"end = {(k + 40) * dt!r}")
        run_series(tmp, short, 3, ("initial.from_file=series.ckpt.h5",
                                   "decomposition.partitioner=block-cyclic",
                                   "decomposition.block_size=4"))
        os.rename(os.path.join(tmp, "series.h5"), os.path.join(tmp, "continued.h5"))
        run_series(tmp, short, 1)
        h5diff_series(tmp, "series.h5", "continued.h5", f"continued from step {k}")


def case_time_until_steady_within_its_bound():
    """time.end = "steady" on a plate with a held edge, convective edges and a heater (backward
    Euler and bdf2, 2 ranks): it stops certified, and its last field is within the bound it
    reports (and the target) of the steady equations' solution by SciPy's sparse direct solve
    (e2e_faces' assembly, independent of plate.c)."""
    import e2e_faces  # noqa: E402
    p = e2e_faces.kinds_plate(13, 11, "convective")
    p.regions = [{"shape": "disk", "cx": 0.5 * p.width, "cy": 0.4 * p.width,
                  "radius": 0.2 * p.width, "power": 5.0}]
    T = e2e_faces.truth(p)
    target = 1e-7
    for scheme in ("implicit", "bdf2"):
        text = e2e_faces.config(p, "multigrid", extra={
            "plate": {"density": 100.0, "specific_heat": 10.0},
            "time": {"end": "steady", "step": 20.0, "scheme": scheme, "output_every": 200.0},
            "output": {"path": "series.h5"}}).replace("[solver]\n", f"[solver]\n"
                                                      f"target_error = {target!r}\n")
        with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
            s, p_ = run_series(tmp, text, 2)
        m = re.search(r"steady state certified after (\d+) steps: within (\S+) of", p_.stdout)
        if not m or int(m.group(1)) != s.iterations or s.time[-1] != s.iterations * 20.0:
            raise Failure(f"{scheme}: no certified steady state in the summary, or the "
                          f"series does not end at it:\n{p_.stdout}")
        bound = float(m.group(2))
        err = float(np.abs(s.T[-1] - T).max())
        if not (bound <= target and err <= bound):
            raise Failure(f"{scheme}: the last field is {err:.3g} from the sparse solve, the "
                          f"certified bound {bound:.3g}, the target {target}")
        # not stopped at once: the plate started far from its steady state
        if s.iterations < 10 or float(np.abs(s.T[0] - T).max()) < 1e3 * target:
            raise Failure(f"{scheme}: stopped after {s.iterations} steps")
        if scheme == "bdf2":  # the stop is decided on agreed, exact figures: the same step
            with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
                other, _ = run_series(tmp, text, 3, ("decomposition.partitioner=cyclic",))
            if other.iterations != s.iterations or other.T.tobytes() != s.T.tobytes():
                raise Failure(f"bdf2 until steady: {other.iterations} steps on 3 ranks, cyclic, "
                              f"{s.iterations} on 2, or other bits")


def case_time_warm_up_example():
    """configs/warm-up.toml runs (2 ranks): the plate warms from room temperature, never above
    its steady state's maximum principle bound, and its heater gives 50 W at every snapshot."""
    src = os.path.join(e2e.ARGS.source, "configs", "warm-up.toml")
    with open(src, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r'path = "[^"]*"', 'path = "series.h5"', text)
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-time-") as tmp:
        s, _ = run_series(tmp, text, 2)
    if not (s.T[0] == 20.0).all():
        raise Failure("the warm-up does not start at 20 degrees everywhere")
    col = {name: k for k, name in enumerate(s.columns)}
    if not np.all(np.diff(s.heat[:, col["stored"]]) > 0):
        raise Failure(f"the stored energy does not rise: {s.heat[:, col['stored']]}")
    if np.abs(s.heat[:, col["regions"]] - 50.0).max() > 1e-9:
        raise Failure("the heater does not give 50 W")


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    e2e.CASES = CASES
    sys.exit(e2e.main())
