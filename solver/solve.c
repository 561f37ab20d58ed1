/* solve.c - the iteration loop; see solve.h. */
#include "solver/solve.h"

#include "common/err.h"
#include "common/minmax.h"
#include "solver/bound/certify.h"
#include "solver/report.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set by the handler, read by the loop: the only thing a handler may safely do. */
static volatile sig_atomic_t stop_requested = 0;

static void request_stop(int signo) {
  (void)signo;
  stop_requested = 1;
}

int solve_catch_signals(void) {
  struct sigaction sa = {0};
  sa.sa_handler = request_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  /* SIGINT too: Ctrl-C in a terminal reaches every rank of the foreground job directly, and
   * mpirun turns its own SIGINT into SIGTERM for the ranks; either way, checkpoint and stop. */
  if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0 ||
      sigaction(SIGINT, &sa, NULL) != 0)
    return err_errno(ERR_FAILURE, "installing the SIGTERM, SIGINT and SIGUSR1 handlers");
  return ERR_OK;
}

/* The stop agreement (solve.h): `pending` holds the reduction started one iteration ago. */
struct stop_vote {
  MPI_Request pending;
  int mine, agreed;
};

/* Complete last iteration's vote (if any) and start this one's; true if the completed vote
 * says stop. Called by every rank at the same iterations, so all see the same votes. */
static bool stop_agreed(struct stop_vote *v, const struct team *team) {
  bool stop = false;
  if (v->pending != MPI_REQUEST_NULL) {
    int rc = MPI_Wait(&v->pending, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS)
      team_abort(team, team_mpi_error(rc, "MPI_Wait (stop vote)"));
    stop = v->agreed != 0;
  }
  if (!stop) {
    v->mine = stop_requested;
    int rc = MPI_Iallreduce(&v->mine, &v->agreed, 1, MPI_INT, MPI_MAX, team->comm, &v->pending);
    if (rc != MPI_SUCCESS)
      team_abort(team, team_mpi_error(rc, "MPI_Iallreduce (stop vote)"));
  }
  return stop;
}

static void stop_vote_finish(struct stop_vote *v, const struct team *team) {
  int rc = v->pending != MPI_REQUEST_NULL ? MPI_Wait(&v->pending, MPI_STATUS_IGNORE) : MPI_SUCCESS;
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Wait (stop vote)"));
}

/* ---- the loop ----------------------------------------------------------------------------------
 * Written once for every method: it calls the method's step, agrees on the change at checks,
 * exchanges the halos between steps, measures, checkpoints, stops on a signal and prints the
 * progress; what a check certifies is the method's kind of check (method.h), never its name. */

struct loop {
  const struct solve_params *p;
  const struct method_ops *ops;
  void *method; /* the method's private data */
  struct method_iterate it;
  bool overlap; /* each exchange begun after a step and ended inside the next (sweeps.h) */
  struct estimate_stall stall; /* a target out of reach: the best bound and where */
  /* The error model, its estimate's reference moved to each measurement (certify.h), and the
   * iteration from which the next check is followed by one: measurements at the first checks
   * first_measure (64 sweeps, 1 cycle), twice that, 4 times, ... into the run (their cost, a
   * pass or two of the stencil, then stays below a few percent), at checkpoints and at the end. */
  struct estimate_model model;
  struct estimate_coarse coarse;
  int64_t next_measure;
  bool measure_now;
  double measure_seconds;
  /* The last check: the iterate it certified and its agreed change (the progress line's), and
   * whether the field left current is that iterate. */
  int64_t checked_at;
  double checked_change;
  bool certified;
  double start, last_progress; /* MPI_Wtime() */
  double seconds_before;       /* a continued history's seconds go on from its last check's */
};

/* A target out of reach (estimate.h: estimate_stalled), in the method's window. */
static bool stalled(struct loop *loop, int64_t k, double change, double bound) {
  int64_t window =
      loop->ops->stall_window != NULL ? loop->ops->stall_window(loop->method, &loop->stall) : 0;
  if (window <= 0 || loop->p->target_error <= 0)
    return false;
  return estimate_stalled(&loop->stall, &loop->p->estimate, k, change, bound, window);
}

