/* halo.c - the halo exchange; see halo.h.
 *
 * What a ring needs. A tile's ring `depth` points deep covers the tile grown by depth points,
 * clipped to the grid's interior (the fixed boundary beyond it is set once, in field.c). Tiles
 * are whole blocks of a tensor grid (decomp.h), so the ring is cut by the tiles it crosses into
 * rectangles, one per source tile: its four edges, its corners, and more when tiles are smaller
 * than the depth (block-cyclic with small blocks). A one-deep ring serves one 5-point sweep,
 * which never reads the corner points: those are left out, so a plain run moves exactly the
 * four edges the plan counts (decomp_plan_rank). A ring K deep serves K sweeps of overlapped
 * tiles (sweep.h: sweep_levels), which read the corners too.
 *
 * Why the shared-window path is correct (MPI-3.1 §11.5.5 and its errata: the "separate" and
 * "unified" models agree once MPI_Win_sync orders the processes' own loads and stores). The
 * whole run is one passive-target epoch (MPI_Win_lock_all with MPI_MODE_NOCHECK). Each
 * iteration k, every rank
 *   1. sweeps: stores buffer B_k's interior (reads only its own B_{k-1});
 *   2. MPI_Win_sync, then sends a zero-byte notification to each node neighbour;
 *   3. waits for every node neighbour's notification k, then MPI_Win_sync;
 *   4. loads its neighbours' points of B_k into its own ring of B_k.
 * Read after write: a neighbour's stores of B_k (its step 1) precede its Win_sync and its send
 * (2); our receive of that message and our Win_sync (3) precede our loads (4). So we read the
 * points of iteration k, not older ones.
 * Write after read: we overwrite our B_k next in iteration k+2 (the buffers alternate). Before
 * that we receive each neighbour's notification k+1, which it sends after its step 4 of
 * iteration k (its loads of our B_k points) and a Win_sync. So no neighbour is still reading
 * what we overwrite. One notification per neighbour per iteration serves both directions, and
 * nobody waits for ranks that are not its neighbours. MPI_Barrier would order nothing here.
 * A temporal block of K sweeps may write B_k before the next exchange (Chebyshev's levels
 * write both buffers; Jacobi's last level writes over B_k when K is even), so with rings
 * deeper than one the exchange ends with a second round: after step 4 each rank
 * sends "done" to its node neighbours and waits for theirs, and nobody writes a buffer a
 * neighbour may still be reading. The ring itself is written only by its owner and read by
 * nobody else.
 *
 * Off-node neighbours get messages: all rectangles bound for one rank are packed into one
 * buffer, in the order of (receiver's tile, source tile's first row, first column), which both
 * sides compute from the layout. All of a rank's receives and sends are posted together;
 * halo_exchange_begin completes the node neighbours' part and leaves the messages in flight, so
 * that the caller can sweep the points that need no halo meanwhile; halo_exchange_end
 * completes them. The messages use their own buffers, so nothing the sweep writes or reads
 * meets them; the on-node part must complete first, since the sweep writes the buffer the
 * node neighbours were reading an iteration ago.
 */
#include "runtime/halo.h"

#include "common/err.h"
#include "common/minmax.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_NOTIFY = 1, TAG_EDGES = 2, TAG_DONE = 3 };

/* A rectangle of the grid's interior: rows [r0, r1), columns [c0, c1). */
struct rect {
  int64_t r0, r1, c0, c1;
};

/* Where a piece goes in a message: the order both sides sort by. */
struct piece_key {
  int64_t tile;       /* receiver's tile index */
  int64_t row0, col0; /* the source tile's first point */
};

/* A ring piece filled by a plain copy (own tile or node neighbour's window). */
struct halo_copy {
  double *dst[2];
  const double *src[2];
  int64_t rows, cols, dst_stride, src_stride;
};

/* A piece in a message: sent from our tile, or received into our ring. */
struct halo_segment {
  double *base[2];
  int64_t rows, cols, stride;
  struct piece_key key;
};

struct halo_peer {
  int rank;
  int64_t nsend, nrecv, send_room, recv_room;
  struct halo_segment *send, *recv;
  int64_t send_points, recv_points;
  double *send_buf, *recv_buf;
};

