/* transient.c - the time stepper; see transient.h. */
#include "solver/transient.h"

#include "common/err.h"
#include "io/output.h"
#include "io/series.h"
#include "solver/bound/exact.h"
#include "solver/kernel/operator.h"
#include "solver/method/implicit.h"
#include "solver/method/method.h"
#include "solver/solve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stepper {
  struct field *f;
  struct halo *halo;
  const struct team *team;
  struct plate *plate;
  const struct cfg *cfg;
  double dt;
  /* Laid out as one field buffer (tile_offset), interior points meaningful: the capacity over
   * dt (W/K), the steady operator's own diagonal and load, and the fields of the two steps
   * before (T_n, and T_(n-1) for bdf2). */
  double *rate, *diag0, *load0, *old, *older;
  struct implicit_solver *solver; /* an implicit step's solve (implicit.h); NULL: explicit */
  struct io_series *series;
  enum halo_mode halo_mode; /* multigrid's coarse levels' */
  /* the next of time.output_times, and the next multiple of time.output_every, to pass */
  int64_t next_time, next_every;
  double snapshot_seconds; /* the snapshots' time so far */
  double since_bound;      /* the largest step bound since the last snapshot */
  /* The method's side (method.h): where the loop began, the last step's agreed change (the
   * next step's goal), its bound, a failed step's status for stop(), the step of the last
   * snapshot, the solves' work, the largest bound. */
  int64_t first_step, last_snapshot;
  double change, bound, worst_bound;
  int status;
  struct implicit_stats stats;
  char *checkpoint_path;
  /* time.end = "steady": the steady equations' error model (main.c's: ||A^-1||), the target,
   * max C/dt over the points, and the bound of the last certificate (NaN: none yet). */
  const struct estimate_model *steady;
  double target, rate_max, steady_bound;
};

static double *current(const struct field *f) { return f->base + f->current * f->buffer_len; }

static void stepper_release(struct stepper *s) {
  implicit_destroy(&s->solver);
  io_series_destroy(&s->series);
  free(s->rate);
  free(s->diag0);
  free(s->load0);
  free(s->old);
  free(s->older);
  free(s->checkpoint_path);
}

static int agree_max(const struct team *team, double *value) {
  MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, value, 1, MPI_DOUBLE, MPI_MAX, team->comm));
  return ERR_OK;
}

/* The heat row of the current field at `time` (series.h's columns). Collective. */
static int heat_row(struct stepper *s, double time, double row[IO_SERIES_HEAT]) {
  struct field *f = s->f;
  const double *x = current(f);
  /* stored energy, summed exactly: the same bits on every decomposition */
  double scale = 0.0;
  FIELD_FOR_POINTS(f, o, {
    double e = fabs(s->rate[o] * s->dt * x[o]);
    scale = e > scale ? e : scale;
  })
  CHECK(agree_max(s->team, &scale));
  int shift = exact_shift(f->layout->nx * f->layout->ny + 1);
  exact_wide sum = 0;
  FIELD_FOR_POINTS(f, o, { sum += exact_quantise((s->rate[o] * s->dt) * x[o], scale, shift); })
  double stored = 0.0;
  exact_sum(s->team, &sum, 1, &scale, shift, &stored);
  /* the flows of the steady operator's own diagonal and load at this field */
  method_exchange(halo_exchange, s->halo, s->team, f->current);
  double *diag = f->diag, *load = f->load;
  f->diag = s->diag0;
  f->load = s->load0;
  struct plate_heat heat;
  int status = plate_heat_flow(s->plate, f, s->halo, s->team, &heat);
  f->diag = diag;
  f->load = load;
  CHECK(status);
  double regions = 0.0;
  for (int r = 0; r < s->cfg->nregions; r++)
    regions += heat.region[r];
  double values[IO_SERIES_HEAT] = {time,
                                   stored,
                                   heat.edge[DECOMP_NORTH],
                                   heat.edge[DECOMP_SOUTH],
                                   heat.edge[DECOMP_WEST],
                                   heat.edge[DECOMP_EAST],
                                   regions,
                                   heat.source,
                                   heat.surface,
                                   s->since_bound};
  memcpy(row, values, sizeof values);
  plate_heat_release(&heat);
  return ERR_OK;
}

/* The snapshot of step k (the current field at t = k dt) into the series. Collective. */
static int snapshot(struct stepper *s, int64_t k) {
  double t0 = MPI_Wtime(), time = (double)k * s->dt;
  double row[IO_SERIES_HEAT];
  s->last_snapshot = k;
  CHECK(heat_row(s, time, row));
  s->since_bound = 0.0;
  int status = io_series_append(s->series, s->f, s->team, time, row);
  s->snapshot_seconds += MPI_Wtime() - t0;
  return status;
}

