/* meta_write.c — encodes Arrow IPC metadata as FlatBuffers: Schema / Field / Type tables,
 * RecordBatch and DictionaryBatch headers, the Message envelope (V5) and the file Footer. */
#include <string.h>

#include "core/core_int.h"
#include "ipc/fb_arrow.h"
#include "ipc/fb_build.h"

/* Nesting depth we encode (the same bound array validation uses). */
#define MAX_DEPTH 64

typedef struct enc {
  qv__fbb *b;
  const qv__dict_ids *ids;
  size_t next_id; /* pre-order index of the next dictionary field */
  qv_error *err;
} enc;

static qv__fbref keyvalues(enc *e, const qv_metadata *md, qv_status *st) {
  if (!md || md->n <= 0) return 0;
  size_t n = (size_t)md->n;
  qv__fbref *refs = qv_mem_alloc(e->b->alloc, n * sizeof *refs, 0);
  if (!refs) {
    *st = qv__nomem(e->err, "IPC custom metadata", n * sizeof *refs);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    const qv_metadata_entry *kv = &md->entries[i];
    qv__fbref k = qv__fbb_string(e->b, kv->key, kv->key_len);
    qv__fbref v = qv__fbb_string(e->b, kv->value, kv->value_len);
    qv__fbb_table_start(e->b);
    qv__fbb_add_ref(e->b, QV_FB_KEYVALUE_KEY, k);
    qv__fbb_add_ref(e->b, QV_FB_KEYVALUE_VALUE, v);
    refs[i] = qv__fbb_table_end(e->b);
  }
  qv__fbref vec = qv__fbb_vec_refs(e->b, refs, n);
  qv_mem_free(e->b->alloc, refs, n * sizeof *refs, 0);
  return vec;
}

static int16_t time_unit(qv_time_unit u) {
  switch (u) {
    case QV_TIME_SECOND: return QV_FB_TIME_SECOND;
    case QV_TIME_MILLI: return QV_FB_TIME_MILLISECOND;
    case QV_TIME_MICRO: return QV_FB_TIME_MICROSECOND;
    case QV_TIME_NANO: return QV_FB_TIME_NANOSECOND;
  }
  return QV_FB_TIME_SECOND;
}

static qv__fbref int_table(qv__fbb *b, int32_t bits, bool is_signed) {
  qv__fbb_table_start(b);
  qv__fbb_add_i32(b, QV_FB_INT_BIT_WIDTH, bits, 0);
  qv__fbb_add_bool(b, QV_FB_INT_IS_SIGNED, is_signed, false);
  return qv__fbb_table_end(b);
}

static int32_t int_bits(qv_type_id id) {
  switch (id) {
    case QV_TYPE_INT8: case QV_TYPE_UINT8: return 8;
    case QV_TYPE_INT16: case QV_TYPE_UINT16: return 16;
    case QV_TYPE_INT32: case QV_TYPE_UINT32: return 32;
    case QV_TYPE_INT64: case QV_TYPE_UINT64: return 64;
    default: return 0;
  }
}

