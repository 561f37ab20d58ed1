/* test_solve.c - the iteration loop: the stopping rule worked by hand, the same count and the
 * same field bit for bit as a plain full-grid Jacobi written independently here, and the
 * discretisation error against the analytic solution of the plate, falling 4x per halving of h.
 * Runs under mpiexec with any rank count. */
#include "common/err.h"
#include "decomp/decomp.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/bound/certify.h"
#include "solver/bound/estimate.h"
#include "solver/solve.h"
#include "tests/cunit_main.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

struct run {
  struct team *team;
  struct decomp_layout layout;
  struct field *field;
  struct halo *halo;
  struct solve_result result;
};

/* The variants the plain sweeps run, and their trial (tune.h); NULL: sweep_tile's own. */
static const struct tune_trial *variants_under_test;

/* Solve an nx x ny plate on all ranks with the given edges; returns the run to inspect. */
static int solve(struct run *run, int64_t nx, int64_t ny, enum decomp_kind kind,
                 const struct field_boundary *edges, double tolerance, int64_t max_iterations,
                 int64_t check_interval) {
  *run = (struct run){0};
  int dims[2] = {0, 0};
  CHECK(team_create(MPI_COMM_WORLD, &run->team));
  CHECK(team_split_nodes(run->team, 0));
  CHECK(decomp_dims_fill(run->team->size, dims));
  CHECK(decomp_layout_init(&run->layout, nx, ny, run->team->size, dims, kind, 2));
  CHECK(field_create(&run->layout, run->team, edges, 0.0, 1, &run->field));
  CHECK(halo_create(run->field, run->team, HALO_AUTO, &run->halo));
  struct solve_params p = {.method = &method_jacobi,
                           .tolerance = tolerance,
                           .max_iterations = max_iterations,
                           .check_interval = check_interval};
  if (variants_under_test != NULL) {
    p.variants_chosen = true;
    p.variants = *variants_under_test;
  }
  return solve_run(run->field, run->halo, run->team, &p, &run->result);
}

static void release(struct run *run) {
  variants_under_test = NULL; /* one run's, even where a failed assertion ended its test */
  halo_destroy(&run->halo);
  field_destroy(&run->field);
  team_destroy(&run->team);
}

/* The value of interior point (gi, gj) of the current iterate, or NAN if not on this rank. */
static double value_at(const struct run *run, int64_t gi, int64_t gj) {
  int64_t t, li, lj;
  if (decomp_owner(&run->layout, gi, gj, &t, &li, &lj) != run->team->rank)
    return NAN;
  const struct field *f = run->field;
  return field_interior(f, f->current, t)[li * field_stride(f, t) + lj];
}

/* Rings of the grids here (under RING_MAX a side): the top at 1, the rest at 0; and edges that
 * vary along their length (profiles), so a ring point read from the wrong place shows. */
enum { RING_MAX = 512 };
static const double ones[RING_MAX] = {[0 ... RING_MAX - 1] = 1.0}, zeros[RING_MAX] = {0};
static const struct field_boundary hot_top = {.side = {ones, zeros, zeros, zeros}};
static double profile[DECOMP_NSIDES][RING_MAX];
static const struct field_boundary profiles = {
    .side = {profile[0], profile[1], profile[2], profile[3]}};

static void fill_profiles(void) {
  static const double base[DECOMP_NSIDES] = {3.0, -1.5, 0.7, 2.25};
  for (int s = 0; s < DECOMP_NSIDES; s++)
    for (int r = 0; r < RING_MAX; r++)
      profile[s][r] = base[s] + sin(0.1 * r + s);
}

/* One point, top edge 1: T1 = 0.25 (diff 0.25), T2 = 0.25 (diff 0). Only for one rank. */
static void test_single_point_converges_at_second_iteration(void) {
  struct run run;
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1)
    return; /* a 1 x 1 grid has one point: more ranks than points is refused */
  CU_ASSERT_EQUAL_FATAL(solve(&run, 1, 1, DECOMP_BLOCK, &hot_top, 0.1, 100, 1), ERR_OK);
  CU_ASSERT_EQUAL(run.result.state.iteration, 2);
  CU_ASSERT_TRUE(run.result.converged);
  CU_ASSERT_EQUAL(run.result.state.change, 0.0);
  CU_ASSERT_EQUAL(value_at(&run, 0, 0), 0.25);
  release(&run);
}

