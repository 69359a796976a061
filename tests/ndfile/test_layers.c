/* test_layers.c — the ndfile layer stack: latest write wins, delete + redefine starts clean,
 * attributes and statistics across layers and compaction, time travel, two writers, concurrent
 * readers, the posix store, user codecs. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/nd_support.h"

static const uint64_t shp[2] = {20, 30}, chk[2] = {7, 8};
static const uint64_t z2[2] = {0, 0};

static void fill_i32(int32_t *v, size_t n, int32_t base) {
  for (size_t i = 0; i < n; i++) v[i] = base + (int32_t)i;
}

static void test_latest_write_wins_and_time_travel(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "l.nd", NULL, &f, NULL));
  QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_INT32, 0}, 2, shp, chk, QV_ND_CODEC_LZ4, NULL));
  int32_t full[600], got[600], want[600];
  fill_i32(full, 600, 0);
  QV_CHECK_OK(qv_nd_write(f, "a", z2, shp, full, sizeof full, NULL));
  QV_CHECK_OK(qv_nd_flush(f, NULL)); /* layer 2 */
  memcpy(want, full, sizeof want);
  /* layer 3..6: overwrite a moving 3x5 box */
  for (int32_t L = 0; L < 4; L++) {
    uint64_t s[2] = {(uint64_t)L * 4, (uint64_t)L * 6}, c[2] = {3, 5};
    int32_t box[15];
    fill_i32(box, 15, 1000 * (L + 1));
    QV_CHECK_OK(qv_nd_write(f, "a", s, c, box, sizeof box, NULL));
    for (int i = 0; i < 15; i++) want[(s[0] + (uint64_t)i / 5) * 30 + s[1] + (uint64_t)i % 5] = box[i];
    QV_CHECK_OK(qv_nd_flush(f, NULL));
  }
  QV_CHECK_UINT_EQ(qv_nd_layer_count(f), 6);
  QV_CHECK_UINT_EQ(qv_nd_layer_top(f), 6);
  QV_CHECK_OK(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL));
  QV_CHECK_MEM_EQ(got, want, sizeof got);
  /* as of layer 2: the original */
  qv_nd_options o = qv_nd_options_default();
  o.as_of_layer = 2;
  qv_nd_file *old;
  QV_REQUIRE_OK_E(qv_nd_open(st, "l.nd", &o, &old, &err), &err);
  QV_CHECK_OK(qv_nd_read(old, "a", z2, shp, got, sizeof got, NULL));
  QV_CHECK_MEM_EQ(got, full, sizeof got);
  QV_CHECK_STATUS(qv_nd_write(old, "a", z2, shp, full, sizeof full, NULL), QV_E_STATE);
  qv_nd_close(old);
  /* compaction keeps the content and leaves one layer; old layers become unreachable */
  QV_CHECK_OK_E(qv_nd_compact(f, &err), &err);
  QV_CHECK_UINT_EQ(qv_nd_layer_count(f), 1);
  QV_CHECK_UINT_EQ(qv_nd_layer_top(f), 7);
  QV_CHECK_OK(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL));
  QV_CHECK_MEM_EQ(got, want, sizeof got);
  QV_CHECK_STATUS_E(qv_nd_open(st, "l.nd", &o, &old, &err), QV_E_NOTFOUND, &err);
  QV_CHECK_CONTAINS(err.message, "no layer 2");
  qv_nd_close(f);
  QV_REQUIRE_OK(qv_nd_open(st, "l.nd", NULL, &f, NULL));
  QV_CHECK_UINT_EQ(qv_nd_layer_count(f), 1);
  QV_CHECK_OK(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL));
  QV_CHECK_MEM_EQ(got, want, sizeof got);
  QV_CHECK_OK_E(qv_nd_verify(f, &err), &err);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

