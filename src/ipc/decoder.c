/* decoder.c — the incremental (sans-I/O) IPC stream decoder: message framing (continuation
 * marker or legacy 4-byte prefix), a queue of fed input chunks consumed zero-copy when a message
 * lies inside one chunk, schema / dictionary / record batch dispatch, read options, and the
 * whole-buffer readers (stream or file, detected by magic). */
#include <stdio.h>
#include <string.h>

#include "ipc/ipc_int.h"

qv_ipc_read_options qv_ipc_read_options_default(void) {
  qv_ipc_read_options o;
  memset(&o, 0, sizeof o);
  o.limits.max_message_bytes = (int64_t)2 << 30;
  o.limits.max_metadata_bytes = (int64_t)64 << 20;
  o.limits.max_rows = INT32_MAX;
  o.limits.max_columns = 65536;
  o.limits.max_nesting = 64;
  o.limits.max_dictionary_bytes = (int64_t)1 << 30;
  o.limits.max_decompressed_bytes = (int64_t)4 << 30;
  o.validate = QV_VALIDATE_FULL;
  return o;
}

/* ---- framing ------------------------------------------------------------------------------ */

qv_status qv__ipc_frame_peek(const uint8_t *p, size_t avail, int64_t at,
                             const qv_ipc_limits *lim, qv__ipc_frame *fr, size_t *need,
                             qv_error *err) {
  memset(fr, 0, sizeof *fr);
  if (avail < 4) {
    *need = 4;
    return QV_NEED_MORE;
  }
  uint32_t w = qv__load_u32le(p);
  uint32_t len;
  if (w == QV_IPC_CONTINUATION) {
    if (avail < 8) {
      *need = 8;
      return QV_NEED_MORE;
    }
    len = qv__load_u32le(p + 4);
    fr->prefix_len = 8;
  } else {
    len = w; /* legacy format (before 0.15): the length alone */
    fr->prefix_len = 4;
  }
  if (len == 0) {
    fr->eos = true;
    return QV_OK;
  }
  if ((int32_t)len < 0)
    return qv_error_set_at(err, QV_E_CORRUPT, at, "message metadata length %d is negative",
                           (int32_t)len);
  if (lim->max_metadata_bytes > 0 && (int64_t)len > lim->max_metadata_bytes)
    return qv_error_set_at(err, QV_E_LIMIT, at,
                           "message metadata of %u bytes exceeds the limit of %lld", len,
                           (long long)lim->max_metadata_bytes);
  if (lim->max_message_bytes > 0 && (int64_t)len > lim->max_message_bytes)
    return qv_error_set_at(err, QV_E_LIMIT, at,
                           "message of %u metadata bytes exceeds the limit of %lld", len,
                           (long long)lim->max_message_bytes);
  fr->meta_len = len;
  return QV_OK;
}

/* ---- the decoder -------------------------------------------------------------------------- */

struct qv_ipc_decoder {
  qv_allocator alloc;
  qv_ipc_read_options opts;
  qv_buffer *chunks; /* queue: chunks[head..n) */
  size_t head, n, cap;
  size_t head_off;   /* bytes of chunks[head] already consumed */
  uint64_t avail;    /* unconsumed bytes in the queue */
  uint64_t consumed; /* absolute input offset of the next message */
  size_t need;
  uint64_t pending;  /* bytes the next message needs in total, once known (0: not yet) */
  bool input_done, eos, failed;
  qv__ipc_schema_info si;
  int64_t n_batches, n_dicts;
  qv_metadata batch_md; /* custom metadata of the last batch returned */
};

qv_status qv_ipc_decoder_new(const qv_ipc_read_options *opts, const qv_allocator *a,
                             qv_ipc_decoder **out, qv_error *err) {
  if (!out) return qv_error_set(err, QV_E_INVALID, "qv_ipc_decoder_new: out is NULL");
  if (!a) a = qv_allocator_default();
  qv_ipc_decoder *d = qv_mem_calloc(a, sizeof *d, _Alignof(qv_ipc_decoder));
  if (!d) return qv__nomem(err, "IPC decoder", sizeof *d);
  d->alloc = *a;
  d->opts = opts ? *opts : qv_ipc_read_options_default();
  qv_metadata_init(&d->batch_md, a);
  *out = d;
  return QV_OK;
}

void qv_ipc_decoder_free(qv_ipc_decoder *d) {
  if (!d) return;
  for (size_t i = d->head; i < d->n; i++) qv_buffer_unref(&d->chunks[i]);
  if (d->chunks) qv_mem_free(&d->alloc, d->chunks, sizeof *d->chunks * d->cap, _Alignof(qv_buffer));
  qv__ipc_schema_info_reset(&d->si);
  qv_metadata_reset(&d->batch_md);
  qv_allocator a = d->alloc;
  qv_mem_free(&a, d, sizeof *d, _Alignof(qv_ipc_decoder));
}

