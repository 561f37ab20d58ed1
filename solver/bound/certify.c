/* certify.c - the measured distance of an iterate to T*; see certify.h. */
#include "solver/bound/certify.h"

#include "common/err.h"
#include "solver/bound/exact.h"
#include "solver/kernel/operator.h"
#include "solver/kernel/sweep.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* round(v) for |v| < 2^62, half away from 0, inlined (llround is a call per point: it was most
 * of the certificate's time). Where v + 0.5 is inexact (|v| >= 2^52, already an integer or a
 * half) it may land one unit off; either way every rank quantises a point the same way. */
static inline int64_t quantise(double v) { return (int64_t)(v + (v >= 0 ? 0.5 : -0.5)); }

/* The faces update of the point at offset o (field.h), from its neighbours' values. */
static inline double faces_update(const struct field *f, int64_t o, double n, double s, double w,
                                  double e) {
  return OP_FACES_UPDATE(OP_FACES(f->cond[DECOMP_NORTH][o], n, f->cond[DECOMP_SOUTH][o], s,
                                  f->cond[DECOMP_WEST][o], w, f->cond[DECOMP_EAST][o], e),
                         f->load[o], f->diag[o]);
}

/* max |u - x| over this rank's points for the faces update u (the faces sweep's change). */
static double faces_change(const struct field *f) {
  double most = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t stride = field_stride(f, t);
    for (int64_t li = 0; li < f->tiles[t].nrows; li++) {
      const double *mid = field_interior(f, f->current, t) + li * stride;
      int64_t row = f->tile_offset[t] + (li + f->depth) * stride + f->depth;
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        double d = fabs(faces_update(f, row + lj, mid[lj - stride], mid[lj + stride], mid[lj - 1],
                                     mid[lj + 1]) -
                        mid[lj]);
        most = d > most ? d : most;
      }
    }
  }
  return most;
}

/* This rank's hat-weighted sums of the residual, each point's residual quantised to
 * round(r / rmax 2^shift); and the largest |r| at each distance to the ring (estimate.h,
 * profile[d - 1] for distance d), in the same pass. A row's points go into its own sums first,
 * one per coarse column (each point weighs into two), and the row's sums into the coarse rows
 * its hat reaches: 2 products a point where there were 4, all exact integers, so no order
 * matters. */
