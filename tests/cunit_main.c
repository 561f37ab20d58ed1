/* cunit_main.c - main() for jacobi's CUnit suites; see cunit_main.h. */
#include "tests/cunit_main.h"

#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef JACOBI_MPI_TEST
#include <mpi.h>
#endif

int tests_add_suite(const char *suite_name, const struct tests_case *cases, int ncases) {
  CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
  if (suite == NULL)
    return 1;
  for (int k = 0; k < ncases; k++)
    if (CU_add_test(suite, cases[k].name, cases[k].fn) == NULL)
      return 1;
  return 0;
}

void tests_expect_at(bool ok, const char *file, int line, const char *fmt, ...) {
  char what[2048] = "";
  if (!ok) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
  }
  CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, what, file, "", CU_FALSE);
}

#ifdef JACOBI_MPI_TEST
/* The rank count the test was started for: `--expect-ranks N`, which CTest passes. A launcher
 * of another MPI starts N singletons of size 1, each of which would pass on its own (issue 19),
 * so a suite that is not told, or is told another size, fails before running anything. */
static int world_has_expected_size(int argc, char **argv, int rank) {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long expected = -1;
  for (int k = 1; k + 1 < argc; k++)
    if (strcmp(argv[k], "--expect-ranks") == 0)
      expected = strtol(argv[k + 1], NULL, 10);
  if (expected == size)
    return 1;
  if (expected < 0)
    fprintf(stderr, "rank %d: no --expect-ranks N given: an MPI suite must be told its size\n",
            rank);
  else
    fprintf(stderr,
            "rank %d: MPI_COMM_WORLD has %d rank%s, the test asked for %ld: is mpiexec the "
            "launcher of the MPI this test was built with?\n",
            rank, size, size == 1 ? "" : "s", expected);
  return 0;
}
#endif

int main(int argc, char **argv) {
  int rank = 0;
#ifdef JACOBI_MPI_TEST
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (!world_has_expected_size(argc, argv, rank)) {
    MPI_Finalize();
    return 1;
  }
#else
  (void)argc;
  (void)argv;
#endif
  if (CU_initialize_registry() != CUE_SUCCESS || tests_register() != 0) {
    fprintf(stderr, "test registration failed: %s\n", CU_get_error_msg());
    return 1;
  }
  /* Under MPI every rank runs every test; only rank 0 prints the report, but a failing rank
   * prints its own failures (CU_basic_show_failures) so the message says where. */
  CU_basic_set_mode(rank == 0 ? CU_BRM_VERBOSE : CU_BRM_SILENT);
  CU_basic_run_tests();
  long failures = (long)CU_get_number_of_failures();
  if (rank != 0 && failures > 0) {
    fprintf(stderr, "rank %d: %ld failed assertions:\n", rank, failures);
    CU_basic_show_failures(CU_get_failure_list());
    fprintf(stderr, "\n");
  }
  long any_failures = failures;
#ifdef JACOBI_MPI_TEST
  MPI_Allreduce(&failures, &any_failures, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
#endif
  int status = (CU_get_error() != CUE_SUCCESS || any_failures > 0) ? 1 : 0;
  CU_cleanup_registry();
#ifdef JACOBI_MPI_TEST
  MPI_Finalize();
#endif
  return status;
}
