/* test_writer_dict.c — dictionaries in the IPC writer: the first DictionaryBatch before the
 * first record batch, deltas when the old dictionary is a prefix of the new one, replacements
 * in streams, replacement refused in files, unchanged dictionaries not repeated, nested
 * dictionary fields; everything read back and compared. */
#include "test_writer_util.h"

static qv_array *values_of(const char *const *s, int n) {
  qv_builder *b;
  qv_array *out = NULL;
  if (qv_builder_new(qv_type_utf8(), NULL, &b, NULL) != QV_OK) return NULL;
  for (int i = 0; i < n; i++)
    if (qv_builder_append_str(b, s[i], NULL) != QV_OK) goto done;
  (void)qv_builder_finish(b, &out, NULL);
done:
  qv_builder_free(b);
  return out;
}

/* A dictionary<int32, utf8> array of indices over `values` (borrowed). */
static qv_array *dict_array(const qv_type *dt, const int32_t *idx, int n, qv_array *values) {
  qv_buffer bufs[2] = {{0}, {0}};
  if (qv_buffer_copy(idx, (size_t)n * 4, NULL, &bufs[1], NULL) != QV_OK) return NULL;
  qv_array *out = NULL;
  if (qv_array_new(dt, n, 0, -1, 2, bufs, 0, NULL, qv_array_ref(values), NULL, &out, NULL) !=
      QV_OK)
    return NULL;
  return out;
}

typedef struct fixture {
  qv_type *dt;
  qv_schema *s;
  qv_array *dicts[4];
  qv_batch *b[5];
} fixture;

static void fixture_free(fixture *f) {
  for (int i = 0; i < 5; i++) qv_batch_unref(f->b[i]);
  for (int i = 0; i < 4; i++) qv_array_unref(f->dicts[i]);
  qv_schema_unref(f->s);
  qv_type_unref(f->dt);
}

/* b0: [a b]; b1: [a b c] (delta c); b2: the same object as b1; b3: [x y] (replacement);
 * b4: a different object equal to b3's. */
static bool fixture_init(fixture *f) {
  memset(f, 0, sizeof *f);
  if (qv_type_dictionary(qv_type_int32(), qv_type_utf8(), false, NULL, &f->dt, NULL) != QV_OK)
    return false;
  qv_field *fl;
  if (qv_field_new("tag", f->dt, true, NULL, NULL, &fl, NULL) != QV_OK) return false;
  qv_status st = qv_schema_new(&fl, 1, NULL, NULL, &f->s, NULL);
  qv_field_unref(fl);
  if (st != QV_OK) return false;
  static const char *const v0[] = {"a", "b"}, *const v1[] = {"a", "b", "c"},
                           *const v3[] = {"x", "y"};
  f->dicts[0] = values_of(v0, 2);
  f->dicts[1] = values_of(v1, 3);
  f->dicts[2] = values_of(v3, 2);
  f->dicts[3] = values_of(v3, 2);
  for (int i = 0; i < 4; i++)
    if (!f->dicts[i]) return false;
  static const int32_t i0[] = {0, 1, 1}, i1[] = {2, 0, 2, 1}, i2[] = {1}, i3[] = {0, 1, 0},
                       i4[] = {1, 1};
  qv_array *cols[5] = {dict_array(f->dt, i0, 3, f->dicts[0]), dict_array(f->dt, i1, 4, f->dicts[1]),
                       dict_array(f->dt, i2, 1, f->dicts[1]), dict_array(f->dt, i3, 3, f->dicts[2]),
                       dict_array(f->dt, i4, 2, f->dicts[3])};
  static const int lens[5] = {3, 4, 1, 3, 2};
  bool ok = true;
  for (int i = 0; i < 5; i++) {
    if (!cols[i] || !ok) {
      qv_array_unref(cols[i]);
      ok = false;
      continue;
    }
    if (qv_batch_new(f->s, lens[i], &cols[i], 1, NULL, &f->b[i], NULL) != QV_OK) ok = false;
  }
  return ok;
}

/* isDelta of the DictionaryBatch message m. */
static int msg_is_delta(const uint8_t *bytes, const wmsg *m) {
  qv_ipc_read_options ro = qv_ipc_read_options_default();
  qv__ipc_msg msg;
  if (qv__ipc_msg_parse(bytes + m->start + 8, m->meta_len, 0, &ro, &msg, NULL) != QV_OK)
    return -1;
  return qv__fb_bool(&msg.fb, msg.header, QV_FB_DICTBATCH_IS_DELTA, false);
}

