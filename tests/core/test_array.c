/* test_array.c — every Arrow type: build with nulls, read every value back through the typed
 * getters, slice at odd offsets (and slice of slice), compare with arrays built directly for the
 * sliced range, concatenate pieces back, empty and all-null arrays, full validation passes. */
#include "qv_test.h"

#define N 40

static qv_type *types[64];
static const char *type_names[64];
static int n_types;

static qv_field *fld(const char *name, qv_type *t, bool nullable) {
  qv_field *f = NULL;
  if (qv_field_new(name, t, nullable, NULL, NULL, &f, NULL) != QV_OK) abort();
  return f;
}

static void add(qv_type *t) {
  char buf[256];
  qv_type_to_string(t, buf, sizeof buf);
  types[n_types] = t;
  type_names[n_types] = strdup(buf);
  n_types++;
}

static void chk(qv_status s) {
  if (s != QV_OK) abort();
}
/* evaluates the constructor first, then yields t (comma operator: sequenced) */
#define own(call, t) (chk(call), (t))

static void make_types(void) {
  if (n_types) return;
  qv_type *t;
  static const qv_type_id prims[] = {
      QV_TYPE_NA, QV_TYPE_BOOL, QV_TYPE_INT8, QV_TYPE_INT16, QV_TYPE_INT32, QV_TYPE_INT64,
      QV_TYPE_UINT8, QV_TYPE_UINT16, QV_TYPE_UINT32, QV_TYPE_UINT64, QV_TYPE_HALF_FLOAT,
      QV_TYPE_FLOAT, QV_TYPE_DOUBLE, QV_TYPE_DATE32, QV_TYPE_DATE64, QV_TYPE_INTERVAL_MONTHS,
      QV_TYPE_INTERVAL_DAY_TIME, QV_TYPE_INTERVAL_MONTH_DAY_NANO, QV_TYPE_BINARY, QV_TYPE_STRING,
      QV_TYPE_LARGE_BINARY, QV_TYPE_LARGE_STRING, QV_TYPE_BINARY_VIEW, QV_TYPE_STRING_VIEW};
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) add(qv_type_primitive(prims[i]));
  add(own(qv_type_decimal(32, 9, 2, NULL, &t, NULL), t));
  add(own(qv_type_decimal(64, 18, 0, NULL, &t, NULL), t));
  add(own(qv_type_decimal(128, 20, 3, NULL, &t, NULL), t));
  add(own(qv_type_decimal(256, 40, 5, NULL, &t, NULL), t));
  add(own(qv_type_time32(QV_TIME_SECOND, NULL, &t, NULL), t));
  add(own(qv_type_time64(QV_TIME_NANO, NULL, &t, NULL), t));
  add(own(qv_type_timestamp(QV_TIME_MILLI, "UTC", NULL, &t, NULL), t));
  add(own(qv_type_duration(QV_TIME_MICRO, NULL, &t, NULL), t));
  add(own(qv_type_fixed_size_binary(4, NULL, &t, NULL), t));
  add(own(qv_type_list_of(QV_TYPE_LIST, qv_type_int32(), NULL, &t, NULL), t));
  add(own(qv_type_list_of(QV_TYPE_LARGE_LIST, qv_type_utf8(), NULL, &t, NULL), t));
  add(own(qv_type_list_of(QV_TYPE_LIST_VIEW, qv_type_int32(), NULL, &t, NULL), t));
  add(own(qv_type_list_of(QV_TYPE_LARGE_LIST_VIEW, qv_type_utf8(), NULL, &t, NULL), t));
  qv_field *item = fld("item", qv_type_int32(), true);
  add(own(qv_type_fixed_size_list(item, 2, NULL, &t, NULL), t));
  qv_field_unref(item);
  qv_field *ab[2] = {fld("a", qv_type_int32(), true), fld("b", qv_type_utf8(), true)};
  add(own(qv_type_struct(ab, 2, NULL, &t, NULL), t));
  qv_field *k = fld("key", qv_type_utf8(), false), *v = fld("value", qv_type_int32(), true);
  add(own(qv_type_map(k, v, false, NULL, &t, NULL), t));
  qv_field_unref(k);
  qv_field_unref(v);
  qv_field *is[2] = {fld("i", qv_type_int32(), true), fld("s", qv_type_utf8(), true)};
  int8_t codes[2] = {3, 7};
  add(own(qv_type_union(QV_UNION_SPARSE, is, codes, 2, NULL, &t, NULL), t));
  add(own(qv_type_union(QV_UNION_DENSE, is, codes, 2, NULL, &t, NULL), t));
  qv_field_unref(is[0]);
  qv_field_unref(is[1]);
  add(own(qv_type_dictionary(qv_type_int8(), qv_type_utf8(), false, NULL, &t, NULL), t));
  add(own(qv_type_dictionary(qv_type_uint16(), qv_type_int64(), true, NULL, &t, NULL), t));
  add(own(qv_type_run_end_encoded(qv_type_int32(), qv_type_utf8(), NULL, &t, NULL), t));
  add(own(qv_type_run_end_encoded(qv_type_int16(), qv_type_int64(), NULL, &t, NULL), t));
  /* list<struct<a: int32, b: list<utf8>>> */
  qv_type *lu = own(qv_type_list_of(QV_TYPE_LIST, qv_type_utf8(), NULL, &t, NULL), t);
  qv_field *ab2[2] = {fld("a", qv_type_int32(), true), fld("b", lu, true)};
  qv_type *st = own(qv_type_struct(ab2, 2, NULL, &t, NULL), t);
  add(own(qv_type_list_of(QV_TYPE_LIST, st, NULL, &t, NULL), t));
  /* struct<m: map<utf8, int32>, d: dictionary<int8, utf8>, r: ree<int32, utf8>> */
  qv_field *mdr[3] = {fld("m", types[n_types - 12], true), fld("d", types[n_types - 6], true),
                      fld("r", types[n_types - 3], true)};
  add(own(qv_type_struct(mdr, 3, NULL, &t, NULL), t));
  for (int i = 0; i < 3; i++) qv_field_unref(mdr[i]);
  qv_type_unref(lu);
  qv_type_unref(st);
  qv_field_unref(ab[0]);
  qv_field_unref(ab[1]);
  qv_field_unref(ab2[0]);
  qv_field_unref(ab2[1]);
}

