/* comparison.c - ||A^-1||inf for the faces operator; see comparison.h. */
#include "solver/bound/comparison.h"

#include "common/err.h"
#include "solver/kernel/operator.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double UNIT = DBL_EPSILON / 2;

/* The offset of interior point (li, lj) of tile t in a buffer (and in the operator's arrays). */
static int64_t at(const struct field *f, int64_t t, int64_t li, int64_t lj) {
  return f->tile_offset[t] + (li + f->depth) * field_stride(f, t) + f->depth + lj;
}

void comparison_dominance(const struct field *f, const struct team *team,
                          struct comparison_bound *out) {
  double least = INFINITY, diag_max = 0.0, load_scale = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++)
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        int64_t o = at(f, t, li, lj);
        double sum = (f->cond[DECOMP_NORTH][o] + f->cond[DECOMP_SOUTH][o]) +
                     (f->cond[DECOMP_WEST][o] + f->cond[DECOMP_EAST][o]);
        /* the sum and the difference round by at most 4u of diag + sum: take that off */
        double excess = (f->diag[o] - sum) - 4 * UNIT * (f->diag[o] + sum);
        least = excess < least ? excess : least;
        diag_max = f->diag[o] > diag_max ? f->diag[o] : diag_max;
        double scale = fabs(f->load[o]) / f->diag[o];
        load_scale = scale > load_scale ? scale : load_scale;
      }
  double mine[3] = {least, -diag_max, -load_scale}, all[3];
  int rc = MPI_Allreduce(mine, all, 3, MPI_DOUBLE, MPI_MIN, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Allreduce (diagonal dominance)"));
  out->dominance = all[0] > 0 ? 1.0 / all[0] * (1 + 2 * UNIT) : INFINITY;
  out->diag_max = -all[1];
  out->load_scale = -all[2] * (1 + 2 * UNIT);
}

int64_t comparison_sweeps(int64_t nx, int64_t ny) {
  double longest = (double)(nx > ny ? nx : ny) + 1, points = (double)nx * (double)ny;
  double want = 4 * longest * longest, most = 1e8 / points;
  double sweeps = want < most ? want : most;
  return sweeps >= 1 ? (int64_t)sweeps : 1;
}

void comparison_check(const struct field *f, int buf, const struct team *team,
                      struct comparison_bound *out) {
  double least = INFINITY, w_min = INFINITY, w_max = 0.0;
  const double *w = f->base + (int64_t)buf * f->buffer_len;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t stride = field_stride(f, t);
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        int64_t o = at(f, t, li, lj);
        double sum = OP_FACES(f->cond[DECOMP_NORTH][o], w[o - stride], f->cond[DECOMP_SOUTH][o],
                              w[o + stride], f->cond[DECOMP_WEST][o], w[o - 1],
                              f->cond[DECOMP_EAST][o], w[o + 1]);
        double centre = f->diag[o] * w[o];
        /* A w at o is centre - sum, every product and sum of non-negative terms rounding by a
         * unit of its size: at most 6u (centre + sum) in all, taken off (w >= 0, checked) */
        double aw = (centre - sum) - 6 * UNIT * (centre + sum);
        least = aw < least ? aw : least;
        w_min = w[o] < w_min ? w[o] : w_min;
        w_max = w[o] > w_max ? w[o] : w_max;
      }
  }
  double mine[3] = {least, w_min, -w_max}, all[3];
  int rc = MPI_Allreduce(mine, all, 3, MPI_DOUBLE, MPI_MIN, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Allreduce (comparison function)"));
  out->c = all[0];
  out->w_max = -all[2];
  bool usable = all[1] >= 0 && out->c > 0 && isfinite(out->w_max);
  out->comparison = usable ? out->w_max / out->c * (1 + 2 * UNIT) : INFINITY;
}

/* One Jacobi sweep of A w = 1 from buffer `from` into `to` (rings of `from` filled). */
static void sweep_ones(struct field *f, int from, int to) {
  const double *in = f->base + (int64_t)from * f->buffer_len;
  double *out = f->base + (int64_t)to * f->buffer_len;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t stride = field_stride(f, t);
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        int64_t o = at(f, t, li, lj);
        double sum = OP_FACES(f->cond[DECOMP_NORTH][o], in[o - stride], f->cond[DECOMP_SOUTH][o],
                              in[o + stride], f->cond[DECOMP_WEST][o], in[o - 1],
                              f->cond[DECOMP_EAST][o], in[o + 1]);
        out[o] = OP_FACES_UPDATE(sum, 1.0, f->diag[o]);
      }
  }
}

int comparison_bound(struct field *f, struct halo *halo, const struct team *team, int64_t sweeps,
                     struct comparison_bound *out) {
  *out = (struct comparison_bound){INFINITY, 0.0, 0.0, INFINITY, INFINITY, 0.0, 0.0};
  size_t bytes = 2 * (size_t)f->buffer_len * sizeof(double);
  double *saved = malloc(bytes);
  CHECK(team_agree(team, saved != NULL ? ERR_OK
                                       : err_set(ERR_FAILURE, "out of memory for the "
                                                              "comparison function")));
  comparison_dominance(f, team, out);
  if (bytes > 0) /* a rank that owns no tile may have no window memory at all */
    memcpy(saved, f->base, bytes);
  /* w = 0 everywhere, the grid's ring included (the ring's values belong to the right-hand
   * side, not to A); the ranks' buffers are one shared window, so all zero theirs before any
   * exchange reads them (the exchange orders its reads after its own synchronisation). */
  if (bytes > 0)
    memset(f->base, 0, bytes);
  int status = ERR_OK, buf = 0;
  MPI_Barrier(team->comm);
  for (int64_t k = 0; k < sweeps && status == ERR_OK; k++) {
    sweep_ones(f, buf, 1 - buf);
    buf = 1 - buf;
    status = halo_exchange(halo, buf);
  }
  status = team_agree(team, status);
  if (status == ERR_OK && sweeps == 0)
    status = team_agree(team, halo_exchange(halo, buf));
  if (status == ERR_OK)
    comparison_check(f, buf, team, out);
  MPI_Barrier(team->comm);
  if (bytes > 0)
    memcpy(f->base, saved, bytes);
  MPI_Barrier(team->comm);
  free(saved);
  out->inverse_norm = out->comparison < out->dominance ? out->comparison : out->dominance;
  return status;
}
