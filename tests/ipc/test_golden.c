/* test_golden.c — conformance over the Arrow IPC golden files: every .stream and .arrow_file of
 * ../shared/corpora/arrow-ipc-integration/<producer>/ is read with quiver and compared, types,
 * metadata and values, with its .json.gz; then written back by quiver in both formats (and
 * compressed), read again and compared again. Unsupported features must say QV_E_UNSUPPORTED
 * and are listed; any other failure fails the test. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qv_test.h"
#include "quiver/ipc.h"
#include "quiver/table.h"
#include "support/arrow_json.h"

#define MAX_UNSUPPORTED 256
static char *unsupported[MAX_UNSUPPORTED];
static int n_unsupported;
static int n_checked;

static void note_unsupported(const char *what, const qv_error *err) {
  char line[1024];
  snprintf(line, sizeof line, "%s: %s", what, err->message);
  printf("  UNSUPPORTED %s\n", line);
  if (n_unsupported < MAX_UNSUPPORTED) unsupported[n_unsupported++] = strdup(line);
}

/* Compares a table read by quiver with the expected one; prints the first difference. */
static bool same(const char *what, const qv_table *got, const qv_table *want) {
  qv_error diff;
  qv_error_init(&diff);
  if (!qv_test_schema_equal_md(got->schema, want->schema, &diff)) {
    QV__FAIL("%s: %s", what, diff.message);
    return false;
  }
  if (got->n_rows != want->n_rows) {
    QV__FAIL("%s: %lld rows, want %lld", what, (long long)got->n_rows, (long long)want->n_rows);
    return false;
  }
  if (!qv_table_equal(got, want, &diff)) {
    QV__FAIL("%s: %s", what, diff.message);
    return false;
  }
  n_checked++;
  return true;
}

/* The batch-for-batch check: the writer must keep batch boundaries. */
static bool same_batches(const char *what, const qv_table *got, const qv_table *want) {
  if (got->n_batches != want->n_batches) {
    QV__FAIL("%s: %lld batches, want %lld", what, (long long)got->n_batches,
             (long long)want->n_batches);
    return false;
  }
  for (int64_t i = 0; i < got->n_batches; i++) {
    qv_error diff;
    qv_error_init(&diff);
    if (!qv_batch_equal(got->batches[i], want->batches[i], &diff)) {
      QV__FAIL("%s: batch %lld: %s", what, (long long)i, diff.message);
      return false;
    }
  }
  return true;
}

/* Writes `t` in the given format/codec, reads it back and compares with `want`. */
static void roundtrip(const char *what, const qv_table *t, const qv_table *want,
                      qv_ipc_format format, qv_ipc_compression codec) {
  static const char *const fmt_names[] = {"stream", "file"};
  static const char *const codec_names[] = {"", "+lz4", "+zstd"};
  char label[600];
  snprintf(label, sizeof label, "%s -> quiver %s%s", what, fmt_names[format], codec_names[codec]);
  qv_ipc_write_options wo = qv_ipc_write_options_default();
  wo.format = format;
  wo.compression = codec;
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, NULL);
  qv_error err;
  qv_error_init(&err);
  qv_status s = qv_ipc_write_table_mbuffer(t, &wo, &mb, &err);
  if (s == QV_E_UNSUPPORTED) {
    note_unsupported(label, &err);
    qv_mbuffer_reset(&mb);
    return;
  }
  if (s != QV_OK) {
    QV__FAIL("%s: write: %s: %s", label, qv_status_name(s), err.message);
    qv_mbuffer_reset(&mb);
    return;
  }
  qv_buffer buf;
  if (qv_mbuffer_finish(&mb, &buf, &err) != QV_OK) {
    QV__FAIL("%s: %s", label, err.message);
    return;
  }
  qv_table *back = NULL;
  s = qv_ipc_read_buffer(&buf, NULL, NULL, &back, &err);
  qv_buffer_unref(&buf);
  if (s != QV_OK) {
    QV__FAIL("%s: read back: %s: %s", label, qv_status_name(s), err.message);
    return;
  }
  if (same(label, back, want)) same_batches(label, back, want);
  qv_table_free(back);
}

/* Random access through the file reader: every batch by index, and a projection (reversed
 * columns) checked against the same projection of the expected batch. */
