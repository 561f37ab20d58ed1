/* cfg.c - jacobi's configuration; see cfg.h.
 *
 * The schema below is the one place a key is described. Applying the file and the --set
 * overrides, the messages (with their "did you mean"), the defaults, cfg_print, the reference
 * table and cfg_origin all read it; adding a key is adding a row (and its field in cfg.h).
 *
 * Order of work in cfg_create: defaults, then the file's entries in source order, then the
 * --set overrides in order (a later one wins), then the checks that need every key at once
 * (required keys, the grid's size), each edge's kind (from which of its keys were given: the
 * spacing depends on it), the conductivity and the faces' exchange, the plate's size (width and
 * height from each other), the expressions (compiled against that size), each [[region]] (its
 * shape's keys, within the plate; held, material, heater), and last that something anchors the
 * temperature. The first error stops it, so the user reads one message.
 *
 * [[region]] keys are schema rows too (per_region): their fields are in struct cfg_region,
 * each [[region]] header (toml.h: a TOML_TABLE_ARRAY_ITEM entry) adds a region with their
 * defaults, and the keys after it (array_index) go to it.
 *
 * An edge's keys are rows with `edge` set: NAME (a temperature or the keyword "insulated") and
 * NAME.temperature share the field (the later given is the one compiled and blamed); flux, h
 * and ambient are the [boundary.NAME] table's, which TOML gives as dotted keys
 * boundary.NAME.h. cfg_print writes each edge in the keys of its kind.
 */
#include "io/cfg.h"

#include "common/err.h"
#include "io/expr.h"
#include "io/toml.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the schema ------------------------------------------------------------------------------ */

enum key_type {
  KEY_INT,      /* int64_t field */
  KEY_FLOAT,    /* double field; an integer in the file is accepted if a double holds it */
  KEY_STRING,   /* char * field, owned; non-empty unless may_be_empty */
  KEY_ENUM,     /* enum field, set from one of `choices` (its index is the enum's value) */
  KEY_BOOL,     /* bool field */
  KEY_INT_PAIR, /* int[2] field, from an array of two integers */
  KEY_FLOATS,   /* struct cfg_floats field, from an array of numbers (each as KEY_FLOAT) */
  KEY_EXPR,     /* struct cfg_expr field: a number (lo <= x <= hi, as KEY_FLOAT) or a string
                 * holding an expression of x and y, compiled once the plate's size is known */
};

/* A value of any key's type, as the schema's defaults and the setters hold it. */
struct value {
  int64_t i; /* KEY_INT, and KEY_ENUM's index */
  double f;
  const char *s; /* KEY_STRING; KEY_EXPR's text (NULL: the number f) */
  bool b;
  int64_t pair[2];
  const double *list; /* KEY_FLOATS: nlist numbers */
  int64_t nlist;
};

struct key_def {
  const char *section, *name;
  enum key_type type;
  size_t offset;    /* of the field in struct cfg */
  bool required;    /* no default: the file or a --set must set it */
  int64_t min, max; /* KEY_INT, and each entry of KEY_INT_PAIR */
  double lo, hi;    /* KEY_FLOAT: finite and lo <= x <= hi (lo < x when lo_open) */
  bool lo_open;
  bool may_be_empty;          /* KEY_STRING: "" is allowed, and means none */
  const char *const *choices; /* KEY_ENUM: the names in enum order, NULL-terminated */
  struct value def;
  const char *def_text; /* the reference's default, when it is not `def` (derived, per shape) */
  /* A [[region]] key: `offset` is into struct cfg_region, and the key applies to the shapes
   * in the mask (bit CFG_REGION_...; every shape for shape and temperature). */
  bool per_region;
  unsigned shapes;
  /* KEY_EXPR: a word also accepted in place of a number or an expression ("insulated"); the
   * field then holds it as its text until the key's section resolves it. */
  const char *keyword;
  /* A [boundary] key: the edge (1 + cfg's edge index, 0: not an edge key) and which of the
   * edge's keys it is. */
  int edge;
  enum edge_part { EDGE_PLAIN, EDGE_TEMPERATURE, EDGE_FLUX, EDGE_H, EDGE_AMBIENT } edge_part;
  const char *help; /* one line: the reference table's "meaning" */
};

static const char *const partitioner_names[] = {"block", "cyclic", "block-cyclic", NULL};
static const char *const halo_mode_names[] = {"auto", "shm", "p2p", NULL};
static const char *const output_mode_names[] = {"gather", "parallel", NULL};
static const char *const stores_names[] = {"regular", "streaming", "auto", NULL};
static const char *const method_names[] = {"jacobi", "chebyshev", "multigrid", NULL};
static const char *const cycle_names[] = {"V", "W", "F", NULL};
static const char *const smoother_names[] = {"redblack", "chebyshev", "jacobi", NULL};
static const char *const region_shape_names[] = {"rectangle", "disk", "mask", NULL};
static const char *const scheme_names[] = {"implicit", "bdf2", "explicit", NULL};
_Static_assert(sizeof(enum cfg_scheme) == sizeof(int) && CFG_SCHEME_IMPLICIT == 0 &&
                   CFG_SCHEME_BDF2 == 1 && CFG_SCHEME_EXPLICIT == 2,
               "scheme_names is indexed by enum cfg_scheme");

/* The enum fields are written as int: that must be their size. */
_Static_assert(sizeof(enum cfg_partitioner) == sizeof(int), "enum cfg_partitioner is an int");
_Static_assert(sizeof(enum cfg_halo_mode) == sizeof(int), "enum cfg_halo_mode is an int");
_Static_assert(CFG_BLOCK == 0 && CFG_CYCLIC == 1 && CFG_BLOCK_CYCLIC == 2,
               "partitioner_names is indexed by enum cfg_partitioner");
_Static_assert(CFG_HALO_AUTO == 0 && CFG_HALO_SHM == 1 && CFG_HALO_P2P == 2,
               "halo_mode_names is indexed by enum cfg_halo_mode");
_Static_assert(sizeof(enum cfg_output_mode) == sizeof(int), "enum cfg_output_mode is an int");
_Static_assert(CFG_OUTPUT_GATHER == 0 && CFG_OUTPUT_PARALLEL == 1,
               "output_mode_names is indexed by enum cfg_output_mode");
_Static_assert(sizeof(enum cfg_stores) == sizeof(int), "enum cfg_stores is an int");
_Static_assert(CFG_STORES_REGULAR == 0 && CFG_STORES_STREAMING == 1 && CFG_STORES_AUTO == 2,
               "stores_names is indexed by enum cfg_stores");
_Static_assert(sizeof(enum cfg_method) == sizeof(int), "enum cfg_method is an int");
_Static_assert(CFG_METHOD_JACOBI == 0 && CFG_METHOD_CHEBYSHEV == 1 && CFG_METHOD_MULTIGRID == 2,
               "method_names is indexed by enum cfg_method");
_Static_assert(sizeof(enum cfg_cycle) == sizeof(int) && sizeof(enum cfg_smoother) == sizeof(int),
               "enum cfg_cycle and cfg_smoother are ints");
_Static_assert(CFG_CYCLE_V == 0 && CFG_CYCLE_W == 1 && CFG_CYCLE_F == 2,
               "cycle_names is indexed by enum cfg_cycle");
_Static_assert(CFG_SMOOTHER_REDBLACK == 0 && CFG_SMOOTHER_CHEBYSHEV == 1 &&
                   CFG_SMOOTHER_JACOBI == 2,
               "smoother_names is indexed by enum cfg_smoother");
_Static_assert(sizeof(enum cfg_region_shape) == sizeof(int), "enum cfg_region_shape is an int");
_Static_assert(CFG_REGION_RECTANGLE == 0 && CFG_REGION_DISK == 1 && CFG_REGION_MASK == 2,
               "region_shape_names is indexed by enum cfg_region_shape");

#define FIELD(f) .offset = offsetof(struct cfg, f)
#define TEMPERATURE .type = KEY_FLOAT, .lo = -CFG_MAX_TEMPERATURE, .hi = CFG_MAX_TEMPERATURE
/* A number within the temperatures' range, or an expression of x and y. */
#define EXPRESSION .type = KEY_EXPR, .lo = -CFG_MAX_TEMPERATURE, .hi = CFG_MAX_TEMPERATURE
#define POSITIVE .type = KEY_FLOAT, .lo = 0, .lo_open = true, .hi = DBL_MAX
#define COORDINATE .type = KEY_FLOAT, .lo = -DBL_MAX, .hi = DBL_MAX
#define SHAPE(bit) (1u << (bit))
#define ALL_SHAPES (SHAPE(CFG_REGION_RECTANGLE) | SHAPE(CFG_REGION_DISK) | SHAPE(CFG_REGION_MASK))
#define REGION(f, bits)                                                                            \
  .offset = offsetof(struct cfg_region, f), .per_region = true, .shapes = (bits)
#define MACHINE(member, fallback)                                                                  \
  .type = KEY_FLOAT, FIELD(member), .lo = 0, .lo_open = true, .hi = DBL_MAX,                       \
  .def = {.f = (fallback)}
#define COUNT_FROM(lowest) .type = KEY_INT, .min = (lowest), .max = INT64_MAX
/* A number > 0 (a conductivity), or an expression of x and y. */
#define POSITIVE_EXPRESSION .type = KEY_EXPR, .lo = 0, .lo_open = true, .hi = DBL_MAX
/* A number >= 0 (a heat transfer coefficient), or an expression of x and y. */
#define NONNEGATIVE_EXPRESSION .type = KEY_EXPR, .lo = 0, .hi = DBL_MAX
/* The keyword of an edge that no heat crosses. */
#define INSULATED "insulated"
/* The keys of edge number e (cfg's edge[e]: top, bottom, left, right), named NAME, NAME.temperature
 * (the table form of a held edge), NAME.flux, NAME.h and NAME.ambient; `along` is the coordinate
 * that runs along the edge. (Laid out by hand: clang-format puts every designator on a line.) */
#define EDGE_ROW(e, part, key) "boundary", key, .edge = (e) + 1, .edge_part = (part)
/* clang-format off */
#define EDGE_KEYS(e, NAME, member, where, along)                                                   \
  {EDGE_ROW(e, EDGE_PLAIN, NAME), EXPRESSION, FIELD(member), .keyword = INSULATED,                 \
   .help = "the " NAME " edge (" where "): a temperature held there, a number or a \"string\" "    \
           "expression of " along "; or \"" INSULATED "\" (no heat crosses it); or a "             \
           "[boundary." NAME "] table of the keys below"},                                         \
  {EDGE_ROW(e, EDGE_TEMPERATURE, NAME ".temperature"), EXPRESSION, FIELD(member),                  \
   .def_text = "none",                                                                             \
   .help = "[boundary." NAME "]: held at this temperature, the table form of " NAME " = ..."},     \
  {EDGE_ROW(e, EDGE_FLUX, NAME ".flux"), EXPRESSION, FIELD(edge[e].flux), .def_text = "none",      \
   .help = "[boundary." NAME "]: heat flux into the plate, W/m^2 of the edge's cross-section "     \
           "(its length times the thickness), a number or an expression of " along},               \
  {EDGE_ROW(e, EDGE_H, NAME ".h"), NONNEGATIVE_EXPRESSION, FIELD(edge[e].h), .def_text = "none",   \
   .help = "[boundary." NAME "]: convective, with ambient: the heat transfer coefficient, "        \
           "W/(m^2 K); the edge gives h (T - ambient) W/m^2 to the fluid"},                        \
  {EDGE_ROW(e, EDGE_AMBIENT, NAME ".ambient"), EXPRESSION, FIELD(edge[e].ambient),                 \
   .def_text = "none",                                                                             \
   .help = "[boundary." NAME "]: convective, with h: the fluid's temperature, a number or an "     \
           "expression of " along}
/* clang-format on */

