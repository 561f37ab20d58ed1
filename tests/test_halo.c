/* test_halo.c - after an exchange, every ring point of every tile holds its owner's exact value
 * (and the boundary, or NaN where nothing may write): for each partitioner, process grid, block
 * size, ring depth, halo mode and ranks_per_node, and
 * over many successive exchanges of alternating buffers, as the solver makes them. Run under
 * mpiexec with 1 to 4 ranks; oversubscribed ranks interleave unpredictably, so a missing
 * synchronisation shows up as a stale or future value. */
#include "common/err.h"
#include "decomp/decomp.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "tests/cunit_main.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>

enum { EXCHANGES = 24 };

/* Exact in a double for the sizes used: distinct per point and per exchange. */
static double encode(int64_t gi, int64_t gj, int k) {
  return ((double)k * 1000.0 + (double)gi) * 1000.0 + (double)gj;
}

/* The ring's values, distinct per side and per point (negative: never an encode() value), so
 * that a point taken from the wrong side or the wrong place along it is caught. Long enough for
 * every size used (at most 53 + 2 points a side). */
enum { RING_POINTS = 64 };
static double ring_values[DECOMP_NSIDES][RING_POINTS];
static struct field_boundary boundary;

static void make_boundary(void) {
  for (int side = 0; side < DECOMP_NSIDES; side++) {
    for (int c = 0; c < RING_POINTS; c++)
      ring_values[side][c] = -(double)(side + 1) - (double)c / 128.0;
    boundary.side[side] = ring_values[side];
  }
}

static void write_interior(struct field *f, int buf, int k) {
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    double *origin = field_interior(f, buf, t);
    int64_t stride = field_stride(f, t);
    for (int64_t li = 0; li < tile->nrows; li++)
      for (int64_t lj = 0; lj < tile->ncols; lj++)
        origin[li * stride + lj] = encode(tile->row0 + li, tile->col0 + lj, k);
  }
}

/* Whether ring point (gi, gj) of `tile` is one an exchange fills: an interior point of the
 * grid outside the tile, but for a one-deep ring not a corner (one sweep never reads those). */
static bool filled(const struct decomp_layout *l, const struct decomp_tile *tile, int64_t depth,
                   int64_t gi, int64_t gj) {
  bool rows_in = gi >= tile->row0 && gi < tile->row0 + tile->nrows;
  bool cols_in = gj >= tile->col0 && gj < tile->col0 + tile->ncols;
  bool interior = gi >= 0 && gi < l->ny && gj >= 0 && gj < l->nx;
  return interior && !(rows_in && cols_in) && (depth > 1 || rows_in || cols_in);
}

/* What ring point (gi, gj) of a tile must hold after exchange k: the owner's value, the fixed
 * boundary on the grid's edge (not its corners), NaN anywhere else (never written). */
static double expected(const struct decomp_layout *l, const struct decomp_tile *tile, int64_t depth,
                       int64_t gi, int64_t gj, int k) {
  if (filled(l, tile, depth, gi, gj))
    return encode(gi, gj, k);
  bool rows_in = gi >= 0 && gi < l->ny, cols_in = gj >= 0 && gj < l->nx;
  if (cols_in && (gi == -1 || gi == l->ny))
    return boundary.side[gi == -1 ? DECOMP_NORTH : DECOMP_SOUTH][gj + 1];
  if (rows_in && (gj == -1 || gj == l->nx))
    return boundary.side[gj == -1 ? DECOMP_WEST : DECOMP_EAST][gi + 1];
  return NAN;
}

/* Count ring points that differ from what they must hold (NaN where NaN is due); report the
 * first. */
static int64_t check_halos(const struct field *f, int buf, int k, const char *what) {
  int64_t wrong = 0, d = f->depth;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    const double *s = field_tile(f, buf, t);
    int64_t stride = field_stride(f, t);
    for (int64_t i = 0; i < tile->nrows + 2 * d; i++)
      for (int64_t j = 0; j < stride; j++) {
        int64_t gi = tile->row0 + i - d, gj = tile->col0 + j - d;
        if (gi >= tile->row0 && gi < tile->row0 + tile->nrows && gj >= tile->col0 &&
            gj < tile->col0 + tile->ncols)
          continue; /* the tile's own point */
        double want = expected(f->layout, tile, d, gi, gj, k), got = s[i * stride + j];
        bool same = isnan(want) ? isnan(got) : got == want;
        if (!same && wrong++ == 0)
          fprintf(stderr,
                  "\n  rank %d %s exchange %d: ring point (%lld,%lld) of tile at (%lld,%lld): "
                  "want %.17g, got %.17g",
                  f->rank, what, k, (long long)gi, (long long)gj, (long long)tile->row0,
                  (long long)tile->col0, want, got);
      }
  }
  return wrong;
}

/* Whether some rank's ring reaches a rank on another node (so "shm" must be refused): every
 * filled ring point of every tile, by brute force. */
static bool has_off_node_neighbour(const struct decomp_layout *l, const struct team *team,
                                   int64_t depth) {
  for (int r = 0; r < l->nranks; r++)
    for (int64_t t = 0; t < decomp_ntiles(l, r); t++) {
      struct decomp_tile tile;
      decomp_tile(l, r, t, &tile);
      for (int64_t gi = tile.row0 - depth; gi < tile.row0 + tile.nrows + depth; gi++)
        for (int64_t gj = tile.col0 - depth; gj < tile.col0 + tile.ncols + depth; gj++) {
          int64_t index, li, lj;
          if (filled(l, &tile, depth, gi, gj) &&
              team->node_of_rank[decomp_owner(l, gi, gj, &index, &li, &lj)] !=
                  team->node_of_rank[r])
            return true;
        }
    }
  return false;
}