struct halo {
  MPI_Comm comm; /* halo traffic only */
  MPI_Win win;
  bool locked;
  int64_t depth;
  struct halo_copy *copies;
  int64_t ncopies;
  int *shm_peers;
  int nshm;
  struct halo_peer *peers;
  int npeers;
  MPI_Request *requests;
  int pending_messages;    /* begun by halo_exchange_begin, not yet ended */
  unsigned *message_sides; /* per tile: bit s set if side s's ring comes in a message */
  struct halo_counts counts;
};

/* ---- geometry ---------------------------------------------------------------------------------
 */

static struct rect tile_rect(const struct decomp_tile *t) {
  return (struct rect){t->row0, t->row0 + t->nrows, t->col0, t->col0 + t->ncols};
}

static struct rect intersect(struct rect a, struct rect b) {
  return (struct rect){max64(a.r0, b.r0), min64(a.r1, b.r1), max64(a.c0, b.c0), min64(a.c1, b.c1)};
}

static bool is_empty(struct rect r) { return r.r0 >= r.r1 || r.c0 >= r.c1; }

/* r grown by `rows` and `cols` points on each side, clipped to the interior. */
static struct rect grow(struct rect r, int64_t rows, int64_t cols, const struct decomp_layout *l) {
  return intersect((struct rect){r.r0 - rows, r.r1 + rows, r.c0 - cols, r.c1 + cols},
                   (struct rect){0, l->ny, 0, l->nx});
}

/* The part of source tile `src` that the ring of tile `dst` needs (empty if none). A one-deep
 * ring is the cross of the tile grown by one row and by one column, without the corners: a
 * rectangle cuts it in one rectangle, since the tiles do not overlap. */
static struct rect piece_of(struct rect dst, struct rect src, int64_t depth,
                            const struct decomp_layout *l) {
  if (depth > 1)
    return intersect(src, grow(dst, depth, depth, l));
  struct rect across_rows = intersect(src, grow(dst, 1, 0, l));
  return is_empty(across_rows) ? intersect(src, grow(dst, 0, 1, l)) : across_rows;
}

/* Call visit(ctx, owner, tile index, tile) for each tile meeting r, row band by row band, left
 * to right: tiles are whole blocks of a tensor grid, so a band's tiles share their rows.
 * Stops at the first visit that returns non-zero, and returns that. */
typedef int tile_visit(void *ctx, int owner, int64_t index, const struct decomp_tile *tile);

static int visit_tiles(const struct decomp_layout *l, struct rect r, tile_visit *visit, void *ctx) {
  for (int64_t i = r.r0, next_i = r.r1; i < r.r1; i = next_i)
    for (int64_t j = r.c0; j < r.c1;) {
      int64_t index, li, lj;
      int owner = decomp_owner(l, i, j, &index, &li, &lj);
      struct decomp_tile tile;
      decomp_tile(l, owner, index, &tile);
      CHECK(visit(ctx, owner, index, &tile));
      next_i = tile.row0 + tile.nrows;
      j = tile.col0 + tile.ncols;
    }
  return ERR_OK;
}

static bool same_node(const struct team *team, int a, int b) {
  return team->node_of_rank[a] == team->node_of_rank[b];
}

static bool uses_window(const struct team *team, enum halo_mode mode, int nbr) {
  return nbr == team->rank || (mode != HALO_P2P && same_node(team, team->rank, nbr));
}

struct mode_check {
  const struct team *team;
  const char *origin;
  const struct decomp_layout *layout;
  struct rect dst;
  int64_t depth;
};

static int check_source(void *ctx, int owner, int64_t index, const struct decomp_tile *tile) {
  (void)index;
  const struct mode_check *c = ctx;
  if (owner == c->team->rank || same_node(c->team, c->team->rank, owner) ||
      is_empty(piece_of(c->dst, tile_rect(tile), c->depth, c->layout)))
    return ERR_OK;
  return err_set(ERR_CONFIG,
                 "%s: halo.mode = \"shm\", but rank %d's neighbour rank %d is on another "
                 "node; use \"auto\" (shared windows on a node, messages between nodes)",
                 c->origin, c->team->rank, owner);
}

