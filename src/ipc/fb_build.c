/* fb_build.c — the FlatBuffers builder used for IPC metadata (see fb_build.h). Builds back to
 * front: every object is prepended, so children exist before the tables that point at them and
 * every offset is known when it is written. Sticky errors keep callers simple. */
#include "ipc/fb_build.h"

#include <stdio.h>
#include <string.h>

#include "core/core_int.h"

void qv__fbb_init(qv__fbb *b, const qv_allocator *alloc) {
  memset(b, 0, sizeof *b);
  b->alloc = alloc;
  b->minalign = 1;
}

void qv__fbb_reset(qv__fbb *b) {
  if (b->buf) qv_mem_free(b->alloc, b->buf, b->cap, QV_ALIGNMENT);
  qv__fbb_init(b, b->alloc);
}

void qv__fbb_clear(qv__fbb *b) {
  b->size = 0;
  b->minalign = 1;
  b->status = QV_OK;
  b->what[0] = '\0';
  b->in_table = false;
  b->max_slot = 0;
  b->n_vtables = 0;
}

void qv__fbb_fail(qv__fbb *b, qv_status s, const char *what) {
  if (b->status != QV_OK) return;
  b->status = s;
  snprintf(b->what, sizeof b->what, "%s", what);
}

/* Room for `n` more bytes in front of the data. */
static bool reserve(qv__fbb *b, size_t n) {
  if (b->status != QV_OK) return false;
  if (n <= b->cap - b->size) return true;
  size_t need;
  if (qv__add_overflow(b->size, n, &need) || need > QV__FBB_MAX_SIZE) {
    qv__fbb_fail(b, QV_E_LIMIT, "metadata larger than 1 GiB");
    return false;
  }
  size_t ncap = b->cap ? b->cap : 256;
  while (ncap < need) ncap *= 2;
  uint8_t *nb = qv_mem_alloc(b->alloc, ncap, QV_ALIGNMENT);
  if (!nb) {
    qv__fbb_fail(b, QV_E_NOMEM, "out of memory building metadata");
    return false;
  }
  if (b->size) memcpy(nb + ncap - b->size, b->buf + b->cap - b->size, b->size);
  if (b->buf) qv_mem_free(b->alloc, b->buf, b->cap, QV_ALIGNMENT);
  b->buf = nb;
  b->cap = ncap;
  return true;
}

/* Pads with zeros so that after `additional` more bytes the size is a multiple of `align`. */
static bool prep(qv__fbb *b, size_t align, size_t additional) {
  if (b->status != QV_OK) return false;
  if (align > b->minalign) b->minalign = align;
  size_t pad = (~(b->size + additional) + 1) & (align - 1);
  if (!reserve(b, pad + additional)) return false;
  b->size += pad;
  if (pad) memset(b->buf + b->cap - b->size, 0, pad);
  return true;
}

/* Prepends n bytes (space must be reserved); returns where they went. */
static uint8_t *push(qv__fbb *b, size_t n) {
  b->size += n;
  return b->buf + b->cap - b->size;
}

static bool not_in_table(qv__fbb *b) {
  if (b->in_table) {
    qv__fbb_fail(b, QV_E_INVALID, "object built inside a table");
    return false;
  }
  return b->status == QV_OK;
}

qv__fbref qv__fbb_string(qv__fbb *b, const char *s, size_t len) {
  if (!not_in_table(b)) return 0;
  if (len > QV__FBB_MAX_SIZE) {
    qv__fbb_fail(b, QV_E_LIMIT, "string longer than 1 GiB in metadata");
    return 0;
  }
  if (!prep(b, 4, len + 1)) return 0;
  *push(b, 1) = 0;
  if (len) memcpy(push(b, len), s, len);
  if (!reserve(b, 4)) return 0;
  qv__store_u32le(push(b, 4), (uint32_t)len);
  return (qv__fbref)b->size;
}

qv__fbref qv__fbb_cstring(qv__fbb *b, const char *s) {
  return qv__fbb_string(b, s, s ? strlen(s) : 0);
}

/* Starts a vector of n elements of elem_size bytes: after this, push elem_size*n bytes then the
 * length. Returns the element area (first element) or NULL. */
