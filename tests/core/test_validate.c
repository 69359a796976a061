/* test_validate.c — hand-crafted corrupt arrays, one per validation rule: each must give the
 * right status (QV_E_CORRUPT / QV_E_INVALID / QV_E_LIMIT) and a message naming the path and the
 * index; valid arrays must pass; the UTF-8 validator on its own. */
#include "qv_test.h"

static qv_buffer B(const void *p, size_t n) {
  qv_buffer b = {0};
  if (p && qv_buffer_copy(p, n, NULL, &b, NULL) != QV_OK) abort();
  return b;
}

static qv_array *mk(const qv_type *t, int64_t len, int64_t off, int64_t null_count, int32_t nb,
                    qv_buffer *bufs, int32_t nch, qv_array **ch, qv_array *dict) {
  qv_array *a = NULL;
  qv_error err;
  if (qv_array_new(t, len, off, null_count, nb, bufs, nch, ch, dict, NULL, &a, &err) != QV_OK) {
    QV__FAIL("qv_array_new(%s): %s", qv_type_id_name(t->id), err.message);
    return NULL;
  }
  return a;
}

static qv_array *mk_str(const qv_type *t, const int32_t *offs, int64_t n, const char *data,
                        size_t dlen) {
  qv_buffer b[3] = {{0}, B(offs, (size_t)(n + 1) * 4), B(data, dlen)};
  return mk(t, n, 0, 0, 3, b, 0, NULL, NULL);
}

/* Expect `level` validation of a to fail with `code` and a message containing `msg`. */
#define EXPECT_BAD(a, level, code, msg)                                                 \
  do {                                                                                  \
    qv_error e_;                                                                        \
    qv_error_init(&e_);                                                                 \
    QV_CHECK_STATUS_E(qv_array_validate((a), (level), &e_), (code), &e_);               \
    QV_CHECK_CONTAINS(e_.message, (msg));                                               \
  } while (0)

static void test_utf8_validator(void) {
  size_t bad = 0;
  QV_CHECK(qv_utf8_valid((const uint8_t *)"", 0, NULL));
  QV_CHECK(qv_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 16, NULL));
  static const struct { const char *s; size_t at; } cases[] = {
      {"ab\xc0\xaf", 2},        /* overlong '/' */
      {"\xe0\x80\xaf", 0},      /* overlong 3-byte */
      {"x\xed\xa0\x80", 1},     /* surrogate */
      {"\xf4\x90\x80\x80", 0},  /* > U+10FFFF */
      {"abc\xe2\x82", 3},       /* truncated */
      {"\x80", 0},              /* lone continuation */
      {"\xf5\x80\x80\x80", 0},  /* invalid lead */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bad = 999;
    QV_CHECK(!qv_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s), &bad));
    QV_CHECK_UINT_EQ(bad, cases[i].at);
  }
  char longs[100];
  memset(longs, 'a', sizeof longs);
  longs[37] = (char)0xff;
  QV_CHECK(!qv_utf8_valid((const uint8_t *)longs, sizeof longs, &bad));
  QV_CHECK_UINT_EQ(bad, 37);
  longs[37] = 'a';
  QV_CHECK(qv_utf8_valid((const uint8_t *)longs, sizeof longs, NULL));
}

