/* meta_read.c — Arrow IPC metadata decoding: the Message envelope, Schema / Field / Type tables
 * into qv_schema / qv_field / qv_type (dictionary encodings and custom metadata included), and
 * RecordBatch headers (FieldNodes, Buffers, BodyCompression, variadicBufferCounts). */
#include <stdio.h>
#include <string.h>

#include "ipc/ipc_int.h"

/* ---- Message ------------------------------------------------------------------------------ */

static const char *version_name(int16_t v) {
  static const char *const names[] = {"V1", "V2", "V3", "V4", "V5"};
  return v >= 0 && v <= 4 ? names[v] : "?";
}

qv_status qv__ipc_msg_parse(const uint8_t *meta, size_t len, int64_t at,
                            const qv_ipc_read_options *opts, qv__ipc_msg *out, qv_error *err) {
  memset(out, 0, sizeof *out);
  out->fb.data = meta;
  out->fb.len = len;
  out->fb.base = at;
  int depth = opts->limits.max_nesting > 0 ? opts->limits.max_nesting + 8 : QV__FB_MAX_DEPTH;
  QV_TRY(qv__fb_verify_message(&out->fb, depth, err));
  const qv__fb *fb = &out->fb;
  uint32_t m = qv__fb_root(fb);
  out->version = qv__fb_i16(fb, m, QV_FB_MESSAGE_VERSION, QV_FB_METADATA_V1);
  if (out->version < QV_FB_METADATA_V4)
    return qv_error_set_at(err, QV_E_UNSUPPORTED, at,
                           "metadata version %s is not supported (V4 and V5 are)",
                           version_name(out->version));
  if (out->version > QV_FB_METADATA_V5)
    return qv_error_set_at(err, QV_E_UNSUPPORTED, at,
                           "unknown metadata version %d (newer than V5)", out->version);
  out->header_type = qv__fb_u8(fb, m, QV_FB_MESSAGE_HEADER_TYPE, 0);
  out->header = qv__fb_table(fb, m, QV_FB_MESSAGE_HEADER);
  if (out->header_type == QV_FB_HEADER_NONE || out->header == 0)
    return qv_error_set_at(err, QV_E_CORRUPT, at, "message has no header");
  out->body_length = qv__fb_i64(fb, m, QV_FB_MESSAGE_BODY_LENGTH, 0);
  if (out->body_length < 0)
    return qv_error_set_at(err, QV_E_CORRUPT, at, "message body length %lld is negative",
                           (long long)out->body_length);
  out->custom_metadata =
      qv__fb_vector(fb, m, QV_FB_MESSAGE_CUSTOM_METADATA, &out->n_custom_metadata);
  return QV_OK;
}

/* ---- custom metadata ---------------------------------------------------------------------- */

qv_status qv__ipc_metadata_read(const qv__fb *fb, uint32_t vec, uint32_t n, qv_metadata *md,
                                qv_error *err) {
  for (uint32_t i = 0; i < n; i++) {
    uint32_t kv = qv__fb_vector_table(fb, vec, i);
    size_t kl, vl;
    const char *k = qv__fb_string(fb, kv, QV_FB_KEYVALUE_KEY, &kl);
    const char *v = qv__fb_string(fb, kv, QV_FB_KEYVALUE_VALUE, &vl);
    QV_TRY(qv_metadata_append_n(md, k ? k : "", kl, v ? v : "", vl, err));
  }
  return QV_OK;
}

/* ---- Schema ------------------------------------------------------------------------------- */

typedef struct sctx {
  const qv__fb *fb;
  const qv_ipc_read_options *opts;
  const qv_allocator *a;
  int64_t n_fields; /* counted recursively, against max_columns */
  qv__ipc_dicts *dicts;
  char path[256];
  qv_error *err;
} sctx;

/* Type constructors report bad parameters as QV_E_INVALID; from a file that is corruption. */
static qv_status corrupt_if_invalid(sctx *c, qv_status s) {
  if (s == QV_E_INVALID) {
    if (c->err) c->err->code = QV_E_CORRUPT;
    qv_error_prefix(c->err, "schema field %s: ", c->path);
    return QV_E_CORRUPT;
  }
  return s;
}

