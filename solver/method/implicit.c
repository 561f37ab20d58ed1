/* implicit.c - an implicit step's solve; see implicit.h. */
#include "solver/method/implicit.h"

#include "common/err.h"
#include "solver/method/method.h"

#include <math.h>
#include <stdlib.h>

struct implicit_solver {
  struct implicit_setup setup;
  void *inner; /* method "jacobi"'s data: the certificate's sweeps, and the solve's without mg */
  void *mg;    /* method "multigrid"'s data, built on the step's operator; NULL: Jacobi alone */
  double mg_weight; /* the weight of C/dt in the operator mg was built on */
  double q[2];      /* Jacobi's contraction factor for weights 1 and 1.5 (NaN: not yet) */
};

/* max over the free points of (sum of conductances) / diag: Jacobi's contraction factor in the
 * max norm for the diagonal diag0 + weight C/dt. Collective. */
static int contraction(const struct implicit_solver *s, double weight, double *q) {
  const struct field *f = s->setup.field;
  double mine = 0.0;
  FIELD_FOR_POINTS(f, o, {
    double sum = (f->cond[DECOMP_NORTH][o] + f->cond[DECOMP_SOUTH][o]) +
                 (f->cond[DECOMP_WEST][o] + f->cond[DECOMP_EAST][o]);
    double r = sum / (s->setup.diag0[o] + weight * s->setup.rate[o]);
    mine = r > mine ? r : mine;
  })
  *q = mine;
  MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, q, 1, MPI_DOUBLE, MPI_MAX, s->setup.team->comm));
  return ERR_OK;
}

/* Multigrid on the operator diag0 + weight C/dt (its coarse levels are built from the field's
 * diagonal at create). Collective; agreed. */
static int multigrid_on_step(struct implicit_solver *s, double weight) {
  struct field *f = s->setup.field;
  double *diag = f->diag;
  double *keep = malloc((size_t)f->buffer_len * sizeof(double) + 1);
  if (keep == NULL)
    return team_agree(s->setup.team, err_set(ERR_FAILURE, "out of memory for the time stepper"));
  FIELD_FOR_POINTS(f, o, {
    keep[o] = diag[o];
    diag[o] = s->setup.diag0[o] + weight * s->setup.rate[o];
  })
  struct method_setup ms = {.field = f,
                            .halo = s->setup.halo,
                            .team = s->setup.team,
                            .cfg = s->setup.cfg,
                            .halo_mode = s->setup.halo_mode,
                            .temporal_block = 1};
  s->mg_weight = weight;
  int status = method_multigrid.create(&ms, &s->mg);
  FIELD_FOR_POINTS(f, o, { diag[o] = keep[o]; })
  free(keep);
  return status;
}

int implicit_create(const struct implicit_setup *setup, struct implicit_solver **out) {
  *out = NULL;
  struct implicit_solver *s = calloc(1, sizeof *s);
  if (team_agree(setup->team, s == NULL ? err_set(ERR_FAILURE, "out of memory for the time "
                                                               "stepper")
                                        : ERR_OK) != ERR_OK) {
    free(s);
    return ERR_FAILURE;
  }
  s->setup = *setup;
  s->q[0] = s->q[1] = NAN;
  int status = ERR_OK;
  if (setup->multigrid)
    status = multigrid_on_step(s, 1.0);
  if (status != ERR_OK) {
    implicit_destroy(&s);
    return status;
  }
  *out = s;
  return ERR_OK;
}

int implicit_solve(struct implicit_solver *s, double weight, const double *previous, double goal,
                   int64_t step, double *bound, struct implicit_stats *stats) {
  (void)previous; /* the start is T_n */
  struct field *f = s->setup.field;
  const struct team *team = s->setup.team;
  double *q = &s->q[weight == 1.0 ? 0 : 1];
  if (isnan(*q))
    CHECK(contraction(s, weight, q));
  /* method "jacobi" reads the faces arrays' uniform runs once, at create (sweeps.h): made
   * again on this step's diagonal and load */
  method_jacobi.destroy(&s->inner);
  struct method_setup js = {.field = f, .halo = s->setup.halo, .team = team, .temporal_block = 1};
  CHECK(method_jacobi.create(&js, &s->inner));
  struct method_iterate it = {.field = f, .halo = s->setup.halo, .team = team};
  if (s->mg != NULL && s->mg_weight != weight) { /* BDF2's second step: a new operator */
    method_multigrid.destroy(&s->mg);
    CHECK(multigrid_on_step(s, weight));
  }
  for (int64_t k = 1;; k++) {
    if (s->mg != NULL) { /* a cycle, then a sweep whose change certifies its result */
      method_exchange(halo_exchange, s->setup.halo, team, f->current);
      /* never a full-multigrid start (cycle 1 of a run): the previous step is the better start */
      (void)method_multigrid.step(s->mg, &it, k + 1, k + 1, false);
      stats->cycles++;
      struct method_figures fig = {0};
      method_multigrid.figures(s->mg, &fig);
      stats->work += fig.work_per_step;
    }
    method_exchange(halo_exchange, s->setup.halo, team, f->current);
    double change = method_jacobi.step(s->inner, &it, k, k, true);
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &change, 1, MPI_DOUBLE, MPI_MAX, team->comm));
    stats->sweeps++;
    stats->work += 1.0;
    if (!isfinite(change))
      return err_set(ERR_FAILURE, "the field is no longer finite in time step %lld",
                     (long long)step);
    *bound = *q / (1.0 - *q) * change;
    if (*bound <= goal || change == 0.0)
      return ERR_OK;
    if (k >= s->setup.cfg->max_iterations)
      return err_set(ERR_CONFIG,
                     "%s: time step %lld's solve did not reach its error %.3g in "
                     "solver.max_iterations = %lld %s (bound %.3g): raise "
                     "solver.max_iterations or time.step_error, or take smaller steps",
                     cfg_origin(s->setup.cfg, "solver.max_iterations"), (long long)step, goal,
                     (long long)s->setup.cfg->max_iterations,
                     s->mg != NULL ? "cycles" : "Jacobi sweeps", *bound);
  }
}

void implicit_destroy(struct implicit_solver **s) {
  if (s == NULL || *s == NULL)
    return;
  if ((*s)->inner != NULL)
    method_jacobi.destroy(&(*s)->inner);
  if ((*s)->mg != NULL)
    method_multigrid.destroy(&(*s)->mg);
  free(*s);
  *s = NULL;
}
