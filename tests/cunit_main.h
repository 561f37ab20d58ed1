/* cunit_main.h - the shared main() of jacobi's CUnit suites.
 *
 * Each tests/test_<module>.c defines tests_register(), which adds its suites; cunit_main.c runs
 * them with the basic interface and exits non-zero if any assertion failed. Under MPI (built
 * with JACOBI_MPI_TEST) main() initialises MPI and reduces the failure count over all ranks with
 * MPI_MAX, so a failure on any rank fails the test on every rank. An MPI suite is run as
 * `SUITE --expect-ranks N` and fails at once unless MPI_COMM_WORLD has exactly N ranks.
 */
#ifndef JACOBI_CUNIT_MAIN_H
#define JACOBI_CUNIT_MAIN_H

#include <CUnit/CUnit.h>
#include <stdbool.h>

/* Add the file's suites to the CUnit registry. Return 0, or non-zero if registration failed. */
int tests_register(void);

/* Add a suite with the given tests (NULL-terminated name/function pairs are clumsy in CUnit;
 * this takes parallel arrays). Returns 0 on success. */
struct tests_case {
  const char *name;
  void (*fn)(void);
};
int tests_add_suite(const char *suite_name, const struct tests_case *cases, int ncases);

/* An assertion whose failure report says what was expected and what was got: `fmt` and its
 * arguments are formatted only when `ok` is false. EXPECT() fills in the file and line. */
void tests_expect_at(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define EXPECT(ok, ...) tests_expect_at((ok), __FILE__, __LINE__, __VA_ARGS__)

#define TESTS_ADD_SUITE(name, cases)                                                               \
  tests_add_suite((name), (cases), (int)(sizeof(cases) / sizeof((cases)[0])))

#endif /* JACOBI_CUNIT_MAIN_H */
