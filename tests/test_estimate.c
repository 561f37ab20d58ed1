/* test_estimate.c - the distance to the steady state: the error model against values worked
 * by hand and against exact solutions of small plates solved here independently. */
#include "solver/bound/estimate.h"
#include "tests/cunit_main.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* rho, lambda_min and the bound on ||A^-1|| by hand: 1 x 1: A = 4, rho = 0, M = 1/2 (phi = 1/2);
 * 3 x 3: lambda_min = 2 (4 sin^2(pi/8) = 2 - sqrt 2 per direction), M = phi(2) = 2 * 2 / 2 = 2;
 * 4 x 100: N = 4, M = floor(5/2) ceil(5/2) / 2 = 3. */
static void test_model_by_hand(void) {
  struct estimate_model m;
  estimate_init(&m, 1, 1, 100.0, false);
  EXPECT(fabs(m.rho) < 1e-15 && fabs(m.lambda_min - 4.0) < 1e-15, "1 x 1: rho %g, lambda %g", m.rho,
         m.lambda_min);
  CU_ASSERT_EQUAL(m.inverse_norm, 0.5);
  estimate_init(&m, 3, 3, 1.0, false);
  EXPECT(fabs(m.lambda_min - 2 * (2 - sqrt(2.0))) < 1e-14, "3 x 3: lambda %.17g", m.lambda_min);
  CU_ASSERT_EQUAL(m.inverse_norm, 2.0);
  estimate_init(&m, 100, 4, 1.0, false);
  CU_ASSERT_EQUAL(m.inverse_norm, 3.0);
  /* a 4096^2 plate: 1 - rho by the cosine formula loses digits; the sine one does not */
  estimate_init(&m, 4096, 4096, 1.0, false);
  double want = 1 - cos(3.14159265358979323846 / 4097);
  EXPECT(fabs(m.lambda_min / 4 - want) < 1e-9 * want, "4096^2: 1 - rho %.17g, want %.17g",
         m.lambda_min / 4, want);
}

/* The exact solution of a small plate (Gauss-Seidel to convergence, far below rounding) and
 * iterates of Jacobi from a cold start: the bound never below the true error, the estimate
 * within 2x once the slowest mode dominates. */
enum { NX = 9, NY = 6 };
static void jacobi_sweep(double in[NY + 2][NX + 2], double out[NY + 2][NX + 2], double *change) {
  *change = 0;
  for (int i = 1; i <= NY; i++)
    for (int j = 1; j <= NX; j++) {
      double u = 0.25 * ((in[i - 1][j] + in[i + 1][j]) + (in[i][j - 1] + in[i][j + 1]));
      *change = fmax(*change, fabs(u - in[i][j]));
      out[i][j] = u;
    }
}

static void test_bound_and_estimate_on_a_small_plate(void) {
  static double exact[NY + 2][NX + 2], a[NY + 2][NX + 2], b[NY + 2][NX + 2];
  memset(exact, 0, sizeof exact);
  for (int j = 0; j < NX + 2; j++)
    exact[0][j] = 100.0;
  for (int i = 1; i <= NY; i++)
    exact[i][0] = -30.0;
  memcpy(a, exact, sizeof a);
  for (int sweep = 0; sweep < 20000; sweep++)
    for (int i = 1; i <= NY; i++)
      for (int j = 1; j <= NX; j++)
        exact[i][j] =
            0.25 * ((exact[i - 1][j] + exact[i + 1][j]) + (exact[i][j - 1] + exact[i][j + 1]));
  memcpy(b, a, sizeof b);
  struct estimate_model m;
  estimate_init(&m, NX, NY, 100.0, false);
  estimate_reference_uniform(&m, 0, 0.0, -30.0, 100.0);
  for (int k = 1; k <= 400; k++) {
    double change;
    jacobi_sweep(a, b, &change); /* b = x^k, change that of x^(k-1) = a */
    double err_before = 0, err_after = 0;
    for (int i = 1; i <= NY; i++)
      for (int j = 1; j <= NX; j++) {
        err_before = fmax(err_before, fabs(a[i][j] - exact[i][j]));
        err_after = fmax(err_after, fabs(b[i][j] - exact[i][j]));
      }
    double bound_before = estimate_bound(&m, change, false, k - 1);
    double bound_after = estimate_bound(&m, change, true, k);
    EXPECT(bound_before >= err_before, "k %d: bound %.17g below the error %.17g", k - 1,
           bound_before, err_before);
    EXPECT(bound_after >= err_after, "k %d: bound %.17g below the error %.17g", k, bound_after,
           err_after);
    double est = estimate_error(&m, change, true, k);
    if (k >= (NX + 1) * (NY + 1) / 2 && err_after > 1e-10)
      EXPECT(est >= err_after / 2 && est <= 2 * err_after, "k %d: estimate %.6g, error %.6g", k,
             est, err_after);
    memcpy(a, b, sizeof a);
  }
}

