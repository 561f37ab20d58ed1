/* tune.h - choosing the kernel variant on the machine that runs it (solver.stores = "auto").
 *
 * A short calibration at start-up times sweep.h's variants on a problem of this rank's tile
 * shape, all ranks at once, and every rank takes the same choice: the fastest by the slowest
 * rank's times; where the caches cannot be trusted, the run's first sweeps decide (the trial).
 * Every variant gives sweep_tile's bits, so the choice changes speed only. Why it is built
 * so: docs/design.md, "Choosing the kernel".
 *
 * Not for: the kernel (sweep.h), Chebyshev's weighted sweep or the temporal wavefront (they
 * take only the stores, or nothing, from the choice).
 */
#ifndef JACOBI_TUNE_H
#define JACOBI_TUNE_H

#include "io/cfg.h"
#include "runtime/team.h"
#include "solver/kernel/sweep.h"

#include <stddef.h>
#include <stdint.h>

/* Candidates: instruction set x stores x (with the diff, without it). */
enum { TUNE_CANDIDATES = SWEEP_ISA_COUNT * 2 * 2 };

/* The run's first TUNE_TRIAL_SWEEPS sweeps with one choice and the next as many with the other;
 * from then on the faster. */
enum { TUNE_TRIAL_SWEEPS = 3 };

struct tune_pair {
  struct sweep_variant check;   /* the sweeps whose max-diff is wanted (convergence checks) */
  struct sweep_variant between; /* the sweeps between checks: the fastest with or without it */
};

struct tune_trial {
  int choices; /* 2: the first sweeps decide between pair[0] and pair[1]; 1: pair[0] runs */
  /* [0] the calibration's choice (with a trial: timed in cache), [1] from cold caches */
  struct tune_pair pair[2];
  /* the sweeps timed: those between checks (check_interval > 1), else the checks */
  bool between;
  /* each pair's least seconds a sweep on this rank, then (decided) on the slowest rank */
  double best[2];
  int winner; /* the pair run from then on; -1: not decided (yet) */
};

struct tune_choice {
  /* pair[0] the calibration's choice; pair[1] the cold timing's where also_cold (else zeros),
   * run only where trial.choices is 2 */
  struct tune_trial trial;
  enum cfg_stores stores; /* what was asked: "auto", or the stores that were set */
  int64_t check_interval; /* the run's, as given to tune_choose (1: no sweep between checks) */
  int in_cache;           /* candidates timed in cache, for the instruction set */
  int64_t rows, cols;     /* the problem the chosen instruction set's were timed on */
  bool cold;      /* from cold caches: the node's tiles are more than its ranks' caches hold */
  bool also_cold; /* timed in cache and from cold caches too, for the trial (which may not be) */
  double node_bytes, cache_bytes; /* those tiles' and caches' bytes (caches 0: none known) */
  double seconds;                 /* the calibration's wall time, max over ranks */
  /* Each candidate's best time per million updates, max over ranks (INFINITY: not run). */
  double us_per_mlup[TUNE_CANDIDATES];
};

/* Time the candidates on a problem shaped like this rank's tile (nrows x ncols interior
 * points, its largest, capped at about a million points) and choose, the same on every rank,
 * from cold caches if the node's ranks' tiles (footprint: this rank's bytes, both buffers and
 * every tile, rings included) are more than the caches of the CPUs they run on hold; else in
 * cache, and from cold caches too for the trial (choice->trial) where the run's sweeps can
 * hold one (check_interval: the run's; 0: none can, as in temporal blocks) and the build can
 * evict (caches_can_evict): a trial if the two choose other variants for the sweeps most of
 * the run is made of (the checks with check_interval 1, else the sweeps between them). `stores`
 * limits the candidates to the stores set (CFG_STORES_REGULAR, CFG_STORES_STREAMING) or leaves
 * both (CFG_STORES_AUTO); with check_interval 1, where every sweep is a check, only the
 * candidates with the diff are timed. A rank without points times a small problem of its own,
 * so that every rank takes part. Costs 4 sweeps of that problem per candidate timed on it:
 * those of one instruction set, or two or three (tune_tile_isas; at most two with
 * check_interval 1), 4 candidates a set (2 with check_interval 1, half as many with the stores
 * set), twice where the tiles fit; after 2 sweeps of a small problem per candidate. Collective on
 * team->comm; returns an agreed status; errors: ERR_FAILURE (allocation, MPI). */
int tune_choose(const struct team *team, enum cfg_stores stores, int64_t nrows, int64_t ncols,
                double footprint, int64_t check_interval, struct tune_choice *choice);

/* The pair from times per candidate (index tune_index), the same times giving the same
 * pair: `check` the fastest with the diff, `between` the fastest of all if it is at least 5%
 * faster than `check`, else `check`'s loop itself (keeping the diff and dropping it). Not
 * collective. */
void tune_pick(const double us_per_mlup[TUNE_CANDIDATES], struct tune_pair *pair);

/* The instruction sets (a bit per enum sweep_isa) to time on the tile, from the times in
 * cache: those of the fastest candidate there and of the fastest with the diff (for the
 * checks) and, when the first's vectors are 8 doubles (AVX-512), also those of the fastest
 * 4-wide candidate with the diff and of the fastest 4-wide one of all: the width that wins in
 * cache may lose far out of it. Not collective. */
unsigned tune_tile_isas(const double in_cache[TUNE_CANDIDATES]);

/* Candidate index of an instruction set, stores and (without the diff) update only. */
int tune_index(enum sweep_isa isa, bool streaming, bool update_only);

/* The variant of sweep `sweep` (0: the run's first) of a run with this trial, with the max-diff
 * wanted or not: during the trial, its pairs in turn; then the winner's (pair[0] where there
 * was no trial, or it was not decided). Not collective. */
const struct sweep_variant *tune_trial_variant(const struct tune_trial *trial, int64_t sweep,
                                               bool want_diff);

/* Whether the trial still times sweeps: two pairs, not decided yet. Not collective. */
bool tune_trial_open(const struct tune_trial *trial);

/* Count `seconds`, this rank's time of sweep `sweep` (its sweeping, not its waits for halos),
 * in the trial if it is of the kind the trial times (trial->between: without the max-diff
 * wanted, else with it); after the trial's last sweep, decide: the pair whose best sweep on
 * the slowest rank was faster (pair[0] if neither was timed). Call after every sweep of the
 * run, on every rank (the last sweep of the trial is collective on team->comm). Errors:
 * ERR_FAILURE (MPI). */
int tune_trial_time(struct tune_trial *trial, const struct team *team, int64_t sweep,
                    bool want_diff, double seconds);

/* One line naming the variants run and how they were chosen, e.g. "avx2, regular stores;
 * between checks avx2, regular stores, no max-diff (solver.stores = "auto": 8 variants timed in
 * cache, 4 on 256 x 4096 points, in 0.033 s)", with the trial's outcome (`trial`: the run's
 * copy of choice->trial, after it; NULL: choice->trial, before the run). With check_interval 1
 * every sweep is a check, and the line names no variant between checks. Not collective. */
void tune_describe(const struct tune_choice *choice, const struct tune_trial *trial, char *text,
                   size_t size);

#endif /* JACOBI_TUNE_H */
