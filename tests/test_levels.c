/* test_levels.c - the multigrid hierarchy (levels.h) against values worked by hand, and the
 * smoothers' weights (multigrid.h) against the bound they are built to meet. */
#include "decomp/levels.h"
#include "solver/method/multigrid/multigrid.h"
#include "tests/cunit_main.h"

#include <math.h>
#include <stdlib.h>

static struct levels_axis axis(int64_t n, double lo, double hi) {
  return (struct levels_axis){.n = n, .gap_lo = lo, .gap_hi = hi};
}

/* 255^2 halves to 127, 63, 31 (961 points: the coarsest); 4096 x 64 stops at 256 x 4 (1024
 * points); a 1 x 1 plate is its own coarsest level; 100000 x 3 halves once, to a single row of
 * 50000 (solved exactly, a band of width 1). */
static void test_hierarchies_by_hand(void) {
  struct decomp_layout l;
  struct levels h;
  int dims[2] = {0, 0};
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, 255, 255, 4, dims, DECOMP_BLOCK, 1), 0);
  CU_ASSERT_EQUAL_FATAL(levels_init(&h, &l), 0);
  EXPECT(h.n == 4 && h.level[3].cols.n == 31 && h.level[3].replicated, "255^2: %d levels", h.n);
  EXPECT(h.level[1].rows.n == 127 && h.level[1].rows.parity == 1 && !h.level[1].replicated,
         "255^2 level 1: %lld rows", (long long)h.level[1].rows.n);
  /* on 16 ranks (4 x 4): level 1 (127^2) keeps all 16; level 2 (63^2: 63 / 16 = 3 a side)
   * lives on the top-left 3 x 3 of the process grid; its 9 ranks hold the coarsest (31^2) */
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, 255, 255, 16, dims, DECOMP_CYCLIC, 1), 0);
  CU_ASSERT_EQUAL_FATAL(levels_init(&h, &l), 0);
  int active[3] = {0, 0, 0};
  for (int r = 0; r < 16; r++)
    for (int k = 1; k < 3; k++)
      active[k] += decomp_ntiles(&h.level[k].layout, r) > 0;
  EXPECT(active[1] == 16 && active[2] == 9 && levels_holders(&h) == 9,
         "255^2 on 16 ranks: %d, %d active, %d hold the coarsest", active[1], active[2],
         levels_holders(&h));
  EXPECT(decomp_ntiles(&h.level[2].layout, 3) == 0 && decomp_ntiles(&h.level[2].layout, 10) == 1,
         "63^2: rank 3 (row 0, column 3) idle, rank 10 (2, 2) active");
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, 4096, 64, 2, dims, DECOMP_CYCLIC, 1), 0);
  CU_ASSERT_EQUAL_FATAL(levels_init(&h, &l), 0);
  EXPECT(h.n == 5 && h.level[4].cols.n == 256 && h.level[4].rows.n == 4, "4096 x 64: %d levels",
         h.n);
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, 1, 1, 1, dims, DECOMP_BLOCK, 1), 0);
  CU_ASSERT_EQUAL_FATAL(levels_init(&h, &l), 0);
  EXPECT(h.n == 2 && h.level[1].rows.parity == -1 && h.level[1].replicated, "1 x 1: %d levels",
         h.n);
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, 100000, 3, 1, dims, DECOMP_BLOCK, 1), 0);
  CU_ASSERT_EQUAL_FATAL(levels_init(&h, &l), 0);
  EXPECT(h.n == 2 && h.level[1].rows.n == 1 && h.level[1].cols.n == 50000,
         "100000 x 3: %d levels, level 1 %lld rows", h.n, (long long)h.level[1].rows.n);
}

