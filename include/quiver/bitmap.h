/* quiver/bitmap.h — Arrow bitmaps: immutable shared bits with a bit offset, and the growable
 * mutable form.
 *
 * Bits are LSB-first within each byte, as the Arrow columnar format requires: bit i of a bitmap
 * at bit offset o is (data[(o+i)/8] >> ((o+i)%8)) & 1.
 *
 * A qv_bitmap is a value like qv_buffer: copying the struct takes no reference. The zero struct
 * is the absent bitmap ("no validity": every value valid); qv_bitmap_present tells them apart.
 */
#ifndef QUIVER_BITMAP_H
#define QUIVER_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buffer.h"
#include "quiver/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qv_bitmap {
  qv_buffer buf;  /* the bytes; bit 0 of the bitmap is bit `offset` of buf.data */
  size_t offset;  /* bit offset into buf.data */
  size_t len;     /* number of bits */
  size_t unset;   /* cached count of 0 bits among the `len` bits */
} qv_bitmap;

/* ---- raw bit helpers (on plain memory) -------------------------------------------------- */

static inline bool qv_bit_get(const uint8_t *data, size_t i) {
  return (data[i >> 3] >> (i & 7)) & 1u;
}
static inline void qv_bit_set(uint8_t *data, size_t i, bool v) {
  uint8_t m = (uint8_t)(1u << (i & 7));
  data[i >> 3] = v ? (uint8_t)(data[i >> 3] | m) : (uint8_t)(data[i >> 3] & (uint8_t)~m);
}
/* Number of set bits among bits [offset, offset+len) of data; word-wise (64-bit popcount). */
QV_API size_t qv_bits_count_set(const uint8_t *data, size_t offset, size_t len);
/* Copies `len` bits from src at bit offset src_off to dst at bit offset dst_off (regions must
 * not overlap); bits of dst outside the destination range are preserved. */
QV_API void qv_bits_copy(uint8_t *dst, size_t dst_off, const uint8_t *src, size_t src_off,
                         size_t len);

/* ---- immutable bitmap ------------------------------------------------------------------- */

/* A bitmap over bits [bit_offset, bit_offset+len) of *buf (a new reference is taken; *buf is
 * not consumed). QV_E_RANGE when the buffer is shorter than ceil((bit_offset+len)/8) bytes or
 * bit_offset+len overflows. Counts unset bits (word-wise). */
QV_API qv_status qv_bitmap_from_buffer(const qv_buffer *buf, size_t bit_offset, size_t len,
                                       qv_bitmap *out, qv_error *err);
/* A new bitmap of `len` bits copied from raw memory at bit offset `bit_offset` (the copy is at
 * bit offset 0; bits past len in its last byte are zero). QV_E_NOMEM. */
QV_API qv_status qv_bitmap_copy_bits(const uint8_t *data, size_t bit_offset, size_t len,
                                     const qv_allocator *a, qv_bitmap *out, qv_error *err);
/* True unless b is the absent ("all valid") bitmap. */
static inline bool qv_bitmap_present(const qv_bitmap *b) { return b->buf.data != NULL; }
static inline bool qv_bitmap_get(const qv_bitmap *b, size_t i) {
  return qv_bit_get(b->buf.data, b->offset + i);
}
static inline size_t qv_bitmap_unset_count(const qv_bitmap *b) { return b->unset; }

QV_API void qv_bitmap_ref(const qv_bitmap *src, qv_bitmap *dst);
QV_API void qv_bitmap_unref(qv_bitmap *b);
QV_API void qv_bitmap_move(qv_bitmap *src, qv_bitmap *dst);
/* O(1) in the bytes moved: a new reference to bits [offset, offset+len). The unset count is
 * recomputed over the smaller of the slice or the removed ends. QV_E_RANGE if out of bounds.
 * A slice of an absent bitmap is absent (with the slice's length). */
QV_API qv_status qv_bitmap_slice(const qv_bitmap *b, size_t offset, size_t len, qv_bitmap *out,
                                 qv_error *err);
