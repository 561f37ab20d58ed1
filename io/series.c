/* series.c - the transient's time series; see series.h. */
#include "io/series.h"

#include "common/err.h"
#include "io/cfg.h"
#include "io/output.h"
#include "io/slab.h"

#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const io_series_heat_columns[IO_SERIES_HEAT] = {
    "time",      "stored",  "edge_north", "edge_south", "edge_west",
    "edge_east", "regions", "sources",    "surface",    "step_bound"};

struct io_series {
  char *path, *tmp;
  int64_t nx, ny;
  double spacing, x0, y0;
  hid_t file, T; /* rank 0; -1: none */
  const struct cfg *cfg;
  char *scheme;
  int64_t count, cap;
  double *times, *heat;       /* rank 0: count and count x IO_SERIES_HEAT */
  double *send, *grid, *recv; /* this rank's points; rank 0: the whole interior, the gathered */
  int *counts, *displs;       /* rank 0 */
  int64_t mine;
};

void io_series_destroy(struct io_series **sp) {
  if (sp == NULL || *sp == NULL)
    return;
  struct io_series *s = *sp;
  if (s->T >= 0)
    H5Dclose(s->T);
  if (s->file >= 0)
    H5Fclose(s->file);
  if (s->tmp != NULL)
    unlink(s->tmp);
  free(s->path);
  free(s->scheme);
  free(s->tmp);
  free(s->times);
  free(s->heat);
  free(s->send);
  free(s->grid);
  free(s->recv);
  free(s->counts);
  free(s->displs);
  free(s);
  *sp = NULL;
}

static int h5(const char *what, const char *path) {
  return err_set(ERR_FAILURE, "%s: HDF5 failed %s", path, what);
}

/* A string attribute on `obj`. */
static int string_attr(hid_t obj, const char *name, const char *value, const char *path) {
  hid_t str = H5Tcopy(H5T_C_S1), scalar = H5Screate(H5S_SCALAR);
  int status = ERR_OK;
  if (str < 0 || scalar < 0 || H5Tset_size(str, strlen(value) > 0 ? strlen(value) : 1) < 0)
    status = h5("preparing an attribute", path);
  hid_t a = status == ERR_OK ? H5Acreate2(obj, name, str, scalar, H5P_DEFAULT, H5P_DEFAULT) : -1;
  if (status == ERR_OK && (a < 0 || H5Awrite(a, str, value) < 0))
    status = h5("writing an attribute", path);
  if (a >= 0)
    H5Aclose(a);
  if (scalar >= 0)
    H5Sclose(scalar);
  if (str >= 0)
    H5Tclose(str);
  return status;
}

/* A fresh temporary beside `path` (mkstemp: exclusive, unique to the run); caller frees. */
static char *temporary(const char *path) {
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (tmp == NULL) {
    err_set(ERR_FAILURE, "out of memory");
    return NULL;
  }
  snprintf(tmp, n, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    free(tmp);
    err_errno(ERR_FAILURE, "creating a temporary file beside \"%s\"", path);
    return NULL;
  }
  close(fd);
  return tmp;
}

/* The root's attributes every file jacobi writes carries (version, config), so that the next
 * run may replace it (output.h), and /series with its attributes. Returns the open group. */
static hid_t write_header(const struct io_series *s, hid_t file, const char *name, int *status) {
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (mem == NULL) {
    *status = err_errno(ERR_FAILURE, "printing the configuration");
    return -1;
  }
  cfg_print(s->cfg, mem);
  fclose(mem);
  *status = string_attr(file, "version", JACOBI_VERSION, name);
  if (*status == ERR_OK)
    *status = string_attr(file, "config", text, name);
  free(text);
  if (*status != ERR_OK)
    return -1;
  hid_t group = H5Gcreate2(file, "/series", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0) {
    *status = h5("creating /series", name);
    return -1;
  }
  double values[3] = {s->spacing, s->x0, s->y0};
  const char *names[3] = {"spacing", "x0", "y0"};
  hid_t scalar = H5Screate(H5S_SCALAR);
  for (int k = 0; k < 3 && *status == ERR_OK; k++) {
    hid_t a = H5Acreate2(group, names[k], H5T_NATIVE_DOUBLE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, &values[k]) < 0)
      *status = h5("writing an attribute of /series", name);
    if (a >= 0)
      H5Aclose(a);
  }
  H5Sclose(scalar);
  if (*status == ERR_OK)
    *status = string_attr(group, "scheme", s->scheme, name);
  return group;
}

/* Rank 0: the temporary and the extensible /series/T, one chunk a snapshot (iterations is
 * written at the commit: the steps). */
