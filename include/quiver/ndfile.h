/* quiver/ndfile.h — ndfile: many named, chunked n-dimensional arrays in one object, stored as a
 * stack of checksummed layers (one per flush) in a pluggable store. Format: docs/spec/ndfile.md.
 *
 * Typical use:
 *   qv_nd_store *st; qv_nd_store_posix_new("/data", NULL, &st, &err);
 *   qv_nd_file *f;  qv_nd_create(st, "run1.nd", NULL, &f, &err);
 *   qv_nd_array_def d = qv_nd_array_def_default();  d.name = "temp"; ...; qv_nd_define(f, &d, &err);
 *   qv_nd_write(f, "temp", start, shape, data, bytes, &err);  qv_nd_flush(f, &err);
 *   qv_nd_close(f);  qv_nd_store_close(st);
 *
 * Thread safety: one qv_nd_file may be used from several threads at once. Reads (qv_nd_read*,
 * qv_nd_info_get, qv_nd_stats_get, qv_nd_count/name, attribute reads) run in parallel; mutating calls are
 * serialised with them by an internal read/write lock. Stores must be safe for concurrent
 * read_at/size calls.
 */
#ifndef QUIVER_NDFILE_H
#define QUIVER_NDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/alloc.h"
#include "quiver/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- stores: a versioned vtable, modelled on SQLite's VFS ------------------------------- */

/* Version 2 added the optional map/unmap, writer_read_at and writer_appendv members at the end;
 * ndfile reads them only from stores that declare version >= 2 (version 1 stores keep working). */
#define QV_ND_STORE_VERSION 2

/* Capability bits of a store. */
#define QV_ND_CAP_ATOMIC_PUT 1u      /* writer_commit publishes all-or-nothing */
#define QV_ND_CAP_CONDITIONAL_PUT 2u /* writer_commit honours QV_ND_PUT_IF_ABSENT */
#define QV_ND_CAP_RANGED_READ 4u     /* read_at is cheap for small ranges (no whole-object read) */
#define QV_ND_CAP_DURABLE 8u         /* sync makes data survive a crash */

/* writer_commit flags */
#define QV_ND_PUT_IF_ABSENT 1u /* fail with QV_E_EXISTS (publishing nothing) if the name exists */

typedef struct qv_nd_store qv_nd_store;
typedef struct qv_nd_store_writer qv_nd_store_writer;

/* One destination buffer of a scattered read. */
typedef struct qv_nd_iovec {
  void *base;
  size_t len;
} qv_nd_iovec;

/* Called once per object name by list(); return non-zero to stop early. `name` is borrowed for
 * the call only. */
typedef int (*qv_nd_list_fn)(void *ctx, const char *name, uint64_t size);

/* The store interface. Object names are '/'-separated relative paths (no "..", no leading '/').
 * A store implementation embeds this struct first and fills every function pointer.
 * All functions return QV_OK or a negative status and fill `err` when not NULL.
 * The operations map onto an object store (S3 and the like) directly: read_at = ranged GET,
 * size = HEAD, list = LIST of a prefix, writer = (multipart) PUT completed with
 * "If-None-Match: *" for QV_ND_PUT_IF_ABSENT, remove = DELETE, sync = nothing to do. */
