/* faces.c - multigrid on a plate with the faces operator (field_faces: conductances, a diagonal
 * and a load per point, field.h): level 0's update and residual rows from the field's arrays,
 * the transfers' weights at an edge that is not held, and every coarse level's operator, made
 * once from the finer level's by averaging its face conductances (docs/numerics.md, "Multigrid
 * on the faces operator"). The coarse levels are then the general plate's per-point operators
 * (private.h's keep and sw), so cycle.c's coarse smoothers, residual and coarsest solve serve
 * them unchanged. */
#include "solver/method/multigrid/private.h"

#include "common/err.h"
#include "common/minmax.h"
#include "solver/kernel/operator.h"

#include <math.h>
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

/* Which edges are held (field.h: the ring beyond an edge that is not held has conductance 0, so
 * an edge is held where some point of it conducts into the ring). Collective on team->comm. */
int mg_faces_edges(struct multigrid *mg) {
  const struct field *f = mg->field;
  const struct decomp_layout *g = f->layout;
  int held[DECOMP_NSIDES] = {0, 0, 0, 0}, all[DECOMP_NSIDES];
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    int64_t s = field_stride(f, t);
    for (int64_t i = 0; i < tile->nrows; i++)
      for (int64_t j = 0; j < tile->ncols; j++) {
        int64_t gi = tile->row0 + i, gj = tile->col0 + j, at = i * s + j;
        const bool edge[DECOMP_NSIDES] = {gi == 0, gi == g->ny - 1, gj == 0, gj == g->nx - 1};
        for (int d = 0; d < DECOMP_NSIDES; d++)
          held[d] |= edge[d] && faces_at(f, f->cond[d], t)[at] != 0.0;
      }
  }
  if (MPI_Allreduce(held, all, DECOMP_NSIDES, MPI_INT, MPI_MAX, mg->team->comm) != MPI_SUCCESS)
    team_abort(mg->team, err_set(ERR_FAILURE, "MPI_Allreduce of the held edges failed"));
  for (int d = 0; d < DECOMP_NSIDES; d++)
    mg->held[d] = all[d] != 0;
  return ERR_OK;
}

/* ---- the transfers at the edges ---------------------------------------------------------------
 * levels.h interpolates a fine point between an edge and the first coarse point toward 0 at the
 * edge: the correction of a held edge. At an edge that is not held the correction is free, and
 * the fine points beyond the outermost coarse point take its value (weight 1): P then keeps
 * constants, which a Neumann or Robin plate's slowest error is nearly, and the coarse operator's
 * row sums are the fine ones restricted (P^T A P 1 = P^T A 1). The restriction is P^T exactly
 * (the residual is in watts, an extensive quantity: a coarse point collects its fine points'
 * heat, not their average). */

static void faces_interp(struct axis_tables *t, const struct levels_axis *a,
                         const struct levels_axis *coarse, bool held_lo, bool held_hi) {
  if (coarse->parity < 0)
    return;
  for (int64_t i = 0; i < a->n; i++) {
    int64_t k = t->ki[2 * i];
    if (t->ni[i] != 1 || i == 2 * k + coarse->parity)
      continue; /* between two coarse points, or one itself */
    bool low = i < 2 * k + coarse->parity;
    if (!(low ? held_lo : held_hi))
      t->wi[2 * i] = 1.0;
  }
}

static void faces_restrict(struct axis_tables *t, const struct levels_axis *a,
                           const struct levels_axis *finer, const struct axis_tables *ft) {
  if (a->parity < 0)
    return;
  for (int64_t k = 0; k < a->n; k++) {
    int64_t centre = 2 * k + a->parity;
    int n = 0;
    for (int64_t at = centre - 1; at <= centre + 1; at++) {
      if (at < 0 || at >= finer->n)
        continue;
      for (int m = 0; m < ft->ni[at]; m++)
        if (ft->ki[2 * at + m] == k) {
          t->ir[3 * k + n] = at;
          t->wr[3 * k + n++] = ft->wi[2 * at + m];
        }
    }
    t->nr[k] = n;
  }
}