int halo_check_mode(const struct decomp_layout *layout, const struct team *team,
                    enum halo_mode mode, int64_t depth, const char *origin) {
  int status = ERR_OK;
  struct mode_check c = {.team = team, .origin = origin, .layout = layout, .depth = depth};
  int64_t ntiles = decomp_ntiles(layout, team->rank);
  for (int64_t t = 0; t < ntiles && mode == HALO_SHM && status == ERR_OK; t++) {
    struct decomp_tile tile;
    decomp_tile(layout, team->rank, t, &tile);
    c.dst = tile_rect(&tile);
    status = visit_tiles(layout, grow(c.dst, depth, depth, layout), check_source, &c);
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

struct planner {
  struct halo *h;
  struct field *f;
  const struct team *team;
  enum halo_mode mode;
  struct remote *remotes;
  int nremotes, self; /* self: this rank's entry in remotes */
  int64_t remotes_room, shm_room, peers_room, copies_room;
  /* the tile being planned: receiving into its ring, or sending from it */
  int64_t t;
  struct rect mine;
};

static int out_of_memory(void) { return err_set(ERR_FAILURE, "out of memory planning the halo"); }

/* Make room for one more element of `size` bytes in *list (n used, *room allocated). */
static int reserve(void **list, int64_t n, int64_t *room, size_t size) {
  if (n < *room)
    return ERR_OK;
  int64_t grown_room = *room > 0 ? 2 * *room : 8;
  void *grown = realloc(*list, (size_t)grown_room * size);
  if (grown == NULL)
    return out_of_memory();
  *list = grown;
  *room = grown_room;
  return ERR_OK;
}

/* The index in p->remotes of `rank`'s window (added on first use; the array may move). */
static int remote_of(struct planner *p, int rank, int *index) {
  for (int r = 0; r < p->nremotes; r++)
    if (p->remotes[r].rank == rank) {
      *index = r;
      return ERR_OK;
    }
  CHECK(reserve((void **)&p->remotes, p->nremotes, &p->remotes_room, sizeof *p->remotes));
  *index = p->nremotes;
  struct remote *r = &p->remotes[p->nremotes++];
  int64_t n = decomp_ntiles(p->f->layout, rank);
  *r = (struct remote){.rank = rank, .offsets = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t))};
  if (r->offsets == NULL)
    return out_of_memory();
  field_tile_offsets(p->f->layout, rank, p->f->depth, r->offsets, &r->buffer_len);
  if (rank == p->team->rank) {
    r->base = p->f->base;
    return ERR_OK;
  }
  MPI_Group world_group, node_group;
  int node_rank = MPI_UNDEFINED;
  MPI_Comm_group(p->team->comm, &world_group);
  MPI_Comm_group(p->team->node, &node_group);
  MPI_Group_translate_ranks(world_group, 1, &rank, node_group, &node_rank);
  MPI_Group_free(&world_group);
  MPI_Group_free(&node_group);
  if (node_rank == MPI_UNDEFINED)
    return err_set(ERR_FAILURE, "rank %d is not on this rank's node", rank);
  MPI_Aint size;
  int disp_unit;
  MPI_CHECK(MPI_Win_shared_query(p->f->win, node_rank, &size, &disp_unit, &r->base));
  return ERR_OK;
}

/* Point (gi, gj) of `tile` (index t on rank r) in buffer buf, through r's window base. */
static double *point_in(const struct remote *r, int64_t depth, int buf, int64_t t,
                        const struct decomp_tile *tile, int64_t gi, int64_t gj) {
  int64_t stride = tile->ncols + 2 * depth;
  double *origin = r->base + (int64_t)buf * r->buffer_len + r->offsets[t] + depth * stride + depth;
  return origin + (gi - tile->row0) * stride + (gj - tile->col0);
}

static int add_shm_peer(struct planner *p, int rank) {
  struct halo *h = p->h;
  for (int k = 0; k < h->nshm; k++)
    if (h->shm_peers[k] == rank)
      return ERR_OK;
  CHECK(reserve((void **)&h->shm_peers, h->nshm, &p->shm_room, sizeof *h->shm_peers));
  h->shm_peers[h->nshm++] = rank;
  return ERR_OK;
}

/* `rank`'s message peer (added on first use; the array may move). */
static int peer_of(struct planner *p, int rank, struct halo_peer **out) {
  struct halo *h = p->h;
  for (int k = 0; k < h->npeers; k++)
    if (h->peers[k].rank == rank) {
      *out = &h->peers[k];
      return ERR_OK;
    }
  CHECK(reserve((void **)&h->peers, h->npeers, &p->peers_room, sizeof *h->peers));
  *out = &h->peers[h->npeers++];
  **out = (struct halo_peer){.rank = rank};
  return ERR_OK;
}

/* Append seg to *list (n used, *room allocated), growing it geometrically: a cyclic layout
 * with deep rings plans hundreds of thousands of pieces. */
