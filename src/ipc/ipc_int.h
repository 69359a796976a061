/* ipc_int.h — declarations shared inside the IPC module: the FlatBuffers verifier and typed
 * readers, message framing, metadata and body decoding, decompression. Not installed.
 * The writer engineer adds a section marked "writer" at the end. */
#ifndef QV_IPC_INT_H
#define QV_IPC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core_int.h"
#include "ipc/fb_arrow.h"
#include "quiver/ipc_reader.h"
#include "quiver/table.h"
#include "quiver/type.h"

/* ======================================================================================== */
/* FlatBuffers: verification (fb_verify.c) and typed reads (fb_read.c)                      */
/* ======================================================================================== */

/* A FlatBuffer in memory. `base` is its byte offset in the whole input, for error messages. */
typedef struct qv__fb {
  const uint8_t *data;
  size_t len;
  int64_t base;
} qv__fb;

/* Largest FlatBuffer we accept (FlatBuffers' own limit: 2 GiB - 1). */
#define QV__FB_MAX_SIZE 0x7FFFFFFFu
/* Deepest table nesting the verifier follows (Message > Schema > Field > Field ...). */
#define QV__FB_MAX_DEPTH 96

/* Verifies `fb` as a Message (resp. Footer) root against the Arrow schema: every offset,
 * vtable (size, alignment, bounds), scalar (in the table's inline size, aligned), vector length,
 * string (NUL-terminated), union tag and table nesting depth / table count. Unknown slots beyond
 * those we know are ignored. After QV_OK the qv__fb_* readers below may be used on it without
 * further checks. QV_E_CORRUPT (with byte offset) or QV_E_UNSUPPORTED (unknown union tag). */
qv_status qv__fb_verify_message(const qv__fb *fb, int max_depth, qv_error *err);
qv_status qv__fb_verify_footer(const qv__fb *fb, int max_depth, qv_error *err);

/* Readers. A table/vector/string is named by its byte position in fb->data; 0 = absent. */
uint32_t qv__fb_root(const qv__fb *fb);
/* The offset of `slot`'s field inside table t, 0 when the field is absent. */
uint16_t qv__fb_field(const qv__fb *fb, uint32_t t, unsigned slot);
bool qv__fb_has(const qv__fb *fb, uint32_t t, unsigned slot);
int64_t qv__fb_i64(const qv__fb *fb, uint32_t t, unsigned slot, int64_t def);
int32_t qv__fb_i32(const qv__fb *fb, uint32_t t, unsigned slot, int32_t def);
int16_t qv__fb_i16(const qv__fb *fb, uint32_t t, unsigned slot, int16_t def);
uint8_t qv__fb_u8(const qv__fb *fb, uint32_t t, unsigned slot, uint8_t def);
int8_t qv__fb_i8(const qv__fb *fb, uint32_t t, unsigned slot, int8_t def);
bool qv__fb_bool(const qv__fb *fb, uint32_t t, unsigned slot, bool def);
/* Sub-table at slot (0 if absent). */
uint32_t qv__fb_table(const qv__fb *fb, uint32_t t, unsigned slot);
/* Vector at slot: returns the position of element 0 and sets *n (0, 0 when absent). */
uint32_t qv__fb_vector(const qv__fb *fb, uint32_t t, unsigned slot, uint32_t *n);
/* Element i of a vector of tables (position of element 0 = vec). */
uint32_t qv__fb_vector_table(const qv__fb *fb, uint32_t vec, uint32_t i);
/* String at slot: pointer to its bytes (NUL-terminated) and length; NULL when absent. */
const char *qv__fb_string(const qv__fb *fb, uint32_t t, unsigned slot, size_t *len);
/* Element i of a vector of strings. */
const char *qv__fb_vector_string(const qv__fb *fb, uint32_t vec, uint32_t i, size_t *len);
/* Little-endian scalar loads at a position (for struct vectors and scalar vectors). */
int64_t qv__fb_load_i64(const qv__fb *fb, uint32_t pos);
int32_t qv__fb_load_i32(const qv__fb *fb, uint32_t pos);

/* ======================================================================================== */
/* Message framing (decoder.c)                                                              */
/* ======================================================================================== */

/* Result of looking at the start of an encapsulated message. */
typedef struct qv__ipc_frame {
  size_t prefix_len;   /* 8 (continuation + length), 4 (legacy length only) */
  size_t meta_len;     /* FlatBuffer bytes (incl. padding) after the prefix */
  bool eos;            /* end-of-stream marker (length 0) */
} qv__ipc_frame;

