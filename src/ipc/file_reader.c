/* file_reader.c — the Arrow IPC file format reader: magic and footer verification, Blocks
 * checked against the file size, random access to record batches by index with column
 * projection (unprojected columns' buffers are never touched), dictionaries loaded from the
 * footer's dictionary blocks on first use. */
#include <stdio.h>
#include <string.h>

#include "ipc/ipc_int.h"

struct qv_ipc_file {
  qv_allocator alloc;
  qv_ipc_read_options opts;
  qv_buffer buf;      /* the whole file (a reference) */
  qv__fb footer;      /* inside buf */
  size_t footer_start;
  uint32_t dict_blocks, n_dict_blocks;
  uint32_t batch_blocks, n_batch_blocks;
  qv__ipc_schema_info si;
  qv_metadata footer_md;
};

typedef struct block {
  uint64_t offset;
  uint64_t meta_len;
  uint64_t body_len;
} block;

static qv_status get_block(const qv_ipc_file *f, uint32_t vec, uint32_t i, const char *what,
                           block *out, qv_error *err) {
  uint32_t p = vec + QV_FB_BLOCK_SIZE * i;
  int64_t off = qv__fb_load_i64(&f->footer, p + QV_FB_BLOCK_OFFSET);
  int32_t ml = qv__fb_load_i32(&f->footer, p + QV_FB_BLOCK_META_DATA_LENGTH);
  int64_t bl = qv__fb_load_i64(&f->footer, p + QV_FB_BLOCK_BODY_LENGTH);
  uint64_t end = f->footer_start;
  if (off < 0 || ml <= 0 || bl < 0 || (uint64_t)off > end || (uint64_t)ml > end - (uint64_t)off ||
      (uint64_t)bl > end - (uint64_t)off - (uint64_t)ml)
    return qv_error_set_at(err, QV_E_CORRUPT, f->footer.base + p,
                           "footer %s block %u [offset %lld, metadata %d, body %lld] is outside "
                           "the %zu bytes before the footer",
                           what, i, (long long)off, ml, (long long)bl, f->footer_start);
  out->offset = (uint64_t)off;
  out->meta_len = (uint64_t)ml;
  out->body_len = (uint64_t)bl;
  return QV_OK;
}

/* Parses the message of a block; *body becomes a slice of the file (caller unrefs). */
static qv_status read_block(qv_ipc_file *f, const block *bk, qv__ipc_msg *msg, qv_buffer *body,
                            int64_t *body_at, qv_error *err) {
  const uint8_t *p = f->buf.data + bk->offset;
  qv__ipc_frame fr;
  size_t need;
  qv_status s = qv__ipc_frame_peek(p, (size_t)bk->meta_len, (int64_t)bk->offset,
                                   &f->opts.limits, &fr, &need, err);
  if (s == QV_NEED_MORE || (s == QV_OK && (fr.eos || fr.prefix_len + fr.meta_len > bk->meta_len)))
    return qv_error_set_at(err, QV_E_CORRUPT, (int64_t)bk->offset,
                           "message at byte %llu does not fit its block's %llu metadata bytes",
                           (unsigned long long)bk->offset, (unsigned long long)bk->meta_len);
  QV_TRY(s);
  QV_TRY(qv__ipc_msg_parse(p + fr.prefix_len, fr.meta_len, (int64_t)(bk->offset + fr.prefix_len),
                           &f->opts, msg, err));
  if ((uint64_t)msg->body_length > bk->body_len)
    return qv_error_set_at(err, QV_E_CORRUPT, (int64_t)bk->offset,
                           "message body of %lld bytes is longer than its block's %llu",
                           (long long)msg->body_length, (unsigned long long)bk->body_len);
  int64_t maxm = f->opts.limits.max_message_bytes;
  if (maxm > 0 && (int64_t)bk->meta_len + msg->body_length > maxm)
    return qv_error_set_at(err, QV_E_LIMIT, (int64_t)bk->offset,
                           "message of %lld bytes exceeds the limit of %lld",
                           (long long)bk->meta_len + msg->body_length, (long long)maxm);
  *body_at = (int64_t)(bk->offset + bk->meta_len);
  return qv_buffer_slice(&f->buf, (size_t)*body_at, (size_t)msg->body_length, body, err);
}

void qv_ipc_file_close(qv_ipc_file *f) {
  if (!f) return;
  qv__ipc_schema_info_reset(&f->si);
  qv_metadata_reset(&f->footer_md);
  qv_buffer_unref(&f->buf);
  qv_allocator a = f->alloc;
  qv_mem_free(&a, f, sizeof *f, _Alignof(qv_ipc_file));
}

