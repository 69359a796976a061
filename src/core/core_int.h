/* core_int.h — internal helpers shared across quiver's modules: checked size arithmetic,
 * alignment, and small utilities. Not installed. */
#ifndef QV_CORE_INT_H
#define QV_CORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/quiver.h"

/* Checked arithmetic: return true on overflow (result unspecified then). */
static inline bool qv__add_overflow(size_t a, size_t b, size_t *out) {
  return __builtin_add_overflow(a, b, out);
}
static inline bool qv__mul_overflow(size_t a, size_t b, size_t *out) {
  return __builtin_mul_overflow(a, b, out);
}
static inline bool qv__add_overflow_i64(int64_t a, int64_t b, int64_t *out) {
  return __builtin_add_overflow(a, b, out);
}
static inline bool qv__mul_overflow_i64(int64_t a, int64_t b, int64_t *out) {
  return __builtin_mul_overflow(a, b, out);
}
/* True when [off, off+len) is not inside [0, cap): the overflow-proof range check. */
static inline bool qv__range_bad(size_t off, size_t len, size_t cap) {
  return len > cap || off > cap - len;
}
/* Bytes for n elements of `bits` bits each (rounded up); false when that does not fit size_t.
 * Unsigned so that callers can ask for "end + 1" elements of an end up to INT64_MAX. */
static inline bool qv__elems_bytes(uint64_t n, uint64_t bits, size_t *out) {
  uint64_t b;
  if (__builtin_mul_overflow(n, bits, &b)) return false;
  b = b / 8 + (b % 8 != 0);
  if (b > SIZE_MAX) return false;
  *out = (size_t)b;
  return true;
}
/* Round up to a multiple of a power of two `align`; false on overflow. */
static inline bool qv__round_up(size_t v, size_t align, size_t *out) {
  size_t t;
  if (qv__add_overflow(v, align - 1, &t)) return false;
  *out = t & ~(align - 1);
  return true;
}
static inline size_t qv__min(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t qv__max(size_t a, size_t b) { return a > b ? a : b; }

/* Little-endian loads/stores from possibly unaligned memory. */
static inline uint16_t qv__load_u16le(const uint8_t *p) {
  return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}
static inline uint32_t qv__load_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t qv__load_u64le(const uint8_t *p) {
  return (uint64_t)qv__load_u32le(p) | (uint64_t)qv__load_u32le(p + 4) << 32;
}
static inline void qv__store_u16le(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void qv__store_u32le(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void qv__store_u64le(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Sets QV_E_NOMEM with a message naming what could not be allocated. */
qv_status qv__nomem(qv_error *err, const char *what, size_t bytes);

#endif
