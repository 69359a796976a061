/* test_arrow.c — the ndfile <-> Arrow bridge: regions read as flat and fixed-size-list arrays
 * (validated, values checked), written back from Arrow arrays, type and shape errors. */
#include <fcntl.h>
#include <unistd.h>

#include "quiver/array.h"
#include "support/nd_support.h"

static void test_float_grid_roundtrip(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "a.nd", NULL, &f, NULL));
  uint64_t shape[3] = {4, 5, 3}, chunk[3] = {3, 2, 2}, z[3] = {0, 0, 0};
  QV_REQUIRE_OK(nd_define(f, "g", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 3, shape, chunk, QV_ND_CODEC_LZ4, NULL));
  QV_REQUIRE_OK(nd_define(f, "h", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 3, shape, chunk, 0, NULL));
  float v[60];
  for (int i = 0; i < 60; i++) v[i] = (float)i * 1.5f;
  QV_CHECK_OK(qv_nd_write(f, "g", z, shape, v, sizeof v, NULL));
  uint64_t s1[3] = {1, 1, 0}, c1[3] = {2, 3, 3};
  qv_array *arr = NULL;
  QV_REQUIRE_OK_E(qv_nd_read_arrow(f, "g", s1, c1, NULL, &arr, &err), &err);
  QV_CHECK_OK_E(qv_array_validate(arr, QV_VALIDATE_FULL, &err), &err);
  QV_CHECK_INT_EQ(arr->type->id, QV_TYPE_FIXED_SIZE_LIST);
  QV_CHECK_INT_EQ(arr->type->list_size, 9);
  QV_CHECK_INT_EQ(arr->length, 2);
  qv_array *child = qv_array_child(arr, 0);
  QV_REQUIRE(child != NULL);
  QV_CHECK_INT_EQ(child->type->id, QV_TYPE_FLOAT);
  for (int r = 0; r < 2; r++)
    for (int k = 0; k < 9; k++) {
      int i = (1 + r) * 15 + (1 + k / 3) * 3 + k % 3;
      QV_CHECK_DBL_EQ(qv_array_get_f64(child, r * 9 + k), v[i]);
    }
  /* write it back into another array at the same place */
  QV_CHECK_OK_E(qv_nd_write_arrow(f, "h", s1, c1, arr, &err), &err);
  float a[18], b[18];
  QV_CHECK_OK(qv_nd_read(f, "g", s1, c1, a, sizeof a, NULL));
  QV_CHECK_OK(qv_nd_read(f, "h", s1, c1, b, sizeof b, NULL));
  QV_CHECK_MEM_EQ(a, b, sizeof a);
  /* a slice of the list array writes the right rows */
  qv_array *sl;
  QV_REQUIRE_OK(qv_array_slice(arr, 1, 1, &sl, NULL));
  uint64_t s2[3] = {0, 0, 0}, c2[3] = {1, 3, 3};
  QV_CHECK_OK_E(qv_nd_write_arrow(f, "h", s2, c2, sl, &err), &err);
  QV_CHECK_OK(qv_nd_read(f, "h", s2, c2, b, 9 * 4, NULL));
  QV_CHECK_MEM_EQ(b, a + 9, 9 * 4);
  /* errors */
  uint64_t c3[3] = {1, 3, 2};
  QV_CHECK_STATUS(qv_nd_write_arrow(f, "h", s2, c3, sl, NULL), QV_E_TYPE);
  uint64_t c4[3] = {2, 3, 3};
  QV_CHECK_STATUS(qv_nd_write_arrow(f, "h", s2, c4, sl, NULL), QV_E_INVALID);
  qv_array_unref(sl);
  qv_array_unref(arr);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

