/* builder.c — qv_builder: creation for every type, flat appends (nulls, typed values, bulk),
 * nested appends (lists, maps, structs, unions, run-end encoded) and finishing into arrays. */
#include <string.h>

#include "builder_int.h"

#define VIEW_BLOCK (1u << 20) /* variadic data block size for view builders */

static qv_status broken_err(const qv_builder *b, qv_error *err) {
  return qv_error_set(err, QV_E_STATE, "%s builder: unusable after an earlier failure; reset it",
                      qv_type_id_name(b->type->id));
}

#define CHECK_USABLE(b)                          \
  do {                                           \
    if ((b)->broken) return broken_err(b, err);  \
  } while (0)

static qv_status type_err(const qv_builder *b, const char *call, qv_error *err) {
  char t[160];
  qv_type_to_string(b->type, t, sizeof t);
  return qv_error_set(err, QV_E_TYPE, "%s is not supported by a builder of type %s", call, t);
}

/* ---- creation ---------------------------------------------------------------------------- */

static qv_status builder_new(const qv_type *type, const qv_allocator *a, int depth,
                             qv_builder **out, qv_error *err);

static qv_status add_child(qv_builder *b, int32_t i, const qv_type *t, int depth, qv_error *err) {
  return builder_new(t, &b->alloc, depth + 1, &b->children[i], err);
}

static qv_status builder_new(const qv_type *type, const qv_allocator *a, int depth,
                             qv_builder **out, qv_error *err) {
  if (!type) return qv_error_set(err, QV_E_INVALID, "builder: NULL type");
  if (depth > QV_VALIDATE_MAX_DEPTH)
    return qv_error_set(err, QV_E_LIMIT, "builder: type nesting deeper than %d",
                        QV_VALIDATE_MAX_DEPTH);
  qv_builder *b = qv_mem_alloc(a, sizeof *b, _Alignof(qv_builder));
  if (!b) return qv__nomem(err, "builder", sizeof *b);
  memset(b, 0, sizeof *b);
  b->alloc = *a;
  b->type = qv_type_ref(type);
  qv_mbitmap_init(&b->validity, a);
  qv_mbitmap_init(&b->bits, a);
  qv_mbuffer_init(&b->data, a);
  qv_mbuffer_init(&b->offsets, a);
  qv_mbuffer_init(&b->sizes, a);
  qv_mbuffer_init(&b->values, a);
  qv_status s = QV_OK;
  int32_t nc = 0;
  switch (type->id) {
    case QV_TYPE_NA: b->kind = BK_NA; break;
    case QV_TYPE_BOOL: b->kind = BK_BOOL; break;
    case QV_TYPE_BINARY: case QV_TYPE_STRING: b->kind = BK_BINARY; break;
    case QV_TYPE_LARGE_BINARY: case QV_TYPE_LARGE_STRING:
      b->kind = BK_BINARY;
      b->large = true;
      break;
    case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW: b->kind = BK_VIEW; break;
    case QV_TYPE_LIST: b->kind = BK_LIST; nc = 1; break;
    case QV_TYPE_LARGE_LIST: b->kind = BK_LIST; b->large = true; nc = 1; break;
    case QV_TYPE_LIST_VIEW: b->kind = BK_LISTVIEW; nc = 1; break;
    case QV_TYPE_LARGE_LIST_VIEW: b->kind = BK_LISTVIEW; b->large = true; nc = 1; break;
    case QV_TYPE_FIXED_SIZE_LIST: b->kind = BK_FSL; nc = 1; break;
    case QV_TYPE_MAP: b->kind = BK_MAP; nc = 2; break;
    case QV_TYPE_STRUCT: b->kind = BK_STRUCT; nc = type->n_children; break;
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION:
      b->kind = BK_UNION;
      nc = type->n_children;
      break;
    case QV_TYPE_DICTIONARY: b->kind = BK_DICT; b->width = qv_type_bit_width(type) / 8; break;
    case QV_TYPE_RUN_END_ENCODED:
      b->kind = BK_REE;
      nc = 2;
      b->width = qv_type_bit_width(type->children[0]->type) / 8;
      break;
    default:
      b->kind = BK_FIXED;
      b->width = qv__fixed_byte_width(type);
      break;
  }
  if (nc > 0) {
    b->children = qv_mem_calloc(a, (size_t)nc * sizeof *b->children, _Alignof(qv_builder *));
    if (!b->children) {
      s = qv__nomem(err, "child builders", (size_t)nc * sizeof *b->children);
      goto fail;
    }
    b->n_children = nc;
  }
  if (b->kind == BK_MAP) {
    const qv_type *et = type->children[0]->type;
    QV_TRY_GOTO(s, add_child(b, 0, et->children[0]->type, depth, err), fail);
    QV_TRY_GOTO(s, add_child(b, 1, et->children[1]->type, depth, err), fail);
  } else if (b->kind == BK_REE) {
    QV_TRY_GOTO(s, add_child(b, 1, type->children[1]->type, depth, err), fail);
  } else {
    for (int32_t i = 0; i < nc; i++)
      QV_TRY_GOTO(s, add_child(b, i, type->children[i]->type, depth, err), fail);
  }
  if (type->id == QV_TYPE_DENSE_UNION && nc > 0) {
    b->dense_counts = qv_mem_calloc(a, (size_t)nc * sizeof(int64_t), _Alignof(int64_t));
    if (!b->dense_counts) {
      s = qv__nomem(err, "dense union counters", (size_t)nc * sizeof(int64_t));
      goto fail;
    }
  }
  if (b->kind == BK_DICT) QV_TRY_GOTO(s, qv__dict_new(b, err), fail);
  *out = b;
  return QV_OK;
fail:
  qv_builder_free(b);
  return s;
}

qv_status qv_builder_new(const qv_type *type, const qv_allocator *a, qv_builder **out,
                         qv_error *err) {
  if (!a) a = qv_allocator_default();
  return builder_new(type, a, 0, out, err);
}