/* ---- the value generator and checker ----------------------------------------------------- */

static void str_val(int64_t key, char *buf) {
  if (key % 4 == 0) snprintf(buf, 64, "long-value-number-%lld-xyz", (long long)key);
  else snprintf(buf, 64, "v%lld", (long long)key);
}

static int64_t int_val(const qv_type *t, int64_t key) {
  switch (t->id) {
    case QV_TYPE_UINT8: case QV_TYPE_UINT16: case QV_TYPE_UINT32: case QV_TYPE_UINT64:
      return key * 7 % 200;
    case QV_TYPE_DATE32: return key * 100 - 500;
    case QV_TYPE_DATE64: return (key * 100 - 500) * 86400000LL;
    case QV_TYPE_TIME32: return key * 13 % 86400;
    case QV_TYPE_TIME64: return key * 1000000007LL % 86400000000000LL;
    case QV_TYPE_TIMESTAMP: return key * 1000003 - 5000;
    case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL128:
    case QV_TYPE_DECIMAL256: return key * 100 - 7;
    default: return key * 7 % 101 - 50;
  }
}

static void fixed_val(const qv_type *t, int64_t key, uint8_t out[16]) {
  memset(out, 0, 16);
  int32_t a = (int32_t)key, b = (int32_t)(-key * 2);
  int64_t c = key * 1000;
  memcpy(out, &a, 4);
  memcpy(out + 4, &b, 4);
  if (t->id == QV_TYPE_INTERVAL_MONTH_DAY_NANO) memcpy(out + 8, &c, 8);
  if (t->id == QV_TYPE_FIXED_SIZE_BINARY) {
    out[2] = 0xab;
    out[3] = 0xcd;
  }
}

static bool null_at(const qv_type *t, int64_t key) {
  if (t->id == QV_TYPE_NA) return true;
  return key % 5 == 3;
}

