/* bench_sweep - single-core throughput of the Jacobi kernel, from in-cache to out-of-cache grids.
 *
 * NAME     bench_sweep
 * PURPOSE  Million lattice updates per second (MLUP/s) of the kernels jacobi runs
 *          (solver/kernel/sweep.h): sweep_tile (regular stores), sweep_tile_streaming
 *          (non-temporal stores), sweep_tile_weighted (Chebyshev's step, "chebyshev"),
 *          sweep_tile_general (a plate with sources or held regions, "general"),
 *          sweep_tile_faces (the faces operator: insulated, flux or convective edges, face
 *          exchange, composite conductivity, "faces"; and "faces-chebyshev", weighted),
 *          sweep_redblack (multigrid's red-black smoothing step, in place, "redblack"; with
 *          its change measured in the pass, "redblack-change") and
 *          sweep_tile_update (regular stores, no max-diff: the
 *          iterations between convergence checks), called directly on one n x n tile with
 *          its halo ring: two buffers, swept alternately, as the solver does. No MPI, no halo
 *          exchange, no reduction: the ceiling the parallel runs are measured against.
 * USAGE    bench_sweep [--iterations N] [--repeat R] SIZE...
 *          [--copy-gbs G]
 *          For each SIZE n: N * 1024^2 / n^2 sweeps (at least 2), so every size does about the
 *          same N million updates; a tenth of that (at least one sweep) first as an untimed
 *          warm-up; then R timed repetitions (default 3), for each kernel. N defaults to 100.
 *          Prints CSV: n, stores (the kernel: regular, streaming, update, chebyshev, or a
 *          variant ISA-STORES[-nodiff] that solver.stores = "auto" chooses from), sweeps per
 *          repetition, best and median MLUP/s, the bytes-per-update model, the working set (two
 *          buffers) and the last sweep's max diff (so the work is observable and cannot be
 *          optimised away; 0 for update), and with --copy-gbs G (bench_stream's copy figure,
 *          GB/s) the fraction of the copy roofline G / bytes_per_update the median reaches.
 *
 * Bytes per update: 16, one read and one write of a double, assuming the three input rows a
 * point needs stay in cache between rows (true up to rows of several hundred KiB). A regular
 * store also reads its line first (write-allocate); bench_stream's copy figure hides that read
 * the same way, so copy GB/s / 16 B is the kernel's roofline (scripts/bench.sh computes it).
 * Streaming stores skip that read: out of cache they move 16 real bytes per update where the
 * copy moved 24 for every 16 it counted, so they can pass the roofline so defined.
 *
 * The bytes each kernel must move per update, counted the same way (every array read once and
 * the result written once; the rows of x that neighbours share stay in cache):
 *   Laplace (regular, streaming, update, chebyshev, the variants): 16 = x read, u written;
 *     chebyshev also reads u's old value, but a regular store reads that line anyway: 16;
 *   general: 32 = x, coef, rhs read, u written;
 *   faces: 64 = x, the four conductances, diag and load read, u written; faces-chebyshev: 64;
 *   faces-uniform (a plate of one conductivity: the interior's values as scalars, the arrays
 *     read at the two side columns only): 16, as Laplace's.
 * So the faces kernel's roofline is a quarter of Laplace's in updates per second: a plate that
 * needs the faces operator (an insulated edge, face exchange) costs up to 4x a held one per
 * sweep when both are bound by memory.
 */
#include "solver/kernel/sweep.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DEFAULT_ITERATIONS = 100, DEFAULT_REPEAT = 3, BYTES_PER_UPDATE = 16 };
enum { BYTES_GENERAL = 32, BYTES_FACES = 64 };

