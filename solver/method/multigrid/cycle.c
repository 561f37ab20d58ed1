/* cycle.c - multigrid's cycles: the smoothers, the residual and the transfers of one level, and
 * the V-, W- and F-cycles and the full-multigrid start over them; see multigrid.h. */
#include "solver/method/multigrid/private.h"

#include "common/err.h"
#include "solver/kernel/operator.h"
#include "solver/kernel/sweep.h"

#include <math.h>
#include <string.h>

void multigrid_smoother_weights(enum multigrid_smoother smoother, int steps, double alpha[64],
                                double beta[64]) {
  for (int st = 1; st <= steps && st < 64; st++) {
    if (smoother != MULTIGRID_CHEBYSHEV) { /* damped Jacobi (red-black does not use them) */
      alpha[st] = 0.0;
      beta[st] = 0.8;
      continue;
    }
    double k = st - 1, rho = 2.0;
    alpha[st] = st == 1 ? 0.0 : (2 * k - 1) / (2 * k + 3);
    beta[st] = st == 1 ? 4.0 / (3.0 * rho) : (8 * k + 4) / ((2 * k + 3) * rho);
  }
}

/* ---- the pointwise operators ------------------------------------------------------------------
 * The points' arithmetic is operator.h's: level 0 has the Laplace or the general update; a
 * coarse level the Shortley-Weller one, operator.h's faces operator, with its rows' and
 * columns' weights (or, on a plate with held points, each point's). Red-black Gauss-Seidel sets the
 * points of one colour to u in place, then the other's. A Jacobi-type step s writes out = y +
 * alpha_s (x - out), y = x + beta_s (u - x), into the buffer that holds the iterate before x
 * (alpha_1 = 0: out = y): damped Jacobi (alpha 0, beta 4/5) or fourth-kind Chebyshev. The residual
 * is f + neighbours - diag x (operator.h's residuals). */

static int current_of(const struct multigrid *mg, int l) {
  const struct level *L = &mg->lv[l];
  return L->field != NULL ? L->field->current : L->current;
}

static void set_current(struct multigrid *mg, int l, int buf) {
  struct level *L = &mg->lv[l];
  if (L->field != NULL)
    L->field->current = buf;
  else
    L->current = buf;
}

/* Fill level l's rings of buffer `buf`: every level but the coarsest is a field with its halo. */
void mg_exchange(struct multigrid *mg, int l, int buf) {
  /* the cycle's first exchange of level 0 where the caller filled the rings (nothing of the
   * cycle writes level 0 before it: the first smoothing step's or the residual's) */
  bool fresh = mg->fresh[l] == buf + 1;
  mg->fresh[l] = 0;
  if (fresh)
    return;
  mg->counts.exchanges[l]++;
  if (halo_exchange(mg->lv[l].halo, buf) != ERR_OK)
    team_abort(mg->team, ERR_FAILURE);
}

static void smooth_tile(const struct multigrid *mg, int l, int64_t t, int in, double alpha,
                        double beta) {
  const struct level *L = &mg->lv[l];
  const struct decomp_tile *tile = &L->tiles[t];
  int64_t s = L->stride[t];
  const double *x = L->x[in][t];
  double *out = L->x[1 - in][t];
  bool weighted = alpha != 0.0;
  for (int64_t i = 0; i < tile->nrows; i++) {
    const double *xr = x + i * s;
    double *o = out + i * s;
    const double *kr = L->keep != NULL ? L->keep[t] + i * s : NULL;
    if (mg->faces) { /* the faces update (faces.c), weighted as below */
      double *u = mg->row;
      if (l == 0)
        mg_faces_update_row(mg->field, t, i, xr, u);
      else
        mg_faces_coarse_update_row(mg, l, t, i, xr, u);
      for (int64_t j = 0; j < tile->ncols; j++) {
        double y = xr[j] + beta * (u[j] - xr[j]);
        o[j] = weighted ? y + alpha * (xr[j] - o[j]) : y;
      }
      continue;
    }
    if (l == 0 && kr != NULL) { /* the general update: a fixed point's is its held value */
      const double *br = L->b[t] + i * s;
      for (int64_t j = 0; j < tile->ncols; j++) {
        double u = OP_GENERAL(kr[j], OP_LAPLACE(xr[j - s], xr[j + s], xr[j - 1], xr[j + 1]), br[j]);
        double y = xr[j] + beta * (u - xr[j]);
        o[j] = weighted ? y + alpha * (xr[j] - o[j]) : y;
      }
      continue;
    }
    if (l == 0) {
      for (int64_t j = 0; j < tile->ncols; j++) {
        double u = OP_LAPLACE(xr[j - s], xr[j + s], xr[j - 1], xr[j + 1]);
        double y = xr[j] + beta * (u - xr[j]);
        o[j] = weighted ? y + alpha * (xr[j] - o[j]) : y;
      }
      continue;
    }
    int64_t gi = tile->row0 + i;
    double wn = L->rows.w_lo[gi], ws = L->rows.w_hi[gi], dy = L->rows.diag[gi];
    const double *fr = L->f[t] + i * s;
    const double *ww = L->cols.w_lo + tile->col0, *we = L->cols.w_hi + tile->col0,
                 *dx = L->cols.diag + tile->col0;
    if (kr != NULL) { /* point by point (coarse_masks); a fixed point's correction stays 0 */
      const double *cn = L->sw[DECOMP_NORTH][t] + i * s, *cs = L->sw[DECOMP_SOUTH][t] + i * s,
                   *cw = L->sw[DECOMP_WEST][t] + i * s, *ce = L->sw[DECOMP_EAST][t] + i * s,
                   *dg = L->sw[SW_DIAG][t] + i * s;
      for (int64_t j = 0; j < tile->ncols; j++) {
        double u = kr[j] * OP_FACES_UPDATE(OP_FACES(cn[j], xr[j - s], cs[j], xr[j + s], cw[j],
                                                    xr[j - 1], ce[j], xr[j + 1]),
                                           fr[j], dg[j]);
        double y = xr[j] + beta * (u - xr[j]);
        o[j] = weighted ? y + alpha * (xr[j] - o[j]) : y;
      }
      continue;
    }
    for (int64_t j = 0; j < tile->ncols; j++) {
      double u = OP_FACES_UPDATE(
          OP_FACES(wn, xr[j - s], ws, xr[j + s], ww[j], xr[j - 1], we[j], xr[j + 1]), fr[j],
          dy + dx[j]);
      double y = xr[j] + beta * (u - xr[j]);
      o[j] = weighted ? y + alpha * (xr[j] - o[j]) : y;
    }
  }
}

