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

/* One colour of a red-black Gauss-Seidel sweep of tile t, in place: the points whose global
 * (row + column) has parity `colour` take the update of their neighbours, all of the other
 * colour, so the order within the colour does not matter. */
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
    if (l == 0 && mg->faces) {
      mg_faces_update_row(mg->field, t, i, xr, u);
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

static void smooth(struct multigrid *mg, int l, int steps) {
  struct level *L = &mg->lv[l];
  if (l > 0 && mg->faces) { /* nine points: four colours (faces.c) */
    mg_faces_smooth(mg, l, steps);
    mg->work += steps * levels_fraction(&mg->levels, l);
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

/* r = f - A x of level l's current iterate (its rings filled first). */
static void residual(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  int in = current_of(mg, l);
  mg_exchange(mg, l, in);
  for (int64_t t = 0; t < L->ntiles; t++) {
    const struct decomp_tile *tile = &L->tiles[t];
    int64_t s = L->stride[t];
    for (int64_t i = 0; i < tile->nrows; i++) {
      const double *xr = L->x[in][t] + i * s;
      double *rr = L->r[t] + i * s;
      const double *kr = L->keep != NULL ? L->keep[t] + i * s : NULL;
      if (mg->faces) { /* load - A x, in watts (0 at a held point that holds) */
        if (l == 0)
          mg_faces_residual_row(mg->field, t, i, xr, rr);
        else
          mg_faces_coarse_residual_row(mg, l, t, i, xr, rr);
        continue;
      }
      if (l == 0 && kr != NULL) { /* 4 (b + avg - x) at a free point, 0 at a fixed one */
        const double *br = L->b[t] + i * s;
        for (int64_t j = 0; j < tile->ncols; j++)
          rr[j] =
              OP_GENERAL_RESIDUAL(kr[j], xr[j - s], xr[j + s], xr[j - 1], xr[j + 1], br[j], xr[j]);
        continue;
      }
      if (l == 0) {
        for (int64_t j = 0; j < tile->ncols; j++)
          rr[j] = OP_LAPLACE_RESIDUAL(xr[j - s], xr[j + s], xr[j - 1], xr[j + 1], xr[j]);
        continue;
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
        for (int64_t j = 0; j < tile->ncols; j++)
          rr[j] = kr[j] * OP_FACES_RESIDUAL(OP_FACES(cn[j], xr[j - s], cs[j], xr[j + s], cw[j],
                                                     xr[j - 1], ce[j], xr[j + 1]),
                                            fr[j], dg[j], xr[j]);
        continue;
      }
      for (int64_t j = 0; j < tile->ncols; j++)
        rr[j] = OP_FACES_RESIDUAL(
            OP_FACES(wn, xr[j - s], ws, xr[j + s], ww[j], xr[j - 1], we[j], xr[j + 1]), fr[j],
            dy + dx[j], xr[j]);
    }
  }
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

/* f of level l (> 0) = P^T of `src` (level l - 1's residual, or its right-hand side): each
 * coarse point is the sum, in row order, of its fine rows' weights times their column sums
 * (the column weights times the values, in column order). */
static void restrict_to(struct multigrid *mg, int l, double **src) {
  if (mg->faces) { /* operator-dependent (faces.c) */
    mg_faces_restrict(mg, l, src);
    mg->work += levels_fraction(&mg->levels, l - 1);
    return;
  }
  struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
  double *scratch = L->restrict_scratch;
  fetch_run(&L->restriction, src, F->stride, &scratch, mg->comm, mg->team, mg->team->rank);
  for (int64_t t = 0; t < L->ntiles; t++) {
    const struct decomp_tile *tile = &L->tiles[t];
    int64_t s = L->stride[t], w = L->restrict_cols, nc = tile->ncols;
    double *sums = L->restrict_sums; /* the column sums of the box's rows, computed once */
    for (int64_t r = 0; r < L->restrict_rows; r++) {
      const double *row = scratch + r * w - L->restrict_c0;
      double *out = sums + r * nc;
      for (int64_t j = 0; j < nc; j++) {
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

/* Level l - 1's current iterate += P (level l's current iterate): each fine point adds the sum,
 * in column order, of its column weights times the row-combined coarse values (the row weights
 * times the coarse rows, in row order). */
static void interpolate_from(struct multigrid *mg, int l) {
  if (mg->faces) { /* operator-dependent (faces.c) */
    mg_faces_interpolate(mg, l);
    mg->work += levels_fraction(&mg->levels, l - 1);
    return;
  }
  struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
  double *scratch = L->interp_scratch;
  int cur = current_of(mg, l), fine = current_of(mg, l - 1);
  fetch_run(&L->interp, L->x[cur], L->stride, &scratch, mg->comm, mg->team, mg->team->rank);
  double *combined = L->interp_row;
  for (int64_t t = 0; t < F->ntiles; t++) {
    const struct decomp_tile *tile = &F->tiles[t];
    const struct fetch_box *bx = &L->interp.boxes[t];
    int64_t s = F->stride[t], w = bx->c1 - bx->c0;
    const double *box = scratch + bx->offset;
    for (int64_t i = 0; i < tile->nrows; i++) {
      int64_t gi = tile->row0 + i;
      const int64_t *ki = &F->rows.ki[2 * gi];
      const double *rows[3] = {NULL, NULL, NULL};
      for (int a = 0; a < F->rows.ni[gi]; a++)
        rows[a] = box + (ki[a] - bx->r0) * w;
      combine_rows(combined, rows, &F->rows.wi[2 * gi], F->rows.ni[gi], w);
      const double *c = combined - bx->c0;
      double *xr = F->x[fine][t] + i * s;
      const double *kr = F->keep != NULL ? F->keep[t] + i * s : NULL;
      for (int64_t j = 0; j < tile->ncols; j++) {
        int64_t gj = tile->col0 + j;
        const int64_t *kj = &F->cols.ki[2 * gj];
        const double *wj = &F->cols.wi[2 * gj];
        double e = 0.0 + wj[0] * c[kj[0]];
        if (F->cols.ni[gj] == 2)
          e += wj[1] * c[kj[1]];
        if (kr != NULL) /* a fixed point keeps its value (its held one, or a correction's 0) */
          e = kr[j] * e;
        xr[j] += e;
      }
    }
  }
  mg->work += levels_fraction(&mg->levels, l - 1);
}

static void zero_iterate(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  set_current(mg, l, 0);
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++)
      memset(L->x[0][t] + i * L->stride[t], 0, (size_t)L->tiles[t].ncols * sizeof(double));
}

static void cycle(struct multigrid *mg, int l, enum multigrid_cycle kind);

/* The correction of level l from level l + 1: its residual restricted, solved there (exactly on
 * the coarsest level, else by cycles from zero), interpolated back and added. */
static void correct(struct multigrid *mg, int l, enum multigrid_cycle kind) {
  int c = l + 1;
  residual(mg, l);
  restrict_to(mg, c, mg->lv[l].r);
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
  interpolate_from(mg, c);
}

static void cycle(struct multigrid *mg, int l, enum multigrid_cycle kind) {
  smooth(mg, l, mg->p.pre);
  correct(mg, l, kind);
  smooth(mg, l, mg->p.post);
}

/* Full multigrid on the correction equation of the current iterate: its residual restricted to
 * every level, solved exactly on the coarsest, then on each finer level from the interpolated
 * coarser solution by one cycle, up to the fine level, which gets that correction and a cycle. */
static void fmg(struct multigrid *mg) {
  int last = mg->levels.n - 1;
  residual(mg, 0);
  restrict_to(mg, 1, mg->lv[0].r);
  for (int l = 2; l <= last; l++)
    restrict_to(mg, l, mg->lv[l - 1].f);
  mg->lv[last].current = 0;
  if (mg->lv[last].ntiles > 0)
    mg_coarsest_solve(&mg->lv[last]);
  for (int l = last - 1; l >= 1; l--) {
    zero_iterate(mg, l);
    interpolate_from(mg, l + 1);
    cycle(mg, l, mg->p.cycle);
  }
  interpolate_from(mg, 1);
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
  mg->work = 0.0;
  if (fmg_start)
    fmg(mg);
  else
    cycle(mg, 0, mg->p.cycle);
  /* the result's change, for the check: its rings first */
  struct field *f = mg->field;
  mg_exchange(mg, 0, f->current);
  double change = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    double d = mg->faces     ? faces_change(mg, t, f->current)
               : mg->general ? general_change(&mg->lv[0], t, f->current)
                             : sweep_tile_change(field_tile(f, f->current, t), f->tiles[t].nrows,
                                                 f->tiles[t].ncols, field_stride(f, t));
    change = d > change ? d : change;
  }
  mg->work += 1.0;
  return change;
}
