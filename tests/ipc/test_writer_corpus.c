/* test_writer_corpus.c — the writer over real-world data: every stream of the Arrow integration
 * corpus (written by Arrow C++) is read, each batch sliced at awkward offsets (not multiples of
 * 8, empty, single rows), the slices written in both formats, read back and compared. Exercises
 * slicing of nested, union, dictionary, view, run-end-encoded and large-offset data that the
 * builders do not produce. Skips (loudly) when the corpora are not there. */
#include <dirent.h>

#include "test_writer_util.h"

static int n_files, n_slices;

static void slice_and_roundtrip(const char *name, const qv_table *t) {
  /* all slices of the table's batches, in one stream and one file */
  qv_batch *sl[64];
  int n = 0;
  for (int64_t i = 0; i < t->n_batches && n < 60; i++) {
    const qv_batch *b = t->batches[i];
    int64_t len = b->length;
    int64_t cuts[4][2] = {{1, len > 2 ? len - 2 : 0}, {len / 2, len - len / 2}, {3, 0},
                          {len > 9 ? 9 : 0, len > 9 ? 1 : 0}};
    for (int c = 0; c < 4; c++) {
      if (cuts[c][0] > len || cuts[c][1] > len - cuts[c][0]) continue;
      qv_error err;
      qv_status st = qv_batch_slice(b, cuts[c][0], cuts[c][1], &sl[n], &err);
      QV_CHECK_OK_E(st, &err);
      if (st == QV_OK) n++;
    }
  }
  for (int fmt = 0; fmt < 2; fmt++) {
    qv_ipc_write_options o = qv_ipc_write_options_default();
    o.format = (qv_ipc_format)fmt;
    o.compression = fmt ? QV_IPC_COMPRESSION_ZSTD : QV_IPC_COMPRESSION_LZ4_FRAME;
    qv_mbuffer mb;
    qv_error err;
    qv_status st = w_write(t->schema, sl, n, &o, NULL, &mb, &err);
    if (fmt == 1 && st == QV_E_INVALID && strstr(err.message, "replacement")) continue;
    QV_CHECK_OK_E(st, &err);
    if (st != QV_OK) {
      fprintf(stderr, "  %s (format %d)\n", name, fmt);
      continue;
    }
    static wlayout lay;
    if (w_check_bytes(mb.data, mb.len, o.format, &lay)) fprintf(stderr, "  %s\n", name);
    qv_table *back;
    st = w_read(&mb, &back, &err);
    QV_CHECK_OK_E(st, &err);
    if (st == QV_OK) {
      QV_CHECK_INT_EQ(back->n_batches, n);
      for (int i = 0; i < n && i < back->n_batches; i++) {
        qv_error diff;
        bool eq = qv_batch_equal(sl[i], back->batches[i], &diff);
        QV_CHECK(eq);
        if (!eq) fprintf(stderr, "  %s format %d slice %d: %s\n", name, fmt, i, diff.message);
        n_slices++;
      }
      qv_table_free(back);
    } else {
      fprintf(stderr, "  %s (format %d)\n", name, fmt);
    }
    qv_mbuffer_reset(&mb);
  }
  for (int i = 0; i < n; i++) qv_batch_unref(sl[i]);
}

static void run_dir(const char *sub) {
  const char *root = qv_test_corpora_dir();
  if (!root) return;
  char dir[4400];
  snprintf(dir, sizeof dir, "%s/arrow-ipc-integration/%s", root, sub);
  DIR *d = opendir(dir);
  if (!d) {
    printf("SKIP: %s not found\n", dir);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l < 7 || strcmp(e->d_name + l - 7, ".stream") != 0) continue;
    char path[4800];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    qv_table *t = NULL;
    qv_error err;
    qv_ipc_read_options ro = qv_ipc_read_options_default();
    qv_status st = qv_ipc_read_path(path, &ro, NULL, &t, &err);
    if (st == QV_E_UNSUPPORTED) { /* the reader's business; not this test's */
      printf("  skip %s: %s\n", e->d_name, err.message);
      continue;
    }
    QV_CHECK_OK_E(st, &err);
    if (st != QV_OK) continue;
    n_files++;
    slice_and_roundtrip(e->d_name, t);
    qv_table_free(t);
  }
  closedir(d);
}

static void test_cpp_21(void) {
  run_dir("cpp-21.0.0");
  printf("  %d files, %d slices compared\n", n_files, n_slices);
}

static void test_1_0_0_bigendian(void) {
  /* big-endian input: the reader swaps to native, the writer writes little-endian */
  n_files = n_slices = 0;
  run_dir("1.0.0-bigendian");
  printf("  %d files, %d slices compared\n", n_files, n_slices);
}

QV_TEST_MAIN(QV_CASE(test_cpp_21), QV_CASE(test_1_0_0_bigendian))
