/* test_writer_util.h — helpers for the IPC writer tests (included by tests/ipc/test_writer_*.c):
 * a byte-level checker of what the writer emits (framing, 64-byte alignment, zero padding,
 * file magic and footer), and generators of arrays of every type through the builders. */
#ifndef QV_TEST_WRITER_UTIL_H
#define QV_TEST_WRITER_UTIL_H

#include <string.h>

#include "ipc/fb_build.h"
#include "ipc/ipc_int.h"
#include "qv_test.h"
#include "quiver/builder.h"
#include "quiver/ipc.h"
#include "quiver/table.h"

/* ---- byte-level checks ------------------------------------------------------------------ */

typedef struct wmsg {
  size_t start;      /* offset of the continuation marker */
  size_t meta_len;   /* the int32 after it (padded metadata) */
  int64_t body_len;
  uint8_t type;      /* QV_FB_HEADER_* */
  uint32_t n_md;     /* custom metadata entries of the message */
} wmsg;

typedef struct wlayout {
  wmsg msgs[256];
  int n;
  size_t eos_at;
  /* file format */
  int64_t footer_blocks_dict[64], footer_blocks_batch[64];
  uint32_t n_footer_dict, n_footer_batch;
} wlayout;

static inline uint32_t w_u32(const uint8_t *p) { return qv__load_u32le(p); }

/* Walks the messages of a stream at bytes[start..): every message at a 64-byte boundary (the
 * first one may sit at `start`), continuation marker, metadata verified by the reader's
 * parser, body length a multiple of 64, every buffer 64-aligned with zeroed padding. Returns
 * the number of failed checks (also counted in qv_test_failed). */
static inline int w_check_stream(const uint8_t *p, size_t len, size_t start, wlayout *out) {
  int before = qv_test_failed;
  size_t pos = start;
  out->n = 0;
  qv_ipc_read_options ro = qv_ipc_read_options_default();
  ro.limits.max_rows = 0; /* structure only: no row limit */
  for (;;) {
    if (pos + 8 > len) {
      QV_CHECK(0 && "stream truncated before the end-of-stream marker");
      break;
    }
    QV_CHECK_UINT_EQ(w_u32(p + pos), 0xFFFFFFFFu);
    uint32_t mlen = w_u32(p + pos + 4);
    if (mlen == 0) {
      out->eos_at = pos;
      break;
    }
    if (pos != start) QV_CHECK_UINT_EQ(pos % 64, 0);
    QV_CHECK_UINT_EQ((pos + 8 + mlen) % 64, 0);
    if (pos + 8 + mlen > len) {
      QV_CHECK(0 && "metadata beyond the end");
      break;
    }
    /* copy to aligned memory: parse needs 8-byte alignment only relative to the start */
    qv__ipc_msg msg;
    qv_error err;
    qv_status st = qv__ipc_msg_parse(p + pos + 8, mlen, (int64_t)(pos + 8), &ro, &msg, &err);
    QV_CHECK_OK_E(st, &err);
    if (st != QV_OK) break;
    wmsg *m = &out->msgs[out->n < 255 ? out->n++ : 255];
    m->start = pos;
    m->meta_len = mlen;
    m->body_len = msg.body_length;
    m->type = msg.header_type;
    m->n_md = msg.n_custom_metadata;
    QV_CHECK_UINT_EQ((uint64_t)msg.body_length % 64, 0);
    size_t body = pos + 8 + mlen;
    if ((uint64_t)msg.body_length > len - body) {
      QV_CHECK(0 && "body beyond the end");
      break;
    }
    uint32_t rb = 0;
    if (msg.header_type == QV_FB_HEADER_RECORD_BATCH) rb = msg.header;
    if (msg.header_type == QV_FB_HEADER_DICTIONARY_BATCH)
      rb = qv__fb_table(&msg.fb, msg.header, QV_FB_DICTBATCH_DATA);
    if (rb) {
      qv__ipc_batch_meta bm;
      st = qv__ipc_batch_meta_read(&msg.fb, rb, &ro.limits, &bm, &err);
      QV_CHECK_OK_E(st, &err);
      if (st != QV_OK) break;
      int64_t prev_end = 0;
      for (uint32_t i = 0; i < bm.n_buffers; i++) {
        int64_t off = qv__fb_load_i64(&msg.fb, bm.buffers + 16 * i);
        int64_t blen = qv__fb_load_i64(&msg.fb, bm.buffers + 16 * i + 8);
        QV_CHECK_UINT_EQ((uint64_t)off % 64, 0);
        QV_CHECK(off >= prev_end);
        QV_CHECK(blen >= 0 && off + blen <= msg.body_length);
        int64_t padded_end = (off + blen + 63) / 64 * 64;
        for (int64_t k = off + blen; k < padded_end && k < msg.body_length; k++)
          if (p[body + (size_t)k] != 0) {
            QV_CHECK(0 && "body padding is not zero");
            break;
          }
        prev_end = off + blen;
      }
    }
    pos = body + (size_t)msg.body_length;
  }
  return qv_test_failed - before;
}

