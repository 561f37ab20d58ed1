/* test_tune.c - the kernel's calibration: every rank takes the same variant, whatever its tile
 * and its timings; the sweeps between checks never get a slower variant than the checks; a set
 * store is respected. Run under mpiexec with 1 and 3 ranks. Asserts no time. */
#include "common/err.h"
#include "runtime/team.h"
#include "solver/kernel/tune.h"
#include "tests/cunit_main.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

/* The variants as three small integers, for comparing across ranks. */
static void encode(const struct sweep_variant *v, int out[3]) {
  out[0] = (int)v->isa;
  out[1] = v->streaming;
  out[2] = v->always_diff;
}

/* How many loops without the diff (the odd candidate indices) were timed on the tile. */
static int nodiff_timed(const struct tune_choice *choice) {
  int timed = 0;
  for (int c = 1; c < TUNE_CANDIDATES; c += 2)
    timed += isfinite(choice->us_per_mlup[c]) ? 1 : 0;
  return timed;
}

/* Ranks with tiles of different shapes (rank 1 none) choose, and all hold the same choice. */
static void test_every_rank_takes_the_same_variant(void) {
  struct team *team = NULL;
  CU_ASSERT_EQUAL_FATAL(team_create(MPI_COMM_WORLD, &team), ERR_OK);
  const enum cfg_stores stores[] = {CFG_STORES_AUTO, CFG_STORES_REGULAR, CFG_STORES_STREAMING};
  for (size_t s = 0; s < sizeof stores / sizeof stores[0]; s++) {
    int64_t rows = team->rank == 1 ? 0 : 17 + 40 * team->rank, cols = 33 + 7 * team->rank;
    struct tune_choice choice;
    double footprint = 2.0 * (double)((rows + 2) * (cols + 2)) * sizeof(double);
    CU_ASSERT_EQUAL_FATAL(tune_choose(team, stores[s], rows, cols, footprint, 1, &choice), ERR_OK);
    /* the choice (the trial's first pair), the other pair if a trial is to run, its state */
    const struct tune_pair *chosen = &choice.trial.pair[0];
    int mine[14], lo[14], hi[14];
    encode(&chosen->check, mine);
    encode(&chosen->between, mine + 3);
    encode(&choice.trial.pair[1].check, mine + 6);
    encode(&choice.trial.pair[1].between, mine + 9);
    mine[12] = choice.trial.choices;
    mine[13] = choice.trial.winner;
    EXPECT(mine[13] == -1, "the trial is decided (%d) before the run", mine[13]);
    EXPECT(mine[12] == 1 || mine[12] == 2, "a trial of %d choices", mine[12]);
    EXPECT(mine[12] == 1 || !choice.cold, "a trial where the tiles are known not to fit");
    MPI_Allreduce(mine, lo, 14, MPI_INT, MPI_MIN, team->comm);
    MPI_Allreduce(mine, hi, 14, MPI_INT, MPI_MAX, team->comm);
    for (int k = 0; k < 14; k++) /* pair[1] too: zeros, or the cold timing's agreed pick */
      EXPECT(lo[k] == hi[k], "stores %s: field %d of the choice differs between ranks (%d..%d)",
             cfg_stores_name(stores[s]), k, lo[k], hi[k]);
    /* a trial exactly where the cold timing chose other checks (check_interval 1) */
    EXPECT(choice.also_cold || choice.trial.choices == 1, "a trial without a cold timing");
    bool other_checks = memcmp(mine, mine + 6, 3 * sizeof *mine) != 0;
    if (choice.also_cold)
      EXPECT((choice.trial.choices == 2) == other_checks,
             "%d choices, but the cold timing's checks are %s the calibration's",
             choice.trial.choices, other_checks ? "other than" : "the same as");
    for (int p = 0; p < (choice.also_cold ? 2 : 1); p++) {
      const struct tune_pair *pair = &choice.trial.pair[p];
      EXPECT(sweep_isa_available(pair->check.isa) && sweep_isa_available(pair->between.isa),
             "a variant this CPU cannot run was chosen (pair %d)", p);
      if (stores[s] != CFG_STORES_AUTO) {
        bool streaming = stores[s] == CFG_STORES_STREAMING;
        EXPECT(pair->check.streaming == streaming && pair->between.streaming == streaming,
               "solver.stores = %s, but pair %d streams %d/%d", cfg_stores_name(stores[s]), p,
               pair->check.streaming, pair->between.streaming);
      }
      EXPECT(!pair->check.always_diff, "pair %d's check variant drops the diff", p);
    }
    /* the node's tiles, summed (every rank here shares one node), and one cold for all */
    double total = 0.0;
    int cold = choice.cold, cold_lo = 0, cold_hi = 0;
    MPI_Allreduce(&footprint, &total, 1, MPI_DOUBLE, MPI_SUM, team->comm);
    MPI_Allreduce(&cold, &cold_lo, 1, MPI_INT, MPI_MIN, team->comm);
    MPI_Allreduce(&cold, &cold_hi, 1, MPI_INT, MPI_MAX, team->comm);
    EXPECT(choice.node_bytes == total, "the node's tiles: %.0f bytes, not the ranks' %.0f",
           choice.node_bytes, total);
    EXPECT(cold_lo == cold_hi, "the ranks disagree on cold caches");
    EXPECT(choice.cache_bytes <= 0.0 || choice.cold == (choice.node_bytes > choice.cache_bytes),
           "cold is %d for %.0f bytes of tiles in %.0f of caches", choice.cold, choice.node_bytes,
           choice.cache_bytes);
    char text[512];
    tune_describe(&choice, NULL, text, sizeof text);
    EXPECT(strstr(text, cfg_stores_name(stores[s])) != NULL,
           "the description '%s' does not "
           "name solver.stores = %s",
           text, cfg_stores_name(stores[s]));
    /* check_interval 1: no loop without the diff is timed (none would run), so the sweeps
     * "between checks" are the checks' own loop */
    EXPECT(nodiff_timed(&choice) == 0, "with check_interval 1, %d loops without the diff timed",
           nodiff_timed(&choice));
    /* in cache too: every instruction set the CPU runs, with the stores allowed, with the diff */
    int with_diff = 0;
    for (int isa = 0; isa < SWEEP_ISA_COUNT; isa++)
      with_diff += sweep_isa_available((enum sweep_isa)isa) ? 1 : 0;
    with_diff *= stores[s] == CFG_STORES_AUTO ? 2 : 1;
    EXPECT(choice.in_cache == with_diff,
           "with check_interval 1, %d candidates timed in cache, "
           "not the %d with the diff",
           choice.in_cache, with_diff);
    EXPECT(chosen->between.always_diff && chosen->between.isa == chosen->check.isa &&
               chosen->between.streaming == chosen->check.streaming,
           "with check_interval 1, the loop between checks is not the checks' own");
    /* and the line says every sweep is a check, naming no variant for sweeps between them */
    EXPECT(strstr(text, ", every sweep a check (") != NULL &&
               strstr(text, "between checks") == NULL,
           "with check_interval 1 the description names sweeps between checks: '%s'", text);
  }
  team_destroy(&team);
}

