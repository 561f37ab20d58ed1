/* petsc_plate - the peer of jacobi's time-to-solution section: the same heated plate solved by
 * PETSc's Krylov solvers, so that scripts/mg_bench.py and scripts/peers_bench.py can time
 * PETSc (CG + GAMG, CG + hypre's BoomerAMG) side by side with jacobi.
 *
 * PURPOSE
 *   Solve the discrete equations jacobi iterates on: nx x ny interior points, the 5-point
 *   Laplacian 4 T[i][j] - (sum of the four neighbours) = 0, with the ring held at fixed
 *   temperatures (top, bottom, left, right) moved to the right-hand side, from T = 0. Row i = 0
 *   is the row next to the top edge, as in jacobi's file. Rows of the matrix are the points in
 *   row-major order (global index i * nx + j), split over the ranks in contiguous blocks.
 *
 * USAGE
 *   mpirun -n 2 petsc_plate -nx 2048 -ny 2048 -top 100 -ksp_type cg -pc_type gamg \
 *     -ksp_rtol 1e-4 [-out field.bin]
 *   mpirun -n 2 petsc_plate -nx 2048 -ny 2048 -ksp_type cg -pc_type hypre \
 *     -pc_hypre_type boomeramg -ksp_rtol 1e-4
 *
 *   Any PETSc option applies (the solver comes from -ksp_type / -pc_type). -out writes the
 *   interior, ny x nx doubles in row-major order, native byte order, no header, from rank 0;
 *   the caller compares it with the exact discrete solution (tests/e2e/exact.py).
 *
 * BUILD
 *   PETSc is no dependency of jacobi: bench/CMakeLists.txt builds this only where pkg-config
 *   finds PETSc (Debian: apt-get install petsc-dev; -DJACOBI_PETSC=OFF skips it), and
 *   scripts/bench.sh, without a CMake-built one, compiles it itself as
 *   mpicc -O2 bench/petsc_plate.c $(pkg-config --cflags --libs PETSc) -o petsc_plate
 *
 * OUTPUT (one line, rank 0)
 *   petsc_plate nx N ny N ranks P ksp K pc C iterations I assembly A s setup S s solve V s
 *     total T s reason R
 *   where every time is the maximum over ranks of MPI_Wtime differences: assembly = creating
 *   and filling the matrix and right-hand side; setup = KSPSetUp (the preconditioner's set-up:
 *   GAMG's or BoomerAMG's hierarchy); solve = KSPSolve; total = the three together, i.e. the
 *   time from the equations to the solution. Process start, PetscInitialize and -out are not
 *   in it. reason is KSPConvergedReason (> 0: converged).
 */
#include <petscksp.h>

#include <stdio.h>

/* PETSc 3.19 names success; 3.18 (Debian 12) returns 0 */
#ifndef PETSC_SUCCESS
#define PETSC_SUCCESS 0
#endif

struct plate {
  PetscInt nx, ny;                    /* interior points per row, interior rows */
  PetscReal top, bottom, left, right; /* the ring's temperatures */
};

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
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective on PETSC_COMM_WORLD. The matrix A and right-hand side b of the plate, each rank
 * its contiguous block of rows; the caller destroys both. A point's neighbour on the ring is a
 * known temperature: it moves to b, and its column is absent from A. */
