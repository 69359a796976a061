/* test_writer_roundtrip.c — the IPC writer over every type of the data model: bytes checked
 * (framing, 64-byte alignment, zero padding, file footer), then read back with the reader and
 * compared; sliced inputs (compact output), both compression codecs, empty streams, paths. */
#include <unistd.h>

#include "test_writer_util.h"

#define N_TYPES 48

typedef struct types {
  qv_type *t[N_TYPES];
  int n;
} types;

static void types_free(types *ts) {
  for (int i = 0; i < ts->n; i++) qv_type_unref(ts->t[i]);
  ts->n = 0;
}

/* Every type of the data model, nested ones with interesting children. */
static qv_status all_types(types *ts, qv_error *err) {
  memset(ts, 0, sizeof *ts);
  static const qv_type_id prims[] = {
      QV_TYPE_NA, QV_TYPE_BOOL, QV_TYPE_INT8, QV_TYPE_INT16, QV_TYPE_INT32, QV_TYPE_INT64,
      QV_TYPE_UINT8, QV_TYPE_UINT16, QV_TYPE_UINT32, QV_TYPE_UINT64, QV_TYPE_HALF_FLOAT,
      QV_TYPE_FLOAT, QV_TYPE_DOUBLE, QV_TYPE_DATE32, QV_TYPE_DATE64, QV_TYPE_BINARY,
      QV_TYPE_STRING, QV_TYPE_LARGE_BINARY, QV_TYPE_LARGE_STRING, QV_TYPE_BINARY_VIEW,
      QV_TYPE_STRING_VIEW, QV_TYPE_INTERVAL_MONTHS, QV_TYPE_INTERVAL_DAY_TIME,
      QV_TYPE_INTERVAL_MONTH_DAY_NANO};
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
    ts->t[ts->n++] = qv_type_primitive(prims[i]);
  qv_status st = QV_OK;
  qv_field *f[4] = {0};
#define T(call)                                                                              \
  do {                                                                                     \
    QV_TRY_GOTO(st, call, fail);                                                           \
    ts->n++;                                                                               \
  } while (0)
  T(qv_type_decimal(32, 9, 2, NULL, &ts->t[ts->n], err));
  T(qv_type_decimal(64, 18, 3, NULL, &ts->t[ts->n], err));
  T(qv_type_decimal(128, 38, 10, NULL, &ts->t[ts->n], err));
  T(qv_type_decimal(256, 76, 5, NULL, &ts->t[ts->n], err));
  T(qv_type_time32(QV_TIME_MILLI, NULL, &ts->t[ts->n], err));
  T(qv_type_time64(QV_TIME_NANO, NULL, &ts->t[ts->n], err));
  T(qv_type_timestamp(QV_TIME_MICRO, "America/New_York", NULL, &ts->t[ts->n], err));
  T(qv_type_duration(QV_TIME_SECOND, NULL, &ts->t[ts->n], err));
  T(qv_type_fixed_size_binary(5, NULL, &ts->t[ts->n], err));
  T(qv_type_list_of(QV_TYPE_LIST, qv_type_int32(), NULL, &ts->t[ts->n], err));
  T(qv_type_list_of(QV_TYPE_LARGE_LIST, qv_type_utf8(), NULL, &ts->t[ts->n], err));
  T(qv_type_list_of(QV_TYPE_LIST_VIEW, qv_type_int16(), NULL, &ts->t[ts->n], err));
  T(qv_type_list_of(QV_TYPE_LARGE_LIST_VIEW, qv_type_utf8(), NULL, &ts->t[ts->n], err));
  QV_TRY_GOTO(st, qv_field_new("item", qv_type_int16(), true, NULL, NULL, &f[0], err), fail);
  T(qv_type_fixed_size_list(f[0], 3, NULL, &ts->t[ts->n], err));
  QV_TRY_GOTO(st, qv_field_new("k", qv_type_utf8(), false, NULL, NULL, &f[1], err), fail);
  QV_TRY_GOTO(st, qv_field_new("v", qv_type_int64(), true, NULL, NULL, &f[2], err), fail);
  T(qv_type_map(f[1], f[2], false, NULL, &ts->t[ts->n], err));
  {
    qv_field *sf[2] = {f[2], f[1]};
    T(qv_type_struct(sf, 2, NULL, &ts->t[ts->n], err));
    int8_t codes[2] = {4, 9};
    qv_field *uf[2] = {f[2], f[0]};
    T(qv_type_union(QV_UNION_SPARSE, uf, codes, 2, NULL, &ts->t[ts->n], err));
    T(qv_type_union(QV_UNION_DENSE, uf, codes, 2, NULL, &ts->t[ts->n], err));
  }
  T(qv_type_run_end_encoded(qv_type_int32(), qv_type_utf8(), NULL, &ts->t[ts->n], err));
  T(qv_type_run_end_encoded(qv_type_int16(), qv_type_int64(), NULL, &ts->t[ts->n], err));
  T(qv_type_dictionary(qv_type_int32(), qv_type_utf8(), false, NULL, &ts->t[ts->n], err));
  T(qv_type_dictionary(qv_type_uint8(), qv_type_int64(), true, NULL, &ts->t[ts->n], err));
#undef T
fail:
  for (int i = 0; i < 4; i++) qv_field_unref(f[i]);
  if (st < 0) types_free(ts);
  return st;
}