static int open_file(struct io_series *s) {
  if ((s->tmp = temporary(s->path)) == NULL)
    return ERR_FAILURE;
  s->file = H5Fcreate(s->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (s->file < 0)
    return h5("creating the file", s->tmp);
  int status = ERR_OK;
  hid_t group = write_header(s, s->file, s->tmp, &status);
  hsize_t dims[3] = {0, (hsize_t)s->ny, (hsize_t)s->nx};
  hsize_t maxdims[3] = {H5S_UNLIMITED, (hsize_t)s->ny, (hsize_t)s->nx};
  hsize_t chunk[3] = {1, (hsize_t)s->ny, (hsize_t)s->nx};
  hid_t space = H5Screate_simple(3, dims, maxdims);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (status == ERR_OK && (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 3, chunk) < 0))
    status = h5("preparing /series/T", s->tmp);
  if (status == ERR_OK) {
    s->T = H5Dcreate2(group, "T", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (s->T < 0)
      status = h5("creating /series/T", s->tmp);
  }
  if (dcpl >= 0)
    H5Pclose(dcpl);
  if (space >= 0)
    H5Sclose(space);
  if (group >= 0)
    H5Gclose(group);
  return status;
}

int io_series_create(const char *path, const struct field *f, const struct team *team,
                     const struct cfg *cfg, double spacing, double x0, double y0,
                     const char *scheme, struct io_series **out) {
  struct io_series *s = calloc(1, sizeof *s);
  *out = s;
  int status = ERR_OK;
  if (s == NULL)
    return team_agree(team, err_set(ERR_FAILURE, "out of memory for the series"));
  const struct decomp_layout *l = f->layout;
  *s = (struct io_series){.nx = l->nx,
                          .ny = l->ny,
                          .spacing = spacing,
                          .x0 = x0,
                          .y0 = y0,
                          .file = -1,
                          .T = -1,
                          .cfg = cfg,
                          .scheme = strdup(scheme),
                          .path = strdup(path)};
  s->mine = io_segments(l, team->rank, 0, l->ny, IO_CANONICAL, NULL, NULL);
  s->send = malloc((size_t)(s->mine > 0 ? s->mine : 1) * sizeof *s->send);
  if (s->path == NULL || s->scheme == NULL || s->send == NULL)
    status = err_set(ERR_FAILURE, "out of memory for the series");
  if (status == ERR_OK && team->rank == 0) {
    size_t points = (size_t)l->nx * (size_t)l->ny;
    s->grid = malloc(points * sizeof *s->grid);
    s->recv = malloc(points * sizeof *s->recv);
    s->counts = malloc((size_t)team->size * sizeof *s->counts);
    s->displs = malloc((size_t)team->size * sizeof *s->displs);
    if (s->grid == NULL || s->recv == NULL || s->counts == NULL || s->displs == NULL)
      status = err_set(ERR_FAILURE, "out of memory for the series (%lld points on rank 0)",
                       (long long)points);
    int64_t at = 0;
    for (int r = 0; status == ERR_OK && r < team->size; r++) {
      int64_t n = io_segments(l, r, 0, l->ny, IO_CANONICAL, NULL, NULL);
      if (n > 2147483647 || at > 2147483647)
        status = err_set(ERR_FAILURE, "the series' snapshot is too large to gather");
      s->counts[r] = (int)n;
      s->displs[r] = (int)at;
      at += n;
    }
    if (status == ERR_OK)
      status = open_file(s);
  }
  return team_agree(team, status);
}

struct pack_ctx {
  const struct field *f;
  const double *buffer; /* laid out as one field buffer (tile_offset) */
  double *at;
};

/* Where a segment's first point lies in a buffer laid out as one of the field's. */
static int64_t segment_offset(const struct field *f, const struct io_segment *seg) {
  const struct decomp_tile *tile = &f->tiles[seg->tile];
  int64_t stride = field_stride(f, seg->tile);
  return f->tile_offset[seg->tile] + f->depth * stride + f->depth +
         (seg->gi - tile->row0) * stride + (seg->col0 - tile->col0);
}

static void pack(const struct io_segment *seg, void *ctx) {
  struct pack_ctx *c = ctx;
  memcpy(c->at, c->buffer + segment_offset(c->f, seg), (size_t)seg->ncols * sizeof *c->at);
  c->at += seg->ncols;
}

struct unpack_ctx {
  const struct field *f;
  double *buffer;
};

static void unpack(const struct io_segment *seg, const double *values, void *ctx) {
  struct unpack_ctx *c = ctx;
  memcpy(c->buffer + segment_offset(c->f, seg), values, (size_t)seg->ncols * sizeof *values);
}

struct place_ctx {
  double *grid;
  const double *at;
  int64_t nx;
};

static void place(const struct io_segment *seg, void *ctx) {
  struct place_ctx *c = ctx;
  memcpy(c->grid + seg->gi * c->nx + seg->col0, c->at, (size_t)seg->ncols * sizeof *c->at);
  c->at += seg->ncols;
}

/* Rank 0: the gathered snapshot as row count of /series/T. */
static int write_snapshot(struct io_series *s) {
  hsize_t dims[3] = {(hsize_t)s->count + 1, (hsize_t)s->ny, (hsize_t)s->nx};
  if (H5Dset_extent(s->T, dims) < 0)
    return h5("extending /series/T", s->tmp);
  hid_t space = H5Dget_space(s->T);
  hsize_t start[3] = {(hsize_t)s->count, 0, 0}, count[3] = {1, dims[1], dims[2]};
  hid_t mem = H5Screate_simple(3, count, NULL);
  int status = ERR_OK;
  if (space < 0 || mem < 0 ||
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
      H5Dwrite(s->T, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, s->grid) < 0)
    status = h5("writing a snapshot into /series/T", s->tmp);
  if (mem >= 0)
    H5Sclose(mem);
  if (space >= 0)
    H5Sclose(space);
  return status;
}

/* A buffer laid out as the field's, gathered whole into rank 0's grid (ny x nx). Collective. */
static void gather(struct io_series *s, const struct field *f, const struct team *team,
                   const double *buffer) {
  const struct decomp_layout *l = f->layout;
  struct pack_ctx pc = {.f = f, .buffer = buffer, .at = s->send};
  io_segments(l, team->rank, 0, l->ny, IO_CANONICAL, pack, &pc);
  int rc = MPI_Gatherv(s->send, (int)s->mine, MPI_DOUBLE, s->recv, s->counts, s->displs, MPI_DOUBLE,
                       0, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Gatherv (a snapshot of the series)"));
  if (team->rank == 0)
    for (int r = 0; r < team->size; r++) {
      struct place_ctx c = {.grid = s->grid, .at = s->recv + s->displs[r], .nx = l->nx};
      io_segments(l, r, 0, l->ny, IO_CANONICAL, place, &c);
    }
}

/* Room for one more time and heat row (rank 0). */
static int grow(struct io_series *s) {
  if (s->count < s->cap)
    return ERR_OK;
  int64_t cap = s->cap ? 2 * s->cap : 64;
  double *times = realloc(s->times, (size_t)cap * sizeof *times);
  if (times != NULL)
    s->times = times;
  double *rows = realloc(s->heat, (size_t)cap * IO_SERIES_HEAT * sizeof *rows);
  if (rows != NULL)
    s->heat = rows;
  if (times == NULL || rows == NULL)
    return err_set(ERR_FAILURE, "out of memory for the series' times");
  s->cap = cap;
  return ERR_OK;
}

int io_series_append(struct io_series *s, const struct field *f, const struct team *team,
                     double time, const double heat[IO_SERIES_HEAT]) {
  gather(s, f, team, f->base + f->current * f->buffer_len);
  int status = ERR_OK;
  if (team->rank == 0) {
    status = grow(s);
    if (status == ERR_OK)
      status = write_snapshot(s);
    if (status == ERR_OK) {
      s->times[s->count] = time;
      memcpy(&s->heat[s->count * IO_SERIES_HEAT], heat, IO_SERIES_HEAT * sizeof *heat);
    }
  }
  s->count++;
  return team_agree(team, status);
}

static int write_tables(struct io_series *s, hid_t file) {
  hid_t group = H5Gopen2(file, "/series", H5P_DEFAULT);
  if (group < 0)
    return h5("opening /series", s->tmp);
  int status = ERR_OK;
  hsize_t n = (hsize_t)s->count, dims[2] = {n, IO_SERIES_HEAT};
  hid_t space = H5Screate_simple(1, &n, NULL);
  hid_t d =
      H5Dcreate2(group, "time", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->times) < 0)
    status = h5("writing /series/time", s->tmp);
  if (d >= 0)
    H5Dclose(d);
  H5Sclose(space);
  space = H5Screate_simple(2, dims, NULL);
  d = H5Dcreate2(group, "heat", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (status == ERR_OK &&
      (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->heat) < 0))
    status = h5("writing /series/heat", s->tmp);
  H5Sclose(space);
  /* the columns' names, one comma-separated string */
  char names[256] = "";
  for (int k = 0; k < IO_SERIES_HEAT; k++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? "," : "",
             io_series_heat_columns[k]);
  hid_t str = H5Tcopy(H5T_C_S1), scalar = H5Screate(H5S_SCALAR);
  H5Tset_size(str, strlen(names));
  hid_t a = d >= 0 ? H5Acreate2(d, "columns", str, scalar, H5P_DEFAULT, H5P_DEFAULT) : -1;
  if (status == ERR_OK && (a < 0 || H5Awrite(a, str, names) < 0))
    status = h5("writing /series/heat's columns", s->tmp);
  if (a >= 0)
    H5Aclose(a);
  H5Sclose(scalar);
  H5Tclose(str);
  if (d >= 0)
    H5Dclose(d);
  H5Gclose(group);
  return status;
}

/* /series/frames/T<k>: snapshot k of /series/T as a dataset of its own (1 x ny x nx), an HDF5
 * virtual dataset mapped onto the same file's /series/T (no copy). The XDMF names these: ParaView's
 * Xdmf3 readers (OpenDataFile's choice) read no HyperSlab items of HDF data, and its legacy reader
 * reads no Xdmf3 descriptors; both read a plain dataset. */
static int write_frames(struct io_series *s) {
  hid_t group = H5Gcreate2(s->file, "/series/frames", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0)
    return h5("creating /series/frames", s->tmp);
  int status = ERR_OK;
  hsize_t src_dims[3] = {(hsize_t)s->count, (hsize_t)s->ny, (hsize_t)s->nx};
  hsize_t dims[3] = {1, (hsize_t)s->ny, (hsize_t)s->nx};
  hid_t src = H5Screate_simple(3, src_dims, NULL), dst = H5Screate_simple(3, dims, NULL);
  for (int64_t k = 0; k < s->count && status == ERR_OK; k++) {
    hsize_t start[3] = {(hsize_t)k, 0, 0};
    char name[32];
    snprintf(name, sizeof name, "T%lld", (long long)k);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t d = -1;
    if (dcpl >= 0 && H5Sselect_hyperslab(src, H5S_SELECT_SET, start, NULL, dims, NULL) >= 0 &&
        H5Sselect_all(dst) >= 0 && H5Pset_virtual(dcpl, dst, ".", "/series/T", src) >= 0)
      d = H5Dcreate2(group, name, H5T_NATIVE_DOUBLE, dst, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0)
      status = h5("creating the virtual dataset /series/frames/T", s->tmp);
    else
      H5Dclose(d);
    if (dcpl >= 0)
      H5Pclose(dcpl);
  }
  H5Sclose(src);
  H5Sclose(dst);
  H5Gclose(group);
  return status;
}

/* The XDMF temporal collection: one uniform grid a snapshot, its <Time>, its attribute the
 * snapshot's /series/frames/T<k> (the file named as written beside it). */
static int write_xdmf(const struct io_series *s) {
  char *xmf = io_xdmf_path(s->path);
  if (xmf == NULL)
    return err_set(ERR_FAILURE, "out of memory");
  size_t n = strlen(xmf) + 16;
  char *tmp = malloc(n);
  if (tmp == NULL) {
    free(xmf);
    return err_set(ERR_FAILURE, "out of memory");
  }
  snprintf(tmp, n, "%s.tmp", xmf);
  FILE *out = fopen(tmp, "w");
  int status = ERR_OK;
  if (out == NULL)
    status = err_errno(ERR_FAILURE, "creating \"%s\"", tmp);
  const char *base = strrchr(s->path, '/') != NULL ? strrchr(s->path, '/') + 1 : s->path;
  if (out != NULL) {
    fprintf(out, "<?xml version=\"1.0\" ?>\n<!-- jacobi transient series, one grid a "
                 "snapshot; rows go down (dy = -h) -->\n<Xdmf Version=\"2.0\">\n <Domain>\n"
                 "  <Grid Name=\"series\" GridType=\"Collection\" CollectionType=\"Temporal\">\n");
    for (int64_t k = 0; k < s->count; k++) {
      fprintf(out,
              "   <Grid Name=\"T%lld\" GridType=\"Uniform\">\n    <Time Value=\"%.17g\"/>\n"
              "    <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"1 %lld %lld\"/>\n"
              "    <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n"
              "     <DataItem Dimensions=\"3\" Format=\"XML\">0 %.17g %.17g</DataItem>\n"
              "     <DataItem Dimensions=\"3\" Format=\"XML\">%.17g %.17g %.17g</DataItem>\n"
              "    </Geometry>\n"
              "    <Attribute Name=\"T\" AttributeType=\"Scalar\" Center=\"Node\">\n"
              "     <DataItem Dimensions=\"1 %lld %lld\" NumberType=\"Float\" Precision=\"8\" "
              "Format=\"HDF\">%s:/series/frames/T%lld</DataItem>\n"
              "    </Attribute>\n   </Grid>\n",
              (long long)k, s->times[k], (long long)s->ny, (long long)s->nx, -s->y0, s->x0,
              s->spacing, -s->spacing, s->spacing, (long long)s->ny, (long long)s->nx, base,
              (long long)k);
    }
    fprintf(out, "  </Grid>\n </Domain>\n</Xdmf>\n");
    if (fclose(out) != 0)
      status = err_errno(ERR_FAILURE, "writing \"%s\"", tmp);
    if (status == ERR_OK && rename(tmp, xmf) != 0)
      status = err_errno(ERR_FAILURE, "renaming \"%s\" to \"%s\"", tmp, xmf);
    if (status != ERR_OK)
      unlink(tmp);
  }
  free(tmp);
  free(xmf);
  return status;
}

int io_series_commit(struct io_series *s, const struct team *team, int64_t steps) {
  int status = ERR_OK;
  if (team->rank == 0) {
    status = write_tables(s, s->file);
    if (status == ERR_OK)
      status = write_frames(s);
    hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(s->file, "iterations", H5T_STD_I64LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    long long steps_ll = (long long)steps;
    if (status == ERR_OK && (a < 0 || H5Awrite(a, H5T_NATIVE_LLONG, &steps_ll) < 0))
      status = h5("writing the attribute iterations", s->tmp);
    if (a >= 0)
      H5Aclose(a);
    H5Sclose(scalar);
    herr_t closed = H5Dclose(s->T);
    s->T = -1;
    closed = H5Fclose(s->file) < 0 ? -1 : closed;
    s->file = -1;
    if (status == ERR_OK && closed < 0)
      status = h5("closing the file", s->tmp);
    if (status == ERR_OK && rename(s->tmp, s->path) != 0)
      status = err_errno(ERR_FAILURE, "renaming \"%s\" to \"%s\"", s->tmp, s->path);
    if (status == ERR_OK) {
      free(s->tmp);
      s->tmp = NULL;
      status = write_xdmf(s);
    }
  }
  return team_agree(team, status);
}

/* ---- checkpoints ------------------------------------------------------------------------------
 */

static const char *const state_counts[] = {"step", "next_time", "next_every", "sweeps", "cycles"};
static const char *const state_values[] = {"dt", "change", "since_bound", "worst_bound"};
enum { STATE_COUNTS = 5, STATE_VALUES = 4 };

static void state_unpack(struct io_series_state *st, const int64_t counts[STATE_COUNTS],
                         const double values[STATE_VALUES]) {
  *st = (struct io_series_state){.step = counts[0],
                                 .next_time = counts[1],
                                 .next_every = counts[2],
                                 .sweeps = counts[3],
                                 .cycles = counts[4],
                                 .dt = values[0],
                                 .change = values[1],
                                 .since_bound = values[2],
                                 .worst_bound = values[3]};
}

/* Row k of a (rows, ny, nx) dataset to or from the grid (rank 0). */
static bool row_io(hid_t dset, int64_t k, int64_t ny, int64_t nx, double *grid, bool write) {
  hid_t space = H5Dget_space(dset);
  hsize_t start[3] = {(hsize_t)k, 0, 0}, count[3] = {1, (hsize_t)ny, (hsize_t)nx};
  hid_t mem = H5Screate_simple(3, count, NULL);
  bool ok = space >= 0 && mem >= 0 &&
            H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
            (write ? H5Dwrite(dset, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, grid)
                   : H5Dread(dset, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, grid)) >= 0;
  if (mem >= 0)
    H5Sclose(mem);
  if (space >= 0)
    H5Sclose(space);
  return ok;
}

/* A new dataset `name` of `rank` dims under loc, written from `values`. */
static int write_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims,
                         const double *values, const char *path) {
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t d = space >= 0 ? H5Dcreate2(loc, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT,
                                    H5P_DEFAULT)
                       : -1;
  int status = ERR_OK;
  if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0)
    status = err_set(ERR_FAILURE, "%s: HDF5 failed writing %s", path, name);
  if (d >= 0)
    H5Dclose(d);
  if (space >= 0)
    H5Sclose(space);
  return status;
}