static void test_delete_then_redefine_starts_clean(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "d.nd", NULL, &f, NULL));
  int32_t full[600], got[600], zero[600] = {0};
  fill_i32(full, 600, 1);
  for (int variant = 0; variant < 3; variant++) {
    QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_INT32, 0}, 2, shp, chk, 0, NULL));
    qv_nd_attr at = {QV_ND_ATTR_STRING, false, 1, &(qv_nd_bytes){"old", 3}};
    QV_CHECK_OK(qv_nd_attr_set(f, "a", "unit", &at, NULL));
    QV_CHECK_OK(qv_nd_write(f, "a", z2, shp, full, sizeof full, NULL));
    QV_CHECK_OK(qv_nd_flush(f, NULL));
    QV_CHECK_OK(qv_nd_delete(f, "a", NULL));
    QV_CHECK_UINT_EQ(qv_nd_count(f), 0);
    QV_CHECK_STATUS(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL), QV_E_NOTFOUND);
    if (variant >= 1) QV_CHECK_OK(qv_nd_flush(f, NULL)); /* tombstone layer */
    if (variant == 2) QV_CHECK_OK(qv_nd_compact(f, NULL));
    QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_INT32, 0}, 2, shp, chk, 0, NULL));
    QV_CHECK_UINT_EQ(qv_nd_count(f), 1);
    QV_CHECK_UINT_EQ(qv_nd_attr_count(f, "a"), 0);
    QV_CHECK_OK(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL));
    QV_CHECK_MEM_EQ(got, zero, sizeof got);
    QV_CHECK_OK(qv_nd_flush(f, NULL));
    qv_nd_close(f);
    QV_REQUIRE_OK(qv_nd_open(st, "d.nd", NULL, &f, NULL));
    QV_CHECK_OK(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL));
    if (memcmp(got, zero, sizeof got) != 0) QV__FAIL("variant %d: old chunks resurrected", variant);
    qv_nd_stats s;
    QV_CHECK_OK(qv_nd_stats_get(f, "a", &s, NULL));
    QV_CHECK_UINT_EQ(s.fill_count, 600);
    QV_CHECK_OK(qv_nd_delete(f, "a", NULL));
    QV_CHECK_OK(qv_nd_flush(f, NULL));
  }
  /* define + delete before any flush leaves nothing behind */
  QV_REQUIRE_OK(nd_define(f, "tmp", (qv_nd_dtype){QV_ND_INT8, 0}, 0, NULL, NULL, 0, NULL));
  QV_CHECK_OK(qv_nd_delete(f, "tmp", NULL));
  QV_CHECK(!qv_nd_dirty(f));
  QV_CHECK_STATUS(qv_nd_delete(f, "tmp", NULL), QV_E_NOTFOUND);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

