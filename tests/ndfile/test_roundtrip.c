/* test_roundtrip.c — ndfile region writes and reads for every dtype and rank 0..4 with odd edge
 * chunks and every codec; fill values; partial chunk writes; range and type errors. */
#include <math.h>
#include <xxhash.h>

#include "ndfile/nd_int.h"
#include "support/nd_support.h"

static const qv_nd_type fixed_types[] = {
    QV_ND_BOOL,   QV_ND_INT8,   QV_ND_INT16,   QV_ND_INT32,   QV_ND_INT64,
    QV_ND_UINT8,  QV_ND_UINT16, QV_ND_UINT32,  QV_ND_UINT64,  QV_ND_FLOAT32,
    QV_ND_FLOAT64, QV_ND_TIMESTAMP_NS};
#define NFIXED (sizeof fixed_types / sizeof fixed_types[0])

static void gen(qv_nd_dtype dt, uint8_t *buf, uint64_t n, uint64_t seed) {
  size_t w = qv_nd_dtype_width(dt);
  uint64_t s = seed | 1;
  for (uint64_t i = 0; i < n * w; i++) buf[i] = (uint8_t)nd_rand(&s);
  if (dt.type == QV_ND_BOOL)
    for (uint64_t i = 0; i < n * w; i++) buf[i] &= 1;
  if (dt.type == QV_ND_FLOAT32)
    for (uint64_t i = 0; i < n * w / 4; i++) ((float *)buf)[i] = (float)(nd_rand(&s) % 100000) / 7.0f;
  if (dt.type == QV_ND_FLOAT64)
    for (uint64_t i = 0; i < n * w / 8; i++) ((double *)buf)[i] = (double)(nd_rand(&s) % 100000) / 7.0;
}


static void roundtrip(qv_nd_dtype dt, uint32_t rank, uint32_t codec) {
  static const uint64_t shapes[5][4] = {{0}, {37}, {9, 13}, {5, 7, 6}, {3, 4, 5, 7}};
  static const uint64_t chunks[5][4] = {{0}, {8}, {4, 5}, {2, 3, 4}, {2, 3, 2, 3}};
  const uint64_t *shape = shapes[rank], *chunk = chunks[rank];
  char dts[64];
  qv_nd_dtype_str(dt, dts, sizeof dts);
  qv_error err;
  qv_nd_store *st;
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK_E(qv_nd_create(st, "t.nd", NULL, &f, &err), &err);
  size_t w = qv_nd_dtype_width(dt);
  uint64_t n = nd_prod(rank, shape);
  uint8_t *full = malloc(n * w), *got = malloc(n * w), *want = malloc(n * w);
  gen(dt, full, n, rank * 31 + dt.type);
  QV_CHECK_OK_E(nd_define(f, "a", dt, rank, shape, chunk, codec, &err), &err);
  uint64_t zero[4] = {0};
  /* write everything in two overlapping halves to exercise read-modify-write */
  if (rank) {
    uint64_t s1[4], c1[4], s2[4], c2[4];
    for (uint32_t k = 0; k < rank; k++) {
      s1[k] = 0;
      c1[k] = shape[k];
      s2[k] = 0;
      c2[k] = shape[k];
    }
    c1[0] = shape[0] / 2 + 1;
    s2[0] = shape[0] / 2;
    c2[0] = shape[0] - s2[0];
    uint8_t *part = malloc(n * w);
    nd_box(rank, w, full, shape, s1, c1, part, false);
    QV_CHECK_OK_E(qv_nd_write(f, "a", s1, c1, part, nd_prod(rank, c1) * w, &err), &err);
    QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
    nd_box(rank, w, full, shape, s2, c2, part, false);
    QV_CHECK_OK_E(qv_nd_write(f, "a", s2, c2, part, nd_prod(rank, c2) * w, &err), &err);
    free(part);
  } else {
    QV_CHECK_OK_E(qv_nd_write(f, "a", NULL, NULL, full, w, &err), &err);
  }
  for (int pass = 0; pass < 3; pass++) { /* pending, flushed, reopened */
    QV_CHECK_OK_E(qv_nd_read(f, "a", zero, shape, got, n * w, &err), &err);
    if (memcmp(got, full, n * w) != 0) QV__FAIL("%s rank %u codec %u pass %d: data differs", dts, rank, codec, pass);
    /* every sub-box anchored at a few spots */
    if (rank) {
      uint64_t st2[4], cn[4];
      for (uint32_t k = 0; k < rank; k++) {
        st2[k] = shape[k] / 3;
        cn[k] = shape[k] - st2[k] - (shape[k] > 2 ? 1 : 0);
      }
      nd_box(rank, w, full, shape, st2, cn, want, false);
      QV_CHECK_OK_E(qv_nd_read(f, "a", st2, cn, got, nd_prod(rank, cn) * w, &err), &err);
      if (memcmp(got, want, nd_prod(rank, cn) * w) != 0)
        QV__FAIL("%s rank %u codec %u pass %d: sub-box differs", dts, rank, codec, pass);
    }
    if (pass == 0) QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
    if (pass == 1) { /* reopen without a cache: whole chunks decode straight into the output */
      qv_nd_close(f);
      qv_nd_options o = qv_nd_options_default();
      o.cache_bytes = 0;
      o.threads = 3; /* and region reads spread over threads */
      QV_REQUIRE_OK_E(qv_nd_open(st, "t.nd", &o, &f, &err), &err);
    }
  }
  QV_CHECK_OK_E(qv_nd_verify(f, &err), &err);
  qv_nd_close(f);
  qv_nd_store_close(st);
  free(full);
  free(got);
  free(want);
}

