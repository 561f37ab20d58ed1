/* sweep_kernel.h - the kernel's body, for one instruction set per unit; not a public header.
 *
 * Included once per translation unit with SWEEP_VLEN defined (4 when it is not): the vector
 * type, the helpers and sweep_body at that width, all static and inlined into the including
 * unit's functions, and, with SWEEP_KERNEL_SET defined, sweep.h's kernels as a set (below).
 * The unit chooses the instruction set for all of it (#pragma GCC target): sweep.c the
 * baseline, sweep_avx2.c AVX2 (4 doubles a vector), sweep_wide.c AVX-512 (8; the plain sweep
 * only). The same text for every unit and width, so every one computes the same expressions
 * per lane. */
#ifndef JACOBI_SWEEP_KERNEL_H
#define JACOBI_SWEEP_KERNEL_H

#include "common/minmax.h"
#include "solver/kernel/operator.h"
#include "solver/kernel/sweep.h"
#include "solver/kernel/sweep_sets.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h> /* _mm_stream_pd, _mm_sfence: part of the x86-64 baseline */
#endif
#if defined(__AVX512F__)
#include <immintrin.h> /* _mm512_stream_pd: where the unit is built for AVX-512 (sweep_wide.c) */
#endif
#include <stdint.h>

/* Every point is operator.h's expression, the same in every unit, at every width, and in the
 * scalar edges; why the body is written with explicit vectors, and why one unit per instruction
 * set: docs/design.md ("The operator"). */
/* The instruction-set variants (sweep.h) are GCC's target attributes on x86-64. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HAVE_X86_VARIANTS 1
#else
#define HAVE_X86_VARIANTS 0
#endif

/* sweep_tile_variant's AVX-512 variant (sweep_wide.c): plain_sweep, below, eight doubles a
 * vector, built with target("avx512f"). The CPU must run AVX-512F. */
double sweep_wide_avx512(const double *restrict in, double *restrict out, int64_t nrows,
                         int64_t ncols, int64_t stride, bool streaming, bool want_diff);

#ifndef SWEEP_VLEN
#define SWEEP_VLEN 4
#endif
enum { VLEN = SWEEP_VLEN };
typedef double vdouble __attribute__((vector_size(VLEN * sizeof(double))));
typedef int64_t vbits __attribute__((vector_size(VLEN * sizeof(double))));

/* Every helper below is inlined into its caller, at every optimisation level (-O0 and -Os
 * included): one that stayed a call would take and return 32- or 64-byte vectors, whose
 * calling convention differs between instruction sets (in AVX registers, or in memory). When
 * the kernel was built by function multi-versioning, an AVX2 clone calling a helper built once
 * for the baseline read garbage or faulted (Debug, MinSizeRel and None builds crashed on every
 * run); each unit now builds its own, but a helper left out of line would still cost a call
 * per vector. Inlined, each computes the same expressions at its own width, so every build
 * type gives the same bits. */
#define VECTOR_HELPER __attribute__((always_inline))

static inline VECTOR_HELPER vdouble load(const double *p) {
  vdouble v;
  memcpy(&v, p, sizeof v); /* an unaligned vector load */
  return v;
}

/* A non-temporal store writes the line to memory without first reading it into the cache
 * (no write-allocate): 16 bytes of traffic per update instead of 24, at the price of the line
 * not being in cache for the next sweep; worth it only when the tile does not fit in cache
 * anyway. p must be STREAM_ALIGN-byte aligned: a whole vector in one store where the unit is
 * built for AVX-512 (splitting a 64-byte vector into SSE2 halves costs three shuffles a
 * store), else 16-byte halves. */
#if !defined(SWEEP_STREAM_ALIGN) && defined(__AVX512F__) && SWEEP_VLEN == 8
#define SWEEP_STREAM_ALIGN 64
#elif !defined(SWEEP_STREAM_ALIGN)
#define SWEEP_STREAM_ALIGN 16 /* a test may ask for 64 with halves, to run the longer peel */
#endif
enum { STREAM_ALIGN = SWEEP_STREAM_ALIGN };

static inline VECTOR_HELPER void store(double *p, vdouble v, bool streaming) {
#if defined(__AVX512F__) && SWEEP_VLEN == 8
  if (streaming) {
    __m512d whole;
    memcpy(&whole, &v, sizeof whole);
    _mm512_stream_pd(p, whole);
    return;
  }
#elif defined(__SSE2__)
  if (streaming) {
    for (int h = 0; h < VLEN; h += 2) {
      __m128d half;
      memcpy(&half, (const double *)&v + h, sizeof half);
      _mm_stream_pd(p + h, half);
    }
    return;
  }
#else
  (void)streaming;
#endif
  memcpy(p, &v, sizeof v);
}

/* Software prefetch of the row entering the stencil (`down`), 2 KiB ahead of the loads, one
 * cache line at a time. Measured on the sweep far out of cache (bench_sweep, 4096² and 8192²,
 * AMD EPYC): +30% with regular stores, +60% with streaming stores; without it the hardware
 * prefetcher, following four streams at once, leaves the core waiting on the new row. 1 KiB
 * ahead gained half as much, 4 KiB no more; prefetching the output row (for write) lost.
 * A prefetch never faults, so running past the end of the tile is harmless; the address is
 * formed as an integer so that no out-of-bounds pointer is computed. */
enum { PREFETCH_BYTES = 2048, CACHE_LINE = 64 };

static inline VECTOR_HELPER void prefetch_line(const double *p, int64_t ahead, int line) {
  __builtin_prefetch((const void *)((uintptr_t)p + (uintptr_t)ahead + (uintptr_t)line * CACHE_LINE),
                     0, 3);
}

/* x in every lane, its bits as they are: x - 0 is x for every x, -0 included (0 + x would turn
 * -0 into +0), so this is one broadcast. (A loop storing the lanes one by one compiled to a
 * vmovq form that Valgrind cannot decode.) */
static inline VECTOR_HELPER vdouble splat(double x) { return x - (vdouble){0}; }

/* Largest lane of v (all lanes non-negative, none NaN). */
static inline VECTOR_HELPER double lane_max(vdouble v) {
  double max = v[0];
  for (int l = 1; l < VLEN; l++)
    max = v[l] > max ? v[l] : max;
  return max;
}

/* The faces update's arrays for one row (sweep_row): the conductances to the neighbour above
 * (cn), below (cs), left (cw) and right (ce), the diagonal and the load, each indexed as the
 * row's points. */
struct faces_row {
  const double *cn, *cs, *cw, *ce, *diag, *load;
  /* Or, where `uniform` (a constant of each inlined call, so each body is specialised): every
   * point of the row's piece has the four conductances c, the diagonal dg and the load ld, the
   * arrays' own values, bit for bit, so the same expression gives the same bits from 16 bytes
   * of traffic a point instead of 64. */
  bool uniform;
  double c, dg, ld;
};

