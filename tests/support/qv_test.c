/* qv_test.c — the test runner and the counting/failing allocator behind qv_test.h. */
#include "qv_test.h"

#include <stdint.h>

int qv_test_failed;

int qv_test_run(const qv_test_case *cases, size_t n, int argc, char **argv) {
  int passed = 0, failed = 0;
  for (size_t i = 0; i < n; i++) {
    if (argc > 1) {
      bool want = false;
      for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], cases[i].name) == 0) want = true;
      if (!want) continue;
    }
    qv_test_failed = 0;
    cases[i].fn();
    if (qv_test_failed) {
      printf("FAIL %s (%d checks failed)\n", cases[i].name, qv_test_failed);
      failed++;
    } else {
      printf("ok   %s\n", cases[i].name);
      passed++;
    }
    fflush(stdout);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

/* Each test allocation carries a header recording its size and alignment. */
#define HDR 64

static void *t_alloc(void *user, size_t size, size_t align) {
  qv_test_alloc *t = user;
  t->total_allocs++;
  if (t->fail_at && t->total_allocs == t->fail_at) {
    t->failed = true;
    return NULL;
  }
  size_t pre = align > HDR ? align : HDR;
  size_t total = pre + size;
  size_t a2 = align < 16 ? 16 : align;
  size_t rounded = (total + a2 - 1) & ~(a2 - 1);
  uint8_t *base = aligned_alloc(a2, rounded);
  if (!base) return NULL;
  uint8_t *p = base + pre;
  size_t meta[3] = {size, align, pre};
  memcpy(p - sizeof meta, meta, sizeof meta);
  t->live_allocs++;
  t->live_bytes += size;
  return p;
}

static void t_free(void *user, void *ptr, size_t size, size_t align) {
  qv_test_alloc *t = user;
  uint8_t *p = ptr;
  size_t meta[3];
  memcpy(meta, p - sizeof meta, sizeof meta);
  if (meta[0] != size || meta[1] != align) {
    fprintf(stderr, "  bad free: allocated %zu bytes align %zu, freed as %zu align %zu\n",
            meta[0], meta[1], size, align);
    t->bad_frees++;
  }
  t->live_allocs--;
  t->live_bytes -= meta[0];
  free(p - meta[2]);
}

void qv_test_alloc_init(qv_test_alloc *t, size_t fail_at) {
  memset(t, 0, sizeof *t);
  t->base.alloc = t_alloc;
  t->base.realloc = NULL;
  t->base.free = t_free;
  t->base.user = t;
  t->fail_at = fail_at;
}

bool qv_test_alloc_check_clean(qv_test_alloc *t, const char *what) {
  bool ok = true;
  if (t->live_allocs || t->live_bytes) {
    QV__FAIL("%s: leaked %zu allocations (%zu bytes)", what, t->live_allocs, t->live_bytes);
    ok = false;
  }
  if (t->bad_frees) {
    QV__FAIL("%s: %zu frees with the wrong size or alignment", what, t->bad_frees);
    ok = false;
  }
  return ok;
}

size_t qv_test_each_alloc_failure(qv_status (*fn)(const qv_allocator *a, void *ctx), void *ctx,
                                  const char *what) {
  for (size_t n = 1; n < 1000000; n++) {
    qv_test_alloc t;
    qv_test_alloc_init(&t, n);
    qv_status s = fn(&t.base, ctx);
    char label[256];
    snprintf(label, sizeof label, "%s (allocation %zu fails)", what, n);
    if (!t.failed) {
      if (s != QV_OK) QV__FAIL("%s: no failure injected but got %s", what, qv_status_name(s));
      qv_test_alloc_check_clean(&t, label);
      return n - 1;
    }
    if (s >= 0) QV__FAIL("%s: returned %s despite the failed allocation", label, qv_status_name(s));
    if (!qv_test_alloc_check_clean(&t, label)) return n;
  }
  QV__FAIL("%s: more than a million allocations?", what);
  return 0;
}

const char *qv_test_corpora_dir(void) {
  const char *d = getenv("QV_CORPORA");
  static char buf[4096];
  if (!d) {
    const char *src = qv_test_source_dir();
    snprintf(buf, sizeof buf, "%s/../shared/corpora", src);
    d = buf;
  }
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/README.md", d);
  FILE *f = fopen(probe, "rb");
  if (!f) {
    printf("SKIP: test corpora not found at %s (set QV_CORPORA)\n", d);
    return NULL;
  }
  fclose(f);
  return d;
}

const char *qv_test_source_dir(void) {
  const char *d = getenv("QV_SOURCE_DIR");
  return d ? d : ".";
}

unsigned char *qv_test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  for (;;) {
    if (n == cap) {
      cap *= 2;
      unsigned char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    if (r == 0) break;
    n += r;
  }
  fclose(f);
  *len = n;
  return buf;
}
