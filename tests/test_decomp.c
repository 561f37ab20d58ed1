/* test_decomp.c - the ownership map's properties, checked against brute force over many sizes,
 * process counts, block sizes, process grids and node maps. No MPI.
 *
 * 1-D: n in {1, 2, 3, 5, 7, 10, 16, 31, 64, 100, 257}, p in {1, 2, 3, 4, 5, 7, 8, 13, 300},
 * block, cyclic and block-cyclic with b in {1, 2, 3, 5, n - 1, n, n + 3}.
 * 2-D: grids 37 x 53, 1 x 1, 5 x 3, 64 x 64, 2 x 9 on 1-6 ranks, process grids [0, 0],
 * [0, 1], [1, 0] and every explicit factor pair, block, cyclic and block-cyclic with b in
 * {1, 2, 3, 5, 17}; every tile, neighbour and plan figure is compared with a map of every point.
 * A failure names the case: "n=10 p=4 block-cyclic b=3", "64x64 on 4 ranks [2, 2] cyclic".
 */
#include "common/err.h"
#include "decomp/decomp.h"
#include "tests/cunit_main.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- assertions that say which case failed ------------------------------------------------------
 * CUnit copies the condition text into its failure report, so the text carries the case and the
 * values found. */

static void expect_eq_at(long long got, long long want, int line, const char *expr,
                         const char *what) {
  char text[512];
  bool ok = got == want;
  if (!ok)
    snprintf(text, sizeof text, "%s is %lld, expected %lld, for %s", expr, got, want, what);
  CU_assertImplementation(ok, (unsigned)line, ok ? expr : text, __FILE__, "", CU_FALSE);
}

