/* report.c - terminal output; see report.h. */
#include "solver/report.h"

#include <math.h>
#include <stdio.h>

/* What the progress line needs to estimate the time left: the rules that stop the run (from
 * the header) and the previous line's figures, for the measured rate of convergence. Rank 0
 * alone prints, and it prints one run's lines in order. */
static struct {
  double tolerance, target_error; /* 0: that rule is off */
  int64_t max_iterations;
  int64_t iteration; /* of the previous line; -1: none yet */
  double change, error_estimate, elapsed;
} progress = {.iteration = -1};

/* A number or expression of the config as the header shows it: 80, or "20 + 5*y". */
static void print_value(const struct cfg_expr *x) {
  if (x->text != NULL)
    printf("\"%s\"", x->text);
  else
    printf("%g", x->value);
}

void report_header(const struct cfg *cfg, const struct method_ops *method,
                   const struct decomp_layout *layout, int nodes, int64_t first_iteration) {
  bool classic = cfg->target_error <= 0 || cfg_is_set(cfg, "solver.tolerance");
  progress.tolerance = classic ? cfg->tolerance : 0.0;
  progress.target_error = cfg->target_error;
  progress.max_iterations = cfg->max_iterations;
  progress.iteration = -1;
  printf("jacobi %s: %lld x %lld interior points, %d rank%s on %d node%s, process grid %d x %d\n",
         JACOBI_VERSION, (long long)cfg->nx, (long long)cfg->ny, layout->nranks,
         layout->nranks == 1 ? "" : "s", nodes, nodes == 1 ? "" : "s", layout->prows,
         layout->pcols);
  printf("  partitioner %s", cfg_partitioner_name(cfg->partitioner));
  if (cfg->partitioner == CFG_BLOCK_CYCLIC)
    printf(" (block %lld)", (long long)cfg->block_size);
  printf(", halo %s, method %s", cfg_halo_mode_name(cfg->halo_mode), cfg_method_name(cfg->method));
  char words[256] = "";
  if (method->describe != NULL)
    method->describe(cfg, words, sizeof words);
  printf("%s", words);
  printf(", ");
  if (cfg->target_error > 0 && cfg_is_set(cfg, "solver.tolerance"))
    printf("target error %g degrees and tolerance %g", cfg->target_error, cfg->tolerance);
  else if (cfg->target_error > 0)
    printf("target error %g degrees", cfg->target_error);
  else
    printf("tolerance %g", cfg->tolerance);
  if (!method->sweeps) { /* the sweeps' settings do not apply to its steps */
    printf(", check every %s, at most %lld %ss\n", method->step_name,
           (long long)cfg->max_iterations, method->step_name);
  } else {
    printf(", check every %lld, at most %lld iterations%s", (long long)cfg->check_interval,
           (long long)cfg->max_iterations,
           cfg->stores == CFG_STORES_STREAMING ? ", streaming stores" : "");
    if (cfg->temporal_block > 1)
      printf(", temporal blocks of %lld sweeps", (long long)cfg->temporal_block);
    printf("\n");
  }
  /* every edge's condition, so that an omitted edge (held at 0) is seen, not guessed */
  const struct {
    const char *name, *key;
    const struct cfg_expr *edge;
  } edges[] = {{"top", "boundary.top", &cfg->top},
               {"bottom", "boundary.bottom", &cfg->bottom},
               {"left", "boundary.left", &cfg->left},
               {"right", "boundary.right", &cfg->right}};
  bool all_held = true;
  for (int k = 0; k < 4; k++)
    all_held = all_held && cfg->edge[k].kind == CFG_EDGE_HELD;
  printf(all_held ? "  edges held at (degrees):" : "  edges:");
  for (int k = 0; k < 4; k++) {
    const struct cfg_edge *e = &cfg->edge[k];
    printf(" %s", edges[k].name);
    if (e->kind == CFG_EDGE_HELD) {
      printf(all_held ? " " : " held at ");
      print_value(edges[k].edge);
      printf("%s", cfg_is_set(cfg, edges[k].key) ? "" : " (default)");
    } else if (e->kind == CFG_EDGE_INSULATED) {
      printf(" insulated");
    } else if (e->kind == CFG_EDGE_FLUX) {
      printf(" flux ");
      print_value(&e->flux);
      printf(" W/m^2 in");
    } else {
      printf(" convective, h ");
      print_value(&e->h);
      printf(" W/(m^2 K) to ");
      print_value(&e->ambient);
    }
    printf("%s", k < 3 ? "," : "\n");
  }
  /* the plate, where it is more than four constant edges and a constant start */
  bool profiles = cfg->top.text != NULL || cfg->bottom.text != NULL || cfg->left.text != NULL ||
                  cfg->right.text != NULL || cfg->interior.text != NULL;
  if (profiles || cfg_general(cfg) || cfg_faces(cfg) || cfg_is_set(cfg, "plate.width") ||
      cfg_is_set(cfg, "plate.height")) {
    printf("  plate %.6g x %.6g m, spacing h = %.6g m, conductivity ", cfg->width, cfg->height,
           cfg_spacing(cfg));
    if (cfg->conductivity_file[0] != '\0')
      printf("from %s:%s", cfg->conductivity_file, cfg->conductivity_dataset);
    else
      print_value(&cfg->conductivity_k);
    printf(" W/(m K), thickness %g m", cfg->thickness);
    if (cfg->surface_h.text != NULL || cfg->surface_h.value != 0.0) {
      printf(", %s exchanging h ", cfg->surface_faces == 1 ? "one face" : "both faces");
      print_value(&cfg->surface_h);
      printf(" W/(m^2 K) with ");
      print_value(&cfg->surface_ambient);
    }
    bool source =
        cfg->source_q.text != NULL || cfg->source_q.value != 0.0 || cfg->source_file[0] != '\0';
    if (source)
      printf(", heat sources");
    int held = 0, materials = 0, heaters = 0;
    for (int r = 0; r < cfg->nregions; r++) {
      held += cfg->regions[r].held;
      materials += cfg->regions[r].has_conductivity;
      heaters += cfg->regions[r].has_power;
    }
    if (held > 0)
      printf(", %d fixed-temperature region%s", held, held == 1 ? "" : "s");
    if (materials > 0)
      printf(", %d material%s", materials, materials == 1 ? "" : "s");
    if (heaters > 0)
      printf(", %d heater%s", heaters, heaters == 1 ? "" : "s");
    if (profiles)
      printf(", edge or start profiles");
    printf("\n");
  }
  if (cfg->from_file[0] != '\0')
    printf("  continuing from iteration %lld of %s\n", (long long)first_iteration, cfg->from_file);
  fflush(stdout);
}

