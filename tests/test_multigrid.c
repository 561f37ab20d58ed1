/* test_multigrid.c - multigrid on a general plate (issue 16: a source and fixed regions) and on
 * the faces operator (issue 30: edges of every kind, face exchange, composite conductivity): the
 * cycles converge to the solution of the discrete equations, computed here independently by a
 * banded Gaussian elimination on the whole grid; fixed points keep their held values bit for
 * bit; and the field is bit for bit the same on every partitioner and process grid as on one
 * rank (rank 0 alone, on MPI_COMM_SELF). Runs under mpiexec with any rank count. */
#include "common/err.h"
#include "decomp/decomp.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/method/multigrid/multigrid.h"
#include "tests/cunit_main.h"
#include "tests/faces_plate.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plate under test: 90 x 60 (three levels: 45 x 30, then the coarsest 22 x 15), or the
 * small-features plate, 255 x 255 (five levels down to 15 x 15). */
static int64_t plate_nx = 90, plate_ny = 60;
static bool small_features = false;
static bool laplace_plate = false; /* no sources, no fixed points: the plain operators */

/* The small-features plate: disks of radius 1 to 3 and lone points, which the grid lines of
 * the coarse levels mostly miss. Before the absorption rule (docs/numerics.md, "Sources and fixed
 * regions") a cycle reduced the change by 0.69 at worst here, and 40 cycles left 1e-7 (such plates
 * diverged at 1023^2); now 0.14. */
static bool small_fixed_at(int64_t gi, int64_t gj, double *held) {
  static const double disks[][3] = {{37.3, 201.6, 2.9}, {120.2, 59.8, 1.0}, {181.7, 133.1, 2.2},
                                    {66.5, 90.4, 1.6},  {214.4, 22.6, 2.6}, {150.9, 230.3, 1.3},
                                    {99.1, 170.7, 2.0}, {240.6, 110.2, 2.4}};
  for (size_t k = 0; k < sizeof disks / sizeof disks[0]; k++) {
    double di = (double)gi - disks[k][0], dj = (double)gj - disks[k][1];
    if (di * di + dj * dj <= disks[k][2] * disks[k][2])
      return *held = 10.0 * (double)k, true;
  }
  if ((gi * 37 + gj * 11) % 499 == 3) /* scattered lone points, about 1 in 500 */
    return *held = -5.0, true;
  return false;
}

/* The plate: top edge 100, others 0; a disk of radius 2 (held at 200), a wall one point wide
 * (held at 0, on a column no coarse level keeps), a rectangle (50) and an isolated point (-20);
 * a source term b = 0.01 (1 + sin(0.1 j)) at the free points. */
static bool fixed_at(int64_t gi, int64_t gj, double *held) {
  if (small_features)
    return small_fixed_at(gi, gj, held);
  if ((gi - 33) * (gi - 33) + (gj - 36) * (gj - 36) <= 4)
    return *held = 200.0, true;
  if (gj == 60 && gi >= 15 && gi < 45)
    return *held = 0.0, true;
  if (gi >= 8 && gi < 20 && gj >= 10 && gj < 31)
    return *held = 50.0, true;
  if (gi == 47 && gj == 17)
    return *held = -20.0, true;
  return false;
}

static double source_at(int64_t gj) { return 0.01 * (1.0 + sin(0.1 * (double)gj)); }

struct mgrun {
  struct team *team;
  struct decomp_layout layout;
  struct field *field;
  struct halo *halo;
  struct multigrid *mg;
  double *ring[2];
};

static int start(struct mgrun *run, MPI_Comm comm, enum decomp_kind kind, int block,
                 const int dims_in[2], const struct multigrid_params *p) {
  *run = (struct mgrun){0};
  int dims[2] = {dims_in[0], dims_in[1]};
  CHECK(team_create(comm, &run->team));
  CHECK(team_split_nodes(run->team, 0));
  CHECK(decomp_dims_fill(run->team->size, dims));
  CHECK(decomp_layout_init(&run->layout, plate_nx, plate_ny, run->team->size, dims, kind, block));
  run->ring[0] = malloc((plate_nx + 2) * sizeof(double));
  run->ring[1] = calloc(plate_nx + 2, sizeof(double));
  for (int j = 0; j < plate_nx + 2; j++)
    run->ring[0][j] = 100.0;
  const struct field_boundary edges = {{run->ring[0], run->ring[1], run->ring[1], run->ring[1]}};
  CHECK(field_create(&run->layout, run->team, &edges, 0.0, 1, &run->field));
  struct field *f = run->field;
  if (laplace_plate) {
    CHECK(halo_create(f, run->team, HALO_AUTO, &run->halo));
    return multigrid_create(f, run->halo, run->team, p, &run->mg);
  }
  f->coef = malloc((size_t)f->buffer_len * sizeof(double));
  f->rhs = malloc((size_t)f->buffer_len * sizeof(double));
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t s = field_stride(f, t), at = f->tile_offset[t] + s + 1;
    for (int64_t i = 0; i < f->tiles[t].nrows; i++)
      for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
        double held = 0.0;
        int64_t gi = f->tiles[t].row0 + i, gj = f->tiles[t].col0 + j;
        bool fx = fixed_at(gi, gj, &held);
        f->coef[at + i * s + j] = fx ? 0.0 : 1.0;
        f->rhs[at + i * s + j] = fx ? held : source_at(gj);
        for (int b = 0; fx && b < 2; b++)
          field_interior(f, b, t)[i * s + j] = held;
      }
  }
  CHECK(halo_create(f, run->team, HALO_AUTO, &run->halo));
  return multigrid_create(f, run->halo, run->team, p, &run->mg);
}

