/* footer.c — the layer object's header, footer and trailer: serialisation and the checked
 * parser (docs/spec/ndfile.md §3, §4). Every count, length and offset read from a layer is
 * checked against the bytes present and the limits before it is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "ndfile/nd_int.h"

const uint8_t qv__nd_magic_head[8] = {'Q', 'V', 'N', 'D', 'F', 'I', 'L', 'E'};
const uint8_t qv__nd_magic_tail[8] = {'Q', 'V', 'N', 'D', 'T', 'A', 'I', 'L'};



void qv__nd_layer_name(char *buf, size_t cap, const char *path, uint64_t seq) {
  snprintf(buf, cap, "%s/layer-%020llu.qnd", path, (unsigned long long)seq);
}

bool qv__nd_layer_seq(const char *name, size_t prefix_len, uint64_t *seq) {
  const char *p = name + prefix_len;
  if (strncmp(p, "layer-", 6) != 0) return false;
  p += 6;
  uint64_t v = 0;
  for (int i = 0; i < 20; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(p[i] - '0'), &v))
      return false;
  }
  if (strcmp(p + 20, ".qnd") != 0 || v == 0) return false;
  *seq = v;
  return true;
}

size_t qv__nd_header(uint8_t out[ND_DATA_ALIGN], bool aligned) {
  memcpy(out, qv__nd_magic_head, 8);
  qv__store_u32le(out + 8, ND_VERSION);
  qv__store_u32le(out + 12, aligned ? ND_HEAD_ALIGNED : 0);
  if (!aligned) return ND_HEADER_LEN;
  memset(out + ND_HEADER_LEN, 0, ND_DATA_ALIGN - ND_HEADER_LEN);
  return ND_DATA_ALIGN;
}

void qv__nd_trailer(uint8_t out[ND_TRAILER_LEN], uint64_t footer_len, uint64_t footer_hash) {
  qv__store_u64le(out, footer_len);
  qv__store_u64le(out + 8, footer_hash);
  qv__store_u32le(out + 16, ND_VERSION);
  qv__store_u32le(out + 20, 0);
  qv__store_u64le(out + 24, qv__nd_hash(out, 24));
  memcpy(out + 32, qv__nd_magic_tail, 8);
}

/* ---- serialisation ---- */
#define PUT(b, p, n) QV_TRY(qv_mbuffer_append((b), (p), (n), err))
static qv_status put_u8(qv_mbuffer *b, uint8_t v, qv_error *err) { PUT(b, &v, 1); return QV_OK; }
static qv_status put_u16(qv_mbuffer *b, uint16_t v, qv_error *err) {
  uint8_t t[2]; qv__store_u16le(t, v); PUT(b, t, 2); return QV_OK;
}
static qv_status put_u32(qv_mbuffer *b, uint32_t v, qv_error *err) {
  uint8_t t[4]; qv__store_u32le(t, v); PUT(b, t, 4); return QV_OK;
}
static qv_status put_u64(qv_mbuffer *b, uint64_t v, qv_error *err) {
  uint8_t t[8]; qv__store_u64le(t, v); PUT(b, t, 8); return QV_OK;
}
static qv_status put_str16(qv_mbuffer *b, const char *s, qv_error *err) {
  size_t n = strlen(s);
  if (n > 65535) return qv_error_set(err, QV_E_LIMIT, "name of %zu bytes is too long", n);
  QV_TRY(put_u16(b, (uint16_t)n, err));
  PUT(b, s, n);
  return QV_OK;
}