/* Iterations until `value`, shrinking by `rate` per iteration, reaches `goal`; -1 if unknown
 * (no rate yet, not shrinking, or already there). */
static double iterations_to(double value, double goal, double rate) {
  if (!(goal > 0) || !(value > goal) || !(rate > 0 && rate < 1) || !isfinite(value))
    return -1;
  return log(goal / value) / log(rate);
}

/* The rate per iteration from the previous value to this one, k iterations apart. */
static double rate_of(double before, double now, int64_t k) {
  if (k <= 0 || !(before > 0) || !(now > 0) || !isfinite(before) || !isfinite(now))
    return NAN;
  return pow(now / before, 1.0 / (double)k);
}

/* Iterations to the stopping rules from the rates measured since the previous line: the diff's
 * for the classic rule, the error estimate's for the target error (the bound, which decides,
 * shrinks at the same rate once the slowest mode dominates); the later of the two when both
 * are on. -1 if there is no estimate yet; *per_iteration: the seconds one takes. */
static double iterations_left(int64_t iteration, double change, double error_estimate,
                              double elapsed, double *per_iteration) {
  if (progress.iteration < 0 || iteration <= progress.iteration || elapsed <= progress.elapsed)
    return -1;
  int64_t k = iteration - progress.iteration;
  double left = 0;
  *per_iteration = (elapsed - progress.elapsed) / (double)k;
  if (progress.tolerance > 0) {
    double n = iterations_to(change, progress.tolerance, rate_of(progress.change, change, k));
    if (n < 0)
      return -1;
    left = n;
  }
  if (progress.target_error > 0) {
    double n = iterations_to(error_estimate, progress.target_error,
                             rate_of(progress.error_estimate, error_estimate, k));
    if (n < 0)
      return -1;
    left = n > left ? n : left;
  }
  return left;
}