/* From given times: the fastest with the diff for the checks, the fastest of all between
 * them (a with-diff one if it is faster: it keeps the diff and drops it) when it is at least
 * 5% faster than the checks' loop (else that loop), untimed candidates never. */
static void test_pick_takes_the_fastest_and_never_a_slower_between(void) {
  double us[TUNE_CANDIDATES];
  for (int c = 0; c < TUNE_CANDIDATES; c++)
    us[c] = INFINITY;
  us[tune_index(SWEEP_ISA_SSE2, false, false)] = 5.0;
  us[tune_index(SWEEP_ISA_SSE2, false, true)] = 6.0; /* the update-only loop slower */
  us[tune_index(SWEEP_ISA_SSE2, true, false)] = 4.0;
  us[tune_index(SWEEP_ISA_SSE2, true, true)] = 4.5;
  struct tune_pair pair;
  tune_pick(us, &pair);
  CU_ASSERT_TRUE(pair.check.streaming && !pair.check.always_diff);
  CU_ASSERT_TRUE(pair.between.streaming && pair.between.always_diff);
  us[tune_index(SWEEP_ISA_SSE2, true, true)] = 3.0;
  tune_pick(us, &pair);
  CU_ASSERT_TRUE(pair.between.streaming && !pair.between.always_diff);
  /* faster by less than 5%: the checks' loop, keeping the diff */
  us[tune_index(SWEEP_ISA_SSE2, true, true)] = 3.9;
  us[tune_index(SWEEP_ISA_SSE2, false, true)] = 3.85;
  tune_pick(us, &pair);
  CU_ASSERT_TRUE(pair.between.streaming && pair.between.always_diff);
  CU_ASSERT_EQUAL(pair.between.isa, pair.check.isa);
  /* every index names one candidate */
  int seen[TUNE_CANDIDATES] = {0};
  for (int isa = 0; isa < SWEEP_ISA_COUNT; isa++)
    for (int streaming = 0; streaming < 2; streaming++)
      for (int update = 0; update < 2; update++)
        seen[tune_index((enum sweep_isa)isa, streaming, update)]++;
  for (int c = 0; c < TUNE_CANDIDATES; c++)
    CU_ASSERT_EQUAL(seen[c], 1);
}

