/* test_reader_roundtrip.c — the reader against quiver's own writer: tables of several types
 * (nulls, strings, lists, dictionaries, views, REE) written as stream and file, uncompressed /
 * LZ4 / ZSTD, read back whole, incrementally, through mmap with projections, and from an input
 * that is only 8-byte aligned; per-batch custom metadata survives. (Interop with other
 * implementations is covered by the golden-file tests.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qv_test.h"
#include "quiver/builder.h"
#include "quiver/ipc.h"

static qv_schema *make_schema(void) {
  qv_type *lt = NULL, *dt = NULL, *rt = NULL;
  qv_type_list_of(QV_TYPE_LIST, qv_type_int32(), NULL, &lt, NULL);
  qv_type_dictionary(qv_type_int32(), qv_type_utf8(), false, NULL, &dt, NULL);
  qv_type_run_end_encoded(qv_type_int32(), qv_type_utf8(), NULL, &rt, NULL);
  const qv_type *types[6] = {qv_type_int64(), qv_type_utf8(), lt, dt, qv_type_utf8_view(), rt};
  const char *names[6] = {"i", "s", "l", "d", "v", "r"};
  qv_field *fs[6];
  for (int i = 0; i < 6; i++) {
    qv_field_new(names[i], types[i], true, NULL, NULL, &fs[i], NULL);
    if (i == 3) {
      qv_field *f2;
      qv_field_with_dictionary_id(fs[i], 0, NULL, &f2, NULL);
      qv_field_unref(fs[i]);
      fs[i] = f2;
    }
  }
  qv_schema *s = NULL;
  qv_metadata md;
  qv_metadata_init(&md, NULL);
  qv_metadata_append(&md, "origin", "roundtrip", NULL);
  qv_schema_new(fs, 6, &md, NULL, &s, NULL);
  qv_metadata_reset(&md);
  for (int i = 0; i < 6; i++) qv_field_unref(fs[i]);
  qv_type_unref(lt);
  qv_type_unref(dt);
  qv_type_unref(rt);
  return s;
}

static qv_batch *make_batch(const qv_schema *sc, int seed, int rows) {
  qv_array *cols[6];
  for (int c = 0; c < 6; c++) {
    qv_builder *b = NULL;
    if (qv_builder_new(sc->fields[c]->type, NULL, &b, NULL) != QV_OK) return NULL;
    for (int r = 0; r < rows; r++) {
      int v = seed * 1000 + r;
      bool null = (r + seed) % 5 == 3;
      char str[40];
      snprintf(str, sizeof str, r % 3 ? "v%d" : "a longer string value %d", v);
      if (null && c != 5 && (c != 3 || r >= 3)) { /* d: same dictionary order each batch */
        qv_builder_append_null(b, NULL);
        continue;
      }
      switch (c) {
        case 0: qv_builder_append_i64(b, v, NULL); break;
        case 1: qv_builder_append_str(b, str, NULL); break;
        case 2:
          for (int k = 0; k < r % 4; k++) qv_builder_append_i64(qv_builder_child(b, 0), v + k, NULL);
          qv_builder_list_append(b, NULL);
          break;
        case 3: qv_builder_append_str(b, r % 2 ? "odd" : (r % 3 ? "three" : "even"), NULL); break;
        case 4: qv_builder_append_str(b, str, NULL); break;
        case 5:
          qv_builder_append_str(qv_builder_child(b, 1), r % 2 ? "x" : "y", NULL);
          qv_builder_ree_append_run(b, 1 + r % 3, NULL);
          break;
      }
    }
    if (qv_builder_finish(b, &cols[c], NULL) != QV_OK) return NULL;
    qv_builder_free(b);
    if (c == 5) { /* REE: same row count as the others */
      qv_array *sl = NULL;
      qv_array_slice(cols[c], 0, rows, &sl, NULL);
      qv_array_unref(cols[c]);
      cols[c] = sl;
    }
  }
  qv_batch *out = NULL;
  qv_error err;
  qv_error_init(&err);
  if (qv_batch_new(sc, rows, cols, 6, NULL, &out, &err) != QV_OK)
    fprintf(stderr, "batch: %s\n", err.message);
  return out;
}

static qv_table *make_table(void) {
  qv_schema *sc = make_schema();
  qv_table *t = NULL;
  qv_table_new(sc, NULL, &t, NULL);
  for (int k = 0; k < 3; k++) {
    qv_batch *b = make_batch(sc, k, 20 + 7 * k);
    if (b) qv_table_append_batch(t, b, NULL);
    qv_batch_unref(b);
  }
  qv_schema_unref(sc);
  return t;
}

