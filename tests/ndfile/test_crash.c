/* test_crash.c — ndfile crash safety and corruption detection: a failure, a crash (unsynced
 * changes dropped) or a torn write at every mutating store operation of flush and of compact
 * leaves exactly the before or the after state; a flipped byte anywhere in a layer is reported
 * as QV_E_CORRUPT, the padding of page-aligned layers included; hostile footers with valid checksums fail with CORRUPT or LIMIT. */
#include <xxhash.h>

#include "support/nd_support.h"

static const uint64_t shp[2] = {9, 11}, chk[2] = {4, 4};
static const uint64_t z2[2] = {0, 0};

/* "big": float32 [256, 256] in [128, 128] chunks: 64 KiB per chunk, so whole-chunk writes are
 * streamed into the next layer as they happen (spec §2a). */
static const uint64_t bshp[2] = {256, 256}, bchk[2] = {128, 128};

static void big_chunk(float *v, float base) {
  for (int i = 0; i < 128 * 128; i++) v[i] = base + (float)i;
}

/* The writer's segment_bytes (0: default, so these small chunks are single frames). */
static size_t g_seg;

/* A file with two layers of content (plus the create layer). */
static qv_status setup(qv_nd_store *st, qv_nd_file **out) {
  qv_nd_file *f;
  qv_nd_options o = qv_nd_options_default();
  o.segment_bytes = g_seg;
  QV_TRY(qv_nd_create(st, "c.nd", &o, &f, NULL));
  int16_t v[99];
  for (int i = 0; i < 99; i++) v[i] = (int16_t)(i * 3);
  qv_status s;
  QV_TRY_GOTO(s, nd_define(f, "keep", (qv_nd_dtype){QV_ND_INT16, 0}, 2, shp, chk, QV_ND_CODEC_ZSTD, NULL), fail);
  QV_TRY_GOTO(s, nd_define(f, "gone", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 1, (uint64_t[]){10}, (uint64_t[]){3}, 0, NULL), fail);
  QV_TRY_GOTO(s, qv_nd_write(f, "keep", z2, shp, v, sizeof v, NULL), fail);
  QV_TRY_GOTO(s, nd_define(f, "big", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, bshp, bchk, 0, NULL), fail);
  qv_nd_attr a = {QV_ND_ATTR_STRING, false, 1, &(qv_nd_bytes){"K", 1}};
  QV_TRY_GOTO(s, qv_nd_attr_set(f, "keep", "unit", &a, NULL), fail);
  QV_TRY_GOTO(s, qv_nd_flush(f, NULL), fail);
  float g[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  QV_TRY_GOTO(s, qv_nd_write(f, "gone", (uint64_t[]){0}, (uint64_t[]){10}, g, sizeof g, NULL), fail);
  uint64_t s1[2] = {2, 3}, c1[2] = {3, 3};
  int16_t w[9] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
  QV_TRY_GOTO(s, qv_nd_write(f, "keep", s1, c1, w, sizeof w, NULL), fail);
  QV_TRY_GOTO(s, qv_nd_flush(f, NULL), fail);
  *out = f;
  return QV_OK;
fail:
  qv_nd_close(f);
  return s;
}

/* Whole chunks of "big" streamed into the next layer: spill 1 writes chunks 3, 2, 1 (offsets in
 * reverse index order; the flush continues that layer); spill 2 then also overwrites chunk 2
 * whole and chunk 1 in part (dead bytes: the flush rewrites the layer). */
static qv_status change_big(qv_nd_file *f, int spill, qv_error *err) {
  float *b = malloc(128 * 128 * sizeof *b);
  if (!b) return QV_E_NOMEM;
  static const uint64_t at[3][2] = {{128, 128}, {128, 0}, {0, 128}};
  qv_status s = QV_OK;
  for (int i = 0; i < 3 && s == QV_OK; i++) {
    big_chunk(b, (float)(i * 100000));
    s = qv_nd_write(f, "big", at[i], bchk, b, 128 * 128 * sizeof *b, err);
  }
  if (s == QV_OK && spill == 2) {
    big_chunk(b, -7);
    s = qv_nd_write(f, "big", at[1], bchk, b, 128 * 128 * sizeof *b, err);
    if (s == QV_OK) s = qv_nd_write(f, "big", (uint64_t[]){3, 130}, (uint64_t[]){2, 5}, b, 10 * sizeof *b, err);
  }
  free(b);
  return s;
}

/* The change under test: writes, a new array, a delete, an attribute; then flush (op 0) or
 * compact (op 1). */
static qv_status change(qv_nd_file *f, int op, int spill, qv_error *err) {
  if (spill) QV_TRY(change_big(f, spill, err));
  int16_t w[6] = {100, 101, 102, 103, 104, 105};
  uint64_t s1[2] = {7, 5}, c1[2] = {2, 3};
  QV_TRY(qv_nd_write(f, "keep", s1, c1, w, sizeof w, err));
  QV_TRY(nd_define(f, "new", (qv_nd_dtype){QV_ND_STRING, 0}, 1, (uint64_t[]){4}, (uint64_t[]){3}, QV_ND_CODEC_LZ4, err));
  const void *vals[2] = {"x", "yz"};
  size_t lens[2] = {1, 2};
  QV_TRY(qv_nd_write_var(f, "new", (uint64_t[]){1}, (uint64_t[]){2}, vals, lens, 2, err));
  QV_TRY(qv_nd_delete(f, "gone", err));
  qv_nd_attr a = {QV_ND_ATTR_INT, true, 2, (int64_t[]){4, 5}};
  QV_TRY(qv_nd_attr_set(f, "keep", "n", &a, err));
  return op ? qv_nd_compact(f, err) : qv_nd_flush(f, err);
}

static char *snap_of(qv_nd_store *st, qv_error *err) {
  qv_nd_file *f;
  if (qv_nd_open(st, "c.nd", NULL, &f, err) != QV_OK) return NULL;
  char *s = nd_snapshot(f, err);
  if (s && qv_nd_verify(f, err) != QV_OK) {
    free(s);
    s = NULL;
  }
  qv_nd_close(f);
  return s;
}

static void crash_each_op(int op, int spill) {
  const char *opname = op ? "compact" : "flush";
  qv_error err;
  qv_nd_store *st;
  qv_nd_file *f;
  /* reference run: before and after, and how many operations the change takes */
  QV_REQUIRE_OK(qv_nd_store_fault_new(NULL, &st, NULL));
  QV_REQUIRE_OK(setup(st, &f));
  char *before = snap_of(st, &err);
  QV_REQUIRE(before != NULL);
  qv_nd_fault_arm(st, QV_ND_FAULT_NONE, 0);
  QV_REQUIRE_OK_E(change(f, op, spill, &err), &err);
  uint64_t nops = qv_nd_fault_ops(st);
  qv_nd_close(f);
  char *after = snap_of(st, &err);
  QV_REQUIRE(after != NULL);
  qv_nd_store_close(st);
  QV_CHECK(strcmp(before, after) != 0);
  QV_CHECK(nops >= 4);
  int seen_before = 0, seen_after = 0;
  for (int mode = QV_ND_FAULT_FAIL; mode <= QV_ND_FAULT_TEAR; mode++) {
    for (uint64_t k = 1; k <= nops; k++) {
      QV_REQUIRE_OK(qv_nd_store_fault_new(NULL, &st, NULL));
      QV_REQUIRE_OK(setup(st, &f));
      qv_nd_fault_arm(st, (qv_nd_fault_mode)mode, k);
      qv_status s = change(f, op, spill, &err);
      bool fired = qv_nd_fault_fired(st);
      if (mode != QV_ND_FAULT_TEAR) QV_CHECK(fired);
      qv_nd_close(f);
      if (mode == QV_ND_FAULT_CRASH) qv_nd_fault_recover(st);
      qv_nd_fault_arm(st, QV_ND_FAULT_NONE, 0);
      char *now = snap_of(st, &err);
      if (!now) {
        QV__FAIL("%s: after a fault at op %llu (mode %d) the file does not open/read: %s", opname,
                 (unsigned long long)k, mode, err.message);
      } else if (s == QV_OK && strcmp(now, after) != 0) {
        /* (a failed append while streaming whole chunks is absorbed — the block stays in
         * memory — so a fired fault may still end in success: but then with everything) */
        QV__FAIL("%s: fault at op %llu (mode %d): the call succeeded but the state is not the after state", opname,
                 (unsigned long long)k, mode);
      } else if (strcmp(now, before) == 0) {
        seen_before++;
      } else if (strcmp(now, after) == 0) {
        seen_after++;
      } else {
        QV__FAIL("%s: after a fault at op %llu (mode %d) the state is neither before nor after:\n%s", opname,
                 (unsigned long long)k, mode, now);
      }
      /* a later writer can always continue from whatever state is there */
      if (now) {
        qv_nd_file *g;
        QV_CHECK_OK_E(qv_nd_open(st, "c.nd", NULL, &g, &err), &err);
        if (g) {
          int16_t one = 7;
          QV_CHECK_OK_E(qv_nd_write(g, "keep", z2, (uint64_t[]){1, 1}, &one, 2, &err), &err);
          QV_CHECK_OK_E(qv_nd_compact(g, &err), &err);
          QV_CHECK_UINT_EQ(qv_nd_layer_count(g), 1);
          qv_nd_close(g);
        }
      }
      free(now);
      qv_nd_store_close(st);
    }
  }
  QV_CHECK(seen_before > 0);
  QV_CHECK(seen_after > 0);
  free(before);
  free(after);
}

static void test_crash_during_flush(void) { crash_each_op(0, 0); }
static void test_crash_during_compact(void) { crash_each_op(1, 0); }
static void test_crash_while_streaming_chunks(void) {
  crash_each_op(0, 1);
  crash_each_op(0, 2);
  crash_each_op(1, 2);
}

/* The same with the chunks of "big" (64 KiB) written as 16 segments of 4 KiB (spec §5a). */
static void test_crash_with_segmented_chunks(void) {
  g_seg = 4096;
  crash_each_op(0, 2);
  crash_each_op(1, 2);
  /* the chunks of "big" really are segmented */
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(setup(st, &f));
  QV_CHECK_OK_E(change(f, 0, 2, &err), &err);
  qv_nd_info in;
  QV_CHECK_OK_E(qv_nd_info_get(f, "big", &in, &err), &err);
  QV_CHECK(in.stored_chunks > 0);
  QV_CHECK_UINT_EQ(in.segmented_chunks, in.stored_chunks);
  qv_nd_close(f);
  qv_nd_store_close(st);
  g_seg = 0;
}

/* ---- corruption ---- */
typedef struct names {
  char v[8][128];
  size_t n;
} names;
static int collect(void *ctx, const char *name, uint64_t size) {
  (void)size;
  names *n = ctx;
  if (n->n < 8) snprintf(n->v[n->n++], 128, "%s", name);
  return 0;
}


static void test_every_flipped_byte_is_detected(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(setup(st, &f));
  qv_nd_close(f);
  names nm = {0};
  QV_REQUIRE_OK(st->list(st, "c.nd/", collect, &nm, NULL));
  QV_REQUIRE(nm.n == 3);
  size_t checked = 0;
  for (size_t o = 0; o < nm.n; o++) {
    uint64_t size;
    QV_REQUIRE_OK(st->size(st, nm.v[o], &size, NULL));
    uint8_t *orig = malloc(size), *mod = malloc(size);
    QV_REQUIRE_OK(st->read_at(st, nm.v[o], 0, orig, size, NULL));
    for (size_t i = 0; i < size; i++) {
      for (int flip = 0; flip < 2; flip++) {
        memcpy(mod, orig, size);
        mod[i] ^= flip ? 0x80 : 0x01;
        QV_REQUIRE_OK(nd_put_obj(st, nm.v[o], mod, size));
        qv_nd_options op = qv_nd_options_default();
        op.cache_bytes = flip ? 0 : op.cache_bytes; /* both read paths: cached and direct */
        op.threads = flip ? 2 : 1;                   /* errors from worker threads too */
        qv_status s = qv_nd_open(st, "c.nd", &op, &f, &err);
        if (s == QV_OK) {
          char *snap = nd_snapshot(f, &err);
          s = snap ? err.code : QV_E_CORRUPT;
          if (snap) s = qv_nd_verify(f, &err);
          free(snap);
          qv_nd_close(f);
        }
        if (s != QV_E_CORRUPT)
          QV__FAIL("%s byte %zu ^%s: got %s (%s)", nm.v[o], i, flip ? "0x80" : "0x01", qv_status_name(s), err.message);
        checked++;
      }
    }
    QV_REQUIRE_OK(nd_put_obj(st, nm.v[o], orig, size));
    free(orig);
    free(mod);
  }
  QV_CHECK(checked > 1000);
  /* the message names what is wrong: flip a byte inside the first block of layer 2 */
  uint64_t size;
  QV_REQUIRE_OK(st->size(st, "c.nd/layer-00000000000000000002.qnd", &size, NULL));
  uint8_t *b = malloc(size);
  QV_REQUIRE_OK(st->read_at(st, "c.nd/layer-00000000000000000002.qnd", 0, b, size, NULL));
  b[20] ^= 0x10;
  QV_REQUIRE_OK(nd_put_obj(st, "c.nd/layer-00000000000000000002.qnd", b, size));
  free(b);
  QV_REQUIRE_OK(qv_nd_open(st, "c.nd", NULL, &f, NULL));
  /* chunk (0,0) of layer 2 is shadowed by layer 3: reads do not touch it, verify does */
  int16_t v[99];
  QV_CHECK_OK(qv_nd_read(f, "keep", z2, shp, v, sizeof v, NULL));
  QV_CHECK_STATUS_E(qv_nd_verify(f, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "layer 2 block of 'keep' chunk (0,0): checksum mismatch");
  qv_nd_close(f);
  qv_nd_store_close(st);
}

/* Large layers are page-aligned (header flag ALIGNED, zero padding up to 4096: spec §3), small
 * ones are not; the padding and the flag are checked like every other byte. */
static qv_status open_snapshot(qv_nd_store *st, qv_error *err) {
  qv_nd_file *f;
  QV_TRY(qv_nd_open(st, "c.nd", NULL, &f, err));
  char *snap = nd_snapshot(f, err);
  qv_status s = snap ? QV_OK : err->code;
  free(snap);
  qv_nd_close(f);
  return s;
}

static void test_aligned_layers(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(setup(st, &f));
  float *b = malloc(128 * 128 * sizeof *b);
  QV_REQUIRE(b != NULL);
  big_chunk(b, 7);
  QV_REQUIRE_OK(qv_nd_write(f, "big", z2, bchk, b, 128 * 128 * sizeof *b, NULL)); /* streamed */
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  qv_nd_close(f);
  free(b);
  char name[64];
  for (unsigned seq = 1; seq <= 4; seq++) {
    snprintf(name, sizeof name, "c.nd/layer-%020u.qnd", seq);
    uint64_t size;
    uint8_t *o = nd_get_obj(st, name, &size);
    QV_REQUIRE(o != NULL);
    QV_CHECK_UINT_EQ(nd_data_start(o), seq == 4 ? 4096u : 16u); /* only layer 4 is large */
    if (seq == 4)
      for (size_t i = 16; i < 4096; i++)
        if (o[i]) QV__FAIL("padding byte %zu is %u", i, o[i]);
    free(o);
  }
  QV_CHECK_OK_E(open_snapshot(st, &err), &err);
  const char *l4 = "c.nd/layer-00000000000000000004.qnd", *l2 = "c.nd/layer-00000000000000000002.qnd";
  uint64_t size, size2;
  uint8_t *orig = nd_get_obj(st, l4, &size), *orig2 = nd_get_obj(st, l2, &size2), *mod = malloc(size);
  QV_REQUIRE(orig && orig2 && mod);
  /* any byte of the header or its padding changed */
  for (size_t i = 0; i < 4096; i++) {
    memcpy(mod, orig, size);
    mod[i] ^= i % 2 ? 0x80 : 0x01;
    QV_REQUIRE_OK(nd_put_obj(st, l4, mod, size));
    qv_status s = open_snapshot(st, &err);
    if (s != QV_E_CORRUPT) QV__FAIL("byte %zu: got %s (%s)", i, qv_status_name(s), err.message);
  }
  memcpy(mod, orig, size);
  mod[20] = 1;
  QV_REQUIRE_OK(nd_put_obj(st, l4, mod, size));
  QV_CHECK_STATUS_E(open_snapshot(st, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "header padding is not zero");
  memcpy(mod, orig, size);
  mod[12] = 0; /* the flag cleared: the blocks no longer tile the data region */
  QV_REQUIRE_OK(nd_put_obj(st, l4, mod, size));
  QV_CHECK_STATUS_E(open_snapshot(st, &err), QV_E_CORRUPT, &err);
  mod[12] = 3; /* an unknown flag */
  QV_REQUIRE_OK(nd_put_obj(st, l4, mod, size));
  QV_CHECK_STATUS_E(open_snapshot(st, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "header is wrong");
  /* a footer length (checksums made valid) that puts the footer inside the padding */
  memcpy(mod, orig, size);
  nd_put_u64(mod + size - 40, size - 40 - 4000);
  nd_reseal(mod, size);
  QV_REQUIRE_OK(nd_put_obj(st, l4, mod, size));
  QV_CHECK_STATUS_E(open_snapshot(st, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "too small for its header padding and footer");
  QV_REQUIRE_OK(nd_put_obj(st, l4, orig, size));
  /* the flag set on a small layer: too small, or its blocks would have to start at 4096 */
  memcpy(mod, orig2, size2);
  mod[12] = 1;
  QV_REQUIRE_OK(nd_put_obj(st, l2, mod, size2));
  QV_CHECK_STATUS_E(open_snapshot(st, &err), QV_E_CORRUPT, &err);
  QV_REQUIRE_OK(nd_put_obj(st, l2, orig2, size2));
  QV_CHECK_OK_E(open_snapshot(st, &err), &err);
  /* compaction of more than 64 KiB of layers writes an aligned base, read back intact */
  QV_REQUIRE_OK(qv_nd_open(st, "c.nd", NULL, &f, NULL));
  char *before = nd_snapshot(f, &err);
  QV_CHECK_OK_E(qv_nd_compact(f, &err), &err);
  char *after = nd_snapshot(f, &err);
  QV_REQUIRE(before && after);
  QV_CHECK_STR_EQ(after, before);
  snprintf(name, sizeof name, "c.nd/layer-%020llu.qnd", (unsigned long long)qv_nd_layer_top(f));
  qv_nd_close(f);
  free(before);
  free(after);
  uint8_t *o = nd_get_obj(st, name, &size2);
  QV_REQUIRE(o != NULL);
  QV_CHECK_UINT_EQ(nd_data_start(o), 4096u);
  free(o);
  free(orig);
  free(orig2);
  free(mod);
  qv_nd_store_close(st);
}

/* ---- hostile footers with valid checksums ---- */
typedef struct fb {
  uint8_t b[4096];
  size_t n;
} fb;
static void u8(fb *f, uint8_t v) { f->b[f->n++] = v; }
static void u16(fb *f, uint16_t v) { for (int i = 0; i < 2; i++) u8(f, (uint8_t)(v >> (8 * i))); }
static void u32(fb *f, uint32_t v) { for (int i = 0; i < 4; i++) u8(f, (uint8_t)(v >> (8 * i))); }
static void u64(fb *f, uint64_t v) { for (int i = 0; i < 8; i++) u8(f, (uint8_t)(v >> (8 * i))); }
static void str(fb *f, const char *s) {
  u16(f, (uint16_t)strlen(s));
  memcpy(f->b + f->n, s, strlen(s));
  f->n += strlen(s);
}

/* A layer 1 with `data` bytes of blocks and the footer; checksums made valid. */
static qv_status open_hostile(const fb *foot, const uint8_t *data, size_t dlen, qv_error *err) {
  uint8_t obj[8192];
  size_t n = 0;
  memcpy(obj, "QVNDFILE\1\0\0\0\0\0\0\0", 16);
  n = 16;
  memcpy(obj + n, data, dlen);
  n += dlen;
  memcpy(obj + n, foot->b, foot->n);
  n += foot->n;
  uint8_t *t = obj + n;
  for (int i = 0; i < 8; i++) t[i] = (uint8_t)(foot->n >> (8 * i));
  uint64_t h = XXH3_64bits(foot->b, foot->n);
  for (int i = 0; i < 8; i++) t[8 + i] = (uint8_t)(h >> (8 * i));
  memcpy(t + 16, "\1\0\0\0\0\0\0\0", 8);
  h = XXH3_64bits(t, 24);
  for (int i = 0; i < 8; i++) t[24 + i] = (uint8_t)(h >> (8 * i));
  memcpy(t + 32, "QVNDTAIL", 8);
  n += 40;
  qv_nd_store *st;
  QV_TRY(qv_nd_store_memory_new(NULL, &st, err));
  qv_status s = nd_put_obj(st, "h.nd/layer-00000000000000000001.qnd", obj, n);
  qv_nd_file *f = NULL;
  qv_nd_options o = qv_nd_options_default();
  o.limits.max_chunk_bytes = 1 << 20;
  if (s == QV_OK) s = qv_nd_open(st, "h.nd", &o, &f, err);
  if (s == QV_OK) {
    char *snap = nd_snapshot(f, err);
    if (!snap) s = err->code;
    free(snap);
  }
  qv_nd_close(f);
  qv_nd_store_close(st);
  return s;
}

/* footer of one array entry, with knobs */
static const uint8_t zeros16[16];

typedef struct knobs {
  uint32_t n_arrays, rank, fill_len, n_attrs, codec;
  uint64_t shape0, chunk0, n_chunks, c_chunk, c_off, c_stored, c_raw;
  uint8_t kind, dtype;
  uint32_t flags;
} knobs;

static void build(fb *f, const knobs *k) {
  f->n = 0;
  u64(f, 1);
  u32(f, k->flags);
  u32(f, k->n_arrays);
  str(f, "arr");
  u8(f, k->kind);
  u8(f, 0);
  u8(f, k->dtype);
  u8(f, 0);
  u32(f, 0);
  u32(f, k->rank);
  for (uint32_t i = 0; i < k->rank && i < 4; i++) u64(f, i ? 2 : k->shape0);
  for (uint32_t i = 0; i < k->rank && i < 4; i++) u64(f, i ? 2 : k->chunk0);
  for (uint32_t i = 0; i < k->rank && i < 4; i++) str(f, "");
  u32(f, k->fill_len);
  for (uint32_t i = 0; i < k->fill_len && i < 8; i++) u8(f, 0);
  u32(f, k->codec);
  u32(f, 0);
  u32(f, k->n_attrs);
  u64(f, k->n_chunks);
  if (k->n_chunks == 1) {
    u64(f, k->c_chunk);
    u64(f, k->c_off);
    u64(f, k->c_stored);
    u64(f, k->c_raw);
    u32(f, k->codec);
    u32(f, 0);
    u64(f, XXH3_64bits(zeros16, 16));
    u64(f, 0);
    u64(f, 0);
    u64(f, 0);
  }
}

static void test_hostile_footers(void) {
  /* n_arrays rank fill attrs codec shape0 chunk0 n_chunks c_chunk c_off c_stored c_raw kind dtype flags */
  const knobs good = {1, 2, 4, 0, 0, 4, 2, 1, 0, 16, 16, 16, 1, 11, 1};
  struct {
    const char *what;
    knobs k;
    qv_status want;
    const char *msg;
  } cases[] = {
      {"valid", good, QV_OK, ""},
      {"huge array count", good, QV_E_LIMIT, "arrays exceed the limit"},
      {"array count beyond footer", good, QV_E_CORRUPT, "array count exceeds the footer"},
      {"rank 33", good, QV_E_LIMIT, "rank 33"},
      {"element count overflow", good, QV_E_LIMIT, "overflows"},
      {"zero chunk dim", good, QV_E_CORRUPT, "chunk dimension 0 is 0"},
      {"chunk beyond limit", good, QV_E_LIMIT, "chunk limit"},
      {"fill width", good, QV_E_CORRUPT, "fill value of 3 bytes"},
      {"chunk count beyond footer", good, QV_E_CORRUPT, "chunk count exceeds the footer"},
      {"chunk outside grid", good, QV_E_CORRUPT, "outside the grid"},
      {"block outside the data region", good, QV_E_CORRUPT, "block lies outside the data region"},
      {"blocks do not tile", good, QV_E_CORRUPT, "blocks hold 15 bytes but the data region has 16"},
      {"stored length of a plain block", good, QV_E_CORRUPT, "uncompressed block length mismatch"},
      {"raw length", good, QV_E_CORRUPT, "decoded length does not match"},
      {"kind", good, QV_E_CORRUPT, "unknown entry kind"},
      {"dtype", good, QV_E_CORRUPT, "invalid dtype"},
      {"layer flags", good, QV_E_CORRUPT, "unknown layer flags"},
      {"update in base", good, QV_E_CORRUPT, "base layer holds only definitions"},
      {"no base", good, QV_E_CORRUPT, "no base layer"},
      {"unknown codec", good, QV_E_UNSUPPORTED, "codec id 77"},
      {"attribute count", good, QV_E_CORRUPT, "attribute"},
  };
  cases[1].k.n_arrays = 0xFFFFFFFFu;
  cases[2].k.n_arrays = 1000;
  cases[3].k.rank = 33;
  cases[4].k.shape0 = UINT64_MAX;
  cases[5].k.chunk0 = 0;
  cases[6].k.shape0 = cases[6].k.chunk0 = 1ull << 40;
  cases[7].k.fill_len = 3;
  cases[8].k.n_chunks = 1ull << 60;
  cases[9].k.c_chunk = 5;
  cases[10].k.c_off = 17;
  cases[11].k.c_stored = 15;
  cases[11].k.codec = 1;
  cases[12].k.c_stored = 15;
  cases[13].k.c_raw = 12;
  cases[14].k.kind = 7;
  cases[15].k.dtype = 7;
  cases[16].k.flags = 3;
  cases[17].k.kind = 2;
  cases[18].k.kind = 2;
  cases[18].k.flags = 0;
  cases[19].k.codec = 77;
  cases[20].k.n_attrs = 5;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fb foot;
    qv_error err;
    qv_error_init(&err);
    build(&foot, &cases[i].k);
    qv_status s = open_hostile(&foot, zeros16, 16, &err);
    if (s != cases[i].want || !strstr(err.message, cases[i].msg))
      QV__FAIL("%s: got %s (%s), want %s with '%s'", cases[i].what, qv_status_name(s), err.message,
               qv_status_name(cases[i].want), cases[i].msg);
  }
}

QV_TEST_MAIN(QV_CASE(test_crash_during_flush), QV_CASE(test_crash_during_compact),
             QV_CASE(test_crash_while_streaming_chunks), QV_CASE(test_crash_with_segmented_chunks),
             QV_CASE(test_every_flipped_byte_is_detected), QV_CASE(test_aligned_layers),
             QV_CASE(test_hostile_footers))
