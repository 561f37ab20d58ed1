/* output.c - writing the result and checkpoint files; see output.h.
 *
 * Gather mode: all ranks loop over the same row slabs; in each, every rank packs its points in
 * the canonical order (slab.h) and rank 0 receives them with one MPI_Gatherv, places them with
 * the layout it knows for every rank, adds the boundary ring and writes the slab. Parallel mode
 * (parallel HDF5 only): every rank selects its tiles as a union of hyperslabs and writes them in
 * one collective MPI-IO call. Either way the file is a fresh temporary (PATH.tmp.XXXXXX) until
 * it is complete and synced. The datasets of the interior alone (/source, /fixed) go the same
 * two ways, in slabs of their own shape, from the field's private arrays.
 */
#define _GNU_SOURCE /* fallocate and FALLOC_FL_KEEP_SIZE: reserving a file's space (Linux) */
#include "io/output.h"

#include "common/err.h"
#include "io/slab.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/fs.h> /* FS_IOC_GETFLAGS: immutable and append-only files */
#endif

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

/* Whether the sidecar must refer to the datasets by byte offset: XDMF's HDF references are
 * "FILE:/dataset", and a ':' in the file's base name breaks them (the Xdmf3 reader splits at
 * the first ':', the legacy one takes a leading "x:" for a domain). Such files are written
 * contiguous, and the sidecar reads them as raw little-endian bytes (Format="Binary", Seek),
 * which both readers do for any file name. Holds alike for PATH and its temporaries (whose
 * added suffix has no ':'). */
static bool names_need_offsets(const char *path) {
  const char *slash = strrchr(path, '/');
  return strchr(slash != NULL ? slash + 1 : path, ':') != NULL;
}

/* ---- temporaries ---------------------------------------------------------------------------
 *
 * Every file is first written under a temporary name beside its final one, "PATH.tmp.XXXXXX",
 * created by mkstemp: exclusively (O_CREAT | O_EXCL, so never through a symbolic or hard link
 * someone left at the name, never over another file) and unique (two runs writing the same
 * PATH each write their own; the last rename wins, and PATH is always one run's whole file).
 * The descriptor stays open until the commit: the name is checked to still be that file
 * (same device and inode) before HDF5's result is renamed, and it is what a failed write
 * truncates so that HDF5 can close on a full disk. */
struct io_temp {
  char *name; /* NULL when none */
  int fd;     /* -1 when none */
};

/* Create a fresh temporary for `path`; mode 0666 less the umask, as an ordinary create.
 * Errors: ERR_FAILURE naming the directory and errno. */
static int temp_create(const char *path, struct io_temp *t) {
  *t = (struct io_temp){.name = with_suffix(path, "", ".tmp.XXXXXX"), .fd = -1};
  if (t->name == NULL)
    return err_set(ERR_FAILURE, "out of memory");
  t->fd = mkstemp(t->name);
  if (t->fd < 0) {
    int status = err_errno(ERR_FAILURE, "creating a temporary file beside \"%s\"", path);
    free(t->name);
    t->name = NULL;
    return status;
  }
  mode_t mask = umask(0);
  umask(mask);
  if (fchmod(t->fd, 0666 & ~mask) != 0)
    return err_errno(ERR_FAILURE, "setting the mode of \"%s\"", t->name);
  return ERR_OK;
}

/* Whether t->name still is the file t->fd holds: a regular file, same device and inode. */
static bool temp_is_ours(const struct io_temp *t) {
  struct stat mine, named;
  return t->fd >= 0 && fstat(t->fd, &mine) == 0 && lstat(t->name, &named) == 0 &&
         S_ISREG(named.st_mode) && mine.st_dev == named.st_dev && mine.st_ino == named.st_ino;
}

/* Give its space back (a failed write on a full disk: HDF5 can then flush what it must to
 * close every handle), through the descriptor, so only our own file is touched. */
static void temp_discard_contents(const struct io_temp *t) {
  if (t->fd >= 0)
    (void)ftruncate(t->fd, 0); /* already failing: nothing more to report */
}

/* Remove the temporary if it still is ours (never a file someone put at the name since), and
 * forget it. Safe on an empty io_temp. */
static void temp_remove(struct io_temp *t) {
  if (t->name != NULL && temp_is_ours(t))
    unlink(t->name);
  if (t->fd >= 0)
    close(t->fd);
  free(t->name);
  *t = (struct io_temp){.name = NULL, .fd = -1};
}

/* Forget a committed temporary (its name is now the final one). */
static void temp_forget(struct io_temp *t) {
  if (t->fd >= 0)
    close(t->fd);
  free(t->name);
  *t = (struct io_temp){.name = NULL, .fd = -1};
}

/* ---- the space a file takes ----------------------------------------------------------------
 *
 * A disk that fills, or a file-size limit met, inside HDF5's final flush and close cannot be
 * recovered from in parallel mode: HDF5 1.10 leaves the file half torn down (closing it again
 * segfaulted in H5F__close on every rank), and a flush that fails on one rank leaves the others
 * in its collectives (a hang). So the space is made sure of before anything is written: the
 * file-size limit is checked at start-up, and the file's blocks are reserved on creation
 * (fallocate, without changing its size), so that no later write of the file can fail for want
 * of space. A file system that cannot reserve (EOPNOTSUPP: NFS, some parallel file systems) is
 * written as before, where a full disk is still caught, in gather mode, by the write that meets
 * it. */

static void interior_slabs(struct io_slabs *si, const struct io_slabs *s) {
  io_slabs_init_interior(si, s->cols - 2, s->rows - 2,
                         s->slab_rows * s->cols * (int64_t)sizeof(double));
}

/* Bytes of a dataset of s's shape, allocated as HDF5 does it here: whole chunks, at creation. */
static int64_t dataset_bytes(const struct io_slabs *s, int element_bytes) {
  int64_t rows = (s->rows + s->chunk_rows - 1) / s->chunk_rows * s->chunk_rows;
  int64_t cols = (s->cols + s->chunk_cols - 1) / s->chunk_cols * s->chunk_cols;
  return rows * cols * element_bytes;
}

/* An upper bound of the bytes one file takes. ring_bytes: of one point of the datasets of the
 * grid with its ring together (/temperature 8, /owner 4, /previous 8); interior_bytes: of the
 * interior's (/source 8, /fixed 1); text: the config text's length; nregions: heat_regions'.
 * The metadata (superblock, object headers, chunk indexes, some 40 attributes) take a few KiB
 * and a few bytes a chunk: 64 KiB, 64 bytes a chunk and dataset, and the text four times over
 * (an attribute's dense storage) bound them. */
static int64_t file_bytes(const struct io_slabs *s, int ring_bytes, int interior_bytes, size_t text,
                          int nregions) {
  struct io_slabs si;
  interior_slabs(&si, s);
  int64_t chunks = dataset_bytes(s, 1) / (s->chunk_rows * s->chunk_cols) +
                   dataset_bytes(&si, 1) / (si.chunk_rows * si.chunk_cols);
  return dataset_bytes(s, ring_bytes) + dataset_bytes(&si, interior_bytes) + (int64_t)65536 +
         5 * 64 * chunks + 4 * (int64_t)text + 16 * (int64_t)nregions;
}

static char *config_text(const struct cfg *cfg);

/* The largest file the run may write: the result, or a checkpoint (on a signal, at any time),
 * which for Chebyshev holds /previous too. -1 if out of memory. */
static int64_t largest_file_bytes(const struct cfg *cfg) {
  struct io_slabs s;
  io_slabs_init(&s, cfg->nx, cfg->ny, io_slab_bytes());
  bool source = cfg->source_q.text != NULL || cfg->source_q.value != 0.0 ||
                (cfg->source_file != NULL && cfg->source_file[0] != '\0');
  int ring = 8 + (cfg->owner_map ? 4 : 0) + (cfg->method == CFG_METHOD_CHEBYSHEV ? 8 : 0);
  char *text = config_text(cfg);
  if (text == NULL)
    return -1;
  /* a faces plate may write /conductivity */
  int interior = (source ? 8 : 0) + (cfg->nregions > 0 ? 1 : 0) + (cfg_faces(cfg) ? 8 : 0);
  int64_t bytes = file_bytes(&s, ring, interior, strlen(text), cfg->nregions);
  free(text);
  return bytes;
}

