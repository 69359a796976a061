/* cdata_stream.c — the Arrow C Stream Interface: qv_batch_reader (and a reader over a table)
 * exported as an ArrowArrayStream, and an ArrowArrayStream imported as a qv_batch_reader. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "array_int.h"

/* ---- qv_batch_reader helpers ------------------------------------------------------------- */

qv_status qv_batch_reader_next(qv_batch_reader *r, qv_batch **out, qv_error *err) {
  if (out) *out = NULL;
  if (!r || !r->next || !out)
    return qv_error_set(err, QV_E_STATE, "batch reader: released or not initialised");
  return r->next(r->ctx, out, err);
}

const qv_schema *qv_batch_reader_schema(const qv_batch_reader *r) {
  return (r && r->schema) ? r->schema(r->ctx) : NULL;
}

void qv_batch_reader_release(qv_batch_reader *r) {
  if (!r) return;
  if (r->release) r->release(r->ctx);
  memset(r, 0, sizeof *r);
}

/* A reader over a table's batches. */
typedef struct table_reader {
  qv_allocator alloc;
  qv_schema *schema;
  int64_t n, pos;
  qv_batch **batches;
} table_reader;

static qv_status table_next(void *ctx, qv_batch **out, qv_error *err) {
  (void)err;
  table_reader *t = ctx;
  if (t->pos >= t->n) return QV_EOF;
  *out = qv_batch_ref(t->batches[t->pos++]);
  return QV_OK;
}

static const qv_schema *table_schema(void *ctx) { return ((table_reader *)ctx)->schema; }

static void table_release(void *ctx) {
  table_reader *t = ctx;
  qv_allocator a = t->alloc;
  for (int64_t i = 0; i < t->n; i++) qv_batch_unref(t->batches[i]);
  qv_mem_free(&a, t->batches, (size_t)t->n * sizeof(qv_batch *), 0);
  qv_schema_unref(t->schema);
  qv_mem_free(&a, t, sizeof *t, 0);
}

qv_status qv_batch_reader_from_table(const qv_table *table, const qv_allocator *a,
                                     qv_batch_reader *out, qv_error *err) {
  if (!out) return qv_error_set(err, QV_E_INVALID, "qv_batch_reader_from_table: NULL output");
  memset(out, 0, sizeof *out);
  if (!table) return qv_error_set(err, QV_E_INVALID, "qv_batch_reader_from_table: NULL table");
  table_reader *t = qv_mem_calloc(a, sizeof *t, 0);
  if (!t) return qv__nomem(err, "a table reader", sizeof *t);
  t->alloc = a ? *a : *qv_allocator_default();
  if (table->n_batches > 0) {
    size_t bytes;
    if (qv__mul_overflow((size_t)table->n_batches, sizeof(qv_batch *), &bytes) ||
        !(t->batches = qv_mem_alloc(a, bytes, 0))) {
      qv_mem_free(a, t, sizeof *t, 0);
      return qv__nomem(err, "a table reader's batch list", (size_t)table->n_batches * 8);
    }
    for (int64_t i = 0; i < table->n_batches; i++) t->batches[i] = qv_batch_ref(table->batches[i]);
    t->n = table->n_batches;
  }
  t->schema = qv_schema_ref(table->schema);
  out->next = table_next;
  out->schema = table_schema;
  out->release = table_release;
  out->ctx = t;
  return QV_OK;
}

/* ---- export: qv_batch_reader -> ArrowArrayStream ----------------------------------------- */

typedef struct stream_priv {
  qv_allocator alloc;
  qv_batch_reader reader;
  int failed; /* errno code of the first failure, 0 while healthy */
  qv_error error;
} stream_priv;

static int errno_of(qv_status s) {
  switch (s) {
    case QV_E_NOMEM: return ENOMEM;
    case QV_E_INVALID: case QV_E_TYPE: case QV_E_RANGE: return EINVAL;
    case QV_E_UNSUPPORTED: return ENOSYS;
    default: return EIO;
  }
}

static int stream_fail(stream_priv *p, qv_status s) {
  p->failed = errno_of(s);
  if (!p->error.message[0])
    snprintf(p->error.message, sizeof p->error.message, "%s", qv_status_str(s));
  return p->failed;
}

static int stream_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
  stream_priv *p = st->private_data;
  if (p->failed) return p->failed;
  qv_error_init(&p->error);
  const qv_schema *s = qv_batch_reader_schema(&p->reader);
  if (!s) {
    qv_error_set(&p->error, QV_E_STATE, "stream: reader has no schema");
    return stream_fail(p, QV_E_STATE);
  }
  qv_status rc = qv_schema_export(s, &p->alloc, out, &p->error);
  /* A failed schema export does not poison the stream: the caller may retry. */
  return rc < 0 ? errno_of(rc) : 0;
}

static int stream_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
  stream_priv *p = st->private_data;
  memset(out, 0, sizeof *out);
  if (p->failed) return p->failed;
  qv_error_init(&p->error);
  qv_batch *b = NULL;
  qv_status rc = qv_batch_reader_next(&p->reader, &b, &p->error);
  if (rc == QV_EOF) return 0; /* out->release == NULL marks the end */
  if (rc < 0) return stream_fail(p, rc);
  rc = qv_batch_export(b, &p->alloc, out, NULL, &p->error);
  qv_batch_unref(b);
  return rc < 0 ? stream_fail(p, rc) : 0;
}

static const char *stream_get_last_error(struct ArrowArrayStream *st) {
  stream_priv *p = st->private_data;
  return p->error.message[0] ? p->error.message : NULL;
}

