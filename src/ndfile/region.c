/* region.c — ndfile chunk access (checked, decoded, cached or straight into the output) and
 * region reads and writes of fixed-width and variable-length arrays (docs/spec/ndfile.md §5). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndfile/file_int.h"

/* ---- chunk access ---- */

static void chunk_release(qv_nd_file *f, chunk_ref *c) {
  if (c->h.data) qv__nd_cache_release(f->cache, &c->h);
  if (c->owned) qv__nd_raw_free(f->alloc, c->owned, c->len);
  c->owned = NULL;
  c->data = NULL;
}

/* Decodes an encoded pending chunk into a new buffer. */
static qv_status pchunk_decode(qv_nd_file *f, const nd_pchunk *pc, uint8_t **out, qv_error *err) {
  size_t rawn = (size_t)pc->ent.raw_len;
  uint8_t *raw = qv__nd_raw_alloc(f->alloc, rawn);
  if (!raw) return qv__nomem(err, "chunk", rawn);
  qv_status s = qv__nd_block_decode(&pc->ent, pc->raw, raw, err);
  if (s < 0) {
    qv__nd_raw_free(f->alloc, raw, rawn);
    return s;
  }
  *out = raw;
  return QV_OK;
}

typedef struct segsrc segsrc;
static qv_status check_segments(qv_nd_file *f, const nd_chunk_ent *ce, const uint8_t *blk,
                                uint8_t *dst, const segsrc *src, qv_error *err);

qv_status qv__nd_spill_read(qv_nd_file *f, const nd_meta *m, const nd_pchunk *pc, uint8_t *dst,
                            bool stored, qv_error *err) {
  size_t sl = (size_t)pc->ent.stored_len, cap = 0;
  bool plain = stored || pc->ent.codec == QV_ND_CODEC_NONE;
  uint8_t *sbuf = plain ? dst : qv__nd_pool_get(f, sl, &cap);
  if (!sbuf) return qv__nomem(err, "chunk block", sl);
  char cs[200];
  qv_status s = f->spill ? f->store->writer_read_at(f->spill, pc->ent.offset, sbuf, sl, err)
                         : qv_error_set(err, QV_E_STATE, "the unflushed layer is gone");
  if (s == QV_OK && qv__nd_seg_count(&pc->ent) > 1) { /* one pass, on the crew */
    s = check_segments(f, &pc->ent, sbuf, plain ? NULL : dst, NULL, err);
  } else if (s == QV_OK) {
    if (qv__nd_hash(sbuf, sl) != pc->ent.hash)
      s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)pc->ent.offset, "checksum mismatch");
    else if (!plain)
      s = qv__nd_decode(pc->ent.codec, sbuf, sl, dst, (size_t)pc->ent.raw_len, err);
  }
  if (s < 0) {
    qv__nd_coord_str(m, pc->chunk, cs, sizeof cs);
    qv_error_prefix(err, "unflushed block of '%s' chunk %s (read back from the store): ", m->name, cs);
  }
  if (sbuf != dst) qv__nd_pool_put(f, sbuf, cap);
  return s;
}

static qv_status check_var_raw(const uint8_t *raw, size_t len, uint64_t n) {
  if (len / 4 < n) return QV_E_CORRUPT;
  uint64_t total = 0;
  for (uint64_t i = 0; i < n; i++) total += qv__load_u32le(raw + i * 4);
  return total == len - n * 4 ? QV_OK : QV_E_CORRUPT;
}

/* Copies n bytes of a mapped block to dst in pieces of ND_MAP_PIECE: each piece is folded into
 * the checksum straight from the mapping, then copied while it is still in cache — one pass
 * over the block instead of a copy and a checksum pass. (Measured on a 2-core EPYC VM, random
 * 4 MiB chunk reads from the page cache: about 17-19 GB/s against 13-14 for pread + checksum;
 * checksumming the copy instead of the source was about 15-16; pieces of 256 KiB to 1 MiB
 * were equal within the noise, 64 KiB and a whole 4 MiB block slower.) Layers are immutable,
 * so the bytes copied are the bytes checksummed unless someone rewrites a published layer in
 * place, which is outside tampering like truncation (see QV_ND_POSIX_NO_MMAP). */
#define ND_MAP_PIECE ((size_t)256 << 10)
static void copy_hash(nd_hasher *h, uint8_t *dst, const uint8_t *src, size_t n) {
  for (size_t o = 0; o < n; o += ND_MAP_PIECE) {
    size_t k = n - o < ND_MAP_PIECE ? n - o : ND_MAP_PIECE;
    qv__nd_hasher_update(h, src + o, k);
    memcpy(dst + o, src + o, k);
  }
}

/* A hasher for the stored bytes of plain block ce, fed in order (parts of a segmented one). */
static void plain_hasher(nd_hasher *h, const nd_chunk_ent *ce) {
  unsigned sl = qv__nd_seg_count(ce) > 1 ? qv__nd_seg_log2(ce) : 0;
  qv__nd_hasher_init_parts(h, sl ? (uint64_t)1 << sl : 0);
}

/* Prefixes err's message with the block it is about: "layer N block of 'name' chunk (i,j): ";
 * returns s. */
static qv_status block_err(qv_status s, qv_error *err, const nd_layer *L, const nd_meta *m,
                           uint64_t chunk) {
  if (err) {
    char cs[200];
    qv__nd_coord_str(m, chunk, cs, sizeof cs);
    qv_error_prefix(err, "layer %llu block of '%s' chunk %s: ", (unsigned long long)L->seq, m->name, cs);
  }
  return s;
}

/* QV_E_CORRUPT "layer N block of 'name' chunk (i,j): checksum mismatch" at the block's offset. */
static qv_status block_mismatch(qv_error *err, const nd_layer *L, const nd_meta *m,
                                const nd_chunk_ent *ce) {
  qv_error_set_at(err, QV_E_CORRUPT, (int64_t)ce->offset, "checksum mismatch");
  return block_err(QV_E_CORRUPT, err, L, m, ce->chunk);
}

/* ---- segmented blocks: checked and decoded by several threads (spec §5a) ---- */

/* Where the segments of a block not in a mapping are read from: each segment is read by the
 * thread that checks it, into its place in the block buffer (several reads at once, like the
 * ranged reads of an object store). */
struct segsrc {
  qv_nd_store *store;
  const char *path;
  uint64_t offset; /* the block's offset in the object */
  uint8_t *buf;    /* where the block goes (the segrun's blk) */
};

typedef struct segrun {
  const nd_chunk_ent *ce;
  const uint8_t *blk;   /* the stored block (in a mapping or a buffer) */
  uint8_t *dst;         /* the decoded chunk, or NULL: checksums only */
  bool decode_only;     /* second pass of a user codec: the checksums were checked already */
  const uint64_t *offs; /* n + 1 segment offsets in blk */
  uint64_t *dig;        /* the parts' checksums (a compressed block's table first) */
  size_t seg;
  atomic_bool bad;      /* a segment did not decode */
  const segsrc *src;    /* segments still to be read into blk (then blk is writable), or NULL */
  atomic_bool io_taken; /* the first failed read owns io_status/io_err */
  qv_status io_status;
  qv_error io_err;
} segrun;

static void seg_item(void *vc, size_t i) {
  segrun *r = vc;
  const uint8_t *p = r->blk + r->offs[i];
  size_t len = (size_t)(r->offs[i + 1] - r->offs[i]), off = i * r->seg;
  size_t raw = (size_t)r->ce->raw_len, want = raw - off < r->seg ? raw - off : r->seg;
  if (r->src) {
    qv_error e;
    qv_error_init(&e);
    qv_status s = r->src->store->read_at(r->src->store, r->src->path, r->src->offset + r->offs[i],
                                         r->src->buf + r->offs[i], len, &e);
    if (s < 0) {
      if (!atomic_exchange(&r->io_taken, true)) {
        r->io_status = s;
        r->io_err = e;
      }
      return;
    }
  }
  if (r->ce->codec == QV_ND_CODEC_NONE) {
    if (!r->dst || r->dst + off == p) {
      r->dig[i] = qv__nd_hash(p, len);
    } else {
      nd_hasher h;
      qv__nd_hasher_init(&h);
      copy_hash(&h, r->dst + off, p, len);
      r->dig[i] = qv__nd_hasher_digest(&h);
    }
    return;
  }
  if (!r->decode_only) r->dig[i + 1] = qv__nd_hash(p, len);
  if (r->dst && qv__nd_decode(r->ce->codec, p, len, r->dst + off, want, NULL) < 0)
    atomic_store(&r->bad, true);
}

/* Checks the checksum of segmented block blk (stored bytes of ce) and, when dst is not NULL,
 * decodes it into dst (raw_len bytes; blk itself for a plain block read in place), segment by
 * segment on the file's crew: each segment is checksummed and then copied or decoded while it
 * is in cache. lz4 and zstd decode safely whatever the input, so a segment is decoded along
 * with its checksum and a mismatch reported afterwards; a user codec's segments are decoded
 * only after the whole block checked out. QV_E_CORRUPT "checksum mismatch" (at the block's
 * offset) or the decoder's error. */