static void test_attributes_across_layers(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "a.nd", NULL, &f, NULL));
  QV_REQUIRE_OK(nd_define(f, "x", (qv_nd_dtype){QV_ND_FLOAT64, 0}, 1, (uint64_t[]){5}, NULL, 0, NULL));
  uint8_t bools[3] = {1, 0, 1};
  int64_t ints[2] = {-5, INT64_MAX};
  double dbl = 2.5;
  qv_nd_bytes strs[2] = {{"a", 1}, {"bc", 2}}, bin = {"\0\1\2", 3};
  qv_nd_attr vals[5] = {{QV_ND_ATTR_BOOL, true, 3, bools},
                        {QV_ND_ATTR_INT, true, 2, ints},
                        {QV_ND_ATTR_FLOAT, false, 1, &dbl},
                        {QV_ND_ATTR_STRING, true, 2, strs},
                        {QV_ND_ATTR_BINARY, false, 1, &bin}};
  const char *keys[5] = {"flags", "ints", "scale", "names", "blob"};
  for (int i = 0; i < 5; i++) QV_CHECK_OK_E(qv_nd_attr_set(f, "x", keys[i], &vals[i], &err), &err);
  QV_CHECK_OK(qv_nd_flush(f, NULL));
  /* change one in a later layer, remove another */
  double dbl2 = -1;
  qv_nd_attr v2 = {QV_ND_ATTR_FLOAT, false, 1, &dbl2};
  QV_CHECK_OK(qv_nd_attr_set(f, "x", "scale", &v2, NULL));
  QV_CHECK_OK(qv_nd_attr_remove(f, "x", "flags", NULL));
  QV_CHECK_STATUS(qv_nd_attr_remove(f, "x", "flags", NULL), QV_E_NOTFOUND);
  QV_CHECK_OK(qv_nd_flush(f, NULL));
  for (int round = 0; round < 3; round++) {
    QV_CHECK_UINT_EQ(qv_nd_attr_count(f, "x"), 4);
    QV_CHECK_STR_EQ(qv_nd_attr_key(f, "x", 0), "blob");
    qv_nd_attr g;
    QV_CHECK_OK(qv_nd_attr_get(f, "x", "scale", &g, NULL));
    QV_CHECK_DBL_EQ(*(const double *)g.values, -1);
    QV_CHECK_OK(qv_nd_attr_get(f, "x", "ints", &g, NULL));
    QV_CHECK(g.is_list && g.count == 2 && ((const int64_t *)g.values)[1] == INT64_MAX);
    QV_CHECK_OK(qv_nd_attr_get(f, "x", "names", &g, NULL));
    QV_CHECK(g.kind == QV_ND_ATTR_STRING && g.count == 2);
    QV_CHECK_MEM_EQ(((const qv_nd_bytes *)g.values)[1].data, "bc", 2);
    QV_CHECK_OK(qv_nd_attr_get(f, "x", "blob", &g, NULL));
    QV_CHECK_MEM_EQ(((const qv_nd_bytes *)g.values)[0].data, "\0\1\2", 3);
    QV_CHECK_STATUS(qv_nd_attr_get(f, "x", "flags", &g, NULL), QV_E_NOTFOUND);
    if (round == 0) QV_CHECK_OK(qv_nd_compact(f, NULL));
    if (round == 1) {
      qv_nd_close(f);
      QV_REQUIRE_OK(qv_nd_open(st, "a.nd", NULL, &f, NULL));
    }
  }
  /* bad attribute values */
  qv_nd_attr bad = {QV_ND_ATTR_INT, false, 2, ints};
  QV_CHECK_STATUS(qv_nd_attr_set(f, "x", "k", &bad, NULL), QV_E_INVALID);
  bad.kind = (qv_nd_attr_kind)9;
  QV_CHECK_STATUS(qv_nd_attr_set(f, "x", "k", &bad, NULL), QV_E_INVALID);
  QV_CHECK_STATUS(qv_nd_attr_set(f, "nope", "k", &vals[2], NULL), QV_E_NOTFOUND);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