/* The omega sequence of Golub and Varga: 1, 1 / (1 - rho^2 / 2), then 1 / (1 - rho^2 w / 4),
 * rising to 2 / (1 + sqrt(1 - rho^2)). */
static void test_chebyshev_omegas(void) {
  double rho = 0.9, w = 0;
  for (int64_t s = 1; s <= 200; s++) {
    double next = estimate_chebyshev_omega(rho, s, w);
    if (s == 1)
      CU_ASSERT_EQUAL(next, 1.0);
    if (s == 2)
      CU_ASSERT_EQUAL(next, 1.0 / (1.0 - 0.81 / 2.0));
    if (s > 2)
      CU_ASSERT_EQUAL(next, 1.0 / (1.0 - 0.81 * w / 4.0));
    w = next;
  }
  EXPECT(fabs(w - 2 / (1 + sqrt(1 - 0.81))) < 1e-12, "omega_200 %.17g", w);
}

/* The iterations predicted to gain a factor: Jacobi log(f) / -log(rho); Chebyshev acosh(f) /
 * acosh(1 / rho). */
static void test_iterations_to(void) {
  struct estimate_model m;
  estimate_init(&m, 63, 63, 1.0, false);
  double j = estimate_iterations_to(&m, 1.0, 1e-3);
  EXPECT(fabs(j - log(1e3) / -log(m.rho)) < 1e-6 * j, "jacobi %g", j);
  m.chebyshev = true;
  double c = estimate_iterations_to(&m, 1.0, 1e-3);
  EXPECT(fabs(c - acosh(1e3) / acosh(1 / m.rho)) < 1e-6 * c, "chebyshev %g", c);
  EXPECT(estimate_iterations_to(&m, 1e-4, 1e-3) == 0, "already below");
}

/* The hats: integer weights out of n + 1, at most two coarse points per fine index, a partition
 * of unity between the first and the last coarse point, and the identity when m = n. */
static void test_coarse_hats(void) {
  for (int64_t n = 1; n <= 300; n += 7)
    for (int m = 1; m <= (n < 70 ? (int)n : 70); m += 3) {
      for (int64_t i = 1; i <= n; i++) {
        int k[2];
        int64_t w[2];
        estimate_coarse_hat(n, m, i, k, w);
        EXPECT(k[1] == k[0] + 1 && w[0] >= 0 && w[1] >= 0 && w[0] <= n + 1 && w[1] <= n + 1,
               "n %lld m %d i %lld: points %d %d weights %lld %lld", (long long)n, m, (long long)i,
               k[0], k[1], (long long)w[0], (long long)w[1]);
        double at = (double)i * (m + 1) / (double)(n + 1); /* i in coarse units */
        if (at >= 1 && at <= m)
          EXPECT(w[0] + w[1] == n + 1, "n %lld m %d i %lld: weights sum to %lld", (long long)n, m,
                 (long long)i, (long long)(w[0] + w[1]));
        if (m == n)
          EXPECT(k[0] == i && w[0] == n + 1 && w[1] == 0, "identity at n = m = %lld", (long long)n);
      }
    }
}

