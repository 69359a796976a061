/* arrow.c — the ndfile <-> Arrow bridge: a region read as an Arrow array and a region written
 * from one. Rank 0..1 scalar arrays map to a flat array; rank >= 2 (or a list dtype) maps to a
 * FIXED_SIZE_LIST with one list per index of the first dimension holding the rest of the region
 * in row-major order. No nulls: ndfile has fill values, not validity. */
#include <string.h>

#include "ndfile/file_int.h"
#include "quiver/array.h"

static qv_type *leaf_type(qv_nd_type t, qv_type **owned, const qv_allocator *a, bool large,
                          qv_error *err) {
  *owned = NULL;
  switch (t) {
    case QV_ND_BOOL: return qv_type_bool();
    case QV_ND_INT8: return qv_type_int8();
    case QV_ND_INT16: return qv_type_int16();
    case QV_ND_INT32: return qv_type_int32();
    case QV_ND_INT64: return qv_type_int64();
    case QV_ND_UINT8: return qv_type_uint8();
    case QV_ND_UINT16: return qv_type_uint16();
    case QV_ND_UINT32: return qv_type_uint32();
    case QV_ND_UINT64: return qv_type_uint64();
    case QV_ND_FLOAT32: return qv_type_float32();
    case QV_ND_FLOAT64: return qv_type_float64();
    case QV_ND_STRING: return large ? qv_type_large_utf8() : qv_type_utf8();
    case QV_ND_BINARY: return large ? qv_type_large_binary() : qv_type_binary();
    case QV_ND_TIMESTAMP_NS:
      if (qv_type_timestamp(QV_TIME_NANO, NULL, a, owned, err) != QV_OK) return NULL;
      return *owned;
  }
  return NULL;
}

/* rows and leaves per row of a region */
static qv_status geometry(const qv_nd_info *in, const uint64_t *shape, uint64_t *rows,
                          uint64_t *per_row, bool *nested, qv_error *err) {
  uint64_t r = in->rank ? shape[0] : 1, l = in->dtype.list_size ? in->dtype.list_size : 1;
  for (uint32_t k = 1; k < in->rank; k++)
    if (__builtin_mul_overflow(l, shape[k], &l)) return qv_error_set(err, QV_E_LIMIT, "region too large");
  *nested = in->rank >= 2 || in->dtype.list_size;
  if (*nested && l > INT32_MAX)
    return qv_error_set(err, QV_E_LIMIT, "array '%s': %llu values per row exceed an Arrow fixed-size list",
                        in->name, (unsigned long long)l);
  if (r > INT64_MAX / (l ? l : 1)) return qv_error_set(err, QV_E_LIMIT, "region too large");
  *rows = r;
  *per_row = l;
  return QV_OK;
}

static qv_status wrap_list(qv_array *leaf, uint64_t rows, uint64_t per_row, const qv_allocator *a,
                           qv_array **out, qv_error *err) {
  qv_field *item = NULL;
  qv_type *fsl = NULL;
  qv_status s = qv_field_new("item", leaf->type, true, NULL, a, &item, err);
  if (s == QV_OK) s = qv_type_fixed_size_list(item, (int32_t)per_row, a, &fsl, err);
  qv_field_unref(item);
  if (s < 0) {
    qv_array_unref(leaf);
    return s;
  }
  qv_buffer validity = {0};
  s = qv_array_new(fsl, (int64_t)rows, 0, 0, 1, &validity, 1, &leaf, NULL, a, out, err);
  qv_type_unref(fsl);
  return s;
}

