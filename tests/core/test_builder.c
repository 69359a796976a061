/* test_builder.c — builders: misuse statuses, bulk appends, reuse after finish, view blocks,
 * the dictionary builder (dedupe, limits), append_array, and every allocation failing in turn
 * for flat and nested builders without leaks. */
#include "qv_test.h"

static void test_errors(void) {
  qv_builder *b;
  qv_error err;
  QV_REQUIRE_OK(qv_builder_new(qv_type_int8(), NULL, &b, NULL));
  QV_CHECK_STATUS_E(qv_builder_append_i64(b, 300, &err), QV_E_RANGE, &err);
  QV_CHECK_CONTAINS(err.message, "300 is out of range for int8");
  QV_CHECK_STATUS_E(qv_builder_append_str(b, "x", &err), QV_E_TYPE, &err);
  QV_CHECK_CONTAINS(err.message, "append_bytes is not supported by a builder of type int8");
  QV_CHECK_STATUS(qv_builder_append_u64(b, UINT64_MAX, NULL), QV_E_RANGE);
  QV_CHECK_STATUS(qv_builder_list_append(b, NULL), QV_E_TYPE);
  QV_CHECK_INT_EQ(qv_builder_length(b), 0); /* failed appends left nothing behind */
  QV_CHECK_OK(qv_builder_append_i64(b, -128, NULL));
  qv_array *a;
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_INT_EQ(a->length, 1);
  QV_CHECK_INT_EQ(qv_array_get_i64(a, 0), -128);
  qv_array_unref(a);
  qv_builder_free(b);

  qv_type *fsl;
  qv_field *item;
  QV_REQUIRE_OK(qv_field_new("item", qv_type_int32(), true, NULL, NULL, &item, NULL));
  QV_REQUIRE_OK(qv_type_fixed_size_list(item, 3, NULL, &fsl, NULL));
  QV_REQUIRE_OK(qv_builder_new(fsl, NULL, &b, NULL));
  QV_CHECK_OK(qv_builder_append_i64(qv_builder_child(b, 0), 1, NULL));
  QV_CHECK_STATUS_E(qv_builder_list_append(b, &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "child has 1 items, expected 3");
  QV_CHECK_OK(qv_builder_append_i64(qv_builder_child(b, 0), 2, NULL));
  QV_CHECK_OK(qv_builder_append_i64(qv_builder_child(b, 0), 3, NULL));
  QV_CHECK_OK(qv_builder_list_append(b, NULL));
  QV_CHECK_OK(qv_builder_append_null(b, NULL)); /* appends 3 null items itself */
  QV_CHECK_INT_EQ(qv_builder_length(qv_builder_child(b, 0)), 6);
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_FULL, NULL));
  QV_CHECK(qv_array_is_null(a, 1));
  QV_CHECK_INT_EQ(qv_array_get_i64(a->children[0], 2), 3);
  qv_array_unref(a);
  qv_builder_free(b);
  qv_type_unref(fsl);
  qv_field_unref(item);

  qv_type *ree;
  QV_REQUIRE_OK(qv_type_run_end_encoded(qv_type_int16(), qv_type_utf8(), NULL, &ree, NULL));
  QV_REQUIRE_OK(qv_builder_new(ree, NULL, &b, NULL));
  QV_CHECK(qv_builder_child(b, 0) == NULL);
  QV_CHECK_STATUS(qv_builder_ree_append_run(b, 3, NULL), QV_E_INVALID); /* no value */
  QV_CHECK_OK(qv_builder_append_str(qv_builder_child(b, 1), "a", NULL));
  QV_CHECK_STATUS(qv_builder_ree_append_run(b, 0, NULL), QV_E_INVALID);
  QV_CHECK_STATUS_E(qv_builder_ree_append_run(b, 40000, &err), QV_E_OVERFLOW, &err);
  QV_CHECK_OK(qv_builder_ree_append_run(b, 32767, NULL));
  QV_CHECK_OK(qv_builder_append_nulls(b, 0, NULL));
  QV_CHECK_STATUS(qv_builder_append_nulls(b, 1, NULL), QV_E_OVERFLOW);
  qv_builder_reset(b);
  QV_CHECK_OK(qv_builder_append_nulls(b, 4, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_INT_EQ(a->length, 4);
  QV_CHECK(qv_array_is_null(a, 3));
  QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_FULL, NULL));
  qv_array_unref(a);
  qv_builder_free(b);
  qv_type_unref(ree);
}

