/* caches.h - the L2 and L3 caches a rank's CPUs use, read from Linux's sysfs, counted as
 * instances for the CPUs this rank may run on (docs/design.md, "Choosing the kernel", says why
 * so and not from CPUID).
 *
 * Not for: MPI (tune.c reduces over the node), the bench suite (scripts/bench.sh reads the
 * same files in shell). No MPI, no allocation.
 */
#ifndef JACOBI_CACHES_H
#define JACOBI_CACHES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CPUs counted: numbers 0 .. CACHES_MAX_CPUS - 1 (a CPU above is ignored). */
enum { CACHES_MAX_CPUS = 8192, CACHES_LEVELS = 2 /* L2, L3 */ };

struct caches {
  int64_t bytes[CACHES_LEVELS]; /* one instance of the L2, the L3 (the largest seen; 0: none) */
  /* the instances used, a bit at each one's lowest CPU */
  unsigned char used[CACHES_LEVELS][CACHES_MAX_CPUS / 8];
};

/* Read the data and unified L2 and L3 caches of the CPUs in `allowed`, a Linux CPU list
 * ("0-3,8,10-11", as /proc/self/status's Cpus_allowed_list; NULL: every CPU up to the limit),
 * from cpu_dir ("/sys/devices/system/cpu", or a test's copy of its layout). A CPU without the
 * files adds nothing. Returns whether any cache was found. Not collective. */
bool caches_read(const char *cpu_dir, const char *allowed, struct caches *c);

/* This process's CPU list (Cpus_allowed_list) into text, or false if it cannot be read. */
bool caches_allowed_cpus(char *text, int size);

/* Instances of level (0: L2, 1: L3) marked used. */
int64_t caches_instances(const struct caches *c, int level);

/* Bytes the used instances hold for `threads` threads (ranks) at a time: of each level, the
 * instances marked, but no more of them than threads (a thread uses one L2 and one L3 at a
 * time), summed over the levels (an L3 that keeps a copy of what the L2s hold is counted
 * twice; Intel's since Skylake-SP and AMD's do not). */
double caches_bytes(const struct caches *c, int64_t threads);

/* Write back and evict every line of p[0 .. n) from every cache level, so that the next access
 * meets them in memory: with CLFLUSHOPT where the CPU has it, else CLFLUSH. On the Intel Xeon
 * VM this project was measured on, CLFLUSH took 16-20 ms for 8 MiB, 130 ns a line and ten
 * times the sweep it was to time cold; CLFLUSHOPT 0.4 ms. Returns false, having done nothing,
 * where the build has neither (not x86). */
bool caches_evict(const double *p, size_t n);

/* Whether caches_evict does anything in this build. */
bool caches_can_evict(void);

#endif /* JACOBI_CACHES_H */
