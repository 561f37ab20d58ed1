/* sweep.c - the Jacobi kernel; see sweep.h. */
#include "sweep.h"

#include "sweep_kernel.h"

/* On x86-64 the kernel is built twice, for the baseline (SSE2) and for AVX2, and the loader
 * picks the one the CPU runs (GCC's function multi-versioning): the same binary on any node
 * of a cluster, at full width where the hardware has it. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL_VARIANTS __attribute__((target_clones("avx2", "default")))
#else
#define KERNEL_VARIANTS
#endif

KERNEL_VARIANTS
double sweep_tile(const double *restrict in, double *restrict out, int64_t nrows, int64_t ncols,
                  int64_t stride) {
  return sweep_body(in, out, nrows, ncols, stride, false, true, false, 1.0, NULL, NULL);
}

KERNEL_VARIANTS
void sweep_tile_update(const double *restrict in, double *restrict out, int64_t nrows,
                       int64_t ncols, int64_t stride) {
  sweep_body(in, out, nrows, ncols, stride, false, false, false, 1.0, NULL, NULL);
}

KERNEL_VARIANTS
double sweep_tile_streaming(const double *restrict in, double *restrict out, int64_t nrows,
                            int64_t ncols, int64_t stride) {
  return sweep_body(in, out, nrows, ncols, stride, true, true, false, 1.0, NULL, NULL);
}

KERNEL_VARIANTS
double sweep_tile_weighted(const double *restrict in, double *restrict out, int64_t nrows,
                           int64_t ncols, int64_t stride, double omega, bool streaming,
                           bool want_diff) {
  if (streaming)
    return want_diff
               ? sweep_body(in, out, nrows, ncols, stride, true, true, true, omega, NULL, NULL)
               : sweep_body(in, out, nrows, ncols, stride, true, false, true, omega, NULL, NULL);
  return want_diff
             ? sweep_body(in, out, nrows, ncols, stride, false, true, true, omega, NULL, NULL)
             : sweep_body(in, out, nrows, ncols, stride, false, false, true, omega, NULL, NULL);
}

KERNEL_VARIANTS
double sweep_tile_general(const double *restrict in, double *restrict out,
                          const double *restrict coef, const double *restrict rhs, int64_t nrows,
                          int64_t ncols, int64_t stride, double omega, bool streaming,
                          bool want_diff) {
  bool weighted = omega != 1.0;
  if (streaming) {
    if (weighted)
      return want_diff
                 ? sweep_body(in, out, nrows, ncols, stride, true, true, true, omega, coef, rhs)
                 : sweep_body(in, out, nrows, ncols, stride, true, false, true, omega, coef, rhs);
    return want_diff
               ? sweep_body(in, out, nrows, ncols, stride, true, true, false, 1.0, coef, rhs)
               : sweep_body(in, out, nrows, ncols, stride, true, false, false, 1.0, coef, rhs);
  }
  if (weighted)
    return want_diff
               ? sweep_body(in, out, nrows, ncols, stride, false, true, true, omega, coef, rhs)
               : sweep_body(in, out, nrows, ncols, stride, false, false, true, omega, coef, rhs);
  return want_diff ? sweep_body(in, out, nrows, ncols, stride, false, true, false, 1.0, coef, rhs)
                   : sweep_body(in, out, nrows, ncols, stride, false, false, false, 1.0, coef, rhs);
}

/* ---- the variants (sweep.h) -------------------------------------------------------------------
 * The same sweep_body instantiated for one instruction set each: a function built with
 * target("avx2") inlines the helpers (always_inline, sweep_kernel.h) at its own width, as the
 * clones of KERNEL_VARIANTS do, but is called by choice, at run time, instead of by the loader.
 * The AVX-512 one is the same body eight doubles a vector (sweep_wide.c). */
static double plain_sweep_baseline(const double *restrict in, double *restrict out, int64_t nrows,
                                   int64_t ncols, int64_t stride, bool streaming, bool want_diff) {
  return plain_sweep(in, out, nrows, ncols, stride, streaming, want_diff);
}