/* A length that would pass INT64_MAX is refused (null arrays need no memory to get there). */
static void test_length_limit(void) {
  qv_builder *b;
  qv_error err;
  QV_REQUIRE_OK(qv_builder_new(qv_type_na(), NULL, &b, NULL));
  QV_CHECK_OK(qv_builder_append_nulls(b, INT64_MAX - 1, NULL));
  QV_CHECK_OK(qv_builder_append_null(b, NULL));
  QV_CHECK_STATUS_E(qv_builder_append_nulls(b, 2, &err), QV_E_LIMIT, &err);
  QV_CHECK_CONTAINS(err.message, "beyond");
  QV_CHECK_INT_EQ(qv_builder_length(b), INT64_MAX);
  qv_array *a = NULL;
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  qv_builder_free(b);
  qv_array *two[2] = {a, a};
  qv_array *c = NULL;
  QV_CHECK_STATUS_E(qv_array_concat(two, 2, NULL, &c, &err), QV_E_LIMIT, &err);
  QV_CHECK(c == NULL);
  qv_array_unref(a);
}

static void test_bulk_and_reuse(void) {
  qv_builder *b;
  QV_REQUIRE_OK(qv_builder_new(qv_type_int32(), NULL, &b, NULL));
  int32_t vals[100];
  uint8_t valid[100];
  for (int i = 0; i < 100; i++) {
    vals[i] = i * 3;
    valid[i] = i % 7 != 0;
  }
  for (int round = 0; round < 3; round++) {
    QV_REQUIRE_OK(qv_builder_append_i64(b, -1, NULL));
    QV_REQUIRE_OK(qv_builder_append_values(b, vals, round == 1 ? NULL : valid, 100, NULL));
    qv_array *a;
    QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
    QV_CHECK_INT_EQ(qv_builder_length(b), 0);
    QV_CHECK_INT_EQ(a->length, 101);
    QV_CHECK_INT_EQ(qv_array_null_count(a), round == 1 ? 0 : 15);
    QV_CHECK(round != 1 || a->buffers[0].data == NULL);
    QV_CHECK_INT_EQ(qv_array_get_i64(a, 0), -1);
    for (int i = 0; i < 100; i++) {
      QV_CHECK_INT_EQ(qv_array_is_null(a, i + 1), round != 1 && i % 7 == 0);
      QV_CHECK_INT_EQ(qv_array_get_i64(a, i + 1), i * 3);
    }
    QV_CHECK_UINT_EQ((uintptr_t)a->buffers[1].data % 64, 0);
    QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_FULL, NULL));
    qv_array_unref(a);
  }
  qv_builder_free(b);
  /* bool bulk */
  QV_REQUIRE_OK(qv_builder_new(qv_type_bool(), NULL, &b, NULL));
  uint8_t bits[10] = {1, 0, 0, 1, 1, 0, 1, 0, 1, 1};
  QV_REQUIRE_OK(qv_builder_append_values(b, bits, valid, 10, NULL));
  qv_array *a;
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  for (int i = 1; i < 7; i++) QV_CHECK_INT_EQ(qv_array_get_bool(a, i), bits[i]);
  QV_CHECK(qv_array_is_null(a, 0) && qv_array_is_null(a, 7));
  qv_array_unref(a);
  qv_builder_free(b);
}

