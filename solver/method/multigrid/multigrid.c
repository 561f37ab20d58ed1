/* multigrid.c - geometric multigrid cycles over the distributed field; see multigrid.h.
 *
 * Storage. Level 0 is the run's field (its two buffers, its halo plan) and a residual buffer
 * laid out as its tiles. A coarser level that is not the coarsest is a field of its own (field.h:
 * two iterates in shared windows, one tile per active rank, edges held at 0, the correction's)
 * with its own halo plan (halo.h), and a right-hand side and a residual laid out as its tiles.
 * The coarsest level is held whole by each rank of the level above: its right-hand side, its
 * solution and its banded LU factors.
 *
 * Fetches. The transfers between levels cross ranks as fetches (runtime/fetch.h): each level
 * names the boxes of the level it reads, planned once from the layouts.
 */
#include "solver/method/multigrid/multigrid.h"

#include "common/err.h"
#include "common/minmax.h"
#include "runtime/fetch.h"
#include "solver/bound/estimate.h"
#include "solver/kernel/operator.h"
#include "solver/kernel/sweep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- levels -----------------------------------------------------------------------------------
 */

/* One direction's tables of a level: the operator's weights at each point, and the transfers
 * to the next coarser level (restriction, per coarse point) and from it (interpolation, per
 * point of this level). */
struct axis_tables {
  double *w_lo, *w_hi, *diag; /* n each */
  int *ni;                    /* interpolation from the coarser level: terms, k, w (2 each) */
  int64_t *ki;
  double *wi;
  int *nr; /* restriction onto this level from the finer one: terms, i, w (3 each) */
  int64_t *ir;
  double *wr;
};

enum { SW_N = 5, SW_DIAG = 4 }; /* sw[]: north, south, west, east (decomp_side's order), diag */

struct level {
  const struct levels_level *shape;
  int64_t ntiles;
  struct decomp_tile *tiles;
  int64_t *stride;         /* per tile */
  double **x[2], **f, **r; /* per tile: interior point (0, 0); f NULL on level 0 (no source) */
  double *storage;         /* f and r (level 0: r), laid out as the field's tiles */
  /* A general plate's (field_general): keep is 1 at a free point and 0 at a fixed one (level
   * 0: the field's coef; a coarser level: its mask, coarse_mask), b level 0's right-hand side
   * (the field's rhs). NULL for a Laplace plate, whose operators are the plain ones. */
  double **keep, **b;
  /* A general plate's coarser level: its operator point by point, the Shortley-Weller one for
   * the real distances to the edges and to the fixed points (coarse_masks): the weights of the
   * north, south, west and east neighbours (0 where a fixed point lies nearer) and the
   * diagonal. */
  double **sw[SW_N];
  double *keep_storage; /* a coarser level's keep and sw, laid out as f */
  /* The iterate: level 0's is the run's field; a coarse level's (not the coarsest) a field of
   * its own in shared windows, its rings filled by its own halo exchange (halo.h). */
  struct field *field;
  struct halo *halo;
  int current; /* the coarsest level: always 0 */
  struct axis_tables rows, cols;
  struct fetch restriction; /* the finer level's residual over this level's boxes */
  struct fetch interp;      /* this level's values for the finer level's boxes */
  double *restrict_scratch; /* the finer residual this rank's tile restricts */
  int64_t restrict_rows, restrict_cols, restrict_r0, restrict_c0;
  double *restrict_sums;  /* its rows' column sums (restrict_rows x the tile's columns) */
  double *interp_scratch; /* the coarse values the finer level's tiles interpolate */
  double *interp_row;     /* one row of them, combined */
  /* the coarsest level: the whole grid on every rank, and A's banded LU */
  double *band;
  int64_t unknowns, bandwidth;
  bool column_major;
};

