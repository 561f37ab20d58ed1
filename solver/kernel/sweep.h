/* sweep.h - the Jacobi kernel: one sweep of one tile, with the max-diff fused in.
 *
 * Not for: halos, boundaries or MPI; the caller hands it a tile whose one-point halo ring is
 * already filled. No MPI inside.
 */
#ifndef JACOBI_SWEEP_H
#define JACOBI_SWEEP_H

#include "decomp/decomp.h"

#include <stdbool.h>
#include <stdint.h>

/* One Jacobi sweep over a tile of nrows x ncols interior points stored with a one-point halo
 * ring, row-major with `stride` doubles per row (stride >= ncols + 2): point (li, lj) of the
 * interior is at [(li + 1) * stride + lj + 1]. Writes the interior of `out` with the canonical
 * update
 *     out[i][j] = 0.25 * ((in[i-1][j] + in[i+1][j]) + (in[i][j-1] + in[i][j+1]))
 * in exactly that order of operations (operator.h: OP_LAPLACE), and returns max |out - in| over
 * the interior (0 for an empty tile). The halo ring of `out` is not touched. Not collective. */
double sweep_tile(const double *restrict in, double *restrict out, int64_t nrows, int64_t ncols,
                  int64_t stride);

/* The same sweep, bit for bit, written with non-temporal (streaming) stores where the CPU has
 * them (x86-64; elsewhere it is sweep_tile): the output bypasses the cache, saving the read a
 * regular store makes of each line it writes. Faster when the tile pair is far larger than
 * the cache, slower when it fits (the next sweep must then read `out` from memory). The stores
 * are complete (fenced) when it returns. Not collective. */
double sweep_tile_streaming(const double *restrict in, double *restrict out, int64_t nrows,
                            int64_t ncols, int64_t stride);

/* The same sweep, bit for bit, without the max-diff: for the iterations whose diff nobody reads
 * (between convergence checks). Not collective. */
void sweep_tile_update(const double *restrict in, double *restrict out, int64_t nrows,
                       int64_t ncols, int64_t stride);

/* The weighted sweep of Chebyshev semi-iteration, bit for bit the same on any tile: every
 * interior point of `out`, which holds the iterate before `in`, becomes
 *     out[i][j] = omega * (u - out[i][j]) + out[i][j],   u = the canonical update of `in`,
 * in that order of operations; each point reads only its own old value, so `out` may be
 * overwritten in place. Returns max |u - in| (the sweep change of `in`, 4 x its residual's max
 * norm) if want_diff, else 0; streaming stores as sweep_tile_streaming. Not collective. */
double sweep_tile_weighted(const double *restrict in, double *restrict out, int64_t nrows,
                           int64_t ncols, int64_t stride, double omega, bool streaming,
                           bool want_diff);

/* The general update of a plate with sources or fixed points (plate.h): every interior point
 * of `out` becomes
 *     u = coef[i][j] * (0.25 * ((in[i-1][j] + in[i+1][j]) + (in[i][j-1] + in[i][j+1]))) + rhs[i][j]
 * in exactly that order of operations, or with omega != 1 (Chebyshev) omega * (u - out) + out,
 * as sweep_tile_weighted; coef and rhs are laid out as `in` (same stride, same corner). A fixed
 * point (coef 0, rhs its temperature) keeps its value and changes by 0. Returns max |u - in|
 * if want_diff, else 0; streaming stores as sweep_tile_streaming. Not collective. */
double sweep_tile_general(const double *restrict in, double *restrict out,
                          const double *restrict coef, const double *restrict rhs, int64_t nrows,
                          int64_t ncols, int64_t stride, double omega, bool streaming,
                          bool want_diff);

/* The faces operator's arrays of a tile (runtime/field.h: cond, diag, load), each laid out as
 * `in` (same stride, same corner): the conductances to the neighbour across each side (indexed
 * by enum decomp_side), the diagonal and the load. Borrowed. */