#define EXPECT_FOR(cond, what)                                                                     \
  tests_expect_at((cond), __FILE__, __LINE__, "%s, for %s", #cond, (what))
#define EXPECT_EQ(got, want, what)                                                                 \
  expect_eq_at((long long)(got), (long long)(want), __LINE__, #got, (what))

static const char *kind_name(enum decomp_kind kind) {
  return kind == DECOMP_BLOCK ? "block" : kind == DECOMP_CYCLIC ? "cyclic" : "block-cyclic";
}

/* ---- 1-D cases ------------------------------------------------------------------------------- */

typedef void dist_check(const struct decomp_dist *d, enum decomp_kind kind, const char *what);

static void check_dist_case(int64_t n, int p, enum decomp_kind kind, int64_t b, dist_check *check) {
  char what[128];
  if (kind == DECOMP_BLOCK_CYCLIC)
    snprintf(what, sizeof what, "n=%" PRId64 " p=%d block-cyclic b=%" PRId64, n, p, b);
  else
    snprintf(what, sizeof what, "n=%" PRId64 " p=%d %s", n, p, kind_name(kind));
  struct decomp_dist d;
  int status = decomp_dist_init(&d, n, p, kind, b);
  EXPECT_EQ(status, ERR_OK, what);
  if (status == ERR_OK)
    check(&d, kind, what);
  err_clear();
}

/* Every (n, p) with block, cyclic and block-cyclic for each b in {1, 2, 3, 5, n - 1, n, n + 3}. */
static void for_each_dist(dist_check *check) {
  static const int64_t sizes[] = {1, 2, 3, 5, 7, 10, 16, 31, 64, 100, 257};
  static const int procs[] = {1, 2, 3, 4, 5, 7, 8, 13, 300};
  for (size_t in = 0; in < sizeof sizes / sizeof *sizes; in++)
    for (size_t ip = 0; ip < sizeof procs / sizeof *procs; ip++) {
      int64_t n = sizes[in];
      int p = procs[ip];
      check_dist_case(n, p, DECOMP_BLOCK, 0, check);
      check_dist_case(n, p, DECOMP_CYCLIC, 0, check);
      const int64_t blocks[] = {1, 2, 3, 5, n - 1, n, n + 3};
      for (size_t ib = 0; ib < sizeof blocks / sizeof *blocks; ib++)
        if (blocks[ib] >= 1)
          check_dist_case(n, p, DECOMP_BLOCK_CYCLIC, blocks[ib], check);
    }
}

/* The process whose runs hold gi, found by walking every run of every process. */
static void check_one_owner(const struct decomp_dist *d, enum decomp_kind kind, const char *what) {
  (void)kind;
  int *holders = calloc((size_t)d->n, sizeof *holders);
  int *holder = calloc((size_t)d->n, sizeof *holder);
  CU_ASSERT_FATAL(holders != NULL && holder != NULL);
  for (int proc = 0; proc < d->p; proc++)
    for (int64_t k = 0; k < decomp_dist_nruns(d, proc); k++) {
      struct decomp_run run = decomp_dist_run(d, proc, k);
      for (int64_t gi = run.start; gi < run.start + run.len && gi >= 0 && gi < d->n; gi++) {
        holders[gi]++;
        holder[gi] = proc;
      }
    }
  for (int64_t gi = 0; gi < d->n; gi++) {
    int owner = decomp_dist_owner(d, gi);
    EXPECT_FOR(owner >= 0 && owner < d->p, what);
    EXPECT_EQ(holders[gi], 1, what);
    EXPECT_EQ(owner, holder[gi], what);
  }
  free(holder);
  free(holders);
}

static void test_block_cyclic_every_index_has_one_owner(void) { for_each_dist(check_one_owner); }

static void check_bijection(const struct decomp_dist *d, enum decomp_kind kind, const char *what) {
  (void)kind;
  for (int64_t gi = 0; gi < d->n; gi++) {
    int owner = decomp_dist_owner(d, gi);
    int64_t li = decomp_dist_local(d, gi);
    EXPECT_FOR(li >= 0 && li < decomp_dist_count(d, owner), what);
    EXPECT_EQ(decomp_dist_global(d, owner, li), gi, what);
  }
  /* Local indices 0..count-1 on each process come back to themselves: together with the
   * round trip above, local <-> global is a bijection onto exactly 0..count-1. */
  for (int proc = 0; proc < d->p; proc++)
    for (int64_t li = 0; li < decomp_dist_count(d, proc); li++) {
      int64_t gi = decomp_dist_global(d, proc, li);
      EXPECT_FOR(gi >= 0 && gi < d->n, what);
      if (gi < 0 || gi >= d->n)
        continue;
      EXPECT_EQ(decomp_dist_owner(d, gi), proc, what);
      EXPECT_EQ(decomp_dist_local(d, gi), li, what);
    }
}

static void test_block_cyclic_local_global_is_a_bijection(void) { for_each_dist(check_bijection); }

static void check_counts(const struct decomp_dist *d, enum decomp_kind kind, const char *what) {
  (void)kind;
  int64_t *owned = calloc((size_t)d->p, sizeof *owned);
  CU_ASSERT_FATAL(owned != NULL);
  for (int64_t gi = 0; gi < d->n; gi++)
    owned[decomp_dist_owner(d, gi)]++;
  int64_t sum = 0, least = d->n, most = 0;
  for (int proc = 0; proc < d->p; proc++) {
    int64_t count = decomp_dist_count(d, proc);
    EXPECT_EQ(count, owned[proc], what);
    sum += count;
    least = count < least ? count : least;
    most = count > most ? count : most;
  }
  EXPECT_EQ(sum, d->n, what);
  EXPECT_FOR(most - least <= d->b,
             what); /* counts of any two processes differ by at most a block */
  free(owned);
}

static void test_block_cyclic_counts_sum_to_n_and_differ_by_at_most_a_block(void) {
  for_each_dist(check_counts);
}

static void check_runs(const struct decomp_dist *d, enum decomp_kind kind, const char *what) {
  (void)kind;
  for (int proc = 0; proc < d->p; proc++) {
    int64_t nruns = decomp_dist_nruns(d, proc), covered = 0, end = -1;
    for (int64_t k = 0; k < nruns; k++) {
      struct decomp_run run = decomp_dist_run(d, proc, k);
      EXPECT_FOR(run.len >= 1, what);
      EXPECT_FOR(run.start >= 0 && run.start + run.len <= d->n, what);
      /* Ordered and disjoint; over p > 1 processes never adjacent, so a run is a whole block
       * and a tile's neighbour is never on its own process. */
      EXPECT_FOR(k == 0 || run.start > end, what);
      for (int64_t gi = run.start; gi < run.start + run.len && gi >= 0 && gi < d->n; gi++)
        EXPECT_EQ(decomp_dist_owner(d, gi), proc, what);
      covered += run.len;
      end = run.start + run.len;
    }
    /* Every index in a run is the process's and the runs are disjoint, so equal totals mean
     * the runs cover exactly what it owns. */
    EXPECT_EQ(covered, decomp_dist_count(d, proc), what);
    EXPECT_EQ(nruns == 0, decomp_dist_count(d, proc) == 0, what);
  }
}

static void test_block_cyclic_runs_are_ordered_disjoint_and_cover_what_is_owned(void) {
  for_each_dist(check_runs);
}

static void check_cyclic_owner(const struct decomp_dist *d, enum decomp_kind kind,
                               const char *what) {
  if (kind != DECOMP_CYCLIC || d->p == 1)
    return;
  EXPECT_EQ(d->b, 1, what);
  for (int64_t gi = 0; gi < d->n; gi++)
    EXPECT_EQ(decomp_dist_owner(d, gi), gi % d->p, what);
}

static void test_cyclic_owner_is_index_mod_p(void) { for_each_dist(check_cyclic_owner); }

static void check_one_process(const struct decomp_dist *d, enum decomp_kind kind,
                              const char *what) {
  (void)kind;
  if (d->p != 1)
    return;
  EXPECT_EQ(d->b, d->n, what);
  EXPECT_EQ(decomp_dist_nruns(d, 0), 1, what);
  struct decomp_run run = decomp_dist_run(d, 0, 0);
  EXPECT_EQ(run.start, 0, what);
  EXPECT_EQ(run.len, d->n, what);
}

static void test_one_process_is_one_uncut_run(void) { for_each_dist(check_one_process); }

static void check_block(const struct decomp_dist *d, enum decomp_kind kind, const char *what) {
  if (kind != DECOMP_BLOCK || d->p == 1)
    return;
  EXPECT_EQ(d->b, (d->n + d->p - 1) / d->p, what);
  for (int proc = 0; proc < d->p; proc++)
    EXPECT_FOR(decomp_dist_nruns(d, proc) <= 1, what);
}

static void test_block_is_ceil_n_over_p_one_run_each(void) { for_each_dist(check_block); }

/* HPF/ScaLAPACK BLOCK: 9 over 4 is 3, 3, 3, 0; more processes than indices leaves the rest
 * empty, and a block larger than n is one run on process 0. */
static void test_processes_may_own_nothing(void) {
  struct decomp_dist d;
  CU_ASSERT_EQUAL_FATAL(decomp_dist_init(&d, 9, 4, DECOMP_BLOCK, 0), ERR_OK);
  const int64_t expected[] = {3, 3, 3, 0};
  for (int proc = 0; proc < 4; proc++)
    EXPECT_EQ(decomp_dist_count(&d, proc), expected[proc], "n=9 p=4 block");
  EXPECT_EQ(decomp_dist_nruns(&d, 3), 0, "n=9 p=4 block");

  CU_ASSERT_EQUAL_FATAL(decomp_dist_init(&d, 5, 300, DECOMP_CYCLIC, 0), ERR_OK);
  EXPECT_EQ(decomp_dist_count(&d, 4), 1, "n=5 p=300 cyclic");
  EXPECT_EQ(decomp_dist_count(&d, 5), 0, "n=5 p=300 cyclic");
  EXPECT_EQ(decomp_dist_nruns(&d, 299), 0, "n=5 p=300 cyclic");

  CU_ASSERT_EQUAL_FATAL(decomp_dist_init(&d, 10, 3, DECOMP_BLOCK_CYCLIC, 13), ERR_OK);
  EXPECT_EQ(decomp_dist_count(&d, 0), 10, "n=10 p=3 block-cyclic b=13");
  EXPECT_EQ(decomp_dist_nruns(&d, 0), 1, "n=10 p=3 block-cyclic b=13");
  EXPECT_EQ(decomp_dist_run(&d, 0, 0).len, 10, "n=10 p=3 block-cyclic b=13");
  EXPECT_EQ(decomp_dist_count(&d, 1), 0, "n=10 p=3 block-cyclic b=13");
}

/* n = 2^40 + 7 over 3 and 4096 processes: the formulas stay exact (UBSan would catch an
 * overflow) and agree with each other at the edges. */
static void test_distribution_is_exact_for_n_beyond_2_to_the_40(void) {
  const int64_t n = ((int64_t)1 << 40) + 7;
  const int procs[] = {3, 4096};
  const enum decomp_kind kinds[] = {DECOMP_BLOCK, DECOMP_CYCLIC, DECOMP_BLOCK_CYCLIC};
  for (size_t ip = 0; ip < 2; ip++)
    for (size_t ik = 0; ik < 3; ik++) {
      char what[96];
      snprintf(what, sizeof what, "n=2^40+7 p=%d %s b=1000", procs[ip], kind_name(kinds[ik]));
      struct decomp_dist d;
      CU_ASSERT_EQUAL_FATAL(decomp_dist_init(&d, n, procs[ip], kinds[ik], 1000), ERR_OK);
      int64_t sum = 0;
      for (int proc = 0; proc < d.p; proc++)
        sum += decomp_dist_count(&d, proc);
      EXPECT_EQ(sum, n, what);
      const int64_t probes[] = {0, 1, d.b - 1, d.b, n / 2, n - 2, n - 1};
      for (size_t k = 0; k < sizeof probes / sizeof *probes; k++) {
        int64_t gi = probes[k];
        int owner = decomp_dist_owner(&d, gi);
        EXPECT_EQ(decomp_dist_global(&d, owner, decomp_dist_local(&d, gi)), gi, what);
      }
      int last = decomp_dist_owner(&d, n - 1);
      struct decomp_run run = decomp_dist_run(&d, last, decomp_dist_nruns(&d, last) - 1);
      EXPECT_EQ(run.start + run.len, n, what);
      EXPECT_EQ(decomp_dist_local(&d, n - 1), decomp_dist_count(&d, last) - 1, what);
    }
}

static void test_dist_init_rejects_bad_sizes(void) {
  struct decomp_dist d;
  EXPECT_EQ(decomp_dist_init(&d, 0, 1, DECOMP_BLOCK, 0), ERR_CONFIG, "n=0");
  err_clear();
  EXPECT_EQ(decomp_dist_init(&d, 5, 0, DECOMP_CYCLIC, 0), ERR_CONFIG, "p=0");
  err_clear();
  EXPECT_EQ(decomp_dist_init(&d, 5, 2, DECOMP_BLOCK_CYCLIC, 0), ERR_CONFIG, "b=0");
  EXPECT_FOR(strstr(err_message(), "block_size") != NULL, err_message());
  err_clear();
  EXPECT_EQ(decomp_dist_init(&d, 5, 2, DECOMP_BLOCK, 0), ERR_OK, "block ignores block_size");
}

/* ---- process grid ---------------------------------------------------------------------------- */

static void expect_dims(int nranks, int d0, int d1, int want0, int want1) {
  char what[96];
  snprintf(what, sizeof what, "dims [%d, %d] for %d ranks", d0, d1, nranks);
  int dims[2] = {d0, d1};
  EXPECT_EQ(decomp_dims_fill(nranks, dims), ERR_OK, what);
  EXPECT_EQ(dims[0], want0, what);
  EXPECT_EQ(dims[1], want1, what);
  err_clear();
}

static void test_dims_fill_is_balanced_and_non_increasing(void) {
  expect_dims(12, 0, 0, 4, 3);
  expect_dims(7, 0, 0, 7, 1);
  expect_dims(16, 0, 0, 4, 4);
  expect_dims(1, 0, 0, 1, 1);
  expect_dims(6, 0, 0, 3, 2);
  expect_dims(4096, 0, 0, 64, 64);
  /* Against brute force: no factor pair is closer together. */
  for (int n = 1; n <= 1000; n++) {
    int dims[2] = {0, 0};
    char what[64];
    snprintf(what, sizeof what, "dims [0, 0] for %d ranks", n);
    EXPECT_EQ(decomp_dims_fill(n, dims), ERR_OK, what);
    EXPECT_EQ((int64_t)dims[0] * dims[1], n, what);
    EXPECT_FOR(dims[0] >= dims[1] && dims[1] >= 1, what);
    for (int f = dims[1] + 1; f <= dims[0] - 1; f++)
      EXPECT_FOR(n % f != 0 || n / f < f, what);
  }
}

static void test_dims_fill_completes_one_zero_and_keeps_explicit_grids(void) {
  expect_dims(12, 0, 1, 12, 1);
  expect_dims(12, 1, 0, 1, 12);
  expect_dims(12, 3, 0, 3, 4);
  expect_dims(12, 0, 6, 2, 6);
  expect_dims(6, 2, 3, 2, 3);
  expect_dims(1, 1, 1, 1, 1);
}

static void expect_dims_error(int nranks, int d0, int d1, const char *words) {
  char what[96];
  snprintf(what, sizeof what, "dims [%d, %d] for %d ranks", d0, d1, nranks);
  int dims[2] = {d0, d1};
  EXPECT_EQ(decomp_dims_fill(nranks, dims), ERR_CONFIG, what);
  EXPECT_FOR(strstr(err_message(), words) != NULL, err_message());
  err_clear();
}

static void test_dims_fill_rejects_grids_that_cannot_hold_the_ranks(void) {
  expect_dims_error(4, 3, 0,
                    "decomposition.process_grid [3, 0] cannot be completed for 4 ranks (3 does "
                    "not divide 4)");
  expect_dims_error(4, 0, 3, "(3 does not divide 4)");
  expect_dims_error(4, 2, 3,
                    "decomposition.process_grid [2, 3] has 6 processes, but the run has 4 ranks");
  expect_dims_error(4, -1, 0, "negative");
  expect_dims_error(4, 2, -2, "negative");
  expect_dims_error(0, 0, 0, "at least one rank");
}

/* ---- 2-D cases ------------------------------------------------------------------------------- */

typedef void layout_check(const struct decomp_layout *l, const char *what);

static void check_layout_case(int64_t nx, int64_t ny, int nranks, const int dims[2],
                              enum decomp_kind kind, int64_t b, layout_check *check) {
  char what[160];
  int n = snprintf(what, sizeof what, "%" PRId64 "x%" PRId64 " on %d ranks [%d, %d] %s", nx, ny,
                   nranks, dims[0], dims[1], kind_name(kind));
  if (kind == DECOMP_BLOCK_CYCLIC)
    snprintf(what + n, sizeof what - (size_t)n, " b=%" PRId64, b);
  struct decomp_layout l;
  int status = decomp_layout_init(&l, nx, ny, nranks, dims, kind, b);
  if (nranks > nx * ny) {
    EXPECT_EQ(status, ERR_CONFIG, what); /* more ranks than points: refused */
  } else {
    EXPECT_EQ(status, ERR_OK, what);
    if (status == ERR_OK)
      check(&l, what);
  }
  err_clear();
}

static void for_each_layout(layout_check *check) {
  static const int64_t grids[][2] = {{37, 53}, {1, 1}, {5, 3}, {64, 64}, {2, 9}};
  const enum decomp_kind kinds[] = {DECOMP_BLOCK, DECOMP_CYCLIC};
  const int64_t blocks[] = {1, 2, 3, 5, 17};
  for (size_t g = 0; g < sizeof grids / sizeof *grids; g++)
    for (int nranks = 1; nranks <= 6; nranks++) {
      int dims[3 + 6][2] = {{0, 0}, {0, 1}, {1, 0}};
      int ndims = 3;
      for (int a = 1; a <= nranks; a++)
        if (nranks % a == 0) {
          dims[ndims][0] = a;
          dims[ndims++][1] = nranks / a;
        }
      for (int k = 0; k < ndims; k++) {
        for (size_t ik = 0; ik < sizeof kinds / sizeof *kinds; ik++)
          check_layout_case(grids[g][0], grids[g][1], nranks, dims[k], kinds[ik], 0, check);
        for (size_t ib = 0; ib < sizeof blocks / sizeof *blocks; ib++)
          check_layout_case(grids[g][0], grids[g][1], nranks, dims[k], DECOMP_BLOCK_CYCLIC,
                            blocks[ib], check);
      }
    }
}

/* Every interior point's owner and tile, found by marking every tile of every rank. */
struct point_map {
  int64_t nx, ny;
  int *hits, *rank;
  int64_t *tile;
};

static void point_map_create(const struct decomp_layout *l, struct point_map *m) {
  size_t npoints = (size_t)(l->nx * l->ny);
  *m = (struct point_map){.nx = l->nx,
                          .ny = l->ny,
                          .hits = calloc(npoints, sizeof *m->hits),
                          .rank = calloc(npoints, sizeof *m->rank),
                          .tile = calloc(npoints, sizeof *m->tile)};
  CU_ASSERT_FATAL(m->hits != NULL && m->rank != NULL && m->tile != NULL);
  for (int r = 0; r < l->nranks; r++)
    for (int64_t t = 0; t < decomp_ntiles(l, r); t++) {
      struct decomp_tile tile;
      decomp_tile(l, r, t, &tile);
      for (int64_t gi = tile.row0; gi < tile.row0 + tile.nrows; gi++)
        for (int64_t gj = tile.col0; gj < tile.col0 + tile.ncols; gj++)
          if (gi >= 0 && gi < l->ny && gj >= 0 && gj < l->nx) {
            m->hits[gi * l->nx + gj]++;
            m->rank[gi * l->nx + gj] = r;
            m->tile[gi * l->nx + gj] = t;
          }
    }
}

static void point_map_destroy(struct point_map *m) {
  free(m->hits);
  free(m->rank);
  free(m->tile);
  m->hits = m->rank = NULL;
  m->tile = NULL;
}

static void check_cover(const struct decomp_layout *l, const char *what) {
  for (int r = 0; r < l->nranks; r++)
    for (int64_t t = 0; t < decomp_ntiles(l, r); t++) {
      struct decomp_tile tile;
      decomp_tile(l, r, t, &tile);
      EXPECT_FOR(tile.nrows >= 1 && tile.ncols >= 1, what);
      EXPECT_FOR(tile.row0 >= 0 && tile.row0 + tile.nrows <= l->ny, what);
      EXPECT_FOR(tile.col0 >= 0 && tile.col0 + tile.ncols <= l->nx, what);
    }
  struct point_map m;
  point_map_create(l, &m);
  for (int64_t p = 0; p < l->nx * l->ny; p++)
    EXPECT_EQ(m.hits[p], 1, what);
  point_map_destroy(&m);
}

static void test_tiles_cover_every_interior_point_exactly_once(void) {
  for_each_layout(check_cover);
}

static void check_owner(const struct decomp_layout *l, const char *what) {
  struct point_map m;
  point_map_create(l, &m);
  for (int64_t gi = 0; gi < l->ny; gi++)
    for (int64_t gj = 0; gj < l->nx; gj++) {
      int64_t t, li, lj;
      int owner = decomp_owner(l, gi, gj, &t, &li, &lj);
      EXPECT_EQ(owner, m.rank[gi * l->nx + gj], what);
      EXPECT_EQ(t, m.tile[gi * l->nx + gj], what);
      if (owner < 0 || owner >= l->nranks || t < 0 || t >= decomp_ntiles(l, owner))
        continue;
      struct decomp_tile tile;
      decomp_tile(l, owner, t, &tile);
      EXPECT_EQ(li, gi - tile.row0, what);
      EXPECT_EQ(lj, gj - tile.col0, what);
    }
  point_map_destroy(&m);
}

static void test_owner_agrees_with_tile_extents(void) { for_each_layout(check_owner); }

static const enum decomp_side opposite[DECOMP_NSIDES] = {[DECOMP_NORTH] = DECOMP_SOUTH,
                                                         [DECOMP_SOUTH] = DECOMP_NORTH,
                                                         [DECOMP_WEST] = DECOMP_EAST,
                                                         [DECOMP_EAST] = DECOMP_WEST};

/* Tile b lies across side s of tile a, edge to edge and with the same extent along it. */
static bool adjacent_across(const struct decomp_tile *a, const struct decomp_tile *b, int s) {
  bool same_cols = a->col0 == b->col0 && a->ncols == b->ncols;
  bool same_rows = a->row0 == b->row0 && a->nrows == b->nrows;
  switch (s) {
  case DECOMP_NORTH:
    return same_cols && b->row0 + b->nrows == a->row0;
  case DECOMP_SOUTH:
    return same_cols && a->row0 + a->nrows == b->row0;
  case DECOMP_WEST:
    return same_rows && b->col0 + b->ncols == a->col0;
  default:
    return same_rows && a->col0 + a->ncols == b->col0;
  }
}

static void check_neighbours(const struct decomp_layout *l, const char *what) {
  for (int r = 0; r < l->nranks; r++)
    for (int64_t t = 0; t < decomp_ntiles(l, r); t++) {
      struct decomp_tile tile;
      decomp_tile(l, r, t, &tile);
      for (int s = 0; s < DECOMP_NSIDES; s++) {
        int nbr = tile.nbr_rank[s];
        if (nbr == DECOMP_BOUNDARY) {
          EXPECT_EQ(tile.nbr_tile[s], -1, what);
          continue;
        }
        EXPECT_FOR(nbr >= 0 && nbr < l->nranks, what);
        if (nbr < 0 || nbr >= l->nranks)
          continue;
        EXPECT_FOR(tile.nbr_tile[s] >= 0 && tile.nbr_tile[s] < decomp_ntiles(l, nbr), what);
        if (tile.nbr_tile[s] < 0 || tile.nbr_tile[s] >= decomp_ntiles(l, nbr))
          continue;
        struct decomp_tile across;
        decomp_tile(l, nbr, tile.nbr_tile[s], &across);
        EXPECT_FOR(adjacent_across(&tile, &across, s), what);
        EXPECT_EQ(across.nbr_rank[opposite[s]], r, what);
        EXPECT_EQ(across.nbr_tile[opposite[s]], t, what);
      }
    }
}

static void test_neighbours_are_symmetric_and_line_up(void) { for_each_layout(check_neighbours); }

static void check_boundary(const struct decomp_layout *l, const char *what) {
  for (int r = 0; r < l->nranks; r++)
    for (int64_t t = 0; t < decomp_ntiles(l, r); t++) {
      struct decomp_tile tile;
      decomp_tile(l, r, t, &tile);
      EXPECT_EQ(tile.nbr_rank[DECOMP_NORTH] == DECOMP_BOUNDARY, tile.row0 == 0, what);
      EXPECT_EQ(tile.nbr_rank[DECOMP_SOUTH] == DECOMP_BOUNDARY, tile.row0 + tile.nrows == l->ny,
                what);
      EXPECT_EQ(tile.nbr_rank[DECOMP_WEST] == DECOMP_BOUNDARY, tile.col0 == 0, what);
      EXPECT_EQ(tile.nbr_rank[DECOMP_EAST] == DECOMP_BOUNDARY, tile.col0 + tile.ncols == l->nx,
                what);
    }
}

static void test_boundary_sides_are_exactly_those_on_the_grid_edge(void) {
  for_each_layout(check_boundary);
}

/* ---- plan figures against brute force -------------------------------------------------------- */

enum { MAX_RANKS = 8 };

/* The plan of every rank counted point by point: each (point, direction) whose neighbouring
 * interior point lies in another tile is one halo point, received by the point's rank along
 * the path between the two ranks. */
static void brute_plans(const struct decomp_layout *l, const struct point_map *m,
                        const int *node_of_rank, bool force_p2p,
                        struct decomp_rank_plan plan[MAX_RANKS]) {
  bool shm_pair[MAX_RANKS][MAX_RANKS] = {{false}}, p2p_pair[MAX_RANKS][MAX_RANKS] = {{false}};
  memset(plan, 0, MAX_RANKS * sizeof *plan);
  static const int di[DECOMP_NSIDES] = {-1, 1, 0, 0}, dj[DECOMP_NSIDES] = {0, 0, -1, 1};
  for (int64_t gi = 0; gi < l->ny; gi++)
    for (int64_t gj = 0; gj < l->nx; gj++) {
      int64_t here = gi * l->nx + gj;
      int r = m->rank[here];
      plan[r].points++;
      for (int s = 0; s < DECOMP_NSIDES; s++) {
        int64_t ni = gi + di[s], nj = gj + dj[s];
        if (ni < 0 || ni >= l->ny || nj < 0 || nj >= l->nx)
          continue;
        int64_t there = ni * l->nx + nj;
        int q = m->rank[there];
        if (q == r && m->tile[there] == m->tile[here])
          continue;
        if (q == r) {
          plan[r].halo_points_local++;
        } else if (!force_p2p && (node_of_rank == NULL || node_of_rank[q] == node_of_rank[r])) {
          plan[r].halo_points_shm++;
          shm_pair[r][q] = true;
        } else {
          plan[r].halo_points_p2p++;
          p2p_pair[r][q] = true;
        }
      }
    }
  for (int r = 0; r < l->nranks; r++)
    for (int q = 0; q < l->nranks; q++) {
      plan[r].shm_neighbours += shm_pair[r][q];
      plan[r].messages += p2p_pair[r][q];
    }
}

static void expect_plan(const struct decomp_rank_plan *got, const struct decomp_rank_plan *want,
                        const char *what) {
  EXPECT_EQ(got->points, want->points, what);
  EXPECT_EQ(got->halo_points_local, want->halo_points_local, what);
  EXPECT_EQ(got->halo_points_shm, want->halo_points_shm, what);
  EXPECT_EQ(got->halo_points_p2p, want->halo_points_p2p, what);
  EXPECT_EQ(got->shm_neighbours, want->shm_neighbours, what);
  EXPECT_EQ(got->messages, want->messages, what);
}

static void check_plan_one_node(const struct decomp_layout *l, const char *what) {
  struct point_map m;
  point_map_create(l, &m);
  struct decomp_rank_plan want[MAX_RANKS];
  brute_plans(l, &m, NULL, false, want);
  int64_t halo = 0, brute_halo = 0;
  for (int r = 0; r < l->nranks; r++) {
    struct decomp_rank_plan got;
    decomp_plan_rank(l, r, NULL, false, &got);
    expect_plan(&got, &want[r], what);
    EXPECT_EQ(got.halo_points_p2p, 0, what);
    halo += got.halo_points_local + got.halo_points_shm + got.halo_points_p2p;
    brute_halo += want[r].halo_points_local + want[r].halo_points_shm;
  }
  EXPECT_EQ(halo, brute_halo, what);
  point_map_destroy(&m);
}

static void test_plan_halo_matches_a_count_over_every_point(void) {
  for_each_layout(check_plan_one_node);
}

/* Nodes of 1, 2 and 3 consecutive ranks, and ranks dealt alternately over two nodes. */
static void check_plan_nodes(const struct decomp_layout *l, const char *what) {
  struct point_map m;
  point_map_create(l, &m);
  for (int map = 0; map < 4; map++) {
    int node_of_rank[MAX_RANKS];
    for (int r = 0; r < l->nranks; r++)
      node_of_rank[r] = map < 3 ? r / (map + 1) : r % 2;
    char what_nodes[224];
    snprintf(what_nodes, sizeof what_nodes, "%s, node map %d", what, map);
    struct decomp_rank_plan want[MAX_RANKS];
    brute_plans(l, &m, node_of_rank, false, want);
    for (int r = 0; r < l->nranks; r++) {
      struct decomp_rank_plan got;
      decomp_plan_rank(l, r, node_of_rank, false, &got);
      expect_plan(&got, &want[r], what_nodes);
    }
  }
  point_map_destroy(&m);
}

static void test_plan_shm_and_p2p_split_matches_a_count_over_every_point(void) {
  for_each_layout(check_plan_nodes);
}

static void check_plan_force_p2p(const struct decomp_layout *l, const char *what) {
  struct point_map m;
  point_map_create(l, &m);
  struct decomp_rank_plan one_node[MAX_RANKS];
  brute_plans(l, &m, NULL, false, one_node);
  for (int r = 0; r < l->nranks; r++) {
    struct decomp_rank_plan got;
    decomp_plan_rank(l, r, NULL, true, &got);
    EXPECT_EQ(got.halo_points_shm, 0, what);
    EXPECT_EQ(got.shm_neighbours, 0, what);
    EXPECT_EQ(got.halo_points_p2p, one_node[r].halo_points_shm, what);
    EXPECT_EQ(got.messages, one_node[r].shm_neighbours, what);
    EXPECT_EQ(got.halo_points_local, one_node[r].halo_points_local, what);
  }
  point_map_destroy(&m);
}

static void test_force_p2p_sends_all_off_rank_halo_as_messages(void) {
  for_each_layout(check_plan_force_p2p);
}

/* The plan is what the halo code will find walking the tiles side by side (runtime/halo.c
 * checks its traffic against the plan at the end of every run). */
static void check_plan_tiles(const struct decomp_layout *l, const char *what) {
  int node_of_rank[MAX_RANKS];
  for (int r = 0; r < l->nranks; r++)
    node_of_rank[r] = r / 2;
  for (int r = 0; r < l->nranks; r++) {
    struct decomp_rank_plan want = {.tiles = decomp_ntiles(l, r)};
    bool shm[MAX_RANKS] = {false}, p2p[MAX_RANKS] = {false};
    for (int64_t t = 0; t < want.tiles; t++) {
      struct decomp_tile tile;
      decomp_tile(l, r, t, &tile);
      want.points += tile.nrows * tile.ncols;
      want.bytes += (tile.nrows + 2) * (tile.ncols + 2) * 8 * 2;
      for (int s = 0; s < DECOMP_NSIDES; s++) {
        int nbr = tile.nbr_rank[s];
        int64_t len = s == DECOMP_NORTH || s == DECOMP_SOUTH ? tile.ncols : tile.nrows;
        if (nbr == DECOMP_BOUNDARY || nbr < 0 || nbr >= l->nranks)
          continue;
        if (nbr == r) {
          want.halo_points_local += len;
        } else if (node_of_rank[nbr] == node_of_rank[r]) {
          want.halo_points_shm += len;
          shm[nbr] = true;
        } else {
          want.halo_points_p2p += len;
          p2p[nbr] = true;
        }
      }
    }
    for (int q = 0; q < l->nranks; q++) {
      want.shm_neighbours += shm[q];
      want.messages += p2p[q];
    }
    struct decomp_rank_plan got;
    decomp_plan_rank(l, r, node_of_rank, false, &got);
    EXPECT_EQ(got.tiles, want.tiles, what);
    EXPECT_EQ(got.bytes, want.bytes, what);
    expect_plan(&got, &want, what);
  }
}

static void test_plan_matches_the_tiles_side_by_side(void) { for_each_layout(check_plan_tiles); }

static void test_ranks_may_own_nothing_in_a_layout(void) {
  struct decomp_layout l;
  const int dims[2] = {4, 1};
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, 9, 9, 4, dims, DECOMP_BLOCK, 0), ERR_OK);
  EXPECT_EQ(decomp_ntiles(&l, 3), 0, "9x9 on [4, 1] block, rank 3");
  struct decomp_rank_plan p;
  decomp_plan_rank(&l, 3, NULL, false, &p);
  EXPECT_FOR(p.tiles == 0 && p.points == 0 && p.bytes == 0 && p.halo_points_shm == 0 &&
                 p.shm_neighbours == 0,
             "9x9 on [4, 1] block, rank 3");
  /* Rank 2 owns the last rows: nothing to its south. */
  decomp_plan_rank(&l, 2, NULL, false, &p);
  EXPECT_EQ(p.halo_points_shm, 9, "9x9 on [4, 1] block, rank 2");
  EXPECT_EQ(p.shm_neighbours, 1, "9x9 on [4, 1] block, rank 2");
}

