/* solve.h - the iteration over the distributed field: a step of the method (method.h: Jacobi's
 * sweep, Chebyshev's weighted sweep, multigrid's cycle), convergence decided with one
 * MPI_Allreduce at check iterations, halos exchanged between steps; checkpoints, signals and
 * progress, written once for every method and never asking which one runs.
 *
 * The stopping rule (docs/numerics.md, "What it solves"): iteration k computes x^k from x^(k-1) and
 * measures diff_k = max |J x^(k-1) - x^(k-1)| over the interior, the sweep change of the iterate
 * it read (for Jacobi, J x^(k-1) = x^k, so diff_k = max |x^k - x^(k-1)|). At every k that is a
 * multiple of check_interval, and at k = max_iterations, the ranks agree on diff_k; the run
 * stops, converged, when diff_k < tolerance (the classic rule, if on) and the guaranteed bound
 * on the error left is <= target_error (if on). The iterate it keeps is the one the check
 * certifies: Jacobi keeps x^k (the bound carries over one sweep, J being a contraction),
 * Chebyshev x^(k-1) (its step is no contraction), after k - 1 iterations. Otherwise it stops
 * at max_iterations, not converged. k is the global iteration number: a run continued from a file
 * that holds T^k0 starts at k0 + 1, so a restarted run checks, and stops, exactly where an
 * uninterrupted one does.
 *
 * Stopping on a signal: SIGTERM, SIGINT and SIGUSR1 (solve_catch_signals) only set a flag. The
 * ranks agree on it without a blocking collective: each iteration, after its halo exchange, a rank
 * completes the MPI_Iallreduce(MAX) of the flag started one iteration earlier and starts the
 * next one. Every rank completes the same reduction at the same iteration, so all stop at the
 * same k, with the halos of T^k exchanged; the values computed never depend on the flag, so the
 * field stays bit for bit the one of an uninterrupted run.
 *
 * A method with a stopping rule of its own (method.h's stop: the time stepper, transient.h) is
 * asked it after each check instead of the tolerance and target rules, then its output; its
 * state replaces the certificate in checkpoints and the result, its progress entry the line.
 */
#ifndef JACOBI_SOLVE_H
#define JACOBI_SOLVE_H

#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/bound/estimate.h"
#include "solver/kernel/sweep.h"
#include "solver/kernel/tune.h"
#include "solver/method/method.h"

#include <stdbool.h>
#include <stdint.h>

/* The state of an iterate: what a checkpoint, and the result, record of the iteration. */
struct solve_state {
  int64_t iteration;
  double change; /* the last agreed sweep change max |J x - x| (NaN: no check yet) */
  /* The distance of the iterate to T*: estimate and guaranteed bound (degrees). */
  double error_estimate, error_bound;
  struct method_state method;  /* the method's own (Chebyshev's start, the iterate before) */
  struct estimate_stall stall; /* a target out of reach, so far (estimate.h) */
};

/* The convergence history: a row (iteration or cycle, sweep change, error estimate, error
 * bound, seconds since the solve began) at every check. Bounded: when SOLVE_HISTORY_ROWS rows
 * are full, every other one is dropped and from then on every other check is kept (checks 0,
 * s, 2s, ... for a stride s); the first check is always kept, and the last is added at the
 * end. Which checks are kept depends on the check count alone, so the rows are the same on
 * every decomposition; the seconds are rank 0's. */
enum { SOLVE_HISTORY_ROWS = 1024, SOLVE_HISTORY_COLUMNS = 5 };
struct solve_history {
  int64_t rows;   /* rows held in values */
  int64_t stride; /* keep every stride-th check */
  int64_t checks; /* checks seen */
  bool pending;   /* the last check seen is not kept yet: it is in last */
  double last[SOLVE_HISTORY_COLUMNS];
  double values[(SOLVE_HISTORY_ROWS + 1) * SOLVE_HISTORY_COLUMNS]; /* + 1: the last check */
};

