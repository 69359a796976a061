/* test_npy.c — the .npy bridge: header parsing (v1/v2, dtypes, shapes) with malformed inputs
 * paired with their statuses, header writing, and import/export through files. */
#include <unistd.h>

#include "support/nd_support.h"

static size_t mk(uint8_t *buf, int major, const char *dict, size_t data_len) {
  size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
  size_t total = (pre + dl + 1 + 63) / 64 * 64;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (uint8_t)major;
  buf[7] = 0;
  size_t hl = total - pre;
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); i++) buf[8 + i] = (uint8_t)(hl >> (8 * i));
  memcpy(buf + pre, dict, dl);
  memset(buf + pre + dl, ' ', total - pre - dl - 1);
  buf[total - 1] = '\n';
  memset(buf + total, 0x11, data_len);
  return total + data_len;
}

static void test_parse_valid(void) {
  uint8_t buf[4096];
  qv_npy_view v;
  qv_error err;
  size_t n = mk(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 48);
  QV_CHECK_OK_E(qv_npy_parse(buf, n, &v, &err), &err);
  QV_CHECK_INT_EQ(v.dtype.type, QV_ND_FLOAT32);
  QV_CHECK_UINT_EQ(v.rank, 2);
  QV_CHECK_UINT_EQ(v.shape[1], 4);
  QV_CHECK_UINT_EQ(v.data_len, 48);
  n = mk(buf, 2, "{'shape': (), 'fortran_order': False, 'descr': '|b1'}", 1);
  QV_CHECK_OK_E(qv_npy_parse(buf, n, &v, &err), &err);
  QV_CHECK_INT_EQ(v.dtype.type, QV_ND_BOOL);
  QV_CHECK_UINT_EQ(v.rank, 0);
  n = mk(buf, 1, "{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,), }", 16);
  QV_CHECK_OK_E(qv_npy_parse(buf, n, &v, &err), &err);
  QV_CHECK_INT_EQ(v.dtype.type, QV_ND_TIMESTAMP_NS);
  /* our own header round-trips */
  uint64_t shape[3] = {2, 3, 5};
  size_t hl;
  QV_REQUIRE_OK(qv_npy_header((qv_nd_dtype){QV_ND_INT16, 0}, 3, shape, buf, sizeof buf, &hl, NULL));
  QV_CHECK_UINT_EQ(hl % 64, 0);
  memset(buf + hl, 0, 60);
  QV_CHECK_OK_E(qv_npy_parse(buf, hl + 60, &v, &err), &err);
  QV_CHECK_INT_EQ(v.dtype.type, QV_ND_INT16);
  QV_CHECK_UINT_EQ(v.shape[2], 5);
  QV_CHECK_STATUS(qv_npy_header((qv_nd_dtype){QV_ND_STRING, 0}, 1, shape, buf, sizeof buf, &hl, NULL), QV_E_UNSUPPORTED);
}

static void test_parse_malformed(void) {
  struct {
    int major;
    const char *dict;
    size_t data;
    qv_status want;
    const char *msg;
  } cases[] = {
      {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", 12, QV_E_UNSUPPORTED, "fortran_order"},
      {1, "{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", 24, QV_E_UNSUPPORTED, "big-endian"},
      {1, "{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", 48, QV_E_UNSUPPORTED, "not supported"},
      {1, "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (3,), }", 12, QV_E_UNSUPPORTED, "structured"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 11, QV_E_CORRUPT, "data is 11 bytes"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 13, QV_E_CORRUPT, "data is 13 bytes"},
      {1, "{'descr': '<f4', 'fortran_order': False}", 4, QV_E_CORRUPT, "lacks"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4, QV_E_CORRUPT, "overflows"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 4, QV_E_CORRUPT, "overflows"},
      {1, "{'descr': '<f4', 'fortran_order': maybe, 'shape': (3,), }", 12, QV_E_CORRUPT, "True/False"},
      {1, "{'descr': '<f4', 'extra': 1, 'fortran_order': False, 'shape': (3,), }", 12, QV_E_CORRUPT, "unknown header key"},
      {1, "['descr']", 0, QV_E_CORRUPT, "not a dict"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,x), }", 12, QV_E_CORRUPT, "malformed shape"},
      {7, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12, QV_E_UNSUPPORTED, "version 7"},
  };
  uint8_t buf[4096];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    qv_npy_view v;
    qv_error err;
    qv_error_init(&err);
    size_t n = mk(buf, cases[i].major == 7 ? 1 : cases[i].major, cases[i].dict, cases[i].data);
    if (cases[i].major == 7) buf[6] = 7;
    qv_status s = qv_npy_parse(buf, n, &v, &err);
    if (s != cases[i].want || !strstr(err.message, cases[i].msg))
      QV__FAIL("case %zu: got %s (%s), want %s '%s'", i, qv_status_name(s), err.message,
               qv_status_name(cases[i].want), cases[i].msg);
  }
  /* truncations of a valid file never crash and fail cleanly */
  size_t n = mk(buf, 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 2), }", 8);
  for (size_t cut = 0; cut < n; cut++) {
    qv_npy_view v;
    qv_status s = qv_npy_parse(buf, cut, &v, NULL);
    if (s == QV_OK) QV__FAIL("truncated to %zu bytes but parsed", cut);
  }
  QV_CHECK_STATUS(qv_npy_parse("NUMPY", 5, &(qv_npy_view){0}, NULL), QV_E_CORRUPT);
}