static qv_status schema_of(const types *ts, qv_schema **out, qv_error *err) {
  qv_field *f[N_TYPES] = {0};
  qv_status st = QV_OK;
  for (int i = 0; i < ts->n && st == QV_OK; i++) {
    char name[32];
    snprintf(name, sizeof name, "c%d_%s", i, qv_type_id_name(ts->t[i]->id));
    st = qv_field_new(name, ts->t[i], true, NULL, NULL, &f[i], err);
  }
  if (st == QV_OK) st = qv_schema_new(f, ts->n, NULL, NULL, out, err);
  for (int i = 0; i < ts->n; i++) qv_field_unref(f[i]);
  return st;
}

static qv_status batch_of(const qv_schema *s, int64_t n, int64_t seed, qv_batch **out,
                          qv_error *err) {
  qv_array *cols[N_TYPES] = {0};
  qv_status st = QV_OK;
  for (int32_t i = 0; i < s->n_fields && st == QV_OK; i++)
    st = w_make_array(s->fields[i]->type, n, seed + i, NULL, &cols[i], err);
  if (st < 0) {
    for (int32_t i = 0; i < s->n_fields; i++) qv_array_unref(cols[i]);
    return st;
  }
  return qv_batch_new(s, n, cols, s->n_fields, NULL, out, err);
}

static void check_roundtrip(const qv_schema *s, qv_batch *const *batches, int n,
                            const qv_ipc_write_options *o, const char *what) {
  qv_error err;
  qv_mbuffer mb;
  QV_CHECK_OK_E(w_write(s, batches, n, o, NULL, &mb, &err), &err);
  if (qv_test_failed) {
    fprintf(stderr, "  (%s)\n", what);
    return;
  }
  static wlayout lay;
  if (w_check_bytes(mb.data, mb.len, o->format, &lay)) fprintf(stderr, "  (%s)\n", what);
  qv_table *t = NULL;
  qv_status st = w_read(&mb, &t, &err);
  QV_CHECK_OK_E(st, &err);
  if (st == QV_OK) {
    QV_CHECK(qv_schema_equal(t->schema, s));
    QV_CHECK_INT_EQ(t->n_batches, n);
    for (int i = 0; i < n && i < t->n_batches; i++) {
      qv_error diff;
      bool eq = qv_batch_equal(batches[i], t->batches[i], &diff);
      QV_CHECK(eq);
      if (!eq) fprintf(stderr, "  %s, batch %d: %s\n", what, i, diff.message);
    }
    qv_table_free(t);
  } else {
    fprintf(stderr, "  (%s)\n", what);
  }
  qv_mbuffer_reset(&mb);
}