/* Checks only at multiples of check_interval: with interval 3 the stop comes at 3, not 2. */
static void test_check_interval_delays_the_stop(void) {
  struct run run;
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1)
    return;
  CU_ASSERT_EQUAL_FATAL(solve(&run, 1, 1, DECOMP_BLOCK, &hot_top, 0.1, 100, 3), ERR_OK);
  CU_ASSERT_EQUAL(run.result.state.iteration, 3);
  CU_ASSERT_TRUE(run.result.converged);
  release(&run);
  /* max_iterations 1: diff 0.25 is not below 0.1, so not converged after 1. */
  CU_ASSERT_EQUAL_FATAL(solve(&run, 1, 1, DECOMP_BLOCK, &hot_top, 0.1, 1, 1), ERR_OK);
  CU_ASSERT_EQUAL(run.result.state.iteration, 1);
  CU_ASSERT_FALSE(run.result.converged);
  CU_ASSERT_EQUAL(run.result.state.change, 0.25);
  release(&run);
}

/* A plain Jacobi on the whole (ny+2) x (nx+2) grid, written without tiles: the reference. */
static double *reference(int64_t nx, int64_t ny, const struct field_boundary *e, double tol,
                         int64_t max_it, int64_t check, int64_t *iterations, double *residual) {
  int64_t w = nx + 2;
  double *a = calloc((size_t)(w * (ny + 2)), sizeof *a), *b = calloc((size_t)(w * (ny + 2)), 8);
  for (int64_t j = 0; j < w; j++) {
    a[j] = b[j] = e->side[DECOMP_NORTH][j];
    a[(ny + 1) * w + j] = b[(ny + 1) * w + j] = e->side[DECOMP_SOUTH][j];
  }
  for (int64_t i = 1; i <= ny; i++) {
    a[i * w] = b[i * w] = e->side[DECOMP_WEST][i];
    a[i * w + nx + 1] = b[i * w + nx + 1] = e->side[DECOMP_EAST][i];
  }
  for (int64_t k = 1; k <= max_it; k++) {
    double diff = 0.0;
    for (int64_t i = 1; i <= ny; i++)
      for (int64_t j = 1; j <= nx; j++) {
        b[i * w + j] = 0.25 * ((a[(i - 1) * w + j] + a[(i + 1) * w + j]) +
                               (a[i * w + j - 1] + a[i * w + j + 1]));
        diff = fmax(diff, fabs(b[i * w + j] - a[i * w + j]));
      }
    double *swap = a;
    a = b;
    b = swap;
    *iterations = k;
    *residual = diff;
    if ((k % check == 0 || k == max_it) && diff < tol)
      break;
  }
  free(b);
  return a;
}

static void compare_with_reference(int64_t nx, int64_t ny, enum decomp_kind kind, int64_t check) {
  fill_profiles();
  const struct field_boundary edges = profiles;
  const double tol = 1e-6;
  int64_t ref_iterations = 0;
  double ref_residual = 0;
  double *ref = reference(nx, ny, &edges, tol, 5000, check, &ref_iterations, &ref_residual);
  struct run run;
  CU_ASSERT_EQUAL_FATAL(solve(&run, nx, ny, kind, &edges, tol, 5000, check), ERR_OK);
  if (run.result.state.iteration != ref_iterations)
    fprintf(stderr, "\n  %lldx%lld check %lld: want %lld iterations, got %lld", (long long)nx,
            (long long)ny, (long long)check, (long long)ref_iterations,
            (long long)run.result.state.iteration);
  CU_ASSERT_EQUAL(run.result.state.iteration, ref_iterations);
  CU_ASSERT_EQUAL(run.result.state.change, ref_residual);
  CU_ASSERT_TRUE(run.result.converged);
  int64_t differ = 0;
  for (int64_t gi = 0; gi < ny; gi++)
    for (int64_t gj = 0; gj < nx; gj++) {
      double v = value_at(&run, gi, gj);
      if (!isnan(v) && v != ref[(gi + 1) * (nx + 2) + gj + 1])
        differ++;
    }
  CU_ASSERT_EQUAL(differ, 0);
  release(&run);
  free(ref);
}

static void test_same_iterations_and_field_as_plain_jacobi(void) {
  for (int64_t check = 1; check <= 7; check += 3) {
    compare_with_reference(7, 5, DECOMP_BLOCK, check);
    compare_with_reference(13, 11, DECOMP_CYCLIC, check);
    compare_with_reference(9, 17, DECOMP_BLOCK_CYCLIC, check);
  }
}

/* A trial switching variants in the run's first sweeps (regular stores with the diff always,
 * then streaming ones without it between checks, in the CPU's own instruction set), and the
 * variant it keeps after, changes no bit: the same count and field as the reference. */