/* The file-size limit of this process (RLIMIT_FSIZE: `ulimit -f`, a batch system's) against
 * the largest file the run writes, so that it is not met after the solve. Not collective:
 * each rank checks its own limit (in parallel mode every rank writes). ERR_CONFIG. */
static int check_size_limit(const struct cfg *cfg) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_FSIZE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return ERR_OK;
  int64_t need = largest_file_bytes(cfg);
  if (need < 0)
    return err_set(ERR_FAILURE, "out of memory");
  if ((unsigned long long)need <= (unsigned long long)limit.rlim_cur)
    return ERR_OK;
  return err_set(ERR_CONFIG,
                 "%s: output.path \"%s\" cannot be written: File too large: its files take up "
                 "to %lld bytes (%.1f MiB), beyond the file-size limit of %llu bytes (ulimit "
                 "-f); raise the limit or write a smaller grid",
                 cfg_origin(cfg, "output.path"), cfg->output_path, (long long)need,
                 (double)need / 1048576.0, (unsigned long long)limit.rlim_cur);
}

/* Reserve the blocks of a file of `bytes` for the temporary (rank 0's descriptor), its size
 * unchanged: a full disk is then met here, before anything is written, and never in HDF5's
 * close. The file-size limit, which a reservation does not meet, is checked again (it may have
 * been lowered since start-up: prlimit, a batch system) by every rank that writes. Not
 * collective. ERR_FAILURE ("No space left on device", "File too large"). */
static int reserve_space(const struct io_temp *t, const char *name, int64_t bytes) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      (unsigned long long)bytes > (unsigned long long)limit.rlim_cur) {
    errno = EFBIG;
    return err_errno(ERR_FAILURE,
                     "writing \"%s\": it takes up to %lld bytes, beyond the file-size limit of "
                     "%llu bytes (ulimit -f)",
                     name, (long long)bytes, (unsigned long long)limit.rlim_cur);
  }
#if defined(FALLOC_FL_KEEP_SIZE)
  if (t->fd < 0 || fallocate(t->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes) == 0)
    return ERR_OK;
  if (errno == EOPNOTSUPP || errno == ENOSYS)
    return ERR_OK; /* written as it comes; see the section's comment */
  return err_errno(ERR_FAILURE, "writing \"%s\": reserving its %lld bytes", t->name,
                   (long long)bytes);
#else
  (void)t;
  (void)bytes;
  return ERR_OK;
#endif
}

/* Give back what the reservation held beyond the file's end (a committed file takes only its
 * own blocks). Not collective; failing, it costs only space. */
static void release_reserve(const struct io_temp *t, int64_t bytes) {
#if defined(FALLOC_FL_PUNCH_HOLE)
  struct stat st;
  if (t->fd >= 0 && fstat(t->fd, &st) == 0 && st.st_size < bytes)
    (void)fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size,
                    (off_t)(bytes - st.st_size));
#else
  (void)t;
  (void)bytes;
#endif
}

/* ---- the start-up check --------------------------------------------------------------------- */

/* Why an existing `path` cannot be replaced by a rename, in `reason`, or NULL if it can: it is
 * not a regular file (a directory, a FIFO, a device: /dev/null as root would be replaced by a
 * regular file), or it is immutable or append-only. */
static const char *unreplaceable_reason(const char *path, char *reason, size_t size) {
  struct stat st;
  if (stat(path, &st) != 0)
    return NULL; /* absent (or a dangling link: not_ours_reason) */
  if (!S_ISREG(st.st_mode)) {
    snprintf(reason, size, "it is %s, not a regular file", io_file_kind(st.st_mode));
    return reason;
  }
#if defined(FS_IOC_GETFLAGS)
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    int flags = 0;
    bool fixed =
        ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)) != 0;
    close(fd);
    if (fixed) {
      snprintf(reason, size, "it is immutable or append-only (lsattr; chattr -i -a)");
      return reason;
    }
  }
#endif
  return NULL;
}

/* Whether the regular file at `path` is one jacobi wrote: a sidecar (`sidecar`) whose head
 * carries jacobi's comment, or an HDF5 file with jacobi's attributes (version, config,
 * iterations: every result and checkpoint has them). */
static bool written_by_jacobi(const char *path, bool sidecar, char *unreadable, size_t size) {
  unreadable[0] = '\0';
  if (sidecar) {
    char head[1024] = {0};
    FILE *f = fopen(path, "r");
    if (f == NULL)
      return false;
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = '\0';
    return strncmp(head, "<?xml", 5) == 0 && strstr(head, "<!-- jacobi ") != NULL;
  }
  io_quiet_hdf5();
  if (H5Fis_hdf5(path) <= 0) {
    (void)io_h5_reason();
    return false;
  }
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) { /* jacobi's own, perhaps, but unreadable (locked, say): say why */
    snprintf(unreadable, size, "%s", io_h5_reason());
    return false;
  }
  bool ours = H5Aexists(file, "version") > 0 && H5Aexists(file, "config") > 0 &&
              H5Aexists(file, "iterations") > 0;
  H5Fclose(file);
  (void)io_h5_reason();
  return ours;
}

/* Why the existing name `path` is not jacobi's to replace, in `reason`, or NULL if it is (or is
 * absent): a symbolic link (its rename would replace the link, someone's, not write through
 * it: /dev/stdout is one), or a regular file jacobi did not write (a user's notes, the config,
 * a source file named as the output). */
static const char *not_ours_reason(const char *path, bool sidecar, char *reason, size_t size) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return NULL;
  if (S_ISLNK(st.st_mode)) {
    snprintf(reason, size,
             "it is a symbolic link: jacobi replaces only a file of its own at "
             "its output names (remove the link, or name its target)");
    return reason;
  }
  char unreadable[512];
  if (!written_by_jacobi(path, sidecar, unreadable, sizeof unreadable)) {
    if (unreadable[0] != '\0')
      snprintf(reason, size, "it exists and cannot be opened to see whether jacobi wrote it: %s",
               unreadable);
    else
      snprintf(reason, size,
               "it exists and is not %s jacobi wrote: jacobi replaces only its own "
               "(move it away, or name another output.path)",
               sidecar ? "a sidecar" : "a result or checkpoint");
    return reason;
  }
  return NULL;
}

/* Why the name `path` (a sidecar's or not) may not be replaced: unreplaceable_reason, then
 * not_ours_reason; NULL if it may. */
static const char *name_reason(const char *path, bool sidecar, char *reason, size_t size) {
  const char *why = unreplaceable_reason(path, reason, size);
  return why != NULL ? why : not_ours_reason(path, sidecar, reason, size);
}

/* Why files cannot be created in `path`'s directory, in `reason`, or NULL if they can. */
static const char *directory_reason(const char *path, char *reason, size_t size) {
  char *copy = strdup(path);
  if (copy == NULL)
    return "out of memory";
  const char *dir = dirname(copy);
  const char *why = NULL;
  struct stat st;
  if (stat(dir, &st) != 0) {
    snprintf(reason, size, "directory \"%s\": %s", dir, strerror(errno));
    why = reason;
  } else if (!S_ISDIR(st.st_mode)) {
    snprintf(reason, size, "\"%s\" is not a directory", dir);
    why = reason;
  } else if (access(dir, W_OK | X_OK) != 0) {
    snprintf(reason, size, "directory \"%s\" is not writable: %s", dir, strerror(errno));
    why = reason;
  }
#if defined(FS_IOC_GETFLAGS)
  /* An append-only directory lets a temporary be made but never renamed or removed: the
   * result would be computed and then stranded (and the probe below left behind). */
  int fd = why == NULL ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fd >= 0) {
    int flags = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_APPEND_FL) != 0) {
      snprintf(reason, size,
               "directory \"%s\" is append-only (lsattr -d; chattr -a): a file "
               "made in it can be neither renamed into place nor removed",
               dir);
      why = reason;
    }
    close(fd);
  }
