/* test_plate.c - the faces plate's assembly (solver/plate.c) against the contract of
 * runtime/field.h, from a real config (cfg_create) on a real decomposition: every conductance
 * >= 0, each diagonal at least its conductances' sum, the matrix symmetric bit for bit across
 * every face (tile and rank boundaries included: the rings hold the owners' values), the rings
 * beyond edges that are not held read through conductance 0, held points identity rows, and a
 * heater's shares totalling its power. Runs under mpiexec with any rank count. */
#include "common/err.h"
#include "decomp/decomp.h"
#include "io/cfg.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"
#include "solver/plate.h"
#include "tests/cunit_main.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every edge kind, a conductivity expression with a steel insert, the faces, a heater across the
 * insulated top edge (half cells) and a held disk. */
static const char *const plate_text =
    "[grid]\nnx = 23\nny = 14\n"
    "[plate]\nwidth = 0.3\nconductivity = \"100 + 200 * x\"\nthickness = 0.005\n"
    "[boundary]\ntop = \"insulated\"\nleft = 80.0\n"
    "[boundary.bottom]\nh = 25.0\nambient = 20.0\n"
    "[boundary.right]\nflux = \"500 * y\"\n"
    "[surface]\nh = 10.0\nambient = 20.0\n"
    "[[region]]\nshape = \"rectangle\"\nx0 = 0.1\nx1 = 0.15\ny0 = 0.0\ny1 = 0.1\n"
    "conductivity = 16.0\n"
    "[[region]]\nshape = \"rectangle\"\nx0 = 0.2\nx1 = 0.26\ny0 = 0.0\ny1 = 0.03\npower = 7.5\n"
    "[[region]]\nshape = \"disk\"\ncx = 0.06\ncy = 0.1\nradius = 0.02\ntemperature = 5.0\n";

struct setup {
  struct team *team;
  struct cfg *cfg;
  struct decomp_layout layout;
  struct plate plate;
  struct field *field;
  struct halo *halo;
};

static void teardown(struct setup *s) {
  halo_destroy(&s->halo);
  field_destroy(&s->field);
  plate_destroy(&s->plate);
  cfg_destroy(&s->cfg);
  team_destroy(&s->team);
}

static int build(struct setup *s, enum decomp_kind kind, int64_t block, int64_t depth) {
  memset(s, 0, sizeof *s);
  CHECK(team_create(MPI_COMM_WORLD, &s->team));
  CHECK(team_split_nodes(s->team, 0));
  CHECK(cfg_create(plate_text, strlen(plate_text), "test.toml", NULL, 0, &s->cfg));
  int dims[2] = {0, 0};
  CHECK(decomp_dims_fill(s->team->size, dims));
  CHECK(decomp_layout_init(&s->layout, s->cfg->nx, s->cfg->ny, s->team->size, dims, kind, block));
  CHECK(plate_create(s->cfg, s->team, &s->plate));
  CHECK(field_create(&s->layout, s->team, &s->plate.boundary, 0.0, depth, &s->field));
  CHECK(plate_fill(&s->plate, s->field, s->team));
  CHECK(halo_create(s->field, s->team, HALO_AUTO, &s->halo));
  return plate_fill_rings(&s->plate, s->field, s->halo, s->team);
}

/* Whether global point (gi, gj) lies in the held disk (the plate's third region): x = (gj + 1) h
 * (the left edge is held), y = gi h (the top is not); the fixed array's rings are not filled. */
static bool held_global(const struct setup *s, int64_t gi, int64_t gj) {
  double h = s->plate.spacing, x = (double)(gj + 1) * h - 0.06, y = (double)gi * h - 0.1;
  double reach = 0.02 + 1e-9 * h;
  return x * x + y * y <= reach * reach;
}

