/* solve.c - the iteration loop; see solve.h. */
#include "solver/solve.h"

#include "common/err.h"
#include "common/minmax.h"
#include "solver/bound/certify.h"
#include "solver/kernel/sweep.h"
#include "solver/report.h"

#include <math.h>
#include <signal.h>
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

/* Which points of each tile a sweep covers: all; those that need none of the ring that
 * messages fill (the tile less its outermost row or column on each such side); or the rest. */
enum sweep_part { SWEEP_ALL, SWEEP_INNER, SWEEP_EDGES };

/* How one step sweeps: plain (Jacobi) or weighted by omega (Chebyshev), regular or streaming
 * stores, the diff wanted or not. */
struct sweep_kind {
  bool weighted;
  double omega;
  bool streaming;
  bool want_diff;
  const struct sweep_variant *variant; /* plain sweeps: the one chosen (NULL: none) */
};

/* Rows [r0, r0 + nrows) x columns [c0, c0 + ncols) of tile t, buffer `in` into the other,
 * local coordinates. */
static double sweep_rows(struct field *f, int64_t t, int64_t r0, int64_t c0, int64_t nrows,
                         int64_t ncols, const struct sweep_kind *kind) {
  if (nrows <= 0 || ncols <= 0)
    return 0.0;
  int64_t stride = field_stride(f, t);
  /* the kernel takes the part with a one-point ring: its corner is one point up and left */
  int64_t at = (r0 - 1) * stride + c0 - 1;
  const double *from = field_interior(f, f->current, t) + at;
  double *to = field_interior(f, 1 - f->current, t) + at;
  if (field_general(f)) { /* coef and rhs sit where the point sits in a buffer */
    int64_t in_buffer = from - (f->base + (int64_t)f->current * f->buffer_len);
    return sweep_tile_general(from, to, f->coef + in_buffer, f->rhs + in_buffer, nrows, ncols,
                              stride, kind->weighted ? kind->omega : 1.0, kind->streaming,
                              kind->want_diff);
  }
  if (kind->weighted)
    return sweep_tile_weighted(from, to, nrows, ncols, stride, kind->omega, kind->streaming,
                               kind->want_diff);
  if (kind->variant != NULL)
    return sweep_tile_variant(*kind->variant, from, to, nrows, ncols, stride, kind->want_diff);
  if (kind->streaming)
    return sweep_tile_streaming(from, to, nrows, ncols, stride);
  if (kind->want_diff)
    return sweep_tile(from, to, nrows, ncols, stride);
  sweep_tile_update(from, to, nrows, ncols, stride);
  return 0.0;
}

/* Part of one iteration over every tile, from buffer f->current into the other; `h` says
 * which sides wait for messages (SWEEP_INNER and SWEEP_EDGES only). The edges are whole rows
 * where they can be: the top and bottom strips span the tile, the side strips what is left. */
static double local_sweep(struct field *f, const struct halo *h, enum sweep_part part,
                          const struct sweep_kind *kind) {
  double max_diff = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t n = f->tiles[t].nrows, m = f->tiles[t].ncols;
    unsigned sides = part == SWEEP_ALL ? 0u : halo_message_sides(h, t);
    int64_t top = (sides >> DECOMP_NORTH) & 1, bottom = (sides >> DECOMP_SOUTH) & 1;
    int64_t left = (sides >> DECOMP_WEST) & 1, right = (sides >> DECOMP_EAST) & 1;
    int64_t inner_rows = n - top - bottom, inner_cols = m - left - right;
    /* The pieces are disjoint, also on a tile thinner than its edges (whose inner part is
     * empty): a weighted sweep reads its output's old value, so no point may be swept twice. */
    int64_t bottom_row = max64(top, n - bottom), right_col = max64(left, m - right);
    int64_t side_rows = max64(inner_rows, 0);
    /* (row, column, rows, columns) of each piece of this part */
    const int64_t all[1][4] = {{0, 0, n, m}}, inner[1][4] = {{top, left, inner_rows, inner_cols}};
    const int64_t edges[4][4] = {{0, 0, min64(top, n), m},
                                 {bottom_row, 0, n - bottom_row, m},
                                 {top, 0, side_rows, min64(left, m)},
                                 {top, right_col, side_rows, m - right_col}};
    const int64_t(*pieces)[4] = part == SWEEP_ALL ? all : part == SWEEP_INNER ? inner : edges;
    int npieces = part == SWEEP_EDGES ? 4 : 1;
    for (int p = 0; p < npieces; p++) {
      double diff = sweep_rows(f, t, pieces[p][0], pieces[p][1], pieces[p][2], pieces[p][3], kind);
      max_diff = diff > max_diff ? diff : max_diff;
    }
  }
  return max_diff;
}