static void stream_release(struct ArrowArrayStream *st) {
  if (!st || !st->release) return;
  stream_priv *p = st->private_data;
  qv_batch_reader_release(&p->reader);
  qv_allocator a = p->alloc;
  qv_mem_free(&a, p, sizeof *p, 0);
  st->release = NULL;
  st->private_data = NULL;
}

qv_status qv_batch_reader_export(qv_batch_reader *reader, const qv_allocator *a,
                                 struct ArrowArrayStream *out, qv_error *err) {
  if (!out) {
    qv_batch_reader_release(reader);
    return qv_error_set(err, QV_E_INVALID, "qv_batch_reader_export: NULL output");
  }
  memset(out, 0, sizeof *out);
  if (!reader || !reader->next || !reader->schema) {
    qv_batch_reader_release(reader);
    return qv_error_set(err, QV_E_INVALID, "qv_batch_reader_export: reader not initialised");
  }
  stream_priv *p = qv_mem_calloc(a, sizeof *p, 0);
  if (!p) {
    qv_batch_reader_release(reader);
    return qv__nomem(err, "an ArrowArrayStream", sizeof *p);
  }
  p->alloc = a ? *a : *qv_allocator_default();
  p->reader = *reader; /* move */
  memset(reader, 0, sizeof *reader);
  qv_error_init(&p->error);
  out->get_schema = stream_get_schema;
  out->get_next = stream_get_next;
  out->get_last_error = stream_get_last_error;
  out->release = stream_release;
  out->private_data = p;
  return QV_OK;
}

qv_status qv_table_export_stream(const qv_table *table, const qv_allocator *a,
                                 struct ArrowArrayStream *out, qv_error *err) {
  if (out) memset(out, 0, sizeof *out);
  qv_batch_reader r;
  QV_TRY(qv_batch_reader_from_table(table, a, &r, err));
  return qv_batch_reader_export(&r, a, out, err);
}

/* ---- import: ArrowArrayStream -> qv_batch_reader ----------------------------------------- */

typedef struct stream_reader {
  qv_allocator alloc;
  struct ArrowArrayStream stream; /* moved */
  qv_schema *schema;
} stream_reader;

static qv_status status_of_errno(int code) {
  switch (code) {
    case ENOMEM: return QV_E_NOMEM;
    case EINVAL: return QV_E_INVALID;
    case ENOSYS: return QV_E_UNSUPPORTED;
    default: return QV_E_IO;
  }
}

static qv_status producer_error(struct ArrowArrayStream *st, int code, const char *what,
                                qv_error *err) {
  const char *msg = st->get_last_error ? st->get_last_error(st) : NULL;
  return qv_error_set(err, status_of_errno(code), "stream producer error in %s (errno %d): %s",
                      what, code, msg ? msg : "(no message)");
}

static qv_status sreader_next(void *ctx, qv_batch **out, qv_error *err) {
  stream_reader *r = ctx;
  *out = NULL;
  if (!r->stream.release) return QV_EOF;
  struct ArrowArray arr;
  memset(&arr, 0, sizeof arr);
  int code = r->stream.get_next(&r->stream, &arr);
  if (code != 0) {
    if (arr.release) arr.release(&arr);
    return producer_error(&r->stream, code, "get_next", err);
  }
  if (!arr.release) return QV_EOF;
  qv_status s = qv_batch_import(&arr, r->schema, &r->alloc, out, err);
  if (s < 0) qv_error_prefix(err, "stream batch: ");
  return s;
}

static const qv_schema *sreader_schema(void *ctx) { return ((stream_reader *)ctx)->schema; }

static void sreader_release(void *ctx) {
  stream_reader *r = ctx;
  if (r->stream.release) r->stream.release(&r->stream);
  qv_schema_unref(r->schema);
  qv_allocator a = r->alloc;
  qv_mem_free(&a, r, sizeof *r, 0);
}

qv_status qv_batch_reader_import(struct ArrowArrayStream *stream, const qv_allocator *a,
                                 qv_batch_reader *out, qv_error *err) {
  if (!out) {
    if (stream && stream->release) stream->release(stream);
    return qv_error_set(err, QV_E_INVALID, "qv_batch_reader_import: NULL output");
  }
  memset(out, 0, sizeof *out);
  if (!stream || !stream->release)
    return qv_error_set(err, QV_E_INVALID, "stream import: ArrowArrayStream is %s",
                        stream ? "released" : "NULL");
  if (!stream->get_schema || !stream->get_next) {
    stream->release(stream);
    return qv_error_set(err, QV_E_INVALID, "stream import: get_schema/get_next is NULL");
  }
  stream_reader *r = qv_mem_calloc(a, sizeof *r, 0);
  if (!r) {
    stream->release(stream);
    return qv__nomem(err, "a stream reader", sizeof *r);
  }
  r->alloc = a ? *a : *qv_allocator_default();
  r->stream = *stream; /* move */
  stream->release = NULL;
  struct ArrowSchema sc;
  memset(&sc, 0, sizeof sc);
  int code = r->stream.get_schema(&r->stream, &sc);
  qv_status s;
  if (code != 0) {
    s = producer_error(&r->stream, code, "get_schema", err);
  } else {
    s = qv_schema_import(&sc, a, &r->schema, err);
    if (s < 0 && s != QV_E_NOMEM) qv_error_prefix(err, "stream import: ");
  }
  if (sc.release) sc.release(&sc);
  if (s < 0) {
    sreader_release(r);
    return s;
  }
  out->next = sreader_next;
  out->schema = sreader_schema;
  out->release = sreader_release;
  out->ctx = r;
  return QV_OK;
}
