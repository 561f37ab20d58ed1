/* test_comparison.c - the bound on ||A^-1||inf of the faces operator (comparison.h), on operators
 * filled here by hand point by point (held and insulated edges, a conductivity that varies by
 * 1000, exchange through the faces, a held point), against the truth: ||A^-1||inf = max A^-1 1
 * from a dense Gaussian elimination of the same matrix written independently here. The bound is
 * never below it, close to it once w has converged, and the same bits on every decomposition.
 * Runs under mpiexec with any rank count. */
#include "common/err.h"
#include "decomp/decomp.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/bound/certify.h"
#include "solver/bound/comparison.h"
#include "solver/bound/estimate.h"
#include "tests/cunit_main.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

/* An operator: held or insulated edges (N, S, W, E), face conductances from a function of the
 * face's position, exchange through the faces, and optionally one held point. */
struct plate_op {
  int64_t nx, ny;
  bool insulated[DECOMP_NSIDES];
  double jump;     /* conductivity ratio between the left third and the rest (1: uniform) */
  double exchange; /* W/K to the ambient at every point (0: none) */
  bool held_point; /* the point (ny / 2, nx / 2) held */
};

static double conductivity(const struct plate_op *op, double i, double j) {
  (void)i;
  return j < (double)op->nx / 3 ? op->jump : 1.0 + 0.25 * sin(j);
}

/* The conductance of the face from (i, j) towards side s, as the operator defines it: the
 * harmonic mean of the two points' conductivities (symmetric bit for bit: the same two values in
 * the same order for both points), 0 across an insulated edge or into a held point. */
static double face(const struct plate_op *op, int64_t i, int64_t j, int s) {
  int64_t ni = i + (s == DECOMP_SOUTH) - (s == DECOMP_NORTH);
  int64_t nj = j + (s == DECOMP_EAST) - (s == DECOMP_WEST);
  bool ring = ni < 0 || ni >= op->ny || nj < 0 || nj >= op->nx;
  if (ring && op->insulated[s])
    return 0.0;
  bool held = op->held_point && ((i == op->ny / 2 && j == op->nx / 2));
  if (held)
    return 0.0;
  int64_t ai = i < ni ? i : ni, aj = j < nj ? j : nj, bi = i < ni ? ni : i, bj = j < nj ? nj : j;
  double ka = conductivity(op, (double)ai, (double)aj),
         kb = conductivity(op, (double)bi, (double)bj);
  return 2 * ka * kb / (ka + kb);
}

static bool is_held(const struct plate_op *op, int64_t i, int64_t j) {
  return op->held_point && i == op->ny / 2 && j == op->nx / 2;
}

static double diagonal(const struct plate_op *op, int64_t i, int64_t j) {
  if (is_held(op, i, j))
    return 1.0;
  double sum = 0;
  for (int s = 0; s < DECOMP_NSIDES; s++)
    sum += face(op, i, j, s);
  return sum + op->exchange;
}

static double load_at(int64_t i, int64_t j) { return 1.0 + 0.1 * (double)i - 0.05 * (double)j; }

/* y = A^-1 rhs (rhs NULL: 1 everywhere) by Gaussian elimination with partial pivoting of the
 * dense matrix; returns max y. */
static double dense_solve(const struct plate_op *op, bool with_load, double *solution) {
  int64_t n = op->nx * op->ny;
  double *a = calloc((size_t)(n * (n + 1)), sizeof *a);
  for (int64_t i = 0; i < op->ny; i++)
    for (int64_t j = 0; j < op->nx; j++) {
      int64_t p = i * op->nx + j;
      double *row = a + p * (n + 1);
      row[p] = diagonal(op, i, j);
      row[n] = with_load ? load_at(i, j) : 1.0;
      for (int s = 0; s < DECOMP_NSIDES; s++) {
        int64_t ni = i + (s == DECOMP_SOUTH) - (s == DECOMP_NORTH);
        int64_t nj = j + (s == DECOMP_EAST) - (s == DECOMP_WEST);
        if (ni >= 0 && ni < op->ny && nj >= 0 && nj < op->nx)
          row[ni * op->nx + nj] -= face(op, i, j, s);
      }
    }
  for (int64_t c = 0; c < n; c++) {
    int64_t pivot = c;
    for (int64_t r = c + 1; r < n; r++)
      if (fabs(a[r * (n + 1) + c]) > fabs(a[pivot * (n + 1) + c]))
        pivot = r;
    for (int64_t k = 0; k <= n; k++) {
      double t = a[c * (n + 1) + k];
      a[c * (n + 1) + k] = a[pivot * (n + 1) + k];
      a[pivot * (n + 1) + k] = t;
    }
    for (int64_t r = c + 1; r < n; r++) {
      double m = a[r * (n + 1) + c] / a[c * (n + 1) + c];
      for (int64_t k = c; k <= n; k++)
        a[r * (n + 1) + k] -= m * a[c * (n + 1) + k];
    }
  }
  double most = 0;
  double *y = calloc((size_t)n, sizeof *y);
  for (int64_t r = n - 1; r >= 0; r--) {
    double s = a[r * (n + 1) + n];
    for (int64_t k = r + 1; k < n; k++)
      s -= a[r * (n + 1) + k] * y[k];
    y[r] = s / a[r * (n + 1) + r];
    most = fmax(most, y[r]);
  }
  if (solution != NULL)
    memcpy(solution, y, (size_t)n * sizeof *y);
  free(y);
  free(a);
  return most;
}