static void test_view_blocks(void) {
  qv_builder *b;
  QV_REQUIRE_OK(qv_builder_new(qv_type_utf8_view(), NULL, &b, NULL));
  char s[200];
  for (int i = 0; i < 20000; i++) {
    int n = snprintf(s, sizeof s, "%0*d", 13 + i % 150, i);
    if (i % 3 == 0) n = snprintf(s, sizeof s, "s%d", i % 1000);
    QV_REQUIRE_OK(qv_builder_append_bytes(b, s, (size_t)n, NULL));
  }
  qv_array *a;
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK(a->n_buffers > 3); /* more than one variadic block */
  qv_error err;
  QV_CHECK_OK_E(qv_array_validate(a, QV_VALIDATE_FULL, &err), &err);
  for (int i = 0; i < 20000; i++) {
    int n = snprintf(s, sizeof s, "%0*d", 13 + i % 150, i);
    if (i % 3 == 0) n = snprintf(s, sizeof s, "s%d", i % 1000);
    const uint8_t *p;
    size_t len;
    qv_array_get_bytes(a, i, &p, &len);
    if (len != (size_t)n || memcmp(p, s, len) != 0) {
      QV__FAIL("view %d differs", i);
      break;
    }
  }
  qv_array_unref(a);
  qv_builder_free(b);
}

static void test_dictionary_builder(void) {
  qv_type *t;
  QV_REQUIRE_OK(qv_type_dictionary(qv_type_int8(), qv_type_utf8(), false, NULL, &t, NULL));
  qv_builder *b;
  QV_REQUIRE_OK(qv_builder_new(t, NULL, &b, NULL));
  char s[32];
  for (int i = 0; i < 1000; i++) {
    snprintf(s, sizeof s, "w%d", (i * 37) % 128);
    QV_REQUIRE_OK(qv_builder_append_str(b, s, NULL));
  }
  QV_CHECK_INT_EQ(qv_builder_dict_size(b), 128);
  qv_error err;
  QV_CHECK_STATUS_E(qv_builder_append_str(b, "one too many", &err), QV_E_LIMIT, &err);
  QV_CHECK_CONTAINS(err.message, "int8");
  QV_CHECK_OK(qv_builder_append_str(b, "w5", NULL)); /* existing values still fine */
  QV_CHECK_OK(qv_builder_append_null(b, NULL));
  QV_CHECK_STATUS(qv_builder_append_i64(b, 5, NULL), QV_E_TYPE);
  qv_array *a;
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_INT_EQ(a->length, 1002);
  QV_CHECK_INT_EQ(a->dictionary->length, 128);
  QV_CHECK_OK_E(qv_array_validate(a, QV_VALIDATE_FULL, &err), &err);
  for (int i = 0; i < 1000; i++) {
    snprintf(s, sizeof s, "w%d", (i * 37) % 128);
    const uint8_t *p;
    size_t n;
    qv_array_get_bytes(a->dictionary, qv_array_dict_index(a, i), &p, &n);
    QV_CHECK(n == strlen(s) && memcmp(p, s, n) == 0);
  }
  QV_CHECK(qv_array_is_null(a, 1001));
  /* first-seen order */
  QV_CHECK_INT_EQ(qv_array_dict_index(a, 0), 0);
  QV_CHECK_INT_EQ(qv_array_dict_index(a, 1), 1);
  /* reused builder starts a new dictionary */
  QV_REQUIRE_OK(qv_builder_append_str(b, "fresh", NULL));
  qv_array *a2;
  QV_REQUIRE_OK(qv_builder_finish(b, &a2, NULL));
  QV_CHECK_INT_EQ(a2->dictionary->length, 1);
  qv_array_unref(a2);
  /* re-encoding through append_array unifies dictionaries */
  qv_array *parts[2] = {a, a}, *c;
  QV_REQUIRE_OK(qv_array_concat(parts, 2, NULL, &c, NULL));
  QV_CHECK_INT_EQ(c->dictionary->length, 128);
  QV_CHECK_INT_EQ(c->length, 2004);
  qv_array_unref(c);
  qv_array_unref(a);
  qv_builder_free(b);
  qv_type_unref(t);
  /* numeric dictionary: values -> unique */
  QV_REQUIRE_OK(qv_type_dictionary(qv_type_uint32(), qv_type_float64(), false, NULL, &t, NULL));
  QV_REQUIRE_OK(qv_builder_new(t, NULL, &b, NULL));
  for (int i = 0; i < 10000; i++) QV_REQUIRE_OK(qv_builder_append_f64(b, (double)(i % 333) / 4, NULL));
  QV_CHECK_INT_EQ(qv_builder_dict_size(b), 333);
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_DBL_EQ(qv_array_get_f64(a->dictionary, qv_array_dict_index(a, 9999)), (9999 % 333) / 4.0);
  qv_array_unref(a);
  qv_builder_free(b);
  qv_type_unref(t);
}

