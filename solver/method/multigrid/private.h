/* private.h - what the files of multigrid/ share and nothing else includes: the levels' storage
 * and the cycle's state (PETSc's mgimpl.h). storage.c builds and frees them, coarse.c makes the
 * coarse operators and solves the coarsest level, cycle.c runs the cycles. */
#ifndef JACOBI_MULTIGRID_PRIVATE_H
#define JACOBI_MULTIGRID_PRIVATE_H

#include "runtime/fetch.h"
#include "solver/method/multigrid/multigrid.h"

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- levels -----------------------------------------------------------------------------------
 */

/* One direction's tables of a level: the operator's weights at each point, and the transfers
 * to the next coarser level (restriction, per coarse point) and from it (interpolation, per
 * point of this level). */
struct axis_tables {
  double *w_lo, *w_hi, *diag; /* n each */
  int *ni;                    /* interpolation from the coarser level: terms, k, w (2 each) */
  int64_t *ki;
  double *wi;
  int *nr; /* restriction onto this level from the finer one: terms, i, w (3 each) */
  int64_t *ir;
  double *wr;
};

enum { SW_N = 5, SW_DIAG = 4 }; /* sw[]: north, south, west, east (decomp_side's order), diag */

struct level {
  const struct levels_level *shape;
  int64_t ntiles;
  struct decomp_tile *tiles;
  int64_t *stride;         /* per tile */
  double **x[2], **f, **r; /* per tile: interior point (0, 0); f NULL on level 0 (no source) */
  double *storage;         /* f and r (level 0: r), laid out as the field's tiles */
  /* A general plate's (field_general): keep is 1 at a free point and 0 at a fixed one (level
   * 0: the field's coef; a coarser level: its mask, coarse_mask), b level 0's right-hand side
   * (the field's rhs). NULL for a Laplace plate, whose operators are the plain ones. */
  double **keep, **b;
  /* A general plate's coarser level: its operator point by point, the Shortley-Weller one for
   * the real distances to the edges and to the fixed points (coarse_masks): the weights of the
   * north, south, west and east neighbours (0 where a fixed point lies nearer) and the
   * diagonal. */
  double **sw[SW_N];
  double *keep_storage; /* a coarser level's keep and sw, laid out as f */
  /* A faces plate's operator-dependent transfers (faces.c), laid out as r: on a level above the
   * coarsest, each point's interpolation weights pw[2 a + b] of the coarse points
   * (rows.ki[a], cols.ki[b]); on a coarse level, each point's restriction weights rw[3 a + b] of
   * the finer points (rows.ir[a], cols.ir[b]): the same numbers, P^T exactly. */
  double **pw[4], **rw[9], *pw_storage, *rw_storage;
  /* A faces plate's coarse level: its Galerkin operator's diagonal neighbours (north-west,
   * north-east, south-west, south-east), beside sw's four and its diagonal. */
  double **corner[4], *corner_storage;
  /* The iterate: level 0's is the run's field; a coarse level's (not the coarsest) a field of
   * its own in shared windows, its rings filled by its own halo exchange (halo.h). */
  struct field *field;
  struct halo *halo;
  int current; /* the coarsest level: always 0 */
  struct axis_tables rows, cols;
  struct fetch restriction; /* the finer level's residual over this level's boxes */
  struct fetch interp;      /* this level's values for the finer level's boxes */
  double *restrict_scratch; /* the finer residual this rank's tile restricts */
  int64_t restrict_rows, restrict_cols, restrict_r0, restrict_c0;
  double *restrict_sums;  /* its rows' column sums (restrict_rows x the tile's columns) */
  double *interp_scratch; /* the coarse values the finer level's tiles interpolate */
  double *interp_row;     /* one row of them, combined */
  /* the coarsest level: the whole grid on every rank, and A's banded LU */
  double *band;
  int64_t unknowns, bandwidth;
  bool column_major;
};

