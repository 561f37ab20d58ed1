/* halo.c - the halo exchange; see halo.h.
 *
 * Why the shared-window path is correct (MPI-3.1 §11.5.5 and its errata: the "separate" and
 * "unified" models agree once MPI_Win_sync orders the processes' own loads and stores). The
 * whole run is one passive-target epoch (MPI_Win_lock_all with MPI_MODE_NOCHECK). Each
 * iteration k, every rank
 *   1. sweeps: stores buffer B_k's interior (reads only its own B_{k-1});
 *   2. MPI_Win_sync, then sends a zero-byte notification to each node neighbour;
 *   3. waits for every node neighbour's notification k, then MPI_Win_sync;
 *   4. loads its neighbours' edges of B_k into its own halos of B_k.
 * Read after write: a neighbour's stores of B_k (its step 1) precede its Win_sync and its send
 * (2); our receive of that message and our Win_sync (3) precede our loads (4). So we read the
 * edges of iteration k, not older ones.
 * Write after read: we overwrite our B_k next in iteration k+2 (the buffers alternate). Before
 * that we receive each neighbour's notification k+1, which it sends after its step 4 of
 * iteration k (its loads of our B_k edges) and a Win_sync. So no neighbour is still reading
 * what we overwrite. One notification per neighbour per iteration serves both directions, and
 * nobody waits for ranks that are not its neighbours. MPI_Barrier would order nothing here.
 * The halo ring itself is written only by its owner and read by nobody else.
 *
 * Off-node neighbours get messages: all edges bound for one rank are packed into one buffer,
 * in the order of the receiver's (tile, side), which both sides compute from the layout. All
 * of a rank's receives and sends are posted together and completed with one MPI_Waitall,
 * together with the notifications.
 */
#include "halo.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

enum { TAG_NOTIFY = 1, TAG_EDGES = 2 };

/* A strided run of points: `count` points, `stride` doubles apart, starting at offset `start`
 * in a tile's storage. */
struct line {
  int64_t start, count, stride;
};

/* One tile side's halo filled by a plain copy (own tile or node neighbour's window). */
struct halo_copy {
  double *dst[2];
  const double *src[2];
  int64_t count, dst_stride, src_stride;
};

/* One tile side in a message: its edge when sending, its halo when receiving. */
struct halo_segment {
  double *base[2];
  int64_t count, stride;
  int64_t key; /* receiver's tile * DECOMP_NSIDES + receiver's side: the order in the message */
};

struct halo_peer {
  int rank;
  int nsend, nrecv;
  struct halo_segment *send, *recv;
  int64_t points; /* each way */
  double *send_buf, *recv_buf;
};

struct halo {
  MPI_Comm comm; /* halo traffic only */
  MPI_Win win;
  bool locked;
  struct halo_copy *copies;
  int64_t ncopies;
  int *shm_peers;
  int nshm;
  struct halo_peer *peers;
  int npeers;
  MPI_Request *requests;
  struct halo_counts counts;
};

static const enum decomp_side opposite[DECOMP_NSIDES] = {[DECOMP_NORTH] = DECOMP_SOUTH,
                                                         [DECOMP_SOUTH] = DECOMP_NORTH,
                                                         [DECOMP_WEST] = DECOMP_EAST,
                                                         [DECOMP_EAST] = DECOMP_WEST};

/* The halo points of side s of a tile: row 0 or nrows + 1, column 0 or ncols + 1. */
static struct line halo_line(const struct decomp_tile *t, enum decomp_side s) {
  int64_t stride = t->ncols + 2;
  switch (s) {
  case DECOMP_NORTH:
    return (struct line){1, t->ncols, 1};
  case DECOMP_SOUTH:
    return (struct line){(t->nrows + 1) * stride + 1, t->ncols, 1};
  case DECOMP_WEST:
    return (struct line){stride, t->nrows, stride};
  default:
    return (struct line){stride + t->ncols + 1, t->nrows, stride};
  }
}

/* The interior points along side s of a tile: what its neighbour across s needs. */
static struct line edge_line(const struct decomp_tile *t, enum decomp_side s) {
  int64_t stride = t->ncols + 2;
  switch (s) {
  case DECOMP_NORTH:
    return (struct line){stride + 1, t->ncols, 1};
  case DECOMP_SOUTH:
    return (struct line){t->nrows * stride + 1, t->ncols, 1};
  case DECOMP_WEST:
    return (struct line){stride + 1, t->nrows, stride};
  default:
    return (struct line){stride + t->ncols, t->nrows, stride};
  }
}

static bool same_node(const struct team *team, int a, int b) {
  return team->node_of_rank[a] == team->node_of_rank[b];
}

static bool uses_window(const struct team *team, enum cfg_halo_mode mode, int nbr) {
  return nbr == team->rank || (mode != CFG_HALO_P2P && same_node(team, team->rank, nbr));
}