static int add_segment(struct halo_segment **list, int64_t *n, int64_t *room,
                       struct halo_segment seg) {
  CHECK(reserve((void **)list, *n, room, sizeof **list));
  (*list)[(*n)++] = seg;
  return ERR_OK;
}

/* Receiving side: source tile `src` (index s on rank owner) feeds part of our tile t's ring. */
static int plan_receive(void *ctx, int owner, int64_t s, const struct decomp_tile *src) {
  struct planner *p = ctx;
  struct field *f = p->f;
  struct halo *h = p->h;
  if (owner == p->team->rank && s == p->t)
    return ERR_OK; /* the tile itself */
  struct rect piece = piece_of(p->mine, tile_rect(src), f->depth, f->layout);
  if (is_empty(piece))
    return ERR_OK; /* a corner a one-deep ring does without */
  const struct decomp_tile *tile = &f->tiles[p->t];
  int64_t rows = piece.r1 - piece.r0, cols = piece.c1 - piece.c0;
  if (uses_window(p->team, p->mode, owner)) {
    int them;
    CHECK(remote_of(p, owner, &them));
    const struct remote *self = &p->remotes[p->self], *from = &p->remotes[them];
    CHECK(reserve((void **)&h->copies, h->ncopies, &p->copies_room, sizeof *h->copies));
    struct halo_copy *c = &h->copies[h->ncopies++];
    *c = (struct halo_copy){.rows = rows,
                            .cols = cols,
                            .dst_stride = tile->ncols + 2 * f->depth,
                            .src_stride = src->ncols + 2 * f->depth};
    for (int buf = 0; buf < 2; buf++) {
      c->dst[buf] = point_in(self, f->depth, buf, p->t, tile, piece.r0, piece.c0);
      c->src[buf] = point_in(from, f->depth, buf, s, src, piece.r0, piece.c0);
    }
    if (owner == p->team->rank)
      h->counts.local_points += rows * cols;
    else {
      h->counts.shm_points += rows * cols;
      CHECK(add_shm_peer(p, owner));
    }
    return ERR_OK;
  }
  struct halo_peer *peer = NULL;
  CHECK(peer_of(p, owner, &peer));
  struct halo_segment in = {.rows = rows,
                            .cols = cols,
                            .stride = tile->ncols + 2 * f->depth,
                            .key = {p->t, src->row0, src->col0}};
  for (int buf = 0; buf < 2; buf++)
    in.base[buf] = point_in(&p->remotes[p->self], f->depth, buf, p->t, tile, piece.r0, piece.c0);
  peer->recv_points += rows * cols;
  h->message_sides[p->t] |= (piece.r1 <= p->mine.r0 ? 1u << DECOMP_NORTH : 0) |
                            (piece.r0 >= p->mine.r1 ? 1u << DECOMP_SOUTH : 0) |
                            (piece.c1 <= p->mine.c0 ? 1u << DECOMP_WEST : 0) |
                            (piece.c0 >= p->mine.c1 ? 1u << DECOMP_EAST : 0);
  return add_segment(&peer->recv, &peer->nrecv, &peer->recv_room, in);
}

/* Sending side: part of our tile t feeds the ring of tile `dst` (index d on rank owner). */
static int plan_send(void *ctx, int owner, int64_t d, const struct decomp_tile *dst) {
  struct planner *p = ctx;
  struct field *f = p->f;
  if (uses_window(p->team, p->mode, owner))
    return ERR_OK; /* it loads from our window */
  struct rect piece = piece_of(tile_rect(dst), p->mine, f->depth, f->layout);
  if (is_empty(piece))
    return ERR_OK;
  const struct decomp_tile *tile = &f->tiles[p->t];
  struct halo_peer *peer = NULL;
  CHECK(peer_of(p, owner, &peer));
  struct halo_segment out = {.rows = piece.r1 - piece.r0,
                             .cols = piece.c1 - piece.c0,
                             .stride = tile->ncols + 2 * f->depth,
                             .key = {d, tile->row0, tile->col0}};
  for (int buf = 0; buf < 2; buf++)
    out.base[buf] = point_in(&p->remotes[p->self], f->depth, buf, p->t, tile, piece.r0, piece.c0);
  peer->send_points += out.rows * out.cols;
  return add_segment(&peer->send, &peer->nsend, &peer->send_room, out);
}