#endif
  free(copy);
  if (why != NULL)
    return why;
  /* The permission bits do not tell everything (a read-only mount, root, an immutable
   * directory): create a temporary for real, exactly as the write will. */
  struct io_temp probe;
  if (temp_create(path, &probe) != ERR_OK) {
    snprintf(reason, size, "%s", err_message());
    err_clear();
    return reason;
  }
  temp_remove(&probe);
  return NULL;
}

static int check_on_root(const struct cfg *cfg) {
#ifndef H5_HAVE_PARALLEL
  if (cfg->output_mode == CFG_OUTPUT_PARALLEL)
    return err_set(ERR_CONFIG,
                   "%s: output.mode \"parallel\" needs a parallel HDF5, and this jacobi was "
                   "built with a serial one; use \"gather\"",
                   cfg_origin(cfg, "output.mode"));
#endif
  if (cfg->output_path[0] == '\0')
    return err_set(ERR_CONFIG, "%s: output.path \"\" cannot be written: it is empty",
                   cfg_origin(cfg, "output.path"));
  /* The sidecar names the file (its base name) in XML, which cannot hold a control character
   * (U+0001-U+001F, U+007F; XML 1.0 refuses them even as references, but for TAB, LF and CR, which
   * in a file name are mistakes all the same) or U+FFFE and U+FFFF (TOML allows all of them in a
   * string). Refused, rather than writing a sidecar no reader takes. */
  const unsigned char *p = (const unsigned char *)cfg->output_path;
  const char *slash = strrchr(cfg->output_path, '/');
  for (size_t i = slash != NULL ? (size_t)(slash - cfg->output_path) + 1 : 0; p[i] != '\0'; i++) {
    bool control = p[i] < 0x20 || p[i] == 0x7f;
    bool nonchar = p[i] == 0xef && p[i + 1] == 0xbf && (p[i + 2] == 0xbe || p[i + 2] == 0xbf);
    if (control || nonchar)
      return err_set(ERR_CONFIG,
                     "%s: output.path \"%s\" cannot be written: it holds %s at byte %zu, "
                     "which its XDMF sidecar (XML) cannot name; use a name without it",
                     cfg_origin(cfg, "output.path"), cfg->output_path,
                     control ? "a control character" : "U+FFFE or U+FFFF", i + 1);
  }
  /* Every name the run may write: the result, the checkpoint (every K iterations, or on a
   * signal) and their sidecars; temporaries are fresh names in the same directory. All are
   * checked now, so that nothing is found wrong after the compute. */
  char *ckpt = io_checkpoint_path(cfg->output_path);
  char *paths[4] = {cfg->output_path, io_xdmf_path(cfg->output_path), ckpt,
                    ckpt != NULL ? io_xdmf_path(ckpt) : NULL};
  const char *what[4] = {"", "its sidecar ", "its checkpoint ", "its checkpoint's sidecar "};
  int status = ERR_OK;
  for (int i = 0; i < 4 && status == ERR_OK; i++)
    if (paths[i] == NULL)
      status = err_set(ERR_FAILURE, "out of memory");
  static char reason[16384]; /* room for paths of PATH_MAX and their reason */
  for (int i = 0; i < 4 && status == ERR_OK; i++) {
    const char *why = name_reason(paths[i], i % 2 == 1, reason, sizeof reason);
    /* One directory for all, but each name's own temporary, made for real: the checkpoint's
     * sidecar's is the longest, and a name too long for the file system (NAME_MAX) was found
     * only after the solve, and on a signal lost the checkpoint. */
    if (why == NULL)
      why = directory_reason(paths[i], reason, sizeof reason);
    if (why != NULL)
      status = err_set(ERR_CONFIG, "%s: output.path \"%s\" cannot be written: %s%s%s%s",
                       cfg_origin(cfg, "output.path"), cfg->output_path, what[i],
                       i > 0 ? paths[i] : "", i > 0 ? ": " : "", why);
  }
  /* In parallel mode MPI_File_open gets the HDF5 files' temporaries by the names written here:
   * Open MPI's ompio builds fixed-size names from them (sharedfp's "NAME.locktest.RANK" in 256
   * bytes, which overflowed and aborted every rank beyond 244 bytes; its sm component's
   * "DIR/BASE_cid-C-RANK.sm", which failed beyond a base name of 240), after the solve. */
  enum { MPIIO_NAME_MAX = 220 };
  size_t temp_suffix = strlen(".tmp.XXXXXX");
  for (int i = 0; i < 4 && status == ERR_OK && cfg->output_mode == CFG_OUTPUT_PARALLEL; i += 2)
    if (strlen(paths[i]) + temp_suffix > MPIIO_NAME_MAX)
      status =
          err_set(ERR_CONFIG,
                  "%s: output.path \"%s\" cannot be written in output.mode \"parallel\": "
                  "%s%s%sits temporary's name takes %zu bytes, and MPI-IO (Open MPI's "
                  "ompio) fails or crashes on a name of more than %d; use a shorter path "
                  "(a relative one) or output.mode = \"gather\"",
                  cfg_origin(cfg, "output.path"), cfg->output_path, what[i], i > 0 ? paths[i] : "",
                  i > 0 ? ": " : "", strlen(paths[i]) + temp_suffix, MPIIO_NAME_MAX);
  for (int i = 1; i < 4; i++)
    free(paths[i]);
  return status;
}

int io_check_output(const struct cfg *cfg, const struct team *team) {
  int status = team->rank == 0 ? check_on_root(cfg) : ERR_OK;
  MPI_CHECK(MPI_Bcast(&status, 1, MPI_INT, 0, team->comm)); /* everyone's verdict, untagged */
  status = team_agree(team, status);
  if (status == ERR_OK)
    status = team_agree(team, check_size_limit(cfg));
  return status;
}

/* A file access list for the files jacobi writes: the object format of HDF5 1.8 on (any
 * HDF5 from 1.8, h5py and ParaView read it), whose superblock, object headers and attribute
 * storage carry checksums. A file damaged later (a bad disk, a partial copy) is then refused by
 * HDF5 when a run continues from it ("incorrect metadata checksum"), where in the 1.6 format a
 * damaged attribute header crashed libhdf5 inside H5Aexists (a red-team find). */
static hid_t checksummed_access(void) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0 && H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0) {
    H5Pclose(fapl);
    return H5I_INVALID_HID;
  }
  return fapl;
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

/* A float64 attribute of n values, a 1-D array (n >= 1). */
static int write_array_attr(hid_t loc, const char *path, const char *name, const double *values,
                            int n) {
  int status = ERR_OK;
  hsize_t dims[1] = {(hsize_t)n};
  hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
  H5_STEP(status, space = H5Screate_simple(1, dims, NULL), path, name);
  H5_STEP(status, attr = H5Acreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT),
          path, name);
  H5_STEP(status, H5Awrite(attr, H5T_NATIVE_DOUBLE, values), path, name);
  if (attr >= 0 && H5Aclose(attr) < 0 && status == ERR_OK)
    status = h5_fail(path, name);
  if (space >= 0 && H5Sclose(space) < 0 && status == ERR_OK)
    status = h5_fail(path, name);
  return status;
}

/* /history, rows x 5 float64, compact (it lives in the object header, at most 41 kB: HDF5
 * writes it with the metadata, which every rank writes alike in parallel mode), with its
 * columns named in an attribute. No rows: no dataset. */
