/* faces.c - multigrid on a plate with the faces operator (field_faces: conductances, a diagonal
 * and a load per point, field.h): level 0's update and residual rows from the field's arrays;
 * the operator-dependent interpolation and its transpose, the restriction; every coarse level's
 * Galerkin operator P^T A P (nine points), made once at set-up; the coarse levels' four-colour
 * Gauss-Seidel, update and residual, and the coarsest level's banded LU (docs/numerics.md,
 * "Multigrid on the faces operator"). cycle.c calls these where mg->faces; the cycle itself,
 * the fetches and the levels' storage are the ones every plate uses. Not for: the plate's
 * assembly of the arrays (solver/plate.c). */
#include "solver/method/multigrid/private.h"

#include "common/err.h"
#include "common/minmax.h"
#include "solver/kernel/operator.h"

#include <stdlib.h>
#include <string.h>

/* ---- level 0 ----------------------------------------------------------------------------------
 */

/* Pointer to interior point (0, 0) of tile t of one of the field's private arrays. */
static const double *faces_at(const struct field *f, const double *a, int64_t t) {
  return a + f->tile_offset[t] + f->depth * field_stride(f, t) + f->depth;
}

void mg_faces_update_row(const struct field *f, int64_t t, int64_t i, const double *xr, double *u) {
  int64_t s = field_stride(f, t), at = i * s, nc = f->tiles[t].ncols;
  const double *cn = faces_at(f, f->cond[DECOMP_NORTH], t) + at,
               *cs = faces_at(f, f->cond[DECOMP_SOUTH], t) + at,
               *cw = faces_at(f, f->cond[DECOMP_WEST], t) + at,
               *ce = faces_at(f, f->cond[DECOMP_EAST], t) + at, *dg = faces_at(f, f->diag, t) + at,
               *ld = faces_at(f, f->load, t) + at;
  for (int64_t j = 0; j < nc; j++)
    u[j] = OP_FACES_UPDATE(
        OP_FACES(cn[j], xr[j - s], cs[j], xr[j + s], cw[j], xr[j - 1], ce[j], xr[j + 1]), ld[j],
        dg[j]);
}

void mg_faces_update_colour(const struct field *f, int64_t t, int64_t i, double *xr, int64_t j0) {
  int64_t s = field_stride(f, t), at = i * s, nc = f->tiles[t].ncols;
  const double *cn = faces_at(f, f->cond[DECOMP_NORTH], t) + at,
               *cs = faces_at(f, f->cond[DECOMP_SOUTH], t) + at,
               *cw = faces_at(f, f->cond[DECOMP_WEST], t) + at,
               *ce = faces_at(f, f->cond[DECOMP_EAST], t) + at, *dg = faces_at(f, f->diag, t) + at,
               *ld = faces_at(f, f->load, t) + at;
  for (int64_t j = j0; j < nc; j += 2)
    xr[j] = OP_FACES_UPDATE(
        OP_FACES(cn[j], xr[j - s], cs[j], xr[j + s], cw[j], xr[j - 1], ce[j], xr[j + 1]), ld[j],
        dg[j]);
}

void mg_faces_residual_row(const struct field *f, int64_t t, int64_t i, const double *xr,
                           double *rr) {
  int64_t s = field_stride(f, t), at = i * s, nc = f->tiles[t].ncols;
  const double *cn = faces_at(f, f->cond[DECOMP_NORTH], t) + at,
               *cs = faces_at(f, f->cond[DECOMP_SOUTH], t) + at,
               *cw = faces_at(f, f->cond[DECOMP_WEST], t) + at,
               *ce = faces_at(f, f->cond[DECOMP_EAST], t) + at, *dg = faces_at(f, f->diag, t) + at,
               *ld = faces_at(f, f->load, t) + at;
  for (int64_t j = 0; j < nc; j++)
    rr[j] = OP_FACES_RESIDUAL(
        OP_FACES(cn[j], xr[j - s], cs[j], xr[j + s], cw[j], xr[j - 1], ce[j], xr[j + 1]), ld[j],
        dg[j], xr[j]);
}

/* A held point (field.h: a region's): no conductance at all. Its correction is 0 on every
 * level. (A free point without conductances, a lone point that only exchanges through its faces,
 * looks the same; its update solves it exactly, so a zero correction is right for it too.) */
