/* transient.h - the transient heat equation ([time]): rho c t dT/dt = div(k t grad T) + q -
 * sum_faces h_s (T - T_s), on the faces operator (field.h: at every free point
 * diag x - sum cond x_nb = load, in W), marched from initial.interior to time.end.
 *
 * With C = rho c t V (J/K, plate_capacity) at each free point, a step of size dt solves
 *     implicit (backward Euler):  (C/dt + A) T1 = load + (C/dt) T0
 *     bdf2 (from the second step): (3C/(2dt) + A) T2 = load + (C/dt) (2 T1 - T0/2)
 *   (its first step is backward Euler's), each by methods of the method table started from the
 *   step's previous field: cycles of "multigrid" built on the step's operator (unless
 *   solver.method names another method: then sweeps of "jacobi" alone), each followed by a
 *   sweep of "jacobi" whose change certifies the iterate, until Jacobi's contraction bound
 *   q/(1 - q) x (the last sweep's change), q = max sum cond / diag of the step's operator, is at
 *   most the step's error (time.step_error, else a fraction of the last step's change: 1e-3 for
 *   implicit, 1e-4 for bdf2, so the solve's error stays far below the scheme's);
 *     explicit (forward Euler):   T1 = T0 + (dt/C) (load - A T0),
 *   refused (exit 2) where dt exceeds its stability limit min C/diag over the free points.
 * Held points never change. Every operation is pointwise in a fixed order, and the sums
 * (stored energy, flows) exact, so the series is bit for bit the same on every decomposition.
 *
 * A signal (SIGTERM, SIGINT, SIGUSR1: solve_catch_signals) stops every rank after the same
 * step, with that step's snapshot the series' last, the file written whole (exit 4).
 *
 * Not for: the steady state (solve.h). Not yet (docs/configuration.md, "Time"): checkpoints
 * and restarts mid-series; time.end = "steady".
 */
#ifndef JACOBI_TRANSIENT_H
#define JACOBI_TRANSIENT_H

#include "io/cfg.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/bound/estimate.h"
#include "solver/plate.h"

#include <stdbool.h>
#include <stdint.h>

struct transient_result {
  int64_t steps, snapshots;
  int64_t sweeps;          /* inner sweeps, over every step (explicit: the steps) */
  int64_t cycles;          /* multigrid cycles, over every step */
  double worst_bound;      /* the largest step's solve bound (0: explicit) */
  double last_change;      /* max |T(end) - T(end - dt)| */
  double seconds;          /* the steps' wall time, snapshots excluded, max over ranks */
  double snapshot_seconds; /* the snapshots' (gather, heat flows, HDF5) and the commit's */
  double stability_limit;  /* explicit's dt limit, s */
  bool interrupted;        /* stopped by SIGTERM, SIGINT or SIGUSR1 before time.end */
  bool checkpointed;       /* a checkpoint written at the stop (output.path's .ckpt.h5) */
  bool steady;             /* time.end = "steady" */
  bool reached;            /* time.end, or the steady state certified */
  double steady_bound;     /* "steady": the last certificate's bound on |T - T*| (NaN: none) */
  double steady_target;    /* "steady": what it must reach */
};

/* March the field (initial.interior in its current buffer) to time.end and write the series to
 * output.path (io/series.h). Collective on team->comm; agreed status. Errors: ERR_CONFIG (an
 * explicit step above its limit; a step's solve that does not reach its error in
 * solver.max_iterations sweeps), ERR_FAILURE (memory, the file). */
int transient_run(struct field *field, struct halo *halo, const struct team *team,
                  struct plate *plate, const struct cfg *cfg, const struct estimate_model *steady,
                  enum halo_mode halo_mode, bool progress, struct transient_result *out);

#endif /* JACOBI_TRANSIENT_H */