static void check_read_back(const qv_mbuffer *mb, qv_batch *const *b, int n) {
  qv_table *t;
  qv_error err;
  QV_CHECK_OK_E(w_read(mb, &t, &err), &err);
  if (qv_test_failed) return;
  QV_CHECK_INT_EQ(t->n_batches, n);
  for (int i = 0; i < n && i < t->n_batches; i++) {
    qv_error diff;
    bool eq = qv_batch_equal(b[i], t->batches[i], &diff);
    QV_CHECK(eq);
    if (!eq) fprintf(stderr, "  batch %d: %s\n", i, diff.message);
  }
  qv_table_free(t);
}

static void test_stream_delta_and_replacement(void) {
  fixture f;
  QV_REQUIRE(fixture_init(&f));
  qv_ipc_write_options o = qv_ipc_write_options_default();
  qv_mbuffer mb;
  qv_error err;
  QV_CHECK_OK_E(w_write(f.s, f.b, 5, &o, NULL, &mb, &err), &err);
  static wlayout lay;
  if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay)) {
    /* S, D, R, D(delta), R, R, D(replacement), R, R */
    static const uint8_t want[] = {1, 2, 3, 2, 3, 3, 2, 3, 3};
    QV_CHECK_INT_EQ(lay.n, 9);
    for (int i = 0; i < lay.n && i < 9; i++) QV_CHECK_INT_EQ(lay.msgs[i].type, want[i]);
    if (lay.n == 9) {
      QV_CHECK_INT_EQ(msg_is_delta(mb.data, &lay.msgs[1]), 0);
      QV_CHECK_INT_EQ(msg_is_delta(mb.data, &lay.msgs[3]), 1);
      QV_CHECK_INT_EQ(msg_is_delta(mb.data, &lay.msgs[6]), 0);
    }
    check_read_back(&mb, f.b, 5);
  }
  qv_mbuffer_reset(&mb);

  /* deltas off: every change is written whole */
  o.emit_dictionary_deltas = false;
  QV_CHECK_OK_E(w_write(f.s, f.b, 5, &o, NULL, &mb, &err), &err);
  if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay)) {
    QV_CHECK_INT_EQ(lay.n, 9);
    if (lay.n == 9) QV_CHECK_INT_EQ(msg_is_delta(mb.data, &lay.msgs[3]), 0);
    check_read_back(&mb, f.b, 5);
  }
  qv_mbuffer_reset(&mb);
  fixture_free(&f);
}

static void test_file_delta_ok_replacement_refused(void) {
  fixture f;
  QV_REQUIRE(fixture_init(&f));
  qv_ipc_write_options o = qv_ipc_write_options_default();
  o.format = QV_IPC_FORMAT_FILE;
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, NULL);
  qv_ipc_writer *w;
  qv_error err;
  QV_REQUIRE_OK_E(qv_ipc_writer_new(f.s, &o, qv_ipc_sink_mbuffer, &mb, NULL, &w, &err), &err);
  QV_CHECK_OK_E(qv_ipc_writer_write_batch(w, f.b[0], &err), &err);
  QV_CHECK_OK_E(qv_ipc_writer_write_batch(w, f.b[1], &err), &err);
  QV_CHECK_OK_E(qv_ipc_writer_write_batch(w, f.b[2], &err), &err);
  QV_CHECK_STATUS_E(qv_ipc_writer_write_batch(w, f.b[3], &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "does not allow dictionary replacement");
  QV_CHECK_CONTAINS(err.message, "'tag'");
  /* the writer is still usable: the file holds the three good batches */
  QV_CHECK_OK_E(qv_ipc_writer_finish(w, &err), &err);
  QV_CHECK_INT_EQ(qv_ipc_writer_num_dictionary_batches(w), 2);
  qv_ipc_writer_free(w);
  static wlayout lay;
  if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay)) {
    QV_CHECK_UINT_EQ(lay.n_footer_dict, 2);
    QV_CHECK_UINT_EQ(lay.n_footer_batch, 3);
    check_read_back(&mb, f.b, 3);
  }
  qv_mbuffer_reset(&mb);
  fixture_free(&f);
}

