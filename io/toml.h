/* toml.h - the TOML 1.0 reader of jacobi's config files, our own (docs/configuration.md).
 *
 * toml_parse() turns a whole file into a flat list of entries in source order: every [table]
 * header and every `key = value`, each with its full dotted key ("solver.tolerance"), a typed
 * value, its line and the value's source text (for the "got ..." of messages). It enforces
 * TOML's rules (UTF-8, escapes, number syntax, no key defined twice, no key both a table and a
 * value) and says plainly what was expected where it refuses a document.
 *
 * Arrays of tables stay flat too. Each [[name]] header is an entry of type
 * TOML_TABLE_ARRAY_ITEM (key "name") that starts element N of the array, N = 1, 2, ... in file
 * order, given as its array_index; the keys after it, up to the next header, are entries
 * "name.key" with the same array_index. Every other entry has array_index 0. So
 *
 *     [[region]]          "region"        TOML_TABLE_ARRAY_ITEM  array_index 1
 *     shape = "disk"      "region.shape"  TOML_STRING            array_index 1
 *     [[region]]          "region"        TOML_TABLE_ARRAY_ITEM  array_index 2
 *     shape = "mask"      "region.shape"  TOML_STRING            array_index 2
 *
 * A key may appear once in each element. As TOML says, a name is either one [table] or an
 * array of [[tables]], never both, and keys reach an element only under its header. Arrays of
 * tables nest: [[fruit.variety]] and [fruit.physical] go into the last [[fruit]] so far, and
 * array_index is then the element number in the innermost array of tables.
 *
 * An inline table, key = { a = 1, b.c = 2 }, is flattened like a [table]: an entry of type
 * TOML_TABLE for "key" (raw = the braces as written), then "key.a" and "key.b.c". It is complete
 * as written: no later header or dotted key may add to it. Inside an array, where no key names
 * it, an inline table is a value of type TOML_TABLE whose members are its own entries, keys
 * relative to it, flattened the same way (and so is an inline table given to toml_parse_value).
 *
 * Supported: all of TOML 1.0 (measured against the toml-test suite: docs/configuration.md).
 * Tables, dotted tables, arrays of tables at any depth; bare, "quoted" and 'literal' keys,
 * dotted keys; basic and literal strings, one-line and multi-line (line ends read as LF);
 * integers (decimal, 0x, 0o, 0b; int64); floats (including inf and nan); booleans; offset and
 * local date-times, local dates and local times (checked, and kept as written: value.string);
 * arrays of any values, nested; inline tables; comments; CRLF; a UTF-8 BOM.
 * Limits (a clear error): keys of TOML_MAX_KEY_BYTES, arrays and inline tables nested
 * TOML_MAX_DEPTH deep.
 * Not for: knowing what the keys mean (cfg.h does), writing TOML, MPI.
 *
 * Robust to any input: recursion only into arrays and inline tables, at most TOML_MAX_DEPTH
 * deep; no read past `len`; linear time and memory. Keys are limited to TOML_MAX_KEY_BYTES,
 * which keeps every entry small. Not collective; no MPI inside.
 */
#ifndef JACOBI_TOML_H
#define JACOBI_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest accepted full key, as written in toml_entry.key (jacobi's longest is 33 bytes). */
#define TOML_MAX_KEY_BYTES 128

enum toml_type {
  TOML_TABLE,            /* a [table] header: no value */
  TOML_TABLE_ARRAY_ITEM, /* a [[table]] header, starting element array_index: no value */
  TOML_STRING,           /* value.string, value.string_len */
  TOML_INTEGER,          /* value.integer */
  TOML_FLOAT,            /* value.number (may be inf or nan: the reader's caller judges) */
  TOML_BOOL,             /* value.boolean */
  TOML_INT_ARRAY,        /* an array of integers only: value.items, value.nitems (possibly 0);
                          * value.values too */
  /* Added for TOML 1.0 as a whole (cfg takes none of them as a value yet): */
  TOML_ARRAY,          /* any other array: value.values, value.nitems */
  TOML_DATETIME,       /* 1979-05-27T07:32:00Z: value.string, as written */
  TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00: value.string */
  TOML_DATE_LOCAL,     /* 1979-05-27: value.string */
  TOML_TIME_LOCAL,     /* 07:32:00: value.string */
};

