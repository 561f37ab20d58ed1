/* plate.c - the plate, point by point; see plate.h. */
#include "solver/plate.h"

#include "common/err.h"
#include "io/expr.h"
#include "io/output.h"
#include "solver/bound/estimate.h"
#include "solver/bound/exact.h"
#include "solver/kernel/operator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const edge_key[DECOMP_NSIDES] = {[DECOMP_NORTH] = "boundary.top",
                                                    [DECOMP_SOUTH] = "boundary.bottom",
                                                    [DECOMP_WEST] = "boundary.left",
                                                    [DECOMP_EAST] = "boundary.right"};

/* A value of the plate: a number, or an expression compiled once. */
struct formula {
  const struct cfg_expr *given;
  struct expr *expr; /* NULL for a number */
  const char *key;   /* for messages */
  const char *origin;
};

static int formula_open(struct formula *f, const struct cfg *cfg, const struct cfg_expr *given,
                        const char *key, const char *origin) {
  *f = (struct formula){.given = given, .key = key, .origin = origin};
  if (given->text == NULL)
    return ERR_OK;
  if (expr_create(given->text, cfg->width, cfg->height, &f->expr) != ERR_OK) {
    /* cfg_create compiled it already: only memory can fail here */
    err_prefix(origin);
    return ERR_FAILURE;
  }
  return ERR_OK;
}

static double formula_at(struct formula *f, double x, double y) {
  return f->expr != NULL ? expr_eval(f->expr, x, y) : f->given->value;
}

static void formula_close(struct formula *f) { expr_destroy(&f->expr); }

/* A value the plate cannot use: one message naming the key and the point. */
static int bad_value(const struct formula *f, double v, double x, double y, const char *what) {
  char value[32];
  snprintf(value, sizeof value, isnan(v) ? "not a number" : "%g", v);
  return err_set(ERR_CONFIG, "%s: %s = \"%s\" gives %s at x = %.17g m, y = %.17g m: %s", f->origin,
                 f->key, f->given->text != NULL ? f->given->text : "", value, x, y, what);
}

static bool temperature_ok(double v) { return isfinite(v) && fabs(v) <= CFG_MAX_TEMPERATURE; }

/* Position of ring or grid index `index` (ring counting: 0 is the edge), metres. */
static double at(const struct plate *p, int64_t index) { return (double)index * p->spacing; }

int plate_create(const struct cfg *cfg, const struct team *team, struct plate *out) {
  *out = (struct plate){.cfg = cfg, .spacing = cfg_spacing(cfg), .general = cfg_general(cfg)};
  const struct cfg_expr *given[DECOMP_NSIDES] = {[DECOMP_NORTH] = &cfg->top,
                                                 [DECOMP_SOUTH] = &cfg->bottom,
                                                 [DECOMP_WEST] = &cfg->left,
                                                 [DECOMP_EAST] = &cfg->right};
  int status = ERR_OK;
  double lo = INFINITY, hi = -INFINITY;
  for (int s = 0; s < DECOMP_NSIDES && status == ERR_OK; s++) {
    bool across = s == DECOMP_NORTH || s == DECOMP_SOUTH; /* along x */
    int64_t n = (across ? cfg->nx : cfg->ny) + 2;
    out->edge[s] = malloc((size_t)n * sizeof *out->edge[s]);
    if (out->edge[s] == NULL) {
      status = err_set(ERR_FAILURE, "out of memory for the boundary");
      break;
    }
    struct formula f;
    status = formula_open(&f, cfg, given[s], edge_key[s], cfg_origin(cfg, edge_key[s]));
    for (int64_t c = 0; c < n && status == ERR_OK; c++) {
      double x = across ? at(out, c) : s == DECOMP_WEST ? 0.0 : at(out, cfg->nx + 1);
      double y = !across ? at(out, c) : s == DECOMP_NORTH ? 0.0 : at(out, cfg->ny + 1);
      double v = formula_at(&f, x, y);
      bool corner = c == 0 || c == n - 1; /* no part of the equations: only the file shows it */
      if (!temperature_ok(v) && !corner)
        status = bad_value(&f, v, x, y, "a temperature must be finite, within +-1e300");
      out->edge[s][c] = v;
      if (!corner) {
        lo = fmin(lo, v);
        hi = fmax(hi, v);
      }
    }
    /* A corner where the expression is not finite (1 / x at x = 0) shows its neighbour's. */
    if (status == ERR_OK && !temperature_ok(out->edge[s][0]))
      out->edge[s][0] = out->edge[s][1];
    if (status == ERR_OK && !temperature_ok(out->edge[s][n - 1]))
      out->edge[s][n - 1] = out->edge[s][n - 2];
    formula_close(&f);
    out->boundary.side[s] = out->edge[s];
  }
  out->answer_lo = lo;
  out->answer_hi = hi;
  status = team_agree(team, status);
  if (status != ERR_OK)
    plate_destroy(out);
  return status;
}