static bool held_at(const struct field *f, int64_t t, int64_t at) {
  return faces_at(f, f->cond[DECOMP_NORTH], t)[at] == 0.0 &&
         faces_at(f, f->cond[DECOMP_SOUTH], t)[at] == 0.0 &&
         faces_at(f, f->cond[DECOMP_WEST], t)[at] == 0.0 &&
         faces_at(f, f->cond[DECOMP_EAST], t)[at] == 0.0;
}

void mg_faces_keep0(struct multigrid *mg) {
  const struct field *f = mg->field;
  struct level *L = &mg->lv[0];
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)
      for (int64_t j = 0; j < L->tiles[t].ncols; j++) {
        int64_t at = i * L->stride[t] + j;
        L->keep[t][at] = held_at(f, t, at) ? 0.0 : 1.0;
      }
}

/* ---- the coarse operators ---------------------------------------------------------------------
 * Galerkin: A_H = P^T A P, P the operator-dependent interpolation below and P^T the restriction,
 * so a coarse level has nine points (docs/numerics.md, "Multigrid on the faces operator": the
 * 5-point averages of the face conductances were measured first and diverge on a checkerboard of
 * 1e3). Each level hands the next, per point: whether it is free, its couplings to its eight
 * neighbours where both are free (0 off the grid and to a held point) and its diagonal. A coarse
 * point is held where its fine one is (its row the identity, its column dropped). The quantities
 * are fetched over the restriction box and two points more, as the residual is, and combined in
 * global indices in one order: the same bits on every decomposition. */

/* The eight neighbours, in sw's order and then corner's: N, S, W, E, NW, NE, SW, SE. */
static const int64_t DI[8] = {-1, 1, 0, 0, -1, -1, 1, 1}, DJ[8] = {0, 0, -1, 1, -1, 1, -1, 1};
enum { Q_KEEP, Q_C, Q_DIAG = Q_C + 8, Q_N };

static void box_of(const struct multigrid *mg, int l, const struct decomp_tile *t,
                   struct fetch_box *out) {
  mg_restrict_box(mg, l, t, out);
  *out = (struct fetch_box){out->r0 - 2, out->r1 + 2, out->c0 - 2,          out->c1 + 2,
                            0,           0,           out->c1 - out->c0 + 4};
}

static int64_t gen_box(const void *ctx, int rank, struct fetch_box *out) {
  const struct gen_ctx *g = ctx;
  if (mg_tiles_of(&g->mg->levels, g->level, rank) == 0)
    return 0;
  if (out != NULL) {
    struct decomp_tile t;
    mg_tile_of(&g->mg->levels.level[g->level], rank, 0, &t);
    box_of(g->mg, g->level, &t, out);
  }
  return 1;
}

/* Quantity q of level l at every point of its tiles, into its residual buffer r (free at set-up):
 * level 0's from the field's arrays (the neighbours' held flags from its rings), a coarser
 * level's from its operator. */
static void quantity(struct multigrid *mg, int l, int q) {
  struct level *L = &mg->lv[l];
  const struct field *f = mg->field;
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)
      for (int64_t j = 0; j < L->tiles[t].ncols; j++) {
        int64_t gi = L->tiles[t].row0 + i, gj = L->tiles[t].col0 + j, s = L->stride[t];
        int64_t at = i * s + j;
        double v = 0.0;
        if (l > 0) {
          bool is_free = L->keep[t][at] != 0.0;
          v = !is_free      ? 0.0
              : q == Q_KEEP ? 1.0
              : q == Q_DIAG ? L->sw[SW_DIAG][t][at]
              : q < Q_C + 4 ? L->sw[q - Q_C][t][at]
                            : L->corner[q - Q_C - 4][t][at];
        } else if (!held_at(f, t, at)) {
          /* to every neighbour on the grid, held or not: the consumers mask by its keep (the
           * field's rings of cond need not be filled, at depth 1) */
          int d = q - Q_C;
          bool inside = d >= 0 && d < 4 && gi + DI[d] >= 0 && gi + DI[d] < L->shape->rows.n &&
                        gj + DJ[d] >= 0 && gj + DJ[d] < L->shape->cols.n;
          v = q == Q_KEEP   ? 1.0
              : q == Q_DIAG ? faces_at(f, f->diag, t)[at]
              : inside      ? faces_at(f, f->cond[d], t)[at]
                            : 0.0; /* level 0 has no diagonal neighbours */
        }
        L->r[t][at] = v;
      }
}

/* Quantities of a finer level over a box of it (global indices, 0 off the grid). */
struct qbox {
  const double *q[Q_N];
  int64_t r0, c0, bw;
};

