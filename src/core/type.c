/* type.c — qv_type: the static singletons, the parameterised constructors, equality, layout
 * facts (bit widths, buffer counts) and Arrow-style rendering ("list<item: utf8>"). */
#include <stdio.h>
#include <string.h>

#include "array_int.h"

/* ---- string sink ------------------------------------------------------------------------- */

void qv__sbuf_putn(qv__sbuf *s, const char *str, size_t n) {
  if (s->cap && s->len < s->cap - 1) {
    size_t room = s->cap - 1 - s->len;
    size_t k = n < room ? n : room;
    memcpy(s->buf + s->len, str, k);
    s->buf[s->len + k] = '\0';
  }
  s->len += n;
}

void qv__sbuf_puts(qv__sbuf *s, const char *str) { qv__sbuf_putn(s, str, strlen(str)); }

void qv__sbuf_printf(qv__sbuf *s, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    qv__sbuf_putn(s, tmp, (size_t)n);
    return;
  }
  /* Long output (only with long string arguments): write it directly where it fits. */
  char *dst = NULL;
  size_t room = 0;
  if (s->cap && s->len < s->cap - 1) {
    dst = s->buf + s->len;
    room = s->cap - s->len;
  }
  va_start(ap, fmt);
  if (dst) (void)vsnprintf(dst, room, fmt, ap);
  va_end(ap);
  s->len += (size_t)n;
}

/* ---- singletons -------------------------------------------------------------------------- */

#define PRIM(ID) [ID] = {.id = ID, .refcount_ = -1}
static qv_type prims[QV_TYPE_ID_COUNT] = {
    PRIM(QV_TYPE_NA),          PRIM(QV_TYPE_BOOL),       PRIM(QV_TYPE_INT8),
    PRIM(QV_TYPE_INT16),       PRIM(QV_TYPE_INT32),      PRIM(QV_TYPE_INT64),
    PRIM(QV_TYPE_UINT8),       PRIM(QV_TYPE_UINT16),     PRIM(QV_TYPE_UINT32),
    PRIM(QV_TYPE_UINT64),      PRIM(QV_TYPE_HALF_FLOAT), PRIM(QV_TYPE_FLOAT),
    PRIM(QV_TYPE_DOUBLE),      PRIM(QV_TYPE_DATE32),     PRIM(QV_TYPE_DATE64),
    PRIM(QV_TYPE_BINARY),      PRIM(QV_TYPE_STRING),     PRIM(QV_TYPE_LARGE_BINARY),
    PRIM(QV_TYPE_LARGE_STRING), PRIM(QV_TYPE_BINARY_VIEW), PRIM(QV_TYPE_STRING_VIEW),
    PRIM(QV_TYPE_INTERVAL_MONTHS), PRIM(QV_TYPE_INTERVAL_DAY_TIME),
    PRIM(QV_TYPE_INTERVAL_MONTH_DAY_NANO),
};
#undef PRIM

qv_type *qv_type_primitive(qv_type_id id) {
  if ((unsigned)id >= QV_TYPE_ID_COUNT) return NULL;
  return prims[id].refcount_ < 0 && prims[id].id == id ? &prims[id] : NULL;
}

qv_type *qv_type_na(void) { return &prims[QV_TYPE_NA]; }
qv_type *qv_type_bool(void) { return &prims[QV_TYPE_BOOL]; }
qv_type *qv_type_int8(void) { return &prims[QV_TYPE_INT8]; }
qv_type *qv_type_int16(void) { return &prims[QV_TYPE_INT16]; }
qv_type *qv_type_int32(void) { return &prims[QV_TYPE_INT32]; }
qv_type *qv_type_int64(void) { return &prims[QV_TYPE_INT64]; }
qv_type *qv_type_uint8(void) { return &prims[QV_TYPE_UINT8]; }
qv_type *qv_type_uint16(void) { return &prims[QV_TYPE_UINT16]; }
qv_type *qv_type_uint32(void) { return &prims[QV_TYPE_UINT32]; }
qv_type *qv_type_uint64(void) { return &prims[QV_TYPE_UINT64]; }
qv_type *qv_type_float16(void) { return &prims[QV_TYPE_HALF_FLOAT]; }
qv_type *qv_type_float32(void) { return &prims[QV_TYPE_FLOAT]; }
qv_type *qv_type_float64(void) { return &prims[QV_TYPE_DOUBLE]; }
qv_type *qv_type_date32(void) { return &prims[QV_TYPE_DATE32]; }
qv_type *qv_type_date64(void) { return &prims[QV_TYPE_DATE64]; }
qv_type *qv_type_binary(void) { return &prims[QV_TYPE_BINARY]; }
qv_type *qv_type_utf8(void) { return &prims[QV_TYPE_STRING]; }
qv_type *qv_type_large_binary(void) { return &prims[QV_TYPE_LARGE_BINARY]; }
qv_type *qv_type_large_utf8(void) { return &prims[QV_TYPE_LARGE_STRING]; }
qv_type *qv_type_binary_view(void) { return &prims[QV_TYPE_BINARY_VIEW]; }
qv_type *qv_type_utf8_view(void) { return &prims[QV_TYPE_STRING_VIEW]; }
qv_type *qv_type_interval_months(void) { return &prims[QV_TYPE_INTERVAL_MONTHS]; }
qv_type *qv_type_interval_day_time(void) { return &prims[QV_TYPE_INTERVAL_DAY_TIME]; }
qv_type *qv_type_interval_month_day_nano(void) {
  return &prims[QV_TYPE_INTERVAL_MONTH_DAY_NANO];
}

