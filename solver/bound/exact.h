/* exact.h - sums over the ranks that are the same bits whatever the ranks' number and order: each
 * term quantised to a 128-bit fixed point, the integers added (two's complement, mod 2^128, so
 * every order of the reduction agrees), then scaled back. The certificate's residual sums
 * (certify.c) and the heat flows (plate.c) use it.
 *
 * Not for: sums whose order does not matter (a max: MPI_MAX). Needs GCC's or Clang's __int128.
 */
#ifndef JACOBI_EXACT_H
#define JACOBI_EXACT_H

#include "runtime/team.h"

#include <stdint.h>

__extension__ typedef __int128 exact_wide;

/* The bits of v > 0 (0 for v <= 0). Pure. */
int exact_bits(int64_t v);

/* The fixed point's shift for a sum of `terms` values each of magnitude at most its scale: at
 * most 60 bits, and the sum within 2^125. Pure. */
int exact_shift(int64_t terms);

/* value in units of scale, as a fixed-point integer of `shift` fraction bits (0 for scale 0). */
exact_wide exact_quantise(double value, double scale, int shift);

/* sum[k] = the total over the ranks of local[k], k < n, exactly. Collective on team->comm; an MPI
 * failure ends every rank (team_abort), `what` naming the reduction in the message. */
void exact_allreduce(const struct team *team, const exact_wide *local, exact_wide *sum, int n,
                     const char *what);

/* Exact sums over the ranks of n numbers each: term k of this rank's local[k] is a sum of values
 * each of magnitude at most scale[k] (agreed), quantised with exact_quantise at `shift`; the
 * totals, in scale[k]'s units. Collective on team->comm; an MPI failure ends every rank. */
void exact_sum(const struct team *team, const exact_wide *local, int n, const double *scale,
               int shift, double *totals);

#endif /* JACOBI_EXACT_H */