static void test_string_offsets(void) {
  /* non-monotonic: passes minimal, fails full */
  int32_t o1[] = {0, 3, 2, 5};
  qv_array *a = mk_str(qv_type_utf8(), o1, 3, "abcde", 5);
  QV_REQUIRE(a);
  QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_MINIMAL, NULL));
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "array: offset 2 at index 2 is less than 3");
  qv_array_unref(a);
  /* an offset beyond the data in the middle */
  int32_t o2[] = {0, 9, 2, 5};
  a = mk_str(qv_type_binary(), o2, 3, "abcde", 5);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "offset 9 at index 1 is beyond data length 5");
  qv_array_unref(a);
  /* the last offset beyond the data: caught by qv_array_new (minimal) */
  int32_t o3[] = {0, 1, 2, 9};
  qv_buffer b[3] = {{0}, B(o3, 16), B("abcde", 5)};
  qv_array *x;
  qv_error err;
  QV_CHECK_STATUS_E(qv_array_new(qv_type_utf8(), 3, 0, 0, 3, b, 0, NULL, NULL, NULL, &x, &err),
                    QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "offset 9 at index 3 is beyond data length 5");
  /* offsets buffer too short */
  qv_buffer b2[3] = {{0}, B(o3, 8), B("abcde", 5)};
  QV_CHECK_STATUS_E(qv_array_new(qv_type_utf8(), 3, 0, 0, 3, b2, 0, NULL, NULL, NULL, &x, &err),
                    QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "offsets buffer");
  /* large: negative first offset */
  int64_t o4[] = {-1, 2, 3};
  qv_buffer b3[3] = {{0}, B(o4, 24), B("abc", 3)};
  QV_CHECK_STATUS(qv_array_new(qv_type_large_utf8(), 2, 0, 0, 3, b3, 0, NULL, NULL, NULL, &x, NULL),
                  QV_E_CORRUPT);
  int64_t o5[] = {0, 3, 1, 3};
  qv_buffer b4[3] = {{0}, B(o5, 32), B("abc", 3)};
  a = mk(qv_type_large_binary(), 3, 0, 0, 3, b4, 0, NULL, NULL);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "offset 1 at index 2 is less than 3");
  qv_array_unref(a);
}

static void test_utf8_in_arrays(void) {
  int32_t o[] = {0, 2, 5, 7};
  qv_array *a = mk_str(qv_type_utf8(), o, 3, "ab\xff" "cdef", 7);
  QV_REQUIRE(a);
  QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_MINIMAL, NULL));
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "invalid UTF-8 at index 1");
  /* the same as binary is fine */
  qv_array_unref(a);
  a = mk_str(qv_type_binary(), o, 3, "ab\xff" "cdef", 7);
  QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_FULL, NULL));
  qv_array_unref(a);
  /* a character split across two values: the whole data is valid UTF-8, each value is not */
  int32_t o2[] = {0, 1, 2};
  a = mk_str(qv_type_utf8(), o2, 2, "\xc3\xa9", 2);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "invalid UTF-8 at index");
  qv_array_unref(a);
  /* with a validity bitmap: the bad value under a null is ignored, a bad valid one is not */
  uint8_t valid = 0x5; /* 1, 0, 1 */
  qv_buffer b[3] = {B(&valid, 1), B(o, 16), B("ab\xff" "cdef", 7)};
  a = mk(qv_type_utf8(), 3, 0, 1, 3, b, 0, NULL, NULL);
  QV_REQUIRE(a);
  QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_FULL, NULL));
  qv_array_unref(a);
  valid = 0x3;
  qv_buffer c[3] = {B(&valid, 1), B(o, 16), B("ab\xff" "cdef", 7)};
  a = mk(qv_type_utf8(), 3, 0, 1, 3, c, 0, NULL, NULL);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "invalid UTF-8 at index 1");
  qv_array_unref(a);
}

static void test_nested_path(void) {
  /* column 'tags' = list<utf8> whose child has a bad offset in the middle */
  int32_t co[] = {0, 1, 9, 5};
  qv_array *child = mk_str(qv_type_utf8(), co, 3, "abcde", 5);
  QV_REQUIRE(child);
  int32_t lo[] = {0, 2, 3};
  qv_buffer lb[2] = {{0}, B(lo, 12)};
  qv_type *lt;
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST, qv_type_utf8(), NULL, &lt, NULL));
  qv_array *list = mk(lt, 2, 0, 0, 2, lb, 1, &child, NULL);
  QV_REQUIRE(list);
  EXPECT_BAD(list, QV_VALIDATE_FULL, QV_E_CORRUPT,
             "array.item: offset 9 at index 2 is beyond data length 5");
  qv_field *f;
  QV_REQUIRE_OK(qv_field_new("tags", lt, true, NULL, NULL, &f, NULL));
  qv_schema *s;
  QV_REQUIRE_OK(qv_schema_new(&f, 1, NULL, NULL, &s, NULL));
  qv_batch *batch;
  qv_array *cols[1] = {qv_array_ref(list)};
  QV_REQUIRE_OK(qv_batch_new(s, 2, cols, 1, NULL, &batch, NULL));
  qv_error err;
  QV_CHECK_OK(qv_batch_validate(batch, QV_VALIDATE_MINIMAL, NULL));
  QV_CHECK_STATUS_E(qv_batch_validate(batch, QV_VALIDATE_FULL, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "column 'tags'.item: offset 9 at index 2 is beyond data length 5");
  qv_batch_unref(batch);
  qv_schema_unref(s);
  qv_field_unref(f);
  /* list offsets beyond the child */
  int32_t lo2[] = {0, 4, 3};
  qv_buffer lb2[2] = {{0}, B(lo2, 12)};
  child = mk_str(qv_type_utf8(), (int32_t[]){0, 1, 2, 3}, 3, "abc", 3);
  qv_array *l2 = mk(lt, 2, 0, 0, 2, lb2, 1, &child, NULL);
  QV_REQUIRE(l2);
  EXPECT_BAD(l2, QV_VALIDATE_FULL, QV_E_CORRUPT, "array: offset 4 at index 1 is beyond child length 3");
  qv_array_unref(l2);
  qv_array_unref(list);
  qv_type_unref(lt);
}

