/* fb_build.h — a small FlatBuffers builder (internal): builds back to front like the reference
 * design; tables with vtables, vectors of scalars / structs / offsets, strings, unions.
 *
 * Errors are sticky: every call after a failure does nothing and returns 0, and
 * qv__fbb_finish reports the first failure. So callers chain calls and check once.
 * Offsets (qv__fbref) are positions measured from the END of the buffer, as in the reference
 * design; 0 means "none" (no object ends at the very end of a buffer).
 */
#ifndef QV_FB_BUILD_H
#define QV_FB_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/quiver.h"
#include "quiver/type.h"

typedef uint32_t qv__fbref;

/* The largest slot number a table may use (Arrow's tables use < 10). */
#define QV__FBB_MAX_SLOTS 16
/* How many distinct vtables are remembered for sharing (identical vtables are written once,
 * as the reference builder does; beyond this many, new ones are simply written). */
#define QV__FBB_MAX_VTABLES 64
/* The largest buffer built (well under the 2 GiB uoffset limit). */
#define QV__FBB_MAX_SIZE ((size_t)1 << 30)

typedef struct qv__fbb {
  const qv_allocator *alloc;
  uint8_t *buf; /* bytes in use are buf[cap - size, cap) */
  size_t cap;
  size_t size;
  size_t minalign;
  qv_status status;
  char what[96]; /* what failed, for the error message */
  /* table under construction */
  bool in_table;
  size_t table_start;
  int max_slot; /* highest slot used + 1 */
  uint32_t slot_pos[QV__FBB_MAX_SLOTS]; /* 0 = absent, else position from the end */
  /* vtables written so far (positions from the end), for sharing identical ones */
  uint32_t vtables[QV__FBB_MAX_VTABLES];
  int n_vtables;
} qv__fbb;

void qv__fbb_init(qv__fbb *b, const qv_allocator *alloc);
void qv__fbb_reset(qv__fbb *b);
/* Forget the contents (keep the memory) to build another buffer. */
void qv__fbb_clear(qv__fbb *b);

/* Records a failure (the first one wins; later calls do nothing). */
void qv__fbb_fail(qv__fbb *b, qv_status s, const char *what);

/* Strings (need not be NUL-terminated; a NUL is added). s may be NULL when len is 0. */
qv__fbref qv__fbb_string(qv__fbb *b, const char *s, size_t len);
qv__fbref qv__fbb_cstring(qv__fbb *b, const char *s);

/* Vectors. Elements given in host order; written little-endian. */
qv__fbref qv__fbb_vec_i32(qv__fbb *b, const int32_t *v, size_t n);
qv__fbref qv__fbb_vec_i64(qv__fbb *b, const int64_t *v, size_t n);
/* A vector of n structs of `elem_size` bytes each (already in wire/LE form), aligned to
 * `align`. */
qv__fbref qv__fbb_vec_structs(qv__fbb *b, const void *v, size_t elem_size, size_t n,
                              size_t align);
/* A vector of offsets to tables/strings/vectors built earlier. */
qv__fbref qv__fbb_vec_refs(qv__fbb *b, const qv__fbref *v, size_t n);

/* Tables: start, add fields (any order), end. No other object may be built in between.
 * Scalar adders skip the field when it equals the schema default (the reader then sees the
 * default); the *_force variants always write it. */
void qv__fbb_table_start(qv__fbb *b);
void qv__fbb_add_bool(qv__fbb *b, int slot, bool v, bool dflt);
void qv__fbb_add_u8(qv__fbb *b, int slot, uint8_t v, uint8_t dflt);
void qv__fbb_add_i16(qv__fbb *b, int slot, int16_t v, int16_t dflt);
void qv__fbb_add_i32(qv__fbb *b, int slot, int32_t v, int32_t dflt);
void qv__fbb_add_i64(qv__fbb *b, int slot, int64_t v, int64_t dflt);
/* An offset field; ref 0 = absent (not written). */
void qv__fbb_add_ref(qv__fbb *b, int slot, qv__fbref ref);
/* An inline struct field of `size` bytes (wire form) aligned to `align`. */
void qv__fbb_add_struct(qv__fbb *b, int slot, const void *data, size_t size, size_t align);
qv__fbref qv__fbb_table_end(qv__fbb *b);

