/* output.h - the result file, checkpoints and restarts: the distributed field to and from one
 * HDF5 file, with an XDMF sidecar so that ParaView and VisIt open it directly.
 *
 * The file (docs/guide.md, "Output, checkpoints and restart") holds /temperature, float64, shape
 * (ny + 2, nx + 2) with the boundary ring, row 0 the top edge, and root attributes iterations,
 * residual, converged, tolerance, nx, ny, partitioner, ranks, version, config, method,
 * error_estimate, error_bound, target_error; with
 * output.owner_map also /owner, int32, the owning rank of each point (-1 on the boundary).
 * A plate with sources adds /source, float64 (ny, nx), q in W/m^2 at each interior point; one
 * with regions adds /fixed, uint8 (ny, nx), the region (1-based) holding each interior point,
 * 0 where free (field.h's source and fixed arrays). Root attributes width, height, spacing
 * (m), conductivity, thickness, and the heat flows (io_state.heat). The sidecar's geometry is
 * in metres: origin (0, 0) at the top-left ring point, spacing h.
 *
 * Files are written atomically: to a fresh temporary PATH.tmp.XXXXXX (mkstemp: exclusive, never
 * through a link, unique to the run), flushed, fsynced and closed; the sidecar's temporary
 * likewise; then both are renamed, so PATH and its sidecar are always either the previous
 * complete files or the new complete ones, and one run's whole. Rank 0's
 * extra memory is bounded (row slabs of at most IO_SLAB_BYTES) whatever the grid size.
 *
 * Not for: the configuration (io/cfg.h), terminal output (solver/report.h). HDF5 lives here
 * and nowhere else.
 */
#ifndef JACOBI_OUTPUT_H
#define JACOBI_OUTPUT_H

#include "io/cfg.h"
#include "runtime/field.h"
#include "runtime/team.h"

#include <stdbool.h>
#include <stdint.h>

/* Largest row slab rank 0 gathers (or reads) at a time. */
#define IO_SLAB_BYTES ((int64_t)16 << 20)

/* For tests: move at most `bytes` per slab (at least one row), so that small grids exercise the
 * multi-slab path; 0 restores IO_SLAB_BYTES. Not collective, but set it alike on every rank. */
void io_set_slab_bytes(int64_t bytes);

/* What a file records besides the field. */
struct io_state {
  int64_t iterations; /* iterations the field has had */
  double change;      /* the last agreed sweep change (NaN if none yet): attribute "residual" */
  bool converged;
  double error_estimate, error_bound; /* degrees from the exact discrete solution */
  int64_t chebyshev_start; /* Chebyshev: where its recurrence began (attribute); -1: Jacobi */
  bool previous; /* also write /previous, the iterate before, from the field's other buffer */
  /* A target out of reach, as far as seen (solver's estimate_stalled): the best bound and its
   * iteration, attributes stall_best and stall_at, written when stall_at >= 0. */
  double stall_best;
  int64_t stall_at;
  /* The heat flows of the field written (plate.h), W, as root attributes heat_top,
   * heat_bottom, heat_left, heat_right, heat_regions (array, one per [[region]]: from a held
   * region through its neighbours' conductances, or a heater's power), heat_source,
   * heat_imbalance, heat_imbalance_bound, and on a plate of the faces operator heat_surface
   * (through the faces); NULL: none written. */
  const struct io_heat *heat;
  /* The convergence history (solve.h): history_rows rows of (iteration or cycle, sweep
   * change, error estimate, error bound, seconds), dataset /history; NULL: none written. */
  const double *history;
  int64_t history_rows;
  int64_t history_stride, history_checks; /* its attributes stride and checks (solve.h) */
  /* The conductivity of each interior point, W/(m K), laid out as one of the field's buffers
   * (as field.h's source), written as /conductivity (ny, nx) float64; NULL: not written (a
   * conductivity that is one number is the attribute conductivity). */
  const double *conductivity;
  /* How the run went, the summary's --verbose figures, as root attributes; NULL: none. */
  const struct io_run_info *run;
};

/* What io_state.run points to: attributes kernel (string; absent if NULL), wall_seconds,
 * compute_seconds, halo_seconds, reduce_seconds, estimate_seconds (max over ranks),
 * halo_shared_points, halo_message_points, halo_messages, halo_local_points (summed over
 * ranks, per exchange), exchange_every (iterations per exchange). */
struct io_run_info {
  const char *kernel;
  double wall_seconds, compute_seconds, halo_seconds, reduce_seconds, estimate_seconds;
  int64_t halo_shared_points, halo_message_points, halo_messages, halo_local_points;
  int64_t exchange_every;
};

/* What io_state.heat points to: the same figures as struct plate_heat (plate.h), which io
 * does not include. */
struct io_heat {
  double edge[4]; /* top, bottom, left, right (enum decomp_side) */
  const double *region;
  int nregions;
  double source, imbalance, imbalance_bound;
  bool faces;     /* a plate of the faces operator: heat_surface written too */
  double surface; /* W in through the plate's faces (surface exchange) */
};

/* Refuse, before any solving, an output that cannot be written: a missing or unwritable
 * directory, any name the run may write (output.path, its sidecar, the checkpoint, its sidecar)
 * that exists and is not a regular file or is immutable or append-only, output.mode =
 * "parallel" without parallel HDF5.
 * Rank 0 checks, the ranks agree. Collective on team->comm. Errors: ERR_CONFIG, with a
 * message naming output.path, its file:line (cfg_origin) and the reason. */