static uint8_t *vec_start(qv__fbb *b, size_t elem_size, size_t n, size_t align) {
  if (!not_in_table(b)) return NULL;
  size_t total;
  if (qv__mul_overflow(elem_size, n, &total) || total > QV__FBB_MAX_SIZE ||
      n > UINT32_MAX) {
    qv__fbb_fail(b, QV_E_LIMIT, "vector larger than 1 GiB in metadata");
    return NULL;
  }
  if (!prep(b, 4, total) || !prep(b, align, total)) return NULL;
  if (!reserve(b, total + 4)) return NULL;
  return push(b, total);
}

static qv__fbref vec_end(qv__fbb *b, size_t n) {
  qv__store_u32le(push(b, 4), (uint32_t)n);
  return (qv__fbref)b->size;
}

qv__fbref qv__fbb_vec_i32(qv__fbb *b, const int32_t *v, size_t n) {
  uint8_t *p = vec_start(b, 4, n, 4);
  if (!p) return 0;
  for (size_t i = 0; i < n; i++) qv__store_u32le(p + 4 * i, (uint32_t)v[i]);
  return vec_end(b, n);
}

qv__fbref qv__fbb_vec_i64(qv__fbb *b, const int64_t *v, size_t n) {
  uint8_t *p = vec_start(b, 8, n, 8);
  if (!p) return 0;
  for (size_t i = 0; i < n; i++) qv__store_u64le(p + 8 * i, (uint64_t)v[i]);
  return vec_end(b, n);
}

qv__fbref qv__fbb_vec_structs(qv__fbb *b, const void *v, size_t elem_size, size_t n,
                              size_t align) {
  uint8_t *p = vec_start(b, elem_size, n, align);
  if (!p) return 0;
  if (n) memcpy(p, v, elem_size * n);
  return vec_end(b, n);
}

qv__fbref qv__fbb_vec_refs(qv__fbb *b, const qv__fbref *v, size_t n) {
  uint8_t *p = vec_start(b, 4, n, 4);
  if (!p) return 0;
  /* An offset is relative to where it is stored: target - slot, both as absolute addresses.
   * Element i sits at position-from-end (size - 4*i); the target at v[i]. */
  for (size_t i = 0; i < n; i++) {
    size_t here = b->size - 4 * i;
    if (v[i] == 0 || v[i] >= here) {
      qv__fbb_fail(b, QV_E_INVALID, "vector element refers to no object");
      return 0;
    }
    qv__store_u32le(p + 4 * i, (uint32_t)(here - v[i]));
  }
  return vec_end(b, n);
}

void qv__fbb_table_start(qv__fbb *b) {
  if (!not_in_table(b)) return;
  b->in_table = true;
  b->table_start = b->size;
  b->max_slot = 0;
  memset(b->slot_pos, 0, sizeof b->slot_pos);
}

static uint8_t *field(qv__fbb *b, int slot, size_t size, size_t align) {
  if (b->status != QV_OK) return NULL;
  if (!b->in_table) {
    qv__fbb_fail(b, QV_E_INVALID, "table field outside a table");
    return NULL;
  }
  if (slot < 0 || slot >= QV__FBB_MAX_SLOTS) {
    qv__fbb_fail(b, QV_E_INVALID, "table slot out of range");
    return NULL;
  }
  if (!prep(b, align, size)) return NULL;
  uint8_t *p = push(b, size);
  b->slot_pos[slot] = (uint32_t)b->size;
  if (slot + 1 > b->max_slot) b->max_slot = slot + 1;
  return p;
}

void qv__fbb_add_bool(qv__fbb *b, int slot, bool v, bool dflt) {
  if (v == dflt) return;
  uint8_t *p = field(b, slot, 1, 1);
  if (p) *p = v ? 1 : 0;
}

void qv__fbb_add_u8(qv__fbb *b, int slot, uint8_t v, uint8_t dflt) {
  if (v == dflt) return;
  uint8_t *p = field(b, slot, 1, 1);
  if (p) *p = v;
}

void qv__fbb_add_i16(qv__fbb *b, int slot, int16_t v, int16_t dflt) {
  if (v == dflt) return;
  uint8_t *p = field(b, slot, 2, 2);
  if (p) qv__store_u16le(p, (uint16_t)v);
}

void qv__fbb_add_i32(qv__fbb *b, int slot, int32_t v, int32_t dflt) {
  if (v == dflt) return;
  uint8_t *p = field(b, slot, 4, 4);
  if (p) qv__store_u32le(p, (uint32_t)v);
}

