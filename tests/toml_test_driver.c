/* toml_test_driver.c - reads one TOML file with jacobi's reader (io/toml.h) and prints it in
 * toml-test's tagged JSON form, or prints "invalid" and the reader's message and exits 1.
 *
 * toml-test (the TOML project's conformance suite) runs a decoder on each of its documents:
 * a valid one must print the JSON the suite expects ({"type": "integer", "value": "1"} for a
 * value, objects for tables, arrays for arrays), an invalid one must fail. This is that
 * decoder for our reader; tests/toml_test_check.py walks the suite and compares.
 *
 *   toml_test_driver FILE.toml     (or - for standard input)
 *
 * The reader gives a flat list of entries with full keys (toml.h); the driver rebuilds the
 * tree by TOML's rule that a key or a header always goes into the last element of an array of
 * tables it names, and a [[header]] starts a new element. Not part of jacobi: a test tool.
 */
#include "common/err.h"
#include "io/toml.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { NODE_TABLE, NODE_ARRAY_OF_TABLES, NODE_VALUE };

struct node {
  char *name;
  size_t name_len;
  enum kind kind;
  const struct toml_value *value; /* NODE_VALUE */
  struct node **children;         /* a table's keys, or an array's elements (name NULL) */
  size_t nchildren, cap;
};

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) {
    fputs("out of memory\n", stderr);
    exit(2);
  }
  return p;
}

static struct node *node_new(const char *name, size_t len, enum kind kind) {
  struct node *n = xmalloc(sizeof *n);
  memset(n, 0, sizeof *n);
  if (name != NULL) {
    n->name = xmalloc(len + 1);
    memcpy(n->name, name, len);
    n->name[len] = '\0';
  }
  n->name_len = len;
  n->kind = kind;
  return n;
}

static void node_add(struct node *parent, struct node *child) {
  if (parent->nchildren == parent->cap) {
    parent->cap = parent->cap ? 2 * parent->cap : 8;
    struct node **moved = realloc(parent->children, parent->cap * sizeof *moved);
    if (moved == NULL) {
      fputs("out of memory\n", stderr);
      exit(2);
    }
    parent->children = moved;
  }
  parent->children[parent->nchildren++] = child;
}

static void node_free(struct node *n) {
  for (size_t i = 0; i < n->nchildren; i++)
    node_free(n->children[i]);
  free(n->children);
  free(n->name);
  free(n);
}

/* Split a display key (toml.h: parts joined by '.', bare or as "quoted" TOML keys with \" \\
 * and \uXXXX escapes) into decoded parts. Returns the number of parts. */
static size_t split_key(const char *key, char parts[][4 * TOML_MAX_KEY_BYTES + 1], size_t lens[]) {
  size_t n = 0;
  const char *s = key;
  while (*s != '\0') {
    size_t len = 0;
    char *out = parts[n];
    if (*s == '"') {
      for (s++; *s != '"' && *s != '\0'; s++) {
        if (*s == '\\' && s[1] == 'u') {
          unsigned cp = (unsigned)strtoul((char[5]){s[2], s[3], s[4], s[5], 0}, NULL, 16);
          out[len++] = (char)cp; /* the reader escapes control characters only */
          s += 5;
        } else if (*s == '\\') {
          out[len++] = *++s;
        } else {
          out[len++] = *s;
        }
      }
      s++;
    } else {
      while (*s != '.' && *s != '\0')
        out[len++] = *s++;
    }
    lens[n++] = len;
    if (*s == '.')
      s++;
  }
  return n;
}

static struct node *find_child(struct node *t, const char *name, size_t len) {
  for (size_t i = 0; i < t->nchildren; i++)
    if (t->children[i]->name_len == len && memcmp(t->children[i]->name, name, len) == 0)
      return t->children[i];
  return NULL;
}

/* The table that part `name` of a path names under t: made if missing; the last element of
 * an array of tables. */
static struct node *descend(struct node *t, const char *name, size_t len) {
  struct node *c = find_child(t, name, len);
  if (c == NULL) {
    c = node_new(name, len, NODE_TABLE);
    node_add(t, c);
  }
  if (c->kind == NODE_ARRAY_OF_TABLES)
    return c->nchildren ? c->children[c->nchildren - 1] : c;
  return c;
}

static void add_entries(struct node *root, const struct toml_entry *entries, size_t n);