/* Every key, grouped by section, in the order cfg_print and the reference show them. */
static const struct key_def schema[] = {
    {"grid", "nx", COUNT_FROM(1), FIELD(nx), .required = true, .help = "interior points per row"},
    {"grid", "ny", COUNT_FROM(1), FIELD(ny), .required = true, .help = "interior rows"},
    {"plate", "width", POSITIVE, FIELD(width), .def_text = "1, or from height",
     .help = "m, left edge to right edge; the spacing is uniform, h = width / (nx + 1 - ex) = "
             "height / (ny + 1 - ey), ex and ey the edges across and down that are not held "
             "(their points lie on them), so one of width and height follows from the other"},
    {"plate", "height", POSITIVE, FIELD(height), .def_text = "from width and h",
     .help = "m, top edge to bottom edge; if both are given they must agree (to 1e-9)"},
    {"plate", "conductivity", POSITIVE_EXPRESSION, FIELD(conductivity_k), .def = {.f = 1.0},
     .help = "thermal conductivity k, W/(m K): a number, or an expression of x and y; a "
             "[[region]]'s conductivity replaces it there"},
    {"plate", "conductivity_file", .type = KEY_STRING, FIELD(conductivity_file),
     .may_be_empty = true, .def = {.s = ""},
     .help = "HDF5 file whose dataset (ny x nx, W/(m K), each > 0) is the conductivity of every "
             "point, instead of plate.conductivity (empty: none)"},
    {"plate", "conductivity_dataset", .type = KEY_STRING, FIELD(conductivity_dataset),
     .def = {.s = "/conductivity"}, .help = "the dataset of plate.conductivity_file"},
    {"plate", "thickness", POSITIVE, FIELD(thickness), .def = {.f = 1.0},
     .help = "m; with the conductivity and the source, div(k t grad T) + q = 0"},
    {"plate", "density", POSITIVE, FIELD(density), .def = {.f = 1.0},
     .help = "kg/m^3, rho in rho c t dT/dt = div(k t grad T) + q ([time] only)"},
    {"plate", "specific_heat", POSITIVE, FIELD(specific_heat), .def = {.f = 1.0},
     .help = "J/(kg K), c in rho c t dT/dt = div(k t grad T) + q ([time] only)"},
    EDGE_KEYS(0, "top", top, "y = 0", "x"),
    EDGE_KEYS(1, "bottom", bottom, "y = height", "x"),
    EDGE_KEYS(2, "left", left, "x = 0", "y"),
    EDGE_KEYS(3, "right", right, "x = width", "y"),
    {"surface", "h", NONNEGATIVE_EXPRESSION, FIELD(surface_h),
     .help = "heat transfer coefficient of each face, W/(m^2 K), a number or an expression of x "
             "and y: a face gives h (T - ambient) W/m^2 (0: no exchange)"},
    {"surface", "ambient", EXPRESSION, FIELD(surface_ambient), .def_text = "required with h",
     .help = "temperature of what the faces exchange with, a number or an expression of x and y"},
    {"surface", "faces", .type = KEY_INT, FIELD(surface_faces), .min = 1, .max = 2, .def = {.i = 2},
     .help = "faces that exchange: 2 (both) or 1 (the other is insulated)"},
    {"initial", "interior", EXPRESSION, FIELD(interior),
     .help = "starting temperature of the interior, a number or an expression of x and y"},
    {"initial", "from_file", .type = KEY_STRING, FIELD(from_file), .may_be_empty = true,
     .def = {.s = ""},
     .help = "continue from this HDF5 file written by jacobi: its field and iteration count, "
             "or with [time] a series checkpoint NAME.ckpt.h5 (empty: start from interior)"},
    {"source", "q", EXPRESSION, FIELD(source_q),
     .help = "heat generated, W/m^2: a number or an expression of x and y (0 and no file: no "
             "source, the Laplace equation)"},
    {"source", "from_file", .type = KEY_STRING, FIELD(source_file), .may_be_empty = true,
     .def = {.s = ""},
     .help = "HDF5 file whose dataset (ny x nx, W/m^2) is added to q (empty: none)"},
    {"source", "dataset", .type = KEY_STRING, FIELD(source_dataset), .def = {.s = "/source"},
     .help = "the dataset of source.from_file"},
    {"region", "shape", .type = KEY_ENUM, REGION(shape, ALL_SHAPES), .choices = region_shape_names,
     .required = true,
     .help = "[[region]], one table per region: a rectangle, a disk, or the non-zero points of a "
             "mask; a region is held (temperature), a material (conductivity), a heater (power), "
             "or held and a material"},
    {"region", "x0", COORDINATE, REGION(x0, SHAPE(CFG_REGION_RECTANGLE)), .required = true,
     .def_text = "required (rectangle)", .help = "m from the left edge: the rectangle's left side"},
    {"region", "x1", COORDINATE, REGION(x1, SHAPE(CFG_REGION_RECTANGLE)), .required = true,
     .def_text = "required (rectangle)", .help = "m: its right side, x0 <= x1 <= width"},
    {"region", "y0", COORDINATE, REGION(y0, SHAPE(CFG_REGION_RECTANGLE)), .required = true,
     .def_text = "required (rectangle)", .help = "m from the top edge: its top side"},
    {"region", "y1", COORDINATE, REGION(y1, SHAPE(CFG_REGION_RECTANGLE)), .required = true,
     .def_text = "required (rectangle)", .help = "m: its bottom side, y0 <= y1 <= height"},
    {"region", "cx", COORDINATE, REGION(cx, SHAPE(CFG_REGION_DISK)), .required = true,
     .def_text = "required (disk)", .help = "m: the disk's centre, from the left edge"},
    {"region", "cy", COORDINATE, REGION(cy, SHAPE(CFG_REGION_DISK)), .required = true,
     .def_text = "required (disk)", .help = "m: the disk's centre, from the top edge"},
    {"region", "radius", POSITIVE, REGION(radius, SHAPE(CFG_REGION_DISK)), .required = true,
     .def_text = "required (disk)", .help = "m; the disk lies within the plate"},
    {"region", "file", .type = KEY_STRING, REGION(file, SHAPE(CFG_REGION_MASK)), .required = true,
     .def = {.s = ""}, .def_text = "required (mask)",
     .help = "HDF5 file of the mask: a dataset of ny x nx numbers, non-zero in the region"},
    {"region", "dataset", .type = KEY_STRING, REGION(dataset, SHAPE(CFG_REGION_MASK)),
     .def = {.s = "/fixed"}, .help = "the mask's dataset in that file"},
    {"region", "temperature", EXPRESSION, REGION(temperature, ALL_SHAPES), .def_text = "none",
     .help = "held: the region's points are fixed at this temperature, a number or an "
             "expression of x and y (not with power)"},
    {"region", "conductivity", POSITIVE_EXPRESSION, REGION(conductivity, ALL_SHAPES),
     .def_text = "none",
     .help = "a material: its conductivity, W/(m K), a number or an expression of x and y, over "
             "the plate's (with temperature: it governs the heat into the held points)"},
    {"region", "power", .type = KEY_FLOAT, REGION(power, ALL_SHAPES), .lo = -DBL_MAX, .hi = DBL_MAX,
     .def_text = "none",
     .help = "a heater: W, spread over its points by the plate area each stands for, totalling "
             "exactly this (negative: a sink)"},
    {"solver", "method", .type = KEY_ENUM, FIELD(method), .choices = method_names,
     .def = {.i = CFG_METHOD_JACOBI},
     .help = "the iteration: plain Jacobi sweeps; Chebyshev semi-iteration over the same sweep "
             "(O(n) sweeps to a given error instead of O(n^2)); or geometric multigrid cycles "
             "(a few sweeps' work a cycle, a fixed number of cycles at any size)"},
    {"solver", "tolerance", .type = KEY_FLOAT, FIELD(tolerance), .lo = 0, .lo_open = true,
     .hi = DBL_MAX, .def = {.f = 1e-4},
     .help = "the classic rule: converged when one sweep would change no point by this much or "
             "more (with target_error: only if also given)"},
    {"solver", "target_error", .type = KEY_FLOAT, FIELD(target_error), .lo = 0, .hi = DBL_MAX,
     .def = {.f = 0.0},
     .help = "converged when the guaranteed bound on the largest error left (degrees, against "
             "the exact solution of the discrete equations) is at most this (0: off)"},
    {"solver", "max_iterations", COUNT_FROM(1), FIELD(max_iterations), .def = {.i = 100000},
     .help = "stop after this many iterations (multigrid: cycles) even if not converged (exit "
             "code 3)"},
    {"solver", "check_interval", COUNT_FROM(1), FIELD(check_interval), .def = {.i = 1},
     .help = "iterations between global convergence checks (multigrid checks every cycle)"},
    {"solver", "temporal_block", COUNT_FROM(1), FIELD(temporal_block), .def = {.i = 1},
     .help = "sweeps done per pass through memory, a row wavefront over tiles with halos this "
             "deep, exchanged once per block (1: none); must divide check_interval and "
             "checkpoint_interval"},
    {"solver", "stores", .type = KEY_ENUM, FIELD(stores), .choices = stores_names,
     .def = {.i = CFG_STORES_AUTO},
     .help = "how the sweep writes: regular stores, streaming (non-temporal) stores that "
             "bypass the cache, or auto: whichever a start-up calibration finds faster here, "
             "and where the tiles fit in the caches by their sizes but a timing from cold "
             "caches chooses otherwise, the run's first 6 sweeps (same results; the summary "
             "names the kernel used and how it was chosen)"},
    {"solver", "multigrid.cycle", .type = KEY_ENUM, FIELD(mg_cycle), .choices = cycle_names,
     .def = {.i = CFG_CYCLE_V},
     .help = "multigrid: the cycle, V (one coarse visit a level), W (two) or F (an F then a V)"},
    {"solver", "multigrid.smoother", .type = KEY_ENUM, FIELD(mg_smoother),
     .choices = smoother_names, .def = {.i = CFG_SMOOTHER_REDBLACK},
     .help = "multigrid: red-black Gauss-Seidel, Chebyshev smoothing of the Jacobi update "
             "(fourth kind, lambda_max = 2), or damped Jacobi (omega = 4/5); a step is one sweep"},
    {"solver", "multigrid.pre", .type = KEY_INT, FIELD(mg_pre), .min = 0, .max = 63,
     .def = {.i = 2}, .help = "multigrid: smoothing steps before the coarse-grid correction"},
    {"solver", "multigrid.post", .type = KEY_INT, FIELD(mg_post), .min = 0, .max = 63,
     .def = {.i = 2}, .help = "multigrid: smoothing steps after the coarse-grid correction"},
    {"solver", "multigrid.fmg", .type = KEY_BOOL, FIELD(mg_fmg), .def = {.b = true},
     .help = "multigrid: the run's first cycle is a full-multigrid start (the residual solved "
             "coarsest level first, one cycle a level)"},
    {"decomposition", "partitioner", .type = KEY_ENUM, FIELD(partitioner),
     .choices = partitioner_names, .def = {.i = CFG_BLOCK},
     .help = "how rows and columns are dealt to the process grid"},
    {"decomposition", "block_size", COUNT_FROM(1), FIELD(block_size), .def = {.i = 1},
     .help = "rows or columns dealt at a time by block-cyclic"},
    {"decomposition", "process_grid", .type = KEY_INT_PAIR, FIELD(process_grid), .min = 0,
     .max = INT_MAX, .def = {.pair = {0, 1}},
     .help = "process grid [rows, cols]; a 0 is filled in as MPI_Dims_create does"},
    {"halo", "mode", .type = KEY_ENUM, FIELD(halo_mode), .choices = halo_mode_names,
     .def = {.i = CFG_HALO_AUTO},
     .help = "halo exchange: shared-memory windows (shm), messages (p2p), or shm within a "
             "node and messages between nodes (auto)"},
    {"halo", "ranks_per_node", .type = KEY_INT, FIELD(ranks_per_node), .min = 0, .max = INT_MAX,
     .help = "model nodes of this many consecutive ranks (0: the real nodes)"},
    {"halo", "overlap", .type = KEY_BOOL, FIELD(halo_overlap), .def = {.b = true},
     .help = "sweep the points that need no halo while the messages between nodes are in "
             "flight (same results)"},
    {"time", "end", POSITIVE, FIELD(time_end), .def_text = "none (the steady state)",
     .keyword = "steady",
     .help = "s: solve the transient heat equation from initial.interior up to this time; "
             "\"steady\": until the steady state is certified (solver.target_error)"},
    {"time", "max_steps", COUNT_FROM(1), FIELD(time_max_steps), .def = {.i = 100000},
     .help = "with end = \"steady\": the most steps before it stops uncertified (exit 3)"},
    {"time", "step", POSITIVE, FIELD(time_step), .def_text = "from steps",
     .help = "s: the time step (give step or steps, not both)"},
    {"time", "steps", COUNT_FROM(1), FIELD(time_steps), .def_text = "from step",
     .help = "number of equal steps to time.end (give step or steps, not both)"},
    {"time", "scheme", .type = KEY_ENUM, FIELD(scheme), .choices = scheme_names,
     .def = {.i = CFG_SCHEME_IMPLICIT},
     .help = "implicit (backward Euler), bdf2 (second order, damps stiff modes) or explicit "
             "(forward Euler, refused above its stability limit)"},
    {"time", "output_every", POSITIVE, FIELD(output_every), .def_text = "every step",
     .help = "s: a snapshot into the series whenever simulated time passes a multiple of this"},
    {"time", "output_times", .type = KEY_FLOATS, FIELD(output_times), .lo = 0, .lo_open = true,
     .hi = DBL_MAX, .def_text = "none",
     .help = "s: snapshots at the first steps at or past these times (increasing, up to end), "
             "beside output_every's"},
    {"time", "step_error", POSITIVE, FIELD(step_error), .def_text = "from the scheme",
     .help = "degrees: the bound each implicit step's solve must reach (default: 1e-3 x the "
             "step's largest change for implicit, and 1e-4 x for bdf2)"},
    {"output", "path", .type = KEY_STRING, FIELD(output_path), .def = {.s = "plate.h5"},
     .help = "HDF5 file the result is written to"},
    {"output", "mode", .type = KEY_ENUM, FIELD(output_mode), .choices = output_mode_names,
     .def = {.i = CFG_OUTPUT_GATHER},
     .help = "gather: rank 0 collects the field and writes it (any HDF5); parallel: every rank "
             "writes its tiles with MPI-IO (parallel HDF5 only)"},
    {"output", "checkpoint_interval", COUNT_FROM(0), FIELD(checkpoint_interval),
     .help = "iterations (with [time]: steps) between checkpoints (0: none)"},
    {"output", "owner_map", .type = KEY_BOOL, FIELD(owner_map),
     .help = "also write which rank owns each point"},
    {"machine", "core_bandwidth_gbs", MACHINE(core_bandwidth_gbs, 35.0),
     .help = "GB/s one rank streams (STREAM copy on 1 rank; scripts/bench.sh measures it)"},
    {"machine", "node_bandwidth_gbs", MACHINE(node_bandwidth_gbs, 68.0),
     .help = "GB/s all ranks of a node stream together (STREAM copy on every core)"},
    {"machine", "kernel_efficiency", MACHINE(kernel_efficiency, 0.75),
     .help = "fraction of bandwidth / 16 B the sweep reaches on a grid far out of cache"},
    {"machine", "shm_latency_us", MACHINE(shm_latency_us, 0.5),
     .help = "microseconds to notify one neighbour on the node (zero-byte ping-pong)"},
    {"machine", "net_latency_us", MACHINE(net_latency_us, 1.5),
     .help = "microseconds per message between nodes"},
    {"machine", "net_bandwidth_gbs", MACHINE(net_bandwidth_gbs, 12.0),
     .help = "GB/s of one rank's messages between nodes"},
    {"machine", "reduce_latency_us", MACHINE(reduce_latency_us, 0.5),
     .help = "microseconds per stage of an allreduce (log2 P stages)"},
};

#define NKEYS (sizeof schema / sizeof schema[0])

static bool first_of_section(size_t k) {
  return k == 0 || strcmp(schema[k - 1].section, schema[k].section) != 0;
}

/* The first key of section s[0, n), or -1. */
static int find_section(const char *s, size_t n) {
  for (size_t k = 0; k < NKEYS; k++)
    if (strlen(schema[k].section) == n && memcmp(schema[k].section, s, n) == 0)
      return (int)k;
  return -1;
}

/* The key `name` (name[0, n)) of the section whose first key is `section`, or -1. */
static int find_key(int section, const char *name, size_t n) {
  for (size_t k = (size_t)section;
       k < NKEYS && strcmp(schema[k].section, schema[section].section) == 0; k++)
    if (strlen(schema[k].name) == n && memcmp(schema[k].name, name, n) == 0)
      return (int)k;
  return -1;
}

/* The key named "section.name", or -1. */
static int find_dotted(const char *key) {
  const char *dot = strchr(key, '.');
  int section = dot ? find_section(key, (size_t)(dot - key)) : -1;
  return section < 0 ? -1 : find_key(section, dot + 1, strlen(dot + 1));
}

/* ---- describing keys ------------------------------------------------------------------------- */

/* A bound as TOML and people write it: 1e300, not 1e+300. */
static const char *bound(double x, char buf[32]) {
  snprintf(buf, 32, "%g", x);
  char *plus = strstr(buf, "e+");
  if (plus != NULL)
    memmove(plus + 1, plus + 2, strlen(plus + 2) + 1);
  return buf;
}

static void list_choices(const struct key_def *k, const char *last_sep, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int c = 0; k->choices[c] != NULL && used < size; c++) {
    const char *sep = c == 0 ? "" : k->choices[c + 1] == NULL ? last_sep : ", ";
    int n = snprintf(buf + used, size - used, "%s\"%s\"", sep, k->choices[c]);
    used += n > 0 ? (size_t)n : 0;
  }
}

