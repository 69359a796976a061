/* test_type.c — qv_type constructors, rendering, equality, layout facts; qv_field with metadata
 * and extension helpers; qv_schema rendering/equality; allocation failure in type building. */
#include "qv_test.h"

static const char *str_of(const qv_type *t) {
  static char buf[512];
  qv_type_to_string(t, buf, sizeof buf);
  return buf;
}

static qv_field *mkfield(const char *name, const qv_type *t, bool nullable) {
  qv_field *f = NULL;
  if (qv_field_new(name, t, nullable, NULL, NULL, &f, NULL) != QV_OK) return NULL;
  return f;
}

static void test_primitives(void) {
  QV_CHECK_STR_EQ(str_of(qv_type_int32()), "int32");
  QV_CHECK_STR_EQ(str_of(qv_type_utf8()), "utf8");
  QV_CHECK_STR_EQ(str_of(qv_type_large_utf8()), "large_utf8");
  QV_CHECK_STR_EQ(str_of(qv_type_float16()), "halffloat");
  QV_CHECK_STR_EQ(str_of(qv_type_date32()), "date32[day]");
  QV_CHECK_STR_EQ(str_of(qv_type_na()), "null");
  QV_CHECK_STR_EQ(str_of(qv_type_interval_month_day_nano()), "month_day_nano_interval");
  QV_CHECK(qv_type_primitive(QV_TYPE_INT64) == qv_type_int64());
  QV_CHECK(qv_type_primitive(QV_TYPE_LIST) == NULL);
  QV_CHECK(qv_type_primitive(QV_TYPE_TIMESTAMP) == NULL);
  /* singletons: ref/unref are no-ops */
  qv_type *t = qv_type_ref(qv_type_int8());
  qv_type_unref(t);
  qv_type_unref(t);
  QV_CHECK_INT_EQ(qv_type_int8()->id, QV_TYPE_INT8);
  QV_CHECK_INT_EQ(qv_type_bit_width(qv_type_bool()), 1);
  QV_CHECK_INT_EQ(qv_type_bit_width(qv_type_uint16()), 16);
  QV_CHECK_INT_EQ(qv_type_bit_width(qv_type_utf8()), 0);
  QV_CHECK_INT_EQ(qv_type_layout_buffers(qv_type_utf8()), 3);
  QV_CHECK_INT_EQ(qv_type_layout_buffers(qv_type_na()), 0);
  QV_CHECK_INT_EQ(qv_type_layout_buffers(qv_type_utf8_view()), 2);
  QV_CHECK(qv_type_id_is_integer(QV_TYPE_UINT64));
  QV_CHECK(!qv_type_id_is_integer(QV_TYPE_BOOL));
  QV_CHECK(qv_type_id_is_string(QV_TYPE_STRING_VIEW));
  QV_CHECK(qv_type_id_is_nested(QV_TYPE_RUN_END_ENCODED));
  QV_CHECK(!qv_type_id_is_nested(QV_TYPE_DICTIONARY));
  QV_CHECK_STR_EQ(qv_type_id_name((qv_type_id)999), "?");
}

