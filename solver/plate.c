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

/* Where interior column gj and row gi lie: x = (gj + 1 - [left not held]) h, y = (gi + 1 -
 * [top not held]) h; on an edge that is not held the outermost column or row lies on it. A plate
 * whose edges are all held computes (gj + 1) h, as always. */
static int64_t shift_of(const struct plate *p, int side) { return p->free_edge[side]; }
static double x_of(const struct plate *p, int64_t gj) {
  return at(p, gj + 1 - p->free_edge[DECOMP_WEST]);
}
static double y_of(const struct plate *p, int64_t gi) {
  return at(p, gi + 1 - p->free_edge[DECOMP_NORTH]);
}

/* A plate that solve.c cannot run: an axis with no room for its nodes (a plate whose steady
 * state is not unique is refused later, by plate_fill, which knows the regions' points). */
static int check_faces_plate(const struct plate *p) {
  const struct cfg *cfg = p->cfg;
  int ex = p->free_edge[DECOMP_WEST] + p->free_edge[DECOMP_EAST];
  int ey = p->free_edge[DECOMP_NORTH] + p->free_edge[DECOMP_SOUTH];
  if (cfg->nx < ex || cfg->ny < ey)
    return err_set(ERR_CONFIG,
                   "%s: a %lld x %lld grid has no room for its nodes: with the %s edges both not "
                   "held, their outermost columns lie on them, so grid.%s must be at least 2",
                   cfg_origin(cfg, cfg->nx < ex ? "grid.nx" : "grid.ny"), (long long)cfg->nx,
                   (long long)cfg->ny, cfg->nx < ex ? "left and right" : "top and bottom",
                   cfg->nx < ex ? "nx" : "ny");
  return ERR_OK;
}