static qv_status state_check(const qv_ipc_decoder *d, qv_error *err) {
  if (d->failed)
    return qv_error_set(err, QV_E_STATE, "IPC decoder failed earlier and cannot continue");
  return QV_OK;
}

qv_status qv_ipc_decoder_feed(qv_ipc_decoder *d, const qv_buffer *bytes, qv_error *err) {
  if (!d || !bytes) return qv_error_set(err, QV_E_INVALID, "qv_ipc_decoder_feed: NULL argument");
  QV_TRY(state_check(d, err));
  if (d->input_done || d->eos)
    return qv_error_set(err, QV_E_STATE, "IPC decoder: input fed after the end of the stream");
  if (bytes->len == 0) return QV_OK;
  if (d->head > 0 && d->n == d->cap) { /* compact */
    memmove(d->chunks, d->chunks + d->head, sizeof *d->chunks * (d->n - d->head));
    d->n -= d->head;
    d->head = 0;
  }
  if (d->n == d->cap) {
    size_t nc = d->cap ? d->cap * 2 : 8;
    void *p = qv_mem_realloc(&d->alloc, d->chunks, sizeof *d->chunks * d->cap,
                             sizeof *d->chunks * nc, _Alignof(qv_buffer));
    if (!p) return qv__nomem(err, "IPC decoder input queue", sizeof *d->chunks * nc);
    d->chunks = p;
    d->cap = nc;
  }
  qv_buffer_ref(bytes, &d->chunks[d->n++]);
  d->avail += bytes->len;
  return QV_OK;
}

qv_status qv_ipc_decoder_feed_copy(qv_ipc_decoder *d, const void *data, size_t len,
                                   qv_error *err) {
  if (!d || (!data && len)) return qv_error_set(err, QV_E_INVALID, "qv_ipc_decoder_feed_copy: NULL argument");
  if (len == 0) return QV_OK;
  QV_TRY(state_check(d, err));
  qv_buffer b;
  QV_TRY(qv_buffer_copy(data, len, &d->alloc, &b, err));
  qv_status s = qv_ipc_decoder_feed(d, &b, err);
  qv_buffer_unref(&b);
  return s;
}

void qv_ipc_decoder_finish_input(qv_ipc_decoder *d) {
  if (d) d->input_done = true;
}

size_t qv_ipc_decoder_bytes_needed(const qv_ipc_decoder *d) { return d ? d->need : 0; }
uint64_t qv_ipc_decoder_bytes_consumed(const qv_ipc_decoder *d) { return d ? d->consumed : 0; }
const qv_schema *qv_ipc_decoder_schema(const qv_ipc_decoder *d) { return d ? d->si.schema : NULL; }
const qv_metadata *qv_ipc_decoder_batch_metadata(const qv_ipc_decoder *d) {
  return d ? &d->batch_md : NULL;
}

/* Replaces the queued (unconsumed) input by `b`, whose first bytes must be those same
 * unconsumed bytes (b->len >= the bytes queued): used by the fd reader to keep every partial
 * message in one contiguous chunk, so that it is decoded zero-copy. */
qv_status qv__ipc_decoder_set_input(qv_ipc_decoder *d, const qv_buffer *b, qv_error *err) {
  QV_TRY(state_check(d, err));
  if (d->input_done || d->eos)
    return qv_error_set(err, QV_E_STATE, "IPC decoder: input fed after the end of the stream");
  if (b->len < d->avail)
    return qv_error_set(err, QV_E_INVALID, "IPC decoder: replacement input is shorter than "
                        "the %llu bytes queued", (unsigned long long)d->avail);
  for (size_t i = d->head; i < d->n; i++) qv_buffer_unref(&d->chunks[i]);
  d->head = d->n = 0;
  d->head_off = 0;
  d->avail = 0;
  return qv_ipc_decoder_feed(d, b, err);
}

/* Copies queue bytes [off, off+len) into dst (caller checked they are available). */
static void queue_copy(const qv_ipc_decoder *d, uint64_t off, uint8_t *dst, size_t len) {
  if (len == 0) return;
  size_t i = d->head;
  uint64_t skip = off + d->head_off;
  while (skip >= d->chunks[i].len) {
    skip -= d->chunks[i].len;
    i++;
  }
  while (len) {
    size_t take = qv__min(len, d->chunks[i].len - (size_t)skip);
    memcpy(dst, d->chunks[i].data + skip, take);
    dst += take;
    len -= take;
    skip = 0;
    i++;
  }
}