static void release(struct mgrun *run) {
  multigrid_destroy(&run->mg);
  halo_destroy(&run->halo);
  field_destroy(&run->field);
  team_destroy(&run->team);
  free(run->ring[0]);
  free(run->ring[1]);
}

/* Cycles until the agreed change is below 1e-11 (at most 80); returns the count. */
static int converge(struct mgrun *run, bool fmg) {
  for (int k = 1; k <= 80; k++) {
    double d = multigrid_cycle(run->mg, fmg && k == 1), all;
    MPI_Allreduce(&d, &all, 1, MPI_DOUBLE, MPI_MAX, run->team->comm);
    if (all < 1e-11)
      return k;
  }
  return 81;
}

/* The discrete equations on the whole grid, by banded elimination (row-major unknowns, band
 * plate_nx): 4 T - (N + S + W + E) = 4 b at a free point, T = held at a fixed one. */
static double *direct_solution(void) {
  int64_t n = (int64_t)plate_nx * plate_ny, bw = plate_nx, width = 2 * bw + 1;
  double *a = calloc((size_t)(n * width), sizeof *a), *x = calloc((size_t)n, sizeof *x);
#define A(u, v) a[(u)*width + bw + (v) - (u)]
  for (int64_t i = 0; i < plate_ny; i++)
    for (int64_t j = 0; j < plate_nx; j++) {
      int64_t u = i * plate_nx + j;
      double held;
      if (fixed_at(i, j, &held)) {
        A(u, u) = 1.0;
        x[u] = held;
        continue;
      }
      A(u, u) = 4.0;
      x[u] = 4.0 * source_at(j) + (i == 0 ? 100.0 : 0.0);
      if (i > 0)
        A(u, u - plate_nx) = -1.0;
      if (i < plate_ny - 1)
        A(u, u + plate_nx) = -1.0;
      if (j > 0)
        A(u, u - 1) = -1.0;
      if (j < plate_nx - 1)
        A(u, u + 1) = -1.0;
    }
  for (int64_t k = 0; k < n; k++)
    for (int64_t i = k + 1; i <= k + bw && i < n; i++) {
      double m = A(i, k) / A(k, k);
      if (m == 0.0)
        continue;
      for (int64_t j = k; j <= k + bw && j < n; j++)
        A(i, j) -= m * A(k, j);
      x[i] -= m * x[k];
    }
  for (int64_t u = n - 1; u >= 0; u--) {
    double s = x[u];
    for (int64_t v = u + 1; v <= u + bw && v < n; v++)
      s -= A(u, v) * x[v];
    x[u] = s / A(u, u);
  }
#undef A
  free(a);
  return x;
}

static const struct multigrid_params vcycle = {
    .cycle = MULTIGRID_V, .smoother = MULTIGRID_REDBLACK, .pre = 2, .post = 2};

static void test_general_plate_converges_to_the_discrete_solution(void) {
  static const int any[2] = {0, 0};
  const struct multigrid_params variants[] = {
      vcycle,
      {.cycle = MULTIGRID_F, .smoother = MULTIGRID_CHEBYSHEV, .pre = 2, .post = 2, .fmg = true},
      {.cycle = MULTIGRID_W, .smoother = MULTIGRID_JACOBI, .pre = 2, .post = 2}};
  double *exact = direct_solution();
  for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
    struct mgrun run;
    CU_ASSERT_EQUAL_FATAL(start(&run, MPI_COMM_WORLD, DECOMP_BLOCK, 1, any, &variants[v]), ERR_OK);
    int cycles = converge(&run, variants[v].fmg);
    EXPECT(cycles <= 40, "variant %zu: %d cycles to a change of 1e-11 (expected <= 40)", v, cycles);
    const struct field *f = run.field;
    double worst = 0.0;
    int64_t moved = 0;
    for (int64_t t = 0; t < f->ntiles; t++) {
      const double *x = field_interior(f, f->current, t);
      for (int64_t i = 0; i < f->tiles[t].nrows; i++)
        for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
          int64_t gi = f->tiles[t].row0 + i, gj = f->tiles[t].col0 + j;
          double got = x[i * field_stride(f, t) + j], held;
          worst = fmax(worst, fabs(got - exact[gi * plate_nx + gj]));
          moved += fixed_at(gi, gj, &held) && got != held;
        }
    }
    EXPECT(worst < 1e-9, "variant %zu: max |T - T*| = %g (expected < 1e-9)", v, worst);
    EXPECT(moved == 0, "variant %zu: %lld fixed points moved off their held value", v,
           (long long)moved);
    release(&run);
  }
  free(exact);
}

