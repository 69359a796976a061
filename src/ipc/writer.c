/* writer.c — the Arrow IPC stream and file writer: flattens arrays into FieldNodes and body
 * buffers (sliced arrays re-based), tracks dictionaries (delta / replacement), compresses,
 * lays out messages with 64-byte alignment and hands the bytes to a sink. */
#include <stdio.h>
#include <string.h>

#include "core/core_int.h"
#include "ipc/fb_arrow.h"
#include "ipc/fb_build.h"
#include "quiver/array.h"
#include "quiver/bitmap.h"
#include "quiver/ipc_writer.h"
#include "quiver/table.h"

#define ALIGN 64
#define MAX_DEPTH 64

static const uint8_t zeros[ALIGN];

enum { W_OPEN = 0, W_FINISHED = 1, W_FAILED = 2 };

typedef struct dict_state {
  int64_t id;
  const qv_field *field; /* borrowed from the writer's schema */
  qv_array *last; /* the dictionary as last written (whole, deltas applied) */
} dict_state;

struct qv_ipc_writer {
  qv_allocator alloc;
  qv_schema *schema;
  qv_ipc_write_options opts;
  qv_ipc_sink_fn sink;
  void *sink_ctx;
  qv__fbb fbb;
  qv__ipc_compressor comp;
  qv_mbuffer scratch; /* prefix + metadata + padding of one message */
  qv_metadata footer_md; /* copy of opts.footer_metadata */
  int64_t pos;        /* bytes handed to the sink */
  int state;
  /* dictionaries, in schema pre-order */
  int64_t *dict_ids;
  dict_state *dicts;
  size_t n_dicts;
  /* file format: blocks */
  qv__wblock *dict_blocks;
  size_t n_dict_blocks, cap_dict_blocks;
  qv__wblock *batch_blocks;
  size_t n_batch_blocks, cap_batch_blocks;
  int64_t n_batches, n_dict_batches;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static qv_status grow(const qv_allocator *a, void **p, size_t *cap, size_t need, size_t elem,
                      qv_error *err) {
  if (need <= *cap) return QV_OK;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2 / elem) return qv_error_set(err, QV_E_OVERFLOW, "IPC writer table");
    ncap *= 2;
  }
  void *np = qv_mem_realloc(a, *p, *cap * elem, ncap * elem, 0);
  if (!np) return qv__nomem(err, "IPC writer table", ncap * elem);
  *p = np;
  *cap = ncap;
  return QV_OK;
}

/* grow() for a typed array pointer `arr` (through a void * temporary: no type punning). */
#define GROW(a, arr, cap, need, err)                                                           \
  do {                                                                                       \
    void *grow_p_ = (arr);                                                                   \
    qv_status grow_s_ = grow((a), &grow_p_, &(cap), (need), sizeof *(arr), (err));           \
    (arr) = grow_p_;                                                                         \
    QV_TRY(grow_s_);                                                                         \
  } while (0)

static bool to_size(int64_t a, int64_t b, size_t *out) {
  if (a < 0 || b < 0) return false;
  int64_t r;
  if (qv__mul_overflow_i64(a, b, &r)) return false;
  if ((uint64_t)r > SIZE_MAX) return false;
  *out = (size_t)r;
  return true;
}

static int64_t load_off(const uint8_t *p, int wide, int64_t i) {
  return wide ? (int64_t)qv__load_u64le(p + 8 * i) : (int64_t)(int32_t)qv__load_u32le(p + 4 * i);
}
static void store_off(uint8_t *p, int wide, int64_t i, int64_t v) {
  if (wide)
    qv__store_u64le(p + 8 * i, (uint64_t)v);
  else
    qv__store_u32le(p + 4 * i, (uint32_t)(int32_t)v);
}

/* ---- body assembly ------------------------------------------------------------------------ */

typedef struct payload {
  const qv_allocator *a;
  const qv_ipc_write_options *opts;
  qv__ipc_compressor *comp;
  const char *what; /* "column 'x'" / "dictionary 3", for messages */
  qv__wnode *nodes;
  size_t n_nodes, cap_nodes;
  qv_buffer *bufs;
  size_t n_bufs, cap_bufs;
  int64_t *variadic;
  size_t n_variadic, cap_variadic;
  qv__wbuf *layout; /* n_bufs entries, after lay_out */
  size_t layout_cap;
  int64_t body_len;
} payload;

static void payload_reset(payload *p) {
  for (size_t i = 0; i < p->n_bufs; i++) qv_buffer_unref(&p->bufs[i]);
  qv_mem_free(p->a, p->nodes, p->cap_nodes * sizeof *p->nodes, 0);
  qv_mem_free(p->a, p->bufs, p->cap_bufs * sizeof *p->bufs, 0);
  qv_mem_free(p->a, p->variadic, p->cap_variadic * sizeof *p->variadic, 0);
  qv_mem_free(p->a, p->layout, p->layout_cap * sizeof *p->layout, 0);
  const qv_allocator *a = p->a;
  const qv_ipc_write_options *o = p->opts;
  qv__ipc_compressor *comp = p->comp;
  const char *what = p->what;
  memset(p, 0, sizeof *p);
  p->a = a;
  p->opts = o;
  p->comp = comp;
  p->what = what;
}

static qv_status add_node(payload *p, int64_t length, int64_t nulls, qv_error *err) {
  if (!p->opts->allow_64bit && length > INT32_MAX)
    return qv_error_set(err, QV_E_LIMIT,
                        "%s: array of %lld elements exceeds the int32 limit (set allow_64bit)",
                        p->what, (long long)length);
  GROW(p->a, p->nodes, p->cap_nodes, p->n_nodes + 1, err);
  p->nodes[p->n_nodes].length = length;
  p->nodes[p->n_nodes].null_count = nulls;
  p->n_nodes++;
  return QV_OK;
}

/* Takes ownership of *b (moved; *b left empty), also on failure. */
static qv_status add_buf(payload *p, qv_buffer *b, qv_error *err) {
  void *np = p->bufs;
  qv_status st = grow(p->a, &np, &p->cap_bufs, p->n_bufs + 1, sizeof *p->bufs, err);
  p->bufs = np;
  if (st < 0) {
    qv_buffer_unref(b);
    return st;
  }
  qv_buffer_move(b, &p->bufs[p->n_bufs++]);
  return QV_OK;
}

static qv_status add_empty(payload *p, qv_error *err) {
  qv_buffer e = {0};
  return add_buf(p, &e, err);
}