static void clear_own(qv_builder *b) {
  qv_mbitmap_reset(&b->validity);
  qv_mbitmap_reset(&b->bits);
  qv_mbuffer_reset(&b->data);
  qv_mbuffer_reset(&b->offsets);
  qv_mbuffer_reset(&b->sizes);
  qv_mbuffer_reset(&b->values);
  for (int32_t i = 0; i < b->n_var; i++) qv_buffer_unref(&b->var_bufs[i]);
  if (b->var_bufs)
    qv_mem_free(&b->alloc, b->var_bufs, (size_t)b->cap_var * sizeof(qv_buffer),
                _Alignof(qv_buffer));
  b->var_bufs = NULL;
  b->n_var = b->cap_var = 0;
  if (b->dense_counts) memset(b->dense_counts, 0, (size_t)b->n_children * sizeof(int64_t));
  b->length = 0;
  b->null_count = 0;
  b->has_validity = false;
  b->mark = 0;
  b->broken = false;
}

void qv_builder_reset(qv_builder *b) {
  if (!b) return;
  clear_own(b);
  for (int32_t i = 0; i < b->n_children; i++)
    if (b->children[i]) qv_builder_reset(b->children[i]);
  if (b->kind == BK_DICT) qv__dict_reset(b);
}

void qv_builder_free(qv_builder *b) {
  if (!b) return;
  clear_own(b);
  for (int32_t i = 0; i < b->n_children; i++) qv_builder_free(b->children[i]);
  if (b->children)
    qv_mem_free(&b->alloc, b->children, (size_t)b->n_children * sizeof *b->children,
                _Alignof(qv_builder *));
  if (b->dense_counts)
    qv_mem_free(&b->alloc, b->dense_counts, (size_t)b->n_children * sizeof(int64_t),
                _Alignof(int64_t));
  if (b->kind == BK_DICT) qv__dict_free(b);
  qv_type_unref(b->type);
  qv_allocator a = b->alloc;
  qv_mem_free(&a, b, sizeof *b, _Alignof(qv_builder));
}

const qv_type *qv_builder_type(const qv_builder *b) { return b->type; }
int64_t qv_builder_length(const qv_builder *b) { return b->length; }
int64_t qv_builder_dict_size(const qv_builder *b) {
  return b->kind == BK_DICT ? qv__dict_size(b) : 0;
}

qv_builder *qv_builder_child(qv_builder *b, int32_t i) {
  return (i >= 0 && i < b->n_children) ? b->children[i] : NULL;
}
int32_t qv_builder_num_children(const qv_builder *b) { return b->n_children; }

qv_status qv_builder_reserve(qv_builder *b, int64_t additional, qv_error *err) {
  CHECK_USABLE(b);
  if (additional < 0) return qv_error_set(err, QV_E_INVALID, "negative reserve");
  size_t n = (size_t)additional, bytes;
  switch (b->kind) {
    case BK_FIXED: case BK_DICT:
      if (qv__mul_overflow(n, (size_t)b->width, &bytes))
        return qv_error_set(err, QV_E_OVERFLOW, "reserve of %lld values overflows",
                            (long long)additional);
      return qv_mbuffer_reserve(&b->data, bytes, err);
    case BK_BOOL: return qv_mbitmap_reserve(&b->bits, n, err);
    case BK_BINARY: case BK_LIST:
      if (qv__mul_overflow(n + 1, b->large ? 8u : 4u, &bytes))
        return qv_error_set(err, QV_E_OVERFLOW, "reserve overflows");
      return qv_mbuffer_reserve(&b->offsets, bytes, err);
    case BK_VIEW:
      if (qv__mul_overflow(n, 16, &bytes))
        return qv_error_set(err, QV_E_OVERFLOW, "reserve overflows");
      return qv_mbuffer_reserve(&b->data, bytes, err);
    default: return QV_OK;
  }
}

/* ---- validity ---------------------------------------------------------------------------- */

qv_status qv__builder_validity(qv_builder *b, bool valid, int64_t n, qv_error *err) {
  if (n == 0) return QV_OK;
  if (!b->has_validity) {
    if (valid) return QV_OK;
    QV_TRY(qv_mbitmap_reserve(&b->validity, (size_t)(b->length + n), err));
    QV_TRY(qv_mbitmap_extend_const(&b->validity, true, (size_t)b->length, err));
    b->has_validity = true;
  } else {
    QV_TRY(qv_mbitmap_reserve(&b->validity, (size_t)n, err));
  }
  QV_TRY(qv_mbitmap_extend_const(&b->validity, valid, (size_t)n, err));
  if (!valid) b->null_count += n;
  return QV_OK;
}

/* ---- encoding typed input ---------------------------------------------------------------- */

static qv_status range_err(const qv_type *t, const char *call, long long v, qv_error *err) {
  return qv_error_set(err, QV_E_RANGE, "%s: value %lld is out of range for %s", call, v,
                      qv_type_id_name(t->id));
}

qv_status qv__encode_i64(const qv_type *t, int64_t v, uint8_t out[32], int32_t *w,
                         const char *call, qv_error *err) {
  int64_t lo, hi;
  switch (t->id) {
    case QV_TYPE_INT8: lo = INT8_MIN; hi = INT8_MAX; *w = 1; break;
    case QV_TYPE_INT16: lo = INT16_MIN; hi = INT16_MAX; *w = 2; break;
    case QV_TYPE_INT32: case QV_TYPE_DATE32: case QV_TYPE_TIME32: case QV_TYPE_INTERVAL_MONTHS:
    case QV_TYPE_DECIMAL32:
      lo = INT32_MIN; hi = INT32_MAX; *w = 4;
      break;
    case QV_TYPE_INT64: case QV_TYPE_DATE64: case QV_TYPE_TIME64: case QV_TYPE_TIMESTAMP:
    case QV_TYPE_DURATION: case QV_TYPE_DECIMAL64:
      lo = INT64_MIN; hi = INT64_MAX; *w = 8;
      break;
    case QV_TYPE_UINT8: lo = 0; hi = UINT8_MAX; *w = 1; break;
    case QV_TYPE_UINT16: lo = 0; hi = UINT16_MAX; *w = 2; break;
    case QV_TYPE_UINT32: lo = 0; hi = UINT32_MAX; *w = 4; break;
    case QV_TYPE_UINT64: lo = 0; hi = INT64_MAX; *w = 8; break;
    case QV_TYPE_DECIMAL128: case QV_TYPE_DECIMAL256: {
      int32_t n = t->bit_width / 8;
      qv__store_u64le(out, (uint64_t)v);
      memset(out + 8, v < 0 ? 0xff : 0, (size_t)n - 8);
      *w = n;
      return QV_OK;
    }
    default: return qv_error_set(err, QV_E_TYPE, "%s is not supported for type %s", call,
                                 qv_type_id_name(t->id));
  }
  if (v < lo || v > hi) return range_err(t, call, (long long)v, err);
  qv__store_u64le(out, (uint64_t)v);
  return QV_OK;
}