/* The faces arrays of the row whose storage (ring included) begins `at` doubles in. */
static inline struct faces_row faces_row_of(const struct sweep_faces *faces, int64_t at) {
  return (struct faces_row){faces->cond[DECOMP_NORTH] + at,
                            faces->cond[DECOMP_SOUTH] + at,
                            faces->cond[DECOMP_WEST] + at,
                            faces->cond[DECOMP_EAST] + at,
                            faces->diag + at,
                            faces->load + at,
                            false,
                            0.0,
                            0.0,
                            0.0};
}

/* The canonical update of one point, and its max-diff; the vector body does the same per lane.
 * Weighted (Chebyshev), the point becomes omega * (update - old) + old, old the value `out`
 * held (the iterate before `in`), and the diff stays |update - in|: the sweep change of `in`.
 * With fr (the faces update) coef and rhs are not read. */
static inline VECTOR_HELPER double point(const double *up, const double *mid, const double *down,
                                         double *out, int64_t j, double max_diff, bool weighted,
                                         double omega, const double *coef, const double *rhs,
                                         const struct faces_row *fr) {
  double value;
  if (fr != NULL && fr->uniform) { /* the same, from the piece's uniform values */
    value = OP_FACES_UPDATE(
        OP_FACES(fr->c, up[j], fr->c, down[j], fr->c, mid[j - 1], fr->c, mid[j + 1]), fr->ld,
        fr->dg);
  } else if (fr != NULL) { /* the faces update (field.h): conductance-weighted, over the diagonal */
    value = OP_FACES_UPDATE(OP_FACES(fr->cn[j], up[j], fr->cs[j], down[j], fr->cw[j], mid[j - 1],
                                     fr->ce[j], mid[j + 1]),
                            fr->load[j], fr->diag[j]);
  } else {
    value = OP_LAPLACE(up[j], down[j], mid[j - 1], mid[j + 1]);
    if (coef != NULL) /* the general update (plate.h): coef * average + rhs */
      value = OP_GENERAL(coef[j], value, rhs[j]);
  }
  double diff = fabs(value - mid[j]);
  out[j] = weighted ? omega * (value - out[j]) + out[j] : value;
  return diff > max_diff ? diff : max_diff;
}

/* |new - old| per lane. */
static inline VECTOR_HELPER vdouble abs_diff(vdouble value, vdouble old) {
  const vbits abs_mask = (vbits){0} + INT64_MAX; /* clears the sign bit: fabs per lane */
  return (vdouble)((vbits)(value - old) & abs_mask);
}

/* The canonical update of VLEN points from j on, given the vectors of their left and right
 * neighbours; every lane computes exactly point()'s expression. */
static inline VECTOR_HELPER vdouble update(const double *up, const double *down, int64_t j,
                                           vdouble left, vdouble right) {
  return OP_LAPLACE(load(up + j), load(down + j), left, right);
}

/* The general update of VLEN points from j on, from their average: coef * average + rhs per
 * lane (point()'s expression), or the average itself for Laplace's plate (coef NULL). */
static inline VECTOR_HELPER vdouble general(vdouble average, const double *coef, const double *rhs,
                                            int64_t j) {
  if (coef == NULL)
    return average;
  return OP_GENERAL(load(coef + j), average, load(rhs + j));
}

/* The update of VLEN points from j on, given the vectors of their left and right neighbours:
 * the faces update (fr non-NULL), else the general or Laplace update; every lane computes
 * exactly point()'s expression. */
static inline VECTOR_HELPER vdouble stencil(const double *up, const double *down, int64_t j,
                                            vdouble left, vdouble right, const double *coef,
                                            const double *rhs, const struct faces_row *fr) {
  if (fr != NULL && fr->uniform) {
    const vdouble c = splat(fr->c);
    return OP_FACES_UPDATE(OP_FACES(c, load(up + j), c, load(down + j), c, left, c, right),
                           splat(fr->ld), splat(fr->dg));
  }
  if (fr != NULL)
    return OP_FACES_UPDATE(OP_FACES(load(fr->cn + j), load(up + j), load(fr->cs + j),
                                    load(down + j), load(fr->cw + j), left, load(fr->ce + j),
                                    right),
                           load(fr->load + j), load(fr->diag + j));
  return general(update(up, down, j, left, right), coef, rhs, j);
}

/* What is stored for the updates `value` of VLEN points from j on: the update itself, or
 * weighted, omega * (update - old) + old (point()'s expression per lane). */
static inline VECTOR_HELPER vdouble weigh(vdouble value, const double *out, int64_t j,
                                          bool weighted, double omega) {
  if (!weighted)
    return value;
  vdouble old = load(out + j);
  return omega * (value - old) + old;
}

/* The canonical update of VLEN points from j on, stored; returns their |update - in|. */
static inline VECTOR_HELPER vdouble vector_points(const double *up, const double *mid,
                                                  const double *down, double *out, int64_t j,
                                                  bool streaming, bool weighted, double omega,
                                                  const double *coef, const double *rhs,
                                                  const struct faces_row *fr) {
  vdouble value = stencil(up, down, j, load(mid + j - 1), load(mid + j + 1), coef, rhs, fr);
  store(out + j, weigh(value, out, j, weighted, omega), streaming);
  return abs_diff(value, load(mid + j));
}

/* For vectors a and b of consecutive points: the right neighbours of a's points (lanes 1 ..
 * VLEN of a:b) and the left neighbours of b's (lanes VLEN - 1 .. 2 VLEN - 2). Moving lanes
 * between registers costs a shuffle where an unaligned load costs a load slot, or two when it
 * crosses a cache line (a 32-byte load does at 3 of the 8 offsets a double can have): the
 * kernel in cache is bound by its loads. */
#if SWEEP_VLEN == 4
static inline VECTOR_HELPER vdouble right_of(vdouble a, vdouble b) {
  return __builtin_shufflevector(a, b, 1, 2, 3, 4);
}
static inline VECTOR_HELPER vdouble left_of(vdouble a, vdouble b) {
  return __builtin_shufflevector(a, b, 3, 4, 5, 6);
}
#elif SWEEP_VLEN == 8
static inline VECTOR_HELPER vdouble right_of(vdouble a, vdouble b) {
  return __builtin_shufflevector(a, b, 1, 2, 3, 4, 5, 6, 7, 8);
}
static inline VECTOR_HELPER vdouble left_of(vdouble a, vdouble b) {
  return __builtin_shufflevector(a, b, 7, 8, 9, 10, 11, 12, 13, 14);
}
#else
#error "sweep_kernel.h: SWEEP_VLEN must be 4 or 8"
#endif

/* Lane-wise max of two non-negative vectors (a lane of `diff` that is NaN is dropped; `vmax`
 * must hold no NaN: a running maximum, never a fresh diff, or a NaN there would drop the other
 * lane's diff and the max would depend on which points were paired). */