static qv_status gen(qv_builder *b, const qv_type *t, int64_t key) {
  char s[64];
  uint8_t fx[16];
  if (t->id == QV_TYPE_NA) return qv_builder_append_null(b, NULL);
  if (t->id == QV_TYPE_RUN_END_ENCODED) { /* nested REE: a run of one */
    QV_TRY(gen(qv_builder_child(b, 1), t->children[1]->type, key / 3));
    return qv_builder_ree_append_run(b, 1, NULL);
  }
  if (qv_type_has_validity(t) && null_at(t, key)) return qv_builder_append_null(b, NULL);
  switch (t->id) {
    case QV_TYPE_BOOL: return qv_builder_append_bool(b, key % 3 == 0, NULL);
    case QV_TYPE_HALF_FLOAT: case QV_TYPE_FLOAT: case QV_TYPE_DOUBLE:
      return qv_builder_append_f64(b, (double)key * 0.5 - 3, NULL);
    case QV_TYPE_INTERVAL_DAY_TIME: case QV_TYPE_INTERVAL_MONTH_DAY_NANO:
    case QV_TYPE_FIXED_SIZE_BINARY:
      fixed_val(t, key, fx);
      return qv_builder_append_fixed(b, fx, NULL);
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW:
      str_val(key, s);
      return qv_builder_append_str(b, s, NULL);
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_LIST_VIEW:
    case QV_TYPE_LARGE_LIST_VIEW: case QV_TYPE_FIXED_SIZE_LIST: {
      int64_t n = t->id == QV_TYPE_FIXED_SIZE_LIST ? t->list_size : key % 4;
      for (int64_t j = 0; j < n; j++)
        QV_TRY(gen(qv_builder_child(b, 0), t->children[0]->type, key * 10 + j));
      return qv_builder_list_append(b, NULL);
    }
    case QV_TYPE_MAP: {
      const qv_type *et = t->children[0]->type;
      for (int64_t j = 0; j < key % 3; j++) {
        str_val(key * 10 + j, s);
        QV_TRY(qv_builder_append_str(qv_builder_child(b, 0), s, NULL));
        QV_TRY(gen(qv_builder_child(b, 1), et->children[1]->type, key * 10 + j));
      }
      return qv_builder_list_append(b, NULL);
    }
    case QV_TYPE_STRUCT:
      for (int32_t c = 0; c < t->n_children; c++)
        QV_TRY(gen(qv_builder_child(b, c), t->children[c]->type, key * 3 + c));
      return qv_builder_struct_append(b, true, NULL);
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION: {
      int32_t c = (int32_t)(key % 2);
      QV_TRY(gen(qv_builder_child(b, c), t->children[c]->type, key));
      return qv_builder_union_append(b, t->type_codes[c], NULL);
    }
    case QV_TYPE_DICTIONARY:
      if (t->value_type->id == QV_TYPE_STRING) {
        snprintf(s, sizeof s, "d%lld", (long long)(key % 5));
        return qv_builder_append_str(b, s, NULL);
      }
      return qv_builder_append_i64(b, key % 7 * 1000, NULL);
    default: return qv_builder_append_i64(b, int_val(t, key), NULL);
  }
}

/* Builds elements with keys [start, start + n). */
static qv_array *build(const qv_type *t, int64_t start, int64_t n) {
  qv_builder *b;
  qv_array *out = NULL;
  qv_error err;
  if (qv_builder_new(t, NULL, &b, &err) != QV_OK) {
    QV__FAIL("builder_new: %s", err.message);
    return NULL;
  }
  qv_status s = QV_OK;
  if (t->id == QV_TYPE_RUN_END_ENCODED) {
    int64_t k = start, end = start + n;
    while (k < end && s == QV_OK) {
      int64_t run_end = (k / 3 + 1) * 3;
      if (run_end > end) run_end = end;
      s = gen(qv_builder_child(b, 1), t->children[1]->type, k / 3);
      if (s == QV_OK) s = qv_builder_ree_append_run(b, run_end - k, &err);
      k = run_end;
    }
  } else {
    for (int64_t k = start; k < start + n && s == QV_OK; k++) s = gen(b, t, k);
  }
  if (s == QV_OK) s = qv_builder_finish(b, &out, &err);
  if (s != QV_OK) QV__FAIL("building %s failed: %s", qv_type_id_name(t->id), err.message);
  qv_builder_free(b);
  return out;
}

