/* estimate.c - the distance to the steady state; see estimate.h. */
#include "solver/bound/estimate.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* The unit roundoff of double: 2^-53. */
static const double UNIT = DBL_EPSILON / 2;
static const double PI = 3.14159265358979323846;

void estimate_init(struct estimate_model *m, int64_t nx, int64_t ny, double edge_max,
                   bool chebyshev) {
  /* lambda_min = (2 - 2 cos(pi / (nx + 1))) + (2 - 2 cos(pi / (ny + 1))), written with sines so
   * that a large grid does not lose it to cancellation. */
  double sx = sin(PI / (2.0 * (double)(nx + 1))), sy = sin(PI / (2.0 * (double)(ny + 1)));
  m->lambda_min = 4.0 * (sx * sx + sy * sy);
  m->rho = 1.0 - m->lambda_min / 4.0;
  int64_t n = nx < ny ? nx : ny;
  /* max phi, phi(i) = i (n + 1 - i) / 2 across the short direction (docs/design.md) */
  m->inverse_norm = (double)((n + 1) / 2) * (double)((n + 2) / 2) / 2.0;
  m->edge_max = edge_max;
  m->chebyshev = chebyshev;
  m->ref_iteration = m->estimate_iteration = 0;
  m->ref_estimate = INFINITY;
  m->ref_bound = INFINITY;
  m->chebyshev_start = 0;
  m->cycle_factor = 0.0;
  m->answer_lo = -INFINITY;
  m->answer_hi = INFINITY;
  m->faces = false;
  m->load_scale = 0.0;
}

void estimate_faces(struct estimate_model *m, double inverse_norm, double diag_max,
                    double load_scale) {
  /* residual_bound's M 4 d is then ||A^-1|| diag_max d, rounded up */
  m->inverse_norm = inverse_norm * diag_max / 4 * (1 + 4 * UNIT);
  m->edge_max = 4 * (m->edge_max + load_scale) * (1 + 4 * UNIT);
  m->load_scale = load_scale;
  m->faces = true;
}

void estimate_rounding_from(struct estimate_model *m, double reach) {
  if (isfinite(m->edge_max))
    return;
  double b = m->faces ? 4 * (reach + m->load_scale) : 2 * reach;
  m->edge_max = b * (1 + 4 * UNIT);
}

void estimate_answer(struct estimate_model *m, double lo, double hi) {
  m->answer_lo = lo;
  m->answer_hi = hi;
}

double estimate_cap(const struct estimate_model *m, double x_lo, double x_hi) {
  double lo = m->answer_lo, hi = m->answer_hi;
  if (!isfinite(lo) || !isfinite(hi) || !isfinite(x_lo) || !isfinite(x_hi) || !(lo <= hi) ||
      !(x_lo <= x_hi))
    return INFINITY;
  /* |x - T*| <= max(x - lo, hi - x) at every point, as lo <= T* <= hi. Each subtraction rounds
   * by at most a unit of its result (the 2u factor covers it and the product's own rounding);
   * the plate's lo and hi were themselves computed (a min, a widening by the sources' reach)
   * and may each be off by a unit of their size: 4u of the largest magnitude covers that. */
  double reach = fmax(fmax(fabs(lo), fabs(hi)), fmax(fabs(x_lo), fabs(x_hi)));
  double far = fmax(fmax(x_hi - lo, hi - x_lo), 0.0);
  return far * (1 + 4 * UNIT) + 4 * UNIT * reach;
}

void estimate_reference_uniform(struct estimate_model *m, int64_t iteration, double interior,
                                double edge_lo, double edge_hi) {
  estimate_reference_range(m, iteration, interior, interior, edge_lo, edge_hi);
}

void estimate_reference_range(struct estimate_model *m, int64_t iteration, double start_lo,
                              double start_hi, double answer_lo, double answer_hi) {
  double lo = fabs(start_lo - answer_hi), hi = fabs(start_hi - answer_lo);
  if (start_lo == start_hi) /* uniform: the distance to either end (the same bits as ever) */
    lo = fabs(start_lo - answer_lo), hi = fabs(start_lo - answer_hi);
  m->ref_iteration = m->estimate_iteration = iteration;
  m->ref_estimate = lo > hi ? lo : hi;
  /* the subtraction rounds: one unit of the larger operand */
  m->ref_bound = m->ref_estimate * (1 + 2 * UNIT) +
                 2 * UNIT * fmax(fmax(fabs(start_lo), fabs(start_hi)), m->edge_max);
}