static inline VECTOR_HELPER vdouble vector_max(vdouble vmax, vdouble diff) {
#if defined(__AVX__) || !defined(__SSE2__)
  vbits greater = diff > vmax; /* all ones where diff is larger */
#else
  /* With SSE2 alone there is no compare of 4 doubles at once, and GCC lowers `diff > vmax` to
   * four scalar compares and moves (bench_sweep: the SSE2 sweep with the diff at a third of
   * the one without). The sign of vmax - diff says the same with SSE2's subtraction, shift
   * and integer subtraction: for vmax >= 0 (no NaN) and diff >= 0 or a NaN of clear sign,
   * vmax - diff < 0 exactly when diff > vmax (unequal doubles never differ by zero, by gradual
   * underflow; were flush-to-zero set, the zero keeps the difference's sign, and with
   * denormals-are-zero the compare too sees zeros); a NaN diff gives a NaN of its own clear
   * sign: vmax kept, as the compare keeps it; diff = +inf gives -inf: taken; both +inf give
   * a NaN of either sign, and either choice is +inf. */
  typedef uint64_t vubits __attribute__((vector_size(VLEN * sizeof(double))));
  vbits greater = (vbits)((vubits){0} - ((vubits)(vmax - diff) >> 63));
#endif
  return (vdouble)((greater & (vbits)diff) | (~greater & (vbits)vmax));
}

/* The running maxima of a sweep's diffs: four, one per vector of the main loop, because the
 * compare-and-select that updates one is a chain of dependent instructions, and with one
 * accumulator that chain, not memory, limits the loop. Max is exact and order-free, and each
 * fresh diff goes into a running maximum (vector_max drops its NaN lanes), so how the points
 * are split between them changes nothing: the result is the max over the points whose diff is
 * not NaN, as point()'s. */
struct running_max {
  vdouble v[4];
  double scalar; /* the scalar points' */
};

static inline VECTOR_HELPER double running_max_value(const struct running_max *m) {
  double vector = lane_max(vector_max(vector_max(m->v[0], m->v[1]), vector_max(m->v[2], m->v[3])));
  return vector > m->scalar ? vector : m->scalar;
}

/* One row of the sweep, instantiated by constant arguments: the ncols points from j = 1 on of
 * the row `mid`, between the rows `up` and `down`, stored in `row_out` (coef and rhs: the
 * row's terms of the general update, or NULL); with or without streaming stores, with or
 * without the max-diff (without it, the loads of the old centre values and the
 * compare-and-selects vanish from the loop: iterations whose diff nobody reads are cheaper),
 * plain or weighted (Chebyshev: each stored value is omega * (update - old) + old, reading the
 * old value from `row_out` at its own point only, so one more load per point and the same
 * memory traffic: a regular store reads the line anyway). The rows are three pointers, not
 * one with a stride, so that a wavefront (levels_through_scratch) can keep its rows anywhere. */
static inline __attribute__((always_inline)) void
sweep_row(const double *restrict up, const double *restrict mid, const double *restrict down,
          double *restrict row_out, const double *coef, const double *rhs,
          const struct faces_row *fr, int64_t ncols, bool streaming, bool want_diff, bool weighted,
          double omega, int64_t prefetch, struct running_max *m) {
  int64_t j = 1;
  /* Streaming stores need STREAM_ALIGN-byte alignment: scalar points first up to there. */
  while (streaming && ((uintptr_t)(row_out + j) & (STREAM_ALIGN - 1)) != 0 && j <= ncols) {
    double max = point(up, mid, down, row_out, j++, m->scalar, weighted, omega, coef, rhs, fr);
    m->scalar = want_diff ? max : m->scalar;
  }
  /* The main loop: 4 VLEN points from the row's centre vectors c0..c3, their inner
   * neighbours shuffled out of them, loading only the two outermost: 14 loads where
   * vector_points takes 20 (bench_sweep, 256²: 3.1 -> 3.8 GLUP/s). */
  for (; j + 4 * VLEN - 1 <= ncols; j += 4 * VLEN) {
    for (int line = 0; prefetch > 0 && line < (int)(4 * VLEN * sizeof(double) / CACHE_LINE); line++)
      prefetch_line(down + j, prefetch, line);
    vdouble c0 = load(mid + j), c1 = load(mid + j + VLEN), c2 = load(mid + j + 2 * VLEN),
            c3 = load(mid + j + 3 * VLEN);
    vdouble v0 = stencil(up, down, j, load(mid + j - 1), right_of(c0, c1), coef, rhs, fr);
    vdouble v1 = stencil(up, down, j + VLEN, left_of(c0, c1), right_of(c1, c2), coef, rhs, fr);
    vdouble v2 = stencil(up, down, j + 2 * VLEN, left_of(c1, c2), right_of(c2, c3), coef, rhs, fr);
    vdouble v3 = stencil(up, down, j + 3 * VLEN, left_of(c2, c3), load(mid + j + 3 * VLEN + 1),
                         coef, rhs, fr);
    store(row_out + j, weigh(v0, row_out, j, weighted, omega), streaming);
    store(row_out + j + VLEN, weigh(v1, row_out, j + VLEN, weighted, omega), streaming);
    store(row_out + j + 2 * VLEN, weigh(v2, row_out, j + 2 * VLEN, weighted, omega), streaming);
    store(row_out + j + 3 * VLEN, weigh(v3, row_out, j + 3 * VLEN, weighted, omega), streaming);
    if (want_diff) {
      m->v[0] = vector_max(m->v[0], abs_diff(v0, c0));
      m->v[1] = vector_max(m->v[1], abs_diff(v1, c1));
      m->v[2] = vector_max(m->v[2], abs_diff(v2, c2));
      m->v[3] = vector_max(m->v[3], abs_diff(v3, c3));
    }
  }
  for (; j + 2 * VLEN - 1 <= ncols; j += 2 * VLEN) {
    vdouble d0 =
        vector_points(up, mid, down, row_out, j, streaming, weighted, omega, coef, rhs, fr);
    vdouble d1 =
        vector_points(up, mid, down, row_out, j + VLEN, streaming, weighted, omega, coef, rhs, fr);
    if (want_diff) {
      m->v[0] = vector_max(m->v[0], d0);
      m->v[1] = vector_max(m->v[1], d1);
    }
  }
  if (j + VLEN - 1 <= ncols) {
    vdouble d0 =
        vector_points(up, mid, down, row_out, j, streaming, weighted, omega, coef, rhs, fr);
    if (want_diff)
      m->v[0] = vector_max(m->v[0], d0);
    j += VLEN;
  }
  for (; j <= ncols; j++) {
    double max = point(up, mid, down, row_out, j, m->scalar, weighted, omega, coef, rhs, fr);
    m->scalar = want_diff ? max : m->scalar; /* m holds the diffs of the rows that want them */
  }
}

