/* field.h - the distributed temperature field: each rank's tiles, with halo rings, in two
 * buffers (current and next iterate), allocated in an MPI-3 shared-memory window so that the
 * ranks of a node can read each other's tiles in place.
 *
 * A tile of nrows x ncols interior points is stored row-major with a halo ring `depth` points
 * deep (1 for the plain sweep; K for temporal blocks of K sweeps), stride ncols + 2 * depth.
 * A ring point inside the grid holds a copy of the tile that owns it (filled by halo.h); one
 * on the grid's edge holds the fixed boundary temperature (set once, in both buffers); one
 * beyond the edge, or on a corner of the grid, is never read and holds NaN. Where the tiles sit in
 * a rank's window segment is a pure function of the layout (field_tile_offsets), so any rank can
 * find any node neighbour's tile without asking it. Never holds the global grid.
 */
#ifndef JACOBI_FIELD_H
#define JACOBI_FIELD_H

#include "decomp/decomp.h"
#include "runtime/team.h"

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

/* The fixed temperatures of the boundary ring, indexed by enum decomp_side and by position on
 * the ring, counted from the ring's corner: side[DECOMP_NORTH][c] and side[DECOMP_SOUTH][c] for
 * ring columns c = 0 .. nx + 1 (c = j + 1 above and below interior column j; c = 0 and nx + 1
 * are the corners, which the file shows and no stencil reads), side[DECOMP_WEST][r] and
 * side[DECOMP_EAST][r] for ring rows r = 0 .. ny + 1 (r = i + 1 beside row i). Borrowed arrays
 * (plate.h owns them); a side left NULL holds 0 everywhere. */
struct field_boundary {
  const double *side[DECOMP_NSIDES];
};

struct field {
  const struct decomp_layout *layout; /* borrowed; outlives the field */
  int rank;
  int64_t depth; /* of every halo ring, >= 1 */
  int64_t ntiles;
  struct decomp_tile *tiles; /* this rank's tiles */
  int64_t *tile_offset;      /* doubles from a buffer's start to tile t */
  int64_t buffer_len;        /* doubles in one buffer; buffer 1 follows buffer 0 */
  double *base;              /* this rank's window segment */
  MPI_Win win;
  int current; /* the buffer (0 or 1) that holds the current iterate */
  /* The plate's equations where they are not Laplace's (plate.h), in private memory laid out
   * as one buffer (tile_offset; only interior points are meaningful): NULL for a plate without
   * sources or fixed regions. coef is 1 at a free point and 0 at a fixed one; rhs is the
   * source term h^2 q / (4 k t) at a free point and the held temperature at a fixed one. The
   * general update is  coef * (the 5-point average) + rhs  (sweep.h). */
  double *coef, *rhs;
  /* The faces operator (operator.h's OP_FACES*), for a plate whose equations are not the
   * 5-point average's: an edge that is not held, a conductivity that varies, exchange through
   * the faces (plate.h says how each is discretised). At every interior point p, in watts:
   *     diag[p] x[p] - sum over sides d of cond[d][p] x[neighbour d of p] = load[p],
   * the update x[p] = OP_FACES_UPDATE(OP_FACES(cond[N][p], x[n], cond[S][p], x[s], cond[W][p],
   * x[w], cond[E][p], x[e]), load[p], diag[p]), indexed by enum decomp_side. Conductances and
   * diag are W/K, load W. A neighbour in the grid's ring is read like any other: a held edge's
   * ring holds its temperature; the ring beyond an edge that is not held holds 0 and its
   * conductance is 0. A held point (a region's): conductances 0, diag 1, load its temperature.
   * Between two free points the matrix is symmetric, bit for bit (cond[E] of (i, j) equals
   * cond[W] of (i, j + 1)), and it is an M-matrix (conductances >= 0, diag >= their sum).
   * Private memory laid out as one buffer (tile_offset), rings filled with the owners' values as
   * deep as the field's (as coef and rhs). All NULL for any other plate; never set together
   * with coef and rhs. */
  double *cond[DECOMP_NSIDES], *diag, *load;
  double *source;       /* q, W/m^2, at each point (NULL: no source) */
  unsigned char *fixed; /* the region (1-based, cfg order) holding each point, 0: free (NULL:
                         * no regions) */
};

