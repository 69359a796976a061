/* block.c — a chunk's stored block (docs/spec/ndfile.md §5, §5a): the raw chunk bytes through
 * its codec, either as one frame or, for chunks larger than the writer's segment size, as
 * segments encoded and checksummed independently so that several threads can check and decode
 * one chunk together (region.c does that; the functions here work one segment after another). */
#include <string.h>

#include "ndfile/nd_int.h"

size_t qv__nd_block_bound(uint32_t codec, unsigned seg_log2, size_t raw_len, qv_error *err) {
  if (!seg_log2) return qv__nd_codec_bound(codec, raw_len, err);
  if (codec == QV_ND_CODEC_NONE) return raw_len;
  size_t seg = (size_t)1 << seg_log2, n = (raw_len - 1) / seg + 1;
  size_t b = qv__nd_codec_bound(codec, seg, err);
  if (!b) return 0;
  if (b > (SIZE_MAX - 4 * n) / n) {
    qv_error_set(err, QV_E_LIMIT, "chunk of %zu bytes is too large to encode", raw_len);
    return 0;
  }
  return 4 * n + n * b;
}

/* The checksum of a stored block whose segment offsets are known. */
static uint64_t parts_hash(const nd_chunk_ent *ce, const uint8_t *blk, const uint64_t *offs,
                           uint64_t n) {
  nd_hasher top;
  qv__nd_hasher_init(&top);
  uint64_t d;
  if (ce->codec != QV_ND_CODEC_NONE) { /* part 0: the table */
    d = qv__nd_hash(blk, (size_t)offs[0]);
    qv__nd_hasher_update(&top, &d, 8);
  }
  for (uint64_t i = 0; i < n; i++) {
    d = qv__nd_hash(blk + offs[i], (size_t)(offs[i + 1] - offs[i]));
    qv__nd_hasher_update(&top, &d, 8);
  }
  return qv__nd_hasher_digest(&top);
}

qv_status qv__nd_block_encode(uint32_t codec, int level, unsigned seg_log2, const uint8_t *raw,
                              size_t raw_len, uint8_t *dst, size_t cap, nd_chunk_ent *ent,
                              const uint8_t **blk, const qv_allocator *a, qv_error *err) {
  ent->flags &= ~ND_CHUNK_SEG_MASK;
  ent->raw_len = raw_len;
  ent->codec = codec;
  size_t blen = raw_len;
  const uint8_t *out = raw;
  if (codec != QV_ND_CODEC_NONE && !seg_log2) {
    QV_TRY(qv__nd_encode(codec, level, raw, raw_len, dst, cap, &blen, err));
    out = dst;
  } else if (codec != QV_ND_CODEC_NONE) { /* table of u32 lengths, then the segments */
    size_t seg = (size_t)1 << seg_log2, n = (raw_len - 1) / seg + 1, pos = 4 * n;
    if (cap < pos) return qv_error_set(err, QV_E_INVALID, "encode: output too small");
    for (size_t i = 0; i < n && pos < raw_len; i++) {
      size_t len = raw_len - i * seg < seg ? raw_len - i * seg : seg, el;
      QV_TRY(qv__nd_encode(codec, level, raw + i * seg, len, dst + pos, cap - pos, &el, err));
      if (el > UINT32_MAX) return qv_error_set(err, QV_E_LIMIT, "encoded segment too large");
      qv__store_u32le(dst + 4 * i, (uint32_t)el);
      pos += el;
    }
    blen = pos; /* stopped early when it cannot be smaller than the chunk: stored plain below */
    out = dst;
  }
  if (codec != QV_ND_CODEC_NONE && blen >= raw_len) { /* incompressible: store it plain */
    out = raw;
    blen = raw_len;
    ent->codec = QV_ND_CODEC_NONE;
  }
  if (seg_log2) ent->flags |= seg_log2 << ND_CHUNK_SEG_SHIFT;
  ent->stored_len = blen;
  *blk = out;
  if (!seg_log2) {
    ent->hash = qv__nd_hash(out, blen);
    return QV_OK;
  }
  return qv__nd_block_hash(ent, out, &ent->hash, a, err);
}

