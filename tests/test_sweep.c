/* test_sweep.c - the Jacobi kernel against numbers worked by hand. */
#include "solver/kernel/operator.h"
#include "solver/kernel/sweep.h"
#include "solver/kernel/sweep_sets.h"
#include "tests/cunit_main.h"
#include "tests/sweep_wide_check.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 3, COLS = 4, STRIDE = COLS + 2 };
enum { MAX_LEVELS = 5 }; /* the deepest temporal block the window tests run */

/* A 3 x 4 interior with its halo ring: top edge `top`, left edge `left`, others 0. */
static void plate(double g[ROWS + 2][STRIDE], double top, double left) {
  memset(g, 0, sizeof(double) * (ROWS + 2) * STRIDE);
  for (int j = 1; j <= COLS; j++)
    g[0][j] = top;
  for (int i = 1; i <= ROWS; i++)
    g[i][0] = left;
}

static void assert_interior(double g[ROWS + 2][STRIDE], const double want[ROWS][COLS]) {
  for (int i = 0; i < ROWS; i++)
    for (int j = 0; j < COLS; j++) {
      if (g[i + 1][j + 1] != want[i][j])
        fprintf(stderr, "\n  point (%d,%d): want %.17g, got %.17g", i, j, want[i][j],
                g[i + 1][j + 1]);
      CU_ASSERT_EQUAL(g[i + 1][j + 1], want[i][j]);
    }
}

/* Top 4, interior 0: the first row becomes 0.25 * 4 = 1; max diff 1. */
static void test_first_sweep_of_hot_top_edge(void) {
  double in[ROWS + 2][STRIDE], out[ROWS + 2][STRIDE];
  plate(in, 4.0, 0.0);
  plate(out, 4.0, 0.0);
  double diff = sweep_tile(&in[0][0], &out[0][0], ROWS, COLS, STRIDE);
  const double want[ROWS][COLS] = {{1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}};
  assert_interior(out, want);
  CU_ASSERT_EQUAL(diff, 1.0);
}

/* Second sweep: (0,0) = 0.25*((4+0)+(0+1)) = 1.25, (0,1) = 0.25*((4+0)+(1+1)) = 1.5,
 * row 1 = 0.25*((1+0)+(0+0)) = 0.25; max diff |1.5 - 1| = 0.5. */
static void test_second_sweep_spreads_heat(void) {
  double a[ROWS + 2][STRIDE], b[ROWS + 2][STRIDE];
  plate(a, 4.0, 0.0);
  plate(b, 4.0, 0.0);
  sweep_tile(&a[0][0], &b[0][0], ROWS, COLS, STRIDE);
  double diff = sweep_tile(&b[0][0], &a[0][0], ROWS, COLS, STRIDE);
  const double want[ROWS][COLS] = {{1.25, 1.5, 1.5, 1.25}, {0.25, 0.25, 0.25, 0.25}, {0, 0, 0, 0}};
  assert_interior(a, want);
  CU_ASSERT_EQUAL(diff, 0.5);
}

/* Top 8, left 4: (0,0) = 0.25*((8+0)+(4+0)) = 3, rest of row 0 = 2, column 0 below = 1. */
static void test_two_hot_edges(void) {
  double in[ROWS + 2][STRIDE], out[ROWS + 2][STRIDE];
  plate(in, 8.0, 4.0);
  plate(out, 8.0, 4.0);
  double diff = sweep_tile(&in[0][0], &out[0][0], ROWS, COLS, STRIDE);
  const double want[ROWS][COLS] = {{3, 2, 2, 2}, {1, 0, 0, 0}, {1, 0, 0, 0}};
  assert_interior(out, want);
  CU_ASSERT_EQUAL(diff, 3.0);
}

/* The parenthesisation is part of the contract. With up 1, down 1e-16, left 1e-16, right -1:
 * 0.25*((up+down)+(left+right)) = 0.25*(1 + (-1+1e-16)) = 2^-55, while summing left to right
 * gives 0 and pairing (up+right)+(down+left) gives 0.25*2e-16. */
static void test_canonical_order_of_operations(void) {
  double in[3][3] = {{0, 1.0, 0}, {1e-16, 0, -1.0}, {0, 1e-16, 0}};
  double out[3][3] = {{0}};
  sweep_tile(&in[0][0], &out[0][0], 1, 1, 3);
  CU_ASSERT_EQUAL(out[1][1], 0x1p-55);
}

/* The halo ring of `out` is left alone, and a stride wider than the tile is honoured. */
static void test_halo_untouched_and_stride_honoured(void) {
  enum { WIDE = 9 };
  double in[4][WIDE], out[4][WIDE];
  for (int k = 0; k < 4 * WIDE; k++) {
    (&in[0][0])[k] = 2.0;
    (&out[0][0])[k] = -7.0;
  }
  double diff = sweep_tile(&in[0][0], &out[0][0], 2, 3, WIDE);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < WIDE; j++) {
      bool interior = i >= 1 && i <= 2 && j >= 1 && j <= 3;
      CU_ASSERT_EQUAL(out[i][j], interior ? 2.0 : -7.0);
    }
  CU_ASSERT_EQUAL(diff, 0.0);
}

static void test_empty_tile_has_zero_diff(void) {
  double in[2][2] = {{1, 2}, {3, 4}}, out[2][2] = {{5, 6}, {7, 8}};
  CU_ASSERT_EQUAL(sweep_tile(&in[0][0], &out[0][0], 0, 0, 2), 0.0);
  CU_ASSERT_EQUAL(out[1][1], 8.0);
}

/* Scratch rows as a wavefront finds them: NaN, so a point it reads without writing shows. */
static void poison(double *values, size_t n) {
  for (size_t k = 0; k < n; k++)
    values[k] = NAN;
}

/* n pseudo-random values of both signs spanning magnitudes 2^-20 .. 2^20, so that rounding has
 * work to do; the same for the same seed. */
static void spread_values(double *values, size_t n, unsigned seed) {
  for (size_t k = 0; k < n; k++) {
    seed = seed * 1103515245u + 12345u;
    values[k] = ldexp((double)(seed >> 8) / 16777216.0 - 0.5, (int)(seed % 41) - 20);
  }
}

/* Both store paths, over shapes that exercise the vector body, the alignment peel and the
 * scalar tail, on tiles starting at either 8-byte phase: the same bits everywhere, halo ring
 * untouched, and the same max diff. Values span magnitudes so rounding has work to do. */
static void test_streaming_stores_give_identical_bits(void) {
  enum { MAXN = 23, PAD = 1 };
  static double in[(MAXN + 2) * (MAXN + 3) + PAD], regular[(MAXN + 2) * (MAXN + 3) + PAD],
      streamed[(MAXN + 2) * (MAXN + 3) + PAD];
  size_t total = sizeof in / sizeof in[0];
  spread_values(in, total, 12345u);
  for (int64_t rows = 0; rows <= 5; rows++)
    for (int64_t cols = 0; cols <= MAXN; cols++)
      for (int64_t extra = 0; extra <= 1; extra++) /* stride ncols + 2 and ncols + 3 */
        for (size_t phase = 0; phase <= PAD; phase++) {
          int64_t stride = cols + 2 + extra;
          for (size_t k = 0; k < total; k++)
            regular[k] = streamed[k] = -3.0;
          double d1 = sweep_tile(in, regular + phase, rows, cols, stride);
          double d2 = sweep_tile_streaming(in, streamed + phase, rows, cols, stride);
          CU_ASSERT_EQUAL(d1, d2);
          CU_ASSERT_EQUAL(memcmp(regular, streamed, sizeof regular), 0);
          /* and the regular path wrote exactly the interior */
          for (int64_t i = 0; i < rows + 2; i++)
            for (int64_t j = 0; j < stride; j++) {
              bool interior = i >= 1 && i <= rows && j >= 1 && j <= cols;
              if (!interior)
                CU_ASSERT_EQUAL(regular[phase + (size_t)(i * stride + j)], -3.0);
            }
        }
}

/* A sweep under test: sweep_tile's update and, wanted, its diff (else 0), by some other path. */
typedef double (*sweep_under_test)(const void *how, const double *in, double *out, int64_t rows,
                                   int64_t cols, int64_t stride, bool want_diff);

/* The test values of pass `pass` (0 .. VALUE_PASSES - 1): values of every magnitude (0); the
 * same with NaNs among them (1: one NaN, so every NaN computed carries its bits; a NaN's diff is
 * dropped from the max, as sweep_tile drops it), with infinities of both signs (2: their sums
 * make the machine's default NaN), and with subnormals (3). */
enum { VALUE_PASSES = 4 };
static void pass_values(double *values, size_t n, unsigned seed, int pass) {
  spread_values(values, n, seed);
  for (size_t k = 7; pass > 0 && k < n; k += 29)
    values[k] = pass == 1   ? NAN
                : pass == 2 ? (k % 2 ? INFINITY : -INFINITY)
                            : ldexp(values[k], -1060); /* below DBL_MIN */
}

/* How many shapes `run` gets other bits or another diff than sweep_tile on: shapes that take
 * the main loop of 4 vectors (of 4 or 8 doubles), its remainders, the streaming stores'
 * alignment peel (up to 7 points) and the scalar tail; strides ncols + 2 and + 3; the output
 * at each of the 8 double offsets in a 64-byte line; every pass of pass_values. The ring must
 * stay untouched. The first wrong shape is printed, headed `what`. */