/* Equality by value (lengths and every bit), whatever the offsets. An absent bitmap counts as
 * all set, so it equals a present bitmap of the same length with no unset bit. */
QV_API bool qv_bitmap_equal(const qv_bitmap *a, const qv_bitmap *b);

/* Iterates over maximal runs of set bits, in order (word-wise: all-zero and all-one words are
 * skipped whole). The iterator borrows b's bytes: b must outlive it. An absent bitmap is one
 * run. */
typedef struct qv_bitmap_runs {
  const uint8_t *data;
  size_t offset, len, pos;
} qv_bitmap_runs;
QV_API void qv_bitmap_runs_init(qv_bitmap_runs *it, const qv_bitmap *b);
/* Next run [*start, *start + *len); false when there are no more. */
QV_API bool qv_bitmap_runs_next(qv_bitmap_runs *it, size_t *start, size_t *len);

/* ---- mutable bitmap --------------------------------------------------------------------- */

typedef struct qv_mbitmap {
  qv_mbuffer buf; /* bit 0 at bit 0 of buf.data; buf.len == (len + 7) / 8 */
  size_t len;     /* bits */
} qv_mbitmap;

QV_API void qv_mbitmap_init(qv_mbitmap *mb, const qv_allocator *a);
QV_API void qv_mbitmap_reset(qv_mbitmap *mb);
QV_API qv_status qv_mbitmap_reserve(qv_mbitmap *mb, size_t additional_bits, qv_error *err);
QV_API qv_status qv_mbitmap_push(qv_mbitmap *mb, bool v, qv_error *err);
/* Removes and returns the last bit in *v; QV_E_RANGE when empty. */
QV_API qv_status qv_mbitmap_pop(qv_mbitmap *mb, bool *v, qv_error *err);
static inline bool qv_mbitmap_get(const qv_mbitmap *mb, size_t i) {
  return qv_bit_get(mb->buf.data, i);
}
static inline void qv_mbitmap_set(qv_mbitmap *mb, size_t i, bool v) {
  qv_bit_set(mb->buf.data, i, v);
}
/* Appends `n` copies of v. */
QV_API qv_status qv_mbitmap_extend_const(qv_mbitmap *mb, bool v, size_t n, qv_error *err);
/* Appends bits [offset, offset+len) of raw memory. */
QV_API qv_status qv_mbitmap_extend_bits(qv_mbitmap *mb, const uint8_t *data, size_t offset,
                                        size_t len, qv_error *err);
/* Appends every bit of b. An absent bitmap (buf.data NULL) with len n appends n set bits. */
QV_API qv_status qv_mbitmap_extend(qv_mbitmap *mb, const qv_bitmap *b, qv_error *err);
/* In place: mb = mb OP other, bit by bit; other.len must equal mb->len (QV_E_INVALID otherwise);
 * other may have any bit offset; an absent other counts as all set. Word-wise. */
QV_API qv_status qv_mbitmap_and(qv_mbitmap *mb, const qv_bitmap *other, qv_error *err);
QV_API qv_status qv_mbitmap_or(qv_mbitmap *mb, const qv_bitmap *other, qv_error *err);
QV_API qv_status qv_mbitmap_xor(qv_mbitmap *mb, const qv_bitmap *other, qv_error *err);
QV_API void qv_mbitmap_not(qv_mbitmap *mb);
/* Number of unset bits. */
QV_API size_t qv_mbitmap_unset_count(const qv_mbitmap *mb);
/* Freezes into an immutable bitmap without copying; mb is left empty and reusable. With
 * `elide_all_set` true and no unset bits, *out is the absent bitmap (buf empty, len kept, unset
 * 0) and the memory is freed. QV_E_NOMEM (mb untouched) if the owner record cannot be made. */
QV_API qv_status qv_mbitmap_finish(qv_mbitmap *mb, bool elide_all_set, qv_bitmap *out,
                                   qv_error *err);

#ifdef __cplusplus
}
#endif
#endif