static double qv(const struct qbox *b, int q, int64_t r, int64_t c) {
  return b->q[q][(r - b->r0) * b->bw + (c - b->c0)];
}

/* The coupling of (r, c) to its neighbour d where both are free (0 to a held point: its
 * correction is 0, and its pull is in the diagonal), from the box. */
static double cq(const struct qbox *b, int d, int64_t r, int64_t c) {
  return qv(b, Q_C + d, r, c) * qv(b, Q_KEEP, r + DI[d], c + DJ[d]);
}

/* ---- operator-dependent interpolation ---------------------------------------------------------
 * A fine point of level l on a coarse line takes the coarse value. One on a coarse row between
 * two coarse points (or beyond the outermost, at an edge) takes them weighted by its couplings
 * toward each side, the stencil collapsed across the row (west: W + NW + SW), over its
 * diagonal less its couplings along the other direction (N + S): a held neighbour, an edge's
 * exchange or the faces' pull it toward 0, and at an insulated edge the outermost point takes
 * the coarse value whole. One off every coarse line takes its eight neighbours, those on
 * coarse lines interpolated so, weighted by its couplings over its diagonal. Across a jump the
 * correction then bends where the conductance is small, as the error does (the black-box
 * multigrid of Alcouffe, Brandt, Dendy and Painter, 1981). The weights are a pure function of
 * the finer level's quantities in global indices: the fine owner (P) and the coarse owner (P^T,
 * the Galerkin product) compute the same bits. */

static int line_weights(const struct multigrid *mg, int l, const struct qbox *b, bool rows,
                        int64_t gi, int64_t gj, double w[2]) {
  const struct axis_tables *t = rows ? &mg->lv[l].rows : &mg->lv[l].cols;
  const struct levels_axis *c =
      rows ? &mg->levels.level[l + 1].rows : &mg->levels.level[l + 1].cols;
  int64_t i = rows ? gi : gj, k = t->ki[2 * i];
  int n = t->ni[i];
  if (c->parity < 0 || (n == 1 && i == 2 * k + c->parity)) {
    w[0] = 1.0;
    return 1;
  }
  /* along the columns (rows false): lo is west, hi east, across north and south */
  int lo_d = rows ? 0 : 2, hi_d = rows ? 1 : 3, x0 = rows ? 2 : 0, x1 = rows ? 3 : 1;
  int lo_c0 = rows ? 4 : 4, lo_c1 = rows ? 5 : 6, hi_c0 = rows ? 6 : 5, hi_c1 = 7;
  double lo = cq(b, lo_d, gi, gj) + (cq(b, lo_c0, gi, gj) + cq(b, lo_c1, gi, gj));
  double hi = cq(b, hi_d, gi, gj) + (cq(b, hi_c0, gi, gj) + cq(b, hi_c1, gi, gj));
  double den = qv(b, Q_DIAG, gi, gj) - (cq(b, x0, gi, gj) + cq(b, x1, gi, gj));
  if (n == 2) {
    w[0] = den > 0.0 ? lo / den : 0.5;
    w[1] = den > 0.0 ? hi / den : 0.5;
  } else {
    bool toward_lo = 2 * k + c->parity < i;
    w[0] = den > 0.0 ? (toward_lo ? lo : hi) / den : 1.0;
  }
  return n;
}

/* Point (gi, gj) of level l (on the grid): its weights w[2 a + b] of coarse points (rows.ki[a],
 * cols.ki[b]); 0 at a held point. */
