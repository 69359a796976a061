/* builder_append.c — appending ranges of existing arrays to builders (every type, recursively),
 * and what is built on it: qv_array_concat, qv_array_new_empty, qv_array_new_nulls. */
#include <string.h>

#include "builder_int.h"

static qv_status append_range(qv_builder *b, const qv_array *src, int64_t off, int64_t len,
                              qv_error *err);

/* One element of src (already known valid) appended as a value to b. */
static qv_status append_one_value(qv_builder *b, const qv_array *src, int64_t i, qv_error *err) {
  switch (src->type->id) {
    case QV_TYPE_BOOL: return qv_builder_append_bool(b, qv_array_get_bool(src, i), err);
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW:
    case QV_TYPE_FIXED_SIZE_BINARY: {
      const uint8_t *p;
      size_t n;
      qv_array_get_bytes(src, i, &p, &n);
      return qv_builder_append_bytes(b, p, n, err);
    }
    default: return qv_builder_append_fixed(b, qv_array_value_ptr(src, i), err);
  }
}

static qv_status append_flat(qv_builder *b, const qv_array *src, int64_t off, int64_t len,
                             qv_error *err) {
  if (b->kind == BK_FIXED && qv_array_null_count(src) == 0 && len > 0)
    return qv_builder_append_values(b, qv_array_value_ptr(src, off), NULL, len, err);
  for (int64_t k = off; k < off + len; k++) {
    if (qv_array_is_null(src, k)) QV_TRY(qv_builder_append_null(b, err));
    else QV_TRY(append_one_value(b, src, k, err));
  }
  return QV_OK;
}

static qv_status append_range(qv_builder *b, const qv_array *src, int64_t off, int64_t len,
                              qv_error *err) {
  if (len == 0) return QV_OK;
  switch (b->kind) {
    case BK_NA: return qv_builder_append_nulls(b, len, err);
    case BK_BOOL: case BK_FIXED: case BK_BINARY: case BK_VIEW: return append_flat(b, src, off, len, err);
    case BK_DICT:
      for (int64_t k = off; k < off + len; k++) {
        if (qv_array_is_null(src, k)) QV_TRY(qv_builder_append_null(b, err));
        else QV_TRY(append_one_value(b, src->dictionary, qv_array_dict_index(src, k), err));
      }
      return QV_OK;
    case BK_LIST: case BK_LISTVIEW: case BK_FSL:
      for (int64_t k = off; k < off + len; k++) {
        if (qv_array_is_null(src, k)) {
          QV_TRY(qv_builder_append_null(b, err));
          continue;
        }
        int64_t s, n;
        qv_array_list_range(src, k, &s, &n);
        QV_TRY(append_range(b->children[0], src->children[0], s, n, err));
        QV_TRY(qv_builder_list_append(b, err));
      }
      return QV_OK;
    case BK_MAP: {
      const qv_array *entries = src->children[0];
      for (int64_t k = off; k < off + len; k++) {
        if (qv_array_is_null(src, k)) {
          QV_TRY(qv_builder_append_null(b, err));
          continue;
        }
        int64_t s, n;
        qv_array_list_range(src, k, &s, &n);
        QV_TRY(append_range(b->children[0], entries->children[0], entries->offset + s, n, err));
        QV_TRY(append_range(b->children[1], entries->children[1], entries->offset + s, n, err));
        QV_TRY(qv_builder_list_append(b, err));
      }
      return QV_OK;
    }
    case BK_STRUCT: {
      for (int32_t c = 0; c < b->n_children; c++)
        QV_TRY(append_range(b->children[c], src->children[c], src->offset + off, len, err));
      for (int64_t k = off; k < off + len; k++) {
        QV_TRY(qv__builder_validity(b, !qv_array_is_null(src, k), 1, err));
        b->length++;
      }
      return QV_OK;
    }
    case BK_UNION:
      for (int64_t k = off; k < off + len; k++) {
        int32_t c = qv_array_union_child_index(src, k);
        if (c < 0)
          return qv_error_set(err, QV_E_CORRUPT, "union type code %d at index %lld is not declared",
                              (int)qv_array_union_type_code(src, k), (long long)k);
        QV_TRY(append_range(b->children[c], src->children[c], qv_array_union_value_index(src, k),
                            1, err));
        QV_TRY(qv_builder_union_append(b, qv_array_union_type_code(src, k), err));
      }
      return QV_OK;
    case BK_REE: {
      int64_t k = off, end = off + len;
      const qv_array *re = src->children[0];
      while (k < end) {
        int64_t p = qv_array_ree_physical_index(src, k);
        int64_t run_end = qv_array_get_i64(re, p) - src->offset; /* logical end of this run */
        if (run_end > end) run_end = end;
        if (run_end <= k)
          return qv_error_set(err, QV_E_CORRUPT, "run ends are not increasing at run %lld",
                              (long long)p);
        QV_TRY(append_range(b->children[1], src->children[1], p, 1, err));
        QV_TRY(qv_builder_ree_append_run(b, run_end - k, err));
        k = run_end;
      }
      return QV_OK;
    }
  }
  return qv_error_set(err, QV_E_INVALID, "append_array: unknown builder kind");
}