static void test_a_trial_between_variants_changes_no_bit(void) {
  enum sweep_isa own = sweep_isa_default();
  struct tune_trial trial = {
      .choices = 2,
      .pair = {{{.isa = SWEEP_ISA_SSE2}, {.isa = SWEEP_ISA_SSE2, .always_diff = true}},
               {{.isa = own, .streaming = true}, {.isa = own, .streaming = true}}},
      .best = {INFINITY, INFINITY},
      .winner = -1};
  for (int64_t check = 1; check <= 4; check += 3) {
    trial.between = check > 1;
    variants_under_test = &trial;
    compare_with_reference(7, 5, DECOMP_BLOCK, check);
    variants_under_test = &trial;
    compare_with_reference(13, 11, DECOMP_CYCLIC, check);
  }
  struct run run;
  variants_under_test = &trial;
  CU_ASSERT_EQUAL_FATAL(solve(&run, 9, 17, DECOMP_BLOCK_CYCLIC, &hot_top, 1e-6, 5000, 2), ERR_OK);
  CU_ASSERT_TRUE(run.result.figures.variants.winner == 0 ||
                 run.result.figures.variants.winner == 1);
  CU_ASSERT_EQUAL(run.result.figures.variants.choices, 2);
  release(&run);
}

/* The plate with top edge 1, others 0, on the unit square: T(x, y) = sum over odd n of
 * 4 / (n pi) sin(n pi x) sinh(n pi y) / sinh(n pi), y = 1 on the top edge. */
static const double PI = 3.14159265358979323846;

static double analytic(double x, double y) {
  double sum = 0.0;
  for (int n = 1; n < 20001; n += 2) {
    double a = n * PI;
    /* sinh(a y) / sinh(a) without overflow */
    double ratio = exp(a * (y - 1.0)) * (1.0 - exp(-2.0 * a * y)) / (1.0 - exp(-2.0 * a));
    sum += 4.0 / a * sin(a * x) * ratio;
  }
  return sum;
}

/* Max error over the lower half of the plate (y <= 1/2). The edge data jump at the two top
 * corners, where the discrete solution converges to its own scale-invariant corner profile: the
 * error next to them stays near 7.2e-3 whatever h, so the global max error does not fall. At
 * distance >= 1/2 from those corners the scheme shows its second order; the error ratio per
 * halving of h approaches 4 from below as the corners' pollution fades (3.54, 3.75, 3.87, 3.94
 * from 16^2 to 256^2, matching an independent sparse direct solve of the same equations). */
static double max_error(int64_t n) {
  struct run run;
  CU_ASSERT_EQUAL_FATAL(solve(&run, n, n, DECOMP_BLOCK, &hot_top, 1e-14, 1000000, 10), ERR_OK);
  CU_ASSERT_TRUE(run.result.converged);
  double h = 1.0 / (double)(n + 1), local = 0.0;
  for (int64_t gi = 0; gi < n; gi++)
    for (int64_t gj = 0; gj < n; gj++) {
      double v = value_at(&run, gi, gj), x = (double)(gj + 1) * h, y = 1.0 - (double)(gi + 1) * h;
      if (!isnan(v) && y <= 0.5)
        local = fmax(local, fabs(v - analytic(x, y)));
    }
  double global = 0.0;
  MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  release(&run);
  return global;
}

static void test_second_order_against_analytic_plate(void) {
  double e16 = max_error(16), e32 = max_error(32), e64 = max_error(64);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0)
    fprintf(stderr,
            "\n  max error for y <= 1/2: 16^2 %.3e, 32^2 %.3e (ratio %.2f), 64^2 %.3e (ratio %.2f)",
            e16, e32, e16 / e32, e64, e32 / e64);
  double coarse = e16 / e32, fine = e32 / e64;
  CU_ASSERT_TRUE(coarse > 3.4 && coarse < 4.6);
  CU_ASSERT_TRUE(fine > 3.4 && fine < 4.6);
  CU_ASSERT_TRUE(fabs(fine - 4.0) < fabs(coarse - 4.0));
}

/* A field with a NaN or an infinity at one point certifies nothing: every rank gets the same
 * failure, though a max of the changes would drop the NaN; the same field, finite, certifies. */