struct qv_nd_store {
  int version;   /* QV_ND_STORE_VERSION */
  unsigned caps; /* QV_ND_CAP_* */
  const char *name; /* "posix", "memory", "fault" ... */
  /* Reads exactly len bytes at offset. QV_E_NOTFOUND: no such object; QV_E_RANGE: the object
   * is shorter than offset+len; QV_E_IO. Must be safe to call from several threads at once. */
  qv_status (*read_at)(qv_nd_store *s, const char *path, uint64_t offset, void *buf, size_t len,
                       qv_error *err);
  /* Optional (NULL: not provided): reads the bytes at offset, as read_at would, scattered over
   * n buffers in order (sum of their lengths in total). Same statuses as read_at; on failure
   * the buffers' contents are unspecified. Thread-safe like read_at. */
  qv_status (*read_atv)(qv_nd_store *s, const char *path, uint64_t offset,
                        const struct qv_nd_iovec *iov, size_t n, qv_error *err);
  /* The size of an object. QV_E_NOTFOUND, QV_E_IO. Thread-safe like read_at. */
  qv_status (*size)(qv_nd_store *s, const char *path, uint64_t *out, qv_error *err);
  /* Calls fn for every object whose name starts with prefix (any order). ndfile lists only
   * "DIR/" prefixes and needs only the objects directly in DIR; deeper ones may be listed too. */
  qv_status (*list)(qv_nd_store *s, const char *prefix, qv_nd_list_fn fn, void *ctx,
                    qv_error *err);
  /* Starts writing a whole new object that becomes visible only at writer_commit. */
  qv_status (*writer_open)(qv_nd_store *s, const char *path, qv_nd_store_writer **out,
                           qv_error *err);
  /* Appends bytes to the object being written. */
  qv_status (*writer_append)(qv_nd_store_writer *w, const void *data, size_t len, qv_error *err);
  /* Publishes the object atomically (flags: QV_ND_PUT_IF_ABSENT => QV_E_EXISTS when the name
   * exists) and frees the writer, whatever the outcome. */
  qv_status (*writer_commit)(qv_nd_store_writer *w, unsigned flags, qv_error *err);
  /* Discards the object being written and frees the writer. Accepts NULL. */
  void (*writer_abort)(qv_nd_store_writer *w);
  /* Removes an object. QV_E_NOTFOUND when absent. */
  qv_status (*remove)(qv_nd_store *s, const char *path, qv_error *err);
  /* Makes a published object, or the removal of one, durable (posix: fsync of the directory). */
  qv_status (*sync)(qv_nd_store *s, const char *path, qv_error *err);
  /* Frees the store. */
  void (*close)(qv_nd_store *s);
  /* ---- version 2 (all optional: NULL = not provided) ---- */
  /* Maps the whole published object `path`, whose size is `size`, read-only into memory:
   * *base receives its first byte and *token what unmap needs. ndfile maps layers (which are
   * immutable once published) to checksum and decode blocks in place instead of copying them
   * out first. QV_E_UNSUPPORTED when this object cannot be mapped (ndfile then uses read_at);
   * QV_E_NOTFOUND; QV_E_CORRUPT when the object's size is not `size`. The mapping must stay
   * valid until unmap, even if the object is removed meanwhile. Thread-safe like read_at. */
  qv_status (*map)(qv_nd_store *s, const char *path, uint64_t size, const void **base,
                   void **token, qv_error *err);
  /* Releases a mapping made by map. */
  void (*unmap)(qv_nd_store *s, void *token);
  /* Reads back len bytes at offset of the object being written by w (only bytes already
   * appended). Lets ndfile stream whole chunks into the next layer while they are written and
   * still read them before the flush publishes it. QV_E_RANGE beyond what was appended;
   * QV_E_IO. Not called concurrently with writer_append on the same writer. */
  qv_status (*writer_read_at)(qv_nd_store_writer *w, uint64_t offset, void *buf, size_t len,
                              qv_error *err);
  /* Appends n buffers in order, as writer_append of their concatenation would (posix: writev):
   * ndfile streams the rows of a chunk straight from the caller's array without gathering
   * them first. Same statuses as writer_append. */
  qv_status (*writer_appendv)(qv_nd_store_writer *w, const struct qv_nd_iovec *iov, size_t n,
                              qv_error *err);
};

/* A store over a directory: object "a/b" is file root/a/b. Publication writes root/a/.tmp-*,
 * fsyncs it, then link()s it to the final name (so publication is atomic and conditional) and
 * unlinks the temporary; sync fsyncs the directory. `root` must exist. Opening a writer removes
 * temporaries that crashed processes left in its directory (".tmp-<pid>-*" whose process is
 * gone and that were not modified for an hour). Published layers are
 * mapped read-only (mmap, MAP_SHARED; one mapping per loaded layer, no descriptor kept open)
 * and blocks are checksummed and decoded from the mapping; QV_ND_POSIX_NO_MMAP reads with pread
 * instead. On Linux a writer past 1 MiB reserves disk blocks ahead of its appends (fallocate,
 * up to 256 MiB beyond what is written, released before publication) and a durable writer
 * starts the writeback of each 32 MiB as it goes (sync_file_range): both only speed writes up. */