/* One colour of a red-black Gauss-Seidel sweep of tile t of a coarse level with held points (its
 * operator point by point, coarse_masks), in place: the points whose global (row + column) has
 * parity `colour` take the update of their neighbours, all of the other colour, so the order
 * within the colour does not matter; a fixed point's correction stays 0. (Every other level
 * smooths in one pass a step: smooth_redblack_one_pass.) */
static void redblack_tile(const struct multigrid *mg, int l, int64_t t, int buf, int colour) {
  const struct level *L = &mg->lv[l];
  const struct decomp_tile *tile = &L->tiles[t];
  int64_t s = L->stride[t], nc = tile->ncols;
  /* Each row's update of every point into a scratch row first (a loop that vectorises: it only
   * reads the iterate), then the points of the colour take theirs. */
  double *u = mg->row;
  for (int64_t i = 0; i < tile->nrows; i++) {
    double *xr = L->x[buf][t] + i * s;
    int64_t gi = tile->row0 + i;
    int64_t j0 = ((colour - (gi + tile->col0)) % 2 + 2) % 2;
    const double *kr = L->keep != NULL ? L->keep[t] + i * s : NULL;
    if (l == 0 && mg->faces) { /* the colour alone, in place: half the divisions */
      mg_faces_update_colour(mg->field, t, i, xr, j0);
      continue;
    } else if (l == 0 && kr != NULL) { /* the general update: a fixed point's is its held value */
      const double *br = L->b[t] + i * s;
      for (int64_t j = 0; j < nc; j++)
        u[j] = OP_GENERAL(kr[j], OP_LAPLACE(xr[j - s], xr[j + s], xr[j - 1], xr[j + 1]), br[j]);
    } else if (l == 0) {
      for (int64_t j = 0; j < nc; j++)
        u[j] = OP_LAPLACE(xr[j - s], xr[j + s], xr[j - 1], xr[j + 1]);
    } else {
      double wn = L->rows.w_lo[gi], ws = L->rows.w_hi[gi], dy = L->rows.diag[gi];
      const double *fr = L->f[t] + i * s;
      const double *ww = L->cols.w_lo + tile->col0, *we = L->cols.w_hi + tile->col0,
                   *dx = L->cols.diag + tile->col0;
      if (kr != NULL) { /* point by point (coarse_masks); a fixed point's correction stays 0 */
        const double *cn = L->sw[DECOMP_NORTH][t] + i * s, *cs = L->sw[DECOMP_SOUTH][t] + i * s,
                     *cw = L->sw[DECOMP_WEST][t] + i * s, *ce = L->sw[DECOMP_EAST][t] + i * s,
                     *dg = L->sw[SW_DIAG][t] + i * s;
        for (int64_t j = 0; j < nc; j++)
          u[j] = kr[j] * OP_FACES_UPDATE(OP_FACES(cn[j], xr[j - s], cs[j], xr[j + s], cw[j],
                                                  xr[j - 1], ce[j], xr[j + 1]),
                                         fr[j], dg[j]);
      } else {
        for (int64_t j = 0; j < nc; j++)
          u[j] = OP_FACES_UPDATE(
              OP_FACES(wn, xr[j - s], ws, xr[j + s], ww[j], xr[j - 1], we[j], xr[j + 1]), fr[j],
              dy + dx[j]);
      }
    }
    for (int64_t j = j0; j < nc; j += 2)
      xr[j] = u[j];
  }
}

/* The sides of tile t whose ring is another tile's: their black points wait for the exchange. */
static unsigned shared_sides(const struct decomp_tile *tile) {
  static const unsigned bit[DECOMP_NSIDES] = {SWEEP_SIDE_NORTH, SWEEP_SIDE_SOUTH, SWEEP_SIDE_WEST,
                                              SWEEP_SIDE_EAST};
  unsigned sides = 0;
  for (int d = 0; d < DECOMP_NSIDES; d++)
    if (tile->nbr_rank[d] != DECOMP_BOUNDARY)
      sides |= bit[d];
  return sides;
}

/* One pass of tile t of level l (sweep_redblack), or with `sides` the deferred black points
 * (sweep_redblack_sides): level 0 with the Laplace or the general update, a coarse level with
 * the faces operator of its rows' and columns' weights. */