static int write_history(hid_t file, const char *path, const struct io_state *state) {
  const double *values = state->history;
  int64_t rows = state->history_rows;
  if (values == NULL || rows <= 0)
    return ERR_OK;
  int status = ERR_OK;
  hsize_t dims[2] = {(hsize_t)rows, 5};
  hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;
  H5_STEP(status, space = H5Screate_simple(2, dims, NULL), path, "history");
  H5_STEP(status, dcpl = H5Pcreate(H5P_DATASET_CREATE), path, "history");
  H5_STEP(status, H5Pset_layout(dcpl, H5D_COMPACT), path, "history");
  H5_STEP(status,
          dset = H5Dcreate2(file, "history", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
          path, "history");
  H5_STEP(status, H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), path,
          "history");
  if (status == ERR_OK)
    status = write_string_attr(dset, path, "columns",
                               "iteration, change, error_estimate, error_bound, seconds");
  if (status == ERR_OK) /* the thinning's state, for a run that continues from this file */
    status =
        write_attr(dset, path, "stride", H5T_STD_I64LE, H5T_NATIVE_INT64, &state->history_stride);
  if (status == ERR_OK)
    status =
        write_attr(dset, path, "checks", H5T_STD_I64LE, H5T_NATIVE_INT64, &state->history_checks);
  if (dset >= 0 && H5Dclose(dset) < 0 && status == ERR_OK)
    status = h5_fail(path, "history");
  if (dcpl >= 0 && H5Pclose(dcpl) < 0 && status == ERR_OK)
    status = h5_fail(path, "history");
  if (space >= 0 && H5Sclose(space) < 0 && status == ERR_OK)
    status = h5_fail(path, "history");
  return status;
}

/* The --verbose figures (struct io_run_info) as root attributes. */
static int write_run_attrs(hid_t file, const char *path, const struct io_run_info *run) {
  const char *seconds[] = {"wall_seconds", "compute_seconds", "halo_seconds", "reduce_seconds",
                           "estimate_seconds"};
  double seconds_values[] = {run->wall_seconds, run->compute_seconds, run->halo_seconds,
                             run->reduce_seconds, run->estimate_seconds};
  const char *counts[] = {"halo_shared_points", "halo_message_points", "halo_messages",
                          "halo_local_points", "exchange_every"};
  int64_t count_values[] = {run->halo_shared_points, run->halo_message_points, run->halo_messages,
                            run->halo_local_points, run->exchange_every};
  int status = ERR_OK;
  for (int k = 0; status == ERR_OK && k < 5; k++)
    status =
        write_attr(file, path, seconds[k], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &seconds_values[k]);
  for (int k = 0; status == ERR_OK && k < 5; k++)
    status = write_attr(file, path, counts[k], H5T_STD_I64LE, H5T_NATIVE_INT64, &count_values[k]);
  if (status == ERR_OK && run->kernel != NULL)
    status = write_string_attr(file, path, "kernel", run->kernel);
  return status;
}

/* The plate's size and material, so that a file is read in metres and watts without its
 * config: width, height, spacing (m), conductivity (W/(m K)), thickness (m). */
static int write_plate_attrs(hid_t file, const char *path, const struct cfg *cfg) {
  const char *names[] = {"width", "height", "spacing", "conductivity", "thickness"};
  const double values[] = {cfg->width, cfg->height, cfg_spacing(cfg), cfg->conductivity,
                           cfg->thickness};
  int status = ERR_OK;
  for (size_t k = 0; k < sizeof names / sizeof names[0] && status == ERR_OK; k++)
    status = write_attr(file, path, names[k], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &values[k]);
  return status;
}

/* The heat flows (W) of the field written: output.h's heat_* attributes. heat_regions only
 * when the plate has regions (an attribute of no values would be a null dataspace, which
 * h5py reads as an Empty, not an array). */
