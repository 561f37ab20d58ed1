/* method.c - method "multigrid" (docs/numerics.md, "Multigrid"): a step is a cycle of multigrid.h
 * on the fine field, checked after every one, its change measured on the cycle's result. Beside the
 * method, what the application asks of multigrid before the field exists: its memory (the levels'
 * buffers and the coarsest level's holders) and, for --dry-run, its plan and cost model. */
#include "solver/method/method.h"

#include "common/err.h"
#include "decomp/levels.h"
#include "decomp/model.h"
#include "solver/method/multigrid/multigrid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct mg_method {
  struct multigrid *mg;
  bool fmg; /* cycle 1, from the initial field, is a full-multigrid start */
  /* the first agreed change, the checks, and the work of the last cycle, for its figures */
  double first_change, work, convergence_factor;
  int64_t changes;
};

/* The cycles' parameters from [multigrid] (cfg NULL: V(2,2) red-black, no full-multigrid start). */
static struct multigrid_params params_of(const struct cfg *cfg, enum halo_mode halo_mode) {
  static const enum multigrid_cycle cycles[] = {
      [CFG_CYCLE_V] = MULTIGRID_V, [CFG_CYCLE_W] = MULTIGRID_W, [CFG_CYCLE_F] = MULTIGRID_F};
  static const enum multigrid_smoother smoothers[] = {[CFG_SMOOTHER_REDBLACK] = MULTIGRID_REDBLACK,
                                                      [CFG_SMOOTHER_CHEBYSHEV] =
                                                          MULTIGRID_CHEBYSHEV,
                                                      [CFG_SMOOTHER_JACOBI] = MULTIGRID_JACOBI};
  if (cfg == NULL)
    return (struct multigrid_params){.cycle = MULTIGRID_V,
                                     .smoother = MULTIGRID_REDBLACK,
                                     .pre = 2,
                                     .post = 2,
                                     .halo_mode = halo_mode};
  return (struct multigrid_params){.cycle = cycles[cfg->mg_cycle],
                                   .smoother = smoothers[cfg->mg_smoother],
                                   .pre = (int)cfg->mg_pre,
                                   .post = (int)cfg->mg_post,
                                   .fmg = cfg->mg_fmg,
                                   .halo_mode = halo_mode};
}

static void destroy(void **data) {
  struct mg_method *m = *data;
  if (m != NULL) {
    multigrid_destroy(&m->mg);
    free(m);
  }
  *data = NULL;
}

static int create(const struct method_setup *s, void **data) {
  struct mg_method *m = calloc(1, sizeof *m);
  if (m == NULL)
    team_abort(s->team, err_set(ERR_FAILURE, "out of memory for the method"));
  struct multigrid_params p = params_of(s->cfg, s->halo_mode);
  *m = (struct mg_method){.fmg = p.fmg, .first_change = NAN, .convergence_factor = NAN};
  *data = m;
  return multigrid_create(s->field, s->halo, s->team, &p, &m->mg);
}

/* A cycle (cycle 1, from the initial field, a full-multigrid start if asked: a continued run
 * goes on with plain cycles, as the run it continues did): its result's change. */
static double step(void *data, struct method_iterate *it, int64_t k, int64_t last,
                   bool want_change) {
  (void)last;
  (void)want_change;
  struct mg_method *m = data;
  return multigrid_cycle_lean(m->mg, m->fmg && k == 1, !it->in_flight);
}

/* The residual's reduction per cycle, the geometric mean over the cycles after the first; once
 * measured it damps the model's estimate between measurements. */
static void checked(void *data, double change, struct estimate_model *model) {
  struct mg_method *m = data;
  if (m->changes++ == 0)
    m->first_change = change;
  m->work = multigrid_work(m->mg);
  m->convergence_factor =
      m->changes > 1 ? pow(change / m->first_change, 1.0 / (double)(m->changes - 1)) : NAN;
  if (m->convergence_factor > 0 && m->convergence_factor < 1)
    model->cycle_factor = m->convergence_factor;
}

/* A cycle cuts the error some tenfold: 10 cycles without a new best are a stall. */
enum { STALL_MIN_CYCLES = 10 };

static int64_t stall_window(const void *data, const struct estimate_stall *stall) {
  (void)data;
  (void)stall;
  return STALL_MIN_CYCLES;
}

static void figures(const void *data, struct method_figures *out) {
  const struct mg_method *m = data;
  out->work_per_step = m->work;
  out->convergence_factor = m->convergence_factor;
  out->levels = multigrid_levels(m->mg)->n;
}

/* Multigrid's memory beyond the field, in field-sized buffers: the fine residual (1), the
 * restriction's copy of it (about 1) and its column sums (1/2), the interpolation's coarse
 * values (1/4) and four buffers of each coarse level (4/3 in all): 4.5 with room for the rings.
 * On a general plate its coarse levels' mask, four weights and a diagonal each (about 2 over
 * all levels), and at start-up two scratch boxes of about a tile each (one more than the heat
 * flows' copy at the end): 3 more. */
