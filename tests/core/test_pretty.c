/* test_pretty.c — value rendering (numbers, strings with escapes, ISO-8601 temporal values,
 * decimals, nested values) and the aligned text table of batches and tables, compared with
 * exact expected strings. */
#include "qv_test.h"

static const char *render(const qv_array *a, int64_t i) {
  static char buf[512];
  size_t n = qv_array_value_to_string(a, i, buf, sizeof buf);
  if (n >= sizeof buf) QV__FAIL("rendering too long: %zu", n);
  return buf;
}

static qv_array *one_i64(const qv_type *t, int64_t v) {
  qv_builder *b;
  qv_array *a = NULL;
  if (qv_builder_new(t, NULL, &b, NULL) != QV_OK) abort();
  if (qv_builder_append_i64(b, v, NULL) != QV_OK) abort();
  if (qv_builder_finish(b, &a, NULL) != QV_OK) abort();
  qv_builder_free(b);
  return a;
}

#define CHECK_I64(type_expr, v, want)                                      \
  do {                                                                     \
    qv_type *t_ = (type_expr);                                             \
    qv_array *a_ = one_i64(t_, (v));                                       \
    QV_CHECK_STR_EQ(render(a_, 0), (want));                                \
    qv_array_unref(a_);                                                    \
    qv_type_unref(t_);                                                     \
  } while (0)

static qv_type *mk(qv_status s, qv_type *t) {
  if (s != QV_OK) abort();
  return t;
}

