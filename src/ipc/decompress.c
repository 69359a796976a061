/* decompress.c — IPC body buffer decompression (BodyCompression BUFFER method): an int64 LE
 * uncompressed length (-1 = stored raw) followed by an LZ4 frame or a ZSTD frame. The declared
 * length is checked against the caller's budget and against what the frame can possibly hold
 * before anything is allocated, and the output must be exactly that long. Codec contexts
 * allocate through the caller's allocator (the hooks here serve compress.c too). */
#include <string.h>

#define LZ4F_STATIC_LINKING_ONLY
#define ZSTD_STATIC_LINKING_ONLY
#include <lz4frame.h>
#include <zstd.h>

#include "ipc/ipc_int.h"

/* The codecs' allocations go through the qv_allocator: a 64-byte header (keeping the block
 * 64-byte aligned) remembers the size the free needs, which the codecs' free does not pass. */
#define HDR 64
void *qv__ipc_codec_alloc(void *opaque, size_t size) {
  size_t total;
  if (qv__add_overflow(size, HDR, &total)) return NULL;
  uint8_t *p = qv_mem_alloc((const qv_allocator *)opaque, total, HDR);
  if (!p) return NULL;
  memcpy(p, &total, sizeof total);
  return p + HDR;
}
void qv__ipc_codec_free(void *opaque, void *ptr) {
  if (!ptr) return;
  uint8_t *p = (uint8_t *)ptr - HDR;
  size_t total;
  memcpy(&total, p, sizeof total);
  qv_mem_free((const qv_allocator *)opaque, p, total, HDR);
}
void *qv__ipc_codec_calloc(void *opaque, size_t size) {
  void *p = qv__ipc_codec_alloc(opaque, size);
  if (p) memset(p, 0, size);
  return p;
}

static qv_status lz4_frame(const uint8_t *src, size_t slen, uint8_t *dst, size_t dlen,
                           const qv_allocator *a, qv_error *err) {
  LZ4F_CustomMem mem = {qv__ipc_codec_alloc, qv__ipc_codec_calloc, qv__ipc_codec_free,
                        (void *)a};
  LZ4F_dctx *d = LZ4F_createDecompressionContext_advanced(mem, LZ4F_VERSION);
  if (!d) return qv__nomem(err, "LZ4 decompression context", 0);
  size_t in = 0, out = 0;
  qv_status s = QV_OK;
  for (;;) {
    size_t ds = dlen - out, ss = slen - in;
    size_t r = LZ4F_decompress(d, dst + out, &ds, src + in, &ss, NULL);
    if (LZ4F_isError(r)) {
      s = qv_error_set(err, QV_E_CORRUPT, "LZ4 frame is corrupt: %s", LZ4F_getErrorName(r));
      break;
    }
    in += ss;
    out += ds;
    if (r == 0 && in == slen) break; /* frame(s) complete */
    if (ss == 0 && ds == 0) {
      s = qv_error_set(err, QV_E_CORRUPT,
                       in == slen ? "LZ4 frame is truncated (%zu of %zu bytes produced)"
                                  : "LZ4 frame decompresses to more than the declared %zu bytes",
                       in == slen ? out : dlen, dlen);
      break;
    }
  }
  if (s == QV_OK && out != dlen)
    s = qv_error_set(err, QV_E_CORRUPT, "LZ4 frame decompressed to %zu bytes, %zu declared", out,
                     dlen);
  LZ4F_freeDecompressionContext(d);
  return s;
}

static qv_status zstd_frame(const uint8_t *src, size_t slen, uint8_t *dst, size_t dlen,
                            const qv_allocator *a, qv_error *err) {
  ZSTD_customMem mem = {qv__ipc_codec_alloc, qv__ipc_codec_free, (void *)a};
  ZSTD_DCtx *d = ZSTD_createDCtx_advanced(mem);
  if (!d) return qv__nomem(err, "ZSTD decompression context", 0);
  qv_status s = QV_OK;
  size_t r = ZSTD_decompressDCtx(d, dst, dlen, src, slen);
  if (ZSTD_isError(r))
    s = qv_error_set(err, QV_E_CORRUPT, "ZSTD frame is corrupt (declared %zu bytes): %s", dlen,
                     ZSTD_getErrorName(r));
  else if (r != dlen)
    s = qv_error_set(err, QV_E_CORRUPT, "ZSTD frame decompressed to %zu bytes, %zu declared", r,
                     dlen);
  ZSTD_freeDCtx(d);
  return s;
}

