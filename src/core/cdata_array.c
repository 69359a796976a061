/* cdata_array.c — the array half of the Arrow C Data Interface: zero-copy export of qv_array /
 * qv_batch to ArrowArray (refcounted private data) and zero-copy import back (foreign buffers
 * wrapped with a shared reference on the moved ArrowArray). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "array_int.h"

/* ---- export ------------------------------------------------------------------------------ */

/* What an absent (empty) non-validity buffer is exported as: consumers may read a few zero
 * bytes there (e.g. the single 0 offset of an empty binary array). */
static _Alignas(64) const uint8_t zero_block[64];

/* One allocation per exported node:
 * [priv][buffer pointers][variadic sizes][child pointers][child structs][dictionary struct]. */
typedef struct array_priv {
  qv_allocator alloc;
  size_t size;
  qv_array *arr; /* the reference that keeps every buffer alive */
} array_priv;

#define BLOCK_ALIGN 16

static void array_release(struct ArrowArray *x) {
  if (!x || !x->release) return;
  for (int64_t i = 0; i < x->n_children; i++) {
    struct ArrowArray *c = x->children[i];
    if (c && c->release) c->release(c);
  }
  if (x->dictionary && x->dictionary->release) x->dictionary->release(x->dictionary);
  array_priv *p = x->private_data;
  qv_array_unref(p->arr);
  qv_allocator alloc = p->alloc;
  qv_mem_free(&alloc, p, p->size, BLOCK_ALIGN);
  x->release = NULL;
  x->private_data = NULL;
}

static bool is_view(qv_type_id id) {
  return id == QV_TYPE_BINARY_VIEW || id == QV_TYPE_STRING_VIEW;
}

static qv_status export_node(const qv_array *arr, const qv_allocator *a, int depth,
                             struct ArrowArray *out, qv_error *err) {
  memset(out, 0, sizeof *out);
  if (depth > QV_VALIDATE_MAX_DEPTH)
    return qv_error_set(err, QV_E_LIMIT, "array export: nesting deeper than %d levels",
                        QV_VALIDATE_MAX_DEPTH);
  const qv_type *t = arr->type;
  bool views = is_view(t->id);
  int64_t nq = arr->n_buffers;
  int64_t nb = nq + (views ? 1 : 0);
  int64_t nv = views ? nq - 2 : 0;
  int64_t nc = arr->n_children;
  bool dict = arr->dictionary != NULL;
  size_t head = (sizeof(array_priv) + 15) & ~(size_t)15;
  size_t total = head + (size_t)nb * sizeof(void *) + (size_t)nv * sizeof(int64_t) +
                 (size_t)nc * (sizeof(struct ArrowArray *) + sizeof(struct ArrowArray)) +
                 (dict ? sizeof(struct ArrowArray) : 0);
  uint8_t *blk = qv_mem_calloc(a, total, BLOCK_ALIGN);
  if (!blk) return qv__nomem(err, "an exported ArrowArray", total);
  array_priv *p = (array_priv *)blk;
  p->alloc = a ? *a : *qv_allocator_default();
  p->size = total;
  p->arr = qv_array_ref(arr);
  const void **bufs = (const void **)(blk + head);
  int64_t *sizes = (int64_t *)(bufs + nb);
  struct ArrowArray **ptrs = (struct ArrowArray **)(sizes + nv);
  struct ArrowArray *kids = (struct ArrowArray *)(ptrs + nc);
  bool validity = qv_type_has_validity(t);
  for (int64_t i = 0; i < nq; i++) {
    const qv_buffer *b = &arr->buffers[i];
    if (b->data && b->len) bufs[i] = b->data;
    else bufs[i] = (i == 0 && validity) ? NULL : zero_block;
  }
  if (views) {
    for (int64_t k = 0; k < nv; k++) sizes[k] = (int64_t)arr->buffers[2 + k].len;
    bufs[nb - 1] = nv ? (const void *)sizes : (const void *)zero_block;
  }
  for (int64_t i = 0; i < nc; i++) ptrs[i] = &kids[i];

  out->length = arr->length;
  out->offset = arr->offset;
  out->null_count = t->id == QV_TYPE_NA ? arr->length
                    : validity           ? qv_array_null_count(arr)
                                         : 0;
  out->n_buffers = nb;
  out->n_children = nc;
  out->buffers = nb ? bufs : NULL;
  out->children = nc ? ptrs : NULL;
  out->dictionary = NULL;
  out->release = array_release;
  out->private_data = p;
  for (int64_t i = 0; i < nc; i++) {
    qv_status s = export_node(arr->children[i], a, depth + 1, ptrs[i], err);
    if (s < 0) {
      array_release(out);
      return s;
    }
  }
  if (dict) {
    struct ArrowArray *d = kids + nc;
    qv_status s = export_node(arr->dictionary, a, depth + 1, d, err);
    if (s < 0) {
      array_release(out);
      return s;
    }
    out->dictionary = d;
  }
  return QV_OK;
}

