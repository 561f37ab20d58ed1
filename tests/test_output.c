/* test_output.c - the written file holds, value for value, the field the ranks hold: interior,
 * boundary ring and corners, the owner map and the attributes, for block, cyclic and
 * block-cyclic over several process grids, gathered (in one slab and in many) and, with a
 * parallel HDF5, written collectively. And a file read back on a different layout puts every
 * value into the right tile. Run under mpiexec with 1 to 4 ranks. */
#include "cfg.h"
#include "cunit_main.h"
#include "decomp.h"
#include "err.h"
#include "field.h"
#include "output.h"
#include "team.h"

#include <dirent.h>
#include <hdf5.h>
#include <libgen.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Files named PATH.tmp.* beside path: the temporaries a write leaves if it does not commit. */
static int temporaries_left(const char *path) {
  char dir_copy[512], base_copy[512], prefix[600];
  snprintf(dir_copy, sizeof dir_copy, "%s", path);
  snprintf(base_copy, sizeof base_copy, "%s", path);
  snprintf(prefix, sizeof prefix, "%s.tmp.", basename(base_copy));
  DIR *dir = opendir(dirname(dir_copy));
  int left = 0;
  for (struct dirent *e; dir != NULL && (e = readdir(dir)) != NULL;)
    left += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  if (dir != NULL)
    closedir(dir);
  return left;
}

/* The config's edges below, as the ring's values a point (grids here are under RING_MAX). */
enum { RING_MAX = 512 };
static const double north[RING_MAX] = {[0 ... RING_MAX - 1] = 100.0};
static const double south[RING_MAX] = {[0 ... RING_MAX - 1] = -12.5};
static const double west[RING_MAX] = {[0 ... RING_MAX - 1] = 3.25};
static const double east[RING_MAX] = {[0 ... RING_MAX - 1] = -0.75};
static const struct field_boundary boundary = {.side = {north, south, west, east}};

/* Exact in a double, distinct per point. */
static double encode(int64_t gi, int64_t gj) { return (double)gi * 1000.0 + (double)gj + 0.5; }

static char dir[64]; /* a fresh directory, named by rank 0 */

static void make_dir(const struct team *team) {
  if (team->rank == 0) {
    snprintf(dir, sizeof dir, "/tmp/jacobi-test-output-XXXXXX");
    if (mkdtemp(dir) == NULL)
      dir[0] = '\0';
  }
  MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, team->comm);
}

static struct cfg *make_cfg(int64_t nx, int64_t ny, const char *mode, const char *path) {
  char text[512];
  snprintf(text, sizeof text,
           "[grid]\nnx = %lld\nny = %lld\n[boundary]\ntop = 100.0\nbottom = -12.5\n"
           "left = 3.25\nright = -0.75\n[solver]\nmax_iterations = 1000\n"
           "[output]\npath = \"%s\"\nmode = \"%s\"\nowner_map = true\n",
           (long long)nx, (long long)ny, path, mode);
  struct cfg *cfg = NULL;
  if (cfg_create(text, strlen(text), "test.toml", NULL, 0, &cfg) != ERR_OK) {
    fprintf(stderr, "\n  cfg_create: %s", err_message());
    err_clear();
  }
  return cfg;
}

static void write_interior(struct field *f) {
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    double *s = field_interior(f, f->current, t);
    int64_t stride = field_stride(f, t);
    for (int64_t li = 0; li < tile->nrows; li++)
      for (int64_t lj = 0; lj < tile->ncols; lj++)
        s[li * stride + lj] = encode(tile->row0 + li, tile->col0 + lj);
  }
}

/* The value the file must hold at grid point (i, j). */
static double expected(const struct decomp_layout *l, int64_t i, int64_t j) {
  if (i == 0)
    return boundary.side[DECOMP_NORTH][0];
  if (i == l->ny + 1)
    return boundary.side[DECOMP_SOUTH][0];
  if (j == 0)
    return boundary.side[DECOMP_WEST][0];
  if (j == l->nx + 1)
    return boundary.side[DECOMP_EAST][0];
  return encode(i - 1, j - 1);
}