qv_status qv__encode_u64(const qv_type *t, uint64_t v, uint8_t out[32], int32_t *w,
                         const char *call, qv_error *err) {
  if (t->id == QV_TYPE_UINT64) {
    qv__store_u64le(out, v);
    *w = 8;
    return QV_OK;
  }
  if (v > (uint64_t)INT64_MAX) {
    if (!qv_type_id_is_integer(t->id) && !qv_type_id_is_temporal(t->id) &&
        !qv_type_id_is_decimal(t->id))
      return qv_error_set(err, QV_E_TYPE, "%s is not supported for type %s", call,
                          qv_type_id_name(t->id));
    return qv_error_set(err, QV_E_RANGE, "%s: value %llu is out of range for %s", call,
                        (unsigned long long)v, qv_type_id_name(t->id));
  }
  return qv__encode_i64(t, (int64_t)v, out, w, call, err);
}

qv_status qv__encode_f64(const qv_type *t, double v, uint8_t out[32], int32_t *w,
                         const char *call, qv_error *err) {
  switch (t->id) {
    case QV_TYPE_HALF_FLOAT: {
      uint16_t h = qv__double_to_half(v);
      memcpy(out, &h, 2);
      *w = 2;
      return QV_OK;
    }
    case QV_TYPE_FLOAT: {
      float f = (float)v;
      memcpy(out, &f, 4);
      *w = 4;
      return QV_OK;
    }
    case QV_TYPE_DOUBLE:
      memcpy(out, &v, 8);
      *w = 8;
      return QV_OK;
    default:
      return qv_error_set(err, QV_E_TYPE, "%s is not supported for type %s", call,
                          qv_type_id_name(t->id));
  }
}

/* ---- flat appends ------------------------------------------------------------------------ */

qv_status qv__builder_fixed(qv_builder *b, const void *v, qv_error *err) {
  size_t w = (size_t)b->width;
  if (b->data.cap - b->data.len < w || !b->data.data) /* grow by doubling */
    QV_TRY(qv_mbuffer_reserve(&b->data, w > b->data.len ? w : b->data.len, err));
  if (w) memcpy(b->data.data + b->data.len, v, w);
  qv_status s = qv__builder_validity(b, true, 1, err);
  if (s < 0) {
    if (w) memset(b->data.data + b->data.len, 0, w);
    return s;
  }
  b->data.len += w;
  b->length++;
  return QV_OK;
}

static qv_status ensure_first_offset(qv_builder *b, qv_error *err) {
  if (b->offsets.len) return QV_OK;
  return qv_mbuffer_append_zeros(&b->offsets, b->large ? 8 : 4, err);
}

static int64_t last_offset(const qv_builder *b) {
  if (b->offsets.len == 0) return 0;
  if (b->large) {
    int64_t v;
    memcpy(&v, b->offsets.data + b->offsets.len - 8, 8);
    return v;
  }
  int32_t v;
  memcpy(&v, b->offsets.data + b->offsets.len - 4, 4);
  return v;
}

/* Appends one offset value (no validity, no length change). */
static qv_status push_offset(qv_builder *b, int64_t v, qv_error *err) {
  if (b->large) return qv_mbuffer_append(&b->offsets, &v, 8, err);
  if (v > INT32_MAX)
    return qv_error_set(err, QV_E_OVERFLOW, "%s builder: offset %lld exceeds 32 bits",
                        qv_type_id_name(b->type->id), (long long)v);
  int32_t x = (int32_t)v;
  return qv_mbuffer_append(&b->offsets, &x, 4, err);
}

static qv_status view_bytes(qv_builder *b, const void *data, size_t len, qv_error *err) {
  if (len > INT32_MAX)
    return qv_error_set(err, QV_E_OVERFLOW, "view value of %zu bytes exceeds 32 bits", len);
  uint8_t v[16] = {0};
  int32_t n = (int32_t)len;
  memcpy(v, &n, 4);
  QV_TRY(qv_mbuffer_reserve(&b->data, 16, err));
  if (len <= 12) {
    if (len) memcpy(v + 4, data, len);
  } else {
    if (b->values.len && b->values.len + len > VIEW_BLOCK) {
      /* close the current block */
      if (b->n_var == b->cap_var) {
        int32_t nc = b->cap_var ? b->cap_var * 2 : 4;
        qv_buffer *nb = qv_mem_realloc(&b->alloc, b->var_bufs, (size_t)b->cap_var * sizeof *nb,
                                       (size_t)nc * sizeof *nb, _Alignof(qv_buffer));
        if (!nb) return qv__nomem(err, "view data buffer list", (size_t)nc * sizeof *nb);
        b->var_bufs = nb;
        b->cap_var = nc;
      }
      QV_TRY(qv_mbuffer_finish(&b->values, &b->var_bufs[b->n_var], err));
      b->n_var++;
    }
    QV_TRY(qv_mbuffer_reserve(&b->values, len, err));
    int32_t bi = b->n_var, off = (int32_t)b->values.len;
    memcpy(v + 4, data, 4);
    memcpy(v + 8, &bi, 4);
    memcpy(v + 12, &off, 4);
    memcpy(b->values.data + b->values.len, data, len);
    b->values.len += len;
  }
  memcpy(b->data.data + b->data.len, v, 16);
  b->data.len += 16;
  return QV_OK;
}

qv_status qv__builder_bytes(qv_builder *b, const void *data, size_t len, qv_error *err) {
  size_t old_vals = b->values.len, old_offs = b->offsets.len, old_data = b->data.len;
  int32_t old_nvar = b->n_var;
  qv_status s;
  if (b->kind == BK_VIEW) {
    s = view_bytes(b, data, len, err);
  } else {
    QV_TRY(ensure_first_offset(b, err));
    int64_t end;
    if (qv__add_overflow_i64(last_offset(b), (int64_t)len, &end))
      return qv_error_set(err, QV_E_OVERFLOW, "binary data length overflows");
    if (!b->large && end > INT32_MAX)
      return qv_error_set(err, QV_E_OVERFLOW,
                          "%s builder: data would exceed 2 GiB (use the large_ type)",
                          qv_type_id_name(b->type->id));
    size_t ow = b->large ? 8 : 4;
    s = QV_OK;
    if (b->offsets.cap - b->offsets.len < ow) /* grow by doubling */
      s = qv_mbuffer_reserve(&b->offsets, b->offsets.len > ow ? b->offsets.len : ow, err);
    if (s == QV_OK && b->values.cap - b->values.len < len)
      s = qv_mbuffer_reserve(&b->values, b->values.len > len ? b->values.len : len, err);
    if (s == QV_OK) s = qv_mbuffer_append(&b->values, data, len, err);
    if (s == QV_OK) s = push_offset(b, end, err);
  }
  if (s == QV_OK) s = qv__builder_validity(b, true, 1, err);
  if (s < 0) {
    (void)qv_mbuffer_resize(&b->values, b->n_var == old_nvar ? old_vals : b->values.len, NULL);
    (void)qv_mbuffer_resize(&b->offsets, old_offs, NULL);
    (void)qv_mbuffer_resize(&b->data, old_data, NULL);
    if (b->n_var != old_nvar) b->broken = true; /* a block was closed: cannot undo */
    return s;
  }
  b->length++;
  return QV_OK;
}