static void test_import_export_files(void) {
  char dir[] = "/tmp/qv-nd-npy-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  char in[256], out[256];
  snprintf(in, sizeof in, "%s/in.npy", dir);
  snprintf(out, sizeof out, "%s/out.npy", dir);
  uint8_t hdr[4096];
  uint64_t shape[2] = {7, 9};
  size_t hl;
  QV_REQUIRE_OK(qv_npy_header((qv_nd_dtype){QV_ND_UINT16, 0}, 2, shape, hdr, sizeof hdr, &hl, NULL));
  uint16_t data[63];
  for (int i = 0; i < 63; i++) data[i] = (uint16_t)(i * 1000);
  FILE *fp = fopen(in, "wb");
  QV_REQUIRE(fp != NULL);
  fwrite(hdr, 1, hl, fp);
  fwrite(data, 1, sizeof data, fp);
  fclose(fp);
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "n.nd", NULL, &f, NULL));
  qv_nd_array_def d = qv_nd_array_def_default();
  d.name = "u";
  d.rank = 2;
  d.chunk_shape = (uint64_t[]){4, 4};
  d.codec = QV_ND_CODEC_ZSTD;
  QV_CHECK_OK_E(qv_nd_import_npy(f, &d, in, &err), &err);
  qv_nd_info info;
  QV_REQUIRE_OK(qv_nd_info_get(f, "u", &info, NULL));
  QV_CHECK_INT_EQ(info.dtype.type, QV_ND_UINT16);
  QV_CHECK_UINT_EQ(info.shape[1], 9);
  QV_CHECK_UINT_EQ(info.chunk_shape[0], 4);
  QV_CHECK_OK_E(qv_nd_export_npy(f, "u", (uint64_t[]){2, 3}, (uint64_t[]){3, 4}, out, &err), &err);
  size_t len;
  unsigned char *bytes = qv_test_read_file(out, &len);
  QV_REQUIRE(bytes != NULL);
  qv_npy_view v;
  QV_CHECK_OK_E(qv_npy_parse(bytes, len, &v, &err), &err);
  QV_CHECK_UINT_EQ(v.rank, 2);
  QV_CHECK_UINT_EQ(v.shape[0], 3);
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++) {
      uint16_t got;
      memcpy(&got, v.data + (r * 4 + c) * 2, 2);
      QV_CHECK_UINT_EQ(got, data[(2 + r) * 9 + 3 + c]);
    }
  free(bytes);
  QV_CHECK_STATUS(qv_nd_import_npy(f, &d, "/nonexistent/x.npy", NULL), QV_E_NOTFOUND);
  d.name = "again";
  d.chunk_shape = (uint64_t[]){4, 4, 4};
  d.rank = 3;
  QV_CHECK_STATUS(qv_nd_import_npy(f, &d, in, NULL), QV_E_INVALID);
  qv_nd_close(f);
  qv_nd_store_close(st);
  unlink(in);
  unlink(out);
  rmdir(dir);
}

/* Exports bigger than a band (8 MiB) are written band by band; bad regions fail before any
 * file exists; imports also read from a pipe (not mappable). */
