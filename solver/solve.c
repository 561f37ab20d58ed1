/* solve.c - the iteration loop; see solve.h. */
#include "solve.h"

#include "err.h"
#include "report.h"
#include "sweep.h"

#include <math.h>
#include <signal.h>

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

static double local_sweep(struct field *f, bool streaming_stores) {
  int in = f->current, out = 1 - f->current;
  double (*sweep)(const double *restrict, double *restrict, int64_t, int64_t, int64_t) =
      streaming_stores ? sweep_tile_streaming : sweep_tile;
  double max_diff = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    double diff = sweep(field_tile(f, in, t), field_tile(f, out, t), tile->nrows, tile->ncols,
                        field_stride(f, t));
    max_diff = diff > max_diff ? diff : max_diff;
  }
  return max_diff;
}

/* `levels` iterations in one wavefront over the rank's single tile (solve_params). */
static double local_sweep_levels(struct field *f, int64_t levels) {
  double *const buffers[2] = {field_tile(f, 0, 0), field_tile(f, 1, 0)};
  const struct decomp_tile *tile = &f->tiles[0];
  double diff =
      sweep_tile_levels(buffers, f->current, tile->nrows, tile->ncols, field_stride(f, 0), levels);
  f->current = (int)((f->current + levels) % 2);
  return diff;
}

/* A failed exchange leaves neighbours waiting in theirs: no collective can settle it. */
static void exchange_or_abort(struct halo *h, const struct team *team, int buf) {
  if (halo_exchange(h, buf) != ERR_OK)
    team_abort(team, ERR_FAILURE);
}

int solve_run(struct field *f, struct halo *h, const struct team *team,
              const struct solve_params *params, struct solve_result *out) {
  *out = (struct solve_result){.residual = NAN};
  double start = MPI_Wtime(), last_progress = start;
  double global_points = (double)f->layout->nx * (double)f->layout->ny;

  /* The initial field's halos: the exchange that the first sweep reads. */
  exchange_or_abort(h, team, f->current);
  out->exchanges++;
  out->halo_seconds += MPI_Wtime() - start;

  struct stop_vote vote = {.pending = MPI_REQUEST_NULL};
  int status = ERR_OK;
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
    if (last > k) {
      local_diff = local_sweep_levels(f, last - k + 1);
      k = last;
    } else {
      local_diff = local_sweep(f, params->streaming_stores);
      f->current = 1 - f->current;
    }
    double t1 = MPI_Wtime();
    out->compute_seconds += t1 - t0;
    out->iterations = k;

    bool check = k % params->check_interval == 0 || k == params->max_iterations;
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
    exchange_or_abort(h, team, f->current);
    out->exchanges++;
    double t3 = MPI_Wtime();
    out->halo_seconds += t3 - t2;

    /* T^k and its halos are complete: a stop here leaves a state to checkpoint and continue.
     * A pending vote may overlap the checkpoint's collectives: MPI orders collectives on one
     * communicator by the order every rank starts them, which is the same on all ranks. */
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
  stop_vote_finish(&vote, team);
  out->wall_seconds = MPI_Wtime() - start;
  return status;
}