static double true_inverse_norm(const struct plate_op *op) { return dense_solve(op, false, NULL); }

/* The certificates of `op` on all ranks, decomposed by `kind` on a process grid of dims. */
static int certify(const struct plate_op *op, enum decomp_kind kind, int prows, int64_t sweeps,
                   struct comparison_bound *out, double *error_bound, double *true_error) {
  struct team *team = NULL;
  struct decomp_layout layout;
  struct field *f = NULL;
  struct halo *halo = NULL;
  CHECK(team_create(MPI_COMM_WORLD, &team));
  CHECK(team_split_nodes(team, 0));
  int dims[2] = {prows, team->size / prows};
  if (dims[0] * dims[1] != team->size)
    dims[0] = team->size, dims[1] = 1;
  CHECK(decomp_layout_init(&layout, op->nx, op->ny, team->size, dims, kind, 2));
  CHECK(field_create(&layout, team, &(struct field_boundary){{NULL}}, 7.0, 1, &f));
  for (int s = 0; s < DECOMP_NSIDES; s++)
    f->cond[s] = calloc((size_t)f->buffer_len, sizeof(double));
  f->diag = calloc((size_t)f->buffer_len, sizeof(double));
  f->load = calloc((size_t)f->buffer_len, sizeof(double));
  for (int64_t t = 0; t < f->ntiles; t++)
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        int64_t o = f->tile_offset[t] + (li + f->depth) * field_stride(f, t) + f->depth + lj;
        int64_t i = f->tiles[t].row0 + li, j = f->tiles[t].col0 + lj;
        for (int s = 0; s < DECOMP_NSIDES; s++)
          f->cond[s][o] = face(op, i, j, s);
        f->diag[o] = diagonal(op, i, j);
        f->load[o] = load_at(i, j);
      }
  CHECK(halo_create(f, team, HALO_AUTO, &halo));
  int status = comparison_bound(f, halo, team, sweeps, out);
  /* the field is as it was: 7 everywhere inside */
  bool kept = true;
  for (int64_t t = 0; t < f->ntiles; t++)
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      kept = kept && field_interior(f, f->current, t)[li * field_stride(f, t)] == 7.0;
  EXPECT(kept, "the field's buffers were not restored after the comparison function");
  if (status == ERR_OK && error_bound != NULL) {
    /* the field (7 everywhere) measured as the run does: the faces change, the model made the
     * faces operator's, the bound of estimate_bound; against the dense solve's T* */
    struct estimate_coarse coarse;
    estimate_coarse_init(&coarse, op->nx, op->ny);
    status = halo_exchange(halo, f->current);
    struct certify_result c;
    if (status == ERR_OK)
      status = certify_field(f, team, &coarse, &c);
    struct estimate_model m;
    estimate_init(&m, op->nx, op->ny, 7.0, false);
    estimate_faces(&m, out->inverse_norm, out->diag_max, out->load_scale);
    *error_bound = estimate_bound(&m, c.change, false, 0);
    double *exact = malloc((size_t)(op->nx * op->ny) * sizeof *exact);
    dense_solve(op, true, exact);
    *true_error = 0;
    for (int64_t i = 0; i < op->ny * op->nx; i++)
      *true_error = fmax(*true_error, fabs(7.0 - exact[i]));
    free(exact);
  }
  halo_destroy(&halo);
  field_destroy(&f);
  team_destroy(&team);
  return status;
}

static void expect_bound(const char *what, const struct plate_op *op, int64_t sweeps,
                         double tight) {
  double truth = true_inverse_norm(op);
  struct comparison_bound b;
  CU_ASSERT_EQUAL_FATAL(certify(op, DECOMP_BLOCK, 1, sweeps, &b, NULL, NULL), ERR_OK);
  EXPECT(b.inverse_norm >= truth, "%s: the bound %.17g is below ||A^-1|| = %.17g", what,
         b.inverse_norm, truth);
  EXPECT(b.inverse_norm <= tight * truth, "%s: the bound %.6g is more than %g x ||A^-1|| = %.6g",
         what, b.inverse_norm, tight, truth);
  EXPECT(b.inverse_norm == fmin(b.comparison, b.dominance), "%s: not the tighter of the two", what);
}

static void test_held_edges_uniform_conductivity(void) {
  struct plate_op op = {.nx = 9, .ny = 7, .jump = 1.0};
  expect_bound("held 9 x 7", &op, 2000, 1.01);
}