void report_progress(int64_t iteration, double change, double error_estimate, double mlups,
                     double elapsed) {
  printf("  iteration %lld:", (long long)iteration);
  if (!isnan(change))
    printf(" diff %.3e,", change);
  if (!isnan(error_estimate))
    printf(" error about %.3g degrees,", error_estimate);
  printf(" %.1f MLUP/s, %.0f s elapsed", mlups, elapsed);
  double per_iteration = 0;
  double left = iterations_left(iteration, change, error_estimate, elapsed, &per_iteration);
  const char *rule = progress.target_error > 0 ? "target error" : "tolerance";
  if (left >= 0 && (double)iteration + left <= (double)progress.max_iterations)
    printf(", about %.2g s to the %s", left * per_iteration, rule);
  else if (left >= 0)
    printf(", the %s at about iteration %.2g, beyond max_iterations", rule,
           (double)iteration + left);
  printf("\n");
  progress.iteration = iteration;
  progress.change = change;
  progress.error_estimate = error_estimate;
  progress.elapsed = elapsed;
  fflush(stdout);
}

/* x to two significant digits (`rounding` round, or ceil: a target that is met where x is). */
static double two_digits_by(double x, double (*rounding)(double)) {
  if (!(x > 0) || !isfinite(x))
    return x;
  double unit = pow(10.0, floor(log10(x)) - 1);
  return rounding(x / unit) * unit;
}

/* x to two significant digits: a prediction, not a count. */
static double two_digits(double x) { return two_digits_by(x, round); }

/* The step's name after n, "iteration" or "iterations" (or "cycle(s)"). */
static const char *count_word(int64_t n, const char *step, char *word, size_t len) {
  snprintf(word, len, "%s%s", step, n == 1 ? "" : "s");
  return word;
}

/* The first line: the answer, and why the run stopped. */
static void summary_status(const struct report_summary *s) {
  char word[32];
  const char *unit = count_word(s->iterations, s->step, word, sizeof word);
  if (s->interrupted) {
    printf("stopped by a signal at %s %lld: checkpoint written to %s\n", s->step,
           (long long)s->iterations, s->output_path);
    printf("  continue with: jacobi --set initial.from_file=%s CONFIG\n", s->output_path);
    return;
  }
  printf("%s after %lld %s (%s): ", s->converged ? "converged" : "NOT converged",
         (long long)s->iterations, unit, s->method);
  if (s->converged && s->classic_rule)
    printf("diff %.3e below the tolerance %g\n", s->change, s->tolerance);
  else if (s->converged)
    printf("error bound %.3g below the target %g\n", s->error_bound, s->target_error);
  else if (s->stalled_at > 0)
    printf("the target error %g is out of reach\n", s->target_error);
  else
    printf("stopped at solver.max_iterations, diff %.3e\n", s->change);
}

/* The warning of a run the classic rule stopped far from T*, and the way out. */
static void summary_warning(const struct report_summary *s) {
  printf("  warning: the diff is below the tolerance, but the error left is %.3g x the tolerance\n",
         s->error_estimate / s->tolerance);
  printf("    for an error below %g: solver.target_error = %g (about %.0f more %ss)\n", s->goal,
         s->goal, two_digits(s->more), s->step);
  int shown = 0, to_show = 0;
  for (int k = 0; k < s->nfaster; k++)
    to_show += s->faster[k].total > 0;
  for (int k = 0; k < s->nfaster; k++) {
    if (!(s->faster[k].total > 0))
      continue;
    shown++;
    printf("%s \"%s\" (about %.0f %ss)%s", shown == 1 ? "    or solver.method =" : "",
           s->faster[k].method, two_digits(s->faster[k].total), s->faster[k].step,
           shown < to_show ? " or" : "\n");
  }
  if (s->verbose)
    printf("    (or solver.tolerance = %.2g)\n", s->goal_tolerance);
}

/* The heat flows: one line by default, every flow and the balance under --verbose. */
static void summary_heat(const struct report_summary *s) {
  const struct plate_heat *heat = s->heat;
  if (!s->verbose) {
    printf("  heat into the plate (W): top %.3g, bottom %.3g, left %.3g, right %.3g",
           heat->edge[DECOMP_NORTH], heat->edge[DECOMP_SOUTH], heat->edge[DECOMP_WEST],
           heat->edge[DECOMP_EAST]);
    if (heat->faces) { /* a real plate: its regions (heaters, held) and faces, summed */
      double regions = 0.0;
      for (int k = 0; k < s->nregions; k++)
        regions += heat->region[k];
      if (s->nregions > 0)
        printf(", regions %.3g", regions);
      printf(", faces %.3g", heat->surface);
    }
    printf(", sum %.3g\n", heat->imbalance);
    return;
  }
  printf("  heat into the plate (W): top %.6g, bottom %.6g, left %.6g, right %.6g",
         heat->edge[DECOMP_NORTH], heat->edge[DECOMP_SOUTH], heat->edge[DECOMP_WEST],
         heat->edge[DECOMP_EAST]);
  for (int k = 0; k < s->nregions; k++)
    printf(", region %d %.6g", k + 1, heat->region[k]);
  printf(", sources %.6g", heat->source);
  if (heat->faces)
    printf(", faces %.6g", heat->surface);
  printf("\n");
  printf("  heat balance: the flows sum to %.3g W (steady state: 0; at most %.3g W for the "
         "error left)\n",
         heat->imbalance, heat->imbalance_bound);
}

