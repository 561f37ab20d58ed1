/* faces_plate.h - faces fields built by hand for the tests and the multigrid bench, before the
 * plate assembles them from a config: field.h's cond, diag and load for a plate described here
 * (edge kinds, face exchange, a conductivity pattern, a held disk), following field.h's contract
 * and docs/numerics.md's discretisation, and the same equations solved by banded elimination
 * (the truth the tests compare against, computed independently of the solver).
 *
 * Geometry (vertex-centred finite volumes): on an edge that is not held the outermost unknowns
 * lie on the edge with half a control volume (a quarter at a corner of two such edges);
 * conductance t k_face L / h between neighbours (k_face the harmonic mean, L the shared control
 * face's length: h, or h/2 along an edge that is not held); a held edge's ring is read through
 * t k_p; a held point has conductances 0, diag 1, load its temperature. Not for: parsing,
 * anything the real plate (solver/plate.c) decides. */
#ifndef JACOBI_TESTS_FACES_PLATE_H
#define JACOBI_TESTS_FACES_PLATE_H

#include "runtime/field.h"

#include <stdbool.h>
#include <stdint.h>

enum edge_kind { EDGE_HELD, EDGE_INSULATED, EDGE_FLUX, EDGE_CONVECTIVE };
struct edge_spec {
  enum edge_kind kind;
  double value, ambient; /* held: temperature; flux: W/m^2 into the plate; convective: h, T_amb */
};
enum k_pattern { K_UNIFORM, K_SMOOTH, K_CHECKER, K_INSERT, K_LAYERED, K_INSERT_ALIGNED };
struct faces_plate {
  int64_t nx, ny;
  struct edge_spec edge[DECOMP_NSIDES]; /* north (top), south, west, east */
  double surface_h, surface_t;          /* face exchange (both faces), W/m^2K, and its ambient */
  enum k_pattern pattern;
  double contrast; /* k of the second material / k of the first (1 W/mK) */
  int64_t block;   /* the checkerboard's squares and the layers, in points */
  double source;   /* q, W/m^2 */
  double disk_r;   /* a held disk of this radius (points) at (ny/3, nx/3), 0: none */
  double disk_t;   /* its temperature */
};
extern const double FACES_H, FACES_T; /* spacing and thickness, m */

double faces_k(const struct faces_plate *p, int64_t gi, int64_t gj);
double faces_harmonic(double a, double b);
/* Whether point (gi, gj) is held (the disk), and at what temperature. */
bool faces_held(const struct faces_plate *p, int64_t gi, int64_t gj, double *temperature);
/* Point (gi, gj)'s row of the faces operator: cond (north, south, west, east), diag, load. */
void faces_row(const struct faces_plate *p, int64_t gi, int64_t gj, double cond[4], double *diag,
               double *load);
/* The ring temperatures of a field_boundary for p: 4 sides of `ring` doubles each (free()). */
double *faces_sides(const struct faces_plate *p, int64_t *ring);
/* Fill f's cond, diag and load (allocated here; field_destroy frees them) at the interior points,
 * NaN in the rings (multigrid must not read them), and set the held points in both buffers.
 * Returns 0, or -1 out of memory. */
int faces_fill(const struct faces_plate *p, struct field *f);
/* The solution of p's equations on the whole grid (row-major, nx ny doubles; free()). */
double *faces_direct(const struct faces_plate *p);

#endif
