/* tune.c - the kernel's start-up calibration; see tune.h. */
#include "solver/kernel/tune.h"

#include "common/err.h"
#include "runtime/caches.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The problem timed: the tile's width and as many of its rows as keep it under CAP_POINTS
 * (two buffers of 16 MiB), so that the calibration costs tens of milliseconds whatever the
 * tile; a timing covers at least MIN_POINTS updates (repeated sweeps of a small tile), so that
 * it is well above the clock's resolution. Each candidate gets ROUNDS rounds, interleaved
 * with the others' so that a change of the machine's speed during the calibration hits all
 * alike; in a round it sweeps once untimed (the cache as its own previous sweep leaves it, as in
 * a run) and then is timed. */
enum { CAP_POINTS = 1 << 20, MIN_POINTS = 1 << 16, ROUNDS = 2 };
static const double BETWEEN_MARGIN = 0.05;

int tune_index(enum sweep_isa isa, bool streaming, bool update_only) {
  return ((int)isa * 2 + (streaming ? 1 : 0)) * 2 + (update_only ? 1 : 0);
}

/* The candidate with the least time among those whose vectors are `doubles` wide (0: any),
 * with the diff only if `with_diff`; -1 if none was timed. */
static int fastest(const double us_per_mlup[TUNE_CANDIDATES], int doubles, bool with_diff) {
  int best = -1;
  for (int c = 0; c < TUNE_CANDIDATES; c++) {
    bool update_only = c % 2 == 1;
    if (!isfinite(us_per_mlup[c]) || (with_diff && update_only) ||
        (doubles != 0 && sweep_isa_vector_doubles((enum sweep_isa)(c / 4)) != doubles))
      continue;
    if (best < 0 || us_per_mlup[c] < us_per_mlup[best])
      best = c;
  }
  return best;
}

void tune_pick(const double us_per_mlup[TUNE_CANDIDATES], struct tune_pair *pair) {
  int best_check = fastest(us_per_mlup, 0, true), best_between = fastest(us_per_mlup, 0, false);
  /* Nothing timed (cannot happen: the baseline always runs): the baseline, regular stores. */
  if (best_check < 0)
    best_check = best_between = tune_index(SWEEP_ISA_SSE2, false, false);
  /* The sweeps between checks leave the checks' loop only for one clearly faster: within
   * BETWEEN_MARGIN the two are the same speed as far as a calibration on a shared machine can
   * tell, and the checks' loop is then the one that cannot make check_interval > 1 slower
   * than 1. */
  if (best_between != best_check &&
      us_per_mlup[best_between] > (1.0 - BETWEEN_MARGIN) * us_per_mlup[best_check])
    best_between = best_check;
  pair->check = (struct sweep_variant){.isa = (enum sweep_isa)(best_check / 4),
                                       .streaming = (best_check / 2) % 2 == 1};
  pair->between = (struct sweep_variant){.isa = (enum sweep_isa)(best_between / 4),
                                         .streaming = (best_between / 2) % 2 == 1,
                                         .always_diff = best_between % 2 == 0};
}

unsigned tune_tile_isas(const double in_cache[TUNE_CANDIDATES]) {
  int winner = fastest(in_cache, 0, false);
  if (winner < 0)
    return 1u << SWEEP_ISA_SSE2;
  /* and the checks' fastest, if it is another's (the winner may be fast only without the diff) */
  int check_any = fastest(in_cache, 0, true);
  unsigned isas = 1u << (winner / 4) | (check_any >= 0 ? 1u << (check_any / 4) : 0u);
  if (sweep_isa_vector_doubles((enum sweep_isa)(winner / 4)) == 4)
    return isas;
  /* 8 doubles a vector: every unaligned load of a neighbour row splits a cache line, which in
   * cache costs little and far out of it cost the 8-wide kernel half its speed (measured when
   * it was first tried); so the fastest 4-wide instruction set meets it on the tile, for the
   * checks (with the diff) and for the sweeps between them (either). */
  int check = fastest(in_cache, 4, true), any = fastest(in_cache, 4, false);
  if (check >= 0)
    isas |= 1u << (check / 4);
  if (any >= 0)
    isas |= 1u << (any / 4);
  return isas;
}