/* Whether the field sweeps with the general update (coef and rhs set). */
static inline bool field_general(const struct field *f) { return f->coef != NULL; }
/* Whether the field sweeps with the faces operator (cond, diag and load set). */
static inline bool field_faces(const struct field *f) { return f->diag != NULL; }

/* Offsets of rank's tiles, with rings `depth` deep, in one of its buffers (ntiles entries, each
 * 64-byte aligned), and the buffer length in doubles. Pure: any rank computes it for any rank. */
void field_tile_offsets(const struct decomp_layout *layout, int rank, int64_t depth,
                        int64_t *offsets, int64_t *buffer_len);

/* Whether the tiles of every rank on this rank's node (two buffers each) fit the node's
 * physical memory and this process's cgroup memory limit (v1 or v2, the smaller wins), with
 * `extra` more buffers of the same size and `extra_bytes` more in private memory (multigrid's),
 * and
 * whether the node's shared-memory directory (/dev/shm, or Open MPI's
 * osc_sm_backing_directory) has room for their window: call before field_create, so that an
 * absurd grid or a small /dev/shm is a configuration error rather than an OOM kill or a hang.
 * Collective on team->node; NOT agreed (the caller adds where the grid size came from, then
 * agrees). Errors: ERR_CONFIG, ERR_FAILURE (MPI). */
int field_check_memory(const struct decomp_layout *layout, const struct team *team, int64_t depth,
                       double extra, double extra_bytes);

/* Allocate this rank's tiles, with rings `depth` >= 1 deep, in a shared window on team->node
 * and set both buffers: interior points to `interior`, boundary points to their side's
 * temperature, other ring points to NaN until the first exchange (so a missed halo cannot pass
 * unnoticed). Collective on team->comm; agreed status. Errors: ERR_FAILURE (allocation, MPI);
 * a failing MPI_Win_allocate_shared ends the whole job (team_abort), since ranks may be left
 * inside it. */
int field_create(const struct decomp_layout *layout, const struct team *team,
                 const struct field_boundary *boundary, double interior, int64_t depth,
                 struct field **out);

/* Free the window; accepts NULL and *field == NULL, sets *field to NULL. Collective on the node. */
void field_destroy(struct field **field);

/* The storage of tile t in buffer buf: ring included, (nrows + 2 depth) x (ncols + 2 depth). */
static inline double *field_tile(const struct field *f, int buf, int64_t t) {
  return f->base + (int64_t)buf * f->buffer_len + f->tile_offset[t];
}
static inline int64_t field_stride(const struct field *f, int64_t t) {
  return f->tiles[t].ncols + 2 * f->depth;
}
/* Interior point (0, 0) of tile t in buffer buf; point (li, lj) is li * stride + lj from it. */
static inline double *field_interior(const struct field *f, int buf, int64_t t) {
  return field_tile(f, buf, t) + f->depth * field_stride(f, t) + f->depth;
}

/* `body` at each of this rank's interior points, tile by tile and row by row, with `o` the
 * point's offset in a buffer (the same in every buffer and in field-sized arrays laid out by
 * tile_offset, such as the faces operator's). */
#define FIELD_FOR_POINTS(f, o, body)                                                               \
  for (int64_t t_ = 0; t_ < (f)->ntiles; t_++) {                                                   \
    int64_t stride_ = field_stride((f), t_);                                                       \
    int64_t base_ = (f)->tile_offset[t_] + (f)->depth * stride_ + (f)->depth;                      \
    for (int64_t li_ = 0; li_ < (f)->tiles[t_].nrows; li_++)                                       \
      for (int64_t lj_ = 0; lj_ < (f)->tiles[t_].ncols; lj_++) {                                   \
        int64_t o = base_ + li_ * stride_ + lj_;                                                   \
        body                                                                                       \
      }                                                                                            \
  }

/* Decomposition-independent fingerprint of the current iterate: a sum, wrapping mod 2^64, of a
 * hash of (global index, exact bits) over every interior point. Equal fields give equal
 * checksums on any decomposition; a change of one bit anywhere changes it. Collective on
 * team->comm. */
uint64_t field_checksum(const struct field *f, const struct team *team);

#endif /* JACOBI_FIELD_H */