static qv_status field_err(sctx *c, qv_status code, uint32_t pos, const char *fmt, ...)
    QV_PRINTF(4, 5);
static qv_status field_err(sctx *c, qv_status code, uint32_t pos, const char *fmt, ...) {
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return qv_error_set_at(c->err, code, c->fb->base + (int64_t)pos, "schema field %s: %s",
                         c->path, msg);
}

static qv_status time_unit(sctx *c, uint32_t t, int16_t u, qv_time_unit *out) {
  if (u < QV_FB_TIME_SECOND || u > QV_FB_TIME_NANOSECOND)
    return field_err(c, QV_E_UNSUPPORTED, t, "unknown TimeUnit %d", u);
  *out = (qv_time_unit)u;
  return QV_OK;
}

static qv_status int_type(sctx *c, uint32_t t, qv_type **out) {
  int32_t bw = qv__fb_i32(c->fb, t, QV_FB_INT_BIT_WIDTH, 0);
  bool sg = qv__fb_bool(c->fb, t, QV_FB_INT_IS_SIGNED, false);
  qv_type_id id;
  switch (bw) {
    case 8: id = sg ? QV_TYPE_INT8 : QV_TYPE_UINT8; break;
    case 16: id = sg ? QV_TYPE_INT16 : QV_TYPE_UINT16; break;
    case 32: id = sg ? QV_TYPE_INT32 : QV_TYPE_UINT32; break;
    case 64: id = sg ? QV_TYPE_INT64 : QV_TYPE_UINT64; break;
    default: return field_err(c, QV_E_UNSUPPORTED, t, "Int bitWidth %d is not supported", bw);
  }
  *out = qv_type_primitive(id);
  return QV_OK;
}

static qv_status dicts_add(sctx *c, int64_t id, const qv_type *value_type, uint32_t pos) {
  qv__ipc_dicts *d = c->dicts;
  qv__ipc_dict_slot *s = qv__ipc_dicts_find(d, id);
  if (s) {
    if (!qv_type_equal(s->value_type, value_type))
      return field_err(c, QV_E_CORRUPT, pos,
                       "dictionary id %lld is used with two different value types",
                       (long long)id);
    return QV_OK;
  }
  if (d->n == d->cap) {
    int32_t nc = d->cap ? d->cap * 2 : 8;
    void *p = qv_mem_realloc(&d->alloc, d->slots, sizeof *d->slots * (size_t)d->cap,
                             sizeof *d->slots * (size_t)nc, _Alignof(qv__ipc_dict_slot));
    if (!p) return qv__nomem(c->err, "dictionary table", sizeof *d->slots * (size_t)nc);
    d->slots = p;
    d->cap = nc;
  }
  d->slots[d->n++] = (qv__ipc_dict_slot){id, value_type, NULL, 0, 0, false};
  return QV_OK;
}

qv__ipc_dict_slot *qv__ipc_dicts_find(qv__ipc_dicts *d, int64_t id) {
  for (int32_t i = 0; i < d->n; i++)
    if (d->slots[i].id == id) return &d->slots[i];
  return NULL;
}

static qv_status read_field(sctx *c, uint32_t f, int depth, qv_field **out);