/* Five cycles on every layout give rank 0's own (MPI_COMM_SELF) field, bit for bit. */
static void test_general_plate_identical_on_every_decomposition(void) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  static const int any[2] = {0, 0};
  const struct multigrid_params variants[] = {
      vcycle,
      {.cycle = MULTIGRID_F, .smoother = MULTIGRID_CHEBYSHEV, .pre = 3, .post = 1, .fmg = true}};
  for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
    uint64_t want = 0;
    if (rank == 0) {
      struct mgrun one;
      CU_ASSERT_EQUAL_FATAL(start(&one, MPI_COMM_SELF, DECOMP_BLOCK, 1, any, &variants[v]), ERR_OK);
      for (int k = 1; k <= 5; k++)
        multigrid_cycle(one.mg, variants[v].fmg && k == 1);
      want = field_checksum(one.field, one.team);
      release(&one);
    }
    MPI_Bcast(&want, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    const struct {
      enum decomp_kind kind;
      int block, dims[2];
    } layouts[] = {{DECOMP_BLOCK, 1, {0, 0}},
                   {DECOMP_CYCLIC, 1, {1, 0}},
                   {DECOMP_BLOCK_CYCLIC, 7, {0, 1}},
                   {DECOMP_BLOCK, 1, {size, 1}}};
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
      int dims[2] = {layouts[k].dims[0], layouts[k].dims[1]};
      if (dims[0] == 1 && dims[1] == 0)
        dims[1] = size;
      if (dims[0] == 0 && dims[1] == 1)
        dims[0] = size;
      struct mgrun run;
      CU_ASSERT_EQUAL_FATAL(
          start(&run, MPI_COMM_WORLD, layouts[k].kind, layouts[k].block, dims, &variants[v]),
          ERR_OK);
      for (int c = 1; c <= 5; c++)
        multigrid_cycle(run.mg, variants[v].fmg && c == 1);
      uint64_t got = field_checksum(run.field, run.team);
      EXPECT(got == want, "variant %zu layout %zu on %d ranks: checksum %016llx, 1 rank %016llx", v,
             k, size, (unsigned long long)got, (unsigned long long)want);
      release(&run);
    }
  }
}

/* The restriction of a residual in one pass (no stored residual; one tile, one rank) and the
 * interpolation from the coarse tile in place, against the residual stored, fetched and
 * restricted and the coarse values fetched (multigrid_restrict_apart), point by point after
 * each of four cycles, V and FMG + F, on the general plate and on the Laplace one. */
static void test_fused_transfers_match_the_stored_ones(void) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0)
    return;
  static const int one_by_one[2] = {1, 1};
  const struct multigrid_params variants[] = {
      vcycle,
      {.cycle = MULTIGRID_F, .smoother = MULTIGRID_REDBLACK, .pre = 2, .post = 1, .fmg = true}};
  for (int laplace = 0; laplace < 2; laplace++)
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
      laplace_plate = laplace == 1;
      struct mgrun fused, stored;
      CU_ASSERT_EQUAL_FATAL(start(&fused, MPI_COMM_SELF, DECOMP_BLOCK, 1, one_by_one, &variants[v]),
                            ERR_OK);
      CU_ASSERT_EQUAL_FATAL(
          start(&stored, MPI_COMM_SELF, DECOMP_BLOCK, 1, one_by_one, &variants[v]), ERR_OK);
      multigrid_restrict_apart(stored.mg, true);
      int nlevels = multigrid_levels(fused.mg)->n;
      for (int k = 1; k <= 4; k++) {
        bool fmg = variants[v].fmg && k == 1;
        multigrid_cycle(fused.mg, fmg);
        multigrid_cycle(stored.mg, fmg);
        int64_t nf = multigrid_counts(fused.mg)->fused_restrictions,
                ns = multigrid_counts(stored.mg)->fused_restrictions,
                pf = multigrid_counts(fused.mg)->interpolations_in_place,
                ps = multigrid_counts(stored.mg)->interpolations_in_place;
        /* one tile: every restriction of a residual in one pass, every interpolation in place */
        EXPECT(nf >= nlevels - 1 && ns == 0 && pf >= nlevels - 1 && ps == 0,
               "laplace %d variant %zu cycle %d: %lld restrictions fused, %lld apart; %lld "
               "interpolations in place, %lld apart (%d levels)",
               laplace, v, k, (long long)nf, (long long)ns, (long long)pf, (long long)ps, nlevels);
        const struct field *a = fused.field, *b = stored.field;
        int64_t differ = 0;
        for (int64_t t = 0; t < b->ntiles; t++)
          for (int64_t i = 0; i < b->tiles[t].nrows; i++)
            for (int64_t j = 0; j < b->tiles[t].ncols; j++) {
              int64_t gi = b->tiles[t].row0 + i, gj = b->tiles[t].col0 + j;
              double want = field_interior(b, b->current, t)[i * field_stride(b, t) + j];
              double got = field_interior(a, a->current, 0)[gi * field_stride(a, 0) + gj];
              differ += memcmp(&got, &want, sizeof got) != 0;
            }
        EXPECT(differ == 0, "laplace %d variant %zu cycle %d: %lld points differ", laplace, v, k,
               (long long)differ);
      }
      release(&fused);
      release(&stored);
    }
  laplace_plate = false;
}

