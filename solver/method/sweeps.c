/* sweeps.c - the sweeps of every tile that Jacobi and Chebyshev step by; see sweeps.h. */
#include "solver/method/sweeps.h"

#include "common/err.h"
#include "common/minmax.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which points of each tile a sweep covers: all; those that need none of the ring that
 * messages fill (the tile less its outermost row or column on each such side); or the rest. */
enum sweep_part { SWEEP_ALL, SWEEP_INNER, SWEEP_EDGES };

struct sweep_faces sweeps_faces_at(const struct field *f, int64_t at) {
  struct sweep_faces faces = {{NULL}, f->diag + at, f->load + at};
  for (int d = 0; d < DECOMP_NSIDES; d++)
    faces.cond[d] = f->cond[d] + at;
  return faces;
}

/* Whether point p of the arrays holds exactly (bit for bit) the tile's uniform values. */
static bool uniform_at(const struct field *f, int64_t p, const struct sweeps_uniform_tile *u) {
  for (int d = 0; d < DECOMP_NSIDES; d++)
    if (memcmp(&f->cond[d][p], &u->cond, sizeof u->cond) != 0)
      return false;
  return memcmp(&f->diag[p], &u->diag, sizeof u->diag) == 0 &&
         memcmp(&f->load[p], &u->load, sizeof u->load) == 0;
}

/* Tile t's values (those of its first point whose four conductances are equal, from the
 * middle row on: the interior of a plate of one conductivity) and each row's longest run of
 * them. Returns the points the runs cover. */
static int64_t tile_runs(const struct field *f, int64_t t, struct sweeps_uniform_tile *u) {
  int64_t n = f->tiles[t].nrows, m = f->tiles[t].ncols, s = field_stride(f, t);
  int64_t first = f->tile_offset[t] + f->depth * s + f->depth;
  bool found = false;
  for (int64_t k = 0; k < n * m && !found; k++) {
    int64_t p = first + ((k / m + n / 2) % n) * s + k % m;
    double c = f->cond[DECOMP_NORTH][p];
    found = c > 0.0 && memcmp(&f->cond[DECOMP_SOUTH][p], &c, sizeof c) == 0 &&
            memcmp(&f->cond[DECOMP_WEST][p], &c, sizeof c) == 0 &&
            memcmp(&f->cond[DECOMP_EAST][p], &c, sizeof c) == 0;
    if (found)
      *u = (struct sweeps_uniform_tile){c, f->diag[p], f->load[p], u->run};
  }
  int64_t covered = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t best_lo = 0, best_hi = 0, lo = 0;
    for (int64_t j = 0; found && j <= m; j++) {
      if (j < m && uniform_at(f, first + i * s + j, u))
        continue;
      if (j - lo > best_hi - best_lo)
        best_lo = lo, best_hi = j;
      lo = j + 1;
    }
    u->run[i][0] = best_lo;
    u->run[i][1] = best_hi;
    covered += best_hi - best_lo;
  }
  return covered;
}

int sweeps_uniform_create(const struct field *f, struct sweeps_uniform **out) {
  *out = NULL;
  if (!field_faces(f))
    return ERR_OK;
  struct sweeps_uniform *u = calloc(1, sizeof *u);
  if (u == NULL || (u->tile = calloc((size_t)f->ntiles + 1, sizeof *u->tile)) == NULL) {
    free(u);
    return err_set(ERR_FAILURE, "out of memory for the uniform runs");
  }
  u->ntiles = f->ntiles;
  for (int64_t t = 0; t < f->ntiles; t++) {
    struct sweeps_uniform_tile *tile = &u->tile[t];
    tile->run = malloc(((size_t)f->tiles[t].nrows + 1) * sizeof *tile->run);
    if (tile->run == NULL) {
      sweeps_uniform_destroy(&u);
      return err_set(ERR_FAILURE, "out of memory for the uniform runs");
    }
    /* worth it only where the runs are most of the tile: else the arrays throughout */
    if (4 * tile_runs(f, t, tile) < f->tiles[t].nrows * f->tiles[t].ncols) {
      free(tile->run);
      tile->run = NULL;
    }
  }
  *out = u;
  return ERR_OK;
}

void sweeps_uniform_destroy(struct sweeps_uniform **u) {
  if (u == NULL || *u == NULL)
    return;
  for (int64_t t = 0; t < (*u)->ntiles; t++)
    free((*u)->tile[t].run);
  free((*u)->tile);
  free(*u);
  *u = NULL;
}

