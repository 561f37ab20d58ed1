/* test_toml.c - the focused TOML reader: every supported form reads as TOML says, and every
 * error names the file, the line and what was expected. */
#include "tests/cunit_main.h"

#include "common/err.h"
#include "io/toml.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------------------------- */

/* Helpers that check on behalf of their caller report the caller's line. */
#define expect_at(ok, line, ...) tests_expect_at((ok), __FILE__, (line), __VA_ARGS__)

/* Parse `text` as a file named x.toml from an exact-size copy (no NUL after it, so a read past
 * the end is an AddressSanitizer error). NULL, and a failed assertion, if it does not parse. */
static struct toml_doc *parse_at(const char *text, size_t len, int line) {
  char *copy = malloc(len ? len : 1);
  memcpy(copy, text, len);
  err_clear();
  struct toml_doc *doc = NULL;
  int status = toml_parse(copy, len, "x.toml", &doc);
  free(copy);
  expect_at(status == ERR_OK && doc != NULL, line, "expected to parse, got status %d: %s", status,
            err_message());
  return doc;
}
#define PARSE(text) parse_at((text), strlen(text), __LINE__)

/* The entry with `key`, or NULL. */
static const struct toml_entry *entry(const struct toml_doc *doc, const char *key) {
  for (size_t i = 0; doc != NULL && i < doc->nentries; i++)
    if (strcmp(doc->entries[i].key, key) == 0)
      return &doc->entries[i];
  return NULL;
}

static const struct toml_value *value_at(const struct toml_doc *doc, const char *key,
                                         enum toml_type type, int line) {
  const struct toml_entry *e = entry(doc, key);
  expect_at(e != NULL, line, "expected an entry %s", key);
  if (e == NULL)
    return NULL;
  expect_at(e->value.type == type, line, "expected %s of type %d, got type %d", key, type,
            e->value.type);
  return e->value.type == type ? &e->value : NULL;
}
#define VALUE(doc, key, type) value_at((doc), (key), (type), __LINE__)

static void expect_integer_at(const struct toml_doc *doc, const char *key, int64_t want, int line) {
  const struct toml_value *v = value_at(doc, key, TOML_INTEGER, line);
  expect_at(v != NULL && v->integer == want, line, "expected %s = %lld, got %lld", key,
            (long long)want, v ? (long long)v->integer : 0LL);
}
#define EXPECT_INTEGER(doc, key, want) expect_integer_at((doc), (key), (want), __LINE__)

/* Floats compare bit for bit (so -0.0 is not 0.0 and nan is nan). */
static void expect_float_at(const struct toml_doc *doc, const char *key, double want, int line) {
  const struct toml_value *v = value_at(doc, key, TOML_FLOAT, line);
  expect_at(v != NULL && memcmp(&v->number, &want, sizeof want) == 0, line,
            "expected %s = %.17g, got %.17g", key, want, v ? v->number : 0.0);
}
#define EXPECT_FLOAT(doc, key, want) expect_float_at((doc), (key), (want), __LINE__)

static void expect_string_at(const struct toml_doc *doc, const char *key, const char *want,
                             size_t want_len, int line) {
  const struct toml_value *v = value_at(doc, key, TOML_STRING, line);
  expect_at(v != NULL && v->string_len == want_len && memcmp(v->string, want, want_len) == 0 &&
                v->string[want_len] == '\0',
            line, "expected %s = \"%s\" (%zu bytes), got \"%s\" (%zu bytes)", key, want, want_len,
            v ? v->string : "", v ? v->string_len : 0);
}
#define EXPECT_STRING(doc, key, want) expect_string_at((doc), (key), (want), strlen(want), __LINE__)

/* Parsing `text` fails with ERR_CONFIG, leaves the document NULL, and the message holds every
 * one of the NULL-terminated words. */
static void expect_error_at(const char *text, size_t len, int line, ...) {
  char *copy = malloc(len ? len : 1);
  memcpy(copy, text, len);
  err_clear();
  struct toml_doc *doc = (struct toml_doc *)copy; /* must be reset to NULL */
  int status = toml_parse(copy, len, "x.toml", &doc);
  free(copy);
  expect_at(status == ERR_CONFIG, line, "expected ERR_CONFIG for %.60s, got %d", text, status);
  expect_at(doc == NULL, line, "expected no document after a failure");
  toml_destroy(&doc);
  va_list ap;
  va_start(ap, line);
  for (const char *word; (word = va_arg(ap, const char *)) != NULL;)
    expect_at(strstr(err_message(), word) != NULL, line, "expected \"%s\" in the message, got: %s",
              word, err_message());
  va_end(ap);
}
#define EXPECT_ERROR(text, ...) expect_error_at((text), strlen(text), __LINE__, __VA_ARGS__, NULL)
#define EXPECT_ERROR_N(text, len, ...) expect_error_at((text), (len), __LINE__, __VA_ARGS__, NULL)

/* A string of n copies of `unit`; caller frees. */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *s = malloc(hl + ul * n + tl + 1), *q = s;
  memcpy(q, head, hl);
  q += hl;
  for (size_t i = 0; i < n; i++, q += ul)
    memcpy(q, unit, ul);
  memcpy(q, tail, tl + 1);
  return s;
}

/* ---- valid documents ------------------------------------------------------------------------- */

static void test_integers_with_signs_and_underscores(void) {
  struct toml_doc *doc = PARSE("a = 0\nb = +7\nc = -12\nd = 1_000_000\ne = 9223372036854775807\n"
                               "f = -9223372036854775808\ng = -0\nh = 5_4_3\n");
  EXPECT_INTEGER(doc, "a", 0);
  EXPECT_INTEGER(doc, "b", 7);
  EXPECT_INTEGER(doc, "c", -12);
  EXPECT_INTEGER(doc, "d", 1000000);
  EXPECT_INTEGER(doc, "e", INT64_MAX);
  EXPECT_INTEGER(doc, "f", INT64_MIN);
  EXPECT_INTEGER(doc, "g", 0);
  EXPECT_INTEGER(doc, "h", 543);
  toml_destroy(&doc);
}

static void test_floats_with_fractions_exponents_and_underscores(void) {
  struct toml_doc *doc = PARSE("a = 3.14\nb = -0.5\nc = +1.5\nd = 1e6\ne = 1E-6\nf = 6.626e-34\n"
                               "g = 1_000.000_5\nh = 5e+22\ni = 0.1\nj = -0.0\nk = 1e1_0\n"
                               "l = 0e0\nm = 2.5E+0_3\nn = 1e-400\n");
  EXPECT_FLOAT(doc, "a", 3.14);
  EXPECT_FLOAT(doc, "b", -0.5);
  EXPECT_FLOAT(doc, "c", 1.5);
  EXPECT_FLOAT(doc, "d", 1e6);
  EXPECT_FLOAT(doc, "e", 1e-6);
  EXPECT_FLOAT(doc, "f", 6.626e-34);
  EXPECT_FLOAT(doc, "g", 1000.0005);
  EXPECT_FLOAT(doc, "h", 5e22);
  EXPECT_FLOAT(doc, "i", 0.1);
  EXPECT_FLOAT(doc, "j", -0.0);
  EXPECT_FLOAT(doc, "k", 1e10);
  EXPECT_FLOAT(doc, "l", 0.0);
  EXPECT_FLOAT(doc, "m", 2.5e3);
  EXPECT_FLOAT(doc, "n", 0.0); /* underflow: the nearest double */
  toml_destroy(&doc);
}

static void test_inf_and_nan_are_floats(void) {
  struct toml_doc *doc = PARSE("a = inf\nb = +inf\nc = -inf\nd = nan\ne = -nan\nf = +nan\n");
  EXPECT_FLOAT(doc, "a", INFINITY);
  EXPECT_FLOAT(doc, "b", INFINITY);
  EXPECT_FLOAT(doc, "c", -INFINITY);
  const char *nans[] = {"d", "e", "f"};
  for (int i = 0; i < 3; i++) {
    const struct toml_value *v = VALUE(doc, nans[i], TOML_FLOAT);
    EXPECT(v != NULL && isnan(v->number), "expected %s = nan", nans[i]);
  }
  toml_destroy(&doc);
}

static void test_true_and_false_are_booleans(void) {
  struct toml_doc *doc = PARSE("t = true\nf = false\n");
  const struct toml_value *t = VALUE(doc, "t", TOML_BOOL), *f = VALUE(doc, "f", TOML_BOOL);
  EXPECT(t != NULL && t->boolean, "expected t = true");
  EXPECT(f != NULL && !f->boolean, "expected f = false");
  toml_destroy(&doc);
}

static void test_basic_string_escapes_decode(void) {
  struct toml_doc *doc =
      PARSE("s = \"a\\bb\\tc\\nd\\fe\\rf\\\"g\\\\h\"\nempty = \"\"\ntab = \"x\ty\"\n");
  EXPECT_STRING(doc, "s", "a\bb\tc\nd\fe\rf\"g\\h");
  EXPECT_STRING(doc, "empty", "");
  EXPECT_STRING(doc, "tab", "x\ty");
  toml_destroy(&doc);
}