/* ---- lifetime ---------------------------------------------------------------------------- */

qv_type *qv_type_ref(const qv_type *t) {
  qv_type *m = (qv_type *)(uintptr_t)t;
  if (m && m->refcount_ >= 0) __atomic_fetch_add(&m->refcount_, 1, __ATOMIC_RELAXED);
  return m;
}

void qv_type_unref(qv_type *t) {
  if (!t || t->refcount_ < 0) return;
  if (__atomic_fetch_sub(&t->refcount_, 1, __ATOMIC_ACQ_REL) != 1) return;
  qv_allocator a = t->alloc_;
  for (int32_t i = 0; i < t->n_children; i++) qv_field_unref(t->children[i]);
  if (t->children)
    qv_mem_free(&a, (void *)(uintptr_t)t->children, (size_t)t->n_children * sizeof(qv_field *),
                _Alignof(qv_field *));
  if (t->type_codes)
    qv_mem_free(&a, (void *)(uintptr_t)t->type_codes, (size_t)t->n_children, 1);
  qv_mem_strfree(&a, (char *)(uintptr_t)t->timezone);
  qv_type_unref(t->index_type);
  qv_type_unref(t->value_type);
  qv_mem_free(&a, t, sizeof *t, _Alignof(qv_type));
}

static qv_status type_alloc(qv_type_id id, const qv_allocator *a, qv_type **out, qv_error *err) {
  if (!a) a = qv_allocator_default();
  qv_type *t = qv_mem_alloc(a, sizeof *t, _Alignof(qv_type));
  if (!t) return qv__nomem(err, "type", sizeof *t);
  memset(t, 0, sizeof *t);
  t->id = id;
  t->refcount_ = 1;
  t->alloc_ = *a;
  memset(t->union_child_of_code_, 0xff, sizeof t->union_child_of_code_);
  *out = t;
  return QV_OK;
}

/* Takes references to n fields into t->children. */
static qv_status type_set_children(qv_type *t, qv_field *const *fields, int32_t n,
                                   qv_error *err) {
  if (n < 0) return qv_error_set(err, QV_E_INVALID, "negative child count %d", (int)n);
  if (n == 0) return QV_OK;
  if (!fields) return qv_error_set(err, QV_E_INVALID, "NULL child field array");
  for (int32_t i = 0; i < n; i++)
    if (!fields[i]) return qv_error_set(err, QV_E_INVALID, "child field %d is NULL", (int)i);
  qv_field **c = qv_mem_alloc(&t->alloc_, (size_t)n * sizeof *c, _Alignof(qv_field *));
  if (!c) return qv__nomem(err, "type children", (size_t)n * sizeof *c);
  for (int32_t i = 0; i < n; i++) c[i] = qv_field_ref(fields[i]);
  t->children = c;
  t->n_children = n;
  return QV_OK;
}

static const char *unit_name(qv_time_unit u) {
  switch (u) {
    case QV_TIME_SECOND: return "s";
    case QV_TIME_MILLI: return "ms";
    case QV_TIME_MICRO: return "us";
    case QV_TIME_NANO: return "ns";
  }
  return "?";
}

static qv_status check_unit(qv_time_unit unit, qv_error *err) {
  if ((unsigned)unit > QV_TIME_NANO)
    return qv_error_set(err, QV_E_INVALID, "invalid time unit %d", (int)unit);
  return QV_OK;
}

static qv_status unit_type(qv_type_id id, qv_time_unit unit, const qv_allocator *a,
                           qv_type **out, qv_error *err) {
  QV_TRY(check_unit(unit, err));
  QV_TRY(type_alloc(id, a, out, err));
  (*out)->unit = unit;
  return QV_OK;
}

