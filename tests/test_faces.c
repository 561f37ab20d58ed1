/* test_faces.c - Jacobi and Chebyshev on the faces operator (runtime/field.h: cond, diag, load),
 * built here by hand from the contract's finite volumes without the config parser: the linear
 * exact solution of a plate with insulated sides, and a composite, convective, face-cooled,
 * heated plate with a held region against a direct solve of the same equations written here;
 * the same bits and count on every partitioner, block size, halo mode, overlap and temporal
 * block, and on one rank as on all. Runs under mpiexec with any rank count. */
#include "common/err.h"
#include "decomp/decomp.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/bound/estimate.h"
#include "solver/method/method.h"
#include "solver/method/spectrum.h"
#include "solver/solve.h"
#include "tests/cunit_main.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A plate of nx x ny nodes, spacing 1, thickness 1: held top (t_top) and bottom (t_bottom)
 * edges, the ring on them; left and right edges not held, their nodes on the edge (half
 * control volumes). k: the conductivity of the left part (columns < split) and the right; the
 * right edge convective (h_edge to ambient); the faces exchange h_face V (T_face - T); a heater
 * of `power` W over the nodes of column heat_col; one held node. */
struct plate {
  int64_t nx, ny;
  double t_top, t_bottom;
  double k_left, k_right;
  int64_t split;
  double h_edge, ambient;
  double h_face, t_face;
  double power;
  int64_t heat_col;
  int64_t held_i, held_j; /* -1: none */
  double held_t;
};

static double k_at(const struct plate *p, int64_t gj) {
  return gj < p->split ? p->k_left : p->k_right;
}

/* Commutative operations only, so that p's conductance to q is q's to p, bit for bit. */
static double harmonic(double a, double b) { return 2.0 * (a * b) / (a + b); }

static bool on_side_edge(const struct plate *p, int64_t gj) { return gj == 0 || gj == p->nx - 1; }

static bool held_at(const struct plate *p, int64_t gi, int64_t gj) {
  return gi == p->held_i && gj == p->held_j;
}

/* The node's equation: conductances to its four neighbours (N, S, W, E), diag and load. */
static void equation(const struct plate *p, int64_t gi, int64_t gj, double cond[DECOMP_NSIDES],
                     double *diag, double *load) {
  if (held_at(p, gi, gj)) {
    cond[0] = cond[1] = cond[2] = cond[3] = 0.0;
    *diag = 1.0;
    *load = p->held_t;
    return;
  }
  double k = k_at(p, gj), vertical = on_side_edge(p, gj) ? 0.5 : 1.0; /* face length / h */
  cond[DECOMP_NORTH] = k * vertical; /* the ring above row 0 is held: same k */
  cond[DECOMP_SOUTH] = k * vertical;
  cond[DECOMP_WEST] = gj > 0 ? harmonic(k_at(p, gj - 1), k) : 0.0;
  cond[DECOMP_EAST] = gj < p->nx - 1 ? harmonic(k, k_at(p, gj + 1)) : 0.0;
  double volume = vertical, edge = gj == p->nx - 1 ? 1.0 : 0.0;
  int64_t heated = 0;
  for (int64_t i = 0; i < p->ny; i++)
    heated += !held_at(p, i, p->heat_col);
  double heater = gj == p->heat_col ? p->power / (double)heated : 0.0; /* equal volumes there */
  *diag = ((cond[0] + cond[1]) + (cond[2] + cond[3])) + p->h_face * volume + p->h_edge * edge;
  *load = heater + p->h_face * volume * p->t_face + p->h_edge * edge * p->ambient;
}

/* The truth: the same equations as a dense system, Gaussian elimination (the matrix is an
 * M-matrix with a dominant diagonal: no pivoting needed), in long double. */
