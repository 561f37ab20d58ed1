/* cfg.h - jacobi's configuration: the TOML file plus --set overrides, validated into one struct.
 *
 * Every key is described once, in a schema table in cfg.c: its section, name, type, default,
 * allowed range and one line of help. Parsing, --set, the error messages (with suggestions for
 * misspelt names), the printed resolved configuration and the config reference
 * (docs/configuration.md, the man page) all come from that table. Checks that need the rank count
 * (process_grid against it) are the decomposition's; cfg_origin() gives them the file and line to
 * blame.
 *
 * Not for: reading files on more than one rank (rank 0 reads, then broadcasts the text), MPI.
 * Not collective; no MPI inside.
 */
#ifndef JACOBI_CFG_H
#define JACOBI_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cfg_partitioner { CFG_BLOCK, CFG_CYCLIC, CFG_BLOCK_CYCLIC };
enum cfg_halo_mode { CFG_HALO_AUTO, CFG_HALO_SHM, CFG_HALO_P2P };
enum cfg_output_mode { CFG_OUTPUT_GATHER, CFG_OUTPUT_PARALLEL };
enum cfg_stores { CFG_STORES_REGULAR, CFG_STORES_STREAMING, CFG_STORES_AUTO };
enum cfg_method { CFG_METHOD_JACOBI, CFG_METHOD_CHEBYSHEV, CFG_METHOD_MULTIGRID };
enum cfg_cycle { CFG_CYCLE_V, CFG_CYCLE_W, CFG_CYCLE_F };
enum cfg_smoother { CFG_SMOOTHER_REDBLACK, CFG_SMOOTHER_CHEBYSHEV, CFG_SMOOTHER_JACOBI };
enum cfg_scheme { CFG_SCHEME_IMPLICIT, CFG_SCHEME_BDF2, CFG_SCHEME_EXPLICIT };

/* Largest magnitude accepted for a temperature. The 5-point average of values bounded by M is
 * bounded by M in IEEE arithmetic (rounding is monotonic), and 4 * CFG_MAX_TEMPERATURE is
 * finite, so no sum in the sweep can overflow: the field stays finite by construction. */
#define CFG_MAX_TEMPERATURE 1e300

/* A value given as a number or as an expression of x and y (metres from the plate's top-left
 * corner, y downwards; expr.h): `text` is NULL for a number, else the expression as written
 * and `value` is NaN. Validated by cfg_create (the expression compiles). */
struct cfg_expr {
  double value;
  char *text;
};

/* A list of numbers (time.output_times): count of them at values (NULL when count is 0). */
struct cfg_floats {
  double *values;
  int64_t count;
};

/* The shapes a fixed-temperature region may take. */
enum cfg_region_shape { CFG_REGION_RECTANGLE, CFG_REGION_DISK, CFG_REGION_MASK };

/* Most [[region]] tables in one file: a region's number (1-based) is stored in the output's
 * /fixed mask as one byte. */
#define CFG_MAX_REGIONS 255

/* One [[region]]: a part of the plate, held, a material or a heater (below); held points are
 * at `temperature` (the sweep never updates them).
 * Coordinates in metres from the top-left corner, y downwards. A grid point is inside a
 * rectangle when x0 <= x <= x1 and y0 <= y <= y1, inside a disk when its distance to (cx, cy)
 * is at most radius (both up to 1e-9 of the grid spacing, so edges on grid lines are in), and
 * inside a mask where the dataset (ny x nx, any numeric type) is non-zero. Where regions
 * overlap, later regions win, for each of temperature, conductivity and power separately (a
 * heater drawn over an insert keeps the insert's conductivity); a held point takes no power (a
 * heater's power is spread over its points that are not held). cfg_create checks what it can
 * without the file (the shape's keys, x0 <= x1, within the plate, radius > 0); the plate checks
 * that a region covers at least one point and the mask's shape. */
struct cfg_region {
  enum cfg_region_shape shape;
  double x0, x1, y0, y1; /* rectangle */
  double cx, cy, radius; /* disk */
  char *file, *dataset;  /* mask: HDF5 file and dataset ("/fixed" by default) */
  /* What the region is: held at a temperature (the points are fixed); and/or a material of its
   * own conductivity; and/or a heater of a total power spread over its points in proportion to
   * the plate area each stands for. A region has at least one of the three; held and a heater
   * together are refused (a held point's temperature is fixed whatever its heat), held and a
   * material allowed (the conductivity governs the faces into the held points). The flags say
   * which keys were given; the fields of the others hold their zero defaults. */
  bool held, has_conductivity, has_power;
  struct cfg_expr temperature;
  struct cfg_expr conductivity; /* W/(m K), > 0 */
  double power;                 /* W */
  int line;                     /* of the [[region]] header, for messages */
};

/* How an edge meets the outside (docs/configuration.md, [boundary]): held at a temperature
 * (a number or an expression of the position along the edge, cfg's top..right, as always);
 * insulated (no heat crosses it); a heat flux into the plate, W/m^2 of the edge's cross-section;
 * or convective, -k dT/dn = h (T - ambient). */
