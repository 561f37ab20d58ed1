/* chebyshev.c - method "chebyshev": Chebyshev semi-iteration over the Jacobi sweep, step s of
 * the recurrence weighing x' = omega_s (J x - x_before) + x_before, omega_s from the Jacobi
 * spectral radius (estimate_chebyshev_omega). Its step is no contraction, so a check certifies the
 * iterate the step read, and a checkpoint keeps both buffers and where the recurrence began, so
 * that a continued run goes on exactly. */
#include "solver/method/method.h"

#include "common/err.h"
#include "solver/method/spectrum.h"
#include "solver/method/sweeps.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>

struct chebyshev {
  double rho;             /* the Jacobi spectral radius */
  int64_t spectrum_steps; /* Lanczos steps that found it (faces fields; 0: closed form) */
  bool streaming;
  /* The recurrence began at `start`; omega_last is omega of step last_step (0: none yet). */
  int64_t start, last_step;
  double omega_last;
  struct sweep_rect *rect;        /* temporal blocks: each level's rectangle */
  double *omega;                  /* temporal blocks: each level's weight */
  struct sweeps_uniform *uniform; /* a faces field's uniform runs (NULL: none) */
};

static void destroy(void **data) {
  struct chebyshev *c = *data;
  if (c != NULL) {
    free(c->rect);
    free(c->omega);
    sweeps_uniform_destroy(&c->uniform);
    free(c);
  }
  *data = NULL;
}

static int create(const struct method_setup *s, void **data) {
  struct chebyshev *c = calloc(1, sizeof *c);
  if (c == NULL)
    team_abort(s->team, err_set(ERR_FAILURE, "out of memory for the method"));
  *c = (struct chebyshev){
      .rho = s->model->rho, .streaming = s->streaming_stores, .start = s->model->chebyshev_start};
  /* The faces operator's J has no closed-form spectrum: Lanczos finds its radius, the same bits
   * on every decomposition and in a continued run (spectrum.h). */
  if (field_faces(s->field) &&
      spectrum_faces_radius(s->field, s->halo, s->team, &c->rho, &c->spectrum_steps) != ERR_OK) {
    void *data = c;
    destroy(&data);
    return ERR_FAILURE;
  }
  if (sweeps_uniform_create(s->field, &c->uniform) != ERR_OK)
    team_abort(s->team, ERR_FAILURE);
  if (s->temporal_block > 1) {
    double *none = NULL;
    if (sweeps_block_alloc(s->field, s->temporal_block, false, &c->rect, &none) != ERR_OK)
      team_abort(s->team, ERR_FAILURE);
    c->omega = malloc((size_t)s->temporal_block * sizeof *c->omega);
    if (c->omega == NULL)
      team_abort(s->team, err_set(ERR_FAILURE, "out of memory for a temporal block"));
  }
  *data = c;
  return ERR_OK;
}

/* omega of iteration k: step k - start of the recurrence, each step's from the one before by
 * the same arithmetic on every rank. A run continued from a checkpoint replays the steps it
 * skipped; their number is the file's (4e18 passes every check), so the replay stops as soon as
 * the weights repeat: a weight equal to the one before (a fixed point) or to the one two steps
 * before (a cycle of two, which rounding can make) repeats for ever, since each step is a
 * function of the one before alone. Exact, so the weights stay bit for bit those of an
 * uninterrupted run; and short, since the recurrence converges at a rate of omega* - 1 a step (a
 * million steps at most on any grid that fits in memory, milliseconds). */
static double omega_of(struct chebyshev *c, int64_t k) {
  int64_t step = k - c->start;
  double before = NAN; /* the weight two steps before omega_last */
  while (c->last_step < step) {
    double next = estimate_chebyshev_omega(c->rho, c->last_step + 1, c->omega_last);
    c->last_step++;
    if (c->last_step > 3 && (next == c->omega_last || next == before)) {
      /* period 1 or 2 from here: step s holds next if s - last_step is even */
      bool odd = (step - c->last_step) % 2 != 0;
      c->omega_last = odd ? c->omega_last : next;
      c->last_step = step;
      return c->omega_last;
    }
    before = c->omega_last;
    c->omega_last = next;
  }
  return c->omega_last;
}