/* Checks a whole stream (from byte 0) or file (magic, stream, footer, length, magic; footer
 * blocks match the messages found). */
static inline int w_check_bytes(const uint8_t *p, size_t len, qv_ipc_format fmt, wlayout *out) {
  int before = qv_test_failed;
  memset(out, 0, sizeof *out);
  if (fmt == QV_IPC_FORMAT_STREAM) {
    w_check_stream(p, len, 0, out);
    QV_CHECK_UINT_EQ(out->eos_at + 8, len);
    return qv_test_failed - before;
  }
  if (len < 8 + 8 + 10) {
    QV_CHECK(0 && "file too short");
    return qv_test_failed - before;
  }
  QV_CHECK_MEM_EQ(p, "ARROW1\0\0", 8);
  QV_CHECK_MEM_EQ(p + len - 6, "ARROW1", 6);
  w_check_stream(p, len, 8, out);
  uint32_t flen = w_u32(p + len - 10);
  size_t footer = out->eos_at + 8;
  QV_CHECK_UINT_EQ(footer + flen + 10, len);
  QV_CHECK_UINT_EQ(footer % 8, 0);
  if (footer + flen + 10 != len) return qv_test_failed - before;
  static uint64_t mem[1 << 14];
  if (flen > sizeof mem) return qv_test_failed - before;
  memcpy(mem, p + footer, flen);
  qv__fb fb = {(const uint8_t *)mem, flen, (int64_t)footer};
  qv_error err;
  QV_CHECK_OK_E(qv__fb_verify_footer(&fb, QV__FB_MAX_DEPTH, &err), &err);
  if (qv_test_failed != before) return qv_test_failed - before;
  uint32_t f = qv__fb_root(&fb);
  QV_CHECK_INT_EQ(qv__fb_i16(&fb, f, QV_FB_FOOTER_VERSION, 0), QV_FB_METADATA_V5);
  uint32_t nd, nb;
  uint32_t vd = qv__fb_vector(&fb, f, QV_FB_FOOTER_DICTIONARIES, &nd);
  uint32_t vb = qv__fb_vector(&fb, f, QV_FB_FOOTER_RECORD_BATCHES, &nb);
  out->n_footer_dict = nd;
  out->n_footer_batch = nb;
  /* every dictionary / record batch message is listed, in order, with its sizes */
  uint32_t id = 0, ib = 0;
  for (int i = 0; i < out->n; i++) {
    const wmsg *m = &out->msgs[i];
    uint32_t vec = 0, k = 0;
    if (m->type == QV_FB_HEADER_DICTIONARY_BATCH && id < nd) vec = vd, k = id++;
    else if (m->type == QV_FB_HEADER_RECORD_BATCH && ib < nb) vec = vb, k = ib++;
    else continue;
    uint32_t at = vec + 24 * k;
    QV_CHECK_INT_EQ(qv__fb_load_i64(&fb, at + QV_FB_BLOCK_OFFSET), (int64_t)m->start);
    QV_CHECK_INT_EQ(qv__fb_load_i32(&fb, at + QV_FB_BLOCK_META_DATA_LENGTH),
                    (int64_t)m->meta_len + 8);
    QV_CHECK_INT_EQ(qv__fb_load_i64(&fb, at + QV_FB_BLOCK_BODY_LENGTH), m->body_len);
    QV_CHECK_UINT_EQ(qv__fb_load_i64(&fb, at + QV_FB_BLOCK_OFFSET) % 64, 0);
  }
  QV_CHECK_UINT_EQ(id, nd);
  QV_CHECK_UINT_EQ(ib, nb);
  return qv_test_failed - before;
}

/* ---- generators ------------------------------------------------------------------------- */