/* Zero-copy: bytes [off, off+len) of src. */
static qv_status add_slice(payload *p, const qv_buffer *src, size_t off, size_t len,
                           qv_error *err) {
  if (len == 0) return add_empty(p, err);
  if (qv__range_bad(off, len, src->len))
    return qv_error_set(err, QV_E_INVALID,
                        "%s: buffer range [%zu, +%zu) is outside the buffer's %zu bytes",
                        p->what, off, len, src->len);
  qv_buffer s;
  QV_TRY(qv_buffer_slice(src, off, len, &s, err));
  return add_buf(p, &s, err);
}

static qv_status new_mut(payload *p, size_t len, qv_mbuffer *mb, qv_error *err) {
  qv_mbuffer_init(mb, p->a);
  return qv_mbuffer_resize(mb, len, err); /* zero-filled */
}

static qv_status add_mut(payload *p, qv_mbuffer *mb, qv_error *err) {
  qv_buffer b;
  qv_status st = qv_mbuffer_finish(mb, &b, err);
  if (st < 0) {
    qv_mbuffer_reset(mb);
    return st;
  }
  return add_buf(p, &b, err);
}

/* `len` bits of bitmap `bm` from bit `off`, moved to bit 0 when off is not a multiple of 8. */
static qv_status add_bitmap(payload *p, const qv_buffer *bm, int64_t off, int64_t len,
                            qv_error *err) {
  size_t nbytes = (size_t)((len + 7) / 8);
  if (len == 0) return add_empty(p, err);
  size_t end_bits;
  if (qv__add_overflow((size_t)off, (size_t)len, &end_bits) || (end_bits + 7) / 8 > bm->len)
    return qv_error_set(err, QV_E_INVALID, "%s: bitmap of %zu bytes is shorter than %lld bits",
                        p->what, bm->len, (long long)(off + len));
  if (off % 8 == 0) return add_slice(p, bm, (size_t)off / 8, nbytes, err);
  qv_mbuffer mb;
  QV_TRY(new_mut(p, nbytes, &mb, err));
  qv_bits_copy(mb.data, 0, bm->data, (size_t)off, (size_t)len);
  return add_mut(p, &mb, err);
}

static qv_status add_validity(payload *p, const qv_array *arr, int64_t nulls, qv_error *err) {
  if (nulls == 0 || arr->n_buffers < 1 || arr->buffers[0].len == 0) return add_empty(p, err);
  return add_bitmap(p, &arr->buffers[0], arr->offset, arr->length, err);
}

static qv_status need_buffers(payload *p, const qv_array *arr, int32_t n, qv_error *err) {
  if (arr->n_buffers < n)
    return qv_error_set(err, QV_E_INVALID, "%s: %s array has %d buffers, expected %d", p->what,
                        qv_type_id_name(arr->type->id), (int)arr->n_buffers, (int)n);
  return QV_OK;
}

static qv_status visit(payload *p, const qv_array *arr, int depth, qv_error *err);

/* Visits child `c` restricted to [off, off+len) of its logical elements. */
static qv_status visit_child_range(payload *p, const qv_array *c, int64_t off, int64_t len,
                                   int depth, qv_error *err) {
  if (off == 0 && len == c->length) return visit(p, c, depth + 1, err);
  qv_array *s;
  qv_status st = qv_array_slice(c, off, len, &s, err);
  if (st < 0) {
    qv_error_prefix(err, "%s: ", p->what);
    return st;
  }
  st = visit(p, s, depth + 1, err);
  qv_array_unref(s);
  return st;
}

static qv_status need_children(payload *p, const qv_array *arr, int32_t n, qv_error *err) {
  if (arr->n_children < n)
    return qv_error_set(err, QV_E_INVALID, "%s: %s array has %d children, expected %d",
                        p->what, qv_type_id_name(arr->type->id), (int)arr->n_children, (int)n);
  return QV_OK;
}

/* Offsets of a binary-like / list array, re-based to start at 0. *start and *end receive the
 * referenced range of the data / child. */
static qv_status add_offsets(payload *p, const qv_array *arr, int wide, int64_t *start,
                             int64_t *end, qv_error *err) {
  const qv_buffer *ob = &arr->buffers[1];
  int64_t off = arr->offset, len = arr->length;
  size_t w = wide ? 8 : 4;
  size_t need;
  if (!to_size(off + len + 1, (int64_t)w, &need)) need = SIZE_MAX;
  if (ob->len < need) {
    if (len == 0) { /* an empty array may come without offsets: write a single 0 */
      *start = *end = 0;
      qv_mbuffer mb;
      QV_TRY(new_mut(p, w, &mb, err));
      return add_mut(p, &mb, err);
    }
    return qv_error_set(err, QV_E_INVALID,
                        "%s: offsets buffer of %zu bytes too short for %lld elements at %lld",
                        p->what, ob->len, (long long)len, (long long)off);
  }
  *start = load_off(ob->data, wide, off);
  *end = load_off(ob->data, wide, off + len);
  if (*start < 0 || *end < *start)
    return qv_error_set(err, QV_E_INVALID, "%s: offsets %lld..%lld are not a valid range",
                        p->what, (long long)*start, (long long)*end);
  if (*start == 0) return add_slice(p, ob, (size_t)off * w, (size_t)(len + 1) * w, err);
  qv_mbuffer mb;
  QV_TRY(new_mut(p, (size_t)(len + 1) * w, &mb, err));
  for (int64_t i = 0; i <= len; i++)
    store_off(mb.data, wide, i, load_off(ob->data, wide, off + i) - *start);
  return add_mut(p, &mb, err);
}

static qv_status visit_list_view(payload *p, const qv_array *arr, int depth, qv_error *err) {
  int wide = arr->type->id == QV_TYPE_LARGE_LIST_VIEW;
  size_t w = wide ? 8 : 4;
  int64_t off = arr->offset, len = arr->length;
  QV_TRY(need_buffers(p, arr, 3, err));
  QV_TRY(need_children(p, arr, 1, err));
  const qv_buffer *ob = &arr->buffers[1], *sb = &arr->buffers[2];
  size_t need;
  if (!to_size(off + len, (int64_t)w, &need) || ob->len < need || sb->len < need)
    return qv_error_set(err, QV_E_INVALID, "%s: list-view offsets/sizes too short", p->what);
  int64_t lo = INT64_MAX, hi = 0;
  for (int64_t i = off; i < off + len; i++) {
    int64_t o = load_off(ob->data, wide, i), s = load_off(sb->data, wide, i);
    if (s <= 0) continue;
    if (o < 0 || o > INT64_MAX - s)
      return qv_error_set(err, QV_E_INVALID, "%s: list-view element %lld out of range",
                          p->what, (long long)(i - off));
    if (o < lo) lo = o;
    if (o + s > hi) hi = o + s;
  }
  if (lo == INT64_MAX) lo = hi = 0;
  qv_mbuffer mb;
  QV_TRY(new_mut(p, (size_t)len * w, &mb, err));
  for (int64_t i = 0; i < len; i++) {
    int64_t s = load_off(sb->data, wide, off + i);
    store_off(mb.data, wide, i, s > 0 ? load_off(ob->data, wide, off + i) - lo : 0);
  }
  QV_TRY(add_mut(p, &mb, err));
  QV_TRY(add_slice(p, sb, (size_t)off * w, (size_t)len * w, err));
  const qv_array *c = arr->children[0];
  if (hi > c->length)
    return qv_error_set(err, QV_E_INVALID, "%s: list-view refers beyond its child", p->what);
  return visit_child_range(p, c, lo, hi - lo, depth, err);
}

