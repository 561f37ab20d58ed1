/* toml.h - a focused TOML reader: the subset of TOML 1.0 that jacobi's config files need.
 *
 * toml_parse() turns a whole file into a flat list of entries in source order: every [table]
 * header and every `key = value`, each with its full dotted key ("solver.tolerance"), a typed
 * value, its line and the value's source text (for the "got ..." of messages). It enforces
 * TOML's rules (UTF-8, escapes, number syntax, no key defined twice, no key both a table and a
 * value) and says plainly what it does not support and what to write instead.
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
 * array of [[tables]], never both, and keys reach an element only under its header.
 *
 * Supported: [tables] and [dotted.tables]; [[arrays of tables]] with a one-part name; bare,
 * "quoted" and 'literal' keys, dotted keys; one-line "basic" (with escapes) and 'literal'
 * strings; decimal integers (int64); floats (including inf and nan); true/false; arrays of
 * integers; comments; CRLF; a UTF-8 BOM.
 * Not supported (a clear error): multi-line strings, inline tables, arrays of tables under a
 * table ([[a.b]]) and tables under an element ([region.sub] after [[region]]), arrays of
 * anything but integers, hexadecimal/octal/binary integers, dates and times.
 * Not for: knowing what the keys mean (cfg.h does), writing TOML, MPI.
 *
 * Robust to any input: no recursion, no read past `len`, linear time and memory. Keys are
 * limited to TOML_MAX_KEY_BYTES, which keeps every entry small. Not collective; no MPI inside.
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
  TOML_INT_ARRAY,        /* value.items, value.nitems (possibly 0) */
};

struct toml_value {
  enum toml_type type;
  bool boolean;
  int64_t integer;
  double number;
  const char *string; /* decoded, NUL-terminated; may hold NUL bytes (\u0000): see string_len */
  size_t string_len;
  const int64_t *items;
  size_t nitems;
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
