/* implicit.h - the solve of one implicit time step's equations (transient.h): on the faces
 * operator (field.h) whose diagonal is the steady operator's own plus `weight` times the
 * capacity rate C/dt, from the step's start in the field's current buffer to a guaranteed error.
 *
 * The stepper (transient.c) sets field->diag = diag0 + weight rate and field->load to the step's
 * right-hand side at every free point, puts T_n in the current buffer (its halos need not be
 * filled) and calls implicit_solve; the solver chooses its start (T_n, or a guess made from T_n
 * and T_(n-1)), its method (multigrid of the method table on the step's operator; with
 * solver.method = "chebyshev", method "chebyshev" on it, rho found by Lanczos once per weight and
 * the recurrence begun again each step; else Jacobi sweeps alone) and its certificate (with
 * multigrid, max |r| / row sum of the step's M-matrix, one residual pass a cycle, rounding
 * counted; with Chebyshev the same, at iterations 4, 8, 12, 16, 21, ... (growing as sqrt(2k));
 * Jacobi's q / (1 - q) change otherwise: see docs/numerics.md, "The transient's certificate"
 * and "Chebyshev steps"), and leaves the solution current with a
 * bound on its max-norm distance to the step's exact discrete solution. Every operation is
 * pointwise in a fixed order, so the result is bit for bit the same on every decomposition.
 *
 * Not for: the time loop, snapshots, signals (transient.c, solve.c).
 */
#ifndef JACOBI_IMPLICIT_H
#define JACOBI_IMPLICIT_H

#include "io/cfg.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"

#include <stdbool.h>
#include <stdint.h>

struct implicit_setup {
  struct field *field; /* the faces operator, one-deep rings */
  struct halo *halo;
  const struct team *team;
  const struct cfg *cfg;    /* [multigrid] keys, solver.max_iterations (for the message) */
  enum halo_mode halo_mode; /* multigrid's coarse levels' */
  /* Field-sized buffers (tile_offset layout), read at free points, kept by the caller for the
   * solver's life: C/dt (W/K; 0 where there is no capacity) and the steady diagonal. */
  const double *rate, *diag0;
  /* cycles of method "multigrid"; else cfg's solver.method "chebyshev" set: its iterations;
   * else Jacobi sweeps alone */
  bool multigrid;
  /* kappa > 0: a backward Euler step (weight 1) after the first, solved by multigrid, is solved
   * to max(goal, kappa x its local truncation error's estimate), the estimate half the distance
   * of the first cycle's result to the extrapolated start 2 T_n - T_(n-1) (docs/numerics.md,
   * "The transient's certificate"); 0: to goal alone (time.step_error set, or BDF2) */
  double truncation_fraction;
};

/* What the solves cost, summed over every call. */
struct implicit_stats {
  int64_t sweeps; /* fine sweeps (Jacobi's, the certificates' and residual passes') */
  int64_t cycles; /* multigrid cycles */
  double work;    /* fine-sweep equivalents of everything, cycles at their counted work */
};

struct implicit_solver;

/* Collective on setup->team->comm; agreed status. Errors: ERR_FAILURE (memory, MPI). */
int implicit_create(const struct implicit_setup *setup, struct implicit_solver **out);

/* Solve the step's equations (field->diag, field->load as above, weight 1 or 1.5) from T_n
 * (current) to a bound <= goal; `previous` is T_(n-1) in the same layout, or NULL (the first
 * step). `step` counts from 1, for messages. *bound: the bound reached. Collective; agreed.
 * Errors: ERR_CONFIG (the goal not reached in solver.max_iterations cycles or sweeps),
 * ERR_FAILURE (a field no longer finite, memory). */
int implicit_solve(struct implicit_solver *s, double weight, const double *previous, double goal,
                   int64_t step, double *bound, struct implicit_stats *stats);

/* Free; accepts NULL and *s == NULL, sets it to NULL. Collective on each node. */
void implicit_destroy(struct implicit_solver **s);

#endif /* JACOBI_IMPLICIT_H */
