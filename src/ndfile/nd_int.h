/* nd_int.h — ndfile internals shared by the module's files: in-memory layer model, footer
 * codec, chunk codecs, the decoded-chunk cache and region helpers. Not installed. */
#ifndef QV_ND_INT_H
#define QV_ND_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/core_int.h"
#include "quiver/ndfile.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ndfile stores elements in host order; only little-endian hosts are supported"
#endif

#define ND_VERSION 1u
#define ND_HEADER_LEN 16u
/* Header flag 1 (ALIGNED, spec §3): zero padding follows the header and the data region starts
 * at ND_DATA_ALIGN, so that blocks land on page boundaries. */
#define ND_HEAD_ALIGNED 1u
#define ND_DATA_ALIGN 4096u
/* A layer expected to hold at least this many block bytes is written aligned. */
#define ND_ALIGN_MIN ((uint64_t)64 << 10)
#define ND_TRAILER_LEN 40u
#define ND_CHUNK_ENT_LEN 72u
#define ND_FLAG_BASE 1u
#define ND_KIND_DEFINE 1
#define ND_KIND_UPDATE 2
#define ND_KIND_TOMBSTONE 3
#define ND_CHUNK_HAS_MINMAX 1u

extern const uint8_t qv__nd_magic_head[8];
extern const uint8_t qv__nd_magic_tail[8];

/* ---- a bump arena (per layer / per view) ---- */
typedef struct nd_arena_blk nd_arena_blk;
typedef struct nd_arena {
  const qv_allocator *alloc;
  nd_arena_blk *head;
} nd_arena;
void qv__nd_arena_init(nd_arena *a, const qv_allocator *alloc);
void qv__nd_arena_free(nd_arena *a);
void *qv__nd_arena_alloc(nd_arena *a, size_t size); /* 16-aligned, zeroed; NULL on OOM */
char *qv__nd_arena_strndup(nd_arena *a, const char *s, size_t n);

/* ---- model ---- */
typedef struct nd_chunk_ent {
  uint64_t chunk, offset, stored_len, raw_len;
  uint32_t codec, flags;
  uint64_t hash, n_fill, min, max;
} nd_chunk_ent;

typedef struct nd_attr {
  char *key;
  qv_nd_attr_kind kind;
  bool is_list;
  size_t count;
  void *values; /* uint8_t[] / int64_t[] / double[] / qv_nd_bytes[] (bytes follow in the block) */
} nd_attr;

typedef struct nd_meta {
  char *name;
  qv_nd_dtype dtype;
  uint32_t rank;
  uint64_t shape[QV_ND_MAX_RANK], chunk[QV_ND_MAX_RANK];
  char *dims[QV_ND_MAX_RANK]; /* never NULL ("" when unnamed) */
  uint8_t *fill;
  size_t fill_len;
  uint32_t codec;
  int level;
  nd_attr *attrs;
  size_t n_attrs;
  /* derived */
  size_t width;                 /* element bytes; 0 for var */
  uint64_t grid[QV_ND_MAX_RANK]; /* chunks per dimension */
  uint64_t n_chunks, count;
} nd_meta;

typedef struct nd_entry {
  uint8_t kind;
  nd_meta meta; /* name always set; the rest unless TOMBSTONE */
  nd_chunk_ent *chunks;
  uint64_t n_chunks;
} nd_entry;

typedef struct nd_layer {
  uint64_t seq;
  uint32_t flags;
  uint64_t size;
  uint64_t data_start; /* where the blocks start: ND_HEADER_LEN, or ND_DATA_ALIGN when aligned */
  char *path;
  nd_entry *entries;
  size_t n_entries;
  nd_arena arena;
  /* The whole object mapped read-only (store->map), or NULL: blocks are read with read_at.
   * Every block lies inside the object (checked at footer parse), so within the mapping. */
  const uint8_t *map;
  /* The mapping as a refcounted buffer (released through store->unmap when the last reference
   * goes): zero-copy views of blocks (qv_nd_read_arrow) hold slices of it, so they outlive the
   * layer (compaction, close) — the store must outlive them. Empty when not mapped. */
  qv_buffer mapbuf;
} nd_layer;

/* Footer parse of layer bytes (whole object). Fills *out (arena inited by the caller). The
 * blocks must tile [data_start, data_end): from the end of the header (and its padding) to where
 * the footer starts. */
qv_status qv__nd_layer_parse_tail(const uint8_t *trailer, uint64_t obj_size,
                                  const qv_nd_limits *lim, uint64_t *footer_len,
                                  uint64_t *footer_hash, qv_error *err);
qv_status qv__nd_footer_parse(const uint8_t *p, size_t len, uint64_t seq, uint64_t data_start,
                              uint64_t data_end, const qv_nd_limits *lim, nd_layer *out,
                              qv_error *err);
