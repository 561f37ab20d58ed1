/* sweep_wide_check.c - the kernel's body eight doubles a vector, for test_sweep on any CPU.
 *
 * sweep_wide.c builds this body for AVX-512 only, which not every machine that runs the tests
 * has; here the same text (sweep_kernel.h) is built for the baseline and for AVX2, so that
 * the 8-wide loop structure, its shuffles, remainders and, with streaming stores, the peel to
 * a 64-byte boundary (0 to 7 scalar points, as the AVX-512 build does) are checked bit for bit
 * everywhere; the AVX2 build is a unit of its own (sweep_wide_check_avx2.c), so that it takes
 * the running max as AVX does (a vector compare) and the baseline here the SSE2 way. What differs
 * in the AVX-512 build is the instruction set and its streaming store (one 64-byte store where
 * these take four 16-byte halves): test_sweep's every-variant test covers that one where the CPU
 * runs it, and check_avx512_object.sh checks its code. */
#define SWEEP_VLEN 8
#define SWEEP_STREAM_ALIGN 64
#include "solver/kernel/sweep_kernel.h"

#include "tests/sweep_wide_check.h"

static double wide_baseline(const double *restrict in, double *restrict out, int64_t nrows,
                            int64_t ncols, int64_t stride, bool streaming, bool want_diff) {
  return plain_sweep(in, out, nrows, ncols, stride, streaming, want_diff);
}

double sweep_wide_check(bool avx2, const double *restrict in, double *restrict out, int64_t nrows,
                        int64_t ncols, int64_t stride, bool streaming, bool want_diff) {
#if HAVE_X86_VARIANTS
  if (avx2)
    return sweep_wide_check_avx2(in, out, nrows, ncols, stride, streaming, want_diff);
#else
  (void)avx2;
#endif
  return wide_baseline(in, out, nrows, ncols, stride, streaming, want_diff);
}