static void point_weights(const struct multigrid *mg, int l, const struct qbox *b, int64_t gi,
                          int64_t gj, double w[4]) {
  const struct level *F = &mg->lv[l];
  const struct levels_level *c = &mg->levels.level[l + 1];
  bool identity = c->rows.parity < 0;
  int nr = F->rows.ni[gi], nc = F->cols.ni[gj];
  bool on_r = identity || (nr == 1 && gi == 2 * F->rows.ki[2 * gi] + c->rows.parity);
  bool on_c = identity || (nc == 1 && gj == 2 * F->cols.ki[2 * gj] + c->cols.parity);
  w[0] = w[1] = w[2] = w[3] = 0.0;
  if (qv(b, Q_KEEP, gi, gj) == 0.0)
    return;
  double line[2];
  if (on_r && on_c) {
    w[0] = 1.0;
    return;
  }
  if (on_r || on_c) {
    int n = line_weights(mg, l, b, on_c, gi, gj, line);
    for (int k = 0; k < n; k++)
      w[on_c ? 2 * k : k] = line[k];
    return;
  }
  for (int d = 0; d < 8; d++) {
    int64_t ni = gi + DI[d], nj = gj + DJ[d];
    double cond = cq(b, d, gi, gj);
    if (cond == 0.0)
      continue; /* off the grid, held, or no coupling */
    /* which of this point's coarse rows and columns the neighbour lies on (-1: between) */
    int a = -1, k = -1;
    for (int m = 0; m < nr; m++)
      a = 2 * F->rows.ki[2 * gi + m] + c->rows.parity == ni ? m : a;
    for (int m = 0; m < nc; m++)
      k = 2 * F->cols.ki[2 * gj + m] + c->cols.parity == nj ? m : k;
    if (a >= 0 && k >= 0) {
      w[2 * a + k] += cond;
    } else if (a >= 0) {
      int n = line_weights(mg, l, b, false, ni, nj, line);
      for (int m = 0; m < n; m++)
        w[2 * a + m] += cond * line[m];
    } else if (k >= 0) {
      int n = line_weights(mg, l, b, true, ni, nj, line);
      for (int m = 0; m < n; m++)
        w[2 * m + k] += cond * line[m];
    }
  }
  double den = qv(b, Q_DIAG, gi, gj);
  for (int k = 0; k < 4; k++)
    w[k] = den > 0.0 ? w[k] / den : 0.0;
}

/* Per-tile arrays laid out as level L's points (count of them), in one block. */
static int tile_arrays(struct level *L, int count, double **arrays[], double **storage) {
  int64_t total = 0;
  for (int64_t t = 0; t < L->ntiles; t++)
    total += L->tiles[t].nrows * L->stride[t];
  size_t n = (size_t)(L->ntiles > 0 ? L->ntiles : 1);
  *storage = calloc((size_t)(count * (total > 0 ? total : 1)), sizeof **storage);
  bool ok = *storage != NULL;
  for (int k = 0; k < count; k++)
    ok = ok && (arrays[k] = malloc(n * sizeof *arrays[k])) != NULL;
  if (!ok)
    return err_set(ERR_FAILURE, "out of memory for the multigrid transfers");
  int64_t at = 0;
  for (int64_t t = 0; t < L->ntiles; t++) {
    for (int k = 0; k < count; k++)
      arrays[k][t] = *storage + k * total + at;
    at += L->tiles[t].nrows * L->stride[t];
  }
  return ERR_OK;
}

/* What level l's own tiles read to set their interpolation weights: each tile and two points
 * more all round, one after another. */
static int64_t gen_own(const void *ctx, int rank, struct fetch_box *out) {
  const struct gen_ctx *g = ctx;
  int64_t n = mg_tiles_of(&g->mg->levels, g->level, rank), at = 0;
  for (int64_t k = 0; out != NULL && k < n; k++) {
    struct decomp_tile t;
    mg_tile_of(&g->mg->levels.level[g->level], rank, k, &t);
    int64_t w = t.ncols + 4;
    out[k] = (struct fetch_box){
        t.row0 - 2, t.row0 + t.nrows + 2, t.col0 - 2, t.col0 + t.ncols + 2, 0, at, w};
    at += (t.nrows + 4) * w;
  }
  return n;
}

/* Fetch level l's quantities over the boxes fx names into boxes (Q_N blocks of len). */
static void fetch_quantities(struct multigrid *mg, int l, const struct fetch *fx, double *boxes,
                             int64_t len) {
  for (int q = 0; q < Q_N; q++) {
    double *dst = boxes + q * len; /* beyond the grid: 0 (no point, no coupling) */
    quantity(mg, l, q);
    fetch_run(fx, mg->lv[l].r, mg->lv[l].stride, &dst, mg->comm, mg->team, mg->team->rank);
  }
}