qv_status qv_ipc_file_open_buffer(const qv_buffer *buf, const qv_ipc_read_options *opts,
                                  const qv_allocator *a, qv_ipc_file **out, qv_error *err) {
  if (!buf || !out) return qv_error_set(err, QV_E_INVALID, "qv_ipc_file_open_buffer: NULL argument");
  *out = NULL;
  if (!a) a = qv_allocator_default();
  const size_t len = buf->len;
  const uint8_t *d = buf->data;
  if (len < 18)
    return qv_error_set_at(err, QV_E_CORRUPT, 0, "IPC file of %zu bytes is too short", len);
  if (memcmp(d, QV_IPC_MAGIC, QV_IPC_MAGIC_LEN) != 0)
    return qv_error_set_at(err, QV_E_CORRUPT, 0, "IPC file does not start with ARROW1");
  if (memcmp(d + len - QV_IPC_MAGIC_LEN, QV_IPC_MAGIC, QV_IPC_MAGIC_LEN) != 0)
    return qv_error_set_at(err, QV_E_CORRUPT, (int64_t)(len - 6),
                           "IPC file does not end with ARROW1 (truncated?)");
  int32_t flen = (int32_t)qv__load_u32le(d + len - 10);
  if (flen <= 0 || (size_t)flen > len - 18)
    return qv_error_set_at(err, QV_E_CORRUPT, (int64_t)(len - 10),
                           "footer length %d does not fit the %zu-byte file", flen, len);
  if (opts && opts->limits.max_metadata_bytes > 0 && flen > opts->limits.max_metadata_bytes)
    return qv_error_set_at(err, QV_E_LIMIT, (int64_t)(len - 10),
                           "footer of %d bytes exceeds the metadata limit of %lld", flen,
                           (long long)opts->limits.max_metadata_bytes);
  qv_ipc_file *f = qv_mem_calloc(a, sizeof *f, _Alignof(qv_ipc_file));
  if (!f) return qv__nomem(err, "IPC file reader", sizeof *f);
  f->alloc = *a;
  f->opts = opts ? *opts : qv_ipc_read_options_default();
  qv_metadata_init(&f->footer_md, a);
  qv_buffer_ref(buf, &f->buf);
  f->footer_start = len - 10 - (size_t)flen;
  f->footer.data = d + f->footer_start;
  f->footer.len = (size_t)flen;
  f->footer.base = (int64_t)f->footer_start;
  int depth = f->opts.limits.max_nesting > 0 ? f->opts.limits.max_nesting + 8 : QV__FB_MAX_DEPTH;
  qv_status s = qv__fb_verify_footer(&f->footer, depth, err);
  if (s < 0) goto fail;
  uint32_t root = qv__fb_root(&f->footer);
  int16_t ver = qv__fb_i16(&f->footer, root, QV_FB_FOOTER_VERSION, QV_FB_METADATA_V1);
  /* Some writers leave the footer version unset (V1 by default): each message carries and is
   * checked for its own version, so only a version newer than we know is refused here. */
  if (ver > QV_FB_METADATA_V5) {
    s = qv_error_set_at(err, QV_E_UNSUPPORTED, f->footer.base,
                        "footer metadata version V%d is newer than V5", ver + 1);
    goto fail;
  }
  uint32_t st = qv__fb_table(&f->footer, root, QV_FB_FOOTER_SCHEMA);
  if (!st) {
    s = qv_error_set_at(err, QV_E_CORRUPT, f->footer.base, "IPC file footer has no schema");
    goto fail;
  }
  s = qv__ipc_schema_read(&f->footer, st, &f->opts, &f->alloc, &f->si, err);
  if (s < 0) goto fail;
  uint32_t nmd;
  uint32_t mdv = qv__fb_vector(&f->footer, root, QV_FB_FOOTER_CUSTOM_METADATA, &nmd);
  if ((s = qv__ipc_metadata_read(&f->footer, mdv, nmd, &f->footer_md, err)) < 0) goto fail;
  f->dict_blocks = qv__fb_vector(&f->footer, root, QV_FB_FOOTER_DICTIONARIES, &f->n_dict_blocks);
  f->batch_blocks =
      qv__fb_vector(&f->footer, root, QV_FB_FOOTER_RECORD_BATCHES, &f->n_batch_blocks);
  block bk;
  for (uint32_t i = 0; i < f->n_dict_blocks; i++)
    if ((s = get_block(f, f->dict_blocks, i, "dictionary", &bk, err)) < 0) goto fail;
  for (uint32_t i = 0; i < f->n_batch_blocks; i++)
    if ((s = get_block(f, f->batch_blocks, i, "record batch", &bk, err)) < 0) goto fail;
  *out = f;
  return QV_OK;
fail:
  qv_ipc_file_close(f);
  return s;
}

