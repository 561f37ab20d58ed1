/* restart.c - reading a file written by io_write back into a distributed field; see output.h.
 *
 * Rank 0 opens and checks the file, then all ranks loop over the same row slabs as the writer:
 * rank 0 reads a slab, checks its ring and values, packs each rank's points in the canonical
 * order (slab.h) and scatters them with one MPI_Scatterv; each rank unpacks into its tiles. The
 * reader's layout need not be the writer's: placement is by global index only.
 */
#include "io/output.h"

#include "common/err.h"
#include "io/slab.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A restart problem is the user's: ERR_CONFIG, naming the key, where it was set and the file. */
static int bad_file(const struct cfg *cfg, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_file(const struct cfg *cfg, const char *path, const char *fmt, ...) {
  char why[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return err_set(ERR_CONFIG, "%s: initial.from_file \"%s\": %s",
                 cfg_origin(cfg, "initial.from_file"), path, why);
}

/* Close an attribute opened for reading, its space and type (any of them may be invalid):
 * read-only handles, so closing them cannot lose anything. */
static void close_attr(hid_t attr, hid_t space, hid_t type) {
  if (type >= 0)
    H5Tclose(type);
  if (space >= 0)
    H5Sclose(space);
  if (attr >= 0)
    H5Aclose(attr);
}

/* Root attribute `name` of a file jacobi did not necessarily write, as a whole number: checked
 * for presence, shape (one value: a scalar or a one-element array), class (an integer, or a
 * float holding a whole number) before anything is read into `value`, so that no attribute can
 * overflow a buffer or be silently rounded. ERR_CONFIG naming what is wrong. */
static int read_whole_attr(hid_t file, const char *path, const struct cfg *cfg, const char *name,
                           int64_t *value) {
  htri_t exists = H5Aexists(file, name);
  if (exists <= 0)
    return bad_file(cfg, path, "no %s attribute: not a file written by jacobi", name);
  int status = ERR_OK;
  hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
  hid_t space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
  hid_t type = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
  hssize_t npoints = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  H5S_class_t shape = space >= 0 ? H5Sget_simple_extent_type(space) : H5S_NO_CLASS;
  H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
  if (attr < 0 || space < 0 || type < 0)
    status = bad_file(cfg, path, "cannot read the %s attribute: %s", name, io_h5_reason());
  else if (shape == H5S_NULL || npoints != 1)
    status = bad_file(cfg, path, "the %s attribute holds %lld values, expected one", name,
                      (long long)(shape == H5S_NULL ? 0 : npoints));
  else if (cls == H5T_INTEGER) {
    /* Wider or unsigned integers convert with saturation: out of range stays out of range. */
    if (H5Aread(attr, H5T_NATIVE_INT64, value) < 0)
      status = bad_file(cfg, path, "cannot read the %s attribute: %s", name, io_h5_reason());
  } else if (cls == H5T_FLOAT) {
    double v = 0;
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) < 0)
      status = bad_file(cfg, path, "cannot read the %s attribute: %s", name, io_h5_reason());
    else if (!isfinite(v) || v != floor(v) || fabs(v) > 9.0e18)
      status = bad_file(cfg, path, "the %s attribute is %.17g, expected a whole number", name, v);
    else
      *value = (int64_t)v;
  } else
    status = bad_file(cfg, path, "the %s attribute is %s, expected an integer", name,
                      io_type_class_name(cls));
  close_attr(attr, space, type);
  return status;
}

/* Whether a file's iterations count multigrid cycles (its method attribute is "multigrid") or
 * sweeps (Jacobi's, Chebyshev's). A file without a readable method (one short string) is taken
 * to count as this run does. */
static bool counts_cycles(hid_t file, const struct cfg *cfg) {
  bool cycles = cfg->method == CFG_METHOD_MULTIGRID;
  if (H5Aexists(file, "method") <= 0)
    return cycles;
  char text[32] = "";
  hid_t attr = H5Aopen(file, "method", H5P_DEFAULT);
  hid_t type = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
  hid_t space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
  if (type >= 0 && space >= 0 && H5Tget_class(type) == H5T_STRING &&
      H5Tis_variable_str(type) == 0 && H5Tget_size(type) < sizeof text &&
      H5Sget_simple_extent_type(space) != H5S_NULL && H5Sget_simple_extent_npoints(space) == 1 &&
      H5Aread(attr, type, text) >= 0) {
    text[sizeof text - 1] = '\0';
    if (strcmp(text, "multigrid") == 0 || strcmp(text, "jacobi") == 0 ||
        strcmp(text, "chebyshev") == 0)
      cycles = strcmp(text, "multigrid") == 0;
  }
  close_attr(attr, space, type);
  return cycles;
}

