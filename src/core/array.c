/* array.c — qv_array: construction from buffers, lifetime, O(1) slicing, the lazily cached
 * null count, typed element access, and logical equality. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "array_int.h"

/* ---- construction ------------------------------------------------------------------------ */

static size_t array_block_size(int32_t n_buffers, int32_t n_children) {
  return sizeof(qv_array) + (size_t)n_buffers * sizeof(qv_buffer) +
         (size_t)n_children * sizeof(qv_array *);
}

static void release_parts(int32_t n_buffers, qv_buffer *buffers, int32_t n_children,
                          qv_array **children, qv_array *dictionary) {
  for (int32_t i = 0; buffers && i < n_buffers; i++) qv_buffer_unref(&buffers[i]);
  for (int32_t i = 0; children && i < n_children; i++) {
    qv_array_unref(children[i]);
    children[i] = NULL;
  }
  qv_array_unref(dictionary);
}

qv_status qv_array_new(const qv_type *type, int64_t length, int64_t offset, int64_t null_count,
                       int32_t n_buffers, qv_buffer *buffers, int32_t n_children,
                       qv_array **children, qv_array *dictionary, const qv_allocator *a,
                       qv_array **out, qv_error *err) {
  qv_status s = QV_OK;
  int64_t end;
  if (!type) s = qv_error_set(err, QV_E_INVALID, "array: NULL type");
  else if (n_buffers < 0 || n_children < 0 || (n_buffers > 0 && !buffers) ||
           (n_children > 0 && !children))
    s = qv_error_set(err, QV_E_INVALID, "array: invalid buffer/child counts %d/%d",
                     (int)n_buffers, (int)n_children);
  else if (length < 0 || offset < 0 || qv__add_overflow_i64(length, offset, &end))
    s = qv_error_set(err, QV_E_INVALID, "array: invalid length %lld / offset %lld",
                     (long long)length, (long long)offset);
  else if (null_count < -1 || null_count > length)
    s = qv_error_set(err, QV_E_INVALID, "array: null count %lld outside [-1, %lld]",
                     (long long)null_count, (long long)length);
  for (int32_t i = 0; s == QV_OK && i < n_children; i++)
    if (!children[i]) s = qv_error_set(err, QV_E_INVALID, "array: child %d is NULL", (int)i);
  if (s < 0) {
    release_parts(n_buffers, buffers, n_children, children, dictionary);
    return s;
  }
  if (!a) a = qv_allocator_default();
  size_t sz = array_block_size(n_buffers, n_children);
  qv_array *arr = qv_mem_alloc(a, sz, _Alignof(qv_array));
  if (!arr) {
    release_parts(n_buffers, buffers, n_children, children, dictionary);
    return qv__nomem(err, "array", sz);
  }
  memset(arr, 0, sz);
  arr->type = qv_type_ref(type);
  arr->length = length;
  arr->offset = offset;
  arr->null_count = null_count;
  arr->n_buffers = n_buffers;
  arr->buffers = n_buffers ? (qv_buffer *)(void *)(arr + 1) : NULL;
  arr->n_children = n_children;
  arr->children =
      n_children ? (qv_array **)(void *)((char *)(arr + 1) + (size_t)n_buffers * sizeof(qv_buffer))
                 : NULL;
  arr->alloc = *a;
  arr->refcount_ = 1;
  for (int32_t i = 0; i < n_buffers; i++) qv_buffer_move(&buffers[i], &arr->buffers[i]);
  for (int32_t i = 0; i < n_children; i++) {
    arr->children[i] = children[i];
    children[i] = NULL;
  }
  arr->dictionary = dictionary;
  s = qv__array_check_node(arr, "array", err);
  if (s < 0) {
    qv_array_unref(arr);
    return s;
  }
  *out = arr;
  return QV_OK;
}

qv_array *qv_array_ref(const qv_array *arr) {
  qv_array *m = (qv_array *)(uintptr_t)arr;
  if (m) __atomic_fetch_add(&m->refcount_, 1, __ATOMIC_RELAXED);
  return m;
}