qv_status qv_ipc_file_open_path(const char *path, const qv_ipc_read_options *opts,
                                const qv_allocator *a, qv_ipc_file **out, qv_error *err) {
  if (!path || !out) return qv_error_set(err, QV_E_INVALID, "qv_ipc_file_open_path: NULL argument");
  qv_buffer b;
  QV_TRY(qv__ipc_map_file(path, a, &b, err));
  qv_status s = qv_ipc_file_open_buffer(&b, opts, a, out, err);
  qv_buffer_unref(&b);
  if (s < 0) qv_error_prefix(err, "%s: ", path);
  return s;
}

const qv_schema *qv_ipc_file_schema(const qv_ipc_file *f) { return f ? f->si.schema : NULL; }
int64_t qv_ipc_file_num_batches(const qv_ipc_file *f) { return f ? f->n_batch_blocks : 0; }
int64_t qv_ipc_file_num_dictionaries(const qv_ipc_file *f) { return f ? f->n_dict_blocks : 0; }

static qv_status batch_block(qv_ipc_file *f, int64_t i, qv__ipc_msg *msg, qv_buffer *body,
                             int64_t *body_at, qv_error *err) {
  if (i < 0 || i >= (int64_t)f->n_batch_blocks)
    return qv_error_set(err, QV_E_RANGE, "record batch %lld is outside [0, %u)", (long long)i,
                        f->n_batch_blocks);
  block bk;
  QV_TRY(get_block(f, f->batch_blocks, (uint32_t)i, "record batch", &bk, err));
  QV_TRY(read_block(f, &bk, msg, body, body_at, err));
  if (msg->header_type != QV_FB_HEADER_RECORD_BATCH) {
    qv_buffer_unref(body);
    return qv_error_set_at(err, QV_E_CORRUPT, (int64_t)bk.offset,
                           "record batch block %lld holds a message of type %u", (long long)i,
                           msg->header_type);
  }
  return QV_OK;
}

qv_status qv_ipc_file_batch_rows(qv_ipc_file *f, int64_t i, int64_t *rows, qv_error *err) {
  if (!f || !rows) return qv_error_set(err, QV_E_INVALID, "qv_ipc_file_batch_rows: NULL argument");
  qv__ipc_msg msg;
  qv_buffer body;
  int64_t at;
  QV_TRY(batch_block(f, i, &msg, &body, &at, err));
  qv_buffer_unref(&body);
  qv__ipc_batch_meta bm;
  QV_TRY(qv__ipc_batch_meta_read(&msg.fb, msg.header, &f->opts.limits, &bm, err));
  *rows = bm.length;
  return QV_OK;
}

qv_status qv_ipc_file_batch_metadata(qv_ipc_file *f, int64_t i, qv_metadata *md,
                                     qv_error *err) {
  if (!f || !md) return qv_error_set(err, QV_E_INVALID, "qv_ipc_file_batch_metadata: NULL argument");
  qv__ipc_msg msg;
  qv_buffer body;
  int64_t at;
  QV_TRY(batch_block(f, i, &msg, &body, &at, err));
  qv_buffer_unref(&body);
  return qv__ipc_metadata_read(&msg.fb, msg.custom_metadata, msg.n_custom_metadata, md, err);
}

const qv_metadata *qv_ipc_file_footer_metadata(const qv_ipc_file *f) {
  return f ? &f->footer_md : NULL;
}

/* Marks (in `want`, indexed like si.dicts.slots) the dictionaries type t needs. */
static void collect_dicts(qv_ipc_file *f, const qv_type *t, int64_t id, bool *want, int depth) {
  if (depth > QV_VALIDATE_MAX_DEPTH) return;
  if (t->id == QV_TYPE_DICTIONARY) {
    for (int32_t i = 0; i < f->si.dicts.n; i++)
      if (f->si.dicts.slots[i].id == id) want[i] = true;
    t = t->value_type;
  }
  for (int32_t i = 0; i < t->n_children; i++)
    collect_dicts(f, t->children[i]->type, t->children[i]->dictionary_id, want, depth + 1);
}

