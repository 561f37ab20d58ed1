/* expr.c - formulas through muParser's C interface; see expr.h.
 *
 * Three things about muParser 2.3.3 (Debian 12's) shape this file:
 * - Its C interface copies messages and tokens with sprintf into one static buffer of 2048
 *   bytes, and a token can be the rest of the expression: texts are limited to EXPR_MAX_BYTES,
 *   so no copy can overflow it.
 * - mupGetErrorMsg returns the offending token, not the message (the formatted text is lost
 *   on the way through the C interface), so the message is ours, from the error code.
 * - mupError clears the error flag it reports: it is asked once after each call.
 */
#include "io/expr.h"

#include "common/err.h"

#include <math.h>
#include <muParserDLL.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* muParser's error codes (mu::EErrorCodes, muParserDef.h), for the messages below. */
enum {
  MU_UNEXPECTED_OPERATOR = 0,
  MU_UNASSIGNABLE_TOKEN = 1,
  MU_UNEXPECTED_EOF = 2,
  MU_UNEXPECTED_ARG_SEP = 3,
  MU_UNEXPECTED_ARG = 4,
  MU_UNEXPECTED_VAL = 5,
  MU_UNEXPECTED_VAR = 6,
  MU_UNEXPECTED_PARENS = 7,
  MU_UNEXPECTED_STR = 8,
  MU_STRING_EXPECTED = 9,
  MU_VAL_EXPECTED = 10,
  MU_MISSING_PARENS = 11,
  MU_UNEXPECTED_FUN = 12,
  MU_UNTERMINATED_STRING = 13,
  MU_TOO_MANY_PARAMS = 14,
  MU_TOO_FEW_PARAMS = 15,
  MU_OPRT_TYPE_CONFLICT = 16,
  MU_STR_RESULT = 17,
  MU_EMPTY_EXPRESSION = 25,
  MU_UNEXPECTED_CONDITIONAL = 32,
  MU_MISSING_ELSE_CLAUSE = 33,
  MU_MISPLACED_COLON = 34,
  MU_IDENTIFIER_TOO_LONG = 36,
  MU_INVALID_CHARACTERS_FOUND = 38,
};

/* The constants every expression sees (M_PI and M_E are not ISO C). */
static const double expr_pi = 3.14159265358979323846, expr_e = 2.71828182845904523536;

static muFloat_t c_rint(muFloat_t v) { return rint(v); }

struct expr {
  muParserHandle_t parser;
  double x, y; /* the variables muParser reads at each evaluation */
  bool constant;
};

/* Byte offset `at` of text (n bytes) as a 1-based position in characters, within the text:
 * an error at or past the end (a missing parenthesis) is shown at its last character. */
static int char_position(const char *text, size_t n, long at) {
  size_t end = at < 0 ? 0 : (size_t)at >= n ? (n > 0 ? n - 1 : 0) : (size_t)at;
  while (end > 0 && ((unsigned char)text[end] & 0xC0) == 0x80)
    end--; /* the start of the character it falls in */
  int chars = 1;
  for (size_t i = 0; i < end; i++)
    chars += ((unsigned char)text[i] & 0xC0) != 0x80;
  return chars;
}

/* The name muParser could not place: it reports the rest of the expression, so keep the first
 * run of name characters (at least one character). */
static void first_name(const char *token, char out[64]) {
  size_t n = 0;
  while (token[n] != '\0' && n < 60 && strchr(" \t+-*/^(),?:<>=!&|\"", token[n]) == NULL)
    n++;
  if (n == 0 && token[0] != '\0')
    for (n = 1; n < 4 && ((unsigned char)token[n] & 0xC0) == 0x80;)
      n++;
  while (n > 0 && n < strlen(token) && ((unsigned char)token[n] & 0xC0) == 0x80)
    n--; /* not in the middle of a character */
  memcpy(out, token, n);
  out[n] = '\0';
}

