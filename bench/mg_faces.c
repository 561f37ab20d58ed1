/* mg_faces.c - NAME: the multigrid bench of the faces operator.
 *
 * PURPOSE: the convergence factor a V(2,2) cycle (red-black, the default) of multigrid on faces
 * plates (field.h's cond, diag, load; built by hand, tests/faces_plate.h), against issue 30's
 * targets: <= 0.1 for insulated, flux and convective edges with a smooth conductivity, <= 0.2
 * for conductivity jumps of 10, 1e3 and 1e6 (checkerboards, inserts and layers, aligned with the
 * coarse grids and not). The factor is the asymptotic one: the geometric mean of the reduction of
 * the sweep change a cycle over the last three cycles whose change is still above 1e-7 of the
 * first (below that, with k of 1e6, the change of these plates reaches its round-off floor and
 * the ratio says nothing of the method); "cycles" is the first cycle below 1e-7 of the first
 * (61: never, in 60). It counts cycles, not seconds: no figure here depends on the machine.
 *
 * USAGE: mpiexec -n R bench_mg_faces [--n N] [--quick]   (N x N points, default 255; --quick:
 * 63, and one contrast). Prints one line a plate and "targets met: k of m". */
#include "common/err.h"
#include "decomp/decomp.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/method/multigrid/multigrid.h"
#include "tests/faces_plate.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_case {
  const char *name;
  enum k_pattern pattern;
  int64_t block;
  double target;
  int edges; /* 0 insulated sides, 1 a flux bottom, 2 convective bottom and sides */
};

/* One plate: the factor a V(2,2), the cycles to 1e-9 of the first change, the levels. */
static int run_case(const struct faces_plate *p, double *factor, int *cycles, int *levels) {
  struct team *team = NULL;
  struct field *field = NULL;
  struct halo *halo = NULL;
  struct multigrid *mg = NULL;
  struct decomp_layout layout;
  int dims[2] = {0, 0};
  int64_t ring;
  double *sides = faces_sides(p, &ring);
  int status = sides != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory");
  if (status == ERR_OK)
    status = team_create(MPI_COMM_WORLD, &team);
  if (status == ERR_OK)
    status = team_split_nodes(team, 0);
  if (status == ERR_OK)
    status = decomp_dims_fill(team->size, dims);
  if (status == ERR_OK)
    status = decomp_layout_init(&layout, p->nx, p->ny, team->size, dims, DECOMP_BLOCK, 1);
  const struct field_boundary edges = {{sides, sides + ring, sides + 2 * ring, sides + 3 * ring}};
  if (status == ERR_OK)
    status = field_create(&layout, team, &edges, 0.0, 1, &field);
  if (status == ERR_OK && faces_fill(p, field) != 0)
    status = err_set(ERR_FAILURE, "out of memory");
  if (status == ERR_OK)
    status = halo_create(field, team, HALO_AUTO, &halo);
  const struct multigrid_params v22 = {
      .cycle = MULTIGRID_V, .smoother = MULTIGRID_REDBLACK, .pre = 2, .post = 2};
  if (status == ERR_OK)
    status = multigrid_create(field, halo, team, &v22, &mg);
  if (status == ERR_OK) {
    double change[61];
    int k;
    for (k = 1; k <= 60; k++) {
      double d = multigrid_cycle(mg, false);
      MPI_Allreduce(&d, &change[k], 1, MPI_DOUBLE, MPI_MAX, team->comm);
      if (change[k] < 1e-7 * change[1])
        break;
    }
    int last = k <= 60 ? k - 1 : 60; /* the last cycle at or above 1e-7 of the first */
    int from = last >= 4 ? last - 3 : 1;
    *factor = last > from ? pow(change[last] / change[from], 1.0 / (last - from)) : 0.0;
    *cycles = k;
    *levels = multigrid_levels(mg)->n;
  }
  multigrid_destroy(&mg);
  halo_destroy(&halo);
  field_destroy(&field);
  team_destroy(&team);
  free(sides);
  return status;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int64_t n = 255;
  bool quick = false;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--quick") == 0)
      quick = true, n = 63;
    else if (strcmp(argv[a], "--n") == 0 && a + 1 < argc)
      n = strtoll(argv[++a], NULL, 10);
  }
  const struct bench_case smooth[] = {
      {"insulated sides", K_SMOOTH, 1, 0.1, 0},
      {"flux bottom, insulated sides", K_SMOOTH, 1, 0.1, 1},
      {"convective bottom and sides", K_SMOOTH, 1, 0.1, 2},
  };
  const struct bench_case jumps[] = {
      {"checkerboard, squares of 16", K_CHECKER, 16, 0.2, 0},
      {"checkerboard, squares of 7", K_CHECKER, 7, 0.2, 0},
      {"insert, sides on multiples of 8", K_INSERT_ALIGNED, 1, 0.2, 1},
      {"insert, sides between coarse lines", K_INSERT, 1, 0.2, 1},
      {"layers of 8", K_LAYERED, 8, 0.2, 2},
      {"layers of 5", K_LAYERED, 5, 0.2, 2},
  };
  const double contrasts[] = {10.0, 1e3, 1e6};
  int met = 0, total = 0, failed = 0;
  if (rank == 0)
    printf("multigrid on the faces operator, %lld x %lld points, V(2,2) red-black\n"
           "%-40s %9s %6s %6s %7s %6s\n",
           (long long)n, (long long)n, "plate", "contrast", "levels", "cycles", "factor", "target");
  size_t nsmooth = sizeof smooth / sizeof smooth[0], njumps = sizeof jumps / sizeof jumps[0];
  for (size_t c = 0; c < nsmooth + njumps; c++) {
    const struct bench_case *bc = c < nsmooth ? &smooth[c] : &jumps[c - nsmooth];
    for (int x = 0; x < (c < nsmooth ? 1 : quick ? 1 : 3); x++) {
      struct faces_plate p = {.nx = n,
                              .ny = n,
                              .pattern = bc->pattern,
                              .contrast = c < nsmooth ? 1.0 : contrasts[quick ? 1 : x],
                              .block = bc->block,
                              .source = 200.0};
      const struct edge_spec held100 = {EDGE_HELD, 100.0, 0.0}, held0 = {EDGE_HELD, 0.0, 0.0},
                             insulated = {EDGE_INSULATED, 0.0, 0.0},
                             flux = {EDGE_FLUX, 1500.0, 0.0},
                             convective = {EDGE_CONVECTIVE, 25.0, 20.0};
      p.edge[DECOMP_NORTH] = held100;
      p.edge[DECOMP_SOUTH] = bc->edges == 0 ? held0 : bc->edges == 1 ? flux : convective;
      p.edge[DECOMP_WEST] = p.edge[DECOMP_EAST] = bc->edges == 2 ? convective : insulated;
      double factor = 0.0;
      int cycles = 0, levels = 0;
      if (run_case(&p, &factor, &cycles, &levels) != ERR_OK) {
        if (rank == 0)
          fprintf(stderr, "bench_mg_faces: %s\n", err_message());
        failed = 1;
        break;
      }
      bool ok = factor <= bc->target;
      met += ok;
      total++;
      if (rank == 0)
        printf("%-40s %9.0e %6d %6d %7.3f %6.1f%s\n", bc->name, p.contrast, levels, cycles, factor,
               bc->target, ok ? "" : "  NOT MET");
    }
  }
  if (rank == 0)
    printf("targets met: %d of %d\n", met, total);
  MPI_Finalize();
  return failed;
}