static qv_status load_dicts(qv_ipc_file *f, const bool *want, qv_error *err) {
  bool any = false;
  for (int32_t i = 0; i < f->si.dicts.n; i++) any |= want[i] && !f->si.dicts.slots[i].loaded;
  if (!any) return QV_OK;
  for (uint32_t j = 0; j < f->n_dict_blocks; j++) {
    block bk;
    qv__ipc_msg msg;
    qv_buffer body;
    int64_t at;
    QV_TRY(get_block(f, f->dict_blocks, j, "dictionary", &bk, err));
    QV_TRY(read_block(f, &bk, &msg, &body, &at, err));
    qv_status s = QV_OK;
    if (msg.header_type != QV_FB_HEADER_DICTIONARY_BATCH) {
      s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)bk.offset,
                          "dictionary block %u holds a message of type %u", j, msg.header_type);
    } else {
      int64_t id = qv__fb_i64(&msg.fb, msg.header, QV_FB_DICTBATCH_ID, 0);
      int32_t k = -1;
      for (int32_t i = 0; i < f->si.dicts.n; i++)
        if (f->si.dicts.slots[i].id == id) k = i;
      if (k < 0) {
        s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)bk.offset,
                            "dictionary block %u has id %lld, which no field uses", j,
                            (long long)id);
      } else if (want[k] && !f->si.dicts.slots[k].loaded) {
        qv__ipc_body_ctx c;
        qv__ipc_body_ctx_init(&c, &f->opts, &f->alloc, &f->si, msg.version, &body, at);
        s = qv__ipc_dict_decode(&c, &msg.fb, msg.header, false, err);
      }
    }
    qv_buffer_unref(&body);
    QV_TRY(s);
  }
  for (int32_t i = 0; i < f->si.dicts.n; i++)
    if (want[i]) f->si.dicts.slots[i].loaded = true;
  return QV_OK;
}

qv_status qv_ipc_file_read_batch(qv_ipc_file *f, int64_t i, const int32_t *columns,
                                 size_t n_columns, qv_batch **out, qv_error *err) {
  if (!f || !out) return qv_error_set(err, QV_E_INVALID, "qv_ipc_file_read_batch: NULL argument");
  *out = NULL;
  const qv_schema *sc = f->si.schema;
  for (size_t k = 0; columns && k < n_columns; k++)
    if (columns[k] < 0 || columns[k] >= sc->n_fields)
      return qv_error_set(err, QV_E_RANGE, "column index %d is outside [0, %d)", columns[k],
                          sc->n_fields);
  qv__ipc_msg msg;
  qv_buffer body;
  int64_t at;
  QV_TRY(batch_block(f, i, &msg, &body, &at, err));
  qv_status s = QV_OK;
  bool all_loaded = true; /* then there is nothing to collect per batch */
  for (int32_t k = 0; k < f->si.dicts.n && all_loaded; k++) all_loaded = f->si.dicts.slots[k].loaded;
  if (!all_loaded) {
    bool *want = qv_mem_calloc(&f->alloc, sizeof *want * (size_t)f->si.dicts.n, 1);
    if (!want) {
      qv_buffer_unref(&body);
      return qv__nomem(err, "dictionary set", (size_t)f->si.dicts.n);
    }
    size_t nc = columns ? n_columns : (size_t)sc->n_fields;
    for (size_t k = 0; k < nc; k++) {
      const qv_field *fl = sc->fields[columns ? columns[k] : (int32_t)k];
      collect_dicts(f, fl->type, fl->dictionary_id, want, 0);
    }
    s = load_dicts(f, want, err);
    qv_mem_free(&f->alloc, want, sizeof *want * (size_t)f->si.dicts.n, 1);
  }
  if (s == QV_OK) {
    qv__ipc_batch_meta bm;
    s = qv__ipc_batch_meta_read(&msg.fb, msg.header, &f->opts.limits, &bm, err);
    if (s == QV_OK) {
      qv__ipc_body_ctx c;
      qv__ipc_body_ctx_init(&c, &f->opts, &f->alloc, &f->si, msg.version, &body, at);
      c.meta = &bm;
      c.batch_index = i; /* c.what stays empty: named lazily on error */
      s = qv__ipc_batch_decode(&c, sc, columns, n_columns, out, err);
    }
  }
  qv_buffer_unref(&body);
  return s;
}

qv_status qv__ipc_file_read_all(const qv_buffer *buf, const qv_ipc_read_options *opts,
                                const qv_allocator *a, qv_table **out, qv_error *err) {
  qv_ipc_file *f = NULL;
  qv_table *t = NULL;
  QV_TRY(qv_ipc_file_open_buffer(buf, opts, a, &f, err));
  qv_status s = qv_table_new(f->si.schema, a, &t, err);
  for (int64_t i = 0; s == QV_OK && i < (int64_t)f->n_batch_blocks; i++) {
    qv_batch *b = NULL;
    s = qv_ipc_file_read_batch(f, i, NULL, 0, &b, err);
    if (s == QV_OK) s = qv_table_append_batch(t, b, err);
    qv_batch_unref(b);
  }
  qv_ipc_file_close(f);
  if (s < 0) {
    qv_table_free(t);
    return s;
  }
  *out = t;
  return QV_OK;
}
