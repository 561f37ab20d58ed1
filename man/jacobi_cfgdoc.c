/* jacobi_cfgdoc.c - write the configuration reference into docs/configuration.md from the schema.
 *
 * The table between the markers CFG_REFERENCE_BEGIN and CFG_REFERENCE_END (cfg.h) is
 * cfg_print_reference()'s output, the same table the man page's CONFIGURATION section is made
 * from; everything outside the markers is left as it is, byte for byte. test_cfg compares the
 * file with the schema, so a schema changed without running this fails the suite. A build tool,
 * not part of jacobi: no MPI, no HDF5.
 *
 * usage: jacobi_cfgdoc DOC.md   (CMake: `cmake --build build --target docs_config`)
 * Exit 0 when DOC.md holds the schema's table (rewritten or already current), 1 on an error
 * (no markers, an unreadable or unwritable file), 2 on bad usage.
 */
#include "common/err.h"
#include "io/cfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *captured_reference(void) {
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  if (out == NULL)
    return NULL;
  cfg_print_reference(out);
  if (fclose(out) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: jacobi_cfgdoc DOC.md\n");
    return 2;
  }
  const char *path = argv[1];
  char *doc = NULL;
  size_t doc_len = 0;
  if (cfg_read_file(path, &doc, &doc_len) != 0) { /* any text file of <= 1 MiB */
    fprintf(stderr, "jacobi_cfgdoc: %s\n", err_message());
    return 1;
  }
  /* The table starts after the line holding the begin marker and ends before the end marker. */
  const char *begin = strstr(doc, CFG_REFERENCE_BEGIN);
  const char *begin_eol = begin != NULL ? strchr(begin, '\n') : NULL;
  const char *end = begin_eol != NULL ? strstr(begin_eol, CFG_REFERENCE_END) : NULL;
  if (end == NULL) {
    fprintf(stderr, "jacobi_cfgdoc: %s: expected a line holding \"%s\" and, after it, \"%s\"\n",
            path, CFG_REFERENCE_BEGIN, CFG_REFERENCE_END);
    free(doc);
    return 1;
  }
  char *reference = captured_reference();
  if (reference == NULL) {
    fprintf(stderr, "jacobi_cfgdoc: out of memory\n");
    free(doc);
    return 1;
  }
  /* Written beside it and renamed over it, so that a failed write leaves DOC.md as it was; a
   * blank line either side of the table, so that Markdown renders it as a table. */
  char tmp[4096];
  int failed = snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp;
  FILE *out = failed ? NULL : fopen(tmp, "w");
  failed = out == NULL;
  if (!failed) {
    fwrite(doc, 1, (size_t)(begin_eol + 1 - doc), out);
    fprintf(out, "\n%s\n", reference);
    fputs(end, out);
    failed = ferror(out) != 0;
    failed = (fclose(out) != 0) || failed;
    failed = failed || rename(tmp, path) != 0;
    if (failed)
      remove(tmp);
  }
  if (failed)
    perror(path);
  free(reference);
  free(doc);
  return failed ? 1 : 0;
}
