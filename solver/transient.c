/* transient.c - the time stepper; see transient.h. */
#include "solver/transient.h"

#include "common/err.h"
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

static int snapshot(struct stepper *s, double time) {
  double t0 = MPI_Wtime();
  double row[IO_SERIES_HEAT];
  CHECK(heat_row(s, time, row));
  s->since_bound = 0.0;
  int status = io_series_append(s->series, s->f, s->team, time, row);
  s->snapshot_seconds += MPI_Wtime() - t0;
  return status;
}

/* One forward Euler step: T1 = T0 + (dt/C) (load - A T0) at free points; the residual is
 * operator.h's. The current buffer's halos are filled. */
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
  if (s->rate == NULL || s->diag0 == NULL || s->load0 == NULL || s->old == NULL || s->older == NULL)
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
  /* forward Euler keeps the max principle (and is stable) iff 1 - dt diag/C >= 0 everywhere */
  double neg = -limit;
  CHECK(agree_max(s->team, &neg));
  out->stability_limit = -neg;
  const struct cfg *cfg = s->cfg;
  if (cfg->scheme == CFG_SCHEME_EXPLICIT && dt > out->stability_limit) {
    const char *key = cfg_is_set(cfg, "time.step") ? "time.step" : "time.steps";
    return team_agree(s->team, err_set(ERR_CONFIG,
                                       "%s: %s gives a step of %.6g s, above the explicit scheme's "
                                       "stability limit %.6g s (min over the points of rho c t V / "
                                       "diag): take time.steps >= %.0f, or scheme = \"implicit\"",
                                       cfg_origin(cfg, key), key, dt, out->stability_limit,
                                       ceil(cfg->time_end / out->stability_limit)));
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
  return io_series_create(cfg->output_path, f, s->team, cfg, s->plate->spacing, x0, y0,
                          cfg_scheme_name(cfg->scheme), &s->series);
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

static int march(struct stepper *s, bool progress, struct transient_result *out) {
  struct field *f = s->f;
  const struct cfg *cfg = s->cfg;
  double t0 = MPI_Wtime(), last_print = t0;
  struct implicit_stats stats = {0};
  double scale =
      fmax(s->plate->answer_hi, s->plate->start_hi) - fmin(s->plate->answer_lo, s->plate->start_lo);
  double fraction = cfg->scheme == CFG_SCHEME_BDF2 ? 1e-4 : 1e-3;
  double change = isfinite(scale) && scale > 0 ? scale : 1.0;
  s->next_every = 1;
  CHECK(snapshot(s, 0.0));
  out->snapshots = 1;
  for (int64_t n = 0; n < cfg->time_steps; n++) {
    size_t bytes = (size_t)f->buffer_len * sizeof(double);
    if (bytes > 0) /* T_(n-1): bdf2's right-hand side, and the solve's start */
      memcpy(s->older, s->old, bytes);
    if (bytes > 0)
      memcpy(s->old, current(f), bytes);
    double bound = 0.0;
    if (cfg->scheme == CFG_SCHEME_EXPLICIT) {
      method_exchange(halo_exchange, s->halo, s->team, f->current);
      explicit_step(s);
      out->sweeps++;
    } else {
      double goal = cfg->step_error > 0 ? cfg->step_error : fraction * change;
      CHECK(team_agree(s->team, implicit_step(s, n, goal, &stats, &bound)));
      out->sweeps = stats.sweeps;
      out->cycles = stats.cycles;
    }
    s->since_bound = fmax(s->since_bound, bound);
    out->worst_bound = fmax(out->worst_bound, bound);
    /* the step's change, for the next step's error and the summary */
    const double *x = current(f);
    double mine = 0.0;
    FIELD_FOR_POINTS(f, o, { mine = fmax(mine, fabs(x[o] - s->old[o])); })
    CHECK(agree_max(s->team, &mine));
    change = mine;
    out->steps = n + 1;
    out->last_change = change;
    /* a signal: agreed after every step (a reduction of one int, small beside a step), the
     * series closed with this step's snapshot; every rank stops after the same step */
    int stop = solve_stop_requested();
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, s->team->comm));
    out->interrupted = stop != 0 && n + 1 < cfg->time_steps;
    if (out->interrupted || output_due(s, n)) {
      CHECK(snapshot(s, (double)(n + 1) * s->dt));
      out->snapshots++;
    }
    double now = MPI_Wtime();
    if (progress && s->team->rank == 0 && now - last_print >= 1.0) {
      double per_step = (now - t0) / (double)(n + 1);
      printf("  t = %-10.4g s  step %lld/%lld  change %.3g  bound %.3g  %.0f s left\n",
             (double)(n + 1) * s->dt, (long long)(n + 1), (long long)cfg->time_steps, change, bound,
             per_step * (double)(cfg->time_steps - n - 1));
      fflush(stdout);
      last_print = now;
    }
    if (out->interrupted)
      break;
  }
  CHECK(io_series_commit(s->series, s->team, out->steps));
  out->seconds = MPI_Wtime() - t0 - s->snapshot_seconds;
  out->snapshot_seconds = s->snapshot_seconds;
  CHECK(agree_max(s->team, &out->snapshot_seconds));
  return agree_max(s->team, &out->seconds);
}

int transient_run(struct field *f, struct halo *halo, const struct team *team, struct plate *plate,
                  const struct cfg *cfg, enum halo_mode halo_mode, bool progress,
                  struct transient_result *out) {
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
                      .dt = cfg->time_step};
  int status = setup(&s, out);
  if (status == ERR_OK)
    status = march(&s, progress, out);
  stepper_release(&s);
  return status;
}