/* |x - T*| of the iterate whose change was measured, from the residual alone. */
static double residual_bound(const struct estimate_model *m, double change) {
  double M = m->inverse_norm, B = m->edge_max;
  if (!isfinite(M) || !(9 * UNIT * M < 0.5))
    return INFINITY; /* no bound on ||A^-1|| (a faces plate's comparison found none) */
  /* |exact change| <= change (1 + 2u) + 2.01 u (B + |x - T*|); solved for |x - T*|, with
   * room for the rounding of this formula itself. */
  double bound = M * (4 * change * (1 + 4 * UNIT) + 9 * UNIT * B) / (1 - 9 * UNIT * M);
  return bound * (1 + 8 * UNIT);
}

double estimate_bound(const struct estimate_model *m, double change, bool after_step,
                      int64_t iteration) {
  if (isnan(change))
    return INFINITY;
  double bound = residual_bound(m, change);
  if (after_step) /* one more sweep: e' = J e + rounding of at most 2.01 u (B + |e|) */
    bound = bound * (1 + 3 * UNIT) + 3 * UNIT * m->edge_max;
  if (!m->chebyshev && isfinite(m->ref_bound)) {
    /* Jacobi never moves away from T* (||J||inf <= 1), but each sweep may round */
    double sweeps = (double)(iteration - m->ref_iteration);
    double carried = m->ref_bound + sweeps * 3 * UNIT * (m->edge_max + m->ref_bound);
    bound = carried < bound ? carried : bound;
  }
  return bound;
}

/* acosh(1 / rho), the Chebyshev rate per step; 1 / rho - 1 = (lambda_min / 4) / rho. */
static double chebyshev_rate(const struct estimate_model *m) {
  double excess = m->lambda_min / 4 / m->rho;
  return log1p(excess + sqrt(excess * (excess + 2)));
}

/* log cosh(x) for x >= 0, without overflow. */
static double log_cosh(double x) { return x + log1p(exp(-2 * x)) - log(2.0); }

/* The damping of the method from the reference iterate to `iteration`: rho^m for Jacobi;
 * T_a(1 / rho) / T_b(1 / rho) for Chebyshev, a and b the steps of the recurrence at the
 * reference and at `iteration`. */
static double damping(const struct estimate_model *m, int64_t iteration) {
  if (iteration <= m->estimate_iteration)
    return 1.0;
  if (m->cycle_factor > 0)
    return pow(m->cycle_factor, (double)(iteration - m->estimate_iteration));
  if (!m->chebyshev)
    return pow(m->rho, (double)(iteration - m->estimate_iteration));
  if (!(m->rho > 0))
    return 0.0; /* a 1 x 1 plate: Chebyshev's first step is exact */
  double alpha = chebyshev_rate(m);
  double a = (double)(m->estimate_iteration - m->chebyshev_start),
         b = (double)(iteration - m->chebyshev_start);
  return exp(log_cosh((a > 0 ? a : 0) * alpha) - log_cosh(b * alpha));
}

double estimate_error(const struct estimate_model *m, double change, bool after_step,
                      int64_t iteration) {
  double bound = estimate_bound(m, change, after_step, iteration);
  if (isnan(change))
    return m->ref_estimate * damping(m, iteration);
  double residual = 4 * change;
  double slowest = residual / m->lambda_min * (after_step ? m->rho : 1.0);
  double envelope = m->ref_estimate * damping(m, iteration);
  double estimate = slowest < envelope ? slowest : envelope;
  if (!after_step && estimate < residual / 8)
    estimate = residual / 8; /* |A e| <= 8 |e|: never below this */
  return estimate < bound ? estimate : bound;
}

void estimate_measured(struct estimate_model *m, int64_t iteration, double estimate) {
  m->estimate_iteration = iteration;
  m->ref_estimate = estimate;
}

double estimate_from_coarse(double change, double coarse, double bound) {
  double floor = 4 * change / 8; /* |A e| <= 8 |e| */
  double estimate = coarse > floor ? coarse : floor;
  return estimate < bound ? estimate : bound;
}

