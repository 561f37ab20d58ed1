/* expr.c - formulas through muParser's C interface; see expr.h. */
#include "expr.h"

#include "err.h"

#include <math.h>
#include <muParserDLL.h>
#include <stdlib.h>

struct expr {
  muParserHandle_t parser;
  double x, y; /* the variables muParser reads at each evaluation */
  bool constant;
};

int expr_create(const char *text, double width, double height, struct expr **out) {
  *out = NULL;
  struct expr *e = calloc(1, sizeof *e);
  if (e == NULL || (e->parser = mupCreate(muBASETYPE_FLOAT)) == NULL) {
    free(e);
    return err_set(ERR_FAILURE, "out of memory for an expression");
  }
  /* muParser reports errors through mupError after each call, and calls no handler unless one
   * is set: none is, so nothing is thrown across the C boundary. */
  mupDefineVar(e->parser, "x", &e->x);
  mupDefineVar(e->parser, "y", &e->y);
  mupDefineConst(e->parser, "pi", 3.14159265358979323846);
  mupDefineConst(e->parser, "e", 2.71828182845904523536);
  mupDefineConst(e->parser, "width", width);
  mupDefineConst(e->parser, "height", height);
  mupSetExpr(e->parser, text);
  /* The text is parsed at the first evaluation: evaluate once, to find its errors now. */
  if (!mupError(e->parser))
    (void)mupEval(e->parser);
  if (mupError(e->parser)) {
    int status = err_set(ERR_CONFIG, "position %d: %s", (int)mupGetErrorPos(e->parser) + 1,
                         mupGetErrorMsg(e->parser));
    expr_destroy(&e);
    return status;
  }
  e->constant = mupGetExprVarNum(e->parser) == 0;
  *out = e;
  return ERR_OK;
}

double expr_eval(struct expr *e, double x, double y) {
  e->x = x;
  e->y = y;
  double v = mupEval(e->parser);
  return mupError(e->parser) ? NAN : v;
}

bool expr_is_constant(const struct expr *e) { return e->constant; }

void expr_destroy(struct expr **e) {
  if (e == NULL || *e == NULL)
    return;
  if ((*e)->parser != NULL)
    mupRelease((*e)->parser);
  free(*e);
  *e = NULL;
}