/* Level l's interpolation weights (pw) from its quantities around its tiles (fetched). */
static int fine_weights(struct multigrid *mg, int l) {
  struct level *F = &mg->lv[l];
  struct fetch fy;
  struct gen_ctx own = {mg, l};
  int status =
      fetch_plan(&fy, &F->shape->layout, false, gen_own, &own, mg->team->rank, mg->team->size);
  int64_t len = 1;
  for (int64_t t = 0; status == ERR_OK && t < fy.nboxes; t++)
    len += (fy.boxes[t].r1 - fy.boxes[t].r0) * fy.boxes[t].stride;
  double *boxes = NULL;
  if (status == ERR_OK)
    status = tile_arrays(F, 4, F->pw, &F->pw_storage);
  if (status == ERR_OK && (boxes = calloc((size_t)(Q_N * len), sizeof *boxes)) == NULL)
    status = err_set(ERR_FAILURE, "out of memory for the multigrid transfers");
  status = team_agree(mg->team, status);
  if (status != ERR_OK) {
    free(boxes);
    fetch_free(&fy);
    return status;
  }
  fetch_quantities(mg, l, &fy, boxes, len);
  for (int64_t t = 0; t < F->ntiles; t++) {
    const struct fetch_box *bx = &fy.boxes[t];
    struct qbox b = {.r0 = bx->r0, .c0 = bx->c0, .bw = bx->stride};
    for (int q = 0; q < Q_N; q++)
      b.q[q] = boxes + q * len + bx->offset;
    for (int64_t i = 0; i < F->tiles[t].nrows; i++)
      for (int64_t j = 0; j < F->tiles[t].ncols; j++) {
        double w[4];
        point_weights(mg, l, &b, F->tiles[t].row0 + i, F->tiles[t].col0 + j, w);
        for (int k = 0; k < 4; k++)
          F->pw[k][t][i * F->stride[t] + j] = w[k];
      }
  }
  free(boxes);
  fetch_free(&fy);
  return ERR_OK;
}

struct coarse_ctx {
  const struct multigrid *mg;
  int l; /* the coarse level */
  struct qbox b;
  double *w; /* the finer points' weights over the box (4 each; 0 off the grid) */
};

static const double *weights_at(const struct coarse_ctx *cx, int64_t r, int64_t c) {
  return cx->w + 4 * ((r - cx->b.r0) * cx->b.bw + (c - cx->b.c0));
}

/* Coarse point (gi, gj): its restriction weights rw[3 a + b] of the finer points (rows.ir[a],
 * cols.ir[b]), each one's interpolation weight of it, and its Galerkin row a9[3 (di + 1) + dj +
 * 1] (coarse neighbour (gi + di, gj + dj)): sum over those finer points f of P(f, C) (A P)(f). */
static void galerkin_row(const struct coarse_ctx *cx, int64_t gi, int64_t gj, double rw[9],
                         double a9[9]) {
  const struct level *L = &cx->mg->lv[cx->l], *F = &cx->mg->lv[cx->l - 1];
  for (int k = 0; k < 9; k++)
    rw[k] = a9[k] = 0.0;
  for (int a = 0; a < L->rows.nr[gi]; a++)
    for (int b = 0; b < L->cols.nr[gj]; b++) {
      int64_t fi = L->rows.ir[3 * gi + a], fj = L->cols.ir[3 * gj + b];
      const double *wf = weights_at(cx, fi, fj);
      for (int aa = 0; aa < F->rows.ni[fi]; aa++)
        for (int bb = 0; bb < F->cols.ni[fj]; bb++)
          if (F->rows.ki[2 * fi + aa] == gi && F->cols.ki[2 * fj + bb] == gj)
            rw[3 * a + b] = wf[2 * aa + bb];
      double p = rw[3 * a + b];
      if (p == 0.0)
        continue;
      for (int d = -1; d < 8; d++) { /* f itself, then its neighbours */
        int64_t ri = d < 0 ? fi : fi + DI[d], rj = d < 0 ? fj : fj + DJ[d];
        double coef = d < 0 ? qv(&cx->b, Q_DIAG, fi, fj) : -cq(&cx->b, d, fi, fj);
        if (coef == 0.0)
          continue; /* off the grid or held: no coupling */
        const double *wg = weights_at(cx, ri, rj);
        for (int aa = 0; aa < F->rows.ni[ri]; aa++)
          for (int bb = 0; bb < F->cols.ni[rj]; bb++) {
            int64_t di = F->rows.ki[2 * ri + aa] - gi, dj = F->cols.ki[2 * rj + bb] - gj;
            if (di >= -1 && di <= 1 && dj >= -1 && dj <= 1)
              a9[3 * (di + 1) + (dj + 1)] += (p * coef) * wg[2 * aa + bb];
          }
      }
    }
}

