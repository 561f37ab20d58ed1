/* fuzz_config.c - libFuzzer target for the config reader: any bytes, as a file and as --set.
 *
 * The input is split at its first NUL-free line break: everything is parsed as a config file,
 * and the first line is also given as one --set override to a valid base config. Nothing may
 * crash, leak, read out of bounds or hang; ASan and UBSan watch (see CMake: fuzz_config).
 *
 * Run it longer than the test suite does:
 *   build/tests/fuzz_config -max_total_time=600 build/tests/fuzz-corpus tests/fuzz/seeds
 */
#include "common/err.h"
#include "io/cfg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char base_config[] = "[grid]\nnx = 8\nny = 8\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct cfg *cfg = NULL;
  if (cfg_create((const char *)data, size, "fuzz.toml", NULL, 0, &cfg) == ERR_OK) {
    /* What was accepted prints back to a config that is accepted again, the same. */
    char *printed = NULL;
    size_t printed_len = 0;
    FILE *out = open_memstream(&printed, &printed_len);
    if (out != NULL) {
      cfg_print(cfg, out);
      fclose(out);
      struct cfg *again = NULL;
      if (cfg_create(printed, printed_len, "printed.toml", NULL, 0, &again) != ERR_OK)
        abort();
      cfg_destroy(&again);
      free(printed);
    }
  }
  cfg_destroy(&cfg);
  err_clear();

  const uint8_t *newline = memchr(data, '\n', size);
  size_t line_len = newline ? (size_t)(newline - data) : size;
  char *set = malloc(line_len + 1);
  if (set == NULL)
    return 0;
  memcpy(set, data, line_len);
  set[line_len] = '\0';
  if (strlen(set) == line_len) { /* argv strings hold no NUL */
    const char *sets[] = {set};
    cfg_create(base_config, sizeof base_config - 1, "base.toml", sets, 1, &cfg);
    cfg_destroy(&cfg);
    err_clear();
  }
  free(set);
  return 0;
}
