/* test_spill.c — whole chunks streamed into the next layer as they are written (spec §2a):
 * the same visible state and the same published bytes as without streaming, reads of
 * streamed chunks before the flush, overwrites and partial updates of them, out-of-order
 * blocks (and their tiling checks), conflicts, torn appends, failed flushes retried, dead-byte
 * auto-flush, threads. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "support/nd_support.h"

/* float32 [512, 384] in [128, 128] chunks: 12 chunks of 64 KiB, the streaming threshold */
static const uint64_t shp[2] = {512, 384}, chk[2] = {128, 128}, z2[2] = {0, 0};
#define NEL (512u * 384u)
#define CEL (128u * 128u)

/* The reference: a memory store that says it is version 1, so ndfile never streams to it. */
static qv_nd_store *v1_store(void) {
  qv_nd_store *s = NULL;
  if (qv_nd_store_memory_new(NULL, &s, NULL) == QV_OK) s->version = 1;
  return s;
}

/* values that LZ4 cannot shrink below the threshold */
static void noise(float *v, size_t n, uint64_t seed) {
  uint64_t x = seed | 1;
  for (size_t i = 0; i < n; i++) v[i] = (float)(nd_rand(&x) % 1000003) / 7.0f;
}

typedef struct two {
  qv_nd_store *st, *ref;
  qv_nd_file *f, *g; /* f streams (fault store: counts store operations), g does not */
} two;

static void two_open(two *t, uint32_t codec, const qv_nd_options *o) {
  memset(t, 0, sizeof *t);
  QV_REQUIRE_OK(qv_nd_store_fault_new(NULL, &t->st, NULL));
  t->ref = v1_store();
  QV_REQUIRE(t->ref != NULL);
  QV_REQUIRE_OK(qv_nd_create(t->st, "s.nd", o, &t->f, NULL));
  QV_REQUIRE_OK(qv_nd_create(t->ref, "s.nd", o, &t->g, NULL));
  for (int i = 0; i < 2; i++) {
    qv_nd_file *h = i ? t->g : t->f;
    QV_REQUIRE_OK(nd_define(h, "a", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shp, chk, codec, NULL));
    QV_REQUIRE_OK(nd_define(h, "b", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shp, chk, codec, NULL));
  }
}

static void two_close(two *t) {
  qv_nd_close(t->f);
  qv_nd_close(t->g);
  qv_nd_store_close(t->st);
  qv_nd_store_close(t->ref);
}

/* The same write on both handles. */
static void both_write(two *t, const char *name, const uint64_t *start, const uint64_t *shape,
                       const float *v) {
  size_t len = (size_t)nd_prod(2, shape) * sizeof *v;
  qv_error err;
  QV_CHECK_OK_E(qv_nd_write(t->f, name, start, shape, v, len, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(t->g, name, start, shape, v, len, &err), &err);
}

/* Both handles show the same state (pending or flushed) and verify. */
static void same_state(two *t, const char *when) {
  qv_error err;
  char *a = nd_snapshot(t->f, &err), *b = nd_snapshot(t->g, &err);
  QV_CHECK(a != NULL && b != NULL);
  if (a && b && strcmp(a, b) != 0) QV__FAIL("%s: streaming and reference states differ:\n%s\nvs\n%s", when, a, b);
  free(a);
  free(b);
  QV_CHECK_OK_E(qv_nd_verify(t->f, &err), &err);
}

/* Published layers of both are the same size, and reopening the streamed file gives the
 * reference state. */
static void same_after_reopen(two *t, const char *when) {
  qv_nd_layer_desc a, b;
  QV_CHECK_OK(qv_nd_layer_info(t->f, 0, &a, NULL));
  QV_CHECK_OK(qv_nd_layer_info(t->g, 0, &b, NULL));
  QV_CHECK_UINT_EQ(a.bytes, b.bytes);
  QV_CHECK_UINT_EQ(a.n_chunks, b.n_chunks);
  qv_nd_close(t->f);
  t->f = NULL;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_open(t->st, "s.nd", NULL, &t->f, &err), &err);
  same_state(t, when);
}

