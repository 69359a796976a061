/* memory.c — the in-memory ndfile store. Tracks which changes are durable (synced) so that the
 * fault store can simulate a crash by dropping everything that was not; map hands out a
 * reference to an object's bytes. Thread-safe. */
#include <string.h>

#include "ndfile/store/store_int.h"

typedef struct blob {
  size_t refs, len;
  uint8_t *data;
} blob;

typedef struct obj {
  char *name;
  blob *cur; /* NULL: absent */
  blob *dur; /* durable state; NULL: absent */
} obj;

typedef struct mstore {
  qv_nd_store base;
  const qv_allocator *alloc;
  pthread_mutex_t mu;
  obj *objs;
  size_t n, cap;
} mstore;

typedef struct mwriter {
  qv_nd_store_writer_base wb;
  mstore *s;
  char *name;
  qv_mbuffer buf;
} mwriter;

static void blob_unref(mstore *s, blob *b) {
  if (!b || --b->refs) return;
  qv_mem_free(s->alloc, b->data, b->len ? b->len : 1, 64);
  qv_mem_free(s->alloc, b, sizeof *b, 0);
}

static obj *find(mstore *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->objs[i].name, name) == 0) return &s->objs[i];
  return NULL;
}

/* The object `name` with current bytes, or NULL with QV_E_NOTFOUND in err (under s->mu). */
static obj *find_live(mstore *s, const char *name, qv_error *err) {
  obj *o = find(s, name);
  if (o && o->cur) return o;
  qv_error_set(err, QV_E_NOTFOUND, "object '%s' not found", name);
  return NULL;
}

static qv_status m_read_at(qv_nd_store *st, const char *path, uint64_t off, void *buf, size_t len,
                           qv_error *err) {
  mstore *s = (mstore *)st;
  qv_status r = QV_OK;
  pthread_mutex_lock(&s->mu);
  obj *o = find_live(s, path, err);
  if (!o)
    r = QV_E_NOTFOUND;
  else if (off > o->cur->len || len > o->cur->len - off)
    r = qv_error_set(err, QV_E_RANGE, "object '%s': bytes [%llu, +%zu) beyond its %zu bytes", path,
                     (unsigned long long)off, len, o->cur->len);
  else if (len)
    memcpy(buf, o->cur->data + off, len);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static qv_status m_read_atv(qv_nd_store *st, const char *path, uint64_t off, const qv_nd_iovec *iov,
                            size_t n, qv_error *err) {
  for (size_t i = 0; i < n; i++) {
    QV_TRY(m_read_at(st, path, off, iov[i].base, iov[i].len, err));
    off += iov[i].len;
  }
  return QV_OK;
}

/* "Maps" an object: its current bytes, kept alive by a reference (a removal or replacement
 * meanwhile leaves them alone); the token is the blob. */
static qv_status m_map(qv_nd_store *st, const char *path, uint64_t size, const void **base,
                       void **token, qv_error *err) {
  mstore *s = (mstore *)st;
  qv_status r = QV_OK;
  pthread_mutex_lock(&s->mu);
  obj *o = find_live(s, path, err);
  if (!o)
    r = QV_E_NOTFOUND;
  else if (o->cur->len != size)
    r = qv_error_set(err, QV_E_CORRUPT, "object '%s' has %zu bytes, expected %llu", path,
                     o->cur->len, (unsigned long long)size);
  else if (size == 0)
    r = qv_error_set(err, QV_E_UNSUPPORTED, "object '%s' is empty: not mapped", path);
  else {
    o->cur->refs++;
    *base = o->cur->data;
    *token = o->cur;
  }
  pthread_mutex_unlock(&s->mu);
  return r;
}

static void m_unmap(qv_nd_store *st, void *token) {
  mstore *s = (mstore *)st;
  pthread_mutex_lock(&s->mu);
  blob_unref(s, token);
  pthread_mutex_unlock(&s->mu);
}

static qv_status m_size(qv_nd_store *st, const char *path, uint64_t *out, qv_error *err) {
  mstore *s = (mstore *)st;
  qv_status r = QV_OK;
  pthread_mutex_lock(&s->mu);
  obj *o = find_live(s, path, err);
  if (!o) r = QV_E_NOTFOUND;
  else *out = o->cur->len;
  pthread_mutex_unlock(&s->mu);
  return r;
}

static qv_status m_list(qv_nd_store *st, const char *prefix, qv_nd_list_fn fn, void *ctx,
                        qv_error *err) {
  (void)err;
  mstore *s = (mstore *)st;
  size_t pl = strlen(prefix);
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n; i++)
    if (s->objs[i].cur && strncmp(s->objs[i].name, prefix, pl) == 0)
      if (fn(ctx, s->objs[i].name, s->objs[i].cur->len)) break;
  pthread_mutex_unlock(&s->mu);
  return QV_OK;
}

