/* output.c - writing the result and checkpoint files; see output.h.
 *
 * Gather mode: all ranks loop over the same row slabs; in each, every rank packs its points in
 * the canonical order (slab.h) and rank 0 receives them with one MPI_Gatherv, places them with
 * the layout it knows for every rank, adds the boundary ring and writes the slab. Parallel mode
 * (parallel HDF5 only): every rank selects its tiles as a union of hyperslabs and writes them in
 * one collective MPI-IO call. Either way the file is PATH.tmp until it is complete and synced.
 */
#include "output.h"

#include "err.h"
#include "slab.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- names ---------------------------------------------------------------------------------- */

static char *with_suffix(const char *path, const char *old_suffix, const char *new_suffix) {
  size_t n = strlen(path), old = strlen(old_suffix);
  if (n > old && strcmp(path + n - old, old_suffix) == 0)
    n -= old;
  char *out = malloc(n + strlen(new_suffix) + 1);
  if (out != NULL) {
    memcpy(out, path, n);
    strcpy(out + n, new_suffix);
  }
  return out;
}

char *io_checkpoint_path(const char *output_path) {
  return with_suffix(output_path, ".h5", ".ckpt.h5");
}

char *io_xdmf_path(const char *h5_path) { return with_suffix(h5_path, ".h5", ".xmf"); }

static char *tmp_path(const char *path) { return with_suffix(path, "", ".tmp"); }

/* ---- the start-up check --------------------------------------------------------------------- */

/* Why `path` cannot be written, in a static buffer, or NULL if it can. */
static const char *unwritable_reason(const char *path) {
  static char reason[1200];
  struct stat st;
  if (path[0] == '\0')
    return "it is empty";
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return "it is a directory";
  char *copy = strdup(path);
  if (copy == NULL)
    return "out of memory";
  const char *dir = dirname(copy);
  const char *why = NULL;
  if (stat(dir, &st) != 0) {
    snprintf(reason, sizeof reason, "directory \"%s\": %s", dir, strerror(errno));
    why = reason;
  } else if (!S_ISDIR(st.st_mode)) {
    snprintf(reason, sizeof reason, "\"%s\" is not a directory", dir);
    why = reason;
  } else if (access(dir, W_OK | X_OK) != 0) {
    snprintf(reason, sizeof reason, "directory \"%s\" is not writable: %s", dir, strerror(errno));
    why = reason;
  }
  free(copy);
  if (why != NULL)
    return why;
  /* The permission bits do not tell everything (a read-only mount, root): try for real. */
  char *probe = tmp_path(path);
  if (probe == NULL)
    return "out of memory";
  int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd >= 0) {
    close(fd);
    unlink(probe);
  } else if (errno != EEXIST) {
    snprintf(reason, sizeof reason, "cannot create \"%s\": %s", probe, strerror(errno));
    why = reason;
  }
  free(probe);
  return why;
}

static int check_on_root(const struct cfg *cfg) {
#ifndef H5_HAVE_PARALLEL
  if (cfg->output_mode == CFG_OUTPUT_PARALLEL)
    return err_set(ERR_CONFIG,
                   "%s: output.mode \"parallel\" needs a parallel HDF5, and this jacobi was "
                   "built with a serial one; use \"gather\"",
                   cfg_origin(cfg, "output.mode"));
#endif
  char *ckpt = io_checkpoint_path(cfg->output_path);
  if (ckpt == NULL)
    return err_set(ERR_FAILURE, "out of memory");
  const char *paths[2] = {cfg->output_path, ckpt};
  const char *what[2] = {"", "its checkpoint "};
  int status = ERR_OK;
  for (int i = 0; i < 2 && status == ERR_OK; i++) {
    const char *why = unwritable_reason(paths[i]);
    if (why != NULL)
      status = err_set(ERR_CONFIG, "%s: output.path \"%s\" cannot be written: %s%s%s%s",
                       cfg_origin(cfg, "output.path"), cfg->output_path, what[i],
                       i > 0 ? paths[i] : "", i > 0 ? ": " : "", why);
  }
  free(ckpt);
  return status;
}

int io_check_output(const struct cfg *cfg, const struct team *team) {
  int status = team->rank == 0 ? check_on_root(cfg) : ERR_OK;
  MPI_CHECK(MPI_Bcast(&status, 1, MPI_INT, 0, team->comm)); /* everyone's verdict, untagged */
  return team_agree(team, status);
}

/* ---- HDF5 pieces (rank 0, or every rank in parallel mode) ------------------------------------ */

static int h5_fail(const char *path, const char *what) {
  const char *reason = io_h5_reason();
  return err_set(ERR_FAILURE, "writing \"%s\": %s failed%s%s", path, what, reason[0] ? ": " : "",
                 reason);
}

/* Run an HDF5 call that returns a negative value on failure, unless status already failed. */
#define H5_STEP(status, call, path, what)                                                          \
  do {                                                                                             \
    if ((status) == ERR_OK && (call) < 0)                                                          \
      (status) = h5_fail((path), (what));                                                          \
  } while (0)

