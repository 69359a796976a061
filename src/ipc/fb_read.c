/* fb_read.c — typed reads from a FlatBuffer that qv__fb_verify_* has accepted: root, vtable
 * lookup, scalars with defaults, sub-tables, vectors and strings. No bounds checks here: the
 * verifier established them. */
#include <string.h>

#include "ipc/ipc_int.h"

static uint32_t ld32(const qv__fb *fb, uint32_t pos) { return qv__load_u32le(fb->data + pos); }

int64_t qv__fb_load_i64(const qv__fb *fb, uint32_t pos) {
  return (int64_t)qv__load_u64le(fb->data + pos);
}
int32_t qv__fb_load_i32(const qv__fb *fb, uint32_t pos) { return (int32_t)ld32(fb, pos); }

uint32_t qv__fb_root(const qv__fb *fb) { return ld32(fb, 0); }

uint16_t qv__fb_field(const qv__fb *fb, uint32_t t, unsigned slot) {
  int32_t so = (int32_t)ld32(fb, t);
  uint32_t vt = (uint32_t)((int64_t)t - so);
  uint16_t vsize = qv__load_u16le(fb->data + vt);
  size_t o = 4 + 2 * (size_t)slot;
  if (o + 2 > vsize) return 0;
  return qv__load_u16le(fb->data + vt + o);
}

bool qv__fb_has(const qv__fb *fb, uint32_t t, unsigned slot) {
  return t != 0 && qv__fb_field(fb, t, slot) != 0;
}

int64_t qv__fb_i64(const qv__fb *fb, uint32_t t, unsigned slot, int64_t def) {
  uint16_t o = t ? qv__fb_field(fb, t, slot) : 0;
  return o ? (int64_t)qv__load_u64le(fb->data + t + o) : def;
}
int32_t qv__fb_i32(const qv__fb *fb, uint32_t t, unsigned slot, int32_t def) {
  uint16_t o = t ? qv__fb_field(fb, t, slot) : 0;
  return o ? (int32_t)ld32(fb, t + o) : def;
}
int16_t qv__fb_i16(const qv__fb *fb, uint32_t t, unsigned slot, int16_t def) {
  uint16_t o = t ? qv__fb_field(fb, t, slot) : 0;
  return o ? (int16_t)qv__load_u16le(fb->data + t + o) : def;
}
uint8_t qv__fb_u8(const qv__fb *fb, uint32_t t, unsigned slot, uint8_t def) {
  uint16_t o = t ? qv__fb_field(fb, t, slot) : 0;
  return o ? fb->data[t + o] : def;
}
int8_t qv__fb_i8(const qv__fb *fb, uint32_t t, unsigned slot, int8_t def) {
  uint16_t o = t ? qv__fb_field(fb, t, slot) : 0;
  return o ? (int8_t)fb->data[t + o] : def;
}
bool qv__fb_bool(const qv__fb *fb, uint32_t t, unsigned slot, bool def) {
  uint16_t o = t ? qv__fb_field(fb, t, slot) : 0;
  return o ? fb->data[t + o] != 0 : def;
}

/* Follows the uoffset stored at position p. */
static uint32_t follow(const qv__fb *fb, uint32_t p) { return p + ld32(fb, p); }

uint32_t qv__fb_table(const qv__fb *fb, uint32_t t, unsigned slot) {
  uint16_t o = t ? qv__fb_field(fb, t, slot) : 0;
  return o ? follow(fb, t + o) : 0;
}

uint32_t qv__fb_vector(const qv__fb *fb, uint32_t t, unsigned slot, uint32_t *n) {
  uint16_t o = t ? qv__fb_field(fb, t, slot) : 0;
  if (!o) {
    *n = 0;
    return 0;
  }
  uint32_t v = follow(fb, t + o);
  *n = ld32(fb, v);
  return v + 4;
}

uint32_t qv__fb_vector_table(const qv__fb *fb, uint32_t vec, uint32_t i) {
  return follow(fb, vec + 4 * i);
}

const char *qv__fb_string(const qv__fb *fb, uint32_t t, unsigned slot, size_t *len) {
  uint16_t o = t ? qv__fb_field(fb, t, slot) : 0;
  if (!o) {
    *len = 0;
    return NULL;
  }
  uint32_t s = follow(fb, t + o);
  *len = ld32(fb, s);
  return (const char *)fb->data + s + 4;
}

const char *qv__fb_vector_string(const qv__fb *fb, uint32_t vec, uint32_t i, size_t *len) {
  uint32_t s = follow(fb, vec + 4 * i);
  *len = ld32(fb, s);
  return (const char *)fb->data + s + 4;
}
