/* table.c — record batches (qv_batch: schema + equal-length columns) and tables (qv_table: a
 * schema + a list of batches): construction, slicing, selection, renaming, combining,
 * validation and equality. */
#include <string.h>

#include "array_int.h"

/* ---- batches ----------------------------------------------------------------------------- */

static void unref_columns(qv_array **cols, int32_t n) {
  for (int32_t i = 0; cols && i < n; i++) {
    qv_array_unref(cols[i]);
    cols[i] = NULL;
  }
}

qv_status qv_batch_new(const qv_schema *schema, int64_t length, qv_array **columns,
                       int32_t n_columns, const qv_allocator *a, qv_batch **out, qv_error *err) {
  qv_status s = QV_OK;
  if (!schema) s = qv_error_set(err, QV_E_INVALID, "batch: NULL schema");
  else if (n_columns != schema->n_fields)
    s = qv_error_set(err, QV_E_INVALID, "batch: %d columns for a schema of %d fields",
                     (int)n_columns, (int)schema->n_fields);
  else if (length < 0)
    s = qv_error_set(err, QV_E_INVALID, "batch: negative length %lld", (long long)length);
  else if (n_columns > 0 && !columns)
    s = qv_error_set(err, QV_E_INVALID, "batch: NULL column array");
  for (int32_t i = 0; s == QV_OK && i < n_columns; i++) {
    const qv_field *f = schema->fields[i];
    if (!columns[i]) {
      s = qv_error_set(err, QV_E_INVALID, "batch: column '%s' (index %d) is NULL", f->name, (int)i);
    } else if (columns[i]->length != length) {
      s = qv_error_set(err, QV_E_INVALID,
                       "batch: column '%s' (index %d) has %lld rows, the batch has %lld", f->name,
                       (int)i, (long long)columns[i]->length, (long long)length);
    } else if (!qv_type_equal(columns[i]->type, f->type)) {
      char x[160], y[160];
      qv_type_to_string(columns[i]->type, x, sizeof x);
      qv_type_to_string(f->type, y, sizeof y);
      s = qv_error_set(err, QV_E_TYPE, "batch: column '%s' (index %d) has type %s, the field says %s",
                       f->name, (int)i, x, y);
    }
  }
  if (s < 0) {
    unref_columns(columns, n_columns);
    return s;
  }
  if (!a) a = qv_allocator_default();
  size_t sz = sizeof(qv_batch) + (size_t)n_columns * sizeof(qv_array *);
  qv_batch *b = qv_mem_alloc(a, sz, _Alignof(qv_batch));
  if (!b) {
    unref_columns(columns, n_columns);
    return qv__nomem(err, "batch", sz);
  }
  memset(b, 0, sz);
  b->schema = qv_schema_ref(schema);
  b->length = length;
  b->n_columns = n_columns;
  b->columns = (qv_array **)(void *)(b + 1);
  for (int32_t i = 0; i < n_columns; i++) {
    b->columns[i] = columns[i];
    columns[i] = NULL;
  }
  b->refcount_ = 1;
  b->alloc_ = *a;
  *out = b;
  return QV_OK;
}

qv_batch *qv_batch_ref(const qv_batch *b) {
  qv_batch *m = (qv_batch *)(uintptr_t)b;
  if (m) __atomic_fetch_add(&m->refcount_, 1, __ATOMIC_RELAXED);
  return m;
}

void qv_batch_unref(qv_batch *b) {
  if (!b) return;
  if (__atomic_fetch_sub(&b->refcount_, 1, __ATOMIC_ACQ_REL) != 1) return;
  qv_allocator a = b->alloc_;
  unref_columns(b->columns, b->n_columns);
  qv_schema_unref(b->schema);
  qv_mem_free(&a, b, sizeof(qv_batch) + (size_t)b->n_columns * sizeof(qv_array *),
              _Alignof(qv_batch));
}

qv_array *qv_batch_column(const qv_batch *b, int32_t i) {
  return (i >= 0 && i < b->n_columns) ? b->columns[i] : NULL;
}

qv_array *qv_batch_column_by_name(const qv_batch *b, const char *name) {
  int32_t i = qv_schema_find(b->schema, name);
  return i < 0 ? NULL : b->columns[i];
}

