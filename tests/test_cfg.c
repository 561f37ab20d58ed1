/* test_cfg.c - the configuration: defaults, every key's checks on both sides of each bound,
 * messages with file, line and suggestions, --set, cfg_origin, cfg_print's exact round trip,
 * and cfg_read_file's refusals. */
#include "tests/cunit_main.h"

#include "common/err.h"
#include "io/cfg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------------------------- */

/* Helpers that check on behalf of their caller report the caller's line. */
#define expect_at(ok, line, ...) tests_expect_at((ok), __FILE__, (line), __VA_ARGS__)

/* The smallest valid file: the two required keys, on lines 2 and 3. */
#define GRID "[grid]\nnx = 4\nny = 3\n"

static struct cfg *create_at(const char *text, const char *const *sets, int nsets, int line) {
  struct cfg *cfg = NULL;
  err_clear();
  int status = cfg_create(text, strlen(text), "t.toml", sets, nsets, &cfg);
  expect_at(status == ERR_OK && cfg != NULL, line, "expected a configuration, got status %d: %s",
            status, err_message());
  return cfg;
}
#define CREATE(text) create_at((text), NULL, 0, __LINE__)
#define CREATE_SET(text, ...)                                                                      \
  create_at((text), (const char *const[]){__VA_ARGS__},                                            \
            (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)), __LINE__)

/* cfg_create fails with ERR_CONFIG, *out NULL, and the message is exactly `want` (want_exact)
 * or contains it. */
static void expect_error_at(const char *text, const char *const *sets, int nsets, const char *want,
                            bool want_exact, int line) {
  struct cfg *cfg = (struct cfg *)&want; /* must be reset to NULL */
  err_clear();
  int status = cfg_create(text, strlen(text), "t.toml", sets, nsets, &cfg);
  expect_at(status == ERR_CONFIG, line, "expected ERR_CONFIG (%s), got %d", want, status);
  expect_at(cfg == NULL, line, "expected *out NULL after a failure");
  if (status == ERR_OK)
    cfg_destroy(&cfg);
  bool ok = want_exact ? strcmp(err_message(), want) == 0 : strstr(err_message(), want) != NULL;
  expect_at(ok, line, "expected the message %s\"%s\", got \"%s\"", want_exact ? "" : "to hold ",
            want, err_message());
}
#define EXPECT_ERROR(text, want) expect_error_at((text), NULL, 0, (want), true, __LINE__)
#define EXPECT_ERROR_HOLDS(text, want) expect_error_at((text), NULL, 0, (want), false, __LINE__)
#define EXPECT_SET_ERROR(set, want)                                                                \
  expect_error_at(GRID, (const char *const[]){set}, 1, (want), true, __LINE__)

static bool same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ---- defaults and the file ------------------------------------------------------------------- */

static void test_defaults_applied(void) {
  struct cfg *c = CREATE(GRID);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->nx == 4 && c->ny == 3, "expected 4 x 3, got %lld x %lld", (long long)c->nx,
         (long long)c->ny);
  EXPECT(same_double(c->top.value, 0.0) && same_double(c->bottom.value, 0.0) &&
             same_double(c->left.value, 0.0) && same_double(c->right.value, 0.0) &&
             same_double(c->interior.value, 0.0),
         "expected temperatures of +0.0");
  EXPECT(c->tolerance == 1e-4, "expected tolerance 1e-4, got %g", c->tolerance);
  EXPECT(c->max_iterations == 100000 && c->check_interval == 1, "expected 100000 and 1");
  EXPECT(c->partitioner == CFG_BLOCK && c->block_size == 1, "expected block, block size 1");
  EXPECT(c->process_grid[0] == 0 && c->process_grid[1] == 1, "expected process_grid [0, 1]");
  EXPECT(c->halo_mode == CFG_HALO_AUTO && c->ranks_per_node == 0, "expected auto, 0");
  EXPECT(strcmp(c->output_path, "plate.h5") == 0, "expected plate.h5, got %s", c->output_path);
  EXPECT(c->checkpoint_interval == 0 && !c->owner_map, "expected no checkpoints, no owner map");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "solver.tolerance"), "default");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "grid.nx"), "t.toml:2");
  cfg_destroy(&c);
  CU_ASSERT_PTR_NULL(c);
}

/* Every key set to something other than its default. */
static const char *const full_file = "[grid]\n"                         /* 1 */
                                     "nx = 37\n"                        /* 2 */
                                     "ny = 53\n"                        /* 3 */
                                     "[boundary]\n"                     /* 4 */
                                     "top = 100.0\n"                    /* 5 */
                                     "bottom = 12.5\n"                  /* 6 */
                                     "left = -3\n"                      /* 7 */
                                     "right = 0.7\n"                    /* 8 */
                                     "[initial]\n"                      /* 9 */
                                     "interior = 1.25\n"                /* 10 */
                                     "[solver]\n"                       /* 11 */
                                     "tolerance = 1e-6\n"               /* 12 */
                                     "max_iterations = 5000\n"          /* 13 */
                                     "check_interval = 10\n"            /* 14 */
                                     "[decomposition]\n"                /* 15 */
                                     "partitioner = \"block-cyclic\"\n" /* 16 */
                                     "block_size = 3\n"                 /* 17 */
                                     "process_grid = [2, 0]\n"          /* 18 */
                                     "[halo]\n"                         /* 19 */
                                     "mode = \"p2p\"\n"                 /* 20 */
                                     "ranks_per_node = 2\n"             /* 21 */
                                     "[output]\n"                       /* 22 */
                                     "path = \"out/run.h5\"\n"          /* 23 */
                                     "checkpoint_interval = 100\n"      /* 24 */
                                     "owner_map = true\n";              /* 25 */

static void test_every_key_read_from_file(void) {
  struct cfg *c = CREATE(full_file);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->nx == 37 && c->ny == 53, "expected 37 x 53");
  EXPECT(c->top.value == 100.0 && c->bottom.value == 12.5 && c->left.value == -3.0 &&
             c->right.value == 0.7 && c->interior.value == 1.25,
         "expected the temperatures of the file");
  EXPECT(c->tolerance == 1e-6 && c->max_iterations == 5000 && c->check_interval == 10,
         "expected the solver keys of the file");
  EXPECT(c->partitioner == CFG_BLOCK_CYCLIC && c->block_size == 3 && c->process_grid[0] == 2 &&
             c->process_grid[1] == 0,
         "expected the decomposition keys of the file");
  EXPECT(c->halo_mode == CFG_HALO_P2P && c->ranks_per_node == 2, "expected p2p, 2");
  EXPECT(strcmp(c->output_path, "out/run.h5") == 0 && c->checkpoint_interval == 100 && c->owner_map,
         "expected the output keys of the file");
  cfg_destroy(&c);
}

static void test_origin_reports_file_lines(void) {
  struct cfg *c = CREATE(full_file);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "decomposition.process_grid"), "t.toml:18");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "halo.mode"), "t.toml:20");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "grid.ny"), "t.toml:3");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "output.owner_map"), "t.toml:25");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "no.such"), "default");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "nodot"), "default");
  CU_ASSERT_STRING_EQUAL(cfg_origin(NULL, "grid.nx"), "default");
  cfg_destroy(&c);
  c = CREATE("grid.nx = 4\ngrid.ny = 4\n[solver]\n\ntolerance = 0.5\n");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "grid.ny"), "t.toml:2");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "solver.tolerance"), "t.toml:5");
  cfg_destroy(&c);
}

/* ---- every key's range ----------------------------------------------------------------------- */

/* A file setting `key` (section.name) to `value` on line 4 (line 2 or 3 for the grid keys). */
static void file_with(const char *key, const char *value, char *text, size_t size, int *line) {
  const char *dot = strchr(key, '.');
  if (strcmp(key, "grid.nx") == 0 || strcmp(key, "grid.ny") == 0) {
    bool nx = key[6] == 'x';
    snprintf(text, size, "[grid]\nnx = %s\nny = %s\n", nx ? value : "4", nx ? "3" : value);
    *line = nx ? 2 : 3;
  } else {
    snprintf(text, size, GRID "[%.*s]\n%s = %s\n", (int)(dot - key), key, dot + 1, value);
    *line = 5;
  }
}

static void accepts_at(const char *key, const char *value, int line) {
  char text[512];
  int key_line;
  file_with(key, value, text, sizeof text, &key_line);
  struct cfg *c = create_at(text, NULL, 0, line);
  expect_at(c != NULL, line, "expected %s = %s accepted", key, value);
  cfg_destroy(&c);
}
#define ACCEPTS(key, value) accepts_at((key), (value), __LINE__)

/* `key = value` is refused with "t.toml:LINE: KEY must be WANT, got "VALUE"". */
static void refuses_at(const char *key, const char *value, const char *want, const char *note,
                       int line) {
  char text[512], message[512];
  int key_line;
  file_with(key, value, text, sizeof text, &key_line);
  bool quoted = value[0] == '"' || value[0] == '\'';
  snprintf(message, sizeof message, "t.toml:%d: %s must be %s, got %s%s%s%s", key_line, key, want,
           quoted ? "" : "\"", value, quoted ? "" : "\"", note);
  expect_error_at(text, NULL, 0, message, true, line);
}
#define REFUSES(key, value, want) refuses_at((key), (value), (want), "", __LINE__)
/* The same, with what the message adds after the value (a "did you mean"). */
#define REFUSES_NOTE(key, value, want, note) refuses_at((key), (value), (want), (note), __LINE__)

static void test_count_keys_checked_on_both_sides_of_their_bounds(void) {
  const char *at_least_one[] = {"grid.nx", "grid.ny", "solver.max_iterations",
                                "solver.check_interval", "decomposition.block_size"};
  for (int k = 0; k < 5; k++) {
    ACCEPTS(at_least_one[k], "1");
    ACCEPTS(at_least_one[k], "1_000");
    REFUSES(at_least_one[k], "0", "an integer >= 1");
    REFUSES(at_least_one[k], "-1", "an integer >= 1");
    REFUSES(at_least_one[k], "-9223372036854775808", "an integer >= 1");
  }
  ACCEPTS("solver.max_iterations", "9223372036854775807");
  ACCEPTS("output.checkpoint_interval", "0");
  ACCEPTS("output.checkpoint_interval", "7");
  REFUSES("output.checkpoint_interval", "-1", "an integer >= 0");
  ACCEPTS("halo.ranks_per_node", "0");
  ACCEPTS("halo.ranks_per_node", "2147483647");
  REFUSES("halo.ranks_per_node", "-1", "an integer from 0 to 2147483647");
  REFUSES("halo.ranks_per_node", "2147483648", "an integer from 0 to 2147483647");
}

static void test_process_grid_takes_two_entries_from_0_to_int_max(void) {
  const char *want = "[rows, cols]: two integers from 0 to 2147483647";
  ACCEPTS("decomposition.process_grid", "[0, 0]");
  ACCEPTS("decomposition.process_grid", "[2147483647, 1]");
  ACCEPTS("decomposition.process_grid", "[1, 2147483647]");
  REFUSES("decomposition.process_grid", "[-1, 1]", want);
  REFUSES("decomposition.process_grid", "[1, -1]", want);
  REFUSES("decomposition.process_grid", "[2147483648, 1]", want);
  REFUSES("decomposition.process_grid", "[1, 2147483648]", want);
  REFUSES("decomposition.process_grid", "[1]", want);
  REFUSES("decomposition.process_grid", "[1, 2, 3]", want);
  REFUSES("decomposition.process_grid", "[]", want);
  REFUSES("decomposition.process_grid", "4", want);
  REFUSES("decomposition.process_grid", "\"2x2\"", want);
}

static void test_integers_are_accepted_for_floats_exactly(void) {
  struct cfg *c = CREATE(GRID "[boundary]\ntop = 1\nbottom = -7\nleft = 0\nright = "
                              "9007199254740992\n[initial]\ninterior = -0\n[solver]\n"
                              "tolerance = 1\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(same_double(c->top.value, 1.0) && same_double(c->bottom.value, -7.0) &&
             same_double(c->left.value, 0.0),
         "expected 1.0, -7.0, 0.0, got %g, %g, %g", c->top.value, c->bottom.value, c->left.value);
  EXPECT(same_double(c->right.value, 9007199254740992.0), "expected 2^53, got %.17g",
         c->right.value);
  EXPECT(same_double(c->interior.value, 0.0), "expected the integer -0 to be +0.0");
  EXPECT(same_double(c->tolerance, 1.0), "expected tolerance 1.0");
  cfg_destroy(&c);
}

static void test_inexact_integer_for_a_float_is_refused(void) {
  EXPECT_ERROR(GRID "[boundary]\ntop = 9007199254740993\n",
               "t.toml:5: boundary.top must be a number from -1e300 to 1e300, got "
               "\"9007199254740993\", which no double holds exactly (write a float)");
  EXPECT_ERROR(GRID "[solver]\ntolerance = 9223372036854775807\n",
               "t.toml:5: solver.tolerance must be a number > 0, got \"9223372036854775807\", "
               "which no double holds exactly (write a float)");
}

static void test_floats_are_refused_for_integers(void) {
  REFUSES("grid.nx", "4.0", "an integer >= 1");
  REFUSES("solver.max_iterations", "1e5", "an integer >= 1");
  REFUSES("halo.ranks_per_node", "2.5", "an integer from 0 to 2147483647");
  EXPECT_ERROR(GRID "[decomposition]\nprocess_grid = [1.0, 2]\n",
               "t.toml:5: decomposition.process_grid must be [rows, cols]: two integers from 0 to "
               "2147483647, got \"[1.0, 2]\"");
}

static void test_temperatures_finite_and_at_most_1e300(void) {
  /* Each also takes an expression, but a number is judged as a number. */
  const char *keys[] = {"boundary.top",   "boundary.bottom",  "boundary.left",
                        "boundary.right", "initial.interior", "source.q"};
  const char *want = "a number from -1e300 to 1e300";
  for (int k = 0; k < 6; k++) {
    ACCEPTS(keys[k], "1e300");
    ACCEPTS(keys[k], "-1e300");
    ACCEPTS(keys[k], "-0.0");
    ACCEPTS(keys[k], "5e-324");
    REFUSES(keys[k], "1.0000000000000002e300", want);
    REFUSES(keys[k], "-1.0000000000000002e300", want);
    REFUSES(keys[k], "1e301", want);
    REFUSES(keys[k], "inf", want);
    REFUSES(keys[k], "-inf", want);
    REFUSES(keys[k], "nan", want);
    /* an edge also takes the keyword of an insulated edge, and says so */
    const char *either = k < 4 ? "a number from -1e300 to 1e300, an expression of x and y in a "
                                 "\"string\", or \"insulated\""
                               : "a number from -1e300 to 1e300 or an expression of x and y in a "
                                 "\"string\"";
    REFUSES(keys[k], "true", either);
    REFUSES(keys[k], "[1]", either);
  }
}