static void test_stats_across_flushes(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "s.nd", NULL, &f, NULL));
  QV_REQUIRE_OK(nd_define(f, "u", (qv_nd_dtype){QV_ND_UINT16, 0}, 1, (uint64_t[]){100}, (uint64_t[]){10}, QV_ND_CODEC_ZSTD, NULL));
  QV_REQUIRE_OK(nd_define(f, "i", (qv_nd_dtype){QV_ND_INT64, 0}, 1, (uint64_t[]){100}, (uint64_t[]){10}, 0, NULL));
  QV_REQUIRE_OK(nd_define(f, "d", (qv_nd_dtype){QV_ND_FLOAT64, 0}, 1, (uint64_t[]){100}, (uint64_t[]){10}, 0, NULL));
  uint16_t u[20];
  int64_t iv[20];
  double dv[20];
  for (int i = 0; i < 20; i++) {
    u[i] = (uint16_t)(100 + i);
    iv[i] = -50 + i;
    dv[i] = i == 3 ? (double)NAN : i * 0.5;
  }
  uint64_t s0[1] = {0}, c20[1] = {20};
  QV_CHECK_OK(qv_nd_write(f, "u", s0, c20, u, sizeof u, NULL));
  QV_CHECK_OK(qv_nd_write(f, "i", s0, c20, iv, sizeof iv, NULL));
  QV_CHECK_OK(qv_nd_write(f, "d", s0, c20, dv, sizeof dv, NULL));
  for (int round = 0; round < 4; round++) {
    qv_nd_stats s;
    QV_CHECK_OK(qv_nd_stats_get(f, "u", &s, NULL));
    QV_CHECK_UINT_EQ(s.count, 100);
    QV_CHECK_UINT_EQ(s.fill_count, 80);
    QV_CHECK_UINT_EQ(s.min.u, round >= 2 ? 5 : 100);
    QV_CHECK_UINT_EQ(s.max.u, 119);
    QV_CHECK_OK(qv_nd_stats_get(f, "i", &s, NULL));
    QV_CHECK_INT_EQ(s.min.i, -50);
    QV_CHECK_INT_EQ(s.max.i, round >= 2 ? 77 : -31);
    QV_CHECK_OK(qv_nd_stats_get(f, "d", &s, NULL));
    QV_CHECK_DBL_EQ(s.min.f, 0);
    QV_CHECK_DBL_EQ(s.max.f, 9.5);
    QV_CHECK_UINT_EQ(s.fill_count, 81); /* 80 unwritten + the stored 0.0 */
    if (round == 0) QV_CHECK_OK(qv_nd_flush(f, NULL));
    if (round == 1) { /* overwrite chunk 0 of u with smaller values, chunk 1 of i with bigger */
      uint16_t u2[10] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
      int64_t i2[10] = {70, 71, 72, 73, 74, 75, 76, 77, 0, 0};
      uint64_t c10[1] = {10}, s10[1] = {10};
      QV_CHECK_OK(qv_nd_write(f, "u", s0, c10, u2, sizeof u2, NULL));
      QV_CHECK_OK(qv_nd_write(f, "i", s10, c10, i2, sizeof i2, NULL));
      /* fill counts: i has two zeros now */
      QV_CHECK_OK(qv_nd_flush(f, NULL));
    }
    if (round == 2) QV_CHECK_OK(qv_nd_compact(f, NULL));
  }
  qv_nd_stats s;
  QV_CHECK_OK(qv_nd_stats_get(f, "i", &s, NULL));
  QV_CHECK_UINT_EQ(s.fill_count, 82);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

static void test_two_writers_conflict(void) {
  qv_nd_store *st;
  qv_nd_file *a, *b;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "c.nd", NULL, &a, NULL));
  QV_REQUIRE_OK(qv_nd_open(st, "c.nd", NULL, &b, NULL));
  QV_CHECK_OK(nd_define(a, "from_a", (qv_nd_dtype){QV_ND_INT8, 0}, 0, NULL, NULL, 0, NULL));
  QV_CHECK_OK(nd_define(b, "from_b", (qv_nd_dtype){QV_ND_INT8, 0}, 0, NULL, NULL, 0, NULL));
  QV_CHECK_OK(qv_nd_flush(a, NULL));
  QV_CHECK_STATUS_E(qv_nd_flush(b, &err), QV_E_CONFLICT, &err);
  QV_CHECK_CONTAINS(err.message, "another writer");
  QV_CHECK(qv_nd_dirty(b)); /* nothing lost: b still holds its change */
  QV_CHECK_STATUS(qv_nd_compact(b, NULL), QV_E_CONFLICT);
  qv_nd_close(b);
  /* a's layer is intact */
  QV_REQUIRE_OK(qv_nd_open(st, "c.nd", NULL, &b, NULL));
  QV_CHECK_UINT_EQ(qv_nd_count(b), 1);
  QV_CHECK_STR_EQ(qv_nd_name(b, 0), "from_a");
  /* compaction also conflicts with a concurrent flush */
  QV_CHECK_OK(nd_define(b, "b2", (qv_nd_dtype){QV_ND_INT8, 0}, 0, NULL, NULL, 0, NULL));
  QV_CHECK_OK(qv_nd_flush(b, NULL));
  QV_CHECK_STATUS(qv_nd_compact(a, NULL), QV_E_CONFLICT);
  qv_nd_close(a);
  qv_nd_close(b);
  QV_CHECK_STATUS(qv_nd_create(st, "c.nd", NULL, &a, NULL), QV_E_EXISTS);
  QV_CHECK_STATUS(qv_nd_open(st, "none.nd", NULL, &a, NULL), QV_E_NOTFOUND);
  qv_nd_store_close(st);
}