/* `levels` <= f->depth iterations in one pass over each tile (overlapped tiles): level l
 * computes the tile grown by levels - 1 - l points, clipped to the grid, so the last level is
 * the tile itself and every level reads only what the level before wrote, the fixed boundary
 * or (level 0) the ring the last exchange filled. rect has room for `levels` entries; omega is
 * NULL (Jacobi) or each level's weight; scratch is NULL or room for the rows of Jacobi's
 * levels (sweep_levels_scratch of the widest tile's stride). */
static double local_sweep_levels(struct field *f, int64_t levels, struct sweep_rect *rect,
                                 const double *omega, double *scratch) {
  const struct decomp_layout *l = f->layout;
  double max_diff = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    for (int64_t level = 0; level < levels; level++) {
      int64_t grow = levels - 1 - level;
      /* in storage coordinates: interior point (0, 0) of the tile is (depth, depth) */
      int64_t top = max64(tile->row0 - grow, 0),
              bottom = min64(tile->row0 + tile->nrows + grow, l->ny);
      int64_t left = max64(tile->col0 - grow, 0),
              right = min64(tile->col0 + tile->ncols + grow, l->nx);
      rect[level] =
          (struct sweep_rect){top - tile->row0 + f->depth, bottom - tile->row0 + f->depth,
                              left - tile->col0 + f->depth, right - tile->col0 + f->depth};
    }
    double *const buffers[2] = {field_tile(f, 0, t), field_tile(f, 1, t)};
    const double *const terms[2] = {f->coef + f->tile_offset[t], f->rhs + f->tile_offset[t]};
    double diff = sweep_levels(buffers, f->current, field_stride(f, t), levels, rect, omega,
                               field_general(f) ? terms : NULL, scratch);
    max_diff = diff > max_diff ? diff : max_diff;
  }
  f->current = (int)((f->current + levels) % 2);
  return max_diff;
}

/* A failed exchange leaves neighbours waiting in theirs: no collective can settle it. */
static void exchange_or_abort(int (*exchange)(struct halo *, int), struct halo *h,
                              const struct team *team, int buf) {
  if (exchange(h, buf) != ERR_OK)
    team_abort(team, ERR_FAILURE);
}

/* ---- the methods -------------------------------------------------------------------------------
 * A method says what one step does (iterations k .. last, last > k only with temporal blocks)
 * and which iterate a check certifies; the loop below, written once, does the checks, the
 * halo exchanges, checkpoints, signals and progress. */

struct loop {
  struct field *f;
  struct halo *h;
  const struct team *team;
  const struct solve_params *p;
  struct sweep_rect *rect;    /* temporal_block entries */
  double *scratch;            /* Jacobi's temporal blocks: the wavefront's rows (sweep.h) */
  double *omega;              /* temporal_block entries: each level's weight */
  bool in_flight;             /* an exchange begun and not ended (overlap) */
  struct tune_trial variants; /* the plain sweeps' variants, their trial counted (tune.h) */
  double halo_wait;           /* seconds of this step spent completing an exchange */
  /* Chebyshev: the recurrence began at chebyshev_start; omega_last is omega of step
   * last_step (0: none yet). */
  int64_t chebyshev_start, last_step;
  double omega_last;
  struct estimate_stall stall; /* a target out of reach: the best bound and where */
  /* The error model, its estimate's reference moved to each measurement (certify.h), and the
   * iteration from which the next check is followed by one: measurements at the first checks
   * 64, 128, 256, ... iterations into the run (their cost, a pass or two of the stencil, then
   * stays below a few percent), at checkpoints and at the end. */
  struct estimate_model model;
  struct estimate_coarse coarse;
  int64_t next_measure;
  double measure_seconds;
  struct multigrid *mg; /* multigrid's levels and transfers */
};

struct method {
  const char *name;
  /* Iterations k .. last from f->current; returns this rank's sweep change of the iterate
   * the last of them read (if want_diff). Leaves the result current. */
  double (*step)(struct loop *loop, int64_t k, int64_t last, bool want_diff);
  /* Whether a check certifies the iterate the step read (x^(last - 1)) rather than the one it
   * wrote (x^last). */
  bool certifies_input;
  /* Whether the change the step returns is that of the iterate it wrote (multigrid measures
   * its result), rather than of the one it read (a sweep's change). */
  bool change_of_result;
};