/* Loads and checks layer `seq` of the file at `path`, and maps it when the store can (a store
 * that cannot map it leaves the layer unmapped; QV_E_NOTFOUND and QV_E_CORRUPT from map, an
 * object gone or changed since its size was read, are errors). */
qv_status qv__nd_layer_load(qv_nd_store *st, const char *path, uint64_t seq,
                            const qv_nd_limits *lim, const qv_allocator *a, nd_layer *out,
                            qv_error *err);
void qv__nd_layer_free(nd_layer *l); /* also unmaps it */
/* Footer serialisation of one entry / header / trailer. */
qv_status qv__nd_put_entry(qv_mbuffer *b, const nd_entry *e, qv_error *err);
/* The header region of a layer, padding included when aligned; returns its length (the data
 * region's start). */
size_t qv__nd_header(uint8_t out[ND_DATA_ALIGN], bool aligned);
void qv__nd_trailer(uint8_t out[ND_TRAILER_LEN], uint64_t footer_len, uint64_t footer_hash);
uint64_t qv__nd_hash(const void *p, size_t n);
uint64_t qv__nd_hash_generic(const void *p, size_t n); /* without the AVX2 path (tests) */
/* Incremental checksum: init, update over consecutive pieces, digest (equal to qv__nd_hash of
 * the joined bytes). The state is opaque storage for an XXH3 state. init_parts instead gives
 * the checksum of a segmented plain block (§5a): the bytes are cut into parts of `part` bytes
 * (the last may be shorter) and the digest is qv__nd_hash_combine of their checksums. */
typedef struct nd_hasher {
  _Alignas(64) uint8_t state[768];
  _Alignas(64) uint8_t top[768]; /* parts mode: the checksum over the parts' checksums */
  uint64_t part, fill;           /* parts mode: part size (0: flat) and bytes in the current */
  int avx2;
} nd_hasher;
void qv__nd_hasher_init(nd_hasher *h);
void qv__nd_hasher_init_parts(nd_hasher *h, uint64_t part);
void qv__nd_hasher_update(nd_hasher *h, const void *p, size_t n);
uint64_t qv__nd_hasher_digest(nd_hasher *h);
/* The checksum of a segmented block from its parts' checksums: xxh3 of the n u64le values. */
uint64_t qv__nd_hash_combine(const uint64_t *d, size_t n);

/* ---- stored blocks (block.c; spec §5, §5a) ---- */
/* chunk entry flags bits 8..15: log2 of the segment size of a segmented block (0: one frame) */
#define ND_CHUNK_SEG_SHIFT 8u
#define ND_CHUNK_SEG_MASK 0xff00u
#define ND_SEG_MIN_LOG2 12u
#define ND_SEG_MAX_LOG2 30u
static inline unsigned qv__nd_seg_log2(const nd_chunk_ent *ce) {
  return (ce->flags & ND_CHUNK_SEG_MASK) >> ND_CHUNK_SEG_SHIFT;
}
/* Segments of a block (1 when it is not segmented). */
static inline uint64_t qv__nd_seg_count(const nd_chunk_ent *ce) {
  unsigned s = qv__nd_seg_log2(ce);
  return s ? ((ce->raw_len - 1) >> s) + 1 : 1;
}
/* The segment size log2 a writer with segments of 2^seg_log2 bytes (0: never) uses for a chunk
 * of raw_len bytes: 0 unless it makes two segments or more. */
static inline unsigned qv__nd_seg_for(unsigned seg_log2, uint64_t raw_len) {
  return seg_log2 && raw_len > ((uint64_t)1 << seg_log2) ? seg_log2 : 0;
}
/* Capacity qv__nd_block_encode needs (0 + err: unknown codec or too large). */
size_t qv__nd_block_bound(uint32_t codec, unsigned seg_log2, size_t raw_len, qv_error *err);
/* Encodes raw chunk bytes as a block with `codec` (segments of 2^seg_log2 bytes when seg_log2 is
 * not 0; see qv__nd_seg_for) into dst: sets ent->codec (none when the chunk does not compress),
 * the segment bits of ent->flags, ent->stored_len and ent->hash, and *blk to the block — dst,
 * or raw itself when it is stored plain. */
qv_status qv__nd_block_encode(uint32_t codec, int level, unsigned seg_log2, const uint8_t *raw,
                              size_t raw_len, uint8_t *dst, size_t cap, nd_chunk_ent *ent,
                              const uint8_t **blk, qv_error *err);
/* Where the segments of block blk (stored_len bytes, as described by ce) lie: offs[i] is the
 * offset of segment i's stored bytes, offs[n] = stored_len (n = qv__nd_seg_count). Checks the
 * segment table of a compressed block (QV_E_CORRUPT). */
qv_status qv__nd_seg_offsets(const nd_chunk_ent *ce, const uint8_t *blk, uint64_t *offs,
                             qv_error *err);
/* The checksum of a stored block (checks its segment table first). */
qv_status qv__nd_block_hash(const nd_chunk_ent *ce, const uint8_t *blk, uint64_t *out,
                            qv_error *err);