static void test_append_array_type_mismatch(void) {
  qv_builder *b;
  QV_REQUIRE_OK(qv_builder_new(qv_type_int32(), NULL, &b, NULL));
  qv_array *a;
  QV_REQUIRE_OK(qv_array_new_nulls(qv_type_int64(), 3, NULL, &a, NULL));
  qv_error err;
  QV_CHECK_STATUS_E(qv_builder_append_array(b, a, 0, 3, &err), QV_E_TYPE, &err);
  QV_CHECK_CONTAINS(err.message, "int64");
  qv_array_unref(a);
  QV_REQUIRE_OK(qv_array_new_nulls(qv_type_int32(), 3, NULL, &a, NULL));
  QV_CHECK_STATUS(qv_builder_append_array(b, a, 2, 2, NULL), QV_E_RANGE);
  QV_CHECK_OK(qv_builder_append_array(b, a, 1, 2, NULL));
  QV_CHECK_INT_EQ(qv_builder_length(b), 2);
  qv_array_unref(a);
  qv_builder_free(b);
}

/* dictionary<int8, list<int32>>: no builder (values cannot be hashed), but concat and
 * all-null arrays still work */
static void test_unhashable_dictionary(void) {
  qv_type *lt, *dt;
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST, qv_type_int32(), NULL, &lt, NULL));
  QV_REQUIRE_OK(qv_type_dictionary(qv_type_int8(), lt, false, NULL, &dt, NULL));
  qv_builder *b;
  qv_error err;
  QV_CHECK_STATUS_E(qv_builder_new(dt, NULL, &b, &err), QV_E_UNSUPPORTED, &err);
  QV_CHECK_CONTAINS(err.message, "cannot be hashed");
  /* dictionary [[0], [1, 2], []] ; indices [2, null, 1, 0] */
  qv_array *dict, *idx;
  QV_REQUIRE_OK(qv_builder_new(lt, NULL, &b, NULL));
  QV_REQUIRE_OK(qv_builder_append_i64(qv_builder_child(b, 0), 0, NULL));
  QV_REQUIRE_OK(qv_builder_list_append(b, NULL));
  QV_REQUIRE_OK(qv_builder_append_i64(qv_builder_child(b, 0), 1, NULL));
  QV_REQUIRE_OK(qv_builder_append_i64(qv_builder_child(b, 0), 2, NULL));
  QV_REQUIRE_OK(qv_builder_list_append(b, NULL));
  QV_REQUIRE_OK(qv_builder_list_append(b, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &dict, NULL));
  qv_builder_free(b);
  QV_REQUIRE_OK(qv_builder_new(qv_type_int8(), NULL, &b, NULL));
  QV_REQUIRE_OK(qv_builder_append_i64(b, 2, NULL));
  QV_REQUIRE_OK(qv_builder_append_null(b, NULL));
  QV_REQUIRE_OK(qv_builder_append_i64(b, 1, NULL));
  QV_REQUIRE_OK(qv_builder_append_i64(b, 0, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &idx, NULL));
  qv_builder_free(b);
  qv_buffer bufs[2];
  qv_buffer_ref(&idx->buffers[0], &bufs[0]);
  qv_buffer_ref(&idx->buffers[1], &bufs[1]);
  qv_array *a, *c, *s;
  QV_REQUIRE_OK(qv_array_new(dt, 4, 0, -1, 2, bufs, 0, NULL, dict, NULL, &a, NULL));
  qv_array_unref(idx);
  qv_array *parts[2] = {a, a};
  QV_REQUIRE_OK(qv_array_concat(parts, 2, NULL, &c, &err));
  QV_CHECK_INT_EQ(c->length, 8);
  QV_CHECK_INT_EQ(c->dictionary->length, 6);
  QV_CHECK_OK_E(qv_array_validate(c, QV_VALIDATE_FULL, &err), &err);
  QV_CHECK_INT_EQ(qv_array_dict_index(c, 4), 5); /* shifted by the first dictionary */
  QV_REQUIRE_OK(qv_array_slice(c, 4, 4, &s, NULL));
  QV_CHECK(qv_array_equal(s, a, &err));
  char buf[64];
  qv_array_value_to_string(s, 2, buf, sizeof buf);
  QV_CHECK_STR_EQ(buf, "[1, 2]");
  qv_array_unref(s);
  qv_array_unref(c);
  QV_REQUIRE_OK(qv_array_new_nulls(dt, 3, NULL, &c, NULL));
  QV_CHECK_INT_EQ(qv_array_null_count(c), 3);
  QV_CHECK_OK(qv_array_validate(c, QV_VALIDATE_FULL, NULL));
  qv_array_unref(c);
  qv_array_unref(a);
  qv_type_unref(dt);
  qv_type_unref(lt);
}