qv_status qv_nd_read_arrow(qv_nd_file *f, const char *name, const uint64_t *start,
                           const uint64_t *shape, const qv_allocator *a, qv_array **out,
                           qv_error *err) {
  qv_nd_info in;
  QV_TRY(qv__nd_describe(f, name, &in, err));
  uint64_t st[QV_ND_MAX_RANK] = {0}, sh[QV_ND_MAX_RANK], nelem;
  qv__nd_region_or_all(in.rank, in.shape, start, shape, st, sh);
  /* in range before the output is sized by it (a huge shape is QV_E_RANGE, not an allocation) */
  QV_TRY(qv__nd_region_check(in.name, in.rank, in.shape, st, sh, &nelem, err));
  uint64_t rows, per_row;
  bool nested;
  QV_TRY(geometry(&in, sh, &rows, &per_row, &nested, err));
  uint64_t leaves = rows * per_row;
  qv_type *owned;
  qv_array *leaf = NULL;
  qv_status s;
  if (in.dtype.type == QV_ND_STRING || in.dtype.type == QV_ND_BINARY) {
    qv_nd_varbuf vb;
    QV_TRY(qv_nd_read_var(f, name, st, sh, &vb, err));
    bool large = vb.data_len > INT32_MAX;
    qv_type *t = leaf_type(in.dtype.type, &owned, a, large, err);
    size_t ow = large ? 8 : 4;
    qv_mbuffer offs, data;
    qv_mbuffer_init(&offs, a);
    qv_mbuffer_init(&data, a);
    s = qv_mbuffer_resize(&offs, (vb.n + 1) * ow, err);
    if (s == QV_OK) s = qv_mbuffer_append(&data, vb.data, vb.data_len, err);
    if (s == QV_OK)
      for (size_t i = 0; i <= vb.n; i++) {
        if (large) { int64_t o = (int64_t)vb.offsets[i]; memcpy(offs.data + i * 8, &o, 8); }
        else { int32_t o = (int32_t)vb.offsets[i]; memcpy(offs.data + i * 4, &o, 4); }
      }
    qv_buffer bufs[3] = {{0}, {0}, {0}};
    if (s == QV_OK) s = qv_mbuffer_finish(&offs, &bufs[1], err);
    if (s == QV_OK) s = qv_mbuffer_finish(&data, &bufs[2], err);
    qv_mbuffer_reset(&offs);
    qv_mbuffer_reset(&data);
    size_t n = vb.n;
    qv_nd_varbuf_reset(&vb);
    if (s == QV_OK) s = qv_array_new(t, (int64_t)n, 0, 0, 3, bufs, 0, NULL, NULL, a, &leaf, err);
    else {
      qv_buffer_unref(&bufs[1]);
      qv_buffer_unref(&bufs[2]);
    }
  } else {
    size_t w = qv_nd_dtype_width(in.dtype);
    uint64_t n = nelem;
    if (n > SIZE_MAX / (w ? w : 1)) return qv_error_set(err, QV_E_LIMIT, "region too large");
    qv_type *t = leaf_type(in.dtype.type, &owned, a, false, err);
    if (!t) return err ? err->code : QV_E_NOMEM;
    if (in.rank && n) { /* one whole stored chunk: a view of the mapped layer, no copy */
      qv_buffer view[2] = {{0}, {0}};
      s = qv__nd_chunk_view(f, name, st, sh, &view[1], err);
      if (s == QV_OK) s = qv_array_new(t, (int64_t)leaves, 0, 0, 2, view, 0, NULL, NULL, a, &leaf, err);
      if (s != QV_E_UNSUPPORTED) {
        if (s == QV_OK && nested) s = wrap_list(leaf, rows, per_row, a, out, err);
        else if (s == QV_OK) *out = leaf;
        qv_type_unref(owned);
        return s;
      }
    }
    qv_mbuffer mb;
    qv_mbuffer_init(&mb, a);
    s = qv_mbuffer_resize(&mb, (size_t)n * w, err);
    if (s == QV_OK) s = qv_nd_read(f, name, st, sh, mb.data, (size_t)n * w, err);
    if (s == QV_OK && in.dtype.type == QV_ND_BOOL) { /* bytes -> bits, in place (bits <= bytes) */
      size_t nb = (size_t)leaves;
      uint8_t *p = mb.data;
      for (size_t i = 0; i < nb; i++) {
        uint8_t v = p[i];
        if (i % 8 == 0) p[i / 8] = 0;
        p[i / 8] = (uint8_t)(p[i / 8] | (v ? 1u << (i % 8) : 0u));
      }
      s = qv_mbuffer_resize(&mb, (nb + 7) / 8, err);
    }
    qv_buffer bufs[2] = {{0}, {0}};
    if (s == QV_OK) s = qv_mbuffer_finish(&mb, &bufs[1], err);
    qv_mbuffer_reset(&mb);
    if (s == QV_OK) s = qv_array_new(t, (int64_t)leaves, 0, 0, 2, bufs, 0, NULL, NULL, a, &leaf, err);
  }
  if (s == QV_OK && nested) s = wrap_list(leaf, rows, per_row, a, out, err);
  else if (s == QV_OK) *out = leaf;
  qv_type_unref(owned);
  return s;
}