int io_check_output(const struct cfg *cfg, const struct team *team);

/* Write the current iterate of `field` to `path` (and its .xmf sidecar), atomically, as
 * cfg->output_mode says (gather or parallel). `boundary` gives the ring's values. The
 * environment variable JACOBI_FAULT=kill-during-write (or fail-during-write) makes rank 0
 * raise SIGKILL (or fail) after the first slab is in the temporary, for tests of atomicity.
 * Collective on team->comm; agreed status. Errors: ERR_FAILURE (HDF5, file system, MPI: one
 * line); PATH and its sidecar are then untouched, every HDF5 handle is closed and the run's own
 * temporaries are removed. */
int io_write(const char *path, const struct field *field, const struct field_boundary *boundary,
             const struct cfg *cfg, const struct team *team, const struct io_state *state);

/* Read the 2-D dataset `dataset` of shape (ny, nx) (the interior) from the HDF5 file `path`
 * into `dest`, laid out as one buffer of `field` (tile t at dest + field->tile_offset[t], its
 * interior points only, rings field->depth deep), any numeric type converted to double: a
 * source (source.from_file) or a region's mask. `key` names the config key that gave the path
 * (e.g. "source.from_file", or "region[2].file") and `origin` its file:line, for messages.
 * Trusts nothing: a regular file, HDF5, the dataset present, 2-D, numeric, of that shape
 * (the message gives both shapes), every value finite. Rank 0 reads row slabs and scatters
 * them (IO_SLAB_BYTES). Collective on team->comm; agreed status. Errors: ERR_CONFIG, one
 * message "ORIGIN: KEY = PATH: what is wrong". */
int io_read_interior(const char *path, const char *dataset, const char *key, const char *origin,
                     const struct field *field, const struct team *team, double *dest);

/* Read a file written by io_write into the current buffer of `field` (any layout: the file's
 * writer may have had other ranks, partitioner or process grid), and its iteration count.
 * Rank 0 reads row slabs and scatters them. Trusts nothing in the file: checks that it is a
 * regular file and HDF5, that /temperature is 2-D float64 of shape (ny + 2, nx + 2), that the
 * nx, ny and iterations attributes each hold one whole number (checked for shape and class
 * before they are read) and nx, ny match cfg, that its boundary ring holds `boundary`'s values
 * and every value is finite and within |T| <= CFG_MAX_TEMPERATURE.
 * Collective on team->comm; agreed status. Errors: ERR_CONFIG naming initial.from_file, its
 * file:line and the reason; the field's contents are then unspecified. */
int io_read(const char *path, struct field *field, const struct field_boundary *boundary,
            const struct cfg *cfg, const struct team *team, int64_t *iterations);

/* A Chebyshev state's previous iterate: if the file (which io_read accepted, holding
 * `iterations`) has /previous (a checkpoint of a Chebyshev run), read it into the other buffer
 * of `field`, checked as io_read checks /temperature, and its chebyshev_start attribute (one
 * whole number from 0 to iterations - 1) into *chebyshev_start; else set that to -1 and read
 * nothing. Collective on team->comm; agreed status. Errors: ERR_CONFIG as io_read. */
int io_read_previous(const char *path, struct field *field, const struct field_boundary *boundary,
                     const struct cfg *cfg, const struct team *team, int64_t iterations,
                     int64_t *chebyshev_start);

/* The error_estimate attribute of a file jacobi wrote (NaN where absent, as in a file of an
 * older version, or not one float). Rank 0 reads, all get the value. Call after io_read
 * succeeded. Its error_bound is not read: a run's guarantee rests only on what it measures.
 * Collective on team->comm; agreed status. Errors: ERR_FAILURE (MPI). */
int io_read_estimate(const char *path, const struct team *team, double *estimate);

/* The stall state a file carries (stall_best, stall_at: io_state), for a run continued from
 * it: *best and *at as read, or left as they are where the file has none. A file whose
 * stall_at is not from 0 to `iterations`, or whose stall_best is NaN or below `floor` (the
 * least bound rounding leaves on this plate, which no run's bound goes under: a lower best
 * would stop the continued run at once, claiming a stall), is refused (ERR_CONFIG, naming the
 * file). Collective on team->comm; returns an agreed status. */
int io_read_stall(const char *path, const struct cfg *cfg, const struct team *team,
                  int64_t iterations, double floor, double *best, int64_t *at);

/* The convergence history of `path` (dataset /history, its attributes stride and checks), for
 * a run that continues from it: at most max_rows rows of 5 values into `values` (every rank);
 * *rows = 0 for a file without one (an older version). Rank 0 reads and checks it (a float
 * array of 1 to max_rows rows of 5, a power-of-two stride, checks from rows to rows x stride +
 * 1), then broadcasts. Collective on team->comm; agreed status. Errors: ERR_CONFIG, one message
 * naming initial.from_file and the file. */
int io_read_history(const char *path, const struct cfg *cfg, const struct team *team,
                    int64_t max_rows, double *values, int64_t *rows, int64_t *stride,
                    int64_t *checks);

/* File names beside the output: "plate.h5" gives "plate.ckpt.h5" (checkpoint) and "plate.xmf"
 * (sidecar); a name not ending in ".h5" gets ".ckpt.h5" / ".xmf" appended. The caller frees
 * the result; NULL when out of memory. Not collective. */
char *io_checkpoint_path(const char *output_path);
char *io_xdmf_path(const char *h5_path);

#endif /* JACOBI_OUTPUT_H */