/* Which instruction sets meet the tile: the fastest candidate's in cache alone when its
 * vectors are 4 doubles (by time alone: the between-checks margin plays no part); beside an
 * 8-wide (AVX-512) winner, also the fastest 4-wide candidate's with the diff and of all;
 * untimed candidates never. */
static void test_an_eight_wide_winner_meets_the_best_four_wide_on_the_tile(void) {
  double us[TUNE_CANDIDATES];
  for (int c = 0; c < TUNE_CANDIDATES; c++)
    us[c] = INFINITY;
  us[tune_index(SWEEP_ISA_SSE2, false, false)] = 9.0;
  us[tune_index(SWEEP_ISA_AVX2, false, false)] = 5.0;
  us[tune_index(SWEEP_ISA_AVX2, true, true)] = 4.0;
  CU_ASSERT_EQUAL(tune_tile_isas(us), 1u << SWEEP_ISA_AVX2);
  us[tune_index(SWEEP_ISA_AVX512, false, true)] = 3.0;
  CU_ASSERT_EQUAL(tune_tile_isas(us), 1u << SWEEP_ISA_AVX512 | 1u << SWEEP_ISA_AVX2);
  /* AVX-512 faster than AVX2's loop with the diff by less than the between-checks margin:
   * still the winner in cache */
  us[tune_index(SWEEP_ISA_AVX2, false, false)] = 4.1;
  us[tune_index(SWEEP_ISA_AVX2, true, true)] = 4.05;
  us[tune_index(SWEEP_ISA_AVX512, false, true)] = 4.0;
  CU_ASSERT_EQUAL(tune_tile_isas(us), 1u << SWEEP_ISA_AVX512 | 1u << SWEEP_ISA_AVX2);
  us[tune_index(SWEEP_ISA_AVX2, false, false)] = 5.0;
  us[tune_index(SWEEP_ISA_AVX2, true, true)] = 4.0;
  us[tune_index(SWEEP_ISA_AVX512, false, true)] = 3.0;
  /* SSE2 the fastest 4-wide without the diff, AVX2 with it: both meet AVX-512 */
  us[tune_index(SWEEP_ISA_SSE2, false, true)] = 3.5;
  CU_ASSERT_EQUAL(tune_tile_isas(us),
                  1u << SWEEP_ISA_AVX512 | 1u << SWEEP_ISA_AVX2 | 1u << SWEEP_ISA_SSE2);
  us[tune_index(SWEEP_ISA_SSE2, true, false)] = 3.5; /* and now with it too: AVX2 stays home */
  CU_ASSERT_EQUAL(tune_tile_isas(us), 1u << SWEEP_ISA_AVX512 | 1u << SWEEP_ISA_SSE2);
  us[tune_index(SWEEP_ISA_AVX512, false, true)] = 3.6; /* SSE2 fastest of all: alone */
  CU_ASSERT_EQUAL(tune_tile_isas(us), 1u << SWEEP_ISA_SSE2);
  /* a 4-wide winner fast only without the diff: the fastest with it meets it */
  us[tune_index(SWEEP_ISA_SSE2, true, false)] = 6.0;
  CU_ASSERT_EQUAL(tune_tile_isas(us), 1u << SWEEP_ISA_SSE2 | 1u << SWEEP_ISA_AVX2);
}

/* The trial: sweeps 0-2 run pair 0, 3-5 pair 1, then the pair whose best sweep on its slowest
 * rank was faster, on every rank: pair 0 where pair 1 is the slower on the last rank only
 * (the other ranks found it faster), else pair 1. Only the sweeps of the kind it times count
 * (the checks, or those between them: the others here are so fast they would win). With one
 * pair, that pair throughout. Times are given, none measured. */
