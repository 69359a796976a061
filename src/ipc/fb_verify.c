/* fb_verify.c — the FlatBuffers verifier for Arrow IPC metadata: walks a Message or Footer
 * against a static description of Schema.fbs / Message.fbs / File.fbs and checks every offset,
 * vtable, scalar, vector, string, union and the nesting depth before any reader touches it. */
#include <string.h>

#include "ipc/ipc_int.h"

typedef enum fv_kind {
  FV_SCALAR,     /* inline scalar of `size` bytes */
  FV_STRING,     /* offset to string */
  FV_TABLE,      /* offset to table `table` */
  FV_VEC_SCALAR, /* offset to vector of scalars of `size` bytes */
  FV_VEC_STRUCT, /* offset to vector of structs of `size` bytes aligned to `align` */
  FV_VEC_TABLE,  /* offset to vector of tables `table` */
  FV_UNION       /* union value; tag in slot `tag_slot`, members in `un` */
} fv_kind;

typedef struct fv_table fv_table;
typedef struct fv_union fv_union;

typedef struct fv_field {
  uint8_t slot;
  uint8_t kind;
  uint8_t size;
  uint8_t align;
  const fv_table *table;
  const fv_union *un;
  uint8_t tag_slot;
} fv_field;

struct fv_table {
  const char *name;
  const fv_field *fields;
  size_t n_fields;
};

struct fv_union {
  const char *name;
  const fv_table *const *members; /* indexed by tag; NULL = unsupported */
  const char *const *member_names;
  size_t n_members;
};

