/* interior.c - reading a dataset of the interior's shape (a heat source, a region's mask) from
 * a user's HDF5 file into a field-shaped array; see io_read_interior in output.h.
 *
 * Rank 0 opens and checks the file (a regular file, HDF5, the dataset, 2-D, numeric, (ny, nx))
 * and broadcasts the verdict; then all ranks loop over the same slabs of interior rows: rank 0
 * reads one as double (HDF5 converts any integer or float type), checks that every value is
 * finite, packs each rank's points in the canonical order (slab.h) and scatters them with one
 * MPI_Scatterv; each rank unpacks into its tiles. After a failure rank 0 keeps scattering
 * (whatever the slab holds) to the end, so that no rank is left waiting; the status is agreed
 * at the end.
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

/* What io_read_interior reads, and the names its messages give. */
struct interior_read {
  const char *path, *dataset, *key, *origin;
  int64_t nx, ny;
};

/* "ORIGIN: KEY = "PATH": what is wrong", ERR_CONFIG. */
static int bad_input(const struct interior_read *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bad_input(const struct interior_read *in, const char *fmt, ...) {
  char why[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return err_set(ERR_CONFIG, "%s: %s = \"%s\": %s", in->origin, in->key, in->path, why);
}

/* The dataset's type and shape, before any value is read. */
static int check_dataset(hid_t dset, const struct interior_read *in) {
  int status = ERR_OK;
  hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
  H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
  int ndims = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  hsize_t dims[2] = {0, 0};
  if (type < 0 || space < 0)
    status = bad_input(in, "cannot read dataset %s: %s", in->dataset, io_h5_reason());
  else if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    status = bad_input(in, "dataset %s holds %s, expected numbers (integers or floats)",
                       in->dataset, io_type_class_name(cls));
  else if (H5Sget_simple_extent_type(space) != H5S_SIMPLE || ndims != 2 ||
           H5Sget_simple_extent_dims(space, dims, NULL) < 0)
    status = bad_input(in,
                       "dataset %s has %d dimensions, expected 2: (ny, nx) = (%lld, %lld), the "
                       "plate's interior",
                       in->dataset, ndims > 0 ? ndims : 0, (long long)in->ny, (long long)in->nx);
  else if (dims[0] != (hsize_t)in->ny || dims[1] != (hsize_t)in->nx)
    status = bad_input(in,
                       "dataset %s has shape (%llu, %llu), expected (ny, nx) = (%lld, %lld), the "
                       "plate's interior",
                       in->dataset, (unsigned long long)dims[0], (unsigned long long)dims[1],
                       (long long)in->ny, (long long)in->nx);
  if (space >= 0)
    H5Sclose(space); /* read-only handles: closing them cannot lose anything */
  if (type >= 0)
    H5Tclose(type);
  return status;
}

/* The dataset in.dataset of the open file, through `access` (io_input_access), stored in
 * that file; *dset the caller's to close. */
static int find_dataset(const struct interior_read *in, hid_t file, hid_t access, hid_t *dset) {
  /* H5Lexists fails on a path through a missing group, and H5Oexists_by_name is false for a
   * dangling soft link: both mean no dataset. The object may still be a group or a type. An
   * external link to a FIFO fails here too (io_input_access). */
  if (H5Lexists(file, in->dataset, access) <= 0 ||
      H5Oexists_by_name(file, in->dataset, access) <= 0) {
    (void)io_h5_reason();
    if (io_input_refused_link() != NULL)
      return bad_input(in, "%s is %s", in->dataset, io_input_refused_link());
    return bad_input(in, "no dataset %s in the file", in->dataset);
  }
  hid_t object = H5Oopen(file, in->dataset, access);
  H5I_type_t kind = object >= 0 ? H5Iget_type(object) : H5I_BADID;
  if (object >= 0)
    H5Oclose(object);
  if (kind != H5I_DATASET)
    return bad_input(in, "%s is %s, not a dataset", in->dataset,
                     kind == H5I_GROUP ? "a group" : "not readable");
  if ((*dset = H5Dopen2(file, in->dataset, access)) < 0)
    return bad_input(in, "cannot open dataset %s: %s", in->dataset, io_h5_reason());
  char why[200];
  if (!io_input_storage_ok(*dset, why, sizeof why))
    return bad_input(in, "dataset %s: %s", in->dataset, why);
  return ERR_OK;
}

/* Rank 0: open the file and the dataset, checking everything but the values. *file and *dset
 * are the caller's to close (-1 when not open). */
static int open_input(const struct interior_read *in, hid_t *file, hid_t *dset) {
  *file = *dset = H5I_INVALID_HID;
  struct stat st;
  if (stat(in->path, &st) != 0)
    return bad_input(in, "%s", strerror(errno));
  if (!S_ISREG(st.st_mode)) /* a FIFO would block the open for ever, a device worse */
    return bad_input(in, "it is %s, not a regular file", io_file_kind(st.st_mode));
  if (H5Fis_hdf5(in->path) <= 0)
    return bad_input(in, "not an HDF5 file");
  if ((*file = H5Fopen(in->path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
    return bad_input(in, "cannot be opened (truncated?): %s", io_h5_reason());
  hid_t access = io_input_access(); /* external links to regular files only */
  if (access < 0)
    return bad_input(in, "cannot be read: %s", io_h5_reason());
  int status = find_dataset(in, *file, access, dset);
  H5Pclose(access);
  return status != ERR_OK ? status : check_dataset(*dset, in);
}

/* Rank 0: interior rows [r0, r1) as double, every value checked finite. */
static int read_rows(hid_t dset, const struct interior_read *in, int64_t r0, int64_t r1,
                     double *slab) {
  int status = ERR_OK;
  if (!io_read_rows(dset, r0, r1, in->nx, slab))
    status = bad_input(in, "reading rows %lld to %lld of %s failed: %s", (long long)r0,
                       (long long)r1 - 1, in->dataset, io_h5_reason());
  for (int64_t r = r0; r < r1 && status == ERR_OK; r++)
    for (int64_t c = 0; c < in->nx && status == ERR_OK; c++) {
      double v = slab[(r - r0) * in->nx + c];
      if (!isfinite(v))
        status = bad_input(in, "%s[%lld][%lld] is %g: not finite", in->dataset, (long long)r,
                           (long long)c, v);
    }
  return status;
}

struct put_ctx {
  const struct field *f;
  double *dest;
};

static void put_segment(const struct io_segment *seg, const double *values, void *ctx) {
  struct put_ctx *p = ctx;
  int64_t stride = field_stride(p->f, seg->tile);
  double *row = p->dest + p->f->tile_offset[seg->tile] + p->f->depth * stride + p->f->depth +
                (seg->gi - seg->row0) * stride;
  memcpy(row, values, (size_t)seg->ncols * sizeof *values);
}

/* All ranks: one slab's points from rank 0's `slab` (NULL elsewhere) into dest. */
static int scatter_rows(const struct field *f, const struct team *team, int64_t r0, int64_t r1,
                        const double *slab, double *send, int *counts, int *displs, double *recv,
                        double *dest) {
  struct put_ctx put = {.f = f, .dest = dest};
  io_scatter_rows(f->layout, team, r0, r1, slab, r0, f->layout->nx, 0, send, counts, displs, recv,
                  put_segment, &put);
  return ERR_OK;
}

/* Rank 0's side: owns the file. The header's verdict goes out first, so that after a bad
 * header no rank enters the slab loop. */
static int read_on_root(const struct interior_read *in, const struct field *f,
                        const struct team *team, const struct io_slabs *s, double *recv,
                        double *dest) {
  hid_t file, dset;
  int status = open_input(in, &file, &dset);
  size_t slab_values = (size_t)(s->slab_rows * s->cols);
  double *slab = malloc(slab_values * sizeof *slab);
  double *send = malloc(slab_values * sizeof *send);
  int *counts = malloc((size_t)team->size * sizeof *counts);
  int *displs = malloc((size_t)team->size * sizeof *displs);
  if (status == ERR_OK && (slab == NULL || send == NULL || counts == NULL || displs == NULL))
    status = err_set(ERR_FAILURE, "out of memory for a slab of %s", in->path);
  int go = status == ERR_OK;
  MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, team->comm));
  for (int64_t r0 = 0; go && r0 < s->rows; r0 += s->slab_rows) {
    int64_t r1 = r0 + s->slab_rows < s->rows ? r0 + s->slab_rows : s->rows;
    if (status == ERR_OK)
      status = read_rows(dset, in, r0, r1, slab);
    int st = scatter_rows(f, team, r0, r1, slab, send, counts, displs, recv, dest);
    status = status != ERR_OK ? status : st;
  }
  free(displs);
  free(counts);
  free(send);
  free(slab);
  if (dset >= 0)
    H5Dclose(dset); /* read-only: closing cannot lose anything */
  if (file >= 0)
    H5Fclose(file);
  return status;
}

static int read_elsewhere(const struct field *f, const struct team *team, const struct io_slabs *s,
                          double *recv, double *dest) {
  int go = 0;
  MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, team->comm));
  int status = ERR_OK;
  for (int64_t r0 = 0; go && status == ERR_OK && r0 < s->rows; r0 += s->slab_rows) {
    int64_t r1 = r0 + s->slab_rows < s->rows ? r0 + s->slab_rows : s->rows;
    status = scatter_rows(f, team, r0, r1, NULL, NULL, NULL, NULL, recv, dest);
  }
  return status;
}

int io_read_interior(const char *path, const char *dataset, const char *key, const char *origin,
                     const struct field *field, const struct team *team, double *dest) {
  io_quiet_hdf5();
  const struct interior_read in = {.path = path,
                                   .dataset = dataset,
                                   .key = key,
                                   .origin = origin,
                                   .nx = field->layout->nx,
                                   .ny = field->layout->ny};
  struct io_slabs s;
  io_slabs_init_interior(&s, in.nx, in.ny, io_slab_bytes());
  double *recv = malloc((size_t)(s.slab_rows * s.cols) * sizeof *recv);
  if (recv == NULL)
    team_abort(team, err_set(ERR_FAILURE, "out of memory for a slab of %s", path));
  int status = team->rank == 0 ? read_on_root(&in, field, team, &s, recv, dest)
                               : read_elsewhere(field, team, &s, recv, dest);
  free(recv);
  /* The file is rank 0's, but its verdict is everyone's: adopt it, so the message is untagged. */
  int root_status = status;
  MPI_CHECK(MPI_Bcast(&root_status, 1, MPI_INT, 0, team->comm));
  return team_agree(team, status != ERR_OK ? status : root_status);
}
