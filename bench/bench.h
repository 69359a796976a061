/* bench.h — helpers shared by the benchmark sections: a monotonic clock, a best-of-N timer,
 * and one output format: "name  value unit  (ratio x vs peer)". */
#ifndef QV_BENCH_H
#define QV_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline double qv_bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Keeps the optimiser from deleting a computed value. */
static inline void qv_bench_keep(uint64_t v) { __asm__ volatile("" : : "r"(v) : "memory"); }

/* One result line. `ratio` <= 0 prints no ratio. */
static inline void qv_bench_report(const char *name, double value, const char *unit,
                                   double ratio, const char *peer) {
  if (ratio > 0)
    printf("  %-44s %10.3f %-8s %7.2fx vs %s\n", name, value, unit, ratio, peer);
  else
    printf("  %-44s %10.3f %s\n", name, value, unit);
  fflush(stdout);
}

/* A section: runs and prints; returns 0, or non-zero if it could not run. */
typedef int (*qv_bench_fn)(int quick);

#endif
