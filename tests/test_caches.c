/* test_caches.c - reading the caches a rank's CPUs use from sysfs: instances counted once each,
 * named by their lowest CPU, only for the CPUs allowed, instruction caches and L1 left out, no
 * more of a level than threads. On a fake sysfs tree written here (two sockets of two cores,
 * an L2 a core, an L3 a socket), and on the machine's own. */
#include "runtime/caches.h"
#include "tests/cunit_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs(text, f);
  fclose(f);
}

static void make_dir(const char *path) { CU_ASSERT_FATAL(mkdir(path, 0700) == 0); }

/* cpuN/cache/indexK with the given level, type, size and shared_cpu_list (NULL: no file). */
static void cache(int cpu, int index, const char *level, const char *type, const char *size,
                  const char *shared) {
  char dir[256], path[320];
  snprintf(dir, sizeof dir, "%s/cpu%d", root, cpu);
  mkdir(dir, 0700);
  snprintf(dir, sizeof dir, "%s/cpu%d/cache", root, cpu);
  mkdir(dir, 0700);
  snprintf(dir, sizeof dir, "%s/cpu%d/cache/index%d", root, cpu, index);
  make_dir(dir);
  const char *names[] = {"level", "type", "size", "shared_cpu_list"};
  const char *values[] = {level, type, size, shared};
  for (int k = 0; k < 4; k++) {
    if (values[k] == NULL)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    char text[128];
    snprintf(text, sizeof text, "%s\n", values[k]);
    write_file(path, text);
  }
}

/* Two sockets: CPUs 0-1 share an L3 of 32 MiB, CPUs 2-3 another; each CPU has an L1d, an L1i
 * and an L2 of 512 KiB of its own. CPU 4 exists without cache files. */
static void fake_tree(void) {
  snprintf(root, sizeof root, "/tmp/test_caches.XXXXXX");
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
  for (int cpu = 0; cpu < 4; cpu++) {
    char own[16], socket[16];
    snprintf(own, sizeof own, "%d", cpu);
    snprintf(socket, sizeof socket, "%d-%d", cpu / 2 * 2, cpu / 2 * 2 + 1);
    cache(cpu, 0, "1", "Data", "32K", own);
    cache(cpu, 1, "1", "Instruction", "32K", own);
    cache(cpu, 2, "2", "Unified", "512K", own);
    cache(cpu, 3, "3", "Unified", "32768K", socket);
  }
  char dir[128];
  snprintf(dir, sizeof dir, "%s/cpu4", root);
  make_dir(dir);
}

static void remove_tree(void) {
  char command[128];
  snprintf(command, sizeof command, "rm -rf '%s'", root);
  CU_ASSERT_EQUAL(system(command), 0);
}

static void test_instances_counted_once_for_the_allowed_cpus(void) {
  fake_tree();
  const double mib = 1024.0 * 1024.0;
  struct {
    const char *allowed;
    int64_t l2, l3;
    double bytes_1, bytes_4; /* MiB for 1 and for 4 threads */
  } cases[] = {
      {"0", 1, 1, 32.5, 32.5},   /* one core: its L2 and its socket's L3 */
      {"0-1", 2, 1, 32.5, 33.0}, /* one socket */
      {"0,2", 2, 2, 32.5, 65.0}, /* a core on each socket */
      {"0-4", 4, 2, 32.5, 66.0}, /* everything; CPU 4 has no cache files */
      {NULL, 4, 2, 32.5, 66.0},  /* no list: every CPU */
      {"3", 1, 1, 32.5, 32.5},   /* an L3 named by its lowest CPU, 2, not by 3 */
      {"9-12", 0, 0, 0.0, 0.0},  /* CPUs without files */
      {"1-x", 4, 2, 32.5, 66.0}, /* a list that does not parse: every CPU */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    struct caches c;
    bool found = caches_read(root, cases[k].allowed, &c);
    const char *name = cases[k].allowed ? cases[k].allowed : "(none)";
    EXPECT(found == (cases[k].l3 > 0), "CPUs %s: found %d", name, found);
    EXPECT(caches_instances(&c, 0) == cases[k].l2, "CPUs %s: %lld L2s, expected %lld", name,
           (long long)caches_instances(&c, 0), (long long)cases[k].l2);
    EXPECT(caches_instances(&c, 1) == cases[k].l3, "CPUs %s: %lld L3s, expected %lld", name,
           (long long)caches_instances(&c, 1), (long long)cases[k].l3);
    EXPECT(caches_bytes(&c, 1) == cases[k].bytes_1 * mib, "CPUs %s, 1 thread: %.3f MiB, not %.3f",
           name, caches_bytes(&c, 1) / mib, cases[k].bytes_1);
    EXPECT(caches_bytes(&c, 4) == cases[k].bytes_4 * mib, "CPUs %s, 4 threads: %.3f MiB, not %.3f",
           name, caches_bytes(&c, 4) / mib, cases[k].bytes_4);
  }
  remove_tree();
}

