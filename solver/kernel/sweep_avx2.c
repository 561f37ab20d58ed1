/* sweep_avx2.c - sweep.h's kernels built for AVX2; see sweep_kernel.h.
 *
 * The kernels of sweep_kernel.h, four doubles a vector, in one AVX2 register each; sweep.c
 * calls them on a CPU that runs AVX2 (__builtin_cpu_supports) and its own baseline build
 * elsewhere. The same text as the baseline's, so the same expressions per lane, and the bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* Everything below, the kernel's inlined helpers included, is built for AVX2 (and the pragma
 * defines __AVX__ and __AVX2__ for them); only the kernel set is called, and only on a CPU
 * that runs it. Anything added to this file is AVX2 code too. */
#pragma GCC target("avx2")
#define SWEEP_KERNEL_SET sweep_kernels_avx2
#endif
#include "solver/kernel/sweep_kernel.h"