static int write_heat_attrs(hid_t file, const char *path, const struct io_heat *heat) {
  const char *names[] = {"heat_top",    "heat_bottom",    "heat_left",           "heat_right",
                         "heat_source", "heat_imbalance", "heat_imbalance_bound"};
  const double values[] = {heat->edge[DECOMP_NORTH],
                           heat->edge[DECOMP_SOUTH],
                           heat->edge[DECOMP_WEST],
                           heat->edge[DECOMP_EAST],
                           heat->source,
                           heat->imbalance,
                           heat->imbalance_bound};
  int status = ERR_OK;
  for (size_t k = 0; k < sizeof names / sizeof names[0] && status == ERR_OK; k++)
    status = write_attr(file, path, names[k], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &values[k]);
  if (status == ERR_OK && heat->nregions > 0)
    status = write_array_attr(file, path, "heat_regions", heat->region, heat->nregions);
  if (status == ERR_OK && heat->faces) /* a faces plate's: through the plate's faces */
    status =
        write_attr(file, path, "heat_surface", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &heat->surface);
  return status;
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
    status = write_attr(file, path, "residual", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &state->change);
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
  if (status == ERR_OK && state->stall_at >= 0)
    status =
        write_attr(file, path, "stall_best", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &state->stall_best);
  if (status == ERR_OK && state->stall_at >= 0)
    status = write_attr(file, path, "stall_at", H5T_STD_I64LE, H5T_NATIVE_INT64, &state->stall_at);
  if (status == ERR_OK)
    status = write_attr(file, path, "error_bound", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                        &state->error_bound);
  if (status == ERR_OK)
    status = write_attr(file, path, "target_error", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                        &cfg->target_error);
  if (status == ERR_OK)
    status = write_plate_attrs(file, path, cfg);
  if (status == ERR_OK && state->heat != NULL)
    status = write_heat_attrs(file, path, state->heat);
  if (status == ERR_OK)
    status = write_history(file, path, state);
  if (status == ERR_OK && state->run != NULL)
    status = write_run_attrs(file, path, state->run);
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
  if (names_need_offsets(path)) /* the sidecar will point at the bytes: one contiguous run */
    H5_STEP(*status, H5Pset_layout(dcpl, H5D_CONTIGUOUS), path, name);
  else
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
      const double *v = b->side[r == 0 ? DECOMP_NORTH : DECOMP_SOUTH];
      for (int64_t c = 0; c < s->cols; c++)
        row[c] = v[c];
    } else {
      row[0] = b->side[DECOMP_WEST][r];
      row[s->cols - 1] = b->side[DECOMP_EAST][r];
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

/* Close a file and its datasets (dsets, in this order; -1 entries skipped), and give the status
 * of the write. After a failure (status) the temporary's contents are discarded first: the
 * closes flush HDF5's caches, and on a full disk they would fail again and leave the file
 * open, which HDF5 then closes at MPI_Finalize, and crashes there. With its space given back,
 * every close succeeds; if one still fails, it is retried, so that no handle outlives the
 * write. Collective where the file is (parallel mode: every rank, with the same status). */
static int close_file(hid_t file, const hid_t *dsets, int ndsets, const struct io_temp *t,
                      int status) {
  if (status != ERR_OK)
    temp_discard_contents(t);
  const char *path = t->name != NULL ? t->name : "the output";
  for (int k = 0; k < ndsets; k++)
    if (dsets[k] >= 0 && H5Dclose(dsets[k]) < 0) {
      if (status == ERR_OK)
        status = h5_fail(path, "closing a dataset (H5Dclose)");
      temp_discard_contents(t);
      if (H5Iis_valid(dsets[k]) > 0)
        (void)H5Dclose(dsets[k]);
    }
  if (file >= 0 && H5Fclose(file) < 0) {
    if (status == ERR_OK)
      status = h5_fail(path, "closing the file (H5Fclose)");
    temp_discard_contents(t);
    if (H5Iis_valid(file) > 0)
      (void)H5Fclose(file);
  }
  (void)io_h5_reason(); /* clear the stack the retries may have filled */
  return status;
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

/* ---- the datasets of the interior alone: /source and /fixed ----------------------------------
 *
 * Shape (ny, nx), row r is interior row r: no ring. Each comes from one of the field's private
 * arrays, laid out as one of its buffers (field.h: tile t at values + tile_offset[t], rings
 * field->depth deep, only the interior meaningful), and moves in slabs of interior rows that fit
 * the buffers /temperature's slabs use, so rank 0's memory stays as it was. */
struct interior_dataset {
  const char *name;
  const void *values; /* this rank's array (NULL on a rank without points) */
  size_t size;        /* bytes a value */
  hid_t file_type, mem_type;
  MPI_Datatype mpi_type;
};

/* The interior datasets of one file: /source (q, float64) when the plate has sources, /fixed
 * (the region of each point, uint8) when it has regions, /conductivity (k, float64) when it
 * varies (io_state.conductivity). */
struct interior_set {
  struct interior_dataset d[3];
  int n;
};

/* Which interior datasets the file gets, agreed: a rank with no points may hold no arrays,
 * and every rank must take part in the same collectives. A rank that has points but lacks an
 * array the others hold is a bug, reported by that rank. Collective; NOT agreed (the caller
 * agrees). */
static int interior_datasets(const struct field *f, const struct team *team,
                             const double *conductivity, struct interior_set *set) {
  int64_t points = io_segments(f->layout, team->rank, 0, f->layout->ny, IO_CANONICAL, NULL, NULL);
  int have[3] = {f->source != NULL, f->fixed != NULL, conductivity != NULL}, any[3] = {0, 0, 0};
  MPI_CHECK(MPI_Allreduce(have, any, 3, MPI_INT, MPI_MAX, team->comm));
  set->n = 0;
  if (any[0])
    set->d[set->n++] = (struct interior_dataset){.name = "/source",
                                                 .values = f->source,
                                                 .size = sizeof(double),
                                                 .file_type = H5T_IEEE_F64LE,
                                                 .mem_type = H5T_NATIVE_DOUBLE,
                                                 .mpi_type = MPI_DOUBLE};
  if (any[1])
    set->d[set->n++] = (struct interior_dataset){.name = "/fixed",
                                                 .values = f->fixed,
                                                 .size = sizeof(unsigned char),
                                                 .file_type = H5T_STD_U8LE,
                                                 .mem_type = H5T_NATIVE_UCHAR,
                                                 .mpi_type = MPI_UNSIGNED_CHAR};
  if (any[2])
    set->d[set->n++] = (struct interior_dataset){.name = "/conductivity",
                                                 .values = conductivity,
                                                 .size = sizeof(double),
                                                 .file_type = H5T_IEEE_F64LE,
                                                 .mem_type = H5T_NATIVE_DOUBLE,
                                                 .mpi_type = MPI_DOUBLE};
  static const char *const names[3] = {"source", "fixed", "conductivity"};
  for (int k = 0; k < 3; k++)
    if (any[k] && !have[k] && points > 0)
      return err_set(ERR_FAILURE, "writing the output: rank %d holds %lld points but no %s array",
                     team->rank, (long long)points, names[k]);
  return ERR_OK;
}

/* The slabs of the interior datasets: as many interior rows as the field's slab buffers
 * (s->slab_rows x s->cols doubles) hold at 8 bytes a value. The same on every rank. */
struct pack_values_ctx {
  const struct field *f;
  const unsigned char *values; /* the array, as bytes */
  size_t size;
  unsigned char *out; /* next free place */
};

static void pack_values(const struct io_segment *seg, void *ctx) {
  struct pack_values_ctx *p = ctx;
  int64_t stride = field_stride(p->f, seg->tile);
  int64_t at = p->f->tile_offset[seg->tile] + p->f->depth * stride + p->f->depth +
               (seg->gi - seg->row0) * stride;
  memcpy(p->out, p->values + (size_t)at * p->size, (size_t)seg->ncols * p->size);
  p->out += (size_t)seg->ncols * p->size;
}

struct place_values_ctx {
  unsigned char *slab;
  const unsigned char *in; /* next value to place */
  size_t size;
  int64_t r0, cols;
};

static void place_values(const struct io_segment *seg, void *ctx) {
  struct place_values_ctx *p = ctx;
  memcpy(p->slab + (size_t)((seg->gi - p->r0) * p->cols + seg->col0) * p->size, p->in,
         (size_t)seg->ncols * p->size);
  p->in += (size_t)seg->ncols * p->size;
}

/* All ranks: gather interior dataset d slab by slab into rank 0's dset (-1 elsewhere), with
 * the field's slab buffers (rank 0: slab, recv, counts, displs; everyone: send). `status` is
 * rank 0's so far: after a failure it keeps receiving, so that no rank is left waiting. */
static int gather_interior(const struct field *f, const struct team *team,
                           const struct interior_dataset *d, const struct io_slabs *si, hid_t dset,
                           const char *path, void *slab, void *recv, int *counts, int *displs,
                           void *send, int status) {
  const struct decomp_layout *l = f->layout;
  for (int64_t r0 = 0; r0 < si->rows; r0 += si->slab_rows) {
    int64_t r1 = r0 + si->slab_rows < si->rows ? r0 + si->slab_rows : si->rows;
    struct pack_values_ctx pack = {.f = f, .values = d->values, .size = d->size, .out = send};
    int64_t mine = io_segments(l, team->rank, r0, r1, IO_CANONICAL, pack_values, &pack);
    if (team->rank == 0) {
      int64_t total = 0;
      for (int r = 0; r < team->size; r++) {
        counts[r] = (int)io_segments(l, r, r0, r1, IO_CANONICAL, NULL, NULL);
        displs[r] = (int)total;
        total += counts[r];
      }
    }
    MPI_CHECK(MPI_Gatherv(send, (int)mine, d->mpi_type, recv, counts, displs, d->mpi_type, 0,
                          team->comm));
    if (team->rank != 0 || status != ERR_OK)
      continue;
    for (int r = 0; r < team->size; r++) {
      struct place_values_ctx place = {.slab = slab,
                                       .in = (const unsigned char *)recv +
                                             (size_t)displs[r] * d->size,
                                       .size = d->size,
                                       .r0 = r0,
                                       .cols = si->cols};
      io_segments(l, r, r0, r1, IO_CANONICAL, place_values, &place);
    }
    status = write_rows(dset, d->mem_type, path, si, r0, r1 - r0, slab);
  }
  return status;
}

/* Rank 0's side of the interior datasets in gather mode: create each, tell the others whether
 * to go on, gather it, close it. */
static int gather_interior_on_root(hid_t file, const char *path, const struct field *f,
                                   const struct team *team, const struct interior_set *set,
                                   const struct io_slabs *s, void *slab, void *recv, int *counts,
                                   int *displs, void *send, int status) {
  struct io_slabs si;
  interior_slabs(&si, s);
  for (int k = 0; k < set->n; k++) {
    hid_t dset = H5I_INVALID_HID;
    if (status == ERR_OK)
      dset = create_dataset(file, path, set->d[k].name, set->d[k].file_type, &si, &status);
    int go = status == ERR_OK;
    MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, team->comm));
    if (go)
      status = gather_interior(f, team, &set->d[k], &si, dset, path, slab, recv, counts, displs,
                               send, status);
    if (dset >= 0 && H5Dclose(dset) < 0 && status == ERR_OK)
      status = h5_fail(path, "closing an interior dataset (H5Dclose)");
  }
  return status;
}

static int gather_interior_elsewhere(const struct field *f, const struct team *team,
                                     const struct interior_set *set, const struct io_slabs *s,
                                     void *send) {
  struct io_slabs si;
  interior_slabs(&si, s);
  int status = ERR_OK;
  for (int k = 0; k < set->n && status == ERR_OK; k++) {
    int go = 0;
    MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, team->comm));
    if (go)
      status = gather_interior(f, team, &set->d[k], &si, H5I_INVALID_HID, NULL, NULL, NULL, NULL,
                               NULL, send, ERR_OK);
  }
  return status;
}

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
/* The bytes file_bytes bounds for this file, or -1 if out of memory. */
static int64_t this_file_bytes(const struct cfg *cfg, const struct io_state *state,
                               const struct interior_set *set, const struct io_slabs *s) {
  int interior = 0;
  for (int k = 0; k < set->n; k++)
    interior += (int)set->d[k].size;
  char *text = config_text(cfg);
  if (text == NULL)
    return -1;
  int64_t bytes = file_bytes(s, 8 + (cfg->owner_map ? 4 : 0) + (state->previous ? 8 : 0), interior,
                             strlen(text), cfg->nregions);
  free(text);
  return bytes;
}