qv_status qv__nd_put_entry(qv_mbuffer *b, const nd_entry *e, qv_error *err) {
  const nd_meta *m = &e->meta;
  QV_TRY(put_str16(b, m->name, err));
  QV_TRY(put_u8(b, e->kind, err));
  QV_TRY(put_u8(b, 0, err));
  if (e->kind == ND_KIND_TOMBSTONE) return QV_OK;
  QV_TRY(put_u8(b, (uint8_t)m->dtype.type, err));
  QV_TRY(put_u8(b, 0, err));
  QV_TRY(put_u32(b, m->dtype.list_size, err));
  QV_TRY(put_u32(b, m->rank, err));
  for (uint32_t i = 0; i < m->rank; i++) QV_TRY(put_u64(b, m->shape[i], err));
  for (uint32_t i = 0; i < m->rank; i++) QV_TRY(put_u64(b, m->chunk[i], err));
  for (uint32_t i = 0; i < m->rank; i++) QV_TRY(put_str16(b, m->dims[i], err));
  if (m->fill_len > UINT32_MAX) return qv_error_set(err, QV_E_LIMIT, "fill value too long");
  QV_TRY(put_u32(b, (uint32_t)m->fill_len, err));
  if (m->fill_len) PUT(b, m->fill, m->fill_len);
  QV_TRY(put_u32(b, m->codec, err));
  QV_TRY(put_u32(b, (uint32_t)m->level, err));
  QV_TRY(put_u32(b, (uint32_t)m->n_attrs, err));
  for (size_t i = 0; i < m->n_attrs; i++) {
    const nd_attr *a = &m->attrs[i];
    QV_TRY(put_str16(b, a->key, err));
    QV_TRY(put_u8(b, (uint8_t)a->kind, err));
    QV_TRY(put_u8(b, a->is_list ? 1 : 0, err));
    QV_TRY(put_u32(b, (uint32_t)a->count, err));
    for (size_t j = 0; j < a->count; j++) {
      switch (a->kind) {
        case QV_ND_ATTR_BOOL: QV_TRY(put_u8(b, ((const uint8_t *)a->values)[j] ? 1 : 0, err)); break;
        case QV_ND_ATTR_INT: QV_TRY(put_u64(b, (uint64_t)((const int64_t *)a->values)[j], err)); break;
        case QV_ND_ATTR_FLOAT: {
          uint64_t u;
          memcpy(&u, (const double *)a->values + j, 8);
          QV_TRY(put_u64(b, u, err));
          break;
        }
        default: {
          const qv_nd_bytes *v = (const qv_nd_bytes *)a->values + j;
          QV_TRY(put_u32(b, (uint32_t)v->len, err));
          if (v->len) PUT(b, v->data, v->len);
        }
      }
    }
  }
  QV_TRY(put_u64(b, e->n_chunks, err));
  for (uint64_t i = 0; i < e->n_chunks; i++) {
    const nd_chunk_ent *c = &e->chunks[i];
    uint8_t t[ND_CHUNK_ENT_LEN];
    qv__store_u64le(t, c->chunk);
    qv__store_u64le(t + 8, c->offset);
    qv__store_u64le(t + 16, c->stored_len);
    qv__store_u64le(t + 24, c->raw_len);
    qv__store_u32le(t + 32, c->codec);
    qv__store_u32le(t + 36, c->flags);
    qv__store_u64le(t + 40, c->hash);
    qv__store_u64le(t + 48, c->n_fill);
    qv__store_u64le(t + 56, c->min);
    qv__store_u64le(t + 64, c->max);
    PUT(b, t, sizeof t);
  }
  return QV_OK;
}

/* ---- parsing ---- */
typedef struct rd {
  const uint8_t *p;
  size_t len, pos;
  qv_error *err;
  const char *ctx; /* array name for messages */
} rd;