static double *direct_solve(const struct plate *p) {
  int64_t n = p->nx * p->ny;
  long double *a = calloc((size_t)(n * n), sizeof *a), *b = calloc((size_t)n, sizeof *b);
  double *x = calloc((size_t)n, sizeof *x);
  for (int64_t gi = 0; gi < p->ny; gi++)
    for (int64_t gj = 0; gj < p->nx; gj++) {
      int64_t r = gi * p->nx + gj;
      double cond[DECOMP_NSIDES], diag, load;
      equation(p, gi, gj, cond, &diag, &load);
      a[r * n + r] = diag;
      b[r] = load;
      if (gi > 0)
        a[r * n + r - p->nx] -= cond[DECOMP_NORTH];
      else
        b[r] += cond[DECOMP_NORTH] * p->t_top;
      if (gi < p->ny - 1)
        a[r * n + r + p->nx] -= cond[DECOMP_SOUTH];
      else
        b[r] += cond[DECOMP_SOUTH] * p->t_bottom;
      if (gj > 0)
        a[r * n + r - 1] -= cond[DECOMP_WEST];
      if (gj < p->nx - 1)
        a[r * n + r + 1] -= cond[DECOMP_EAST];
    }
  for (int64_t c = 0; c < n; c++)
    for (int64_t r = c + 1; r < n; r++) {
      long double m = a[r * n + c] / a[c * n + c];
      if (m == 0)
        continue;
      for (int64_t k = c; k < n; k++)
        a[r * n + k] -= m * a[c * n + k];
      b[r] -= m * b[c];
    }
  for (int64_t r = n - 1; r >= 0; r--) {
    long double s = b[r];
    for (int64_t k = r + 1; k < n; k++)
      s -= a[r * n + k] * x[k];
    x[r] = (double)(s / a[r * n + r]);
  }
  free(a);
  free(b);
  return x;
}

/* The truth about J = D^-1 N of the plate's equations: its spectral radius, by power iteration
 * on (I + J) / 2 (J's spectrum is symmetric: on J itself the +rho and -rho modes would beat),
 * the Rayleigh quotient in the D inner product, long enough for all its digits that matter. */
static double true_radius(const struct plate *p) {
  int64_t n = p->nx * p->ny;
  double *v = malloc((size_t)n * sizeof *v), *w = malloc((size_t)n * sizeof *w);
  double *d = malloc((size_t)n * sizeof *d), (*c)[DECOMP_NSIDES] = malloc((size_t)n * sizeof *c);
  for (int64_t r = 0; r < n; r++) {
    double load;
    equation(p, r / p->nx, r % p->nx, c[r], &d[r], &load);
    v[r] = held_at(p, r / p->nx, r % p->nx) ? 0.0 : 1.0;
  }
  double rq = 0.0;
  for (int it = 0; it < 40000; it++) {
    double num = 0.0, den = 0.0, big = 0.0;
    for (int64_t r = 0; r < n; r++) {
      int64_t gi = r / p->nx, gj = r % p->nx;
      double sum = (gi > 0 ? c[r][DECOMP_NORTH] * v[r - p->nx] : 0.0) +
                   (gi < p->ny - 1 ? c[r][DECOMP_SOUTH] * v[r + p->nx] : 0.0) +
                   (gj > 0 ? c[r][DECOMP_WEST] * v[r - 1] : 0.0) +
                   (gj < p->nx - 1 ? c[r][DECOMP_EAST] * v[r + 1] : 0.0);
      double jv = sum / d[r];
      num += d[r] * v[r] * jv;
      den += d[r] * v[r] * v[r];
      w[r] = 0.5 * (v[r] + jv);
      big = fmax(big, fabs(w[r]));
    }
    rq = num / den;
    for (int64_t r = 0; r < n; r++)
      v[r] = w[r] / big;
  }
  free(v);
  free(w);
  free(d);
  free(c);
  return rq;
}

struct how {
  const struct method_ops *method;
  enum decomp_kind kind;
  int64_t block;
  enum halo_mode halo;
  bool overlap;
  int64_t temporal_block;
  int ranks_per_node;
};

struct outcome {
  int64_t iterations;
  bool converged;
  uint64_t checksum;
  double *field; /* ny x nx, on every rank */
};

