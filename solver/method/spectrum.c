/* spectrum.c - the Jacobi spectral radius of a faces field by Lanczos; see spectrum.h. */
#include "solver/method/spectrum.h"

#include "common/err.h"
#include "solver/bound/exact.h"
#include "solver/kernel/operator.h"
#include "solver/method/method.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

/* What the iteration carries: three vectors laid out as a field buffer (interior points only
 * are meaningful; v is copied into the exchange buffer for each product). */
struct lanczos {
  struct field *f;
  struct halo *halo;
  const struct team *team;
  int buf;              /* the field buffer that carries v's rings */
  double *v, *w, *prev; /* private, buffer_len each */
  int shift;            /* of the exact sums: every interior point a term */
};

/* The exact total over the ranks of this rank's quantised terms, in units of `scale`. */
static double exact_total(const struct lanczos *l, exact_wide local, double scale) {
  double total = 0.0;
  exact_sum(l->team, &local, 1, &scale, l->shift, &total);
  return total;
}

/* A term of magnitude at most `scale`, in units of scale 2^-shift, truncated to an integer
 * (factor = 2^shift / scale): exact_quantise's fixed point without its library calls per term
 * (llround, ldexp: they made a Lanczos step cost a dozen sweeps). The same function of the term
 * on every rank, so the integers' sum is the same whichever rank holds which point. */
static inline exact_wide quantised(double term, double factor) {
  return (exact_wide)(int64_t)(term * factor);
}

/* sum over the grid of diag v^2, exactly, for a vector of any size (the start): its largest
 * term agreed first, the scale of the fixed point. */
static double norm2_d(const struct lanczos *l, const double *v) {
  const struct field *f = l->f;
  double local_max = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t s = field_stride(f, t), first = f->tile_offset[t] + f->depth * s + f->depth;
    for (int64_t i = 0; i < f->tiles[t].nrows; i++)
      for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
        int64_t p = first + i * s + j;
        local_max = fmax(local_max, f->diag[p] * v[p] * v[p]);
      }
  }
  double scale = 0.0;
  int rc = MPI_Allreduce(&local_max, &scale, 1, MPI_DOUBLE, MPI_MAX, l->team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(l->team, team_mpi_error(rc, "MPI_Allreduce (spectrum)"));
  double factor = scale > 0.0 ? ldexp(1.0, l->shift) / scale : 0.0;
  exact_wide sum = 0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t s = field_stride(f, t), first = f->tile_offset[t] + f->depth * s + f->depth;
    for (int64_t i = 0; i < f->tiles[t].nrows; i++)
      for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
        int64_t p = first + i * s + j;
        sum += quantised(f->diag[p] * v[p] * v[p], factor);
      }
  }
  return exact_total(l, sum, scale);
}

/* Every rank past this point has finished its loads from the node neighbours' buffers and sees
 * their stores: MPI_Win_sync orders this process's loads and stores with the window's (halo.c),
 * the barrier orders the processes. The exchange buffer is written once every step, where the
 * loop's sweeps alternate two (halo.c's write-after-read argument needs the alternation), so
 * each write waits for this. */
static void node_quiet(const struct lanczos *l) {
  int rc = MPI_Win_sync(l->f->win);
  if (rc == MPI_SUCCESS)
    rc = MPI_Barrier(l->team->comm);
  if (rc == MPI_SUCCESS)
    rc = MPI_Win_sync(l->f->win);
  if (rc != MPI_SUCCESS)
    team_abort(l->team, team_mpi_error(rc, "MPI_Barrier (spectrum)"));
}

/* One Lanczos step, three passes over the points: v = w / norm (into v and the exchange
 * buffer), w = J v (operator.h's update with no load: the ring beyond the grid's edges is 0, the
 * homogeneous operator; the rings between tiles exchanged) with alpha = <w, v>_D, then
 * w -= alpha v + beta_prev prev with beta^2 = <w, w>_D. With ||v||_D = 1 every term of either
 * sum is at most 1 in magnitude (diag_p a_p b_p <= ||a||_D ||b||_D, and ||J v||_D <= rho ||v||_D
 * <= 1 in the D norm, in which J is self-adjoint): the fixed point's scale is 1, known before
 * the pass, so no maximum is agreed first. */