/* Whether the file's iterations are in this run's unit: sweeps for Jacobi and Chebyshev,
 * cycles for multigrid. Where they are not, its field is only the start: the count begins at
 * 0 (636 Jacobi sweeps had seeded a multigrid run's cycle count, and a max_iterations of 20
 * cycles was refused as leaving nothing to do). */
static bool same_unit(hid_t file, const struct cfg *cfg) {
  return counts_cycles(file, cfg) == (cfg->method == CFG_METHOD_MULTIGRID);
}

/* Check what can be checked before reading values: dataset, type, shape, attributes. */
static int check_header(hid_t file, hid_t dset, const char *name, const char *path,
                        const struct cfg *cfg, int64_t *iterations) {
  int status = ERR_OK;
  hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
  hsize_t dims[2] = {0, 0};
  int ndims = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (type < 0 || space < 0)
    status = bad_file(cfg, path, "cannot read %s: %s", name, io_h5_reason());
  else if (H5Tget_class(type) != H5T_FLOAT || H5Tget_size(type) != 8)
    status = bad_file(cfg, path, "%s is not float64", name);
  else if (H5Sget_simple_extent_type(space) != H5S_SIMPLE || ndims != 2 ||
           H5Sget_simple_extent_dims(space, dims, NULL) < 0)
    status = bad_file(cfg, path, "%s has %d dimensions, expected 2", name, ndims > 0 ? ndims : 0);
  else if (dims[0] != (hsize_t)cfg->ny + 2 || dims[1] != (hsize_t)cfg->nx + 2)
    status =
        bad_file(cfg, path,
                 "%s is %llu x %llu, but grid.ny = %lld and grid.nx = %lld need "
                 "(ny + 2) x (nx + 2) = %lld x %lld",
                 name, (unsigned long long)dims[0], (unsigned long long)dims[1], (long long)cfg->ny,
                 (long long)cfg->nx, (long long)cfg->ny + 2, (long long)cfg->nx + 2);
  int64_t nx = -1, ny = -1;
  if (status == ERR_OK)
    status = read_whole_attr(file, path, cfg, "nx", &nx);
  if (status == ERR_OK)
    status = read_whole_attr(file, path, cfg, "ny", &ny);
  if (status == ERR_OK && (nx != cfg->nx || ny != cfg->ny))
    status = bad_file(cfg, path, "written for nx = %lld, ny = %lld; the config has %lld, %lld",
                      (long long)nx, (long long)ny, (long long)cfg->nx, (long long)cfg->ny);
  if (status == ERR_OK)
    status = read_whole_attr(file, path, cfg, "iterations", iterations);
  if (status == ERR_OK && *iterations < 0)
    status = bad_file(cfg, path, "holds iteration %lld: a count of iterations is never negative",
                      (long long)*iterations);
  else if (status == ERR_OK && !same_unit(file, cfg))
    *iterations = 0; /* another method's unit: the field starts this run's count afresh */
  else if (status == ERR_OK && *iterations >= cfg->max_iterations)
    status = bad_file(cfg, path,
                      "holds iteration %lld, and solver.max_iterations = %lld leaves nothing "
                      "to do",
                      (long long)*iterations, (long long)cfg->max_iterations);
  if (space >= 0 && H5Sclose(space) < 0 && status == ERR_OK)
    status = bad_file(cfg, path, "H5Sclose failed: %s", io_h5_reason());
  if (type >= 0 && H5Tclose(type) < 0 && status == ERR_OK)
    status = bad_file(cfg, path, "H5Tclose failed: %s", io_h5_reason());
  return status;
}

