/* cli.c - the command line; see cli.h. */
#include "io/cli.h"

#include "common/err.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void cli_usage(FILE *out) {
  fprintf(out, "usage: jacobi [--set KEY=VALUE]... [--dry-run [--ranks N]] [--quiet] [--verbose] "
               "CONFIG\n"
               "       jacobi --help | --version\n");
}

void cli_help(FILE *out) {
  fprintf(out,
          "jacobi - temperature of a heated plate, steady or in time (2-D conduction; Jacobi,\n"
          "         Chebyshev or geometric multigrid on MPI ranks, with a guaranteed error bound)\n"
          "\n");
  cli_usage(out);
  fprintf(out,
          "\n"
          "Run it under MPI: mpirun -n 4 jacobi configs/plate.toml\n"
          "\n"
          "options:\n"
          "  --set KEY=VALUE  override a config key, e.g. --set solver.tolerance=1e-8 or\n"
          "                   --set decomposition.partitioner=cyclic (repeatable; later wins)\n"
          "  --dry-run        print the resolved configuration, the decomposition plan and\n"
          "                   the performance model's prediction ([machine] keys); solve nothing\n"
          "  --ranks N        with --dry-run: plan for N ranks instead of the run's own\n"
          "  --quiet          print only the summary (no header, no progress lines)\n"
          "  --verbose        the summary adds the rate, the kernel, the time breakdown and\n"
          "                   the halo volume (the result file holds them either way)\n"
          "  --help           print this help\n"
          "  --version        print the version\n"
          "\n"
          "exit codes: 0 converged, 3 not converged after solver.max_iterations (or\n"
          "            sooner, a solver.target_error out of the method's reach), or\n"
          "            time.end = \"steady\" not certified in time.max_steps,\n"
          "            4 stopped by SIGTERM, SIGINT or SIGUSR1 after writing the checkpoint,\n"
          "            2 usage or configuration error, 1 any other failure\n");
}

/* The value of an option written `--name VALUE` or `--name=VALUE`; NULL if `arg` is not it. */
static const char *option_value(int argc, char **argv, int *k, const char *name, int *status) {
  size_t len = strlen(name);
  const char *arg = argv[*k];
  if (strncmp(arg, name, len) != 0)
    return NULL;
  if (arg[len] == '=')
    return arg + len + 1;
  if (arg[len] != '\0')
    return NULL;
  if (*k + 1 >= argc) {
    *status = err_set(ERR_CONFIG, "option %s needs a value", name);
    return NULL;
  }
  return argv[++*k];
}

static int parse_ranks(const char *text, int *ranks) {
  errno = 0;
  char *end = NULL;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 1 || value > CLI_MAX_RANKS)
    return err_set(ERR_CONFIG,
                   "--ranks must be a whole number from 1 to %d (the plan has a line for every "
                   "rank), got \"%s\"",
                   CLI_MAX_RANKS, text);
  *ranks = (int)value;
  return ERR_OK;
}

static int parse(int argc, char **argv, struct cli *cli) {
  bool options_done = false;
  for (int k = 1; k < argc; k++) {
    const char *arg = argv[k], *value;
    int status = ERR_OK;
    if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
      if (cli->config_path != NULL)
        return err_set(ERR_CONFIG, "one config file expected, got \"%s\" and \"%s\"",
                       cli->config_path, arg);
      cli->config_path = arg;
    } else if (strcmp(arg, "--") == 0) {
      options_done = true;
    } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      cli->help = true;
    } else if (strcmp(arg, "--version") == 0) {
      cli->version = true;
    } else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
      cli->quiet = true;
    } else if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "-v") == 0) {
      cli->verbose = true;
    } else if (strcmp(arg, "--dry-run") == 0) {
      cli->dry_run = true;
    } else if ((value = option_value(argc, argv, &k, "--set", &status)) != NULL) {
      cli->sets[cli->nsets++] = value;
    } else if ((value = option_value(argc, argv, &k, "--ranks", &status)) != NULL) {
      CHECK(parse_ranks(value, &cli->ranks));
    } else {
      CHECK(status);
      return err_set(ERR_CONFIG, "unknown option \"%s\"", arg);
    }
  }
  if (cli->help || cli->version)
    return ERR_OK;
  if (cli->ranks > 0 && !cli->dry_run)
    return err_set(ERR_CONFIG, "--ranks plans for another rank count and needs --dry-run");
  for (int k = 0; cli->config_path == NULL && k < cli->nsets; k++)
    if (strchr(cli->sets[k], '=') == NULL) /* `jacobi --set plate.toml`: the value forgotten */
      return err_set(ERR_CONFIG,
                     "no config file given: --set took \"%s\" as its KEY=VALUE (e.g. --set "
                     "solver.tolerance=1e-8), and it has no '='",
                     cli->sets[k]);
  if (cli->config_path == NULL)
    return err_set(ERR_CONFIG, "no config file given");
  return ERR_OK;
}

int cli_parse(int argc, char **argv, struct cli *out) {
  *out = (struct cli){0};
  /* At most one --set per argument: argc bounds the array. */
  out->sets = calloc((size_t)(argc > 0 ? argc : 1), sizeof *out->sets);
  if (out->sets == NULL)
    return err_set(ERR_FAILURE, "out of memory parsing the command line");
  return parse(argc, argv, out);
}

void cli_release(struct cli *cli) {
  free(cli->sets);
  cli->sets = NULL;
  cli->nsets = 0;
}
