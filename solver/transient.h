/* transient.h - the transient heat equation ([time]): rho c t dT/dt = div(k t grad T) + q -
 * sum_faces h_s (T - T_s), on the faces operator (field.h: at every free point
 * diag x - sum cond x_nb = load, in W), marched from initial.interior to time.end.
 *
 * With C = rho c t V (J/K, plate_capacity) at each free point, a step of size dt solves
 *     implicit (backward Euler):  (C/dt + A) T1 = load + (C/dt) T0
 *     bdf2 (from the second step): (3C/(2dt) + A) T2 = load + (C/dt) (2 T1 - T0/2)
 *   (its first step is backward Euler's), each solved by implicit_solve (solver/method/
 *   implicit.h): cycles of "multigrid" built on the step's operator from the extrapolated start
 *   2 T_n - T_(n-1), each certified by the row-sum bound max |r| / s of one residual pass
 *   (solver.method naming another method: that method's steps, certified likewise), to the
 *   step's goal: time.step_error, else 1e-3 of the last step's change (1e-4 for bdf2), raised
 *   for backward Euler to half its local truncation estimate, and until steady to 0.1 x the
 *   target, so the solve's error stays below the scheme's;
 *     explicit (forward Euler):   T1 = T0 + (dt/C) (load - A T0),
 *   refused (exit 2) where dt exceeds its stability limit min C/diag over the free points.
 * Held points never change. Every operation is pointwise in a fixed order, and the sums
 * (stored energy, flows) exact, so the series is bit for bit the same on every decomposition.
 *
 * The stepper is a method of the table (method.h) run by the loop (solve.h): a step of the
 * loop is one time step, every step is checked, and the stepper's stop, output (the snapshot),
 * state and progress entries are asked where a steady method's rules would be; so the loop's
 * signals, checkpoints, progress line and agreed errors serve the series (docs/design.md, "The
 * time stepper behind the loop"). A signal (SIGTERM, SIGINT, SIGUSR1) stops every rank after the
 * same step: the checkpoint of that step, then the series closed whole with that step's snapshot
 * its last (exit 4). output.checkpoint_interval writes the checkpoint (io/series.h: the series so
 * far, T_n, T_(n-1), the stepper's state) every N steps; initial.from_file continues from one on
 * any decomposition, bit for bit. time.end = "steady" (time_end INFINITY): up to
 * time.max_steps steps, stopping at the first T_n that the steady certificate (solve_certify,
 * on the steady operator) puts within the target of the steady solution (docs/numerics.md,
 * "Until steady").
 *
 * Not for: the steady state (solve.h). Not yet: a step that grows (docs/configuration.md).
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

/* March the field (initial.interior in its current buffer, or initial.from_file's checkpoint)
 * to time.end and write the series to output.path (io/series.h). `steady` is the steady
 * equations' error model (main.c's estimate, with the faces operator's ||A^-1||), used by
 * time.end = "steady". Collective on team->comm; agreed status. Errors: ERR_CONFIG (an
 * explicit step above its limit; a step's solve that does not reach its error in
 * solver.max_iterations sweeps; a checkpoint that does not fit; "steady" on a plate with no bound
 * on ||A^-1||), ERR_FAILURE (memory, the file). */
int transient_run(struct field *field, struct halo *halo, const struct team *team,
                  struct plate *plate, const struct cfg *cfg, const struct estimate_model *steady,
                  enum halo_mode halo_mode, bool progress, struct transient_result *out);

#endif /* JACOBI_TRANSIENT_H */
