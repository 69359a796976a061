/* body_read.c — Arrow IPC body decoding: walks a schema in pre-order against a RecordBatch's
 * FieldNodes and Buffers and builds qv_arrays whose buffers are zero-copy slices of the body
 * (copies only to decompress, byte-swap big-endian input, or fix misalignment), then installs
 * dictionary batches (replacement / delta) and validates. */
#include <stdio.h>
#include <string.h>

#include "ipc/ipc_int.h"

/* How a buffer's elements are byte-swapped from big-endian input. */
typedef enum swap_kind { SW_NONE, SW_2, SW_4, SW_8, SW_16, SW_32, SW_MDN, SW_VIEW } swap_kind;

/* Decoding state. Names for messages (the batch, the column path) are formatted only when an
 * error is reported, never on the success path. */
typedef struct bctx {
  qv__ipc_body_ctx *c;
  qv_error *err;
  const char *root;  /* top-level field name ("(dictionary)" for dictionary values) */
  int32_t root_index; /* its index in the schema, -1 for none */
  int depth;          /* nested fields entered below the root */
  const qv_field *stack[QV_VALIDATE_MAX_DEPTH];
  char path[256];     /* scratch for bpath() */
} bctx;

static void bctx_init(bctx *b, qv__ipc_body_ctx *c, qv_error *err) {
  b->c = c;
  b->err = err;
  b->root = NULL;
  b->root_index = -1;
  b->depth = 0;
  b->path[0] = '\0';
}

/* "record batch 3" / "dictionary id 7". */
static const char *what(qv__ipc_body_ctx *c) {
  if (!c->what[0]) snprintf(c->what, sizeof c->what, "record batch %lld", (long long)c->batch_index);
  return c->what;
}

/* The current column path: "'a' (index 2).'item'" (formatted on demand). */
static const char *bpath(bctx *b) {
  size_t n = 0;
  b->path[0] = '\0';
  if (b->root) {
    if (b->root_index >= 0)
      snprintf(b->path, sizeof b->path, "'%s' (index %d)", b->root, b->root_index);
    else
      snprintf(b->path, sizeof b->path, "'%s'", b->root);
  }
  int d = b->depth < QV_VALIDATE_MAX_DEPTH ? b->depth : QV_VALIDATE_MAX_DEPTH;
  for (int i = 0; i < d; i++) {
    n = strlen(b->path);
    if (n + 1 >= sizeof b->path) break;
    snprintf(b->path + n, sizeof b->path - n, "%s'%s'", n ? "." : "", b->stack[i]->name);
  }
  return b->path;
}