struct multigrid {
  struct field *field;
  struct halo *halo;
  const struct team *team;
  struct multigrid_params p;
  struct levels levels;
  struct level lv[LEVELS_MAX];
  MPI_Comm comm;
  /* smoothing step s (1-based): x' = (x + beta (u - x)) + alpha (x - x_before) */
  double alpha[64], beta[64];
  double work;      /* fine-sweep equivalents of the last cycle */
  bool general;     /* the field has sources or fixed points: every level masks and level 0 has b */
  double *mask_box; /* set-up scratch: two of the largest mask box (coarse_masks), then NULL */
  int64_t mask_len;
  double *row; /* a scratch row as wide as the widest tile of any level */
};

static int axis_tables_init(struct axis_tables *t, const struct levels_axis *a,
                            const struct levels_axis *finer, const struct levels_axis *coarser) {
  int64_t n = a->n;
  t->w_lo = malloc((size_t)n * sizeof *t->w_lo);
  t->w_hi = malloc((size_t)n * sizeof *t->w_hi);
  t->diag = malloc((size_t)n * sizeof *t->diag);
  if (t->w_lo == NULL || t->w_hi == NULL || t->diag == NULL)
    return err_set(ERR_FAILURE, "out of memory for the multigrid levels");
  for (int64_t i = 0; i < n; i++)
    levels_axis_weights(a, i, &t->w_lo[i], &t->w_hi[i], &t->diag[i]);
  if (coarser != NULL) {
    t->ni = malloc((size_t)n * sizeof *t->ni);
    t->ki = malloc((size_t)(2 * n) * sizeof *t->ki);
    t->wi = malloc((size_t)(2 * n) * sizeof *t->wi);
    if (t->ni == NULL || t->ki == NULL || t->wi == NULL)
      return err_set(ERR_FAILURE, "out of memory for the multigrid levels");
    for (int64_t i = 0; i < n; i++)
      t->ni[i] = levels_interp(a, coarser, i, &t->ki[2 * i], &t->wi[2 * i]);
  }
  if (finer != NULL) {
    t->nr = malloc((size_t)n * sizeof *t->nr);
    t->ir = malloc((size_t)(3 * n) * sizeof *t->ir);
    t->wr = malloc((size_t)(3 * n) * sizeof *t->wr);
    if (t->nr == NULL || t->ir == NULL || t->wr == NULL)
      return err_set(ERR_FAILURE, "out of memory for the multigrid levels");
    for (int64_t k = 0; k < n; k++)
      t->nr[k] = levels_restrict(finer, a, k, &t->ir[3 * k], &t->wr[3 * k]);
  }
  return ERR_OK;
}

static void axis_tables_free(struct axis_tables *t) {
  free(t->w_lo);
  free(t->w_hi);
  free(t->diag);
  free(t->ni);
  free(t->ki);
  free(t->wi);
  free(t->nr);
  free(t->ir);
  free(t->wr);
}

/* ---- the fetches' boxes -----------------------------------------------------------------------
 */

struct gen_ctx {
  const struct multigrid *mg;
  int level; /* the consumer's level */
};

/* The tiles of `rank` on level l: the layout's (none beyond its ranks); the coarsest: the whole
 * grid, on every rank that owns part of the level above. */
static int64_t tiles_of(const struct levels *h, int l, int rank) {
  const struct levels_level *lv = &h->level[l];
  if (lv->replicated)
    return levels_holds_coarsest(h, rank) ? 1 : 0;
  return rank < lv->layout.nranks ? decomp_ntiles(&lv->layout, rank) : 0;
}

static void tile_of(const struct levels_level *lv, int rank, int64_t t, struct decomp_tile *out) {
  if (lv->replicated) {
    *out = (struct decomp_tile){.nrows = lv->rows.n, .ncols = lv->cols.n};
    return;
  }
  decomp_tile(&lv->layout, rank, t, out);
}

