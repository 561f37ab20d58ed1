/* comparison.h - a bound on ||A^-1||inf for any M-matrix operator the field sweeps with (the
 * faces operator, field.h), where the Laplace plate's parabola (estimate.h) does not apply: an
 * insulated or convective edge, a conductivity that varies, exchange through the faces.
 *
 * Two certificates, the tighter taken:
 *   - a comparison function: for any w >= 0 with A w >= c 1 (c > 0), A^-1 >= 0 gives
 *     A^-1 1 <= w / c, so ||A^-1||inf <= max w / c. w is computed once per plate by Jacobi
 *     sweeps of A w = 1 from 0 (each iterate is >= 0 for an M-matrix; how close it is to
 *     A^-1 1 decides only how tight the bound is), and A w >= c is checked point by point with
 *     the rounding of that check counted (an explicit error term);
 *   - diagonal dominance: where diag - (sum of the conductances) >= delta > 0 at every point
 *     (exchange through the faces, a convective edge everywhere), ||A^-1||inf <= 1 / delta.
 * Every figure is a min or a max over the points, agreed with MPI_MIN / MPI_MAX, so the bound
 * has the same bits on every decomposition. The residual r = load - A x (W) then bounds the
 * error: |x - T*| <= ||A^-1||inf ||r||inf (K).
 *
 * Not for: the Laplace and general plates (estimate.h's closed form is tighter and free), the
 * residual itself (certify.h). Collective on the team; agreed status.
 */
#ifndef JACOBI_COMPARISON_H
#define JACOBI_COMPARISON_H

#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"

#include <stdint.h>

struct comparison_bound {
  double dominance;    /* 1 / min (diag - sum cond), rounded up; INFINITY: not dominant */
  double w_max, c;     /* the comparison function's max and its certified min of A w */
  double comparison;   /* w_max / c, rounded up; INFINITY where c <= 0 */
  double inverse_norm; /* the smaller of the two: a guaranteed bound on ||A^-1||inf (K/W) */
  double diag_max;     /* max diag (W/K): a sweep's change d bounds |r| by diag_max d */
  double load_scale;   /* max |load| / diag (K): what the update's rounding is relative to */
};

/* From the faces operator's arrays of a field (field_faces): diagonal dominance, max diag and
 * max |load| / diag (out's dominance, diag_max, load_scale). Collective on team->comm. */
void comparison_dominance(const struct field *f, const struct team *team,
                          struct comparison_bound *out);

/* The sweeps comparison_bound gives w on an nx x ny plate: Jacobi from 0 makes A w >= c > 0
 * after about (the longest side)^2 of them, bounded so that they cost at most 1e8 point
 * updates (a larger plate that is not diagonally dominant may get no comparison bound: then
 * none is claimed). Pure. */
int64_t comparison_sweeps(int64_t nx, int64_t ny);

/* Check buffer `buf` of f (interior w >= 0, every ring filled: 0 at the grid's ring) as a
 * comparison function: out->w_max, out->c, out->comparison. Collective on team->comm. */
void comparison_check(const struct field *f, int buf, const struct team *team,
                      struct comparison_bound *out);

/* Both certificates for the field's faces operator, w from `sweeps` Jacobi sweeps of A w = 1
 * (halo exchanges between them) in the field's two buffers, which are saved first and restored
 * after (one buffer's worth of memory, for the call). Collective on team->comm; agreed status.
 * Errors: ERR_FAILURE (out of memory; halo exchange). */
int comparison_bound(struct field *f, struct halo *halo, const struct team *team, int64_t sweeps,
                     struct comparison_bound *out);

#endif /* JACOBI_COMPARISON_H */