static void test_tolerance_must_be_finite_and_positive(void) {
  const char *want = "a number > 0";
  ACCEPTS("solver.tolerance", "5e-324");
  ACCEPTS("solver.tolerance", "1e308");
  ACCEPTS("solver.tolerance", "1");
  const char *bad[] = {"0",    "0.0", "-0.0", "-1e-9", "-1",   "nan",
                       "-nan", "inf", "-inf", "[1]",   "false"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    REFUSES("solver.tolerance", bad[i], want);
  EXPECT_ERROR(GRID "[solver]\ntolerance = \"abc\"\n",
               "t.toml:5: solver.tolerance must be a number > 0, got \"abc\"");
}

static void test_enum_string_and_bool_keys_take_only_their_values(void) {
  const char *partitioners[] = {"block", "cyclic", "block-cyclic"};
  const enum cfg_partitioner p_want[] = {CFG_BLOCK, CFG_CYCLIC, CFG_BLOCK_CYCLIC};
  for (int i = 0; i < 3; i++) {
    char text[128];
    snprintf(text, sizeof text, GRID "[decomposition]\npartitioner = '%s'\n", partitioners[i]);
    struct cfg *c = CREATE(text);
    EXPECT(c && c->partitioner == p_want[i], "expected partitioner %s", partitioners[i]);
    cfg_destroy(&c);
  }
  const char *modes[] = {"auto", "shm", "p2p"};
  const enum cfg_halo_mode m_want[] = {CFG_HALO_AUTO, CFG_HALO_SHM, CFG_HALO_P2P};
  for (int i = 0; i < 3; i++) {
    char text[128];
    snprintf(text, sizeof text, GRID "[halo]\nmode = \"%s\"\n", modes[i]);
    struct cfg *c = CREATE(text);
    EXPECT(c && c->halo_mode == m_want[i], "expected halo mode %s", modes[i]);
    cfg_destroy(&c);
  }
  EXPECT_ERROR(GRID "[decomposition]\npartitioner = \"blok\"\n",
               "t.toml:5: decomposition.partitioner must be one of \"block\", \"cyclic\", "
               "\"block-cyclic\", got \"blok\"; did you mean \"block\"?");
  REFUSES_NOTE("decomposition.partitioner", "\"Block\"",
               "one of \"block\", \"cyclic\", \"block-cyclic\"", "; did you mean \"block\"?");
  REFUSES("decomposition.partitioner", "1", "one of \"block\", \"cyclic\", \"block-cyclic\"");
  REFUSES_NOTE("halo.mode", "\"SHM\"", "one of \"auto\", \"shm\", \"p2p\"",
               "; did you mean \"shm\"?");
  REFUSES_NOTE("halo.mode", "\"shm \"", "one of \"auto\", \"shm\", \"p2p\"",
               "; did you mean \"shm\"?");
  REFUSES("halo.mode", "\"zzz\"", "one of \"auto\", \"shm\", \"p2p\""); /* nothing close */
  REFUSES("output.path", "\"\"", "a non-empty string");
  REFUSES("output.path", "''", "a non-empty string");
  REFUSES("output.path", "5", "a non-empty string");
  EXPECT_ERROR(GRID "[output]\npath = \"a\\u0000b\"\n",
               "t.toml:5: output.path must be a non-empty string, got \"a\\u0000b\", which holds "
               "a NUL character");
  ACCEPTS("output.owner_map", "false");
  REFUSES("output.owner_map", "\"true\"", "true or false");
  REFUSES("output.owner_map", "1", "true or false");
}

static void test_grid_whose_bytes_overflow_int64_is_refused(void) {
  /* (nx + 2) * (ny + 2) * 16 <= INT64_MAX holds for nx = 759250122 up to ny = 759250123. */
  struct cfg *c = CREATE("[grid]\nnx = 759250122\nny = 759250123\n");
  EXPECT(c != NULL, "expected the largest grid of that width accepted");
  cfg_destroy(&c);
  EXPECT_ERROR("[grid]\nnx = 759250122\nny = 759250124\n",
               "t.toml:3: grid.nx x grid.ny = 759250122 x 759250124 points is too large: its "
               "(nx + 2) x (ny + 2) points of 16 bytes would overflow a 64-bit size");
  /* The key set later is blamed, whichever it is. */
  EXPECT_ERROR_HOLDS("[grid]\nny = 9223372036854775807\nnx = 1\n",
                     "t.toml:3: grid.nx x grid.ny = 1 x 9223372036854775807 points is too large");
  EXPECT_ERROR_HOLDS("[grid]\nnx = 9223372036854775807\nny = 1\n", "t.toml:3: grid.nx x grid.ny");
  EXPECT_ERROR_HOLDS("[grid]\nnx = 576460752303423485\nny = 1\n", "t.toml:3: grid.nx x grid.ny");
  expect_error_at(GRID, (const char *const[]){"grid.nx=9223372036854775807"}, 1,
                  "--set grid.nx=9223372036854775807: grid.nx x grid.ny = 9223372036854775807 x 3",
                  false, __LINE__);
  /* Only the final values count: a --set may bring a too-large file back in range. */
  c = CREATE_SET("[grid]\nnx = 9223372036854775807\nny = 9223372036854775807\n", "grid.nx=4",
                 "grid.ny=4");
  EXPECT(c && c->nx == 4 && c->ny == 4, "expected --set to fix the grid");
  cfg_destroy(&c);
}

static void test_required_keys_are_named_with_their_type(void) {
  EXPECT_ERROR("", "t.toml: grid.nx is required (int >= 1, interior points per row)");
  EXPECT_ERROR("[grid]\nnx = 4\n", "t.toml: grid.ny is required (int >= 1, interior rows)");
  EXPECT_ERROR("[solver]\ntolerance = 1e-3\n",
               "t.toml: grid.nx is required (int >= 1, interior points per row)");
  struct cfg *c = CREATE_SET("", "grid.nx=5", "grid.ny=6");
  EXPECT(c && c->nx == 5 && c->ny == 6, "expected the required keys from --set");
  cfg_destroy(&c);
}

/* ---- unknown names --------------------------------------------------------------------------- */

static void test_unknown_section_suggests_the_closest(void) {
  EXPECT_ERROR(GRID "[solvr]\ntolerance = 1e-6\n",
               "t.toml:4: unknown section [solvr]; did you mean [solver]?");
  EXPECT_ERROR(GRID "[Boundary]\n",
               "t.toml:4: unknown section [Boundary]; did you mean [boundary]?");
  EXPECT_ERROR(GRID "[zzz]\n",
               "t.toml:4: unknown section [zzz]; the sections are [grid], [plate], [boundary], "
               "[surface], [initial], [source], [[region]], [solver], [decomposition], [halo], "
               "[time], [output], [machine]");
  EXPECT_ERROR_HOLDS(GRID "[grid.sub]\n", "t.toml:4: unknown section [grid.sub]");
  EXPECT_ERROR("solvr.tolerance = 1\n" GRID,
               "t.toml:1: unknown section [solvr]; did you mean [solver]?");
}

/* A temporal block ends only at its multiples: checks and checkpoints must fall on them. The
 * message blames whichever of the two keys was set later. */
static void test_temporal_block_must_divide_the_intervals(void) {
  EXPECT_ERROR(GRID "[solver]\ncheck_interval = 10\ntemporal_block = 4\n",
               "t.toml:6: solver.temporal_block = 4 must divide solver.check_interval = 10: a "
               "block of sweeps ends only at its multiples");
  EXPECT_ERROR_HOLDS(GRID "[solver]\ntemporal_block = 4\ncheck_interval = 6\n",
                     "t.toml:6: solver.temporal_block = 4 must divide solver.check_interval = 6");
  EXPECT_ERROR_HOLDS(
      GRID "[solver]\ntemporal_block = 2\ncheck_interval = 2\n[output]\n"
           "checkpoint_interval = 3\n",
      "t.toml:8: solver.temporal_block = 2 must divide output.checkpoint_interval = 3");
  struct cfg *c = CREATE(GRID "[solver]\ntemporal_block = 4\ncheck_interval = 8\n[output]\n"
                              "checkpoint_interval = 12\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  CU_ASSERT_EQUAL(c->temporal_block, 4);
  cfg_destroy(&c);
}

static void test_unknown_key_suggests_the_closest(void) {
  EXPECT_ERROR(GRID "[solver]\ntolerence = 1e-6\n",
               "t.toml:5: unknown key solver.tolerence; did you mean solver.tolerance?");
  EXPECT_ERROR(GRID "[solver]\nmax_iteratoins = 5\n",
               "t.toml:5: unknown key solver.max_iteratoins; did you mean solver.max_iterations?");
  EXPECT_ERROR(GRID "[solver]\nfoo = 1\n",
               "t.toml:5: unknown key solver.foo; the keys of [solver] are method, tolerance, "
               "target_error, max_iterations, check_interval, temporal_block, stores, "
               "multigrid.cycle, multigrid.smoother, multigrid.pre, multigrid.post, "
               "multigrid.fmg");
  EXPECT_ERROR(GRID "[solver]\npartitioner = \"block\"\n",
               "t.toml:5: unknown key solver.partitioner; did you mean "
               "decomposition.partitioner (under [decomposition])?");
  EXPECT_ERROR("nx = 4\n",
               "t.toml:1: key nx needs its section; did you mean grid.nx (nx under [grid])?");
  EXPECT_ERROR_HOLDS("zzz = 4\n", "t.toml:1: unknown key zzz: keys belong in a section, one of "
                                  "[grid], [plate], [boundary]");
  EXPECT_ERROR_HOLDS(GRID "[solver]\ntolerance.x = 1\n",
                     "t.toml:5: unknown key solver.tolerance.x");
}

/* ---- --set ----------------------------------------------------------------------------------- */

static void test_set_overrides_with_toml_values_and_bare_strings(void) {
  struct cfg *c = CREATE_SET(full_file, "solver.tolerance=1e-8", "decomposition.partitioner=cyclic",
                             "output.path=out.h5", "decomposition.process_grid=[3, 1]",
                             " output.owner_map = false ", "halo.mode=\"shm\"", "boundary.top=-5",
                             "grid.nx=1_000");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->tolerance == 1e-8, "expected tolerance 1e-8, got %g", c->tolerance);
  EXPECT(c->partitioner == CFG_CYCLIC, "expected cyclic from a bare word");
  EXPECT(strcmp(c->output_path, "out.h5") == 0, "expected out.h5, got %s", c->output_path);
  EXPECT(c->process_grid[0] == 3 && c->process_grid[1] == 1, "expected [3, 1]");
  EXPECT(!c->owner_map, "expected owner_map false, blanks around '=' trimmed");
  EXPECT(c->halo_mode == CFG_HALO_SHM, "expected shm from a quoted string");
  EXPECT(same_double(c->top.value, -5.0) && c->nx == 1000, "expected top -5.0 and nx 1000");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "solver.tolerance"), "--set solver.tolerance");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "decomposition.process_grid"),
                         "--set decomposition.process_grid");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "decomposition.block_size"), "t.toml:17");
  cfg_destroy(&c);
}

static void test_set_strings_quoted_or_bare(void) {
  struct cfg *c = CREATE_SET(GRID, "output.path='C:\\runs\\a.h5'");
  EXPECT(c && strcmp(c->output_path, "C:\\runs\\a.h5") == 0, "expected a literal string");
  cfg_destroy(&c);
  c = CREATE_SET(GRID, "output.path=\"\\u00e9t\\u00e9.h5\"");
  EXPECT(c && strcmp(c->output_path, "\xC3\xA9t\xC3\xA9.h5") == 0, "expected escapes decoded");
  cfg_destroy(&c);
  /* A bare word is taken as it is: quotes, backslashes and '#' inside stay literal. */
  c = CREATE_SET(GRID, "output.path=a\"b\\n#c d.h5");
  EXPECT(c && strcmp(c->output_path, "a\"b\\n#c d.h5") == 0, "expected the bare word kept, got %s",
         c ? c->output_path : "");
  cfg_destroy(&c);
  c = CREATE_SET(GRID, "output.path=123");
  EXPECT(c && strcmp(c->output_path, "123") == 0, "expected the path \"123\"");
  cfg_destroy(&c);
}

static void test_set_later_wins_over_earlier_and_the_file(void) {
  struct cfg *c = CREATE_SET(GRID "[solver]\ntolerance = 0.5\n", "solver.tolerance=0.25",
                             "solver.tolerance=0.125");
  EXPECT(c && c->tolerance == 0.125, "expected the last --set, got %g", c ? c->tolerance : 0.0);
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "solver.tolerance"), "--set solver.tolerance");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "grid.nx"), "t.toml:2");
  cfg_destroy(&c);
}

static void test_set_errors_are_reported_like_the_file(void) {
  EXPECT_SET_ERROR(
      "solver.tolerance=abc",
      "--set solver.tolerance=abc: solver.tolerance must be a number > 0, got \"abc\"");
  EXPECT_SET_ERROR("solver.tolerance=0",
                   "--set solver.tolerance=0: solver.tolerance must be a number > 0, got \"0\"");
  EXPECT_SET_ERROR("solver.tolerance=", "--set solver.tolerance=: solver.tolerance must be a "
                                        "number > 0, got \"\"");
  EXPECT_SET_ERROR("solver.tolerance", "--set solver.tolerance: expected section.key=VALUE, e.g. "
                                       "solver.tolerance=1e-8 (no \"=\")");
  EXPECT_SET_ERROR("=5", "--set =5: expected section.key=VALUE: the key before \"=\" is empty");
  EXPECT_SET_ERROR(".x=5",
                   "--set .x=5: expected section.key=VALUE: the section of the key is empty");
  EXPECT_SET_ERROR("solver.=5",
                   "--set solver.=5: expected section.key=VALUE: the name of the key is empty");
  EXPECT_SET_ERROR("tolerance=1", "--set tolerance=1: key tolerance needs its section; did you "
                                  "mean solver.tolerance (tolerance under [solver])?");
  EXPECT_SET_ERROR("solver.tolerence=1",
                   "--set solver.tolerence=1: unknown key solver.tolerence; did you mean "
                   "solver.tolerance?");
  EXPECT_SET_ERROR("solvr.tolerance=1",
                   "--set solvr.tolerance=1: unknown section [solvr]; did you mean [solver]?");
  EXPECT_SET_ERROR("decomposition.partitioner=blok",
                   "--set decomposition.partitioner=blok: decomposition.partitioner must be one "
                   "of \"block\", \"cyclic\", \"block-cyclic\", got \"blok\"; did you mean "
                   "\"block\"?");
  EXPECT_SET_ERROR("output.owner_map=yes",
                   "--set output.owner_map=yes: output.owner_map must be true or false, got "
                   "\"yes\"");
  EXPECT_SET_ERROR("grid.nx=4.5",
                   "--set grid.nx=4.5: grid.nx must be an integer >= 1, got \"4.5\"");
  EXPECT_SET_ERROR("output.path=", "--set output.path=: output.path must be a non-empty string, "
                                   "got \"\"");
  EXPECT_SET_ERROR("output.path=\"abc",
                   "--set output.path=\"abc: unterminated string: expected a closing \" on the "
                   "same line (a \" inside a string is written \\\"), got \"abc");
  EXPECT_SET_ERROR("output.path=a\xFF", "--set output.path=a\xFF: invalid UTF-8 (byte 0xFF)");
  /* The first bad --set is the one reported, and the file's own errors come first. */
  expect_error_at(GRID, (const char *const[]){"solver.tolerance=1", "grid.nx=0", "grid.ny=0"}, 3,
                  "--set grid.nx=0: grid.nx must be an integer >= 1, got \"0\"", true, __LINE__);
  expect_error_at(GRID "nz = 1\n", (const char *const[]){"grid.nx=0"}, 1,
                  "t.toml:4: unknown key grid.nz; did you mean grid.nx?", true, __LINE__);
}