QV_API qv_status qv_nd_store_posix_new(const char *root, const qv_allocator *a,
                                       qv_nd_store **out, qv_error *err);
/* Flags of qv_nd_store_posix_open. */
#define QV_ND_POSIX_NO_FSYNC 1u /* never fsync: for scratch data only — after a power loss recent
                                   layers may be missing or torn (torn ones are then reported as
                                   QV_E_CORRUPT); publication stays atomic for other processes */
#define QV_ND_POSIX_NO_MMAP 2u  /* never map layers (map returns QV_E_UNSUPPORTED): reads use
                                   pread. By default published layers are mapped read-only;
                                   like every memory-mapped reader, a process reading a layer
                                   that someone else truncates in place gets SIGBUS — layers are
                                   immutable, so only outside tampering does that */
/* Like qv_nd_store_posix_new with QV_ND_POSIX_* flags. */
QV_API qv_status qv_nd_store_posix_open(const char *root, unsigned flags, const qv_allocator *a,
                                        qv_nd_store **out, qv_error *err);
/* A store in memory (for tests and scratch use); thread-safe. Its map hands out a reference to
 * an object's bytes (kept alive until unmap, even if the object is removed or replaced). */
QV_API qv_status qv_nd_store_memory_new(const qv_allocator *a, qv_nd_store **out, qv_error *err);
/* Closes any store. Accepts NULL. */
QV_API void qv_nd_store_close(qv_nd_store *s);

/* ---- fault-injecting store (tests) ------------------------------------------------------ */

/* What happens at the trigger operation of a fault store. Operations counted: writer_open,
 * writer_append, writer_commit, remove, sync (the mutating ones), 1-based. */
typedef enum qv_nd_fault_mode {
  QV_ND_FAULT_NONE = 0,
  QV_ND_FAULT_FAIL = 1,  /* that operation fails with QV_E_IO and does nothing */
  QV_ND_FAULT_CRASH = 2, /* that and every later operation fail; then qv_nd_fault_recover drops
                            everything not synced (published-but-unsynced objects vanish,
                            unsynced removals are undone) */
  QV_ND_FAULT_TEAR = 3   /* a writer_append keeps only a prefix of its bytes and fails */
} qv_nd_fault_mode;

/* Wraps a memory store it creates. Count operations with qv_nd_fault_ops. */
QV_API qv_status qv_nd_store_fault_new(const qv_allocator *a, qv_nd_store **out, qv_error *err);
/* Arms the fault at the `at`-th mutating operation from now (1-based; 0 disarms). */
QV_API void qv_nd_fault_arm(qv_nd_store *fault, qv_nd_fault_mode mode, uint64_t at);
/* Mutating operations counted since the last arm. */
QV_API uint64_t qv_nd_fault_ops(const qv_nd_store *fault);
/* True once the fault fired. */
QV_API bool qv_nd_fault_fired(const qv_nd_store *fault);
/* After a crash: drops unsynced changes (see QV_ND_FAULT_CRASH) and disarms; the store then
 * works normally again, like a machine after reboot. */
QV_API void qv_nd_fault_recover(qv_nd_store *fault);

/* ---- dtypes, codecs ----------------------------------------------------------------------- */

typedef enum qv_nd_type {
  QV_ND_BOOL = 1,
  QV_ND_INT8 = 2,
  QV_ND_INT16 = 3,
  QV_ND_INT32 = 4,
  QV_ND_INT64 = 5,
  QV_ND_UINT8 = 6,
  QV_ND_UINT16 = 8,
  QV_ND_UINT32 = 9,
  QV_ND_UINT64 = 10,
  QV_ND_FLOAT32 = 11,
  QV_ND_FLOAT64 = 12,
  QV_ND_TIMESTAMP_NS = 13, /* int64 nanoseconds since the Unix epoch */
  QV_ND_STRING = 14,       /* variable-length UTF-8 */
  QV_ND_BINARY = 15        /* variable-length bytes */
} qv_nd_type;

