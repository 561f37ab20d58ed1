/* estimate.h - the distance to the steady state: how far an iterate is from T*, the exact
 * solution of the discrete equations, from the one figure the sweep measures, its change.
 *
 * A guaranteed bound (a pure function of the change, the grid and the edges) and a measured
 * estimate kept between a rigorous lower bound and it, with the model that carries both between
 * measurements. The derivation: docs/design.md, "The error bound".
 *
 * Not for: MPI (the caller agrees on d first), the iteration itself. Pure functions; not
 * collective.
 */
#ifndef JACOBI_ESTIMATE_H
#define JACOBI_ESTIMATE_H

#include <stdbool.h>
#include <stdint.h>

struct estimate_model {
  double rho;          /* spectral radius of the Jacobi iteration */
  double lambda_min;   /* smallest eigenvalue of A: 4 (1 - rho), computed without cancellation */
  double inverse_norm; /* an upper bound on ||A^-1||inf */
  double edge_max;     /* largest |edge temperature|: bounds |T*| */
  bool chebyshev;      /* the damping of Chebyshev semi-iteration, else Jacobi's */
  /* The references: at iteration ref_iteration the error was at most ref_bound, and at
   * iteration estimate_iteration about ref_estimate (INFINITY where unknown); the run moves the
   * second to its latest measurement (estimate_measured). */
  int64_t ref_iteration, estimate_iteration;
  double ref_estimate, ref_bound;
  int64_t chebyshev_start; /* Chebyshev: the iteration its recurrence began at (<= either) */
  /* Multigrid: the measured reduction of the residual a cycle, which damps the estimate between
   * measurements instead of the sweeps' model (0: not multigrid, or not measured yet). */
  double cycle_factor;
  /* The maximum principle's cap: T* lies in [answer_lo, answer_hi] (the plate's bounds,
   * plate.h; -inf and +inf where none is known: no cap). */
  double answer_lo, answer_hi;
  bool faces; /* inverse_norm is the faces operator's (estimate_faces): no residual profile */
  double load_scale; /* faces: max |load| / diag (K) */
};

/* The model of an nx x ny plate whose edges hold at most edge_max in magnitude; no reference. */
void estimate_init(struct estimate_model *m, int64_t nx, int64_t ny, double edge_max,
                   bool chebyshev);

/* A faces plate (field.h's faces operator, comparison.h): the bound becomes ||A^-1|| ||r|| with
 * ||A^-1|| <= inverse_norm (K/W) and |r| <= diag_max d for a sweep change d, and what rounding
 * hides is relative to |T*| and max |load| / diag (load_scale) alike: edge_max widened by
 * it, times 4 (the faces update rounds in its 4 products, its load and its division). The profile
 * does not apply (estimate_bound_profile says INFINITY). */
void estimate_faces(struct estimate_model *m, double inverse_norm, double diag_max,
                    double load_scale);

/* Where edge_max is not finite (a faces plate whose loads leave T* unbounded above or below
 * before the solve), the rounding allowance of a measured iterate from what it reads: `reach`,
 * the largest |x| over its interior and rings (certify.h), and the loads. No-op where edge_max
 * is finite. */
void estimate_rounding_from(struct estimate_model *m, double reach);

/* T* lies in [lo, hi] (plate.h's answer_lo, answer_hi): what estimate_cap caps the bound by. */
void estimate_answer(struct estimate_model *m, double lo, double hi);

/* The maximum principle's bound on max |x - T*| for an iterate whose values lie in [x_lo, x_hi]
 * (agreed over the ranks: a min and a max, the same on every decomposition): the largest
 * distance from them to the other end of [answer_lo, answer_hi], rounded up, with room for the
 * rounding of the answer's own bounds. INFINITY where the answer's bounds are not known or the
 * range is not finite. A held plate without sources is never farther than its temperature
 * range from T*, whatever the residual says. */
double estimate_cap(const struct estimate_model *m, double x_lo, double x_hi);

/* The reference of a run that starts from a uniform interior: T* lies between the smallest and
 * the largest edge temperature, so the starting error is at most the larger distance from
 * `interior` to them; that is a guarantee and, on any plate larger than a few points, close to
 * the error itself (next to the middle of an edge T* is nearly that edge's temperature). */