/* A dictionary inside a struct and inside a list: ids assigned in pre-order, inner
 * dictionaries found through the nesting. */
static void test_nested_dictionaries(void) {
  qv_error err;
  qv_type *dt = NULL, *st = NULL, *lt = NULL;
  qv_field *fd = NULL, *fs = NULL, *fl = NULL, *fi = NULL;
  qv_schema *s = NULL;
  qv_batch *b = NULL;
  QV_REQUIRE_OK(qv_type_dictionary(qv_type_int8(), qv_type_utf8(), false, NULL, &dt, NULL));
  QV_CHECK_OK(qv_field_new("d", dt, true, NULL, NULL, &fd, NULL));
  QV_CHECK_OK(qv_field_new("i", qv_type_int32(), true, NULL, NULL, &fi, NULL));
  qv_field *sf[2] = {fi, fd};
  QV_CHECK_OK(qv_type_struct(sf, 2, NULL, &st, NULL));
  QV_CHECK_OK(qv_type_list(fd, NULL, &lt, NULL));
  QV_CHECK_OK(qv_field_new("s", st, true, NULL, NULL, &fs, NULL));
  QV_CHECK_OK(qv_field_new("l", lt, true, NULL, NULL, &fl, NULL));
  qv_field *top[3] = {fs, fl, fd};
  if (!qv_test_failed) QV_CHECK_OK(qv_schema_new(top, 3, NULL, NULL, &s, NULL));
  qv_array *cols[3] = {0};
  for (int i = 0; i < 3 && !qv_test_failed; i++)
    QV_CHECK_OK_E(w_make_array(s->fields[i]->type, 30, i, NULL, &cols[i], &err), &err);
  if (!qv_test_failed) QV_CHECK_OK_E(qv_batch_new(s, 30, cols, 3, NULL, &b, &err), &err);
  else
    for (int i = 0; i < 3; i++) qv_array_unref(cols[i]);
  for (int fmt = 0; fmt < 2 && !qv_test_failed; fmt++) {
    qv_ipc_write_options o = qv_ipc_write_options_default();
    o.format = (qv_ipc_format)fmt;
    qv_batch *two[2] = {b, b};
    qv_mbuffer mb;
    QV_CHECK_OK_E(w_write(s, two, 2, &o, NULL, &mb, &err), &err);
    static wlayout lay;
    if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay)) {
      /* S, three dictionaries, R, R (unchanged dictionaries are not repeated) */
      QV_CHECK_INT_EQ(lay.n, 6);
      check_read_back(&mb, two, 2);
    }
    qv_mbuffer_reset(&mb);
  }
  qv_batch_unref(b);
  qv_schema_unref(s);
  qv_field_unref(fd);
  qv_field_unref(fs);
  qv_field_unref(fl);
  qv_field_unref(fi);
  qv_type_unref(dt);
  qv_type_unref(st);
  qv_type_unref(lt);
}

/* A sliced dictionary-encoded column: indices re-based, the dictionary written whole. */
static void test_sliced_dictionary_column(void) {
  fixture f;
  QV_REQUIRE(fixture_init(&f));
  qv_batch *sl;
  QV_REQUIRE_OK(qv_batch_slice(f.b[1], 1, 2, &sl, NULL));
  qv_ipc_write_options o = qv_ipc_write_options_default();
  qv_mbuffer mb;
  qv_error err;
  QV_CHECK_OK_E(w_write(f.s, &sl, 1, &o, NULL, &mb, &err), &err);
  static wlayout lay;
  if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay))
    check_read_back(&mb, &sl, 1);
  qv_mbuffer_reset(&mb);
  qv_batch_unref(sl);
  fixture_free(&f);
}