/* ---- allocation failure at every point --------------------------------------------------- */

typedef struct fail_ctx {
  const qv_type *type;
  int which;
} fail_ctx;

static qv_status fill_nested(qv_builder *b, const qv_type *t, int64_t k) {
  char s[64];
  if (k % 5 == 3) return qv_builder_append_null(b, NULL);
  switch (t->id) {
    case QV_TYPE_INT64: case QV_TYPE_INT32: return qv_builder_append_i64(b, k, NULL);
    case QV_TYPE_STRING: case QV_TYPE_STRING_VIEW: case QV_TYPE_BINARY:
      snprintf(s, sizeof s, k % 2 ? "short%lld" : "a-longer-string-%lld", (long long)k);
      return qv_builder_append_str(b, s, NULL);
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_LIST_VIEW:
      for (int64_t j = 0; j < k % 3; j++)
        QV_TRY(fill_nested(qv_builder_child(b, 0), t->children[0]->type, k * 3 + j));
      return qv_builder_list_append(b, NULL);
    case QV_TYPE_STRUCT:
      for (int32_t c = 0; c < t->n_children; c++)
        QV_TRY(fill_nested(qv_builder_child(b, c), t->children[c]->type, k + c));
      return qv_builder_struct_append(b, k % 7 != 1, NULL);
    case QV_TYPE_MAP:
      for (int64_t j = 0; j < k % 3; j++) {
        snprintf(s, sizeof s, "k%lld", (long long)j);
        QV_TRY(qv_builder_append_str(qv_builder_child(b, 0), s, NULL));
        QV_TRY(fill_nested(qv_builder_child(b, 1), t->children[0]->type->children[1]->type, k + j));
      }
      return qv_builder_list_append(b, NULL);
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION:
      QV_TRY(fill_nested(qv_builder_child(b, (int32_t)(k % 2)), t->children[k % 2]->type, k));
      return qv_builder_union_append(b, t->type_codes[k % 2], NULL);
    case QV_TYPE_DICTIONARY:
      snprintf(s, sizeof s, "d%lld", (long long)(k % 6));
      return qv_builder_append_str(b, s, NULL);
    case QV_TYPE_RUN_END_ENCODED:
      QV_TRY(fill_nested(qv_builder_child(b, 1), t->children[1]->type, k / 2));
      return qv_builder_ree_append_run(b, 1 + k % 3, NULL);
    default: return qv_builder_append_null(b, NULL);
  }
}

