/* minmax.h - the smaller and the larger of two 64-bit integers (indices, extents, counts).
 *
 * One definition for every layer; C has no standard one for integers (fmin and fmax are for
 * doubles). Not for doubles: their max in the kernels keeps its own NaN rule (sweep_kernel.h).
 */
#ifndef JACOBI_MINMAX_H
#define JACOBI_MINMAX_H

#include <stdint.h>

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

#endif