/* Fill the faces arrays of every tile, rings as deep as the field's (inside the grid). */
static int fill_faces(struct field *f, const struct plate *p) {
  for (int d = 0; d < DECOMP_NSIDES; d++)
    f->cond[d] = calloc((size_t)f->buffer_len, sizeof(double));
  f->diag = calloc((size_t)f->buffer_len, sizeof(double));
  f->load = calloc((size_t)f->buffer_len, sizeof(double));
  for (int d = 0; d < DECOMP_NSIDES; d++)
    if (f->cond[d] == NULL)
      return ERR_FAILURE;
  if (f->diag == NULL || f->load == NULL)
    return ERR_FAILURE;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    int64_t s = field_stride(f, t);
    for (int64_t li = -f->depth; li < tile->nrows + f->depth; li++)
      for (int64_t lj = -f->depth; lj < tile->ncols + f->depth; lj++) {
        int64_t gi = tile->row0 + li, gj = tile->col0 + lj;
        if (gi < 0 || gi >= p->ny || gj < 0 || gj >= p->nx)
          continue;
        int64_t at = f->tile_offset[t] + (li + f->depth) * s + lj + f->depth;
        double cond[DECOMP_NSIDES];
        equation(p, gi, gj, cond, &f->diag[at], &f->load[at]);
        for (int d = 0; d < DECOMP_NSIDES; d++)
          f->cond[d][at] = cond[d];
        if (li >= 0 && li < tile->nrows && lj >= 0 && lj < tile->ncols && held_at(p, gi, gj))
          for (int b = 0; b < 2; b++)
            field_tile(f, b, t)[at - f->tile_offset[t]] = p->held_t;
      }
  }
  return ERR_OK;
}

/* Solve the plate on `comm` as `how` says, to the change `tolerance`. */
static int solve_plate(MPI_Comm comm, const struct plate *p, const struct how *how,
                       double tolerance, struct outcome *out) {
  struct team *team = NULL;
  struct decomp_layout layout;
  struct field *f = NULL;
  struct halo *halo = NULL;
  int dims[2] = {0, 0};
  int64_t depth = how->temporal_block > 1 ? how->temporal_block : 1;
  double *top = malloc((size_t)(p->nx + 2) * sizeof(double)),
         *bottom = malloc((size_t)(p->nx + 2) * sizeof(double));
  for (int64_t c = 0; c < p->nx + 2; c++) {
    top[c] = p->t_top;
    bottom[c] = p->t_bottom;
  }
  const struct field_boundary edges = {{top, bottom, NULL, NULL}};
  CHECK(team_create(comm, &team));
  CHECK(team_split_nodes(team, how->ranks_per_node));
  CHECK(decomp_dims_fill(team->size, dims));
  CHECK(decomp_layout_init(&layout, p->nx, p->ny, team->size, dims, how->kind, how->block));
  CHECK(field_create(&layout, team, &edges, 0.0, depth, &f));
  CHECK(team_agree(team, fill_faces(f, p)));
  CHECK(halo_create(f, team, how->halo, &halo));
  struct solve_params sp = {.method = how->method,
                            .halo_mode = how->halo,
                            .tolerance = tolerance,
                            .stall = {INFINITY, 0},
                            .max_iterations = 2000000,
                            .check_interval = 4,
                            .overlap = how->overlap,
                            .temporal_block = how->temporal_block};
  estimate_init(&sp.estimate, p->nx, p->ny, 100.0, !how->method->contraction);
  struct solve_result result;
  CHECK(solve_run(f, halo, team, &sp, &result));
  out->iterations = result.state.iteration;
  out->converged = result.converged;
  out->checksum = field_checksum(f, team);
  out->field = calloc((size_t)(p->nx * p->ny), sizeof(double));
  for (int64_t t = 0; t < f->ntiles; t++)
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++)
        out->field[(f->tiles[t].row0 + li) * p->nx + f->tiles[t].col0 + lj] =
            field_interior(f, f->current, t)[li * field_stride(f, t) + lj];
  MPI_Allreduce(MPI_IN_PLACE, out->field, (int)(p->nx * p->ny), MPI_DOUBLE, MPI_SUM, comm);
  halo_destroy(&halo);
  field_destroy(&f);
  team_destroy(&team);
  free(top);
  free(bottom);
  return ERR_OK;
}

