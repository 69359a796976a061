/* compress.c — IPC body buffer compression (Message.fbs BodyCompression, BUFFER method): an int64
 * LE uncompressed length, then one LZ4 frame or ZSTD frame; -1 and the raw bytes when
 * compressing does not make the buffer smaller. */
#include <lz4frame.h>
#include <string.h>
#include <zstd.h>

#include "core/core_int.h"
#include "ipc/fb_build.h"
#include "quiver/ipc.h"

qv_status qv__ipc_compress(int compression, int level, const uint8_t *src, size_t len,
                           const qv_allocator *a, qv_buffer *out, qv_error *err) {
  size_t bound;
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  switch (compression) {
    case QV_IPC_COMPRESSION_LZ4_FRAME:
      prefs.compressionLevel = level;
      prefs.frameInfo.contentSize = len;
      bound = LZ4F_compressFrameBound(len, &prefs);
      break;
    case QV_IPC_COMPRESSION_ZSTD:
      bound = ZSTD_compressBound(len);
      if (ZSTD_isError(bound))
        return qv_error_set(err, QV_E_LIMIT, "buffer of %zu bytes too large for ZSTD", len);
      break;
    default:
      return qv_error_set(err, QV_E_INVALID, "unknown IPC compression codec %d", compression);
  }
  size_t total;
  if (qv__add_overflow(bound, 8, &total))
    return qv_error_set(err, QV_E_OVERFLOW, "compressed size bound of %zu bytes overflows", len);
  /* Never allocate more than the raw fallback needs plus the bound. */
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, a);
  QV_TRY(qv_mbuffer_resize(&mb, total, err));
  size_t clen;
  bool ok;
  if (compression == QV_IPC_COMPRESSION_LZ4_FRAME) {
    clen = LZ4F_compressFrame(mb.data + 8, bound, src, len, &prefs);
    ok = !LZ4F_isError(clen);
  } else {
    clen = ZSTD_compress(mb.data + 8, bound, src, len, level);
    ok = !ZSTD_isError(clen);
  }
  if (!ok) {
    qv_mbuffer_reset(&mb);
    return qv_error_set(err, QV_E_IO, "%s compression of a %zu-byte buffer failed: %s",
                        compression == QV_IPC_COMPRESSION_LZ4_FRAME ? "LZ4" : "ZSTD", len,
                        compression == QV_IPC_COMPRESSION_LZ4_FRAME
                            ? LZ4F_getErrorName(clen)
                            : ZSTD_getErrorName(clen));
  }
  if (clen < len) {
    qv__store_u64le(mb.data, (uint64_t)len);
    /* resize only shrinks here: cannot fail */
    qv_status st = qv_mbuffer_resize(&mb, 8 + clen, err);
    if (st < 0) {
      qv_mbuffer_reset(&mb);
      return st;
    }
  } else {
    /* not smaller: store raw, marked with -1 */
    qv_status st = qv_mbuffer_resize(&mb, 8 + len, err);
    if (st < 0) {
      qv_mbuffer_reset(&mb);
      return st;
    }
    qv__store_u64le(mb.data, UINT64_MAX);
    if (len) memcpy(mb.data + 8, src, len);
  }
  qv_status st = qv_mbuffer_finish(&mb, out, err);
  if (st < 0) qv_mbuffer_reset(&mb);
  return st;
}
