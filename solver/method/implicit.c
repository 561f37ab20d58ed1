/* implicit.c - an implicit step's solve; see implicit.h. */
#include "solver/method/implicit.h"

#include "common/err.h"
#include "solver/method/method.h"

#include "solver/kernel/operator.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

struct implicit_solver {
  struct implicit_setup setup;
  void *inner;    /* method "jacobi"'s data: the certificate's sweeps, and the solve's without mg */
  void *mg;       /* method "multigrid"'s data, built on the step's operator; NULL: no multigrid */
  bool chebyshev; /* without mg: method "chebyshev" (else Jacobi sweeps alone) */
  void *cheb[2];  /* method "chebyshev"'s data for weights 1 and 1.5 (rho found once each) */
  double mg_weight; /* the weight of C/dt in the operator mg was built on */
  double q[2];      /* Jacobi's contraction factor for weights 1 and 1.5 (NaN: not yet) */
  double *start;    /* the step's extrapolated start (field-sized), for the truncation estimate */
};

/* The unit roundoff, 2^-53. */
#define UNIT_ROUNDOFF (0.5 * DBL_EPSILON)

/* The row-sum certificate (docs/numerics.md, "The transient's certificate"): with r = load - M x
 * the step's residual and s_i = diag_i - sum_d cond_i,d, every row's sum less every coupling
 * (the unknowns' row sums are at least that: a coupling to a held point or a ring is not to an
 * unknown), M is an M-matrix whenever every s_i > 0, M^-1 >= 0 and M^-1 s >= 1, so
 *     |M^-1 r| <= M^-1 |r| <= max_i (|r_i| / s_i) M^-1 s,   max norm <= max_i |r_i| / s_i.
 * A held point's row (diag 1, no coupling) is the identity, so it counts as its own unknown whose
 * residual is 0 when it holds its temperature. Rounding: the computed residual is within
 * gamma_5 (|cn n| + |cs s| + |cw w| + |ce e| + |f| + |diag x|) of the exact one, and the
 * computed s within gamma_3 (diag + sum cond) of its exact value; both are widened by 8u of those
 * sums (u = 2^-53, 8u > gamma_5 / (1 - gamma_6) with room for the widening's own rounding), an
 * absolute 6 x 2^-1074 for products that underflow, and the ratio by (1 + 8u). Gives this
 * rank's largest ratio in out[0] (+inf where some s_i is not certainly positive, NaN where the
 * field is not finite), in out[1] the largest part of a ratio that is rounding's alone (the
 * floor below which no iterate's bound can go) and in out[2] max |x - start| (0 if start is
 * NULL). One pass over the field (halos filled): a fine-sweep equivalent. Not collective. */
static void row_sum_bound(const struct field *f, const double *start, double out[3]) {
  const double *x = f->base + f->current * f->buffer_len;
  double *const *c = f->cond;
  double most = 0.0, floor = 0.0, moved = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t stride = field_stride(f, t), base = f->tile_offset[t] + f->depth * stride + f->depth;
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        int64_t o = base + li * stride + lj;
        double cn = c[DECOMP_NORTH][o], cs = c[DECOMP_SOUTH][o], cw = c[DECOMP_WEST][o],
               ce = c[DECOMP_EAST][o], dg = f->diag[o], ld = f->load[o];
        double xn = x[o - stride], xs = x[o + stride], xw = x[o - 1], xe = x[o + 1], xo = x[o];
        double r = OP_FACES_RESIDUAL(OP_FACES(cn, xn, cs, xs, cw, xw, ce, xe), ld, dg, xo);
        double size = ((fabs(cn * xn) + fabs(cs * xs)) + (fabs(cw * xw) + fabs(ce * xe))) +
                      (fabs(ld) + fabs(dg * xo));
        double sum = (cn + cs) + (cw + ce);
        double slack = (dg - sum) - 8.0 * UNIT_ROUNDOFF * (dg + sum);
        double rounding = 8.0 * UNIT_ROUNDOFF * size + 6.0 * 0x1p-1074, top = fabs(r) + rounding;
        double v = slack > 0.0 ? top / slack : INFINITY;
        most = v > most || isnan(v) ? v : most; /* NaN is kept: the field is not finite */
        v = slack > 0.0 ? rounding / slack : INFINITY;
        floor = v > floor ? v : floor;
        v = start != NULL ? fabs(xo - start[o]) : 0.0;
        moved = v > moved ? v : moved;
      }
  }
  out[2] = moved;
  out[0] = most * (1.0 + 8.0 * UNIT_ROUNDOFF);
  out[1] = floor;
}