/* Check grid rows [r0, r1) of a slab: finite values, the config's boundary on the ring. */
static int check_slab(const double *slab, const struct io_slabs *s, int64_t r0, int64_t r1,
                      const struct field_boundary *b, const struct cfg *cfg, const char *name,
                      const char *path) {
  static const char *side_key[DECOMP_NSIDES] = {"boundary.top", "boundary.bottom", "boundary.left",
                                                "boundary.right"};
  for (int64_t r = r0; r < r1; r++)
    for (int64_t c = 0; c < s->cols; c++) {
      double v = slab[(r - r0) * s->cols + c];
      if (!isfinite(v))
        return bad_file(cfg, path, "%s[%lld][%lld] is %g: not finite", name, (long long)r,
                        (long long)c, v);
      if (fabs(v) > CFG_MAX_TEMPERATURE) /* beyond it a sum of neighbours may overflow */
        return bad_file(cfg, path, "%s[%lld][%lld] is %g, beyond |T| <= %g", name, (long long)r,
                        (long long)c, v, CFG_MAX_TEMPERATURE);
      int side = r == 0             ? DECOMP_NORTH
                 : r == s->rows - 1 ? DECOMP_SOUTH
                 : c == 0           ? DECOMP_WEST
                 : c == s->cols - 1 ? DECOMP_EAST
                                    : -1;
      double want = side < 0                                       ? v
                    : side == DECOMP_NORTH || side == DECOMP_SOUTH ? b->side[side][c]
                                                                   : b->side[side][r];
      if (v != want)
        return bad_file(cfg, path, "boundary point %s[%lld][%lld] is %.17g, but %s gives %.17g",
                        name, (long long)r, (long long)c, v, side_key[side], want);
    }
  return ERR_OK;
}

static int read_slab(hid_t dset, const struct io_slabs *s, int64_t r0, int64_t r1, double *slab,
                     const struct cfg *cfg, const char *name, const char *path) {
  if (!io_read_rows(dset, r0, r1, s->cols, slab))
    return bad_file(cfg, path, "reading rows %lld to %lld of %s failed: %s", (long long)r0,
                    (long long)r1 - 1, name, io_h5_reason());
  return ERR_OK;
}

struct put_ctx {
  struct field *f;
  int buf;
};

static void put_segment(const struct io_segment *seg, const double *values, void *ctx) {
  struct put_ctx *p = ctx;
  double *row = field_interior(p->f, p->buf, seg->tile) +
                (seg->gi - seg->row0) * field_stride(p->f, seg->tile);
  memcpy(row, values, (size_t)seg->ncols * sizeof *values);
}

/* All ranks: receive this slab's points and put them in place. Rank 0 packs from `slab`. */
static int scatter_slab(struct field *f, int buf, const struct team *team, const struct io_slabs *s,
                        int64_t r0, int64_t r1, const double *slab, double *send, int *counts,
                        int *displs, double *recv) {
  const struct decomp_layout *l = f->layout;
  int64_t g0 = r0 > 1 ? r0 - 1 : 0, g1 = r1 - 1 < l->ny ? r1 - 1 : l->ny;
  if (g1 < g0)
    g1 = g0;
  struct put_ctx put = {.f = f, .buf = buf};
  io_scatter_rows(l, team, g0, g1, slab, r0, s->cols, 1, send, counts, displs, recv, put_segment,
                  &put);
  return ERR_OK;
}

/* Rank 0: dataset `name` of the open file, stored in it; a link to it is followed only to a
 * regular file (io_input_access). *dset the caller's to close. */
static int open_dataset(hid_t file, const char *path, const char *name, const struct cfg *cfg,
                        hid_t *dset) {
  hid_t access = io_input_access();
  if (access < 0)
    return bad_file(cfg, path, "cannot be read: %s", io_h5_reason());
  *dset = H5Dopen2(file, name, access);
  H5Pclose(access);
  char why[200];
  if (*dset < 0 && io_input_refused_link() != NULL)
    return bad_file(cfg, path, "%s is %s", name, io_input_refused_link());
  if (*dset < 0)
    return bad_file(cfg, path, "no %s dataset: not a file written by jacobi", name);
  if (!io_input_storage_ok(*dset, why, sizeof why))
    return bad_file(cfg, path, "dataset %s: %s", name, why);
  return ERR_OK;
}