/* Decodes a stored block into dst (raw_len bytes), one segment after another. */
qv_status qv__nd_block_decode(const nd_chunk_ent *ce, const uint8_t *blk, uint8_t *dst,
                              qv_error *err);
/* "P/layer-%020llu.qnd" into buf. */
void qv__nd_layer_name(char *buf, size_t cap, const char *path, uint64_t seq);
/* Parses the layer number out of an object name under P/; false when not a layer name. */
bool qv__nd_layer_seq(const char *name, size_t prefix_len, uint64_t *seq);

/* Fills derived fields and checks the definition (limits, overflow). `what` names the array. */
qv_status qv__nd_meta_derive(nd_meta *m, const qv_nd_limits *lim, qv_error *err);
bool qv__nd_type_valid(qv_nd_dtype t);
bool qv__nd_type_var(qv_nd_dtype t);
/* The region start/shape of the bridges (Arrow, .npy), where NULL means "from 0" / "to the
 * end": fills st and sh (rank entries). A start past the end gives an empty extent, which the
 * region checks of qv_nd_read/qv_nd_write then report as out of range. */
void qv__nd_region_or_all(uint32_t rank, const uint64_t *array_shape, const uint64_t *start,
                          const uint64_t *shape, uint64_t *st, uint64_t *sh);
/* QV_E_RANGE "array 'name': region [s, +n) in dimension k is outside its extent e" unless the
 * region start/shape (rank entries) lies inside array_shape; *nelem = its element count. */
qv_status qv__nd_region_check(const char *name, uint32_t rank, const uint64_t *array_shape,
                              const uint64_t *start, const uint64_t *shape, uint64_t *nelem,
                              qv_error *err);
/* Clipped element count of chunk number c, and the chunk's origin/extent. */
uint64_t qv__nd_chunk_extent(const nd_meta *m, uint64_t c, uint64_t *origin, uint64_t *extent);
/* Statistics of a raw chunk. */
void qv__nd_chunk_stats(const nd_meta *m, const uint8_t *raw, size_t raw_len, uint64_t nelem,
                        nd_chunk_ent *e);
/* Folds the statistics `seg` of a following piece of whole elements of the same fixed-width
 * chunk into `acc` (start from acc zeroed): the result equals qv__nd_chunk_stats over the
 * joined pieces. */
void qv__nd_chunk_stats_merge(const nd_meta *m, nd_chunk_ent *acc, const nd_chunk_ent *seg);

/* ---- codecs ---- */
size_t qv__nd_codec_bound(uint32_t id, size_t len, qv_error *err); /* 0 + err: unknown */
qv_status qv__nd_encode(uint32_t id, int level, const void *src, size_t len, void *dst,
                        size_t cap, size_t *out_len, qv_error *err);
qv_status qv__nd_decode(uint32_t id, const void *src, size_t len, void *dst, size_t raw_len,
                        qv_error *err);
bool qv__nd_codec_known(uint32_t id);

/* ---- decoded-chunk cache (thread-safe, refcounted entries) ---- */
typedef struct nd_cache nd_cache;
typedef struct nd_cached {
  const uint8_t *data;
  size_t len;
  void *ent_; /* private */
} nd_cached;
qv_status qv__nd_cache_new(size_t budget, const qv_allocator *a, nd_cache **out, qv_error *err);
void qv__nd_cache_free(nd_cache *c);
bool qv__nd_cache_get(nd_cache *c, uint64_t seq, uint64_t off, nd_cached *out);
/* Inserts `data` (allocated with the cache's allocator, len bytes, align 64; ownership passes
 * to the cache in every case, freed on failure) and returns a reference in *out. */
qv_status qv__nd_cache_put(nd_cache *c, uint64_t seq, uint64_t off, uint8_t *data, size_t len,
                           nd_cached *out, qv_error *err);
void qv__nd_cache_release(nd_cache *c, nd_cached *h);
void qv__nd_cache_clear(nd_cache *c);
size_t qv__nd_cache_budget(const nd_cache *c);

/* ---- region helpers ---- */
/* Copies the box `count` at src_start in a row-major src of src_shape to dst_start in dst of
 * dst_shape; width bytes per element. rank 0 copies one element. */
void qv__nd_copy_box(uint32_t rank, size_t width, const uint8_t *src, const uint64_t *src_shape,
                     const uint64_t *src_start, uint8_t *dst, const uint64_t *dst_shape,
                     const uint64_t *dst_start, const uint64_t *count);
/* The same with cache-bypassing stores: for outputs much larger than the caches, where it
 * saves the read-for-ownership of every destination line (plain memcpy elsewhere). */
void qv__nd_copy_box_stream(uint32_t rank, size_t width, const uint8_t *src,
                            const uint64_t *src_shape, const uint64_t *src_start, uint8_t *dst,
                            const uint64_t *dst_shape, const uint64_t *dst_start,
                            const uint64_t *count);

#endif