static qv_status check_segments(qv_nd_file *f, const nd_chunk_ent *ce, const uint8_t *blk,
                                uint8_t *dst, const segsrc *src, qv_error *err) {
  uint64_t n = qv__nd_seg_count(ce), stackv[2 * 65], *offs = stackv;
  size_t need = (size_t)(2 * n + 2) * 8;
  if (n > 64) {
    offs = qv_mem_alloc(f->alloc, need, 0);
    if (!offs) return qv__nomem(err, "segment offsets", need);
  }
  segrun r = {ce, blk, NULL, false, offs, offs + n + 1, (size_t)1 << qv__nd_seg_log2(ce), false,
              src, false, QV_OK, {0}};
  bool builtin = ce->codec <= QV_ND_CODEC_ZSTD;
  qv_status s = qv__nd_seg_offsets(ce, blk, offs, err);
  unsigned t = qv__nd_seg_threads(f, ce->raw_len);
  if (s == QV_OK) {
    bool plain = ce->codec == QV_ND_CODEC_NONE;
    if (!plain) r.dig[0] = qv__nd_hash(blk, (size_t)offs[0]); /* the table */
    r.dst = builtin ? dst : NULL;
    qv__nd_crew_run(f, t, (size_t)n, seg_item, &r);
    if (r.io_status < 0) {
      s = r.io_status;
      if (err) *err = r.io_err;
    } else if (qv__nd_hash_combine(r.dig, (size_t)(plain ? n : n + 1)) != ce->hash) {
      s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)ce->offset, "checksum mismatch");
    }
  }
  if (s == QV_OK && dst && !builtin) {
    r.dst = dst;
    r.decode_only = true;
    r.src = NULL; /* read already */
    qv__nd_crew_run(f, t, (size_t)n, seg_item, &r);
  }
  if (s == QV_OK && atomic_load(&r.bad)) /* again, one segment after another, for the error */
    s = qv__nd_block_decode(ce, blk, dst, err);
  if (s == QV_OK && atomic_load(&r.bad))
    s = qv_error_set(err, QV_E_CORRUPT, "a segment decoded differently on a second attempt");
  if (offs != stackv) qv_mem_free(f->alloc, offs, need, 0);
  return s;
}

/* fetch_block for a segmented block. Not in a mapping, each segment is read by the thread that
 * checks and decodes it (a compressed block's table first, by the caller): the reads run in
 * parallel and every segment is checked while it is in cache. */
static qv_status fetch_segmented(qv_nd_file *f, const nd_layer *L, const nd_chunk_ent *ce,
                                 uint8_t *dst, qv_error *err) {
  size_t stored = (size_t)ce->stored_len, cap = 0;
  if (L->map) return check_segments(f, ce, L->map + ce->offset, dst, NULL, err);
  bool plain = ce->codec == QV_ND_CODEC_NONE;
  uint8_t *sbuf = plain ? dst : qv__nd_pool_get(f, stored, &cap);
  if (!sbuf) return qv__nomem(err, "chunk block", stored);
  segsrc src = {f->store, L->path, ce->offset, sbuf};
  qv_status s = QV_OK;
  if (!plain) /* the table: 4 bytes a segment (the footer parse checked it fits the block) */
    s = f->store->read_at(f->store, L->path, ce->offset, sbuf, (size_t)(4 * qv__nd_seg_count(ce)), err);
  if (s == QV_OK) s = check_segments(f, ce, sbuf, dst, &src, err);
  if (!plain) qv__nd_pool_put(f, sbuf, cap);
  return s;
}

/* fetch_block for a block of one frame. */
static qv_status fetch_frame(qv_nd_file *f, const nd_layer *L, const nd_chunk_ent *ce,
                             uint8_t *dst, qv_error *err) {
  size_t stored = (size_t)ce->stored_len, rawn = (size_t)ce->raw_len, scap = 0;
  uint8_t *sbuf = dst;       /* where read_at puts the block (dst when it is plain) */
  const uint8_t *blk = dst; /* the stored block: sbuf, or in the mapping */
  qv_status s = QV_OK;
  uint64_t hash;
  if (L->map) {
    const uint8_t *src = L->map + ce->offset; /* inside the object: footer parse checked it */
    if (ce->codec != QV_ND_CODEC_NONE) {
      blk = src; /* decoded in place below */
      hash = qv__nd_hash(src, stored);
    } else if (stored <= ND_MAP_PIECE) {
      hash = qv__nd_hash(src, stored);
      memcpy(dst, src, stored);
    } else {
      nd_hasher h;
      qv__nd_hasher_init(&h);
      copy_hash(&h, dst, src, stored);
      hash = qv__nd_hasher_digest(&h);
    }
  } else {
    if (ce->codec != QV_ND_CODEC_NONE) {
      sbuf = qv__nd_pool_get(f, stored, &scap);
      if (!sbuf) return qv__nomem(err, "chunk block", stored);
    }
    s = f->store->read_at(f->store, L->path, ce->offset, sbuf, stored, err);
    hash = s == QV_OK ? qv__nd_hash(sbuf, stored) : 0;
    blk = sbuf;
  }
  if (s == QV_OK && hash != ce->hash) {
    s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)ce->offset, "checksum mismatch");
  } else if (s == QV_OK && ce->codec != QV_ND_CODEC_NONE) {
    s = qv__nd_decode(ce->codec, blk, stored, dst, rawn, err);
    if (s < 0) qv_error_prefix(err, "codec %u: ", ce->codec);
  }
  if (sbuf != dst) qv__nd_pool_put(f, sbuf, scap);
  return s;
}

/* Reads block `ce` of layer L, checks its checksum, and decodes it into dst (exactly raw_len
 * bytes; also checks the value lengths of string/binary chunks). A mapped layer is read from
 * its mapping: a plain block copied and checksummed in one pass, a compressed one checksummed
 * and decoded in place. Errors name the layer, array and chunk. */
static qv_status fetch_block(qv_nd_file *f, const nd_layer *L, const nd_meta *m,
                             const nd_chunk_ent *ce, uint8_t *dst, qv_error *err) {
  qv_status s = qv__nd_seg_count(ce) > 1 ? fetch_segmented(f, L, ce, dst, err)
                                         : fetch_frame(f, L, ce, dst, err);
  if (s == QV_OK && qv__nd_type_var(m->dtype)) {
    uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK];
    if (check_var_raw(dst, (size_t)ce->raw_len, qv__nd_chunk_extent(m, ce->chunk, org, ext)) < 0)
      s = qv_error_set(err, QV_E_CORRUPT, "value lengths do not add up");
  }
  return s < 0 ? block_err(s, err, L, m, ce->chunk) : s;
}

/* Loads, checks and decodes a block of layer L (through the cache). */
qv_status qv__nd_load_block(qv_nd_file *f, nd_cache *cache, const nd_layer *L, const nd_meta *m,
                            const nd_chunk_ent *ce, nd_cached *out, qv_error *err) {
  if (qv__nd_cache_get(cache, L->seq, ce->offset, out)) return QV_OK;
  size_t rawn = (size_t)ce->raw_len;
  uint8_t *raw = qv__nd_raw_alloc(f->alloc, rawn);
  if (!raw) return qv__nomem(err, "chunk", rawn);
  qv_status s = fetch_block(f, L, m, ce, raw, err);
  if (s < 0) {
    qv__nd_raw_free(f->alloc, raw, rawn);
    return s;
  }
  return qv__nd_cache_put(cache, L->seq, ce->offset, raw, rawn, out, err);
}

/* The stored block of chunk c, if any (newest layer first). */
static const nd_chunk_ent *find_stored(const nd_res *r, uint64_t c, const nd_layer **L) {
  for (size_t i = 0; i < r->n_chain; i++) {
    const nd_chunk_ent *ce = qv__nd_entry_chunk(r->chain[i].entry, c);
    if (ce) {
      *L = r->chain[i].layer;
      return ce;
    }
  }
  return NULL;
}

static qv_status get_chunk(qv_nd_file *f, const nd_res *r, uint64_t c, chunk_ref *out,
                           qv_error *err) {
  memset(out, 0, sizeof *out);
  if (r->pend) {
    nd_pchunk *pc = qv__nd_pend_chunk(r->pend, c, NULL);
    if (pc && pc->spilled) {
      size_t rawn = (size_t)pc->ent.raw_len;
      out->owned = qv__nd_raw_alloc(f->alloc, rawn);
      if (!out->owned) return qv__nomem(err, "chunk", rawn);
      out->len = rawn;
      qv_status s = qv__nd_spill_read(f, r->meta, pc, out->owned, false, err);
      if (s < 0) {
        qv__nd_raw_free(f->alloc, out->owned, rawn);
        out->owned = NULL;
        return s;
      }
      out->data = out->owned;
      return QV_OK;
    }
    if (pc && pc->enc && pc->ent.codec != QV_ND_CODEC_NONE) {
      QV_TRY(pchunk_decode(f, pc, &out->owned, err));
      out->data = out->owned;
      out->len = (size_t)pc->ent.raw_len;
      return QV_OK;
    }
    if (pc) {
      out->data = pc->raw;
      out->len = pc->len;
      return QV_OK;
    }
  }
  const nd_layer *L;
  const nd_chunk_ent *ce = find_stored(r, c, &L);
  if (ce) {
    QV_TRY(qv__nd_load_block(f, f->cache, L, r->meta, ce, &out->h, err));
    out->data = out->h.data;
    out->len = out->h.len;
  }
  return QV_OK; /* no block: fill */
}

/* ---- regions ---- */
static qv_status check_region(const nd_meta *m, const uint64_t *start, const uint64_t *shape,
                              uint64_t *nelem, qv_error *err) {
  if (m->rank && (!start || !shape))
    return qv_error_set(err, QV_E_INVALID, "array '%s': start and shape are required", m->name);
  return qv__nd_region_check(m->name, m->rank, m->shape, start, shape, nelem, err);
}