static void lanczos_step(struct lanczos *l, double norm, double beta_prev, double *alpha,
                         double *beta) {
  struct field *f = l->f;
  double *carrier = f->base + (int64_t)l->buf * f->buffer_len;
  double factor = ldexp(1.0, l->shift);
  node_quiet(l);
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t s = field_stride(f, t), first = f->tile_offset[t] + f->depth * s + f->depth;
    for (int64_t i = 0; i < f->tiles[t].nrows; i++)
      for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
        int64_t p = first + i * s + j;
        carrier[p] = l->v[p] = l->w[p] / norm;
      }
  }
  method_exchange(halo_exchange, l->halo, l->team, l->buf);
  exact_wide sum = 0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t s = field_stride(f, t), first = f->tile_offset[t] + f->depth * s + f->depth;
    for (int64_t i = 0; i < f->tiles[t].nrows; i++)
      for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
        int64_t p = first + i * s + j;
        double jv = OP_FACES_UPDATE(OP_FACES(f->cond[DECOMP_NORTH][p], carrier[p - s],
                                             f->cond[DECOMP_SOUTH][p], carrier[p + s],
                                             f->cond[DECOMP_WEST][p], carrier[p - 1],
                                             f->cond[DECOMP_EAST][p], carrier[p + 1]),
                                    0.0, f->diag[p]);
        l->w[p] = jv;
        sum += quantised(f->diag[p] * jv * l->v[p], factor);
      }
  }
  double a = exact_total(l, sum, 1.0);
  sum = 0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t s = field_stride(f, t), first = f->tile_offset[t] + f->depth * s + f->depth;
    for (int64_t i = 0; i < f->tiles[t].nrows; i++)
      for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
        int64_t p = first + i * s + j;
        double w = (l->w[p] - a * l->v[p]) - beta_prev * l->prev[p];
        l->w[p] = w;
        sum += quantised(f->diag[p] * w * w, factor);
      }
  }
  *alpha = a;
  *beta = sqrt(fmax(exact_total(l, sum, 1.0), 0.0));
}

/* Eigenvalues of T_k (alpha[0..k-1] on the diagonal, beta[0..k-2] beside it) below x: the
 * Sturm count of the LDL^T pivots. */
static int64_t count_below(const double *alpha, const double *beta, int64_t k, double x) {
  int64_t count = 0;
  double d = 1.0;
  for (int64_t i = 0; i < k; i++) {
    double b2 = i > 0 ? beta[i - 1] * beta[i - 1] : 0.0;
    d = (alpha[i] - x) - (i > 0 ? b2 / d : 0.0);
    if (d == 0.0)
      d = -1e-300; /* a pivot exactly 0: nudged, as LAPACK's dstebz does */
    count += d < 0.0;
  }
  return count;
}

/* The largest eigenvalue of T_k, by bisection in [-1, 1] (J's spectrum lies there). */
static double top_ritz(const double *alpha, const double *beta, int64_t k) {
  double lo = -1.0, hi = 1.0;
  for (int it = 0; it < 100 && hi - lo > 0.0; it++) {
    double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi)
      break;
    if (count_below(alpha, beta, k, mid) < k)
      lo = mid; /* the top eigenvalue lies above mid */
    else
      hi = mid;
  }
  return hi;
}

/* |last component| of the normalised eigenvector of T_k for theta: inverse iteration, twice,
 * from the ones vector (tridiagonal solves, no pivoting: theta is the top eigenvalue nudged up,
 * so T - theta I is negative definite and the elimination is stable). */
static double last_component(const double *alpha, const double *beta, int64_t k, double theta,
                             double *work) {
  double shift = theta + 1e-12 * (1.0 + fabs(theta));
  double *y = work, *c = work + k;
  for (int64_t i = 0; i < k; i++)
    y[i] = 1.0;
  for (int round = 0; round < 2; round++) {
    /* (T - shift) x = y: Thomas algorithm, in place */
    double denom = alpha[0] - shift;
    c[0] = k > 1 ? beta[0] / denom : 0.0;
    y[0] = y[0] / denom;
    for (int64_t i = 1; i < k; i++) {
      denom = (alpha[i] - shift) - beta[i - 1] * c[i - 1];
      c[i] = i < k - 1 ? beta[i] / denom : 0.0;
      y[i] = (y[i] - beta[i - 1] * y[i - 1]) / denom;
    }
    for (int64_t i = k - 2; i >= 0; i--)
      y[i] -= c[i] * y[i + 1];
    double norm = 0.0;
    for (int64_t i = 0; i < k; i++)
      norm = fmax(norm, fabs(y[i]));
    for (int64_t i = 0; i < k; i++)
      y[i] /= norm;
  }
  double norm2 = 0.0;
  for (int64_t i = 0; i < k; i++)
    norm2 += y[i] * y[i];
  return fabs(y[k - 1]) / sqrt(norm2);
}