/* muParser's error, as "position P: WHAT". */
static int parse_error(muParserHandle_t parser, const char *text) {
  int code = mupGetErrorCode(parser);
  int pos = char_position(text, strlen(text), mupGetErrorPos(parser));
  char token[64];
  snprintf(token, sizeof token, "%s", mupGetErrorToken(parser));
  if (code == MU_UNASSIGNABLE_TOKEN)
    first_name(token, token);
  const char *what;
  switch (code) {
  case MU_UNEXPECTED_OPERATOR:
    what = "unexpected operator \"%s\"";
    break;
  case MU_UNASSIGNABLE_TOKEN:
    what = "unknown name \"%s\" (the variables are x and y, the constants pi, e, width and "
           "height)";
    break;
  case MU_UNEXPECTED_EOF:
    what = "the expression ends where a value was expected";
    break;
  case MU_UNEXPECTED_ARG_SEP:
    what = "unexpected \",\"";
    break;
  case MU_UNEXPECTED_ARG:
    what = "unexpected argument";
    break;
  case MU_UNEXPECTED_VAL:
    what = "unexpected value \"%s\" (an operator is missing before it)";
    break;
  case MU_UNEXPECTED_VAR:
    what = "unexpected variable \"%s\" (an operator is missing before it)";
    break;
  case MU_UNEXPECTED_PARENS:
    what = "unexpected parenthesis \"%s\"";
    break;
  case MU_MISSING_PARENS:
    what = "missing \")\"";
    break;
  case MU_UNEXPECTED_FUN:
    what = "unexpected function \"%s\" (an operator is missing before it)";
    break;
  case MU_TOO_MANY_PARAMS:
    what = "too many arguments for %s()";
    break;
  case MU_TOO_FEW_PARAMS:
    what = "too few arguments for %s()";
    break;
  case MU_UNEXPECTED_STR:
  case MU_STRING_EXPECTED:
  case MU_VAL_EXPECTED:
  case MU_UNTERMINATED_STRING:
  case MU_OPRT_TYPE_CONFLICT:
  case MU_STR_RESULT:
    what = "strings have no place in an expression of numbers";
    break;
  case MU_EMPTY_EXPRESSION:
    what = "the expression is empty";
    break;
  case MU_UNEXPECTED_CONDITIONAL:
    what = "unexpected \"?\"";
    break;
  case MU_MISSING_ELSE_CLAUSE:
    what = "\"?\" without its \":\" (write cond ? a : b)";
    break;
  case MU_MISPLACED_COLON:
    what = "\":\" without its \"?\" (write cond ? a : b)";
    break;
  case MU_IDENTIFIER_TOO_LONG:
    what = "a name longer than 100 characters";
    break;
  case MU_INVALID_CHARACTERS_FOUND:
    what = "a character that has no place in an expression";
    break;
  default:
    return err_set(ERR_CONFIG, "position %d: muParser error %d (at \"%s\")", pos, code, token);
  }
  char message[256];
  snprintf(message, sizeof message, what, token);
  return err_set(ERR_CONFIG, "position %d: %s", pos, message);
}

/* What muParser accepts but a formula of one value must not hold: an assignment ("x = 1"
 * would set the variable; "==" compares) and more than one value ("1, 2" is two). Returns the
 * byte offset of the first, or -1; *what says which. */
static long refused_construct(const char *text, const char **what) {
  int depth = 0;
  for (size_t i = 0; text[i] != '\0'; i++) {
    char c = text[i], next = text[i + 1], before = i > 0 ? text[i - 1] : ' ';
    /* One rule for control characters: TAB, LF and CR are white space (a TOML multi-line
     * string holds them), every other is refused. muParser took BEL and SOH as blanks and
     * refused ESC. */
    if (((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      *what = "a control character has no place in an expression (only TAB, LF and CR are "
              "taken as white space)";
      return (long)i;
    }
    depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    if (c == '=' && next != '=' && before != '=' && before != '<' && before != '>' &&
        before != '!') {
      *what = "\"=\" assigns, which an expression may not (compare with \"==\")";
      return (long)i;
    }
    if (c == ',' && depth <= 0) {
      *what = "\",\" outside a function's arguments: an expression has one value";
      return (long)i;
    }
  }
  return -1;
}

int expr_create(const char *text, double width, double height, struct expr **out) {
  *out = NULL;
  size_t n = strlen(text);
  if (n > EXPR_MAX_BYTES)
    return err_set(ERR_CONFIG, "position %d: the expression is longer than %d bytes",
                   char_position(text, n, EXPR_MAX_BYTES), EXPR_MAX_BYTES);
  const char *what = NULL;
  long refused = refused_construct(text, &what);
  if (refused >= 0)
    return err_set(ERR_CONFIG, "position %d: %s", char_position(text, n, refused), what);
  struct expr *e = calloc(1, sizeof *e);
  if (e == NULL || (e->parser = mupCreate(muBASETYPE_FLOAT)) == NULL) {
    free(e);
    return err_set(ERR_FAILURE, "out of memory for an expression");
  }
  /* muParser records errors for mupError after each call, and calls no handler unless one is
   * set: none is, so nothing is thrown across the C boundary. */
  mupDefineVar(e->parser, "x", &e->x);
  mupDefineVar(e->parser, "y", &e->y);
  /* muParser's own constants, _pi and _e, go: the names an expression knows are the ones its
   * messages and the README list. Its rint rounds halves up (rint(2.5) = 3); C's, to even,
   * as a C or Python user expects. */
  mupClearConst(e->parser);
  mupDefineFun1(e->parser, "rint", c_rint, 1);
  mupDefineConst(e->parser, "pi", expr_pi);
  mupDefineConst(e->parser, "e", expr_e);
  mupDefineConst(e->parser, "width", width);
  mupDefineConst(e->parser, "height", height);
  bool failed = mupError(e->parser);
  if (!failed) {
    mupSetExpr(e->parser, text);
    failed = mupError(e->parser);
  }
  /* The text is parsed at the first evaluation: evaluate once, to find its errors now. */
  int nresults = 1;
  if (!failed) {
    (void)mupEvalMulti(e->parser, &nresults);
    failed = mupError(e->parser);
  }
  int status = ERR_OK;
  if (failed)
    status = parse_error(e->parser, text);
  else if (nresults != 1) /* refused_construct finds every "," that makes one: a backstop */
    status = err_set(ERR_CONFIG, "position 1: an expression has one value, this has %d", nresults);
  if (status == ERR_OK) {
    e->constant = mupGetExprVarNum(e->parser) == 0;
    if (mupError(e->parser))
      status = parse_error(e->parser, text);
  }
  if (status != ERR_OK) {
    expr_destroy(&e);
    return status;
  }
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