qv_status qv__nd_seg_offsets(const nd_chunk_ent *ce, const uint8_t *blk, uint64_t *offs,
                             qv_error *err) {
  uint64_t n = qv__nd_seg_count(ce);
  if (ce->codec == QV_ND_CODEC_NONE) {
    uint64_t seg = n > 1 ? (uint64_t)1 << qv__nd_seg_log2(ce) : ce->stored_len;
    for (uint64_t i = 0; i < n; i++) offs[i] = i * seg;
    offs[n] = ce->stored_len;
    return QV_OK;
  }
  if (n == 1) {
    offs[0] = 0;
    offs[1] = ce->stored_len;
    return QV_OK;
  }
  /* the footer parse checked stored_len >= 4n */
  uint64_t pos = 4 * n;
  for (uint64_t i = 0; i < n; i++) {
    offs[i] = pos;
    pos += qv__load_u32le(blk + 4 * i); /* at most n * (2^32 - 1): no overflow */
    if (pos > ce->stored_len) break;
  }
  if (pos != ce->stored_len)
    return qv_error_set(err, QV_E_CORRUPT, "segment lengths do not add up to the block length");
  offs[n] = pos;
  return QV_OK;
}

/* offs for n segments: on the stack when small. */
#define ND_SEG_STACK 64

qv_status qv__nd_block_hash(const nd_chunk_ent *ce, const uint8_t *blk, uint64_t *out,
                            const qv_allocator *a, qv_error *err) {
  uint64_t n = qv__nd_seg_count(ce);
  if (n == 1) {
    *out = qv__nd_hash(blk, (size_t)ce->stored_len);
    return QV_OK;
  }
  if (ce->codec == QV_ND_CODEC_NONE) { /* fixed parts: no offsets needed */
    nd_hasher h;
    qv__nd_hasher_init_parts(&h, (uint64_t)1 << qv__nd_seg_log2(ce));
    qv__nd_hasher_update(&h, blk, (size_t)ce->stored_len);
    *out = qv__nd_hasher_digest(&h);
    return QV_OK;
  }
  uint64_t stackv[ND_SEG_STACK + 1], *offs = stackv;
  if (n > ND_SEG_STACK) {
    offs = qv_mem_alloc(a, (size_t)(n + 1) * 8, 0);
    if (!offs) return qv__nomem(err, "segment offsets", (size_t)(n + 1) * 8);
  }
  qv_status s = qv__nd_seg_offsets(ce, blk, offs, err);
  if (s == QV_OK) *out = parts_hash(ce, blk, offs, n);
  if (offs != stackv) qv_mem_free(a, offs, (size_t)(n + 1) * 8, 0);
  return s;
}

qv_status qv__nd_block_decode(const nd_chunk_ent *ce, const uint8_t *blk, uint8_t *dst,
                              qv_error *err) {
  uint64_t n = qv__nd_seg_count(ce);
  size_t raw = (size_t)ce->raw_len;
  if (n == 1 || ce->codec == QV_ND_CODEC_NONE)
    return qv__nd_decode(ce->codec, blk, (size_t)ce->stored_len, dst, raw, err);
  size_t seg = (size_t)1 << qv__nd_seg_log2(ce);
  uint64_t pos = 4 * n;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t len = qv__load_u32le(blk + 4 * i);
    if (len > ce->stored_len - pos)
      return qv_error_set(err, QV_E_CORRUPT, "segment lengths do not add up to the block length");
    size_t off = (size_t)i * seg, want = raw - off < seg ? raw - off : seg;
    qv_status s = qv__nd_decode(ce->codec, blk + pos, (size_t)len, dst + off, want, err);
    if (s < 0) {
      qv_error_prefix(err, "segment %llu: ", (unsigned long long)i);
      return s;
    }
    pos += len;
  }
  if (pos != ce->stored_len)
    return qv_error_set(err, QV_E_CORRUPT, "segment lengths do not add up to the block length");
  return QV_OK;
}