/* The numbers a KEY_FLOAT or KEY_EXPR key accepts: "a number > 0", "a finite number". */
static const char *number_phrase(const struct key_def *k, char *buf, size_t size) {
  char lo[32], hi[32];
  if (k->lo == -DBL_MAX && k->hi == DBL_MAX)
    snprintf(buf, size, "a finite number");
  else if (k->hi == DBL_MAX)
    snprintf(buf, size, "a number %s %s", k->lo_open ? ">" : ">=", bound(k->lo, lo));
  else
    snprintf(buf, size, "a number from %s to %s", bound(k->lo, lo), bound(k->hi, hi));
  return buf;
}

/* What a key accepts, as messages say it: "a number > 0", "an integer >= 1". */
static const char *expected(const struct key_def *k, char *buf, size_t size) {
  char choices[128];
  switch (k->type) {
  case KEY_INT:
    if (k->max == INT64_MAX)
      snprintf(buf, size, "an integer >= %lld", (long long)k->min);
    else
      snprintf(buf, size, "an integer from %lld to %lld", (long long)k->min, (long long)k->max);
    break;
  case KEY_FLOAT:
  case KEY_EXPR: {
    char number[96];
    number_phrase(k, number, sizeof number);
    if (k->type == KEY_FLOAT && k->keyword != NULL)
      snprintf(buf, size, "%s or \"%s\"", number, k->keyword);
    else if (k->type == KEY_FLOAT)
      snprintf(buf, size, "%s", number);
    else if (k->keyword != NULL)
      snprintf(buf, size, "%s, an expression of x and y in a \"string\", or \"%s\"", number,
               k->keyword);
    else
      snprintf(buf, size, "%s or an expression of x and y in a \"string\"", number);
    break;
  }
  case KEY_STRING:
    snprintf(buf, size, k->may_be_empty ? "a string" : "a non-empty string");
    break;
  case KEY_ENUM:
    list_choices(k, ", ", choices, sizeof choices);
    snprintf(buf, size, "one of %s", choices);
    break;
  case KEY_BOOL:
    snprintf(buf, size, "true or false");
    break;
  case KEY_INT_PAIR:
    snprintf(buf, size, "[rows, cols]: two integers from %lld to %lld", (long long)k->min,
             (long long)k->max);
    break;
  case KEY_FLOATS: {
    char lo[32];
    snprintf(buf, size, "an array of one or more numbers, each %s %s",
             k->lo_open ? ">" : ">=", bound(k->lo, lo));
    break;
  }
  }
  return buf;
}

/* A key's type in short, for the reference and the required-key message: "int >= 1". */
static const char *type_text(const struct key_def *k, char *buf, size_t size) {
  char lo[32], hi[32], choices[128];
  switch (k->type) {
  case KEY_INT:
    if (k->max == INT64_MAX)
      snprintf(buf, size, "int >= %lld", (long long)k->min);
    else
      snprintf(buf, size, "int from %lld to %lld", (long long)k->min, (long long)k->max);
    break;
  case KEY_FLOAT:
  case KEY_EXPR: {
    char number[96];
    if (k->lo == -DBL_MAX && k->hi == DBL_MAX)
      snprintf(number, sizeof number, "float");
    else if (k->hi == DBL_MAX)
      snprintf(number, sizeof number, "float %s %s", k->lo_open ? ">" : ">=", bound(k->lo, lo));
    else
      snprintf(number, sizeof number, "float from %s to %s", bound(k->lo, lo), bound(k->hi, hi));
    if (k->type == KEY_FLOAT && k->keyword != NULL)
      snprintf(buf, size, "%s, or \"%s\"", number, k->keyword);
    else if (k->type == KEY_FLOAT)
      snprintf(buf, size, "%s", number);
    else if (k->keyword != NULL)
      snprintf(buf, size, "%s, expression (string), or \"%s\"", number, k->keyword);
    else
      snprintf(buf, size, "%s, or expression (string)", number);
    break;
  }
  case KEY_STRING:
    snprintf(buf, size, k->may_be_empty ? "string" : "string, non-empty");
    break;
  case KEY_ENUM:
    list_choices(k, " or ", choices, sizeof choices);
    snprintf(buf, size, "%s", choices);
    break;
  case KEY_BOOL:
    snprintf(buf, size, "bool");
    break;
  case KEY_INT_PAIR:
    snprintf(buf, size, "[int, int], each from %lld to %lld", (long long)k->min, (long long)k->max);
    break;
  case KEY_FLOATS:
    snprintf(buf, size, "[float, ...], each %s %s", k->lo_open ? ">" : ">=", bound(k->lo, lo));
    break;
  }
  return buf;
}

/* ---- messages -------------------------------------------------------------------------------- */

/* What a message blames: a line of the file, the file as a whole, or a --set argument. */
struct where {
  const char *name; /* the config's name */
  int line;         /* > 0: a line of it */
  const char *set;  /* not NULL: this --set argument instead */
};

/* s[0, n) cut to at most 80 bytes (at a character boundary) with "...", for messages. */
static const char *clip(const char *s, size_t n, char buf[88]) {
  size_t keep = n;
  if (n > 80) {
    keep = 80;
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
      keep--; /* not in the middle of a UTF-8 character */
  }
  memcpy(buf, s, keep);
  strcpy(buf + keep, keep < n ? "..." : "");
  return buf;
}

__attribute__((format(printf, 2, 3))) static int fail(const struct where *w, const char *fmt, ...) {
  char what[768], arg[88];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (w->set != NULL)
    return err_set(ERR_CONFIG, "--set %s: %s", clip(w->set, strlen(w->set), arg), what);
  if (w->line > 0)
    return err_set(ERR_CONFIG, "%s:%d: %s", w->name, w->line, what);
  return err_set(ERR_CONFIG, "%s: %s", w->name, what);
}

/* A key as messages name it: "boundary.top", or "region[2].x0" for the second [[region]]'s
 * (region 0: the key itself, as in the reference). */
static const char *key_label(const struct key_def *k, int region, char buf[96]) {
  if (k->per_region && region > 0)
    snprintf(buf, 96, "%s[%d].%s", k->section, region, k->name);
  else
    snprintf(buf, 96, "%s.%s", k->section, k->name);
  return buf;
}

/* "KEY must be WHAT IT ACCEPTS, got RAW" */
static int bad_value(const struct where *w, const struct key_def *k, int region, const char *raw,
                     size_t raw_len, const char *note) {
  char want[160], got[TOML_EXCERPT_SIZE], label[96];
  return fail(w, "%s must be %s, got %s%s", key_label(k, region, label),
              expected(k, want, sizeof want), toml_excerpt(raw, raw_len, got), note);
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* Edit distance between a[0, na) and the schema word b, counting insertions, deletions,
 * substitutions and swaps of neighbours, case aside; SIZE_MAX when too far apart to matter. */
static size_t distance(const char *a, size_t na, const char *b) {
  enum { MAX_WORD = 40 };
  size_t nb = strlen(b);
  if (nb >= MAX_WORD || na > nb + 3)
    return SIZE_MAX;
  size_t rows[3][MAX_WORD] = {{0}};
  size_t *before = rows[0], *prev = rows[1], *cur = rows[2];
  for (size_t j = 0; j <= nb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= na; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t d = prev[j - 1] + (lower(a[i - 1]) != lower(b[j - 1]));
      d = prev[j] + 1 < d ? prev[j] + 1 : d;
      d = cur[j - 1] + 1 < d ? cur[j - 1] + 1 : d;
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]) && before[j - 2] + 1 < d)
        d = before[j - 2] + 1;
      cur[j] = d;
    }
    size_t *spare = before;
    before = prev;
    prev = cur;
    cur = spare;
  }
  return prev[nb];
}

/* Close enough to suggest: a third of the word's letters (1 to 3) wrong at most. */
static bool close_enough(size_t d, const char *candidate) {
  size_t limit = (strlen(candidate) + 2) / 3;
  limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
  return d <= limit;
}

/* The section name closest to s[0, n), or NULL if none is close. */
static const char *closest_section(const char *s, size_t n) {
  const char *best = NULL;
  size_t best_d = SIZE_MAX;
  for (size_t k = 0; k < NKEYS; k++) {
    size_t d = first_of_section(k) ? distance(s, n, schema[k].section) : SIZE_MAX;
    if (d < best_d && close_enough(d, schema[k].section)) {
      best = schema[k].section;
      best_d = d;
    }
  }
  return best;
}

/* The key of `section` whose name is closest to s[0, n), or -1 if none is close. */
static int closest_key(int section, const char *s, size_t n) {
  int best = -1;
  size_t best_d = SIZE_MAX;
  for (size_t k = (size_t)section;
       k < NKEYS && strcmp(schema[k].section, schema[section].section) == 0; k++) {
    size_t d = distance(s, n, schema[k].name);
    if (d < best_d && close_enough(d, schema[k].name)) {
      best = (int)k;
      best_d = d;
    }
  }
  return best;
}

/* The choice of enum key `k` closest to s[0, n), or -1 if none is close: values get "did you
 * mean" like keys. A choice all of whose letters would change is no suggestion ("X" is not
 * "V" misspelt). */
static int closest_choice(const struct key_def *k, const char *s, size_t n) {
  int best = -1;
  size_t best_d = SIZE_MAX;
  for (int c = 0; k->choices[c] != NULL; c++) {
    size_t d = distance(s, n, k->choices[c]);
    if (d < best_d && d < strlen(k->choices[c]) && close_enough(d, k->choices[c])) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

/* The key of any section named exactly s[0, n), or -1. */
static int key_named(const char *s, size_t n) {
  for (size_t k = 0; k < NKEYS; k++)
    if (strlen(schema[k].name) == n && memcmp(schema[k].name, s, n) == 0)
      return (int)k;
  return -1;
}

/* The key of any section whose name is closest to s[0, n), or -1 if none is close. */
static int closest_key_anywhere(const char *s, size_t n) {
  int best = -1;
  size_t best_d = SIZE_MAX;
  for (size_t k = 0; k < NKEYS; k++) {
    size_t d = distance(s, n, schema[k].name);
    if (d < best_d && close_enough(d, schema[k].name)) {
      best = (int)k;
      best_d = d;
    }
  }
  return best;
}

/* "[name]", or "[[name]]" for the section of an array of tables. */
static const char *brackets(size_t k, const char *name, char buf[96]) {
  bool array = schema[k].per_region;
  snprintf(buf, 96, "%s%s%s", array ? "[[" : "[", name, array ? "]]" : "]");
  return buf;
}

static const char *list_sections(char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t k = 0; k < NKEYS && used < size; k++) {
    if (!first_of_section(k))
      continue;
    char shown[96];
    int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                     brackets(k, schema[k].section, shown));
    used += n > 0 ? (size_t)n : 0;
  }
  return buf;
}

static const char *list_keys(int section, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t k = (size_t)section;
       k < NKEYS && strcmp(schema[k].section, schema[section].section) == 0 && used < size; k++) {
    int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", schema[k].name);
    used += n > 0 ? (size_t)n : 0;
  }
  return buf;
}

/* An unknown section, written as a [table] or (array) an [[array of tables]]. */
static int unknown_section(const struct where *w, const char *s, size_t n, bool array) {
  char shown[88], list[256], wrote[96], meant[96];
  const char *best = closest_section(s, n);
  snprintf(wrote, sizeof wrote, "%s%s%s", array ? "[[" : "[", clip(s, n, shown),
           array ? "]]" : "]");
  if (best != NULL)
    return fail(w, "unknown section %s; did you mean %s?", wrote,
                brackets((size_t)find_section(best, strlen(best)), best, meant));
  return fail(w, "unknown section %s; the sections are %s", wrote,
              list_sections(list, sizeof list));
}

/* An unknown key of `section`, shown as "SEC.NAME" where SEC is `sec` ("region[2]"). */
static int unknown_key(const struct where *w, int section, const char *sec, const char *s,
                       size_t n) {
  char shown[88], list[256];
  int best = closest_key(section, s, n);
  if (best >= 0)
    return fail(w, "unknown key %s.%s; did you mean %s.%s?", sec, clip(s, n, shown), sec,
                schema[best].name);
  best = key_named(s, n);
  if (best >= 0)
    return fail(w, "unknown key %s.%s; did you mean %s.%s (under [%s])?", sec, clip(s, n, shown),
                schema[best].section, schema[best].name, schema[best].section);
  char table[96];
  return fail(w, "unknown key %s.%s; the keys of %s are %s", sec, clip(s, n, shown),
              brackets((size_t)section, schema[section].section, table),
              list_keys(section, list, sizeof list));
}

/* A key given without its section: `nx = 4` above every [section], or --set nx=4. */
static int key_without_section(const struct where *w, const char *s, size_t n) {
  char shown[88], list[256];
  int k = key_named(s, n);
  k = k >= 0 ? k : closest_key_anywhere(s, n);
  if (k >= 0)
    return fail(w, "key %s needs its section; did you mean %s.%s (%s under [%s])?",
                clip(s, n, shown), schema[k].section, schema[k].name, schema[k].name,
                schema[k].section);
  return fail(w, "unknown key %s: keys belong in a section, one of %s", clip(s, n, shown),
              list_sections(list, sizeof list));
}

/* ---- values ---------------------------------------------------------------------------------- */

/* A key's field lives in `base`: the struct cfg, or for a [[region]] key its struct cfg_region. */
static void *field_of(void *base, const struct key_def *k) { return (char *)base + k->offset; }

static const void *const_field_of(const void *base, const struct key_def *k) {
  return (const char *)base + k->offset;
}

/* Store v in k's field. Errors: ERR_FAILURE when a string cannot be copied. */
static int set_value(void *base, const struct key_def *k, const struct value *v) {
  void *f = field_of(base, k);
  switch (k->type) {
  case KEY_INT:
    memcpy(f, &v->i, sizeof v->i);
    break;
  case KEY_FLOAT:
    memcpy(f, &v->f, sizeof v->f);
    break;
  case KEY_STRING: {
    char *copy = strdup(v->s), *old;
    if (copy == NULL)
      return err_set(ERR_FAILURE, "out of memory for %s.%s", k->section, k->name);
    memcpy(&old, f, sizeof old);
    free(old);
    memcpy(f, &copy, sizeof copy);
    break;
  }
  case KEY_ENUM: {
    int e = (int)v->i;
    memcpy(f, &e, sizeof e);
    break;
  }
  case KEY_BOOL:
    memcpy(f, &v->b, sizeof v->b);
    break;
  case KEY_INT_PAIR: {
    int pair[2] = {(int)v->pair[0], (int)v->pair[1]};
    memcpy(f, pair, sizeof pair);
    break;
  }
  case KEY_FLOATS: {
    struct cfg_floats list = {.count = v->nlist}, old;
    if (v->nlist > 0) {
      list.values = malloc((size_t)v->nlist * sizeof *list.values);
      if (list.values == NULL)
        return err_set(ERR_FAILURE, "out of memory for %s.%s", k->section, k->name);
      memcpy(list.values, v->list, (size_t)v->nlist * sizeof *list.values);
    }
    memcpy(&old, f, sizeof old);
    free(old.values);
    memcpy(f, &list, sizeof list);
    break;
  }
  case KEY_EXPR: {
    struct cfg_expr x = {.value = v->s != NULL ? NAN : v->f, .text = NULL}, old;
    if (v->s != NULL && (x.text = strdup(v->s)) == NULL)
      return err_set(ERR_FAILURE, "out of memory for %s.%s", k->section, k->name);
    memcpy(&old, f, sizeof old);
    free(old.text);
    memcpy(f, &x, sizeof x);
    break;
  }
  }
  return ERR_OK;
}