/* Appends a deterministic value number i of type t to b (null when i % 5 == 3 and nullable). */
static inline qv_status w_gen(qv_builder *b, const qv_type *t, int64_t i, bool nullable,
                       qv_error *err) {
  if (nullable && i % 5 == 3 && t->id != QV_TYPE_RUN_END_ENCODED)
    return qv_builder_append_null(b, err);
  switch (t->id) {
    case QV_TYPE_NA: return qv_builder_append_null(b, err);
    case QV_TYPE_BOOL: return qv_builder_append_bool(b, i % 3 == 0, err);
    case QV_TYPE_INT8: return qv_builder_append_i64(b, (i * 37) % 200 - 100, err);
    case QV_TYPE_INT16: case QV_TYPE_INT32: case QV_TYPE_INT64:
      return qv_builder_append_i64(b, (i * 7919) % 30000 - 15000, err);
    case QV_TYPE_UINT8: return qv_builder_append_u64(b, (uint64_t)(i * 13) % 250, err);
    case QV_TYPE_UINT16: case QV_TYPE_UINT32: case QV_TYPE_UINT64:
      return qv_builder_append_u64(b, (uint64_t)(i * 104729) % 60000, err);
    case QV_TYPE_HALF_FLOAT: case QV_TYPE_FLOAT: case QV_TYPE_DOUBLE:
      return qv_builder_append_f64(b, (double)i * 0.5 - 3.0, err);
    case QV_TYPE_DATE32: case QV_TYPE_DATE64: case QV_TYPE_TIME32: case QV_TYPE_TIME64:
    case QV_TYPE_TIMESTAMP: case QV_TYPE_DURATION: case QV_TYPE_INTERVAL_MONTHS: {
      int64_t v = i * 1000;
      if (t->id == QV_TYPE_DATE64) v = i * 86400000;
      return qv_builder_append_i64(b, v, err);
    }
    case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL128:
    case QV_TYPE_DECIMAL256: case QV_TYPE_INTERVAL_DAY_TIME:
    case QV_TYPE_INTERVAL_MONTH_DAY_NANO: case QV_TYPE_FIXED_SIZE_BINARY: {
      uint8_t v[64];
      int32_t w = t->id == QV_TYPE_FIXED_SIZE_BINARY ? t->byte_width : qv_type_bit_width(t) / 8;
      int64_t x = i * 31 - 200;
      for (int32_t k = 0; k < w && k < 64; k++) v[k] = (uint8_t)(k < 8 ? (uint64_t)x >> (8 * k) : (x < 0 ? 0xFF : 0));
      if (t->id == QV_TYPE_FIXED_SIZE_BINARY)
        for (int32_t k = 0; k < w && k < 64; k++) v[k] = (uint8_t)('a' + (i + k) % 26);
      return qv_builder_append_fixed(b, v, err);
    }
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW: {
      char s[64];
      int n = snprintf(s, sizeof s, "v%lld", (long long)i);
      if (i % 4 == 1) n = snprintf(s, sizeof s, "a longer value number %lld", (long long)i);
      if (i % 7 == 2) n = 0;
      return qv_builder_append_bytes(b, s, (size_t)n, err);
    }
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_LIST_VIEW:
    case QV_TYPE_LARGE_LIST_VIEW: {
      const qv_field *c = t->children[0];
      for (int64_t k = 0; k < i % 4; k++)
        QV_TRY(w_gen(qv_builder_child(b, 0), c->type, i * 7 + k, c->nullable, err));
      return qv_builder_list_append(b, err);
    }
    case QV_TYPE_FIXED_SIZE_LIST: {
      const qv_field *c = t->children[0];
      for (int64_t k = 0; k < t->list_size; k++)
        QV_TRY(w_gen(qv_builder_child(b, 0), c->type, i * 7 + k, c->nullable, err));
      return qv_builder_list_append(b, err);
    }
    case QV_TYPE_STRUCT:
      for (int32_t c = 0; c < t->n_children; c++)
        QV_TRY(w_gen(qv_builder_child(b, c), t->children[c]->type, i + c,
                     t->children[c]->nullable, err));
      return qv_builder_struct_append(b, true, err);
    case QV_TYPE_MAP: {
      const qv_type *e = t->children[0]->type;
      for (int64_t k = 0; k < i % 3; k++) {
        QV_TRY(w_gen(qv_builder_child(b, 0), e->children[0]->type, i * 3 + k, false, err));
        QV_TRY(w_gen(qv_builder_child(b, 1), e->children[1]->type, i * 3 + k,
                     e->children[1]->nullable, err));
      }
      return qv_builder_list_append(b, err);
    }
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION: {
      int32_t c = (int32_t)(i % t->n_children);
      QV_TRY(w_gen(qv_builder_child(b, c), t->children[c]->type, i, true, err));
      return qv_builder_union_append(b, t->type_codes ? t->type_codes[c] : (int8_t)c, err);
    }
    case QV_TYPE_DICTIONARY:
      if (qv_type_id_is_string(t->value_type->id) || qv_type_id_is_binary_like(t->value_type->id)) {
        char s[32];
        snprintf(s, sizeof s, "word%lld", (long long)(i % 7));
        return qv_builder_append_str(b, s, err);
      }
      return qv_builder_append_i64(b, i % 7, err);
    default:
      return qv_error_set(err, QV_E_UNSUPPORTED, "w_gen: %s", qv_type_id_name(t->id));
  }
}