/* Builds the (value) type of field table f from its Type union and decoded children. */
static qv_status build_type(sctx *c, uint32_t f, qv_field **ch, int32_t nch, qv_type **out) {
  const qv__fb *fb = c->fb;
  uint8_t tag = qv__fb_u8(fb, f, QV_FB_FIELD_TYPE_TYPE, 0);
  uint32_t t = qv__fb_table(fb, f, QV_FB_FIELD_TYPE);
  if (tag == QV_FB_TYPE_NONE || t == 0) return field_err(c, QV_E_CORRUPT, f, "field has no type");
  const qv_allocator *a = c->a;
  qv_error *err = c->err;
  int32_t want_children = -1; /* -1: any */
  switch (tag) {
    case QV_FB_TYPE_LIST: case QV_FB_TYPE_LARGE_LIST: case QV_FB_TYPE_LIST_VIEW:
    case QV_FB_TYPE_LARGE_LIST_VIEW: case QV_FB_TYPE_FIXED_SIZE_LIST: case QV_FB_TYPE_MAP:
      want_children = 1;
      break;
    case QV_FB_TYPE_RUN_END_ENCODED:
      want_children = 2;
      break;
    case QV_FB_TYPE_STRUCT: case QV_FB_TYPE_UNION:
      break;
    default:
      want_children = 0;
  }
  if (want_children >= 0 && nch != want_children)
    return field_err(c, QV_E_CORRUPT, f, "type tag %u needs %d children, the field has %d",
                     tag, want_children, nch);
  switch (tag) {
    case QV_FB_TYPE_NULL: *out = qv_type_na(); return QV_OK;
    case QV_FB_TYPE_INT: return int_type(c, t, out);
    case QV_FB_TYPE_FLOATING_POINT: {
      int16_t p = qv__fb_i16(fb, t, QV_FB_FLOATINGPOINT_PRECISION, 0);
      if (p == QV_FB_PRECISION_HALF) *out = qv_type_float16();
      else if (p == QV_FB_PRECISION_SINGLE) *out = qv_type_float32();
      else if (p == QV_FB_PRECISION_DOUBLE) *out = qv_type_float64();
      else return field_err(c, QV_E_UNSUPPORTED, t, "unknown FloatingPoint Precision %d", p);
      return QV_OK;
    }
    case QV_FB_TYPE_BINARY: *out = qv_type_binary(); return QV_OK;
    case QV_FB_TYPE_UTF8: *out = qv_type_utf8(); return QV_OK;
    case QV_FB_TYPE_LARGE_BINARY: *out = qv_type_large_binary(); return QV_OK;
    case QV_FB_TYPE_LARGE_UTF8: *out = qv_type_large_utf8(); return QV_OK;
    case QV_FB_TYPE_BINARY_VIEW: *out = qv_type_binary_view(); return QV_OK;
    case QV_FB_TYPE_UTF8_VIEW: *out = qv_type_utf8_view(); return QV_OK;
    case QV_FB_TYPE_BOOL: *out = qv_type_bool(); return QV_OK;
    case QV_FB_TYPE_DECIMAL: {
      int32_t bw = qv__fb_i32(fb, t, QV_FB_DECIMAL_BIT_WIDTH, 128);
      int32_t prec = qv__fb_i32(fb, t, QV_FB_DECIMAL_PRECISION, 0);
      int32_t scale = qv__fb_i32(fb, t, QV_FB_DECIMAL_SCALE, 0);
      if (bw != 32 && bw != 64 && bw != 128 && bw != 256)
        return field_err(c, QV_E_UNSUPPORTED, t, "Decimal bitWidth %d is not supported", bw);
      return corrupt_if_invalid(c, qv_type_decimal(bw, prec, scale, a, out, err));
    }
    case QV_FB_TYPE_DATE: {
      int16_t u = qv__fb_i16(fb, t, QV_FB_DATE_UNIT, QV_FB_DATE_MILLISECOND);
      if (u == QV_FB_DATE_DAY) *out = qv_type_date32();
      else if (u == QV_FB_DATE_MILLISECOND) *out = qv_type_date64();
      else return field_err(c, QV_E_UNSUPPORTED, t, "unknown DateUnit %d", u);
      return QV_OK;
    }
    case QV_FB_TYPE_TIME: {
      qv_time_unit u = QV_TIME_SECOND;
      QV_TRY(time_unit(c, t, qv__fb_i16(fb, t, QV_FB_TIME_UNIT, QV_FB_TIME_MILLISECOND), &u));
      int32_t bw = qv__fb_i32(fb, t, QV_FB_TIME_BIT_WIDTH, 32);
      bool small = u == QV_TIME_SECOND || u == QV_TIME_MILLI;
      if (bw != (small ? 32 : 64))
        return field_err(c, QV_E_CORRUPT, t, "Time bitWidth %d does not match its unit", bw);
      return corrupt_if_invalid(c, small ? qv_type_time32(u, a, out, err)
                                         : qv_type_time64(u, a, out, err));
    }
    case QV_FB_TYPE_TIMESTAMP: {
      qv_time_unit u = QV_TIME_SECOND;
      QV_TRY(time_unit(c, t, qv__fb_i16(fb, t, QV_FB_TIMESTAMP_UNIT, QV_FB_TIME_SECOND), &u));
      size_t tzl;
      const char *tz = qv__fb_string(fb, t, QV_FB_TIMESTAMP_TIMEZONE, &tzl);
      if (tz && tzl == 0) tz = NULL; /* empty = no timezone */
      return corrupt_if_invalid(c, qv_type_timestamp(u, tz, a, out, err));
    }
    case QV_FB_TYPE_DURATION: {
      qv_time_unit u = QV_TIME_SECOND;
      QV_TRY(time_unit(c, t, qv__fb_i16(fb, t, QV_FB_DURATION_UNIT, QV_FB_TIME_MILLISECOND), &u));
      return corrupt_if_invalid(c, qv_type_duration(u, a, out, err));
    }
    case QV_FB_TYPE_INTERVAL: {
      int16_t u = qv__fb_i16(fb, t, QV_FB_INTERVAL_UNIT, QV_FB_INTERVAL_YEAR_MONTH);
      if (u == QV_FB_INTERVAL_YEAR_MONTH) *out = qv_type_interval_months();
      else if (u == QV_FB_INTERVAL_DAY_TIME) *out = qv_type_interval_day_time();
      else if (u == QV_FB_INTERVAL_MONTH_DAY_NANO) *out = qv_type_interval_month_day_nano();
      else return field_err(c, QV_E_UNSUPPORTED, t, "unknown IntervalUnit %d", u);
      return QV_OK;
    }
    case QV_FB_TYPE_LIST: return corrupt_if_invalid(c, qv_type_list(ch[0], a, out, err));
    case QV_FB_TYPE_LARGE_LIST:
      return corrupt_if_invalid(c, qv_type_large_list(ch[0], a, out, err));
    case QV_FB_TYPE_LIST_VIEW:
      return corrupt_if_invalid(c, qv_type_list_view(ch[0], a, out, err));
    case QV_FB_TYPE_LARGE_LIST_VIEW:
      return corrupt_if_invalid(c, qv_type_large_list_view(ch[0], a, out, err));
    case QV_FB_TYPE_FIXED_SIZE_LIST: {
      int32_t n = qv__fb_i32(fb, t, QV_FB_FIXEDSIZELIST_LIST_SIZE, 0);
      if (n < 0) return field_err(c, QV_E_CORRUPT, t, "FixedSizeList listSize %d is negative", n);
      return corrupt_if_invalid(c, qv_type_fixed_size_list(ch[0], n, a, out, err));
    }
    case QV_FB_TYPE_FIXED_SIZE_BINARY: {
      int32_t n = qv__fb_i32(fb, t, QV_FB_FIXEDSIZEBINARY_BYTE_WIDTH, 0);
      if (n < 0)
        return field_err(c, QV_E_CORRUPT, t, "FixedSizeBinary byteWidth %d is negative", n);
      if (n > INT32_MAX / 8) /* the bit width must fit an int32 */
        return field_err(c, QV_E_UNSUPPORTED, t, "FixedSizeBinary byteWidth %d is too large", n);
      return corrupt_if_invalid(c, qv_type_fixed_size_binary(n, a, out, err));
    }
    case QV_FB_TYPE_STRUCT: return corrupt_if_invalid(c, qv_type_struct(ch, nch, a, out, err));
    case QV_FB_TYPE_MAP: {
      bool sorted = qv__fb_bool(fb, t, QV_FB_MAP_KEYS_SORTED, false);
      const qv_type *e = ch[0]->type;
      if (e->id != QV_TYPE_STRUCT || e->n_children != 2)
        return field_err(c, QV_E_CORRUPT, f, "Map child must be a struct of 2 fields");
      return corrupt_if_invalid(c, qv_type_map_from_entries(ch[0], sorted, a, out, err));
    }
    case QV_FB_TYPE_UNION: {
      int16_t mode = qv__fb_i16(fb, t, QV_FB_UNION_MODE, QV_FB_UNION_SPARSE);
      if (mode != QV_FB_UNION_SPARSE && mode != QV_FB_UNION_DENSE)
        return field_err(c, QV_E_UNSUPPORTED, t, "unknown UnionMode %d", mode);
      if (nch > QV_UNION_MAX_CHILDREN)
        return field_err(c, QV_E_CORRUPT, t, "Union has %d children (at most %d)", nch,
                         QV_UNION_MAX_CHILDREN);
      uint32_t nids;
      uint32_t ids = qv__fb_vector(fb, t, QV_FB_UNION_TYPE_IDS, &nids);
      int8_t codes[QV_UNION_MAX_CHILDREN];
      const int8_t *cp = NULL;
      if (ids) {
        if ((int32_t)nids != nch)
          return field_err(c, QV_E_CORRUPT, t, "Union has %u typeIds for %d children", nids,
                           nch);
        for (uint32_t i = 0; i < nids; i++) {
          int32_t v = qv__fb_load_i32(fb, ids + 4 * i);
          if (v < 0 || v > 127)
            return field_err(c, QV_E_CORRUPT, t, "Union typeId %d is outside [0, 127]", v);
          codes[i] = (int8_t)v;
        }
        cp = codes;
      }
      return corrupt_if_invalid(
          c, qv_type_union(mode == QV_FB_UNION_DENSE ? QV_UNION_DENSE : QV_UNION_SPARSE, ch,
                           cp, nch, a, out, err));
    }
    case QV_FB_TYPE_RUN_END_ENCODED:
      return corrupt_if_invalid(c, qv_type_run_end_encoded_fields(ch[0], ch[1], a, out, err));
    default:
      return field_err(c, QV_E_UNSUPPORTED, f, "unknown Type union tag %u", tag);
  }
}

