/* jacobi.c - method "jacobi": a step is one sweep x' = J x (or a temporal block of them), its
 * plain sweeps in the variants the start-up calibration chose (tune.h). The change a check agrees
 * on is that of the iterate the sweep read; J is a contraction in the max norm, so the bound
 * carries over to the iterate it wrote, which the run keeps. */
#include "solver/method/method.h"

#include "common/err.h"
#include "solver/method/sweeps.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>

struct jacobi {
  int64_t first_iteration;
  bool streaming;
  bool tuned;                     /* the plain sweeps run the trial's variants */
  struct tune_trial variants;     /* and the trial, counted as the first sweeps run (tune.h) */
  struct sweep_rect *rect;        /* temporal blocks: each level's rectangle */
  double *scratch;                /* temporal blocks: the wavefront's rows (sweep.h) */
  struct sweeps_uniform *uniform; /* a faces field's uniform runs (NULL: none) */
};

static void destroy(void **data) {
  struct jacobi *j = *data;
  if (j != NULL) {
    free(j->rect);
    free(j->scratch);
    sweeps_uniform_destroy(&j->uniform);
    free(j);
  }
  *data = NULL;
}

static int create(const struct method_setup *s, void **data) {
  struct jacobi *j = calloc(1, sizeof *j);
  if (j == NULL)
    team_abort(s->team, err_set(ERR_FAILURE, "out of memory for the method"));
  *j = (struct jacobi){.first_iteration = s->first_iteration,
                       .streaming = s->streaming_stores,
                       .tuned = s->trial != NULL};
  if (s->trial != NULL)
    j->variants = *s->trial;
  if (s->temporal_block > 1 &&
      sweeps_block_alloc(s->field, s->temporal_block, true, &j->rect, &j->scratch) != ERR_OK)
    team_abort(s->team, ERR_FAILURE);
  if (sweeps_uniform_create(s->field, &j->uniform) != ERR_OK)
    team_abort(s->team, ERR_FAILURE);
  *data = j;
  return ERR_OK;
}

static double step(void *data, struct method_iterate *it, int64_t k, int64_t last,
                   bool want_change) {
  struct jacobi *j = data;
  if (last > k)
    return sweeps_levels(it->field, last - k + 1, j->rect, NULL, j->scratch);
  int64_t sweep = k - j->first_iteration - 1; /* the run's first: 0 */
  struct sweeps_kind kind = {
      .streaming = j->streaming,
      .want_change = want_change,
      .variant = j->tuned ? tune_trial_variant(&j->variants, sweep, want_change) : NULL,
      .uniform = j->uniform};
  if (!j->tuned || !tune_trial_open(&j->variants))
    return sweeps_once(it, &kind);
  /* the trial's sweeps, timed (the first sweeps of the run only) */
  double t0 = MPI_Wtime(), waited = it->halo_wait;
  double change = sweeps_once(it, &kind);
  double seconds = MPI_Wtime() - t0 - (it->halo_wait - waited);
  if (tune_trial_time(&j->variants, it->team, sweep, want_change, seconds) != ERR_OK)
    team_abort(it->team, ERR_FAILURE); /* a collective failed on some rank: end them all */
  return change;
}

static void figures(const void *data, struct method_figures *out) {
  const struct jacobi *j = data;
  if (j->tuned)
    out->variants = j->variants;
}

static void describe_kernel(const struct cfg *cfg, bool general, char *text, size_t len) {
  sweeps_describe(cfg, general, "Jacobi's sweep", "rows in scratch", text, len);
}

static double steps_to(const struct estimate_model *model, const struct method_figures *f,
                       double from, double goal) {
  (void)f;
  struct estimate_model jacobi = *model;
  jacobi.chebyshev = false;
  return estimate_iterations_to(&jacobi, from, goal);
}

const struct method_ops method_jacobi = {.name = "jacobi",
                                         .step_name = "iteration",
                                         .check = METHOD_CHECK_CARRIED,
                                         .sweeps = true,
                                         .tuned = true,
                                         .contraction = true,
                                         .keeps_previous = false,
                                         .first_measure = 64,
                                         .speed = 0,
                                         .create = create,
                                         .step = step,
                                         .figures = figures,
                                         .destroy = destroy,
                                         .describe_kernel = describe_kernel,
                                         .steps_to = steps_to};