/* Rank 0: owns the HDF5 file. Header outcome and iteration count are broadcast first. */
static int read_on_root(const char *path, const char *name, int buf, struct field *f,
                        const struct field_boundary *b, const struct cfg *cfg,
                        const struct team *team, const struct io_slabs *s, double *recv,
                        int64_t *iterations) {
  int status = ERR_OK;
  struct stat st;
  hid_t file = H5I_INVALID_HID, dset = H5I_INVALID_HID;
  if (stat(path, &st) != 0)
    status = bad_file(cfg, path, "%s", strerror(errno));
  else if (!S_ISREG(st.st_mode)) /* a FIFO would block the open for ever, a device worse */
    status = bad_file(cfg, path, "it is %s, not a regular file", io_file_kind(st.st_mode));
  else if (H5Fis_hdf5(path) <= 0)
    status = bad_file(cfg, path, "not an HDF5 file");
  else if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
    status = bad_file(cfg, path, "cannot be opened (truncated?): %s", io_h5_reason());
  else
    status = open_dataset(file, path, name, cfg, &dset);
  if (status == ERR_OK)
    status = check_header(file, dset, name, path, cfg, iterations);

  double *slab = malloc((size_t)(s->slab_rows * s->cols) * sizeof *slab);
  double *send = malloc((size_t)(s->slab_rows * s->cols) * sizeof *send);
  int *counts = malloc((size_t)team->size * sizeof *counts);
  int *displs = malloc((size_t)team->size * sizeof *displs);
  if (status == ERR_OK && (slab == NULL || send == NULL || counts == NULL || displs == NULL))
    status = err_set(ERR_FAILURE, "out of memory for a restart slab");
  long long header[2] = {status, *iterations};
  MPI_CHECK(MPI_Bcast(header, 2, MPI_LONG_LONG, 0, team->comm));
  for (int64_t r0 = 0; header[0] == ERR_OK && r0 < s->rows; r0 += s->slab_rows) {
    int64_t r1 = r0 + s->slab_rows < s->rows ? r0 + s->slab_rows : s->rows;
    if (status == ERR_OK)
      status = read_slab(dset, s, r0, r1, slab, cfg, name, path);
    if (status == ERR_OK)
      status = check_slab(slab, s, r0, r1, b, cfg, name, path);
    /* After a failure, keep scattering (whatever the slab holds): the others are waiting. */
    int st = scatter_slab(f, buf, team, s, r0, r1, slab, send, counts, displs, recv);
    status = status != ERR_OK ? status : st;
  }
  free(displs);
  free(counts);
  free(send);
  free(slab);
  if (dset >= 0 && H5Dclose(dset) < 0 && status == ERR_OK)
    status = bad_file(cfg, path, "closing %s failed", name);
  if (file >= 0 && H5Fclose(file) < 0 && status == ERR_OK)
    status = bad_file(cfg, path, "closing the file failed");
  return status;
}

static int read_elsewhere(struct field *f, int buf, const struct team *team,
                          const struct io_slabs *s, double *recv, int64_t *iterations) {
  long long header[2];
  MPI_CHECK(MPI_Bcast(header, 2, MPI_LONG_LONG, 0, team->comm));
  *iterations = header[1];
  int status = (int)header[0]; /* rank 0 holds the message */
  for (int64_t r0 = 0; status == ERR_OK && r0 < s->rows; r0 += s->slab_rows) {
    int64_t r1 = r0 + s->slab_rows < s->rows ? r0 + s->slab_rows : s->rows;
    status = scatter_slab(f, buf, team, s, r0, r1, NULL, NULL, NULL, NULL, recv);
  }
  return status;
}

/* Dataset `name` of the file into buffer `buf` of the field; see io_read. */
static int read_dataset(const char *path, const char *name, int buf, struct field *field,
                        const struct field_boundary *boundary, const struct cfg *cfg,
                        const struct team *team, int64_t *iterations) {
  io_quiet_hdf5();
  struct io_slabs s;
  io_slabs_init(&s, field->layout->nx, field->layout->ny, io_slab_bytes());
  double *recv = malloc((size_t)(s.slab_rows * s.cols) * sizeof *recv);
  if (recv == NULL)
    team_abort(team, err_set(ERR_FAILURE, "out of memory for a restart slab"));
  *iterations = 0;
  int status = team->rank == 0
                   ? read_on_root(path, name, buf, field, boundary, cfg, team, &s, recv, iterations)
                   : read_elsewhere(field, buf, team, &s, recv, iterations);
  free(recv);
  /* The file is rank 0's, but its verdict is everyone's: adopt it, so the message is untagged. */
  int root_status = status;
  MPI_CHECK(MPI_Bcast(&root_status, 1, MPI_INT, 0, team->comm));
  status = team_agree(team, status != ERR_OK ? status : root_status);
  /* Rank 0 read it; everyone must hold the same count. */
  long long it = *iterations;
  MPI_CHECK(MPI_Bcast(&it, 1, MPI_LONG_LONG, 0, team->comm));
  *iterations = it;
  return status;
}

