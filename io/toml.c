/* toml.c - the TOML 1.0 reader; see toml.h.
 *
 * One pass over the text, a statement (table header or key = value) at a time. Values nest
 * (arrays in arrays, inline tables in arrays and in inline tables), and only there does the
 * parser recurse, at most TOML_MAX_DEPTH deep, so no input can exhaust the stack. Before
 * parsing, a first pass checks that the whole text is UTF-8 without control characters (other
 * than tab, LF and CRLF), so the parser below may assume both.
 *
 * Every string the entries point to (keys, source text, decoded strings) is appended to one arena,
 * integers of integer arrays to another, array elements and the entries of inline tables inside
 * arrays to two more (through stacks, so each array's elements end up contiguous however they
 * nest); records hold offsets until the end, when they become pointers. Keys are checked against a
 * tree of nodes (one per table or key part) found through a hash map on (parent node, part name),
 * so every statement costs time linear in its length whatever the nesting: a 1 MiB file of keys is
 * parsed in linear time and memory.
 */
#include "io/toml.h"

#include "common/err.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- storage --------------------------------------------------------------------------------- */

/* Grow an array of `size`-byte elements with capacity *cap to hold `need`. Returns the array,
 * possibly moved, or NULL when out of memory (then the old array is untouched). */
static void *grow(void *data, size_t *cap, size_t need, size_t size) {
  if (need <= *cap && data != NULL)
    return data;
  size_t n = *cap < 16 ? 16 : *cap;
  while (n < need) {
    if (n > SIZE_MAX / 2 / size)
      return NULL;
    n *= 2;
  }
  void *moved = realloc(data, n * size);
  if (moved != NULL)
    *cap = n;
  return moved;
}

/* How a node of the key tree came to be, which decides what may be done with it later. */
enum node_kind {
  NODE_VALUE,    /* set by key = value */
  NODE_TABLE,    /* defined by a [header] (or the root) */
  NODE_IMPLICIT, /* a parent named in a [header], not itself defined yet */
  NODE_DOTTED,   /* a parent named in a dotted key: defined by it */
  NODE_ARRAY,    /* an array of tables, [[name]]: its elements are children named "1", "2", ... */
  NODE_INLINE,   /* an inline table, key = { ... }: complete, nothing may be added to it */
};

struct node {
  size_t parent;             /* node index; the root is node 0 */
  size_t name_off, name_len; /* the decoded part, in the string arena */
  uint64_t hash;
  enum node_kind kind;
  int line;     /* where it was defined (first named, for NODE_IMPLICIT; the first [[name]]) */
  int elements; /* NODE_ARRAY: how many [[name]] headers so far */
  size_t last;  /* NODE_ARRAY: the node of its last element, where keys and headers go */
};

/* An entry while parsing: pointers into the arenas are offsets until finish(). */
struct record {
  struct toml_entry entry;
  size_t key_off, raw_off, string_off, items_off;
  size_t values_off;  /* an array: its elements, in the element arena */
  size_t members_off; /* an inline table inside an array (or a --set value): its entries, in the
                       * member arena */
};

/* Where the keys of a table go while they are parsed: the current [table] of the file, or an
 * inline table, whose keys are shown after its own key (flattened, as if written as a [table])
 * unless it sits inside an array, where they are its own list of entries. */
struct scope {
  size_t node;        /* the key-tree node the keys are defined under */
  const char *prefix; /* the display key of that table ("" for a table inside an array) */
  size_t prefix_len, head_len;
  int nparts, array_index;
  bool top; /* its entries go to the document (else to the member stack) */
};

/* A key as parsed: its parts (decoded, in the arena) and its display form, which starts with
 * the current table's key when the key is on the left of `=`. */
struct key {
  size_t nparts;
  size_t part_off[TOML_MAX_KEY_BYTES], part_len[TOML_MAX_KEY_BYTES];
  size_t end[TOML_MAX_KEY_BYTES]; /* display length up to and including part i */
  char display[TOML_MAX_KEY_BYTES + 1];
  size_t len;
};

struct parser {
  const char *text;
  size_t len, pos;
  int line;
  const char *name; /* NULL: record no message */
  bool one_value;   /* toml_parse_value: messages have no line */
  int status;

  char *strings; /* the string arena */
  size_t strings_len, strings_cap;
  int64_t *ints; /* the array-item arena */
  size_t ints_len, ints_cap;
  struct record *records;
  size_t nrecords, records_cap;
  /* Arrays and inline tables nest, and each one's elements (or entries) must end up contiguous:
   * they are collected on a stack and moved to their arena when the array (table) closes. */
  struct record *stack, *elements; /* array elements */
  size_t nstack, stack_cap, nelements, elements_cap;
  struct record *mstack, *members; /* entries of inline tables inside arrays */
  size_t nmstack, mstack_cap, nmembers, members_cap;

  struct node *nodes;
  size_t nnodes, nodes_cap;
  size_t *slots; /* open addressing, node index + 1, 0 = empty; a power of two long */
  size_t nslots;

  /* The table that `key = value` lines go into. */
  size_t table_node;
  size_t table_key_off, table_key_len, table_head_len;
  int table_nparts;
  int table_array_index; /* the current table is element N (1-based) of an array; 0: not */

  struct key key; /* the key being parsed */
};

/* ---- messages -------------------------------------------------------------------------------- */

static int out_of_memory(struct parser *p) {
  if (p->status == ERR_OK)
    p->status = err_set(ERR_FAILURE, "out of memory reading %s", p->name ? p->name : "a value");
  return p->status;
}

static int vfail(struct parser *p, int line, const char *got, const char *fmt, va_list ap) {
  if (p->status != ERR_OK)
    return p->status; /* the first error stands */
  p->status = ERR_CONFIG;
  if (p->name == NULL)
    return p->status;
  char what[512];
  vsnprintf(what, sizeof what, fmt, ap);
  const char *sep = got != NULL ? ", got " : "";
  got = got != NULL ? got : "";
  if (p->one_value)
    err_set(ERR_CONFIG, "%s: %s%s%s", p->name, what, sep, got);
  else
    err_set(ERR_CONFIG, "%s:%d: %s%s%s", p->name, line, what, sep, got);
  return p->status;
}

/* Record an error on `line` with no "got" part. */
__attribute__((format(printf, 3, 4))) static int fail_plain(struct parser *p, int line,
                                                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(p, line, NULL, fmt, ap);
  va_end(ap);
  return p->status;
}

/* What the text holds from `at` to `end` or the end of the line, whichever comes first. */
static const char *got_text(const struct parser *p, size_t at, size_t end,
                            char got[TOML_EXCERPT_SIZE]) {
  if (at >= p->len) {
    snprintf(got, TOML_EXCERPT_SIZE, "end of %s", p->one_value ? "the value" : "file");
  } else if (p->text[at] == '\n' || p->text[at] == '\r') {
    snprintf(got, TOML_EXCERPT_SIZE, "end of line");
  } else {
    size_t stop = at;
    while (stop < p->len && stop < end && p->text[stop] != '\n' && p->text[stop] != '\r')
      stop++;
    toml_excerpt(p->text + at, stop - at, got);
  }
  return got;
}