static qv_status need(rd *r, size_t n, const char *what) {
  if (qv__range_bad(r->pos, n, r->len))
    return qv_error_set_at(r->err, QV_E_CORRUPT, (int64_t)r->pos,
                           "footer%s%s%s: %s (%zu bytes) runs past the footer end (%zu)",
                           r->ctx ? " array '" : "", r->ctx ? r->ctx : "", r->ctx ? "'" : "", what,
                           n, r->len);
  return QV_OK;
}
static qv_status get_u8(rd *r, uint8_t *v, const char *w) {
  QV_TRY(need(r, 1, w)); *v = r->p[r->pos]; r->pos += 1; return QV_OK;
}
static qv_status get_u16(rd *r, uint16_t *v, const char *w) {
  QV_TRY(need(r, 2, w)); *v = qv__load_u16le(r->p + r->pos); r->pos += 2; return QV_OK;
}
static qv_status get_u32(rd *r, uint32_t *v, const char *w) {
  QV_TRY(need(r, 4, w)); *v = qv__load_u32le(r->p + r->pos); r->pos += 4; return QV_OK;
}
static qv_status get_u64(rd *r, uint64_t *v, const char *w) {
  QV_TRY(need(r, 8, w)); *v = qv__load_u64le(r->p + r->pos); r->pos += 8; return QV_OK;
}
static qv_status bad(rd *r, const char *fmt, const char *a1) {
  char msg[256];
  snprintf(msg, sizeof msg, fmt, a1);
  return qv_error_set_at(r->err, QV_E_CORRUPT, (int64_t)r->pos, "footer%s%s%s: %s",
                         r->ctx ? " array '" : "", r->ctx ? r->ctx : "", r->ctx ? "'" : "", msg);
}
static qv_status get_str(rd *r, nd_arena *a, uint32_t min, uint32_t max, char **out,
                         const char *what) {
  uint16_t n;
  QV_TRY(get_u16(r, &n, what));
  if (n < min) return bad(r, "%s is empty", what);
  if (n > max)
    return qv_error_set_at(r->err, QV_E_LIMIT, (int64_t)r->pos, "footer: %s of %u bytes exceeds the name limit %u", what, n, max);
  QV_TRY(need(r, n, what));
  if (memchr(r->p + r->pos, 0, n)) return bad(r, "%s contains a NUL byte", what);
  *out = qv__nd_arena_strndup(a, (const char *)r->p + r->pos, n);
  if (!*out) return qv__nomem(r->err, "footer string", n);
  r->pos += n;
  return QV_OK;
}

static qv_status parse_attrs(rd *r, nd_arena *ar, const qv_nd_limits *lim, nd_meta *m) {
  uint32_t n;
  QV_TRY(get_u32(r, &n, "attribute count"));
  if (n > lim->max_attrs)
    return qv_error_set(r->err, QV_E_LIMIT, "array '%s': %u attributes exceed the limit %llu",
                        m->name, n, (unsigned long long)lim->max_attrs);
  if ((size_t)n > (r->len - r->pos) / 8) return bad(r, "%s", "attribute count exceeds the footer");
  m->n_attrs = n;
  m->attrs = n ? qv__nd_arena_alloc(ar, n * sizeof(nd_attr)) : NULL;
  if (n && !m->attrs) return qv__nomem(r->err, "attributes", n * sizeof(nd_attr));
  for (uint32_t i = 0; i < n; i++) {
    nd_attr *a = &m->attrs[i];
    uint8_t kind, is_list;
    uint32_t count;
    QV_TRY(get_str(r, ar, 1, lim->max_name, &a->key, "attribute key"));
    if (i && strcmp(m->attrs[i - 1].key, a->key) >= 0)
      return bad(r, "attribute '%s' out of order (keys must be strictly increasing)", a->key);
    QV_TRY(get_u8(r, &kind, "attribute kind"));
    QV_TRY(get_u8(r, &is_list, "attribute list flag"));
    QV_TRY(get_u32(r, &count, "attribute count"));
    if (kind < 1 || kind > 5) return bad(r, "attribute '%s': unknown kind", a->key);
    if (is_list > 1 || (!is_list && count != 1))
      return bad(r, "attribute '%s': bad list flag or count", a->key);
    size_t minsz = kind == 1 ? 1 : (kind <= 3 ? 8 : 4);
    if (count > (r->len - r->pos) / minsz) return bad(r, "attribute '%s': count exceeds the footer", a->key);
    a->kind = (qv_nd_attr_kind)kind;
    a->is_list = is_list;
    a->count = count;
    if (kind <= 3) {
      size_t es = kind == 1 ? 1 : 8;
      if ((uint64_t)count * es > lim->max_attr_bytes)
        return qv_error_set(r->err, QV_E_LIMIT, "attribute '%s' exceeds the attribute size limit", a->key);
      a->values = qv__nd_arena_alloc(ar, count * es);
      if (!a->values) return qv__nomem(r->err, "attribute", count * es);
      for (uint32_t j = 0; j < count; j++) {
        if (kind == 1) {
          uint8_t v;
          QV_TRY(get_u8(r, &v, "bool attribute"));
          if (v > 1) return bad(r, "attribute '%s': bool value not 0/1", a->key);
          ((uint8_t *)a->values)[j] = v;
        } else {
          uint64_t v;
          QV_TRY(get_u64(r, &v, "attribute value"));
          memcpy((uint8_t *)a->values + j * 8, &v, 8);
        }
      }
    } else {
      qv_nd_bytes *vs = qv__nd_arena_alloc(ar, (size_t)count * sizeof *vs + 1);
      if (!vs) return qv__nomem(r->err, "attribute", count * sizeof *vs);
      uint64_t total = 0;
      for (uint32_t j = 0; j < count; j++) {
        uint32_t l;
        QV_TRY(get_u32(r, &l, "attribute value length"));
        QV_TRY(need(r, l, "attribute value"));
        total += l;
        if (total > lim->max_attr_bytes)
          return qv_error_set(r->err, QV_E_LIMIT, "attribute '%s' exceeds the attribute size limit", a->key);
        vs[j].data = r->p + r->pos; /* repointed into the arena below */
        vs[j].len = l;
        char *copy = qv__nd_arena_strndup(ar, (const char *)r->p + r->pos, l);
        if (!copy) return qv__nomem(r->err, "attribute", l);
        vs[j].data = copy;
        r->pos += l;
      }
      a->values = vs;
    }
  }
  return QV_OK;
}