/* Where the coarse grid is the grid itself, the coarse error is the exact error: for a chosen
 * error e on a 9 x 6 plate, r = A e, and the coarse solve gives max |e| back. And on a grid it
 * coarsens, a smooth error (the slowest mode) comes back within a few percent. */
static void test_coarse_error_is_the_error(void) {
  struct estimate_coarse c;
  estimate_coarse_init(&c, 9, 6);
  CU_ASSERT_EQUAL(c.mx, 9);
  CU_ASSERT_EQUAL(c.my, 6);
  double e[8][11] = {{0}}, r[6 * 9];
  for (int i = 1; i <= 6; i++)
    for (int j = 1; j <= 9; j++)
      e[i][j] = sin(i * 1.3) * cos(j * 0.7) + 0.1 * i;
  double want = 0;
  for (int i = 1; i <= 6; i++)
    for (int j = 1; j <= 9; j++) {
      r[(i - 1) * 9 + (j - 1)] =
          4 * e[i][j] - (e[i - 1][j] + e[i + 1][j] + e[i][j - 1] + e[i][j + 1]);
      want = fmax(want, fabs(e[i][j]));
    }
  double got = estimate_coarse_error(&c, r);
  EXPECT(fabs(got - want) < 1e-12 * want, "coarse %.17g, exact %.17g", got, want);

  /* 200 x 150: 64 x 64 coarse points; the slowest mode sin(pi i / 151) sin(pi j / 201) */
  enum { NX = 200, NY = 150 };
  estimate_coarse_init(&c, NX, NY);
  CU_ASSERT_EQUAL(c.mx, 64);
  CU_ASSERT_EQUAL(c.my, 64);
  static double rc[64 * 64];
  memset(rc, 0, sizeof rc);
  double lambda = 4 * (pow(sin(3.14159265358979 / (2 * (NY + 1))), 2) +
                       pow(sin(3.14159265358979 / (2 * (NX + 1))), 2));
  for (int64_t i = 1; i <= NY; i++) {
    int ky[2], kx[2];
    int64_t wy[2], wx[2];
    estimate_coarse_hat(NY, c.my, i, ky, wy);
    for (int64_t j = 1; j <= NX; j++) {
      estimate_coarse_hat(NX, c.mx, j, kx, wx);
      double mode = sin(3.14159265358979 * (double)i / (NY + 1)) *
                    sin(3.14159265358979 * (double)j / (NX + 1));
      for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
          if (wy[a] * wx[b] != 0)
            rc[(ky[a] - 1) * 64 + (kx[b] - 1)] +=
                (double)wy[a] / (NY + 1) * (double)wx[b] / (NX + 1) * lambda * mode;
    }
  }
  got = estimate_coarse_error(&c, rc);
  EXPECT(fabs(got - 1.0) < 0.05, "the slowest mode of amplitude 1: coarse error %.6g", got);
}

/* A thin plate gives its long direction the points its short one leaves. */
static void test_coarse_grid_of_thin_plates(void) {
  struct estimate_coarse c;
  estimate_coarse_init(&c, 2, 200);
  EXPECT(c.mx == 2 && c.my == 200, "2 x 200: %d x %d", c.mx, c.my);
  estimate_coarse_init(&c, 100000, 3);
  EXPECT(c.mx == ESTIMATE_COARSE_MAX && c.my == 3, "100000 x 3: %d x %d", c.mx, c.my);
  estimate_coarse_init(&c, 4096, 4096);
  EXPECT(c.mx == ESTIMATE_COARSE && c.my == ESTIMATE_COARSE, "4096^2: %d x %d", c.mx, c.my);
  estimate_coarse_init(&c, 63, 5000);
  EXPECT(c.mx == 63 && c.my == ESTIMATE_COARSE_POINTS / 63, "63 x 5000: %d x %d", c.mx, c.my);
}

/* The stall rule: a bound that falls as slowly as Chebyshev's smooth error on a 32768^2 plate
 * (sech(k alpha), alpha = acosh(1 / rho): under 0.1% in 200 iterations) never stalls while
 * its change is far above rounding; one that is flat with its change at 30 units in the last
 * place stalls exactly `window` iterations after its best; and a new best restarts the wait. */