static int write_attr(hid_t loc, const char *path, const char *name, hid_t file_type,
                      hid_t mem_type, const void *value) {
  int status = ERR_OK;
  hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
  H5_STEP(status, space = H5Screate(H5S_SCALAR), path, name);
  H5_STEP(status, attr = H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT), path,
          name);
  H5_STEP(status, H5Awrite(attr, mem_type, value), path, name);
  if (attr >= 0 && H5Aclose(attr) < 0 && status == ERR_OK)
    status = h5_fail(path, name);
  if (space >= 0 && H5Sclose(space) < 0 && status == ERR_OK)
    status = h5_fail(path, name);
  return status;
}

static int write_string_attr(hid_t loc, const char *path, const char *name, const char *value) {
  int status = ERR_OK;
  hid_t type = H5I_INVALID_HID;
  H5_STEP(status, type = H5Tcopy(H5T_C_S1), path, name);
  H5_STEP(status, H5Tset_size(type, strlen(value) + 1), path, name);
  H5_STEP(status, H5Tset_strpad(type, H5T_STR_NULLTERM), path, name);
  if (status == ERR_OK)
    status = write_attr(loc, path, name, type, type, value);
  if (type >= 0 && H5Tclose(type) < 0 && status == ERR_OK)
    status = h5_fail(path, name);
  return status;
}

/* The resolved configuration as cfg_print prints it; caller frees. */
static char *config_text(const struct cfg *cfg) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (out == NULL)
    return NULL;
  cfg_print(cfg, out);
  if (fclose(out) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

static int write_attrs(hid_t file, const char *path, const struct cfg *cfg, int ranks,
                       const struct io_state *state) {
  int64_t iterations = state->iterations, nx = cfg->nx, ny = cfg->ny;
  int converged = state->converged, nranks = ranks;
  char *text = config_text(cfg);
  if (text == NULL)
    return err_set(ERR_FAILURE, "writing \"%s\": out of memory for the config text", path);
  int status = ERR_OK;
  if (status == ERR_OK)
    status = write_attr(file, path, "iterations", H5T_STD_I64LE, H5T_NATIVE_INT64, &iterations);
  if (status == ERR_OK)
    status =
        write_attr(file, path, "residual", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &state->residual);
  if (status == ERR_OK)
    status = write_attr(file, path, "converged", H5T_STD_I32LE, H5T_NATIVE_INT, &converged);
  if (status == ERR_OK)
    status =
        write_attr(file, path, "tolerance", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &cfg->tolerance);
  if (status == ERR_OK)
    status = write_attr(file, path, "nx", H5T_STD_I64LE, H5T_NATIVE_INT64, &nx);
  if (status == ERR_OK)
    status = write_attr(file, path, "ny", H5T_STD_I64LE, H5T_NATIVE_INT64, &ny);
  if (status == ERR_OK)
    status = write_string_attr(file, path, "partitioner", cfg_partitioner_name(cfg->partitioner));
  if (status == ERR_OK)
    status = write_attr(file, path, "ranks", H5T_STD_I32LE, H5T_NATIVE_INT, &nranks);
  if (status == ERR_OK)
    status = write_string_attr(file, path, "version", JACOBI_VERSION);
  if (status == ERR_OK)
    status = write_string_attr(file, path, "config", text);
  if (status == ERR_OK)
    status = write_string_attr(file, path, "method", cfg_method_name(cfg->method));
  if (status == ERR_OK && state->chebyshev_start >= 0)
    status = write_attr(file, path, "chebyshev_start", H5T_STD_I64LE, H5T_NATIVE_INT64,
                        &state->chebyshev_start);
  if (status == ERR_OK)
    status = write_attr(file, path, "error_estimate", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                        &state->error_estimate);
  if (status == ERR_OK)
    status = write_attr(file, path, "error_bound", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                        &state->error_bound);
  if (status == ERR_OK)
    status =
        write_attr(file, path, "target_error", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &cfg->target_error);
  free(text);
  return status;
}

/* Create dataset `name` of the grid's shape, chunked in whole slab rows. */
static hid_t create_dataset(hid_t file, const char *path, const char *name, hid_t type,
                            const struct io_slabs *s, int *status) {
  hsize_t dims[2] = {(hsize_t)s->rows, (hsize_t)s->cols};
  hsize_t chunk[2] = {(hsize_t)s->chunk_rows, (hsize_t)s->chunk_cols};
  hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;
  H5_STEP(*status, space = H5Screate_simple(2, dims, NULL), path, name);
  H5_STEP(*status, dcpl = H5Pcreate(H5P_DATASET_CREATE), path, name);
  H5_STEP(*status, H5Pset_chunk(dcpl, 2, chunk), path, name);
  /* Every point is written: no fill pass (parallel HDF5 also requires it off for speed). */
  H5_STEP(*status, H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), path, name);
  H5_STEP(*status, H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), path, name);
  H5_STEP(*status, dset = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), path,
          name);
  if (dcpl >= 0 && H5Pclose(dcpl) < 0 && *status == ERR_OK)
    *status = h5_fail(path, name);
  if (space >= 0 && H5Sclose(space) < 0 && *status == ERR_OK)
    *status = h5_fail(path, name);
  if (*status != ERR_OK && dset >= 0) {
    (void)H5Dclose(dset); /* already failing: the first message is the one to keep */
    dset = H5I_INVALID_HID;
  }
  return dset; /* the caller owns it, as from H5Dcreate2 */
}