static double step(void *data, struct method_iterate *it, int64_t k, int64_t last,
                   bool want_change) {
  struct chebyshev *c = data;
  struct field *f = it->field;
  if (last > k) {
    /* Level 0 weighs against x^(k-1) over the tile grown by K - 1: that buffer's ring too. */
    double t0 = MPI_Wtime();
    method_exchange(halo_exchange, it->halo, it->team, 1 - f->current);
    it->halo_wait += MPI_Wtime() - t0;
    for (int64_t i = k; i <= last; i++)
      c->omega[i - k] = omega_of(c, i);
    return sweeps_levels(f, last - k + 1, c->rect, c->omega, NULL);
  }
  /* A weight of 1 (step 1 of the recurrence, where x^(k-1) may not exist yet) is a plain
   * sweep, here as in sweep_levels. */
  double omega = omega_of(c, k);
  struct sweeps_kind kind = {.weighted = omega != 1.0,
                             .omega = omega,
                             .streaming = c->streaming,
                             .want_change = want_change,
                             .uniform = c->uniform};
  return sweeps_once(it, &kind);
}

/* As many iterations as it took to set its best, counted from where the recurrence began
 * (restored on a restart, so the stop is the same), at least 200. */
enum { STALL_MIN_SWEEPS = 200 };

static int64_t stall_window(const void *data, const struct estimate_stall *stall) {
  const struct chebyshev *c = data;
  int64_t spent = stall->at - c->start;
  return spent > STALL_MIN_SWEEPS ? spent : STALL_MIN_SWEEPS;
}

static void save(const void *data, int64_t iteration, struct method_state *out) {
  const struct chebyshev *c = data;
  *out = (struct method_state){.chebyshev_start = c->start, .previous_valid = iteration > c->start};
}

/* The weighted sweep keeps the stores set ("auto": regular; it reads the line it writes anyway,
 * so a streaming store saves it no read) and the CPU's own instruction set: nothing to time. */
static void describe_kernel(const struct cfg *cfg, bool general, char *text, size_t len) {
  sweeps_describe(cfg, general, "Chebyshev's weighted sweep", "rows in both buffers", text, len);
}

/* A faces plate's start-up finds rho by Lanczos (spectrum.h): two private buffers and a saved
 * copy of one while it runs. */
static void memory(const struct cfg *cfg, const struct decomp_layout *layout, int rank,
                   bool general, struct method_memory *out) {
  (void)layout;
  (void)rank;
  (void)general;
  *out = (struct method_memory){.buffers = cfg_faces(cfg) ? 3.0 : 0.0};
}

static double steps_to(const struct estimate_model *model, const struct method_figures *f,
                       double from, double goal) {
  (void)f;
  struct estimate_model chebyshev = *model;
  chebyshev.chebyshev = true;
  return estimate_iterations_to(&chebyshev, from, goal);
}

int method_chebyshev_restart(void *data, const struct field *f, int64_t start) {
  struct chebyshev *c = data;
  c->start = start;
  c->last_step = 0;
  c->omega_last = 0.0;
  sweeps_uniform_destroy(&c->uniform);
  return sweeps_uniform_create(f, &c->uniform);
}

const struct method_ops method_chebyshev = {.name = "chebyshev",
                                            .step_name = "iteration",
                                            .check = METHOD_CHECK_INPUT,
                                            .sweeps = true,
                                            .tuned = false,
                                            .contraction = false,
                                            .keeps_previous = true,
                                            .first_measure = 64,
                                            .speed = 1,
                                            .create = create,
                                            .step = step,
                                            .stall_window = stall_window,
                                            .save = save,
                                            .destroy = destroy,
                                            .memory = memory,
                                            .describe_kernel = describe_kernel,
                                            .steps_to = steps_to};
