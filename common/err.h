/* err.h - jacobi's one error convention: status codes, one recorded message, exit codes.
 *
 * Functions that can fail return an int status: 0 is success, otherwise one of enum err_status.
 * The first failure records a message with err_set(); callers propagate the status with CHECK()
 * and leave the message alone, so what the user reads is the root cause. Not for MPI: making
 * ranks agree on a status is runtime/team.h's job.
 *
 * Not thread-safe: jacobi runs one thread per rank.
 */
#ifndef JACOBI_ERR_H
#define JACOBI_ERR_H

#include <stdbool.h>

#include <stdarg.h>

/* Status values double as process exit codes (docs/guide.md, "Exit codes"). A larger value is the
 * more specific diagnosis, so ranks agreeing on a status take the maximum. */
enum err_status {
  ERR_OK = 0,
  ERR_FAILURE = 1, /* anything not the user's input: allocation, I/O, MPI, a non-finite field */
  ERR_CONFIG = 2,  /* usage or configuration error */
};

/* Exit codes of a run that did not fail (docs/guide.md, "Exit codes"). */
enum err_exit {
  EXIT_CONVERGED = 0,
  EXIT_NOT_CONVERGED = 3, /* stopped at solver.max_iterations; the result is still written */
  EXIT_INTERRUPTED = 4,   /* stopped by SIGTERM, SIGINT or SIGUSR1 after writing the checkpoint */
};

/* Record a failure unless one is already recorded; returns status so callers can write
 * `return err_set(ERR_CONFIG, "…")`. The message is what the user reads: for configuration
 * errors it starts with "FILE:LINE: ". src_file/src_line say where in jacobi it was raised.
 * A message longer than the 1023 characters kept (a path of thousands) loses its middle, marked
 * " [...] ", never its end, where the reason is. */
int err_set_at(int status, const char *src_file, int src_line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define err_set(status, ...) err_set_at((status), __FILE__, __LINE__, __VA_ARGS__)

/* Like err_set, for a failed libc call: appends ": strerror(errno)". */
int err_errno_at(int status, const char *src_file, int src_line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define err_errno(status, ...) err_errno_at((status), __FILE__, __LINE__, __VA_ARGS__)

/* Propagate a failure. The recorded message stays the one of the root cause. */
#define CHECK(call)                                                                                \
  do {                                                                                             \
    int check_status_ = (call);                                                                    \
    if (check_status_ != ERR_OK)                                                                   \
      return check_status_;                                                                        \
  } while (0)

/* The recorded message ("" when none), where it was raised, and its status (ERR_OK if none). */
const char *err_message(void);
const char *err_source(void);
int err_status(void);

/* Put "PREFIX: " before the recorded message (e.g. the file and line a caller knows of). */
void err_prefix(const char *prefix);

/* Whether the recorded failure has been printed already (team_agree prints a failure once, then
 * marks it, so that a status agreed again on its way up is not reported twice). Recording a
 * failure, or err_clear, resets it. */
bool err_reported(void);
void err_mark_reported(void);

/* Forget the recorded failure (tests, and a rank that adopts another rank's message). */
void err_clear(void);

#endif /* JACOBI_ERR_H */