static double redblack_pass(const struct multigrid *mg, int l, int64_t t, int buf, bool sides,
                            bool want_change) {
  const struct level *L = &mg->lv[l];
  const struct decomp_tile *tile = &L->tiles[t];
  int64_t st = L->stride[t], corner = st + 1;
  int parity = (int)((tile->row0 + tile->col0) & 1);
  const double *coef = NULL, *rhs = NULL;
  struct sweep_axes faces, *fp = NULL;
  if (l == 0 && L->keep != NULL) {
    coef = L->keep[t] - corner;
    rhs = L->b[t] - corner;
  } else if (l > 0) {
    faces = (struct sweep_axes){L->rows.w_lo + tile->row0, L->rows.w_hi + tile->row0,
                                L->rows.diag + tile->row0, L->cols.w_lo + tile->col0,
                                L->cols.w_hi + tile->col0, L->cols.diag + tile->col0,
                                L->f[t] - corner};
    fp = &faces;
  }
  if (sides) {
    sweep_redblack_sides(L->x[buf][t] - corner, coef, rhs, fp, tile->nrows, tile->ncols, st, parity,
                         shared_sides(tile));
    return 0.0;
  }
  return sweep_redblack(L->x[buf][t] - corner, coef, rhs, fp, tile->nrows, tile->ncols, st, parity,
                        shared_sides(tile), want_change);
}

/* Red-black steps in one pass through memory a step (sweep_redblack's wavefront), on level 0
 * and on the coarse levels of a plate without held points (with them, a coarse level's
 * operator is point by point: redblack_tile's two passes): the ring filled, every tile's red
 * points and the black points away from its shared sides; then, where any tile has a shared
 * side (more than one tile in all), the rings again, for the neighbours' new red points, and
 * the black points along those sides. The same bits as a red pass and a black pass with an
 * exchange before each, on every decomposition. */
static void smooth_redblack_one_pass(struct multigrid *mg, int l, int steps) {
  struct level *L = &mg->lv[l];
  int buf = current_of(mg, l);
  bool shared = mg->team->size > 1 || L->ntiles > 1; /* the same answer on every rank */
  for (int s = 1; s <= steps; s++) {
    mg_exchange(mg, l, buf);
    /* the cycle's last step on one tile: its result's change in the same pass */
    bool measure = l == 0 && mg->measure && s == steps && !shared;
    for (int64_t t = 0; t < L->ntiles; t++) {
      double change = redblack_pass(mg, l, t, buf, false, measure);
      mg->change = measure && change > mg->change ? change : mg->change;
    }
    mg->change_measured = mg->change_measured || measure;
    if (!shared)
      continue;
    mg_exchange(mg, l, buf);
    for (int64_t t = 0; t < L->ntiles; t++)
      redblack_pass(mg, l, t, buf, true, false);
  }
  mg->work += steps * levels_fraction(&mg->levels, l);
}

static void smooth(struct multigrid *mg, int l, int steps) {
  struct level *L = &mg->lv[l];
  if (l > 0 && mg->faces) { /* nine points: four colours (faces.c) */
    mg_faces_smooth(mg, l, steps);
    mg->work += steps * levels_fraction(&mg->levels, l);
    return;
  }
  /* level 0 of a faces plate: redblack_tile's two passes from the field's arrays */
  if (mg->p.smoother == MULTIGRID_REDBLACK && !mg->faces && (l == 0 || L->keep == NULL)) {
    smooth_redblack_one_pass(mg, l, steps);
    return;
  }
  if (mg->p.smoother == MULTIGRID_REDBLACK) {
    for (int s = 1; s <= steps; s++)
      for (int colour = 0; colour < 2; colour++) {
        int buf = current_of(mg, l);
        mg_exchange(mg, l, buf);
        for (int64_t t = 0; t < L->ntiles; t++)
          redblack_tile(mg, l, t, buf, colour);
      }
    mg->work += steps * levels_fraction(&mg->levels, l);
    return;
  }
  for (int s = 1; s <= steps; s++) {
    int in = current_of(mg, l);
    mg_exchange(mg, l, in);
    for (int64_t t = 0; t < L->ntiles; t++)
      smooth_tile(mg, l, t, in, mg->alpha[s], mg->beta[s]);
    set_current(mg, l, 1 - in);
  }
  mg->work += steps * levels_fraction(&mg->levels, l);
}

/* Row i of tile t of level l's residual r = f - A x of buffer `in` (its rings filled), columns
 * [j0, j1) into rr[j0 .. j1) (the faces operator's whole row: faces.c). residual() stores it;
 * restrict_residual() restricts it as it goes, from the same expressions, so the same bits. */
