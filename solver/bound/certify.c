/* certify.c - the measured distance of an iterate to T*; see certify.h. */
#include "solver/bound/certify.h"

#include "common/err.h"
#include "solver/bound/exact.h"
#include "solver/kernel/operator.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The unit roundoff of double: 2^-53. */
static const double UNIT = DBL_EPSILON / 2;
static const double PI = 3.14159265358979323846;

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

/* ---- the slowest mode's shape (certify.h, `sine`) ----------------------------------------------
 * s(i, j) = a_i b_j with a_i the computed sin(pi i / (ny + 1)) (0 on the ring) and b_j the same
 * across; whatever bits libm gives, s >= 0 and A s is bounded below at every point from these
 * tables alone: A s = b_j da_i + a_i db_j exactly, da_i = 2 a_i - a_(i-1) - a_(i+1), and the
 * computed da_i is within 2u (2 a_i + a_(i-1) + a_(i+1)) of the exact, so da_i less 6u of that
 * sum (room for that subtraction's own rounding) is a lower bound (the cancellation costs bits,
 * log2 n^2 of them: enough up to n ~ 10^7; where it is not positive there is no bound). Pure
 * functions of the grid: the same bits on every rank. */
struct sine_shape {
  double *a, *da; /* rows 0 .. ny + 1 (a) and 1 .. ny (da, lower bounds; index i) */
  double *b, *db; /* columns, the same */
  bool valid;     /* every da and db positive */
  double max;     /* an upper bound on max s */
};

static bool sine_direction(int64_t n, double *a, double *da, double *most) {
  a[0] = a[n + 1] = 0.0;
  for (int64_t i = 1; i <= n; i++)
    a[i] = sin(PI * (double)i / (double)(n + 1));
  bool valid = true;
  *most = 0.0;
  for (int64_t i = 1; i <= n; i++) {
    double sum = 2 * a[i] + a[i - 1] + a[i + 1];
    da[i] = ((2 * a[i] - a[i - 1]) - a[i + 1]) - 6 * UNIT * sum;
    valid = valid && da[i] > 0 && a[i] >= 0;
    *most = a[i] > *most ? a[i] : *most;
  }
  return valid;
}

static int sine_create(const struct field *f, struct sine_shape *s) {
  int64_t ny = f->layout->ny, nx = f->layout->nx;
  *s = (struct sine_shape){0};
  s->a = malloc((size_t)(ny + 2) * sizeof *s->a);
  s->da = malloc((size_t)(ny + 2) * sizeof *s->da);
  s->b = malloc((size_t)(nx + 2) * sizeof *s->b);
  s->db = malloc((size_t)(nx + 2) * sizeof *s->db);
  if (s->a == NULL || s->da == NULL || s->b == NULL || s->db == NULL)
    return err_set(ERR_FAILURE, "out of memory for the error estimate");
  double amax, bmax;
  s->valid = sine_direction(ny, s->a, s->da, &amax) && sine_direction(nx, s->b, s->db, &bmax);
  s->max = amax * bmax * (1 + 2 * UNIT);
  return ERR_OK;
}

static void sine_destroy(struct sine_shape *s) {
  free(s->a);
  free(s->da);
  free(s->b);
  free(s->db);
  *s = (struct sine_shape){0};
}

/* ---- the one pass -------------------------------------------------------------------------- */

/* What one rank's pass finds; the first SUMMARY values are reduced with MPI_MAX, then the
 * profile's D maxima (estimate.h), in one reduction. */
enum { SUMMARY = 7 };
struct pass_figures {
  double not_finite, minus_lo, hi, reach, change, rmax, sine; /* in this order: SUMMARY */
};

/* The hat-weighted sums of one row's residuals into the coarse rows its hat reaches (estimate.h):
 * the row's points go into its own sums first, one per coarse column (each point weighs into
 * two), then the row's sums into the coarse rows: 2 products a point, all exact integers, so no
 * order matters. */
struct row_sums {
  const int *kx;
  const int64_t *wx;
  exact_wide *in_row;
  int k_first, k_last;
};

/* One read-only pass of the stencil over this rank's tiles: the interior's range and whether it
 * is finite, the largest |x| an update reads, the sweep change, the residual's largest value,
 * its profile (profile[d - 1], distance d), the sine shape's ratio max |r| / (A s), and, where
 * acc is not NULL, the hat-weighted sums of the residual quantised to round(r / rmax 2^shift).
 * The change is the sweep's own (sweep.c's order of operations), the residual the certificate's
 * (operator.h), each as before. */