static int count_wrong(sweep_under_test run, const void *how, bool want_diff, const char *what) {
  enum { MAXR = 4, MAXC = 75, PHASES = 8, SIZE = (MAXR + 2) * (MAXC + 3) + PHASES };
  static _Alignas(64) double in[SIZE], want[SIZE], got[SIZE];
  int wrong = 0;
  for (int pass = 0; pass < VALUE_PASSES; pass++) {
    pass_values(in, SIZE, 4242u, pass);
    for (int64_t rows = 0; rows <= MAXR; rows++)
      for (int64_t cols = 0; cols <= MAXC; cols++)
        for (int64_t extra = 0; extra <= 1; extra++)
          for (size_t phase = 0; phase < PHASES; phase++) {
            int64_t stride = cols + 2 + extra;
            for (size_t k = 0; k < SIZE; k++)
              want[k] = got[k] = -3.0;
            double d1 = sweep_tile(in, want + phase, rows, cols, stride);
            double d2 = run(how, in, got + phase, rows, cols, stride, want_diff);
            /* and sweep_tile's diff is the scalar loop's (sweep_tile_change) */
            double d0 = sweep_tile_change(in, rows, cols, stride);
            if (d1 != d0 || d2 != (want_diff ? d1 : 0.0) || memcmp(want, got, sizeof want) != 0) {
              if (wrong++ == 0)
                fprintf(stderr,
                        "\n  %s, want_diff %d, %lld x %lld stride %lld phase %zu%s: diff %.17g "
                        "against %.17g (scalar %.17g), or other bits",
                        what, want_diff, (long long)rows, (long long)cols, (long long)stride, phase,
                        pass == 0   ? ""
                        : pass == 1 ? ", NaNs in"
                        : pass == 2 ? ", infinities in"
                                    : ", subnormals in",
                        d2, d1, d0);
            }
          }
  }
  return wrong;
}

static double run_variant(const void *how, const double *in, double *out, int64_t rows,
                          int64_t cols, int64_t stride, bool want_diff) {
  return sweep_tile_variant(*(const struct sweep_variant *)how, in, out, rows, cols, stride,
                            want_diff);
}

/* Every kernel variant (each instruction set this CPU runs, AVX-512's included, both stores,
 * the diff kept or dropped, wanted or not) against sweep_tile, bit for bit (count_wrong). */
static void test_every_variant_gives_sweep_tile_bits(void) {
  int variants = 0, wrong = 0;
  for (int isa = 0; isa < SWEEP_ISA_COUNT; isa++) {
    if (!sweep_isa_available((enum sweep_isa)isa)) {
      fprintf(stderr, "\n  (this CPU does not run the %s variant: not tested)",
              sweep_isa_name((enum sweep_isa)isa));
      continue;
    }
    for (int flags = 0; flags < 8; flags++) {
      struct sweep_variant v = {
          .isa = (enum sweep_isa)isa, .streaming = flags & 1, .always_diff = (flags >> 1) & 1};
      char what[96];
      snprintf(what, sizeof what, "%s, %s stores, always_diff %d", sweep_isa_name(v.isa),
               v.streaming ? "streaming" : "regular", v.always_diff);
      variants++;
      wrong += count_wrong(run_variant, &v, (flags >> 2) & 1, what);
    }
    /* said, so that a run on another CPU (scripts/avx512_under_bochs.sh) can tell */
    fprintf(stderr, "\n  (the %s variant: tested)", sweep_isa_name((enum sweep_isa)isa));
  }
  CU_ASSERT_EQUAL(wrong, 0);
  CU_ASSERT(variants >= 8); /* the baseline is always there */
}

struct wide_case {
  bool avx2, streaming;
};

static double run_wide(const void *how, const double *in, double *out, int64_t rows, int64_t cols,
                       int64_t stride, bool want_diff) {
  const struct wide_case *c = how;
  return sweep_wide_check(c->avx2, in, out, rows, cols, stride, c->streaming, want_diff);
}

/* The AVX-512 variant's body, eight doubles a vector, built for the baseline and for AVX2 so
 * that every machine checks it (sweep_wide_check.c): sweep_tile's bits and diff. */
static void test_eight_wide_body_gives_sweep_tile_bits(void) {
  int wrong = 0, cases = 0;
  for (int flags = 0; flags < 8; flags++) {
    struct wide_case c = {.avx2 = flags & 1, .streaming = (flags >> 1) & 1};
    if (c.avx2 && !sweep_isa_available(SWEEP_ISA_AVX2))
      continue;
    char what[96];
    snprintf(what, sizeof what, "8-wide body, %s build, %s stores", c.avx2 ? "avx2" : "baseline",
             c.streaming ? "streaming" : "regular");
    cases++;
    wrong += count_wrong(run_wide, &c, (flags >> 2) & 1, what);
  }
  CU_ASSERT_EQUAL(wrong, 0);
  CU_ASSERT(cases >= 4);
}

/* Whether two runs agree: the same diff (any NaN alike) and the same bytes. */
static bool agree(double d1, double d2, const void *a, const void *b, size_t bytes) {
  return (d1 == d2 || (isnan(d1) && isnan(d2))) && memcmp(a, b, bytes) == 0;
}

/* The planes the kernel-set comparison sweeps: input, the general update's terms. */
enum { SET_MAXR = 4, SET_MAXC = 41, SET_SIZE = (SET_MAXR + 2) * (SET_MAXC + 3) + 1 };
struct set_planes {
  double in[SET_SIZE], coef[SET_SIZE], rhs[SET_SIZE];
};

/* `set`'s weighted and general sweeps against `base`'s on one shape, both stores, the diff
 * wanted or not: 1 if they disagree (printed, headed `what`, when `wrong` is 0), else 0. */
static int sweeps_wrong(const struct sweep_kernel_set *base, const struct sweep_kernel_set *set,
                        const struct set_planes *p, int64_t rows, int64_t cols, double omega,
                        int wrong, const char *what) {
  static double want[SET_SIZE], got[SET_SIZE];
  int64_t stride = cols + 2 + (cols % 2);
  for (int flags = 0; flags < 2 * 2 * 2; flags++) {
    bool streaming = flags & 1, want_diff = (flags >> 1) & 1, general = (flags >> 2) & 1;
    for (size_t k = 0; k < SET_SIZE; k++)
      want[k] = got[k] = p->in[(k * 7) % SET_SIZE]; /* an old iterate: weighting reads it */
    double d1 = general
                    ? base->general(p->in, want, p->coef, p->rhs, rows, cols, stride, omega,
                                    streaming, want_diff)
                    : base->weighted(p->in, want, rows, cols, stride, omega, streaming, want_diff);
    double d2 = general
                    ? set->general(p->in, got, p->coef, p->rhs, rows, cols, stride, omega,
                                   streaming, want_diff)
                    : set->weighted(p->in, got, rows, cols, stride, omega, streaming, want_diff);
    if (!agree(d1, d2, want, got, sizeof want)) {
      if (wrong == 0)
        fprintf(stderr, "\n  %s, %s, %s stores, want_diff %d: %.17g against %.17g, or other bits",
                what, general ? "general" : "weighted", streaming ? "streaming" : "regular",
                want_diff, d2, d1);
      return 1;
    }
  }
  return 0;
}

/* `set`'s wavefront (3 levels: plain, weighted, general in the buffers; plain and general
 * through scratch rows) against `base`'s on one shape: 1 if they disagree (printed as
 * sweeps_wrong does), else 0. */
static int wavefront_wrong(const struct sweep_kernel_set *base, const struct sweep_kernel_set *set,
                           const struct set_planes *p, int64_t rows, int64_t cols, double omega,
                           int wrong, const char *what) {
  enum { LEVELS = 3 };
  static double want[2][SET_SIZE], got[2][SET_SIZE];
  static double scratch[2][3 * (LEVELS - 1) * (SET_MAXC + 3)];
  double w[LEVELS] = {omega, omega, omega};
  const double *const terms[2] = {p->coef, p->rhs};
  struct sweep_rect rect[LEVELS];
  for (int l = 0; l < LEVELS; l++)
    rect[l] = (struct sweep_rect){1, rows + 1, 1, cols + 1};
  for (int kind = 0; kind < 5; kind++) {
    for (size_t k = 0; k < SET_SIZE; k++)
      want[0][k] = want[1][k] = got[0][k] = got[1][k] = p->in[k];
    double *const bw[2] = {want[0], want[1]}, *const bg[2] = {got[0], got[1]};
    const double *omegas = kind == 1 || kind == 2 ? w : NULL;
    const double *const *t = kind == 2 || kind == 4 ? terms : NULL;
    bool rows_in_scratch = kind >= 3;
    poison(&scratch[0][0], sizeof scratch / sizeof scratch[0][0]);
    double d1 = base->levels(bw, 0, cols + 2, LEVELS, rect, omegas, t, NULL,
                             rows_in_scratch ? scratch[0] : NULL);
    double d2 = set->levels(bg, 0, cols + 2, LEVELS, rect, omegas, t, NULL,
                            rows_in_scratch ? scratch[1] : NULL);
    if (!agree(d1, d2, want, got, sizeof want)) {
      if (wrong == 0)
        fprintf(stderr, "\n  %s, wavefront kind %d: %.17g against %.17g, or other bits", what, kind,
                d2, d1);
      return 1;
    }
  }
  return 0;
}

/* Each instruction set's whole kernel set (sweep_sets.h) against the baseline's, bit for bit
 * and diff for diff: the weighted and general sweeps (several omegas, coefficients that hold
 * and free points, both stores, the diff wanted or not) and the wavefront (plain, weighted,
 * general), on every pass of pass_values. sweep.h's functions run the set the CPU has, which
 * the other tests hold to the scalar expressions; this holds the others to it. */