static qv_status visit_dense_union(payload *p, const qv_array *arr, int depth, qv_error *err) {
  const qv_type *t = arr->type;
  int64_t off = arr->offset, len = arr->length;
  int32_t nc = t->n_children;
  QV_TRY(need_buffers(p, arr, 2, err));
  QV_TRY(need_children(p, arr, nc, err));
  const qv_buffer *tb = &arr->buffers[0], *ob = &arr->buffers[1];
  size_t need;
  if (!to_size(off + len, 4, &need) || ob->len < need || tb->len < (size_t)(off + len))
    return qv_error_set(err, QV_E_INVALID, "%s: dense union buffers too short", p->what);
  int64_t lo[QV_UNION_MAX_CHILDREN], hi[QV_UNION_MAX_CHILDREN];
  for (int32_t c = 0; c < nc; c++) lo[c] = INT64_MAX, hi[c] = 0;
  for (int64_t i = off; i < off + len; i++) {
    int32_t c = qv_type_union_child_index(t, (int8_t)tb->data[i]);
    int64_t o = (int32_t)qv__load_u32le(ob->data + 4 * i);
    if (c < 0 || c >= nc || o < 0 || o >= arr->children[c]->length)
      return qv_error_set(err, QV_E_INVALID, "%s: dense union element %lld is invalid",
                          p->what, (long long)(i - off));
    if (o < lo[c]) lo[c] = o;
    if (o + 1 > hi[c]) hi[c] = o + 1;
  }
  QV_TRY(add_slice(p, tb, (size_t)off, (size_t)len, err));
  qv_mbuffer mb;
  QV_TRY(new_mut(p, (size_t)len * 4, &mb, err));
  for (int64_t i = 0; i < len; i++) {
    int32_t c = qv_type_union_child_index(t, (int8_t)tb->data[off + i]);
    int64_t o = (int32_t)qv__load_u32le(ob->data + 4 * (off + i));
    qv__store_u32le(mb.data + 4 * i, (uint32_t)(o - lo[c]));
  }
  QV_TRY(add_mut(p, &mb, err));
  for (int32_t c = 0; c < nc; c++) {
    if (lo[c] == INT64_MAX) lo[c] = hi[c] = 0;
    QV_TRY(visit_child_range(p, arr->children[c], lo[c], hi[c] - lo[c], depth, err));
  }
  return QV_OK;
}

static qv_status visit_ree(payload *p, const qv_array *arr, int depth, qv_error *err) {
  QV_TRY(need_children(p, arr, 2, err));
  const qv_array *re = arr->children[0], *vals = arr->children[1];
  int64_t off = arr->offset, len = arr->length;
  int64_t p0 = 0, p1 = -1;
  if (len > 0) {
    p0 = qv_array_ree_physical_index(arr, 0);
    p1 = qv_array_ree_physical_index(arr, len - 1);
    if (p0 < 0 || p1 < p0 || p1 >= re->length || re->length > vals->length)
      return qv_error_set(err, QV_E_INVALID, "%s: run ends do not cover the array", p->what);
  }
  int64_t runs = p1 - p0 + 1;
  int32_t bits = qv_type_bit_width(re->type);
  size_t w = (size_t)bits / 8;
  if (w != 2 && w != 4 && w != 8)
    return qv_error_set(err, QV_E_INVALID, "%s: run ends must be int16/32/64", p->what);
  /* New run ends relative to the slice, the last one clamped to its length. */
  qv_mbuffer mb;
  QV_TRY(new_mut(p, (size_t)runs * w, &mb, err));
  for (int64_t r = 0; r < runs; r++) {
    int64_t e = qv_array_get_i64(re, p0 + r) - off;
    if (e > len) e = len;
    if (w == 2) qv__store_u16le(mb.data + 2 * r, (uint16_t)e);
    else if (w == 4) qv__store_u32le(mb.data + 4 * r, (uint32_t)e);
    else qv__store_u64le(mb.data + 8 * r, (uint64_t)e);
  }
  qv_buffer bufs[2] = {{0}, {0}};
  qv_status st = qv_mbuffer_finish(&mb, &bufs[1], err);
  if (st < 0) {
    qv_mbuffer_reset(&mb);
    return st;
  }
  qv_array *nre;
  QV_TRY(qv_array_new(re->type, runs, 0, 0, 2, bufs, 0, NULL, NULL, p->a, &nre, err));
  st = visit(p, nre, depth + 1, err);
  qv_array_unref(nre);
  QV_TRY(st);
  return visit_child_range(p, vals, p0, runs, depth, err);
}

/* Views and their variadic data buffers. When the (sliced) array references only some data
 * buffers, only those are written and the views are rewritten with the new buffer indices
 * (null views zeroed); otherwise the views are a zero-copy slice and every buffer is kept. */