static void expect_layout_error(int64_t nx, int64_t ny, int nranks, int d0, int d1,
                                enum decomp_kind kind, int64_t b, const char *words) {
  char what[160];
  snprintf(what, sizeof what, "%" PRId64 "x%" PRId64 " on %d ranks [%d, %d] %s b=%" PRId64, nx, ny,
           nranks, d0, d1, kind_name(kind), b);
  struct decomp_layout l;
  const int dims[2] = {d0, d1};
  EXPECT_EQ(decomp_layout_init(&l, nx, ny, nranks, dims, kind, b), ERR_CONFIG, what);
  EXPECT_FOR(strstr(err_message(), words) != NULL, err_message());
  err_clear();
}

static void test_layout_rejects_bad_input(void) {
  expect_layout_error(10, 10, 4, 3, 0, DECOMP_BLOCK, 0, "(3 does not divide 4)");
  expect_layout_error(10, 10, 4, 2, 3, DECOMP_BLOCK, 0, "has 6 processes, but the run has 4");
  expect_layout_error(10, 10, 4, -2, -2, DECOMP_BLOCK, 0, "negative");
  expect_layout_error(2, 3, 7, 0, 0, DECOMP_BLOCK, 0, "7 ranks for only 6 interior points");
  expect_layout_error(1, 1, 2, 0, 1, DECOMP_CYCLIC, 0, "2 ranks for only 1 interior points");
  expect_layout_error(10, 10, 4, 0, 0, DECOMP_BLOCK_CYCLIC, 0, "decomposition.block_size");
  expect_layout_error(10, 10, 4, 0, 0, DECOMP_BLOCK_CYCLIC, -3, "got -3");
  expect_layout_error(0, 10, 1, 0, 0, DECOMP_BLOCK, 0, "grid.nx = 0");
  expect_layout_error(10, -1, 1, 0, 0, DECOMP_BLOCK, 0, "grid.ny = -1");
  expect_layout_error(10, 10, 0, 0, 0, DECOMP_BLOCK, 0, "at least one rank");
  /* nx * ny would overflow int64_t: still a valid layout. */
  struct decomp_layout l;
  const int dims[2] = {0, 0};
  EXPECT_EQ(decomp_layout_init(&l, INT64_C(1) << 40, INT64_C(1) << 40, 4, dims, DECOMP_BLOCK, 0),
            ERR_OK, "2^40 x 2^40 on 4 ranks");
  err_clear();
}

