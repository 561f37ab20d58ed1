/* sweeps.h - one step of the methods that sweep the fine field (Jacobi, Chebyshev): every tile of
 * the current buffer into the other, plain or weighted, with an exchange in flight ended after the
 * inner points (overlap), or a temporal block's levels in one pass over each tile.
 *
 * Not for: which weight or variant a step takes (jacobi.c, chebyshev.c), the kernels themselves
 * (solver/kernel/sweep.h).
 */
#ifndef JACOBI_SWEEPS_H
#define JACOBI_SWEEPS_H

#include "io/cfg.h"
#include "runtime/field.h"
#include "solver/kernel/sweep.h"
#include "solver/method/method.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where each tile of a faces field has runs of one plate's values (sweep.h: struct
 * sweep_faces_uniform): found once, so that the sweeps read the arrays only off them. A tile
 * whose runs would cover under a quarter of its points has none (the arrays' kernel is as
 * fast there). */
struct sweeps_uniform_tile {
  double cond, diag, load;
  int64_t (*run)[2]; /* per row of the tile; NULL: no runs */
};
struct sweeps_uniform {
  int64_t ntiles;
  struct sweeps_uniform_tile *tile;
};

/* The runs of f's tiles (field_faces(f)); *out NULL for a field that is not a faces one. Not
 * collective. Errors: ERR_FAILURE (memory). */
int sweeps_uniform_create(const struct field *f, struct sweeps_uniform **out);
/* Accepts NULL and *u == NULL; sets *u to NULL. */
void sweeps_uniform_destroy(struct sweeps_uniform **u);

/* How one step sweeps: plain (Jacobi) or weighted by omega (Chebyshev), regular or streaming
 * stores, the change wanted or not. */
struct sweeps_kind {
  bool weighted;
  double omega;
  bool streaming;
  bool want_change;
  const struct sweep_variant *variant;  /* plain sweeps: the one chosen (NULL: none) */
  const struct sweeps_uniform *uniform; /* a faces field's runs (NULL: the arrays throughout) */
};

/* The faces operator's arrays of f (field_faces) from `at` doubles into a buffer: where the
 * point `at` doubles into either buffer sits in them. Not collective. */
struct sweep_faces sweeps_faces_at(const struct field *f, int64_t at);

/* One plain or weighted sweep of every tile, ending an exchange in flight (it->in_flight) after
 * the points that need none of its ring; swaps the buffers. Returns this rank's change (if
 * kind->want_change). Collective where an exchange is in flight. */
double sweeps_once(struct method_iterate *it, const struct sweeps_kind *kind);

/* `levels` <= f->depth iterations in one pass over each tile (overlapped tiles): level l
 * computes the tile grown by levels - 1 - l points, clipped to the grid, so the last level is
 * the tile itself and every level reads only what the level before wrote, the fixed boundary
 * or (level 0) the ring the last exchange filled. rect has room for `levels` entries; omega is
 * NULL (Jacobi) or each level's weight; scratch is NULL or room for the rows of Jacobi's
 * levels (sweep_levels_scratch of the widest tile's stride). Not collective. */
double sweeps_levels(struct field *f, int64_t levels, struct sweep_rect *rect, const double *omega,
                     double *scratch);

/* Room for a temporal block of `block` levels: rect entries, and scratch for Jacobi's rows
 * (with_scratch) or NULL. Returns ERR_FAILURE (memory), freeing what it took. Not collective. */
int sweeps_block_alloc(const struct field *f, int64_t block, bool with_scratch,
                       struct sweep_rect **rect, double **scratch);

/* The summary's kernel line of a method that sweeps: `untuned` (its sweep where the calibration
 * chose nothing: text is empty), the faces update (cfg_faces) or the general update, with the CPU's
 * instruction set and the stores set; then a temporal block's wavefront, its rows kept as `rows`
 * says. Appends to text. */
void sweeps_describe(const struct cfg *cfg, bool general, const char *untuned, const char *rows,
                     char *text, size_t len);

#endif /* JACOBI_SWEEPS_H */