static qv_status m_writer_open(qv_nd_store *st, const char *path, qv_nd_store_writer **out,
                               qv_error *err) {
  mstore *s = (mstore *)st;
  QV_TRY(qv__nd_path_check(path, err));
  mwriter *w = qv_mem_calloc(s->alloc, sizeof *w, 0);
  if (!w) return qv__nomem(err, "store writer", sizeof *w);
  w->s = s;
  w->name = qv_mem_strdup(s->alloc, path);
  if (!w->name) {
    qv_mem_free(s->alloc, w, sizeof *w, 0);
    return qv__nomem(err, "store writer", strlen(path));
  }
  qv_mbuffer_init(&w->buf, s->alloc);
  *out = (qv_nd_store_writer *)w;
  return QV_OK;
}

static qv_status m_writer_append(qv_nd_store_writer *wr, const void *data, size_t len,
                                 qv_error *err) {
  mwriter *w = (mwriter *)wr;
  return qv_mbuffer_append(&w->buf, data, len, err);
}

static qv_status m_writer_appendv(qv_nd_store_writer *wr, const qv_nd_iovec *iov, size_t n,
                                  qv_error *err) {
  mwriter *w = (mwriter *)wr;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += iov[i].len;
  QV_TRY(qv_mbuffer_reserve(&w->buf, total, err));
  for (size_t i = 0; i < n; i++) QV_TRY(qv_mbuffer_append(&w->buf, iov[i].base, iov[i].len, err));
  return QV_OK;
}

static qv_status m_writer_read_at(qv_nd_store_writer *wr, uint64_t off, void *buf, size_t len,
                                  qv_error *err) {
  mwriter *w = (mwriter *)wr;
  if (off > w->buf.len || len > w->buf.len - off)
    return qv_error_set(err, QV_E_RANGE, "'%s': read of %zu bytes at %llu beyond the %zu written",
                        w->name, len, (unsigned long long)off, w->buf.len);
  if (len) memcpy(buf, w->buf.data + off, len);
  return QV_OK;
}

static void m_writer_abort(qv_nd_store_writer *wr) {
  mwriter *w = (mwriter *)wr;
  if (!w) return;
  qv_mbuffer_reset(&w->buf);
  qv_mem_strfree(w->s->alloc, w->name);
  qv_mem_free(w->s->alloc, w, sizeof *w, 0);
}

static qv_status m_writer_commit(qv_nd_store_writer *wr, unsigned flags, qv_error *err) {
  mwriter *w = (mwriter *)wr;
  mstore *s = w->s;
  qv_status r = QV_OK;
  blob *b = qv_mem_calloc(s->alloc, sizeof *b, 0);
  uint8_t *data = b ? qv_mem_alloc(s->alloc, w->buf.len ? w->buf.len : 1, 64) : NULL;
  if (!data) {
    size_t len = w->buf.len;
    qv_mem_free(s->alloc, b, sizeof *b, 0);
    m_writer_abort(wr);
    return qv__nomem(err, "memory object", len);
  }
  if (w->buf.len) memcpy(data, w->buf.data, w->buf.len);
  b->data = data;
  b->len = w->buf.len;
  b->refs = 1;
  pthread_mutex_lock(&s->mu);
  obj *o = find(s, w->name);
  if (o && o->cur && (flags & QV_ND_PUT_IF_ABSENT)) {
    r = qv_error_set(err, QV_E_EXISTS, "object '%s' already exists", w->name);
  } else if (o) {
    blob_unref(s, o->cur);
    o->cur = b;
    b = NULL;
  } else {
    if (s->n == s->cap) {
      size_t nc = s->cap ? s->cap * 2 : 16;
      obj *no = qv_mem_realloc(s->alloc, s->objs, s->cap * sizeof *no, nc * sizeof *no, 0);
      if (!no) r = qv__nomem(err, "memory store index", nc * sizeof *no);
      else {
        s->objs = no;
        s->cap = nc;
      }
    }
    if (r == QV_OK) {
      s->objs[s->n].name = w->name;
      s->objs[s->n].cur = b;
      s->objs[s->n].dur = NULL;
      s->n++;
      w->name = NULL;
      b = NULL;
    }
  }
  pthread_mutex_unlock(&s->mu);
  if (b) blob_unref(s, b);
  m_writer_abort(wr);
  return r;
}