/* The Type union value for t (not DICTIONARY: the caller passes the value type). */
static qv_status type_table(enc *e, const qv_type *t, const char *name, uint8_t *tag,
                            qv__fbref *out) {
  qv__fbb *b = e->b;
  qv__fbref tz = 0, ids = 0;
  switch (t->id) {
    case QV_TYPE_TIMESTAMP:
      if (t->timezone) tz = qv__fbb_cstring(b, t->timezone);
      break;
    case QV_TYPE_SPARSE_UNION:
    case QV_TYPE_DENSE_UNION: {
      int32_t codes[QV_UNION_MAX_CHILDREN];
      int32_t n = t->n_children;
      if (n < 0 || n > QV_UNION_MAX_CHILDREN)
        return qv_error_set(e->err, QV_E_INVALID, "field '%s': union with %d children", name,
                            (int)n);
      for (int32_t i = 0; i < n; i++) codes[i] = t->type_codes ? t->type_codes[i] : i;
      ids = qv__fbb_vec_i32(b, codes, (size_t)n);
      break;
    }
    default:
      break;
  }
  qv__fbb_table_start(b);
  switch (t->id) {
    case QV_TYPE_NA: *tag = QV_FB_TYPE_NULL; break;
    case QV_TYPE_BOOL: *tag = QV_FB_TYPE_BOOL; break;
    case QV_TYPE_INT8: case QV_TYPE_INT16: case QV_TYPE_INT32: case QV_TYPE_INT64:
    case QV_TYPE_UINT8: case QV_TYPE_UINT16: case QV_TYPE_UINT32: case QV_TYPE_UINT64:
      *tag = QV_FB_TYPE_INT;
      qv__fbb_add_i32(b, QV_FB_INT_BIT_WIDTH, int_bits(t->id), 0);
      qv__fbb_add_bool(b, QV_FB_INT_IS_SIGNED, qv_type_id_is_signed(t->id), false);
      break;
    case QV_TYPE_HALF_FLOAT: case QV_TYPE_FLOAT: case QV_TYPE_DOUBLE:
      *tag = QV_FB_TYPE_FLOATING_POINT;
      qv__fbb_add_i16(b, QV_FB_FLOATINGPOINT_PRECISION,
                      t->id == QV_TYPE_HALF_FLOAT ? QV_FB_PRECISION_HALF
                      : t->id == QV_TYPE_FLOAT    ? QV_FB_PRECISION_SINGLE
                                                  : QV_FB_PRECISION_DOUBLE,
                      -1);
      break;
    case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL128:
    case QV_TYPE_DECIMAL256: {
      int32_t bits = t->id == QV_TYPE_DECIMAL32   ? 32
                     : t->id == QV_TYPE_DECIMAL64 ? 64
                     : t->id == QV_TYPE_DECIMAL128 ? 128 : 256;
      *tag = QV_FB_TYPE_DECIMAL;
      qv__fbb_add_i32(b, QV_FB_DECIMAL_PRECISION, t->precision, -1);
      qv__fbb_add_i32(b, QV_FB_DECIMAL_SCALE, t->scale, 0);
      qv__fbb_add_i32(b, QV_FB_DECIMAL_BIT_WIDTH, bits, -1); /* always explicit */
      break;
    }
    case QV_TYPE_DATE32: case QV_TYPE_DATE64:
      *tag = QV_FB_TYPE_DATE;
      qv__fbb_add_i16(b, QV_FB_DATE_UNIT,
                      t->id == QV_TYPE_DATE32 ? QV_FB_DATE_DAY : QV_FB_DATE_MILLISECOND, -1);
      break;
    case QV_TYPE_TIME32: case QV_TYPE_TIME64:
      *tag = QV_FB_TYPE_TIME;
      qv__fbb_add_i16(b, QV_FB_TIME_UNIT, time_unit(t->unit), -1);
      qv__fbb_add_i32(b, QV_FB_TIME_BIT_WIDTH, t->id == QV_TYPE_TIME32 ? 32 : 64, -1);
      break;
    case QV_TYPE_TIMESTAMP:
      *tag = QV_FB_TYPE_TIMESTAMP;
      qv__fbb_add_i16(b, QV_FB_TIMESTAMP_UNIT, time_unit(t->unit), -1);
      qv__fbb_add_ref(b, QV_FB_TIMESTAMP_TIMEZONE, tz);
      break;
    case QV_TYPE_DURATION:
      *tag = QV_FB_TYPE_DURATION;
      qv__fbb_add_i16(b, QV_FB_DURATION_UNIT, time_unit(t->unit), -1);
      break;
    case QV_TYPE_INTERVAL_MONTHS: case QV_TYPE_INTERVAL_DAY_TIME:
    case QV_TYPE_INTERVAL_MONTH_DAY_NANO:
      *tag = QV_FB_TYPE_INTERVAL;
      qv__fbb_add_i16(b, QV_FB_INTERVAL_UNIT,
                      t->id == QV_TYPE_INTERVAL_MONTHS     ? QV_FB_INTERVAL_YEAR_MONTH
                      : t->id == QV_TYPE_INTERVAL_DAY_TIME ? QV_FB_INTERVAL_DAY_TIME
                                                           : QV_FB_INTERVAL_MONTH_DAY_NANO,
                      -1);
      break;
    case QV_TYPE_BINARY: *tag = QV_FB_TYPE_BINARY; break;
    case QV_TYPE_STRING: *tag = QV_FB_TYPE_UTF8; break;
    case QV_TYPE_LARGE_BINARY: *tag = QV_FB_TYPE_LARGE_BINARY; break;
    case QV_TYPE_LARGE_STRING: *tag = QV_FB_TYPE_LARGE_UTF8; break;
    case QV_TYPE_BINARY_VIEW: *tag = QV_FB_TYPE_BINARY_VIEW; break;
    case QV_TYPE_STRING_VIEW: *tag = QV_FB_TYPE_UTF8_VIEW; break;
    case QV_TYPE_FIXED_SIZE_BINARY:
      *tag = QV_FB_TYPE_FIXED_SIZE_BINARY;
      qv__fbb_add_i32(b, QV_FB_FIXEDSIZEBINARY_BYTE_WIDTH, t->byte_width, -1);
      break;
    case QV_TYPE_LIST: *tag = QV_FB_TYPE_LIST; break;
    case QV_TYPE_LARGE_LIST: *tag = QV_FB_TYPE_LARGE_LIST; break;
    case QV_TYPE_LIST_VIEW: *tag = QV_FB_TYPE_LIST_VIEW; break;
    case QV_TYPE_LARGE_LIST_VIEW: *tag = QV_FB_TYPE_LARGE_LIST_VIEW; break;
    case QV_TYPE_FIXED_SIZE_LIST:
      *tag = QV_FB_TYPE_FIXED_SIZE_LIST;
      qv__fbb_add_i32(b, QV_FB_FIXEDSIZELIST_LIST_SIZE, t->list_size, -1);
      break;
    case QV_TYPE_STRUCT: *tag = QV_FB_TYPE_STRUCT; break;
    case QV_TYPE_MAP:
      *tag = QV_FB_TYPE_MAP;
      qv__fbb_add_bool(b, QV_FB_MAP_KEYS_SORTED, t->keys_sorted, false);
      break;
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION:
      *tag = QV_FB_TYPE_UNION;
      qv__fbb_add_i16(b, QV_FB_UNION_MODE,
                      t->id == QV_TYPE_DENSE_UNION ? QV_FB_UNION_DENSE : QV_FB_UNION_SPARSE, -1);
      qv__fbb_add_ref(b, QV_FB_UNION_TYPE_IDS, ids);
      break;
    case QV_TYPE_RUN_END_ENCODED: *tag = QV_FB_TYPE_RUN_END_ENCODED; break;
    default:
      qv__fbb_table_end(b);
      return qv_error_set(e->err, QV_E_UNSUPPORTED,
                          "field '%s': type %s cannot be written to Arrow IPC", name,
                          qv_type_id_name(t->id));
  }
  *out = qv__fbb_table_end(b);
  return QV_OK;
}