/* The sweep of a tile, row by row (sweep_row); faces NULL or the faces update's arrays. */
static inline __attribute__((always_inline)) double
sweep_body(const double *restrict in, double *restrict out, int64_t nrows, int64_t ncols,
           int64_t stride, bool streaming, bool want_diff, bool weighted, double omega,
           const double *restrict coef_in, const double *restrict rhs_in,
           const struct sweep_faces *faces) {
  struct running_max m = {{{0}}, 0.0};
  for (int64_t i = 1; i <= nrows; i++) {
    struct faces_row row;
    if (faces != NULL)
      row = faces_row_of(faces, i * stride);
    sweep_row(in + (i - 1) * stride, in + i * stride, in + (i + 1) * stride, out + i * stride,
              coef_in != NULL ? coef_in + i * stride : NULL,
              rhs_in != NULL ? rhs_in + i * stride : NULL, faces != NULL ? &row : NULL, ncols,
              streaming, want_diff, weighted, omega, PREFETCH_BYTES, &m);
  }
#if defined(__SSE2__)
  if (streaming)
    _mm_sfence(); /* streaming stores are weakly ordered: complete them before anyone reads */
#endif
  return want_diff ? running_max_value(&m) : 0.0;
}

/* The plain sweep (sweep_tile's update), with or without streaming stores and the max-diff:
 * what the instruction-set variants (sweep.h) instantiate. */
static inline __attribute__((always_inline)) double plain_sweep(const double *restrict in,
                                                                double *restrict out, int64_t nrows,
                                                                int64_t ncols, int64_t stride,
                                                                bool streaming, bool want_diff) {
  if (streaming)
    return want_diff
               ? sweep_body(in, out, nrows, ncols, stride, true, true, false, 1.0, NULL, NULL, NULL)
               : sweep_body(in, out, nrows, ncols, stride, true, false, false, 1.0, NULL, NULL,
                            NULL);
  return want_diff
             ? sweep_body(in, out, nrows, ncols, stride, false, true, false, 1.0, NULL, NULL, NULL)
             : sweep_body(in, out, nrows, ncols, stride, false, false, false, 1.0, NULL, NULL,
                          NULL);
}

/* ---- one instruction set's kernels, for sweep.c's dispatch ----------------------------------
 * sweep.h's kernels built for one instruction set: a unit that defines SWEEP_KERNEL_SET
 * before including this header gets them, under that name, built for its unit's target
 * (sweep.c: the baseline; sweep_avx2.c: AVX2, by pragma). sweep.c calls the set the CPU runs.
 * One unit per instruction set, not function multi-versioning, because the unit's target
 * decides how vector_max is written (above): the preprocessor sees a unit's target, not a
 * clone's. */
#if defined(SWEEP_KERNEL_SET)
static double kernel_plain(const double *restrict in, double *restrict out, int64_t nrows,
                           int64_t ncols, int64_t stride, bool streaming, bool want_diff) {
  return plain_sweep(in, out, nrows, ncols, stride, streaming, want_diff);
}

static double kernel_weighted(const double *restrict in, double *restrict out, int64_t nrows,
                              int64_t ncols, int64_t stride, double omega, bool streaming,
                              bool want_diff) {
  if (streaming)
    return want_diff ? sweep_body(in, out, nrows, ncols, stride, true, true, true, omega, NULL,
                                  NULL, NULL)
                     : sweep_body(in, out, nrows, ncols, stride, true, false, true, omega, NULL,
                                  NULL, NULL);
  return want_diff
             ? sweep_body(in, out, nrows, ncols, stride, false, true, true, omega, NULL, NULL, NULL)
             : sweep_body(in, out, nrows, ncols, stride, false, false, true, omega, NULL, NULL,
                          NULL);
}

static double kernel_general(const double *restrict in, double *restrict out,
                             const double *restrict coef, const double *restrict rhs, int64_t nrows,
                             int64_t ncols, int64_t stride, double omega, bool streaming,
                             bool want_diff) {
  bool weighted = omega != 1.0;
  if (streaming) {
    if (weighted)
      return want_diff ? sweep_body(in, out, nrows, ncols, stride, true, true, true, omega, coef,
                                    rhs, NULL)
                       : sweep_body(in, out, nrows, ncols, stride, true, false, true, omega, coef,
                                    rhs, NULL);
    return want_diff
               ? sweep_body(in, out, nrows, ncols, stride, true, true, false, 1.0, coef, rhs, NULL)
               : sweep_body(in, out, nrows, ncols, stride, true, false, false, 1.0, coef, rhs,
                            NULL);
  }
  if (weighted)
    return want_diff ? sweep_body(in, out, nrows, ncols, stride, false, true, true, omega, coef,
                                  rhs, NULL)
                     : sweep_body(in, out, nrows, ncols, stride, false, false, true, omega, coef,
                                  rhs, NULL);
  return want_diff
             ? sweep_body(in, out, nrows, ncols, stride, false, true, false, 1.0, coef, rhs, NULL)
             : sweep_body(in, out, nrows, ncols, stride, false, false, false, 1.0, coef, rhs, NULL);
}

/* The faces update (sweep_tile_faces), each case a body of its own as kernel_general's. The
 * arrays are copied to a local, whose address the inlined body knows is not NULL: the faces
 * branch of every helper is taken at compile time. */
static double kernel_faces(const double *restrict in, double *restrict out,
                           const struct sweep_faces *faces, int64_t nrows, int64_t ncols,
                           int64_t stride, double omega, bool streaming, bool want_diff) {
  const struct sweep_faces f = *faces;
  bool weighted = omega != 1.0;
  if (streaming) {
    if (weighted)
      return want_diff ? sweep_body(in, out, nrows, ncols, stride, true, true, true, omega, NULL,
                                    NULL, &f)
                       : sweep_body(in, out, nrows, ncols, stride, true, false, true, omega, NULL,
                                    NULL, &f);
    return want_diff
               ? sweep_body(in, out, nrows, ncols, stride, true, true, false, 1.0, NULL, NULL, &f)
               : sweep_body(in, out, nrows, ncols, stride, true, false, false, 1.0, NULL, NULL, &f);
  }
  if (weighted)
    return want_diff
               ? sweep_body(in, out, nrows, ncols, stride, false, true, true, omega, NULL, NULL, &f)
               : sweep_body(in, out, nrows, ncols, stride, false, false, true, omega, NULL, NULL,
                            &f);
  return want_diff
             ? sweep_body(in, out, nrows, ncols, stride, false, true, false, 1.0, NULL, NULL, &f)
             : sweep_body(in, out, nrows, ncols, stride, false, false, false, 1.0, NULL, NULL, &f);
}

/* The faces update with the uniform runs of u (sweep.h: sweep_tile_faces_uniform): each row in
 * at most three pieces, the arrays' body left and right of the run and the uniform body on it,
 * one running maximum for all (max is exact and order-free). */