/* Queue bytes [off, off+len) as a buffer: a zero-copy slice when they lie in one chunk. */
static qv_status queue_view(qv_ipc_decoder *d, uint64_t off, size_t len, qv_buffer *out,
                            qv_error *err) {
  memset(out, 0, sizeof *out);
  if (len == 0) return QV_OK;
  size_t i = d->head;
  uint64_t skip = off + d->head_off;
  while (skip >= d->chunks[i].len) {
    skip -= d->chunks[i].len;
    i++;
  }
  if (d->chunks[i].len - skip >= len) return qv_buffer_slice(&d->chunks[i], (size_t)skip, len, out, err);
  QV_TRY(qv_buffer_new(len, &d->alloc, out, err));
  queue_copy(d, off, (uint8_t *)out->data, len);
  return QV_OK;
}

static void queue_consume(qv_ipc_decoder *d, uint64_t n) {
  d->avail -= n;
  d->consumed += n;
  while (n) {
    size_t left = d->chunks[d->head].len - d->head_off;
    if (n >= left) {
      n -= left;
      qv_buffer_unref(&d->chunks[d->head]);
      d->head++;
      d->head_off = 0;
    } else {
      d->head_off += (size_t)n;
      n = 0;
    }
  }
  if (d->head == d->n) d->head = d->n = 0;
}

static qv_status need_more(qv_ipc_decoder *d, uint64_t total, qv_error *err) {
  if (d->input_done)
    return qv_error_set_at(err, QV_E_CORRUPT, (int64_t)d->consumed,
                           "stream is truncated: message at byte %llu needs %llu bytes, %llu left",
                           (unsigned long long)d->consumed, (unsigned long long)total,
                           (unsigned long long)d->avail);
  d->need = (size_t)(total - d->avail);
  return QV_NEED_MORE;
}

static qv_status step(qv_ipc_decoder *d, qv_batch **out, qv_error *err) {
  const qv_ipc_limits *lim = &d->opts.limits;
  if (d->eos) return QV_EOF;
  if (d->avail == 0 && d->input_done) {
    d->eos = true;
    return QV_EOF; /* a stream may end without the marker */
  }
  /* The next message's size is known and not all there yet: do not parse it again. */
  if (d->pending && d->avail < d->pending) return need_more(d, d->pending, err);
  uint8_t pre[8];
  size_t pn = (size_t)qv__min(8, d->avail);
  queue_copy(d, 0, pre, pn);
  qv__ipc_frame fr;
  size_t need;
  qv_status s = qv__ipc_frame_peek(pre, pn, (int64_t)d->consumed, lim, &fr, &need, err);
  if (s == QV_NEED_MORE) return need_more(d, need, err);
  QV_TRY(s);
  if (fr.eos) {
    queue_consume(d, fr.prefix_len);
    d->eos = true;
    return QV_EOF;
  }
  uint64_t hdr = fr.prefix_len + fr.meta_len;
  if (d->avail < hdr) {
    d->pending = hdr;
    return need_more(d, hdr, err);
  }
  qv_buffer meta;
  QV_TRY(queue_view(d, fr.prefix_len, fr.meta_len, &meta, err));
  qv__ipc_msg msg;
  s = qv__ipc_msg_parse(meta.data, meta.len, (int64_t)(d->consumed + fr.prefix_len), &d->opts,
                        &msg, err);
  if (s < 0) goto out;
  if (lim->max_message_bytes > 0 &&
      msg.body_length > lim->max_message_bytes - (int64_t)fr.meta_len) {
    s = qv_error_set_at(err, QV_E_LIMIT, (int64_t)d->consumed,
                        "message of %zu + %lld bytes exceeds the limit of %lld", fr.meta_len,
                        (long long)msg.body_length, (long long)lim->max_message_bytes);
    goto out;
  }
  uint64_t total = hdr + (uint64_t)msg.body_length;
  if (d->avail < total) {
    d->pending = total;
    s = need_more(d, total, err);
    goto out;
  }
  d->pending = 0;
  qv_buffer body;
  s = queue_view(d, hdr, (size_t)msg.body_length, &body, err);
  if (s < 0) goto out;
  qv__ipc_body_ctx c;
  qv__ipc_body_ctx_init(&c, &d->opts, &d->alloc, &d->si, msg.version, &body,
                        (int64_t)(d->consumed + hdr));
  switch (msg.header_type) {
    case QV_FB_HEADER_SCHEMA:
      if (d->si.schema) {
        s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)d->consumed,
                            "stream has a second schema message");
        break;
      }
      s = qv__ipc_schema_read(&msg.fb, msg.header, &d->opts, &d->alloc, &d->si, err);
      break;
    case QV_FB_HEADER_DICTIONARY_BATCH:
      if (!d->si.schema) {
        s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)d->consumed,
                            "dictionary batch before the schema message");
        break;
      }
      s = qv__ipc_dict_decode(&c, &msg.fb, msg.header, true, err);
      if (s == QV_OK) d->n_dicts++;
      break;
    case QV_FB_HEADER_RECORD_BATCH: {
      if (!d->si.schema) {
        s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)d->consumed,
                            "record batch before the schema message");
        break;
      }
      qv__ipc_batch_meta bm;
      c.batch_index = d->n_batches; /* c.what stays empty: named lazily on error */
      s = qv__ipc_batch_meta_read(&msg.fb, msg.header, lim, &bm, err);
      if (s < 0) break;
      c.meta = &bm;
      qv_metadata_reset(&d->batch_md);
      s = qv__ipc_metadata_read(&msg.fb, msg.custom_metadata, msg.n_custom_metadata,
                                &d->batch_md, err);
      if (s == QV_OK) s = qv__ipc_batch_decode(&c, d->si.schema, NULL, 0, out, err);
      if (s == QV_OK) {
        d->n_batches++;
        s = 1000; /* internal: a batch was produced */
      }
      break;
    }
    default:
      s = qv_error_set_at(err, QV_E_UNSUPPORTED, (int64_t)d->consumed,
                          "message header type %u is not supported", msg.header_type);
  }
  qv_buffer_unref(&body);
  if (s >= 0) queue_consume(d, total);