/* The contract at every point this rank owns; counts what it checked. */
static void check_contract(const struct setup *s, int64_t *faces_checked) {
  const struct field *f = s->field;
  int64_t nx = s->cfg->nx, ny = s->cfg->ny;
  for (int64_t t = 0; t < f->ntiles; t++) {
    int64_t stride = field_stride(f, t);
    const int64_t step[DECOMP_NSIDES] = {-stride, stride, -1, 1};
    const int opposite[DECOMP_NSIDES] = {DECOMP_SOUTH, DECOMP_NORTH, DECOMP_EAST, DECOMP_WEST};
    for (int64_t li = 0; li < f->tiles[t].nrows; li++)
      for (int64_t lj = 0; lj < f->tiles[t].ncols; lj++) {
        int64_t o = f->tile_offset[t] + (li + f->depth) * stride + lj + f->depth;
        int64_t gi = f->tiles[t].row0 + li, gj = f->tiles[t].col0 + lj;
        const bool ring[DECOMP_NSIDES] = {gi == 0, gi == ny - 1, gj == 0, gj == nx - 1};
        const bool free_edge[DECOMP_NSIDES] = {true, true, false, true}; /* top, bottom, right */
        bool held = f->fixed != NULL && f->fixed[o] > 0;
        EXPECT(held == held_global(s, gi, gj), "(%lld, %lld): held %d, the disk says %d",
               (long long)gi, (long long)gj, held, held_global(s, gi, gj));
        double sum = 0.0;
        for (int d = 0; d < DECOMP_NSIDES; d++) {
          double c = f->cond[d][o];
          EXPECT(c >= 0.0 && isfinite(c), "(%lld, %lld): conductance %d = %g, expected >= 0",
                 (long long)gi, (long long)gj, d, c);
          if (held)
            EXPECT(c == 0.0, "held (%lld, %lld): conductance %d = %g, expected 0", (long long)gi,
                   (long long)gj, d, c);
          if (ring[d] && free_edge[d])
            EXPECT(c == 0.0, "(%lld, %lld): conductance %d to the ring of an edge not held = %g",
                   (long long)gi, (long long)gj, d, c);
          const int64_t di[DECOMP_NSIDES] = {-1, 1, 0, 0}, dj[DECOMP_NSIDES] = {0, 0, -1, 1};
          if (!ring[d] && !held && !held_global(s, gi + di[d], gj + dj[d])) {
            /* the neighbour's conductance back, from the ring (its owner's value) or the tile */
            double back = f->cond[opposite[d]][o + step[d]];
            EXPECT(memcmp(&c, &back, sizeof c) == 0,
                   "(%lld, %lld) side %d: %.17g, the neighbour's back %.17g: not symmetric",
                   (long long)gi, (long long)gj, d, c, back);
            (*faces_checked)++;
          }
          sum += c;
        }
        if (held)
          EXPECT(f->diag[o] == 1.0 && f->load[o] == 5.0, "held (%lld, %lld): diag %g, load %g",
                 (long long)gi, (long long)gj, f->diag[o], f->load[o]);
        else
          EXPECT(f->diag[o] >= sum && f->diag[o] > 0,
                 "(%lld, %lld): diag %.17g below its "
                 "conductances' sum %.17g",
                 (long long)gi, (long long)gj, f->diag[o], sum);
      }
  }
}

static void test_faces_assembly_is_a_symmetric_m_matrix(void) {
  const struct {
    enum decomp_kind kind;
    int64_t block, depth;
  } cases[] = {{DECOMP_BLOCK, 1, 1}, {DECOMP_CYCLIC, 1, 2}, {DECOMP_BLOCK_CYCLIC, 3, 3}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    struct setup s;
    int status = build(&s, cases[c].kind, cases[c].block, cases[c].depth);
    EXPECT(status == ERR_OK, "case %zu: building the plate failed: %s", c, err_message());
    if (status == ERR_OK) {
      EXPECT(s.plate.faces && field_faces(s.field), "case %zu: not a faces plate", c);
      int64_t faces = 0, total = 0;
      /* with one-deep rings the conductances' rings are not filled (nothing reads them): the
       * symmetry across tiles is checked where they are (depth > 1) */
      if (cases[c].depth > 1 || s.field->ntiles * s.team->size == 1) {
        check_contract(&s, &faces);
        MPI_Allreduce(&faces, &total, 1, MPI_INT64_T, MPI_SUM, s.team->comm);
        EXPECT(total > 500, "case %zu: only %lld faces compared", c, (long long)total);
      }
      /* the heater delivers its power, summed exactly */
      EXPECT(fabs(s.plate.heater_power[1] - 7.5) <= 1e-14 * 7.5 && s.plate.heater_quarters[1] > 0,
             "case %zu: the heater delivers %.17g W from %lld quarter cells, expected 7.5", c,
             s.plate.heater_power[1], (long long)s.plate.heater_quarters[1]);
      EXPECT(s.plate.conductivity_varies, "case %zu: k varies, the plate says not", c);
    }
    teardown(&s);
  }
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"faces assembly is a symmetric M-matrix on every decomposition",
       test_faces_assembly_is_a_symmetric_m_matrix},
  };
  return TESTS_ADD_SUITE("plate", cases);
}