static void test_list_view(void) {
  qv_type *lt;
  QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST_VIEW, qv_type_int32(), NULL, &lt, NULL));
  int32_t vals[] = {1, 2, 3};
  qv_buffer cb[2] = {{0}, B(vals, 12)};
  qv_array *child = mk(qv_type_int32(), 3, 0, 0, 2, cb, 0, NULL, NULL);
  int32_t offs[] = {0, 2}, sizes[] = {2, 2};
  qv_buffer b[3] = {{0}, B(offs, 8), B(sizes, 8)};
  qv_array *a = mk(lt, 2, 0, 0, 3, b, 1, &child, NULL);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "list view [2, +2) at index 1 is beyond child length 3");
  qv_array_unref(a);
  qv_type_unref(lt);
}

static void test_dictionary_indices(void) {
  qv_type *dt;
  QV_REQUIRE_OK(qv_type_dictionary(qv_type_int16(), qv_type_utf8(), false, NULL, &dt, NULL));
  qv_array *dict = mk_str(qv_type_utf8(), (int32_t[]){0, 1, 2}, 2, "xy", 2);
  int16_t idx[] = {0, 1, 5, -1};
  uint8_t valid = 0x7; /* index 3 (-1) is null: ignored */
  qv_buffer b[2] = {B(&valid, 1), B(idx, 8)};
  qv_array *a = mk(dt, 4, 0, 1, 2, b, 0, NULL, dict);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT,
             "dictionary index 5 at index 2 is outside the dictionary of 2");
  qv_array *s;
  QV_REQUIRE_OK(qv_array_slice(a, 0, 2, &s, NULL));
  QV_CHECK_OK(qv_array_validate(s, QV_VALIDATE_FULL, NULL));
  qv_array_unref(s);
  QV_REQUIRE_OK(qv_array_slice(a, 3, 1, &s, NULL));
  QV_CHECK_OK(qv_array_validate(s, QV_VALIDATE_FULL, NULL)); /* only the null */
  qv_array_unref(s);
  qv_array_unref(a);
  /* missing dictionary / wrong dictionary type */
  qv_buffer b2[2] = {{0}, B(idx, 8)};
  qv_array *x;
  qv_error err;
  QV_CHECK_STATUS_E(qv_array_new(dt, 2, 0, 0, 2, b2, 0, NULL, NULL, NULL, &x, &err), QV_E_INVALID,
                    &err);
  QV_CHECK_CONTAINS(err.message, "without a dictionary");
  int64_t iv[] = {1};
  qv_buffer ib[2] = {{0}, B(iv, 8)};
  qv_array *wrong = mk(qv_type_int64(), 1, 0, 0, 2, ib, 0, NULL, NULL);
  qv_buffer b3[2] = {{0}, B(idx, 8)};
  QV_CHECK_STATUS_E(qv_array_new(dt, 2, 0, 0, 2, b3, 0, NULL, wrong, NULL, &x, &err), QV_E_INVALID,
                    &err);
  QV_CHECK_CONTAINS(err.message, "dictionary values have the wrong type");
  qv_type_unref(dt);
}