static void test_parameterised(void) {
  qv_type *t;
  qv_error err;
  QV_REQUIRE_OK(qv_type_timestamp(QV_TIME_MILLI, "UTC", NULL, &t, NULL));
  QV_CHECK_STR_EQ(str_of(t), "timestamp[ms, tz=UTC]");
  QV_CHECK_INT_EQ(qv_type_bit_width(t), 64);
  qv_type_unref(t);
  QV_REQUIRE_OK(qv_type_timestamp(QV_TIME_NANO, NULL, NULL, &t, NULL));
  QV_CHECK_STR_EQ(str_of(t), "timestamp[ns]");
  qv_type_unref(t);
  QV_REQUIRE_OK(qv_type_time32(QV_TIME_MILLI, NULL, &t, NULL));
  QV_CHECK_STR_EQ(str_of(t), "time32[ms]");
  qv_type_unref(t);
  QV_CHECK_STATUS_E(qv_type_time32(QV_TIME_MICRO, NULL, &t, &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "time32");
  QV_CHECK_STATUS(qv_type_time64(QV_TIME_SECOND, NULL, &t, NULL), QV_E_INVALID);
  QV_REQUIRE_OK(qv_type_duration(QV_TIME_NANO, NULL, &t, NULL));
  QV_CHECK_STR_EQ(str_of(t), "duration[ns]");
  qv_type_unref(t);
  QV_REQUIRE_OK(qv_type_decimal(128, 10, 2, NULL, &t, NULL));
  QV_CHECK_STR_EQ(str_of(t), "decimal128(10, 2)");
  QV_CHECK_INT_EQ(t->byte_width, 16);
  QV_CHECK_INT_EQ(qv_type_bit_width(t), 128);
  qv_type_unref(t);
  QV_CHECK_STATUS_E(qv_type_decimal(128, 39, 0, NULL, &t, &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "precision 39");
  QV_CHECK_STATUS(qv_type_decimal(96, 5, 0, NULL, &t, NULL), QV_E_INVALID);
  QV_REQUIRE_OK(qv_type_fixed_size_binary(16, NULL, &t, NULL));
  QV_CHECK_STR_EQ(str_of(t), "fixed_size_binary[16]");
  QV_CHECK_INT_EQ(qv_type_bit_width(t), 128);
  qv_type_unref(t);
  QV_CHECK_STATUS(qv_type_fixed_size_binary(-1, NULL, &t, NULL), QV_E_INVALID);
}

static void test_nested_rendering(void) {
  qv_type *list, *st, *map, *dict, *ree, *un, *fsl;
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST, qv_type_utf8(), NULL, &list, NULL));
  QV_CHECK_STR_EQ(str_of(list), "list<item: utf8>");
  QV_CHECK_STR_EQ(list->children[0]->name, "item");
  QV_CHECK(list->children[0]->nullable);

  qv_field *fa = mkfield("a", qv_type_int32(), false), *fb = mkfield("b", list, true);
  qv_field *fs[2] = {fa, fb};
  QV_REQUIRE_OK(qv_type_struct(fs, 2, NULL, &st, NULL));
  QV_CHECK_STR_EQ(str_of(st), "struct<a: int32 not null, b: list<item: utf8>>");

  qv_field *k = mkfield("key", qv_type_utf8(), false), *v = mkfield("value", qv_type_int64(), true);
  QV_REQUIRE_OK(qv_type_map(k, v, false, NULL, &map, NULL));
  QV_CHECK_STR_EQ(str_of(map), "map<utf8, int64>");
  QV_CHECK_STR_EQ(map->children[0]->name, "entries");
  QV_CHECK(!map->children[0]->nullable);
  qv_error err;
  QV_CHECK_STATUS_E(qv_type_map(v, k, false, NULL, &dict, &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "must not be nullable");

  QV_REQUIRE_OK(qv_type_dictionary(qv_type_int32(), qv_type_utf8(), false, NULL, &dict, NULL));
  QV_CHECK_STR_EQ(str_of(dict), "dictionary<values=utf8, indices=int32, ordered=false>");
  QV_CHECK_INT_EQ(qv_type_layout_buffers(dict), 2);
  QV_CHECK_STATUS(qv_type_dictionary(qv_type_utf8(), qv_type_utf8(), false, NULL, &ree, NULL),
                  QV_E_INVALID);

  QV_REQUIRE_OK(qv_type_run_end_encoded(qv_type_int32(), qv_type_utf8(), NULL, &ree, NULL));
  QV_CHECK_STR_EQ(str_of(ree), "run_end_encoded<run_ends: int32, values: utf8>");
  QV_CHECK_STATUS(qv_type_run_end_encoded(qv_type_int8(), qv_type_utf8(), NULL, &un, NULL),
                  QV_E_INVALID);

  qv_field *ua = mkfield("a", qv_type_int32(), true), *ub = mkfield("b", qv_type_utf8(), true);
  qv_field *us[2] = {ua, ub};
  int8_t codes[2] = {5, 2};
  QV_REQUIRE_OK(qv_type_union(QV_UNION_DENSE, us, codes, 2, NULL, &un, NULL));
  QV_CHECK_STR_EQ(str_of(un), "dense_union<a: int32=5, b: utf8=2>");
  QV_CHECK_INT_EQ(qv_type_union_child_index(un, 5), 0);
  QV_CHECK_INT_EQ(qv_type_union_child_index(un, 2), 1);
  QV_CHECK_INT_EQ(qv_type_union_child_index(un, 0), -1);
  QV_CHECK(!qv_type_has_validity(un));
  int8_t dup[2] = {1, 1};
  qv_type *bad;
  QV_CHECK_STATUS(qv_type_union(QV_UNION_SPARSE, us, dup, 2, NULL, &bad, NULL), QV_E_INVALID);

  qv_field *item = mkfield("item", qv_type_int32(), true);
  QV_REQUIRE_OK(qv_type_fixed_size_list(item, 3, NULL, &fsl, NULL));
  QV_CHECK_STR_EQ(str_of(fsl), "fixed_size_list<item: int32>[3]");

  /* truncation is snprintf-like */
  char small[8];
  size_t need = qv_type_to_string(st, small, sizeof small);
  QV_CHECK_UINT_EQ(need, strlen("struct<a: int32 not null, b: list<item: utf8>>"));
  QV_CHECK_STR_EQ(small, "struct<");

  qv_field *fields[] = {fa, fb, k, v, ua, ub, item};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) qv_field_unref(fields[i]);
  qv_type *types[] = {list, st, map, dict, ree, un, fsl};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) qv_type_unref(types[i]);
}

