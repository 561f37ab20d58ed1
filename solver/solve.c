/* solve.c - the iteration loop; see solve.h. */
#include "solve.h"

#include "err.h"
#include "report.h"
#include "sweep.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>

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
    if (MPI_Wait(&v->pending, MPI_STATUS_IGNORE) != MPI_SUCCESS)
      team_abort(team, team_mpi_error(MPI_ERR_OTHER, "MPI_Wait (stop vote)"));
    stop = v->agreed != 0;
  }
  if (!stop) {
    v->mine = stop_requested;
    if (MPI_Iallreduce(&v->mine, &v->agreed, 1, MPI_INT, MPI_MAX, team->comm, &v->pending) !=
        MPI_SUCCESS)
      team_abort(team, team_mpi_error(MPI_ERR_OTHER, "MPI_Iallreduce (stop vote)"));
  }
  return stop;
}

static void stop_vote_finish(struct stop_vote *v, const struct team *team) {
  if (v->pending != MPI_REQUEST_NULL && MPI_Wait(&v->pending, MPI_STATUS_IGNORE) != MPI_SUCCESS)
    team_abort(team, team_mpi_error(MPI_ERR_OTHER, "MPI_Wait (stop vote)"));
}

/* Which points of each tile a sweep covers: all; those that need none of the ring that
 * messages fill (the tile less its outermost row or column on each such side); or the rest. */
enum sweep_part { SWEEP_ALL, SWEEP_INNER, SWEEP_EDGES };

/* Rows [r0, r0 + nrows) x columns [c0, c0 + ncols) of tile t, buffer `in` into the other,
 * local coordinates; the max-diff only if someone reads it. */
static double sweep_rows(struct field *f, int64_t t, int64_t r0, int64_t c0, int64_t nrows,
                         int64_t ncols, bool streaming_stores, bool want_diff) {
  if (nrows <= 0 || ncols <= 0)
    return 0.0;
  int64_t stride = field_stride(f, t);
  /* the kernel takes the part with a one-point ring: its corner is one point up and left */
  int64_t at = (r0 - 1) * stride + c0 - 1;
  const double *from = field_interior(f, f->current, t) + at;
  double *to = field_interior(f, 1 - f->current, t) + at;
  if (streaming_stores)
    return sweep_tile_streaming(from, to, nrows, ncols, stride);
  if (want_diff)
    return sweep_tile(from, to, nrows, ncols, stride);
  sweep_tile_update(from, to, nrows, ncols, stride);
  return 0.0;
}

/* Part of one iteration over every tile, from buffer f->current into the other; `h` says
 * which sides wait for messages (SWEEP_INNER and SWEEP_EDGES only). The edges are whole rows
 * where they can be: the top and bottom strips span the tile, the side strips what is left. */
static double local_sweep(struct field *f, const struct halo *h, enum sweep_part part,
                          bool streaming_stores, bool want_diff) {
  double max_diff = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t n = f->tiles[t].nrows, m = f->tiles[t].ncols;
    unsigned sides = part == SWEEP_ALL ? 0u : halo_message_sides(h, t);
    int64_t top = (sides >> DECOMP_NORTH) & 1, bottom = (sides >> DECOMP_SOUTH) & 1;
    int64_t left = (sides >> DECOMP_WEST) & 1, right = (sides >> DECOMP_EAST) & 1;
    int64_t inner_rows = n - top - bottom, inner_cols = m - left - right;
    /* (row, column, rows, columns) of each piece of this part */
    const int64_t all[1][4] = {{0, 0, n, m}}, inner[1][4] = {{top, left, inner_rows, inner_cols}};
    const int64_t edges[4][4] = {{0, 0, top, m},
                                 {n - bottom, 0, bottom, m},
                                 {top, 0, inner_rows, left},
                                 {top, m - right, inner_rows, right}};
    const int64_t(*pieces)[4] = part == SWEEP_ALL ? all : part == SWEEP_INNER ? inner : edges;
    int npieces = part == SWEEP_EDGES ? 4 : 1;
    /* A tile thinner than its edges has an empty (negative) inner part, and edges that
     * overlap: a point swept twice is written twice with the same value. */
    for (int p = 0; p < npieces; p++) {
      double diff = sweep_rows(f, t, pieces[p][0], pieces[p][1], pieces[p][2], pieces[p][3],
                               streaming_stores, want_diff);
      max_diff = diff > max_diff ? diff : max_diff;
    }
  }
  return max_diff;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* `levels` <= f->depth iterations in one pass over each tile (overlapped tiles): level l
 * computes the tile grown by levels - 1 - l points, clipped to the grid, so the last level is
 * the tile itself and every level reads only what the level before wrote, the fixed boundary
 * or (level 0) the ring the last exchange filled. rect has room for `levels` entries. */