static qv_status add_views(payload *p, const qv_array *arr, qv_error *err) {
  int64_t off = arr->offset, len = arr->length;
  const qv_buffer *vb = &arr->buffers[1];
  size_t boff, blen;
  if (!to_size(off, 16, &boff) || !to_size(len, 16, &blen) || qv__range_bad(boff, blen, vb->len))
    return qv_error_set(err, QV_E_INVALID, "%s: views buffer too short", p->what);
  int32_t n_data = arr->n_buffers - 2;
  GROW(p->a, p->variadic, p->cap_variadic, p->n_variadic + 1, err);
  /* which data buffers do the valid long views use? new index + 1 per buffer, 0 = unused */
  int32_t *remap = NULL;
  int32_t used = 0;
  if (n_data > 0) {
    remap = qv_mem_calloc(p->a, (size_t)n_data * sizeof *remap, 0);
    if (!remap) return qv__nomem(err, "IPC view buffer map", (size_t)n_data * sizeof *remap);
    for (int64_t i = 0; i < len; i++) {
      const uint8_t *v = vb->data + boff + 16 * (size_t)i;
      if (qv__load_u32le(v) <= 12 || !qv_array_is_valid(arr, i)) continue;
      uint32_t bi = qv__load_u32le(v + 8);
      if (bi >= (uint32_t)n_data) {
        qv_mem_free(p->a, remap, (size_t)n_data * sizeof *remap, 0);
        return qv_error_set(err, QV_E_INVALID, "%s: view %lld refers to data buffer %u of %d",
                            p->what, (long long)i, bi, (int)n_data);
      }
      if (!remap[bi]) remap[bi] = ++used;
    }
  }
  qv_status st = QV_OK;
  if (used == n_data) {
    /* every buffer is used (or there are none): write as is */
    st = add_slice(p, vb, boff, blen, err);
    for (int32_t i = 0; i < n_data && st == QV_OK; i++)
      st = add_slice(p, &arr->buffers[2 + i], 0, arr->buffers[2 + i].len, err);
  } else {
    /* renumber in first-use order, then write the used buffers in that order */
    qv_mbuffer mb;
    st = new_mut(p, blen, &mb, err);
    if (st == QV_OK) {
      for (int64_t i = 0; i < len; i++) {
        const uint8_t *v = vb->data + boff + 16 * (size_t)i;
        uint8_t *d = mb.data + 16 * (size_t)i;
        if (!qv_array_is_valid(arr, i)) continue; /* stays zero: an empty view */
        memcpy(d, v, 16);
        if (qv__load_u32le(v) > 12)
          qv__store_u32le(d + 8, (uint32_t)(remap[qv__load_u32le(v + 8)] - 1));
      }
      st = add_mut(p, &mb, err);
    }
    for (int32_t k = 1; k <= used && st == QV_OK; k++)
      for (int32_t i = 0; i < n_data; i++)
        if (remap[i] == k) {
          st = add_slice(p, &arr->buffers[2 + i], 0, arr->buffers[2 + i].len, err);
          break;
        }
  }
  if (remap) qv_mem_free(p->a, remap, (size_t)n_data * sizeof *remap, 0);
  QV_TRY(st);
  p->variadic[p->n_variadic++] = used == n_data ? n_data : used;
  return QV_OK;
}

static qv_status visit(payload *p, const qv_array *arr, int depth, qv_error *err) {
  if (depth > MAX_DEPTH)
    return qv_error_set(err, QV_E_LIMIT, "%s: arrays nested deeper than %d levels", p->what,
                        MAX_DEPTH);
  const qv_type *t = arr->type;
  int64_t off = arr->offset, len = arr->length;
  if (off < 0 || len < 0)
    return qv_error_set(err, QV_E_INVALID, "%s: negative offset or length", p->what);
  int64_t nulls = 0;
  if (t->id == QV_TYPE_NA) nulls = len;
  else if (qv_type_has_validity(t)) nulls = qv_array_null_count(arr);
  QV_TRY(add_node(p, len, nulls, err));
  switch (t->id) {
    case QV_TYPE_NA:
    case QV_TYPE_RUN_END_ENCODED:
      break;
    case QV_TYPE_BOOL:
      QV_TRY(need_buffers(p, arr, 2, err));
      QV_TRY(add_validity(p, arr, nulls, err));
      return add_bitmap(p, &arr->buffers[1], off, len, err);
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: {
      int wide = t->id == QV_TYPE_LARGE_BINARY || t->id == QV_TYPE_LARGE_STRING;
      QV_TRY(need_buffers(p, arr, 3, err));
      QV_TRY(add_validity(p, arr, nulls, err));
      int64_t s, e;
      QV_TRY(add_offsets(p, arr, wide, &s, &e, err));
      return add_slice(p, &arr->buffers[2], (size_t)s, (size_t)(e - s), err);
    }
    case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW:
      QV_TRY(need_buffers(p, arr, 2, err));
      QV_TRY(add_validity(p, arr, nulls, err));
      return add_views(p, arr, err);
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_MAP: {
      QV_TRY(need_buffers(p, arr, 2, err));
      QV_TRY(need_children(p, arr, 1, err));
      QV_TRY(add_validity(p, arr, nulls, err));
      int64_t s, e;
      QV_TRY(add_offsets(p, arr, t->id == QV_TYPE_LARGE_LIST, &s, &e, err));
      if (e > arr->children[0]->length)
        return qv_error_set(err, QV_E_INVALID, "%s: list offsets beyond the child's length",
                            p->what);
      return visit_child_range(p, arr->children[0], s, e - s, depth, err);
    }
    case QV_TYPE_LIST_VIEW: case QV_TYPE_LARGE_LIST_VIEW:
      QV_TRY(add_validity(p, arr, nulls, err));
      return visit_list_view(p, arr, depth, err);
    case QV_TYPE_FIXED_SIZE_LIST: {
      QV_TRY(need_buffers(p, arr, 1, err));
      QV_TRY(need_children(p, arr, 1, err));
      QV_TRY(add_validity(p, arr, nulls, err));
      int64_t n = t->list_size;
      if (off > INT64_MAX / (n ? n : 1) || (off + len) > INT64_MAX / (n ? n : 1) ||
          (off + len) * n > arr->children[0]->length)
        return qv_error_set(err, QV_E_INVALID, "%s: fixed-size list child too short", p->what);
      return visit_child_range(p, arr->children[0], off * n, len * n, depth, err);
    }
    case QV_TYPE_STRUCT:
      QV_TRY(need_buffers(p, arr, 1, err));
      QV_TRY(need_children(p, arr, t->n_children, err));
      QV_TRY(add_validity(p, arr, nulls, err));
      for (int32_t i = 0; i < t->n_children; i++)
        QV_TRY(visit_child_range(p, arr->children[i], off, len, depth, err));
      return QV_OK;
    case QV_TYPE_SPARSE_UNION:
      QV_TRY(need_buffers(p, arr, 1, err));
      QV_TRY(need_children(p, arr, t->n_children, err));
      QV_TRY(add_slice(p, &arr->buffers[0], (size_t)off, (size_t)len, err));
      for (int32_t i = 0; i < t->n_children; i++)
        QV_TRY(visit_child_range(p, arr->children[i], off, len, depth, err));
      return QV_OK;
    case QV_TYPE_DENSE_UNION:
      return visit_dense_union(p, arr, depth, err);
    default: {
      /* fixed width: numbers, decimals, temporal, intervals, fixed-size binary, dictionary
       * indices */
      int32_t bits = qv_type_bit_width(t);
      if (t->id == QV_TYPE_FIXED_SIZE_BINARY && bits == 0) { /* fixed_size_binary(0): no data */
        QV_TRY(need_buffers(p, arr, 2, err));
        QV_TRY(add_validity(p, arr, nulls, err));
        return add_empty(p, err);
      }
      if (bits <= 0 || bits % 8 != 0)
        return qv_error_set(err, QV_E_UNSUPPORTED, "%s: cannot write %s arrays", p->what,
                            qv_type_id_name(t->id));
      QV_TRY(need_buffers(p, arr, 2, err));
      QV_TRY(add_validity(p, arr, nulls, err));
      size_t boff, blen;
      if (!to_size(off, bits / 8, &boff) || !to_size(len, bits / 8, &blen))
        return qv_error_set(err, QV_E_OVERFLOW, "%s: buffer size", p->what);
      return add_slice(p, &arr->buffers[1], boff, blen, err);
    }
  }
  if (t->id == QV_TYPE_RUN_END_ENCODED) return visit_ree(p, arr, depth, err);
  return QV_OK;
}