static int64_t read_i64(hid_t file, const char *name) {
  int64_t v = -12345;
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  CU_ASSERT_TRUE(a >= 0);
  if (a >= 0) {
    CU_ASSERT_TRUE(H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
  }
  return v;
}

/* Rank 0 reads the whole file back with the HDF5 API; count the points that differ. */
static int64_t check_file(const char *path, const struct decomp_layout *l, const char *what) {
  int64_t rows = l->ny + 2, cols = l->nx + 2, wrong = 0;
  double *t = malloc((size_t)(rows * cols) * sizeof *t);
  int32_t *owner = malloc((size_t)(rows * cols) * sizeof *owner);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  CU_ASSERT_TRUE_FATAL(file >= 0 && t != NULL && owner != NULL);
  hid_t d = H5Dopen2(file, "/temperature", H5P_DEFAULT), o = H5Dopen2(file, "/owner", H5P_DEFAULT);
  CU_ASSERT_TRUE_FATAL(d >= 0 && o >= 0);
  hid_t space = H5Dget_space(d);
  hsize_t dims[2] = {0, 0};
  CU_ASSERT_EQUAL(H5Sget_simple_extent_ndims(space), 2);
  H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  CU_ASSERT_TRUE_FATAL(dims[0] == (hsize_t)rows && dims[1] == (hsize_t)cols);
  CU_ASSERT_TRUE(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t) >= 0);
  CU_ASSERT_TRUE(H5Dread(o, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, owner) >= 0);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) {
      double want = expected(l, i, j), got = t[i * cols + j];
      int64_t tile, li, lj;
      bool interior = i > 0 && i <= l->ny && j > 0 && j <= l->nx;
      int want_owner = interior ? decomp_owner(l, i - 1, j - 1, &tile, &li, &lj) : -1;
      if ((got != want || owner[i * cols + j] != want_owner) && wrong++ == 0)
        fprintf(stderr, "\n  %s: [%lld][%lld] want %.17g owner %d, got %.17g owner %d", what,
                (long long)i, (long long)j, want, want_owner, got, owner[i * cols + j]);
    }
  CU_ASSERT_EQUAL(read_i64(file, "iterations"), 42);
  CU_ASSERT_EQUAL(read_i64(file, "nx"), l->nx);
  CU_ASSERT_EQUAL(read_i64(file, "ny"), l->ny);
  CU_ASSERT_EQUAL(read_i64(file, "ranks"), l->nranks);
  CU_ASSERT_EQUAL(read_i64(file, "converged"), 1);
  H5Dclose(o);
  H5Dclose(d);
  H5Fclose(file);
  free(owner);
  free(t);
  return wrong;
}

/* Read path into a field on layout l; count the interior points that are not in place. */
static int64_t check_read_back(const char *path, const struct decomp_layout *l,
                               const struct cfg *cfg, const struct team *team, const char *what) {
  struct field *f = NULL;
  CU_ASSERT_EQUAL_FATAL(field_create(l, team, &boundary, -999.0, 1, &f), ERR_OK);
  int64_t iterations = -1, wrong = 0;
  CU_ASSERT_EQUAL(io_read(path, f, &boundary, cfg, team, &iterations), ERR_OK);
  err_clear();
  CU_ASSERT_EQUAL(iterations, 42);
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    const double *s = field_interior(f, f->current, t);
    int64_t stride = field_stride(f, t);
    for (int64_t li = 0; li < tile->nrows; li++)
      for (int64_t lj = 0; lj < tile->ncols; lj++) {
        double want = encode(tile->row0 + li, tile->col0 + lj);
        double got = s[li * stride + lj];
        if (got != want && wrong++ == 0)
          fprintf(stderr, "\n  rank %d read back %s: tile %lld (%lld,%lld) want %.17g got %.17g",
                  team->rank, what, (long long)t, (long long)li, (long long)lj, want, got);
      }
  }
  field_destroy(&f);
  return wrong;
}

struct layout_case {
  int grid[2];
  enum decomp_kind kind;
  int64_t block;
};

static const struct layout_case layouts[] = {
    {{0, 1}, DECOMP_BLOCK, 1},        {{1, 0}, DECOMP_BLOCK, 1},  {{0, 0}, DECOMP_BLOCK, 1},
    {{0, 1}, DECOMP_CYCLIC, 1},       {{0, 0}, DECOMP_CYCLIC, 1}, {{0, 0}, DECOMP_BLOCK_CYCLIC, 2},
    {{1, 0}, DECOMP_BLOCK_CYCLIC, 3},
};
enum { NLAYOUTS = sizeof layouts / sizeof layouts[0] };

static bool make_layout(struct decomp_layout *l, int64_t nx, int64_t ny, int nranks,
                        const struct layout_case *c) {
  int dims[2] = {c->grid[0], c->grid[1]};
  bool ok = decomp_dims_fill(nranks, dims) == ERR_OK &&
            decomp_layout_init(l, nx, ny, nranks, dims, c->kind, c->block) == ERR_OK;
  err_clear();
  return ok;
}

/* Rank 0 removes the file, its XDMF sidecar and the test's directory. */
static void remove_output(const struct team *team, const char *path) {
  if (team->rank != 0)
    return;
  char xmf[160];
  snprintf(xmf, sizeof xmf, "%s/out.xmf", dir);
  unlink(xmf);
  unlink(path);
  rmdir(dir);
}