qv_status qv_builder_append_array(qv_builder *b, const qv_array *src, int64_t offset,
                                  int64_t length, qv_error *err) {
  if (b->broken)
    return qv_error_set(err, QV_E_STATE, "builder: unusable after an earlier failure; reset it");
  if (!qv_type_equal(b->type, src->type)) {
    char x[160], y[160];
    qv_type_to_string(b->type, x, sizeof x);
    qv_type_to_string(src->type, y, sizeof y);
    return qv_error_set(err, QV_E_TYPE, "append_array: array of type %s into a builder of %s", y,
                        x);
  }
  if (offset < 0 || length < 0 || offset > src->length || length > src->length - offset)
    return qv_error_set(err, QV_E_RANGE, "append_array: [%lld, +%lld) is outside %lld elements",
                        (long long)offset, (long long)length, (long long)src->length);
  qv_status s = append_range(b, src, offset, length, err);
  if (s < 0 && qv_type_id_is_nested(b->type->id)) b->broken = true;
  return s;
}

/* DICTIONARY arrays whose values cannot be hashed: concatenate the dictionaries and shift the
 * indices of each piece by the length of the dictionaries before it. */
static qv_status concat_dicts_unhashed(qv_array *const *arrays, int32_t n, const qv_allocator *a,
                                       qv_array **out, qv_error *err) {
  const qv_type *t = arrays[0]->type;
  qv_array **dicts = qv_mem_alloc(a, (size_t)n * sizeof *dicts, _Alignof(qv_array *));
  if (!dicts) return qv__nomem(err, "dictionary list", (size_t)n * sizeof *dicts);
  for (int32_t i = 0; i < n; i++) dicts[i] = arrays[i]->dictionary;
  qv_array *dict = NULL, *idx = NULL;
  qv_builder *ib = NULL;
  qv_status s = qv_array_concat(dicts, n, a, &dict, err);
  qv_mem_free(a, dicts, (size_t)n * sizeof *dicts, _Alignof(qv_array *));
  if (s == QV_OK) s = qv_builder_new(t->index_type, a, &ib, err);
  int64_t base = 0;
  for (int32_t i = 0; i < n && s == QV_OK; i++) {
    const qv_array *x = arrays[i];
    for (int64_t k = 0; k < x->length && s == QV_OK; k++) {
      if (x->buffers[0].data && !qv_bit_get(x->buffers[0].data, (size_t)(x->offset + k)))
        s = qv_builder_append_null(ib, err);
      else
        s = qv_builder_append_i64(ib, qv_array_dict_index(x, k) + base, err);
    }
    base += x->dictionary->length;
  }
  if (s == QV_OK) s = qv_builder_finish(ib, &idx, err);
  if (s == QV_OK) {
    qv_buffer bufs[2];
    qv_buffer_move(&idx->buffers[0], &bufs[0]);
    qv_buffer_move(&idx->buffers[1], &bufs[1]);
    s = qv_array_new(t, idx->length, 0, idx->null_count, 2, bufs, 0, NULL, dict, a, out, err);
    dict = NULL;
  }
  qv_array_unref(idx);
  qv_array_unref(dict);
  qv_builder_free(ib);
  return s;
}

