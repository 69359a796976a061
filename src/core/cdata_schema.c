/* cdata_schema.c — the schema half of the Arrow C Data Interface: qv_type / qv_field /
 * qv_schema to ArrowSchema (format strings, flags, metadata) and back, with strict parsing. */
#include <stdio.h>
#include <string.h>

#include "array_int.h"

/* Every exported node is one allocation:
 * [priv][child pointers][child structs][dictionary struct][format\0][name\0][metadata]. */
typedef struct schema_priv {
  qv_allocator alloc;
  size_t size;
} schema_priv;

#define BLOCK_ALIGN 16

static void schema_release(struct ArrowSchema *s) {
  if (!s || !s->release) return;
  for (int64_t i = 0; i < s->n_children; i++) {
    struct ArrowSchema *c = s->children[i];
    if (c && c->release) c->release(c);
  }
  if (s->dictionary && s->dictionary->release) s->dictionary->release(s->dictionary);
  schema_priv *p = s->private_data;
  qv_allocator alloc = p->alloc;
  qv_mem_free(&alloc, p, p->size, BLOCK_ALIGN);
  s->release = NULL;
  s->private_data = NULL;
}

static char unit_char(qv_time_unit u) {
  switch (u) {
    case QV_TIME_SECOND: return 's';
    case QV_TIME_MILLI: return 'm';
    case QV_TIME_MICRO: return 'u';
    default: return 'n';
  }
}

/* The format string of a type (a DICTIONARY type renders its index type). */
static void render_format(const qv_type *t, qv__sbuf *s) {
  if (t->id == QV_TYPE_DICTIONARY) t = t->index_type;
  switch (t->id) {
    case QV_TYPE_NA: qv__sbuf_puts(s, "n"); return;
    case QV_TYPE_BOOL: qv__sbuf_puts(s, "b"); return;
    case QV_TYPE_INT8: qv__sbuf_puts(s, "c"); return;
    case QV_TYPE_UINT8: qv__sbuf_puts(s, "C"); return;
    case QV_TYPE_INT16: qv__sbuf_puts(s, "s"); return;
    case QV_TYPE_UINT16: qv__sbuf_puts(s, "S"); return;
    case QV_TYPE_INT32: qv__sbuf_puts(s, "i"); return;
    case QV_TYPE_UINT32: qv__sbuf_puts(s, "I"); return;
    case QV_TYPE_INT64: qv__sbuf_puts(s, "l"); return;
    case QV_TYPE_UINT64: qv__sbuf_puts(s, "L"); return;
    case QV_TYPE_HALF_FLOAT: qv__sbuf_puts(s, "e"); return;
    case QV_TYPE_FLOAT: qv__sbuf_puts(s, "f"); return;
    case QV_TYPE_DOUBLE: qv__sbuf_puts(s, "g"); return;
    case QV_TYPE_DECIMAL128:
      qv__sbuf_printf(s, "d:%d,%d", (int)t->precision, (int)t->scale);
      return;
    case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL256:
      qv__sbuf_printf(s, "d:%d,%d,%d", (int)t->precision, (int)t->scale, (int)t->bit_width);
      return;
    case QV_TYPE_DATE32: qv__sbuf_puts(s, "tdD"); return;
    case QV_TYPE_DATE64: qv__sbuf_puts(s, "tdm"); return;
    case QV_TYPE_TIME32: case QV_TYPE_TIME64:
      qv__sbuf_printf(s, "tt%c", unit_char(t->unit));
      return;
    case QV_TYPE_TIMESTAMP:
      qv__sbuf_printf(s, "ts%c:", unit_char(t->unit));
      if (t->timezone) qv__sbuf_puts(s, t->timezone);
      return;
    case QV_TYPE_DURATION: qv__sbuf_printf(s, "tD%c", unit_char(t->unit)); return;
    case QV_TYPE_INTERVAL_MONTHS: qv__sbuf_puts(s, "tiM"); return;
    case QV_TYPE_INTERVAL_DAY_TIME: qv__sbuf_puts(s, "tiD"); return;
    case QV_TYPE_INTERVAL_MONTH_DAY_NANO: qv__sbuf_puts(s, "tin"); return;
    case QV_TYPE_BINARY: qv__sbuf_puts(s, "z"); return;
    case QV_TYPE_STRING: qv__sbuf_puts(s, "u"); return;
    case QV_TYPE_LARGE_BINARY: qv__sbuf_puts(s, "Z"); return;
    case QV_TYPE_LARGE_STRING: qv__sbuf_puts(s, "U"); return;
    case QV_TYPE_BINARY_VIEW: qv__sbuf_puts(s, "vz"); return;
    case QV_TYPE_STRING_VIEW: qv__sbuf_puts(s, "vu"); return;
    case QV_TYPE_FIXED_SIZE_BINARY: qv__sbuf_printf(s, "w:%d", (int)t->byte_width); return;
    case QV_TYPE_LIST: qv__sbuf_puts(s, "+l"); return;
    case QV_TYPE_LARGE_LIST: qv__sbuf_puts(s, "+L"); return;
    case QV_TYPE_LIST_VIEW: qv__sbuf_puts(s, "+vl"); return;
    case QV_TYPE_LARGE_LIST_VIEW: qv__sbuf_puts(s, "+vL"); return;
    case QV_TYPE_FIXED_SIZE_LIST: qv__sbuf_printf(s, "+w:%d", (int)t->list_size); return;
    case QV_TYPE_STRUCT: qv__sbuf_puts(s, "+s"); return;
    case QV_TYPE_MAP: qv__sbuf_puts(s, "+m"); return;
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION:
      qv__sbuf_puts(s, t->id == QV_TYPE_SPARSE_UNION ? "+us:" : "+ud:");
      for (int32_t i = 0; i < t->n_children; i++)
        qv__sbuf_printf(s, i ? ",%d" : "%d", (int)t->type_codes[i]);
      return;
    case QV_TYPE_RUN_END_ENCODED: qv__sbuf_puts(s, "+r"); return;
    default: qv__sbuf_puts(s, "?"); return;
  }
}