/* An element type: `type`, or a fixed-size list of `list_size` values of a numeric `type`. */
typedef struct qv_nd_dtype {
  qv_nd_type type;
  uint32_t list_size; /* 0 = scalar */
} qv_nd_dtype;

/* "float32", "list<int16, 3>", ...; "?" for an invalid dtype. Writes into buf (size ≥ 32). */
QV_API const char *qv_nd_dtype_str(qv_nd_dtype t, char *buf, size_t size);
/* Parses "float32", "f4", "int64", "string", "list<float32,3>" ... QV_E_INVALID otherwise. */
QV_API qv_status qv_nd_dtype_parse(const char *s, qv_nd_dtype *out, qv_error *err);
/* Bytes per element; 0 for string/binary and for invalid dtypes. */
QV_API size_t qv_nd_dtype_width(qv_nd_dtype t);

#define QV_ND_CODEC_NONE 0u
#define QV_ND_CODEC_LZ4 1u
#define QV_ND_CODEC_ZSTD 2u
#define QV_ND_CODEC_USER_MIN 128u /* user codecs use ids 128..65535 */

/* A user codec. Functions must be thread-safe (they are called from concurrent readers). */
typedef struct qv_nd_codec {
  uint32_t id;
  const char *name;
  /* Upper bound of the encoded size of `raw_len` bytes. */
  size_t (*bound)(size_t raw_len);
  /* Encodes src into dst (capacity cap); sets *out_len. */
  qv_status (*encode)(const void *src, size_t len, void *dst, size_t cap, int level,
                      size_t *out_len, qv_error *err);
  /* Decodes src into exactly raw_len bytes at dst; anything else is QV_E_CORRUPT. */
  qv_status (*decode)(const void *src, size_t len, void *dst, size_t raw_len, qv_error *err);
} qv_nd_codec;

/* Registers a user codec (process-wide; `codec` must stay valid). QV_E_INVALID for an id
 * outside 128..65535 or missing functions; QV_E_EXISTS when the id is taken; QV_E_LIMIT when
 * 64 codecs are registered already. */
QV_API qv_status qv_nd_codec_register(const qv_nd_codec *codec, qv_error *err);
/* "none", "lz4", "zstd" or a registered name; NULL when unknown. */
QV_API const char *qv_nd_codec_name(uint32_t id);
/* Looks a codec up by name. QV_E_NOTFOUND. */
QV_API qv_status qv_nd_codec_find(const char *name, uint32_t *id, qv_error *err);

/* ---- open / create -------------------------------------------------------------------------- */

typedef struct qv_nd_limits {
  uint64_t max_footer_bytes;  /* 256 MiB */
  uint64_t max_arrays;        /* 1,000,000 per layer */
  uint32_t max_rank;          /* 32 (hard maximum 32) */
  uint32_t max_name;          /* 4096 */
  uint64_t max_attrs;         /* 65,536 per array */
  uint64_t max_attr_bytes;    /* 16 MiB per attribute value */
  uint64_t max_chunk_bytes;   /* 1 GiB decoded per chunk */
  uint64_t max_layers;        /* 1,000,000 */
} qv_nd_limits;

#define QV_ND_SEGMENTS_OFF SIZE_MAX

