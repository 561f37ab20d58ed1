"""exact.py - the exact solution of jacobi's discrete equations, for tests and the bench.

The interior of an (ny + 2) x (nx + 2) grid whose ring holds fixed temperatures satisfies
4 T[i][j] - (sum of the four neighbours) = 0; moving the ring to the right-hand side gives
A T = b with A = L_x + L_y, each L the 1-D second difference with zero ends. The type-I discrete
sine transform diagonalises both, so one forward transform, a division by the eigenvalues
(2 - 2 cos(pi p / (ny + 1))) + (2 - 2 cos(pi q / (nx + 1))) and one inverse transform solve it to
rounding. Independent of jacobi's code: only the equations are shared.
"""
import numpy as np
import scipy.fft


def solve(grid):
    """T*, the exact discrete solution, for the ring of `grid` ((ny + 2) x (nx + 2) array)."""
    grid = np.asarray(grid, dtype=np.float64)
    ny, nx = grid.shape[0] - 2, grid.shape[1] - 2
    b = np.zeros((ny, nx))
    b[0, :] += grid[0, 1:-1]
    b[-1, :] += grid[-1, 1:-1]
    b[:, 0] += grid[1:-1, 0]
    b[:, -1] += grid[1:-1, -1]
    li = 2 - 2 * np.cos(np.pi * np.arange(1, ny + 1) / (ny + 1))
    lj = 2 - 2 * np.cos(np.pi * np.arange(1, nx + 1) / (nx + 1))
    coeff = scipy.fft.dstn(b, type=1) / (li[:, None] + lj[None, :])
    return scipy.fft.idstn(coeff, type=1)


def max_error(grid):
    """max |T - T*| over the interior of `grid`, the whole field a jacobi file holds."""
    grid = np.asarray(grid, dtype=np.float64)
    return float(np.abs(grid[1:-1, 1:-1] - solve(grid)).max())