/* Compresses (if asked) and assigns 64-byte aligned body offsets. */
static qv_status lay_out(payload *p, qv_error *err) {
  if (p->opts->compression != QV_IPC_COMPRESSION_NONE) {
    for (size_t i = 0; i < p->n_bufs; i++) {
      if (p->bufs[i].len == 0) continue; /* empty buffers stay empty, without a prefix */
      qv_buffer c;
      QV_TRY(qv__ipc_compress(p->comp, p->bufs[i].data, p->bufs[i].len, &c, err));
      qv_buffer_unref(&p->bufs[i]);
      qv_buffer_move(&c, &p->bufs[i]);
    }
  }
  GROW(p->a, p->layout, p->layout_cap, p->n_bufs ? p->n_bufs : 1, err);
  size_t at = 0;
  for (size_t i = 0; i < p->n_bufs; i++) {
    size_t padded;
    if (!qv__round_up(p->bufs[i].len, ALIGN, &padded) || qv__add_overflow(at, padded, &padded) ||
        padded > (size_t)INT64_MAX)
      return qv_error_set(err, QV_E_OVERFLOW, "%s: message body too large", p->what);
    p->layout[i].offset = (int64_t)at;
    p->layout[i].length = (int64_t)p->bufs[i].len;
    at = padded;
  }
  p->body_len = (int64_t)at;
  return QV_OK;
}

/* ---- output -------------------------------------------------------------------------------- */

static qv_status emit(qv_ipc_writer *w, const void *data, size_t len, qv_error *err) {
  if (len == 0) return QV_OK;
  qv_status st = w->sink(w->sink_ctx, data, len, err);
  if (st < 0) {
    w->state = W_FAILED;
    return st;
  }
  w->pos += (int64_t)len;
  return QV_OK;
}

/* Writes one encapsulated message: 0xFFFFFFFF, int32 metadata length (padded so the body
 * starts 64-byte aligned in the output), the metadata, zero padding, then the body buffers each
 * padded to 64 bytes. *block (may be NULL) receives where it went. */
static qv_status write_message(qv_ipc_writer *w, const uint8_t *meta, size_t mlen,
                               const payload *p, qv__wblock *block, qv_error *err) {
  size_t start = (size_t)w->pos, end;
  if (qv__add_overflow(start, 8 + mlen, &end) || !qv__round_up(end, ALIGN, &end))
    return qv_error_set(err, QV_E_OVERFLOW, "IPC message too large");
  size_t padded = end - start - 8;
  if (padded > INT32_MAX - 8)
    return qv_error_set(err, QV_E_LIMIT, "IPC metadata of %zu bytes exceeds the int32 limit",
                        mlen);
  qv_mbuffer *s = &w->scratch;
  QV_TRY(qv_mbuffer_resize(s, 0, err)); /* zeroes the previous message's bytes */
  QV_TRY(qv_mbuffer_resize(s, 8 + padded, err)); /* so the padding is zero */
  qv__store_u32le(s->data, QV_IPC_CONTINUATION);
  qv__store_u32le(s->data + 4, (uint32_t)padded);
  memcpy(s->data + 8, meta, mlen);
  if (block) {
    block->offset = w->pos;
    block->meta_len = (int32_t)(8 + padded);
    block->body_len = p ? p->body_len : 0;
  }
  QV_TRY(emit(w, s->data, 8 + padded, err));
  if (!p) return QV_OK;
  for (size_t i = 0; i < p->n_bufs; i++) {
    size_t len = p->bufs[i].len;
    QV_TRY(emit(w, p->bufs[i].data, len, err));
    size_t pad = (ALIGN - len % ALIGN) % ALIGN;
    QV_TRY(emit(w, zeros, pad, err));
  }
  return QV_OK;
}

static qv_status check_usable(qv_ipc_writer *w, qv_error *err) {
  if (!w) return qv_error_set(err, QV_E_INVALID, "IPC writer is NULL");
  if (w->state == W_FINISHED)
    return qv_error_set(err, QV_E_STATE, "IPC writer: already finished");
  if (w->state == W_FAILED)
    return qv_error_set(err, QV_E_STATE, "IPC writer: unusable after an earlier failure");
  return QV_OK;
}

/* Encodes and writes a payload as a record batch or dictionary batch message. */
static qv_status write_payload(qv_ipc_writer *w, payload *p, int64_t length, bool is_dict,
                               int64_t dict_id, bool is_delta, const qv_metadata *md,
                               qv_error *err) {
  QV_TRY(lay_out(p, err));
  qv__wbatch rb = {length, p->nodes, p->n_nodes, p->layout, p->n_bufs,
                   w->opts.compression == QV_IPC_COMPRESSION_NONE ? -1
                   : w->opts.compression == QV_IPC_COMPRESSION_LZ4_FRAME
                       ? QV_FB_COMPRESSION_LZ4_FRAME
                       : QV_FB_COMPRESSION_ZSTD,
                   p->variadic, p->n_variadic};
  const uint8_t *meta;
  size_t mlen;
  if (is_dict)
    QV_TRY(qv__meta_dictionary_message(&w->fbb, dict_id, is_delta, &rb, p->body_len, &meta,
                                       &mlen, err));
  else
    QV_TRY(qv__meta_batch_message(&w->fbb, &rb, p->body_len, md, &meta, &mlen, err));
  /* room in the footer's block list first, so that a written message is always listed */
  if (w->opts.format == QV_IPC_FORMAT_FILE) {
    if (is_dict)
      GROW(&w->alloc, w->dict_blocks, w->cap_dict_blocks, w->n_dict_blocks + 1, err);
    else
      GROW(&w->alloc, w->batch_blocks, w->cap_batch_blocks, w->n_batch_blocks + 1, err);
  }
  qv__wblock blk;
  QV_TRY(write_message(w, meta, mlen, p, &blk, err));
  if (w->opts.format == QV_IPC_FORMAT_FILE) {
    if (is_dict)
      w->dict_blocks[w->n_dict_blocks++] = blk;
    else
      w->batch_blocks[w->n_batch_blocks++] = blk;
  }
  if (is_dict)
    w->n_dict_batches++;
  else
    w->n_batches++;
  return QV_OK;
}