qv_status qv_array_concat(qv_array *const *arrays, int32_t n, const qv_allocator *a,
                          qv_array **out, qv_error *err) {
  if (n < 1 || !arrays) return qv_error_set(err, QV_E_INVALID, "concat of %d arrays", (int)n);
  for (int32_t i = 1; i < n; i++)
    if (!qv_type_equal(arrays[0]->type, arrays[i]->type)) {
      char x[160], y[160];
      qv_type_to_string(arrays[0]->type, x, sizeof x);
      qv_type_to_string(arrays[i]->type, y, sizeof y);
      return qv_error_set(err, QV_E_TYPE, "concat: array %d has type %s, array 0 has %s", (int)i,
                          y, x);
    }
  qv_builder *b = NULL;
  qv_status bs = qv_builder_new(arrays[0]->type, a, &b, err);
  if (bs == QV_E_UNSUPPORTED && arrays[0]->type->id == QV_TYPE_DICTIONARY) {
    qv_error_init(err);
    return concat_dicts_unhashed(arrays, n, a ? a : qv_allocator_default(), out, err);
  }
  QV_TRY(bs);
  int64_t total = 0;
  qv_status s = QV_OK;
  for (int32_t i = 0; i < n && s == QV_OK; i++)
    if (qv__add_overflow_i64(total, arrays[i]->length, &total))
      s = qv_error_set(err, QV_E_LIMIT, "concat: the %d arrays hold more than %lld elements",
                       (int)n, (long long)INT64_MAX);
  if (s == QV_OK) s = qv_builder_reserve(b, total, err);
  for (int32_t i = 0; i < n && s == QV_OK; i++)
    s = qv_builder_append_array(b, arrays[i], 0, arrays[i]->length, err);
  if (s == QV_OK) s = qv_builder_finish(b, out, err);
  qv_builder_free(b);
  return s;
}

qv_status qv_array_new_nulls(const qv_type *type, int64_t length, const qv_allocator *a,
                             qv_array **out, qv_error *err) {
  qv_builder *b = NULL;
  qv_status bs = qv_builder_new(type, a, &b, err);
  if (bs == QV_E_UNSUPPORTED && type->id == QV_TYPE_DICTIONARY) {
    /* values that cannot be hashed: null indices over an empty dictionary */
    qv_array *idx = NULL, *dict = NULL;
    qv_error_init(err);
    bs = qv_array_new_nulls(type->index_type, length, a, &idx, err);
    if (bs == QV_OK) bs = qv_array_new_empty(type->value_type, a, &dict, err);
    if (bs == QV_OK) {
      qv_buffer bufs[2];
      qv_buffer_move(&idx->buffers[0], &bufs[0]);
      qv_buffer_move(&idx->buffers[1], &bufs[1]);
      bs = qv_array_new(type, length, 0, length, 2, bufs, 0, NULL, dict, a, out, err);
      dict = NULL;
    }
    qv_array_unref(idx);
    qv_array_unref(dict);
    return bs;
  }
  QV_TRY(bs);
  qv_status s = qv_builder_append_nulls(b, length, err);
  if (s == QV_OK) s = qv_builder_finish(b, out, err);
  qv_builder_free(b);
  return s;
}

qv_status qv_array_new_empty(const qv_type *type, const qv_allocator *a, qv_array **out,
                             qv_error *err) {
  return qv_array_new_nulls(type, 0, a, out, err);
}
