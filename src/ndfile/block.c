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

/* Checks that the table of compressed segmented block blk (n segments) adds up:
 * 4n + sum of the lengths = stored_len. The footer parse checked stored_len >= 4n, so the table
 * lies inside the block; once this holds, every segment does too. */
static qv_status table_check(const nd_chunk_ent *ce, const uint8_t *blk, uint64_t n, qv_error *err) {
  uint64_t pos = 4 * n; /* plus at most n * (2^32 - 1): no overflow */
  for (uint64_t i = 0; i < n && pos <= ce->stored_len; i++) pos += qv__load_u32le(blk + 4 * i);
  if (pos != ce->stored_len)
    return qv_error_set(err, QV_E_CORRUPT, "segment lengths do not add up to the block length");
  return QV_OK;
}

qv_status qv__nd_block_encode(uint32_t codec, int level, unsigned seg_log2, const uint8_t *raw,
                              size_t raw_len, uint8_t *dst, size_t cap, nd_chunk_ent *ent,
                              const uint8_t **blk, qv_error *err) {
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
  return qv__nd_block_hash(ent, out, &ent->hash, err);
}

qv_status qv__nd_seg_offsets(const nd_chunk_ent *ce, const uint8_t *blk, uint64_t *offs,
                             qv_error *err) {
  uint64_t n = qv__nd_seg_count(ce);
  if (ce->codec == QV_ND_CODEC_NONE || n == 1) {
    uint64_t seg = n > 1 ? (uint64_t)1 << qv__nd_seg_log2(ce) : ce->stored_len;
    for (uint64_t i = 0; i < n; i++) offs[i] = i * seg;
  } else {
    QV_TRY(table_check(ce, blk, n, err));
    offs[0] = 4 * n;
    for (uint64_t i = 1; i < n; i++) offs[i] = offs[i - 1] + qv__load_u32le(blk + 4 * (i - 1));
  }
  offs[n] = ce->stored_len;
  return QV_OK;
}

qv_status qv__nd_block_hash(const nd_chunk_ent *ce, const uint8_t *blk, uint64_t *out,
                            qv_error *err) {
  uint64_t n = qv__nd_seg_count(ce);
  if (n == 1) {
    *out = qv__nd_hash(blk, (size_t)ce->stored_len);
    return QV_OK;
  }
  nd_hasher h;
  if (ce->codec == QV_ND_CODEC_NONE) { /* parts of the segment size */
    qv__nd_hasher_init_parts(&h, (uint64_t)1 << qv__nd_seg_log2(ce));
    qv__nd_hasher_update(&h, blk, (size_t)ce->stored_len);
    *out = qv__nd_hasher_digest(&h);
    return QV_OK;
  }
  QV_TRY(table_check(ce, blk, n, err));
  qv__nd_hasher_init(&h); /* over the parts' checksums: the table, then each segment */
  uint64_t d = qv__nd_hash(blk, (size_t)(4 * n)), pos = 4 * n;
  qv__nd_hasher_update(&h, &d, 8);
  for (uint64_t i = 0; i < n; i++) {
    uint32_t len = qv__load_u32le(blk + 4 * i);
    d = qv__nd_hash(blk + pos, len);
    qv__nd_hasher_update(&h, &d, 8);
    pos += len;
  }
  *out = qv__nd_hasher_digest(&h);
  return QV_OK;
}

qv_status qv__nd_block_decode(const nd_chunk_ent *ce, const uint8_t *blk, uint8_t *dst,
                              qv_error *err) {
  uint64_t n = qv__nd_seg_count(ce);
  size_t raw = (size_t)ce->raw_len;
  if (n == 1 || ce->codec == QV_ND_CODEC_NONE)
    return qv__nd_decode(ce->codec, blk, (size_t)ce->stored_len, dst, raw, err);
  QV_TRY(table_check(ce, blk, n, err));
  size_t seg = (size_t)1 << qv__nd_seg_log2(ce);
  uint64_t pos = 4 * n;
  for (uint64_t i = 0; i < n; i++) {
    uint32_t len = qv__load_u32le(blk + 4 * i);
    size_t off = (size_t)i * seg, want = raw - off < seg ? raw - off : seg;
    qv_status s = qv__nd_decode(ce->codec, blk + pos, (size_t)len, dst + off, want, err);
    if (s < 0) {
      qv_error_prefix(err, "segment %llu: ", (unsigned long long)i);
      return s;
    }
    pos += len;
  }
  return QV_OK;
}