static void test_insulated_sides_and_a_jump_of_1000(void) {
  struct plate_op op = {
      .nx = 8, .ny = 6, .insulated = {[DECOMP_WEST] = true, [DECOMP_EAST] = true}, .jump = 1000.0};
  expect_bound("insulated sides, k jump 1000", &op, 6000, 1.05);
  struct plate_op thin = {.nx = 1, .ny = 11, .insulated = {[DECOMP_NORTH] = true}, .jump = 1.0};
  expect_bound("1 x 11, insulated top", &thin, 4000, 1.01);
}

static void test_face_exchange_is_diagonally_dominant(void) {
  /* every edge insulated: only the exchange through the faces holds the plate; the dominance
   * bound is 1 / exchange, exact for a uniform w */
  struct plate_op op = {
      .nx = 6, .ny = 5, .insulated = {true, true, true, true}, .jump = 3.0, .exchange = 0.5};
  double truth = true_inverse_norm(&op);
  struct comparison_bound b;
  CU_ASSERT_EQUAL_FATAL(certify(&op, DECOMP_BLOCK, 1, 0, &b, NULL, NULL), ERR_OK);
  EXPECT(isfinite(b.dominance) && b.dominance >= truth && b.dominance <= 1.0000001 * truth,
         "dominance %.17g, ||A^-1|| %.17g (both 1 / 0.5)", b.dominance, truth);
  EXPECT(b.inverse_norm >= truth, "bound %.17g below %.17g", b.inverse_norm, truth);
}

static void test_held_point_and_too_few_sweeps(void) {
  struct plate_op op = {
      .nx = 7, .ny = 7, .jump = 1.0, .held_point = true, .insulated = {[DECOMP_SOUTH] = true}};
  expect_bound("a held point, insulated bottom", &op, 3000, 1.01);
  /* one sweep leaves A w = 0 inside (w = 1 / diag is flat there): no comparison, and no
   * dominance either: no bound rather than a wrong one */
  struct comparison_bound b;
  CU_ASSERT_EQUAL_FATAL(certify(&op, DECOMP_BLOCK, 1, 1, &b, NULL, NULL), ERR_OK);
  EXPECT(isinf(b.inverse_norm), "after one sweep: %.6g, expected no bound (infinity)",
         b.inverse_norm);
}

static void test_same_bits_on_every_decomposition(void) {
  struct plate_op op = {
      .nx = 13, .ny = 11, .insulated = {[DECOMP_EAST] = true}, .jump = 50.0, .exchange = 0.01};
  struct comparison_bound ref, b;
  CU_ASSERT_EQUAL_FATAL(certify(&op, DECOMP_BLOCK, 1, 500, &ref, NULL, NULL), ERR_OK);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const struct {
    enum decomp_kind kind;
    int prows;
  } plans[] = {{DECOMP_CYCLIC, 1}, {DECOMP_BLOCK_CYCLIC, size}, {DECOMP_BLOCK, size}};
  for (size_t p = 0; p < sizeof plans / sizeof plans[0]; p++) {
    CU_ASSERT_EQUAL_FATAL(certify(&op, plans[p].kind, plans[p].prows, 500, &b, NULL, NULL), ERR_OK);
    EXPECT(memcmp(&b, &ref, sizeof b) == 0,
           "plan %zu: bound %.17g (w %.17g, c %.17g), one block per rank %.17g", p, b.inverse_norm,
           b.w_max, b.c, ref.inverse_norm);
  }
}

/* The whole bound of a faces plate as the run makes it (comparison_bound, estimate_faces, the
 * certificate's faces change, estimate_bound) never below the true error of a field, T* from the
 * dense solve of A T = load, on every kind of operator here. */
static void test_error_bound_of_a_faces_field(void) {
  const struct plate_op ops[] = {
      {.nx = 9, .ny = 7, .jump = 1.0},
      {.nx = 8, .ny = 6, .insulated = {[DECOMP_WEST] = true, [DECOMP_EAST] = true}, .jump = 1000.0},
      {.nx = 6, .ny = 5, .insulated = {true, true, true, true}, .jump = 3.0, .exchange = 0.5},
      {.nx = 7, .ny = 7, .jump = 1.0, .held_point = true, .insulated = {[DECOMP_SOUTH] = true}},
  };
  for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
    struct comparison_bound b;
    double bound = 0, truth = 0;
    CU_ASSERT_EQUAL_FATAL(certify(&ops[k], DECOMP_BLOCK, 1, comparison_sweeps(ops[k].nx, ops[k].ny),
                                  &b, &bound, &truth),
                          ERR_OK);
    EXPECT(isfinite(bound) && bound >= truth, "operator %zu: the bound %.17g, the true error %.17g",
           k, bound, truth);
  }
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"held_edges_uniform_conductivity", test_held_edges_uniform_conductivity},
      {"insulated_sides_and_a_jump_of_1000", test_insulated_sides_and_a_jump_of_1000},
      {"face_exchange_is_diagonally_dominant", test_face_exchange_is_diagonally_dominant},
      {"held_point_and_too_few_sweeps", test_held_point_and_too_few_sweeps},
      {"same_bits_on_every_decomposition", test_same_bits_on_every_decomposition},
      {"error_bound_of_a_faces_field", test_error_bound_of_a_faces_field},
  };
  return TESTS_ADD_SUITE("comparison", cases);
}