static qv_status field_table(enc *e, const qv_field *f, int depth, qv__fbref *out);

/* The vector of child Field tables of t. */
static qv_status children_vec(enc *e, const qv_type *t, int depth, qv__fbref *out) {
  *out = 0;
  if (t->n_children <= 0) return QV_OK;
  size_t n = (size_t)t->n_children;
  qv__fbref *refs = qv_mem_alloc(e->b->alloc, n * sizeof *refs, 0);
  if (!refs) return qv__nomem(e->err, "IPC schema children", n * sizeof *refs);
  qv_status st = QV_OK;
  for (size_t i = 0; i < n && st == QV_OK; i++)
    st = field_table(e, t->children[i], depth + 1, &refs[i]);
  if (st == QV_OK) *out = qv__fbb_vec_refs(e->b, refs, n);
  qv_mem_free(e->b->alloc, refs, n * sizeof *refs, 0);
  return st;
}

static qv_status field_table(enc *e, const qv_field *f, int depth, qv__fbref *out) {
  qv__fbb *b = e->b;
  if (depth > MAX_DEPTH)
    return qv_error_set(e->err, QV_E_LIMIT, "field '%s': nested deeper than %d levels", f->name,
                        MAX_DEPTH);
  const qv_type *t = f->type;
  qv__fbref dict = 0;
  if (t->id == QV_TYPE_DICTIONARY) {
    if (e->next_id >= e->ids->n)
      return qv_error_set(e->err, QV_E_INVALID, "field '%s': no dictionary id assigned",
                          f->name);
    int64_t id = e->ids->ids[e->next_id++];
    const qv_type *it = t->index_type;
    if (!it || !qv_type_id_is_integer(it->id))
      return qv_error_set(e->err, QV_E_INVALID,
                          "field '%s': dictionary index type must be an integer", f->name);
    qv__fbref itab = int_table(b, int_bits(it->id), qv_type_id_is_signed(it->id));
    qv__fbb_table_start(b);
    qv__fbb_add_i64(b, QV_FB_DICTENC_ID, id, -1);
    qv__fbb_add_ref(b, QV_FB_DICTENC_INDEX_TYPE, itab);
    qv__fbb_add_bool(b, QV_FB_DICTENC_IS_ORDERED, t->ordered, false);
    dict = qv__fbb_table_end(b);
    t = t->value_type;
    if (t->id == QV_TYPE_DICTIONARY)
      return qv_error_set(e->err, QV_E_INVALID,
                          "field '%s': dictionary whose values are dictionary-encoded directly",
                          f->name);
  }
  qv__fbref name = qv__fbb_cstring(b, f->name);
  qv_status st = QV_OK;
  qv__fbref md = keyvalues(e, &f->metadata, &st);
  if (st != QV_OK) return st;
  qv__fbref children;
  QV_TRY(children_vec(e, t, depth, &children));
  uint8_t tag = 0;
  qv__fbref type;
  QV_TRY(type_table(e, t, f->name, &tag, &type));
  qv__fbb_table_start(b);
  qv__fbb_add_ref(b, QV_FB_FIELD_NAME, name);
  qv__fbb_add_bool(b, QV_FB_FIELD_NULLABLE, f->nullable, false);
  qv__fbb_add_u8(b, QV_FB_FIELD_TYPE_TYPE, tag, 0);
  qv__fbb_add_ref(b, QV_FB_FIELD_TYPE, type);
  qv__fbb_add_ref(b, QV_FB_FIELD_DICTIONARY, dict);
  qv__fbb_add_ref(b, QV_FB_FIELD_CHILDREN, children);
  qv__fbb_add_ref(b, QV_FB_FIELD_CUSTOM_METADATA, md);
  *out = qv__fbb_table_end(b);
  return QV_OK;
}

