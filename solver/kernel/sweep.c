/* sweep.c - the Jacobi kernel; see sweep.h. */
#include "solver/kernel/sweep.h"

#define SWEEP_KERNEL_SET sweep_kernels_baseline
#include "solver/kernel/sweep_kernel.h"

/* On x86-64 the kernels are built for the baseline (SSE2, here) and for AVX2 (sweep_avx2.c),
 * and each call runs the set the CPU has: the same binary on any node of a cluster, at full
 * width where the hardware has it. */
const struct sweep_kernel_set *sweep_kernel_set_of(enum sweep_isa isa) {
  if (isa == SWEEP_ISA_SSE2)
    return &sweep_kernels_baseline;
#if HAVE_X86_VARIANTS
  if (isa == SWEEP_ISA_AVX2 && sweep_isa_available(isa))
    return &sweep_kernels_avx2;
#endif
  return NULL;
}

enum sweep_isa sweep_isa_default(void) {
  return sweep_kernel_set_of(SWEEP_ISA_AVX2) != NULL ? SWEEP_ISA_AVX2 : SWEEP_ISA_SSE2;
}

static const struct sweep_kernel_set *kernels(void) {
  static const struct sweep_kernel_set *chosen = NULL;
  if (chosen == NULL)
    chosen = sweep_kernel_set_of(sweep_isa_default());
  return chosen;
}

double sweep_tile(const double *restrict in, double *restrict out, int64_t nrows, int64_t ncols,
                  int64_t stride) {
  return kernels()->plain(in, out, nrows, ncols, stride, false, true);
}

void sweep_tile_update(const double *restrict in, double *restrict out, int64_t nrows,
                       int64_t ncols, int64_t stride) {
  kernels()->plain(in, out, nrows, ncols, stride, false, false);
}

double sweep_tile_streaming(const double *restrict in, double *restrict out, int64_t nrows,
                            int64_t ncols, int64_t stride) {
  return kernels()->plain(in, out, nrows, ncols, stride, true, true);
}

double sweep_tile_weighted(const double *restrict in, double *restrict out, int64_t nrows,
                           int64_t ncols, int64_t stride, double omega, bool streaming,
                           bool want_diff) {
  return kernels()->weighted(in, out, nrows, ncols, stride, omega, streaming, want_diff);
}

double sweep_tile_general(const double *restrict in, double *restrict out,
                          const double *restrict coef, const double *restrict rhs, int64_t nrows,
                          int64_t ncols, int64_t stride, double omega, bool streaming,
                          bool want_diff) {
  return kernels()->general(in, out, coef, rhs, nrows, ncols, stride, omega, streaming, want_diff);
}

double sweep_tile_faces(const double *restrict in, double *restrict out,
                        const struct sweep_faces *faces, int64_t nrows, int64_t ncols,
                        int64_t stride, double omega, bool streaming, bool want_diff) {
  return kernels()->faces(in, out, faces, nrows, ncols, stride, omega, streaming, want_diff);
}

double sweep_tile_faces_uniform(const double *restrict in, double *restrict out,
                                const struct sweep_faces *faces,
                                const struct sweep_faces_uniform *u, int64_t nrows, int64_t ncols,
                                int64_t stride, double omega, bool streaming, bool want_diff) {
  return kernels()->faces_uniform(in, out, faces, u, nrows, ncols, stride, omega, streaming,
                                  want_diff);
}

double sweep_levels(double *const buf[2], int current, int64_t stride, int64_t levels,
                    const struct sweep_rect *rect, const double *omega,
                    const double *const terms[2], double *scratch) {
  return kernels()->levels(buf, current, stride, levels, rect, omega, terms, NULL, scratch);
}

double sweep_levels_faces(double *const buf[2], int current, int64_t stride, int64_t levels,
                          const struct sweep_rect *rect, const double *omega,
                          const struct sweep_faces *faces, double *scratch) {
  return kernels()->levels(buf, current, stride, levels, rect, omega, NULL, faces, scratch);
}

double sweep_redblack(double *x, const double *coef, const double *rhs,
                      const struct sweep_axes *faces, int64_t nrows, int64_t ncols, int64_t stride,
                      int parity, unsigned defer, bool want_change) {
  return kernels()->redblack(x, coef, rhs, faces, nrows, ncols, stride, parity, defer, want_change);
}

void sweep_redblack_sides(double *x, const double *coef, const double *rhs,
                          const struct sweep_axes *faces, int64_t nrows, int64_t ncols,
                          int64_t stride, int parity, unsigned sides) {
  kernels()->redblack_sides(x, coef, rhs, faces, nrows, ncols, stride, parity, sides);
}

