/* fetch.c - fetches of a level's values by boxes in global indices; see fetch.h. */
#include "runtime/fetch.h"

#include "common/err.h"
#include "common/minmax.h"

#include <stdlib.h>
#include <string.h>

struct fetch_peer {
  int rank;
  int64_t count;         /* doubles in the message */
  int64_t nboxes;        /* the boxes it covers, in the consumer's order */
  struct fetch_box *box; /* send side: copies of the consumer's boxes; receive side: mine */
  double *buf;
};

enum walk { WALK_COUNT, WALK_PACK, WALK_UNPACK, WALK_COPY };

/* The first index >= at and < hi that process p of d owns, or hi; *end is the end of its run
 * (clipped to hi) and *run the run's number on p. */
static int64_t next_owned(const struct decomp_dist *d, int p, int64_t at, int64_t hi, int64_t *end,
                          int64_t *run) {
  if (at >= hi)
    return hi;
  int64_t block = at / d->b, r = block % d->p;
  if (r != p)
    block += (p - r + d->p) % d->p;
  int64_t start = max64(at, block * d->b);
  if (block * d->b >= d->n || start >= hi)
    return hi;
  *end = min64(min64(hi, (block + 1) * d->b), d->n);
  *run = block / d->p;
  return start;
}

/* Walk the part of box `bx` that layout rank `owner` of `l` owns, row by row and run by run:
 * count it, pack it from src_base (tile interiors of the owner, strides src_stride) into buf,
 * unpack it from buf into the box's destination, or copy it from source to destination.
 * Returns the doubles walked. */
static int64_t walk(const struct decomp_layout *l, int owner, const struct fetch_box *bx,
                    enum walk how, double *const *src_base, const int64_t *src_stride,
                    double *const *dst_base, double *buf) {
  int pr = owner / l->pcols, pc = owner % l->pcols;
  int64_t rlo = max64(bx->r0, 0), rhi = min64(bx->r1, l->ny);
  int64_t clo = max64(bx->c0, 0), chi = min64(bx->c1, l->nx);
  int64_t ncolruns = decomp_dist_nruns(&l->cols, pc), count = 0;
  int64_t re = 0, kr = 0;
  for (int64_t rs = next_owned(&l->rows, pr, rlo, rhi, &re, &kr); rs < rhi;
       rs = next_owned(&l->rows, pr, re, rhi, &re, &kr)) {
    int64_t row_start = decomp_dist_run(&l->rows, pr, kr).start;
    for (int64_t gi = rs; gi < re; gi++) {
      int64_t ce = 0, kc = 0;
      for (int64_t cs = next_owned(&l->cols, pc, clo, chi, &ce, &kc); cs < chi;
           cs = next_owned(&l->cols, pc, ce, chi, &ce, &kc)) {
        int64_t len = ce - cs;
        if (how != WALK_COUNT) {
          int64_t t = kr * ncolruns + kc;
          int64_t col_start = decomp_dist_run(&l->cols, pc, kc).start;
          const double *src = how == WALK_UNPACK ? NULL
                                                 : src_base[t] + (gi - row_start) * src_stride[t] +
                                                       (cs - col_start);
          double *dst = how == WALK_PACK ? NULL
                                         : dst_base[bx->tile] + bx->offset +
                                               (gi - bx->r0) * bx->stride + (cs - bx->c0);
          if (how == WALK_PACK)
            memcpy(buf + count, src, (size_t)len * sizeof *buf);
          else if (how == WALK_UNPACK)
            memcpy(dst, buf + count, (size_t)len * sizeof *buf);
          else
            memcpy(dst, src, (size_t)len * sizeof *dst);
        }
        count += len;
      }
    }
  }
  return count;
}

static int add_peer(struct fetch_peer **list, int *n, int rank, int64_t count, int64_t nboxes) {
  struct fetch_peer *grown = realloc(*list, (size_t)(*n + 1) * sizeof *grown);
  if (grown == NULL)
    return err_set(ERR_FAILURE, "out of memory for a multigrid transfer");
  *list = grown;
  grown[*n] = (struct fetch_peer){.rank = rank, .count = count, .nboxes = nboxes};
  grown[*n].box = malloc((size_t)(nboxes > 0 ? nboxes : 1) * sizeof(struct fetch_box));
  grown[*n].buf = malloc((size_t)(count > 0 ? count : 1) * sizeof(double));
  (*n)++;
  if (grown[*n - 1].box == NULL || grown[*n - 1].buf == NULL)
    return err_set(ERR_FAILURE, "out of memory for a multigrid transfer");
  return ERR_OK;
}