/* Write rows [r0, r0 + nrows) of a dataset from a (nrows x cols) buffer. */
static int write_rows(hid_t dset, hid_t mem_type, const char *path, const struct io_slabs *s,
                      int64_t r0, int64_t nrows, const void *buf) {
  hsize_t start[2] = {(hsize_t)r0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)s->cols};
  int status = ERR_OK;
  hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
  H5_STEP(status, fspace = H5Dget_space(dset), path, "H5Dget_space");
  H5_STEP(status, H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL), path,
          "selecting a slab");
  H5_STEP(status, mspace = H5Screate_simple(2, count, NULL), path, "H5Screate_simple");
  H5_STEP(status, H5Dwrite(dset, mem_type, mspace, fspace, H5P_DEFAULT, buf), path,
          "writing a slab (H5Dwrite)");
  if (mspace >= 0 && H5Sclose(mspace) < 0 && status == ERR_OK)
    status = h5_fail(path, "H5Sclose");
  if (fspace >= 0 && H5Sclose(fspace) < 0 && status == ERR_OK)
    status = h5_fail(path, "H5Sclose");
  return status;
}

/* The boundary ring's part of grid rows [r0, r1) in a (rows x cols) slab: the top and bottom
 * rows whole (corners included), the left and right columns of the others. */
static void fill_ring(double *slab, const struct io_slabs *s, int64_t r0, int64_t r1,
                      const struct field_boundary *b) {
  for (int64_t r = r0; r < r1; r++) {
    double *row = slab + (r - r0) * s->cols;
    if (r == 0 || r == s->rows - 1) {
      double v = b->side[r == 0 ? DECOMP_NORTH : DECOMP_SOUTH];
      for (int64_t c = 0; c < s->cols; c++)
        row[c] = v;
    } else {
      row[0] = b->side[DECOMP_WEST];
      row[s->cols - 1] = b->side[DECOMP_EAST];
    }
  }
}

/* JACOBI_FAULT: "kill-during-write" or "fail-during-write", for the atomicity tests. */
static int inject_fault(hid_t file, const char *path) {
  const char *fault = getenv("JACOBI_FAULT");
  if (fault == NULL)
    return ERR_OK;
  if (strcmp(fault, "kill-during-write") == 0) {
    /* Part of the file really is on disk; whether the flush worked matters not: we die. */
    (void)H5Fflush(file, H5F_SCOPE_GLOBAL);
    raise(SIGKILL);
  }
  if (strcmp(fault, "fail-during-write") == 0)
    return err_set(ERR_FAILURE, "writing \"%s\": injected failure (JACOBI_FAULT)", path);
  return ERR_OK;
}

/* ---- gather mode ------------------------------------------------------------------------------
 */

struct pack_ctx {
  const struct field *f;
  int buf;     /* the buffer written: the current iterate, or (/previous) the one before */
  double *out; /* next free place */
};

static void pack_segment(const struct io_segment *seg, void *ctx) {
  struct pack_ctx *p = ctx;
  const double *row = field_interior(p->f, p->buf, seg->tile) +
                      (seg->gi - seg->row0) * field_stride(p->f, seg->tile);
  memcpy(p->out, row, (size_t)seg->ncols * sizeof *row);
  p->out += seg->ncols;
}

struct place_ctx {
  double *slab;
  const double *in; /* next value to place */
  int64_t r0, cols;
};

static void place_segment(const struct io_segment *seg, void *ctx) {
  struct place_ctx *p = ctx;
  double *dst = p->slab + (seg->gi + 1 - p->r0) * p->cols + seg->col0 + 1;
  memcpy(dst, p->in, (size_t)seg->ncols * sizeof *dst);
  p->in += seg->ncols;
}

struct owner_ctx {
  int32_t *slab;
  int32_t rank;
  int64_t r0, cols;
};

static void own_segment(const struct io_segment *seg, void *ctx) {
  struct owner_ctx *p = ctx;
  int32_t *dst = p->slab + (seg->gi + 1 - p->r0) * p->cols + seg->col0 + 1;
  for (int64_t j = 0; j < seg->ncols; j++)
    dst[j] = p->rank;
}

/* Interior rows [*g0, *g1) of grid rows [r0, r1). */
static void interior_rows(const struct io_slabs *s, int64_t r0, int64_t r1, int64_t *g0,
                          int64_t *g1) {
  *g0 = r0 > 1 ? r0 - 1 : 0;
  *g1 = r1 - 1 < s->rows - 2 ? r1 - 1 : s->rows - 2;
  if (*g1 < *g0)
    *g1 = *g0;
}

/* Rank 0's part of one slab: receive, place, write. `status` is rank 0's so far: after a
 * failure it keeps receiving, so that the other ranks are never left waiting. */
