/* petsc_pcmg - a peer of jacobi's multigrid: the same heated plate solved by PETSc's geometric
 * multigrid (PCMG) on a DMDA, with full multigrid cycles, so that scripts/peers_bench.py times
 * it side by side with jacobi and hypre (issue 32).
 *
 * PURPOSE
 *   Solve the discrete equations jacobi iterates on (bench/petsc_plate.c says them): nx x ny
 *   interior points, 4 T[i][j] - (sum of the four neighbours) = 0, the ring held at fixed
 *   temperatures moved to the right-hand side, from T = 0; row i = 0 next to the top edge.
 *
 *   PCMG needs a grid hierarchy. A DMDA of M points coarsens vertex-centred, M -> (M - 1)/2 + 1,
 *   so M - 1 must be divisible by 2 once per coarsening. The DMDA holds, along each direction,
 *   the interior points plus the low edge (top row, left column) and, only where it makes M - 1
 *   divisible by a higher power of 2, the high edge too:
 *     n + 1 points (low edge + interior) when n is the more even (n = 4096: M - 1 = 2^12),
 *     n + 2 points (both edges + interior) when n + 1 is (n = 4095: M - 1 = 2^12).
 *   An edge point on the DMDA is decoupled from the interior: its row is BIG * T = 0 and no
 *   interior row has its column (its temperature is in the right-hand side). BIG makes a coarse
 *   correction at the edge points vanish, i.e. the error is held at 0 there on every level. A high
 *   edge left off the DMDA sits half a coarse spacing beyond the last coarse point, so a
 *   rediscretised coarse operator would misplace it: the coarse operators are Galerkin's
 *   (R A P, PCMGSetGalerkin), which are right for either layout, and use the DMDA's bilinear
 *   interpolation. The levels: as many as coarsen exactly while the coarsest DMDA keeps at least
 *   5 points a side (-levels overrides, fewer only).
 *
 *   The defaults are what PETSc's documentation suggests for a Poisson problem, fixed here so
 *   the bench runs one named method: KSP richardson around PCMG with -pc_mg_type full (a full
 *   multigrid F-cycle from the restricted right-hand side, then V-cycles on the way up), PCMG's
 *   default smoother (Chebyshev / SOR, 2 steps), LU on the coarsest level, the stop on the
 *   unpreconditioned residual (-ksp_rtol R: ||b - A x||_2 <= R ||b||_2). Any PETSc option given
 *   on the command line overrides them (e.g. -pc_mg_type multiplicative -pc_mg_cycle_type v).
 *
 * USAGE
 *   mpirun -n P petsc_pcmg -nx N -ny M [-top 100 -bottom 0 -left 0 -right 0] -ksp_rtol R
 *     [-levels L] [-out FILE] [PETSc options]
 *   -out writes the interior, ny x nx doubles in row-major order, native byte order, no header,
 *   from rank 0 (the caller compares it with the exact discrete solution, tests/e2e/exact.py).
 *
 * OUTPUT (one line, rank 0)
 *   petsc_pcmg nx N ny N ranks P levels L ksp K pc C iterations I setup S s solve V s
 *     total T s reason R
 *   every time the maximum over ranks of MPI_Wtime differences: setup = the DMDA, the matrix and
 *   right-hand side, and KSPSetUp (interpolations, Galerkin products, smoothers, coarse LU);
 *   solve = KSPSolve; total = setup + solve. Process start, PetscInitialize and -out are not in
 *   it. reason is KSPConvergedReason (> 0: converged).
 *
 * BUILD
 *   bench/CMakeLists.txt builds it where pkg-config finds PETSc (Debian: petsc-dev);
 *   -DJACOBI_PETSC=OFF skips it. No test of jacobi depends on it.
 */
#include <petscdmda.h>
#include <petscksp.h>

