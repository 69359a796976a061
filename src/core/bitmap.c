/* bitmap.c — Arrow validity bitmaps: word-wise (64-bit) bit counting and copying on raw memory,
 * the immutable qv_bitmap (offsets, O(1) slices, cached unset count, runs) and qv_mbitmap. */
#include <string.h>

#include "core_int.h"

/* ---- word helpers ------------------------------------------------------------------------
 * Bits are LSB-first, so 8 bytes loaded little-endian form a word whose bit i is stream bit i.
 * All loads and stores go through memcpy: unaligned-safe, alias-safe, one instruction. */

static inline uint64_t ld64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

static inline void st64(uint8_t *p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  memcpy(p, &v, sizeof v);
}

/* The low n bits set (n in 0..64). */
static inline uint64_t low_mask(size_t n) {
  return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/* 64 bits starting at bit `pos` of data. The caller guarantees bits [pos, pos+64) are readable
 * memory; with pos % 8 != 0 this reads bytes pos/8 .. pos/8+8, all of which hold wanted bits. */
static inline uint64_t ld_word(const uint8_t *data, size_t pos) {
  const uint8_t *p = data + (pos >> 3);
  unsigned sh = (unsigned)(pos & 7);
  if (!sh) return ld64(p);
  return (ld64(p) >> sh) | (ld64(p + 1) << (8 - sh));
}

/* `n` bits (0..64) starting at bit `pos` of data, in the low bits of the result (high bits 0).
 * Touches only the bytes that hold those bits. */
static inline uint64_t ld_bits(const uint8_t *data, size_t pos, size_t n) {
  if (!n) return 0;
  const uint8_t *p = data + (pos >> 3);
  unsigned sh = (unsigned)(pos & 7);
  size_t nbytes = (sh + n + 7) >> 3; /* 1..9 */
  uint64_t v;
  if (nbytes >= 8) {
    v = ld64(p) >> sh;
    if (nbytes == 9) v |= (uint64_t)p[8] << (64 - sh); /* sh > 0 here */
  } else {
    v = 0;
    for (size_t i = 0; i < nbytes; i++) v |= (uint64_t)p[i] << (8 * i);
    v >>= sh;
  }
  return v & low_mask(n);
}

/* Writes the low `n` bits (0..64) of v to bits [pos, pos+n) of data, preserving other bits and
 * touching only the bytes that hold the destination bits. */
static void st_bits(uint8_t *data, size_t pos, uint64_t v, size_t n) {
  uint8_t *p = data + (pos >> 3);
  unsigned sh = (unsigned)(pos & 7);
  v &= low_mask(n);
  while (n) {
    size_t take = qv__min(n, 8 - sh);
    uint8_t m = (uint8_t)(low_mask(take) << sh);
    *p = (uint8_t)((*p & (uint8_t)~m) | ((uint8_t)(v << sh) & m));
    v >>= take;
    n -= take;
    sh = 0;
    p++;
  }
}

/* ---- popcount over whole words ------------------------------------------------------------ */

/* Portable fallback: SWAR byte counts summed in a word (at most 31 words per block so each byte
 * stays below 256); plain shifts/ands/adds, which compilers vectorize with baseline SIMD. */
static uint64_t popcount_words_swar(const uint8_t *p, size_t nwords) {
  const uint64_t m1 = 0x5555555555555555u, m2 = 0x3333333333333333u, m4 = 0x0f0f0f0f0f0f0f0fu;
  uint64_t total = 0;
  while (nwords) {
    size_t chunk = qv__min(nwords, 31);
    uint64_t acc = 0;
    for (size_t i = 0; i < chunk; i++) {
      uint64_t x = ld64(p + 8 * i);
      x = x - ((x >> 1) & m1);
      x = (x & m2) + ((x >> 2) & m2);
      acc += (x + (x >> 4)) & m4;
    }
    acc = (acc & 0x00ff00ff00ff00ffu) + ((acc >> 8) & 0x00ff00ff00ff00ffu);
    total += (acc * 0x0001000100010001u) >> 48;
    p += 8 * chunk;
    nwords -= chunk;
  }
  return total;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__POPCNT__)
#define QV_POPCNT_DISPATCH 1
/* The same loop compiled for CPUs with the POPCNT instruction, chosen at run time. */
__attribute__((target("popcnt"))) static uint64_t popcount_words_hw(const uint8_t *p,
                                                                      size_t nwords) {
  uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  size_t i = 0;
  for (; i + 4 <= nwords; i += 4) {
    c0 += (uint64_t)__builtin_popcountll(ld64(p + 8 * i));
    c1 += (uint64_t)__builtin_popcountll(ld64(p + 8 * i + 8));
    c2 += (uint64_t)__builtin_popcountll(ld64(p + 8 * i + 16));
    c3 += (uint64_t)__builtin_popcountll(ld64(p + 8 * i + 24));
  }
  for (; i < nwords; i++) c0 += (uint64_t)__builtin_popcountll(ld64(p + 8 * i));
  return c0 + c1 + c2 + c3;
}
#endif

static inline unsigned popcount64(uint64_t x) { return (unsigned)__builtin_popcountll(x); }

static uint64_t popcount_words(const uint8_t *p, size_t nwords) {
#if defined(__POPCNT__) || !defined(__x86_64__)
  /* The instruction is available (or the target has its own fast popcount). */
  uint64_t c0 = 0, c1 = 0;
  size_t i = 0;
  for (; i + 2 <= nwords; i += 2) {
    c0 += popcount64(ld64(p + 8 * i));
    c1 += popcount64(ld64(p + 8 * i + 8));
  }
  if (i < nwords) c0 += popcount64(ld64(p + 8 * i));
  (void)popcount_words_swar;
  return c0 + c1;
#else
#ifdef QV_POPCNT_DISPATCH
  if (nwords >= 4 && __builtin_cpu_supports("popcnt")) return popcount_words_hw(p, nwords);
#endif
  return popcount_words_swar(p, nwords);
#endif
}

size_t qv_bits_count_set(const uint8_t *data, size_t offset, size_t len) {
  if (!len) return 0;
  const uint8_t *p = data + (offset >> 3);
  unsigned sh = (unsigned)(offset & 7);
  size_t count = 0;
  if (sh) { /* head: the rest of the first byte */
    size_t take = qv__min(len, 8 - (size_t)sh);
    count += popcount64((uint64_t)(p[0] >> sh) & low_mask(take));
    p++;
    len -= take;
  }
  /* Whole words: the bit offset inside a byte does not matter to a count. */
  size_t nwords = len >> 6;
  count += (size_t)popcount_words(p, nwords);
  p += nwords * 8;
  count += popcount64(ld_bits(p, 0, len & 63));
  return count;
}

void qv_bits_copy(uint8_t *dst, size_t dst_off, const uint8_t *src, size_t src_off, size_t len) {
  if (!len) return;
  unsigned dsh = (unsigned)(dst_off & 7);
  if (dsh) { /* head: fill the partial first destination byte */
    size_t take = qv__min(len, 8 - (size_t)dsh);
    st_bits(dst, dst_off, ld_bits(src, src_off, take), take);
    dst_off += take;
    src_off += take;
    len -= take;
  }
  uint8_t *d = dst + (dst_off >> 3); /* byte-aligned from here */
  const uint8_t *s = src + (src_off >> 3);
  unsigned sh = (unsigned)(src_off & 7);
  size_t nwords = len >> 6;
  if (!sh) {
    memcpy(d, s, nwords * 8);
  } else {
    /* Shift-combine two overlapping unaligned loads; bytes read all hold wanted bits. */
    for (size_t i = 0; i < nwords; i++)
      st64(d + 8 * i, (ld64(s + 8 * i) >> sh) | (ld64(s + 8 * i + 1) << (8 - sh)));
  }
  size_t done = nwords * 64;
  size_t rem = len - done;
  if (rem) st_bits(d, done, ld_bits(s, sh + done, rem), rem);
}

/* ---- qv_bitmap ---------------------------------------------------------------------------- */

static void bitmap_absent(size_t len, qv_bitmap *out) {
  memset(out, 0, sizeof *out);
  out->len = len;
}

qv_status qv_bitmap_from_buffer(const qv_buffer *buf, size_t bit_offset, size_t len,
                                qv_bitmap *out, qv_error *err) {
  size_t end;
  if (qv__add_overflow(bit_offset, len, &end))
    return qv_error_set(err, QV_E_RANGE, "bitmap of %zu bits at bit offset %zu: end overflows",
                        len, bit_offset);
  size_t need = end / 8 + (end % 8 != 0);
  if (need > buf->len)
    return qv_error_set(err, QV_E_RANGE,
                        "bitmap of %zu bits at bit offset %zu needs %zu bytes but the buffer has "
                        "%zu",
                        len, bit_offset, need, buf->len);
  qv_bitmap b;
  qv_buffer_ref(buf, &b.buf);
  b.offset = bit_offset;
  b.len = len;
  b.unset = len ? len - qv_bits_count_set(buf->data, bit_offset, len) : 0;
  *out = b;
  return QV_OK;
}

qv_status qv_bitmap_copy_bits(const uint8_t *data, size_t bit_offset, size_t len,
                              const qv_allocator *a, qv_bitmap *out, qv_error *err) {
  size_t nbytes = len / 8 + (len % 8 != 0);
  qv_buffer buf;
  QV_TRY(qv_buffer_new(nbytes, a, &buf, err));
  uint8_t *d = (uint8_t *)(uintptr_t)buf.data;
  if (nbytes) d[nbytes - 1] = 0; /* bits past len in the last byte are zero */
  qv_bits_copy(d, 0, data, bit_offset, len);
  out->buf = buf;
  out->offset = 0;
  out->len = len;
  out->unset = len - qv_bits_count_set(d, 0, len);
  return QV_OK;
}

void qv_bitmap_ref(const qv_bitmap *src, qv_bitmap *dst) {
  qv_bitmap b = *src;
  qv_buffer_ref(&src->buf, &b.buf);
  *dst = b;
}

void qv_bitmap_unref(qv_bitmap *b) {
  if (!b) return;
  qv_buffer_unref(&b->buf);
  memset(b, 0, sizeof *b);
}

void qv_bitmap_move(qv_bitmap *src, qv_bitmap *dst) {
  *dst = *src;
  memset(src, 0, sizeof *src);
}

qv_status qv_bitmap_slice(const qv_bitmap *b, size_t offset, size_t len, qv_bitmap *out,
                          qv_error *err) {
  if (qv__range_bad(offset, len, b->len))
    return qv_error_set(err, QV_E_RANGE,
                        "bitmap slice [%zu, +%zu) is outside the bitmap's %zu bits", offset, len,
                        b->len);
  if (!qv_bitmap_present(b)) {
    bitmap_absent(len, out);
    return QV_OK;
  }
  size_t start = b->offset + offset;
  size_t tail = b->len - offset - len;
  size_t unset;
  if (offset + tail < len) { /* count the removed ends, cheaper than the slice */
    size_t removed_set = qv_bits_count_set(b->buf.data, b->offset, offset) +
                         qv_bits_count_set(b->buf.data, start + len, tail);
    unset = b->unset - (offset + tail - removed_set);
  } else {
    unset = len - qv_bits_count_set(b->buf.data, start, len);
  }
  qv_bitmap s;
  qv_buffer_ref(&b->buf, &s.buf);
  s.offset = start;
  s.len = len;
  s.unset = unset;
  *out = s;
  return QV_OK;
}

bool qv_bitmap_equal(const qv_bitmap *a, const qv_bitmap *b) {
  if (a->len != b->len || a->unset != b->unset) return false;
  /* An absent bitmap is all set: equal to anything of the same length with no unset bit. */
  if (!qv_bitmap_present(a) || !qv_bitmap_present(b)) return true;
  const uint8_t *da = a->buf.data, *db = b->buf.data;
  size_t oa = a->offset, ob = b->offset, n = a->len;
  if (da == db && oa == ob) return true;
  size_t nwords = n >> 6;
  if (((oa | ob) & 7) == 0) {
    if (memcmp(da + oa / 8, db + ob / 8, nwords * 8) != 0) return false;
  } else {
    for (size_t i = 0; i < nwords; i++)
      if (ld_word(da, oa + 64 * i) != ld_word(db, ob + 64 * i)) return false;
  }
  size_t done = nwords * 64;
  return ld_bits(da, oa + done, n - done) == ld_bits(db, ob + done, n - done);
}

void qv_bitmap_runs_init(qv_bitmap_runs *it, const qv_bitmap *b) {
  it->data = b->buf.data;
  it->offset = b->offset;
  it->len = b->len;
  it->pos = 0;
}

bool qv_bitmap_runs_next(qv_bitmap_runs *it, size_t *start, size_t *len) {
  size_t pos = it->pos, n = it->len;
  if (pos >= n) return false;
  if (!it->data) { /* absent: one run of everything */
    *start = pos;
    *len = n - pos;
    it->pos = n;
    return true;
  }
  /* Find the first set bit, skipping all-zero words. */
  for (;;) {
    if (pos >= n) {
      it->pos = n;
      return false;
    }
    size_t k = qv__min(64, n - pos);
    uint64_t w = ld_bits(it->data, it->offset + pos, k);
    if (w) {
      pos += (size_t)__builtin_ctzll(w);
      break;
    }
    pos += k;
  }
  size_t s = pos;
  /* Find the first unset bit after it, skipping all-one words. */
  while (pos < n) {
    size_t k = qv__min(64, n - pos);
    uint64_t w = ~ld_bits(it->data, it->offset + pos, k) & low_mask(k);
    if (w) {
      pos += (size_t)__builtin_ctzll(w);
      break;
    }
    pos += k;
  }
  *start = s;
  *len = pos - s;
  it->pos = pos;
  return true;
}

/* ---- qv_mbitmap --------------------------------------------------------------------------- */

void qv_mbitmap_init(qv_mbitmap *mb, const qv_allocator *a) {
  qv_mbuffer_init(&mb->buf, a);
  mb->len = 0;
}

void qv_mbitmap_reset(qv_mbitmap *mb) {
  qv_mbuffer_reset(&mb->buf);
  mb->len = 0;
}

static inline size_t bytes_for(size_t bits) { return (bits >> 3) + ((bits & 7) != 0); }

qv_status qv_mbitmap_reserve(qv_mbitmap *mb, size_t additional_bits, qv_error *err) {
  size_t bits;
  if (qv__add_overflow(mb->len, additional_bits, &bits))
    return qv_error_set(err, QV_E_OVERFLOW, "bitmap of %zu bits cannot grow by %zu bits",
                        mb->len, additional_bits);
  /* The capacity is a multiple of 64 bytes, so it always covers the whole 64-bit word holding
   * the last bit: the in-place operations below rely on that. */
  size_t need = bytes_for(bits);
  if (need <= mb->buf.cap && mb->buf.data) return QV_OK;
  return qv_mbuffer_reserve(&mb->buf, need - mb->buf.len, err);
}

static inline void set_len(qv_mbitmap *mb, size_t len) {
  mb->len = len;
  mb->buf.len = bytes_for(len);
}

qv_status qv_mbitmap_push(qv_mbitmap *mb, bool v, qv_error *err) {
  size_t i = mb->len;
  if (!mb->buf.data || (i >> 3) >= mb->buf.cap) QV_TRY(qv_mbitmap_reserve(mb, 1, err));
  mb->buf.data[i >> 3] |= (uint8_t)((unsigned)v << (i & 7)); /* the bit is 0 by the invariant */
  set_len(mb, i + 1);
  return QV_OK;
}

qv_status qv_mbitmap_pop(qv_mbitmap *mb, bool *v, qv_error *err) {
  if (!mb->len) return qv_error_set(err, QV_E_RANGE, "pop from an empty bitmap");
  size_t i = mb->len - 1;
  *v = qv_bit_get(mb->buf.data, i);
  qv_bit_set(mb->buf.data, i, false); /* keep bits past len zero */
  set_len(mb, i);
  return QV_OK;
}

qv_status qv_mbitmap_extend_const(qv_mbitmap *mb, bool v, size_t n, qv_error *err) {
  if (!n) return QV_OK;
  QV_TRY(qv_mbitmap_reserve(mb, n, err));
  size_t pos = mb->len;
  if (v) { /* zeros need no writes: bits past len are already zero */
    uint8_t *d = mb->buf.data;
    size_t left = n;
    if (pos & 7) {
      size_t take = qv__min(left, 8 - (pos & 7));
      d[pos >> 3] |= (uint8_t)(low_mask(take) << (pos & 7));
      pos += take;
      left -= take;
    }
    memset(d + (pos >> 3), 0xff, left >> 3);
    pos += left & ~(size_t)7;
    if (left & 7) d[pos >> 3] = (uint8_t)low_mask(left & 7);
  }
  set_len(mb, mb->len + n);
  return QV_OK;
}

qv_status qv_mbitmap_extend_bits(qv_mbitmap *mb, const uint8_t *data, size_t offset, size_t len,
                                 qv_error *err) {
  if (!len) return QV_OK;
  QV_TRY(qv_mbitmap_reserve(mb, len, err));
  qv_bits_copy(mb->buf.data, mb->len, data, offset, len);
  set_len(mb, mb->len + len);
  return QV_OK;
}

qv_status qv_mbitmap_extend(qv_mbitmap *mb, const qv_bitmap *b, qv_error *err) {
  if (!qv_bitmap_present(b)) return qv_mbitmap_extend_const(mb, true, b->len, err);
  return qv_mbitmap_extend_bits(mb, b->buf.data, b->offset, b->len, err);
}

/* mb = mb OP (bits [off, off+len) of src), word-wise. The destination starts at bit 0 of a
 * 64-byte aligned buffer whose capacity covers the whole last word, so the tail is processed
 * as one full destination word; the source is read only where its bits are. */
#define QV__BITOP_LOOP(OP)                                                                   \
  do {                                                                                     \
    if (!sh) {                                                                             \
      for (size_t i = 0; i < nwords; i++)                                                  \
        st64(d + 8 * i, ld64(d + 8 * i) OP ld64(s + 8 * i));                               \
    } else {                                                                               \
      for (size_t i = 0; i < nwords; i++)                                                  \
        st64(d + 8 * i, ld64(d + 8 * i) OP((ld64(s + 8 * i) >> sh) |                       \
                                          (ld64(s + 8 * i + 1) << (8 - sh))));             \
    }                                                                                      \
    if (rem) st64(d + 8 * nwords, ld64(d + 8 * nwords) OP tail);                           \
  } while (0)

enum bitop { OP_AND, OP_OR, OP_XOR };

static qv_status bitop(qv_mbitmap *mb, const qv_bitmap *other, enum bitop op, qv_error *err) {
  static const char *const names[] = {"and", "or", "xor"};
  if (other->len != mb->len)
    return qv_error_set(err, QV_E_INVALID, "bitmap %s: lengths differ (%zu bits vs %zu bits)",
                        names[op], mb->len, other->len);
  size_t len = mb->len;
  if (!len) return QV_OK;
  if (!qv_bitmap_present(other)) { /* all set */
    if (op == OP_AND) return QV_OK;
    if (op == OP_XOR) {
      qv_mbitmap_not(mb);
      return QV_OK;
    }
    memset(mb->buf.data, 0xff, len >> 3);
    if (len & 7) mb->buf.data[len >> 3] = (uint8_t)low_mask(len & 7);
    return QV_OK;
  }
  uint8_t *d = mb->buf.data;
  const uint8_t *s = other->buf.data + (other->offset >> 3);
  unsigned sh = (unsigned)(other->offset & 7);
  size_t nwords = len >> 6, rem = len & 63;
  uint64_t tail = ld_bits(s, sh + nwords * 64, rem); /* high bits zero: padding stays zero */
  switch (op) {
  case OP_AND: QV__BITOP_LOOP(&); break;
  case OP_OR: QV__BITOP_LOOP(|); break;
  case OP_XOR: QV__BITOP_LOOP(^); break;
  }
  return QV_OK;
}
#undef QV__BITOP_LOOP

qv_status qv_mbitmap_and(qv_mbitmap *mb, const qv_bitmap *other, qv_error *err) {
  return bitop(mb, other, OP_AND, err);
}
qv_status qv_mbitmap_or(qv_mbitmap *mb, const qv_bitmap *other, qv_error *err) {
  return bitop(mb, other, OP_OR, err);
}
qv_status qv_mbitmap_xor(qv_mbitmap *mb, const qv_bitmap *other, qv_error *err) {
  return bitop(mb, other, OP_XOR, err);
}

void qv_mbitmap_not(qv_mbitmap *mb) {
  size_t len = mb->len;
  if (!len) return;
  uint8_t *d = mb->buf.data;
  size_t nwords = len >> 6, rem = len & 63;
  for (size_t i = 0; i < nwords; i++) st64(d + 8 * i, ~ld64(d + 8 * i));
  /* Last word (inside the capacity): flip, then re-clear the padding bits past len. */
  if (rem) st64(d + 8 * nwords, ~ld64(d + 8 * nwords) & low_mask(rem));
}

size_t qv_mbitmap_unset_count(const qv_mbitmap *mb) {
  return mb->len ? mb->len - qv_bits_count_set(mb->buf.data, 0, mb->len) : 0;
}

qv_status qv_mbitmap_finish(qv_mbitmap *mb, bool elide_all_set, qv_bitmap *out, qv_error *err) {
  size_t len = mb->len;
  size_t unset = qv_mbitmap_unset_count(mb);
  if (elide_all_set && unset == 0) {
    qv_mbitmap_reset(mb);
    bitmap_absent(len, out);
    return QV_OK;
  }
  qv_buffer buf;
  QV_TRY(qv_mbuffer_finish(&mb->buf, &buf, err)); /* on failure mb is untouched */
  mb->len = 0;
  out->buf = buf;
  out->offset = 0;
  out->len = len;
  out->unset = unset;
  return QV_OK;
}