static void test_flat_bool_timestamp_strings(void) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "b.nd", NULL, &f, NULL));
  uint64_t n[1] = {13}, c[1] = {4}, z[1] = {0};
  QV_REQUIRE_OK(nd_define(f, "flags", (qv_nd_dtype){QV_ND_BOOL, 0}, 1, n, c, 0, NULL));
  QV_REQUIRE_OK(nd_define(f, "t", (qv_nd_dtype){QV_ND_TIMESTAMP_NS, 0}, 0, NULL, NULL, 0, NULL));
  QV_REQUIRE_OK(nd_define(f, "s", (qv_nd_dtype){QV_ND_STRING, 0}, 2, (uint64_t[]){2, 3}, (uint64_t[]){1, 2}, 0, NULL));
  QV_REQUIRE_OK(nd_define(f, "s2", (qv_nd_dtype){QV_ND_STRING, 0}, 2, (uint64_t[]){2, 3}, NULL, 0, NULL));
  uint8_t bits[13];
  for (int i = 0; i < 13; i++) bits[i] = (uint8_t)(i % 3 == 0);
  QV_CHECK_OK(qv_nd_write(f, "flags", z, n, bits, 13, NULL));
  int64_t ts = 1700000000123456789ll;
  QV_CHECK_OK(qv_nd_write(f, "t", NULL, NULL, &ts, 8, NULL));
  const void *vals[6] = {"a", "bb", "", "dddd", "e", "ff"};
  size_t lens[6] = {1, 2, 0, 4, 1, 2};
  QV_CHECK_OK(qv_nd_write_var(f, "s", (uint64_t[]){0, 0}, (uint64_t[]){2, 3}, vals, lens, 6, NULL));
  qv_array *arr;
  QV_REQUIRE_OK_E(qv_nd_read_arrow(f, "flags", NULL, NULL, NULL, &arr, &err), &err);
  QV_CHECK_OK_E(qv_array_validate(arr, QV_VALIDATE_FULL, &err), &err);
  QV_CHECK_INT_EQ(arr->type->id, QV_TYPE_BOOL);
  QV_CHECK_INT_EQ(arr->length, 13);
  for (int i = 0; i < 13; i++) QV_CHECK_INT_EQ(qv_array_get_bool(arr, i), bits[i]);
  qv_array *sl;
  QV_REQUIRE_OK(qv_array_slice(arr, 3, 9, &sl, NULL)); /* bit offset 3 */
  QV_CHECK_OK_E(qv_nd_write_arrow(f, "flags", (uint64_t[]){0}, (uint64_t[]){9}, sl, &err), &err);
  uint8_t got[13];
  QV_CHECK_OK(qv_nd_read(f, "flags", z, n, got, 13, NULL));
  for (int i = 0; i < 9; i++) QV_CHECK_INT_EQ(got[i], bits[i + 3]);
  qv_array_unref(sl);
  qv_array_unref(arr);
  QV_REQUIRE_OK_E(qv_nd_read_arrow(f, "t", NULL, NULL, NULL, &arr, &err), &err);
  QV_CHECK_INT_EQ(arr->type->id, QV_TYPE_TIMESTAMP);
  QV_CHECK_INT_EQ(arr->type->unit, QV_TIME_NANO);
  QV_CHECK_INT_EQ(arr->length, 1);
  QV_CHECK_INT_EQ(qv_array_get_i64(arr, 0), ts);
  qv_array_unref(arr);
  QV_REQUIRE_OK_E(qv_nd_read_arrow(f, "s", NULL, NULL, NULL, &arr, &err), &err);
  QV_CHECK_OK_E(qv_array_validate(arr, QV_VALIDATE_FULL, &err), &err);
  QV_CHECK_INT_EQ(arr->type->id, QV_TYPE_FIXED_SIZE_LIST);
  qv_array *ch = qv_array_child(arr, 0);
  QV_CHECK_INT_EQ(ch->type->id, QV_TYPE_STRING);
  const uint8_t *p;
  size_t l;
  qv_array_get_bytes(ch, 3, &p, &l);
  QV_CHECK(l == 4 && memcmp(p, "dddd", 4) == 0);
  QV_CHECK_OK_E(qv_nd_write_arrow(f, "s2", NULL, NULL, arr, &err), &err);
  qv_nd_varbuf vb;
  QV_REQUIRE_OK(qv_nd_read_var(f, "s2", (uint64_t[]){0, 0}, (uint64_t[]){2, 3}, &vb, NULL));
  QV_CHECK_UINT_EQ(vb.data_len, 10);
  QV_CHECK_MEM_EQ(vb.data, "abbddddeff", 10);
  qv_nd_varbuf_reset(&vb);
  QV_CHECK_STATUS(qv_nd_write_arrow(f, "flags", NULL, NULL, arr, NULL), QV_E_INVALID);
  qv_array_unref(arr);
  qv_nd_close(f);
  qv_nd_store_close(st);
}

/* A region that is exactly one whole stored uncompressed chunk reads as a view of the mapped
 * layer (no copy): checked, valid after compaction and close; anything else is copied. */