/* Rows [r0, r0 + nrows) x columns [c0, c0 + ncols) of tile t, buffer `in` into the other,
 * local coordinates. */
static double sweep_rows(struct field *f, int64_t t, int64_t r0, int64_t c0, int64_t nrows,
                         int64_t ncols, const struct sweeps_kind *kind) {
  if (nrows <= 0 || ncols <= 0)
    return 0.0;
  int64_t stride = field_stride(f, t);
  /* the kernel takes the part with a one-point ring: its corner is one point up and left */
  int64_t at = (r0 - 1) * stride + c0 - 1;
  const double *from = field_interior(f, f->current, t) + at;
  double *to = field_interior(f, 1 - f->current, t) + at;
  const struct sweeps_uniform_tile *u = kind->uniform != NULL ? &kind->uniform->tile[t] : NULL;
  if (field_faces(f) && u != NULL && u->run != NULL) { /* the runs of this tile's rows */
    struct sweep_faces faces =
        sweeps_faces_at(f, from - (f->base + (int64_t)f->current * f->buffer_len));
    const struct sweep_faces_uniform runs = {u->cond, u->diag, u->load,
                                             (const int64_t(*)[2])(u->run + r0), c0};
    return sweep_tile_faces_uniform(from, to, &faces, &runs, nrows, ncols, stride,
                                    kind->weighted ? kind->omega : 1.0, kind->streaming,
                                    kind->want_change);
  }
  if (field_faces(f)) { /* the faces arrays sit where the point sits in a buffer */
    struct sweep_faces faces =
        sweeps_faces_at(f, from - (f->base + (int64_t)f->current * f->buffer_len));
    return sweep_tile_faces(from, to, &faces, nrows, ncols, stride,
                            kind->weighted ? kind->omega : 1.0, kind->streaming, kind->want_change);
  }
  if (field_general(f)) { /* coef and rhs sit where the point sits in a buffer */
    int64_t in_buffer = from - (f->base + (int64_t)f->current * f->buffer_len);
    return sweep_tile_general(from, to, f->coef + in_buffer, f->rhs + in_buffer, nrows, ncols,
                              stride, kind->weighted ? kind->omega : 1.0, kind->streaming,
                              kind->want_change);
  }
  if (kind->weighted)
    return sweep_tile_weighted(from, to, nrows, ncols, stride, kind->omega, kind->streaming,
                               kind->want_change);
  if (kind->variant != NULL)
    return sweep_tile_variant(*kind->variant, from, to, nrows, ncols, stride, kind->want_change);
  if (kind->streaming)
    return sweep_tile_streaming(from, to, nrows, ncols, stride);
  if (kind->want_change)
    return sweep_tile(from, to, nrows, ncols, stride);
  sweep_tile_update(from, to, nrows, ncols, stride);
  return 0.0;
}

/* Part of one iteration over every tile, from buffer f->current into the other; `halo` says
 * which sides wait for messages (SWEEP_INNER and SWEEP_EDGES only). The edges are whole rows
 * where they can be: the top and bottom strips span the tile, the side strips what is left. */
static double local_sweep(struct field *f, const struct halo *halo, enum sweep_part part,
                          const struct sweeps_kind *kind) {
  double max_diff = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t n = f->tiles[t].nrows, m = f->tiles[t].ncols;
    unsigned sides = part == SWEEP_ALL ? 0u : halo_message_sides(halo, t);
    int64_t top = (sides >> DECOMP_NORTH) & 1, bottom = (sides >> DECOMP_SOUTH) & 1;
    int64_t left = (sides >> DECOMP_WEST) & 1, right = (sides >> DECOMP_EAST) & 1;
    int64_t inner_rows = n - top - bottom, inner_cols = m - left - right;
    /* The pieces are disjoint, also on a tile thinner than its edges (whose inner part is
     * empty): a weighted sweep reads its output's old value, so no point may be swept twice. */
    int64_t bottom_row = max64(top, n - bottom), right_col = max64(left, m - right);
    int64_t side_rows = max64(inner_rows, 0);
    /* (row, column, rows, columns) of each piece of this part */
    const int64_t all[1][4] = {{0, 0, n, m}}, inner[1][4] = {{top, left, inner_rows, inner_cols}};
    const int64_t edges[4][4] = {{0, 0, min64(top, n), m},
                                 {bottom_row, 0, n - bottom_row, m},
                                 {top, 0, side_rows, min64(left, m)},
                                 {top, right_col, side_rows, m - right_col}};
    const int64_t(*pieces)[4] = part == SWEEP_ALL ? all : part == SWEEP_INNER ? inner : edges;
    int npieces = part == SWEEP_EDGES ? 4 : 1;
    for (int p = 0; p < npieces; p++) {
      double diff = sweep_rows(f, t, pieces[p][0], pieces[p][1], pieces[p][2], pieces[p][3], kind);
      max_diff = diff > max_diff ? diff : max_diff;
    }
  }
  return max_diff;
}