typedef struct qv_nd_options {
  const qv_allocator *alloc;  /* NULL: default */
  size_t cache_bytes;         /* budget of the decoded-chunk LRU cache; default 64 MiB; 0: none.
                                 A qv_nd_read of 32 MiB or more that exceeds the budget does not
                                 go through it (a scan would only evict it) */
  size_t max_pending_bytes;   /* a write that leaves more unflushed chunk bytes in memory
                                 flushes; 256 MiB. Whole-chunk blocks of 64 KiB or more are
                                 streamed into the next layer as they are written (stores of
                                 version >= 2 with writer_read_at; spec §2a) and do not count,
                                 except the bytes of streamed blocks overwritten since */
  unsigned threads;           /* threads a read or write spreading over several chunks may use
                                 (checksums, statistics, codecs in parallel): 0 = automatic
                                 (default): the online CPUs, at most 8, for operations of 8 MiB
                                 or more — smaller ones stay on the calling thread; 1 = the
                                 calling thread only; n = up to n (max 64) whatever the size.
                                 The segments of one chunk (segment_bytes) are checked and
                                 decoded by the calling thread and helper threads of the handle
                                 (threads - 1, at most 7 and at most the online CPUs - 1;
                                 automatic: for chunks of 1 MiB or more), started at first use
                                 and stopped by qv_nd_close; a helper polls for the next chunk
                                 for 0.2 ms before it sleeps. In a child process after fork() a
                                 handle does all its work on the calling thread (safe only if no
                                 other thread was inside a call on it at the fork) */
  size_t segment_bytes;       /* chunks larger than this are written as segments of this many
                                 bytes, checksummed and compressed independently, so that one
                                 chunk is checked and decoded by several threads (spec §5a);
                                 a power of two from 4 KiB to 1 GiB; 0: the default, 2 MiB;
                                 QV_ND_SEGMENTS_OFF: never (readers handle both) */
  bool read_only;             /* mutating calls fail with QV_E_STATE */
  uint64_t as_of_layer;       /* 0: newest; n: open the state as of layer n (read-only) */
  qv_nd_limits limits;
} qv_nd_options;

QV_API qv_nd_options qv_nd_options_default(void);

typedef struct qv_nd_file qv_nd_file;

/* Creates a new empty ndfile at `path` (publishes layer 1, a base). The store must outlive the
 * file. QV_E_EXISTS when layers already exist there; QV_E_IO... */
QV_API qv_status qv_nd_create(qv_nd_store *store, const char *path, const qv_nd_options *opts,
                              qv_nd_file **out, qv_error *err);
/* Opens an existing ndfile: QV_E_NOTFOUND (no layers), QV_E_CORRUPT (names what is wrong),
 * QV_E_LIMIT, QV_E_UNSUPPORTED (newer format version), QV_E_IO. */
QV_API qv_status qv_nd_open(qv_nd_store *store, const char *path, const qv_nd_options *opts,
                            qv_nd_file **out, qv_error *err);
/* Closes the handle; unflushed changes are discarded (call qv_nd_flush first). Accepts NULL. */
QV_API void qv_nd_close(qv_nd_file *f);

/* ---- arrays ----------------------------------------------------------------------------- */

#define QV_ND_MAX_RANK 32

typedef struct qv_nd_array_def {
  const char *name;          /* 1..max_name bytes */
  qv_nd_dtype dtype;
  uint32_t rank;             /* 0..32 */
  const uint64_t *shape;     /* rank entries */
  const uint64_t *chunk_shape; /* rank entries, each ≥ 1; NULL: whole array as one chunk */
  const char *const *dim_names; /* NULL, or rank strings (NULL entries = unnamed) */
  const void *fill;          /* NULL: zero / empty; fixed-width: exactly the element width */
  size_t fill_len;
  uint32_t codec;            /* QV_ND_CODEC_* or a registered id */
  int level;                 /* codec level (zstd: 1..22; default 3; lz4: ignored) */
} qv_nd_array_def;

QV_API qv_nd_array_def qv_nd_array_def_default(void);

/* Defines a new array (pending until flush). QV_E_EXISTS when the name is live; QV_E_INVALID
 * for a bad definition; QV_E_LIMIT (chunk larger than max_chunk_bytes). A name that was deleted
 * starts clean: no chunk of its earlier life is visible. */
QV_API qv_status qv_nd_define(qv_nd_file *f, const qv_nd_array_def *def, qv_error *err);
/* Deletes an array (a tombstone at the next flush). QV_E_NOTFOUND. */
QV_API qv_status qv_nd_delete(qv_nd_file *f, const char *name, qv_error *err);

/* Information about an array; strings and arrays point into the file and stay valid until the
 * next mutating call on the file or qv_nd_close. */
typedef struct qv_nd_info {
  const char *name;
  qv_nd_dtype dtype;
  uint32_t rank;
  const uint64_t *shape;
  const uint64_t *chunk_shape;
  const char *const *dim_names; /* rank entries; "" when unnamed */
  const void *fill;
  size_t fill_len;
  uint32_t codec;
  int level;
  uint64_t n_chunks;         /* chunks in the grid */
  uint64_t stored_chunks;    /* chunks that exist (not fill) */
  uint64_t stored_bytes;     /* their encoded bytes (flushed chunks) */
  uint64_t segmented_chunks; /* of those, chunks stored in segments (spec §5a; chunks written
                                since the last flush count once encoded) */
  uint64_t defined_in_layer; /* layer that started this incarnation (0: not yet flushed) */
} qv_nd_info;

