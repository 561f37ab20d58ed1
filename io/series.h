/* series.h - a transient run's time series ([time]): snapshots of the field, each with its
 * simulated time, and a heat balance row per snapshot, into one HDF5 file written atomically
 * (a temporary beside it, renamed at the commit), with an XDMF temporal collection beside it that
 * ParaView plays as an animation.
 *
 * The file (docs/configuration.md, "Time"): /series/T (nsnap x ny x nx, the interior, K or
 * degrees as the plate's temperatures), /series/time (nsnap, s), /series/heat (nsnap x
 * IO_SERIES_HEAT, the columns named in its attribute "columns"), /series/frames/T<k> (snapshot
 * k, 1 x ny x nx, a virtual dataset over /series/T: what the XDMF names), and attributes spacing,
 * x0, y0 (the first point's coordinates, m) and scheme on /series; on the root, version, config
 * (the resolved configuration) and iterations (the steps taken), as every jacobi file.
 *
 * Not for: the steady result (output.h). Rank 0 holds one gathered snapshot at a time (ny x nx
 * doubles): a series is for grids that fit one rank's memory.
 */
#ifndef JACOBI_SERIES_H
#define JACOBI_SERIES_H

#include "runtime/field.h"
#include "runtime/team.h"

/* The heat balance's columns, in order: time (s), stored energy sum of rho c t V T (J), the W
 * into the plate through each edge (north, south, west, east), from held regions, from
 * sources and heaters, through the faces; then the largest bound on a step's solve error since
 * the snapshot before (degrees; 0 for explicit steps and the first row). */
#define IO_SERIES_HEAT 10
extern const char *const io_series_heat_columns[IO_SERIES_HEAT];

struct io_series;

/* Begin the series `path` (its temporary on rank 0). Collective on team->comm; agreed. Errors:
 * ERR_FAILURE (the file, memory). */
struct cfg;
int io_series_create(const char *path, const struct field *field, const struct team *team,
                     const struct cfg *cfg, double spacing, double x0, double y0,
                     const char *scheme, struct io_series **out);

/* The current buffer's interior as the next snapshot, at `time`, with its heat row (the same on
 * every rank). Collective on team->comm; agreed. */
int io_series_append(struct io_series *s, const struct field *field, const struct team *team,
                     double time, const double heat[IO_SERIES_HEAT]);

/* Write the times, the heat table and the steps taken (the root's iterations), close, rename into
 * place, write the XDMF beside it. Collective; agreed. */
int io_series_commit(struct io_series *s, const struct team *team, int64_t steps);

/* Where a series stands after `step` steps: what a checkpoint holds beside the snapshots so far,
 * the field T_step and the one before (T_(step-1), bdf2's and the solve's start), so that a run
 * continued from it goes on as the uninterrupted one (transient.h). */
struct io_series_state {
  int64_t step;                    /* steps taken */
  double dt;                       /* the step, s (a continued run must take the same) */
  int64_t next_time, next_every;   /* the next of time.output_times, of time.output_every */
  double change;                   /* the last step's agreed change (the next step's goal) */
  double since_bound, worst_bound; /* the largest step bound since the last snapshot, in all */
  int64_t sweeps, cycles;          /* the solves' work so far (the summary's) */
};

/* A checkpoint of the series at `state->step` into `path`, atomically (a temporary beside it,
 * renamed): the root's version, config and iterations (the steps) as every jacobi file, /series
 * (the snapshots so far with their times and heat rows, as the series' own file), /state/T (the
 * current buffer's interior, ny x nx), /state/previous (`previous`, laid out as a field buffer)
 * and /state's attributes (struct io_series_state's names). Collective; agreed. Errors:
 * ERR_FAILURE (the file, memory). */
int io_series_checkpoint(struct io_series *s, const char *path, const struct field *field,
                         const struct team *team, const double *previous,
                         const struct io_series_state *state);

/* Begin the series `path` as io_series_create, continued from the checkpoint `from` (the key
 * initial.from_file): its snapshots copied into the new series, its T into the field's current
 * buffer and its previous into `previous` (any decomposition: placed by global index), its state
 * into *state. Trusts nothing: a checkpoint of a series of this grid, scheme and step, at a step
 * before time.end. Collective; agreed. Errors: ERR_CONFIG (naming initial.from_file), ERR_FAILURE
 * (the files, memory). */
int io_series_resume(const char *path, const char *from, struct field *field,
                     const struct team *team, const struct cfg *cfg, double spacing, double x0,
                     double y0, const char *scheme, double *previous, struct io_series_state *state,
                     struct io_series **out);

/* The snapshots in the series so far. Not collective. */
int64_t io_series_count(const struct io_series *s);

/* Free; removes an uncommitted temporary. Accepts NULL and *s == NULL, sets *s to NULL. Not
 * collective. */
void io_series_destroy(struct io_series **s);

#endif /* JACOBI_SERIES_H */