/* Odd n keeps the points between the ends; even n grows the smaller gap. */
static void test_coarsening_gaps_by_hand(void) {
  struct decomp_layout l;
  struct levels h;
  int dims[2] = {1, 1};
  CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, 4096, 4096, 1, dims, DECOMP_BLOCK, 1), 0);
  CU_ASSERT_EQUAL_FATAL(levels_init(&h, &l), 0);
  /* 4096 (1, 1) -> 2048 parity 1 (1, 1/2) -> 1024 parity 0 (1/2, 3/4) -> 512 parity 1
   * (3/4, 3/8) */
  const struct levels_axis *a = &h.level[1].cols, *b = &h.level[2].cols, *c = &h.level[3].cols;
  EXPECT(a->n == 2048 && a->parity == 1 && a->gap_lo == 1 && a->gap_hi == 0.5,
         "level 1: %lld %d "
         "%g %g",
         (long long)a->n, a->parity, a->gap_lo, a->gap_hi);
  EXPECT(b->n == 1024 && b->parity == 0 && b->gap_lo == 0.5 && b->gap_hi == 0.75,
         "level 2: %lld %d %g %g", (long long)b->n, b->parity, b->gap_lo, b->gap_hi);
  EXPECT(c->n == 512 && c->parity == 1 && c->gap_lo == 0.75 && c->gap_hi == 0.375,
         "level 3: %lld %d %g %g", (long long)c->n, c->parity, c->gap_lo, c->gap_hi);
  /* on every size, every level's gaps stay in [1/4, 1] */
  for (int64_t n = 1; n <= 3000; n += n < 70 ? 1 : 37) {
    CU_ASSERT_EQUAL_FATAL(decomp_layout_init(&l, n, 3 * n + 5, 1, dims, DECOMP_BLOCK, 1), 0);
    CU_ASSERT_EQUAL_FATAL(levels_init(&h, &l), 0);
    for (int k = 0; k < h.n; k++) {
      const struct levels_axis *x = &h.level[k].cols, *y = &h.level[k].rows;
      EXPECT(x->gap_lo >= 0.25 && x->gap_lo <= 1 && x->gap_hi >= 0.25 && x->gap_hi <= 1 &&
                 y->gap_lo >= 0.25 && y->gap_hi <= 1 && x->n >= 1 && y->n >= 1,
             "n %lld level %d: gaps %g %g / %g %g", (long long)n, k, x->gap_lo, x->gap_hi,
             y->gap_lo, y->gap_hi);
    }
  }
}

/* Interpolation from 3 coarse points onto 7 (parity 1): 1/2 next to each edge, 1 on a coarse
 * point, 1/2 + 1/2 between; onto an irregular 4 (gaps 1, 1/2) from 2 (parity 0): the last fine
 * point is 1/2 from the edge and 1 from coarse point 1, so it takes 1/3 of it. */
static void test_interpolation_by_hand(void) {
  struct levels_axis f = axis(7, 1, 1), c = axis(3, 1, 1);
  c.parity = 1;
  int64_t k[2];
  double w[2];
  CU_ASSERT(levels_interp(&f, &c, 0, k, w) == 1 && k[0] == 0 && w[0] == 0.5);
  CU_ASSERT(levels_interp(&f, &c, 1, k, w) == 1 && k[0] == 0 && w[0] == 1.0);
  CU_ASSERT(levels_interp(&f, &c, 2, k, w) == 2 && k[0] == 0 && k[1] == 1 && w[0] == 0.5 &&
            w[1] == 0.5);
  CU_ASSERT(levels_interp(&f, &c, 6, k, w) == 1 && k[0] == 2 && w[0] == 0.5);
  struct levels_axis g = axis(4, 1, 0.5), d = axis(2, 0.5, 0.75);
  d.parity = 0;
  CU_ASSERT(levels_interp(&g, &d, 0, k, w) == 1 && k[0] == 0 && w[0] == 1.0);
  CU_ASSERT(levels_interp(&g, &d, 1, k, w) == 2 && k[0] == 0 && k[1] == 1 && w[0] == 0.5);
  CU_ASSERT(levels_interp(&g, &d, 2, k, w) == 1 && k[0] == 1 && w[0] == 1.0);
  EXPECT(levels_interp(&g, &d, 3, k, w) == 1 && k[0] == 1 && fabs(w[0] - 1.0 / 3) < 1e-16,
         "fine 3: weight %.17g, want 1/3", w[0]);
}

