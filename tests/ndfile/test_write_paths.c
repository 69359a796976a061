/* test_write_paths.c — the fused whole-chunk write path (gather + statistics + checksum in
 * bands) agrees with the flush-time path of partial writes: statistics merged over pieces,
 * incremental checksums, whole vs row-by-row writes for every codec, 1 and 2 threads, and
 * partial updates of a chunk staged whole. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ndfile/nd_int.h"
#include "support/nd_support.h"

static const qv_nd_type types[] = {QV_ND_BOOL,   QV_ND_INT8,    QV_ND_INT16,  QV_ND_INT32,
                                   QV_ND_INT64,  QV_ND_UINT8,   QV_ND_UINT16, QV_ND_UINT32,
                                   QV_ND_UINT64, QV_ND_FLOAT32, QV_ND_FLOAT64, QV_ND_TIMESTAMP_NS};

/* Random elements with repeats of the fill value, and for floats NaN runs and signed zeros. */
static void gen(qv_nd_dtype dt, uint8_t *buf, size_t n, const uint8_t *fill, uint64_t *s) {
  size_t w = qv_nd_dtype_width(dt), leaves = dt.list_size ? dt.list_size : 1;
  for (size_t i = 0; i < n * w; i++) buf[i] = (uint8_t)nd_rand(s);
  if (dt.type == QV_ND_BOOL)
    for (size_t i = 0; i < n * w; i++) buf[i] &= 1;
  for (size_t i = 0; i < n * leaves; i++) {
    uint64_t r = nd_rand(s) % 16;
    if (dt.type == QV_ND_FLOAT32) {
      float v = r == 0 ? NAN : r == 1 ? -0.0f : r == 2 ? 0.0f : r == 3 && nd_rand(s) % 50 == 0 ? -INFINITY : (float)((int64_t)(nd_rand(s) % 20001) - 10000) / 8.0f;
      memcpy(buf + i * 4, &v, 4);
    } else if (dt.type == QV_ND_FLOAT64) {
      double v = r == 0 ? NAN : r == 1 ? -0.0 : r == 2 ? 0.0 : r == 3 && nd_rand(s) % 50 == 0 ? INFINITY : (double)((int64_t)(nd_rand(s) % 20001) - 10000) / 8.0;
      memcpy(buf + i * 8, &v, 8);
    }
  }
  for (size_t i = 0; i < n; i++)
    if (nd_rand(s) % 5 == 0) memcpy(buf + i * w, fill, w);
}

static void check_same(const nd_chunk_ent *a, const nd_chunk_ent *b, const char *what) {
  if (a->n_fill != b->n_fill || a->flags != b->flags || a->min != b->min || a->max != b->max)
    QV__FAIL("%s: pieces give n_fill %llu flags %u min %llx max %llx, whole %llu %u %llx %llx", what,
             (unsigned long long)a->n_fill, a->flags, (unsigned long long)a->min,
             (unsigned long long)a->max, (unsigned long long)b->n_fill, b->flags,
             (unsigned long long)b->min, (unsigned long long)b->max);
}

/* Reference float min/max: NaN skipped, -0 below +0 (the statistics' total order). */
static bool ref_less(double a, double b) { return a < b || (a == b && signbit(a) && !signbit(b)); }
static void check_float_ref(const nd_meta *m, const uint8_t *buf, size_t n, const nd_chunk_ent *e,
                            const char *what) {
  size_t leaves = n * (m->dtype.list_size ? m->dtype.list_size : 1);
  bool any = false;
  double lo = 0, hi = 0;
  for (size_t i = 0; i < leaves; i++) {
    double v;
    if (m->dtype.type == QV_ND_FLOAT32) {
      float f;
      memcpy(&f, buf + i * 4, 4);
      v = (double)f;
    } else {
      memcpy(&v, buf + i * 8, 8);
    }
    if (isnan(v)) continue;
    if (!any || ref_less(v, lo)) lo = v;
    if (!any || ref_less(hi, v)) hi = v;
    any = true;
  }
  QV_CHECK(((e->flags & ND_CHUNK_HAS_MINMAX) != 0) == any);
  if (!any) return;
  double gl, gh;
  memcpy(&gl, &e->min, 8);
  memcpy(&gh, &e->max, 8);
  if (memcmp(&gl, &lo, 8) != 0 || memcmp(&gh, &hi, 8) != 0)
    QV__FAIL("%s: min/max %g/%g (sign %d/%d), reference %g/%g (sign %d/%d)", what, gl, gh,
             signbit(gl) != 0, signbit(gh) != 0, lo, hi, signbit(lo) != 0, signbit(hi) != 0);
}

