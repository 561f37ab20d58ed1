/* storage.c - multigrid's levels: level 0 is the run's field (its two buffers, its halo plan)
 * and a residual buffer laid out as its tiles; a coarser level that is not the coarsest is a
 * field of its own (field.h: two iterates in shared windows, one tile per active rank, edges held
 * at 0, the correction's) with its own halo plan (halo.h), and a right-hand side and a residual
 * laid out as its tiles; the coarsest level is held whole by each rank of the level above. The
 * transfers between levels are fetches (runtime/fetch.h) of the boxes named here, planned once.
 */
#include "solver/method/multigrid/private.h"

#include "common/err.h"
#include "common/minmax.h"

#include <stdlib.h>

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

/* The tiles of `rank` on level l: the layout's (none beyond its ranks); the coarsest: the whole
 * grid, on every rank that owns part of the level above. */
int64_t mg_tiles_of(const struct levels *hierarchy, int l, int rank) {
  const struct levels_level *lv = &hierarchy->level[l];
  if (lv->replicated)
    return levels_holds_coarsest(hierarchy, rank) ? 1 : 0;
  return rank < lv->layout.nranks ? decomp_ntiles(&lv->layout, rank) : 0;
}

void mg_tile_of(const struct levels_level *lv, int rank, int64_t t, struct decomp_tile *out) {
  if (lv->replicated) {
    *out = (struct decomp_tile){.nrows = lv->rows.n, .ncols = lv->cols.n};
    return;
  }
  decomp_tile(&lv->layout, rank, t, out);
}

/* What a tile of level l restricts: the finer level's points its coarse points gather from. */
void mg_restrict_box(const struct multigrid *mg, int l, const struct decomp_tile *t,
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
  if (mg_tiles_of(&g->mg->levels, g->level, rank) == 0)
    return 0;
  if (out != NULL) {
    struct decomp_tile t;
    mg_tile_of(lv, rank, 0, &t);
    mg_restrict_box(g->mg, g->level, &t, out);
  }
  return 1;
}

/* What the tiles of level l interpolate from level l + 1: one box each, one after another in
 * the scratch buffer. */