qv_status qv_type_time32(qv_time_unit unit, const qv_allocator *a, qv_type **out,
                         qv_error *err) {
  if (unit != QV_TIME_SECOND && unit != QV_TIME_MILLI)
    return qv_error_set(err, QV_E_INVALID, "time32 needs unit s or ms, not %s", unit_name(unit));
  return unit_type(QV_TYPE_TIME32, unit, a, out, err);
}

qv_status qv_type_time64(qv_time_unit unit, const qv_allocator *a, qv_type **out,
                         qv_error *err) {
  if (unit != QV_TIME_MICRO && unit != QV_TIME_NANO)
    return qv_error_set(err, QV_E_INVALID, "time64 needs unit us or ns, not %s", unit_name(unit));
  return unit_type(QV_TYPE_TIME64, unit, a, out, err);
}

qv_status qv_type_timestamp(qv_time_unit unit, const char *timezone, const qv_allocator *a,
                            qv_type **out, qv_error *err) {
  qv_type *t = NULL;
  QV_TRY(unit_type(QV_TYPE_TIMESTAMP, unit, a, &t, err));
  if (timezone) {
    t->timezone = qv_mem_strdup(&t->alloc_, timezone);
    if (!t->timezone) {
      qv_type_unref(t);
      return qv__nomem(err, "timezone", strlen(timezone) + 1);
    }
  }
  *out = t;
  return QV_OK;
}

qv_status qv_type_duration(qv_time_unit unit, const qv_allocator *a, qv_type **out,
                           qv_error *err) {
  return unit_type(QV_TYPE_DURATION, unit, a, out, err);
}

qv_status qv_type_decimal(int32_t bit_width, int32_t precision, int32_t scale,
                          const qv_allocator *a, qv_type **out, qv_error *err) {
  qv_type_id id;
  int32_t maxp;
  switch (bit_width) {
    case 32: id = QV_TYPE_DECIMAL32; maxp = 9; break;
    case 64: id = QV_TYPE_DECIMAL64; maxp = 18; break;
    case 128: id = QV_TYPE_DECIMAL128; maxp = 38; break;
    case 256: id = QV_TYPE_DECIMAL256; maxp = 76; break;
    default:
      return qv_error_set(err, QV_E_INVALID, "decimal bit width %d is not 32, 64, 128 or 256",
                          (int)bit_width);
  }
  if (precision < 1 || precision > maxp)
    return qv_error_set(err, QV_E_INVALID, "decimal%d precision %d is outside [1, %d]",
                        (int)bit_width, (int)precision, (int)maxp);
  QV_TRY(type_alloc(id, a, out, err));
  (*out)->bit_width = bit_width;
  (*out)->byte_width = bit_width / 8;
  (*out)->precision = precision;
  (*out)->scale = scale;
  return QV_OK;
}

qv_status qv_type_fixed_size_binary(int32_t byte_width, const qv_allocator *a, qv_type **out,
                                    qv_error *err) {
  if (byte_width < 0)
    return qv_error_set(err, QV_E_INVALID, "fixed_size_binary width %d is negative",
                        (int)byte_width);
  if (byte_width > INT32_MAX / 8) /* the width in bits must fit qv_type_bit_width's int32 */
    return qv_error_set(err, QV_E_LIMIT, "fixed_size_binary width %d exceeds %d bytes",
                        (int)byte_width, INT32_MAX / 8);
  QV_TRY(type_alloc(QV_TYPE_FIXED_SIZE_BINARY, a, out, err));
  (*out)->byte_width = byte_width;
  return QV_OK;
}

static qv_status nested_type(qv_type_id id, qv_field *const *fields, int32_t n,
                             const qv_allocator *a, qv_type **out, qv_error *err) {
  qv_type *t = NULL;
  QV_TRY(type_alloc(id, a, &t, err));
  qv_status s = type_set_children(t, fields, n, err);
  if (s < 0) {
    qv_type_unref(t);
    return s;
  }
  *out = t;
  return QV_OK;
}

static qv_status list_type(qv_type_id id, const qv_field *item, const qv_allocator *a,
                           qv_type **out, qv_error *err) {
  if (!item) return qv_error_set(err, QV_E_INVALID, "%s needs an item field", qv_type_id_name(id));
  qv_field *f = (qv_field *)(uintptr_t)item;
  return nested_type(id, &f, 1, a, out, err);
}