static int gather_slab(const struct field *f, int buf, const struct team *team,
                       const struct io_slabs *s, int64_t r0, int64_t r1, double *slab, double *recv,
                       int *counts, int *displs, double *send, hid_t dset, const char *path,
                       const struct field_boundary *b, int status) {
  const struct decomp_layout *l = f->layout;
  int64_t g0, g1;
  interior_rows(s, r0, r1, &g0, &g1);
  struct pack_ctx pack = {.f = f, .buf = buf, .out = send};
  int64_t mine = io_segments(l, team->rank, g0, g1, IO_CANONICAL, pack_segment, &pack);
  if (team->rank == 0) {
    int64_t total = 0;
    for (int r = 0; r < team->size; r++) {
      counts[r] = (int)io_segments(l, r, g0, g1, IO_CANONICAL, NULL, NULL);
      displs[r] = (int)total;
      total += counts[r];
    }
  }
  MPI_CHECK(
      MPI_Gatherv(send, (int)mine, MPI_DOUBLE, recv, counts, displs, MPI_DOUBLE, 0, team->comm));
  if (team->rank != 0 || status != ERR_OK)
    return status;
  for (int r = 0; r < team->size; r++) {
    struct place_ctx place = {.slab = slab, .in = recv + displs[r], .r0 = r0, .cols = s->cols};
    io_segments(l, r, g0, g1, IO_CANONICAL, place_segment, &place);
  }
  fill_ring(slab, s, r0, r1, b);
  return write_rows(dset, H5T_NATIVE_DOUBLE, path, s, r0, r1 - r0, slab);
}

/* Rank 0 computes the owner map from the layout alone: no communication. */
static int write_owner_map(hid_t file, const char *path, const struct decomp_layout *l,
                           const struct io_slabs *s) {
  int status = ERR_OK;
  int32_t *slab = malloc((size_t)(s->slab_rows * s->cols) * sizeof *slab);
  if (slab == NULL)
    return err_set(ERR_FAILURE, "writing \"%s\": out of memory for an owner slab", path);
  hid_t dset = create_dataset(file, path, "/owner", H5T_STD_I32LE, s, &status);
  for (int64_t r0 = 0; r0 < s->rows && status == ERR_OK; r0 += s->slab_rows) {
    int64_t r1 = r0 + s->slab_rows < s->rows ? r0 + s->slab_rows : s->rows, g0, g1;
    for (int64_t i = 0; i < (r1 - r0) * s->cols; i++)
      slab[i] = -1;
    interior_rows(s, r0, r1, &g0, &g1);
    for (int r = 0; r < l->nranks; r++) {
      struct owner_ctx own = {.slab = slab, .rank = r, .r0 = r0, .cols = s->cols};
      io_segments(l, r, g0, g1, IO_CANONICAL, own_segment, &own);
    }
    status = write_rows(dset, H5T_NATIVE_INT32, path, s, r0, r1 - r0, slab);
  }
  if (dset >= 0 && H5Dclose(dset) < 0 && status == ERR_OK)
    status = h5_fail(path, "closing /owner");
  free(slab);
  return status;
}

/* Rank 0's side of the gathered write: owns the HDF5 file. */
/* The datasets a file holds, each from one buffer of the field: /temperature from the current
 * iterate and, for a Chebyshev state (io_state.previous), /previous from the one before. */
static int datasets(const struct field *f, const struct io_state *state, const char *names[2],
                    int bufs[2]) {
  names[0] = "/temperature";
  bufs[0] = f->current;
  names[1] = "/previous";
  bufs[1] = 1 - f->current;
  return state->previous ? 2 : 1;
}

/* Rank 0's side of the gathered write: owns the HDF5 file. */
static int gather_on_root(const char *tmp, const struct field *f, const struct field_boundary *b,
                          const struct cfg *cfg, const struct team *team,
                          const struct io_state *state, const struct io_slabs *s, double *send) {
  int status = ERR_OK;
  double *slab = malloc((size_t)(s->slab_rows * s->cols) * sizeof *slab);
  double *recv = malloc((size_t)(s->slab_rows * s->cols) * sizeof *recv);
  int *counts = malloc((size_t)team->size * sizeof *counts);
  int *displs = malloc((size_t)team->size * sizeof *displs);
  if (slab == NULL || recv == NULL || counts == NULL || displs == NULL)
    status = err_set(ERR_FAILURE, "writing \"%s\": out of memory for a slab", tmp);
  hid_t file = H5I_INVALID_HID;
  H5_STEP(status, file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), tmp,
          "creating the file (H5Fcreate)");
  const char *names[2];
  int bufs[2], ndatasets = datasets(f, state, names, bufs);
  for (int d = 0; d < ndatasets; d++) {
    hid_t dset = H5I_INVALID_HID;
    if (status == ERR_OK)
      dset = create_dataset(file, tmp, names[d], H5T_IEEE_F64LE, s, &status);
    int go = status == ERR_OK;
    MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, team->comm));
    for (int64_t r0 = 0; go && r0 < s->rows; r0 += s->slab_rows) {
      int64_t r1 = r0 + s->slab_rows < s->rows ? r0 + s->slab_rows : s->rows;
      status = gather_slab(f, bufs[d], team, s, r0, r1, slab, recv, counts, displs, send, dset,
                           tmp, b, status);
      if (r0 == 0 && d == 0 && status == ERR_OK)
        status = inject_fault(file, tmp);
    }
    if (dset >= 0 && H5Dclose(dset) < 0 && status == ERR_OK)
      status = h5_fail(tmp, "closing a dataset");
  }
  if (status == ERR_OK && cfg->owner_map)
    status = write_owner_map(file, tmp, f->layout, s);
  if (status == ERR_OK)
    status = write_attrs(file, tmp, cfg, team->size, state);
  if (file >= 0 && H5Fclose(file) < 0 && status == ERR_OK)
    status = h5_fail(tmp, "closing the file (H5Fclose)");
  free(displs);
  free(counts);
  free(recv);
  free(slab);
  return status;
}