/* Every layout: write, compare on rank 0, read back on the next layout. */
static void run_all(const char *mode, int64_t slab_bytes) {
  struct team *team = NULL;
  CU_ASSERT_EQUAL_FATAL(team_create(MPI_COMM_WORLD, &team), ERR_OK);
  CU_ASSERT_EQUAL_FATAL(team_split_nodes(team, 0), ERR_OK);
  make_dir(team);
  CU_ASSERT_TRUE_FATAL(dir[0] != '\0');
  io_set_slab_bytes(slab_bytes);
  static const int64_t sizes[][2] = {{7, 5}, {13, 9}};
  char path[128];
  snprintf(path, sizeof path, "%s/out.h5", dir);
  int64_t wrong = 0, wrong_back = 0;
  for (size_t n = 0; n < sizeof sizes / sizeof sizes[0]; n++) {
    struct cfg *cfg = make_cfg(sizes[n][0], sizes[n][1], mode, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    for (int c = 0; c < NLAYOUTS; c++) {
      struct decomp_layout l, other;
      if (!make_layout(&l, sizes[n][0], sizes[n][1], team->size, &layouts[c]))
        continue;
      char what[160];
      snprintf(what, sizeof what, "%s, %lldx%lld, layout %d, slab %lld bytes", mode,
               (long long)sizes[n][0], (long long)sizes[n][1], c, (long long)slab_bytes);
      struct field *f = NULL;
      CU_ASSERT_EQUAL_FATAL(field_create(&l, team, &boundary, 0.0, 1, &f), ERR_OK);
      write_interior(f);
      struct io_state state = {.iterations = 42, .residual = 1e-5, .converged = true};
      int status = io_write(path, f, &boundary, cfg, team, &state);
      CU_ASSERT_EQUAL(status, ERR_OK);
      if (status != ERR_OK)
        fprintf(stderr, "\n  %s: io_write: %s", what, err_message());
      err_clear();
      field_destroy(&f);
      if (team->rank == 0) {
        wrong += check_file(path, &l, what);
        CU_ASSERT_EQUAL(access(path, F_OK), 0);
        CU_ASSERT_EQUAL(temporaries_left(path), 0); /* committed: no PATH.tmp.* left */
      }
      /* Back in on a different layout (the next one that fits this rank count). */
      for (int d = 1; d <= NLAYOUTS; d++)
        if (make_layout(&other, sizes[n][0], sizes[n][1], team->size,
                        &layouts[(c + d) % NLAYOUTS])) {
          wrong_back += check_read_back(path, &other, cfg, team, what);
          break;
        }
    }
    cfg_destroy(&cfg);
  }
  CU_ASSERT_EQUAL(wrong, 0);
  CU_ASSERT_EQUAL(wrong_back, 0);
  io_set_slab_bytes(0);
  remove_output(team, path);
  team_destroy(&team);
}

static void test_gathered_file_equals_field(void) { run_all("gather", 0); }

/* Three rows a slab: many slabs, each with its own gather, chunk rows and boundary rows. */
static void test_gathered_in_many_slabs_equals_field(void) { run_all("gather", 8 * 15 * 3); }

#ifdef H5_HAVE_PARALLEL
static void test_parallel_file_equals_field(void) { run_all("parallel", 0); }
#endif

/* A file whose ring does not hold the config's boundary is refused, on every rank alike. */
static void test_read_refuses_other_boundary(void) {
  struct team *team = NULL;
  CU_ASSERT_EQUAL_FATAL(team_create(MPI_COMM_WORLD, &team), ERR_OK);
  CU_ASSERT_EQUAL_FATAL(team_split_nodes(team, 0), ERR_OK);
  make_dir(team);
  char path[128];
  snprintf(path, sizeof path, "%s/out.h5", dir);
  struct cfg *cfg = make_cfg(7, 5, "gather", path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
  struct decomp_layout l;
  CU_ASSERT_TRUE_FATAL(make_layout(&l, 7, 5, team->size, &layouts[0]));
  struct field *f = NULL;
  CU_ASSERT_EQUAL_FATAL(field_create(&l, team, &boundary, 0.0, 1, &f), ERR_OK);
  struct io_state state = {.iterations = 42, .residual = 1e-5, .converged = true};
  CU_ASSERT_EQUAL(io_write(path, f, &boundary, cfg, team, &state), ERR_OK);
  struct field_boundary other = boundary;
  static const double seven[RING_MAX] = {[0 ... RING_MAX - 1] = 7.0};
  other.side[DECOMP_EAST] = seven;
  int64_t iterations = 0;
  CU_ASSERT_EQUAL(io_read(path, f, &other, cfg, team, &iterations), ERR_CONFIG);
  if (team->rank == 0)
    CU_ASSERT_PTR_NOT_NULL(strstr(err_message(), "boundary.right"));
  err_clear();
  field_destroy(&f);
  cfg_destroy(&cfg);
  remove_output(team, path);
  team_destroy(&team);
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"gathered_file_equals_field", test_gathered_file_equals_field},
      {"gathered_in_many_slabs_equals_field", test_gathered_in_many_slabs_equals_field},
#ifdef H5_HAVE_PARALLEL
      {"parallel_file_equals_field", test_parallel_file_equals_field},
#endif
      {"read_refuses_other_boundary", test_read_refuses_other_boundary},
  };
  return TESTS_ADD_SUITE("output", cases);
}