struct sweep_faces {
  const double *cond[DECOMP_NSIDES];
  const double *diag, *load;
};

/* The faces update (operator.h): every interior point of `out` becomes
 *     u = OP_FACES_UPDATE(OP_FACES(cn, in[i-1][j], cs, in[i+1][j], cw, in[i][j-1], ce,
 *                                  in[i][j+1]), load, diag)
 *       = (((cn n + cs s) + (cw w + ce e)) + load) / diag
 * in exactly that order of operations, or with omega != 1 (Chebyshev) omega * (u - out) + out,
 * as sweep_tile_weighted. A held point (conductances 0, diag 1, load its temperature) keeps
 * its value and changes by 0. Returns max |u - in| if want_diff, else 0; streaming stores as
 * sweep_tile_streaming. Not collective. */
double sweep_tile_faces(const double *restrict in, double *restrict out,
                        const struct sweep_faces *faces, int64_t nrows, int64_t ncols,
                        int64_t stride, double omega, bool streaming, bool want_diff);

/* Where a tile's faces arrays hold the same values along a row: the runs of a plate of uniform
 * conductivity away from its edges, heaters and regions. run[i] = {lo, hi}: in row i of the
 * call's rows, the tile's interior columns [lo, hi) (counted from the tile's column col0 of the
 * call's first column; clipped to the call's columns) have the four conductances `cond`, the
 * diagonal `diag` and the load `load`, bit for bit the arrays' values (+0 and -0 told apart).
 * Borrowed. */
struct sweep_faces_uniform {
  double cond, diag, load;
  const int64_t (*run)[2];
  int64_t col0;
};

/* sweep_tile_faces, bit for bit and diff for diff, reading the arrays only outside the runs of
 * u: on a run a point moves 16 bytes (x read, u written) instead of 64, the Laplace kernel's
 * traffic, with the faces update's arithmetic (a division more). Not collective. */
double sweep_tile_faces_uniform(const double *restrict in, double *restrict out,
                                const struct sweep_faces *faces,
                                const struct sweep_faces_uniform *u, int64_t nrows, int64_t ncols,
                                int64_t stride, double omega, bool streaming, bool want_diff);

/* The sweep change of `in` alone, max |u - in| with u the canonical update, writing nothing:
 * what certifies an iterate that no sweep has read yet (a checkpoint, the final result). Not
 * collective. */
double sweep_tile_change(const double *in, int64_t nrows, int64_t ncols, int64_t stride);
/* The same with the general update (coef and rhs as sweep_tile_general's; NULL: Laplace's). */
double sweep_tile_change_general(const double *in, const double *coef, const double *rhs,
                                 int64_t nrows, int64_t ncols, int64_t stride);

/* The same with the faces update (sweep_tile_faces's). */
double sweep_tile_change_faces(const double *in, const struct sweep_faces *faces, int64_t nrows,
                               int64_t ncols, int64_t stride);

/* ---- kernel variants, for choosing on the machine that runs them (tune.h) ----
 * The plain sweep (sweep_tile's update) is built for each instruction set the compiler can
 * target, with regular or streaming stores, with or without the max-diff: every variant gives
 * sweep_tile's bits and diff, so which one runs changes the speed only. SSE2 and AVX2 take 4
 * doubles a vector (two SSE2 registers, one AVX2 register), AVX-512 takes 8 (one register). */
enum sweep_isa { SWEEP_ISA_SSE2, SWEEP_ISA_AVX2, SWEEP_ISA_AVX512, SWEEP_ISA_COUNT };

struct sweep_variant {
  enum sweep_isa isa;
  bool streaming; /* non-temporal stores, as sweep_tile_streaming */
  /* Compute the max-diff even when the caller does not want it: on a machine where the
   * update-only loop runs slower than the one with the diff, the iterations between checks
   * run the latter and drop the diff. */
  bool always_diff;
};