/* ---- dictionaries ------------------------------------------------------------------------- */

static qv_status count_dicts(const qv_field *f, size_t *n, int depth, qv_error *err) {
  if (depth > MAX_DEPTH)
    return qv_error_set(err, QV_E_LIMIT, "field '%s': nested deeper than %d levels", f->name,
                        MAX_DEPTH);
  const qv_type *t = f->type;
  if (t->id == QV_TYPE_DICTIONARY) {
    (*n)++;
    t = t->value_type;
  }
  for (int32_t i = 0; i < t->n_children; i++)
    QV_TRY(count_dicts(t->children[i], n, depth + 1, err));
  return QV_OK;
}

static void collect_explicit(const qv_field *f, int64_t *ids, dict_state *ds, size_t *k) {
  const qv_type *t = f->type;
  if (t->id == QV_TYPE_DICTIONARY) {
    ds[*k].field = f;
    ids[(*k)++] = f->dictionary_id;
    t = t->value_type;
  }
  for (int32_t i = 0; i < t->n_children; i++) collect_explicit(t->children[i], ids, ds, k);
}

static bool id_used(const int64_t *ids, size_t n, int64_t id) {
  for (size_t i = 0; i < n; i++)
    if (ids[i] == id) return true;
  return false;
}

static qv_status assign_dict_ids(qv_ipc_writer *w, qv_error *err) {
  size_t n = 0;
  for (int32_t i = 0; i < w->schema->n_fields; i++)
    QV_TRY(count_dicts(w->schema->fields[i], &n, 0, err));
  if (n == 0) return QV_OK;
  w->dict_ids = qv_mem_alloc(&w->alloc, n * sizeof *w->dict_ids, 0);
  w->dicts = qv_mem_calloc(&w->alloc, n * sizeof *w->dicts, 0);
  w->n_dicts = n; /* the sizes writer_free uses, also when one allocation failed */
  if (!w->dict_ids || !w->dicts) return qv__nomem(err, "IPC dictionary table", n * 24);
  size_t k = 0;
  for (int32_t i = 0; i < w->schema->n_fields; i++)
    collect_explicit(w->schema->fields[i], w->dict_ids, w->dicts, &k);
  /* auto ids: the smallest non-negative id not used explicitly or already given */
  int64_t next = 0;
  for (size_t i = 0; i < n; i++) {
    if (w->dict_ids[i] >= 0) continue;
    while (id_used(w->dict_ids, n, next)) next++;
    w->dict_ids[i] = next++;
  }
  for (size_t i = 0; i < n; i++) w->dicts[i].id = w->dict_ids[i];
  /* fields may share a dictionary (one id) only when their values have the same type */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (w->dict_ids[i] == w->dict_ids[j] &&
          !qv_type_equal(w->dicts[i].field->type->value_type,
                         w->dicts[j].field->type->value_type))
        return qv_error_set(err, QV_E_INVALID,
                            "fields '%s' and '%s' share dictionary id %lld but their "
                            "dictionary value types differ",
                            w->dicts[i].field->name, w->dicts[j].field->name,
                            (long long)w->dict_ids[i]);
  return QV_OK;
}

static qv_status write_dictionary(qv_ipc_writer *w, size_t k, const qv_array *values,
                                  const char *name, qv_error *err) {
  /* fields sharing a dictionary id share one dictionary (state of the first such field) */
  for (size_t j = 0; j < k; j++)
    if (w->dict_ids[j] == w->dict_ids[k]) {
      k = j;
      break;
    }
  dict_state *d = &w->dicts[k];
  if (d->last == values) return QV_OK;
  const qv_array *to_write = values;
  qv_array *delta = NULL;
  bool is_delta = false;
  if (d->last) {
    if (qv_array_equal(d->last, values, NULL)) return QV_OK;
    if (w->opts.emit_dictionary_deltas && values->length > d->last->length) {
      qv_array *prefix;
      QV_TRY(qv_array_slice(values, 0, d->last->length, &prefix, err));
      bool is_prefix = qv_array_equal(d->last, prefix, NULL);
      qv_array_unref(prefix);
      if (is_prefix) {
        QV_TRY(qv_array_slice(values, d->last->length, values->length - d->last->length,
                              &delta, err));
        to_write = delta;
        is_delta = true;
      }
    }
    if (!is_delta && w->opts.format == QV_IPC_FORMAT_FILE)
      return qv_error_set(err, QV_E_INVALID,
                          "field '%s' (dictionary id %lld): the dictionary changed in batch "
                          "%lld and the previous one is not a prefix of the new one; the IPC "
                          "file format does not allow dictionary replacement (use the stream "
                          "format or unify the dictionaries)",
                          name, (long long)d->id, (long long)w->n_batches);
  }
  char what[160];
  snprintf(what, sizeof what, "dictionary %lld of field '%s'", (long long)d->id, name);
  payload p;
  memset(&p, 0, sizeof p);
  p.a = &w->alloc;
  p.opts = &w->opts;
  p.comp = &w->comp;
  p.what = what;
  qv_status st = visit(&p, to_write, 0, err);
  if (st == QV_OK)
    st = write_payload(w, &p, to_write->length, true, d->id, is_delta, NULL, err);
  payload_reset(&p);
  qv_array_unref(delta);
  QV_TRY(st);
  qv_array_unref(d->last);
  d->last = qv_array_ref(values);
  return QV_OK;
}

/* Writes the dictionaries `arr` (of field f) needs, inner ones first; *k counts dictionary
 * fields in schema pre-order. */