static void test_the_trial_takes_the_faster_pair_by_its_slowest_rank(void) {
  struct team *team = NULL;
  CU_ASSERT_EQUAL_FATAL(team_create(MPI_COMM_WORLD, &team), ERR_OK);
  const struct tune_pair pairs[2] = {
      {{.isa = SWEEP_ISA_SSE2}, {.isa = SWEEP_ISA_SSE2}},
      {{.isa = SWEEP_ISA_SSE2, .streaming = true},
       {.isa = SWEEP_ISA_SSE2, .streaming = true, .always_diff = true}}};
  int last = team->size - 1;
  for (int between = 0; between < 2; between++)
    for (int slow_last = 1; slow_last >= 0; slow_last--) {
      struct tune_trial trial = {.choices = 2,
                                 .pair = {pairs[0], pairs[1]},
                                 .between = between,
                                 .best = {INFINITY, INFINITY},
                                 .winner = -1};
      int winner = slow_last ? 0 : 1;
      for (int64_t sweep = 0; sweep < 2 * TUNE_TRIAL_SWEEPS + 3; sweep++) {
        bool want_diff = sweep % 2 == 0, timed = want_diff != (bool)between;
        const struct sweep_variant *v = tune_trial_variant(&trial, sweep, want_diff);
        int pair = sweep < TUNE_TRIAL_SWEEPS ? 0 : sweep < 2 * TUNE_TRIAL_SWEEPS ? 1 : winner;
        EXPECT(v == (want_diff ? &trial.pair[pair].check : &trial.pair[pair].between),
               "sweep %lld (diff %d) ran another variant than pair %d's", (long long)sweep,
               want_diff, pair);
        /* pair 0: 2 + rank; pair 1: 1, or on the last rank 2 + size; untimed kinds: 1e-3 */
        double seconds = !timed || sweep >= 2 * TUNE_TRIAL_SWEEPS ? 1e-3
                         : pair == 0                              ? 2.0 + team->rank
                         : slow_last && team->rank == last        ? 2.0 + team->size
                                                                  : 1.0;
        CU_ASSERT_EQUAL_FATAL(tune_trial_time(&trial, team, sweep, want_diff, seconds), ERR_OK);
        EXPECT(trial.winner == (sweep < 2 * TUNE_TRIAL_SWEEPS - 1 ? -1 : winner),
               "between %d: after sweep %lld the winner is %d", between, (long long)sweep,
               trial.winner);
      }
      double slowest = slow_last ? 2.0 + team->size : 1.0;
      EXPECT(trial.best[0] == 2.0 + last && trial.best[1] == slowest,
             "between %d: best sweeps %g and %g, not the slowest rank's %g and %g", between,
             trial.best[0], trial.best[1], 2.0 + last, slowest);
    }
  struct tune_trial one = {.choices = 1, .pair = {pairs[1]}, .winner = -1};
  for (int64_t sweep = 0; sweep < 2 * TUNE_TRIAL_SWEEPS; sweep++) {
    CU_ASSERT_EQUAL(tune_trial_variant(&one, sweep, false), &one.pair[0].between);
    CU_ASSERT_EQUAL_FATAL(tune_trial_time(&one, team, sweep, false, 1.0), ERR_OK);
  }
  CU_ASSERT_EQUAL(one.winner, -1);
  /* no trial where the run's sweeps cannot hold one (check_interval 0: temporal blocks) */
  struct tune_choice choice;
  CU_ASSERT_EQUAL_FATAL(tune_choose(team, CFG_STORES_AUTO, 40, 40, 2.0 * 42 * 42 * 8, 0, &choice),
                        ERR_OK);
  CU_ASSERT_EQUAL(choice.trial.choices, 1);
  /* nor a timing from cold caches for one, and the kernel line says none ran */
  CU_ASSERT_FALSE(choice.also_cold);
  char text[1024];
  tune_describe(&choice, NULL, text, sizeof text);
  CU_ASSERT_PTR_NULL(strstr(text, "cold caches"));
  /* a temporal block's single sweeps may fall between checks: the loops without the diff are
   * timed for them, and their variant is named */
  CU_ASSERT_TRUE(nodiff_timed(&choice) > 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "; between checks "));
  CU_ASSERT_PTR_NULL(strstr(text, "every sweep a check"));
  team_destroy(&team);
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"every_rank_takes_the_same_variant", test_every_rank_takes_the_same_variant},
      {"pick_takes_the_fastest_and_never_a_slower_between",
       test_pick_takes_the_fastest_and_never_a_slower_between},
      {"an_eight_wide_winner_meets_the_best_four_wide_on_the_tile",
       test_an_eight_wide_winner_meets_the_best_four_wide_on_the_tile},
      {"the_trial_takes_the_faster_pair_by_its_slowest_rank",
       test_the_trial_takes_the_faster_pair_by_its_slowest_rank},
  };
  return TESTS_ADD_SUITE("tune", cases);
}