static void test_stall_only_at_rounding(void) {
  struct estimate_model m;
  estimate_init(&m, 32768, 32768, 100.0, true);
  double alpha = acosh(1.0 / m.rho);
  struct estimate_stall s = {INFINITY, 0};
  for (int64_t k = 1; k <= 20000; k++) {
    double change = 1.0 / cosh((double)k * alpha); /* a smooth mode of 1 degree's change */
    double bound = estimate_bound(&m, change, false, k);
    EXPECT(!estimate_stalled(&s, &m, k, change, bound, 200),
           "stalled at %lld with change %g (alpha %g)", (long long)k, change, alpha);
  }
  struct estimate_stall flat = {INFINITY, 0};
  double change = 30 * DBL_EPSILON * 100.0, bound = estimate_bound(&m, change, false, 0);
  for (int64_t k = 1; k <= 1000; k++) {
    bool stop = estimate_stalled(&flat, &m, k, change, bound * (1 + 1e-4 * (double)(k % 3)), 200);
    EXPECT(stop == (k >= 201), "flat at rounding: stop %d at iteration %lld", stop, (long long)k);
    if (stop)
      break;
  }
  EXPECT(flat.at == 1, "the best of a flat bound is its first, not %lld", (long long)flat.at);
  struct estimate_stall better = {INFINITY, 0};
  for (int64_t k = 1; k <= 400; k++) {
    double b = k == 150 ? bound / 2 : bound;
    bool stop = estimate_stalled(&better, &m, k, change, b, 200);
    EXPECT(stop == (k >= 350), "a new best at 150: stop %d at %lld", stop, (long long)k);
    if (stop)
      break;
  }
}

/* max A^-1 |r| for the 5-point Laplace operator of an nx x ny plate (ring 0), by Gaussian
 * elimination of the dense matrix (no pivoting needed: A is symmetric positive definite). */
static double laplace_inverse_of(int nx, int ny, const double *r) {
  int n = nx * ny;
  static double a[64 * 65];
  memset(a, 0, sizeof a);
  for (int i = 0; i < ny; i++)
    for (int j = 0; j < nx; j++) {
      int p = i * nx + j;
      a[p * (n + 1) + p] = 4;
      a[p * (n + 1) + n] = fabs(r[p]);
      if (i > 0)
        a[p * (n + 1) + p - nx] = -1;
      if (i < ny - 1)
        a[p * (n + 1) + p + nx] = -1;
      if (j > 0)
        a[p * (n + 1) + p - 1] = -1;
      if (j < nx - 1)
        a[p * (n + 1) + p + 1] = -1;
    }
  for (int c = 0; c < n; c++)
    for (int q = c + 1; q < n; q++) {
      double m = a[q * (n + 1) + c] / a[c * (n + 1) + c];
      for (int k = c; k <= n; k++)
        a[q * (n + 1) + k] -= m * a[c * (n + 1) + k];
    }
  double y[64], most = 0;
  for (int q = n - 1; q >= 0; q--) {
    double sum = a[q * (n + 1) + n];
    for (int k = q + 1; k < n; k++)
      sum -= a[q * (n + 1) + k] * y[k];
    y[q] = sum / a[q * (n + 1) + q];
    most = fmax(most, y[q]);
  }
  return most;
}

/* The residual's profile (estimate.h) against the truth max A^-1 |r| (a dense solve here) for
 * residuals spread evenly, at the edges only, in the middle only and at random, on square, thin
 * and prime plates: never below it, never above M max |r|, and far below that where the
 * residual sits at the edges. */