int plate_create(const struct cfg *cfg, const struct team *team, struct plate *out) {
  *out = (struct plate){.cfg = cfg, .general = cfg_general(cfg), .faces = cfg_faces(cfg)};
  for (int s = 0; s < DECOMP_NSIDES; s++)
    out->free_edge[s] = cfg->edge[s].kind != CFG_EDGE_HELD;
  /* h = width / (nx + 1 - ex): the same division as cfg_spacing where every edge is held */
  int ex = out->free_edge[DECOMP_WEST] + out->free_edge[DECOMP_EAST];
  out->spacing = cfg->width / (double)(cfg->nx + 1 - ex);
  const struct cfg_expr *given[DECOMP_NSIDES] = {[DECOMP_NORTH] = &cfg->top,
                                                 [DECOMP_SOUTH] = &cfg->bottom,
                                                 [DECOMP_WEST] = &cfg->left,
                                                 [DECOMP_EAST] = &cfg->right};
  int status = out->faces ? check_faces_plate(out) : ERR_OK;
  double lo = INFINITY, hi = -INFINITY;
  for (int s = 0; s < DECOMP_NSIDES && status == ERR_OK; s++) {
    bool across = s == DECOMP_NORTH || s == DECOMP_SOUTH; /* along x */
    int64_t n = (across ? cfg->nx : cfg->ny) + 2;
    out->edge[s] = calloc((size_t)n, sizeof *out->edge[s]);
    if (out->edge[s] == NULL) {
      status = err_set(ERR_FAILURE, "out of memory for the boundary");
      break;
    }
    out->boundary.side[s] = out->edge[s];
    if (out->free_edge[s])
      continue; /* its ring holds 0, read through a conductance 0 */
    /* the edge's own first and last ring points and the edges that meet it at its ends */
    int low = across ? DECOMP_WEST : DECOMP_NORTH, high = across ? DECOMP_EAST : DECOMP_SOUTH;
    int64_t shift = out->free_edge[low]; /* ring point c lies at (c - shift) h along the edge */
    struct formula f;
    status = formula_open(&f, cfg, given[s], edge_key[s], cfg_origin(cfg, edge_key[s]));
    for (int64_t c = 0; c < n && status == ERR_OK; c++) {
      /* a corner beside an edge that is not held lies off the plate: it shows its neighbour */
      int64_t cc = c == 0 && out->free_edge[low]        ? 1
                   : c == n - 1 && out->free_edge[high] ? n - 2
                                                        : c;
      double along = at(out, cc - shift);
      double x = across             ? along
                 : s == DECOMP_WEST ? 0.0
                                    : at(out, cfg->nx + 1 - shift_of(out, DECOMP_WEST));
      double y = !across             ? along
                 : s == DECOMP_NORTH ? 0.0
                                     : at(out, cfg->ny + 1 - shift_of(out, DECOMP_NORTH));
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
  free(plate->conductivity);
  plate->conductivity = NULL;
  free(plate->heater_quarters);
  plate->heater_quarters = NULL;
  free(plate->heater_power);
  plate->heater_power = NULL;
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
    double x = x_of(p, first % nx), y = y_of(p, first / nx);
    status = bad_value(f, formula_at(f, x, y), x, y, what);
  }
  return team_agree(team, status);
}

#define TEMPERATURE_RULE "a temperature must be finite, within +-1e300"
static const char *const temperature_rule = TEMPERATURE_RULE;

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
    double x = x_of(p, f->tiles[t].col0 + lj), y = y_of(p, f->tiles[t].row0 + li);
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
    double x = x_of(p, f->tiles[t].col0 + lj), y = y_of(p, f->tiles[t].row0 + li);
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
static bool region_held(const struct cfg_region *r) {
  /* a region of the older plates is held whatever the parser says of it */
  return r->held || !(r->has_conductivity || r->has_power);
}

static int fill_regions(struct plate *p, struct field *f, const struct team *team, double *temps,
                        int64_t *counts, int64_t *inside_counts) {
  const struct cfg *cfg = p->cfg;
  f->fixed = calloc(f->buffer_len > 0 ? (size_t)f->buffer_len : 1, 1);
  double *mask = NULL;
  int status = team_agree(
      team, f->fixed != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory for the regions"));
  for (int k = cfg->nregions - 1; k >= 0 && status == ERR_OK; k--) {
    const struct cfg_region *r = &cfg->regions[k];
    if (!region_held(r))
      continue;
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
      double x = x_of(p, f->tiles[t].col0 + lj), y = y_of(p, f->tiles[t].row0 + li);
      if (r->shape == CFG_REGION_MASK ? mask[o] == 0.0 : !inside(r, x, y, p->spacing))
        continue;
      inside_counts[k]++;
      if (f->fixed[o] > 0)
        continue; /* a later region holds it */
      double v = formula_at(&temp, x, y);
      if (!temperature_ok(v))
        refuse_at(&refused, f, t, li, lj);
      f->fixed[o] = (unsigned char)(k + 1);
      temps[o] = v;
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
  while (k < cfg->nregions && (total[k] > 0 || !region_held(&cfg->regions[k])))
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

/* ---- the faces operator -----------------------------------------------------------------------
 * docs/numerics.md, "Real plates": vertex-centred finite volumes. Each node's control volume is
 * its h x h cell clipped to the plate (h^2, h^2 / 2 on an edge that is not held, h^2 / 4 at a
 * corner of two); between neighbours the conductance t k_face (length of their shared face) / h,
 * k_face the harmonic mean; the node's own terms (its volume's source, surface exchange and
 * heater share, its edge's convection and flux) below. Every term is computed by one function
 * from the node's global indices alone, so each rank computes the same bits for a point. */

/* The formulas of the faces operator, opened once: conductivity, each edge's h, ambient and
 * flux, the surface's h and ambient. Unused ones stay closed (given NULL). */
enum {
  FF_K,
  FF_EDGE_H,
  FF_EDGE_AMBIENT = FF_EDGE_H + DECOMP_NSIDES,
  FF_EDGE_FLUX = FF_EDGE_AMBIENT + DECOMP_NSIDES,
  FF_SURFACE_H = FF_EDGE_FLUX + DECOMP_NSIDES,
  FF_SURFACE_AMBIENT,
  FF_COUNT
};

struct faces_formulas {
  struct formula form[FF_COUNT];
  struct refusal refused[FF_COUNT];
  char keys[FF_COUNT][48], origins[FF_COUNT][1100];
  struct cfg_expr number; /* plate.conductivity when it is a number */
  bool surface;
};

static const char *const ff_rule[FF_COUNT] = {
    [FF_K] = "a conductivity must be positive and finite",
    [FF_EDGE_H] = "a heat transfer coefficient must be finite and >= 0",
    [FF_EDGE_H + 1] = "a heat transfer coefficient must be finite and >= 0",
    [FF_EDGE_H + 2] = "a heat transfer coefficient must be finite and >= 0",
    [FF_EDGE_H + 3] = "a heat transfer coefficient must be finite and >= 0",
    [FF_EDGE_AMBIENT] = TEMPERATURE_RULE,
    [FF_EDGE_AMBIENT + 1] = TEMPERATURE_RULE,
    [FF_EDGE_AMBIENT + 2] = TEMPERATURE_RULE,
    [FF_EDGE_AMBIENT + 3] = TEMPERATURE_RULE,
    [FF_EDGE_FLUX] = "a heat flux must be finite",
    [FF_EDGE_FLUX + 1] = "a heat flux must be finite",
    [FF_EDGE_FLUX + 2] = "a heat flux must be finite",
    [FF_EDGE_FLUX + 3] = "a heat flux must be finite",
    [FF_SURFACE_H] = "a heat transfer coefficient must be finite and >= 0",
    [FF_SURFACE_AMBIENT] = TEMPERATURE_RULE};

static bool surface_given(const struct cfg *cfg) {
  return cfg->surface_h.text != NULL || cfg->surface_h.value != 0.0;
}

static int ff_open_one(struct faces_formulas *ff, const struct cfg *cfg, int k,
                       const struct cfg_expr *given, const char *key) {
  snprintf(ff->keys[k], sizeof ff->keys[k], "%s", key);
  snprintf(ff->origins[k], sizeof ff->origins[k], "%s", cfg_origin(cfg, key));
  return formula_open(&ff->form[k], cfg, given, ff->keys[k], ff->origins[k]);
}

static void faces_close(struct faces_formulas *ff) {
  for (int k = 0; k < FF_COUNT; k++)
    if (ff->form[k].given != NULL)
      formula_close(&ff->form[k]);
}

/* Open what the plate uses. Not collective (only memory can fail). */
static int faces_open(const struct plate *p, struct faces_formulas *ff) {
  const struct cfg *cfg = p->cfg;
  static const char *const edge_name[DECOMP_NSIDES] = {"top", "bottom", "left", "right"};
  memset(ff, 0, sizeof *ff);
  for (int k = 0; k < FF_COUNT; k++)
    ff->refused[k].index = INT64_MAX;
  int status = ERR_OK;
  /* a conductivity given as a number is that number (conductivity_k's text is NULL) */
  ff->number = (struct cfg_expr){.value = cfg->conductivity, .text = NULL};
  const struct cfg_expr *k = cfg->conductivity_k.text != NULL ? &cfg->conductivity_k : &ff->number;
  status = ff_open_one(ff, cfg, FF_K, k, "plate.conductivity");
  for (int s = 0; s < DECOMP_NSIDES && status == ERR_OK; s++) {
    const struct cfg_edge *e = &cfg->edge[s];
    char key[48];
    if (e->kind == CFG_EDGE_CONVECTIVE) {
      snprintf(key, sizeof key, "boundary.%s.h", edge_name[s]);
      status = ff_open_one(ff, cfg, FF_EDGE_H + s, &e->h, key);
      snprintf(key, sizeof key, "boundary.%s.ambient", edge_name[s]);
      if (status == ERR_OK)
        status = ff_open_one(ff, cfg, FF_EDGE_AMBIENT + s, &e->ambient, key);
    } else if (e->kind == CFG_EDGE_FLUX) {
      snprintf(key, sizeof key, "boundary.%s.flux", edge_name[s]);
      status = ff_open_one(ff, cfg, FF_EDGE_FLUX + s, &e->flux, key);
    }
  }
  ff->surface = surface_given(cfg);
  if (status == ERR_OK && ff->surface) {
    status = ff_open_one(ff, cfg, FF_SURFACE_H, &cfg->surface_h, "surface.h");
    if (status == ERR_OK)
      status = ff_open_one(ff, cfg, FF_SURFACE_AMBIENT, &cfg->surface_ambient, "surface.ambient");
  }
  if (status != ERR_OK)
    faces_close(ff);
  return status;
}

/* A formula's value at a node, its refusal recorded (then 0) where the rule refuses it. */
static double ff_value(struct faces_formulas *ff, int k, double x, double y, const struct field *f,
                       int64_t t, int64_t li, int64_t lj) {
  double v = formula_at(&ff->form[k], x, y);
  bool ok;
  if (k == FF_K)
    ok = isfinite(v) && v > 0;
  else if (k == FF_SURFACE_H || (k >= FF_EDGE_H && k < FF_EDGE_AMBIENT))
    ok = isfinite(v) && v >= 0;
  else if (k >= FF_EDGE_FLUX && k < FF_SURFACE_H)
    ok = isfinite(v);
  else
    ok = temperature_ok(v);
  if (!ok) {
    refuse_at(&ff->refused[k], f, t, li, lj);
    v = 0.0;
  }
  return v;
}

/* The agreed outcome of every formula's refusals, the first formula first. Collective. */
static int faces_agree(const struct plate *p, const struct team *team, struct faces_formulas *ff) {
  for (int k = 0; k < FF_COUNT; k++)
    if (ff->form[k].given != NULL)
      CHECK(agree_refusal(p, team, &ff->refused[k], &ff->form[k], ff_rule[k]));
  return ERR_OK;
}

/* The node's share of the plate: which edges it lies on (those not held), its control volume's
 * width and height in units of h (1, or 1/2 on such an edge). */
struct node_cell {
  bool on[DECOMP_NSIDES];
  double wx, wy;
  int64_t quarters; /* its area in quarter cells: 4, 2 or 1 */
};

static struct node_cell node_cell(const struct plate *p, int64_t gi, int64_t gj) {
  const struct cfg *cfg = p->cfg;
  struct node_cell c = {.on = {[DECOMP_NORTH] = gi == 0 && p->free_edge[DECOMP_NORTH],
                               [DECOMP_SOUTH] = gi == cfg->ny - 1 && p->free_edge[DECOMP_SOUTH],
                               [DECOMP_WEST] = gj == 0 && p->free_edge[DECOMP_WEST],
                               [DECOMP_EAST] = gj == cfg->nx - 1 && p->free_edge[DECOMP_EAST]}};
  bool half_x = c.on[DECOMP_WEST] || c.on[DECOMP_EAST];
  bool half_y = c.on[DECOMP_NORTH] || c.on[DECOMP_SOUTH];
  c.wx = half_x ? 0.5 : 1.0;
  c.wy = half_y ? 0.5 : 1.0;
  c.quarters = (half_x ? 1 : 2) * (half_y ? 1 : 2);
  return c;
}

/* What a free node holds of its own (no neighbour in it): W/K on the diagonal and W into the
 * load from each edge it lies on (convection h t L and h t L T_amb; a flux's flux t L), from
 * its faces (faces h_s V and that times T_s) and from its sources (q V). */
struct node_terms {
  double volume;
  double side_coef[DECOMP_NSIDES], side_load[DECOMP_NSIDES];
  double surface_coef, surface_load, source;
};

static void node_terms(const struct plate *p, struct faces_formulas *ff, const struct field *f,
                       int64_t t, int64_t li, int64_t lj, int64_t o, struct node_terms *nt) {
  const struct cfg *cfg = p->cfg;
  int64_t gi = f->tiles[t].row0 + li, gj = f->tiles[t].col0 + lj;
  double x = x_of(p, gj), y = y_of(p, gi), h = p->spacing, tk = cfg->thickness;
  struct node_cell c = node_cell(p, gi, gj);
  *nt = (struct node_terms){.volume = (h * h) * (c.wx * c.wy)};
  for (int s = 0; s < DECOMP_NSIDES; s++) {
    if (!c.on[s])
      continue;
    double length = h * (s == DECOMP_NORTH || s == DECOMP_SOUTH ? c.wx : c.wy);
    if (cfg->edge[s].kind == CFG_EDGE_CONVECTIVE) {
      double hc = ff_value(ff, FF_EDGE_H + s, x, y, f, t, li, lj);
      double ambient = ff_value(ff, FF_EDGE_AMBIENT + s, x, y, f, t, li, lj);
      nt->side_coef[s] = hc * tk * length;
      nt->side_load[s] = nt->side_coef[s] * ambient;
    } else if (cfg->edge[s].kind == CFG_EDGE_FLUX) {
      nt->side_load[s] = ff_value(ff, FF_EDGE_FLUX + s, x, y, f, t, li, lj) * tk * length;
    }
  }
  if (ff->surface) {
    double hs = ff_value(ff, FF_SURFACE_H, x, y, f, t, li, lj);
    double ambient = ff_value(ff, FF_SURFACE_AMBIENT, x, y, f, t, li, lj);
    nt->surface_coef = (double)cfg->surface_faces * hs * nt->volume;
    nt->surface_load = nt->surface_coef * ambient;
  }
  nt->source = f->source != NULL && f->source[o] != 0.0 ? f->source[o] * nt->volume : 0.0;
}

/* The node's own diagonal and load, in one order everywhere. */
static double node_diag(const struct node_terms *nt) {
  const double *c = nt->side_coef;
  return nt->surface_coef +
         ((c[DECOMP_NORTH] + c[DECOMP_SOUTH]) + (c[DECOMP_WEST] + c[DECOMP_EAST]));
}
static double node_load(const struct node_terms *nt) {
  const double *l = nt->side_load;
  return (nt->source + nt->surface_load) +
         ((l[DECOMP_NORTH] + l[DECOMP_SOUTH]) + (l[DECOMP_WEST] + l[DECOMP_EAST]));
}

/* Whether region r's shape covers point (t, li, lj): mask from `mask` (read by the caller). */
static bool region_covers(const struct plate *p, const struct cfg_region *r, const double *mask,
                          const struct field *f, int64_t t, int64_t li, int64_t lj, int64_t o) {
  if (r->shape == CFG_REGION_MASK)
    return mask[o] != 0.0;
  return inside(r, x_of(p, f->tiles[t].col0 + lj), y_of(p, f->tiles[t].row0 + li), p->spacing);
}

/* Region k's mask into `mask` when it is one (read from its file). Collective; agreed. */
static int region_mask(const struct plate *p, int k, const struct field *f, const struct team *team,
                       double *mask) {
  const struct cfg *cfg = p->cfg;
  const struct cfg_region *r = &cfg->regions[k];
  if (r->shape != CFG_REGION_MASK)
    return ERR_OK;
  char key[64], origin[300];
  snprintf(origin, sizeof origin, "%s:%d", cfg->source_name, r->line);
  snprintf(key, sizeof key, "region[%d].file", k + 1);
  return io_read_interior(r->file, r->dataset, key, origin, f, team, mask);
}

/* k at every point this rank owns: the number or expression, the dataset over them, the
 * regions' over all (later regions win). Collective; agreed. */
static int fill_conductivity(struct plate *p, struct field *f, const struct team *team,
                             struct faces_formulas *ff, double *mask) {
  const struct cfg *cfg = p->cfg;
  double *k = p->conductivity;
  bool file = cfg->conductivity_file != NULL && cfg->conductivity_file[0] != '\0';
  if (file) {
    const char *key = "plate.conductivity_file";
    CHECK(io_read_interior(cfg->conductivity_file,
                           cfg->conductivity_dataset != NULL ? cfg->conductivity_dataset
                                                             : "/conductivity",
                           key, cfg_origin(cfg, key), f, team, k));
  } else {
    FOR_EACH_POINT(f, t, li, lj, o)
    k[o] = ff_value(ff, FF_K, x_of(p, f->tiles[t].col0 + lj), y_of(p, f->tiles[t].row0 + li), f, t,
                    li, lj);
    CHECK(agree_refusal(p, team, &ff->refused[FF_K], &ff->form[FF_K], ff_rule[FF_K]));
  }
  for (int r = 0; r < cfg->nregions; r++) {
    const struct cfg_region *region = &cfg->regions[r];
    if (!region->has_conductivity)
      continue;
    CHECK(region_mask(p, r, f, team, mask));
    char key[64];
    snprintf(key, sizeof key, "region[%d].conductivity", r + 1);
    struct formula g;
    char origin[1100];
    snprintf(origin, sizeof origin, "%s", cfg_origin(cfg, key));
    CHECK(team_agree(team, formula_open(&g, cfg, &region->conductivity, key, origin)));
    struct refusal refused = {INT64_MAX};
    int64_t covered = 0, covered_all = 0;
    FOR_EACH_POINT(f, t, li, lj, o) {
      if (!region_covers(p, region, mask, f, t, li, lj, o))
        continue;
      covered++;
      double v = formula_at(&g, x_of(p, f->tiles[t].col0 + lj), y_of(p, f->tiles[t].row0 + li));
      if (!(isfinite(v) && v > 0))
        refuse_at(&refused, f, t, li, lj);
      k[o] = v;
    }
    int status = agree_refusal(p, team, &refused, &g, ff_rule[FF_K]);
    formula_close(&g);
    CHECK(status);
    /* a material that covers no point would change nothing: refused, as a held region is */
    MPI_CHECK(MPI_Allreduce(&covered, &covered_all, 1, MPI_INT64_T, MPI_SUM, team->comm));
    if (covered_all == 0) {
      char name[256];
      return team_agree(team, team->rank != 0
                                  ? ERR_CONFIG
                                  : err_set(ERR_CONFIG,
                                            "%s holds no grid point: its conductivity would "
                                            "change nothing (the points lie every h = %.17g m); "
                                            "make it larger or the grid finer",
                                            region_name(cfg, r, name), p->spacing));
    }
  }
  /* a dataset's values: positive (io_read_interior checked them finite) */
  struct refusal refused = {INT64_MAX};
  double mine[2] = {INFINITY, INFINITY}, all[2]; /* min k, -max k */
  FOR_EACH_POINT(f, t, li, lj, o) {
    if (!(k[o] > 0))
      refuse_at(&refused, f, t, li, lj);
    mine[0] = fmin(mine[0], k[o]);
    mine[1] = fmin(mine[1], -k[o]);
  }
  int64_t first = INT64_MAX;
  MPI_CHECK(MPI_Allreduce(&refused.index, &first, 1, MPI_INT64_T, MPI_MIN, team->comm));
  if (first != INT64_MAX) {
    const char *key = "plate.conductivity_file";
    return team_agree(team, team->rank != 0
                                ? ERR_CONFIG
                                : err_set(ERR_CONFIG,
                                          "%s: %s = \"%s\" holds a conductivity that is not "
                                          "positive at x = %.17g m, y = %.17g m",
                                          cfg_origin(cfg, key), key, cfg->conductivity_file,
                                          x_of(p, first % cfg->nx), y_of(p, first / cfg->nx)));
  }
  MPI_CHECK(MPI_Allreduce(mine, all, 2, MPI_DOUBLE, MPI_MIN, team->comm));
  p->conductivity_varies = all[0] != -all[1];
  return ERR_OK;
}

/* Each heater's power into `load`, spread over its free points in proportion to their control
 * volumes: P q_p / Q with q_p the point's quarter cells and Q the heater's, an integer over
 * the whole grid, so the shares are the same bits on every decomposition and total P (up to
 * their rounding). A heater whose shape covers no free point is refused. Collective; agreed. */
static int fill_heaters(struct plate *p, struct field *f, const struct team *team, double *mask) {
  const struct cfg *cfg = p->cfg;
  for (int r = 0; r < cfg->nregions; r++) {
    const struct cfg_region *region = &cfg->regions[r];
    if (!region->has_power)
      continue;
    CHECK(region_mask(p, r, f, team, mask));
    int64_t mine = 0, total = 0;
    FOR_EACH_POINT(f, t, li, lj, o) {
      bool held = f->fixed != NULL && f->fixed[o] > 0;
      if (!held && region_covers(p, region, mask, f, t, li, lj, o))
        mine += node_cell(p, f->tiles[t].row0 + li, f->tiles[t].col0 + lj).quarters;
    }
    MPI_CHECK(MPI_Allreduce(&mine, &total, 1, MPI_INT64_T, MPI_SUM, team->comm));
    p->heater_quarters[r] = total;
    if (total == 0) {
      char name[256];
      return team_agree(team,
                        team->rank != 0
                            ? ERR_CONFIG
                            : err_set(ERR_CONFIG,
                                      "%s: region[%d].power = %g W has no point to heat: "
                                      "its shape covers no free grid point (the points "
                                      "lie every h = %.17g m); make it larger or the grid "
                                      "finer",
                                      region_name(cfg, r, name), r + 1, region->power, p->spacing));
    }
    exact_wide sum = 0;
    double scale = fabs(region->power);
    int shift = exact_shift(total);
    FOR_EACH_POINT(f, t, li, lj, o) {
      bool held = f->fixed != NULL && f->fixed[o] > 0;
      if (!held && region_covers(p, region, mask, f, t, li, lj, o)) {
        double q = (double)node_cell(p, f->tiles[t].row0 + li, f->tiles[t].col0 + lj).quarters;
        double share = region->power * q / (double)total;
        f->load[o] += share;
        sum += exact_quantise(share, scale, shift);
      }
    }
    /* what the heater delivers, as the heat flows report it: the same bits everywhere */
    exact_sum(team, &sum, 1, &scale, shift, &p->heater_power[r]);
  }
  return ERR_OK;
}

/* The faces plate's arrays this rank owns, but for the conductances (plate_fill_rings: they
 * need the neighbours' k): k, the held points, each node's own diagonal and load, the heaters;
 * the starting field; the refusals of a plate without a unique steady state; the bounds on the
 * answer by the maximum principle. Collective; agreed. */
static int fill_faces(struct plate *p, struct field *f, const struct team *team) {
  const struct cfg *cfg = p->cfg;
  for (int s = 0; s < DECOMP_NSIDES; s++)
    f->cond[s] = new_buffer(f);
  f->diag = new_buffer(f);
  f->load = new_buffer(f);
  p->conductivity = new_buffer(f);
  p->heater_quarters = calloc((size_t)cfg->nregions + 1, sizeof *p->heater_quarters);
  p->heater_power = calloc((size_t)cfg->nregions + 1, sizeof *p->heater_power);
  double *mask = new_buffer(f);
  int64_t *counts = calloc(4 * ((size_t)cfg->nregions + 1), sizeof *counts);
  bool ok = f->diag != NULL && f->load != NULL && p->conductivity != NULL &&
            p->heater_quarters != NULL && p->heater_power != NULL && mask != NULL && counts != NULL;
  for (int s = 0; s < DECOMP_NSIDES; s++)
    ok = ok && f->cond[s] != NULL;
  int status = team_agree(
      team, ok ? ERR_OK : err_set(ERR_FAILURE, "out of memory for the plate's equations"));
  struct faces_formulas ff;
  bool opened = false;
  if (status == ERR_OK)
    status = team_agree(team, faces_open(p, &ff));
  opened = status == ERR_OK;
  int64_t *inside_counts = counts + cfg->nregions + 1, *total = inside_counts + cfg->nregions + 1;
  bool any_held_region = false;
  for (int r = 0; r < cfg->nregions; r++)
    any_held_region = any_held_region || region_held(&cfg->regions[r]);
  if (status == ERR_OK && any_held_region) {
    status = fill_regions(p, f, team, f->load, counts, inside_counts);
    if (status == ERR_OK) {
      MPI_CHECK(
          MPI_Allreduce(counts, total, 2 * (cfg->nregions + 1), MPI_INT64_T, MPI_SUM, team->comm));
      status = check_regions_hold(p, team, total, total + cfg->nregions + 1);
    }
    for (int r = 0; status == ERR_OK && r < cfg->nregions; r++)
      p->fixed_points += total[r];
  }
  /* min start, -max start, min of what holds the plate, -max of it */
  double mine[4] = {INFINITY, INFINITY, INFINITY, INFINITY}, all[4];
  double start_hi = -INFINITY;
  if (status == ERR_OK)
    status = fill_initial(p, f, team, &mine[0], &start_hi);
  /* sources (q V at each free node); cfg_general is false on a faces plate, which takes them */
  if (status == ERR_OK && (cfg->source_q.text != NULL || cfg->source_q.value != 0.0 ||
                           (cfg->source_file != NULL && cfg->source_file[0] != '\0')))
    status = fill_source(p, f, team);
  if (status == ERR_OK)
    status = fill_conductivity(p, f, team, &ff, mask);
  /* whether anything anchors the plate (a held edge or point, convection or exchange with
   * h > 0), whether a load from sources, fluxes or heaters is positive (then no upper bound
   * here) or negative (no lower) */
  double lo = p->answer_lo, hi = p->answer_hi; /* the held edges' extremes */
  bool pushes_up = false, pushes_down = false, anchored = false;
  for (int s = 0; s < DECOMP_NSIDES; s++)
    anchored = anchored || !p->free_edge[s];
  if (status == ERR_OK) {
    FOR_EACH_POINT(f, t, li, lj, o) {
      if (f->fixed != NULL && f->fixed[o] > 0) {
        /* held: its row is the identity; the load holds its temperature (fill_regions) */
        f->diag[o] = 1.0;
        f->base[o] = f->base[f->buffer_len + o] = f->load[o];
        lo = fmin(lo, f->load[o]);
        hi = fmax(hi, f->load[o]);
        anchored = true;
        continue;
      }
      struct node_terms nt;
      node_terms(p, &ff, f, t, li, lj, o, &nt);
      f->diag[o] = node_diag(&nt);
      f->load[o] = node_load(&nt);
      for (int s = 0; s < DECOMP_NSIDES; s++) {
        double flux = cfg->edge[s].kind == CFG_EDGE_FLUX ? nt.side_load[s] : 0.0;
        pushes_up = pushes_up || flux > 0;
        pushes_down = pushes_down || flux < 0;
        if (nt.side_coef[s] > 0) {
          double ambient = formula_at(&ff.form[FF_EDGE_AMBIENT + s], x_of(p, f->tiles[t].col0 + lj),
                                      y_of(p, f->tiles[t].row0 + li));
          lo = fmin(lo, ambient);
          hi = fmax(hi, ambient);
          anchored = true;
        }
      }
      if (nt.surface_coef > 0) {
        double ambient = formula_at(&ff.form[FF_SURFACE_AMBIENT], x_of(p, f->tiles[t].col0 + lj),
                                    y_of(p, f->tiles[t].row0 + li));
        lo = fmin(lo, ambient);
        hi = fmax(hi, ambient);
        anchored = true;
      }
      pushes_up = pushes_up || nt.source > 0;
      pushes_down = pushes_down || nt.source < 0;
    }
    status = faces_agree(p, team, &ff);
  }
  if (status == ERR_OK)
    status = fill_heaters(p, f, team, mask);
  for (int r = 0; status == ERR_OK && r < cfg->nregions; r++) {
    pushes_up = pushes_up || cfg->regions[r].power > 0;
    pushes_down = pushes_down || cfg->regions[r].power < 0;
  }
  if (opened)
    faces_close(&ff);
  free(mask);
  free(counts);
  if (status != ERR_OK)
    return status;
  mine[1] = -start_hi;
  mine[2] = lo;
  mine[3] = -hi;
  MPI_CHECK(MPI_Allreduce(mine, all, 4, MPI_DOUBLE, MPI_MIN, team->comm));
  int flags[2] = {anchored, pushes_up + 2 * pushes_down}, agreed[2];
  MPI_CHECK(MPI_Allreduce(flags, agreed, 2, MPI_INT, MPI_BOR, team->comm));
  p->start_lo = all[0];
  p->start_hi = -all[1];
  if (!agreed[0] && !cfg->transient) /* a transient's is unique: C/dt anchors every step */
    return team_agree(team,
                      err_set(ERR_CONFIG,
                              "%s: the plate has no held edge, no held region, no convective "
                              "edge with h > 0 and no surface exchange, so its steady state is "
                              "not unique (any constant could be added to it); hold an edge or "
                              "a region at a temperature, or let heat leave by convection",
                              cfg->source_name));
  /* The maximum principle (an M-matrix, each row's diagonal at least its conductances' sum):
   * without sources, fluxes or heaters T* lies between the extremes of what holds it (held
   * temperatures, the ambients of convection and exchange with h > 0); a load that pushes up
   * (down) leaves it no upper (lower) bound here (the bound is estimate.h's to give). */
  p->answer_lo = (agreed[1] & 2) ? -INFINITY : all[2];
  p->answer_hi = (agreed[1] & 1) ? INFINITY : -all[3];
  return ERR_OK;
}

/* The conductances, from each point's k and its neighbours' (the k rings filled): t k_face w,
 * k_face the harmonic mean 2 k_p k_q / (k_p + k_q) (the same bits from either side), w the
 * shared face's length over h (the node's height fraction for a face east or west, its width
 * fraction north or south: the same for both nodes of the face); to a held edge's ring t k_p w
 * (the edge is a temperature, not a material); to the ring of an edge not held, 0. Then the
 * diagonal: the conductances' sum plus the node's own terms. A held point: all 0, diag 1. */
static void fill_conductances(const struct plate *p, struct field *f) {
  const struct cfg *cfg = p->cfg;
  const double *k = p->conductivity;
  double tk = cfg->thickness;
  FOR_EACH_POINT(f, t, li, lj, o) {
    int64_t stride = field_stride(f, t), gi = f->tiles[t].row0 + li, gj = f->tiles[t].col0 + lj;
    const int64_t step[DECOMP_NSIDES] = {
        [DECOMP_NORTH] = -stride, [DECOMP_SOUTH] = stride, [DECOMP_WEST] = -1, [DECOMP_EAST] = 1};
    const bool ring[DECOMP_NSIDES] = {[DECOMP_NORTH] = gi == 0,
                                      [DECOMP_SOUTH] = gi == cfg->ny - 1,
                                      [DECOMP_WEST] = gj == 0,
                                      [DECOMP_EAST] = gj == cfg->nx - 1};
    if (f->fixed != NULL && f->fixed[o] > 0) {
      for (int s = 0; s < DECOMP_NSIDES; s++)
        f->cond[s][o] = 0.0;
      continue; /* diag 1 already */
    }
    struct node_cell c = node_cell(p, gi, gj);
    double c_[DECOMP_NSIDES];
    for (int s = 0; s < DECOMP_NSIDES; s++) {
      double w = s == DECOMP_NORTH || s == DECOMP_SOUTH ? c.wx : c.wy;
      double kp = k[o], kf;
      if (ring[s])
        kf = p->free_edge[s] ? 0.0 : kp;
      else {
        double kq = k[o + step[s]];
        kf = 2.0 * (kp * kq) / (kp + kq);
      }
      c_[s] = tk * kf * w;
      f->cond[s][o] = c_[s];
    }
    f->diag[o] =
        ((c_[DECOMP_NORTH] + c_[DECOMP_SOUTH]) + (c_[DECOMP_WEST] + c_[DECOMP_EAST])) + f->diag[o];
  }
}

void plate_capacity(const struct plate *p, const struct field *f, double *capacity) {
  const struct cfg *cfg = p->cfg;
  double h = p->spacing, rct = (cfg->density * cfg->specific_heat) * cfg->thickness;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t stride = field_stride(f, t), base = f->tile_offset[t] + f->depth * stride + f->depth;
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        int64_t o = base + li * stride + lj;
        struct node_cell c = node_cell(p, f->tiles[t].row0 + li, f->tiles[t].col0 + lj);
        bool held = f->fixed != NULL && f->fixed[o] > 0 && cfg->regions[f->fixed[o] - 1].held;
        capacity[o] = held ? 0.0 : rct * ((h * h) * (c.wx * c.wy));
      }
  }
}

int plate_fill(struct plate *p, struct field *f, const struct team *team) {
  if (p->faces)
    return fill_faces(p, f, team);
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
    status = fill_regions(p, f, team, f->rhs, counts, inside);
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

/* Fill the rings of each of the n arrays (laid out as a field buffer) with their owners' values:
 * through the field's other buffer (restored), one exchange each. Collective; agreed. */
static int exchange_arrays(struct field *f, struct halo *halo, const struct team *team,
                           double *const *arrays, int n) {
  double *saved = malloc((size_t)(f->buffer_len > 0 ? f->buffer_len : 1) * sizeof *saved);
  CHECK(team_agree(team,
                   saved != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory for the rings")));
  int scratch = 1 - f->current;
  double *buf = f->base + (int64_t)scratch * f->buffer_len;
  copy_buffer(f, saved, buf);
  for (int k = 0; k < n; k++) {
    copy_buffer(f, buf, arrays[k]);
    if (halo_exchange(halo, scratch) != ERR_OK)
      team_abort(team, ERR_FAILURE);
    copy_rings(f, buf, arrays[k]);
    /* the neighbours' reads of this round are ordered before our next writes of the buffer
     * by an exchange of the other one (halo.c) */
    if (halo_exchange(halo, f->current) != ERR_OK)
      team_abort(team, ERR_FAILURE);
  }
  copy_buffer(f, buf, saved);
  free(saved);
  return ERR_OK;
}

int plate_fill_rings(const struct plate *plate, struct field *f, struct halo *halo,
                     const struct team *team) {
  if (field_faces(f)) {
    /* the conductances need the neighbours' k: its rings first, at any depth */
    double *const k[1] = {plate->conductivity};
    CHECK(exchange_arrays(f, halo, team, k, 1));
    fill_conductances(plate, f);
    if (f->depth <= 1)
      return ERR_OK;
    double *const terms[DECOMP_NSIDES + 2] = {f->cond[DECOMP_NORTH],
                                              f->cond[DECOMP_SOUTH],
                                              f->cond[DECOMP_WEST],
                                              f->cond[DECOMP_EAST],
                                              f->diag,
                                              f->load};
    return exchange_arrays(f, halo, team, terms, DECOMP_NSIDES + 2);
  }
  if (!field_general(f) || f->depth <= 1)
    return ERR_OK;
  double *const terms[2] = {f->coef, f->rhs};
  return exchange_arrays(f, halo, team, terms, 2);
}

void plate_impose(const struct plate *plate, struct field *f, int buf) {
  (void)plate;
  if (f->fixed == NULL)
    return;
  double *b = f->base + (int64_t)buf * f->buffer_len;
  const double *held = field_faces(f) ? f->load : f->rhs; /* the temperature at a held point */
  FOR_EACH_POINT(f, t, li, lj, o) {
    (void)t;
    (void)li;
    (void)lj;
    if (f->fixed[o] > 0)
      b[o] = held[o];
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
  int n;             /* quantities: HEAT_EDGES + nregions + 2 (+ 1: the faces' exchange) */
  int source_k;      /* the sources' quantity, HEAT_EDGES + nregions; the surface's follows */
  struct faces_formulas *ff; /* a faces plate's, to recompute each node's own terms */
  double max_diag;           /* pass 1: the largest diagonal of a free point (faces) */
  double *max;               /* pass 1: largest |term| of each */
  exact_wide *sum;           /* pass 2: quantised sums */
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

/* Point (li, lj) of tile t: the offset to its neighbour on each side, and whether that side's
 * neighbour is on the plate's ring (an edge). */
static void point_sides(const struct field *f, int64_t t, int64_t li, int64_t lj,
                        int64_t step[DECOMP_NSIDES], bool ring[DECOMP_NSIDES]) {
  int64_t stride = field_stride(f, t), gi = f->tiles[t].row0 + li, gj = f->tiles[t].col0 + lj;
  step[DECOMP_NORTH] = -stride;
  step[DECOMP_SOUTH] = stride;
  step[DECOMP_WEST] = -1;
  step[DECOMP_EAST] = 1;
  ring[DECOMP_NORTH] = gi == 0;
  ring[DECOMP_SOUTH] = gi == f->layout->ny - 1;
  ring[DECOMP_WEST] = gj == 0;
  ring[DECOMP_EAST] = gj == f->layout->nx - 1;
}

static void heat_visit(struct heat_pass *hp) {
  const struct field *f = hp->f;
  const struct cfg *cfg = hp->p->cfg;
  double kt = cfg->conductivity * cfg->thickness, area = hp->p->spacing * hp->p->spacing;
  const double *cur = f->base + (int64_t)f->current * f->buffer_len;
  FOR_EACH_POINT(f, t, li, lj, o) {
    if (f->fixed != NULL && f->fixed[o] > 0)
      continue;
    int64_t step[DECOMP_NSIDES];
    bool ring[DECOMP_NSIDES];
    point_sides(f, t, li, lj, step, ring);
    double T = cur[o];
    for (int s = 0; s < DECOMP_NSIDES; s++) {
      double term = OP_FACE_FLOW(kt, cur[o + step[s]], T);
      if (ring[s])
        add_term(hp, s, term);
      else if (hp->ids != NULL && hp->ids[o + step[s]] > 0)
        add_term(hp, HEAT_EDGES + (int)hp->ids[o + step[s]] - 1, term);
    }
    if (f->source != NULL)
      add_term(hp, hp->source_k, f->source[o] * area);
    if (hp->sum == NULL) {
      double avg = OP_LAPLACE(cur[o + step[DECOMP_NORTH]], cur[o + step[DECOMP_SOUTH]], cur[o - 1],
                              cur[o + 1]);
      double u = f->coef != NULL ? OP_GENERAL(f->coef[o], avg, f->rhs[o]) : avg;
      hp->change = fmax(hp->change, fabs(u - T));
      hp->free_points++;
    }
  }
}

/* The faces plate's flows into each free point: through the conductances from a held edge's
 * ring and from held points; its own terms (convection and flux from its edges, exchange
 * through its faces, its sources); the heaters are the plate's totals (fill_heaters). Summed
 * over the free points, the conductances between free points cancel (symmetric, bit for bit)
 * and the flows total the residuals' sum: load + sum cond nb - diag T at each. */
static void heat_visit_faces(struct heat_pass *hp) {
  const struct field *f = hp->f;
  const struct plate *p = hp->p;
  const double *cur = f->base + (int64_t)f->current * f->buffer_len;
  FOR_EACH_POINT(f, t, li, lj, o) {
    if (f->fixed != NULL && f->fixed[o] > 0)
      continue;
    int64_t step[DECOMP_NSIDES];
    bool ring[DECOMP_NSIDES];
    point_sides(f, t, li, lj, step, ring);
    double T = cur[o];
    for (int s = 0; s < DECOMP_NSIDES; s++) {
      double term = OP_FACE_FLOW(f->cond[s][o], cur[o + step[s]], T);
      if (ring[s] && !p->free_edge[s])
        add_term(hp, s, term);
      else if (!ring[s] && hp->ids != NULL && hp->ids[o + step[s]] > 0)
        add_term(hp, HEAT_EDGES + (int)hp->ids[o + step[s]] - 1, term);
    }
    struct node_terms nt;
    node_terms(p, hp->ff, f, t, li, lj, o, &nt);
    for (int s = 0; s < DECOMP_NSIDES; s++)
      if (nt.side_coef[s] != 0.0 || nt.side_load[s] != 0.0)
        add_term(hp, s, nt.side_load[s] - nt.side_coef[s] * T); /* h t L (T_amb - T), or flux */
    if (hp->ff->surface)
      add_term(hp, hp->source_k + 1, nt.surface_load - nt.surface_coef * T);
    if (nt.source != 0.0)
      add_term(hp, hp->source_k, nt.source);
    if (hp->sum == NULL) {
      double sum =
          OP_FACES(f->cond[DECOMP_NORTH][o], cur[o + step[DECOMP_NORTH]], f->cond[DECOMP_SOUTH][o],
                   cur[o + step[DECOMP_SOUTH]], f->cond[DECOMP_WEST][o], cur[o - 1],
                   f->cond[DECOMP_EAST][o], cur[o + 1]);
      double u = OP_FACES_UPDATE(sum, f->load[o], f->diag[o]);
      hp->change = fmax(hp->change, fabs(u - T));
      hp->max_diag = fmax(hp->max_diag, f->diag[o]);
      hp->free_points++;
    }
  }
}

int plate_heat_flow(const struct plate *p, struct field *f, struct halo *halo,
                    const struct team *team, struct plate_heat *out) {
  const struct cfg *cfg = p->cfg;
  *out = (struct plate_heat){0};
  bool faces = field_faces(f);
  int n = HEAT_EDGES + cfg->nregions + (faces ? 3 : 2);
  struct faces_formulas ff;
  if (faces)
    CHECK(team_agree(team, faces_open(p, &ff)));
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
  struct heat_pass hp = {
      .p = p, .f = f, .n = n, .source_k = HEAT_EDGES + cfg->nregions, .ff = &ff, .max = max};
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
  /* a faces point has up to 4 + 4 + 2 terms, a general one 4 */
  int terms_per_point = faces ? 10 : 4;
  void (*visit)(struct heat_pass *) = faces ? heat_visit_faces : heat_visit;
  if (status == ERR_OK) {
    visit(&hp);
    double mine[2] = {-hp.change, -hp.max_diag}, agreed[2];
    MPI_CHECK(MPI_Allreduce(mine, agreed, 2, MPI_DOUBLE, MPI_MIN, team->comm));
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, max, n, MPI_DOUBLE, MPI_MAX, team->comm));
    int64_t free_points = 0;
    MPI_CHECK(MPI_Allreduce(&hp.free_points, &free_points, 1, MPI_INT64_T, MPI_SUM, team->comm));
    hp.shift = exact_shift(terms_per_point * free_points + 1);
    hp.scale = max;
    hp.sum = sum;
    visit(&hp);
    exact_sum(team, sum, n, max, hp.shift, totals);
    for (int r = 0; faces && r < cfg->nregions; r++)
      totals[HEAT_EDGES + r] += p->heater_power[r]; /* 0 but for heaters */
    for (int s = 0; s < DECOMP_NSIDES; s++)
      out->edge[s] = totals[s];
    double imbalance = 0.0;
    for (int k = 0; k < n - 1; k++) {
      if (k >= HEAT_EDGES && k < hp.source_k)
        out->region[k - HEAT_EDGES] = totals[k];
      imbalance += totals[k];
    }
    out->source = totals[hp.source_k];
    out->surface = faces ? totals[hp.source_k + 1] : 0.0;
    out->faces = faces;
    out->imbalance = imbalance;
    out->change = -agreed[0];
    /* the residuals' sum, plus each term's rounding (2^-52 |term|) and quantisation; a faces
     * point's residual is diag (u - T), at most its diagonal times d */
    double kt = cfg->conductivity * cfg->thickness;
    double quantised = 0.0;
    for (int k = 0; k < n; k++)
      quantised += max[k];
    double per_point = faces ? -agreed[1] : 4.0 * kt;
    out->imbalance_bound =
        per_point * (double)free_points * out->change * (1 + 1e-12) + ldexp(totals[n - 1], -50) +
        terms_per_point * (double)free_points * quantised * ldexp(1.0, -hp.shift);
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
  if (faces)
    faces_close(&ff);
  if (status != ERR_OK)
    plate_heat_release(out);
  return status;
}

void plate_heat_release(struct plate_heat *heat) {
  free(heat->region);
  heat->region = NULL;
}