/* Iterates the chunks a region touches; calls fn with chunk number, chunk origin/extent and
 * the intersection (lo = absolute start, cnt = counts). */
typedef qv_status (*chunk_fn)(void *ctx, uint64_t c, const uint64_t *origin, const uint64_t *ext,
                              const uint64_t *lo, const uint64_t *cnt, qv_error *err);

static qv_status for_chunks(const nd_meta *m, const uint64_t *start, const uint64_t *shape,
                            chunk_fn fn, void *ctx, qv_error *err) {
  uint32_t R = m->rank;
  uint64_t c0[QV_ND_MAX_RANK], c1[QV_ND_MAX_RANK], cc[QV_ND_MAX_RANK];
  uint64_t org[QV_ND_MAX_RANK] = {0}, ext[QV_ND_MAX_RANK] = {0}, lo[QV_ND_MAX_RANK] = {0}, cnt[QV_ND_MAX_RANK] = {0};
  for (uint32_t k = 0; k < R; k++) {
    if (shape[k] == 0) return QV_OK;
    c0[k] = start[k] / m->chunk[k];
    c1[k] = (start[k] + shape[k] - 1) / m->chunk[k];
    cc[k] = c0[k];
  }
  for (;;) {
    uint64_t c = 0;
    for (uint32_t k = 0; k < R; k++) {
      c = c * m->grid[k] + cc[k];
      org[k] = cc[k] * m->chunk[k];
      uint64_t left = m->shape[k] - org[k];
      ext[k] = left < m->chunk[k] ? left : m->chunk[k];
      lo[k] = org[k] > start[k] ? org[k] : start[k];
      uint64_t hi = org[k] + ext[k] < start[k] + shape[k] ? org[k] + ext[k] : start[k] + shape[k];
      cnt[k] = hi - lo[k];
    }
    QV_TRY(fn(ctx, c, org, ext, lo, cnt, err));
    uint32_t k = R;
    for (;;) {
      if (k == 0) return QV_OK;
      k--;
      if (++cc[k] <= c1[k]) break;
      cc[k] = c0[k];
    }
  }
}

/* The geometry of chunk c within a region (what for_chunks passes to its callback). */
static void chunk_box(const nd_meta *m, uint64_t c, const uint64_t *start, const uint64_t *shape,
                      uint64_t *org, uint64_t *ext, uint64_t *lo, uint64_t *cnt) {
  qv__nd_chunk_extent(m, c, org, ext);
  for (uint32_t k = 0; k < m->rank; k++) {
    lo[k] = org[k] > start[k] ? org[k] : start[k];
    uint64_t hi = org[k] + ext[k] < start[k] + shape[k] ? org[k] + ext[k] : start[k] + shape[k];
    cnt[k] = hi - lo[k];
  }
}

typedef struct clist {
  uint64_t *v;
  size_t n, cap;
  const qv_allocator *a;
} clist;

static qv_status collect_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                             const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  (void)org, (void)ext, (void)lo, (void)cnt;
  clist *l = vc;
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 64;
    uint64_t *nv = qv_mem_realloc(l->a, l->v, l->cap * 8, nc * 8, 0);
    if (!nv) return qv__nomem(err, "chunk list", nc * 8);
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = c;
  return QV_OK;
}

/* Per-worker scratch of a parallel run (writes gather and encode into it; reads do not use it). */
typedef struct nd_scratch {
  uint8_t *gather, *encbuf;
  size_t gcap, ecap;
} nd_scratch;

/* Item i of a parallel run. Must be thread-safe and touch output disjoint from other items'. */
typedef qv_status (*item_fn)(void *ctx, size_t i, nd_scratch *sc, qv_error *err);

typedef struct par {
  item_fn fn;
  void *ctx;
  size_t n;
  const qv_allocator *alloc;
  pthread_mutex_t mu;
  size_t next;
  qv_status status; /* the first failure stops the others */
  qv_error err;
} par;

static void *par_loop(par *p);

static void *par_worker(void *vp) { /* a started thread */
  qv__nd_parallel_set(true);
  return par_loop(vp);
}

static void *par_loop(par *p) {
  nd_scratch sc = {NULL, NULL, 0, 0};
  for (;;) {
    pthread_mutex_lock(&p->mu);
    size_t i = p->status == QV_OK ? p->next++ : p->n;
    pthread_mutex_unlock(&p->mu);
    if (i >= p->n) break;
    qv_error e;
    qv_error_init(&e);
    qv_status s = p->fn(p->ctx, i, &sc, &e);
    if (s < 0) {
      pthread_mutex_lock(&p->mu);
      if (p->status == QV_OK) {
        p->status = s;
        p->err = e;
      }
      pthread_mutex_unlock(&p->mu);
    }
  }
  if (sc.gather) qv_mem_free(p->alloc, sc.gather, sc.gcap, 64);
  if (sc.encbuf) qv_mem_free(p->alloc, sc.encbuf, sc.ecap, 64);
  return NULL;
}

/* Runs items 0..n-1 over up to t threads, the caller's included (fewer when threads cannot be
 * started); returns the first failure. */
static qv_status run_parallel(const qv_nd_file *f, unsigned t, size_t n, item_fn fn, void *ctx,
                              qv_error *err) {
  par p = {fn, ctx, n, f->alloc, PTHREAD_MUTEX_INITIALIZER, 0, QV_OK, {0}};
  pthread_t th[64];
  unsigned started = 0;
  if (t > n) t = (unsigned)n;
  while (started + 1 < t && pthread_create(&th[started], NULL, par_worker, &p) == 0) started++;
  bool was = qv__nd_parallel_set(started > 0);
  par_loop(&p);
  qv__nd_parallel_set(was);
  for (unsigned i = 0; i < started; i++) pthread_join(th[i], NULL);
  pthread_mutex_destroy(&p.mu);
  if (p.status < 0 && err) *err = p.err;
  return p.status;
}

typedef struct chunks_run {
  const nd_meta *m;
  const uint64_t *start, *shape;
  chunk_fn fn;
  void *ctx;
  const uint64_t *chunks;
} chunks_run;

static qv_status chunk_item(void *vc, size_t i, nd_scratch *sc, qv_error *err) {
  (void)sc;
  chunks_run *r = vc;
  uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK], lo[QV_ND_MAX_RANK], cnt[QV_ND_MAX_RANK];
  chunk_box(r->m, r->chunks[i], r->start, r->shape, org, ext, lo, cnt);
  return r->fn(r->ctx, r->chunks[i], org, ext, lo, cnt, err);
}

/* for_chunks over up to `threads` threads (the caller's included). fn must be thread-safe and
 * touch disjoint output for different chunks. Falls back to one thread for small regions or
 * when threads cannot be started. */
static qv_status for_chunks_par(qv_nd_file *f, const nd_meta *m, const uint64_t *start,
                                const uint64_t *shape, uint64_t bytes, chunk_fn fn, void *ctx,
                                qv_error *err) {
  unsigned t = qv__nd_threads_for(f, bytes);
  if (t <= 1) return for_chunks(m, start, shape, fn, ctx, err);
  clist l = {NULL, 0, 0, f->alloc};
  qv_status s = for_chunks(m, start, shape, collect_one, &l, err);
  if (s == QV_OK && l.n < 2) {
    s = for_chunks(m, start, shape, fn, ctx, err);
  } else if (s == QV_OK) {
    chunks_run r = {m, start, shape, fn, ctx, l.v};
    s = run_parallel(f, t, l.n, chunk_item, &r, err);
  }
  if (l.v) qv_mem_free(f->alloc, l.v, l.cap * 8, 0);
  return s;
}

static void fill_box(uint32_t R, size_t w, const uint8_t *fill, uint8_t *dst,
                     const uint64_t *dshape, const uint64_t *dstart, const uint64_t *cnt) {
  if (R == 0) {
    memcpy(dst, fill, w);
    return;
  }
  uint64_t str[QV_ND_MAX_RANK], idx[QV_ND_MAX_RANK] = {0};
  str[R - 1] = 1;
  for (uint32_t k = R - 1; k-- > 0;) str[k] = str[k + 1] * dshape[k + 1];
  for (uint32_t k = 0; k < R; k++)
    if (!cnt[k]) return;
  bool zero = true;
  for (size_t i = 0; i < w; i++) zero = zero && fill[i] == 0;
  for (;;) {
    uint64_t off = 0;
    for (uint32_t k = 0; k < R; k++) off += (dstart[k] + (k + 1 < R ? idx[k] : 0)) * str[k];
    uint8_t *p = dst + off * w;
    if (zero) memset(p, 0, (size_t)cnt[R - 1] * w);
    else
      for (uint64_t i = 0; i < cnt[R - 1]; i++) memcpy(p + i * w, fill, w);
    uint32_t k = R - 1;
    for (;;) {
      if (k == 0) return;
      k--;
      if (++idx[k] < cnt[k]) break;
      idx[k] = 0;
    }
  }
}

typedef struct rctx {
  qv_nd_file *f;
  nd_res *r;
  const uint64_t *start, *shape;
  uint8_t *out;
  const uint8_t *in;
  bool stream; /* reads: the output is far larger than the caches (see ND_STREAM_MIN) */
} rctx;

/* A region read whose output is at least this large copies chunks into it with cache-bypassing
 * stores, and does not go through the decoded-chunk cache when it exceeds the cache budget
 * (such a scan would only evict everything else). */