/* Temporary column array for building new batches. */
static qv_status cols_alloc(const qv_allocator *a, int32_t n, qv_array ***out, qv_error *err) {
  *out = NULL;
  if (n == 0) return QV_OK;
  *out = qv_mem_calloc(a, (size_t)n * sizeof(qv_array *), _Alignof(qv_array *));
  if (!*out) return qv__nomem(err, "column list", (size_t)n * sizeof(qv_array *));
  return QV_OK;
}
static void cols_free(const qv_allocator *a, qv_array **cols, int32_t n) {
  if (!cols) return;
  unref_columns(cols, n);
  qv_mem_free(a, cols, (size_t)n * sizeof(qv_array *), _Alignof(qv_array *));
}

qv_status qv_batch_slice(const qv_batch *b, int64_t off, int64_t len, qv_batch **out,
                         qv_error *err) {
  if (off < 0 || len < 0 || off > b->length || len > b->length - off)
    return qv_error_set(err, QV_E_RANGE, "batch slice [%lld, +%lld) is outside %lld rows",
                        (long long)off, (long long)len, (long long)b->length);
  qv_array **cols;
  QV_TRY(cols_alloc(&b->alloc_, b->n_columns, &cols, err));
  qv_status s = QV_OK;
  for (int32_t i = 0; i < b->n_columns && s == QV_OK; i++)
    s = qv_array_slice(b->columns[i], off, len, &cols[i], err);
  if (s == QV_OK) s = qv_batch_new(b->schema, len, cols, b->n_columns, &b->alloc_, out, err);
  cols_free(&b->alloc_, cols, b->n_columns);
  return s;
}

/* The schema of columns `indices` (n of them, repeats allowed) of s, with s's metadata. */
static qv_status selected_schema(const qv_schema *s, const int32_t *indices, int32_t n,
                                 const qv_allocator *a, qv_schema **out, qv_error *err) {
  if (n < 0 || (n > 0 && !indices))
    return qv_error_set(err, QV_E_INVALID, "select: bad index list");
  for (int32_t i = 0; i < n; i++)
    if (indices[i] < 0 || indices[i] >= s->n_fields)
      return qv_error_set(err, QV_E_RANGE, "select: column index %d of %d columns",
                          (int)indices[i], (int)s->n_fields);
  qv_field **fields = NULL;
  if (n > 0) {
    fields = qv_mem_alloc(a, (size_t)n * sizeof *fields, _Alignof(qv_field *));
    if (!fields) return qv__nomem(err, "field list", (size_t)n * sizeof *fields);
    for (int32_t i = 0; i < n; i++) fields[i] = s->fields[indices[i]];
  }
  qv_status st = qv_schema_new(fields, n, &s->metadata, a, out, err);
  if (fields) qv_mem_free(a, fields, (size_t)n * sizeof *fields, _Alignof(qv_field *));
  return st;
}

/* The columns `indices` of b under `schema` (from selected_schema). */
static qv_status batch_select_with(const qv_batch *b, const qv_schema *schema,
                                   const int32_t *indices, int32_t n, qv_batch **out,
                                   qv_error *err) {
  qv_array **cols;
  QV_TRY(cols_alloc(&b->alloc_, n, &cols, err));
  for (int32_t i = 0; i < n; i++) cols[i] = qv_array_ref(b->columns[indices[i]]);
  qv_status s = qv_batch_new(schema, b->length, cols, n, &b->alloc_, out, err);
  cols_free(&b->alloc_, cols, n);
  return s;
}

qv_status qv_batch_select(const qv_batch *b, const int32_t *indices, int32_t n, qv_batch **out,
                          qv_error *err) {
  qv_schema *schema = NULL;
  QV_TRY(selected_schema(b->schema, indices, n, &b->alloc_, &schema, err));
  qv_status s = batch_select_with(b, schema, indices, n, out, err);
  qv_schema_unref(schema);
  return s;
}

