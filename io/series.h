/* series.h - a transient run's time series ([time]): snapshots of the field, each with its
 * simulated time, and a heat balance row per snapshot, into one HDF5 file written atomically
 * (a temporary beside it, renamed at the commit), with an XDMF temporal collection beside it that
 * ParaView plays as an animation.
 *
 * The file (docs/configuration.md, "Time"): /series/T (nsnap x ny x nx, the interior, K or
 * degrees as the plate's temperatures), /series/time (nsnap, s), /series/heat (nsnap x
 * IO_SERIES_HEAT, the columns named in its attribute "columns"), /series/frames/T<k> (snapshot
 * k, 1 x ny x nx, a virtual dataset over /series/T: what the XDMF names), and attributes nx, ny, spacing,
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

/* Free; removes an uncommitted temporary. Accepts NULL and *s == NULL, sets *s to NULL. Not
 * collective. */
void io_series_destroy(struct io_series **s);

#endif /* JACOBI_SERIES_H */