static int compare_keys(const void *a, const void *b) {
  const struct piece_key *x = &((const struct halo_segment *)a)->key,
                         *y = &((const struct halo_segment *)b)->key;
  if (x->tile != y->tile)
    return (x->tile > y->tile) - (x->tile < y->tile);
  if (x->row0 != y->row0)
    return (x->row0 > y->row0) - (x->row0 < y->row0);
  return (x->col0 > y->col0) - (x->col0 < y->col0);
}

static int plan_tiles(struct planner *p) {
  struct field *f = p->f;
  CHECK(remote_of(p, p->team->rank, &p->self));
  for (int64_t t = 0; t < f->ntiles; t++) {
    p->t = t;
    p->mine = tile_rect(&f->tiles[t]);
    struct rect around = grow(p->mine, f->depth, f->depth, f->layout);
    CHECK(visit_tiles(f->layout, around, plan_receive, p));
    CHECK(visit_tiles(f->layout, around, plan_send, p));
  }
  return ERR_OK;
}

static int plan(struct halo *h, struct field *f, const struct team *team, enum halo_mode mode) {
  struct planner p = {.h = h, .f = f, .team = team, .mode = mode};
  h->message_sides = calloc((size_t)(f->ntiles > 0 ? f->ntiles : 1), sizeof *h->message_sides);
  int status = h->message_sides != NULL ? plan_tiles(&p) : out_of_memory();
  for (int r = 0; r < p.nremotes; r++)
    free(p.remotes[r].offsets);
  free(p.remotes);
  CHECK(status);
  for (int k = 0; k < h->npeers; k++) {
    struct halo_peer *peer = &h->peers[k];
    /* Receives are planned in (tile, source) order already; sends are sorted the same way. */
    qsort(peer->send, (size_t)peer->nsend, sizeof *peer->send, compare_keys);
    peer->send_buf =
        malloc((size_t)(peer->send_points > 0 ? peer->send_points : 1) * sizeof(double));
    peer->recv_buf =
        malloc((size_t)(peer->recv_points > 0 ? peer->recv_points : 1) * sizeof(double));
    if (peer->send_buf == NULL || peer->recv_buf == NULL)
      return err_set(ERR_FAILURE, "out of memory for halo messages");
    if (peer->send_points > INT_MAX || peer->recv_points > INT_MAX)
      return err_set(ERR_FAILURE, "a halo message to rank %d would hold more than %d points",
                     peer->rank, INT_MAX);
    h->counts.p2p_points += peer->recv_points;
  }
  h->requests = malloc((size_t)(2 * (h->nshm + h->npeers) + 1) * sizeof *h->requests);
  if (h->requests == NULL)
    return out_of_memory();
  h->counts.shm_neighbours = h->nshm;
  h->counts.messages = h->npeers;
  return ERR_OK;
}