static void test_chunk_views(void) {
  static const uint64_t shape[2] = {300, 200}, chunk[2] = {128, 128}, z[2] = {0, 0};
  double *v = malloc(300 * 200 * sizeof *v);
  QV_REQUIRE(v != NULL);
  for (int i = 0; i < 300 * 200; i++) v[i] = (double)i / 3.0;
  char dir[] = "/tmp/qv-views-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  for (int posix = 0; posix < 2; posix++) {
    qv_nd_store *st;
    qv_nd_file *f;
    qv_error err;
    if (posix) QV_REQUIRE_OK(qv_nd_store_posix_open(dir, QV_ND_POSIX_NO_FSYNC, NULL, &st, NULL));
    else QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
    QV_REQUIRE_OK(qv_nd_create(st, "v.nd", NULL, &f, NULL));
    QV_REQUIRE_OK(nd_define(f, "m", (qv_nd_dtype){QV_ND_FLOAT64, 0}, 2, shape, chunk, 0, NULL));
    QV_REQUIRE_OK(nd_define(f, "c", (qv_nd_dtype){QV_ND_FLOAT64, 0}, 2, shape, chunk, QV_ND_CODEC_ZSTD, NULL));
    /* (a layer of its own: blocks after compressed ones of another array could be unaligned
     * for float64, and are then copied) */
    QV_REQUIRE_OK(qv_nd_write(f, "m", z, shape, v, 300 * 200 * sizeof *v, NULL));
    QV_REQUIRE_OK(qv_nd_flush(f, NULL));
    QV_REQUIRE_OK(qv_nd_write(f, "c", z, shape, v, 300 * 200 * sizeof *v, NULL));
    QV_REQUIRE_OK(qv_nd_flush(f, NULL));
    qv_array *keep = NULL;
    for (uint64_t ci = 0; ci < 3; ci++)
      for (uint64_t cj = 0; cj < 2; cj++) { /* every chunk, clipped edges included */
        uint64_t s0[2] = {ci * 128, cj * 128};
        uint64_t c0[2] = {ci < 2 ? 128 : 300 - 256, cj < 1 ? 128 : 200 - 128};
        qv_array *arr = NULL;
        QV_REQUIRE_OK_E(qv_nd_read_arrow(f, "m", s0, c0, NULL, &arr, &err), &err);
        QV_CHECK_OK_E(qv_array_validate(arr, QV_VALIDATE_FULL, &err), &err);
        qv_array *child = qv_array_child(arr, 0);
        if (qv_buffer_is_owned(&child->buffers[1])) /* a view, not a copy */
          QV__FAIL("store %d chunk (%llu,%llu) was copied", posix, (unsigned long long)ci, (unsigned long long)cj);
        for (uint64_t r = 0; r < c0[0]; r++)
          for (uint64_t k = 0; k < c0[1]; k += 17)
            QV_CHECK_DBL_EQ(qv_array_get_f64(child, (int64_t)(r * c0[1] + k)), v[(s0[0] + r) * 200 + s0[1] + k]);
        if (!keep) keep = arr;
        else qv_array_unref(arr);
      }
    /* copies: part of a chunk, a compressed chunk, a chunk with a pending overwrite */
    qv_array *arr = NULL;
    QV_REQUIRE_OK(qv_nd_read_arrow(f, "m", (uint64_t[]){0, 0}, (uint64_t[]){128, 127}, NULL, &arr, NULL));
    QV_CHECK(qv_buffer_is_owned(&qv_array_child(arr, 0)->buffers[1]));
    qv_array_unref(arr);
    QV_REQUIRE_OK(qv_nd_read_arrow(f, "c", z, chunk, NULL, &arr, NULL));
    QV_CHECK(qv_buffer_is_owned(&qv_array_child(arr, 0)->buffers[1]));
    qv_array_unref(arr);
    double one = -1;
    QV_REQUIRE_OK(qv_nd_write(f, "m", (uint64_t[]){129, 1}, (uint64_t[]){1, 1}, &one, sizeof one, NULL));
    QV_REQUIRE_OK(qv_nd_read_arrow(f, "m", (uint64_t[]){128, 0}, chunk, NULL, &arr, NULL));
    QV_CHECK(qv_buffer_is_owned(&qv_array_child(arr, 0)->buffers[1]));
    QV_CHECK_DBL_EQ(qv_array_get_f64(qv_array_child(arr, 0), 129), -1.0);
    qv_array_unref(arr);
    /* the view outlives compaction (its layer is removed) and the file */
    QV_CHECK_OK_E(qv_nd_compact(f, &err), &err);
    qv_nd_close(f);
    qv_array *child = qv_array_child(keep, 0);
    double sum = 0, want = 0;
    for (int r = 0; r < 128; r++)
      for (int k = 0; k < 128; k++) {
        sum += qv_array_get_f64(child, r * 128 + k);
        want += v[r * 200 + k];
      }
    QV_CHECK_DBL_EQ(sum, want);
    qv_array_unref(keep);
    if (posix) { /* a flipped byte of the block is found before any view is made */
      QV_REQUIRE_OK(qv_nd_open(st, "v.nd", NULL, &f, NULL));
      qv_nd_layer_desc ld;
      QV_REQUIRE_OK(qv_nd_layer_info(f, 0, &ld, NULL));
      char path[128];
      snprintf(path, sizeof path, "%s/v.nd/layer-%020llu.qnd", dir, (unsigned long long)ld.seq);
      int fd = open(path, O_RDWR);
      QV_REQUIRE(fd >= 0);
      /* the last block before the footer: "m" chunk (2,1) (arrays and chunks in order) */
      uint8_t t8[8], byte;
      QV_REQUIRE(pread(fd, t8, 8, (off_t)ld.bytes - 40) == 8);
      uint64_t flen = 0;
      for (int i = 0; i < 8; i++) flen |= (uint64_t)t8[i] << (8 * i);
      off_t at = (off_t)(ld.bytes - 40 - flen - 10);
      QV_REQUIRE(pread(fd, &byte, 1, at) == 1);
      byte ^= 4;
      QV_REQUIRE(pwrite(fd, &byte, 1, at) == 1);
      QV_CHECK_STATUS_E(qv_nd_read_arrow(f, "m", (uint64_t[]){256, 128}, (uint64_t[]){44, 72}, NULL, &arr, &err),
                        QV_E_CORRUPT, &err);
      QV_CHECK_CONTAINS(err.message, "'m' chunk (2,1): checksum mismatch");
      QV_CHECK_OK(qv_nd_read_arrow(f, "m", z, chunk, NULL, &arr, NULL)); /* the others are fine */
      qv_array_unref(arr);
      close(fd);
      qv_nd_close(f);
    }
    qv_nd_store_close(st);
  }
  nd_rmdir(dir);
  free(v);
}

