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

/* `levels` successive sweeps of one tile whose halo ring never changes (the fixed boundary,
 * the same in both buffers), in one pass through memory: a wavefront over the rows, level t
 * sweeping row i - t + 1 while level 1 sweeps row i, so the few rows in flight stay in cache
 * and each row is read from and written to memory about once per pass instead of once per
 * sweep. Two buffers suffice: level t overwrites level t - 2's row only after level t - 1 has
 * read it. Every point is computed by sweep_tile's update from the same inputs, so after L
 * levels buf[(current + L) % 2] holds, bit for bit, what L calls of sweep_tile would leave.
 * Returns max |T^L - T^(L-1)| (the last level's diff). Not collective. */
double sweep_tile_levels(double *const buf[2], int current, int64_t nrows, int64_t ncols,
                         int64_t stride, int64_t levels);

#endif /* JACOBI_SWEEP_H */