static double max_distance(const double *a, const double *b, int64_t n) {
  double worst = 0.0;
  for (int64_t k = 0; k < n; k++)
    worst = fmax(worst, fabs(a[k] - b[k]));
  return worst;
}

/* A plate of one conductivity with insulated sides: most of every row is one run of the same
 * values, which the sweeps take from scalars (sweeps.h: the uniform runs). */
static const struct plate insulated = {.nx = 9,
                                       .ny = 14,
                                       .t_top = 100.0,
                                       .t_bottom = 20.0,
                                       .k_left = 2.5,
                                       .k_right = 2.5,
                                       .split = 0,
                                       .heat_col = -1,
                                       .held_i = -1,
                                       .held_j = -1};

/* Insulated sides, held top and bottom, uniform k, nothing else: the exact discrete solution
 * is linear in the row, T_i = top + (bottom - top) (i + 1) / (ny + 1), and the half conductances
 * of the side columns keep it so. Both methods reach it to the tolerance's reach. */
static void test_insulated_sides_give_the_linear_solution(void) {
  const struct plate p = insulated;
  const struct method_ops *methods[2] = {&method_jacobi, &method_chebyshev};
  int64_t steps[2] = {0, 0};
  for (int m = 0; m < 2; m++) {
    struct how how = {.method = methods[m], .kind = DECOMP_BLOCK, .block = 1, .temporal_block = 1};
    struct outcome o;
    CU_ASSERT_EQUAL_FATAL(solve_plate(MPI_COMM_WORLD, &p, &how, 1e-12, &o), ERR_OK);
    double worst = 0.0;
    for (int64_t gi = 0; gi < p.ny; gi++)
      for (int64_t gj = 0; gj < p.nx; gj++) {
        double exact = p.t_top + (p.t_bottom - p.t_top) * (double)(gi + 1) / (double)(p.ny + 1);
        worst = fmax(worst, fabs(o.field[gi * p.nx + gj] - exact));
      }
    EXPECT(o.converged && worst < 1e-8, "%s: converged %d after %lld, %.3g from the line",
           methods[m]->name, o.converged, (long long)o.iterations, worst);
    steps[m] = o.iterations;
    free(o.field);
  }
  EXPECT(2 * steps[1] < steps[0], "chebyshev %lld iterations, jacobi %lld", (long long)steps[1],
         (long long)steps[0]);
}

/* A composite plate (k 1 and 300), its right edge convective, both faces cooled, a heater
 * column, one held node: Jacobi and Chebyshev against the direct solve, Chebyshev in far fewer
 * iterations (its rho from Lanczos: too small a rho slows it, too large diverges). */
static const struct plate composite = {.nx = 13,
                                       .ny = 11,
                                       .t_top = 80.0,
                                       .t_bottom = 20.0,
                                       .k_left = 1.0,
                                       .k_right = 300.0,
                                       .split = 5,
                                       .h_edge = 0.7,
                                       .ambient = 15.0,
                                       .h_face = 0.02,
                                       .t_face = 25.0,
                                       .power = 500.0,
                                       .heat_col = 8,
                                       .held_i = 3,
                                       .held_j = 2,
                                       .held_t = 40.0};