/* Whether this build has the instruction set's variant and the CPU runs it. Not collective. */
bool sweep_isa_available(enum sweep_isa isa);
/* "sse2", "avx2", "avx512". */
const char *sweep_isa_name(enum sweep_isa isa);
/* The instruction set sweep_tile, the weighted, general and wavefront kernels run: AVX2 where
 * the build has it and the CPU runs it, else the baseline. Not collective. */
enum sweep_isa sweep_isa_default(void);
/* Doubles a vector of the instruction set's variant: 4, or 8 for AVX-512. */
int sweep_isa_vector_doubles(enum sweep_isa isa);

/* sweep_tile (want_diff) or sweep_tile_update (not; returns 0) with the variant's
 * instruction set and stores, bit for bit theirs. The variant's instruction set must be
 * available (sweep_isa_available; it is not checked here: on x86-64 GCC builds an
 * unavailable one faults, elsewhere only the baseline exists and runs). Not collective. */
double sweep_tile_variant(struct sweep_variant v, const double *restrict in, double *restrict out,
                          int64_t nrows, int64_t ncols, int64_t stride, bool want_diff);

/* A rectangle of a tile's storage, rows [row0, row1) and columns [col0, col1), counted from
 * the storage's first point (ring included). */
struct sweep_rect {
  int64_t row0, row1, col0, col1;
};

/* Columns per chunk of a wavefront step (sweep_levels): the order of the work, never its
 * result. Tests cut tiles across it. Measured (4096² and 8192², 4 and 8 levels, AMD EPYC):
 * 64-512 columns lose 10-35% to the calls and loop ends per chunk; 2048 is as fast as whole
 * rows, and bounds what one chunk's levels touch between them on a wide tile. */
enum { SWEEP_LEVELS_CHUNK = 2048 };

/* `levels` successive sweeps in one pass through memory (temporal blocking): level t
 * (0-based) updates rect[t], reading buffer (current + t) % 2 and writing the other (without
 * scratch, below), with
 * sweep_tile's update, or with omega non-NULL sweep_tile_weighted's with weight omega[t] (the
 * buffer written holds level t - 2's iterate, the one the weighting needs; a weight of exactly
 * 1 is the plain update). A wavefront over the rows, level t sweeping row i - t while level 0
 * sweeps row i, keeps the few rows in flight in cache, so each row is read from and written to
 * memory about once per pass instead of once per sweep; each step goes across in chunks of
 * SWEEP_LEVELS_CHUNK columns, all levels per chunk, so that what a chunk's levels touch
 * between them stays in cache however wide the tile. Two buffers suffice: level t overwrites level
 * t - 2's row only after level t - 1 has read it (or see scratch, below).
 *
 * What the caller guarantees: every point level t reads (rect[t] and its four neighbours'
 * points) lies in rect[t - 1], written by level t - 1, or holds the same value in both buffers
 * (a fixed boundary); level 0 reads buffer `current` as it is. Then every point of rect[t] is
 * computed from exactly the values t + 1 plain sweeps would use, so the result is bit for bit
 * theirs. Shrinking rectangles (each one point inside the last, except on the boundary) serve
 * a tile whose ring is `levels` deep: overlapped tiles, each computing its neighbours' edge
 * points too, so that ranks exchange halos once per pass. Returns the last level's max
 * |update - in| over rect[levels - 1]. With omega, level 0 reads the old iterate in buffer
 * 1 - current on rect[0], which reaches into the ring: that buffer's ring must be filled too.
 * With terms non-NULL ({coef, rhs}, laid out as buf's), every level runs the general update
 * (sweep_tile_general's).
 *
 * scratch: NULL, or room for sweep_levels_scratch(levels, stride) doubles. Given it with omega
 * NULL, every level but the last keeps its rows in it instead of in the buffers, and only the
 * last level writes a buffer: the other buffer (1 - the result's) is left exactly as it was,
 * and a point costs 16 bytes of memory traffic a block (levels even) or 24 (odd), against 32
 * when every level writes a buffer. The result and the diff are the same bits either way.
 * With omega non-NULL scratch is ignored: each weighted level reads the iterate two levels
 * back where it writes, so they all use the two buffers (a weight of 1 among them too).
 * Not collective. */