/* Looks at p[0..avail): QV_OK (*fr filled), QV_NEED_MORE (*need = total bytes needed from p),
 * QV_E_CORRUPT / QV_E_LIMIT. `at` is p's offset in the input (for messages). */
qv_status qv__ipc_frame_peek(const uint8_t *p, size_t avail, int64_t at,
                             const qv_ipc_limits *lim, qv__ipc_frame *fr, size_t *need,
                             qv_error *err);

/* fd reader support (decoder.c): replaces the decoder's unconsumed input by `b`, which must
 * begin with those same bytes (and may hold more). QV_E_STATE, QV_E_INVALID, QV_E_NOMEM. */
qv_status qv__ipc_decoder_set_input(qv_ipc_decoder *d, const qv_buffer *b, qv_error *err);

/* A parsed (verified) Message. */
typedef struct qv__ipc_msg {
  qv__fb fb;
  int16_t version;       /* QV_FB_METADATA_V4 or V5 (others rejected) */
  uint8_t header_type;   /* QV_FB_HEADER_* */
  uint32_t header;       /* table position of the header */
  int64_t body_length;
  uint32_t custom_metadata; /* vector position of [KeyValue], 0 = none */
  uint32_t n_custom_metadata;
} qv__ipc_msg;

/* Verifies and parses message metadata (the FlatBuffer after the prefix).
 * QV_E_UNSUPPORTED for versions < V4 and Tensor / SparseTensor headers. */
qv_status qv__ipc_msg_parse(const uint8_t *meta, size_t len, int64_t at,
                            const qv_ipc_read_options *opts, qv__ipc_msg *out, qv_error *err);

/* ======================================================================================== */
/* Record batch metadata (meta_read.c)                                                      */
/* ======================================================================================== */

typedef struct qv__ipc_batch_meta {
  int64_t length;
  uint32_t nodes; uint32_t n_nodes;         /* struct vector positions in fb */
  uint32_t buffers; uint32_t n_buffers;
  int codec;                                /* -1 none, else QV_FB_COMPRESSION_* */
  uint32_t variadic; uint32_t n_variadic;   /* [long] */
  const qv__fb *fb;
} qv__ipc_batch_meta;

/* Reads the RecordBatch table at `rb`. */
qv_status qv__ipc_batch_meta_read(const qv__fb *fb, uint32_t rb, const qv_ipc_limits *lim,
                                  qv__ipc_batch_meta *out, qv_error *err);

/* Dictionaries known from a schema: id -> value type, and the current values (read from
 * DictionaryBatch messages). */
typedef struct qv__ipc_dict_slot {
  int64_t id;
  const qv_type *value_type; /* borrowed from the schema */
  qv_array *values;          /* current dictionary (owned), NULL until read */
  int64_t bytes;             /* body bytes read into it (replacements reset, deltas add) */
  int64_t work;              /* bytes copied by delta concatenations (bounded, see body_read.c) */
  bool loaded;               /* file reader: every dictionary block for it has been read */
} qv__ipc_dict_slot;

typedef struct qv__ipc_dicts {
  qv__ipc_dict_slot *slots;
  int32_t n, cap;
  qv_allocator alloc;
} qv__ipc_dicts;

/* A decoded Schema message / footer schema. */
typedef struct qv__ipc_schema_info {
  qv_schema *schema; /* owned */
  bool big_endian;
  qv__ipc_dicts dicts;
} qv__ipc_schema_info;

/* Decodes the Schema table `st` into qv_schema (every type, dictionary encodings, custom
 * metadata) and collects the dictionary ids (nested ones included). Limits: max_columns
 * (fields counted recursively) and max_nesting. QV_E_CORRUPT / QV_E_UNSUPPORTED naming the
 * field path and the value, QV_E_LIMIT, QV_E_NOMEM. On failure *out is zeroed. */
qv_status qv__ipc_schema_read(const qv__fb *fb, uint32_t st, const qv_ipc_read_options *opts,
                              const qv_allocator *a, qv__ipc_schema_info *out, qv_error *err);
void qv__ipc_schema_info_reset(qv__ipc_schema_info *si);
qv__ipc_dict_slot *qv__ipc_dicts_find(qv__ipc_dicts *d, int64_t id);