static void check_elem(const qv_array *a, int64_t i, const qv_type *t, int64_t key, int depth);

static void check_struct_like_ree(const qv_array *a, int64_t i, int64_t key, int depth) {
  int64_t p = qv_array_ree_physical_index(a, i);
  check_elem(a->children[1], p, a->type->children[1]->type, key / 3, depth + 1);
}

static void check_elem(const qv_array *a, int64_t i, const qv_type *t, int64_t key, int depth) {
  char s[64];
  uint8_t fx[16];
  if (qv_test_failed > 20) return;
  if (t->id == QV_TYPE_RUN_END_ENCODED) {
    QV_CHECK_INT_EQ(qv_array_is_null(a, i), null_at(t->children[1]->type, key / 3));
    check_struct_like_ree(a, i, key, depth);
    return;
  }
  bool want_null = null_at(t, key);
  if (qv_array_is_null(a, i) != want_null) {
    QV__FAIL("%s depth %d element %lld (key %lld): is_null %d, want %d", qv_type_id_name(t->id),
             depth, (long long)i, (long long)key, (int)qv_array_is_null(a, i), (int)want_null);
    return;
  }
  if (want_null) return;
  switch (t->id) {
    case QV_TYPE_BOOL: QV_CHECK_INT_EQ(qv_array_get_bool(a, i), key % 3 == 0); return;
    case QV_TYPE_HALF_FLOAT: case QV_TYPE_FLOAT: case QV_TYPE_DOUBLE:
      QV_CHECK_DBL_EQ(qv_array_get_f64(a, i), (double)key * 0.5 - 3);
      return;
    case QV_TYPE_INTERVAL_DAY_TIME: case QV_TYPE_INTERVAL_MONTH_DAY_NANO:
    case QV_TYPE_FIXED_SIZE_BINARY: {
      fixed_val(t, key, fx);
      int32_t w = qv_type_bit_width(t) / 8;
      QV_CHECK_MEM_EQ(qv_array_value_ptr(a, i), fx, (size_t)w);
      if (t->id == QV_TYPE_FIXED_SIZE_BINARY) {
        const uint8_t *p;
        size_t n;
        qv_array_get_bytes(a, i, &p, &n);
        QV_CHECK_UINT_EQ(n, 4);
        QV_CHECK_MEM_EQ(p, fx, 4);
      }
      return;
    }
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW: {
      const uint8_t *p;
      size_t n;
      str_val(key, s);
      qv_array_get_bytes(a, i, &p, &n);
      if (n != strlen(s) || memcmp(p, s, n) != 0)
        QV__FAIL("%s element %lld: got '%.*s', want '%s'", qv_type_id_name(t->id), (long long)i,
                 (int)n, (const char *)p, s);
      return;
    }
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_LIST_VIEW:
    case QV_TYPE_LARGE_LIST_VIEW: case QV_TYPE_FIXED_SIZE_LIST: {
      int64_t st, n;
      qv_array_list_range(a, i, &st, &n);
      QV_CHECK_INT_EQ(n, t->id == QV_TYPE_FIXED_SIZE_LIST ? t->list_size : key % 4);
      for (int64_t j = 0; j < n; j++)
        check_elem(a->children[0], st + j, t->children[0]->type, key * 10 + j, depth + 1);
      return;
    }
    case QV_TYPE_MAP: {
      int64_t st, n;
      qv_array_list_range(a, i, &st, &n);
      QV_CHECK_INT_EQ(n, key % 3);
      const qv_array *e = a->children[0];
      for (int64_t j = 0; j < n; j++) {
        const uint8_t *p;
        size_t len;
        str_val(key * 10 + j, s);
        qv_array_get_bytes(e->children[0], e->offset + st + j, &p, &len);
        QV_CHECK(len == strlen(s) && memcmp(p, s, len) == 0);
        check_elem(e->children[1], e->offset + st + j, qv_type_int32(), key * 10 + j, depth + 1);
      }
      return;
    }
    case QV_TYPE_STRUCT:
      for (int32_t c = 0; c < t->n_children; c++)
        check_elem(a->children[c], a->offset + i, t->children[c]->type, key * 3 + c, depth + 1);
      return;
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION: {
      int32_t c = (int32_t)(key % 2);
      QV_CHECK_INT_EQ(qv_array_union_type_code(a, i), t->type_codes[c]);
      QV_CHECK_INT_EQ(qv_array_union_child_index(a, i), c);
      check_elem(a->children[c], qv_array_union_value_index(a, i), t->children[c]->type, key,
                 depth + 1);
      return;
    }
    case QV_TYPE_DICTIONARY: {
      int64_t idx = qv_array_dict_index(a, i);
      QV_REQUIRE(idx >= 0 && idx < a->dictionary->length);
      if (t->value_type->id == QV_TYPE_STRING) {
        const uint8_t *p;
        size_t n;
        snprintf(s, sizeof s, "d%lld", (long long)(key % 5));
        qv_array_get_bytes(a->dictionary, idx, &p, &n);
        QV_CHECK(n == strlen(s) && memcmp(p, s, n) == 0);
      } else {
        QV_CHECK_INT_EQ(qv_array_get_i64(a->dictionary, idx), key % 7 * 1000);
      }
      return;
    }
    case QV_TYPE_UINT64:
      QV_CHECK_UINT_EQ(qv_array_get_u64(a, i), (uint64_t)int_val(t, key));
      return;
    case QV_TYPE_DECIMAL128: case QV_TYPE_DECIMAL256: {
      const uint8_t *p = qv_array_value_ptr(a, i);
      int64_t lo;
      memcpy(&lo, p, 8);
      QV_CHECK_INT_EQ(lo, int_val(t, key));
      QV_CHECK_UINT_EQ(p[t->byte_width - 1], lo < 0 ? 0xff : 0);
      return;
    }
    default:
      QV_CHECK_INT_EQ(qv_array_get_i64(a, i), int_val(t, key));
      if (qv_type_id_is_integer(t->id) || qv_type_id_is_temporal(t->id))
        QV_CHECK_DBL_EQ(qv_array_get_f64(a, i), (double)int_val(t, key));
      return;
  }
}