static void test_unicode_escapes_become_utf8(void) {
  struct toml_doc *doc = PARSE("a = \"\\u00e9\"\nb = \"\\U0001F600\"\nc = \"\\u20AC\"\n"
                               "d = \"x\\u0000y\"\ne = \"\\U0010FFFF\"\nf = \"\\uE000\"\n");
  EXPECT_STRING(doc, "a", "\xC3\xA9");
  EXPECT_STRING(doc, "b", "\xF0\x9F\x98\x80");
  EXPECT_STRING(doc, "c", "\xE2\x82\xAC");
  expect_string_at(doc, "d", "x\0y", 3, __LINE__); /* a NUL inside: string_len says so */
  EXPECT_STRING(doc, "e", "\xF4\x8F\xBF\xBF");
  EXPECT_STRING(doc, "f", "\xEE\x80\x80");
  toml_destroy(&doc);
}

static void test_literal_strings_keep_backslashes(void) {
  struct toml_doc *doc =
      PARSE("path = 'C:\\new\\table'\nq = 'say \"hi\"'\nu = '\xC3\xA9t\xC3\xA9'\n");
  EXPECT_STRING(doc, "path", "C:\\new\\table");
  EXPECT_STRING(doc, "q", "say \"hi\"");
  EXPECT_STRING(doc, "u", "\xC3\xA9t\xC3\xA9");
  toml_destroy(&doc);
}

static void test_raw_text_is_the_value_as_written(void) {
  struct toml_doc *doc = PARSE("a = \"x y\"   # comment\nb = 1_0.5e1\nc = [1,\n  2]\n[t]\n");
  const struct toml_entry *a = entry(doc, "a"), *b = entry(doc, "b"), *c = entry(doc, "c"),
                          *t = entry(doc, "t");
  EXPECT(a && strcmp(a->raw, "\"x y\"") == 0 && a->raw_len == 5, "expected raw \"x y\", got %s",
         a ? a->raw : "");
  EXPECT(b && strcmp(b->raw, "1_0.5e1") == 0, "expected raw 1_0.5e1, got %s", b ? b->raw : "");
  EXPECT(c && strcmp(c->raw, "[1,\n  2]") == 0, "expected the array's raw text, got %s",
         c ? c->raw : "");
  EXPECT(t && strcmp(t->raw, "[t]") == 0, "expected raw [t], got %s", t ? t->raw : "");
  toml_destroy(&doc);
}

static void test_crlf_and_bom_are_accepted(void) {
  struct toml_doc *doc = PARSE("\xEF\xBB\xBF"
                               "a = 1\r\n[s]\r\nb = \"x\" # c\r\n\r\nc = [1,\r\n2]\r\nd = 4");
  EXPECT_INTEGER(doc, "a", 1);
  EXPECT_STRING(doc, "s.b", "x");
  const struct toml_entry *c = entry(doc, "s.c"), *d = entry(doc, "s.d");
  EXPECT(c && c->value.nitems == 2 && c->line == 5, "expected s.c with 2 items on line 5");
  EXPECT(d && d->line == 7, "expected s.d on line 7, got %d", d ? d->line : 0);
  toml_destroy(&doc);
}

static void test_comments_anywhere_a_line_may_end(void) {
  struct toml_doc *doc = PARSE("# head\n  # indented\n[grid] # a table\nnx = 4 # four\n"
                               "arr = [ # open\n  1, # one\n  # alone\n  2 # two\n] # close\n"
                               "s = \"# not a comment\"\n#last");
  EXPECT_INTEGER(doc, "grid.nx", 4);
  const struct toml_value *arr = VALUE(doc, "grid.arr", TOML_INT_ARRAY);
  EXPECT(arr && arr->nitems == 2 && arr->items[0] == 1 && arr->items[1] == 2,
         "expected grid.arr = [1, 2]");
  EXPECT_STRING(doc, "grid.s", "# not a comment");
  toml_destroy(&doc);
}

static void test_tables_and_dotted_keys_give_full_keys(void) {
  struct toml_doc *doc = PARSE("top = 1\ngrid.nx = 4\n[solver]\ntolerance = 1e-4\n"
                               "[a.b]\nc.d = 2\n[a]\nx = 3\n");
  const struct {
    const char *key;
    int nparts;
    size_t head_len;
    int line;
    enum toml_type type;
  } want[] = {{"top", 1, 3, 1, TOML_INTEGER},  {"grid.nx", 2, 4, 2, TOML_INTEGER},
              {"solver", 1, 6, 3, TOML_TABLE}, {"solver.tolerance", 2, 6, 4, TOML_FLOAT},
              {"a.b", 2, 1, 5, TOML_TABLE},    {"a.b.c.d", 4, 1, 6, TOML_INTEGER},
              {"a", 1, 1, 7, TOML_TABLE},      {"a.x", 2, 1, 8, TOML_INTEGER}};
  size_t n = sizeof want / sizeof want[0];
  EXPECT(doc && doc->nentries == n, "expected %zu entries, got %zu", n, doc ? doc->nentries : 0);
  for (size_t i = 0; doc && i < n && i < doc->nentries; i++) {
    const struct toml_entry *e = &doc->entries[i];
    EXPECT(strcmp(e->key, want[i].key) == 0 && e->nparts == want[i].nparts &&
               e->head_len == want[i].head_len && e->line == want[i].line &&
               e->value.type == want[i].type,
           "entry %zu: expected %s (%d parts, head %zu, line %d, type %d), got %s (%d, %zu, %d, "
           "%d)",
           i, want[i].key, want[i].nparts, want[i].head_len, want[i].line, want[i].type, e->key,
           e->nparts, e->head_len, e->line, e->value.type);
  }
  toml_destroy(&doc);
}

/* The real plates' edges: [boundary] has keys of its own and sub-tables [boundary.bottom], and
 * a dotted key under [boundary] reaches the same flat key as the sub-table does. cfg looks
 * entries up by the full key, with the section as head_len's first part. */
static void test_subtables_beside_their_parents_keys(void) {
  struct toml_doc *doc = PARSE("[boundary]\n"            /* 1 */
                               "ambient = 20.0\n"        /* 2 */
                               "[boundary.bottom]\n"     /* 3 */
                               "kind = \"convective\"\n" /* 4 */
                               "h = 10\n"                /* 5 */
                               "[boundary.top]\n"        /* 6 */
                               "kind = \"held\"\n"       /* 7 */
                               "[boundary.left]\n"       /* 8 */
                               "flux.value = 1.5\n"      /* 9 */
                               "[solver]\n"              /* 10 */
                               "tolerance = 1e-6\n");    /* 11 */
  const struct {
    const char *key;
    int nparts, line;
    enum toml_type type;
  } want[] = {{"boundary", 1, 1, TOML_TABLE},
              {"boundary.ambient", 2, 2, TOML_FLOAT},
              {"boundary.bottom", 2, 3, TOML_TABLE},
              {"boundary.bottom.kind", 3, 4, TOML_STRING},
              {"boundary.bottom.h", 3, 5, TOML_INTEGER},
              {"boundary.top", 2, 6, TOML_TABLE},
              {"boundary.top.kind", 3, 7, TOML_STRING},
              {"boundary.left", 2, 8, TOML_TABLE},
              {"boundary.left.flux.value", 4, 9, TOML_FLOAT},
              {"solver", 1, 10, TOML_TABLE},
              {"solver.tolerance", 2, 11, TOML_FLOAT}};
  size_t n = sizeof want / sizeof want[0];
  EXPECT(doc && doc->nentries == n, "expected %zu entries, got %zu", n, doc ? doc->nentries : 0);
  for (size_t i = 0; doc && i < n && i < doc->nentries; i++) {
    const struct toml_entry *e = &doc->entries[i];
    EXPECT(strcmp(e->key, want[i].key) == 0 && e->nparts == want[i].nparts &&
               e->line == want[i].line && e->value.type == want[i].type &&
               e->head_len == strcspn(e->key, ".") && e->array_index == 0,
           "entry %zu: expected %s (%d parts, line %d, type %d), got %s (%d, %d, %d)", i,
           want[i].key, want[i].nparts, want[i].line, want[i].type, e->key, e->nparts, e->line,
           e->value.type);
  }
  EXPECT_STRING(doc, "boundary.bottom.kind", "convective");
  toml_destroy(&doc);

  /* The same keys by dotted keys under [boundary], and the sub-table before its parent. */
  doc = PARSE("[boundary.bottom]\nkind = \"flux\"\n[boundary]\nambient = 1\n"
              "top.kind = \"held\"\n\"left\".'kind' = \"insulated\"\n");
  EXPECT_STRING(doc, "boundary.bottom.kind", "flux");
  EXPECT_INTEGER(doc, "boundary.ambient", 1);
  EXPECT_STRING(doc, "boundary.top.kind", "held");
  EXPECT_STRING(doc, "boundary.left.kind", "insulated");
  const struct toml_entry *e = entry(doc, "boundary.top.kind");
  EXPECT(e && e->nparts == 3 && e->head_len == 8 && e->line == 5,
         "expected boundary.top.kind: 3 parts, head 8, line 5");
  toml_destroy(&doc);

  /* TOML's rules: one edge is defined once, by a header or by dotted keys, not both. */
  EXPECT_ERROR("[boundary.bottom]\nkind = 1\n[boundary.bottom]\n",
               "x.toml:3: duplicate table [boundary.bottom] (first defined on line 1)");
  EXPECT_ERROR("[boundary]\nbottom.kind = 1\n[boundary.bottom]\n",
               "x.toml:3: duplicate table [boundary.bottom] (first defined by dotted keys on "
               "line 2)");
  EXPECT_ERROR("[boundary.bottom]\nkind = 1\n[boundary]\nbottom.h = 2\n",
               "x.toml:4: key boundary.bottom.h adds to table [boundary.bottom], defined on line "
               "1");
  EXPECT_ERROR("[boundary]\nbottom = \"held\"\n[boundary.bottom]\n",
               "x.toml:3: [boundary.bottom] is already a value (set on line 2)");
}