static int gather_elsewhere(const struct field *f, const struct team *team,
                            const struct io_state *state, const struct io_slabs *s, double *send) {
  const char *names[2];
  int bufs[2], ndatasets = datasets(f, state, names, bufs);
  int status = ERR_OK;
  for (int d = 0; d < ndatasets; d++) {
    int go = 0;
    MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, team->comm));
    for (int64_t r0 = 0; go && r0 < s->rows && status == ERR_OK; r0 += s->slab_rows) {
      int64_t r1 = r0 + s->slab_rows < s->rows ? r0 + s->slab_rows : s->rows;
      status = gather_slab(f, bufs[d], team, s, r0, r1, NULL, NULL, NULL, NULL, send, -1, NULL,
                           NULL, ERR_OK);
    }
  }
  return status;
}

static int write_gathered(const char *tmp, const struct field *f, const struct field_boundary *b,
                          const struct cfg *cfg, const struct team *team,
                          const struct io_state *state, const struct io_slabs *s) {
  /* A rank's points in one slab are at most the slab's interior. */
  double *send = malloc((size_t)(s->slab_rows * s->cols) * sizeof *send);
  if (send == NULL)
    team_abort(team, err_set(ERR_FAILURE, "out of memory for an output slab"));
  int status = team->rank == 0 ? gather_on_root(tmp, f, b, cfg, team, state, s, send)
                               : gather_elsewhere(f, team, state, s, send);
  free(send);
  return status;
}

/* ---- parallel mode ----------------------------------------------------------------------------
 */

#ifdef H5_HAVE_PARALLEL
struct select_ctx {
  hid_t space;
  int status;
};

static void select_segment(const struct io_segment *seg, void *ctx) {
  struct select_ctx *p = ctx;
  hsize_t start[2] = {(hsize_t)seg->gi + 1, (hsize_t)seg->col0 + 1},
          count[2] = {1, (hsize_t)seg->ncols};
  if (p->status == 0 && H5Sselect_hyperslab(p->space, H5S_SELECT_OR, start, NULL, count, NULL) < 0)
    p->status = -1;
}

/* Write this rank's selection of `dset`: its tiles (in row-major order, as HDF5 walks a union
 * of hyperslabs) or, with ring set, the boundary ring (rank 0 only). Collective. */
static int write_selection(hid_t dset, hid_t mem_type, const char *path, const struct io_slabs *s,
                           const struct decomp_layout *l, int rank, bool ring, const void *buf,
                           int64_t count) {
  int status = ERR_OK;
  hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
  hsize_t mdims[1] = {(hsize_t)(count > 0 ? count : 1)};
  H5_STEP(status, fspace = H5Dget_space(dset), path, "H5Dget_space");
  H5_STEP(status, H5Sselect_none(fspace), path, "H5Sselect_none");
  if (ring && count > 0) {
    hsize_t rows[2][2] = {{0, 0}, {(hsize_t)s->rows - 1, 0}}, row_count[2] = {1, (hsize_t)s->cols};
    hsize_t cols[2][2] = {{1, 0}, {1, (hsize_t)s->cols - 1}},
            col_count[2] = {(hsize_t)s->rows - 2, 1};
    for (int k = 0; k < 2; k++) {
      H5_STEP(status, H5Sselect_hyperslab(fspace, H5S_SELECT_OR, rows[k], NULL, row_count, NULL),
              path, "selecting the ring");
      if (s->rows > 2)
        H5_STEP(status, H5Sselect_hyperslab(fspace, H5S_SELECT_OR, cols[k], NULL, col_count, NULL),
                path, "selecting the ring");
    }
  } else if (!ring && status == ERR_OK) {
    struct select_ctx sel = {.space = fspace};
    io_segments(l, rank, 0, s->rows - 2, IO_ROW_MAJOR, select_segment, &sel);
    if (sel.status != 0)
      status = h5_fail(path, "selecting the tiles");
  }
  H5_STEP(status, mspace = H5Screate_simple(1, mdims, NULL), path, "H5Screate_simple");
  if (count == 0)
    H5_STEP(status, H5Sselect_none(mspace), path, "H5Sselect_none");
  H5_STEP(status, dxpl = H5Pcreate(H5P_DATASET_XFER), path, "H5Pcreate");
  H5_STEP(status, H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE), path, "H5Pset_dxpl_mpio");
  /* A rank that failed above must still join the collective write: it writes nothing. */
  if (status != ERR_OK && fspace >= 0 && mspace >= 0 && dxpl >= 0) {
    (void)H5Sselect_none(fspace);
    (void)H5Sselect_none(mspace);
  }
  if (fspace >= 0 && mspace >= 0 && dxpl >= 0 &&
      H5Dwrite(dset, mem_type, mspace, fspace, dxpl, buf) < 0 && status == ERR_OK)
    status = h5_fail(path, "the collective write (H5Dwrite)");
  if (dxpl >= 0 && H5Pclose(dxpl) < 0 && status == ERR_OK)
    status = h5_fail(path, "H5Pclose");
  if (mspace >= 0 && H5Sclose(mspace) < 0 && status == ERR_OK)
    status = h5_fail(path, "H5Sclose");
  if (fspace >= 0 && H5Sclose(fspace) < 0 && status == ERR_OK)
    status = h5_fail(path, "H5Sclose");
  return status;
}

