/* test_writer_errors.c — IPC writer error paths: bad options, batches that do not match the
 * schema, sink failures (the writer then refuses further use), and allocation failure at every
 * point (stream and file, dictionaries, compression) without leaks. */
#include "test_writer_util.h"

typedef struct small {
  qv_schema *s;
  qv_batch *b[2];
} small;

static void small_free(small *x) {
  qv_batch_unref(x->b[0]);
  qv_batch_unref(x->b[1]);
  qv_schema_unref(x->s);
}

/* int32, utf8, list<int32>, struct, dictionary<int8, utf8>, REE, dense union; two batches
 * whose dictionaries differ. */
static qv_status small_init(small *x, qv_error *err) {
  memset(x, 0, sizeof *x);
  qv_type *t[8] = {0};
  qv_field *f[8] = {0};
  qv_field *sub[2] = {0};
  qv_status st = QV_OK;
  int n = 0;
  t[n++] = qv_type_int32();
  t[n++] = qv_type_utf8();
  t[n++] = qv_type_utf8_view();
  QV_TRY_GOTO(st, qv_type_list_of(QV_TYPE_LIST, qv_type_int32(), NULL, &t[n++], err), done);
  QV_TRY_GOTO(st, qv_field_new("a", qv_type_int64(), true, NULL, NULL, &sub[0], err), done);
  QV_TRY_GOTO(st, qv_field_new("b", qv_type_utf8(), true, NULL, NULL, &sub[1], err), done);
  QV_TRY_GOTO(st, qv_type_struct(sub, 2, NULL, &t[n++], err), done);
  QV_TRY_GOTO(st, qv_type_dictionary(qv_type_int8(), qv_type_utf8(), false, NULL, &t[n++], err),
              done);
  QV_TRY_GOTO(st, qv_type_run_end_encoded(qv_type_int32(), qv_type_utf8(), NULL, &t[n++], err),
              done);
  QV_TRY_GOTO(st, qv_type_union(QV_UNION_DENSE, sub, NULL, 2, NULL, &t[n++], err), done);
  for (int i = 0; i < n; i++) {
    char name[8];
    snprintf(name, sizeof name, "c%d", i);
    QV_TRY_GOTO(st, qv_field_new(name, t[i], true, NULL, NULL, &f[i], err), done);
  }
  QV_TRY_GOTO(st, qv_schema_new(f, n, NULL, NULL, &x->s, err), done);
  for (int k = 0; k < 2; k++) {
    qv_array *cols[8] = {0};
    for (int i = 0; i < n && st == QV_OK; i++)
      st = w_make_array(t[i], 20 + 5 * k, 3 * k + i, NULL, &cols[i], err);
    if (st < 0) {
      for (int i = 0; i < n; i++) qv_array_unref(cols[i]);
      goto done;
    }
    QV_TRY_GOTO(st, qv_batch_new(x->s, 20 + 5 * k, cols, n, NULL, &x->b[k], err), done);
  }
done:
  for (int i = 0; i < 8; i++) {
    qv_type_unref(t[i]);
    qv_field_unref(f[i]);
  }
  qv_field_unref(sub[0]);
  qv_field_unref(sub[1]);
  if (st < 0) small_free(x);
  return st;
}