/* One plain or weighted sweep of every tile, overlapping an exchange in flight. */
static double sweep_once(struct loop *loop, const struct sweep_kind *kind) {
  struct field *f = loop->f;
  double diff;
  if (loop->in_flight) {
    diff = local_sweep(f, loop->h, SWEEP_INNER, kind);
    double tw = MPI_Wtime();
    exchange_or_abort(halo_exchange_end, loop->h, loop->team, f->current);
    loop->in_flight = false;
    loop->halo_wait += MPI_Wtime() - tw;
    double edges = local_sweep(f, loop->h, SWEEP_EDGES, kind);
    diff = edges > diff ? edges : diff;
  } else {
    diff = local_sweep(f, loop->h, SWEEP_ALL, kind);
  }
  f->current = 1 - f->current;
  return diff;
}

static double jacobi_step(struct loop *loop, int64_t k, int64_t last, bool want_diff) {
  if (last > k)
    return local_sweep_levels(loop->f, last - k + 1, loop->rect, NULL, loop->scratch);
  const struct solve_params *p = loop->p;
  int64_t sweep = k - p->first_iteration - 1; /* the run's first: 0 */
  struct sweep_kind kind = {
      .streaming = p->streaming_stores,
      .want_diff = want_diff,
      .variant = p->variants_chosen ? tune_trial_variant(&loop->variants, sweep, want_diff) : NULL};
  if (!p->variants_chosen || !tune_trial_open(&loop->variants))
    return sweep_once(loop, &kind);
  /* the trial's sweeps, timed (the first sweeps of the run only) */
  double t0 = MPI_Wtime(), waited = loop->halo_wait;
  double diff = sweep_once(loop, &kind);
  double seconds = MPI_Wtime() - t0 - (loop->halo_wait - waited);
  if (tune_trial_time(&loop->variants, loop->team, sweep, want_diff, seconds) != ERR_OK)
    team_abort(loop->team, ERR_FAILURE); /* a collective failed on some rank: end them all */
  return diff;
}

/* omega of iteration k: step k - chebyshev_start of the recurrence, each step's from the one
 * before by the same arithmetic on every rank. */
static double chebyshev_omega(struct loop *loop, int64_t k) {
  int64_t step = k - loop->chebyshev_start;
  while (loop->last_step < step) {
    loop->last_step++;
    loop->omega_last =
        estimate_chebyshev_omega(loop->p->estimate.rho, loop->last_step, loop->omega_last);
  }
  return loop->omega_last;
}

static double chebyshev_step(struct loop *loop, int64_t k, int64_t last, bool want_diff) {
  struct field *f = loop->f;
  if (last > k) {
    /* Level 0 weighs against x^(k-1) over the tile grown by K - 1: that buffer's ring too. */
    double t0 = MPI_Wtime();
    exchange_or_abort(halo_exchange, loop->h, loop->team, 1 - f->current);
    loop->halo_wait += MPI_Wtime() - t0;
    for (int64_t i = k; i <= last; i++)
      loop->omega[i - k] = chebyshev_omega(loop, i);
    return local_sweep_levels(f, last - k + 1, loop->rect, loop->omega, NULL);
  }
  /* A weight of 1 (step 1 of the recurrence, where x^(k-1) may not exist yet) is a plain
   * sweep, here as in sweep_levels. */
  double omega = chebyshev_omega(loop, k);
  struct sweep_kind kind = {.weighted = omega != 1.0,
                            .omega = omega,
                            .streaming = loop->p->streaming_stores,
                            .want_diff = want_diff};
  return sweep_once(loop, &kind);
}

/* A cycle (cycle 1, from the initial field, a full-multigrid start if asked: a continued run
 * goes on with plain cycles, as the run it continues did): its result's change. */
static double multigrid_step(struct loop *loop, int64_t k, int64_t last, bool want_diff) {
  (void)last;
  (void)want_diff;
  bool fmg_start = loop->p->multigrid.fmg && k == 1;
  return multigrid_cycle(loop->mg, fmg_start);
}

static const struct method methods[] = {
    [SOLVE_JACOBI] = {"jacobi", jacobi_step, false, false},
    [SOLVE_CHEBYSHEV] = {"chebyshev", chebyshev_step, true, false},
    [SOLVE_MULTIGRID] = {"multigrid", multigrid_step, false, true},
};