static void test_set_argument_is_cut_in_messages(void) {
  char set[400], want[400];
  snprintf(set, sizeof set, "solver.tolerance=%0300d", 7);
  /* The argument is cut after 80 bytes, the value after 40 characters. */
  snprintf(want, sizeof want,
           "--set %.80s...: solver.tolerance must be a number > 0, got \"%.40s...\"", set,
           set + strlen("solver.tolerance="));
  expect_error_at(GRID, (const char *const[]){set}, 1, want, true, __LINE__);
  EXPECT(strlen(err_message()) < 300, "expected a short message, got %zu bytes",
         strlen(err_message()));
}

/* ---- printing -------------------------------------------------------------------------------- */

/* cfg_print's text, which the caller frees. */
static char *printed(const struct cfg *c) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  cfg_print(c, out);
  fclose(out);
  return text;
}

static bool same_text(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The same number (bit for bit) or the same expression text. */
static bool same_expr(struct cfg_expr a, struct cfg_expr b) {
  return same_double(a.value, b.value) && same_text(a.text, b.text);
}

static bool same_region(const struct cfg_region *a, const struct cfg_region *b) {
  return a->shape == b->shape && same_double(a->x0, b->x0) && same_double(a->x1, b->x1) &&
         same_double(a->y0, b->y0) && same_double(a->y1, b->y1) && same_double(a->cx, b->cx) &&
         same_double(a->cy, b->cy) && same_double(a->radius, b->radius) &&
         same_text(a->file, b->file) && same_text(a->dataset, b->dataset) &&
         same_expr(a->temperature, b->temperature) && a->held == b->held &&
         a->has_conductivity == b->has_conductivity && a->has_power == b->has_power &&
         same_expr(a->conductivity, b->conductivity) && same_double(a->power, b->power);
}

/* The real plates' keys: every edge's kind and values, the faces' exchange, the conductivity. */
static bool same_real_plate(const struct cfg *a, const struct cfg *b) {
  for (int e = 0; e < 4; e++)
    if (a->edge[e].kind != b->edge[e].kind || !same_expr(a->edge[e].flux, b->edge[e].flux) ||
        !same_expr(a->edge[e].h, b->edge[e].h) ||
        !same_expr(a->edge[e].ambient, b->edge[e].ambient))
      return false;
  return same_expr(a->surface_h, b->surface_h) &&
         same_expr(a->surface_ambient, b->surface_ambient) &&
         a->surface_faces == b->surface_faces && same_expr(a->conductivity_k, b->conductivity_k) &&
         same_text(a->conductivity_file, b->conductivity_file) &&
         same_text(a->conductivity_dataset, b->conductivity_dataset);
}

/* cfg_print reads back as the same configuration, bit for bit. */
static void round_trips_at(const struct cfg *c, int line) {
  char *text = printed(c);
  struct cfg *back = create_at(text, NULL, 0, line);
  if (back != NULL) {
    const struct cfg_expr *ea[] = {&c->top,   &c->bottom,   &c->left,
                                   &c->right, &c->interior, &c->source_q};
    const struct cfg_expr *eb[] = {&back->top,   &back->bottom,   &back->left,
                                   &back->right, &back->interior, &back->source_q};
    for (int i = 0; i < 6; i++)
      expect_at(same_expr(*ea[i], *eb[i]), line,
                "expected value %d to read back as %a \"%s\", got %a \"%s\"; printed:\n%s", i,
                ea[i]->value, ea[i]->text ? ea[i]->text : "", eb[i]->value,
                eb[i]->text ? eb[i]->text : "", text);
    const double *a[] = {&c->tolerance, &c->width, &c->height, &c->conductivity, &c->thickness};
    const double *b[] = {&back->tolerance, &back->width, &back->height, &back->conductivity,
                         &back->thickness};
    for (int i = 0; i < 5; i++)
      expect_at(memcmp(a[i], b[i], sizeof(double)) == 0, line,
                "expected double %d to read back as %a, got %a; printed:\n%s", i, *a[i], *b[i],
                text);
    expect_at(
        c->nx == back->nx && c->ny == back->ny && c->max_iterations == back->max_iterations &&
            c->check_interval == back->check_interval && c->partitioner == back->partitioner &&
            c->block_size == back->block_size && c->process_grid[0] == back->process_grid[0] &&
            c->process_grid[1] == back->process_grid[1] && c->halo_mode == back->halo_mode &&
            c->ranks_per_node == back->ranks_per_node &&
            c->checkpoint_interval == back->checkpoint_interval && c->owner_map == back->owner_map,
        line, "expected every integer, enum and bool back; printed:\n%s", text);
    expect_at(strcmp(c->output_path, back->output_path) == 0, line,
              "expected path \"%s\" back, got \"%s\"", c->output_path, back->output_path);
    expect_at(same_text(c->source_file, back->source_file) &&
                  same_text(c->source_dataset, back->source_dataset),
              line, "expected the source's file and dataset back; printed:\n%s", text);
    expect_at(c->nregions == back->nregions, line, "expected %d regions back, got %d:\n%s",
              c->nregions, back->nregions, text);
    for (int r = 0; r < c->nregions && r < back->nregions; r++)
      expect_at(same_region(&c->regions[r], &back->regions[r]), line,
                "expected region %d back; printed:\n%s", r + 1, text);
    expect_at(same_real_plate(c, back), line,
              "expected the edges, surface and conductivity back; printed:\n%s", text);
  }
  cfg_destroy(&back);
  free(text);
}
#define ROUND_TRIPS(c) round_trips_at((c), __LINE__)

static void test_print_round_trips_every_field_bit_for_bit(void) {
  struct cfg *c = CREATE(full_file);
  ROUND_TRIPS(c);
  cfg_destroy(&c);
  const char *awkward[][6] = {
      {"0.1", "1e-300", "-0.0", "5e-324", "0.30000000000000004", "0.1"},
      {"1e300", "-1e300", "2.2250738585072014e-308", "123456789.123456789", "-1", "5e-324"},
      {"0.3333333333333333", "-4.9406564584124654e-324", "1e22", "9007199254740993.0", "100",
       "1.7976931348623157e308"},
  };
  for (int i = 0; i < 3; i++) {
    char text[512];
    snprintf(text, sizeof text,
             GRID "[boundary]\ntop = %s\nbottom = %s\nleft = %s\nright = %s\n"
                  "[initial]\ninterior = %s\n[solver]\ntolerance = %s\n",
             awkward[i][0], awkward[i][1], awkward[i][2], awkward[i][3], awkward[i][4],
             awkward[i][5]);
    c = CREATE(text);
    if (c != NULL)
      ROUND_TRIPS(c);
    cfg_destroy(&c);
  }
  c = CREATE_SET(GRID, "output.path=tab\there \"quoted\" back\\slash \xC3\xA9 #x");
  if (c != NULL)
    ROUND_TRIPS(c);
  cfg_destroy(&c);
}

/* [time] (issue 31): its fields, the steps derived from step, the output times, and the printed
 * configuration read back to the same bits; none of it printed without [time]. */
static void test_time_table_reads_and_round_trips(void) {
  struct cfg *c = CREATE(GRID "[plate]\ndensity = 2700.0\nspecific_heat = 900\n"
                              "[time]\nend = 0.3\nstep = 0.1\nscheme = \"bdf2\"\n"
                              "output_times = [0.1, 0.25]\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->transient && c->time_steps == 3 && same_double(c->time_step, 0.1) &&
             c->scheme == CFG_SCHEME_BDF2 && c->density == 2700.0 && c->specific_heat == 900.0,
         "expected a bdf2 transient of 3 steps of 0.1 s, got %d %lld %.17g %d", (int)c->transient,
         (long long)c->time_steps, c->time_step, (int)c->scheme);
  EXPECT(c->output_times.count == 2 && same_double(c->output_times.values[0], 0.1) &&
             same_double(c->output_times.values[1], 0.25),
         "expected output_times [0.1, 0.25], got %lld of them", (long long)c->output_times.count);
  EXPECT(cfg_faces(c), "expected a transient to be a faces plate");
  char *text = printed(c);
  struct cfg *back = CREATE(text);
  CU_ASSERT_PTR_NOT_NULL_FATAL(back);
  EXPECT(back->transient && back->time_steps == 3 && same_double(back->time_step, c->time_step) &&
             same_double(back->time_end, c->time_end) && back->scheme == c->scheme &&
             back->output_times.count == 2 &&
             same_double(back->output_times.values[1], c->output_times.values[1]),
         "expected the printed [time] to read back the same, from:\n%s", text);
  free(text);
  cfg_destroy(&back);
  cfg_destroy(&c);
  c = CREATE(GRID);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  text = printed(c);
  EXPECT(!c->transient && strstr(text, "[time]") == NULL && !cfg_faces(c),
         "expected no [time] without one, got:\n%s", text);
  free(text);
  cfg_destroy(&c);
}

static void test_print_keeps_floats_floats_and_negative_zero(void) {
  struct cfg *c = CREATE(GRID "[boundary]\ntop = 100\nbottom = -0.0\nleft = 1e-300\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  char *text = printed(c);
  EXPECT(strstr(text, "\ntop = 100.0\n") != NULL, "expected top = 100.0 in:\n%s", text);
  EXPECT(strstr(text, "\nbottom = -0.0\n") != NULL, "expected bottom = -0.0 in:\n%s", text);
  EXPECT(strstr(text, "\nleft = 1.0000000000000001e-300\n") != NULL ||
             strstr(text, "\nleft = 1e-300\n") != NULL,
         "expected left printed with 17 digits in:\n%s", text);
  free(text);
  cfg_destroy(&c);
}

static void test_print_lists_every_key_in_schema_order(void) {
  struct cfg *c = CREATE(GRID);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  char *text = printed(c);
  const char *want =
      "[grid]\nnx = 4\nny = 3\n\n[plate]\nwidth = 1.0\nheight = 0.80000000000000004\n"
      "conductivity = 1.0\nconductivity_file = \"\"\nthickness = 1.0\ndensity = "
      "1.0\nspecific_heat = 1.0\n\n[boundary]\n"
      "top = 0.0\nbottom = 0.0\nleft = 0.0\nright = 0.0\n\n[surface]\nh = "
      "0.0\n\n[initial]\ninterior = 0.0\nfrom_file = \"\"\n\n[source]\nq = 0.0\n"
      "from_file = \"\"\n\n[solver]\nmethod = "
      "\"jacobi\"\n"
      "tolerance = 0.0001\ntarget_error = 0.0\n"
      "max_iterations = 100000\ncheck_interval = 1\ntemporal_block = 1\nstores = "
      "\"auto\"\n\n[decomposition]\n"
      "partitioner = \"block\"\nblock_size = 1\nprocess_grid = [0, 1]\n\n[halo]\n"
      "mode = \"auto\"\nranks_per_node = 0\noverlap = true\n\n[output]\npath = \"plate.h5\"\n"
      "mode = \"gather\"\ncheckpoint_interval = 0\nowner_map = false\n\n[machine]\n"
      "core_bandwidth_gbs = 35.0\nnode_bandwidth_gbs = 68.0\nkernel_efficiency = 0.75\n"
      "shm_latency_us = 0.5\nnet_latency_us = 1.5\nnet_bandwidth_gbs = 12.0\n"
      "reduce_latency_us = 0.5\n";
  EXPECT(strcmp(text, want) == 0, "expected:\n%s\ngot:\n%s", want, text);
  free(text);
  cfg_destroy(&c);
}

/* ---- the plate's size ------------------------------------------------------------------------ */

/* Neither size: width 1 m, height from the spacing; one: the other follows. */
static void test_plate_size_follows_from_the_spacing(void) {
  struct cfg *c = CREATE("[grid]\nnx = 127\nny = 63\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->width == 1.0 && c->height == 0.5, "expected 1 x 0.5 m, got %.17g x %.17g", c->width,
         c->height);
  EXPECT(cfg_spacing(c) == 1.0 / 128, "expected h = 1/128, got %.17g", cfg_spacing(c));
  EXPECT(c->conductivity == 1.0 && c->thickness == 1.0, "expected k = 1, t = 1");
  EXPECT(!cfg_is_set(c, "plate.width") && !cfg_is_set(c, "plate.height"),
         "expected both sizes defaulted");
  cfg_destroy(&c);
  c = CREATE("[grid]\nnx = 127\nny = 63\n[plate]\nwidth = 2\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->width == 2.0 && c->height == 1.0, "expected 2 x 1 m, got %.17g x %.17g", c->width,
         c->height);
  cfg_destroy(&c);
  c = CREATE("[grid]\nnx = 127\nny = 63\n[plate]\nheight = 0.25\nconductivity = 237\n"
             "thickness = 0.002\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->width == 0.5 && c->height == 0.25, "expected 0.5 x 0.25 m, got %.17g x %.17g", c->width,
         c->height);
  EXPECT(c->conductivity == 237 && c->thickness == 0.002, "expected k = 237, t = 0.002");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "plate.conductivity"), "t.toml:6");
  cfg_destroy(&c);
}