static void test_bad_arguments(void) {
  small x;
  qv_error err;
  QV_REQUIRE_OK_E(small_init(&x, &err), &err);
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, NULL);
  qv_ipc_writer *w = (qv_ipc_writer *)&mb;
  qv_ipc_write_options o = qv_ipc_write_options_default();
  o.compression = (qv_ipc_compression)7;
  QV_CHECK_STATUS_E(qv_ipc_writer_new(x.s, &o, qv_ipc_sink_mbuffer, &mb, NULL, &w, &err),
                    QV_E_INVALID, &err);
  QV_CHECK(w == NULL);
  QV_CHECK_CONTAINS(err.message, "compression");
  o = qv_ipc_write_options_default();
  o.format = (qv_ipc_format)3;
  QV_CHECK_STATUS(qv_ipc_writer_new(x.s, &o, qv_ipc_sink_mbuffer, &mb, NULL, &w, NULL),
                  QV_E_INVALID);
  QV_CHECK_STATUS(qv_ipc_writer_new(NULL, NULL, qv_ipc_sink_mbuffer, &mb, NULL, &w, NULL),
                  QV_E_INVALID);
  QV_CHECK_STATUS(qv_ipc_writer_new(x.s, NULL, NULL, &mb, NULL, &w, NULL), QV_E_INVALID);
  QV_CHECK_UINT_EQ(mb.len, 0);

  /* a batch of another schema */
  QV_REQUIRE_OK(qv_ipc_writer_new(x.s, NULL, qv_ipc_sink_mbuffer, &mb, NULL, &w, NULL));
  qv_batch *other;
  int32_t pick[2] = {1, 0};
  QV_CHECK_OK(qv_batch_select(x.b[0], pick, 2, &other, NULL));
  QV_CHECK_STATUS_E(qv_ipc_writer_write_batch(w, other, &err), QV_E_TYPE, &err);
  QV_CHECK_CONTAINS(err.message, "columns");
  qv_batch_unref(other);
  int32_t swap[8] = {1, 0, 2, 3, 4, 5, 6, 7};
  QV_CHECK_OK(qv_batch_select(x.b[0], swap, x.s->n_fields, &other, NULL));
  QV_CHECK_STATUS_E(qv_ipc_writer_write_batch(w, other, &err), QV_E_TYPE, &err);
  QV_CHECK_CONTAINS(err.message, "column 'c0'");
  qv_batch_unref(other);
  QV_CHECK_STATUS(qv_ipc_writer_write_batch(w, NULL, NULL), QV_E_INVALID);
  /* still usable */
  QV_CHECK_OK(qv_ipc_writer_write_batch(w, x.b[0], NULL));
  QV_CHECK_OK(qv_ipc_writer_finish(w, NULL));
  qv_ipc_writer_free(w);
  qv_ipc_writer_free(NULL);
  static wlayout lay;
  w_check_bytes(mb.data, mb.len, QV_IPC_FORMAT_STREAM, &lay);
  qv_mbuffer_reset(&mb);
  small_free(&x);
}

typedef struct failing_sink {
  qv_mbuffer mb;
  size_t fail_after; /* bytes accepted before failing */
} failing_sink;

static qv_status fail_sink(void *ctx, const void *data, size_t len, qv_error *err) {
  failing_sink *s = ctx;
  if (s->mb.len + len > s->fail_after) return qv_error_set(err, QV_E_IO, "disk full (test)");
  return qv_mbuffer_append(&s->mb, data, len, err);
}

static void test_sink_failure(void) {
  small x;
  qv_error err;
  QV_REQUIRE_OK_E(small_init(&x, &err), &err);
  /* failing at each possible byte count of the first messages */
  for (size_t after = 0; after < 2000; after += 37) {
    failing_sink fs;
    qv_mbuffer_init(&fs.mb, NULL);
    fs.fail_after = after;
    qv_ipc_writer *w;
    qv_status st = qv_ipc_writer_new(x.s, NULL, fail_sink, &fs, NULL, &w, &err);
    if (st == QV_OK) {
      st = qv_ipc_writer_write_batch(w, x.b[0], &err);
      if (st == QV_OK) st = qv_ipc_writer_write_batch(w, x.b[1], &err);
      if (st == QV_OK) st = qv_ipc_writer_finish(w, &err);
      if (st != QV_OK) {
        QV_CHECK_INT_EQ(st, QV_E_IO);
        QV_CHECK_CONTAINS(err.message, "disk full");
        QV_CHECK_STATUS_E(qv_ipc_writer_write_batch(w, x.b[0], &err), QV_E_STATE, &err);
        QV_CHECK_CONTAINS(err.message, "earlier failure");
        QV_CHECK_STATUS(qv_ipc_writer_finish(w, NULL), QV_E_STATE);
      }
      qv_ipc_writer_free(w);
    } else {
      QV_CHECK_INT_EQ(st, QV_E_IO);
    }
    qv_mbuffer_reset(&fs.mb);
  }
  small_free(&x);
}