struct solve_params {
  /* The method (method.h): what a step is and what its check certifies. */
  const struct method_ops *method;
  const struct cfg *method_cfg; /* its own keys ([multigrid]); NULL: its defaults */
  void *method_context;     /* a method the application made: its state (method_setup.context) */
  enum halo_mode halo_mode; /* a method's own halos (multigrid's coarse levels), as the field's */
  double tolerance;         /* the classic rule: diff < tolerance (0: off) */
  double target_error;      /* the error rule: bound <= target_error (0: off) */
  /* The plate's error model (estimate.h), with its reference; for Chebyshev also where the
   * recurrence began (chebyshev_start): step s = k - chebyshev_start uses omega_s, and if
   * chebyshev_start < first_iteration the other buffer must hold x^(first_iteration - 1) (a
   * checkpoint of a Chebyshev run), so that the recurrence goes on exactly. */
  struct estimate_model estimate;
  /* A target out of reach (estimate_stalled), as far as the run continued had seen: {INFINITY,
   * first_iteration} for a fresh start. */
  struct estimate_stall stall;
  /* A method that does not sweep the fine field (method->sweeps false: multigrid's cycles) is
   * checked after every step; check_interval, streaming_stores, overlap and temporal_block are
   * the sweeps' and do not apply to it. */
  int64_t max_iterations;
  int64_t check_interval;
  bool streaming_stores; /* sweep with sweep_tile_streaming (same bits, other stores) */
  /* With variants_chosen (tune.h), the plain sweeps run sweep_tile_variant instead: those
   * whose diff is wanted with a pair's check variant, the others with its between variant,
   * the run's first sweeps trying both pairs if there are two (same bits). */
  bool variants_chosen;
  struct tune_trial variants;
  /* Begin each exchange after a sweep and end it inside the next one, after the points that
   * need no halo: the messages between nodes fly while they are swept (same bits). Only with
   * temporal_block = 1, and only where the rank has messages. */
  bool overlap;
  /* Sweeps per pass through memory (1: none). K > 1 needs rings K deep (field->depth >= K,
   * halos exchanged K deep) and K dividing check_interval and checkpoint_interval (cfg.c
   * checks): the iterations k + 1 .. the next multiple of K run as one sweep_levels wavefront
   * per tile over the tile grown by the levels still to come (overlapped tiles), and the halos
   * are exchanged once per block. */
  int64_t temporal_block;
  bool progress;           /* rank 0 prints a progress line about once a second */
  int64_t first_iteration; /* iterations the initial field has already had (a restart) */
  /* Every checkpoint_interval iterations (0: never), checkpoint(ctx, state) is called on
   * every rank with x^k current (for Chebyshev x^(k-1) in the other buffer); it is collective
   * and returns an agreed status. */
  int64_t checkpoint_interval;
  int (*checkpoint)(void *ctx, const struct solve_state *state);
  void *checkpoint_ctx;
  /* The history of the file this run continues from, which its own goes on from (seconds
   * counted on from its last check's); NULL: a history of its own. */
  const struct solve_history *history;
};

struct solve_result {
  struct solve_history history;
  /* The iterate left current; method.previous_valid only if the run may go on from it. */
  struct solve_state state;
  bool converged;
  bool interrupted; /* stopped by SIGTERM, SIGINT or SIGUSR1, agreed by every rank */
  /* Stopped because the bound stopped falling above solver.target_error (Chebyshev,
   * multigrid: rounding): the iteration of its best, and that best; 0 and 0 otherwise. */
  int64_t stalled_at;
  double stalled_bound;
  /* Seconds in each phase on this rank, and the run's wall time on this rank (without the
   * error measurements, estimate_seconds, which are not the solve). */
  double compute_seconds, halo_seconds, reduce_seconds, wall_seconds;
  double checkpoint_seconds; /* inside checkpoint(), included in wall_seconds */
  double estimate_seconds;   /* measuring the error (certify.h), left out of wall_seconds */
  int64_t exchanges;         /* halo exchanges this rank made */
  /* The method's figures (method.h): the variants its first sweeps chose (params->variants
   * if it has none), the work of a step, the residual's reduction a step, its levels. */
  struct method_figures figures;
};

/* The history as a file holds it, for a checkpoint written mid-run: `history` with its pending
 * check appended and rank 0's seconds on every rank (the file's writers write the same bytes).
 * Collective on team->comm. */
void solve_history_snapshot(const struct solve_history *history, const struct team *team,
                            struct solve_history *out);

/* Install the SIGTERM, SIGINT and SIGUSR1 handlers that ask solve_run to stop. Not collective; call
 * once per process, after MPI_Init. Errors: ERR_FAILURE (sigaction). */
int solve_catch_signals(void);

/* The guaranteed bound on max |x - T*| of the field's current buffer, T* the exact solution of
 * the steady equations the field's operator holds (its diag and load for a faces plate), by the
 * certificate the loop measures (certify.h) under `model` (main.c's, estimate.h), as if after
 * `iteration` steps; the rings are exchanged first. For the time stepper's "steady" end
 * (transient.h). Collective on team->comm; agreed status. */
int solve_certify(const struct field *field, struct halo *halo, const struct team *team,
                  const struct estimate_model *model, int64_t iteration, double *bound);

/* Fill the halos of the initial field, then iterate. Collective on team->comm.
 * Errors: ERR_FAILURE when the agreed diff is not finite (the field blew up) or MPI fails, and
 * whatever checkpoint() returns. */
int solve_run(struct field *field, struct halo *halo, const struct team *team,
              const struct solve_params *params, struct solve_result *out);

#endif /* JACOBI_SOLVE_H */