double estimate_iterations_to(const struct estimate_model *m, double from, double to) {
  if (!(from > to) || !(to > 0))
    return 0.0;
  if (!m->chebyshev)
    return log(from / to) / -log1p(-m->lambda_min / 4);
  return acosh(from / to) / chebyshev_rate(m);
}

double estimate_chebyshev_omega(double rho, int64_t step, double prev) {
  if (step <= 1)
    return 1.0;
  if (step == 2)
    return 1.0 / (1.0 - rho * rho / 2.0);
  return 1.0 / (1.0 - rho * rho * prev / 4.0);
}

void estimate_coarse_init(struct estimate_coarse *c, int64_t nx, int64_t ny) {
  c->nx = nx;
  c->ny = ny;
  int64_t mx = nx < ESTIMATE_COARSE ? nx : ESTIMATE_COARSE;
  int64_t my = ny < ESTIMATE_COARSE ? ny : ESTIMATE_COARSE;
  int64_t most = ESTIMATE_COARSE_MAX;
  if (mx < ESTIMATE_COARSE) /* a thin plate: its long direction gets the points left */
    my = ny < most && ny < ESTIMATE_COARSE_POINTS / mx ? ny
         : most < ESTIMATE_COARSE_POINTS / mx          ? most
                                                       : ESTIMATE_COARSE_POINTS / mx;
  if (my < ESTIMATE_COARSE)
    mx = nx < most && nx < ESTIMATE_COARSE_POINTS / my ? nx
         : most < ESTIMATE_COARSE_POINTS / my          ? most
                                                       : ESTIMATE_COARSE_POINTS / my;
  c->mx = (int)mx;
  c->my = (int)my;
}

void estimate_coarse_hat(int64_t n, int m, int64_t i, int k[2], int64_t w[2]) {
  int64_t d = n + 1, at = i * (m + 1); /* fine i at `at`, coarse k at k d, in units of 1 / d */
  k[0] = (int)(at / d);
  k[1] = k[0] + 1;
  for (int s = 0; s < 2; s++) {
    int64_t dist = at - (int64_t)k[s] * d;
    dist = dist < 0 ? -dist : dist;
    w[s] = k[s] >= 1 && k[s] <= m && dist < d ? d - dist : 0;
  }
}

/* out = S in S' for the orthonormal sine matrices of the two directions (S symmetric, its own
 * inverse): rows (my) and columns (mx). */
static void sine_transform(const double *in, double *out, double *tmp, const double *sy,
                           const double *sx, int my, int mx) {
  for (int a = 0; a < my; a++)
    for (int q = 0; q < mx; q++) {
      double sum = 0;
      for (int b = 0; b < mx; b++)
        sum += in[a * mx + b] * sx[b * mx + q];
      tmp[a * mx + q] = sum;
    }
  for (int p = 0; p < my; p++)
    for (int q = 0; q < mx; q++) {
      double sum = 0;
      for (int a = 0; a < my; a++)
        sum += sy[p * my + a] * tmp[a * mx + q];
      out[p * mx + q] = sum;
    }
}

static void sine_matrix(double *s, int m) {
  double norm = sqrt(2.0 / (m + 1));
  for (int a = 0; a < m; a++)
    for (int b = 0; b < m; b++)
      s[a * m + b] = norm * sin(PI * (double)(a + 1) * (double)(b + 1) / (double)(m + 1));
}