static qv_type *union_type(qv_union_mode mode) {
  qv_field *f[2];
  QV_CHECK_OK(qv_field_new("i", qv_type_int32(), true, NULL, NULL, &f[0], NULL));
  QV_CHECK_OK(qv_field_new("s", qv_type_utf8(), true, NULL, NULL, &f[1], NULL));
  qv_type *t = NULL;
  QV_CHECK_OK(qv_type_union(mode, f, (int8_t[]){3, 7}, 2, NULL, &t, NULL));
  qv_field_unref(f[0]);
  qv_field_unref(f[1]);
  return t;
}

static void test_unions(void) {
  qv_type *st = union_type(QV_UNION_SPARSE), *dt = union_type(QV_UNION_DENSE);
  int32_t iv[] = {1, 2, 3};
  int8_t ids[] = {3, 7, 4};
  qv_array *kids[2];
  qv_buffer ib[2] = {{0}, B(iv, 12)};
  kids[0] = mk(qv_type_int32(), 3, 0, 0, 2, ib, 0, NULL, NULL);
  kids[1] = mk_str(qv_type_utf8(), (int32_t[]){0, 1, 2, 3}, 3, "abc", 3);
  qv_buffer ub[1] = {B(ids, 3)};
  qv_array *a = mk(st, 3, 0, 0, 1, ub, 2, kids, NULL);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "union type code 4 at index 2 is not declared");
  qv_array *s;
  QV_REQUIRE_OK(qv_array_slice(a, 0, 2, &s, NULL));
  QV_CHECK_OK(qv_array_validate(s, QV_VALIDATE_FULL, NULL));
  qv_array_unref(s);
  qv_array_unref(a);
  /* dense: offset beyond the child */
  int8_t ids2[] = {3, 7, 3};
  int32_t offs[] = {0, 0, 3};
  qv_buffer ib2[2] = {{0}, B(iv, 12)};
  kids[0] = mk(qv_type_int32(), 3, 0, 0, 2, ib2, 0, NULL, NULL);
  kids[1] = mk_str(qv_type_utf8(), (int32_t[]){0, 1}, 1, "a", 1);
  qv_buffer db[2] = {B(ids2, 3), B(offs, 12)};
  a = mk(dt, 3, 0, 0, 2, db, 2, kids, NULL);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT,
             "dense union offset 3 at index 2 is beyond child 0 length 3");
  qv_array_unref(a);
  /* sparse child too short: minimal */
  qv_buffer ib3[2] = {{0}, B(iv, 12)};
  kids[0] = mk(qv_type_int32(), 3, 0, 0, 2, ib3, 0, NULL, NULL);
  kids[1] = mk_str(qv_type_utf8(), (int32_t[]){0, 1}, 1, "a", 1);
  qv_buffer ub2[1] = {B(ids2, 3)};
  qv_error err;
  QV_CHECK_STATUS_E(qv_array_new(st, 3, 0, 0, 1, ub2, 2, kids, NULL, NULL, &a, &err), QV_E_CORRUPT,
                    &err);
  QV_CHECK_CONTAINS(err.message, "child 1 ('s') has 1 elements, needs 3");
  qv_type_unref(st);
  qv_type_unref(dt);
}

static qv_array *ree(const qv_type *t, int64_t len, const int32_t *ends, int64_t runs,
                     qv_status want) {
  qv_buffer rb[2] = {{0}, B(ends, (size_t)runs * 4)};
  int64_t vals[8] = {0};
  qv_buffer vb[2] = {{0}, B(vals, (size_t)runs * 8)};
  qv_array *kids[2] = {mk(qv_type_int32(), runs, 0, 0, 2, rb, 0, NULL, NULL),
                       mk(qv_type_int64(), runs, 0, 0, 2, vb, 0, NULL, NULL)};
  qv_array *a = NULL;
  qv_error err;
  QV_CHECK_STATUS_E(qv_array_new(t, len, 0, 0, 0, NULL, 2, kids, NULL, NULL, &a, &err), want, &err);
  return a;
}