/* Restriction is P^T: full weighting's 1/2, 1, 1/2 in the interior (sum 2 a direction, 4 in
 * 2-D: the coarse right-hand side H^2 f); next to a near edge the same shape, scaled to sum 2.
 * And P is exact for a linear function that vanishes at the left edge, away from the right. */
static void test_restriction_is_the_transpose(void) {
  struct levels_axis f = axis(7, 1, 1), c = axis(3, 1, 1);
  c.parity = 1;
  int64_t i[3];
  double w[3];
  CU_ASSERT(levels_restrict(&f, &c, 1, i, w) == 3 && i[0] == 2 && i[1] == 3 && i[2] == 4 &&
            w[0] == 0.5 && w[1] == 1.0 && w[2] == 0.5);
  struct levels_axis g = axis(4, 1, 0.5), d = axis(2, 0.5, 0.75);
  d.parity = 0;
  /* coarse 0 at fine 0: fine 0 (1) and fine 1 (1/2), sum 3/2 -> 4/3 and 2/3 */
  int n = levels_restrict(&g, &d, 0, i, w);
  EXPECT(n == 2 && i[0] == 0 && i[1] == 1 && fabs(w[0] - 4.0 / 3) < 1e-15 &&
             fabs(w[1] - 2.0 / 3) < 1e-15,
         "coarse 0: %d terms, %g %g", n, w[0], w[1]);
  /* many axes: every interior row of P^T is exactly (1/2, 1, 1/2); every row sums to 2; the
   * spans cover exactly the indices used */
  for (int64_t nf = 3; nf < 200; nf++)
    for (int shape = 0; shape < 3; shape++) {
      struct levels_axis fa = axis(nf, shape == 1 ? 0.5 : 1, shape == 2 ? 0.375 : 1);
      struct levels_axis ca = {.n = nf / 2};
      bool grow_lo = nf % 2 == 1 || fa.gap_lo <= fa.gap_hi;
      ca.parity = grow_lo ? 1 : 0;
      ca.gap_lo = grow_lo ? (fa.gap_lo + 1) / 2 : fa.gap_lo / 2;
      ca.gap_hi = (nf % 2 == 1 || !grow_lo) ? (fa.gap_hi + 1) / 2 : fa.gap_hi / 2;
      for (int64_t k = 0; k < ca.n; k++) {
        int m = levels_restrict(&fa, &ca, k, i, w);
        double sum = 0;
        for (int t = 0; t < m; t++)
          sum += w[t];
        EXPECT(fabs(sum - 2) < 1e-14, "n %lld k %lld: sum %g", (long long)nf, (long long)k, sum);
        if (m == 3 && i[0] >= 1 && i[2] + 1 < nf)
          CU_ASSERT(w[0] == 0.5 && w[1] == 1.0 && w[2] == 0.5);
        int64_t lo, hi;
        levels_restrict_span(&fa, &ca, k, k + 1, &lo, &hi);
        CU_ASSERT(lo == i[0] && hi == i[m - 1] + 1);
      }
      for (int64_t x = 0; x < nf; x++) {
        int64_t kk[2];
        double ww[2];
        int m = levels_interp(&fa, &ca, x, kk, ww);
        int64_t lo, hi;
        levels_interp_span(&fa, &ca, x, x + 1, &lo, &hi);
        CU_ASSERT(lo == kk[0] && hi == kk[m - 1] + 1);
        /* linear f(p) = p, p the distance from the left edge in fine spacings */
        bool uses_right_edge = m == 1 && (x - ca.parity) % 2 != 0 && kk[0] == ca.n - 1;
        if (uses_right_edge)
          continue;
        double value = 0;
        for (int t = 0; t < m; t++)
          value += ww[t] * (fa.gap_lo + (double)(2 * kk[t] + ca.parity));
        EXPECT(fabs(value - (fa.gap_lo + (double)x)) < 1e-12, "n %lld x %lld: P f = %g, f = %g",
               (long long)nf, (long long)x, value, fa.gap_lo + (double)x);
      }
    }
}