static int gather_on_root(const struct io_temp *t, const struct field *f,
                          const struct field_boundary *b, const struct cfg *cfg,
                          const struct team *team, const struct io_state *state,
                          const struct interior_set *set, const struct io_slabs *s, double *send) {
  const char *tmp = t->name;
  int status = ERR_OK;
  double *slab = malloc((size_t)(s->slab_rows * s->cols) * sizeof *slab);
  double *recv = malloc((size_t)(s->slab_rows * s->cols) * sizeof *recv);
  int *counts = malloc((size_t)team->size * sizeof *counts);
  int *displs = malloc((size_t)team->size * sizeof *displs);
  if (slab == NULL || recv == NULL || counts == NULL || displs == NULL)
    status = err_set(ERR_FAILURE, "writing \"%s\": out of memory for a slab", tmp);
  hid_t file = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
  H5_STEP(status, fapl = checksummed_access(), tmp, "H5Pcreate (file access)");
  H5_STEP(status, file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl), tmp,
          "creating the file (H5Fcreate)");
  if (fapl >= 0)
    H5Pclose(fapl);
  int64_t reserved = this_file_bytes(cfg, state, set, s);
  if (status == ERR_OK && reserved < 0)
    status = err_set(ERR_FAILURE, "writing \"%s\": out of memory", tmp);
  if (status == ERR_OK)
    status = reserve_space(t, tmp, reserved);
  const char *names[2];
  int bufs[2], ndatasets = datasets(f, state, names, bufs);
  hid_t dsets[2] = {H5I_INVALID_HID, H5I_INVALID_HID};
  for (int d = 0; d < ndatasets; d++) {
    if (status == ERR_OK)
      dsets[d] = create_dataset(file, tmp, names[d], H5T_IEEE_F64LE, s, &status);
    int go = status == ERR_OK;
    MPI_CHECK(MPI_Bcast(&go, 1, MPI_INT, 0, team->comm));
    for (int64_t r0 = 0; go && r0 < s->rows; r0 += s->slab_rows) {
      int64_t r1 = r0 + s->slab_rows < s->rows ? r0 + s->slab_rows : s->rows;
      status = gather_slab(f, bufs[d], team, s, r0, r1, slab, recv, counts, displs, send, dsets[d],
                           tmp, b, status);
      if (r0 == 0 && d == 0 && status == ERR_OK)
        status = inject_fault(file, tmp);
    }
  }
  status =
      gather_interior_on_root(file, tmp, f, team, set, s, slab, recv, counts, displs, send, status);
  if (status == ERR_OK && cfg->owner_map)
    status = write_owner_map(file, tmp, f->layout, s);
  if (status == ERR_OK)
    status = write_attrs(file, tmp, cfg, team->size, state);
  status = close_file(file, dsets, ndatasets, t, status);
  if (status == ERR_OK)
    release_reserve(t, reserved);
  free(displs);
  free(counts);
  free(recv);
  free(slab);
  return status;
}

static int gather_elsewhere(const struct field *f, const struct team *team,
                            const struct io_state *state, const struct interior_set *set,
                            const struct io_slabs *s, double *send) {
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
  if (status == ERR_OK)
    status = gather_interior_elsewhere(f, team, set, s, send);
  return status;
}

static int write_gathered(const struct io_temp *tmp, const struct field *f,
                          const struct field_boundary *b, const struct cfg *cfg,
                          const struct team *team, const struct io_state *state,
                          const struct interior_set *set, const struct io_slabs *s) {
  /* A rank's points in one slab are at most the slab's interior. */
  double *send = malloc((size_t)(s->slab_rows * s->cols) * sizeof *send);
  if (send == NULL)
    team_abort(team, err_set(ERR_FAILURE, "out of memory for an output slab"));
  int status = team->rank == 0 ? gather_on_root(tmp, f, b, cfg, team, state, set, s, send)
                               : gather_elsewhere(f, team, state, set, s, send);
  free(send);
  return status;
}

/* ---- parallel mode ----------------------------------------------------------------------------
 */

#ifdef H5_HAVE_PARALLEL
struct select_ctx {
  hid_t space;
  int64_t at; /* where interior point (0, 0) is in the dataset: (1, 1) with the ring, else 0 */
  int status;
};

static void select_segment(const struct io_segment *seg, void *ctx) {
  struct select_ctx *p = ctx;
  hsize_t start[2] = {(hsize_t)(seg->gi + p->at), (hsize_t)(seg->col0 + p->at)},
          count[2] = {1, (hsize_t)seg->ncols};
  if (p->status == 0 && H5Sselect_hyperslab(p->space, H5S_SELECT_OR, start, NULL, count, NULL) < 0)
    p->status = -1;
}

/* Write this rank's selection of `dset`: its tiles (in row-major order, as HDF5 walks a union
 * of hyperslabs) or, with ring set, the boundary ring (rank 0 only). `s` is the dataset's
 * geometry: the grid with its ring (io_slabs_init), or the interior alone
 * (io_slabs_init_interior; never with ring set). Collective. */
static int write_selection(hid_t dset, hid_t mem_type, const char *path, const struct io_slabs *s,
                           const struct decomp_layout *l, int rank, bool ring, const void *buf,
                           int64_t count) {
  int64_t at = s->rows == l->ny + 2 ? 1 : 0;
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
    struct select_ctx sel = {.space = fspace, .at = at};
    io_segments(l, rank, 0, l->ny, IO_ROW_MAJOR, select_segment, &sel);
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
    ring[n++] = b->side[DECOMP_NORTH][c];
  for (int64_t r = 1; r < s->rows - 1; r++) {
    ring[n++] = b->side[DECOMP_WEST][r];
    ring[n++] = b->side[DECOMP_EAST][r];
  }
  for (int64_t c = 0; c < s->cols; c++)
    ring[n++] = b->side[DECOMP_SOUTH][c];
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

static int write_parallel(const struct io_temp *t, const struct field *f,
                          const struct field_boundary *b, const struct cfg *cfg,
                          const struct team *team, const struct io_state *state,
                          const struct interior_set *set, const struct io_slabs *s) {
  const char *tmp = t->name;
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
  H5_STEP(status, fapl = checksummed_access(), tmp, "H5Pcreate (file access)");
  H5_STEP(status, H5Pset_fapl_mpio(fapl, team->comm, MPI_INFO_NULL), tmp, "H5Pset_fapl_mpio");
  /* Local steps so far: a rank that failed one must not leave the others in the collective
   * H5Fcreate. Only the failing rank keeps its status, so the caller reports it once. */
  if (all_succeeded(team, status))
    H5_STEP(status, file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl), tmp,
            "creating the file (H5Fcreate, MPI-IO)");
  /* Rank 0 reserves the file's blocks, every rank checks its file-size limit; all agree before
   * the collective creates. */
  int64_t reserved = this_file_bytes(cfg, state, set, s);
  if (status == ERR_OK && reserved < 0)
    status = err_set(ERR_FAILURE, "writing \"%s\": out of memory", tmp);
  if (status == ERR_OK)
    status = reserve_space(t, tmp, reserved);
  bool go = all_succeeded(team, status);
  if (go)
    dset = create_dataset(file, tmp, "/temperature", H5T_IEEE_F64LE, s, &status);
  if (go && status == ERR_OK && cfg->owner_map)
    odset = create_dataset(file, tmp, "/owner", H5T_STD_I32LE, s, &status);
  if (go && status == ERR_OK && state->previous)
    pdset = create_dataset(file, tmp, "/previous", H5T_IEEE_F64LE, s, &status);
  struct io_slabs si;
  interior_slabs(&si, s);
  hid_t idsets[2] = {H5I_INVALID_HID, H5I_INVALID_HID};
  for (int k = 0; k < set->n && go && status == ERR_OK; k++)
    idsets[k] = create_dataset(file, tmp, set->d[k].name, set->d[k].file_type, &si, &status);
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
    for (int k = 0; k < set->n; k++) { /* values is free again: mine points, 8 bytes each */
      struct pack_values_ctx pv = {
          .f = f, .values = set->d[k].values, .size = set->d[k].size, .out = (void *)values};
      io_segments(l, team->rank, 0, l->ny, IO_ROW_MAJOR, pack_values, &pv);
      st = write_selection(idsets[k], set->d[k].mem_type, tmp, &si, l, team->rank, false, values,
                           mine);
      status = status != ERR_OK ? status : st;
    }
    /* Attribute writes are collective metadata operations: every rank writes the same. */
    st = write_attrs(file, tmp, cfg, team->size, state);
    status = status != ERR_OK ? status : st;
  }
  /* The closes are collective: every rank discards (rank 0 truncates) or none does. */
  bool failed = !all_succeeded(team, status);
  hid_t dsets[5] = {idsets[1], idsets[0], pdset, odset, dset};
  int st = close_file(file, dsets, 5, t, failed ? ERR_FAILURE : ERR_OK);
  status = status != ERR_OK ? status : st;
  if (status == ERR_OK && team->rank == 0)
    release_reserve(t, reserved);
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