static void test_stream_whole_write(void) {
  static const uint32_t codecs[] = {QV_ND_CODEC_NONE, QV_ND_CODEC_LZ4, QV_ND_CODEC_ZSTD};
  float *v = malloc(NEL * sizeof *v), *r = malloc(NEL * sizeof *r);
  QV_REQUIRE(v && r);
  for (size_t c = 0; c < 3; c++) {
    two t;
    qv_nd_options o = qv_nd_options_default();
    o.cache_bytes = 0;
    two_open(&t, codecs[c], &o);
    if (codecs[c] == QV_ND_CODEC_ZSTD) /* compresses far below the threshold: kept in memory */
      for (size_t i = 0; i < NEL; i++) v[i] = (float)(i % 7);
    else
      noise(v, NEL, 11 + c);
    qv_nd_fault_arm(t.st, QV_ND_FAULT_NONE, 0);
    both_write(&t, "a", z2, shp, v);
    uint64_t ops = qv_nd_fault_ops(t.st);
    if (codecs[c] == QV_ND_CODEC_ZSTD) QV_CHECK_UINT_EQ(ops, 0);
    else QV_CHECK_UINT_EQ(ops, 1 + 1 + 12); /* writer_open, header, 12 blocks */
    /* streamed chunks read back before the flush: whole, partial, across chunks */
    memset(r, 0, NEL * sizeof *r);
    QV_CHECK_OK(qv_nd_read(t.f, "a", z2, shp, r, NEL * sizeof *r, NULL));
    QV_CHECK_MEM_EQ(r, v, NEL * sizeof *r);
    float part[6];
    QV_CHECK_OK(qv_nd_read(t.f, "a", (uint64_t[]){127, 255}, (uint64_t[]){2, 3}, part, sizeof part, NULL));
    QV_CHECK(part[0] == v[127 * 384 + 255] && part[5] == v[128 * 384 + 257]);
    same_state(&t, "pending");
    QV_CHECK_OK(qv_nd_flush(t.f, NULL));
    QV_CHECK_OK(qv_nd_flush(t.g, NULL));
    same_after_reopen(&t, "flushed");
    two_close(&t);
  }
  free(v);
  free(r);
}

/* Blocks streamed in the order they come, overwritten whole, updated in part, deleted with
 * their array, redefined: the published state equals the reference at every step. */
static void test_stream_overwrites(void) {
  float *v = malloc(CEL * sizeof *v);
  QV_REQUIRE(v != NULL);
  for (int rewrite = 0; rewrite < 2; rewrite++) {
    two t;
    two_open(&t, QV_ND_CODEC_NONE, NULL);
    /* chunks of "b" then "a", each in reverse grid order: blocks out of footer order */
    for (int k = 11; k >= 0; k--) {
      noise(v, CEL, (uint64_t)k + 100);
      both_write(&t, "b", (uint64_t[]){(uint64_t)(k / 3) * 128, (uint64_t)(k % 3) * 128}, chk, v);
    }
    for (int k = 3; k >= 0; k--) {
      noise(v, CEL, (uint64_t)k + 200);
      both_write(&t, "a", (uint64_t[]){(uint64_t)k * 128, 0}, chk, v);
    }
    if (rewrite) {
      noise(v, CEL, 300); /* a streamed block overwritten whole: its first copy is dead */
      both_write(&t, "a", (uint64_t[]){128, 0}, chk, v);
      both_write(&t, "b", (uint64_t[]){5, 7}, (uint64_t[]){3, 4}, v); /* partial: back in memory */
      qv_error err;
      QV_CHECK_OK_E(qv_nd_delete(t.f, "a", &err), &err); /* everything streamed for "a" dies */
      QV_CHECK_OK(qv_nd_delete(t.g, "a", NULL));
      QV_CHECK_OK(nd_define(t.f, "a", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shp, chk, 0, NULL));
      QV_CHECK_OK(nd_define(t.g, "a", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shp, chk, 0, NULL));
      noise(v, CEL, 400);
      both_write(&t, "a", (uint64_t[]){384, 256}, chk, v);
    }
    same_state(&t, rewrite ? "rewritten, pending" : "out of order, pending");
    QV_CHECK_OK(qv_nd_flush(t.f, NULL));
    QV_CHECK_OK(qv_nd_flush(t.g, NULL));
    same_after_reopen(&t, rewrite ? "rewritten, flushed" : "out of order, flushed");
    /* and on top: a second streamed layer, then compaction merges both */
    noise(v, CEL, 500);
    both_write(&t, "b", (uint64_t[]){0, 256}, chk, v);
    QV_CHECK_OK(qv_nd_compact(t.f, NULL));
    QV_CHECK_OK(qv_nd_compact(t.g, NULL));
    same_after_reopen(&t, "compacted");
    two_close(&t);
  }
  free(v);
}

