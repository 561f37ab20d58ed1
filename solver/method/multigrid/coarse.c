/* coarse.c - multigrid's coarse operators: on a general plate each coarse level's Shortley-Weller
 * weights from the real distances to the edges and to the fixed points (set up once from the finer
 * level's), and the coarsest level, solved exactly on every rank that holds it (banded LU). */
#include "solver/method/multigrid/private.h"

#include "common/err.h"
#include "common/minmax.h"

#include <stdlib.h>
#include <string.h>

/* The coarsest level's operator as a band matrix, factored (LU without pivoting: A is an
 * irreducibly diagonally dominant M-matrix). Unknowns numbered with the short side fastest, so
 * the band is as narrow as the short side. */
int mg_coarsest_factor(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  const struct levels_level *s = L->shape;
  int64_t ny = s->rows.n, nx = s->cols.n;
  L->column_major = ny <= nx;
  L->bandwidth = L->column_major ? ny : nx;
  L->unknowns = nx * ny;
  int64_t bw = L->bandwidth, width = 2 * bw + 1, n = L->unknowns;
  L->band = calloc((size_t)(n * width), sizeof *L->band);
  if (L->band == NULL)
    return err_set(ERR_FAILURE, "out of memory for the coarsest level (%lld x %lld)", (long long)nx,
                   (long long)ny);
#define BAND(u, v) L->band[(u)*width + bw + (v) - (u)]
  for (int64_t i = 0; i < ny; i++)
    for (int64_t j = 0; j < nx; j++) {
      int64_t u = L->column_major ? j * ny + i : i * nx + j;
      int64_t up = L->column_major ? 1 : nx, across = L->column_major ? ny : 1;
      /* A fixed point is an identity row (its f is 0) and a zero column of its free
       * neighbours' rows (its value is 0): every free component of the grid then touches an
       * edge or a fixed point, so A stays irreducibly diagonally dominant on each. */
      if (L->keep != NULL) { /* point by point (coarse_masks) */
        int64_t at = i * nx + j;
#define FREE(ii, jj) (L->keep[0][(ii)*nx + (jj)] != 0.0)
        if (!FREE(i, j)) {
          BAND(u, u) = 1.0;
          continue;
        }
        BAND(u, u) = L->sw[SW_DIAG][0][at];
        if (i > 0 && FREE(i - 1, j))
          BAND(u, u - up) = -L->sw[DECOMP_NORTH][0][at];
        if (i < ny - 1 && FREE(i + 1, j))
          BAND(u, u + up) = -L->sw[DECOMP_SOUTH][0][at];
        if (j > 0 && FREE(i, j - 1))
          BAND(u, u - across) = -L->sw[DECOMP_WEST][0][at];
        if (j < nx - 1 && FREE(i, j + 1))
          BAND(u, u + across) = -L->sw[DECOMP_EAST][0][at];
#undef FREE
        continue;
      }
      BAND(u, u) = L->rows.diag[i] + L->cols.diag[j];
      if (i > 0)
        BAND(u, u - up) = -L->rows.w_lo[i];
      if (i < ny - 1)
        BAND(u, u + up) = -L->rows.w_hi[i];
      if (j > 0)
        BAND(u, u - across) = -L->cols.w_lo[j];
      if (j < nx - 1)
        BAND(u, u + across) = -L->cols.w_hi[j];
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
  return ERR_OK;
}

/* x = A^-1 f on the coarsest level, on every rank alike. */
void mg_coarsest_solve(struct level *L) {
  int64_t bw = L->bandwidth, width = 2 * bw + 1, n = L->unknowns;
  int64_t ny = L->shape->rows.n, nx = L->shape->cols.n;
  double *y = L->r[0]; /* scratch of the same size */
  for (int64_t i = 0; i < ny; i++)
    for (int64_t j = 0; j < nx; j++)
      y[L->column_major ? j * ny + i : i * nx + j] = L->f[0][i * nx + j];
  for (int64_t u = 0; u < n; u++) {
    double s = y[u];
    for (int64_t k = max64(0, u - bw); k < u; k++)
      s -= BAND(u, k) * y[k];
    y[u] = s;
  }
  for (int64_t u = n - 1; u >= 0; u--) {
    double s = y[u];
    for (int64_t k = u + 1; k <= min64(n - 1, u + bw); k++)
      s -= BAND(u, k) * y[k];
    y[u] = s / BAND(u, u);
  }
  for (int64_t i = 0; i < ny; i++)
    for (int64_t j = 0; j < nx; j++)
      L->x[0][0][i * nx + j] = y[L->column_major ? j * ny + i : i * nx + j];
#undef BAND
}

/* What a tile of level l reads of the finer level to set its masks: its restriction box and
 * one point more all round (the neighbours of the points it restricts from). */
static void mask_box(const struct multigrid *mg, int l, const struct decomp_tile *t,
                     struct fetch_box *out) {
  mg_restrict_box(mg, l, t, out);
  *out = (struct fetch_box){out->r0 - 1, out->r1 + 1, out->c0 - 1,          out->c1 + 1,
                            0,           0,           out->c1 - out->c0 + 2};
}

static int64_t gen_mask(const void *ctx, int rank, struct fetch_box *out) {
  const struct gen_ctx *g = ctx;
  if (mg_tiles_of(&g->mg->levels, g->level, rank) == 0)
    return 0;
  if (out != NULL) {
    struct decomp_tile t;
    mg_tile_of(&g->mg->levels.level[g->level], rank, 0, &t);
    mask_box(g->mg, g->level, &t, out);
  }
  return 1;
}

/* Level l - 1's values over the boxes fx names (mask_box), into box: its fixed points as 1.0
 * (what == SW_DIAG), its arm toward side `what` (< SW_DIAG; level 0's are all 1), or, what ==
 * SW_N, whatever the finer level left in its residual buffer r. `beyond`: the value off the
 * grid. */
static void fetch_finer(struct multigrid *mg, int l, const struct fetch *fx, int64_t len, int what,
                        double beyond, double *box) {
  struct level *F = &mg->lv[l - 1];
  for (int64_t t = 0; what != SW_N && t < F->ntiles; t++)
    for (int64_t i = 0; i < F->tiles[t].nrows; i++)
      for (int64_t j = 0; j < F->tiles[t].ncols; j++) {
        int64_t at = i * F->stride[t] + j;
        F->r[t][at] = what == SW_DIAG ? 1.0 - F->keep[t][at] : l == 1 ? 1.0 : F->sw[what][t][at];
      }
  for (int64_t k = 0; k < len; k++)
    box[k] = beyond;
  fetch_run(fx, F->r, F->stride, &box, mg->comm, mg->team, mg->team->rank);
}

/* A coarse point's distance, in its own spacing and at most 1, to the nearest level-0 fixed
 * point along one direction of its grid line: from the finer level's, at its counterpart c
 * (arm a_c) and the finer point m half-way to the coarse neighbour (which may not exist: the
 * edge). Exact: the distances are dyadic. */
static double coarse_arm(double a_c, bool m_exists, bool m_fixed, double a_m) {
  if (a_c < 1.0)
    return a_c / 2;
  if (!m_exists)
    return 1.0;
  if (m_fixed)
    return 0.5;
  return a_m < 1.0 ? (1.0 + a_m) / 2 : 1.0;
}

/* The row sum of level l's operator at a free point over its free neighbours (free[k]: 1 or 0;
 * the edges are not free), with weights w (north, south, west, east) and diagonal d: what the
 * point loses to the fixed points and edges around it, its absorption. One order of operations
 * for the plain operator and the masked one, so their difference is exactly 0 where no fixed
 * point is near. */
static double absorption(const double w[4], double d, const double free[4]) {
  return d - ((w[0] * free[0] + w[1] * free[1]) + (w[2] * free[2] + w[3] * free[3]));
}

/* Level l's arms into Shortley-Weller weights, once no coarser level needs them; then the
 * absorption rule (coarse_masks): a free point whose row absorbs nothing more than the plain
 * operator's (no arm shortened, no fixed neighbour: this level sees no region there) adds half
 * its Galerkin absorption (in f, from coarse_masks) to its diagonal. Leaves that Galerkin
 * absorption in r (0 at a fixed point) for level l + 1, and f and x[0] zeroed. Collective (the
 * halo of level l's mask). */
static void finish_level(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  const struct levels_axis *ra = &L->shape->rows, *ca = &L->shape->cols;
  for (int64_t t = 0; t < L->ntiles; t++) {
    const struct decomp_tile *tile = &L->tiles[t];
    for (int64_t i = 0; i < tile->nrows; i++)
      for (int64_t j = 0; j < tile->ncols; j++) {
        int64_t gi = tile->row0 + i, gj = tile->col0 + j, at = i * L->stride[t] + j;
        double edge[4] = {gi == 0 ? ra->gap_lo : 1.0, gi == ra->n - 1 ? ra->gap_hi : 1.0,
                          gj == 0 ? ca->gap_lo : 1.0, gj == ca->n - 1 ? ca->gap_hi : 1.0};
        double arm[4], w[4], diag = 0.0;
        for (int k = 0; k < 4; k++) {
          double a = L->sw[k][t][at];
          arm[k] = a < edge[k] ? a : edge[k];
        }
        for (int k = 0; k < 4; k++) {
          double other = arm[k ^ 1]; /* north-south, west-east */
          w[k] = 2.0 / (arm[k] * (arm[k] + other));
        }
        diag = (w[0] + w[1]) + (w[2] + w[3]);
        bool is_fixed = L->keep[t][at] == 0.0;
        for (int k = 0; k < 4; k++) /* no coupling past a nearer fixed point, or of one */
          L->sw[k][t][at] = is_fixed || L->sw[k][t][at] < edge[k] ? 0.0 : w[k];
        L->sw[SW_DIAG][t][at] = is_fixed ? 1.0 : diag;
      }
  }
  /* the neighbours' masks: a coarse level's through its halo (in x[0], zeroed after: the
   * correction starts from 0), the coarsest's from its whole grid */
  bool whole = L->field == NULL;
  for (int64_t t = 0; !whole && t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)
      memcpy(L->x[0][t] + i * L->stride[t], L->keep[t] + i * L->stride[t],
             (size_t)L->tiles[t].ncols * sizeof(double));
  if (!whole)
    mg_exchange(mg, l, 0);
  for (int64_t t = 0; t < L->ntiles; t++) {
    const struct decomp_tile *tile = &L->tiles[t];
    int64_t s = L->stride[t];
    for (int64_t i = 0; i < tile->nrows; i++)
      for (int64_t j = 0; j < tile->ncols; j++) {
        int64_t gi = tile->row0 + i, gj = tile->col0 + j, at = i * s + j;
        if (L->keep[t][at] == 0.0) {
          L->r[t][at] = 0.0;
          continue;
        }
        const double *q = whole ? L->keep[0] + at : L->x[0][t] + at;
        int64_t up = s; /* the coarsest's stride is its width */
        double free[4] = {gi > 0 ? q[-up] : 0.0, gi < ra->n - 1 ? q[up] : 0.0, gj > 0 ? q[-1] : 0.0,
                          gj < ca->n - 1 ? q[1] : 0.0};
        double inside[4] = {gi > 0, gi<ra->n - 1, gj> 0, gj < ca->n - 1};
        double w[4] = {L->sw[0][t][at], L->sw[1][t][at], L->sw[2][t][at], L->sw[3][t][at]};
        double plain_w[4] = {L->rows.w_lo[gi], L->rows.w_hi[gi], L->cols.w_lo[gj],
                             L->cols.w_hi[gj]};
        double plain = absorption(plain_w, L->rows.diag[gi] + L->cols.diag[gj], inside);
        double excess = absorption(w, L->sw[SW_DIAG][t][at], free) - plain;
        /* a row that sees nothing of the regions takes half the Galerkin absorption */
        double galerkin = L->f[t][at];
        if (excess == 0.0)
          L->sw[SW_DIAG][t][at] += 0.5 * galerkin;
        L->r[t][at] = galerkin;
      }
  }
  /* Write after read: a node neighbour may still be loading our x[0] (halo.c); it has done so
   * once it notifies us in the next exchange, after which x[0] is ours to clear. */
  if (!whole)
    mg_exchange(mg, l, 0);
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++) {
      if (!whole)
        memset(L->x[0][t] + i * L->stride[t], 0, (size_t)L->tiles[t].ncols * sizeof(double));
      memset(L->f[t] + i * L->stride[t], 0, (size_t)L->tiles[t].ncols * sizeof(double));
    }
}

