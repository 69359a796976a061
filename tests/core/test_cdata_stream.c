/* test_cdata_stream.c — the Arrow C Stream Interface: a multi-batch table exported as an
 * ArrowArrayStream and imported back as a qv_batch_reader; end of stream; errors from either
 * side propagated through get_last_error; releases; allocation failure at every point. */
#include <errno.h>

#include "qv_test.h"

static qv_schema *make_schema(void) {
  qv_field *fs[3] = {NULL, NULL, NULL};
  qv_type *lt = NULL;
  qv_schema *s = NULL;
  if (qv_type_list_of(QV_TYPE_LIST, qv_type_utf8_view(), NULL, &lt, NULL) != QV_OK) abort();
  if (qv_field_new("id", qv_type_int64(), false, NULL, NULL, &fs[0], NULL) != QV_OK ||
      qv_field_new("name", qv_type_utf8(), true, NULL, NULL, &fs[1], NULL) != QV_OK ||
      qv_field_new("tags", lt, true, NULL, NULL, &fs[2], NULL) != QV_OK)
    abort();
  qv_metadata md;
  qv_metadata_init(&md, NULL);
  qv_metadata_append(&md, "k", "v", NULL);
  if (qv_schema_new(fs, 3, &md, NULL, &s, NULL) != QV_OK) abort();
  qv_metadata_reset(&md);
  for (int i = 0; i < 3; i++) qv_field_unref(fs[i]);
  qv_type_unref(lt);
  return s;
}

/* Batch number `bi` with n rows. */
static qv_status make_batch(const qv_schema *s, int bi, int64_t n, const qv_allocator *a,
                            qv_batch **out) {
  qv_builder *b[3] = {NULL, NULL, NULL};
  qv_array *cols[3] = {NULL, NULL, NULL};
  qv_status st = QV_OK;
  for (int c = 0; c < 3 && st == QV_OK; c++) st = qv_builder_new(s->fields[c]->type, a, &b[c], NULL);
  for (int64_t r = 0; r < n && st == QV_OK; r++) {
    int64_t key = bi * 1000 + r;
    char buf[64];
    st = qv_builder_append_i64(b[0], key, NULL);
    snprintf(buf, sizeof buf, "name-%lld", (long long)key);
    if (st == QV_OK)
      st = r % 4 == 1 ? qv_builder_append_null(b[1], NULL) : qv_builder_append_str(b[1], buf, NULL);
    for (int64_t j = 0; j < r % 3 && st == QV_OK; j++) {
      snprintf(buf, sizeof buf, "tag-%lld-is-long-enough-%lld", (long long)key, (long long)j);
      st = qv_builder_append_str(qv_builder_child(b[2], 0), buf, NULL);
    }
    if (st == QV_OK) st = qv_builder_list_append(b[2], NULL);
  }
  for (int c = 0; c < 3 && st == QV_OK; c++) st = qv_builder_finish(b[c], &cols[c], NULL);
  for (int c = 0; c < 3; c++) qv_builder_free(b[c]);
  if (st != QV_OK) {
    for (int c = 0; c < 3; c++) qv_array_unref(cols[c]);
    return st;
  }
  return qv_batch_new(s, n, cols, 3, a, out, NULL);
}

static qv_table *make_table(const int64_t *sizes, int n) {
  qv_schema *s = make_schema();
  qv_table *t = NULL;
  if (qv_table_new(s, NULL, &t, NULL) != QV_OK) abort();
  for (int i = 0; i < n; i++) {
    qv_batch *b = NULL;
    if (make_batch(s, i, sizes[i], NULL, &b) != QV_OK) abort();
    if (qv_table_append_batch(t, b, NULL) != QV_OK) abort();
    qv_batch_unref(b);
  }
  qv_schema_unref(s);
  return t;
}

/* Reads every batch of r into a new table (appending to *out). */
static qv_status drain(qv_batch_reader *r, const qv_allocator *a, qv_table **out, qv_error *err) {
  *out = NULL;
  QV_TRY(qv_table_new(qv_batch_reader_schema(r), a, out, err));
  for (;;) {
    qv_batch *b = NULL;
    qv_status s = qv_batch_reader_next(r, &b, err);
    if (s == QV_EOF) return QV_OK;
    if (s < 0) return s;
    s = qv_table_append_batch(*out, b, err);
    qv_batch_unref(b);
    if (s < 0) return s;
  }
}

