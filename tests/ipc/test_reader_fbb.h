/* test_reader_fbb.h — a tiny front-to-back FlatBuffer assembler for the reader tests, so that
 * the reader is tested on hand-built bytes independently of quiver's writer. Tables put their
 * vtable first; offsets are forward and patched once the target exists. Fixed 64 KiB buffer. */
#ifndef QV_TEST_READER_FBB_H
#define QV_TEST_READER_FBB_H

#include <stdint.h>
#include <string.h>

#include "ipc/fb_arrow.h"

typedef struct tfb {
  uint8_t b[1 << 16];
  size_t n;
} tfb;

/* A table field: slot, size (1/2/4/8 scalar; 0 = an offset patched later) and scalar value. */
typedef struct tf {
  int slot;
  int size;
  int64_t v;
} tf;

static inline void tfb_init(tfb *f) {
  memset(f->b, 0, sizeof f->b);
  f->n = 4; /* root offset */
}
static inline void tfb_pad(tfb *f, size_t align) {
  while (f->n % align) f->b[f->n++] = 0;
}
static inline void tfb_u32(tfb *f, size_t at, uint32_t v) {
  for (int i = 0; i < 4; i++) f->b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}
static inline void tfb_put(tfb *f, uint64_t v, int size) {
  for (int i = 0; i < size; i++) f->b[f->n++] = (uint8_t)(v >> (8 * i));
}
/* Writes uoffset at `at` pointing to `target`. */
static inline void tfb_patch(tfb *f, size_t at, size_t target) {
  tfb_u32(f, at, (uint32_t)(target - at));
}
static inline void tfb_root(tfb *f, size_t table) { tfb_patch(f, 0, table); }

/* A table; pos_of[i] (may be NULL) receives the position of field i. Returns the table. */
static inline size_t tfb_table(tfb *f, const tf *fs, int n, size_t *pos_of) {
  int maxslot = -1;
  for (int i = 0; i < n; i++)
    if (fs[i].slot > maxslot) maxslot = fs[i].slot;
  size_t vsize = 4 + 2 * (size_t)(maxslot + 1);
  tfb_pad(f, 2);
  size_t vt = f->n;
  memset(f->b + vt, 0, vsize);
  f->n += vsize;
  tfb_pad(f, 4);
  size_t t = f->n;
  tfb_u32(f, t, (uint32_t)(t - vt));
  f->n += 4;
  for (int i = 0; i < n; i++) {
    int sz = fs[i].size ? fs[i].size : 4;
    tfb_pad(f, (size_t)sz);
    size_t p = f->n;
    tfb_put(f, (uint64_t)fs[i].v, sz);
    size_t o = p - t;
    f->b[vt + 4 + 2 * (size_t)fs[i].slot] = (uint8_t)o;
    f->b[vt + 5 + 2 * (size_t)fs[i].slot] = (uint8_t)(o >> 8);
    if (pos_of) pos_of[i] = p;
  }
  size_t tsize = f->n - t;
  f->b[vt] = (uint8_t)vsize;
  f->b[vt + 1] = (uint8_t)(vsize >> 8);
  f->b[vt + 2] = (uint8_t)tsize;
  f->b[vt + 3] = (uint8_t)(tsize >> 8);
  return t;
}

static inline size_t tfb_string(tfb *f, const char *s) {
  tfb_pad(f, 4);
  size_t p = f->n;
  size_t l = strlen(s);
  tfb_put(f, l, 4);
  memcpy(f->b + f->n, s, l + 1);
  f->n += l + 1;
  return p;
}

/* A vector of n elements of esize bytes (elements aligned to `align`). */
static inline size_t tfb_vec(tfb *f, const void *el, uint32_t n, size_t esize, size_t align) {
  tfb_pad(f, 4);
  while ((f->n + 4) % align) f->b[f->n++] = 0;
  size_t p = f->n;
  tfb_put(f, n, 4);
  memcpy(f->b + f->n, el, n * esize);
  f->n += n * esize;
  return p;
}
/* A vector of n offsets; element i is at pos + 4 + 4 i (patch it). */
static inline size_t tfb_vec_offsets(tfb *f, uint32_t n) {
  tfb_pad(f, 4);
  size_t p = f->n;
  tfb_put(f, n, 4);
  memset(f->b + f->n, 0, 4 * (size_t)n);
  f->n += 4 * (size_t)n;
  return p;
}

