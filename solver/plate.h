/* plate.h - the plate as the equations see it, point by point: the boundary ring's
 * temperatures (numbers or edge profiles), the starting field, the heat sources and the points
 * held at fixed temperatures, all from the configuration (cfg.h), evaluated once at start-up on
 * the ranks that own the points; and, at the end, the heat flowing through each edge and into
 * each region, with the balance against the sources.
 *
 * The equations. With h the grid spacing, k the conductivity and t the thickness, the steady
 * state of  k t lap(T) + q = 0  on the 5-point stencil is, at every free interior point,
 *     T = (the 5-point average of T) + b,   b = h^2 q / (4 k t)   (degrees),
 * and at a fixed point T = its held temperature. The sweep computes the general update
 * coef * avg + rhs (field.h) in that order of operations, the same on every rank, so results
 * stay bit for bit on every decomposition; a plate with neither sources nor regions keeps the
 * Laplace kernel (and its bits).
 *
 * A plate with an edge that is not held, exchange through its faces, a conductivity that varies
 * or heaters (cfg_faces) gets the faces operator instead (field.h's cond, diag, load), by
 * vertex-centred finite volumes: half and quarter control volumes on edges that are not held,
 * harmonic-mean conductances, each edge kind, the faces, sources and heaters in watts
 * (docs/numerics.md, "Real plates: the faces operator"); its grid puts the outermost nodes on an
 * edge that is not held: x = (j + 1 - [left not held]) h, y = (i + 1 - [top not held]) h.
 *
 * Coordinates: grid point (i, j) (row i of ny, column j of nx, 0-based) lies at x = (j + 1) h,
 * y = (i + 1) h metres from the top-left corner, y downwards; the ring lies on the plate's
 * edges x = 0, x = width, y = 0, y = height. Each coordinate is computed as (index + 1) * h
 * with h = width / (nx + 1), the same bits on every rank.
 *
 * Not for: the iteration (solve.h), the file format (output.h).
 */
#ifndef JACOBI_PLATE_H
#define JACOBI_PLATE_H

#include "io/cfg.h"
#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"

#include <stdbool.h>
#include <stdint.h>

struct plate {
  const struct cfg *cfg; /* borrowed */
  double spacing;        /* grid spacing h, m */
  /* The ring's temperatures (field.h's layout): top and bottom nx + 2 each, left and right
   * ny + 2, corners included. */
  double *edge[DECOMP_NSIDES];
  struct field_boundary boundary; /* points into edge[] */
  bool general;                   /* sources or regions: the general update */
  /* The faces operator (field.h's cond, diag, load; docs/numerics.md, "Real plates"): an edge
   * not held, surface exchange, a conductivity that varies, heaters. free_edge[s] is 1 where
   * edge s is not held: its outermost nodes lie on it, with half control volumes. */
  bool faces;
  int free_edge[DECOMP_NSIDES];
  double *conductivity;     /* k at each point, W/(m K), laid out as a field buffer, rings one
                             * deep filled (plate_fill_rings); NULL unless faces; owned */
  bool conductivity_varies; /* k is not one number over the whole plate */
  int64_t *heater_quarters; /* per region: the quarter cells of its free points, over the
                             * whole grid (0 for a region without power); owned */
  double *heater_power;     /* per region: the W its shares total, summed exactly; owned */
  /* Bounds on the answer T* and on the starting field, agreed by every rank: T* lies in
   * [answer_lo, answer_hi] (the maximum principle: the ring's and the regions' extremes, each
   * widened by ||A^-1||inf 4 max |b| where there are sources), and the initial interior in
   * [start_lo, start_hi]. */
  double answer_lo, answer_hi, start_lo, start_hi;
  double max_source_term; /* max |b| over the free points (degrees) */
  int64_t fixed_points;   /* points held by regions, over the whole grid */
};

/* Evaluate the edges on every rank (O(nx + ny)); check the expressions give finite values
 * within CFG_MAX_TEMPERATURE (else ERR_CONFIG naming the key and the point). Collective;
 * agreed. */
int plate_create(const struct cfg *cfg, const struct team *team, struct plate *out);

/* Fill the field this rank owns: the starting interior (initial.interior) in both buffers,
 * and for a general plate its coef, rhs, source and fixed arrays (allocated here, freed by
 * field_destroy), reading source.from_file and mask regions' datasets (io_read_interior),
 * and the held temperatures at fixed points in both buffers. Checks that every region holds at
 * least one point and every source value is finite. For a faces plate (plate->faces) the
 * contract's cond, diag and load instead, but for the conductances (plate_fill_rings: they
 * need the neighbours' k), and plate->conductivity (k at every point, from the number, the
 * expression or plate.conductivity_file's dataset, then the regions'); refuses a plate that
 * nothing anchors (its steady state is not unique), a heater whose shape holds no free point,
 * and a conductivity that is not positive; sets answer_lo/hi by the maximum principle (infinite
 * on the side a source, flux or heater pushes). Collective; agreed. */
int plate_fill(struct plate *plate, struct field *field, const struct team *team);

/* A field with rings deeper than one (temporal blocks) sweeps into them: fill the rings of
 * coef and rhs with the owners' values, by halo exchanges of copies through the field's other
 * buffer (restored). No-op for a plain plate or one-deep rings. A faces plate always needs it:
 * the k rings first, then each point's conductances t k_f w and its diagonal, then (rings
 * deeper than one) the rings of cond, diag and load. Call after halo_create.
 * Collective on team->comm; agreed. */
int plate_fill_rings(const struct plate *plate, struct field *field, struct halo *halo,
                     const struct team *team);

/* Set the fixed points of buffer `buf` to their held temperatures again (after a field read
 * from a file, which may come from another plate). No-op for a plate without regions. */
void plate_impose(const struct plate *plate, struct field *field, int buf);

/* The heat flows of the current iterate, whose rings must be filled: W into the plate's free
 * points through each edge (indexed by enum decomp_side) and from each region (nregions
 * entries), the sources' total over the free points, and the imbalance (their sum: 0 in the
 * steady state of the discrete equations, up to rounding) with its bound from this field's own
 * sweep change d: |imbalance| <= 4 k t N d (N free points), plus the sums' rounding. Each
 * total is summed exactly (exact_sum), so every decomposition reports the same bits. Uses
 * the field's other buffer as scratch for one halo exchange of the regions' numbers, and
 * restores it. Collective on team->comm; agreed. */
struct plate_heat {
  double edge[DECOMP_NSIDES];
  double *region; /* cfg->nregions entries, owned (plate_heat_release) */
  double source, imbalance, imbalance_bound;
  double surface; /* through the faces (surface exchange), into the plate; 0 without */
  bool faces;     /* a plate of the faces operator (surface, heaters in region[]) */
  double change;  /* the sweep change d the bound rests on */
};
int plate_heat_flow(const struct plate *plate, struct field *field, struct halo *halo,
                    const struct team *team, struct plate_heat *out);
void plate_heat_release(struct plate_heat *heat);

/* The heat capacity of each point this rank owns, J/K, for the transient ([time]): rho c t V
 * with V the point's control volume (h^2, halved on each edge that is not held, as the faces
 * operator's), 0 at a held point (its temperature never changes). `capacity` is laid out as one
 * field buffer (tile_offset); only interior points are set. Not collective. */
void plate_capacity(const struct plate *plate, const struct field *field, double *capacity);

/* Free the edges and the faces plate's arrays; accepts a zeroed plate. */
void plate_destroy(struct plate *plate);

#endif /* JACOBI_PLATE_H */