void estimate_reference_uniform(struct estimate_model *m, int64_t iteration, double interior,
                                double edge_lo, double edge_hi);

/* The same for a start anywhere in [start_lo, start_hi] and T* in [answer_lo, answer_hi] (the
 * plate's bounds, plate.h): the starting error is at most the largest distance between the
 * two ranges. */
void estimate_reference_range(struct estimate_model *m, int64_t iteration, double start_lo,
                              double start_hi, double answer_lo, double answer_hi);

/* A measured estimate of the error at `iteration` (certify.h) becomes the reference the model
 * damps from until the next one. */
void estimate_measured(struct estimate_model *m, int64_t iteration, double estimate);

/* Guaranteed upper bound on max |x - T*| of the iterate x whose agreed sweep change is `change`;
 * with `after_step` for the Jacobi iterate one sweep after it (J is a contraction in the max
 * norm, so the bound carries over, plus that sweep's rounding). Jacobi also never exceeds its
 * reference bound (plus the rounding of the iterations since). */
double estimate_bound(const struct estimate_model *m, double change, bool after_step,
                      int64_t iteration);

/* ---- the residual's profile: a bound that sees where the residual is --------------------------
 * ||A^-1||inf ||r||inf treats the residual's largest value as if it were everywhere; a cycle
 * leaves it large only next to the edges (the corners' singularities), where A^-1 weighs it
 * little, and the bound is then thousands of times the error (255^2, 3 V-cycles: 17.2 against
 * 0.0066). With d(p) = min(i, j, ny + 1 - i, nx + 1 - j) (1-based: a point's distance to the
 * ring, 1 .. D, D = (min(nx, ny) + 1) / 2) and R(d) the largest |r| at distance d: for any
 * increasing concave g with g(0) = 0, w = g(d) has A w >= g'(d) - g'(d + 1) pointwise (a
 * neighbour is at most one step farther, one nearer, and two no farther), so choosing the slopes
 * g'(m) = sum over k >= m of (R(k) - b)+ gives A (w + b phi) >= |r| (A phi >= 1, max phi =
 * inverse_norm), and as A^-1 >= 0, |x - T*| <= A^-1 |r| <= max (w + b phi):
 *     |x - T*| <= min over b >= 0 of  sum_k k (R(k) - b)+  +  b inverse_norm,
 * never above inverse_norm max R (b = max R), and near the error where the residual sits at the
 * edges. The same holds for the general plate (its held points are rows of the identity, and
 * w >= 0 there). Derivation and measurements: docs/numerics.md, "The residual's profile". */

/* The depth D of the profile of an nx x ny grid. Pure. */
int64_t estimate_profile_depth(int64_t nx, int64_t ny);

/* The profile's distance d (1 .. D) of the point in row i and column j (0-based). Pure. */
static inline int64_t estimate_profile_distance(int64_t nx, int64_t ny, int64_t i, int64_t j) {
  int64_t a = i + 1 < ny - i ? i + 1 : ny - i, b = j + 1 < nx - j ? j + 1 : nx - j;
  return a < b ? a : b;
}

/* min over b of sum_k k (R(k) - b)+ + b inverse_norm, for the agreed profile R[0 .. D - 1]
 * (R[d - 1] the largest computed |r| at distance d), rounded up for its own arithmetic; NaN when
 * out of memory. Pure. */
double estimate_profile(const double *R, int64_t D, double inverse_norm);

/* Guaranteed upper bound on max |x - T*| from the profile's figure `profile` (estimate_profile
 * of the computed residual): with what the residual's rounding can hide at every point, up to
 * 64 u (B + |x - T*|) with B the model's edge_max, solved for |x - T*|. INFINITY if not
 * finite. Pure. */
double estimate_bound_profile(const struct estimate_model *m, double profile);

/* A target out of reach. Jacobi's change reaches 0 at its fixed point, where the bound is its
 * floor (a target below it is refused at start-up). Chebyshev's weighted iterates and
 * multigrid's cycles never settle: their change stays some units in the last place of |T| (more
 * on larger grids), so their bound stops falling above the floor, and a target between the two
 * would run to max_iterations. estimate_stalled says when to give up: the change is at the
 * rounding level (at most ESTIMATE_STALL_ULPS units of edge_max: far below where any smooth
 * error still falls slowly, which on a large grid it does for thousands of iterations) and the
 * bound has set no new best (by 0.1%) for `window` iterations. The state is checkpointed with
 * the field, so a continued run stops where an uninterrupted one would. */