/* Deepest nesting of arrays and inline tables in one value. */
#define TOML_MAX_DEPTH 64

struct toml_value {
  enum toml_type type;
  bool boolean;
  int64_t integer;
  double number;
  const char *string; /* decoded, NUL-terminated; may hold NUL bytes (\u0000): see string_len */
  size_t string_len;
  const int64_t *items;
  size_t nitems;
  /* Arrays (TOML_ARRAY and TOML_INT_ARRAY): the nitems elements, each a value (an array inside
   * an array is a TOML_ARRAY or TOML_INT_ARRAY; an inline table is a TOML_TABLE). */
  const struct toml_value *values;
  /* A TOML_TABLE as a value (an inline table inside an array, or the value of
   * toml_parse_value): its entries, keys relative to it, flattened as a document's are. */
  const struct toml_entry *members;
  size_t nmembers;
};

struct toml_entry {
  /* The full key: its parts joined by '.', a part written bare when it is a valid bare key
   * (so "solver".'tolerance' is solver.tolerance) and as a "quoted" TOML key otherwise. */
  const char *key;
  int nparts;      /* parts in key; 0 for the value of toml_parse_value() */
  size_t head_len; /* key[0, head_len) is the first part (the section, for cfg) */
  int line;        /* 1-based line of the key (of the header, for a table) */
  int array_index; /* 1, 2, ...: the entry is (or starts) that element of an array of tables;
                    * 0: it is not in one */
  const char *raw; /* the value's source text as written (for a table, the header) */
  size_t raw_len;
  struct toml_value value;
};

/* A parsed document. Everything the entries point to belongs to the document. */
struct toml_doc {
  struct toml_entry *entries; /* in source order */
  size_t nentries;
  /* Private: the storage the entries point into. */
  char *strings;
  int64_t *integers;
  struct toml_value *values;  /* array elements */
  struct toml_entry *members; /* entries of inline tables inside arrays */
};

/* ---- reading --------------------------------------------------------------------------------- */

/* Parse `len` bytes of `text` (need not be NUL-terminated; NUL bytes are an error), naming it
 * `name` in messages. On success *out owns the document (free with toml_destroy). On failure
 * *out is NULL and the status is ERR_CONFIG with the first error recorded (err.h) as
 * "NAME:LINE: what was expected, got "..."", or ERR_FAILURE when out of memory. Not collective. */
int toml_parse(const char *text, size_t len, const char *name, struct toml_doc **out);

/* Parse `text` as one value, as written after `key =` (surrounding blanks allowed): a --set
 * value. On success *out is a document of one entry (nparts 0, line 1, raw = the value without
 * the blanks). On a syntax error returns ERR_CONFIG and records "NAME: what was expected, got
 * "..."", or, when `name` is NULL, records nothing (a probe: the caller may fall back, as cfg
 * does for a bare word). ERR_FAILURE (recorded) when out of memory. Not collective. */
int toml_parse_value(const char *text, size_t len, const char *name, struct toml_doc **out);

/* Free a document; accepts NULL and *doc == NULL, and sets *doc to NULL. */
void toml_destroy(struct toml_doc **doc);

/* ---- messages -------------------------------------------------------------------------------- */

/* Size of an excerpt: 40 characters of at most 4 bytes, quotes, "...", NUL. */
#define TOML_EXCERPT_SIZE 176

/* Write `len` bytes of `text` as messages show what they got: inside double quotes unless it
 * starts with a quote of its own, blanks and control characters shown as one space, invalid
 * UTF-8 as '?', cut after 40 characters with "...". Returns buf. */
const char *toml_excerpt(const char *text, size_t len, char buf[TOML_EXCERPT_SIZE]);

#endif /* JACOBI_TOML_H */