typedef struct alloc_ctx {
  small *x;
  qv_ipc_format fmt;
  qv_ipc_compression comp;
} alloc_ctx;

static qv_status write_with(const qv_allocator *a, void *vctx) {
  alloc_ctx *c = vctx;
  qv_ipc_write_options o = qv_ipc_write_options_default();
  o.format = c->fmt;
  o.compression = c->comp;
  qv_mbuffer mb;
  /* stream: both batches (the dictionary changes: replacement); file: the first one twice */
  qv_batch *bs[2] = {c->x->b[0], c->fmt == QV_IPC_FORMAT_STREAM ? c->x->b[1] : c->x->b[0]};
  qv_batch *sl = NULL;
  qv_status st = qv_batch_slice(c->x->b[1], 3, 11, &sl, NULL);
  if (st < 0) return st;
  if (c->fmt == QV_IPC_FORMAT_STREAM) bs[0] = sl;
  st = w_write(c->x->s, bs, 2, &o, a, &mb, NULL);
  qv_batch_unref(sl);
  if (st == QV_OK) qv_mbuffer_reset(&mb);
  return st;
}

static void test_alloc_failures(void) {
  small x;
  qv_error err;
  QV_REQUIRE_OK_E(small_init(&x, &err), &err);
  for (int fmt = 0; fmt < 2; fmt++)
    for (int comp = 0; comp < 3; comp++) {
      alloc_ctx c = {&x, (qv_ipc_format)fmt, (qv_ipc_compression)comp};
      char what[64];
      snprintf(what, sizeof what, "writer format %d compression %d", fmt, comp);
      size_t n = qv_test_each_alloc_failure(write_with, &c, what);
      QV_CHECK(n > 20);
    }
  small_free(&x);
}

/* Lengths beyond int32 need allow_64bit (a null column has no buffers, so this is cheap). */
static void test_64bit_lengths(void) {
  int64_t n = (int64_t)INT32_MAX + 5;
  qv_array *a;
  QV_REQUIRE_OK(qv_array_new_nulls(qv_type_na(), n, NULL, &a, NULL));
  qv_schema *s;
  qv_batch *b;
  QV_REQUIRE(w_one_column("nothing", a, &s, &b));
  qv_ipc_write_options o = qv_ipc_write_options_default();
  qv_mbuffer mb;
  qv_error err;
  QV_CHECK_STATUS_E(w_write(s, &b, 1, &o, NULL, &mb, &err), QV_E_LIMIT, &err);
  QV_CHECK_CONTAINS(err.message, "allow_64bit");
  o.allow_64bit = true;
  QV_CHECK_OK_E(w_write(s, &b, 1, &o, NULL, &mb, &err), &err);
  static wlayout lay;
  if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay) && lay.n == 2) {
    qv_ipc_read_options ro = qv_ipc_read_options_default();
    ro.limits.max_rows = 0;
    qv__ipc_msg msg;
    const wmsg *m = &lay.msgs[1];
    QV_CHECK_OK(qv__ipc_msg_parse(mb.data + m->start + 8, m->meta_len, 0, &ro, &msg, NULL));
    QV_CHECK_INT_EQ(qv__fb_i64(&msg.fb, msg.header, QV_FB_RECORDBATCH_LENGTH, 0), n);
  }
  qv_mbuffer_reset(&mb);
  qv_batch_unref(b);
  qv_schema_unref(s);
}

QV_TEST_MAIN(QV_CASE(test_bad_arguments), QV_CASE(test_sink_failure),
             QV_CASE(test_alloc_failures), QV_CASE(test_64bit_lengths))
