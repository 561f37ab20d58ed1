/* method.h - a method of solution as the loop and the application see it: an ops table and a
 * private data pointer (the shape of PETSc's KSP). Jacobi (jacobi.c), Chebyshev (chebyshev.c)
 * and multigrid (multigrid/method.c) are three tables behind it; the loop (solve.c), main.c and
 * report.c call through the table and never ask which method runs. How a method is added:
 * docs/design.md, "The method interface".
 *
 * Not for: the checks, exchanges between steps, checkpoints, signals, progress and stopping rules
 * (solve.h, written once for every method).
 */
#ifndef JACOBI_METHOD_H
#define JACOBI_METHOD_H

#include "decomp/decomp.h"
#include "decomp/model.h"
#include "io/cfg.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/bound/estimate.h"
#include "solver/kernel/tune.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the agreed change of a step certifies (solve.h, the stopping rule). */
enum method_check {
  /* The change is of the iterate the step read, x^(last - 1); the bound carries over one
   * contraction to the iterate it wrote, which the run keeps (Jacobi). */
  METHOD_CHECK_CARRIED,
  /* The change is of the iterate the step read, and that iterate is the one certified and
   * kept: the step is no contraction (Chebyshev). */
  METHOD_CHECK_INPUT,
  /* The change is measured on the iterate the step wrote, x^last (multigrid). */
  METHOD_CHECK_RESULT,
};

/* What the loop and a step share: the field, its halos, and an exchange the loop began after the
 * last step and a step that overlaps ends (halo_exchange_end) after its inner points. */
struct method_iterate {
  struct field *field;
  struct halo *halo;
  const struct team *team;
  bool in_flight;   /* an exchange begun and not ended */
  double halo_wait; /* seconds of this step spent completing an exchange (the loop zeroes it) */
};

/* What create is given: the plan's field, halos and team, and the run's settings. */
struct method_setup {
  struct field *field;
  struct halo *halo;
  const struct team *team;
  /* The method's own keys ([multigrid]); NULL: its defaults (the tests' runs). */
  const struct cfg *cfg;
  enum halo_mode halo_mode;           /* the coarse levels' halos, as the fine level's */
  int64_t first_iteration;            /* iterations the initial field has already had */
  int64_t temporal_block;             /* iterations a step of sweeps may run at once (1: one) */
  bool streaming_stores;              /* sweep_tile_streaming (same bits, other stores) */
  const struct tune_trial *trial;     /* the plain sweeps' variants and their trial; NULL: none */
  const struct estimate_model *model; /* rho; where Chebyshev's recurrence began */
  /* The state of a method the application made before the loop (the time stepper,
   * solver/transient.h), handed to its create; NULL for the others. */
  void *context;
};

/* A method's state beside the iterate, for a checkpoint and the result's file. */
struct method_state {
  int64_t chebyshev_start; /* where the recurrence began; -1: none */
  bool previous_valid;     /* the other buffer holds x^(iteration - 1) */
};

/* A method's figures for the summary and the file, after the run. */
struct method_figures {
  struct tune_trial variants; /* what the first sweeps chose (tune.h); as given if not tuned */
  double work_per_step;       /* fine-sweep equivalents of one step (0: a step is one sweep) */
  double convergence_factor;  /* the residual's reduction a step (NaN: not measured) */
  int levels;                 /* multigrid's levels (0: none) */
};

/* What the application needs to budget memory before the field exists (field_check_memory). */
struct method_memory {
  double buffers; /* field-sized buffers beyond the field's own two (and the plate's) */
  double bytes;   /* bytes beyond those, on this rank */
};

struct method_ops {
  const char *name;      /* as solver.method spells it */
  const char *step_name; /* one step: "iteration" or "cycle" */
  enum method_check check;
  /* Its step is sweeps of the fine field: the sweeps' settings apply (check_interval,
   * temporal_block, halo.overlap, stores), else every step is checked and exchanges its own. */
  bool sweeps;
  /* Its plain sweeps take the variants the start-up calibration chooses (tune.h). */
  bool tuned;
  /* A contraction in the max norm: the bound of its start carries on (estimate_init). */
  bool contraction;
  /* Its checkpoint holds the iterate before too, with method_state (io_read_previous). */
  bool keeps_previous;
  /* Steps into the run before the first measurement of the error (certify.h). */
  int64_t first_measure;
  /* How fast it is against the others (0 slowest): the warning suggests the faster ones. */
  int speed;

  /* Optional (NULL): checked, stall_window (it never stalls), save (no state beyond the
   * iterate), stop, output, state, progress (the loop's own), figures, memory (none),
   * print_plan, describe (no words), describe_run (no line). */