static void test_every_kernel_set_gives_the_baseline_bits(void) {
  static struct set_planes p;
  static const double omegas[] = {1.0, 1.3, 0.7};
  const struct sweep_kernel_set *base = sweep_kernel_set_of(SWEEP_ISA_SSE2);
  CU_ASSERT_PTR_NOT_NULL_FATAL(base);
  for (size_t k = 0; k < SET_SIZE; k++)
    p.coef[k] = k % 5 == 0 ? 0.0 : k % 5 == 1 ? 0.5 : 1.0; /* held, weak and free points */
  spread_values(p.rhs, SET_SIZE, 5u);
  int sets = 0, wrong = 0;
  for (int isa = 1; isa < SWEEP_ISA_COUNT; isa++) {
    const struct sweep_kernel_set *set = sweep_kernel_set_of((enum sweep_isa)isa);
    if (set == NULL)
      continue;
    sets++;
    for (int pass = 0; pass < VALUE_PASSES; pass++) {
      pass_values(p.in, SET_SIZE, 99u + (unsigned)pass, pass);
      for (int64_t rows = 0; rows <= SET_MAXR; rows++)
        for (int64_t cols = 0; cols <= SET_MAXC; cols++)
          for (size_t o = 0; o < sizeof omegas / sizeof omegas[0]; o++) {
            char what[96];
            snprintf(what, sizeof what, "%s, pass %d, %lld x %lld, omega %g",
                     sweep_isa_name((enum sweep_isa)isa), pass, (long long)rows, (long long)cols,
                     omegas[o]);
            wrong += sweeps_wrong(base, set, &p, rows, cols, omegas[o], wrong, what);
            if (cols <= 19) /* the wavefront on the narrower shapes */
              wrong += wavefront_wrong(base, set, &p, rows, cols, omegas[o], wrong, what);
          }
    }
  }
  if (sets == 0)
    fprintf(stderr, "\n  (this CPU runs no kernel set but the baseline: nothing to compare)");
  CU_ASSERT_EQUAL(wrong, 0);
}

/* The names the summary uses. */
static void test_variant_names(void) {
  CU_ASSERT_TRUE(sweep_isa_available(SWEEP_ISA_SSE2));
  CU_ASSERT_STRING_EQUAL(sweep_isa_name(SWEEP_ISA_AVX2), "avx2");
  CU_ASSERT_STRING_EQUAL(sweep_isa_name(SWEEP_ISA_AVX512), "avx512");
  CU_ASSERT_EQUAL(sweep_isa_vector_doubles(SWEEP_ISA_AVX2), 4);
  CU_ASSERT_EQUAL(sweep_isa_vector_doubles(SWEEP_ISA_AVX512), 8);
  CU_ASSERT_STRING_EQUAL(sweep_isa_name(SWEEP_ISA_COUNT), "unknown");
}

/* L sweeps as a wavefront against L calls of sweep_tile, bit for bit, for tiles from empty to
 * wider than a vector block, and L from 1 to past the row count: in the two buffers, both
 * buffers and the diff; through scratch rows, the result's buffer and the diff, and the other
 * buffer exactly as it was. */
static void test_levels_equal_successive_sweeps(void) {
  enum { MAXR = 9, MAXC = 19, SIZE = (MAXR + 2) * (MAXC + 2), MAXL = 12 };
  static double plain[2][SIZE], wave[2][SIZE], before[SIZE], scratch[3 * (MAXL - 1) * (MAXC + 2)];
  unsigned seed = 777u;
  for (int through_scratch = 0; through_scratch <= 1; through_scratch++)
    for (int64_t rows = 0; rows <= MAXR; rows++)
      for (int64_t cols = 1; cols <= MAXC; cols += 3)
        for (int64_t levels = 1; levels <= MAXL; levels++)
          for (int current = 0; current <= 1; current++) {
            int64_t stride = cols + 2;
            size_t n = (size_t)((rows + 2) * stride);
            for (size_t k = 0; k < n; k++) {
              seed = seed * 1103515245u + 12345u;
              double v = (double)(seed >> 8) / 16777216.0 * 100.0 - 50.0;
              plain[0][k] = plain[1][k] = wave[0][k] = wave[1][k] = v; /* ring: both buffers */
              seed = seed * 1103515245u + 12345u;
              if (k >= (size_t)stride && k < n - (size_t)stride && k % (size_t)stride != 0 &&
                  k % (size_t)stride != (size_t)stride - 1) /* inside: an older iterate */
                plain[1 - current][k] = wave[1 - current][k] = v + (double)(seed >> 24) - 128.0;
            }
            double want = 0.0;
            for (int64_t l = 0; l < levels; l++) {
              int in = (int)((current + l) % 2);
              want = sweep_tile(plain[in], plain[1 - in], rows, cols, stride);
            }
            int result = (int)((current + levels) % 2);
            memcpy(before, wave[1 - result], n * sizeof(double));
            double *const bufs[2] = {wave[0], wave[1]};
            struct sweep_rect rect[MAXL];
            for (int64_t l = 0; l < levels; l++)
              rect[l] = (struct sweep_rect){1, rows + 1, 1, cols + 1}; /* the ring is fixed */
            poison(scratch, sizeof scratch / sizeof *scratch);
            double got = sweep_levels(bufs, current, stride, levels, rect, NULL, NULL,
                                      through_scratch ? scratch : NULL);
            CU_ASSERT_EQUAL(got, want);
            size_t bytes = n * sizeof(double);
            CU_ASSERT_EQUAL(memcmp(plain[result], wave[result], bytes), 0);
            const double *other = through_scratch && levels > 1 ? before : plain[1 - result];
            CU_ASSERT_EQUAL(memcmp(other, wave[1 - result], bytes), 0);
          }
}

/* Overlapped tiles: a window of a larger grid, cut with a ring L deep, swept L levels over
 * rectangles that shrink by one point a level, holds in its middle (and in the last two levels'
 * rectangles, or with scratch rows in the last one's, the other buffer left as it was) what L
 * plain sweeps of the whole grid give there. grid[l] is the whole grid (ny x nx interior
 * points, one-point ring) after l plain sweeps; the window is interior rows [r0, r0 + nr),
 * columns [c0, c0 + nc); scratch is NULL or sweep_levels'. Returns the number of wrong points
 * (and diffs). */
static int64_t wrong_in_window(double *const grid[], int64_t ny, int64_t nx, int64_t r0, int64_t c0,
                               int64_t nr, int64_t nc, int64_t levels, double *const win[2],
                               double *scratch) {
  const int64_t gstride = nx + 2;
  /* The window's ring is `levels` deep, filled from the initial grid where it exists (ring
   * points off the grid are never read). */
  int64_t d = levels, stride = nc + 2 * d, rows = nr + 2 * d;
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < stride; j++) {
      int64_t gi = r0 + 1 + i - d, gj = c0 + 1 + j - d;
      bool on = gi >= 0 && gi < ny + 2 && gj >= 0 && gj < nx + 2;
      bool inside = gi >= 1 && gi <= ny && gj >= 1 && gj <= nx; /* not the fixed edge */
      win[0][i * stride + j] = on ? grid[0][gi * gstride + gj] : NAN;
      /* the other buffer: an older iterate inside, the same fixed edge */
      win[1][i * stride + j] = win[0][i * stride + j] + (inside ? 1.0 : 0.0);
    }
  struct sweep_rect rect[MAX_LEVELS];
  for (int64_t t = 0; t < levels; t++) {
    int64_t grow = levels - 1 - t; /* level t computes the tile grown by this */
    int64_t top = r0 - grow < 0 ? 0 : r0 - grow, left = c0 - grow < 0 ? 0 : c0 - grow;
    int64_t bottom = r0 + nr + grow > ny ? ny : r0 + nr + grow;
    int64_t right = c0 + nc + grow > nx ? nx : c0 + nc + grow;
    rect[t] = (struct sweep_rect){top - r0 + d, bottom - r0 + d, left - c0 + d, right - c0 + d};
  }
  size_t bytes = (size_t)(rows * stride) * sizeof(double);
  double *before = malloc(bytes);
  if (before == NULL)
    return 1;
  memcpy(before, win[1 - levels % 2], bytes); /* the buffer the result does not go to */
  if (scratch != NULL)
    poison(scratch, (size_t)sweep_levels_scratch(levels, stride));
  double got = sweep_levels(win, 0, stride, levels, rect, NULL, NULL, scratch);
  double want = 0.0;
  bool through_scratch = scratch != NULL && levels > 1;
  int64_t wrong = through_scratch && memcmp(before, win[1 - levels % 2], bytes) != 0;
  free(before);
  /* the last two levels stand in the buffers (level t overwrites level t - 2), or the last */
  int64_t first = through_scratch ? levels - 1 : levels > 2 ? levels - 2 : 0;
  for (int64_t t = first; t < levels; t++) {
    const struct sweep_rect *r = &rect[t];
    const double *w = win[(t + 1) % 2], *g = grid[t + 1];
    for (int64_t i = r->row0; i < r->row1; i++)
      for (int64_t j = r->col0; j < r->col1; j++) {
        int64_t at = (r0 + 1 + i - d) * gstride + c0 + 1 + j - d;
        wrong += memcmp(&w[i * stride + j], &g[at], sizeof(double)) != 0;
        if (t == levels - 1) {
          double diff = fabs(grid[t + 1][at] - grid[t][at]);
          want = diff > want ? diff : want;
        }
      }
  }
  return wrong + (got != want);
}

