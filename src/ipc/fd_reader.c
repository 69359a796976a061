/* fd_reader.c — the blocking IPC stream reader over a file descriptor: reads chunks with
 * read(2), keeps the unconsumed bytes contiguous in one chunk and hands it to the incremental
 * decoder zero-copy, so batches reference the chunks they were read into; plus its
 * qv_batch_reader adapter. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc_int.h"

/* Smallest chunk read into (bigger when the next message needs more). */
#define QV__FD_MIN_CHUNK ((size_t)64 << 10)
/* A message's declared size is allocated at once up to this much; beyond it the chunk at most
 * doubles the bytes actually received, so that a few bytes declaring a huge message (within
 * the limits) do not make us allocate it before it arrives. */
#define QV__FD_EAGER_CHUNK ((size_t)64 << 20)

struct qv_ipc_fd_reader {
  qv_allocator alloc;
  int fd;
  qv_ipc_decoder *dec;
  qv_buffer chunk;      /* the chunk being filled (we write only bytes past `fill`) */
  size_t fill;          /* bytes of chunk read so far */
  uint64_t chunk_at;    /* stream offset of chunk byte 0 */
  uint64_t read_total;  /* bytes read from the fd (prefix included) */
  bool input_end, done, failed;
};

/* Makes sure the chunk has room for `need` more bytes after `fill`. When it does not, a new
 * chunk receives a copy of the unconsumed bytes (a partial message) so that the message stays in
 * one chunk. Its size: the unconsumed bytes + need, but at most QV__FD_EAGER_CHUNK or twice the
 * unconsumed bytes, whichever is larger (it grows again as the bytes arrive), and at least
 * QV__FD_MIN_CHUNK. */
static qv_status ensure_room(qv_ipc_fd_reader *r, size_t need, qv_error *err) {
  uint64_t consumed = qv_ipc_decoder_bytes_consumed(r->dec);
  size_t unc_at = (size_t)(consumed - r->chunk_at); /* unconsumed bytes start here in chunk */
  size_t unc = r->fill - unc_at;
  if (r->chunk.len - r->fill >= need && r->chunk.len > r->fill) return QV_OK;
  size_t size;
  if (qv__add_overflow(unc, need, &size) || size > (size_t)INT64_MAX)
    return qv_error_set_at(err, QV_E_LIMIT, (int64_t)consumed,
                           "message at byte %llu needs more memory than can be addressed",
                           (unsigned long long)consumed);
  size = qv__min(size, qv__max(QV__FD_EAGER_CHUNK, 2 * unc)); /* unc <= chunk.len: no overflow */
  size = qv__max(size, QV__FD_MIN_CHUNK);
  qv_buffer nc;
  QV_TRY(qv_buffer_new(size, &r->alloc, &nc, err));
  if (unc) memcpy((uint8_t *)(uintptr_t)nc.data, r->chunk.data + unc_at, unc);
  qv_buffer_unref(&r->chunk); /* the decoder and batches keep their own references */
  r->chunk = nc;
  r->fill = unc;
  r->chunk_at = consumed;
  return QV_OK;
}

/* Gives the decoder every unconsumed byte of the chunk as one slice of it. */
static qv_status feed(qv_ipc_fd_reader *r, qv_error *err) {
  size_t unc_at = (size_t)(qv_ipc_decoder_bytes_consumed(r->dec) - r->chunk_at);
  qv_buffer view;
  QV_TRY(qv_buffer_slice(&r->chunk, unc_at, r->fill - unc_at, &view, err));
  qv_status s = qv__ipc_decoder_set_input(r->dec, &view, err);
  qv_buffer_unref(&view);
  return s;
}

/* Reads until at least `need` more bytes have arrived, the chunk is full or the input ends, then
 * gives the decoder every unconsumed byte as one slice of the chunk. */
static qv_status fill_input(qv_ipc_fd_reader *r, size_t need, qv_error *err) {
  if (need == 0) need = 1;
  QV_TRY(ensure_room(r, need, err));
  size_t got = 0;
  while (got < need && r->fill < r->chunk.len) {
    ssize_t n = read(r->fd, (uint8_t *)(uintptr_t)r->chunk.data + r->fill, r->chunk.len - r->fill);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return qv_error_set_at(err, QV_E_IO, (int64_t)r->read_total,
                             "IPC stream: read from fd %d failed after %llu bytes: %s", r->fd,
                             (unsigned long long)r->read_total, strerror(errno));
    if (n == 0) {
      r->input_end = true;
      break;
    }
    r->fill += (size_t)n;
    r->read_total += (uint64_t)n;
    got += (size_t)n;
  }
  qv_status s = feed(r, err);
  if (s == QV_OK && r->input_end) qv_ipc_decoder_finish_input(r->dec);
  return s;
}