/* Statistics folded over random pieces equal those of the whole buffer. */
static void test_stats_merge(void) {
  uint64_t s = 99;
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    for (uint32_t list = 0; list <= 3; list += 3) {
      nd_meta m;
      memset(&m, 0, sizeof m);
      m.dtype.type = types[t];
      m.dtype.list_size = list;
      m.width = qv_nd_dtype_width(m.dtype);
      uint8_t fill[64] = {0};
      m.fill = fill;
      m.fill_len = m.width;
      size_t n = 700;
      uint8_t *buf = malloc(n * m.width);
      QV_REQUIRE(buf != NULL);
      for (int rep = 0; rep < 20; rep++) {
        gen(m.dtype, fill, 1, fill, &s);
        gen(m.dtype, buf, n, fill, &s);
        if (rep == 0 && (types[t] == QV_ND_FLOAT32 || types[t] == QV_ND_FLOAT64)) /* NaN-only start */
          memset(buf, 0xff, 100 * m.width);
        nd_chunk_ent whole, acc, seg;
        memset(&acc, 0, sizeof acc);
        qv__nd_chunk_stats(&m, buf, n * m.width, n, &whole);
        size_t i = 0;
        while (i < n) {
          size_t k = 1 + (size_t)(nd_rand(&s) % 150);
          if (k > n - i) k = n - i;
          qv__nd_chunk_stats(&m, buf + i * m.width, k * m.width, k, &seg);
          qv__nd_chunk_stats_merge(&m, &acc, &seg);
          i += k;
        }
        char what[64];
        snprintf(what, sizeof what, "type %d list %u rep %d", (int)types[t], list, rep);
        check_same(&acc, &whole, what);
        if (types[t] == QV_ND_FLOAT32 || types[t] == QV_ND_FLOAT64) {
          check_float_ref(&m, buf, n, &whole, what);
          if (rep == 1) { /* all NaN: no min/max */
            memset(buf, 0xff, n * m.width);
            qv__nd_chunk_stats(&m, buf, n * m.width, n, &whole);
            check_float_ref(&m, buf, n, &whole, what);
          }
          if (rep == 2) { /* only zeros of both signs, -0 last */
            memset(buf, 0, n * m.width);
            buf[n * m.width - 1] = 0x80;
            qv__nd_chunk_stats(&m, buf, n * m.width, n, &whole);
            check_float_ref(&m, buf, n, &whole, what);
          }
        }
      }
      free(buf);
    }
  }
}

/* The incremental checksum over random pieces equals the one-shot checksum. */
static void test_hasher(void) {
  size_t n = 300000;
  uint8_t *buf = malloc(n);
  QV_REQUIRE(buf != NULL);
  uint64_t s = 7;
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)nd_rand(&s);
  for (int rep = 0; rep < 30; rep++) {
    size_t len = rep < 10 ? (size_t)rep * 37 : (size_t)(nd_rand(&s) % n);
    nd_hasher h;
    qv__nd_hasher_init(&h);
    size_t i = 0;
    while (i < len) {
      size_t k = (size_t)(nd_rand(&s) % 70000);
      if (k > len - i) k = len - i;
      qv__nd_hasher_update(&h, buf + i, k);
      i += k;
    }
    QV_CHECK_UINT_EQ(qv__nd_hasher_digest(&h), qv__nd_hash(buf, len));
  }
  free(buf);
}