/* ---- a target out of reach (estimate.h: estimate_stalled) ------------------------------------
 * The window: as many iterations as the method took to set its best, counted from where
 * Chebyshev's recurrence began (restored on a restart, so the stop is the same), at least 200;
 * a multigrid cycle cuts the error some tenfold, so 10 cycles without a new best are a stall.
 * Jacobi is left alone: its change reaches 0. */
enum { STALL_MIN_SWEEPS = 200, STALL_MIN_CYCLES = 10 };

static bool stalled(struct loop *loop, int64_t k, double change, double bound) {
  const struct solve_params *p = loop->p;
  if (p->method == SOLVE_JACOBI || p->target_error <= 0)
    return false;
  int64_t window = STALL_MIN_CYCLES;
  if (p->method == SOLVE_CHEBYSHEV) {
    int64_t spent = loop->stall.at - loop->chebyshev_start;
    window = spent > STALL_MIN_SWEEPS ? spent : STALL_MIN_SWEEPS;
  }
  return estimate_stalled(&loop->stall, &p->estimate, k, change, bound, window);
}

/* ---- the loop ---------------------------------------------------------------------------------
 */

/* The measured state of x^iteration, current, its halos filled or in flight (certify.h);
 * the model's estimate damps from here on. Collective. */
static int measure(struct loop *loop, int64_t iteration, double residual,
                   struct solve_state *state) {
  double t0 = MPI_Wtime();
  if (loop->in_flight) {
    exchange_or_abort(halo_exchange_end, loop->h, loop->team, loop->f->current);
    loop->in_flight = false;
  }
  struct certify_result c;
  CHECK(certify_field(loop->f, loop->team, &loop->coarse, &c));
  bool chebyshev = loop->p->method == SOLVE_CHEBYSHEV;
  double bound = estimate_bound(&loop->model, c.change, false, iteration);
  *state = (struct solve_state){.iteration = iteration,
                                .residual = residual,
                                .error_estimate = estimate_from_coarse(c.change, c.estimate, bound),
                                .error_bound = bound,
                                .chebyshev_start = chebyshev ? loop->chebyshev_start : -1,
                                .previous_valid = chebyshev && iteration > loop->chebyshev_start,
                                .stall = loop->stall};
  estimate_measured(&loop->model, iteration, state->error_estimate);
  loop->measure_seconds += MPI_Wtime() - t0;
  return ERR_OK;
}

/* A check's row into the history (solve.h): kept if its index is a multiple of the stride;
 * when the rows are full, every other one goes and the stride doubles. No allocation. */
static void history_add(struct solve_history *h, const double row[SOLVE_HISTORY_COLUMNS]) {
  int64_t index = h->checks++;
  if (index % h->stride != 0) {
    memcpy(h->last, row, sizeof h->last);
    h->pending = true;
    return;
  }
  if (h->rows == SOLVE_HISTORY_ROWS) {
    for (int64_t r = 0; 2 * r < h->rows; r++)
      memmove(&h->values[r * SOLVE_HISTORY_COLUMNS], &h->values[2 * r * SOLVE_HISTORY_COLUMNS],
              sizeof h->last);
    h->rows = (h->rows + 1) / 2;
    h->stride *= 2;
    if (index % h->stride != 0) {
      memcpy(h->last, row, sizeof h->last);
      h->pending = true;
      return;
    }
  }
  memcpy(&h->values[h->rows++ * SOLVE_HISTORY_COLUMNS], row, sizeof h->last);
  h->pending = false;
}

/* The last check into the rows, and rank 0's seconds to every rank (the file's writers write
 * the same bytes). Collective on team->comm. */