static void check_all(const qv_array *a, int64_t start, const char *what) {
  int before = qv_test_failed;
  for (int64_t i = 0; i < a->length; i++) check_elem(a, i, a->type, start + i, 0);
  qv_error err;
  QV_CHECK_OK_E(qv_array_validate(a, QV_VALIDATE_FULL, &err), &err);
  if (qv_test_failed != before) fprintf(stderr, "    in %s\n", what);
}

static int64_t expected_nulls(const qv_type *t, int64_t start, int64_t n) {
  if (t->id == QV_TYPE_NA) return n;
  if (!qv_type_has_validity(t)) return 0;
  int64_t c = 0;
  for (int64_t k = start; k < start + n; k++) c += null_at(t, k);
  return c;
}

static void test_every_type_build_read_slice(void) {
  make_types();
  static const int64_t slices[][2] = {{1, 38}, {3, 7}, {17, 23}, {0, 0}, {40, 0}, {13, 1}, {0, 40}};
  for (int ti = 0; ti < n_types; ti++) {
    const qv_type *t = types[ti];
    char what[300];
    qv_array *a = build(t, 0, N);
    QV_REQUIRE(a);
    QV_CHECK_INT_EQ(a->length, N);
    snprintf(what, sizeof what, "%s full", type_names[ti]);
    check_all(a, 0, what);
    QV_CHECK_INT_EQ(qv_array_null_count(a), expected_nulls(t, 0, N));
    for (size_t si = 0; si < sizeof slices / sizeof slices[0]; si++) {
      int64_t off = slices[si][0], len = slices[si][1];
      qv_array *s, *ref;
      QV_REQUIRE_OK(qv_array_slice(a, off, len, &s, NULL));
      snprintf(what, sizeof what, "%s slice [%lld,+%lld)", type_names[ti], (long long)off,
               (long long)len);
      check_all(s, off, what);
      QV_CHECK_INT_EQ(qv_array_null_count(s), expected_nulls(t, off, len));
      ref = build(t, off, len);
      qv_error diff;
      if (!qv_array_equal(s, ref, &diff)) QV__FAIL("%s: slice != direct build: %s", what, diff.message);
      if (len >= 4) {
        qv_array *ss;
        QV_REQUIRE_OK(qv_array_slice(s, 2, len - 4, &ss, NULL));
        snprintf(what, sizeof what, "%s slice of slice", type_names[ti]);
        check_all(ss, off + 2, what);
        qv_array_unref(ss);
        /* not equal to a shifted range (the values differ by key) */
        qv_array *shifted;
        QV_REQUIRE_OK(qv_array_slice(a, off + 1, len - 1, &shifted, NULL));
        qv_array *s2;
        QV_REQUIRE_OK(qv_array_slice(s, 0, len - 1, &s2, NULL));
        if (t->id != QV_TYPE_NA && qv_array_equal(shifted, s2, NULL))
          QV__FAIL("%s: shifted slices compare equal", what);
        qv_array_unref(shifted);
        qv_array_unref(s2);
      }
      qv_array_unref(ref);
      qv_array_unref(s);
    }
    QV_CHECK_STATUS(qv_array_slice(a, 39, 2, &(qv_array *){NULL}, NULL), QV_E_RANGE);
    QV_CHECK_STATUS(qv_array_slice(a, -1, 2, &(qv_array *){NULL}, NULL), QV_E_RANGE);
    qv_array_unref(a);
  }
}