static void test_run_ends(void) {
  qv_type *t;
  QV_REQUIRE_OK(qv_type_run_end_encoded(qv_type_int32(), qv_type_int64(), NULL, &t, NULL));
  qv_array *a = ree(t, 5, (int32_t[]){2, 2, 5}, 3, QV_OK);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "run end 2 at run 1 is not greater than 2");
  qv_array_unref(a);
  a = ree(t, 5, (int32_t[]){0, 5}, 2, QV_OK);
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "run end 0 at run 0 is not positive");
  qv_array_unref(a);
  a = ree(t, 5, (int32_t[]){2, 3}, 2, QV_E_CORRUPT); /* does not cover the length */
  QV_CHECK(a == NULL);
  a = ree(t, 5, (int32_t[]){2, 4, 7}, 3, QV_OK);
  QV_REQUIRE(a);
  QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_FULL, NULL));
  QV_CHECK_INT_EQ(qv_array_ree_physical_index(a, 0), 0);
  QV_CHECK_INT_EQ(qv_array_ree_physical_index(a, 2), 1);
  QV_CHECK_INT_EQ(qv_array_ree_physical_index(a, 4), 2);
  qv_array *s;
  QV_REQUIRE_OK(qv_array_slice(a, 3, 2, &s, NULL));
  QV_CHECK_INT_EQ(qv_array_ree_physical_index(s, 0), 1);
  QV_CHECK_INT_EQ(qv_array_ree_physical_index(s, 1), 2);
  qv_array_unref(s);
  qv_array_unref(a);
  qv_type_unref(t);
}

static void test_views(void) {
  const char *big = "0123456789abcdefghij"; /* 20 bytes */
  uint8_t v[16];
  struct {
    int32_t len, prefix_from, buf, off;
    uint8_t pad;
    const char *msg;
  } cases[] = {
      {20, 0, 1, 0, 0, "refers to data buffer 1 of 1"},
      {20, 0, 0, 5, 0, "[5, +20) is beyond data buffer 0 length 20"},
      {20, 1, 0, 0, 0, "prefix that does not match"},
      {3, 0, 0, 0, 1, "non-zero padding after 3 bytes"},
      {-1, 0, 0, 0, 0, "view length -1 at index 0 is negative"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memset(v, 0, 16);
    memcpy(v, &cases[i].len, 4);
    if (cases[i].len > 12) {
      memcpy(v + 4, big + cases[i].prefix_from, 4);
      memcpy(v + 8, &cases[i].buf, 4);
      memcpy(v + 12, &cases[i].off, 4);
    } else if (cases[i].len >= 0) {
      memcpy(v + 4, "abc", 3);
      v[15] = cases[i].pad;
    }
    qv_buffer b[3] = {{0}, B(v, 16), B(big, 20)};
    qv_array *a = mk(qv_type_utf8_view(), 1, 0, 0, 3, b, 0, NULL, NULL);
    QV_REQUIRE(a);
    QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_MINIMAL, NULL));
    EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, cases[i].msg);
    qv_array_unref(a);
  }
  /* invalid UTF-8 inside a long view value; fine as binary_view */
  char bad[20];
  memcpy(bad, big, 20);
  bad[15] = (char)0xfe;
  memset(v, 0, 16);
  int32_t len = 20, zero = 0;
  memcpy(v, &len, 4);
  memcpy(v + 4, bad, 4);
  memcpy(v + 8, &zero, 4);
  memcpy(v + 12, &zero, 4);
  qv_buffer b[3] = {{0}, B(v, 16), B(bad, 20)};
  qv_array *a = mk(qv_type_utf8_view(), 1, 0, 0, 3, b, 0, NULL, NULL);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "invalid UTF-8 at index 0 (byte 15)");
  qv_array_unref(a);
  qv_buffer c[3] = {{0}, B(v, 16), B(bad, 20)};
  a = mk(qv_type_binary_view(), 1, 0, 0, 3, c, 0, NULL, NULL);
  QV_CHECK_OK(qv_array_validate(a, QV_VALIDATE_FULL, NULL));
  qv_array_unref(a);
}

