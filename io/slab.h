/* slab.h - io's private helpers: the row slabs a file is moved in, the canonical order of a
 * rank's points within a slab, HDF5 error text and file kinds, and the scatter of a
 * slab read by rank 0. Shared by output.c, restart.c and interior.c only.
 *
 * Canonical order (what a rank packs and rank 0 unpacks, so no index travels with the values):
 * the rank's tiles in index order (t = kr * ncolruns + kc, decomp.h), then rows, then columns.
 * Row-major order (IO_ROW_MAJOR) is the file's: for each row run, each row, each column run,
 * which is how HDF5 walks a union of hyperslabs (parallel mode).
 */
#ifndef JACOBI_SLAB_H
#define JACOBI_SLAB_H

#include "decomp/decomp.h"

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The file's geometry: (rows x cols) with the ring, moved slab_rows at a time (whole chunk rows,
 * so that a slab write never rewrites a chunk). */
struct io_slabs {
  int64_t rows, cols;
  int64_t slab_rows;
  int64_t chunk_rows, chunk_cols;
};

/* Slabs of at most slab_bytes for an nx x ny interior: the grid with its ring, (ny + 2) x
 * (nx + 2). Not collective. */
void io_slabs_init(struct io_slabs *s, int64_t nx, int64_t ny, int64_t slab_bytes);

/* The same for a dataset of the interior alone, ny x nx (/source, /fixed, a dataset read by
 * io_read_interior): rows and cols are ny and nx, and row r is interior row r. Not collective. */
void io_slabs_init_interior(struct io_slabs *s, int64_t nx, int64_t ny, int64_t slab_bytes);

/* The slab budget io_set_slab_bytes set (IO_SLAB_BYTES by default). */
int64_t io_slab_bytes(void);

/* One row of one tile inside a slab: interior row gi, interior columns [col0, col0 + ncols). */
struct io_segment {
  int64_t tile; /* index among the owner's tiles */
  int64_t gi, row0, col0, ncols;
};
typedef void io_segment_fn(const struct io_segment *seg, void *ctx);

enum io_order { IO_CANONICAL, IO_ROW_MAJOR };

/* Call fn (may be NULL) on each segment of rank's tiles within interior rows [g0, g1), in the
 * given order; return the number of points they hold. Pure: any rank, for any rank. */
int64_t io_segments(const struct decomp_layout *l, int rank, int64_t g0, int64_t g1,
                    enum io_order order, io_segment_fn *fn, void *ctx);

/* Rank 0's slab of a file to the ranks that own its points: every rank receives, in canonical
 * order, its points of interior rows [g0, g1), which rank 0 takes from `slab` (interior point
 * (gi, gj) at slab[(gi + ring - r0) * cols + gj + ring]: ring 1 for a slab of the grid with its
 * ring whose first row is grid row r0, 0 for one of the interior alone), and calls put on each
 * of its segments with the values in `recv` (advanced segment by segment). send, counts and
 * displs are rank 0's scratch (size: the slab's points, the team's size). Collective on
 * team->comm; an MPI failure ends every rank. */
struct team;
typedef void io_put_fn(const struct io_segment *seg, const double *values, void *ctx);
void io_scatter_rows(const struct decomp_layout *l, const struct team *team, int64_t g0, int64_t g1,
                     const double *slab, int64_t r0, int64_t cols, int ring, double *send,
                     int *counts, int *displs, double *recv, io_put_fn *put, void *ctx);

/* Rank 0's read of rows [r0, r1) of a 2-D dataset `cols` wide into slab, as double (HDF5
 * converts any numeric type). Returns false on failure, its reason then in io_h5_reason().
 * Not collective. */
bool io_read_rows(hid_t dset, int64_t r0, int64_t r1, int64_t cols, double *slab);

/* A dataset access property list for reading a file jacobi did not write (the caller closes
 * it; H5I_INVALID_HID if HDF5 cannot make one): an external link is followed only to a
 * regular file, wherever HDF5 would look for it (the link's name as given, beside the file
 * holding the link, and under $HDF5_EXT_PREFIX), because a FIFO there would block the open for
 * ever and a device worse. Usable wherever HDF5 takes a link access list. Not collective. */
hid_t io_input_access(void);
/* What the last io_input_access list refused to follow ("an external link to fifo, which is a
 * FIFO, not a regular file"), or NULL. Static storage. Not collective. */
const char *io_input_refused_link(void);

/* Whether the open dataset's values are in its own file: false, with the reason in why, for
 * external raw storage (H5Pset_external) and a virtual dataset, whose files jacobi does not
 * open (each could be a FIFO, or anything). Not collective. */
bool io_input_storage_ok(hid_t dset, char *why, size_t size);

/* The innermost message on HDF5's error stack ("" if none), then clear the stack. Static
 * storage. HDF5's own printing is turned off by io_quiet_hdf5(). Not collective. */
const char *io_h5_reason(void);
void io_quiet_hdf5(void);

/* "an integer", "a float", "a string", ...: an HDF5 type class, for messages. Not collective. */
const char *io_type_class_name(int type_class);

/* What a file of this st_mode is, for messages: "a regular file", "a directory", "a FIFO", "a
 * character device", ... Not collective. */
const char *io_file_kind(mode_t mode);

#endif /* JACOBI_SLAB_H */
