/* report.h - what rank 0 prints to the terminal: the header, progress lines, the summary.
 * Not for errors (team.h prints those to stderr). Not collective: the caller gathers figures.
 */
#ifndef JACOBI_REPORT_H
#define JACOBI_REPORT_H

#include "decomp/decomp.h"
#include "io/cfg.h"
#include "runtime/halo.h"
#include "solver/method/method.h"
#include "solver/plate.h"

#include <stdbool.h>
#include <stdint.h>

enum { REPORT_FASTER_MAX = 4 };

/* Run-wide figures gathered for the summary. */
/* The phases of the whole process the --verbose summary times: MPI start-up (MPI_Init),
 * configuration and plan, allocation (the field's first touch, the plate), the solve (the
 * kernel's calibration, the method's set-up, the loop, the final measurement), the heat
 * balance, and the output (the HDF5 write). */
enum {
  REPORT_PHASE_MPI,
  REPORT_PHASE_CONFIGURE,
  REPORT_PHASE_ALLOCATE,
  REPORT_PHASE_SOLVE,
  REPORT_PHASE_HEAT,
  REPORT_PHASE_OUTPUT,
  REPORT_PHASES
};

struct report_summary {
  int64_t iterations;
  double change, tolerance; /* the last agreed sweep change ("diff") and the tolerance */
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
  /* rank 0's process from before MPI_Init to the written file, by phase (REPORT_PHASE_*) */
  double phase[REPORT_PHASES];
  const char *output_path; /* the file written */
  bool interrupted;        /* stopped by a signal: output_path is the checkpoint */
  const char *method;      /* "jacobi", "chebyshev", "multigrid" */
  const char *step;        /* what one of its iterations is: "iteration", "cycle" */
  const char *kernel;      /* the kernel variants run (tune_describe); NULL: not said */
  double target_error;     /* 0: off */
  /* Stopped as out of reach (solve.h): the bound's best since this iteration (0: not). */
  int64_t stalled_at;
  double stalled_bound;
  bool classic_rule; /* the tolerance took part in the stopping rule */
  /* The distance of the result to T*, the exact solution of the discrete equations. */
  double error_estimate, error_bound;
  /* The warning when the classic rule stopped far from T*: warn if set; the way out to an
   * error below `goal`: `more` steps of this method (or a tolerance of goal_tolerance), or
   * about `total` steps in all of each faster method (those with a total > 0). */
  bool warn;
  double goal, more, goal_tolerance;
  struct report_faster {
    const char *method, *step;
    double total;
  } faster[REPORT_FASTER_MAX];
  int nfaster;
  /* The work of a step in fine sweeps (1: a step is a sweep), the rate counted in them
   * (in_sweep_equivalents), and the method's own line of details (method.h; empty: none). */
  double work_per_step;
  bool in_sweep_equivalents;
  char method_line[256];
  /* The heat flows of the result (plate.h) and the regions they name; NULL: not reported. */
  const struct plate_heat *heat;
  int nregions;
  bool physical_units; /* the plate has them (plate.conductivity or .thickness set): heat in W */
  bool verbose;        /* --verbose: the details for tuning (rate, kernel, times, halo) too */
  /* The sidecar as ParaView's default reader opens it ("./plate.xmf" for a bare name, which
   * ParaView 5.11's Xdmf3ReaderS cannot open); NULL: not said. */
  const char *sidecar;
};

/* The header; a run continued from initial.from_file says from which iteration. */
void report_header(const struct cfg *cfg, const struct method_ops *method,
                   const struct decomp_layout *layout, int nodes, int64_t first_iteration);
/* A progress line: the iteration, the last agreed diff and error estimate (NaN: none yet), the
 * rate and the seconds since the start; from the second line on, the time left to the stopping
 * rules the header announced, at the rates of convergence measured between lines. */
void report_progress(int64_t iteration, double change, double error_estimate, double mlups,
                     double elapsed);
/* The summary, leading with the answer: converged or not and why (a signal stop: the
 * checkpoint and how to continue), the error left, any warning, the heat flows where the plate
 * has physical units, the wall time and checksum, the output; at most 8 lines, none over 100
 * characters but for long paths. --verbose adds the rate, kernel, time breakdown and halo. */
void report_summary(const struct report_summary *s);

#endif /* JACOBI_REPORT_H */
