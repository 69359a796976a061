/* test_writer_fb.c — the FlatBuffers builder and the IPC metadata encoder: values read back
 * with the reader's typed accessors, output accepted by the reader's verifier, schemas of every
 * type decoded back equal, alignment, sticky errors, and allocation failure at every point. */
#include <string.h>

#include "ipc/fb_build.h"
#include "ipc/ipc_int.h"
#include "qv_test.h"
#include "quiver/type.h"

/* Copies a finished FlatBuffer to 8-aligned memory (as it sits in a message). */
typedef struct fbcopy {
  uint64_t mem[4096];
  qv__fb fb;
} fbcopy;

static bool fb_copy(fbcopy *c, const uint8_t *data, size_t len) {
  if (len > sizeof c->mem) return false;
  memcpy(c->mem, data, len);
  c->fb.data = (const uint8_t *)c->mem;
  c->fb.len = len;
  c->fb.base = 0;
  return true;
}

static void test_builder_values(void) {
  qv__fbb b;
  qv__fbb_init(&b, NULL);
  qv__fbref s = qv__fbb_cstring(&b, "hello");
  int32_t v32[3] = {1, -2, 3};
  int64_t v64[2] = {INT64_MIN, 42};
  qv__fbref vi = qv__fbb_vec_i32(&b, v32, 3);
  qv__fbref vl = qv__fbb_vec_i64(&b, v64, 2);
  uint8_t st[32];
  for (int i = 0; i < 32; i++) st[i] = (uint8_t)i;
  qv__fbref vs = qv__fbb_vec_structs(&b, st, 16, 2, 8);
  qv__fbref sub[2];
  for (int i = 0; i < 2; i++) {
    qv__fbb_table_start(&b);
    qv__fbb_add_i32(&b, 0, 100 + i, 0);
    sub[i] = qv__fbb_table_end(&b);
  }
  qv__fbref vt = qv__fbb_vec_refs(&b, sub, 2);
  qv__fbref empty = qv__fbb_vec_refs(&b, NULL, 0);
  qv__fbb_table_start(&b);
  qv__fbb_add_bool(&b, 0, true, false);
  qv__fbb_add_u8(&b, 1, 7, 0);
  qv__fbb_add_i16(&b, 2, -3, 0);
  qv__fbb_add_i64(&b, 3, 1234567890123LL, 0);
  qv__fbb_add_ref(&b, 4, s);
  qv__fbb_add_ref(&b, 5, vi);
  qv__fbb_add_ref(&b, 6, vl);
  qv__fbb_add_ref(&b, 7, vs);
  qv__fbb_add_ref(&b, 8, vt);
  qv__fbb_add_i32(&b, 9, 5, 5); /* equal to the default: omitted */
  qv__fbb_add_ref(&b, 10, empty);
  qv__fbb_add_ref(&b, 11, sub[0]); /* a sub-table shared with the vector */
  qv__fbref root = qv__fbb_table_end(&b);
  const uint8_t *data;
  size_t len;
  qv_error err;
  QV_REQUIRE_OK_E(qv__fbb_finish(&b, root, &data, &len, &err), &err);
  QV_CHECK_UINT_EQ(len % 8, 0);
  static fbcopy c;
  QV_REQUIRE(fb_copy(&c, data, len));
  qv__fb *fb = &c.fb;
  uint32_t t = qv__fb_root(fb);
  QV_CHECK(qv__fb_bool(fb, t, 0, false));
  QV_CHECK_INT_EQ(qv__fb_u8(fb, t, 1, 0), 7);
  QV_CHECK_INT_EQ(qv__fb_i16(fb, t, 2, 0), -3);
  QV_CHECK_INT_EQ(qv__fb_i64(fb, t, 3, 0), 1234567890123LL);
  QV_CHECK_UINT_EQ((t + qv__fb_field(fb, t, 3)) % 8, 0); /* 8-byte scalar aligned */
  size_t sl;
  const char *str = qv__fb_string(fb, t, 4, &sl);
  QV_REQUIRE(str != NULL);
  QV_CHECK_UINT_EQ(sl, 5);
  QV_CHECK_STR_EQ(str, "hello");
  uint32_t n;
  uint32_t p = qv__fb_vector(fb, t, 5, &n);
  QV_CHECK_UINT_EQ(n, 3);
  QV_CHECK_INT_EQ(qv__fb_load_i32(fb, p + 4), -2);
  p = qv__fb_vector(fb, t, 6, &n);
  QV_CHECK_UINT_EQ(n, 2);
  QV_CHECK_UINT_EQ(p % 8, 0);
  QV_CHECK_INT_EQ(qv__fb_load_i64(fb, p), INT64_MIN);
  QV_CHECK_INT_EQ(qv__fb_load_i64(fb, p + 8), 42);
  p = qv__fb_vector(fb, t, 7, &n);
  QV_CHECK_UINT_EQ(n, 2);
  QV_CHECK_UINT_EQ(p % 8, 0);
  QV_CHECK_MEM_EQ(fb->data + p, st, 32);
  p = qv__fb_vector(fb, t, 8, &n);
  QV_CHECK_UINT_EQ(n, 2);
  for (uint32_t i = 0; i < n; i++)
    QV_CHECK_INT_EQ(qv__fb_i32(fb, qv__fb_vector_table(fb, p, i), 0, 0), 100 + (int)i);
  QV_CHECK(!qv__fb_has(fb, t, 9));
  QV_CHECK_INT_EQ(qv__fb_i32(fb, t, 9, 5), 5);
  qv__fb_vector(fb, t, 10, &n);
  QV_CHECK(qv__fb_has(fb, t, 10));
  QV_CHECK_UINT_EQ(n, 0);
  QV_CHECK_INT_EQ(qv__fb_i32(fb, qv__fb_table(fb, t, 11), 0, 0), 100);
  QV_CHECK(!qv__fb_has(fb, t, 12)); /* beyond the vtable */

  /* the builder is reusable after clear; identical vtables are shared (the later table
   * points back at the earlier vtable with a negative soffset) */
  qv__fbb_clear(&b);
  qv__fbref e[3];
  for (int i = 0; i < 3; i++) {
    qv__fbb_table_start(&b);
    e[i] = qv__fbb_table_end(&b);
  }
  qv__fbref ev = qv__fbb_vec_refs(&b, e, 3);
  qv__fbb_table_start(&b);
  qv__fbb_add_ref(&b, 0, ev);
  root = qv__fbb_table_end(&b);
  QV_CHECK_OK(qv__fbb_finish(&b, root, &data, &len, NULL));
  QV_REQUIRE(fb_copy(&c, data, len));
  t = qv__fb_root(fb);
  p = qv__fb_vector(fb, t, 0, &n);
  QV_REQUIRE(n == 3);
  int64_t vtp[3];
  for (uint32_t i = 0; i < 3; i++) {
    uint32_t ti = qv__fb_vector_table(fb, p, i);
    vtp[i] = (int64_t)ti - (int32_t)qv__load_u32le(fb->data + ti);
  }
  QV_CHECK_INT_EQ(vtp[0], vtp[1]);
  QV_CHECK_INT_EQ(vtp[1], vtp[2]);
  qv__fbb_reset(&b);
}

