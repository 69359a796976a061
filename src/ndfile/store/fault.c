/* fault.c — a fault-injecting ndfile store for tests: wraps a memory store and, at the N-th
 * mutating operation, fails it, "crashes" (that and all later operations fail; recovery drops
 * every unsynced change), or tears an append (keeps a prefix). */
#include <string.h>

#include "ndfile/store/store_int.h"

typedef struct fstore {
  qv_nd_store base;
  const qv_allocator *alloc;
  qv_nd_store *inner;
  pthread_mutex_t mu;
  qv_nd_fault_mode mode;
  uint64_t at, ops;
  bool fired, crashed;
} fstore;

typedef struct fwriter {
  fstore *s;
  qv_nd_store_writer *inner;
} fwriter;

/* Counts one mutating operation; returns QV_OK to proceed, or the injected failure. Sets *tear
 * when the operation should keep only a prefix. */
static qv_status tick(fstore *s, const char *op, bool *tear, qv_error *err) {
  pthread_mutex_lock(&s->mu);
  qv_status r = QV_OK;
  if (s->crashed) {
    r = qv_error_set(err, QV_E_IO, "fault store: %s after a simulated crash", op);
  } else {
    s->ops++;
    if (s->mode != QV_ND_FAULT_NONE && s->ops == s->at) {
      s->fired = true;
      if (s->mode == QV_ND_FAULT_CRASH) {
        s->crashed = true;
        r = qv_error_set(err, QV_E_IO, "fault store: simulated crash at operation %llu (%s)",
                         (unsigned long long)s->ops, op);
      } else if (s->mode == QV_ND_FAULT_TEAR && tear) {
        *tear = true;
      } else {
        r = qv_error_set(err, QV_E_IO, "fault store: injected failure at operation %llu (%s)",
                         (unsigned long long)s->ops, op);
      }
    }
  }
  pthread_mutex_unlock(&s->mu);
  return r;
}

static bool is_crashed(fstore *s) {
  pthread_mutex_lock(&s->mu);
  bool c = s->crashed;
  pthread_mutex_unlock(&s->mu);
  return c;
}

static qv_status f_read_at(qv_nd_store *st, const char *path, uint64_t off, void *buf, size_t len,
                           qv_error *err) {
  fstore *s = (fstore *)st;
  if (is_crashed(s)) return qv_error_set(err, QV_E_IO, "fault store: read after a simulated crash");
  return s->inner->read_at(s->inner, path, off, buf, len, err);
}
static qv_status f_read_atv(qv_nd_store *st, const char *path, uint64_t off, const qv_nd_iovec *iov,
                            size_t n, qv_error *err) {
  fstore *s = (fstore *)st;
  if (is_crashed(s)) return qv_error_set(err, QV_E_IO, "fault store: read after a simulated crash");
  return s->inner->read_atv(s->inner, path, off, iov, n, err);
}
static qv_status f_size(qv_nd_store *st, const char *path, uint64_t *out, qv_error *err) {
  fstore *s = (fstore *)st;
  if (is_crashed(s)) return qv_error_set(err, QV_E_IO, "fault store: stat after a simulated crash");
  return s->inner->size(s->inner, path, out, err);
}
/* Mappings are reads, forwarded to the memory store. One made before a simulated crash stays
 * readable (it holds a reference to the bytes); new ones fail after the crash like reads. */
static qv_status f_map(qv_nd_store *st, const char *path, uint64_t size, const void **base,
                       void **token, qv_error *err) {
  fstore *s = (fstore *)st;
  if (is_crashed(s)) return qv_error_set(err, QV_E_IO, "fault store: map after a simulated crash");
  return s->inner->map(s->inner, path, size, base, token, err);
}
static void f_unmap(qv_nd_store *st, void *token) {
  fstore *s = (fstore *)st;
  s->inner->unmap(s->inner, token);
}
static qv_status f_list(qv_nd_store *st, const char *prefix, qv_nd_list_fn fn, void *ctx,
                        qv_error *err) {
  fstore *s = (fstore *)st;
  if (is_crashed(s)) return qv_error_set(err, QV_E_IO, "fault store: list after a simulated crash");
  return s->inner->list(s->inner, prefix, fn, ctx, err);
}

static qv_status f_writer_open(qv_nd_store *st, const char *path, qv_nd_store_writer **out,
                               qv_error *err) {
  fstore *s = (fstore *)st;
  QV_TRY(tick(s, "writer_open", NULL, err));
  fwriter *w = qv_mem_calloc(s->alloc, sizeof *w, 0);
  if (!w) return qv__nomem(err, "fault writer", sizeof *w);
  w->s = s;
  qv_status r = s->inner->writer_open(s->inner, path, &w->inner, err);
  if (r < 0) {
    qv_mem_free(s->alloc, w, sizeof *w, 0);
    return r;
  }
  *out = (qv_nd_store_writer *)w;
  return QV_OK;
}

static qv_status f_writer_append(qv_nd_store_writer *wr, const void *data, size_t len,
                                 qv_error *err) {
  fwriter *w = (fwriter *)wr;
  bool tear = false;
  QV_TRY(tick(w->s, "writer_append", &tear, err));
  if (tear) {
    QV_TRY(w->s->inner->writer_append(w->inner, data, len / 2, err));
    return qv_error_set(err, QV_E_IO, "fault store: torn write (%zu of %zu bytes)", len / 2, len);
  }
  return w->s->inner->writer_append(w->inner, data, len, err);
}