static void test_every_dtype_rank_codec(void) {
  for (size_t t = 0; t < NFIXED; t++)
    for (uint32_t rank = 0; rank <= 4; rank++)
      for (uint32_t codec = 0; codec <= 2; codec++)
        roundtrip((qv_nd_dtype){fixed_types[t], 0}, rank, codec);
  for (uint32_t rank = 0; rank <= 4; rank++) {
    roundtrip((qv_nd_dtype){QV_ND_FLOAT32, 3}, rank, QV_ND_CODEC_ZSTD);
    roundtrip((qv_nd_dtype){QV_ND_INT16, 2}, rank, QV_ND_CODEC_LZ4);
  }
}

static void test_fill_and_unwritten(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "f.nd", NULL, &f, NULL));
  uint64_t shape[2] = {10, 10}, chunk[2] = {4, 4};
  float fill = -1.5f;
  qv_nd_array_def d = qv_nd_array_def_default();
  d.name = "x";
  d.dtype.type = QV_ND_FLOAT32;
  d.rank = 2;
  d.shape = shape;
  d.chunk_shape = chunk;
  d.fill = &fill;
  d.fill_len = 4;
  QV_REQUIRE_OK_E(qv_nd_define(f, &d, &err), &err);
  float v[4] = {1, 2, 3, 4};
  uint64_t s[2] = {5, 5}, c[2] = {2, 2};
  QV_CHECK_OK(qv_nd_write(f, "x", s, c, v, sizeof v, NULL));
  QV_CHECK_OK(qv_nd_flush(f, NULL));
  float out[100];
  uint64_t z[2] = {0, 0};
  QV_CHECK_OK(qv_nd_read(f, "x", z, shape, out, sizeof out, NULL));
  for (int i = 0; i < 100; i++) {
    int r = i / 10, col = i % 10;
    float want = (r == 5 || r == 6) && (col == 5 || col == 6) ? v[(r - 5) * 2 + col - 5] : fill;
    if (out[i] != want) QV__FAIL("element %d: %g != %g", i, out[i], want);
  }
  qv_nd_stats stt;
  QV_CHECK_OK(qv_nd_stats_get(f, "x", &stt, NULL));
  QV_CHECK_UINT_EQ(stt.count, 100);
  /* the 2x2 block at (5,5) touches chunk (1,1) only: 16 elements stored, 4 non-fill */
  QV_CHECK_UINT_EQ(stt.fill_count, 96);
  QV_CHECK(stt.has_minmax);
  QV_CHECK_DBL_EQ(stt.min.f, -1.5);
  QV_CHECK_DBL_EQ(stt.max.f, 4);
  /* range and type errors */
  uint64_t bad[2] = {9, 0}, badc[2] = {2, 1};
  QV_CHECK_STATUS_E(qv_nd_read(f, "x", bad, badc, out, 8, &err), QV_E_RANGE, &err);
  QV_CHECK_CONTAINS(err.message, "outside its extent 10");
  uint64_t huge[2] = {UINT64_MAX, 0}, one[2] = {2, 1};
  QV_CHECK_STATUS(qv_nd_read(f, "x", huge, one, out, 8, NULL), QV_E_RANGE);
  QV_CHECK_STATUS(qv_nd_read(f, "x", z, one, out, 7, NULL), QV_E_INVALID);
  QV_CHECK_STATUS(qv_nd_read(f, "nope", z, one, out, 8, NULL), QV_E_NOTFOUND);
  qv_nd_varbuf vb;
  QV_CHECK_STATUS(qv_nd_read_var(f, "x", z, one, &vb, NULL), QV_E_TYPE);
  QV_CHECK_STATUS(qv_nd_define(f, &d, &err), QV_E_EXISTS);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