/* Appends n nulls (valid = false) or n empty values (valid = true) to a flat builder. */
static qv_status flat_fill(qv_builder *b, int64_t n, bool valid, qv_error *err) {
  size_t old_data = b->data.len, old_offs = b->offsets.len;
  size_t old_bits = b->bits.len;
  qv_status s = QV_OK;
  switch (b->kind) {
    case BK_NA: b->length += n; b->null_count += n; return QV_OK;
    case BK_BOOL: s = qv_mbitmap_extend_const(&b->bits, false, (size_t)n, err); break;
    case BK_FIXED: case BK_DICT: {
      size_t bytes;
      if (qv__mul_overflow((size_t)n, (size_t)b->width, &bytes))
        return qv_error_set(err, QV_E_OVERFLOW, "append of %lld values overflows", (long long)n);
      s = qv_mbuffer_append_zeros(&b->data, bytes, err);
      break;
    }
    case BK_VIEW: {
      size_t bytes;
      if (qv__mul_overflow((size_t)n, 16, &bytes))
        return qv_error_set(err, QV_E_OVERFLOW, "append of %lld values overflows", (long long)n);
      s = qv_mbuffer_append_zeros(&b->data, bytes, err);
      break;
    }
    case BK_BINARY: case BK_LIST: {
      s = ensure_first_offset(b, err);
      int64_t last = last_offset(b);
      size_t w = b->large ? 8 : 4, bytes;
      if (s == QV_OK && qv__mul_overflow((size_t)n, w, &bytes))
        s = qv_error_set(err, QV_E_OVERFLOW, "append of %lld values overflows", (long long)n);
      if (s == QV_OK) s = qv_mbuffer_reserve(&b->offsets, bytes, err);
      for (int64_t k = 0; s == QV_OK && k < n; k++) s = push_offset(b, last, err);
      break;
    }
    case BK_LISTVIEW: {
      size_t w = b->large ? 8 : 4, bytes;
      if (qv__mul_overflow((size_t)n, w, &bytes))
        return qv_error_set(err, QV_E_OVERFLOW, "append of %lld values overflows", (long long)n);
      s = qv_mbuffer_reserve(&b->offsets, bytes, err);
      if (s == QV_OK) s = qv_mbuffer_reserve(&b->sizes, bytes, err);
      for (int64_t k = 0; s == QV_OK && k < n; k++) {
        if (b->large) {
          int64_t o = b->mark, z = 0;
          (void)qv_mbuffer_append(&b->offsets, &o, 8, NULL);
          (void)qv_mbuffer_append(&b->sizes, &z, 8, NULL);
        } else {
          int32_t o = (int32_t)b->mark, z = 0;
          (void)qv_mbuffer_append(&b->offsets, &o, 4, NULL);
          (void)qv_mbuffer_append(&b->sizes, &z, 4, NULL);
        }
      }
      break;
    }
    default: return qv_error_set(err, QV_E_INVALID, "flat_fill on a nested builder");
  }
  if (s == QV_OK) s = qv__builder_validity(b, valid, n, err);
  if (s < 0) {
    (void)qv_mbuffer_resize(&b->data, old_data, NULL);
    (void)qv_mbuffer_resize(&b->offsets, old_offs, NULL);
    (void)qv_mbuffer_resize(&b->sizes, old_offs, NULL);
    if (b->bits.len > old_bits) {
      (void)qv_mbuffer_resize(&b->bits.buf, (old_bits + 7) / 8, NULL);
      if (old_bits % 8 && b->bits.buf.data)
        b->bits.buf.data[old_bits / 8] &= (uint8_t)((1u << (old_bits % 8)) - 1);
      b->bits.len = old_bits;
    }
    return s;
  }
  b->length += n;
  return QV_OK;
}

static qv_status nested_fill(qv_builder *b, int64_t n, bool valid, qv_error *err);

static qv_status fill(qv_builder *b, int64_t n, bool valid, qv_error *err) {
  CHECK_USABLE(b);
  if (n < 0) return qv_error_set(err, QV_E_INVALID, "negative count %lld", (long long)n);
  if (n == 0) return QV_OK;
  if (n > INT64_MAX - b->length)
    return qv_error_set(err, QV_E_LIMIT, "%lld more elements would take the builder beyond %lld",
                        (long long)n, (long long)INT64_MAX);
  switch (b->kind) {
    case BK_FSL: case BK_MAP: case BK_STRUCT: case BK_UNION: case BK_REE:
      return nested_fill(b, n, valid, err);
    case BK_DICT:
      if (valid) return type_err(b, "append_empty", err);
      return flat_fill(b, n, false, err);
    case BK_LIST: case BK_LISTVIEW: {
      /* lists: the child must not hold pending items */
      int64_t clen = b->children[0]->length;
      if (clen != b->mark)
        return qv_error_set(err, QV_E_INVALID,
                            "list builder: %lld child items pending; call list_append first",
                            (long long)(clen - b->mark));
      return flat_fill(b, n, valid, err);
    }
    default: return flat_fill(b, n, valid, err);
  }
}

qv_status qv_builder_append_null(qv_builder *b, qv_error *err) { return fill(b, 1, false, err); }
qv_status qv_builder_append_nulls(qv_builder *b, int64_t n, qv_error *err) {
  return fill(b, n, false, err);
}
qv_status qv_builder_append_empty(qv_builder *b, int64_t n, qv_error *err) {
  return fill(b, n, b->kind != BK_NA, err);
}