#define ND_STREAM_MIN ((size_t)32 << 20)

/* A whole chunk of extent ext inside a row-major region of `shape` (rank R >= 1) as contiguous
 * runs: the innermost dimension merged with the outer ones the region holds whole. Returns
 * the number of runs; *inner is the first merged dimension, *run the elements per run. */
static uint64_t box_runs(uint32_t R, const uint64_t *ext, const uint64_t *shape, uint32_t *inner,
                         uint64_t *run) {
  uint32_t in = R - 1;
  uint64_t r = ext[in], runs = 1;
  while (in > 0 && ext[in] == shape[in]) {
    in--;
    r *= ext[in];
  }
  for (uint32_t k = 0; k < in; k++) runs *= ext[k];
  *inner = in;
  *run = r;
  return runs;
}

/* An uncompressed whole chunk whose rows land apart in the output: read straight into those
 * rows with one scattered read (or copied there from the layer's mapping) and check the
 * checksum over them — no intermediate copy.
 * QV_E_UNSUPPORTED (nothing done) when the shape does not suit (partial chunk, short rows,
 * too many rows). */
static qv_status scatter_block(rctx *x, const nd_layer *L, const nd_chunk_ent *ce,
                               const uint64_t *org, const uint64_t *ext, const uint64_t *cnt,
                               qv_error *err) {
  const nd_meta *m = x->r->meta;
  uint32_t R = m->rank;
  if (R < 2) return QV_E_UNSUPPORTED;
  for (uint32_t k = 0; k < R; k++)
    if (cnt[k] != ext[k]) return QV_E_UNSUPPORTED;
  uint32_t inner;
  uint64_t run, runs = box_runs(R, ext, x->shape, &inner, &run);
  size_t run_bytes = (size_t)run * m->width;
  if (run_bytes < 1024 || runs > 65536 || runs * run_bytes != ce->raw_len) return QV_E_UNSUPPORTED;
  qv_nd_iovec stackv[256], *iov = stackv;
  if (runs > 256) {
    iov = qv_mem_alloc(x->f->alloc, (size_t)runs * sizeof *iov, 0);
    if (!iov) return qv__nomem(err, "read vector", (size_t)runs * sizeof *iov);
  }
  uint64_t ostr[QV_ND_MAX_RANK], idx[QV_ND_MAX_RANK] = {0};
  ostr[R - 1] = 1;
  for (uint32_t k = R - 1; k-- > 0;) ostr[k] = ostr[k + 1] * x->shape[k + 1];
  for (uint64_t i = 0; i < runs; i++) {
    uint64_t off = 0;
    for (uint32_t k = 0; k < R; k++) off += (org[k] - x->start[k] + (k < inner ? idx[k] : 0)) * ostr[k];
    iov[i].base = x->out + off * m->width;
    iov[i].len = run_bytes;
    for (uint32_t k = inner; k-- > 0;) {
      if (++idx[k] < ext[k]) break;
      idx[k] = 0;
    }
  }
  qv_status s = QV_OK;
  nd_hasher h;
  plain_hasher(&h, ce);
  if (L->map) { /* copy the runs out of the mapping, checksumming each piece as it is copied */
    const uint8_t *src = L->map + ce->offset;
    for (uint64_t i = 0; i < runs; i++, src += run_bytes) copy_hash(&h, iov[i].base, src, run_bytes);
  } else {
    s = x->f->store->read_atv(x->f->store, L->path, ce->offset, iov, (size_t)runs, err);
    for (uint64_t i = 0; s == QV_OK && i < runs; i++) qv__nd_hasher_update(&h, iov[i].base, iov[i].len);
  }
  if (s == QV_OK && qv__nd_hasher_digest(&h) != ce->hash) s = block_mismatch(err, L, m, ce);
  else if (s < 0) block_err(s, err, L, m, ce->chunk);
  if (iov != stackv) qv_mem_free(x->f->alloc, iov, (size_t)runs * sizeof *iov, 0);
  return s;
}

/* A plain block of a mapped layer into a large (streamed) output: in bands of about
 * ND_MAP_PIECE along dimension 0, each band is checksummed from the mapping and its part of the
 * box then streamed into the output while cached — no intermediate buffer. */
static qv_status stream_mapped(rctx *x, const nd_layer *L, const nd_chunk_ent *ce,
                               const uint64_t *ext, const uint64_t *src_start,
                               const uint64_t *dst_start, const uint64_t *cnt, qv_error *err) {
  const nd_meta *m = x->r->meta;
  uint32_t R = m->rank;
  const uint8_t *blk = L->map + ce->offset;
  size_t row = m->width; /* bytes per index of dimension 0 */
  for (uint32_t k = 1; k < R; k++) row *= (size_t)ext[k];
  uint64_t rows = ext[0], band = row < ND_MAP_PIECE ? ND_MAP_PIECE / row : 1;
  nd_hasher h;
  plain_hasher(&h, ce);
  for (uint64_t b0 = 0; b0 < rows; b0 += band) {
    uint64_t b1 = rows - b0 < band ? rows : b0 + band;
    const uint8_t *p = blk + b0 * row;
    qv__nd_hasher_update(&h, p, (size_t)(b1 - b0) * row);
    uint64_t lo = src_start[0] > b0 ? src_start[0] : b0;
    uint64_t hi = src_start[0] + cnt[0] < b1 ? src_start[0] + cnt[0] : b1;
    if (lo >= hi) continue;
    uint64_t bshape[QV_ND_MAX_RANK], ss[QV_ND_MAX_RANK], ds[QV_ND_MAX_RANK], bc[QV_ND_MAX_RANK];
    for (uint32_t k = 0; k < R; k++) {
      bshape[k] = ext[k];
      ss[k] = src_start[k];
      ds[k] = dst_start[k];
      bc[k] = cnt[k];
    }
    bshape[0] = b1 - b0;
    ss[0] = lo - b0;
    ds[0] = dst_start[0] + (lo - src_start[0]);
    bc[0] = hi - lo;
    qv__nd_copy_box_stream(R, m->width, p, bshape, ss, x->out, x->shape, ds, bc);
  }
  return qv__nd_hasher_digest(&h) == ce->hash ? QV_OK : block_mismatch(err, L, m, ce);
}

static qv_status read_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                          const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  rctx *x = vc;
  const nd_meta *m = x->r->meta;
  uint64_t src_start[QV_ND_MAX_RANK], dst_start[QV_ND_MAX_RANK];
  for (uint32_t k = 0; k < m->rank; k++) {
    src_start[k] = lo[k] - org[k];
    dst_start[k] = lo[k] - x->start[k];
  }
  bool direct = true;
  for (uint32_t k = 0; k < m->rank && direct; k++)
    direct = cnt[k] == ext[k] && (k == 0 || x->shape[k] == ext[k]);
  /* A chunk the cache would not keep (too big for its budget) bypasses it: decoded straight
   * into the output when it lands there contiguously, else into a reused pool buffer. */
  bool pending = x->r->pend && qv__nd_pend_chunk(x->r->pend, c, NULL);
  const nd_layer *L;
  const nd_chunk_ent *ce = pending ? NULL : find_stored(x->r, c, &L);
  size_t budget = qv__nd_cache_budget(x->f->cache);
  if (ce && (ce->raw_len / 4 >= budget || x->stream)) {
    nd_cached h;
    if (!qv__nd_cache_get(x->f->cache, L->seq, ce->offset, &h)) {
      if (direct) {
        uint64_t off = 0;
        for (uint32_t k = 0; k < m->rank; k++) off = off * x->shape[k] + dst_start[k];
        return fetch_block(x->f, L, m, ce, x->out + off * m->width, err);
      }
      /* (a large output is served better by one read into a cached buffer and a streamed
       * copy than by a scattered read into lines that must be fetched before being written) */
      if (ce->codec == QV_ND_CODEC_NONE && L->map && x->stream && m->rank)
        return stream_mapped(x, L, ce, ext, src_start, dst_start, cnt, err);
      if (ce->codec == QV_ND_CODEC_NONE && (L->map || x->f->store->read_atv) && !x->stream) {
        qv_status s = scatter_block(x, L, ce, org, ext, cnt, err);
        if (s != QV_E_UNSUPPORTED) return s;
      }
      size_t cap;
      uint8_t *tmp = qv__nd_pool_get(x->f, (size_t)ce->raw_len, &cap);
      if (!tmp) return qv__nomem(err, "chunk", (size_t)ce->raw_len);
      qv_status s = fetch_block(x->f, L, m, ce, tmp, err);
      if (s == QV_OK && x->stream)
        qv__nd_copy_box_stream(m->rank, m->width, tmp, ext, src_start, x->out, x->shape, dst_start, cnt);
      else if (s == QV_OK)
        qv__nd_copy_box(m->rank, m->width, tmp, ext, src_start, x->out, x->shape, dst_start, cnt);
      qv__nd_pool_put(x->f, tmp, cap);
      return s;
    }
    qv__nd_cache_release(x->f->cache, &h);
  }
  chunk_ref cr;
  QV_TRY(get_chunk(x->f, x->r, c, &cr, err));
  if (!cr.data)
    fill_box(m->rank, m->width, m->fill, x->out, x->shape, dst_start, cnt);
  else
    qv__nd_copy_box(m->rank, m->width, cr.data, ext, src_start, x->out, x->shape, dst_start, cnt);
  chunk_release(x->f, &cr);
  return QV_OK;
}

static const uint64_t zero_dims[1] = {0};