static void test_all_types_all_options(void) {
  qv_error err;
  types ts;
  QV_REQUIRE_OK_E(all_types(&ts, &err), &err);
  qv_schema *s = NULL;
  qv_batch *b[3] = {0};
  QV_CHECK_OK_E(schema_of(&ts, &s, &err), &err);
  if (!qv_test_failed) QV_CHECK_OK_E(batch_of(s, 37, 0, &b[0], &err), &err);
  if (!qv_test_failed) QV_CHECK_OK_E(batch_of(s, 0, 5, &b[1], &err), &err);
  if (!qv_test_failed) QV_CHECK_OK_E(batch_of(s, 100, 11, &b[2], &err), &err);
  if (!qv_test_failed) {
    for (int fmt = 0; fmt < 2; fmt++)
      for (int comp = 0; comp < 3; comp++) {
        qv_ipc_write_options o = qv_ipc_write_options_default();
        o.format = (qv_ipc_format)fmt;
        o.compression = (qv_ipc_compression)comp;
        /* a dictionary changes per batch (different seeds); deltas or replacements in the
         * stream; the file format needs equal dictionaries, so it writes batch 0 only */
        char what[64];
        snprintf(what, sizeof what, "format %d compression %d", fmt, comp);
        check_roundtrip(s, b, fmt == 0 ? 3 : 1, &o, what);
      }
  }
  for (int i = 0; i < 3; i++) qv_batch_unref(b[i]);
  qv_schema_unref(s);
  types_free(&ts);
}

/* Sliced batches: every column re-based; the output equals the slice and is compact. */
static void test_sliced(void) {
  qv_error err;
  types ts;
  QV_REQUIRE_OK_E(all_types(&ts, &err), &err);
  qv_schema *s = NULL;
  qv_batch *full = NULL;
  QV_CHECK_OK_E(schema_of(&ts, &s, &err), &err);
  if (!qv_test_failed) QV_CHECK_OK_E(batch_of(s, 80, 3, &full, &err), &err);
  static const int64_t cuts[][2] = {{1, 30}, {3, 17}, {8, 20}, {13, 0}, {5, 1}, {0, 79}, {79, 1},
                                    {9, 64}};
  for (size_t c = 0; c < sizeof cuts / sizeof cuts[0] && !qv_test_failed; c++) {
    qv_batch *sl;
    QV_CHECK_OK_E(qv_batch_slice(full, cuts[c][0], cuts[c][1], &sl, &err), &err);
    if (qv_test_failed) break;
    for (int fmt = 0; fmt < 2; fmt++) {
      qv_ipc_write_options o = qv_ipc_write_options_default();
      o.format = (qv_ipc_format)fmt;
      o.compression = c % 3 == 2 ? QV_IPC_COMPRESSION_ZSTD : QV_IPC_COMPRESSION_NONE;
      char what[64];
      snprintf(what, sizeof what, "slice [%lld, +%lld) format %d", (long long)cuts[c][0],
               (long long)cuts[c][1], fmt);
      check_roundtrip(s, &sl, 1, &o, what);
    }
    qv_batch_unref(sl);
  }
  /* compactness: a slice of a string column writes only its own bytes */
  int32_t si = -1;
  for (int32_t i = 0; i < s->n_fields; i++)
    if (s->fields[i]->type->id == QV_TYPE_STRING) si = i;
  if (!qv_test_failed && si >= 0) {
    qv_array *col = full->columns[si], *part;
    QV_CHECK_OK(qv_array_slice(col, 40, 10, &part, NULL));
    size_t expect = 0;
    for (int64_t i = 0; i < 10; i++) {
      const uint8_t *p;
      size_t n;
      if (qv_array_is_null(part, i)) continue;
      qv_array_get_bytes(part, i, &p, &n);
      expect += n;
    }
    qv_schema *s1;
    qv_batch *b1;
    QV_REQUIRE(w_one_column(s->fields[si]->name, part, &s1, &b1));
    qv_ipc_write_options o = qv_ipc_write_options_default();
    qv_mbuffer mb;
    QV_CHECK_OK_E(w_write(s1, &b1, 1, &o, NULL, &mb, &err), &err);
    static wlayout lay;
    qv__ipc_msg msg;
    qv__ipc_batch_meta bm;
    const wmsg *m = &lay.msgs[1];
    if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay) && lay.n == 2 &&
        w_batch_meta(mb.data, m, &msg, &bm)) {
      QV_CHECK_UINT_EQ(bm.n_buffers, 3);
      /* offsets: 11 int32 starting at 0; data: exactly the referenced bytes */
      QV_CHECK_INT_EQ(qv__fb_load_i64(&msg.fb, bm.buffers + 16 + 8), 44);
      QV_CHECK_INT_EQ(qv__fb_load_i64(&msg.fb, bm.buffers + 32 + 8), (int64_t)expect);
      int64_t off1 = qv__fb_load_i64(&msg.fb, bm.buffers + 16);
      QV_CHECK_UINT_EQ(qv__load_u32le(mb.data + m->start + 8 + m->meta_len + (size_t)off1), 0);
      /* validity re-aligned to bit 0: slice at 40 is byte aligned, so take one at 41 */
    }
    qv_mbuffer_reset(&mb);
    qv_batch_unref(b1);
    qv_schema_unref(s1);
  }
  qv_batch_unref(full);
  qv_schema_unref(s);
  types_free(&ts);
}