void mg_faces_tables(struct multigrid *mg) {
  for (int l = 0; l + 1 < mg->levels.n; l++) {
    struct level *L = &mg->lv[l];
    const struct levels_level *c = &mg->levels.level[l + 1];
    faces_interp(&L->rows, &L->shape->rows, &c->rows, mg->held[DECOMP_NORTH],
                 mg->held[DECOMP_SOUTH]);
    faces_interp(&L->cols, &L->shape->cols, &c->cols, mg->held[DECOMP_WEST], mg->held[DECOMP_EAST]);
  }
  for (int l = 1; l < mg->levels.n; l++) {
    struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
    faces_restrict(&L->rows, &L->shape->rows, &F->shape->rows, &F->rows);
    faces_restrict(&L->cols, &L->shape->cols, &F->shape->cols, &F->cols);
  }
}

/* ---- the coarse operators ---------------------------------------------------------------------
 * Each level hands the next four quantities per point: keep (1 free, 0 held), the conductance to
 * its east and to its south neighbour where both are free (0 at the grid's last column or row:
 * no neighbour there), and its absorption, its row sum over the free points: diag less the
 * conductances to free neighbours (what it loses to held edges and points, convective edges and
 * the faces). The coarse operator (docs/numerics.md):
 *   a coarse face between coarse neighbours (fine points 2 apart) has the conductance of the
 *   two fine faces between them in series, summed across the fine lines its control face spans
 *   with the interpolation's weights (1/2, 1, 1/2; 1 for a line on an edge that is not held);
 *   the coarse absorption is P^T of the fine one (the Galerkin row sum where P keeps constants);
 *   a coarse point is held where its fine one is; a face to a held point is absorption.
 * Five points, an M-matrix, symmetric bit for bit (a face is computed once from the same
 * values, in global indices, on either side), and the same bits on every decomposition: the
 * finer quantities are fetched over the restriction box and one point more (the neighbours'
 * faces) as the residual is, and combined in one order. */

enum { Q_KEEP, Q_EAST, Q_SOUTH, Q_ABS, Q_RAW, Q_N };