static void file_random_access(const char *what, const char *path, const qv_table *want) {
  qv_ipc_file *f = NULL;
  qv_error err;
  qv_error_init(&err);
  qv_status s = qv_ipc_file_open_path(path, NULL, NULL, &f, &err);
  if (s != QV_OK) {
    QV__FAIL("%s: file open: %s: %s", what, qv_status_name(s), err.message);
    return;
  }
  int64_t nb = qv_ipc_file_num_batches(f);
  if (nb != want->n_batches)
    QV__FAIL("%s: footer lists %lld batches, want %lld", what, (long long)nb,
             (long long)want->n_batches);
  int32_t ncols = want->schema->n_fields;
  int32_t *rev = malloc(sizeof(int32_t) * (size_t)(ncols ? ncols : 1));
  for (int32_t k = 0; k < ncols; k++) rev[k] = ncols - 1 - k;
  for (int64_t i = nb - 1; i >= 0 && i < want->n_batches; i--) { /* backwards on purpose */
    int64_t rows = -1;
    qv_batch *b = NULL, *pb = NULL, *wp = NULL;
    s = qv_ipc_file_batch_rows(f, i, &rows, &err);
    if (s != QV_OK || rows != want->batches[i]->length)
      QV__FAIL("%s: batch %lld rows %lld (%s), want %lld", what, (long long)i, (long long)rows,
               err.message, (long long)want->batches[i]->length);
    s = qv_ipc_file_read_batch(f, i, NULL, 0, &b, &err);
    if (s != QV_OK) {
      QV__FAIL("%s: read_batch %lld: %s: %s", what, (long long)i, qv_status_name(s), err.message);
    } else {
      qv_error diff;
      qv_error_init(&diff);
      if (!qv_batch_equal(b, want->batches[i], &diff))
        QV__FAIL("%s: random access batch %lld: %s", what, (long long)i, diff.message);
    }
    if (ncols > 0) {
      s = qv_ipc_file_read_batch(f, i, rev, (size_t)ncols, &pb, &err);
      if (s != QV_OK) {
        QV__FAIL("%s: projected read_batch %lld: %s: %s", what, (long long)i,
                 qv_status_name(s), err.message);
      } else if (qv_batch_select(want->batches[i], rev, ncols, &wp, &err) == QV_OK) {
        qv_error diff;
        qv_error_init(&diff);
        if (!qv_batch_equal(pb, wp, &diff))
          QV__FAIL("%s: projected batch %lld: %s", what, (long long)i, diff.message);
      }
    }
    qv_batch_unref(b);
    qv_batch_unref(pb);
    qv_batch_unref(wp);
  }
  free(rev);
  qv_ipc_file_close(f);
}

static bool exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static void check_read(const char *what, const char *path, bool is_file, const qv_table *got,
                       const qv_table *want);

static void check_case(const char *dir, const char *producer, const char *base) {
  char json[1200], path[1200], what[1200];
  if (snprintf(json, sizeof json, "%s/%s.json.gz", dir, base) >= (int)sizeof json) {
    QV__FAIL("path too long: %s/%s", dir, base);
    return;
  }
  qv_table *want = NULL;
  qv_error err;
  qv_error_init(&err);
  qv_status s = qv_test_json_load(json, NULL, &want, &err);
  if (s != QV_OK) {
    QV__FAIL("%s/%s: loading the expected JSON: %s: %s", producer, base, qv_status_name(s),
             err.message);
    return;
  }
  static const char *const exts[] = {"stream", "arrow_file"};
  for (int e = 0; e < 2; e++) {
    if (snprintf(path, sizeof path, "%s/%s.%s", dir, base, exts[e]) >= (int)sizeof path ||
        snprintf(what, sizeof what, "%s/%s.%s", producer, base, exts[e]) >= (int)sizeof what)
      continue;
    if (!exists(path)) continue;
    qv_table *got = NULL;
    s = qv_ipc_read_path(path, NULL, NULL, &got, &err);
    if (s == QV_E_UNSUPPORTED) {
      note_unsupported(what, &err);
      continue;
    }
    if (s != QV_OK) {
      QV__FAIL("%s: read: %s: %s (at byte %lld)", what, qv_status_name(s), err.message,
               (long long)err.offset);
      continue;
    }
    qv_error diff;
    qv_error_init(&diff);
    if (!qv_test_schema_equal_md(got->schema, want->schema, &diff)) {
      /* The names of a map's children are not significant in Arrow, and some golden streams
       * carry the canonical names where their JSON has others (map_non_canonical): compare
       * against the expected data with canonical map names before calling it a failure. */
      qv_table *canon = NULL;
      if (qv_test_json_load_opts(json, NULL, QV_TEST_JSON_CANONICAL_MAP_NAMES, &canon, &err) ==
              QV_OK &&
          qv_test_schema_equal_md(got->schema, canon->schema, NULL)) {
        printf("  NOTE %s: map child names differ from the JSON's (%s); compared with the "
               "canonical names\n", what, diff.message);
      } else {
        qv_table_free(canon);
        canon = NULL;
      }
      check_read(what, path, e == 1, got, canon ? canon : want);
      qv_table_free(canon);
    } else {
      check_read(what, path, e == 1, got, want);
    }
    qv_table_free(got);
  }
  qv_table_free(want);
}