static qv_status read_field(sctx *c, uint32_t f, int depth, qv_field **out) {
  const qv__fb *fb = c->fb;
  qv_status s = QV_OK;
  size_t plen = strlen(c->path);
  size_t nl;
  const char *name = qv__fb_string(fb, f, QV_FB_FIELD_NAME, &nl);
  snprintf(c->path + plen, sizeof c->path - plen, "%s'%s'", plen ? "." : "", name ? name : "");
  int32_t maxn = c->opts->limits.max_nesting;
  if (maxn > 0 && depth > maxn) {
    s = field_err(c, QV_E_LIMIT, f, "types nested deeper than the limit of %d", maxn);
    goto done;
  }
  int64_t maxc = c->opts->limits.max_columns;
  if (maxc > 0 && ++c->n_fields > maxc) {
    s = field_err(c, QV_E_LIMIT, f, "schema has more than %lld fields (limit)", (long long)maxc);
    goto done;
  }
  uint32_t nch;
  uint32_t chv = qv__fb_vector(fb, f, QV_FB_FIELD_CHILDREN, &nch);
  if (nch > (uint32_t)INT32_MAX / 2) {
    s = field_err(c, QV_E_LIMIT, f, "field has %u children", nch);
    goto done;
  }
  qv_field **ch = NULL;
  qv_type *type = NULL, *vtype = NULL, *itype = NULL;
  qv_metadata md;
  qv_metadata_init(&md, c->a);
  uint32_t i = 0;
  if (nch) {
    ch = qv_mem_calloc(c->a, sizeof *ch * nch, _Alignof(qv_field *));
    if (!ch) {
      s = qv__nomem(c->err, "field children", sizeof *ch * nch);
      goto cleanup;
    }
    for (; i < nch; i++) {
      s = read_field(c, qv__fb_vector_table(fb, chv, i), depth + 1, &ch[i]);
      if (s < 0) goto cleanup;
    }
  }
  QV_TRY_GOTO(s, build_type(c, f, ch, (int32_t)nch, &vtype), cleanup);
  int64_t dict_id = -1;
  uint32_t de = qv__fb_table(fb, f, QV_FB_FIELD_DICTIONARY);
  if (de) {
    dict_id = qv__fb_i64(fb, de, QV_FB_DICTENC_ID, 0);
    int16_t kind = qv__fb_i16(fb, de, QV_FB_DICTENC_KIND, QV_FB_DICT_KIND_DENSE_ARRAY);
    if (kind != QV_FB_DICT_KIND_DENSE_ARRAY) {
      s = field_err(c, QV_E_UNSUPPORTED, de, "unknown DictionaryKind %d", kind);
      goto cleanup;
    }
    uint32_t it = qv__fb_table(fb, de, QV_FB_DICTENC_INDEX_TYPE);
    if (it) {
      QV_TRY_GOTO(s, int_type(c, it, &itype), cleanup);
    } else {
      itype = qv_type_int32();
    }
    bool ordered = qv__fb_bool(fb, de, QV_FB_DICTENC_IS_ORDERED, false);
    QV_TRY_GOTO(s, corrupt_if_invalid(c, qv_type_dictionary(itype, vtype, ordered, c->a, &type,
                                                            c->err)),
                cleanup);
  } else {
    type = vtype;
    vtype = NULL;
  }
  uint32_t nmd;
  uint32_t mdv = qv__fb_vector(fb, f, QV_FB_FIELD_CUSTOM_METADATA, &nmd);
  QV_TRY_GOTO(s, qv__ipc_metadata_read(fb, mdv, nmd, &md, c->err), cleanup);
  bool nullable = qv__fb_bool(fb, f, QV_FB_FIELD_NULLABLE, false);
  qv_field *fld = NULL;
  QV_TRY_GOTO(s, qv_field_new(name ? name : "", type, nullable, &md, c->a, &fld, c->err),
              cleanup);
  if (de) {
    qv_field *f2 = NULL;
    s = qv_field_with_dictionary_id(fld, dict_id, c->a, &f2, c->err);
    qv_field_unref(fld);
    if (s < 0) goto cleanup;
    fld = f2;
    /* the value type lives in fld->type (a reference we keep via the schema) */
    s = dicts_add(c, dict_id, fld->type->value_type, f);
    if (s < 0) {
      qv_field_unref(fld);
      goto cleanup;
    }
  }
  *out = fld;
cleanup:
  for (uint32_t j = 0; j < i && ch; j++) qv_field_unref(ch[j]);
  if (ch) qv_mem_free(c->a, ch, sizeof *ch * nch, _Alignof(qv_field *));
  qv_type_unref(type);
  qv_type_unref(vtype);
  qv_type_unref(itype);
  qv_metadata_reset(&md);
done:
  c->path[plen] = '\0';
  return s;
}