static int scalar_attr(hid_t loc, const char *name, hid_t file_type, hid_t mem_type,
                       const void *value, const char *path) {
  hid_t scalar = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, file_type, scalar, H5P_DEFAULT, H5P_DEFAULT);
  int status = a < 0 || H5Awrite(a, mem_type, value) < 0
                   ? err_set(ERR_FAILURE, "%s: HDF5 failed writing the attribute %s", path, name)
                   : ERR_OK;
  if (a >= 0)
    H5Aclose(a);
  H5Sclose(scalar);
  return status;
}

/* Rank 0: the checkpoint's root, /series (the snapshots so far) and /state's attributes. */
static int checkpoint_begin(struct io_series *s, hid_t file, const char *name,
                            const struct io_series_state *st) {
  int status = ERR_OK;
  hid_t group = write_header(s, file, name, &status);
  hsize_t dims[3] = {(hsize_t)s->count, (hsize_t)s->ny, (hsize_t)s->nx};
  hid_t space = status == ERR_OK ? H5Screate_simple(3, dims, NULL) : -1;
  hid_t T = space >= 0 ? H5Dcreate2(group, "T", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT,
                                    H5P_DEFAULT)
                       : -1;
  if (status == ERR_OK && T < 0)
    status = h5("creating /series/T", name);
  for (int64_t k = 0; status == ERR_OK && k < s->count; k++)
    if (!row_io(s->T, k, s->ny, s->nx, s->grid, false) ||
        !row_io(T, k, s->ny, s->nx, s->grid, true))
      status = h5("copying a snapshot into the checkpoint", name);
  if (T >= 0)
    H5Dclose(T);
  if (space >= 0)
    H5Sclose(space);
  if (group >= 0)
    H5Gclose(group);
  if (status == ERR_OK)
    status = write_tables(s, file);
  long long steps = (long long)st->step;
  if (status == ERR_OK)
    status = scalar_attr(file, "iterations", H5T_STD_I64LE, H5T_NATIVE_LLONG, &steps, name);
  hid_t state =
      status == ERR_OK ? H5Gcreate2(file, "/state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
  if (status == ERR_OK && state < 0)
    status = h5("creating /state", name);
  const int64_t counts[STATE_COUNTS] = {st->step, st->next_time, st->next_every, st->sweeps,
                                        st->cycles};
  const double values[STATE_VALUES] = {st->dt, st->change, st->since_bound, st->worst_bound};
  for (int k = 0; k < STATE_COUNTS && status == ERR_OK; k++) {
    long long v = (long long)counts[k];
    status = scalar_attr(state, state_counts[k], H5T_STD_I64LE, H5T_NATIVE_LLONG, &v, name);
  }
  for (int k = 0; k < STATE_VALUES && status == ERR_OK; k++)
    status =
        scalar_attr(state, state_values[k], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &values[k], name);
  if (state >= 0)
    H5Gclose(state);
  return status;
}

int io_series_checkpoint(struct io_series *s, const char *path, const struct field *f,
                         const struct team *team, const double *previous,
                         const struct io_series_state *st) {
  int status = ERR_OK;
  char *tmp = NULL;
  hid_t file = -1;
  if (team->rank == 0) {
    tmp = temporary(path);
    status = tmp == NULL ? ERR_FAILURE : ERR_OK;
    if (status == ERR_OK && (file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0)
      status = h5("creating the file", tmp);
    if (status == ERR_OK)
      status = checkpoint_begin(s, file, tmp, st);
  }
  const double *buffers[2] = {f->base + f->current * f->buffer_len, previous};
  const char *names[2] = {"/state/T", "/state/previous"};
  for (int b = 0; b < 2; b++) {
    gather(s, f, team, buffers[b]); /* every rank, whatever rank 0's status */
    hsize_t dims[2] = {(hsize_t)s->ny, (hsize_t)s->nx};
    if (team->rank == 0 && status == ERR_OK)
      status = write_dataset(file, names[b], 2, dims, s->grid, tmp);
  }
  if (team->rank == 0) {
    if (file >= 0 && H5Fclose(file) < 0 && status == ERR_OK)
      status = h5("closing the checkpoint", tmp);
    /* on the disk before the name: a crash after the rename never leaves a torn checkpoint */
    int fd = status == ERR_OK ? open(tmp, O_RDONLY) : -1;
    if (status == ERR_OK && (fd < 0 || fsync(fd) != 0))
      status = err_errno(ERR_FAILURE, "syncing \"%s\"", tmp);
    if (fd >= 0)
      close(fd);
    if (status == ERR_OK && rename(tmp, path) != 0)
      status = err_errno(ERR_FAILURE, "renaming \"%s\" to \"%s\"", tmp, path);
    if (status != ERR_OK && tmp != NULL)
      unlink(tmp);
    free(tmp);
  }
  return team_agree(team, status);
}

/* A continued series' problem is the user's: ERR_CONFIG naming the key. */
static int bad_checkpoint(const struct cfg *cfg, const char *from, const char *why) {
  return err_set(ERR_CONFIG, "%s: initial.from_file \"%s\": %s",
                 cfg_origin(cfg, "initial.from_file"), from, why);
}

/* Whether dataset `name` of `file` is float of exactly these dims. */
static bool has_dataset(hid_t file, const char *name, int rank, const hsize_t *dims) {
  if (H5Lexists(file, "/series", H5P_DEFAULT) <= 0 || H5Lexists(file, "/state", H5P_DEFAULT) <= 0 ||
      H5Lexists(file, name, H5P_DEFAULT) <= 0)
    return false;
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  hid_t space = d >= 0 ? H5Dget_space(d) : -1;
  hid_t type = d >= 0 ? H5Dget_type(d) : -1;
  hsize_t got[3] = {0, 0, 0};
  bool ok = space >= 0 && type >= 0 && H5Tget_class(type) == H5T_FLOAT &&
            H5Sget_simple_extent_ndims(space) == rank &&
            H5Sget_simple_extent_dims(space, got, NULL) == rank;
  for (int k = 0; ok && k < rank; k++)
    ok = dims[k] == 0 ? got[k] > 0 : got[k] == dims[k];
  if (type >= 0)
    H5Tclose(type);
  if (space >= 0)
    H5Sclose(space);
  if (d >= 0)
    H5Dclose(d);
  return ok;
}

/* Read a whole dataset (its dims already checked) into values. */
static bool read_dataset(hid_t file, const char *name, double *values) {
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  bool ok = d >= 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0;
  if (d >= 0)
    H5Dclose(d);
  return ok;
}

static bool read_scalar(hid_t loc, const char *name, hid_t mem_type, void *value) {
  if (H5Aexists(loc, name) <= 0)
    return false;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  hid_t space = a >= 0 ? H5Aget_space(a) : -1;
  bool ok =
      space >= 0 && H5Sget_simple_extent_npoints(space) == 1 && H5Aread(a, mem_type, value) >= 0;
  if (space >= 0)
    H5Sclose(space);
  if (a >= 0)
    H5Aclose(a);
  return ok;
}

/* Rank 0: the checkpoint's state and snapshots into s (whose file is open), checked. */
static int resume_root(struct io_series *s, hid_t file, const char *from, const struct cfg *cfg,
                       int64_t counts[STATE_COUNTS], double values[STATE_VALUES]) {
  hsize_t grid[2] = {(hsize_t)s->ny, (hsize_t)s->nx};
  hsize_t rows[3] = {0, (hsize_t)s->ny, (hsize_t)s->nx};
  if (!has_dataset(file, "/series/T", 3, rows) || !has_dataset(file, "/state/T", 2, grid) ||
      !has_dataset(file, "/state/previous", 2, grid))
    return bad_checkpoint(cfg, from,
                          "not a checkpoint of a series of this grid (it needs "
                          "/series/T, /state/T and /state/previous of ny x nx)");
  hid_t state = H5Gopen2(file, "/state", H5P_DEFAULT);
  bool ok = state >= 0;
  for (int k = 0; ok && k < STATE_COUNTS; k++) {
    long long v = 0;
    ok = read_scalar(state, state_counts[k], H5T_NATIVE_LLONG, &v);
    counts[k] = (int64_t)v;
  }
  for (int k = 0; ok && k < STATE_VALUES; k++)
    ok = read_scalar(state, state_values[k], H5T_NATIVE_DOUBLE, &values[k]);
  if (state >= 0)
    H5Gclose(state);
  if (!ok)
    return bad_checkpoint(cfg, from, "its /state lacks one of its attributes");
  char why[200];
  if (counts[1] < 0 || counts[1] > cfg->output_times.count || counts[2] < 0 || counts[3] < 0 ||
      counts[4] < 0 || !(values[1] >= 0) || !(values[2] >= 0) || !(values[3] >= 0))
    return bad_checkpoint(cfg, from,
                          "its /state's attributes are out of range (another run's "
                          "time.output_times, or not a checkpoint jacobi wrote)");
  if (values[0] != cfg->time_step || !(counts[0] >= 1 && counts[0] < cfg->time_steps)) {
    snprintf(why, sizeof why,
             "a checkpoint after %lld steps of %.17g s, this run takes %lld steps of %.17g s",
             (long long)counts[0], values[0], (long long)cfg->time_steps, cfg->time_step);
    return bad_checkpoint(cfg, from, why);
  }
  hid_t series = H5Gopen2(file, "/series", H5P_DEFAULT);
  char scheme[32] = "";
  hid_t a =
      series >= 0 && H5Aexists(series, "scheme") > 0 ? H5Aopen(series, "scheme", H5P_DEFAULT) : -1;
  hid_t type = a >= 0 ? H5Aget_type(a) : -1;
  if (type >= 0 && H5Tget_class(type) == H5T_STRING && H5Tget_size(type) < sizeof scheme)
    H5Aread(a, type, scheme);
  if (type >= 0)
    H5Tclose(type);
  if (a >= 0)
    H5Aclose(a);
  if (series >= 0)
    H5Gclose(series);
  if (strcmp(scheme, s->scheme) != 0) {
    snprintf(why, sizeof why, "a checkpoint of scheme \"%.31s\", this run's is \"%s\"", scheme,
             s->scheme);
    return bad_checkpoint(cfg, from, why);
  }
  hid_t T = H5Dopen2(file, "/series/T", H5P_DEFAULT);
  hid_t space = T >= 0 ? H5Dget_space(T) : -1;
  hsize_t dims[3] = {0, 0, 0};
  if (space >= 0)
    H5Sget_simple_extent_dims(space, dims, NULL);
  int64_t count = (int64_t)dims[0];
  hsize_t times[1] = {dims[0]}, heat[2] = {dims[0], IO_SERIES_HEAT};
  int status = ERR_OK;
  if (T < 0 || !has_dataset(file, "/series/time", 1, times) ||
      !has_dataset(file, "/series/heat", 2, heat))
    status = bad_checkpoint(cfg, from, "its /series/time or /series/heat does not match /series/T");
  for (s->count = s->cap; status == ERR_OK && s->cap < count; s->count = s->cap)
    status = grow(s);
  s->count = 0;
  if (status == ERR_OK && (!read_dataset(file, "/series/time", s->times) ||
                           !read_dataset(file, "/series/heat", s->heat)))
    status = bad_checkpoint(cfg, from, "its /series/time or /series/heat cannot be read");
  for (int64_t k = 0; status == ERR_OK && k < count; k++) {
    if (!row_io(T, k, s->ny, s->nx, s->grid, false))
      status = bad_checkpoint(cfg, from, "a snapshot of its /series/T cannot be read");
    else if ((status = write_snapshot(s)) == ERR_OK)
      s->count++;
  }
  if (space >= 0)
    H5Sclose(space);
  if (T >= 0)
    H5Dclose(T);
  return status;
}

int io_series_resume(const char *path, const char *from, struct field *f, const struct team *team,
                     const struct cfg *cfg, double spacing, double x0, double y0,
                     const char *scheme, double *previous, struct io_series_state *state,
                     struct io_series **out) {
  CHECK(io_series_create(path, f, team, cfg, spacing, x0, y0, scheme, out));
  struct io_series *s = *out;
  int64_t counts[STATE_COUNTS + 1] = {0};
  double values[STATE_VALUES] = {0};
  int status = ERR_OK;
  hid_t file = -1;
  if (team->rank == 0) {
    io_quiet_hdf5();
    struct stat st;
    if (stat(from, &st) != 0 || !S_ISREG(st.st_mode) || H5Fis_hdf5(from) <= 0 ||
        (file = H5Fopen(from, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
      status = bad_checkpoint(cfg, from, "not a readable HDF5 file");
    if (status == ERR_OK)
      status = resume_root(s, file, from, cfg, counts, values);
    counts[STATE_COUNTS] = s->count;
  }
  MPI_CHECK(MPI_Bcast(&status, 1, MPI_INT, 0, team->comm)); /* rank 0's verdict, everyone's */
  status = team_agree(team, status);
  if (status == ERR_OK) {
    MPI_CHECK(MPI_Bcast(counts, STATE_COUNTS + 1, MPI_INT64_T, 0, team->comm));
    MPI_CHECK(MPI_Bcast(values, STATE_VALUES, MPI_DOUBLE, 0, team->comm));
    state_unpack(state, counts, values);
    s->count = counts[STATE_COUNTS];
    const char *names[2] = {"/state/T", "/state/previous"};
    double *buffers[2] = {f->base + f->current * f->buffer_len, previous};
    for (int b = 0; b < 2; b++) {
      if (team->rank == 0 && status == ERR_OK && !read_dataset(file, names[b], s->grid))
        status = bad_checkpoint(cfg, from, "its /state cannot be read");
      struct unpack_ctx c = {.f = f, .buffer = buffers[b]};
      io_scatter_rows(f->layout, team, 0, f->layout->ny, s->grid, 0, f->layout->nx, 0, s->recv,
                      s->counts, s->displs, s->send, unpack, &c);
    }
  }
  if (file >= 0)
    H5Fclose(file);
  return team_agree(team, status);
}

int64_t io_series_count(const struct io_series *s) { return s->count; }
