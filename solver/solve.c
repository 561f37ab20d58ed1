/* solve.c - the iteration loop; see solve.h. */
#include "solve.h"

#include "err.h"
#include "report.h"
#include "sweep.h"

#include <math.h>

static double local_sweep(struct field *f) {
  int in = f->current, out = 1 - f->current;
  double max_diff = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    double diff = sweep_tile(field_tile(f, in, t), field_tile(f, out, t), tile->nrows, tile->ncols,
                             field_stride(f, t));
    max_diff = diff > max_diff ? diff : max_diff;
  }
  return max_diff;
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

  for (int64_t k = 1; k <= params->max_iterations; k++) {
    double t0 = MPI_Wtime();
    double local_diff = local_sweep(f);
    f->current = 1 - f->current;
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
      if (!isfinite(diff))
        return err_set(ERR_FAILURE, "the field is no longer finite at iteration %lld (max diff %g)",
                       (long long)k, diff);
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

    if (params->progress && team->rank == 0 && t3 - last_progress >= 1.0) {
      report_progress(k, out->residual, global_points * (double)k / (t3 - start) / 1e6);
      last_progress = t3;
    }
  }
  out->wall_seconds = MPI_Wtime() - start;
  return ERR_OK;
}
