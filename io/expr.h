/* expr.h - formulas in a config: a temperature or a heat source as an expression of the
 * position, compiled once and evaluated per point, through muParser (Debian's libmuparser,
 * its C interface muParserDLL.h; docs/guide.md, "Any plate", says why that library).
 *
 * An expression sees the variables x and y (metres from the plate's top-left corner, y
 * downwards) and the constants pi, e, width and height (metres). Everything muParser offers is
 * there: + - * / ^, sin cos tan asin acos atan sinh cosh tanh, exp log ln log2 log10 sqrt abs
 * sign rint min max sum avg, comparisons and `cond ? a : b`.
 *
 * Evaluation is deterministic: the same text at the same (x, y) gives the same bits on every
 * rank, whatever else was evaluated before (the caller computes x and y from global indices).
 * Not for: MPI; thread safety (one expression is used by one thread). Not collective.
 */
#ifndef JACOBI_EXPR_H
#define JACOBI_EXPR_H

#include <stdbool.h>
#include <stddef.h>

struct expr;

/* Longest expression text accepted: muParser's C interface copies tokens and messages into a
 * static buffer of 2048 bytes. */
#define EXPR_MAX_BYTES 1000

/* Compile `text` with the constants width and height. On a syntax error, an unknown name, an
 * assignment ("x = 1"; "==" compares), more than one value ("1, 2") or a text over
 * EXPR_MAX_BYTES returns ERR_CONFIG and records "position P: WHAT" (P 1-based, in characters
 * of `text`, always within it: an error at the end points at the last character; WHAT says
 * what is wrong, e.g. "missing \")\"" or "unknown name \"z\" (...)"); the caller prefixes the
 * file, line and key. ERR_FAILURE when out of memory. *out is NULL on failure. */
int expr_create(const char *text, double width, double height, struct expr **out);

/* The value at (x, y). Not finite results are the caller's to judge. */
double expr_eval(struct expr *e, double x, double y);

/* Whether the expression does not use x or y (a constant: evaluated once). */
bool expr_is_constant(const struct expr *e);

/* Free; accepts NULL and *e == NULL, and sets *e to NULL. */
void expr_destroy(struct expr **e);

#endif /* JACOBI_EXPR_H */
