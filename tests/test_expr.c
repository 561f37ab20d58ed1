/* test_expr.c - formulas through muParser: values at points, the constants, what counts as
 * constant, and every kind of error as "position P: what" with P in characters of the text. */
#include "tests/cunit_main.h"

#include "common/err.h"
#include "io/expr.h"

#include <math.h>
#include <string.h>

/* Helpers that check on behalf of their caller report the caller's line. */
#define expect_at(ok, line, ...) tests_expect_at((ok), __FILE__, (line), __VA_ARGS__)

static struct expr *compile_at(const char *text, double width, double height, int line) {
  struct expr *e = NULL;
  err_clear();
  int status = expr_create(text, width, height, &e);
  expect_at(status == ERR_OK && e != NULL, line, "expected \"%s\" to compile, got %d: %s", text,
            status, err_message());
  return e;
}
#define COMPILE(text) compile_at((text), 1.0, 2.0, __LINE__)

/* expr_create refuses `text` with ERR_CONFIG, *out NULL, and exactly the message `want`. */
static void refuses_at(const char *text, const char *want, int line) {
  struct expr *e = (struct expr *)&want; /* must be reset to NULL */
  err_clear();
  int status = expr_create(text, 1.0, 2.0, &e);
  expect_at(status == ERR_CONFIG, line, "expected ERR_CONFIG for \"%s\", got %d", text, status);
  expect_at(e == NULL, line, "expected *out NULL after a failure");
  if (status == ERR_OK)
    expr_destroy(&e);
  expect_at(strcmp(err_message(), want) == 0, line, "expected \"%s\" for \"%s\", got \"%s\"", want,
            text, err_message());
}
#define REFUSES(text, want) refuses_at((text), (want), __LINE__)

static void test_values_at_points_with_the_constants(void) {
  struct expr *e = COMPILE("100 * sin(pi * x / width)");
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  EXPECT(expr_eval(e, 0.5, 0.0) == 100.0, "expected 100 at x = width / 2, got %.17g",
         expr_eval(e, 0.5, 0.0));
  EXPECT(fabs(expr_eval(e, 0.25, 7.0) - 100.0 * sin(3.14159265358979323846 * 0.25)) < 1e-12,
         "expected 100 sin(pi / 4) at x = 0.25");
  EXPECT(!expr_is_constant(e), "expected an expression of x not to be constant");
  expr_destroy(&e);
  CU_ASSERT_PTR_NULL(e);
  e = COMPILE("x * y + height - e");
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  double want = 3.0 * 4.0 + 2.0 - 2.71828182845904523536;
  EXPECT(expr_eval(e, 3.0, 4.0) == want, "expected %.17g, got %.17g", want, expr_eval(e, 3.0, 4.0));
  expr_destroy(&e);
  e = COMPILE("y > height / 2 ? 1e3 : -1");
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  EXPECT(expr_eval(e, 0, 1.5) == 1e3 && expr_eval(e, 0, 0.5) == -1, "expected the two branches");
  expr_destroy(&e);
}

/* One rule for control characters: TAB, LF and CR are white space, every other one is refused
 * where it stands (muParser took BEL and SOH as blanks and refused ESC). */