/* Two fields sharing dictionary id 5 (explicit ids are kept): one dictionary batch. */
static void test_shared_dictionary_id(void) {
  fixture f;
  QV_REQUIRE(fixture_init(&f));
  qv_field *a, *b2;
  QV_REQUIRE_OK(qv_field_with_dictionary_id(f.s->fields[0], 5, NULL, &a, NULL));
  QV_REQUIRE_OK(qv_field_with_name(a, "tag2", NULL, &b2, NULL));
  qv_field *fs[2] = {a, b2};
  qv_schema *s;
  QV_REQUIRE_OK(qv_schema_new(fs, 2, NULL, NULL, &s, NULL));
  qv_field_unref(a);
  qv_field_unref(b2);
  qv_array *cols[2] = {qv_array_ref(f.b[1]->columns[0]), qv_array_ref(f.b[2]->columns[0])};
  qv_batch *b;
  qv_array *c2[2];
  QV_REQUIRE_OK(qv_array_slice(cols[0], 0, 1, &c2[0], NULL));
  c2[1] = qv_array_ref(cols[1]);
  qv_array_unref(cols[0]);
  qv_array_unref(cols[1]);
  QV_REQUIRE_OK(qv_batch_new(s, 1, c2, 2, NULL, &b, NULL));
  qv_ipc_write_options o = qv_ipc_write_options_default();
  o.format = QV_IPC_FORMAT_FILE;
  qv_mbuffer mb;
  qv_error err;
  QV_CHECK_OK_E(w_write(s, &b, 1, &o, NULL, &mb, &err), &err);
  static wlayout lay;
  if (!qv_test_failed && !w_check_bytes(mb.data, mb.len, o.format, &lay)) {
    QV_CHECK_UINT_EQ(lay.n_footer_dict, 1);
    qv_table *t;
    QV_CHECK_OK_E(w_read(&mb, &t, &err), &err);
    if (!qv_test_failed) {
      QV_CHECK_INT_EQ(t->schema->fields[1]->dictionary_id, 5);
      QV_CHECK(qv_batch_equal(b, t->batches[0], NULL));
      qv_table_free(t);
    }
  }
  qv_mbuffer_reset(&mb);
  qv_batch_unref(b);
  qv_schema_unref(s);

  /* sharing an id across different value types is refused */
  qv_type *it;
  QV_REQUIRE_OK(qv_type_dictionary(qv_type_int32(), qv_type_int64(), false, NULL, &it, NULL));
  qv_field *g, *g5;
  QV_REQUIRE_OK(qv_field_new("nums", it, true, NULL, NULL, &g, NULL));
  QV_REQUIRE_OK(qv_field_with_dictionary_id(g, 5, NULL, &g5, NULL));
  QV_REQUIRE_OK(qv_field_with_dictionary_id(f.s->fields[0], 5, NULL, &a, NULL));
  qv_field *gs[2] = {a, g5};
  QV_REQUIRE_OK(qv_schema_new(gs, 2, NULL, NULL, &s, NULL));
  qv_ipc_writer *w = NULL;
  qv_mbuffer_init(&mb, NULL);
  QV_CHECK_STATUS_E(qv_ipc_writer_new(s, NULL, qv_ipc_sink_mbuffer, &mb, NULL, &w, &err),
                    QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "share dictionary id 5");
  QV_CHECK(w == NULL);
  QV_CHECK_UINT_EQ(mb.len, 0);
  qv_mbuffer_reset(&mb);
  qv_schema_unref(s);
  qv_field_unref(a);
  qv_field_unref(g);
  qv_field_unref(g5);
  qv_type_unref(it);
  fixture_free(&f);
}

static qv_status write_sequence(const qv_allocator *a, void *ctx) {
  fixture *f = ctx;
  qv_mbuffer mb;
  qv_status st = w_write(f->s, f->b, 5, NULL, a, &mb, NULL);
  if (st == QV_OK) qv_mbuffer_reset(&mb);
  if (st < 0) return st;
  qv_ipc_write_options o = qv_ipc_write_options_default();
  o.format = QV_IPC_FORMAT_FILE;
  o.compression = QV_IPC_COMPRESSION_LZ4_FRAME;
  st = w_write(f->s, f->b, 3, &o, a, &mb, NULL); /* with a delta */
  if (st == QV_OK) qv_mbuffer_reset(&mb);
  return st;
}

/* Allocation failure at every point of the delta / replacement sequence leaks nothing. */
static void test_alloc_failures(void) {
  fixture f;
  QV_REQUIRE(fixture_init(&f));
  size_t n = qv_test_each_alloc_failure(write_sequence, &f, "dictionary sequence");
  QV_CHECK(n > 20);
  fixture_free(&f);
}

QV_TEST_MAIN(QV_CASE(test_alloc_failures), QV_CASE(test_shared_dictionary_id), QV_CASE(test_stream_delta_and_replacement),
             QV_CASE(test_file_delta_ok_replacement_refused), QV_CASE(test_nested_dictionaries),
             QV_CASE(test_sliced_dictionary_column))