static qv_status f_writer_appendv(qv_nd_store_writer *wr, const qv_nd_iovec *iov, size_t n,
                                  qv_error *err) {
  fwriter *w = (fwriter *)wr;
  bool tear = false;
  QV_TRY(tick(w->s, "writer_append", &tear, err));
  if (tear) { /* keep the first half of the buffers */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += iov[i].len;
    size_t keep = total / 2;
    for (size_t i = 0; i < n && keep; i++) {
      size_t k = iov[i].len < keep ? iov[i].len : keep;
      QV_TRY(w->s->inner->writer_append(w->inner, iov[i].base, k, err));
      keep -= k;
    }
    return qv_error_set(err, QV_E_IO, "fault store: torn write (%zu of %zu bytes)", total / 2, total);
  }
  return w->s->inner->writer_appendv(w->inner, iov, n, err);
}

static qv_status f_writer_read_at(qv_nd_store_writer *wr, uint64_t off, void *buf, size_t len,
                                  qv_error *err) {
  fwriter *w = (fwriter *)wr;
  if (is_crashed(w->s)) return qv_error_set(err, QV_E_IO, "fault store: read after a simulated crash");
  return w->s->inner->writer_read_at(w->inner, off, buf, len, err);
}

static void f_writer_abort(qv_nd_store_writer *wr) {
  fwriter *w = (fwriter *)wr;
  if (!w) return;
  w->s->inner->writer_abort(w->inner);
  qv_mem_free(w->s->alloc, w, sizeof *w, 0);
}

static qv_status f_writer_commit(qv_nd_store_writer *wr, unsigned flags, qv_error *err) {
  fwriter *w = (fwriter *)wr;
  qv_status r = tick(w->s, "writer_commit", NULL, err);
  if (r < 0) {
    f_writer_abort(wr);
    return r;
  }
  r = w->s->inner->writer_commit(w->inner, flags, err);
  qv_mem_free(w->s->alloc, w, sizeof *w, 0);
  return r;
}

static qv_status f_remove(qv_nd_store *st, const char *path, qv_error *err) {
  fstore *s = (fstore *)st;
  QV_TRY(tick(s, "remove", NULL, err));
  return s->inner->remove(s->inner, path, err);
}

static qv_status f_sync(qv_nd_store *st, const char *path, qv_error *err) {
  fstore *s = (fstore *)st;
  QV_TRY(tick(s, "sync", NULL, err));
  return s->inner->sync(s->inner, path, err);
}

static void f_close(qv_nd_store *st) {
  fstore *s = (fstore *)st;
  s->inner->close(s->inner);
  pthread_mutex_destroy(&s->mu);
  qv_mem_free(s->alloc, s, sizeof *s, 0);
}

qv_status qv_nd_store_fault_new(const qv_allocator *a, qv_nd_store **out, qv_error *err) {
  fstore *s = qv_mem_calloc(a, sizeof *s, 0);
  if (!s) return qv__nomem(err, "fault store", sizeof *s);
  qv_status r = qv_nd_store_memory_new(a, &s->inner, err);
  if (r < 0) {
    qv_mem_free(a, s, sizeof *s, 0);
    return r;
  }
  s->alloc = a;
  pthread_mutex_init(&s->mu, NULL);
  s->base = *s->inner;
  s->base.name = "fault";
  s->base.caps |= QV_ND_CAP_DURABLE;
  s->base.read_at = f_read_at;
  s->base.read_atv = f_read_atv;
  s->base.size = f_size;
  s->base.list = f_list;
  s->base.writer_open = f_writer_open;
  s->base.writer_append = f_writer_append;
  s->base.writer_commit = f_writer_commit;
  s->base.writer_abort = f_writer_abort;
  s->base.remove = f_remove;
  s->base.sync = f_sync;
  s->base.close = f_close;
  s->base.writer_read_at = f_writer_read_at;
  s->base.writer_appendv = f_writer_appendv;
  s->base.map = s->inner->map ? f_map : NULL;
  s->base.unmap = s->inner->unmap ? f_unmap : NULL;
  *out = &s->base;
  return QV_OK;
}

void qv_nd_fault_arm(qv_nd_store *st, qv_nd_fault_mode mode, uint64_t at) {
  fstore *s = (fstore *)st;
  pthread_mutex_lock(&s->mu);
  s->mode = at ? mode : QV_ND_FAULT_NONE;
  s->at = at;
  s->ops = 0;
  s->fired = false;
  pthread_mutex_unlock(&s->mu);
}

uint64_t qv_nd_fault_ops(const qv_nd_store *st) { return ((const fstore *)st)->ops; }
bool qv_nd_fault_fired(const qv_nd_store *st) { return ((const fstore *)st)->fired; }

void qv_nd_fault_recover(qv_nd_store *st) {
  fstore *s = (fstore *)st;
  pthread_mutex_lock(&s->mu);
  if (s->crashed) qv__nd_memstore_drop_unsynced(s->inner);
  s->crashed = false;
  s->mode = QV_ND_FAULT_NONE;
  s->at = 0;
  pthread_mutex_unlock(&s->mu);
}