/* Under --verbose: how the run went, for those who tune it (also in the file's attributes). */
static void summary_details(const struct report_summary *s) {
  /* a step updates the fine grid's points work_per_step times, in effect */
  double updates = (double)s->points * (double)s->iterations_run * s->work_per_step;
  double mlups = s->wall_seconds > 0 ? updates / s->wall_seconds / 1e6 : 0.0;
  if (s->method_line[0] != '\0')
    printf("  %s\n", s->method_line);
  printf("  rate %.1f MLUP/s%s\n", mlups,
         s->in_sweep_equivalents ? " (in fine-sweep equivalents)" : "");
  if (s->kernel != NULL)
    printf("  kernel %s\n", s->kernel);
  printf("  time (max over ranks): compute %.6f s, halo exchange %.6f s, convergence "
         "reduction %.6f s, output %.6f s, error estimate %.6f s (not in the wall time)\n",
         s->compute_seconds, s->halo_seconds, s->reduce_seconds, s->output_seconds,
         s->estimate_seconds);
  double process = 0.0;
  for (int p = 0; p < REPORT_PHASES; p++)
    process += s->phase[p];
  printf("  process (rank 0) %.3f s: MPI start-up %.3f s, configuration and plan %.3f s, "
         "allocation and first touch %.3f s, solve %.3f s (the wall time and the error estimate "
         "above), heat balance %.3f s, output %.3f s\n",
         process, s->phase[REPORT_PHASE_MPI], s->phase[REPORT_PHASE_CONFIGURE],
         s->phase[REPORT_PHASE_ALLOCATE], s->phase[REPORT_PHASE_SOLVE], s->phase[REPORT_PHASE_HEAT],
         s->phase[REPORT_PHASE_OUTPUT]);
  if (s->exchange_every > 1)
    printf("  halo per exchange (one every %lld iterations):", (long long)s->exchange_every);
  else
    printf("  halo per iteration:");
  printf(" %lld points (%.1f KiB) in shared windows, %lld points (%.1f "
         "KiB) in %d messages, %lld points copied within ranks\n",
         (long long)s->halo.shm_points, (double)s->halo.shm_points * 8 / 1024,
         (long long)s->halo.p2p_points, (double)s->halo.p2p_points * 8 / 1024, s->halo.messages,
         (long long)s->halo.local_points);
}

void report_summary(const struct report_summary *s) {
  summary_status(s);
  printf("  error left: about %.3g degrees, at most %.3g (against the exact discrete solution)\n",
         s->error_estimate, s->error_bound);
  if (s->stalled_at > 0) {
    printf("  stopped: the bound has not fallen below %.3g since iteration %lld, held up by\n",
           s->stalled_bound, (long long)s->stalled_at);
    printf("    rounding (the iterates' change stays near %.2g); solver.target_error = %.2g can "
           "be met\n",
           s->change, two_digits_by(1.1 * s->stalled_bound, ceil));
  }
  if (s->warn)
    summary_warning(s);
  if (s->heat != NULL && (s->physical_units || s->verbose))
    summary_heat(s);
  printf("  wall time %.6f s", s->wall_seconds);
  if (s->iterations_run != s->iterations) /* continued from a file: this run's part alone */
    printf(" (this run: %ss %lld to %lld)", s->step, (long long)(s->iterations - s->iterations_run),
           (long long)s->iterations);
  printf(", field checksum %016llx\n", (unsigned long long)s->checksum);
  if (s->verbose)
    summary_details(s);
  if (!s->interrupted && s->sidecar != NULL)
    printf("  output written to %s; in ParaView open %s\n", s->output_path, s->sidecar);
  else if (!s->interrupted)
    printf("  output written to %s\n", s->output_path);
  fflush(stdout);
}