/* Finishes the buffer with `root` as the root table. On success *data and *len describe the
 * finished FlatBuffer (inside the builder's memory, valid until the next call on b); the start
 * is aligned for every object in it when placed at an 8-byte aligned address. Returns the first
 * failure of any call since the last clear (QV_E_NOMEM, QV_E_LIMIT, QV_E_INVALID). */
qv_status qv__fbb_finish(qv__fbb *b, qv__fbref root, const uint8_t **data, size_t *len,
                         qv_error *err);

/* ======================================================================================== */
/* Arrow metadata encoding (meta_write.c)                                                    */
/* ======================================================================================== */

/* FieldNode and Buffer structs of a RecordBatch, and Block of the file footer. */
typedef struct qv__wnode { int64_t length, null_count; } qv__wnode;
typedef struct qv__wbuf { int64_t offset, length; } qv__wbuf;
typedef struct qv__wblock { int64_t offset; int32_t meta_len; int64_t body_len; } qv__wblock;

/* A RecordBatch header to encode. codec: -1 = uncompressed, else QV_FB_COMPRESSION_*. */
typedef struct qv__wbatch {
  int64_t length;
  const qv__wnode *nodes;
  size_t n_nodes;
  const qv__wbuf *buffers;
  size_t n_buffers;
  int codec;
  const int64_t *variadic; /* variadicBufferCounts (one per view-typed array, pre-order) */
  size_t n_variadic;
} qv__wbatch;

/* Dictionary ids of the schema's dictionary-encoded fields in pre-order (a field before its
 * children; for a dictionary field, the children of its value type follow). */
typedef struct qv__dict_ids {
  const int64_t *ids;
  size_t n;
} qv__dict_ids;

/* Each builds a complete Message FlatBuffer in b (cleared first) and returns it in *data and *len
 * (inside b's memory, valid until b is used again). QV_E_UNSUPPORTED for a type IPC cannot
 * carry; QV_E_INVALID; QV_E_NOMEM; QV_E_LIMIT. */
qv_status qv__meta_schema_message(qv__fbb *b, const qv_schema *s, const qv__dict_ids *ids,
                                  const uint8_t **data, size_t *len, qv_error *err);
qv_status qv__meta_batch_message(qv__fbb *b, const qv__wbatch *rb, int64_t body_len,
                                 const qv_metadata *md, const uint8_t **data, size_t *len,
                                 qv_error *err);
qv_status qv__meta_dictionary_message(qv__fbb *b, int64_t id, bool is_delta,
                                      const qv__wbatch *rb, int64_t body_len,
                                      const uint8_t **data, size_t *len, qv_error *err);
/* The file Footer (root Footer, not a Message); md (may be NULL) its custom_metadata. */
qv_status qv__meta_footer(qv__fbb *b, const qv_schema *s, const qv__dict_ids *ids,
                          const qv__wblock *dicts, size_t n_dicts, const qv__wblock *batches,
                          size_t n_batches, const qv_metadata *md, const uint8_t **data,
                          size_t *len, qv_error *err);

/* ======================================================================================== */
/* Body compression (compress.c)                                                             */
/* ======================================================================================== */

/* A compressor: the codec, its level and its context (kept across buffers; allocated through
 * `alloc` on first use). compression is QV_IPC_COMPRESSION_LZ4_FRAME or _ZSTD; level 0 = the
 * codec's default. */
typedef struct qv__ipc_compressor {
  int compression;
  int level;
  const qv_allocator *alloc;
  void *zstd; /* ZSTD_CCtx * */
  void *lz4;  /* LZ4F_cctx * */
} qv__ipc_compressor;

void qv__ipc_compressor_init(qv__ipc_compressor *c, int compression, int level,
                             const qv_allocator *alloc);
/* Frees the contexts (c stays initialised and usable). */
void qv__ipc_compressor_reset(qv__ipc_compressor *c);

/* Compresses `len` bytes into a new buffer in the IPC layout: int64 LE uncompressed length,
 * then one codec frame (LZ4 frame or ZSTD frame); when that is not smaller than the input the
 * prefix is -1 and the raw bytes follow. QV_E_NOMEM, QV_E_INVALID (bad codec), QV_E_IO (codec
 * failure). */
qv_status qv__ipc_compress(qv__ipc_compressor *c, const uint8_t *src, size_t len,
                           qv_buffer *out, qv_error *err);

#endif