static void history_finish(struct solve_history *h, const struct team *team) {
  if (h->pending)
    memcpy(&h->values[h->rows++ * SOLVE_HISTORY_COLUMNS], h->last, sizeof h->last);
  h->pending = false;
  int rc = MPI_Bcast(h->values, (int)(h->rows * SOLVE_HISTORY_COLUMNS), MPI_DOUBLE, 0, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Bcast (convergence history)"));
}

int solve_run(struct field *f, struct halo *h, const struct team *team,
              const struct solve_params *params, struct solve_result *out) {
  *out =
      (struct solve_result){.residual = NAN, .convergence_factor = NAN, .history = {.stride = 1}};
  const struct method *method = &methods[params->method];
  double start = MPI_Wtime(), last_progress = start;
  double global_points = (double)f->layout->nx * (double)f->layout->ny;
  struct loop loop = {.f = f,
                      .h = h,
                      .team = team,
                      .p = params,
                      .chebyshev_start = params->estimate.chebyshev_start,
                      .stall = params->stall,
                      .variants = params->variants,
                      .model = params->estimate,
                      /* a multigrid cycle is worth many sweeps: measured from the first on */
                      .next_measure = params->method == SOLVE_MULTIGRID ? 1 : 64};
  estimate_coarse_init(&loop.coarse, f->layout->nx, f->layout->ny);
  if (params->method == SOLVE_MULTIGRID)
    CHECK(multigrid_create(f, h, team, &params->multigrid, &loop.mg));

  /* The initial field's halos: the exchange that the first sweep reads. */
  exchange_or_abort(halo_exchange, h, team, f->current);
  out->exchanges++;
  out->halo_seconds += MPI_Wtime() - start;

  struct stop_vote vote = {.pending = MPI_REQUEST_NULL};
  int status = ERR_OK;
  if (params->temporal_block > 1) {
    loop.rect = malloc((size_t)params->temporal_block * sizeof *loop.rect);
    loop.omega = malloc((size_t)params->temporal_block * sizeof *loop.omega);
    int64_t stride = 0; /* the widest tile's */
    for (int64_t t = 0; t < f->ntiles; t++)
      stride = max64(stride, field_stride(f, t));
    int64_t scratch = sweep_levels_scratch(params->temporal_block, stride);
    if (params->method == SOLVE_JACOBI && scratch > 0)
      loop.scratch = malloc((size_t)scratch * sizeof *loop.scratch);
    bool short_of_memory = loop.rect == NULL || loop.omega == NULL ||
                           (params->method == SOLVE_JACOBI && scratch > 0 && loop.scratch == NULL);
    if (short_of_memory)
      team_abort(team, err_set(ERR_FAILURE, "out of memory for a temporal block"));
  }
  /* Overlap (plain sweeps, and messages to wait for): each exchange is begun after a sweep and
   * ended inside the next one, after its inner points, before its edges. */
  bool overlap = params->overlap && params->temporal_block == 1 && halo_counts(h).messages > 0 &&
                 params->method != SOLVE_MULTIGRID;
  /* multigrid: the first and last agreed change, and the checks between, for its factor */
  double first_change = NAN, work = 0.0;
  int64_t changes = 0;
  /* The last check: the agreed change and what it certifies, for the progress line. */
  int64_t checked_at = params->first_iteration;
  double checked_change = NAN;
  bool certified = false; /* the field left current is the one the last check certified */
  bool measure_now = false;
  out->iterations = params->first_iteration;
  for (int64_t k = params->first_iteration + 1; k <= params->max_iterations; k++) {
    /* A temporal block runs on to the next multiple of K (or max_iterations) in one pass; k
     * becomes its last iteration, where checks, checkpoints and stops may fall. */
    int64_t last = k;
    if (params->temporal_block > 1) {
      last = (k - 1) / params->temporal_block * params->temporal_block + params->temporal_block;
      last = last < params->max_iterations ? last : params->max_iterations;
    }
    double t0 = MPI_Wtime();
    bool check = last % params->check_interval == 0 || last == params->max_iterations ||
                 params->method == SOLVE_MULTIGRID;
    loop.halo_wait = 0.0;
    double local_diff = method->step(&loop, k, last, check);
    k = last;
    double t1 = MPI_Wtime();
    out->compute_seconds += t1 - t0 - loop.halo_wait;
    out->halo_seconds += loop.halo_wait;
    out->iterations = k;
    certified = false;

    if (check) {
      double diff = 0.0;
      int rc = MPI_Allreduce(&local_diff, &diff, 1, MPI_DOUBLE, MPI_MAX, team->comm);
      if (rc != MPI_SUCCESS)
        team_abort(team, team_mpi_error(rc, "MPI_Allreduce (convergence)"));
      out->reduce_seconds += MPI_Wtime() - t1;
      out->residual = diff;
      if (!isfinite(diff)) {
        status =
            err_set(ERR_FAILURE, "the field is no longer finite at iteration %lld (max diff %g)",
                    (long long)k, diff);
        break;
      }
      /* the iterate this diff certifies: x^k by contraction (Jacobi) or as measured
       * (multigrid), or x^(k-1) */
      checked_at = method->certifies_input ? k - 1 : k;
      checked_change = diff;
      bool after_step = !method->certifies_input && !method->change_of_result;
      if (loop.mg != NULL) {
        if (changes++ == 0)
          first_change = diff;
        work = multigrid_work(loop.mg);
        out->convergence_factor =
            changes > 1 ? pow(diff / first_change, 1.0 / (double)(changes - 1)) : NAN;
        if (out->convergence_factor > 0 && out->convergence_factor < 1)
          loop.model.cycle_factor = out->convergence_factor;
      }
      bool classic = params->tolerance <= 0 || diff < params->tolerance;
      double bound = estimate_bound(&params->estimate, diff, after_step, checked_at);
      double row[SOLVE_HISTORY_COLUMNS] = {
          (double)k, diff, estimate_error(&loop.model, diff, after_step, checked_at), bound,
          MPI_Wtime() - start};
      history_add(&out->history, row);
      bool target = params->target_error <= 0 || bound <= params->target_error;
      if (!target && stalled(&loop, k, diff, bound)) {
        out->stalled_at = loop.stall.at;
        out->stalled_bound = loop.stall.best;
        break;
      }
      if (classic && target) {
        out->converged = true;
        if (method->certifies_input) { /* keep the iterate the step read */
          f->current = 1 - f->current;
          out->iterations = k - 1;
        }
        certified = true;
        break;
      }
      certified = !method->certifies_input;
      measure_now = k - params->first_iteration >= loop.next_measure;
    }
    if (k == params->max_iterations)
      break; /* the last iterate needs no halos (its certificate exchanges them if it must) */
    double t2 = MPI_Wtime();
    exchange_or_abort(overlap ? halo_exchange_begin : halo_exchange, h, team, f->current);
    loop.in_flight = overlap;
    out->exchanges++;
    double t3 = MPI_Wtime();
    out->halo_seconds += t3 - t2;

    /* x^k is complete, and its halos are or are in flight: a stop here leaves a state to
     * checkpoint and continue (the exchange is ended below the loop). A pending vote may
     * overlap the checkpoint's collectives: MPI orders collectives on one communicator by the
     * order every rank starts them, which is the same on all ranks. */
    if (stop_agreed(&vote, team)) {
      out->interrupted = true;
      break;
    }
    bool checkpoint = params->checkpoint_interval > 0 && k % params->checkpoint_interval == 0;
    if (checkpoint || measure_now) {
      struct solve_state state;
      status = measure(&loop, k, out->residual, &state);
      if (status == ERR_OK && checkpoint)
        status = params->checkpoint(params->checkpoint_ctx, &state);
      if (checkpoint)
        out->checkpoint_seconds += MPI_Wtime() - t3;
      if (status != ERR_OK)
        break;
      if (measure_now)
        loop.next_measure *= 2;
      measure_now = false;
    }

    if (params->progress && team->rank == 0 && t3 - last_progress >= 1.0) {
      double estimate =
          estimate_error(&loop.model, checked_change,
                         !method->certifies_input && !method->change_of_result, checked_at);
      report_progress(k, out->residual, estimate,
                      global_points * (double)(k - params->first_iteration) / (t3 - start) / 1e6,
                      t3 - start);
      last_progress = t3;
    }
  }
  if (loop.in_flight) /* every rank began the same exchange: end it, so no message is left over */
    exchange_or_abort(halo_exchange_end, h, team, f->current);
  stop_vote_finish(&vote, team);
  history_finish(&out->history, team);

  /* The field left current, measured: its ring first, for the stencil. A Jacobi field the
   * last check certified (one sweep after the iterate it measured) keeps the smaller bound. */
  struct solve_state state;
  if (status == ERR_OK) {
    exchange_or_abort(halo_exchange, h, team, f->current);
    status = measure(&loop, out->iterations, out->residual, &state);
  }
  if (status == ERR_OK) {
    double bound = state.error_bound;
    if (certified && !method->certifies_input && !method->change_of_result) {
      double carried = estimate_bound(&loop.model, checked_change, true, out->iterations);
      bound = carried < bound ? carried : bound;
    }
    out->error_estimate = state.error_estimate < bound ? state.error_estimate : bound;
    out->error_bound = bound;
    out->chebyshev_start = state.chebyshev_start;
    out->previous_valid = state.previous_valid && !out->converged;
  }
  out->work_per_cycle = work;
  multigrid_destroy(&loop.mg);
  free(loop.omega);
  free(loop.rect);
  free(loop.scratch);
  out->estimate_seconds = loop.measure_seconds;
  out->wall_seconds = MPI_Wtime() - start - out->estimate_seconds;
  out->stall = loop.stall;
  out->variants = loop.variants;
  return status;
}
