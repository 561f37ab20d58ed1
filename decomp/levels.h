/* levels.h - the multigrid hierarchy of a plate: its coarse grids, how each one coarsens the
 * grid above it, the operator and transfers on each, and who owns which part of each level.
 *
 * Pure functions of sizes and ranks: no MPI, so every rank (and `--dry-run --ranks N`) computes
 * the whole hierarchy alone, and the transfers are the same arithmetic on every decomposition.
 *
 * Coarsening (docs/numerics.md, "Multigrid"). Along one direction a level has n points, its first
 * point a distance gap_lo (in the level's own spacing H) from the edge and its last one gap_hi;
 * level 0 has gap 1 at both ends. The next level takes every other point, I -> 2 I + parity: an odd
 * n keeps the points between the ends (parity 1); an even n cannot, and keeps the every-other
 * points that grow the smaller gap. Both gaps stay in (0, 1] at every level, about 1/3 at the
 * least, and the operator is the Shortley-Weller second difference for the actual distances, so
 * any nx, ny >= 1 coarsens, not only 2^k - 1. Coarsening stops when a direction has 2 points
 * or fewer, or the level has LEVELS_COARSEST_POINTS or fewer (a thin plate stops early: its
 * coarsest level is long and narrow, and its direct solve is banded by the short side).
 *
 * Ownership. Level 0 is the run's own layout (any partitioner). Every coarser level but the
 * last is laid out over all the ranks and the fine process grid, one block a process, the blocks
 * as large as keeps at least LEVELS_MIN_TILE points a side (or a rank's share of the fine grid
 * in that direction, where that is less): so it lives on the top-left sub-grid
 * of processes, the others own nothing there (agglomeration), and its neighbours are the fine
 * grid's neighbours, so the fine level's halo machinery serves it (shared windows on a node,
 * messages between nodes). The coarsest level is replicated: every rank that owns part of the level
 * above holds it whole and solves it exactly, so none waits for another's solve and the
 * transfers stay among those ranks (not all of them: on thousands of ranks an all-to-all would
 * cost more than the cycle).
 */
#ifndef JACOBI_LEVELS_H
#define JACOBI_LEVELS_H

#include "decomp/decomp.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { LEVELS_MAX = 48, LEVELS_COARSEST_POINTS = 1024, LEVELS_MIN_TILE = 16 };

/* One direction of one level. */
struct levels_axis {
  int64_t n;             /* points */
  int parity;            /* point I is the finer level's point 2 I + parity (level 0: 0) */
  double gap_lo, gap_hi; /* first and last point's distance to the edge, in this level's H */
};

struct levels_level {
  struct levels_axis rows, cols; /* rows: ny of them; columns: nx */
  struct decomp_layout layout;   /* who owns it (the coarsest: rank 0 in name, every rank) */
  bool replicated; /* the coarsest level: held and solved by each rank of the level above */
};

struct levels {
  int n; /* levels, >= 2: the fine grid and at least the coarsest (which may be level 0's shape) */
  struct levels_level level[LEVELS_MAX];
};

/* The hierarchy over `fine` (the run's layout). A plate already small enough is its own
 * coarsest level: level 1 is then level 0's shape, replicated (parity -1: the identity
 * transfer). Errors: none for a valid layout (returns ERR_OK). Not collective. */
int levels_init(struct levels *hierarchy, const struct decomp_layout *fine);

/* The operator of a level along one direction at point i: the Shortley-Weller second
 * difference, scaled by H^2: 2 x_i - x_(i-1) - x_(i+1) in the interior, and for the real
 * distances h_lo, h_hi next to an edge: diag = w_lo + w_hi, w_lo = 2 / (h_lo (h_lo + h_hi)),
 * w_hi = 2 / (h_hi (h_lo + h_hi)). */
void levels_axis_weights(const struct levels_axis *a, int64_t i, double *w_lo, double *w_hi,
                         double *diag);

/* Prolongation along one direction: finer point i (of `fine`, which `coarse` coarsens) takes
 * w[0] x_c[k[0]] + w[1] x_c[k[1]] (linear interpolation; an edge neighbour contributes 0, so
 * it is left out: n = 1 or 2 terms). Returns n. Restriction is its transpose. */
int levels_interp(const struct levels_axis *fine, const struct levels_axis *coarse, int64_t i,
                  int64_t k[2], double w[2]);

/* Restriction along one direction, P^T: coarse point k gathers w[t] r[i[t]], t < n (n <= 3),
 * in increasing i. Returns n. */
int levels_restrict(const struct levels_axis *fine, const struct levels_axis *coarse, int64_t k,
                    int64_t i[3], double w[3]);

/* The finer level's indices [lo, hi) that coarse indices [k0, k1) restrict from, and the
 * coarse indices [lo, hi) that finer indices [i0, i1) interpolate from (edges clipped). */
void levels_restrict_span(const struct levels_axis *fine, const struct levels_axis *coarse,
                          int64_t k0, int64_t k1, int64_t *lo, int64_t *hi);
void levels_interp_span(const struct levels_axis *fine, const struct levels_axis *coarse,
                        int64_t i0, int64_t i1, int64_t *lo, int64_t *hi);

/* Whether `rank` holds the coarsest level: it owns part of the level above. */
bool levels_holds_coarsest(const struct levels *hierarchy, int rank);
int levels_holders(const struct levels *hierarchy);

/* Points of level l relative to level 0 (its share of a cycle's work). */
double levels_fraction(const struct levels *hierarchy, int l);

/* Print the plan of every level: size, ranks active, tiles, the largest rank's points, the
 * bytes of one halo exchange (all ranks) and of the finer residual its restriction reads. */
void levels_plan_print(const struct levels *hierarchy, FILE *out);

#endif /* JACOBI_LEVELS_H */