int halo_check_mode(const struct decomp_layout *layout, const struct team *team,
                    enum cfg_halo_mode mode, const char *origin) {
  int status = ERR_OK;
  int64_t ntiles = decomp_ntiles(layout, team->rank);
  for (int64_t t = 0; t < ntiles && mode == CFG_HALO_SHM && status == ERR_OK; t++) {
    struct decomp_tile tile;
    decomp_tile(layout, team->rank, t, &tile);
    for (int s = 0; s < DECOMP_NSIDES; s++) {
      int nbr = tile.nbr_rank[s];
      if (nbr != DECOMP_BOUNDARY && !same_node(team, team->rank, nbr)) {
        status = err_set(ERR_CONFIG,
                         "%s: halo.mode = \"shm\", but rank %d's neighbour rank %d is on another "
                         "node; use \"auto\" (shared windows on a node, messages between nodes)",
                         origin, team->rank, nbr);
        break;
      }
    }
  }
  return team_agree(team, status);
}

/* ---- planning -------------------------------------------------------------------------------- */

/* Where a rank's buffers start, as this rank sees them: its own base, or the node neighbour's
 * segment through MPI_Win_shared_query. Offsets of its tiles come from the layout alone. */
struct remote {
  int rank;
  double *base;
  int64_t *offsets, buffer_len;
};

static int remote_find(struct field *f, const struct team *team, int rank, struct remote *r) {
  int64_t n = decomp_ntiles(f->layout, rank);
  r->rank = rank;
  r->offsets = malloc((size_t)(n > 0 ? n : 1) * sizeof *r->offsets);
  if (r->offsets == NULL)
    return err_set(ERR_FAILURE, "out of memory planning the halo");
  field_tile_offsets(f->layout, rank, r->offsets, &r->buffer_len);
  if (rank == team->rank) {
    r->base = f->base;
    return ERR_OK;
  }
  MPI_Group world_group, node_group;
  int node_rank = MPI_UNDEFINED;
  MPI_Comm_group(team->comm, &world_group);
  MPI_Comm_group(team->node, &node_group);
  MPI_Group_translate_ranks(world_group, 1, &rank, node_group, &node_rank);
  MPI_Group_free(&world_group);
  MPI_Group_free(&node_group);
  if (node_rank == MPI_UNDEFINED)
    return err_set(ERR_FAILURE, "rank %d is not on this rank's node", rank);
  MPI_Aint size;
  int disp_unit;
  MPI_CHECK(MPI_Win_shared_query(f->win, node_rank, &size, &disp_unit, &r->base));
  return ERR_OK;
}

static double *remote_tile(const struct remote *r, int buf, int64_t t) {
  return r->base + (int64_t)buf * r->buffer_len + r->offsets[t];
}

static struct halo_peer *peer_of(struct halo *h, int rank) {
  for (int p = 0; p < h->npeers; p++)
    if (h->peers[p].rank == rank)
      return &h->peers[p];
  return NULL;
}

static int compare_segments(const void *a, const void *b) {
  int64_t ka = ((const struct halo_segment *)a)->key, kb = ((const struct halo_segment *)b)->key;
  return (ka > kb) - (ka < kb);
}

static int add_segment(struct halo_segment **list, int *n, struct halo_segment seg) {
  struct halo_segment *grown = realloc(*list, (size_t)(*n + 1) * sizeof **list);
  if (grown == NULL)
    return err_set(ERR_FAILURE, "out of memory planning the halo");
  grown[(*n)++] = seg;
  *list = grown;
  return ERR_OK;
}

/* Count the distinct neighbour ranks on each path, and allocate the copy and peer lists. */
static int plan_neighbours(struct halo *h, struct field *f, const struct team *team,
                           enum cfg_halo_mode mode) {
  int64_t sides = 0;
  for (int64_t t = 0; t < f->ntiles; t++)
    for (int s = 0; s < DECOMP_NSIDES; s++) {
      int nbr = f->tiles[t].nbr_rank[s];
      if (nbr == DECOMP_BOUNDARY)
        continue;
      sides++;
      bool window = uses_window(team, mode, nbr);
      bool known = false;
      for (int p = 0; p < (window ? h->nshm : h->npeers) && !known; p++)
        known = (window ? h->shm_peers[p] : h->peers[p].rank) == nbr;
      if (known || nbr == team->rank)
        continue;
      if (window) {
        int *grown = realloc(h->shm_peers, (size_t)(h->nshm + 1) * sizeof *grown);
        if (grown == NULL)
          return err_set(ERR_FAILURE, "out of memory planning the halo");
        h->shm_peers = grown;
        h->shm_peers[h->nshm++] = nbr;
      } else {
        struct halo_peer *grown = realloc(h->peers, (size_t)(h->npeers + 1) * sizeof *grown);
        if (grown == NULL)
          return err_set(ERR_FAILURE, "out of memory planning the halo");
        h->peers = grown;
        h->peers[h->npeers++] = (struct halo_peer){.rank = nbr};
      }
    }
  h->copies = malloc((size_t)(sides > 0 ? sides : 1) * sizeof *h->copies);
  h->requests = malloc((size_t)(2 * (h->nshm + h->npeers) + 1) * sizeof *h->requests);
  if (h->copies == NULL || h->requests == NULL)
    return err_set(ERR_FAILURE, "out of memory planning the halo");
  h->counts.shm_neighbours = h->nshm;
  h->counts.messages = h->npeers;
  return ERR_OK;
}