/* The start of a step's solve: T_n extrapolated linearly, 2 T_n - T_(n-1), at every point with
 * capacity (the others hold their values), so that the start's error is O(dt^2) in place of
 * T_n's O(dt); kept in start too where it is not NULL. Pointwise: the same bits on every
 * decomposition. */
static void extrapolate(struct field *f, const double *rate, const double *previous,
                        double *start) {
  double *x = f->base + f->current * f->buffer_len;
  FIELD_FOR_POINTS(f, o, {
    double y = rate[o] > 0.0 ? 2.0 * x[o] - previous[o] : x[o];
    x[o] = y;
    if (start != NULL)
      start[o] = y;
  })
}

/* max over the free points of (sum of conductances) / diag: Jacobi's contraction factor in the
 * max norm for the diagonal diag0 + weight C/dt. Collective. */
static int contraction(const struct implicit_solver *s, double weight, double *q) {
  const struct field *f = s->setup.field;
  double mine = 0.0;
  FIELD_FOR_POINTS(f, o, {
    double sum = (f->cond[DECOMP_NORTH][o] + f->cond[DECOMP_SOUTH][o]) +
                 (f->cond[DECOMP_WEST][o] + f->cond[DECOMP_EAST][o]);
    double r = sum / (s->setup.diag0[o] + weight * s->setup.rate[o]);
    mine = r > mine ? r : mine;
  })
  *q = mine;
  MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, q, 1, MPI_DOUBLE, MPI_MAX, s->setup.team->comm));
  return ERR_OK;
}

/* Multigrid on the operator diag0 + weight C/dt (its coarse levels are built from the field's
 * diagonal at create). Collective; agreed. */
static int multigrid_on_step(struct implicit_solver *s, double weight) {
  struct field *f = s->setup.field;
  double *diag = f->diag;
  double *keep = malloc((size_t)f->buffer_len * sizeof(double) + 1);
  if (keep == NULL)
    return team_agree(s->setup.team, err_set(ERR_FAILURE, "out of memory for the time stepper"));
  FIELD_FOR_POINTS(f, o, {
    keep[o] = diag[o];
    diag[o] = s->setup.diag0[o] + weight * s->setup.rate[o];
  })
  struct method_setup ms = {.field = f,
                            .halo = s->setup.halo,
                            .team = s->setup.team,
                            .cfg = s->setup.cfg,
                            .halo_mode = s->setup.halo_mode,
                            .temporal_block = 1};
  s->mg_weight = weight;
  int status = method_multigrid.create(&ms, &s->mg);
  FIELD_FOR_POINTS(f, o, { diag[o] = keep[o]; })
  free(keep);
  return status;
}

int implicit_create(const struct implicit_setup *setup, struct implicit_solver **out) {
  *out = NULL;
  struct implicit_solver *s = calloc(1, sizeof *s);
  if (team_agree(setup->team, s == NULL ? err_set(ERR_FAILURE, "out of memory for the time "
                                                               "stepper")
                                        : ERR_OK) != ERR_OK) {
    free(s);
    return ERR_FAILURE;
  }
  s->setup = *setup;
  s->q[0] = s->q[1] = NAN;
  s->start = malloc((size_t)setup->field->buffer_len * sizeof(double) + 1);
  if (team_agree(setup->team, s->start == NULL ? err_set(ERR_FAILURE, "out of memory for the "
                                                                      "time stepper")
                                               : ERR_OK) != ERR_OK) {
    implicit_destroy(&s);
    return ERR_FAILURE;
  }
  s->chebyshev = !setup->multigrid && setup->cfg != NULL &&
                 cfg_is_set(setup->cfg, "solver.method") &&
                 setup->cfg->method == CFG_METHOD_CHEBYSHEV;
  int status = ERR_OK;
  if (setup->multigrid)
    status = multigrid_on_step(s, 1.0);
  if (status != ERR_OK) {
    implicit_destroy(&s);
    return status;
  }
  *out = s;
  return ERR_OK;
}

/* The row-sum certificate of the current iterate, its halos exchanged here: all[0] the bound
 * (also in *bound), all[1] its rounding floor, all[2] max |x - start| (0 where start is NULL),
 * each the max over the ranks in one reduction; counted as a sweep. Collective. Errors: a field
 * no longer finite. */
