/* slab.c - row slabs, segment order and HDF5 error text; see slab.h. */
#include "io/slab.h"

#include "io/output.h"
#include "runtime/team.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int64_t slab_bytes_set = 0;

void io_set_slab_bytes(int64_t bytes) { slab_bytes_set = bytes > 0 ? bytes : 0; }

int64_t io_slab_bytes(void) { return slab_bytes_set > 0 ? slab_bytes_set : IO_SLAB_BYTES; }

static void slabs_init(struct io_slabs *s, int64_t rows, int64_t cols, int64_t slab_bytes) {
  s->rows = rows;
  s->cols = cols;
  /* A chunk is at most 2^20 columns wide: HDF5 limits a chunk to 4 GiB. */
  s->chunk_cols = s->cols < ((int64_t)1 << 20) ? s->cols : ((int64_t)1 << 20);
  int64_t fit = slab_bytes / (8 * s->cols); /* whole rows in one slab */
  if (fit < 1)
    fit = 1; /* a single row over the budget: one row is the least we can move */
  s->chunk_rows = fit < 64 ? fit : 64;
  if (s->chunk_rows > s->rows)
    s->chunk_rows = s->rows;
  s->slab_rows = fit / s->chunk_rows * s->chunk_rows;
  if (s->slab_rows > s->rows)
    s->slab_rows = s->rows;
}

void io_slabs_init(struct io_slabs *s, int64_t nx, int64_t ny, int64_t slab_bytes) {
  slabs_init(s, ny + 2, nx + 2, slab_bytes);
}

void io_slabs_init_interior(struct io_slabs *s, int64_t nx, int64_t ny, int64_t slab_bytes) {
  slabs_init(s, ny, nx, slab_bytes);
}

int64_t io_segments(const struct decomp_layout *l, int rank, int64_t g0, int64_t g1,
                    enum io_order order, io_segment_fn *fn, void *ctx) {
  int pr = rank / l->pcols, pc = rank % l->pcols;
  int64_t nrowruns = decomp_dist_nruns(&l->rows, pr), ncolruns = decomp_dist_nruns(&l->cols, pc);
  int64_t points = 0;
  for (int64_t kr = 0; kr < nrowruns; kr++) {
    struct decomp_run rows = decomp_dist_run(&l->rows, pr, kr);
    if (rows.start >= g1)
      break; /* runs come in increasing order */
    int64_t lo = rows.start > g0 ? rows.start : g0;
    int64_t hi = rows.start + rows.len < g1 ? rows.start + rows.len : g1;
    if (lo >= hi)
      continue;
    /* Canonical: tile by tile, each tile's rows. Row-major: row by row, each tile's part. */
    int64_t nouter = order == IO_CANONICAL ? ncolruns : hi - lo;
    int64_t ninner = order == IO_CANONICAL ? hi - lo : ncolruns;
    for (int64_t a = 0; a < nouter; a++)
      for (int64_t b = 0; b < ninner; b++) {
        int64_t kc = order == IO_CANONICAL ? a : b, gi = lo + (order == IO_CANONICAL ? b : a);
        struct decomp_run cols = decomp_dist_run(&l->cols, pc, kc);
        struct io_segment seg = {.tile = kr * ncolruns + kc,
                                 .gi = gi,
                                 .row0 = rows.start,
                                 .col0 = cols.start,
                                 .ncols = cols.len};
        if (fn != NULL)
          fn(&seg, ctx);
        points += cols.len;
      }
  }
  return points;
}

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
  (void)n;
  /* walking downward: the last entry visited with a text is the innermost that says anything;
   * not the plugin loader's, below "required filter 'lzf' is not registered" ("can't open
   * directory: .../plugins": where it looked for the filter, not what is wrong) */
  if (e->desc != NULL && e->desc[0] != '\0' && e->maj_num != H5E_PLUGIN)
    snprintf((char *)data, 512, "%s", e->desc);
  return 0;
}

/* HDF5's text for a failed system call spans lines and lists the call's arguments ("file write
 * failed: time = ...\n, filename = ..., errno = 28, error message = 'No space left on device',
 * buf = ..."): keep its head and the system's message, on one line. */