static qv_status write_dicts(qv_ipc_writer *w, const qv_field *f, const qv_array *arr,
                             size_t *k, int depth, qv_error *err) {
  const qv_type *t = f->type;
  if (depth > MAX_DEPTH)
    return qv_error_set(err, QV_E_LIMIT, "field '%s': nested too deeply", f->name);
  if (t->id == QV_TYPE_DICTIONARY) {
    size_t mine = (*k)++;
    const qv_array *vals = arr->dictionary;
    if (!vals)
      return qv_error_set(err, QV_E_INVALID, "field '%s': dictionary array without values",
                          f->name);
    const qv_type *vt = t->value_type;
    if (vals->n_children < vt->n_children)
      return qv_error_set(err, QV_E_INVALID, "field '%s': dictionary values lack children",
                          f->name);
    for (int32_t i = 0; i < vt->n_children; i++)
      QV_TRY(write_dicts(w, vt->children[i], vals->children[i], k, depth + 1, err));
    return write_dictionary(w, mine, vals, f->name, err);
  }
  if (t->n_children > 0 && arr->n_children < t->n_children)
    return qv_error_set(err, QV_E_INVALID, "field '%s': array has %d children, type has %d",
                        f->name, (int)arr->n_children, (int)t->n_children);
  for (int32_t i = 0; i < t->n_children; i++)
    QV_TRY(write_dicts(w, t->children[i], arr->children[i], k, depth + 1, err));
  return QV_OK;
}

/* ---- public API ----------------------------------------------------------------------------- */

qv_ipc_write_options qv_ipc_write_options_default(void) {
  qv_ipc_write_options o;
  memset(&o, 0, sizeof o);
  o.format = QV_IPC_FORMAT_STREAM;
  o.compression = QV_IPC_COMPRESSION_NONE;
  o.compression_level = 0;
  o.allow_64bit = false;
  o.emit_dictionary_deltas = true;
  o.check_schema = true;
  return o;
}

qv_status qv_ipc_sink_mbuffer(void *ctx, const void *data, size_t len, qv_error *err) {
  return qv_mbuffer_append((qv_mbuffer *)ctx, data, len, err);
}

qv_status qv_ipc_sink_stdio(void *ctx, const void *data, size_t len, qv_error *err) {
  if (fwrite(data, 1, len, (FILE *)ctx) != len)
    return qv_error_set(err, QV_E_IO, "writing %zu bytes of Arrow IPC failed", len);
  return QV_OK;
}

static void writer_free(qv_ipc_writer *w) {
  qv_schema_unref(w->schema);
  qv__fbb_reset(&w->fbb);
  qv__ipc_compressor_reset(&w->comp);
  qv_mbuffer_reset(&w->scratch);
  qv_metadata_reset(&w->footer_md);
  for (size_t i = 0; w->dicts && i < w->n_dicts; i++) qv_array_unref(w->dicts[i].last);
  qv_mem_free(&w->alloc, w->dicts, w->n_dicts * sizeof *w->dicts, 0);
  qv_mem_free(&w->alloc, w->dict_ids, w->n_dicts * sizeof *w->dict_ids, 0);
  qv_mem_free(&w->alloc, w->dict_blocks, w->cap_dict_blocks * sizeof *w->dict_blocks, 0);
  qv_mem_free(&w->alloc, w->batch_blocks, w->cap_batch_blocks * sizeof *w->batch_blocks, 0);
  qv_allocator a = w->alloc;
  qv_mem_free(&a, w, sizeof *w, 0);
}

void qv_ipc_writer_free(qv_ipc_writer *w) {
  if (w) writer_free(w);
}

qv_status qv_ipc_writer_new(const qv_schema *schema, const qv_ipc_write_options *opts,
                            qv_ipc_sink_fn sink, void *sink_ctx, const qv_allocator *alloc,
                            qv_ipc_writer **out, qv_error *err) {
  *out = NULL;
  if (!schema || !sink)
    return qv_error_set(err, QV_E_INVALID, "IPC writer needs a schema and a sink");
  qv_ipc_write_options o = opts ? *opts : qv_ipc_write_options_default();
  if (o.format != QV_IPC_FORMAT_STREAM && o.format != QV_IPC_FORMAT_FILE)
    return qv_error_set(err, QV_E_INVALID, "IPC writer: unknown format %d", (int)o.format);
  if (o.compression != QV_IPC_COMPRESSION_NONE && o.compression != QV_IPC_COMPRESSION_LZ4_FRAME &&
      o.compression != QV_IPC_COMPRESSION_ZSTD)
    return qv_error_set(err, QV_E_INVALID, "IPC writer: unknown compression %d",
                        (int)o.compression);
  if (!alloc) alloc = qv_allocator_default();
  qv_ipc_writer *w = qv_mem_calloc(alloc, sizeof *w, 0);
  if (!w) return qv__nomem(err, "IPC writer", sizeof *w);
  w->alloc = *alloc;
  w->schema = qv_schema_ref(schema);
  w->opts = o;
  w->sink = sink;
  w->sink_ctx = sink_ctx;
  qv__fbb_init(&w->fbb, &w->alloc);
  qv__ipc_compressor_init(&w->comp, (int)o.compression, o.compression_level, &w->alloc);
  qv_mbuffer_init(&w->scratch, &w->alloc);
  qv_status st = qv_metadata_copy(o.footer_metadata, &w->alloc, &w->footer_md, err);
  w->opts.footer_metadata = NULL; /* the copy is used */
  if (st == QV_OK) st = assign_dict_ids(w, err);
  const uint8_t *meta = NULL;
  size_t mlen = 0;
  qv__dict_ids ids = {w->dict_ids, w->n_dicts};
  if (st == QV_OK) st = qv__meta_schema_message(&w->fbb, schema, &ids, &meta, &mlen, err);
  if (st == QV_OK && o.format == QV_IPC_FORMAT_FILE) {
    static const uint8_t magic[8] = {'A', 'R', 'R', 'O', 'W', '1', 0, 0};
    st = emit(w, magic, sizeof magic, err);
  }
  if (st == QV_OK) st = write_message(w, meta, mlen, NULL, NULL, err);
  if (st < 0) {
    writer_free(w);
    return st;
  }
  *out = w;
  return QV_OK;
}

