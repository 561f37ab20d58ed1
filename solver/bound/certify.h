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
  /* The slowest mode's comparison: max |r| / (A s) times max s, s(i, j) = sin(pi i / (ny + 1))
   * sin(pi j / (nx + 1)) as computed, A s bounded below from those bits: |x - T*| <= A^-1 |r|
   * <= this (rounding of the residual aside: estimate_bound_profile takes it as the profile's).
   * Within rounding of the error once the error is the slowest mode (Jacobi's, late). Not for
   * the faces operator. 0 where r = 0; INFINITY where A s has no positive bound. */
  double sine;
};

/* Measure the current iterate of `field`, whose rings must be filled: one read-only pass of
 * the stencil over this rank's tiles that takes every figure (the range, the change, the
 * residual's profile and shape ratio, and its hat-weighted sums in 128-bit fixed point: exact,
 * so their order cannot matter), one MPI_Allreduce of the maxima and one of the sums, and the
 * coarse solve on every rank. The sums need the residual's scale before the pass: `hint`, an
 * agreed guess at max |r| (4 x a sweep change the caller has, e.g. its last check's), is
 * taken up to a power of 2 with 12 bits of room; where it proves wrong (below max |r| or more
 * than 2^24 above it) or is <= 0, a second pass takes the sums at the measured max. The same
 * bits on every decomposition either way. Collective on team->comm; an MPI failure ends every
 * rank (team_abort), as in the loop. Errors: ERR_FAILURE (out of memory), agreed. */
int certify_field_hinted(const struct field *field, const struct team *team,
                         const struct estimate_coarse *coarse, double hint,
                         struct certify_result *out);

/* certify_field_hinted without a hint: two passes where the residual is not 0. */
int certify_field(const struct field *field, const struct team *team,
                  const struct estimate_coarse *coarse, struct certify_result *out);

#endif /* JACOBI_CERTIFY_H */