static qv_status schema_table(enc *e, const qv_schema *s, qv__fbref *out) {
  size_t n = s->n_fields > 0 ? (size_t)s->n_fields : 0;
  qv__fbref *refs = qv_mem_alloc(e->b->alloc, (n ? n : 1) * sizeof *refs, 0);
  if (!refs) return qv__nomem(e->err, "IPC schema fields", n * sizeof *refs);
  qv_status st = QV_OK;
  for (size_t i = 0; i < n && st == QV_OK; i++) st = field_table(e, s->fields[i], 0, &refs[i]);
  qv__fbref fields = 0;
  if (st == QV_OK) fields = qv__fbb_vec_refs(e->b, refs, n);
  qv_mem_free(e->b->alloc, refs, (n ? n : 1) * sizeof *refs, 0);
  QV_TRY(st);
  qv__fbref md = keyvalues(e, &s->metadata, &st);
  QV_TRY(st);
  qv__fbb_table_start(e->b);
  qv__fbb_add_i16(e->b, QV_FB_SCHEMA_ENDIANNESS, QV_FB_ENDIAN_LITTLE, QV_FB_ENDIAN_LITTLE);
  qv__fbb_add_ref(e->b, QV_FB_SCHEMA_FIELDS, fields);
  qv__fbb_add_ref(e->b, QV_FB_SCHEMA_CUSTOM_METADATA, md);
  *out = qv__fbb_table_end(e->b);
  return QV_OK;
}