#if HAVE_X86_VARIANTS
__attribute__((target("avx2"))) static double plain_sweep_avx2(const double *restrict in,
                                                               double *restrict out, int64_t nrows,
                                                               int64_t ncols, int64_t stride,
                                                               bool streaming, bool want_diff) {
  return plain_sweep(in, out, nrows, ncols, stride, streaming, want_diff);
}
#endif

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
    double d = plain_sweep_avx2(in, out, nrows, ncols, stride, v.streaming, diff);
    return want_diff ? d : 0.0;
  }
  if (v.isa == SWEEP_ISA_AVX512) {
    double d = sweep_wide_avx512(in, out, nrows, ncols, stride, v.streaming, diff);
    return want_diff ? d : 0.0;
  }
#endif
  double d = plain_sweep_baseline(in, out, nrows, ncols, stride, v.streaming, diff);
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
      double value = 0.25 * ((up[j] + down[j]) + (mid[j - 1] + mid[j + 1]));
      if (coef != NULL)
        value = coef[i * stride + j] * value + rhs[i * stride + j];
      double diff = fabs(value - mid[j]);
      max_diff = diff > max_diff ? diff : max_diff;
    }
  }
  return max_diff;
}

static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

KERNEL_VARIANTS
double sweep_levels(double *const buf[2], int current, int64_t stride, int64_t levels,
                    const struct sweep_rect *rect, const double *omega,
                    const double *const terms[2]) {
  double max_diff = 0.0;
  /* Step s: level t (0-based) sweeps row i = s - t of its rectangle, reading buffer
   * (current + t) % 2 and writing the other. Row i of level t needs rows i - 1 .. i + 1 of
   * level t - 1: row i + 1 was swept earlier in this step, the others in earlier steps. Level
   * t + 1 overwrites level t - 1's row i - 1 in the same step, after level t's row i, the last
   * to read it.
   *
   * A step goes across the rows in chunks of SWEEP_LEVELS_CHUNK columns, all levels per chunk.
   * Only the row below comes from this step, and a point needs it in its own column only, so
   * level t's piece of a chunk needs level t - 1's piece of the same chunk and nothing to its
   * right; level t + 1's piece overwrites row i - 1 in the chunk's columns only, which level t
   * has read. So only the order changes, and the rows of a chunk, all levels, stay in the
   * first-level cache, which one row of a wide tile (32 KiB at 4096 columns) would fill. */
  for (int64_t s = rect[0].row0; s < rect[0].row1 + levels - 1; s++)
    for (int64_t x = rect[0].col0; x < rect[0].col1; x += SWEEP_LEVELS_CHUNK)
      for (int64_t t = 0; t < levels; t++) {
        const struct sweep_rect *r = &rect[t];
        int64_t i = s - t;
        int64_t lo = max64(r->col0, x), hi = min64(r->col1, x + SWEEP_LEVELS_CHUNK);
        if (i < r->row0 || i >= r->row1 || lo >= hi)
          continue;
        int in = (int)((current + t) % 2);
        /* a one-row tile whose top-left ring point is (i - 1, lo - 1) */
        int64_t at = (i - 1) * stride + lo - 1;
        const double *from = buf[in] + at;
        double *to = buf[1 - in] + at;
        double diff = 0.0;
        if (terms != NULL) { /* the general update: one body, weighted or not */
          double w = omega != NULL ? omega[t] : 1.0;
          diff = sweep_tile_general(from, to, terms[0] + at, terms[1] + at, 1, hi - lo, stride, w,
                                    false, t == levels - 1);
          max_diff = diff > max_diff ? diff : max_diff;
          continue;
        }
        bool plain = omega == NULL || omega[t] == 1.0; /* as sweep_tile_weighted's callers */
        if (plain && t == levels - 1)
          diff = sweep_body(from, to, 1, hi - lo, stride, false, true, false, 1.0, NULL, NULL);
        else if (plain)
          sweep_body(from, to, 1, hi - lo, stride, false, false, false, 1.0, NULL, NULL);
        else if (t == levels - 1)
          diff = sweep_body(from, to, 1, hi - lo, stride, false, true, true, omega[t], NULL, NULL);
        else
          sweep_body(from, to, 1, hi - lo, stride, false, false, true, omega[t], NULL, NULL);
        max_diff = diff > max_diff ? diff : max_diff;
      }
  return max_diff;
}