/* Give the temporary its final name. */
static int rename_temp(struct io_temp *t, const char *path) {
  if (rename(t->name, path) != 0)
    return err_errno(ERR_FAILURE, "renaming \"%s\" to \"%s\"", t->name, path);
  temp_forget(t);
  return ERR_OK;
}

/* Make the temporary durable, and check that its name still is the file written. */
static int seal_temp(const struct io_temp *t) {
  if (!temp_is_ours(t))
    return err_set(ERR_FAILURE,
                   "\"%s\" was removed or replaced by another file while it was written", t->name);
  if (fsync(t->fd) != 0)
    return err_errno(ERR_FAILURE, "syncing \"%s\"", t->name);
  return ERR_OK;
}

/* s in XML character data or an attribute value: the five characters XML reserves escaped. */
static void print_xml_escaped(FILE *out, const char *s) {
  for (; *s != '\0'; s++)
    switch (*s) {
    case '&':
      fputs("&amp;", out);
      break;
    case '<':
      fputs("&lt;", out);
      break;
    case '>':
      fputs("&gt;", out);
      break;
    case '"':
      fputs("&quot;", out);
      break;
    case '\'':
      fputs("&apos;", out);
      break;
    default:
      fputc(*s, out);
    }
}

/* The datasets a sidecar may refer to, by index. */
enum xdmf_dataset { XDMF_TEMPERATURE, XDMF_OWNER, XDMF_SOURCE, XDMF_FIXED, XDMF_NDATASETS };
static const char *const xdmf_dataset_name[XDMF_NDATASETS] = {"/temperature", "/owner", "/source",
                                                              "/fixed"};

/* Where the sidecar finds a dataset: in the HDF5 file by name ("plate.h5:/temperature"), or,
 * for a file name the readers cannot parse that way, as raw bytes at an offset (below). */
struct xdmf_ref {
  const char *h5_name;            /* base name of the HDF5 file */
  bool present[XDMF_NDATASETS];   /* the datasets the file has */
  int64_t offset[XDMF_NDATASETS]; /* where each starts when by offset; -1 when by name */
};

/* One DataItem: NumberType/Precision of the file's type, the grid's dimensions, its source. */
static void write_xdmf_item(FILE *out, const struct xdmf_ref *ref, int k, const char *number_type,
                            int precision, long long rows, long long cols) {
  if (ref->offset[k] >= 0) /* the datasets are stored little-endian (H5T_*LE) */
    fprintf(out,
            "        <DataItem Format=\"Binary\" Endian=\"Little\" Seek=\"%lld\" "
            "NumberType=\"%s\" Precision=\"%d\" Dimensions=\"1 %lld %lld\">",
            (long long)ref->offset[k], number_type, precision, rows, cols);
  else
    fprintf(out,
            "        <DataItem Format=\"HDF\" NumberType=\"%s\" Precision=\"%d\" "
            "Dimensions=\"1 %lld %lld\">",
            number_type, precision, rows, cols);
  print_xml_escaped(out, ref->h5_name);
  fprintf(out, "%s%s</DataItem>\n", ref->offset[k] >= 0 ? "" : ":",
          ref->offset[k] >= 0 ? "" : xdmf_dataset_name[k]);
}

/* A uniform grid of rows x cols points parallel to the x-y plane, its first point at (x0, y0,
 * z0) metres and spacing h, rows going down (dy = -h); XDMF lists z, y, x. */
static void write_xdmf_grid_head(FILE *out, const char *name, const struct io_state *state,
                                 long long rows, long long cols, double x0, double y0, double z0,
                                 double h) {
  fprintf(out,
          "    <Grid Name=\"%s\" GridType=\"Uniform\">\n"
          "      <Time Value=\"%lld\"/>\n"
          "      <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"1 %lld %lld\"/>\n"
          "      <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n"
          "        <DataItem Format=\"XML\" NumberType=\"Float\" Precision=\"8\" "
          "Dimensions=\"3\">%.17g %.17g %.17g</DataItem>\n"
          "        <DataItem Format=\"XML\" NumberType=\"Float\" Precision=\"8\" "
          "Dimensions=\"3\">%.17g %.17g %.17g</DataItem>\n"
          "      </Geometry>\n",
          name, (long long)state->iterations, rows, cols, z0, y0, x0, h, -h, h);
}

static void write_xdmf_attribute(FILE *out, const struct xdmf_ref *ref, int k, const char *type,
                                 int precision, long long rows, long long cols) {
  fprintf(out, "      <Attribute Name=\"%s\" AttributeType=\"Scalar\" Center=\"Node\">\n",
          xdmf_dataset_name[k] + 1);
  write_xdmf_item(out, ref, k, type, precision, rows, cols);
  fprintf(out, "      </Attribute>\n");
}

static void write_xdmf_text(FILE *out, const struct xdmf_ref *ref, const struct cfg *cfg,
                            const struct io_state *state) {
  long long rows = cfg->ny + 2, cols = cfg->nx + 2;
  double h = cfg_spacing(cfg);
  fprintf(out,
          "<?xml version=\"1.0\" ?>\n"
          "<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
          "<!-- jacobi %s: grid \"plate\" is the temperature of the (ny + 2) x (nx + 2) points, "
          "boundary ring included, in metres: the top-left ring point at x = 0, y = 0 (x = -h "
          "where the left edge is not held, y = h where the top is not: the ring lies beyond "
          "such an edge, whose nodes lie on it), spacing h = %.17g m; rows go down (dy = -h, so y "
          "= -(metres from the top edge)) so that "
          "viewers show the plate the right way up; z is a single layer so that they show it "
          "in the x-y plane.%s\n"
          "<Xdmf Version=\"2.0\">\n"
          "  <Domain>\n",
          JACOBI_VERSION, h,
          ref->present[XDMF_SOURCE] || ref->present[XDMF_FIXED]
              ? " /source and /fixed (ny x nx, the interior alone) are not shown here: ParaView's "
                "default reader merges a second grid into one block with the plate and then "
                "colours it by no array; read them with h5py (scripts/plot.py). -->"
              : " -->");
  /* edge[] is top, bottom, left, right */
  double x0 = cfg->edge[2].kind != CFG_EDGE_HELD ? -h : 0.0;
  double y0 = cfg->edge[0].kind != CFG_EDGE_HELD ? h : 0.0;
  write_xdmf_grid_head(out, "plate", state, rows, cols, x0, y0, 0.0, h);
  fprintf(out,
          "      <Information Name=\"iterations\" Value=\"%lld\"/>\n"
          "      <Information Name=\"method\" Value=\"%s\"/>\n"
          "      <Information Name=\"error_estimate\" Value=\"%.17g\"/>\n"
          "      <Information Name=\"error_bound\" Value=\"%.17g\"/>\n",
          (long long)state->iterations, cfg_method_name(cfg->method), state->error_estimate,
          state->error_bound);
  write_xdmf_attribute(out, ref, XDMF_TEMPERATURE, "Float", 8, rows, cols);
  if (ref->present[XDMF_OWNER])
    write_xdmf_attribute(out, ref, XDMF_OWNER, "Int", 4, rows, cols);
  fprintf(out, "    </Grid>\n");
  fprintf(out, "  </Domain>\n</Xdmf>\n");
}