int io_read(const char *path, struct field *field, const struct field_boundary *boundary,
            const struct cfg *cfg, const struct team *team, int64_t *iterations) {
  return read_dataset(path, "/temperature", field->current, field, boundary, cfg, team, iterations);
}

/* An optional float64 scalar attribute: NaN if absent or of another shape or class. */
static double optional_double_attr(hid_t file, const char *name) {
  double value = NAN;
  if (H5Aexists(file, name) <= 0)
    return value;
  hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
  hid_t space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
  hid_t type = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
  if (space >= 0 && type >= 0 && H5Sget_simple_extent_npoints(space) == 1 &&
      H5Tget_class(type) == H5T_FLOAT && H5Aread(attr, H5T_NATIVE_DOUBLE, &value) < 0)
    value = NAN;
  close_attr(attr, space, type);
  return value;
}

int io_read_estimate(const char *path, const struct team *team, double *estimate) {
  double value = NAN;
  if (team->rank == 0) {
    io_quiet_hdf5();
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file >= 0) {
      value = optional_double_attr(file, "error_estimate");
      H5Fclose(file);
    }
  }
  MPI_CHECK(MPI_Bcast(&value, 1, MPI_DOUBLE, 0, team->comm));
  *estimate = value;
  return ERR_OK;
}

int io_read_stall(const char *path, const struct cfg *cfg, const struct team *team,
                  int64_t iterations, double floor, double *best, int64_t *at) {
  long long header[2] = {ERR_OK, 0}; /* status, present */
  double b = *best;
  int64_t a = *at;
  if (team->rank == 0) {
    io_quiet_hdf5();
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
      header[0] = bad_file(cfg, path, "cannot be opened again: %s", io_h5_reason());
    else if (H5Aexists(file, "stall_at") > 0 && same_unit(file, cfg)) {
      header[1] = 1;
      header[0] = read_whole_attr(file, path, cfg, "stall_at", &a);
      b = optional_double_attr(file, "stall_best");
      if (header[0] == ERR_OK && (a < 0 || a > iterations || !(b >= floor)))
        header[0] = bad_file(cfg, path,
                             "stall_at = %lld with stall_best = %g: expected an iteration from 0 "
                             "to iterations = %lld and a bound of at least %.3g, the least "
                             "rounding leaves on this plate",
                             (long long)a, b, (long long)iterations, floor);
    }
    if (file >= 0)
      H5Fclose(file); /* read-only: closing it cannot lose anything */
  }
  MPI_CHECK(MPI_Bcast(header, 2, MPI_LONG_LONG, 0, team->comm));
  MPI_CHECK(MPI_Bcast(&b, 1, MPI_DOUBLE, 0, team->comm));
  long long wide = a;
  MPI_CHECK(MPI_Bcast(&wide, 1, MPI_LONG_LONG, 0, team->comm));
  int status = team_agree(team, (int)header[0]);
  if (status == ERR_OK && header[1]) {
    *best = b;
    *at = wide;
  }
  return status;
}

int io_read_previous(const char *path, struct field *field, const struct field_boundary *boundary,
                     const struct cfg *cfg, const struct team *team, int64_t iterations,
                     int64_t *chebyshev_start) {
  long long header[2] = {ERR_OK, -1}; /* status, chebyshev_start */
  if (team->rank == 0) {
    io_quiet_hdf5();
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int64_t start = -1;
    if (file < 0)
      header[0] = bad_file(cfg, path, "cannot be opened again: %s", io_h5_reason());
    else if (H5Lexists(file, "previous", H5P_DEFAULT) > 0) { /* a link: not followed here */
      header[0] = read_whole_attr(file, path, cfg, "chebyshev_start", &start);
      if (header[0] == ERR_OK && (start < 0 || start >= iterations))
        header[0] =
            bad_file(cfg, path, "chebyshev_start = %lld, expected from 0 to iterations - 1 = %lld",
                     (long long)start, (long long)iterations - 1);
      header[1] = start;
    }
    if (file >= 0)
      H5Fclose(file); /* read-only: closing it cannot lose anything */
  }
  MPI_CHECK(MPI_Bcast(header, 2, MPI_LONG_LONG, 0, team->comm));
  int status = team_agree(team, (int)header[0]);
  *chebyshev_start = status == ERR_OK ? header[1] : -1;
  if (status != ERR_OK || *chebyshev_start < 0)
    return status;
  int64_t previous_iterations = 0;
  return read_dataset(path, "/previous", 1 - field->current, field, boundary, cfg, team,
                      &previous_iterations);
}