static void test_plate_sizes_given_together_must_agree(void) {
  struct cfg *c = CREATE("[grid]\nnx = 2\nny = 2\n[plate]\nwidth = 0.3\nheight = 0.3\n");
  EXPECT(c != NULL && c->width == 0.3 && c->height == 0.3, "expected 0.3 x 0.3 accepted");
  cfg_destroy(&c);
  /* Within 1e-9 (relative) of the fit is a fit. */
  c = CREATE("[grid]\nnx = 2\nny = 5\n[plate]\nwidth = 1\nheight = 2.0000000019\n");
  EXPECT(c != NULL, "expected a height 1e-9 off the fit accepted");
  cfg_destroy(&c);
  EXPECT_ERROR("[grid]\nnx = 127\nny = 127\n[plate]\nwidth = 1\nheight = 2\n",
               "t.toml:6: plate.height = 2 does not fit plate.width = 1 (t.toml:5) on a 127 x 127 "
               "grid: the spacing is uniform (h = width / (nx + 1) = 0.0078125 m), so height must "
               "be 1 m (or grid.ny = 255)");
  EXPECT_ERROR(
      "[grid]\nnx = 127\nny = 127\n[plate]\nheight = 1\nwidth = 0.3\n",
      "t.toml:6: plate.width = 0.3 does not fit plate.height = 1 (t.toml:5) on a 127 x 127 "
      "grid: the spacing is uniform (h = height / (ny + 1) = 0.0078125 m), so width must "
      "be 1 m (or, to keep both sizes, grid.nx = 38 and grid.ny = 129)");
  EXPECT_ERROR("[grid]\nnx = 3\nny = 3\n[plate]\nwidth = 1\nheight = 1.0000001\n",
               "t.toml:6: plate.height = 1.0000001 does not fit plate.width = 1 (t.toml:5) on a 3 "
               "x 3 grid: the spacing is uniform (h = width / (nx + 1) = 0.25 m), so height must "
               "be 1 m");
  const char *const sets[] = {"plate.height=3"};
  expect_error_at("[grid]\nnx = 3\nny = 3\n[plate]\nwidth = 1\n", sets, 1,
                  "--set plate.height=3: plate.height = 3 does not fit plate.width = 1 (t.toml:5) "
                  "on a 3 x 3 grid: the spacing is uniform (h = width / (nx + 1) = 0.25 m), so "
                  "height must be 1 m (or grid.ny = 11)",
                  true, __LINE__);
}

static void test_plate_material_must_be_positive(void) {
  const char *keys[] = {"plate.width", "plate.height", "plate.conductivity", "plate.thickness"};
  for (int k = 0; k < 4; k++) {
    ACCEPTS(keys[k], "5e-300");
    REFUSES(keys[k], "0", "a number > 0");
    REFUSES(keys[k], "-1", "a number > 0");
    REFUSES(keys[k], "inf", "a number > 0");
    if (k == 2) { /* the conductivity may vary: an expression of x and y */
      ACCEPTS(keys[k], "\"1 + x\"");
      REFUSES(keys[k], "true", "a number > 0 or an expression of x and y in a \"string\"");
    } else {
      REFUSES(keys[k], "\"1\"", "a number > 0");
    }
  }
  EXPECT_ERROR("[grid]\nnx = 1\nny = 1\n[plate]\nwidth = 1e308\nheight = 1e308\nthickness = 1\n"
               "[grid]\n",
               "t.toml:8: duplicate table [grid] (first defined on line 1)");
}

/* ---- expressions ----------------------------------------------------------------------------- */

static void test_expressions_are_kept_as_text(void) {
  struct cfg *c = CREATE(GRID "[boundary]\ntop = \"100 * sin(pi * x / width)\"\nleft = 5\n"
                              "[initial]\ninterior = 'x * y'\n[source]\nq = \"1e3 * (y < height "
                              "/ 2)\"\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->top.text != NULL && strcmp(c->top.text, "100 * sin(pi * x / width)") == 0 &&
             isnan(c->top.value),
         "expected top's text and a NaN value");
  EXPECT(c->left.text == NULL && c->left.value == 5, "expected left the number 5");
  EXPECT(c->interior.text != NULL && strcmp(c->interior.text, "x * y") == 0,
         "expected interior's text");
  EXPECT(c->source_q.text != NULL && cfg_general(c), "expected a source: the general update");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "source.q"), "t.toml:10");
  ROUND_TRIPS(c);
  cfg_destroy(&c);
  c = CREATE(GRID);
  EXPECT(c != NULL && !cfg_general(c), "expected no source and no region: Laplace's update");
  cfg_destroy(&c);
  c = CREATE(GRID "[source]\nq = -2.5\n");
  EXPECT(c != NULL && c->source_q.value == -2.5 && cfg_general(c), "expected q = -2.5, general");
  cfg_destroy(&c);
  c = CREATE(GRID "[source]\nfrom_file = \"q.h5\"\n");
  EXPECT(c != NULL && strcmp(c->source_file, "q.h5") == 0 &&
             strcmp(c->source_dataset, "/source") == 0 && cfg_general(c),
         "expected the source file, its default dataset, general");
  cfg_destroy(&c);
}

static void test_expression_that_does_not_parse_names_file_line_key_position(void) {
  EXPECT_ERROR(GRID "[boundary]\ntop = \"100 * sin(pi * x / width\"\n",
               "t.toml:5: boundary.top = \"100 * sin(pi * x / width\" does not parse: position "
               "24: missing \")\"");
  EXPECT_ERROR(GRID "[initial]\ninterior = \"x + z\"\n",
               "t.toml:5: initial.interior = \"x + z\" does not parse: position 5: unknown name "
               "\"z\" (the variables are x and y, the constants pi, e, width and height)");
  EXPECT_ERROR(GRID "[source]\nq = \"\"\n",
               "t.toml:5: source.q = \"\" does not parse: position 1: the expression is empty");
  EXPECT_ERROR(GRID "[boundary]\nright = \"hot\"\n",
               "t.toml:5: boundary.right = \"hot\" does not parse: position 1: unknown name "
               "\"hot\" (the variables are x and y, the constants pi, e, width and height)");
  EXPECT_ERROR(GRID "[boundary]\nbottom = \"a\\\"b\"\n",
               "t.toml:5: boundary.bottom = \"a\\\"b\" does not parse: position 1: unknown name "
               "\"a\" (the variables are x and y, the constants pi, e, width and height)");
  EXPECT_ERROR(GRID "[boundary]\ntop = \"x\\u0000\"\n",
               "t.toml:5: boundary.top must be a number from -1e300 to 1e300, an expression of "
               "x and y in a \"string\", or \"insulated\", got \"x\\u0000\", which holds a NUL "
               "character");
}

static void test_constant_expressions_are_range_checked(void) {
  EXPECT_ERROR(GRID "[boundary]\ntop = \"1 / 0\"\n",
               "t.toml:5: boundary.top = \"1 / 0\" is inf, which is not a number from -1e300 to "
               "1e300");
  EXPECT_ERROR(GRID "[boundary]\ntop = \"2e300\"\n",
               "t.toml:5: boundary.top = \"2e300\" is 2e+300, which is not a number from -1e300 to "
               "1e300");
  struct cfg *c = CREATE(GRID "[boundary]\ntop = \"1e300 * width\"\n"); /* width 1: fine */
  EXPECT(c != NULL, "expected 1e300 * width accepted");
  cfg_destroy(&c);
}

/* The width and height an expression sees are the resolved ones. */
static void test_expressions_compile_after_the_plate_is_resolved(void) {
  EXPECT_ERROR("[grid]\nnx = 1\nny = 1\n[plate]\nheight = 1e300\n[boundary]\ntop = "
               "\"width * 2\"\n",
               "t.toml:7: boundary.top = \"width * 2\" is 2e+300, which is not a number from "
               "-1e300 to 1e300");
}

static void test_set_takes_expressions_quoted_or_bare(void) {
  struct cfg *c = CREATE_SET(GRID, "boundary.top=\"50*x\"", "boundary.left=50 * y + 1",
                             "boundary.right=7", "boundary.bottom='x'", "initial.interior=-3e2");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->top.text && strcmp(c->top.text, "50*x") == 0, "expected top \"50*x\"");
  EXPECT(c->left.text && strcmp(c->left.text, "50 * y + 1") == 0, "expected the bare expression");
  EXPECT(c->right.text == NULL && c->right.value == 7, "expected right the number 7");
  EXPECT(c->bottom.text && strcmp(c->bottom.text, "x") == 0, "expected bottom 'x'");
  EXPECT(c->interior.text == NULL && c->interior.value == -300, "expected interior -300");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "boundary.left"), "--set boundary.left");
  ROUND_TRIPS(c);
  cfg_destroy(&c);
  /* A number replaces an expression of the file, and the other way round. */
  c = CREATE_SET(GRID "[boundary]\ntop = \"x\"\nleft = 3\n", "boundary.top=1", "boundary.left=y");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->top.text == NULL && c->top.value == 1, "expected the --set number");
  EXPECT(c->left.text && strcmp(c->left.text, "y") == 0 && isnan(c->left.value),
         "expected the --set expression");
  cfg_destroy(&c);
  EXPECT_SET_ERROR("boundary.top=50*(x", "--set boundary.top=50*(x: boundary.top = \"50*(x\" does "
                                         "not parse: position 5: missing \")\"");
  EXPECT_SET_ERROR("boundary.top=1e400", "--set boundary.top=1e400: boundary.top = \"1e400\" does "
                                         "not parse: position 1: unknown name \"1e400\" (the "
                                         "variables are x and y, the constants pi, e, width and "
                                         "height)");
  EXPECT_SET_ERROR("boundary.top=2e300", "--set boundary.top=2e300: boundary.top must be a number "
                                         "from -1e300 to 1e300, got \"2e300\"");
  EXPECT_SET_ERROR("boundary.top=\"x", "--set boundary.top=\"x: unterminated string: expected a "
                                       "closing \" on the same line (a \" inside a string is "
                                       "written \\\"), got \"x");
}

/* ---- regions --------------------------------------------------------------------------------- */

/* A 1 m x 1 m plate (nx = ny = 9: h = 0.1 m) and its regions from line 4 on. */
#define PLATE "[grid]\nnx = 9\nny = 9\n"

static const char regions_file[] = PLATE   /* 1-3 */
    "[[region]]\n"                         /* 4 */
    "shape = \"rectangle\"\n"              /* 5 */
    "x0 = 0\nx1 = 0.5\ny0 = 0.2\ny1 = 1\n" /* 6-9 */
    "temperature = 100\n"                  /* 10 */
    "[[region]]\n"                         /* 11 */
    "shape = \"disk\"\n"                   /* 12 */
    "cx = 0.5\ncy = 0.5\nradius = 0.5\n"   /* 13-15 */
    "temperature = \"20 + 5 * x\"\n"       /* 16 */
    "[boundary]\ntop = 1\n"                /* 17-18 */
    "[[region]]\n"                         /* 19 */
    "temperature = -4\n"                   /* 20 */
    "file = \"pipes.h5\"\n"                /* 21 */
    "shape = \"mask\"\n";                  /* 22 */

static void test_regions_of_each_shape_are_read_in_order(void) {
  struct cfg *c = CREATE(regions_file);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->nregions == 3, "expected 3 regions, got %d", c->nregions);
  if (c->nregions == 3) {
    const struct cfg_region *r = c->regions;
    EXPECT(r[0].shape == CFG_REGION_RECTANGLE && r[0].x0 == 0 && r[0].x1 == 0.5 && r[0].y0 == 0.2 &&
               r[0].y1 == 1 && r[0].temperature.value == 100 && r[0].temperature.text == NULL &&
               r[0].line == 4,
           "expected the rectangle of lines 4-10");
    EXPECT(r[1].shape == CFG_REGION_DISK && r[1].cx == 0.5 && r[1].cy == 0.5 &&
               r[1].radius == 0.5 && strcmp(r[1].temperature.text, "20 + 5 * x") == 0 &&
               r[1].line == 11,
           "expected the disk of lines 11-16");
    EXPECT(r[2].shape == CFG_REGION_MASK && strcmp(r[2].file, "pipes.h5") == 0 &&
               strcmp(r[2].dataset, "/fixed") == 0 && r[2].temperature.value == -4 &&
               r[2].line == 19,
           "expected the mask of lines 19-22, dataset /fixed");
  }
  EXPECT(c->top.value == 1 && cfg_general(c), "expected top = 1 and the general update");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region[1].x1"), "t.toml:7");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region[2].radius"), "t.toml:15");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region[3].shape"), "t.toml:22");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region[3].dataset"), "default");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region[4].shape"), "default");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region[0].shape"), "default");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region.shape"), "default");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region[1]x1"), "default");
  CU_ASSERT(cfg_is_set(c, "region[2].cx") && !cfg_is_set(c, "region[1].cx"));
  ROUND_TRIPS(c);
  char *text = printed(c);
  const char *want = "\n[[region]]\nshape = \"disk\"\ncx = 0.5\ncy = 0.5\nradius = 0.5\n"
                     "temperature = \"20 + 5 * x\"\n\n[[region]]\nshape = \"mask\"\n"
                     "file = \"pipes.h5\"\ndataset = \"/fixed\"\ntemperature = -4.0\n\n[solver]\n";
  EXPECT(strstr(text, want) != NULL, "expected the regions printed by shape:\n%s", text);
  free(text);
  cfg_destroy(&c);
}

/* One rule for a key that does not apply (issue 34): the keys of a method or a feature not
 * chosen are refused in one shape of words, wherever they were set, and left out of the printed
 * config (which must read back). */
static void test_keys_that_do_not_apply_are_refused(void) {
  EXPECT_ERROR(GRID "[solver]\nmultigrid.pre = 3\n",
               "t.toml:5: solver.multigrid.pre applies to the multigrid method; solver.method is "
               "\"jacobi\" (remove the key, or set solver.method = \"multigrid\")");
  EXPECT_ERROR(GRID "[solver]\nmethod = \"chebyshev\"\nmultigrid.fmg = false\n",
               "t.toml:6: solver.multigrid.fmg applies to the multigrid method; solver.method is "
               "\"chebyshev\" (remove the key, or set solver.method = \"multigrid\")");
  EXPECT_SET_ERROR("solver.multigrid.cycle=W",
                   "--set solver.multigrid.cycle=W: solver.multigrid.cycle applies to the "
                   "multigrid method; solver.method is \"jacobi\" (remove the key, or set "
                   "solver.method = \"multigrid\")");
  EXPECT_ERROR(GRID "[source]\ndataset = \"/q\"\n",
               "t.toml:5: source.dataset applies to the file of source.from_file, which is not "
               "set (remove the key, or set source.from_file)");
  struct cfg *c = CREATE(GRID "[solver]\nmethod = \"multigrid\"\nmultigrid.pre = 3\n"
                              "[source]\nfrom_file = \"q.h5\"\ndataset = \"/q\"\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  char *text = printed(c);
  EXPECT(strstr(text, "multigrid.pre = 3\n") != NULL && strstr(text, "dataset = \"/q\"\n"),
         "expected the keys that apply printed:\n%s", text);
  free(text);
  cfg_destroy(&c);
  c = CREATE(GRID);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  text = printed(c);
  EXPECT(strstr(text, "multigrid.") == NULL && strstr(text, "dataset") == NULL,
         "expected no key that does not apply printed:\n%s", text);
  free(text);
  cfg_destroy(&c);
}

static void test_region_keys_must_belong_to_the_shape(void) {
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"rectangle\"\nx0 = 0\nx1 = 1\ny0 = 0\ny1 = 1\n"
                     "radius = 0.1\ntemperature = 1\n",
               "t.toml:10: region[1].radius does not apply to a rectangle: a rectangle's keys are "
               "shape, x0, x1, y0, y1, temperature, conductivity, power");
  EXPECT_ERROR(PLATE "[[region]]\nfile = \"m.h5\"\nshape = \"disk\"\ncx = 0.5\ncy = 0.5\n"
                     "radius = 0.1\ntemperature = 1\n",
               "t.toml:5: region[1].file does not apply to a disk: a disk's keys are shape, cx, "
               "cy, radius, temperature, conductivity, power");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"mask\"\nfile = \"m.h5\"\nx0 = 1\ntemperature = 1\n",
               "t.toml:7: region[1].x0 does not apply to a mask: a mask's keys are shape, file, "
               "dataset, temperature, conductivity, power");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"disk\"\ncx = 0.5\nradus = 0.1\n",
               "t.toml:7: unknown key region[1].radus; did you mean region[1].radius?");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"circle\"\n",
               "t.toml:5: region[1].shape must be one of \"rectangle\", \"disk\", \"mask\", got "
               "\"circle\"");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"disk\"\ncx = 0.5\ncy = 0.5\nradius = 0\n",
               "t.toml:8: region[1].radius must be a number > 0, got \"0\"");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"mask\"\nfile = \"\"\n",
               "t.toml:6: region[1].file must be a non-empty string, got \"\"");
}