/* A cycle whose caller fills the rings between cycles (multigrid_cycle_lean, as the method's
 * step) leaves out the fine level's two exchanges that would refill them (one where the change
 * is not measured in the last pass: more than one tile), with the same bits as plain cycles;
 * and a coarse level exchanges no rings its zeroed iterate already has. */
static void test_lean_cycles_save_exchanges_and_keep_the_bits(void) {
  static const int any[2] = {0, 0};
  for (int laplace = 0; laplace < 2; laplace++) {
    laplace_plate = laplace == 1;
    struct mgrun plain, lean;
    CU_ASSERT_EQUAL_FATAL(start(&plain, MPI_COMM_WORLD, DECOMP_BLOCK, 1, any, &vcycle), ERR_OK);
    CU_ASSERT_EQUAL_FATAL(start(&lean, MPI_COMM_WORLD, DECOMP_BLOCK, 1, any, &vcycle), ERR_OK);
    bool shared = plain.team->size > 1 || plain.field->ntiles > 1;
    for (int k = 1; k <= 4; k++) {
      multigrid_cycle(plain.mg, false);
      CU_ASSERT_EQUAL_FATAL(halo_exchange(lean.halo, lean.field->current), ERR_OK);
      multigrid_cycle_lean(lean.mg, false, true);
      int64_t ep = multigrid_counts(plain.mg)->exchanges[0],
              el = multigrid_counts(lean.mg)->exchanges[0];
      EXPECT(el == ep - (shared ? 1 : 2),
             "laplace %d cycle %d: level 0 exchanged %lld times lean, %lld plain (shared %d)",
             laplace, k, (long long)el, (long long)ep, shared);
      int nlevels = multigrid_levels(plain.mg)->n;
      for (int l = 1; l < nlevels; l++) {
        int64_t got = multigrid_counts(lean.mg)->exchanges[l];
        EXPECT(got == multigrid_counts(plain.mg)->exchanges[l],
               "laplace %d cycle %d level %d: exchanges differ", laplace, k, l);
        /* a coarse level of the Laplace plate (one pass a step): a step's one exchange (two
         * on more than one rank) and the residual's, less the first, whose rings the zeroed
         * iterate already has; the coarsest none */
        int64_t want =
            l == nlevels - 1 ? 0 : (vcycle.pre + vcycle.post) * (plain.team->size > 1 ? 2 : 1);
        EXPECT(!laplace_plate || got == want,
               "laplace cycle %d level %d of %d: %lld exchanges, expected %lld", k, l, nlevels,
               (long long)got, (long long)want);
      }
    }
    uint64_t a = field_checksum(plain.field, plain.team), b = field_checksum(lean.field, lean.team);
    EXPECT(a == b, "laplace %d: lean cycles %016llx, plain %016llx", laplace, (unsigned long long)b,
           (unsigned long long)a);
    release(&plain);
    release(&lean);
  }
  laplace_plate = false;
}

/* The small-features plate (sources and all): every cycle reduces the change (no divergence),
 * and the cycles reach the discrete solution (computed on rank 0, broadcast). */