static void add_entry(struct node *root, const struct toml_entry *e) {
  static char parts[TOML_MAX_KEY_BYTES][4 * TOML_MAX_KEY_BYTES + 1];
  size_t lens[TOML_MAX_KEY_BYTES];
  size_t np = split_key(e->key, parts, lens);
  struct node *t = root;
  for (size_t i = 0; i + 1 < np; i++)
    t = descend(t, parts[i], lens[i]);
  const char *last = parts[np - 1];
  size_t last_len = lens[np - 1];
  if (e->value.type == TOML_TABLE) {
    descend(t, last, last_len);
  } else if (e->value.type == TOML_TABLE_ARRAY_ITEM) {
    struct node *a = find_child(t, last, last_len);
    if (a == NULL) {
      a = node_new(last, last_len, NODE_ARRAY_OF_TABLES);
      node_add(t, a);
    }
    node_add(a, node_new(NULL, 0, NODE_TABLE));
  } else {
    struct node *v = node_new(last, last_len, NODE_VALUE);
    v->value = &e->value;
    node_add(t, v);
  }
}

static void add_entries(struct node *root, const struct toml_entry *entries, size_t n) {
  for (size_t i = 0; i < n; i++)
    add_entry(root, &entries[i]);
}

static void print_string(const char *s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20 || c == 0x7F)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static void print_tagged(const char *type, const char *value) {
  printf("{\"type\": \"%s\", \"value\": ", type);
  print_string(value, strlen(value));
  putchar('}');
}

static void print_node(const struct node *n);

static void print_value(const struct toml_value *v) {
  char buf[64];
  switch (v->type) {
  case TOML_STRING:
    printf("{\"type\": \"string\", \"value\": ");
    print_string(v->string, v->string_len);
    putchar('}');
    break;
  case TOML_INTEGER:
    snprintf(buf, sizeof buf, "%lld", (long long)v->integer);
    print_tagged("integer", buf);
    break;
  case TOML_FLOAT:
    if (isnan(v->number))
      snprintf(buf, sizeof buf, "nan");
    else if (isinf(v->number))
      snprintf(buf, sizeof buf, "%sinf", v->number < 0 ? "-" : "");
    else
      snprintf(buf, sizeof buf, "%.17g", v->number);
    print_tagged("float", buf);
    break;
  case TOML_BOOL:
    print_tagged("bool", v->boolean ? "true" : "false");
    break;
  case TOML_INT_ARRAY:
  case TOML_ARRAY:
    putchar('[');
    for (size_t i = 0; i < v->nitems; i++) {
      printf(i ? ", " : "");
      print_value(&v->values[i]);
    }
    putchar(']');
    break;
  case TOML_TABLE: { /* an inline table inside an array: its own entries */
    struct node *table = node_new(NULL, 0, NODE_TABLE);
    add_entries(table, v->members, v->nmembers);
    print_node(table);
    node_free(table);
    break;
  }
  case TOML_DATETIME:
    print_tagged("datetime", v->string);
    break;
  case TOML_DATETIME_LOCAL:
    print_tagged("datetime-local", v->string);
    break;
  case TOML_DATE_LOCAL:
    print_tagged("date-local", v->string);
    break;
  case TOML_TIME_LOCAL:
    print_tagged("time-local", v->string);
    break;
  default:
    printf("{\"type\": \"unknown\", \"value\": \"%d\"}", (int)v->type);
    break;
  }
}

static void print_node(const struct node *n) {
  if (n->kind == NODE_VALUE) {
    print_value(n->value);
    return;
  }
  bool array = n->kind == NODE_ARRAY_OF_TABLES;
  putchar(array ? '[' : '{');
  for (size_t i = 0; i < n->nchildren; i++) {
    printf(i ? ", " : "");
    if (!array) {
      print_string(n->children[i]->name, n->children[i]->name_len);
      printf(": ");
    }
    print_node(n->children[i]);
  }
  putchar(array ? ']' : '}');
}

static char *read_all(FILE *f, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  char *buf = xmalloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      cap *= 2;
      char *moved = realloc(buf, cap);
      if (moved == NULL) {
        fputs("out of memory\n", stderr);
        exit(2);
      }
      buf = moved;
    }
  }
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: toml_test_driver FILE.toml (or - for standard input)\n", stderr);
    return 2;
  }
  FILE *f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "rb");
  if (f == NULL) {
    perror(argv[1]);
    return 2;
  }
  size_t len;
  char *text = read_all(f, &len);
  if (f != stdin)
    fclose(f);
  struct toml_doc *doc = NULL;
  int status = toml_parse(text, len, argv[1], &doc);
  free(text);
  if (status != ERR_OK) {
    printf("invalid\n%s\n", err_message());
    return 1;
  }
  struct node *root = node_new(NULL, 0, NODE_TABLE);
  add_entries(root, doc->entries, doc->nentries);
  print_node(root);
  putchar('\n');
  node_free(root);
  toml_destroy(&doc);
  return 0;
}