/* Out-of-order blocks are accepted only when they tile the data region exactly. */
static void test_unordered_tiling_checked(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "u.nd", NULL, &f, NULL));
  QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shp, chk, 0, NULL));
  float *v = malloc(CEL * sizeof *v);
  QV_REQUIRE(v != NULL);
  for (int k = 2; k >= 0; k--) { /* chunks 2, 1, 0 at offsets d, d+64K, d+128K (d: data start) */
    noise(v, CEL, (uint64_t)k);
    QV_REQUIRE_OK(qv_nd_write(f, "a", (uint64_t[]){0, (uint64_t)k * 128}, chk, v, CEL * sizeof *v, NULL));
  }
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  qv_nd_close(f);
  free(v);
  const char *name = "u.nd/layer-00000000000000000002.qnd";
  uint64_t size;
  uint8_t *orig = nd_get_obj(st, name, &size), *mod = orig ? malloc(size) : NULL;
  QV_REQUIRE(orig && mod);
  uint64_t flen = nd_get_u64(orig + size - 40), fpos = size - 40 - flen, d = nd_data_start(orig);
  QV_CHECK_UINT_EQ(d, 4096); /* a streamed layer is page-aligned */
  /* the entry of chunk 0 (chunk number 0 then offset d + 2 * 65536) */
  uint8_t pat[16];
  nd_put_u64(pat, 0);
  nd_put_u64(pat + 8, d + 2 * 65536);
  uint64_t at = 0;
  for (uint64_t i = fpos; i + 16 <= size - 40; i++)
    if (memcmp(orig + i, pat, 16) == 0) at = i;
  QV_REQUIRE(at != 0);
  static const struct {
    uint64_t off;
    const char *msg;
  } cases[] = {{65536, "overlap"}, {3 * 65536, "outside the data region"}, {2 * 65536, ""}};
  for (size_t c = 0; c < 3; c++) {
    memcpy(mod, orig, size);
    nd_put_u64(mod + at + 8, d + cases[c].off);
    nd_reseal(mod, size);
    QV_REQUIRE_OK(nd_put_obj(st, name, mod, size));
    qv_error err;
    qv_status s = qv_nd_open(st, "u.nd", NULL, &f, &err);
    if (!cases[c].msg[0]) {
      QV_CHECK_OK_E(s, &err);
    } else {
      QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
      QV_CHECK_CONTAINS(err.message, cases[c].msg);
    }
    if (s == QV_OK) qv_nd_close(f);
  }
  free(orig);
  free(mod);
  qv_nd_store_close(st);
}

/* A competing writer publishes first: QV_E_CONFLICT, and the streamed chunks are still there
 * (readable) because nothing was committed. */
static void test_stream_conflict_keeps_chunks(void) {
  qv_nd_store *st;
  qv_nd_file *a, *b;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "k.nd", NULL, &a, NULL));
  QV_REQUIRE_OK(nd_define(a, "x", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shp, chk, 0, NULL));
  QV_REQUIRE_OK(qv_nd_flush(a, NULL));
  QV_REQUIRE_OK(qv_nd_open(st, "k.nd", NULL, &b, NULL));
  float *v = malloc(CEL * sizeof *v), *r = malloc(CEL * sizeof *r);
  QV_REQUIRE(v && r);
  noise(v, CEL, 9);
  QV_CHECK_OK(qv_nd_write(a, "x", z2, chk, v, CEL * sizeof *v, NULL));
  QV_CHECK_OK(qv_nd_write(b, "x", (uint64_t[]){128, 0}, chk, v, CEL * sizeof *v, NULL));
  QV_CHECK_OK(qv_nd_flush(b, NULL));
  qv_error err;
  QV_CHECK_STATUS_E(qv_nd_flush(a, &err), QV_E_CONFLICT, &err);
  QV_CHECK_OK(qv_nd_read(a, "x", z2, chk, r, CEL * sizeof *r, NULL));
  QV_CHECK_MEM_EQ(r, v, CEL * sizeof *r);
  qv_nd_close(a);
  qv_nd_close(b);
  free(v);
  free(r);
  qv_nd_store_close(st);
}

/* A torn append while streaming: the write still succeeds (the block stays in memory), and
 * the flush rewrites the layer from what was streamed before plus memory. */