/* grid[0 .. MAX_LEVELS]: a random ny x nx grid and its MAX_LEVELS plain sweeps. */
static void sweep_grid(double *const grid[], int64_t ny, int64_t nx, unsigned seed) {
  int64_t size = (ny + 2) * (nx + 2);
  for (int64_t k = 0; k < size; k++) {
    seed = seed * 1103515245u + 12345u;
    grid[0][k] = (double)(seed >> 8) / 16777216.0 * 100.0 - 50.0;
  }
  for (int l = 1; l <= MAX_LEVELS; l++) {
    memcpy(grid[l], grid[l - 1], (size_t)size * sizeof(double));
    sweep_tile(grid[l - 1], grid[l], ny, nx, nx + 2);
  }
}

/* Windows anywhere, including against the grid's fixed edge, where the rectangles stop
 * shrinking. */
static void test_levels_on_overlapped_tiles(void) {
  enum { N = 23, SIZE = (N + 2) * (N + 2), WINDOW = (N + 2 * MAX_LEVELS) * (N + 2 * MAX_LEVELS) };
  static double grid_mem[MAX_LEVELS + 1][SIZE], win_mem[2][WINDOW];
  static double scratch[3 * (MAX_LEVELS - 1) * (N + 2 * MAX_LEVELS)];
  double *grid[MAX_LEVELS + 1], *const win[2] = {win_mem[0], win_mem[1]};
  for (int l = 0; l <= MAX_LEVELS; l++)
    grid[l] = grid_mem[l];
  sweep_grid(grid, N, N, 4242u);
  int64_t wrong = 0;
  for (int64_t levels = 1; levels <= MAX_LEVELS; levels++)
    for (int64_t r0 = 0; r0 < N; r0 += 4)
      for (int64_t c0 = 0; c0 < N; c0 += 5)
        for (int64_t nr = 1; r0 + nr <= N && nr <= 7; nr += 3)
          for (int64_t nc = 1; c0 + nc <= N && nc <= 9; nc += 4)
            for (int mode = 0; mode < 2; mode++)
              wrong +=
                  wrong_in_window(grid, N, N, r0, c0, nr, nc, levels, win, mode ? scratch : NULL);
  CU_ASSERT_EQUAL(wrong, 0);
}

/* The same on windows wider than the wavefront's chunks: pieces of a step that meet at chunk
 * edges, at the grid's edge and inside, with every alignment of the edge to the window. */
static void test_levels_across_chunks(void) {
  enum { C = SWEEP_LEVELS_CHUNK, NY = 9, NX = 3 * C + 11, SIZE = (NY + 2) * (NX + 2) };
  enum { WINDOW = (NY + 2 * MAX_LEVELS) * (NX + 2 * MAX_LEVELS) };
  static double grid_mem[MAX_LEVELS + 1][SIZE], win_mem[2][WINDOW];
  static double scratch[3 * (MAX_LEVELS - 1) * (NX + 2 * MAX_LEVELS)];
  double *grid[MAX_LEVELS + 1], *const win[2] = {win_mem[0], win_mem[1]};
  for (int l = 0; l <= MAX_LEVELS; l++)
    grid[l] = grid_mem[l];
  sweep_grid(grid, NY, NX, 31337u);
  const int64_t starts[] = {0, 1, 3, C - 5, C + 2};
  const int64_t widths[] = {C - 1, C, C + 1, C + 4, 2 * C - 3, 2 * C + 7};
  int64_t wrong = 0;
  for (int64_t levels = 1; levels <= MAX_LEVELS; levels++)
    for (size_t a = 0; a < sizeof starts / sizeof *starts; a++)
      for (size_t b = 0; b < sizeof widths / sizeof *widths; b++) {
        int64_t c0 = starts[a], nc = widths[b];
        nc = c0 + nc <= NX ? nc : NX - c0;
        for (int mode = 0; mode < 2; mode++) {
          double *rows = mode ? scratch : NULL; /* the rows in the buffers, or in scratch */
          wrong += wrong_in_window(grid, NY, NX, 0, c0, NY, nc, levels, win, rows); /* all rows */
          wrong += wrong_in_window(grid, NY, NX, 2, c0, 4, nc, levels, win, rows);  /* inside */
          wrong += wrong_in_window(grid, NY, NX, 0, NX - nc, 5, nc, levels, win, rows); /* edge */
        }
      }
  CU_ASSERT_EQUAL(wrong, 0);
}

/* The update without the diff writes the same bits as the one with it. */
static void test_update_without_diff_is_identical(void) {
  enum { MAXR = 5, MAXC = 21, SIZE = (MAXR + 2) * (MAXC + 2) };
  static double in[SIZE], with[SIZE], without[SIZE];
  unsigned seed = 99u;
  for (int64_t k = 0; k < SIZE; k++) {
    seed = seed * 1103515245u + 12345u;
    in[k] = (double)(seed >> 8) / 16777216.0 * 10.0;
  }
  for (int64_t rows = 0; rows <= MAXR; rows++)
    for (int64_t cols = 1; cols <= MAXC; cols++) {
      int64_t stride = cols + 2;
      for (int64_t k = 0; k < SIZE; k++)
        with[k] = without[k] = -7.0;
      sweep_tile(in, with, rows, cols, stride);
      sweep_tile_update(in, without, rows, cols, stride);
      CU_ASSERT_EQUAL(memcmp(with, without, sizeof with), 0);
    }
}

/* The weighted (Chebyshev) sweep against the scalar expression written here, point by point,
 * bit for bit: omega * (u - old) + old, u the canonical update of `in`, old what `out` held;
 * regular and streaming stores, with and without the diff, over shapes that take the vector
 * body, its remainders and the scalar tail at both 8-byte phases; the ring of `out` untouched
 * and the diff max |u - in|. */
static void test_weighted_sweep_is_the_scalar_expression(void) {
  enum { MAXR = 4, MAXC = 37, SIZE = (MAXR + 2) * (MAXC + 3) + 1 };
  static double in[SIZE], old[SIZE], out[SIZE];
  unsigned seed = 2024u;
  for (int64_t k = 0; k < SIZE; k++) {
    seed = seed * 1103515245u + 12345u;
    in[k] = ldexp((double)(seed >> 8) / 16777216.0 - 0.3, (int)(seed % 23) - 11);
    seed = seed * 1103515245u + 12345u;
    old[k] = (double)(seed >> 8) / 16777216.0 * 3.0 - 1.0;
  }
  const double omega = 1.7316;
  for (int phase = 0; phase < 2; phase++)
    for (int64_t rows = 0; rows <= MAXR; rows++)
      for (int64_t cols = 1; cols <= MAXC; cols++)
        for (int variant = 0; variant < 4; variant++) {
          int64_t stride = cols + 2 + phase;
          const double *from = in + phase;
          double *to = out + phase;
          memcpy(out, old, sizeof out);
          bool streaming = variant & 1, want_diff = variant & 2;
          double diff =
              sweep_tile_weighted(from, to, rows, cols, stride, omega, streaming, want_diff);
          double want_diff_value = 0.0;
          int wrong = 0;
          for (int64_t i = 0; i < rows + 2; i++)
            for (int64_t j = 0; j < stride; j++) {
              int64_t at = i * stride + j;
              bool interior = i >= 1 && i <= rows && j >= 1 && j <= cols;
              double want = old[at + phase];
              if (interior) {
                double u = 0.25 * ((from[at - stride] + from[at + stride]) +
                                   (from[at - 1] + from[at + 1]));
                want = omega * (u - old[at + phase]) + old[at + phase];
                want_diff_value = fmax(want_diff_value, fabs(u - from[at]));
              }
              wrong += memcmp(&to[at], &want, sizeof want) != 0;
            }
          EXPECT(wrong == 0, "%lld x %lld, phase %d, variant %d: %d points differ", (long long)rows,
                 (long long)cols, phase, variant, wrong);
          EXPECT(diff == (want_diff ? want_diff_value : 0.0),
                 "%lld x %lld variant %d: diff %.17g, want %.17g", (long long)rows, (long long)cols,
                 variant, diff, want_diff ? want_diff_value : 0.0);
        }
}

/* sweep_tile_change measures what sweep_tile's diff would be, and writes nothing. */
static void test_change_is_the_sweep_diff(void) {
  enum { R = 6, C = 29, SIZE = (R + 2) * (C + 2) };
  static double in[SIZE], out[SIZE], copy[SIZE];
  unsigned seed = 7u;
  for (int64_t k = 0; k < SIZE; k++) {
    seed = seed * 1103515245u + 12345u;
    in[k] = (double)(seed >> 8) / 16777216.0 * 100.0 - 50.0;
  }
  memcpy(copy, in, sizeof in);
  for (int64_t rows = 0; rows <= R; rows++)
    for (int64_t cols = 1; cols <= C; cols++) {
      double want = sweep_tile(in, out, rows, cols, cols + 2);
      EXPECT(sweep_tile_change(in, rows, cols, cols + 2) == want, "%lld x %lld: change differs",
             (long long)rows, (long long)cols);
    }
  CU_ASSERT_EQUAL(memcmp(in, copy, sizeof in), 0);
}

/* A Chebyshev temporal block of `levels` weighted sweeps in one pass equals `levels` calls of
 * sweep_tile_weighted with each level's omega (a weight of exactly 1 being the plain update),
 * on a tile wider than a chunk; the last level's diff too. */