static void test_roundtrip_all_formats(void) {
  qv_table *t = make_table();
  QV_REQUIRE(t && t->n_batches == 3);
  for (int fmt = 0; fmt < 2; fmt++)
    for (int comp = 0; comp < 3; comp++) {
      qv_ipc_write_options o = qv_ipc_write_options_default();
      o.format = fmt ? QV_IPC_FORMAT_FILE : QV_IPC_FORMAT_STREAM;
      o.compression = (qv_ipc_compression)comp;
      qv_mbuffer mb;
      qv_mbuffer_init(&mb, NULL);
      qv_error err;
      qv_error_init(&err);
      qv_status s = qv_ipc_write_table_mbuffer(t, &o, &mb, &err);
      QV_CHECK_OK_E(s, &err);
      if (s != QV_OK) {
        qv_mbuffer_reset(&mb);
        continue;
      }
      /* 8-byte aligned (not 64): the reader must cope */
      qv_buffer big, in;
      for (int shift = 0; shift <= 8; shift += 8) {
        QV_REQUIRE_OK(qv_buffer_new(mb.len + 8, NULL, &big, NULL));
        memcpy((uint8_t *)big.data + shift, mb.data, mb.len);
        QV_REQUIRE_OK(qv_buffer_slice(&big, (size_t)shift, mb.len, &in, NULL));
        qv_buffer_unref(&big); /* the slice keeps it alive */
        qv_table *back = NULL;
        s = qv_ipc_read_buffer(&in, NULL, NULL, &back, &err);
        QV_CHECK_OK_E(s, &err);
        if (s == QV_OK) {
          qv_error diff;
          qv_error_init(&diff);
          if (!qv_table_equal(t, back, &diff))
            QV__FAIL("format %d compression %d shift %d: %s", fmt, comp, shift, diff.message);
          QV_CHECK_STR_EQ(qv_metadata_get(&back->schema->metadata, "origin"), "roundtrip");
        }
        qv_table_free(back);
        qv_buffer_unref(&in);
      }
      qv_mbuffer_reset(&mb);
    }
  qv_table_free(t);
}

static void test_file_mmap_projection(void) {
  qv_table *t = make_table();
  QV_REQUIRE(t != NULL);
  char path[] = "/tmp/qv_reader_rt_XXXXXX";
  int fd = mkstemp(path);
  QV_REQUIRE(fd >= 0);
  close(fd);
  qv_ipc_write_options o = qv_ipc_write_options_default();
  o.format = QV_IPC_FORMAT_FILE;
  o.compression = QV_IPC_COMPRESSION_ZSTD;
  qv_error err;
  qv_error_init(&err);
  qv_status s = qv_ipc_write_table_path(path, t, &o, NULL, &err);
  QV_CHECK_OK_E(s, &err);
  qv_ipc_file *f = NULL;
  if (s == QV_OK) s = qv_ipc_file_open_path(path, NULL, NULL, &f, &err);
  unlink(path);
  QV_CHECK_OK_E(s, &err);
  if (s != QV_OK) {
    qv_table_free(t);
    return;
  }
  QV_CHECK_INT_EQ(qv_ipc_file_num_batches(f), 3);
  for (int64_t i = 2; i >= 0; i--) {
    int64_t rows;
    QV_CHECK_OK(qv_ipc_file_batch_rows(f, i, &rows, NULL));
    QV_CHECK_INT_EQ(rows, t->batches[i]->length);
    int32_t proj[3] = {5, 3, 1};
    qv_batch *b = NULL;
    QV_CHECK_OK_E(qv_ipc_file_read_batch(f, i, proj, 3, &b, &err), &err);
    if (!b) continue;
    for (int k = 0; k < 3; k++) {
      qv_error diff;
      qv_error_init(&diff);
      if (!qv_array_equal(b->columns[k], t->batches[i]->columns[proj[k]], &diff))
        QV__FAIL("batch %lld column %d: %s", (long long)i, proj[k], diff.message);
      QV_CHECK_STR_EQ(b->schema->fields[k]->name, t->schema->fields[proj[k]]->name);
    }
    qv_batch_unref(b);
  }
  qv_ipc_file_close(f);
  qv_table_free(t);
}