/* Record an error on the current line, showing what the line holds from `at` on. */
__attribute__((format(printf, 3, 4))) static int fail_at(struct parser *p, size_t at,
                                                         const char *fmt, ...) {
  char got[TOML_EXCERPT_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vfail(p, p->line, got_text(p, at, SIZE_MAX, got), fmt, ap);
  va_end(ap);
  return p->status;
}

/* Record an error on the current line, showing text[at, end). */
__attribute__((format(printf, 4, 5))) static int fail_span(struct parser *p, size_t at, size_t end,
                                                           const char *fmt, ...) {
  char got[TOML_EXCERPT_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vfail(p, p->line, got_text(p, at, end, got), fmt, ap);
  va_end(ap);
  return p->status;
}

/* ---- characters ------------------------------------------------------------------------------ */

/* The byte `ahead` bytes on, or -1 past the end. */
static int peek(const struct parser *p, size_t ahead) {
  return ahead < p->len - p->pos ? (unsigned char)p->text[p->pos + ahead] : -1;
}

static bool looking_at(const struct parser *p, const char *s) {
  size_t n = strlen(s);
  return n <= p->len - p->pos && memcmp(p->text + p->pos, s, n) == 0;
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static bool is_bare_key_char(int c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
}

/* Characters of a number, boolean or date: read as one word, then judged. */
static bool is_word_char(int c) { return is_bare_key_char(c) || c == '+' || c == '.' || c == ':'; }

static bool is_newline(const struct parser *p) {
  int c = peek(p, 0);
  return c == '\n' || c == '\r'; /* a CR is always followed by LF (validate() made sure) */
}

static void skip_blanks(struct parser *p) {
  int c;
  while ((c = peek(p, 0)) == ' ' || c == '\t')
    p->pos++;
}

static void skip_comment(struct parser *p) {
  if (peek(p, 0) != '#')
    return;
  while (p->pos < p->len && !is_newline(p))
    p->pos++;
}

static void eat_newline(struct parser *p) {
  p->pos += peek(p, 0) == '\r' ? 2 : 1;
  p->line++;
}

/* Length of the valid UTF-8 sequence at s[0, n), or 0 if there is none. Rejects overlong
 * forms, surrogates and code points above U+10FFFF. */
static size_t utf8_length(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t k;
  unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    k = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    k = 3;
    lo = c == 0xE0 ? 0xA0 : lo;
    hi = c == 0xED ? 0x9F : hi;
  } else if (c >= 0xF0 && c <= 0xF4) {
    k = 4;
    lo = c == 0xF0 ? 0x90 : lo;
    hi = c == 0xF4 ? 0x8F : hi;
  } else {
    return 0;
  }
  if (n < k || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < k; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  return k;
}

static bool is_control(unsigned c) { return c < 0x20 || c == 0x7F; }

/* The first pass: UTF-8 only, and no control characters but tab, LF and CR LF. */
static int validate(struct parser *p) {
  const unsigned char *s = (const unsigned char *)p->text;
  size_t line_start = p->pos;
  for (size_t i = p->pos; i < p->len;) {
    unsigned c = s[i];
    /* Where, for people: a column in a file; nothing in a one-line value. */
    char at[48] = "";
    if (!p->one_value)
      snprintf(at, sizeof at, " at column %zu", i - line_start + 1);
    if (c == '\n') {
      p->line++;
      line_start = ++i;
    } else if (c == '\t' || (c >= 0x20 && c < 0x7F)) {
      i++;
    } else if (c == '\r' && i + 1 < p->len && s[i + 1] == '\n') {
      i++;
    } else if (c == '\r') {
      return fail_plain(p, p->line,
                        "carriage return (U+000D) without a newline after it%s; end lines with "
                        "LF or CR LF",
                        at);
    } else if (is_control(c)) {
      return fail_plain(p, p->line,
                        "control character U+%04X%s is not allowed; only tab and line ends are "
                        "(inside a \"string\" write \\u%04X)",
                        c, at, c);
    } else {
      size_t k = utf8_length(s + i, p->len - i);
      if (k == 0)
        return fail_plain(p, p->line, "invalid UTF-8 (byte 0x%02X%s)%s", c, at,
                          p->one_value ? "" : "; save the file as UTF-8");
      i += k;
    }
  }
  p->line = 1;
  return ERR_OK;
}

/* ---- strings --------------------------------------------------------------------------------- */

static int append(struct parser *p, const void *bytes, size_t n) {
  if (n > SIZE_MAX - p->strings_len - 1)
    return out_of_memory(p);
  char *moved = grow(p->strings, &p->strings_cap, p->strings_len + n + 1, 1);
  if (moved == NULL)
    return out_of_memory(p);
  p->strings = moved;
  if (n > 0)
    memcpy(p->strings + p->strings_len, bytes, n);
  p->strings_len += n;
  p->strings[p->strings_len] = '\0'; /* the arena always ends with a terminator */
  return ERR_OK;
}

/* Append n bytes and a NUL: a string of its own, at the arena offset *off. */
static int append_terminated(struct parser *p, const void *bytes, size_t n, size_t *off) {
  *off = p->strings_len;
  CHECK(append(p, bytes, n));
  return append(p, "", 1);
}

static int append_utf8(struct parser *p, uint32_t cp) {
  unsigned char b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (unsigned char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (unsigned char)(0xC0 | cp >> 6);
    b[1] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (unsigned char)(0xE0 | cp >> 12);
    b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    b[2] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (unsigned char)(0xF0 | cp >> 18);
    b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return append(p, b, n);
}

static int hex_value(int c) {
  if (is_digit(c))
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The escape at p->pos (a backslash), decoded onto the arena. */
static int decode_escape(struct parser *p) {
  static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
  size_t at = p->pos;
  int e = peek(p, 1);
  const char *simple = e > 0 ? strchr(from, e) : NULL;
  if (simple != NULL) {
    p->pos += 2;
    return append(p, &to[simple - from], 1);
  }
  if (e != 'u' && e != 'U')
    return fail_span(
        p, at,
        at + 1 +
            (e < 0 ? 0 : utf8_length((const unsigned char *)p->text + at + 1, p->len - at - 1)),
        "invalid escape in a string: the escapes are \\b \\t \\n \\f \\r \\\" \\\\ "
        "\\uXXXX and \\UXXXXXXXX (a backslash itself is \\\\)");
  size_t digits = e == 'u' ? 4 : 8, end = at + 2 + digits;
  uint32_t cp = 0;
  for (size_t i = 0; i < digits; i++) {
    int h = hex_value(peek(p, 2 + i));
    if (h < 0)
      return fail_span(p, at, end, "invalid escape in a string: \\%c needs exactly %zu hex digits",
                       e, digits);
    cp = cp << 4 | (uint32_t)h;
  }
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return fail_span(p, at, end,
                     "invalid escape in a string: U+%04lX is not a Unicode scalar value (those "
                     "are U+0000 to U+D7FF and U+E000 to U+10FFFF)",
                     (unsigned long)cp);
  p->pos += 2 + digits;
  return append_utf8(p, cp);
}

/* A one-line string at p->pos (its opening quote), decoded onto the arena as *off, *n (plus a
 * terminating NUL). Basic strings ("...") take escapes; literal strings ('...') do not. */
static int scan_string(struct parser *p, size_t *off, size_t *n) {
  size_t open = p->pos;
  char quote = p->text[open];
  p->pos++;
  *off = p->strings_len;
  for (;;) {
    size_t run = p->pos; /* a run of plain characters, appended at once */
    int c;
    while ((c = peek(p, 0)) >= 0 && c != quote && c != '\n' && c != '\r' &&
           !(c == '\\' && quote == '"'))
      p->pos++;
    CHECK(append(p, p->text + run, p->pos - run));
    if (c == quote)
      break;
    if (c == '\\') {
      CHECK(decode_escape(p));
      continue;
    }
    return fail_at(p, open, "unterminated string: expected a closing %c on the same line%s", quote,
                   quote == '"' ? " (a \" inside a string is written \\\")" : "");
  }
  p->pos++;
  *n = p->strings_len - *off;
  return append(p, "", 1);
}

static bool at_multiline_quote(const struct parser *p) {
  return looking_at(p, "\"\"\"") || looking_at(p, "'''");
}

/* A multi-line string at p->pos (its """ or '''), decoded onto the arena as *off, *n (plus a
 * NUL). A line end right after the opening quotes is dropped; line ends inside become LF; in a
 * basic string a backslash at the end of a line drops it and the blanks and line ends after it.
 * One or two quotes may sit right before the closing three (""""" is two quotes, then the end). */
static int scan_multiline(struct parser *p, size_t *off, size_t *n) {
  int open_line = p->line;
  char quote = p->text[p->pos];
  bool basic = quote == '"';
  p->pos += 3;
  *off = p->strings_len;
  if (is_newline(p))
    eat_newline(p);
  for (;;) {
    size_t run = p->pos;
    int c;
    while ((c = peek(p, 0)) >= 0 && c != quote && c != '\n' && c != '\r' && !(c == '\\' && basic))
      p->pos++;
    CHECK(append(p, p->text + run, p->pos - run));
    if (c < 0)
      return fail_plain(p, open_line,
                        "unterminated multi-line string: expected a closing %s, got end of %s",
                        basic ? "\"\"\"" : "'''", p->one_value ? "the value" : "file");
    if (c == '\n' || c == '\r') {
      eat_newline(p);
      CHECK(append(p, "\n", 1));
    } else if (c == '\\') {
      size_t after = p->pos + 1;
      while (after < p->len && (p->text[after] == ' ' || p->text[after] == '\t'))
        after++;
      if (after < p->len && (p->text[after] == '\n' || p->text[after] == '\r')) {
        p->pos = after; /* a line-ending backslash: skip to the next non-blank */
        for (;;) {
          skip_blanks(p);
          if (!is_newline(p))
            break;
          eat_newline(p);
        }
      } else {
        CHECK(decode_escape(p));
      }
    } else {
      size_t quotes = 0;
      while (peek(p, quotes) == quote)
        quotes++;
      if (quotes < 3) {
        CHECK(append(p, p->text + p->pos, quotes));
        p->pos += quotes;
        continue;
      }
      if (quotes > 5)
        return fail_at(p, p->pos,
                       "too many quotes: at most two may sit right before the closing %s",
                       basic ? "\"\"\"" : "'''");
      CHECK(append(p, p->text + p->pos, quotes - 3));
      p->pos += quotes;
      break;
    }
  }
  *n = p->strings_len - *off;
  return append(p, "", 1);
}

/* ---- keys ------------------------------------------------------------------------------------ */

static bool is_bare_key(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_bare_key_char((unsigned char)s[i]))
      return false;
  return n > 0;
}

/* A key part as shown in toml_entry.key: bare if it can be, else a "quoted" TOML key. Writes
 * it to out (when not NULL) and returns its length. */
static size_t display_part(const char *s, size_t n, char *out) {
  if (is_bare_key(s, n)) {
    if (out != NULL)
      memcpy(out, s, n);
    return n;
  }
  size_t len = 0;
  if (out != NULL)
    out[len] = '"';
  len++;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8] = {(char)c};
    size_t k = 1;
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      k = 2;
    } else if (is_control(c)) {
      snprintf(esc, sizeof esc, "\\u%04X", (unsigned)c);
      k = 6;
    }
    if (out != NULL)
      memcpy(out + len, esc, k);
    len += k;
  }
  if (out != NULL)
    out[len] = '"';
  return len + 1;
}

/* A (dotted) key at p->pos into p->key, its display form starting with `prefix`. */
static int parse_key(struct parser *p, const char *prefix, size_t prefix_len) {
  struct key *k = &p->key;
  memcpy(k->display, prefix, prefix_len);
  k->len = prefix_len;
  k->nparts = 0;
  size_t start = p->pos;
  for (;;) {
    skip_blanks(p);
    size_t at = p->pos, off, n;
    int c = peek(p, 0);
    if (at_multiline_quote(p)) {
      return fail_at(p, at, "a key cannot be a multi-line string; write a one-line \"key\"");
    } else if (c == '"' || c == '\'') {
      CHECK(scan_string(p, &off, &n));
    } else if (c >= 0 && is_bare_key_char(c)) {
      while (is_bare_key_char(peek(p, 0)))
        p->pos++;
      n = p->pos - at;
      CHECK(append_terminated(p, p->text + at, n, &off));
    } else {
      return fail_at(p, at, "expected a key: letters, digits, '_' and '-', or a \"quoted key\"");
    }
    size_t width = display_part(p->strings + off, n, NULL);
    size_t sep = k->len > 0 ? 1 : 0;
    if (k->len + sep + width > TOML_MAX_KEY_BYTES) /* width <= 6 * len + 2: no overflow */
      return fail_at(p, start, "key is longer than %d bytes", TOML_MAX_KEY_BYTES);
    if (sep)
      k->display[k->len++] = '.';
    k->len += display_part(p->strings + off, n, k->display + k->len);
    k->part_off[k->nparts] = off;
    k->part_len[k->nparts] = n;
    k->end[k->nparts] = k->len;
    k->nparts++;
    skip_blanks(p);
    if (peek(p, 0) != '.')
      break;
    p->pos++;
  }
  k->display[k->len] = '\0';
  return ERR_OK;
}

/* ---- the key tree ---------------------------------------------------------------------------- */

static uint64_t hash_part(size_t parent, const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325u ^ ((uint64_t)parent * 0x9e3779b97f4a7c15u); /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3u;
  }
  return h ^ (h >> 29);
}