typedef struct rd_arg {
  qv_nd_file *f;
  int id, bad;
} rd_arg;

static void *reader(void *p) {
  rd_arg *a = p;
  uint64_t seed = (uint64_t)a->id * 7919 + 1;
  int32_t buf[64];
  for (int it = 0; it < 400; it++) {
    uint64_t s[2] = {nd_rand(&seed) % 60, nd_rand(&seed) % 60}, c[2] = {4, 4};
    if (qv_nd_read(a->f, "big", s, c, buf, sizeof(int32_t) * 16, NULL) != QV_OK) {
      a->bad++;
      continue;
    }
    for (int i = 0; i < 16; i++) {
      int32_t want = (int32_t)((s[0] + (uint64_t)i / 4) * 64 + s[1] + (uint64_t)i % 4);
      if (buf[i] != want) a->bad++;
    }
  }
  return NULL;
}

static void test_concurrent_readers(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  qv_nd_options o = qv_nd_options_default();
  o.cache_bytes = 4096; /* tiny: constant eviction while others hold entries */
  QV_REQUIRE_OK(qv_nd_create(st, "t.nd", &o, &f, NULL));
  uint64_t shape[2] = {64, 64}, chunk[2] = {8, 8};
  QV_REQUIRE_OK(nd_define(f, "big", (qv_nd_dtype){QV_ND_INT32, 0}, 2, shape, chunk, QV_ND_CODEC_LZ4, NULL));
  int32_t *v = malloc(64 * 64 * 4);
  fill_i32(v, 64 * 64, 0);
  QV_CHECK_OK(qv_nd_write(f, "big", z2, shape, v, 64 * 64 * 4, NULL));
  QV_CHECK_OK(qv_nd_flush(f, NULL));
  pthread_t th[4];
  rd_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (rd_arg){f, i, 0};
    pthread_create(&th[i], NULL, reader, &args[i]);
  }
  /* a writer interleaves with the readers (same values: readers must always see them) */
  for (int i = 0; i < 10; i++) {
    uint64_t s[2] = {(uint64_t)i * 6, 0}, c[2] = {6, 64};
    QV_CHECK_OK(qv_nd_write(f, "big", s, c, v + i * 6 * 64, 6 * 64 * 4, NULL));
    if (i % 3 == 0) QV_CHECK_OK(qv_nd_flush(f, NULL));
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    QV_CHECK_INT_EQ(args[i].bad, 0);
  }
  free(v);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

static void test_posix_store(void) {
  char dir[] = "/tmp/qv-nd-test-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  qv_nd_store *st;
  qv_nd_file *f, *g;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_store_posix_new(dir, NULL, &st, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_create(st, "sub/p.nd", NULL, &f, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_open(st, "sub/p.nd", NULL, &g, &err), &err);
  int32_t v[600], got[600];
  fill_i32(v, 600, 3);
  QV_CHECK_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_INT32, 0}, 2, shp, chk, QV_ND_CODEC_ZSTD, NULL));
  QV_CHECK_OK(qv_nd_write(f, "a", z2, shp, v, sizeof v, NULL));
  QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
  QV_CHECK_OK(nd_define(g, "b", (qv_nd_dtype){QV_ND_INT32, 0}, 0, NULL, NULL, 0, NULL));
  QV_CHECK_STATUS(qv_nd_flush(g, NULL), QV_E_CONFLICT);
  qv_nd_close(g);
  QV_CHECK_OK_E(qv_nd_compact(f, &err), &err);
  qv_nd_close(f);
  QV_REQUIRE_OK_E(qv_nd_open(st, "sub/p.nd", NULL, &f, &err), &err);
  QV_CHECK_OK(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL));
  QV_CHECK_MEM_EQ(got, v, sizeof v);
  QV_CHECK_UINT_EQ(qv_nd_layer_count(f), 1);
  qv_nd_close(f);
  QV_CHECK_STATUS(qv_nd_create(st, "../escape", NULL, &f, NULL), QV_E_INVALID);
  qv_nd_store_close(st);
  nd_rmdir(dir);
}