/* A region outside the array fails with QV_E_RANGE, also where it has the shape of a whole
 * chunk (the zero-copy view must not map a start past the end onto another chunk), and before
 * an output buffer is sized by it. */
static void test_view_region_outside(void) {
  static const uint64_t shape[2] = {4, 4}, chunk[2] = {2, 2}, z[2] = {0, 0};
  int32_t v[16];
  for (int i = 0; i < 16; i++) v[i] = i + 1;
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "o.nd", NULL, &f, NULL));
  QV_REQUIRE_OK(nd_define(f, "m", (qv_nd_dtype){QV_ND_INT32, 0}, 2, shape, chunk, 0, NULL));
  QV_REQUIRE_OK(qv_nd_write(f, "m", z, shape, v, sizeof v, NULL));
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  qv_array *arr = NULL;
  QV_REQUIRE_OK(qv_nd_read_arrow(f, "m", (uint64_t[]){2, 2}, chunk, NULL, &arr, NULL)); /* a view */
  QV_CHECK(!qv_buffer_is_owned(&qv_array_child(arr, 0)->buffers[1]));
  qv_array_unref(arr);
  static const uint64_t outside[][2] = {{0, 6}, {6, 0}, {2, 6}, {0, 4}, {4, 2}};
  /* a shape far larger than the array: QV_E_RANGE before any output is allocated for it */
  arr = NULL;
  QV_CHECK_STATUS_E(qv_nd_read_arrow(f, "m", z, (uint64_t[]){(uint64_t)1 << 40, 4}, NULL, &arr, &err), QV_E_RANGE, &err);
  if (arr) qv_array_unref(arr);
  for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
    arr = NULL;
    QV_CHECK_STATUS_E(qv_nd_read_arrow(f, "m", outside[i], chunk, NULL, &arr, &err), QV_E_RANGE, &err);
    if (arr) qv_array_unref(arr);
  }
  qv_nd_close(f);
  qv_nd_store_close(st);
}

QV_TEST_MAIN(QV_CASE(test_float_grid_roundtrip), QV_CASE(test_flat_bool_timestamp_strings),
             QV_CASE(test_chunk_views), QV_CASE(test_view_region_outside))