static const double MG_BUFFERS = 4.5, MG_GENERAL_BUFFERS = 3.0;
/* A holder of the coarsest level also keeps the whole level above (gathered, and its column
 * sums: 1.5 doubles a point), the coarsest itself in three buffers and its band LU, however
 * thin the plate; on a general plate 6 doubles a coarsest point more. */
static const double MG_ABOVE_DOUBLES = 1.5, MG_COARSEST_BUFFERS = 3.0,
                    MG_GENERAL_COARSEST_DOUBLES = 6.0;
/* On a faces plate (faces.c): level 0's keep and interpolation weights (5 buffers); the coarse
 * levels' keep, nine-point operator, restriction and interpolation weights (about 23 doubles a
 * point on a third of the points: 8); at start-up, fourteen quantities and weights of level 0
 * over each level-1 tile's restriction box and two points more (14): 27 buffers in all. The
 * coarsest: 19 doubles a point more, and its band two wider. */
static const double MG_FACES_BUFFERS = 27.0, MG_FACES_COARSEST_DOUBLES = 21.0;

static void memory(const struct cfg *cfg, const struct decomp_layout *layout, int rank,
                   bool general, struct method_memory *out) {
  bool faces = cfg != NULL && cfg_faces(cfg);
  *out = (struct method_memory){.buffers = MG_BUFFERS + (general ? MG_GENERAL_BUFFERS : 0.0) +
                                           (faces ? MG_FACES_BUFFERS : 0.0)};
  struct levels hierarchy;
  if (levels_init(&hierarchy, layout) != ERR_OK || !levels_holds_coarsest(&hierarchy, rank))
    return;
  const struct levels_level *c = &hierarchy.level[hierarchy.n - 1],
                            *above = &hierarchy.level[hierarchy.n - 2];
  double coarse = (double)c->rows.n * (double)c->cols.n;
  double band = (double)(c->rows.n < c->cols.n ? c->rows.n : c->cols.n);
  out->bytes = 8.0 * (MG_ABOVE_DOUBLES * (double)above->rows.n * (double)above->cols.n +
                      MG_COARSEST_BUFFERS * coarse + coarse * (2.0 * band + 1.0) +
                      (general ? MG_GENERAL_COARSEST_DOUBLES * coarse : 0.0) +
                      (faces ? MG_FACES_COARSEST_DOUBLES * coarse : 0.0));
}

/* Visits a cycle makes to the level `depth` below the fine one: V once, W 2^depth times, F
 * depth + 1 times (an F-cycle is an F then a V below each level). */
static double visits(enum cfg_cycle cycle, int depth) {
  return cycle == CFG_CYCLE_W ? ldexp(1.0, depth) : cycle == CFG_CYCLE_F ? depth + 1.0 : 1.0;
}

/* Multigrid's plan: every level (levels.h), then the model's time a cycle, level by level: a
 * visit is the smoothing steps, the residual and the two transfers, each a sweep of the
 * level's layout with one halo exchange (red-black: two a step); the coarsest is a transfer
 * from every owner of the level above to every rank, and the banded solve (taken at 1 Gflop/s).
 * Rank 0 only. */