static void test_builder_sticky_errors(void) {
  qv__fbb b;
  qv__fbb_init(&b, NULL);
  qv_error err;
  const uint8_t *data;
  size_t len;
  /* a field outside a table */
  qv__fbb_add_i32(&b, 0, 1, 0);
  qv__fbb_table_start(&b);
  qv__fbref r = qv__fbb_table_end(&b);
  QV_CHECK_STATUS_E(qv__fbb_finish(&b, r, &data, &len, &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "outside a table");
  /* a string inside a table */
  qv__fbb_clear(&b);
  qv__fbb_table_start(&b);
  (void)qv__fbb_cstring(&b, "x");
  r = qv__fbb_table_end(&b);
  QV_CHECK_STATUS_E(qv__fbb_finish(&b, r, &data, &len, &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "inside a table");
  /* slot out of range */
  qv__fbb_clear(&b);
  qv__fbb_table_start(&b);
  qv__fbb_add_i32(&b, QV__FBB_MAX_SLOTS, 1, 0);
  r = qv__fbb_table_end(&b);
  QV_CHECK_STATUS(qv__fbb_finish(&b, r, &data, &len, NULL), QV_E_INVALID);
  /* no root */
  qv__fbb_clear(&b);
  QV_CHECK_STATUS(qv__fbb_finish(&b, 0, &data, &len, NULL), QV_E_INVALID);
  qv__fbb_reset(&b);
}

/* A schema with every type of the data model, nested and dictionary fields, metadata. */
static qv_status make_schema(const qv_allocator *a, qv_schema **out, qv_error *err) {
  qv_status st = QV_OK;
  qv_type *ts[40] = {0};
  qv_field *fs[40] = {0};
  qv_field *tmpf[8] = {0};
  qv_type *tmpt[8] = {0};
  int n = 0;
  const qv_type_id prims[] = {
      QV_TYPE_NA, QV_TYPE_BOOL, QV_TYPE_INT8, QV_TYPE_UINT16, QV_TYPE_INT32, QV_TYPE_UINT64,
      QV_TYPE_HALF_FLOAT, QV_TYPE_FLOAT, QV_TYPE_DOUBLE, QV_TYPE_DATE32, QV_TYPE_DATE64,
      QV_TYPE_BINARY, QV_TYPE_STRING, QV_TYPE_LARGE_BINARY, QV_TYPE_LARGE_STRING,
      QV_TYPE_BINARY_VIEW, QV_TYPE_STRING_VIEW, QV_TYPE_INTERVAL_MONTHS,
      QV_TYPE_INTERVAL_DAY_TIME, QV_TYPE_INTERVAL_MONTH_DAY_NANO};
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
    ts[n++] = qv_type_primitive(prims[i]);
#define T(call)                                                                              \
  do {                                                                                     \
    QV_TRY_GOTO(st, call, done);                                                           \
    n++;                                                                                   \
  } while (0)
  T(qv_type_decimal(32, 9, 2, a, &ts[n], err));
  T(qv_type_decimal(64, 18, -3, a, &ts[n], err));
  T(qv_type_decimal(128, 38, 10, a, &ts[n], err));
  T(qv_type_decimal(256, 76, 0, a, &ts[n], err));
  T(qv_type_time32(QV_TIME_MILLI, a, &ts[n], err));
  T(qv_type_time64(QV_TIME_NANO, a, &ts[n], err));
  T(qv_type_timestamp(QV_TIME_MICRO, "Europe/Paris", a, &ts[n], err));
  T(qv_type_timestamp(QV_TIME_SECOND, NULL, a, &ts[n], err));
  T(qv_type_duration(QV_TIME_NANO, a, &ts[n], err));
  T(qv_type_fixed_size_binary(7, a, &ts[n], err));
  T(qv_type_list_of(QV_TYPE_LIST, qv_type_int32(), a, &ts[n], err));
  T(qv_type_list_of(QV_TYPE_LARGE_LIST_VIEW, qv_type_utf8(), a, &ts[n], err));
  QV_TRY_GOTO(st, qv_field_new("v", qv_type_float64(), false, NULL, a, &tmpf[0], err), done);
  T(qv_type_fixed_size_list(tmpf[0], 3, a, &ts[n], err));
  QV_TRY_GOTO(st, qv_field_new("k", qv_type_utf8(), false, NULL, a, &tmpf[1], err), done);
  QV_TRY_GOTO(st, qv_field_new("val", qv_type_int64(), true, NULL, a, &tmpf[2], err), done);
  T(qv_type_map(tmpf[1], tmpf[2], true, a, &ts[n], err));
  {
    int8_t codes[2] = {5, 2};
    qv_field *uf[2] = {tmpf[1], tmpf[2]};
    T(qv_type_union(QV_UNION_DENSE, uf, codes, 2, a, &ts[n], err));
    T(qv_type_union(QV_UNION_SPARSE, uf, NULL, 2, a, &ts[n], err));
  }
  T(qv_type_run_end_encoded(qv_type_int32(), qv_type_utf8(), a, &ts[n], err));
  T(qv_type_dictionary(qv_type_int16(), qv_type_utf8(), true, a, &ts[n], err));
  /* struct holding a dictionary field */
  QV_TRY_GOTO(st, qv_type_dictionary(qv_type_uint8(), qv_type_int64(), false, a, &tmpt[0], err),
              done);
  QV_TRY_GOTO(st, qv_field_new("d", tmpt[0], true, NULL, a, &tmpf[3], err), done);
  {
    qv_field *sf[2] = {tmpf[3], tmpf[2]};
    T(qv_type_struct(sf, 2, a, &ts[n], err));
  }
#undef T
  {
    qv_metadata md;
    qv_metadata_init(&md, a);
    QV_TRY_GOTO(st, qv_metadata_append(&md, "ARROW:extension:name", "my.ext", err), md_done);
    QV_TRY_GOTO(st, qv_metadata_append(&md, "k2", "", err), md_done);
    for (int i = 0; i < n; i++) {
      char name[16];
      snprintf(name, sizeof name, "f%d", i);
      QV_TRY_GOTO(st, qv_field_new(name, ts[i], i % 2 == 0, i == 3 ? &md : NULL, a, &fs[i], err),
                  md_done);
    }
    QV_TRY_GOTO(st, qv_metadata_set(&md, "schema-level", "yes", err), md_done);
    st = qv_schema_new(fs, n, &md, a, out, err);
  md_done:
    qv_metadata_reset(&md);
  }
done:
  for (int i = 0; i < 40; i++) {
    qv_type_unref(ts[i]);
    qv_field_unref(fs[i]);
  }
  for (int i = 0; i < 8; i++) {
    qv_field_unref(tmpf[i]);
    qv_type_unref(tmpt[i]);
  }
  return st;
}

static void test_schema_roundtrip(void) {
  qv_error err;
  qv_schema *s;
  QV_REQUIRE_OK_E(make_schema(NULL, &s, &err), &err);
  qv__fbb b;
  qv__fbb_init(&b, NULL);
  int64_t idv[2] = {7, 3};
  qv__dict_ids ids = {idv, 2};
  const uint8_t *data;
  size_t len;
  QV_CHECK_OK_E(qv__meta_schema_message(&b, s, &ids, &data, &len, &err), &err);
  static fbcopy c;
  if (qv_test_failed || !fb_copy(&c, data, len)) goto out;
  QV_CHECK_OK_E(qv__fb_verify_message(&c.fb, QV__FB_MAX_DEPTH, &err), &err);
  if (qv_test_failed) goto out;
  uint32_t m = qv__fb_root(&c.fb);
  QV_CHECK_INT_EQ(qv__fb_i16(&c.fb, m, QV_FB_MESSAGE_VERSION, 0), QV_FB_METADATA_V5);
  QV_CHECK_INT_EQ(qv__fb_u8(&c.fb, m, QV_FB_MESSAGE_HEADER_TYPE, 0), QV_FB_HEADER_SCHEMA);
  QV_CHECK_INT_EQ(qv__fb_i64(&c.fb, m, QV_FB_MESSAGE_BODY_LENGTH, 0), 0);
  QV_CHECK(!qv__fb_has(&c.fb, m, QV_FB_MESSAGE_BODY_LENGTH)); /* default 0 left out */
  uint32_t sch = qv__fb_table(&c.fb, m, QV_FB_MESSAGE_HEADER);
  qv_ipc_read_options ro = qv_ipc_read_options_default();
  qv__ipc_schema_info si;
  QV_CHECK_OK_E(qv__ipc_schema_read(&c.fb, sch, &ro, NULL, &si, &err), &err);
  if (qv_test_failed) goto out;
  char sa[2048], sb[2048];
  qv_schema_to_string(s, sa, sizeof sa);
  qv_schema_to_string(si.schema, sb, sizeof sb);
  QV_CHECK(qv_schema_equal(s, si.schema));
  if (!qv_schema_equal(s, si.schema)) fprintf(stderr, "  wrote %s\n  read  %s\n", sa, sb);
  QV_CHECK(qv_metadata_equal(&s->metadata, &si.schema->metadata));
  QV_CHECK(qv_metadata_equal(&s->fields[3]->metadata, &si.schema->fields[3]->metadata));
  QV_CHECK_INT_EQ(si.schema->n_fields, s->n_fields);
  /* dictionary ids in pre-order */
  int32_t last = s->n_fields - 1;
  QV_CHECK_INT_EQ(si.schema->fields[last - 1]->dictionary_id, 7);
  QV_CHECK_INT_EQ(si.schema->fields[last]->type->children[0]->dictionary_id, 3);
  QV_CHECK(qv__ipc_dicts_find(&si.dicts, 7) != NULL);
  QV_CHECK(qv__ipc_dicts_find(&si.dicts, 3) != NULL);
  QV_CHECK(si.schema->fields[last - 1]->type->ordered);
  qv__ipc_schema_info_reset(&si);
out:
  qv__fbb_reset(&b);
  qv_schema_unref(s);
}

static void test_batch_and_footer_messages(void) {
  qv_error err;
  qv__fbb b;
  qv__fbb_init(&b, NULL);
  qv__wnode nodes[2] = {{5, 1}, {10, 0}};
  qv__wbuf bufs[3] = {{0, 1}, {64, 40}, {128, 0}};
  int64_t var[1] = {2};
  qv__wbatch rb = {5, nodes, 2, bufs, 3, QV_FB_COMPRESSION_ZSTD, var, 1};
  qv_metadata md;
  qv_metadata_init(&md, NULL);
  QV_CHECK_OK(qv_metadata_append(&md, "batch", "one", NULL));
  const uint8_t *data;
  size_t len;
  static fbcopy c;
  QV_CHECK_OK_E(qv__meta_batch_message(&b, &rb, 192, &md, &data, &len, &err), &err);
  if (!qv_test_failed && fb_copy(&c, data, len)) {
    QV_CHECK_OK_E(qv__fb_verify_message(&c.fb, QV__FB_MAX_DEPTH, &err), &err);
    qv__ipc_msg msg;
    qv_ipc_read_options ro = qv_ipc_read_options_default();
    QV_CHECK_OK_E(qv__ipc_msg_parse(c.fb.data, c.fb.len, 0, &ro, &msg, &err), &err);
    QV_CHECK_INT_EQ(msg.header_type, QV_FB_HEADER_RECORD_BATCH);
    QV_CHECK_INT_EQ(msg.body_length, 192);
    QV_CHECK_UINT_EQ(msg.n_custom_metadata, 1);
    qv__ipc_batch_meta bm;
    QV_CHECK_OK_E(qv__ipc_batch_meta_read(&c.fb, msg.header, &ro.limits, &bm, &err), &err);
    QV_CHECK_INT_EQ(bm.length, 5);
    QV_CHECK_UINT_EQ(bm.n_nodes, 2);
    QV_CHECK_UINT_EQ(bm.n_buffers, 3);
    QV_CHECK_INT_EQ(bm.codec, QV_FB_COMPRESSION_ZSTD);
    QV_CHECK_UINT_EQ(bm.n_variadic, 1);
    QV_CHECK_INT_EQ(qv__fb_load_i64(&c.fb, bm.nodes + 16 + 0), 10);
    QV_CHECK_INT_EQ(qv__fb_load_i64(&c.fb, bm.buffers + 16 + 8), 40);
    QV_CHECK_INT_EQ(qv__fb_load_i64(&c.fb, bm.variadic), 2);
  }
  rb.codec = -1;
  QV_CHECK_OK_E(qv__meta_dictionary_message(&b, 9, true, &rb, 192, &data, &len, &err), &err);
  if (!qv_test_failed && fb_copy(&c, data, len)) {
    QV_CHECK_OK_E(qv__fb_verify_message(&c.fb, QV__FB_MAX_DEPTH, &err), &err);
    uint32_t m = qv__fb_root(&c.fb);
    QV_CHECK_INT_EQ(qv__fb_u8(&c.fb, m, QV_FB_MESSAGE_HEADER_TYPE, 0),
                    QV_FB_HEADER_DICTIONARY_BATCH);
    uint32_t db = qv__fb_table(&c.fb, m, QV_FB_MESSAGE_HEADER);
    QV_CHECK_INT_EQ(qv__fb_i64(&c.fb, db, QV_FB_DICTBATCH_ID, 0), 9);
    QV_CHECK(qv__fb_bool(&c.fb, db, QV_FB_DICTBATCH_IS_DELTA, false));
    uint32_t rbt = qv__fb_table(&c.fb, db, QV_FB_DICTBATCH_DATA);
    QV_CHECK(!qv__fb_has(&c.fb, rbt, QV_FB_RECORDBATCH_COMPRESSION));
  }
  qv_schema *s;
  QV_CHECK_OK_E(make_schema(NULL, &s, &err), &err);
  if (!qv_test_failed) {
    int64_t idv[2] = {0, 1};
    qv__dict_ids ids = {idv, 2};
    qv__wblock blocks[2] = {{8, 200, 64}, {272, 136, 1024}};
    QV_CHECK_OK_E(qv__meta_footer(&b, s, &ids, blocks, 1, blocks + 1, 1, &md, &data, &len, &err),
                  &err);
    if (!qv_test_failed && fb_copy(&c, data, len)) {
      QV_CHECK_OK_E(qv__fb_verify_footer(&c.fb, QV__FB_MAX_DEPTH, &err), &err);
      uint32_t f = qv__fb_root(&c.fb);
      QV_CHECK_INT_EQ(qv__fb_i16(&c.fb, f, QV_FB_FOOTER_VERSION, 0), QV_FB_METADATA_V5);
      uint32_t n;
      uint32_t v = qv__fb_vector(&c.fb, f, QV_FB_FOOTER_RECORD_BATCHES, &n);
      QV_CHECK_UINT_EQ(n, 1);
      QV_CHECK_INT_EQ(qv__fb_load_i64(&c.fb, v + QV_FB_BLOCK_OFFSET), 272);
      QV_CHECK_INT_EQ(qv__fb_load_i32(&c.fb, v + QV_FB_BLOCK_META_DATA_LENGTH), 136);
      QV_CHECK_INT_EQ(qv__fb_load_i64(&c.fb, v + QV_FB_BLOCK_BODY_LENGTH), 1024);
      qv__fb_vector(&c.fb, f, QV_FB_FOOTER_CUSTOM_METADATA, &n);
      QV_CHECK_UINT_EQ(n, 1);
      v = qv__fb_vector(&c.fb, f, QV_FB_FOOTER_DICTIONARIES, &n);
      QV_CHECK_UINT_EQ(n, 1);
      QV_CHECK_INT_EQ(qv__fb_load_i64(&c.fb, v + QV_FB_BLOCK_OFFSET), 8);
    }
    qv_schema_unref(s);
  }
  qv_metadata_reset(&md);
  qv__fbb_reset(&b);
}

static qv_status schema_msg_alloc(const qv_allocator *a, void *ctx) {
  (void)ctx;
  qv_schema *s;
  QV_TRY(make_schema(a, &s, NULL));
  qv__fbb b;
  qv__fbb_init(&b, a);
  int64_t idv[2] = {0, 1};
  qv__dict_ids ids = {idv, 2};
  const uint8_t *data;
  size_t len;
  qv_status st = qv__meta_schema_message(&b, s, &ids, &data, &len, NULL);
  qv__fbb_reset(&b);
  qv_schema_unref(s);
  return st;
}

static void test_alloc_failures(void) {
  size_t n = qv_test_each_alloc_failure(schema_msg_alloc, NULL, "schema message");
  QV_CHECK(n > 10);
}

QV_TEST_MAIN(QV_CASE(test_builder_values), QV_CASE(test_builder_sticky_errors),
             QV_CASE(test_schema_roundtrip), QV_CASE(test_batch_and_footer_messages),
             QV_CASE(test_alloc_failures))