qv_status qv_type_list(const qv_field *item, const qv_allocator *a, qv_type **out,
                       qv_error *err) {
  return list_type(QV_TYPE_LIST, item, a, out, err);
}
qv_status qv_type_large_list(const qv_field *item, const qv_allocator *a, qv_type **out,
                             qv_error *err) {
  return list_type(QV_TYPE_LARGE_LIST, item, a, out, err);
}
qv_status qv_type_list_view(const qv_field *item, const qv_allocator *a, qv_type **out,
                            qv_error *err) {
  return list_type(QV_TYPE_LIST_VIEW, item, a, out, err);
}
qv_status qv_type_large_list_view(const qv_field *item, const qv_allocator *a, qv_type **out,
                                  qv_error *err) {
  return list_type(QV_TYPE_LARGE_LIST_VIEW, item, a, out, err);
}

qv_status qv_type_list_of(qv_type_id list_id, const qv_type *item_type, const qv_allocator *a,
                          qv_type **out, qv_error *err) {
  if (list_id != QV_TYPE_LIST && list_id != QV_TYPE_LARGE_LIST && list_id != QV_TYPE_LIST_VIEW &&
      list_id != QV_TYPE_LARGE_LIST_VIEW)
    return qv_error_set(err, QV_E_INVALID, "qv_type_list_of: %s is not a list type",
                        qv_type_id_name(list_id));
  qv_field *f = NULL;
  QV_TRY(qv_field_new("item", item_type, true, NULL, a, &f, err));
  qv_status s = list_type(list_id, f, a, out, err);
  qv_field_unref(f);
  return s;
}

qv_status qv_type_fixed_size_list(const qv_field *item, int32_t list_size, const qv_allocator *a,
                                  qv_type **out, qv_error *err) {
  if (list_size < 0)
    return qv_error_set(err, QV_E_INVALID, "fixed_size_list size %d is negative", (int)list_size);
  QV_TRY(list_type(QV_TYPE_FIXED_SIZE_LIST, item, a, out, err));
  (*out)->list_size = list_size;
  return QV_OK;
}

qv_status qv_type_struct(qv_field *const *fields, int32_t n, const qv_allocator *a,
                         qv_type **out, qv_error *err) {
  return nested_type(QV_TYPE_STRUCT, fields, n, a, out, err);
}

qv_status qv_type_map_from_entries(const qv_field *entries, bool keys_sorted,
                                   const qv_allocator *a, qv_type **out, qv_error *err) {
  if (!entries || entries->type->id != QV_TYPE_STRUCT || entries->type->n_children != 2)
    return qv_error_set(err, QV_E_INVALID, "map entries must be a struct of 2 fields");
  if (entries->type->children[0]->nullable)
    return qv_error_set(err, QV_E_INVALID, "map key field '%s' must not be nullable",
                        entries->type->children[0]->name);
  if (entries->nullable)
    return qv_error_set(err, QV_E_INVALID, "map entries field '%s' must not be nullable",
                        entries->name);
  QV_TRY(list_type(QV_TYPE_MAP, entries, a, out, err));
  (*out)->keys_sorted = keys_sorted;
  return QV_OK;
}

qv_status qv_type_map(const qv_field *key, const qv_field *value, bool keys_sorted,
                      const qv_allocator *a, qv_type **out, qv_error *err) {
  if (!key || !value) return qv_error_set(err, QV_E_INVALID, "map needs key and value fields");
  if (key->nullable)
    return qv_error_set(err, QV_E_INVALID, "map key field '%s' must not be nullable", key->name);
  qv_field *kv[2] = {(qv_field *)(uintptr_t)key, (qv_field *)(uintptr_t)value};
  qv_type *st = NULL;
  qv_field *entries = NULL;
  qv_status s;
  QV_TRY_GOTO(s, qv_type_struct(kv, 2, a, &st, err), done);
  QV_TRY_GOTO(s, qv_field_new("entries", st, false, NULL, a, &entries, err), done);
  s = qv_type_map_from_entries(entries, keys_sorted, a, out, err);
done:
  qv_field_unref(entries);
  qv_type_unref(st);
  return s;
}