/* How the blocks seen so far cover the data region [data_start, data_end) (§3 check 5). */
typedef struct tiling {
  uint64_t data_start, data_end;
  uint64_t next;  /* while in footer order: where the next block must start */
  uint64_t total; /* bytes of all blocks */
  bool ordered;   /* every block so far started where the previous ended */
} tiling;

static qv_status parse_entry(rd *r, nd_arena *ar, const qv_nd_limits *lim, nd_entry *e,
                             tiling *tl) {
  nd_meta *m = &e->meta;
  uint8_t res;
  QV_TRY(get_str(r, ar, 1, lim->max_name, &m->name, "array name"));
  r->ctx = m->name;
  QV_TRY(get_u8(r, &e->kind, "entry kind"));
  QV_TRY(get_u8(r, &res, "reserved byte"));
  if (e->kind < 1 || e->kind > 3) return bad(r, "%s", "unknown entry kind");
  if (res) return bad(r, "%s", "reserved byte is not 0");
  if (e->kind == ND_KIND_TOMBSTONE) return QV_OK;
  uint8_t dt;
  uint32_t list, rank, fill_len, codec, level;
  QV_TRY(get_u8(r, &dt, "dtype"));
  QV_TRY(get_u8(r, &res, "reserved byte"));
  if (res) return bad(r, "%s", "reserved byte is not 0");
  QV_TRY(get_u32(r, &list, "list size"));
  QV_TRY(get_u32(r, &rank, "rank"));
  m->dtype.type = (qv_nd_type)dt;
  m->dtype.list_size = list;
  if (!qv__nd_type_valid(m->dtype)) return bad(r, "%s", "invalid dtype");
  if (rank > QV_ND_MAX_RANK || rank > lim->max_rank)
    return qv_error_set(r->err, QV_E_LIMIT, "footer array '%s': rank %u exceeds the limit", m->name, rank);
  m->rank = rank;
  for (uint32_t i = 0; i < rank; i++) QV_TRY(get_u64(r, &m->shape[i], "shape"));
  for (uint32_t i = 0; i < rank; i++) QV_TRY(get_u64(r, &m->chunk[i], "chunk shape"));
  for (uint32_t i = 0; i < rank; i++) QV_TRY(get_str(r, ar, 0, lim->max_name, &m->dims[i], "dimension name"));
  QV_TRY(get_u32(r, &fill_len, "fill length"));
  QV_TRY(need(r, fill_len, "fill value"));
  m->fill_len = fill_len;
  m->fill = qv__nd_arena_alloc(ar, fill_len);
  if (!m->fill) return qv__nomem(r->err, "fill", fill_len);
  if (fill_len) memcpy(m->fill, r->p + r->pos, fill_len);
  r->pos += fill_len;
  QV_TRY(get_u32(r, &codec, "codec"));
  QV_TRY(get_u32(r, &level, "codec level"));
  m->codec = codec;
  m->level = (int)(int32_t)level;
  QV_TRY(parse_attrs(r, ar, lim, m));
  qv_status s = qv__nd_meta_derive(m, lim, r->err);
  if (s < 0) {
    if (s == QV_E_INVALID) s = QV_E_CORRUPT;
    if (r->err) r->err->code = s;
    qv_error_prefix(r->err, "footer: ");
    return s;
  }
  uint64_t n;
  QV_TRY(get_u64(r, &n, "chunk count"));
  if (n > (r->len - r->pos) / ND_CHUNK_ENT_LEN) return bad(r, "%s", "chunk count exceeds the footer");
  if (n > m->n_chunks) return bad(r, "%s", "more chunk entries than chunks in the grid");
  e->n_chunks = n;
  e->chunks = n ? qv__nd_arena_alloc(ar, (size_t)n * sizeof(nd_chunk_ent)) : NULL;
  if (n && !e->chunks) return qv__nomem(r->err, "chunk index", (size_t)n * sizeof(nd_chunk_ent));
  bool var = qv__nd_type_var(m->dtype);
  for (uint64_t i = 0; i < n; i++) {
    nd_chunk_ent *c = &e->chunks[i];
    const uint8_t *t = r->p + r->pos;
    c->chunk = qv__load_u64le(t);
    c->offset = qv__load_u64le(t + 8);
    c->stored_len = qv__load_u64le(t + 16);
    c->raw_len = qv__load_u64le(t + 24);
    c->codec = qv__load_u32le(t + 32);
    c->flags = qv__load_u32le(t + 36);
    c->hash = qv__load_u64le(t + 40);
    c->n_fill = qv__load_u64le(t + 48);
    c->min = qv__load_u64le(t + 56);
    c->max = qv__load_u64le(t + 64);
    char what[96];
    snprintf(what, sizeof what, "chunk entry %llu", (unsigned long long)i);
    if (c->chunk >= m->n_chunks) return bad(r, "%s: chunk number outside the grid", what);
    if (i && c->chunk <= e->chunks[i - 1].chunk) return bad(r, "%s: chunk numbers not strictly increasing", what);
    if (c->offset < tl->data_start || c->offset > tl->data_end || c->stored_len > tl->data_end - c->offset)
      return bad(r, "%s: block lies outside the data region", what);
    if (tl->ordered && c->offset == tl->next) tl->next += c->stored_len;
    else tl->ordered = false;
    tl->total += c->stored_len; /* cannot overflow: each block ≤ data_end and the count is bounded */
    if (tl->total > tl->data_end - tl->data_start) return bad(r, "%s: blocks overlap (more block bytes than data)", what);
    uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK];
    uint64_t ne = qv__nd_chunk_extent(m, c->chunk, org, ext);
    if (!var && c->raw_len != ne * m->width) return bad(r, "%s: decoded length does not match the chunk shape", what);
    if (var && (c->raw_len < ne * 4 || c->raw_len > lim->max_chunk_bytes)) {
      if (c->raw_len > lim->max_chunk_bytes)
        return qv_error_set(r->err, QV_E_LIMIT, "footer array '%s': %s: decoded length exceeds the chunk limit", m->name, what);
      return bad(r, "%s: decoded length too small for its lengths", what);
    }
    if (c->flags & ~(ND_CHUNK_HAS_MINMAX | ND_CHUNK_SEG_MASK)) return bad(r, "%s: unknown flags", what);
    unsigned sl = qv__nd_seg_log2(c);
    if (sl && (sl < ND_SEG_MIN_LOG2 || sl > ND_SEG_MAX_LOG2))
      return bad(r, "%s: segment size outside 2^12..2^30", what);
    if (sl && c->raw_len <= (uint64_t)1 << sl) return bad(r, "%s: segmented block of a single segment", what);
    if (sl && c->codec != QV_ND_CODEC_NONE && c->stored_len / 4 < qv__nd_seg_count(c))
      return bad(r, "%s: block shorter than its segment table", what);
    if (c->n_fill > ne) return bad(r, "%s: fill count larger than the chunk", what);
    if (c->codec == QV_ND_CODEC_NONE && c->stored_len != c->raw_len) return bad(r, "%s: uncompressed block length mismatch", what);
    r->pos += ND_CHUNK_ENT_LEN;
  }
  r->ctx = NULL;
  return QV_OK;
}

