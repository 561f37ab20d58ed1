/* history.c - reading a result's convergence history back for a run that continues from it;
 * see output.h (io_read_history). The writer is output.c (write_history). */
#include "io/output.h"

#include "common/err.h"
#include "io/slab.h"

#include <hdf5.h>
#include <stdio.h>

/* A problem with the file's /history is the user's: ERR_CONFIG naming the key and the file. */
static int bad_history(const struct cfg *cfg, const char *path, const char *why) {
  return err_set(ERR_CONFIG, "%s: initial.from_file \"%s\": /history %s",
                 cfg_origin(cfg, "initial.from_file"), path, why);
}

/* An int64 attribute of the dataset, or -1 if it is absent or unreadable. */
static int64_t count_attr(hid_t dset, const char *name) {
  int64_t value = -1;
  if (H5Aexists(dset, name) <= 0)
    return -1;
  hid_t attr = H5Aopen(dset, name, H5P_DEFAULT);
  if (attr < 0)
    return -1;
  hid_t space = H5Aget_space(attr);
  if (space < 0 || H5Sget_simple_extent_npoints(space) != 1 ||
      H5Aread(attr, H5T_NATIVE_INT64, &value) < 0)
    value = -1;
  if (space >= 0)
    H5Sclose(space); /* read-only handles: closing them cannot lose anything */
  H5Aclose(attr);
  return value;
}

/* Rank 0: the dataset checked and read into `values`; `header` gets rows, stride, checks. */
static int read_on_root(const char *path, const struct cfg *cfg, int64_t max_rows, double *values,
                        long long header[3]) {
  io_quiet_hdf5();
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  char why[300];
  if (file < 0) {
    snprintf(why, sizeof why, "cannot be read: the file cannot be opened again: %s",
             io_h5_reason());
    return bad_history(cfg, path, why);
  }
  int status = ERR_OK;
  if (H5Lexists(file, "history", H5P_DEFAULT) <= 0) { /* an older file: no history to go on */
    H5Fclose(file);
    return ERR_OK;
  }
  hid_t dset = H5Dopen2(file, "history", H5P_DEFAULT);
  hid_t space = dset >= 0 ? H5Dget_space(dset) : H5I_INVALID_HID;
  hid_t type = dset >= 0 ? H5Dget_type(dset) : H5I_INVALID_HID;
  hsize_t dims[2] = {0, 0};
  int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (rank == 2)
    H5Sget_simple_extent_dims(space, dims, NULL);
  int64_t stride = dset >= 0 ? count_attr(dset, "stride") : -1;
  int64_t checks = dset >= 0 ? count_attr(dset, "checks") : -1;
  bool power_of_two = stride > 0 && (stride & (stride - 1)) == 0;
  why[0] = '\0';
  if (dset < 0 || space < 0 || type < 0)
    snprintf(why, sizeof why, "cannot be read: %s", io_h5_reason());
  else if (H5Tget_class(type) != H5T_FLOAT || rank != 2 || dims[1] != 5 || dims[0] < 1 ||
           dims[0] > (hsize_t)max_rows)
    snprintf(why, sizeof why,
             "is not a float array of 1 to %lld rows of 5 columns (iteration, change, error "
             "estimate, error bound, seconds)",
             (long long)max_rows);
  else if (!power_of_two || checks < (int64_t)dims[0] || checks > (int64_t)dims[0] * stride + 1)
    snprintf(why, sizeof why,
             "has stride %lld and checks %lld for %llu rows: expected a power of two and at "
             "least as many checks as rows",
             (long long)stride, (long long)checks, (unsigned long long)dims[0]);
  else if (H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0)
    snprintf(why, sizeof why, "cannot be read: %s", io_h5_reason());
  if (why[0] != '\0')
    status = bad_history(cfg, path, why);
  else {
    header[0] = (long long)dims[0];
    header[1] = stride;
    header[2] = checks;
  }
  if (type >= 0)
    H5Tclose(type);
  if (space >= 0)
    H5Sclose(space);
  if (dset >= 0)
    H5Dclose(dset);
  H5Fclose(file);
  return status;
}

int io_read_history(const char *path, const struct cfg *cfg, const struct team *team,
                    int64_t max_rows, double *values, int64_t *rows, int64_t *stride,
                    int64_t *checks) {
  long long header[4] = {0, 1, 0, ERR_OK}; /* rows, stride, checks, status */
  if (team->rank == 0)
    header[3] = read_on_root(path, cfg, max_rows, values, header);
  MPI_CHECK(MPI_Bcast(header, 4, MPI_LONG_LONG, 0, team->comm));
  int status = team_agree(team, (int)header[3]);
  if (status != ERR_OK)
    return status;
  if (header[0] > 0)
    MPI_CHECK(MPI_Bcast(values, (int)(header[0] * 5), MPI_DOUBLE, 0, team->comm));
  *rows = header[0];
  *stride = header[1];
  *checks = header[2];
  return ERR_OK;
}