qv_status qv_type_union(qv_union_mode mode, qv_field *const *fields, const int8_t *type_codes,
                        int32_t n, const qv_allocator *a, qv_type **out, qv_error *err) {
  if (mode != QV_UNION_SPARSE && mode != QV_UNION_DENSE)
    return qv_error_set(err, QV_E_INVALID, "invalid union mode %d", (int)mode);
  if (n < 0 || n > QV_UNION_MAX_CHILDREN)
    return qv_error_set(err, QV_E_INVALID, "union of %d children (at most %d)", (int)n,
                        QV_UNION_MAX_CHILDREN);
  int8_t seen[QV_UNION_MAX_CHILDREN];
  memset(seen, 0xff, sizeof seen);
  for (int32_t i = 0; i < n; i++) {
    int32_t code = type_codes ? type_codes[i] : i;
    if (code < 0)
      return qv_error_set(err, QV_E_INVALID, "union type code %d is negative", (int)code);
    if (seen[code] >= 0)
      return qv_error_set(err, QV_E_INVALID, "union type code %d is used twice", (int)code);
    seen[code] = (int8_t)i;
  }
  qv_type *t = NULL;
  QV_TRY(nested_type(mode == QV_UNION_SPARSE ? QV_TYPE_SPARSE_UNION : QV_TYPE_DENSE_UNION,
                     fields, n, a, &t, err));
  t->union_mode = mode;
  if (n > 0) {
    int8_t *codes = qv_mem_alloc(&t->alloc_, (size_t)n, 1);
    if (!codes) {
      qv_type_unref(t);
      return qv__nomem(err, "union type codes", (size_t)n);
    }
    for (int32_t i = 0; i < n; i++) codes[i] = type_codes ? type_codes[i] : (int8_t)i;
    t->type_codes = codes;
  }
  memcpy(t->union_child_of_code_, seen, sizeof seen);
  *out = t;
  return QV_OK;
}

qv_status qv_type_dictionary(const qv_type *index_type, const qv_type *value_type, bool ordered,
                             const qv_allocator *a, qv_type **out, qv_error *err) {
  if (!index_type || !qv_type_id_is_integer(index_type->id))
    return qv_error_set(err, QV_E_INVALID, "dictionary index type must be an integer type, not %s",
                        index_type ? qv_type_id_name(index_type->id) : "NULL");
  if (!value_type) return qv_error_set(err, QV_E_INVALID, "dictionary needs a value type");
  QV_TRY(type_alloc(QV_TYPE_DICTIONARY, a, out, err));
  (*out)->index_type = qv_type_ref(index_type);
  (*out)->value_type = qv_type_ref(value_type);
  (*out)->ordered = ordered;
  return QV_OK;
}

qv_status qv_type_run_end_encoded_fields(const qv_field *run_ends, const qv_field *values,
                                         const qv_allocator *a, qv_type **out, qv_error *err) {
  if (!run_ends || !values)
    return qv_error_set(err, QV_E_INVALID, "run_end_encoded needs run_ends and values fields");
  qv_type_id rid = run_ends->type->id;
  if (rid != QV_TYPE_INT16 && rid != QV_TYPE_INT32 && rid != QV_TYPE_INT64)
    return qv_error_set(err, QV_E_INVALID, "run end type must be int16, int32 or int64, not %s",
                        qv_type_id_name(rid));
  if (run_ends->nullable)
    return qv_error_set(err, QV_E_INVALID, "run_ends field must not be nullable");
  qv_field *f[2] = {(qv_field *)(uintptr_t)run_ends, (qv_field *)(uintptr_t)values};
  return nested_type(QV_TYPE_RUN_END_ENCODED, f, 2, a, out, err);
}

qv_status qv_type_run_end_encoded(const qv_type *run_end_type, const qv_type *value_type,
                                  const qv_allocator *a, qv_type **out, qv_error *err) {
  if (!run_end_type || !value_type)
    return qv_error_set(err, QV_E_INVALID, "run_end_encoded needs two types");
  qv_field *r = NULL, *v = NULL;
  qv_status s;
  QV_TRY_GOTO(s, qv_field_new("run_ends", run_end_type, false, NULL, a, &r, err), done);
  QV_TRY_GOTO(s, qv_field_new("values", value_type, true, NULL, a, &v, err), done);
  s = qv_type_run_end_encoded_fields(r, v, a, out, err);
done:
  qv_field_unref(r);
  qv_field_unref(v);
  return s;
}

/* ---- facts ------------------------------------------------------------------------------- */

const qv_field *qv_type_child(const qv_type *t, int32_t i) {
  return (i >= 0 && i < t->n_children) ? t->children[i] : NULL;
}

int32_t qv_type_union_child_index(const qv_type *t, int8_t type_code) {
  if (type_code < 0 || (t->id != QV_TYPE_SPARSE_UNION && t->id != QV_TYPE_DENSE_UNION)) return -1;
  return t->union_child_of_code_[type_code];
}

