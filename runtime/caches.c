/* caches.c - the caches a rank's CPUs use; see caches.h. */
#include "runtime/caches.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first line of a small file into text, without its newline; false if it cannot be read. */
static bool read_line(const char *path, char *text, int size) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return false;
  bool ok = fgets(text, size, f) != NULL;
  fclose(f);
  if (ok)
    text[strcspn(text, "\n")] = '\0';
  return ok;
}

/* Mark the CPUs of a Linux CPU list ("0-3,8,10-11") in bits; false if it does not parse. */
static bool parse_cpu_list(const char *list, unsigned char bits[CACHES_MAX_CPUS / 8]) {
  const char *p = list;
  while (*p != '\0') {
    char *end = NULL;
    errno = 0;
    long first = strtol(p, &end, 10), last = first;
    if (end == p || errno != 0 || first < 0)
      return false;
    p = end;
    if (*p == '-') {
      last = strtol(p + 1, &end, 10);
      if (end == p + 1 || errno != 0 || last < first)
        return false;
      p = end;
    }
    for (long cpu = first; cpu <= last && cpu < CACHES_MAX_CPUS; cpu++)
      bits[cpu / 8] |= (unsigned char)(1u << (cpu % 8));
    if (*p == ',')
      p++;
    else if (*p != '\0')
      return false;
  }
  return true;
}

/* "32768K", "2M", "1G" or bytes; 0 if it does not parse. */
static int64_t parse_size(const char *text) {
  char *end = NULL;
  long long n = strtoll(text, &end, 10);
  if (end == text || n <= 0)
    return 0;
  switch (*end) {
  case 'K':
    return n * 1024;
  case 'M':
    return n * 1024 * 1024;
  case 'G':
    return n * 1024 * 1024 * 1024;
  case '\0':
    return n;
  default:
    return 0;
  }
}

/* Mark cpu's L2 and L3 (data or unified) in c. */
static bool read_cpu(const char *cpu_dir, long cpu, struct caches *c) {
  bool found = false;
  for (int index = 0;; index++) {
    char dir[4096], path[4200], text[4096];
    snprintf(dir, sizeof dir, "%s/cpu%ld/cache/index%d", cpu_dir, cpu, index);
    snprintf(path, sizeof path, "%s/level", dir);
    if (!read_line(path, text, sizeof text))
      return found; /* the indexes are numbered from 0 without gaps */
    int level = atoi(text);
    if (level != 2 && level != 3)
      continue;
    snprintf(path, sizeof path, "%s/type", dir);
    if (!read_line(path, text, sizeof text) || strcmp(text, "Instruction") == 0)
      continue;
    snprintf(path, sizeof path, "%s/size", dir);
    int64_t bytes = read_line(path, text, sizeof text) ? parse_size(text) : 0;
    /* the instance is named by the lowest CPU sharing it (the list's first; the CPU itself if
     * the list is missing: a cache of its own) */
    snprintf(path, sizeof path, "%s/shared_cpu_list", dir);
    long lowest = read_line(path, text, sizeof text) ? strtol(text, NULL, 10) : cpu;
    if (bytes <= 0 || lowest < 0 || lowest >= CACHES_MAX_CPUS)
      continue;
    int l = level - 2;
    c->bytes[l] = bytes > c->bytes[l] ? bytes : c->bytes[l];
    c->used[l][lowest / 8] |= (unsigned char)(1u << (lowest % 8));
    found = true;
  }
}

bool caches_read(const char *cpu_dir, const char *allowed, struct caches *c) {
  memset(c, 0, sizeof *c);
  unsigned char cpus[CACHES_MAX_CPUS / 8] = {0};
  if (allowed == NULL || !parse_cpu_list(allowed, cpus))
    memset(cpus, 0xff, sizeof cpus);
  bool found = false;
  for (long cpu = 0; cpu < CACHES_MAX_CPUS; cpu++)
    if ((cpus[cpu / 8] >> (cpu % 8)) & 1u)
      found = read_cpu(cpu_dir, cpu, c) || found;
  return found;
}

bool caches_allowed_cpus(char *text, int size) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL)
    return false;
  static const char key[] = "Cpus_allowed_list:";
  char line[4096];
  bool found = false;
  while (!found && fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, sizeof key - 1) != 0)
      continue;
    const char *list = line + sizeof key - 1;
    list += strspn(list, " \t");
    snprintf(text, (size_t)size, "%.*s", (int)strcspn(list, "\n"), list);
    found = text[0] != '\0';
  }
  fclose(f);
  return found;
}

int64_t caches_instances(const struct caches *c, int level) {
  int64_t n = 0;
  for (int k = 0; k < CACHES_MAX_CPUS / 8; k++)
    n += __builtin_popcount(c->used[level][k]);
  return n;
}

double caches_bytes(const struct caches *c, int64_t threads) {
  double bytes = 0.0;
  for (int l = 0; l < CACHES_LEVELS; l++) {
    int64_t n = caches_instances(c, l);
    bytes += (double)(n < threads ? n : threads) * (double)c->bytes[l];
  }
  return bytes;
}

#if defined(__SSE2__) /* x86: CLFLUSH comes with SSE2, CLFLUSHOPT where CPUID says so */
#include <cpuid.h>
#include <immintrin.h>

static bool has_clflushopt(void) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_CLFLUSHOPT) != 0;
}

/* From the line holding p[0] to the one holding p[n - 1], whatever p's alignment. */
__attribute__((target("clflushopt"))) static void evict_opt(const char *from, const char *end) {
  for (const char *line = from; line < end; line += 64)
    _mm_clflushopt((void *)line);
  _mm_mfence(); /* CLFLUSHOPT is ordered only by fences */
}

bool caches_can_evict(void) { return true; }

bool caches_evict(const double *p, size_t n) {
  static int opt = -1; /* the CPU's answer, asked once */
  if (opt < 0)
    opt = has_clflushopt() ? 1 : 0;
  if (n == 0)
    return true;
  const char *from = (const char *)p - (uintptr_t)p % 64, *end = (const char *)(p + n);
  if (opt == 1) {
    evict_opt(from, end);
    return true;
  }
  for (const char *line = from; line < end; line += 64)
    _mm_clflush(line);
  _mm_mfence();
  return true;
}
#else
bool caches_can_evict(void) { return false; }

bool caches_evict(const double *p, size_t n) {
  (void)p;
  (void)n;
  return false;
}
#endif