static void test_export_bands_and_pipes(void) {
  char dir[] = "/tmp/qv-nd-npy-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  char out[256];
  snprintf(out, sizeof out, "%s/big.npy", dir);
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "b.nd", NULL, &f, NULL));
  uint64_t shape[2] = {2500, 1000}; /* 20 MB of float64: three bands */
  QV_REQUIRE_OK(nd_define(f, "x", (qv_nd_dtype){QV_ND_FLOAT64, 0}, 2, shape, (uint64_t[]){256, 256}, 0, NULL));
  double *v = malloc(2500 * 1000 * sizeof *v);
  QV_REQUIRE(v != NULL);
  for (size_t i = 0; i < 2500 * 1000; i++) v[i] = (double)i * 0.25;
  QV_REQUIRE_OK(qv_nd_write(f, "x", (uint64_t[]){0, 0}, shape, v, 2500 * 1000 * sizeof *v, NULL));
  QV_CHECK_OK_E(qv_nd_export_npy(f, "x", (uint64_t[]){1, 0}, NULL, out, &err), &err); /* rows 1.. */
  size_t len;
  unsigned char *bytes = qv_test_read_file(out, &len);
  QV_REQUIRE(bytes != NULL);
  qv_npy_view nv;
  QV_CHECK_OK_E(qv_npy_parse(bytes, len, &nv, &err), &err);
  QV_CHECK_UINT_EQ(nv.shape[0], 2499);
  QV_CHECK_UINT_EQ(nv.data_len, 2499 * 1000 * sizeof *v);
  if (nv.data_len == 2499 * 1000 * sizeof *v) QV_CHECK_MEM_EQ(nv.data, v + 1000, nv.data_len);
  /* and back in, through a pipe (read, not mapped) */
  int pfd[2];
  QV_REQUIRE(pipe(pfd) == 0);
  char small_path[256];
  snprintf(small_path, sizeof small_path, "%s/small.npy", dir);
  QV_CHECK_OK_E(qv_nd_export_npy(f, "x", (uint64_t[]){5, 7}, (uint64_t[]){3, 4}, small_path, &err), &err);
  size_t slen;
  unsigned char *sb = qv_test_read_file(small_path, &slen);
  QV_REQUIRE(sb != NULL && slen < 4096);
  QV_REQUIRE(write(pfd[1], sb, slen) == (ssize_t)slen);
  close(pfd[1]);
  char fdpath[64];
  snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", pfd[0]);
  qv_nd_array_def d = qv_nd_array_def_default();
  d.name = "piped";
  QV_CHECK_OK_E(qv_nd_import_npy(f, &d, fdpath, &err), &err);
  close(pfd[0]);
  double got[12];
  QV_CHECK_OK(qv_nd_read(f, "piped", (uint64_t[]){0, 0}, (uint64_t[]){3, 4}, got, sizeof got, NULL));
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++) QV_CHECK_DBL_EQ(got[r * 4 + c], v[(5 + r) * 1000 + 7 + c]);
  /* regions outside the array: QV_E_RANGE, and no file left behind */
  char bad[256];
  snprintf(bad, sizeof bad, "%s/bad.npy", dir);
  QV_CHECK_STATUS(qv_nd_export_npy(f, "x", (uint64_t[]){2600, 0}, NULL, bad, NULL), QV_E_RANGE);
  QV_CHECK_STATUS(qv_nd_export_npy(f, "x", (uint64_t[]){2000, 0}, (uint64_t[]){600, 10}, bad, NULL), QV_E_RANGE);
  QV_CHECK(access(bad, F_OK) != 0);
  free(bytes);
  free(sb);
  free(v);
  qv_nd_close(f);
  qv_nd_store_close(st);
  unlink(out);
  unlink(small_path);
  rmdir(dir);
}

/* An export whose rows hold no bytes (an extent 0 beyond dimension 0) is one empty read, not
 * one read per row: 2^28 rows export as one band, giving a valid empty .npy. */
static void test_export_empty_rows(void) {
  char dir[] = "/tmp/qv-nd-npy-XXXXXX";
  QV_REQUIRE(mkdtemp(dir) != NULL);
  char out[256];
  snprintf(out, sizeof out, "%s/empty.npy", dir);
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  QV_REQUIRE_OK(qv_nd_create(st, "e.nd", NULL, &f, NULL));
  uint64_t shape[2] = {(uint64_t)1 << 28, 2};
  QV_REQUIRE_OK(nd_define(f, "x", (qv_nd_dtype){QV_ND_INT16, 0}, 2, shape, (uint64_t[]){1 << 24, 2}, 0, NULL));
  /* (one band for all the empty rows: read row by row this took ~24 s; no timing asserted) */
  QV_CHECK_OK_E(qv_nd_export_npy(f, "x", (uint64_t[]){0, 1}, (uint64_t[]){(uint64_t)1 << 28, 0}, out, &err), &err);
  size_t len;
  unsigned char *bytes = qv_test_read_file(out, &len);
  QV_REQUIRE(bytes != NULL);
  qv_npy_view nv;
  QV_CHECK_OK_E(qv_npy_parse(bytes, len, &nv, &err), &err);
  QV_CHECK_UINT_EQ(nv.rank, 2);
  QV_CHECK_UINT_EQ(nv.shape[0], (uint64_t)1 << 28);
  QV_CHECK_UINT_EQ(nv.shape[1], 0);
  QV_CHECK_UINT_EQ(nv.data_len, 0);
  free(bytes);
  qv_nd_close(f);
  qv_nd_store_close(st);
  unlink(out);
  rmdir(dir);
}

QV_TEST_MAIN(QV_CASE(test_parse_valid), QV_CASE(test_parse_malformed), QV_CASE(test_import_export_files),
             QV_CASE(test_export_bands_and_pipes), QV_CASE(test_export_empty_rows))