bool qv_type_id_is_integer(qv_type_id id) { return id >= QV_TYPE_INT8 && id <= QV_TYPE_UINT64; }
bool qv_type_id_is_signed(qv_type_id id) { return id >= QV_TYPE_INT8 && id <= QV_TYPE_INT64; }
bool qv_type_id_is_floating(qv_type_id id) {
  return id >= QV_TYPE_HALF_FLOAT && id <= QV_TYPE_DOUBLE;
}
bool qv_type_id_is_decimal(qv_type_id id) {
  return id >= QV_TYPE_DECIMAL32 && id <= QV_TYPE_DECIMAL256;
}
bool qv_type_id_is_temporal(qv_type_id id) {
  return id >= QV_TYPE_DATE32 && id <= QV_TYPE_INTERVAL_MONTH_DAY_NANO;
}
bool qv_type_id_is_binary_like(qv_type_id id) {
  return id >= QV_TYPE_BINARY && id <= QV_TYPE_FIXED_SIZE_BINARY;
}
bool qv_type_id_is_string(qv_type_id id) {
  return id == QV_TYPE_STRING || id == QV_TYPE_LARGE_STRING || id == QV_TYPE_STRING_VIEW;
}
bool qv_type_id_is_nested(qv_type_id id) {
  return (id >= QV_TYPE_LIST && id <= QV_TYPE_DENSE_UNION) || id == QV_TYPE_RUN_END_ENCODED;
}
bool qv_type_id_is_list(qv_type_id id) {
  return (id >= QV_TYPE_LIST && id <= QV_TYPE_FIXED_SIZE_LIST) || id == QV_TYPE_MAP;
}

int32_t qv_type_bit_width(const qv_type *t) {
  switch (t->id) {
    case QV_TYPE_BOOL: return 1;
    case QV_TYPE_INT8: case QV_TYPE_UINT8: return 8;
    case QV_TYPE_INT16: case QV_TYPE_UINT16: case QV_TYPE_HALF_FLOAT: return 16;
    case QV_TYPE_INT32: case QV_TYPE_UINT32: case QV_TYPE_FLOAT: case QV_TYPE_DATE32:
    case QV_TYPE_TIME32: case QV_TYPE_INTERVAL_MONTHS: case QV_TYPE_DECIMAL32: return 32;
    case QV_TYPE_INT64: case QV_TYPE_UINT64: case QV_TYPE_DOUBLE: case QV_TYPE_DATE64:
    case QV_TYPE_TIME64: case QV_TYPE_TIMESTAMP: case QV_TYPE_DURATION:
    case QV_TYPE_INTERVAL_DAY_TIME: case QV_TYPE_DECIMAL64: return 64;
    case QV_TYPE_INTERVAL_MONTH_DAY_NANO: case QV_TYPE_DECIMAL128: return 128;
    case QV_TYPE_DECIMAL256: return 256;
    case QV_TYPE_FIXED_SIZE_BINARY: return t->byte_width * 8; /* width <= INT32_MAX/8 */
    case QV_TYPE_DICTIONARY: return qv_type_bit_width(t->index_type);
    default: return 0;
  }
}

int32_t qv__fixed_byte_width(const qv_type *t) {
  if (t->id == QV_TYPE_BOOL || t->id == QV_TYPE_DICTIONARY) return 0;
  return qv_type_bit_width(t) / 8;
}

int32_t qv_type_layout_buffers(const qv_type *t) {
  switch (t->id) {
    case QV_TYPE_NA: case QV_TYPE_RUN_END_ENCODED: return 0;
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_LIST_VIEW: case QV_TYPE_LARGE_LIST_VIEW: return 3;
    case QV_TYPE_FIXED_SIZE_LIST: case QV_TYPE_STRUCT: case QV_TYPE_SPARSE_UNION: return 1;
    case QV_TYPE_DICTIONARY: return qv_type_layout_buffers(t->index_type);
    default: return 2;
  }
}

bool qv_type_has_validity(const qv_type *t) {
  return t->id != QV_TYPE_NA && t->id != QV_TYPE_SPARSE_UNION && t->id != QV_TYPE_DENSE_UNION &&
         t->id != QV_TYPE_RUN_END_ENCODED;
}

/* ---- equality ---------------------------------------------------------------------------- */

bool qv_type_equal(const qv_type *a, const qv_type *b) {
  if (a == b) return true;
  if (!a || !b || a->id != b->id) return false;
  switch (a->id) {
    case QV_TYPE_TIME32: case QV_TYPE_TIME64: case QV_TYPE_DURATION:
      if (a->unit != b->unit) return false;
      break;
    case QV_TYPE_TIMESTAMP:
      if (a->unit != b->unit) return false;
      if (!a->timezone != !b->timezone) return false;
      if (a->timezone && strcmp(a->timezone, b->timezone) != 0) return false;
      break;
    case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL128:
    case QV_TYPE_DECIMAL256:
      if (a->precision != b->precision || a->scale != b->scale) return false;
      break;
    case QV_TYPE_FIXED_SIZE_BINARY:
      if (a->byte_width != b->byte_width) return false;
      break;
    case QV_TYPE_FIXED_SIZE_LIST:
      if (a->list_size != b->list_size) return false;
      break;
    case QV_TYPE_MAP:
      if (a->keys_sorted != b->keys_sorted) return false;
      break;
    case QV_TYPE_DICTIONARY:
      return a->ordered == b->ordered && qv_type_equal(a->index_type, b->index_type) &&
             qv_type_equal(a->value_type, b->value_type);
    default: break;
  }
  if (a->n_children != b->n_children) return false;
  for (int32_t i = 0; i < a->n_children; i++) {
    if (!qv_field_equal(a->children[i], b->children[i])) return false;
    if (a->type_codes && a->type_codes[i] != b->type_codes[i]) return false;
  }
  return true;
}