/* Reads custom_metadata ([KeyValue] at vector position vec, n entries) into md (initialised). */
qv_status qv__ipc_metadata_read(const qv__fb *fb, uint32_t vec, uint32_t n, qv_metadata *md,
                                qv_error *err);

/* ======================================================================================== */
/* Body decoding (body_read.c)                                                              */
/* ======================================================================================== */

typedef struct qv__ipc_body_ctx {
  const qv_ipc_read_options *opts;
  const qv_allocator *alloc;
  const qv__ipc_batch_meta *meta;
  const qv_buffer *body;  /* the message body */
  int64_t body_at;        /* the body's byte offset in the input (for messages) */
  int16_t version;
  bool swap;              /* big-endian input */
  qv__ipc_dicts *dicts;
  char what[64];          /* "dictionary id 7"; empty: "record batch <batch_index>", formatted
                             only when an error message needs it */
  int64_t batch_index;
  /* cursors (internal) */
  uint32_t node_i, buf_i, var_i;
  int64_t budget;         /* decompressed bytes left (<0: unlimited) */
} qv__ipc_body_ctx;

/* Sets *c up for one message body: `si` gives the dictionaries and the byte order; the
 * cursors, meta, what and batch_index are zeroed (the caller sets meta / batch_index). */
void qv__ipc_body_ctx_init(qv__ipc_body_ctx *c, const qv_ipc_read_options *opts,
                           const qv_allocator *a, qv__ipc_schema_info *si, int16_t version,
                           const qv_buffer *body, int64_t body_at);

/* Decodes a record batch body against `schema`. `columns` (NULL = all) selects top-level
 * columns; unselected columns' buffers are never touched. *out: a new batch (of a projected
 * schema when columns != NULL). */
qv_status qv__ipc_batch_decode(qv__ipc_body_ctx *c, const qv_schema *schema,
                               const int32_t *columns, size_t n_columns, qv_batch **out,
                               qv_error *err);
/* Decodes a DictionaryBatch (table db of c->meta->fb) and installs it in c->dicts
 * (replacement, or delta appended). allow_replace false: a second non-delta batch for an id
 * that already has values is QV_E_UNSUPPORTED (file format). */
qv_status qv__ipc_dict_decode(qv__ipc_body_ctx *c, const qv__fb *fb, uint32_t db,
                              bool allow_replace, qv_error *err);

/* ======================================================================================== */
/* File reader (file_reader.c) and memory mapping (mmap.c)                                  */
/* ======================================================================================== */

/* Reads every batch of an IPC file held in buf into a new table. */
qv_status qv__ipc_file_read_all(const qv_buffer *buf, const qv_ipc_read_options *opts,
                                const qv_allocator *a, qv_table **out, qv_error *err);
/* Maps `path` read-only into *out (a buffer whose release unmaps). QV_E_IO. An empty file
 * gives an empty buffer. */
qv_status qv__ipc_map_file(const char *path, const qv_allocator *a, qv_buffer *out,
                           qv_error *err);

/* ======================================================================================== */
/* Decompression (decompress.c)                                                             */
/* ======================================================================================== */

/* Allocation hooks for the LZ4 / ZSTD contexts (compression and decompression), going
 * through the qv_allocator passed as `opaque`: each block carries its size for the free. */
void *qv__ipc_codec_alloc(void *opaque, size_t size);
void *qv__ipc_codec_calloc(void *opaque, size_t size);
void qv__ipc_codec_free(void *opaque, void *ptr);

/* Decompresses one body buffer `in` (int64 LE uncompressed length, then a codec frame; length
 * -1 = the rest is stored raw: *out is then a zero-copy slice of in). `*budget` (remaining
 * decompressed bytes allowed; <0 = unlimited) and the most the frame can decompress to are
 * checked BEFORE allocating; the budget is decremented.
 * codec is QV_FB_COMPRESSION_*. QV_E_CORRUPT, QV_E_LIMIT, QV_E_NOMEM. */
qv_status qv__ipc_decompress(int codec, const qv_buffer *in, int64_t *budget,
                             const qv_allocator *a, qv_buffer *out, qv_error *err);

/* ======================================================================================== */
/* writer                                                                                   */
/* ======================================================================================== */

/* The writer's internals (FlatBuffers builder, metadata encoders qv__meta_*, body compressor
 * qv__ipc_compressor / qv__ipc_compress) are declared in ipc/fb_build.h. */

#endif