struct options {
  int64_t iterations; /* sweeps of a 1024 x 1024 tile; other sizes scale to the same updates */
  int repeat;
  int first_size;  /* argv index of the first SIZE */
  double copy_gbs; /* bench_stream's copy GB/s (0: not given) */
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool parse_positive(const char *text, long long max, long long *value) {
  char *end = NULL;
  *value = strtoll(text, &end, 10);
  return end != text && *end == '\0' && *value >= 1 && *value <= max;
}

static int usage(const char *bad) {
  fprintf(stderr,
          "bench_sweep: bad argument '%s'\n"
          "usage: bench_sweep [--iterations N] [--repeat R (1..1000)] [--copy-gbs G] "
          "SIZE (1..65536)...\n",
          bad);
  return 2;
}

static int parse_options(int argc, char **argv, struct options *opt) {
  *opt = (struct options){.iterations = DEFAULT_ITERATIONS, .repeat = DEFAULT_REPEAT};
  int k = 1;
  for (; k + 1 < argc && strncmp(argv[k], "--", 2) == 0; k += 2) {
    long long value = 0;
    if (strcmp(argv[k], "--iterations") == 0 && parse_positive(argv[k + 1], 1000000, &value))
      opt->iterations = value;
    else if (strcmp(argv[k], "--repeat") == 0 && parse_positive(argv[k + 1], 1000, &value))
      opt->repeat = (int)value;
    else if (strcmp(argv[k], "--copy-gbs") == 0 && (opt->copy_gbs = atof(argv[k + 1])) > 0)
      continue;
    else
      return usage(argv[k]);
  }
  if (k == argc)
    return usage("(no SIZE)");
  for (int s = k; s < argc; s++) {
    long long n = 0;
    if (!parse_positive(argv[s], 65536, &n))
      return usage(argv[s]);
  }
  opt->first_size = k;
  return 0;
}

static int compare_doubles(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* A tile with its halo ring, stride n + 2: any values will do, as long as both buffers hold
 * the same ring (the kernel never writes it) and the sweeps have work to do. */
static void fill(double *tile, int64_t n) {
  int64_t stride = n + 2;
  for (int64_t i = 0; i < n + 2; i++)
    for (int64_t j = 0; j < stride; j++)
      tile[i * stride + j] = i == 0 ? 100.0 : (double)((i * 31 + j * 17) % 97) / 97.0;
}

typedef double kernel_fn(const double *restrict, double *restrict, int64_t, int64_t, int64_t);

/* The general and faces kernels' arrays, laid out as the tile (stride n + 2), for the size
 * being timed: a plate of unit conductances whose faces exchange a little heat (diag a bit
 * over their sum), a load everywhere; coef 1 and rhs a small source. The values change no
 * timing (no branch depends on them); they keep the sweeps finite and working. */
static struct sweep_faces bench_faces;
static const double *bench_coef, *bench_rhs;
static int64_t (*bench_runs)[2]; /* faces-uniform's runs: each row but its first and last point */

static double *plane(int64_t n, double value) {
  size_t count = (size_t)((n + 2) * (n + 2));
  double *p = malloc(count * sizeof *p);
  for (size_t k = 0; p != NULL && k < count; k++)
    p[k] = value;
  return p;
}

static bool terms_create(int64_t n) {
  double *cond[DECOMP_NSIDES];
  for (int d = 0; d < DECOMP_NSIDES; d++)
    bench_faces.cond[d] = cond[d] = plane(n, 1.0);
  bench_faces.diag = plane(n, 4.001);
  bench_faces.load = plane(n, 0.01);
  bench_coef = plane(n, 1.0);
  bench_rhs = plane(n, 1e-4);
  bench_runs = malloc((size_t)n * sizeof *bench_runs);
  for (int64_t i = 0; bench_runs != NULL && i < n; i++) {
    bench_runs[i][0] = n > 2 ? 1 : 0;
    bench_runs[i][1] = n > 2 ? n - 1 : 0;
  }
  bool ok = bench_faces.diag && bench_faces.load && bench_coef && bench_rhs && bench_runs;
  for (int d = 0; d < DECOMP_NSIDES; d++)
    ok = ok && cond[d] != NULL;
  return ok;
}

static void terms_destroy(void) {
  for (int d = 0; d < DECOMP_NSIDES; d++)
    free((void *)bench_faces.cond[d]);
  free((void *)bench_faces.diag);
  free((void *)bench_faces.load);
  free((void *)bench_coef);
  free((void *)bench_rhs);
  free(bench_runs);
  bench_runs = NULL;
  bench_faces = (struct sweep_faces){{NULL}, NULL, NULL};
  bench_coef = bench_rhs = NULL;
}

/* sweep_tile_general with the diff (a check iteration), regular stores. */
static double general(const double *restrict in, double *restrict out, int64_t nrows, int64_t ncols,
                      int64_t stride) {
  return sweep_tile_general(in, out, bench_coef, bench_rhs, nrows, ncols, stride, 1.0, false, true);
}

/* sweep_tile_faces with the diff, regular stores: Jacobi's step on the faces operator. */
static double faces(const double *restrict in, double *restrict out, int64_t nrows, int64_t ncols,
                    int64_t stride) {
  return sweep_tile_faces(in, out, &bench_faces, nrows, ncols, stride, 1.0, false, true);
}

/* sweep_tile_faces_uniform on a plate of one conductivity: every row one run of the uniform
 * values but its first and last points (a plate's insulated sides), as jacobi's sweeps take it. */
static double faces_uniform(const double *restrict in, double *restrict out, int64_t nrows,
                            int64_t ncols, int64_t stride) {
  const struct sweep_faces_uniform u = {1.0, 4.001, 0.01, (const int64_t(*)[2])bench_runs, 0};
  return sweep_tile_faces_uniform(in, out, &bench_faces, &u, nrows, ncols, stride, 1.0, false,
                                  true);
}

/* ... and weighted, Chebyshev's step on it. */
static double faces_chebyshev(const double *restrict in, double *restrict out, int64_t nrows,
                              int64_t ncols, int64_t stride) {
  return sweep_tile_faces(in, out, &bench_faces, nrows, ncols, stride, 1.99, false, true);
}

/* sweep_tile_update, which jacobi runs between convergence checks, in the others' shape. */
static double update_only(const double *restrict in, double *restrict out, int64_t nrows,
                          int64_t ncols, int64_t stride) {
  sweep_tile_update(in, out, nrows, ncols, stride);
  return 0.0;
}

/* sweep_tile_weighted, Chebyshev's step, with an omega of its late iterations and the diff (a
 * check iteration): one more load per point, of the point it overwrites. */
static double chebyshev(const double *restrict in, double *restrict out, int64_t nrows,
                        int64_t ncols, int64_t stride) {
  return sweep_tile_weighted(in, out, nrows, ncols, stride, 1.99, false, true);
}

/* sweep_redblack, multigrid's red-black smoothing step on level 0: in place, both colours in
 * one pass (a wavefront), on `out` alone (`in` unused: each repetition smooths the same
 * buffers on); "redblack-change" also measures the result's change in the same pass, as a
 * cycle's last step on one tile does. 16 bytes an update, as Laplace's. */
static double redblack(const double *restrict in, double *restrict out, int64_t nrows,
                       int64_t ncols, int64_t stride) {
  (void)in;
  return sweep_redblack(out, NULL, NULL, NULL, nrows, ncols, stride, 0, 0, false);
}

static double redblack_change(const double *restrict in, double *restrict out, int64_t nrows,
                              int64_t ncols, int64_t stride) {
  (void)in;
  return sweep_redblack(out, NULL, NULL, NULL, nrows, ncols, stride, 0, 0, true);
}

/* A kernel timed: one of jacobi's entry points (`sweep`), or else one of the variants that
 * solver.stores = "auto" chooses from (sweep_tile_variant), named isa-stores[-nodiff]. */
struct kernel {
  char name[32];
  kernel_fn *sweep;
  struct sweep_variant variant;
  bool want_diff;
  int bytes; /* per update: the model's (above) */
};

static const struct kernel entry_points[] = {
    {"regular", sweep_tile, {0}, true, BYTES_PER_UPDATE},
    {"streaming", sweep_tile_streaming, {0}, true, BYTES_PER_UPDATE},
    {"update", update_only, {0}, false, BYTES_PER_UPDATE},
    {"chebyshev", chebyshev, {0}, true, BYTES_PER_UPDATE},
    {"general", general, {0}, true, BYTES_GENERAL},
    {"faces", faces, {0}, true, BYTES_FACES},
    {"faces-chebyshev", faces_chebyshev, {0}, true, BYTES_FACES},
    {"faces-uniform", faces_uniform, {0}, true, BYTES_PER_UPDATE},
    {"redblack", redblack, {0}, false, BYTES_PER_UPDATE},
    {"redblack-change", redblack_change, {0}, true, BYTES_PER_UPDATE}};
enum { NENTRY = sizeof entry_points / sizeof entry_points[0] };

/* jacobi's entry points, then every variant this CPU runs: kernels[] gets them, returns how
 * many. */
static size_t list_kernels(struct kernel *kernels, size_t room) {
  size_t count = 0;
  for (size_t k = 0; k < NENTRY && count < room; k++)
    kernels[count++] = entry_points[k];
  for (int isa = 0; isa < SWEEP_ISA_COUNT; isa++)
    for (int flags = 0; flags < 4 && count < room; flags++) {
      if (!sweep_isa_available((enum sweep_isa)isa))
        continue;
      struct kernel *k = &kernels[count++];
      *k = (struct kernel){.variant = {.isa = (enum sweep_isa)isa, .streaming = flags & 1},
                           .want_diff = !(flags & 2),
                           .bytes = BYTES_PER_UPDATE};
      snprintf(k->name, sizeof k->name, "%s-%s%s", sweep_isa_name(k->variant.isa),
               k->variant.streaming ? "streaming" : "regular", k->want_diff ? "" : "-nodiff");
    }
  return count;
}

static double run_kernel(const struct kernel *k, const double *restrict in, double *restrict out,
                         int64_t n, int64_t stride) {
  if (k->sweep != NULL)
    return k->sweep(in, out, n, n, stride);
  return sweep_tile_variant(k->variant, in, out, n, n, stride, k->want_diff);
}

/* Time R repetitions of `sweeps` alternating sweeps of an n x n tile into seconds[]. Returns
 * the last sweep's max diff, or -1 if the buffers cannot be allocated. */
static double time_size(const struct kernel *kernel, int64_t n, int64_t sweeps, int64_t warmup,
                        int repeat, double *seconds) {
  int64_t stride = n + 2;
  size_t bytes = (size_t)(stride * stride) * sizeof(double);
  double *buffer[2] = {malloc(bytes), malloc(bytes)};
  if (buffer[0] == NULL || buffer[1] == NULL) {
    free(buffer[0]);
    free(buffer[1]);
    return -1.0;
  }
  if (!terms_create(n)) {
    terms_destroy();
    free(buffer[0]);
    free(buffer[1]);
    return -1.0;
  }
  fill(buffer[0], n);
  fill(buffer[1], n);
  double diff = 0.0;
  int current = 0;
  for (int64_t s = 0; s < warmup; s++, current ^= 1)
    diff = run_kernel(kernel, buffer[current], buffer[current ^ 1], n, stride);
  for (int r = 0; r < repeat; r++) {
    double t0 = now_seconds();
    for (int64_t s = 0; s < sweeps; s++, current ^= 1)
      diff = run_kernel(kernel, buffer[current], buffer[current ^ 1], n, stride);
    seconds[r] = now_seconds() - t0;
  }
  terms_destroy();
  free(buffer[0]);
  free(buffer[1]);
  return diff;
}

int main(int argc, char **argv) {
  struct options opt;
  int status = parse_options(argc, argv, &opt);
  if (status != 0)
    return status;
  double *seconds = malloc((size_t)opt.repeat * sizeof *seconds);
  if (seconds == NULL) {
    fprintf(stderr, "bench_sweep: out of memory\n");
    return 1;
  }
  printf("# bench_sweep: sweep_tile (regular stores), sweep_tile_streaming, "
         "sweep_tile_update (no max-diff), sweep_tile_weighted (chebyshev), sweep_tile_general "
         "(general: x, coef, rhs, u = %d B per update), sweep_tile_faces (faces, "
         "faces-chebyshev: x, four conductances, diag, load, u = %d B) and every variant "
         "of sweep_tile_variant this CPU runs (isa-stores[-nodiff]) on one n x n tile, two "
         "buffers alternating, %d timed repetitions after a warm-up; model %d bytes "
         "per update for Laplace's (x, u)%s\n",
         BYTES_GENERAL, BYTES_FACES, opt.repeat, BYTES_PER_UPDATE,
         opt.copy_gbs > 0 ? "; roofline = copy GB/s / bytes per update" : "");
  printf("n,stores,sweeps,best_mlups,median_mlups,bytes_per_update,working_set_mib,last_diff,"
         "copy_roofline_fraction\n");
  struct kernel kernels[NENTRY + 4 * SWEEP_ISA_COUNT];
  size_t nkernels = list_kernels(kernels, sizeof kernels / sizeof kernels[0]);
  for (int s = opt.first_size; s < argc; s++)
    for (size_t k = 0; k < nkernels; k++) {
      int64_t n = strtoll(argv[s], NULL, 10);
      double scaled = (double)opt.iterations * 1024.0 * 1024.0 / ((double)n * (double)n);
      int64_t sweeps = scaled < 2 ? 2 : (int64_t)(scaled + 0.5);
      int64_t warmup = sweeps / 10 < 1 ? 1 : sweeps / 10;
      double diff = time_size(&kernels[k], n, sweeps, warmup, opt.repeat, seconds);
      if (diff < 0) {
        fprintf(stderr, "bench_sweep: out of memory for two %lld x %lld tiles\n", (long long)n,
                (long long)n);
        free(seconds);
        return 1;
      }
      qsort(seconds, (size_t)opt.repeat, sizeof *seconds, compare_doubles);
      int r = opt.repeat;
      double median = r % 2 ? seconds[r / 2] : 0.5 * (seconds[r / 2 - 1] + seconds[r / 2]);
      double updates = (double)n * (double)n * (double)sweeps;
      /* the arrays it sweeps through: two buffers, and the terms of general and faces */
      double arrays = (double)kernels[k].bytes / (double)sizeof(double);
      double working_set =
          arrays * (double)((n + 2) * (n + 2)) * sizeof(double) / (1024.0 * 1024.0);
      /* the median's bytes a second against the copy's (GB/s = 1e9 B/s) */
      double fraction = updates / median * kernels[k].bytes / (opt.copy_gbs * 1e9);
      printf("%lld,%s,%lld,%.1f,%.1f,%d,%.3f,%.6e,", (long long)n, kernels[k].name,
             (long long)sweeps, updates / seconds[0] / 1e6, updates / median / 1e6,
             kernels[k].bytes, working_set, diff);
      if (opt.copy_gbs > 0)
        printf("%.3f\n", fraction);
      else
        printf("\n");
      fflush(stdout);
    }
  free(seconds);
  return 0;
}