  /* Collective on setup->team->comm; agreed status. Errors: ERR_FAILURE (memory, MPI). */
  int (*create)(const struct method_setup *setup, void **data);
  /* Iterations k .. last (last > k only where it sweeps in temporal blocks) from the current
   * buffer; returns this rank's change (if want_change; else anything). Leaves the result
   * current. Collective; a failed MPI call ends the job (team_abort). */
  double (*step)(void *data, struct method_iterate *it, int64_t k, int64_t last, bool want_change);
  /* After each check, with the agreed change; may update the model's damping. NULL: nothing. */
  void (*checked)(void *data, double change, struct estimate_model *model);
  /* The window of estimate_stalled at this stall state; 0: it never stalls (a change that
   * reaches 0). */
  int64_t (*stall_window)(const void *data, const struct estimate_stall *stall);
  /* Its state at `iteration` (current) for a checkpoint. */
  void (*save)(const void *data, int64_t iteration, struct method_state *out);
  /* A stepper that is no fixed-point iteration (the time stepper): its own stopping rule, asked
   * after each check with the agreed change in place of solver.tolerance and target_error;
   * *done: the run ends here, complete. Collective; agreed status (a failed step's). */
  int (*stop)(void *data, int64_t k, double change, bool *done);
  /* After each check (and stop): its output of step k (a snapshot of the series). Collective;
   * agreed status. */
  int (*output)(void *data, int64_t k);
  /* The error figures of its iterate, for a checkpoint and the result, in place of the loop's
   * certificate of the steady equations (certify.h). Not collective: the same on every rank. */
  void (*state)(const void *data, double *error_estimate, double *error_bound);
  /* Its progress line (rank 0, about once a second; without newline): its own words for step
   * k, `elapsed` seconds into the loop. */
  void (*progress)(const void *data, int64_t k, double elapsed, char *text, size_t len);
  /* Its figures after the run; out->variants comes in as given. */
  void (*figures)(const void *data, struct method_figures *out);
  /* Frees; accepts *data == NULL, sets it to NULL. Collective on each node. */
  void (*destroy)(void **data);

  /* The application's questions, before and after the run (no data: it may not exist). */
  /* Its memory on this rank's share of the layout; general: a plate with sources or regions. */
  void (*memory)(const struct cfg *cfg, const struct decomp_layout *layout, int rank, bool general,
                 struct method_memory *out);
  /* --dry-run: its plan after the decomposition's (rank 0). NULL: none. */
  int (*print_plan)(const struct cfg *cfg, const struct decomp_layout *layout, const int *nodes,
                    const struct model_machine *machine);
  /* The header's words after "method NAME" (" (V(2,2) cycles, ...)"; may be empty). */
  void (*describe)(const struct cfg *cfg, char *text, size_t len);
  /* The summary's kernel line where the calibration chose nothing; general: the general update. */
  void (*describe_kernel)(const struct cfg *cfg, bool general, char *text, size_t len);
  /* Its own line in the summary's details (without indent or newline); empty: none. */
  void (*describe_run)(const struct method_figures *f, int64_t steps_run, char *text, size_t len);
  /* Steps to bring the error from `from` to `goal`: more of this run (measured figures), or a
   * fresh run's total (figures NULL). -1 or 0: unknown. */
  double (*steps_to)(const struct estimate_model *model, const struct method_figures *f,
                     double from, double goal);
};

extern const struct method_ops method_jacobi, method_chebyshev, method_multigrid;

/* Method "chebyshev"'s data (from its create) begun again: the recurrence begins at `start`
 * (iteration start + 1 is a plain sweep) on f's diagonal and load as they are now (its uniform
 * runs read again), rho kept: the implicit steps' solves (implicit.h), one Lanczos per operator.
 * Not collective. Errors: ERR_FAILURE (memory). */
int method_chebyshev_restart(void *data, const struct field *f, int64_t start);

/* The method solver.method names (cfg_method_name); NULL if none. Not collective. */
const struct method_ops *method_find(const char *name);
/* The methods faster than `m`, in order (at most `max`); returns how many. */
int method_faster(const struct method_ops *m, const struct method_ops **out, int max);

/* Which iterate a check at `last` certifies, and whether its change is of the iterate before
 * the one certified (estimate_bound's after_step). */
int64_t method_checked_iterate(const struct method_ops *m, int64_t last);
bool method_after_step(const struct method_ops *m);

/* One of halo.h's exchanges of buffer `buf`, or the end of the job: a failed exchange leaves
 * neighbours waiting in theirs, and no collective can settle it. Collective. */
void method_exchange(int (*exchange)(struct halo *, int), struct halo *halo,
                     const struct team *team, int buf);

#endif /* JACOBI_METHOD_H */