static int64_t gen_interp(const void *ctx, int rank, struct fetch_box *out) {
  const struct gen_ctx *g = ctx;
  const struct levels_level *f = &g->mg->levels.level[g->level],
                            *c = &g->mg->levels.level[g->level + 1];
  int64_t n = mg_tiles_of(&g->mg->levels, g->level, rank), at = 0;
  for (int64_t k = 0; out != NULL && k < n; k++) {
    struct decomp_tile t;
    mg_tile_of(f, rank, k, &t);
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
  bool faces0 = general && !with_rhs && field_faces(f);
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
    if (with_rhs || faces0) { /* a faces plate's level 0: its own keep (faces.c) */
      L->keep_storage = calloc((faces0 ? 1 : 1 + SW_N) * len, sizeof *L->keep_storage);
      for (int k = 0; with_rhs && k < SW_N; k++)
        sw_ok = sw_ok && (L->sw[k] = malloc(n * sizeof *L->sw[k])) != NULL;
    } else {
      L->b = malloc(n * sizeof *L->b);
    }
  }
  if (L->stride == NULL || L->x[0] == NULL || L->x[1] == NULL || (with_rhs && L->f == NULL) ||
      L->r == NULL || L->storage == NULL || !sw_ok ||
      (general &&
       (L->keep == NULL || (with_rhs || faces0 ? L->keep_storage == NULL : L->b == NULL))))
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
      L->keep[t] = with_rhs || faces0 ? L->keep_storage + at : f->coef + at;
    if (general && !with_rhs && !faces0)
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
  /* a faces plate's coarse operators have nine points (faces.c): rings two deep, corners too */
  int64_t depth = mg->faces ? 2 : 1;
  CHECK(halo_check_mode(&L->shape->layout, mg->team, mg->p.halo_mode, (int)depth, "halo.mode"));
  /* the ring's temperatures, read once by field_create: 0 all round (the correction's edges) */
  int64_t ring = max64(L->shape->rows.n, L->shape->cols.n) + 2;
  double *zeros = calloc((size_t)ring, sizeof *zeros);
  int status = team_agree(
      mg->team, zeros != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory for multigrid"));
  const struct field_boundary zero = {{zeros, zeros, zeros, zeros}};
  if (status == ERR_OK)
    status = field_create(&L->shape->layout, mg->team, &zero, 0.0, depth, &L->field);
  free(zeros);
  CHECK(status);
  CHECK(halo_create(L->field, mg->team, mg->p.halo_mode, &L->halo));
  return team_agree(mg->team, level_pointers(L, L->field, true, mg->general || mg->faces));
}

/* The coarsest level: the whole grid, in x (one buffer), f and r, on each rank that holds it. */
static int level_alloc_coarsest(struct multigrid *mg, int l) {
  struct level *L = &mg->lv[l];
  const struct levels_level *shape = L->shape;
  L->ntiles = mg_tiles_of(&mg->levels, l, mg->team->rank);
  L->tiles = calloc(1, sizeof *L->tiles);
  L->stride = calloc(1, sizeof *L->stride);
  for (int b = 0; b < 2; b++)
    L->x[b] = calloc(1, sizeof *L->x[b]);
  L->f = calloc(1, sizeof *L->f);
  L->r = calloc(1, sizeof *L->r);
  bool sw_ok = true;
  bool masked = mg->general || mg->faces;
  if (masked) {
    L->keep = calloc(1, sizeof *L->keep);
    for (int k = 0; k < SW_N; k++)
      sw_ok = sw_ok && (L->sw[k] = calloc(1, sizeof *L->sw[k])) != NULL;
  }
  if (L->tiles == NULL || L->stride == NULL || L->x[0] == NULL || L->x[1] == NULL || L->f == NULL ||
      L->r == NULL || !sw_ok || (masked && L->keep == NULL))
    return err_set(ERR_FAILURE, "out of memory for the multigrid levels");
  if (L->ntiles == 0)
    return ERR_OK;
  L->tiles[0] = (struct decomp_tile){.nrows = shape->rows.n, .ncols = shape->cols.n};
  int64_t one = shape->rows.n * shape->cols.n;
  L->stride[0] = shape->cols.n;
  L->storage = calloc((size_t)((masked ? 4 + SW_N : 3) * one), sizeof *L->storage);
  if (L->storage == NULL)
    return err_set(ERR_FAILURE, "out of memory for the coarsest level (%lld x %lld points)",
                   (long long)shape->cols.n, (long long)shape->rows.n);
  L->x[0][0] = L->x[1][0] = L->storage;
  L->f[0] = L->storage + one;
  L->r[0] = L->storage + 2 * one;
  if (masked) {
    L->keep[0] = L->storage + 3 * one;
    for (int k = 0; k < SW_N; k++)
      L->sw[k][0] = L->storage + (4 + k) * one;
  }
  return ERR_OK;
}

static int level_alloc_fine(struct multigrid *mg) {
  mg->lv[0].field = mg->field;
  mg->lv[0].halo = mg->halo;
  return level_pointers(&mg->lv[0], mg->field, false, mg->general || mg->faces);
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
  *mg = (struct multigrid){.field = field,
                           .halo = halo,
                           .team = team,
                           .p = *params,
                           .general = field_general(field),
                           .faces = field_faces(field)};
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
  const struct levels *hierarchy = &mg->levels;
  for (int l = 0; status == ERR_OK && l < hierarchy->n; l++) {
    struct level *L = &mg->lv[l];
    L->shape = &hierarchy->level[l];
    const struct levels_level *finer = l > 0 ? &hierarchy->level[l - 1] : NULL;
    const struct levels_level *coarser = l + 1 < hierarchy->n ? &hierarchy->level[l + 1] : NULL;
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
  for (int l = 1; status == ERR_OK && l < hierarchy->n; l++) {
    struct level *L = &mg->lv[l], *F = &mg->lv[l - 1];
    struct gen_ctx here = {mg, l}, above = {mg, l - 1};
    status = fetch_plan(&L->restriction, &F->shape->layout, false, gen_restrict, &here, me, nranks);
    if (status == ERR_OK)
      status = fetch_plan(&L->interp, &L->shape->layout, L->shape->replicated, gen_interp, &above,
                          me, nranks);
    if (status == ERR_OK && L->ntiles > 0) {
      struct fetch_box b;
      mg_restrict_box(mg, l, &L->tiles[0], &b);
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
  for (int l = 0; status == ERR_OK && l < hierarchy->n; l++)
    for (int64_t t = 0; t < mg->lv[l].ntiles; t++)
      widest = max64(widest, mg->lv[l].tiles[t].ncols);
  if (status == ERR_OK && (mg->row = malloc((size_t)widest * sizeof *mg->row)) == NULL)
    status = err_set(ERR_FAILURE, "out of memory for multigrid");
  int64_t box = 1;
  for (int l = 1; status == ERR_OK && l < hierarchy->n; l++)
    box = max64(box, (mg->lv[l].restrict_rows + 2) * (mg->lv[l].restrict_cols + 2));
  mg->mask_len = 2 * box;
  if (status == ERR_OK && mg->general &&
      (mg->mask_box = malloc((size_t)(2 * box) * sizeof *mg->mask_box)) == NULL)
    status = err_set(ERR_FAILURE, "out of memory for multigrid");
  status = team_agree(team, status);
  if (status == ERR_OK && mg->general) /* every rank is planned: the masks' fetches can run */
    status = mg_coarse_masks(mg);
  if (status == ERR_OK && mg->faces)
    status = mg_faces_coarse(mg);
  free(mg->mask_box); /* set-up scratch only */
  mg->mask_box = NULL;
  struct level *last = &mg->lv[hierarchy->n - 1];
  if (status == ERR_OK && last->ntiles > 0)
    status = mg->faces ? mg_faces_factor(mg, hierarchy->n - 1)
                       : mg_coarsest_factor(mg, hierarchy->n - 1);
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
    for (int k = 0; k < 4; k++) {
      free(L->pw[k]);
      free(L->corner[k]);
    }
    free(L->corner_storage);
    for (int k = 0; k < 9; k++)
      free(L->rw[k]);
    free(L->pw_storage);
    free(L->rw_storage);
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
