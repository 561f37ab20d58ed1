/* operator.h - the 5-point operator, defined once: the update of one point and the residual of
 * one point, for every operator the product has.
 *
 * Every sweep (each instruction set's, sweep_kernel.h), smoother and residual (multigrid/),
 * the certificate (certify.c) and the heat flows (plate.c) compute a point with these; none
 * spells the arithmetic itself. Results are the same bits on every decomposition because every
 * point is computed by the same expression in the same order whatever tile, rank or vector
 * lane it falls in (docs/design.md, "The bit-for-bit promise"). Not for: loops, halos, a
 * method's weighting of an update (Chebyshev's omega, multigrid's alpha and beta).
 *
 * Each is an expression that uses each argument once, so it serves a double and a vector of
 * doubles (GCC's vector extension: the kernels' lanes) alike and expands into exactly the text
 * it stands for: the same operations in the same order, and the same machine code as when each
 * file spelled it out (objdump). The build forbids FMA contraction (-ffp-contract=off), so no
 * unit computes one otherwise. Arguments: the centre x; its neighbours n (the row above), s, w,
 * e; the point's coefficients.
 *
 * The faces operator is the variable-coefficient one (per-face conductances cn..ce, a diagonal,
 * a right-hand side f): multigrid's coarse levels use it with per-row and per-column weights or
 * per-point ones, and a fine level with conductances is one more use of it, not a new copy.
 * Laplace and the general update keep their own spelling: they are the arithmetic the results
 * were made with (0.25 sum and (sum + 0) / 4 differ in the sign of a zero sum) and the cheapest.
 */
#ifndef JACOBI_OPERATOR_H
#define JACOBI_OPERATOR_H

/* The Laplace update: the average of the four neighbours. */
#define OP_LAPLACE(n, s, w, e) (0.25 * (((n) + (s)) + ((w) + (e))))
/* The general update (plate.h) from that average: coef is 1 at a free point, 0 at a held one;
 * rhs is the source term at a free point and the held temperature at a held one. */
#define OP_GENERAL(coef, average, rhs) ((coef) * (average) + (rhs))
/* 4 x the Laplace residual: the neighbours' sum less 4 x. */
#define OP_LAPLACE_RESIDUAL(n, s, w, e, x) ((((n) + (s)) + ((w) + (e))) - 4.0 * (x))
/* 4 x the general residual at a free point (keep 1), 0 at a held one (keep 0). */
#define OP_GENERAL_RESIDUAL(keep, n, s, w, e, rhs, x)                                              \
  ((keep) * (((((n) + (s)) + ((w) + (e))) + 4.0 * (rhs)) - 4.0 * (x)))

/* The faces operator: the conductance-weighted sum of the neighbours, ... */
#define OP_FACES(cn, n, cs, s, cw, w, ce, e) (((cn) * (n) + (cs) * (s)) + ((cw) * (w) + (ce) * (e)))
/* ... with the four diagonal neighbours too (multigrid's Galerkin coarse levels of a faces
 * plate: nine points), ... */
#define OP_FACES9(cn, n, cs, s, cw, w, ce, e, cnw, nw, cne, ne, csw, sw, cse, se)                  \
  (OP_FACES(cn, n, cs, s, cw, w, ce, e) + OP_FACES(cnw, nw, cne, ne, csw, sw, cse, se))
/* ... its update from that sum, a right-hand side f and the diagonal, ... */
#define OP_FACES_UPDATE(sum, f, diag) (((sum) + (f)) / (diag))
/* ... the same update where the diagonal is a power of two and `inverse` is exactly 1 / diag
 * (the uniform interior of multigrid's coarse levels: diag 4, inverse 0.25): x * 2^-k and
 * x / 2^k are the same real number, so they round to the same bits, and the multiply spares a
 * division, ... */
#define OP_FACES_UPDATE_POW2(sum, f, inverse) (((sum) + (f)) * (inverse))
/* ... and its residual f - A x. */
#define OP_FACES_RESIDUAL(sum, f, diag, x) (((sum) + (f)) - (diag) * (x))

/* The heat through one face into the point x from its neighbour (plate.c's heat flows). */
#define OP_FACE_FLOW(conductance, neighbour, x) ((conductance) * ((neighbour) - (x)))

#endif