static void test_weighted_levels_equal_successive_weighted_sweeps(void) {
  enum { R = 7, C = SWEEP_LEVELS_CHUNK + 45, STR = C + 2, SIZE = (R + 2) * STR };
  static double a[2][SIZE], b[2][SIZE], scratch[3 * 3 * STR];
  unsigned seed = 31u;
  for (int64_t k = 0; k < SIZE; k++) {
    seed = seed * 1103515245u + 12345u;
    a[0][k] = b[0][k] = (double)(seed >> 8) / 16777216.0 * 4.0;
    seed = seed * 1103515245u + 12345u;
    a[1][k] = b[1][k] = (double)(seed >> 8) / 16777216.0 * 4.0 - 1.0;
  }
  const double omega[4] = {1.0, 1.31, 1.52, 1.603};
  for (int64_t levels = 1; levels <= 4; levels++) {
    struct sweep_rect rect[4];
    for (int64_t t = 0; t < levels; t++)
      rect[t] = (struct sweep_rect){1, R + 1, 1, C + 1}; /* a single tile: no growth */
    double *bufs[2] = {a[0], a[1]};
    double got = sweep_levels(bufs, 0, STR, levels, rect, omega, NULL, scratch); /* unused */
    double want = 0.0;
    for (int64_t t = 0; t < levels; t++) {
      double *from = b[t % 2], *to = b[1 - t % 2];
      want = omega[t] == 1.0 ? sweep_tile(from, to, R, C, STR)
                             : sweep_tile_weighted(from, to, R, C, STR, omega[t], false, true);
    }
    EXPECT(memcmp(a, b, sizeof a) == 0, "%lld levels: the buffers differ", (long long)levels);
    EXPECT(got == want, "%lld levels: diff %.17g, want %.17g", (long long)levels, got, want);
    memcpy(a, b, sizeof a);
  }
}

/* The general update (sources and fixed points) against its scalar expression, bit for bit:
 * every shape up to 4 x 37 (the vector bodies and the scalar edges), two alignments, plain and
 * weighted, regular and streaming stores, with and without the diff; coef 0 at about one point
 * in five (a fixed point keeps its value and changes by 0), 1 elsewhere, rhs anything. */
static void test_general_update_is_the_scalar_expression(void) {
  enum { MAXR = 4, MAXC = 37, SIZE = (MAXR + 2) * (MAXC + 3) + 1 };
  static double in[SIZE], old[SIZE], out[SIZE], coef[SIZE], rhs[SIZE];
  unsigned seed = 99u;
  for (int64_t k = 0; k < SIZE; k++) {
    seed = seed * 1103515245u + 12345u;
    in[k] = (double)(seed >> 8) / 16777216.0 * 10.0 - 3.0;
    seed = seed * 1103515245u + 12345u;
    coef[k] = seed % 5 == 0 ? 0.0 : 1.0;
    rhs[k] = coef[k] == 0.0 ? in[k] : ldexp((double)(seed >> 8) / 16777216.0 - 0.5, -6);
    old[k] = coef[k] == 0.0 ? in[k] : in[k] * 0.75 + 0.1;
  }
  const double omegas[2] = {1.0, 1.6181};
  for (int phase = 0; phase < 2; phase++)
    for (int64_t rows = 0; rows <= MAXR; rows++)
      for (int64_t cols = 1; cols <= MAXC; cols++)
        for (int variant = 0; variant < 8; variant++) {
          int64_t stride = cols + 2 + phase;
          double omega = omegas[(variant >> 2) & 1];
          bool streaming = variant & 1, want_diff = variant & 2;
          const double *from = in + phase;
          double *to = out + phase;
          memcpy(out, old, sizeof out);
          double diff = sweep_tile_general(from, to, coef + phase, rhs + phase, rows, cols, stride,
                                           omega, streaming, want_diff);
          double want_diff_value = 0.0;
          int wrong = 0;
          for (int64_t i = 0; i < rows + 2; i++)
            for (int64_t j = 0; j < stride; j++) {
              int64_t at = i * stride + j;
              bool interior = i >= 1 && i <= rows && j >= 1 && j <= cols;
              double want = old[at + phase];
              if (interior) {
                double u = coef[at + phase] * (0.25 * ((from[at - stride] + from[at + stride]) +
                                                       (from[at - 1] + from[at + 1]))) +
                           rhs[at + phase];
                want = omega != 1.0 ? omega * (u - old[at + phase]) + old[at + phase] : u;
                want_diff_value = fmax(want_diff_value, fabs(u - from[at]));
              }
              wrong += memcmp(&to[at], &want, sizeof want) != 0;
            }
          EXPECT(wrong == 0, "%lld x %lld, phase %d, variant %d: %d points differ", (long long)rows,
                 (long long)cols, phase, variant, wrong);
          EXPECT(diff == (want_diff ? want_diff_value : 0.0),
                 "%lld x %lld variant %d: diff %.17g, want %.17g", (long long)rows, (long long)cols,
                 variant, diff, want_diff ? want_diff_value : 0.0);
          double change =
              sweep_tile_change_general(from, coef + phase, rhs + phase, rows, cols, stride);
          EXPECT(change == want_diff_value, "%lld x %lld: change %.17g, want %.17g",
                 (long long)rows, (long long)cols, change, want_diff_value);
        }
}

/* With all coef 1 and rhs 0 the general update is Laplace's, bit for bit (x * 1 + 0 == x). */
static void test_general_update_without_terms_is_the_plain_sweep(void) {
  enum { R = 5, C = 41, STR = C + 2, SIZE = (R + 2) * STR };
  static double in[SIZE], a[SIZE], b[SIZE], coef[SIZE], rhs[SIZE];
  unsigned seed = 5u;
  for (int64_t k = 0; k < SIZE; k++) {
    seed = seed * 1103515245u + 12345u;
    in[k] = (double)(seed >> 8) / 16777216.0 * 200.0 - 100.0;
    coef[k] = 1.0;
  }
  double d1 = sweep_tile(in, a, R, C, STR);
  double d2 = sweep_tile_general(in, b, coef, rhs, R, C, STR, 1.0, false, true);
  CU_ASSERT_EQUAL(d1, d2);
  int wrong = 0;
  for (int64_t i = 1; i <= R; i++)
    wrong += memcmp(a + i * STR + 1, b + i * STR + 1, C * sizeof(double)) != 0;
  CU_ASSERT_EQUAL(wrong, 0);
}

/* A temporal block with the general update equals `levels` successive general sweeps (plain
 * and weighted; plain also through scratch rows, the other buffer left as it was), on a tile
 * wider than a chunk, fixed points included. */
static void test_general_levels_equal_successive_general_sweeps(void) {
  enum { R = 6, C = SWEEP_LEVELS_CHUNK + 19, STR = C + 2, SIZE = (R + 2) * STR };
  static double a[2][SIZE], b[2][SIZE], coef[SIZE], rhs[SIZE], before[SIZE], scratch[3 * 3 * STR];
  unsigned seed = 77u;
  for (int64_t k = 0; k < SIZE; k++) {
    seed = seed * 1103515245u + 12345u;
    a[0][k] = b[0][k] = (double)(seed >> 8) / 16777216.0 * 4.0;
    coef[k] = seed % 7 == 0 ? 0.0 : 1.0;
    rhs[k] = coef[k] == 0.0 ? a[0][k] : 1e-3 * (double)(seed % 13);
    int64_t i = k / STR, j = k % STR;
    bool ring = i == 0 || i == R + 1 || j == 0 || j == C + 1; /* fixed: the same in both */
    a[1][k] = b[1][k] = coef[k] == 0.0 || ring ? a[0][k] : a[0][k] - 0.5;
  }
  const double *const terms[2] = {coef, rhs};
  const double plain[4] = {1.0, 1.0, 1.0, 1.0}, weighted[4] = {1.0, 1.31, 1.52, 1.603};
  for (int w = 0; w < 3; w++) /* plain, weighted, plain through scratch */
    for (int64_t levels = 1; levels <= 4; levels++) {
      const double *omega = w == 1 ? weighted : plain;
      struct sweep_rect rect[4];
      for (int64_t t = 0; t < levels; t++)
        rect[t] = (struct sweep_rect){1, R + 1, 1, C + 1};
      double *bufs[2] = {a[0], a[1]};
      int result = (int)(levels % 2);
      memcpy(before, a[1 - result], sizeof before);
      poison(scratch, sizeof scratch / sizeof *scratch);
      double got = sweep_levels(bufs, 0, STR, levels, rect, w == 1 ? omega : NULL, terms,
                                w == 2 ? scratch : NULL);
      double want = 0.0;
      for (int64_t t = 0; t < levels; t++)
        want =
            sweep_tile_general(b[t % 2], b[1 - t % 2], coef, rhs, R, C, STR, omega[t], false, true);
      if (w == 2 && levels > 1)
        EXPECT(memcmp(a[result], b[result], sizeof a[0]) == 0 &&
                   memcmp(a[1 - result], before, sizeof before) == 0,
               "%lld levels through scratch: the result differs, or the other buffer changed",
               (long long)levels);
      else
        EXPECT(memcmp(a, b, sizeof a) == 0, "%lld levels, weighted %d: the buffers differ",
               (long long)levels, w);
      EXPECT(got == want, "%lld levels: diff %.17g, want %.17g", (long long)levels, got, want);
      memcpy(a, b, sizeof a);
    }
}

/* ---- the faces update --------------------------------------------------------------------- */

/* A faces operator on a tile's storage: conductances >= 0 (some exactly 0: an insulated side),
 * diag >= their sum (some exactly equal: no exchange through the faces), loads of both signs,
 * about one point in five held (conductances 0, diag 1, load its temperature). */