static void test_strings_and_binary(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "s.nd", NULL, &f, NULL));
  for (int t = 0; t < 2; t++) {
    const char *name = t ? "bin" : "str";
    uint64_t shape[2] = {7, 5}, chunk[2] = {3, 2};
    qv_nd_array_def d = qv_nd_array_def_default();
    d.name = name;
    d.dtype.type = t ? QV_ND_BINARY : QV_ND_STRING;
    d.rank = 2;
    d.shape = shape;
    d.chunk_shape = chunk;
    d.fill = "n/a";
    d.fill_len = 3;
    d.codec = t ? QV_ND_CODEC_ZSTD : QV_ND_CODEC_LZ4;
    QV_REQUIRE_OK_E(qv_nd_define(f, &d, &err), &err);
    char store[35][16];
    const void *vals[35];
    size_t lens[35];
    for (int i = 0; i < 35; i++) {
      snprintf(store[i], sizeof store[i], "v%d%s", i, i % 3 ? "xx" : "");
      vals[i] = store[i];
      lens[i] = strlen(store[i]) + (size_t)t; /* binary includes the NUL */
    }
    lens[4] = 0; /* an empty value */
    uint64_t s[2] = {1, 1}, c[2] = {5, 3};
    QV_CHECK_OK_E(qv_nd_write_var(f, name, s, c, vals, lens, 15, &err), &err);
    for (int pass = 0; pass < 2; pass++) {
      qv_nd_varbuf vb;
      uint64_t z[2] = {0, 0};
      QV_REQUIRE_OK_E(qv_nd_read_var(f, name, z, shape, &vb, &err), &err);
      QV_CHECK_UINT_EQ(vb.n, 35);
      for (int i = 0; i < 35; i++) {
        int r = i / 5, col = i % 5;
        const char *want = "n/a";
        size_t wl = 3;
        if (r >= 1 && r < 6 && col >= 1 && col < 4) {
          int k = (r - 1) * 3 + col - 1;
          want = store[k];
          wl = lens[k];
        }
        size_t gl = (size_t)(vb.offsets[i + 1] - vb.offsets[i]);
        if (gl != wl || memcmp(vb.data + vb.offsets[i], want, wl) != 0)
          QV__FAIL("%s element %d pass %d: got '%.*s'", name, i, pass, (int)gl, vb.data + vb.offsets[i]);
      }
      qv_nd_varbuf_reset(&vb);
      QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
    }
    qv_nd_stats stt;
    QV_CHECK_OK(qv_nd_stats_get(f, name, &stt, NULL));
    QV_CHECK_UINT_EQ(stt.fill_count, 20);
    QV_CHECK(!stt.has_minmax);
  }
  /* rank-0 string */
  QV_CHECK_OK(nd_define(f, "scalar", (qv_nd_dtype){QV_ND_STRING, 0}, 0, NULL, NULL, 0, NULL));
  const void *v = "hello";
  size_t l = 5;
  QV_CHECK_OK(qv_nd_write_var(f, "scalar", NULL, NULL, &v, &l, 1, NULL));
  QV_CHECK_OK(qv_nd_flush(f, NULL));
  qv_nd_varbuf vb;
  QV_REQUIRE_OK(qv_nd_read_var(f, "scalar", NULL, NULL, &vb, NULL));
  QV_CHECK_UINT_EQ(vb.n, 1);
  QV_CHECK_MEM_EQ(vb.data, "hello", 5);
  qv_nd_varbuf_reset(&vb);
  QV_CHECK_OK_E(qv_nd_compact(f, &err), &err);
  QV_CHECK_OK_E(qv_nd_verify(f, &err), &err);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