static inline __attribute__((always_inline)) double
faces_runs_body(const double *restrict in, double *restrict out, const struct sweep_faces *faces,
                const struct sweep_faces_uniform *u, int64_t nrows, int64_t ncols, int64_t stride,
                bool streaming, bool want_diff, bool weighted, double omega) {
  struct running_max m = {{{0}}, 0.0};
  const struct faces_row uniform = {NULL, NULL, NULL,    NULL,    NULL,
                                    NULL, true, u->cond, u->diag, u->load};
  for (int64_t i = 1; i <= nrows; i++) {
    int64_t lo = min64(max64(u->run[i - 1][0] - u->col0, 0), ncols);
    int64_t hi = min64(max64(u->run[i - 1][1] - u->col0, lo), ncols);
    const double *up = in + (i - 1) * stride, *mid = in + i * stride, *down = in + (i + 1) * stride;
    double *row_out = out + i * stride;
    struct faces_row row = faces_row_of(faces, i * stride);
    /* a piece from interior column `first` on is a row whose ring column is `first` */
    sweep_row(up, mid, down, row_out, NULL, NULL, &row, lo, streaming, want_diff, weighted, omega,
              PREFETCH_BYTES, &m);
    sweep_row(up + lo, mid + lo, down + lo, row_out + lo, NULL, NULL, &uniform, hi - lo, streaming,
              want_diff, weighted, omega, PREFETCH_BYTES, &m);
    struct faces_row right = faces_row_of(faces, i * stride + hi);
    sweep_row(up + hi, mid + hi, down + hi, row_out + hi, NULL, NULL, &right, ncols - hi, streaming,
              want_diff, weighted, omega, PREFETCH_BYTES, &m);
  }
#if defined(__SSE2__)
  if (streaming)
    _mm_sfence();
#endif
  return want_diff ? running_max_value(&m) : 0.0;
}

static double kernel_faces_uniform(const double *restrict in, double *restrict out,
                                   const struct sweep_faces *faces,
                                   const struct sweep_faces_uniform *u, int64_t nrows,
                                   int64_t ncols, int64_t stride, double omega, bool streaming,
                                   bool want_diff) {
  const struct sweep_faces f = *faces;
  bool weighted = omega != 1.0;
  if (streaming) {
    if (weighted)
      return want_diff
                 ? faces_runs_body(in, out, &f, u, nrows, ncols, stride, true, true, true, omega)
                 : faces_runs_body(in, out, &f, u, nrows, ncols, stride, true, false, true, omega);
    return want_diff
               ? faces_runs_body(in, out, &f, u, nrows, ncols, stride, true, true, false, 1.0)
               : faces_runs_body(in, out, &f, u, nrows, ncols, stride, true, false, false, 1.0);
  }
  if (weighted)
    return want_diff
               ? faces_runs_body(in, out, &f, u, nrows, ncols, stride, false, true, true, omega)
               : faces_runs_body(in, out, &f, u, nrows, ncols, stride, false, false, true, omega);
  return want_diff
             ? faces_runs_body(in, out, &f, u, nrows, ncols, stride, false, true, false, 1.0)
             : faces_runs_body(in, out, &f, u, nrows, ncols, stride, false, false, false, 1.0);
}

/* A tile's faces arrays moved by `at` doubles: those of the part of it whose storage begins
 * there. */
static inline struct sweep_faces faces_shifted(const struct sweep_faces *faces, int64_t at) {
  struct sweep_faces out = {{NULL}, faces->diag + at, faces->load + at};
  for (int d = 0; d < DECOMP_NSIDES; d++)
    out.cond[d] = faces->cond[d] + at;
  return out;
}

/* One piece of a wavefront: level t's row i, columns [lo, hi). */
struct wave_piece {
  int64_t t, i, lo, hi;
};

/* The pieces of a wavefront of `levels` levels over rect[0 .. levels - 1], in its order (see
 * levels_in_buffers): step s, then chunk x of SWEEP_LEVELS_CHUNK columns, then level t, level t
 * sweeping row s - t; the empty ones skipped. */
struct wavefront {
  const struct sweep_rect *rect;
  int64_t levels, s, x, t;
};

static inline struct wavefront wavefront_of(const struct sweep_rect *rect, int64_t levels) {
  return (struct wavefront){rect, levels, rect[0].row0, rect[0].col0, -1};
}

/* The next piece into *p, or false after the last. */
static inline bool wavefront_next(struct wavefront *w, struct wave_piece *p) {
  for (;;) {
    if (++w->t == w->levels) {
      w->t = 0;
      w->x += SWEEP_LEVELS_CHUNK;
      if (w->x >= w->rect[0].col1) {
        w->x = w->rect[0].col0;
        w->s++;
      }
    }
    if (w->s >= w->rect[0].row1 + w->levels - 1)
      return false;
    const struct sweep_rect *r = &w->rect[w->t];
    *p = (struct wave_piece){w->t, w->s - w->t, max64(r->col0, w->x),
                             min64(r->col1, w->x + SWEEP_LEVELS_CHUNK)};
    if (p->i >= r->row0 && p->i < r->row1 && p->lo < p->hi)
      return true;
  }
}

/* The wavefront in the two buffers: every level writes one (Chebyshev's weighted levels read
 * the iterate two levels back where they write, so every level's rows must stand there). */
static double levels_in_buffers(double *const buf[2], int current, int64_t stride, int64_t levels,
                                const struct sweep_rect *rect, const double *omega,
                                const double *const terms[2], const struct sweep_faces *faces) {
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
   * has read. So only the order changes, and what one chunk's levels touch between them is
   * bounded however wide the tile (SWEEP_LEVELS_CHUNK); the rows carried from step to step
   * are whole rows. */
  struct wave_piece p;
  for (struct wavefront w = wavefront_of(rect, levels); wavefront_next(&w, &p);) {
    int64_t t = p.t, i = p.i, lo = p.lo, hi = p.hi;
    int in = (int)((current + t) % 2);
    /* a one-row tile whose top-left ring point is (i - 1, lo - 1) */
    int64_t at = (i - 1) * stride + lo - 1;
    const double *from = buf[in] + at;
    double *to = buf[1 - in] + at;
    double diff = 0.0;
    if (faces != NULL) { /* the faces update: one body, weighted or not */
      double weight = omega != NULL ? omega[t] : 1.0;
      struct sweep_faces part = faces_shifted(faces, at);
      diff = kernel_faces(from, to, &part, 1, hi - lo, stride, weight, false, t == levels - 1);
      max_diff = diff > max_diff ? diff : max_diff;
      continue;
    }
    if (terms != NULL) { /* the general update: one body, weighted or not */
      double weight = omega != NULL ? omega[t] : 1.0;
      diff = kernel_general(from, to, terms[0] + at, terms[1] + at, 1, hi - lo, stride, weight,
                            false, t == levels - 1);
      max_diff = diff > max_diff ? diff : max_diff;
      continue;
    }
    bool plain = omega == NULL || omega[t] == 1.0; /* as sweep_tile_weighted's callers */
    if (plain && t == levels - 1)
      diff = sweep_body(from, to, 1, hi - lo, stride, false, true, false, 1.0, NULL, NULL, NULL);
    else if (plain)
      sweep_body(from, to, 1, hi - lo, stride, false, false, false, 1.0, NULL, NULL, NULL);
    else if (t == levels - 1)
      diff =
          sweep_body(from, to, 1, hi - lo, stride, false, true, true, omega[t], NULL, NULL, NULL);
    else
      sweep_body(from, to, 1, hi - lo, stride, false, false, true, omega[t], NULL, NULL, NULL);
    max_diff = diff > max_diff ? diff : max_diff;
  }
  return max_diff;
}