qv_status qv_nd_read(qv_nd_file *f, const char *name, const uint64_t *start,
                     const uint64_t *shape, void *out, size_t len, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  uint64_t n = 0;
  qv_status s = qv__nd_resolve(f, name, &r, err);
  if (s == QV_OK && qv__nd_type_var(r.meta->dtype))
    s = qv_error_set(err, QV_E_TYPE, "array '%s' holds variable-length values: use qv_nd_read_var", name);
  if (s == QV_OK) s = check_region(r.meta, start, shape, &n, err);
  if (s == QV_OK && (n > SIZE_MAX / r.meta->width || n * r.meta->width != len))
    s = qv_error_set(err, QV_E_INVALID, "array '%s': region needs %llu bytes, buffer has %zu", name,
                     (unsigned long long)(n * r.meta->width), len);
  if (s == QV_OK) {
    if (!r.meta->rank) start = shape = zero_dims;
    rctx x = {f, &r, start, shape, out, NULL, false};
    /* a scan bigger than the cache budget bypasses the cache (it would only evict it) */
    x.stream = len >= ND_STREAM_MIN && len > qv__nd_cache_budget(f->cache);
    s = for_chunks_par(f, r.meta, start, shape, len, read_one, &x, err);
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}

qv_status qv__nd_chunk_view(qv_nd_file *f, const char *name, const uint64_t *start,
                            const uint64_t *shape, qv_buffer *out, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  qv_status s = qv__nd_resolve(f, name, &r, err);
  const nd_meta *m = s == QV_OK ? r.meta : NULL;
  uint64_t c = 0, nelem;
  /* the region is the caller's: in range before it picks a chunk (a start past the end would
   * otherwise name another chunk of the grid) */
  if (s == QV_OK) s = check_region(m, start, shape, &nelem, err);
  if (s == QV_OK && (qv__nd_type_var(m->dtype) || m->dtype.type == QV_ND_BOOL || !m->rank)) s = QV_E_UNSUPPORTED;
  for (uint32_t k = 0; s == QV_OK && k < m->rank; k++) { /* exactly one chunk, whole */
    uint64_t i = start[k] / m->chunk[k], org = i * m->chunk[k];
    uint64_t ext = m->shape[k] - org < m->chunk[k] ? m->shape[k] - org : m->chunk[k];
    if (start[k] != org || shape[k] != ext) s = QV_E_UNSUPPORTED;
    c = c * m->grid[k] + i;
  }
  const nd_layer *L = NULL;
  const nd_chunk_ent *ce = NULL;
  if (s == QV_OK && r.pend && qv__nd_pend_chunk(r.pend, c, NULL)) s = QV_E_UNSUPPORTED;
  if (s == QV_OK) ce = find_stored(&r, c, &L);
  if (s == QV_OK && (!ce || !L->map || ce->codec != QV_ND_CODEC_NONE ||
                     (uintptr_t)(L->map + ce->offset) % m->width != 0))
    s = QV_E_UNSUPPORTED;
  if (s == QV_OK && qv__nd_seg_count(ce) > 1) {
    s = check_segments(f, ce, L->map + ce->offset, NULL, NULL, err);
    if (s < 0) block_err(s, err, L, m, ce->chunk);
  } else if (s == QV_OK && qv__nd_hash(L->map + ce->offset, (size_t)ce->stored_len) != ce->hash) {
    s = block_mismatch(err, L, m, ce);
  }
  if (s == QV_OK) s = qv_buffer_slice(&L->mapbuf, (size_t)ce->offset, (size_t)ce->stored_len, out, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

/* ---- writes ---- */

/* Makes sure chunk c has a decoded pending buffer; loads the current content unless `whole`
 * (then *fresh is set: the buffer is uninitialised until the write fills it). */
/* Inserts pending chunk c (raw, len: ownership taken — freed on failure) at sorted position
 * pos of p, growing the list by doubling. */
static qv_status pend_insert(qv_nd_file *f, nd_pend *p, size_t pos, uint64_t c, uint8_t *raw,
                             size_t len, qv_error *err) {
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 8;
    nd_pchunk *np = qv_mem_realloc(f->alloc, p->chunks, p->cap * sizeof *np, nc * sizeof *np, 0);
    if (!np) {
      qv__nd_raw_free(f->alloc, raw, len);
      return qv__nomem(err, "pending chunks", nc * sizeof *np);
    }
    p->chunks = np;
    p->cap = nc;
  }
  memmove(p->chunks + pos + 1, p->chunks + pos, (p->n - pos) * sizeof *p->chunks);
  p->chunks[pos] = (nd_pchunk){.chunk = c, .raw = raw, .len = len};
  p->n++;
  return QV_OK;
}

static qv_status ensure_pchunk(qv_nd_file *f, nd_res *r, uint64_t c, bool whole, bool *fresh,
                               nd_pchunk **out, qv_error *err) {
  size_t pos;
  nd_pchunk *pc = qv__nd_pend_chunk(r->pend, c, &pos);
  if (pc && pc->spilled) { /* back into memory for a partial update; the spilled block dies */
    size_t rawn = (size_t)pc->ent.raw_len;
    uint8_t *raw = qv__nd_raw_alloc(f->alloc, rawn);
    if (!raw) return qv__nomem(err, "chunk", rawn);
    qv_status s = qv__nd_spill_read(f, r->meta, pc, raw, false, err);
    if (s < 0) {
      qv__nd_raw_free(f->alloc, raw, rawn);
      return s;
    }
    qv__nd_pchunk_free(f, pc);
    pc->raw = raw;
    pc->len = rawn;
    pc->enc = false;
    f->pending_bytes += rawn;
  } else if (pc && pc->enc && pc->ent.codec == QV_ND_CODEC_NONE) {
    pc->enc = false; /* a plain block is its decoded form: statistics and checksum redone at flush */
  } else if (pc && pc->enc) { /* back to decoded form for a partial update */
    uint8_t *raw = NULL;
    QV_TRY(pchunk_decode(f, pc, &raw, err));
    f->pending_bytes -= pc->len;
    qv__nd_raw_free(f->alloc, pc->raw, pc->len);
    pc->raw = raw;
    pc->len = (size_t)pc->ent.raw_len;
    pc->enc = false;
    f->pending_bytes += pc->len;
  }
  if (pc) {
    *out = pc;
    return QV_OK;
  }
  const nd_meta *m = r->meta;
  uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK];
  uint64_t ne = qv__nd_chunk_extent(m, c, org, ext);
  size_t len = (size_t)ne * m->width;
  uint8_t *raw = qv__nd_raw_alloc(f->alloc, len);
  if (!raw) return qv__nomem(err, "chunk", len);
  if (whole) *fresh = true;
  if (!whole) {
    chunk_ref cr;
    qv_status s = get_chunk(f, r, c, &cr, err);
    if (s < 0) {
      qv__nd_raw_free(f->alloc, raw, len);
      return s;
    }
    if (cr.data) memcpy(raw, cr.data, len);
    else {
      uint64_t z[QV_ND_MAX_RANK] = {0};
      fill_box(m->rank, m->width, m->fill, raw, ext, z, ext);
    }
    chunk_release(f, &cr);
  }
  nd_pend *p = r->pend;
  QV_TRY(pend_insert(f, p, pos, c, raw, len, err));
  f->pending_bytes += len;
  *out = &p->chunks[pos];
  return QV_OK;
}

/* Grows a scratch buffer (64-aligned). */
static qv_status scratch(qv_nd_file *f, uint8_t **buf, size_t *cap, size_t n, qv_error *err) {
  if (n <= *cap) return QV_OK;
  if (*buf) qv_mem_free(f->alloc, *buf, *cap, 64);
  *buf = qv_mem_alloc(f->alloc, n, 64);
  *cap = *buf ? n : 0;
  return *buf ? QV_OK : qv__nomem(err, "write buffer", n);
}

/* Copies a whole chunk of extent ext (at src_start of the region input) into dst (the chunk,
 * row-major over ext) in bands of about 64 KiB along dimension 0, folding the
 * statistics — and the checksum when h is not NULL — of each band while it is still in cache:
 * one pass over the input instead of copy + statistics + checksum passes. */
static void gather_band(const nd_meta *m, const uint8_t *in, const uint64_t *in_shape,
                        const uint64_t *src_start, uint8_t *dst, const uint64_t *ext,
                        nd_chunk_ent *ent, nd_hasher *h) {
  uint32_t R = m->rank;
  size_t w = m->width;
  uint64_t inner = 1; /* elements per index of dimension 0 (rank 0: the one element) */
  for (uint32_t k = 1; k < R; k++) inner *= ext[k];
  uint64_t rows = R ? ext[0] : 1, band = 1;
  if (inner * w < 65536) band = 65536 / (inner * w);
  nd_chunk_ent seg;
  for (uint64_t r0 = 0; r0 < rows; r0 += band) {
    uint64_t b = rows - r0 < band ? rows - r0 : band;
    uint8_t *p = dst + (size_t)(r0 * inner) * w;
    if (R == 0) {
      memcpy(p, in, w);
    } else {
      uint64_t ss[QV_ND_MAX_RANK], ds[QV_ND_MAX_RANK] = {0}, cnt[QV_ND_MAX_RANK];
      for (uint32_t k = 0; k < R; k++) {
        ss[k] = src_start[k];
        cnt[k] = ext[k];
      }
      ss[0] += r0;
      ds[0] = r0;
      cnt[0] = b;
      qv__nd_copy_box(R, w, in, in_shape, ss, dst, ext, ds, cnt);
    }
    size_t len = (size_t)(b * inner) * w;
    qv__nd_chunk_stats(m, p, len, b * inner, &seg);
    qv__nd_chunk_stats_merge(m, ent, &seg);
    if (h) qv__nd_hasher_update(h, p, len);
  }
}

/* Blocks at least this long are streamed to the next layer as they are written (spec §2a)
 * instead of being held in memory until the flush; smaller ones are not worth a store call. */
#define ND_SPILL_MIN ((size_t)64 << 10)

/* Per-chunk plan of one write: staged blocks are installed only once every chunk the write
 * touches is ready, so a failed write changes nothing (a block already streamed to the next
 * layer is then simply never referenced: flush rewrites that layer without it). */
typedef struct wstage {
  uint64_t chunk;
  uint8_t *enc; /* staged block held in memory, or NULL */
  size_t len;
  bool spilled; /* staged block streamed to the spill writer at ent.offset */
  nd_chunk_ent ent;
  bool fresh;    /* a pending buffer created uninitialised by this write */
  bool want_enc; /* parallel mode: to be encoded by encode_staged */
} wstage;

typedef struct wctx {
  rctx x;
  wstage *st;
  size_t n, i;
  bool defer; /* parallel mode: whole chunks are only marked here, encoded by encode_staged */
  uint64_t bytes; /* the write's input size */
} wctx;

static bool spill_possible(const qv_nd_file *f) {
  return f->store->version >= 2 && f->store->writer_read_at != NULL;
}

/* Appends a finished block to the spill writer (opening it, header first, for the next layer
 * on first use) and records its place in st. Safe from parallel encoders. On failure nothing
 * is recorded and spilling stops for this layer: the caller keeps the block in memory, and
 * the flush rewrites the layer from what it can read back. */
static qv_status spill_blockv(qv_nd_file *f, wstage *st, const qv_nd_iovec *iov, size_t n,
                              size_t len) {
  qv_status s = QV_OK;
  pthread_mutex_lock(&f->spill_mu);
  if (f->spill_broken) s = QV_E_IO;
  if (s == QV_OK && !f->spill) {
    char name[4200];
    uint8_t hd[ND_DATA_ALIGN];
    f->spill_seq = qv__nd_top_seq(f) + 1;
    qv__nd_layer_name(name, sizeof name, f->path, f->spill_seq);
    /* streamed blocks are large: a page-aligned layer (qv__nd_spill_dead counts on it) */
    size_t hl = qv__nd_header(hd, true);
    s = f->store->writer_open(f->store, name, &f->spill, NULL);
    if (s == QV_OK) {
      f->spill_off = 0;
      s = f->store->writer_append(f->spill, hd, hl, NULL);
      if (s == QV_OK) f->spill_off = hl;
    }
  }
  if (s == QV_OK)
    s = n == 1 ? f->store->writer_append(f->spill, iov[0].base, iov[0].len, NULL)
               : f->store->writer_appendv(f->spill, iov, n, NULL);
  if (s == QV_OK) {
    st->ent.offset = f->spill_off;
    st->spilled = true;
    f->spill_off += len;
  } else {
    f->spill_broken = true;
  }
  pthread_mutex_unlock(&f->spill_mu);
  return s;
}

static qv_status spill_block(qv_nd_file *f, wstage *st, const uint8_t *blk, size_t len) {
  qv_nd_iovec v = {(void *)(uintptr_t)blk, len};
  return spill_blockv(f, st, &v, 1, len);
}

/* Starts the checksum of a whole plain chunk of rawn bytes that this handle writes: over its
 * parts when the handle segments a chunk that large (spec §5a). */
static void plain_write_hasher(const qv_nd_file *f, size_t rawn, nd_hasher *h) {
  unsigned sl = qv__nd_seg_for(f->seg_log2, rawn);
  qv__nd_hasher_init_parts(h, sl ? (uint64_t)1 << sl : 0);
}

/* Completes st->ent (statistics already folded in) for a whole plain chunk of rawn bytes that
 * h, from plain_write_hasher, has seen in full; the segment bits follow h's part size. */
static void plain_ent(wstage *st, size_t rawn, nd_hasher *h) {
  st->ent.chunk = st->chunk;
  st->ent.raw_len = rawn;
  st->ent.stored_len = rawn;
  st->ent.codec = QV_ND_CODEC_NONE;
  if (h->part) st->ent.flags |= (uint32_t)__builtin_ctzll(h->part) << ND_CHUNK_SEG_SHIFT;
  st->ent.hash = qv__nd_hasher_digest(h);
}

/* A whole uncompressed chunk whose rows are long runs in the input: statistics and checksum
 * over the runs in place, then the runs streamed to the next layer in one vectored append —
 * no copy in user space at all. QV_E_UNSUPPORTED (nothing done) when the shape does not suit
 * (short runs) or the store has no vectored append; another error when the append failed
 * (the caller then keeps a copy in memory). */
static qv_status stage_direct(rctx *x, wstage *st, const uint64_t *src_start, const uint64_t *ext,
                              size_t rawn, qv_error *err) {
  qv_nd_file *f = x->f;
  const nd_meta *m = x->r->meta;
  uint32_t R = m->rank;
  if (R < 2 || !f->store->writer_appendv) return QV_E_UNSUPPORTED;
  uint32_t inner;
  uint64_t run, runs = box_runs(R, ext, x->shape, &inner, &run);
  size_t run_bytes = (size_t)run * m->width;
  if (run_bytes < 2048 || runs > 65536 || runs < 2) return QV_E_UNSUPPORTED;
  qv_nd_iovec *iov = qv_mem_alloc(f->alloc, (size_t)runs * sizeof *iov, 0);
  if (!iov) return qv__nomem(err, "write vector", (size_t)runs * sizeof *iov);
  uint64_t istr[QV_ND_MAX_RANK], idx[QV_ND_MAX_RANK] = {0};
  istr[R - 1] = 1;
  for (uint32_t k = R - 1; k-- > 0;) istr[k] = istr[k + 1] * x->shape[k + 1];
  nd_hasher h;
  plain_write_hasher(f, rawn, &h);
  nd_chunk_ent seg;
  for (uint64_t i = 0; i < runs; i++) {
    uint64_t off = 0;
    for (uint32_t k = 0; k < R; k++) off += (src_start[k] + (k < inner ? idx[k] : 0)) * istr[k];
    const uint8_t *p = x->in + off * m->width;
    iov[i].base = (void *)(uintptr_t)p;
    iov[i].len = run_bytes;
    qv__nd_chunk_stats(m, p, run_bytes, run, &seg);
    qv__nd_chunk_stats_merge(m, &st->ent, &seg);
    qv__nd_hasher_update(&h, p, run_bytes);
    for (uint32_t k = inner; k-- > 0;) {
      if (++idx[k] < ext[k]) break;
      idx[k] = 0;
    }
  }
  plain_ent(st, rawn, &h);
  qv_status s = spill_blockv(f, st, iov, (size_t)runs, rawn);
  qv_mem_free(f->alloc, iov, (size_t)runs * sizeof *iov, 0);
  if (s < 0) memset(&st->ent, 0, sizeof st->ent); /* the caller starts over with a gather */
  return s;
}

/* Keeps a staged block (blk, len: not owned) in memory: an exactly sized copy in st->enc. */
static qv_status stage_copy(qv_nd_file *f, wstage *st, const uint8_t *blk, size_t len,
                            qv_error *err) {
  uint8_t *b = qv__nd_raw_alloc(f->alloc, len);
  if (!b) return qv__nomem(err, "encoded chunk", len);
  if (len) memcpy(b, blk, len);
  st->enc = b;
  st->len = len;
  return QV_OK;
}

/* Encodes decoded chunk raw (statistics already in st->ent) and stages the block: streamed
 * to the next layer when it is large, else copied into memory. */
static qv_status encode_chunk(qv_nd_file *f, uint8_t **encbuf, size_t *ecap, const nd_meta *m,
                              wstage *st, const uint8_t *raw, size_t rawn, qv_error *err) {
  nd_chunk_ent *ent = &st->ent;
  ent->chunk = st->chunk;
  unsigned sl = qv__nd_seg_for(f->seg_log2, rawn);
  size_t bound = qv__nd_block_bound(m->codec, sl, rawn, err);
  if (!bound) return err ? err->code : QV_E_INVALID;
  QV_TRY(scratch(f, encbuf, ecap, bound, err));
  const uint8_t *src;
  QV_TRY(qv__nd_block_encode(m->codec, m->level, sl, raw, rawn, *encbuf, *ecap, ent, &src, err));
  size_t blen = (size_t)ent->stored_len;
  if (blen >= ND_SPILL_MIN && spill_possible(f) && spill_block(f, st, src, blen) == QV_OK) return QV_OK;
  return stage_copy(f, st, src, blen, err);
}

/* Gathers whole chunk `st->chunk` from the input and encodes it into st (scratch per caller). */
static qv_status stage_encode(wctx *w, wstage *st, uint8_t **gather, size_t *gcap,
                              uint8_t **encbuf, size_t *ecap, qv_error *err) {
  rctx *x = &w->x;
  qv_nd_file *f = x->f;
  const nd_meta *m = x->r->meta;
  uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK], lo[QV_ND_MAX_RANK], cnt[QV_ND_MAX_RANK];
  chunk_box(m, st->chunk, x->start, x->shape, org, ext, lo, cnt);
  uint64_t ne = 1, src_start[QV_ND_MAX_RANK];
  for (uint32_t k = 0; k < m->rank; k++) {
    ne *= ext[k];
    src_start[k] = lo[k] - x->start[k];
  }
  size_t rawn = (size_t)ne * m->width;
  memset(&st->ent, 0, sizeof st->ent);
  if (m->codec == QV_ND_CODEC_NONE) { /* the gathered chunk is the block: copied once */
    bool spill = rawn >= ND_SPILL_MIN && spill_possible(f);
    if (spill) {
      qv_status d = stage_direct(x, st, src_start, ext, rawn, err);
      if (d == QV_OK || d == QV_E_NOMEM) return d;
    }
    uint8_t *b;
    if (spill) {
      QV_TRY(scratch(f, gather, gcap, rawn, err));
      b = *gather;
    } else {
      b = qv__nd_raw_alloc(f->alloc, rawn);
      if (!b) return qv__nomem(err, "chunk", rawn);
    }
    nd_hasher h;
    plain_write_hasher(f, rawn, &h);
    gather_band(m, x->in, x->shape, src_start, b, ext, &st->ent, &h);
    plain_ent(st, rawn, &h);
    if (!spill) {
      st->enc = b;
      st->len = rawn;
      return QV_OK;
    }
    if (spill_block(f, st, b, rawn) == QV_OK) return QV_OK;
    return stage_copy(f, st, b, rawn, err);
  }
  QV_TRY(scratch(f, gather, gcap, rawn ? rawn : 1, err));
  gather_band(m, x->in, x->shape, src_start, *gather, ext, &st->ent, NULL);
  return encode_chunk(f, encbuf, ecap, m, st, *gather, rawn, err);
}