/* Any values will do, as long as both buffers hold the same ring and there is work to do; no
 * subnormals (they would slow some candidates and not the run). */
static void fill(double *tile, int64_t rows, int64_t stride) {
  for (int64_t i = 0; i < rows + 2; i++)
    for (int64_t j = 0; j < stride; j++)
      tile[i * stride + j] = i == 0 ? 100.0 : 1.0 + (double)((i * 31 + j * 17) % 97) / 97.0;
}

/* This rank's microseconds per million updates of each candidate with an instruction set in
 * `isas` (a bit per enum sweep_isa) and stores `stores` allows, with the diff only if
 * `checks_only` (INFINITY: not run), on rows x cols points. With `cold`, both buffers are evicted
 * from the caches before each timed sweep, and the time includes writing back what it left dirty,
 * as a tile far out of cache costs (the problem itself is cut to fit the time). Returns ERR_FAILURE
 * if the buffers cannot be had. */
static int time_candidates(enum cfg_stores stores, bool checks_only, unsigned isas, int64_t rows,
                           int64_t cols, bool cold, double us_per_mlup[TUNE_CANDIDATES]) {
  int64_t stride = cols + 2;
  size_t count = (size_t)((rows + 2) * stride);
  double *buf[2] = {malloc(count * sizeof(double)), malloc(count * sizeof(double))};
  if (buf[0] == NULL || buf[1] == NULL) {
    free(buf[0]);
    free(buf[1]);
    return err_set(ERR_FAILURE, "out of memory for the kernel's calibration (%zu bytes)",
                   2 * count * sizeof(double));
  }
  fill(buf[0], rows, stride);
  fill(buf[1], rows, stride);
  int64_t points = rows * cols;
  int64_t sweeps = points >= MIN_POINTS ? 1 : (MIN_POINTS + points - 1) / points;
  for (int c = 0; c < TUNE_CANDIDATES; c++)
    us_per_mlup[c] = INFINITY;
  int current = 0;
  for (int round = 0; round < ROUNDS; round++)
    for (int c = 0; c < TUNE_CANDIDATES; c++) {
      enum sweep_isa isa = (enum sweep_isa)(c / 4);
      bool streaming = (c / 2) % 2 == 1, update_only = c % 2 == 1;
      if (!((isas >> isa) & 1u) || !sweep_isa_available(isa) || (checks_only && update_only) ||
          (stores == CFG_STORES_REGULAR && streaming) ||
          (stores == CFG_STORES_STREAMING && !streaming))
        continue;
      struct sweep_variant v = {.isa = isa, .streaming = streaming};
      sweep_tile_variant(v, buf[current], buf[1 - current], rows, cols, stride, !update_only);
      current = 1 - current;
      if (cold) {
        caches_evict(buf[0], count);
        caches_evict(buf[1], count);
      }
      double t0 = MPI_Wtime();
      for (int64_t s = 0; s < sweeps; s++, current = 1 - current)
        sweep_tile_variant(v, buf[current], buf[1 - current], rows, cols, stride, !update_only);
      if (cold) /* the buffer just written: its dirty lines go to memory */
        caches_evict(buf[current], count);
      double us = (MPI_Wtime() - t0) / ((double)points * (double)sweeps) * 1e12;
      us_per_mlup[c] = us < us_per_mlup[c] ? us : us_per_mlup[c];
    }
  free(buf[0]);
  free(buf[1]);
  return ERR_OK;
}

/* rows x cols, the tile's shape cut to at most `cap` points (a tile without points: 64 x 64). */
static void problem(int64_t nrows, int64_t ncols, int64_t cap, int64_t *rows, int64_t *cols) {
  *cols = ncols < 1 ? 64 : ncols < cap ? ncols : cap;
  int64_t rows_cap = cap / *cols < 1 ? 1 : cap / *cols;
  *rows = nrows < 1 ? 64 : nrows < rows_cap ? nrows : rows_cap;
}

/* Time on every rank, and take each candidate's slowest rank: a candidate a rank cannot run
 * is infinitely slow. */
