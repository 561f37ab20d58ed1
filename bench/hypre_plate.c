/* hypre_plate - a peer of jacobi's multigrid: the same discrete plate solved by hypre's Struct
 * PFMG (alone, and as the preconditioner of PCG) and by PCG + BoomerAMG through hypre's IJ
 * interface, so that scripts/peers_bench.py times them side by side with jacobi (issues 30, 32).
 *
 * PURPOSE
 *   Assemble exactly the equations jacobi solves (docs/numerics.md, "Real plates: the faces
 *   operator"): nx x ny unknowns, row i = 0 next to the top edge, at each point
 *     diag T[p] - (cN T_N + cS T_S + cW T_W + cE T_E) = load[p].
 *   Two plates:
 *     held       every edge held (top 100, the others 0), k = 1: c = 1 to every neighbour and to
 *                the ring, so 4 T - (sum of the neighbours) = (ring values next to p);
 *     insulated  left and right edges insulated, top held at 100, bottom at 0, k per point from a
 *                raw file of ny x nx doubles (-k FILE, row-major, native order). The outer
 *                columns lie on the insulated edges (half cells, wx = 1/2); between points the
 *                conductance is the harmonic mean 2 kp kq / (kp + kq) times the face's length
 *                in units of h (wy = 1 for east/west faces, wx for north/south); to a held edge
 *                kp wx; the insulated edges carry nothing. The thickness is a common factor and
 *                is left out. diag is the sum of the conductances.
 *
 * USAGE
 *   mpirun -n P hypre_plate -nx N -ny M [-plate held|insulated] [-k FILE]
 *     -solver pfmg|pcg-pfmg|pcg-boomeramg -tol R [-maxit K] [-out FILE]
 *   -tol: the relative residual (2-norm, ||r|| / ||b||) each solver stops at. -out writes the
 *   solution, ny x nx doubles, row-major, native order, no header, from rank 0.
 *   The rows are split over the ranks in contiguous blocks of whole grid rows.
 *
 * OUTPUT (one line, rank 0)
 *   hypre_plate ... iterations I relres R assembly A s setup S s solve V s total T s
 *   each time the maximum over ranks of MPI_Wtime differences; total = assembly + setup + solve.
 *
 * BUILD
 *   bench/CMakeLists.txt builds it only where hypre's headers and library are found (Debian:
 *   libhypre-dev); -DJACOBI_HYPRE=OFF skips it. No test depends on it.
 */
#include <HYPRE.h>
#include <HYPRE_IJ_mv.h>
#include <HYPRE_parcsr_ls.h>
#include <HYPRE_struct_ls.h>
#include <HYPRE_utilities.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP 100.0

typedef struct {
  int nx, ny, insulated, maxit;
  double tol;
  const char *kfile, *solver, *out;
} options;

typedef struct {
  int r0, r1;                /* this rank's rows [r0, r1) */
  double *c, *w, *e, *n, *s; /* per local point: centre (diag), W, E, N, S coefficients */
  double *b;                 /* the load */
} linear_system;

static void die(const char *msg) {
  fprintf(stderr, "hypre_plate: %s\n", msg);
  MPI_Abort(MPI_COMM_WORLD, 2);
}

static double harmonic(double a, double b) { return 2.0 * (a * b) / (a + b); }