static void test_quoted_keys_are_shown_bare_when_they_can_be(void) {
  struct toml_doc *doc = PARSE("\"solver\".'tolerance' = 1.0\n\"a.b\" = 1\n\"\" = 2\n"
                               "'q\"t' = 3\n\"sp ace\".x = 4\n");
  EXPECT(entry(doc, "solver.tolerance") != NULL, "expected the key solver.tolerance");
  const struct toml_entry *e = entry(doc, "\"a.b\"");
  EXPECT(e && e->nparts == 1 && e->head_len == 5, "expected one part \"a.b\", quoted");
  EXPECT(entry(doc, "\"\"") != NULL, "expected the empty key shown as \"\"");
  EXPECT(entry(doc, "\"q\\\"t\"") != NULL, "expected the key q\"t shown escaped");
  e = entry(doc, "\"sp ace\".x");
  EXPECT(e && e->nparts == 2 && e->head_len == 8, "expected \"sp ace\".x, head 8");
  toml_destroy(&doc);
}

static void test_blanks_around_dots_equals_and_brackets(void) {
  struct toml_doc *doc = PARSE("  [ solver . sub ]  \n\ta . b\t=\t1\t\n");
  EXPECT_INTEGER(doc, "solver.sub.a.b", 1);
  toml_destroy(&doc);
}

static void test_arrays_over_lines_with_trailing_comma(void) {
  struct toml_doc *doc =
      PARSE("a = [1, 2]\nb = [\n  3,\n  -4,\n]\nc = []\nd = [ 1_0 ,+2 ]\ne = [\n\n]\n");
  const struct toml_value *a = VALUE(doc, "a", TOML_INT_ARRAY),
                          *b = VALUE(doc, "b", TOML_INT_ARRAY),
                          *c = VALUE(doc, "c", TOML_INT_ARRAY),
                          *d = VALUE(doc, "d", TOML_INT_ARRAY),
                          *e = VALUE(doc, "e", TOML_INT_ARRAY);
  EXPECT(a && a->nitems == 2 && a->items[0] == 1 && a->items[1] == 2, "expected a = [1, 2]");
  EXPECT(b && b->nitems == 2 && b->items[0] == 3 && b->items[1] == -4, "expected b = [3, -4]");
  EXPECT(c && c->nitems == 0, "expected c = []");
  EXPECT(d && d->nitems == 2 && d->items[0] == 10 && d->items[1] == 2, "expected d = [10, 2]");
  EXPECT(e && e->nitems == 0, "expected e = []");
  EXPECT(entry(doc, "b") && entry(doc, "b")->line == 2, "expected b on line 2 (its key)");
  EXPECT(entry(doc, "c") && entry(doc, "c")->line == 6, "expected c on line 6");
  toml_destroy(&doc);
}

static void test_empty_and_comment_only_documents(void) {
  const char *texts[] = {"", "\n\n", "# nothing\n   \n\t# more", "\xEF\xBB\xBF"};
  for (int i = 0; i < 4; i++) {
    struct toml_doc *doc = PARSE(texts[i]);
    EXPECT(doc && doc->nentries == 0, "expected no entries in text %d", i);
    toml_destroy(&doc);
  }
}

static void test_text_need_not_end_with_nul(void) {
  /* parse_at copies to an exact-size buffer: any read past len is an ASan error. */
  const char *texts[] = {"a = 1",    "a = \"x\"", "a = 'x'",  "a = [1, 2]",     "[t]",
                         "a = true", "a = 1.5e3", "a.b = -0", "a = \"\\u00e9\""};
  for (int i = 0; i < 9; i++) {
    struct toml_doc *doc = PARSE(texts[i]);
    EXPECT(doc && doc->nentries == 1, "expected one entry in %s", texts[i]);
    toml_destroy(&doc);
  }
  const char *bad[] = {"a = \"x", "a = 'x", "a = [1", "[t",      "a = \"\\u00e",
                       "a =",     "a",      "a = 1e", "a = \"\\"};
  for (int i = 0; i < 9; i++)
    EXPECT_ERROR(bad[i], "x.toml:1:");
}

static void test_one_mib_of_keys_parses(void) {
  size_t n = 100000;
  char *text = malloc(n * 16), *q = text;
  for (size_t i = 0; i < n; i++)
    q += sprintf(q, "k%zu = %zu\n", i, i);
  struct toml_doc *doc = parse_at(text, (size_t)(q - text), __LINE__);
  EXPECT(doc && doc->nentries == n, "expected %zu entries, got %zu", n, doc ? doc->nentries : 0);
  EXPECT_INTEGER(doc, "k99999", 99999);
  toml_destroy(&doc);
  free(text);
}

/* Many inline tables inside one array: each is a key-tree node no key reaches, kept out of the
 * look-up map (in it, they once made this quadratic: 89 s for 3.4 MB, now 1.5 s). */
static void test_many_inline_tables_in_arrays_parse(void) {
  size_t n = 100000;
  char *text = repeat("a = [", "{ x = 1, y = [2.5] }, ", n, "]\nb = { c = 3 }\n");
  struct toml_doc *doc = parse_at(text, strlen(text), __LINE__);
  const struct toml_value *v = VALUE(doc, "a", TOML_ARRAY);
  EXPECT(v && v->nitems == n && v->values[n - 1].nmembers == 2 &&
             v->values[n - 1].members[1].value.values[0].number == 2.5,
         "expected %zu tables, the last { x = 1, y = [2.5] }", n);
  EXPECT_INTEGER(doc, "b.c", 3);
  toml_destroy(&doc);
  free(text);
}

/* ---- one value ------------------------------------------------------------------------------- */

static void test_parse_value_reads_one_value(void) {
  const char *text = "  [2, 3]\t";
  struct toml_doc *doc = NULL;
  err_clear();
  CU_ASSERT_EQUAL_FATAL(toml_parse_value(text, strlen(text), "--set x", &doc), ERR_OK);
  const struct toml_entry *e = &doc->entries[0];
  EXPECT(doc->nentries == 1 && e->nparts == 0 && strcmp(e->key, "") == 0, "expected one entry");
  EXPECT(strcmp(e->raw, "[2, 3]") == 0, "expected raw [2, 3], got %s", e->raw);
  EXPECT(e->value.type == TOML_INT_ARRAY && e->value.nitems == 2 && e->value.items[1] == 3,
         "expected [2, 3]");
  toml_destroy(&doc);
  CU_ASSERT_PTR_NULL(doc);
  CU_ASSERT_EQUAL(toml_parse_value("'x'", 3, "--set x", &doc), ERR_OK);
  toml_destroy(&doc);
}

static void test_parse_value_errors_name_the_value(void) {
  struct toml_doc *doc = NULL;
  err_clear();
  CU_ASSERT_EQUAL(toml_parse_value("1 2", 3, "--set a.b=1 2", &doc), ERR_CONFIG);
  CU_ASSERT_PTR_NULL(doc);
  EXPECT(strcmp(err_message(), "--set a.b=1 2: expected the end of the value after 1, got \"2\"") ==
             0,
         "got: %s", err_message());
  err_clear();
  CU_ASSERT_EQUAL(toml_parse_value("", 0, "--set a.b=", &doc), ERR_CONFIG);
  EXPECT(strstr(err_message(), "expected a value, got end of the value") != NULL, "got: %s",
         err_message());
}

static void test_parse_value_without_name_records_nothing(void) {
  struct toml_doc *doc = NULL;
  err_clear();
  CU_ASSERT_EQUAL(toml_parse_value("abc", 3, NULL, &doc), ERR_CONFIG);
  CU_ASSERT_PTR_NULL(doc);
  CU_ASSERT_EQUAL(err_status(), ERR_OK);
  CU_ASSERT_STRING_EQUAL(err_message(), "");
}

/* ---- excerpts -------------------------------------------------------------------------------- */