static void check_stats_eq(const qv_nd_stats *a, const qv_nd_stats *b, const char *what) {
  if (a->count != b->count || a->fill_count != b->fill_count || a->has_minmax != b->has_minmax ||
      memcmp(&a->min, &b->min, sizeof a->min) != 0 || memcmp(&a->max, &b->max, sizeof a->max) != 0)
    QV__FAIL("%s: whole-chunk and row-by-row writes give different statistics", what);
}

/* One array written whole and one written row by row (partial chunks: statistics and checksum
 * at flush) hold the same values and statistics, pending, flushed and reopened. */
static void whole_vs_rows(qv_nd_type type, uint32_t codec, unsigned threads) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  char what[96];
  snprintf(what, sizeof what, "type %d codec %u threads %u", (int)type, codec, threads);
  qv_nd_dtype dt = {type, 0};
  size_t w = qv_nd_dtype_width(dt);
  uint64_t shape[2] = {650, 250}, chunk[2] = {300, 100}, z[2] = {0, 0}; /* rows of 100: bands */
  size_t n = (size_t)(shape[0] * shape[1]), bytes = n * w;
  uint8_t *a = malloc(bytes), *b = malloc(bytes), fill[8] = {0};
  QV_REQUIRE(a != NULL && b != NULL);
  uint64_t s = 1234 + codec;
  gen(dt, a, n, fill, &s);
  if (type == QV_ND_FLOAT32 || type == QV_ND_FLOAT64) /* a NaN-only band in chunk (0, 0) */
    for (size_t r = 0; r < 120; r++) memset(a + (r * shape[1]) * w, 0xff, 100 * w);
  qv_nd_options o = qv_nd_options_default();
  o.threads = threads;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "w.nd", &o, &f, NULL));
  QV_REQUIRE_OK_E(nd_define(f, "whole", dt, 2, shape, chunk, codec, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "rows", dt, 2, shape, chunk, codec, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "whole", z, shape, a, bytes, &err), &err);
  for (uint64_t r = 0; r < shape[0]; r++) {
    uint64_t rs[2] = {r, 0}, rc[2] = {1, shape[1]};
    QV_CHECK_OK_E(qv_nd_write(f, "rows", rs, rc, a + r * shape[1] * w, shape[1] * w, &err), &err);
  }
  for (int phase = 0; phase < 3; phase++) { /* pending, flushed, reopened */
    if (phase == 1) QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
    if (phase == 2) {
      qv_nd_close(f);
      QV_REQUIRE_OK_E(qv_nd_open(st, "w.nd", &o, &f, &err), &err);
    }
    qv_nd_stats sw, sr;
    QV_CHECK_OK(qv_nd_stats_get(f, "whole", &sw, NULL));
    QV_CHECK_OK(qv_nd_stats_get(f, "rows", &sr, NULL));
    check_stats_eq(&sw, &sr, what);
    QV_CHECK(sw.has_minmax);
    memset(b, 0x55, bytes);
    QV_CHECK_OK_E(qv_nd_read(f, "whole", z, shape, b, bytes, &err), &err);
    if (memcmp(a, b, bytes) != 0) QV__FAIL("%s phase %d: whole array reads back differently", what, phase);
    memset(b, 0x55, bytes);
    QV_CHECK_OK_E(qv_nd_read(f, "rows", z, shape, b, bytes, &err), &err);
    if (memcmp(a, b, bytes) != 0) QV__FAIL("%s phase %d: row-written array reads back differently", what, phase);
  }
  /* a partial update of chunks staged whole, read pending and after flush */
  QV_CHECK_OK_E(qv_nd_write(f, "whole", z, shape, a, bytes, &err), &err);
  uint64_t ps[2] = {10, 20}, pc[2] = {3, 150};
  uint8_t *patch = calloc(3 * 150, w);
  QV_REQUIRE(patch != NULL);
  for (size_t i = 0; i < 3 * 150 * w; i++) patch[i] = (uint8_t)(type == QV_ND_BOOL ? i & 1 : i * 7);
  QV_CHECK_OK_E(qv_nd_write(f, "whole", ps, pc, patch, 3 * 150 * w, &err), &err);
  for (size_t r = 0; r < 3; r++) memcpy(a + ((10 + r) * shape[1] + 20) * w, patch + r * 150 * w, 150 * w);
  for (int phase = 0; phase < 2; phase++) {
    if (phase == 1) QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
    QV_CHECK_OK_E(qv_nd_read(f, "whole", z, shape, b, bytes, &err), &err);
    if (memcmp(a, b, bytes) != 0) QV__FAIL("%s phase %d: patched array reads back differently", what, phase);
  }
  free(patch);
  qv_nd_close(f);
  qv_nd_store_close(st);
  free(a);
  free(b);
}