static int time_together(const struct team *team, enum cfg_stores stores, bool checks_only,
                         unsigned isas, int64_t rows, int64_t cols, bool cold,
                         double us_per_mlup[TUNE_CANDIDATES]) {
  double mine[TUNE_CANDIDATES];
  CHECK(team_agree(team, time_candidates(stores, checks_only, isas, rows, cols, cold, mine)));
  MPI_CHECK(MPI_Allreduce(mine, us_per_mlup, TUNE_CANDIDATES, MPI_DOUBLE, MPI_MAX, team->comm));
  return ERR_OK;
}

/* Whether the candidates are timed from cold caches (choice->cold, the same on every rank):
 * whether the tiles of a node's ranks (footprint: this rank's bytes, both buffers) are more than
 * the caches those ranks run on hold (caches.h: the L2s and L3s of their CPUs, counted once
 * each and no more of a level than there are ranks, over the ranks sharing this node's memory:
 * all of them, whatever halo.ranks_per_node says). Where sysfs names no cache, sysconf's L3 and
 * each rank's L2 (which in a VM may be the host's); where neither does, whether the timed problem
 * is a cut of the tile (`cut`, on any rank). Collective on team->comm. */
static int node_is_cold(const struct team *team, double footprint, bool cut,
                        struct tune_choice *choice) {
  struct caches mine;
  char allowed[4096];
  bool found = caches_read("/sys/devices/system/cpu",
                           caches_allowed_cpus(allowed, sizeof allowed) ? allowed : NULL, &mine);
  struct caches node;
  MPI_Comm shared = MPI_COMM_NULL;
  MPI_CHECK(MPI_Comm_split_type(team->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &shared));
  int ranks = 1, any_found = 0, code = MPI_Comm_size(shared, &ranks);
  int flag = found ? 1 : 0;
  if (code == MPI_SUCCESS)
    code = MPI_Allreduce(mine.used, node.used, (int)sizeof node.used, MPI_BYTE, MPI_BOR, shared);
  if (code == MPI_SUCCESS)
    code = MPI_Allreduce(mine.bytes, node.bytes, CACHES_LEVELS, MPI_INT64_T, MPI_MAX, shared);
  if (code == MPI_SUCCESS)
    code = MPI_Allreduce(&flag, &any_found, 1, MPI_INT, MPI_MAX, shared);
  if (code == MPI_SUCCESS)
    code = MPI_Allreduce(&footprint, &choice->node_bytes, 1, MPI_DOUBLE, MPI_SUM, shared);
  MPI_Comm_free(&shared);
  if (code != MPI_SUCCESS) /* a rank may have failed where the others did not: end them all */
    team_abort(team, team_mpi_error(code, "the calibration's reductions over the node"));
  choice->cache_bytes = caches_bytes(&node, ranks);
  if (!any_found) {
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    choice->cache_bytes = (l3 > 0 ? (double)l3 : 0.0) + (l2 > 0 ? (double)ranks * (double)l2 : 0.0);
  }
  int cold = choice->cache_bytes > 0.0 ? choice->node_bytes > choice->cache_bytes : cut, agreed = 0;
  MPI_CHECK(MPI_Allreduce(&cold, &agreed, 1, MPI_INT, MPI_MAX, team->comm));
  choice->cold = agreed != 0;
  return ERR_OK;
}

static bool same_variant(struct sweep_variant a, struct sweep_variant b) {
  return a.isa == b.isa && a.streaming == b.streaming && a.always_diff == b.always_diff;
}