QV_API qv_status qv_nd_info_get(qv_nd_file *f, const char *name, qv_nd_info *out, qv_error *err);
/* Number of live arrays, and the i-th name in sorted order (borrowed like qv_nd_info). */
QV_API size_t qv_nd_count(qv_nd_file *f);
QV_API const char *qv_nd_name(qv_nd_file *f, size_t i);

/* ---- region I/O ----------------------------------------------------------------------------- */

/* Writes the region [start, start+shape) of a fixed-width array from `data` (row-major, exactly
 * product(shape) × width bytes = `len`). Partially covered chunks are read, modified and
 * written. QV_E_RANGE when the region is outside the array; QV_E_TYPE for string/binary arrays;
 * QV_E_INVALID when len does not match. For rank 0, start and shape are ignored (may be NULL).
 * A write either applies entirely (pending until the next flush) or not at all — except that when
 * it leaves more than opts.max_pending_bytes unflushed it flushes, and a failure of that flush
 * (e.g. QV_E_CONFLICT) is returned although the write itself is kept pending. The data is copied:
 * `data` may be reused as soon as the call returns. */
QV_API qv_status qv_nd_write(qv_nd_file *f, const char *name, const uint64_t *start,
                             const uint64_t *shape, const void *data, size_t len, qv_error *err);
/* Reads a region into `out` (len bytes exactly). Unwritten chunks read as the fill value.
 * Decodes only the chunks the region touches. QV_E_RANGE, QV_E_TYPE, QV_E_CORRUPT (names the
 * layer, array and chunk), QV_E_IO. */
QV_API qv_status qv_nd_read(qv_nd_file *f, const char *name, const uint64_t *start,
                            const uint64_t *shape, void *out, size_t len, qv_error *err);

/* Variable-length values (string/binary arrays): value i is data[offsets[i] .. offsets[i+1]). */
typedef struct qv_nd_varbuf {
  uint64_t *offsets; /* n + 1 entries */
  uint8_t *data;
  size_t n;
  size_t data_len;
  const qv_allocator *alloc;
} qv_nd_varbuf;
/* Frees what qv_nd_read_var allocated. Accepts NULL and a zeroed struct. */
QV_API void qv_nd_varbuf_reset(qv_nd_varbuf *v);
/* Writes a region of a string/binary array: `n` = product(shape) values given as pointers and
 * lengths. QV_E_TYPE for fixed-width arrays. */
QV_API qv_status qv_nd_write_var(qv_nd_file *f, const char *name, const uint64_t *start,
                                 const uint64_t *shape, const void *const *values,
                                 const size_t *lens, size_t n, qv_error *err);
/* Reads a region of a string/binary array into *out (allocated; free with qv_nd_varbuf_reset). */
QV_API qv_status qv_nd_read_var(qv_nd_file *f, const char *name, const uint64_t *start,
                                const uint64_t *shape, qv_nd_varbuf *out, qv_error *err);

/* ---- attributes --------------------------------------------------------------------------- */

typedef enum qv_nd_attr_kind {
  QV_ND_ATTR_BOOL = 1,
  QV_ND_ATTR_INT = 2,    /* int64 */
  QV_ND_ATTR_FLOAT = 3,  /* double */
  QV_ND_ATTR_STRING = 4,
  QV_ND_ATTR_BINARY = 5
} qv_nd_attr_kind;

typedef struct qv_nd_bytes {
  const void *data;
  size_t len;
} qv_nd_bytes;

/* A typed attribute value: a scalar (is_list false, count 1) or a list of `count` values.
 * `values` points at count bools (uint8_t 0/1), int64_t, double, or qv_nd_bytes. */
typedef struct qv_nd_attr {
  qv_nd_attr_kind kind;
  bool is_list;
  size_t count;
  const void *values;
} qv_nd_attr;