/* ---- scale ----------------------------------------------------------------------------------- */

/* 2^20 x 2^20 = 2^40 points on 4096 ranks: points add up and the halo is the cuts' length. */
static void test_plan_is_exact_for_2_to_the_40_points(void) {
  const int64_t n = INT64_C(1) << 20;
  const int dims[2] = {0, 0};
  const enum decomp_kind kinds[] = {DECOMP_BLOCK, DECOMP_CYCLIC, DECOMP_BLOCK_CYCLIC};
  for (size_t k = 0; k < 3; k++) {
    struct decomp_layout l;
    CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, n, n, 4096, dims, kinds[k], 1000), ERR_OK);
    int64_t points = 0, halo = 0;
    for (int r = 0; r < l.nranks; r++) {
      struct decomp_rank_plan p;
      decomp_plan_rank(&l, r, NULL, false, &p);
      points += p.points;
      halo += p.halo_points_shm + p.halo_points_local + p.halo_points_p2p;
    }
    int64_t row_cuts = (n + l.rows.b - 1) / l.rows.b - 1,
            col_cuts = (n + l.cols.b - 1) / l.cols.b - 1;
    EXPECT_EQ(points, n * n, kind_name(kinds[k]));
    EXPECT_EQ(halo, 2 * (row_cuts * n + col_cuts * n), kind_name(kinds[k]));
    int64_t t, li, lj;
    int owner = decomp_owner(&l, n - 1, n - 1, &t, &li, &lj);
    struct decomp_tile tile;
    decomp_tile(&l, owner, t, &tile);
    EXPECT_EQ(tile.row0 + li, n - 1, kind_name(kinds[k]));
    EXPECT_EQ(tile.col0 + lj, n - 1, kind_name(kinds[k]));
    EXPECT_EQ(tile.nbr_rank[DECOMP_SOUTH], DECOMP_BOUNDARY, kind_name(kinds[k]));
    EXPECT_EQ(tile.nbr_rank[DECOMP_EAST], DECOMP_BOUNDARY, kind_name(kinds[k]));
  }
}