int fetch_plan(struct fetch *fx, const struct decomp_layout *src, bool src_replicated,
               fetch_box_gen gen, const void *ctx, int me, int nranks) {
  *fx = (struct fetch){.src = src, .src_replicated = src_replicated};
  fx->nboxes = gen(ctx, me, NULL);
  fx->boxes = malloc((size_t)(fx->nboxes > 0 ? fx->nboxes : 1) * sizeof *fx->boxes);
  if (fx->boxes == NULL)
    return err_set(ERR_FAILURE, "out of memory for a multigrid transfer");
  gen(ctx, me, fx->boxes);
  if (src_replicated)
    return ERR_OK; /* every box is copied from this rank's own copy */
  /* what I receive: from each other owner, the parts of my boxes it owns */
  for (int s = 0; s < src->nranks; s++) {
    if (s == me)
      continue;
    int64_t count = 0, nb = 0;
    for (int64_t b = 0; b < fx->nboxes; b++) {
      int64_t c = walk(src, s, &fx->boxes[b], WALK_COUNT, NULL, NULL, NULL, NULL);
      count += c;
      nb += c > 0;
    }
    if (count == 0)
      continue;
    CHECK(add_peer(&fx->recv, &fx->nrecv, s, count, nb));
    struct fetch_peer *p = &fx->recv[fx->nrecv - 1];
    for (int64_t b = 0, k = 0; b < fx->nboxes; b++)
      if (walk(src, s, &fx->boxes[b], WALK_COUNT, NULL, NULL, NULL, NULL) > 0)
        p->box[k++] = fx->boxes[b];
  }
  /* what I send: to each other consumer, the parts of its boxes I own */
  if (me < src->nranks) {
    for (int d = 0; d < nranks; d++) {
      if (d == me)
        continue;
      int64_t nb = gen(ctx, d, NULL);
      if (nb == 0)
        continue;
      struct fetch_box *theirs = malloc((size_t)nb * sizeof *theirs);
      if (theirs == NULL)
        return err_set(ERR_FAILURE, "out of memory for a multigrid transfer");
      gen(ctx, d, theirs);
      int64_t count = 0, mine = 0;
      for (int64_t b = 0; b < nb; b++) {
        int64_t c = walk(src, me, &theirs[b], WALK_COUNT, NULL, NULL, NULL, NULL);
        count += c;
        mine += c > 0;
      }
      int status = ERR_OK;
      if (count > 0) {
        status = add_peer(&fx->send, &fx->nsend, d, count, mine);
        for (int64_t b = 0, k = 0; status == ERR_OK && b < nb; b++)
          if (walk(src, me, &theirs[b], WALK_COUNT, NULL, NULL, NULL, NULL) > 0)
            fx->send[fx->nsend - 1].box[k++] = theirs[b];
      }
      free(theirs);
      CHECK(status);
    }
  }
  fx->req = malloc((size_t)(fx->nsend + fx->nrecv + 1) * sizeof *fx->req);
  if (fx->req == NULL)
    return err_set(ERR_FAILURE, "out of memory for a multigrid transfer");
  return ERR_OK;
}

void fetch_free(struct fetch *fx) {
  for (int p = 0; p < fx->nsend; p++) {
    free(fx->send[p].box);
    free(fx->send[p].buf);
  }
  for (int p = 0; p < fx->nrecv; p++) {
    free(fx->recv[p].box);
    free(fx->recv[p].buf);
  }
  free(fx->send);
  free(fx->recv);
  free(fx->boxes);
  free(fx->req);
  *fx = (struct fetch){0};
}

void fetch_run(const struct fetch *fx, double *const *src_base, const int64_t *src_stride,
               double *const *dst_base, MPI_Comm comm, const struct team *team, int me) {
  if (fx->src_replicated) {
    for (int64_t b = 0; b < fx->nboxes; b++)
      walk(fx->src, 0, &fx->boxes[b], WALK_COPY, src_base, src_stride, dst_base, NULL);
    return;
  }
  int nreq = 0, rc = MPI_SUCCESS;
  for (int p = 0; p < fx->nrecv && rc == MPI_SUCCESS; p++)
    rc = MPI_Irecv(fx->recv[p].buf, (int)fx->recv[p].count, MPI_DOUBLE, fx->recv[p].rank, 0, comm,
                   &fx->req[nreq++]);
  for (int p = 0; p < fx->nsend && rc == MPI_SUCCESS; p++) {
    const struct fetch_peer *s = &fx->send[p];
    for (int64_t b = 0, at = 0; b < s->nboxes; b++)
      at += walk(fx->src, me, &s->box[b], WALK_PACK, src_base, src_stride, NULL, s->buf + at);
    rc = MPI_Isend(s->buf, (int)s->count, MPI_DOUBLE, s->rank, 0, comm, &fx->req[nreq++]);
  }
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "posting a multigrid transfer"));
  if (me < fx->src->nranks) /* what I own myself */
    for (int64_t b = 0; b < fx->nboxes; b++)
      walk(fx->src, me, &fx->boxes[b], WALK_COPY, src_base, src_stride, dst_base, NULL);
  rc = team_wait_all(nreq, fx->req);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Waitall (multigrid transfer)"));
  for (int p = 0; p < fx->nrecv; p++) {
    const struct fetch_peer *r = &fx->recv[p];
    for (int64_t b = 0, at = 0; b < r->nboxes; b++)
      at += walk(fx->src, r->rank, &r->box[b], WALK_UNPACK, NULL, NULL, dst_base, r->buf + at);
  }
}