int tune_choose(const struct team *team, enum cfg_stores stores, int64_t nrows, int64_t ncols,
                double footprint, int64_t check_interval, struct tune_choice *choice) {
  *choice = (struct tune_choice){.stores = stores, .check_interval = check_interval};
  MPI_CHECK(MPI_Barrier(team->comm)); /* time together: the ranks share the memory bandwidth */
  double t0 = MPI_Wtime();
  /* First the instruction set, on a problem in cache, where the core is the limit (out of it
   * memory is): the one whose best candidate is fastest, and beside an 8-wide one the fastest
   * 4-wide one (tune_tile_isas). */
  int64_t rows, cols;
  problem(nrows, ncols, MIN_POINTS, &rows, &cols);
  /* with check_interval 1 every sweep is a check: the loops without the diff would never run */
  bool checks_only = check_interval == 1;
  double small[TUNE_CANDIDATES];
  CHECK(time_together(team, stores, checks_only, ~0u, rows, cols, false, small));
  for (int c = 0; c < TUNE_CANDIDATES; c++)
    choice->in_cache += isfinite(small[c]) ? 1 : 0;
  /* Then its stores and whether to drop the diff, on the tile itself, up to CAP_POINTS; from
   * cold caches if the tiles of this node's ranks do not fit in the caches they run on, which
   * the cut problem might: there regular and streaming stores rank differently. */
  problem(nrows, ncols, CAP_POINTS, &rows, &cols);
  CHECK(node_is_cold(team, footprint, rows * cols < nrows * ncols, choice));
  unsigned isas = tune_tile_isas(small);
  CHECK(time_together(team, stores, checks_only, isas, rows, cols, choice->cold,
                      choice->us_per_mlup));
  struct tune_trial *trial = &choice->trial;
  *trial = (struct tune_trial){
      .choices = 1, .between = check_interval > 1, .best = {INFINITY, INFINITY}, .winner = -1};
  tune_pick(choice->us_per_mlup, &trial->pair[0]);
  /* Tiles that fit by their sizes may not stay (tune.h): from cold caches too (where they can
   * be evicted), and where that chooses another variant for the sweeps that make up the run
   * (the checks with check_interval 1, else those between them), its first sweeps decide. */
  if (!choice->cold && check_interval > 0 && caches_can_evict()) {
    double cold_us[TUNE_CANDIDATES];
    CHECK(time_together(team, stores, checks_only, isas, rows, cols, true, cold_us));
    tune_pick(cold_us, &trial->pair[1]);
    choice->also_cold = true;
    const struct tune_pair *warm = &trial->pair[0], *cold = &trial->pair[1];
    bool differ = trial->between ? !same_variant(cold->between, warm->between)
                                 : !same_variant(cold->check, warm->check);
    trial->choices = differ ? 2 : 1;
  }
  double seconds = MPI_Wtime() - t0;
  MPI_CHECK(MPI_Allreduce(&seconds, &choice->seconds, 1, MPI_DOUBLE, MPI_MAX, team->comm));
  choice->rows = rows;
  choice->cols = cols;
  return ERR_OK;
}

const struct sweep_variant *tune_trial_variant(const struct tune_trial *trial, int64_t sweep,
                                               bool want_diff) {
  int pair = trial->winner >= 0 ? trial->winner
             : trial->choices == 2 && sweep < 2 * (int64_t)TUNE_TRIAL_SWEEPS
                 ? (int)(sweep / TUNE_TRIAL_SWEEPS)
                 : 0;
  return want_diff ? &trial->pair[pair].check : &trial->pair[pair].between;
}

bool tune_trial_open(const struct tune_trial *trial) {
  return trial->choices == 2 && trial->winner < 0;
}

int tune_trial_time(struct tune_trial *trial, const struct team *team, int64_t sweep,
                    bool want_diff, double seconds) {
  if (!tune_trial_open(trial) || sweep < 0 || sweep >= 2 * (int64_t)TUNE_TRIAL_SWEEPS)
    return ERR_OK;
  /* only the kind of sweep the trial is about: with check_interval >= 2 each three sweeps hold
   * one between checks at least */
  double *best = &trial->best[sweep / TUNE_TRIAL_SWEEPS];
  if (want_diff != trial->between && seconds < *best)
    *best = seconds;
  if (sweep < 2 * TUNE_TRIAL_SWEEPS - 1)
    return ERR_OK;
  double slowest[2];
  MPI_CHECK(MPI_Allreduce(trial->best, slowest, 2, MPI_DOUBLE, MPI_MAX, team->comm));
  trial->best[0] = slowest[0];
  trial->best[1] = slowest[1];
  trial->winner = slowest[1] < slowest[0] ? 1 : 0;
  return ERR_OK;
}

/* "avx2, regular stores", and for the sweeps between checks whether they keep the diff. */
static void describe_variant(char *text, size_t size, struct sweep_variant v, bool between) {
  snprintf(text, size, "%s, %s stores%s", sweep_isa_name(v.isa),
           v.streaming ? "streaming" : "regular",
           !between        ? ""
           : v.always_diff ? ", with the max-diff (dropping it not 5% faster here)"
                           : ", no max-diff");
}