/* The certificate of the current field (rings filled) and the guaranteed bound it gives under
 * `model`: the smallest of the change's, the maximum principle's, the residual profile's and
 * the slowest mode's shape's. `hint`: certify_field_hinted's guess at max |r| (<= 0: none).
 * Collective. */
static int certificate(const struct field *f, const struct team *team,
                       const struct estimate_coarse *coarse, const struct estimate_model *model,
                       int64_t iteration, double hint, struct certify_result *c, double *bound) {
  CHECK(certify_field_hinted(f, team, coarse, hint, c));
  struct estimate_model rounding = *model; /* B from this iterate where none is known */
  estimate_rounding_from(&rounding, c->reach);
  double changed = estimate_bound(&rounding, c->change, false, iteration);
  double cap = estimate_cap(model, c->lo, c->hi); /* the maximum principle's */
  double profiled = estimate_bound_profile(model, c->profile);
  double shaped = estimate_bound_profile(model, c->sine); /* the same rounding allowance */
  *bound = fmin(fmin(cap, fmin(profiled, shaped)), changed);
  return ERR_OK;
}

int solve_certify(const struct field *f, struct halo *halo, const struct team *team,
                  const struct estimate_model *model, int64_t iteration, double *bound) {
  method_exchange(halo_exchange, halo, team, f->current);
  struct estimate_coarse coarse;
  estimate_coarse_init(&coarse, f->layout->nx, f->layout->ny);
  struct certify_result c;
  return certificate(f, team, &coarse, model, iteration, 0.0, &c, bound); /* no hint: 2 passes */
}

/* The measured state of x^iteration, current, its halos filled or in flight (certify.h);
 * the model's estimate damps from here on. Collective. */
static int measure(struct loop *loop, int64_t iteration, double change, struct solve_state *state) {
  double t0 = MPI_Wtime();
  if (loop->ops->state != NULL) { /* its own figures: no certificate of the steady equations */
    *state = (struct solve_state){
        .iteration = iteration, .change = change, .method = {.chebyshev_start = -1}};
    loop->ops->state(loop->method, &state->error_estimate, &state->error_bound);
    return ERR_OK;
  }
  if (loop->it.in_flight) {
    method_exchange(halo_exchange_end, loop->it.halo, loop->it.team, loop->it.field->current);
    loop->it.in_flight = false;
  }
  struct certify_result c;
  double bound;
  /* the scale of the residual's sums from the change the loop has: one pass (certify.h) */
  CHECK(certificate(loop->it.field, loop->it.team, &loop->coarse, &loop->model, iteration,
                    4 * change, &c, &bound));
  *state = (struct solve_state){.iteration = iteration,
                                .change = change,
                                .error_estimate = estimate_from_coarse(c.change, c.estimate, bound),
                                .error_bound = bound,
                                .method = {.chebyshev_start = -1},
                                .stall = loop->stall};
  if (loop->ops->save != NULL)
    loop->ops->save(loop->method, iteration, &state->method);
  estimate_measured(&loop->model, iteration, state->error_estimate);
  loop->measure_seconds += MPI_Wtime() - t0;
  return ERR_OK;
}

/* A check's row into the history (solve.h): kept if its index is a multiple of the stride;
 * when the rows are full, every other one goes and the stride doubles. No allocation. */
static void history_add(struct solve_history *history, const double row[SOLVE_HISTORY_COLUMNS]) {
  int64_t index = history->checks++;
  if (index % history->stride != 0) {
    memcpy(history->last, row, sizeof history->last);
    history->pending = true;
    return;
  }
  if (history->rows == SOLVE_HISTORY_ROWS) {
    for (int64_t r = 0; 2 * r < history->rows; r++)
      memmove(&history->values[r * SOLVE_HISTORY_COLUMNS],
              &history->values[2 * r * SOLVE_HISTORY_COLUMNS], sizeof history->last);
    history->rows = (history->rows + 1) / 2;
    history->stride *= 2;
    if (index % history->stride != 0) {
      memcpy(history->last, row, sizeof history->last);
      history->pending = true;
      return;
    }
  }
  memcpy(&history->values[history->rows++ * SOLVE_HISTORY_COLUMNS], row, sizeof history->last);
  history->pending = false;
}

