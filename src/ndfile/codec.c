/* codec.c — ndfile chunk codecs: none, LZ4 (raw block), Zstd (one frame) and the process-wide
 * registry of user codecs (docs/spec/ndfile.md §5). */
#include <lz4.h>
#include <pthread.h>
#include <string.h>
#include <zstd.h>

#include "ndfile/nd_int.h"

#define MAX_USER_CODECS 64
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static const qv_nd_codec *user_codecs[MAX_USER_CODECS];
static size_t n_user;

static const qv_nd_codec *find_user(uint32_t id) {
  const qv_nd_codec *c = NULL;
  pthread_mutex_lock(&reg_mu);
  for (size_t i = 0; i < n_user; i++)
    if (user_codecs[i]->id == id) c = user_codecs[i];
  pthread_mutex_unlock(&reg_mu);
  return c;
}

qv_status qv_nd_codec_register(const qv_nd_codec *codec, qv_error *err) {
  if (!codec || !codec->name || !codec->bound || !codec->encode || !codec->decode)
    return qv_error_set(err, QV_E_INVALID, "codec registration: missing name or functions");
  if (codec->id < QV_ND_CODEC_USER_MIN || codec->id > 65535)
    return qv_error_set(err, QV_E_INVALID, "codec '%s': id %u outside 128..65535", codec->name,
                        codec->id);
  qv_status s = QV_OK;
  pthread_mutex_lock(&reg_mu);
  for (size_t i = 0; i < n_user; i++)
    if (user_codecs[i]->id == codec->id) {
      s = qv_error_set(err, QV_E_EXISTS, "codec id %u is already registered ('%s')", codec->id,
                       user_codecs[i]->name);
      break;
    }
  if (s == QV_OK) {
    if (n_user == MAX_USER_CODECS)
      s = qv_error_set(err, QV_E_LIMIT, "at most %d user codecs", MAX_USER_CODECS);
    else
      user_codecs[n_user++] = codec;
  }
  pthread_mutex_unlock(&reg_mu);
  return s;
}

const char *qv_nd_codec_name(uint32_t id) {
  switch (id) {
    case QV_ND_CODEC_NONE: return "none";
    case QV_ND_CODEC_LZ4: return "lz4";
    case QV_ND_CODEC_ZSTD: return "zstd";
    default: {
      const qv_nd_codec *c = find_user(id);
      return c ? c->name : NULL;
    }
  }
}

qv_status qv_nd_codec_find(const char *name, uint32_t *id, qv_error *err) {
  static const char *const builtin[] = {"none", "lz4", "zstd"};
  for (uint32_t i = 0; i < 3; i++)
    if (strcmp(name, builtin[i]) == 0) {
      *id = i;
      return QV_OK;
    }
  qv_status s = qv_error_set(err, QV_E_NOTFOUND, "unknown codec '%s' (none, lz4, zstd or a registered codec)", name);
  pthread_mutex_lock(&reg_mu);
  for (size_t i = 0; i < n_user; i++)
    if (strcmp(user_codecs[i]->name, name) == 0) {
      *id = user_codecs[i]->id;
      s = QV_OK;
      if (err) qv_error_init(err);
    }
  pthread_mutex_unlock(&reg_mu);
  return s;
}

/* Zstd contexts kept per thread (freed when the thread exits): creating one per chunk costs a
 * few percent of the time of a 4 MiB chunk. NULL when they cannot be had: one-shot calls. */
typedef struct zctx {
  ZSTD_CCtx *c;
  ZSTD_DCtx *d;
} zctx;
static pthread_once_t zonce = PTHREAD_ONCE_INIT;
static pthread_key_t zkey;
static bool zkey_ok;

static void zctx_free(void *p) {
  zctx *z = p;
  ZSTD_freeCCtx(z->c);
  ZSTD_freeDCtx(z->d);
  qv_mem_free(NULL, z, sizeof *z, 0);
}
static void zkey_init(void) { zkey_ok = pthread_key_create(&zkey, zctx_free) == 0; }

static zctx *zctx_get(void) {
  pthread_once(&zonce, zkey_init);
  if (!zkey_ok) return NULL;
  zctx *z = pthread_getspecific(zkey);
  if (!z) {
    z = qv_mem_calloc(NULL, sizeof *z, 0);
    if (!z) return NULL;
    if (pthread_setspecific(zkey, z) != 0) {
      qv_mem_free(NULL, z, sizeof *z, 0);
      return NULL;
    }
  }
  return z;
}