/* Level l's operator (keep, sw, corner) and restriction weights from level l - 1's boxes. */
static void build_level(const struct coarse_ctx *cx) {
  const struct level *L = &cx->mg->lv[cx->l];
  int64_t ny = L->shape->rows.n, nx = L->shape->cols.n;
  /* the a9 index of each neighbour, in sw's and corner's order */
  static const int nb[8] = {1, 7, 3, 5, 0, 2, 6, 8};
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)
      for (int64_t j = 0; j < L->tiles[t].ncols; j++) {
        int64_t gi = L->tiles[t].row0 + i, gj = L->tiles[t].col0 + j, at = i * L->stride[t] + j;
        double rw[9], a9[9];
        galerkin_row(cx, gi, gj, rw, a9);
        for (int k = 0; k < 9; k++)
          L->rw[k][t][at] = rw[k];
        int64_t ci = 2 * gi + L->shape->rows.parity, cj = 2 * gj + L->shape->cols.parity;
        if (L->shape->rows.parity < 0)
          ci = gi, cj = gj;
        bool is_free = qv(&cx->b, Q_KEEP, ci, cj) != 0.0;
        L->keep[t][at] = is_free ? 1.0 : 0.0;
        for (int d = 0; d < 8; d++) {
          int64_t ni = gi + DI[d], nj = gj + DJ[d];
          int64_t nci = L->shape->rows.parity < 0 ? ni : 2 * ni + L->shape->rows.parity;
          int64_t ncj = L->shape->rows.parity < 0 ? nj : 2 * nj + L->shape->cols.parity;
          bool coupled = is_free && ni >= 0 && ni < ny && nj >= 0 && nj < nx &&
                         qv(&cx->b, Q_KEEP, nci, ncj) != 0.0;
          double c = coupled ? -a9[nb[d]] : 0.0; /* a held neighbour's correction is 0 */
          if (d < 4)
            L->sw[d][t][at] = c;
          else
            L->corner[d - 4][t][at] = c;
        }
        L->sw[SW_DIAG][t][at] = is_free ? a9[4] : 1.0;
      }
}

/* The ring points of level l's field that lie off the grid: 0 in both buffers (field.h leaves
 * them NaN; the nine points read the corners, with coupling 0). */
static void zero_off_grid(struct level *L) {
  struct field *f = L->field;
  int64_t d = f->depth, ny = L->shape->rows.n, nx = L->shape->cols.n;
  for (int buf = 0; buf < 2; buf++)
    for (int64_t t = 0; t < f->ntiles; t++) {
      double *x = field_interior(f, buf, t);
      int64_t s = field_stride(f, t);
      for (int64_t i = -d; i < f->tiles[t].nrows + d; i++)
        for (int64_t j = -d; j < f->tiles[t].ncols + d; j++) {
          int64_t gi = f->tiles[t].row0 + i, gj = f->tiles[t].col0 + j;
          if (gi < 0 || gi >= ny || gj < 0 || gj >= nx)
            x[i * s + j] = 0.0;
        }
    }
}

/* Level l's coarse operator: the finer level's weights and quantities over its box. */
static int coarse_level(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  struct fetch fx;
  struct gen_ctx here = {mg, l};
  int status = fetch_plan(&fx, &mg->lv[l - 1].shape->layout, false, gen_box, &here, mg->team->rank,
                          mg->team->size);
  struct coarse_ctx cx = {.mg = mg, .l = l};
  double *boxes = NULL;
  int64_t len = 1;
  if (status == ERR_OK)
    status = tile_arrays(L, 9, L->rw, &L->rw_storage);
  if (status == ERR_OK)
    status = tile_arrays(L, 4, L->corner, &L->corner_storage);
  if (status == ERR_OK && L->ntiles > 0) {
    struct fetch_box b;
    box_of(mg, l, &L->tiles[0], &b);
    cx.b = (struct qbox){.r0 = b.r0, .c0 = b.c0, .bw = b.stride};
    len = (b.r1 - b.r0) * b.stride;
  }
  if (status == ERR_OK && (boxes = calloc((size_t)((Q_N + 4) * len), sizeof *boxes)) == NULL)
    status = err_set(ERR_FAILURE, "out of memory for the multigrid coarse operators");
  status = team_agree(mg->team, status);
  if (status != ERR_OK) {
    free(boxes);
    fetch_free(&fx);
    return status;
  }
  fetch_quantities(mg, l - 1, &fx, boxes, len);
  for (int q = 0; q < Q_N; q++)
    cx.b.q[q] = boxes + q * len;
  cx.w = boxes + Q_N * len;
  if (L->ntiles > 0) {
    const struct levels_level *F = &mg->levels.level[l - 1];
    int64_t rows = len / cx.b.bw;
    for (int64_t r = 1; r + 1 < rows; r++) /* the weights over the box less its outer ring */
      for (int64_t c = 1; c + 1 < cx.b.bw; c++) {
        int64_t gi = cx.b.r0 + r, gj = cx.b.c0 + c;
        if (gi >= 0 && gi < F->rows.n && gj >= 0 && gj < F->cols.n)
          point_weights(mg, l - 1, &cx.b, gi, gj, cx.w + 4 * (r * cx.b.bw + c));
      }
    build_level(&cx);
  }
  if (L->field != NULL)
    zero_off_grid(L);
  free(boxes);
  fetch_free(&fx);
  return ERR_OK;
}