static double local_sweep_levels(struct field *f, int64_t levels, struct sweep_rect *rect) {
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
    double diff = sweep_levels(buffers, f->current, field_stride(f, t), levels, rect);
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

int solve_run(struct field *f, struct halo *h, const struct team *team,
              const struct solve_params *params, struct solve_result *out) {
  *out = (struct solve_result){.residual = NAN};
  double start = MPI_Wtime(), last_progress = start;
  double global_points = (double)f->layout->nx * (double)f->layout->ny;

  /* The initial field's halos: the exchange that the first sweep reads. */
  exchange_or_abort(halo_exchange, h, team, f->current);
  out->exchanges++;
  out->halo_seconds += MPI_Wtime() - start;

  struct stop_vote vote = {.pending = MPI_REQUEST_NULL};
  int status = ERR_OK;
  struct sweep_rect *rect = NULL;
  if (params->temporal_block > 1) {
    rect = malloc((size_t)params->temporal_block * sizeof *rect);
    if (rect == NULL)
      team_abort(team, err_set(ERR_FAILURE, "out of memory for a temporal block"));
  }
  /* Overlap (plain sweeps, and messages to wait for): each exchange is begun after a sweep and
   * ended inside the next one, after its inner points, before its edges. */
  bool overlap = params->overlap && params->temporal_block == 1 && halo_counts(h).messages > 0;
  bool in_flight = false; /* an exchange begun and not ended */
  out->iterations = params->first_iteration;
  for (int64_t k = params->first_iteration + 1; k <= params->max_iterations; k++) {
    /* A temporal block runs on to the next multiple of K (or max_iterations) in one pass; k
     * becomes its last iteration, where checks, checkpoints and stops may fall. */
    int64_t last = k;
    if (params->temporal_block > 1) {
      last = (k - 1) / params->temporal_block * params->temporal_block + params->temporal_block;
      last = last < params->max_iterations ? last : params->max_iterations;
    }
    double t0 = MPI_Wtime(), local_diff;
    bool check = last % params->check_interval == 0 || last == params->max_iterations;
    double halo_wait = 0.0;
    if (last > k) {
      local_diff = local_sweep_levels(f, last - k + 1, rect);
    } else if (in_flight) {
      local_diff = local_sweep(f, h, SWEEP_INNER, params->streaming_stores, check);
      double tw = MPI_Wtime();
      exchange_or_abort(halo_exchange_end, h, team, f->current);
      in_flight = false;
      halo_wait = MPI_Wtime() - tw;
      double edges = local_sweep(f, h, SWEEP_EDGES, params->streaming_stores, check);
      local_diff = edges > local_diff ? edges : local_diff;
      f->current = 1 - f->current;
    } else {
      local_diff = local_sweep(f, h, SWEEP_ALL, params->streaming_stores, check);
      f->current = 1 - f->current;
    }
    k = last;
    double t1 = MPI_Wtime();
    out->compute_seconds += t1 - t0 - halo_wait;
    out->halo_seconds += halo_wait;
    out->iterations = k;

    if (check) {
      double diff = 0.0;
      if (MPI_Allreduce(&local_diff, &diff, 1, MPI_DOUBLE, MPI_MAX, team->comm) != MPI_SUCCESS)
        team_abort(team, team_mpi_error(MPI_ERR_OTHER, "MPI_Allreduce (convergence)"));
      out->reduce_seconds += MPI_Wtime() - t1;
      out->residual = diff;
      if (!isfinite(diff)) {
        status =
            err_set(ERR_FAILURE, "the field is no longer finite at iteration %lld (max diff %g)",
                    (long long)k, diff);
        break;
      }
      if (diff < params->tolerance) {
        out->converged = true;
        break;
      }
    }
    if (k == params->max_iterations)
      break; /* the last iterate needs no halos */
    double t2 = MPI_Wtime();
    exchange_or_abort(overlap ? halo_exchange_begin : halo_exchange, h, team, f->current);
    in_flight = overlap;
    out->exchanges++;
    double t3 = MPI_Wtime();
    out->halo_seconds += t3 - t2;

    /* T^k is complete, and its halos are or are in flight: a stop here leaves a state to
     * checkpoint and continue (the exchange is ended below the loop). A pending vote may
     * overlap the checkpoint's collectives: MPI orders collectives on one communicator by the
     * order every rank starts them, which is the same on all ranks. */
    if (stop_agreed(&vote, team)) {
      out->interrupted = true;
      break;
    }
    if (params->checkpoint_interval > 0 && k % params->checkpoint_interval == 0) {
      status = params->checkpoint(params->checkpoint_ctx, k, out->residual);
      out->checkpoint_seconds += MPI_Wtime() - t3;
      if (status != ERR_OK)
        break;
    }

    if (params->progress && team->rank == 0 && t3 - last_progress >= 1.0) {
      report_progress(k, out->residual,
                      global_points * (double)(k - params->first_iteration) / (t3 - start) / 1e6);
      last_progress = t3;
    }
  }
  if (in_flight) /* every rank began the same exchange: end it, so no message is left over */
    exchange_or_abort(halo_exchange_end, h, team, f->current);
  stop_vote_finish(&vote, team);
  free(rect);
  out->wall_seconds = MPI_Wtime() - start;
  return status;
}