bool qv__nd_codec_known(uint32_t id) { return id <= 2 || find_user(id) != NULL; }

size_t qv__nd_codec_bound(uint32_t id, size_t len, qv_error *err) {
  switch (id) {
    case QV_ND_CODEC_NONE: return len ? len : 1;
    case QV_ND_CODEC_LZ4:
      if (len > LZ4_MAX_INPUT_SIZE) {
        qv_error_set(err, QV_E_LIMIT, "lz4: chunk of %zu bytes is too large", len);
        return 0;
      }
      return (size_t)LZ4_compressBound((int)len);
    case QV_ND_CODEC_ZSTD: return ZSTD_compressBound(len);
    default: {
      const qv_nd_codec *c = find_user(id);
      if (!c) {
        qv_error_set(err, QV_E_UNSUPPORTED, "codec id %u is not registered", id);
        return 0;
      }
      return c->bound(len);
    }
  }
}

qv_status qv__nd_encode(uint32_t id, int level, const void *src, size_t len, void *dst,
                        size_t cap, size_t *out_len, qv_error *err) {
  switch (id) {
    case QV_ND_CODEC_NONE:
      if (cap < len) return qv_error_set(err, QV_E_INVALID, "encode: output too small");
      if (len) memcpy(dst, src, len);
      *out_len = len;
      return QV_OK;
    case QV_ND_CODEC_LZ4: {
      if (len > LZ4_MAX_INPUT_SIZE || cap > INT32_MAX) cap = INT32_MAX;
      int n = LZ4_compress_default(src, dst, (int)len, (int)cap);
      if (n <= 0 && len) return qv_error_set(err, QV_E_IO, "lz4 compression failed");
      *out_len = (size_t)n;
      return QV_OK;
    }
    case QV_ND_CODEC_ZSTD: {
      zctx *z = zctx_get();
      if (z && !z->c) z->c = ZSTD_createCCtx();
      size_t n = z && z->c ? ZSTD_compressCCtx(z->c, dst, cap, src, len, level ? level : 3)
                           : ZSTD_compress(dst, cap, src, len, level ? level : 3);
      if (ZSTD_isError(n))
        return qv_error_set(err, QV_E_IO, "zstd compression failed: %s", ZSTD_getErrorName(n));
      *out_len = n;
      return QV_OK;
    }
    default: {
      const qv_nd_codec *c = find_user(id);
      if (!c) return qv_error_set(err, QV_E_UNSUPPORTED, "codec id %u is not registered", id);
      return c->encode(src, len, dst, cap, level, out_len, err);
    }
  }
}

qv_status qv__nd_decode(uint32_t id, const void *src, size_t len, void *dst, size_t raw_len,
                        qv_error *err) {
  switch (id) {
    case QV_ND_CODEC_NONE:
      if (len != raw_len)
        return qv_error_set(err, QV_E_CORRUPT, "stored %zu bytes but %zu expected", len, raw_len);
      if (len) memcpy(dst, src, len);
      return QV_OK;
    case QV_ND_CODEC_LZ4: {
      if (len > INT32_MAX || raw_len > INT32_MAX)
        return qv_error_set(err, QV_E_CORRUPT, "lz4 block too large");
      int n = LZ4_decompress_safe(src, dst, (int)len, (int)raw_len);
      if (n < 0 || (size_t)n != raw_len)
        return qv_error_set(err, QV_E_CORRUPT, "lz4 block does not decode to %zu bytes", raw_len);
      return QV_OK;
    }
    case QV_ND_CODEC_ZSTD: {
      zctx *z = zctx_get();
      if (z && !z->d) z->d = ZSTD_createDCtx();
      size_t n = z && z->d ? ZSTD_decompressDCtx(z->d, dst, raw_len, src, len)
                           : ZSTD_decompress(dst, raw_len, src, len);
      if (ZSTD_isError(n) || n != raw_len)
        return qv_error_set(err, QV_E_CORRUPT, "zstd frame does not decode to %zu bytes%s%s",
                            raw_len, ZSTD_isError(n) ? ": " : "",
                            ZSTD_isError(n) ? ZSTD_getErrorName(n) : "");
      return QV_OK;
    }
    default: {
      const qv_nd_codec *c = find_user(id);
      if (!c) return qv_error_set(err, QV_E_UNSUPPORTED, "codec id %u is not registered", id);
      return c->decode(src, len, dst, raw_len, err);
    }
  }
}