/* ---- rendering --------------------------------------------------------------------------- */

const char *qv_type_id_name(qv_type_id id) {
  static const char *const names[QV_TYPE_ID_COUNT] = {
      [QV_TYPE_NA] = "null", [QV_TYPE_BOOL] = "bool", [QV_TYPE_INT8] = "int8",
      [QV_TYPE_INT16] = "int16", [QV_TYPE_INT32] = "int32", [QV_TYPE_INT64] = "int64",
      [QV_TYPE_UINT8] = "uint8", [QV_TYPE_UINT16] = "uint16", [QV_TYPE_UINT32] = "uint32",
      [QV_TYPE_UINT64] = "uint64", [QV_TYPE_HALF_FLOAT] = "halffloat",
      [QV_TYPE_FLOAT] = "float", [QV_TYPE_DOUBLE] = "double",
      [QV_TYPE_DECIMAL32] = "decimal32", [QV_TYPE_DECIMAL64] = "decimal64",
      [QV_TYPE_DECIMAL128] = "decimal128", [QV_TYPE_DECIMAL256] = "decimal256",
      [QV_TYPE_DATE32] = "date32", [QV_TYPE_DATE64] = "date64", [QV_TYPE_TIME32] = "time32",
      [QV_TYPE_TIME64] = "time64", [QV_TYPE_TIMESTAMP] = "timestamp",
      [QV_TYPE_DURATION] = "duration", [QV_TYPE_INTERVAL_MONTHS] = "month_interval",
      [QV_TYPE_INTERVAL_DAY_TIME] = "day_time_interval",
      [QV_TYPE_INTERVAL_MONTH_DAY_NANO] = "month_day_nano_interval",
      [QV_TYPE_BINARY] = "binary", [QV_TYPE_STRING] = "utf8",
      [QV_TYPE_LARGE_BINARY] = "large_binary", [QV_TYPE_LARGE_STRING] = "large_utf8",
      [QV_TYPE_BINARY_VIEW] = "binary_view", [QV_TYPE_STRING_VIEW] = "utf8_view",
      [QV_TYPE_FIXED_SIZE_BINARY] = "fixed_size_binary", [QV_TYPE_LIST] = "list",
      [QV_TYPE_LARGE_LIST] = "large_list", [QV_TYPE_LIST_VIEW] = "list_view",
      [QV_TYPE_LARGE_LIST_VIEW] = "large_list_view",
      [QV_TYPE_FIXED_SIZE_LIST] = "fixed_size_list", [QV_TYPE_STRUCT] = "struct",
      [QV_TYPE_MAP] = "map", [QV_TYPE_SPARSE_UNION] = "sparse_union",
      [QV_TYPE_DENSE_UNION] = "dense_union", [QV_TYPE_DICTIONARY] = "dictionary",
      [QV_TYPE_RUN_END_ENCODED] = "run_end_encoded",
  };
  if ((unsigned)id >= QV_TYPE_ID_COUNT) return "?";
  return names[id];
}

void qv__field_render(const qv_field *f, qv__sbuf *s) {
  qv__sbuf_puts(s, f->name);
  qv__sbuf_puts(s, ": ");
  qv__type_render(f->type, s);
  if (!f->nullable) qv__sbuf_puts(s, " not null");
}