/* The conductances and load of this rank's rows, from k (the whole grid, every rank). */
static void assemble(const options *o, const double *k, linear_system *sy) {
  const int nx = o->nx, ny = o->ny;
  const size_t m = (size_t)(sy->r1 - sy->r0) * (size_t)nx;
  double **arrays[] = {&sy->c, &sy->w, &sy->e, &sy->n, &sy->s, &sy->b};
  for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; a++) {
    *arrays[a] = calloc(m, sizeof(double));
    if (!*arrays[a])
      die("out of memory");
  }
  for (int i = sy->r0; i < sy->r1; i++) {
    for (int j = 0; j < nx; j++) {
      const size_t p = (size_t)(i - sy->r0) * (size_t)nx + (size_t)j;
      const size_t g = (size_t)i * (size_t)nx + (size_t)j;
      double cn, cs, cw, ce, load = 0.0;
      if (!o->insulated) {
        cn = cs = cw = ce = 1.0; /* to a neighbour or to the ring */
        if (i == 0)
          load += TOP;
        /* the other edges hold 0 */
        sy->n[p] = i > 0 ? 1.0 : 0.0;
        sy->s[p] = i < ny - 1 ? 1.0 : 0.0;
        sy->w[p] = j > 0 ? 1.0 : 0.0;
        sy->e[p] = j < nx - 1 ? 1.0 : 0.0;
      } else {
        const double kp = k[g];
        const double wx = (j == 0 || j == nx - 1) ? 0.5 : 1.0;
        cn = i > 0 ? harmonic(kp, k[g - (size_t)nx]) * wx : kp * wx;
        cs = i < ny - 1 ? harmonic(kp, k[g + (size_t)nx]) * wx : kp * wx;
        cw = j > 0 ? harmonic(kp, k[g - 1]) : 0.0;
        ce = j < nx - 1 ? harmonic(kp, k[g + 1]) : 0.0;
        if (i == 0)
          load += cn * TOP; /* bottom holds 0 */
        sy->n[p] = i > 0 ? cn : 0.0;
        sy->s[p] = i < ny - 1 ? cs : 0.0;
        sy->w[p] = cw;
        sy->e[p] = ce;
      }
      sy->c[p] = (cn + cs) + (cw + ce);
      sy->b[p] = load;
    }
  }
}

