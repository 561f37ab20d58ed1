/* test_model.c - the performance model against figures worked by hand. */
#include "common/err.h"
#include "decomp/model.h"
#include "tests/cunit_main.h"

#include <math.h>

/* Round figures: 10 GB/s a core, 20 GB/s a node, the kernel at half the roofline, 1 us per
 * notification, 2 us per message, 1 GB/s between nodes, 3 us per reduction stage. */
static const struct model_machine machine = {.core_bandwidth = 10e9,
                                             .node_bandwidth = 20e9,
                                             .kernel_efficiency = 0.5,
                                             .shm_latency = 1e-6,
                                             .net_latency = 2e-6,
                                             .net_bandwidth = 1e9,
                                             .reduce_latency = 3e-6};

static void expect_close(double got, double want) {
  if (fabs(got - want) > 1e-12 * fabs(want))
    fprintf(stderr, "\n  want %.15g, got %.15g", want, got);
  CU_ASSERT_DOUBLE_EQUAL(got, want, 1e-12 * fabs(want));
}

static struct decomp_layout layout(int64_t nx, int64_t ny, int prows, int pcols,
                                   enum decomp_kind kind, int64_t block) {
  struct decomp_layout l;
  int dims[2] = {prows, pcols};
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, nx, ny, prows * pcols, dims, kind, block), ERR_OK);
  return l;
}

/* One rank: 1000 x 1000 points x 16 B at 10 GB/s x 0.5 = 3.2 ms; no halo, no reduction stage;
 * efficiency 1 by definition. */
static void test_one_rank_is_the_sweep_alone(void) {
  struct decomp_layout l = layout(1000, 1000, 1, 1, DECOMP_BLOCK, 1);
  struct model_prediction p;
  CU_ASSERT_EQUAL(model_predict(&l, NULL, false, 1, &machine, &p), ERR_OK);
  expect_close(p.compute_seconds, 3.2e-3);
  expect_close(p.halo_seconds, 0.0);
  expect_close(p.reduce_seconds, 0.0);
  expect_close(p.seconds, 3.2e-3);
  expect_close(p.mlups, 1e6 / 3.2e-3 / 1e6);
  expect_close(p.efficiency, 1.0);
}

/* Four strips of 250 rows on one node: 20 GB/s / 4 = 5 GB/s each (below the core's 10), so a
 * strip takes 250000 x 16 / (5e9 x 0.5) = 1.6 ms. An inner strip reads 2 x 1000 halo points
 * (16 B each copied) = 32000 B / 5e9 = 6.4 us plus 2 notifications, 2 us. Two reduction stages
 * at 3 us, every 2nd iteration: 3 us. */
static void test_strips_on_one_node_share_its_bandwidth(void) {
  struct decomp_layout l = layout(1000, 1000, 4, 1, DECOMP_BLOCK, 1);
  struct model_prediction p;
  CU_ASSERT_EQUAL(model_predict(&l, NULL, false, 2, &machine, &p), ERR_OK);
  expect_close(p.compute_seconds, 1.6e-3);
  expect_close(p.halo_seconds, 6.4e-6 + 2e-6);
  expect_close(p.reduce_seconds, 3e-6);
  expect_close(p.seconds, 1.6e-3 + 8.4e-6 + 3e-6);
  CU_ASSERT(p.slowest_rank == 1 || p.slowest_rank == 2); /* an inner strip */
  expect_close(p.efficiency, 3.2e-3 / (4 * p.seconds));
}

/* The same strips, two ranks a node: 10 GB/s each (node 20 / 2, the core's 10), 0.8 ms of
 * sweep. Rank 1 has rank 0 on its node (1000 points copied, 1.6 us, one notification, 1 us) and
 * rank 2 on the next (one message: 2 us + 8000 B at 1 GB/s = 8 us). */
static void test_nodes_split_halos_into_copies_and_messages(void) {
  struct decomp_layout l = layout(1000, 1000, 4, 1, DECOMP_BLOCK, 1);
  const int node_of_rank[4] = {0, 0, 2, 2};
  struct model_prediction p;
  CU_ASSERT_EQUAL(model_predict(&l, node_of_rank, false, 1, &machine, &p), ERR_OK);
  expect_close(p.compute_seconds, 0.8e-3);
  expect_close(p.halo_seconds, 1.6e-6 + 1e-6 + 2e-6 + 8e-6);
  expect_close(p.reduce_seconds, 6e-6);
}

/* halo.mode = "p2p": every halo is a message, even on one node. */
static void test_p2p_mode_counts_messages(void) {
  struct decomp_layout l = layout(1000, 1000, 2, 1, DECOMP_BLOCK, 1);
  struct model_prediction p;
  CU_ASSERT_EQUAL(model_predict(&l, NULL, true, 1, &machine, &p), ERR_OK);
  expect_close(p.halo_seconds, 2e-6 + 8000.0 / 1e9);
}

/* Cyclic deals single rows: every row's two sides face the other rank, so the halo is the
 * whole grid twice over, and block must come out faster. */
static void test_block_beats_cyclic(void) {
  struct decomp_layout block = layout(512, 512, 2, 1, DECOMP_BLOCK, 1);
  struct decomp_layout cyclic = layout(512, 512, 2, 1, DECOMP_CYCLIC, 1);
  struct model_prediction pb, pc;
  CU_ASSERT_EQUAL(model_predict(&block, NULL, false, 1, &machine, &pb), ERR_OK);
  CU_ASSERT_EQUAL(model_predict(&cyclic, NULL, false, 1, &machine, &pc), ERR_OK);
  expect_close(pb.compute_seconds, pc.compute_seconds);
  CU_ASSERT(pc.halo_seconds > 100 * pb.halo_seconds);
  CU_ASSERT(pc.seconds > pb.seconds);
}

/* Idle ranks share nothing: 3 rows over 4 ranks leaves one rank empty; the other three get the
 * node's bandwidth three ways, capped at the core's. */
static void test_idle_ranks_do_not_take_bandwidth(void) {
  struct decomp_layout l = layout(10, 3, 4, 1, DECOMP_BLOCK, 1);
  struct model_prediction p;
  CU_ASSERT_EQUAL(model_predict(&l, NULL, false, 1, &machine, &p), ERR_OK);
  expect_close(p.compute_seconds, 10 * 16 / (20e9 / 3 * 0.5));
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"one rank is the sweep alone", test_one_rank_is_the_sweep_alone},
      {"strips on one node share its bandwidth", test_strips_on_one_node_share_its_bandwidth},
      {"nodes split halos into copies and messages",
       test_nodes_split_halos_into_copies_and_messages},
      {"p2p mode counts messages", test_p2p_mode_counts_messages},
      {"block beats cyclic", test_block_beats_cyclic},
      {"idle ranks do not take bandwidth", test_idle_ranks_do_not_take_bandwidth},
  };
  return TESTS_ADD_SUITE("model", cases);
}