qv_status qv_array_export(const qv_array *arr, const qv_allocator *a, struct ArrowArray *out,
                          qv_error *err) {
  if (!out) return qv_error_set(err, QV_E_INVALID, "qv_array_export: NULL output");
  memset(out, 0, sizeof *out);
  if (!arr) return qv_error_set(err, QV_E_INVALID, "qv_array_export: NULL array");
  return export_node(arr, a, 0, out, err);
}

/* ---- import ------------------------------------------------------------------------------ */

/* The moved ArrowArray, released when the last wrapped buffer (and the importer) let go. */
typedef struct import_holder {
  atomic_size_t refs;
  struct ArrowArray array;
  qv_allocator alloc;
} import_holder;

static void holder_unref(import_holder *h) {
  if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_release) != 1) return;
  atomic_thread_fence(memory_order_acquire);
  if (h->array.release) h->array.release(&h->array);
  qv_allocator alloc = h->alloc;
  qv_mem_free(&alloc, h, sizeof *h, 0);
}

static void holder_buffer_release(void *ctx, const void *data, size_t len) {
  (void)data;
  (void)len;
  holder_unref(ctx);
}

#define PATH_CAP 256
#define BAD(...) qv_error_set(err, QV_E_INVALID, __VA_ARGS__)

/* Wraps `size` bytes at ptr (buffer `bi` of the node at `path`) into *out. */
static qv_status wrap(import_holder *h, const void *ptr, size_t size, int64_t bi,
                      const char *what, const char *path, const qv_allocator *a, qv_buffer *out,
                      qv_error *err) {
  memset(out, 0, sizeof *out);
  if (size == 0) return QV_OK;
  if (!ptr)
    return BAD("%s: buffer %lld (%s) is NULL but %zu bytes are needed", path, (long long)bi,
               what, size);
  atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
  return qv_buffer_wrap(ptr, size, holder_buffer_release, h, a, out, err);
}

static qv_status import_node(import_holder *h, const struct ArrowArray *x, const qv_type *t,
                             const qv_allocator *a, const char *path, int depth, qv_array **out,
                             qv_error *err);