enum { FACES_MAXR = 5, FACES_MAXC = 37, FACES_SIZE = (FACES_MAXR + 2) * (FACES_MAXC + 3) + 1 };
struct faces_planes {
  double cond[DECOMP_NSIDES][FACES_SIZE], diag[FACES_SIZE], load[FACES_SIZE];
};

static double unit_random(unsigned *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return (double)(*seed >> 8) / 16777216.0;
}

static void faces_fill(double *cond[DECOMP_NSIDES], double *diag, double *load, const double *in,
                       int64_t size, unsigned seed) {
  for (int64_t k = 0; k < size; k++) {
    bool held = unit_random(&seed) < 0.2;
    double sum = 0.0;
    for (int d = 0; d < DECOMP_NSIDES; d++) {
      double r = unit_random(&seed);
      cond[d][k] = held || r < 0.1 ? 0.0 : ldexp(r, (int)(seed % 7) - 3);
    }
    sum = (cond[DECOMP_NORTH][k] + cond[DECOMP_SOUTH][k]) +
          (cond[DECOMP_WEST][k] + cond[DECOMP_EAST][k]);
    double extra = unit_random(&seed) < 0.4 ? 0.0 : unit_random(&seed) * 0.3;
    diag[k] = held ? 1.0 : (sum == 0.0 && extra == 0.0 ? 1.0 : sum + extra);
    load[k] = held ? in[k] : (unit_random(&seed) - 0.5) * 7.0;
  }
}

static struct sweep_faces faces_view(const struct faces_planes *p, int64_t at) {
  struct sweep_faces f = {{NULL}, p->diag + at, p->load + at};
  for (int d = 0; d < DECOMP_NSIDES; d++)
    f.cond[d] = p->cond[d] + at;
  return f;
}

/* The faces update of point `at` of `in`, written from operator.h point by point. */
static double faces_reference(const double *in, const struct sweep_faces *f, int64_t at,
                              int64_t stride) {
  return OP_FACES_UPDATE(OP_FACES(f->cond[DECOMP_NORTH][at], in[at - stride],
                                  f->cond[DECOMP_SOUTH][at], in[at + stride],
                                  f->cond[DECOMP_WEST][at], in[at - 1], f->cond[DECOMP_EAST][at],
                                  in[at + 1]),
                         f->load[at], f->diag[at]);
}

/* Every kernel set this machine runs, its faces update against faces_reference bit for bit:
 * every shape of 1 x 1 to 5 x 37 (the vector bodies, the peel and the scalar edges), two
 * alignments, plain and weighted, regular and streaming stores, the diff wanted or not; the
 * diff and sweep_tile_change_faces against the reference's max |u - x|; the ring of `out`
 * untouched; a held point keeps its value. */
static void test_faces_update_is_the_scalar_expression(void) {
  static double in[FACES_SIZE], old[FACES_SIZE], out[FACES_SIZE];
  static struct faces_planes p;
  unsigned seed = 4242u;
  for (int64_t k = 0; k < FACES_SIZE; k++) {
    in[k] = unit_random(&seed) * 150.0 - 30.0;
    old[k] = in[k] * 0.75 + 0.1;
  }
  double *cond[DECOMP_NSIDES] = {p.cond[0], p.cond[1], p.cond[2], p.cond[3]};
  faces_fill(cond, p.diag, p.load, in, FACES_SIZE, 17u);
  for (int64_t k = 0; k < FACES_SIZE; k++)
    old[k] = p.cond[0][k] == 0.0 && p.diag[k] == 1.0 && p.load[k] == in[k] ? in[k] : old[k];
  const double omegas[2] = {1.0, 1.6181};
  int sets = 0, held_seen = 0;
  for (int isa = 0; isa < SWEEP_ISA_COUNT; isa++) {
    const struct sweep_kernel_set *set = sweep_kernel_set_of((enum sweep_isa)isa);
    if (set == NULL)
      continue;
    sets++;
    for (int phase = 0; phase < 2; phase++)
      for (int64_t rows = 1; rows <= FACES_MAXR; rows++)
        for (int64_t cols = 1; cols <= FACES_MAXC; cols++)
          for (int variant = 0; variant < 8; variant++) {
            int64_t stride = cols + 2 + phase;
            double omega = omegas[(variant >> 2) & 1];
            bool streaming = variant & 1, want_diff = variant & 2;
            const double *from = in + phase;
            double *to = out + phase;
            struct sweep_faces f = faces_view(&p, phase);
            memcpy(out, old, sizeof out);
            double diff = set->faces(from, to, &f, rows, cols, stride, omega, streaming, want_diff);
            double want_change = 0.0;
            int wrong = 0;
            for (int64_t i = 0; i < rows + 2; i++)
              for (int64_t j = 0; j < stride; j++) {
                int64_t at = i * stride + j;
                bool interior = i >= 1 && i <= rows && j >= 1 && j <= cols;
                double want = old[at + phase];
                if (interior) {
                  double u = faces_reference(from, &f, at, stride);
                  want = omega != 1.0 ? omega * (u - old[at + phase]) + old[at + phase] : u;
                  want_change = fmax(want_change, fabs(u - from[at]));
                  if (f.diag[at] == 1.0 && f.cond[DECOMP_EAST][at] == 0.0 &&
                      f.cond[DECOMP_WEST][at] == 0.0 && f.cond[DECOMP_NORTH][at] == 0.0 &&
                      f.cond[DECOMP_SOUTH][at] == 0.0 && f.load[at] == from[at]) {
                    held_seen++;
                    wrong += to[at] != from[at]; /* a held point keeps its value */
                  }
                }
                wrong += memcmp(&to[at], &want, sizeof want) != 0;
              }
            EXPECT(wrong == 0, "%s: %lld x %lld, phase %d, variant %d: %d points differ",
                   sweep_isa_name((enum sweep_isa)isa), (long long)rows, (long long)cols, phase,
                   variant, wrong);
            EXPECT(diff == (want_diff ? want_change : 0.0),
                   "%s: %lld x %lld variant %d: diff %.17g, want %.17g",
                   sweep_isa_name((enum sweep_isa)isa), (long long)rows, (long long)cols, variant,
                   diff, want_diff ? want_change : 0.0);
            if (isa == 0 && variant == 0) {
              double change = sweep_tile_change_faces(from, &f, rows, cols, stride);
              EXPECT(change == want_change, "%lld x %lld: change %.17g, want %.17g",
                     (long long)rows, (long long)cols, change, want_change);
            }
          }
  }
  CU_ASSERT(sets >= 1);
  CU_ASSERT(held_seen > 0);
  /* the public entry is the CPU's own set */
  struct sweep_faces f = faces_view(&p, 0);
  memcpy(out, old, sizeof out);
  double d = sweep_tile_faces(in, out, &f, 3, 11, 13, 1.0, false, true);
  CU_ASSERT(d > 0.0);
  CU_ASSERT_EQUAL(out[13 + 1], faces_reference(in, &f, 13 + 1, 13));
}

/* With unit conductances, diag 4 and load 0 the faces update gives the Laplace average's bits
 * wherever the neighbours' sum is not zero: 1 x n is exact, (sum + 0) / 4 and 0.25 sum are the
 * same exact scaling (operator.h: they differ only in the sign of a zero sum, which random
 * values never make). */
static void test_faces_update_with_unit_conductances_is_laplace(void) {
  enum { R = 5, C = 41, STR = C + 2, SIZE = (R + 2) * STR };
  static double in[SIZE], a[SIZE], b[SIZE], one[SIZE], four[SIZE], zero[SIZE];
  unsigned seed = 5u;
  for (int64_t k = 0; k < SIZE; k++) {
    in[k] = unit_random(&seed) * 200.0 - 100.0;
    one[k] = 1.0;
    four[k] = 4.0;
  }
  struct sweep_faces f = {{one, one, one, one}, four, zero};
  double d1 = sweep_tile(in, a, R, C, STR);
  double d2 = sweep_tile_faces(in, b, &f, R, C, STR, 1.0, false, true);
  CU_ASSERT_EQUAL(d1, d2);
  int wrong = 0;
  for (int64_t i = 1; i <= R; i++)
    wrong += memcmp(a + i * STR + 1, b + i * STR + 1, C * sizeof(double)) != 0;
  CU_ASSERT_EQUAL(wrong, 0);
}

/* A temporal block with the faces update equals `levels` successive faces sweeps, bit for bit
 * and diff alike, for every kernel set this machine runs: plain and weighted levels in the two
 * buffers, plain through scratch rows (the other buffer left exactly as it was); on a tile wider
 * than a chunk, with held points, and with rectangles shrinking as overlapped tiles' do, so
 * that the deep ring's coefficients are read. */