static void test_concat_pieces(void) {
  make_types();
  for (int ti = 0; ti < n_types; ti++) {
    const qv_type *t = types[ti];
    qv_array *a = build(t, 0, N), *p[3], *c = NULL;
    QV_REQUIRE(a);
    QV_REQUIRE_OK(qv_array_slice(a, 0, 13, &p[0], NULL));
    QV_REQUIRE_OK(qv_array_slice(a, 13, 0, &p[1], NULL));
    QV_REQUIRE_OK(qv_array_slice(a, 13, 27, &p[2], NULL));
    qv_error err;
    QV_CHECK_OK_E(qv_array_concat(p, 3, NULL, &c, &err), &err);
    if (c) {
      if (!qv_array_equal(a, c, &err)) QV__FAIL("%s: concat != original: %s", type_names[ti], err.message);
      QV_CHECK_OK_E(qv_array_validate(c, QV_VALIDATE_FULL, &err), &err);
      check_all(c, 0, type_names[ti]);
    }
    qv_array_unref(c);
    for (int i = 0; i < 3; i++) qv_array_unref(p[i]);
    qv_array_unref(a);
  }
  /* type mismatch */
  qv_array *x = build(qv_type_int32(), 0, 3), *y = build(qv_type_int64(), 0, 3), *z;
  qv_array *xy[2] = {x, y};
  qv_error err;
  QV_CHECK_STATUS_E(qv_array_concat(xy, 2, NULL, &z, &err), QV_E_TYPE, &err);
  QV_CHECK_CONTAINS(err.message, "int64");
  qv_array_unref(x);
  qv_array_unref(y);
}