/* What a tile of level l restricts: the finer level's points its coarse points gather from. */
static void restrict_box(const struct multigrid *mg, int l, const struct decomp_tile *t,
                         struct fetch_box *out) {
  const struct levels_level *f = &mg->levels.level[l - 1], *c = &mg->levels.level[l];
  int64_t r0, r1, c0, c1;
  levels_restrict_span(&f->rows, &c->rows, t->row0, t->row0 + t->nrows, &r0, &r1);
  levels_restrict_span(&f->cols, &c->cols, t->col0, t->col0 + t->ncols, &c0, &c1);
  *out = (struct fetch_box){r0, r1, c0, c1, 0, 0, c1 - c0};
}

static int64_t gen_restrict(const void *ctx, int rank, struct fetch_box *out) {
  const struct gen_ctx *g = ctx;
  const struct levels_level *lv = &g->mg->levels.level[g->level];
  if (tiles_of(&g->mg->levels, g->level, rank) == 0)
    return 0;
  if (out != NULL) {
    struct decomp_tile t;
    tile_of(lv, rank, 0, &t);
    restrict_box(g->mg, g->level, &t, out);
  }
  return 1;
}

/* What the tiles of level l interpolate from level l + 1: one box each, one after another in
 * the scratch buffer. */
static int64_t gen_interp(const void *ctx, int rank, struct fetch_box *out) {
  const struct gen_ctx *g = ctx;
  const struct levels_level *f = &g->mg->levels.level[g->level],
                            *c = &g->mg->levels.level[g->level + 1];
  int64_t n = tiles_of(&g->mg->levels, g->level, rank), at = 0;
  for (int64_t k = 0; out != NULL && k < n; k++) {
    struct decomp_tile t;
    tile_of(f, rank, k, &t);
    int64_t r0, r1, c0, c1;
    levels_interp_span(&f->rows, &c->rows, t.row0, t.row0 + t.nrows, &r0, &r1);
    levels_interp_span(&f->cols, &c->cols, t.col0, t.col0 + t.ncols, &c0, &c1);
    out[k] = (struct fetch_box){r0, r1, c0, c1, 0, at, c1 - c0};
    at += (r1 - r0) * (c1 - c0);
  }
  return n;
}

/* ---- set-up -----------------------------------------------------------------------------------
 */

/* Per-tile pointers to the interiors of the field's buffers and of f and r, laid out as its
 * tiles in `storage` (two buffers of buffer_len). */
static int level_pointers(struct level *L, struct field *f, bool with_rhs, bool general) {
  L->ntiles = f->ntiles;
  L->tiles = f->tiles;
  size_t n = (size_t)(f->ntiles > 0 ? f->ntiles : 1);
  L->stride = malloc(n * sizeof *L->stride);
  for (int b = 0; b < 2; b++)
    L->x[b] = malloc(n * sizeof *L->x[b]);
  L->f = with_rhs ? malloc(n * sizeof *L->f) : NULL;
  L->r = malloc(n * sizeof *L->r);
  size_t len = (size_t)(f->buffer_len > 0 ? f->buffer_len : 1);
  L->storage = calloc((with_rhs ? 2 : 1) * len, sizeof *L->storage);
  bool sw_ok = true;
  if (general) {
    L->keep = malloc(n * sizeof *L->keep);
    if (with_rhs) {
      L->keep_storage = calloc((1 + SW_N) * len, sizeof *L->keep_storage);
      for (int k = 0; k < SW_N; k++)
        sw_ok = sw_ok && (L->sw[k] = malloc(n * sizeof *L->sw[k])) != NULL;
    } else {
      L->b = malloc(n * sizeof *L->b);
    }
  }
  if (L->stride == NULL || L->x[0] == NULL || L->x[1] == NULL || (with_rhs && L->f == NULL) ||
      L->r == NULL || L->storage == NULL || !sw_ok ||
      (general && (L->keep == NULL || (with_rhs ? L->keep_storage == NULL : L->b == NULL))))
    return err_set(ERR_FAILURE, "out of memory for the multigrid levels");
  for (int64_t t = 0; t < f->ntiles; t++) {
    L->stride[t] = field_stride(f, t);
    for (int b = 0; b < 2; b++)
      L->x[b][t] = field_interior(f, b, t);
    int64_t at = f->tile_offset[t] + f->depth * L->stride[t] + f->depth;
    L->r[t] = L->storage + at;
    if (with_rhs)
      L->f[t] = L->storage + len + at;
    if (general) /* level 0's are the field's, laid out as its buffers */
      L->keep[t] = with_rhs ? L->keep_storage + at : f->coef + at;
    if (general && !with_rhs)
      L->b[t] = f->rhs + at;
    for (int k = 0; general && with_rhs && k < SW_N; k++)
      L->sw[k][t] = L->keep_storage + (size_t)(1 + k) * len + at;
  }
  return ERR_OK;
}

