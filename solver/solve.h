/* solve.h - the Jacobi iteration over the distributed field: sweep every tile, decide
 * convergence with one MPI_Allreduce at check iterations, exchange halos, swap buffers.
 *
 * The stopping rule (README, "What it solves"): iteration k computes T^k from T^(k-1) and
 * diff_k = max |T^k - T^(k-1)| over the interior. At every k that is a multiple of
 * check_interval, and at k = max_iterations, the ranks agree on diff_k; if it is below the
 * tolerance the run stops, converged, with T^k after k iterations. Otherwise it stops at
 * max_iterations, not converged.
 */
#ifndef JACOBI_SOLVE_H
#define JACOBI_SOLVE_H

#include "field.h"
#include "halo.h"
#include "team.h"

#include <stdbool.h>
#include <stdint.h>

struct solve_params {
  double tolerance;
  int64_t max_iterations;
  int64_t check_interval;
  bool progress; /* rank 0 prints a progress line about once a second */
};

struct solve_result {
  int64_t iterations;
  double residual; /* the last agreed diff */
  bool converged;
  /* Seconds in each phase on this rank, and the run's wall time on this rank. */
  double compute_seconds, halo_seconds, reduce_seconds, wall_seconds;
  int64_t exchanges; /* halo exchanges this rank made */
};

/* Fill the halos of the initial field, then iterate. Collective on team->comm.
 * Errors: ERR_FAILURE when the agreed diff is not finite (the field blew up) or MPI fails. */
int solve_run(struct field *field, struct halo *halo, const struct team *team,
              const struct solve_params *params, struct solve_result *out);

#endif /* JACOBI_SOLVE_H */