/* Sizes in K, M, G or bytes; a missing shared_cpu_list is a cache of the CPU's own; an index
 * with a size that does not parse, or a level 4, adds nothing; the indexes end at a gap. */
static void test_sizes_and_missing_files(void) {
  snprintf(root, sizeof root, "/tmp/test_caches.XXXXXX");
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
  cache(0, 0, "2", "Unified", "2M", NULL);
  cache(0, 1, "3", "Unified", "1G", "0-7");
  cache(0, 2, "4", "Unified", "128M", "0-7");
  cache(0, 4, "3", "Unified", "999G", "0-7"); /* after the gap at index3: never read */
  cache(1, 0, "2", "Data", "1048576", NULL);
  cache(1, 1, "3", "Unified", "lots", "0-7");
  struct caches c;
  CU_ASSERT_TRUE(caches_read(root, "0-1", &c));
  EXPECT(caches_instances(&c, 0) == 2 && c.bytes[0] == 2 * 1024 * 1024,
         "L2: %lld instances of %lld bytes", (long long)caches_instances(&c, 0),
         (long long)c.bytes[0]);
  EXPECT(caches_instances(&c, 1) == 1 && c.bytes[1] == 1024LL * 1024 * 1024,
         "L3: %lld instances of %lld bytes", (long long)caches_instances(&c, 1),
         (long long)c.bytes[1]);
  remove_tree();
}

/* This machine's own: its allowed CPUs parse, and where sysfs lists caches, every cache found
 * has a size. */
static void test_this_machine(void) {
  char allowed[4096];
  bool listed = caches_allowed_cpus(allowed, sizeof allowed);
  EXPECT(listed, "no Cpus_allowed_list in /proc/self/status");
  struct caches c;
  bool found = caches_read("/sys/devices/system/cpu", listed ? allowed : NULL, &c);
  printf("(allowed CPUs %s: %lld L2 of %lld KiB, %lld L3 of %lld KiB) ", listed ? allowed : "?",
         (long long)caches_instances(&c, 0), (long long)(c.bytes[0] / 1024),
         (long long)caches_instances(&c, 1), (long long)(c.bytes[1] / 1024));
  for (int l = 0; l < CACHES_LEVELS; l++)
    EXPECT((caches_instances(&c, l) > 0) == (c.bytes[l] > 0), "level %d: instances without size",
           l + 2);
  EXPECT(!found || caches_bytes(&c, 1) > 0.0, "caches found, but no bytes");
}

int tests_register(void) {
  static const struct tests_case cases[] = {
      {"instances_counted_once_for_the_allowed_cpus",
       test_instances_counted_once_for_the_allowed_cpus},
      {"sizes_and_missing_files", test_sizes_and_missing_files},
      {"this_machine", test_this_machine},
  };
  return TESTS_ADD_SUITE("caches", cases);
}