/* Free what k's field owns (a string, an expression's text) and leave it NULL. */
static void free_value(void *base, const struct key_def *k) {
  void *f = field_of(base, k);
  char *owned = NULL, *none = NULL;
  if (k->type == KEY_STRING) {
    memcpy(&owned, f, sizeof owned);
    memcpy(f, &none, sizeof none);
  } else if (k->type == KEY_EXPR) {
    struct cfg_expr x;
    memcpy(&x, f, sizeof x);
    owned = x.text;
    x.text = NULL;
    memcpy(f, &x, sizeof x);
  } else if (k->type == KEY_FLOATS) {
    struct cfg_floats list, empty = {0};
    memcpy(&list, f, sizeof list);
    memcpy(f, &empty, sizeof empty);
    free(list.values);
  }
  free(owned);
}

static struct value get_value(const void *base, const struct key_def *k) {
  const void *f = const_field_of(base, k);
  struct value v = {.s = ""};
  switch (k->type) {
  case KEY_INT:
    memcpy(&v.i, f, sizeof v.i);
    break;
  case KEY_FLOAT:
    memcpy(&v.f, f, sizeof v.f);
    break;
  case KEY_STRING:
    memcpy(&v.s, f, sizeof v.s);
    v.s = v.s != NULL ? v.s : "";
    break;
  case KEY_ENUM: {
    int e;
    memcpy(&e, f, sizeof e);
    v.i = e;
    break;
  }
  case KEY_BOOL:
    memcpy(&v.b, f, sizeof v.b);
    break;
  case KEY_INT_PAIR: {
    int pair[2];
    memcpy(pair, f, sizeof pair);
    v.pair[0] = pair[0];
    v.pair[1] = pair[1];
    break;
  }
  case KEY_FLOATS: {
    struct cfg_floats list;
    memcpy(&list, f, sizeof list);
    v.list = list.values;
    v.nlist = list.count;
    break;
  }
  case KEY_EXPR: {
    struct cfg_expr x;
    memcpy(&x, f, sizeof x);
    v.f = x.value;
    v.s = x.text;
    break;
  }
  }
  return v;
}

/* x as a double, if one holds it exactly. */
static bool exact_double(int64_t i, double *x) {
  *x = (double)i;
  return *x < 0x1p63 && (int64_t)*x == i; /* (double)INT64_MAX rounds up to 2^63 */
}

static bool in_float_range(const struct key_def *k, double x) {
  return isfinite(x) && (k->lo_open ? x > k->lo : x >= k->lo) && x <= k->hi;
}

/* A number for KEY_FLOAT k (or KEY_EXPR k, judged as its KEY_FLOAT twin: a number that is out
 * of range was meant as a number, and its message speaks of numbers). */
static int float_of(const struct key_def *k, int region, const struct toml_value *t,
                    const char *raw, size_t raw_len, const struct where *w, double *out) {
  struct key_def number = *k;
  if (k->type != KEY_FLOAT) /* an expression key's word is not a number's (a float's is) */
    number.keyword = NULL;
  number.type = KEY_FLOAT;
  if (t->type == TOML_INTEGER && !exact_double(t->integer, out))
    return bad_value(w, &number, region, raw, raw_len,
                     ", which no double holds exactly (write a float)");
  if (t->type == TOML_FLOAT)
    *out = t->number;
  if ((t->type != TOML_INTEGER && t->type != TOML_FLOAT) || !in_float_range(k, *out))
    return bad_value(w, &number, region, raw, raw_len, "");
  return ERR_OK;
}

/* Judge the parsed value `t` (written `raw`) for key k (of [[region]] number `region`, or 0)
 * and store it in base. */
static int apply(void *base, const struct key_def *k, int region, const struct toml_value *t,
                 const char *raw, size_t raw_len, const struct where *w) {
  struct value v = {0};
  switch (k->type) {
  case KEY_INT:
    if (t->type != TOML_INTEGER || t->integer < k->min || t->integer > k->max)
      return bad_value(w, k, region, raw, raw_len, "");
    v.i = t->integer;
    break;
  case KEY_EXPR:
    if (t->type == TOML_STRING) { /* the expression is compiled once the plate is known */
      if (strlen(t->string) != t->string_len)
        return bad_value(w, k, region, raw, raw_len, ", which holds a NUL character");
      /* The keyword is reserved: a word close to it ("Insulated", "insulted") is a slip, not
       * an expression (which would fail later, with a less helpful message). */
      if (k->keyword != NULL && strcmp(t->string, k->keyword) != 0 &&
          close_enough(distance(t->string, t->string_len, k->keyword), k->keyword)) {
        char note[64];
        snprintf(note, sizeof note, "; did you mean \"%s\"?", k->keyword);
        return bad_value(w, k, region, raw, raw_len, note);
      }
      v.s = t->string;
      break;
    }
    if (t->type != TOML_INTEGER && t->type != TOML_FLOAT)
      return bad_value(w, k, region, raw, raw_len, "");
    CHECK(float_of(k, region, t, raw, raw_len, w, &v.f));
    break;
  case KEY_FLOAT:
    if (k->keyword != NULL && t->type == TOML_STRING && strcmp(t->string, k->keyword) == 0) {
      v.f = INFINITY; /* the word in place of a number (time.end = "steady") */
      break;
    }
    if (k->keyword != NULL && t->type == TOML_STRING) {
      char note[64];
      snprintf(note, sizeof note, "; did you mean \"%s\"?", k->keyword);
      return bad_value(
          w, k, region, raw, raw_len,
          close_enough(distance(t->string, t->string_len, k->keyword), k->keyword) ? note : "");
    }
    CHECK(float_of(k, region, t, raw, raw_len, w, &v.f));
    break;
  case KEY_STRING:
    if (t->type != TOML_STRING || (t->string_len == 0 && !k->may_be_empty))
      return bad_value(w, k, region, raw, raw_len, "");
    if (strlen(t->string) != t->string_len)
      return bad_value(w, k, region, raw, raw_len, ", which holds a NUL character");
    v.s = t->string;
    break;
  case KEY_ENUM:
    v.i = -1;
    for (int c = 0; t->type == TOML_STRING && k->choices[c] != NULL; c++)
      if (strlen(k->choices[c]) == t->string_len &&
          memcmp(k->choices[c], t->string, t->string_len) == 0)
        v.i = c;
    if (v.i < 0) {
      char note[64] = "";
      int best = t->type == TOML_STRING ? closest_choice(k, t->string, t->string_len) : -1;
      if (best >= 0)
        snprintf(note, sizeof note, "; did you mean \"%s\"?", k->choices[best]);
      return bad_value(w, k, region, raw, raw_len, note);
    }
    break;
  case KEY_BOOL:
    if (t->type != TOML_BOOL)
      return bad_value(w, k, region, raw, raw_len, "");
    v.b = t->boolean;
    break;
  case KEY_INT_PAIR:
    if (t->type != TOML_INT_ARRAY || t->nitems != 2)
      return bad_value(w, k, region, raw, raw_len, "");
    for (int e = 0; e < 2; e++) {
      if (t->items[e] < k->min || t->items[e] > k->max)
        return bad_value(w, k, region, raw, raw_len, "");
      v.pair[e] = t->items[e];
    }
    break;
  case KEY_FLOATS: {
    if ((t->type != TOML_ARRAY && t->type != TOML_INT_ARRAY) || t->nitems == 0)
      return bad_value(w, k, region, raw, raw_len, "");
    double *list = malloc(t->nitems * sizeof *list);
    if (list == NULL)
      return err_set(ERR_FAILURE, "out of memory for %s.%s", k->section, k->name);
    for (size_t e = 0; e < t->nitems; e++) {
      const struct toml_value *item = &t->values[e];
      bool ok = (item->type == TOML_INTEGER && exact_double(item->integer, &list[e])) ||
                (item->type == TOML_FLOAT && (list[e] = item->number, true));
      if (!ok || !in_float_range(k, list[e])) {
        free(list);
        return bad_value(w, k, region, raw, raw_len, "");
      }
    }
    v.list = list;
    v.nlist = (int64_t)t->nitems;
    int status = set_value(base, k, &v);
    free(list);
    return status;
  }
  }
  return set_value(base, k, &v);
}

/* ---- building a configuration ---------------------------------------------------------------- */

/* Where a key got its value. */
struct origin {
  int line;   /* > 0: this line of the file */
  int set;    /* >= 0: this --set (and line is 0) */
  long order; /* when it was applied, 1, 2, ...; 0: the default */
};

struct build {
  struct cfg *cfg;
  const char *const *sets;
  struct origin origin[NKEYS];
  struct origin *region_origin; /* NKEYS a region: where region r's keys (r = 1, ...) were set */
  int regions_cap;
  long applied;
  int edge_table_line[4]; /* the line of each [boundary.NAME] header, 0 if none */
};

static struct where where_of(const struct build *b, const struct origin *o) {
  return (struct where){
      .name = b->cfg->source_name, .line = o->line, .set = o->set >= 0 ? b->sets[o->set] : NULL};
}

/* Where key k got its value: of the configuration (region 0) or of [[region]] number `region`. */
static struct origin *origin_of(struct build *b, size_t k, int region) {
  return region > 0 ? &b->region_origin[(size_t)(region - 1) * NKEYS + k] : &b->origin[k];
}

/* The later-applied of two origins: the one a message about a pair blames. */
static const struct origin *later_of(const struct origin *a, const struct origin *b) {
  return a->order > b->order ? a : b;
}

static int create_defaults(const char *name, struct cfg **out) {
  struct cfg *cfg = calloc(1, sizeof *cfg);
  *out = cfg;
  if (cfg == NULL)
    return err_set(ERR_FAILURE, "out of memory for the configuration");
  cfg->source_name = strdup(name);
  cfg->key_line = calloc(NKEYS, sizeof *cfg->key_line);
  if (cfg->source_name == NULL || cfg->key_line == NULL)
    return err_set(ERR_FAILURE, "out of memory for the configuration");
  for (size_t k = 0; k < NKEYS; k++)
    if (!schema[k].per_region)
      CHECK(set_value(cfg, &schema[k], &schema[k].def));
  return ERR_OK;
}

/* A [[region]] header: a new region, with its keys' defaults. */
static int add_region(struct build *b, const struct toml_entry *e, const struct where *w) {
  struct cfg *cfg = b->cfg;
  if (cfg->nregions == CFG_MAX_REGIONS)
    return fail(w,
                "more than %d [[region]] tables: the output's /fixed mask numbers a point's "
                "region in one byte",
                CFG_MAX_REGIONS);
  if (cfg->nregions == b->regions_cap) {
    int cap = b->regions_cap ? 2 * b->regions_cap : 4;
    cap = cap > CFG_MAX_REGIONS ? CFG_MAX_REGIONS : cap;
    struct cfg_region *regions = realloc(cfg->regions, (size_t)cap * sizeof *regions);
    if (regions != NULL)
      cfg->regions = regions;
    struct origin *origins =
        regions ? realloc(b->region_origin, (size_t)cap * NKEYS * sizeof *origins) : NULL;
    if (origins == NULL)
      return err_set(ERR_FAILURE, "out of memory for [[region]] %d", cfg->nregions + 1);
    b->region_origin = origins;
    b->regions_cap = cap;
  }
  struct cfg_region *r = &cfg->regions[cfg->nregions];
  memset(r, 0, sizeof *r);
  r->line = e->line;
  int number = ++cfg->nregions; /* counted first: cfg_destroy frees what it holds */
  for (size_t k = 0; k < NKEYS; k++) {
    if (!schema[k].per_region)
      continue;
    *origin_of(b, k, number) = (struct origin){.set = -1};
    CHECK(set_value(r, &schema[k], &schema[k].def));
  }
  return ERR_OK;
}

/* Whether some key of `section` is named "prefix.something" (a subtable such as
 * [solver.multigrid]). */
static bool has_subtable(int section, const char *prefix, size_t n) {
  for (size_t k = (size_t)section;
       k < NKEYS && strcmp(schema[k].section, schema[section].section) == 0; k++)
    if (strncmp(schema[k].name, prefix, n) == 0 && schema[k].name[n] == '.')
      return true;
  return false;
}

/* A [section.name] table (`key`) that `section` does not have: suggest the closest of its
 * tables ([boundary.bottom] for [boundary.bttom]), or list them; a section without tables
 * says so as any unknown section does. */
static int unknown_subtable(const struct where *w, int section, const char *s, size_t n,
                            const char *key, size_t key_len) {
  const char *sec = schema[section].section;
  char shown[88], best[64] = "", list[256] = "", prefix[64], last[64] = "";
  size_t best_d = SIZE_MAX, used = 0;
  for (size_t k = (size_t)section; k < NKEYS && strcmp(schema[k].section, sec) == 0; k++) {
    const char *dot = strchr(schema[k].name, '.');
    size_t len = dot != NULL ? (size_t)(dot - schema[k].name) : 0;
    if (len == 0 || len >= sizeof prefix)
      continue;
    memcpy(prefix, schema[k].name, len);
    prefix[len] = '\0';
    if (strcmp(prefix, last) == 0) /* a table's keys are neighbours in the schema */
      continue;
    memcpy(last, prefix, len + 1);
    int m = snprintf(list + used, sizeof list - used, "%s[%s.%s]", used ? ", " : "", sec, prefix);
    used += m > 0 && (size_t)m < sizeof list - used ? (size_t)m : 0;
    size_t d = distance(s, n, prefix);
    if (d < best_d && close_enough(d, prefix)) {
      best_d = d;
      snprintf(best, sizeof best, "%s", prefix);
    }
  }
  if (best[0] != '\0')
    return fail(w, "unknown table [%s.%s]; did you mean [%s.%s]?", sec, clip(s, n, shown), sec,
                best);
  if (list[0] != '\0')
    return fail(w, "unknown table [%s.%s]; the tables of [%s] are %s", sec, clip(s, n, shown), sec,
                list);
  return unknown_section(w, key, key_len, false);
}