static void test_dtype_names(void) {
  qv_nd_dtype d;
  char buf[64];
  QV_CHECK_OK(qv_nd_dtype_parse("f4", &d, NULL));
  QV_CHECK_INT_EQ(d.type, QV_ND_FLOAT32);
  QV_CHECK_OK(qv_nd_dtype_parse("list<int16,3>", &d, NULL));
  QV_CHECK_STR_EQ(qv_nd_dtype_str(d, buf, sizeof buf), "list<int16,3>");
  QV_CHECK_UINT_EQ(qv_nd_dtype_width(d), 6);
  QV_CHECK_STATUS(qv_nd_dtype_parse("list<string,3>", &d, NULL), QV_E_INVALID);
  QV_CHECK_STATUS(qv_nd_dtype_parse("float128", &d, NULL), QV_E_INVALID);
}

/* The checksum's AVX2 path and the library's generic XXH3 agree (the format depends on it). */
static void test_hash_paths_agree(void) {
  uint8_t *buf = malloc(1 << 20);
  uint64_t seed = 12345;
  for (size_t i = 0; i < (1u << 20); i++) buf[i] = (uint8_t)nd_rand(&seed);
  for (size_t n = 0; n < 2100; n++)
    if (qv__nd_hash(buf + n % 7, n) != qv__nd_hash_generic(buf + n % 7, n)) QV__FAIL("length %zu differs", n);
  QV_CHECK_UINT_EQ(qv__nd_hash(buf, 1 << 20), qv__nd_hash_generic(buf, 1 << 20));
  QV_CHECK_UINT_EQ(qv__nd_hash(buf, 12345), XXH3_64bits(buf, 12345));
  free(buf);
}

static void test_allocation_failures(void);

QV_TEST_MAIN(QV_CASE(test_every_dtype_rank_codec), QV_CASE(test_fill_and_unwritten),
             QV_CASE(test_strings_and_binary), QV_CASE(test_dtype_names),
             QV_CASE(test_hash_paths_agree), QV_CASE(test_allocation_failures))

static qv_status alloc_scenario(const qv_allocator *a, void *ctx) {
  (void)ctx;
  qv_nd_store *st;
  qv_nd_file *f = NULL;
  qv_status s = qv_nd_store_memory_new(a, &st, NULL);
  if (s < 0) return s;
  qv_nd_options o = qv_nd_options_default();
  o.alloc = a;
  uint64_t shape[2] = {6, 6}, chunk[2] = {4, 4};
  int32_t data[36];
  for (int i = 0; i < 36; i++) data[i] = i;
  uint64_t z[2] = {0, 0};
  QV_TRY_GOTO(s, qv_nd_create(st, "a.nd", &o, &f, NULL), out);
  QV_TRY_GOTO(s, nd_define(f, "x", (qv_nd_dtype){QV_ND_INT32, 0}, 2, shape, chunk, QV_ND_CODEC_ZSTD, NULL), out);
  QV_TRY_GOTO(s, qv_nd_write(f, "x", z, shape, data, sizeof data, NULL), out);
  qv_nd_attr at = {QV_ND_ATTR_INT, false, 1, &(int64_t){7}};
  QV_TRY_GOTO(s, qv_nd_attr_set(f, "x", "k", &at, NULL), out);
  QV_TRY_GOTO(s, qv_nd_flush(f, NULL), out);
  QV_TRY_GOTO(s, qv_nd_write(f, "x", z, shape, data, sizeof data, NULL), out);
  QV_TRY_GOTO(s, qv_nd_compact(f, NULL), out);
  qv_nd_close(f);
  f = NULL;
  QV_TRY_GOTO(s, qv_nd_open(st, "a.nd", &o, &f, NULL), out);
  int32_t got[36];
  QV_TRY_GOTO(s, qv_nd_read(f, "x", z, shape, got, sizeof got, NULL), out);
  if (memcmp(got, data, sizeof got) != 0) s = QV_E_CORRUPT;
out:
  qv_nd_close(f);
  qv_nd_store_close(st);
  return s;
}

static void test_allocation_failures(void) {
  size_t n = qv_test_each_alloc_failure(alloc_scenario, NULL, "ndfile create/write/flush/compact/open");
  QV_CHECK(n > 20);
}