double sweeps_levels(struct field *f, int64_t levels, struct sweep_rect *rect, const double *omega,
                     double *scratch) {
  const struct decomp_layout *l = f->layout;
  double max_diff = 0.0;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    for (int64_t level = 0; level < levels; level++) {
      int64_t grow = levels - 1 - level;
      /* in storage coordinates: interior point (0, 0) of the tile is (depth, depth) */
      int64_t top = max64(tile->row0 - grow, 0),
              bottom = min64(tile->row0 + tile->nrows + grow, l->ny);
      int64_t left = max64(tile->col0 - grow, 0),
              right = min64(tile->col0 + tile->ncols + grow, l->nx);
      rect[level] =
          (struct sweep_rect){top - tile->row0 + f->depth, bottom - tile->row0 + f->depth,
                              left - tile->col0 + f->depth, right - tile->col0 + f->depth};
    }
    double *const buffers[2] = {field_tile(f, 0, t), field_tile(f, 1, t)};
    const double *const terms[2] = {f->coef + f->tile_offset[t], f->rhs + f->tile_offset[t]};
    double diff;
    if (field_faces(f)) {
      struct sweep_faces faces = sweeps_faces_at(f, f->tile_offset[t]);
      diff = sweep_levels_faces(buffers, f->current, field_stride(f, t), levels, rect, omega,
                                &faces, scratch);
    } else {
      diff = sweep_levels(buffers, f->current, field_stride(f, t), levels, rect, omega,
                          field_general(f) ? terms : NULL, scratch);
    }
    max_diff = diff > max_diff ? diff : max_diff;
  }
  f->current = (int)((f->current + levels) % 2);
  return max_diff;
}

double sweeps_once(struct method_iterate *it, const struct sweeps_kind *kind) {
  struct field *f = it->field;
  double change;
  if (it->in_flight) {
    change = local_sweep(f, it->halo, SWEEP_INNER, kind);
    double tw = MPI_Wtime();
    method_exchange(halo_exchange_end, it->halo, it->team, f->current);
    it->in_flight = false;
    it->halo_wait += MPI_Wtime() - tw;
    double edges = local_sweep(f, it->halo, SWEEP_EDGES, kind);
    change = edges > change ? edges : change;
  } else {
    change = local_sweep(f, it->halo, SWEEP_ALL, kind);
  }
  f->current = 1 - f->current;
  return change;
}

int sweeps_block_alloc(const struct field *f, int64_t block, bool with_scratch,
                       struct sweep_rect **rect, double **scratch) {
  *rect = malloc((size_t)block * sizeof **rect);
  *scratch = NULL;
  int64_t stride = 0; /* the widest tile's */
  for (int64_t t = 0; t < f->ntiles; t++)
    stride = max64(stride, field_stride(f, t));
  int64_t len = with_scratch ? sweep_levels_scratch(block, stride) : 0;
  if (len > 0)
    *scratch = malloc((size_t)len * sizeof **scratch);
  if (*rect == NULL || (len > 0 && *scratch == NULL)) {
    free(*rect);
    free(*scratch);
    *rect = NULL;
    *scratch = NULL;
    return err_set(ERR_FAILURE, "out of memory for a temporal block");
  }
  return ERR_OK;
}

void sweeps_describe(const struct cfg *cfg, bool general, const char *untuned, const char *rows,
                     char *text, size_t len) {
  if (text[0] == '\0')
    snprintf(text, len, "%s, %s, %s stores",
             cfg_faces(cfg) ? "faces update (conductances: (sum of c x neighbour + load) / diag)"
             : general      ? "general update (sources or regions: coef * average + rhs)"
                            : untuned,
             sweep_isa_name(sweep_isa_default()),
             cfg->stores == CFG_STORES_STREAMING ? "streaming" : "regular");
  size_t used = strlen(text);
  if (cfg->temporal_block > 1 && used < len)
    snprintf(text + used, len - used,
             "; temporal blocks of %lld sweeps: the wavefront, %s, regular stores, %s",
             (long long)cfg->temporal_block, sweep_isa_name(sweep_isa_default()), rows);
}