static void test_stream_torn_append(void) {
  float *v = malloc(NEL * sizeof *v);
  QV_REQUIRE(v != NULL);
  for (uint64_t k = 1; k <= 8; k++) {
    two t;
    two_open(&t, QV_ND_CODEC_NONE, NULL);
    noise(v, NEL, k);
    qv_nd_fault_arm(t.st, QV_ND_FAULT_TEAR, k); /* op 1 is writer_open: not torn */
    both_write(&t, "a", z2, shp, v);
    qv_nd_fault_arm(t.st, QV_ND_FAULT_NONE, 0);
    same_state(&t, "torn, pending");
    QV_CHECK_OK(qv_nd_flush(t.f, NULL));
    QV_CHECK_OK(qv_nd_flush(t.g, NULL));
    same_after_reopen(&t, "torn, flushed");
    two_close(&t);
  }
  free(v);
}

/* A flush that continues the streamed layer fails at its footer or trailer append (nothing
 * appended, or a torn prefix): the handle keeps its changes, takes more, and a retried flush
 * publishes exactly them (no stray bytes between the blocks and the footer, no block recorded
 * at a wrong offset). */
static void test_stream_flush_retried(void) {
  float *v = malloc(NEL * sizeof *v);
  QV_REQUIRE(v != NULL);
  static const qv_nd_fault_mode modes[2] = {QV_ND_FAULT_FAIL, QV_ND_FAULT_TEAR};
  for (size_t m = 0; m < 2; m++) {
    for (uint64_t k = 1; k <= 2; k++) { /* op 1: the footer append, op 2: the trailer's */
      two t;
      two_open(&t, QV_ND_CODEC_NONE, NULL);
      noise(v, NEL, k);
      both_write(&t, "a", z2, shp, v);
      qv_nd_fault_arm(t.st, modes[m], k);
      qv_error err;
      QV_CHECK_STATUS_E(qv_nd_flush(t.f, &err), QV_E_IO, &err);
      QV_CHECK(qv_nd_fault_fired(t.st));
      qv_nd_fault_arm(t.st, QV_ND_FAULT_NONE, 0);
      same_state(&t, "flush failed, pending");
      both_write(&t, "b", z2, chk, v); /* a whole chunk written after the failure */
      same_state(&t, "flush failed, written again");
      QV_CHECK_OK_E(qv_nd_flush(t.f, &err), &err);
      QV_CHECK_OK(qv_nd_flush(t.g, NULL));
      same_after_reopen(&t, "flush retried");
      two_close(&t);
    }
  }
  free(v);
}

/* Overwriting streamed chunks leaves dead bytes in the unpublished layer: they count against
 * max_pending_bytes, so the layer cannot grow without bound. */
static void test_dead_bytes_flush(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  qv_nd_options o = qv_nd_options_default();
  o.max_pending_bytes = 200 << 10;
  QV_REQUIRE_OK(qv_nd_create(st, "d.nd", &o, &f, NULL));
  QV_REQUIRE_OK(nd_define(f, "x", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shp, chk, 0, NULL));
  float *v = malloc(CEL * sizeof *v), *r = malloc(CEL * sizeof *r);
  QV_REQUIRE(v && r);
  size_t before = qv_nd_layer_count(f);
  for (uint64_t i = 0; i < 20; i++) {
    noise(v, CEL, i);
    QV_CHECK_OK(qv_nd_write(f, "x", z2, chk, v, CEL * sizeof *v, NULL));
  }
  QV_CHECK_UINT_EQ(qv_nd_layer_count(f), before + 4); /* a flush after every 5th write (4 dead) */
  QV_CHECK_OK(qv_nd_read(f, "x", z2, chk, r, CEL * sizeof *r, NULL));
  QV_CHECK_MEM_EQ(r, v, CEL * sizeof *r);
  qv_nd_close(f);
  free(v);
  free(r);
  qv_nd_store_close(st);
}

/* Parallel encoders append to the same streamed layer. */
static void test_stream_threads(void) {
  float *v = malloc(NEL * sizeof *v);
  QV_REQUIRE(v != NULL);
  for (int c = 0; c < 2; c++) {
    two t;
    qv_nd_options o = qv_nd_options_default();
    o.threads = 2;
    two_open(&t, c ? QV_ND_CODEC_LZ4 : QV_ND_CODEC_NONE, &o);
    noise(v, NEL, 77);
    both_write(&t, "b", z2, shp, v);
    same_state(&t, "threads, pending");
    QV_CHECK_OK(qv_nd_flush(t.f, NULL));
    QV_CHECK_OK(qv_nd_flush(t.g, NULL));
    same_after_reopen(&t, "threads, flushed");
    two_close(&t);
  }
  free(v);
}

