/* levels.c - the multigrid hierarchy; see levels.h. */
#include "decomp/levels.h"

#include "common/err.h"
#include "common/minmax.h"

#include <inttypes.h>
#include <string.h>

/* floor(a / 2) for any sign. */
static int64_t floor_half(int64_t a) { return a >= 0 ? a / 2 : -((1 - a) / 2); }

/* Every other point of `f`: an odd count keeps the points between the ends; an even one keeps
 * the set whose end gap grows from the smaller one. Gaps are exact (dyadic) in double. */
static struct levels_axis coarsen(const struct levels_axis *f) {
  struct levels_axis c = {.n = f->n / 2};
  bool grow_lo = f->n % 2 == 1 || f->gap_lo <= f->gap_hi;
  bool grow_hi = f->n % 2 == 1 || !grow_lo;
  c.parity = grow_lo ? 1 : 0;
  c.gap_lo = grow_lo ? (f->gap_lo + 1) / 2 : f->gap_lo / 2;
  c.gap_hi = grow_hi ? (f->gap_hi + 1) / 2 : f->gap_hi / 2;
  return c;
}

static int64_t points(const struct levels_level *l) { return l->rows.n * l->cols.n; }

static bool coarsest(const struct levels_level *l) {
  return l->rows.n <= 2 || l->cols.n <= 2 || points(l) <= LEVELS_COARSEST_POINTS;
}

int levels_init(struct levels *hierarchy, const struct decomp_layout *fine) {
  memset(hierarchy, 0, sizeof *hierarchy);
  struct levels_level *top = &hierarchy->level[0];
  top->rows = (struct levels_axis){.n = fine->ny, .gap_lo = 1, .gap_hi = 1};
  top->cols = (struct levels_axis){.n = fine->nx, .gap_lo = 1, .gap_hi = 1};
  top->layout = *fine;
  int last = 0;
  while (!coarsest(&hierarchy->level[last]) && last + 1 < LEVELS_MAX) {
    struct levels_level *f = &hierarchy->level[last], *c = &hierarchy->level[last + 1];
    c->rows = coarsen(&f->rows);
    c->cols = coarsen(&f->cols);
    last++;
  }
  if (last == 0) { /* the plate is its own coarsest level: solved exactly, on every rank */
    hierarchy->level[1] = hierarchy->level[0];
    hierarchy->level[1].rows.parity = hierarchy->level[1].cols.parity = -1;
    last = 1;
  }
  hierarchy->n = last + 1;
  /* Agglomerated: no tile thinner than LEVELS_MIN_TILE, or than a rank's share of the fine
   * grid in that direction where that is thinner (strips of 4 rows stay strips of 4 rows, rather
   * than being gathered into fewer, larger tiles than the fine level's). */
  int64_t min_rows = min64(LEVELS_MIN_TILE, fine->ny / fine->prows + (fine->ny % fine->prows != 0));
  int64_t min_cols = min64(LEVELS_MIN_TILE, fine->nx / fine->pcols + (fine->nx % fine->pcols != 0));
  for (int l = 1; l < last; l++) {
    struct levels_level *c = &hierarchy->level[l];
    int64_t prows = min64(fine->prows, max64(1, c->rows.n / min_rows));
    int64_t pcols = min64(fine->pcols, max64(1, c->cols.n / min_cols));
    /* Over the fine process grid, one block a process: blocks of ceil(n / p) leave processes
     * p .. of each dimension empty, so the level lives on the top-left p_r x p_c sub-grid,
     * whose neighbours are the fine grid's neighbours. */
    c->layout = (struct decomp_layout){.nx = c->cols.n,
                                       .ny = c->rows.n,
                                       .nranks = fine->nranks,
                                       .prows = fine->prows,
                                       .pcols = fine->pcols,
                                       .kind = DECOMP_BLOCK_CYCLIC};
    CHECK(decomp_dist_init(&c->layout.rows, c->rows.n, fine->prows, DECOMP_BLOCK_CYCLIC,
                           c->rows.n / prows + (c->rows.n % prows != 0)));
    CHECK(decomp_dist_init(&c->layout.cols, c->cols.n, fine->pcols, DECOMP_BLOCK_CYCLIC,
                           c->cols.n / pcols + (c->cols.n % pcols != 0)));
  }
  struct levels_level *c = &hierarchy->level[last];
  int one[2] = {1, 1};
  c->replicated = true;
  CHECK(decomp_layout_init(&c->layout, c->cols.n, c->rows.n, 1, one, DECOMP_BLOCK, 1));
  return ERR_OK;
}

bool levels_holds_coarsest(const struct levels *hierarchy, int rank) {
  const struct decomp_layout *above = &hierarchy->level[hierarchy->n - 2].layout;
  return rank < above->nranks && decomp_ntiles(above, rank) > 0;
}

int levels_holders(const struct levels *hierarchy) {
  int n = 0;
  for (int r = 0; r < hierarchy->level[0].layout.nranks; r++)
    n += levels_holds_coarsest(hierarchy, r);
  return n;
}

void levels_axis_weights(const struct levels_axis *a, int64_t i, double *w_lo, double *w_hi,
                         double *diag) {
  double h_lo = i == 0 ? a->gap_lo : 1.0, h_hi = i == a->n - 1 ? a->gap_hi : 1.0;
  *w_lo = 2.0 / (h_lo * (h_lo + h_hi));
  *w_hi = 2.0 / (h_hi * (h_lo + h_hi));
  *diag = *w_lo + *w_hi;
}