int halo_create(struct field *field, const struct team *team, enum halo_mode mode,
                struct halo **out) {
  *out = NULL;
  struct halo *h = calloc(1, sizeof *h);
  int status = h ? ERR_OK : err_set(ERR_FAILURE, "out of memory creating the halo");
  if (h) {
    h->comm = MPI_COMM_NULL;
    h->win = field->win;
    h->depth = field->depth;
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

static void copy_rect(double *restrict dst, int64_t dst_stride, const double *restrict src,
                      int64_t src_stride, int64_t rows, int64_t cols) {
  if (cols == 1) { /* a column: one point a row */
    for (int64_t r = 0; r < rows; r++)
      dst[r * dst_stride] = src[r * src_stride];
    return;
  }
  for (int64_t r = 0; r < rows; r++)
    memcpy(dst + r * dst_stride, src + r * src_stride, (size_t)cols * sizeof *dst);
}

static char notify_token; /* zero-byte messages still need a valid buffer */

/* One zero-byte message to and from every node neighbour, completed together. */
static int notify_node_neighbours(struct halo *h, int tag) {
  int nreq = 0;
  for (int k = 0; k < h->nshm; k++)
    MPI_CHECK(
        MPI_Irecv(&notify_token, 0, MPI_BYTE, h->shm_peers[k], tag, h->comm, &h->requests[nreq++]));
  for (int k = 0; k < h->nshm; k++)
    MPI_CHECK(
        MPI_Isend(&notify_token, 0, MPI_BYTE, h->shm_peers[k], tag, h->comm, &h->requests[nreq++]));
  MPI_CHECK(team_wait_all(nreq, h->requests));
  return ERR_OK;
}

int halo_exchange_begin(struct halo *h, int buf) {
  /* requests: the node neighbours' notifications first (completed here), then the messages
   * (completed by halo_exchange_end) */
  MPI_Request *notify = h->requests, *messages = h->requests + 2 * h->nshm;
  int nnotify = 0, nmessages = 0;
  if (h->nshm > 0)
    MPI_CHECK(MPI_Win_sync(h->win)); /* our stores of this buffer, before we notify */
  for (int k = 0; k < h->nshm; k++)
    MPI_CHECK(MPI_Irecv(&notify_token, 0, MPI_BYTE, h->shm_peers[k], TAG_NOTIFY, h->comm,
                        &notify[nnotify++]));
  for (int k = 0; k < h->npeers; k++) {
    struct halo_peer *peer = &h->peers[k];
    MPI_CHECK(MPI_Irecv(peer->recv_buf, (int)peer->recv_points, MPI_DOUBLE, peer->rank, TAG_EDGES,
                        h->comm, &messages[nmessages++]));
  }
  for (int k = 0; k < h->npeers; k++) {
    struct halo_peer *peer = &h->peers[k];
    double *packed = peer->send_buf;
    for (int64_t n = 0; n < peer->nsend; n++) {
      const struct halo_segment *seg = &peer->send[n];
      copy_rect(packed, seg->cols, seg->base[buf], seg->stride, seg->rows, seg->cols);
      packed += seg->rows * seg->cols;
    }
    MPI_CHECK(MPI_Isend(peer->send_buf, (int)peer->send_points, MPI_DOUBLE, peer->rank, TAG_EDGES,
                        h->comm, &messages[nmessages++]));
  }
  for (int k = 0; k < h->nshm; k++)
    MPI_CHECK(MPI_Isend(&notify_token, 0, MPI_BYTE, h->shm_peers[k], TAG_NOTIFY, h->comm,
                        &notify[nnotify++]));
  MPI_CHECK(team_wait_all(nnotify, notify));
  if (h->nshm > 0)
    MPI_CHECK(MPI_Win_sync(h->win)); /* their stores, before our loads */
  for (int64_t c = 0; c < h->ncopies; c++) {
    const struct halo_copy *copy = &h->copies[c];
    copy_rect(copy->dst[buf], copy->dst_stride, copy->src[buf], copy->src_stride, copy->rows,
              copy->cols);
  }
  h->pending_messages = nmessages;
  return ERR_OK;
}

int halo_exchange_end(struct halo *h, int buf) {
  MPI_Request *messages = h->requests + 2 * h->nshm;
  MPI_CHECK(team_wait_all(h->pending_messages, messages));
  h->pending_messages = 0;
  for (int k = 0; k < h->npeers; k++) {
    const struct halo_peer *peer = &h->peers[k];
    const double *packed = peer->recv_buf;
    for (int64_t n = 0; n < peer->nrecv; n++) {
      const struct halo_segment *seg = &peer->recv[n];
      copy_rect(seg->base[buf], seg->stride, packed, seg->cols, seg->rows, seg->cols);
      packed += seg->rows * seg->cols;
    }
  }
  if (h->depth > 1 && h->nshm > 0) {
    /* A temporal block may write the buffer just exchanged before the next exchange: wait
     * until every node neighbour has loaded what it needs of ours (see the top of this file). */
    MPI_CHECK(MPI_Win_sync(h->win));
    CHECK(notify_node_neighbours(h, TAG_DONE));
  }
  return ERR_OK;
}

int halo_exchange(struct halo *h, int buf) {
  CHECK(halo_exchange_begin(h, buf));
  return halo_exchange_end(h, buf);
}

struct halo_counts halo_counts(const struct halo *h) {
  return h->counts;
}

unsigned halo_message_sides(const struct halo *h, int64_t tile) { return h->message_sides[tile]; }

void halo_destroy(struct halo **halo) {
  if (halo == NULL || *halo == NULL)
    return;
  struct halo *h = *halo;
  if (h->locked)
    MPI_Win_unlock_all(h->win);
  for (int k = 0; k < h->npeers; k++) {
    free(h->peers[k].send);
    free(h->peers[k].recv);
    free(h->peers[k].send_buf);
    free(h->peers[k].recv_buf);
  }
  if (h->comm != MPI_COMM_NULL)
    MPI_Comm_free(&h->comm);
  free(h->peers);
  free(h->shm_peers);
  free(h->copies);
  free(h->message_sides);
  free(h->requests);
  free(h);
  *halo = NULL;
}