static int apply_entry(struct build *b, const struct toml_entry *e) {
  struct where w = {.name = b->cfg->source_name, .line = e->line};
  size_t key_len = strlen(e->key);
  /* The section is the key's first part; the rest names the key, dotted where the schema's
   * name is ([solver.multigrid] cycle = ... is solver's key multigrid.cycle). */
  const char *dot = strchr(e->key, '.');
  size_t head = dot != NULL ? (size_t)(dot - e->key) : key_len;
  int section = find_section(e->key, head);
  bool array = section >= 0 && schema[section].per_region;
  char shown[88];
  if (e->value.type == TOML_TABLE_ARRAY_ITEM) {
    if (section < 0)
      return unknown_section(&w, e->key, key_len, true);
    if (!array)
      return fail(&w, "[[%s]]: an array of [%s] tables is not supported; write one [%s]",
                  clip(e->key, key_len, shown), schema[section].section, schema[section].section);
    if (e->nparts > 1) /* [[region.sub]]: TOML allows it, jacobi has no use for it */
      return fail(&w, "[[%s]]: arrays of tables inside a [[%s]] are not supported",
                  clip(e->key, key_len, shown), schema[section].section);
    return add_region(b, e, &w);
  }
  if (array && e->array_index == 0) { /* [region], or region.x = ... above every table */
    if (e->value.type == TOML_TABLE)
      return fail(&w, "[%s] is an array of tables: write [[%s]] above each region's keys",
                  clip(e->key, key_len, shown), schema[section].section);
    return fail(&w, "key %s belongs under a [[%s]] header, one for each region",
                clip(e->key, key_len, shown), schema[section].section);
  }
  /* key = { ... } (an inline table, toml.h) for a key that takes a value is judged as that
   * key's value below, so the message says what the key takes. */
  bool inline_value = e->value.type == TOML_TABLE && e->raw_len > 0 && e->raw[0] == '{' &&
                      section >= 0 && e->nparts > 1 &&
                      find_key(section, dot + 1, key_len - head - 1) >= 0;
  if (e->value.type == TOML_TABLE && !inline_value) {
    bool known =
        section >= 0 &&
        (e->nparts == 1 || (e->nparts == 2 && has_subtable(section, dot + 1, key_len - head - 1)));
    if (!known && section >= 0 && e->nparts == 2)
      return unknown_subtable(&w, section, dot + 1, key_len - head - 1, e->key, key_len);
    for (size_t k = 0; known && e->nparts == 2 && k < NKEYS; k++)
      if (schema[k].edge > 0 && schema[k].edge_part == EDGE_PLAIN &&
          strcmp(schema[k].name, dot + 1) == 0)
        b->edge_table_line[schema[k].edge - 1] = e->line;
    return known ? ERR_OK : unknown_section(&w, e->key, key_len, false);
  }
  if (e->nparts == 1)
    return key_without_section(&w, e->key, key_len);
  if (section < 0)
    return unknown_section(&w, e->key, head, false);
  /* Keys under a [[region]] header belong to the region it started (toml.h). */
  int region = array ? e->array_index : 0;
  if (region > b->cfg->nregions)
    return err_set(ERR_FAILURE, "%s:%d: %s is in [[region]] %d of %d", b->cfg->source_name, e->line,
                   e->key, region, b->cfg->nregions);
  char sec[96];
  if (region > 0)
    snprintf(sec, sizeof sec, "%s[%d]", schema[section].section, region);
  else
    snprintf(sec, sizeof sec, "%s", schema[section].section);
  const char *name = e->key + head + 1;
  int k = find_key(section, name, key_len - head - 1);
  if (k < 0)
    return unknown_key(&w, section, sec, name, key_len - head - 1);
  void *base = region > 0 ? (void *)&b->cfg->regions[region - 1] : (void *)b->cfg;
  CHECK(apply(base, &schema[k], region, &e->value, e->raw, e->raw_len, &w));
  *origin_of(b, (size_t)k, region) =
      (struct origin){.line = e->line, .set = -1, .order = ++b->applied};
  return ERR_OK;
}

static int apply_file(struct build *b, const char *text, size_t len) {
  struct toml_doc *doc = NULL;
  CHECK(toml_parse(text, len, b->cfg->source_name, &doc));
  int status = ERR_OK;
  for (size_t i = 0; i < doc->nentries && status == ERR_OK; i++)
    status = apply_entry(b, &doc->entries[i]);
  toml_destroy(&doc);
  return status;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* s[0, *n) without blanks around it. */
static const char *trim(const char *s, size_t *n) {
  while (*n > 0 && is_blank(s[0])) {
    s++;
    (*n)--;
  }
  while (*n > 0 && is_blank(s[*n - 1]))
    (*n)--;
  return s;
}

/* A bare word given to a string key: quoted as a TOML string and parsed, so that it meets
 * the file's rules (UTF-8, no NUL) and its escapes stay literal. */
static int parse_bare_word(const char *s, size_t n, const char *name, struct toml_doc **doc) {
  if (n > (SIZE_MAX - 3) / 6)
    return err_set(ERR_FAILURE, "out of memory for %s", name);
  char *quoted = malloc(6 * n + 3), *q = quoted;
  if (quoted == NULL)
    return err_set(ERR_FAILURE, "out of memory for %s", name);
  *q++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      *q++ = '\\';
      *q++ = (char)c;
    } else if (c < 0x20 || c == 0x7F) {
      q += sprintf(q, "\\u%04X", (unsigned)c);
    } else {
      *q++ = (char)c;
    }
  }
  *q++ = '"';
  int status = toml_parse_value(quoted, (size_t)(q - quoted), name, doc);
  free(quoted);
  return status;
}

/* The value of a --set for key k: a TOML value, or for a string key a bare word. A bare
 * value for an expression key is the number when TOML reads it as one, else the expression's
 * text: --set boundary.top=50 is a number, --set 'boundary.top=50 * x' an expression. */
static int parse_set_value(const struct key_def *k, const char *s, size_t n, const char *name,
                           const struct where *w, struct toml_doc **doc) {
  bool quoted = n > 0 && (s[0] == '"' || s[0] == '\'');
  if ((k->type == KEY_STRING || k->type == KEY_ENUM) && !quoted)
    return parse_bare_word(s, n, name, doc);
  int status = toml_parse_value(s, n, NULL, doc); /* a probe: no message yet */
  if ((k->type == KEY_EXPR || (k->type == KEY_FLOAT && k->keyword != NULL)) && !quoted) {
    enum toml_type t = status == ERR_OK ? (*doc)->entries[0].value.type : TOML_TABLE;
    if (status == ERR_FAILURE || t == TOML_INTEGER || t == TOML_FLOAT)
      return status;
    toml_destroy(doc);
    return parse_bare_word(s, n, name, doc);
  }
  if (status != ERR_CONFIG)
    return status;
  if (quoted) /* meant as a TOML string: say what is wrong with it */
    return toml_parse_value(s, n, name, doc);
  return bad_value(w, k, 0, s, n, "");
}

static int apply_set(struct build *b, int index) {
  const char *arg = b->sets[index];
  struct where w = {.name = b->cfg->source_name, .set = arg};
  const char *eq = strchr(arg, '=');
  if (eq == NULL)
    return fail(&w, "expected section.key=VALUE, e.g. solver.tolerance=1e-8 (no \"=\")");
  size_t key_len = (size_t)(eq - arg), value_len = strlen(eq + 1);
  const char *key = trim(arg, &key_len), *value = trim(eq + 1, &value_len);
  if (key_len == 0)
    return fail(&w, "expected section.key=VALUE: the key before \"=\" is empty");
  const char *dot = memchr(key, '.', key_len);
  if (dot == NULL)
    return key_without_section(&w, key, key_len);
  size_t section_len = (size_t)(dot - key), name_len = key_len - section_len - 1;
  if (section_len == 0 || name_len == 0)
    return fail(&w, "expected section.key=VALUE: the %s of the key is empty",
                section_len == 0 ? "section" : "name");
  int section = find_section(key, section_len);
  if (section < 0)
    return unknown_section(&w, key, section_len, false);
  if (schema[section].per_region)
    return fail(&w,
                "[[%s]] keys are set in the file, under each region's [[%s]] header: --set "
                "cannot say which region",
                schema[section].section, schema[section].section);
  int k = find_key(section, dot + 1, name_len);
  if (k < 0)
    return unknown_key(&w, section, schema[section].section, dot + 1, name_len);

  char name[100], shown[88];
  snprintf(name, sizeof name, "--set %s", clip(arg, strlen(arg), shown));
  struct toml_doc *doc = NULL;
  CHECK(parse_set_value(&schema[k], value, value_len, name, &w, &doc));
  int status = apply(b->cfg, &schema[k], 0, &doc->entries[0].value, value, value_len, &w);
  toml_destroy(&doc);
  CHECK(status);
  b->origin[k] = (struct origin){.set = index, .order = ++b->applied};
  return ERR_OK;
}

/* Why key k does not apply to this configuration ("applies to ...; ..."), in why, or NULL if it
 * does. The keys of a method or a feature not chosen: multigrid's with another method, the
 * source file's dataset without the file (temporal blocks with multigrid, and a region key of
 * another shape, are refused where they are checked, in the same words). Taken and ignored
 * without a word, they let a misread config run; refused, and left out of cfg_print. */
static const char *not_applicable(const struct cfg *cfg, size_t k, char *why, size_t size) {
  if (strcmp(schema[k].section, "solver") == 0 && strncmp(schema[k].name, "multigrid.", 10) == 0 &&
      cfg->method != CFG_METHOD_MULTIGRID) {
    snprintf(why, size,
             "applies to the multigrid method; solver.method is \"%s\" (remove the key, or set "
             "solver.method = \"multigrid\")",
             method_names[cfg->method]);
    return why;
  }
  if (strcmp(schema[k].section, "source") == 0 && strcmp(schema[k].name, "dataset") == 0 &&
      (cfg->source_file == NULL || cfg->source_file[0] == '\0')) {
    snprintf(why, size,
             "applies to the file of source.from_file, which is not set (remove the "
             "key, or set source.from_file)");
    return why;
  }
  bool conductivity_file = cfg->conductivity_file != NULL && cfg->conductivity_file[0] != '\0';
  if (strcmp(schema[k].section, "plate") == 0 &&
      strcmp(schema[k].name, "conductivity_dataset") == 0 && !conductivity_file) {
    snprintf(why, size,
             "applies to the file of plate.conductivity_file, which is not set (remove the "
             "key, or set plate.conductivity_file)");
    return why;
  }
  if (strcmp(schema[k].section, "plate") == 0 && strcmp(schema[k].name, "conductivity") == 0 &&
      conductivity_file) {
    snprintf(why, size,
             "does not apply with plate.conductivity_file, whose dataset gives every "
             "point's conductivity (remove one of the two)");
    return why;
  }
  if (strcmp(schema[k].section, "surface") == 0 && strcmp(schema[k].name, "h") != 0 &&
      cfg->surface_h.text == NULL && cfg->surface_h.value == 0.0) {
    snprintf(why, size,
             "applies to an exchange through the faces, and surface.h is 0 (remove the key, or "
             "set surface.h)");
    return why;
  }
  return NULL;
}

/* Checks of the whole: every required key set, and a grid whose size fits in int64. */
static int check_complete(struct build *b) {
  for (size_t k = 0; k < NKEYS; k++) {
    if (schema[k].required && !schema[k].per_region && b->origin[k].order == 0) {
      char type[160];
      struct where w = {.name = b->cfg->source_name};
      return fail(&w, "%s.%s is required (%s, %s)", schema[k].section, schema[k].name,
                  type_text(&schema[k], type, sizeof type), schema[k].help);
    }
  }
  /* A key that does not apply is an error, said one way: "KEY applies to WHAT; why not here"
   * (not_applicable). Keys every method reads (solver.check_interval, solver.stores,
   * halo.overlap) stay accepted: a method that has no use for them says so in the README. */
  for (size_t k = 0; k < NKEYS; k++) {
    char why[200];
    if (schema[k].per_region || b->origin[k].order == 0 ||
        not_applicable(b->cfg, k, why, sizeof why) == NULL)
      continue;
    struct where w = where_of(b, &b->origin[k]);
    return fail(&w, "%s.%s %s", schema[k].section, schema[k].name, why);
  }
  /* Multigrid smooths on every level, and its sweeps are its own: no temporal blocks. */
  if (b->cfg->method == CFG_METHOD_MULTIGRID) {
    int pre = find_dotted("solver.multigrid.pre"), post = find_dotted("solver.multigrid.post");
    int tb = find_dotted("solver.temporal_block");
    if (b->cfg->mg_pre + b->cfg->mg_post < 1) {
      const struct origin *later =
          b->origin[pre].order > b->origin[post].order ? &b->origin[pre] : &b->origin[post];
      struct where w = where_of(b, later);
      return fail(&w, "solver.multigrid.pre + solver.multigrid.post must be at least 1, got 0: "
                      "a cycle without smoothing does not converge");
    }
    if (b->cfg->temporal_block > 1) {
      struct where w = where_of(b, &b->origin[tb]);
      return fail(&w,
                  "solver.temporal_block = %lld applies to the jacobi and chebyshev methods; "
                  "multigrid needs 1",
                  (long long)b->cfg->temporal_block);
    }
  }
  /* A temporal block of K sweeps ends only at multiples of K: every check and checkpoint must
   * fall on one. */
  int64_t k_block = b->cfg->temporal_block;
  const char *others[] = {"solver.check_interval", "output.checkpoint_interval"};
  int64_t values[] = {b->cfg->check_interval, b->cfg->checkpoint_interval};
  for (int o = 0; o < 2; o++) {
    if (values[o] % k_block == 0)
      continue;
    int tb = find_dotted("solver.temporal_block"), other = find_dotted(others[o]);
    const struct origin *later =
        b->origin[tb].order > b->origin[other].order ? &b->origin[tb] : &b->origin[other];
    struct where w = where_of(b, later);
    return fail(&w,
                "solver.temporal_block = %lld must divide %s = %lld: a block of sweeps ends "
                "only at its multiples",
                (long long)k_block, others[o], (long long)values[o]);
  }
  /* Both fields of (nx + 2) x (ny + 2) doubles must be countable in bytes by an int64. */
  int nx = find_dotted("grid.nx"), ny = find_dotted("grid.ny");
  int64_t limit = INT64_MAX / 16, cols = b->cfg->nx, rows = b->cfg->ny;
  if (cols <= limit - 2 && rows <= limit / (cols + 2) - 2)
    return ERR_OK;
  const struct origin *later =
      b->origin[nx].order > b->origin[ny].order ? &b->origin[nx] : &b->origin[ny];
  struct where w = where_of(b, later);
  return fail(&w,
              "grid.nx x grid.ny = %lld x %lld points is too large: its (nx + 2) x (ny + 2) "
              "points of 16 bytes would overflow a 64-bit size",
              (long long)cols, (long long)rows);
}