int levels_interp(const struct levels_axis *fine, const struct levels_axis *coarse, int64_t i,
                  int64_t k[2], double w[2]) {
  if (coarse->parity < 0) {
    k[0] = i;
    w[0] = 1.0;
    return 1;
  }
  int64_t d = i - coarse->parity;
  if (d % 2 == 0) {
    k[0] = d / 2;
    w[0] = 1.0;
    return 1;
  }
  int64_t left = floor_half(d), right = left + 1;
  if (left < 0) { /* between the edge and the first coarse point */
    k[0] = right;
    w[0] = fine->gap_lo / (fine->gap_lo + 1.0);
    return 1;
  }
  if (right >= coarse->n) {
    k[0] = left;
    w[0] = fine->gap_hi / (fine->gap_hi + 1.0);
    return 1;
  }
  k[0] = left;
  k[1] = right;
  w[0] = w[1] = 0.5;
  return 2;
}

int levels_restrict(const struct levels_axis *fine, const struct levels_axis *coarse, int64_t k,
                    int64_t i[3], double w[3]) {
  if (coarse->parity < 0) {
    i[0] = k;
    w[0] = 1.0;
    return 1;
  }
  int64_t centre = 2 * k + coarse->parity;
  int n = 0;
  for (int64_t at = centre - 1; at <= centre + 1; at++) {
    if (at < 0 || at >= fine->n)
      continue;
    int64_t kk[2];
    double ww[2];
    int m = levels_interp(fine, coarse, at, kk, ww);
    for (int t = 0; t < m; t++)
      if (kk[t] == k) {
        i[n] = at;
        w[n++] = ww[t];
      }
  }
  /* Next to an edge nearer than H the coarse point stands for less of the plate: the weights
   * of P^T sum to less than 2 there. The coarse equation is pointwise (Shortley-Weller), so it
   * takes the average: the weights scaled to sum to 2, as in the interior (exactly 2 there, so
   * the scaling leaves them as they are). */
  double sum = 0.0;
  for (int t = 0; t < n; t++)
    sum += w[t];
  if (sum != 2.0)
    for (int t = 0; t < n; t++)
      w[t] = 2.0 * w[t] / sum;
  return n;
}

void levels_restrict_span(const struct levels_axis *fine, const struct levels_axis *coarse,
                          int64_t k0, int64_t k1, int64_t *lo, int64_t *hi) {
  if (coarse->parity < 0) {
    *lo = k0;
    *hi = k1;
    return;
  }
  *lo = max64(0, 2 * k0 + coarse->parity - 1);
  *hi = min64(fine->n, 2 * (k1 - 1) + coarse->parity + 2);
}

void levels_interp_span(const struct levels_axis *fine, const struct levels_axis *coarse,
                        int64_t i0, int64_t i1, int64_t *lo, int64_t *hi) {
  (void)fine;
  if (coarse->parity < 0) {
    *lo = i0;
    *hi = i1;
    return;
  }
  *lo = max64(0, floor_half(i0 - coarse->parity));
  *hi = min64(coarse->n, -floor_half(-(i1 - 1 - coarse->parity)) + 1);
}

double levels_fraction(const struct levels *hierarchy, int l) {
  return (double)points(&hierarchy->level[l]) / (double)points(&hierarchy->level[0]);
}

void levels_plan_print(const struct levels *hierarchy, FILE *out) {
  fprintf(out, "%-6s %12s %8s %8s %10s %14s %16s\n", "level", "points", "ranks", "tiles",
          "max points", "halo bytes", "restrict bytes");
  for (int l = 0; l < hierarchy->n; l++) {
    const struct levels_level *lv = &hierarchy->level[l];
    const struct decomp_layout *lay = &lv->layout;
    int64_t tiles = 0, biggest = 0, halo = 0, moved = 0;
    int active = 0;
    for (int r = 0; r < lay->nranks; r++) {
      int64_t nt = decomp_ntiles(lay, r);
      struct decomp_rank_plan p;
      decomp_plan_rank(lay, r, NULL, true, &p);
      active += p.points > 0;
      tiles += nt;
      biggest = max64(biggest, p.points);
      halo += p.halo_points_local + p.halo_points_shm + p.halo_points_p2p;
      for (int64_t t = 0; l > 0 && t < nt; t++) { /* what this tile's restriction reads */
        struct decomp_tile tile;
        decomp_tile(lay, r, t, &tile);
        int64_t r0, r1, c0, c1;
        levels_restrict_span(&hierarchy->level[l - 1].rows, &lv->rows, tile.row0,
                             tile.row0 + tile.nrows, &r0, &r1);
        levels_restrict_span(&hierarchy->level[l - 1].cols, &lv->cols, tile.col0,
                             tile.col0 + tile.ncols, &c0, &c1);
        moved += (r1 - r0) * (c1 - c0);
      }
    }
    if (lv->replicated) { /* each holder gathers the whole level above and solves this one */
      moved = points(&hierarchy->level[l - 1]);
      tiles = levels_holders(hierarchy);
      biggest = points(lv);
      active = (int)tiles;
    }
    char size[48], ranks[16];
    snprintf(size, sizeof size, "%" PRId64 "x%" PRId64, lv->cols.n, lv->rows.n);
    snprintf(ranks, sizeof ranks, "%d", active);
    fprintf(out, "%-6d %12s %8s %8" PRId64 " %10" PRId64 " %14" PRId64 " %16" PRId64 "%s\n", l,
            size, ranks, tiles, biggest, 8 * halo, 8 * moved,
            lv->replicated ? "  (coarsest: held whole by each of these ranks, solved exactly)"
                           : "");
  }
}