static void box_of(const struct multigrid *mg, int l, const struct decomp_tile *t,
                   struct fetch_box *out) {
  mg_restrict_box(mg, l, t, out);
  *out = (struct fetch_box){out->r0 - 1, out->r1 + 1, out->c0 - 1,          out->c1 + 1,
                            0,           0,           out->c1 - out->c0 + 2};
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

/* Point (i, j) of tile t of level l: its conductances to free neighbours (north, south, west,
 * east; 0 to a held point and off the grid) and its absorption; whether it is free. Level 0's
 * from the field's arrays (the neighbours' in its rings), a coarser level's from its operator
 * and its absorption (left in f until mg_faces_coarse ends). */
static bool point_faces(const struct multigrid *mg, int l, int64_t t, int64_t i, int64_t j,
                        double c[DECOMP_NSIDES], double *absorbed) {
  const struct level *L = &mg->lv[l];
  const struct field *f = mg->field;
  int64_t gi = L->tiles[t].row0 + i, gj = L->tiles[t].col0 + j, s = L->stride[t], at = i * s + j;
  if (l > 0) {
    for (int d = 0; d < DECOMP_NSIDES; d++)
      c[d] = L->sw[d][t][at];
    *absorbed = L->f[t][at];
    return L->keep[t][at] != 0.0;
  }
  for (int d = 0; d < DECOMP_NSIDES; d++)
    c[d] = 0.0;
  *absorbed = 0.0;
  if (held_at(f, t, at))
    return false;
  const bool inside[DECOMP_NSIDES] = {gi > 0, gi<L->shape->rows.n - 1, gj> 0,
                                      gj < L->shape->cols.n - 1};
  const int64_t step[DECOMP_NSIDES] = {-s, s, -1, 1};
  for (int d = 0; d < DECOMP_NSIDES; d++)
    c[d] = inside[d] && !held_at(f, t, at + step[d]) ? faces_at(f, f->cond[d], t)[at] : 0.0;
  *absorbed = faces_at(f, f->diag, t)[at] -
              ((c[DECOMP_NORTH] + c[DECOMP_SOUTH]) + (c[DECOMP_WEST] + c[DECOMP_EAST]));
  return true;
}

/* Whether point i of one direction of level l lies beyond its outermost coarse point at an edge
 * that is not held (its interpolation extrapolates): -1 no, else the side toward the plate's
 * inside (decomp_side: the low end's inside is south or east, the high end's north or west). */
static int beyond(const struct multigrid *mg, int l, bool rows, int64_t i) {
  const struct axis_tables *t = rows ? &mg->lv[l].rows : &mg->lv[l].cols;
  const struct levels_axis *c =
      rows ? &mg->levels.level[l + 1].rows : &mg->levels.level[l + 1].cols;
  if (c->parity < 0 || t->ni[i] != 1 || i == 2 * t->ki[2 * i] + c->parity)
    return -1;
  bool low = i < 2 * t->ki[2 * i] + c->parity;
  bool held = rows ? mg->held[low ? DECOMP_NORTH : DECOMP_SOUTH]
                   : mg->held[low ? DECOMP_WEST : DECOMP_EAST];
  if (held)
    return -1;
  return rows ? (low ? DECOMP_SOUTH : DECOMP_NORTH) : (low ? DECOMP_EAST : DECOMP_WEST);
}

/* The conductance of point (i, j) of level l toward the plate's inside where it lies beyond
 * the outermost coarse point at an edge that is not held (0 elsewhere). */
static double inward(const struct multigrid *mg, int l, int64_t t, int64_t i, int64_t j,
                     const double c[DECOMP_NSIDES]) {
  const struct level *L = &mg->lv[l];
  int dr = beyond(mg, l, true, L->tiles[t].row0 + i),
      dc = beyond(mg, l, false, L->tiles[t].col0 + j);
  return (dr >= 0 ? c[dr] : 0.0) + (dc >= 0 ? c[dc] : 0.0);
}

/* Two faces in series. */
static double series(double a, double b) { return a + b > 0.0 ? a * b / (a + b) : 0.0; }

/* Quantity q of level l at every point of its tiles, into its residual buffer r (free at set-up):
 * at a point beyond the outermost coarse point its absorption is series(a, c inward). */
static void quantity(struct multigrid *mg, int l, int q) {
  struct level *L = &mg->lv[l];
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)
      for (int64_t j = 0; j < L->tiles[t].ncols; j++) {
        double c[DECOMP_NSIDES], a, in;
        bool is_free = point_faces(mg, l, t, i, j, c, &a);
        L->r[t][i * L->stride[t] + j] = q == Q_KEEP    ? (is_free ? 1.0 : 0.0)
                                        : q == Q_EAST  ? c[DECOMP_EAST]
                                        : q == Q_SOUTH ? c[DECOMP_SOUTH]
                                        : q == Q_RAW   ? a
                                        : (in = inward(mg, l, t, i, j, c)) > 0.0 ? series(a, in)
                                                                                 : a;
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

/* ---- operator-dependent interpolation ---------------------------------------------------------
 * A fine point of level l on a coarse line takes the coarse value; one between two coarse points
 * of its line takes their values weighted by its conductances toward them over its collapsed
 * diagonal (the two plus its absorption: a held neighbour or an exchange pulls it toward 0); one
 * beyond the outermost coarse point, the same with the one coarse point (c / (c + a): 1 at an
 * insulated edge); one off every coarse line, its four neighbours' interpolated values weighted
 * by its conductances over its diagonal. Across a jump the correction then bends where the
 * conductance is small, as the error does (Alcouffe, Brandt, Dendy and Painter 1981). Weights
 * are a pure function of the finer level's quantities in global indices: the fine owner (for
 * P) and the coarse owner (for P^T) compute the same bits. */

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
  double lo = rows ? qv(b, Q_SOUTH, gi - 1, gj) : qv(b, Q_EAST, gi, gj - 1);
  double hi = rows ? qv(b, Q_SOUTH, gi, gj) : qv(b, Q_EAST, gi, gj);
  double den = (lo + hi) + qv(b, Q_RAW, gi, gj);
  if (n == 2) {
    w[0] = den > 0.0 ? lo / den : 0.5;
    w[1] = den > 0.0 ? hi / den : 0.5;
  } else {
    bool toward_lo = 2 * k + c->parity < i;
    w[0] = den > 0.0 ? (toward_lo ? lo : hi) / den : 1.0;
  }
  return n;
}

/* Point (gi, gj) of level l: its weights w[2 a + b] of coarse points (rows.ki[a], cols.ki[b]). */
static void point_weights(const struct multigrid *mg, int l, const struct qbox *b, int64_t gi,
                          int64_t gj, double w[4]) {
  const struct level *F = &mg->lv[l];
  const struct levels_level *c = &mg->levels.level[l + 1];
  bool identity = c->rows.parity < 0;
  int nr = F->rows.ni[gi], nc = F->cols.ni[gj];
  bool on_r = identity || (nr == 1 && gi == 2 * F->rows.ki[2 * gi] + c->rows.parity);
  bool on_c = identity || (nc == 1 && gj == 2 * F->cols.ki[2 * gj] + c->cols.parity);
  w[0] = w[1] = w[2] = w[3] = 0.0;
  double line[2];
  if (on_r && on_c) {
    w[0] = 1.0;
    return;
  }
  if (on_r) {
    int n = line_weights(mg, l, b, false, gi, gj, line);
    for (int k = 0; k < n; k++)
      w[k] = line[k];
    return;
  }
  if (on_c) {
    int n = line_weights(mg, l, b, true, gi, gj, line);
    for (int k = 0; k < n; k++)
      w[2 * k] = line[k];
    return;
  }
  double den = qv(b, Q_RAW, gi, gj);
  for (int a = 0; a < nr; a++) { /* the neighbours on coarse rows, interpolated along them */
    int64_t fr = 2 * F->rows.ki[2 * gi + a] + c->rows.parity;
    double cond = fr < gi ? qv(b, Q_SOUTH, gi - 1, gj) : qv(b, Q_SOUTH, gi, gj);
    int n = line_weights(mg, l, b, false, fr, gj, line);
    for (int k = 0; k < n; k++)
      w[2 * a + k] += cond * line[k];
    den += cond;
  }
  for (int k = 0; k < nc; k++) { /* the neighbours on coarse columns, along them */
    int64_t fc = 2 * F->cols.ki[2 * gj + k] + c->cols.parity;
    double cond = fc < gj ? qv(b, Q_EAST, gi, gj - 1) : qv(b, Q_EAST, gi, gj);
    int n = line_weights(mg, l, b, true, gi, fc, line);
    for (int a = 0; a < n; a++)
      w[2 * a + k] += cond * line[a];
    den += cond;
  }
  for (int k = 0; k < 4; k++)
    w[k] = den > 0.0 ? w[k] / den : 1.0 / (double)(nr * nc);
}

/* Per-tile arrays laid out as level L's points (count of them, 13 at most), in one block. */
static int tile_arrays(struct level *L, int count, double **arrays[], double **storage) {
  int64_t total = 0;
  for (int64_t t = 0; t < L->ntiles; t++)
    total += L->tiles[t].nrows * L->stride[t];
  size_t n = (size_t)(L->ntiles > 0 ? L->ntiles : 1);
  *storage = malloc((size_t)(count * (total > 0 ? total : 1)) * sizeof **storage);
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

/* ---- the coarse operators, continued ----------------------------------------------------------
 */

struct coarse_ctx {
  const struct multigrid *mg;
  const struct level *L;
  struct qbox b;
  bool identity;
};

#define BOX(cx, q, r, c) qv(&(cx)->b, q, r, c)

/* Along a line, the coarse face from its two fine faces (docs/numerics.md: measured). */
static double along(double a, double b) {
  return getenv("TMP_ARITH") ? 0.25 * (a + b)
         : getenv("TMP_GEO") ? 0.5 * sqrt(a * b)
                             : series(a, b);
}

/* The coarse east face of coarse point (gi, gj) (gj + 1 < its columns), in global indices. */
static double east_face(const struct coarse_ctx *cx, int64_t gi, int64_t gj) {
  const struct level *L = cx->L;
  if (cx->identity)
    return BOX(cx, Q_EAST, gi, gj);
  int64_t cj = 2 * gj + L->shape->cols.parity;
  double sum = 0.0;
  for (int a = 0; a < L->rows.nr[gi]; a++) {
    int64_t r = L->rows.ir[3 * gi + a];
    sum += L->rows.wr[3 * gi + a] * along(BOX(cx, Q_EAST, r, cj), BOX(cx, Q_EAST, r, cj + 1));
  }
  return sum;
}

static double south_face(const struct coarse_ctx *cx, int64_t gi, int64_t gj) {
  const struct level *L = cx->L;
  if (cx->identity)
    return BOX(cx, Q_SOUTH, gi, gj);
  int64_t ci = 2 * gi + L->shape->rows.parity;
  double sum = 0.0;
  for (int b = 0; b < L->cols.nr[gj]; b++) {
    int64_t c = L->cols.ir[3 * gj + b];
    sum += L->cols.wr[3 * gj + b] * along(BOX(cx, Q_SOUTH, ci, c), BOX(cx, Q_SOUTH, ci + 1, c));
  }
  return sum;
}

static double coarse_keep(const struct coarse_ctx *cx, int64_t gi, int64_t gj) {
  if (cx->identity)
    return BOX(cx, Q_KEEP, gi, gj);
  return BOX(cx, Q_KEEP, 2 * gi + cx->L->shape->rows.parity, 2 * gj + cx->L->shape->cols.parity);
}

/* Coarse point (gi, gj)'s restriction weights rw[3 a + b] of the finer points (rows.ir[a],
 * cols.ir[b]): each one's interpolation weight of it. */
static void restriction_weights(const struct coarse_ctx *cx, int64_t gi, int64_t gj, double rw[9]) {
  const struct level *L = cx->L, *F = &cx->mg->lv[cx->L->shape - cx->mg->levels.level - 1];
  int l = (int)(L->shape - cx->mg->levels.level);
  for (int k = 0; k < 9; k++)
    rw[k] = 0.0;
  for (int a = 0; a < L->rows.nr[gi]; a++)
    for (int b = 0; b < L->cols.nr[gj]; b++) {
      int64_t fi = L->rows.ir[3 * gi + a], fj = L->cols.ir[3 * gj + b];
      double w[4];
      point_weights(cx->mg, l - 1, &cx->b, fi, fj, w);
      int aa = 0, bb = 0;
      while (aa + 1 < F->rows.ni[fi] && F->rows.ki[2 * fi + aa] != gi)
        aa++;
      while (bb + 1 < F->cols.ni[fj] && F->cols.ki[2 * fj + bb] != gj)
        bb++;
      rw[3 * a + b] = w[2 * aa + bb];
    }
}

/* P^T of the finer absorption at coarse point (gi, gj), in the restriction's order. */
static double coarse_absorption(const struct coarse_ctx *cx, int64_t gi, int64_t gj,
                                const double rw[9]) {
  const struct level *L = cx->L;
  double sum = 0.0;
  for (int a = 0; a < L->rows.nr[gi]; a++) {
    double row = 0.0;
    for (int b = 0; b < L->cols.nr[gj]; b++)
      row += rw[3 * a + b] * BOX(cx, Q_ABS, L->rows.ir[3 * gi + a], L->cols.ir[3 * gj + b]);
    sum += row;
  }
  return sum;
}

/* Level l's operator (keep, sw), its absorption (in f) and its restriction weights from the
 * boxes of level l - 1. */
static void build_level(const struct coarse_ctx *cx) {
  const struct level *L = cx->L;
  int64_t ny = L->shape->rows.n, nx = L->shape->cols.n;
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)
      for (int64_t j = 0; j < L->tiles[t].ncols; j++) {
        int64_t gi = L->tiles[t].row0 + i, gj = L->tiles[t].col0 + j, at = i * L->stride[t] + j;
        double rw[9];
        restriction_weights(cx, gi, gj, rw);
        for (int k = 0; k < 9; k++)
          L->rw[k][t][at] = rw[k];
        double keep = coarse_keep(cx, gi, gj);
        L->keep[t][at] = keep;
        if (keep == 0.0) {
          for (int d = 0; d < DECOMP_NSIDES; d++)
            L->sw[d][t][at] = 0.0;
          L->sw[SW_DIAG][t][at] = 1.0;
          L->f[t][at] = 0.0;
          continue;
        }
        double face[DECOMP_NSIDES] = {
            gi > 0 ? south_face(cx, gi - 1, gj) : 0.0, gi < ny - 1 ? south_face(cx, gi, gj) : 0.0,
            gj > 0 ? east_face(cx, gi, gj - 1) : 0.0, gj < nx - 1 ? east_face(cx, gi, gj) : 0.0};
        const bool free_nb[DECOMP_NSIDES] = {gi > 0 && coarse_keep(cx, gi - 1, gj) != 0.0,
                                             gi < ny - 1 && coarse_keep(cx, gi + 1, gj) != 0.0,
                                             gj > 0 && coarse_keep(cx, gi, gj - 1) != 0.0,
                                             gj < nx - 1 && coarse_keep(cx, gi, gj + 1) != 0.0};
        double coupled[DECOMP_NSIDES];
        for (int d = 0; d < DECOMP_NSIDES; d++)
          coupled[d] = L->sw[d][t][at] = free_nb[d] ? face[d] : 0.0;
        double absorbed = coarse_absorption(cx, gi, gj, rw) +
                          ((face[DECOMP_NORTH] - coupled[DECOMP_NORTH]) +
                           (face[DECOMP_SOUTH] - coupled[DECOMP_SOUTH])) +
                          ((face[DECOMP_WEST] - coupled[DECOMP_WEST]) +
                           (face[DECOMP_EAST] - coupled[DECOMP_EAST]));
        L->sw[SW_DIAG][t][at] = ((coupled[DECOMP_NORTH] + coupled[DECOMP_SOUTH]) +
                                 (coupled[DECOMP_WEST] + coupled[DECOMP_EAST])) +
                                absorbed;
        L->f[t][at] = absorbed;
      }
}
#undef BOX

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

/* Level l's interpolation weights (pw) from its quantities around its tiles (fetched). */
static int fine_weights(struct multigrid *mg, int l) {
  struct level *F = &mg->lv[l];
  struct fetch fy;
  struct gen_ctx own = {mg, l};
  int status =
      fetch_plan(&fy, &F->shape->layout, false, gen_own, &own, mg->team->rank, mg->team->size);
  int64_t len = 0;
  for (int64_t t = 0; status == ERR_OK && t < fy.nboxes; t++)
    len += (fy.boxes[t].r1 - fy.boxes[t].r0) * fy.boxes[t].stride;
  double *boxes = NULL;
  if (status == ERR_OK)
    status = tile_arrays(F, 4, F->pw, &F->pw_storage);
  if (status == ERR_OK &&
      (boxes = calloc((size_t)(Q_N * (len > 0 ? len : 1)), sizeof *boxes)) == NULL)
    status = err_set(ERR_FAILURE, "out of memory for the multigrid transfers");
  status = team_agree(mg->team, status);
  if (status != ERR_OK) {
    free(boxes);
    fetch_free(&fy);
    return status;
  }
  for (int q = 0; q < Q_N; q++) {
    double *dst = boxes + q * len;
    quantity(mg, l, q);
    fetch_run(&fy, F->r, F->stride, &dst, mg->comm, mg->team, mg->team->rank);
  }
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

/* Every coarse level's operator, from level 0's arrays down. Collective (the fetches); every
 * rank must have planned the levels. */
int mg_faces_coarse(struct multigrid *mg) {
  mg_faces_keep0(mg);
  for (int l = 1; l < mg->levels.n; l++) {
    struct level *L = &mg->lv[l];
    CHECK(fine_weights(mg, l - 1));
    struct fetch fx;
    struct gen_ctx here = {mg, l};
    int status = fetch_plan(&fx, &mg->lv[l - 1].shape->layout, false, gen_box, &here,
                            mg->team->rank, mg->team->size);
    struct coarse_ctx cx = {.mg = mg, .L = L, .identity = L->shape->rows.parity < 0};
    double *boxes = NULL;
    int64_t len = 0;
    if (status == ERR_OK)
      status = tile_arrays(L, 9, L->rw, &L->rw_storage);
    if (status == ERR_OK && L->ntiles > 0) {
      struct fetch_box b;
      box_of(mg, l, &L->tiles[0], &b);
      cx.b.bw = b.stride;
      cx.b.r0 = b.r0;
      cx.b.c0 = b.c0;
      len = (b.r1 - b.r0) * b.stride;
      boxes = calloc((size_t)(Q_N * len), sizeof *boxes);
      if (boxes == NULL)
        status = err_set(ERR_FAILURE, "out of memory for the multigrid coarse operators");
    }
    status = team_agree(mg->team, status);
    if (status != ERR_OK) {
      free(boxes);
      fetch_free(&fx);
      return status;
    }
    for (int q = 0; q < Q_N; q++) {
      double *dst = boxes + q * len; /* beyond the grid: 0 (no point, no face) */
      cx.b.q[q] = dst;
      quantity(mg, l - 1, q);
      fetch_run(&fx, mg->lv[l - 1].r, mg->lv[l - 1].stride, &dst, mg->comm, mg->team,
                mg->team->rank);
    }
    if (L->ntiles > 0)
      build_level(&cx);
    fetch_free(&fx);
    free(boxes);
  }
  /* the absorptions are spent: f starts each cycle as the restricted residual */
  for (int l = 1; l < mg->levels.n; l++) {
    struct level *L = &mg->lv[l];
    for (int64_t t = 0; t < L->ntiles; t++)
      for (int64_t i = 0; i < L->tiles[t].nrows; i++)
        memset(L->f[t] + i * L->stride[t], 0, (size_t)L->tiles[t].ncols * sizeof(double));
  }
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
        xr[j] += F->keep[t][at] * e; /* a held point keeps its value */
      }
    }
  }
}