static void test_a_field_not_finite_is_not_certified(void) {
  struct run run;
  CU_ASSERT_EQUAL_FATAL(solve(&run, 21, 13, DECOMP_BLOCK, &hot_top, 1e-6, 100000, 1), ERR_OK);
  struct estimate_coarse coarse;
  estimate_coarse_init(&coarse, 21, 13);
  const double bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t b = 0; b <= sizeof bad / sizeof bad[0]; b++) {
    int64_t t, li, lj;
    double *point = NULL, kept = 0.0;
    if (b < sizeof bad / sizeof bad[0] &&
        decomp_owner(&run.layout, 7, 15, &t, &li, &lj) == run.team->rank) {
      point =
          field_interior(run.field, run.field->current, t) + li * field_stride(run.field, t) + lj;
      kept = *point;
      *point = bad[b];
    }
    CU_ASSERT_EQUAL_FATAL(halo_exchange(run.halo, run.field->current), ERR_OK);
    struct certify_result c;
    int status = certify_field(run.field, run.team, &coarse, &c);
    bool finite = b == sizeof bad / sizeof bad[0];
    EXPECT(status == (finite ? ERR_OK : ERR_FAILURE), "value %g at (7, 15): status %d",
           finite ? 0.0 : bad[b], status);
    if (finite)
      EXPECT(c.change < 1e-5, "the converged field's change %g", c.change);
    if (point != NULL)
      *point = kept;
  }
  release(&run);
}

/* The certificate in one pass (certify.h): a field that is T* plus half the slowest mode,
 * 0.5 sin(pi i / (ny + 1)) sin(pi j / (nx + 1)), whose error is therefore known (to the few
 * 1e-12 the converged solve leaves), is certified alike with a good hint, one far too low, one
 * far too high and none (every figure the same bits; the estimate, quantised at another scale,
 * within 1e-9); and the slowest mode's bound is that error, to rounding: never below it, and
 * at most 1e-9 above. */
static void test_one_pass_certificate_and_the_slowest_mode(void) {
  enum { NX = 41, NY = 23 };
  const double c = 0.5, pi = 3.14159265358979323846;
  struct run run;
  CU_ASSERT_EQUAL_FATAL(solve(&run, NX, NY, DECOMP_BLOCK, &hot_top, 1e-15, 1000000, 1), ERR_OK);
  /* the solve's own error: at most ||A^-1|| 4 d (estimate.h), d its last change */
  struct estimate_model model;
  estimate_init(&model, NX, NY, 1.0, false);
  double left = model.inverse_norm * 4 * run.result.state.change + 1e-13;
  struct field *f = run.field;
  for (int64_t t = 0; t < f->ntiles; t++)
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        int64_t gi = f->tiles[t].row0 + li + 1, gj = f->tiles[t].col0 + lj + 1;
        field_interior(f, f->current, t)[li * field_stride(f, t) + lj] +=
            c * sin(pi * (double)gi / (NY + 1)) * sin(pi * (double)gj / (NX + 1));
      }
  CU_ASSERT_EQUAL_FATAL(halo_exchange(run.halo, f->current), ERR_OK);
  double most = c * sin(pi * 12 / (NY + 1)) * sin(pi * 21 / (NX + 1)); /* the centre: max s */
  struct estimate_coarse coarse;
  estimate_coarse_init(&coarse, NX, NY);
  struct certify_result none;
  CU_ASSERT_EQUAL_FATAL(certify_field(f, run.team, &coarse, &none), ERR_OK);
  const double hints[] = {4 * none.change, 4e-6 * none.change, 4e6 * none.change, 0.0};
  for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++) {
    struct certify_result got;
    CU_ASSERT_EQUAL_FATAL(certify_field_hinted(f, run.team, &coarse, hints[h], &got), ERR_OK);
    EXPECT(got.change == none.change && got.lo == none.lo && got.hi == none.hi &&
               got.reach == none.reach && got.profile == none.profile && got.sine == none.sine,
           "hint %g: a figure differs from the unhinted certificate's", hints[h]);
    EXPECT(fabs(got.estimate - none.estimate) <= 1e-9 * none.estimate,
           "hint %g: the estimate %.17g, unhinted %.17g", hints[h], got.estimate, none.estimate);
  }
  double bound = estimate_bound_profile(&model, none.sine);
  EXPECT(bound >= most - left && bound <= most * (1 + 1e-9) + left,
         "the slowest mode's bound %.17g for an error of %.17g (+- %g)", bound, most, left);
  /* the profile's bound is looser here (1.42x measured): what the new one is for */
  EXPECT(estimate_bound_profile(&model, none.profile) > 1.3 * most, "the profile's %g",
         estimate_bound_profile(&model, none.profile));
  release(&run);
}

/* Every method behind method.h runs through the one loop: on the same plate, to the error
 * target, each converges, and its field lies within its guaranteed bound of Jacobi's (both are
 * within their bounds of T*). Chebyshev takes under a quarter of Jacobi's iterations (about the
 * square root of their count), and multigrid's
 * steps are cycles, a handful; each reports its own figures. */