static void test_table_roundtrip(void) {
  static const int64_t sizes[] = {5, 0, 17, 1, 33};
  qv_table *t = make_table(sizes, 5);
  qv_error err;
  struct ArrowArrayStream st;
  QV_REQUIRE_OK_E(qv_table_export_stream(t, NULL, &st, &err), &err);
  /* the raw stream, as a foreign consumer sees it */
  struct ArrowSchema sc;
  QV_REQUIRE(st.get_schema(&st, &sc) == 0);
  QV_CHECK_STR_EQ(sc.format, "+s");
  QV_CHECK_INT_EQ(sc.n_children, 3);
  QV_CHECK_STR_EQ(sc.children[2]->children[0]->format, "vu");
  sc.release(&sc);
  struct ArrowArray arr;
  QV_REQUIRE(st.get_next(&st, &arr) == 0);
  QV_REQUIRE(arr.release != NULL);
  QV_CHECK_INT_EQ(arr.length, 5);
  QV_CHECK_INT_EQ(arr.n_children, 3);
  arr.release(&arr);
  /* the table outlives nothing: the stream holds its own references */
  qv_table *copy = make_table(sizes, 5);
  qv_table_free(t);
  qv_batch_reader r;
  QV_REQUIRE_OK_E(qv_batch_reader_import(&st, NULL, &r, &err), &err);
  QV_CHECK(st.release == NULL); /* moved */
  QV_CHECK(qv_schema_equal(qv_batch_reader_schema(&r), copy->schema));
  QV_CHECK_STR_EQ(qv_metadata_get(&qv_batch_reader_schema(&r)->metadata, "k"), "v");
  qv_table *back = NULL;
  QV_CHECK_OK_E(drain(&r, NULL, &back, &err), &err);
  /* the first batch was consumed above */
  QV_CHECK_INT_EQ(back->n_batches, 4);
  qv_table *rest = NULL;
  QV_REQUIRE_OK(qv_table_slice(copy, 5, copy->n_rows - 5, &rest, NULL));
  qv_error diff;
  if (!qv_table_equal(rest, back, &diff)) QV__FAIL("stream round trip differs: %s", diff.message);
  /* after the end: still the end */
  qv_batch *b = NULL;
  QV_CHECK_STATUS(qv_batch_reader_next(&r, &b, NULL), QV_EOF);
  QV_CHECK(b == NULL);
  qv_batch_reader_release(&r);
  QV_CHECK(r.next == NULL);
  qv_batch_reader_release(&r); /* no-op */
  QV_CHECK_STATUS(qv_batch_reader_next(&r, &b, &err), QV_E_STATE);
  qv_table_free(back);
  qv_table_free(rest);
  qv_table_free(copy);
}

static void test_empty_table_stream(void) {
  qv_table *t = make_table(NULL, 0);
  struct ArrowArrayStream st;
  QV_REQUIRE_OK(qv_table_export_stream(t, NULL, &st, NULL));
  struct ArrowArray arr;
  QV_CHECK(st.get_next(&st, &arr) == 0);
  QV_CHECK(arr.release == NULL);
  QV_CHECK(st.get_next(&st, &arr) == 0);
  QV_CHECK(arr.release == NULL);
  QV_CHECK(st.get_last_error(&st) == NULL);
  st.release(&st);
  QV_CHECK(st.release == NULL);
  qv_table_free(t);
}

/* A reader that yields `ok` batches, then fails. */
typedef struct failing {
  qv_schema *schema;
  int ok, calls, released;
  qv_status code;
} failing;

static qv_status failing_next(void *ctx, qv_batch **out, qv_error *err) {
  failing *f = ctx;
  if (f->calls++ < f->ok) return make_batch(f->schema, f->calls, 3, NULL, out);
  return qv_error_set(err, f->code, "disk on fire at batch %d", f->calls);
}
static const qv_schema *failing_schema(void *ctx) { return ((failing *)ctx)->schema; }
static void failing_release(void *ctx) { ((failing *)ctx)->released++; }