int64_t sweep_levels_scratch(int64_t levels, int64_t stride) {
  return levels > 1 ? 3 * (levels - 1) * stride : 0;
}

/* ---- the variants (sweep.h) -------------------------------------------------------------------
 * The plain sweep of each instruction set's kernel set, called by choice, at run time, instead
 * of by the CPU's own: SSE2 (here), AVX2 (sweep_avx2.c), and AVX-512, the same body eight
 * doubles a vector (sweep_wide.c). */
bool sweep_isa_available(enum sweep_isa isa) {
  switch (isa) {
  case SWEEP_ISA_SSE2:
    return true; /* the baseline: SSE2 on x86-64, the compiler's default elsewhere */
  case SWEEP_ISA_AVX2:
#if HAVE_X86_VARIANTS
    return __builtin_cpu_supports("avx2"); /* also checks that the OS saves AVX state */
#else
    return false;
#endif
  case SWEEP_ISA_AVX512:
#if HAVE_X86_VARIANTS
    return __builtin_cpu_supports("avx512f"); /* and that the OS saves the 512-bit state */
#else
    return false;
#endif
  case SWEEP_ISA_COUNT:
    break;
  }
  return false;
}

const char *sweep_isa_name(enum sweep_isa isa) {
#if defined(__x86_64__)
  static const char *const names[SWEEP_ISA_COUNT] = {"sse2", "avx2", "avx512"};
#else
  static const char *const names[SWEEP_ISA_COUNT] = {"baseline", "avx2", "avx512"};
#endif
  return (unsigned)isa < SWEEP_ISA_COUNT ? names[isa] : "unknown";
}

int sweep_isa_vector_doubles(enum sweep_isa isa) { return isa == SWEEP_ISA_AVX512 ? 8 : 4; }

double sweep_tile_variant(struct sweep_variant v, const double *restrict in, double *restrict out,
                          int64_t nrows, int64_t ncols, int64_t stride, bool want_diff) {
  bool diff = want_diff || v.always_diff;
#if HAVE_X86_VARIANTS
  if (v.isa == SWEEP_ISA_AVX2) {
    double d = sweep_kernels_avx2.plain(in, out, nrows, ncols, stride, v.streaming, diff);
    return want_diff ? d : 0.0;
  }
  if (v.isa == SWEEP_ISA_AVX512) {
    double d = sweep_wide_avx512(in, out, nrows, ncols, stride, v.streaming, diff);
    return want_diff ? d : 0.0;
  }
#endif
  double d = sweep_kernels_baseline.plain(in, out, nrows, ncols, stride, v.streaming, diff);
  return want_diff ? d : 0.0;
}

double sweep_tile_change(const double *in, int64_t nrows, int64_t ncols, int64_t stride) {
  return sweep_tile_change_general(in, NULL, NULL, nrows, ncols, stride);
}

double sweep_tile_change_general(const double *in, const double *coef, const double *rhs,
                                 int64_t nrows, int64_t ncols, int64_t stride) {
  double max_diff = 0.0;
  for (int64_t i = 1; i <= nrows; i++) {
    const double *up = in + (i - 1) * stride, *mid = in + i * stride, *down = in + (i + 1) * stride;
    for (int64_t j = 1; j <= ncols; j++) {
      double value = OP_LAPLACE(up[j], down[j], mid[j - 1], mid[j + 1]);
      if (coef != NULL)
        value = OP_GENERAL(coef[i * stride + j], value, rhs[i * stride + j]);
      double diff = fabs(value - mid[j]);
      max_diff = diff > max_diff ? diff : max_diff;
    }
  }
  return max_diff;
}

double sweep_tile_change_faces(const double *in, const struct sweep_faces *faces, int64_t nrows,
                               int64_t ncols, int64_t stride) {
  double max_diff = 0.0;
  for (int64_t i = 1; i <= nrows; i++) {
    const double *up = in + (i - 1) * stride, *mid = in + i * stride, *down = in + (i + 1) * stride;
    const double *cn = faces->cond[DECOMP_NORTH] + i * stride,
                 *cs = faces->cond[DECOMP_SOUTH] + i * stride,
                 *cw = faces->cond[DECOMP_WEST] + i * stride,
                 *ce = faces->cond[DECOMP_EAST] + i * stride;
    const double *diag = faces->diag + i * stride, *load = faces->load + i * stride;
    for (int64_t j = 1; j <= ncols; j++) {
      double value = OP_FACES_UPDATE(
          OP_FACES(cn[j], up[j], cs[j], down[j], cw[j], mid[j - 1], ce[j], mid[j + 1]), load[j],
          diag[j]);
      double diff = fabs(value - mid[j]);
      max_diff = diff > max_diff ? diff : max_diff;
    }
  }
  return max_diff;
}
