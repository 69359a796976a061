/* compress.c — IPC body buffer compression (Message.fbs BodyCompression, BUFFER method): an int64
 * LE uncompressed length, then one LZ4 frame or ZSTD frame; -1 and the raw bytes when
 * compressing does not make the buffer smaller. The codec contexts are kept across buffers and
 * allocate through the caller's qv_allocator. */
#define LZ4F_STATIC_LINKING_ONLY
#define ZSTD_STATIC_LINKING_ONLY
#include <lz4frame.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "core/core_int.h"
#include "ipc/fb_build.h"
#include "ipc/ipc_int.h"
#include "quiver/ipc.h"

void qv__ipc_compressor_init(qv__ipc_compressor *c, int compression, int level,
                             const qv_allocator *alloc) {
  memset(c, 0, sizeof *c);
  c->compression = compression;
  c->level = level;
  c->alloc = alloc ? alloc : qv_allocator_default();
}

void qv__ipc_compressor_reset(qv__ipc_compressor *c) {
  if (c->zstd) ZSTD_freeCCtx((ZSTD_CCtx *)c->zstd);
  if (c->lz4) LZ4F_freeCompressionContext((LZ4F_cctx *)c->lz4);
  c->zstd = NULL;
  c->lz4 = NULL;
}

static qv_status make_ctx(qv__ipc_compressor *c, qv_error *err) {
  void *opaque = (void *)(uintptr_t)c->alloc; /* the callbacks only read through it */
  if (c->compression == QV_IPC_COMPRESSION_ZSTD && !c->zstd) {
    ZSTD_customMem mem = {qv__ipc_codec_alloc, qv__ipc_codec_free, opaque};
    c->zstd = ZSTD_createCCtx_advanced(mem);
    if (!c->zstd) return qv__nomem(err, "ZSTD compression context", 0);
  }
  if (c->compression == QV_IPC_COMPRESSION_LZ4_FRAME && !c->lz4) {
    LZ4F_CustomMem mem = {qv__ipc_codec_alloc, qv__ipc_codec_calloc, qv__ipc_codec_free,
                          opaque};
    c->lz4 = LZ4F_createCompressionContext_advanced(mem, LZ4F_VERSION);
    if (!c->lz4) return qv__nomem(err, "LZ4 compression context", 0);
  }
  return QV_OK;
}

qv_status qv__ipc_compress(qv__ipc_compressor *c, const uint8_t *src, size_t len,
                           qv_buffer *out, qv_error *err) {
  size_t bound;
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  switch (c->compression) {
    case QV_IPC_COMPRESSION_LZ4_FRAME:
      prefs.compressionLevel = c->level;
      prefs.frameInfo.contentSize = len;
      bound = LZ4F_compressFrameBound(len, &prefs);
      break;
    case QV_IPC_COMPRESSION_ZSTD:
      bound = ZSTD_compressBound(len);
      if (ZSTD_isError(bound))
        return qv_error_set(err, QV_E_LIMIT, "buffer of %zu bytes too large for ZSTD", len);
      break;
    default:
      return qv_error_set(err, QV_E_INVALID, "unknown IPC compression codec %d", c->compression);
  }
  QV_TRY(make_ctx(c, err));
  size_t total;
  if (qv__add_overflow(bound, 8, &total))
    return qv_error_set(err, QV_E_OVERFLOW, "compressed size bound of %zu bytes overflows", len);
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, c->alloc);
  QV_TRY(qv_mbuffer_resize(&mb, total, err));
  size_t clen;
  bool ok, nomem = false;
  const char *why;
  if (c->compression == QV_IPC_COMPRESSION_LZ4_FRAME) {
    clen = LZ4F_compressFrame_usingCDict((LZ4F_cctx *)c->lz4, mb.data + 8, bound, src, len, NULL,
                                         &prefs);
    ok = !LZ4F_isError(clen);
    nomem = !ok && LZ4F_getErrorCode(clen) == LZ4F_ERROR_allocation_failed;
    why = ok ? "" : LZ4F_getErrorName(clen);
  } else {
    ZSTD_CCtx *z = (ZSTD_CCtx *)c->zstd;
    clen = ZSTD_compressCCtx(z, mb.data + 8, bound, src, len, c->level);
    ok = !ZSTD_isError(clen);
    nomem = !ok && ZSTD_getErrorCode(clen) == ZSTD_error_memory_allocation;
    why = ok ? "" : ZSTD_getErrorName(clen);
  }
  if (!ok) {
    qv_mbuffer_reset(&mb);
    /* a context that failed mid-frame is not reused */
    qv__ipc_compressor_reset(c);
    if (nomem) return qv__nomem(err, "IPC body compression", len);
    return qv_error_set(err, QV_E_IO, "%s compression of a %zu-byte buffer failed: %s",
                        c->compression == QV_IPC_COMPRESSION_LZ4_FRAME ? "LZ4" : "ZSTD", len,
                        why);
  }
  qv_status st;
  if (clen < len) {
    qv__store_u64le(mb.data, (uint64_t)len);
    st = qv_mbuffer_resize(&mb, 8 + clen, err); /* shrinking: cannot fail */
  } else {
    /* not smaller: store raw, marked with -1 */
    st = qv_mbuffer_resize(&mb, 8 + len, err);
    if (st == QV_OK) {
      qv__store_u64le(mb.data, UINT64_MAX);
      if (len) memcpy(mb.data + 8, src, len);
    }
  }
  if (st == QV_OK) st = qv_mbuffer_finish(&mb, out, err);
  if (st < 0) qv_mbuffer_reset(&mb);
  return st;
}