/* One forward Euler step: T1 = T0 + (dt/C) (load - A T0) at free points; the residual is
 * operator.h's. The current buffer's halos are filled (the loop exchanges them between steps). */
static void explicit_step(struct stepper *s) {
  struct field *f = s->f;
  const double *x = current(f);
  double *y = f->base + (1 - f->current) * f->buffer_len;
  double *const *c = f->cond;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t stride = field_stride(f, t), base = f->tile_offset[t] + f->depth * stride + f->depth;
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        int64_t o = base + li * stride + lj;
        double sum = OP_FACES(c[DECOMP_NORTH][o], x[o - stride], c[DECOMP_SOUTH][o], x[o + stride],
                              c[DECOMP_WEST][o], x[o - 1], c[DECOMP_EAST][o], x[o + 1]);
        double r = OP_FACES_RESIDUAL(sum, s->load0[o], s->diag0[o], x[o]);
        y[o] = s->rate[o] > 0.0 ? x[o] + r / s->rate[o] : x[o];
      }
  }
  f->current = 1 - f->current;
}

/* One implicit step (n counts from 0): the step's diagonal and load, then its solve
 * (implicit.h) from T_n to the step's error. Returns the bound reached in *bound. Collective. */
static int implicit_step(struct stepper *s, int64_t n, double goal, struct implicit_stats *stats,
                         double *bound) {
  struct field *f = s->f;
  bool second = s->cfg->scheme == CFG_SCHEME_BDF2 && n > 0;
  const double *x = current(f);
  FIELD_FOR_POINTS(f, o, {
    double a = s->rate[o];
    if (second) {
      f->diag[o] = s->diag0[o] + 1.5 * a;
      f->load[o] = s->load0[o] + a * (2.0 * x[o] - 0.5 * s->older[o]);
    } else {
      f->diag[o] = s->diag0[o] + a;
      f->load[o] = s->load0[o] + a * x[o];
    }
  })
  return implicit_solve(s->solver, second ? 1.5 : 1.0, n > 0 ? s->older : NULL, goal, n + 1, bound,
                        stats);
}