/* The posix writer reserves blocks ahead of big appends (fallocate); what the layer does not
 * use is released before publication, durable (fsync) or not, and the data reads back. A
 * durable writer also starts the writeback of each 32 MiB as it goes (40 MiB here). */
#define BYTES ((size_t)40 << 20)
static void test_posix_reserve_released(void) {
  char dir[] = "/tmp/qv-nd-test-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  float *v = malloc(BYTES), *got = malloc(BYTES);
  QV_REQUIRE(v && got);
  for (size_t i = 0; i < BYTES / 4; i++) v[i] = (float)i * 0.5f;
  for (int durable = 0; durable < 2; durable++) {
    qv_nd_store *st;
    qv_nd_file *f;
    qv_error err;
    if (durable) QV_REQUIRE_OK_E(qv_nd_store_posix_new(dir, NULL, &st, &err), &err);
    else QV_REQUIRE_OK_E(qv_nd_store_posix_open(dir, QV_ND_POSIX_NO_FSYNC, NULL, &st, &err), &err);
    const char *name = durable ? "d.nd" : "n.nd";
    uint64_t shape[2] = {BYTES / 4096, 1024}, chunk[2] = {256, 1024}, z[2] = {0, 0}; /* 1 MiB chunks */
    QV_REQUIRE_OK_E(qv_nd_create(st, name, NULL, &f, &err), &err);
    QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shape, chunk, 0, NULL));
    QV_CHECK_OK_E(qv_nd_write(f, "a", z, shape, v, BYTES, &err), &err);
    QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
    QV_CHECK_UINT_EQ(qv_nd_layer_top(f), 2);
    qv_nd_close(f);
    char path[256];
    snprintf(path, sizeof path, "%s/%s/layer-00000000000000000002.qnd", dir, name);
    struct stat sb;
    QV_REQUIRE(stat(path, &sb) == 0);
    QV_CHECK(sb.st_size > (off_t)BYTES);
    /* without the release the reserve (8 MiB steps) would still be allocated */
    if ((uint64_t)sb.st_blocks * 512 > (uint64_t)sb.st_size + ((uint64_t)1 << 20))
      QV__FAIL("%s: %llu bytes allocated for %llu", path, (unsigned long long)sb.st_blocks * 512,
               (unsigned long long)sb.st_size);
    QV_REQUIRE_OK_E(qv_nd_open(st, name, NULL, &f, &err), &err);
    memset(got, 0, BYTES);
    QV_CHECK_OK_E(qv_nd_read(f, "a", z, shape, got, BYTES, &err), &err);
    QV_CHECK_MEM_EQ(got, v, BYTES);
    qv_nd_close(f);
    qv_nd_store_close(st);
  }
  free(v);
  free(got);
  nd_rmdir(dir);
}
#undef BYTES

/* a toy user codec: XOR with 0x5a */
static size_t x_bound(size_t n) { return n + 1; }
static qv_status x_enc(const void *src, size_t len, void *dst, size_t cap, int level, size_t *out,
                       qv_error *err) {
  (void)level;
  if (cap < len) return qv_error_set(err, QV_E_INVALID, "small");
  for (size_t i = 0; i < len; i++) ((uint8_t *)dst)[i] = ((const uint8_t *)src)[i] ^ 0x5a;
  *out = len > 0 ? len - 1 : 0; /* pretend it compresses: drop the last byte... */
  if (len) *out = len;
  return QV_OK;
}
static qv_status x_dec(const void *src, size_t len, void *dst, size_t raw_len, qv_error *err) {
  if (len != raw_len) return qv_error_set(err, QV_E_CORRUPT, "xor: length");
  for (size_t i = 0; i < len; i++) ((uint8_t *)dst)[i] = ((const uint8_t *)src)[i] ^ 0x5a;
  return QV_OK;
}