static int weighted_sums(const struct field *f, const struct estimate_coarse *c, double rmax,
                         int shift, exact_wide *acc, double *profile) {
  const int64_t ny = f->layout->ny, nx = f->layout->nx;
  int64_t widest = 0;
  for (int64_t t = 0; t < f->ntiles; t++)
    widest = f->tiles[t].ncols > widest ? f->tiles[t].ncols : widest;
  int *kx = malloc((size_t)(2 * widest + 2) * sizeof *kx);
  int64_t *wx = malloc((size_t)(2 * widest + 2) * sizeof *wx);
  exact_wide *in_row = calloc((size_t)c->mx + 2, sizeof *in_row); /* k = 0 .. mx + 1 */
  if (kx == NULL || wx == NULL || in_row == NULL) {
    free(in_row);
    free(wx);
    free(kx);
    return err_set(ERR_FAILURE, "out of memory for the error estimate");
  }
  double scale = ldexp(1.0, shift) / rmax;
  bool general = field_general(f), faces = field_faces(f);
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    int64_t stride = field_stride(f, t);
    if (tile->ncols == 0)
      continue;
    for (int64_t lj = 0; lj < tile->ncols; lj++)
      estimate_coarse_hat(nx, c->mx, tile->col0 + lj + 1, &kx[2 * lj], &wx[2 * lj]);
    int k_first = kx[0], k_last = kx[2 * (tile->ncols - 1) + 1]; /* the row's coarse columns */
    for (int64_t li = 0; li < tile->nrows; li++) {
      int ky[2];
      int64_t wy[2];
      estimate_coarse_hat(ny, c->my, tile->row0 + li + 1, ky, wy);
      const double *mid = field_interior(f, f->current, t) + li * stride;
      int64_t row = f->tile_offset[t] + (li + f->depth) * stride + f->depth;
      int64_t gi = tile->row0 + li;
      for (int k = k_first; k <= k_last; k++)
        in_row[k] = 0;
      for (int64_t lj = 0; lj < tile->ncols; lj++) {
        int64_t d = estimate_profile_distance(nx, ny, gi, tile->col0 + lj);
        double n = mid[lj - stride], s = mid[lj + stride], w = mid[lj - 1], e = mid[lj + 1];
        double r = OP_LAPLACE_RESIDUAL(n, s, w, e, mid[lj]);
        if (faces) /* 4 (u - x), u the faces update: the Laplace residual's units (K) */
          r = 4 * (faces_update(f, row + lj, n, s, w, e) - mid[lj]);
        else if (general) /* 4 (u - x), u the general update: 0 at a fixed point */
          r = 4 *
              (OP_GENERAL(f->coef[row + lj], OP_LAPLACE(n, s, w, e), f->rhs[row + lj]) - mid[lj]);
        profile[d - 1] = fabs(r) > profile[d - 1] ? fabs(r) : profile[d - 1];
        int64_t q = quantise(r * scale); /* |r| <= rmax up to rounding: within 2^shift + 1 */
        in_row[kx[2 * lj]] += (exact_wide)wx[2 * lj] * q;
        in_row[kx[2 * lj + 1]] += (exact_wide)wx[2 * lj + 1] * q;
      }
      for (int a = 0; a < 2; a++) {
        if (wy[a] == 0)
          continue;
        exact_wide *coarse_row = acc + (ky[a] - 1) * c->mx;
        for (int k = k_first > 1 ? k_first : 1; k <= k_last && k <= c->mx; k++)
          coarse_row[k - 1] += (exact_wide)wy[a] * in_row[k];
      }
    }
  }
  free(in_row);
  free(wx);
  free(kx);
  return ERR_OK;
}