static void residual_row(const struct multigrid *mg, int l, int64_t t, int in, int64_t i,
                         int64_t j0, int64_t j1, double *rr) {
  const struct level *L = &mg->lv[l];
  const struct decomp_tile *tile = &L->tiles[t];
  int64_t s = L->stride[t];
  const double *xr = L->x[in][t] + i * s;
  const double *kr = L->keep != NULL ? L->keep[t] + i * s : NULL;
  if (mg->faces) { /* load - A x, in watts (0 at a held point that holds) */
    if (l == 0)
      mg_faces_residual_row(mg->field, t, i, xr, rr);
    else
      mg_faces_coarse_residual_row(mg, l, t, i, xr, rr);
    return;
  }
  if (l == 0 && kr != NULL) { /* 4 (b + avg - x) at a free point, 0 at a fixed one */
    const double *br = L->b[t] + i * s;
    for (int64_t j = j0; j < j1; j++)
      rr[j] = OP_GENERAL_RESIDUAL(kr[j], xr[j - s], xr[j + s], xr[j - 1], xr[j + 1], br[j], xr[j]);
    return;
  }
  if (l == 0) {
    for (int64_t j = j0; j < j1; j++)
      rr[j] = OP_LAPLACE_RESIDUAL(xr[j - s], xr[j + s], xr[j - 1], xr[j + 1], xr[j]);
    return;
  }
  int64_t gi = tile->row0 + i;
  double wn = L->rows.w_lo[gi], ws = L->rows.w_hi[gi], dy = L->rows.diag[gi];
  const double *fr = L->f[t] + i * s;
  const double *ww = L->cols.w_lo + tile->col0, *we = L->cols.w_hi + tile->col0,
               *dx = L->cols.diag + tile->col0;
  if (kr != NULL) { /* point by point (coarse_masks); 0 at a fixed point */
    const double *cn = L->sw[DECOMP_NORTH][t] + i * s, *cs = L->sw[DECOMP_SOUTH][t] + i * s,
                 *cw = L->sw[DECOMP_WEST][t] + i * s, *ce = L->sw[DECOMP_EAST][t] + i * s,
                 *dg = L->sw[SW_DIAG][t] + i * s;
    for (int64_t j = j0; j < j1; j++)
      rr[j] = kr[j] * OP_FACES_RESIDUAL(OP_FACES(cn[j], xr[j - s], cs[j], xr[j + s], cw[j],
                                                 xr[j - 1], ce[j], xr[j + 1]),
                                        fr[j], dg[j], xr[j]);
    return;
  }
  for (int64_t j = j0; j < j1; j++)
    rr[j] = OP_FACES_RESIDUAL(
        OP_FACES(wn, xr[j - s], ws, xr[j + s], ww[j], xr[j - 1], we[j], xr[j + 1]), fr[j],
        dy + dx[j], xr[j]);
}

/* r = f - A x of level l's current iterate (its rings filled first). */
static void residual(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  int in = current_of(mg, l);
  mg_exchange(mg, l, in);
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)
      residual_row(mg, l, t, in, i, 0, L->tiles[t].ncols, L->r[t] + i * L->stride[t]);
  mg->work += levels_fraction(&mg->levels, l);
}

/* f of level l (> 0) = P^T of `src` (level l - 1's residual, or its right-hand side). */
/* The first pass of a transfer: out[k] = sum over t < n of w[t] rows[t][k], k < len, from 0 in
 * that order (one order for every rank: the transfers are defined by it). */
static void combine_rows(double *restrict out, const double *const rows[3], const double w[3],
                         int n, int64_t len) {
  for (int64_t k = 0; k < len; k++)
    out[k] = 0.0 + w[0] * rows[0][k];
  for (int t = 1; t < n; t++)
    for (int64_t k = 0; k < len; k++)
      out[k] += w[t] * rows[t][k];
}

/* The columns [*a, *b) of a tile (local, from col0, nc of them) whose restriction has three
 * terms at consecutive finer columns, two further on a column, with the first one's weights:
 * the uniform interior, restricted without reading the tables (the same terms in the same
 * order, so the same bits); empty where there is none. */
static void uniform_restriction(const struct axis_tables *t, int64_t col0, int64_t nc, int64_t *a,
                                int64_t *b) {
  int64_t j = 0;
  while (j < nc && t->nr[col0 + j] != 3)
    j++;
  *a = *b = j;
  if (j == nc)
    return;
  const int64_t *i0 = &t->ir[3 * (col0 + j)];
  const double *w0 = &t->wr[3 * (col0 + j)];
  for (int64_t k = j; k < nc; k++) {
    const int64_t *ik = &t->ir[3 * (col0 + k)];
    const double *wk = &t->wr[3 * (col0 + k)];
    int64_t step = 2 * (k - j);
    if (t->nr[col0 + k] != 3 || ik[0] != i0[0] + step || ik[1] != i0[0] + step + 1 ||
        ik[2] != i0[0] + step + 2 || wk[0] != w0[0] || wk[1] != w0[1] || wk[2] != w0[2])
      break;
    *b = k + 1;
  }
}

/* f of level l (> 0) = P^T of `src` (level l - 1's residual, or its right-hand side): each
 * coarse point is the sum, in row order, of its fine rows' weights times their column sums
 * (the column weights times the values, in column order). */
static void restrict_rows(struct multigrid *mg, int l, const double *scratch, int64_t fine_tile,
                          int fine_in);

static void restrict_to(struct multigrid *mg, int l, double **src) {
  if (mg->faces) { /* operator-dependent (faces.c) */
    mg_faces_restrict(mg, l, src);
    mg->work += levels_fraction(&mg->levels, l - 1);
    return;
  }
  struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
  double *scratch = L->restrict_scratch;
  fetch_run(&L->restriction, src, F->stride, &scratch, mg->comm, mg->team, mg->team->rank);
  restrict_rows(mg, l, scratch, -1, 0);
}

/* The tile of level l - 1 on this rank that holds every point level l's tile restricts, where
 * no other rank takes part in the restriction's fetch of this rank (it sends and receives
 * nothing), else -1: restrict_residual computes the residual there itself. The same answer
 * every cycle; not the same on every rank, which needs no agreement (the bits are the same). */