static void test_every_method_runs_through_the_one_loop(void) {
  const struct method_ops *methods[] = {&method_jacobi, &method_chebyshev, &method_multigrid};
  enum { NX = 31, NY = 23, NMETHODS = 3 };
  const double target = 1e-6;
  double *field[NMETHODS];
  double bound[NMETHODS];
  int64_t steps[NMETHODS];
  for (int m = 0; m < NMETHODS; m++) {
    struct run run = {0};
    int dims[2] = {0, 0};
    CU_ASSERT_EQUAL_FATAL(team_create(MPI_COMM_WORLD, &run.team), ERR_OK);
    CU_ASSERT_EQUAL_FATAL(team_split_nodes(run.team, 0), ERR_OK);
    CU_ASSERT_EQUAL_FATAL(decomp_dims_fill(run.team->size, dims), ERR_OK);
    CU_ASSERT_EQUAL_FATAL(
        decomp_layout_init(&run.layout, NX, NY, run.team->size, dims, DECOMP_BLOCK, 1), ERR_OK);
    CU_ASSERT_EQUAL_FATAL(field_create(&run.layout, run.team, &hot_top, 0.0, 1, &run.field),
                          ERR_OK);
    CU_ASSERT_EQUAL_FATAL(halo_create(run.field, run.team, HALO_AUTO, &run.halo), ERR_OK);
    struct solve_params p = {.method = methods[m],
                             .target_error = target,
                             .stall = {INFINITY, 0},
                             .max_iterations = 100000,
                             .check_interval = 1};
    estimate_init(&p.estimate, NX, NY, 1.0, !methods[m]->contraction);
    estimate_reference_uniform(&p.estimate, 0, 0.0, 0.0, 1.0);
    CU_ASSERT_EQUAL_FATAL(solve_run(run.field, run.halo, run.team, &p, &run.result), ERR_OK);
    EXPECT(run.result.converged && run.result.state.error_bound <= target,
           "%s: converged %d, bound %g", methods[m]->name, run.result.converged,
           run.result.state.error_bound);
    steps[m] = run.result.state.iteration;
    bound[m] = run.result.state.error_bound;
    field[m] = calloc(NX * NY, sizeof *field[m]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(field[m]);
    for (int64_t gi = 0; gi < NY; gi++)
      for (int64_t gj = 0; gj < NX; gj++) {
        double v = value_at(&run, gi, gj);
        field[m][gi * NX + gj] = isnan(v) ? 0.0 : v; /* summed over the ranks below */
      }
    MPI_Allreduce(MPI_IN_PLACE, field[m], NX * NY, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    if (methods[m] == &method_multigrid)
      EXPECT(run.result.figures.levels > 1 && run.result.figures.work_per_step > 1.0,
             "multigrid: %d levels, %g sweeps a cycle", run.result.figures.levels,
             run.result.figures.work_per_step);
    release(&run);
  }
  for (int m = 1; m < NMETHODS; m++) {
    double worst = 0.0;
    for (int64_t k = 0; k < NX * NY; k++)
      worst = fmax(worst, fabs(field[m][k] - field[0][k]));
    EXPECT(worst <= bound[m] + bound[0], "%s against jacobi: %g apart, bounds %g + %g",
           methods[m]->name, worst, bound[m], bound[0]);
  }
  EXPECT(4 * steps[1] < steps[0], "chebyshev %lld iterations, jacobi %lld", (long long)steps[1],
         (long long)steps[0]);
  EXPECT(steps[2] > 0 && steps[2] < 30, "multigrid %lld cycles", (long long)steps[2]);
  for (int m = 0; m < NMETHODS; m++)
    free(field[m]);
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"single_point_converges_at_second_iteration",
       test_single_point_converges_at_second_iteration},
      {"check_interval_delays_the_stop", test_check_interval_delays_the_stop},
      {"same_iterations_and_field_as_plain_jacobi", test_same_iterations_and_field_as_plain_jacobi},
      {"second_order_against_analytic_plate", test_second_order_against_analytic_plate},
      {"a_field_not_finite_is_not_certified", test_a_field_not_finite_is_not_certified},
      {"one_pass_certificate_and_the_slowest_mode", test_one_pass_certificate_and_the_slowest_mode},
      {"a_trial_between_variants_changes_no_bit", test_a_trial_between_variants_changes_no_bit},
      {"every_method_runs_through_the_one_loop", test_every_method_runs_through_the_one_loop},
  };
  return TESTS_ADD_SUITE("solve", cases);
}