void qv_array_unref(qv_array *arr) {
  if (!arr) return;
  if (__atomic_fetch_sub(&arr->refcount_, 1, __ATOMIC_ACQ_REL) != 1) return;
  qv_allocator a = arr->alloc;
  release_parts(arr->n_buffers, arr->buffers, arr->n_children, arr->children, arr->dictionary);
  qv_type_unref(arr->type);
  qv_mem_free(&a, arr, array_block_size(arr->n_buffers, arr->n_children), _Alignof(qv_array));
}

qv_status qv_array_slice(const qv_array *arr, int64_t off, int64_t len, qv_array **out,
                         qv_error *err) {
  if (off < 0 || len < 0 || off > arr->length || len > arr->length - off)
    return qv_error_set(err, QV_E_RANGE, "slice [%lld, +%lld) is outside the array's %lld elements",
                        (long long)off, (long long)len, (long long)arr->length);
  size_t sz = array_block_size(arr->n_buffers, arr->n_children);
  qv_array *s = qv_mem_alloc(&arr->alloc, sz, _Alignof(qv_array));
  if (!s) return qv__nomem(err, "array slice", sz);
  memset(s, 0, sz);
  s->type = qv_type_ref(arr->type);
  s->length = len;
  s->offset = arr->offset + off;
  int64_t nc = __atomic_load_n(&arr->null_count, __ATOMIC_RELAXED);
  s->null_count = (nc == 0 || len == 0) ? 0 : (nc == arr->length ? len : -1);
  s->n_buffers = arr->n_buffers;
  s->buffers = arr->n_buffers ? (qv_buffer *)(void *)(s + 1) : NULL;
  s->n_children = arr->n_children;
  s->children = arr->n_children ? (qv_array **)(void *)((char *)(s + 1) +
                                                        (size_t)arr->n_buffers * sizeof(qv_buffer))
                                : NULL;
  s->alloc = arr->alloc;
  s->refcount_ = 1;
  for (int32_t i = 0; i < arr->n_buffers; i++) qv_buffer_ref(&arr->buffers[i], &s->buffers[i]);
  for (int32_t i = 0; i < arr->n_children; i++) s->children[i] = qv_array_ref(arr->children[i]);
  s->dictionary = qv_array_ref(arr->dictionary);
  *out = s;
  return QV_OK;
}

qv_array *qv_array_child(const qv_array *arr, int32_t i) {
  return (i >= 0 && i < arr->n_children) ? arr->children[i] : NULL;
}

int64_t qv_array_null_count(const qv_array *arr) {
  int64_t nc = __atomic_load_n(&arr->null_count, __ATOMIC_RELAXED);
  if (nc >= 0) return nc;
  if (arr->type->id == QV_TYPE_NA) {
    nc = arr->length;
  } else if (!qv_type_has_validity(arr->type) || arr->n_buffers < 1 || !arr->buffers[0].data) {
    nc = 0;
  } else {
    nc = arr->length - (int64_t)qv_bits_count_set(arr->buffers[0].data, (size_t)arr->offset,
                                                  (size_t)arr->length);
  }
  __atomic_store_n(&((qv_array *)(uintptr_t)arr)->null_count, nc, __ATOMIC_RELAXED);
  return nc;
}

/* ---- element access ---------------------------------------------------------------------- */

static inline int64_t load_int(const uint8_t *p, qv_type_id id) {
  switch (id) {
    case QV_TYPE_INT8: return (int8_t)p[0];
    case QV_TYPE_UINT8: return p[0];
    case QV_TYPE_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
    case QV_TYPE_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case QV_TYPE_INT32: case QV_TYPE_DATE32: case QV_TYPE_TIME32: case QV_TYPE_INTERVAL_MONTHS:
    case QV_TYPE_DECIMAL32: { int32_t v; memcpy(&v, p, 4); return v; }
    case QV_TYPE_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { int64_t v; memcpy(&v, p, 8); return v; }
  }
}

static inline bool has_bit(const qv_buffer *b, int64_t i) {
  return qv_bit_get(b->data, (size_t)i);
}

int64_t qv_array_dict_index(const qv_array *arr, int64_t i) {
  assert(arr->type->id == QV_TYPE_DICTIONARY);
  const qv_type *it = arr->type->index_type;
  int32_t w = qv_type_bit_width(it) / 8;
  return load_int(arr->buffers[1].data + (size_t)(arr->offset + i) * (size_t)w, it->id);
}

