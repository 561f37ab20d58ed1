/* test_output.c - the written file holds, value for value, the field the ranks hold: interior,
 * boundary ring and corners, the owner map, the interior datasets /source and /fixed and the
 * attributes, for block, cyclic and block-cyclic over several process grids, gathered (in one
 * slab and in many) and, with a parallel HDF5, written collectively. A file read back on a
 * different layout puts every value into the right tile. io_read_interior puts a user's
 * dataset of any numeric type in place and refuses, on every rank alike, every kind of bad
 * file with one message. Run under mpiexec with 1 to 4 ranks. */
#include "common/err.h"
#include "decomp/decomp.h"
#include "io/cfg.h"
#include "io/output.h"
#include "runtime/field.h"
#include "runtime/team.h"
#include "tests/cunit_main.h"

#include <dirent.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
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

/* The ring's values, distinct per side and per point (negative, never an encode() value), so
 * that a ring written from the wrong side or place is caught. Long enough for every grid. */
enum { RING_POINTS = 64 };
static double ring_values[DECOMP_NSIDES][RING_POINTS];
static struct field_boundary boundary;

static void make_boundary(void) {
  for (int side = 0; side < DECOMP_NSIDES; side++) {
    for (int c = 0; c < RING_POINTS; c++)
      ring_values[side][c] = -100.0 * (side + 1) - (double)c / 64.0;
    boundary.side[side] = ring_values[side];
  }
}

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
    return boundary.side[DECOMP_NORTH][j];
  if (i == l->ny + 1)
    return boundary.side[DECOMP_SOUTH][j];
  if (j == 0)
    return boundary.side[DECOMP_WEST][i];
  if (j == l->nx + 1)
    return boundary.side[DECOMP_EAST][i];
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

/* ---- the interior datasets and the plate's attributes ---- */

/* What a general plate's arrays hold in the test: distinct per point, exact. */
static double source_value(int64_t gi, int64_t gj) { return -encode(gi, gj) / 8.0; }
static unsigned char fixed_value(int64_t gi, int64_t gj) {
  return (unsigned char)((gi * 31 + gj * 7) % 255); /* 255 marks the ring: never a value */
}

/* Give the field source and fixed arrays (field.h's layout), the ring points filled with
 * values no interior point has, so that one read from the ring is caught. field_destroy frees
 * them. */
static void attach_interior(struct field *f) {
  size_t n = (size_t)f->buffer_len;
  f->source = malloc((n > 0 ? n : 1) * sizeof *f->source);
  f->fixed = malloc(n > 0 ? n : 1);
  CU_ASSERT_TRUE_FATAL(f->source != NULL && f->fixed != NULL);
  for (size_t k = 0; k < n; k++) {
    f->source[k] = NAN;
    f->fixed[k] = 255;
  }
  for (int64_t t = 0; t < f->ntiles; t++) {
    const struct decomp_tile *tile = &f->tiles[t];
    int64_t stride = field_stride(f, t), at = f->tile_offset[t] + f->depth * stride + f->depth;
    for (int64_t li = 0; li < tile->nrows; li++)
      for (int64_t lj = 0; lj < tile->ncols; lj++) {
        f->source[at + li * stride + lj] = source_value(tile->row0 + li, tile->col0 + lj);
        f->fixed[at + li * stride + lj] = fixed_value(tile->row0 + li, tile->col0 + lj);
      }
  }
}