/* PETSc 3.19 names success; 3.18 (Debian 12) returns 0 */
#ifndef PETSC_SUCCESS
#define PETSC_SUCCESS 0
#endif

/* The diagonal of an edge point's row: large against the interior's 4, so that a Galerkin
 * coarse correction there is ~1e-8 of the interior's (the error is held at 0 on the edge). */
#define EDGE_DIAGONAL 1e8

/* One direction of the DMDA: n interior points at DMDA indices 1 .. n, the low edge at 0, the
 * high edge at n + 1 when points = n + 2. */
struct axis {
  PetscInt n, points, coarsenings; /* interior points, DMDA points, exact halvings of points - 1 */
};

struct plate {
  PetscInt nx, ny;                    /* interior points per row, interior rows */
  PetscReal top, bottom, left, right; /* the ring's temperatures */
  struct axis x, y;                   /* x: columns (j), y: rows (i) */
};

/* Not collective. The exact halvings of m while m / 2 >= 4, i.e. while the coarser DMDA keeps
 * at least 5 points a side. */
static PetscInt halvings(PetscInt m) {
  PetscInt k = 0;
  while (m % 2 == 0 && m / 2 >= 4)
    m /= 2, k++;
  return k;
}

/* Not collective. The DMDA's layout along one direction of n interior points: the low edge
 * always, the high edge only if it coarsens more often. */
static struct axis axis_layout(PetscInt n) {
  PetscInt low_only = halvings(n), both = halvings(n + 1);
  if (both > low_only)
    return (struct axis){.n = n, .points = n + 2, .coarsenings = both};
  return (struct axis){.n = n, .points = n + 1, .coarsenings = low_only};
}

/* Not collective. The plate from the options -nx -ny -top -bottom -left -right. */
static PetscErrorCode plate_from_options(struct plate *p) {
  PetscFunctionBeginUser;
  *p = (struct plate){.nx = 512, .ny = 512, .top = 100};
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-nx", &p->nx, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-ny", &p->ny, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-top", &p->top, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-bottom", &p->bottom, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-left", &p->left, NULL));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-right", &p->right, NULL));
  PetscCheck(p->nx >= 1 && p->ny >= 1, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
             "-nx and -ny must be >= 1, got %" PetscInt_FMT " and %" PetscInt_FMT, p->nx, p->ny);
  p->x = axis_layout(p->nx);
  p->y = axis_layout(p->ny);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Not collective. Whether DMDA point (di, dj) is an interior point; its interior row and
 * column are di - 1 and dj - 1 (the low edge is DMDA index 0 in both directions). */
static PetscBool interior(const struct plate *p, PetscInt di, PetscInt dj) {
  return di >= 1 && di <= p->ny && dj >= 1 && dj <= p->nx;
}

/* Collective on the DMDA. The fine operator A and right-hand side b on the DMDA: an interior
 * point's neighbour on the ring moves to b; an edge point's row is EDGE_DIAGONAL * T = 0. */