static void test_small_features_never_diverge(void) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  plate_nx = plate_ny = 255;
  small_features = true;
  int64_t n = plate_nx * plate_ny;
  double *exact = rank == 0 ? direct_solution() : malloc((size_t)n * sizeof *exact);
  MPI_Bcast(exact, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  static const int any[2] = {0, 0};
  struct mgrun run;
  CU_ASSERT_EQUAL_FATAL(start(&run, MPI_COMM_WORLD, DECOMP_BLOCK, 1, any, &vcycle), ERR_OK);
  double first = 0.0, previous = 0.0, worst_ratio = 0.0;
  int cycles = 0;
  for (int k = 1; k <= 40 && (k == 1 || previous >= 1e-11); k++, cycles++) {
    double d = multigrid_cycle(run.mg, false), all;
    MPI_Allreduce(&d, &all, 1, MPI_DOUBLE, MPI_MAX, run.team->comm);
    if (k == 1)
      first = all;
    else if (previous > 1e-9 * first) /* above round-off */
      worst_ratio = fmax(worst_ratio, all / previous);
    previous = all;
  }
  EXPECT(worst_ratio < 0.35, "worst change ratio of a cycle %.3f (expected < 0.35; measured 0.14)",
         worst_ratio);
  EXPECT(previous < 1e-11, "%d cycles leave a change of %g (expected < 1e-11)", cycles, previous);
  const struct field *f = run.field;
  double worst = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const double *x = field_interior(f, f->current, t);
    for (int64_t i = 0; i < f->tiles[t].nrows; i++)
      for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
        int64_t gi = f->tiles[t].row0 + i, gj = f->tiles[t].col0 + j;
        worst = fmax(worst, fabs(x[i * field_stride(f, t) + j] - exact[gi * plate_nx + gj]));
      }
  }
  EXPECT(worst < 1e-9, "max |T - T*| = %g (expected < 1e-9)", worst);
  release(&run);
  free(exact);
  plate_nx = 90;
  plate_ny = 60;
  small_features = false;
}

static void test_small_features_identical_on_every_decomposition(void) {
  plate_nx = plate_ny = 255;
  small_features = true;
  test_general_plate_identical_on_every_decomposition();
  plate_nx = 90;
  plate_ny = 60;
  small_features = false;
}

/* ---- the faces operator (field.h's cond, diag, load) ------------------------------------------
 * Faces fields built by hand (tests/faces_plate.h), checked against closed forms and against a
 * banded elimination of the same equations. */

static struct faces_plate fp;

/* A faces field on `comm` for fp, with its halo and multigrid. */
static int start_faces(struct mgrun *run, MPI_Comm comm, enum decomp_kind kind, int block,
                       const int dims_in[2], const struct multigrid_params *p) {
  *run = (struct mgrun){0};
  int dims[2] = {dims_in[0], dims_in[1]};
  CHECK(team_create(comm, &run->team));
  CHECK(team_split_nodes(run->team, 0));
  CHECK(decomp_dims_fill(run->team->size, dims));
  CHECK(decomp_layout_init(&run->layout, fp.nx, fp.ny, run->team->size, dims, kind, block));
  int64_t ring;
  double *sides = run->ring[0] = faces_sides(&fp, &ring);
  if (sides == NULL)
    return err_set(ERR_FAILURE, "out of memory");
  const struct field_boundary edges = {{sides, sides + ring, sides + 2 * ring, sides + 3 * ring}};
  CHECK(field_create(&run->layout, run->team, &edges, 0.0, 1, &run->field));
  if (faces_fill(&fp, run->field) != 0)
    return err_set(ERR_FAILURE, "out of memory");
  CHECK(halo_create(run->field, run->team, HALO_AUTO, &run->halo));
  return multigrid_create(run->field, run->halo, run->team, p, &run->mg);
}

/* max |T - exact| over the points, agreed over the ranks. */
static double faces_error(const struct mgrun *run, const double *exact) {
  const struct field *f = run->field;
  double worst = 0.0, all;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const double *x = field_interior(f, f->current, t);
    for (int64_t i = 0; i < f->tiles[t].nrows; i++)
      for (int64_t j = 0; j < f->tiles[t].ncols; j++) {
        int64_t gi = f->tiles[t].row0 + i, gj = f->tiles[t].col0 + j;
        worst = fmax(worst, fabs(x[i * field_stride(f, t) + j] - exact[gi * fp.nx + gj]));
      }
  }
  MPI_Allreduce(&worst, &all, 1, MPI_DOUBLE, MPI_MAX, run->team->comm);
  return all;
}

/* Cycles (at most `most`) until the agreed change is below `tol`; *factor the geometric mean
 * reduction of the change a cycle over the cycles whose change is above 1e3 tol (round-off). */
static int faces_converge(struct mgrun *run, int most, double tol, double *factor) {
  double first = 0.0, last = 0.0, all = 0.0;
  int k, counted = 0;
  for (k = 1; k <= most; k++) {
    double d = multigrid_cycle(run->mg, false);
    MPI_Allreduce(&d, &all, 1, MPI_DOUBLE, MPI_MAX, run->team->comm);
    if (k == 1)
      first = all;
    else if (all > 1e3 * tol)
      counted = k - 1, last = all;
    if (all < tol)
      break;
  }
  *factor = counted > 0 ? pow(last / first, 1.0 / counted) : 0.0;
  return k;
}