enum cfg_edge_kind { CFG_EDGE_HELD, CFG_EDGE_INSULATED, CFG_EDGE_FLUX, CFG_EDGE_CONVECTIVE };
struct cfg_edge {
  enum cfg_edge_kind kind;
  struct cfg_expr flux;    /* W/m^2 into the plate (CFG_EDGE_FLUX), of the position along it */
  struct cfg_expr h;       /* W/(m^2 K), >= 0 (CFG_EDGE_CONVECTIVE) */
  struct cfg_expr ambient; /* degrees (CFG_EDGE_CONVECTIVE) */
};

/* Largest accepted config file. */
#define CFG_MAX_FILE_BYTES (1 << 20)

struct cfg {
  /* [grid] */
  int64_t nx, ny; /* interior points per row, interior rows */
  /* [plate]: physical size and material. The grid spacing is uniform, h = width / (nx + 1 - ex)
   * = height / (ny + 1 - ey), ex and ey the numbers of edges across (left, right) and down (top,
   * bottom) that are not held: a held edge's points are the ring, on the edge; the outermost
   * column or row of unknowns lies on an edge that is not held. All held: width / (nx + 1), as
   * always. cfg_create fills in the one not given from the other (neither: width = 1 m) and
   * refuses an inconsistent pair. */
  double width, height; /* m, resolved: both always set */
  double conductivity;  /* W/(m K), > 0 (the number; NaN where conductivity_k is an expression
                         * or the conductivity comes from conductivity_file) */
  /* The plate's conductivity as a number or an expression of x and y (plate.conductivity), or
   * from an HDF5 dataset (ny x nx) when conductivity_file is not "" (plate.conductivity_file
   * and plate.conductivity_dataset; given with plate.conductivity it is refused, so the dataset
   * is the whole plate's); regions' conductivities replace either where they lie. */
  struct cfg_expr conductivity_k;
  char *conductivity_file, *conductivity_dataset;
  double thickness; /* m, > 0 */
  /* The plate's heat capacity for the transient ([time]): kg/m^3 and J/(kg K), > 0. */
  double density, specific_heat;
  /* [time]: the transient heat equation (docs/configuration.md, "Time"). transient is true when
   * time.end is given; then exactly one of time_step (s) and time_steps is set (the other 0),
   * output_every is 0 (and output_times empty) for a snapshot at every step, step_error 0 for
   * the rule from the scheme's
   * truncation error. Without [time], the steady state as before. time.end = "steady":
   * time_end is INFINITY, time_step is given and time_steps is time.max_steps (the most steps;
   * the run stops at the first step certified within the steady target, transient.h). */
  bool transient;
  double time_end, time_step, output_every, step_error;
  int64_t time_steps, time_max_steps;
  struct cfg_floats output_times; /* s, increasing, each in (0, end]; count 0: none */
  enum cfg_scheme scheme;
  /* [boundary]: held edges' temperatures, numbers or expressions of the position along the
   * edge (0, the number, for an edge that is not held: the ring beyond it holds 0, field.h);
   * and every edge's kind (indexed top, bottom, left, right: decomp_side's north, south, west,
   * east). An edge's flux, h and ambient are set for its kind only (else 0). */
  struct cfg_expr top, bottom, left, right;
  struct cfg_edge edge[4];
  /* [surface]: exchange through the plate's faces, each face losing h (T - ambient) W/m^2;
   * surface_faces (1 or 2) faces exchange. h 0 (the default): none. */
  struct cfg_expr surface_h, surface_ambient;
  int64_t surface_faces;
  /* [initial] */
  struct cfg_expr interior;
  /* [source]: heat generated in the plate, W/m^2: q (a number or an expression of x and y;
   * 0 and no file: no source, the Laplace equation) plus, if from_file is not "", the dataset
   * (ny x nx) of that HDF5 file; together the Poisson equation k t lap(T) + q = 0 */
  struct cfg_expr source_q;
  char *source_file, *source_dataset;
  /* [[region]]: fixed-temperature regions, in file order */
  struct cfg_region *regions;
  int nregions;
  char *from_file; /* "" : start from `interior`; else a file written by jacobi to continue */
  /* [solver] */
  enum cfg_method method;
  double tolerance;
  double target_error; /* degrees; 0: off (the classic rule) */
  int64_t max_iterations;
  int64_t check_interval;
  enum cfg_stores stores;
  int64_t temporal_block; /* sweeps per pass through memory (1: none) */
  /* [solver] multigrid.*: the cycle, smoother, smoothing steps, full-multigrid start */
  enum cfg_cycle mg_cycle;
  enum cfg_smoother mg_smoother;
  int64_t mg_pre, mg_post;
  bool mg_fmg;
  /* [decomposition] */
  enum cfg_partitioner partitioner;
  int64_t block_size;
  int process_grid[2]; /* [rows, cols]; 0 = filled in as MPI_Dims_create does */
  /* [halo] */
  enum cfg_halo_mode halo_mode;
  int64_t ranks_per_node; /* 0 = real nodes */
  bool halo_overlap;      /* sweep the halo-free points while messages fly */
  /* [output] */
  char *output_path;
  enum cfg_output_mode output_mode;
  int64_t checkpoint_interval;
  bool owner_map;
  /* [machine]: the performance model's description of the machine (--dry-run only) */
  double core_bandwidth_gbs, node_bandwidth_gbs, kernel_efficiency;
  double shm_latency_us, net_latency_us, net_bandwidth_gbs, reduce_latency_us;