/* x as briefly as it reads back exactly: 0.0078125, 1, 0.10000000000000001 only when needed. */
static const char *shortest(double x, char buf[32]) {
  snprintf(buf, 32, "%.15g", x);
  if (strtod(buf, NULL) != x)
    snprintf(buf, 32, "%.17g", x);
  return buf;
}

/* "NAME:LINE" or "--set ARG", as the start of a message names a place. */
static const char *place(const struct build *b, const struct origin *o, char buf[128]) {
  char arg[88];
  if (o->set >= 0)
    snprintf(buf, 128, "--set %s", clip(b->sets[o->set], strlen(b->sets[o->set]), arg));
  else
    snprintf(buf, 128, "%s:%d", b->cfg->source_name, o->line);
  return buf;
}

/* The edges not held across (left and right, e = 0) or down (top and bottom, e = 1): the
 * points of such an edge lie on it, so the plate is one spacing shorter than nx + 1 for each. */
static int64_t not_held(const struct cfg *c, int down) {
  int first = down ? 0 : 2; /* edge[]: top, bottom, left, right */
  return (c->edge[first].kind != CFG_EDGE_HELD) + (c->edge[first + 1].kind != CFG_EDGE_HELD);
}

/* Spacings across the plate (width / h) and down it (height / h). */
static int64_t cells_across(const struct cfg *c) { return c->nx + 1 - not_held(c, 0); }
static int64_t cells_down(const struct cfg *c) { return c->ny + 1 - not_held(c, 1); }

/* The schema row of edge e's key `part` (every edge has all five). */
static size_t edge_row(int e, enum edge_part part) {
  size_t k = 0;
  while (k < NKEYS && !(schema[k].edge == e + 1 && schema[k].edge_part == part))
    k++;
  return k;
}

/* Two keys that cannot go together, both given: the later is blamed, the earlier named. */
static int clash(struct build *b, size_t ka, size_t kb, const char *why) {
  bool b_later = b->origin[kb].order > b->origin[ka].order;
  size_t later = b_later ? kb : ka, earlier = b_later ? ka : kb;
  char at[128];
  struct where w = where_of(b, &b->origin[later]);
  return fail(&w, "%s.%s and %s.%s (%s) are both given: %s", schema[later].section,
              schema[later].name, schema[earlier].section, schema[earlier].name,
              place(b, &b->origin[earlier], at), why);
}

/* Each edge's kind, from which of its keys were given: NAME = a temperature or "insulated";
 * [boundary.NAME] with temperature (held), flux, or h and ambient (convective); one of them.
 * The field of an edge that is not held is left 0 (the ring beyond it holds 0: field.h). */
static int resolve_edges(struct build *b) {
  struct cfg *c = b->cfg;
  static const char *const one_kind = "an edge is held (temperature), takes a flux (flux) or is "
                                      "convective (h and ambient), one of the three";
  for (int e = 0; e < 4; e++) {
    size_t plain = edge_row(e, EDGE_PLAIN), temperature = edge_row(e, EDGE_TEMPERATURE);
    size_t flux = edge_row(e, EDGE_FLUX), h = edge_row(e, EDGE_H);
    size_t ambient = edge_row(e, EDGE_AMBIENT);
    size_t table[] = {temperature, flux, h, ambient};
    bool set[5];
    const size_t rows[] = {plain, temperature, flux, h, ambient};
    for (int i = 0; i < 5; i++)
      set[i] = b->origin[rows[i]].order > 0;
    /* In a file TOML itself refuses both forms (a key both a value and a table); --set can
     * still give both. */
    for (int i = 0; i < 4 && set[0]; i++)
      if (set[1 + i]) {
        char why[200];
        snprintf(why, sizeof why,
                 "an edge is given as %s = ... (a temperature held, or \"%s\") or as a "
                 "[boundary.%s] table, not both",
                 schema[plain].name, INSULATED, schema[plain].name);
        return clash(b, plain, table[i], why);
      }
    if (set[1] && (set[2] || set[3] || set[4]))
      return clash(b, temperature, set[2] ? flux : set[3] ? h : ambient, one_kind);
    if (set[2] && (set[3] || set[4]))
      return clash(b, flux, set[3] ? h : ambient, one_kind);
    if (b->edge_table_line[e] > 0 && !set[1] && !set[2] && !set[3] && !set[4]) {
      struct where w = {.name = c->source_name, .line = b->edge_table_line[e]};
      return fail(&w,
                  "[boundary.%s] is empty: give it temperature (held), flux, or h and ambient "
                  "(convective); an insulated edge is %s = \"%s\" under [boundary]",
                  schema[plain].name, schema[plain].name, INSULATED);
    }
    if (set[3] != set[4]) {
      size_t given = set[3] ? h : ambient, missing = set[3] ? ambient : h;
      struct where w = where_of(b, &b->origin[given]);
      return fail(&w,
                  "boundary.%s is given without boundary.%s: a convective edge needs both, h "
                  "(W/(m^2 K)) and the fluid's temperature (ambient)",
                  schema[given].name, schema[missing].name);
    }
    struct cfg_expr given;
    memcpy(&given, const_field_of(c, &schema[plain]), sizeof given);
    enum cfg_edge_kind kind = CFG_EDGE_HELD;
    if (set[0] && given.text != NULL && strcmp(given.text, INSULATED) == 0)
      kind = CFG_EDGE_INSULATED;
    else if (set[2])
      kind = CFG_EDGE_FLUX;
    else if (set[3])
      kind = CFG_EDGE_CONVECTIVE;
    c->edge[e].kind = kind;
    if (kind != CFG_EDGE_HELD)
      CHECK(set_value(c, &schema[plain], &(struct value){.f = 0.0}));
  }
  /* An edge not held has its points on it: the outermost row or column. Both edges of a side
   * so: the grid must reach from one to the other. */
  const char *counts[] = {"grid.nx", "grid.ny"},
             *pairs[] = {"left nor the right", "top nor the bottom"};
  int64_t points[] = {c->nx, c->ny};
  for (int down = 0; down < 2; down++) {
    if (not_held(c, down) < 2 || points[down] >= 2)
      continue;
    struct where w = where_of(b, &b->origin[find_dotted(counts[down])]);
    return fail(&w,
                "%s = 1, but neither the %s edge is held: the points of an edge that is not held "
                "lie on it, so %s must be at least 2 (one %s on each)",
                counts[down], pairs[down], counts[down] + 5, down ? "row" : "column");
  }
  return ERR_OK;
}

/* The conductivity as one number (NaN where it is not one), and the faces' exchange: an h
 * without an ambient is refused (0 degrees would be a guess). */
static int resolve_materials(struct build *b) {
  struct cfg *c = b->cfg;
  bool from_file = c->conductivity_file != NULL && c->conductivity_file[0] != '\0';
  c->conductivity = from_file || c->conductivity_k.text != NULL ? NAN : c->conductivity_k.value;
  int kh = find_dotted("surface.h"), ka = find_dotted("surface.ambient");
  bool exchange = c->surface_h.text != NULL || c->surface_h.value != 0.0;
  if (exchange && b->origin[ka].order == 0) {
    struct where w = where_of(b, &b->origin[kh]);
    return fail(&w,
                "surface.h is given without surface.ambient: the faces exchange h (T - ambient) "
                "W/m^2 with what is around them, and its temperature has no default");
  }
  return ERR_OK;
}

/* Whether a whole number of spacings h = good / m spans `bad` (to 1e-9 of it); its count. */
static int64_t whole_spans(double bad, double good, int64_t m) {
  double spans = bad * (double)m / good; /* rounded by hand: jacobi_config does not link libm */
  int64_t whole = spans >= 2 && spans < 9e15 ? (int64_t)(spans + 0.5) : 0;
  double miss = (double)whole * good / (double)m - bad;
  return whole >= 2 && (miss < 0 ? -miss : miss) <= 1e-9 * bad ? whole : 0;
}

/* A grid that keeps both sizes: the count of spacings across the given side nearest to `cells`
 * (within a million) at which a whole number of spacings spans the other side too; false if
 * none is that near. */
static bool both_sizes_fit(double bad, double good, int64_t cells, int64_t *good_cells,
                           int64_t *bad_cells) {
  for (int64_t d = 1; d <= 1000000; d++)
    for (int sign = 1; sign >= -1; sign -= 2) {
      int64_t m = cells + sign * d, whole = m >= 2 ? whole_spans(bad, good, m) : 0;
      if (whole > 0) {
        *good_cells = m;
        *bad_cells = whole;
        return true;
      }
    }
  return false;
}

/* The spacing's rule for one side, as a message writes it: "width / (nx + 1)", "width / nx" or
 * "width / (nx - 1)" when 0, 1 or 2 of its edges are not held. */
static const char *spacing_rule(const char *side, const char *count, int64_t not_held_edges,
                                char buf[48]) {
  if (not_held_edges == 0)
    snprintf(buf, 48, "%s / (%s + 1)", side, count);
  else if (not_held_edges == 1)
    snprintf(buf, 48, "%s / %s", side, count);
  else
    snprintf(buf, 48, "%s / (%s - 1)", side, count);
  return buf;
}

/* "; the points of an edge that is not held lie on it, here the top and left edges", or ""
 * when every edge is held. */
static const char *edge_rule(const struct cfg *c, char buf[160]) {
  static const char *const names[] = {"top", "bottom", "left", "right"};
  const char *list[4];
  int n = 0;
  for (int e = 0; e < 4; e++)
    if (c->edge[e].kind != CFG_EDGE_HELD)
      list[n++] = names[e];
  buf[0] = '\0';
  if (n == 0)
    return buf;
  size_t used =
      (size_t)snprintf(buf, 160, "; the points of an edge that is not held lie on it, here the ");
  for (int i = 0; i < n; i++)
    used += (size_t)snprintf(buf + used, 160 - used, "%s%s",
                             i == 0       ? ""
                             : i == n - 1 ? " and "
                                          : ", ",
                             list[i]);
  snprintf(buf + used, 160 - used, " edge%s", n > 1 ? "s" : "");
  return buf;
}

/* Both plate sizes given, and they disagree: say which size (or grid count) would fit. */
static int plate_misfit(struct build *b, int kw, int kh) {
  const struct cfg *c = b->cfg;
  bool height_later = b->origin[kh].order > b->origin[kw].order;
  /* The key given first stands; the later one is judged against it. */
  const char *bad = height_later ? "height" : "width", *good = height_later ? "width" : "height";
  const char *count = height_later ? "ny" : "nx", *by = height_later ? "nx" : "ny";
  double bad_value = height_later ? c->height : c->width;
  double good_value = height_later ? c->width : c->height;
  int64_t good_cells = height_later ? cells_across(c) : cells_down(c);
  int64_t bad_cells = height_later ? cells_down(c) : cells_across(c);
  /* grid count = spacings - 1 + the side's edges that are not held */
  int64_t good_extra = not_held(c, !height_later), bad_extra = not_held(c, height_later);
  double h = good_value / (double)good_cells, fit = h * (double)bad_cells;
  char other[32], alt[112] = "", g[32], v[32], hs[32], f[32], at[128], rule[48], edges[160];
  /* Another count of points would fit this size, if a whole number of spacings spans it;
   * else another pair of counts may keep both sizes. */
  int64_t whole = whole_spans(bad_value, good_value, good_cells), both_good, both_bad;
  if (whole > 0)
    snprintf(alt, sizeof alt, " (or grid.%s = %lld)", count, (long long)(whole - 1 + bad_extra));
  else if (both_sizes_fit(bad_value, good_value, good_cells, &both_good, &both_bad))
    snprintf(alt, sizeof alt, " (or, to keep both sizes, grid.%s = %lld and grid.%s = %lld)", count,
             (long long)(both_bad - 1 + bad_extra), by, (long long)(both_good - 1 + good_extra));
  struct where w = where_of(b, &b->origin[height_later ? kh : kw]);
  snprintf(other, sizeof other, "%s", shortest(good_value, g));
  return fail(&w,
              "plate.%s = %s does not fit plate.%s = %s (%s) on a %lld x %lld grid: the spacing "
              "is uniform (h = %s = %s m%s), so %s must be %s m%s",
              bad, shortest(bad_value, v), good, other,
              place(b, &b->origin[height_later ? kw : kh], at), (long long)c->nx, (long long)c->ny,
              spacing_rule(good, by, good_extra, rule), shortest(h, hs), edge_rule(c, edges), bad,
              shortest(fit, f), alt);
}

/* The plate's size: width and height both set, consistent with the uniform spacing. */
static int resolve_plate(struct build *b) {
  struct cfg *c = b->cfg;
  int kw = find_dotted("plate.width"), kh = find_dotted("plate.height");
  bool width_set = b->origin[kw].order > 0, height_set = b->origin[kh].order > 0;
  double cols = (double)cells_across(c), rows = (double)cells_down(c);
  if (!width_set && !height_set) {
    c->width = 1.0;
    c->height = rows / cols;
  } else if (!height_set) {
    c->height = c->width / cols * rows;
  } else if (!width_set) {
    c->width = c->height / rows * cols;
  } else {
    double fit = c->width / cols * rows;
    double miss = c->height - fit;
    if (!((miss < 0 ? -miss : miss) <= 1e-9 * fit))
      return plate_misfit(b, kw, kh);
  }
  double h = cfg_spacing(c);
  if (isfinite(c->width) && isfinite(c->height) && h > 0 && c->height / rows > 0)
    return ERR_OK;
  char wv[32], hv[32];
  struct where w = where_of(b, later_of(&b->origin[kw], &b->origin[kh]));
  return fail(&w,
              "plate.width x plate.height = %s x %s m on a %lld x %lld grid: the size or its "
              "spacing is beyond a double",
              shortest(c->width, wv), shortest(c->height, hv), (long long)c->nx, (long long)c->ny);
}

/* s as a TOML basic string for a message, cut after about 80 bytes. */
static const char *quoted_text(const char *s, char buf[104]) {
  size_t n = 0;
  buf[n++] = '"';
  for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
    if (n >= 84 && (*c & 0xC0) != 0x80) {
      memcpy(buf + n, "...", 3);
      n += 3;
      break;
    }
    if (*c == '"' || *c == '\\') {
      buf[n++] = '\\';
      buf[n++] = (char)*c;
    } else if (*c < 0x20 || *c == 0x7F) {
      n += (size_t)snprintf(buf + n, 8, "\\u%04X", (unsigned)*c);
    } else {
      buf[n++] = (char)*c;
    }
  }
  buf[n++] = '"';
  buf[n] = '\0';
  return buf;
}

/* Compile key k's expression (of [[region]] number `region`, or 0), if it is one, against the
 * plate's size: it must parse, and if it is a constant, lie in k's range. */