int certify_field(const struct field *f, const struct team *team, const struct estimate_coarse *c,
                  struct certify_result *out) {
  *out = (struct certify_result){0};
  double mine = 0.0;
  /* A point that is not finite certifies nothing, and the change would not show it: a max
   * (the sweep's, and this one's) drops a NaN. The configuration keeps every value finite
   * (docs/numerics.md, "The field stays finite"); this says so if something it did not foresee
   * does. */
  /* The same pass takes the interior's range (estimate_cap): one reduction of the three. */
  double not_finite = 0.0, lo = INFINITY, hi = -INFINITY;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t stride = field_stride(f, t);
    const double *row = field_interior(f, f->current, t);
    for (int64_t li = 0; li < f->tiles[t].nrows; li++, row += stride)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        not_finite = isfinite(row[lj]) ? not_finite : 1.0;
        lo = row[lj] < lo ? row[lj] : lo;
        hi = row[lj] > hi ? row[lj] : hi;
      }
  }
  double reach = 0.0; /* the rings too: what an update reads */
  for (int64_t t = 0; t < f->ntiles; t++) {
    const double *tile = field_tile(f, f->current, t);
    int64_t len = (f->tiles[t].nrows + 2 * f->depth) * field_stride(f, t);
    for (int64_t k = 0; k < len; k++)
      reach = fabs(tile[k]) > reach ? fabs(tile[k]) : reach;
  }
  double mine_range[4] = {not_finite, -lo, hi, reach}, agreed[4];
  int rc = MPI_Allreduce(mine_range, agreed, 4, MPI_DOUBLE, MPI_MAX, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Allreduce (certificate)"));
  bool anywhere = agreed[0] != 0.0;
  out->lo = -agreed[1];
  out->hi = agreed[2];
  out->reach = agreed[3];
  if (anywhere)
    return team_agree(team, err_set(ERR_FAILURE, "the field is not finite at some point (NaN "
                                                 "or infinity): there is nothing to certify"));
  for (int64_t t = 0; t < f->ntiles && !field_faces(f); t++) {
    int64_t stride = field_stride(f, t);
    int64_t corner = f->tile_offset[t] + (f->depth - 1) * stride + f->depth - 1;
    double d = sweep_tile_change_general(
        field_interior(f, f->current, t) - stride - 1, field_general(f) ? f->coef + corner : NULL,
        field_general(f) ? f->rhs + corner : NULL, f->tiles[t].nrows, f->tiles[t].ncols, stride);
    mine = d > mine ? d : mine;
  }
  if (field_faces(f))
    mine = faces_change(f);
  rc = MPI_Allreduce(&mine, &out->change, 1, MPI_DOUBLE, MPI_MAX, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Allreduce (certificate)"));
  /* The residual r = (sum of the four neighbours) - 4 x, at most 4 change in magnitude (a
   * little more, by rounding: the shift leaves a bit of room). */
  double rmax = 4 * out->change * (1 + 1e-12);
  if (!(rmax > 0) || !isfinite(rmax))
    return team_agree(team, ERR_OK); /* x is T* (or not finite: the loop says so) */
  size_t cells = (size_t)c->my * (size_t)c->mx;
  int64_t depth = estimate_profile_depth(f->layout->nx, f->layout->ny);
  exact_wide *local = calloc(cells, sizeof *local), *sum = calloc(cells, sizeof *sum);
  double *rc_sums = calloc(cells, sizeof *rc_sums);
  double *profile = calloc((size_t)(2 * depth), sizeof *profile);
  int status = local != NULL && sum != NULL && rc_sums != NULL && profile != NULL
                   ? ERR_OK
                   : err_set(ERR_FAILURE, "out of memory for the error estimate");
  /* every term |w q| <= (ny + 1)(nx + 1) 2^shift, and each direction's hats sum to at most
   * (n + 1)^2 over the grid: 2^(shift + 2 bits(ny + 1) + 2 bits(nx + 1)) < 2^127 */
  int shift = 125 - 2 * exact_bits(f->layout->ny + 1) - 2 * exact_bits(f->layout->nx + 1);
  shift = shift > 60 ? 60 : shift;
  if (status == ERR_OK)
    status = weighted_sums(f, c, rmax, shift, local, profile);
  status = team_agree(team, status);
  if (status == ERR_OK) {
    /* the profile's maxima, agreed (a max: the same whatever the decomposition) */
    rc = MPI_Allreduce(profile, profile + depth, (int)depth, MPI_DOUBLE, MPI_MAX, team->comm);
    if (rc != MPI_SUCCESS)
      team_abort(team, team_mpi_error(rc, "MPI_Allreduce (residual profile)"));
    struct estimate_model plain;
    estimate_init(&plain, f->layout->nx, f->layout->ny, 0.0, false);
    out->profile = estimate_profile(profile + depth, depth, plain.inverse_norm);
    exact_allreduce(team, local, sum, (int)cells, "MPI_Allreduce (error estimate)");
    /* back to the residual's units: / 2^shift * rmax, and the hats' integer weights / (n + 1) */
    double unit =
        rmax / ldexp(1.0, shift) / ((double)(f->layout->ny + 1) * (double)(f->layout->nx + 1));
    for (size_t k = 0; k < cells; k++)
      rc_sums[k] = (double)sum[k] * unit;
    out->estimate = estimate_coarse_error(c, rc_sums);
    if (isnan(out->estimate) || isnan(out->profile))
      status = err_set(ERR_FAILURE, "out of memory for the error estimate");
    status = team_agree(team, status);
  }
  free(profile);
  free(rc_sums);
  free(sum);
  free(local);
  return status;
}