struct pack_rm_ctx {
  const struct field *f;
  int buf;
  double *out;
  int32_t *owner;
  int32_t rank;
};

static void pack_row_major(const struct io_segment *seg, void *ctx) {
  struct pack_rm_ctx *p = ctx;
  pack_segment(seg, &(struct pack_ctx){.f = p->f, .buf = p->buf, .out = p->out});
  p->out += seg->ncols;
  for (int64_t j = 0; j < seg->ncols; j++)
    *p->owner++ = p->rank;
}

/* The ring in row-major order: top row, then left and right of each interior row, bottom. */
static void pack_ring(double *ring, int32_t *owner, const struct io_slabs *s,
                      const struct field_boundary *b) {
  int64_t n = 0;
  for (int64_t c = 0; c < s->cols; c++)
    ring[n++] = b->side[DECOMP_NORTH];
  for (int64_t r = 1; r < s->rows - 1; r++) {
    ring[n++] = b->side[DECOMP_WEST];
    ring[n++] = b->side[DECOMP_EAST];
  }
  for (int64_t c = 0; c < s->cols; c++)
    ring[n++] = b->side[DECOMP_SOUTH];
  for (int64_t i = 0; i < n; i++)
    owner[i] = -1;
}

/* Whether every rank's status is ERR_OK. Prints nothing: each rank keeps its own status, and
 * the caller's team_agree reports the failing rank's message, once. Collective. */
static bool all_succeeded(const struct team *team, int status) {
  int failed = status != ERR_OK, any = 1;
  if (MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, team->comm) != MPI_SUCCESS)
    team_abort(team, team_mpi_error(MPI_ERR_OTHER, "MPI_Allreduce (parallel output)"));
  return any == 0;
}