/* Sets (replaces) attribute `key` of an array; copied. QV_E_NOTFOUND, QV_E_INVALID, QV_E_LIMIT. */
QV_API qv_status qv_nd_attr_set(qv_nd_file *f, const char *array, const char *key,
                                const qv_nd_attr *value, qv_error *err);
/* Gets an attribute; *out points into the file (valid until the next mutating call).
 * QV_E_NOTFOUND when the array or key does not exist. */
QV_API qv_status qv_nd_attr_get(qv_nd_file *f, const char *array, const char *key,
                                qv_nd_attr *out, qv_error *err);
/* Removes an attribute. QV_E_NOTFOUND. */
QV_API qv_status qv_nd_attr_remove(qv_nd_file *f, const char *array, const char *key,
                                   qv_error *err);
/* Number of attributes, and the i-th key (sorted; borrowed). 0 / NULL for an unknown array. */
QV_API size_t qv_nd_attr_count(qv_nd_file *f, const char *array);
QV_API const char *qv_nd_attr_key(qv_nd_file *f, const char *array, size_t i);

/* ---- statistics --------------------------------------------------------------------------- */

/* Statistics of an array over its current chunks (flushed and pending). min/max ignore NaN and
 * are valid when has_minmax; they are in the stat domain of the dtype: `i` for signed ints,
 * bool and timestamp, `u` for unsigned ints, `f` for floats (leaf values for lists). */
typedef struct qv_nd_stats {
  uint64_t count;      /* elements in the array */
  uint64_t fill_count; /* elements equal to the fill value or never written */
  bool has_minmax;
  union { int64_t i; uint64_t u; double f; } min, max;
} qv_nd_stats;

QV_API qv_status qv_nd_stats_get(qv_nd_file *f, const char *name, qv_nd_stats *out,
                                 qv_error *err);

/* ---- layers -------------------------------------------------------------------------------- */

/* Writes pending changes as a new layer. No-op when nothing changed. QV_E_CONFLICT when another
 * writer published the next layer first (pending changes are kept); QV_E_IO... After a failure
 * between publication and sync the handle refuses further writes (QV_E_STATE): reopen. So does
 * a publication that fails after whole chunks were streamed into the layer (spec §2a): those
 * unflushed changes are lost with it, and the error says so. */
QV_API qv_status qv_nd_flush(qv_nd_file *f, qv_error *err);
/* Flushes, then merges all layers into one new base layer, then removes the older layers.
 * Crash-safe at every step (docs/spec/ndfile.md §2). QV_E_CONFLICT like qv_nd_flush. Other
 * handles opened before the compaction may then fail to read removed layers (QV_E_NOTFOUND):
 * reopen them. If removing an old layer fails, the error is returned but the compaction stands
 * (the leftover is ignored by readers and removed by the next compaction). */
QV_API qv_status qv_nd_compact(qv_nd_file *f, qv_error *err);
/* Number of layers in the open stack (newest base up to newest layer). */
QV_API size_t qv_nd_layer_count(qv_nd_file *f);
/* Number of the newest layer in the open stack, and of the oldest (the base). */
QV_API uint64_t qv_nd_layer_top(qv_nd_file *f);
QV_API uint64_t qv_nd_layer_base(qv_nd_file *f);
/* One layer of the open stack (index 0 = newest). */
typedef struct qv_nd_layer_desc {
  uint64_t seq;      /* layer number */
  uint64_t bytes;    /* object size */
  bool base;         /* written by create or compaction: nothing below it is read */
  size_t n_arrays;   /* array entries (definitions, updates, deletions) in this layer */
  uint64_t n_chunks; /* chunk blocks stored in this layer */
} qv_nd_layer_desc;
/* Describes layer i of the stack (0 = newest). QV_E_RANGE when i >= qv_nd_layer_count. */
QV_API qv_status qv_nd_layer_info(qv_nd_file *f, size_t i, qv_nd_layer_desc *out, qv_error *err);
/* True when there are unflushed changes. */
QV_API bool qv_nd_dirty(qv_nd_file *f);
/* Reads and checks every block of every layer in the stack (checksums, decoding, sizes).
 * QV_E_CORRUPT names the first bad block. */
