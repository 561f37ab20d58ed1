/* err.c - the recorded failure behind err.h. */
#include "common/err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int recorded_status = ERR_OK;
static char recorded_message[1024];
static char recorded_source[256];
static bool recorded_reported = false; /* printed by a team agreement already */

/* Store text as the recorded message. One too long for the buffer (a 5000-character path) loses
 * its middle, not its end: the end holds the reason, which is what the user needs most. */
static void store_message(const char *text) {
  size_t len = strlen(text), room = sizeof recorded_message - 1;
  if (len <= room) {
    memcpy(recorded_message, text, len + 1);
    return;
  }
  static const char cut[] = " [...] ";
  size_t head = room / 3, tail = room - head - (sizeof cut - 1);
  memcpy(recorded_message, text, head);
  memcpy(recorded_message + head, cut, sizeof cut - 1);
  memcpy(recorded_message + head + sizeof cut - 1, text + len - tail, tail + 1);
}

/* text with its control characters written as C escapes ("\\n", "\\x1b"), so that the message
 * is one line whatever a path or a key held (a newline in a TOML string); a new string, or NULL
 * out of memory. */
static char *one_line(const char *text) {
  size_t len = strlen(text);
  char *out = malloc(4 * len + 1), *o = out;
  if (out == NULL)
    return NULL;
  for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
    if (*c >= 0x20 && *c != 0x7f)
      *o++ = (char)*c;
    else if (*c == '\n' || *c == '\r' || *c == '\t')
      o += sprintf(o, "\\%c", *c == '\n' ? 'n' : *c == '\r' ? 'r' : 't');
    else
      o += sprintf(o, "\\x%02x", *c);
  }
  *o = '\0';
  return out;
}

static int record(int status, const char *src_file, int src_line, const char *fmt, va_list ap,
                  int errnum) {
  if (recorded_status != ERR_OK)
    return status; /* keep the root cause */
  recorded_status = status;
  recorded_reported = false;
  va_list again;
  va_copy(again, ap);
  int used = vsnprintf(NULL, 0, fmt, ap);
  const char *reason = errnum != 0 ? strerror(errnum) : "";
  size_t size = (used > 0 ? (size_t)used : 0) + strlen(reason) + 3;
  char *text = malloc(size);
  if (text == NULL) { /* out of memory: what fits, cut at the end */
    vsnprintf(recorded_message, sizeof recorded_message, fmt, again);
  } else {
    vsnprintf(text, size, fmt, again);
    if (errnum != 0)
      strcat(strcat(text, ": "), reason);
    char *line = one_line(text);
    store_message(line != NULL ? line : text);
    free(line);
    free(text);
  }
  va_end(again);
  snprintf(recorded_source, sizeof recorded_source, "%s:%d", src_file, src_line);
  return status;
}

int err_set_at(int status, const char *src_file, int src_line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  record(status, src_file, src_line, fmt, ap, 0);
  va_end(ap);
  return status;
}

int err_errno_at(int status, const char *src_file, int src_line, const char *fmt, ...) {
  int errnum = errno;
  va_list ap;
  va_start(ap, fmt);
  record(status, src_file, src_line, fmt, ap, errnum);
  va_end(ap);
  return status;
}

const char *err_message(void) { return recorded_message; }
const char *err_source(void) { return recorded_source; }
int err_status(void) { return recorded_status; }

void err_prefix(const char *prefix) {
  if (recorded_status == ERR_OK)
    return;
  size_t size = strlen(prefix) + strlen(recorded_message) + 3;
  char *joined = malloc(size);
  if (joined == NULL)
    return; /* out of memory: the message without its prefix */
  snprintf(joined, size, "%s: %s", prefix, recorded_message);
  store_message(joined);
  free(joined);
}

bool err_reported(void) { return recorded_reported; }
void err_mark_reported(void) { recorded_reported = true; }

void err_clear(void) {
  recorded_reported = false;
  recorded_status = ERR_OK;
  recorded_message[0] = '\0';
  recorded_source[0] = '\0';
}
