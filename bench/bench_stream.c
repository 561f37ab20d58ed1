/* bench_stream - the machine's memory bandwidth, STREAM's copy and triad, on every rank at once.
 *
 * NAME     bench_stream
 * PURPOSE  The bandwidth that bounds the Jacobi kernel: every rank streams its own three arrays,
 *          far larger than the caches, through
 *              copy:   c[i] = a[i]                 counted as 16 bytes per element
 *              triad:  a[i] = b[i] + scalar * c[i] counted as 24 bytes per element
 *          Bytes are counted as STREAM counts them: what the loop reads and writes, not the
 *          write-allocate read a regular store costs on a cache miss (which makes copy move 24
 *          bytes in fact). The Jacobi kernel's 16 bytes per update are counted the same way, so
 *          copy bandwidth / 16 B is its roofline (scripts/bench.sh).
 * USAGE    mpirun -n P bench_stream [--array-mib M] [--repeat R]
 *          M MiB per array per rank (default 256), R timed repetitions (default 5) after one
 *          untimed warm-up. Rank 0 prints CSV: kernel, ranks, MiB per array, bytes counted per
 *          repetition (all ranks), best and median GB/s (1 GB = 1e9 bytes).
 *
 * Timing: a barrier, then each rank times its own loop; a repetition lasts as long as its
 * slowest rank (MPI_MAX), so the rate is the machine's with every rank streaming together.
 *
 * The copy must be a loop of regular stores. GCC recognises `c[i] = a[i]` and calls memcpy,
 * whose large-size path may use non-temporal stores (no write-allocate read): a different,
 * faster thing than what the kernel does. bench/CMakeLists.txt compiles this file with
 * -fno-tree-loop-distribute-patterns, and scripts/bench.sh checks with objdump, before it times
 * anything, that stream_copy calls nothing and has no non-temporal (movnt*) store. (GCC 12,
 * -O3: a loop of movupd loads and movups stores, 16 bytes at a time.)
 */
#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { DEFAULT_ARRAY_MIB = 256, DEFAULT_REPEAT = 5 };
static const double triad_scalar = 0.5;

/* Kept out of line so that objdump finds them by name, and so that the timed call is exactly
 * the loop. */
__attribute__((noinline)) static void stream_copy(const double *restrict a, double *restrict c,
                                                  int64_t n) {
  for (int64_t i = 0; i < n; i++)
    c[i] = a[i];
}

__attribute__((noinline)) static void stream_triad(double *restrict a, const double *restrict b,
                                                   const double *restrict c, double scalar,
                                                   int64_t n) {
  for (int64_t i = 0; i < n; i++)
    a[i] = b[i] + scalar * c[i];
}

struct options {
  int64_t array_mib;
  int repeat;
};

/* Returns 0, or 2 after printing a usage message on rank 0. Every rank parses the same argv,
 * so every rank reaches the same verdict: no agreement step is needed. */
static int parse_options(int argc, char **argv, int rank, struct options *opt) {
  *opt = (struct options){.array_mib = DEFAULT_ARRAY_MIB, .repeat = DEFAULT_REPEAT};
  for (int k = 1; k < argc; k += 2) { /* option, value */
    char *end = NULL;
    long long value = k + 1 < argc ? strtoll(argv[k + 1], &end, 10) : 0;
    bool number = end != NULL && end != argv[k + 1] && *end == '\0' && value >= 1;
    if (strcmp(argv[k], "--array-mib") == 0 && number && value <= 1024 * 1024)
      opt->array_mib = value;
    else if (strcmp(argv[k], "--repeat") == 0 && number && value <= 1000)
      opt->repeat = (int)value;
    else {
      if (rank == 0)
        fprintf(stderr,
                "bench_stream: bad argument '%s'\n"
                "usage: bench_stream [--array-mib M (1..1048576)] [--repeat R (1..1000)]\n",
                argv[k]);
      return 2;
    }
  }
  return 0;
}