/* The slot holding the node (parent, s[0, n)), or the empty slot where it would go. */
static size_t *slot_of(struct parser *p, uint64_t hash, size_t parent, const char *s, size_t n) {
  size_t mask = p->nslots - 1;
  for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
    size_t *slot = &p->slots[i];
    if (*slot == 0)
      return slot;
    const struct node *nd = &p->nodes[*slot - 1];
    if (nd->hash == hash && nd->parent == parent && nd->name_len == n &&
        memcmp(p->strings + nd->name_off, s, n) == 0)
      return slot;
  }
}

/* Keep the map at most half full: rebuild it twice as long when one more node would not be. */
static int reserve_slots(struct parser *p) {
  if (2 * (p->nnodes + 1) <= p->nslots)
    return ERR_OK;
  size_t nslots = p->nslots ? 2 * p->nslots : 64;
  size_t *slots = calloc(nslots, sizeof *slots);
  if (slots == NULL)
    return out_of_memory(p);
  free(p->slots);
  p->slots = slots;
  p->nslots = nslots;
  for (size_t i = 1; i < p->nnodes; i++) { /* the root (node 0) is nobody's child */
    if (p->nodes[i].parent == SIZE_MAX)
      continue; /* nor is an inline table inside an array: all of them in one probe chain
                 * would make every statement's look-up quadratic */
    size_t k = (size_t)p->nodes[i].hash & (nslots - 1);
    while (slots[k] != 0)
      k = (k + 1) & (nslots - 1);
    slots[k] = i + 1;
  }
  return ERR_OK;
}

/* The child of `parent` named by part i of p->key: found (*created false) or added with
 * `kind` and the current line. */
static int child(struct parser *p, size_t parent, size_t i, enum node_kind kind, size_t *out,
                 bool *created) {
  CHECK(reserve_slots(p));
  const char *s = p->strings + p->key.part_off[i];
  size_t n = p->key.part_len[i];
  uint64_t hash = hash_part(parent, s, n);
  size_t *slot = slot_of(p, hash, parent, s, n);
  *created = *slot == 0;
  if (!*created) {
    *out = *slot - 1;
    return ERR_OK;
  }
  struct node *nodes = grow(p->nodes, &p->nodes_cap, p->nnodes + 1, sizeof *nodes);
  if (nodes == NULL)
    return out_of_memory(p);
  p->nodes = nodes;
  nodes[p->nnodes] = (struct node){.parent = parent,
                                   .name_off = p->key.part_off[i],
                                   .name_len = n,
                                   .hash = hash,
                                   .kind = kind,
                                   .line = p->line};
  *slot = p->nnodes + 1;
  *out = p->nnodes++;
  return ERR_OK;
}

/* p->key up to and including part i: "a.b" for part 1 of a.b.c. */
static const char *key_upto(const struct parser *p, size_t i, char buf[TOML_MAX_KEY_BYTES + 1]) {
  memcpy(buf, p->key.display, p->key.end[i]);
  buf[p->key.end[i]] = '\0';
  return buf;
}

