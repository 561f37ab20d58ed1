/* sweep_wide_check.h - the kernel's 8-wide body built for the baseline and AVX2 (tests only). */
#ifndef JACOBI_SWEEP_WIDE_CHECK_H
#define JACOBI_SWEEP_WIDE_CHECK_H

#include <stdbool.h>
#include <stdint.h>

/* The 8-wide body's plain sweep built for AVX2 (sweep_wide_check_avx2.c; x86-64 GCC only). */
double sweep_wide_check_avx2(const double *restrict in, double *restrict out, int64_t nrows,
                             int64_t ncols, int64_t stride, bool streaming, bool want_diff);

/* sweep_tile's update (want_diff: and its max-diff; else 0) by the 8-wide body, built for AVX2
 * (avx2) or the baseline, with streaming or regular stores. */
double sweep_wide_check(bool avx2, const double *restrict in, double *restrict out, int64_t nrows,
                        int64_t ncols, int64_t stride, bool streaming, bool want_diff);

#endif