/* How far two correct solutions of fp's equations may differ by rounding alone: the condition
 * number of a plate with a conductivity contrast C on N points is about C N (its largest
 * conductance over its smallest eigenvalue's), each solve loses about that times 2^-53 of the
 * range (measured: 1.6e-3 of 4850 for 1e6 on 90 x 61 between the multigrid and the banded
 * elimination; 3e-11 for uniform k); 1e-8 of the range at least. */
static double rounding_tolerance(double range, double contrast) {
  double conditioned = range * 1e-15 * contrast * (double)(fp.nx * fp.ny);
  return conditioned > 1e-8 * range ? conditioned : 1e-8 * range;
}

static const struct edge_spec HELD_100 = {EDGE_HELD, 100.0, 0.0}, HELD_0 = {EDGE_HELD, 0.0, 0.0},
                              INSULATED = {EDGE_INSULATED, 0.0, 0.0},
                              FLUX = {EDGE_FLUX, 1500.0, 0.0},
                              CONVECTIVE = {EDGE_CONVECTIVE, 25.0, 20.0};

/* Held top (100) and bottom (0), insulated sides: the exact discrete solution is the series
 * wall's down every column: one heat flow Q through the faces of a column, each face's drop Q /
 * c, so T is linear in each layer and continuous through the harmonic means. Checked for
 * uniform k (linear) and layers (5 points, not aligned with the coarse grids) of contrast 10,
 * 1e3 and 1e6, with the factor a V(2,2) (measured 0.03-0.05). */
static void test_faces_insulated_sides_give_the_series_wall(void) {
  static const int any[2] = {0, 0};
  const double contrasts[] = {1.0, 10.0, 1e3, 1e6};
  for (size_t c = 0; c < sizeof contrasts / sizeof contrasts[0]; c++) {
    fp = (struct faces_plate){
        .nx = 37, .ny = 61, .pattern = K_LAYERED, .contrast = contrasts[c], .block = 5};
    fp.edge[DECOMP_NORTH] = HELD_100;
    fp.edge[DECOMP_SOUTH] = HELD_0;
    fp.edge[DECOMP_WEST] = fp.edge[DECOMP_EAST] = INSULATED;
    /* the faces down one column: ring-0, (0,1) .. (ny-2, ny-1), (ny-1)-ring */
    int64_t n = fp.ny;
    double *r = malloc((size_t)(n + 1) * sizeof *r), total = 0.0;
    r[0] = 1.0 / (FACES_T * faces_k(&fp, 0, 0));
    for (int64_t i = 1; i < n; i++)
      r[i] = 1.0 / (FACES_T * faces_harmonic(faces_k(&fp, i - 1, 0), faces_k(&fp, i, 0)));
    r[n] = 1.0 / (FACES_T * faces_k(&fp, n - 1, 0));
    for (int64_t i = 0; i <= n; i++)
      total += r[i];
    double *exact = malloc((size_t)(fp.nx * n) * sizeof *exact), above = 0.0;
    for (int64_t i = 0; i < n; i++) {
      above += r[i];
      for (int64_t j = 0; j < fp.nx; j++)
        exact[i * fp.nx + j] = 100.0 - 100.0 * above / total;
    }
    struct mgrun run;
    CU_ASSERT_EQUAL_FATAL(start_faces(&run, MPI_COMM_WORLD, DECOMP_BLOCK, 1, any, &vcycle), ERR_OK);
    double factor;
    int cycles = faces_converge(&run, 60, 1e-13, &factor);
    double err = faces_error(&run, exact), tol = rounding_tolerance(100.0, contrasts[c]);
    EXPECT(err < tol, "contrast %g: max |T - series wall| = %g after %d cycles (expected < %g)",
           contrasts[c], err, cycles, tol);
    EXPECT(factor <= 0.1, "contrast %g: %.3f a V(2,2) (expected <= 0.1)", contrasts[c], factor);
    release(&run);
    free(r);
    free(exact);
  }
}

/* Every edge kind, face exchange, composite conductivity and a held disk against the banded
 * elimination, for each smoother and cycle; the factor a V(2,2) within the targets
 * (<= 0.1 smooth, <= 0.2 jumps; measured 0.03-0.13). */