static void test_equality(void) {
  qv_type *a, *b, *c, *d;
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST, qv_type_utf8(), NULL, &a, NULL));
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST, qv_type_utf8(), NULL, &b, NULL));
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LARGE_LIST, qv_type_utf8(), NULL, &c, NULL));
  qv_field *f = mkfield("element", qv_type_utf8(), true);
  QV_REQUIRE_OK(qv_type_list(f, NULL, &d, NULL));
  QV_CHECK(a != b && qv_type_equal(a, b));
  QV_CHECK(!qv_type_equal(a, c));
  QV_CHECK(!qv_type_equal(a, d)); /* child name differs */
  QV_CHECK(!qv_type_equal(a, NULL));
  qv_type_unref(a);
  qv_type_unref(b);
  qv_type_unref(c);
  qv_type_unref(d);
  qv_field_unref(f);
  QV_REQUIRE_OK(qv_type_timestamp(QV_TIME_MILLI, "UTC", NULL, &a, NULL));
  QV_REQUIRE_OK(qv_type_timestamp(QV_TIME_MILLI, "UTC", NULL, &b, NULL));
  QV_REQUIRE_OK(qv_type_timestamp(QV_TIME_MILLI, NULL, NULL, &c, NULL));
  QV_REQUIRE_OK(qv_type_timestamp(QV_TIME_MICRO, "UTC", NULL, &d, NULL));
  QV_CHECK(qv_type_equal(a, b));
  QV_CHECK(!qv_type_equal(a, c));
  QV_CHECK(!qv_type_equal(a, d));
  qv_type_unref(a);
  qv_type_unref(b);
  qv_type_unref(c);
  qv_type_unref(d);
  QV_REQUIRE_OK(qv_type_decimal(128, 10, 2, NULL, &a, NULL));
  QV_REQUIRE_OK(qv_type_decimal(128, 10, 3, NULL, &b, NULL));
  QV_CHECK(!qv_type_equal(a, b));
  qv_type_unref(a);
  qv_type_unref(b);
}

static void test_fields_and_metadata(void) {
  qv_metadata md;
  qv_metadata_init(&md, NULL);
  QV_REQUIRE_OK(qv_metadata_append(&md, QV_EXTENSION_NAME_KEY, "arrow.uuid", NULL));
  QV_REQUIRE_OK(qv_metadata_append(&md, QV_EXTENSION_METADATA_KEY, "", NULL));
  QV_REQUIRE_OK(qv_metadata_set(&md, "k", "1", NULL));
  QV_REQUIRE_OK(qv_metadata_set(&md, "k", "2", NULL));
  QV_CHECK_INT_EQ(md.n, 3);
  QV_CHECK_STR_EQ(qv_metadata_get(&md, "k"), "2");
  QV_CHECK(qv_metadata_get(&md, "nope") == NULL);
  qv_type *fsb;
  QV_REQUIRE_OK(qv_type_fixed_size_binary(16, NULL, &fsb, NULL));
  qv_field *f;
  QV_REQUIRE_OK(qv_field_new("id", fsb, false, &md, NULL, &f, NULL));
  qv_type_unref(fsb); /* the field holds its own reference */
  QV_CHECK_STR_EQ(qv_field_extension_name(f), "arrow.uuid");
  QV_CHECK_STR_EQ(qv_field_extension_metadata(f), "");
  QV_CHECK(qv_metadata_equal(&md, &f->metadata));
  QV_CHECK_INT_EQ(f->dictionary_id, -1);
  char buf[128];
  qv_field_to_string(f, buf, sizeof buf);
  QV_CHECK_STR_EQ(buf, "id: fixed_size_binary[16] not null");
  qv_field *g, *h;
  QV_REQUIRE_OK(qv_field_with_name(f, "uuid", NULL, &g, NULL));
  QV_CHECK_STR_EQ(g->name, "uuid");
  QV_CHECK(qv_type_equal(g->type, f->type));
  QV_CHECK(!qv_field_equal(f, g));
  QV_REQUIRE_OK(qv_field_with_dictionary_id(f, 7, NULL, &h, NULL));
  QV_CHECK_INT_EQ(h->dictionary_id, 7);
  QV_CHECK(qv_field_equal(f, h));
  qv_metadata_reset(&md);
  QV_CHECK(qv_metadata_equal(&md, NULL));
  qv_field_unref(f);
  qv_field_unref(g);
  qv_field_unref(h);
  qv_error err;
  QV_CHECK_STATUS_E(qv_field_new(NULL, qv_type_int8(), true, NULL, NULL, &f, &err), QV_E_INVALID,
                    &err);
}

