#!/usr/bin/env python3
"""End-to-end tests of the error bound on real plates (the faces operator), against the truth.

The bound of a faces plate rests on ||A^-1|| from a comparison function or diagonal dominance
(solver/bound/comparison.h); here it is compared with max |T - T*|, T* the sparse direct
solve of the discrete equations that e2e_faces.py assembles independently, on plates of every
edge kind, heaters and composite conductivity, Jacobi and Chebyshev, stopped early and run to a
solver.target_error.

usage: e2e_faces_bound.py --jacobi PATH --mpiexec PATH --source DIR (--list | CASE)
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402
from e2e import Failure  # noqa: E402
from e2e_faces import config, interior, kinds_plate, truth  # noqa: E402
from e2e_plate import solve  # noqa: E402

SHAPES = ((1, 1), (3, 2), (7, 5), (13, 11), (150, 3), (3, 41), (17, 2))
VARIANTS = ("insulated", "flux", "convective", "faces", "composite")


def plates():
    for nx, ny in SHAPES:
        for variant in VARIANTS:
            p = kinds_plate(nx, ny, variant)
            if (p.free(2) + p.free(3) > nx) or (p.free(0) + p.free(1) > ny):
                continue  # no room for the nodes: refused
            yield f"{variant} {nx} x {ny}", p


def case_faces_bound_never_below_the_true_error():
    """Every edge kind, heaters and composite k, 1 x 1 to 150 x 3, Jacobi and Chebyshev
    stopped after a few steps: the bound is never below the true error."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-bound-") as tmp:
        for what, p in plates():
            T = truth(p)
            scale = max(1.0, float(np.abs(T).max()))
            # (multigrid refuses faces plates for now: hplate)
            for method, steps in (("jacobi", (1, 30)), ("chebyshev", (1, 30))):
                for most in steps:
                    r = solve(tmp, config(p, method, tol=1e-300), ranks=1, want=(0, 3),
                              sets=(f"solver.max_iterations={most}",))
                    true = float(np.abs(interior(r) - T).max())
                    bound = float(r.attrs["error_bound"])
                    if not bound >= true - 1e-12 * scale:
                        raise Failure(f"{what}, {method}, {most} steps: the bound {bound:.6g} is "
                                      f"below the true error {true:.6g}")


def case_faces_target_error_is_met():
    """solver.target_error on plates of every kind: converged only where the true error (the
    sparse direct solve) is within it, on 1 and 2 ranks."""
    with tempfile.TemporaryDirectory(prefix="jacobi-e2e-faces-bound-") as tmp:
        for n, (what, p) in enumerate(plates()):
            if p.nx * p.ny > 200:
                continue  # Jacobi-from-0's comparison function gets no bound on long plates
            T = truth(p)
            scale = max(1.0, float(np.abs(T).max()))
            target = 1e-3 * scale
            method = ("chebyshev", "jacobi")[n % 2]
            text = config(p, method, extra={"solver": {"target_error": target}})
            # the tolerance rule off: only the target decides
            text = "\n".join(line for line in text.splitlines()
                              if not line.startswith("tolerance")) + "\n"
            r = solve(tmp, text, ranks=1 + n % 2, want=(0,))
            true = float(np.abs(interior(r) - T).max())
            if not true <= target or not float(r.attrs["error_bound"]) <= target:
                raise Failure(f"{what}, {method}: converged with the true error {true:.3g}, "
                              f"bound {float(r.attrs['error_bound']):.3g}, target {target:.3g}")


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


if __name__ == "__main__":
    e2e.CASES = CASES
    sys.exit(e2e.main())
