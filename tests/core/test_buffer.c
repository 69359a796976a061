/* test_buffer.c — qv_buffer: slicing, refcounts, foreign memory, copy-on-write; qv_mbuffer:
 * growth, padding invariant; allocation failure at every point leaks nothing. */
#include "qv_test.h"

static void test_new_aligned_and_padded(void) {
  for (size_t len = 0; len < 200; len += 13) {
    qv_buffer b;
    QV_REQUIRE_OK(qv_buffer_new(len, NULL, &b, NULL));
    QV_CHECK_UINT_EQ(b.len, len);
    QV_CHECK_UINT_EQ((uintptr_t)b.data % 64, 0);
    /* padding up to the next multiple of 64 is zero */
    size_t padded = (len + 63) / 64 * 64;
    if (len == 0) padded = 64;
    for (size_t i = len; i < padded; i++) QV_CHECK_UINT_EQ(b.data[i], 0);
    QV_CHECK(qv_buffer_is_unique(&b));
    QV_CHECK(qv_buffer_is_owned(&b));
    qv_buffer_unref(&b);
    QV_CHECK(b.data == NULL && b.len == 0 && b.owner == NULL);
  }
}

static void test_slice_of_slice(void) {
  uint8_t bytes[100];
  for (int i = 0; i < 100; i++) bytes[i] = (uint8_t)i;
  qv_buffer b, s1, s2;
  qv_error err;
  QV_REQUIRE_OK(qv_buffer_copy(bytes, 100, NULL, &b, NULL));
  QV_REQUIRE_OK(qv_buffer_slice(&b, 10, 50, &s1, NULL));
  QV_REQUIRE_OK(qv_buffer_slice(&s1, 5, 20, &s2, NULL));
  QV_CHECK_UINT_EQ(s2.len, 20);
  QV_CHECK_UINT_EQ(s2.data[0], 15);
  QV_CHECK(s2.data == b.data + 15);
  QV_CHECK_UINT_EQ(qv_buffer_refcount(&b), 3);
  /* out of range, including overflow-provoking offsets */
  qv_buffer bad;
  QV_CHECK_STATUS_E(qv_buffer_slice(&s1, 40, 11, &bad, &err), QV_E_RANGE, &err);
  QV_CHECK_CONTAINS(err.message, "outside the buffer's 50 bytes");
  QV_CHECK_STATUS(qv_buffer_slice(&s1, SIZE_MAX, 2, &bad, NULL), QV_E_RANGE);
  QV_CHECK_STATUS(qv_buffer_slice(&s1, 2, SIZE_MAX, &bad, NULL), QV_E_RANGE);
  QV_CHECK_OK(qv_buffer_slice(&s1, 50, 0, &bad, NULL)); /* empty at the end is fine */
  qv_buffer_unref(&bad);
  qv_buffer_unref(&b);
  QV_CHECK_UINT_EQ(qv_buffer_refcount(&s1), 2);
  qv_buffer_unref(&s1);
  QV_CHECK_UINT_EQ(s2.data[19], 34); /* still alive through s2 */
  qv_buffer_unref(&s2);
}

static int releases;
static void count_release(void *ctx, const void *data, size_t len) {
  (void)data;
  (void)len;
  releases++;
  *(int *)ctx += 1;
}

static void test_foreign_release_once(void) {
  static uint8_t mem[64] = {1, 2, 3};
  int ctx = 0;
  releases = 0;
  qv_buffer b, s, r;
  QV_REQUIRE_OK(qv_buffer_wrap(mem, sizeof mem, count_release, &ctx, NULL, &b, NULL));
  QV_CHECK(!qv_buffer_is_owned(&b));
  QV_REQUIRE_OK(qv_buffer_slice(&b, 1, 2, &s, NULL));
  qv_buffer_ref(&s, &r);
  qv_buffer_unref(&b);
  qv_buffer_unref(&s);
  QV_CHECK_INT_EQ(releases, 0);
  qv_buffer_unref(&r);
  QV_CHECK_INT_EQ(releases, 1);
  QV_CHECK_INT_EQ(ctx, 1);
  qv_buffer_unref(&r); /* already empty: no second release */
  QV_CHECK_INT_EQ(releases, 1);
}