double estimate_coarse_error(const struct estimate_coarse *c, const double *rc) {
  int my = c->my, mx = c->mx;
  /* coarse spacings, in fine spacings: the hats of m points span n + 1 */
  double hy = (double)(c->ny + 1) / (my + 1), hx = (double)(c->nx + 1) / (mx + 1);
  size_t cells = (size_t)my * (size_t)mx;
  double *sy = malloc((size_t)my * (size_t)my * sizeof *sy);
  double *sx = malloc((size_t)mx * (size_t)mx * sizeof *sx);
  double *a = calloc(cells, sizeof *a), *b = calloc(cells, sizeof *b);
  double *tmp = calloc(cells, sizeof *tmp);
  double max = NAN;
  if (sy != NULL && sx != NULL && a != NULL && b != NULL && tmp != NULL) {
    sine_matrix(sy, my);
    sine_matrix(sx, mx);
    /* -Lap_H e = rc / (hx hy): a hat's weighted sum is hx hy times the residual it covers */
    for (size_t k = 0; k < cells; k++)
      a[k] = rc[k] / (hx * hy);
    sine_transform(a, b, tmp, sy, sx, my, mx);
    for (int p = 0; p < my; p++)
      for (int q = 0; q < mx; q++) {
        double sp = sin(PI * (p + 1) / (2.0 * (my + 1))), sq = sin(PI * (q + 1) / (2.0 * (mx + 1)));
        b[p * mx + q] /= 4 * sp * sp / (hy * hy) + 4 * sq * sq / (hx * hx);
      }
    sine_transform(b, a, tmp, sy, sx, my, mx);
    max = 0;
    for (size_t k = 0; k < cells; k++)
      max = fabs(a[k]) > max ? fabs(a[k]) : max;
  }
  free(tmp);
  free(b);
  free(a);
  free(sx);
  free(sy);
  return max;
}

bool estimate_stalled(struct estimate_stall *s, const struct estimate_model *m, int64_t k,
                      double change, double bound, int64_t window) {
  if (bound < s->best * (1 - 1e-3)) {
    s->best = bound;
    s->at = k;
    return false;
  }
  bool rounding = change <= ESTIMATE_STALL_ULPS * DBL_EPSILON * m->edge_max;
  return rounding && isfinite(s->best) && k - s->at >= window;
}

int64_t estimate_profile_depth(int64_t nx, int64_t ny) {
  int64_t n = nx < ny ? nx : ny;
  return (n + 1) / 2;
}

/* The profile's levels in decreasing order of R (the candidates for b). */
struct profile_level {
  double r;
  int64_t k;
};

static int by_r_descending(const void *a, const void *b) {
  double x = ((const struct profile_level *)a)->r, y = ((const struct profile_level *)b)->r;
  return (x < y) - (x > y);
}

/* sum_k k (R(k) - b)+ + b M, rounded up: every term is a product of non-negative factors (each
 * operation rounds by a unit), so the computed sum of its D + 1 terms is within (D + 3) u of
 * its own size; 2 (D + 4) u more covers it. */
static double profile_at(const double *R, int64_t D, double M, double b) {
  double sum = b * M;
  for (int64_t k = 1; k <= D; k++)
    if (R[k - 1] > b)
      sum += (double)k * (R[k - 1] - b);
  return sum * (1 + 2 * (double)(D + 4) * UNIT);
}

double estimate_profile(const double *R, int64_t D, double M) {
  if (D <= 0)
    return 0.0;
  struct profile_level *levels = malloc((size_t)D * sizeof *levels);
  if (levels == NULL)
    return NAN;
  for (int64_t k = 1; k <= D; k++)
    levels[k - 1] = (struct profile_level){R[k - 1], k};
  qsort(levels, (size_t)D, sizeof *levels, by_r_descending);
  /* f(b) is convex, of slope M - (the weights k of the levels above b): its least value is at
   * the first level where those weights reach M (any b gives a bound: this only picks one). */
  double b = 0.0, above = 0.0;
  for (int64_t i = 0; i < D; i++) {
    above += (double)levels[i].k;
    if (above >= M) {
      b = levels[i].r;
      break;
    }
  }
  free(levels);
  double best = profile_at(R, D, M, b), none = profile_at(R, D, M, 0.0);
  return none < best ? none : best;
}

double estimate_bound_profile(const struct estimate_model *m, double profile) {
  double M = m->inverse_norm, B = m->edge_max;
  if (m->faces || !isfinite(profile) || !(64 * UNIT * M < 0.5))
    return INFINITY;
  /* |exact r| <= |computed r| (1 + 2u) + 64 u (B + E) at every point, E = |x - T*|: the
   * profile of the first part is profile (1 + 2u), the uniform rest at most M times it (phi);
   * E <= that, solved for E, with room for this formula's own rounding. */
  double bound = (profile * (1 + 2 * UNIT) + 64 * UNIT * M * B) / (1 - 64 * UNIT * M);
  return bound * (1 + 8 * UNIT);
}