/* --dry-run plans every rank of a large run on one process. */
static void test_plan_of_4096_ranks_on_8192_squared_takes_well_under_a_second(void) {
  struct decomp_layout l;
  const int dims[2] = {0, 0};
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, 8192, 8192, 4096, dims, DECOMP_BLOCK, 0), ERR_OK);
  clock_t start = clock();
  int64_t points = 0;
  for (int repeat = 0; repeat < 10; repeat++)
    for (int r = 0; r < l.nranks; r++) {
      struct decomp_rank_plan p;
      decomp_plan_rank(&l, r, NULL, false, &p);
      points += p.points;
    }
  double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
  CU_ASSERT_EQUAL(points, 10 * INT64_C(8192) * 8192);
  EXPECT_FOR(seconds < 1.0, "10 plans of 4096 ranks");
}

/* ---- the printed plan ------------------------------------------------------------------------ */

static char *print_plan(const struct decomp_layout *l, const int *node_of_rank) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  decomp_plan_print(l, node_of_rank, false, out);
  CU_ASSERT_EQUAL(fclose(out), 0);
  return text;
}

static int64_t total_halo(const struct decomp_layout *l) {
  int64_t halo = 0;
  for (int r = 0; r < l->nranks; r++) {
    struct decomp_rank_plan p;
    decomp_plan_rank(l, r, NULL, false, &p);
    halo += p.halo_points_local + p.halo_points_shm + p.halo_points_p2p;
  }
  return halo;
}