static int write_parallel(const char *tmp, const struct field *f, const struct field_boundary *b,
                          const struct cfg *cfg, const struct team *team,
                          const struct io_state *state, const struct io_slabs *s) {
  const struct decomp_layout *l = f->layout;
  int64_t mine = io_segments(l, team->rank, 0, s->rows - 2, IO_ROW_MAJOR, NULL, NULL);
  int64_t ring_points = team->rank == 0 ? 2 * s->cols + 2 * (s->rows - 2) : 0;
  int64_t n = mine > ring_points ? mine : ring_points;
  double *values = malloc((size_t)(n > 0 ? n : 1) * sizeof *values);
  int32_t *owner = malloc((size_t)(n > 0 ? n : 1) * sizeof *owner);
  if (values == NULL || owner == NULL)
    team_abort(team, err_set(ERR_FAILURE, "out of memory for the parallel output"));

  int status = ERR_OK;
  hid_t fapl = H5I_INVALID_HID, file = H5I_INVALID_HID, dset = H5I_INVALID_HID,
        odset = H5I_INVALID_HID, pdset = H5I_INVALID_HID;
  H5_STEP(status, fapl = H5Pcreate(H5P_FILE_ACCESS), tmp, "H5Pcreate");
  H5_STEP(status, H5Pset_fapl_mpio(fapl, team->comm, MPI_INFO_NULL), tmp, "H5Pset_fapl_mpio");
  /* Local steps so far: a rank that failed one must not leave the others in the collective
   * H5Fcreate. Only the failing rank keeps its status, so the caller reports it once. */
  if (all_succeeded(team, status))
    H5_STEP(status, file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl), tmp,
            "creating the file (H5Fcreate, MPI-IO)");
  if (status == ERR_OK)
    dset = create_dataset(file, tmp, "/temperature", H5T_IEEE_F64LE, s, &status);
  if (status == ERR_OK && cfg->owner_map)
    odset = create_dataset(file, tmp, "/owner", H5T_STD_I32LE, s, &status);
  if (status == ERR_OK && state->previous)
    pdset = create_dataset(file, tmp, "/previous", H5T_IEEE_F64LE, s, &status);
  /* The writes are collective: all ranks go on, or none. What follows is agreed by the caller. */
  if (all_succeeded(team, status)) {
    struct pack_rm_ctx pack = {
        .f = f, .buf = f->current, .out = values, .owner = owner, .rank = team->rank};
    io_segments(l, team->rank, 0, s->rows - 2, IO_ROW_MAJOR, pack_row_major, &pack);
    status = write_selection(dset, H5T_NATIVE_DOUBLE, tmp, s, l, team->rank, false, values, mine);
    int st = ERR_OK;
    if (odset >= 0)
      st = write_selection(odset, H5T_NATIVE_INT32, tmp, s, l, team->rank, false, owner, mine);
    status = status != ERR_OK ? status : st;
    if (team->rank == 0)
      pack_ring(values, owner, s, b);
    st = write_selection(dset, H5T_NATIVE_DOUBLE, tmp, s, l, team->rank, true, values, ring_points);
    status = status != ERR_OK ? status : st;
    if (odset >= 0) {
      st =
          write_selection(odset, H5T_NATIVE_INT32, tmp, s, l, team->rank, true, owner, ring_points);
      status = status != ERR_OK ? status : st;
    }
    if (pdset >= 0) { /* the iterate before, from the other buffer */
      pack = (struct pack_rm_ctx){
          .f = f, .buf = 1 - f->current, .out = values, .owner = owner, .rank = team->rank};
      io_segments(l, team->rank, 0, s->rows - 2, IO_ROW_MAJOR, pack_row_major, &pack);
      st = write_selection(pdset, H5T_NATIVE_DOUBLE, tmp, s, l, team->rank, false, values, mine);
      status = status != ERR_OK ? status : st;
      if (team->rank == 0)
        pack_ring(values, owner, s, b);
      st = write_selection(pdset, H5T_NATIVE_DOUBLE, tmp, s, l, team->rank, true, values,
                           ring_points);
      status = status != ERR_OK ? status : st;
    }
    /* Attribute writes are collective metadata operations: every rank writes the same. */
    st = write_attrs(file, tmp, cfg, team->size, state);
    status = status != ERR_OK ? status : st;
  }
  if (pdset >= 0 && H5Dclose(pdset) < 0 && status == ERR_OK)
    status = h5_fail(tmp, "closing /previous");
  if (odset >= 0 && H5Dclose(odset) < 0 && status == ERR_OK)
    status = h5_fail(tmp, "closing /owner");
  if (dset >= 0 && H5Dclose(dset) < 0 && status == ERR_OK)
    status = h5_fail(tmp, "closing /temperature");
  if (file >= 0 && H5Fclose(file) < 0 && status == ERR_OK)
    status = h5_fail(tmp, "closing the file (H5Fclose)");
  if (fapl >= 0 && H5Pclose(fapl) < 0 && status == ERR_OK)
    status = h5_fail(tmp, "H5Pclose");
  free(owner);
  free(values);
  return status;
}
#endif

/* ---- the XDMF sidecar and the atomic commit -------------------------------------------------- */

static int sync_path(const char *path, bool directory) {
  int fd = open(path, directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0)
    return err_errno(ERR_FAILURE, "opening \"%s\" to sync it", path);
  /* Some file systems cannot fsync a directory (EINVAL): the rename is then as durable as
   * they make it. */
  if (fsync(fd) != 0 && !(directory && errno == EINVAL)) {
    int saved = errno;
    close(fd);
    errno = saved;
    return err_errno(ERR_FAILURE, "syncing \"%s\"", path);
  }
  if (close(fd) != 0)
    return err_errno(ERR_FAILURE, "closing \"%s\"", path);
  return ERR_OK;
}

/* Make tmp durable, then give it the final name; sync the directory so the rename is too. */
static int commit(const char *tmp, const char *path) {
  CHECK(sync_path(tmp, false));
  if (rename(tmp, path) != 0)
    return err_errno(ERR_FAILURE, "renaming \"%s\" to \"%s\"", tmp, path);
  char *copy = strdup(path);
  if (copy == NULL)
    return err_set(ERR_FAILURE, "out of memory");
  int status = sync_path(dirname(copy), true);
  free(copy);
  return status;
}