static qv_status build_under(const qv_allocator *a, void *vctx) {
  fail_ctx *ctx = vctx;
  qv_builder *b;
  QV_TRY(qv_builder_new(ctx->type, a, &b, NULL));
  qv_status s = QV_OK;
  qv_array *arr = NULL, *arr2 = NULL, *c = NULL;
  for (int64_t k = 0; k < 60 && s == QV_OK; k++) s = fill_nested(b, ctx->type, k);
  if (s == QV_OK) s = qv_builder_finish(b, &arr, NULL);
  /* reuse after finish, then concatenate */
  for (int64_t k = 0; k < 10 && s == QV_OK; k++) s = fill_nested(b, ctx->type, k + 100);
  if (s == QV_OK) s = qv_builder_finish(b, &arr2, NULL);
  if (s == QV_OK) {
    qv_array *parts[2] = {arr, arr2};
    s = qv_array_concat(parts, 2, a, &c, NULL);
  }
  if (s == QV_OK) s = qv_array_validate(c, QV_VALIDATE_FULL, NULL);
  if (s == QV_OK && c->length != arr->length + arr2->length) s = QV_E_INVALID;
  qv_array_unref(c);
  qv_array_unref(arr);
  qv_array_unref(arr2);
  qv_builder_free(b);
  return s;
}

static void test_alloc_failures(void) {
  qv_type *ts[12];
  int n = 0;
  qv_field *f[3];
  ts[n++] = qv_type_ref(qv_type_int64());
  ts[n++] = qv_type_ref(qv_type_utf8());
  ts[n++] = qv_type_ref(qv_type_utf8_view());
  qv_type *lu, *st, *t;
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST, qv_type_utf8(), NULL, &lu, NULL));
  QV_REQUIRE_OK(qv_field_new("a", qv_type_int32(), true, NULL, NULL, &f[0], NULL));
  QV_REQUIRE_OK(qv_field_new("b", lu, true, NULL, NULL, &f[1], NULL));
  QV_REQUIRE_OK(qv_type_struct(f, 2, NULL, &st, NULL));
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST, st, NULL, &t, NULL));
  ts[n++] = t; /* list<struct<a: int32, b: list<utf8>>> */
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST_VIEW, qv_type_int64(), NULL, &t, NULL));
  ts[n++] = t;
  qv_field *k, *v;
  QV_REQUIRE_OK(qv_field_new("key", qv_type_utf8(), false, NULL, NULL, &k, NULL));
  QV_REQUIRE_OK(qv_field_new("value", qv_type_int64(), true, NULL, NULL, &v, NULL));
  QV_REQUIRE_OK(qv_type_map(k, v, false, NULL, &t, NULL));
  ts[n++] = t;
  QV_REQUIRE_OK(qv_field_new("s", qv_type_utf8(), true, NULL, NULL, &f[2], NULL));
  qv_field *uf[2] = {f[0], f[2]};
  QV_REQUIRE_OK(qv_type_union(QV_UNION_SPARSE, uf, NULL, 2, NULL, &t, NULL));
  ts[n++] = t;
  QV_REQUIRE_OK(qv_type_union(QV_UNION_DENSE, uf, NULL, 2, NULL, &t, NULL));
  ts[n++] = t;
  QV_REQUIRE_OK(qv_type_dictionary(qv_type_int16(), qv_type_utf8(), false, NULL, &t, NULL));
  ts[n++] = t;
  QV_REQUIRE_OK(qv_type_run_end_encoded(qv_type_int32(), qv_type_utf8(), NULL, &t, NULL));
  ts[n++] = t;
  for (int i = 0; i < n; i++) {
    fail_ctx ctx = {ts[i], i};
    char what[200];
    qv_type_to_string(ts[i], what, sizeof what);
    size_t points = qv_test_each_alloc_failure(build_under, &ctx, what);
    QV_CHECK(points >= 3);
    if (getenv("QV_VERBOSE")) printf("  %s: %zu allocation points\n", what, points);
  }
  for (int i = 0; i < n; i++) qv_type_unref(ts[i]);
  qv_type_unref(lu);
  qv_type_unref(st);
  for (int i = 0; i < 3; i++) qv_field_unref(f[i]);
  qv_field_unref(k);
  qv_field_unref(v);
}

QV_TEST_MAIN(QV_CASE(test_errors), QV_CASE(test_length_limit), QV_CASE(test_bulk_and_reuse),
             QV_CASE(test_view_blocks),
             QV_CASE(test_dictionary_builder), QV_CASE(test_append_array_type_mismatch),
             QV_CASE(test_unhashable_dictionary),
             QV_CASE(test_alloc_failures))