static qv__fbref batch_table(qv__fbb *b, const qv__wbatch *rb) {
  uint8_t *tmp = NULL;
  size_t n = rb->n_nodes > rb->n_buffers ? rb->n_nodes : rb->n_buffers;
  size_t tmp_size = (n ? n : 1) * 16;
  tmp = qv_mem_alloc(b->alloc, tmp_size, 8);
  if (!tmp) {
    qv__fbb_fail(b, QV_E_NOMEM, "out of memory building metadata");
    return 0;
  }
  for (size_t i = 0; i < rb->n_nodes; i++) {
    qv__store_u64le(tmp + 16 * i + QV_FB_FIELDNODE_LENGTH, (uint64_t)rb->nodes[i].length);
    qv__store_u64le(tmp + 16 * i + QV_FB_FIELDNODE_NULL_COUNT,
                    (uint64_t)rb->nodes[i].null_count);
  }
  qv__fbref nodes = qv__fbb_vec_structs(b, tmp, QV_FB_FIELDNODE_SIZE, rb->n_nodes, 8);
  for (size_t i = 0; i < rb->n_buffers; i++) {
    qv__store_u64le(tmp + 16 * i + QV_FB_BUFFER_OFFSET, (uint64_t)rb->buffers[i].offset);
    qv__store_u64le(tmp + 16 * i + QV_FB_BUFFER_LENGTH, (uint64_t)rb->buffers[i].length);
  }
  qv__fbref bufs = qv__fbb_vec_structs(b, tmp, QV_FB_BUFFER_SIZE, rb->n_buffers, 8);
  qv_mem_free(b->alloc, tmp, tmp_size, 8);
  qv__fbref variadic = 0;
  if (rb->n_variadic) variadic = qv__fbb_vec_i64(b, rb->variadic, rb->n_variadic);
  qv__fbref comp = 0;
  if (rb->codec >= 0) {
    qv__fbb_table_start(b);
    /* written explicitly (not left to the defaults) so that every reader sees it plainly */
    qv__fbb_add_u8(b, QV_FB_BODYCOMPRESSION_CODEC, (uint8_t)rb->codec, 0xFF);
    qv__fbb_add_u8(b, QV_FB_BODYCOMPRESSION_METHOD, QV_FB_BODY_COMPRESSION_BUFFER, 0xFF);
    comp = qv__fbb_table_end(b);
  }
  qv__fbb_table_start(b);
  qv__fbb_add_i64(b, QV_FB_RECORDBATCH_LENGTH, rb->length, -1);
  qv__fbb_add_ref(b, QV_FB_RECORDBATCH_NODES, nodes);
  qv__fbb_add_ref(b, QV_FB_RECORDBATCH_BUFFERS, bufs);
  qv__fbb_add_ref(b, QV_FB_RECORDBATCH_COMPRESSION, comp);
  qv__fbb_add_ref(b, QV_FB_RECORDBATCH_VARIADIC_BUFFER_COUNTS, variadic);
  return qv__fbb_table_end(b);
}

static qv_status message(qv__fbb *b, uint8_t tag, qv__fbref header, int64_t body_len,
                         qv__fbref md, const uint8_t **data, size_t *len, qv_error *err) {
  qv__fbb_table_start(b);
  qv__fbb_add_i16(b, QV_FB_MESSAGE_VERSION, QV_FB_METADATA_V5, -1);
  qv__fbb_add_u8(b, QV_FB_MESSAGE_HEADER_TYPE, tag, 0);
  qv__fbb_add_ref(b, QV_FB_MESSAGE_HEADER, header);
  qv__fbb_add_i64(b, QV_FB_MESSAGE_BODY_LENGTH, body_len, 0);
  qv__fbb_add_ref(b, QV_FB_MESSAGE_CUSTOM_METADATA, md);
  qv__fbref root = qv__fbb_table_end(b);
  return qv__fbb_finish(b, root, data, len, err);
}

qv_status qv__meta_schema_message(qv__fbb *b, const qv_schema *s, const qv__dict_ids *ids,
                                  const uint8_t **data, size_t *len, qv_error *err) {
  qv__fbb_clear(b);
  enc e = {b, ids, 0, err};
  qv__fbref sch;
  QV_TRY(schema_table(&e, s, &sch));
  return message(b, QV_FB_HEADER_SCHEMA, sch, 0, 0, data, len, err);
}