/* A node no key reaches: the table of an inline table inside an array. Its own keys are its
 * children, found as any node's are. */
static int anonymous_node(struct parser *p, size_t *out) {
  CHECK(reserve_slots(p)); /* the slot map is rebuilt from every node: keep its load in step */
  struct node *nodes = grow(p->nodes, &p->nodes_cap, p->nnodes + 1, sizeof *nodes);
  if (nodes == NULL)
    return out_of_memory(p);
  p->nodes = nodes;
  nodes[p->nnodes] = (struct node){.parent = SIZE_MAX, .kind = NODE_INLINE, .line = p->line};
  *out = p->nnodes++;
  return ERR_OK;
}

static int inline_table_is_closed(struct parser *p, const char *what, size_t i,
                                  const struct node *nd) {
  char upto[TOML_MAX_KEY_BYTES + 1];
  return fail_plain(p, p->line,
                    "%s: %s is an inline table (set on line %d), which is complete as written; "
                    "add the keys inside its { }",
                    what, key_upto(p, i, upto), nd->line);
}

/* Define the table p->key names (a [header]); it becomes the current table. A part that names
 * an array of tables goes into its last element, as TOML says ([fruit.physical] after
 * [[fruit]]). */
static int define_table(struct parser *p) {
  char upto[TOML_MAX_KEY_BYTES + 1], what[TOML_MAX_KEY_BYTES + 3];
  const char *full = p->key.display;
  snprintf(what, sizeof what, "[%s]", full);
  size_t cur = 0;
  int array_index = 0;
  for (size_t i = 0; i < p->key.nparts; i++) {
    bool last = i + 1 == p->key.nparts, created;
    CHECK(child(p, cur, i, last ? NODE_TABLE : NODE_IMPLICIT, &cur, &created));
    struct node *nd = &p->nodes[cur];
    if (created)
      continue;
    if (nd->kind == NODE_INLINE)
      return inline_table_is_closed(p, what, i, nd);
    if (nd->kind == NODE_VALUE && !last)
      return fail_plain(p, p->line,
                        "[%s] needs %s to be a table, but it is a value (set on line %d)", full,
                        key_upto(p, i, upto), nd->line);
    if (nd->kind == NODE_ARRAY && last)
      return fail_plain(p, p->line,
                        "[%s] is already an array of tables ([[%s]] on line %d); write [[%s]] for "
                        "another element",
                        full, key_upto(p, i, upto), nd->line, upto);
    if (nd->kind == NODE_ARRAY) {
      array_index = nd->elements;
      cur = nd->last;
      continue;
    }
    if (!last)
      continue;
    switch (nd->kind) {
    case NODE_IMPLICIT:
      nd->kind = NODE_TABLE;
      nd->line = p->line;
      break;
    case NODE_TABLE:
      return fail_plain(p, p->line, "duplicate table [%s] (first defined on line %d)", full,
                        nd->line);
    case NODE_DOTTED:
      return fail_plain(p, p->line,
                        "duplicate table [%s] (first defined by dotted keys on line %d)", full,
                        nd->line);
    case NODE_VALUE:
      return fail_plain(p, p->line,
                        "[%s] is already a value (set on line %d); it cannot also be a table", full,
                        nd->line);
    case NODE_ARRAY:
    case NODE_INLINE:
      break; /* refused above */
    }
  }
  p->table_node = cur;
  p->table_array_index = array_index;
  return ERR_OK;
}

/* Add an element to the array of tables p->key names (a [[header]]); it becomes the current
 * table. Earlier parts that name arrays of tables go into their last elements ([[fruit.variety]]
 * after [[fruit]]). The element is a node of its own, so its keys are checked against its own
 * keys only. */
static int define_array_element(struct parser *p) {
  char upto[TOML_MAX_KEY_BYTES + 1], what[TOML_MAX_KEY_BYTES + 5];
  const char *full = p->key.display;
  snprintf(what, sizeof what, "[[%s]]", full);
  size_t cur = 0;
  bool created;
  for (size_t i = 0; i + 1 < p->key.nparts; i++) {
    CHECK(child(p, cur, i, NODE_IMPLICIT, &cur, &created));
    struct node *nd = &p->nodes[cur];
    if (created)
      continue;
    if (nd->kind == NODE_INLINE)
      return inline_table_is_closed(p, what, i, nd);
    if (nd->kind == NODE_VALUE)
      return fail_plain(p, p->line,
                        "[[%s]] needs %s to be a table, but it is a value (set on line %d)", full,
                        key_upto(p, i, upto), nd->line);
    if (nd->kind == NODE_ARRAY)
      cur = nd->last;
  }
  size_t array, element, lastpart = p->key.nparts - 1;
  CHECK(child(p, cur, lastpart, NODE_ARRAY, &array, &created));
  struct node *nd = &p->nodes[array];
  switch (nd->kind) {
  case NODE_ARRAY:
    break;
  case NODE_TABLE:
  case NODE_IMPLICIT:
    return fail_plain(p, p->line,
                      "[[%s]] cannot add to table [%s] (defined on line %d): a name is either "
                      "one [table] or an array of [[tables]]",
                      full, full, nd->line);
  case NODE_DOTTED:
    return fail_plain(p, p->line,
                      "[[%s]] cannot add to table %s (defined by dotted keys on line %d): a name "
                      "is either one table or an array of [[tables]]",
                      full, full, nd->line);
  case NODE_VALUE:
    return fail_plain(p, p->line,
                      "[[%s]] is already a value (set on line %d); it cannot also be an array of "
                      "tables",
                      full, nd->line);
  case NODE_INLINE:
    return inline_table_is_closed(p, what, lastpart, nd);
  }
  if (nd->elements == INT32_MAX)
    return fail_plain(p, p->line, "too many [[%s]] tables", full);
  int index = ++nd->elements;
  /* The element's node is the array's child named by its number: a name no key part can
   * collide with, since the array's children are reached only this way. */
  char name[16];
  int n = snprintf(name, sizeof name, "%d", index);
  size_t off;
  CHECK(append_terminated(p, name, (size_t)n, &off));
  size_t saved_off = p->key.part_off[lastpart], saved_len = p->key.part_len[lastpart];
  p->key.part_off[lastpart] = off;
  p->key.part_len[lastpart] = (size_t)n;
  int status = child(p, array, lastpart, NODE_TABLE, &element, &created);
  p->key.part_off[lastpart] = saved_off;
  p->key.part_len[lastpart] = saved_len;
  CHECK(status);
  p->nodes[array].last = element;
  p->table_node = element;
  p->table_array_index = index;
  return ERR_OK;
}

/* Define the key p->key names (key = value) under node `base`; *out is its node. */
static int define_value(struct parser *p, size_t base, size_t *out) {
  char upto[TOML_MAX_KEY_BYTES + 1], what[TOML_MAX_KEY_BYTES + 5];
  const char *full = p->key.display;
  snprintf(what, sizeof what, "key %s", full);
  size_t cur = base;
  for (size_t i = 0; i < p->key.nparts; i++) {
    bool last = i + 1 == p->key.nparts, created;
    CHECK(child(p, cur, i, last ? NODE_VALUE : NODE_DOTTED, &cur, &created));
    struct node *nd = &p->nodes[cur];
    if (created)
      continue;
    if (last && (nd->kind == NODE_VALUE || nd->kind == NODE_INLINE))
      return fail_plain(p, p->line, "duplicate key %s (first set on line %d)", full, nd->line);
    if (nd->kind == NODE_INLINE)
      return inline_table_is_closed(p, what, i, nd);
    if (nd->kind == NODE_ARRAY)
      return fail_plain(p, p->line,
                        "key %s: %s is an array of tables ([[%s]] on line %d); write the key "
                        "under a [[%s]] header",
                        full, key_upto(p, i, upto), upto, nd->line, upto);
    if (last)
      return fail_plain(p, p->line,
                        "key %s is already a table (defined on line %d); it cannot also be a "
                        "value",
                        full, nd->line);
    switch (nd->kind) {
    case NODE_VALUE:
      return fail_plain(p, p->line,
                        "key %s needs %s to be a table, but it is a value (set on line %d)", full,
                        key_upto(p, i, upto), nd->line);
    case NODE_TABLE:
      return fail_plain(p, p->line,
                        "key %s adds to table [%s], defined on line %d; write it under that "
                        "[%s] instead",
                        full, key_upto(p, i, upto), nd->line, upto);
    case NODE_IMPLICIT:
      nd->kind = NODE_DOTTED;
      nd->line = p->line;
      break;
    case NODE_DOTTED:
    case NODE_ARRAY: /* refused above */
    case NODE_INLINE:
      break;
    }
  }
  *out = cur;
  return ERR_OK;
}