static PetscErrorCode plate_assemble(const struct plate *p, DM da, Mat A, Vec b) {
  PetscInt xs, ys, xm, ym;
  PetscScalar **rhs;
  PetscFunctionBeginUser;
  PetscCall(DMDAGetCorners(da, &xs, &ys, NULL, &xm, &ym, NULL));
  PetscCall(DMDAVecGetArray(da, b, &rhs));
  /* DMDA's x is the column j, its y the row i */
  for (PetscInt di = ys; di < ys + ym; di++)
    for (PetscInt dj = xs; dj < xs + xm; dj++) {
      MatStencil row = {.i = dj, .j = di}, cols[5];
      PetscScalar vals[5], load = 0;
      PetscInt k = 0;
      if (!interior(p, di, dj)) {
        vals[0] = EDGE_DIAGONAL;
        PetscCall(MatSetValuesStencil(A, 1, &row, 1, &row, vals, INSERT_VALUES));
        rhs[di][dj] = 0;
        continue;
      }
      cols[k] = row, vals[k++] = 4;
      if (di > 1)
        cols[k] = (MatStencil){.i = dj, .j = di - 1}, vals[k++] = -1;
      else
        load += p->top;
      if (di < p->ny)
        cols[k] = (MatStencil){.i = dj, .j = di + 1}, vals[k++] = -1;
      else
        load += p->bottom;
      if (dj > 1)
        cols[k] = (MatStencil){.i = dj - 1, .j = di}, vals[k++] = -1;
      else
        load += p->left;
      if (dj < p->nx)
        cols[k] = (MatStencil){.i = dj + 1, .j = di}, vals[k++] = -1;
      else
        load += p->right;
      PetscCall(MatSetValuesStencil(A, 1, &row, k, cols, vals, INSERT_VALUES));
      rhs[di][dj] = load;
    }
  PetscCall(DMDAVecRestoreArray(da, b, &rhs));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Not collective. PCMG's method before the command line may change it: full multigrid with
 * Galerkin coarse operators on the given number of levels, inside Richardson stopped on the
 * true residual. */
static PetscErrorCode solver_defaults(KSP ksp, PetscInt levels) {
  PC pc;
  PetscFunctionBeginUser;
  PetscCall(KSPSetType(ksp, KSPRICHARDSON));
  PetscCall(KSPSetNormType(ksp, KSP_NORM_UNPRECONDITIONED));
  PetscCall(KSPSetTolerances(ksp, 1e-4, PETSC_DEFAULT, PETSC_DEFAULT, 200));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCSetType(pc, PCMG));
  PetscCall(PCMGSetLevels(pc, levels, NULL));
  PetscCall(PCMGSetType(pc, PC_MG_FULL));
  PetscCall(PCMGSetGalerkin(pc, PC_MG_GALERKIN_BOTH));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective on the DMDA. Writes the interior of x to path as raw doubles, ny x nx in row-major
 * order (rank 0 writes; every rank returns the same status). */
static PetscErrorCode field_write(const struct plate *p, DM da, Vec x, const char *path) {
  Vec natural, all;
  VecScatter to_zero;
  PetscMPIInt rank;
  PetscErrorCode status = PETSC_SUCCESS;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(DMDACreateNaturalVector(da, &natural));
  PetscCall(DMDAGlobalToNaturalBegin(da, x, INSERT_VALUES, natural));
  PetscCall(DMDAGlobalToNaturalEnd(da, x, INSERT_VALUES, natural));
  PetscCall(VecScatterCreateToZero(natural, &to_zero, &all));
  PetscCall(VecScatterBegin(to_zero, natural, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(to_zero, natural, all, INSERT_VALUES, SCATTER_FORWARD));
  if (rank == 0) {
    const PetscScalar *values;
    PetscCall(VecGetArrayRead(all, &values));
    FILE *f = fopen(path, "wb");
    if (!f)
      status = PETSC_ERR_FILE_WRITE;
    /* natural order: x (the column) fastest; interior row i is DMDA row i + 1, column 1 on */
    for (PetscInt i = 0; f && i < p->ny && status == PETSC_SUCCESS; i++) {
      const PetscScalar *row = values + (i + 1) * p->x.points + 1;
      if (fwrite(row, sizeof *row, (size_t)p->nx, f) != (size_t)p->nx)
        status = PETSC_ERR_FILE_WRITE;
    }
    if (f && fclose(f) != 0)
      status = PETSC_ERR_FILE_WRITE;
    PetscCall(VecRestoreArrayRead(all, &values));
  }
  PetscCall(VecScatterDestroy(&to_zero));
  PetscCall(VecDestroy(&all));
  PetscCall(VecDestroy(&natural));
  PetscCallMPI(MPI_Bcast(&status, 1, MPI_INT, 0, PETSC_COMM_WORLD));
  PetscCheck(status == PETSC_SUCCESS, PETSC_COMM_WORLD, PETSC_ERR_FILE_WRITE, "cannot write %s",
             path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The maximum over ranks of a local time, so that a phase lasts as long as its slowest rank. */
static PetscErrorCode max_over_ranks(double *t) {
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, t, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv) {
  struct plate p;
  DM da;
  Mat A;
  Vec b, x;
  KSP ksp;
  KSPType ksp_type;
  PC pc;
  PCType pc_type;
  KSPConvergedReason reason;
  PetscInt iterations, levels;
  PetscMPIInt ranks;
  char out[PETSC_MAX_PATH_LEN] = "";
  PetscBool write_out;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(plate_from_options(&p));
  levels = 1 + PetscMin(p.x.coarsenings, p.y.coarsenings);
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-levels", &levels, NULL));
  PetscCheck(levels >= 1 && levels <= 1 + PetscMin(p.x.coarsenings, p.y.coarsenings),
             PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
             "-levels %" PetscInt_FMT " does not coarsen %" PetscInt_FMT " x %" PetscInt_FMT
             " exactly",
             levels, p.nx, p.ny);
  PetscCall(PetscOptionsGetString(NULL, NULL, "-out", out, sizeof out, &write_out));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &ranks));

  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD)); /* every rank starts the clock together */
  double t0 = MPI_Wtime();
  PetscCall(DMDACreate2d(PETSC_COMM_WORLD, DM_BOUNDARY_NONE, DM_BOUNDARY_NONE, DMDA_STENCIL_STAR,
                         p.x.points, p.y.points, PETSC_DECIDE, PETSC_DECIDE, 1, 1, NULL, NULL,
                         &da));
  PetscCall(DMSetUp(da));
  PetscCall(DMCreateMatrix(da, &A));
  PetscCall(DMCreateGlobalVector(da, &b));
  PetscCall(VecDuplicate(b, &x));
  PetscCall(plate_assemble(&p, da, A, b));
  PetscCall(KSPCreate(PETSC_COMM_WORLD, &ksp));
  PetscCall(KSPSetDM(ksp, da));
  PetscCall(KSPSetDMActive(ksp, PETSC_FALSE)); /* A and b are ours; the DM gives the hierarchy */
  PetscCall(KSPSetOperators(ksp, A, A));
  PetscCall(solver_defaults(ksp, levels));
  PetscCall(KSPSetFromOptions(ksp));
  PetscCall(VecSet(x, 0)); /* jacobi's start: the interior at 0 */
  PetscCall(KSPSetUp(ksp));
  double t1 = MPI_Wtime();
  PetscCall(KSPSolve(ksp, b, x));
  double t2 = MPI_Wtime();

  double setup = t1 - t0, solve = t2 - t1, total = t2 - t0;
  PetscCall(max_over_ranks(&setup));
  PetscCall(max_over_ranks(&solve));
  PetscCall(max_over_ranks(&total));
  PetscCall(KSPGetIterationNumber(ksp, &iterations));
  PetscCall(KSPGetConvergedReason(ksp, &reason));
  PetscCall(KSPGetType(ksp, &ksp_type));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCGetType(pc, &pc_type));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                        "petsc_pcmg nx %" PetscInt_FMT " ny %" PetscInt_FMT
                        " ranks %d levels %" PetscInt_FMT " ksp %s pc %s iterations %" PetscInt_FMT
                        " setup %.6f s solve %.6f s total %.6f s reason %d\n",
                        p.nx, p.ny, (int)ranks, levels, ksp_type, pc_type, iterations, setup, solve,
                        total, (int)reason));
  if (write_out)
    PetscCall(field_write(&p, da, x, out));

  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&b));
  PetscCall(MatDestroy(&A));
  PetscCall(KSPDestroy(&ksp));
  PetscCall(DMDestroy(&da));
  PetscCall(PetscFinalize());
  return 0;
}