static void test_region_required_keys_are_named(void) {
  EXPECT_ERROR(PLATE "[[region]]\ntemperature = 1\n",
               "t.toml:4: region[1].shape is required (\"rectangle\", \"disk\" or \"mask\")");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"rectangle\"\nx0 = 0\nx1 = 1\ny0 = 0\ntemperature = 1\n",
               "t.toml:4: region[1].y1 is required for a rectangle (float: m: its bottom side, y0 "
               "<= y1 <= height)");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"mask\"\ntemperature = 1\n",
               "t.toml:4: region[1].file is required for a mask (string, non-empty: HDF5 file of "
               "the mask: a dataset of ny x nx numbers, non-zero in the region)");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"disk\"\ncx = 0.5\ncy = 0.5\nradius = 0.1\n"
                     "[[region]]\nshape = \"mask\"\nfile = \"m.h5\"\ntemperature = 0\n",
               "t.toml:4: region[1] is neither held, a material nor a heater: give it a "
               "temperature, a conductivity or a power");
}

static void test_region_outside_the_plate_is_refused(void) {
  char text[512];
  const char *sides[][3] = {
      {"x1 = 1.5", "x1",
       "t.toml:7: region 1 (rectangle) reaches x1 = 1.5 m, outside the plate "
       "(width = 1 m)"},
      {"x0 = -0.1", "x0",
       "t.toml:6: region 1 (rectangle) reaches x0 = -0.1 m, outside the plate "
       "(x >= 0)"},
      {"y1 = 1.25", "y1",
       "t.toml:9: region 1 (rectangle) reaches y1 = 1.25 m, outside the plate "
       "(height = 1 m)"},
      {"y0 = -1e-6", "y0",
       "t.toml:8: region 1 (rectangle) reaches y0 = -1e-06 m, outside the "
       "plate (y >= 0)"},
  };
  for (int s = 0; s < 4; s++) {
    const char *keys[] = {"x0 = 0", "x1 = 1", "y0 = 0", "y1 = 1"};
    int replaced = sides[s][1][0] == 'y' ? 2 : 0;
    replaced += sides[s][1][1] == '1';
    keys[replaced] = sides[s][0];
    snprintf(text, sizeof text,
             PLATE "[[region]]\nshape = \"rectangle\"\n%s\n%s\n%s\n%s\ntemperature = 1\n", keys[0],
             keys[1], keys[2], keys[3]);
    EXPECT_ERROR(text, sides[s][2]);
  }
  /* On the plate's edge, and within 1e-9 h of it, is in. */
  struct cfg *c =
      CREATE(PLATE "[[region]]\nshape = \"rectangle\"\nx0 = -1e-11\nx1 = 1.00000000001\n"
                   "y0 = 0\ny1 = 1\ntemperature = 1\n");
  EXPECT(c != NULL, "expected a rectangle on the edges accepted");
  cfg_destroy(&c);
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"rectangle\"\nx0 = 0.6\nx1 = 0.4\ny0 = 0\ny1 = 1\n"
                     "temperature = 1\n",
               "t.toml:7: region[1].x0 = 0.6 is greater than region[1].x1 = 0.4: a rectangle "
               "needs x0 <= x1");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"disk\"\ncx = 0.8\ncy = 0.5\nradius = 0.3\n"
                     "temperature = 1\n",
               "t.toml:8: region 1 (disk) reaches x = cx + radius = 1.1 m, outside the plate "
               "(width = 1 m)");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"disk\"\nradius = 0.5\ncx = 0.5\ncy = 0.25\n"
                     "temperature = 1\n",
               "t.toml:8: region 1 (disk) reaches y = cy - radius = -0.25 m, outside the plate "
               "(y >= 0)");
  EXPECT_ERROR(PLATE "[plate]\nwidth = 2\n[[region]]\nshape = \"disk\"\ncx = 1\ncy = 1.5\n"
                     "radius = 0.6\ntemperature = 1\n",
               "t.toml:10: region 1 (disk) reaches y = cy + radius = 2.1 m, outside the plate "
               "(height = 2 m)");
}

static void test_region_temperature_expression_is_checked(void) {
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"disk\"\ncx = 0.5\ncy = 0.5\nradius = 0.1\n"
                     "temperature = \"20 +\"\n",
               "t.toml:9: region[1].temperature = \"20 +\" does not parse: position 4: the "
               "expression ends where a value was expected");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"mask\"\nfile = \"m.h5\"\ntemperature = 1e301\n",
               "t.toml:7: region[1].temperature must be a number from -1e300 to 1e300, got "
               "\"1e301\"");
}

static void test_regions_are_arrays_of_tables_and_at_most_255(void) {
  EXPECT_ERROR(PLATE "[region]\nshape = \"disk\"\n",
               "t.toml:4: [region] is an array of tables: write [[region]] above each region's "
               "keys");
  EXPECT_ERROR("region.shape = \"disk\"\n" PLATE,
               "t.toml:1: key region.shape belongs under a [[region]] header, one for each region");
  EXPECT_ERROR(PLATE "[[regoin]]\n", "t.toml:4: unknown section [[regoin]]; did you mean "
                                     "[[region]]?");
  EXPECT_ERROR(PLATE "[[sovler]]\n", "t.toml:4: unknown section [[sovler]]; did you mean "
                                     "[solver]?");
  EXPECT_ERROR("[[grid]]\n",
               "t.toml:1: [[grid]]: an array of [grid] tables is not supported; write one [grid]");
  EXPECT_ERROR(PLATE "[regoin]\n", "t.toml:4: unknown section [regoin]; did you mean [[region]]?");
  EXPECT_SET_ERROR("region.shape=disk", "--set region.shape=disk: [[region]] keys are set in the "
                                        "file, under each region's [[region]] header: --set "
                                        "cannot say which region");
  /* 255 regions are fine; the 256th is refused at its header. */
  const char *one = "[[region]]\nshape = \"mask\"\nfile = \"m.h5\"\ntemperature = 1\n";
  size_t n = strlen(one), head = strlen(PLATE);
  char *text = malloc(head + 256 * n + 1);
  memcpy(text, PLATE, head);
  for (int r = 0; r < 256; r++)
    memcpy(text + head + (size_t)r * n, one, n);
  text[head + 255 * n] = '\0';
  struct cfg *c = CREATE(text);
  EXPECT(c != NULL && c->nregions == 255, "expected 255 regions");
  if (c != NULL)
    ROUND_TRIPS(c);
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region[255].file"), "t.toml:1022");
  cfg_destroy(&c);
  text[head + 255 * n] = '[';
  text[head + 256 * n] = '\0';
  EXPECT_ERROR(text, "t.toml:1024: more than 255 [[region]] tables: the output's /fixed mask "
                     "numbers a point's region in one byte");
  free(text);
}