static int64_t restrict_source_tile(const struct multigrid *mg, int l) {
  const struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
  if (mg->faces || mg->restrict_apart || L->ntiles != 1 || L->restriction.nsend > 0 ||
      L->restriction.nrecv > 0)
    return -1;
  for (int64_t t = 0; t < F->ntiles; t++) {
    const struct decomp_tile *ft = &F->tiles[t];
    if (ft->row0 <= L->restrict_r0 && L->restrict_r0 + L->restrict_rows <= ft->row0 + ft->nrows &&
        ft->col0 <= L->restrict_c0 && L->restrict_c0 + L->restrict_cols <= ft->col0 + ft->ncols)
      return t;
  }
  return -1;
}

/* f of level l (> 0) = P^T (level l - 1's residual): the residual then its restriction, or in
 * one pass where this rank's tile restricts points of one tile of its own
 * (restrict_source_tile): each fine row's residual into a scratch row, restricted at once
 * (no stored residual, no copy of it), from the same expressions in the same order: the same
 * bits. Counted as the two passes it replaces, so that the work is the same on every
 * decomposition. */
static void restrict_residual(struct multigrid *mg, int l) {
  int64_t ft = restrict_source_tile(mg, l);
  if (ft < 0) {
    residual(mg, l - 1);
    restrict_to(mg, l, mg->lv[l - 1].r);
    return;
  }
  int in = current_of(mg, l - 1);
  mg_exchange(mg, l - 1, in);
  restrict_rows(mg, l, NULL, ft, in);
  mg->counts.fused_restrictions++;
  mg->work += levels_fraction(&mg->levels, l - 1); /* the residual's */
}

/* restrict_to's sums and rows: the box's rows from `scratch` (the fetched residual, rows of
 * restrict_cols), or, with scratch NULL, each computed from level l - 1's tile fine_tile of
 * buffer fine_in (its rings filled) into the scratch row. */
static void restrict_rows(struct multigrid *mg, int l, const double *scratch, int64_t fine_tile,
                          int fine_in) {
  struct level *L = &mg->lv[l];
  const struct decomp_tile *ftile = fine_tile >= 0 ? &mg->lv[l - 1].tiles[fine_tile] : NULL;
  for (int64_t t = 0; t < L->ntiles; t++) {
    const struct decomp_tile *tile = &L->tiles[t];
    int64_t s = L->stride[t], w = L->restrict_cols, nc = tile->ncols;
    double *sums = L->restrict_sums; /* the column sums of the box's rows, computed once */
    int64_t ua, ub;
    uniform_restriction(&L->cols, tile->col0, nc, &ua, &ub);
    const int64_t *ju = &L->cols.ir[3 * (tile->col0 + ua)];
    const double *wu = &L->cols.wr[3 * (tile->col0 + ua)];
    for (int64_t r = 0; r < L->restrict_rows; r++) {
      const double *row;
      if (scratch != NULL) {
        row = scratch + r * w - L->restrict_c0;
      } else { /* fine row restrict_r0 + r, columns from restrict_c0, into mg->row */
        int64_t j0 = L->restrict_c0 - ftile->col0;
        residual_row(mg, l - 1, fine_tile, fine_in, L->restrict_r0 + r - ftile->row0, j0, j0 + w,
                     mg->row - j0);
        row = mg->row - L->restrict_c0;
      }
      double *out = sums + r * nc;
      for (int64_t j = 0; j < nc; j++) {
        if (j == ua && ua < ub) { /* the tables' own terms and order, without the tables */
          const double *at = row + ju[0];
          for (int64_t k = 0; k < ub - ua; k++, at += 2)
            out[ua + k] = ((0.0 + wu[0] * at[0]) + wu[1] * at[1]) + wu[2] * at[2];
          j = ub - 1;
          continue;
        }
        int64_t gj = tile->col0 + j;
        const int64_t *jj = &L->cols.ir[3 * gj];
        const double *wj = &L->cols.wr[3 * gj];
        double sum = 0.0;
        for (int b = 0; b < L->cols.nr[gj]; b++)
          sum += wj[b] * row[jj[b]];
        out[j] = sum;
      }
    }
    for (int64_t i = 0; i < tile->nrows; i++) {
      int64_t gi = tile->row0 + i;
      const int64_t *ii = &L->rows.ir[3 * gi];
      const double *rows[3];
      for (int a = 0; a < L->rows.nr[gi]; a++)
        rows[a] = sums + (ii[a] - L->restrict_r0) * nc;
      combine_rows(L->f[t] + i * s, rows, &L->rows.wr[3 * gi], L->rows.nr[gi], nc);
      if (L->keep != NULL) { /* 0 at a fixed point: the coarsest's identity rows, FMG's chain */
        double *fr = L->f[t] + i * s;
        const double *kr = L->keep[t] + i * s;
        for (int64_t j = 0; j < nc; j++)
          fr[j] = kr[j] * fr[j];
      }
    }
  }
  mg->work += levels_fraction(&mg->levels, l - 1);
}

/* Fine column k of a uniform run (interpolate_from): at coarse column kc (weight w1), or
 * between kc and kc + 1 (weights wh); interpolate_from's terms in its order: the columns', the
 * edge row's share, the held points' mask, then added. */
static inline void interp_finish(double *x, const double *keep, const double *ring, bool row_edge,
                                 double wr, int64_t k, double e) {
  if (row_edge)
    e += (1.0 - wr) * (ring[k] - x[k]);
  if (keep != NULL)
    e = keep[k] * e;
  x[k] += e;
}

static inline void interp_at(double *x, const double *keep, const double *ring, const double *c,
                             int64_t kc, double w1, bool row_edge, double wr, int64_t k) {
  interp_finish(x, keep, ring, row_edge, wr, k, 0.0 + w1 * c[kc]);
}