/* ---- values ---------------------------------------------------------------------------------- */

/* Digits with '_' only between two digits, from s[*i]. False (and *why) when malformed. */
static bool scan_digits(const char *s, size_t n, size_t *i, bool leading_zero_ok,
                        const char **why) {
  size_t start = *i;
  if (*i >= n || !is_digit(s[*i])) {
    *why = *i < n && s[*i] == '_' ? "an underscore must sit between two digits"
                                  : "a digit was expected";
    return false;
  }
  while (*i < n && (is_digit(s[*i]) || s[*i] == '_')) {
    if (s[*i] == '_' && (*i + 1 >= n || !is_digit(s[*i + 1]))) {
      *why = "an underscore must sit between two digits";
      return false;
    }
    (*i)++;
  }
  if (!leading_zero_ok && s[start] == '0' && *i - start > 1) {
    *why = "leading zeros are not allowed";
    return false;
  }
  return true;
}

/* Judge a word by TOML's number grammar: NULL if it is a number (*is_float says which kind,
 * *radix the base of an integer), else why not. */
static const char *number_syntax(const char *s, size_t n, bool *is_float, int *radix) {
  size_t i = 0;
  const char *why = NULL;
  *is_float = false;
  *radix = 10;
  if (i < n && (s[i] == '+' || s[i] == '-'))
    i++;
  if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
    *is_float = true;
    return NULL;
  }
  if (n - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
    if (i > 0)
      return "a hexadecimal, octal or binary number takes no sign";
    *radix = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
    bool digit_before = false;
    for (i = 2; i < n; i++) {
      int d = hex_value((unsigned char)s[i]);
      if (d >= 0 && d < *radix) {
        digit_before = true;
      } else if (s[i] == '_' && digit_before && i + 1 < n &&
                 hex_value((unsigned char)s[i + 1]) >= 0 &&
                 hex_value((unsigned char)s[i + 1]) < *radix) {
        digit_before = false;
      } else {
        return s[i] == '_'    ? "an underscore must sit between two digits"
               : *radix == 16 ? "a hexadecimal digit (0-9, a-f) was expected"
               : *radix == 8  ? "an octal digit (0-7) was expected"
                              : "a binary digit (0 or 1) was expected";
      }
    }
    return n > 2 ? NULL : "a digit was expected";
  }
  if (i < n && s[i] == '.')
    return "a '.' needs digits on both sides";
  if (!scan_digits(s, n, &i, false, &why))
    return why;
  if (i < n && s[i] == '.') {
    i++;
    *is_float = true;
    if (!scan_digits(s, n, &i, true, &why))
      return i < n && s[i] == '_' ? why : "a '.' needs digits on both sides";
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    *is_float = true;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    if (!scan_digits(s, n, &i, true, &why))
      return i < n && s[i] == '_' ? why : "an exponent needs digits";
  }
  if (i != n)
    return "not a number";
  return NULL;
}

/* A local date, time or date-time: 1979-05-27, 07:32:00, 1979-05-27T07:32:00Z. */
static bool looks_like_date(const char *s, size_t n) {
  if (n == 0 || !is_digit(s[0]))
    return false;
  if (memchr(s, ':', n) != NULL)
    return true;
  return n >= 5 && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) && s[4] == '-';
}

/* n digits at s[*i] as a number, or -1. */
static int fixed_digits(const char *s, size_t len, size_t *i, size_t n) {
  int v = 0;
  for (size_t k = 0; k < n; k++, (*i)++) {
    if (*i >= len || !is_digit(s[*i]))
      return -1;
    v = v * 10 + (s[*i] - '0');
  }
  return v;
}

/* HH:MM:SS with an optional fraction, at s[*i]. NULL or why not. */
static const char *time_syntax(const char *s, size_t n, size_t *i) {
  int h = fixed_digits(s, n, i, 2);
  if (h < 0 || *i >= n || s[(*i)++] != ':')
    return "a time is HH:MM:SS";
  int m = fixed_digits(s, n, i, 2);
  if (m < 0 || *i >= n || s[(*i)++] != ':')
    return "a time is HH:MM:SS (TOML 1.0 needs the seconds)";
  int sec = fixed_digits(s, n, i, 2);
  if (sec < 0)
    return "a time is HH:MM:SS (TOML 1.0 needs the seconds)";
  if (h > 23 || m > 59 || sec > 60)
    return "hour, minute or second out of range (00-23, 00-59, 00-60)";
  if (*i < n && s[*i] == '.') {
    size_t start = ++*i;
    while (*i < n && is_digit(s[*i]))
      (*i)++;
    if (*i == start)
      return "a fraction of a second needs digits after the '.'";
  }
  return NULL;
}

/* Judge a word as an RFC 3339 date-time as TOML has them: NULL, with *type, or why not. */
static const char *datetime_syntax(const char *s, size_t n, enum toml_type *type) {
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  size_t i = 0;
  bool date = n >= 5 && s[4] == '-', time = false;
  const char *why;
  if (date) {
    int y = fixed_digits(s, n, &i, 4);
    int m = i < n && s[i++] == '-' ? fixed_digits(s, n, &i, 2) : -1;
    int d = m >= 0 && i < n && s[i++] == '-' ? fixed_digits(s, n, &i, 2) : -1;
    if (y < 0 || m < 0 || d < 0)
      return "a date is YYYY-MM-DD";
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12 || d < 1 || d > days[m - 1] || (m == 2 && d == 29 && !leap))
      return "no such day";
    if (i < n) {
      if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
        return "a date-time is YYYY-MM-DDTHH:MM:SS";
      i++;
      time = true;
    }
  } else {
    time = true;
  }
  if (time && (why = time_syntax(s, n, &i)) != NULL)
    return why;
  bool offset = false;
  if (date && time && i < n) {
    offset = true;
    if (s[i] == 'Z' || s[i] == 'z') {
      i++;
    } else if (s[i] == '+' || s[i] == '-') {
      i++;
      int h = fixed_digits(s, n, &i, 2);
      int m = h >= 0 && i < n && s[i++] == ':' ? fixed_digits(s, n, &i, 2) : -1;
      if (h < 0 || m < 0 || h > 23 || m > 59)
        return "an offset is Z or +HH:MM (hours 00-23, minutes 00-59)";
    } else {
      return "an offset is Z or +HH:MM";
    }
  }
  if (i != n)
    return "not a date or time";
  *type = !date    ? TOML_TIME_LOCAL
          : !time  ? TOML_DATE_LOCAL
          : offset ? TOML_DATETIME
                   : TOML_DATETIME_LOCAL;
  return NULL;
}

static int integer_value(struct parser *p, size_t at, const char *s, size_t n, int radix,
                         int64_t *out) {
  bool negative = s[0] == '-';
  uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, mag = 0;
  for (size_t i = radix == 10 ? 0 : 2; i < n; i++) {
    int d = hex_value((unsigned char)s[i]);
    if (d < 0 || s[i] == '+' || s[i] == '-' || s[i] == '_')
      continue; /* the sign, underscores */
    if (mag > (limit - (uint64_t)d) / (uint64_t)radix)
      return fail_at(p, at,
                     "integer out of range: TOML integers are 64-bit, from "
                     "-9223372036854775808 to 9223372036854775807");
    mag = mag * (uint64_t)radix + (uint64_t)d;
  }
  *out = negative ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
  return ERR_OK;
}