int8_t qv_array_union_type_code(const qv_array *arr, int64_t i) {
  return (int8_t)arr->buffers[0].data[arr->offset + i];
}

int32_t qv_array_union_child_index(const qv_array *arr, int64_t i) {
  return qv_type_union_child_index(arr->type, qv_array_union_type_code(arr, i));
}

int64_t qv_array_union_value_index(const qv_array *arr, int64_t i) {
  if (arr->type->id == QV_TYPE_DENSE_UNION) {
    int32_t v;
    memcpy(&v, arr->buffers[1].data + (size_t)(arr->offset + i) * 4, 4);
    return v;
  }
  return arr->offset + i;
}

int64_t qv_array_ree_physical_index(const qv_array *arr, int64_t i) {
  const qv_array *re = arr->children[0];
  qv_type_id rid = re->type->id;
  int32_t w = rid == QV_TYPE_INT16 ? 2 : rid == QV_TYPE_INT32 ? 4 : 8;
  const uint8_t *base = re->buffers[1].data + (size_t)re->offset * (size_t)w;
  int64_t target = arr->offset + i, lo = 0, hi = re->length; /* first j: run_end[j] > target */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (load_int(base + (size_t)mid * (size_t)w, rid) > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

bool qv_array_is_null(const qv_array *arr, int64_t i) {
  assert(i >= 0 && i < arr->length);
  switch (arr->type->id) {
    case QV_TYPE_NA: return true;
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION: {
      int32_t c = qv_array_union_child_index(arr, i);
      if (c < 0) return true;
      return qv_array_is_null(arr->children[c], qv_array_union_value_index(arr, i));
    }
    case QV_TYPE_RUN_END_ENCODED:
      return qv_array_is_null(arr->children[1], qv_array_ree_physical_index(arr, i));
    case QV_TYPE_DICTIONARY:
      if (arr->buffers[0].data && !has_bit(&arr->buffers[0], arr->offset + i)) return true;
      return qv_array_is_null(arr->dictionary, qv_array_dict_index(arr, i));
    default:
      return arr->buffers[0].data && !has_bit(&arr->buffers[0], arr->offset + i);
  }
}

bool qv_array_is_valid(const qv_array *arr, int64_t i) { return !qv_array_is_null(arr, i); }

const void *qv_array_value_ptr(const qv_array *arr, int64_t i) {
  int32_t w = qv__fixed_byte_width(arr->type);
  if (w == 0 && arr->type->id != QV_TYPE_FIXED_SIZE_BINARY) return NULL;
  return arr->buffers[1].data + (size_t)(arr->offset + i) * (size_t)w;
}

int64_t qv_array_get_i64(const qv_array *arr, int64_t i) {
  qv_type_id id = arr->type->id;
  if (id == QV_TYPE_BOOL) return qv_array_get_bool(arr, i);
  if (id == QV_TYPE_DICTIONARY) return qv_array_dict_index(arr, i);
  int32_t w = qv__fixed_byte_width(arr->type);
  assert(w > 0 && w <= 8);
  return load_int(arr->buffers[1].data + (size_t)(arr->offset + i) * (size_t)w, id);
}

uint64_t qv_array_get_u64(const qv_array *arr, int64_t i) {
  return (uint64_t)qv_array_get_i64(arr, i);
}

double qv_array_get_f64(const qv_array *arr, int64_t i) {
  const uint8_t *p = arr->buffers[1].data;
  size_t j = (size_t)(arr->offset + i);
  switch (arr->type->id) {
    case QV_TYPE_HALF_FLOAT: { uint16_t h; memcpy(&h, p + j * 2, 2); return qv__half_to_double(h); }
    case QV_TYPE_FLOAT: { float f; memcpy(&f, p + j * 4, 4); return f; }
    case QV_TYPE_DOUBLE: { double d; memcpy(&d, p + j * 8, 8); return d; }
    case QV_TYPE_UINT64: return (double)qv_array_get_u64(arr, i);
    default: return (double)qv_array_get_i64(arr, i);
  }
}

bool qv_array_get_bool(const qv_array *arr, int64_t i) {
  assert(arr->type->id == QV_TYPE_BOOL);
  return qv_bit_get(arr->buffers[1].data, (size_t)(arr->offset + i));
}

/* The data buffer's bytes; a non-NULL pointer even for an empty (owner-less) buffer, so that
 * "start + 0" stays defined for arrays whose values are all empty. */
static const uint8_t *data_or_empty(const qv_buffer *b) {
  static const uint8_t empty[1];
  return b->data ? b->data : empty;
}

void qv_array_get_bytes(const qv_array *arr, int64_t i, const uint8_t **ptr, size_t *len) {
  size_t j = (size_t)(arr->offset + i);
  switch (arr->type->id) {
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: {
      bool large = arr->type->id == QV_TYPE_LARGE_BINARY || arr->type->id == QV_TYPE_LARGE_STRING;
      int64_t o0 = qv__offset_at(arr->buffers[1].data, (int64_t)j, large);
      int64_t o1 = qv__offset_at(arr->buffers[1].data, (int64_t)j + 1, large);
      *ptr = data_or_empty(&arr->buffers[2]) + o0;
      *len = (size_t)(o1 - o0);
      return;
    }
    case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW: {
      const uint8_t *v = arr->buffers[1].data + j * 16;
      int32_t n, bi, off;
      memcpy(&n, v, 4);
      *len = (size_t)n;
      if (n <= 12) {
        *ptr = v + 4;
      } else {
        memcpy(&bi, v + 8, 4);
        memcpy(&off, v + 12, 4);
        *ptr = arr->buffers[2 + bi].data + off;
      }
      return;
    }
    case QV_TYPE_FIXED_SIZE_BINARY: {
      size_t w = (size_t)arr->type->byte_width;
      *ptr = arr->buffers[1].data ? arr->buffers[1].data + j * w : (const uint8_t *)"";
      *len = w;
      return;
    }
    default:
      assert(0 && "qv_array_get_bytes: not a binary type");
      *ptr = NULL;
      *len = 0;
  }
}

void qv_array_list_range(const qv_array *arr, int64_t i, int64_t *start, int64_t *len) {
  size_t j = (size_t)(arr->offset + i);
  switch (arr->type->id) {
    case QV_TYPE_LIST: case QV_TYPE_MAP: case QV_TYPE_LARGE_LIST: {
      bool large = arr->type->id == QV_TYPE_LARGE_LIST;
      *start = qv__offset_at(arr->buffers[1].data, (int64_t)j, large);
      *len = qv__offset_at(arr->buffers[1].data, (int64_t)j + 1, large) - *start;
      return;
    }
    case QV_TYPE_LIST_VIEW: {
      int32_t o, n;
      memcpy(&o, arr->buffers[1].data + j * 4, 4);
      memcpy(&n, arr->buffers[2].data + j * 4, 4);
      *start = o;
      *len = n;
      return;
    }
    case QV_TYPE_LARGE_LIST_VIEW:
      memcpy(start, arr->buffers[1].data + j * 8, 8);
      memcpy(len, arr->buffers[2].data + j * 8, 8);
      return;
    case QV_TYPE_FIXED_SIZE_LIST:
      *start = (int64_t)j * arr->type->list_size;
      *len = arr->type->list_size;
      return;
    default:
      assert(0 && "qv_array_list_range: not a list type");
      *start = *len = 0;
  }
}

/* ---- equality ---------------------------------------------------------------------------- */

static bool float_eq(double x, double y) {
  if (isnan(x) && isnan(y)) return true;
  return memcmp(&x, &y, sizeof x) == 0 || (x == y && signbit(x) == signbit(y));
}

bool qv__elem_equal(const qv_array *a, int64_t i, const qv_array *b, int64_t j) {
  bool na = qv_array_is_null(a, i), nb = qv_array_is_null(b, j);
  if (na || nb) return na == nb;
  const qv_type *t = a->type;
  switch (t->id) {
    case QV_TYPE_NA: return true;
    case QV_TYPE_BOOL: return qv_array_get_bool(a, i) == qv_array_get_bool(b, j);
    case QV_TYPE_HALF_FLOAT: case QV_TYPE_FLOAT: case QV_TYPE_DOUBLE:
      return float_eq(qv_array_get_f64(a, i), qv_array_get_f64(b, j));
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW:
    case QV_TYPE_FIXED_SIZE_BINARY: {
      const uint8_t *pa, *pb;
      size_t la, lb;
      qv_array_get_bytes(a, i, &pa, &la);
      qv_array_get_bytes(b, j, &pb, &lb);
      return la == lb && (la == 0 || memcmp(pa, pb, la) == 0);
    }
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_LIST_VIEW:
    case QV_TYPE_LARGE_LIST_VIEW: case QV_TYPE_FIXED_SIZE_LIST: case QV_TYPE_MAP: {
      int64_t sa, la, sb, lb;
      qv_array_list_range(a, i, &sa, &la);
      qv_array_list_range(b, j, &sb, &lb);
      if (la != lb) return false;
      for (int64_t k = 0; k < la; k++)
        if (!qv__elem_equal(a->children[0], sa + k, b->children[0], sb + k)) return false;
      return true;
    }
    case QV_TYPE_STRUCT:
      for (int32_t c = 0; c < a->n_children; c++)
        if (!qv__elem_equal(a->children[c], a->offset + i, b->children[c], b->offset + j))
          return false;
      return true;
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION: {
      if (qv_array_union_type_code(a, i) != qv_array_union_type_code(b, j)) return false;
      int32_t c = qv_array_union_child_index(a, i);
      return qv__elem_equal(a->children[c], qv_array_union_value_index(a, i), b->children[c],
                            qv_array_union_value_index(b, j));
    }
    case QV_TYPE_DICTIONARY:
      return qv__elem_equal(a->dictionary, qv_array_dict_index(a, i), b->dictionary,
                            qv_array_dict_index(b, j));
    case QV_TYPE_RUN_END_ENCODED:
      return qv__elem_equal(a->children[1], qv_array_ree_physical_index(a, i), b->children[1],
                            qv_array_ree_physical_index(b, j));
    default: {
      int32_t w = qv__fixed_byte_width(t);
      return memcmp(qv_array_value_ptr(a, i), qv_array_value_ptr(b, j), (size_t)w) == 0;
    }
  }
}

bool qv__array_equal_prefixed(const qv_array *a, const qv_array *b, const char *diff_prefix,
                              int64_t row_base, qv_error *diff) {
  if (!qv_type_equal(a->type, b->type)) {
    if (diff) {
      char ta[128], tb[128];
      qv_type_to_string(a->type, ta, sizeof ta);
      qv_type_to_string(b->type, tb, sizeof tb);
      qv_error_set(diff, QV_E_INVALID, "%stype %s != %s", diff_prefix, ta, tb);
    }
    return false;
  }
  if (a->length != b->length) {
    if (diff)
      qv_error_set(diff, QV_E_INVALID, "%slength %lld != %lld", diff_prefix, (long long)a->length,
                   (long long)b->length);
    return false;
  }
  int32_t w = qv__fixed_byte_width(a->type);
  bool flat_fast = w > 0 && !qv_type_id_is_floating(a->type->id) &&
                   qv_array_null_count(a) == 0 && qv_array_null_count(b) == 0;
  if (flat_fast && a->length > 0 &&
      memcmp(qv_array_value_ptr(a, 0), qv_array_value_ptr(b, 0), (size_t)a->length * (size_t)w) ==
          0)
    return true;
  for (int64_t i = 0; i < a->length; i++) {
    if (!qv__elem_equal(a, i, b, i)) {
      if (diff) {
        char va[160], vb[160];
        qv__sbuf sa, sb;
        qv__sbuf_init(&sa, va, sizeof va);
        qv__sbuf_init(&sb, vb, sizeof vb);
        qv__value_render(a, i, &sa, 10);
        qv__value_render(b, i, &sb, 10);
        qv_error_set(diff, QV_E_INVALID, "%srow %lld: %s != %s", diff_prefix,
                     (long long)(i + row_base), va, vb);
      }
      return false;
    }
  }
  return true;
}

bool qv_array_equal(const qv_array *a, const qv_array *b, qv_error *diff) {
  if (a == b) return true;
  if (!a || !b) {
    if (diff) qv_error_set(diff, QV_E_INVALID, "one array is NULL");
    return false;
  }
  return qv__array_equal_prefixed(a, b, "", 0, diff);
}