qv_status qv_nd_write_arrow(qv_nd_file *f, const char *name, const uint64_t *start,
                            const uint64_t *shape, const qv_array *arr, qv_error *err) {
  qv_nd_info in;
  QV_TRY(qv__nd_describe(f, name, &in, err));
  uint64_t st[QV_ND_MAX_RANK] = {0}, sh[QV_ND_MAX_RANK];
  qv__nd_region_or_all(in.rank, in.shape, start, shape, st, sh);
  uint64_t rows, per_row;
  bool nested;
  QV_TRY(geometry(&in, sh, &rows, &per_row, &nested, err));
  const qv_array *leaf = arr;
  int64_t first = arr->offset;
  if (nested) {
    if (arr->type->id != QV_TYPE_FIXED_SIZE_LIST || arr->type->list_size != (int32_t)per_row ||
        arr->n_children != 1)
      return qv_error_set(err, QV_E_TYPE, "array '%s': expected a fixed_size_list of %llu values per row",
                          name, (unsigned long long)per_row);
    if (qv_array_null_count(arr) != 0) return qv_error_set(err, QV_E_INVALID, "array '%s': Arrow input has nulls", name);
    leaf = arr->children[0];
    first = (arr->offset) * (int64_t)per_row + leaf->offset;
  }
  if ((uint64_t)arr->length != rows)
    return qv_error_set(err, QV_E_INVALID, "array '%s': the region has %llu rows, the Arrow array %lld",
                        name, (unsigned long long)rows, (long long)arr->length);
  if (qv_array_null_count(leaf) != 0) return qv_error_set(err, QV_E_INVALID, "array '%s': Arrow input has nulls", name);
  qv_type *owned;
  qv_type *want = leaf_type(in.dtype.type, &owned, NULL, false, err);
  qv_type_id id = leaf->type->id;
  bool ok = want && (id == want->id || (in.dtype.type == QV_ND_STRING && id == QV_TYPE_LARGE_STRING) ||
                     (in.dtype.type == QV_ND_BINARY && id == QV_TYPE_LARGE_BINARY));
  if (ok && id == QV_TYPE_TIMESTAMP && leaf->type->unit != QV_TIME_NANO) ok = false;
  qv_type_unref(owned);
  if (!ok) return qv_error_set(err, QV_E_TYPE, "array '%s': the Arrow values have the wrong type", name);
  uint64_t leaves = rows * per_row;
  if (!nested) first = arr->offset;
  if (in.dtype.type == QV_ND_STRING || in.dtype.type == QV_ND_BINARY) {
    bool large = id == QV_TYPE_LARGE_STRING || id == QV_TYPE_LARGE_BINARY;
    const uint8_t *ob = leaf->buffers[1].data, *db = leaf->buffers[2].data;
    const void **vals = qv_mem_alloc(NULL, (size_t)leaves * sizeof *vals + 1, 0);
    size_t *lens = qv_mem_alloc(NULL, (size_t)leaves * sizeof *lens + 1, 0);
    qv_status s = vals && lens ? QV_OK : qv_error_set(err, QV_E_NOMEM, "out of memory");
    for (uint64_t i = 0; s == QV_OK && i < leaves; i++) {
      int64_t a0, a1;
      if (large) {
        memcpy(&a0, ob + (first + (int64_t)i) * 8, 8);
        memcpy(&a1, ob + (first + (int64_t)i + 1) * 8, 8);
      } else {
        int32_t b0, b1;
        memcpy(&b0, ob + (first + (int64_t)i) * 4, 4);
        memcpy(&b1, ob + (first + (int64_t)i + 1) * 4, 4);
        a0 = b0;
        a1 = b1;
      }
      if (a0 < 0 || a1 < a0 || (size_t)a1 > leaf->buffers[2].len) {
        s = qv_error_set(err, QV_E_CORRUPT, "Arrow offsets out of range at %llu", (unsigned long long)i);
        break;
      }
      vals[i] = db + a0;
      lens[i] = (size_t)(a1 - a0);
    }
    if (s == QV_OK) s = qv_nd_write_var(f, name, st, sh, vals, lens, (size_t)leaves, err);
    if (vals) qv_mem_free(NULL, vals, (size_t)leaves * sizeof *vals + 1, 0);
    if (lens) qv_mem_free(NULL, lens, (size_t)leaves * sizeof *lens + 1, 0);
    return s;
  }
  size_t bw = qv_nd_dtype_width((qv_nd_dtype){in.dtype.type, 0});
  const uint8_t *db = leaf->buffers[1].data;
  if (in.dtype.type == QV_ND_BOOL) { /* bits -> bytes */
    uint8_t *tmp = qv_mem_alloc(NULL, (size_t)leaves + 1, 0);
    if (!tmp) return qv_error_set(err, QV_E_NOMEM, "out of memory");
    for (uint64_t i = 0; i < leaves; i++) {
      uint64_t b = (uint64_t)first + i;
      tmp[i] = (uint8_t)((db[b / 8] >> (b % 8)) & 1);
    }
    qv_status s = qv_nd_write(f, name, st, sh, tmp, (size_t)leaves, err);
    qv_mem_free(NULL, tmp, (size_t)leaves + 1, 0);
    return s;
  }
  return qv_nd_write(f, name, st, sh, db + (size_t)first * bw, (size_t)leaves * bw, err);
}