/* concat(slice[a, b), slice[b, c)) == slice[a, c) at pseudo-random boundaries, every type */
static void test_concat_random_splits(void) {
  make_types();
  uint64_t seed = 12345;
  for (int ti = 0; ti < n_types; ti++) {
    qv_array *a = build(types[ti], 0, N);
    QV_REQUIRE(a);
    for (int rep = 0; rep < 15; rep++) {
      int64_t x[3];
      for (int k = 0; k < 3; k++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[k] = (int64_t)((seed >> 33) % (N + 1));
      }
      if (x[0] > x[1]) { int64_t t = x[0]; x[0] = x[1]; x[1] = t; }
      if (x[1] > x[2]) { int64_t t = x[1]; x[1] = x[2]; x[2] = t; }
      if (x[0] > x[1]) { int64_t t = x[0]; x[0] = x[1]; x[1] = t; }
      qv_array *p[2], *whole, *c = NULL;
      QV_REQUIRE_OK(qv_array_slice(a, x[0], x[1] - x[0], &p[0], NULL));
      QV_REQUIRE_OK(qv_array_slice(a, x[1], x[2] - x[1], &p[1], NULL));
      QV_REQUIRE_OK(qv_array_slice(a, x[0], x[2] - x[0], &whole, NULL));
      qv_error err;
      QV_CHECK_OK_E(qv_array_concat(p, 2, NULL, &c, &err), &err);
      if (c && !qv_array_equal(c, whole, &err))
        QV__FAIL("%s [%lld,%lld,%lld): %s", type_names[ti], (long long)x[0], (long long)x[1],
                 (long long)x[2], err.message);
      if (c) check_all(c, x[0], type_names[ti]);
      qv_array_unref(c);
      qv_array_unref(whole);
      qv_array_unref(p[0]);
      qv_array_unref(p[1]);
    }
    qv_array_unref(a);
  }
}

static void test_empty_and_null_arrays(void) {
  make_types();
  for (int ti = 0; ti < n_types; ti++) {
    const qv_type *t = types[ti];
    qv_array *e = NULL, *nl = NULL;
    qv_error err;
    QV_CHECK_OK_E(qv_array_new_empty(t, NULL, &e, &err), &err);
    if (!e) continue;
    QV_CHECK_INT_EQ(e->length, 0);
    QV_CHECK_OK_E(qv_array_validate(e, QV_VALIDATE_FULL, &err), &err);
    qv_array *b0 = build(t, 0, 0);
    QV_CHECK(qv_array_equal(e, b0, NULL));
    qv_array_unref(b0);
    QV_CHECK_OK_E(qv_array_new_nulls(t, 5, NULL, &nl, &err), &err);
    if (nl) {
      QV_CHECK_OK_E(qv_array_validate(nl, QV_VALIDATE_FULL, &err), &err);
      for (int64_t i = 0; i < 5; i++)
        if (!qv_array_is_null(nl, i)) QV__FAIL("%s: element %lld not null", type_names[ti], (long long)i);
      if (qv_type_has_validity(t) || t->id == QV_TYPE_NA)
        QV_CHECK_INT_EQ(qv_array_null_count(nl), 5);
      QV_CHECK(!qv_array_equal(nl, e, NULL));
    }
    qv_array_unref(nl);
    qv_array_unref(e);
  }
}

