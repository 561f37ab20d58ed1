/* bench_pingpong - message latency and bandwidth between two ranks, and the allreduce's cost.
 *
 * NAME     bench_pingpong
 * PURPOSE  The communication constants of the performance model (decomp/model.h):
 *              latency     half the round trip of a zero-byte message, rank 0 <-> rank 1
 *              bandwidth   bytes / half the round trip of a MESSAGE_BYTES message
 *              allreduce   one MPI_Allreduce(MPI_MAX) of one double on all ranks, the
 *                          convergence check, and its cost per stage (ceil(log2 P) stages)
 *          Where the two ranks sit decides what is measured: on one node, the MPI library's
 *          shared-memory transport (the zero-byte latency then stands for the notification
 *          jacobi's shared-window halo sends a neighbour); across nodes, the network.
 * USAGE    mpirun -n P bench_pingpong [--repeat R]      (P >= 2)
 *          R timed repetitions (default 5) of each measurement after a warm-up, each of many
 *          round trips; rank 0 prints CSV: quantity, ranks, best and median value, unit.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  DEFAULT_REPEAT = 5,
  SMALL_TRIPS = 20000,
  MESSAGE_BYTES = 1 << 20,
  LARGE_TRIPS = 200,
  ALLREDUCES = 20000
};

static int compare_doubles(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* Seconds per one-way trip of `bytes` between ranks 0 and 1 (others wait at the barrier). */
static double one_way(char *buffer, int bytes, int trips, int rank) {
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int k = 0; k < trips && rank < 2; k++) {
    if (rank == 0) {
      MPI_Send(buffer, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
      MPI_Recv(buffer, bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
      MPI_Recv(buffer, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(buffer, bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
    }
  }
  double seconds = (MPI_Wtime() - t0) / (2.0 * trips);
  MPI_Bcast(&seconds, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return seconds;
}

static double allreduce(int count) {
  double mine = 1.0, max = 0.0;
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int k = 0; k < count; k++)
    MPI_Allreduce(&mine, &max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  double seconds = (MPI_Wtime() - t0) / count;
  MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return seconds;
}

/* Print one CSV row from r samples: best (smallest time: `invert` turns it into a rate). */
static void report(const char *what, int ranks, double *samples, int r, double scale, int invert,
                   const char *unit) {
  qsort(samples, (size_t)r, sizeof *samples, compare_doubles);
  double best = samples[0],
         median = r % 2 ? samples[r / 2] : 0.5 * (samples[r / 2 - 1] + samples[r / 2]);
  if (invert)
    printf("%s,%d,%.4g,%.4g,%s\n", what, ranks, scale / best, scale / median, unit);
  else
    printf("%s,%d,%.4g,%.4g,%s\n", what, ranks, best * scale, median * scale, unit);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int repeat = DEFAULT_REPEAT;
  if (argc == 3 && strcmp(argv[1], "--repeat") == 0)
    repeat = atoi(argv[2]);
  if (size < 2 || repeat < 1 || repeat > 1000 || (argc != 1 && argc != 3)) {
    if (rank == 0)
      fprintf(stderr, "usage: mpirun -n P bench_pingpong [--repeat R (1..1000)]   (P >= 2)\n");
    MPI_Finalize();
    return 2;
  }
  char *buffer = calloc(MESSAGE_BYTES, 1);
  double *latency = malloc((size_t)repeat * sizeof(double));
  double *transfer = malloc((size_t)repeat * sizeof(double));
  double *reduce = malloc((size_t)repeat * sizeof(double));
  if (buffer == NULL || latency == NULL || transfer == NULL || reduce == NULL)
    MPI_Abort(MPI_COMM_WORLD, 1);

  one_way(buffer, 0, SMALL_TRIPS / 10, rank); /* warm-up: connections, pages */
  one_way(buffer, MESSAGE_BYTES, LARGE_TRIPS / 10, rank);
  allreduce(ALLREDUCES / 10);
  for (int r = 0; r < repeat; r++) {
    latency[r] = one_way(buffer, 0, SMALL_TRIPS, rank);
    transfer[r] = one_way(buffer, MESSAGE_BYTES, LARGE_TRIPS, rank);
    reduce[r] = allreduce(ALLREDUCES);
  }
  if (rank == 0) {
    int stages = 0;
    while ((1 << stages) < size)
      stages++;
    printf("# bench_pingpong: ranks 0 and 1 of %d; %d repetitions; best and median\n", size,
           repeat);
    printf("quantity,ranks,best,median,unit\n");
    report("latency", 2, latency, repeat, 1e6, 0, "us");
    report("bandwidth", 2, transfer, repeat, MESSAGE_BYTES / 1e9, 1, "GB/s");
    report("allreduce", size, reduce, repeat, 1e6, 0, "us");
    for (int r = 0; r < repeat; r++)
      reduce[r] /= stages;
    report("allreduce_stage", size, reduce, repeat, 1e6, 0, "us");
  }
  free(buffer);
  free(latency);
  free(transfer);
  free(reduce);
  MPI_Finalize();
  return 0;
}