qv_status qv_builder_append_bool(qv_builder *b, bool v, qv_error *err) {
  CHECK_USABLE(b);
  if (b->kind != BK_BOOL) return type_err(b, "append_bool", err);
  QV_TRY(qv_mbitmap_reserve(&b->bits, 1, err));
  QV_TRY(qv__builder_validity(b, true, 1, err));
  (void)qv_mbitmap_push(&b->bits, v, NULL);
  b->length++;
  return QV_OK;
}

static const qv_type *value_type_of(const qv_builder *b) {
  return b->kind == BK_DICT ? b->type->value_type : b->type;
}

static qv_status route_fixed(qv_builder *b, const uint8_t *bytes, int32_t w, qv_error *err) {
  if (b->kind == BK_DICT) return qv__dict_append(b, bytes, (size_t)w, err);
  return qv__builder_fixed(b, bytes, err);
}

qv_status qv_builder_append_i64(qv_builder *b, int64_t v, qv_error *err) {
  CHECK_USABLE(b);
  if (b->kind == BK_BOOL) return qv_builder_append_bool(b, v != 0, err);
  if (b->kind == BK_FIXED && b->width == 8 && b->type->id != QV_TYPE_DOUBLE &&
      b->type->id != QV_TYPE_INTERVAL_DAY_TIME && b->type->id != QV_TYPE_UINT64 &&
      b->type->id != QV_TYPE_FIXED_SIZE_BINARY) {
    /* fast path: int64-like */
    if (b->data.cap - b->data.len >= 8 && !b->has_validity) {
      memcpy(b->data.data + b->data.len, &v, 8);
      b->data.len += 8;
      b->length++;
      return QV_OK;
    }
  }
  if (b->kind != BK_FIXED && b->kind != BK_DICT) return type_err(b, "append_i64", err);
  uint8_t buf[32];
  int32_t w;
  QV_TRY(qv__encode_i64(value_type_of(b), v, buf, &w, "append_i64", err));
  return route_fixed(b, buf, w, err);
}

qv_status qv_builder_append_u64(qv_builder *b, uint64_t v, qv_error *err) {
  CHECK_USABLE(b);
  if (b->kind == BK_BOOL) return qv_builder_append_bool(b, v != 0, err);
  if (b->kind != BK_FIXED && b->kind != BK_DICT) return type_err(b, "append_u64", err);
  uint8_t buf[32];
  int32_t w;
  QV_TRY(qv__encode_u64(value_type_of(b), v, buf, &w, "append_u64", err));
  return route_fixed(b, buf, w, err);
}

qv_status qv_builder_append_f64(qv_builder *b, double v, qv_error *err) {
  CHECK_USABLE(b);
  if (b->kind != BK_FIXED && b->kind != BK_DICT) return type_err(b, "append_f64", err);
  uint8_t buf[32];
  int32_t w;
  QV_TRY(qv__encode_f64(value_type_of(b), v, buf, &w, "append_f64", err));
  return route_fixed(b, buf, w, err);
}

qv_status qv_builder_append_bytes(qv_builder *b, const void *data, size_t len, qv_error *err) {
  /* fast path: binary/string with room in both buffers and no validity to maintain */
  if (b->kind == BK_BINARY && !b->broken && !b->has_validity && b->offsets.len &&
      b->offsets.cap - b->offsets.len >= 8 && b->values.cap - b->values.len >= len && data) {
    int64_t end = (int64_t)(b->values.len + len);
    if (b->large) {
      memcpy(b->offsets.data + b->offsets.len, &end, 8);
      b->offsets.len += 8;
    } else if (end <= INT32_MAX) {
      int32_t e = (int32_t)end;
      memcpy(b->offsets.data + b->offsets.len, &e, 4);
      b->offsets.len += 4;
    } else {
      goto slow;
    }
    if (len) memcpy(b->values.data + b->values.len, data, len);
    b->values.len += len;
    b->length++;
    return QV_OK;
  }
slow:
  CHECK_USABLE(b);
  const qv_type *vt = value_type_of(b);
  if (!data && len) return qv_error_set(err, QV_E_INVALID, "append_bytes: NULL data");
  if (vt->id == QV_TYPE_FIXED_SIZE_BINARY) {
    if (len != (size_t)vt->byte_width)
      return qv_error_set(err, QV_E_INVALID,
                          "append_bytes: %zu bytes for fixed_size_binary[%d]", len,
                          (int)vt->byte_width);
    return route_fixed(b, data, (int32_t)len, err);
  }
  if (!qv_type_id_is_binary_like(vt->id) ||
      (b->kind != BK_BINARY && b->kind != BK_VIEW && b->kind != BK_DICT))
    return type_err(b, "append_bytes", err);
  if (b->kind == BK_DICT) return qv__dict_append(b, data, len, err);
  return qv__builder_bytes(b, data ? data : "", len, err);
}

qv_status qv_builder_append_str(qv_builder *b, const char *s, qv_error *err) {
  if (!s) return qv_error_set(err, QV_E_INVALID, "append_str: NULL string");
  return qv_builder_append_bytes(b, s, strlen(s), err);
}

qv_status qv_builder_append_fixed(qv_builder *b, const void *value, qv_error *err) {
  CHECK_USABLE(b);
  const qv_type *vt = value_type_of(b);
  int32_t w = qv__fixed_byte_width(vt);
  if ((b->kind != BK_FIXED && b->kind != BK_DICT) ||
      (w == 0 && vt->id != QV_TYPE_FIXED_SIZE_BINARY))
    return type_err(b, "append_fixed", err);
  return route_fixed(b, value, w, err);
}

/* Appends n validity bits from `valid_bytes` (one byte per value, non-zero = valid; NULL = all
 * valid), materialising the bitmap only once a null appears. Nothing is appended on failure. */
static qv_status append_validity_bytes(qv_builder *b, const uint8_t *valid_bytes, int64_t n,
                                       qv_error *err) {
  int64_t nulls = 0;
  if (valid_bytes)
    for (int64_t k = 0; k < n; k++) nulls += !valid_bytes[k];
  if (!nulls && !b->has_validity) return QV_OK;
  QV_TRY(qv_mbitmap_reserve(&b->validity, (size_t)(b->length + n), err));
  if (!b->has_validity) {
    (void)qv_mbitmap_extend_const(&b->validity, true, (size_t)b->length, NULL);
    b->has_validity = true;
  }
  for (int64_t k = 0; k < n; k++)
    (void)qv_mbitmap_push(&b->validity, !valid_bytes || valid_bytes[k], NULL);
  b->null_count += nulls;
  return QV_OK;
}

