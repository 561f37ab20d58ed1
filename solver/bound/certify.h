/* certify.h - what the field left current is worth: its sweep change, agreed by every rank,
 * and the measured estimate of its distance to T* (the residual's error on estimate.h's coarse
 * grid), summed exactly so that it is the same on every decomposition.
 *
 * Not for: the iteration (the loop measures its diff inside the sweep), the bound's formula
 * (estimate.h). Collective on the team.
 */
#ifndef JACOBI_CERTIFY_H
#define JACOBI_CERTIFY_H

#include "runtime/field.h"
#include "runtime/team.h"
#include "solver/bound/estimate.h"

struct certify_result {
  double change;   /* max |J x - x| over the interior, agreed: a quarter of the residual's norm */
  double estimate; /* max of the coarse grid's error; 0 where the residual is 0 */
  double lo, hi;   /* the least and largest value of the interior, agreed (estimate_cap) */
  double reach;    /* the largest |x| of the interior and the rings, agreed */
  double profile;  /* estimate_profile of the residual (estimate_bound_profile); 0 where r = 0 */
};

/* Measure the current iterate of `field`, whose rings must be filled: one read-only pass of
 * the stencil over this rank's tiles, the residual's hat-weighted sums in 128-bit fixed point
 * (exact, so their order cannot matter), one MPI_Allreduce of them and one of the change, and
 * the coarse solve on every rank. Collective on team->comm; an MPI failure ends every rank
 * (team_abort), as in the loop. Errors: ERR_FAILURE (out of memory), agreed. */
int certify_field(const struct field *field, const struct team *team,
                  const struct estimate_coarse *coarse, struct certify_result *out);

#endif /* JACOBI_CERTIFY_H */