static void test_profile_bounds_the_inverse_of_the_residual(void) {
  const int shapes[][2] = {{1, 1}, {7, 5}, {8, 8}, {2, 31}, {13, 3}, {1, 17}};
  unsigned seed = 12345;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int nx = shapes[s][0], ny = shapes[s][1];
    struct estimate_model m;
    estimate_init(&m, nx, ny, 0.0, false);
    int64_t depth = estimate_profile_depth(nx, ny);
    for (int kind = 0; kind < 4; kind++) {
      double r[64], R[64] = {0}, rmax = 0;
      for (int i = 0; i < ny; i++)
        for (int j = 0; j < nx; j++) {
          int64_t d = estimate_profile_distance(nx, ny, i, j);
          seed = seed * 1103515245u + 12345u;
          double random = (double)(seed >> 8) / (double)(1u << 24) - 0.5;
          double v = kind == 0   ? 1.0
                     : kind == 1 ? (d == 1 ? 1.0 : 1e-6)
                     : kind == 2 ? (d == depth)
                                 : random;
          r[i * nx + j] = v;
          R[d - 1] = fmax(R[d - 1], fabs(v));
          rmax = fmax(rmax, fabs(v));
        }
      double truth = laplace_inverse_of(nx, ny, r);
      double profile = estimate_profile(R, depth, m.inverse_norm);
      EXPECT(profile >= truth * (1 - 1e-13),
             "%d x %d, residual %d: profile %.17g below "
             "max A^-1 |r| = %.17g",
             nx, ny, kind, profile, truth);
      EXPECT(profile <= m.inverse_norm * rmax * (1 + 1e-12),
             "%d x %d, residual %d: profile "
             "%.6g above M max |r| = %.6g",
             nx, ny, kind, profile, m.inverse_norm * rmax);
      if (kind == 1 && depth >= 4)
        EXPECT(profile <= 0.25 * m.inverse_norm * rmax,
               "%d x %d: at the edges only, the "
               "profile %.6g is not far below M max |r| = %.6g (truth %.6g)",
               nx, ny, profile, m.inverse_norm * rmax, truth);
      /* the rigorous bound adds the rounding terms: above the profile, by a hair */
      double bound = estimate_bound_profile(&m, profile);
      EXPECT(bound >= profile && bound <= profile * (1 + 1e-12) + 1e-300,
             "%d x %d: bound %.17g from profile %.17g", nx, ny, bound, profile);
    }
  }
}

/* The maximum principle's cap by hand: T* in [0, 100]; an iterate in [-5, 80] is at most 105
 * from it; nothing known, or a range not finite: no cap. */
static void test_cap_by_hand(void) {
  struct estimate_model m;
  estimate_init(&m, 5, 5, 100.0, false);
  EXPECT(isinf(estimate_cap(&m, 0.0, 1.0)), "no answer bounds: %g", estimate_cap(&m, 0.0, 1.0));
  estimate_answer(&m, 0.0, 100.0);
  double cap = estimate_cap(&m, -5.0, 80.0);
  EXPECT(cap >= 105.0 && cap <= 105.0 * (1 + 1e-13), "cap %.17g, want 105 rounded up", cap);
  cap = estimate_cap(&m, 20.0, 30.0);
  EXPECT(cap >= 80.0 && cap <= 80.0 * (1 + 1e-13), "cap %.17g, want 80 rounded up", cap);
  EXPECT(isinf(estimate_cap(&m, NAN, 30.0)), "a NaN range: %g", estimate_cap(&m, NAN, 30.0));
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"model_by_hand", test_model_by_hand},
      {"bound_and_estimate_on_a_small_plate", test_bound_and_estimate_on_a_small_plate},
      {"chebyshev_omegas", test_chebyshev_omegas},
      {"iterations_to", test_iterations_to},
      {"coarse_hats", test_coarse_hats},
      {"coarse_error_is_the_error", test_coarse_error_is_the_error},
      {"coarse_grid_of_thin_plates", test_coarse_grid_of_thin_plates},
      {"stall_only_at_rounding", test_stall_only_at_rounding},
      {"profile_bounds_the_inverse_of_the_residual",
       test_profile_bounds_the_inverse_of_the_residual},
      {"cap_by_hand", test_cap_by_hand},
  };
  return TESTS_ADD_SUITE("estimate", cases);
}