static void test_composite_convective_plate_against_a_direct_solve(void) {
  double *truth = direct_solve(&composite);
  int64_t n = composite.nx * composite.ny;
  const struct method_ops *methods[2] = {&method_jacobi, &method_chebyshev};
  int64_t steps[2] = {0, 0};
  for (int m = 0; m < 2; m++) {
    struct how how = {.method = methods[m], .kind = DECOMP_BLOCK, .block = 1, .temporal_block = 1};
    struct outcome o;
    CU_ASSERT_EQUAL_FATAL(solve_plate(MPI_COMM_WORLD, &composite, &how, 1e-11, &o), ERR_OK);
    double worst = max_distance(o.field, truth, n);
    EXPECT(o.converged && worst < 1e-5, "%s: converged %d after %lld, %.3g from the truth",
           methods[m]->name, o.converged, (long long)o.iterations, worst);
    steps[m] = o.iterations;
    free(o.field);
  }
  /* Jacobi's count says how far the tolerance is, ln(reach) = its steps x -ln rho; Chebyshev with
   * the true rho gets there in about (ln(reach) + ln 2) / acosh(1 / rho) steps. A rho off by
   * much either way costs far more (too small: the slow modes lag; too large: the rate of the
   * larger one). */
  double rho = true_radius(&composite);
  double ideal = ((double)steps[0] * -log(rho) + log(2.0)) / acosh(1.0 / rho);
  EXPECT((double)steps[1] <= 1.2 * ideal + 8.0,
         "chebyshev %lld iterations, %.0f ideal (rho %.6f; jacobi %lld)", (long long)steps[1],
         ideal, rho, (long long)steps[0]);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0)
    fprintf(stderr,
            "\n  composite plate: rho %.6f, jacobi %lld iterations, chebyshev %lld (ideal %.0f) ",
            rho, (long long)steps[0], (long long)steps[1], ideal);
  free(truth);
}

/* The central promise on the faces operator: for each method, the same count and the same
 * bits on one rank as on all, on every partitioner and block size, halo mode, with the halo
 * overlapped or not, in temporal blocks of 2 and 4 (whose wavefront reads the arrays
 * everywhere, where the plain sweeps take the insulated plate's runs from scalars), and with
 * nodes of one rank; on the composite plate and the insulated one. */