static void test_faces_levels_equal_successive_faces_sweeps(void) {
  enum { R = 9, C = SWEEP_LEVELS_CHUNK + 19, STR = C + 2, SIZE = (R + 2) * STR };
  static double a[2][SIZE], b[2][SIZE], before[SIZE], scratch[3 * 3 * STR];
  static double cn[SIZE], cs[SIZE], cw[SIZE], ce[SIZE], diag[SIZE], load[SIZE];
  unsigned seed = 91u;
  for (int64_t k = 0; k < SIZE; k++)
    a[0][k] = unit_random(&seed) * 40.0 - 10.0;
  double *cond[DECOMP_NSIDES] = {cn, cs, cw, ce};
  faces_fill(cond, diag, load, a[0], SIZE, 23u);
  for (int64_t k = 0; k < SIZE; k++) {
    int64_t i = k / STR, j = k % STR;
    bool ring = i == 0 || i == R + 1 || j == 0 || j == C + 1; /* fixed: the same in both */
    bool held = cn[k] == 0.0 && cs[k] == 0.0 && cw[k] == 0.0 && ce[k] == 0.0 && diag[k] == 1.0;
    a[1][k] = held || ring ? a[0][k] : a[0][k] - 0.5;
  }
  const struct sweep_faces faces = {{cn, cs, cw, ce}, diag, load};
  const double plain[4] = {1.0, 1.0, 1.0, 1.0}, weighted[4] = {1.0, 1.31, 1.52, 1.603};
  static double init[2][SIZE];
  memcpy(init, a, sizeof init);
  int sets = 0;
  for (int isa = 0; isa < SWEEP_ISA_COUNT; isa++) {
    const struct sweep_kernel_set *set = sweep_kernel_set_of((enum sweep_isa)isa);
    if (set == NULL)
      continue;
    sets++;
    for (int shrink = 0; shrink < 2; shrink++)
      for (int w = 0; w < 3; w++) /* plain, weighted, plain through scratch */
        for (int64_t levels = 1; levels <= 4; levels++) {
          memcpy(a, init, sizeof a);
          memcpy(b, init, sizeof b);
          const double *omega = w == 1 ? weighted : plain;
          struct sweep_rect rect[4];
          for (int64_t t = 0; t < levels; t++) { /* shrink: each level one point inside */
            int64_t in = shrink ? levels - 1 - (levels - 1 - t) : 0;
            rect[t] = (struct sweep_rect){1 + in, R + 1 - in, 1 + in, C + 1 - in};
          }
          double *bufs[2] = {a[0], a[1]};
          int result = (int)(levels % 2);
          memcpy(before, a[1 - result], sizeof before);
          poison(scratch, sizeof scratch / sizeof *scratch);
          double got = set->levels(bufs, 0, STR, levels, rect, w == 1 ? omega : NULL, NULL, &faces,
                                   w == 2 ? scratch : NULL);
          double want = 0.0;
          for (int64_t t = 0; t < levels; t++) {
            const struct sweep_rect *r = &rect[t];
            int64_t at = (r->row0 - 1) * STR + r->col0 - 1;
            struct sweep_faces part = {{cn + at, cs + at, cw + at, ce + at}, diag + at, load + at};
            want = set->faces(b[t % 2] + at, b[1 - t % 2] + at, &part, r->row1 - r->row0,
                              r->col1 - r->col0, STR, omega[t], false, true);
          }
          /* through scratch, only the last level writes a buffer: its rectangle is the result
           * (the levels before wrote rings of the buffers that the scratch rows stand for) */
          const struct sweep_rect *last = &rect[levels - 1];
          int64_t wrong_last = 0;
          for (int64_t i = last->row0; i < last->row1; i++)
            wrong_last += memcmp(a[result] + i * STR + last->col0, b[result] + i * STR + last->col0,
                                 (size_t)(last->col1 - last->col0) * sizeof(double)) != 0;
          if (w == 2 && levels > 1)
            EXPECT(wrong_last == 0 && (shrink || memcmp(a[result], b[result], sizeof a[0]) == 0) &&
                       memcmp(a[1 - result], before, sizeof before) == 0,
                   "%s: %lld levels through scratch, shrink %d: the result differs, or the other "
                   "buffer changed",
                   sweep_isa_name((enum sweep_isa)isa), (long long)levels, shrink);
          else
            EXPECT(memcmp(a, b, sizeof a) == 0, "%s: %lld levels, weighted %d, shrink %d: differ",
                   sweep_isa_name((enum sweep_isa)isa), (long long)levels, w, shrink);
          EXPECT(got == want, "%s: %lld levels: diff %.17g, want %.17g",
                 sweep_isa_name((enum sweep_isa)isa), (long long)levels, got, want);
        }
  }
  CU_ASSERT(sets >= 1);
  /* and the public entry, the CPU's own set */
  memcpy(a, init, sizeof a);
  memcpy(b, init, sizeof b);
  struct sweep_rect rect[2] = {{1, R + 1, 1, C + 1}, {1, R + 1, 1, C + 1}};
  double *bufs[2] = {a[0], a[1]};
  double got = sweep_levels_faces(bufs, 0, STR, 2, rect, NULL, &faces, NULL);
  sweep_tile_faces(b[0], b[1], &faces, R, C, STR, 1.0, false, false);
  double want = sweep_tile_faces(b[1], b[0], &faces, R, C, STR, 1.0, false, true);
  CU_ASSERT(got == want && memcmp(a, b, sizeof a) == 0);
}

/* The faces update with uniform runs gives sweep_tile_faces's bits and diff on every kernel set:
 * random arrays whose rows hold the uniform values on a run of random position and length (none,
 * all, a part, reaching past either end of the call's columns, with the call starting at a
 * column col0 of the tile), every shape of 1 x 1 to 5 x 37, two alignments, plain and weighted,
 * both stores, the diff wanted or not. */
static void test_faces_uniform_runs_give_the_arrays_bits(void) {
  static double in[FACES_SIZE], old[FACES_SIZE], want[FACES_SIZE], got[FACES_SIZE];
  static struct faces_planes p;
  int64_t run[FACES_MAXR][2];
  unsigned seed = 777u;
  for (int64_t k = 0; k < FACES_SIZE; k++) {
    in[k] = unit_random(&seed) * 90.0 - 20.0;
    old[k] = in[k] * 0.5 - 1.0;
  }
  double *cond[DECOMP_NSIDES] = {p.cond[0], p.cond[1], p.cond[2], p.cond[3]};
  faces_fill(cond, p.diag, p.load, in, FACES_SIZE, 31u);
  const double c = 1.25, diag = 5.0625, load = 0.375; /* diag >= 4 c */
  int sets = 0, uniform_points = 0;
  for (int isa = 0; isa < SWEEP_ISA_COUNT; isa++) {
    const struct sweep_kernel_set *set = sweep_kernel_set_of((enum sweep_isa)isa);
    if (set == NULL)
      continue;
    sets++;
    for (int phase = 0; phase < 2; phase++)
      for (int64_t rows = 1; rows <= FACES_MAXR; rows++)
        for (int64_t cols = 1; cols <= FACES_MAXC; cols++) {
          int64_t stride = cols + 2 + phase, col0 = (int64_t)(seed % 3);
          /* the runs, in the tile's columns (the call's column j is the tile's col0 + j) */
          for (int64_t i = 0; i < rows; i++) {
            int64_t a = (int64_t)(unit_random(&seed) * (double)(cols + 6)) - 3 + col0;
            int64_t b = a + (int64_t)(unit_random(&seed) * (double)(cols + 4));
            run[i][0] = a;
            run[i][1] = b;
          }
          static struct faces_planes q;
          q = p;
          for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
              int64_t at = (i + 1) * stride + j + 1 + phase;
              if (j + col0 >= run[i][0] && j + col0 < run[i][1]) {
                for (int d = 0; d < DECOMP_NSIDES; d++)
                  q.cond[d][at] = c;
                q.diag[at] = diag;
                q.load[at] = load;
                uniform_points++;
              }
            }
          struct sweep_faces f = faces_view(&q, phase);
          const struct sweep_faces_uniform u = {c, diag, load, (const int64_t(*)[2])run, col0};
          for (int variant = 0; variant < 8; variant++) {
            double omega = variant & 4 ? 1.7 : 1.0;
            bool streaming = variant & 1, want_diff = variant & 2;
            memcpy(want, old, sizeof want);
            memcpy(got, old, sizeof got);
            double d1 = set->faces(in + phase, want + phase, &f, rows, cols, stride, omega,
                                   streaming, want_diff);
            double d2 = set->faces_uniform(in + phase, got + phase, &f, &u, rows, cols, stride,
                                           omega, streaming, want_diff);
            EXPECT(agree(d1, d2, want, got, sizeof want),
                   "%s: %lld x %lld, phase %d, variant %d: diff %.17g against %.17g, or other bits",
                   sweep_isa_name((enum sweep_isa)isa), (long long)rows, (long long)cols, phase,
                   variant, d2, d1);
          }
        }
  }
  CU_ASSERT(sets >= 1);
  CU_ASSERT(uniform_points > 1000);
  /* the public entry */
  for (int64_t i = 0; i < 3; i++)
    run[i][0] = 0, run[i][1] = 11;
  struct faces_planes *q = malloc(sizeof *q);
  *q = p;
  for (int64_t k = 0; k < FACES_SIZE; k++) {
    for (int d = 0; d < DECOMP_NSIDES; d++)
      q->cond[d][k] = c;
    q->diag[k] = diag;
    q->load[k] = load;
  }
  struct sweep_faces f = faces_view(q, 0);
  const struct sweep_faces_uniform u = {c, diag, load, (const int64_t(*)[2])run, 0};
  memcpy(want, old, sizeof want);
  memcpy(got, old, sizeof got);
  double d1 = sweep_tile_faces(in, want, &f, 3, 11, 13, 1.0, false, true);
  double d2 = sweep_tile_faces_uniform(in, got, &f, &u, 3, 11, 13, 1.0, false, true);
  CU_ASSERT(agree(d1, d2, want, got, sizeof want));
  free(q);
}

/* The unfused red-black step: a red pass over the whole tile, each red point from the values
 * before it (reads black points only), then a black pass from the new red values, each point
 * operator.h's expression written out as the scalar reference (coef NULL: Laplace's). */
