/* cli.h - jacobi's command line: `jacobi [OPTIONS] CONFIG`.
 *
 * Parses argv into a struct cli without touching the config file; validation of --set values is
 * cfg.h's. No MPI: every rank parses the same argv and reaches the same outcome. Not collective.
 */
#ifndef JACOBI_CLI_H
#define JACOBI_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Most ranks --dry-run plans for: the plan prints a line for every rank, and takes seconds at
 * this count (a million lines); 2^31 - 1 ranks would run for hours. */
#define CLI_MAX_RANKS (1 << 20)

struct cli {
  const char *config_path; /* borrowed from argv */
  const char **sets;       /* --set arguments, borrowed from argv; owned array */
  int nsets;
  bool dry_run, quiet, verbose, help, version;
  int ranks; /* --ranks N (dry runs only); 0: the run's own rank count */
};

/* Parse argv. On a usage error returns ERR_CONFIG with the message recorded (err.h); the caller
 * prints it with cli_usage(). --help and --version set their flags and need no CONFIG. */
int cli_parse(int argc, char **argv, struct cli *out);

/* Free what cli_parse allocated. */
void cli_release(struct cli *cli);

/* The one-line usage, and the full --help text. */
void cli_usage(FILE *out);
void cli_help(FILE *out);

#endif /* JACOBI_CLI_H */