/* An int32 column with nulls sliced at a non-multiple of 8: the validity bitmap is shifted. */
static void test_validity_realigned(void) {
  qv_array *a;
  qv_error err;
  QV_REQUIRE_OK_E(w_make_array(qv_type_int32(), 40, 0, NULL, &a, &err), &err);
  qv_array *part;
  QV_REQUIRE_OK(qv_array_slice(a, 3, 20, &part, NULL));
  qv_schema *s;
  qv_batch *b;
  QV_REQUIRE(w_one_column("x", qv_array_ref(part), &s, &b));
  qv_ipc_write_options o = qv_ipc_write_options_default();
  qv_mbuffer mb;
  QV_CHECK_OK_E(w_write(s, &b, 1, &o, NULL, &mb, &err), &err);
  static wlayout lay;
  qv__ipc_msg msg;
  qv__ipc_batch_meta bm;
  const wmsg *m = &lay.msgs[1];
  if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay) && lay.n == 2 &&
      w_batch_meta(mb.data, m, &msg, &bm)) {
    QV_CHECK_INT_EQ(qv__fb_load_i64(&msg.fb, bm.nodes + 8), qv_array_null_count(part));
    QV_CHECK(qv_array_null_count(part) > 0);
    int64_t voff = qv__fb_load_i64(&msg.fb, bm.buffers);
    QV_CHECK_INT_EQ(qv__fb_load_i64(&msg.fb, bm.buffers + 8), 3); /* ceil(20 / 8) */
    const uint8_t *bits = mb.data + m->start + 8 + m->meta_len + (size_t)voff;
    for (int64_t i = 0; i < 20; i++)
      QV_CHECK_INT_EQ(qv_bit_get(bits, (size_t)i), qv_array_is_valid(part, i));
    int64_t doff = qv__fb_load_i64(&msg.fb, bm.buffers + 16);
    QV_CHECK_INT_EQ(qv__fb_load_i64(&msg.fb, bm.buffers + 24), 80);
    const uint8_t *vals = mb.data + m->start + 8 + m->meta_len + (size_t)doff;
    for (int64_t i = 0; i < 20; i++)
      if (qv_array_is_valid(part, i))
        QV_CHECK_INT_EQ((int32_t)qv__load_u32le(vals + 4 * i), qv_array_get_i64(part, i));
  }
  qv_mbuffer_reset(&mb);
  qv_batch_unref(b);
  qv_schema_unref(s);
  qv_array_unref(part);
  qv_array_unref(a);
}

/* A view array over three data buffers, sliced to the middle row: only the one data buffer
 * it uses is written, and the view is renumbered to it. */