static int compile_expression(struct build *b, const struct key_def *k, int region,
                              const struct cfg_expr *x, const struct origin *o) {
  if (x->text == NULL)
    return ERR_OK;
  struct expr *e = NULL;
  char label[96], text[104], at[128], prefix[400];
  key_label(k, region, label);
  int status = expr_create(x->text, b->cfg->width, b->cfg->height, &e);
  if (status == ERR_CONFIG) { /* "position P: what": say where, which key and which text */
    snprintf(prefix, sizeof prefix, "%s: %s = %s does not parse", place(b, o, at), label,
             quoted_text(x->text, text));
    err_prefix(prefix);
  }
  CHECK(status);
  bool constant = expr_is_constant(e); /* else the plate checks it, point by point */
  double v = constant ? expr_eval(e, 0.0, 0.0) : 0.0;
  expr_destroy(&e);
  if (!constant || in_float_range(k, v))
    return ERR_OK;
  char got[32], number[96];
  struct where w = where_of(b, o);
  return fail(&w, "%s = %s is %s, which is not %s", label, quoted_text(x->text, text),
              shortest(v, got), number_phrase(k, number, sizeof number));
}

/* The other key whose value lives in k's field (boundary.top and boundary.top.temperature),
 * or -1. */
static int field_partner(size_t k) {
  for (size_t j = 0; j < NKEYS; j++)
    if (j != k && !schema[j].per_region && !schema[k].per_region &&
        schema[j].offset == schema[k].offset)
      return (int)j;
  return -1;
}

static int compile_expressions(struct build *b) {
  for (size_t k = 0; k < NKEYS; k++) {
    if (schema[k].type != KEY_EXPR || schema[k].per_region)
      continue;
    int partner = field_partner(k); /* the field is the later-given key's: blame that one */
    if (partner >= 0 && b->origin[partner].order > b->origin[k].order)
      continue;
    struct cfg_expr x;
    memcpy(&x, const_field_of(b->cfg, &schema[k]), sizeof x);
    CHECK(compile_expression(b, &schema[k], 0, &x, &b->origin[k]));
  }
  return ERR_OK;
}

/* "shape, x0, x1, y0, y1, temperature": the keys a region of this shape takes. */
static const char *shape_keys(unsigned bit, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t k = 0; k < NKEYS && used < size; k++) {
    if (!schema[k].per_region || !(schema[k].shapes & bit))
      continue;
    int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", schema[k].name);
    used += n > 0 ? (size_t)n : 0;
  }
  return buf;
}

/* A region reaches `what` = `at` m, beyond the plate's side at 0 or at `side` (`side_name`). */
static int outside(struct build *b, const struct origin *o, int region, const char *shape,
                   const char *what, double at, const char *axis, const char *side_name,
                   double side) {
  char a[32], s[32], limit[64];
  if (at < 0)
    snprintf(limit, sizeof limit, "%s >= 0", axis);
  else
    snprintf(limit, sizeof limit, "%s = %s m", side_name, shortest(side, s));
  struct where w = where_of(b, o);
  return fail(&w, "region %d (%s) reaches %s = %s m, outside the plate (%s)", region, shape, what,
              shortest(at, a), limit);
}

/* Every [[region]]: its shape and that shape's keys, nothing else; x0 <= x1, y0 <= y1; within
 * the plate (to 1e-9 of the spacing, so a side on the plate's edge is in); its temperature. */
static int check_region(struct build *b, int r) {
  const struct cfg *c = b->cfg;
  struct cfg_region *g = &b->cfg->regions[r - 1];
  struct origin header = {.line = g->line, .set = -1};
  struct where at_header = where_of(b, &header);
  size_t kshape = (size_t)find_dotted("region.shape");
  if (origin_of(b, kshape, r)->order == 0)
    return fail(&at_header, "region[%d].shape is required (\"rectangle\", \"disk\" or \"mask\")",
                r);
  const char *shape = region_shape_names[g->shape];
  unsigned bit = SHAPE(g->shape);
  char list[160], type[160];
  for (size_t k = 0; k < NKEYS; k++) {
    const struct origin *o = origin_of(b, k, r);
    if (!schema[k].per_region || (schema[k].shapes & bit) || o->order == 0)
      continue;
    struct where w = where_of(b, o);
    return fail(&w, "region[%d].%s does not apply to a %s: a %s's keys are %s", r, schema[k].name,
                shape, shape, shape_keys(bit, list, sizeof list));
  }
  for (size_t k = 0; k < NKEYS; k++)
    if (schema[k].per_region && schema[k].required && (schema[k].shapes & bit) &&
        origin_of(b, k, r)->order == 0)
      return fail(&at_header, "region[%d].%s is required for a %s (%s: %s)", r, schema[k].name,
                  shape, type_text(&schema[k], type, sizeof type), schema[k].help);
  double tol = 1e-9 * cfg_spacing(c);
#define ORIGIN(name) origin_of(b, (size_t)find_dotted("region." name), r)
  if (g->shape == CFG_REGION_RECTANGLE) {
    const char *lows[] = {"x0", "y0"}, *highs[] = {"x1", "y1"};
    double low[] = {g->x0, g->y0}, high[] = {g->x1, g->y1}, side[] = {c->width, c->height};
    for (int d = 0; d < 2; d++) {
      char l[32], h[32];
      struct origin *lo = origin_of(b, (size_t)find_dotted(d ? "region.y0" : "region.x0"), r);
      struct origin *hi = origin_of(b, (size_t)find_dotted(d ? "region.y1" : "region.x1"), r);
      if (low[d] > high[d]) {
        struct where w = where_of(b, later_of(lo, hi));
        return fail(&w,
                    "region[%d].%s = %s is greater than region[%d].%s = %s: a rectangle "
                    "needs %s <= %s",
                    r, lows[d], shortest(low[d], l), r, highs[d], shortest(high[d], h), lows[d],
                    highs[d]);
      }
      if (low[d] < -tol)
        return outside(b, lo, r, shape, lows[d], low[d], d ? "y" : "x", "", 0);
      if (high[d] > side[d] + tol)
        return outside(b, hi, r, shape, highs[d], high[d], d ? "y" : "x", d ? "height" : "width",
                       side[d]);
    }
  } else if (g->shape == CFG_REGION_DISK) {
    double centre[] = {g->cx, g->cy}, side[] = {c->width, c->height};
    for (int d = 0; d < 2; d++) {
      const struct origin *o = later_of(ORIGIN("radius"), d ? ORIGIN("cy") : ORIGIN("cx"));
      const char *axis = d ? "y" : "x";
      char what[32];
      snprintf(what, sizeof what, "%s = c%s - radius", axis, axis);
      if (centre[d] - g->radius < -tol)
        return outside(b, o, r, shape, what, centre[d] - g->radius, axis, "", 0);
      snprintf(what, sizeof what, "%s = c%s + radius", axis, axis);
      if (centre[d] + g->radius > side[d] + tol)
        return outside(b, o, r, shape, what, centre[d] + g->radius, axis, d ? "height" : "width",
                       side[d]);
    }
  }
  /* What the region is: held, a material, a heater (held and a material together: the
   * conductivity governs the faces into the held points). */
  const struct origin *held = ORIGIN("temperature"), *material = ORIGIN("conductivity");
  const struct origin *heater = ORIGIN("power");
  g->held = held->order > 0;
  g->has_conductivity = material->order > 0;
  g->has_power = heater->order > 0;
  if (!g->held && !g->has_conductivity && !g->has_power)
    return fail(&at_header,
                "region[%d] is neither held, a material nor a heater: give it a temperature, a "
                "conductivity or a power",
                r);
  if (g->held && g->has_power) {
    bool power_later = heater->order > held->order;
    char at[128];
    struct where w = where_of(b, power_later ? heater : held);
    return fail(&w,
                "region[%d].%s and region[%d].%s (%s) are both given: a held point stays at its "
                "temperature whatever heat it gets, so the power would change nothing (give the "
                "heater a region of its own)",
                r, power_later ? "power" : "temperature", r, power_later ? "temperature" : "power",
                place(b, power_later ? held : heater, at));
  }
  CHECK(compile_expression(b, &schema[find_dotted("region.conductivity")], r, &g->conductivity,
                           material));
  return compile_expression(b, &schema[find_dotted("region.temperature")], r, &g->temperature,
                            held);
#undef ORIGIN
}

/* A plate whose temperature nothing anchors (no held edge or region, no convective edge, no
 * exchange through the faces) has no unique steady state: any constant may be added to one.
 * Refused here where the keys show it; where an h is an expression that may be 0 everywhere,
 * or a held mask may cover no point, the plate judges at start-up. The message blames the
 * edge key given last. */
static int check_heat_leaves(struct build *b) {
  const struct cfg *c = b->cfg;
  bool anchored = c->surface_h.text != NULL || c->surface_h.value != 0.0;
  for (int e = 0; e < 4 && !anchored; e++)
    anchored = c->edge[e].kind == CFG_EDGE_HELD ||
               (c->edge[e].kind == CFG_EDGE_CONVECTIVE &&
                (c->edge[e].h.text != NULL || c->edge[e].h.value != 0.0));
  for (int r = 0; r < c->nregions && !anchored; r++)
    anchored = c->regions[r].held;
  if (anchored)
    return ERR_OK;
  size_t last = edge_row(0, EDGE_PLAIN);
  for (size_t k = 0; k < NKEYS; k++)
    if (schema[k].edge > 0 && b->origin[k].order > b->origin[last].order)
      last = k;
  struct where w = where_of(b, &b->origin[last]);
  return fail(&w,
              "boundary.%s: no edge or region is held and no heat can leave (no convective edge "
              "with h > 0, surface.h 0), so the steady state is not unique (any constant may be "
              "added to it): hold an edge or a region at a temperature, or give an edge or the "
              "faces an h and an ambient",
              schema[last].name);
}

/* [time]: any of its keys needs time.end (the transient runs to it), and exactly one of
 * time.step and time.steps; the step must not pass the end. The message blames the key given. */
static int check_time(struct build *b) {
  struct cfg *c = b->cfg;
  int kend = find_dotted("time.end"), kstep = find_dotted("time.step"),
      ksteps = find_dotted("time.steps");
  size_t given = NKEYS;
  for (size_t k = 0; k < NKEYS; k++)
    if (strcmp(schema[k].section, "time") == 0 && b->origin[k].order > 0 &&
        (given == NKEYS || b->origin[k].order > b->origin[given].order))
      given = k;
  if (given == NKEYS)
    return ERR_OK;
  c->transient = true;
  struct where w = where_of(b, &b->origin[given]);
  if (b->origin[kend].order <= 0)
    return fail(&w, "time.%s: [time] needs time.end, the simulated time in s to run to",
                schema[given].name);
  bool step = b->origin[kstep].order > 0, steps = b->origin[ksteps].order > 0;
  if (step == steps) {
    w = where_of(b, step ? later_of(&b->origin[kstep], &b->origin[ksteps]) : &b->origin[kend]);
    return fail(&w, "time.%s: give exactly one of time.step (s) and time.steps (a count), got %s",
                step ? "steps" : "end", step ? "both" : "neither");
  }
  if (isinf(c->time_end)) { /* "steady": a step, and at most time.max_steps of them */
    if (!step) {
      w = where_of(b, &b->origin[ksteps]);
      return fail(&w, "time.steps: with time.end = \"steady\" give time.step (s), not a count "
                      "of steps (time.max_steps bounds them)");
    }
    c->time_steps = c->time_max_steps;
  } else if (b->origin[find_dotted("time.max_steps")].order > 0) {
    w = where_of(b, &b->origin[find_dotted("time.max_steps")]);
    return fail(&w, "time.max_steps applies only with time.end = \"steady\" (time.end gives "
                    "the steps here): remove it");
  }
  if (step && c->time_step > c->time_end) {
    w = where_of(b, &b->origin[kstep]);
    char sv[32], ev[32];
    return fail(&w, "time.step must be at most time.end (%s s), got %s", shortest(c->time_end, ev),
                shortest(c->time_step, sv));
  }
  const struct cfg_floats *times = &c->output_times;
  for (int64_t e = 0; e < times->count; e++)
    if ((e > 0 && !(times->values[e] > times->values[e - 1])) || times->values[e] > c->time_end) {
      w = where_of(b, &b->origin[find_dotted("time.output_times")]);
      char tv[32], ev[32];
      return fail(&w,
                  "time.output_times must increase and end by time.end (%s s), got %s at "
                  "position %lld",
                  shortest(c->time_end, ev), shortest(times->values[e], tv), (long long)e + 1);
    }
  /* a time step is one solve of its own operator: no temporal blocks */
  int kblock = find_dotted("solver.temporal_block");
  if (c->temporal_block > 1) {
    w = where_of(b, &b->origin[kblock]);
    return fail(&w,
                "solver.temporal_block must be 1 with [time] (a time step is one solve of "
                "its own operator), got %lld",
                (long long)c->temporal_block);
  }
  if (!step) {
    c->time_step = c->time_end / (double)c->time_steps;
    return ERR_OK;
  }
  if (isinf(c->time_end))
    return ERR_OK;
  /* equal steps only (a shortened last step would change BDF2's weights): end a whole number
   * of steps, up to rounding */
  double n = round(c->time_end / c->time_step);
  if (!(fabs(c->time_end / c->time_step - n) <= 1e-9 * n) || n > 1e15) {
    w = where_of(b, &b->origin[kstep]);
    char sv[32], ev[32];
    return fail(&w, "time.step must divide time.end (%s s) into equal steps, got %s",
                shortest(c->time_end, ev), shortest(c->time_step, sv));
  }
  c->time_steps = (int64_t)n;
  return ERR_OK;
}