/* A copy of schema s with new names. */
static qv_status renamed_schema(const qv_schema *s, const char *const *names, int32_t n,
                                const qv_allocator *a, qv_schema **out, qv_error *err) {
  if (n != s->n_fields)
    return qv_error_set(err, QV_E_INVALID, "rename: %d names for %d columns", (int)n,
                        (int)s->n_fields);
  for (int32_t i = 0; i < n; i++)
    if (!names || !names[i]) return qv_error_set(err, QV_E_INVALID, "rename: name %d is NULL", (int)i);
  qv_field **fields = NULL;
  if (n > 0) {
    fields = qv_mem_calloc(a, (size_t)n * sizeof *fields, _Alignof(qv_field *));
    if (!fields) return qv__nomem(err, "field list", (size_t)n * sizeof *fields);
  }
  qv_status st = QV_OK;
  for (int32_t i = 0; i < n && st == QV_OK; i++)
    st = qv_field_with_name(s->fields[i], names[i], a, &fields[i], err);
  if (st == QV_OK) st = qv_schema_new(fields, n, &s->metadata, a, out, err);
  for (int32_t i = 0; i < n; i++) qv_field_unref(fields[i]);
  if (fields) qv_mem_free(a, fields, (size_t)n * sizeof *fields, _Alignof(qv_field *));
  return st;
}

static qv_status batch_with_schema(const qv_batch *b, const qv_schema *schema, qv_batch **out,
                                   qv_error *err) {
  qv_array **cols;
  QV_TRY(cols_alloc(&b->alloc_, b->n_columns, &cols, err));
  for (int32_t i = 0; i < b->n_columns; i++) cols[i] = qv_array_ref(b->columns[i]);
  qv_status s = qv_batch_new(schema, b->length, cols, b->n_columns, &b->alloc_, out, err);
  cols_free(&b->alloc_, cols, b->n_columns);
  return s;
}

qv_status qv_batch_rename(const qv_batch *b, const char *const *names, int32_t n, qv_batch **out,
                          qv_error *err) {
  qv_schema *s = NULL;
  QV_TRY(renamed_schema(b->schema, names, n, &b->alloc_, &s, err));
  qv_status st = batch_with_schema(b, s, out, err);
  qv_schema_unref(s);
  return st;
}

qv_status qv_batch_validate(const qv_batch *b, qv_validate_level level, qv_error *err) {
  char root[300];
  for (int32_t i = 0; i < b->n_columns; i++) {
    if (b->columns[i]->length != b->length)
      return qv_error_set(err, QV_E_CORRUPT, "column '%s': %lld rows, the batch has %lld",
                          b->schema->fields[i]->name, (long long)b->columns[i]->length,
                          (long long)b->length);
    snprintf(root, sizeof root, "column '%s'", b->schema->fields[i]->name);
    QV_TRY(qv__array_validate(b->columns[i], level, root, err));
  }
  return QV_OK;
}

bool qv_batch_equal(const qv_batch *a, const qv_batch *b, qv_error *diff) {
  if (!qv_schema_equal(a->schema, b->schema)) {
    if (diff) {
      char x[256], y[256];
      qv_schema_to_string(a->schema, x, sizeof x);
      qv_schema_to_string(b->schema, y, sizeof y);
      qv_error_set(diff, QV_E_INVALID, "schema %s != %s", x, y);
    }
    return false;
  }
  if (a->length != b->length) {
    if (diff)
      qv_error_set(diff, QV_E_INVALID, "length %lld != %lld", (long long)a->length,
                   (long long)b->length);
    return false;
  }
  char prefix[300];
  for (int32_t i = 0; i < a->n_columns; i++) {
    snprintf(prefix, sizeof prefix, "column '%s' ", a->schema->fields[i]->name);
    if (!qv__array_equal_prefixed(a->columns[i], b->columns[i], prefix, 0, diff)) return false;
  }
  return true;
}

/* ---- tables ------------------------------------------------------------------------------ */

qv_status qv_table_new(const qv_schema *schema, const qv_allocator *a, qv_table **out,
                       qv_error *err) {
  if (!schema) return qv_error_set(err, QV_E_INVALID, "table: NULL schema");
  if (!a) a = qv_allocator_default();
  qv_table *t = qv_mem_calloc(a, sizeof *t, _Alignof(qv_table));
  if (!t) return qv__nomem(err, "table", sizeof *t);
  t->schema = qv_schema_ref(schema);
  t->alloc_ = *a;
  *out = t;
  return QV_OK;
}

void qv_table_free(qv_table *t) {
  if (!t) return;
  for (int64_t i = 0; i < t->n_batches; i++) qv_batch_unref(t->batches[i]);
  if (t->batches)
    qv_mem_free(&t->alloc_, t->batches, (size_t)t->cap_ * sizeof *t->batches,
                _Alignof(qv_batch *));
  qv_schema_unref(t->schema);
  qv_allocator a = t->alloc_;
  qv_mem_free(&a, t, sizeof *t, _Alignof(qv_table));
}