/* Every coarse level's keep and operator, from level 0's coef down (docs/numerics.md, "Sources and
 * fixed regions").
 *
 * Injection and arms. A coarse point is fixed where its finer counterpart is (coarse points are
 * finer points); its arms are the distances to the nearest fixed point of level 0 along its grid
 * lines, so the coarse operator is the Shortley-Weller one for where the regions really are (as
 * for the edges): a wall between two coarse points, or a region's side half-way, shortens the
 * arms next to it rather than vanishing or growing by a coarse spacing.
 *
 * Absorption. What no grid line of the coarse level meets (a small disk between its lines, a
 * lone point, a short wall on a line it drops) would vanish from it, and the coarse correction
 * would over-correct around it and diverge. A point's absorption is its row sum over free
 * points (what it loses to the fixed points and edges around it), in excess of the plain
 * operator's; the Galerkin operator P^T A P of the finer level would absorb P^T (the finer free
 * points' absorption), and that is carried down from level 0 (each fixed neighbour 1) level by
 * level, conserved (P's rows sum to 1). Where the Shortley-Weller row sees nothing (it absorbs
 * exactly what the plain one does), its diagonal takes half of it: the two-grid correction
 * contracts in the energy norm once the coarse operator is at least half Galerkin's, and any
 * more makes it stiffer than needed (measured: all of it slows every mask, a quarter diverges on
 * scattered points). Rows the arms already shorten are left as Shortley-Weller made them: they
 * see the region where it really is.
 *
 * The finer level's flags, arms and absorption are fetched as its residual is for the
 * restriction (so every coarse point sees its finer points' exact values on any decomposition)
 * and combined pointwise in global indices. Two scratch boxes (mg->mask_box, freed after): the
 * finer flags, and one arm or absorption at a time. Collective (the fetches); every rank must have
 * planned them. */