static int certify_step(struct implicit_solver *s, const double *start, int64_t step, double all[3],
                        double *bound, struct implicit_stats *stats) {
  struct field *f = s->setup.field;
  method_exchange(halo_exchange, s->setup.halo, s->setup.team, f->current);
  double mine[3];
  row_sum_bound(f, start, mine);
  MPI_CHECK(MPI_Allreduce(mine, all, 3, MPI_DOUBLE, MPI_MAX, s->setup.team->comm));
  *bound = all[0];
  stats->sweeps++;
  stats->work += 1.0;
  if (isnan(*bound))
    return err_set(ERR_FAILURE, "the field is no longer finite in time step %lld", (long long)step);
  return ERR_OK;
}

/* The error of a step's solve stopped at solver.max_iterations `steps` (the method's word)
 * short of its goal. */
static int out_of_steps(const struct implicit_solver *s, int64_t step, double goal,
                        const char *steps, double bound) {
  return err_set(ERR_CONFIG,
                 "%s: time step %lld's solve did not reach its error %.3g in "
                 "solver.max_iterations = %lld %s (bound %.3g): raise "
                 "solver.max_iterations or time.step_error, or take smaller steps",
                 cfg_origin(s->setup.cfg, "solver.max_iterations"), (long long)step, goal,
                 (long long)s->setup.cfg->max_iterations, steps, bound);
}

/* Jacobi sweeps alone, each certified by its change: q / (1 - q) change (docs/numerics.md). */
static int jacobi_solve(struct implicit_solver *s, double weight, double goal, int64_t step,
                        double *bound, struct implicit_stats *stats) {
  struct field *f = s->setup.field;
  const struct team *team = s->setup.team;
  double *q = &s->q[weight == 1.0 ? 0 : 1];
  if (isnan(*q))
    CHECK(contraction(s, weight, q));
  /* method "jacobi" reads the faces arrays' uniform runs once, at create (sweeps.h): made
   * again on this step's diagonal and load */
  method_jacobi.destroy(&s->inner);
  struct method_setup js = {.field = f, .halo = s->setup.halo, .team = team, .temporal_block = 1};
  CHECK(method_jacobi.create(&js, &s->inner));
  struct method_iterate it = {.field = f, .halo = s->setup.halo, .team = team};
  for (int64_t k = 1;; k++) {
    method_exchange(halo_exchange, s->setup.halo, team, f->current);
    double change = method_jacobi.step(s->inner, &it, k, k, true);
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &change, 1, MPI_DOUBLE, MPI_MAX, team->comm));
    stats->sweeps++;
    stats->work += 1.0;
    if (!isfinite(change))
      return err_set(ERR_FAILURE, "the field is no longer finite in time step %lld",
                     (long long)step);
    *bound = *q / (1.0 - *q) * change;
    if (*bound <= goal || change == 0.0)
      return ERR_OK;
    if (k >= s->setup.cfg->max_iterations)
      return out_of_steps(s, step, goal, "Jacobi sweeps", *bound);
  }
}

/* Chebyshev's iterations between two certificates: after iteration k the next is
 * max(4, floor(sqrt(2 k))) later. A certificate costs about an iteration (a fine sweep, an
 * exchange and a reduction), and Chebyshev's iterate is no contraction, so its bound is known
 * only where it is computed. With a certificate every m iterations a solve of K iterations
 * wastes about K / m certificates and m / 2 iterations past its goal, least at m = sqrt(2 K);
 * K is not known before, and m = sqrt(2 k) at iteration k wastes about 1.5 sqrt(2 K) whatever K
 * is (some 35 sweeps on a step of 300: docs/performance.md). The schedule depends on k alone:
 * the same on every rank and decomposition. */
static int64_t chebyshev_next_check(int64_t k) {
  int64_t m = (int64_t)sqrt(2.0 * (double)k);
  return k + (m > 4 ? m : 4);
}

/* Method "chebyshev" on the step's operator (field->diag as the stepper set it), its rho found
 * by Lanczos once per weight (spectrum.h), its recurrence begun at the step's start and stopped
 * by the row-sum certificate on chebyshev_next_check's schedule. Collective; agreed. */