static int setup(struct stepper *s, struct transient_result *out) {
  struct field *f = s->f;
  size_t bytes = (size_t)f->buffer_len * sizeof(double);
  s->rate = calloc(1, bytes);
  s->diag0 = malloc(bytes);
  s->load0 = malloc(bytes);
  s->old = calloc(1, bytes);
  s->older = calloc(1, bytes);
  s->checkpoint_path = io_checkpoint_path(s->cfg->output_path);
  if (s->rate == NULL || s->diag0 == NULL || s->load0 == NULL || s->old == NULL ||
      s->older == NULL || s->checkpoint_path == NULL)
    return team_agree(s->team, err_set(ERR_FAILURE, "out of memory for the time stepper"));
  if (bytes > 0) { /* a rank that owns no tile has nothing to keep */
    memcpy(s->diag0, f->diag, bytes);
    memcpy(s->load0, f->load, bytes);
  }
  plate_capacity(s->plate, f, s->rate);
  double dt = s->dt, limit = INFINITY;
  FIELD_FOR_POINTS(f, o, {
    if (s->rate[o] > 0.0 && s->rate[o] / s->diag0[o] < limit)
      limit = s->rate[o] / s->diag0[o];
    s->rate[o] /= dt;
  })
  FIELD_FOR_POINTS(f, o, { s->rate_max = fmax(s->rate_max, s->rate[o]); })
  CHECK(agree_max(s->team, &s->rate_max));
  /* forward Euler keeps the max principle (and is stable) iff 1 - dt diag/C >= 0 everywhere */
  double neg = -limit;
  CHECK(agree_max(s->team, &neg));
  out->stability_limit = -neg;
  const struct cfg *cfg = s->cfg;
  if (cfg->scheme == CFG_SCHEME_EXPLICIT && dt > out->stability_limit) {
    const char *key = cfg_is_set(cfg, "time.step") ? "time.step" : "time.steps";
    return team_agree(
        s->team, err_set(ERR_CONFIG,
                         "%s: %s gives a step of %.6g s, above the explicit scheme's "
                         "stability limit %.6g s (min over the points of rho c t V / "
                         "diag): take time.steps >= %.0f, or scheme = \"implicit\"",
                         cfg_origin(cfg, key), key, dt, out->stability_limit,
                         isinf(cfg->time_end) ? 0.0 : ceil(cfg->time_end / out->stability_limit)));
  }
  if (cfg->scheme != CFG_SCHEME_EXPLICIT) {
    /* multigrid unless solver.method names another method */
    struct implicit_setup is = {
        .field = f,
        .halo = s->halo,
        .team = s->team,
        .cfg = cfg,
        .halo_mode = s->halo_mode,
        .rate = s->rate,
        .diag0 = s->diag0,
        .multigrid = !cfg_is_set(cfg, "solver.method") || cfg->method == CFG_METHOD_MULTIGRID,
        /* backward Euler's goal from its truncation error (implicit.h) */
        .truncation_fraction = cfg->step_error > 0 || cfg->scheme == CFG_SCHEME_BDF2 ? 0.0 : 0.5};
    CHECK(implicit_create(&is, &s->solver));
  }
  double x0 = s->plate->free_edge[DECOMP_WEST] ? 0.0 : s->plate->spacing;
  double y0 = s->plate->free_edge[DECOMP_NORTH] ? 0.0 : s->plate->spacing;
  double scale =
      fmax(s->plate->answer_hi, s->plate->start_hi) - fmin(s->plate->answer_lo, s->plate->start_lo);
  s->change = isfinite(scale) && scale > 0 ? scale : 1.0; /* the first step's goal's scale */
  s->steady_bound = NAN;
  if (isinf(cfg->time_end)) {
    /* until steady: the target, solver.target_error or 1e-6 of the temperatures' range */
    s->target = cfg->target_error > 0 ? cfg->target_error : 1e-6 * s->change;
    if (!(s->steady->inverse_norm < INFINITY))
      return team_agree(s->team,
                        err_set(ERR_CONFIG,
                                "%s: time.end = \"steady\" cannot be certified on this plate: no "
                                "bound on ||A^-1|| (its steady state is not unique, or no face "
                                "exchange makes it diagonally dominant; docs/numerics.md, \"Until "
                                "steady\"): give a time in s",
                                cfg_origin(cfg, "time.end")));
  }
  s->next_every = 1;
  if (cfg->from_file[0] == '\0')
    return io_series_create(cfg->output_path, f, s->team, cfg, s->plate->spacing, x0, y0,
                            cfg_scheme_name(cfg->scheme), &s->series);
  /* continued from a checkpoint of the series (io/series.h): T_n, T_(n-1) and where it stood */
  struct io_series_state st;
  CHECK(io_series_resume(cfg->output_path, cfg->from_file, f, s->team, cfg, s->plate->spacing, x0,
                         y0, cfg_scheme_name(cfg->scheme), s->old, &st, &s->series));
  plate_impose(s->plate, f, f->current); /* held points are the plate's, as in a fresh start */
  s->first_step = s->last_snapshot = st.step;
  s->next_time = st.next_time;
  s->next_every = st.next_every;
  s->change = st.change;
  s->since_bound = st.since_bound;
  s->worst_bound = st.worst_bound;
  s->stats.sweeps = st.sweeps;
  s->stats.cycles = st.cycles;
  return ERR_OK;
}

/* Whether the step ending at n + 1 reaches or passes an output time (or is the last). */
static bool output_due(struct stepper *s, int64_t n) {
  const struct cfg *cfg = s->cfg;
  const struct cfg_floats *times = &cfg->output_times;
  if (n + 1 == cfg->time_steps || (cfg->output_every <= 0 && times->count == 0))
    return true;
  double t = (double)(n + 1) * s->dt, slack = 1e-12 * t; /* a time on a step is on it */
  bool due = false;
  for (; s->next_time < times->count && times->values[s->next_time] <= t + slack; s->next_time++)
    due = true;
  for (; cfg->output_every > 0 && (double)s->next_every * cfg->output_every <= t + slack;
       s->next_every++)
    due = true;
  return due;
}

/* ---- the stepper as a method (method.h) -------------------------------------------------------
 * The loop (solve.h) runs it as any method: a step is one time step, every step is checked (its
 * change max |T_(n+1) - T_n| agreed by the loop's allreduce), the stepper's own rule ends the
 * run at time.end, its output is the snapshot, and the loop's checkpoints, signals and progress
 * line serve it unchanged. Its data is the stepper, made and kept by transient_run. */

static int stepper_create(const struct method_setup *setup, void **data) {
  *data = setup->context;
  return ERR_OK;
}

static void stepper_destroy(void **data) { *data = NULL; /* transient_run owns the stepper */ }