qv_status qv_table_append_batch(qv_table *t, const qv_batch *b, qv_error *err) {
  if (!qv_schema_equal(t->schema, b->schema)) {
    if (t->schema->n_fields != b->schema->n_fields)
      return qv_error_set(err, QV_E_TYPE, "table: batch has %d columns, the table %d",
                          (int)b->schema->n_fields, (int)t->schema->n_fields);
    for (int32_t i = 0; i < t->schema->n_fields; i++)
      if (!qv_field_equal(t->schema->fields[i], b->schema->fields[i])) {
        char x[200], y[200];
        qv_field_to_string(b->schema->fields[i], x, sizeof x);
        qv_field_to_string(t->schema->fields[i], y, sizeof y);
        return qv_error_set(err, QV_E_TYPE, "table: batch field %d is '%s', the table has '%s'",
                            (int)i, x, y);
      }
  }
  int64_t rows;
  if (qv__add_overflow_i64(t->n_rows, b->length, &rows))
    return qv_error_set(err, QV_E_OVERFLOW, "table: row count overflows");
  if (t->n_batches == t->cap_) {
    int64_t nc = t->cap_ ? t->cap_ * 2 : 8;
    qv_batch **nb = qv_mem_realloc(&t->alloc_, t->batches, (size_t)t->cap_ * sizeof *nb,
                                   (size_t)nc * sizeof *nb, _Alignof(qv_batch *));
    if (!nb) return qv__nomem(err, "table batch list", (size_t)nc * sizeof *nb);
    t->batches = nb;
    t->cap_ = nc;
  }
  t->batches[t->n_batches++] = qv_batch_ref(b);
  t->n_rows = rows;
  return QV_OK;
}

int64_t qv_table_num_rows(const qv_table *t) { return t->n_rows; }

qv_status qv_table_slice(const qv_table *t, int64_t off, int64_t len, qv_table **out,
                         qv_error *err) {
  if (off < 0 || len < 0 || off > t->n_rows || len > t->n_rows - off)
    return qv_error_set(err, QV_E_RANGE, "table slice [%lld, +%lld) is outside %lld rows",
                        (long long)off, (long long)len, (long long)t->n_rows);
  qv_table *r = NULL;
  QV_TRY(qv_table_new(t->schema, &t->alloc_, &r, err));
  int64_t start = 0, end = off + len;
  qv_status s = QV_OK;
  for (int64_t i = 0; i < t->n_batches && s == QV_OK && start < end; i++) {
    const qv_batch *b = t->batches[i];
    int64_t bs = start, be = start + b->length;
    start = be;
    if (be <= off) continue;
    int64_t lo = off > bs ? off - bs : 0, hi = (end < be ? end : be) - bs;
    if (hi <= lo) continue;
    if (lo == 0 && hi == b->length) {
      s = qv_table_append_batch(r, b, err);
    } else {
      qv_batch *sl = NULL;
      s = qv_batch_slice(b, lo, hi - lo, &sl, err);
      if (s == QV_OK) {
        s = qv_table_append_batch(r, sl, err);
        qv_batch_unref(sl);
      }
    }
  }
  if (s < 0) {
    qv_table_free(r);
    return s;
  }
  *out = r;
  return QV_OK;
}

qv_status qv_table_combine(const qv_table *t, const qv_allocator *a, qv_batch **out,
                           qv_error *err) {
  if (!a) a = &t->alloc_;
  int32_t nc = t->schema->n_fields;
  qv_array **cols, **parts = NULL;
  QV_TRY(cols_alloc(a, nc, &cols, err));
  qv_status s = QV_OK;
  int64_t nb = t->n_batches;
  if (nb > INT32_MAX) s = qv_error_set(err, QV_E_LIMIT, "table: too many batches to combine");
  if (s == QV_OK && nb > 0) {
    parts = qv_mem_alloc(a, (size_t)nb * sizeof *parts, _Alignof(qv_array *));
    if (!parts) s = qv__nomem(err, "column parts", (size_t)nb * sizeof *parts);
  }
  for (int32_t c = 0; c < nc && s == QV_OK; c++) {
    if (nb == 0) {
      s = qv_array_new_empty(t->schema->fields[c]->type, a, &cols[c], err);
    } else {
      for (int64_t i = 0; i < nb; i++) parts[i] = t->batches[i]->columns[c];
      s = qv_array_concat(parts, (int32_t)nb, a, &cols[c], err);
    }
    if (s < 0) qv_error_prefix(err, "column '%s': ", t->schema->fields[c]->name);
  }
  if (s == QV_OK) s = qv_batch_new(t->schema, t->n_rows, cols, nc, a, out, err);
  if (parts) qv_mem_free(a, parts, (size_t)nb * sizeof *parts, _Alignof(qv_array *));
  cols_free(a, cols, nc);
  return s;
}