static void test_foreign_release_on_nomem(void) {
  static uint8_t mem[8];
  int ctx = 0;
  qv_test_alloc t;
  qv_test_alloc_init(&t, 1);
  qv_buffer b;
  QV_CHECK_STATUS(qv_buffer_wrap(mem, 8, count_release, &ctx, &t.base, &b, NULL), QV_E_NOMEM);
  QV_CHECK_INT_EQ(ctx, 1); /* ownership passed even on failure */
  qv_test_alloc_check_clean(&t, "wrap");
}

static void test_cow_unique_whole_no_copy(void) {
  qv_buffer b;
  QV_REQUIRE_OK(qv_buffer_copy("abcdef", 6, NULL, &b, NULL));
  const uint8_t *p = b.data;
  qv_mbuffer m;
  QV_REQUIRE_OK(qv_buffer_into_mut(&b, &m, NULL));
  QV_CHECK(m.data == p);
  QV_CHECK_UINT_EQ(m.len, 6);
  QV_CHECK(b.owner == NULL);
  QV_REQUIRE_OK(qv_mbuffer_append(&m, "gh", 2, NULL));
  QV_CHECK_MEM_EQ(m.data, "abcdefgh", 8);
  qv_mbuffer_reset(&m);
}

static void test_cow_shared_copies(void) {
  qv_buffer b, keep;
  QV_REQUIRE_OK(qv_buffer_copy("abcdef", 6, NULL, &b, NULL));
  qv_buffer_ref(&b, &keep);
  qv_mbuffer m;
  QV_REQUIRE_OK(qv_buffer_into_mut(&b, &m, NULL));
  QV_CHECK(m.data != keep.data);
  QV_CHECK_UINT_EQ(m.len, 6);
  m.data[0] = 'X';
  QV_CHECK_UINT_EQ(keep.data[0], 'a'); /* the shared original is untouched */
  QV_CHECK_UINT_EQ(qv_buffer_refcount(&keep), 1);
  qv_mbuffer_reset(&m);
  qv_buffer_unref(&keep);
}

static void test_cow_slice_copies_window_only(void) {
  qv_buffer b, s;
  QV_REQUIRE_OK(qv_buffer_copy("0123456789", 10, NULL, &b, NULL));
  QV_REQUIRE_OK(qv_buffer_slice(&b, 3, 4, &s, NULL));
  qv_buffer_unref(&b); /* s is now unique, but not the whole allocation */
  QV_CHECK(qv_buffer_is_unique(&s));
  qv_mbuffer m;
  QV_REQUIRE_OK(qv_buffer_into_mut(&s, &m, NULL));
  QV_CHECK_UINT_EQ(m.len, 4);
  QV_CHECK_MEM_EQ(m.data, "3456", 4);
  /* nothing outside the window: the padding after it is zero */
  for (size_t i = 4; i < 64; i++) QV_CHECK_UINT_EQ(m.data[i], 0);
  qv_mbuffer_reset(&m);
}

static void test_cow_foreign_copies(void) {
  static uint8_t mem[16] = "foreign memory!";
  int ctx = 0;
  qv_buffer b;
  QV_REQUIRE_OK(qv_buffer_wrap(mem, 15, count_release, &ctx, NULL, &b, NULL));
  qv_mbuffer m;
  QV_REQUIRE_OK(qv_buffer_into_mut(&b, &m, NULL));
  QV_CHECK(m.data != mem);
  QV_CHECK_MEM_EQ(m.data, "foreign memory!", 15);
  QV_CHECK_INT_EQ(ctx, 1); /* the foreign reference was dropped */
  qv_mbuffer_reset(&m);
}

