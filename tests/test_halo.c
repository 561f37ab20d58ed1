/* test_halo.c - after an exchange, every halo point of every tile holds its neighbour's exact
 * value: for each partitioner, process grid, block size, halo mode and ranks_per_node, and
 * over many successive exchanges of alternating buffers, as the solver makes them. Run under
 * mpiexec with 1 to 4 ranks; oversubscribed ranks interleave unpredictably, so a missing
 * synchronisation shows up as a stale or future value. */
#include "cunit_main.h"
#include "decomp.h"
#include "err.h"
#include "field.h"
#include "halo.h"
#include "team.h"

#include <mpi.h>
#include <stdio.h>

enum { EXCHANGES = 24 };

/* Exact in a double for the sizes used: distinct per point and per exchange. */
static double encode(int64_t gi, int64_t gj, int k) {
  return ((double)k * 1000.0 + (double)gi) * 1000.0 + (double)gj;
}

static const struct field_boundary boundary = {.side = {-1.0, -2.0, -3.0, -4.0}};

static void write_interior(struct field *f, int buf, int k) {
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    double *s = field_tile(f, buf, t);
    int64_t stride = field_stride(f, t);
    for (int64_t li = 0; li < tile->nrows; li++)
      for (int64_t lj = 0; lj < tile->ncols; lj++)
        s[(li + 1) * stride + lj + 1] = encode(tile->row0 + li, tile->col0 + lj, k);
  }
}

/* What the halo point next to interior point (gi, gj) across side s must hold. */
static double expected(const struct decomp_tile *tile, int s, int64_t gi, int64_t gj, int k) {
  if (tile->nbr_rank[s] == DECOMP_BOUNDARY)
    return boundary.side[s];
  static const int di[DECOMP_NSIDES] = {-1, 1, 0, 0}, dj[DECOMP_NSIDES] = {0, 0, -1, 1};
  return encode(gi + di[s], gj + dj[s], k);
}

/* Count halo points that differ from what they must hold; report the first. */
static int64_t check_halos(const struct field *f, int buf, int k, const char *what) {
  int64_t wrong = 0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    const double *s = field_tile(f, buf, t);
    int64_t stride = field_stride(f, t);
    for (int64_t li = 0; li < tile->nrows; li++)
      for (int64_t lj = 0; lj < tile->ncols; lj++) {
        int64_t gi = tile->row0 + li, gj = tile->col0 + lj;
        struct {
          int side;
          bool on_edge;
          int64_t at;
        } probes[] = {
            {DECOMP_NORTH, li == 0, lj + 1},
            {DECOMP_SOUTH, li == tile->nrows - 1, (tile->nrows + 1) * stride + lj + 1},
            {DECOMP_WEST, lj == 0, (li + 1) * stride},
            {DECOMP_EAST, lj == tile->ncols - 1, (li + 1) * stride + tile->ncols + 1},
        };
        for (int p = 0; p < 4; p++) {
          if (!probes[p].on_edge)
            continue;
          double want = expected(tile, probes[p].side, gi, gj, k), got = s[probes[p].at];
          if (got != want && wrong++ == 0)
            fprintf(stderr,
                    "\n  rank %d %s exchange %d: halo of (%lld,%lld) side %d: want %.17g, "
                    "got %.17g",
                    f->rank, what, k, (long long)gi, (long long)gj, probes[p].side, want, got);
        }
      }
  }
  return wrong;
}

/* Whether some rank has a neighbour on another node (so "shm" must be refused). */
static bool has_off_node_neighbour(const struct decomp_layout *l, const struct team *team) {
  for (int r = 0; r < l->nranks; r++)
    for (int64_t t = 0; t < decomp_ntiles(l, r); t++) {
      struct decomp_tile tile;
      decomp_tile(l, r, t, &tile);
      for (int s = 0; s < DECOMP_NSIDES; s++)
        if (tile.nbr_rank[s] != DECOMP_BOUNDARY &&
            team->node_of_rank[tile.nbr_rank[s]] != team->node_of_rank[r])
          return true;
    }
  return false;
}

static void run_case(struct team *team, int64_t nx, int64_t ny, const int grid[2],
                     enum decomp_kind kind, int64_t block, enum cfg_halo_mode mode) {
  char what[160];
  snprintf(what, sizeof what, "%lldx%lld grid [%d,%d] kind %d block %lld mode %d rpn-nodes",
           (long long)nx, (long long)ny, grid[0], grid[1], kind, (long long)block, mode);
  int dims[2] = {grid[0], grid[1]};
  struct decomp_layout l;
  if (decomp_dims_fill(team->size, dims) != ERR_OK ||
      decomp_layout_init(&l, nx, ny, team->size, dims, kind, block) != ERR_OK) {
    err_clear();
    return; /* not a layout for this rank count */
  }
  int status = halo_check_mode(&l, team, mode, "test");
  bool refuse = mode == CFG_HALO_SHM && has_off_node_neighbour(&l, team);
  CU_ASSERT_EQUAL(status, refuse ? ERR_CONFIG : ERR_OK);
  err_clear();
  if (status != ERR_OK)
    return;

  struct field *f = NULL;
  struct halo *h = NULL;
  CU_ASSERT_EQUAL_FATAL(field_create(&l, team, &boundary, 0.0, &f), ERR_OK);
  CU_ASSERT_EQUAL_FATAL(halo_create(f, team, mode, &h), ERR_OK);

  struct decomp_rank_plan plan;
  decomp_plan_rank(&l, team->rank, team->node_of_rank, mode == CFG_HALO_P2P, &plan);
  struct halo_counts c = halo_counts(h);
  CU_ASSERT_EQUAL(c.local_points, plan.halo_points_local);
  CU_ASSERT_EQUAL(c.shm_points, plan.halo_points_shm);
  CU_ASSERT_EQUAL(c.p2p_points, plan.halo_points_p2p);
  CU_ASSERT_EQUAL(c.messages, plan.messages);
  if (mode == CFG_HALO_P2P)
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

static void run_all(int ranks_per_node, enum cfg_halo_mode mode) {
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
        run_case(team, sizes[n][0], sizes[n][1], grids[g], kinds[k].kind, kinds[k].block, mode);
  team_destroy(&team);
}

static void test_auto_on_one_node(void) { run_all(0, CFG_HALO_AUTO); }
static void test_shm_on_one_node(void) { run_all(0, CFG_HALO_SHM); }
static void test_p2p_everywhere(void) { run_all(0, CFG_HALO_P2P); }
static void test_auto_with_one_rank_nodes(void) { run_all(1, CFG_HALO_AUTO); }
static void test_auto_with_two_rank_nodes(void) { run_all(2, CFG_HALO_AUTO); }
static void test_shm_refused_across_nodes(void) { run_all(2, CFG_HALO_SHM); }
static void test_p2p_with_two_rank_nodes(void) { run_all(2, CFG_HALO_P2P); }

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