void plate_destroy(struct plate *plate) {
  for (int s = 0; s < DECOMP_NSIDES; s++) {
    free(plate->edge[s]);
    plate->edge[s] = NULL;
  }
}

/* ---- the points this rank owns ----------------------------------------------------------------
 */

/* Visit every interior point of every tile: fn(ctx, offset in a buffer, global row, column). */
#define FOR_EACH_POINT(f, t, li, lj, offset)                                                       \
  for (int64_t t = 0; t < (f)->ntiles; t++)                                                        \
    for (int64_t li = 0; li < (f)->tiles[t].nrows; li++)                                           \
      for (int64_t lj = 0, offset = (f)->tile_offset[t] +                                          \
                                    ((li) + (f)->depth) * field_stride(f, t) + (f)->depth;         \
           lj < (f)->tiles[t].ncols; lj++, offset++)

static double *new_buffer(const struct field *f) {
  return calloc(f->buffer_len > 0 ? (size_t)f->buffer_len : 1, sizeof(double));
}

/* Whether point (x, y) lies in a rectangle or disk region, up to 1e-9 of the spacing. */
static bool inside(const struct cfg_region *r, double x, double y, double spacing) {
  double slack = 1e-9 * spacing;
  if (r->shape == CFG_REGION_RECTANGLE)
    return x >= r->x0 - slack && x <= r->x1 + slack && y >= r->y0 - slack && y <= r->y1 + slack;
  double dx = x - r->cx, dy = y - r->cy, reach = r->radius + slack;
  return dx * dx + dy * dy <= reach * reach;
}

/* "region N (shape, line L)" for messages. */
static const char *region_name(const struct cfg *cfg, int k, char buf[256]) {
  static const char *const shapes[] = {"rectangle", "disk", "mask"};
  snprintf(buf, 256, "%s:%d: region %d (%s)", cfg->source_name, cfg->regions[k].line, k + 1,
           shapes[cfg->regions[k].shape]);
  return buf;
}

/* ---- refusing a value at a point --------------------------------------------------------------
 * A formula whose value is refused somewhere is reported at the first such point in row-major
 * order over the whole grid, on rank 0, which evaluates it there again: the same message on
 * every decomposition, with no rank's name in it. */

struct refusal {
  int64_t index; /* gi * nx + gj of the first refused point; INT64_MAX: none */
};

static void refuse_at(struct refusal *r, const struct field *f, int64_t t, int64_t li, int64_t lj) {
  int64_t index = (f->tiles[t].row0 + li) * f->layout->nx + f->tiles[t].col0 + lj;
  r->index = index < r->index ? index : r->index;
}

/* The agreed outcome of a pass that refused the points in r: ERR_CONFIG with rank 0's message
 * "the formula gives V at (x, y): what", or ERR_OK. */
static int agree_refusal(const struct plate *p, const struct team *team, struct refusal *r,
                         struct formula *f, const char *what) {
  int64_t first = INT64_MAX;
  MPI_CHECK(MPI_Allreduce(&r->index, &first, 1, MPI_INT64_T, MPI_MIN, team->comm));
  if (first == INT64_MAX)
    return ERR_OK;
  int status = ERR_CONFIG;
  if (team->rank == 0) {
    int64_t nx = p->cfg->nx;
    double x = at(p, first % nx + 1), y = at(p, first / nx + 1);
    status = bad_value(f, formula_at(f, x, y), x, y, what);
  }
  return team_agree(team, status);
}

