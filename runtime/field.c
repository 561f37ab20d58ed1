/* field.c - tiles in a shared-memory window; see field.h. */
#include "runtime/field.h"

#include "common/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

enum { ALIGN_DOUBLES = 8 }; /* 64 bytes: a cache line, and a whole AVX-512 vector */

static int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

void field_tile_offsets(const struct decomp_layout *layout, int rank, int64_t depth,
                        int64_t *offsets, int64_t *buffer_len) {
  int64_t ntiles = decomp_ntiles(layout, rank), len = 0;
  for (int64_t t = 0; t < ntiles; t++) {
    struct decomp_tile tile;
    decomp_tile(layout, rank, t, &tile);
    offsets[t] = len;
    len += round_up((tile.nrows + 2 * depth) * (tile.ncols + 2 * depth), ALIGN_DOUBLES);
  }
  *buffer_len = len;
}

/* Bytes as "12.3 MiB" or "4.5 GiB", in buf. */
static const char *human_bytes(double bytes, char buf[32]) {
  if (bytes >= 1073741824.0)
    snprintf(buf, 32, "%.1f GiB", bytes / 1073741824.0);
  else
    snprintf(buf, 32, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

/* The smallest limit in a cgroup file (memory.max, memory.limit_in_bytes) of `dir` and of each
 * of its ancestors under `mount`: a parent's limit binds its children too. "max" and absent
 * files are no limit. */
static double cgroup_file_limit(const char *mount, const char *dir, const char *file) {
  double limit = INFINITY;
  char path[4096];
  char *walk = strdup(dir);
  if (walk == NULL)
    return limit;
  for (;;) {
    snprintf(path, sizeof path, "%s%s/%s", mount, walk, file);
    FILE *in = fopen(path, "r");
    if (in != NULL) {
      char text[64] = "";
      double value;
      if (fgets(text, sizeof text, in) != NULL && sscanf(text, "%lf", &value) == 1 && value > 0 &&
          value < limit)
        limit = value;
      fclose(in);
    }
    char *slash = strrchr(walk, '/');
    if (slash == NULL || walk[0] == '\0')
      break;
    *slash = '\0'; /* the parent; "" is the mount's root */
  }
  free(walk);
  return limit;
}

/* The memory limit of this process's cgroup (v2 memory.max, v1 memory.limit_in_bytes), as
 * /proc/self/cgroup names it; INFINITY if none. Inside a container with its own cgroup
 * namespace the path is "/" and the mount's root is the container's cgroup. */
static double cgroup_memory_limit(void) {
  double limit = INFINITY;
  FILE *in = fopen("/proc/self/cgroup", "r");
  if (in == NULL)
    return limit;
  char line[4096];
  while (fgets(line, sizeof line, in) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    char *controllers = strchr(line, ':');
    char *dir = controllers != NULL ? strchr(controllers + 1, ':') : NULL;
    if (dir == NULL)
      continue;
    *dir++ = '\0';
    controllers++;
    if (strcmp(dir, "/") == 0)
      dir = "";
    double l = INFINITY;
    if (strcmp(line, "0") == 0 && controllers[0] == '\0') /* v2: "0::/path" */
      l = cgroup_file_limit("/sys/fs/cgroup", dir, "memory.max");
    else if (strstr(controllers, "memory") != NULL) { /* v1: "N:memory:/path" */
      bool memory = false;
      for (char *c = strtok(controllers, ","); c != NULL; c = strtok(NULL, ","))
        memory = memory || strcmp(c, "memory") == 0;
      if (memory)
        l = cgroup_file_limit("/sys/fs/cgroup/memory", dir, "memory.limit_in_bytes");
    }
    limit = l < limit ? l : limit;
  }
  fclose(in);
  return limit;
}

/* The node's tiles against the memory this process may use: physical memory, or less under a
 * cgroup limit (what a batch system such as Slurm gives a job). Beyond it the run would be
 * killed by the OOM killer with no message. */
static int check_memory_limit(double need, int node_size, int64_t depth, double extra) {
  long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
  double physical = pages > 0 && page_size > 0 ? (double)pages * (double)page_size : INFINITY;
  double cgroup = cgroup_memory_limit();
  double have = cgroup < physical ? cgroup : physical;
  if (isinf(have) || need <= have)
    return ERR_OK; /* within the limit, or no limit known: let the allocation decide */
  char need_text[32], have_text[32];
  return err_set(ERR_CONFIG,
                 "the grid needs %s on a node of %d ranks (two buffers of tiles with halos%s), "
                 "but %s %s: use more nodes or a smaller grid%s",
                 human_bytes(need, need_text), node_size,
                 extra > 0 ? ", and multigrid's levels and transfers" : "",
                 cgroup < physical ? "the memory limit of this job's cgroup is" : "the node has",
                 human_bytes(have, have_text),
                 depth > 1 ? ", or shallower halos (a smaller solver.temporal_block)" : "");
}

/* Where Open MPI keeps the files behind shared-memory windows (osc_sm_backing_directory). */
static const char *window_directory(void) {
  const char *dir = getenv("OMPI_MCA_osc_sm_backing_directory");
  return dir != NULL && dir[0] != '\0' ? dir : "/dev/shm";
}

/* The node's windows are one file in the shared-memory directory: if it is too small (64 MiB is
 * Docker's default /dev/shm), MPI_Win_allocate_shared fails on one rank while the others wait
 * in it for ever. Every rank of the node sees the same file system, so all reach the same
 * verdict. Page alignment of each rank's segment and the window's header are allowed for. */
static int check_shared_memory(double need, int node_size) {
  const char *dir = window_directory();
  struct statvfs fs;
  if (node_size == 1)
    return ERR_OK; /* a window of one rank is private memory (Open MPI's osc/sm), no file */
  if (statvfs(dir, &fs) != 0)
    return ERR_OK; /* not there: this MPI keeps its windows elsewhere; the allocation decides */
  long page_size = sysconf(_SC_PAGESIZE);
  double bytes =
      need + (double)node_size * (double)(page_size > 0 ? page_size : 4096) + (double)(1 << 20);
  double free_bytes = (double)fs.f_bavail * (double)fs.f_frsize;
  /* f_files = 0: the file system does not count inodes (btrfs, tmpfs with nr_inodes=0). */
  bool no_inodes = fs.f_files != 0 && fs.f_favail == 0;
  /* The window's file is subject to the file-size limit too (`ulimit -f`): beyond it,
   * MPI_Win_allocate_shared's ftruncate fails (EFBIG) and the run ends in MPI_Abort. */
  struct rlimit fsize;
  if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY &&
      bytes > (double)fsize.rlim_cur) {
    char need_text[32], limit_text[32];
    return err_set(ERR_CONFIG,
                   "the grid needs %s of shared memory on a node of %d ranks (its windows are "
                   "files in %s), beyond this process's file-size limit (ulimit -f) of %s: "
                   "raise the limit, or use more nodes",
                   human_bytes(bytes, need_text), node_size, dir,
                   human_bytes((double)fsize.rlim_cur, limit_text));
  }
  if (bytes <= free_bytes && !no_inodes)
    return ERR_OK;
  char need_text[32], free_text[32];
  return err_set(ERR_CONFIG,
                 "the grid needs %s of shared memory on a node of %d ranks (its windows are "
                 "files in %s), but %s has %s%s free: mount a larger %s (docker run "
                 "--shm-size), let Open MPI keep the windows on another local file system "
                 "(OMPI_MCA_osc_sm_backing_directory=/tmp), or use more nodes",
                 human_bytes(bytes, need_text), node_size, dir, dir,
                 human_bytes(free_bytes, free_text), no_inodes ? " and no inodes" : "", dir);
}

/* The address space a rank will map against its limit (RLIMIT_AS: `ulimit -v`, some batch
 * systems'): on a node of several ranks every rank maps the node's whole shared window, and
 * its private arrays besides; on top of what it maps already (MPI's own, read from
 * /proc/self/statm). Beyond it the window's allocation failed inside MPI, and the run ended in
 * MPI_Abort. Not collective. */
static int check_address_space(double window, double private_bytes) {
  struct rlimit as;
  if (getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY)
    return ERR_OK;
  double mapped = 0;
  long page_size = sysconf(_SC_PAGESIZE);
  FILE *statm = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (statm != NULL) {
    if (fscanf(statm, "%lu", &pages) == 1 && page_size > 0)
      mapped = (double)pages * (double)page_size;
    fclose(statm);
  }
  double need = window + private_bytes, left = (double)as.rlim_cur - mapped;
  if (need <= left)
    return ERR_OK;
  char need_text[32], left_text[32], limit_text[32];
  return err_set(ERR_CONFIG,
                 "the grid needs %s of address space in each rank (its tiles%s), but this "
                 "process's address-space limit (ulimit -v) of %s leaves %s: raise the limit, "
                 "or use more nodes or a smaller grid",
                 human_bytes(need, need_text),
                 window > 0 ? ", and the node's shared window, which every rank maps whole" : "",
                 human_bytes((double)as.rlim_cur, limit_text),
                 human_bytes(left > 0 ? left : 0, left_text));
}

int field_check_memory(const struct decomp_layout *layout, const struct team *team, int64_t depth,
                       double extra, double extra_bytes) {
  /* From the plan, in O(1) whatever the tile count, plus each tile's alignment padding in each
   * buffer: an upper bound, in double so that an absurd grid cannot overflow it. The plan
   * counts one-point rings; a ring `depth` deep adds 2 (depth - 1) (nrows + ncols) + 4 (depth^2
   * - 1) points to a tile, and the tiles' rows and columns sum to (column runs x rows owned) and
   * (row runs x columns owned). */
  struct decomp_rank_plan plan;
  decomp_plan_rank(layout, team->rank, NULL, false, &plan);
  int prow = team->rank / layout->pcols, pcol = team->rank % layout->pcols;
  double rows_sum = (double)decomp_dist_nruns(&layout->cols, pcol) *
                    (double)decomp_dist_count(&layout->rows, prow);
  double cols_sum = (double)decomp_dist_nruns(&layout->rows, prow) *
                    (double)decomp_dist_count(&layout->cols, pcol);
  double h = (double)depth;
  double deeper_rings =
      2.0 * (h - 1.0) * (rows_sum + cols_sum) + (double)plan.tiles * 4.0 * (h * h - 1.0);
  double my_bytes = (double)plan.bytes + 2.0 * deeper_rings * sizeof(double) +
                    (double)plan.tiles * 2 * ALIGN_DOUBLES * sizeof(double);
  double bytes[2] = {my_bytes, my_bytes * (1.0 + extra / 2.0) + extra_bytes};
  double node_bytes[2] = {0, 0};
  MPI_CHECK(MPI_Allreduce(bytes, node_bytes, 2, MPI_DOUBLE, MPI_SUM, team->node));
  CHECK(check_memory_limit(node_bytes[1], team->node_size, depth, extra));
  /* One rank alone keeps its tiles in private memory; on a node of more, in the window. */
  double window = team->node_size > 1 ? node_bytes[0] : 0.0;
  CHECK(check_address_space(window, team->node_size > 1 ? bytes[1] - bytes[0] : bytes[1]));
  return check_shared_memory(node_bytes[0], team->node_size);
}

/* Ring point `at` of a side; a side left NULL holds 0 (multigrid's coarse levels). */
static double ring_value(const struct field_boundary *b, int side, int64_t at) {
  return b->side[side] != NULL ? b->side[side][at] : 0.0;
}

/* Every point of a tile's storage, by where it falls on the grid: interior of the tile, fixed
 * boundary (row -1 or ny, column -1 or nx, corners excluded: no stencil reads them), or
 * anything else (NaN: filled by the first exchange, or never read). */
static void fill_tile(double *storage, const struct decomp_tile *tile, int64_t depth,
                      const struct decomp_layout *layout, const struct field_boundary *boundary,
                      double interior) {
  int64_t stride = tile->ncols + 2 * depth;
  for (int64_t i = 0; i < tile->nrows + 2 * depth; i++)
    for (int64_t j = 0; j < stride; j++) {
      int64_t li = i - depth, lj = j - depth, gi = tile->row0 + li, gj = tile->col0 + lj;
      bool in_rows = gi >= 0 && gi < layout->ny, in_cols = gj >= 0 && gj < layout->nx;
      double value = NAN;
      if (li >= 0 && li < tile->nrows && lj >= 0 && lj < tile->ncols)
        value = interior;
      else if (in_cols && (gi == -1 || gi == layout->ny))
        value = ring_value(boundary, gi == -1 ? DECOMP_NORTH : DECOMP_SOUTH, gj + 1);
      else if (in_rows && (gj == -1 || gj == layout->nx))
        value = ring_value(boundary, gj == -1 ? DECOMP_WEST : DECOMP_EAST, gi + 1);
      storage[i * stride + j] = value;
    }
}

static int describe_tiles(struct field *f) {
  f->ntiles = decomp_ntiles(f->layout, f->rank);
  size_t n = f->ntiles > 0 ? (size_t)f->ntiles : 1;
  f->tiles = malloc(n * sizeof *f->tiles);
  f->tile_offset = malloc(n * sizeof *f->tile_offset);
  if (f->tiles == NULL || f->tile_offset == NULL)
    return err_set(ERR_FAILURE, "out of memory describing %lld tiles", (long long)f->ntiles);
  for (int64_t t = 0; t < f->ntiles; t++)
    decomp_tile(f->layout, f->rank, t, &f->tiles[t]);
  field_tile_offsets(f->layout, f->rank, f->depth, f->tile_offset, &f->buffer_len);
  return ERR_OK;
}

/* A failure here cannot be agreed on: MPI_Win_allocate_shared is collective, and when one rank
 * fails (its backing file cannot be created or mapped) the others may stay inside it waiting
 * for that rank. So a failed allocation ends the whole job, after its one message. */
static int allocate_window(struct field *f, const struct team *team) {
  MPI_Info info;
  MPI_CHECK(MPI_Info_create(&info));
  /* Each rank's segment may start on its own pages, so first touch places it near its rank. */
  MPI_Info_set(info, "alloc_shared_noncontig", "true");
  MPI_Aint bytes = (MPI_Aint)(2 * f->buffer_len * (int64_t)sizeof(double));
  int code = MPI_Win_allocate_shared(bytes, sizeof(double), info, team->node, &f->base, &f->win);
  MPI_Info_free(&info);
  if (code != MPI_SUCCESS) {
    char size[32], text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(code, text, &len);
    err_set(ERR_FAILURE, "MPI_Win_allocate_shared failed for this rank's %s of the field: %s",
            human_bytes((double)bytes, size), text);
    team_abort(team, ERR_FAILURE);
  }
  MPI_Win_set_errhandler(f->win, MPI_ERRORS_RETURN);
  return ERR_OK;
}

int field_create(const struct decomp_layout *layout, const struct team *team,
                 const struct field_boundary *boundary, double interior, int64_t depth,
                 struct field **out) {
  *out = NULL;
  struct field *f = calloc(1, sizeof *f);
  int status = f ? ERR_OK : err_set(ERR_FAILURE, "out of memory creating the field");
  if (f) {
    f->layout = layout;
    f->rank = team->rank;
    f->depth = depth;
    f->win = MPI_WIN_NULL;
    status = describe_tiles(f);
  }
  status = team_agree(team, status);
  /* Every rank reaches the collective allocation, or none does. */
  if (status == ERR_OK)
    status = team_agree(team, allocate_window(f, team));
  if (status != ERR_OK) {
    field_destroy(&f);
    return status;
  }
  for (int buf = 0; buf < 2; buf++)
    for (int64_t t = 0; t < f->ntiles; t++)
      fill_tile(field_tile(f, buf, t), &f->tiles[t], depth, layout, boundary, interior);
  *out = f;
  return ERR_OK;
}

void field_destroy(struct field **field) {
  if (field == NULL || *field == NULL)
    return;
  struct field *f = *field;
  if (f->win != MPI_WIN_NULL)
    MPI_Win_free(&f->win);
  free(f->tiles);
  free(f->tile_offset);
  free(f->coef);
  free(f->rhs);
  for (int d = 0; d < DECOMP_NSIDES; d++)
    free(f->cond[d]);
  free(f->diag);
  free(f->load);
  free(f->source);
  free(f->fixed);
  free(f);
  *field = NULL;
}

/* splitmix64's finaliser: a bijective mix, so distinct inputs rarely collide in the sum. */
static uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

uint64_t field_checksum(const struct field *f, const struct team *team) {
  uint64_t sum = 0;
  int64_t nx = f->layout->nx;
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    const double *origin = field_interior(f, f->current, t);
    int64_t stride = field_stride(f, t);
    for (int64_t li = 0; li < tile->nrows; li++)
      for (int64_t lj = 0; lj < tile->ncols; lj++) {
        uint64_t bits;
        memcpy(&bits, &origin[li * stride + lj], sizeof bits);
        uint64_t index = (uint64_t)((tile->row0 + li) * nx + tile->col0 + lj);
        sum += mix64(mix64(index) ^ bits);
      }
  }
  uint64_t total = 0;
  MPI_Allreduce(&sum, &total, 1, MPI_UINT64_T, MPI_SUM, team->comm);
  return total;
}