static void test_excerpt_quotes_and_cuts_after_40_characters(void) {
  char buf[TOML_EXCERPT_SIZE];
  CU_ASSERT_STRING_EQUAL(toml_excerpt("abc", 3, buf), "\"abc\"");
  CU_ASSERT_STRING_EQUAL(toml_excerpt("\"abc\"", 5, buf), "\"abc\"");
  CU_ASSERT_STRING_EQUAL(toml_excerpt("", 0, buf), "\"\"");
  CU_ASSERT_STRING_EQUAL(toml_excerpt("[1,\n  2]", 8, buf), "\"[1, 2]\"");
  CU_ASSERT_STRING_EQUAL(toml_excerpt("a  b", 4, buf), "\"a  b\"");
  CU_ASSERT_STRING_EQUAL(toml_excerpt("a\xFF", 2, buf), "\"a?\"");
  const char *long_text = "0123456789012345678901234567890123456789XYZ";
  CU_ASSERT_STRING_EQUAL(toml_excerpt(long_text, strlen(long_text), buf),
                         "\"0123456789012345678901234567890123456789...\"");
  char *accents = repeat("", "\xC3\xA9", 100, "");
  toml_excerpt(accents, strlen(accents), buf);
  EXPECT(strlen(buf) == 2 + 80 + 3, "expected 40 two-byte characters, got %s", buf);
  free(accents);
}