/* One golden input read by quiver: compared with the expected data, then random access (file
 * format) and written back by quiver in both formats and compressed. */
static void check_read(const char *what, const char *path, bool is_file, const qv_table *got,
                       const qv_table *want) {
  if (!same(what, got, want)) return;
  same_batches(what, got, want);
  if (is_file) file_random_access(what, path, want);
  roundtrip(what, got, want, QV_IPC_FORMAT_STREAM, QV_IPC_COMPRESSION_NONE);
  roundtrip(what, got, want, QV_IPC_FORMAT_FILE, QV_IPC_COMPRESSION_NONE);
  roundtrip(what, got, want, is_file ? QV_IPC_FORMAT_FILE : QV_IPC_FORMAT_STREAM,
            is_file ? QV_IPC_COMPRESSION_LZ4_FRAME : QV_IPC_COMPRESSION_ZSTD);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every case of one producer directory. */
static void run_producer(const char *producer) {
  const char *corpora = qv_test_corpora_dir();
  if (!corpora) {
    printf("SKIP: golden files for %s not available (no corpora)\n", producer);
    return;
  }
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/arrow-ipc-integration/%s", corpora, producer);
  DIR *d = opendir(dir);
  if (!d) {
    QV__FAIL("corpora present but %s is missing", dir);
    return;
  }
  char *names[512];
  int n = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) && n < 512) {
    size_t len = strlen(ent->d_name);
    if (len > 8 && strcmp(ent->d_name + len - 8, ".json.gz") == 0)
      names[n++] = strndup(ent->d_name, len - 8);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp_str);
  QV_CHECK(n > 0);
  int before = n_checked;
  for (int i = 0; i < n; i++) {
    check_case(dir, producer, names[i]);
    free(names[i]);
  }
  printf("  %s: %d cases, %d comparisons\n", producer, n, n_checked - before);
}

static void test_0_14_1(void) { run_producer("0.14.1"); }
static void test_1_0_0_littleendian(void) { run_producer("1.0.0-littleendian"); }
static void test_1_0_0_bigendian(void) { run_producer("1.0.0-bigendian"); }
static void test_2_0_0_compression(void) { run_producer("2.0.0-compression"); }
static void test_4_0_0_shareddict(void) { run_producer("4.0.0-shareddict"); }
static void test_cpp_21_0_0(void) { run_producer("cpp-21.0.0"); }

/* The loader itself, on a hand-written document (so that a loader bug cannot hide behind a
 * reader bug making the same mistake). */