static int compare_doubles(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* Median of n values; sorts them. */
static double median(double *values, int n) {
  qsort(values, (size_t)n, sizeof *values, compare_doubles);
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/* Every element must hold what the same sequence of copies and triads gives in scalar
 * arithmetic (exact: the same operations in the same order, no FMA contraction). Returns the
 * number of wrong elements. */
static int64_t count_wrong(const double *a, const double *b, const double *c, int64_t n,
                           int passes) {
  double ea = 1.0, eb = 2.0, ec = 0.0;
  for (int p = 0; p < passes; p++) {
    ec = ea;
    ea = eb + triad_scalar * ec;
  }
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; i++)
    wrong += a[i] != ea || b[i] != eb || c[i] != ec;
  return wrong;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, nranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  struct options opt;
  int status = parse_options(argc, argv, rank, &opt);
  if (status != 0) {
    MPI_Finalize();
    return status;
  }

  int64_t n = opt.array_mib * 1024 * 1024 / (int64_t)sizeof(double);
  size_t bytes = (size_t)n * sizeof(double);
  double *a = NULL, *b = NULL, *c = NULL;
  int failed = posix_memalign((void **)&a, 64, bytes) != 0 ||
               posix_memalign((void **)&b, 64, bytes) != 0 ||
               posix_memalign((void **)&c, 64, bytes) != 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (any_failed) {
    if (failed)
      fprintf(stderr, "bench_stream: rank %d: out of memory for 3 x %lld MiB\n", rank,
              (long long)opt.array_mib);
    free(a), free(b), free(c);
    MPI_Finalize();
    return 1;
  }
  /* First touch by the rank that streams them: the pages land on its NUMA node. */
  for (int64_t i = 0; i < n; i++)
    a[i] = 1.0, b[i] = 2.0, c[i] = 0.0;

  double *copy_seconds = malloc((size_t)opt.repeat * sizeof *copy_seconds);
  double *triad_seconds = malloc((size_t)opt.repeat * sizeof *triad_seconds);
  if (copy_seconds == NULL || triad_seconds == NULL)
    MPI_Abort(MPI_COMM_WORLD, 1);         /* a few bytes: not worth an agreement step */
  for (int r = -1; r < opt.repeat; r++) { /* r = -1: the warm-up */
    double t[2];
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    stream_copy(a, c, n);
    t[0] = MPI_Wtime() - t0;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    stream_triad(a, b, c, triad_scalar, n);
    t[1] = MPI_Wtime() - t0;
    double slowest[2];
    MPI_Allreduce(t, slowest, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (r >= 0)
      copy_seconds[r] = slowest[0], triad_seconds[r] = slowest[1];
  }

  long long wrong = count_wrong(a, b, c, n, opt.repeat + 1), all_wrong = 0;
  MPI_Allreduce(&wrong, &all_wrong, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    double copy_bytes = 2.0 * (double)bytes * nranks, triad_bytes = 3.0 * (double)bytes * nranks;
    double median_copy = median(copy_seconds, opt.repeat); /* sorts: [0] is then the best */
    double median_triad = median(triad_seconds, opt.repeat);
    double best_copy = copy_seconds[0], best_triad = triad_seconds[0];
    printf("# bench_stream: %d rank%s, 3 arrays x %lld MiB per rank, %d repetitions; "
           "last-level cache %ld KiB (sysconf); validation %s (%lld wrong elements)\n",
           nranks, nranks == 1 ? "" : "s", (long long)opt.array_mib, opt.repeat,
           sysconf(_SC_LEVEL3_CACHE_SIZE) / 1024, all_wrong == 0 ? "passed" : "FAILED", all_wrong);
    printf("kernel,ranks,array_mib,bytes_per_repetition,best_gbs,median_gbs\n");
    printf("copy,%d,%lld,%.0f,%.3f,%.3f\n", nranks, (long long)opt.array_mib, copy_bytes,
           copy_bytes / best_copy / 1e9, copy_bytes / median_copy / 1e9);
    printf("triad,%d,%lld,%.0f,%.3f,%.3f\n", nranks, (long long)opt.array_mib, triad_bytes,
           triad_bytes / best_triad / 1e9, triad_bytes / median_triad / 1e9);
  }
  free(copy_seconds);
  free(triad_seconds);
  free(a), free(b), free(c);
  MPI_Finalize();
  return all_wrong == 0 ? 0 : 1;
}