/* What the trial did, for tune_describe: "" where there was none. `sweeps_between`: whether
 * the run has sweeps between checks, and so whether the pairs' variants for them are named. */
static void describe_trial(const struct tune_trial *trial, bool sweeps_between, char *text,
                           size_t size) {
  *text = '\0';
  if (trial->choices != 2)
    return;
  /* the other pair: its check variant, its variant between checks, or both where both differ */
  int other = trial->winner == 1 ? 0 : 1;
  const struct tune_pair *lost = &trial->pair[other], *ran = &trial->pair[1 - other];
  char names[192] = "", check[64], between_text[96];
  describe_variant(check, sizeof check, lost->check, false);
  describe_variant(between_text, sizeof between_text, lost->between, true);
  if (same_variant(lost->check, ran->check))
    snprintf(names, sizeof names, "between checks %s", between_text);
  else if (!sweeps_between || same_variant(lost->between, ran->between))
    snprintf(names, sizeof names, "%s", check);
  else
    snprintf(names, sizeof names, "%s; between checks %s", check, between_text);
  static const char *const how[2] = {"in cache", "from cold caches"};
  const char *kind = trial->between ? "between checks" : "with the max-diff";
  if (trial->winner < 0)
    snprintf(text, size,
             "; the run ended within the %d sweeps that were to choose between this, timed %s, "
             "and %s, timed %s (it ran both)",
             2 * TUNE_TRIAL_SWEEPS, how[0], names, how[1]);
  else
    snprintf(text, size,
             "; the run's first %d sweeps chose this, timed %s, over %s, timed %s: %.3g against "
             "%.3g ms the best sweep %s",
             2 * TUNE_TRIAL_SWEEPS, how[trial->winner], names, how[other],
             trial->best[trial->winner] * 1e3, trial->best[other] * 1e3, kind);
}

/* Whether the candidates were also timed from cold caches, for tune_describe, and where the
 * two timings chose the same, for which sweeps: "" where they were not. */
static const char *cold_timing(const struct tune_choice *choice, const struct tune_trial *trial) {
  if (!choice->also_cold)
    return "";
  if (trial->choices == 2) /* the trial's words say what the cold timing chose */
    return " and from cold caches";
  return trial->between ? " and from cold caches, which chose the same between checks"
                        : " and from cold caches, which chose the same for the checks";
}

void tune_describe(const struct tune_choice *choice, const struct tune_trial *trial, char *text,
                   size_t size) {
  if (trial == NULL)
    trial = &choice->trial;
  int ran = trial->winner >= 0 ? trial->winner : 0;
  int timed = 0;
  for (int c = 0; c < TUNE_CANDIDATES; c++)
    timed += isfinite(choice->us_per_mlup[c]) ? 1 : 0;
  char check[64], between[128], caches[128];
  /* the node's tiles against its caches, in MiB: why from cold caches, or not */
  double mib = 1024.0 * 1024.0;
  if (choice->cache_bytes > 0.0)
    snprintf(caches, sizeof caches, " %s caches (the node's tiles %.1f MiB, its caches %.1f MiB)",
             choice->cold ? "from cold" : "in", choice->node_bytes / mib,
             choice->cache_bytes / mib);
  else
    snprintf(caches, sizeof caches, "%s", choice->cold ? " from cold caches" : "");
  /* with check_interval 1 every sweep is a check: no variant runs between them */
  bool sweeps_between = choice->check_interval != 1;
  describe_variant(check, sizeof check, trial->pair[ran].check, false);
  if (sweeps_between) {
    char variant[96];
    describe_variant(variant, sizeof variant, trial->pair[ran].between, true);
    snprintf(between, sizeof between, "; between checks %s", variant);
  } else
    snprintf(between, sizeof between, ", every sweep a check");
  char tried[448];
  describe_trial(trial, sweeps_between, tried, sizeof tried);
  snprintf(text, size,
           "%s%s (solver.stores = \"%s\": %d variants timed in cache, %d on "
           "%lld x %lld points%s%s, in %.3f s%s)",
           check, between, cfg_stores_name(choice->stores), choice->in_cache, timed,
           (long long)choice->rows, (long long)choice->cols, caches, cold_timing(choice, trial),
           choice->seconds, tried);
}