/* Computes and wraps the quiver buffers of node x (nq of them) into bufs. */
static qv_status import_buffers(import_holder *h, const struct ArrowArray *x, const qv_type *t,
                                const qv_allocator *a, const char *path, qv_buffer *bufs,
                                int64_t nq, qv_error *err) {
  int64_t end = x->offset + x->length; /* overflow checked by the caller */
  const qv_type *lt = t->id == QV_TYPE_DICTIONARY ? t->index_type : t;
  const void *const *B = x->buffers;
  size_t sz;
  uint64_t n_end = (uint64_t)end;
#define NEED(n, bits, what)                                                                   \
  do {                                                                                      \
    if (!qv__elems_bytes((n), (uint64_t)(bits), &sz))                                       \
      return qv_error_set(err, QV_E_OVERFLOW, "%s: %s size for %llu elements overflows",    \
                          path, what, (unsigned long long)(n));                             \
  } while (0)
  int64_t bi = 0;
  if (qv_type_has_validity(t)) {
    if (!B[0]) {
      if (x->null_count > 0)
        return BAD("%s: validity bitmap is NULL but null_count is %lld", path,
                   (long long)x->null_count);
    } else {
      NEED(n_end, 1, "validity");
      QV_TRY(wrap(h, B[0], sz, 0, "validity", path, a, &bufs[0], err));
    }
    bi = 1;
  }
  switch (lt->id) {
    case QV_TYPE_NA: case QV_TYPE_FIXED_SIZE_LIST: case QV_TYPE_STRUCT:
    case QV_TYPE_RUN_END_ENCODED:
      return QV_OK;
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_MAP: {
      bool large = lt->id == QV_TYPE_LARGE_BINARY || lt->id == QV_TYPE_LARGE_STRING ||
                   lt->id == QV_TYPE_LARGE_LIST;
      bool has_data = !qv_type_id_is_list(lt->id);
      if (!B[1] && x->length == 0) return QV_OK; /* no offsets, no data: fine when empty */
      NEED(n_end + 1, large ? 64 : 32, "offsets");
      QV_TRY(wrap(h, B[1], sz, 1, "offsets", path, a, &bufs[1], err));
      if (!has_data) return QV_OK;
      int64_t last = qv__offset_at(B[1], end, large);
      if (last < 0)
        return qv_error_set(err, QV_E_CORRUPT, "%s: last offset %lld (at %lld) is negative",
                            path, (long long)last, (long long)end);
      if ((uint64_t)last > SIZE_MAX)
        return qv_error_set(err, QV_E_OVERFLOW, "%s: data size %lld too large", path,
                            (long long)last);
      return wrap(h, B[2], (size_t)last, 2, "data", path, a, &bufs[2], err);
    }
    case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW: {
      NEED(n_end, 128, "views");
      QV_TRY(wrap(h, B[1], sz, 1, "views", path, a, &bufs[1], err));
      int64_t nv = nq - 2;
      const void *sizes = B[x->n_buffers - 1];
      if (nv > 0 && !sizes)
        return BAD("%s: variadic buffer sizes (buffer %lld) is NULL with %lld data buffers", path,
                   (long long)(x->n_buffers - 1), (long long)nv);
      for (int64_t k = 0; k < nv; k++) {
        int64_t len;
        memcpy(&len, (const uint8_t *)sizes + (size_t)k * 8, 8);
        if (len < 0)
          return qv_error_set(err, QV_E_CORRUPT, "%s: variadic buffer %lld has negative size %lld",
                              path, (long long)k, (long long)len);
        if ((uint64_t)len > SIZE_MAX)
          return qv_error_set(err, QV_E_OVERFLOW, "%s: variadic buffer %lld too large", path,
                              (long long)k);
        QV_TRY(wrap(h, B[2 + k], (size_t)len, 2 + k, "variadic data", path, a, &bufs[2 + k],
                    err));
      }
      return QV_OK;
    }
    case QV_TYPE_LIST_VIEW: case QV_TYPE_LARGE_LIST_VIEW: {
      int64_t bits = lt->id == QV_TYPE_LIST_VIEW ? 32 : 64;
      NEED(n_end, bits, "offsets");
      QV_TRY(wrap(h, B[1], sz, 1, "offsets", path, a, &bufs[1], err));
      return wrap(h, B[2], sz, 2, "sizes", path, a, &bufs[2], err);
    }
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION:
      NEED(n_end, 8, "type ids");
      QV_TRY(wrap(h, B[0], sz, 0, "type ids", path, a, &bufs[0], err));
      if (lt->id == QV_TYPE_SPARSE_UNION) return QV_OK;
      NEED(n_end, 32, "offsets");
      return wrap(h, B[1], sz, 1, "offsets", path, a, &bufs[1], err);
    default: {
      int32_t bits = qv_type_bit_width(lt); /* 0 for fixed_size_binary(0): no bytes needed */
      if (bits <= 0 && lt->id != QV_TYPE_FIXED_SIZE_BINARY)
        return qv_error_set(err, QV_E_UNSUPPORTED, "%s: cannot import type %s", path,
                            qv_type_id_name(lt->id));
      NEED(n_end, bits, "data");
      return wrap(h, B[bi], sz, bi, "data", path, a, &bufs[bi], err);
    }
  }
#undef NEED
}