/* The table: a header, one row per rank, "total" and "max", all of one width. */
static void check_table(const char *text, int nranks, const char *what) {
  const char *header = strstr(text, "\nrank");
  EXPECT_FOR(header != NULL, what);
  if (header == NULL)
    return;
  const char *line = header + 1;
  size_t width = strcspn(line, "\n");
  int rows = 0;
  while (*line != '\0' && strncmp(line, "load imbalance", 14) != 0) {
    EXPECT_EQ(strcspn(line, "\n"), width, what);
    rows++;
    line += strcspn(line, "\n") + 1;
  }
  EXPECT_EQ(rows, 1 + nranks + 2, what);
  EXPECT_FOR(strstr(text, "\ntotal ") != NULL && strstr(text, "\nmax ") != NULL, what);
  EXPECT_FOR(strstr(text, "load imbalance 1.000") != NULL, what);
}

static void test_plan_print_shows_cyclic_costs_more_halo_than_block(void) {
  const int dims[2] = {0, 1};
  struct decomp_layout block, cyclic;
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&block, 64, 64, 4, dims, DECOMP_BLOCK, 0), ERR_OK);
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&cyclic, 64, 64, 4, dims, DECOMP_CYCLIC, 0), ERR_OK);
  /* Three cuts of 64 points, two sides each; against 63. */
  EXPECT_EQ(total_halo(&block), 3 * 64 * 2, "64x64 on [4, 1] block");
  EXPECT_EQ(total_halo(&cyclic), 63 * 64 * 2, "64x64 on [4, 1] cyclic");
  const int nodes[4] = {0, 0, 2, 2};
  char *text = print_plan(&block, nodes);
  check_table(text, 4, "64x64 on [4, 1] block");
  EXPECT_FOR(strstr(text, "partitioner block") != NULL, text);
  free(text);
  text = print_plan(&cyclic, NULL);
  check_table(text, 4, "64x64 on [4, 1] cyclic");
  EXPECT_FOR(strstr(text, "8064") != NULL, text); /* the total halo */
  free(text);
}