/* An array of n generated values of type t. REE: runs of 1..3 of generated values. */
static inline qv_status w_make_array(const qv_type *t, int64_t n, int64_t seed, const qv_allocator *a,
                              qv_array **out, qv_error *err) {
  qv_builder *b;
  QV_TRY(qv_builder_new(t, a, &b, err));
  qv_status st = QV_OK;
  if (t->id == QV_TYPE_RUN_END_ENCODED) {
    int64_t done = 0;
    for (int64_t r = 0; done < n && st == QV_OK; r++) {
      int64_t run = 1 + (r + seed) % 3;
      if (run > n - done) run = n - done;
      st = w_gen(qv_builder_child(b, 1), t->children[1]->type, r + seed, true, err);
      if (st == QV_OK) st = qv_builder_ree_append_run(b, run, err);
      done += run;
    }
  } else {
    for (int64_t i = 0; i < n && st == QV_OK; i++) st = w_gen(b, t, i + seed, true, err);
  }
  if (st == QV_OK) st = qv_builder_finish(b, out, err);
  qv_builder_free(b);
  return st;
}

/* A schema of one nullable column `name` of col's type, and a batch of `col` (consumed) with
 * its rows. False (a failed check) on error. */
static inline bool w_one_column(const char *name, qv_array *col, qv_schema **s, qv_batch **b) {
  qv_field *f = NULL;
  *s = NULL;
  *b = NULL;
  qv_status st = qv_field_new(name, col->type, true, NULL, NULL, &f, NULL);
  if (st == QV_OK) st = qv_schema_new(&f, 1, NULL, NULL, s, NULL);
  qv_field_unref(f);
  if (st != QV_OK) {
    qv_array_unref(col);
  } else if ((st = qv_batch_new(*s, col->length, &col, 1, NULL, b, NULL)) != QV_OK) {
    qv_schema_unref(*s);
    *s = NULL;
  }
  QV_CHECK_OK(st);
  return st == QV_OK;
}

/* The parsed metadata and RecordBatch header of message m of written `bytes` (a layout from
 * w_check_bytes). False (a failed check) when either does not parse. */
static inline bool w_batch_meta(const uint8_t *bytes, const wmsg *m, qv__ipc_msg *msg,
                                qv__ipc_batch_meta *bm) {
  qv_ipc_read_options ro = qv_ipc_read_options_default();
  qv_error err;
  qv_status st = qv__ipc_msg_parse(bytes + m->start + 8, m->meta_len, 0, &ro, msg, &err);
  if (st == QV_OK) st = qv__ipc_batch_meta_read(&msg->fb, msg->header, &ro.limits, bm, &err);
  QV_CHECK_OK_E(st, &err);
  return st == QV_OK;
}

/* Writes `n` batches to a new mbuffer. */
static inline qv_status w_write(const qv_schema *s, qv_batch *const *batches, int n,
                         const qv_ipc_write_options *o, const qv_allocator *a, qv_mbuffer *out,
                         qv_error *err) {
  qv_mbuffer_init(out, a);
  qv_ipc_writer *w;
  qv_status st = qv_ipc_writer_new(s, o, qv_ipc_sink_mbuffer, out, a, &w, err);
  if (st < 0) {
    qv_mbuffer_reset(out); /* the file magic may be in it already */
    return st;
  }
  for (int i = 0; i < n && st == QV_OK; i++) st = qv_ipc_writer_write_batch(w, batches[i], err);
  if (st == QV_OK) st = qv_ipc_writer_finish(w, err);
  qv_ipc_writer_free(w);
  if (st < 0) qv_mbuffer_reset(out);
  return st;
}

/* Reads everything back (stream or file by magic) into a table. */
static inline qv_status w_read(const qv_mbuffer *mb, qv_table **out, qv_error *err) {
  qv_buffer buf;
  QV_TRY(qv_buffer_copy(mb->data, mb->len, NULL, &buf, err));
  qv_ipc_read_options ro = qv_ipc_read_options_default();
  qv_status st = qv_ipc_read_buffer(&buf, &ro, NULL, out, err);
  qv_buffer_unref(&buf);
  return st;
}

#endif
