/* buffer.c — shared refcounted buffers (qv_buffer), slicing, copy-on-write, and the growable
 * 64-byte aligned mutable buffer (qv_mbuffer). */
#include <stdatomic.h>
#include <string.h>

#include "core_int.h"

/* The shared allocation behind one or more qv_buffer views. */
struct qv_buffer_owner {
  atomic_size_t refcount;
  uint8_t *ptr;        /* start of the memory */
  size_t size;         /* meaningful bytes (what a whole-buffer view covers) */
  size_t capacity;     /* allocated bytes (ours), multiple of 64; 0 for foreign memory */
  qv_release_fn release; /* foreign memory: called once at the end */
  void *release_ctx;
  qv_allocator alloc;  /* frees the owner record and (if ours) the memory */
};

static qv_status owner_new(const qv_allocator *a, qv_buffer_owner **out, qv_error *err) {
  if (!a) a = qv_allocator_default();
  qv_buffer_owner *o = qv_mem_alloc(a, sizeof *o, _Alignof(qv_buffer_owner));
  if (!o) return qv__nomem(err, "buffer owner", sizeof *o);
  memset(o, 0, sizeof *o);
  atomic_init(&o->refcount, 1);
  o->alloc = *a;
  *out = o;
  return QV_OK;
}

static void owner_destroy(qv_buffer_owner *o) {
  qv_allocator a = o->alloc;
  if (o->release) {
    o->release(o->release_ctx, o->ptr, o->size);
  } else if (o->ptr) {
    qv_mem_free(&a, o->ptr, o->capacity, QV_ALIGNMENT);
  }
  qv_mem_free(&a, o, sizeof *o, _Alignof(qv_buffer_owner));
}

/* Takes ownership of `ptr` (allocated by `a` with `capacity` bytes, align 64). */
static qv_status owner_adopt(const qv_allocator *a, uint8_t *ptr, size_t size, size_t capacity,
                             qv_buffer *out, qv_error *err) {
  qv_buffer_owner *o = NULL;
  qv_status s = owner_new(a, &o, err);
  if (s < 0) {
    qv_mem_free(a, ptr, capacity, QV_ALIGNMENT);
    return s;
  }
  o->ptr = ptr;
  o->size = size;
  o->capacity = capacity;
  out->owner = o;
  out->data = ptr;
  out->len = size;
  return QV_OK;
}

static qv_status alloc_padded(const qv_allocator *a, size_t len, uint8_t **ptr, size_t *cap,
                              qv_error *err) {
  size_t c;
  if (!qv__round_up(len ? len : 1, QV_ALIGNMENT, &c))
    return qv_error_set(err, QV_E_OVERFLOW, "buffer length %zu overflows", len);
  uint8_t *p = qv_mem_alloc(a, c, QV_ALIGNMENT);
  if (!p) return qv__nomem(err, "buffer", c);
  memset(p + len, 0, c - len); /* zero padding */
  *ptr = p;
  *cap = c;
  return QV_OK;
}

qv_status qv_buffer_new(size_t len, const qv_allocator *a, qv_buffer *out, qv_error *err) {
  uint8_t *p = NULL;
  size_t cap = 0;
  QV_TRY(alloc_padded(a, len, &p, &cap, err));
  return owner_adopt(a, p, len, cap, out, err);
}

qv_status qv_buffer_new_zeroed(size_t len, const qv_allocator *a, qv_buffer *out,
                               qv_error *err) {
  QV_TRY(qv_buffer_new(len, a, out, err));
  if (len) memset(out->owner->ptr, 0, len);
  return QV_OK;
}

qv_status qv_buffer_copy(const void *data, size_t len, const qv_allocator *a, qv_buffer *out,
                         qv_error *err) {
  QV_TRY(qv_buffer_new(len, a, out, err));
  if (len) memcpy(out->owner->ptr, data, len);
  return QV_OK;
}

qv_status qv_buffer_wrap(const void *data, size_t len, qv_release_fn release, void *ctx,
                         const qv_allocator *a, qv_buffer *out, qv_error *err) {
  qv_buffer_owner *o = NULL;
  qv_status s = owner_new(a, &o, err);
  if (s < 0) {
    if (release) release(ctx, data, len);
    return s;
  }
  o->ptr = (uint8_t *)(uintptr_t)data;
  o->size = len;
  o->capacity = 0;
  o->release = release;
  o->release_ctx = ctx;
  /* Static memory (no release) must never be freed by us: SIZE_MAX marks it. */
  if (!release) o->capacity = SIZE_MAX;
  out->owner = o;
  out->data = data;
  out->len = len;
  return QV_OK;
}

void qv_buffer_ref(const qv_buffer *src, qv_buffer *dst) {
  if (src->owner) atomic_fetch_add_explicit(&src->owner->refcount, 1, memory_order_relaxed);
  *dst = *src;
}

void qv_buffer_unref(qv_buffer *b) {
  if (!b) return;
  qv_buffer_owner *o = b->owner;
  b->owner = NULL;
  b->data = NULL;
  b->len = 0;
  if (!o) return;
  if (atomic_fetch_sub_explicit(&o->refcount, 1, memory_order_release) == 1) {
    atomic_thread_fence(memory_order_acquire);
    if (o->capacity == SIZE_MAX) { /* static foreign memory: only the record is ours */
      qv_allocator a = o->alloc;
      qv_mem_free(&a, o, sizeof *o, _Alignof(qv_buffer_owner));
      return;
    }
    owner_destroy(o);
  }
}

void qv_buffer_move(qv_buffer *src, qv_buffer *dst) {
  *dst = *src;
  src->owner = NULL;
  src->data = NULL;
  src->len = 0;
}