static void test_sliced_views_compact(void) {
  static const char *const strs[3] = {"first string that is long", "second string, also long",
                                      "third long string value"};
  qv_buffer bufs[5] = {{0}, {0}, {0}, {0}, {0}};
  uint8_t views[48];
  memset(views, 0, sizeof views);
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(strs[i]);
    QV_REQUIRE_OK(qv_buffer_copy(strs[i], n, NULL, &bufs[2 + i], NULL));
    qv__store_u32le(views + 16 * i, (uint32_t)n);
    memcpy(views + 16 * i + 4, strs[i], 4);
    qv__store_u32le(views + 16 * i + 8, (uint32_t)i);
    qv__store_u32le(views + 16 * i + 12, 0);
  }
  QV_REQUIRE_OK(qv_buffer_copy(views, sizeof views, NULL, &bufs[1], NULL));
  qv_array *a, *mid;
  QV_REQUIRE_OK(qv_array_new(qv_type_utf8_view(), 3, 0, 0, 5, bufs, 0, NULL, NULL, NULL, &a, NULL));
  QV_REQUIRE_OK(qv_array_slice(a, 1, 1, &mid, NULL));
  qv_schema *s;
  qv_batch *b;
  QV_REQUIRE(w_one_column("v", mid, &s, &b));
  qv_ipc_write_options o = qv_ipc_write_options_default();
  qv_mbuffer mb;
  qv_error err;
  QV_CHECK_OK_E(w_write(s, &b, 1, &o, NULL, &mb, &err), &err);
  static wlayout lay;
  qv__ipc_msg msg;
  qv__ipc_batch_meta bm;
  const wmsg *m = &lay.msgs[1];
  if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay) && lay.n == 2 &&
      w_batch_meta(mb.data, m, &msg, &bm)) {
    QV_CHECK_UINT_EQ(bm.n_buffers, 3); /* validity, views, one data buffer */
    QV_CHECK_UINT_EQ(bm.n_variadic, 1);
    QV_CHECK_INT_EQ(qv__fb_load_i64(&msg.fb, bm.variadic), 1);
    QV_CHECK_INT_EQ(qv__fb_load_i64(&msg.fb, bm.buffers + 32 + 8), (int64_t)strlen(strs[1]));
    qv_table *t;
    QV_CHECK_OK_E(w_read(&mb, &t, &err), &err);
    if (!qv_test_failed) {
      QV_CHECK(qv_batch_equal(b, t->batches[0], NULL));
      const uint8_t *p;
      size_t n;
      qv_array_get_bytes(t->batches[0]->columns[0], 0, &p, &n);
      QV_CHECK_UINT_EQ(n, strlen(strs[1]));
      qv_table_free(t);
    }
  }
  qv_mbuffer_reset(&mb);
  qv_batch_unref(b);
  qv_schema_unref(s);
  qv_array_unref(a);
}

static void test_empty_stream_and_file(void) {
  types ts;
  qv_error err;
  QV_REQUIRE_OK_E(all_types(&ts, &err), &err);
  qv_schema *s;
  QV_CHECK_OK_E(schema_of(&ts, &s, &err), &err);
  types_free(&ts);
  if (qv_test_failed) return;
  for (int fmt = 0; fmt < 2; fmt++) {
    qv_ipc_write_options o = qv_ipc_write_options_default();
    o.format = (qv_ipc_format)fmt;
    qv_mbuffer mb;
    QV_CHECK_OK_E(w_write(s, NULL, 0, &o, NULL, &mb, &err), &err);
    if (qv_test_failed) break;
    static wlayout lay;
    w_check_bytes(mb.data, mb.len, o.format, &lay);
    QV_CHECK_INT_EQ(lay.n, 1);
    QV_CHECK_INT_EQ(lay.msgs[0].type, QV_FB_HEADER_SCHEMA);
    if (fmt == 0) {
      /* the stream ends with the end-of-stream marker */
      QV_CHECK_MEM_EQ(mb.data + mb.len - 8, "\xff\xff\xff\xff\0\0\0\0", 8);
      QV_CHECK_UINT_EQ(lay.msgs[0].start, 0);
    } else {
      QV_CHECK_UINT_EQ(lay.n_footer_batch, 0);
      QV_CHECK_UINT_EQ(lay.msgs[0].start, 8);
    }
    qv_table *t;
    QV_CHECK_OK_E(w_read(&mb, &t, &err), &err);
    if (!qv_test_failed) {
      QV_CHECK_INT_EQ(t->n_batches, 0);
      QV_CHECK(qv_schema_equal(t->schema, s));
      qv_table_free(t);
    }
    qv_mbuffer_reset(&mb);
  }
  qv_schema_unref(s);
}