int cfg_create(const char *text, size_t len, const char *name, const char *const *sets, int nsets,
               struct cfg **out) {
  *out = NULL;
  struct build b = {.sets = sets};
  for (size_t k = 0; k < NKEYS; k++)
    b.origin[k] = (struct origin){.set = -1};
  int status = create_defaults(name != NULL ? name : "(config)", &b.cfg);
  if (status == ERR_OK)
    status = apply_file(&b, text, len);
  for (int i = 0; i < nsets && status == ERR_OK; i++)
    status = apply_set(&b, i);
  if (status == ERR_OK)
    status = check_complete(&b);
  if (status == ERR_OK)
    status = resolve_edges(&b);
  if (status == ERR_OK)
    status = resolve_materials(&b);
  if (status == ERR_OK)
    status = resolve_plate(&b);
  if (status == ERR_OK)
    status = compile_expressions(&b);
  /* A held edge given in its table form is reported as the edge's key (cfg_origin, cfg_is_set). */
  for (int e = 0; status == ERR_OK && e < 4; e++) {
    size_t plain = edge_row(e, EDGE_PLAIN), temperature = edge_row(e, EDGE_TEMPERATURE);
    if (b.origin[temperature].order > b.origin[plain].order)
      b.origin[plain] = b.origin[temperature];
  }
  for (int r = 1; status == ERR_OK && r <= b.cfg->nregions; r++)
    status = check_region(&b, r);
  if (status == ERR_OK)
    status = check_time(&b);
  if (status == ERR_OK && !b.cfg->transient) /* a transient is unique without an anchor */
    status = check_heat_leaves(&b);
  /* cfg_origin's lines: the configuration's keys, then NKEYS for each region. */
  size_t nlines = NKEYS * (size_t)(1 + (b.cfg != NULL ? b.cfg->nregions : 0));
  int *lines = status == ERR_OK ? realloc(b.cfg->key_line, nlines * sizeof *lines) : NULL;
  if (status == ERR_OK && lines == NULL)
    status = err_set(ERR_FAILURE, "out of memory for the configuration");
  if (status != ERR_OK) {
    cfg_destroy(&b.cfg);
    free(b.region_origin);
    return status;
  }
  b.cfg->key_line = lines;
  for (size_t k = 0; k < NKEYS; k++)
    lines[k] = b.origin[k].set >= 0 ? -1 : b.origin[k].line;
  for (size_t i = 0; i < (size_t)b.cfg->nregions * NKEYS; i++)
    lines[NKEYS + i] = b.region_origin[i].line;
  free(b.region_origin);
  *out = b.cfg;
  return ERR_OK;
}

void cfg_destroy(struct cfg **cfg) {
  if (cfg == NULL || *cfg == NULL)
    return;
  struct cfg *c = *cfg;
  for (size_t k = 0; k < NKEYS; k++) {
    if (!schema[k].per_region)
      free_value(c, &schema[k]);
    for (int r = 0; schema[k].per_region && r < c->nregions; r++)
      free_value(&c->regions[r], &schema[k]);
  }
  free(c->regions);
  free(c->source_name);
  free(c->key_line);
  free(c);
  *cfg = NULL;
}

bool cfg_general(const struct cfg *cfg) {
  if (cfg_faces(cfg)) /* the faces operator takes sources and held regions in: never both */
    return false;
  return cfg->nregions > 0 || cfg->source_q.text != NULL || cfg->source_q.value != 0.0 ||
         (cfg->source_file != NULL && cfg->source_file[0] != '\0');
}

bool cfg_faces(const struct cfg *cfg) {
  if (cfg->transient) /* the time step adds to the faces operator's diagonal and load */
    return true;
  for (int e = 0; e < 4; e++)
    if (cfg->edge[e].kind != CFG_EDGE_HELD)
      return true;
  if (cfg->surface_h.text != NULL || cfg->surface_h.value != 0.0)
    return true;
  if (cfg->conductivity_k.text != NULL ||
      (cfg->conductivity_file != NULL && cfg->conductivity_file[0] != '\0'))
    return true;
  for (int r = 0; r < cfg->nregions; r++)
    if (cfg->regions[r].has_conductivity || cfg->regions[r].has_power)
      return true;
  return false;
}

double cfg_spacing(const struct cfg *cfg) { return cfg->width / (double)cells_across(cfg); }

/* The index into cfg->key_line of `key`: "section.name", or "region[N].name" for [[region]]
 * number N's keys; -1 if there is no such key. */
static long key_slot(const struct cfg *cfg, const char *key) {
  if (cfg == NULL || cfg->key_line == NULL || key == NULL)
    return -1;
  const char *open = strchr(key, '[');
  if (open == NULL) {
    int k = find_dotted(key);
    return k >= 0 && !schema[k].per_region ? k : -1;
  }
  int section = find_section(key, (size_t)(open - key));
  char *end = NULL;
  long region = section >= 0 && schema[section].per_region ? strtol(open + 1, &end, 10) : 0;
  if (region < 1 || region > cfg->nregions || end == NULL || strncmp(end, "].", 2) != 0 ||
      !isdigit((unsigned char)open[1]))
    return -1;
  int k = find_key(section, end + 2, strlen(end + 2));
  return k < 0 ? -1 : (long)(region * (long)NKEYS + k);
}

const char *cfg_origin(const struct cfg *cfg, const char *key) {
  static char origin[1024];
  long slot = key_slot(cfg, key);
  if (slot < 0 || cfg->key_line[slot] == 0)
    return "default";
  if (cfg->key_line[slot] < 0) { /* the key too: "--set:" alone does not say which override */
    snprintf(origin, sizeof origin, "--set %s", key);
    return origin;
  }
  snprintf(origin, sizeof origin, "%s:%d", cfg->source_name, cfg->key_line[slot]);
  return origin;
}

/* ---- reading the file ------------------------------------------------------------------------ */

static int too_large(const char *path) {
  return err_set(ERR_CONFIG, "%s: larger than %d bytes, too large for a config file", path,
                 CFG_MAX_FILE_BYTES);
}

/* Read all of fd, a regular file or a pipe, refusing more than CFG_MAX_FILE_BYTES. */
static int read_all(int fd, const char *path, char **out, size_t *len) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return err_errno(ERR_CONFIG, "cannot read config file '%s'", path);
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return err_errno(ERR_CONFIG, "cannot read config file '%s'", path);
  }
  if (S_ISREG(st.st_mode) && st.st_size > CFG_MAX_FILE_BYTES)
    return too_large(path);
  size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096, used = 0;
  char *buf = malloc(cap + 1);
  *out = buf;
  if (buf == NULL)
    return err_set(ERR_FAILURE, "out of memory reading '%s'", path);
  for (;;) {
    if (used == cap) { /* the file grew, or a pipe: room for one byte over the limit */
      if (cap > CFG_MAX_FILE_BYTES)
        return too_large(path);
      cap = 2 * cap > CFG_MAX_FILE_BYTES + 1 ? CFG_MAX_FILE_BYTES + 1 : 2 * cap;
      char *moved = realloc(buf, cap + 1);
      if (moved == NULL)
        return err_set(ERR_FAILURE, "out of memory reading '%s'", path);
      *out = buf = moved;
    }
    ssize_t got = read(fd, buf + used, cap - used);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return err_errno(ERR_CONFIG, "cannot read config file '%s'", path);
    if (got == 0)
      break;
    used += (size_t)got;
  }
  if (used > CFG_MAX_FILE_BYTES)
    return too_large(path);
  buf[used] = '\0';
  *len = used;
  return ERR_OK;
}

int cfg_read_file(const char *path, char **text, size_t *len) {
  *text = NULL;
  *len = 0;
  /* O_NONBLOCK: opening a FIFO that nobody writes would otherwise wait for ever. Reads then
   * block again, so a pipe with a writer (a process substitution) is read whole, and one
   * without returns end of file at once. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return err_errno(ERR_CONFIG, "cannot read config file '%s'", path);
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return err_errno(ERR_CONFIG, "cannot read config file '%s'", path);
  }
  struct stat st;
  bool fifo = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
  char *buf = NULL;
  size_t n = 0;
  int status = read_all(fd, path, &buf, &n);
  close(fd);
  if (status == ERR_OK && fifo && n == 0)
    status = err_set(ERR_CONFIG,
                     "config file '%s' is a FIFO with nothing written to it: expected a TOML file",
                     path);
  const char *nul = status == ERR_OK ? memchr(buf, '\0', n) : NULL;
  if (nul != NULL)
    status = err_set(ERR_CONFIG, "%s: binary file (NUL byte at offset %zu), expected a TOML config",
                     path, (size_t)(nul - buf));
  if (status != ERR_OK) {
    free(buf);
    return status;
  }
  *text = buf;
  *len = n;
  return ERR_OK;
}

/* ---- printing -------------------------------------------------------------------------------- */

/* x with 17 significant digits, which read back as x exactly, and kept a float: "1" becomes
 * "1.0", so that -0.0 stays -0.0 (the integer -0 would read back as +0.0). */
static const char *format_float(double x, char buf[40]) {
  snprintf(buf, 40, "%.17g", x);
  if (strpbrk(buf, ".en") == NULL) /* e: exponent, n: inf and nan */
    strcat(buf, ".0");
  return buf;
}

/* s as a TOML basic string. */
static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
    if (*c == '"' || *c == '\\')
      fprintf(out, "\\%c", *c);
    else if (*c < 0x20 || *c == 0x7F)
      fprintf(out, "\\u%04X", (unsigned)*c);
    else
      fputc(*c, out);
  }
  fputc('"', out);
}

static void print_value(FILE *out, const struct key_def *k, const struct value *v) {
  char buf[40];
  switch (k->type) {
  case KEY_INT:
    fprintf(out, "%lld", (long long)v->i);
    break;
  case KEY_FLOAT:
    if (k->keyword != NULL && isinf(v->f))
      print_string(out, k->keyword);
    else
      fputs(format_float(v->f, buf), out);
    break;
  case KEY_STRING:
    print_string(out, v->s);
    break;
  case KEY_ENUM:
    print_string(out, k->choices[v->i]); /* a valid index: only the schema's names are set */
    break;
  case KEY_BOOL:
    fputs(v->b ? "true" : "false", out);
    break;
  case KEY_INT_PAIR:
    fprintf(out, "[%lld, %lld]", (long long)v->pair[0], (long long)v->pair[1]);
    break;
  case KEY_FLOATS:
    fputc('[', out);
    for (int64_t e = 0; e < v->nlist; e++) {
      fputs(e > 0 ? ", " : "", out);
      fputs(format_float(v->list[e], buf), out);
    }
    fputc(']', out);
    break;
  case KEY_EXPR:
    if (v->s != NULL)
      print_string(out, v->s);
    else
      fputs(format_float(v->f, buf), out);
    break;
  }
}

/* Every [[region]], each with the keys of its shape. */
static void print_regions(const struct cfg *cfg, FILE *out) {
  for (int r = 0; r < cfg->nregions; r++) {
    const struct cfg_region *g = &cfg->regions[r];
    fputs("\n[[region]]\n", out);
    for (size_t k = 0; k < NKEYS; k++) {
      if (!schema[k].per_region || !(schema[k].shapes & SHAPE(g->shape)))
        continue;
      const char *name = schema[k].name;
      if ((strcmp(name, "temperature") == 0 && !g->held) ||
          (strcmp(name, "conductivity") == 0 && !g->has_conductivity) ||
          (strcmp(name, "power") == 0 && !g->has_power))
        continue; /* printed, it would say the region is what it is not */
      struct value v = get_value(g, &schema[k]);
      fprintf(out, "%s = ", schema[k].name);
      print_value(out, &schema[k], &v);
      fputc('\n', out);
    }
  }
}

void cfg_print(const struct cfg *cfg, FILE *out) {
  for (size_t k = 0; k < NKEYS; k++) {
    if (schema[k].per_region) {
      if (first_of_section(k))
        print_regions(cfg, out);
      continue;
    }
    /* [time] only for a transient, with the keys it was given as (step or steps; the optional
     * ones where set): printed, the others would be refused when read back */
    if (strcmp(schema[k].section, "time") == 0) {
      char key[64];
      snprintf(key, sizeof key, "time.%s", schema[k].name);
      bool optional = strcmp(schema[k].name, "end") != 0 && strcmp(schema[k].name, "scheme") != 0;
      if (!cfg->transient || (optional && !cfg_is_set(cfg, key)))
        continue;
    }
    if (first_of_section(k))
      fprintf(out, "%s[%s]\n", k == 0 ? "" : "\n", schema[k].section);
    char why[200];
    if (not_applicable(cfg, k, why, sizeof why) != NULL)
      continue; /* printed, it would be refused when read back */
    if (schema[k].edge > 0) {
      enum cfg_edge_kind kind = cfg->edge[schema[k].edge - 1].kind;
      enum edge_part part = schema[k].edge_part;
      bool printed =
          (part == EDGE_PLAIN && (kind == CFG_EDGE_HELD || kind == CFG_EDGE_INSULATED)) ||
          (part == EDGE_FLUX && kind == CFG_EDGE_FLUX) ||
          ((part == EDGE_H || part == EDGE_AMBIENT) && kind == CFG_EDGE_CONVECTIVE);
      if (!printed) /* an edge's keys are those of its kind; a held one's its plain form */
        continue;
      if (kind == CFG_EDGE_INSULATED) {
        fprintf(out, "%s = \"%s\"\n", schema[k].name, INSULATED);
        continue;
      }
    }
    struct value v = get_value(cfg, &schema[k]);
    fprintf(out, "%s = ", schema[k].name);
    print_value(out, &schema[k], &v);
    fputc('\n', out);
  }
}

/* A Markdown table cell: '|' would end it. */
static void print_cell(FILE *out, const char *s) {
  for (; *s != '\0'; s++) {
    if (*s == '|')
      fputc('\\', out);
    fputc(*s, out);
  }
}

void cfg_print_reference(FILE *out) {
  fprintf(out, "| key | type | default | meaning |\n| --- | --- | --- | --- |\n");
  for (size_t k = 0; k < NKEYS; k++) {
    const struct key_def *d = &schema[k];
    char type[160];
    fprintf(out, "| `%s.%s` | ", d->section, d->name);
    print_cell(out, type_text(d, type, sizeof type));
    fputs(" | ", out);
    if (d->def_text != NULL) {
      print_cell(out, d->def_text);
    } else if (d->required) {
      fputs("required", out);
    } else {
      fputc('`', out);
      print_value(out, d, &d->def);
      fputc('`', out);
    }
    fputs(" | ", out);
    print_cell(out, d->help);
    fputs(" |\n", out);
  }
}

const char *cfg_partitioner_name(enum cfg_partitioner p) {
  return (unsigned)p <= CFG_BLOCK_CYCLIC ? partitioner_names[p] : "unknown";
}

const char *cfg_halo_mode_name(enum cfg_halo_mode m) {
  return (unsigned)m <= CFG_HALO_P2P ? halo_mode_names[m] : "unknown";
}

const char *cfg_output_mode_name(enum cfg_output_mode m) {
  return (unsigned)m <= CFG_OUTPUT_PARALLEL ? output_mode_names[m] : "unknown";
}

const char *cfg_cycle_name(enum cfg_cycle c) {
  return (unsigned)c <= CFG_CYCLE_F ? cycle_names[c] : "unknown";
}

const char *cfg_scheme_name(enum cfg_scheme s) { return scheme_names[s]; }

const char *cfg_smoother_name(enum cfg_smoother m) {
  return (unsigned)m <= CFG_SMOOTHER_JACOBI ? smoother_names[m] : "unknown";
}

const char *cfg_method_name(enum cfg_method m) {
  return (unsigned)m <= CFG_METHOD_MULTIGRID ? method_names[m] : "unknown";
}

bool cfg_is_set(const struct cfg *cfg, const char *key) {
  long slot = key_slot(cfg, key);
  return slot >= 0 && cfg->key_line[slot] != 0;
}

const char *cfg_stores_name(enum cfg_stores m) {
  return (unsigned)m <= CFG_STORES_AUTO ? stores_names[m] : "unknown";
}