static const char *const temperature_rule = "a temperature must be finite, within +-1e300";

/* The starting interior, in both buffers; not at held points, whose start is their
 * temperature. */
static int fill_initial(struct plate *p, struct field *f, const struct team *team, double *lo,
                        double *hi) {
  const struct cfg *cfg = p->cfg;
  struct formula init;
  CHECK(team_agree(team, formula_open(&init, cfg, &cfg->interior, "initial.interior",
                                      cfg_origin(cfg, "initial.interior"))));
  struct refusal refused = {INT64_MAX};
  FOR_EACH_POINT(f, t, li, lj, o) {
    if (f->fixed != NULL && f->fixed[o] > 0)
      continue;
    double x = at(p, f->tiles[t].col0 + lj + 1), y = at(p, f->tiles[t].row0 + li + 1);
    double v = formula_at(&init, x, y);
    if (!temperature_ok(v)) {
      refuse_at(&refused, f, t, li, lj);
      v = 0.0;
    }
    f->base[o] = f->base[f->buffer_len + o] = v;
    *lo = fmin(*lo, v);
    *hi = fmax(*hi, v);
  }
  int status = agree_refusal(p, team, &refused, &init, temperature_rule);
  formula_close(&init);
  return status;
}

/* Where the sources were given, for messages: "ORIGIN: the sources (...)", blaming source.q
 * where it is set (naming the file too, if any), else source.from_file. */
static const char *source_origin(const struct cfg *cfg, char buf[700]) {
  bool file = cfg->source_file[0] != '\0';
  bool q = cfg->source_q.text != NULL || cfg->source_q.value != 0.0;
  if (file && q)
    snprintf(buf, 700, "%s: the sources (source.q, with source.from_file at %s)",
             cfg_origin(cfg, "source.q"), cfg_origin(cfg, "source.from_file"));
  else
    snprintf(buf, 700, "%s: the sources (%s)",
             cfg_origin(cfg, file ? "source.from_file" : "source.q"),
             file ? "source.from_file" : "source.q");
  return buf;
}

/* q at every free point: source.q plus source.from_file's dataset (0 at held points, where no
 * equation uses it). */
static int fill_source(struct plate *p, struct field *f, const struct team *team) {
  const struct cfg *cfg = p->cfg;
  int status = (f->source = new_buffer(f)) != NULL
                   ? ERR_OK
                   : err_set(ERR_FAILURE, "out of memory for the heat source");
  status = team_agree(team, status);
  if (status == ERR_OK && cfg->source_file[0] != '\0')
    status = io_read_interior(cfg->source_file, cfg->source_dataset, "source.from_file",
                              cfg_origin(cfg, "source.from_file"), f, team, f->source);
  if (status != ERR_OK)
    return status;
  struct formula q;
  CHECK(team_agree(team,
                   formula_open(&q, cfg, &cfg->source_q, "source.q", cfg_origin(cfg, "source.q"))));
  struct refusal refused = {INT64_MAX};
  FOR_EACH_POINT(f, t, li, lj, o) {
    if (f->fixed != NULL && f->fixed[o] > 0) {
      f->source[o] = 0.0;
      continue;
    }
    double x = at(p, f->tiles[t].col0 + lj + 1), y = at(p, f->tiles[t].row0 + li + 1);
    f->source[o] += formula_at(&q, x, y);
    if (!isfinite(f->source[o])) {
      refuse_at(&refused, f, t, li, lj);
      f->source[o] = 0.0;
    }
  }
  status = agree_refusal(p, team, &refused, &q,
                         cfg->source_file[0] != '\0'
                             ? "a heat source must be finite (with source.from_file's value there)"
                             : "a heat source must be finite");
  formula_close(&q);
  return status;
}

