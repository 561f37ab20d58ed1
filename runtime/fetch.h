/* fetch.h - the transfers between the levels of a hierarchy (multigrid's restriction and
 * interpolation, the coarsest level's gather): each rank names boxes (rectangles of a source
 * level, in global indices) and receives the source's values there, from every rank that owns
 * some, packed row by row in the source's runs; the sender walks the consumer's boxes, which it
 * computes itself from the layouts, in the same order. Planned once; each run is one message
 * per pair of ranks that share something, plus a copy of what a rank owns itself. The ghost
 * exchange's companion below the methods (PETSc's DM, HPGMG's level.h).
 *
 * Not for: which boxes a level needs (the method names them), the halos (halo.h).
 */
#ifndef JACOBI_FETCH_H
#define JACOBI_FETCH_H

#include "decomp/decomp.h"
#include "runtime/team.h"

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

/* A box of the source level, rows [r0, r1) x columns [c0, c1) (clipped to the grid when
 * walked); its value at (gi, gj) goes to dst_base[tile] + offset + (gi - r0) stride + gj - c0. */
struct fetch_box {
  int64_t r0, r1, c0, c1;
  int64_t tile, offset, stride;
};

struct fetch {
  const struct decomp_layout *src; /* the source level's layout */
  bool src_replicated;             /* every rank holds the source: copies only */
  int64_t nboxes;
  struct fetch_box *boxes; /* mine */
  int nsend, nrecv;
  struct fetch_peer *send, *recv;
  MPI_Request *req;
};

struct fetch_peer;

/* The boxes a rank names for one fetch: filled into out (if not NULL); returns their number. */
typedef int64_t (*fetch_box_gen)(const void *ctx, int rank, struct fetch_box *out);

/* Plan a fetch from the level laid out as `src` (over src->nranks ranks, or replicated) for the
 * boxes `gen` names, on every rank. Not collective: every rank plans its side from the layouts.
 * Errors: ERR_FAILURE (memory); fetch_free frees a half-planned one. */
int fetch_plan(struct fetch *fx, const struct decomp_layout *src, bool src_replicated,
               fetch_box_gen gen, const void *ctx, int me, int nranks);

/* Run a planned fetch: src_base/src_stride are this rank's source tiles (interior point (0, 0)
 * of each), dst_base the destinations its boxes name. Collective in effect (on the peers); a
 * failed MPI call ends the job (team_abort). */
void fetch_run(const struct fetch *fx, double *const *src_base, const int64_t *src_stride,
               double *const *dst_base, MPI_Comm comm, const struct team *team, int me);

/* Free what fetch_plan took; accepts a zeroed or half-planned fetch, and zeroes it. */
void fetch_free(struct fetch *fx);

#endif /* JACOBI_FETCH_H */