/* ---- Arrow helpers ------------------------------------------------------------------------ */

/* A Field with name, nullable and a type union (type_fields/type_n describe the type table);
 * returns the position of the field's children offset (0 if no children) via *children_at. */
static inline size_t tfb_field(tfb *f, const char *name, int nullable, int type_tag,
                               const tf *type_fields, int type_n, int n_children,
                               size_t *children_vec) {
  tf fs[5] = {{QV_FB_FIELD_NAME, 0, 0},
              {QV_FB_FIELD_NULLABLE, 1, nullable},
              {QV_FB_FIELD_TYPE_TYPE, 1, type_tag},
              {QV_FB_FIELD_TYPE, 0, 0},
              {QV_FB_FIELD_CHILDREN, 0, 0}};
  size_t pos[5];
  size_t t = tfb_table(f, fs, n_children >= 0 ? 5 : 4, pos);
  tfb_patch(f, pos[0], tfb_string(f, name));
  tfb_patch(f, pos[3], tfb_table(f, type_fields, type_n, NULL));
  if (n_children >= 0) {
    size_t v = tfb_vec_offsets(f, (uint32_t)n_children);
    tfb_patch(f, pos[4], v);
    if (children_vec) *children_vec = v;
  }
  return t;
}

/* A nullable utf8 Field `name` dictionary-encoded under `dict_id` with int8 indices. */
static inline size_t tfb_dict_utf8_field(tfb *f, const char *name, int64_t dict_id) {
  tf fs[5] = {{QV_FB_FIELD_NAME, 0, 0}, {QV_FB_FIELD_NULLABLE, 1, 1},
              {QV_FB_FIELD_TYPE_TYPE, 1, QV_FB_TYPE_UTF8}, {QV_FB_FIELD_TYPE, 0, 0},
              {QV_FB_FIELD_DICTIONARY, 0, 0}};
  size_t p[5];
  size_t t = tfb_table(f, fs, 5, p);
  tfb_patch(f, p[0], tfb_string(f, name));
  tfb_patch(f, p[3], tfb_table(f, NULL, 0, NULL));
  tf de[2] = {{QV_FB_DICTENC_ID, 8, dict_id}, {QV_FB_DICTENC_INDEX_TYPE, 0, 0}};
  size_t dp[2];
  tfb_patch(f, p[4], tfb_table(f, de, 2, dp));
  tf it[2] = {{QV_FB_INT_BIT_WIDTH, 4, 8}, {QV_FB_INT_IS_SIGNED, 1, 1}};
  tfb_patch(f, dp[1], tfb_table(f, it, 2, NULL));
  return t;
}

/* Frames f's bytes as an encapsulated message (continuation, length, padded metadata) followed
 * by `body`; appends to out[*len]. */
static inline void tfb_frame(const tfb *f, const uint8_t *body, size_t body_len, uint8_t *out,
                             size_t *len) {
  size_t meta = (f->n + 7) & ~(size_t)7;
  uint8_t *p = out + *len;
  memset(p, 0xFF, 4);
  p[4] = (uint8_t)meta;
  p[5] = (uint8_t)(meta >> 8);
  p[6] = (uint8_t)(meta >> 16);
  p[7] = (uint8_t)(meta >> 24);
  memcpy(p + 8, f->b, f->n);
  memset(p + 8 + f->n, 0, meta - f->n);
  if (body_len) memcpy(p + 8 + meta, body, body_len);
  *len += 8 + meta + body_len;
}

/* A Message table with the given header type; returns the header offset position to patch. */
static inline size_t tfb_message(tfb *f, int version, int header_type, int64_t body_len) {
  tf fs[4] = {{QV_FB_MESSAGE_VERSION, 2, version},
              {QV_FB_MESSAGE_HEADER_TYPE, 1, header_type},
              {QV_FB_MESSAGE_HEADER, 0, 0},
              {QV_FB_MESSAGE_BODY_LENGTH, 8, body_len}};
  size_t pos[4];
  tfb_root(f, tfb_table(f, fs, 4, pos));
  return pos[2];
}

#endif