/* Where the datasets of the written (closed) file h5_path start, for a sidecar that refers to
 * them by offset (names_need_offsets). */
static int dataset_offsets(const char *h5_path, struct xdmf_ref *ref) {
  hid_t file = H5Fopen(h5_path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return h5_fail(h5_path, "reopening the file for the sidecar (H5Fopen)");
  int status = ERR_OK;
  for (int k = 0; k < XDMF_NDATASETS && status == ERR_OK; k++) {
    if (!ref->present[k])
      continue;
    hid_t dset = H5Dopen2(file, xdmf_dataset_name[k], H5P_DEFAULT);
    haddr_t at = dset >= 0 ? H5Dget_offset(dset) : HADDR_UNDEF;
    if (at == HADDR_UNDEF)
      status = h5_fail(h5_path, "finding a dataset's offset (H5Dget_offset)");
    else
      ref->offset[k] = (int64_t)at;
    if (dset >= 0)
      H5Dclose(dset); /* read-only: closing cannot lose anything */
  }
  H5Fclose(file);
  return status;
}

/* Write the sidecar of h5_path to a fresh temporary `x`, synced; the caller renames it. It
 * refers to the HDF5 file by its base name: relative, so that the pair can be moved together. */
static int write_xdmf_temp(const char *h5_path, const char *h5_data, const struct cfg *cfg,
                           const struct io_state *state, const struct interior_set *set,
                           struct io_temp *x) {
  char *xmf = io_xdmf_path(h5_path), *copy = strdup(h5_path);
  int status = xmf != NULL && copy != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory");
  struct xdmf_ref ref = {.h5_name = copy != NULL ? basename(copy) : "",
                         .present = {true, cfg->owner_map},
                         .offset = {-1, -1, -1, -1}};
  for (int k = 0; k < set->n; k++) /* /conductivity is the file's only, not the sidecar's */
    if (strcmp(set->d[k].name, "/conductivity") != 0)
      ref.present[strcmp(set->d[k].name, "/source") == 0 ? XDMF_SOURCE : XDMF_FIXED] = true;
  if (status == ERR_OK && names_need_offsets(h5_path))
    status = dataset_offsets(h5_data, &ref);
  if (status == ERR_OK)
    status = temp_create(xmf, x);
  FILE *out = status == ERR_OK ? fdopen(dup(x->fd), "w") : NULL;
  if (status == ERR_OK && out == NULL)
    status = err_errno(ERR_FAILURE, "writing \"%s\"", x->name);
  if (out != NULL) {
    write_xdmf_text(out, &ref, cfg, state);
    if (fflush(out) != 0 || ferror(out))
      status = err_errno(ERR_FAILURE, "writing \"%s\"", x->name);
    if (fclose(out) != 0 && status == ERR_OK)
      status = err_errno(ERR_FAILURE, "closing \"%s\"", x->name);
  }
  if (status == ERR_OK)
    status = seal_temp(x);
  free(copy);
  free(xmf);
  return status;
}

/* Rank 0, the file written to h5: write the sidecar's temporary, and only then rename both, the
 * HDF5 file first, so that any failure before the renames leaves both old files in place; sync
 * the directory so that the renames are durable. */
static int commit_pair(struct io_temp *h5, const char *path, const struct cfg *cfg,
                       const struct io_state *state, const struct interior_set *set) {
  struct io_temp xmf = {.name = NULL, .fd = -1};
  char *xmf_path = io_xdmf_path(path), *dir = strdup(path);
  int status = xmf_path != NULL && dir != NULL ? ERR_OK : err_set(ERR_FAILURE, "out of memory");
  if (status == ERR_OK)
    status = seal_temp(h5);
  if (status == ERR_OK)
    status = write_xdmf_temp(path, h5->name, cfg, state, set, &xmf);
  /* The start-up check, again: something not jacobi's may have been put at a name since (the
   * window left is between this check and the rename). */
  const char *names[2] = {path, xmf_path};
  for (int k = 0; k < 2 && status == ERR_OK; k++) {
    static char reason[16384];
    const char *why = name_reason(names[k], k == 1, reason, sizeof reason);
    if (why != NULL)
      status = err_set(ERR_FAILURE, "\"%s\" was not replaced, and nothing was written: %s",
                       names[k], why);
  }
  if (status == ERR_OK)
    status = rename_temp(h5, path);
  if (status == ERR_OK)
    status = rename_temp(&xmf, xmf_path);
  if (status == ERR_OK)
    status = sync_path(dirname(dir), true);
  temp_remove(&xmf); /* a no-op once renamed */
  free(dir);
  free(xmf_path);
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

/* Rank 0 creates the temporary; in parallel mode every rank needs its name. */
static int share_temp(const char *path, const struct cfg *cfg, const struct team *team,
                      struct io_temp *t) {
  *t = (struct io_temp){.name = NULL, .fd = -1};
  int status = team->rank == 0 ? temp_create(path, t) : ERR_OK;
  long long len = status == ERR_OK && t->name != NULL ? (long long)strlen(t->name) : -1;
  if (cfg->output_mode != CFG_OUTPUT_PARALLEL)
    return team_agree(team, adopt_root(team, status));
  MPI_CHECK(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, team->comm));
  if (len < 0)
    return team_agree(team, adopt_root(team, status));
  if (team->rank != 0 && (t->name = malloc((size_t)len + 1)) == NULL)
    team_abort(team, err_set(ERR_FAILURE, "out of memory"));
  MPI_CHECK(MPI_Bcast(t->name, (int)len + 1, MPI_CHAR, 0, team->comm));
  return team_agree(team, status);
}

int io_write(const char *path, const struct field *field, const struct field_boundary *boundary,
             const struct cfg *cfg, const struct team *team, const struct io_state *state) {
  io_quiet_hdf5();
  struct io_slabs s;
  io_slabs_init(&s, field->layout->nx, field->layout->ny, io_slab_bytes());
  struct interior_set set;
  int status = team_agree(team, interior_datasets(field, team, state->conductivity, &set));
  if (status != ERR_OK)
    return status;
  struct io_temp tmp;
  status = share_temp(path, cfg, team, &tmp);
  if (status != ERR_OK) {
    temp_remove(&tmp);
    return status;
  }
#ifdef H5_HAVE_PARALLEL
  if (cfg->output_mode == CFG_OUTPUT_PARALLEL)
    status = write_parallel(&tmp, field, boundary, cfg, team, state, &set, &s);
  else
#endif
    status = write_gathered(&tmp, field, boundary, cfg, team, state, &set, &s);
  /* Each agreement prints the failure it finds, so a failed write is not agreed on twice. */
  status = team_agree(team, adopt_root(team, status));
  if (status == ERR_OK) {
    if (team->rank == 0)
      status = commit_pair(&tmp, path, cfg, state, &set);
    status = team_agree(team, adopt_root(team, status));
  }
  if (team->rank == 0)
    temp_remove(&tmp); /* never leave a partial file behind; PATH itself is untouched */
  else
    free(tmp.name);
  return status;
}
