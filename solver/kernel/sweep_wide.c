/* sweep_wide.c - the plain sweep eight doubles a vector, for AVX-512; see sweep.h.
 *
 * A translation unit of its own because the vector type's width is fixed per unit
 * (sweep_kernel.h): here 8 doubles, one 512-bit register, where sweep.c has 4. The text of the
 * body is sweep.c's, so the expressions per lane, and the bits, are sweep_tile's; the
 * 8-wide instantiation is also unit-tested on CPUs without AVX-512 (tests/sweep_wide_check.c). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* Everything below, the kernel's inlined helpers included, is built for AVX-512F (and the
 * pragma defines __AVX512F__ for them); only sweep_wide_avx512 is called, and only on a CPU
 * that runs it (sweep_isa_available). Anything added to this file, or a function of
 * sweep_kernel.h that is not inlined, is AVX-512 code too: keep such things out of here. */
#pragma GCC target("avx512f")
#endif
#define SWEEP_VLEN 8
#include "solver/kernel/sweep_kernel.h"

#if HAVE_X86_VARIANTS
double sweep_wide_avx512(const double *restrict in, double *restrict out, int64_t nrows,
                         int64_t ncols, int64_t stride, bool streaming, bool want_diff) {
  return plain_sweep(in, out, nrows, ncols, stride, streaming, want_diff);
}
#endif