/* Runs the decoder (schema only, or up to the next batch), reading whenever it needs more. */
static qv_status pump(qv_ipc_fd_reader *r, qv_batch **out, qv_error *err) {
  if (r->failed)
    return qv_error_set(err, QV_E_STATE, "IPC fd reader failed earlier and cannot continue");
  if (r->done) return QV_EOF;
  for (;;) {
    qv_status s = out ? qv_ipc_decoder_next(r->dec, out, err)
                      : qv_ipc_decoder_read_schema(r->dec, err);
    if (s == QV_NEED_MORE) {
      /* finish_input was called at end of input, so the decoder cannot ask again then */
      s = fill_input(r, qv_ipc_decoder_bytes_needed(r->dec), err);
      if (s == QV_OK) continue;
    }
    if (s == QV_EOF) r->done = true;
    if (s < 0) r->failed = true;
    return s;
  }
}

qv_status qv_ipc_fd_reader_open_prefixed(int fd, const void *prefix, size_t prefix_len,
                                         const qv_ipc_read_options *opts, const qv_allocator *a,
                                         qv_ipc_fd_reader **out, qv_error *err) {
  if (!out) return qv_error_set(err, QV_E_INVALID, "qv_ipc_fd_reader_open: out is NULL");
  *out = NULL;
  if (fd < 0) return qv_error_set(err, QV_E_INVALID, "qv_ipc_fd_reader_open: bad fd %d", fd);
  if (!prefix && prefix_len)
    return qv_error_set(err, QV_E_INVALID, "qv_ipc_fd_reader_open: prefix is NULL");
  if (!a) a = qv_allocator_default();
  qv_ipc_fd_reader *r = qv_mem_calloc(a, sizeof *r, _Alignof(qv_ipc_fd_reader));
  if (!r) return qv__nomem(err, "IPC fd reader", sizeof *r);
  r->alloc = *a;
  r->fd = fd;
  qv_status s = qv_ipc_decoder_new(opts, a, &r->dec, err);
  if (s == QV_OK && prefix_len) {
    s = qv_buffer_new(qv__max(prefix_len, QV__FD_MIN_CHUNK), a, &r->chunk, err);
    if (s == QV_OK) {
      memcpy((uint8_t *)(uintptr_t)r->chunk.data, prefix, prefix_len);
      r->fill = prefix_len;
      r->read_total = prefix_len;
      s = feed(r, err);
    }
  }
  if (s == QV_OK) s = pump(r, NULL, err);
  if (s == QV_EOF) /* cannot happen: the decoder reports a stream without schema as corrupt */
    s = qv_error_set(err, QV_E_CORRUPT, "IPC stream ended before its schema message");
  if (s != QV_OK) {
    qv_ipc_fd_reader_free(r);
    return s;
  }
  *out = r;
  return QV_OK;
}

qv_status qv_ipc_fd_reader_open(int fd, const qv_ipc_read_options *opts, const qv_allocator *a,
                                qv_ipc_fd_reader **out, qv_error *err) {
  return qv_ipc_fd_reader_open_prefixed(fd, NULL, 0, opts, a, out, err);
}

const qv_schema *qv_ipc_fd_reader_schema(const qv_ipc_fd_reader *r) {
  return r ? qv_ipc_decoder_schema(r->dec) : NULL;
}

qv_status qv_ipc_fd_reader_next(qv_ipc_fd_reader *r, qv_batch **out, qv_error *err) {
  if (!r || !out) return qv_error_set(err, QV_E_INVALID, "qv_ipc_fd_reader_next: NULL argument");
  *out = NULL;
  return pump(r, out, err);
}

const qv_metadata *qv_ipc_fd_reader_batch_metadata(const qv_ipc_fd_reader *r) {
  return r ? qv_ipc_decoder_batch_metadata(r->dec) : NULL;
}

uint64_t qv_ipc_fd_reader_bytes_read(const qv_ipc_fd_reader *r) { return r ? r->read_total : 0; }

void qv_ipc_fd_reader_free(qv_ipc_fd_reader *r) {
  if (!r) return;
  qv_ipc_decoder_free(r->dec);
  qv_buffer_unref(&r->chunk);
  qv_allocator a = r->alloc;
  qv_mem_free(&a, r, sizeof *r, _Alignof(qv_ipc_fd_reader));
}

/* ---- qv_batch_reader adapter ------------------------------------------------------------- */

static qv_status br_next(void *ctx, qv_batch **out, qv_error *err) {
  return qv_ipc_fd_reader_next(ctx, out, err);
}
static const qv_schema *br_schema(void *ctx) { return qv_ipc_fd_reader_schema(ctx); }
static void br_release(void *ctx) { qv_ipc_fd_reader_free(ctx); }

qv_status qv_ipc_fd_reader_to_batch_reader(qv_ipc_fd_reader *r, qv_batch_reader *out,
                                           qv_error *err) {
  if (!r || !out) {
    qv_ipc_fd_reader_free(r);
    return qv_error_set(err, QV_E_INVALID, "qv_ipc_fd_reader_to_batch_reader: NULL argument");
  }
  out->next = br_next;
  out->schema = br_schema;
  out->release = br_release;
  out->ctx = r;
  return QV_OK;
}