static qv_status berr(bctx *b, qv_status code, int64_t at, const char *fmt, ...) QV_PRINTF(4, 5);
static qv_status berr(bctx *b, qv_status code, int64_t at, const char *fmt, ...) {
  char msg[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return qv_error_set_at(b->err, code, at, "%s, column %s: %s", what(b->c), bpath(b), msg);
}

static qv_status next_node(bctx *b, int64_t *len, int64_t *nulls) {
  qv__ipc_body_ctx *c = b->c;
  const qv__ipc_batch_meta *m = c->meta;
  if (c->node_i >= m->n_nodes)
    return berr(b, QV_E_CORRUPT, m->fb->base + m->nodes,
                "metadata has only %u field nodes, the schema needs more", m->n_nodes);
  uint32_t p = m->nodes + QV_FB_FIELDNODE_SIZE * c->node_i;
  *len = qv__fb_load_i64(m->fb, p + QV_FB_FIELDNODE_LENGTH);
  *nulls = qv__fb_load_i64(m->fb, p + QV_FB_FIELDNODE_NULL_COUNT);
  if (*len < 0 || *nulls < 0 || *nulls > *len)
    return berr(b, QV_E_CORRUPT, m->fb->base + p,
                "field node %u has length %lld and null count %lld", c->node_i,
                (long long)*len, (long long)*nulls);
  int64_t maxr = c->opts->limits.max_rows;
  if (maxr > 0 && *len > maxr)
    return berr(b, QV_E_LIMIT, m->fb->base + p,
                "field node %u has %lld values, more than the row limit of %lld", c->node_i,
                (long long)*len, (long long)maxr);
  c->node_i++;
  return QV_OK;
}

/* Returns the next Buffer's {offset, length}, checked against the body. */
static qv_status next_span(bctx *b, int64_t *off, int64_t *len) {
  qv__ipc_body_ctx *c = b->c;
  const qv__ipc_batch_meta *m = c->meta;
  if (c->buf_i >= m->n_buffers)
    return berr(b, QV_E_CORRUPT, m->fb->base + m->buffers,
                "metadata has only %u buffers, the schema needs more", m->n_buffers);
  uint32_t p = m->buffers + QV_FB_BUFFER_SIZE * c->buf_i;
  *off = qv__fb_load_i64(m->fb, p + QV_FB_BUFFER_OFFSET);
  *len = qv__fb_load_i64(m->fb, p + QV_FB_BUFFER_LENGTH);
  uint64_t blen = c->body->len;
  if (*off < 0 || *len < 0 || (uint64_t)*len > blen || (uint64_t)*off > blen - (uint64_t)*len)
    return berr(b, QV_E_CORRUPT, m->fb->base + p,
                "buffer %u [offset %lld, length %lld] is outside the body of %llu bytes",
                c->buf_i, (long long)*off, (long long)*len, (unsigned long long)blen);
  c->buf_i++;
  return QV_OK;
}

static void swap_bytes(uint8_t *p, size_t w) {
  for (size_t i = 0, j = w - 1; i < j; i++, j--) {
    uint8_t t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
}

static void swap_buffer(uint8_t *p, size_t n, swap_kind k) {
  switch (k) {
    case SW_NONE: return;
    case SW_2: for (size_t i = 0; i + 2 <= n; i += 2) swap_bytes(p + i, 2); return;
    case SW_4: for (size_t i = 0; i + 4 <= n; i += 4) swap_bytes(p + i, 4); return;
    case SW_8: for (size_t i = 0; i + 8 <= n; i += 8) swap_bytes(p + i, 8); return;
    case SW_16: for (size_t i = 0; i + 16 <= n; i += 16) swap_bytes(p + i, 16); return;
    case SW_32: for (size_t i = 0; i + 32 <= n; i += 32) swap_bytes(p + i, 32); return;
    case SW_MDN:
      for (size_t i = 0; i + 16 <= n; i += 16) {
        swap_bytes(p + i, 4);
        swap_bytes(p + i + 4, 4);
        swap_bytes(p + i + 8, 8);
      }
      return;
    case SW_VIEW:
      for (size_t i = 0; i + 16 <= n; i += 16) {
        swap_bytes(p + i, 4);
        int32_t len;
        memcpy(&len, p + i, 4);
        if (len > 12) { /* prefix stays; buffer index and offset are int32 */
          swap_bytes(p + i + 8, 4);
          swap_bytes(p + i + 12, 4);
        }
      }
      return;
  }
}

/* An empty buffer: a zero-length view of the body (or, for an empty body, of a static anchor),
 * never a NULL pointer, so that code computing `data + 0` on it is well-defined. */
static qv_status empty_view(bctx *b, size_t off, qv_buffer *out) {
  static const uint8_t anchor[8];
  if (b->c->body->len) return qv_buffer_slice(b->c->body, off, 0, out, b->err);
  return qv_buffer_wrap(anchor, 0, NULL, NULL, b->c->alloc, out, b->err);
}

/* The next buffer as a qv_buffer: decompressed, byte-swapped, aligned to `align`. An empty
 * buffer is an empty view, or (absent_if_empty: a validity bitmap) the zero buffer. */
static qv_status next_buffer_ex(bctx *b, size_t align, swap_kind sw, qv_buffer *out,
                                bool absent_if_empty) {
  qv__ipc_body_ctx *c = b->c;
  int64_t off, len;
  memset(out, 0, sizeof *out);
  uint32_t idx = c->buf_i;
  QV_TRY(next_span(b, &off, &len));
  if (len == 0) return absent_if_empty ? QV_OK : empty_view(b, (size_t)off, out);
  qv_buffer raw;
  QV_TRY(qv_buffer_slice(c->body, (size_t)off, (size_t)len, &raw, b->err));
  bool fresh = false;
  if (c->meta->codec >= 0) {
    qv_buffer dec;
    qv_status s = qv__ipc_decompress(c->meta->codec, &raw, &c->budget, c->alloc, &dec, b->err);
    qv_buffer_unref(&raw);
    if (s < 0) {
      qv_error_prefix(b->err, "%s, column %s, buffer %u (body offset %lld): ", what(c), bpath(b),
                      idx, (long long)off);
      if (b->err && b->err->offset < 0) b->err->offset = c->body_at + off;
      return s;
    }
    if (dec.len == 0) {
      qv_buffer_unref(&dec);
      return absent_if_empty ? QV_OK : empty_view(b, (size_t)off, out);
    }
    fresh = !(dec.data >= c->body->data && dec.data < c->body->data + c->body->len);
    raw = dec;
  }
  bool misaligned = raw.data && ((uintptr_t)raw.data % align) != 0;
  if ((c->swap && sw != SW_NONE && !fresh) || misaligned) {
    qv_buffer cp;
    qv_status s = qv_buffer_copy(raw.data, raw.len, c->alloc, &cp, b->err);
    qv_buffer_unref(&raw);
    QV_TRY(s);
    raw = cp;
  }
  if (c->swap && sw != SW_NONE) swap_buffer((uint8_t *)raw.data, raw.len, sw);
  *out = raw;
  return QV_OK;
}

static qv_status next_buffer(bctx *b, size_t align, swap_kind sw, qv_buffer *out) {
  return next_buffer_ex(b, align, sw, out, false);
}

static qv_status skip_buffers(bctx *b, uint32_t n) {
  int64_t off, len;
  for (uint32_t i = 0; i < n; i++) QV_TRY(next_span(b, &off, &len));
  return QV_OK;
}

static qv_status variadic_count(bctx *b, uint32_t *n) {
  qv__ipc_body_ctx *c = b->c;
  const qv__ipc_batch_meta *m = c->meta;
  if (c->var_i >= m->n_variadic)
    return berr(b, QV_E_CORRUPT, m->fb->base + m->variadic,
                "view column needs a variadicBufferCounts entry; the metadata has %u",
                m->n_variadic);
  int64_t v = qv__fb_load_i64(m->fb, m->variadic + 8 * c->var_i);
  uint32_t left = m->n_buffers - c->buf_i;
  if (v < 0 || v > (int64_t)left)
    return berr(b, QV_E_CORRUPT, m->fb->base + m->variadic + 8 * c->var_i,
                "variadic buffer count %lld exceeds the %u buffers left", (long long)v, left);
  c->var_i++;
  *n = (uint32_t)v;
  return QV_OK;
}

/* Element swap kind and required alignment of a fixed-width type's data buffer. */
static void fixed_layout(const qv_type *t, swap_kind *sw, size_t *align) {
  *sw = SW_NONE;
  *align = 1;
  switch (t->id) {
    case QV_TYPE_INT16: case QV_TYPE_UINT16: case QV_TYPE_HALF_FLOAT:
      *sw = SW_2; *align = 2; break;
    case QV_TYPE_INT32: case QV_TYPE_UINT32: case QV_TYPE_FLOAT: case QV_TYPE_DATE32:
    case QV_TYPE_TIME32: case QV_TYPE_INTERVAL_MONTHS: case QV_TYPE_DECIMAL32:
    case QV_TYPE_INTERVAL_DAY_TIME:
      *sw = SW_4; *align = 4; break;
    case QV_TYPE_INT64: case QV_TYPE_UINT64: case QV_TYPE_DOUBLE: case QV_TYPE_DATE64:
    case QV_TYPE_TIME64: case QV_TYPE_TIMESTAMP: case QV_TYPE_DURATION: case QV_TYPE_DECIMAL64:
      *sw = SW_8; *align = 8; break;
    case QV_TYPE_DECIMAL128: *sw = SW_16; *align = 8; break;
    case QV_TYPE_DECIMAL256: *sw = SW_32; *align = 8; break;
    case QV_TYPE_INTERVAL_MONTH_DAY_NANO: *sw = SW_MDN; *align = 8; break;
    default: break;
  }
}

static qv_status decode(bctx *b, const qv_type *t, int64_t dict_id, qv_array **out);
static qv_status skip(bctx *b, const qv_type *t);

static qv_status push_path(bctx *b, const qv_field *f) {
  if (b->depth >= QV_VALIDATE_MAX_DEPTH) {
    b->depth++;
    return berr(b, QV_E_LIMIT, -1, "nested deeper than %d", QV_VALIDATE_MAX_DEPTH);
  }
  b->stack[b->depth++] = f;
  return QV_OK;
}
static void pop_path(bctx *b) { b->depth--; }

static qv_status decode_child(bctx *b, const qv_field *f, qv_array **out) {
  qv_status s = push_path(b, f);
  if (s == QV_OK) s = decode(b, f->type, f->dictionary_id, out);
  pop_path(b);
  return s;
}

static qv_status decode(bctx *b, const qv_type *t, int64_t dict_id, qv_array **out) {
  qv__ipc_body_ctx *c = b->c;
  int64_t len, nulls;
  QV_TRY(next_node(b, &len, &nulls));
  qv_buffer bufs[3];
  memset(bufs, 0, sizeof bufs);
  qv_buffer *vbufs = NULL; /* views: validity, views, data... */
  int32_t nb = 0, nvb = 0, vcap = 0;
  qv_array *kids[2] = {NULL, NULL};
  qv_array **ch = kids;
  int32_t nch = 0;
  qv_array *dict = NULL;
  qv_status s = QV_OK;
  int64_t null_count = nulls;
  const qv_type *lt = t->id == QV_TYPE_DICTIONARY ? t->index_type : t; /* layout type */

  bool has_validity = qv_type_has_validity(lt) && lt->id != QV_TYPE_NA;
  bool union_v4_validity =
      (lt->id == QV_TYPE_SPARSE_UNION || lt->id == QV_TYPE_DENSE_UNION) &&
      c->version < QV_FB_METADATA_V5;
  if (has_validity) {
    QV_TRY_GOTO(s, next_buffer_ex(b, 1, SW_NONE, &bufs[0], true), fail);
    nb = 1;
    if (bufs[0].len == 0) {
      qv_buffer_unref(&bufs[0]); /* no bitmap: the empty buffer means "all valid" */
      if (nulls != 0) {
        s = berr(b, QV_E_CORRUPT, -1, "null count %lld but no validity buffer",
                 (long long)nulls);
        goto fail;
      }
      null_count = 0;
    }
  } else if (union_v4_validity) {
    if (nulls != 0) {
      s = berr(b, QV_E_UNSUPPORTED, -1, "V4 union with %lld top-level nulls", (long long)nulls);
      goto fail;
    }
    QV_TRY_GOTO(s, skip_buffers(b, 1), fail);
  }
  swap_kind sw;
  size_t align;
  switch (lt->id) {
    case QV_TYPE_NA:
      null_count = len;
      break;
    case QV_TYPE_BOOL:
      QV_TRY_GOTO(s, next_buffer(b, 1, SW_NONE, &bufs[nb++]), fail);
      break;
    case QV_TYPE_BINARY: case QV_TYPE_STRING:
      QV_TRY_GOTO(s, next_buffer(b, 4, SW_4, &bufs[nb++]), fail);
      QV_TRY_GOTO(s, next_buffer(b, 1, SW_NONE, &bufs[nb++]), fail);
      break;
    case QV_TYPE_LARGE_BINARY: case QV_TYPE_LARGE_STRING:
      QV_TRY_GOTO(s, next_buffer(b, 8, SW_8, &bufs[nb++]), fail);
      QV_TRY_GOTO(s, next_buffer(b, 1, SW_NONE, &bufs[nb++]), fail);
      break;
    case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW: {
      uint32_t nv;
      QV_TRY_GOTO(s, variadic_count(b, &nv), fail);
      vcap = 2 + (int32_t)nv;
      vbufs = qv_mem_calloc(c->alloc, sizeof *vbufs * (size_t)vcap, _Alignof(qv_buffer));
      if (!vbufs) {
        s = qv__nomem(b->err, "view buffers", sizeof *vbufs * (size_t)vcap);
        goto fail;
      }
      nvb = vcap;
      vbufs[0] = bufs[0];
      memset(&bufs[0], 0, sizeof bufs[0]);
      nb = 0;
      QV_TRY_GOTO(s, next_buffer(b, 8, SW_VIEW, &vbufs[1]), fail);
      for (int32_t i = 2; i < nvb; i++) QV_TRY_GOTO(s, next_buffer(b, 1, SW_NONE, &vbufs[i]), fail);
      break;
    }
    case QV_TYPE_FIXED_SIZE_BINARY:
      QV_TRY_GOTO(s, next_buffer(b, 1, SW_NONE, &bufs[nb++]), fail);
      break;
    case QV_TYPE_LIST: case QV_TYPE_MAP:
      QV_TRY_GOTO(s, next_buffer(b, 4, SW_4, &bufs[nb++]), fail);
      break;
    case QV_TYPE_LARGE_LIST:
      QV_TRY_GOTO(s, next_buffer(b, 8, SW_8, &bufs[nb++]), fail);
      break;
    case QV_TYPE_LIST_VIEW:
      QV_TRY_GOTO(s, next_buffer(b, 4, SW_4, &bufs[nb++]), fail);
      QV_TRY_GOTO(s, next_buffer(b, 4, SW_4, &bufs[nb++]), fail);
      break;
    case QV_TYPE_LARGE_LIST_VIEW:
      QV_TRY_GOTO(s, next_buffer(b, 8, SW_8, &bufs[nb++]), fail);
      QV_TRY_GOTO(s, next_buffer(b, 8, SW_8, &bufs[nb++]), fail);
      break;
    case QV_TYPE_FIXED_SIZE_LIST: case QV_TYPE_STRUCT: case QV_TYPE_RUN_END_ENCODED:
      break;
    case QV_TYPE_SPARSE_UNION:
      QV_TRY_GOTO(s, next_buffer(b, 1, SW_NONE, &bufs[nb++]), fail);
      null_count = 0;
      break;
    case QV_TYPE_DENSE_UNION:
      QV_TRY_GOTO(s, next_buffer(b, 1, SW_NONE, &bufs[nb++]), fail);
      QV_TRY_GOTO(s, next_buffer(b, 4, SW_4, &bufs[nb++]), fail);
      null_count = 0;
      break;
    default:
      fixed_layout(lt, &sw, &align);
      if (qv_type_bit_width(lt) == 0) {
        s = berr(b, QV_E_UNSUPPORTED, -1, "type %s cannot be read", qv_type_id_name(lt->id));
        goto fail;
      }
      QV_TRY_GOTO(s, next_buffer(b, align, sw, &bufs[nb++]), fail);
      break;
  }
  if (lt->id == QV_TYPE_RUN_END_ENCODED) null_count = 0;
  /* children (the layout type's; a dictionary's values come from the dictionary table) */
  if (lt->n_children > 0 && lt == t) {
    nch = lt->n_children;
    if (nch > 2) {
      ch = qv_mem_calloc(c->alloc, sizeof *ch * (size_t)nch, _Alignof(qv_array *));
      if (!ch) {
        s = qv__nomem(b->err, "child arrays", sizeof *ch * (size_t)nch);
        nch = 0;
        ch = kids;
        goto fail;
      }
    }
    for (int32_t i = 0; i < nch; i++) QV_TRY_GOTO(s, decode_child(b, lt->children[i], &ch[i]), fail);
  }
  if (t->id == QV_TYPE_DICTIONARY) {
    qv__ipc_dict_slot *slot = qv__ipc_dicts_find(c->dicts, dict_id);
    if (!slot || !slot->values) {
      s = berr(b, QV_E_CORRUPT, -1, "dictionary id %lld has not been read", (long long)dict_id);
      goto fail;
    }
    dict = qv_array_ref(slot->values);
  }
  {
    qv_buffer *bp = vbufs ? vbufs : bufs;
    int32_t n = vbufs ? nvb : nb;
    /* qv_array_new consumes buffers, children and the dictionary even on failure */
    s = qv_array_new(t, len, 0, null_count, n, bp, nch, ch, dict, c->alloc, out, b->err);
    dict = NULL;
    nb = 0;
    nvb = 0;
    nch = 0;
    if (s < 0) {
      if (s == QV_E_INVALID && b->err) b->err->code = QV_E_CORRUPT;
      if (s == QV_E_INVALID) s = QV_E_CORRUPT;
      qv_error_prefix(b->err, "%s, column %s: ", what(c), bpath(b));
    }
  }
fail:
  for (int32_t i = 0; i < nb; i++) qv_buffer_unref(&bufs[i]);
  if (vbufs) {
    for (int32_t i = 0; i < nvb; i++) qv_buffer_unref(&vbufs[i]);
    qv_mem_free(c->alloc, vbufs, sizeof *vbufs * (size_t)vcap, _Alignof(qv_buffer));
  }
  for (int32_t i = 0; i < nch; i++) qv_array_unref(ch[i]);
  if (ch != kids) qv_mem_free(c->alloc, ch, sizeof *ch * (size_t)lt->n_children, _Alignof(qv_array *));
  qv_array_unref(dict);
  return s;
}

/* Consumes t's nodes, buffers and variadic counts without touching the body. */
static qv_status skip(bctx *b, const qv_type *t) {
  int64_t len, nulls;
  QV_TRY(next_node(b, &len, &nulls));
  const qv_type *lt = t->id == QV_TYPE_DICTIONARY ? t->index_type : t;
  uint32_t n = 0;
  switch (lt->id) {
    case QV_TYPE_NA: case QV_TYPE_RUN_END_ENCODED: n = 0; break;
    case QV_TYPE_FIXED_SIZE_LIST: case QV_TYPE_STRUCT: n = 1; break;
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_LIST_VIEW: case QV_TYPE_LARGE_LIST_VIEW: n = 3; break;
    case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW: {
      uint32_t nv;
      QV_TRY(variadic_count(b, &nv));
      n = 2 + nv;
      break;
    }
    case QV_TYPE_SPARSE_UNION: n = b->c->version < QV_FB_METADATA_V5 ? 2 : 1; break;
    case QV_TYPE_DENSE_UNION: n = b->c->version < QV_FB_METADATA_V5 ? 3 : 2; break;
    default: n = 2; break; /* validity + data / offsets */
  }
  QV_TRY(skip_buffers(b, n));
  if (lt == t)
    for (int32_t i = 0; i < t->n_children; i++) QV_TRY(skip(b, t->children[i]->type));
  return QV_OK;
}

static qv_status finish_check(bctx *b) {
  qv__ipc_body_ctx *c = b->c;
  const qv__ipc_batch_meta *m = c->meta;
  if (c->node_i != m->n_nodes || c->buf_i != m->n_buffers || c->var_i != m->n_variadic)
    return qv_error_set_at(b->err, QV_E_CORRUPT, m->fb->base,
                           "%s: metadata has %u field nodes, %u buffers and %u variadic counts; "
                           "the schema uses %u, %u and %u",
                           what(c), m->n_nodes, m->n_buffers, m->n_variadic, c->node_i, c->buf_i,
                           c->var_i);
  return QV_OK;
}

void qv__ipc_body_ctx_init(qv__ipc_body_ctx *c, const qv_ipc_read_options *opts,
                           const qv_allocator *a, qv__ipc_schema_info *si, int16_t version,
                           const qv_buffer *body, int64_t body_at) {
  memset(c, 0, sizeof *c);
  c->opts = opts;
  c->alloc = a;
  c->body = body;
  c->body_at = body_at;
  c->version = version;
  c->swap = si->big_endian;
  c->dicts = &si->dicts;
}

static void ctx_start(qv__ipc_body_ctx *c) {
  c->node_i = c->buf_i = c->var_i = 0;
  int64_t lim = c->opts->limits.max_decompressed_bytes;
  c->budget = lim > 0 ? lim : -1;
}

/* True when full validation of `arr` (already checked structurally by qv_array_new, which
 * runs the MINIMAL checks) would check nothing more: a fixed-width or boolean array without a
 * validity bitmap, children or dictionary — FULL adds only the bitmap's null count and the
 * content checks of variable-size, nested, dictionary, union and run-end types. */
static bool full_is_minimal(const qv_array *arr) {
  if (arr->n_children != 0 || arr->dictionary) return false;
  if (arr->n_buffers > 0 && arr->buffers[0].data) return false; /* bitmap: null count check */
  switch (arr->type->id) {
    case QV_TYPE_BINARY: case QV_TYPE_LARGE_BINARY: case QV_TYPE_STRING:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_MAP:
    case QV_TYPE_LIST_VIEW: case QV_TYPE_LARGE_LIST_VIEW: case QV_TYPE_BINARY_VIEW:
    case QV_TYPE_STRING_VIEW: case QV_TYPE_DICTIONARY: case QV_TYPE_SPARSE_UNION:
    case QV_TYPE_DENSE_UNION: case QV_TYPE_RUN_END_ENCODED: case QV_TYPE_STRUCT:
    case QV_TYPE_FIXED_SIZE_LIST:
      return false;
    default:
      return true;
  }
}

/* Up to this many columns, the per-batch column array lives on the stack. */
#define QV__STACK_COLS 32

qv_status qv__ipc_batch_decode(qv__ipc_body_ctx *c, const qv_schema *schema,
                               const int32_t *columns, size_t n_columns, qv_batch **out,
                               qv_error *err) {
  bctx b;
  bctx_init(&b, c, err);
  ctx_start(c);
  int32_t nf = schema->n_fields;
  size_t ncol = columns ? n_columns : (size_t)nf;
  qv_status s = QV_OK;
  qv_array *stack_all[QV__STACK_COLS];
  qv_array **all = NULL;  /* decoded arrays by schema position */
  qv_array **cols = NULL; /* in output order (== all without a projection) */
  qv_field **pf = NULL;
  qv_schema *ps = NULL;
  if (nf > 0 && nf <= QV__STACK_COLS) {
    all = stack_all;
    memset(all, 0, sizeof *all * (size_t)nf);
  } else if (nf > 0) {
    all = qv_mem_calloc(c->alloc, sizeof *all * (size_t)nf, _Alignof(qv_array *));
    if (!all) return qv__nomem(err, "batch columns", sizeof *all * (size_t)nf);
  }
  uint8_t *want = NULL; /* by schema position: 1 = decode, 0 = skip */
  if (columns && nf > 0) {
    want = qv_mem_calloc(c->alloc, (size_t)nf, 1);
    if (!want) {
      s = qv__nomem(err, "projection", (size_t)nf);
      goto done;
    }
    for (size_t i = 0; i < ncol; i++) {
      if (columns[i] < 0 || columns[i] >= nf) {
        s = qv_error_set(err, QV_E_RANGE, "column index %d is outside [0, %d)", columns[i], nf);
        goto done;
      }
      if (want[columns[i]]) {
        s = qv_error_set(err, QV_E_INVALID, "column index %d is listed twice", columns[i]);
        goto done;
      }
      want[columns[i]] = 1;
    }
  } else if (columns && ncol > 0) {
    s = qv_error_set(err, QV_E_RANGE, "column index %d is outside [0, 0)", columns[0]);
    goto done;
  }
  for (int32_t i = 0; i < nf; i++) {
    const qv_field *f = schema->fields[i];
    b.root = f->name;
    b.root_index = i;
    if (!columns || want[i])
      QV_TRY_GOTO(s, decode(&b, f->type, f->dictionary_id, &all[i]), done);
    else
      QV_TRY_GOTO(s, skip(&b, f->type), done);
  }
  b.root = NULL;
  QV_TRY_GOTO(s, finish_check(&b), done);
  if (!columns) {
    cols = all;
  } else if (ncol) {
    cols = qv_mem_calloc(c->alloc, sizeof *cols * ncol, _Alignof(qv_array *));
    if (!cols) {
      s = qv__nomem(err, "batch columns", sizeof *cols * ncol);
      goto done;
    }
    for (size_t i = 0; i < ncol; i++) {
      cols[i] = all[columns[i]];
      all[columns[i]] = NULL;
    }
  }
  for (size_t i = 0; i < ncol; i++) {
    int32_t k = columns ? columns[i] : (int32_t)i;
    if (cols[i]->length != c->meta->length) {
      s = qv_error_set_at(err, QV_E_CORRUPT, c->meta->fb->base,
                          "%s: column '%s' has %lld rows, the batch %lld", what(c),
                          schema->fields[k]->name, (long long)cols[i]->length,
                          (long long)c->meta->length);
      goto done;
    }
    if (c->opts->validate == QV_VALIDATE_FULL && !full_is_minimal(cols[i])) {
      char root[200];
      snprintf(root, sizeof root, "%s, column '%s'", what(c), schema->fields[k]->name);
      s = qv_array_validate_named(cols[i], QV_VALIDATE_FULL, root, err);
      if (s < 0) {
        if (err && err->offset < 0) err->offset = c->body_at; /* the message body */
        goto done;
      }
    }
  }
  const qv_schema *bs = schema;
  if (columns) {
    if (ncol) {
      pf = qv_mem_calloc(c->alloc, sizeof *pf * ncol, _Alignof(qv_field *));
      if (!pf) {
        s = qv__nomem(err, "projected schema", sizeof *pf * ncol);
        goto done;
      }
    }
    for (size_t i = 0; i < ncol; i++) pf[i] = schema->fields[columns[i]];
    qv_field *none[1] = {NULL};
    QV_TRY_GOTO(s, qv_schema_new(pf ? pf : none, (int32_t)ncol, &schema->metadata, c->alloc, &ps,
                                 err),
                done);
    bs = ps;
  }
  qv_array *nocols[1] = {NULL};
  s = qv_batch_new(bs, c->meta->length, cols ? cols : nocols, (int32_t)ncol, c->alloc, out, err);
  if (cols) memset(cols, 0, sizeof *cols * ncol); /* consumed */
  if (s == QV_E_INVALID || s == QV_E_TYPE) {
    if (err) err->code = QV_E_CORRUPT;
    qv_error_prefix(err, "%s: ", what(c));
    s = QV_E_CORRUPT;
  }
done:
  if (want) qv_mem_free(c->alloc, want, (size_t)nf, 1);
  for (int32_t i = 0; all && i < nf; i++) qv_array_unref(all[i]);
  if (all && all != stack_all)
    qv_mem_free(c->alloc, all, sizeof *all * (size_t)nf, _Alignof(qv_array *));
  if (cols && cols != all) {
    for (size_t i = 0; i < ncol; i++) qv_array_unref(cols[i]);
    qv_mem_free(c->alloc, cols, sizeof *cols * ncol, _Alignof(qv_array *));
  }
  if (pf) qv_mem_free(c->alloc, pf, sizeof *pf * ncol, _Alignof(qv_field *));
  qv_schema_unref(ps);
  return s;
}

qv_status qv__ipc_dict_decode(qv__ipc_body_ctx *c, const qv__fb *fb, uint32_t db,
                              bool allow_replace, qv_error *err) {
  int64_t id = qv__fb_i64(fb, db, QV_FB_DICTBATCH_ID, 0);
  bool delta = qv__fb_bool(fb, db, QV_FB_DICTBATCH_IS_DELTA, false);
  uint32_t rb = qv__fb_table(fb, db, QV_FB_DICTBATCH_DATA);
  snprintf(c->what, sizeof c->what, "dictionary id %lld", (long long)id);
  if (!rb) return qv_error_set_at(err, QV_E_CORRUPT, fb->base + db, "%s: batch has no data", c->what);
  qv__ipc_dict_slot *slot = qv__ipc_dicts_find(c->dicts, id);
  if (!slot)
    return qv_error_set_at(err, QV_E_CORRUPT, fb->base + db,
                           "%s: no field of the schema uses this dictionary id", c->what);
  if (!delta && slot->values && !allow_replace)
    return qv_error_set_at(err, QV_E_UNSUPPORTED, fb->base + db,
                           "%s: dictionary replacement is not allowed in the file format",
                           c->what);
  int64_t limit = c->opts->limits.max_dictionary_bytes;
  int64_t bytes = (int64_t)c->body->len + (delta ? slot->bytes : 0);
  if (limit > 0 && bytes > limit)
    return qv_error_set_at(err, QV_E_LIMIT, fb->base + db,
                           "%s: dictionary of %lld bytes exceeds the limit of %lld", c->what,
                           (long long)bytes, (long long)limit);
  qv__ipc_batch_meta meta;
  QV_TRY(qv__ipc_batch_meta_read(fb, rb, &c->opts->limits, &meta, err));
  c->meta = &meta;
  ctx_start(c);
  bctx b;
  bctx_init(&b, c, err);
  b.root = "(dictionary)";
  qv_array *vals = NULL;
  qv_status s = decode(&b, slot->value_type, -1, &vals);
  if (s == QV_OK) s = finish_check(&b);
  if (s == QV_OK && vals->length != meta.length)
    s = qv_error_set_at(err, QV_E_CORRUPT, fb->base + rb, "%s: values have %lld rows, the batch %lld",
                        c->what, (long long)vals->length, (long long)meta.length);
  if (s == QV_OK && c->opts->validate == QV_VALIDATE_FULL)
    if ((s = qv_array_validate_named(vals, QV_VALIDATE_FULL, c->what, err)) < 0 && err &&
        err->offset < 0)
      err->offset = c->body_at;
  c->meta = NULL;
  if (s < 0) {
    qv_array_unref(vals);
    return s;
  }
  if (delta && slot->values && vals->length == 0) { /* nothing to append */
    qv_array_unref(vals);
    return QV_OK;
  }
  if (delta && slot->values) {
    /* Each delta copies the dictionary so far: bound the total work (many tiny deltas would
     * otherwise cost time quadratic in the dictionary size). */
    if (limit > 0 && (slot->work += bytes) > 8 * limit) {
      qv_array_unref(vals);
      return qv_error_set_at(err, QV_E_LIMIT, fb->base + db,
                             "%s: too many dictionary deltas (copying exceeds 8 x the "
                             "dictionary size limit of %lld bytes)",
                             c->what, (long long)limit);
    }
    qv_array *parts[2] = {slot->values, vals};
    qv_array *cat = NULL;
    s = qv_array_concat(parts, 2, c->alloc, &cat, err);
    qv_array_unref(vals);
    if (s < 0) return s;
    vals = cat;
  }
  qv_array_unref(slot->values);
  slot->values = vals;
  slot->bytes = bytes;
  return QV_OK;
}