/* Row r's slot in level t's ring of three scratch rows (levels_through_scratch). */
static inline double *ring_row(double *scratch, int64_t stride, int64_t t, int64_t r) {
  return scratch + (3 * t + r % 3) * stride;
}

/* Row r of what level t wrote, for the level after it (levels_through_scratch): its ring's
 * slot, or, for a row outside its rectangle (a fixed boundary row, the same in both buffers)
 * and for level -1 (the block's input), buffer `in`. */
static inline const double *level_row(const double *in, double *scratch, int64_t stride,
                                      const struct sweep_rect *rect, int64_t t, int64_t r) {
  if (t < 0 || r < rect[t].row0 || r >= rect[t].row1)
    return in + r * stride;
  return ring_row(scratch, stride, t, r);
}

/* Jacobi's wavefront (plain or general update) through scratch rows (sweep.h: sweep_levels,
 * scratch given, omega NULL): level t < levels - 1 writes row i into slot i % 3 of its own
 * ring of three rows, which hold all the level after it reads of it (rows i - 2 .. i: level t + 1
 * sweeps row i - 1 in the same step, and the row it overwrites, i - 3, was last read a step
 * before); only the last level writes a buffer. So the other buffer is never written: each point
 * costs 16 bytes of memory traffic a block where levels even (the input's line read, the result
 * written over it) and 24 where odd, against 32 when every level writes a buffer (its lines read
 * for ownership and written back). Where level t + 1's stencil reaches past level t's rectangle,
 * the point is fixed boundary: its row from `in`, its column copied into the ring with each row. */
static double levels_through_scratch(double *const buf[2], int current, int64_t stride,
                                     int64_t levels, const struct sweep_rect *rect,
                                     const double *const terms[2], const struct sweep_faces *faces,
                                     double *scratch) {
  const double *in = buf[current];
  double *result = buf[(current + levels) % 2];
  struct running_max m = {{{0}}, 0.0};
  /* Steps and chunks as levels_in_buffers. When levels is even the result overwrites the
   * input: the last level writes row s - levels + 1, at most row s - 1, which level 0 reads in
   * this step (its `up`) in its own chunk's columns only, and earlier in the chunk. */
  struct wave_piece p;
  for (struct wavefront w = wavefront_of(rect, levels); wavefront_next(&w, &p);) {
    const struct sweep_rect *r = &rect[p.t];
    int64_t t = p.t, i = p.i, lo = p.lo, hi = p.hi;
    bool last = t == levels - 1;
    double *to = last ? result + i * stride : ring_row(scratch, stride, t, i);
    if (!last) { /* the ring's edge columns: fixed boundary, where they are read */
      if (lo == r->col0)
        to[lo - 1] = in[i * stride + lo - 1];
      if (hi == r->col1)
        to[hi] = in[i * stride + hi];
    }
    /* rows as one-row tiles whose first point is column lo */
    int64_t first = lo - 1;
    const double *up = level_row(in, scratch, stride, rect, t - 1, i - 1) + first;
    const double *mid = level_row(in, scratch, stride, rect, t - 1, i) + first;
    const double *down = level_row(in, scratch, stride, rect, t - 1, i + 1) + first;
    to += first;
    /* only level 0 reads memory: the prefetch elsewhere costs load slots and gains nothing
     * (measured: 4096², 4 levels, 256-column chunks, 7-23% slower with it) */
    int64_t ahead = t == 0 ? PREFETCH_BYTES : 0;
    if (faces != NULL) {
      const struct faces_row row = faces_row_of(faces, i * stride + first);
      if (last)
        sweep_row(up, mid, down, to, NULL, NULL, &row, hi - lo, false, true, false, 1.0, 0, &m);
      else
        sweep_row(up, mid, down, to, NULL, NULL, &row, hi - lo, false, false, false, 1.0, ahead,
                  &m);
    } else if (terms != NULL) {
      const double *coef = terms[0] + i * stride + first, *rhs = terms[1] + i * stride + first;
      if (last)
        sweep_row(up, mid, down, to, coef, rhs, NULL, hi - lo, false, true, false, 1.0, 0, &m);
      else
        sweep_row(up, mid, down, to, coef, rhs, NULL, hi - lo, false, false, false, 1.0, ahead, &m);
    } else if (last) {
      sweep_row(up, mid, down, to, NULL, NULL, NULL, hi - lo, false, true, false, 1.0, 0, &m);
    } else {
      sweep_row(up, mid, down, to, NULL, NULL, NULL, hi - lo, false, false, false, 1.0, ahead, &m);
    }
  }
  return running_max_value(&m);
}

static double kernel_levels(double *const buf[2], int current, int64_t stride, int64_t levels,
                            const struct sweep_rect *rect, const double *omega,
                            const double *const terms[2], const struct sweep_faces *faces,
                            double *scratch) {
  if (scratch != NULL && omega == NULL && levels > 1)
    return levels_through_scratch(buf, current, stride, levels, rect, terms, faces, scratch);
  return levels_in_buffers(buf, current, stride, levels, rect, omega, terms, faces);
}

/* ---- red-black Gauss-Seidel (sweep.h: sweep_redblack) ------------------------------------------
 * A colour's update of one row in place: every point of the row is computed (the vector body
 * needs no gather) and the colour's points take theirs by a blend, the others keep their bits,
 * so a row is one read and one write of whole vectors, no strided scalar stores. In place is
 * safe: a point of the colour reads only points of the other colour, which this row's pass
 * never changes; a vector's own loads come before its store, and the one load that reaches back
 * into the vector stored before it (its left neighbour) reads either an unchanged point or the
 * new value of a point whose neighbour (this lane) is not of the colour, and is dropped. */

/* The update of one point (point()'s expression, without storing). */
static inline VECTOR_HELPER double rb_value(const double *up, const double *mid, const double *down,
                                            const double *coef, const double *rhs, int64_t j) {
  double value = OP_LAPLACE(up[j], down[j], mid[j - 1], mid[j + 1]);
  return coef != NULL ? OP_GENERAL(coef[j], value, rhs[j]) : value;
}