typedef struct extent {
  uint64_t off, len;
} extent;

static int extent_cmp(const void *a, const void *b) {
  const extent *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

/* Blocks not in footer order (a layer whose chunks were streamed to the store as they were
 * written): sorted by offset they must still tile [data_start, data_end) exactly (§3 check 5). */
static qv_status check_tiling(const nd_layer *l, uint64_t data_end, qv_error *err) {
  size_t n = 0;
  for (size_t i = 0; i < l->n_entries; i++) n += (size_t)l->entries[i].n_chunks;
  const qv_allocator *a = l->arena.alloc;
  extent *x = qv_mem_alloc(a, n * sizeof *x, 0);
  if (!x) return qv__nomem(err, "block extents", n * sizeof *x);
  size_t k = 0;
  for (size_t i = 0; i < l->n_entries; i++)
    for (uint64_t j = 0; j < l->entries[i].n_chunks; j++)
      x[k++] = (extent){l->entries[i].chunks[j].offset, l->entries[i].chunks[j].stored_len};
  qsort(x, n, sizeof *x, extent_cmp);
  uint64_t next = l->data_start;
  qv_status s = QV_OK;
  for (size_t i = 0; i < n && s == QV_OK; i++) {
    if (x[i].off != next)
      s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)next, "layer %llu: blocks %s at offset %llu",
                          (unsigned long long)l->seq, x[i].off < next ? "overlap" : "leave a gap",
                          (unsigned long long)next);
    next = x[i].off + x[i].len;
  }
  if (s == QV_OK && next != data_end)
    s = qv_error_set(err, QV_E_CORRUPT, "layer %llu: blocks end at %llu but the footer starts at %llu",
                     (unsigned long long)l->seq, (unsigned long long)next, (unsigned long long)data_end);
  qv_mem_free(a, x, n * sizeof *x, 0);
  return s;
}