static void test_whole_vs_rows(void) {
  static const qv_nd_type tt[] = {QV_ND_FLOAT32, QV_ND_FLOAT64, QV_ND_INT32, QV_ND_UINT16, QV_ND_BOOL};
  for (size_t t = 0; t < sizeof tt / sizeof tt[0]; t++)
    for (uint32_t codec = 0; codec <= 2; codec++)
      for (unsigned threads = 1; threads <= 2; threads++) whole_vs_rows(tt[t], codec, threads);
}

/* Region reads of 32 MiB and more stream into the output past the cache (odd row lengths:
 * unaligned destinations); they agree with small reads through the cache, for every codec,
 * whole and offset regions, 1 and 2 threads. */
static void test_large_scan(void) {
  uint64_t shape[2] = {6000, 5800}, chunk[2] = {1000, 700}, z[2] = {0, 0};
  size_t bytes = (size_t)(shape[0] * shape[1]);
  uint8_t *a = malloc(bytes), *b = malloc(bytes);
  QV_REQUIRE(a != NULL && b != NULL);
  uint64_t s = 5;
  for (size_t i = 0; i < bytes; i++) a[i] = (uint8_t)((i % 5800) * 3 + (i / 5800) * 7 + (nd_rand(&s) % 4));
  qv_nd_store *st;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  for (uint32_t codec = 0; codec <= 2; codec++) {
    char name[32];
    snprintf(name, sizeof name, "s%u.nd", codec);
    qv_nd_file *f;
    QV_REQUIRE_OK(qv_nd_create(st, name, NULL, &f, NULL));
    QV_REQUIRE_OK_E(nd_define(f, "a", (qv_nd_dtype){QV_ND_UINT8, 0}, 2, shape, chunk, codec, &err), &err);
    QV_CHECK_OK_E(qv_nd_write(f, "a", z, shape, a, bytes, &err), &err);
    QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
    qv_nd_close(f);
    for (int mode = 0; mode < 3; mode++) {
      qv_nd_options o = qv_nd_options_default();
      o.cache_bytes = mode == 0 ? o.cache_bytes : 0;
      o.threads = mode == 2 ? 2 : 1;
      QV_REQUIRE_OK_E(qv_nd_open(st, name, &o, &f, &err), &err);
      memset(b, 0xa5, bytes);
      QV_CHECK_OK_E(qv_nd_read(f, "a", z, shape, b, bytes, &err), &err);
      if (memcmp(a, b, bytes) != 0) QV__FAIL("codec %u mode %d: whole scan differs", codec, mode);
      uint64_t os[2] = {1, 3}, oc[2] = {5998, 5795};
      size_t n = (size_t)(oc[0] * oc[1]);
      memset(b, 0xa5, n);
      QV_CHECK_OK_E(qv_nd_read(f, "a", os, oc, b, n, &err), &err);
      for (size_t r = 0; r < oc[0]; r++)
        if (memcmp(b + r * oc[1], a + (r + 1) * shape[1] + 3, oc[1]) != 0) {
          QV__FAIL("codec %u mode %d: offset scan differs in row %zu", codec, mode, r);
          break;
        }
      qv_nd_close(f);
    }
  }
  qv_nd_store_close(st);
  free(a);
  free(b);
}

QV_TEST_MAIN(QV_CASE(test_stats_merge), QV_CASE(test_hasher), QV_CASE(test_whole_vs_rows),
             QV_CASE(test_large_scan))