/* Size of the encoded metadata (0 when there is none); false when it does not fit int32. */
static bool metadata_size(const qv_metadata *md, size_t *out) {
  *out = 0;
  if (!md || md->n == 0) return true;
  size_t total = 4;
  for (int32_t i = 0; i < md->n; i++) {
    const qv_metadata_entry *e = &md->entries[i];
    if (e->key_len > INT32_MAX || e->value_len > INT32_MAX) return false;
    if (qv__add_overflow(total, 8, &total) || qv__add_overflow(total, e->key_len, &total) ||
        qv__add_overflow(total, e->value_len, &total))
      return false;
  }
  *out = total;
  return true;
}

static void put_i32(uint8_t **p, int32_t v) {
  memcpy(*p, &v, 4); /* native endianness, as the specification says */
  *p += 4;
}

static void encode_metadata(const qv_metadata *md, uint8_t *p) {
  put_i32(&p, md->n);
  for (int32_t i = 0; i < md->n; i++) {
    const qv_metadata_entry *e = &md->entries[i];
    put_i32(&p, (int32_t)e->key_len);
    memcpy(p, e->key, e->key_len);
    p += e->key_len;
    put_i32(&p, (int32_t)e->value_len);
    memcpy(p, e->value, e->value_len);
    p += e->value_len;
  }
}

/* The ArrowSchema flags of a field of type t. */
static int64_t type_flags(const qv_type *t, bool nullable) {
  int64_t f = nullable ? ARROW_FLAG_NULLABLE : 0;
  if (t->id == QV_TYPE_DICTIONARY && t->ordered) f |= ARROW_FLAG_DICTIONARY_ORDERED;
  if (t->id == QV_TYPE_MAP && t->keys_sorted) f |= ARROW_FLAG_MAP_KEYS_SORTED;
  return f;
}