/* Check the top Ritz pair every few steps: each check costs O(k) beside the step's O(grid). */
enum { CHECK_EVERY = 4, MIN_STEPS = 8 };
/* The Ritz pair has converged when its residual is under this fraction of the gap 1 - theta. */
static const double GAP_FRACTION = 0.02;

static double lanczos_run(struct lanczos *l, double *alpha, double *beta, double *work,
                          int64_t *steps) {
  struct field *f = l->f;
  /* The start, in w (the step divides it by its norm into v): 1 at every point with a
   * conductance, 0 at a held or isolated one (J's row there is 0, so the Krylov space stays
   * among the free points, where J is D-self-adjoint); prev 0. */
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t s = field_stride(f, t), first = f->tile_offset[t] + f->depth * s + f->depth;
    for (int64_t i = 0; i < f->tiles[t].nrows; i++)
      for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
        int64_t p = first + i * s + j;
        double c = (f->cond[DECOMP_NORTH][p] + f->cond[DECOMP_SOUTH][p]) +
                   (f->cond[DECOMP_WEST][p] + f->cond[DECOMP_EAST][p]);
        l->w[p] = c > 0.0 ? 1.0 : 0.0;
        l->prev[p] = 0.0;
      }
  }
  double norm = sqrt(norm2_d(l, l->w));
  *steps = 0;
  if (!(norm > 0.0)) /* nothing free: J = 0 */
    return 0.0;
  double estimate = 0.0;
  int64_t k = 0;
  for (;;) {
    lanczos_step(l, norm, k > 0 ? beta[k - 1] : 0.0, &alpha[k], &beta[k]);
    double b = beta[k];
    k++;
    bool last = k == SPECTRUM_MAX_STEPS || !(b > 0.0); /* an invariant subspace: T_k exact */
    if (last || (k >= MIN_STEPS && k % CHECK_EVERY == 0)) {
      double theta = top_ritz(alpha, beta, k);
      double residual = b > 0.0 ? b * last_component(alpha, beta, k, theta, work) : 0.0;
      /* at most half-way from theta to 1: where the steps ran out unresolved, a rho of 1 would
       * leave Chebyshev no rate at all, and half the gap keeps most of it */
      estimate = fmin(theta + residual, theta + 0.5 * (1.0 - theta));
      if (last || residual <= GAP_FRACTION * (1.0 - theta))
        break;
    }
    double *swap = l->prev; /* prev <- v; the next step makes v from w */
    l->prev = l->v;
    l->v = swap;
    norm = b;
  }
  *steps = k;
  return estimate;
}

int spectrum_faces_radius(struct field *f, struct halo *halo, const struct team *team, double *rho,
                          int64_t *steps) {
  int buf = 1 - f->current;
  size_t bytes = (size_t)f->buffer_len * sizeof(double);
  double *saved = malloc(bytes), *v = calloc((size_t)f->buffer_len, sizeof(double)),
         *w = calloc((size_t)f->buffer_len, sizeof(double)),
         *prev = calloc((size_t)f->buffer_len, sizeof(double));
  double *alpha = malloc(SPECTRUM_MAX_STEPS * sizeof(double)),
         *beta = malloc(SPECTRUM_MAX_STEPS * sizeof(double)),
         *work = malloc(2 * SPECTRUM_MAX_STEPS * sizeof(double));
  int status = saved && v && w && prev && alpha && beta && work
                   ? ERR_OK
                   : err_set(ERR_FAILURE, "out of memory for the Jacobi spectrum");
  status = team_agree(team, status);
  if (status == ERR_OK) {
    double *carrier = f->base + (int64_t)buf * f->buffer_len;
    int64_t n = f->layout->nx * f->layout->ny;
    struct lanczos l = {f, halo, team, buf, v, w, prev, exact_shift(n)};
    /* Neighbours on the node read this rank's buffers in place (halo.h): none is reading it
     * once every rank is here (node_quiet), and none reads it again before an exchange. */
    node_quiet(&l);
    if (bytes > 0) { /* a rank that owns no tile may have no window memory at all */
      memcpy(saved, carrier, bytes);
      memset(carrier, 0, bytes); /* the ring beyond the grid's edges: 0, the homogeneous operator */
    }
    *rho = lanczos_run(&l, alpha, beta, work, steps);
    node_quiet(&l); /* every rank's last loads of the carriers are done */
    if (bytes > 0)
      memcpy(carrier, saved, bytes);
    /* v, w and prev were swapped among the three: free what the struct holds */
    v = l.v;
    w = l.w;
    prev = l.prev;
  }
  free(saved);
  free(v);
  free(w);
  free(prev);
  free(alpha);
  free(beta);
  free(work);
  return status;
}
