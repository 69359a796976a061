/* schema.c — key/value metadata (qv_metadata), fields (qv_field) with extension-type helpers,
 * and schemas (qv_schema): construction, equality, rendering. */
#include <string.h>

#include "array_int.h"

/* ---- metadata ---------------------------------------------------------------------------- */

#define MD_MAX_ENTRIES (1 << 20)

void qv_metadata_init(qv_metadata *md, const qv_allocator *a) {
  md->entries = NULL;
  md->n = 0;
  md->cap_ = 0;
  md->alloc_ = a ? *a : *qv_allocator_default();
}

void qv_metadata_reset(qv_metadata *md) {
  if (!md) return;
  for (int32_t i = 0; i < md->n; i++) {
    qv_mem_free(&md->alloc_, md->entries[i].key, md->entries[i].key_len + 1, 1);
    qv_mem_free(&md->alloc_, md->entries[i].value, md->entries[i].value_len + 1, 1);
  }
  if (md->entries)
    qv_mem_free(&md->alloc_, md->entries, (size_t)md->cap_ * sizeof *md->entries,
                _Alignof(qv_metadata_entry));
  md->entries = NULL;
  md->n = 0;
  md->cap_ = 0;
}

static char *dup_n(const qv_allocator *a, const char *s, size_t n) {
  char *p = qv_mem_alloc(a, n + 1, 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

qv_status qv_metadata_append_n(qv_metadata *md, const char *key, size_t key_len,
                               const char *value, size_t value_len, qv_error *err) {
  if (md->n >= MD_MAX_ENTRIES)
    return qv_error_set(err, QV_E_LIMIT, "more than %d metadata entries", MD_MAX_ENTRIES);
  if (md->n == md->cap_) {
    int32_t ncap = md->cap_ ? md->cap_ * 2 : 4;
    qv_metadata_entry *e =
        qv_mem_realloc(&md->alloc_, md->entries, (size_t)md->cap_ * sizeof *e,
                       (size_t)ncap * sizeof *e, _Alignof(qv_metadata_entry));
    if (!e) return qv__nomem(err, "metadata entries", (size_t)ncap * sizeof *e);
    md->entries = e;
    md->cap_ = ncap;
  }
  char *k = dup_n(&md->alloc_, key, key_len);
  char *v = k ? dup_n(&md->alloc_, value, value_len) : NULL;
  if (!v) {
    if (k) qv_mem_free(&md->alloc_, k, key_len + 1, 1);
    return qv__nomem(err, "metadata entry", key_len + value_len + 2);
  }
  md->entries[md->n++] = (qv_metadata_entry){k, key_len, v, value_len};
  return QV_OK;
}

qv_status qv_metadata_append(qv_metadata *md, const char *key, const char *value,
                             qv_error *err) {
  return qv_metadata_append_n(md, key, strlen(key), value, strlen(value), err);
}

qv_status qv_metadata_set(qv_metadata *md, const char *key, const char *value, qv_error *err) {
  for (int32_t i = 0; i < md->n; i++) {
    if (strcmp(md->entries[i].key, key) == 0) {
      size_t vl = strlen(value);
      char *v = dup_n(&md->alloc_, value, vl);
      if (!v) return qv__nomem(err, "metadata value", vl + 1);
      qv_mem_free(&md->alloc_, md->entries[i].value, md->entries[i].value_len + 1, 1);
      md->entries[i].value = v;
      md->entries[i].value_len = vl;
      return QV_OK;
    }
  }
  return qv_metadata_append(md, key, value, err);
}

const char *qv_metadata_get(const qv_metadata *md, const char *key) {
  if (!md) return NULL;
  for (int32_t i = 0; i < md->n; i++)
    if (strcmp(md->entries[i].key, key) == 0) return md->entries[i].value;
  return NULL;
}

qv_status qv_metadata_copy(const qv_metadata *src, const qv_allocator *a, qv_metadata *dst,
                           qv_error *err) {
  qv_metadata_init(dst, a);
  if (!src) return QV_OK;
  for (int32_t i = 0; i < src->n; i++) {
    const qv_metadata_entry *e = &src->entries[i];
    qv_status s = qv_metadata_append_n(dst, e->key, e->key_len, e->value, e->value_len, err);
    if (s < 0) {
      qv_metadata_reset(dst);
      return s;
    }
  }
  return QV_OK;
}

bool qv_metadata_equal(const qv_metadata *a, const qv_metadata *b) {
  int32_t na = a ? a->n : 0, nb = b ? b->n : 0;
  if (na != nb) return false;
  for (int32_t i = 0; i < na; i++) {
    const qv_metadata_entry *x = &a->entries[i], *y = &b->entries[i];
    if (x->key_len != y->key_len || x->value_len != y->value_len) return false;
    if (memcmp(x->key, y->key, x->key_len) != 0) return false;
    if (memcmp(x->value, y->value, x->value_len) != 0) return false;
  }
  return true;
}

/* ---- fields ------------------------------------------------------------------------------ */

qv_status qv_field_new(const char *name, const qv_type *type, bool nullable,
                       const qv_metadata *md, const qv_allocator *a, qv_field **out,
                       qv_error *err) {
  if (!name) return qv_error_set(err, QV_E_INVALID, "field name is NULL");
  if (!type) return qv_error_set(err, QV_E_INVALID, "field '%s' has no type", name);
  if (!a) a = qv_allocator_default();
  qv_field *f = qv_mem_alloc(a, sizeof *f, _Alignof(qv_field));
  if (!f) return qv__nomem(err, "field", sizeof *f);
  memset(f, 0, sizeof *f);
  f->alloc_ = *a;
  f->refcount_ = 1;
  f->dictionary_id = -1;
  f->nullable = nullable;
  f->name = qv_mem_strdup(a, name);
  if (!f->name) {
    qv_mem_free(a, f, sizeof *f, _Alignof(qv_field));
    return qv__nomem(err, "field name", strlen(name) + 1);
  }
  qv_status s = qv_metadata_copy(md, a, &f->metadata, err);
  if (s < 0) {
    qv_mem_strfree(a, (char *)(uintptr_t)f->name);
    qv_mem_free(a, f, sizeof *f, _Alignof(qv_field));
    return s;
  }
  f->type = qv_type_ref(type);
  *out = f;
  return QV_OK;
}

qv_field *qv_field_ref(const qv_field *f) {
  qv_field *m = (qv_field *)(uintptr_t)f;
  if (m) __atomic_fetch_add(&m->refcount_, 1, __ATOMIC_RELAXED);
  return m;
}

void qv_field_unref(qv_field *f) {
  if (!f) return;
  if (__atomic_fetch_sub(&f->refcount_, 1, __ATOMIC_ACQ_REL) != 1) return;
  qv_allocator a = f->alloc_;
  qv_type_unref(f->type);
  qv_metadata_reset(&f->metadata);
  qv_mem_strfree(&a, (char *)(uintptr_t)f->name);
  qv_mem_free(&a, f, sizeof *f, _Alignof(qv_field));
}

qv_status qv_field_with_name(const qv_field *f, const char *name, const qv_allocator *a,
                             qv_field **out, qv_error *err) {
  qv_field *n = NULL;
  QV_TRY(qv_field_new(name, f->type, f->nullable, &f->metadata, a, &n, err));
  n->dictionary_id = f->dictionary_id;
  *out = n;
  return QV_OK;
}

qv_status qv_field_with_dictionary_id(const qv_field *f, int64_t id, const qv_allocator *a,
                                      qv_field **out, qv_error *err) {
  QV_TRY(qv_field_new(f->name, f->type, f->nullable, &f->metadata, a, out, err));
  (*out)->dictionary_id = id;
  return QV_OK;
}

qv_status qv_field_with_type(const qv_field *f, const qv_type *type, const qv_allocator *a,
                             qv_field **out, qv_error *err) {
  QV_TRY(qv_field_new(f->name, type, f->nullable, &f->metadata, a, out, err));
  (*out)->dictionary_id = f->dictionary_id;
  return QV_OK;
}

bool qv_field_equal(const qv_field *a, const qv_field *b) {
  if (a == b) return true;
  if (!a || !b) return false;
  return a->nullable == b->nullable && strcmp(a->name, b->name) == 0 &&
         qv_type_equal(a->type, b->type);
}

const char *qv_field_extension_name(const qv_field *f) {
  return qv_metadata_get(&f->metadata, QV_EXTENSION_NAME_KEY);
}

const char *qv_field_extension_metadata(const qv_field *f) {
  return qv_metadata_get(&f->metadata, QV_EXTENSION_METADATA_KEY);
}

size_t qv_field_to_string(const qv_field *f, char *buf, size_t cap) {
  qv__sbuf s;
  qv__sbuf_init(&s, buf, cap);
  qv__field_render(f, &s);
  return s.len;
}

/* ---- schemas ----------------------------------------------------------------------------- */

qv_status qv_schema_new(qv_field *const *fields, int32_t n, const qv_metadata *md,
                        const qv_allocator *a, qv_schema **out, qv_error *err) {
  if (n < 0) return qv_error_set(err, QV_E_INVALID, "negative field count %d", (int)n);
  if (n > 0 && !fields) return qv_error_set(err, QV_E_INVALID, "NULL field array");
  for (int32_t i = 0; i < n; i++)
    if (!fields[i]) return qv_error_set(err, QV_E_INVALID, "schema field %d is NULL", (int)i);
  if (!a) a = qv_allocator_default();
  qv_schema *s = qv_mem_alloc(a, sizeof *s, _Alignof(qv_schema));
  if (!s) return qv__nomem(err, "schema", sizeof *s);
  memset(s, 0, sizeof *s);
  s->alloc_ = *a;
  s->refcount_ = 1;
  qv_field **fs = NULL;
  if (n > 0) {
    fs = qv_mem_alloc(a, (size_t)n * sizeof *fs, _Alignof(qv_field *));
    if (!fs) {
      qv_mem_free(a, s, sizeof *s, _Alignof(qv_schema));
      return qv__nomem(err, "schema fields", (size_t)n * sizeof *fs);
    }
  }
  qv_status st = qv_metadata_copy(md, a, &s->metadata, err);
  if (st < 0) {
    if (fs) qv_mem_free(a, fs, (size_t)n * sizeof *fs, _Alignof(qv_field *));
    qv_mem_free(a, s, sizeof *s, _Alignof(qv_schema));
    return st;
  }
  for (int32_t i = 0; i < n; i++) fs[i] = qv_field_ref(fields[i]);
  s->fields = fs;
  s->n_fields = n;
  *out = s;
  return QV_OK;
}

qv_schema *qv_schema_ref(const qv_schema *s) {
  qv_schema *m = (qv_schema *)(uintptr_t)s;
  if (m) __atomic_fetch_add(&m->refcount_, 1, __ATOMIC_RELAXED);
  return m;
}

void qv_schema_unref(qv_schema *s) {
  if (!s) return;
  if (__atomic_fetch_sub(&s->refcount_, 1, __ATOMIC_ACQ_REL) != 1) return;
  qv_allocator a = s->alloc_;
  for (int32_t i = 0; i < s->n_fields; i++) qv_field_unref(s->fields[i]);
  if (s->fields)
    qv_mem_free(&a, (void *)(uintptr_t)s->fields, (size_t)s->n_fields * sizeof(qv_field *),
                _Alignof(qv_field *));
  qv_metadata_reset(&s->metadata);
  qv_mem_free(&a, s, sizeof *s, _Alignof(qv_schema));
}

bool qv_schema_equal(const qv_schema *a, const qv_schema *b) {
  if (a == b) return true;
  if (!a || !b || a->n_fields != b->n_fields) return false;
  for (int32_t i = 0; i < a->n_fields; i++)
    if (!qv_field_equal(a->fields[i], b->fields[i])) return false;
  return true;
}

int32_t qv_schema_find(const qv_schema *s, const char *name) {
  for (int32_t i = 0; i < s->n_fields; i++)
    if (strcmp(s->fields[i]->name, name) == 0) return i;
  return -1;
}

size_t qv_schema_to_string(const qv_schema *s, char *buf, size_t cap) {
  qv__sbuf sb;
  qv__sbuf_init(&sb, buf, cap);
  for (int32_t i = 0; i < s->n_fields; i++) {
    if (i) qv__sbuf_puts(&sb, ", ");
    qv__field_render(s->fields[i], &sb);
  }
  return sb.len;
}

size_t qv_schema_to_string_multiline(const qv_schema *s, char *buf, size_t cap) {
  qv__sbuf sb;
  qv__sbuf_init(&sb, buf, cap);
  for (int32_t i = 0; i < s->n_fields; i++) {
    qv__field_render(s->fields[i], &sb);
    qv__sbuf_puts(&sb, "\n");
  }
  for (int32_t i = 0; i < s->metadata.n; i++) {
    qv__sbuf_puts(&sb, "-- ");
    qv__sbuf_puts(&sb, s->metadata.entries[i].key);
    qv__sbuf_puts(&sb, ": ");
    qv__sbuf_puts(&sb, s->metadata.entries[i].value);
    qv__sbuf_puts(&sb, "\n");
  }
  return sb.len;
}