static void test_json_loader(void) {
  static const char doc[] =
      "{\"schema\":{\"fields\":["
      "{\"name\":\"i\",\"type\":{\"name\":\"int\",\"isSigned\":true,\"bitWidth\":64},"
      "\"nullable\":true,\"children\":[],\"metadata\":[{\"key\":\"k\",\"value\":\"v\"}]},"
      "{\"name\":\"s\",\"type\":{\"name\":\"utf8\"},\"nullable\":true,\"children\":[],"
      "\"dictionary\":{\"id\":7,\"indexType\":{\"name\":\"int\",\"isSigned\":false,"
      "\"bitWidth\":8},\"isOrdered\":false}},"
      "{\"name\":\"d\",\"type\":{\"name\":\"decimal\",\"precision\":20,\"scale\":2},"
      "\"nullable\":false,\"children\":[]},"
      "{\"name\":\"l\",\"type\":{\"name\":\"largelist\"},\"nullable\":true,\"children\":["
      "{\"name\":\"item\",\"type\":{\"name\":\"bool\"},\"nullable\":true,\"children\":[]}]}"
      "]},"
      "\"dictionaries\":[{\"id\":7,\"data\":{\"count\":2,\"columns\":[{\"name\":\"DICT7\","
      "\"count\":2,\"VALIDITY\":[1,1],\"OFFSET\":[0,1,3],\"DATA\":[\"a\",\"bc\"]}]}}],"
      "\"batches\":[{\"count\":3,\"columns\":["
      "{\"name\":\"i\",\"count\":3,\"VALIDITY\":[1,0,1],\"DATA\":[\"-9223372036854775808\",\"0\",\"42\"]},"
      "{\"name\":\"s\",\"count\":3,\"VALIDITY\":[1,1,0],\"DATA\":[1,0,0]},"
      "{\"name\":\"d\",\"count\":3,\"VALIDITY\":[1,1,1],\"DATA\":[\"-1\",\"12345\",\"0\"]},"
      "{\"name\":\"l\",\"count\":3,\"VALIDITY\":[1,1,0],\"OFFSET\":[\"0\",\"2\",\"2\",\"2\"],"
      "\"children\":[{\"name\":\"item\",\"count\":2,\"VALIDITY\":[1,0],\"DATA\":[true,false]}]}"
      "]}]}";
  char path[] = "/tmp/qv_json_loader_XXXXXX";
  int fd = mkstemp(path);
  QV_REQUIRE(fd >= 0);
  FILE *fp = fdopen(fd, "w");
  fputs(doc, fp);
  fclose(fp);
  qv_test_alloc ta;
  qv_test_alloc_init(&ta, 0);
  qv_table *t = NULL;
  qv_error err;
  qv_error_init(&err);
  qv_status s = qv_test_json_load(path, &ta.base, &t, &err);
  remove(path);
  QV_CHECK_OK_E(s, &err);
  if (s == QV_OK) {
    QV_CHECK_INT_EQ(t->n_batches, 1);
    QV_CHECK_INT_EQ(t->n_rows, 3);
    const qv_schema *sc = t->schema;
    QV_CHECK_INT_EQ(sc->n_fields, 4);
    QV_CHECK_STR_EQ(qv_metadata_get(&sc->fields[0]->metadata, "k"), "v");
    QV_CHECK_INT_EQ(sc->fields[1]->dictionary_id, 7);
    QV_CHECK_INT_EQ(sc->fields[1]->type->index_type->id, QV_TYPE_UINT8);
    QV_CHECK_INT_EQ(sc->fields[2]->type->id, QV_TYPE_DECIMAL128);
    const qv_batch *b = t->batches[0];
    qv_array *i = b->columns[0], *str = b->columns[1], *dec = b->columns[2], *l = b->columns[3];
    QV_CHECK_INT_EQ(qv_array_get_i64(i, 0), INT64_MIN);
    QV_CHECK(qv_array_is_null(i, 1));
    QV_CHECK_INT_EQ(qv_array_get_i64(i, 2), 42);
    QV_CHECK_INT_EQ(qv_array_dict_index(str, 0), 1);
    QV_CHECK(qv_array_is_null(str, 2));
    const uint8_t *p;
    size_t n;
    qv_array_get_bytes(str->dictionary, 1, &p, &n);
    QV_CHECK(n == 2 && memcmp(p, "bc", 2) == 0);
    const uint8_t *d0 = qv_array_value_ptr(dec, 0), *d1 = qv_array_value_ptr(dec, 1);
    QV_CHECK(d0[0] == 0xff && d0[15] == 0xff);
    QV_CHECK(d1[0] == (12345 & 0xff) && d1[1] == (12345 >> 8) && d1[2] == 0 && d1[15] == 0);
    int64_t start, len;
    qv_array_list_range(l, 0, &start, &len);
    QV_CHECK_INT_EQ(start, 0);
    QV_CHECK_INT_EQ(len, 2);
    QV_CHECK(qv_array_get_bool(l->children[0], 0));
    QV_CHECK(qv_array_is_null(l->children[0], 1));
    QV_CHECK(qv_array_is_null(l, 2));
    qv_table_free(t);
  }
  qv_test_alloc_check_clean(&ta, "json loader");

  /* malformed documents are refused with a message naming the problem */
  static const struct {
    const char *doc, *needle;
    qv_status want;
  } bad[] = {
      {"{\"schema\":{}}", "fields", QV_E_CORRUPT},
      {"{\"schema\":{\"fields\":[{\"name\":\"x\",\"type\":{\"name\":\"quaternion\"},"
       "\"nullable\":true}]},\"batches\":[]}", "quaternion", QV_E_UNSUPPORTED},
      {"{\"schema\":{\"fields\":[{\"name\":\"x\",\"type\":{\"name\":\"int\",\"bitWidth\":32,"
       "\"isSigned\":true},\"nullable\":true}]},\"batches\":[{\"count\":2,\"columns\":["
       "{\"name\":\"x\",\"count\":2,\"VALIDITY\":[1],\"DATA\":[1,2]}]}]}", "VALIDITY",
       QV_E_CORRUPT},
      {"not json", "JSON error", QV_E_CORRUPT},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    char p2[] = "/tmp/qv_json_loader_XXXXXX";
    fd = mkstemp(p2);
    QV_REQUIRE(fd >= 0);
    fp = fdopen(fd, "w");
    fputs(bad[k].doc, fp);
    fclose(fp);
    qv_error_init(&err);
    t = NULL;
    QV_CHECK_STATUS_E(qv_test_json_load(p2, NULL, &t, &err), bad[k].want, &err);
    QV_CHECK_CONTAINS(err.message, bad[k].needle);
    QV_CHECK(t == NULL);
    remove(p2);
  }
}