static void test_compression_layout(void) {
  /* highly compressible int64 column and an incompressible binary one */
  qv_error err;
  qv_field *f[2];
  QV_REQUIRE_OK(qv_field_new("zeros", qv_type_int64(), false, NULL, NULL, &f[0], NULL));
  QV_REQUIRE_OK(qv_field_new("noise", qv_type_binary(), false, NULL, NULL, &f[1], NULL));
  qv_schema *s;
  QV_REQUIRE_OK(qv_schema_new(f, 2, NULL, NULL, &s, NULL));
  qv_field_unref(f[0]);
  qv_field_unref(f[1]);
  qv_builder *b0, *b1;
  QV_REQUIRE_OK(qv_builder_new(qv_type_int64(), NULL, &b0, NULL));
  QV_REQUIRE_OK(qv_builder_new(qv_type_binary(), NULL, &b1, NULL));
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 4000; i++) {
    QV_CHECK_OK(qv_builder_append_i64(b0, 7, NULL));
    uint8_t r[1];
    r[0] = (uint8_t)qv_test_rand(&x);
    QV_CHECK_OK(qv_builder_append_bytes(b1, r, 1, NULL));
  }
  qv_array *cols[2];
  QV_REQUIRE_OK(qv_builder_finish(b0, &cols[0], NULL));
  QV_REQUIRE_OK(qv_builder_finish(b1, &cols[1], NULL));
  qv_builder_free(b0);
  qv_builder_free(b1);
  qv_batch *b;
  QV_REQUIRE_OK(qv_batch_new(s, 4000, cols, 2, NULL, &b, NULL));
  for (int comp = 1; comp <= 2; comp++) {
    for (int level = 0; level <= 1; level++) {
      qv_ipc_write_options o = qv_ipc_write_options_default();
      o.compression = (qv_ipc_compression)comp;
      o.compression_level = level ? 9 : 0;
      qv_mbuffer mb;
      QV_CHECK_OK_E(w_write(s, &b, 1, &o, NULL, &mb, &err), &err);
      if (qv_test_failed) break;
      static wlayout lay;
      qv__ipc_msg msg;
      qv__ipc_batch_meta bm;
      const wmsg *m = &lay.msgs[1];
      if (!w_check_bytes(mb.data, mb.len, o.format, &lay) && lay.n == 2 &&
          w_batch_meta(mb.data, m, &msg, &bm)) {
        QV_CHECK_INT_EQ(bm.codec, comp == 1 ? QV_FB_COMPRESSION_LZ4_FRAME
                                            : QV_FB_COMPRESSION_ZSTD);
        QV_CHECK_UINT_EQ(bm.n_buffers, 5);
        const uint8_t *body = mb.data + m->start + 8 + m->meta_len;
        /* buffer 1: 32000 bytes of 7s, compressed with its uncompressed length in front */
        int64_t o1 = qv__fb_load_i64(&msg.fb, bm.buffers + 16);
        int64_t l1 = qv__fb_load_i64(&msg.fb, bm.buffers + 24);
        QV_CHECK(l1 > 8 && l1 < 2000);
        QV_CHECK_INT_EQ((int64_t)qv__load_u64le(body + o1), 32000);
        /* buffer 4: 4000 random bytes do not compress: -1 then the raw bytes */
        int64_t o4 = qv__fb_load_i64(&msg.fb, bm.buffers + 64);
        int64_t l4 = qv__fb_load_i64(&msg.fb, bm.buffers + 72);
        QV_CHECK_INT_EQ(l4, 4008);
        QV_CHECK_INT_EQ((int64_t)qv__load_u64le(body + o4), -1);
        const uint8_t *p;
        size_t n;
        qv_array_get_bytes(b->columns[1], 0, &p, &n);
        QV_CHECK_MEM_EQ(body + o4 + 8, p, 4000);
        /* buffer 0 (no validity) stays empty, without a prefix */
        QV_CHECK_INT_EQ(qv__fb_load_i64(&msg.fb, bm.buffers + 8), 0);
      }
      qv_table *t;
      QV_CHECK_OK_E(w_read(&mb, &t, &err), &err);
      if (!qv_test_failed) {
        QV_CHECK(qv_batch_equal(b, t->batches[0], NULL));
        qv_table_free(t);
      }
      qv_mbuffer_reset(&mb);
    }
  }
  qv_batch_unref(b);
  qv_schema_unref(s);
}