QV_API qv_status qv_nd_verify(qv_nd_file *f, qv_error *err);

/* ---- NumPy .npy bridge ------------------------------------------------------------------- */

/* A parsed .npy file in memory: header checked (v1/v2/v3, little-endian or byte dtypes, C order).
 * `data` points into the input bytes. */
typedef struct qv_npy_view {
  qv_nd_dtype dtype;
  uint32_t rank;
  uint64_t shape[QV_ND_MAX_RANK];
  const uint8_t *data;
  size_t data_len;
} qv_npy_view;

/* Parses .npy bytes. QV_E_CORRUPT (bad magic/header), QV_E_UNSUPPORTED (fortran_order, big-endian,
 * object or other unsupported dtypes), QV_E_LIMIT (rank > 32). */
QV_API qv_status qv_npy_parse(const void *bytes, size_t len, qv_npy_view *out, qv_error *err);
/* Writes a .npy (v1, or v2 when the header needs it) header for dtype/shape into buf (cap ≥ 4096
 * suggested); sets *hdr_len. Fixed-width numeric dtypes only (QV_E_UNSUPPORTED otherwise). */
QV_API qv_status qv_npy_header(qv_nd_dtype dtype, uint32_t rank, const uint64_t *shape,
                               void *buf, size_t cap, size_t *hdr_len, qv_error *err);
/* Imports a .npy file from disk as a new array (defined with def's chunking/codec; def->dtype,
 * rank and shape are taken from the file). A regular file is mapped, not read into memory (so
 * truncating it while it is imported raises SIGBUS, as for any mapped input); pipes are read. */
QV_API qv_status qv_nd_import_npy(qv_nd_file *f, const qv_nd_array_def *def, const char *npy_path,
                                  qv_error *err);
/* Exports a region (start/shape NULL: from 0 / to the end) of a fixed-width array to a .npy
 * file, in bands of about 8 MiB (memory use does not grow with the region). QV_E_RANGE before
 * any file is created; on a later failure the partial file is removed. */
QV_API qv_status qv_nd_export_npy(qv_nd_file *f, const char *name, const uint64_t *start,
                                  const uint64_t *shape, const char *npy_path, qv_error *err);

/* ---- Arrow bridge ------------------------------------------------------------------------ */

typedef struct qv_array qv_array; /* quiver/array.h */

/* Reads a region (start/shape NULL: everything) as an Arrow array without nulls. Rank 0 and 1
 * scalar arrays give a flat array (rank 0: length 1); rank >= 2, or a list dtype, gives a
 * FIXED_SIZE_LIST<item> with one list per index of the first dimension holding the rest of the
 * region in row-major order (list size = product of the other extents x list_size). Types: bool
 * (bit-packed), intN/uintN, float/double, timestamp[ns], utf8/binary (large_ when the values
 * exceed 2 GiB). *out is a new reference (qv_array_unref); `a` allocates it. QV_E_LIMIT when a
 * row exceeds INT32_MAX values; the statuses of qv_nd_read.
 * Zero-copy: a region that is exactly one whole stored chunk of a fixed-width (not bool) array,
 * uncompressed, in a mapped layer (posix and memory stores map them) and aligned for its type,
 * is not copied: its checksum is checked and the array's values are a read-only view of the
 * mapping. Such an array stays valid after compaction and qv_nd_close — but the store must
 * outlive it. */
QV_API qv_status qv_nd_read_arrow(qv_nd_file *f, const char *name, const uint64_t *start,
                                  const uint64_t *shape, const qv_allocator *a, qv_array **out,
                                  qv_error *err);
/* Writes a region (start/shape NULL: everything) from an Arrow array laid out as
 * qv_nd_read_arrow produces it (utf8/binary may also be large_). `arr` is borrowed and must
 * have been validated if it comes from outside. QV_E_TYPE (wrong type or list size),
 * QV_E_INVALID (row count differs, nulls present); the statuses of qv_nd_write. */
QV_API qv_status qv_nd_write_arrow(qv_nd_file *f, const char *name, const uint64_t *start,
                                   const uint64_t *shape, const qv_array *arr, qv_error *err);

#ifdef __cplusplus
}
#endif
#endif
