/* report.h - what rank 0 prints to the terminal: the header, progress lines, the summary.
 * Not for errors (team.h prints those to stderr). Not collective: the caller gathers figures.
 */
#ifndef JACOBI_REPORT_H
#define JACOBI_REPORT_H

#include "decomp/decomp.h"
#include "io/cfg.h"
#include "runtime/halo.h"
#include "solver/plate.h"

#include <stdbool.h>
#include <stdint.h>

/* Run-wide figures gathered for the summary. */
struct report_summary {
  int64_t iterations;
  double residual, tolerance;
  bool converged;
  double wall_seconds;
  double compute_seconds, halo_seconds, reduce_seconds; /* max over ranks */
  int64_t points;                                       /* interior points */
  struct halo_counts halo;                              /* sums over ranks, per exchange */
  int64_t exchange_every;                               /* iterations per exchange */
  uint64_t checksum;
  int64_t iterations_run;  /* by this run: iterations less those of initial.from_file */
  double output_seconds;   /* checkpoints and the final write, max over ranks */
  double estimate_seconds; /* measuring the error left, max over ranks (not in wall_seconds) */
  const char *output_path; /* the file written */
  bool interrupted;        /* stopped by a signal: output_path is the checkpoint */
  const char *method;      /* "jacobi", "chebyshev" */
  const char *kernel;      /* the kernel variants run (tune_describe); NULL: not said */
  double target_error;     /* 0: off */
  /* Stopped as out of reach (solve.h): the bound's best since this iteration (0: not). */
  int64_t stalled_at;
  double stalled_bound;
  bool classic_rule; /* the tolerance took part in the stopping rule */
  /* The distance of the result to T*, the exact solution of the discrete equations. */
  double error_estimate, error_bound;
  /* The warning when the classic rule stopped far from T*: warn if set; the way out to an
   * error below `goal`: `more` iterations of this method (or a tolerance of goal_tolerance),
   * or about `chebyshev_total` iterations of Chebyshev in all (0 where this is Chebyshev), or
   * about `multigrid_total` cycles of multigrid (0 where this is multigrid). */
  bool warn;
  double goal, more, goal_tolerance, chebyshev_total, multigrid_total;
  /* Multigrid: the levels, the work of a cycle in fine sweeps, the residual's reduction a
   * cycle (NaN: fewer than two cycles). */
  bool multigrid;
  int levels;
  double work_per_cycle, convergence_factor;
  /* The heat flows of the result (plate.h) and the regions they name; NULL: not reported. */
  const struct plate_heat *heat;
  int nregions;
  bool physical_units; /* the plate has them (plate.conductivity or .thickness set): heat in W */
  bool verbose;        /* --verbose: the details for tuning (rate, kernel, times, halo) too */
};

/* The header; a run continued from initial.from_file says from which iteration. */
void report_header(const struct cfg *cfg, const struct decomp_layout *layout, int nodes,
                   int64_t first_iteration);
/* A progress line: the iteration, the last agreed diff and error estimate (NaN: none yet), the
 * rate and the seconds since the start; from the second line on, the time left to the stopping
 * rules the header announced, at the rates of convergence measured between lines. */
void report_progress(int64_t iteration, double residual, double error_estimate, double mlups,
                     double elapsed);
/* The summary, leading with the answer: converged or not and why (a signal stop: the
 * checkpoint and how to continue), the error left, any warning, the heat flows where the plate
 * has physical units, the wall time and checksum, the output; at most 8 lines, none over 100
 * characters but for long paths. --verbose adds the rate, kernel, time breakdown and halo. */
void report_summary(const struct report_summary *s);

#endif /* JACOBI_REPORT_H */