static qv_status enc_item(void *vc, size_t i, nd_scratch *sc, qv_error *err) {
  wctx *w = vc;
  wstage *st = &w->st[i];
  if (!st->want_enc) return QV_OK;
  return stage_encode(w, st, &sc->gather, &sc->gcap, &sc->encbuf, &sc->ecap, err);
}

/* Encodes the marked whole chunks of a write over opts.threads threads. */
static qv_status encode_staged(wctx *w, qv_error *err) {
  return run_parallel(w->x.f, qv__nd_threads_for(w->x.f, w->bytes), w->n, enc_item, w, err);
}

static qv_status prep_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                          const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  (void)org;
  wctx *w = vc;
  rctx *x = &w->x;
  const nd_meta *m = x->r->meta;
  wstage *st = &w->st[w->i++];
  st->chunk = c;
  bool whole = true;
  for (uint32_t k = 0; k < m->rank; k++) whole = whole && cnt[k] == ext[k];
  (void)lo;
  if (whole) { /* encoded (or, plain, checksummed) now; installed by write_one */
    if (w->defer) {
      st->want_enc = true;
      return QV_OK;
    }
    return stage_encode(w, st, &x->f->gather, &x->f->gcap, &x->f->encbuf, &x->f->ecap, err);
  }
  nd_pchunk *pc;
  return ensure_pchunk(x->f, x->r, c, whole, &st->fresh, &pc, err);
}

