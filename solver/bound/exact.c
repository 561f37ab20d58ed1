/* exact.c - sums that do not depend on the order of their terms; see exact.h. */
#include "solver/bound/exact.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 exact_uwide;

/* MPI_SUM for exact_wide, as two's complement addition (mod 2^128): exact, so every order of
 * the reduction gives the same bits. */
static void add_wide(void *in, void *inout, int *len, MPI_Datatype *type) {
  (void)type;
  for (int k = 0; k < *len; k++) {
    exact_uwide a, b;
    memcpy(&a, (char *)in + (size_t)k * sizeof a, sizeof a);
    memcpy(&b, (char *)inout + (size_t)k * sizeof b, sizeof b);
    b += a;
    memcpy((char *)inout + (size_t)k * sizeof b, &b, sizeof b);
  }
}

int exact_bits(int64_t v) {
  int b = 0;
  while (v > 0) {
    b++;
    v >>= 1;
  }
  return b;
}

int exact_shift(int64_t terms) {
  int shift = 125 - exact_bits(terms);
  return shift > 60 ? 60 : shift;
}

exact_wide exact_quantise(double value, double scale, int shift) {
  return scale > 0 ? (exact_wide)llround(value / scale * ldexp(1.0, shift)) : 0;
}

void exact_allreduce(const struct team *team, const exact_wide *local, exact_wide *sum, int n,
                     const char *what) {
  MPI_Datatype type;
  MPI_Op op;
  if (MPI_Type_contiguous((int)sizeof(exact_wide), MPI_BYTE, &type) != MPI_SUCCESS ||
      MPI_Type_commit(&type) != MPI_SUCCESS || MPI_Op_create(add_wide, 1, &op) != MPI_SUCCESS)
    team_abort(team, team_mpi_error(MPI_ERR_OTHER, "creating the 128-bit sum"));
  int rc = MPI_Allreduce(local, sum, n, type, op, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, what));
  MPI_Op_free(&op);
  MPI_Type_free(&type);
}

void exact_sum(const struct team *team, const exact_wide *local, int n, const double *scale,
               int shift, double *totals) {
  exact_wide *sum = calloc(n > 0 ? (size_t)n : 1, sizeof *sum);
  if (sum == NULL)
    team_abort(team, team_mpi_error(MPI_ERR_OTHER, "creating the 128-bit sum"));
  exact_allreduce(team, local, sum, n, "MPI_Allreduce (exact sum)");
  for (int k = 0; k < n; k++)
    totals[k] = ldexp((double)sum[k], -shift) * scale[k]; /* |sum| <= 2^shift terms: no overflow */
  free(sum);
}