void qv__ipc_schema_info_reset(qv__ipc_schema_info *si) {
  if (!si) return;
  qv_schema_unref(si->schema);
  for (int32_t i = 0; i < si->dicts.n; i++) qv_array_unref(si->dicts.slots[i].values);
  if (si->dicts.slots)
    qv_mem_free(&si->dicts.alloc, si->dicts.slots,
                sizeof *si->dicts.slots * (size_t)si->dicts.cap, _Alignof(qv__ipc_dict_slot));
  memset(si, 0, sizeof *si);
}

qv_status qv__ipc_schema_read(const qv__fb *fb, uint32_t st, const qv_ipc_read_options *opts,
                              const qv_allocator *a, qv__ipc_schema_info *out, qv_error *err) {
  memset(out, 0, sizeof *out);
  out->dicts.alloc = *(a ? a : qv_allocator_default());
  sctx c = {fb, opts, a, 0, &out->dicts, "", err};
  int16_t endian = qv__fb_i16(fb, st, QV_FB_SCHEMA_ENDIANNESS, QV_FB_ENDIAN_LITTLE);
  if (endian != QV_FB_ENDIAN_LITTLE && endian != QV_FB_ENDIAN_BIG)
    return qv_error_set_at(err, QV_E_UNSUPPORTED, fb->base + st, "unknown Endianness %d",
                           endian);
  out->big_endian = endian == QV_FB_ENDIAN_BIG;
  uint32_t nfeat;
  uint32_t fv = qv__fb_vector(fb, st, QV_FB_SCHEMA_FEATURES, &nfeat);
  for (uint32_t i = 0; i < nfeat; i++) {
    int64_t ft = qv__fb_load_i64(fb, fv + 8 * i);
    if (ft != QV_FB_FEATURE_UNUSED && ft != QV_FB_FEATURE_DICTIONARY_REPLACEMENT &&
        ft != QV_FB_FEATURE_COMPRESSED_BODY)
      return qv_error_set_at(err, QV_E_UNSUPPORTED, fb->base + fv + 8 * i,
                             "schema uses unknown feature %lld", (long long)ft);
  }
  uint32_t nf;
  uint32_t fields = qv__fb_vector(fb, st, QV_FB_SCHEMA_FIELDS, &nf);
  if (opts->limits.max_columns > 0 && nf > opts->limits.max_columns)
    return qv_error_set_at(err, QV_E_LIMIT, fb->base + st,
                           "schema has %u columns, more than the limit of %lld", nf,
                           (long long)opts->limits.max_columns);
  if (nf > (uint32_t)INT32_MAX / 2)
    return qv_error_set_at(err, QV_E_LIMIT, fb->base + st, "schema has %u columns", nf);
  qv_status s = QV_OK;
  qv_field **fs = NULL;
  uint32_t i = 0;
  qv_metadata md;
  qv_metadata_init(&md, a);
  if (nf) {
    fs = qv_mem_calloc(a, sizeof *fs * nf, _Alignof(qv_field *));
    if (!fs) {
      s = qv__nomem(err, "schema fields", sizeof *fs * nf);
      goto fail;
    }
  }
  for (; i < nf; i++) QV_TRY_GOTO(s, read_field(&c, qv__fb_vector_table(fb, fields, i), 1, &fs[i]), fail);
  uint32_t nmd;
  uint32_t mdv = qv__fb_vector(fb, st, QV_FB_SCHEMA_CUSTOM_METADATA, &nmd);
  QV_TRY_GOTO(s, qv__ipc_metadata_read(fb, mdv, nmd, &md, err), fail);
  QV_TRY_GOTO(s, qv_schema_new(fs, (int32_t)nf, &md, a, &out->schema, err), fail);
fail:
  for (uint32_t j = 0; j < i; j++) qv_field_unref(fs[j]);
  if (fs) qv_mem_free(a, fs, sizeof *fs * nf, _Alignof(qv_field *));
  qv_metadata_reset(&md);
  if (s < 0) qv__ipc_schema_info_reset(out);
  return s;
}