  /* Private: where each key got its value, for cfg_origin(). */
  char *source_name;
  int *key_line;
};

/* Read a config file whole into a NUL-terminated buffer the caller frees. Refuses a missing or
 * unreadable file, a directory, a file over CFG_MAX_FILE_BYTES and one with NUL bytes, with
 * ERR_CONFIG and a message naming the path. Not collective. */
int cfg_read_file(const char *path, char **text, size_t *len);

/* Parse and validate `text` (named `name` in messages, e.g. "configs/plate.toml"), then apply
 * the `nsets` overrides in `sets` ("section.key=value", as given to --set; a string value may be
 * written bare: --set decomposition.partitioner=cyclic; a bare value for a number-or-expression
 * key is the number if TOML reads it as one, else the expression's text: --set
 * 'boundary.top=50 * x'; [[region]] keys are the file's only). Resolves the plate's size and
 * compiles every expression against it (expr.h). On success *out owns its memory (free
 * with cfg_destroy). On failure returns ERR_CONFIG with one message in err.h's record, of the
 * form "NAME:LINE: KEY must be …, got …" (or "--set KEY=VALUE: …"), and *out is NULL.
 * Deterministic: every rank given the same bytes reaches the same outcome. Not collective. */
int cfg_create(const char *text, size_t len, const char *name, const char *const *sets, int nsets,
               struct cfg **out);

/* Free a configuration; accepts NULL and *cfg == NULL, and sets *cfg to NULL. */
void cfg_destroy(struct cfg **cfg);

/* "NAME:LINE" where the file set `key` ("section.name", or "region[N].name" for the N-th
 * [[region]], N from 1), "--set KEY" where an override did, or "default". Static storage, valid
 * until the next call. */
const char *cfg_origin(const struct cfg *cfg, const char *key);

/* Whether `key` ("section.name" or "region[N].name") was given, in the file or by --set, rather
 * than defaulted. */
bool cfg_is_set(const struct cfg *cfg, const char *key);

/* Whether the plate has a source (q not 0 or a file) or regions and is not a faces plate
 * (cfg_faces): the sweep then runs the general update (sweep.h) instead of Laplace's. A faces
 * plate takes its sources and held regions into its own operator: never both. */
bool cfg_general(const struct cfg *cfg);

/* Whether the plate needs the faces operator (field.h): an edge that is not held, a surface
 * exchange, a conductivity that is not one number, a region with a conductivity or a power. */
bool cfg_faces(const struct cfg *cfg);

/* The grid spacing, metres: cfg->width / (cfg->nx + 1 - ex), ex the number of the left and right
 * edges that are not held (struct cfg's [plate]). */
double cfg_spacing(const struct cfg *cfg);

/* Print the resolved configuration as TOML that cfg_create accepts and that reproduces `cfg`
 * exactly (floats with 17 significant digits). */
void cfg_print(const struct cfg *cfg, FILE *out);

/* Print the config reference (every key: type, default, meaning) as a Markdown table. The
 * table of docs/configuration.md is this output, between a line holding CFG_REFERENCE_BEGIN and
 * one holding CFG_REFERENCE_END (man/jacobi_cfgdoc.c writes it, test_cfg checks it). */
void cfg_print_reference(FILE *out);
#define CFG_REFERENCE_BEGIN "<!-- BEGIN cfg_print_reference"
#define CFG_REFERENCE_END "<!-- END cfg_print_reference"

/* Names for messages and output: "block", "cyclic", "block-cyclic"; "auto", "shm", "p2p";
 * "gather", "parallel"; "regular", "streaming", "auto"; "jacobi", "chebyshev", "multigrid"; "V",
 * "W", "F"; "redblack", "chebyshev", "jacobi"; "implicit", "bdf2", "explicit". */
const char *cfg_partitioner_name(enum cfg_partitioner p);
const char *cfg_halo_mode_name(enum cfg_halo_mode m);
const char *cfg_output_mode_name(enum cfg_output_mode m);
const char *cfg_stores_name(enum cfg_stores m);
const char *cfg_method_name(enum cfg_method m);
const char *cfg_cycle_name(enum cfg_cycle c);
const char *cfg_smoother_name(enum cfg_smoother s);
const char *cfg_scheme_name(enum cfg_scheme s);

#endif /* JACOBI_CFG_H */