void qv__type_render(const qv_type *t, qv__sbuf *s) {
  const char *name = qv_type_id_name(t->id);
  switch (t->id) {
    case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL128:
    case QV_TYPE_DECIMAL256:
      qv__sbuf_printf(s, "%s(%d, %d)", name, (int)t->precision, (int)t->scale);
      return;
    case QV_TYPE_DATE32: qv__sbuf_puts(s, "date32[day]"); return;
    case QV_TYPE_DATE64: qv__sbuf_puts(s, "date64[ms]"); return;
    case QV_TYPE_TIME32: case QV_TYPE_TIME64: case QV_TYPE_DURATION:
      qv__sbuf_printf(s, "%s[%s]", name, unit_name(t->unit));
      return;
    case QV_TYPE_TIMESTAMP:
      qv__sbuf_printf(s, "timestamp[%s", unit_name(t->unit));
      if (t->timezone) {
        qv__sbuf_puts(s, ", tz=");
        qv__sbuf_puts(s, t->timezone);
      }
      qv__sbuf_puts(s, "]");
      return;
    case QV_TYPE_FIXED_SIZE_BINARY:
      qv__sbuf_printf(s, "fixed_size_binary[%d]", (int)t->byte_width);
      return;
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_LIST_VIEW:
    case QV_TYPE_LARGE_LIST_VIEW: case QV_TYPE_FIXED_SIZE_LIST:
      qv__sbuf_puts(s, name);
      qv__sbuf_puts(s, "<");
      qv__field_render(t->children[0], s);
      qv__sbuf_puts(s, ">");
      if (t->id == QV_TYPE_FIXED_SIZE_LIST) qv__sbuf_printf(s, "[%d]", (int)t->list_size);
      return;
    case QV_TYPE_STRUCT: case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION:
      qv__sbuf_puts(s, name);
      qv__sbuf_puts(s, "<");
      for (int32_t i = 0; i < t->n_children; i++) {
        if (i) qv__sbuf_puts(s, ", ");
        qv__field_render(t->children[i], s);
        if (t->type_codes) qv__sbuf_printf(s, "=%d", (int)t->type_codes[i]);
      }
      qv__sbuf_puts(s, ">");
      return;
    case QV_TYPE_MAP: {
      const qv_type *e = t->children[0]->type;
      qv__sbuf_puts(s, "map<");
      qv__type_render(e->children[0]->type, s);
      qv__sbuf_puts(s, ", ");
      qv__type_render(e->children[1]->type, s);
      if (t->keys_sorted) qv__sbuf_puts(s, ", keys_sorted");
      qv__sbuf_puts(s, ">");
      return;
    }
    case QV_TYPE_DICTIONARY:
      qv__sbuf_puts(s, "dictionary<values=");
      qv__type_render(t->value_type, s);
      qv__sbuf_puts(s, ", indices=");
      qv__type_render(t->index_type, s);
      qv__sbuf_puts(s, t->ordered ? ", ordered=true>" : ", ordered=false>");
      return;
    case QV_TYPE_RUN_END_ENCODED:
      qv__sbuf_puts(s, "run_end_encoded<run_ends: ");
      qv__type_render(t->children[0]->type, s);
      qv__sbuf_puts(s, ", values: ");
      qv__type_render(t->children[1]->type, s);
      qv__sbuf_puts(s, ">");
      return;
    default:
      qv__sbuf_puts(s, name);
      return;
  }
}

size_t qv_type_to_string(const qv_type *t, char *buf, size_t cap) {
  qv__sbuf s;
  qv__sbuf_init(&s, buf, cap);
  qv__type_render(t, &s);
  return s.len;
}

/* ---- half floats ------------------------------------------------------------------------- */

double qv__half_to_double(uint16_t h) {
  int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0) {
    v = (double)mant * (1.0 / 16777216.0); /* 2^-24 */
  } else if (exp == 31) {
    v = mant ? __builtin_nan("") : __builtin_inf();
  } else {
    v = (1.0 + (double)mant / 1024.0);
    int e = exp - 15;
    while (e > 0) { v *= 2; e--; }
    while (e < 0) { v /= 2; e++; }
  }
  return sign ? -v : v;
}

uint16_t qv__double_to_half(double d) {
  uint16_t sign = 0;
  if (d != d) return 0x7e00;
  if (__builtin_signbit(d)) {
    sign = 0x8000;
    d = -d;
  }
  if (d >= 65520.0) return (uint16_t)(sign | 0x7c00); /* overflow rounds to infinity */
  if (d < 6.103515625e-05) {                         /* subnormal: units of 2^-24 */
    double q = d * 16777216.0;
    double r = __builtin_nearbyint(q); /* default rounding: to nearest even */
    return (uint16_t)(sign | (uint16_t)r);
  }
  int e = 0;
  double m = d;
  while (m >= 2.0) { m /= 2; e++; }
  while (m < 1.0) { m *= 2; e--; }
  double frac = __builtin_nearbyint((m - 1.0) * 1024.0);
  if (frac >= 1024.0) {
    frac = 0;
    e++;
  }
  if (e + 15 >= 31) return (uint16_t)(sign | 0x7c00);
  return (uint16_t)(sign | (uint16_t)((e + 15) << 10) | (uint16_t)frac);
}