/* The last check into the rows, and rank 0's seconds to every rank (the file's writers write
 * the same bytes). Collective on team->comm. */
static void history_finish(struct solve_history *history, const struct team *team) {
  if (history->pending)
    memcpy(&history->values[history->rows++ * SOLVE_HISTORY_COLUMNS], history->last,
           sizeof history->last);
  history->pending = false;
  int rc = MPI_Bcast(history->values, (int)(history->rows * SOLVE_HISTORY_COLUMNS), MPI_DOUBLE, 0,
                     team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Bcast (convergence history)"));
}

void solve_history_snapshot(const struct solve_history *history, const struct team *team,
                            struct solve_history *out) {
  *out = *history;
  history_finish(out, team);
}

/* The last iteration of the step that begins at k: a temporal block runs on to the next
 * multiple of K (or max_iterations) in one pass, and checks, checkpoints and stops fall at its
 * end. */
static int64_t step_last(const struct solve_params *p, int64_t k) {
  if (p->temporal_block <= 1)
    return k;
  int64_t last = (k - 1) / p->temporal_block * p->temporal_block + p->temporal_block;
  return last < p->max_iterations ? last : p->max_iterations;
}

/* A method's own stopping rule and output (method.h: a time stepper's), after its check. */
static bool own_rule(struct loop *loop, int64_t last, double change, struct solve_result *out,
                     int *status) {
  bool done = false;
  *status = loop->ops->stop(loop->method, last, change, &done);
  if (*status == ERR_OK && loop->ops->output != NULL)
    *status = loop->ops->output(loop->method, last);
  out->converged = done && *status == ERR_OK;
  loop->certified = true;
  return done || *status != ERR_OK;
}

/* The check after the step that ended at `last`: agree on the change, record it, and decide.
 * Returns true if the run stops here (converged, out of reach, or *status set). Collective. */
static bool check(struct loop *loop, int64_t last, double local_change, struct solve_result *out,
                  int *status) {
  const struct solve_params *p = loop->p;
  const struct team *team = loop->it.team;
  double t1 = MPI_Wtime(), change = 0.0;
  int rc = MPI_Allreduce(&local_change, &change, 1, MPI_DOUBLE, MPI_MAX, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Allreduce (convergence)"));
  out->reduce_seconds += MPI_Wtime() - t1;
  out->state.change = change;
  if (!isfinite(change)) {
    *status = err_set(ERR_FAILURE, "the field is no longer finite at iteration %lld (max diff %g)",
                      (long long)last, change);
    return true;
  }
  loop->checked_at = method_checked_iterate(loop->ops, last);
  loop->checked_change = change;
  bool after_step = method_after_step(loop->ops);
  if (loop->ops->checked != NULL)
    loop->ops->checked(loop->method, change, &loop->model);
  if (loop->ops->stop != NULL)
    return own_rule(loop, last, change, out, status);
  bool classic = p->tolerance <= 0 || change < p->tolerance;
  double bound = estimate_bound(&p->estimate, change, after_step, loop->checked_at);
  double row[SOLVE_HISTORY_COLUMNS] = {
      (double)last, change, estimate_error(&loop->model, change, after_step, loop->checked_at),
      bound, loop->seconds_before + MPI_Wtime() - loop->start};
  history_add(&out->history, row);
  bool target = p->target_error <= 0 || bound <= p->target_error;
  bool profiled = false; /* met by the certificate of x^last, the iterate left current */
  if (classic && !target && row[2] <= p->target_error) {
    /* The change's bound is far above the error where the residual sits at the edges (a
     * cycle's): once the model's estimate says the target is met, measure the iterate the step
     * left current, whose certificate bounds it by the residual's profile (estimate.h), and stop
     * there if that meets it. A pass of the stencil, at the checks near the end only. */
    struct method_iterate *it = &loop->it;
    if (it->in_flight)
      method_exchange(halo_exchange_end, it->halo, team, it->field->current);
    it->in_flight = false;
    method_exchange(halo_exchange, it->halo, team, it->field->current);
    struct solve_state state;
    *status = measure(loop, last, change, &state);
    if (*status != ERR_OK)
      return true;
    profiled = target = state.error_bound <= p->target_error;
  }
  if (!target && stalled(loop, last, change, bound)) {
    out->stalled_at = loop->stall.at;
    out->stalled_bound = loop->stall.best;
    return true;
  }
  if (classic && target) {
    out->converged = true;
    if (loop->ops->check == METHOD_CHECK_INPUT && !profiled) { /* keep the iterate it read */
      loop->it.field->current = 1 - loop->it.field->current;
      out->state.iteration = last - 1;
    }
    loop->certified = true;
    return true;
  }
  loop->certified = loop->ops->check != METHOD_CHECK_INPUT;
  loop->measure_now = last - p->first_iteration >= loop->next_measure;
  return false;
}

/* After iteration k (not the last): x^k's halos exchanged or in flight, a stop on a signal, a
 * measurement or checkpoint due, the progress line. Returns true if the run stops here. */
static bool between_steps(struct loop *loop, int64_t k, struct stop_vote *vote,
                          struct solve_result *out, int *status) {
  const struct solve_params *p = loop->p;
  struct method_iterate *it = &loop->it;
  double t2 = MPI_Wtime();
  method_exchange(loop->overlap ? halo_exchange_begin : halo_exchange, it->halo, it->team,
                  it->field->current);
  it->in_flight = loop->overlap;
  out->exchanges++;
  double t3 = MPI_Wtime();
  out->halo_seconds += t3 - t2;

  /* x^k is complete, and its halos are or are in flight: a stop here leaves a state to
   * checkpoint and continue (the exchange is ended after the loop). A pending vote may
   * overlap the checkpoint's collectives: MPI orders collectives on one communicator by the
   * order every rank starts them, which is the same on all ranks. */
  if (stop_agreed(vote, it->team)) {
    out->interrupted = true;
    return true;
  }
  bool checkpoint = p->checkpoint_interval > 0 && k % p->checkpoint_interval == 0;
  if (checkpoint || loop->measure_now) {
    struct solve_state state;
    *status = measure(loop, k, out->state.change, &state);
    if (*status == ERR_OK && checkpoint)
      *status = p->checkpoint(p->checkpoint_ctx, &state);
    if (checkpoint)
      out->checkpoint_seconds += MPI_Wtime() - t3;
    if (*status != ERR_OK)
      return true;
    if (loop->measure_now)
      loop->next_measure *= 2;
    loop->measure_now = false;
  }

  if (p->progress && it->team->rank == 0 && t3 - loop->last_progress >= 1.0 &&
      loop->ops->progress != NULL) {
    char line[256];
    loop->ops->progress(loop->method, k, t3 - loop->start, line, sizeof line);
    printf("%s\n", line);
    fflush(stdout);
    loop->last_progress = t3;
  } else if (p->progress && it->team->rank == 0 && t3 - loop->last_progress >= 1.0) {
    double global_points = (double)it->field->layout->nx * (double)it->field->layout->ny;
    double estimate = estimate_error(&loop->model, loop->checked_change,
                                     method_after_step(loop->ops), loop->checked_at);
    report_progress(k, out->state.change, estimate,
                    global_points * (double)(k - p->first_iteration) / (t3 - loop->start) / 1e6,
                    t3 - loop->start);
    loop->last_progress = t3;
  }
  return false;
}

/* The field left current, measured: its ring first, for the stencil. A field the last check
 * certified one contraction after the iterate it measured keeps the smaller bound. */
static int finish(struct loop *loop, struct solve_result *out) {
  struct method_iterate *it = &loop->it;
  method_exchange(halo_exchange, it->halo, it->team, it->field->current);
  struct solve_state *state = &out->state;
  CHECK(measure(loop, state->iteration, state->change, state));
  if (loop->certified && method_after_step(loop->ops)) {
    double carried = estimate_bound(&loop->model, loop->checked_change, true, state->iteration);
    state->error_bound = carried < state->error_bound ? carried : state->error_bound;
  }
  state->error_estimate =
      state->error_estimate < state->error_bound ? state->error_estimate : state->error_bound;
  state->method.previous_valid = state->method.previous_valid && !out->converged;
  return ERR_OK;
}

int solve_run(struct field *f, struct halo *halo, const struct team *team,
              const struct solve_params *params, struct solve_result *out) {
  *out =
      (struct solve_result){.state = {.change = NAN, .method = {.chebyshev_start = -1}},
                            .history = {.stride = 1},
                            .figures = {.variants = params->variants, .convergence_factor = NAN}};
  const struct method_ops *ops = params->method;
  struct loop loop = {.p = params,
                      .ops = ops,
                      .it = {.field = f, .halo = halo, .team = team},
                      .stall = params->stall,
                      .model = params->estimate,
                      .next_measure = ops->first_measure,
                      .checked_at = params->first_iteration,
                      .checked_change = NAN,
                      .start = MPI_Wtime()};
  loop.last_progress = loop.start;
  if (params->history != NULL) { /* the history of the file continued goes on */
    const struct solve_history *history = params->history;
    out->history = *history;
    loop.seconds_before = history->pending
                              ? history->last[4]
                              : history->values[(history->rows - 1) * SOLVE_HISTORY_COLUMNS + 4];
  }
  estimate_coarse_init(&loop.coarse, f->layout->nx, f->layout->ny);
  struct method_setup setup = {.field = f,
                               .halo = halo,
                               .team = team,
                               .cfg = params->method_cfg,
                               .halo_mode = params->halo_mode,
                               .first_iteration = params->first_iteration,
                               .temporal_block = params->temporal_block,
                               .streaming_stores = params->streaming_stores,
                               .trial = params->variants_chosen ? &params->variants : NULL,
                               .model = &params->estimate,
                               .context = params->method_context};
  int status = ops->create(&setup, &loop.method);
  if (status != ERR_OK) {
    ops->destroy(&loop.method);
    return status;
  }

  /* The initial field's halos: the exchange that the first sweep reads. */
  method_exchange(halo_exchange, halo, team, f->current);
  out->exchanges++;
  out->halo_seconds += MPI_Wtime() - loop.start;

  /* Overlap (sweeps, and messages to wait for): each exchange is begun after a step and ended
   * inside the next one, after its inner points, before its edges. */
  loop.overlap = params->overlap && params->temporal_block == 1 && halo_counts(halo).messages > 0 &&
                 ops->sweeps;
  struct stop_vote vote = {.pending = MPI_REQUEST_NULL};
  out->state.iteration = params->first_iteration;
  for (int64_t done = params->first_iteration; done < params->max_iterations;) {
    int64_t k = done + 1, last = step_last(params, k);
    bool checked =
        last % params->check_interval == 0 || last == params->max_iterations || !ops->sweeps;
    double t0 = MPI_Wtime();
    loop.it.halo_wait = 0.0;
    double local_change = ops->step(loop.method, &loop.it, k, last, checked);
    out->compute_seconds += MPI_Wtime() - t0 - loop.it.halo_wait;
    out->halo_seconds += loop.it.halo_wait;
    out->state.iteration = done = last;
    loop.certified = false;
    if (checked && check(&loop, last, local_change, out, &status))
      break;
    /* the last iterate needs no halos (its certificate exchanges them if it must) */
    if (last == params->max_iterations || between_steps(&loop, last, &vote, out, &status))
      break;
  }
  if (loop.it.in_flight) /* every rank began the same exchange: end it, no message left over */
    method_exchange(halo_exchange_end, halo, team, f->current);
  stop_vote_finish(&vote, team);
  history_finish(&out->history, team);

  if (status == ERR_OK)
    status = finish(&loop, out);
  if (ops->figures != NULL)
    ops->figures(loop.method, &out->figures);
  ops->destroy(&loop.method);
  out->estimate_seconds = loop.measure_seconds;
  out->wall_seconds = MPI_Wtime() - loop.start - out->estimate_seconds;
  out->state.stall = loop.stall;
  return status;
}