static double max_over_ranks(double t) {
  double m;
  MPI_Allreduce(&t, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return m;
}

/* Struct interface: PFMG alone or PCG + PFMG. x gets this rank's rows. */
static void solve_struct(const options *o, const linear_system *sy, double *x, double t[3],
                         int *iters, double *relres) {
  const int nx = o->nx;
  double t0 = MPI_Wtime();
  HYPRE_StructGrid grid;
  HYPRE_StructGridCreate(MPI_COMM_WORLD, 2, &grid);
  /* index (x, y) = (j, i) */
  HYPRE_Int lo[2] = {0, sy->r0}, hi[2] = {nx - 1, sy->r1 - 1};
  HYPRE_StructGridSetExtents(grid, lo, hi);
  HYPRE_StructGridAssemble(grid);
  HYPRE_StructStencil stencil;
  HYPRE_StructStencilCreate(2, 5, &stencil);
  HYPRE_Int offs[5][2] = {{0, 0}, {-1, 0}, {1, 0}, {0, -1}, {0, 1}};
  for (HYPRE_Int e = 0; e < 5; e++)
    HYPRE_StructStencilSetElement(stencil, e, offs[e]);
  HYPRE_StructMatrix A;
  HYPRE_StructMatrixCreate(MPI_COMM_WORLD, grid, stencil, &A);
  HYPRE_StructMatrixInitialize(A);
  const size_t m = (size_t)(sy->r1 - sy->r0) * (size_t)nx;
  double *vals = malloc(5 * m * sizeof(double));
  if (!vals)
    die("out of memory");
  /* box values run x fastest, then y: the local rows in row-major order */
  for (size_t p = 0; p < m; p++) {
    vals[5 * p + 0] = sy->c[p];
    vals[5 * p + 1] = -sy->w[p];
    vals[5 * p + 2] = -sy->e[p];
    vals[5 * p + 3] = -sy->n[p]; /* y - 1 is the row above: north */
    vals[5 * p + 4] = -sy->s[p];
  }
  HYPRE_Int entries[5] = {0, 1, 2, 3, 4};
  HYPRE_StructMatrixSetBoxValues(A, lo, hi, 5, entries, vals);
  free(vals);
  HYPRE_StructMatrixAssemble(A);
  HYPRE_StructVector b, xv;
  HYPRE_StructVectorCreate(MPI_COMM_WORLD, grid, &b);
  HYPRE_StructVectorCreate(MPI_COMM_WORLD, grid, &xv);
  HYPRE_StructVectorInitialize(b);
  HYPRE_StructVectorInitialize(xv);
  HYPRE_StructVectorSetBoxValues(b, lo, hi, sy->b);
  memset(x, 0, m * sizeof(double));
  HYPRE_StructVectorSetBoxValues(xv, lo, hi, x);
  HYPRE_StructVectorAssemble(b);
  HYPRE_StructVectorAssemble(xv);
  double t1 = MPI_Wtime();

  HYPRE_StructSolver pfmg, pcg = NULL;
  HYPRE_StructPFMGCreate(MPI_COMM_WORLD, &pfmg);
  HYPRE_StructPFMGSetRelaxType(pfmg, 2); /* red-black Gauss-Seidel, symmetric */
  HYPRE_StructPFMGSetNumPreRelax(pfmg, 1);
  HYPRE_StructPFMGSetNumPostRelax(pfmg, 1);
  HYPRE_Int it = 0;
  double rr = 0.0, t2, t3;
  if (strcmp(o->solver, "pfmg") == 0) {
    HYPRE_StructPFMGSetTol(pfmg, o->tol);
    HYPRE_StructPFMGSetMaxIter(pfmg, o->maxit);
    HYPRE_StructPFMGSetLogging(pfmg, 1);
    HYPRE_StructPFMGSetup(pfmg, A, b, xv);
    t2 = MPI_Wtime();
    HYPRE_StructPFMGSolve(pfmg, A, b, xv);
    t3 = MPI_Wtime();
    HYPRE_StructPFMGGetNumIterations(pfmg, &it);
    HYPRE_StructPFMGGetFinalRelativeResidualNorm(pfmg, &rr);
  } else {
    HYPRE_StructPFMGSetTol(pfmg, 0.0);
    HYPRE_StructPFMGSetMaxIter(pfmg, 1);
    HYPRE_StructPFMGSetZeroGuess(pfmg);
    HYPRE_StructPCGCreate(MPI_COMM_WORLD, &pcg);
    HYPRE_StructPCGSetTol(pcg, o->tol);
    HYPRE_StructPCGSetMaxIter(pcg, o->maxit);
    HYPRE_StructPCGSetTwoNorm(pcg, 1);
    HYPRE_StructPCGSetLogging(pcg, 1);
    HYPRE_StructPCGSetPrecond(pcg, HYPRE_StructPFMGSolve, HYPRE_StructPFMGSetup, pfmg);
    HYPRE_StructPCGSetup(pcg, A, b, xv);
    t2 = MPI_Wtime();
    HYPRE_StructPCGSolve(pcg, A, b, xv);
    t3 = MPI_Wtime();
    HYPRE_StructPCGGetNumIterations(pcg, &it);
    HYPRE_StructPCGGetFinalRelativeResidualNorm(pcg, &rr);
  }
  HYPRE_StructVectorGetBoxValues(xv, lo, hi, x);
  t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2;
  *iters = (int)it, *relres = rr;
  if (pcg)
    HYPRE_StructPCGDestroy(pcg);
  HYPRE_StructPFMGDestroy(pfmg);
  HYPRE_StructVectorDestroy(xv);
  HYPRE_StructVectorDestroy(b);
  HYPRE_StructMatrixDestroy(A);
  HYPRE_StructStencilDestroy(stencil);
  HYPRE_StructGridDestroy(grid);
}

/* IJ interface: PCG + BoomerAMG on the ParCSR matrix, rows i * nx + j. */
static void solve_ij(const options *o, const linear_system *sy, double *x, double t[3], int *iters,
                     double *relres) {
  const int nx = o->nx;
  const size_t m = (size_t)(sy->r1 - sy->r0) * (size_t)nx;
  double t0 = MPI_Wtime();
  HYPRE_BigInt first = (HYPRE_BigInt)sy->r0 * nx, last = (HYPRE_BigInt)sy->r1 * nx - 1;
  HYPRE_IJMatrix Aij;
  HYPRE_IJMatrixCreate(MPI_COMM_WORLD, first, last, first, last, &Aij);
  HYPRE_IJMatrixSetObjectType(Aij, HYPRE_PARCSR);
  HYPRE_Int *sizes = malloc(m * sizeof(HYPRE_Int));
  if (!sizes)
    die("out of memory");
  for (size_t p = 0; p < m; p++)
    sizes[p] = 5;
  HYPRE_IJMatrixSetRowSizes(Aij, sizes);
  free(sizes);
  HYPRE_IJMatrixInitialize(Aij);
  for (int i = sy->r0; i < sy->r1; i++) {
    for (int j = 0; j < nx; j++) {
      const size_t p = (size_t)(i - sy->r0) * (size_t)nx + (size_t)j;
      HYPRE_BigInt row = (HYPRE_BigInt)i * nx + j, cols[5];
      double v[5];
      HYPRE_Int nc = 0;
      cols[nc] = row, v[nc++] = sy->c[p];
      if (sy->n[p] != 0.0)
        cols[nc] = row - nx, v[nc++] = -sy->n[p];
      if (sy->w[p] != 0.0)
        cols[nc] = row - 1, v[nc++] = -sy->w[p];
      if (sy->e[p] != 0.0)
        cols[nc] = row + 1, v[nc++] = -sy->e[p];
      if (sy->s[p] != 0.0)
        cols[nc] = row + nx, v[nc++] = -sy->s[p];
      HYPRE_IJMatrixSetValues(Aij, 1, &nc, &row, cols, v);
    }
  }
  HYPRE_IJMatrixAssemble(Aij);
  HYPRE_ParCSRMatrix A;
  HYPRE_IJMatrixGetObject(Aij, (void **)&A);
  HYPRE_BigInt *rows = malloc(m * sizeof(HYPRE_BigInt));
  if (!rows)
    die("out of memory");
  for (size_t p = 0; p < m; p++)
    rows[p] = first + (HYPRE_BigInt)p;
  HYPRE_IJVector bij, xij;
  HYPRE_IJVectorCreate(MPI_COMM_WORLD, first, last, &bij);
  HYPRE_IJVectorCreate(MPI_COMM_WORLD, first, last, &xij);
  HYPRE_IJVectorSetObjectType(bij, HYPRE_PARCSR);
  HYPRE_IJVectorSetObjectType(xij, HYPRE_PARCSR);
  HYPRE_IJVectorInitialize(bij);
  HYPRE_IJVectorInitialize(xij);
  memset(x, 0, m * sizeof(double));
  HYPRE_IJVectorSetValues(bij, (HYPRE_Int)m, rows, sy->b);
  HYPRE_IJVectorSetValues(xij, (HYPRE_Int)m, rows, x);
  HYPRE_IJVectorAssemble(bij);
  HYPRE_IJVectorAssemble(xij);
  HYPRE_ParVector b, xv;
  HYPRE_IJVectorGetObject(bij, (void **)&b);
  HYPRE_IJVectorGetObject(xij, (void **)&xv);
  double t1 = MPI_Wtime();

  HYPRE_Solver amg, pcg;
  HYPRE_BoomerAMGCreate(&amg);
  HYPRE_BoomerAMGSetTol(amg, 0.0);
  HYPRE_BoomerAMGSetMaxIter(amg, 1);
  HYPRE_BoomerAMGSetPrintLevel(amg, 0);
  HYPRE_ParCSRPCGCreate(MPI_COMM_WORLD, &pcg);
  HYPRE_PCGSetTol(pcg, o->tol);
  HYPRE_PCGSetMaxIter(pcg, o->maxit);
  HYPRE_PCGSetTwoNorm(pcg, 1);
  HYPRE_PCGSetLogging(pcg, 1);
  HYPRE_PCGSetPrecond(pcg, (HYPRE_PtrToSolverFcn)HYPRE_BoomerAMGSolve,
                      (HYPRE_PtrToSolverFcn)HYPRE_BoomerAMGSetup, amg);
  HYPRE_ParCSRPCGSetup(pcg, A, b, xv);
  double t2 = MPI_Wtime();
  HYPRE_ParCSRPCGSolve(pcg, A, b, xv);
  double t3 = MPI_Wtime();
  HYPRE_Int it = 0;
  double rr = 0.0;
  HYPRE_PCGGetNumIterations(pcg, &it);
  HYPRE_PCGGetFinalRelativeResidualNorm(pcg, &rr);
  HYPRE_IJVectorGetValues(xij, (HYPRE_Int)m, rows, x);
  t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2;
  *iters = (int)it, *relres = rr;
  free(rows);
  HYPRE_ParCSRPCGDestroy(pcg);
  HYPRE_BoomerAMGDestroy(amg);
  HYPRE_IJVectorDestroy(xij);
  HYPRE_IJVectorDestroy(bij);
  HYPRE_IJMatrixDestroy(Aij);
}

static void parse(int argc, char **argv, options *o) {
  *o = (options){.nx = 0,
                 .ny = 0,
                 .insulated = 0,
                 .maxit = 1000,
                 .tol = 1e-6,
                 .kfile = NULL,
                 .solver = "pfmg",
                 .out = NULL};
  for (int a = 1; a + 1 < argc; a += 2) {
    const char *k = argv[a], *v = argv[a + 1];
    if (!strcmp(k, "-nx"))
      o->nx = atoi(v);
    else if (!strcmp(k, "-ny"))
      o->ny = atoi(v);
    else if (!strcmp(k, "-plate"))
      o->insulated = !strcmp(v, "insulated");
    else if (!strcmp(k, "-k"))
      o->kfile = v;
    else if (!strcmp(k, "-solver"))
      o->solver = v;
    else if (!strcmp(k, "-tol"))
      o->tol = atof(v);
    else if (!strcmp(k, "-maxit"))
      o->maxit = atoi(v);
    else if (!strcmp(k, "-out"))
      o->out = v;
    else
      die("unknown option (see the header of bench/hypre_plate.c)");
  }
  if (o->nx < 2 || o->ny < 2)
    die("-nx and -ny must be at least 2");
  if (o->insulated && !o->kfile)
    die("-plate insulated needs -k FILE");
  if (strcmp(o->solver, "pfmg") && strcmp(o->solver, "pcg-pfmg") &&
      strcmp(o->solver, "pcg-boomeramg"))
    die("-solver is pfmg, pcg-pfmg or pcg-boomeramg");
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  HYPRE_Init();
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  options o;
  parse(argc, argv, &o);
  if (size > o.ny)
    die("more ranks than rows");
  const size_t total = (size_t)o.nx * (size_t)o.ny;
  double *k = NULL;
  if (o.insulated) {
    k = malloc(total * sizeof(double));
    FILE *f = k ? fopen(o.kfile, "rb") : NULL;
    if (!f || fread(k, sizeof(double), total, f) != total)
      die("cannot read the -k file");
    fclose(f);
  }
  linear_system sy = {.r0 = (int)((long)o.ny * rank / size),
                      .r1 = (int)((long)o.ny * (rank + 1) / size)};
  double t0 = MPI_Wtime();
  assemble(&o, k, &sy);
  double ta = MPI_Wtime() - t0;
  free(k);
  const size_t m = (size_t)(sy.r1 - sy.r0) * (size_t)o.nx;
  double *x = malloc((m ? m : 1) * sizeof(double));
  if (!x)
    die("out of memory");
  double t[3];
  int iters;
  double relres;
  if (strcmp(o.solver, "pcg-boomeramg") == 0)
    solve_ij(&o, &sy, x, t, &iters, &relres);
  else
    solve_struct(&o, &sy, x, t, &iters, &relres);
  const double assembly = max_over_ranks(ta + t[0]), setup = max_over_ranks(t[1]),
               solve = max_over_ranks(t[2]);
  if (o.out) {
    int *counts = NULL, *displs = NULL;
    double *all = NULL;
    if (rank == 0) {
      counts = malloc((size_t)size * sizeof(int));
      displs = malloc((size_t)size * sizeof(int));
      all = malloc(total * sizeof(double));
      if (!counts || !displs || !all)
        die("out of memory");
      for (int r = 0; r < size; r++) {
        int a = (int)((long)o.ny * r / size), z = (int)((long)o.ny * (r + 1) / size);
        counts[r] = (z - a) * o.nx, displs[r] = a * o.nx;
      }
    }
    MPI_Gatherv(x, (int)m, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      FILE *f = fopen(o.out, "wb");
      if (!f || fwrite(all, sizeof(double), total, f) != total || fclose(f) != 0)
        die("cannot write -out");
    }
    free(all), free(counts), free(displs);
  }
  if (rank == 0)
    printf("hypre_plate nx %d ny %d ranks %d plate %s solver %s tol %g iterations %d relres "
           "%.3e assembly %.6f s setup %.6f s solve %.6f s total %.6f s\n",
           o.nx, o.ny, size, o.insulated ? "insulated" : "held", o.solver, o.tol, iters, relres,
           assembly, setup, solve, assembly + setup + solve);
  free(x);
  free(sy.c), free(sy.w), free(sy.e), free(sy.n), free(sy.s), free(sy.b);
  HYPRE_Finalize();
  MPI_Finalize();
  return 0;
}
