/* qv_test.h — quiver's small test harness: checks that print both sides, a runner that prints
 * "N passed, N failed", and the counting / failing allocator used for error-path tests.
 *
 * A test file defines `static void test_x(void)` functions, lists them in QV_TEST_MAIN, and is
 * run by ctest as its own process. A failed check prints file:line and both values, marks the
 * current test failed and continues with the next check (QV_REQUIRE* return from the test).
 */
#ifndef QV_TEST_H
#define QV_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/quiver.h"

extern int qv_test_failed; /* checks failed in the current test */

#define QV__FAIL(...)                                               \
  do {                                                              \
    fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);               \
    fprintf(stderr, __VA_ARGS__);                                   \
    fprintf(stderr, "\n");                                          \
    qv_test_failed++;                                               \
  } while (0)

#define QV_CHECK(cond)                                              \
  do {                                                              \
    if (!(cond)) QV__FAIL("check failed: %s", #cond);               \
  } while (0)
#define QV_REQUIRE(cond)                                            \
  do {                                                              \
    if (!(cond)) {                                                  \
      QV__FAIL("requirement failed: %s", #cond);                    \
      return;                                                       \
    }                                                               \
  } while (0)

#define QV_CHECK_INT_EQ(a, b)                                                                \
  do {                                                                                     \
    long long qv__a = (long long)(a), qv__b = (long long)(b);                              \
    if (qv__a != qv__b) QV__FAIL("%s == %s: %lld != %lld", #a, #b, qv__a, qv__b);           \
  } while (0)
#define QV_CHECK_UINT_EQ(a, b)                                                               \
  do {                                                                                     \
    unsigned long long qv__a = (unsigned long long)(a), qv__b = (unsigned long long)(b);   \
    if (qv__a != qv__b) QV__FAIL("%s == %s: %llu != %llu", #a, #b, qv__a, qv__b);           \
  } while (0)
#define QV_CHECK_DBL_EQ(a, b)                                                                \
  do {                                                                                     \
    double qv__a = (double)(a), qv__b = (double)(b);                                       \
    if (!(qv__a == qv__b)) QV__FAIL("%s == %s: %.17g != %.17g", #a, #b, qv__a, qv__b);      \
  } while (0)
#define QV_CHECK_STR_EQ(a, b)                                                                \
  do {                                                                                     \
    const char *qv__a = (a), *qv__b = (b);                                                 \
    if (!qv__a || !qv__b || strcmp(qv__a, qv__b) != 0)                                     \
      QV__FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, qv__a ? qv__a : "(null)",              \
               qv__b ? qv__b : "(null)");                                                  \
  } while (0)
/* Substring check: a message must name what was wrong. */
#define QV_CHECK_CONTAINS(hay, needle)                                                       \
  do {                                                                                     \
    const char *qv__h = (hay), *qv__n = (needle);                                          \
    if (!qv__h || !strstr(qv__h, qv__n))                                                   \
      QV__FAIL("\"%s\" does not contain \"%s\"", qv__h ? qv__h : "(null)", qv__n);          \
  } while (0)
#define QV_CHECK_MEM_EQ(a, b, n)                                                             \
  do {                                                                                     \
    if (memcmp((a), (b), (n)) != 0) QV__FAIL("%s and %s differ in %zu bytes", #a, #b, (size_t)(n)); \
  } while (0)
/* A status check that prints the status names and the error message. `errp` may be NULL. */
#define QV_CHECK_STATUS_E(expr, want, errp)                                                  \
  do {                                                                                     \
    qv_status qv__s = (expr), qv__w = (want);                                              \
    const qv_error *qv__e = (errp);                                                        \
    if (qv__s != qv__w)                                                                    \
      QV__FAIL("%s: got %s, want %s%s%s", #expr, qv_status_name(qv__s), qv_status_name(qv__w), \
               qv__e ? ": " : "", qv__e ? qv__e->message : "");                            \
  } while (0)
#define QV_CHECK_STATUS(expr, want) QV_CHECK_STATUS_E(expr, want, (const qv_error *)NULL)
#define QV_CHECK_OK(expr) QV_CHECK_STATUS(expr, QV_OK)
#define QV_CHECK_OK_E(expr, errp) QV_CHECK_STATUS_E(expr, QV_OK, errp)
#define QV_REQUIRE_OK_E(expr, errp)                                                          \
  do {                                                                                     \
    int qv__before = qv_test_failed;                                                       \
    QV_CHECK_STATUS_E(expr, QV_OK, errp);                                                  \
    if (qv_test_failed != qv__before) return;                                              \
  } while (0)
#define QV_REQUIRE_OK(expr) QV_REQUIRE_OK_E(expr, (const qv_error *)NULL)

typedef struct qv_test_case {
  const char *name;
  void (*fn)(void);
} qv_test_case;

/* Runs the cases (or only those named on the command line); prints each result and
 * "N passed, N failed"; returns the process exit status. */
int qv_test_run(const qv_test_case *cases, size_t n, int argc, char **argv);

#define QV_TEST_MAIN(...)                                                                    \
  int main(int argc, char **argv) {                                                        \
    static const qv_test_case qv__cases[] = {__VA_ARGS__};                                 \
    return qv_test_run(qv__cases, sizeof qv__cases / sizeof qv__cases[0], argc, argv);     \
  }
#define QV_CASE(fn) {#fn, fn}

/* Deterministic pseudo-random numbers (xorshift64) for reproducible tests: advances *state
 * (which must not be 0) and returns the new value. */
static inline uint64_t qv_test_rand(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

/* ---- counting / failing allocator ------------------------------------------------------- */

/* Counts live allocations and bytes, checks that every free passes the size and alignment the
 * memory was allocated with, and fails the `fail_at`-th allocation (1-based; 0 = never). */
typedef struct qv_test_alloc {
  qv_allocator base;
  size_t live_allocs, live_bytes, total_allocs;
  size_t fail_at;
  bool failed;     /* the failure was injected */
  size_t bad_frees; /* frees with a wrong size/alignment */
} qv_test_alloc;

void qv_test_alloc_init(qv_test_alloc *t, size_t fail_at);
/* Reports leaks / bad frees as failed checks; returns true when clean. */
bool qv_test_alloc_check_clean(qv_test_alloc *t, const char *what);

/* Runs fn(alloc, ctx) with the 1st, 2nd, ... allocation failing, until a run completes with no
 * injected failure. Each failing run must return QV_E_NOMEM (or whatever fn maps it to, which
 * must be negative) and leak nothing; the final run must return QV_OK. Returns the number of
 * allocation points exercised. */
size_t qv_test_each_alloc_failure(qv_status (*fn)(const qv_allocator *a, void *ctx), void *ctx,
                                  const char *what);

/* Environment helpers: a path under ../shared/corpora, or NULL (with a loud SKIP line) when the
 * corpora are not there. Returned string is static. */
const char *qv_test_corpora_dir(void);
const char *qv_test_source_dir(void);
/* Reads a whole file into malloc'd memory; NULL on failure. */
unsigned char *qv_test_read_file(const char *path, size_t *len);

#endif