static qv_status import_node(import_holder *h, const struct ArrowArray *x, const qv_type *t,
                             const qv_allocator *a, const char *path, int depth, qv_array **out,
                             qv_error *err) {
  *out = NULL;
  char tn[128];
  if (depth > QV_VALIDATE_MAX_DEPTH)
    return qv_error_set(err, QV_E_LIMIT, "%s: nesting deeper than %d levels", path,
                        QV_VALIDATE_MAX_DEPTH);
  if (!x) return BAD("%s: ArrowArray is NULL", path);
  if (!x->release) return BAD("%s: ArrowArray is released", path);
  if (x->length < 0 || x->offset < 0)
    return BAD("%s: negative length %lld or offset %lld", path, (long long)x->length,
               (long long)x->offset);
  int64_t end;
  if (qv__add_overflow_i64(x->length, x->offset, &end))
    return qv_error_set(err, QV_E_OVERFLOW, "%s: offset + length overflows", path);
  if (x->null_count < -1 || x->null_count > x->length)
    return BAD("%s: null_count %lld outside [-1, length %lld]", path, (long long)x->null_count,
               (long long)x->length);
  qv_type_to_string(t, tn, sizeof tn);
  bool views = is_view(t->id);
  int64_t want_b = qv_type_layout_buffers(t) + (views ? 1 : 0);
  if (views ? (x->n_buffers < want_b || x->n_buffers > INT32_MAX) : x->n_buffers != want_b)
    return BAD("%s: n_buffers %lld does not match type %s (expected %s%lld)", path,
               (long long)x->n_buffers, tn, views ? "at least " : "", (long long)want_b);
  if (x->n_buffers > 0 && !x->buffers)
    return BAD("%s: n_buffers is %lld but buffers is NULL", path, (long long)x->n_buffers);
  int64_t want_c = t->id == QV_TYPE_DICTIONARY ? 0 : t->n_children;
  if (x->n_children != want_c)
    return BAD("%s: n_children %lld does not match type %s (expected %lld)", path,
               (long long)x->n_children, tn, (long long)want_c);
  if (want_c > 0 && !x->children)
    return BAD("%s: n_children is %lld but children is NULL", path, (long long)want_c);
  if ((t->id == QV_TYPE_DICTIONARY) != (x->dictionary != NULL))
    return BAD(t->id == QV_TYPE_DICTIONARY ? "%s: dictionary-encoded array without a dictionary"
                                           : "%s: dictionary given for non-dictionary type",
               path);

  int64_t nq = x->n_buffers - (views ? 1 : 0);
  size_t bytes = (size_t)nq * sizeof(qv_buffer) + (size_t)want_c * sizeof(qv_array *);
  uint8_t *blk = NULL;
  if (bytes) {
    blk = qv_mem_calloc(a, bytes, 0);
    if (!blk) return qv__nomem(err, "an imported array's parts", bytes);
  }
  qv_buffer *bufs = (qv_buffer *)blk;
  qv_array **kids = blk ? (qv_array **)(blk + (size_t)nq * sizeof(qv_buffer)) : NULL;
  qv_array *dict = NULL;
  qv_status s = import_buffers(h, x, t, a, path, bufs, nq, err);
  for (int64_t i = 0; s >= 0 && i < want_c; i++) {
    char cp[PATH_CAP];
    snprintf(cp, sizeof cp, "%s.%s", path, t->children[i]->name);
    s = import_node(h, x->children[i], t->children[i]->type, a, cp, depth + 1, &kids[i], err);
  }
  if (s >= 0 && x->dictionary) {
    char dp[PATH_CAP];
    snprintf(dp, sizeof dp, "%s (dictionary)", path);
    s = import_node(h, x->dictionary, t->value_type, a, dp, depth + 1, &dict, err);
  }
  if (s < 0) {
    for (int64_t i = 0; i < nq; i++) qv_buffer_unref(&bufs[i]);
    for (int64_t i = 0; i < want_c; i++) qv_array_unref(kids[i]);
    qv_array_unref(dict);
    qv_mem_free(a, blk, bytes, 0);
    return s;
  }
  int64_t nc;
  if (t->id == QV_TYPE_NA) nc = -1;
  else if (!qv_type_has_validity(t) || !x->buffers[0]) nc = 0;
  else nc = x->null_count;
  s = qv_array_new(t, x->length, x->offset, nc, (int32_t)nq, bufs, (int32_t)want_c, kids, dict,
                   a, out, err);
  qv_mem_free(a, blk, bytes, 0);
  if (s < 0 && s != QV_E_NOMEM && err) {
    /* qv_array_new names the node "array"; name it by its path instead */
    static const char root[] = "array: ";
    if (!strncmp(err->message, root, sizeof root - 1))
      memmove(err->message, err->message + sizeof root - 1,
              strlen(err->message + sizeof root - 1) + 1);
    qv_error_prefix(err, "%s: ", path);
  }
  return s;
}