static double read_f64(hid_t file, const char *name) {
  double v = -12345;
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  CU_ASSERT_TRUE(a >= 0);
  if (a >= 0) {
    CU_ASSERT_TRUE(H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
  }
  return v;
}

static const double heat_regions[2] = {-1.5, 2.25};
static const struct io_heat heat = {.edge = {10.0, -20.0, 30.0, -40.0},
                                    .region = heat_regions,
                                    .nregions = 2,
                                    .source = 17.5,
                                    .imbalance = 1e-9,
                                    .imbalance_bound = 3e-9};

/* Dataset `name` of file: its type (class, size, sign) and shape (ny, nx); its values into
 * out (as double). */
static bool read_interior_dataset(hid_t file, const char *name, const struct decomp_layout *l,
                                  H5T_class_t cls, size_t size, double *out, const char *what) {
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  CU_ASSERT_TRUE(d >= 0);
  if (d < 0) {
    fprintf(stderr, "\n  %s: no %s", what, name);
    return false;
  }
  hid_t type = H5Dget_type(d), space = H5Dget_space(d);
  hsize_t dims[2] = {0, 0};
  bool ok = H5Tget_class(type) == cls && H5Tget_size(type) == size &&
            (cls != H5T_INTEGER || H5Tget_sign(type) == H5T_SGN_NONE) &&
            H5Sget_simple_extent_ndims(space) == 2 &&
            H5Sget_simple_extent_dims(space, dims, NULL) == 2 && dims[0] == (hsize_t)l->ny &&
            dims[1] == (hsize_t)l->nx;
  if (!ok)
    fprintf(stderr,
            "\n  %s: %s has class %d size %zu shape (%llu, %llu), want class %d size %zu "
            "shape (%lld, %lld)",
            what, name, (int)H5Tget_class(type), H5Tget_size(type), (unsigned long long)dims[0],
            (unsigned long long)dims[1], (int)cls, size, (long long)l->ny, (long long)l->nx);
  else
    ok = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
  CU_ASSERT_TRUE(ok);
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(d);
  return ok;
}

/* Rank 0: the plate's attributes always; with `interior`, /source, /fixed and the heat
 * attributes hold what was written; without, none of these is there. The sidecar is in
 * metres. Count what differs. */
static int64_t check_interior_file(const char *path, const struct decomp_layout *l,
                                   const struct cfg *cfg, bool interior, const char *what) {
  int64_t wrong = 0;
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  CU_ASSERT_TRUE_FATAL(file >= 0);
  CU_ASSERT_EQUAL(read_f64(file, "width"), cfg->width);
  CU_ASSERT_EQUAL(read_f64(file, "height"), cfg->height);
  CU_ASSERT_EQUAL(read_f64(file, "spacing"), cfg_spacing(cfg));
  CU_ASSERT_EQUAL(read_f64(file, "conductivity"), cfg->conductivity);
  CU_ASSERT_EQUAL(read_f64(file, "thickness"), cfg->thickness);
  if (!interior) {
    CU_ASSERT_EQUAL(H5Lexists(file, "source", H5P_DEFAULT), 0);
    CU_ASSERT_EQUAL(H5Lexists(file, "fixed", H5P_DEFAULT), 0);
    CU_ASSERT_EQUAL(H5Aexists(file, "heat_top"), 0);
    CU_ASSERT_EQUAL(H5Aexists(file, "heat_regions"), 0);
  } else {
    double *v = malloc((size_t)(l->nx * l->ny) * sizeof *v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    for (int k = 0; k < 2; k++) {
      const char *name = k == 0 ? "/source" : "/fixed";
      if (!read_interior_dataset(file, name, l, k == 0 ? H5T_FLOAT : H5T_INTEGER, k == 0 ? 8 : 1, v,
                                 what)) {
        wrong++;
        continue;
      }
      for (int64_t i = 0; i < l->ny; i++)
        for (int64_t j = 0; j < l->nx; j++) {
          double want = k == 0 ? source_value(i, j) : (double)fixed_value(i, j);
          if (v[i * l->nx + j] != want && wrong++ == 0)
            fprintf(stderr, "\n  %s: %s[%lld][%lld] want %.17g got %.17g", what, name, (long long)i,
                    (long long)j, want, v[i * l->nx + j]);
        }
    }
    free(v);
    CU_ASSERT_EQUAL(read_f64(file, "heat_top"), heat.edge[DECOMP_NORTH]);
    CU_ASSERT_EQUAL(read_f64(file, "heat_bottom"), heat.edge[DECOMP_SOUTH]);
    CU_ASSERT_EQUAL(read_f64(file, "heat_left"), heat.edge[DECOMP_WEST]);
    CU_ASSERT_EQUAL(read_f64(file, "heat_right"), heat.edge[DECOMP_EAST]);
    CU_ASSERT_EQUAL(read_f64(file, "heat_source"), heat.source);
    CU_ASSERT_EQUAL(read_f64(file, "heat_imbalance"), heat.imbalance);
    CU_ASSERT_EQUAL(read_f64(file, "heat_imbalance_bound"), heat.imbalance_bound);
    double regions[2] = {0, 0};
    hid_t a = H5Aopen(file, "heat_regions", H5P_DEFAULT);
    hid_t space = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    CU_ASSERT_TRUE(a >= 0 && H5Sget_simple_extent_npoints(space) == 2 &&
                   H5Aread(a, H5T_NATIVE_DOUBLE, regions) >= 0);
    CU_ASSERT_TRUE(regions[0] == heat_regions[0] && regions[1] == heat_regions[1]);
    if (space >= 0)
      H5Sclose(space);
    if (a >= 0)
      H5Aclose(a);
  }
  H5Fclose(file);
  /* The sidecar: one grid, in metres; /source and /fixed only named in its comment. */
  char xmf[160], text[8192] = "";
  snprintf(xmf, sizeof xmf, "%s/out.xmf", dir);
  FILE *in = fopen(xmf, "r");
  CU_ASSERT_PTR_NOT_NULL_FATAL(in);
  size_t len = fread(text, 1, sizeof text - 1, in);
  text[len] = '\0';
  fclose(in);
  char spacing[128];
  snprintf(spacing, sizeof spacing, ">%.17g %.17g %.17g</DataItem>", cfg_spacing(cfg),
           -cfg_spacing(cfg), cfg_spacing(cfg));
  bool one_grid =
      strstr(text, "<Grid ") != NULL && strstr(strstr(text, "<Grid ") + 1, "<Grid ") == NULL;
  bool metres = strstr(text, ">0 0 0</DataItem>") != NULL && strstr(text, spacing) != NULL;
  bool named = strstr(text, "/source and /fixed") != NULL;
  if (!one_grid || !metres || named != interior) {
    fprintf(stderr, "\n  %s: sidecar (one grid %d, metres %d, names the interior datasets %d):\n%s",
            what, one_grid, metres, named, text);
    wrong++;
  }
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

/* Every layout: write, compare on rank 0, read back on the next layout. With `interior`, the
 * field has source and fixed arrays and the state heat flows. */
static void run_all(const char *mode, int64_t slab_bytes, bool interior) {
  make_boundary();
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
      snprintf(what, sizeof what, "%s, %lldx%lld, layout %d, slab %lld bytes%s", mode,
               (long long)sizes[n][0], (long long)sizes[n][1], c, (long long)slab_bytes,
               interior ? ", source and fixed" : "");
      struct field *f = NULL;
      CU_ASSERT_EQUAL_FATAL(field_create(&l, team, &boundary, 0.0, 1, &f), ERR_OK);
      write_interior(f);
      if (interior)
        attach_interior(f);
      struct io_state state = {
          .iterations = 42, .change = 1e-5, .converged = true, .heat = interior ? &heat : NULL};
      int status = io_write(path, f, &boundary, cfg, team, &state);
      CU_ASSERT_EQUAL(status, ERR_OK);
      if (status != ERR_OK)
        fprintf(stderr, "\n  %s: io_write: %s", what, err_message());
      err_clear();
      field_destroy(&f);
      if (team->rank == 0) {
        wrong += check_file(path, &l, what);
        wrong += check_interior_file(path, &l, cfg, interior, what);
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

static void test_gathered_file_equals_field(void) { run_all("gather", 0, false); }

/* Three rows a slab: many slabs, each with its own gather, chunk rows and boundary rows. */
static void test_gathered_in_many_slabs_equals_field(void) { run_all("gather", 8 * 15 * 3, false); }

static void test_gathered_source_and_fixed_equal_field(void) { run_all("gather", 0, true); }

/* The interior datasets in slabs of their own (three rows of 13), as many as the field's. */
static void test_gathered_source_and_fixed_in_many_slabs(void) {
  run_all("gather", 8 * 15 * 3, true);
}

#ifdef H5_HAVE_PARALLEL
static void test_parallel_file_equals_field(void) { run_all("parallel", 0, false); }
static void test_parallel_source_and_fixed_equal_field(void) { run_all("parallel", 0, true); }
#endif

/* A file whose ring does not hold the config's boundary is refused, on every rank alike. */
static void test_read_refuses_other_boundary(void) {
  struct team *team = NULL;
  CU_ASSERT_EQUAL_FATAL(team_create(MPI_COMM_WORLD, &team), ERR_OK);
  CU_ASSERT_EQUAL_FATAL(team_split_nodes(team, 0), ERR_OK);
  make_dir(team);
  char path[128];
  snprintf(path, sizeof path, "%s/out.h5", dir);
  make_boundary();
  struct cfg *cfg = make_cfg(7, 5, "gather", path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
  struct decomp_layout l;
  CU_ASSERT_TRUE_FATAL(make_layout(&l, 7, 5, team->size, &layouts[0]));
  struct field *f = NULL;
  CU_ASSERT_EQUAL_FATAL(field_create(&l, team, &boundary, 0.0, 1, &f), ERR_OK);
  struct io_state state = {.iterations = 42, .change = 1e-5, .converged = true};
  CU_ASSERT_EQUAL(io_write(path, f, &boundary, cfg, team, &state), ERR_OK);
  /* One point of the right edge differs: the message names it and the value wanted. */
  static double east[RING_POINTS];
  memcpy(east, ring_values[DECOMP_EAST], sizeof east);
  east[3] = 7.0;
  struct field_boundary other = boundary;
  other.side[DECOMP_EAST] = east;
  int64_t iterations = 0;
  CU_ASSERT_EQUAL(io_read(path, f, &other, cfg, team, &iterations), ERR_CONFIG);
  if (team->rank == 0) {
    const char *want = "boundary point /temperature[3][8] is -400.046875, but boundary.right "
                       "gives 7";
    if (strstr(err_message(), want) == NULL)
      fprintf(stderr, "\n  want \"%s\" in \"%s\"", want, err_message());
    CU_ASSERT_PTR_NOT_NULL(strstr(err_message(), want));
  }
  err_clear();
  field_destroy(&f);
  cfg_destroy(&cfg);
  remove_output(team, path);
  team_destroy(&team);
}

/* ---- io_read_interior ---- */

enum { RNX = 7, RNY = 5 }; /* the interior the reads are for */

/* Rank 0: a file at path with one dataset `name` (groups on the way created) of file type
 * `type`, rank-1 or -2 shape dims, written from data (mem_type). */
static void make_input(const char *path, const char *name, hid_t type, int ndims,
                       const hsize_t *dims, hid_t mem_type, const void *data) {
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = H5Screate_simple(ndims, dims, NULL);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t d = H5Dcreate2(file, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  CU_ASSERT_TRUE(file >= 0 && space >= 0 && d >= 0);
  CU_ASSERT_TRUE(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  H5Dclose(d);
  H5Pclose(lcpl);
  H5Sclose(space);
  H5Fclose(file);
}

/* Read dataset `name` of path on layout c into a field-shaped array; with want_status ERR_OK,
 * count the interior points that differ from want(i, j) and the ring points written; else
 * check the status on every rank and, on rank 0, that the message is
 * "test.toml:3: source.from_file = "PATH": " followed by `reason`. */
static int64_t read_case(const struct team *team, const char *path, const char *name, int c,
                         int want_status, double (*want)(int64_t, int64_t), const char *reason) {
  struct decomp_layout l;
  if (!make_layout(&l, RNX, RNY, team->size, &layouts[c]))
    return 0;
  struct field *f = NULL;
  CU_ASSERT_EQUAL_FATAL(field_create(&l, team, &boundary, 0.0, 1, &f), ERR_OK);
  double *dest = malloc((size_t)(f->buffer_len > 0 ? f->buffer_len : 1) * sizeof *dest);
  CU_ASSERT_PTR_NOT_NULL_FATAL(dest);
  for (int64_t k = 0; k < f->buffer_len; k++)
    dest[k] = NAN;
  int status = io_read_interior(path, name, "source.from_file", "test.toml:3", f, team, dest);
  int64_t wrong = 0;
  CU_ASSERT_EQUAL(status, want_status);
  if (status != want_status)
    fprintf(stderr, "\n  rank %d: %s:%s layout %d: status %d, want %d (%s)", team->rank, path, name,
            c, status, want_status, err_message());
  if (want_status != ERR_OK && team->rank == 0) {
    char expect[1024];
    snprintf(expect, sizeof expect, "test.toml:3: source.from_file = \"%s\": %s", path, reason);
    if (strcmp(err_message(), expect) != 0) {
      fprintf(stderr, "\n  want \"%s\"\n  got  \"%s\"", expect, err_message());
      wrong++;
    }
  }
  err_clear();
  if (want_status == ERR_OK) {
    int64_t placed = 0;
    for (int64_t t = 0; t < f->ntiles; t++) {
      const struct decomp_tile *tile = &f->tiles[t];
      int64_t stride = field_stride(f, t), at = f->tile_offset[t] + f->depth * stride + f->depth;
      for (int64_t li = 0; li < tile->nrows; li++)
        for (int64_t lj = 0; lj < tile->ncols; lj++) {
          double w = want(tile->row0 + li, tile->col0 + lj), got = dest[at + li * stride + lj];
          placed++;
          if (got != w && wrong++ == 0)
            fprintf(stderr, "\n  rank %d %s:%s layout %d: (%lld, %lld) want %.17g got %.17g",
                    team->rank, path, name, c, (long long)(tile->row0 + li),
                    (long long)(tile->col0 + lj), w, got);
        }
    }
    int64_t untouched = 0; /* every other place of the buffer: the rings */
    for (int64_t k = 0; k < f->buffer_len; k++)
      untouched += isnan(dest[k]);
    if (untouched != f->buffer_len - placed && wrong++ == 0)
      fprintf(stderr, "\n  rank %d %s: %lld places outside the interior written", team->rank, name,
              (long long)(f->buffer_len - placed - untouched));
  }
  free(dest);
  field_destroy(&f);
  return wrong;
}

static double int_value(int64_t i, int64_t j) { return (double)(i * 100 + j - 250); }
static double float_value(int64_t i, int64_t j) { return (double)i + (double)j / 4.0; }
static double mask_value(int64_t i, int64_t j) { return (double)((i + j) % 3 == 0); }

/* Any numeric type, on every layout, in one slab and in slabs of one and two rows. */
static void test_read_interior_any_numeric_type(void) {
  struct team *team = NULL;
  CU_ASSERT_EQUAL_FATAL(team_create(MPI_COMM_WORLD, &team), ERR_OK);
  CU_ASSERT_EQUAL_FATAL(team_split_nodes(team, 0), ERR_OK);
  make_dir(team);
  make_boundary();
  char ints[128], floats[128], masks[128];
  snprintf(ints, sizeof ints, "%s/ints.h5", dir);
  snprintf(floats, sizeof floats, "%s/floats.h5", dir);
  snprintf(masks, sizeof masks, "%s/masks.h5", dir);
  if (team->rank == 0) {
    int32_t iv[RNY][RNX];
    float fv[RNY][RNX];
    uint8_t mv[RNY][RNX];
    for (int i = 0; i < RNY; i++)
      for (int j = 0; j < RNX; j++) {
        iv[i][j] = (int32_t)int_value(i, j);
        fv[i][j] = (float)float_value(i, j);
        mv[i][j] = (uint8_t)mask_value(i, j);
      }
    hsize_t dims[2] = {RNY, RNX};
    make_input(ints, "/q", H5T_STD_I32BE, 2, dims, H5T_NATIVE_INT32, iv);
    make_input(floats, "q", H5T_IEEE_F32LE, 2, dims, H5T_NATIVE_FLOAT, fv);
    make_input(masks, "/masks/heater", H5T_STD_U8LE, 2, dims, H5T_NATIVE_UINT8, mv);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  int64_t wrong = 0;
  static const int64_t slab_bytes[] = {0, 8 * RNX, 8 * RNX * 2};
  for (size_t b = 0; b < sizeof slab_bytes / sizeof slab_bytes[0]; b++) {
    io_set_slab_bytes(slab_bytes[b]);
    for (int c = 0; c < NLAYOUTS; c++) {
      wrong += read_case(team, ints, "/q", c, ERR_OK, int_value, NULL);
      wrong += read_case(team, floats, "q", c, ERR_OK, float_value, NULL);
      wrong += read_case(team, masks, "/masks/heater", c, ERR_OK, mask_value, NULL);
    }
  }
  io_set_slab_bytes(0);
  CU_ASSERT_EQUAL(wrong, 0);
  if (team->rank == 0) {
    unlink(ints);
    unlink(floats);
    unlink(masks);
    rmdir(dir);
  }
  team_destroy(&team);
}

/* Every bad input is ERR_CONFIG on every rank, with one message naming key, file and what is
 * wrong; a NaN in a later slab too (the scatters go on, nobody waits). */
static void test_read_interior_refuses_bad_files(void) {
  struct team *team = NULL;
  CU_ASSERT_EQUAL_FATAL(team_create(MPI_COMM_WORLD, &team), ERR_OK);
  CU_ASSERT_EQUAL_FATAL(team_split_nodes(team, 0), ERR_OK);
  make_dir(team);
  make_boundary();
  char shape[128], flat[128], nan[128], text[128], strings[128], missing[128];
  snprintf(shape, sizeof shape, "%s/shape.h5", dir);
  snprintf(flat, sizeof flat, "%s/flat.h5", dir);
  snprintf(nan, sizeof nan, "%s/nan.h5", dir);
  snprintf(text, sizeof text, "%s/text.h5", dir);
  snprintf(strings, sizeof strings, "%s/strings.h5", dir);
  snprintf(missing, sizeof missing, "%s/missing.h5", dir);
  if (team->rank == 0) {
    double v[(RNY + 1) * RNX];
    for (int k = 0; k < (RNY + 1) * RNX; k++)
      v[k] = k;
    hsize_t wrong_dims[2] = {RNY + 1, RNX}, dims[2] = {RNY, RNX}, n[1] = {RNY * RNX};
    make_input(shape, "/q", H5T_IEEE_F64LE, 2, wrong_dims, H5T_NATIVE_DOUBLE, v);
    make_input(flat, "/q", H5T_IEEE_F64LE, 1, n, H5T_NATIVE_DOUBLE, v);
    v[4 * RNX + 2] = NAN; /* row 4: the last slab when slabs are small */
    make_input(nan, "/q", H5T_IEEE_F64LE, 2, dims, H5T_NATIVE_DOUBLE, v);
    FILE *out = fopen(text, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    fputs("q = 1\n", out);
    fclose(out);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, 4);
    char cells[RNY * RNX][4];
    memset(cells, 'a', sizeof cells);
    make_input(strings, "/q", str, 2, dims, str, cells);
    H5Tclose(str);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct {
    const char *path, *name, *reason;
  } cases[] = {
      {shape, "/q",
       "dataset /q has shape (6, 7), expected (ny, nx) = (5, 7), the plate's interior"},
      {flat, "/q",
       "dataset /q has 1 dimensions, expected 2: (ny, nx) = (5, 7), the plate's interior"},
      {shape, "/nope", "no dataset /nope in the file"},
      {shape, "/g/nope", "no dataset /g/nope in the file"},
      {nan, "/q", "/q[4][2] is nan: not finite"},
      {text, "/q", "not an HDF5 file"},
      {strings, "/q", "dataset /q holds a string, expected numbers (integers or floats)"},
      {missing, "/q", "No such file or directory"},
      {dir, "/q", "it is a directory, not a regular file"},
  };
  int64_t wrong = 0;
  for (int small = 0; small < 2; small++) {
    io_set_slab_bytes(small ? 8 * RNX : 0);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
      for (int c = 0; c < NLAYOUTS; c += 3)
        wrong +=
            read_case(team, cases[k].path, cases[k].name, c, ERR_CONFIG, NULL, cases[k].reason);
  }
  io_set_slab_bytes(0);
  CU_ASSERT_EQUAL(wrong, 0);
  /* A group where the dataset should be. */
  if (team->rank == 0) {
    hsize_t dims[2] = {RNY, RNX};
    double v[RNY * RNX] = {0};
    make_input(shape, "/g/q", H5T_IEEE_F64LE, 2, dims, H5T_NATIVE_DOUBLE, v);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  CU_ASSERT_EQUAL(read_case(team, shape, "/g", 0, ERR_CONFIG, NULL, "/g is a group, not a dataset"),
                  0);
  if (team->rank == 0) {
    unlink(shape);
    unlink(flat);
    unlink(nan);
    unlink(text);
    unlink(strings);
    rmdir(dir);
  }
  team_destroy(&team);
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"gathered_file_equals_field", test_gathered_file_equals_field},
      {"gathered_in_many_slabs_equals_field", test_gathered_in_many_slabs_equals_field},
      {"gathered_source_and_fixed_equal_field", test_gathered_source_and_fixed_equal_field},
      {"gathered_source_and_fixed_in_many_slabs", test_gathered_source_and_fixed_in_many_slabs},
#ifdef H5_HAVE_PARALLEL
      {"parallel_file_equals_field", test_parallel_file_equals_field},
      {"parallel_source_and_fixed_equal_field", test_parallel_source_and_fixed_equal_field},
#endif
      {"read_refuses_other_boundary", test_read_refuses_other_boundary},
      {"read_interior_any_numeric_type", test_read_interior_any_numeric_type},
      {"read_interior_refuses_bad_files", test_read_interior_refuses_bad_files},
  };
  return TESTS_ADD_SUITE("output", cases);
}