double sweep_levels(double *const buf[2], int current, int64_t stride, int64_t levels,
                    const struct sweep_rect *rect, const double *omega,
                    const double *const terms[2], double *scratch);

/* sweep_levels with the faces update at every level (sweep_tile_faces's), its arrays laid out
 * as buf's: the same wavefront, the same conditions on rect, weights and scratch, and the bits
 * of `levels` successive sweep_tile_faces. The arrays must be filled wherever a level computes
 * a point (rect[0] reaches into the ring: as deep as the field's). Not collective. */
double sweep_levels_faces(double *const buf[2], int current, int64_t stride, int64_t levels,
                          const struct sweep_rect *rect, const double *omega,
                          const struct sweep_faces *faces, double *scratch);

/* The doubles of scratch sweep_levels uses for `levels` levels of rows `stride` long: three
 * rows a level but the last. */
int64_t sweep_levels_scratch(int64_t levels, int64_t stride);

/* ---- red-black Gauss-Seidel (multigrid's smoother on the fine level) ------------------------
 * One step in place, in one pass through memory: every interior point of colour red (0) takes
 * its update, then every point of colour black (1) takes its own from the new red values. Point
 * (i, j) of the storage (ring row and column 0, as sweep_tile's) is red where parity + i + j is
 * even: parity is (global row + global column) of the tile's first interior point, mod 2. The
 * update is sweep_tile's (OP_LAPLACE), or with coef non-NULL sweep_tile_general's (coef and rhs
 * laid out as x), the same bits as a red pass over the whole tile followed by a black pass.
 *
 * The black points next to a side in `defer` (SWEEP_SIDE_* bits) are left for
 * sweep_redblack_sides: where the ring across that side is another tile's, its red points are
 * new only after an exchange. A ring across a side not deferred must be fixed for the step
 * (a fixed edge). Not collective. */
enum { SWEEP_SIDE_NORTH = 1, SWEEP_SIDE_SOUTH = 2, SWEEP_SIDE_WEST = 4, SWEEP_SIDE_EAST = 8 };
/* With axes non-NULL (coef and rhs then NULL), the faces operator of a multigrid coarse level
 * instead: point (i, j) takes OP_FACES_UPDATE(OP_FACES(wn, north, ws, south, ww, west, we,
 * east), f, dy + dx), the row's weights wn, ws, dy at interior row i - 1 and the column's ww,
 * we, dx at interior column j - 1 (arrays from the tile's first interior row and column), f laid
 * out as x. */
struct sweep_axes {
  const double *wn, *ws, *dy; /* per interior row */
  const double *ww, *we, *dx; /* per interior column */
  const double *f;            /* laid out as x (storage corner) */
};
/* With want_change, defer 0 and faces NULL, it returns the result's sweep change, max |u - x|
 * (sweep_tile_change's, or sweep_tile_change_general's with coef), measured in the same pass
 * (a third front, two rows behind the red one); else 0. */
double sweep_redblack(double *x, const double *coef, const double *rhs,
                      const struct sweep_axes *faces, int64_t nrows, int64_t ncols, int64_t stride,
                      int parity, unsigned defer, bool want_change);
/* The black points next to the sides `sides` that sweep_redblack deferred, once the ring holds
 * the neighbours' new red points: then the step is complete, bit for bit the two passes. */
void sweep_redblack_sides(double *x, const double *coef, const double *rhs,
                          const struct sweep_axes *faces, int64_t nrows, int64_t ncols,
                          int64_t stride, int parity, unsigned sides);

#endif /* JACOBI_SWEEP_H */