/* A copy from tile t_src of `src` (own rank or node neighbour) into side s of our tile t. */
static void plan_copy(struct halo *h, struct field *f, int64_t t, enum decomp_side s,
                      const struct remote *src) {
  const struct decomp_tile *tile = &f->tiles[t];
  int64_t t_src = tile->nbr_tile[s];
  struct decomp_tile nbr;
  decomp_tile(f->layout, src->rank, t_src, &nbr);
  struct line dst = halo_line(tile, s), from = edge_line(&nbr, opposite[s]);
  struct halo_copy *c = &h->copies[h->ncopies++];
  for (int buf = 0; buf < 2; buf++) {
    c->dst[buf] = field_tile(f, buf, t) + dst.start;
    c->src[buf] = remote_tile(src, buf, t_src) + from.start;
  }
  c->count = dst.count;
  c->dst_stride = dst.stride;
  c->src_stride = from.stride;
  if (src->rank == f->rank)
    h->counts.local_points += dst.count;
  else
    h->counts.shm_points += dst.count;
}

/* Our side s of tile t faces peer p: we receive its halo and send our edge. */
static int plan_segments(struct field *f, int64_t t, enum decomp_side s, struct halo_peer *p) {
  const struct decomp_tile *tile = &f->tiles[t];
  struct line recv = halo_line(tile, s), send = edge_line(tile, s);
  struct halo_segment in = {
      .count = recv.count, .stride = recv.stride, .key = t * DECOMP_NSIDES + s};
  struct halo_segment out = {.count = send.count,
                             .stride = send.stride,
                             .key = tile->nbr_tile[s] * DECOMP_NSIDES + opposite[s]};
  for (int buf = 0; buf < 2; buf++) {
    in.base[buf] = field_tile(f, buf, t) + recv.start;
    out.base[buf] = field_tile(f, buf, t) + send.start;
  }
  p->points += recv.count;
  CHECK(add_segment(&p->recv, &p->nrecv, in));
  return add_segment(&p->send, &p->nsend, out);
}

static int plan(struct halo *h, struct field *f, const struct team *team, enum cfg_halo_mode mode) {
  CHECK(plan_neighbours(h, f, team, mode));
  /* Window bases of ourselves and every node neighbour. */
  int nremote = h->nshm + 1;
  struct remote *remotes = calloc((size_t)nremote, sizeof *remotes);
  if (remotes == NULL)
    return err_set(ERR_FAILURE, "out of memory planning the halo");
  int status = remote_find(f, team, team->rank, &remotes[0]);
  for (int p = 0; p < h->nshm && status == ERR_OK; p++)
    status = remote_find(f, team, h->shm_peers[p], &remotes[p + 1]);
  for (int64_t t = 0; t < f->ntiles && status == ERR_OK; t++)
    for (int s = 0; s < DECOMP_NSIDES && status == ERR_OK; s++) {
      int nbr = f->tiles[t].nbr_rank[s];
      if (nbr == DECOMP_BOUNDARY)
        continue;
      if (uses_window(team, mode, nbr)) {
        int r = 0;
        while (remotes[r].rank != nbr)
          r++;
        plan_copy(h, f, t, (enum decomp_side)s, &remotes[r]);
      } else {
        status = plan_segments(f, t, (enum decomp_side)s, peer_of(h, nbr));
      }
    }
  for (int r = 0; r < nremote; r++)
    free(remotes[r].offsets);
  free(remotes);
  CHECK(status);
  for (int p = 0; p < h->npeers; p++) {
    struct halo_peer *peer = &h->peers[p];
    /* Receives are already in (tile, side) order; sends are sorted by the receiver's. */
    qsort(peer->send, (size_t)peer->nsend, sizeof *peer->send, compare_segments);
    peer->send_buf = malloc((size_t)peer->points * sizeof(double));
    peer->recv_buf = malloc((size_t)peer->points * sizeof(double));
    if (peer->send_buf == NULL || peer->recv_buf == NULL)
      return err_set(ERR_FAILURE, "out of memory for halo messages");
    h->counts.p2p_points += peer->points;
  }
  return ERR_OK;
}