static inline void interp_between(double *x, const double *keep, const double *ring,
                                  const double *c, int64_t kc, double wh, bool row_edge, double wr,
                                  int64_t k) {
  interp_finish(x, keep, ring, row_edge, wr, k, (0.0 + wh * c[kc]) + wh * c[kc + 1]);
}

/* x[0 .. n) += the uniform run's interpolation of the combined coarse row c (interpolate_from):
 * column k at coarse column k0 + (k + phase) / 2 where k + phase is even (weight w1), else
 * between it and the next (wh each); interp_at's and interp_between's terms in their order
 * without a mask or an edge, so the same bits; the terms first into e (n of them), in two
 * loops the compiler vectorises, then added. */
static void interp_uniform_row(double *restrict x, const double *restrict c, int64_t k0,
                               int64_t phase, int64_t n, double w1, double wh, double *restrict e) {
  int64_t k = 0;
  if (phase == 1) {
    e[0] = (0.0 + wh * c[k0]) + wh * c[k0 + 1];
    k = 1;
  }
  int64_t pairs = (n - k) / 2;
  const double *cc = c + k0 + ((k + phase) >> 1);
  double *ee = e + k;
  for (int64_t q = 0; q < pairs; q++) {
    ee[2 * q] = 0.0 + w1 * cc[q];
    ee[2 * q + 1] = (0.0 + wh * cc[q]) + wh * cc[q + 1];
  }
  k += 2 * pairs;
  if (k < n)
    e[k] = 0.0 + w1 * c[k0 + ((k + phase) >> 1)];
  for (k = 0; k < n; k++)
    x[k] += e[k];
}

/* The columns [*a, *b) of a tile (local) whose interpolation alternates, from coarse column k0
 * on, between one term of weight 1 at a coarse column and two of weight 1/2 between two: the
 * uniform interior, interpolated without reading the tables (the same terms in the same order,
 * so the same bits); empty where there is none (fewer than 4 columns). */
static void uniform_interpolation(const struct axis_tables *t, int64_t col0, int64_t nc, int64_t *a,
                                  int64_t *b) {
  *a = *b = 0;
  int64_t j = 0;
  while (j < nc && !(t->ni[col0 + j] == 2 && t->wi[2 * (col0 + j)] == 0.5 &&
                     t->wi[2 * (col0 + j) + 1] == 0.5))
    j++;
  if (j + 1 >= nc || t->ni[col0 + j + 1] != 1 || t->wi[2 * (col0 + j + 1)] != 1.0)
    return;
  int64_t k0 = t->ki[2 * (col0 + j)], end = j;
  for (int64_t k = j; k < nc; k++) {
    int64_t g = col0 + k, at = k - j + 1, kc = k0 + (at >> 1);
    bool ok = (at & 1) == 0 ? t->ni[g] == 1 && t->ki[2 * g] == kc && t->wi[2 * g] == 1.0
                            : t->ni[g] == 2 && t->ki[2 * g] == kc && t->ki[2 * g + 1] == kc + 1 &&
                                  t->wi[2 * g] == 0.5 && t->wi[2 * g + 1] == 0.5;
    if (!ok)
      break;
    end = k + 1;
  }
  if (end - j >= 4) {
    *a = j;
    *b = end;
  }
}

/* Whether the coarse values level l - 1's tiles interpolate lie in level l's one tile on this
 * rank, with no other rank taking part in this rank's fetch (1 rank; a level whose transfers
 * stay on its rank): interpolate_from then reads them where they are, without the fetch's copy
 * (the same values: the same bits). Not with multigrid_restrict_apart (the tests). */
static bool interp_in_place(const struct multigrid *mg, int l) {
  const struct level *L = &mg->lv[l];
  if (mg->restrict_apart || L->ntiles != 1 || L->interp.nsend > 0 || L->interp.nrecv > 0)
    return false;
  const struct decomp_tile *ct = &L->tiles[0];
  for (int64_t t = 0; t < mg->lv[l - 1].ntiles; t++) {
    const struct fetch_box *bx = &L->interp.boxes[t];
    if (bx->r0 < ct->row0 || bx->r1 > ct->row0 + ct->nrows || bx->c0 < ct->col0 ||
        bx->c1 > ct->col0 + ct->ncols)
      return false;
  }
  return true;
}

/* Level l - 1's current iterate += P (level l's current iterate): each fine point adds the sum,
 * in column order, of its column weights times the row-combined coarse values (the row weights
 * times the coarse rows, in row order). */