/* initial.from_file may be empty (its default: no restart); output.path may not. */
static void test_from_file_may_be_empty_output_path_not(void) {
  struct cfg *c =
      CREATE(GRID "[initial]\nfrom_file = \"ckpt.h5\"\n[output]\nmode = \"parallel\"\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  CU_ASSERT_STRING_EQUAL(c->from_file, "ckpt.h5");
  CU_ASSERT_EQUAL(c->output_mode, CFG_OUTPUT_PARALLEL);
  cfg_destroy(&c);
  c = CREATE(GRID "[initial]\nfrom_file = \"\"\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  CU_ASSERT_STRING_EQUAL(c->from_file, "");
  CU_ASSERT_EQUAL(c->output_mode, CFG_OUTPUT_GATHER);
  cfg_destroy(&c);
  EXPECT_ERROR(GRID "[output]\npath = \"\"\n",
               "t.toml:5: output.path must be a non-empty string, got \"\"");
  EXPECT_ERROR(GRID "[output]\nmode = \"scatter\"\n",
               "t.toml:5: output.mode must be one of \"gather\", \"parallel\", got \"scatter\"");
}

static void test_reference_has_one_row_per_key(void) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  cfg_print_reference(out);
  fclose(out);
  const char *head = "| key | type | default | meaning |\n| --- | --- | --- | --- |\n";
  EXPECT(strncmp(text, head, strlen(head)) == 0, "expected the table head, got:\n%s", text);
  int rows = 0;
  for (const char *p = text; (p = strstr(p, "\n| `")) != NULL; p++)
    rows++;
  EXPECT(rows == 88, "expected 88 rows, got %d:\n%s", rows, text);
  const char *lines[] = {
      "| `grid.nx` | int >= 1 | required | interior points per row |",
      "| `solver.tolerance` | float > 0 | `0.0001` |",
      "| `boundary.top` | float from -1e300 to 1e300, expression (string), or \"insulated\" | "
      "`0.0` |",
      "| `boundary.bottom.h` | float >= 0, or expression (string) | none |",
      "| `surface.faces` | int from 1 to 2 | `2` |",
      "| `plate.width` | float > 0 | 1, or from height |",
      "| `plate.conductivity` | float > 0, or expression (string) | `1.0` |",
      "| `plate.conductivity_dataset` | string, non-empty | `\"/conductivity\"` |",
      "| `source.dataset` | string, non-empty | `\"/source\"` |",
      "| `region.shape` | \"rectangle\", \"disk\" or \"mask\" | required |",
      "| `region.x0` | float | required (rectangle) |",
      "| `region.radius` | float > 0 | required (disk) |",
      "| `region.dataset` | string, non-empty | `\"/fixed\"` |",
      "| `region.temperature` | float from -1e300 to 1e300, or expression (string) | none |",
      "| `region.power` | float | none |",
      "| `decomposition.partitioner` | \"block\", \"cyclic\" or \"block-cyclic\" | `\"block\"` |",
      "| `decomposition.process_grid` | [int, int], each from 0 to 2147483647 | `[0, 1]` |",
      "| `output.path` | string, non-empty | `\"plate.h5\"` |",
      "| `output.owner_map` | bool | `false` |",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    EXPECT(strstr(text, lines[i]) != NULL, "expected the row %s in:\n%s", lines[i], text);
  free(text);
}

static void test_enum_names_are_the_config_words(void) {
  CU_ASSERT_STRING_EQUAL(cfg_partitioner_name(CFG_BLOCK), "block");
  CU_ASSERT_STRING_EQUAL(cfg_partitioner_name(CFG_CYCLIC), "cyclic");
  CU_ASSERT_STRING_EQUAL(cfg_partitioner_name(CFG_BLOCK_CYCLIC), "block-cyclic");
  CU_ASSERT_STRING_EQUAL(cfg_halo_mode_name(CFG_HALO_AUTO), "auto");
  CU_ASSERT_STRING_EQUAL(cfg_halo_mode_name(CFG_HALO_SHM), "shm");
  CU_ASSERT_STRING_EQUAL(cfg_halo_mode_name(CFG_HALO_P2P), "p2p");
  CU_ASSERT_STRING_EQUAL(cfg_stores_name(CFG_STORES_REGULAR), "regular");
  CU_ASSERT_STRING_EQUAL(cfg_stores_name(CFG_STORES_STREAMING), "streaming");
  CU_ASSERT_STRING_EQUAL(cfg_stores_name(CFG_STORES_AUTO), "auto");
}

/* ---- lifetime -------------------------------------------------------------------------------- */

static void test_destroy_accepts_null(void) {
  cfg_destroy(NULL);
  struct cfg *c = NULL;
  cfg_destroy(&c);
  CU_ASSERT_PTR_NULL(c);
}

static void test_toml_errors_reach_the_caller(void) {
  EXPECT_ERROR("[grid]\nnx = 4\nnx = 5\n", "t.toml:3: duplicate key grid.nx (first set on line 2)");
  EXPECT_ERROR("[grid]\nnx = \"4\n", "t.toml:2: unterminated string: expected a closing \" on the "
                                     "same line (a \" inside a string is written \\\"), got \"4");
}

/* TOML the reader takes but no key of jacobi's does: each still gets one line naming the key. */
static void test_new_toml_forms_are_judged_by_their_keys(void) {
  EXPECT_ERROR(GRID "[solver]\ntolerance = { a = 1 }\n",
               "t.toml:5: solver.tolerance must be a number > 0, got \"{ a = 1 }\"");
  EXPECT_ERROR(GRID "[solver]\ntolerance = [1e-6, 1e-8]\n",
               "t.toml:5: solver.tolerance must be a number > 0, got \"[1e-6, 1e-8]\"");
  EXPECT_ERROR_HOLDS(GRID "[output]\npath = 1979-05-27\n", "t.toml:5: output.path must be");
  EXPECT_ERROR_HOLDS(GRID "[solver]\nx = { a = 1 }\n", "t.toml:5: unknown table [solver.x]");
  EXPECT_ERROR(PLATE "[[region]]\nshape = \"disk\"\n[[region.sub]]\n",
               "t.toml:6: [[region.sub]]: arrays of tables inside a [[region]] are not supported");
  expect_error_at(GRID, (const char *const[]){"solver.tolerance={ a = 1 }"}, 1,
                  "solver.tolerance must be a number > 0, got \"{ a = 1 }\"", false, __LINE__);
  expect_error_at(GRID, (const char *const[]){"decomposition.process_grid=[1, 2.5]"}, 1,
                  "decomposition.process_grid must be [rows, cols]", false, __LINE__);
  /* Multi-line strings and hexadecimal integers are values like any other. */
  struct cfg *cfg = NULL;
  const char *text =
      GRID "[output]\npath = \"\"\"\nout.h5\"\"\"\n[solver]\nmax_iterations = 0x10\n";
  err_clear();
  CU_ASSERT_EQUAL_FATAL(cfg_create(text, strlen(text), "t.toml", NULL, 0, &cfg), ERR_OK);
  EXPECT(strcmp(cfg->output_path, "out.h5") == 0, "expected out.h5, got %s", cfg->output_path);
  EXPECT(cfg->max_iterations == 16, "expected 16, got %lld", (long long)cfg->max_iterations);
  cfg_destroy(&cfg);
}

/* ---- reading files --------------------------------------------------------------------------- */

/* A temporary file holding len bytes of `bytes`; its path is written to path[64]. */
static void temp_file(const void *bytes, size_t len, char path[64]) {
  snprintf(path, 64, "/tmp/jacobi-test-cfg-XXXXXX");
  int fd = mkstemp(path);
  CU_ASSERT_FATAL(fd >= 0);
  CU_ASSERT_FATAL(write(fd, bytes, len) == (ssize_t)len);
  close(fd);
}

static void test_read_file_returns_the_text_nul_terminated(void) {
  char path[64], *text = NULL;
  size_t len = 0;
  temp_file(GRID, strlen(GRID), path);
  err_clear();
  CU_ASSERT_EQUAL(cfg_read_file(path, &text, &len), ERR_OK);
  EXPECT(text && len == strlen(GRID) && strcmp(text, GRID) == 0, "expected the file's text");
  free(text);
  unlink(path);
}

static void test_read_file_refuses_a_missing_file(void) {
  char *text = (char *)"untouched";
  size_t len = 1;
  err_clear();
  CU_ASSERT_EQUAL(cfg_read_file("/tmp/jacobi-no-such-dir/x.toml", &text, &len), ERR_CONFIG);
  CU_ASSERT_PTR_NULL(text);
  CU_ASSERT_STRING_EQUAL(err_message(), "cannot read config file '/tmp/jacobi-no-such-dir/x.toml': "
                                        "No such file or directory");
}

static void test_read_file_refuses_a_directory(void) {
  char dir[] = "/tmp/jacobi-test-dir-XXXXXX", want[128], *text = NULL;
  size_t len = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  err_clear();
  CU_ASSERT_EQUAL(cfg_read_file(dir, &text, &len), ERR_CONFIG);
  CU_ASSERT_PTR_NULL(text);
  snprintf(want, sizeof want, "cannot read config file '%s': Is a directory", dir);
  EXPECT(strcmp(err_message(), want) == 0, "expected \"%s\", got \"%s\"", want, err_message());
  rmdir(dir);
}

static void test_read_file_refuses_a_nul_byte(void) {
  char path[64], want[160], *text = NULL;
  size_t len = 0;
  temp_file("a = 1\0b", 7, path);
  err_clear();
  CU_ASSERT_EQUAL(cfg_read_file(path, &text, &len), ERR_CONFIG);
  CU_ASSERT_PTR_NULL(text);
  snprintf(want, sizeof want, "%s: binary file (NUL byte at offset 5), expected a TOML config",
           path);
  EXPECT(strcmp(err_message(), want) == 0, "expected \"%s\", got \"%s\"", want, err_message());
  unlink(path);
}

static void test_read_file_refuses_more_than_the_limit(void) {
  char path[64], *text = NULL;
  size_t len = 0;
  char *big = malloc(CFG_MAX_FILE_BYTES + 1);
  memset(big, '#', CFG_MAX_FILE_BYTES + 1);
  temp_file(big, CFG_MAX_FILE_BYTES, path);
  err_clear();
  CU_ASSERT_EQUAL(cfg_read_file(path, &text, &len), ERR_OK); /* exactly the limit: fine */
  CU_ASSERT_EQUAL(len, (size_t)CFG_MAX_FILE_BYTES);
  free(text);
  unlink(path);
  temp_file(big, CFG_MAX_FILE_BYTES + 1, path);
  text = NULL;
  err_clear();
  CU_ASSERT_EQUAL(cfg_read_file(path, &text, &len), ERR_CONFIG);
  CU_ASSERT_PTR_NULL(text);
  EXPECT(strstr(err_message(), "larger than 1048576 bytes") != NULL, "got: %s", err_message());
  unlink(path);
  free(big);
}

static void test_empty_file_reads_then_needs_grid_nx(void) {
  char path[64], *text = NULL;
  size_t len = 1;
  temp_file("", 0, path);
  err_clear();
  CU_ASSERT_EQUAL(cfg_read_file(path, &text, &len), ERR_OK);
  EXPECT(text != NULL && len == 0 && text[0] == '\0', "expected an empty NUL-terminated text");
  struct cfg *c = NULL;
  CU_ASSERT_EQUAL(cfg_create(text, len, path, NULL, 0, &c), ERR_CONFIG);
  CU_ASSERT_PTR_NULL(c);
  EXPECT(strstr(err_message(), ": grid.nx is required") != NULL, "got: %s", err_message());
  free(text);
  unlink(path);
}

/* Like ex50's inline tests: the example config the README runs must stay valid. */
static void test_example_plate_config_is_valid(void) {
  char path[4096];
  const char *here = __FILE__, *slash = strrchr(here, '/');
  snprintf(path, sizeof path, "%.*s../configs/plate.toml", slash ? (int)(slash - here + 1) : 0,
           here);
  if (slash == NULL)
    snprintf(path, sizeof path, "../configs/plate.toml");
  char *text = NULL;
  size_t len = 0;
  err_clear();
  int status = cfg_read_file(path, &text, &len);
  EXPECT(status == ERR_OK, "expected to read %s: %s", path, err_message());
  if (status != ERR_OK)
    return;
  struct cfg *c = NULL;
  status = cfg_create(text, len, path, NULL, 0, &c);
  EXPECT(status == ERR_OK && c->nx == 128 && c->ny == 128 && c->top.value == 100.0,
         "expected plate.toml valid (128 x 128, top 100), got: %s", err_message());
  cfg_destroy(&c);
  free(text);
}

/* The text of `doc` between the line holding CFG_REFERENCE_BEGIN and CFG_REFERENCE_END, without
 * the blank lines around it; NULL (and *len 0) when the markers are missing or out of order. */
static const char *reference_block(const char *doc, size_t *len) {
  const char *begin = strstr(doc, CFG_REFERENCE_BEGIN);
  const char *start = begin != NULL ? strchr(begin, '\n') : NULL;
  const char *end = start != NULL ? strstr(start, CFG_REFERENCE_END) : NULL;
  *len = 0;
  if (end == NULL)
    return NULL;
  while (start < end && *start == '\n')
    start++;
  while (end > start && end[-1] == '\n')
    end--;
  *len = (size_t)(end - start);
  return start;
}

/* Whether the block found is the reference, whose last newline the block does not keep. */
static bool block_is_reference(const char *block, size_t len, const char *reference) {
  size_t want = strlen(reference);
  while (want > 0 && reference[want - 1] == '\n')
    want--;
  return block != NULL && len == want && memcmp(block, reference, want) == 0;
}

/* docs/configuration.md's key table is the schema's, word for word and nothing else: the docs
 * cannot drift (man/jacobi_cfgdoc.c rewrites it; the man page is made from the same output). */
static void test_docs_reference_matches_schema(void) {
  char path[4096];
  const char *here = __FILE__, *slash = strrchr(here, '/');
  snprintf(path, sizeof path, "%.*s../docs/configuration.md", slash ? (int)(slash - here + 1) : 0,
           here);
  char *doc = NULL, *reference = NULL;
  size_t doc_len = 0, reference_len = 0;
  err_clear();
  int status = cfg_read_file(path, &doc, &doc_len); /* any text file of <= 1 MiB */
  EXPECT(status == ERR_OK, "expected to read %s: %s", path, err_message());
  if (status != ERR_OK)
    return;
  FILE *out = open_memstream(&reference, &reference_len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  cfg_print_reference(out);
  fclose(out);
  size_t block_len = 0;
  const char *block = reference_block(doc, &block_len);
  EXPECT(block != NULL, "expected %s to hold a line with \"%s\" and, after it, \"%s\"", path,
         CFG_REFERENCE_BEGIN, CFG_REFERENCE_END);
  EXPECT(block == NULL || block_is_reference(block, block_len, reference),
         "expected the table of %s to be what cfg_print_reference prints (regenerate it: cmake "
         "--build BUILD --target docs_config):\n%s\ngot:\n%.*s",
         path, reference, (int)block_len, block != NULL ? block : "");
  free(reference);
  free(doc);
}

/* The check above fails when the doc and the schema differ: a row changed or dropped, or the
 * markers lost, is seen. */
static void test_reference_block_sees_a_difference(void) {
  char *reference = NULL;
  size_t reference_len = 0;
  FILE *out = open_memstream(&reference, &reference_len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  cfg_print_reference(out);
  fclose(out);
  size_t size = reference_len + 256, len = 0;
  char *doc = malloc(size);
  CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
  int n = snprintf(doc, size, "intro\n%s -->\n\n%s\n%s -->\ntail\n", CFG_REFERENCE_BEGIN, reference,
                   CFG_REFERENCE_END);
  CU_ASSERT_FATAL(n > 0 && (size_t)n < size);
  const char *block = reference_block(doc, &len);
  EXPECT(block_is_reference(block, len, reference),
         "expected the block to be the reference exactly, got %zu bytes of %zu", len,
         reference_len);
  char *row = strstr(doc, "| `grid.ny` |"); /* one key's row changed */
  CU_ASSERT_PTR_NOT_NULL_FATAL(row);
  row[3] = 'G';
  block = reference_block(doc, &len);
  EXPECT(block != NULL && !block_is_reference(block, len, reference),
         "expected a changed row to differ");
  row[3] = 'g';
  char *next = strchr(row, '\n'); /* one row dropped */
  CU_ASSERT_PTR_NOT_NULL_FATAL(next);
  memmove(row, next + 1, strlen(next + 1) + 1);
  block = reference_block(doc, &len);
  EXPECT(block != NULL && !block_is_reference(block, len, reference),
         "expected a dropped row to differ");
  EXPECT(reference_block("no markers here\n", &len) == NULL && len == 0,
         "expected no block without the markers");
  free(doc);
  free(reference);
}

/* ---- real plates: edges, faces, materials, heaters (issue 30) ------------------------------- */

/* The student's plate of issue 30, 0.3 x 0.2 m at h = 1 cm: left and right held (31 - 2 + 1 =
 * 30 spacings across), top and bottom not (their rows on the edges: 21 - 1 = 20 down). */
static const char student_plate[] = "[grid]\n"                /* 1 */
                                    "nx = 29\n"               /* 2 */
                                    "ny = 21\n"               /* 3 */
                                    "[plate]\n"               /* 4 */
                                    "width = 0.3\n"           /* 5 */
                                    "height = 0.2\n"          /* 6 */
                                    "conductivity = 237.0\n"  /* 7 */
                                    "thickness = 0.005\n"     /* 8 */
                                    "[boundary]\n"            /* 9 */
                                    "left = 80.0\n"           /* 10 */
                                    "right = \"20 + 5*y\"\n"  /* 11 */
                                    "top = \"insulated\"\n"   /* 12 */
                                    "[boundary.bottom]\n"     /* 13 */
                                    "h = 25.0\n"              /* 14 */
                                    "ambient = 20.0\n"        /* 15 */
                                    "[surface]\n"             /* 16 */
                                    "h = 10.0\n"              /* 17 */
                                    "ambient = 20.0\n"        /* 18 */
                                    "faces = 2\n"             /* 19 */
                                    "[[region]]\n"            /* 20 */
                                    "shape = \"rectangle\"\n" /* 21 */
                                    "x0 = 0.0\n"              /* 22 */
                                    "x1 = 0.1\n"              /* 23 */
                                    "y0 = 0.0\n"              /* 24 */
                                    "y1 = 0.2\n"              /* 25 */
                                    "conductivity = 16.0\n"   /* 26 */
                                    "[[region]]\n"            /* 27 */
                                    "shape = \"disk\"\n"      /* 28 */
                                    "cx = 0.15\n"             /* 29 */
                                    "cy = 0.1\n"              /* 30 */
                                    "radius = 0.01\n"         /* 31 */
                                    "power = 50.0\n";         /* 32 */

static void test_student_plate_of_issue_30_is_read_whole(void) {
  struct cfg *c = CREATE(student_plate);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->edge[0].kind == CFG_EDGE_INSULATED && c->edge[1].kind == CFG_EDGE_CONVECTIVE &&
             c->edge[2].kind == CFG_EDGE_HELD && c->edge[3].kind == CFG_EDGE_HELD,
         "expected top insulated, bottom convective, left and right held, got %d %d %d %d",
         c->edge[0].kind, c->edge[1].kind, c->edge[2].kind, c->edge[3].kind);
  EXPECT(c->edge[1].h.value == 25.0 && c->edge[1].ambient.value == 20.0,
         "expected h 25, ambient 20 at the bottom");
  EXPECT(same_double(c->top.value, 0.0) && c->top.text == NULL && same_double(c->bottom.value, 0.0),
         "expected the edges that are not held at the number 0 (the ring's value)");
  EXPECT(c->left.value == 80.0 && strcmp(c->right.text, "20 + 5*y") == 0,
         "expected the held edges");
  EXPECT(c->surface_h.value == 10.0 && c->surface_ambient.value == 20.0 && c->surface_faces == 2,
         "expected the faces' exchange");
  EXPECT(c->conductivity == 237.0 && c->conductivity_k.value == 237.0 &&
             c->conductivity_k.text == NULL,
         "expected k = 237");
  EXPECT(fabs(cfg_spacing(c) - 0.01) < 1e-17 && c->width == 0.3 && c->height == 0.2,
         "expected h = 0.01 m on 0.3 x 0.2 m, got %.17g", cfg_spacing(c));
  EXPECT(c->nregions == 2, "expected 2 regions");
  if (c->nregions == 2) {
    const struct cfg_region *r = c->regions;
    EXPECT(!r[0].held && r[0].has_conductivity && !r[0].has_power &&
               r[0].conductivity.value == 16.0,
           "expected region 1 a material of k = 16");
    EXPECT(!r[1].held && !r[1].has_conductivity && r[1].has_power && r[1].power == 50.0,
           "expected region 2 a heater of 50 W");
  }
  EXPECT(cfg_faces(c) && !cfg_general(c), "expected the faces operator, not the general one");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "boundary.bottom.ambient"), "t.toml:15");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "region[2].power"), "t.toml:32");
  ROUND_TRIPS(c);
  char *text = printed(c);
  const char *want = "[boundary]\ntop = \"insulated\"\nbottom.h = 25.0\nbottom.ambient = 20.0\n"
                     "left = 80.0\nright = \"20 + 5*y\"\n\n[surface]\nh = 10.0\nambient = 20.0\n"
                     "faces = 2\n";
  EXPECT(strstr(text, want) != NULL, "expected the edges by their kinds:\n%s", text);
  EXPECT(strstr(text, "conductivity = 16.0\n\n[[region]]") != NULL &&
             strstr(text, "radius = 0.01\npower = 50.0\n") != NULL &&
             strstr(text, "temperature") == NULL,
         "expected each region with only the keys it was given:\n%s", text);
  free(text);
  cfg_destroy(&c);
}