qv_status qv__meta_batch_message(qv__fbb *b, const qv__wbatch *rb, int64_t body_len,
                                 const qv_metadata *md, const uint8_t **data, size_t *len,
                                 qv_error *err) {
  qv__fbb_clear(b);
  enc e = {b, NULL, 0, err};
  qv_status st = QV_OK;
  qv__fbref mdv = keyvalues(&e, md, &st);
  QV_TRY(st);
  qv__fbref rbt = batch_table(b, rb);
  return message(b, QV_FB_HEADER_RECORD_BATCH, rbt, body_len, mdv, data, len, err);
}

qv_status qv__meta_dictionary_message(qv__fbb *b, int64_t id, bool is_delta,
                                      const qv__wbatch *rb, int64_t body_len,
                                      const uint8_t **data, size_t *len, qv_error *err) {
  qv__fbb_clear(b);
  qv__fbref rbt = batch_table(b, rb);
  qv__fbb_table_start(b);
  qv__fbb_add_i64(b, QV_FB_DICTBATCH_ID, id, -1);
  qv__fbb_add_ref(b, QV_FB_DICTBATCH_DATA, rbt);
  qv__fbb_add_bool(b, QV_FB_DICTBATCH_IS_DELTA, is_delta, false);
  qv__fbref db = qv__fbb_table_end(b);
  return message(b, QV_FB_HEADER_DICTIONARY_BATCH, db, body_len, 0, data, len, err);
}

static qv__fbref blocks(qv__fbb *b, const qv__wblock *bl, size_t n) {
  size_t size = (n ? n : 1) * QV_FB_BLOCK_SIZE;
  uint8_t *tmp = qv_mem_calloc(b->alloc, size, 8);
  if (!tmp) {
    qv__fbb_fail(b, QV_E_NOMEM, "out of memory building the footer");
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    uint8_t *p = tmp + i * QV_FB_BLOCK_SIZE;
    qv__store_u64le(p + QV_FB_BLOCK_OFFSET, (uint64_t)bl[i].offset);
    qv__store_u32le(p + QV_FB_BLOCK_META_DATA_LENGTH, (uint32_t)bl[i].meta_len);
    qv__store_u64le(p + QV_FB_BLOCK_BODY_LENGTH, (uint64_t)bl[i].body_len);
  }
  qv__fbref v = qv__fbb_vec_structs(b, tmp, QV_FB_BLOCK_SIZE, n, QV_FB_BLOCK_ALIGN);
  qv_mem_free(b->alloc, tmp, size, 8);
  return v;
}

qv_status qv__meta_footer(qv__fbb *b, const qv_schema *s, const qv__dict_ids *ids,
                          const qv__wblock *dicts, size_t n_dicts, const qv__wblock *batches,
                          size_t n_batches, const qv_metadata *md, const uint8_t **data,
                          size_t *len, qv_error *err) {
  qv__fbb_clear(b);
  enc e = {b, ids, 0, err};
  qv__fbref sch;
  QV_TRY(schema_table(&e, s, &sch));
  qv_status st = QV_OK;
  qv__fbref mdv = keyvalues(&e, md, &st);
  QV_TRY(st);
  qv__fbref dv = blocks(b, dicts, n_dicts);
  qv__fbref bv = blocks(b, batches, n_batches);
  qv__fbb_table_start(b);
  qv__fbb_add_i16(b, QV_FB_FOOTER_VERSION, QV_FB_METADATA_V5, -1);
  qv__fbb_add_ref(b, QV_FB_FOOTER_SCHEMA, sch);
  qv__fbb_add_ref(b, QV_FB_FOOTER_DICTIONARIES, dv);
  qv__fbb_add_ref(b, QV_FB_FOOTER_RECORD_BATCHES, bv);
  qv__fbb_add_ref(b, QV_FB_FOOTER_CUSTOM_METADATA, mdv);
  qv__fbref root = qv__fbb_table_end(b);
  return qv__fbb_finish(b, root, data, len, err);
}