static int chebyshev_solve(struct implicit_solver *s, double weight, double goal, int64_t step,
                           double *bound, struct implicit_stats *stats) {
  struct field *f = s->setup.field;
  const struct team *team = s->setup.team;
  void **data = &s->cheb[weight == 1.0 ? 0 : 1];
  if (*data == NULL) {
    struct estimate_model model = {.rho = 0.0, .chebyshev_start = 0};
    struct method_setup cs = {.field = f,
                              .halo = s->setup.halo,
                              .team = team,
                              .cfg = s->setup.cfg,
                              .halo_mode = s->setup.halo_mode,
                              .temporal_block = 1,
                              .model = &model};
    CHECK(method_chebyshev.create(&cs, data));
  }
  CHECK(team_agree(team, method_chebyshev_restart(*data, f, 0) != ERR_OK
                             ? err_set(ERR_FAILURE, "out of memory for the time stepper")
                             : ERR_OK));
  struct method_iterate it = {.field = f, .halo = s->setup.halo, .team = team};
  int64_t check = chebyshev_next_check(0);
  for (int64_t k = 1;; k++) {
    method_exchange(halo_exchange, s->setup.halo, team, f->current);
    (void)method_chebyshev.step(*data, &it, k, k, false);
    stats->sweeps++;
    stats->work += 1.0;
    if (k < check && k < s->setup.cfg->max_iterations)
      continue;
    check = chebyshev_next_check(k);
    double all[3];
    CHECK(certify_step(s, NULL, step, all, bound, stats));
    if (isinf(*bound)) /* a row not certainly dominant (no capacity): Jacobi's certificate */
      return jacobi_solve(s, weight, goal, step, bound, stats);
    if (*bound <= goal || *bound <= 2.0 * all[1])
      return ERR_OK;
    if (k >= s->setup.cfg->max_iterations)
      return out_of_steps(s, step, goal, "Chebyshev iterations", *bound);
  }
}

int implicit_solve(struct implicit_solver *s, double weight, const double *previous, double goal,
                   int64_t step, double *bound, struct implicit_stats *stats) {
  struct field *f = s->setup.field;
  const struct team *team = s->setup.team;
  /* the truncation estimate's rule (implicit.h): backward Euler after its first step */
  bool estimate =
      s->setup.truncation_fraction > 0.0 && previous != NULL && weight == 1.0 && s->mg != NULL;
  if (previous != NULL)
    extrapolate(f, s->setup.rate, previous, estimate ? s->start : NULL);
  if (s->mg == NULL && s->chebyshev)
    return chebyshev_solve(s, weight, goal, step, bound, stats);
  if (s->mg == NULL)
    return jacobi_solve(s, weight, goal, step, bound, stats);
  struct method_iterate it = {.field = f, .halo = s->setup.halo, .team = team};
  if (s->mg_weight != weight) { /* BDF2's second step: a new operator */
    method_multigrid.destroy(&s->mg);
    CHECK(multigrid_on_step(s, weight));
  }
  struct method_figures fig = {0};
  method_multigrid.figures(s->mg, &fig);
  for (int64_t k = 1;; k++) {
    method_exchange(halo_exchange, s->setup.halo, team, f->current);
    /* never a full-multigrid start (cycle 1 of a run): the extrapolation is the better one */
    (void)method_multigrid.step(s->mg, &it, k + 1, k + 1, false);
    stats->cycles++;
    stats->work += fig.work_per_step;
    double all[3];
    CHECK(certify_step(s, estimate && k == 1 ? s->start : NULL, step, all, bound, stats));
    /* |T_(n+1) - (2 T_n - T_(n-1))| = dt^2 |T''| + O(dt^3): twice backward Euler's local
     * truncation error, measured on the first cycle's result (within its bound of T_(n+1)) */
    if (estimate && k == 1)
      goal = fmax(goal, s->setup.truncation_fraction * 0.5 * fmax(all[2] - all[0], 0.0));
    if (isinf(*bound)) /* a row not certainly dominant (no capacity): Jacobi's certificate */
      return jacobi_solve(s, weight, goal, step, bound, stats);
    /* a goal below what rounding lets any iterate certify (a plate at rest: goal 0): the
     * residual at its rounding's level is the end, its bound reported as it is */
    if (*bound <= goal || *bound <= 2.0 * all[1])
      return ERR_OK;
    if (k >= s->setup.cfg->max_iterations)
      return out_of_steps(s, step, goal, "cycles", *bound);
  }
}

void implicit_destroy(struct implicit_solver **s) {
  if (s == NULL || *s == NULL)
    return;
  if ((*s)->inner != NULL)
    method_jacobi.destroy(&(*s)->inner);
  if ((*s)->mg != NULL)
    method_multigrid.destroy(&(*s)->mg);
  for (int w = 0; w < 2; w++)
    if ((*s)->cheb[w] != NULL)
      method_chebyshev.destroy(&(*s)->cheb[w]);
  free((*s)->start);
  free(*s);
  *s = NULL;
}