/* A held edge in any of its forms is today's edge, bit for bit: the same field, the same
 * spacing, no faces operator. */
static void test_held_edges_in_every_form_keep_their_bits(void) {
  const char *forms[] = {
      GRID "[boundary]\ntop = 100\nleft = \"5 * y\"\n",
      GRID "[boundary.top]\ntemperature = 100\n[boundary.left]\ntemperature = \"5 * y\"\n",
      GRID "[boundary]\ntop.temperature = 100\nleft.temperature = \"5 * y\"\n",
  };
  for (int f = 0; f < 3; f++) {
    struct cfg *c = CREATE(forms[f]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (int e = 0; e < 4; e++)
      EXPECT(c->edge[e].kind == CFG_EDGE_HELD, "form %d: expected edge %d held", f, e);
    EXPECT(same_double(c->top.value, 100.0) && c->top.text == NULL &&
               strcmp(c->left.text, "5 * y") == 0,
           "form %d: expected top 100 and left \"5 * y\"", f);
    EXPECT(same_double(cfg_spacing(c), 1.0 / 5) && same_double(c->height, 4.0 / 5),
           "form %d: expected h = 1/5 and height 4/5 (all held), got %a, %a", f, cfg_spacing(c),
           c->height);
    EXPECT(!cfg_faces(c) && !cfg_general(c), "form %d: expected the Laplace plate of today", f);
    EXPECT(cfg_is_set(c, "boundary.top") && strcmp(cfg_origin(c, "boundary.top"), "t.toml:5") == 0,
           "form %d: expected boundary.top from line 5, got %s", f, cfg_origin(c, "boundary.top"));
    ROUND_TRIPS(c);
    cfg_destroy(&c);
  }
}

static void test_edge_kinds_in_numbers_and_expressions(void) {
  struct cfg *c =
      CREATE(PLATE "[boundary]\nbottom = \"insulated\"\n[boundary.left]\nflux = 1500\n"
                   "[boundary.right]\nflux = \"100 * y\"\n[boundary.top]\nh = \"5 + x\"\n"
                   "ambient = \"20 - x\"\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->edge[0].kind == CFG_EDGE_CONVECTIVE && strcmp(c->edge[0].h.text, "5 + x") == 0 &&
             strcmp(c->edge[0].ambient.text, "20 - x") == 0,
         "expected a convective top of expressions");
  EXPECT(c->edge[1].kind == CFG_EDGE_INSULATED, "expected an insulated bottom");
  EXPECT(c->edge[2].kind == CFG_EDGE_FLUX && c->edge[2].flux.value == 1500.0 &&
             c->edge[3].kind == CFG_EDGE_FLUX && strcmp(c->edge[3].flux.text, "100 * y") == 0,
         "expected flux edges of a number and an expression");
  /* no edge held: (9 + 1 - 2) spacings each way, the points on every edge */
  EXPECT(same_double(cfg_spacing(c), 1.0 / 8) && same_double(c->height, 1.0),
         "expected h = 1/8, height 1, got %a, %a", cfg_spacing(c), c->height);
  EXPECT(cfg_faces(c), "expected the faces operator");
  ROUND_TRIPS(c);
  cfg_destroy(&c);
  /* flux = 0 is a flux edge (no heat crosses: the same as insulated, said another way) */
  c = CREATE(GRID "[boundary.top]\nflux = 0\n");
  EXPECT(c != NULL && c->edge[0].kind == CFG_EDGE_FLUX, "expected flux = 0 accepted as a flux");
  cfg_destroy(&c);
  /* a convective edge with h = 0 is accepted: it is insulated, written as convection */
  c = CREATE(GRID "[boundary.top]\nh = 0\nambient = 5\n");
  EXPECT(c != NULL && c->edge[0].kind == CFG_EDGE_CONVECTIVE, "expected h = 0 accepted");
  cfg_destroy(&c);
}

static void test_edge_set_takes_every_form(void) {
  struct cfg *c = CREATE_SET(GRID, "boundary.top=insulated", "boundary.left.flux=-20",
                             "boundary.bottom.h=3", "boundary.bottom.ambient=x * 2");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->edge[0].kind == CFG_EDGE_INSULATED && c->edge[2].kind == CFG_EDGE_FLUX &&
             c->edge[2].flux.value == -20.0 && c->edge[1].kind == CFG_EDGE_CONVECTIVE &&
             strcmp(c->edge[1].ambient.text, "x * 2") == 0,
         "expected the kinds from --set");
  CU_ASSERT_STRING_EQUAL(cfg_origin(c, "boundary.left.flux"), "--set boundary.left.flux");
  cfg_destroy(&c);
  c = CREATE_SET(GRID "[boundary]\ntop = \"insulated\"\n", "boundary.top=7");
  EXPECT(c != NULL && c->edge[0].kind == CFG_EDGE_HELD && c->top.value == 7.0,
         "expected --set boundary.top=7 to hold an insulated edge at 7");
  cfg_destroy(&c);
}

static void test_edge_mistakes_are_refused(void) {
  EXPECT_ERROR(GRID "[boundary.bottom]\nh = 25\n",
               "t.toml:5: boundary.bottom.h is given without boundary.bottom.ambient: a convective "
               "edge needs both, h (W/(m^2 K)) and the fluid's temperature (ambient)");
  EXPECT_ERROR(GRID "[boundary.bottom]\nambient = 20\n",
               "t.toml:5: boundary.bottom.ambient is given without boundary.bottom.h: a convective "
               "edge needs both, h (W/(m^2 K)) and the fluid's temperature (ambient)");
  EXPECT_ERROR(GRID "[boundary.bottom]\nh = -1\nambient = 20\n",
               "t.toml:5: boundary.bottom.h must be a number >= 0, got \"-1\"");
  EXPECT_ERROR(GRID "[boundary.bottom]\nh = \"-1\"\nambient = 20\n",
               "t.toml:5: boundary.bottom.h = \"-1\" is -1, which is not a number >= 0");
  EXPECT_ERROR(GRID "[boundary.bottom]\nflux = 1500\nh = 25\nambient = 20\n",
               "t.toml:6: boundary.bottom.h and boundary.bottom.flux (t.toml:5) are both given: an "
               "edge is held (temperature), takes a flux (flux) or is convective (h and ambient), "
               "one of the three");
  EXPECT_ERROR(GRID "[boundary.left]\ntemperature = 1\nflux = 2\n",
               "t.toml:6: boundary.left.flux and boundary.left.temperature (t.toml:5) are both "
               "given: an edge is held (temperature), takes a flux (flux) or is convective (h and "
               "ambient), one of the three");
  /* a keyword and a table for one edge: TOML's own rule, either way round */
  EXPECT_ERROR(GRID "[boundary]\ntop = \"insulated\"\n[boundary.top]\nh = 3\n",
               "t.toml:6: [boundary.top] is already a value (set on line 5); it cannot also be a "
               "table");
  EXPECT_ERROR(GRID "[boundary.top]\nh = 3\nambient = 1\n[boundary]\ntop = \"insulated\"\n",
               "t.toml:8: key boundary.top is already a table (defined on line 4); it cannot also "
               "be a value");
  EXPECT_ERROR(GRID "[boundary]\ntop = \"insulated\"\ntop.flux = 3\n",
               "t.toml:6: key boundary.top.flux needs boundary.top to be a table, but it is a "
               "value (set on line 5)");
  expect_error_at(GRID "[boundary]\ntop = 5\n", (const char *const[]){"boundary.top.flux=3"}, 1,
                  "--set boundary.top.flux=3: boundary.top.flux and boundary.top (t.toml:5) are "
                  "both given: an edge is given as top = ... (a temperature held, or "
                  "\"insulated\") or as a [boundary.top] table, not both",
                  true, __LINE__);
  EXPECT_ERROR(GRID "[boundary]\nleft = \"insulted\"\n",
               "t.toml:5: boundary.left must be a number from -1e300 to 1e300, an expression of x "
               "and y in a \"string\", or \"insulated\", got \"insulted\"; did you mean "
               "\"insulated\"?");
  EXPECT_ERROR(GRID "[boundary]\nleft = \"INSULATED\"\n",
               "t.toml:5: boundary.left must be a number from -1e300 to 1e300, an expression of x "
               "and y in a \"string\", or \"insulated\", got \"INSULATED\"; did you mean "
               "\"insulated\"?");
  EXPECT_ERROR(GRID "[boundary.right]\n[surface]\n",
               "t.toml:4: [boundary.right] is empty: give it temperature (held), flux, or h and "
               "ambient (convective); an insulated edge is right = \"insulated\" under [boundary]");
  EXPECT_ERROR(GRID "[boundary.bottom]\nhh = 3\n",
               "t.toml:5: unknown key boundary.bottom.hh; did you mean boundary.bottom.h?");
  EXPECT_ERROR(GRID "[boundary.bottom]\nambiant = 3\n",
               "t.toml:5: unknown key boundary.bottom.ambiant; did you mean "
               "boundary.bottom.ambient?");
  EXPECT_ERROR(GRID "[boundary.bttom]\nh = 3\n",
               "t.toml:4: unknown table [boundary.bttom]; did you mean [boundary.bottom]?");
  EXPECT_ERROR(GRID "[boundary.side]\n",
               "t.toml:4: unknown table [boundary.side]; the tables of [boundary] are "
               "[boundary.top], [boundary.bottom], [boundary.left], [boundary.right]");
  EXPECT_ERROR(GRID "[boundary.top]\nflux = \"1 +\"\n",
               "t.toml:5: boundary.top.flux = \"1 +\" does not parse: position 3: the expression "
               "ends where a value was expected");
}

/* h = width / (nx + 1 - ex) = height / (ny + 1 - ey): each edge that is not held takes a
 * spacing off its side; an inconsistent pair names the rule and the edges. */
static void test_spacing_follows_the_edge_rule(void) {
  const struct {
    const char *edges;
    double h, height;
  } cases[] = {
      {"", 1.0 / 5, 4.0 / 5},                                              /* all held: today's */
      {"left = \"insulated\"\n", 1.0 / 4, 4.0 / 4},                        /* ex = 1 */
      {"left = \"insulated\"\nright = \"insulated\"\n", 1.0 / 3, 4.0 / 3}, /* ex = 2 */
      {"top = \"insulated\"\n", 1.0 / 5, 3.0 / 5},                         /* ey = 1 */
      {"top = \"insulated\"\nbottom = \"insulated\"\nright = \"insulated\"\n", 1.0 / 4, 2.0 / 4},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, GRID "[boundary]\n%s", cases[i].edges);
    struct cfg *c = CREATE(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    EXPECT(same_double(cfg_spacing(c), cases[i].h) && same_double(c->width, 1.0) &&
               same_double(c->height, cases[i].height),
           "case %zu: expected h %a, 1 x %a, got h %a, %a x %a", i, cases[i].h, cases[i].height,
           cfg_spacing(c), c->width, c->height);
    ROUND_TRIPS(c);
    cfg_destroy(&c);
  }
  struct cfg *c = CREATE("[grid]\nnx = 2\nny = 2\n[plate]\nheight = 0.5\n[boundary]\n"
                         "left = \"insulated\"\nright = \"insulated\"\ntop = \"insulated\"\n");
  EXPECT(c != NULL && same_double(cfg_spacing(c), 0.25) && same_double(c->width, 0.25),
         "expected h = 0.5 / 2 and width 0.25 from the height");
  cfg_destroy(&c);
  EXPECT_ERROR("[grid]\nnx = 1\nny = 3\n[boundary]\nleft = \"insulated\"\n"
               "[boundary.right]\nflux = 1\n",
               "t.toml:2: grid.nx = 1, but neither the left nor the right edge is held: the points "
               "of an edge that is not held lie on it, so nx must be at least 2 (one column on "
               "each)");
  EXPECT_ERROR("[grid]\nnx = 3\nny = 1\n[boundary]\ntop = \"insulated\"\nbottom = \"insulated\"\n",
               "t.toml:3: grid.ny = 1, but neither the top nor the bottom edge is held: the points "
               "of an edge that is not held lie on it, so ny must be at least 2 (one row on each)");
  EXPECT_ERROR(GRID "[plate]\nwidth = 1\nheight = 0.6\n[boundary]\nleft = \"insulated\"\n",
               "t.toml:6: plate.height = 0.6 does not fit plate.width = 1 (t.toml:5) on a 4 x 3 "
               "grid: the spacing is uniform (h = width / nx = 0.25 m; the points of an edge that "
               "is not held lie on it, here the left edge), so height must be 1 m (or, to keep "
               "both sizes, grid.ny = 2 and grid.nx = 5)");
  EXPECT_ERROR(GRID "[plate]\nheight = 1\nwidth = 3\n[boundary]\ntop = \"insulated\"\n"
                    "bottom = \"insulated\"\nright = \"insulated\"\n",
               "t.toml:6: plate.width = 3 does not fit plate.height = 1 (t.toml:5) on a 4 x 3 "
               "grid: the spacing is uniform (h = height / (ny - 1) = 0.5 m; the points of an edge "
               "that is not held lie on it, here the top, bottom and right edges), so width must "
               "be 2 m (or grid.nx = 6)");
}

static void test_surface_exchange_keys(void) {
  struct cfg *c = CREATE(GRID);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(same_double(c->surface_h.value, 0.0) && c->surface_faces == 2 && !cfg_faces(c),
         "expected no exchange by default, 2 faces");
  cfg_destroy(&c);
  c = CREATE(GRID "[surface]\nh = \"10 + x\"\nambient = 20\nfaces = 1\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(strcmp(c->surface_h.text, "10 + x") == 0 && c->surface_ambient.value == 20.0 &&
             c->surface_faces == 1 && cfg_faces(c),
         "expected h \"10 + x\", ambient 20, one face");
  ROUND_TRIPS(c);
  cfg_destroy(&c);
  c = CREATE_SET(GRID, "surface.h=10", "surface.ambient=-5");
  EXPECT(c != NULL && c->surface_h.value == 10.0 && c->surface_ambient.value == -5.0,
         "expected the exchange from --set");
  cfg_destroy(&c);
  EXPECT_ERROR(GRID "[surface]\nh = 10\n",
               "t.toml:5: surface.h is given without surface.ambient: the faces exchange h (T - "
               "ambient) W/m^2 with what is around them, and its temperature has no default");
  EXPECT_ERROR(GRID "[surface]\nambient = 20\n",
               "t.toml:5: surface.ambient applies to an exchange through the faces, and surface.h "
               "is 0 (remove the key, or set surface.h)");
  EXPECT_ERROR(GRID "[surface]\nfaces = 1\n",
               "t.toml:5: surface.faces applies to an exchange through the faces, and surface.h "
               "is 0 (remove the key, or set surface.h)");
  REFUSES("surface.faces", "3", "an integer from 1 to 2");
  REFUSES("surface.faces", "0", "an integer from 1 to 2");
  REFUSES("surface.h", "-1", "a number >= 0"); /* a number is judged as a number */
  REFUSES("surface.h", "true", "a number >= 0 or an expression of x and y in a \"string\"");
  REFUSES("surface.h", "inf", "a number >= 0");
  EXPECT_ERROR(GRID "[surface]\nhh = 1\n", "t.toml:5: unknown key surface.hh; did you mean "
                                           "surface.h?");
}