/* The region holding each point (later regions win) and its temperature, in rhs; counts[k]
 * the points region k holds in the end, inside[k] those its shape covers. The regions are
 * taken last first, and a point a later one holds is not evaluated for an earlier one: a
 * temperature is checked only where it is held, as the start and the source are only where
 * no region is (a region's expression infinite only under a later region was refused). */
static int fill_regions(struct plate *p, struct field *f, const struct team *team, int64_t *counts,
                        int64_t *inside_counts) {
  const struct cfg *cfg = p->cfg;
  f->fixed = calloc(f->buffer_len > 0 ? (size_t)f->buffer_len : 1, 1);
  double *mask = NULL;
  int status = team_agree(
      team, f->fixed != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory for the regions"));
  for (int k = cfg->nregions - 1; k >= 0 && status == ERR_OK; k--) {
    const struct cfg_region *r = &cfg->regions[k];
    char key[64], origin[300];
    snprintf(origin, sizeof origin, "%s:%d", cfg->source_name, r->line);
    if (r->shape == CFG_REGION_MASK) {
      if (mask == NULL && f->fixed != NULL && (mask = new_buffer(f)) == NULL)
        status = err_set(ERR_FAILURE, "out of memory for a region's mask");
      status = team_agree(team, status);
      snprintf(key, sizeof key, "region[%d].file", k + 1);
      if (status == ERR_OK)
        status = io_read_interior(r->file, r->dataset, key, origin, f, team, mask);
      if (status != ERR_OK)
        break;
    }
    struct formula temp;
    snprintf(key, sizeof key, "region[%d].temperature", k + 1);
    char temp_origin[1100]; /* its own line, not the header's */
    snprintf(temp_origin, sizeof temp_origin, "%s", cfg_origin(cfg, key));
    status = team_agree(team, formula_open(&temp, cfg, &r->temperature, key, temp_origin));
    if (status != ERR_OK)
      break;
    struct refusal refused = {INT64_MAX};
    FOR_EACH_POINT(f, t, li, lj, o) {
      double x = at(p, f->tiles[t].col0 + lj + 1), y = at(p, f->tiles[t].row0 + li + 1);
      if (r->shape == CFG_REGION_MASK ? mask[o] == 0.0 : !inside(r, x, y, p->spacing))
        continue;
      inside_counts[k]++;
      if (f->fixed[o] > 0)
        continue; /* a later region holds it */
      double v = formula_at(&temp, x, y);
      if (!temperature_ok(v))
        refuse_at(&refused, f, t, li, lj);
      f->fixed[o] = (unsigned char)(k + 1);
      f->rhs[o] = v;
    }
    status = agree_refusal(p, team, &refused, &temp, temperature_rule);
    formula_close(&temp);
  }
  free(mask);
  status = team_agree(team, status);
  if (status != ERR_OK)
    return status;
  FOR_EACH_POINT(f, t, li, lj, o) {
    (void)t;
    (void)li;
    (void)lj;
    if (f->fixed[o] > 0)
      counts[f->fixed[o] - 1]++;
  }
  return ERR_OK;
}

/* Every region holds a point in the end: the first that holds none is refused (the message on
 * rank 0 only: every rank has the same agreed counts), saying whether its shape covers no grid
 * point or later regions cover all it does. */
static int check_regions_hold(const struct plate *p, const struct team *team, const int64_t *total,
                              const int64_t *inside) {
  const struct cfg *cfg = p->cfg;
  int k = 0;
  while (k < cfg->nregions && total[k] > 0)
    k++;
  if (k == cfg->nregions)
    return ERR_OK;
  if (team->rank != 0)
    return team_agree(team, ERR_CONFIG);
  char name[256];
  if (inside[k] > 0)
    return team_agree(team, err_set(ERR_CONFIG,
                                    "%s holds no grid point: later regions hold all %lld it "
                                    "covers (where regions overlap, the later one wins)",
                                    region_name(cfg, k, name), (long long)inside[k]));
  return team_agree(team, err_set(ERR_CONFIG,
                                  "%s holds no grid point: the points lie every h = %.17g m, at "
                                  "x = (j + 1) h and y = (i + 1) h; make it larger or the grid "
                                  "finer",
                                  region_name(cfg, k, name), p->spacing));
}

int plate_fill(struct plate *p, struct field *f, const struct team *team) {
  const struct cfg *cfg = p->cfg;
  /* min of the start, -max of the start, min of the regions, -max, -max |b| */
  double mine[5] = {INFINITY, INFINITY, INFINITY, INFINITY, 0.0}, all[5];
  double start_hi = -INFINITY, held_hi = -INFINITY;
  if (!p->general) {
    int status = fill_initial(p, f, team, &mine[0], &start_hi);
    if (status == ERR_OK) {
      mine[1] = -start_hi;
      MPI_CHECK(MPI_Allreduce(mine, all, 2, MPI_DOUBLE, MPI_MIN, team->comm));
      p->start_lo = all[0];
      p->start_hi = -all[1];
    }
    return status;
  }
  f->coef = new_buffer(f);
  f->rhs = new_buffer(f);
  /* counts, then what each region's shape covers, then their sums */
  int64_t *counts = calloc(4 * ((size_t)cfg->nregions + 1), sizeof *counts);
  int64_t *inside = counts + cfg->nregions + 1, *total = inside + cfg->nregions + 1;
  int64_t *total_inside = total + cfg->nregions + 1;
  int status = f->coef != NULL && f->rhs != NULL && counts != NULL
                   ? ERR_OK
                   : err_set(ERR_FAILURE, "out of memory for the plate's equations");
  status = team_agree(team, status);
  /* the regions first: the start and the sources are not evaluated where points are held */
  if (status == ERR_OK && cfg->nregions > 0)
    status = fill_regions(p, f, team, counts, inside);
  if (status == ERR_OK) {
    MPI_CHECK(
        MPI_Allreduce(counts, total, 2 * (cfg->nregions + 1), MPI_INT64_T, MPI_SUM, team->comm));
    status = check_regions_hold(p, team, total, total_inside);
  }
  if (status == ERR_OK)
    status = fill_initial(p, f, team, &mine[0], &start_hi);
  if (status == ERR_OK)
    status = fill_source(p, f, team);
  if (status != ERR_OK) {
    free(counts);
    return status;
  }
  p->fixed_points = 0;
  for (int k = 0; k < cfg->nregions; k++)
    p->fixed_points += total[k];
  free(counts);
  /* b = h^2 q / (4 k t): the same factor, computed once, on every rank */
  double scale = p->spacing * p->spacing / (4.0 * cfg->conductivity * cfg->thickness);
  FOR_EACH_POINT(f, t, li, lj, o) {
    (void)t;
    (void)li;
    (void)lj;
    bool held = f->fixed != NULL && f->fixed[o] > 0;
    f->coef[o] = held ? 0.0 : 1.0;
    if (held) {
      f->base[o] = f->base[f->buffer_len + o] = f->rhs[o];
      mine[2] = fmin(mine[2], f->rhs[o]);
      held_hi = fmax(held_hi, f->rhs[o]);
    } else {
      /* no source, no term, whatever the plate's k and t: h^2 / (4 k t) may overflow, and
       * 0 x inf would be a NaN that no max sees (fmax drops it) */
      f->rhs[o] = f->source[o] == 0.0 ? 0.0 : f->source[o] * scale;
      mine[4] = fmax(mine[4], fabs(f->rhs[o])); /* finite, or +inf: refused below */
    }
  }
  mine[1] = -start_hi;
  mine[3] = -held_hi;
  mine[4] = -mine[4];
  MPI_CHECK(MPI_Allreduce(mine, all, 5, MPI_DOUBLE, MPI_MIN, team->comm));
  p->start_lo = all[0];
  p->start_hi = -all[1];
  p->max_source_term = -all[4];
  if (p->fixed_points == (int64_t)cfg->nx * cfg->ny) /* all held: the start is the answer */
    p->start_lo = fmin(all[0], all[2]), p->start_hi = fmax(-all[1], -all[3]);
  /* T* between the extremes of what is held (the maximum principle), widened by what the
   * sources can add: |A^-1 4b| <= ||A^-1||inf 4 max |b|, and fixed points only lower
   * ||A^-1||inf (docs/numerics.md, "Any plate"). */
  struct estimate_model m;
  estimate_init(&m, cfg->nx, cfg->ny, 0.0, false);
  double widen = m.inverse_norm * 4.0 * p->max_source_term;
  p->answer_lo = fmin(p->answer_lo, all[2]) - widen;
  p->answer_hi = fmax(p->answer_hi, -all[3]) + widen;
  /* Iterates stay within a few times |T*| of the start: room for the sums of four of them.
   * Without sources T* lies between what is held, all within +-CFG_MAX_TEMPERATURE, as on a
   * plain plate; sources may take it beyond, and their reach keeps a sixteenth of it. */
  double reach = fmax(fabs(p->answer_lo), fabs(p->answer_hi));
  if (widen != 0.0 && !(reach <= CFG_MAX_TEMPERATURE / 16)) {
    char where[700];
    status = err_set(ERR_CONFIG,
                     "%s could raise the temperature by up to %g (||A^-1||inf x 4 max |b|, b = "
                     "h^2 q / (4 k t), with plate.conductivity and plate.thickness), to %g with "
                     "what is held, beyond the +-%g jacobi computes in with sources",
                     source_origin(cfg, where), widen, reach, CFG_MAX_TEMPERATURE / 16);
  }
  return team_agree(team, status);
}

/* A whole buffer's doubles, from -> to (a rank may own no points: then nothing, and its
 * pointers may be NULL). */
static void copy_buffer(const struct field *f, double *to, const double *from) {
  if (f->buffer_len > 0)
    memcpy(to, from, (size_t)f->buffer_len * sizeof *to);
}

/* Copy the ring points of `from` (a field buffer, its rings just filled) into `to`: every
 * storage point of a tile that is not one of its interior points. */
static void copy_rings(const struct field *f, const double *from, double *to) {
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t stride = field_stride(f, t), rows = f->tiles[t].nrows + 2 * f->depth;
    for (int64_t i = 0; i < rows; i++)
      for (int64_t j = 0; j < stride; j++) {
        bool inner = i >= f->depth && i < rows - f->depth && j >= f->depth && j < stride - f->depth;
        int64_t o = f->tile_offset[t] + i * stride + j;
        if (!inner)
          to[o] = from[o];
      }
  }
}