static void test_mbuffer_growth_and_padding(void) {
  qv_mbuffer m;
  qv_mbuffer_init(&m, NULL);
  for (int i = 0; i < 1000; i++) {
    uint8_t v = (uint8_t)(i | 1);
    QV_REQUIRE_OK(qv_mbuffer_append(&m, &v, 1, NULL));
    QV_CHECK_UINT_EQ(m.cap % 64, 0);
    QV_CHECK_UINT_EQ((uintptr_t)m.data % 64, 0);
  }
  QV_CHECK_UINT_EQ(m.len, 1000);
  for (size_t i = 1000; i < 1024; i++) QV_CHECK_UINT_EQ(m.data[i], 0);
  QV_REQUIRE_OK(qv_mbuffer_resize(&m, 10, NULL)); /* shrinking re-zeroes the tail */
  for (size_t i = 10; i < 1000; i++)
    if (m.data[i] != 0) {
      QV_CHECK_UINT_EQ(m.data[i], 0);
      break;
    }
  QV_CHECK_STATUS(qv_mbuffer_reserve(&m, SIZE_MAX, NULL), QV_E_OVERFLOW);
  qv_buffer b;
  uint8_t *p = m.data;
  QV_REQUIRE_OK(qv_mbuffer_finish(&m, &b, NULL));
  QV_CHECK(b.data == p);
  QV_CHECK_UINT_EQ(b.len, 10);
  QV_CHECK(m.data == NULL && m.len == 0);
  qv_buffer_unref(&b);
  qv_mbuffer_reset(&m);
}

static qv_status scenario(const qv_allocator *a, void *ctx) {
  (void)ctx;
  qv_status s;
  qv_buffer b = {0}, c = {0}, sl = {0};
  qv_mbuffer m;
  qv_mbuffer_init(&m, a);
  QV_TRY_GOTO(s, qv_buffer_copy("hello world", 11, a, &b, NULL), done);
  QV_TRY_GOTO(s, qv_buffer_slice(&b, 6, 5, &sl, NULL), done);
  for (int i = 0; i < 300; i++) QV_TRY_GOTO(s, qv_mbuffer_append(&m, "xyz", 3, NULL), done);
  QV_TRY_GOTO(s, qv_mbuffer_finish(&m, &c, NULL), done);
  QV_TRY_GOTO(s, qv_buffer_into_mut(&sl, &m, NULL), done); /* copy path */
  QV_TRY_GOTO(s, qv_buffer_wrap("static", 6, NULL, NULL, a, &sl, NULL), done);
done:
  qv_buffer_unref(&b);
  qv_buffer_unref(&c);
  qv_buffer_unref(&sl);
  qv_mbuffer_reset(&m);
  return s;
}

static void test_every_allocation_failure(void) {
  size_t points = qv_test_each_alloc_failure(scenario, NULL, "buffer scenario");
  QV_CHECK(points >= 5);
}

static void test_status_strings(void) {
  QV_CHECK_STR_EQ(qv_status_name(QV_E_CORRUPT), "QV_E_CORRUPT");
  QV_CHECK_STR_EQ(qv_status_name(12345), "QV_UNKNOWN");
  QV_CHECK_INT_EQ(QV_E_UNSUPPORTED, -6); /* pinned */
  qv_error err;
  qv_error_init(&err);
  QV_CHECK_INT_EQ(qv_error_set_at(&err, QV_E_CORRUPT, 4096, "buffer %d ends late", 2),
                  QV_E_CORRUPT);
  qv_error_prefix(&err, "record batch %d: ", 3);
  QV_CHECK_STR_EQ(err.message, "record batch 3: buffer 2 ends late");
  QV_CHECK_INT_EQ(err.offset, 4096);
  QV_CHECK_INT_EQ(qv_error_set(NULL, QV_E_IO, "x"), QV_E_IO);
}

QV_TEST_MAIN(QV_CASE(test_new_aligned_and_padded), QV_CASE(test_slice_of_slice),
             QV_CASE(test_foreign_release_once), QV_CASE(test_foreign_release_on_nomem),
             QV_CASE(test_cow_unique_whole_no_copy), QV_CASE(test_cow_shared_copies),
             QV_CASE(test_cow_slice_copies_window_only), QV_CASE(test_cow_foreign_copies),
             QV_CASE(test_mbuffer_growth_and_padding), QV_CASE(test_every_allocation_failure),
             QV_CASE(test_status_strings))