static void redblack_reference(double *x, const double *coef, const double *rhs,
                               const struct sweep_axes *o, int64_t rows, int64_t cols,
                               int64_t stride, int parity) {
  for (int colour = 0; colour < 2; colour++)
    for (int64_t i = 1; i <= rows; i++)
      for (int64_t j = 1; j <= cols; j++) {
        if (((parity + i + j + colour) & 1) != 0)
          continue;
        int64_t at = i * stride + j;
        if (o != NULL) { /* the faces operator: (sum + f) / diag */
          double sum = (o->wn[i - 1] * x[at - stride] + o->ws[i - 1] * x[at + stride]) +
                       (o->ww[j - 1] * x[at - 1] + o->we[j - 1] * x[at + 1]);
          x[at] = (sum + o->f[at]) / (o->dy[i - 1] + o->dx[j - 1]);
          continue;
        }
        double avg = 0.25 * ((x[at - stride] + x[at + stride]) + (x[at - 1] + x[at + 1]));
        x[at] = coef != NULL ? coef[at] * avg + rhs[at] : avg;
      }
}

/* sweep_redblack's one-pass wavefront (with sweep_redblack_sides after it for the deferred
 * sides) against the two unfused passes, bit for bit, every point and the ring: every shape up
 * to 6 x 41 (the 16-wide body, the 4-wide one and the scalar ends), both parities, every set of
 * deferred sides, Laplace, the general update and the faces operator of multigrid's coarse
 * levels, every kernel set the CPU runs. */
static void test_redblack_one_pass_is_the_two_passes(void) {
  enum { MAXR = 6, MAXC = 41, STR = MAXC + 3, SIZE = (MAXR + 2) * STR };
  static double x0[SIZE], got[SIZE], want[SIZE], coef[SIZE], rhs[SIZE];
  static double wn[MAXR], ws[MAXR], dy[MAXR], ww[MAXC], we[MAXC], dx[MAXC];
  unsigned seed = 7u;
  /* Shortley-Weller-like weights (unequal, not powers of 2) in odd rows and in the first two
   * and last three columns; elsewhere the uniform interior's 1, 1, 2 (diagonal 4: the kernel
   * multiplies by 1/4 there instead of dividing) */
  for (int k = 0; k < MAXR; k++) {
    wn[k] = k % 2 == 0 ? 1.0 : 1.0 + 0.1 * k;
    ws[k] = k % 2 == 0 ? 1.0 : 0.7 + 0.05 * k;
    dy[k] = wn[k] + ws[k];
  }
  for (int k = 0; k < MAXC; k++) {
    bool uniform = k >= 2 && k < MAXC - 3;
    ww[k] = uniform ? 1.0 : 1.0 + 0.03 * (k % 7);
    we[k] = uniform ? 1.0 : 0.9 + 0.01 * (k % 5);
    dx[k] = ww[k] + we[k];
  }
  const struct sweep_axes faces = {wn, ws, dy, ww, we, dx, rhs};
  for (int64_t k = 0; k < SIZE; k++) {
    seed = seed * 1103515245u + 12345u;
    x0[k] = (double)(seed >> 8) / 16777216.0 * 10.0 - 3.0;
    seed = seed * 1103515245u + 12345u;
    coef[k] = seed % 5 == 0 ? 0.0 : 1.0;
    rhs[k] = coef[k] == 0.0 ? x0[k] : ldexp((double)(seed >> 8) / 16777216.0 - 0.5, -6);
  }
  int sets = 0;
  for (int isa = 0; isa < SWEEP_ISA_COUNT; isa++) {
    const struct sweep_kernel_set *set = sweep_kernel_set_of((enum sweep_isa)isa);
    if (set == NULL)
      continue;
    sets++;
    for (int general = 0; general < 3; general++) /* Laplace, general, faces */
      for (int64_t rows = 0; rows <= MAXR; rows++)
        for (int64_t cols = 0; cols <= MAXC; cols++)
          for (int parity = 0; parity < 2; parity++)
            for (unsigned defer = 0; defer < 16; defer++) {
              int64_t stride = cols + 2 + (cols & 1); /* odd and even strides */
              const double *c = general == 1 ? coef : NULL, *r = general == 1 ? rhs : NULL;
              const struct sweep_axes *o = general == 2 ? &faces : NULL;
              memcpy(got, x0, sizeof got);
              memcpy(want, x0, sizeof want);
              redblack_reference(want, c, r, o, rows, cols, stride, parity);
              double change = set->redblack(got, c, r, o, rows, cols, stride, parity, defer,
                                            defer == 0 && o == NULL);
              if (defer != 0)
                set->redblack_sides(got, c, r, o, rows, cols, stride, parity, defer);
              int wrong = 0;
              for (int64_t k = 0; k < SIZE; k++)
                wrong += memcmp(&got[k], &want[k], sizeof got[k]) != 0;
              if (defer == 0 && o == NULL) { /* the change measured in the pass */
                double want_change = rows > 0 && cols > 0
                                         ? sweep_tile_change_general(want, c, r, rows, cols, stride)
                                         : 0.0;
                EXPECT(change == want_change, "%s, %lld x %lld: change %.17g, want %.17g",
                       sweep_isa_name((enum sweep_isa)isa), (long long)rows, (long long)cols,
                       change, want_change);
              }
              EXPECT(wrong == 0,
                     "%s, %s, %lld x %lld, parity %d, deferred sides %u: %d points differ",
                     sweep_isa_name((enum sweep_isa)isa),
                     general == 2 ? "faces"
                     : general    ? "general"
                                  : "Laplace",
                     (long long)rows, (long long)cols, parity, defer, wrong);
            }
  }
  CU_ASSERT(sets >= 1);
}

/* Deferring a side leaves its black points as they were until sweep_redblack_sides: what the
 * exchange between the colours relies on (the ring's red points are new only after it). */
static void test_redblack_defers_the_shared_sides(void) {
  enum { R = 5, C = 9, STR = C + 2, SIZE = (R + 2) * STR };
  static double x[SIZE], before[SIZE];
  for (int64_t k = 0; k < SIZE; k++)
    x[k] = (double)(k % 13) - 4.0;
  memcpy(before, x, sizeof x);
  sweep_redblack(x, NULL, NULL, NULL, R, C, STR, 0, SWEEP_SIDE_NORTH | SWEEP_SIDE_EAST, false);
  int changed = 0, black_inner_changed = 0;
  for (int64_t i = 1; i <= R; i++)
    for (int64_t j = 1; j <= C; j++) {
      bool black = ((i + j) & 1) != 0, deferred = i == 1 || j == C;
      bool differs = x[i * STR + j] != before[i * STR + j];
      if (black && deferred)
        changed += differs;
      if (black && !deferred)
        black_inner_changed += differs;
    }
  EXPECT(changed == 0, "%d deferred black points changed", changed);
  EXPECT(black_inner_changed > 0, "no inner black point changed");
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"first_sweep_of_hot_top_edge", test_first_sweep_of_hot_top_edge},
      {"faces_update_is_the_scalar_expression", test_faces_update_is_the_scalar_expression},
      {"faces_uniform_runs_give_the_arrays_bits", test_faces_uniform_runs_give_the_arrays_bits},
      {"faces_levels_equal_successive_faces_sweeps",
       test_faces_levels_equal_successive_faces_sweeps},
      {"faces_update_with_unit_conductances_is_laplace",
       test_faces_update_with_unit_conductances_is_laplace},
      {"second_sweep_spreads_heat", test_second_sweep_spreads_heat},
      {"two_hot_edges", test_two_hot_edges},
      {"canonical_order_of_operations", test_canonical_order_of_operations},
      {"halo_untouched_and_stride_honoured", test_halo_untouched_and_stride_honoured},
      {"empty_tile_has_zero_diff", test_empty_tile_has_zero_diff},
      {"streaming_stores_give_identical_bits", test_streaming_stores_give_identical_bits},
      {"levels_equal_successive_sweeps", test_levels_equal_successive_sweeps},
      {"levels_on_overlapped_tiles", test_levels_on_overlapped_tiles},
      {"levels_across_chunks", test_levels_across_chunks},
      {"update_without_diff_is_identical", test_update_without_diff_is_identical},
      {"every_variant_gives_sweep_tile_bits", test_every_variant_gives_sweep_tile_bits},
      {"eight_wide_body_gives_sweep_tile_bits", test_eight_wide_body_gives_sweep_tile_bits},
      {"every_kernel_set_gives_the_baseline_bits", test_every_kernel_set_gives_the_baseline_bits},
      {"variant_names", test_variant_names},
      {"weighted_sweep_is_the_scalar_expression", test_weighted_sweep_is_the_scalar_expression},
      {"change_is_the_sweep_diff", test_change_is_the_sweep_diff},
      {"general_update_is_the_scalar_expression", test_general_update_is_the_scalar_expression},
      {"general_update_without_terms_is_the_plain_sweep",
       test_general_update_without_terms_is_the_plain_sweep},
      {"general_levels_equal_successive_general_sweeps",
       test_general_levels_equal_successive_general_sweeps},
      {"weighted_levels_equal_successive_weighted_sweeps",
       test_weighted_levels_equal_successive_weighted_sweeps},
      {"redblack_one_pass_is_the_two_passes", test_redblack_one_pass_is_the_two_passes},
      {"redblack_defers_the_shared_sides", test_redblack_defers_the_shared_sides},
  };
  return TESTS_ADD_SUITE("sweep", cases);
}