static void test_errors_propagate(void) {
  failing f = {make_schema(), 2, 0, 0, QV_E_IO};
  qv_batch_reader r = {failing_next, failing_schema, failing_release, &f};
  struct ArrowArrayStream st;
  qv_error err;
  QV_REQUIRE_OK(qv_batch_reader_export(&r, NULL, &st, NULL));
  QV_CHECK(r.ctx == NULL); /* moved */
  struct ArrowArray arr;
  QV_REQUIRE(st.get_next(&st, &arr) == 0);
  arr.release(&arr);
  QV_CHECK(st.get_last_error(&st) == NULL);
  /* through the importer: one good batch, then the producer's error with its message */
  qv_batch_reader in;
  QV_REQUIRE_OK_E(qv_batch_reader_import(&st, NULL, &in, &err), &err);
  qv_batch *b = NULL;
  QV_CHECK_OK(qv_batch_reader_next(&in, &b, NULL));
  qv_batch_unref(b);
  QV_CHECK_STATUS_E(qv_batch_reader_next(&in, &b, &err), QV_E_IO, &err);
  QV_CHECK(b == NULL);
  QV_CHECK_CONTAINS(err.message, "disk on fire at batch 3");
  QV_CHECK_CONTAINS(err.message, "get_next");
  /* the stream stays failed */
  QV_CHECK_STATUS_E(qv_batch_reader_next(&in, &b, &err), QV_E_IO, &err);
  QV_CHECK_INT_EQ(f.calls, 3);
  QV_CHECK_INT_EQ(f.released, 0);
  qv_batch_reader_release(&in);
  QV_CHECK_INT_EQ(f.released, 1);

  /* status → errno mapping, seen raw */
  static const struct {
    qv_status code;
    int want;
  } maps[] = {{QV_E_NOMEM, ENOMEM}, {QV_E_INVALID, EINVAL}, {QV_E_UNSUPPORTED, ENOSYS},
              {QV_E_CORRUPT, EIO}};
  for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
    failing g = {f.schema, 0, 0, 0, maps[i].code};
    qv_batch_reader gr = {failing_next, failing_schema, failing_release, &g};
    QV_REQUIRE_OK(qv_batch_reader_export(&gr, NULL, &st, NULL));
    QV_CHECK_INT_EQ(st.get_next(&st, &arr), maps[i].want);
    QV_CHECK(arr.release == NULL);
    QV_CHECK_CONTAINS(st.get_last_error(&st), "disk on fire at batch 1");
    st.release(&st);
    QV_CHECK_INT_EQ(g.released, 1);
  }
  qv_schema_unref(f.schema);
}

/* A foreign stream whose get_schema fails, or whose schema is not a struct. */
typedef struct fstream {
  int mode, released;
} fstream;
static int fs_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  fstream *f = s->private_data;
  (void)out;
  if (f->mode == 0) return EINVAL;
  static const char *fmt = "i";
  memset(out, 0, sizeof *out);
  out->format = fmt;
  out->name = "";
  out->release = NULL;
  return 0; /* a released (invalid) schema */
}
static int fs_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  (void)s;
  memset(out, 0, sizeof *out);
  return 0;
}
static const char *fs_last_error(struct ArrowArrayStream *s) {
  (void)s;
  return "no schema for you";
}
static void fs_release(struct ArrowArrayStream *s) {
  ((fstream *)s->private_data)->released++;
  s->release = NULL;
}

static void test_foreign_stream_errors(void) {
  for (int mode = 0; mode < 2; mode++) {
    fstream f = {mode, 0};
    struct ArrowArrayStream st = {fs_get_schema, fs_get_next, fs_last_error, fs_release, &f};
    qv_batch_reader r;
    qv_error err;
    qv_status s = qv_batch_reader_import(&st, NULL, &r, &err);
    QV_CHECK(s < 0);
    if (mode == 0) {
      QV_CHECK_INT_EQ(s, QV_E_INVALID);
      QV_CHECK_CONTAINS(err.message, "no schema for you");
      QV_CHECK_CONTAINS(err.message, "get_schema");
    } else {
      QV_CHECK_CONTAINS(err.message, "released");
    }
    QV_CHECK_INT_EQ(f.released, 1);
    QV_CHECK(r.next == NULL);
  }
  /* a released stream is refused */
  struct ArrowArrayStream dead;
  memset(&dead, 0, sizeof dead);
  qv_batch_reader r;
  QV_CHECK_STATUS(qv_batch_reader_import(&dead, NULL, &r, NULL), QV_E_INVALID);
}

/* Everything through a failing allocator: table → stream → reader → table. */
static qv_status af_stream(const qv_allocator *a, void *ctx) {
  const qv_table *t = ctx;
  struct ArrowArrayStream st;
  qv_batch_reader r;
  qv_table *back = NULL;
  qv_status s = qv_table_export_stream(t, a, &st, NULL);
  if (s < 0) return s;
  s = qv_batch_reader_import(&st, a, &r, NULL);
  if (s < 0) return s;
  s = drain(&r, a, &back, NULL);
  if (s >= 0 && !qv_table_equal(t, back, NULL)) s = QV_E_CORRUPT;
  qv_table_free(back);
  qv_batch_reader_release(&r);
  return s;
}

static void test_alloc_failures(void) {
  static const int64_t sizes[] = {4, 0, 7};
  qv_table *t = make_table(sizes, 3);
  QV_CHECK(qv_test_each_alloc_failure(af_stream, t, "stream round trip") > 10);
  qv_table_free(t);
}

QV_TEST_MAIN(QV_CASE(test_table_roundtrip), QV_CASE(test_empty_table_stream),
             QV_CASE(test_errors_propagate), QV_CASE(test_foreign_stream_errors),
             QV_CASE(test_alloc_failures))
