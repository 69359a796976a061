/* validate.c — array validation: the O(1) structural check run by qv_array_new (minimal) and
 * the O(data) full check for untrusted input (offsets, UTF-8, indices, union codes, run ends,
 * views), with messages naming the column path and the element index. */
#include <stdio.h>
#include <string.h>

#include "array_int.h"

/* ---- UTF-8 ------------------------------------------------------------------------------- */

bool qv_utf8_valid(const uint8_t *s, size_t len, size_t *bad_at) {
  size_t i = 0;
  while (i < len) {
    /* ASCII fast path: 16 bytes at a time. */
    while (i + 16 <= len) {
      uint64_t w0, w1;
      memcpy(&w0, s + i, 8);
      memcpy(&w1, s + i + 8, 8);
      if ((w0 | w1) & 0x8080808080808080ull) break;
      i += 16;
    }
    if (i >= len) break;
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c == 0xe0) lo = 0xa0;      /* overlong */
      else if (c == 0xed) hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c == 0xf0) lo = 0x90;      /* overlong */
      else if (c == 0xf4) hi = 0x8f; /* > U+10FFFF */
    } else {
      goto bad;
    }
    if (len - i < n) goto bad;
    if (s[i + 1] < lo || s[i + 1] > hi) goto bad;
    for (size_t k = 2; k < n; k++)
      if ((s[i + k] & 0xc0) != 0x80) goto bad;
    i += n;
  }
  return true;
bad:
  if (bad_at) *bad_at = i;
  return false;
}

/* ---- helpers ----------------------------------------------------------------------------- */

#define PATH_MAX_LEN 512

static qv_status fail(qv_error *err, qv_status code, const char *path, const char *fmt, ...)
    QV_PRINTF(4, 5);