/* Every coarse level's operator, from level 0's arrays down. Collective (the fetches); every
 * rank must have planned the levels. */
int mg_faces_coarse(struct multigrid *mg) {
  mg_faces_keep0(mg);
  for (int l = 1; l < mg->levels.n; l++) {
    CHECK(fine_weights(mg, l - 1));
    CHECK(coarse_level(mg, l));
  }
  return ERR_OK;
}

/* ---- the coarse levels' arithmetic ------------------------------------------------------------
 */

#define NINE(L, t, at, xr, j, s)                                                                   \
  OP_FACES9(L->sw[0][t][at], xr[j - s], L->sw[1][t][at], xr[j + s], L->sw[2][t][at], xr[j - 1],    \
            L->sw[3][t][at], xr[j + 1], L->corner[0][t][at], xr[j - s - 1], L->corner[1][t][at],   \
            xr[j - s + 1], L->corner[2][t][at], xr[j + s - 1], L->corner[3][t][at], xr[j + s + 1])

void mg_faces_coarse_update_row(const struct multigrid *mg, int l, int64_t t, int64_t i,
                                const double *xr, double *u) {
  const struct level *L = &mg->lv[l];
  int64_t s = L->stride[t];
  for (int64_t j = 0; j < L->tiles[t].ncols; j++) {
    int64_t at = i * s + j;
    u[j] = L->keep[t][at] *
           OP_FACES_UPDATE(NINE(L, t, at, xr, j, s), L->f[t][at], L->sw[SW_DIAG][t][at]);
  }
}

void mg_faces_coarse_residual_row(const struct multigrid *mg, int l, int64_t t, int64_t i,
                                  const double *xr, double *rr) {
  const struct level *L = &mg->lv[l];
  int64_t s = L->stride[t];
  for (int64_t j = 0; j < L->tiles[t].ncols; j++) {
    int64_t at = i * s + j;
    rr[j] = L->keep[t][at] *
            OP_FACES_RESIDUAL(NINE(L, t, at, xr, j, s), L->f[t][at], L->sw[SW_DIAG][t][at], xr[j]);
  }
}

/* Gauss-Seidel in four colours, (row, column) mod 2 in global indices: no two points of a colour
 * are neighbours among the nine, so a colour's updates are independent of the order and of the
 * decomposition, and each sees its neighbours' newest values. Red-black would couple the
 * diagonal neighbours of one colour; done as Jacobi within the colour it diverged on the
 * Galerkin operators of a checkerboard of 1e3 (whose corners are large), as did Chebyshev
 * (D^-1 A's eigenvalues pass 2 where the rows are not diagonally dominant). */
void mg_faces_smooth(struct multigrid *mg, int l, int steps) {
  struct level *L = &mg->lv[l];
  int buf = L->field->current;
  for (int st = 0; st < steps; st++)
    for (int colour = 0; colour < 4; colour++) {
      mg_exchange(mg, l, buf);
      for (int64_t t = 0; t < L->ntiles; t++) {
        int64_t s = L->stride[t], nc = L->tiles[t].ncols;
        int64_t i0 = ((colour / 2 - L->tiles[t].row0) % 2 + 2) % 2;
        int64_t j0 = ((colour % 2 - L->tiles[t].col0) % 2 + 2) % 2;
        for (int64_t i = i0; i < L->tiles[t].nrows; i += 2) {
          /* in place, the colour's points alone: none of the nine is of the same colour, so
           * each reads what an update of the whole row into a scratch row read (the same bits,
           * half the updates: that row's computed every point and kept every other one) */
          double *xr = L->x[buf][t] + i * s;
          for (int64_t j = j0; j < nc; j += 2) {
            int64_t at = i * s + j;
            xr[j] = L->keep[t][at] *
                    OP_FACES_UPDATE(NINE(L, t, at, xr, j, s), L->f[t][at], L->sw[SW_DIAG][t][at]);
          }
        }
      }
    }
}