qv_status qv_builder_append_values(qv_builder *b, const void *values, const uint8_t *valid_bytes,
                                   int64_t n, qv_error *err) {
  CHECK_USABLE(b);
  if (n < 0) return qv_error_set(err, QV_E_INVALID, "negative count %lld", (long long)n);
  if (n > 0 && !values) return qv_error_set(err, QV_E_INVALID, "append_values: NULL values");
  if (b->kind == BK_BOOL) {
    const uint8_t *v = values;
    QV_TRY(qv_mbitmap_reserve(&b->bits, (size_t)n, err));
    QV_TRY(append_validity_bytes(b, valid_bytes, n, err));
    for (int64_t k = 0; k < n; k++) (void)qv_mbitmap_push(&b->bits, v[k] != 0, NULL);
    b->length += n;
    return QV_OK;
  }
  if (b->kind != BK_FIXED) return type_err(b, "append_values", err);
  size_t bytes;
  if (qv__mul_overflow((size_t)n, (size_t)b->width, &bytes))
    return qv_error_set(err, QV_E_OVERFLOW, "append of %lld values overflows", (long long)n);
  QV_TRY(qv_mbuffer_reserve(&b->data, bytes, err));
  QV_TRY(append_validity_bytes(b, valid_bytes, n, err));
  if (bytes) memcpy(b->data.data + b->data.len, values, bytes);
  b->data.len += bytes;
  b->length += n;
  return QV_OK;
}

/* ---- nested ------------------------------------------------------------------------------ */

qv_status qv_builder_list_append(qv_builder *b, qv_error *err) {
  CHECK_USABLE(b);
  if (b->kind != BK_LIST && b->kind != BK_LISTVIEW && b->kind != BK_FSL && b->kind != BK_MAP)
    return type_err(b, "list_append", err);
  int64_t clen = b->children[0]->length;
  if (b->kind == BK_MAP && b->children[1]->length != clen)
    return qv_error_set(err, QV_E_INVALID, "map builder: %lld keys but %lld items",
                        (long long)clen, (long long)b->children[1]->length);
  if (b->kind == BK_FSL) {
    int64_t want = (b->length + 1) * (int64_t)b->type->list_size;
    if (clen != want)
      return qv_error_set(err, QV_E_INVALID,
                          "fixed_size_list builder: child has %lld items, expected %lld",
                          (long long)clen, (long long)want);
    QV_TRY(qv__builder_validity(b, true, 1, err));
    b->length++;
    return QV_OK;
  }
  size_t old_offs = b->offsets.len;
  qv_status s;
  if (b->kind == BK_LISTVIEW) {
    int64_t size = clen - b->mark;
    if (!b->large && (clen > INT32_MAX))
      return qv_error_set(err, QV_E_OVERFLOW, "list_view builder: offset exceeds 32 bits");
    size_t w = b->large ? 8 : 4;
    QV_TRY(qv_mbuffer_reserve(&b->offsets, w, err));
    QV_TRY(qv_mbuffer_reserve(&b->sizes, w, err));
    if (b->large) {
      (void)qv_mbuffer_append(&b->offsets, &b->mark, 8, NULL);
      (void)qv_mbuffer_append(&b->sizes, &size, 8, NULL);
    } else {
      int32_t o = (int32_t)b->mark, z = (int32_t)size;
      (void)qv_mbuffer_append(&b->offsets, &o, 4, NULL);
      (void)qv_mbuffer_append(&b->sizes, &z, 4, NULL);
    }
    s = QV_OK;
  } else {
    s = ensure_first_offset(b, err);
    if (s == QV_OK) s = push_offset(b, clen, err);
  }
  if (s == QV_OK) s = qv__builder_validity(b, true, 1, err);
  if (s < 0) {
    (void)qv_mbuffer_resize(&b->offsets, old_offs, NULL);
    (void)qv_mbuffer_resize(&b->sizes, b->kind == BK_LISTVIEW ? old_offs : 0, NULL);
    return s;
  }
  b->mark = clen;
  b->length++;
  return QV_OK;
}

qv_status qv_builder_struct_append(qv_builder *b, bool valid, qv_error *err) {
  CHECK_USABLE(b);
  if (b->kind != BK_STRUCT) return type_err(b, "struct_append", err);
  for (int32_t i = 0; i < b->n_children; i++)
    if (b->children[i]->length != b->length + 1)
      return qv_error_set(err, QV_E_INVALID,
                          "struct builder: child %d ('%s') has %lld values, expected %lld",
                          (int)i, b->type->children[i]->name,
                          (long long)b->children[i]->length, (long long)(b->length + 1));
  QV_TRY(qv__builder_validity(b, valid, 1, err));
  b->length++;
  return QV_OK;
}

qv_status qv_builder_union_append(qv_builder *b, int8_t type_code, qv_error *err) {
  CHECK_USABLE(b);
  if (b->kind != BK_UNION) return type_err(b, "union_append", err);
  int32_t c = qv_type_union_child_index(b->type, type_code);
  if (c < 0)
    return qv_error_set(err, QV_E_INVALID, "union builder: type code %d is not declared",
                        (int)type_code);
  bool dense = b->type->id == QV_TYPE_DENSE_UNION;
  int64_t want = dense ? b->dense_counts[c] + 1 : b->length + 1;
  if (b->children[c]->length != want)
    return qv_error_set(err, QV_E_INVALID,
                        "union builder: child %d ('%s') has %lld values, expected %lld", (int)c,
                        b->type->children[c]->name, (long long)b->children[c]->length,
                        (long long)want);
  if (dense) {
    if (want - 1 > INT32_MAX)
      return qv_error_set(err, QV_E_OVERFLOW, "dense union: offset exceeds 32 bits");
    QV_TRY(qv_mbuffer_reserve(&b->offsets, 4, err));
  }
  QV_TRY(qv_mbuffer_reserve(&b->data, 1, err));
  if (!dense) {
    for (int32_t i = 0; i < b->n_children; i++) {
      if (i == c) continue;
      qv_status s = qv_builder_append_null(b->children[i], err);
      if (s < 0) {
        b->broken = true;
        return s;
      }
    }
  } else {
    int32_t o = (int32_t)(want - 1);
    (void)qv_mbuffer_append(&b->offsets, &o, 4, NULL);
    b->dense_counts[c]++;
  }
  (void)qv_mbuffer_append(&b->data, &type_code, 1, NULL);
  b->length++;
  return QV_OK;
}