struct multigrid {
  struct field *field;
  struct halo *halo;
  const struct team *team;
  struct multigrid_params p;
  struct levels levels;
  struct level lv[LEVELS_MAX];
  MPI_Comm comm;
  /* smoothing step s (1-based): x' = (x + beta (u - x)) + alpha (x - x_before) */
  double alpha[64], beta[64];
  double work;          /* fine-sweep equivalents of the last cycle */
  bool measure;         /* the smoothing under way is the cycle's last on level 0 */
  bool change_measured; /* ... and it measured the result's change, into `change` */
  double change;
  /* fresh[l]: 1 + the buffer of level l whose rings are already its neighbours' (level 0: the
   * caller filled them; a coarse level: all zero, zero_iterate), whose next exchange is
   * skipped; 0: none (as calloc leaves it: the set-up's exchanges all run) */
  int fresh[LEVELS_MAX];
  struct multigrid_counts counts; /* of the last cycle */
  bool restrict_apart;            /* never fuse the residual with its restriction (the tests) */
  bool general; /* the field has sources or fixed points: every level masks and level 0 has b */
  /* The field has the faces operator (field_faces): level 0 updates from its arrays; every
   * coarse level has a Galerkin nine-point operator (keep, sw, corner) and the transfers are
   * operator-dependent (pw, rw): faces.c. */
  bool faces;
  double *mask_box; /* set-up scratch: two of the largest mask box (coarse_masks), then NULL */
  int64_t mask_len;
  double *row; /* a scratch row as wide as the widest tile of any level */
};

struct gen_ctx {
  const struct multigrid *mg;
  int level; /* the consumer's level */
};

/* storage.c: the tiles of `rank` on level l: the layout's (none beyond its ranks); the
 * coarsest: the whole grid, on every rank that owns part of the level above; tile t of them; and
 * what a tile of level l restricts (the finer level's points its coarse points gather from). */
int64_t mg_tiles_of(const struct levels *hierarchy, int l, int rank);
void mg_tile_of(const struct levels_level *lv, int rank, int64_t t, struct decomp_tile *out);
void mg_restrict_box(const struct multigrid *mg, int l, const struct decomp_tile *t,
                     struct fetch_box *out);

/* coarse.c: a general plate's coarse operators, from the fixed points' distances (set-up,
 * collective); the coarsest level's banded LU, and its solve in place of its iterate. */
int mg_coarse_masks(struct multigrid *mg);
int mg_coarsest_factor(struct multigrid *mg, int l);
void mg_coarsest_solve(struct level *L);

/* faces.c: a faces plate's level-0 update (u) and residual (rr) of row i of tile t from the
 * iterate's row xr (rings filled); level 0's keep and every coarse level's operator and the
 * transfers' weights (collective). */
void mg_faces_update_row(const struct field *f, int64_t t, int64_t i, const double *xr, double *u);
/* Red-black's colour of row i in place: the points j0, j0 + 2, ... take their update (their
 * neighbours are all of the other colour: the same bits as mg_faces_update_row's). */
void mg_faces_update_colour(const struct field *f, int64_t t, int64_t i, double *xr, int64_t j0);
void mg_faces_residual_row(const struct field *f, int64_t t, int64_t i, const double *xr,
                           double *rr);
void mg_faces_keep0(struct multigrid *mg);
int mg_faces_coarse(struct multigrid *mg);
/* The transfers of a faces plate (operator-dependent): f of level l = P^T src (level l - 1's),
 * and level l - 1's current iterate += P (level l's current iterate). Collective. */
void mg_faces_restrict(struct multigrid *mg, int l, double **src);
/* A faces plate's coarse level l: the update (u) and residual (rr) of row i of tile t from the
 * iterate's row xr (rings filled, two deep); `steps` sweeps of four-colour Gauss-Seidel, its
 * smoother whatever the fine level's; the coarsest level's banded LU. */
void mg_faces_coarse_update_row(const struct multigrid *mg, int l, int64_t t, int64_t i,
                                const double *xr, double *u);
void mg_faces_coarse_residual_row(const struct multigrid *mg, int l, int64_t t, int64_t i,
                                  const double *xr, double *rr);
void mg_faces_smooth(struct multigrid *mg, int l, int steps);
int mg_faces_factor(struct multigrid *mg, int l);
void mg_faces_interpolate(struct multigrid *mg, int l);

/* cycle.c: fill level l's rings of buffer `buf` (every level but the coarsest is a field with
 * its halo). Collective; a failure ends the job. */
void mg_exchange(struct multigrid *mg, int l, int buf);

#endif /* JACOBI_MULTIGRID_PRIVATE_H */
