/* decomp.h - who owns which part of the grid: block, cyclic and block-cyclic distributions over
 * a 2-D process grid, the tiles every rank owns, their neighbours, and the plan figures derived
 * from that map alone.
 *
 * Pure functions of sizes and ranks: no MPI, no I/O but the plan printer, so every rank (and
 * `jacobi --dry-run --ranks N` on a laptop) computes the same whole map without communicating.
 *
 * Coordinates are of the interior: row gi in [0, ny) is grid row gi + 1 (row 0 of the grid is
 * the top boundary), column gj in [0, nx) is grid column gj + 1.
 */
#ifndef JACOBI_DECOMP_H
#define JACOBI_DECOMP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum decomp_kind { DECOMP_BLOCK, DECOMP_CYCLIC, DECOMP_BLOCK_CYCLIC };

/* ---- 1-D: n indices over p processes, block-cyclic with block b ------------------------------
 * Block is b = ceil(n/p), cyclic is b = 1: one mechanism, three names. Block index B = i / b
 * belongs to process B mod p. A distribution over p = 1 has b = n: one process is never cut. */
struct decomp_dist {
  int64_t n; /* indices */
  int p;     /* processes */
  int64_t b; /* block size, >= 1 */
};

struct decomp_run {
  int64_t start, len; /* global indices [start, start + len) */
};

/* Set up *d. Returns ERR_CONFIG (err.h) if n < 1, p < 1, or block_size < 1 for block-cyclic;
 * block_size is ignored for block and cyclic. Not collective. */
int decomp_dist_init(struct decomp_dist *d, int64_t n, int p, enum decomp_kind kind,
                     int64_t block_size);
int decomp_dist_owner(const struct decomp_dist *d, int64_t gi);
int64_t decomp_dist_local(const struct decomp_dist *d, int64_t gi); /* index on its owner */
int64_t decomp_dist_global(const struct decomp_dist *d, int proc, int64_t li);
int64_t decomp_dist_count(const struct decomp_dist *d, int proc); /* indices proc owns */
int64_t decomp_dist_nruns(const struct decomp_dist *d, int proc); /* its blocks */
struct decomp_run decomp_dist_run(const struct decomp_dist *d, int proc,
                                  int64_t k); /* k-th, in order */

/* ---- 2-D: a prows x pcols process grid, the distribution applied to each dimension ----------- */

/* Fill the zeros of dims[2] as MPI_Dims_create does (balanced, non-increasing), so that
 * dims[0] * dims[1] == nranks. Returns ERR_CONFIG if a negative entry, or if the given entries
 * cannot multiply to nranks. Not collective. */
int decomp_dims_fill(int nranks, int dims[2]);

enum decomp_side { DECOMP_NORTH, DECOMP_SOUTH, DECOMP_WEST, DECOMP_EAST, DECOMP_NSIDES };
#define DECOMP_BOUNDARY (-1) /* the rank "across" a side on the fixed boundary */

/* Rank r sits at process row r / pcols, process column r % pcols (row-major, as
 * MPI_Cart_create). It owns the tiles rows-run x cols-run of its process row and column,
 * numbered row-run-major: tile t = kr * ncolruns + kc. */
struct decomp_layout {
  int64_t nx, ny;
  int nranks, prows, pcols;
  enum decomp_kind kind;
  struct decomp_dist rows; /* ny over prows */
  struct decomp_dist cols; /* nx over pcols */
};

struct decomp_tile {
  int64_t row0, nrows;             /* interior rows [row0, row0 + nrows) */
  int64_t col0, ncols;             /* interior columns [col0, col0 + ncols) */
  int nbr_rank[DECOMP_NSIDES];     /* owner of the tile across each side, or DECOMP_BOUNDARY */
  int64_t nbr_tile[DECOMP_NSIDES]; /* that tile's index on its owner, or -1 */
};

/* Build the layout of an nx x ny interior over nranks ranks. dims as in decomp_dims_fill.
 * Errors (ERR_CONFIG, message in err.h's record, no file/line: the caller prefixes it): sizes or
 * rank count < 1, block_size < 1 for block-cyclic, dims that cannot multiply to nranks, more
 * ranks than interior points. Ranks that own nothing otherwise are allowed (p > n in one
 * dimension, or block's b = ceil(n/p) leaving the last processes empty). Not collective. */
int decomp_layout_init(struct decomp_layout *l, int64_t nx, int64_t ny, int nranks,
                       const int dims[2], enum decomp_kind kind, int64_t block_size);

int64_t decomp_ntiles(const struct decomp_layout *l, int rank);
void decomp_tile(const struct decomp_layout *l, int rank, int64_t t, struct decomp_tile *out);

/* The owner of interior point (gi, gj), its tile there, and the point's place in that tile. */
int decomp_owner(const struct decomp_layout *l, int64_t gi, int64_t gj, int64_t *tile, int64_t *li,
                 int64_t *lj);

/* ---- Plan figures ------------------------------------------------------------------------------
 * Halo points are counted where they are received: a tile side of length L facing another tile
 * needs L points per iteration. Each such side is fed by one of three paths: a tile of the same
 * rank (local copy), a rank on the same node (shared window), or a rank on another node
 * (message). Messages are aggregated: one per neighbouring off-node rank per iteration. */
struct decomp_rank_plan {
  int64_t tiles;
  int64_t points;            /* interior points owned */
  int64_t bytes;             /* two buffers of float64 tiles with their one-point halos */
  int64_t halo_points_local; /* from the rank's own tiles */
  int64_t halo_points_shm;   /* read from on-node neighbours' windows */
  int64_t halo_points_p2p;   /* received in messages */
  int shm_neighbours;        /* distinct on-node neighbour ranks (one notification each) */
  int messages;              /* distinct off-node neighbour ranks (one message each) */
};

/* Plan of one rank. node_of_rank[r] names the node of rank r (NULL: all on one node);
 * force_p2p counts every off-rank halo as a message (halo.mode = "p2p"). Not collective. */
void decomp_plan_rank(const struct decomp_layout *l, int rank, const int *node_of_rank,
                      bool force_p2p, struct decomp_rank_plan *out);

/* Print the plan: the layout, a table with one row per rank, then totals and the per-rank
 * maximum, with halo bytes per iteration (8 bytes a point). */
void decomp_plan_print(const struct decomp_layout *l, const int *node_of_rank, bool force_p2p,
                       FILE *out);

#endif /* JACOBI_DECOMP_H */
