/* sweep_wide_check_avx2.c - the kernel's 8-wide body built for AVX2, for test_sweep.
 *
 * A unit of its own under the pragma, as solver/kernel/sweep_wide.c is for AVX-512, so that the
 * body is built as an AVX unit builds it: the running max by the compare (sweep_kernel.h), which
 * AVX-512 does in one instruction and GCC, with AVX2's 4-double registers, lane by lane; the
 * same choice either way. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("avx2")
#define SWEEP_VLEN 8
#define SWEEP_STREAM_ALIGN 64
#include "solver/kernel/sweep_kernel.h"

#include "tests/sweep_wide_check.h"

double sweep_wide_check_avx2(const double *restrict in, double *restrict out, int64_t nrows,
                             int64_t ncols, int64_t stride, bool streaming, bool want_diff) {
  return plain_sweep(in, out, nrows, ncols, stride, streaming, want_diff);
}
#endif