static void run_case(struct team *team, int64_t nx, int64_t ny, const int grid[2],
                     enum decomp_kind kind, int64_t block, enum halo_mode mode, int64_t depth) {
  char what[160];
  snprintf(what, sizeof what, "%lldx%lld grid [%d,%d] kind %d block %lld mode %d depth %lld",
           (long long)nx, (long long)ny, grid[0], grid[1], kind, (long long)block, mode,
           (long long)depth);
  int dims[2] = {grid[0], grid[1]};
  struct decomp_layout l;
  if (decomp_dims_fill(team->size, dims) != ERR_OK ||
      decomp_layout_init(&l, nx, ny, team->size, dims, kind, block) != ERR_OK) {
    err_clear();
    return; /* not a layout for this rank count */
  }
  int status = halo_check_mode(&l, team, mode, depth, "test");
  bool refuse = mode == HALO_SHM && has_off_node_neighbour(&l, team, depth);
  CU_ASSERT_EQUAL(status, refuse ? ERR_CONFIG : ERR_OK);
  err_clear();
  if (status != ERR_OK)
    return;

  struct field *f = NULL;
  struct halo *h = NULL;
  CU_ASSERT_EQUAL_FATAL(field_create(&l, team, &boundary, 0.0, depth, &f), ERR_OK);
  CU_ASSERT_EQUAL_FATAL(halo_create(f, team, mode, &h), ERR_OK);

  struct halo_counts c = halo_counts(h);
  if (depth == 1) { /* the plan counts one-deep rings */
    struct decomp_rank_plan plan;
    decomp_plan_rank(&l, team->rank, team->node_of_rank, mode == HALO_P2P, &plan);
    CU_ASSERT_EQUAL(c.local_points, plan.halo_points_local);
    CU_ASSERT_EQUAL(c.shm_points, plan.halo_points_shm);
    CU_ASSERT_EQUAL(c.p2p_points, plan.halo_points_p2p);
    CU_ASSERT_EQUAL(c.messages, plan.messages);
    CU_ASSERT_EQUAL(c.shm_neighbours, plan.shm_neighbours);
  }
  /* every filled ring point comes by exactly one path */
  int64_t ring_points = 0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    for (int64_t gi = tile->row0 - depth; gi < tile->row0 + tile->nrows + depth; gi++)
      for (int64_t gj = tile->col0 - depth; gj < tile->col0 + tile->ncols + depth; gj++)
        ring_points += filled(&l, tile, depth, gi, gj);
  }
  CU_ASSERT_EQUAL(c.local_points + c.shm_points + c.p2p_points, ring_points);
  if (mode == HALO_P2P)
    CU_ASSERT_EQUAL(c.shm_points, 0);

  int64_t wrong = 0;
  for (int k = 0; k < EXCHANGES; k++) {
    int buf = k % 2;
    write_interior(f, buf, k);
    CU_ASSERT_EQUAL_FATAL(halo_exchange(h, buf), ERR_OK);
    wrong += check_halos(f, buf, k, what);
  }
  CU_ASSERT_EQUAL(wrong, 0);
  halo_destroy(&h);
  field_destroy(&f);
}

static void run_all(int ranks_per_node, enum halo_mode mode) {
  /* one-deep rings for the plain sweep, deeper ones for temporal blocks: 3 is deeper than
   * block-cyclic's blocks of 2, so a ring there crosses several tiles */
  static const int64_t depths[] = {1, 2, 3};
  make_boundary();
  struct team *team = NULL;
  CU_ASSERT_EQUAL_FATAL(team_create(MPI_COMM_WORLD, &team), ERR_OK);
  CU_ASSERT_EQUAL_FATAL(team_split_nodes(team, ranks_per_node), ERR_OK);
  static const int grids[][2] = {{0, 1}, {1, 0}, {0, 0}, {2, 0}};
  static const struct {
    enum decomp_kind kind;
    int64_t block;
  } kinds[] = {
      {DECOMP_BLOCK, 1}, {DECOMP_CYCLIC, 1}, {DECOMP_BLOCK_CYCLIC, 2}, {DECOMP_BLOCK_CYCLIC, 5}};
  static const int64_t sizes[][2] = {{37, 53}, {6, 5}, {1, 9}};
  for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++)
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
      for (size_t n = 0; n < sizeof sizes / sizeof sizes[0]; n++)
        for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++)
          run_case(team, sizes[n][0], sizes[n][1], grids[g], kinds[k].kind, kinds[k].block, mode,
                   depths[d]);
  team_destroy(&team);
}

static void test_auto_on_one_node(void) { run_all(0, HALO_AUTO); }
static void test_shm_on_one_node(void) { run_all(0, HALO_SHM); }
static void test_p2p_everywhere(void) { run_all(0, HALO_P2P); }
static void test_auto_with_one_rank_nodes(void) { run_all(1, HALO_AUTO); }
static void test_auto_with_two_rank_nodes(void) { run_all(2, HALO_AUTO); }
static void test_shm_refused_across_nodes(void) { run_all(2, HALO_SHM); }
static void test_p2p_with_two_rank_nodes(void) { run_all(2, HALO_P2P); }

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"auto_on_one_node", test_auto_on_one_node},
      {"shm_on_one_node", test_shm_on_one_node},
      {"p2p_everywhere", test_p2p_everywhere},
      {"auto_with_one_rank_nodes", test_auto_with_one_rank_nodes},
      {"auto_with_two_rank_nodes", test_auto_with_two_rank_nodes},
      {"shm_refused_across_nodes", test_shm_refused_across_nodes},
      {"p2p_with_two_rank_nodes", test_p2p_with_two_rank_nodes},
  };
  return TESTS_ADD_SUITE("halo", cases);
}