static qv_status export_node(const char *name, const qv_type *t, int64_t flags,
                             const qv_metadata *md, const qv_allocator *a, int depth,
                             struct ArrowSchema *out, qv_error *err) {
  memset(out, 0, sizeof *out);
  if (depth > QV_VALIDATE_MAX_DEPTH)
    return qv_error_set(err, QV_E_LIMIT, "schema export: nesting deeper than %d levels",
                        QV_VALIDATE_MAX_DEPTH);
  bool dict = t->id == QV_TYPE_DICTIONARY;
  int64_t n_children = dict ? 0 : t->n_children;
  qv__sbuf fs;
  qv__sbuf_init(&fs, NULL, 0);
  render_format(t, &fs);
  size_t fmt_len = fs.len, name_len = strlen(name), md_len;
  if (!metadata_size(md, &md_len))
    return qv_error_set(err, QV_E_LIMIT, "field '%s': metadata too large to export", name);
  size_t head = sizeof(schema_priv);
  head = (head + 15) & ~(size_t)15;
  size_t total = head + (size_t)n_children * (sizeof(struct ArrowSchema *) +
                                              sizeof(struct ArrowSchema)) +
                 (dict ? sizeof(struct ArrowSchema) : 0);
  size_t md_at = total;
  total += md_len;
  size_t fmt_at = total;
  total += fmt_len + 1;
  size_t name_at = total;
  total += name_len + 1;
  uint8_t *blk = qv_mem_calloc(a, total, BLOCK_ALIGN);
  if (!blk) return qv__nomem(err, "an exported ArrowSchema", total);
  schema_priv *p = (schema_priv *)blk;
  p->alloc = a ? *a : *qv_allocator_default();
  p->size = total;
  struct ArrowSchema **ptrs = (struct ArrowSchema **)(blk + head);
  struct ArrowSchema *kids = (struct ArrowSchema *)(ptrs + n_children);
  for (int64_t i = 0; i < n_children; i++) ptrs[i] = &kids[i]; /* zeroed: release == NULL */
  char *fmt = (char *)blk + fmt_at;
  qv__sbuf_init(&fs, fmt, fmt_len + 1);
  render_format(t, &fs);
  memcpy(blk + name_at, name, name_len + 1);
  if (md_len) encode_metadata(md, blk + md_at);

  out->format = fmt;
  out->name = (const char *)blk + name_at;
  out->metadata = md_len ? (const char *)blk + md_at : NULL;
  out->flags = flags;
  out->n_children = n_children;
  out->children = n_children ? ptrs : NULL;
  out->dictionary = NULL;
  out->release = schema_release;
  out->private_data = p;

  for (int64_t i = 0; i < n_children; i++) {
    const qv_field *f = t->children[i];
    qv_status s = export_node(f->name, f->type, type_flags(f->type, f->nullable), &f->metadata, a,
                              depth + 1, ptrs[i], err);
    if (s < 0) {
      schema_release(out);
      return s;
    }
  }
  if (dict) {
    struct ArrowSchema *d = (struct ArrowSchema *)(kids + n_children);
    qv_status s = export_node("", t->value_type, type_flags(t->value_type, true), NULL, a,
                              depth + 1, d, err);
    if (s < 0) {
      schema_release(out);
      return s;
    }
    out->dictionary = d;
  }
  return QV_OK;
}

qv_status qv_type_export(const qv_type *type, const qv_allocator *a, struct ArrowSchema *out,
                         qv_error *err) {
  if (!out) return qv_error_set(err, QV_E_INVALID, "qv_type_export: NULL output");
  memset(out, 0, sizeof *out);
  if (!type) return qv_error_set(err, QV_E_INVALID, "qv_type_export: NULL type");
  return export_node("", type, type_flags(type, true), NULL, a, 0, out, err);
}

qv_status qv_field_export(const qv_field *field, const qv_allocator *a, struct ArrowSchema *out,
                          qv_error *err) {
  if (!out) return qv_error_set(err, QV_E_INVALID, "qv_field_export: NULL output");
  memset(out, 0, sizeof *out);
  if (!field) return qv_error_set(err, QV_E_INVALID, "qv_field_export: NULL field");
  return export_node(field->name, field->type, type_flags(field->type, field->nullable),
                     &field->metadata, a, 0, out, err);
}