qv_status qv_builder_ree_append_run(qv_builder *b, int64_t run_length, qv_error *err) {
  CHECK_USABLE(b);
  if (b->kind != BK_REE) return type_err(b, "ree_append_run", err);
  int64_t runs = (int64_t)(b->data.len / (size_t)b->width);
  if (b->children[1]->length != runs + 1)
    return qv_error_set(err, QV_E_INVALID,
                        "run_end_encoded builder: values has %lld entries, expected %lld",
                        (long long)b->children[1]->length, (long long)(runs + 1));
  if (run_length < 1)
    return qv_error_set(err, QV_E_INVALID, "run_end_encoded builder: run length %lld < 1",
                        (long long)run_length);
  int64_t end, max = b->width == 2 ? INT16_MAX : b->width == 4 ? INT32_MAX : INT64_MAX;
  if (qv__add_overflow_i64(b->length, run_length, &end) || end > max)
    return qv_error_set(err, QV_E_OVERFLOW, "run_end_encoded builder: run end exceeds %s",
                        qv_type_id_name(b->type->children[0]->type->id));
  uint8_t buf[8];
  qv__store_u64le(buf, (uint64_t)end);
  QV_TRY(qv_mbuffer_append(&b->data, buf, (size_t)b->width, err));
  b->length = end;
  return QV_OK;
}

static qv_status nested_fill(qv_builder *b, int64_t n, bool valid, qv_error *err) {
  qv_status s = QV_OK;
  switch (b->kind) {
    case BK_FSL: {
      int64_t items;
      if (qv__mul_overflow_i64(n, b->type->list_size, &items))
        return qv_error_set(err, QV_E_OVERFLOW, "fixed-size list append overflows");
      if (b->children[0]->length != b->length * (int64_t)b->type->list_size)
        return qv_error_set(err, QV_E_INVALID, "fixed_size_list builder: child items pending");
      s = fill(b->children[0], items, valid, err);
      if (s == QV_OK) s = qv__builder_validity(b, valid, n, err);
      if (s < 0) {
        b->broken = true;
        return s;
      }
      b->length += n;
      return QV_OK;
    }
    case BK_MAP: {
      if (b->children[0]->length != b->mark || b->children[1]->length != b->mark)
        return qv_error_set(err, QV_E_INVALID, "map builder: entries pending; call list_append");
      s = ensure_first_offset(b, err);
      for (int64_t k = 0; s == QV_OK && k < n; k++) s = push_offset(b, b->mark, err);
      if (s == QV_OK) s = qv__builder_validity(b, valid, n, err);
      if (s < 0) {
        b->broken = true;
        return s;
      }
      b->length += n;
      return QV_OK;
    }
    case BK_STRUCT:
      for (int32_t i = 0; i < b->n_children && s == QV_OK; i++)
        if (b->children[i]->length != b->length)
          s = qv_error_set(err, QV_E_INVALID, "struct builder: child %d has pending values",
                           (int)i);
      if (s < 0) return s;
      for (int32_t i = 0; i < b->n_children && s == QV_OK; i++)
        s = fill(b->children[i], n, valid, err);
      if (s == QV_OK) s = qv__builder_validity(b, valid, n, err);
      if (s < 0) {
        b->broken = true;
        return s;
      }
      b->length += n;
      return QV_OK;
    case BK_UNION: {
      if (b->n_children == 0)
        return qv_error_set(err, QV_E_INVALID, "union builder without members: cannot append");
      int8_t code = b->type->type_codes[0];
      for (int64_t k = 0; k < n && s == QV_OK; k++) {
        s = fill(b->children[0], 1, valid, err);
        if (s == QV_OK) s = qv_builder_union_append(b, code, err);
      }
      if (s < 0) b->broken = true;
      return s;
    }
    case BK_REE:
      s = fill(b->children[1], 1, valid, err);
      if (s < 0) return s;
      s = qv_builder_ree_append_run(b, n, err);
      if (s < 0) b->broken = true;
      return s;
    default: return qv_error_set(err, QV_E_INVALID, "nested_fill on a flat builder");
  }
}

/* ---- finish ------------------------------------------------------------------------------ */

static qv_status finish_validity(qv_builder *b, qv_buffer *out, qv_error *err) {
  if (!b->has_validity) {
    *out = (qv_buffer){0};
    return QV_OK;
  }
  qv_bitmap bm;
  QV_TRY(qv_mbitmap_finish(&b->validity, true, &bm, err));
  *out = bm.buf;
  return QV_OK;
}

static qv_status finish_mbuf(qv_mbuffer *mb, qv_buffer *out, qv_error *err) {
  return qv_mbuffer_finish(mb, out, err);
}

static qv_status finish_rec(qv_builder *b, qv_array **out, qv_error *err);

/* Finishes children [0, n) of b into arrs (all or nothing). */
static qv_status finish_children(qv_builder *b, int32_t from, int32_t n, qv_array **arrs,
                                 qv_error *err) {
  for (int32_t i = 0; i < n; i++) arrs[i] = NULL;
  for (int32_t i = 0; i < n; i++) {
    qv_status s = finish_rec(b->children[from + i], &arrs[i], err);
    if (s < 0) {
      for (int32_t k = 0; k < i; k++) qv_array_unref(arrs[k]);
      return s;
    }
  }
  return QV_OK;
}

