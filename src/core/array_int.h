/* array_int.h — internals shared by the data-model files (type, schema, array, validate,
 * builder, table, pretty): a snprintf-like string sink, layout helpers, value rendering. */
#ifndef QV_ARRAY_INT_H
#define QV_ARRAY_INT_H

#include <stdarg.h>
#include <string.h>

#include "core_int.h"

/* A bounded string sink: writes at most cap-1 chars (always NUL-terminated when cap > 0) and
 * counts the full length in `len`, like snprintf. */
typedef struct qv__sbuf {
  char *buf;
  size_t cap;
  size_t len;
} qv__sbuf;

static inline void qv__sbuf_init(qv__sbuf *s, char *buf, size_t cap) {
  s->buf = buf;
  s->cap = cap;
  s->len = 0;
  if (cap) buf[0] = '\0';
}
void qv__sbuf_putn(qv__sbuf *s, const char *str, size_t n);
void qv__sbuf_puts(qv__sbuf *s, const char *str);
void qv__sbuf_printf(qv__sbuf *s, const char *fmt, ...) QV_PRINTF(2, 3);

/* Offset k of a 32-bit (large: 64-bit) offsets buffer starting at p (unaligned load). */
static inline int64_t qv__offset_at(const uint8_t *p, int64_t k, bool large) {
  if (large) {
    int64_t v;
    memcpy(&v, p + (size_t)k * 8, 8);
    return v;
  }
  int32_t v;
  memcpy(&v, p + (size_t)k * 4, 4);
  return v;
}

/* Type rendering into a sink (qv_type_to_string is built on it). */
void qv__type_render(const qv_type *t, qv__sbuf *s);
void qv__field_render(const qv_field *f, qv__sbuf *s);

/* Element byte width of fixed-width types with whole bytes (0 otherwise; BOOL 0). */
int32_t qv__fixed_byte_width(const qv_type *t);

/* Value rendering for pretty printing and qv_array_value_to_string. `max_items` limits list
 * items (0 = unlimited). */
void qv__value_render(const qv_array *arr, int64_t i, qv__sbuf *s, int32_t max_items);

/* Half-float conversions. */
double qv__half_to_double(uint16_t h);
uint16_t qv__double_to_half(double d);

/* Validates arr with messages rooted at `root`. */
qv_status qv__array_validate(const qv_array *arr, qv_validate_level level, const char *root,
                             qv_error *err);

/* Structural checks of one array node only (no recursion): what qv_array_new runs. */
qv_status qv__array_check_node(const qv_array *arr, const char *root, qv_error *err);

/* Element i vs element j of two arrays of equal types: logical equality (nulls, nested,
 * dictionaries decoded). */
bool qv__elem_equal(const qv_array *a, int64_t i, const qv_array *b, int64_t j);

/* Logical element equality used by array and batch/table equality; `diff_prefix` is put in
 * front of the row description ("column 'a' "). Row numbers are reported + row_base. */
bool qv__array_equal_prefixed(const qv_array *a, const qv_array *b, const char *diff_prefix,
                              int64_t row_base, qv_error *diff);

#endif