static int one_pass(const struct field *f, const struct estimate_coarse *c,
                    const struct sine_shape *sine, double rmax, int shift, exact_wide *acc,
                    double *profile, struct pass_figures *out) {
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
  double scale = acc != NULL ? ldexp(1.0, shift) / rmax : 0.0;
  bool general = field_general(f), faces = field_faces(f);
  double not_finite = 0.0, lo = INFINITY, hi = -INFINITY, reach = 0.0, change = 0.0, most = 0.0,
         ratio = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    int64_t stride = field_stride(f, t);
    if (tile->ncols == 0 || tile->nrows == 0)
      continue;
    for (int64_t lj = 0; lj < tile->ncols && acc != NULL; lj++)
      estimate_coarse_hat(nx, c->mx, tile->col0 + lj + 1, &kx[2 * lj], &wx[2 * lj]);
    int k_first = acc != NULL ? kx[0] : 0, /* the row's coarse columns */
        k_last = acc != NULL ? kx[2 * (tile->ncols - 1) + 1] : -1;
    const double *first = field_interior(f, f->current, t);
    for (int64_t lj = 0; lj < tile->ncols; lj++) { /* the rings above and below: read too */
      double up = fabs(first[lj - stride]), down = fabs(first[tile->nrows * stride + lj]);
      reach = up > reach ? up : reach;
      reach = down > reach ? down : reach;
    }
    for (int64_t li = 0; li < tile->nrows; li++) {
      int ky[2] = {0, 0};
      int64_t wy[2] = {0, 0};
      if (acc != NULL)
        estimate_coarse_hat(ny, c->my, tile->row0 + li + 1, ky, wy);
      const double *mid = first + li * stride;
      int64_t row = f->tile_offset[t] + (li + f->depth) * stride + f->depth;
      int64_t gi = tile->row0 + li;
      const double *cb = sine->b + tile->col0 + 1, *cdb = sine->db + tile->col0 + 1;
      double ra = sine->a[gi + 1], rda = sine->da[gi + 1];
      for (int k = k_first; k <= k_last && acc != NULL; k++)
        in_row[k] = 0;
      double west = fabs(mid[-1]), east = fabs(mid[tile->ncols]);
      reach = west > reach ? west : reach;
      reach = east > reach ? east : reach;
      for (int64_t lj = 0; lj < tile->ncols; lj++) {
        double x = mid[lj];
        not_finite = isfinite(x) ? not_finite : 1.0;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        reach = fabs(x) > reach ? fabs(x) : reach;
        double n = mid[lj - stride], s = mid[lj + stride], w = mid[lj - 1], e = mid[lj + 1];
        double r, d;
        if (faces) { /* 4 (u - x), u the faces update: the Laplace residual's units (K) */
          double u = faces_update(f, row + lj, n, s, w, e);
          d = fabs(u - x);
          r = 4 * (u - x);
        } else if (general) { /* 4 (u - x), u the general update: 0 at a fixed point */
          double u = OP_GENERAL(f->coef[row + lj], OP_LAPLACE(n, s, w, e), f->rhs[row + lj]);
          d = fabs(u - x);
          r = 4 * (u - x);
        } else {
          d = fabs(OP_LAPLACE(n, s, w, e) - x);
          r = OP_LAPLACE_RESIDUAL(n, s, w, e, x);
        }
        change = d > change ? d : change;
        double size = fabs(r);
        most = size > most ? size : most;
        int64_t dist = estimate_profile_distance(nx, ny, gi, tile->col0 + lj);
        profile[dist - 1] = size > profile[dist - 1] ? size : profile[dist - 1];
        double q_ratio = size / (cb[lj] * rda + ra * cdb[lj]); /* A s >= this denominator */
        ratio = q_ratio > ratio ? q_ratio : ratio;
        if (acc != NULL) {
          int64_t q = quantise(r * scale); /* |r| <= rmax up to rounding: within 2^shift + 1 */
          in_row[kx[2 * lj]] += (exact_wide)wx[2 * lj] * q;
          in_row[kx[2 * lj + 1]] += (exact_wide)wx[2 * lj + 1] * q;
        }
      }
      for (int a = 0; a < 2 && acc != NULL; a++) {
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
  *out = (struct pass_figures){.not_finite = not_finite,
                               .minus_lo = -lo,
                               .hi = hi,
                               .reach = reach,
                               .change = change,
                               .rmax = most,
                               .sine = ratio};
  return ERR_OK;
}

/* The fixed point's fraction bits: every term |w q| <= (ny + 1)(nx + 1) 2^shift, and each
 * direction's hats sum to at most (n + 1)^2 over the grid: 2^(shift + 2 bits(ny + 1) + 2 bits(nx
 * + 1)) < 2^127. */
static int sums_shift(const struct field *f) {
  int shift = 125 - 2 * exact_bits(f->layout->ny + 1) - 2 * exact_bits(f->layout->nx + 1);
  return shift > 60 ? 60 : shift;
}

/* A hinted scale is used if the residual's agreed max lies within [2^-HINT_BITS, 1] of it: the
 * quantised residual then keeps at least 60 - HINT_BITS - HINT_ROOM bits of its max. */
enum { HINT_ROOM = 12, HINT_BITS = 24 };

int certify_field(const struct field *f, const struct team *team, const struct estimate_coarse *c,
                  struct certify_result *out) {
  return certify_field_hinted(f, team, c, 0.0, out);
}

int certify_field_hinted(const struct field *f, const struct team *team,
                         const struct estimate_coarse *c, double hint, struct certify_result *out) {
  *out = (struct certify_result){0};
  size_t cells = (size_t)c->my * (size_t)c->mx;
  int64_t depth = estimate_profile_depth(f->layout->nx, f->layout->ny);
  exact_wide *local = calloc(cells, sizeof *local), *sum = calloc(cells, sizeof *sum);
  double *rc_sums = calloc(cells, sizeof *rc_sums);
  double *mine = calloc((size_t)(SUMMARY + depth), sizeof *mine);
  double *agreed = calloc((size_t)(SUMMARY + depth), sizeof *agreed);
  struct sine_shape sine = {0};
  int status = local != NULL && sum != NULL && rc_sums != NULL && mine != NULL && agreed != NULL
                   ? sine_create(f, &sine)
                   : err_set(ERR_FAILURE, "out of memory for the error estimate");
  int shift = sums_shift(f);
  /* The scale of the quantised residual: from the caller's hint where it has one (rounded up to
   * a power of 2 with HINT_ROOM bits of room), so that one pass does everything; checked after. */
  double guess = hint > 0 && isfinite(hint) ? ldexp(1.0, ilogb(hint) + 1 + HINT_ROOM) : 0.0;
  struct pass_figures figures = {0};
  if (status == ERR_OK)
    status =
        one_pass(f, c, &sine, guess, shift, guess > 0 ? local : NULL, mine + SUMMARY, &figures);
  status = team_agree(team, status);
  if (status == ERR_OK) {
    memcpy(mine, &figures, sizeof figures);
    /* One reduction of every max: the same whatever the decomposition. */
    int rc = MPI_Allreduce(mine, agreed, (int)(SUMMARY + depth), MPI_DOUBLE, MPI_MAX, team->comm);
    if (rc != MPI_SUCCESS)
      team_abort(team, team_mpi_error(rc, "MPI_Allreduce (certificate)"));
    memcpy(&figures, agreed, sizeof figures);
    out->lo = -figures.minus_lo;
    out->hi = figures.hi;
    out->reach = figures.reach;
    out->change = figures.change;
    /* A point that is not finite certifies nothing, and the change would not show it: a max
     * drops a NaN. The configuration keeps every value finite (docs/numerics.md, "The field
     * stays finite"); this says so if something it did not foresee does. */
    if (figures.not_finite != 0.0)
      status = err_set(ERR_FAILURE, "the field is not finite at some point (NaN or infinity): "
                                    "there is nothing to certify");
  }
  double rmax = figures.rmax;
  bool residual = status == ERR_OK && rmax > 0 && isfinite(rmax);
  if (residual) {
    /* A hint that was no good (none, below the residual or far above it): a second pass with
     * the agreed max as the scale (the pass's other figures are the same bits again). */
    bool hinted = guess > 0 && rmax <= guess && rmax >= ldexp(guess, -HINT_BITS);
    if (!hinted) {
      memset(local, 0, cells * sizeof *local);
      memset(mine + SUMMARY, 0, (size_t)depth * sizeof *mine);
      guess = rmax;
      struct pass_figures again;
      status = team_agree(team, one_pass(f, c, &sine, guess, shift, local, mine + SUMMARY, &again));
    }
  }
  if (residual && status == ERR_OK) {
    struct estimate_model plain;
    estimate_init(&plain, f->layout->nx, f->layout->ny, 0.0, false);
    out->profile = estimate_profile(agreed + SUMMARY, depth, plain.inverse_norm);
    /* max |r| / (A s) over the points, the division's rounding and that of A s's computed
     * lower bound (3 operations) taken up, times max s: A^-1 |r| <= that (certify.h) */
    out->sine = sine.valid ? figures.sine * (1 + 8 * UNIT) * sine.max * (1 + 2 * UNIT) : INFINITY;
    exact_allreduce(team, local, sum, (int)cells, "MPI_Allreduce (error estimate)");
    /* back to the residual's units: / 2^shift * scale, and the hats' integer weights / (n + 1) */
    double unit =
        guess / ldexp(1.0, shift) / ((double)(f->layout->ny + 1) * (double)(f->layout->nx + 1));
    for (size_t k = 0; k < cells; k++)
      rc_sums[k] = (double)sum[k] * unit;
    out->estimate = estimate_coarse_error(c, rc_sums);
    if (isnan(out->estimate) || isnan(out->profile))
      status = err_set(ERR_FAILURE, "out of memory for the error estimate");
    status = team_agree(team, status);
  }
  sine_destroy(&sine);
  free(agreed);
  free(mine);
  free(rc_sums);
  free(sum);
  free(local);
  return status;
}