static void test_scalars(void) {
  qv_type *t;
  CHECK_I64(qv_type_int32(), -42, "-42");
  CHECK_I64(qv_type_date32(), 0, "1970-01-01");
  CHECK_I64(qv_type_date32(), -1, "1969-12-31");
  CHECK_I64(qv_type_date32(), 19000, "2022-01-08");
  CHECK_I64(qv_type_date64(), 951782400000LL, "2000-02-29");
  t = NULL;
  (void)qv_type_timestamp(QV_TIME_MILLI, "UTC", NULL, &t, NULL);
  CHECK_I64(t, 1700000000123LL, "2023-11-14T22:13:20.123Z");
  (void)qv_type_timestamp(QV_TIME_SECOND, NULL, NULL, &t, NULL);
  CHECK_I64(t, -1, "1969-12-31T23:59:59");
  (void)qv_type_timestamp(QV_TIME_NANO, NULL, NULL, &t, NULL);
  CHECK_I64(t, 1, "1970-01-01T00:00:00.000000001");
  (void)qv_type_time64(QV_TIME_MICRO, NULL, &t, NULL);
  CHECK_I64(t, 3723000004LL, "01:02:03.000004");
  (void)qv_type_time32(QV_TIME_SECOND, NULL, &t, NULL);
  CHECK_I64(t, 86399, "23:59:59");
  (void)qv_type_duration(QV_TIME_MILLI, NULL, &t, NULL);
  CHECK_I64(t, -15, "-15ms");
  (void)qv_type_decimal(32, 9, 2, NULL, &t, NULL);
  CHECK_I64(t, 12345, "123.45");
  (void)qv_type_decimal(64, 18, 3, NULL, &t, NULL);
  CHECK_I64(t, -5, "-0.005");
  (void)qv_type_decimal(128, 38, 0, NULL, &t, NULL);
  CHECK_I64(t, -170, "-170");
  (void)qv_type_decimal(128, 38, -2, NULL, &t, NULL);
  CHECK_I64(t, 17, "1700");
  CHECK_I64(qv_type_interval_months(), 14, "14M");
  /* scales from metadata are not bounded: more digits than a decimal holds, and absurd ones */
  char tiny[160] = "-0."; /* -5e-120: 119 zeros after the point, then 5 */
  memset(tiny + 3, '0', 119);
  tiny[122] = '5';
  tiny[123] = 0;
  (void)qv_type_decimal(128, 38, 120, NULL, &t, NULL);
  CHECK_I64(t, -5, tiny);
  (void)qv_type_decimal(128, 38, INT32_MAX, NULL, &t, NULL);
  CHECK_I64(t, 7, "7e-2147483647");
  (void)qv_type_decimal(128, 38, INT32_MIN, NULL, &t, NULL);
  CHECK_I64(t, 7, "7e2147483648");
  /* extreme instants: floor division without overflow */
  (void)qv_type_timestamp(QV_TIME_MILLI, NULL, NULL, &t, NULL);
  CHECK_I64(t, INT64_MIN, "-292275055-05-16T16:47:04.192");
  (void)qv_type_timestamp(QV_TIME_SECOND, NULL, NULL, &t, NULL);
  CHECK_I64(t, INT64_MIN, "-292277022657-01-27T08:29:52");
  (void)qv_type_time64(QV_TIME_NANO, NULL, &t, NULL);
  CHECK_I64(t, 1, "00:00:00.000000001");

  /* big decimal256: 2^200 with scale 10, negative */
  t = mk(qv_type_decimal(256, 76, 10, NULL, &t, NULL), t);
  qv_builder *b;
  QV_REQUIRE_OK(qv_builder_new(t, NULL, &b, NULL));
  uint8_t v[32] = {0};
  v[25] = 1; /* 2^200 */
  for (int i = 0; i < 32; i++) v[i] = (uint8_t)~v[i];
  for (int i = 0; i < 32 && ++v[i] == 0; i++) {
  } /* two's complement negate */
  QV_REQUIRE_OK(qv_builder_append_fixed(b, v, NULL));
  qv_array *a;
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  /* 2^200 = 1606938044258990275541962092341162602522202993782792835301376 */
  QV_CHECK_STR_EQ(render(a, 0),
                  "-160693804425899027554196209234116260252220299378279.2835301376");
  qv_array_unref(a);
  qv_builder_free(b);
  qv_type_unref(t);

  QV_REQUIRE_OK(qv_builder_new(qv_type_float64(), NULL, &b, NULL));
  double dv[] = {0.1, 1.0 / 3, -0.0, 1e300, 0.0 / 0.0, 2.5};
  for (int i = 0; i < 6; i++) QV_REQUIRE_OK(qv_builder_append_f64(b, dv[i], NULL));
  QV_REQUIRE_OK(qv_builder_append_null(b, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_STR_EQ(render(a, 0), "0.1");
  QV_CHECK_STR_EQ(render(a, 1), "0.3333333333333333");
  QV_CHECK_STR_EQ(render(a, 2), "-0");
  QV_CHECK_STR_EQ(render(a, 3), "1e+300");
  QV_CHECK_STR_EQ(render(a, 4), "nan");
  QV_CHECK_STR_EQ(render(a, 5), "2.5");
  QV_CHECK_STR_EQ(render(a, 6), "null");
  qv_array_unref(a);
  qv_builder_free(b);

  QV_REQUIRE_OK(qv_builder_new(qv_type_utf8(), NULL, &b, NULL));
  QV_REQUIRE_OK(qv_builder_append_str(b, "a\"b\\c\nd\x01\xc3\xa9", NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_STR_EQ(render(a, 0), "\"a\\\"b\\\\c\\nd\\x01\xc3\xa9\"");
  qv_array_unref(a);
  qv_builder_free(b);
  QV_REQUIRE_OK(qv_builder_new(qv_type_binary(), NULL, &b, NULL));
  QV_REQUIRE_OK(qv_builder_append_bytes(b, "\x00\xff\x10", 3, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_STR_EQ(render(a, 0), "x'00ff10'");
  /* snprintf-like truncation */
  char small[4];
  QV_CHECK_UINT_EQ(qv_array_value_to_string(a, 0, small, sizeof small), 9);
  QV_CHECK_STR_EQ(small, "x'0");
  qv_array_unref(a);
  qv_builder_free(b);
}

static void test_nested_values(void) {
  qv_field *k, *v, *fa, *fb;
  qv_type *map, *st;
  QV_REQUIRE_OK(qv_field_new("key", qv_type_utf8(), false, NULL, NULL, &k, NULL));
  QV_REQUIRE_OK(qv_field_new("value", qv_type_int32(), true, NULL, NULL, &v, NULL));
  QV_REQUIRE_OK(qv_type_map(k, v, false, NULL, &map, NULL));
  QV_REQUIRE_OK(qv_field_new("a", qv_type_int32(), true, NULL, NULL, &fa, NULL));
  QV_REQUIRE_OK(qv_field_new("b", map, true, NULL, NULL, &fb, NULL));
  qv_field *f2[2] = {fa, fb};
  QV_REQUIRE_OK(qv_type_struct(f2, 2, NULL, &st, NULL));
  qv_builder *b;
  QV_REQUIRE_OK(qv_builder_new(st, NULL, &b, NULL));
  qv_builder *ba = qv_builder_child(b, 0), *bm = qv_builder_child(b, 1);
  QV_REQUIRE_OK(qv_builder_append_i64(ba, 1, NULL));
  QV_REQUIRE_OK(qv_builder_append_str(qv_builder_child(bm, 0), "x", NULL));
  QV_REQUIRE_OK(qv_builder_append_i64(qv_builder_child(bm, 1), 5, NULL));
  QV_REQUIRE_OK(qv_builder_append_str(qv_builder_child(bm, 0), "y", NULL));
  QV_REQUIRE_OK(qv_builder_append_null(qv_builder_child(bm, 1), NULL));
  QV_REQUIRE_OK(qv_builder_list_append(bm, NULL));
  QV_REQUIRE_OK(qv_builder_struct_append(b, true, NULL));
  QV_REQUIRE_OK(qv_builder_append_null(b, NULL));
  qv_array *a;
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_STR_EQ(render(a, 0), "{a: 1, b: {\"x\": 5, \"y\": null}}");
  QV_CHECK_STR_EQ(render(a, 1), "null");
  qv_array_unref(a);
  qv_builder_free(b);

  qv_type *lt;
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LARGE_LIST, qv_type_int8(), NULL, &lt, NULL));
  QV_REQUIRE_OK(qv_builder_new(lt, NULL, &b, NULL));
  for (int i = 0; i < 13; i++) QV_REQUIRE_OK(qv_builder_append_i64(qv_builder_child(b, 0), i, NULL));
  QV_REQUIRE_OK(qv_builder_list_append(b, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_STR_EQ(render(a, 0), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]");
  qv_table *unused = NULL;
  (void)unused;
  qv_array_unref(a);
  qv_builder_free(b);
  qv_type_unref(lt);

  /* dictionary and REE render decoded values */
  qv_type *dt, *rt;
  QV_REQUIRE_OK(qv_type_dictionary(qv_type_int8(), qv_type_utf8(), false, NULL, &dt, NULL));
  QV_REQUIRE_OK(qv_builder_new(dt, NULL, &b, NULL));
  QV_REQUIRE_OK(qv_builder_append_str(b, "red", NULL));
  QV_REQUIRE_OK(qv_builder_append_null(b, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_STR_EQ(render(a, 0), "\"red\"");
  QV_CHECK_STR_EQ(render(a, 1), "null");
  qv_array_unref(a);
  qv_builder_free(b);
  QV_REQUIRE_OK(qv_type_run_end_encoded(qv_type_int32(), qv_type_float32(), NULL, &rt, NULL));
  QV_REQUIRE_OK(qv_builder_new(rt, NULL, &b, NULL));
  QV_REQUIRE_OK(qv_builder_append_f64(qv_builder_child(b, 1), 0.5, NULL));
  QV_REQUIRE_OK(qv_builder_ree_append_run(b, 2, NULL));
  QV_REQUIRE_OK(qv_builder_append_nulls(b, 1, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_STR_EQ(render(a, 1), "0.5");
  QV_CHECK_STR_EQ(render(a, 2), "null");
  qv_array_unref(a);
  qv_builder_free(b);
  qv_type_unref(dt);
  qv_type_unref(rt);
  qv_type_unref(st);
  qv_type_unref(map);
  qv_field_unref(k);
  qv_field_unref(v);
  qv_field_unref(fa);
  qv_field_unref(fb);
}

static qv_batch *small_batch(void) {
  qv_type *tags, *ts, *dec;
  if (qv_type_list_of(QV_TYPE_LIST, qv_type_utf8(), NULL, &tags, NULL) ||
      qv_type_timestamp(QV_TIME_MILLI, "UTC", NULL, &ts, NULL) ||
      qv_type_decimal(128, 10, 2, NULL, &dec, NULL))
    abort();
  const qv_type *types[5] = {qv_type_int64(), qv_type_utf8(), tags, ts, dec};
  const char *names[5] = {"id", "name", "tags", "ts", "price"};
  qv_field *f[5];
  qv_builder *b[5];
  for (int i = 0; i < 5; i++) {
    if (qv_field_new(names[i], types[i], i != 0, NULL, NULL, &f[i], NULL)) abort();
    if (qv_builder_new(types[i], NULL, &b[i], NULL)) abort();
  }
  for (int i = 1; i <= 3; i++) (void)qv_builder_append_i64(b[0], i, NULL);
  (void)qv_builder_append_str(b[1], "a\tb", NULL);
  (void)qv_builder_append_null(b[1], NULL);
  (void)qv_builder_append_str(b[1], "h\xc3\xa9llo", NULL);
  (void)qv_builder_append_str(qv_builder_child(b[2], 0), "x", NULL);
  (void)qv_builder_append_null(qv_builder_child(b[2], 0), NULL);
  (void)qv_builder_list_append(b[2], NULL);
  (void)qv_builder_list_append(b[2], NULL);
  (void)qv_builder_append_null(b[2], NULL);
  (void)qv_builder_append_i64(b[3], 0, NULL);
  (void)qv_builder_append_i64(b[3], 1500, NULL);
  (void)qv_builder_append_null(b[3], NULL);
  (void)qv_builder_append_i64(b[4], 12345, NULL);
  (void)qv_builder_append_i64(b[4], -5, NULL);
  (void)qv_builder_append_null(b[4], NULL);
  qv_array *cols[5];
  for (int i = 0; i < 5; i++) {
    if (qv_builder_finish(b[i], &cols[i], NULL)) abort();
    qv_builder_free(b[i]);
  }
  qv_schema *s;
  if (qv_schema_new(f, 5, NULL, NULL, &s, NULL)) abort();
  qv_batch *batch;
  if (qv_batch_new(s, 3, cols, 5, NULL, &batch, NULL)) abort();
  qv_schema_unref(s);
  for (int i = 0; i < 5; i++) qv_field_unref(f[i]);
  qv_type_unref(tags);
  qv_type_unref(ts);
  qv_type_unref(dec);
  return batch;
}

static const char *expected_small =
    "id     name     tags              ts                        price\n"
    "int64  utf8     list<item: utf8>  timestamp[ms, tz=UTC]     decimal128(10, 2)\n"
    "─────  ───────  ────────────────  ────────────────────────  ─────────────────\n"
    "1      \"a\\tb\"   [\"x\", null]       1970-01-01T00:00:00.000Z  123.45\n"
    "2      null     []                1970-01-01T00:00:01.500Z  -0.05\n"
    "3      \"héllo\"  null              null                      null\n"
    "3 rows, 5 columns\n";

static void test_batch_pretty_exact(void) {
  qv_batch *b = small_batch();
  char *s = NULL;
  QV_REQUIRE_OK(qv_batch_pretty_string(b, NULL, NULL, &s, NULL));
  QV_CHECK_STR_EQ(s, expected_small);
  qv_mem_strfree(NULL, s);
  /* through a FILE too */
  FILE *f = tmpfile();
  QV_REQUIRE(f);
  QV_REQUIRE_OK(qv_batch_pretty(b, f, NULL, NULL));
  rewind(f);
  char buf[2048] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  QV_CHECK_UINT_EQ(n, strlen(expected_small));
  QV_CHECK_STR_EQ(buf, expected_small);
  /* a table of two batches prints the same rows */
  qv_table *t;
  qv_batch *p1, *p2;
  QV_REQUIRE_OK(qv_table_new(b->schema, NULL, &t, NULL));
  QV_REQUIRE_OK(qv_batch_slice(b, 0, 1, &p1, NULL));
  QV_REQUIRE_OK(qv_batch_slice(b, 1, 2, &p2, NULL));
  QV_REQUIRE_OK(qv_table_append_batch(t, p1, NULL));
  QV_REQUIRE_OK(qv_table_append_batch(t, p2, NULL));
  QV_REQUIRE_OK(qv_table_pretty_string(t, NULL, NULL, &s, NULL));
  QV_CHECK_STR_EQ(s, expected_small);
  qv_mem_strfree(NULL, s);
  qv_batch_unref(p1);
  qv_batch_unref(p2);
  qv_table_free(t);
  qv_batch_unref(b);
}

static void test_head_tail_and_truncation(void) {
  qv_field *f[2];
  QV_REQUIRE_OK(qv_field_new("v", qv_type_int64(), true, NULL, NULL, &f[0], NULL));
  QV_REQUIRE_OK(qv_field_new("s", qv_type_utf8(), true, NULL, NULL, &f[1], NULL));
  qv_schema *sc;
  QV_REQUIRE_OK(qv_schema_new(f, 2, NULL, NULL, &sc, NULL));
  qv_builder *b0, *b1;
  QV_REQUIRE_OK(qv_builder_new(qv_type_int64(), NULL, &b0, NULL));
  QV_REQUIRE_OK(qv_builder_new(qv_type_utf8(), NULL, &b1, NULL));
  for (int i = 0; i < 30; i++) {
    QV_REQUIRE_OK(qv_builder_append_i64(b0, i, NULL));
    QV_REQUIRE_OK(qv_builder_append_str(b1, i == 29 ? "abcdefghijklmnop" : "é", NULL));
  }
  qv_array *cols[2];
  QV_REQUIRE_OK(qv_builder_finish(b0, &cols[0], NULL));
  QV_REQUIRE_OK(qv_builder_finish(b1, &cols[1], NULL));
  qv_batch *batch;
  QV_REQUIRE_OK(qv_batch_new(sc, 30, cols, 2, NULL, &batch, NULL));
  qv_pretty_options o = qv_pretty_options_default();
  o.head_rows = 2;
  o.tail_rows = 1;
  o.show_types = false;
  o.show_row_count = false;
  o.max_width = 8;
  char *s;
  QV_REQUIRE_OK(qv_batch_pretty_string(batch, &o, NULL, &s, NULL));
  QV_CHECK_STR_EQ(s,
                  "v   s\n"
                  "──  ────────\n"
                  "0   \"é\"\n"
                  "1   \"é\"\n"
                  "…   …\n"
                  "29  \"abcdef…\n");
  qv_mem_strfree(NULL, s);
  o.show_row_count = true;
  o.head_rows = 0;
  o.tail_rows = 0;
  QV_REQUIRE_OK(qv_batch_pretty_string(batch, &o, NULL, &s, NULL));
  QV_CHECK_STR_EQ(s, "v  s\n─  ─\n…  …\n30 rows, 2 columns\n");
  qv_mem_strfree(NULL, s);
  qv_batch_unref(batch);
  qv_schema_unref(sc);
  qv_field_unref(f[0]);
  qv_field_unref(f[1]);
  qv_builder_free(b0);
  qv_builder_free(b1);
}

static qv_status pretty_under(const qv_allocator *a, void *ctx) {
  char *s = NULL;
  QV_TRY(qv_batch_pretty_string(ctx, NULL, a, &s, NULL));
  qv_status r = strcmp(s, expected_small) == 0 ? QV_OK : QV_E_INVALID;
  qv_mem_strfree(a, s);
  return r;
}

static void test_pretty_alloc_failures(void) {
  qv_batch *b = small_batch();
  QV_CHECK(qv_test_each_alloc_failure(pretty_under, b, "pretty") >= 2);
  qv_batch_unref(b);
}

QV_TEST_MAIN(QV_CASE(test_scalars), QV_CASE(test_nested_values), QV_CASE(test_batch_pretty_exact),
             QV_CASE(test_head_tail_and_truncation), QV_CASE(test_pretty_alloc_failures))