void qv__fbb_add_i64(qv__fbb *b, int slot, int64_t v, int64_t dflt) {
  if (v == dflt) return;
  uint8_t *p = field(b, slot, 8, 8);
  if (p) qv__store_u64le(p, (uint64_t)v);
}

void qv__fbb_add_ref(qv__fbb *b, int slot, qv__fbref ref) {
  if (ref == 0 || b->status != QV_OK) return;
  /* align first so that the slot position is known before computing the relative offset */
  if (!prep(b, 4, 4)) return;
  size_t here = b->size + 4;
  if (ref >= here) {
    qv__fbb_fail(b, QV_E_INVALID, "table field refers to no object");
    return;
  }
  uint8_t *p = field(b, slot, 4, 4);
  if (p) qv__store_u32le(p, (uint32_t)(here - ref));
}

void qv__fbb_add_struct(qv__fbb *b, int slot, const void *data, size_t size, size_t align) {
  uint8_t *p = field(b, slot, size, align);
  if (p) memcpy(p, data, size);
}

qv__fbref qv__fbb_table_end(qv__fbb *b) {
  if (b->status != QV_OK) return 0;
  if (!b->in_table) {
    qv__fbb_fail(b, QV_E_INVALID, "table end without a start");
    return 0;
  }
  if (!prep(b, 4, 4)) return 0;
  push(b, 4); /* the soffset to the vtable, patched below */
  size_t table_pos = b->size;
  size_t obj_size = table_pos - b->table_start;
  size_t vt_size = 4 + 2 * (size_t)b->max_slot;
  if (obj_size > UINT16_MAX) {
    qv__fbb_fail(b, QV_E_LIMIT, "table larger than 64 KiB of inline fields");
    return 0;
  }
  if (!reserve(b, vt_size)) return 0;
  uint8_t *vt = push(b, vt_size);
  qv__store_u16le(vt, (uint16_t)vt_size);
  qv__store_u16le(vt + 2, (uint16_t)obj_size);
  for (int i = 0; i < b->max_slot; i++) {
    uint32_t pos = b->slot_pos[i];
    qv__store_u16le(vt + 4 + 2 * i, (uint16_t)(pos ? table_pos - pos : 0));
  }
  /* An identical vtable written earlier (it lies after this table) is shared: the new one is
   * dropped and the soffset is negative. */
  size_t vt_pos = b->size;
  for (int i = 0; i < b->n_vtables; i++) {
    const uint8_t *old = b->buf + b->cap - b->vtables[i];
    if (qv__load_u16le(old) == vt_size && memcmp(old, vt, vt_size) == 0) {
      vt_pos = b->vtables[i];
      b->size -= vt_size;
      break;
    }
  }
  if (vt_pos == b->size && b->n_vtables < QV__FBB_MAX_VTABLES)
    b->vtables[b->n_vtables++] = (uint32_t)vt_pos;
  /* vtable = table - soffset (addresses); positions count from the end, so
   * soffset = vt_pos - table_pos: positive for a vtable just in front, negative for a shared
   * one further back. */
  int64_t soff = (int64_t)vt_pos - (int64_t)table_pos;
  qv__store_u32le(b->buf + b->cap - table_pos, (uint32_t)(int32_t)soff);
  b->in_table = false;
  return (qv__fbref)table_pos;
}

qv_status qv__fbb_finish(qv__fbb *b, qv__fbref root, const uint8_t **data, size_t *len,
                         qv_error *err) {
  if (b->status == QV_OK && b->in_table) qv__fbb_fail(b, QV_E_INVALID, "finish inside a table");
  if (b->status == QV_OK && (root == 0 || root > b->size))
    qv__fbb_fail(b, QV_E_INVALID, "finish without a root table");
  if (b->status == QV_OK && prep(b, b->minalign < 4 ? 4 : b->minalign, 4)) {
    uint8_t *p = push(b, 4);
    qv__store_u32le(p, (uint32_t)(b->size - root));
  }
  if (b->status != QV_OK)
    return qv_error_set(err, b->status, "building IPC metadata: %s", b->what);
  *data = b->buf + b->cap - b->size;
  *len = b->size;
  return QV_OK;
}
