/* halo.h - filling every tile's halo ring from the tiles it overlaps, by the cheapest path:
 * a copy within the rank, a load from a node neighbour's shared window, or a message to a rank
 * on another node.
 *
 * halo_create() works out once, from the layout and the node map, every copy and every message
 * an exchange makes; halo_exchange() then only moves data and synchronises with neighbours
 * (never node-wide). Not for: the sweep, the boundary (fixed in field.h), convergence.
 */
#ifndef JACOBI_HALO_H
#define JACOBI_HALO_H

#include "decomp/decomp.h"
#include "runtime/field.h"
#include "runtime/team.h"

#include <stdint.h>

struct halo;

/* How ring points that live on another rank of the same node are fetched: "auto" loads them
 * from the node neighbour's shared window and messages the rest, "shm" insists on the window
 * (halo_check_mode refuses a layout it cannot serve), "p2p" messages every one. */
enum halo_mode { HALO_AUTO, HALO_SHM, HALO_P2P };

/* Points one exchange moves on this rank, by path, and how many peers it synchronises with. For
 * one-deep rings these are the plan's figures (decomp_plan_rank). */
struct halo_counts {
  int64_t local_points; /* copied between this rank's own tiles */
  int64_t shm_points;   /* loaded from node neighbours' windows */
  int64_t p2p_points;   /* received in messages */
  int shm_neighbours;   /* node neighbours: one zero-byte notification each way */
  int messages;         /* off-node neighbours: one message each way */
};

/* Check that `mode` can serve this layout on these nodes with rings `depth` deep: "shm" needs
 * every rank whose tiles a ring reaches on the same node. Found on every rank from the layout
 * alone, before anything is allocated; the message names the offending ranks and blames
 * `origin` (cfg_origin of halo.mode). Collective on team->comm; agreed status.
 * Errors: ERR_CONFIG. */
int halo_check_mode(const struct decomp_layout *layout, const struct team *team,
                    enum halo_mode mode, int64_t depth, const char *origin);

/* Plan every copy and message of an exchange of `field`'s rings (field->depth deep; a one-deep
 * ring leaves out its corners, which one sweep never reads), and open the passive-target epoch on
 * its window (MPI_Win_lock_all, once for the whole run). Collective on team->comm; agreed
 * status. Errors: ERR_FAILURE (allocation, MPI). */
int halo_create(struct field *field, const struct team *team, enum halo_mode mode,
                struct halo **out);

/* Fill the halos of buffer `buf` of every tile of this rank. Every rank of the team must call
 * it for the same buffer in the same iteration, after writing that buffer's interior: it is
 * the point where neighbours hand over their edges. Collective in effect (on the neighbours).
 * Errors: ERR_FAILURE (an MPI call failed; the run cannot go on). */
int halo_exchange(struct halo *halo, int buf);

/* halo_exchange in two halves, so that the sweep of the points that need no halo can overlap
 * the messages between nodes: _begin completes everything on the node (copies, shared windows)
 * and posts the messages; _end waits for them and fills their halos. Between the two the
 * caller may read buffer `buf`'s tile interiors and write the other buffer; it must not read
 * the halos that messages fill, nor call another exchange. Same contract and errors as
 * halo_exchange, which is _begin then _end. */
int halo_exchange_begin(struct halo *halo, int buf);
int halo_exchange_end(struct halo *halo, int buf);

/* What one exchange moves on this rank. */
struct halo_counts halo_counts(const struct halo *halo);

/* The sides of this rank's tile `tile` whose ring (some of it) comes in messages, as bits
 * 1 << enum decomp_side: what halo_exchange_end completes; the rest is complete after
 * halo_exchange_begin. */
unsigned halo_message_sides(const struct halo *halo, int64_t tile);

/* Close the epoch and free; accepts NULL and *halo == NULL, sets *halo to NULL. Collective. */
void halo_destroy(struct halo **halo);

#endif /* JACOBI_HALO_H */