static void write_xdmf_text(FILE *out, const char *h5_name, const struct cfg *cfg,
                            const struct io_state *state) {
  long long rows = cfg->ny + 2, cols = cfg->nx + 2;
  fprintf(out,
          "<?xml version=\"1.0\" ?>\n"
          "<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
          "<!-- jacobi %s: the temperature of an (ny + 2) x (nx + 2) grid, boundary ring "
          "included, row 0 the top edge (at y = 0); unit spacing; z is a single layer so that "
          "viewers show it in the x-y plane. -->\n"
          "<Xdmf Version=\"2.0\">\n"
          "  <Domain>\n"
          "    <Grid Name=\"plate\" GridType=\"Uniform\">\n"
          "      <Time Value=\"%lld\"/>\n"
          "      <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"1 %lld %lld\"/>\n"
          "      <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n"
          "        <DataItem Format=\"XML\" NumberType=\"Float\" Precision=\"8\" "
          "Dimensions=\"3\">0 0 0</DataItem>\n"
          "        <DataItem Format=\"XML\" NumberType=\"Float\" Precision=\"8\" "
          "Dimensions=\"3\">1 1 1</DataItem>\n"
          "      </Geometry>\n"
          "      <Information Name=\"iterations\" Value=\"%lld\"/>\n"
          "      <Information Name=\"method\" Value=\"%s\"/>\n"
          "      <Information Name=\"error_estimate\" Value=\"%.17g\"/>\n"
          "      <Information Name=\"error_bound\" Value=\"%.17g\"/>\n"
          "      <Attribute Name=\"temperature\" AttributeType=\"Scalar\" Center=\"Node\">\n"
          "        <DataItem Format=\"HDF\" NumberType=\"Float\" Precision=\"8\" "
          "Dimensions=\"1 %lld %lld\">%s:/temperature</DataItem>\n"
          "      </Attribute>\n",
          JACOBI_VERSION, (long long)state->iterations, rows, cols, (long long)state->iterations,
          cfg_method_name(cfg->method), state->error_estimate, state->error_bound, rows, cols,
          h5_name);
  if (cfg->owner_map)
    fprintf(out,
            "      <Attribute Name=\"owner\" AttributeType=\"Scalar\" Center=\"Node\">\n"
            "        <DataItem Format=\"HDF\" NumberType=\"Int\" Precision=\"4\" "
            "Dimensions=\"1 %lld %lld\">%s:/owner</DataItem>\n"
            "      </Attribute>\n",
            rows, cols, h5_name);
  fprintf(out, "    </Grid>\n  </Domain>\n</Xdmf>\n");
}

/* Write the sidecar of h5_path (which references it by its base name: relative, so that the
 * pair can be moved together) to its .tmp, then commit it. */
static int write_xdmf(const char *h5_path, const struct cfg *cfg, const struct io_state *state) {
  char *xmf = io_xdmf_path(h5_path), *tmp = xmf != NULL ? tmp_path(xmf) : NULL;
  char *copy = strdup(h5_path);
  int status = ERR_OK;
  if (xmf == NULL || tmp == NULL || copy == NULL)
    status = err_set(ERR_FAILURE, "out of memory");
  FILE *out = status == ERR_OK ? fopen(tmp, "w") : NULL;
  if (status == ERR_OK && out == NULL)
    status = err_errno(ERR_FAILURE, "creating \"%s\"", tmp);
  if (out != NULL) {
    write_xdmf_text(out, basename(copy), cfg, state);
    if (fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0)
      status = err_errno(ERR_FAILURE, "writing \"%s\"", tmp);
    if (fclose(out) != 0 && status == ERR_OK)
      status = err_errno(ERR_FAILURE, "closing \"%s\"", tmp);
  }
  if (status == ERR_OK)
    status = commit(tmp, xmf);
  if (status != ERR_OK && tmp != NULL)
    unlink(tmp);
  free(copy);
  free(tmp);
  free(xmf);
  return status;
}

/* Rank 0 writes the file, but its verdict is everyone's: the others adopt its status, so that
 * team_agree prints its message untagged, as the run's outcome rather than one rank's. */
static int adopt_root(const struct team *team, int status) {
  int root_status = status;
  if (MPI_Bcast(&root_status, 1, MPI_INT, 0, team->comm) != MPI_SUCCESS)
    return team_mpi_error(MPI_ERR_OTHER, "MPI_Bcast (output status)");
  return status != ERR_OK ? status : root_status;
}

int io_write(const char *path, const struct field *field, const struct field_boundary *boundary,
             const struct cfg *cfg, const struct team *team, const struct io_state *state) {
  io_quiet_hdf5();
  struct io_slabs s;
  io_slabs_init(&s, field->layout->nx, field->layout->ny, io_slab_bytes());
  char *tmp = tmp_path(path);
  if (tmp == NULL)
    team_abort(team, err_set(ERR_FAILURE, "out of memory"));
  int status;
#ifdef H5_HAVE_PARALLEL
  if (cfg->output_mode == CFG_OUTPUT_PARALLEL)
    status = write_parallel(tmp, field, boundary, cfg, team, state, &s);
  else
#endif
    status = write_gathered(tmp, field, boundary, cfg, team, state, &s);
  /* Each agreement prints the failure it finds, so a failed write is not agreed on twice. */
  status = team_agree(team, adopt_root(team, status));
  if (status == ERR_OK) {
    if (team->rank == 0) {
      status = commit(tmp, path);
      if (status == ERR_OK)
        status = write_xdmf(path, cfg, state);
    }
    status = team_agree(team, adopt_root(team, status));
  }
  if (team->rank == 0 && status != ERR_OK)
    unlink(tmp); /* never leave a partial file behind; PATH itself is untouched */
  free(tmp);
  return status;
}