qv_status qv_ipc_writer_write_batch_metadata(qv_ipc_writer *w, const qv_batch *batch,
                                             const qv_metadata *md, qv_error *err) {
  QV_TRY(check_usable(w, err));
  if (!batch) return qv_error_set(err, QV_E_INVALID, "IPC writer: NULL batch");
  const qv_schema *s = w->schema;
  if (batch->n_columns != s->n_fields)
    return qv_error_set(err, QV_E_TYPE, "IPC writer: batch has %d columns, schema has %d",
                        (int)batch->n_columns, (int)s->n_fields);
  for (int32_t i = 0; i < s->n_fields; i++) {
    const qv_array *c = batch->columns[i];
    if (!c || c->length != batch->length)
      return qv_error_set(err, QV_E_INVALID,
                          "IPC writer: column '%s' (index %d) is missing or its length is not "
                          "the batch's %lld",
                          s->fields[i]->name, (int)i, (long long)batch->length);
    if (w->opts.check_schema && !qv_type_equal(c->type, s->fields[i]->type)) {
      char a[128], b[128];
      qv_type_to_string(c->type, a, sizeof a);
      qv_type_to_string(s->fields[i]->type, b, sizeof b);
      return qv_error_set(err, QV_E_TYPE,
                          "IPC writer: column '%s' (index %d) has type %s, the schema says %s",
                          s->fields[i]->name, (int)i, a, b);
    }
  }
  if (!w->opts.allow_64bit && batch->length > INT32_MAX)
    return qv_error_set(err, QV_E_LIMIT,
                        "IPC writer: batch of %lld rows exceeds the int32 limit (allow_64bit)",
                        (long long)batch->length);
  qv_status st = QV_OK;
  if (w->n_dicts) {
    size_t k = 0;
    for (int32_t i = 0; i < s->n_fields && st == QV_OK; i++)
      st = write_dicts(w, s->fields[i], batch->columns[i], &k, 0, err);
    if (st < 0) return st;
  }
  payload p;
  memset(&p, 0, sizeof p);
  p.a = &w->alloc;
  p.opts = &w->opts;
  p.comp = &w->comp;
  char what[160];
  p.what = what;
  for (int32_t i = 0; i < s->n_fields && st == QV_OK; i++) {
    snprintf(what, sizeof what, "record batch %lld, column '%s'", (long long)w->n_batches,
             s->fields[i]->name);
    st = visit(&p, batch->columns[i], 0, err);
  }
  snprintf(what, sizeof what, "record batch %lld", (long long)w->n_batches);
  if (st == QV_OK) st = write_payload(w, &p, batch->length, false, 0, false, md, err);
  payload_reset(&p);
  return st;
}

qv_status qv_ipc_writer_write_batch(qv_ipc_writer *w, const qv_batch *batch, qv_error *err) {
  return qv_ipc_writer_write_batch_metadata(w, batch, NULL, err);
}

qv_status qv_ipc_writer_write_table(qv_ipc_writer *w, const qv_table *table, qv_error *err) {
  QV_TRY(check_usable(w, err));
  if (!table) return qv_error_set(err, QV_E_INVALID, "IPC writer: NULL table");
  for (int64_t i = 0; i < table->n_batches; i++)
    QV_TRY(qv_ipc_writer_write_batch(w, table->batches[i], err));
  return QV_OK;
}

qv_status qv_ipc_writer_finish(qv_ipc_writer *w, qv_error *err) {
  QV_TRY(check_usable(w, err));
  uint8_t eos[8];
  qv__store_u32le(eos, QV_IPC_CONTINUATION);
  qv__store_u32le(eos + 4, 0);
  QV_TRY(emit(w, eos, sizeof eos, err));
  if (w->opts.format == QV_IPC_FORMAT_FILE) {
    const uint8_t *meta;
    size_t mlen;
    qv__dict_ids ids = {w->dict_ids, w->n_dicts};
    QV_TRY(qv__meta_footer(&w->fbb, w->schema, &ids, w->dict_blocks, w->n_dict_blocks,
                           w->batch_blocks, w->n_batch_blocks, &w->footer_md, &meta, &mlen,
                           err));
    if (mlen > INT32_MAX)
      return qv_error_set(err, QV_E_LIMIT, "IPC file footer of %zu bytes is too large", mlen);
    QV_TRY(emit(w, meta, mlen, err));
    uint8_t tail[10];
    qv__store_u32le(tail, (uint32_t)mlen);
    memcpy(tail + 4, QV_IPC_MAGIC, QV_IPC_MAGIC_LEN);
    QV_TRY(emit(w, tail, sizeof tail, err));
  }
  w->state = W_FINISHED;
  return QV_OK;
}

int64_t qv_ipc_writer_num_batches(const qv_ipc_writer *w) { return w ? w->n_batches : 0; }
int64_t qv_ipc_writer_num_dictionary_batches(const qv_ipc_writer *w) {
  return w ? w->n_dict_batches : 0;
}
int64_t qv_ipc_writer_bytes_written(const qv_ipc_writer *w) { return w ? w->pos : 0; }

/* ---- convenience ---------------------------------------------------------------------------- */

static qv_status write_table_to(const qv_table *table, const qv_ipc_write_options *opts,
                                qv_ipc_sink_fn sink, void *ctx, const qv_allocator *a,
                                qv_error *err) {
  if (!table) return qv_error_set(err, QV_E_INVALID, "IPC writer: NULL table");
  qv_ipc_writer *w;
  QV_TRY(qv_ipc_writer_new(table->schema, opts, sink, ctx, a, &w, err));
  qv_status st = qv_ipc_writer_write_table(w, table, err);
  if (st == QV_OK) st = qv_ipc_writer_finish(w, err);
  qv_ipc_writer_free(w);
  return st;
}

qv_status qv_ipc_write_table_mbuffer(const qv_table *table, const qv_ipc_write_options *opts,
                                     qv_mbuffer *out, qv_error *err) {
  if (!out) return qv_error_set(err, QV_E_INVALID, "IPC writer: NULL output buffer");
  size_t before = out->len;
  qv_status st = write_table_to(table, opts, qv_ipc_sink_mbuffer, out, &out->alloc, err);
  if (st < 0) (void)qv_mbuffer_resize(out, before, NULL); /* shrinking cannot fail */
  return st;
}

qv_status qv_ipc_write_table_path(const char *path, const qv_table *table,
                                  const qv_ipc_write_options *opts, const qv_allocator *alloc,
                                  qv_error *err) {
  if (!path) return qv_error_set(err, QV_E_INVALID, "IPC writer: NULL path");
  FILE *f = fopen(path, "wb");
  if (!f) return qv_error_set(err, QV_E_IO, "cannot create '%s'", path);
  qv_status st = write_table_to(table, opts, qv_ipc_sink_stdio, f, alloc, err);
  if (fclose(f) != 0 && st == QV_OK) st = qv_error_set(err, QV_E_IO, "closing '%s' failed", path);
  if (st < 0) {
    qv_error_prefix(err, "%s: ", path);
    remove(path);
  }
  return st;
}

qv_status qv_ipc_write_table_file(const char *path, const qv_table *table,
                                  const qv_ipc_write_options *opts, qv_error *err) {
  return qv_ipc_write_table_path(path, table, opts, NULL, err);
}