int plate_fill_rings(const struct plate *plate, struct field *f, struct halo *halo,
                     const struct team *team) {
  (void)plate;
  if (!field_general(f) || f->depth <= 1)
    return ERR_OK;
  double *saved = malloc((size_t)(f->buffer_len > 0 ? f->buffer_len : 1) * sizeof *saved);
  CHECK(team_agree(team,
                   saved != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory for the rings")));
  int scratch = 1 - f->current;
  double *buf = f->base + (int64_t)scratch * f->buffer_len;
  copy_buffer(f, saved, buf);
  double *const terms[2] = {f->coef, f->rhs};
  for (int k = 0; k < 2; k++) {
    copy_buffer(f, buf, terms[k]);
    if (halo_exchange(halo, scratch) != ERR_OK)
      team_abort(team, ERR_FAILURE);
    copy_rings(f, buf, terms[k]);
    /* the neighbours' reads of this round are ordered before our next writes of the buffer
     * by an exchange of the other one (halo.c) */
    if (halo_exchange(halo, f->current) != ERR_OK)
      team_abort(team, ERR_FAILURE);
  }
  copy_buffer(f, buf, saved);
  free(saved);
  return ERR_OK;
}

void plate_impose(const struct plate *plate, struct field *f, int buf) {
  (void)plate;
  if (f->fixed == NULL)
    return;
  double *b = f->base + (int64_t)buf * f->buffer_len;
  FOR_EACH_POINT(f, t, li, lj, o) {
    (void)t;
    (void)li;
    (void)lj;
    if (f->fixed[o] > 0)
      b[o] = f->rhs[o];
  }
}

/* ---- heat flows --------------------------------------------------------------------------------
 * Summing the discrete equations over the free points, k t (sum of neighbours - 4 T) + q h^2 = 0
 * at each, every pair of free neighbours cancels and what is left is a pair of a free point p
 * and a held one n (the ring, or a region): k t (T_n - T_p), the heat flowing from n into the
 * plate, plus the sources. So the flows through the edges and from the regions and the sources
 * sum to the residuals' sum, 4 k t sum (u - T) over the free points (u the general update):
 * zero in the steady state, at most 4 k t N d in magnitude for an iterate of sweep change d. */

/* The quantities summed: four edges, each region, the sources, and sum |term| (for the bound). */
enum { HEAT_EDGES = DECOMP_NSIDES };

struct heat_pass {
  const struct plate *p;
  const struct field *f;
  const double *ids; /* the regions' numbers, rings filled; NULL without regions */
  int n;             /* quantities: HEAT_EDGES + nregions + 2 */
  double *max;       /* pass 1: largest |term| of each */
  exact_wide *sum;   /* pass 2: quantised sums */
  const double *scale;
  int shift;
  double change;
  int64_t free_points;
};

static void add_term(struct heat_pass *hp, int k, double term) {
  if (hp->sum == NULL) {
    hp->max[k] = fmax(hp->max[k], fabs(term));
    hp->max[hp->n - 1] = fmax(hp->max[hp->n - 1], fabs(term));
  } else {
    hp->sum[k] += exact_quantise(term, hp->scale[k], hp->shift);
    hp->sum[hp->n - 1] += exact_quantise(fabs(term), hp->scale[hp->n - 1], hp->shift);
  }
}

static void heat_visit(struct heat_pass *hp) {
  const struct field *f = hp->f;
  const struct cfg *cfg = hp->p->cfg;
  const struct decomp_layout *l = f->layout;
  double kt = cfg->conductivity * cfg->thickness, area = hp->p->spacing * hp->p->spacing;
  const double *cur = f->base + (int64_t)f->current * f->buffer_len;
  FOR_EACH_POINT(f, t, li, lj, o) {
    if (f->fixed != NULL && f->fixed[o] > 0)
      continue;
    int64_t stride = field_stride(f, t), gi = f->tiles[t].row0 + li, gj = f->tiles[t].col0 + lj;
    const int64_t step[DECOMP_NSIDES] = {
        [DECOMP_NORTH] = -stride, [DECOMP_SOUTH] = stride, [DECOMP_WEST] = -1, [DECOMP_EAST] = 1};
    const bool ring[DECOMP_NSIDES] = {[DECOMP_NORTH] = gi == 0,
                                      [DECOMP_SOUTH] = gi == l->ny - 1,
                                      [DECOMP_WEST] = gj == 0,
                                      [DECOMP_EAST] = gj == l->nx - 1};
    double T = cur[o];
    for (int s = 0; s < DECOMP_NSIDES; s++) {
      double term = OP_FACE_FLOW(kt, cur[o + step[s]], T);
      if (ring[s])
        add_term(hp, s, term);
      else if (hp->ids != NULL && hp->ids[o + step[s]] > 0)
        add_term(hp, HEAT_EDGES + (int)hp->ids[o + step[s]] - 1, term);
    }
    if (f->source != NULL)
      add_term(hp, hp->n - 2, f->source[o] * area);
    if (hp->sum == NULL) {
      double avg = OP_LAPLACE(cur[o - stride], cur[o + stride], cur[o - 1], cur[o + 1]);
      double u = f->coef != NULL ? OP_GENERAL(f->coef[o], avg, f->rhs[o]) : avg;
      hp->change = fmax(hp->change, fabs(u - T));
      hp->free_points++;
    }
  }
}

int plate_heat_flow(const struct plate *p, struct field *f, struct halo *halo,
                    const struct team *team, struct plate_heat *out) {
  const struct cfg *cfg = p->cfg;
  *out = (struct plate_heat){0};
  int n = HEAT_EDGES + cfg->nregions + 2;
  double *max = calloc((size_t)n, sizeof *max), *scale = calloc((size_t)n, sizeof *scale);
  double *totals = calloc((size_t)n, sizeof *totals);
  exact_wide *sum = calloc((size_t)n, sizeof *sum);
  double *saved = NULL;
  out->region = calloc(cfg->nregions > 0 ? (size_t)cfg->nregions : 1, sizeof *out->region);
  if (f->fixed != NULL)
    saved = malloc((size_t)(f->buffer_len > 0 ? f->buffer_len : 1) * sizeof *saved);
  int status = max != NULL && scale != NULL && totals != NULL && sum != NULL &&
                       out->region != NULL && (f->fixed == NULL || saved != NULL)
                   ? ERR_OK
                   : err_set(ERR_FAILURE, "out of memory for the heat flows");
  status = team_agree(team, status);
  struct heat_pass hp = {.p = p, .f = f, .n = n, .max = max};
  double *other = f->base + (int64_t)(1 - f->current) * f->buffer_len;
  if (status == ERR_OK && f->fixed != NULL) {
    /* the regions' numbers in the other buffer, its rings filled by one exchange */
    copy_buffer(f, saved, other);
    FOR_EACH_POINT(f, t, li, lj, o) {
      (void)t;
      (void)li;
      (void)lj;
      other[o] = f->fixed[o];
    }
    if (halo_exchange(halo, 1 - f->current) != ERR_OK)
      team_abort(team, ERR_FAILURE);
    hp.ids = other;
  }
  if (status == ERR_OK) {
    heat_visit(&hp);
    double mine[2] = {-hp.change, 0}, agreed[2];
    MPI_CHECK(MPI_Allreduce(mine, agreed, 1, MPI_DOUBLE, MPI_MIN, team->comm));
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, max, n, MPI_DOUBLE, MPI_MAX, team->comm));
    int64_t free_points = 0;
    MPI_CHECK(MPI_Allreduce(&hp.free_points, &free_points, 1, MPI_INT64_T, MPI_SUM, team->comm));
    hp.shift = exact_shift(4 * free_points + 1);
    hp.scale = max;
    hp.sum = sum;
    heat_visit(&hp);
    exact_sum(team, sum, n, max, hp.shift, totals);
    for (int s = 0; s < DECOMP_NSIDES; s++)
      out->edge[s] = totals[s];
    double imbalance = 0.0;
    for (int k = 0; k < n - 1; k++) {
      if (k >= HEAT_EDGES && k < n - 2)
        out->region[k - HEAT_EDGES] = totals[k];
      imbalance += totals[k];
    }
    out->source = totals[n - 2];
    out->imbalance = imbalance;
    out->change = -agreed[0];
    /* the residuals' sum, plus each term's rounding (2^-52 |term|) and quantisation */
    double kt = cfg->conductivity * cfg->thickness;
    double quantised = 0.0;
    for (int k = 0; k < n; k++)
      quantised += max[k];
    out->imbalance_bound = 4.0 * kt * (double)free_points * out->change * (1 + 1e-12) +
                           ldexp(totals[n - 1], -50) +
                           4.0 * (double)free_points * quantised * ldexp(1.0, -hp.shift);
  }
  if (status == ERR_OK && f->fixed != NULL) {
    /* Neighbours on the node may still be reading the numbers: one more exchange (of the
     * current buffer, whose ring it refills with the same values) orders their reads before
     * our writes, as halo.c's protocol does for every sweep (a barrier would order nothing). */
    if (halo_exchange(halo, f->current) != ERR_OK)
      team_abort(team, ERR_FAILURE);
    copy_buffer(f, other, saved);
  }
  free(saved);
  free(sum);
  free(totals);
  free(scale);
  free(max);
  if (status != ERR_OK)
    plate_heat_release(out);
  return status;
}

void plate_heat_release(struct plate_heat *heat) {
  free(heat->region);
  heat->region = NULL;
}