static void test_batch_metadata(void) {
  qv_table *t = make_table();
  QV_REQUIRE(t != NULL);
  for (int fmt = 0; fmt < 2; fmt++) {
    qv_ipc_write_options o = qv_ipc_write_options_default();
    o.format = fmt ? QV_IPC_FORMAT_FILE : QV_IPC_FORMAT_STREAM;
    qv_mbuffer mb;
    qv_mbuffer_init(&mb, NULL);
    qv_ipc_writer *w = NULL;
    qv_error err;
    qv_error_init(&err);
    QV_REQUIRE_OK_E(qv_ipc_writer_new(t->schema, &o, qv_ipc_sink_mbuffer, &mb, NULL, &w, &err), &err);
    qv_metadata md;
    qv_metadata_init(&md, NULL);
    qv_metadata_append(&md, "batch", "first", NULL);
    QV_CHECK_OK_E(qv_ipc_writer_write_batch_metadata(w, t->batches[0], &md, &err), &err);
    QV_CHECK_OK_E(qv_ipc_writer_write_batch(w, t->batches[1], &err), &err);
    QV_CHECK_OK_E(qv_ipc_writer_finish(w, &err), &err);
    qv_ipc_writer_free(w);
    qv_metadata_reset(&md);
    qv_buffer in;
    QV_REQUIRE_OK(qv_mbuffer_finish(&mb, &in, NULL));
    if (fmt == 0) {
      qv_ipc_decoder *d = NULL;
      QV_REQUIRE_OK(qv_ipc_decoder_new(NULL, NULL, &d, NULL));
      QV_REQUIRE_OK(qv_ipc_decoder_feed(d, &in, NULL));
      qv_batch *b = NULL;
      QV_CHECK_OK_E(qv_ipc_decoder_next(d, &b, &err), &err);
      QV_CHECK_STR_EQ(qv_metadata_get(qv_ipc_decoder_batch_metadata(d), "batch"), "first");
      qv_batch_unref(b);
      QV_CHECK_OK_E(qv_ipc_decoder_next(d, &b, &err), &err);
      QV_CHECK_INT_EQ(qv_ipc_decoder_batch_metadata(d)->n, 0);
      qv_batch_unref(b);
      QV_CHECK_STATUS(qv_ipc_decoder_next(d, &b, NULL), QV_EOF);
      qv_ipc_decoder_free(d);
    } else {
      qv_ipc_file *f = NULL;
      QV_REQUIRE_OK_E(qv_ipc_file_open_buffer(&in, NULL, NULL, &f, &err), &err);
      qv_metadata_init(&md, NULL);
      QV_CHECK_OK(qv_ipc_file_batch_metadata(f, 0, &md, NULL));
      QV_CHECK_STR_EQ(qv_metadata_get(&md, "batch"), "first");
      qv_metadata_reset(&md);
      qv_ipc_file_close(f);
    }
    qv_buffer_unref(&in);
  }
  qv_table_free(t);
}

/* A stream fed in small chunks (1..37 bytes, each a zero-copy slice) decodes to the same table;
 * the decoder does not re-parse a pending message per chunk (this stays linear). */
static void test_incremental_chunks(void) {
  qv_table *t = make_table();
  QV_REQUIRE(t != NULL);
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, NULL);
  qv_ipc_write_options o = qv_ipc_write_options_default();
  o.compression = QV_IPC_COMPRESSION_LZ4_FRAME;
  QV_REQUIRE_OK(qv_ipc_write_table_mbuffer(t, &o, &mb, NULL));
  qv_buffer in;
  QV_REQUIRE_OK(qv_mbuffer_finish(&mb, &in, NULL));
  qv_ipc_decoder *d = NULL;
  QV_REQUIRE_OK(qv_ipc_decoder_new(NULL, NULL, &d, NULL));
  qv_table *back = NULL;
  size_t pos = 0, step = 1;
  qv_error err;
  qv_error_init(&err);
  qv_status s = QV_OK;
  while (s >= 0) {
    qv_batch *b = NULL;
    s = qv_ipc_decoder_next(d, &b, &err);
    if (s == QV_OK) {
      if (!back) QV_REQUIRE_OK(qv_table_new(qv_ipc_decoder_schema(d), NULL, &back, NULL));
      QV_CHECK_OK(qv_table_append_batch(back, b, NULL));
      qv_batch_unref(b);
    } else if (s == QV_NEED_MORE) {
      QV_REQUIRE(pos < in.len);
      size_t n = step < in.len - pos ? step : in.len - pos;
      qv_buffer piece;
      QV_REQUIRE_OK(qv_buffer_slice(&in, pos, n, &piece, NULL));
      QV_REQUIRE_OK(qv_ipc_decoder_feed(d, &piece, NULL));
      qv_buffer_unref(&piece);
      pos += n;
      step = step % 37 + 1;
      s = QV_OK;
    } else {
      break;
    }
  }
  QV_CHECK_STATUS_E(s, QV_EOF, &err);
  QV_CHECK_UINT_EQ(pos, in.len);
  qv_error diff;
  qv_error_init(&diff);
  if (back && !qv_table_equal(t, back, &diff)) QV__FAIL("chunked: %s", diff.message);
  qv_table_free(back);
  qv_ipc_decoder_free(d);
  qv_buffer_unref(&in);
  qv_table_free(t);
}

QV_TEST_MAIN(QV_CASE(test_incremental_chunks), QV_CASE(test_roundtrip_all_formats), QV_CASE(test_file_mmap_projection),
             QV_CASE(test_batch_metadata))