/* Time step k (from T_(k-1), current, to T_k); this rank's change. A failed solve's status is
 * kept for stop() (every rank's the same: implicit_solve agrees it). */
static double stepper_step(void *data, struct method_iterate *it, int64_t k, int64_t last,
                           bool want_change) {
  (void)it, (void)last, (void)want_change;
  struct stepper *s = data;
  struct field *f = s->f;
  int64_t n = k - 1;
  size_t bytes = (size_t)f->buffer_len * sizeof(double);
  if (bytes > 0) /* T_(n-1): bdf2's right-hand side, and the solve's start */
    memcpy(s->older, s->old, bytes);
  if (bytes > 0)
    memcpy(s->old, current(f), bytes);
  s->bound = 0.0;
  if (s->cfg->scheme == CFG_SCHEME_EXPLICIT) {
    explicit_step(s);
    s->stats.sweeps++;
  } else {
    double fraction = s->cfg->scheme == CFG_SCHEME_BDF2 ? 1e-4 : 1e-3;
    double goal = s->cfg->step_error > 0 ? s->cfg->step_error : fraction * s->change;
    /* until steady: no step need be solved far below the steady target (the certificate
     * measures what the steps reached), nor below what rounding lets a solve certify */
    if (isinf(s->cfg->time_end) && s->cfg->step_error <= 0)
      goal = fmax(goal, 0.1 * s->target);
    int64_t sweeps = s->stats.sweeps, cycles = s->stats.cycles;
    struct implicit_stats stats = {0};
    s->status = team_agree(s->team, implicit_step(s, n, goal, &stats, &s->bound));
    s->stats.sweeps = sweeps + stats.sweeps;
    s->stats.cycles = cycles + stats.cycles;
  }
  s->since_bound = fmax(s->since_bound, s->bound);
  s->worst_bound = fmax(s->worst_bound, s->bound);
  const double *x = current(f);
  double mine = 0.0;
  FIELD_FOR_POINTS(f, o, { mine = fmax(mine, fabs(x[o] - s->old[o])); })
  return mine;
}

/* time.end = "steady": whether T_k is certified within the target of T*, the steady
 * equations' solution (docs/numerics.md, "Until steady"). The steady residual of T_k is, up to
 * the step's solve error, (C/dt) times a combination of the last two changes (backward Euler:
 * (C/dt) (T_k - T_(k-1)); bdf2: (C/dt) (3/2 d_k - 1/2 d_(k-1))), so ||A^-1|| max(C/dt) 2 change
 * predicts the distance; once it says the target is met, the steady certificate itself (the
 * steady solve's, solve_certify, on the steady operator) measures T_k, and decides. Collective. */
static int steady_reached(struct stepper *s, int64_t k, bool *done) {
  double predicted = s->steady->inverse_norm * s->rate_max * 2.0 * s->change;
  *done = false;
  if (!(predicted <= s->target))
    return ERR_OK;
  struct field *f = s->f;
  double *diag = f->diag, *load = f->load;
  f->diag = s->diag0;
  f->load = s->load0;
  int status = solve_certify(f, s->halo, s->team, s->steady, k, &s->steady_bound);
  f->diag = diag;
  f->load = load;
  *done = status == ERR_OK && s->steady_bound <= s->target;
  return status;
}

static int stepper_stop(void *data, int64_t k, double change, bool *done) {
  struct stepper *s = data;
  s->change = change;
  *done = k >= s->cfg->time_steps;
  if (s->status != ERR_OK || !isinf(s->cfg->time_end))
    return s->status;
  return steady_reached(s, k, done);
}

static int stepper_output(void *data, int64_t k) {
  struct stepper *s = data;
  return output_due(s, k - 1) ? snapshot(s, k) : ERR_OK;
}

static void stepper_state(const void *data, double *error_estimate, double *error_bound) {
  const struct stepper *s = data;
  *error_estimate = *error_bound = s->worst_bound;
}

static void stepper_progress(const void *data, int64_t k, double elapsed, char *text, size_t len) {
  const struct stepper *s = data;
  double per_step = elapsed / (double)(k - s->first_step);
  if (isinf(s->cfg->time_end)) /* until steady: how far, predicted from the change */
    snprintf(text, len,
             "  t = %-10.4g s  step %lld (at most %lld)  change %.3g  bound %.3g  steady within "
             "about %.3g (target %.3g)",
             (double)k * s->dt, (long long)k, (long long)s->cfg->time_steps, s->change, s->bound,
             s->steady->inverse_norm * s->rate_max * 2.0 * s->change, s->target);
  else
    snprintf(text, len, "  t = %-10.4g s  step %lld/%lld  change %.3g  bound %.3g  %.0f s left",
             (double)k * s->dt, (long long)k, (long long)s->cfg->time_steps, s->change, s->bound,
             per_step * (double)(s->cfg->time_steps - k));
}