static void test_getter_details(void) {
  /* uint64 beyond int64, half floats, booleans at bit offsets, bytes of views */
  qv_builder *b;
  qv_array *a, *s;
  QV_REQUIRE_OK(qv_builder_new(qv_type_uint64(), NULL, &b, NULL));
  QV_REQUIRE_OK(qv_builder_append_u64(b, UINT64_MAX, NULL));
  QV_REQUIRE_OK(qv_builder_append_u64(b, 1, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_UINT_EQ(qv_array_get_u64(a, 0), UINT64_MAX);
  QV_CHECK_DBL_EQ(qv_array_get_f64(a, 0), 18446744073709551615.0);
  QV_CHECK(a->buffers[0].data == NULL); /* validity elided */
  QV_CHECK_UINT_EQ((uintptr_t)a->buffers[1].data % 64, 0);
  qv_array_unref(a);
  qv_builder_free(b);

  QV_REQUIRE_OK(qv_builder_new(qv_type_float16(), NULL, &b, NULL));
  double hv[] = {1.0, -2.5, 65504.0, 0.000061035156250, 1e10, 0.1};
  for (int i = 0; i < 6; i++) QV_REQUIRE_OK(qv_builder_append_f64(b, hv[i], NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_CHECK_DBL_EQ(qv_array_get_f64(a, 0), 1.0);
  QV_CHECK_DBL_EQ(qv_array_get_f64(a, 1), -2.5);
  QV_CHECK_DBL_EQ(qv_array_get_f64(a, 2), 65504.0);
  QV_CHECK_DBL_EQ(qv_array_get_f64(a, 3), 0.000061035156250);
  QV_CHECK(qv_array_get_f64(a, 4) > 1e300); /* overflow: infinity */
  QV_CHECK_DBL_EQ(qv_array_get_f64(a, 5), 0.0999755859375);
  qv_array_unref(a);
  qv_builder_free(b);

  QV_REQUIRE_OK(qv_builder_new(qv_type_bool(), NULL, &b, NULL));
  for (int i = 0; i < 19; i++) {
    if (i == 4) QV_REQUIRE_OK(qv_builder_append_null(b, NULL));
    else QV_REQUIRE_OK(qv_builder_append_bool(b, i % 3 == 1, NULL));
  }
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  QV_REQUIRE_OK(qv_array_slice(a, 3, 11, &s, NULL));
  for (int i = 0; i < 11; i++) {
    if (i + 3 == 4) QV_CHECK(qv_array_is_null(s, i));
    else QV_CHECK_INT_EQ(qv_array_get_bool(s, i), (i + 3) % 3 == 1);
  }
  QV_CHECK_INT_EQ(qv_array_null_count(s), 1);
  qv_array_unref(s);
  qv_array_unref(a);
  qv_builder_free(b);
}

static void test_array_new_checks(void) {
  qv_buffer bufs[2] = {{0}, {0}};
  qv_array *a;
  qv_error err;
  QV_REQUIRE_OK(qv_buffer_new_zeroed(16, NULL, &bufs[1], NULL));
  /* int32 x 5 needs 20 bytes */
  QV_CHECK_STATUS_E(qv_array_new(qv_type_int32(), 5, 0, 0, 2, bufs, 0, NULL, NULL, NULL, &a, &err),
                    QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "needs 20");
  QV_CHECK(bufs[1].data == NULL); /* consumed even on failure */
  QV_REQUIRE_OK(qv_buffer_new_zeroed(16, NULL, &bufs[1], NULL));
  QV_CHECK_STATUS_E(qv_array_new(qv_type_int32(), 4, 0, 0, 1, bufs, 0, NULL, NULL, NULL, &a, &err),
                    QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "1 buffers, expected 2");
  qv_buffer_unref(&bufs[1]);
  QV_REQUIRE_OK(qv_buffer_new_zeroed(16, NULL, &bufs[1], NULL));
  QV_CHECK_STATUS(qv_array_new(qv_type_int32(), 2, 3, 0, 2, bufs, 0, NULL, NULL, NULL, &a, NULL),
                  QV_E_CORRUPT); /* offset 3 + length 2 = 5 elements > 4 */
  QV_REQUIRE_OK(qv_buffer_new_zeroed(16, NULL, &bufs[1], NULL));
  QV_CHECK_STATUS(qv_array_new(qv_type_int32(), INT64_MAX, 1, 0, 2, bufs, 0, NULL, NULL, NULL, &a,
                               NULL),
                  QV_E_INVALID);
  QV_REQUIRE_OK(qv_buffer_new_zeroed(16, NULL, &bufs[1], NULL));
  QV_REQUIRE_OK(qv_array_new(qv_type_int32(), 2, 2, -1, 2, bufs, 0, NULL, NULL, NULL, &a, NULL));
  QV_CHECK_INT_EQ(qv_array_null_count(a), 0);
  qv_array_unref(a);
}

static void cleanup(void) {
  for (int i = 0; i < n_types; i++) {
    qv_type_unref(types[i]);
    free((void *)type_names[i]);
  }
  n_types = 0;
}

QV_TEST_MAIN(QV_CASE(test_every_type_build_read_slice), QV_CASE(test_concat_pieces),
             QV_CASE(test_concat_random_splits),
             QV_CASE(test_empty_and_null_arrays), QV_CASE(test_getter_details),
             QV_CASE(test_array_new_checks), QV_CASE(cleanup))