/* qv_array_import with messages rooted at `root`. */
static qv_status import_root(struct ArrowArray *array, const qv_type *type,
                             const qv_allocator *a, const char *root, qv_array **out,
                             qv_error *err) {
  if (!out) return BAD("%s import: NULL output", root);
  *out = NULL;
  if (!array) return BAD("%s import: NULL ArrowArray", root);
  if (!array->release) return BAD("%s: ArrowArray is released", root);
  import_holder *h = qv_mem_alloc(a, sizeof *h, 0);
  if (!h) {
    array->release(array);
    return qv__nomem(err, "an import holder", sizeof *h);
  }
  atomic_init(&h->refs, 1);
  h->alloc = a ? *a : *qv_allocator_default();
  h->array = *array; /* move */
  array->release = NULL;
  if (!type) {
    holder_unref(h);
    return BAD("%s import: NULL type", root);
  }
  qv_status s = import_node(h, &h->array, type, a, root, 0, out, err);
  holder_unref(h); /* the importer's own reference: the buffers hold theirs */
  return s;
}

qv_status qv_array_import(struct ArrowArray *array, const qv_type *type, const qv_allocator *a,
                          qv_array **out, qv_error *err) {
  return import_root(array, type, a, "array", out, err);
}

/* ---- batches ----------------------------------------------------------------------------- */

qv_status qv_batch_export(const qv_batch *batch, const qv_allocator *a, struct ArrowArray *out,
                          struct ArrowSchema *schema_out, qv_error *err) {
  if (!out) return BAD("qv_batch_export: NULL output");
  memset(out, 0, sizeof *out);
  if (schema_out) memset(schema_out, 0, sizeof *schema_out);
  if (!batch) return BAD("qv_batch_export: NULL batch");
  qv_type *st = NULL;
  qv_array *sa = NULL;
  QV_TRY(qv_type_struct(batch->schema->fields, batch->n_columns, a, &st, err));
  qv_status s = QV_OK;
  size_t kb = (size_t)batch->n_columns * sizeof(qv_array *);
  qv_array **cols = NULL;
  if (kb) {
    cols = qv_mem_alloc(a, kb, 0);
    if (!cols) s = qv__nomem(err, "batch export columns", kb);
  }
  if (s >= 0) {
    for (int32_t i = 0; i < batch->n_columns; i++) cols[i] = qv_array_ref(batch->columns[i]);
    qv_buffer validity = {0};
    s = qv_array_new(st, batch->length, 0, 0, 1, &validity, batch->n_columns, cols, NULL, a, &sa,
                     err);
  }
  qv_mem_free(a, cols, kb, 0);
  qv_type_unref(st);
  if (s >= 0) s = qv_array_export(sa, a, out, err);
  qv_array_unref(sa);
  if (s >= 0 && schema_out) {
    s = qv_schema_export(batch->schema, a, schema_out, err);
    if (s < 0) out->release(out);
  }
  return s;
}

qv_status qv_batch_import(struct ArrowArray *array, const qv_schema *schema,
                          const qv_allocator *a, qv_batch **out, qv_error *err) {
  if (!out) return BAD("qv_batch_import: NULL output");
  *out = NULL;
  if (!array) return BAD("qv_batch_import: NULL ArrowArray");
  if (!schema) {
    if (array->release) array->release(array);
    return BAD("qv_batch_import: NULL schema");
  }
  qv_type *st = NULL;
  qv_status s = qv_type_struct(schema->fields, schema->n_fields, a, &st, err);
  if (s < 0) {
    if (array->release) array->release(array);
    return s;
  }
  qv_array *sa = NULL;
  s = import_root(array, st, a, "batch", &sa, err);
  qv_type_unref(st);
  if (s < 0) return s;
  if (qv_array_null_count(sa) != 0) {
    s = BAD("batch import: the struct array has %lld nulls (a record batch has none)",
            (long long)qv_array_null_count(sa));
    qv_array_unref(sa);
    return s;
  }
  size_t kb = (size_t)sa->n_children * sizeof(qv_array *);
  qv_array **cols = NULL;
  if (kb) {
    cols = qv_mem_calloc(a, kb, 0);
    if (!cols) {
      qv_array_unref(sa);
      return qv__nomem(err, "batch import columns", kb);
    }
  }
  for (int32_t i = 0; s >= 0 && i < sa->n_children; i++) {
    qv_array *c = sa->children[i];
    if (sa->offset == 0 && c->length == sa->length) cols[i] = qv_array_ref(c);
    else s = qv_array_slice(c, sa->offset, sa->length, &cols[i], err);
  }
  if (s >= 0) {
    s = qv_batch_new(schema, sa->length, cols, sa->n_children, a, out, err);
  } else {
    for (int32_t i = 0; i < sa->n_children; i++) qv_array_unref(cols[i]);
  }
  qv_mem_free(a, cols, kb, 0);
  qv_array_unref(sa);
  return s;
}