static void test_schema(void) {
  qv_type *tags;
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST, qv_type_utf8(), NULL, &tags, NULL));
  qv_field *f[2] = {mkfield("id", qv_type_int64(), false), mkfield("tags", tags, true)};
  qv_metadata md;
  qv_metadata_init(&md, NULL);
  QV_REQUIRE_OK(qv_metadata_append(&md, "origin", "test", NULL));
  qv_schema *s, *s2;
  QV_REQUIRE_OK(qv_schema_new(f, 2, &md, NULL, &s, NULL));
  QV_REQUIRE_OK(qv_schema_new(f, 2, NULL, NULL, &s2, NULL));
  char buf[256];
  qv_schema_to_string(s, buf, sizeof buf);
  QV_CHECK_STR_EQ(buf, "id: int64 not null, tags: list<item: utf8>");
  qv_schema_to_string_multiline(s, buf, sizeof buf);
  QV_CHECK_STR_EQ(buf, "id: int64 not null\ntags: list<item: utf8>\n-- origin: test\n");
  QV_CHECK(qv_schema_equal(s, s2)); /* metadata ignored */
  QV_CHECK_INT_EQ(qv_schema_find(s, "tags"), 1);
  QV_CHECK_INT_EQ(qv_schema_find(s, "x"), -1);
  qv_schema *s3;
  QV_REQUIRE_OK(qv_schema_new(f, 1, NULL, NULL, &s3, NULL));
  QV_CHECK(!qv_schema_equal(s, s3));
  qv_schema_unref(s);
  qv_schema_unref(s2);
  qv_schema_unref(s3);
  qv_metadata_reset(&md);
  qv_field_unref(f[0]);
  qv_field_unref(f[1]);
  qv_type_unref(tags);
}

/* Builds list<struct<a: int32, b: map<utf8, timestamp[us, tz=UTC]>>> and a schema around it. */
static qv_status build_nested(const qv_allocator *a, void *ctx) {
  (void)ctx;
  qv_type *ts = NULL, *map = NULL, *st = NULL, *list = NULL;
  qv_field *k = NULL, *v = NULL, *fa = NULL, *fb = NULL, *top = NULL;
  qv_schema *s = NULL;
  qv_metadata md;
  qv_metadata_init(&md, a);
  qv_status r;
  QV_TRY_GOTO(r, qv_type_timestamp(QV_TIME_MICRO, "UTC", a, &ts, NULL), done);
  QV_TRY_GOTO(r, qv_field_new("key", qv_type_utf8(), false, NULL, a, &k, NULL), done);
  QV_TRY_GOTO(r, qv_field_new("value", ts, true, NULL, a, &v, NULL), done);
  QV_TRY_GOTO(r, qv_type_map(k, v, true, a, &map, NULL), done);
  QV_TRY_GOTO(r, qv_field_new("a", qv_type_int32(), true, NULL, a, &fa, NULL), done);
  QV_TRY_GOTO(r, qv_field_new("b", map, true, NULL, a, &fb, NULL), done);
  qv_field *fs[2] = {fa, fb};
  QV_TRY_GOTO(r, qv_type_struct(fs, 2, a, &st, NULL), done);
  QV_TRY_GOTO(r, qv_type_list_of(QV_TYPE_LIST, st, a, &list, NULL), done);
  QV_TRY_GOTO(r, qv_metadata_append(&md, "x", "y", NULL), done);
  QV_TRY_GOTO(r, qv_field_new("col", list, true, &md, a, &top, NULL), done);
  QV_TRY_GOTO(r, qv_schema_new(&top, 1, &md, a, &s, NULL), done);
  char buf[256];
  qv_schema_to_string(s, buf, sizeof buf);
  if (strcmp(buf, "col: list<item: struct<a: int32, b: map<utf8, timestamp[us, tz=UTC], "
                  "keys_sorted>>>") != 0) {
    QV__FAIL("unexpected rendering %s", buf);
  }
done:
  qv_schema_unref(s);
  qv_field_unref(top);
  qv_type_unref(list);
  qv_type_unref(st);
  qv_field_unref(fa);
  qv_field_unref(fb);
  qv_type_unref(map);
  qv_field_unref(k);
  qv_field_unref(v);
  qv_type_unref(ts);
  qv_metadata_reset(&md);
  return r;
}

static void test_alloc_failures(void) {
  size_t n = qv_test_each_alloc_failure(build_nested, NULL, "nested type");
  QV_CHECK(n > 10);
}

QV_TEST_MAIN(QV_CASE(test_primitives), QV_CASE(test_parameterised),
             QV_CASE(test_nested_rendering), QV_CASE(test_equality),
             QV_CASE(test_fields_and_metadata), QV_CASE(test_schema),
             QV_CASE(test_alloc_failures))