/* Rows of 4 KiB: whole uncompressed chunks go from the caller's array to the store in one
 * vectored append (no gather); on the posix store (writev) and the fault store, torn too. */
static void test_stream_rows_in_place(void) {
  static const uint64_t wshp[2] = {96, 3072}, wchk[2] = {32, 1024};
  size_t n = 96 * 3072;
  float *v = malloc(n * sizeof *v), *r = malloc(n * sizeof *r);
  QV_REQUIRE(v && r);
  noise(v, n, 5);
  char dir[] = "/tmp/qv-spill-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  for (int kind = 0; kind < 3; kind++) { /* posix, fault, fault torn at the 3rd append */
    qv_nd_store *st, *ref = v1_store();
    QV_REQUIRE(ref != NULL);
    if (kind == 0) QV_REQUIRE_OK(qv_nd_store_posix_open(dir, QV_ND_POSIX_NO_FSYNC, NULL, &st, NULL));
    else QV_REQUIRE_OK(qv_nd_store_fault_new(NULL, &st, NULL));
    qv_nd_file *f, *g;
    QV_REQUIRE_OK(qv_nd_create(st, "w.nd", NULL, &f, NULL));
    QV_REQUIRE_OK(qv_nd_create(ref, "w.nd", NULL, &g, NULL));
    QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, wshp, wchk, 0, NULL));
    QV_REQUIRE_OK(nd_define(g, "a", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, wshp, wchk, 0, NULL));
    if (kind == 2) qv_nd_fault_arm(st, QV_ND_FAULT_TEAR, 4);
    qv_error err;
    QV_CHECK_OK_E(qv_nd_write(f, "a", z2, wshp, v, n * sizeof *v, &err), &err);
    QV_CHECK_OK(qv_nd_write(g, "a", z2, wshp, v, n * sizeof *v, NULL));
    if (kind == 2) QV_CHECK(qv_nd_fault_fired(st));
    memset(r, 0, n * sizeof *r);
    QV_CHECK_OK_E(qv_nd_read(f, "a", z2, wshp, r, n * sizeof *r, &err), &err);
    QV_CHECK_MEM_EQ(r, v, n * sizeof *r);
    QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
    QV_CHECK_OK(qv_nd_flush(g, NULL));
    qv_nd_close(f);
    QV_REQUIRE_OK_E(qv_nd_open(st, "w.nd", NULL, &f, &err), &err);
    char *a = nd_snapshot(f, &err), *b = nd_snapshot(g, &err);
    QV_CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    QV_CHECK_OK_E(qv_nd_verify(f, &err), &err);
    qv_nd_close(f);
    qv_nd_close(g);
    qv_nd_store_close(st);
    qv_nd_store_close(ref);
  }
  nd_rmdir(dir);
  free(v);
  free(r);
}

/* Temporaries a crashed writer left behind (a whole streamed layer, possibly) are removed by
 * the next writer in that directory — only when their process is gone and they are stale. */
static void test_stale_temporaries_removed(void) {
  char dir[] = "/tmp/qv-stale-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  qv_nd_store *st;
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_store_posix_open(dir, QV_ND_POSIX_NO_FSYNC, NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "t.nd", NULL, &f, NULL));
  QV_REQUIRE(kill(INT_MAX, 0) != 0); /* no such process */
  static const struct {
    const char *name;
    long pid;
    int age_s;
    bool gone;
  } tmp[] = {
      {"stale", INT_MAX, 7200, true},  /* dead writer, untouched for 2 h */
      {"fresh", INT_MAX, 10, false},   /* dead pid but touched recently: maybe another host */
      {"alive", 0, 7200, false},       /* our own pid: alive */
  };
  char path[3][256];
  for (int i = 0; i < 3; i++) {
    long pid = tmp[i].pid ? tmp[i].pid : (long)getpid();
    snprintf(path[i], sizeof path[i], "%s/t.nd/.tmp-%ld-1-%s", dir, pid, tmp[i].name);
    FILE *fp = fopen(path[i], "w");
    QV_REQUIRE(fp != NULL);
    fputs("leftover", fp);
    fclose(fp);
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= tmp[i].age_s;
    ts[1] = ts[0];
    QV_REQUIRE(utimensat(AT_FDCWD, path[i], ts, 0) == 0);
  }
  QV_REQUIRE_OK(nd_define(f, "x", (qv_nd_dtype){QV_ND_INT8, 0}, 1, (uint64_t[]){4}, (uint64_t[]){4}, 0, NULL));
  QV_CHECK_OK(qv_nd_flush(f, NULL)); /* opens a writer in t.nd/ */
  for (int i = 0; i < 3; i++) {
    bool exists = access(path[i], F_OK) == 0;
    if (exists == tmp[i].gone) QV__FAIL("%s temporary: %s", tmp[i].name, exists ? "still there" : "removed");
  }
  qv_nd_close(f);
  qv_nd_store_close(st);
  nd_rmdir(dir);
}