static qv_status fail(qv_error *err, qv_status code, const char *path, const char *fmt, ...) {
  char msg[QV_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return qv_error_set(err, code, "%s: %s", path, msg);
}

static qv_status need_bytes(const qv_array *arr, int32_t bi, uint64_t n, int64_t bits,
                            const char *what, const char *path, qv_error *err) {
  size_t need;
  if (!qv__elems_bytes(n, (uint64_t)bits, &need))
    return fail(err, QV_E_OVERFLOW, path, "%s size for %llu elements overflows", what,
                (unsigned long long)n);
  if (arr->buffers[bi].len < need)
    return fail(err, QV_E_CORRUPT, path, "%s buffer (buffer %d) has %zu bytes, needs %zu", what,
                (int)bi, arr->buffers[bi].len, need);
  return QV_OK;
}

static int64_t load_signed(const uint8_t *p, int64_t k, int32_t width) {
  switch (width) {
    case 1: return (int8_t)p[k];
    case 2: { int16_t v; memcpy(&v, p + (size_t)k * 2, 2); return v; }
    case 4: { int32_t v; memcpy(&v, p + (size_t)k * 4, 4); return v; }
    default: { int64_t v; memcpy(&v, p + (size_t)k * 8, 8); return v; }
  }
}

static qv_status check_child_type(const qv_array *arr, int32_t c, const qv_type *want,
                                  const char *path, qv_error *err) {
  if (!qv_type_equal(arr->children[c]->type, want)) {
    char a[160], b[160];
    qv_type_to_string(arr->children[c]->type, a, sizeof a);
    qv_type_to_string(want, b, sizeof b);
    return fail(err, QV_E_INVALID, path, "child %d has type %s, the type says %s", (int)c, a, b);
  }
  return QV_OK;
}

/* ---- minimal: one node ------------------------------------------------------------------- */

qv_status qv__array_check_node(const qv_array *arr, const char *path, qv_error *err) {
  const qv_type *t = arr->type;
  int64_t end = arr->offset + arr->length; /* checked at construction */
  uint64_t n_end = (uint64_t)end;          /* element counts for need_bytes */
  int32_t want_buffers = qv_type_layout_buffers(t);
  bool views = t->id == QV_TYPE_BINARY_VIEW || t->id == QV_TYPE_STRING_VIEW;
  if (views ? arr->n_buffers < want_buffers : arr->n_buffers != want_buffers)
    return fail(err, QV_E_INVALID, path, "%s array has %d buffers, expected %s%d",
                qv_type_id_name(t->id), (int)arr->n_buffers, views ? "at least " : "",
                (int)want_buffers);
  int32_t want_children = (t->id == QV_TYPE_DICTIONARY) ? 0 : t->n_children;
  if (arr->n_children != want_children)
    return fail(err, QV_E_INVALID, path, "%s array has %d children, expected %d",
                qv_type_id_name(t->id), (int)arr->n_children, (int)want_children);
  if ((t->id == QV_TYPE_DICTIONARY) != (arr->dictionary != NULL))
    return fail(err, QV_E_INVALID, path, t->id == QV_TYPE_DICTIONARY
                                             ? "dictionary array without a dictionary"
                                             : "non-dictionary array with a dictionary");
  if (t->id == QV_TYPE_NA) {
    if (arr->null_count >= 0 && arr->null_count != arr->length)
      return fail(err, QV_E_CORRUPT, path, "null array with null count %lld != length %lld",
                  (long long)arr->null_count, (long long)arr->length);
    return QV_OK;
  }
  if (qv_type_has_validity(t)) {
    if (arr->buffers[0].data) {
      QV_TRY(need_bytes(arr, 0, n_end, 1, "validity", path, err));
    } else if (arr->null_count > 0) {
      return fail(err, QV_E_CORRUPT, path, "null count %lld without a validity bitmap",
                  (long long)arr->null_count);
    }
  } else if (arr->null_count > 0 && t->id != QV_TYPE_NA) {
    return fail(err, QV_E_CORRUPT, path, "%s array with null count %lld (must be 0)",
                qv_type_id_name(t->id), (long long)arr->null_count);
  }
  for (int32_t c = 0; c < want_children; c++)
    QV_TRY(check_child_type(arr, c, t->children[c]->type, path, err));

  switch (t->id) {
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_MAP: {
      bool large = t->id == QV_TYPE_LARGE_BINARY || t->id == QV_TYPE_LARGE_STRING ||
                   t->id == QV_TYPE_LARGE_LIST;
      if (arr->length == 0 && arr->buffers[1].len == 0) return QV_OK;
      QV_TRY(need_bytes(arr, 1, n_end + 1, large ? 64 : 32, "offsets", path, err));
      int64_t first = qv__offset_at(arr->buffers[1].data, arr->offset, large);
      int64_t last = qv__offset_at(arr->buffers[1].data, end, large);
      int64_t cap = (t->id == QV_TYPE_LIST || t->id == QV_TYPE_LARGE_LIST || t->id == QV_TYPE_MAP)
                        ? arr->children[0]->length
                        : (int64_t)arr->buffers[2].len;
      if (first < 0 || last < first)
        return fail(err, QV_E_CORRUPT, path, "offsets [%lld, %lld] of the slice are not ordered",
                    (long long)first, (long long)last);
      if (last > cap)
        return fail(err, QV_E_CORRUPT, path, "offset %lld at index %lld is beyond %s length %lld",
                    (long long)last, (long long)arr->length,
                    qv_type_id_is_list(t->id) ? "child" : "data", (long long)cap);
      return QV_OK;
    }
    case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW:
      return need_bytes(arr, 1, n_end, 128, "views", path, err);
    case QV_TYPE_LIST_VIEW: case QV_TYPE_LARGE_LIST_VIEW: {
      int64_t bits = t->id == QV_TYPE_LIST_VIEW ? 32 : 64;
      QV_TRY(need_bytes(arr, 1, n_end, bits, "offsets", path, err));
      return need_bytes(arr, 2, n_end, bits, "sizes", path, err);
    }
    case QV_TYPE_FIXED_SIZE_LIST: {
      int64_t need;
      if (qv__mul_overflow_i64(end, t->list_size, &need))
        return fail(err, QV_E_OVERFLOW, path, "fixed-size list extent overflows");
      if (arr->children[0]->length < need)
        return fail(err, QV_E_CORRUPT, path, "child has %lld elements, needs %lld",
                    (long long)arr->children[0]->length, (long long)need);
      return QV_OK;
    }
    case QV_TYPE_STRUCT: case QV_TYPE_SPARSE_UNION:
      for (int32_t c = 0; c < arr->n_children; c++)
        if (arr->children[c]->length < end)
          return fail(err, QV_E_CORRUPT, path, "child %d ('%s') has %lld elements, needs %lld",
                      (int)c, t->children[c]->name, (long long)arr->children[c]->length,
                      (long long)end);
      if (t->id == QV_TYPE_SPARSE_UNION)
        return need_bytes(arr, 0, n_end, 8, "type ids", path, err);
      return QV_OK;
    case QV_TYPE_DENSE_UNION:
      QV_TRY(need_bytes(arr, 0, n_end, 8, "type ids", path, err));
      return need_bytes(arr, 1, n_end, 32, "offsets", path, err);
    case QV_TYPE_DICTIONARY:
      if (!qv_type_equal(arr->dictionary->type, t->value_type))
        return fail(err, QV_E_INVALID, path, "dictionary values have the wrong type");
      return need_bytes(arr, 1, n_end, qv_type_bit_width(t->index_type), "indices", path, err);
    case QV_TYPE_RUN_END_ENCODED: {
      const qv_array *re = arr->children[0], *vals = arr->children[1];
      if (re->length != vals->length)
        return fail(err, QV_E_CORRUPT, path, "run_ends has %lld elements but values has %lld",
                    (long long)re->length, (long long)vals->length);
      if (arr->length == 0) return QV_OK;
      if (re->length == 0)
        return fail(err, QV_E_CORRUPT, path, "no runs for %lld elements", (long long)arr->length);
      int32_t w = qv_type_bit_width(re->type) / 8;
      int64_t last = load_signed(re->buffers[1].data, re->offset + re->length - 1, w);
      if (last < end)
        return fail(err, QV_E_CORRUPT, path, "last run end %lld does not cover offset + length %lld",
                    (long long)last, (long long)end);
      return QV_OK;
    }
    case QV_TYPE_BOOL:
      return need_bytes(arr, 1, n_end, 1, "values", path, err);
    default: {
      int32_t bits = qv_type_bit_width(t);
      if (bits > 0) return need_bytes(arr, 1, n_end, bits, "values", path, err);
      return QV_OK;
    }
  }
}

/* ---- full -------------------------------------------------------------------------------- */

static qv_status full_offsets(const qv_array *arr, bool large, int64_t cap, const char *what,
                              const char *path, qv_error *err) {
  if (arr->length == 0) return QV_OK;
  const uint8_t *o = arr->buffers[1].data;
  int64_t prev = qv__offset_at(o, arr->offset, large);
  if (prev < 0 || prev > cap)
    return fail(err, QV_E_CORRUPT, path, "offset %lld at index 0 is beyond %s length %lld",
                (long long)prev, what, (long long)cap);
  for (int64_t k = 1; k <= arr->length; k++) {
    int64_t v = qv__offset_at(o, arr->offset + k, large);
    if (v < prev)
      return fail(err, QV_E_CORRUPT, path, "offset %lld at index %lld is less than %lld before it",
                  (long long)v, (long long)k, (long long)prev);
    if (v > cap)
      return fail(err, QV_E_CORRUPT, path, "offset %lld at index %lld is beyond %s length %lld",
                  (long long)v, (long long)k, what, (long long)cap);
    prev = v;
  }
  return QV_OK;
}

static qv_status full_utf8_offsets(const qv_array *arr, bool large, const char *path,
                                   qv_error *err) {
  if (arr->length == 0) return QV_OK;
  static const uint8_t empty_data[1]; /* stands in for an empty data buffer (NULL + 0 is UB) */
  const uint8_t *o = arr->buffers[1].data;
  const uint8_t *d = arr->buffers[2].data ? arr->buffers[2].data : empty_data;
  int64_t first = qv__offset_at(o, arr->offset, large);
  int64_t last = qv__offset_at(o, arr->offset + arr->length, large);
  size_t bad;
  if (qv_array_null_count(arr) == 0) {
    /* Whole range at once, then every value must start on a character boundary. */
    if (!qv_utf8_valid(d + first, (size_t)(last - first), &bad)) {
      int64_t pos = first + (int64_t)bad, k = 0;
      while (k + 1 < arr->length && qv__offset_at(o, arr->offset + k + 1, large) <= pos) k++;
      return fail(err, QV_E_CORRUPT, path, "invalid UTF-8 at index %lld (byte %lld)",
                  (long long)k, (long long)(pos - qv__offset_at(o, arr->offset + k, large)));
    }
    for (int64_t k = 1; k < arr->length; k++) {
      int64_t v = qv__offset_at(o, arr->offset + k, large);
      if (v < last && (d[v] & 0xc0) == 0x80)
        return fail(err, QV_E_CORRUPT, path,
                    "invalid UTF-8 at index %lld (value starts inside a character)",
                    (long long)k);
    }
    return QV_OK;
  }
  for (int64_t k = 0; k < arr->length; k++) {
    if (qv_array_is_null(arr, k)) continue;
    int64_t a = qv__offset_at(o, arr->offset + k, large);
    int64_t b = qv__offset_at(o, arr->offset + k + 1, large);
    if (!qv_utf8_valid(d + a, (size_t)(b - a), &bad))
      return fail(err, QV_E_CORRUPT, path, "invalid UTF-8 at index %lld (byte %zu)",
                  (long long)k, bad);
  }
  return QV_OK;
}

/* Views: lengths, buffer indices and ranges are checked for every slot (a getter on a null slot
 * must not read out of bounds); prefix, padding and UTF-8 only for valid slots. */
static qv_status full_views(const qv_array *arr, const char *path, qv_error *err) {
  int32_t nvar = arr->n_buffers - 2;
  bool utf8 = arr->type->id == QV_TYPE_STRING_VIEW;
  for (int64_t k = 0; k < arr->length; k++) {
    const uint8_t *v = arr->buffers[1].data + (size_t)(arr->offset + k) * 16;
    int32_t n;
    memcpy(&n, v, 4);
    if (n < 0)
      return fail(err, QV_E_CORRUPT, path, "view length %d at index %lld is negative", (int)n,
                  (long long)k);
    const uint8_t *data;
    bool is_null = qv_array_is_null(arr, k);
    if (n <= 12) {
      for (int32_t z = n; z < 12 && !is_null; z++)
        if (v[4 + z])
          return fail(err, QV_E_CORRUPT, path,
                      "inline view at index %lld has non-zero padding after %d bytes",
                      (long long)k, (int)n);
      data = v + 4;
    } else {
      int32_t bi, off;
      memcpy(&bi, v + 8, 4);
      memcpy(&off, v + 12, 4);
      if (bi < 0 || bi >= nvar)
        return fail(err, QV_E_CORRUPT, path,
                    "view at index %lld refers to data buffer %d of %d", (long long)k, (int)bi,
                    (int)nvar);
      size_t blen = arr->buffers[2 + bi].len;
      if (off < 0 || qv__range_bad((size_t)off, (size_t)n, blen))
        return fail(err, QV_E_CORRUPT, path,
                    "view at index %lld [%d, +%d) is beyond data buffer %d length %zu",
                    (long long)k, (int)off, (int)n, (int)bi, blen);
      data = arr->buffers[2 + bi].data + off;
      if (!is_null && memcmp(data, v + 4, 4) != 0)
        return fail(err, QV_E_CORRUPT, path,
                    "view at index %lld has a prefix that does not match its data", (long long)k);
    }
    size_t bad;
    if (utf8 && !is_null && !qv_utf8_valid(data, (size_t)n, &bad))
      return fail(err, QV_E_CORRUPT, path, "invalid UTF-8 at index %lld (byte %zu)", (long long)k,
                  bad);
  }
  return QV_OK;
}

static qv_status full_list_views(const qv_array *arr, const char *path, qv_error *err) {
  bool large = arr->type->id == QV_TYPE_LARGE_LIST_VIEW;
  int64_t cap = arr->children[0]->length;
  for (int64_t k = 0; k < arr->length; k++) {
    if (qv_array_is_null(arr, k)) continue;
    int64_t o = qv__offset_at(arr->buffers[1].data, arr->offset + k, large);
    int64_t n = qv__offset_at(arr->buffers[2].data, arr->offset + k, large);
    if (o < 0 || n < 0 || o > cap || n > cap - o)
      return fail(err, QV_E_CORRUPT, path,
                  "list view [%lld, +%lld) at index %lld is beyond child length %lld",
                  (long long)o, (long long)n, (long long)k, (long long)cap);
  }
  return QV_OK;
}

static qv_status full_dictionary(const qv_array *arr, const char *path, qv_error *err) {
  int64_t dlen = arr->dictionary->length;
  const qv_type *it = arr->type->index_type;
  int32_t w = qv_type_bit_width(it) / 8;
  bool is_unsigned = !qv_type_id_is_signed(it->id);
  for (int64_t k = 0; k < arr->length; k++) {
    if (arr->buffers[0].data && !qv_bit_get(arr->buffers[0].data, (size_t)(arr->offset + k)))
      continue;
    int64_t v = load_signed(arr->buffers[1].data, arr->offset + k, w);
    if (is_unsigned && w < 8) v &= (int64_t)((1ull << (w * 8)) - 1);
    if (v < 0 || v >= dlen)
      return fail(err, QV_E_CORRUPT, path,
                  "dictionary index %lld at index %lld is outside the dictionary of %lld",
                  (long long)(is_unsigned && v < 0 ? (long long)(uint64_t)v : (long long)v),
                  (long long)k, (long long)dlen);
  }
  return QV_OK;
}

static qv_status full_union(const qv_array *arr, const char *path, qv_error *err) {
  bool dense = arr->type->id == QV_TYPE_DENSE_UNION;
  for (int64_t k = 0; k < arr->length; k++) {
    int8_t code = (int8_t)arr->buffers[0].data[arr->offset + k];
    int32_t c = qv_type_union_child_index(arr->type, code);
    if (c < 0)
      return fail(err, QV_E_CORRUPT, path, "union type code %d at index %lld is not declared",
                  (int)code, (long long)k);
    if (dense) {
      int64_t o = load_signed(arr->buffers[1].data, arr->offset + k, 4);
      if (o < 0 || o >= arr->children[c]->length)
        return fail(err, QV_E_CORRUPT, path,
                    "dense union offset %lld at index %lld is beyond child %d length %lld",
                    (long long)o, (long long)k, (int)c, (long long)arr->children[c]->length);
    }
  }
  return QV_OK;
}

static qv_status full_ree(const qv_array *arr, const char *path, qv_error *err) {
  const qv_array *re = arr->children[0];
  if (qv_array_null_count(re) != 0)
    return fail(err, QV_E_CORRUPT, path, "run_ends contains %lld nulls",
                (long long)qv_array_null_count(re));
  int32_t w = qv_type_bit_width(re->type) / 8;
  int64_t prev = 0;
  for (int64_t k = 0; k < re->length; k++) {
    int64_t v = load_signed(re->buffers[1].data, re->offset + k, w);
    if (v <= 0)
      return fail(err, QV_E_CORRUPT, path, "run end %lld at run %lld is not positive",
                  (long long)v, (long long)k);
    if (k > 0 && v <= prev)
      return fail(err, QV_E_CORRUPT, path,
                  "run end %lld at run %lld is not greater than %lld before it", (long long)v,
                  (long long)k, (long long)prev);
    prev = v;
  }
  return QV_OK;
}

static qv_status validate_rec(const qv_array *arr, qv_validate_level level, const char *path,
                              int depth, qv_error *err) {
  if (depth > QV_VALIDATE_MAX_DEPTH)
    return fail(err, QV_E_LIMIT, path, "nesting deeper than %d", QV_VALIDATE_MAX_DEPTH);
  QV_TRY(qv__array_check_node(arr, path, err));
  const qv_type *t = arr->type;
  char sub[PATH_MAX_LEN];
  for (int32_t c = 0; c < arr->n_children; c++) {
    snprintf(sub, sizeof sub, "%s.%s", path, t->children[c]->name);
    QV_TRY(validate_rec(arr->children[c], level, sub, depth + 1, err));
  }
  if (arr->dictionary) {
    snprintf(sub, sizeof sub, "%s.<dictionary>", path);
    QV_TRY(validate_rec(arr->dictionary, level, sub, depth + 1, err));
  }
  if (level < QV_VALIDATE_FULL) return QV_OK;
  if (arr->null_count >= 0 && qv_type_has_validity(t) && arr->buffers[0].data) {
    int64_t real = arr->length - (int64_t)qv_bits_count_set(arr->buffers[0].data,
                                                            (size_t)arr->offset,
                                                            (size_t)arr->length);
    if (real != arr->null_count)
      return fail(err, QV_E_CORRUPT, path, "null count %lld but the bitmap has %lld nulls",
                  (long long)arr->null_count, (long long)real);
  }
  switch (t->id) {
    case QV_TYPE_BINARY: case QV_TYPE_LARGE_BINARY:
      return full_offsets(arr, t->id == QV_TYPE_LARGE_BINARY, (int64_t)arr->buffers[2].len,
                          "data", path, err);
    case QV_TYPE_STRING: case QV_TYPE_LARGE_STRING: {
      bool large = t->id == QV_TYPE_LARGE_STRING;
      QV_TRY(full_offsets(arr, large, (int64_t)arr->buffers[2].len, "data", path, err));
      return full_utf8_offsets(arr, large, path, err);
    }
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_MAP:
      return full_offsets(arr, t->id == QV_TYPE_LARGE_LIST, arr->children[0]->length, "child",
                          path, err);
    case QV_TYPE_LIST_VIEW: case QV_TYPE_LARGE_LIST_VIEW: return full_list_views(arr, path, err);
    case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW: return full_views(arr, path, err);
    case QV_TYPE_DICTIONARY: return full_dictionary(arr, path, err);
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION: return full_union(arr, path, err);
    case QV_TYPE_RUN_END_ENCODED: return full_ree(arr, path, err);
    default: return QV_OK;
  }
}

qv_status qv__array_validate(const qv_array *arr, qv_validate_level level, const char *root,
                             qv_error *err) {
  return validate_rec(arr, level, root, 0, err);
}

qv_status qv_array_validate(const qv_array *arr, qv_validate_level level, qv_error *err) {
  return validate_rec(arr, level, "array", 0, err);
}

qv_status qv_array_validate_named(const qv_array *arr, qv_validate_level level,
                                  const char *root, qv_error *err) {
  return validate_rec(arr, level, root ? root : "array", 0, err);
}