static void test_control_characters_follow_one_rule(void) {
  const char *blanks[] = {"1 +\t2", "1\n+ 2", "1 +\r\n2"};
  for (int i = 0; i < 3; i++) {
    struct expr *e = COMPILE(blanks[i]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    EXPECT(expr_eval(e, 0, 0) == 3.0, "expected 3 from \"%s\"", blanks[i]);
    expr_destroy(&e);
  }
  const char *want = "a control character has no place in an expression (only TAB, LF and CR are "
                     "taken as white space)";
  char message[200];
  const char *refused[] = {"1 +\a2", "1\x01", "1\x1b+2", "1 + x\x7f", "\v1"};
  const int at[] = {4, 2, 2, 6, 1};
  for (int i = 0; i < 5; i++) {
    snprintf(message, sizeof message, "position %d: %s", at[i], want);
    REFUSES(refused[i], message);
  }
}

/* The names an expression knows are the ones its messages list: muParser's _pi and _e are not;
 * rint rounds halves to even, as C's and Python's do (muParser's own rounds them up). */
static void test_names_and_rint_are_cs(void) {
  REFUSES("_pi", "position 1: unknown name \"_pi\" (the variables are x and y, the constants pi, "
                 "e, width and height)");
  REFUSES("2 * _e", "position 5: unknown name \"_e\" (the variables are x and y, the constants "
                    "pi, e, width and height)");
  /* halves to even; the rest to the nearest */
  const double args[] = {2.5, 3.5, -2.5, 0.5, 1.4999999999999998, 1e300};
  const double want[] = {2.0, 4.0, -2.0, 0.0, 1.0, 1e300};
  for (int i = 0; i < 6; i++) {
    char text[64];
    snprintf(text, sizeof text, "rint(%.17g)", args[i]);
    struct expr *e = COMPILE(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    EXPECT(expr_eval(e, 0, 0) == want[i], "expected %s = %.17g, got %.17g", text, want[i],
           expr_eval(e, 0, 0));
    expr_destroy(&e);
  }
}

static void test_same_point_gives_the_same_bits_whatever_came_before(void) {
  struct expr *e = COMPILE("exp(-((x - 0.3)^2 + (y - 0.7)^2) / 0.01) * 1e4 + sqrt(x)");
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  double first = expr_eval(e, 0.31, 0.69);
  for (int i = 0; i < 100; i++)
    (void)expr_eval(e, i * 0.01, 1 - i * 0.01);
  double again = expr_eval(e, 0.31, 0.69);
  EXPECT(memcmp(&first, &again, sizeof first) == 0, "expected the same bits, got %a and %a", first,
         again);
  expr_destroy(&e);
}

static void test_constant_means_no_x_and_no_y(void) {
  const char *constant[] = {"42", "2 * pi * width", "max(height, 3)", "-e^2"};
  for (int i = 0; i < 4; i++) {
    struct expr *e = COMPILE(constant[i]);
    EXPECT(e != NULL && expr_is_constant(e), "expected \"%s\" constant", constant[i]);
    expr_destroy(&e);
  }
  const char *varying[] = {"x", "y * 0", "sin(x) * 0 + 1"};
  for (int i = 0; i < 3; i++) {
    struct expr *e = COMPILE(varying[i]);
    EXPECT(e != NULL && !expr_is_constant(e), "expected \"%s\" not constant", varying[i]);
    expr_destroy(&e);
  }
}

static void test_non_finite_values_are_the_callers_to_judge(void) {
  struct expr *e = COMPILE("1 / x");
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  EXPECT(isinf(expr_eval(e, 0.0, 0.0)), "expected 1/0 to be inf");
  expr_destroy(&e);
  e = COMPILE("sqrt(x)");
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  EXPECT(isnan(expr_eval(e, -1.0, 0.0)), "expected sqrt(-1) to be NaN");
  expr_destroy(&e);
}

static void test_syntax_errors_give_their_position(void) {
  REFUSES("100 * sin(pi * x / width", "position 24: missing \")\"");
  REFUSES("3 *", "position 3: the expression ends where a value was expected");
  REFUSES("x y", "position 3: unexpected variable \"y\" (an operator is missing before it)");
  REFUSES("3 4", "position 3: unexpected value \"4\" (an operator is missing before it)");
  REFUSES("(1))", "position 4: unexpected parenthesis \")\"");
  REFUSES("2**3", "position 3: unexpected operator \"*\"");
  REFUSES("sin(1, 2)", "position 9: too many arguments for sin()");
  REFUSES("sin()", "position 5: too few arguments for sin()");
  REFUSES("1 ? 2", "position 1: \"?\" without its \":\" (write cond ? a : b)");
  REFUSES("1 : 2", "position 4: \":\" without its \"?\" (write cond ? a : b)");
  REFUSES("", "position 1: the expression is empty");
  REFUSES("   ", "position 1: the expression is empty");
  REFUSES("\"hot\"", "position 5: strings have no place in an expression of numbers");
}

static void test_unknown_names_are_named_alone(void) {
  const char *want = "unknown name \"%s\" (the variables are x and y, the constants pi, e, "
                     "width and height)";
  char message[256], name[8];
  snprintf(name, sizeof name, "z");
  snprintf(message, sizeof message, "position 5: ");
  snprintf(message + strlen(message), sizeof message - strlen(message), want, name);
  REFUSES("x + z * 2", message);
  snprintf(message, sizeof message, "position 1: ");
  snprintf(message + strlen(message), sizeof message - strlen(message), want, "rnd");
  REFUSES("rnd()", message);
  /* Positions count characters, not bytes: "é" is two bytes, one character. */
  snprintf(message, sizeof message, "position 5: ");
  snprintf(message + strlen(message), sizeof message - strlen(message), want, "\xC3\xA9");
  REFUSES("1 + \xC3\xA9 * 2", message);
}

static void test_assignments_and_several_values_are_refused(void) {
  REFUSES("x = 1", "position 3: \"=\" assigns, which an expression may not (compare with \"==\")");
  REFUSES("y+1=2", "position 4: \"=\" assigns, which an expression may not (compare with \"==\")");
  REFUSES("1, 2", "position 2: \",\" outside a function's arguments: an expression has one value");
  struct expr *e = COMPILE("(x == 0) + (y <= 1) + (x >= 2) + (y != 3) + max(x, y, 1)");
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  EXPECT(expr_eval(e, 0.0, 0.0) == 1 + 1 + 0 + 1 + 1, "expected 4, got %g", expr_eval(e, 0, 0));
  expr_destroy(&e);
}

static void test_long_texts_are_refused_before_muparser(void) {
  static char text[EXPR_MAX_BYTES + 2];
  memset(text, ' ', EXPR_MAX_BYTES);
  text[0] = '1';
  text[EXPR_MAX_BYTES] = '\0';
  struct expr *e = COMPILE(text); /* exactly the limit: fine */
  expr_destroy(&e);
  text[EXPR_MAX_BYTES] = ' ';
  text[EXPR_MAX_BYTES + 1] = '\0';
  REFUSES(text, "position 1001: the expression is longer than 1000 bytes");
  /* A long unknown token (muParser reports the rest of the text) is cut in the message. */
  memset(text, 'q', EXPR_MAX_BYTES);
  text[EXPR_MAX_BYTES] = '\0';
  err_clear();
  CU_ASSERT_EQUAL(expr_create(text, 1, 1, &e), ERR_CONFIG);
  EXPECT(strncmp(err_message(), "position 1: unknown name \"qqq", 29) == 0, "got %s",
         err_message());
}

static void test_destroy_accepts_null(void) {
  expr_destroy(NULL);
  struct expr *e = NULL;
  expr_destroy(&e);
  CU_ASSERT_PTR_NULL(e);
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"values at points with the constants", test_values_at_points_with_the_constants},
      {"same point gives the same bits whatever came before",
       test_same_point_gives_the_same_bits_whatever_came_before},
      {"constant means no x and no y", test_constant_means_no_x_and_no_y},
      {"non-finite values are the caller's to judge",
       test_non_finite_values_are_the_callers_to_judge},
      {"syntax errors give their position", test_syntax_errors_give_their_position},
      {"unknown names are named alone", test_unknown_names_are_named_alone},
      {"assignments and several values are refused",
       test_assignments_and_several_values_are_refused},
      {"long texts are refused before muParser", test_long_texts_are_refused_before_muparser},
      {"destroy accepts NULL", test_destroy_accepts_null},
      {"control characters follow one rule", test_control_characters_follow_one_rule},
      {"names and rint are C's", test_names_and_rint_are_cs},
  };
  return TESTS_ADD_SUITE("expr", cases);
}