int halo_create(struct field *field, const struct team *team, enum cfg_halo_mode mode,
                struct halo **out) {
  *out = NULL;
  struct halo *h = calloc(1, sizeof *h);
  int status = h ? ERR_OK : err_set(ERR_FAILURE, "out of memory creating the halo");
  if (h) {
    h->comm = MPI_COMM_NULL;
    h->win = field->win;
    int code = MPI_Comm_dup(team->comm, &h->comm);
    status = code == MPI_SUCCESS ? plan(h, field, team, mode)
                                 : team_mpi_error(code, "MPI_Comm_dup (halo)");
  }
  if (status == ERR_OK) {
    int code = MPI_Win_lock_all(MPI_MODE_NOCHECK, h->win);
    status = code == MPI_SUCCESS ? ERR_OK : team_mpi_error(code, "MPI_Win_lock_all");
    h->locked = status == ERR_OK;
  }
  status = team_agree(team, status);
  if (status != ERR_OK) {
    halo_destroy(&h);
    return status;
  }
  *out = h;
  return ERR_OK;
}

static void copy_line(double *restrict dst, int64_t dst_stride, const double *restrict src,
                      int64_t src_stride, int64_t count) {
  if (dst_stride == 1 && src_stride == 1) {
    memcpy(dst, src, (size_t)count * sizeof *dst);
    return;
  }
  for (int64_t k = 0; k < count; k++)
    dst[k * dst_stride] = src[k * src_stride];
}

int halo_exchange(struct halo *h, int buf) {
  static char notify_token; /* zero-byte messages still need a valid buffer */
  int nreq = 0;
  if (h->nshm > 0)
    MPI_CHECK(MPI_Win_sync(h->win)); /* our stores of this buffer, before we notify */
  for (int p = 0; p < h->nshm; p++)
    MPI_CHECK(MPI_Irecv(&notify_token, 0, MPI_BYTE, h->shm_peers[p], TAG_NOTIFY, h->comm,
                        &h->requests[nreq++]));
  for (int p = 0; p < h->npeers; p++) {
    struct halo_peer *peer = &h->peers[p];
    MPI_CHECK(MPI_Irecv(peer->recv_buf, (int)peer->points, MPI_DOUBLE, peer->rank, TAG_EDGES,
                        h->comm, &h->requests[nreq++]));
  }
  for (int p = 0; p < h->npeers; p++) {
    struct halo_peer *peer = &h->peers[p];
    double *packed = peer->send_buf;
    for (int k = 0; k < peer->nsend; k++) {
      const struct halo_segment *seg = &peer->send[k];
      copy_line(packed, 1, seg->base[buf], seg->stride, seg->count);
      packed += seg->count;
    }
    MPI_CHECK(MPI_Isend(peer->send_buf, (int)peer->points, MPI_DOUBLE, peer->rank, TAG_EDGES,
                        h->comm, &h->requests[nreq++]));
  }
  for (int p = 0; p < h->nshm; p++)
    MPI_CHECK(MPI_Isend(&notify_token, 0, MPI_BYTE, h->shm_peers[p], TAG_NOTIFY, h->comm,
                        &h->requests[nreq++]));
  MPI_CHECK(MPI_Waitall(nreq, h->requests, MPI_STATUSES_IGNORE));
  if (h->nshm > 0)
    MPI_CHECK(MPI_Win_sync(h->win)); /* their stores, before our loads */
  for (int64_t c = 0; c < h->ncopies; c++) {
    const struct halo_copy *copy = &h->copies[c];
    copy_line(copy->dst[buf], copy->dst_stride, copy->src[buf], copy->src_stride, copy->count);
  }
  for (int p = 0; p < h->npeers; p++) {
    const struct halo_peer *peer = &h->peers[p];
    const double *packed = peer->recv_buf;
    for (int k = 0; k < peer->nrecv; k++) {
      const struct halo_segment *seg = &peer->recv[k];
      copy_line(seg->base[buf], seg->stride, packed, 1, seg->count);
      packed += seg->count;
    }
  }
  return ERR_OK;
}

struct halo_counts halo_counts(const struct halo *h) {
  return h->counts;
}

void halo_destroy(struct halo **halo) {
  if (halo == NULL || *halo == NULL)
    return;
  struct halo *h = *halo;
  if (h->locked)
    MPI_Win_unlock_all(h->win);
  for (int p = 0; p < h->npeers; p++) {
    free(h->peers[p].send);
    free(h->peers[p].recv);
    free(h->peers[p].send_buf);
    free(h->peers[p].recv_buf);
  }
  if (h->comm != MPI_COMM_NULL)
    MPI_Comm_free(&h->comm);
  free(h->peers);
  free(h->shm_peers);
  free(h->copies);
  free(h->requests);
  free(h);
  *halo = NULL;
}