static void test_conductivity_number_expression_or_dataset(void) {
  struct cfg *c = CREATE(GRID "[plate]\nconductivity = \"237 - 100 * x\"\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(isnan(c->conductivity) && strcmp(c->conductivity_k.text, "237 - 100 * x") == 0 &&
             cfg_faces(c),
         "expected k an expression (conductivity NaN), the faces operator");
  ROUND_TRIPS(c);
  cfg_destroy(&c);
  c = CREATE(GRID "[plate]\nconductivity_file = \"k.h5\"\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(isnan(c->conductivity) && strcmp(c->conductivity_file, "k.h5") == 0 &&
             strcmp(c->conductivity_dataset, "/conductivity") == 0 && cfg_faces(c),
         "expected k from k.h5:/conductivity");
  ROUND_TRIPS(c);
  char *text = printed(c);
  EXPECT(strstr(text, "\nconductivity =") == NULL &&
             strstr(text, "conductivity_file = \"k.h5\"\nconductivity_dataset = "
                          "\"/conductivity\"\n") != NULL,
         "expected the dataset printed instead of the number:\n%s", text);
  free(text);
  cfg_destroy(&c);
  c = CREATE(GRID "[plate]\nconductivity = 237\n");
  EXPECT(c != NULL && c->conductivity == 237.0 && !cfg_faces(c),
         "expected one number: no faces operator (today's plate)");
  cfg_destroy(&c);
  EXPECT_ERROR(GRID "[plate]\nconductivity = 2\nconductivity_file = \"k.h5\"\n",
               "t.toml:5: plate.conductivity does not apply with plate.conductivity_file, "
               "whose dataset gives every point's conductivity (remove one of the two)");
  EXPECT_ERROR(GRID "[plate]\nconductivity_dataset = \"/k\"\n",
               "t.toml:5: plate.conductivity_dataset applies to the file of "
               "plate.conductivity_file, which is not set (remove the key, or set "
               "plate.conductivity_file)");
  EXPECT_ERROR(GRID "[plate]\nconductivity = \"0 * 5\"\n",
               "t.toml:5: plate.conductivity = \"0 * 5\" is 0, which is not a number > 0");
  EXPECT_ERROR(GRID "[plate]\nconductivity = \"k\"\n",
               "t.toml:5: plate.conductivity = \"k\" does not parse: position 1: unknown name "
               "\"k\" (the variables are x and y, the constants pi, e, width and height)");
}

static void test_regions_as_materials_and_heaters(void) {
#define DISK "[[region]]\nshape = \"disk\"\ncx = 0.5\ncy = 0.5\nradius = 0.1\n" /* lines +1..5 */
  struct cfg *c = CREATE(PLATE DISK "temperature = 5\nconductivity = \"16 + x\"\n" DISK
                                    "power = -2.5\n" DISK "conductivity = 1e-3\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  EXPECT(c->nregions == 3, "expected 3 regions");
  if (c->nregions == 3) {
    const struct cfg_region *r = c->regions;
    EXPECT(r[0].held && r[0].has_conductivity && !r[0].has_power && r[0].temperature.value == 5 &&
               strcmp(r[0].conductivity.text, "16 + x") == 0,
           "expected region 1 held and a material");
    EXPECT(!r[1].held && !r[1].has_conductivity && r[1].has_power && r[1].power == -2.5,
           "expected region 2 a sink of 2.5 W");
    EXPECT(!r[2].held && r[2].has_conductivity && r[2].conductivity.value == 1e-3,
           "expected region 3 a material");
  }
  EXPECT(cfg_faces(c) && !cfg_general(c), "expected the faces operator");
  ROUND_TRIPS(c);
  cfg_destroy(&c);
  /* held only: today's region, today's general plate */
  c = CREATE(PLATE DISK "temperature = 5\n");
  EXPECT(c != NULL && c->regions[0].held && !cfg_faces(c) && cfg_general(c),
         "expected a held region on the general plate of today");
  cfg_destroy(&c);
  EXPECT_ERROR(PLATE DISK, "t.toml:4: region[1] is neither held, a material nor a heater: give it "
                           "a temperature, a conductivity or a power");
  EXPECT_ERROR(PLATE DISK "temperature = 5\npower = 50\n",
               "t.toml:10: region[1].power and region[1].temperature (t.toml:9) are both given: a "
               "held point stays at its temperature whatever heat it gets, so the power would "
               "change nothing (give the heater a region of its own)");
  EXPECT_ERROR(PLATE DISK "power = 50\ntemperature = 5\n",
               "t.toml:10: region[1].temperature and region[1].power (t.toml:9) are both given: a "
               "held point stays at its temperature whatever heat it gets, so the power would "
               "change nothing (give the heater a region of its own)");
  EXPECT_ERROR(PLATE DISK "conductivity = 0\n",
               "t.toml:9: region[1].conductivity must be a number > 0, got \"0\"");
  EXPECT_ERROR(PLATE DISK "conductivity = \"-3\"\n",
               "t.toml:9: region[1].conductivity = \"-3\" is -3, which is not a number > 0");
  EXPECT_ERROR(PLATE DISK "power = inf\n",
               "t.toml:9: region[1].power must be a finite number, got \"inf\"");
  EXPECT_ERROR(PLATE DISK "power = \"50\"\n",
               "t.toml:9: region[1].power must be a finite number, got \"50\"");
  EXPECT_ERROR(PLATE DISK "powr = 50\n",
               "t.toml:9: unknown key region[1].powr; did you mean region[1].power?");
#undef DISK
}

/* cfg_general is today's general plate only: a faces plate takes sources and held regions into
 * its own operator. */
static void test_general_and_faces_are_never_both(void) {
  const char *general[] = {GRID "[source]\nq = 5\n", GRID "[source]\nfrom_file = \"q.h5\"\n"};
  const char *faces[] = {"[boundary]\ntop = \"insulated\"\n", "[surface]\nh = 1\nambient = 0\n",
                         "[plate]\nconductivity = \"1 + x\"\n",
                         "[plate]\nconductivity_file = \"k.h5\"\n"};
  for (int g = 0; g < 2; g++) {
    struct cfg *c = CREATE(general[g]);
    EXPECT(c != NULL && cfg_general(c) && !cfg_faces(c), "expected %s general", general[g]);
    cfg_destroy(&c);
    for (int f = 0; f < 4; f++) {
      char text[256];
      snprintf(text, sizeof text, "%s%s", general[g], faces[f]);
      c = CREATE(text);
      EXPECT(c != NULL && !cfg_general(c) && cfg_faces(c), "expected faces only:\n%s", text);
      cfg_destroy(&c);
    }
  }
}

/* Nothing anchors the temperature: the steady state is not unique, refused where the keys
 * show it. */
static void test_plate_with_nothing_held_and_no_way_out_is_refused(void) {
  const char *want = "no edge or region is held and no heat can leave (no convective edge with h "
                     "> 0, surface.h 0), so the steady state is not unique (any constant may be "
                     "added to it): hold an edge or a region at a temperature, or give an edge or "
                     "the faces an h and an ambient";
  char message[512];
  snprintf(message, sizeof message, "t.toml:8: boundary.right.flux: %s", want);
  EXPECT_ERROR(PLATE
               "[boundary]\ntop = \"insulated\"\nbottom = \"insulated\"\nleft = \"insulated\"\n"
               "right.flux = 10\n",
               message);
  snprintf(message, sizeof message, "t.toml:9: boundary.left.ambient: %s", want);
  EXPECT_ERROR(PLATE
               "[boundary]\ntop = \"insulated\"\nbottom = \"insulated\"\nright = \"insulated\"\n"
               "left.h = 0\nleft.ambient = 3\n",
               message);
  const char *anchored[] = {
      "[surface]\nh = 1\nambient = 0\n",
      "[boundary.left]\nh = 0.5\nambient = 3\n",
      "[boundary.left]\nh = \"x\"\nambient = 3\n", /* may be 0 everywhere: the plate judges */
      "[[region]]\nshape = \"mask\"\nfile = \"m.h5\"\ntemperature = 1\n",
  };
  for (int a = 0; a < 4; a++) {
    char text[512];
    snprintf(text, sizeof text,
             PLATE "[boundary]\ntop = \"insulated\"\nbottom = \"insulated\"\nright = "
                   "\"insulated\"\nleft = \"insulated\"\n%s",
             anchored[a]);
    if (a == 1 || a == 2) /* the left edge's table instead of its keyword */
      snprintf(text, sizeof text,
               PLATE "[boundary]\ntop = \"insulated\"\nbottom = \"insulated\"\nright = "
                     "\"insulated\"\n%s",
               anchored[a]);
    struct cfg *c = CREATE(text);
    EXPECT(c != NULL, "expected accepted:\n%s", text);
    cfg_destroy(&c);
  }
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"defaults applied", test_defaults_applied},
      {"every key read from the file", test_every_key_read_from_file},
      {"origin reports file lines", test_origin_reports_file_lines},
      {"count keys checked on both sides of their bounds",
       test_count_keys_checked_on_both_sides_of_their_bounds},
      {"process_grid takes two entries from 0 to INT_MAX",
       test_process_grid_takes_two_entries_from_0_to_int_max},
      {"integers are accepted for floats exactly", test_integers_are_accepted_for_floats_exactly},
      {"inexact integer for a float is refused", test_inexact_integer_for_a_float_is_refused},
      {"floats are refused for integers", test_floats_are_refused_for_integers},
      {"temperatures finite and at most 1e300", test_temperatures_finite_and_at_most_1e300},
      {"tolerance must be finite and positive", test_tolerance_must_be_finite_and_positive},
      {"enum, string and bool keys take only their values",
       test_enum_string_and_bool_keys_take_only_their_values},
      {"grid whose bytes overflow int64 is refused",
       test_grid_whose_bytes_overflow_int64_is_refused},
      {"required keys are named with their type", test_required_keys_are_named_with_their_type},
      {"unknown section suggests the closest", test_unknown_section_suggests_the_closest},
      {"unknown key suggests the closest", test_unknown_key_suggests_the_closest},
      {"--set overrides with TOML values and bare strings",
       test_set_overrides_with_toml_values_and_bare_strings},
      {"--set strings quoted or bare", test_set_strings_quoted_or_bare},
      {"--set later wins over earlier and the file", test_set_later_wins_over_earlier_and_the_file},
      {"--set errors are reported like the file's", test_set_errors_are_reported_like_the_file},
      {"--set argument is cut in messages", test_set_argument_is_cut_in_messages},
      {"print round-trips every field bit for bit", test_print_round_trips_every_field_bit_for_bit},
      {"[time] reads and round-trips", test_time_table_reads_and_round_trips},
      {"print keeps floats floats and negative zero",
       test_print_keeps_floats_floats_and_negative_zero},
      {"print lists every key in schema order", test_print_lists_every_key_in_schema_order},
      {"from_file may be empty, output.path not", test_from_file_may_be_empty_output_path_not},
      {"reference has one row per key", test_reference_has_one_row_per_key},
      {"enum names are the config words", test_enum_names_are_the_config_words},
      {"destroy accepts NULL", test_destroy_accepts_null},
      {"docs reference matches the schema", test_docs_reference_matches_schema},
      {"reference block sees a difference", test_reference_block_sees_a_difference},
      {"temporal_block must divide the intervals", test_temporal_block_must_divide_the_intervals},
      {"TOML errors reach the caller", test_toml_errors_reach_the_caller},
      {"new TOML forms are judged by their keys", test_new_toml_forms_are_judged_by_their_keys},
      {"read_file returns the text NUL-terminated", test_read_file_returns_the_text_nul_terminated},
      {"read_file refuses a missing file", test_read_file_refuses_a_missing_file},
      {"read_file refuses a directory", test_read_file_refuses_a_directory},
      {"read_file refuses a NUL byte", test_read_file_refuses_a_nul_byte},
      {"read_file refuses more than the limit", test_read_file_refuses_more_than_the_limit},
      {"empty file reads, then needs grid.nx", test_empty_file_reads_then_needs_grid_nx},
      {"example plate config is valid", test_example_plate_config_is_valid},
      {"plate size follows from the spacing", test_plate_size_follows_from_the_spacing},
      {"plate sizes given together must agree", test_plate_sizes_given_together_must_agree},
      {"plate material must be positive", test_plate_material_must_be_positive},
      {"expressions are kept as text", test_expressions_are_kept_as_text},
      {"expression that does not parse names file, line, key, position",
       test_expression_that_does_not_parse_names_file_line_key_position},
      {"constant expressions are range-checked", test_constant_expressions_are_range_checked},
      {"expressions compile after the plate is resolved",
       test_expressions_compile_after_the_plate_is_resolved},
      {"--set takes expressions quoted or bare", test_set_takes_expressions_quoted_or_bare},
      {"regions of each shape are read in order", test_regions_of_each_shape_are_read_in_order},
      {"region keys must belong to the shape", test_region_keys_must_belong_to_the_shape},
      {"keys that do not apply are refused", test_keys_that_do_not_apply_are_refused},
      {"region required keys are named", test_region_required_keys_are_named},
      {"region outside the plate is refused", test_region_outside_the_plate_is_refused},
      {"region temperature expression is checked", test_region_temperature_expression_is_checked},
      {"regions are arrays of tables and at most 255",
       test_regions_are_arrays_of_tables_and_at_most_255},
      {"student plate of issue 30 is read whole", test_student_plate_of_issue_30_is_read_whole},
      {"held edges in every form keep their bits", test_held_edges_in_every_form_keep_their_bits},
      {"edge kinds in numbers and expressions", test_edge_kinds_in_numbers_and_expressions},
      {"--set takes every form of an edge", test_edge_set_takes_every_form},
      {"edge mistakes are refused", test_edge_mistakes_are_refused},
      {"spacing follows the edge rule", test_spacing_follows_the_edge_rule},
      {"surface exchange keys", test_surface_exchange_keys},
      {"conductivity: a number, an expression or a dataset",
       test_conductivity_number_expression_or_dataset},
      {"regions as materials and heaters", test_regions_as_materials_and_heaters},
      {"general and faces are never both", test_general_and_faces_are_never_both},
      {"plate with nothing held and no way out is refused",
       test_plate_with_nothing_held_and_no_way_out_is_refused},
  };
  return TESTS_ADD_SUITE("cfg", cases);
}