static void test_structure_and_null_counts(void) {
  int32_t vals[] = {1, 2, 3, 4};
  uint8_t valid = 0xd; /* 1011: one null */
  qv_buffer b[2] = {B(&valid, 1), B(vals, 16)};
  qv_array *a = mk(qv_type_int32(), 4, 0, 0, 2, b, 0, NULL, NULL); /* claims 0 nulls */
  QV_REQUIRE(a);
  EXPECT_BAD(a, QV_VALIDATE_FULL, QV_E_CORRUPT, "null count 0 but the bitmap has 1 nulls");
  qv_array_unref(a);
  /* null count without a bitmap */
  qv_buffer b2[2] = {{0}, B(vals, 16)};
  qv_array *x;
  qv_error err;
  QV_CHECK_STATUS_E(qv_array_new(qv_type_int32(), 4, 0, 2, 2, b2, 0, NULL, NULL, NULL, &x, &err),
                    QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "without a validity bitmap");
  /* validity too short */
  qv_buffer b3[2] = {B(&valid, 1), B(vals, 16)};
  qv_buffer big;
  QV_REQUIRE_OK(qv_buffer_new_zeroed(40, NULL, &big, NULL));
  qv_buffer_unref(&b3[1]);
  b3[1] = big;
  QV_CHECK_STATUS_E(qv_array_new(qv_type_int32(), 10, 0, -1, 2, b3, 0, NULL, NULL, NULL, &x, &err),
                    QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "validity buffer (buffer 0) has 1 bytes, needs 2");
  /* offset + length == INT64_MAX: the offsets need one element more than that (no UB) */
  int32_t offs[2] = {0, 0};
  qv_buffer b4[3] = {{0}, B(offs, 8), {0}};
  QV_CHECK_STATUS_E(qv_array_new(qv_type_utf8(), INT64_MAX - 1, 1, 0, 3, b4, 0, NULL, NULL, NULL,
                                 &x, &err),
                    QV_E_OVERFLOW, &err);
  QV_CHECK_CONTAINS(err.message, "offsets size for 9223372036854775808 elements overflows");
  /* struct: wrong child count and wrong child type */
  qv_field *f;
  QV_REQUIRE_OK(qv_field_new("a", qv_type_int32(), true, NULL, NULL, &f, NULL));
  qv_type *st;
  QV_REQUIRE_OK(qv_type_struct(&f, 1, NULL, &st, NULL));
  qv_buffer sb[1] = {{0}};
  QV_CHECK_STATUS_E(qv_array_new(st, 0, 0, 0, 1, sb, 0, NULL, NULL, NULL, &x, &err), QV_E_INVALID,
                    &err);
  QV_CHECK_CONTAINS(err.message, "struct array has 0 children, expected 1");
  qv_buffer cb[2] = {{0}, B(vals, 16)};
  qv_array *kid = mk(qv_type_uint32(), 4, 0, 0, 2, cb, 0, NULL, NULL);
  QV_CHECK_STATUS_E(qv_array_new(st, 4, 0, 0, 1, sb, 1, &kid, NULL, NULL, &x, &err), QV_E_INVALID,
                    &err);
  QV_CHECK_CONTAINS(err.message, "child 0 has type uint32, the type says int32");
  qv_type_unref(st);
  qv_field_unref(f);
}

static void test_depth_limit(void) {
  /* 70 nested empty lists */
  qv_type *t = qv_type_ref(qv_type_int32());
  qv_array *a;
  QV_REQUIRE_OK(qv_array_new_empty(t, NULL, &a, NULL));
  for (int d = 0; d < 70; d++) {
    qv_type *lt;
    QV_REQUIRE_OK(qv_type_list_of(QV_TYPE_LIST, t, NULL, &lt, NULL));
    qv_type_unref(t);
    t = lt;
    int32_t zero = 0;
    qv_buffer b[2] = {{0}, B(&zero, 4)};
    a = mk(t, 0, 0, 0, 2, b, 1, &a, NULL);
    QV_REQUIRE(a);
  }
  EXPECT_BAD(a, QV_VALIDATE_MINIMAL, QV_E_LIMIT, "nesting deeper than 64");
  qv_builder *bld;
  QV_CHECK_STATUS(qv_builder_new(t, NULL, &bld, NULL), QV_E_LIMIT);
  qv_array_unref(a);
  qv_type_unref(t);
}

QV_TEST_MAIN(QV_CASE(test_utf8_validator), QV_CASE(test_string_offsets),
             QV_CASE(test_utf8_in_arrays), QV_CASE(test_nested_path), QV_CASE(test_list_view),
             QV_CASE(test_dictionary_indices), QV_CASE(test_unions), QV_CASE(test_run_ends),
             QV_CASE(test_views), QV_CASE(test_structure_and_null_counts),
             QV_CASE(test_depth_limit))