static void test_huge_line_gives_a_short_message(void) {
  char *text = repeat("a = 1 ", "x", 100000, "\n");
  EXPECT_ERROR(text, "x.toml:1: expected the end of the line after the value of a, got \"xxx",
               "xxx...\"");
  EXPECT(strlen(err_message()) < 200, "expected a short message, got %zu bytes",
         strlen(err_message()));
  free(text);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_unterminated_strings_name_their_line(void) {
  EXPECT_ERROR("a = 1\nb = \"abc\nc = 2\n", "x.toml:2:", "unterminated string", "\"abc");
  EXPECT_ERROR("a = 'abc\n", "x.toml:1:", "unterminated string", "closing '");
  EXPECT_ERROR("a = \"abc\\\"\n", "x.toml:1:", "unterminated string");
  EXPECT_ERROR("\"key = 1\n", "x.toml:1:", "unterminated string");
}

static void test_bad_escapes_are_errors(void) {
  EXPECT_ERROR("a = 1\nb = \"x\\qy\"\n", "x.toml:2:", "invalid escape", "got \"\\q\"");
  EXPECT_ERROR("a = \"\\x41\"\n", "x.toml:1:", "invalid escape", "\\uXXXX");
  EXPECT_ERROR("a = \"\\e\"\n", "invalid escape");
  EXPECT_ERROR("a = \"\\ \"\n", "invalid escape");
  EXPECT_ERROR("a = \"x\\\n", "x.toml:1:", "invalid escape");
  EXPECT_ERROR("a = \"\\u12\"\n", "x.toml:1:", "\\u needs exactly 4 hex digits");
  EXPECT_ERROR("a = \"\\U0001F60\"\n", "\\U needs exactly 8 hex digits");
  EXPECT_ERROR("a = \"\\u12G4\"\n", "needs exactly 4 hex digits");
}

static void test_unicode_escapes_must_be_scalar_values(void) {
  EXPECT_ERROR("a = \"\\uD800\"\n", "x.toml:1:", "U+D800 is not a Unicode scalar value",
               "got \"\\uD800\"");
  EXPECT_ERROR("a = \"\\uDFFF\"\n", "U+DFFF is not a Unicode scalar value");
  EXPECT_ERROR("a = \"\\U00110000\"\n", "U+110000 is not a Unicode scalar value");
  EXPECT_ERROR("a = \"\\UFFFFFFFF\"\n", "is not a Unicode scalar value");
}

static void test_duplicate_key_names_both_lines(void) {
  EXPECT_ERROR("[solver]\ntolerance = 1e-4\nmax_iterations = 5\ntolerance = 1e-6\n",
               "x.toml:4: duplicate key solver.tolerance (first set on line 2)");
  EXPECT_ERROR("a.b = 1\na.b = 2\n", "x.toml:2: duplicate key a.b (first set on line 1)");
  EXPECT_ERROR("a = 1\n'a' = 2\n", "x.toml:2: duplicate key a (first set on line 1)");
}

static void test_duplicate_table_names_both_lines(void) {
  EXPECT_ERROR("[grid]\nnx = 1\n[solver]\n[grid]\n",
               "x.toml:4: duplicate table [grid] (first defined on line 1)");
  EXPECT_ERROR("[a.b]\n[a]\n[a.b]\n", "x.toml:3: duplicate table [a.b] (first defined on line 1)");
  EXPECT_ERROR("[a]\nb.c = 1\n[a.b]\n",
               "x.toml:3: duplicate table [a.b] (first defined by dotted keys on line 2)");
}

static void test_implicit_tables_may_be_defined_once(void) {
  struct toml_doc *doc = PARSE("[a.b]\nx = 1\n[a]\ny = 2\n[a.c]\n");
  EXPECT_INTEGER(doc, "a.b.x", 1);
  EXPECT_INTEGER(doc, "a.y", 2);
  toml_destroy(&doc);
  doc = PARSE("[fruit]\napple.color = 1\n[fruit.apple.texture]\nsmooth = true\n");
  EXPECT(entry(doc, "fruit.apple.texture.smooth") != NULL, "expected a sub-table of a dotted one");
  toml_destroy(&doc);
}

static void test_key_cannot_be_both_table_and_value(void) {
  EXPECT_ERROR("a = 1\n[a]\n",
               "x.toml:2: [a] is already a value (set on line 1); it cannot also be a table");
  EXPECT_ERROR("a = 1\n[a.b]\n", "x.toml:2: [a.b] needs a to be a table, but it is a value");
  EXPECT_ERROR("a = 1\na.b = 2\n",
               "x.toml:2: key a.b needs a to be a table, but it is a value (set on line 1)");
  EXPECT_ERROR("a.b = 1\na = 2\n", "x.toml:2: key a is already a table (defined on line 1)");
  EXPECT_ERROR("[x.y]\n[x]\ny = 1\n", "x.toml:3: key x.y is already a table (defined on line 1)");
  EXPECT_ERROR("[x.y]\n[x]\ny.z = 1\n", "x.toml:3: key x.y.z adds to table [x.y]");
}

static void test_missing_equals_and_missing_value(void) {
  EXPECT_ERROR("[grid]\nnx 4\n", "x.toml:2: expected \"=\" after the key nx, got \"4\"");
  EXPECT_ERROR("nx\n", "x.toml:1: expected \"=\" after the key nx, got end of line");
  EXPECT_ERROR("nx =\n", "x.toml:1: expected a value after \"nx =\", got end of line");
  EXPECT_ERROR("nx = # four\n", "x.toml:1: expected a value after \"nx =\"");
  EXPECT_ERROR("nx = ", "x.toml:1: expected a value after \"nx =\", got end of file");
  EXPECT_ERROR("= 4\n", "x.toml:1: expected a key", "got \"= 4\"");
  EXPECT_ERROR("a. = 4\n", "x.toml:1: expected a key");
  EXPECT_ERROR("[]\n", "x.toml:1: expected a key");
}

static void test_trailing_garbage_after_a_value(void) {
  EXPECT_ERROR("[grid]\nnx = 4 4\n",
               "x.toml:2: expected the end of the line after the value of grid.nx, got \"4\"");
  EXPECT_ERROR("a = \"x\" y\n", "x.toml:1: expected the end of the line", "got \"y\"");
  EXPECT_ERROR("a = [1] 2\n", "expected the end of the line after the value of a");
  EXPECT_ERROR("a = true1\n", "x.toml:1:");
  EXPECT_ERROR("a = 1,\n", "expected the end of the line", "got \",\"");
  EXPECT_ERROR("[grid] nx = 4\n",
               "x.toml:1: expected the end of the line after the table header [grid]");
  EXPECT_ERROR("[grid]]\n", "x.toml:1: expected the end of the line");
  EXPECT_ERROR("[gr id]\n", "x.toml:1: expected \"]\" after [gr", "got \"id]\"");
}

static void test_invalid_utf8_reports_its_line(void) {
  EXPECT_ERROR("a = 1\nb = \"\xC3\x28\"\n", "x.toml:2: invalid UTF-8 (byte 0xC3 at column 6)");
  EXPECT_ERROR("# \xFF\n", "x.toml:1: invalid UTF-8");
  EXPECT_ERROR("a = '\xC0\xAF'\n", "invalid UTF-8");         /* overlong '/' */
  EXPECT_ERROR("a = '\xE0\x80\xAF'\n", "invalid UTF-8");     /* overlong, 3 bytes */
  EXPECT_ERROR("a = '\xED\xA0\x80'\n", "invalid UTF-8");     /* a surrogate */
  EXPECT_ERROR("a = '\xF4\x90\x80\x80'\n", "invalid UTF-8"); /* above U+10FFFF */
  EXPECT_ERROR("a = '\xF5\x80\x80\x80'\n", "invalid UTF-8");
  EXPECT_ERROR("\n\na = '\xE2\x82", "x.toml:3: invalid UTF-8"); /* cut short at the end */
  EXPECT_ERROR("\xEF\xBB", "invalid UTF-8");                    /* half a BOM */
}

static void test_control_characters_are_rejected(void) {
  EXPECT_ERROR("a = \"x\x01y\"\n", "x.toml:1: control character U+0001 at column 7", "\\u0001");
  EXPECT_ERROR("a = 1\n# bell \x07\n", "x.toml:2: control character U+0007");
  EXPECT_ERROR("a = '\x7F'\n", "control character U+007F");
  EXPECT_ERROR_N("a = 1\0\n", 7, "x.toml:1: control character U+0000");
  EXPECT_ERROR("a = 1\rb = 2\n", "x.toml:1: carriage return (U+000D) without a newline");
  EXPECT_ERROR("a = \"x\x1By\"\n", "control character U+001B");
}

/* ---- TOML 1.0 beyond jacobi's first needs ---------------------------------------------------- */

static void test_multiline_basic_strings(void) {
  struct toml_doc *doc = PARSE("a = \"\"\"\none\ntwo\"\"\"\n"                /* 1-3 */
                               "b = \"\"\"tab\\there \\\n    joined\"\"\"\n" /* 4-5 */
                               "c = \"\"\"\"quoted\"\"\"\"\"\n"              /* 6 */
                               "d = \"\"\"crlf\r\nend\"\"\"\n"               /* 7-8 */
                               "e = \"\"\"\\\n\n   \\u00e9\"\"\"\n"          /* 9-11 */
                               "f = 1\n");                                   /* 12 */
  EXPECT_STRING(doc, "a", "one\ntwo");
  EXPECT_STRING(doc, "b", "tab\there joined");
  EXPECT_STRING(doc, "c", "\"quoted\"\"");
  EXPECT_STRING(doc, "d", "crlf\nend");
  EXPECT_STRING(doc, "e", "\xC3\xA9");
  const struct toml_entry *e = entry(doc, "f");
  EXPECT(e && e->line == 12, "expected f on line 12 after the multi-line strings, got %d",
         e ? e->line : 0);
  e = entry(doc, "b");
  EXPECT(e && e->line == 4 && strcmp(e->raw, "\"\"\"tab\\there \\\n    joined\"\"\"") == 0,
         "expected b on line 4 with its raw text over two lines");
  toml_destroy(&doc);
}

static void test_multiline_literal_strings(void) {
  struct toml_doc *doc = PARSE("a = '''\nC:\\path\\n\n  kept'''\nb = ''''x'''''\nc = ''''''\n");
  EXPECT_STRING(doc, "a", "C:\\path\\n\n  kept");
  EXPECT_STRING(doc, "b", "'x''");
  EXPECT_STRING(doc, "c", "");
  toml_destroy(&doc);
}

static void test_multiline_string_errors(void) {
  EXPECT_ERROR("a = 1\nb = \"\"\"open\n\nstill\n",
               "x.toml:2: unterminated multi-line string: expected a closing \"\"\", got end of "
               "file");
  EXPECT_ERROR("a = '''open", "x.toml:1: unterminated multi-line string: expected a closing '''");
  EXPECT_ERROR("a = \"\"\"x\"\"\"\"\"\"\n", "x.toml:1: too many quotes");
  EXPECT_ERROR("a = \"\"\"\nline\n\\q\"\"\"\n", "x.toml:3: invalid escape in a string");
  EXPECT_ERROR("\"\"\"k\"\"\" = 1\n", "a key cannot be a multi-line string");
}

static void test_hex_octal_and_binary_integers(void) {
  struct toml_doc *doc = PARSE("h = 0xDEAD_beef\no = 0o755\nb = 0b1101\nz = 0x0\n"
                               "max = 0x7FFFFFFFFFFFFFFF\n");
  EXPECT_INTEGER(doc, "h", 0xDEADBEEF);
  EXPECT_INTEGER(doc, "o", 0755);
  EXPECT_INTEGER(doc, "b", 13);
  EXPECT_INTEGER(doc, "z", 0);
  EXPECT_INTEGER(doc, "max", INT64_MAX);
  toml_destroy(&doc);
  const char *bad[][2] = {
      {"+0x1", "takes no sign"},      {"-0o7", "takes no sign"},
      {"0x", "a digit was expected"}, {"0xG1", "a hexadecimal digit"},
      {"0o8", "an octal digit"},      {"0b102", "a binary digit"},
      {"0x_1", "underscore"},         {"0x1__2", "underscore"},
      {"0X1", "not a number"},        {"0x8000000000000000", "integer out of range"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[64];
    snprintf(text, sizeof text, "[t]\nn = %s\n", bad[i][0]);
    EXPECT_ERROR(text, "x.toml:2:", bad[i][1]);
  }
}

/* jacobi's first array beyond integers: the time issue's output times. */
static void test_arrays_of_floats_strings_and_mixed(void) {
  struct toml_doc *doc = PARSE("[time]\noutput_times = [0.5, 1.0, 2.0]\nmixed = [1, 2.5, \"x\"]\n"
                               "names = ['a', \"b\"]\nempty = []\nints = [3, 4]\n");
  const struct toml_value *v = VALUE(doc, "time.output_times", TOML_ARRAY);
  EXPECT(v && v->nitems == 3 && v->values[0].type == TOML_FLOAT && v->values[0].number == 0.5 &&
             v->values[2].number == 2.0,
         "expected [0.5, 1.0, 2.0]");
  v = VALUE(doc, "time.mixed", TOML_ARRAY);
  EXPECT(v && v->nitems == 3 && v->values[0].type == TOML_INTEGER && v->values[0].integer == 1 &&
             v->values[1].type == TOML_FLOAT && v->values[2].type == TOML_STRING &&
             strcmp(v->values[2].string, "x") == 0,
         "expected [1, 2.5, \"x\"] with each element's own type");
  v = VALUE(doc, "time.names", TOML_ARRAY);
  EXPECT(v && v->nitems == 2 && strcmp(v->values[1].string, "b") == 0, "expected ['a', \"b\"]");
  v = VALUE(doc, "time.empty", TOML_INT_ARRAY); /* as before: an empty array is one of integers */
  EXPECT(v && v->nitems == 0, "expected an empty array");
  v = VALUE(doc, "time.ints", TOML_INT_ARRAY); /* both views of an array of integers */
  EXPECT(v && v->nitems == 2 && v->items[1] == 4 && v->values[1].type == TOML_INTEGER &&
             v->values[1].integer == 4,
         "expected [3, 4] as items and as values");
  const struct toml_entry *e = entry(doc, "time.output_times");
  EXPECT(e && strcmp(e->raw, "[0.5, 1.0, 2.0]") == 0, "expected the raw text");
  toml_destroy(&doc);
}

static void test_nested_arrays(void) {
  struct toml_doc *doc = PARSE("a = [[1, 2], [3.5], [], [[\"deep\"]]]\n");
  const struct toml_value *v = VALUE(doc, "a", TOML_ARRAY);
  EXPECT(v && v->nitems == 4, "expected four elements");
  if (v && v->nitems == 4) {
    EXPECT(v->values[0].type == TOML_INT_ARRAY && v->values[0].nitems == 2 &&
               v->values[0].items[1] == 2,
           "expected [1, 2]");
    EXPECT(v->values[1].type == TOML_ARRAY && v->values[1].values[0].number == 3.5,
           "expected [3.5]");
    EXPECT(v->values[2].type == TOML_INT_ARRAY && v->values[2].nitems == 0, "expected []");
    const struct toml_value *inner = &v->values[3];
    EXPECT(inner->type == TOML_ARRAY && inner->nitems == 1 && inner->values[0].nitems == 1 &&
               strcmp(inner->values[0].values[0].string, "deep") == 0,
           "expected [[\"deep\"]]");
  }
  toml_destroy(&doc);
}

/* An inline table reads as if it were written as a [table]: its entry, then its keys'. */
static void test_inline_tables_read_as_tables(void) {
  struct toml_doc *doc = PARSE("[boundary]\n"
                               "bottom = { kind = \"convective\", h = 10, far.t = 20.5 }\n"
                               "top = {}\n"
                               "left = { flux = { value = 1 } }\n");
  const struct {
    const char *key;
    int nparts;
    enum toml_type type;
  } want[] = {{"boundary", 1, TOML_TABLE},
              {"boundary.bottom", 2, TOML_TABLE},
              {"boundary.bottom.kind", 3, TOML_STRING},
              {"boundary.bottom.h", 3, TOML_INTEGER},
              {"boundary.bottom.far.t", 4, TOML_FLOAT},
              {"boundary.top", 2, TOML_TABLE},
              {"boundary.left", 2, TOML_TABLE},
              {"boundary.left.flux", 3, TOML_TABLE},
              {"boundary.left.flux.value", 4, TOML_INTEGER}};
  size_t n = sizeof want / sizeof want[0];
  EXPECT(doc && doc->nentries == n, "expected %zu entries, got %zu", n, doc ? doc->nentries : 0);
  for (size_t i = 0; doc && i < n && i < doc->nentries; i++) {
    const struct toml_entry *e = &doc->entries[i];
    EXPECT(strcmp(e->key, want[i].key) == 0 && e->nparts == want[i].nparts &&
               e->value.type == want[i].type && e->head_len == 8,
           "entry %zu: expected %s (%d parts, type %d), got %s (%d, %d)", i, want[i].key,
           want[i].nparts, want[i].type, e->key, e->nparts, e->value.type);
  }
  const struct toml_entry *e = entry(doc, "boundary.bottom");
  EXPECT(e && e->line == 2 &&
             strcmp(e->raw, "{ kind = \"convective\", h = 10, far.t = 20.5 }") == 0,
         "expected the inline table's raw text and line");
  toml_destroy(&doc);
}

static void test_inline_tables_inside_arrays_have_their_own_entries(void) {
  struct toml_doc *doc = PARSE("points = [{ x = 1, y.z = 2 }, {}, { x = 3, w = [{ q = 'a' }] }]\n"
                               "after = 1\n");
  const struct toml_value *v = VALUE(doc, "points", TOML_ARRAY);
  EXPECT(v && v->nitems == 3, "expected three tables");
  if (v && v->nitems == 3) {
    const struct toml_value *t = &v->values[0];
    EXPECT(t->type == TOML_TABLE && t->nmembers == 2 && strcmp(t->members[0].key, "x") == 0 &&
               t->members[0].value.integer == 1 && strcmp(t->members[1].key, "y.z") == 0 &&
               t->members[1].nparts == 2 && t->members[1].head_len == 1,
           "expected { x = 1, y.z = 2 } with keys relative to it");
    EXPECT(v->values[1].type == TOML_TABLE && v->values[1].nmembers == 0, "expected {}");
    t = &v->values[2];
    EXPECT(t->type == TOML_TABLE && t->nmembers == 2 && strcmp(t->members[1].key, "w") == 0 &&
               t->members[1].value.type == TOML_ARRAY &&
               t->members[1].value.values[0].nmembers == 1 &&
               strcmp(t->members[1].value.values[0].members[0].value.string, "a") == 0,
           "expected w = [{ q = 'a' }] inside the third table");
  }
  EXPECT_INTEGER(doc, "after", 1);
  EXPECT(doc && doc->nentries == 2, "expected two top-level entries");
  toml_destroy(&doc);
}

static void test_inline_table_errors(void) {
  EXPECT_ERROR("a = { x = 1,\n y = 2 }\n", "x.toml:1: unterminated inline table",
               "takes no trailing comma");
  EXPECT_ERROR("a = { x = 1\n}\n", "x.toml:1: unterminated inline table", "ends with \"}\"");
  EXPECT_ERROR("a = { x = 1, }\n", "x.toml:1: a trailing comma is not allowed in an inline table");
  EXPECT_ERROR("a = { x = 1 y = 2 }\n", "x.toml:1: expected \",\" or \"}\" after a value");
  EXPECT_ERROR("a = { x = 1, x = 2 }\n", "x.toml:1: duplicate key a.x (first set on line 1)");
  EXPECT_ERROR("a = [{ x = 1, x = 2 }]\n", "x.toml:1: duplicate key x");
  EXPECT_ERROR("a = { x = 1 }\na.y = 2\n",
               "x.toml:2: key a.y: a is an inline table (set on line 1), which is complete as "
               "written; add the keys inside its { }");
  EXPECT_ERROR("a = { x = 1 }\n[a]\n", "x.toml:2: [a]: a is an inline table (set on line 1)");
  EXPECT_ERROR("a = { x = { y = 1 } }\n[a.x.z]\n", "x.toml:2: [a.x.z]: a is an inline table");
  EXPECT_ERROR("a = {}\n[[a]]\n", "x.toml:2: [[a]]: a is an inline table");
  EXPECT_ERROR("a = {}\na = 1\n", "x.toml:2: duplicate key a (first set on line 1)");
  EXPECT_ERROR("a = { b.c = 1, b = 2 }\n", "x.toml:1: key a.b is already a table");
}

/* [[fruit.variety]] and [fruit.physical] go into the last [[fruit]], as TOML says. */
static void test_arrays_of_tables_nest(void) {
  struct toml_doc *doc = PARSE("[[fruit]]\n"                /* 1 */
                               "name = \"apple\"\n"         /* 2 */
                               "[fruit.physical]\n"         /* 3 */
                               "color = \"red\"\n"          /* 4 */
                               "[[fruit.variety]]\n"        /* 5 */
                               "name = \"red delicious\"\n" /* 6 */
                               "[[fruit.variety]]\n"        /* 7 */
                               "name = \"granny smith\"\n"  /* 8 */
                               "[[fruit]]\n"                /* 9 */
                               "name = \"banana\"\n"        /* 10 */
                               "[[fruit.variety]]\n"        /* 11 */
                               "name = \"plantain\"\n");    /* 12 */
  const struct {
    const char *key;
    int line, array_index;
    enum toml_type type;
  } want[] = {{"fruit", 1, 1, TOML_TABLE_ARRAY_ITEM},
              {"fruit.name", 2, 1, TOML_STRING},
              {"fruit.physical", 3, 1, TOML_TABLE},
              {"fruit.physical.color", 4, 1, TOML_STRING},
              {"fruit.variety", 5, 1, TOML_TABLE_ARRAY_ITEM},
              {"fruit.variety.name", 6, 1, TOML_STRING},
              {"fruit.variety", 7, 2, TOML_TABLE_ARRAY_ITEM},
              {"fruit.variety.name", 8, 2, TOML_STRING},
              {"fruit", 9, 2, TOML_TABLE_ARRAY_ITEM},
              {"fruit.name", 10, 2, TOML_STRING},
              {"fruit.variety", 11, 1, TOML_TABLE_ARRAY_ITEM},
              {"fruit.variety.name", 12, 1, TOML_STRING}};
  size_t n = sizeof want / sizeof want[0];
  EXPECT(doc && doc->nentries == n, "expected %zu entries, got %zu", n, doc ? doc->nentries : 0);
  for (size_t i = 0; doc && i < n && i < doc->nentries; i++) {
    const struct toml_entry *e = &doc->entries[i];
    EXPECT(strcmp(e->key, want[i].key) == 0 && e->line == want[i].line &&
               e->array_index == want[i].array_index && e->value.type == want[i].type,
           "entry %zu: expected %s (line %d, element %d, type %d), got %s (%d, %d, %d)", i,
           want[i].key, want[i].line, want[i].array_index, want[i].type, e->key, e->line,
           e->array_index, e->value.type);
  }
  toml_destroy(&doc);
  /* Each element checks its own sub-tables. */
  EXPECT_ERROR("[[a]]\n[a.b]\n[a.b]\n",
               "x.toml:3: duplicate table [a.b] (first defined on line 2)");
  doc = PARSE("[[a]]\n[a.b]\n[[a]]\n[a.b]\n");
  EXPECT(doc && doc->nentries == 4, "expected [a.b] once in each element");
  toml_destroy(&doc);
  EXPECT_ERROR("a = [1]\n[[a.b]]\n", "x.toml:2: [[a.b]] needs a to be a table, but it is a value");
  EXPECT_ERROR("[[a]]\n[[a.b]]\n[a.b]\n", "x.toml:3: [a.b] is already an array of tables");
}

static void test_dates_and_times(void) {
  struct toml_doc *doc = PARSE("odt = 1979-05-27T07:32:00Z\nspace = 1979-05-27 07:32:00.5-07:00\n"
                               "lower = 1979-05-27t07:32:00z\nldt = 1979-05-27T00:32:00.999\n"
                               "ld = 2000-02-29\nlt = 23:59:60\n");
  const struct toml_value *v = VALUE(doc, "odt", TOML_DATETIME);
  EXPECT(v && strcmp(v->string, "1979-05-27T07:32:00Z") == 0, "expected the text as written");
  v = VALUE(doc, "space", TOML_DATETIME);
  EXPECT(v && strcmp(v->string, "1979-05-27 07:32:00.5-07:00") == 0,
         "expected a space between date and time, kept as written");
  VALUE(doc, "lower", TOML_DATETIME);
  VALUE(doc, "ldt", TOML_DATETIME_LOCAL);
  VALUE(doc, "ld", TOML_DATE_LOCAL);
  VALUE(doc, "lt", TOML_TIME_LOCAL);
  toml_destroy(&doc);
  const char *bad[][2] = {{"1979-13-01", "no such day"},
                          {"1999-02-29", "no such day"},
                          {"1979-04-31", "no such day"},
                          {"1979-5-27", "a date is YYYY-MM-DD"},
                          {"24:00:00", "out of range"},
                          {"07:32", "needs the seconds"},
                          {"07:32:00Z", "not a date or time"},
                          {"1979-05-27T07:32:00+7:00", "an offset is Z or +HH:MM"},
                          {"1979-05-27T07:32:00.", "needs digits after the '.'"},
                          {"1979-05-27X07:32:00", "a date-time is"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[80];
    snprintf(text, sizeof text, "a = 1\nd = %s\n", bad[i][0]);
    EXPECT_ERROR(text, "x.toml:2: invalid date or time", bad[i][1]);
  }
}

static void test_nesting_deeper_than_the_limit_is_refused(void) {
  /* TOML_MAX_DEPTH levels are read; one more is an error naming the line. */
  char *text = repeat("x = ", "[", TOML_MAX_DEPTH, "");
  char *closed = repeat(text, "]", TOML_MAX_DEPTH, "\n");
  struct toml_doc *doc = PARSE(closed);
  EXPECT(doc && doc->nentries == 1, "expected %d nested arrays to parse", TOML_MAX_DEPTH);
  toml_destroy(&doc);
  free(closed);
  free(text);
  text = repeat("a = 1\nx = ", "[", TOML_MAX_DEPTH + 1, "");
  EXPECT_ERROR(text, "x.toml:2: arrays and inline tables nested more than 64 deep");
  free(text);
  /* Inline tables in inline tables are flattened into one key, which reaches its limit first. */
  text = repeat("x = ", "{a=", TOML_MAX_DEPTH + 1, "");
  EXPECT_ERROR(text, "x.toml:1: key is longer than 128 bytes");
  free(text);
  text = repeat("x = ", "[{a=", TOML_MAX_DEPTH, "");
  EXPECT_ERROR(text, "nested more than 64 deep");
  free(text);
}

static void test_parse_value_reads_arrays_and_inline_tables(void) {
  struct toml_doc *doc = NULL;
  const char *text = "[0.5, 1.0]";
  CU_ASSERT_EQUAL_FATAL(toml_parse_value(text, strlen(text), "--set t", &doc), ERR_OK);
  const struct toml_value *v = &doc->entries[0].value;
  EXPECT(v->type == TOML_ARRAY && v->nitems == 2 && v->values[1].number == 1.0,
         "expected [0.5, 1.0]");
  toml_destroy(&doc);
  text = " { kind = \"held\", t = 1 } ";
  CU_ASSERT_EQUAL_FATAL(toml_parse_value(text, strlen(text), "--set b", &doc), ERR_OK);
  v = &doc->entries[0].value;
  EXPECT(doc->nentries == 1 && v->type == TOML_TABLE && v->nmembers == 2 &&
             strcmp(v->members[0].key, "kind") == 0 &&
             strcmp(doc->entries[0].raw, "{ kind = \"held\", t = 1 }") == 0,
         "expected one value, an inline table with its own entries");
  toml_destroy(&doc);
  err_clear();
  CU_ASSERT_EQUAL(toml_parse_value("{ a = 1, a = 2 }", 16, "--set b", &doc), ERR_CONFIG);
  EXPECT(strstr(err_message(), "--set b: duplicate key a") != NULL, "got: %s", err_message());
  CU_ASSERT_PTR_NULL(doc);
}

static void test_unterminated_brackets_are_errors(void) {
  EXPECT_ERROR("[grid\nnx = 4\n", "x.toml:1: unterminated table header [grid: expected \"]\"",
               "got end of line");
  EXPECT_ERROR("[grid", "x.toml:1: unterminated table header", "got end of file");
  EXPECT_ERROR("a = 1\nb = [1,\n2,\n", "x.toml:2: unterminated array", "got end of file");
  EXPECT_ERROR("b = [1, 2", "x.toml:1: unterminated array");
  EXPECT_ERROR("b = [", "x.toml:1: unterminated array");
  EXPECT_ERROR("b = [1 2]", "x.toml:1: expected \",\" or \"]\" after an item", "got \"2]\"");
  EXPECT_ERROR("b = [,]", "x.toml:1: expected a value or \"]\" in the array");
  EXPECT_ERROR("b = [1,,2]", "expected a value or \"]\" in the array");
}

static void test_malformed_numbers_say_why(void) {
  const char *bad[][2] = {
      {"012", "leading zeros"},
      {"-01", "leading zeros"},
      {"0_1", "leading zeros"},
      {"01.5", "leading zeros"},
      {"1__0", "underscore must sit between two digits"},
      {"1_", "underscore must sit between two digits"},
      {"1_.5", "underscore"},
      {"1._5", "underscore"},
      {"1e_5", "underscore"},
      {"1.", "a '.' needs digits on both sides"},
      {".5", "a '.' needs digits on both sides"},
      {"-.5", "a '.' needs digits on both sides"},
      {"1.e5", "a '.' needs digits on both sides"},
      {"1e", "an exponent needs digits"},
      {"1e+", "an exponent needs digits"},
      {"1.5.2", "not a number"},
      {"+", "a digit was expected"},
      {"--1", "a digit was expected"},
      {"1x", "not a number"},
      {"9223372036854775808", "integer out of range"},
      {"-9223372036854775809", "integer out of range"},
      {"99999999999999999999999", "integer out of range"},
      {"1e400", "number out of range"},
      {"-1.8e308", "number out of range"},
      {"infinity", "expected a value"},
      {"NaN", "expected a value"},
      {"_1", "expected a value"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[64], got[80];
    snprintf(text, sizeof text, "x = 1\nn = %s\n", bad[i][0]);
    snprintf(got, sizeof got, "got \"%s\"", bad[i][0]);
    EXPECT_ERROR(text, "x.toml:2:", bad[i][1], got);
  }
}

static void test_bare_word_value_needs_quotes(void) {
  EXPECT_ERROR("[decomposition]\npartitioner = block\n",
               "x.toml:2: expected a value: a number, true, false, a \"string\", a date, an "
               "[array] or an {inline table} (text needs quotes), got \"block\"");
  EXPECT_ERROR("a = True\n", "text needs quotes");
  EXPECT_ERROR("a = @\n", "x.toml:1: expected a value", "got \"@\"");
}

static void test_first_error_wins(void) {
  EXPECT_ERROR("a = \"\\q\"\nb = \"\n", "x.toml:1: invalid escape");
  /* A message recorded before the parse is the root cause and stays. */
  err_clear();
  err_set(ERR_CONFIG, "earlier");
  struct toml_doc *doc = NULL;
  CU_ASSERT_EQUAL(toml_parse("a = \"", 5, "x.toml", &doc), ERR_CONFIG);
  CU_ASSERT_STRING_EQUAL(err_message(), "earlier");
  err_clear();
}

static void test_deep_nesting_is_an_error_not_a_crash(void) {
  char *text = repeat("", "[", 200000, "");
  EXPECT_ERROR(text, "x.toml:1: expected a key", "got \"[[[[");
  free(text);
  text = repeat("a = ", "[", 200000, "");
  EXPECT_ERROR(text, "x.toml:1: arrays and inline tables nested more than 64 deep");
  free(text);
  text = repeat("a", ".a", 200000, " = 1\n");
  EXPECT_ERROR(text, "x.toml:1: key is longer than 128 bytes", "got \"a.a.a.a");
  free(text);
  text = repeat("[a", ".a", 200000, "]\n");
  EXPECT_ERROR(text, "x.toml:1: key is longer than 128 bytes");
  free(text);
  text = repeat("a = {", "{", 200000, "");
  EXPECT_ERROR(text, "x.toml:1: expected a key", "got \"{{{{");
  free(text);
  text = repeat("a = ", "{b=", 200000, "");
  EXPECT_ERROR(text, "x.toml:1: key is longer than 128 bytes");
  free(text);
  text = repeat("a = ", "[{b=", 200000, "");
  EXPECT_ERROR(text, "x.toml:1: arrays and inline tables nested more than 64 deep");
  free(text);
}

/* ---- arrays of tables ----------------------------------------------------------------------- */

static void test_arrays_of_tables_number_their_elements(void) {
  struct toml_doc *doc = PARSE("[grid]\n"             /* 1 */
                               "nx = 4\n"             /* 2 */
                               "[[region]]\n"         /* 3 */
                               "shape = \"disk\"\n"   /* 4 */
                               "at.x = 1\n"           /* 5 */
                               "[[ region ]] # two\n" /* 6 */
                               "shape = \"mask\"\n"   /* 7 */
                               "at.x = 2\n"           /* 8 */
                               "[solver]\n"           /* 9 */
                               "tol = 1\n"            /* 10 */
                               "[[\"region\"]]\n"     /* 11 */
                               "[[region]]\n"         /* 12 */
                               "shape = \"rectangle\"\n");
  const struct {
    const char *key;
    int nparts, line, array_index;
    enum toml_type type;
  } want[] = {{"grid", 1, 1, 0, TOML_TABLE},
              {"grid.nx", 2, 2, 0, TOML_INTEGER},
              {"region", 1, 3, 1, TOML_TABLE_ARRAY_ITEM},
              {"region.shape", 2, 4, 1, TOML_STRING},
              {"region.at.x", 3, 5, 1, TOML_INTEGER},
              {"region", 1, 6, 2, TOML_TABLE_ARRAY_ITEM},
              {"region.shape", 2, 7, 2, TOML_STRING},
              {"region.at.x", 3, 8, 2, TOML_INTEGER},
              {"solver", 1, 9, 0, TOML_TABLE},
              {"solver.tol", 2, 10, 0, TOML_INTEGER},
              {"region", 1, 11, 3, TOML_TABLE_ARRAY_ITEM},
              {"region", 1, 12, 4, TOML_TABLE_ARRAY_ITEM},
              {"region.shape", 2, 13, 4, TOML_STRING}};
  size_t n = sizeof want / sizeof want[0];
  EXPECT(doc && doc->nentries == n, "expected %zu entries, got %zu", n, doc ? doc->nentries : 0);
  for (size_t i = 0; doc && i < n && i < doc->nentries; i++) {
    const struct toml_entry *e = &doc->entries[i];
    EXPECT(strcmp(e->key, want[i].key) == 0 && e->nparts == want[i].nparts &&
               e->line == want[i].line && e->array_index == want[i].array_index &&
               e->value.type == want[i].type && e->head_len == strcspn(e->key, "."),
           "entry %zu: expected %s (%d parts, line %d, element %d, type %d), got %s (%d, %d, %d, "
           "%d)",
           i, want[i].key, want[i].nparts, want[i].line, want[i].array_index, want[i].type, e->key,
           e->nparts, e->line, e->array_index, e->value.type);
  }
  if (doc && doc->nentries == n) {
    EXPECT(strcmp(doc->entries[5].raw, "[[ region ]]") == 0,
           "expected the header as written, got %s", doc->entries[5].raw);
    EXPECT(strcmp(doc->entries[6].value.string, "mask") == 0, "expected element 2's shape");
  }
  toml_destroy(&doc);
}

static void test_array_elements_check_their_own_keys(void) {
  EXPECT_ERROR("[[region]]\na = 1\na = 2\n",
               "x.toml:3: duplicate key region.a (first set on line 2)");
  EXPECT_ERROR("[[region]]\na.b = 1\n[[region]]\na.b = 1\na.b = 2\n",
               "x.toml:5: duplicate key region.a.b (first set on line 4)");
  struct toml_doc *doc = PARSE("[[r]]\n[[r]]\n[[r]]\n");
  EXPECT(doc && doc->nentries == 3 && doc->entries[2].array_index == 3,
         "expected three empty elements");
  toml_destroy(&doc);
}

static void test_a_name_is_one_table_or_an_array_of_tables(void) {
  EXPECT_ERROR("[region]\n[[region]]\n",
               "x.toml:2: [[region]] cannot add to table [region] (defined on line 1): a name is "
               "either one [table] or an array of [[tables]]");
  EXPECT_ERROR("[region.sub]\n[[region]]\n", "x.toml:2: [[region]] cannot add to table [region]");
  EXPECT_ERROR("[[region]]\n[region]\n",
               "x.toml:2: [region] is already an array of tables ([[region]] on line 1); write "
               "[[region]] for another element");
  EXPECT_ERROR("region = 1\n[[region]]\n",
               "x.toml:2: [[region]] is already a value (set on line 1); it cannot also be an "
               "array of tables");
  EXPECT_ERROR("region.x = 1\n[[region]]\n",
               "x.toml:2: [[region]] cannot add to table region (defined by dotted keys on line "
               "1)");
}

static void test_array_headers_must_close_with_two_brackets(void) {
  EXPECT_ERROR("[[region]\n", "x.toml:1: expected \"]]\" after [[region, got \"]\"");
  EXPECT_ERROR("[[region", "x.toml:1: unterminated table header [[region: expected \"]]\"");
  EXPECT_ERROR("[[region] ]\n", "x.toml:1: expected \"]]\" after [[region", "got \"] ]\"");
  EXPECT_ERROR("[[region]]]\n",
               "x.toml:1: expected the end of the line after the table header [[region]]");
  EXPECT_ERROR("[[]]\n", "x.toml:1: expected a key");
  EXPECT_ERROR("[[region]] x = 1\n", "x.toml:1: expected the end of the line after the table "
                                     "header [[region]]");
}

static void test_keys_up_to_128_bytes_are_accepted(void) {
  char *key = repeat("", "k", 128, " = 1\n");
  struct toml_doc *doc = PARSE(key);
  EXPECT(doc && doc->nentries == 1 && strlen(doc->entries[0].key) == 128,
         "expected a 128-byte key");
  toml_destroy(&doc);
  free(key);
  key = repeat("[", "t", 100, "]\n");
  char *text = repeat(key, "k", 27, " = 1\n"); /* 100 + 1 + 27 = 128 */
  doc = PARSE(text);
  EXPECT(doc && doc->nentries == 2, "expected the table and its 128-byte key");
  toml_destroy(&doc);
  free(text);
  text = repeat(key, "k", 28, " = 1\n");
  EXPECT_ERROR(text, "x.toml:2: key is longer than 128 bytes");
  free(text);
  free(key);
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"integers with signs and underscores", test_integers_with_signs_and_underscores},
      {"floats with fractions, exponents, underscores",
       test_floats_with_fractions_exponents_and_underscores},
      {"inf and nan are floats", test_inf_and_nan_are_floats},
      {"true and false are booleans", test_true_and_false_are_booleans},
      {"basic string escapes decode", test_basic_string_escapes_decode},
      {"unicode escapes become UTF-8", test_unicode_escapes_become_utf8},
      {"literal strings keep backslashes", test_literal_strings_keep_backslashes},
      {"raw text is the value as written", test_raw_text_is_the_value_as_written},
      {"CRLF and BOM are accepted", test_crlf_and_bom_are_accepted},
      {"comments anywhere a line may end", test_comments_anywhere_a_line_may_end},
      {"tables and dotted keys give full keys", test_tables_and_dotted_keys_give_full_keys},
      {"subtables beside their parent's keys", test_subtables_beside_their_parents_keys},
      {"quoted keys are shown bare when they can be",
       test_quoted_keys_are_shown_bare_when_they_can_be},
      {"blanks around dots, equals and brackets", test_blanks_around_dots_equals_and_brackets},
      {"arrays over lines with trailing comma", test_arrays_over_lines_with_trailing_comma},
      {"empty and comment-only documents", test_empty_and_comment_only_documents},
      {"text need not end with NUL", test_text_need_not_end_with_nul},
      {"one MiB of keys parses", test_one_mib_of_keys_parses},
      {"many inline tables in arrays parse", test_many_inline_tables_in_arrays_parse},
      {"implicit tables may be defined once", test_implicit_tables_may_be_defined_once},
      {"keys up to 128 bytes are accepted", test_keys_up_to_128_bytes_are_accepted},
      {"parse_value reads one value", test_parse_value_reads_one_value},
      {"parse_value errors name the value", test_parse_value_errors_name_the_value},
      {"parse_value without name records nothing", test_parse_value_without_name_records_nothing},
      {"excerpt quotes and cuts after 40 characters",
       test_excerpt_quotes_and_cuts_after_40_characters},
      {"unterminated strings name their line", test_unterminated_strings_name_their_line},
      {"bad escapes are errors", test_bad_escapes_are_errors},
      {"unicode escapes must be scalar values", test_unicode_escapes_must_be_scalar_values},
      {"duplicate key names both lines", test_duplicate_key_names_both_lines},
      {"duplicate table names both lines", test_duplicate_table_names_both_lines},
      {"key cannot be both table and value", test_key_cannot_be_both_table_and_value},
      {"missing equals and missing value", test_missing_equals_and_missing_value},
      {"trailing garbage after a value", test_trailing_garbage_after_a_value},
      {"invalid UTF-8 reports its line", test_invalid_utf8_reports_its_line},
      {"control characters are rejected", test_control_characters_are_rejected},
      {"multi-line basic strings", test_multiline_basic_strings},
      {"multi-line literal strings", test_multiline_literal_strings},
      {"multi-line string errors", test_multiline_string_errors},
      {"hex, octal and binary integers", test_hex_octal_and_binary_integers},
      {"arrays of floats, strings and mixed", test_arrays_of_floats_strings_and_mixed},
      {"nested arrays", test_nested_arrays},
      {"inline tables read as tables", test_inline_tables_read_as_tables},
      {"inline tables inside arrays have their own entries",
       test_inline_tables_inside_arrays_have_their_own_entries},
      {"inline table errors", test_inline_table_errors},
      {"arrays of tables nest", test_arrays_of_tables_nest},
      {"dates and times", test_dates_and_times},
      {"nesting deeper than the limit is refused", test_nesting_deeper_than_the_limit_is_refused},
      {"parse_value reads arrays and inline tables",
       test_parse_value_reads_arrays_and_inline_tables},
      {"unterminated brackets are errors", test_unterminated_brackets_are_errors},
      {"malformed numbers say why", test_malformed_numbers_say_why},
      {"bare word value needs quotes", test_bare_word_value_needs_quotes},
      {"first error wins", test_first_error_wins},
      {"huge line gives a short message", test_huge_line_gives_a_short_message},
      {"deep nesting is an error, not a crash", test_deep_nesting_is_an_error_not_a_crash},
      {"arrays of tables number their elements", test_arrays_of_tables_number_their_elements},
      {"array elements check their own keys", test_array_elements_check_their_own_keys},
      {"a name is one table or an array of tables", test_a_name_is_one_table_or_an_array_of_tables},
      {"array headers must close with two brackets",
       test_array_headers_must_close_with_two_brackets},
  };
  return TESTS_ADD_SUITE("toml", cases);
}
