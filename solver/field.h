/* field.h - the distributed temperature field: each rank's tiles, with one-point halo rings, in
 * two buffers (current and next iterate), allocated in an MPI-3 shared-memory window so that
 * the ranks of a node can read each other's tiles in place.
 *
 * A tile of nrows x ncols interior points is stored row-major with stride ncols + 2; its halo
 * ring holds either the fixed boundary temperature (set once, in both buffers) or copies of the
 * neighbouring tiles' edges (filled by halo.h). Where the tiles sit in a rank's window segment
 * is a pure function of the layout (field_tile_offsets), so any rank can find any node
 * neighbour's tile without asking it. Never holds the global grid.
 */
#ifndef JACOBI_FIELD_H
#define JACOBI_FIELD_H

#include "decomp.h"
#include "team.h"

#include <mpi.h>
#include <stdint.h>

/* Fixed temperatures, indexed by enum decomp_side: top, bottom, left, right. */
struct field_boundary {
  double side[DECOMP_NSIDES];
};

struct field {
  const struct decomp_layout *layout; /* borrowed; outlives the field */
  int rank;
  int64_t ntiles;
  struct decomp_tile *tiles; /* this rank's tiles */
  int64_t *tile_offset;      /* doubles from a buffer's start to tile t */
  int64_t buffer_len;        /* doubles in one buffer; buffer 1 follows buffer 0 */
  double *base;              /* this rank's window segment */
  MPI_Win win;
  int current; /* the buffer (0 or 1) that holds the current iterate */
};

/* Offsets of rank's tiles in one of its buffers (ntiles entries, each 64-byte aligned), and
 * the buffer length in doubles. Pure: any rank computes it for any rank. */
void field_tile_offsets(const struct decomp_layout *layout, int rank, int64_t *offsets,
                        int64_t *buffer_len);

/* Whether the tiles of every rank on this rank's node (two buffers each) fit the node's
 * physical memory: call before field_create, so that an absurd grid is a configuration error
 * rather than an allocation failure. Collective on team->node; NOT agreed (the caller adds
 * where the grid size came from, then agrees). Errors: ERR_CONFIG, ERR_FAILURE (MPI). */
int field_check_memory(const struct decomp_layout *layout, const struct team *team);

/* Allocate this rank's tiles in a shared window on team->node and set both buffers: interior
 * points to `interior`, boundary halos to their side's temperature, other halos to NaN until the
 * first exchange (so a missed halo cannot pass unnoticed). Collective on team->comm; agreed
 * status. Errors: ERR_FAILURE (allocation, MPI). */
int field_create(const struct decomp_layout *layout, const struct team *team,
                 const struct field_boundary *boundary, double interior, struct field **out);

/* Free the window; accepts NULL and *field == NULL, sets *field to NULL. Collective on the node. */
void field_destroy(struct field **field);

/* The storage of tile t in buffer buf: halo ring included, (nrows + 2) x (ncols + 2). */
static inline double *field_tile(const struct field *f, int buf, int64_t t) {
  return f->base + (int64_t)buf * f->buffer_len + f->tile_offset[t];
}
static inline int64_t field_stride(const struct field *f, int64_t t) {
  return f->tiles[t].ncols + 2;
}

/* Decomposition-independent fingerprint of the current iterate: a sum, wrapping mod 2^64, of a
 * hash of (global index, exact bits) over every interior point. Equal fields give equal
 * checksums on any decomposition; a change of one bit anywhere changes it. Collective on
 * team->comm. */
uint64_t field_checksum(const struct field *f, const struct team *team);

#endif /* JACOBI_FIELD_H */