/* All ones in the lanes of a vector starting at column lo whose column has parity odd. */
static inline VECTOR_HELPER vbits rb_take(int64_t lo, int64_t odd) {
  static const int64_t lane[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  vbits index;
  memcpy(&index, lane, sizeof index);
  return ((index + lo) & 1) == odd;
}

/* lanes whose value comes from `value`, the others from `old` */
static inline VECTOR_HELPER vdouble rb_blend(vbits take, vdouble value, vdouble old) {
  return (vdouble)((take & (vbits)value) | (~take & (vbits)old));
}

/* The points j in [lo, hi) of row `mid` with (j & 1) == odd take their update (rb_value). */
static inline __attribute__((always_inline)) void
redblack_row(const double *up, double *mid, const double *down, const double *coef,
             const double *rhs, int64_t lo, int64_t hi, int64_t odd) {
  int64_t j = lo;
  vbits take = rb_take(lo, odd); /* VLEN is even: every vector starts on lo's parity */
  /* The left neighbours come from the vector before, as loaded (its old values), not from a
   * load of mid + j - 1: that load would straddle the store just made, which the store buffer
   * cannot forward (perf annotate, 2048²: 38% of the kernel's samples waited there). An old
   * value differs from the stored one only at a point of the colour, whose right neighbour is
   * not of the colour and is dropped by the blend. Lane VLEN - 1 of prev is mid[j - 1]. */
  vdouble prev = (vdouble){0} + mid[j - 1];
  for (; j + 4 * VLEN <= hi; j += 4 * VLEN) {
    for (int line = 0; line < (int)(4 * VLEN * sizeof(double) / CACHE_LINE); line++)
      prefetch_line(down + j, PREFETCH_BYTES, line);
    vdouble c0 = load(mid + j), c1 = load(mid + j + VLEN), c2 = load(mid + j + 2 * VLEN),
            c3 = load(mid + j + 3 * VLEN);
    vdouble v0 = general(update(up, down, j, left_of(prev, c0), right_of(c0, c1)), coef, rhs, j);
    vdouble v1 =
        general(update(up, down, j + VLEN, left_of(c0, c1), right_of(c1, c2)), coef, rhs, j + VLEN);
    vdouble v2 = general(update(up, down, j + 2 * VLEN, left_of(c1, c2), right_of(c2, c3)), coef,
                         rhs, j + 2 * VLEN);
    vdouble v3 =
        general(update(up, down, j + 3 * VLEN, left_of(c2, c3), load(mid + j + 3 * VLEN + 1)), coef,
                rhs, j + 3 * VLEN);
    store(mid + j, rb_blend(take, v0, c0), false);
    store(mid + j + VLEN, rb_blend(take, v1, c1), false);
    store(mid + j + 2 * VLEN, rb_blend(take, v2, c2), false);
    store(mid + j + 3 * VLEN, rb_blend(take, v3, c3), false);
    prev = c3;
  }
  for (; j + VLEN <= hi; j += VLEN) {
    vdouble c = load(mid + j);
    vdouble v = general(update(up, down, j, left_of(prev, c), load(mid + j + 1)), coef, rhs, j);
    store(mid + j, rb_blend(take, v, c), false);
    prev = c;
  }
  for (; j < hi; j++)
    if ((j & 1) == odd)
      mid[j] = rb_value(up, mid, down, coef, rhs, j);
}

/* The faces operator's update with a row's weights (wn, ws, dy: scalars) and the columns'
 * (ww, we, dx: arrays from interior column 0, storage column 1), right-hand side f (its row):
 * multigrid's coarse levels on a plate without held points (OP_FACES_UPDATE of OP_FACES, as the
 * scalar rb_faces_value, lane by lane). */
struct rb_faces {
  double wn, ws, dy;
  const double *ww, *we, *dx, *f;
};

static inline VECTOR_HELPER double rb_faces_value(const double *up, const double *mid,
                                                  const double *down, const struct rb_faces *o,
                                                  int64_t j) {
  return OP_FACES_UPDATE(
      OP_FACES(o->wn, up[j], o->ws, down[j], o->ww[j - 1], mid[j - 1], o->we[j - 1], mid[j + 1]),
      o->f[j], o->dy + o->dx[j - 1]);
}

static inline VECTOR_HELPER vdouble rb_faces_vector(const double *up, const double *down,
                                                    const struct rb_faces *o, int64_t j,
                                                    vdouble left, vdouble right, bool quarter) {
  vdouble wn = (vdouble){0} + o->wn, ws = (vdouble){0} + o->ws, dy = (vdouble){0} + o->dy;
  if (quarter) /* dy + dx = 4 at every lane: the same bits without the division */
    return OP_FACES_UPDATE_POW2(OP_FACES(wn, load(up + j), ws, load(down + j), load(o->ww + j - 1),
                                         left, load(o->we + j - 1), right),
                                load(o->f + j), (vdouble){0} + 0.25);
  return OP_FACES_UPDATE(OP_FACES(wn, load(up + j), ws, load(down + j), load(o->ww + j - 1), left,
                                  load(o->we + j - 1), right),
                         load(o->f + j), dy + load(o->dx + j - 1));
}

/* redblack_row with the faces operator. */
static inline __attribute__((always_inline)) void
redblack_faces_row(const double *up, double *mid, const double *down, const struct rb_faces *o,
                   int64_t lo, int64_t hi, int64_t odd, bool quarter) {
  int64_t j = lo;
  vbits take = rb_take(lo, odd);
  vdouble prev = (vdouble){0} + mid[j - 1]; /* the left neighbours as redblack_row's */
  for (; j + 2 * VLEN <= hi; j += 2 * VLEN) {
    vdouble c0 = load(mid + j), c1 = load(mid + j + VLEN);
    vdouble v0 = rb_faces_vector(up, down, o, j, left_of(prev, c0), right_of(c0, c1), quarter);
    vdouble v1 =
        rb_faces_vector(up, down, o, j + VLEN, left_of(c0, c1), load(mid + j + VLEN + 1), quarter);
    store(mid + j, rb_blend(take, v0, c0), false);
    store(mid + j + VLEN, rb_blend(take, v1, c1), false);
    prev = c1;
  }
  for (; j + VLEN <= hi; j += VLEN) {
    vdouble c = load(mid + j);
    vdouble v = rb_faces_vector(up, down, o, j, left_of(prev, c), load(mid + j + 1), quarter);
    store(mid + j, rb_blend(take, v, c), false);
    prev = c;
  }
  for (; j < hi; j++)
    if ((j & 1) == odd)
      mid[j] = rb_faces_value(up, mid, down, o, j);
}

/* The storage columns [*ulo, *uhi) whose dx is exactly 2 (the coarse levels' uniform interior;
 * empty if none, or if a column between differs): with a row's dy of 2 their diagonal is 4. */
static inline void axes_uniform(const struct sweep_axes *faces, int64_t ncols, int64_t *ulo,
                                int64_t *uhi) {
  *ulo = *uhi = 0;
  if (faces == NULL)
    return;
  int64_t lo = 0, hi = ncols;
  while (lo < hi && faces->dx[lo] != 2.0)
    lo++;
  while (hi > lo && faces->dx[hi - 1] != 2.0)
    hi--;
  for (int64_t j = lo; j < hi; j++)
    if (faces->dx[j] != 2.0)
      return;
  *ulo = lo + 1;
  *uhi = hi + 1;
}

/* Row i (storage rows and columns) of colour c, columns [lo, hi). With faces, the row's part
 * in [ulo, uhi) where its dy is 2 takes the update without the division (OP_FACES_UPDATE_POW2,
 * the same bits). */
static inline __attribute__((always_inline)) void
redblack_piece(double *x, const double *coef, const double *rhs, int64_t stride, int parity,
               int colour, int64_t i, int64_t lo, int64_t hi, const struct sweep_axes *faces,
               int64_t ulo, int64_t uhi) {
  if (lo >= hi)
    return;
  /* point (i, j) is of colour c where (parity + i + j + c) is even */
  int64_t odd = (parity + i + colour) & 1;
  double *mid = x + i * stride;
  if (faces != NULL) { /* the weights are indexed by interior row and column, from 0 */
    struct rb_faces o = {faces->wn[i - 1], faces->ws[i - 1], faces->dy[i - 1],     faces->ww,
                         faces->we,        faces->dx,        faces->f + i * stride};
    if (faces->dy[i - 1] != 2.0 || ulo >= uhi) {
      redblack_faces_row(mid - stride, mid, mid + stride, &o, lo, hi, odd, false);
      return;
    }
    /* columns [ulo, uhi) have dx = 2, and this row dy = 2: diagonal 4 */
    int64_t m0 = lo > ulo ? lo : ulo, m1 = hi < uhi ? hi : uhi;
    if (m0 >= m1) {
      redblack_faces_row(mid - stride, mid, mid + stride, &o, lo, hi, odd, false);
      return;
    }
    redblack_faces_row(mid - stride, mid, mid + stride, &o, lo, m0, odd, false);
    redblack_faces_row(mid - stride, mid, mid + stride, &o, m0, m1, odd, true);
    redblack_faces_row(mid - stride, mid, mid + stride, &o, m1, hi, odd, false);
    return;
  }
  redblack_row(mid - stride, mid, mid + stride, coef != NULL ? coef + i * stride : NULL,
               rhs != NULL ? rhs + i * stride : NULL, lo, hi, odd);
}

/* The sweep change of row i's red points (storage rows and columns), max |u - x| with u the
 * point's update (Laplace's or the general one: sweep_tile_change's expression), into m: once
 * the black rows around it are new, it is the step's result's change there; its black points'
 * is 0 (each was just set to the update of the same neighbours). */
static inline __attribute__((always_inline)) void
redblack_change_row(const double *x, const double *coef, const double *rhs, int64_t stride,
                    int parity, int64_t i, int64_t ncols, struct running_max *m) {
  const double *mid = x + i * stride, *up = mid - stride, *down = mid + stride;
  const double *c = coef != NULL ? coef + i * stride : NULL;
  const double *r = rhs != NULL ? rhs + i * stride : NULL;
  int64_t odd = (parity + i) & 1, j = 1;
  vbits red = rb_take(1, odd);
  for (; j + VLEN <= ncols + 1; j += VLEN) {
    vdouble centre = load(mid + j);
    vdouble value = general(update(up, down, j, load(mid + j - 1), load(mid + j + 1)), c, r, j);
    m->v[0] = vector_max(m->v[0], (vdouble)(red & (vbits)abs_diff(value, centre)));
  }
  for (; j <= ncols; j++)
    if ((j & 1) == odd) {
      double diff = fabs(rb_value(up, mid, down, c, r, j) - mid[j]);
      m->scalar = diff > m->scalar ? diff : m->scalar;
    }
}

static double kernel_redblack(double *x, const double *coef, const double *rhs,
                              const struct sweep_axes *faces, int64_t nrows, int64_t ncols,
                              int64_t stride, int parity, unsigned defer, bool want_change) {
  int64_t ulo = 0, uhi = 0;
  axes_uniform(faces, ncols, &ulo, &uhi);
  struct running_max m = {{{0}}, 0.0};
  want_change = want_change && defer == 0 && faces == NULL;
  /* The wavefront: red row i, then black row i - 1, whose red neighbours (rows i - 2 .. i) are
   * all updated by then and whose black ones are not read; red row i reads black rows i - 1
   * and i + 1 before either is updated. So every point sees exactly the values of a whole red
   * pass followed by a whole black pass, and the rows in flight stay in cache. With the
   * change, a third front: red row i - 2, whose black neighbours (rows i - 3 .. i - 1) are
   * new, measured while it is still in cache. */
  int64_t wlo = 1 + ((defer & SWEEP_SIDE_WEST) != 0),
          ehi = ncols + 1 - ((defer & SWEEP_SIDE_EAST) != 0);
  for (int64_t i = 1; i <= nrows + 2; i++) {
    if (i <= nrows)
      redblack_piece(x, coef, rhs, stride, parity, 0, i, 1, ncols + 1, faces, ulo, uhi);
    int64_t b = i - 1;
    if (b >= 1 && b <= nrows && !(b == 1 && (defer & SWEEP_SIDE_NORTH)) &&
        !(b == nrows && (defer & SWEEP_SIDE_SOUTH)))
      redblack_piece(x, coef, rhs, stride, parity, 1, b, wlo, ehi, faces, ulo, uhi);
    if (want_change && i - 2 >= 1 && i - 2 <= nrows)
      redblack_change_row(x, coef, rhs, stride, parity, i - 2, ncols, &m);
  }
  return want_change ? running_max_value(&m) : 0.0;
}

static void kernel_redblack_sides(double *x, const double *coef, const double *rhs,
                                  const struct sweep_axes *faces, int64_t nrows, int64_t ncols,
                                  int64_t stride, int parity, unsigned sides) {
  if (nrows <= 0 || ncols <= 0)
    return;
  int64_t ulo = 0, uhi = 0;
  axes_uniform(faces, ncols, &ulo, &uhi);
  bool north = (sides & SWEEP_SIDE_NORTH) != 0 && nrows > 0,
       south = (sides & SWEEP_SIDE_SOUTH) != 0 && nrows > 0;
  if (north)
    redblack_piece(x, coef, rhs, stride, parity, 1, 1, 1, ncols + 1, faces, ulo, uhi);
  if (south && !(north && nrows == 1))
    redblack_piece(x, coef, rhs, stride, parity, 1, nrows, 1, ncols + 1, faces, ulo, uhi);
  /* the columns, in the rows the wavefront swept */
  for (int64_t i = 1 + north; i <= nrows - south; i++) {
    if (sides & SWEEP_SIDE_WEST)
      redblack_piece(x, coef, rhs, stride, parity, 1, i, 1, 2 < ncols + 1 ? 2 : ncols + 1, faces,
                     ulo, uhi);
    if ((sides & SWEEP_SIDE_EAST) && !((sides & SWEEP_SIDE_WEST) && ncols == 1))
      redblack_piece(x, coef, rhs, stride, parity, 1, i, ncols, ncols + 1, faces, ulo, uhi);
  }
}

const struct sweep_kernel_set SWEEP_KERNEL_SET = {
    kernel_plain,         kernel_weighted, kernel_general,  kernel_faces,
    kernel_faces_uniform, kernel_levels,   kernel_redblack, kernel_redblack_sides};
#endif /* SWEEP_KERNEL_SET */

#endif