static qv_status finish_rec(qv_builder *b, qv_array **out, qv_error *err) {
  CHECK_USABLE(b);
  const qv_type *t = b->type;
  qv_buffer bufs[3] = {{0}, {0}, {0}};
  qv_buffer *vbufs = NULL;
  int32_t nb = qv_type_layout_buffers(t), nvb = 0;
  qv_array *kids_local[4] = {0};
  qv_array **kids = kids_local;
  int32_t nk = 0;
  qv_array *dict = NULL;
  qv_status s = QV_OK;
  int64_t length = b->length, null_count = b->null_count;

  if (b->n_children > 4 && b->kind != BK_MAP && b->kind != BK_REE) {
    kids = qv_mem_alloc(&b->alloc, (size_t)b->n_children * sizeof *kids, _Alignof(qv_array *));
    if (!kids) return qv__nomem(err, "child arrays", (size_t)b->n_children * sizeof *kids);
  }
  switch (b->kind) {
    case BK_NA: break;
    case BK_BOOL: {
      qv_bitmap bm;
      s = finish_validity(b, &bufs[0], err);
      if (s == QV_OK) s = qv_mbitmap_finish(&b->bits, false, &bm, err);
      if (s == QV_OK) bufs[1] = bm.buf;
      break;
    }
    case BK_FIXED:
      s = finish_validity(b, &bufs[0], err);
      if (s == QV_OK) s = finish_mbuf(&b->data, &bufs[1], err);
      break;
    case BK_DICT:
      s = qv__dict_finish(b, &dict, err);
      if (s == QV_OK) s = finish_validity(b, &bufs[0], err);
      if (s == QV_OK) s = finish_mbuf(&b->data, &bufs[1], err);
      break;
    case BK_BINARY:
      s = ensure_first_offset(b, err);
      if (s == QV_OK) s = finish_validity(b, &bufs[0], err);
      if (s == QV_OK) s = finish_mbuf(&b->offsets, &bufs[1], err);
      if (s == QV_OK) s = finish_mbuf(&b->values, &bufs[2], err);
      break;
    case BK_VIEW: {
      nvb = b->n_var + (b->values.len ? 1 : 0);
      vbufs = qv_mem_calloc(&b->alloc, (size_t)(2 + nvb) * sizeof *vbufs, _Alignof(qv_buffer));
      if (!vbufs) {
        s = qv__nomem(err, "view buffers", (size_t)(2 + nvb) * sizeof *vbufs);
        break;
      }
      s = finish_validity(b, &vbufs[0], err);
      if (s == QV_OK) s = finish_mbuf(&b->data, &vbufs[1], err);
      if (s == QV_OK && b->values.len) s = finish_mbuf(&b->values, &vbufs[2 + b->n_var], err);
      if (s == QV_OK) {
        for (int32_t i = 0; i < b->n_var; i++) qv_buffer_move(&b->var_bufs[i], &vbufs[2 + i]);
        b->n_var = 0;
      }
      nb = 2 + nvb;
      break;
    }
    case BK_LIST: case BK_LISTVIEW: case BK_FSL:
      if (b->children[0]->length != (b->kind == BK_FSL ? length * b->type->list_size : b->mark)) {
        s = qv_error_set(err, QV_E_INVALID, "%s builder: child items appended after the last element",
                         qv_type_id_name(t->id));
        break;
      }
      if (b->kind == BK_LIST) s = ensure_first_offset(b, err);
      if (s == QV_OK) s = finish_validity(b, &bufs[0], err);
      if (s == QV_OK && b->kind != BK_FSL) s = finish_mbuf(&b->offsets, &bufs[1], err);
      if (s == QV_OK && b->kind == BK_LISTVIEW) s = finish_mbuf(&b->sizes, &bufs[2], err);
      if (s == QV_OK) s = finish_children(b, 0, 1, kids, err);
      if (s == QV_OK) nk = 1;
      break;
    case BK_MAP: {
      if (b->children[0]->length != b->mark || b->children[1]->length != b->mark) {
        s = qv_error_set(err, QV_E_INVALID, "map builder: entries appended after the last element");
        break;
      }
      qv_array *kv[2];
      s = ensure_first_offset(b, err);
      if (s == QV_OK) s = finish_validity(b, &bufs[0], err);
      if (s == QV_OK) s = finish_mbuf(&b->offsets, &bufs[1], err);
      if (s == QV_OK) s = finish_children(b, 0, 2, kv, err);
      if (s == QV_OK) {
        qv_buffer ev = {0};
        s = qv_array_new(t->children[0]->type, kv[0]->length, 0, 0, 1, &ev, 2, kv, NULL,
                         &b->alloc, &kids[0], err);
        if (s == QV_OK) nk = 1;
      }
      break;
    }
    case BK_STRUCT:
      s = finish_validity(b, &bufs[0], err);
      if (s == QV_OK) s = finish_children(b, 0, b->n_children, kids, err);
      if (s == QV_OK) nk = b->n_children;
      break;
    case BK_UNION:
      s = finish_mbuf(&b->data, &bufs[0], err);
      if (s == QV_OK && t->id == QV_TYPE_DENSE_UNION) s = finish_mbuf(&b->offsets, &bufs[1], err);
      if (s == QV_OK) s = finish_children(b, 0, b->n_children, kids, err);
      if (s == QV_OK) nk = b->n_children;
      null_count = 0;
      break;
    case BK_REE: {
      qv_buffer rb[2] = {{0}, {0}};
      int64_t runs = (int64_t)(b->data.len / (size_t)b->width);
      s = finish_mbuf(&b->data, &rb[1], err);
      if (s == QV_OK)
        s = qv_array_new(t->children[0]->type, runs, 0, 0, 2, rb, 0, NULL, NULL, &b->alloc,
                         &kids[0], err);
      if (s == QV_OK) {
        s = finish_rec(b->children[1], &kids[1], err);
        if (s < 0) {
          qv_array_unref(kids[0]);
          kids[0] = NULL;
        }
      }
      if (s == QV_OK) nk = 2;
      null_count = 0;
      break;
    }
  }
  if (s == QV_OK) {
    s = qv_array_new(t, length, 0, null_count, nb, vbufs ? vbufs : bufs, nk, kids, dict,
                     &b->alloc, out, err);
    dict = NULL;
    nk = 0;
  }
  /* on failure, drop whatever was finished */
  for (int32_t i = 0; i < 3; i++) qv_buffer_unref(&bufs[i]);
  if (vbufs) {
    for (int32_t i = 0; i < 2 + nvb; i++) qv_buffer_unref(&vbufs[i]);
    qv_mem_free(&b->alloc, vbufs, (size_t)(2 + nvb) * sizeof *vbufs, _Alignof(qv_buffer));
  }
  for (int32_t i = 0; i < nk; i++) qv_array_unref(kids[i]);
  qv_array_unref(dict);
  if (kids != kids_local)
    qv_mem_free(&b->alloc, kids, (size_t)b->n_children * sizeof *kids, _Alignof(qv_array *));
  clear_own(b);
  if (b->kind == BK_DICT) qv__dict_reset(b);
  return s;
}

qv_status qv_builder_finish(qv_builder *b, qv_array **out, qv_error *err) {
  qv_status s = finish_rec(b, out, err);
  if (s < 0) qv_builder_reset(b);
  return s;
}
