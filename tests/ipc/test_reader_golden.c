/* test_reader_golden.c — the reader over every golden .stream / .arrow_file of the Arrow
 * integration corpus: each must parse (or fail with QV_E_UNSUPPORTED and a message); the stream
 * and file forms must hold the same table; file batches read with single-column projection must
 * equal the same columns of the full read. (Value-level comparison with the JSON is the
 * conformance tests' job.) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qv_test.h"
#include "quiver/ipc_reader.h"

static int n_ok, n_unsupported;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reads every column of every batch of a file one column at a time and compares with `full`. */
static void check_projection(const char *path, const qv_table *full) {
  qv_error err;
  qv_error_init(&err);
  qv_ipc_file *f = NULL;
  qv_status s = qv_ipc_file_open_path(path, NULL, NULL, &f, &err);
  QV_CHECK_OK_E(s, &err);
  if (s != QV_OK) return;
  QV_CHECK_INT_EQ(qv_ipc_file_num_batches(f), full->n_batches);
  const qv_schema *sc = qv_ipc_file_schema(f);
  for (int64_t i = 0; i < qv_ipc_file_num_batches(f) && i < full->n_batches; i++) {
    int64_t rows = -1;
    QV_CHECK_OK_E(qv_ipc_file_batch_rows(f, i, &rows, &err), &err);
    QV_CHECK_INT_EQ(rows, full->batches[i]->length);
    for (int32_t c = sc->n_fields - 1; c >= 0; c--) {
      qv_batch *b = NULL;
      s = qv_ipc_file_read_batch(f, i, &c, 1, &b, &err);
      QV_CHECK_OK_E(s, &err);
      if (s != QV_OK) continue;
      QV_CHECK_INT_EQ(b->n_columns, 1);
      qv_error diff;
      qv_error_init(&diff);
      if (!qv_array_equal(b->columns[0], full->batches[i]->columns[c], &diff))
        QV__FAIL("%s batch %lld column %d: projection differs: %s", path, (long long)i, c,
                 diff.message);
      qv_batch_unref(b);
    }
  }
  qv_ipc_file_close(f);
}

static void check_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  char *names[512];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512) {
    const char *x = strrchr(e->d_name, '.');
    if (x && (!strcmp(x, ".stream") || !strcmp(x, ".arrow_file"))) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp_str);
  for (size_t i = 0; i < n; i++) {
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    qv_error err;
    qv_error_init(&err);
    qv_table *t = NULL;
    qv_status s = qv_ipc_read_path(path, NULL, NULL, &t, &err);
    if (s == QV_OK) {
      n_ok++;
      if (strstr(names[i], ".arrow_file")) check_projection(path, t);
      /* The stream twin must hold the same table. (map_non_canonical: the stream holds
       * canonical map child names, the file the original ones, so their schemas differ.) */
      if (strstr(names[i], ".arrow_file") && !strstr(names[i], "map_non_canonical")) {
        char spath[1400];
        snprintf(spath, sizeof spath, "%s", path);
        strcpy(strrchr(spath, '.'), ".stream");
        qv_table *st = NULL;
        qv_error e2;
        qv_error_init(&e2);
        if (qv_ipc_read_path(spath, NULL, NULL, &st, &e2) == QV_OK) {
          qv_error diff;
          qv_error_init(&diff);
          if (!qv_table_equal(t, st, &diff))
            QV__FAIL("%s: file and stream differ: %s", path, diff.message);
          qv_table_free(st);
        }
      }
      qv_table_free(t);
    } else if (s == QV_E_UNSUPPORTED && err.message[0]) {
      n_unsupported++;
      printf("  unsupported: %s: %s\n", path, err.message);
    } else {
      QV__FAIL("%s: %s: %s", path, qv_status_name(s), err.message);
    }
    free(names[i]);
  }
}

static void test_golden_all(void) {
  const char *root = qv_test_corpora_dir();
  if (!root) return;
  char base[600];
  snprintf(base, sizeof base, "%s/arrow-ipc-integration", root);
  DIR *d = opendir(base);
  if (!d) {
    printf("  SKIP: %s not found\n", base);
    return;
  }
  char *subs[64];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64)
    if (e->d_name[0] != '.') subs[n++] = strdup(e->d_name);
  closedir(d);
  qsort(subs, n, sizeof subs[0], cmp_str);
  for (size_t i = 0; i < n; i++) {
    char dir[900];
    snprintf(dir, sizeof dir, "%s/%s", base, subs[i]);
    check_dir(dir);
    free(subs[i]);
  }
  printf("  golden files: %d read, %d unsupported\n", n_ok, n_unsupported);
  QV_CHECK(n_ok > 100);
}

QV_TEST_MAIN(QV_CASE(test_golden_all))