/* Each case is named after its test function, without "test_". */
#define CASE(name)                                                                                 \
  { #name, test_##name }

int tests_register(void) {
  static const struct tests_case cases[] = {
      CASE(block_cyclic_every_index_has_one_owner),
      CASE(block_cyclic_local_global_is_a_bijection),
      CASE(block_cyclic_counts_sum_to_n_and_differ_by_at_most_a_block),
      CASE(block_cyclic_runs_are_ordered_disjoint_and_cover_what_is_owned),
      CASE(cyclic_owner_is_index_mod_p),
      CASE(one_process_is_one_uncut_run),
      CASE(block_is_ceil_n_over_p_one_run_each),
      CASE(processes_may_own_nothing),
      CASE(distribution_is_exact_for_n_beyond_2_to_the_40),
      CASE(dist_init_rejects_bad_sizes),
      CASE(dims_fill_is_balanced_and_non_increasing),
      CASE(dims_fill_completes_one_zero_and_keeps_explicit_grids),
      CASE(dims_fill_rejects_grids_that_cannot_hold_the_ranks),
      CASE(tiles_cover_every_interior_point_exactly_once),
      CASE(owner_agrees_with_tile_extents),
      CASE(neighbours_are_symmetric_and_line_up),
      CASE(boundary_sides_are_exactly_those_on_the_grid_edge),
      CASE(plan_halo_matches_a_count_over_every_point),
      CASE(plan_shm_and_p2p_split_matches_a_count_over_every_point),
      CASE(force_p2p_sends_all_off_rank_halo_as_messages),
      CASE(plan_matches_the_tiles_side_by_side),
      CASE(ranks_may_own_nothing_in_a_layout),
      CASE(layout_rejects_bad_input),
      CASE(plan_is_exact_for_2_to_the_40_points),
      CASE(plan_of_4096_ranks_on_8192_squared_takes_well_under_a_second),
      CASE(plan_print_shows_cyclic_costs_more_halo_than_block),
  };
  return TESTS_ADD_SUITE("decomp", cases);
}