/* Select (indices) or rename (names) every batch of t under one derived schema. */
static qv_status table_map(const qv_table *t, const int32_t *indices, const char *const *names,
                           int32_t n, qv_table **out, qv_error *err) {
  qv_table *r = NULL;
  qv_schema *schema = NULL;
  QV_TRY(indices ? selected_schema(t->schema, indices, n, &t->alloc_, &schema, err)
                 : renamed_schema(t->schema, names, n, &t->alloc_, &schema, err));
  qv_status s = qv_table_new(schema, &t->alloc_, &r, err);
  for (int64_t i = 0; i < t->n_batches && s == QV_OK; i++) {
    qv_batch *nb = NULL;
    s = indices ? batch_select_with(t->batches[i], schema, indices, n, &nb, err)
                : batch_with_schema(t->batches[i], schema, &nb, err);
    if (s == QV_OK) s = qv_table_append_batch(r, nb, err);
    qv_batch_unref(nb);
  }
  qv_schema_unref(schema);
  if (s < 0) {
    qv_table_free(r);
    return s;
  }
  *out = r;
  return QV_OK;
}

qv_status qv_table_select(const qv_table *t, const int32_t *indices, int32_t n, qv_table **out,
                          qv_error *err) {
  if (!indices && n > 0) return qv_error_set(err, QV_E_INVALID, "table select: NULL indices");
  static const int32_t none[1] = {0};
  return table_map(t, indices ? indices : none, NULL, n, out, err);
}

qv_status qv_table_rename(const qv_table *t, const char *const *names, int32_t n, qv_table **out,
                          qv_error *err) {
  return table_map(t, NULL, names, n, out, err);
}

bool qv_table_equal(const qv_table *a, const qv_table *b, qv_error *diff) {
  if (!qv_schema_equal(a->schema, b->schema)) {
    if (diff) qv_error_set(diff, QV_E_INVALID, "schemas differ");
    return false;
  }
  if (a->n_rows != b->n_rows) {
    if (diff)
      qv_error_set(diff, QV_E_INVALID, "rows %lld != %lld", (long long)a->n_rows,
                   (long long)b->n_rows);
    return false;
  }
  /* walk both tables in aligned chunks */
  int64_t ia = 0, ib = 0, oa = 0, ob = 0, row = 0;
  char prefix[300];
  while (row < a->n_rows) {
    while (a->batches[ia]->length == oa) { ia++; oa = 0; }
    while (b->batches[ib]->length == ob) { ib++; ob = 0; }
    const qv_batch *x = a->batches[ia], *y = b->batches[ib];
    int64_t n = x->length - oa;
    if (y->length - ob < n) n = y->length - ob;
    for (int32_t c = 0; c < x->n_columns; c++) {
      for (int64_t k = 0; k < n; k++) {
        if (!qv__elem_equal(x->columns[c], oa + k, y->columns[c], ob + k)) {
          if (diff) {
            qv_array *sx = NULL, *sy = NULL;
            snprintf(prefix, sizeof prefix, "column '%s' ", a->schema->fields[c]->name);
            if (qv_array_slice(x->columns[c], oa + k, 1, &sx, NULL) == QV_OK &&
                qv_array_slice(y->columns[c], ob + k, 1, &sy, NULL) == QV_OK)
              (void)qv__array_equal_prefixed(sx, sy, prefix, row + k, diff);
            else
              qv_error_set(diff, QV_E_INVALID, "%srow %lld differs", prefix, (long long)(row + k));
            qv_array_unref(sx);
            qv_array_unref(sy);
          }
          return false;
        }
      }
    }
    oa += n;
    ob += n;
    row += n;
  }
  return true;
}