static const struct method_ops method_stepper = {
    .name = "time stepper",
    .step_name = "time step",
    .check = METHOD_CHECK_RESULT,
    .first_measure = INT64_MAX, /* no certificate of the steady equations between steps */
    .create = stepper_create,
    .step = stepper_step,
    .stop = stepper_stop,
    .output = stepper_output,
    .state = stepper_state,
    .progress = stepper_progress,
    .destroy = stepper_destroy,
};

/* Where the series stands after `step` steps, for a checkpoint. */
static struct io_series_state stepper_record(const struct stepper *s, int64_t step) {
  return (struct io_series_state){.step = step,
                                  .dt = s->dt,
                                  .next_time = s->next_time,
                                  .next_every = s->next_every,
                                  .change = s->change,
                                  .since_bound = s->since_bound,
                                  .worst_bound = s->worst_bound,
                                  .sweeps = s->stats.sweeps,
                                  .cycles = s->stats.cycles};
}

/* solve_params.checkpoint: the series so far, T_k and T_(k-1) to the checkpoint. Collective. */
static int stepper_checkpoint(void *ctx, const struct solve_state *state) {
  struct stepper *s = ctx;
  struct io_series_state record = stepper_record(s, state->iteration);
  return io_series_checkpoint(s->series, s->checkpoint_path, s->f, s->team, s->old, &record);
}

static int march(struct stepper *s, bool progress, struct transient_result *out) {
  const struct cfg *cfg = s->cfg;
  double t0 = MPI_Wtime();
  if (s->first_step == 0)
    CHECK(snapshot(s, 0));
  struct solve_params params = {.method = &method_stepper,
                                .method_context = s,
                                .halo_mode = s->halo_mode,
                                .estimate = {0},
                                .stall = {INFINITY, s->first_step},
                                .max_iterations = cfg->time_steps,
                                .check_interval = 1,
                                .temporal_block = 1,
                                .progress = progress,
                                .first_iteration = s->first_step,
                                .checkpoint_interval = cfg->checkpoint_interval,
                                .checkpoint = stepper_checkpoint,
                                .checkpoint_ctx = s};
  struct solve_result r;
  CHECK(solve_run(s->f, s->halo, s->team, &params, &r));
  out->steps = r.state.iteration;
  out->interrupted = r.interrupted;
  out->last_change = s->change;
  out->worst_bound = s->worst_bound;
  out->sweeps = s->stats.sweeps;
  out->cycles = s->stats.cycles;
  out->steady = isinf(cfg->time_end);
  out->reached = r.converged;
  out->steady_bound = s->steady_bound;
  out->steady_target = s->target;
  if (r.interrupted) {
    /* a signal: the checkpoint first (the series as an uninterrupted run has it), then the
     * stop's snapshot, so that the series file closes whole at the step reached */
    struct solve_state state = {.iteration = out->steps};
    CHECK(stepper_checkpoint(s, &state));
    out->checkpointed = true;
  }
  if (s->last_snapshot != out->steps)
    CHECK(snapshot(s, out->steps));
  CHECK(io_series_commit(s->series, s->team, out->steps));
  out->snapshots = io_series_count(s->series);
  out->seconds = MPI_Wtime() - t0 - s->snapshot_seconds;
  out->snapshot_seconds = s->snapshot_seconds;
  CHECK(agree_max(s->team, &out->snapshot_seconds));
  return agree_max(s->team, &out->seconds);
}

int transient_run(struct field *f, struct halo *halo, const struct team *team, struct plate *plate,
                  const struct cfg *cfg, const struct estimate_model *steady,
                  enum halo_mode halo_mode, bool progress, struct transient_result *out) {
  *out = (struct transient_result){0};
  if (!field_faces(f) || f->depth != 1)
    return team_agree(team, err_set(ERR_FAILURE, "the transient needs the faces operator and "
                                                 "one-deep rings"));
  struct stepper s = {.f = f,
                      .halo = halo,
                      .team = team,
                      .plate = plate,
                      .cfg = cfg,
                      .halo_mode = halo_mode,
                      .steady = steady,
                      .dt = cfg->time_step};
  int status = setup(&s, out);
  if (status == ERR_OK)
    status = march(&s, progress, out);
  stepper_release(&s);
  return status;
}