qv_status qv_schema_export(const qv_schema *schema, const qv_allocator *a,
                           struct ArrowSchema *out, qv_error *err) {
  if (!out) return qv_error_set(err, QV_E_INVALID, "qv_schema_export: NULL output");
  memset(out, 0, sizeof *out);
  if (!schema) return qv_error_set(err, QV_E_INVALID, "qv_schema_export: NULL schema");
  /* A struct type over the fields carries the children; the metadata is the schema's. */
  qv_type *st = NULL;
  QV_TRY(qv_type_struct(schema->fields, schema->n_fields, a, &st, err));
  qv_status s = export_node("", st, 0, &schema->metadata, a, 0, out, err);
  qv_type_unref(st);
  return s;
}

/* ---- import ------------------------------------------------------------------------------ */

#define PATH_CAP 256

static void child_path(char *dst, const char *parent, const char *name) {
  if (!parent || !*parent) snprintf(dst, PATH_CAP, "%s", name);
  else snprintf(dst, PATH_CAP, "%s.%s", parent, name);
}

/* Reads a decimal integer in [lo, hi] at *p (optional leading '-'), advancing *p. */
static bool parse_int(const char **p, int64_t lo, int64_t hi, int64_t *out) {
  const char *s = *p;
  bool neg = false;
  if (*s == '-') {
    neg = true;
    s++;
  }
  if (*s < '0' || *s > '9') return false;
  int64_t v = 0;
  while (*s >= '0' && *s <= '9') {
    if (v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (*s - '0');
    s++;
  }
  if (neg) v = -v;
  if (v < lo || v > hi) return false;
  *out = v;
  *p = s;
  return true;
}

static bool parse_unit(char c, qv_time_unit *u) {
  switch (c) {
    case 's': *u = QV_TIME_SECOND; return true;
    case 'm': *u = QV_TIME_MILLI; return true;
    case 'u': *u = QV_TIME_MICRO; return true;
    case 'n': *u = QV_TIME_NANO; return true;
    default: return false;
  }
}

/* Reads one (int32 length, bytes) string of the metadata encoding at *p, advancing *p. The
 * encoding carries no total size: the producer is trusted for the bytes, not for the signs. */
static qv_status metadata_string(const uint8_t **p, const char *what, int32_t pair,
                                 const char *path, const char **str, int32_t *len,
                                 qv_error *err) {
  memcpy(len, *p, 4);
  *p += 4;
  if (*len < 0)
    return qv_error_set(err, QV_E_INVALID,
                        "metadata of field '%s': negative %s length %d in pair %d", path, what,
                        (int)*len, (int)pair);
  *str = (const char *)*p;
  *p += *len;
  return QV_OK;
}

static qv_status parse_metadata(const char *raw, const qv_allocator *a, const char *path,
                                qv_metadata *md, qv_error *err) {
  qv_metadata_init(md, a);
  if (!raw) return QV_OK;
  const uint8_t *p = (const uint8_t *)raw;
  int32_t n;
  memcpy(&n, p, 4);
  p += 4;
  if (n < 0)
    return qv_error_set(err, QV_E_INVALID, "metadata of field '%s': negative pair count %d",
                        path, (int)n);
  for (int32_t i = 0; i < n; i++) {
    const char *k = NULL, *v = NULL;
    int32_t kl = 0, vl = 0;
    QV_TRY(metadata_string(&p, "key", i, path, &k, &kl, err));
    QV_TRY(metadata_string(&p, "value", i, path, &v, &vl, err));
    qv_status s = qv_metadata_append_n(md, k, (size_t)kl, v, (size_t)vl, err);
    if (s < 0) {
      qv_error_prefix(err, "metadata of field '%s': ", path);
      return s;
    }
  }
  return QV_OK;
}

static qv_status import_type(const struct ArrowSchema *s, const qv_allocator *a,
                             const char *path, int depth, qv_type **out, qv_error *err);

static qv_status import_field(const struct ArrowSchema *s, const qv_allocator *a,
                              const char *parent, int depth, qv_field **out, qv_error *err) {
  *out = NULL;
  const char *name = (s && s->name) ? s->name : "";
  char path[PATH_CAP];
  child_path(path, parent, name);
  qv_type *t = NULL;
  QV_TRY(import_type(s, a, path, depth, &t, err));
  qv_metadata md;
  qv_status st = parse_metadata(s->metadata, a, path, &md, err);
  if (st >= 0)
    st = qv_field_new(name, t, (s->flags & ARROW_FLAG_NULLABLE) != 0, &md, a, out, err);
  qv_metadata_reset(&md);
  qv_type_unref(t);
  return st;
}

#define BAD(...) qv_error_set(err, QV_E_INVALID, __VA_ARGS__)

/* Imports the n children of s as fields into a new array *fields (freed by free_fields). */
static qv_status import_children(const struct ArrowSchema *s, const qv_allocator *a,
                                 const char *path, int depth, qv_field ***fields,
                                 qv_error *err) {
  *fields = NULL;
  if (s->n_children == 0) return QV_OK;
  size_t bytes = (size_t)s->n_children * sizeof(qv_field *);
  qv_field **f = qv_mem_calloc(a, bytes, 0);
  if (!f) return qv__nomem(err, "imported child fields", bytes);
  *fields = f;
  for (int64_t i = 0; i < s->n_children; i++) {
    if (!s->children[i])
      return BAD("format '%s' of field '%s': child %lld is NULL", s->format, path,
                 (long long)i);
    QV_TRY(import_field(s->children[i], a, path, depth + 1, &f[i], err));
  }
  return QV_OK;
}

static void free_fields(const qv_allocator *a, qv_field **f, int64_t n) {
  if (!f) return;
  for (int64_t i = 0; i < n; i++) qv_field_unref(f[i]);
  qv_mem_free(a, f, (size_t)n * sizeof(qv_field *), 0);
}

/* Formats without children (and the index type of a dictionary). */
static qv_status parse_leaf(const char *fmt, const qv_allocator *a, const char *path,
                            qv_type **out, qv_error *err) {
  *out = NULL;
  qv_type *prim = NULL;
  if (fmt[0] && !fmt[1]) {
    switch (fmt[0]) {
      case 'n': prim = qv_type_na(); break;
      case 'b': prim = qv_type_bool(); break;
      case 'c': prim = qv_type_int8(); break;
      case 'C': prim = qv_type_uint8(); break;
      case 's': prim = qv_type_int16(); break;
      case 'S': prim = qv_type_uint16(); break;
      case 'i': prim = qv_type_int32(); break;
      case 'I': prim = qv_type_uint32(); break;
      case 'l': prim = qv_type_int64(); break;
      case 'L': prim = qv_type_uint64(); break;
      case 'e': prim = qv_type_float16(); break;
      case 'f': prim = qv_type_float32(); break;
      case 'g': prim = qv_type_float64(); break;
      case 'z': prim = qv_type_binary(); break;
      case 'u': prim = qv_type_utf8(); break;
      case 'Z': prim = qv_type_large_binary(); break;
      case 'U': prim = qv_type_large_utf8(); break;
      default: break;
    }
  } else if (!strcmp(fmt, "vz")) {
    prim = qv_type_binary_view();
  } else if (!strcmp(fmt, "vu")) {
    prim = qv_type_utf8_view();
  } else if (!strcmp(fmt, "tdD")) {
    prim = qv_type_date32();
  } else if (!strcmp(fmt, "tdm")) {
    prim = qv_type_date64();
  } else if (!strcmp(fmt, "tiM")) {
    prim = qv_type_interval_months();
  } else if (!strcmp(fmt, "tiD")) {
    prim = qv_type_interval_day_time();
  } else if (!strcmp(fmt, "tin")) {
    prim = qv_type_interval_month_day_nano();
  }
  if (prim) {
    *out = prim;
    return QV_OK;
  }
  qv_status s;
  qv_time_unit u;
  const char *p;
  if (fmt[0] == 'd' && fmt[1] == ':') {
    int64_t prec, scale, bw = 128;
    p = fmt + 2;
    if (!parse_int(&p, 1, INT32_MAX, &prec))
      return BAD("format '%s' of field '%s': bad decimal precision", fmt, path);
    if (*p++ != ',')
      return BAD("format '%s' of field '%s': expected ',' after the precision", fmt, path);
    if (!parse_int(&p, INT32_MIN, INT32_MAX, &scale))
      return BAD("format '%s' of field '%s': bad decimal scale", fmt, path);
    if (*p == ',') {
      p++;
      if (!parse_int(&p, 0, 1024, &bw) || (bw != 32 && bw != 64 && bw != 128 && bw != 256))
        return BAD("format '%s' of field '%s': bad decimal bit width (32, 64, 128 or 256)",
                   fmt, path);
    }
    if (*p) return BAD("format '%s' of field '%s': trailing characters", fmt, path);
    s = qv_type_decimal((int32_t)bw, (int32_t)prec, (int32_t)scale, a, out, err);
  } else if (fmt[0] == 'w' && fmt[1] == ':') {
    int64_t w;
    p = fmt + 2;
    if (!parse_int(&p, 0, INT32_MAX, &w) || *p || fmt[2] == '-')
      return BAD("format '%s' of field '%s': bad byte width", fmt, path);
    s = qv_type_fixed_size_binary((int32_t)w, a, out, err);
  } else if (fmt[0] == 't' && fmt[1] == 't' && fmt[2] && !fmt[3] && parse_unit(fmt[2], &u)) {
    s = (u <= QV_TIME_MILLI) ? qv_type_time32(u, a, out, err) : qv_type_time64(u, a, out, err);
  } else if (fmt[0] == 't' && fmt[1] == 'D' && fmt[2] && !fmt[3] && parse_unit(fmt[2], &u)) {
    s = qv_type_duration(u, a, out, err);
  } else if (fmt[0] == 't' && fmt[1] == 's' && fmt[2] && parse_unit(fmt[2], &u)) {
    if (fmt[3] != ':')
      return BAD("format '%s' of field '%s': timestamp needs ':' after the unit", fmt, path);
    s = qv_type_timestamp(u, fmt[4] ? fmt + 4 : NULL, a, out, err);
  } else {
    return BAD("format '%s' of field '%s': unknown format", fmt, path);
  }
  if (s < 0) qv_error_prefix(err, "format '%s' of field '%s': ", fmt, path);
  return s;
}

static qv_status parse_union_codes(const char *fmt, const char *codes, int64_t n,
                                   const char *path, int8_t *out, qv_error *err) {
  const char *p = codes;
  int64_t k = 0;
  if (*p) {
    for (;;) {
      int64_t v;
      if (!parse_int(&p, 0, 127, &v) || *codes == '-')
        return BAD("format '%s' of field '%s': bad union type code (0..127)", fmt, path);
      if (k >= n)
        return BAD("format '%s' of field '%s': more type codes than the %lld children", fmt,
                   path, (long long)n);
      out[k++] = (int8_t)v;
      if (!*p) break;
      if (*p++ != ',')
        return BAD("format '%s' of field '%s': expected ',' between type codes", fmt, path);
      codes = p;
    }
  }
  if (k != n)
    return BAD("format '%s' of field '%s': %lld type codes for %lld children", fmt, path,
               (long long)k, (long long)n);
  return QV_OK;
}

static qv_status import_nested(const struct ArrowSchema *s, const qv_allocator *a,
                               const char *path, int depth, qv_type **out, qv_error *err) {
  const char *fmt = s->format;
  int64_t n = s->n_children;
  int64_t want = -1; /* -1: any */
  int kind = 0;
  int64_t list_size = 0;
  const char *p;
  if (!strcmp(fmt, "+l")) { kind = QV_TYPE_LIST; want = 1; }
  else if (!strcmp(fmt, "+L")) { kind = QV_TYPE_LARGE_LIST; want = 1; }
  else if (!strcmp(fmt, "+vl")) { kind = QV_TYPE_LIST_VIEW; want = 1; }
  else if (!strcmp(fmt, "+vL")) { kind = QV_TYPE_LARGE_LIST_VIEW; want = 1; }
  else if (!strcmp(fmt, "+s")) { kind = QV_TYPE_STRUCT; }
  else if (!strcmp(fmt, "+m")) { kind = QV_TYPE_MAP; want = 1; }
  else if (!strcmp(fmt, "+r")) { kind = QV_TYPE_RUN_END_ENCODED; want = 2; }
  else if (!strncmp(fmt, "+w:", 3)) {
    kind = QV_TYPE_FIXED_SIZE_LIST;
    want = 1;
    p = fmt + 3;
    if (!parse_int(&p, 0, INT32_MAX, &list_size) || *p || fmt[3] == '-')
      return BAD("format '%s' of field '%s': bad list size", fmt, path);
  } else if (!strncmp(fmt, "+us:", 4)) { kind = QV_TYPE_SPARSE_UNION; }
  else if (!strncmp(fmt, "+ud:", 4)) { kind = QV_TYPE_DENSE_UNION; }
  else return BAD("format '%s' of field '%s': unknown format", fmt, path);
  if (want >= 0 && n != want)
    return BAD("format '%s' of field '%s': has %lld children, expected %lld", fmt, path,
               (long long)n, (long long)want);
  if ((kind == QV_TYPE_SPARSE_UNION || kind == QV_TYPE_DENSE_UNION) && n > QV_UNION_MAX_CHILDREN)
    return BAD("format '%s' of field '%s': %lld union children (at most %d)", fmt, path,
               (long long)n, QV_UNION_MAX_CHILDREN);
  if (n > INT32_MAX)
    return BAD("format '%s' of field '%s': too many children (%lld)", fmt, path, (long long)n);
  int8_t codes[QV_UNION_MAX_CHILDREN];
  if (kind == QV_TYPE_SPARSE_UNION || kind == QV_TYPE_DENSE_UNION)
    QV_TRY(parse_union_codes(fmt, fmt + 4, n, path, codes, err));
  qv_field **f = NULL;
  qv_status st = import_children(s, a, path, depth, &f, err);
  if (st >= 0) {
    switch (kind) {
      case QV_TYPE_LIST: st = qv_type_list(f[0], a, out, err); break;
      case QV_TYPE_LARGE_LIST: st = qv_type_large_list(f[0], a, out, err); break;
      case QV_TYPE_LIST_VIEW: st = qv_type_list_view(f[0], a, out, err); break;
      case QV_TYPE_LARGE_LIST_VIEW: st = qv_type_large_list_view(f[0], a, out, err); break;
      case QV_TYPE_FIXED_SIZE_LIST:
        st = qv_type_fixed_size_list(f[0], (int32_t)list_size, a, out, err);
        break;
      case QV_TYPE_STRUCT: st = qv_type_struct(f, (int32_t)n, a, out, err); break;
      case QV_TYPE_MAP:
        st = qv_type_map_from_entries(f[0], (s->flags & ARROW_FLAG_MAP_KEYS_SORTED) != 0, a, out,
                                      err);
        break;
      case QV_TYPE_RUN_END_ENCODED:
        st = qv_type_run_end_encoded_fields(f[0], f[1], a, out, err);
        break;
      default:
        st = qv_type_union(kind == QV_TYPE_SPARSE_UNION ? QV_UNION_SPARSE : QV_UNION_DENSE, f,
                           codes, (int32_t)n, a, out, err);
        break;
    }
    if (st < 0 && st != QV_E_NOMEM) qv_error_prefix(err, "format '%s' of field '%s': ", fmt, path);
  }
  free_fields(a, f, n);
  return st;
}

static qv_status import_type(const struct ArrowSchema *s, const qv_allocator *a,
                             const char *path, int depth, qv_type **out, qv_error *err) {
  *out = NULL;
  if (!s) return BAD("field '%s': ArrowSchema is NULL", path);
  if (!s->release) return BAD("field '%s': ArrowSchema is released", path);
  if (depth > QV_VALIDATE_MAX_DEPTH)
    return qv_error_set(err, QV_E_LIMIT, "field '%s': nesting deeper than %d levels", path,
                        QV_VALIDATE_MAX_DEPTH);
  const char *fmt = s->format;
  if (!fmt) return BAD("field '%s': format is NULL", path);
  if (s->n_children < 0)
    return BAD("format '%s' of field '%s': negative n_children %lld", fmt, path,
               (long long)s->n_children);
  if (s->n_children > 0 && !s->children)
    return BAD("format '%s' of field '%s': %lld children but children is NULL", fmt, path,
               (long long)s->n_children);
  if (s->dictionary) {
    qv_type *index = NULL, *values = NULL;
    if (s->n_children != 0)
      return BAD("format '%s' of field '%s': dictionary-encoded with %lld children", fmt, path,
                 (long long)s->n_children);
    QV_TRY(parse_leaf(fmt, a, path, &index, err));
    if (!qv_type_id_is_integer(index->id)) {
      qv_type_unref(index);
      return BAD("format '%s' of field '%s': dictionary index type must be an integer", fmt,
                 path);
    }
    char dpath[PATH_CAP];
    snprintf(dpath, sizeof dpath, "%s (dictionary)", path);
    qv_status st = import_type(s->dictionary, a, dpath, depth + 1, &values, err);
    if (st >= 0)
      st = qv_type_dictionary(index, values, (s->flags & ARROW_FLAG_DICTIONARY_ORDERED) != 0, a,
                              out, err);
    qv_type_unref(index);
    qv_type_unref(values);
    return st;
  }
  if (fmt[0] == '+') return import_nested(s, a, path, depth, out, err);
  if (s->n_children != 0)
    return BAD("format '%s' of field '%s': has %lld children, expected 0", fmt, path,
               (long long)s->n_children);
  return parse_leaf(fmt, a, path, out, err);
}

static const char *root_name(const struct ArrowSchema *s) {
  return (s && s->name && *s->name) ? s->name : "(root)";
}

qv_status qv_type_import(const struct ArrowSchema *schema, const qv_allocator *a, qv_type **out,
                         qv_error *err) {
  if (!out) return BAD("qv_type_import: NULL output");
  return import_type(schema, a, root_name(schema), 0, out, err);
}

qv_status qv_field_import(const struct ArrowSchema *schema, const qv_allocator *a,
                          qv_field **out, qv_error *err) {
  if (!out) return BAD("qv_field_import: NULL output");
  *out = NULL;
  if (!schema) return BAD("qv_field_import: NULL ArrowSchema");
  return import_field(schema, a, "", 0, out, err);
}

qv_status qv_schema_import(const struct ArrowSchema *schema, const qv_allocator *a,
                           qv_schema **out, qv_error *err) {
  if (!out) return BAD("qv_schema_import: NULL output");
  *out = NULL;
  if (!schema) return BAD("qv_schema_import: NULL ArrowSchema");
  if (!schema->release) return BAD("schema import: ArrowSchema is released");
  if (!schema->format || strcmp(schema->format, "+s") != 0 || schema->dictionary)
    return BAD("schema import: top-level format '%s' is not a struct ('+s')",
               schema->format ? schema->format : "(null)");
  if (schema->n_children < 0 || schema->n_children > INT32_MAX ||
      (schema->n_children > 0 && !schema->children))
    return BAD("schema import: bad n_children %lld (children %s)",
               (long long)schema->n_children, schema->children ? "set" : "NULL");
  qv_field **f = NULL;
  qv_metadata md;
  qv_metadata_init(&md, a);
  qv_status st = import_children(schema, a, "", 0, &f, err);
  if (st >= 0) st = parse_metadata(schema->metadata, a, "(schema)", &md, err);
  if (st >= 0) st = qv_schema_new(f, (int32_t)schema->n_children, &md, a, out, err);
  qv_metadata_reset(&md);
  free_fields(a, f, schema->n_children);
  return st;
}