static void test_faces_plates_converge_to_the_discrete_solution(void) {
  static const int any[2] = {0, 0};
  struct {
    const char *name;
    enum k_pattern pattern;
    double contrast;
    int64_t block;
    double surface_h, disk_r, bound;
    struct edge_spec n, s, w, e;
  } plates[] = {
      {"held, flux, insulated, convective; smooth k", K_SMOOTH, 1.0, 1, 0.0, 0.0, 0.1, HELD_100,
       FLUX, INSULATED, CONVECTIVE},
      {"convective all round, face exchange, held disk", K_UNIFORM, 1.0, 1, 10.0, 3.5, 0.1,
       CONVECTIVE, CONVECTIVE, CONVECTIVE, CONVECTIVE},
      {"checkerboard 1e3, insulated sides", K_CHECKER, 1e3, 16, 0.0, 0.0, 0.2, HELD_100, HELD_0,
       INSULATED, INSULATED},
      {"insert 1e6, convective, flux, face exchange", K_INSERT, 1e6, 1, 10.0, 0.0, 0.2, INSULATED,
       CONVECTIVE, HELD_0, FLUX},
      {"layers of 1e6 across, insulated sides", K_LAYERED, 1e6, 5, 0.0, 0.0, 0.2, FLUX, CONVECTIVE,
       INSULATED, INSULATED},
  };
  const struct multigrid_params variants[] = {
      vcycle,
      {.cycle = MULTIGRID_W, .smoother = MULTIGRID_CHEBYSHEV, .pre = 2, .post = 2},
      {.cycle = MULTIGRID_F, .smoother = MULTIGRID_JACOBI, .pre = 3, .post = 3}};
  for (size_t k = 0; k < sizeof plates / sizeof plates[0]; k++) {
    fp = (struct faces_plate){.nx = 90,
                              .ny = 61,
                              .pattern = plates[k].pattern,
                              .contrast = plates[k].contrast,
                              .block = plates[k].block,
                              .surface_h = plates[k].surface_h,
                              .surface_t = 20.0,
                              .source = 200.0,
                              .disk_r = plates[k].disk_r,
                              .disk_t = 80.0};
    fp.edge[DECOMP_NORTH] = plates[k].n;
    fp.edge[DECOMP_SOUTH] = plates[k].s;
    fp.edge[DECOMP_WEST] = plates[k].w;
    fp.edge[DECOMP_EAST] = plates[k].e;
    double *exact = faces_direct(&fp);
    double range = 0.0;
    for (int64_t u = 0; u < fp.nx * fp.ny; u++)
      range = fmax(range, fabs(exact[u]));
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
      struct mgrun run;
      CU_ASSERT_EQUAL_FATAL(start_faces(&run, MPI_COMM_WORLD, DECOMP_BLOCK, 1, any, &variants[v]),
                            ERR_OK);
      double factor;
      int cycles = faces_converge(&run, 60, 1e-12 * range, &factor);
      double err = faces_error(&run, exact), tol = rounding_tolerance(range, plates[k].contrast);
      EXPECT(err < tol, "%s, variant %zu: max |T - T*| = %g after %d cycles (expected < %g)",
             plates[k].name, v, err, cycles, tol);
      if (v == 0)
        EXPECT(factor <= plates[k].bound, "%s: %.3f a V(2,2) (expected <= %g)", plates[k].name,
               factor, plates[k].bound);
      release(&run);
    }
    free(exact);
  }
}

/* Small, thin and prime shapes (a plate that is its own coarsest level, one coarsening of a
 * thin strip, an edge node on every side) with every edge kind: the discrete solution. */
static void test_faces_thin_and_small_plates_reach_the_discrete_solution(void) {
  const int64_t shapes[][2] = {{1, 1}, {2, 1}, {1, 7}, {3, 150}, {150, 3}, {37, 41}, {257, 5}};
  const struct edge_spec kinds[][4] = {{CONVECTIVE, CONVECTIVE, CONVECTIVE, CONVECTIVE},
                                       {HELD_100, INSULATED, FLUX, CONVECTIVE},
                                       {INSULATED, INSULATED, HELD_0, FLUX}};
  for (size_t z = 0; z < sizeof shapes / sizeof shapes[0]; z++)
    for (size_t e = 0; e < sizeof kinds / sizeof kinds[0]; e++) {
      fp = (struct faces_plate){.nx = shapes[z][0],
                                .ny = shapes[z][1],
                                .pattern = K_CHECKER,
                                .contrast = 100.0,
                                .block = 3,
                                .surface_h = 10.0,
                                .surface_t = 20.0,
                                .source = 200.0};
      for (int d = 0; d < 4; d++)
        fp.edge[d] = kinds[e][d];
      double *exact = faces_direct(&fp), range = 0.0;
      for (int64_t u = 0; u < fp.nx * fp.ny; u++)
        range = fmax(range, fabs(exact[u]));
      /* a plate with fewer rows or columns than a process grid has ranks is refused by the
       * layout: each rank solves it alone then */
      int size;
      MPI_Comm_size(MPI_COMM_WORLD, &size);
      MPI_Comm comm = fp.nx >= size && fp.ny >= size ? MPI_COMM_WORLD : MPI_COMM_SELF;
      int dims[2] = {comm == MPI_COMM_WORLD && fp.ny < fp.nx ? 1 : 0,
                     comm == MPI_COMM_WORLD && fp.nx <= fp.ny ? 1 : 0};
      struct mgrun run;
      CU_ASSERT_EQUAL_FATAL(start_faces(&run, comm, DECOMP_BLOCK, 1, dims, &vcycle), ERR_OK);
      double factor;
      int cycles = faces_converge(&run, 60, 1e-12 * range, &factor);
      double err = faces_error(&run, exact), tol = rounding_tolerance(range, fp.contrast);
      EXPECT(err < tol && cycles <= 30,
             "%lld x %lld, edges %zu: max |T - T*| = %g after %d cycles (expected < %g, <= 30)",
             (long long)fp.nx, (long long)fp.ny, e, err, cycles, tol);
      release(&run);
      free(exact);
    }
}