qv_status qv_buffer_slice(const qv_buffer *b, size_t offset, size_t len, qv_buffer *out,
                          qv_error *err) {
  if (qv__range_bad(offset, len, b->len))
    return qv_error_set(err, QV_E_RANGE,
                        "slice [%zu, +%zu) is outside the buffer's %zu bytes", offset, len,
                        b->len);
  qv_buffer_ref(b, out);
  if (out->data) out->data += offset;
  out->len = len;
  return QV_OK;
}

size_t qv_buffer_refcount(const qv_buffer *b) {
  return b->owner ? atomic_load_explicit(&b->owner->refcount, memory_order_relaxed) : 0;
}

bool qv_buffer_is_unique(const qv_buffer *b) { return qv_buffer_refcount(b) == 1; }

bool qv_buffer_is_owned(const qv_buffer *b) {
  return b->owner && !b->owner->release && b->owner->capacity != SIZE_MAX;
}

bool qv_buffer_equal(const qv_buffer *a, const qv_buffer *b) {
  if (a->len != b->len) return false;
  if (a->len == 0 || a->data == b->data) return true;
  return memcmp(a->data, b->data, a->len) == 0;
}

/* ---- qv_mbuffer ------------------------------------------------------------------------- */

void qv_mbuffer_init(qv_mbuffer *mb, const qv_allocator *a) {
  mb->data = NULL;
  mb->len = 0;
  mb->cap = 0;
  mb->alloc = a ? *a : *qv_allocator_default();
}

void qv_mbuffer_reset(qv_mbuffer *mb) {
  if (mb->data) qv_mem_free(&mb->alloc, mb->data, mb->cap, QV_ALIGNMENT);
  mb->data = NULL;
  mb->len = 0;
  mb->cap = 0;
}

static qv_status grow_to(qv_mbuffer *mb, size_t need, qv_error *err) {
  size_t want = mb->cap + mb->cap / 2;
  if (want < need) want = need;
  if (want < QV_ALIGNMENT) want = QV_ALIGNMENT;
  size_t cap;
  if (!qv__round_up(want, QV_ALIGNMENT, &cap))
    return qv_error_set(err, QV_E_OVERFLOW, "buffer capacity %zu overflows", need);
  uint8_t *p = qv_mem_realloc(&mb->alloc, mb->data, mb->cap, cap, QV_ALIGNMENT);
  if (!p) return qv__nomem(err, "growable buffer", cap);
  memset(p + mb->cap, 0, cap - mb->cap);
  mb->data = p;
  mb->cap = cap;
  return QV_OK;
}

qv_status qv_mbuffer_reserve(qv_mbuffer *mb, size_t additional, qv_error *err) {
  size_t need;
  if (qv__add_overflow(mb->len, additional, &need))
    return qv_error_set(err, QV_E_OVERFLOW, "buffer length overflows");
  if (need <= mb->cap && mb->data) return QV_OK;
  return grow_to(mb, need, err);
}

qv_status qv_mbuffer_resize(qv_mbuffer *mb, size_t len, qv_error *err) {
  if (len > mb->len) {
    QV_TRY(qv_mbuffer_reserve(mb, len - mb->len, err));
    /* bytes past len are already zero by the padding invariant */
  } else if (mb->data) {
    memset(mb->data + len, 0, mb->len - len);
  }
  mb->len = len;
  return QV_OK;
}

qv_status qv_mbuffer_append(qv_mbuffer *mb, const void *data, size_t len, qv_error *err) {
  if (!len) return QV_OK;
  QV_TRY(qv_mbuffer_reserve(mb, len, err));
  memcpy(mb->data + mb->len, data, len);
  mb->len += len;
  return QV_OK;
}

qv_status qv_mbuffer_append_zeros(qv_mbuffer *mb, size_t len, qv_error *err) {
  return qv_mbuffer_resize(mb, mb->len + len, err); /* overflow: reserve reports it */
}

qv_status qv_mbuffer_finish(qv_mbuffer *mb, qv_buffer *out, qv_error *err) {
  if (!mb->data) {
    out->owner = NULL;
    out->data = NULL;
    out->len = 0;
    return QV_OK;
  }
  qv_buffer_owner *o = NULL;
  QV_TRY(owner_new(&mb->alloc, &o, err)); /* on failure mb is untouched */
  o->ptr = mb->data;
  o->size = mb->len;
  o->capacity = mb->cap;
  out->owner = o;
  out->data = mb->data;
  out->len = mb->len;
  mb->data = NULL;
  mb->len = 0;
  mb->cap = 0;
  return QV_OK;
}

qv_status qv_buffer_into_mut(qv_buffer *b, qv_mbuffer *out, qv_error *err) {
  qv_buffer_owner *o = b->owner;
  if (o && qv_buffer_is_unique(b) && qv_buffer_is_owned(b) && b->data == o->ptr &&
      b->len == o->size) {
    /* Sole owner of our own whole allocation: take the memory, drop the record. */
    out->data = o->ptr;
    out->len = o->size;
    out->cap = o->capacity;
    out->alloc = o->alloc;
    qv_allocator a = o->alloc;
    qv_mem_free(&a, o, sizeof *o, _Alignof(qv_buffer_owner));
    b->owner = NULL;
    b->data = NULL;
    b->len = 0;
    return QV_OK;
  }
  qv_mbuffer m;
  qv_mbuffer_init(&m, o ? &o->alloc : NULL);
  QV_TRY(qv_mbuffer_append(&m, b->data, b->len, err));
  *out = m;
  qv_buffer_unref(b);
  return QV_OK;
}