static int print_plan(const struct cfg *cfg, const struct decomp_layout *l, const int *nodes,
                      const struct model_machine *machine) {
  struct levels hierarchy;
  CHECK(levels_init(&hierarchy, l));
  printf("\n# multigrid plan: %d levels, %s(%lld,%lld) cycles, %s smoothing\n", hierarchy.n,
         cfg_cycle_name(cfg->mg_cycle), (long long)cfg->mg_pre, (long long)cfg->mg_post,
         cfg_smoother_name(cfg->mg_smoother));
  levels_plan_print(&hierarchy, stdout);
  double steps = (double)(cfg->mg_pre + cfg->mg_post);
  double exchanges = cfg->mg_smoother == CFG_SMOOTHER_REDBLACK ? 2.0 : 1.0;
  printf("\n# predicted time per cycle: performance model ([machine] keys)\n");
  printf("%-6s %10s %14s %14s %12s\n", "level", "visits", "us a visit", "us a cycle", "share");
  double per_level[LEVELS_MAX], total = 0, spread_total = 0;
  for (int k = 0; k < hierarchy.n; k++) {
    const struct levels_level *lv = &hierarchy.level[k];
    double t;
    if (lv->replicated) {
      /* every owner above sends its part to every holder (the same ranks); each solves */
      int holders = levels_holders(&hierarchy);
      double bytes = 8.0 * (double)(lv->rows.n * lv->cols.n) * 4;
      int64_t band = lv->rows.n < lv->cols.n ? lv->rows.n : lv->cols.n;
      t = (holders > 1 ? 2.0 * holders * machine->net_latency + bytes / machine->net_bandwidth
                       : 0.0) +
          4.0 * (double)(lv->rows.n * lv->cols.n) * (double)band / 1e9;
    } else {
      struct model_prediction p;
      CHECK(model_predict(&lv->layout, nodes, k > 0 || cfg->halo_mode == CFG_HALO_P2P, INT64_MAX,
                          machine, &p));
      double sweep = p.compute_seconds, halo = p.halo_seconds;
      t = steps * (sweep + exchanges * halo) + (sweep + halo) + 2 * (sweep / 2 + halo);
      /* the same level kept on the fine process grid (no agglomeration), for comparison */
      struct decomp_layout spread;
      int dims[2] = {(int)(l->prows < lv->rows.n ? l->prows : lv->rows.n),
                     (int)(l->pcols < lv->cols.n ? l->pcols : lv->cols.n)};
      double t_spread = t;
      if (k > 0 &&
          decomp_layout_init(&spread, lv->cols.n, lv->rows.n, dims[0] * dims[1], dims, DECOMP_BLOCK,
                             1) == ERR_OK &&
          model_predict(&spread, nodes, true, INT64_MAX, machine, &p) == ERR_OK)
        t_spread = steps * (p.compute_seconds + exchanges * p.halo_seconds) +
                   (p.compute_seconds + p.halo_seconds) +
                   2 * (p.compute_seconds / 2 + p.halo_seconds);
      spread_total += t_spread * visits(cfg->mg_cycle, k);
    }
    /* the coarsest is solved once a visit to the level above it */
    per_level[k] = t * visits(cfg->mg_cycle, lv->replicated ? k - 1 : k);
    total += per_level[k];
    if (lv->replicated) /* unagglomerated, every rank of the fine grid holds the coarsest */
      spread_total +=
          per_level[k] +
          (l->nranks > 1 ? 2.0 * (l->nranks - levels_holders(&hierarchy)) * machine->net_latency
                         : 0.0);
  }
  for (int k = 0; k < hierarchy.n; k++) {
    double v = visits(cfg->mg_cycle, hierarchy.level[k].replicated ? k - 1 : k);
    printf("%-6d %10.0f %14.2f %14.2f %11.1f%%\n", k, v, per_level[k] / v * 1e6, per_level[k] * 1e6,
           100 * per_level[k] / total);
  }
  printf("total: %.2f us a cycle; the fine level is %.1f%% of it; without agglomeration (every "
         "level on the fine process grid) %.2f us\n",
         total * 1e6, 100 * per_level[0] / total, spread_total * 1e6);
  return ERR_OK;
}

static void describe(const struct cfg *cfg, char *text, size_t len) {
  snprintf(text, len, " (%s(%lld,%lld) cycles, %s smoothing%s)", cfg_cycle_name(cfg->mg_cycle),
           (long long)cfg->mg_pre, (long long)cfg->mg_post, cfg_smoother_name(cfg->mg_smoother),
           cfg->mg_fmg ? ", full-multigrid start" : "");
}

static void describe_run(const struct method_figures *f, int64_t steps_run, char *text,
                         size_t len) {
  int n = snprintf(text, len,
                   "multigrid: %lld cycles on %d levels, %.2f fine-sweep equivalents a cycle (%.1f "
                   "in all)",
                   (long long)steps_run, f->levels, f->work_per_step,
                   f->work_per_step * (double)steps_run);
  if (!isnan(f->convergence_factor) && n > 0 && (size_t)n < len)
    snprintf(text + n, len - (size_t)n, ", residual reduced %.3g x a cycle", f->convergence_factor);
}

/* More cycles at the measured factor; a fresh run's: V(2,2) red-black reduces the error about
 * 20x a cycle at any size (docs/numerics.md, Multigrid). */
static const double MG_TYPICAL_REDUCTION = 20.0;

static double steps_to(const struct estimate_model *model, const struct method_figures *f,
                       double from, double goal) {
  (void)model;
  if (f == NULL)
    return from > goal ? ceil(log(from / goal) / log(MG_TYPICAL_REDUCTION)) : 1;
  double factor = f->convergence_factor;
  return factor > 0 && factor < 1 ? log(from / goal) / -log(factor) : NAN;
}

const struct method_ops method_multigrid = {.name = "multigrid",
                                            .step_name = "cycle",
                                            .check = METHOD_CHECK_RESULT,
                                            .sweeps = false,
                                            .tuned = false,
                                            .contraction = false,
                                            .keeps_previous = false,
                                            .first_measure = 1, /* a cycle is worth many sweeps */
                                            .speed = 2,
                                            .create = create,
                                            .step = step,
                                            .checked = checked,
                                            .stall_window = stall_window,
                                            .figures = figures,
                                            .destroy = destroy,
                                            .memory = memory,
                                            .print_plan = print_plan,
                                            .describe = describe,
                                            .describe_run = describe_run,
                                            .steps_to = steps_to};
