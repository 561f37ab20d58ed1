/* spectrum.h - the spectral radius of the Jacobi iteration J = D^-1 N of a faces field
 * (runtime/field.h: field_faces), for Chebyshev's weights: found at start-up by Lanczos on the
 * whole operator, the same bits on every decomposition.
 *
 * Why and how (docs/numerics.md, "Chebyshev on the faces operator"): J's spectrum is symmetric
 * about 0 (the 5-point graph is bipartite: red-black signs map J to -J), so Chebyshev needs its
 * largest eigenvalue rho only. J is self-adjoint in the D inner product (D J = N is symmetric
 * between free points, bit for bit), so Lanczos in that inner product, from the all-ones vector
 * on the free points, finds rho from below; the run stops when the top Ritz pair's residual is
 * under a fiftieth of the gap 1 - theta, and returns theta plus that residual (an eigenvalue lies
 * within it), so that Chebyshev sees the gap at most a few per cent too small, never too large
 * where the Ritz value has converged. Every inner product is an exact sum (solver/bound/exact.h)
 * and every rank then computes the same tridiagonal eigenvalue: rho is a function of the
 * operator alone.
 *
 * Not for: the Laplace and general plates (their rho is estimate.h's closed form), rigorous
 * bounds (the certificate's business).
 */
#ifndef JACOBI_SPECTRUM_H
#define JACOBI_SPECTRUM_H

#include "runtime/field.h"
#include "runtime/halo.h"
#include "runtime/team.h"

#include <stdint.h>

/* The Lanczos steps spectrum_faces_radius takes at most; where they do not resolve rho it
 * returns the last Ritz value plus its residual, at most half-way to 1 (Chebyshev converges,
 * more slowly). */
enum { SPECTRUM_MAX_STEPS = 4000 };

/* rho of f's faces operator (field_faces(f) must hold), and the Lanczos steps taken. Uses the
 * buffer that is not current to exchange its vectors and restores it bit for bit (the iterate
 * before, for a continued Chebyshev run), and two buffers of private memory while it runs.
 * Collective on team->comm; agreed status. Errors: ERR_FAILURE (memory); an MPI failure ends
 * the job (team_abort). */
int spectrum_faces_radius(struct field *f, struct halo *halo, const struct team *team, double *rho,
                          int64_t *steps);

#endif /* JACOBI_SPECTRUM_H */