static void condense(char *reason, size_t size) {
  const char *key = "error message = '";
  char *msg = strstr(reason, key), *head_end = strchr(reason, ':');
  if (msg != NULL && head_end != NULL && head_end < msg) {
    msg += strlen(key);
    char *end = strchr(msg, '\'');
    char condensed[512];
    snprintf(condensed, sizeof condensed, "%.*s: %.*s", (int)(head_end - reason), reason,
             end != NULL ? (int)(end - msg) : (int)strlen(msg), msg);
    snprintf(reason, size, "%s", condensed);
  }
  for (char *c = reason; *c != '\0'; c++)
    if (*c == '\n' || *c == '\r' || *c == '\t')
      *c = ' ';
}

/* The last reason taken off the stack, and whether io_h5_reason is still to give it. */
static char reason[512];
static bool held = false;

/* Take the reason off the stack now: the calls that clean up after a failure (H5Sclose, ...)
 * clear the stack as they begin, and io_h5_reason would find it empty. */
static void hold_reason(void) {
  reason[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, innermost, reason);
  H5Eclear2(H5E_DEFAULT);
  condense(reason, sizeof reason);
  if (reason[0] == '\0')
    snprintf(reason, sizeof reason, "HDF5 gives no reason");
  held = true;
}

const char *io_h5_reason(void) {
  if (!held)
    hold_reason();
  held = false;
  return reason;
}

void io_quiet_hdf5(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* The last external link check_external_link refused: where it led, and what is there. */
static char refused_link[600];

/* Whether `path` names something that is not a regular file (a missing one is HDF5's to
 * report); if so, it is noted for io_input_refused_link. */
static bool not_regular(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
    return false;
  snprintf(refused_link, sizeof refused_link,
           "an external link to %.400s, which is %s, not a "
           "regular file",
           path, io_file_kind(st.st_mode));
  return true;
}

const char *io_input_refused_link(void) { return refused_link[0] != '\0' ? refused_link : NULL; }

/* Before HDF5 follows an external link: refuse it if any place HDF5 may open the target at
 * holds something other than a regular file. */
/* Whether `name` (relative) names something other than a regular file in the working
 * directory, beside the file holding the link, or under a $HDF5_EXT_PREFIX directory. */
static bool not_regular_anywhere(const char *parent_file, const char *name) {
  char path[8192];
  if (not_regular(name))
    return true;
  const char *slash = strrchr(parent_file, '/');
  if (slash != NULL) {
    snprintf(path, sizeof path, "%.*s/%s", (int)(slash - parent_file), parent_file, name);
    if (not_regular(path))
      return true;
  }
  const char *prefixes = getenv("HDF5_EXT_PREFIX"); /* ':'-separated, as HDF5 reads it */
  for (const char *p = prefixes; p != NULL && *p != '\0';) {
    size_t n = strcspn(p, ":");
    snprintf(path, sizeof path, "%.*s/%s", (int)n, p, name);
    if (n > 0 && not_regular(path))
      return true;
    p += n + (p[n] == ':');
  }
  return false;
}

/* Before HDF5 follows an external link: refuse it if any place HDF5 may open the target at
 * holds something other than a regular file: the name as given (from the working directory),
 * beside the file holding the link, under $HDF5_EXT_PREFIX, and, where the name has a
 * directory part (an absolute path HDF5 cannot open, say), its last component in each of those
 * places, where HDF5 looks next. */
static herr_t check_external_link(const char *parent_file, const char *parent_group,
                                  const char *child_file, const char *child_object, unsigned *flags,
                                  hid_t fapl, void *data) {
  (void)parent_group;
  (void)child_object;
  (void)flags;
  (void)fapl;
  (void)data;
  if (child_file[0] == '/' ? not_regular(child_file)
                           : not_regular_anywhere(parent_file, child_file))
    return -1;
  const char *base = strrchr(child_file, '/');
  if (base != NULL && base[1] != '\0' && not_regular_anywhere(parent_file, base + 1))
    return -1;
  return 0;
}

hid_t io_input_access(void) {
  refused_link[0] = '\0';
  hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
  if (dapl >= 0 && H5Pset_elink_cb(dapl, check_external_link, NULL) < 0) {
    H5Pclose(dapl);
    return H5I_INVALID_HID;
  }
  return dapl;
}

bool io_input_storage_ok(hid_t dset, char *why, size_t size) {
  hid_t dcpl = H5Dget_create_plist(dset);
  if (dcpl < 0) {
    snprintf(why, size, "its storage cannot be read: %s", io_h5_reason());
    return false;
  }
  int external = H5Pget_external_count(dcpl);
  H5D_layout_t layout = H5Pget_layout(dcpl);
  H5Pclose(dcpl);
  if (external != 0)
    snprintf(why, size,
             "its values are kept in %s (external storage): jacobi reads only a "
             "dataset stored in its own file",
             external > 0 ? "other files" : "?");
  else if (layout == H5D_VIRTUAL)
    snprintf(why, size,
             "it is a virtual dataset (its values come from other files): jacobi "
             "reads only a dataset stored in its own file");
  return external == 0 && layout != H5D_VIRTUAL;
}

const char *io_type_class_name(int type_class) {
  switch ((H5T_class_t)type_class) {
  case H5T_INTEGER:
    return "an integer";
  case H5T_FLOAT:
    return "a float";
  case H5T_STRING:
    return "a string";
  case H5T_COMPOUND:
    return "a compound";
  case H5T_ARRAY:
    return "an array type";
  case H5T_VLEN:
    return "a variable-length type";
  case H5T_ENUM:
    return "an enum";
  case H5T_REFERENCE:
    return "a reference";
  case H5T_BITFIELD:
    return "a bitfield";
  case H5T_OPAQUE:
    return "an opaque type";
  default:
    return "not a number";
  }
}

const char *io_file_kind(mode_t mode) {
  if (S_ISREG(mode))
    return "a regular file";
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISLNK(mode))
    return "a symbolic link";
  return "not a regular file";
}