/* Five cycles on every layout give rank 0's own field, bit for bit: every edge kind, face
 * exchange, a held disk and a checkerboard of 1e3 whose squares the coarse grids cut. */
static void test_faces_plate_identical_on_every_decomposition(void) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  fp = (struct faces_plate){.nx = 91,
                            .ny = 60,
                            .pattern = K_CHECKER,
                            .contrast = 1e3,
                            .block = 7,
                            .surface_h = 10.0,
                            .surface_t = 20.0,
                            .source = 100.0,
                            .disk_r = 2.5,
                            .disk_t = 60.0};
  fp.edge[DECOMP_NORTH] = HELD_100;
  fp.edge[DECOMP_SOUTH] = CONVECTIVE;
  fp.edge[DECOMP_WEST] = INSULATED;
  fp.edge[DECOMP_EAST] = FLUX;
  static const int any[2] = {0, 0};
  const struct multigrid_params variants[] = {
      vcycle,
      {.cycle = MULTIGRID_F, .smoother = MULTIGRID_CHEBYSHEV, .pre = 3, .post = 1, .fmg = true}};
  for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
    uint64_t want = 0;
    if (rank == 0) {
      struct mgrun one;
      CU_ASSERT_EQUAL_FATAL(start_faces(&one, MPI_COMM_SELF, DECOMP_BLOCK, 1, any, &variants[v]),
                            ERR_OK);
      for (int k = 1; k <= 5; k++)
        multigrid_cycle(one.mg, variants[v].fmg && k == 1);
      want = field_checksum(one.field, one.team);
      release(&one);
    }
    MPI_Bcast(&want, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    const struct {
      enum decomp_kind kind;
      int block, dims[2];
    } layouts[] = {{DECOMP_BLOCK, 1, {0, 0}},
                   {DECOMP_CYCLIC, 1, {1, 0}},
                   {DECOMP_BLOCK_CYCLIC, 7, {0, 1}},
                   {DECOMP_BLOCK, 1, {size, 1}}};
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
      int dims[2] = {layouts[k].dims[0], layouts[k].dims[1]};
      if (dims[0] == 1 && dims[1] == 0)
        dims[1] = size;
      if (dims[0] == 0 && dims[1] == 1)
        dims[0] = size;
      struct mgrun run;
      CU_ASSERT_EQUAL_FATAL(
          start_faces(&run, MPI_COMM_WORLD, layouts[k].kind, layouts[k].block, dims, &variants[v]),
          ERR_OK);
      for (int c = 1; c <= 5; c++)
        multigrid_cycle(run.mg, variants[v].fmg && c == 1);
      uint64_t got = field_checksum(run.field, run.team);
      EXPECT(got == want, "variant %zu layout %zu on %d ranks: checksum %016llx, 1 rank %016llx", v,
             k, size, (unsigned long long)got, (unsigned long long)want);
      release(&run);
    }
  }
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"general_plate_converges_to_the_discrete_solution",
       test_general_plate_converges_to_the_discrete_solution},
      {"general_plate_identical_on_every_decomposition",
       test_general_plate_identical_on_every_decomposition},
      {"fused_transfers_match_the_stored_ones", test_fused_transfers_match_the_stored_ones},
      {"lean_cycles_save_exchanges_and_keep_the_bits",
       test_lean_cycles_save_exchanges_and_keep_the_bits},
      {"small_features_never_diverge", test_small_features_never_diverge},
      {"small_features_identical_on_every_decomposition",
       test_small_features_identical_on_every_decomposition},
      {"faces_insulated_sides_give_the_series_wall",
       test_faces_insulated_sides_give_the_series_wall},
      {"faces_plates_converge_to_the_discrete_solution",
       test_faces_plates_converge_to_the_discrete_solution},
      {"faces_thin_and_small_plates_reach_the_discrete_solution",
       test_faces_thin_and_small_plates_reach_the_discrete_solution},
      {"faces_plate_identical_on_every_decomposition",
       test_faces_plate_identical_on_every_decomposition},
  };
  return TESTS_ADD_SUITE("multigrid", cases);
}