/* slen * ratio, saturating. */
static uint64_t times(size_t slen, uint64_t ratio) {
  return (uint64_t)slen > UINT64_MAX / ratio ? UINT64_MAX : (uint64_t)slen * ratio;
}

/* The most bytes `slen` bytes of a codec frame can decompress to, known before decompressing.
 * LZ4 expands at most 255:1 (a match length grows by 255 per byte). A ZSTD block produces at
 * most 128 KiB from at least 4 bytes (3-byte header + an RLE byte), so 32768:1 at most; the
 * frame headers may tell less (ZSTD_decompressBound: their content sizes, else blocks x block
 * size) but a content size is only the producer's word, so it never raises the bound. 0 for a
 * frame ZSTD finds malformed. */
static uint64_t frame_bound(int codec, const uint8_t *src, size_t slen) {
  if (codec == QV_FB_COMPRESSION_LZ4_FRAME) return times(slen, 256);
  if (codec == QV_FB_COMPRESSION_ZSTD) {
    unsigned long long b = ZSTD_decompressBound(src, slen);
    if (b == ZSTD_CONTENTSIZE_ERROR) return 0;
    uint64_t most = times(slen, (uint64_t)1 << 15);
    return (uint64_t)b < most ? (uint64_t)b : most;
  }
  return UINT64_MAX; /* unknown codec: refused below */
}

qv_status qv__ipc_decompress(int codec, const qv_buffer *in, int64_t *budget,
                             const qv_allocator *a, qv_buffer *out, qv_error *err) {
  memset(out, 0, sizeof *out);
  if (in->len == 0) return QV_OK;
  if (in->len < 8)
    return qv_error_set(err, QV_E_CORRUPT,
                        "compressed buffer of %zu bytes is too short for its length prefix",
                        in->len);
  int64_t ulen = (int64_t)qv__load_u64le(in->data);
  if (ulen == QV_IPC_UNCOMPRESSED_MARKER) return qv_buffer_slice(in, 8, in->len - 8, out, err);
  if (ulen < 0)
    return qv_error_set(err, QV_E_CORRUPT, "compressed buffer declares length %lld",
                        (long long)ulen);
  if (ulen > 0 && (uint64_t)ulen > frame_bound(codec, in->data + 8, in->len - 8))
    return qv_error_set(err, QV_E_CORRUPT,
                        "compressed buffer's declared length %lld is more than its %zu-byte %s "
                        "frame can hold",
                        (long long)ulen, in->len - 8,
                        codec == QV_FB_COMPRESSION_ZSTD ? "ZSTD" : "LZ4");
  if (*budget >= 0) {
    if (ulen > *budget)
      return qv_error_set(err, QV_E_LIMIT,
                          "compressed buffer declares %lld bytes, more than the %lld left under "
                          "the decompressed-size limit",
                          (long long)ulen, (long long)*budget);
    *budget -= ulen;
  }
  if ((uint64_t)ulen > SIZE_MAX / 2)
    return qv_error_set(err, QV_E_LIMIT, "compressed buffer declares %lld bytes",
                        (long long)ulen);
  if (ulen == 0) return QV_OK; /* nothing to produce; the frame is not inspected */
  qv_buffer b;
  QV_TRY(qv_buffer_new((size_t)ulen, a, &b, err));
  qv_status s;
  if (codec == QV_FB_COMPRESSION_LZ4_FRAME)
    s = lz4_frame(in->data + 8, in->len - 8, (uint8_t *)b.data, (size_t)ulen, a, err);
  else if (codec == QV_FB_COMPRESSION_ZSTD)
    s = zstd_frame(in->data + 8, in->len - 8, (uint8_t *)b.data, (size_t)ulen, a, err);
  else
    s = qv_error_set(err, QV_E_UNSUPPORTED, "unknown compression codec %d", codec);
  if (s < 0) {
    qv_buffer_unref(&b);
    return s;
  }
  *out = b;
  return QV_OK;
}
