/* sweep.h - the Jacobi kernel: one sweep of one tile, with the max-diff fused in.
 *
 * Not for: halos, boundaries or MPI; the caller hands it a tile whose one-point halo ring is
 * already filled. No MPI inside.
 */
#ifndef JACOBI_SWEEP_H
#define JACOBI_SWEEP_H

#include <stdint.h>

/* One Jacobi sweep over a tile of nrows x ncols interior points stored with a one-point halo
 * ring, row-major with `stride` doubles per row (stride >= ncols + 2): point (li, lj) of the
 * interior is at [(li + 1) * stride + lj + 1]. Writes the interior of `out` with the canonical
 * update
 *     out[i][j] = 0.25 * ((in[i-1][j] + in[i+1][j]) + (in[i][j-1] + in[i][j+1]))
 * in exactly that order of operations, and returns max |out - in| over the interior (0 for an
 * empty tile). The halo ring of `out` is not touched. Not collective. */
double sweep_tile(const double *restrict in, double *restrict out, int64_t nrows, int64_t ncols,
                  int64_t stride);

/* The same sweep, bit for bit, written with non-temporal (streaming) stores where the CPU has
 * them (x86-64; elsewhere it is sweep_tile): the output bypasses the cache, saving the read a
 * regular store makes of each line it writes. Faster when the tile pair is far larger than
 * the cache, slower when it fits (the next sweep must then read `out` from memory). The stores
 * are complete (fenced) when it returns. Not collective. */
double sweep_tile_streaming(const double *restrict in, double *restrict out, int64_t nrows,
                            int64_t ncols, int64_t stride);

#endif /* JACOBI_SWEEP_H */