static PetscErrorCode plate_assemble(const struct plate *p, Mat *A, Vec *b) {
  PetscInt n = p->nx * p->ny, first, end;
  PetscFunctionBeginUser;
  PetscCall(MatCreate(PETSC_COMM_WORLD, A));
  PetscCall(MatSetSizes(*A, PETSC_DECIDE, PETSC_DECIDE, n, n));
  PetscCall(MatSetFromOptions(*A));
  /* at most 5 entries a row: at most 3 in the rank's own columns' block (itself, left, right)
   * plus up to 2 more there or elsewhere (the rows above and below) */
  PetscCall(MatSeqAIJSetPreallocation(*A, 5, NULL));
  PetscCall(MatMPIAIJSetPreallocation(*A, 5, NULL, 2, NULL));
  PetscCall(MatCreateVecs(*A, NULL, b));
  PetscCall(MatGetOwnershipRange(*A, &first, &end));
  for (PetscInt row = first; row < end; row++) {
    PetscInt i = row / p->nx, j = row % p->nx, cols[5], k = 0;
    PetscScalar vals[5], rhs = 0;
    cols[k] = row, vals[k++] = 4;
    if (i > 0)
      cols[k] = row - p->nx, vals[k++] = -1;
    else
      rhs += p->top;
    if (i < p->ny - 1)
      cols[k] = row + p->nx, vals[k++] = -1;
    else
      rhs += p->bottom;
    if (j > 0)
      cols[k] = row - 1, vals[k++] = -1;
    else
      rhs += p->left;
    if (j < p->nx - 1)
      cols[k] = row + 1, vals[k++] = -1;
    else
      rhs += p->right;
    PetscCall(MatSetValues(*A, 1, &row, k, cols, vals, INSERT_VALUES));
    PetscCall(VecSetValue(*b, row, rhs, INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(VecAssemblyBegin(*b));
  PetscCall(VecAssemblyEnd(*b));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Collective on PETSC_COMM_WORLD. Writes x, in global order, to path as raw doubles (rank 0). */
static PetscErrorCode field_write(Vec x, const char *path) {
  VecScatter to_zero;
  Vec all;
  PetscMPIInt rank;
  PetscErrorCode status = PETSC_SUCCESS;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(VecScatterCreateToZero(x, &to_zero, &all));
  PetscCall(VecScatterBegin(to_zero, x, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(to_zero, x, all, INSERT_VALUES, SCATTER_FORWARD));
  if (rank == 0) {
    const PetscScalar *values;
    PetscInt n;
    PetscCall(VecGetLocalSize(all, &n));
    PetscCall(VecGetArrayRead(all, &values));
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(values, sizeof *values, (size_t)n, f) != (size_t)n)
      status = PETSC_ERR_FILE_WRITE;
    if (f && fclose(f) != 0)
      status = PETSC_ERR_FILE_WRITE;
    PetscCall(VecRestoreArrayRead(all, &values));
  }
  PetscCall(VecScatterDestroy(&to_zero));
  PetscCall(VecDestroy(&all));
  /* every rank returns the same status: rank 0 decides */
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
  Mat A;
  Vec b, x;
  KSP ksp;
  KSPType ksp_type;
  PC pc;
  PCType pc_type;
  KSPConvergedReason reason;
  PetscInt iterations;
  PetscMPIInt ranks;
  char out[PETSC_MAX_PATH_LEN] = "";
  PetscBool write_out;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(plate_from_options(&p));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-out", out, sizeof out, &write_out));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &ranks));

  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD)); /* every rank starts the clock together */
  double t0 = MPI_Wtime();
  PetscCall(plate_assemble(&p, &A, &b));
  double t1 = MPI_Wtime();
  PetscCall(KSPCreate(PETSC_COMM_WORLD, &ksp));
  PetscCall(KSPSetOperators(ksp, A, A));
  PetscCall(KSPSetFromOptions(ksp));
  PetscCall(VecDuplicate(b, &x));
  PetscCall(VecSet(x, 0)); /* jacobi's start: the interior at 0 */
  PetscCall(KSPSetUp(ksp));
  double t2 = MPI_Wtime();
  PetscCall(KSPSolve(ksp, b, x));
  double t3 = MPI_Wtime();

  double assembly = t1 - t0, setup = t2 - t1, solve = t3 - t2, total = t3 - t0;
  PetscCall(max_over_ranks(&assembly));
  PetscCall(max_over_ranks(&setup));
  PetscCall(max_over_ranks(&solve));
  PetscCall(max_over_ranks(&total));
  PetscCall(KSPGetIterationNumber(ksp, &iterations));
  PetscCall(KSPGetConvergedReason(ksp, &reason));
  PetscCall(KSPGetType(ksp, &ksp_type));
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCGetType(pc, &pc_type));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD,
                        "petsc_plate nx %" PetscInt_FMT " ny %" PetscInt_FMT
                        " ranks %d ksp %s pc %s iterations %" PetscInt_FMT
                        " assembly %.6f s setup %.6f s solve %.6f s total %.6f s reason %d\n",
                        p.nx, p.ny, (int)ranks, ksp_type, pc_type, iterations, assembly, setup,
                        solve, total, (int)reason));
  if (write_out)
    PetscCall(field_write(x, out));

  PetscCall(VecDestroy(&x));
  PetscCall(KSPDestroy(&ksp));
  PetscCall(VecDestroy(&b));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscFinalize());
  return 0;
}