static void interpolate_from(struct multigrid *mg, int l, bool extrapolate) {
  mg->fresh[l - 1] = 0; /* written below: its rings go stale */
  if (mg->faces) {      /* operator-dependent (faces.c) */
    mg_faces_interpolate(mg, l);
    mg->work += levels_fraction(&mg->levels, l - 1);
    return;
  }
  struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
  double *scratch = L->interp_scratch;
  int cur = current_of(mg, l), fine = current_of(mg, l - 1);
  bool direct = interp_in_place(mg, l);
  mg->counts.interpolations_in_place += direct;
  if (!direct)
    fetch_run(&L->interp, L->x[cur], L->stride, &scratch, mg->comm, mg->team, mg->team->rank);
  double *combined = L->interp_row;
  static const double one = 1.0;
  /* FMG onto level 0: the iterate is the run's field, whose ring holds the edge temperatures,
   * so the correction toward an edge interpolates to (edge - iterate) there, the solution form */
  bool toward_edges = extrapolate && l == 1 && mg->lv[1].shape->rows.parity >= 0;
  for (int64_t t = 0; t < F->ntiles; t++) {
    const struct decomp_tile *tile = &F->tiles[t];
    const struct fetch_box *bx = &L->interp.boxes[t];
    int64_t s = F->stride[t], w = bx->c1 - bx->c0, box_stride = w;
    const double *box = scratch + bx->offset;
    if (direct) { /* the box read where it lies, in the coarse tile */
      box_stride = L->stride[0];
      box = L->x[cur][0] + (bx->r0 - L->tiles[0].row0) * box_stride + (bx->c0 - L->tiles[0].col0);
    }
    int64_t ua, ub, k0 = 0, phase = 0;
    double uw1 = 1.0, uwh = 0.5;
    uniform_interpolation(&F->cols, tile->col0, tile->ncols, &ua, &ub);
    if (ua < ub) {
      const int64_t g = tile->col0 + ua;
      phase = F->cols.ni[g] == 2;
      k0 = F->cols.ki[2 * g];
      uw1 = F->cols.wi[2 * (g + phase)];
      uwh = F->cols.wi[2 * (g + 1 - phase)];
    }
    for (int64_t i = 0; i < tile->nrows; i++) {
      int64_t gi = tile->row0 + i;
      const int64_t *ki = &F->rows.ki[2 * gi];
      const double *rows[3] = {NULL, NULL, NULL};
      for (int a = 0; a < F->rows.ni[gi]; a++)
        rows[a] = box + (ki[a] - bx->r0) * box_stride;
      const double *wr = &F->rows.wi[2 * gi];
      if (extrapolate && !toward_edges && F->rows.ni[gi] == 1)
        wr = &one;
      combine_rows(combined, rows, wr, F->rows.ni[gi], w);
      const double *c = combined - bx->c0;
      double *xr = F->x[fine][t] + i * s;
      const double *kr = F->keep != NULL ? F->keep[t] + i * s : NULL;
      /* toward_edges: a row next to the top or bottom edge (one term, weight below 1) takes the
       * rest of its weight from the edge: the ring row beside it */
      bool row_edge = toward_edges && F->rows.ni[gi] == 1 && wr[0] != 1.0;
      const double *ring_row = gi == 0 ? xr - s : xr + s;
      for (int64_t j = 0; j < tile->ncols; j++) {
        if (j == ua && ua < ub) { /* the tables' own terms and order, without the tables */
          double *xu = xr + ua;
          const double *ku = kr != NULL ? kr + ua : NULL, *ru = ring_row + ua;
          int64_t n = ub - ua, k = 0;
          if (ku == NULL && !row_edge) { /* no mask, no edge: loops that vectorise */
            interp_uniform_row(xu, c, k0, phase, n, uw1, uwh, mg->row);
            j = ub - 1;
            continue;
          }
          /* column ua + k is a coarse column's where k + phase is even, else between two */
          if (phase == 1)
            interp_between(xu, ku, ru, c, k0, uwh, row_edge, wr[0], k++);
          for (; k + 1 < n; k += 2) {
            int64_t kc = k0 + ((k + phase) >> 1);
            interp_at(xu, ku, ru, c, kc, uw1, row_edge, wr[0], k);
            interp_between(xu, ku, ru, c, kc, uwh, row_edge, wr[0], k + 1);
          }
          if (k < n)
            interp_at(xu, ku, ru, c, k0 + ((k + phase) >> 1), uw1, row_edge, wr[0], k);
          j = ub - 1;
          continue;
        }
        int64_t gj = tile->col0 + j;
        const int64_t *kj = &F->cols.ki[2 * gj];
        const double *wj = &F->cols.wi[2 * gj];
        bool col_edge = toward_edges && F->cols.ni[gj] == 1 && wj[0] != 1.0;
        double e =
            0.0 + (extrapolate && !toward_edges && F->cols.ni[gj] == 1 ? 1.0 : wj[0]) * c[kj[0]];
        if (F->cols.ni[gj] == 2)
          e += wj[1] * c[kj[1]];
        if (col_edge) /* the ring column beside it, less the iterate: the correction there */
          e += (wr[0] * (1.0 - wj[0])) * ((gj == 0 ? xr[j - 1] : xr[j + 1]) - xr[j]);
        if (row_edge)
          e += (1.0 - wr[0]) * (ring_row[j] - xr[j]);
        if (kr != NULL) /* a fixed point keeps its value (its held one, or a correction's 0) */
          e = kr[j] * e;
        xr[j] += e;
      }
    }
  }
  mg->work += levels_fraction(&mg->levels, l - 1);
}

/* Level l's iterate 0 (buffer 0). Without the faces operator (whose coarse rings are two deep)
 * its one-deep rings too: every tile's neighbours are 0 as well, and the edges' ring is 0 (the
 * correction's), so the rings are what an exchange would bring and the next one is skipped
 * (every rank the same): one exchange fewer a coarse level's visit, for the coarse levels'
 * latency. */
static void zero_iterate(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  set_current(mg, l, 0);
  bool rings = !mg->faces;
  int64_t from = rings ? -1 : 0;
  for (int64_t t = 0; t < L->ntiles; t++) {
    const struct decomp_tile *tile = &L->tiles[t];
    for (int64_t i = from; i < tile->nrows - from; i++)
      memset(L->x[0][t] + i * L->stride[t] + from, 0,
             (size_t)(tile->ncols - 2 * from) * sizeof(double));
  }
  mg->fresh[l] = rings ? 1 : 0;
}