/* Random operations (whole-chunk and partial writes, deletes and redefinitions, flushes,
 * compactions, reopens) on a streaming file and on a reference that never streams: every read
 * and the final state agree. */
static void random_ops(uint64_t seed, unsigned threads, const char *posix_dir, size_t seg) {
  static const uint64_t ashp[2] = {256, 384}, achk[2] = {128, 128}; /* 64 KiB chunks */
  static const uint64_t bshp[2] = {64, 1024}, bchk[2] = {16, 512};  /* rows of 2 KiB: written in place */
  const char *names[2] = {"a", "b"};
  const uint64_t *shps[2] = {ashp, bshp}, *chks[2] = {achk, bchk};
  qv_nd_store *st, *ref = v1_store();
  QV_REQUIRE(ref != NULL);
  if (posix_dir) QV_REQUIRE_OK(qv_nd_store_posix_open(posix_dir, QV_ND_POSIX_NO_FSYNC, NULL, &st, NULL));
  else QV_REQUIRE_OK(qv_nd_store_fault_new(NULL, &st, NULL));
  qv_nd_options o = qv_nd_options_default();
  o.threads = threads;
  o.max_pending_bytes = 1 << 20;
  qv_nd_options oref = o; /* the reference never segments its chunks (spec §5a) */
  oref.segment_bytes = QV_ND_SEGMENTS_OFF;
  o.segment_bytes = seg;
  qv_nd_file *f, *g;
  QV_REQUIRE_OK(qv_nd_create(st, "s.nd", &o, &f, NULL));
  QV_REQUIRE_OK(qv_nd_create(ref, "s.nd", &oref, &g, NULL));
  for (int i = 0; i < 2; i++) {
    QV_REQUIRE_OK(nd_define(f, names[i], (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shps[i], chks[i], 0, NULL));
    QV_REQUIRE_OK(nd_define(g, names[i], (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, shps[i], chks[i], 0, NULL));
  }
  float *v = malloc(256 * 1024 * sizeof *v), *r1 = malloc(256 * 1024 * sizeof *r1), *r2 = malloc(256 * 1024 * sizeof *r2);
  QV_REQUIRE(v && r1 && r2);
  uint64_t x = seed;
  for (int op = 0; op < 250; op++) {
    uint64_t k = nd_rand(&x) % 100;
    int ai = (int)(nd_rand(&x) % 2);
    const uint64_t *sh = shps[ai], *ch = chks[ai];
    uint64_t start[2], cnt[2];
    qv_error err;
    if (k < 45) { /* whole chunks: 1 or 2 along each dimension */
      for (int d = 0; d < 2; d++) {
        uint64_t grid = sh[d] / ch[d], c0 = nd_rand(&x) % grid, nc = 1 + (c0 + 1 < grid ? nd_rand(&x) % 2 : 0);
        start[d] = c0 * ch[d];
        cnt[d] = nc * ch[d];
      }
    } else if (k < 75) { /* any region */
      for (int d = 0; d < 2; d++) {
        start[d] = nd_rand(&x) % sh[d];
        cnt[d] = 1 + nd_rand(&x) % (sh[d] - start[d]);
      }
    }
    if (k < 75) {
      size_t n = (size_t)(cnt[0] * cnt[1]);
      if (nd_rand(&x) % 3 == 0) for (size_t i = 0; i < n; i++) v[i] = (float)(i % 5); /* compressible */
      else noise(v, n, nd_rand(&x));
      QV_CHECK_OK_E(qv_nd_write(f, names[ai], start, cnt, v, n * sizeof *v, &err), &err);
      QV_CHECK_OK_E(qv_nd_write(g, names[ai], start, cnt, v, n * sizeof *v, &err), &err);
    } else if (k < 80) { /* delete and redefine with another codec */
      uint32_t codec = (uint32_t)(nd_rand(&x) % 3);
      QV_CHECK_OK(qv_nd_delete(f, names[ai], NULL));
      QV_CHECK_OK(qv_nd_delete(g, names[ai], NULL));
      QV_CHECK_OK(nd_define(f, names[ai], (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, sh, ch, codec, NULL));
      QV_CHECK_OK(nd_define(g, names[ai], (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, sh, ch, codec, NULL));
    } else if (k < 86) {
      QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
      QV_CHECK_OK(qv_nd_flush(g, NULL));
    } else if (k < 89) {
      QV_CHECK_OK_E(qv_nd_compact(f, &err), &err);
      QV_CHECK_OK(qv_nd_compact(g, NULL));
    } else if (k < 91) { /* flush and reopen */
      QV_CHECK_OK(qv_nd_flush(f, NULL));
      QV_CHECK_OK(qv_nd_flush(g, NULL));
      qv_nd_close(f);
      qv_nd_close(g);
      QV_REQUIRE_OK(qv_nd_open(st, "s.nd", &o, &f, NULL));
      QV_REQUIRE_OK(qv_nd_open(ref, "s.nd", &oref, &g, NULL));
    } else { /* read the same region from both */
      for (int d = 0; d < 2; d++) {
        start[d] = nd_rand(&x) % sh[d];
        cnt[d] = 1 + nd_rand(&x) % (sh[d] - start[d]);
      }
      size_t n = (size_t)(cnt[0] * cnt[1]);
      QV_CHECK_OK_E(qv_nd_read(f, names[ai], start, cnt, r1, n * sizeof *r1, &err), &err);
      QV_CHECK_OK(qv_nd_read(g, names[ai], start, cnt, r2, n * sizeof *r2, NULL));
      if (memcmp(r1, r2, n * sizeof *r1) != 0) QV__FAIL("seed %llu op %d: reads of '%s' differ", (unsigned long long)seed, op, names[ai]);
    }
  }
  QV_CHECK_OK(qv_nd_flush(f, NULL));
  QV_CHECK_OK(qv_nd_flush(g, NULL));
  /* (layer boundaries may differ: streamed blocks do not count against max_pending_bytes, so
   * the two files auto-flush at different times — the visible state may not) */
  qv_nd_close(f);
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_open(st, "s.nd", NULL, &f, &err), &err);
  for (int i = 0; i < 2; i++) { /* the writer's segment choice shows (chunks are 32-64 KiB) */
    qv_nd_info in;
    QV_REQUIRE_OK(qv_nd_info_get(f, names[i], &in, NULL));
    if (in.segmented_chunks != (seg ? in.stored_chunks : 0))
      QV__FAIL("seed %llu '%s': %llu of %llu stored chunks in segments (segment_bytes %zu)",
               (unsigned long long)seed, names[i], (unsigned long long)in.segmented_chunks,
               (unsigned long long)in.stored_chunks, seg);
  }
  two t = {st, ref, f, g};
  same_state(&t, "random operations, reopened");
  two_close(&t);
  free(v);
  free(r1);
  free(r2);
}

static void test_random_ops_match_reference(void) {
  char dir[] = "/tmp/qv-rand-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", dir);
  for (uint64_t seed = 1; seed <= 8; seed++) { /* memory-backed and posix, 1 and 2 threads,
                                                  chunks in segments of 4 KiB or whole */
    random_ops(seed * 7919, seed % 2 ? 1 : 2, seed > 4 ? dir : NULL, seed % 4 >= 2 ? 4096 : 0);
    QV_CHECK(system(cmd) == 0);
  }
  nd_rmdir(dir);
}

QV_TEST_MAIN(QV_CASE(test_random_ops_match_reference), QV_CASE(test_stale_temporaries_removed), QV_CASE(test_stream_rows_in_place), QV_CASE(test_stream_whole_write), QV_CASE(test_stream_overwrites),
             QV_CASE(test_unordered_tiling_checked), QV_CASE(test_stream_conflict_keeps_chunks),
             QV_CASE(test_stream_torn_append), QV_CASE(test_stream_flush_retried),
             QV_CASE(test_dead_bytes_flush),
             QV_CASE(test_stream_threads))