static qv_status write_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                           const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  (void)err;
  wctx *w = vc;
  rctx *x = &w->x;
  wstage *st = &w->st[w->i++];
  const nd_meta *m = x->r->meta;
  nd_pend *p = x->r->pend;
  size_t pos;
  nd_pchunk *pc = qv__nd_pend_chunk(p, c, &pos);
  if (st->enc || st->spilled) { /* install the staged block (room was reserved) */
    if (pc) {
      x->f->pending_bytes -= pc->len;
      qv__nd_pchunk_free(x->f, pc);
    } else {
      memmove(p->chunks + pos + 1, p->chunks + pos, (p->n - pos) * sizeof *p->chunks);
      p->n++;
      pc = &p->chunks[pos];
    }
    *pc = (nd_pchunk){c, st->enc, st->len, true, st->spilled, st->ent};
    x->f->pending_bytes += st->len;
    if (st->spilled) x->f->spill_live += st->ent.stored_len;
    st->enc = NULL;
    st->spilled = false;
    return QV_OK;
  }
  uint64_t src_start[QV_ND_MAX_RANK], dst_start[QV_ND_MAX_RANK];
  for (uint32_t k = 0; k < m->rank; k++) {
    src_start[k] = lo[k] - x->start[k];
    dst_start[k] = lo[k] - org[k];
  }
  qv__nd_copy_box(m->rank, m->width, x->in, x->shape, src_start, pc->raw, ext, dst_start, cnt);
  return QV_OK;
}

/* Undoes the preparation of a failed write: staged blocks and uninitialised buffers go. */
static void unstage(qv_nd_file *f, nd_pend *p, wstage *st, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (st[i].enc) qv__nd_raw_free(f->alloc, st[i].enc, st[i].len);
    size_t pos;
    nd_pchunk *pc = st[i].fresh ? qv__nd_pend_chunk(p, st[i].chunk, &pos) : NULL;
    if (pc) {
      f->pending_bytes -= pc->len;
      qv__nd_raw_free(f->alloc, pc->raw, pc->len);
      memmove(p->chunks + pos, p->chunks + pos + 1, (p->n - pos - 1) * sizeof *p->chunks);
      p->n--;
    }
  }
}