qv_status qv__nd_footer_parse(const uint8_t *p, size_t len, uint64_t seq, uint64_t data_start,
                              uint64_t data_end, const qv_nd_limits *lim, nd_layer *out,
                              qv_error *err) {
  rd r = {p, len, 0, err, NULL};
  uint64_t fseq;
  uint32_t flags, n;
  QV_TRY(get_u64(&r, &fseq, "layer number"));
  QV_TRY(get_u32(&r, &flags, "layer flags"));
  QV_TRY(get_u32(&r, &n, "array count"));
  if (fseq != seq)
    return qv_error_set_at(err, QV_E_CORRUPT, 0, "footer says layer %llu but the object is layer %llu",
                           (unsigned long long)fseq, (unsigned long long)seq);
  if (flags & ~ND_FLAG_BASE) return bad(&r, "%s", "unknown layer flags");
  if (n > lim->max_arrays)
    return qv_error_set(err, QV_E_LIMIT, "footer: %u arrays exceed the limit %llu", n,
                        (unsigned long long)lim->max_arrays);
  if (n > (len - r.pos) / 4) return bad(&r, "%s", "array count exceeds the footer");
  out->seq = seq;
  out->flags = flags;
  out->data_start = data_start;
  out->n_entries = n;
  out->entries = n ? qv__nd_arena_alloc(&out->arena, n * sizeof(nd_entry)) : NULL;
  if (n && !out->entries) return qv__nomem(err, "layer entries", n * sizeof(nd_entry));
  if (data_end < data_start) return bad(&r, "%s", "data region ends before the header");
  tiling tl = {data_start, data_end, data_start, 0, true};
  for (uint32_t i = 0; i < n; i++) {
    QV_TRY(parse_entry(&r, &out->arena, lim, &out->entries[i], &tl));
    if (i && strcmp(out->entries[i - 1].meta.name, out->entries[i].meta.name) >= 0)
      return bad(&r, "array '%s' out of order (names must be strictly increasing)", out->entries[i].meta.name);
    if ((flags & ND_FLAG_BASE) && out->entries[i].kind != ND_KIND_DEFINE)
      return bad(&r, "array '%s': a base layer holds only definitions", out->entries[i].meta.name);
  }
  if (r.pos != len) return bad(&r, "%s", "trailing bytes after the last array");
  if (tl.total != data_end - data_start)
    return qv_error_set(err, QV_E_CORRUPT, "layer %llu: blocks hold %llu bytes but the data region has %llu",
                        (unsigned long long)seq, (unsigned long long)tl.total,
                        (unsigned long long)(data_end - data_start));
  return tl.ordered ? QV_OK : check_tiling(out, data_end, err);
}