/* ---- scattering a slab -------------------------------------------------------------------- */

struct take_ctx {
  const double *slab;
  double *out;
  int64_t r0, cols;
  int ring;
};

static void take_segment(const struct io_segment *seg, void *ctx) {
  struct take_ctx *p = ctx;
  memcpy(p->out, p->slab + (seg->gi + p->ring - p->r0) * p->cols + seg->col0 + p->ring,
         (size_t)seg->ncols * sizeof *p->out);
  p->out += seg->ncols;
}

struct give_ctx {
  const double *in;
  io_put_fn *put;
  void *ctx;
};

static void give_segment(const struct io_segment *seg, void *ctx) {
  struct give_ctx *g = ctx;
  g->put(seg, g->in, g->ctx);
  g->in += seg->ncols;
}

void io_scatter_rows(const struct decomp_layout *l, const struct team *team, int64_t g0, int64_t g1,
                     const double *slab, int64_t r0, int64_t cols, int ring, double *send,
                     int *counts, int *displs, double *recv, io_put_fn *put, void *ctx) {
  if (team->rank == 0) {
    int64_t total = 0;
    for (int r = 0; r < team->size; r++) {
      struct take_ctx take = {
          .slab = slab, .out = send + total, .r0 = r0, .cols = cols, .ring = ring};
      counts[r] = (int)io_segments(l, r, g0, g1, IO_CANONICAL, take_segment, &take);
      displs[r] = (int)total;
      total += counts[r];
    }
  }
  int mine = (int)io_segments(l, team->rank, g0, g1, IO_CANONICAL, NULL, NULL);
  int rc = MPI_Scatterv(send, counts, displs, MPI_DOUBLE, recv, mine, MPI_DOUBLE, 0, team->comm);
  if (rc != MPI_SUCCESS)
    team_abort(team, team_mpi_error(rc, "MPI_Scatterv (a slab of a file)"));
  struct give_ctx give = {.in = recv, .put = put, .ctx = ctx};
  io_segments(l, team->rank, g0, g1, IO_CANONICAL, give_segment, &give);
}

bool io_read_rows(hid_t dset, int64_t r0, int64_t r1, int64_t cols, double *slab) {
  hsize_t start[2] = {(hsize_t)r0, 0}, count[2] = {(hsize_t)(r1 - r0), (hsize_t)cols};
  hid_t fspace = H5Dget_space(dset);
  hid_t mspace = H5Screate_simple(2, count, NULL);
  bool ok = fspace >= 0 && mspace >= 0 &&
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
            H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, slab) >= 0;
  if (!ok)
    hold_reason(); /* e.g. "required filter 'lzf' is not registered" */
  if (mspace >= 0 && H5Sclose(mspace) < 0)
    ok = false;
  if (fspace >= 0 && H5Sclose(fspace) < 0)
    ok = false;
  return ok;
}