/* The comparison can fail: a read file against the wrong expectation (another case, or the
 * right one with a row missing) must be reported as different. */
static void test_golden_detects_differences(void) {
  const char *corpora = qv_test_corpora_dir();
  if (!corpora) {
    printf("SKIP: no corpora\n");
    return;
  }
  char dir[1024], path[1100], json_p[1100], json_o[1100];
  snprintf(dir, sizeof dir, "%s/arrow-ipc-integration/cpp-21.0.0", corpora);
  snprintf(path, sizeof path, "%s/generated_primitive.stream", dir);
  snprintf(json_p, sizeof json_p, "%s/generated_primitive.json.gz", dir);
  snprintf(json_o, sizeof json_o, "%s/generated_datetime.json.gz", dir);
  qv_table *got = NULL, *want = NULL, *other = NULL, *cut = NULL;
  qv_error err, diff;
  qv_error_init(&err);
  qv_error_init(&diff);
  QV_REQUIRE_OK_E(qv_ipc_read_path(path, NULL, NULL, &got, &err), &err);
  QV_CHECK_OK_E(qv_test_json_load(json_p, NULL, &want, &err), &err);
  QV_CHECK_OK_E(qv_test_json_load(json_o, NULL, &other, &err), &err);
  if (want && other) {
    QV_CHECK(qv_test_schema_equal_md(got->schema, want->schema, NULL));
    QV_CHECK(qv_table_equal(got, want, NULL));
    QV_CHECK(!qv_test_schema_equal_md(got->schema, other->schema, &diff));
    QV_CHECK_CONTAINS(diff.message, "differ");
    QV_CHECK_OK_E(qv_table_slice(want, 1, want->n_rows - 1, &cut, &err), &err);
    if (cut) QV_CHECK(!qv_table_equal(got, cut, &diff));
  }
  qv_table_free(cut);
  qv_table_free(other);
  qv_table_free(want);
  qv_table_free(got);
}

/* Runs last: prints the list of unsupported cases (the goal is an empty list). */
static void test_unsupported_summary(void) {
  printf("  golden comparisons passed: %d\n", n_checked);
  if (n_unsupported == 0) {
    printf("  unsupported cases: none\n");
    return;
  }
  printf("  unsupported cases (%d):\n", n_unsupported);
  for (int i = 0; i < n_unsupported; i++) {
    printf("    %s\n", unsupported[i]);
    free(unsupported[i]);
  }
  n_unsupported = 0;
}

QV_TEST_MAIN(QV_CASE(test_json_loader), QV_CASE(test_golden_detects_differences), QV_CASE(test_0_14_1), QV_CASE(test_1_0_0_littleendian),
             QV_CASE(test_1_0_0_bigendian), QV_CASE(test_2_0_0_compression),
             QV_CASE(test_4_0_0_shareddict), QV_CASE(test_cpp_21_0_0),
             QV_CASE(test_unsupported_summary))