static void test_batch_custom_metadata(void) {
  qv_array *a;
  QV_REQUIRE_OK(w_make_array(qv_type_int32(), 10, 0, NULL, &a, NULL));
  qv_schema *s;
  qv_batch *b;
  QV_REQUIRE(w_one_column("x", a, &s, &b));
  qv_metadata md;
  qv_metadata_init(&md, NULL);
  QV_CHECK_OK(qv_metadata_append(&md, "origin", "sensor-7", NULL));
  QV_CHECK_OK(qv_metadata_append(&md, "seq", "42", NULL));
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, NULL);
  qv_ipc_writer *w;
  qv_error err;
  QV_CHECK_OK_E(qv_ipc_writer_new(s, NULL, qv_ipc_sink_mbuffer, &mb, NULL, &w, &err), &err);
  if (!qv_test_failed) {
    QV_CHECK_OK_E(qv_ipc_writer_write_batch_metadata(w, b, &md, &err), &err);
    QV_CHECK_OK_E(qv_ipc_writer_write_batch(w, b, &err), &err);
    QV_CHECK_OK_E(qv_ipc_writer_finish(w, &err), &err);
    QV_CHECK_INT_EQ(qv_ipc_writer_num_batches(w), 2);
    QV_CHECK_INT_EQ(qv_ipc_writer_bytes_written(w), (int64_t)mb.len);
    /* finished: no more use */
    QV_CHECK_STATUS(qv_ipc_writer_write_batch(w, b, NULL), QV_E_STATE);
    QV_CHECK_STATUS(qv_ipc_writer_finish(w, NULL), QV_E_STATE);
    qv_ipc_writer_free(w);
    static wlayout lay;
    if (!w_check_bytes(mb.data, mb.len, QV_IPC_FORMAT_STREAM, &lay) && lay.n == 3) {
      QV_CHECK_UINT_EQ(lay.msgs[1].n_md, 2);
      QV_CHECK_UINT_EQ(lay.msgs[2].n_md, 0);
      qv_ipc_read_options ro = qv_ipc_read_options_default();
      qv__ipc_msg msg;
      const wmsg *m = &lay.msgs[1];
      QV_CHECK_OK(qv__ipc_msg_parse(mb.data + m->start + 8, m->meta_len, 0, &ro, &msg, NULL));
      qv_metadata got;
      qv_metadata_init(&got, NULL);
      QV_CHECK_OK(qv__ipc_metadata_read(&msg.fb, msg.custom_metadata, msg.n_custom_metadata,
                                        &got, NULL));
      QV_CHECK(qv_metadata_equal(&got, &md));
      qv_metadata_reset(&got);
    }
  }
  qv_mbuffer_reset(&mb);

  /* file format, read back through the public API: batch and footer metadata */
  qv_metadata fmd;
  qv_metadata_init(&fmd, NULL);
  QV_CHECK_OK(qv_metadata_append(&fmd, "writer", "quiver", NULL));
  qv_ipc_write_options o = qv_ipc_write_options_default();
  o.format = QV_IPC_FORMAT_FILE;
  o.footer_metadata = &fmd;
  qv_mbuffer_init(&mb, NULL);
  QV_CHECK_OK_E(qv_ipc_writer_new(s, &o, qv_ipc_sink_mbuffer, &mb, NULL, &w, &err), &err);
  qv_metadata_reset(&fmd); /* copied by the writer */
  qv_metadata_init(&fmd, NULL);
  QV_CHECK_OK(qv_metadata_append(&fmd, "writer", "quiver", NULL));
  if (!qv_test_failed) {
    QV_CHECK_OK_E(qv_ipc_writer_write_batch(w, b, &err), &err);
    QV_CHECK_OK_E(qv_ipc_writer_write_batch_metadata(w, b, &md, &err), &err);
    QV_CHECK_OK_E(qv_ipc_writer_finish(w, &err), &err);
    qv_ipc_writer_free(w);
    qv_buffer buf;
    QV_CHECK_OK(qv_buffer_copy(mb.data, mb.len, NULL, &buf, NULL));
    qv_ipc_file *file = NULL;
    QV_CHECK_OK_E(qv_ipc_file_open_buffer(&buf, NULL, NULL, &file, &err), &err);
    if (file) {
      QV_CHECK(qv_metadata_equal(qv_ipc_file_footer_metadata(file), &fmd));
      qv_metadata got;
      qv_metadata_init(&got, NULL);
      QV_CHECK_OK(qv_ipc_file_batch_metadata(file, 0, &got, NULL));
      QV_CHECK_INT_EQ(got.n, 0);
      qv_metadata_reset(&got);
      qv_metadata_init(&got, NULL);
      QV_CHECK_OK(qv_ipc_file_batch_metadata(file, 1, &got, NULL));
      QV_CHECK(qv_metadata_equal(&got, &md));
      qv_metadata_reset(&got);
      qv_ipc_file_close(file);
    }
    qv_buffer_unref(&buf);
  }
  qv_mbuffer_reset(&mb);
  qv_metadata_reset(&fmd);
  qv_metadata_reset(&md);
  qv_batch_unref(b);
  qv_schema_unref(s);
}