qv_status qv_nd_write(qv_nd_file *f, const char *name, const uint64_t *start,
                      const uint64_t *shape, const void *data, size_t len, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  nd_res r;
  uint64_t n = 0;
  qv_status s = qv__nd_check_writable(f, err);
  if (s == QV_OK) s = qv__nd_resolve(f, name, &r, err);
  if (s == QV_OK && qv__nd_type_var(r.meta->dtype))
    s = qv_error_set(err, QV_E_TYPE, "array '%s' holds variable-length values: use qv_nd_write_var", name);
  if (s == QV_OK) s = check_region(r.meta, start, shape, &n, err);
  if (s == QV_OK && (n > SIZE_MAX / r.meta->width || n * r.meta->width != len))
    s = qv_error_set(err, QV_E_INVALID, "array '%s': region needs %llu bytes, %zu given", name,
                     (unsigned long long)(n * r.meta->width), len);
  if (s == QV_OK) s = qv__nd_pend_for_update(f, name, &r, err);
  if (s == QV_OK && n) {
    if (!r.meta->rank) start = shape = zero_dims;
    /* chunks touched: at most the chunk count, and at most the elements written */
    uint64_t t = 1;
    for (uint32_t k = 0; k < r.meta->rank; k++)
      t *= (start[k] + shape[k] - 1) / r.meta->chunk[k] - start[k] / r.meta->chunk[k] + 1;
    wctx w = {{f, &r, start, shape, NULL, data, false}, NULL, (size_t)t, 0, false, len};
    w.defer = qv__nd_threads_for(f, len) > 1 && t > 1;
    nd_pend *p = r.pend;
    w.st = qv_mem_calloc(f->alloc, w.n * sizeof *w.st, 0);
    if (!w.st) s = qv__nomem(err, "write plan", w.n * sizeof *w.st);
    if (s == QV_OK && p->cap - p->n < w.n) { /* reserve: installing never allocates */
      size_t nc = p->n + w.n;
      nd_pchunk *np = qv_mem_realloc(f->alloc, p->chunks, p->cap * sizeof *np, nc * sizeof *np, 0);
      if (!np) s = qv__nomem(err, "pending chunks", nc * sizeof *np);
      else {
        p->chunks = np;
        p->cap = nc;
      }
    }
    if (s == QV_OK) s = for_chunks(r.meta, start, shape, prep_one, &w, err);
    if (s == QV_OK && w.defer) {
      s = encode_staged(&w, err);
      if (s < 0) w.i = w.n; /* unstage everything prepared */
    }
    if (s == QV_OK) {
      w.i = 0;
      s = for_chunks(r.meta, start, shape, write_one, &w, err);
    } else if (w.st) {
      unstage(f, p, w.st, w.i);
    }
    if (w.st) qv_mem_free(f->alloc, w.st, w.n * sizeof *w.st, 0);
  }
  if (s == QV_OK) s = qv__nd_maybe_autoflush(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

/* ---- variable-length values ---- */
void qv_nd_varbuf_reset(qv_nd_varbuf *v) {
  if (!v) return;
  if (v->offsets) qv_mem_free(v->alloc, v->offsets, (v->n + 1) * 8, 0);
  if (v->data) qv_mem_free(v->alloc, v->data, v->data_len ? v->data_len : 1, 0);
  memset(v, 0, sizeof *v);
}

/* element e of a var chunk (raw NULL: fill) */
static void var_elem(const nd_meta *m, const uint8_t *raw, const uint64_t *offs, uint64_t ne,
                     uint64_t e, const uint8_t **p, size_t *l) {
  if (!raw) {
    *p = m->fill;
    *l = m->fill_len;
    return;
  }
  *p = raw + ne * 4 + offs[e];
  *l = qv__load_u32le(raw + e * 4);
}

typedef struct vctx {
  qv_nd_file *f;
  nd_res *r;
  const uint64_t *start, *shape;
  qv_nd_varbuf *out;
  int pass;
  const void *const *values;
  const size_t *lens;
} vctx;

static qv_status chunk_offsets(qv_nd_file *f, const uint8_t *raw, uint64_t ne, uint64_t **offs,
                               qv_error *err) {
  *offs = qv_mem_alloc(f->alloc, (size_t)(ne + 1) * 8, 0);
  if (!*offs) return qv__nomem(err, "chunk offsets", (size_t)(ne + 1) * 8);
  uint64_t o = 0;
  for (uint64_t i = 0; i < ne; i++) {
    (*offs)[i] = o;
    o += raw ? qv__load_u32le(raw + i * 4) : 0;
  }
  (*offs)[ne] = o;
  return QV_OK;
}

/* Walks the intersection elementwise: chunk-local index and region-local index. */
#define FOR_BOX(R, org, ext, lo, cnt, start, shape, BODY)                                   \
  do {                                                                                     \
    uint64_t ix_[QV_ND_MAX_RANK] = {0};                                                    \
    bool empty_ = false;                                                                   \
    for (uint32_t k_ = 0; k_ < (R); k_++) empty_ = empty_ || !(cnt)[k_];                    \
    while (!empty_) {                                                                      \
      uint64_t ci = 0, ri = 0;                                                             \
      for (uint32_t k_ = 0; k_ < (R); k_++) {                                              \
        ci = ci * (ext)[k_] + ((lo)[k_] + ix_[k_] - (org)[k_]);                             \
        ri = ri * (shape)[k_] + ((lo)[k_] + ix_[k_] - (start)[k_]);                         \
      }                                                                                    \
      BODY;                                                                                \
      uint32_t k_ = (R);                                                                   \
      for (;;) {                                                                           \
        if (k_ == 0) { empty_ = true; break; }                                             \
        k_--;                                                                              \
        if (++ix_[k_] < (cnt)[k_]) break;                                                  \
        ix_[k_] = 0;                                                                       \
      }                                                                                    \
    }                                                                                      \
  } while (0)

static qv_status readvar_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                             const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  vctx *x = vc;
  const nd_meta *m = x->r->meta;
  chunk_ref cr;
  QV_TRY(get_chunk(x->f, x->r, c, &cr, err));
  uint64_t ne = 1;
  for (uint32_t k = 0; k < m->rank; k++) ne *= ext[k];
  uint64_t *offs;
  qv_status s = chunk_offsets(x->f, cr.data, ne, &offs, err);
  if (s == QV_OK) {
    FOR_BOX(m->rank, org, ext, lo, cnt, x->start, x->shape, {
      const uint8_t *p;
      size_t l;
      var_elem(m, cr.data, offs, ne, ci, &p, &l);
      if (x->pass == 0) x->out->offsets[ri + 1] = l;
      else if (l) memcpy(x->out->data + x->out->offsets[ri], p, l);
    });
    qv_mem_free(x->f->alloc, offs, (size_t)(ne + 1) * 8, 0);
  }
  chunk_release(x->f, &cr);
  return s;
}

qv_status qv_nd_read_var(qv_nd_file *f, const char *name, const uint64_t *start,
                         const uint64_t *shape, qv_nd_varbuf *out, qv_error *err) {
  memset(out, 0, sizeof *out);
  out->alloc = f->alloc;
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  uint64_t n = 0;
  qv_status s = qv__nd_resolve(f, name, &r, err);
  if (s == QV_OK && !qv__nd_type_var(r.meta->dtype))
    s = qv_error_set(err, QV_E_TYPE, "array '%s' holds fixed-width values: use qv_nd_read", name);
  if (s == QV_OK) s = check_region(r.meta, start, shape, &n, err);
  if (s == QV_OK && n > SIZE_MAX / 16) s = qv_error_set(err, QV_E_LIMIT, "region too large");
  if (s == QV_OK) {
    out->offsets = qv_mem_calloc(f->alloc, (size_t)(n + 1) * 8, 0);
    if (!out->offsets) s = qv__nomem(err, "offsets", (size_t)(n + 1) * 8);
    else out->n = (size_t)n;
  }
  if (s == QV_OK) {
    if (!r.meta->rank) start = shape = zero_dims;
    vctx x = {f, &r, start, shape, out, 0, NULL, NULL};
    s = for_chunks(r.meta, start, shape, readvar_one, &x, err);
    if (s == QV_OK) {
      for (size_t i = 0; i < n; i++) out->offsets[i + 1] += out->offsets[i];
      out->data_len = (size_t)out->offsets[n];
      out->data = qv_mem_alloc(f->alloc, out->data_len ? out->data_len : 1, 0);
      if (!out->data) s = qv__nomem(err, "values", out->data_len);
    }
    if (s == QV_OK) {
      x.pass = 1;
      s = for_chunks(r.meta, start, shape, readvar_one, &x, err);
    }
  }
  pthread_rwlock_unlock(&f->lock);
  if (s < 0) qv_nd_varbuf_reset(out);
  return s;
}

static qv_status writevar_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                              const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  vctx *x = vc;
  qv_nd_file *f = x->f;
  const nd_meta *m = x->r->meta;
  chunk_ref cr;
  QV_TRY(get_chunk(f, x->r, c, &cr, err));
  uint64_t ne = 1;
  for (uint32_t k = 0; k < m->rank; k++) ne *= ext[k];
  uint64_t *offs = NULL;
  const void **vp = NULL;
  size_t *vl = NULL;
  uint8_t *raw = NULL;
  size_t total = 0;
  qv_status s = chunk_offsets(f, cr.data, ne, &offs, err);
  if (s == QV_OK) {
    vp = qv_mem_alloc(f->alloc, (size_t)ne * sizeof *vp + 1, 0);
    vl = qv_mem_alloc(f->alloc, (size_t)ne * sizeof *vl + 1, 0);
    if (!vp || !vl) s = qv__nomem(err, "chunk values", (size_t)ne * 16);
  }
  if (s == QV_OK) {
    for (uint64_t i = 0; i < ne; i++) {
      const uint8_t *p;
      var_elem(m, cr.data, offs, ne, i, &p, &vl[i]);
      vp[i] = p;
    }
    FOR_BOX(m->rank, org, ext, lo, cnt, x->start, x->shape, {
      vp[ci] = x->values[ri];
      vl[ci] = x->lens[ri];
    });
    total = (size_t)ne * 4;
    for (uint64_t i = 0; i < ne && s == QV_OK; i++) {
      if (vl[i] > UINT32_MAX || qv__add_overflow(total, vl[i], &total))
        s = qv_error_set(err, QV_E_LIMIT, "array '%s': value too long", m->name);
    }
    if (s == QV_OK && total > f->opts.limits.max_chunk_bytes)
      s = qv_error_set(err, QV_E_LIMIT, "array '%s': chunk of %zu bytes exceeds the chunk limit", m->name, total);
  }
  if (s == QV_OK) {
    raw = qv__nd_raw_alloc(f->alloc, total);
    if (!raw) s = qv__nomem(err, "chunk", total);
  }
  if (s == QV_OK) {
    size_t o = (size_t)ne * 4;
    for (uint64_t i = 0; i < ne; i++) {
      qv__store_u32le(raw + i * 4, (uint32_t)vl[i]);
      if (vl[i]) memcpy(raw + o, vp[i], vl[i]);
      o += vl[i];
    }
  }
  if (offs) qv_mem_free(f->alloc, offs, (size_t)(ne + 1) * 8, 0);
  if (vp) qv_mem_free(f->alloc, vp, (size_t)ne * sizeof *vp + 1, 0);
  if (vl) qv_mem_free(f->alloc, vl, (size_t)ne * sizeof *vl + 1, 0);
  chunk_release(f, &cr);
  if (s < 0) return s;
  nd_pend *p = x->r->pend;
  size_t pos;
  nd_pchunk *pc = qv__nd_pend_chunk(p, c, &pos);
  if (pc) {
    f->pending_bytes -= pc->len;
    qv__nd_raw_free(f->alloc, pc->raw, pc->len);
    pc->raw = raw;
    pc->len = total;
  } else {
    QV_TRY(pend_insert(f, p, pos, c, raw, total, err));
  }
  f->pending_bytes += total;
  return QV_OK;
}

qv_status qv_nd_write_var(qv_nd_file *f, const char *name, const uint64_t *start,
                          const uint64_t *shape, const void *const *values, const size_t *lens,
                          size_t n, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  nd_res r;
  uint64_t ne = 0;
  qv_status s = qv__nd_check_writable(f, err);
  if (s == QV_OK) s = qv__nd_resolve(f, name, &r, err);
  if (s == QV_OK && !qv__nd_type_var(r.meta->dtype))
    s = qv_error_set(err, QV_E_TYPE, "array '%s' holds fixed-width values: use qv_nd_write", name);
  if (s == QV_OK) s = check_region(r.meta, start, shape, &ne, err);
  if (s == QV_OK && ne != n)
    s = qv_error_set(err, QV_E_INVALID, "array '%s': region holds %llu values, %zu given", name,
                     (unsigned long long)ne, n);
  if (s == QV_OK && n && (!values || !lens))
    s = qv_error_set(err, QV_E_INVALID, "values and lens are required");
  for (size_t i = 0; s == QV_OK && i < n; i++)
    if (!values[i] && lens[i]) s = qv_error_set(err, QV_E_INVALID, "value %zu is NULL", i);
  if (s == QV_OK) s = qv__nd_pend_for_update(f, name, &r, err);
  if (s == QV_OK) {
    if (!r.meta->rank) start = shape = zero_dims;
    vctx x = {f, &r, start, shape, NULL, 0, values, lens};
    s = for_chunks(r.meta, start, shape, writevar_one, &x, err);
  }
  if (s == QV_OK) s = qv__nd_maybe_autoflush(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}