#define S(slot, size) {slot, FV_SCALAR, size, size, NULL, NULL, 0}
#define STR(slot) {slot, FV_STRING, 4, 4, NULL, NULL, 0}
#define TBL(slot, t) {slot, FV_TABLE, 4, 4, &t, NULL, 0}
#define VSC(slot, size) {slot, FV_VEC_SCALAR, size, size, NULL, NULL, 0}
#define VST(slot, size, al) {slot, FV_VEC_STRUCT, size, al, NULL, NULL, 0}
#define VTB(slot, t) {slot, FV_VEC_TABLE, 4, 4, &t, NULL, 0}
#define UNI(slot, tag, u) {slot, FV_UNION, 4, 4, NULL, &u, tag}
#define TABLE(var, nm, ...)                                                \
  static const fv_field var##_fields[] = {__VA_ARGS__};                    \
  static const fv_table var = {nm, var##_fields, sizeof var##_fields / sizeof var##_fields[0]}

static const fv_table t_empty = {"(type)", NULL, 0};
TABLE(t_keyvalue, "KeyValue", STR(QV_FB_KEYVALUE_KEY), STR(QV_FB_KEYVALUE_VALUE));
TABLE(t_int, "Int", S(QV_FB_INT_BIT_WIDTH, 4), S(QV_FB_INT_IS_SIGNED, 1));
TABLE(t_float, "FloatingPoint", S(QV_FB_FLOATINGPOINT_PRECISION, 2));
TABLE(t_decimal, "Decimal", S(QV_FB_DECIMAL_PRECISION, 4), S(QV_FB_DECIMAL_SCALE, 4),
      S(QV_FB_DECIMAL_BIT_WIDTH, 4));
TABLE(t_date, "Date", S(QV_FB_DATE_UNIT, 2));
TABLE(t_time, "Time", S(QV_FB_TIME_UNIT, 2), S(QV_FB_TIME_BIT_WIDTH, 4));
TABLE(t_timestamp, "Timestamp", S(QV_FB_TIMESTAMP_UNIT, 2), STR(QV_FB_TIMESTAMP_TIMEZONE));
TABLE(t_duration, "Duration", S(QV_FB_DURATION_UNIT, 2));
TABLE(t_interval, "Interval", S(QV_FB_INTERVAL_UNIT, 2));
TABLE(t_fsb, "FixedSizeBinary", S(QV_FB_FIXEDSIZEBINARY_BYTE_WIDTH, 4));
TABLE(t_fsl, "FixedSizeList", S(QV_FB_FIXEDSIZELIST_LIST_SIZE, 4));
TABLE(t_map, "Map", S(QV_FB_MAP_KEYS_SORTED, 1));
TABLE(t_union, "Union", S(QV_FB_UNION_MODE, 2), VSC(QV_FB_UNION_TYPE_IDS, 4));

static const fv_table *const type_members[QV_FB_TYPE_MAX + 1] = {
    [QV_FB_TYPE_NULL] = &t_empty,          [QV_FB_TYPE_INT] = &t_int,
    [QV_FB_TYPE_FLOATING_POINT] = &t_float, [QV_FB_TYPE_BINARY] = &t_empty,
    [QV_FB_TYPE_UTF8] = &t_empty,          [QV_FB_TYPE_BOOL] = &t_empty,
    [QV_FB_TYPE_DECIMAL] = &t_decimal,     [QV_FB_TYPE_DATE] = &t_date,
    [QV_FB_TYPE_TIME] = &t_time,           [QV_FB_TYPE_TIMESTAMP] = &t_timestamp,
    [QV_FB_TYPE_INTERVAL] = &t_interval,   [QV_FB_TYPE_LIST] = &t_empty,
    [QV_FB_TYPE_STRUCT] = &t_empty,        [QV_FB_TYPE_UNION] = &t_union,
    [QV_FB_TYPE_FIXED_SIZE_BINARY] = &t_fsb, [QV_FB_TYPE_FIXED_SIZE_LIST] = &t_fsl,
    [QV_FB_TYPE_MAP] = &t_map,             [QV_FB_TYPE_DURATION] = &t_duration,
    [QV_FB_TYPE_LARGE_BINARY] = &t_empty,  [QV_FB_TYPE_LARGE_UTF8] = &t_empty,
    [QV_FB_TYPE_LARGE_LIST] = &t_empty,    [QV_FB_TYPE_RUN_END_ENCODED] = &t_empty,
    [QV_FB_TYPE_BINARY_VIEW] = &t_empty,   [QV_FB_TYPE_UTF8_VIEW] = &t_empty,
    [QV_FB_TYPE_LIST_VIEW] = &t_empty,     [QV_FB_TYPE_LARGE_LIST_VIEW] = &t_empty,
};
static const char *const type_names[QV_FB_TYPE_MAX + 1] = {
    "NONE", "Null", "Int", "FloatingPoint", "Binary", "Utf8", "Bool", "Decimal", "Date",
    "Time", "Timestamp", "Interval", "List", "Struct_", "Union", "FixedSizeBinary",
    "FixedSizeList", "Map", "Duration", "LargeBinary", "LargeUtf8", "LargeList",
    "RunEndEncoded", "BinaryView", "Utf8View", "ListView", "LargeListView"};
static const fv_union u_type = {"Type", type_members, type_names, QV_FB_TYPE_MAX + 1};

TABLE(t_dictenc, "DictionaryEncoding", S(QV_FB_DICTENC_ID, 8), TBL(QV_FB_DICTENC_INDEX_TYPE, t_int),
      S(QV_FB_DICTENC_IS_ORDERED, 1), S(QV_FB_DICTENC_KIND, 2));
/* Field is recursive: declared first, defined after its field list. */
static const fv_table t_field;
static const fv_field t_field_fields[] = {
    STR(QV_FB_FIELD_NAME),
    S(QV_FB_FIELD_NULLABLE, 1),
    S(QV_FB_FIELD_TYPE_TYPE, 1),
    UNI(QV_FB_FIELD_TYPE, QV_FB_FIELD_TYPE_TYPE, u_type),
    TBL(QV_FB_FIELD_DICTIONARY, t_dictenc),
    VTB(QV_FB_FIELD_CHILDREN, t_field),
    VTB(QV_FB_FIELD_CUSTOM_METADATA, t_keyvalue),
};
static const fv_table t_field = {"Field", t_field_fields,
                                 sizeof t_field_fields / sizeof t_field_fields[0]};
TABLE(t_schema, "Schema", S(QV_FB_SCHEMA_ENDIANNESS, 2), VTB(QV_FB_SCHEMA_FIELDS, t_field),
      VTB(QV_FB_SCHEMA_CUSTOM_METADATA, t_keyvalue), VSC(QV_FB_SCHEMA_FEATURES, 8));
TABLE(t_bodycomp, "BodyCompression", S(QV_FB_BODYCOMPRESSION_CODEC, 1),
      S(QV_FB_BODYCOMPRESSION_METHOD, 1));
TABLE(t_recordbatch, "RecordBatch", S(QV_FB_RECORDBATCH_LENGTH, 8),
      VST(QV_FB_RECORDBATCH_NODES, QV_FB_FIELDNODE_SIZE, 8),
      VST(QV_FB_RECORDBATCH_BUFFERS, QV_FB_BUFFER_SIZE, 8),
      TBL(QV_FB_RECORDBATCH_COMPRESSION, t_bodycomp),
      VSC(QV_FB_RECORDBATCH_VARIADIC_BUFFER_COUNTS, 8));
TABLE(t_dictbatch, "DictionaryBatch", S(QV_FB_DICTBATCH_ID, 8),
      TBL(QV_FB_DICTBATCH_DATA, t_recordbatch), S(QV_FB_DICTBATCH_IS_DELTA, 1));

static const fv_table *const header_members[] = {
    [QV_FB_HEADER_SCHEMA] = &t_schema,
    [QV_FB_HEADER_DICTIONARY_BATCH] = &t_dictbatch,
    [QV_FB_HEADER_RECORD_BATCH] = &t_recordbatch,
    [QV_FB_HEADER_TENSOR] = NULL,
    [QV_FB_HEADER_SPARSE_TENSOR] = NULL,
};
static const char *const header_names[] = {"NONE", "Schema", "DictionaryBatch", "RecordBatch",
                                           "Tensor", "SparseTensor"};
static const fv_union u_header = {"MessageHeader", header_members, header_names, 6};

TABLE(t_message, "Message", S(QV_FB_MESSAGE_VERSION, 2), S(QV_FB_MESSAGE_HEADER_TYPE, 1),
      UNI(QV_FB_MESSAGE_HEADER, QV_FB_MESSAGE_HEADER_TYPE, u_header),
      S(QV_FB_MESSAGE_BODY_LENGTH, 8), VTB(QV_FB_MESSAGE_CUSTOM_METADATA, t_keyvalue));
TABLE(t_footer, "Footer", S(QV_FB_FOOTER_VERSION, 2), TBL(QV_FB_FOOTER_SCHEMA, t_schema),
      VST(QV_FB_FOOTER_DICTIONARIES, QV_FB_BLOCK_SIZE, QV_FB_BLOCK_ALIGN),
      VST(QV_FB_FOOTER_RECORD_BATCHES, QV_FB_BLOCK_SIZE, QV_FB_BLOCK_ALIGN),
      VTB(QV_FB_FOOTER_CUSTOM_METADATA, t_keyvalue));

/* ---- the walk ---------------------------------------------------------------------------- */

typedef struct fv_ctx {
  const qv__fb *fb;
  int max_depth;
  size_t tables_left; /* bounds total work even for DAG-shaped (shared-offset) inputs */
  qv_error *err;
} fv_ctx;

static qv_status bad(fv_ctx *c, size_t pos, const char *fmt, const char *what) {
  return qv_error_set_at(c->err, QV_E_CORRUPT, c->fb->base + (int64_t)pos,
                         "metadata FlatBuffer: %s %s (at metadata byte %zu)", what, fmt, pos);
}

static uint32_t ld32(const fv_ctx *c, size_t p) { return qv__load_u32le(c->fb->data + p); }

/* Follows the uoffset at p (p + 4 <= len and aligned already checked). */
static qv_status follow(fv_ctx *c, size_t p, const char *what, size_t *out) {
  uint32_t u = ld32(c, p);
  size_t target = p + u;
  if (u == 0 || target >= c->fb->len || target < p)
    return bad(c, p, "offset points outside the buffer", what);
  *out = target;
  return QV_OK;
}

/* A vector header at v: 4-aligned, length within the buffer for elements of `elem` bytes,
 * elements aligned to `align`; `extra` trailing bytes (string NUL) must also fit. */
static qv_status vec_check(fv_ctx *c, size_t v, size_t elem, size_t align, size_t extra,
                           const char *what, uint32_t *n_out) {
  size_t len = c->fb->len;
  if (v % 4 != 0) return bad(c, v, "vector is misaligned", what);
  if (v > len || len - v < 4) return bad(c, v, "vector length is outside the buffer", what);
  uint32_t n = ld32(c, v);
  size_t bytes, total;
  if (qv__mul_overflow(n, elem, &bytes) || qv__add_overflow(bytes, extra, &total) ||
      total > len - v - 4)
    return qv_error_set_at(c->err, QV_E_CORRUPT, c->fb->base + (int64_t)v,
                           "metadata FlatBuffer: %s vector of %u elements of %zu bytes runs past "
                           "the end of the %zu-byte buffer (at metadata byte %zu)",
                           what, n, elem, len, v);
  if (align > 4 && n > 0 && (v + 4) % align != 0)
    return bad(c, v, "vector elements are misaligned", what);
  *n_out = n;
  return QV_OK;
}

static qv_status verify_table(fv_ctx *c, size_t t, const fv_table *d, int depth);

static qv_status verify_string(fv_ctx *c, size_t s, const char *what) {
  uint32_t n;
  QV_TRY(vec_check(c, s, 1, 1, 1, what, &n));
  if (c->fb->data[s + 4 + n] != 0) return bad(c, s, "string is not NUL-terminated", what);
  return QV_OK;
}

static qv_status verify_field(fv_ctx *c, size_t t, uint16_t vsize, size_t vt, uint16_t tsize,
                              const fv_table *d, const fv_field *f, int depth) {
  size_t vo = 4 + 2 * (size_t)f->slot;
  uint16_t o = vo + 2 <= vsize ? qv__load_u16le(c->fb->data + vt + vo) : 0;
  if (o == 0) return QV_OK; /* absent: default */
  size_t inl = f->kind == FV_SCALAR ? f->size : 4; /* everything else is a uoffset */
  if ((size_t)o + inl > tsize) return bad(c, t + o, "field lies outside its table", d->name);
  size_t p = t + o;
  if (p % inl != 0) return bad(c, p, "field is misaligned", d->name);
  if (f->kind == FV_SCALAR) return QV_OK;
  size_t target = 0;
  QV_TRY(follow(c, p, d->name, &target));
  uint32_t n;
  switch ((fv_kind)f->kind) {
    case FV_STRING:
      return verify_string(c, target, d->name);
    case FV_TABLE:
      return verify_table(c, target, f->table, depth + 1);
    case FV_VEC_SCALAR:
      return vec_check(c, target, f->size, f->align, 0, d->name, &n);
    case FV_VEC_STRUCT:
      return vec_check(c, target, f->size, f->align, 0, d->name, &n);
    case FV_VEC_TABLE:
      QV_TRY(vec_check(c, target, 4, 4, 0, d->name, &n));
      for (uint32_t i = 0; i < n; i++) {
        size_t el = 0;
        QV_TRY(follow(c, target + 4 + 4 * (size_t)i, f->table->name, &el));
        QV_TRY(verify_table(c, el, f->table, depth + 1));
      }
      return QV_OK;
    case FV_UNION: {
      size_t to = 4 + 2 * (size_t)f->tag_slot;
      uint16_t tagoff = to + 2 <= vsize ? qv__load_u16le(c->fb->data + vt + to) : 0;
      uint8_t tag = 0;
      if (tagoff) {
        if ((size_t)tagoff + 1 > tsize) return bad(c, t + tagoff, "union tag lies outside its table", d->name);
        tag = c->fb->data[t + tagoff];
      }
      const fv_union *u = f->un;
      if (tag == 0) return QV_OK; /* NONE: the value is ignored */
      if (tag >= u->n_members)
        return qv_error_set_at(c->err, QV_E_UNSUPPORTED, c->fb->base + (int64_t)(t + tagoff),
                               "unknown %s union tag %u in %s (newer format version?)", u->name,
                               tag, d->name);
      if (!u->members[tag])
        return qv_error_set_at(c->err, QV_E_UNSUPPORTED, c->fb->base + (int64_t)(t + tagoff),
                               "%s %s (tag %u) is not supported", u->name, u->member_names[tag],
                               tag);
      return verify_table(c, target, u->members[tag], depth + 1);
    }
    case FV_SCALAR:
      break;
  }
  return QV_OK;
}

static qv_status verify_table(fv_ctx *c, size_t t, const fv_table *d, int depth) {
  size_t len = c->fb->len;
  if (depth > c->max_depth)
    return qv_error_set_at(c->err, QV_E_LIMIT, c->fb->base + (int64_t)t,
                           "metadata FlatBuffer: tables nested deeper than %d (at %s)",
                           c->max_depth, d->name);
  if (c->tables_left == 0)
    return bad(c, t, "too many tables for the buffer size (shared offsets?)", d->name);
  c->tables_left--;
  if (t % 4 != 0) return bad(c, t, "table is misaligned", d->name);
  if (t > len || len - t < 4) return bad(c, t, "table is outside the buffer", d->name);
  int64_t vt64 = (int64_t)t - (int32_t)ld32(c, t);
  if (vt64 < 0 || vt64 > (int64_t)len - 4) return bad(c, t, "vtable is outside the buffer", d->name);
  size_t vt = (size_t)vt64;
  if (vt % 2 != 0) return bad(c, vt, "vtable is misaligned", d->name);
  uint16_t vsize = qv__load_u16le(c->fb->data + vt);
  uint16_t tsize = qv__load_u16le(c->fb->data + vt + 2);
  if (vsize < 4 || vsize % 2 != 0 || vsize > len - vt)
    return bad(c, vt, "vtable size is invalid", d->name);
  if (tsize < 4 || tsize > len - t) return bad(c, t, "table size is invalid", d->name);
  for (size_t i = 0; i < d->n_fields; i++)
    QV_TRY(verify_field(c, t, vsize, vt, tsize, d, &d->fields[i], depth));
  return QV_OK;
}

static qv_status verify_root(const qv__fb *fb, const fv_table *root, int max_depth,
                             qv_error *err) {
  fv_ctx c = {fb, max_depth > 0 ? max_depth : QV__FB_MAX_DEPTH, fb->len / 4 + 16, err};
  if (fb->len > QV__FB_MAX_SIZE)
    return qv_error_set_at(err, QV_E_LIMIT, fb->base, "metadata FlatBuffer of %zu bytes is too large",
                           fb->len);
  if (fb->len < 8)
    return qv_error_set_at(err, QV_E_CORRUPT, fb->base,
                           "metadata FlatBuffer of %zu bytes is too short for a %s", fb->len,
                           root->name);
  size_t t = 0;
  QV_TRY(follow(&c, 0, root->name, &t));
  return verify_table(&c, t, root, 0);
}

qv_status qv__fb_verify_message(const qv__fb *fb, int max_depth, qv_error *err) {
  return verify_root(fb, &t_message, max_depth, err);
}

qv_status qv__fb_verify_footer(const qv__fb *fb, int max_depth, qv_error *err) {
  return verify_root(fb, &t_footer, max_depth, err);
}