static void test_user_codec(void) {
  static const qv_nd_codec xc = {200, "xor", x_bound, x_enc, x_dec};
  qv_error err;
  QV_CHECK_OK_E(qv_nd_codec_register(&xc, &err), &err);
  QV_CHECK_STATUS(qv_nd_codec_register(&xc, NULL), QV_E_EXISTS);
  static const qv_nd_codec low = {5, "low", x_bound, x_enc, x_dec};
  QV_CHECK_STATUS(qv_nd_codec_register(&low, NULL), QV_E_INVALID);
  uint32_t id;
  QV_CHECK_OK(qv_nd_codec_find("xor", &id, NULL));
  QV_CHECK_UINT_EQ(id, 200);
  QV_CHECK_STR_EQ(qv_nd_codec_name(200), "xor");
  qv_nd_store *st;
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "u.nd", NULL, &f, NULL));
  QV_CHECK_STATUS(nd_define(f, "bad", (qv_nd_dtype){QV_ND_INT32, 0}, 0, NULL, NULL, 999, NULL), QV_E_UNSUPPORTED);
  QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_INT32, 0}, 2, shp, chk, 200, NULL));
  int32_t v[600], got[600];
  fill_i32(v, 600, 9);
  QV_CHECK_OK(qv_nd_write(f, "a", z2, shp, v, sizeof v, NULL));
  QV_CHECK_OK(qv_nd_flush(f, NULL));
  qv_nd_close(f);
  QV_REQUIRE_OK(qv_nd_open(st, "u.nd", NULL, &f, NULL));
  QV_CHECK_OK(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL));
  QV_CHECK_MEM_EQ(got, v, sizeof v);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

/* Whole-chunk writes of compressed arrays are encoded at write time; partial rewrites of such a
 * pending chunk, reads and stats before the flush must all see the latest values. */
static void test_pending_rewrites(void) {
  for (uint32_t variant = 0; variant < 6; variant++) {
    uint32_t codec = variant % 3;
    qv_nd_store *st;
    qv_nd_file *f;
    qv_nd_options o = qv_nd_options_default();
    o.threads = variant < 3 ? 1 : 3; /* whole chunks encoded in parallel at write time */
    QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
    QV_REQUIRE_OK(qv_nd_create(st, "p.nd", &o, &f, NULL));
    QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_INT32, 0}, 2, shp, chk, codec, NULL));
    int32_t want[600], got[600];
    memset(want, 0, sizeof want);
    uint64_t seed = 99 + codec;
    for (int round = 0; round < 40; round++) {
      uint64_t s[2] = {nd_rand(&seed) % 20, nd_rand(&seed) % 30}, c[2];
      c[0] = 1 + nd_rand(&seed) % (20 - s[0]);
      c[1] = 1 + nd_rand(&seed) % (30 - s[1]);
      if (round % 3 == 0) { /* a chunk-aligned write of one or more whole chunks */
        s[0] = 7 * (nd_rand(&seed) % 2);
        s[1] = 8 * (nd_rand(&seed) % 3);
        c[0] = 7;
        c[1] = 8 * (1 + nd_rand(&seed) % (3 - s[1] / 8));
      }
      int32_t box[600];
      for (uint64_t i = 0; i < c[0] * c[1]; i++) {
        box[i] = round * 1000 + (int32_t)i;
        want[(s[0] + i / c[1]) * 30 + s[1] + i % c[1]] = box[i];
      }
      QV_CHECK_OK(qv_nd_write(f, "a", s, c, box, c[0] * c[1] * 4, NULL));
      QV_CHECK_OK(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL));
      if (memcmp(got, want, sizeof got) != 0) QV__FAIL("variant %u round %d: pending data differs", variant, round);
      if (round % 10 == 9) QV_CHECK_OK(qv_nd_flush(f, NULL));
    }
    qv_nd_stats st1, st2;
    QV_CHECK_OK(qv_nd_stats_get(f, "a", &st1, NULL));
    QV_CHECK_OK(qv_nd_flush(f, NULL));
    QV_CHECK_OK(qv_nd_compact(f, NULL));
    QV_CHECK_OK(qv_nd_stats_get(f, "a", &st2, NULL));
    QV_CHECK_INT_EQ(st1.min.i, st2.min.i);
    QV_CHECK_INT_EQ(st1.max.i, st2.max.i);
    QV_CHECK_UINT_EQ(st1.fill_count, st2.fill_count);
    QV_CHECK_OK(qv_nd_read(f, "a", z2, shp, got, sizeof got, NULL));
    QV_CHECK_MEM_EQ(got, want, sizeof got);
    qv_nd_close(f);
    qv_nd_store_close(st);
  }
}