int mg_coarse_masks(struct multigrid *mg) {
  for (int l = 1; l < mg->levels.n; l++) {
    struct level *L = &mg->lv[l];
    struct fetch fx;
    struct gen_ctx here = {mg, l};
    int status = fetch_plan(&fx, &mg->lv[l - 1].shape->layout, false, gen_mask, &here,
                            mg->team->rank, mg->team->size);
    int64_t bw = L->restrict_cols + 2, len = (L->restrict_rows + 2) * bw;
    double *fixed = mg->mask_box, *other = mg->mask_box + len;
    if (status == ERR_OK && len * 2 > mg->mask_len)
      status = err_set(ERR_FAILURE, "multigrid: mask box too small (a bug)");
    status = team_agree(mg->team, status);
    if (status != ERR_OK) {
      fetch_free(&fx);
      return status;
    }
    const struct levels_level *finer = &mg->levels.level[l - 1];
    bool identity = L->shape->rows.parity < 0;
#define BOX(a, r, c) (a)[((r)-L->restrict_r0 + 1) * bw + ((c)-L->restrict_c0 + 1)]
/* every point of this rank's tiles: at, its offset; gi, gj its global indices; ci, cj its
 * counterpart's on the finer level */
#define EACH_POINT                                                                                 \
  for (int64_t t = 0; t < L->ntiles; t++)                                                          \
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)                                                \
      for (int64_t j = 0; j < L->tiles[t].ncols; j++)
#define POINT                                                                                      \
  int64_t gi = L->tiles[t].row0 + i, gj = L->tiles[t].col0 + j, at = i * L->stride[t] + j;         \
  int64_t ci = identity ? gi : 2 * gi + L->shape->rows.parity;                                     \
  int64_t cj = identity ? gj : 2 * gj + L->shape->cols.parity
    fetch_finer(mg, l, &fx, len, SW_DIAG, 0.0, fixed);
    EACH_POINT {
      POINT;
      bool is_fixed = BOX(fixed, ci, cj) != 0.0;
      L->keep[t][at] = is_fixed ? 0.0 : 1.0;
    }
    /* north, south, west, east: the finer neighbour toward each, and whether it exists */
    const int64_t di[4] = {-1, 1, 0, 0}, dj[4] = {0, 0, -1, 1};
    for (int k = 0; k < 4; k++) {
      fetch_finer(mg, l, &fx, len, k, 1.0, other); /* off the grid: no nearer fixed point */
      EACH_POINT {
        POINT;
        int64_t mi = ci + di[k], mj = cj + dj[k];
        bool exists = mi >= 0 && mi < finer->rows.n && mj >= 0 && mj < finer->cols.n;
        double a_c = BOX(other, ci, cj);
        L->sw[k][t][at] = identity ? a_c
                                   : coarse_arm(a_c, exists, exists && BOX(fixed, mi, mj) != 0.0,
                                                exists ? BOX(other, mi, mj) : 1.0);
      }
    }
    /* the finer level's Galerkin absorption at its free points: level 0's is its count of fixed
     * neighbours (weights 1), from the flags; a coarser one's is final now */
    if (l == 1) {
      for (int64_t r = L->restrict_r0; r < L->restrict_r0 + L->restrict_rows; r++)
        for (int64_t c = L->restrict_c0; c < L->restrict_c0 + L->restrict_cols; c++)
          BOX(other, r, c) = BOX(fixed, r, c) != 0.0
                                 ? 0.0
                                 : (BOX(fixed, r - 1, c) + BOX(fixed, r + 1, c)) +
                                       (BOX(fixed, r, c - 1) + BOX(fixed, r, c + 1));
    } else {
      finish_level(mg, l - 1);
      fetch_finer(mg, l, &fx, len, SW_N, 0.0, other);
    }
    fetch_free(&fx);
    /* P^T of it, in the restriction's weights and order (f is free until the first cycle) */
    EACH_POINT {
      int64_t gi = L->tiles[t].row0 + i, gj = L->tiles[t].col0 + j, at = i * L->stride[t] + j;
      const int64_t *rows = &L->rows.ir[3 * gi], *cols = &L->cols.ir[3 * gj];
      double sum = 0.0;
      for (int a = 0; a < L->rows.nr[gi]; a++) {
        double row = 0.0;
        for (int b = 0; b < L->cols.nr[gj]; b++)
          row += L->cols.wr[3 * gj + b] * BOX(other, rows[a], cols[b]);
        sum += L->rows.wr[3 * gi + a] * row;
      }
      L->f[t][at] = L->keep[t][at] * sum;
    }
#undef POINT
#undef EACH_POINT
#undef BOX
  }
  finish_level(mg, mg->levels.n - 1);
  return ERR_OK;
}
