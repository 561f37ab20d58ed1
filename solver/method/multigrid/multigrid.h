/* multigrid.h - geometric multigrid over the distributed field: the cycles of method
 * "multigrid" (docs/numerics.md, "Multigrid"); storage.c, coarse.c and cycle.c behind it.
 *
 * A cycle solves for the correction of the current iterate x on the hierarchy of levels.h:
 * smooth on the fine level (Chebyshev smoothing of the Jacobi update, or damped Jacobi), take
 * the residual, restrict it (P^T, full weighting in the interior) to the next level, where the
 * same is done to the correction equation (with zero edges), down to the coarsest level, solved
 * exactly on every rank (banded LU); then interpolate each correction up (bilinear), add it and
 * smooth again. Every operator is pointwise in global indices with one order of operations,
 * and every value a rank needs from another (halos of coarse levels, the residual a coarse
 * point restricts, the coarse values a fine point interpolates) is fetched as it is: so the
 * field after any number of cycles has the same bits on every decomposition. Every level's
 * halos go through halo.h (shared windows on a node, messages between nodes); the transfers
 * between levels as messages (fetches planned once from the layouts).
 *
 * On a faces plate (field_faces) the fine level is the field's own operator, the transfers are
 * operator-dependent and the coarse operators Galerkin's (nine points, smoothed by four-colour
 * Gauss-Seidel): faces.c, docs/numerics.md "Multigrid on the faces operator".
 *
 * Not for: the stopping rule, checkpoints, signals (solve.c's loop); the plan (levels.h).
 */
#ifndef JACOBI_MULTIGRID_H
#define JACOBI_MULTIGRID_H

#include "decomp/levels.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"

#include <stdbool.h>

enum multigrid_cycle { MULTIGRID_V, MULTIGRID_W, MULTIGRID_F };
enum multigrid_smoother { MULTIGRID_REDBLACK, MULTIGRID_CHEBYSHEV, MULTIGRID_JACOBI };

struct multigrid_params {
  enum multigrid_cycle cycle;
  enum multigrid_smoother smoother;
  int pre, post; /* smoothing steps before and after the coarse-grid correction, each level */
  bool fmg; /* cycle 1 (from the initial field, not a continued run's) is a full-multigrid start */
  enum halo_mode halo_mode; /* the coarse levels' halos, as the fine level's */
};

struct multigrid;

/* The weights of smoothing steps 1 .. steps of a Jacobi-type smoother: step s sets
 * x' = (x + beta[s] (u - x)) + alpha[s] (x - x_before), u the point's update (its neighbours'
 * weighted mean plus the right-hand side's share). Damped Jacobi: alpha 0, beta 4/5. Fourth-kind
 * Chebyshev for D^-1 A's eigenvalues in (0, 2] (Gershgorin: no estimate needed): after k steps
 * sqrt(lambda / 2) |p_k(lambda)| <= 1 / (2k + 1) on all of (0, 2] (Phillips and Fischer 2022),
 * with no lower end to guess. Entries 1 .. steps (< 64) are set. Pure. */
void multigrid_smoother_weights(enum multigrid_smoother smoother, int steps, double alpha[64],
                                double beta[64]);

/* Plan the hierarchy and every fetch, allocate the coarse levels. The field's rings must be one
 * point deep. Collective on team->comm; agreed status. Errors: ERR_FAILURE (memory, MPI). */
int multigrid_create(struct field *field, struct halo *halo, const struct team *team,
                     const struct multigrid_params *params, struct multigrid **out);

/* One cycle on field->current (a full-multigrid start if `fmg_start`), leaving the result
 * current with its halos filled; returns this rank's max |J x - x| of the result (its sweep
 * change, 1/4 of the residual's max norm). Collective. A failed MPI call ends the job
 * (team_abort): neighbours would be left waiting. */
double multigrid_cycle(struct multigrid *mg, bool fmg_start);

/* The same without the exchanges a caller that exchanges between cycles makes redundant (the
 * method's step; solve.c fills the field's rings before every step): `rings_filled` says the
 * field's rings already hold its current buffer's neighbours, so the cycle's first exchange of
 * the fine level is skipped; and the result's rings are left unfilled where the cycle measured
 * its change without them (one tile: the last smoothing pass measures it), for the caller fills
 * them before it reads them. The same bits as multigrid_cycle. */
double multigrid_cycle_lean(struct multigrid *mg, bool fmg_start, bool rings_filled);

/* What the last cycle did, for the tests and the bench: the halo exchanges of each level (0 the
 * finest), and the restrictions of a residual made in one pass with it (no stored residual:
 * where this rank's coarse tile restricts points of one tile of its own, and no other rank's). */
struct multigrid_counts {
  int64_t exchanges[LEVELS_MAX];
  int64_t fused_restrictions;
  int64_t interpolations_in_place; /* from the coarse tile itself, without the fetch's copy */
};
const struct multigrid_counts *multigrid_counts(const struct multigrid *mg);

/* Every residual stored and then restricted, and every interpolation from the fetched copy of
 * the coarse values (`apart`), as where the transfers cross ranks; or, the default, the
 * residual restricted as it is computed and the coarse values read in place where a rank's
 * transfers are its own: the tests compare the two point by point. */
void multigrid_restrict_apart(struct multigrid *mg, bool apart);

/* The work of the last cycle in fine-sweep equivalents: every smoothing step, residual and
 * transfer of every level, weighted by the level's share of the points. */
double multigrid_work(const struct multigrid *mg);

const struct levels *multigrid_levels(const struct multigrid *mg);

/* Free; accepts NULL and *mg == NULL, sets *mg to NULL. Collective on each node (the coarse
 * levels' shared windows). */
void multigrid_destroy(struct multigrid **mg);

#endif /* JACOBI_MULTIGRID_H */