/* Uncompressed whole chunks whose rows land apart in the output are read with one scattered
 * read straight into the output; the checksum is verified over those rows. */
static void test_scattered_reads(void) {
  char dir[] = "/tmp/qv-nd-scatter-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  for (int which = 0; which < 2; which++) {
    qv_nd_store *st;
    qv_nd_file *f;
    qv_error err;
    if (which == 0) QV_REQUIRE_OK(qv_nd_store_posix_new(dir, NULL, &st, NULL));
    else QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
    qv_nd_options o = qv_nd_options_default();
    o.cache_bytes = 0;
    QV_REQUIRE_OK(qv_nd_create(st, "s.nd", &o, &f, NULL));
    uint64_t shape[3] = {3, 11, 600}, chunk[3] = {2, 5, 300}, z[3] = {0, 0, 0};
    QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 3, shape, chunk, 0, NULL));
    size_t n = 3 * 11 * 600;
    float *v = malloc(n * 4), *got = malloc(n * 4);
    for (size_t i = 0; i < n; i++) v[i] = (float)i * 0.25f;
    QV_CHECK_OK(qv_nd_write(f, "a", z, shape, v, n * 4, NULL));
    QV_CHECK_OK(qv_nd_flush(f, NULL));
    qv_nd_close(f);
    QV_REQUIRE_OK(qv_nd_open(st, "s.nd", &o, &f, NULL));
    memset(got, 0, n * 4);
    QV_CHECK_OK_E(qv_nd_read(f, "a", z, shape, got, n * 4, &err), &err);
    QV_CHECK_MEM_EQ(got, v, n * 4);
    qv_nd_close(f);
    /* a flipped byte in the middle of the first block is caught on the scattered path */
    char name[] = "s.nd/layer-00000000000000000002.qnd";
    uint64_t size;
    uint8_t *obj = nd_get_obj(st, name, &size);
    QV_REQUIRE(obj != NULL);
    obj[nd_data_start(obj) + 2000] ^= 4;
    QV_REQUIRE_OK(nd_put_obj(st, name, obj, size));
    free(obj);
    QV_REQUIRE_OK(qv_nd_open(st, "s.nd", &o, &f, NULL));
    QV_CHECK_STATUS_E(qv_nd_read(f, "a", z, shape, got, n * 4, &err), QV_E_CORRUPT, &err);
    QV_CHECK_CONTAINS(err.message, "chunk (0,0,0): checksum mismatch");
    qv_nd_close(f);
    qv_nd_store_close(st);
    free(v);
    free(got);
  }
  nd_rmdir(dir);
}

QV_TEST_MAIN(QV_CASE(test_latest_write_wins_and_time_travel), QV_CASE(test_scattered_reads), QV_CASE(test_pending_rewrites),
             QV_CASE(test_delete_then_redefine_starts_clean), QV_CASE(test_attributes_across_layers),
             QV_CASE(test_stats_across_flushes), QV_CASE(test_two_writers_conflict),
             QV_CASE(test_concurrent_readers), QV_CASE(test_posix_store),
             QV_CASE(test_posix_reserve_released), QV_CASE(test_user_codec))