/* ---- RecordBatch header ------------------------------------------------------------------- */

qv_status qv__ipc_batch_meta_read(const qv__fb *fb, uint32_t rb, const qv_ipc_limits *lim,
                                  qv__ipc_batch_meta *out, qv_error *err) {
  memset(out, 0, sizeof *out);
  out->fb = fb;
  out->length = qv__fb_i64(fb, rb, QV_FB_RECORDBATCH_LENGTH, 0);
  if (out->length < 0)
    return qv_error_set_at(err, QV_E_CORRUPT, fb->base + rb, "record batch length %lld is negative",
                           (long long)out->length);
  if (lim->max_rows > 0 && out->length > lim->max_rows)
    return qv_error_set_at(err, QV_E_LIMIT, fb->base + rb,
                           "record batch has %lld rows, more than the limit of %lld",
                           (long long)out->length, (long long)lim->max_rows);
  out->nodes = qv__fb_vector(fb, rb, QV_FB_RECORDBATCH_NODES, &out->n_nodes);
  out->buffers = qv__fb_vector(fb, rb, QV_FB_RECORDBATCH_BUFFERS, &out->n_buffers);
  out->variadic = qv__fb_vector(fb, rb, QV_FB_RECORDBATCH_VARIADIC_BUFFER_COUNTS, &out->n_variadic);
  out->codec = -1;
  uint32_t bc = qv__fb_table(fb, rb, QV_FB_RECORDBATCH_COMPRESSION);
  if (bc) {
    int8_t codec = qv__fb_i8(fb, bc, QV_FB_BODYCOMPRESSION_CODEC, QV_FB_COMPRESSION_LZ4_FRAME);
    int8_t method = qv__fb_i8(fb, bc, QV_FB_BODYCOMPRESSION_METHOD, QV_FB_BODY_COMPRESSION_BUFFER);
    if (codec != QV_FB_COMPRESSION_LZ4_FRAME && codec != QV_FB_COMPRESSION_ZSTD)
      return qv_error_set_at(err, QV_E_UNSUPPORTED, fb->base + bc,
                             "unknown body CompressionType %d", codec);
    if (method != QV_FB_BODY_COMPRESSION_BUFFER)
      return qv_error_set_at(err, QV_E_UNSUPPORTED, fb->base + bc,
                             "unknown BodyCompressionMethod %d", method);
    out->codec = codec;
  }
  return QV_OK;
}