/* Convert a word that number_syntax() accepted as a float. strtod reads it once the
 * underscores are gone; the grammar check keeps strtod's own extensions (hex floats,
 * "infinity") out, and jacobi never calls setlocale, so '.' is the decimal point. */
static int float_value(struct parser *p, size_t at, const char *s, size_t n, double *out) {
  size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
  if (n - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
    double v = s[i] == 'i' ? INFINITY : NAN;
    *out = s[0] == '-' ? -v : v;
    return ERR_OK;
  }
  size_t mark = p->strings_len;
  for (size_t k = 0, run = 0; k <= n; k++) {
    if (k == n || s[k] == '_') {
      CHECK(append(p, s + run, k - run));
      run = k + 1;
    }
  }
  errno = 0;
  double v = strtod(p->strings + mark, NULL);
  int range = errno;
  p->strings_len = mark; /* the cleaned copy was scratch */
  p->strings[mark] = '\0';
  if (range == ERANGE && isinf(v))
    return fail_at(p, at, "number out of range: the largest double is about 1.8e308");
  *out = v; /* an underflow (ERANGE, v tiny or 0) is the nearest double: fine */
  return ERR_OK;
}

/* A word: a number, a date or time, true or false (or an error saying what it is instead). */
static int parse_word(struct parser *p, struct record *r) {
  size_t at = p->pos;
  while (is_word_char(peek(p, 0)))
    p->pos++;
  /* A date and a time may be separated by one space: 1979-05-27 07:32:00. */
  if (p->pos - at == 10 && looks_like_date(p->text + at, 10) && peek(p, 0) == ' ' &&
      is_digit(peek(p, 1)) && is_digit(peek(p, 2)) && peek(p, 3) == ':') {
    p->pos++;
    while (is_word_char(peek(p, 0)))
      p->pos++;
  }
  const char *s = p->text + at;
  size_t n = p->pos - at;
  struct toml_value *v = &r->entry.value;
  if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) {
    v->type = TOML_BOOL;
    v->boolean = n == 4;
    return ERR_OK;
  }
  if (looks_like_date(s, n)) {
    const char *why = datetime_syntax(s, n, &v->type);
    if (why != NULL)
      return fail_span(p, at, p->pos, "invalid date or time (%s)", why);
    CHECK(append_terminated(p, s, n, &r->string_off));
    v->string_len = n;
    return ERR_OK;
  }
  bool is_float;
  int radix;
  const char *why = number_syntax(s, n, &is_float, &radix);
  if (why != NULL && (is_digit(s[0]) || s[0] == '+' || s[0] == '-' || s[0] == '.'))
    return fail_at(p, at, "invalid number (%s)", why);
  if (why != NULL)
    return fail_at(p, at,
                   "expected a value: a number, true, false, a \"string\", a date, an [array] or "
                   "an {inline table} (text needs quotes)");
  v->type = is_float ? TOML_FLOAT : TOML_INTEGER;
  return is_float ? float_value(p, at, s, n, &v->number)
                  : integer_value(p, at, s, n, radix, &v->integer);
}

/* A value other than an array or an inline table at p->pos, into r. */
static int parse_scalar(struct parser *p, struct record *r) {
  size_t at = p->pos;
  int c = peek(p, 0);
  if (at_multiline_quote(p)) {
    r->entry.value.type = TOML_STRING;
    return scan_multiline(p, &r->string_off, &r->entry.value.string_len);
  }
  if (c == '"' || c == '\'') {
    r->entry.value.type = TOML_STRING;
    return scan_string(p, &r->string_off, &r->entry.value.string_len);
  }
  if (c >= 0 && is_word_char(c))
    return parse_word(p, r);
  return fail_at(p, at,
                 "expected a value: a number, true, false, a \"string\", a date, an [array] or "
                 "an {inline table}");
}

/* Blanks, line ends and comments: what may sit between the items of an array. */
static void skip_array_space(struct parser *p) {
  for (;;) {
    skip_blanks(p);
    skip_comment(p);
    if (!is_newline(p))
      return;
    eat_newline(p);
  }
}

static int unterminated_array(struct parser *p, int open_line) {
  return fail_plain(p, open_line,
                    "unterminated array: expected \"]\" to close the \"[\" on this line, got "
                    "end of %s",
                    p->one_value ? "the value" : "file");
}

static int too_deep(struct parser *p) {
  return fail_at(p, p->pos, "arrays and inline tables nested more than %d deep", TOML_MAX_DEPTH);
}

/* Append r to a record list (a stack or an arena); *index, when asked, is where it went. */
static int push(struct parser *p, struct record **list, size_t *n, size_t *cap,
                const struct record *r, size_t *index) {
  struct record *moved = grow(*list, cap, *n + 1, sizeof *moved);
  if (moved == NULL)
    return out_of_memory(p);
  *list = moved;
  if (index != NULL)
    *index = *n;
  moved[(*n)++] = *r;
  return ERR_OK;
}

/* Move the records above `mark` of a stack to the end of an arena, at *off. */
static int settle(struct parser *p, struct record *stack, size_t *nstack, size_t mark,
                  struct record **arena, size_t *n, size_t *cap, size_t *off) {
  size_t k = *nstack - mark;
  struct record *moved = grow(*arena, cap, *n + k, sizeof *moved);
  if (moved == NULL)
    return out_of_memory(p);
  *arena = moved;
  *off = *n;
  if (k > 0)
    memcpy(moved + *n, stack + mark, k * sizeof *moved);
  *n += k;
  *nstack = mark;
  return ERR_OK;
}

static int parse_element(struct parser *p, struct record *r, int depth);
static int parse_inline_table(struct parser *p, const struct scope *scope, int depth);

/* An array at p->pos (its '['). An array of integers only (or an empty one) is a
 * TOML_INT_ARRAY, as it always was; any other a TOML_ARRAY. */
static int parse_array(struct parser *p, struct record *r, int depth) {
  if (depth >= TOML_MAX_DEPTH)
    return too_deep(p);
  int open_line = p->line;
  p->pos++;
  size_t mark = p->nstack;
  for (;;) {
    skip_array_space(p);
    size_t at = p->pos;
    int c = peek(p, 0);
    if (c == ']')
      break;
    if (c < 0)
      return unterminated_array(p, open_line);
    if (c == ',')
      return fail_at(p, at, "expected a value or \"]\" in the array");
    struct record item = {.entry = {.line = p->line}};
    CHECK(parse_element(p, &item, depth + 1));
    CHECK(push(p, &p->stack, &p->nstack, &p->stack_cap, &item, NULL));
    skip_array_space(p);
    c = peek(p, 0);
    if (c < 0)
      return unterminated_array(p, open_line);
    if (c == ',')
      p->pos++;
    else if (c != ']')
      return fail_at(p, p->pos, "expected \",\" or \"]\" after an item of the array");
  }
  p->pos++;
  size_t n = p->nstack - mark;
  bool integers = true;
  for (size_t i = mark; i < p->nstack; i++)
    integers &= p->stack[i].entry.value.type == TOML_INTEGER;
  struct toml_value *v = &r->entry.value;
  v->type = integers ? TOML_INT_ARRAY : TOML_ARRAY;
  v->nitems = n;
  if (integers) {
    int64_t *ints = grow(p->ints, &p->ints_cap, p->ints_len + n, sizeof *ints);
    if (ints == NULL)
      return out_of_memory(p);
    p->ints = ints;
    r->items_off = p->ints_len;
    for (size_t i = mark; i < p->nstack; i++)
      ints[p->ints_len++] = p->stack[i].entry.value.integer;
  }
  return settle(p, p->stack, &p->nstack, mark, &p->elements, &p->nelements, &p->elements_cap,
                &r->values_off);
}