/* A coarse level that is not the coarsest: a field of zeros with zero edges, its halo plan. */
static int level_alloc_coarse(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  /* its neighbours are the fine grid's: a mode that serves the fine level serves it */
  CHECK(halo_check_mode(&L->shape->layout, mg->team, mg->p.halo_mode, 1, "halo.mode"));
  /* the ring's temperatures, read once by field_create: 0 all round (the correction's edges) */
  int64_t ring = max64(L->shape->rows.n, L->shape->cols.n) + 2;
  double *zeros = calloc((size_t)ring, sizeof *zeros);
  int status = team_agree(
      mg->team, zeros != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory for multigrid"));
  const struct field_boundary zero = {{zeros, zeros, zeros, zeros}};
  if (status == ERR_OK)
    status = field_create(&L->shape->layout, mg->team, &zero, 0.0, 1, &L->field);
  free(zeros);
  CHECK(status);
  CHECK(halo_create(L->field, mg->team, mg->p.halo_mode, &L->halo));
  return team_agree(mg->team, level_pointers(L, L->field, true, mg->general));
}

/* The coarsest level: the whole grid, in x (one buffer), f and r, on each rank that holds it. */
static int level_alloc_coarsest(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  const struct levels_level *shape = L->shape;
  L->ntiles = tiles_of(&mg->levels, l, mg->team->rank);
  L->tiles = calloc(1, sizeof *L->tiles);
  L->stride = calloc(1, sizeof *L->stride);
  for (int b = 0; b < 2; b++)
    L->x[b] = calloc(1, sizeof *L->x[b]);
  L->f = calloc(1, sizeof *L->f);
  L->r = calloc(1, sizeof *L->r);
  bool sw_ok = true;
  if (mg->general) {
    L->keep = calloc(1, sizeof *L->keep);
    for (int k = 0; k < SW_N; k++)
      sw_ok = sw_ok && (L->sw[k] = calloc(1, sizeof *L->sw[k])) != NULL;
  }
  if (L->tiles == NULL || L->stride == NULL || L->x[0] == NULL || L->x[1] == NULL || L->f == NULL ||
      L->r == NULL || !sw_ok || (mg->general && L->keep == NULL))
    return err_set(ERR_FAILURE, "out of memory for the multigrid levels");
  if (L->ntiles == 0)
    return ERR_OK;
  L->tiles[0] = (struct decomp_tile){.nrows = shape->rows.n, .ncols = shape->cols.n};
  int64_t one = shape->rows.n * shape->cols.n;
  L->stride[0] = shape->cols.n;
  L->storage = calloc((size_t)((mg->general ? 4 + SW_N : 3) * one), sizeof *L->storage);
  if (L->storage == NULL)
    return err_set(ERR_FAILURE, "out of memory for the coarsest level (%lld x %lld points)",
                   (long long)shape->cols.n, (long long)shape->rows.n);
  L->x[0][0] = L->x[1][0] = L->storage;
  L->f[0] = L->storage + one;
  L->r[0] = L->storage + 2 * one;
  if (mg->general) {
    L->keep[0] = L->storage + 3 * one;
    for (int k = 0; k < SW_N; k++)
      L->sw[k][0] = L->storage + (4 + k) * one;
  }
  return ERR_OK;
}

static int level_alloc_fine(struct multigrid *mg) {
  mg->lv[0].field = mg->field;
  mg->lv[0].halo = mg->halo;
  return level_pointers(&mg->lv[0], mg->field, false, mg->general);
}

/* The coarsest level's operator as a band matrix, factored (LU without pivoting: A is an
 * irreducibly diagonally dominant M-matrix). Unknowns numbered with the short side fastest, so
 * the band is as narrow as the short side. */
static int coarsest_factor(struct multigrid *mg, int l) {
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
static void coarsest_solve(struct level *L) {
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

/* What a tile of level l reads of the finer level to set its masks: its restriction box and
 * one point more all round (the neighbours of the points it restricts from). */
static void mask_box(const struct multigrid *mg, int l, const struct decomp_tile *t,
                     struct fetch_box *out) {
  restrict_box(mg, l, t, out);
  *out = (struct fetch_box){out->r0 - 1, out->r1 + 1, out->c0 - 1,          out->c1 + 1,
                            0,           0,           out->c1 - out->c0 + 2};
}

static int64_t gen_mask(const void *ctx, int rank, struct fetch_box *out) {
  const struct gen_ctx *g = ctx;
  if (tiles_of(&g->mg->levels, g->level, rank) == 0)
    return 0;
  if (out != NULL) {
    struct decomp_tile t;
    tile_of(&g->mg->levels.level[g->level], rank, 0, &t);
    mask_box(g->mg, g->level, &t, out);
  }
  return 1;
}

static void exchange(struct multigrid *mg, int l, int buf);

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
        double h[4], w[4], diag = 0.0;
        for (int k = 0; k < 4; k++) {
          double a = L->sw[k][t][at];
          h[k] = a < edge[k] ? a : edge[k];
        }
        for (int k = 0; k < 4; k++) {
          double other = h[k ^ 1]; /* north-south, west-east */
          w[k] = 2.0 / (h[k] * (h[k] + other));
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
    exchange(mg, l, 0);
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
    exchange(mg, l, 0);
  for (int64_t t = 0; t < L->ntiles; t++)
    for (int64_t i = 0; i < L->tiles[t].nrows; i++) {
      if (!whole)
        memset(L->x[0][t] + i * L->stride[t], 0, (size_t)L->tiles[t].ncols * sizeof(double));
      memset(L->f[t] + i * L->stride[t], 0, (size_t)L->tiles[t].ncols * sizeof(double));
    }
}

/* Every coarse level's keep and operator, from level 0's coef down (README-any-plate-mg.md).
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
static int coarse_masks(struct multigrid *mg) {
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

int multigrid_create(struct field *field, struct halo *halo, const struct team *team,
                     const struct multigrid_params *params, struct multigrid **out) {
  *out = NULL;
  struct multigrid *mg = calloc(1, sizeof *mg);
  int status =
      team_agree(team, mg != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory for multigrid"));
  if (status != ERR_OK) {
    free(mg);
    return status;
  }
  *mg = (struct multigrid){
      .field = field, .halo = halo, .team = team, .p = *params, .general = field_general(field)};
  mg->comm = MPI_COMM_NULL;
  status = levels_init(&mg->levels, field->layout); /* pure: the same outcome on every rank */
  if (status == ERR_OK && field->depth != 1)
    status = err_set(ERR_FAILURE, "multigrid needs one-deep halo rings");
  if (status == ERR_OK && MPI_Comm_dup(team->comm, &mg->comm) != MPI_SUCCESS)
    team_abort(team, err_set(ERR_FAILURE, "MPI_Comm_dup for multigrid failed"));
  if (status == ERR_OK)
    multigrid_smoother_weights(params->smoother,
                               params->pre > params->post ? params->pre : params->post, mg->alpha,
                               mg->beta);
  const struct levels *h = &mg->levels;
  for (int l = 0; status == ERR_OK && l < h->n; l++) {
    struct level *L = &mg->lv[l];
    L->shape = &h->level[l];
    const struct levels_level *finer = l > 0 ? &h->level[l - 1] : NULL;
    const struct levels_level *coarser = l + 1 < h->n ? &h->level[l + 1] : NULL;
    status = axis_tables_init(&L->rows, &L->shape->rows, finer ? &finer->rows : NULL,
                              coarser ? &coarser->rows : NULL);
    if (status == ERR_OK)
      status = axis_tables_init(&L->cols, &L->shape->cols, finer ? &finer->cols : NULL,
                                coarser ? &coarser->cols : NULL);
    status = team_agree(team, status); /* the coarse fields' allocation is collective */
    if (status == ERR_OK)
      status = l == 0                 ? team_agree(team, level_alloc_fine(mg))
               : L->shape->replicated ? team_agree(team, level_alloc_coarsest(mg, l))
                                      : level_alloc_coarse(mg, l);
  }
  int me = team->rank, nranks = team->size;
  for (int l = 1; status == ERR_OK && l < h->n; l++) {
    struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
    struct gen_ctx here = {mg, l}, above = {mg, l - 1};
    status = fetch_plan(&L->restriction, &F->shape->layout, false, gen_restrict, &here, me, nranks);
    if (status == ERR_OK)
      status = fetch_plan(&L->interp, &L->shape->layout, L->shape->replicated, gen_interp, &above,
                          me, nranks);
    if (status == ERR_OK && L->ntiles > 0) {
      struct fetch_box b;
      restrict_box(mg, l, &L->tiles[0], &b);
      L->restrict_r0 = b.r0;
      L->restrict_c0 = b.c0;
      L->restrict_rows = b.r1 - b.r0;
      L->restrict_cols = b.c1 - b.c0;
      L->restrict_scratch =
          malloc((size_t)max64(1, L->restrict_rows * L->restrict_cols) * sizeof(double));
      L->restrict_sums =
          malloc((size_t)max64(1, L->restrict_rows * L->tiles[0].ncols) * sizeof(double));
      if (L->restrict_scratch == NULL || L->restrict_sums == NULL)
        status = err_set(ERR_FAILURE, "out of memory for a multigrid transfer");
    }
    if (status == ERR_OK) {
      int64_t total = 0, widest = 1;
      for (int64_t b = 0; b < L->interp.nboxes; b++) {
        const struct fetch_box *bx = &L->interp.boxes[b];
        total += (bx->r1 - bx->r0) * (bx->c1 - bx->c0);
        widest = max64(widest, bx->c1 - bx->c0);
      }
      L->interp_scratch = malloc((size_t)max64(1, total) * sizeof(double));
      L->interp_row = malloc((size_t)widest * sizeof(double));
      if (L->interp_scratch == NULL || L->interp_row == NULL)
        status = err_set(ERR_FAILURE, "out of memory for a multigrid transfer");
    }
  }
  int64_t widest = 1;
  for (int l = 0; status == ERR_OK && l < h->n; l++)
    for (int64_t t = 0; t < mg->lv[l].ntiles; t++)
      widest = max64(widest, mg->lv[l].tiles[t].ncols);
  if (status == ERR_OK && (mg->row = malloc((size_t)widest * sizeof *mg->row)) == NULL)
    status = err_set(ERR_FAILURE, "out of memory for multigrid");
  int64_t box = 1;
  for (int l = 1; status == ERR_OK && l < h->n; l++)
    box = max64(box, (mg->lv[l].restrict_rows + 2) * (mg->lv[l].restrict_cols + 2));
  mg->mask_len = 2 * box;
  if (status == ERR_OK && mg->general &&
      (mg->mask_box = malloc((size_t)(2 * box) * sizeof *mg->mask_box)) == NULL)
    status = err_set(ERR_FAILURE, "out of memory for multigrid");
  status = team_agree(team, status);
  if (status == ERR_OK && mg->general) /* every rank is planned: the masks' fetches can run */
    status = coarse_masks(mg);
  free(mg->mask_box); /* set-up scratch only */
  mg->mask_box = NULL;
  struct level *last = &mg->lv[h->n - 1];
  if (status == ERR_OK && last->ntiles > 0)
    status = coarsest_factor(mg, h->n - 1);
  status = team_agree(team, status);
  if (status != ERR_OK) {
    multigrid_destroy(&mg);
    return status;
  }
  *out = mg;
  return ERR_OK;
}

void multigrid_destroy(struct multigrid **mgp) {
  if (mgp == NULL || *mgp == NULL)
    return;
  struct multigrid *mg = *mgp;
  for (int l = 0; l < mg->levels.n; l++) {
    struct level *L = &mg->lv[l];
    axis_tables_free(&L->rows);
    axis_tables_free(&L->cols);
    if (l > 0) { /* level 0's field and halo are the run's */
      halo_destroy(&L->halo);
      field_destroy(&L->field);
    }
    fetch_free(&L->restriction);
    fetch_free(&L->interp);
    free(L->restrict_scratch);
    free(L->restrict_sums);
    free(L->interp_scratch);
    free(L->interp_row);
    free(L->band);
    if (L->shape != NULL && L->shape->replicated) /* the others' are their field's */
      free(L->tiles);
    free(L->stride);
    free(L->x[0]);
    free(L->x[1]);
    free(L->f);
    free(L->r);
    free(L->storage);
    free(L->keep);
    free(L->b);
    free(L->keep_storage);
    for (int k = 0; k < SW_N; k++)
      free(L->sw[k]);
  }
  if (mg->comm != MPI_COMM_NULL)
    MPI_Comm_free(&mg->comm);
  free(mg->row);
  free(mg->mask_box);
  free(mg);
  *mgp = NULL;
}

const struct levels *multigrid_levels(const struct multigrid *mg) { return &mg->levels; }

double multigrid_work(const struct multigrid *mg) { return mg->work; }

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
static void exchange(struct multigrid *mg, int l, int buf) {
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
    if (l == 0 && kr != NULL) { /* the general update: a fixed point's is its held value */
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
  if (mg->p.smoother == MULTIGRID_REDBLACK) {
    for (int s = 1; s <= steps; s++)
      for (int colour = 0; colour < 2; colour++) {
        int buf = current_of(mg, l);
        exchange(mg, l, buf);
        for (int64_t t = 0; t < L->ntiles; t++)
          redblack_tile(mg, l, t, buf, colour);
      }
    mg->work += steps * levels_fraction(&mg->levels, l);
    return;
  }
  for (int s = 1; s <= steps; s++) {
    int in = current_of(mg, l);
    exchange(mg, l, in);
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
  exchange(mg, l, in);
  for (int64_t t = 0; t < L->ntiles; t++) {
    const struct decomp_tile *tile = &L->tiles[t];
    int64_t s = L->stride[t];
    for (int64_t i = 0; i < tile->nrows; i++) {
      const double *xr = L->x[in][t] + i * s;
      double *rr = L->r[t] + i * s;
      const double *kr = L->keep != NULL ? L->keep[t] + i * s : NULL;
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
      coarsest_solve(&mg->lv[c]);
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
    coarsest_solve(&mg->lv[last]);
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

double multigrid_cycle(struct multigrid *mg, bool fmg_start) {
  mg->work = 0.0;
  if (fmg_start)
    fmg(mg);
  else
    cycle(mg, 0, mg->p.cycle);
  /* the result's change, for the check: its rings first */
  struct field *f = mg->field;
  exchange(mg, 0, f->current);
  double change = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    double d = mg->general ? general_change(&mg->lv[0], t, f->current)
                           : sweep_tile_change(field_tile(f, f->current, t), f->tiles[t].nrows,
                                               f->tiles[t].ncols, field_stride(f, t));
    change = d > change ? d : change;
  }
  mg->work += 1.0;
  return change;
}
