/* series.c - the transient's time series; see series.h. */
#include "io/series.h"

#include "common/err.h"
#include "io/cfg.h"
#include "io/output.h"
#include "io/slab.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const io_series_heat_columns[IO_SERIES_HEAT] = {
    "time",      "stored",  "edge_north", "edge_south", "edge_west",
    "edge_east", "regions", "sources",    "surface",    "step_bound"};

struct io_series {
  char *path, *tmp;
  int64_t nx, ny;
  double spacing, x0, y0;
  hid_t file, T; /* rank 0; -1: none */
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

/* Rank 0: the temporary and the extensible /series/T, one chunk a snapshot; on the root, the
 * attributes every file jacobi writes carries (version, config; iterations at the commit: the
 * steps), so that the next run may replace it (output.h). */
static int open_file(struct io_series *s, const char *scheme, const struct cfg *cfg) {
  size_t n = strlen(s->path) + 16;
  s->tmp = malloc(n);
  if (s->tmp == NULL)
    return err_set(ERR_FAILURE, "out of memory");
  snprintf(s->tmp, n, "%s.tmp.XXXXXX", s->path);
  int fd = mkstemp(s->tmp);
  if (fd < 0) {
    free(s->tmp);
    s->tmp = NULL;
    return err_errno(ERR_FAILURE, "creating a temporary file beside \"%s\"", s->path);
  }
  close(fd);
  s->file = H5Fcreate(s->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (s->file < 0)
    return h5("creating the file", s->tmp);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (mem == NULL)
    return err_errno(ERR_FAILURE, "printing the configuration");
  cfg_print(cfg, mem);
  fclose(mem);
  int status = string_attr(s->file, "version", JACOBI_VERSION, s->tmp);
  if (status == ERR_OK)
    status = string_attr(s->file, "config", text, s->tmp);
  free(text);
  CHECK(status);
  hid_t group = H5Gcreate2(s->file, "/series", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0)
    return h5("creating /series", s->tmp);
  double values[3] = {s->spacing, s->x0, s->y0};
  const char *names[3] = {"spacing", "x0", "y0"};
  hid_t scalar = H5Screate(H5S_SCALAR);
  for (int k = 0; k < 3 && status == ERR_OK; k++) {
    hid_t a = H5Acreate2(group, names[k], H5T_NATIVE_DOUBLE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, &values[k]) < 0)
      status = h5("writing an attribute of /series", s->tmp);
    if (a >= 0)
      H5Aclose(a);
  }
  H5Sclose(scalar);
  if (status == ERR_OK)
    status = string_attr(group, "scheme", scheme, s->tmp);
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
                          .path = strdup(path)};
  s->mine = io_segments(l, team->rank, 0, l->ny, IO_CANONICAL, NULL, NULL);
  s->send = malloc((size_t)(s->mine > 0 ? s->mine : 1) * sizeof *s->send);
  if (s->path == NULL || s->send == NULL)
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
      status = open_file(s, scheme, cfg);
  }
  return team_agree(team, status);
}

struct pack_ctx {
  const struct field *f;
  double *at;
};

static void pack(const struct io_segment *seg, void *ctx) {
  struct pack_ctx *c = ctx;
  const struct decomp_tile *tile = &c->f->tiles[seg->tile];
  const double *row = field_interior(c->f, c->f->current, seg->tile) +
                      (seg->gi - tile->row0) * field_stride(c->f, seg->tile) +
                      (seg->col0 - tile->col0);
  memcpy(c->at, row, (size_t)seg->ncols * sizeof *row);
  c->at += seg->ncols;
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

int io_series_append(struct io_series *s, const struct field *f, const struct team *team,
                     double time, const double heat[IO_SERIES_HEAT]) {
  const struct decomp_layout *l = f->layout;
  struct pack_ctx pc = {.f = f, .at = s->send};
  io_segments(l, team->rank, 0, l->ny, IO_CANONICAL, pack, &pc);
  int rc = MPI_Gatherv(s->send, (int)s->mine, MPI_DOUBLE, s->recv, s->counts, s->displs, MPI_DOUBLE,
                       0, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Gatherv (a snapshot of the series)"));
  int status = ERR_OK;
  if (team->rank == 0) {
    for (int r = 0; r < team->size; r++) {
      struct place_ctx c = {.grid = s->grid, .at = s->recv + s->displs[r], .nx = l->nx};
      io_segments(l, r, 0, l->ny, IO_CANONICAL, place, &c);
    }
    if (s->count == s->cap) {
      int64_t cap = s->cap ? 2 * s->cap : 64;
      double *times = realloc(s->times, (size_t)cap * sizeof *times);
      if (times != NULL)
        s->times = times;
      double *rows = realloc(s->heat, (size_t)cap * IO_SERIES_HEAT * sizeof *rows);
      if (rows != NULL)
        s->heat = rows;
      if (times == NULL || rows == NULL)
        status = err_set(ERR_FAILURE, "out of memory for the series' times");
      else
        s->cap = cap;
    }
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

static int write_tables(struct io_series *s) {
  hid_t group = H5Gopen2(s->file, "/series", H5P_DEFAULT);
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
    status = write_tables(s);
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