static void test_write_path(void) {
  types ts;
  qv_error err;
  QV_REQUIRE_OK_E(all_types(&ts, &err), &err);
  qv_schema *s = NULL;
  qv_batch *b = NULL;
  qv_table *t = NULL;
  QV_CHECK_OK_E(schema_of(&ts, &s, &err), &err);
  if (!qv_test_failed) QV_CHECK_OK_E(batch_of(s, 25, 1, &b, &err), &err);
  if (!qv_test_failed) QV_CHECK_OK(qv_table_new(s, NULL, &t, NULL));
  if (!qv_test_failed) QV_CHECK_OK(qv_table_append_batch(t, b, NULL));
  if (!qv_test_failed) QV_CHECK_OK(qv_table_append_batch(t, b, NULL));
  char path[256];
  snprintf(path, sizeof path, "/tmp/qv_test_writer_%d.arrow", (int)getpid());
  for (int fmt = 0; fmt < 2 && !qv_test_failed; fmt++) {
    qv_ipc_write_options o = qv_ipc_write_options_default();
    o.format = (qv_ipc_format)fmt;
    o.compression = QV_IPC_COMPRESSION_LZ4_FRAME;
    QV_CHECK_OK_E(qv_ipc_write_table_file(path, t, &o, &err), &err);
    size_t len;
    unsigned char *bytes = qv_test_read_file(path, &len);
    QV_CHECK(bytes != NULL);
    static wlayout lay;
    if (bytes) w_check_bytes(bytes, len, o.format, &lay);
    free(bytes);
    qv_table *back;
    qv_ipc_read_options ro = qv_ipc_read_options_default();
    QV_CHECK_OK_E(qv_ipc_read_path(path, &ro, NULL, &back, &err), &err);
    if (!qv_test_failed) {
      qv_error diff;
      QV_CHECK(qv_table_equal(t, back, &diff));
      qv_table_free(back);
    }
    /* and into memory, appended after existing bytes */
    qv_mbuffer mb;
    qv_mbuffer_init(&mb, NULL);
    QV_CHECK_OK(qv_mbuffer_append(&mb, "xyz", 3, NULL));
    QV_CHECK_OK_E(qv_ipc_write_table_mbuffer(t, &o, &mb, &err), &err);
    QV_CHECK(mb.len > 3);
    QV_CHECK_MEM_EQ(mb.data, "xyz", 3);
    qv_mbuffer_reset(&mb);
  }
  remove(path);
  /* an unwritable path */
  QV_CHECK_STATUS_E(qv_ipc_write_table_file("/nonexistent-dir/x.arrow", t, NULL, &err), QV_E_IO,
                    &err);
  QV_CHECK_CONTAINS(err.message, "/nonexistent-dir/x.arrow");
  qv_table_free(t);
  qv_batch_unref(b);
  qv_schema_unref(s);
  types_free(&ts);
}

QV_TEST_MAIN(QV_CASE(test_all_types_all_options), QV_CASE(test_sliced),
             QV_CASE(test_validity_realigned), QV_CASE(test_sliced_views_compact),
             QV_CASE(test_empty_stream_and_file),
             QV_CASE(test_compression_layout), QV_CASE(test_batch_custom_metadata),
             QV_CASE(test_write_path))