qv_status qv__nd_layer_parse_tail(const uint8_t *t, uint64_t size, const qv_nd_limits *lim,
                                  uint64_t *footer_len, uint64_t *footer_hash, qv_error *err) {
  if (size < ND_HEADER_LEN + ND_TRAILER_LEN)
    return qv_error_set(err, QV_E_CORRUPT, "object of %llu bytes is too small for a layer",
                        (unsigned long long)size);
  if (memcmp(t + 32, qv__nd_magic_tail, 8) != 0)
    return qv_error_set_at(err, QV_E_CORRUPT, (int64_t)(size - 8), "trailer magic is wrong (not an ndfile layer, or truncated)");
  if (qv__load_u64le(t + 24) != qv__nd_hash(t, 24))
    return qv_error_set_at(err, QV_E_CORRUPT, (int64_t)(size - ND_TRAILER_LEN), "trailer checksum mismatch");
  uint32_t ver = qv__load_u32le(t + 16);
  if (ver != ND_VERSION)
    return qv_error_set(err, QV_E_UNSUPPORTED, "layer format version %u (this build reads %u)", ver, ND_VERSION);
  if (qv__load_u32le(t + 20) != 0) return qv_error_set(err, QV_E_CORRUPT, "trailer flags are not 0");
  uint64_t fl = qv__load_u64le(t);
  if (fl > size - ND_HEADER_LEN - ND_TRAILER_LEN)
    return qv_error_set(err, QV_E_CORRUPT, "footer length %llu exceeds the object (%llu bytes)",
                        (unsigned long long)fl, (unsigned long long)size);
  if (fl > lim->max_footer_bytes || fl > SIZE_MAX / 2)
    return qv_error_set(err, QV_E_LIMIT, "footer of %llu bytes exceeds the limit %llu",
                        (unsigned long long)fl, (unsigned long long)lim->max_footer_bytes);
  *footer_len = fl;
  *footer_hash = qv__load_u64le(t + 8);
  return QV_OK;
}

typedef struct map_ctx {
  qv_nd_store *st;
  void *token;
  const qv_allocator *a;
} map_ctx;

static void map_release(void *ctx, const void *data, size_t len) {
  (void)data, (void)len;
  map_ctx *m = ctx;
  m->st->unmap(m->st, m->token);
  qv_mem_free(m->a, m, sizeof *m, 0);
}

void qv__nd_layer_free(nd_layer *l) {
  qv_buffer_unref(&l->mapbuf);
  qv__nd_arena_free(&l->arena);
  memset(l, 0, sizeof *l);
}