struct estimate_stall {
  double best; /* the least bound seen (INFINITY: none yet) */
  int64_t at;  /* the iteration it was seen at */
};
enum { ESTIMATE_STALL_ULPS = 100000 };

/* Record the check at iteration k (its agreed change and bound) and say whether the run should
 * stop: no new best for at least `window` iterations since s->at, the change at the rounding
 * level of m's edge_max. Not collective (every rank passes the same values). */
bool estimate_stalled(struct estimate_stall *s, const struct estimate_model *m, int64_t k,
                      double change, double bound, int64_t window);

/* The model's estimate of max |x - T*| for the same iterate, between measurements (see the
 * header comment). */
double estimate_error(const struct estimate_model *m, double change, bool after_step,
                      int64_t iteration);

/* About how many more iterations of the model's method take an error of `from` to `to`
 * (0 if from <= to). */
double estimate_iterations_to(const struct estimate_model *m, double from, double to);

/* ---- the measured estimate: the residual's error on a coarse grid -----------------------------
 * The error is A^-1 r, and A^-1 damps a mode of the residual by its eigenvalue: the error is
 * made of the residual's smooth part, which a coarse grid resolves, while the fast modes that
 * dominate |r| (under Chebyshev above all) contribute little. So the residual, weighted by
 * bilinear hat functions onto a coarse grid, is the right-hand side of the same equation on
 * that grid, solved exactly (sine transforms), and the estimate is the largest value of its
 * solution. The coarse grid has ESTIMATE_COARSE points a direction, or the grid's own where it
 * has fewer; a direction that the other leaves room for (a thin plate) gets up to
 * ESTIMATE_COARSE_POINTS / (the other's), at most ESTIMATE_COARSE_MAX, so that thin plates'
 * boundary layers are resolved. Where the coarse grid is the grid itself the estimate is the
 * exact error (to rounding); beyond, the tests find it within 0.75-1.01 of the truth for both
 * methods (docs/numerics.md). The caller sums the weighted residual exactly (integers), so the
 * estimate is the same on every decomposition. */
enum { ESTIMATE_COARSE = 64, ESTIMATE_COARSE_POINTS = 4096, ESTIMATE_COARSE_MAX = 512 };

struct estimate_coarse {
  int64_t nx, ny; /* the fine interior */
  int mx, my;     /* coarse points a row and a column */
};

void estimate_coarse_init(struct estimate_coarse *c, int64_t nx, int64_t ny);

/* The coarse points that fine index i (1 .. n, across a direction of n fine and m coarse
 * points) weighs into: k[0] and k[1] = k[0] + 1 (1-based; 0 and m + 1 are the edge, no point),
 * with the integer weights w[0], w[1] out of n + 1: the hat of point k, centred at fine
 * position k (n + 1) / (m + 1), is max(0, (n + 1) - |i (m + 1) - k (n + 1)|) / (n + 1). */
void estimate_coarse_hat(int64_t n, int m, int64_t i, int k[2], int64_t w[2]);

/* max |e_H| for the coarse equations whose right-hand side rc (my x mx, row-major) holds the
 * hat-weighted sums of the residual (sum over fine points of hat_y hat_x r); NaN when out of
 * memory. */
double estimate_coarse_error(const struct estimate_coarse *c, const double *rc);

/* The measured estimate of an iterate whose agreed change is `change`, whose coarse error is
 * `coarse` and whose bound is `bound`: the coarse error, kept between R / 8 and the bound. */
double estimate_from_coarse(double change, double coarse, double bound);

/* Omega of Chebyshev step `step` (1-based, counted from where the recurrence began) for the
 * spectral radius rho: omega_1 = 1, omega_2 = 1 / (1 - rho^2 / 2), omega_s = 1 / (1 - rho^2
 * omega_(s-1) / 4). Computed by the same sequence of operations on every rank (and by a
 * restarted run), so every rank uses the same bits. `prev` is omega_(step - 1) (ignored for
 * step 1). */
double estimate_chebyshev_omega(double rho, int64_t step, double prev);

#endif /* JACOBI_ESTIMATE_H */