/* A value at p->pos into r: an array, an inline table with its own entries (inside an array,
 * or a --set value), or a scalar. */
static int parse_element(struct parser *p, struct record *r, int depth) {
  int c = peek(p, 0);
  if (c == '[')
    return parse_array(p, r, depth);
  if (c != '{')
    return parse_scalar(p, r);
  size_t node = 0, mark = p->nmstack;
  CHECK(anonymous_node(p, &node));
  struct scope scope = {.node = node, .prefix = ""};
  CHECK(parse_inline_table(p, &scope, depth));
  r->entry.value.type = TOML_TABLE;
  r->entry.value.nmembers = p->nmstack - mark;
  return settle(p, p->mstack, &p->nmstack, mark, &p->members, &p->nmembers, &p->members_cap,
                &r->members_off);
}

/* The value at p->pos, with its source text, into r. */
static int parse_value(struct parser *p, struct record *r, int depth) {
  size_t at = p->pos;
  CHECK(parse_element(p, r, depth));
  r->entry.raw_len = p->pos - at;
  return append_terminated(p, p->text + at, p->pos - at, &r->raw_off);
}

/* ---- statements ------------------------------------------------------------------------------ */

static int add_record(struct parser *p, const struct record *r) {
  return push(p, &p->records, &p->nrecords, &p->records_cap, r, NULL);
}

/* key = value in `scope`; *key_off (when asked) is where its display key went. An inline table
 * { ... } as the value is its entry (TOML_TABLE, raw the braces) followed by its keys' own, as
 * if it were written as a [table]. */
static int parse_member(struct parser *p, const struct scope *scope, int depth, size_t *key_off) {
  CHECK(parse_key(p, scope->prefix, scope->prefix_len));
  const char *own = p->key.display + (scope->prefix_len ? scope->prefix_len + 1 : 0);
  if (peek(p, 0) != '=')
    return fail_at(p, p->pos, "expected \"=\" after the key %s", own);
  p->pos++;
  skip_blanks(p);
  if (p->pos >= p->len || is_newline(p) || peek(p, 0) == '#')
    return fail_at(p, p->pos, "expected a value after \"%s =\"", own);
  size_t node = 0;
  CHECK(define_value(p, scope->node, &node)); /* on the key's line, before the value's lines */
  struct record r = {.entry = {.nparts = scope->nparts + (int)p->key.nparts,
                               .head_len = scope->nparts ? scope->head_len : p->key.end[0],
                               .line = p->line,
                               .array_index = scope->array_index}};
  char key[TOML_MAX_KEY_BYTES + 1]; /* nested keys reuse p->key */
  size_t key_len = p->key.len;
  memcpy(key, p->key.display, key_len + 1);
  CHECK(append_terminated(p, key, key_len, &r.key_off));
  if (key_off != NULL)
    *key_off = r.key_off;
  struct record **list = scope->top ? &p->records : &p->mstack;
  size_t *n = scope->top ? &p->nrecords : &p->nmstack;
  size_t *cap = scope->top ? &p->records_cap : &p->mstack_cap;
  if (peek(p, 0) != '{') {
    CHECK(parse_value(p, &r, depth));
    return push(p, list, n, cap, &r, NULL);
  }
  size_t at = p->pos, index = 0;
  p->nodes[node].kind = NODE_INLINE;
  r.entry.value.type = TOML_TABLE;
  CHECK(push(p, list, n, cap, &r, &index));
  struct scope inner = {.node = node,
                        .prefix = key,
                        .prefix_len = key_len,
                        .head_len = r.entry.head_len,
                        .nparts = r.entry.nparts,
                        .array_index = scope->array_index,
                        .top = scope->top};
  CHECK(parse_inline_table(p, &inner, depth));
  size_t raw_off;
  CHECK(append_terminated(p, p->text + at, p->pos - at, &raw_off));
  (*list)[index].raw_off = raw_off;
  (*list)[index].entry.raw_len = p->pos - at;
  return ERR_OK;
}

/* { key = value, ... } at p->pos: on one line, as TOML 1.0 has it, without a trailing comma. */
static int parse_inline_table(struct parser *p, const struct scope *scope, int depth) {
  if (depth >= TOML_MAX_DEPTH)
    return too_deep(p);
  size_t open = p->pos;
  p->pos++;
  skip_blanks(p);
  if (peek(p, 0) == '}') {
    p->pos++;
    return ERR_OK;
  }
  for (;;) {
    skip_blanks(p);
    if (p->pos >= p->len || is_newline(p) || peek(p, 0) == '#')
      return fail_at(p, p->pos,
                     "unterminated inline table: an inline table is written on one line, "
                     "{ key = value, ... }, and %s",
                     p->pos > open + 1 && p->text[p->pos - 1] == ',' ? "takes no trailing comma"
                                                                     : "ends with \"}\"");
    CHECK(parse_member(p, scope, depth + 1, NULL));
    skip_blanks(p);
    int c = peek(p, 0);
    if (c == '}') {
      p->pos++;
      return ERR_OK;
    }
    if (c < 0 || is_newline(p) || c == '#')
      return fail_at(p, p->pos,
                     "unterminated inline table: an inline table is written on one line, "
                     "{ key = value, ... }, and ends with \"}\"");
    if (c != ',')
      return fail_at(p, p->pos, "expected \",\" or \"}\" after a value of the inline table");
    p->pos++;
    skip_blanks(p);
    if (peek(p, 0) == '}')
      return fail_at(p, p->pos, "a trailing comma is not allowed in an inline table");
  }
}

/* After a statement: blanks, maybe a comment, then the end of the line or file. */
static int end_of_line(struct parser *p, const char *after, const char *what) {
  skip_blanks(p);
  skip_comment(p);
  if (p->pos >= p->len)
    return ERR_OK;
  if (is_newline(p)) {
    eat_newline(p);
    return ERR_OK;
  }
  return fail_at(p, p->pos, "expected the end of the line after %s%s", after, what);
}

/* [table] or [[array element]] */
static int parse_header(struct parser *p) {
  size_t open = p->pos;
  bool array = looking_at(p, "[[");
  const char *close = array ? "]]" : "]", *opening = array ? "[[" : "[";
  p->pos += array ? 2 : 1;
  CHECK(parse_key(p, "", 0));
  if (!looking_at(p, close)) {
    if (p->pos >= p->len || is_newline(p))
      return fail_at(p, p->pos, "unterminated table header %s%s: expected \"%s\"", opening,
                     p->key.display, close);
    return fail_at(p, p->pos, "expected \"%s\" after %s%s", close, opening, p->key.display);
  }
  p->pos += array ? 2 : 1;
  CHECK(array ? define_array_element(p) : define_table(p));
  struct record r = {.entry = {.nparts = (int)p->key.nparts,
                               .head_len = p->key.end[0],
                               .line = p->line,
                               .raw_len = p->pos - open,
                               .array_index = p->table_array_index,
                               .value = {.type = array ? TOML_TABLE_ARRAY_ITEM : TOML_TABLE}}};
  CHECK(append_terminated(p, p->key.display, p->key.len, &r.key_off));
  CHECK(append_terminated(p, p->text + open, p->pos - open, &r.raw_off));
  p->table_key_off = r.key_off;
  p->table_key_len = p->key.len;
  p->table_head_len = r.entry.head_len;
  p->table_nparts = r.entry.nparts;
  CHECK(add_record(p, &r));
  char shown[TOML_MAX_KEY_BYTES + 5];
  snprintf(shown, sizeof shown, "%s%s%s", opening, p->key.display, close);
  return end_of_line(p, "the table header ", shown);
}