/* The 1-D operator: 2, -1, -1 in the interior; Shortley-Weller next to near edges. */
static void test_operator_by_hand(void) {
  struct levels_axis a = axis(2, 0.5, 0.75);
  double lo, hi, diag;
  levels_axis_weights(&a, 0, &lo, &hi, &diag);
  EXPECT(fabs(lo - 8.0 / 3) < 1e-15 && fabs(hi - 4.0 / 3) < 1e-15 && fabs(diag - 4) < 1e-15,
         "point 0: %g %g %g", lo, hi, diag);
  levels_axis_weights(&a, 1, &lo, &hi, &diag);
  EXPECT(fabs(lo - 8.0 / 7) < 1e-15 && fabs(hi - 32.0 / 21) < 1e-15, "point 1: %g %g", lo, hi);
  struct levels_axis b = axis(5, 1, 1);
  levels_axis_weights(&b, 2, &lo, &hi, &diag);
  CU_ASSERT(lo == 1 && hi == 1 && diag == 2);
  /* the second difference is exact for a parabola vanishing at both edges, p (B - p) */
  double B = a.gap_lo + 1 + a.gap_hi, p0 = a.gap_lo, p1 = a.gap_lo + 1;
  double f0 = p0 * (B - p0), f1 = p1 * (B - p1);
  levels_axis_weights(&a, 0, &lo, &hi, &diag);
  EXPECT(fabs(diag * f0 - hi * f1 - 2) < 1e-13, "-u'' of p (B - p) at point 0: %g",
         diag * f0 - hi * f1);
}

/* The smoothers' error polynomials on D^-1 A's spectrum (0, 2]: damped Jacobi's is
 * (1 - 4 lambda / 5)^k; fourth-kind Chebyshev's meets sqrt(lambda / 2) |p_k| <= 1 / (2k + 1). */
static void test_smoother_weights(void) {
  double alpha[64], beta[64];
  multigrid_smoother_weights(MULTIGRID_CHEBYSHEV, 8, alpha, beta);
  for (int steps = 1; steps <= 8; steps++) {
    double worst = 0;
    for (int s = 1; s <= 4000; s++) {
      double lambda = 2.0 * s / 4000, before = 1, e = 1;
      for (int st = 1; st <= steps; st++) {
        double next = e - beta[st] * lambda * e + alpha[st] * (e - before);
        before = e;
        e = next;
      }
      worst = fmax(worst, sqrt(lambda / 2) * fabs(e));
    }
    EXPECT(worst <= 1.0 / (2 * steps + 1) + 1e-12, "%d steps: %.6g > 1/%d", steps, worst,
           2 * steps + 1);
  }
  multigrid_smoother_weights(MULTIGRID_JACOBI, 3, alpha, beta);
  CU_ASSERT(alpha[1] == 0 && alpha[3] == 0 && beta[2] == 0.8);
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"hierarchies_by_hand", test_hierarchies_by_hand},
      {"coarsening_gaps_by_hand", test_coarsening_gaps_by_hand},
      {"interpolation_by_hand", test_interpolation_by_hand},
      {"restriction_is_the_transpose", test_restriction_is_the_transpose},
      {"operator_by_hand", test_operator_by_hand},
      {"smoother_weights", test_smoother_weights},
  };
  return TESTS_ADD_SUITE("levels", cases);
}
