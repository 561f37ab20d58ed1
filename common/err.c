/* err.c - the recorded failure behind err.h. */
#include "err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int recorded_status = ERR_OK;
static char recorded_message[1024];
static char recorded_source[256];
static bool recorded_reported = false; /* printed by a team agreement already */

static int record(int status, const char *src_file, int src_line, const char *fmt, va_list ap,
                  int errnum) {
  if (recorded_status != ERR_OK)
    return status; /* keep the root cause */
  recorded_status = status;
  recorded_reported = false;
  int used = vsnprintf(recorded_message, sizeof recorded_message, fmt, ap);
  if (errnum != 0 && used >= 0 && (size_t)used < sizeof recorded_message)
    snprintf(recorded_message + used, sizeof recorded_message - (size_t)used, ": %s",
             strerror(errnum));
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
  char joined[2 * sizeof recorded_message];
  snprintf(joined, sizeof joined, "%s: %s", prefix, recorded_message);
  size_t len = strnlen(joined, sizeof recorded_message - 1); /* cut a too-long message */
  memcpy(recorded_message, joined, len);
  recorded_message[len] = '\0';
}

bool err_reported(void) { return recorded_reported; }
void err_mark_reported(void) { recorded_reported = true; }

void err_clear(void) {
  recorded_reported = false;
  recorded_status = ERR_OK;
  recorded_message[0] = '\0';
  recorded_source[0] = '\0';
}