/* key = value */
static int parse_keyval(struct parser *p) {
  /* The key is displayed after the table's: copy the table's, as the arena may move. */
  char table[TOML_MAX_KEY_BYTES + 1];
  memcpy(table, p->strings ? p->strings + p->table_key_off : "", p->table_key_len);
  table[p->table_key_len] = '\0';
  struct scope scope = {.node = p->table_node,
                        .prefix = table,
                        .prefix_len = p->table_key_len,
                        .head_len = p->table_head_len,
                        .nparts = p->table_nparts,
                        .array_index = p->table_array_index,
                        .top = true};
  size_t key_off;
  CHECK(parse_member(p, &scope, 0, &key_off));
  return end_of_line(p, "the value of ", p->strings + key_off);
}

/* ---- documents ------------------------------------------------------------------------------- */

static void parser_release(struct parser *p) {
  free(p->strings);
  free(p->ints);
  free(p->records);
  free(p->stack);
  free(p->elements);
  free(p->mstack);
  free(p->members);
  free(p->nodes);
  free(p->slots);
}

/* A record's value with its offsets made pointers into the document. */
static struct toml_value resolve_value(const struct parser *p, const struct record *r,
                                       const struct toml_doc *doc) {
  struct toml_value v = r->entry.value;
  switch (v.type) {
  case TOML_STRING:
  case TOML_DATETIME:
  case TOML_DATETIME_LOCAL:
  case TOML_DATE_LOCAL:
  case TOML_TIME_LOCAL:
    v.string = p->strings + r->string_off;
    break;
  case TOML_INT_ARRAY:
    v.items = v.nitems > 0 ? p->ints + r->items_off : NULL;
    v.values = v.nitems > 0 ? doc->values + r->values_off : NULL;
    break;
  case TOML_ARRAY:
    v.values = doc->values + r->values_off;
    break;
  case TOML_TABLE:
    v.members = v.nmembers > 0 ? doc->members + r->members_off : NULL;
    break;
  default:
    break;
  }
  return v;
}

static void resolve_entry(const struct parser *p, const struct record *r,
                          const struct toml_doc *doc, struct toml_entry *e) {
  *e = r->entry;
  e->key = p->strings + r->key_off;
  e->raw = p->strings + r->raw_off;
  e->value = resolve_value(p, r, doc);
}

/* Turn the records into a document: offsets become pointers, the arenas change hands. */
static int finish(struct parser *p, struct toml_doc **out) {
  struct toml_doc *doc = calloc(1, sizeof *doc);
  struct toml_entry *entries = calloc(p->nrecords ? p->nrecords : 1, sizeof *entries);
  struct toml_value *values = calloc(p->nelements ? p->nelements : 1, sizeof *values);
  struct toml_entry *members = calloc(p->nmembers ? p->nmembers : 1, sizeof *members);
  if (doc == NULL || entries == NULL || values == NULL || members == NULL) {
    free(doc);
    free(entries);
    free(values);
    free(members);
    return out_of_memory(p);
  }
  doc->values = values;
  doc->members = members;
  for (size_t i = 0; i < p->nrecords; i++)
    resolve_entry(p, &p->records[i], doc, &entries[i]);
  for (size_t i = 0; i < p->nelements; i++)
    values[i] = resolve_value(p, &p->elements[i], doc);
  for (size_t i = 0; i < p->nmembers; i++)
    resolve_entry(p, &p->members[i], doc, &members[i]);
  doc->entries = entries;
  doc->nentries = p->nrecords;
  doc->strings = p->strings;
  doc->integers = p->ints;
  p->strings = NULL;
  p->ints = NULL;
  *out = doc;
  return ERR_OK;
}

static int parse_statements(struct parser *p) {
  if (p->len > INT32_MAX)
    return fail_plain(p, 1, "the text is too large (%zu bytes)", p->len);
  if (looking_at(p, "\xEF\xBB\xBF")) /* a UTF-8 byte order mark */
    p->pos += 3;
  CHECK(validate(p));
  p->nodes = grow(NULL, &p->nodes_cap, 1, sizeof *p->nodes);
  if (p->nodes == NULL)
    return out_of_memory(p);
  p->nodes[0] = (struct node){.kind = NODE_TABLE}; /* the root table */
  p->nnodes = 1;
  while (p->pos < p->len) {
    skip_blanks(p);
    skip_comment(p);
    if (p->pos >= p->len)
      break;
    if (is_newline(p))
      eat_newline(p);
    else if (peek(p, 0) == '[')
      CHECK(parse_header(p));
    else
      CHECK(parse_keyval(p));
  }
  /* Every string must have room for the arena's terminator, even an empty document's. */
  return append(p, "", 0);
}

int toml_parse(const char *text, size_t len, const char *name, struct toml_doc **out) {
  *out = NULL;
  struct parser p = {.text = text, .len = len, .line = 1, .name = name ? name : "(config)"};
  int status = parse_statements(&p);
  if (status == ERR_OK)
    status = finish(&p, out);
  parser_release(&p);
  return status;
}

/* One value, then nothing but blanks. */
static int parse_one_value(struct parser *p, struct record *r) {
  CHECK(validate(p));
  skip_blanks(p);
  size_t start = p->pos;
  if (p->pos >= p->len)
    return fail_at(p, p->pos, "expected a value");
  CHECK(parse_value(p, r, 0));
  skip_blanks(p);
  if (p->pos < p->len)
    return fail_at(p, p->pos, "expected the end of the value after %.*s",
                   (int)(r->entry.raw_len < 60 ? r->entry.raw_len : 60), p->text + start);
  CHECK(append_terminated(p, "", 0, &r->key_off));
  return add_record(p, r);
}

int toml_parse_value(const char *text, size_t len, const char *name, struct toml_doc **out) {
  *out = NULL;
  struct parser p = {.text = text, .len = len, .line = 1, .name = name, .one_value = true};
  struct record r = {.entry = {.line = 1}};
  int status = len > INT32_MAX ? fail_plain(&p, 1, "the value is too large (%zu bytes)", len)
                               : parse_one_value(&p, &r);
  if (status == ERR_OK)
    status = finish(&p, out);
  parser_release(&p);
  return status;
}

void toml_destroy(struct toml_doc **doc) {
  if (doc == NULL || *doc == NULL)
    return;
  free((*doc)->entries);
  free((*doc)->strings);
  free((*doc)->integers);
  free((*doc)->values);
  free((*doc)->members);
  free(*doc);
  *doc = NULL;
}

/* ---- excerpts -------------------------------------------------------------------------------- */

const char *toml_excerpt(const char *text, size_t len, char buf[TOML_EXCERPT_SIZE]) {
  enum { MAX_CHARS = 40 };
  const unsigned char *s = (const unsigned char *)text;
  bool quoted = len > 0 && (s[0] == '"' || s[0] == '\'');
  size_t out = 0, i = 0, chars = 0;
  if (!quoted)
    buf[out++] = '"';
  while (i < len && chars < MAX_CHARS) {
    if (s[i] == ' ' || is_control(s[i])) {
      /* A run of blanks is shown as it is, unless it holds a tab, a line end or another
       * control character: then as one space (an array over several lines reads well). */
      size_t j = i;
      bool control = false;
      while (j < len && (s[j] == ' ' || is_control(s[j])))
        control |= s[j++] != ' ';
      if (control) {
        buf[out++] = ' ';
        chars++;
        i = j;
      }
      for (; i < j && chars < MAX_CHARS; i++, chars++)
        buf[out++] = ' ';
      continue;
    }
    size_t k = utf8_length(s + i, len - i);
    if (k == 0) {
      buf[out++] = '?';
      i++;
    } else {
      memcpy(buf + out, s + i, k);
      out += k;
      i += k;
    }
    chars++;
  }
  if (i < len) {
    memcpy(buf + out, "...", 3);
    out += 3;
    if (quoted)
      buf[out++] = (char)s[0];
  }
  if (!quoted)
    buf[out++] = '"';
  buf[out] = '\0';
  return buf;
}
