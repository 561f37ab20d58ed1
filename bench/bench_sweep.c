/* bench_sweep - single-core throughput of the Jacobi kernel, from in-cache to out-of-cache grids.
 *
 * NAME     bench_sweep
 * PURPOSE  Million lattice updates per second (MLUP/s) of the kernels jacobi runs
 *          (solver/kernel/sweep.h): sweep_tile (regular stores), sweep_tile_streaming
 *          (non-temporal stores), sweep_tile_weighted (Chebyshev's step, "chebyshev") and
 *          sweep_tile_update (regular stores, no max-diff: the
 *          iterations between convergence checks), called directly on one n x n tile with
 *          its halo ring: two buffers, swept alternately, as the solver does. No MPI, no halo
 *          exchange, no reduction: the ceiling the parallel runs are measured against.
 * USAGE    bench_sweep [--iterations N] [--repeat R] SIZE...
 *          For each SIZE n: N * 1024^2 / n^2 sweeps (at least 2), so every size does about the
 *          same N million updates; a tenth of that (at least one sweep) first as an untimed
 *          warm-up; then R timed repetitions (default 3), for each kernel. N defaults to 100.
 *          Prints CSV: n, stores (the kernel: regular, streaming, update, chebyshev, or a
 *          variant ISA-STORES[-nodiff] that solver.stores = "auto" chooses from), sweeps per
 *          repetition, best and median MLUP/s, the bytes-per-update model, the working set (two
 *          buffers) and the last sweep's max diff (so the work is observable and cannot be
 *          optimised away; 0 for update).
 *
 * Bytes per update: 16, one read and one write of a double, assuming the three input rows a
 * point needs stay in cache between rows (true up to rows of several hundred KiB). A regular
 * store also reads its line first (write-allocate); bench_stream's copy figure hides that read
 * the same way, so copy GB/s / 16 B is the kernel's roofline (scripts/bench.sh computes it).
 * Streaming stores skip that read: out of cache they move 16 real bytes per update where the
 * copy moved 24 for every 16 it counted, so they can pass the roofline so defined.
 */
#include "solver/kernel/sweep.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DEFAULT_ITERATIONS = 100, DEFAULT_REPEAT = 3, BYTES_PER_UPDATE = 16 };

struct options {
  int64_t iterations; /* sweeps of a 1024 x 1024 tile; other sizes scale to the same updates */
  int repeat;
  int first_size; /* argv index of the first SIZE */
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
          "usage: bench_sweep [--iterations N] [--repeat R (1..1000)] SIZE (1..65536)...\n",
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

/* A kernel timed: one of jacobi's entry points (`sweep`), or else one of the variants that
 * solver.stores = "auto" chooses from (sweep_tile_variant), named isa-stores[-nodiff]. */
struct kernel {
  char name[32];
  kernel_fn *sweep;
  struct sweep_variant variant;
  bool want_diff;
};

static const struct kernel entry_points[] = {{"regular", sweep_tile, {0}, true},
                                             {"streaming", sweep_tile_streaming, {0}, true},
                                             {"update", update_only, {0}, false},
                                             {"chebyshev", chebyshev, {0}, true}};

/* jacobi's entry points, then every variant this CPU runs: kernels[] gets them, returns how
 * many. */
static size_t list_kernels(struct kernel *kernels, size_t room) {
  size_t count = 0;
  for (size_t k = 0; k < sizeof entry_points / sizeof entry_points[0] && count < room; k++)
    kernels[count++] = entry_points[k];
  for (int isa = 0; isa < SWEEP_ISA_COUNT; isa++)
    for (int flags = 0; flags < 4 && count < room; flags++) {
      if (!sweep_isa_available((enum sweep_isa)isa))
        continue;
      struct kernel *k = &kernels[count++];
      *k = (struct kernel){.variant = {.isa = (enum sweep_isa)isa, .streaming = flags & 1},
                           .want_diff = !(flags & 2)};
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
         "sweep_tile_update (no max-diff), sweep_tile_weighted (chebyshev) and every variant "
         "of sweep_tile_variant this CPU runs (isa-stores[-nodiff]) on one n x n tile, two "
         "buffers alternating, %d timed repetitions after a warm-up; model %d bytes "
         "per update\n",
         opt.repeat, BYTES_PER_UPDATE);
  printf("n,stores,sweeps,best_mlups,median_mlups,bytes_per_update,working_set_mib,last_diff\n");
  struct kernel kernels[4 + 4 * SWEEP_ISA_COUNT];
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
      double working_set = 2.0 * (double)((n + 2) * (n + 2)) * sizeof(double) / (1024.0 * 1024.0);
      printf("%lld,%s,%lld,%.1f,%.1f,%d,%.3f,%.6e\n", (long long)n, kernels[k].name,
             (long long)sweeps, updates / seconds[0] / 1e6, updates / median / 1e6,
             BYTES_PER_UPDATE, working_set, diff);
      fflush(stdout);
    }
  free(seconds);
  return 0;
}