static qv_status m_remove(qv_nd_store *st, const char *path, qv_error *err) {
  mstore *s = (mstore *)st;
  qv_status r = QV_OK;
  pthread_mutex_lock(&s->mu);
  obj *o = find_live(s, path, err);
  if (!o) r = QV_E_NOTFOUND;
  else {
    blob_unref(s, o->cur);
    o->cur = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  return r;
}

static qv_status m_sync(qv_nd_store *st, const char *path, qv_error *err) {
  (void)err;
  mstore *s = (mstore *)st;
  pthread_mutex_lock(&s->mu);
  obj *o = find(s, path);
  if (o && o->dur != o->cur) {
    blob_unref(s, o->dur);
    o->dur = o->cur;
    if (o->dur) o->dur->refs++;
  }
  pthread_mutex_unlock(&s->mu);
  return QV_OK;
}

static void m_close(qv_nd_store *st) {
  mstore *s = (mstore *)st;
  for (size_t i = 0; i < s->n; i++) {
    blob_unref(s, s->objs[i].cur);
    blob_unref(s, s->objs[i].dur);
    qv_mem_strfree(s->alloc, s->objs[i].name);
  }
  qv_mem_free(s->alloc, s->objs, s->cap * sizeof(obj), 0);
  pthread_mutex_destroy(&s->mu);
  qv_mem_free(s->alloc, s, sizeof *s, 0);
}

void qv__nd_memstore_drop_unsynced(qv_nd_store *st) {
  mstore *s = (mstore *)st;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n; i++) {
    obj *o = &s->objs[i];
    if (o->cur != o->dur) {
      blob_unref(s, o->cur);
      o->cur = o->dur;
      if (o->cur) o->cur->refs++;
    }
  }
  pthread_mutex_unlock(&s->mu);
}

qv_status qv_nd_store_memory_new(const qv_allocator *a, qv_nd_store **out, qv_error *err) {
  mstore *s = qv_mem_calloc(a, sizeof *s, 0);
  if (!s) return qv__nomem(err, "memory store", sizeof *s);
  s->alloc = a;
  pthread_mutex_init(&s->mu, NULL);
  s->base.version = QV_ND_STORE_VERSION;
  s->base.caps = QV_ND_CAP_ATOMIC_PUT | QV_ND_CAP_CONDITIONAL_PUT | QV_ND_CAP_RANGED_READ;
  s->base.name = "memory";
  s->base.read_at = m_read_at;
  s->base.read_atv = m_read_atv;
  s->base.size = m_size;
  s->base.list = m_list;
  s->base.writer_open = m_writer_open;
  s->base.writer_append = m_writer_append;
  s->base.writer_commit = m_writer_commit;
  s->base.writer_abort = m_writer_abort;
  s->base.remove = m_remove;
  s->base.sync = m_sync;
  s->base.close = m_close;
  s->base.writer_read_at = m_writer_read_at;
  s->base.writer_appendv = m_writer_appendv;
  s->base.map = m_map;
  s->base.unmap = m_unmap;
  *out = &s->base;
  return QV_OK;
}

void qv_nd_store_close(qv_nd_store *s) {
  if (s) s->close(s);
}

qv_status qv__nd_path_check(const char *path, qv_error *err) {
  if (!path || !*path || path[0] == '/')
    return qv_error_set(err, QV_E_INVALID, "object name '%s' must be a non-empty relative path",
                        path ? path : "(null)");
  const char *p = path;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
      return qv_error_set(err, QV_E_INVALID, "object name '%s' has an empty, '.' or '..' part",
                          path);
    p += n;
    if (*p == '/') p++;
  }
  return QV_OK;
}