/* The coarsest level's nine-point operator as a band matrix, factored (LU without pivoting:
 * P^T A P of an M-matrix with P >= 0 is symmetric positive definite up to rounding). Unknowns
 * numbered with the short side fastest; the corners widen the band by one. */
int mg_faces_factor(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  int64_t ny = L->shape->rows.n, nx = L->shape->cols.n;
  L->column_major = ny <= nx;
  L->bandwidth = (L->column_major ? ny : nx) + 1;
  L->unknowns = nx * ny;
  int64_t bw = L->bandwidth, width = 2 * bw + 1, n = L->unknowns;
  L->band = calloc((size_t)(n * width), sizeof *L->band);
  if (L->band == NULL)
    return err_set(ERR_FAILURE, "out of memory for the coarsest level (%lld x %lld)", (long long)nx,
                   (long long)ny);
#define BAND(u, v) L->band[(u)*width + bw + (v) - (u)]
  for (int64_t i = 0; i < ny; i++)
    for (int64_t j = 0; j < nx; j++) {
      int64_t u = L->column_major ? j * ny + i : i * nx + j, at = i * nx + j;
      BAND(u, u) = L->sw[SW_DIAG][0][at];
      for (int d = 0; d < 8; d++) {
        int64_t ni = i + DI[d], nj = j + DJ[d];
        if (ni < 0 || ni >= ny || nj < 0 || nj >= nx)
          continue;
        int64_t v = L->column_major ? nj * ny + ni : ni * nx + nj;
        BAND(u, v) = -(d < 4 ? L->sw[d][0][at] : L->corner[d - 4][0][at]);
      }
    }
  for (int64_t k = 0; k < n; k++) {
    int64_t last = min64(n - 1, k + bw);
    for (int64_t i = k + 1; i <= last; i++) {
      double m = BAND(i, k) / BAND(k, k);
      BAND(i, k) = m;
      if (m != 0.0)
        for (int64_t j = k + 1; j <= last; j++)
          BAND(i, j) -= m * BAND(k, j);
    }
  }
#undef BAND
  return ERR_OK;
}

/* ---- the transfers ----------------------------------------------------------------------------
 */

void mg_faces_restrict(struct multigrid *mg, int l, double **src) {
  struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
  double *scratch = L->restrict_scratch;
  fetch_run(&L->restriction, src, F->stride, &scratch, mg->comm, mg->team, mg->team->rank);
  int64_t w = L->restrict_cols;
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)
      for (int64_t j = 0; j < L->tiles[t].ncols; j++) {
        int64_t gi = L->tiles[t].row0 + i, gj = L->tiles[t].col0 + j, at = i * L->stride[t] + j;
        double sum = 0.0;
        for (int a = 0; a < L->rows.nr[gi]; a++) {
          const double *row =
              scratch + (L->rows.ir[3 * gi + a] - L->restrict_r0) * w - L->restrict_c0;
          double part = 0.0;
          for (int b = 0; b < L->cols.nr[gj]; b++)
            part += L->rw[3 * a + b][t][at] * row[L->cols.ir[3 * gj + b]];
          sum += part;
        }
        L->f[t][at] = L->keep[t][at] * sum; /* 0 at a held point */
      }
}

void mg_faces_interpolate(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
  double *scratch = L->interp_scratch;
  int cur = L->field != NULL ? L->field->current : L->current;
  int fine = F->field->current;
  fetch_run(&L->interp, L->x[cur], L->stride, &scratch, mg->comm, mg->team, mg->team->rank);
  for (int64_t t = 0; t < F->ntiles; t++) {
    const struct fetch_box *bx = &L->interp.boxes[t];
    int64_t s = F->stride[t], w = bx->c1 - bx->c0;
    const double *box = scratch + bx->offset;
    for (int64_t i = 0; i < F->tiles[t].nrows; i++) {
      int64_t gi = F->tiles[t].row0 + i;
      double *xr = F->x[fine][t] + i * s;
      for (int64_t j = 0; j < F->tiles[t].ncols; j++) {
        int64_t gj = F->tiles[t].col0 + j, at = i * s + j;
        double e = 0.0;
        for (int a = 0; a < F->rows.ni[gi]; a++) {
          const double *row = box + (F->rows.ki[2 * gi + a] - bx->r0) * w - bx->c0;
          double part = 0.0;
          for (int b = 0; b < F->cols.ni[gj]; b++)
            part += F->pw[2 * a + b][t][at] * row[F->cols.ki[2 * gj + b]];
          e += part;
        }
        xr[j] += e; /* 0 at a held point: its weights are 0 */
      }
    }
  }
}