qv_status qv__nd_layer_load(qv_nd_store *st, const char *path, uint64_t seq,
                            const qv_nd_limits *lim, const qv_allocator *a, nd_layer *out,
                            qv_error *err) {
  char name[4200];
  memset(out, 0, sizeof *out);
  qv__nd_arena_init(&out->arena, a);
  qv__nd_layer_name(name, sizeof name, path, seq);
  uint64_t size;
  uint8_t tr[ND_TRAILER_LEN], hd[ND_DATA_ALIGN];
  uint8_t *foot = NULL;
  uint64_t fl = 0, fh;
  qv_status s;
  QV_TRY_GOTO(s, st->size(st, name, &size, err), fail);
  QV_TRY_GOTO(s, size < ND_HEADER_LEN + ND_TRAILER_LEN
                     ? qv_error_set(err, QV_E_CORRUPT, "object of %llu bytes is too small for a layer", (unsigned long long)size)
                     : QV_OK, fail);
  QV_TRY_GOTO(s, st->read_at(st, name, size - ND_TRAILER_LEN, tr, sizeof tr, err), fail);
  QV_TRY_GOTO(s, qv__nd_layer_parse_tail(tr, size, lim, &fl, &fh, err), fail);
  QV_TRY_GOTO(s, st->read_at(st, name, 0, hd, ND_HEADER_LEN, err), fail);
  uint32_t hflags = qv__load_u32le(hd + 12);
  if (memcmp(hd, qv__nd_magic_head, 8) != 0 || qv__load_u32le(hd + 8) != ND_VERSION ||
      (hflags & ~ND_HEAD_ALIGNED) != 0) {
    s = qv_error_set_at(err, QV_E_CORRUPT, 0, "header is wrong (magic, version or flags)");
    goto fail;
  }
  uint64_t dstart = ND_HEADER_LEN;
  if (hflags & ND_HEAD_ALIGNED) { /* the padding must be there and be zero (§3 check 3) */
    dstart = ND_DATA_ALIGN;
    if (fl > size - ND_TRAILER_LEN || size - ND_TRAILER_LEN - fl < dstart) {
      s = qv_error_set(err, QV_E_CORRUPT, "aligned layer of %llu bytes is too small for its header padding and footer",
                       (unsigned long long)size);
      goto fail;
    }
    QV_TRY_GOTO(s, st->read_at(st, name, ND_HEADER_LEN, hd + ND_HEADER_LEN, ND_DATA_ALIGN - ND_HEADER_LEN, err), fail);
    for (size_t i = ND_HEADER_LEN; i < ND_DATA_ALIGN; i++)
      if (hd[i]) {
        s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)i, "header padding is not zero");
        goto fail;
      }
  }
  foot = qv_mem_alloc(a, fl ? (size_t)fl : 1, 64);
  if (!foot) {
    s = qv__nomem(err, "footer", (size_t)fl);
    goto fail;
  }
  uint64_t fstart = size - ND_TRAILER_LEN - fl;
  QV_TRY_GOTO(s, st->read_at(st, name, fstart, foot, (size_t)fl, err), fail);
  if (qv__nd_hash(foot, (size_t)fl) != fh) {
    s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)fstart, "footer checksum mismatch");
    goto fail;
  }
  QV_TRY_GOTO(s, qv__nd_footer_parse(foot, (size_t)fl, seq, dstart, fstart, lim, out, err), fail);
  out->size = size;
  out->path = qv__nd_arena_strndup(&out->arena, name, strlen(name));
  if (!out->path) {
    s = qv__nomem(err, "layer name", strlen(name));
    goto fail;
  }
  qv_mem_free(a, foot, fl ? (size_t)fl : 1, 64);
  foot = NULL;
  if (st->version >= 2 && st->map && st->unmap) {
    /* Map the checked layer: blocks are then checksummed and decoded in place. A store that
     * cannot map it (QV_E_UNSUPPORTED, or any other failure such as no address space) just
     * leaves it to read_at; an object gone or of another size since it was read is an error. */
    const void *base = NULL;
    void *token = NULL;
    qv_error me;
    qv_error_init(&me);
    s = st->map(st, name, size, &base, &token, &me);
    if (s == QV_OK && base) {
      map_ctx *mc = qv_mem_alloc(a, sizeof *mc, 0);
      if (!mc) {
        st->unmap(st, token);
        s = qv__nomem(err, "layer mapping", sizeof *mc);
        goto fail;
      }
      *mc = (map_ctx){st, token, a};
      s = qv_buffer_wrap(base, (size_t)size, map_release, mc, a, &out->mapbuf, err);
      if (s < 0) goto fail; /* (the wrap released the mapping) */
      out->map = base;
    } else if (s == QV_E_NOTFOUND || s == QV_E_CORRUPT) {
      if (err) *err = me;
      goto fail;
    }
    s = QV_OK;
  }
  return QV_OK;
fail:
  if (foot) qv_mem_free(a, foot, fl ? (size_t)fl : 1, 64);
  qv__nd_layer_free(out);
  qv_error_prefix(err, "layer %llu: ", (unsigned long long)seq);
  return s;
}