static void cycle(struct multigrid *mg, int l, enum multigrid_cycle kind);

/* The correction of level l from level l + 1: its residual restricted, solved there (exactly on
 * the coarsest level, else by cycles from zero), interpolated back and added. */
static void correct(struct multigrid *mg, int l, enum multigrid_cycle kind) {
  int c = l + 1;
  restrict_residual(mg, c);
  if (mg->lv[c].shape->replicated) {
    mg->lv[c].current = 0;
    if (mg->lv[c].ntiles > 0)
      mg_coarsest_solve(&mg->lv[c]);
  } else {
    zero_iterate(mg, c);
    cycle(mg, c, kind);
    if (kind == MULTIGRID_W)
      cycle(mg, c, MULTIGRID_W);
    else if (kind == MULTIGRID_F)
      cycle(mg, c, MULTIGRID_V);
  }
  interpolate_from(mg, c, false);
}

static void cycle(struct multigrid *mg, int l, enum multigrid_cycle kind) {
  smooth(mg, l, mg->p.pre);
  correct(mg, l, kind);
  mg->measure = l == 0; /* the fine level's last smoothing: the cycle's result */
  smooth(mg, l, mg->p.post);
  mg->measure = false;
}

/* Full multigrid on the correction equation of the current iterate: its residual restricted to
 * every level, solved exactly on the coarsest, then on each finer level from the interpolated
 * coarser solution by one cycle, up to the fine level, which gets that correction and a cycle. */
static void fmg(struct multigrid *mg) {
  int last = mg->levels.n - 1;
  restrict_residual(mg, 1);
  for (int l = 2; l <= last; l++)
    restrict_to(mg, l, mg->lv[l - 1].f);
  mg->lv[last].current = 0;
  if (mg->lv[last].ntiles > 0)
    mg_coarsest_solve(&mg->lv[last]);
  for (int l = last - 1; l >= 1; l--) {
    zero_iterate(mg, l);
    interpolate_from(mg, l + 1, true);
    cycle(mg, l, mg->p.cycle);
  }
  interpolate_from(mg, 1, true);
  cycle(mg, 0, mg->p.cycle);
}

/* max |u - x| over level 0's tile t of buffer buf, u the general update (field.h): the sweep
 * change of a general plate's iterate (0 at a fixed point, which holds its value). */
static double general_change(const struct level *L, int64_t t, int buf) {
  const struct decomp_tile *tile = &L->tiles[t];
  int64_t s = L->stride[t];
  double change = 0.0;
  for (int64_t i = 0; i < tile->nrows; i++) {
    const double *xr = L->x[buf][t] + i * s, *kr = L->keep[t] + i * s, *br = L->b[t] + i * s;
    for (int64_t j = 0; j < tile->ncols; j++) {
      double u = OP_GENERAL(kr[j], OP_LAPLACE(xr[j - s], xr[j + s], xr[j - 1], xr[j + 1]), br[j]);
      double d = fabs(u - xr[j]);
      change = d > change ? d : change;
    }
  }
  return change;
}

/* The same for a faces plate: u its update (faces.c; a held point's is its held value). */
static double faces_change(const struct multigrid *mg, int64_t t, int buf) {
  const struct level *L = &mg->lv[0];
  const struct decomp_tile *tile = &L->tiles[t];
  int64_t s = L->stride[t];
  double change = 0.0, *u = mg->row;
  for (int64_t i = 0; i < tile->nrows; i++) {
    const double *xr = L->x[buf][t] + i * s;
    mg_faces_update_row(mg->field, t, i, xr, u);
    for (int64_t j = 0; j < tile->ncols; j++) {
      double d = fabs(u[j] - xr[j]);
      change = d > change ? d : change;
    }
  }
  return change;
}

double multigrid_cycle(struct multigrid *mg, bool fmg_start) {
  return multigrid_cycle_lean(mg, fmg_start, false);
}

const struct multigrid_counts *multigrid_counts(const struct multigrid *mg) { return &mg->counts; }

void multigrid_restrict_apart(struct multigrid *mg, bool apart) { mg->restrict_apart = apart; }

double multigrid_cycle_lean(struct multigrid *mg, bool fmg_start, bool rings_filled) {
  bool lean = rings_filled;
  memset(mg->fresh, 0, sizeof mg->fresh);
  mg->fresh[0] = rings_filled ? 1 + mg->field->current : 0;
  memset(&mg->counts, 0, sizeof mg->counts);
  mg->work = 0.0;
  mg->change = 0.0;
  mg->change_measured = false;
  if (fmg_start)
    fmg(mg);
  else
    cycle(mg, 0, mg->p.cycle);
  /* the result's change, for the check: its rings first; measured already where the last
   * smoothing step ran on one tile (smooth_redblack_one_pass). Counted as a unit of work either
   * way, so that the figure is the same on every decomposition. */
  struct field *f = mg->field;
  mg->fresh[0] = 0;
  mg->work += 1.0;
  if (mg->change_measured && lean)
    return mg->change;
  mg_exchange(mg, 0, f->current);
  if (mg->change_measured)
    return mg->change;
  double change = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    double d = mg->faces     ? faces_change(mg, t, f->current)
               : mg->general ? general_change(&mg->lv[0], t, f->current)
                             : sweep_tile_change(field_tile(f, f->current, t), f->tiles[t].nrows,
                                                 f->tiles[t].ncols, field_stride(f, t));
    change = d > change ? d : change;
  }
  return change;
}