out:
  qv_buffer_unref(&meta);
  return s;
}

static qv_status run(qv_ipc_decoder *d, qv_batch **out, bool schema_only, qv_error *err) {
  if (!d) return qv_error_set(err, QV_E_INVALID, "IPC decoder is NULL");
  QV_TRY(state_check(d, err));
  d->need = 0;
  for (;;) {
    if (schema_only && d->si.schema) return QV_OK;
    qv_status s = step(d, out, err);
    if (s == 1000) return QV_OK;
    if (s == QV_OK) continue;
    if (s < 0) d->failed = true;
    if (s == QV_EOF && !d->si.schema) {
      d->failed = true;
      return qv_error_set_at(err, QV_E_CORRUPT, (int64_t)d->consumed,
                             "stream ended without a schema message");
    }
    return s;
  }
}

qv_status qv_ipc_decoder_next(qv_ipc_decoder *d, qv_batch **out, qv_error *err) {
  if (!out) return qv_error_set(err, QV_E_INVALID, "qv_ipc_decoder_next: out is NULL");
  *out = NULL;
  return run(d, out, false, err);
}

qv_status qv_ipc_decoder_read_schema(qv_ipc_decoder *d, qv_error *err) {
  qv_batch *unused = NULL;
  qv_status s = run(d, &unused, true, err);
  if (s == QV_OK && unused) { /* cannot happen: schema comes first */
    qv_batch_unref(unused);
  }
  return s;
}

/* ---- whole inputs ------------------------------------------------------------------------- */

static qv_status read_stream(const qv_buffer *buf, const qv_ipc_read_options *opts,
                             const qv_allocator *a, qv_table **out, qv_error *err) {
  qv_ipc_decoder *d = NULL;
  qv_table *t = NULL;
  QV_TRY(qv_ipc_decoder_new(opts, a, &d, err));
  qv_status s = qv_ipc_decoder_feed(d, buf, err);
  qv_ipc_decoder_finish_input(d);
  if (s == QV_OK) s = qv_ipc_decoder_read_schema(d, err);
  if (s == QV_OK) s = qv_table_new(d->si.schema, a, &t, err);
  while (s == QV_OK) {
    qv_batch *b = NULL;
    s = qv_ipc_decoder_next(d, &b, err);
    if (s != QV_OK) break;
    s = qv_table_append_batch(t, b, err);
    qv_batch_unref(b);
  }
  qv_ipc_decoder_free(d);
  if (s == QV_EOF) {
    *out = t;
    return QV_OK;
  }
  if (s == QV_NEED_MORE) s = qv_error_set(err, QV_E_CORRUPT, "stream is truncated");
  qv_table_free(t);
  return s;
}

qv_status qv_ipc_read_buffer(const qv_buffer *buf, const qv_ipc_read_options *opts,
                             const qv_allocator *a, qv_table **out, qv_error *err) {
  if (!buf || !out) return qv_error_set(err, QV_E_INVALID, "qv_ipc_read_buffer: NULL argument");
  *out = NULL;
  if (buf->len >= QV_IPC_MAGIC_LEN && memcmp(buf->data, QV_IPC_MAGIC, QV_IPC_MAGIC_LEN) == 0)
    return qv__ipc_file_read_all(buf, opts, a, out, err);
  return read_stream(buf, opts, a, out, err);
}
