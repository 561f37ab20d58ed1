/* sweep_sets.h - each instruction set's kernels as a table, for sweep.c's dispatch and the
 * tests; not a public header (sweep_kernel.h defines them).
 *
 * sweep.h's kernels as one instruction set builds them: sweep.c calls the set the CPU runs;
 * test_sweep runs each set it can against the others. */
#ifndef JACOBI_SWEEP_SETS_H
#define JACOBI_SWEEP_SETS_H

#include "solver/kernel/sweep.h"

#include <stdbool.h>
#include <stdint.h>

struct sweep_kernel_set {
  double (*plain)(const double *restrict in, double *restrict out, int64_t nrows, int64_t ncols,
                  int64_t stride, bool streaming, bool want_diff);
  double (*weighted)(const double *restrict in, double *restrict out, int64_t nrows, int64_t ncols,
                     int64_t stride, double omega, bool streaming, bool want_diff);
  double (*general)(const double *restrict in, double *restrict out, const double *restrict coef,
                    const double *restrict rhs, int64_t nrows, int64_t ncols, int64_t stride,
                    double omega, bool streaming, bool want_diff);
  double (*faces)(const double *restrict in, double *restrict out, const struct sweep_faces *faces,
                  int64_t nrows, int64_t ncols, int64_t stride, double omega, bool streaming,
                  bool want_diff);
  double (*faces_uniform)(const double *restrict in, double *restrict out,
                          const struct sweep_faces *faces, const struct sweep_faces_uniform *u,
                          int64_t nrows, int64_t ncols, int64_t stride, double omega,
                          bool streaming, bool want_diff);
  /* terms ({coef, rhs}: the general update) and faces (the faces update): at most one given */
  double (*levels)(double *const buf[2], int current, int64_t stride, int64_t levels,
                   const struct sweep_rect *rect, const double *omega, const double *const terms[2],
                   const struct sweep_faces *faces, double *scratch);
  double (*redblack)(double *x, const double *coef, const double *rhs,
                     const struct sweep_axes *faces, int64_t nrows, int64_t ncols, int64_t stride,
                     int parity, unsigned defer, bool want_change);
  void (*redblack_sides)(double *x, const double *coef, const double *rhs,
                         const struct sweep_axes *faces, int64_t nrows, int64_t ncols,
                         int64_t stride, int parity, unsigned sides);
};
extern const struct sweep_kernel_set sweep_kernels_baseline; /* sweep.c */
extern const struct sweep_kernel_set sweep_kernels_avx2;     /* sweep_avx2.c, x86-64 GCC only */

/* The whole set of an instruction set that this build has and this CPU runs, or NULL (AVX-512
 * has the plain sweep only: sweep_tile_variant). Not collective. */
const struct sweep_kernel_set *sweep_kernel_set_of(enum sweep_isa isa);

#endif