static void test_same_bits_on_every_decomposition(void) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const struct method_ops *methods[2] = {&method_jacobi, &method_chebyshev};
  const struct how variants[] = {
      {.kind = DECOMP_BLOCK, .block = 1, .temporal_block = 1},
      {.kind = DECOMP_CYCLIC, .block = 1, .temporal_block = 1},
      {.kind = DECOMP_BLOCK_CYCLIC, .block = 3, .temporal_block = 1, .halo = HALO_P2P},
      {.kind = DECOMP_BLOCK, .block = 1, .temporal_block = 1, .overlap = true, .ranks_per_node = 1},
      {.kind = DECOMP_BLOCK, .block = 1, .temporal_block = 2},
      {.kind = DECOMP_BLOCK_CYCLIC, .block = 2, .temporal_block = 4, .halo = HALO_SHM},
  };
  enum { NVARIANTS = sizeof variants / sizeof variants[0] };
  const struct plate *plates[2] = {&composite, &insulated};
  for (int m = 0; m < 4; m++) {
    const struct plate *plate = plates[m / 2];
    int64_t n = plate->nx * plate->ny;
    struct outcome ref = {0};
    /* rank 0 alone: the reference (the others wait in the broadcast) */
    if (rank == 0) {
      struct how how = variants[0];
      how.method = methods[m % 2];
      CU_ASSERT_EQUAL_FATAL(solve_plate(MPI_COMM_SELF, plate, &how, 1e-9, &ref), ERR_OK);
    } else {
      ref.field = calloc((size_t)n, sizeof(double));
    }
    MPI_Bcast(&ref.iterations, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    MPI_Bcast(&ref.checksum, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    MPI_Bcast(ref.field, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    for (int v = 0; v < NVARIANTS; v++) {
      struct how how = variants[v];
      how.method = methods[m % 2];
      struct outcome o;
      CU_ASSERT_EQUAL_FATAL(solve_plate(MPI_COMM_WORLD, plate, &how, 1e-9, &o), ERR_OK);
      EXPECT(o.iterations == ref.iterations && o.checksum == ref.checksum &&
                 memcmp(o.field, ref.field, (size_t)n * sizeof(double)) == 0,
             "%s, plate %d, variant %d: %lld iterations, checksum %016llx; one rank: %lld, "
             "%016llx",
             methods[m % 2]->name, m / 2, v, (long long)o.iterations,
             (unsigned long long)o.checksum, (long long)ref.iterations,
             (unsigned long long)ref.checksum);
      free(o.field);
    }
    free(ref.field);
  }
}

/* Lanczos's rho of the plate on all ranks (block tiles of `block`), and whether it left the
 * field's buffers exactly as they were. */
static double lanczos_rho(const struct plate *p, enum decomp_kind kind, int64_t block,
                          int64_t *steps, bool *buffers_kept) {
  struct team *team = NULL;
  struct decomp_layout layout;
  struct field *f = NULL;
  struct halo *halo = NULL;
  int dims[2] = {0, 0};
  double rho = NAN;
  if (team_create(MPI_COMM_WORLD, &team) != ERR_OK || team_split_nodes(team, 0) != ERR_OK ||
      decomp_dims_fill(team->size, dims) != ERR_OK ||
      decomp_layout_init(&layout, p->nx, p->ny, team->size, dims, kind, block) != ERR_OK ||
      field_create(&layout, team, &(struct field_boundary){{NULL}}, 3.0, 1, &f) != ERR_OK ||
      fill_faces(f, p) != ERR_OK || halo_create(f, team, HALO_AUTO, &halo) != ERR_OK) {
    CU_FAIL("setting up the field");
    return NAN;
  }
  size_t bytes = (size_t)f->buffer_len * 2 * sizeof(double);
  double *before = malloc(bytes);
  memcpy(before, f->base, bytes);
  if (spectrum_faces_radius(f, halo, team, &rho, steps) != ERR_OK)
    rho = NAN;
  *buffers_kept = memcmp(before, f->base, bytes) == 0;
  free(before);
  halo_destroy(&halo);
  field_destroy(&f);
  team_destroy(&team);
  return rho;
}

/* Lanczos's rho against the truth. With uniform k, held top and bottom and insulated sides the
 * slowest mode is constant along each row, v_i = sin(pi (i + 1) / (ny + 1)): every node has half
 * its diagonal in the vertical pair (k + k of 4k inside, k/2 + k/2 of 2k on a side), so
 * J v = (1 + cos(pi / (ny + 1))) / 2 v. On the composite plate (k 1 and 300, a convective edge,
 * face exchange, a held point) the truth is the test's own power iteration. Within a few per
 * cent of the gap 1 - rho, the same bits on every partitioner, the field's buffers kept. */
static void test_lanczos_finds_the_true_radius(void) {
  const struct plate chain = {.nx = 7,
                              .ny = 40,
                              .t_top = 1.0,
                              .t_bottom = 0.0,
                              .k_left = 1.0,
                              .k_right = 1.0,
                              .split = 0,
                              .heat_col = -1,
                              .held_i = -1,
                              .held_j = -1};
  const double PI = 3.14159265358979323846;
  const struct plate *plates[2] = {&chain, &composite};
  double truth[2] = {(1.0 + cos(PI / (double)(chain.ny + 1))) / 2.0, true_radius(&composite)};
  for (int k = 0; k < 2; k++) {
    int64_t steps = 0, other_steps = 0;
    bool kept = false, other_kept = false;
    double rho = lanczos_rho(plates[k], DECOMP_BLOCK, 1, &steps, &kept);
    double other = lanczos_rho(plates[k], DECOMP_BLOCK_CYCLIC, 2, &other_steps, &other_kept);
    double gap = 1.0 - truth[k];
    EXPECT(rho >= truth[k] - 0.02 * gap && rho <= truth[k] + 0.05 * gap && rho < 1.0,
           "plate %d: rho %.17g after %lld steps, the truth %.17g (gap %.3g)", k, rho,
           (long long)steps, truth[k], gap);
    EXPECT(memcmp(&rho, &other, sizeof rho) == 0 && steps == other_steps,
           "plate %d: rho %.17g in %lld steps on block tiles, %.17g in %lld on block-cyclic", k,
           rho, (long long)steps, other, (long long)other_steps);
    EXPECT(kept && other_kept, "plate %d: the field's buffers changed", k);
  }
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"insulated_sides_give_the_linear_solution", test_insulated_sides_give_the_linear_solution},
      {"composite_convective_plate_against_a_direct_solve",
       test_composite_convective_plate_against_a_direct_solve},
      {"same_bits_on_every_decomposition", test_same_bits_on_every_decomposition},
      {"lanczos_finds_the_true_radius", test_lanczos_finds_the_true_radius},
  };
  return TESTS_ADD_SUITE("faces", cases);
}
