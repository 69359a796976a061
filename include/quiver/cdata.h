/* quiver/cdata.h — the Arrow C Data Interface and C Stream Interface: zero-copy export of
 * quiver types, schemas, arrays and batches to ArrowSchema / ArrowArray / ArrowArrayStream, and
 * zero-copy import of them; plus qv_batch_reader, the small pull interface for batch sources.
 *
 * The three standard structs are declared exactly as in the Arrow specification
 * (https://arrow.apache.org/docs/format/CDataInterface.html, CStreamInterface.html), guarded by
 * ARROW_C_DATA_INTERFACE / ARROW_C_STREAM_INTERFACE so that this header can be included next to
 * any other Arrow header (nanoarrow, arrow/c/abi.h, ...).
 *
 * Ownership, in one place:
 *   - *_export functions BORROW the quiver object and fill a caller-provided struct; the
 *     exported struct holds its own references on quiver's buffers/arrays/types until the
 *     consumer calls its `release` (which marks it released by setting release = NULL; child
 *     structs are released by the parent's release, and consumers may move children out).
 *     On failure nothing is exported and the output struct is left marked released.
 *   - Schema imports (qv_type_import, qv_field_import, qv_schema_import) BORROW the
 *     ArrowSchema: everything is copied; the caller still releases it.
 *   - Array imports (qv_array_import, qv_batch_import) CONSUME the ArrowArray, on success and
 *     on failure: the struct is moved out (its release set to NULL) and its original release
 *     callback is called exactly once — on failure before the import returns, on success when
 *     the last quiver buffer/array referencing its memory is dropped. No data is copied: each
 *     foreign buffer is wrapped (qv_buffer_wrap) with a shared reference on the moved struct.
 *   - Stream export/import consume the reader / stream they are given.
 *
 * Imported arrays get the cheap structural checks of qv_array_new (QV_VALIDATE_MINIMAL). The C
 * Data Interface does not carry buffer sizes, so the importer computes each buffer's size from
 * the type, offset + length and, for variable-size types, the last offset (view types: the
 * variadic buffer sizes buffer); it must trust the producer for that much. Call
 * qv_array_validate(..., QV_VALIDATE_FULL, ...) on imports from untrusted producers.
 */
#ifndef QUIVER_CDATA_H
#define QUIVER_CDATA_H

#include <stdint.h>

#include "quiver/alloc.h"
#include "quiver/array.h"
#include "quiver/status.h"
#include "quiver/table.h"
#include "quiver/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the standard structs (verbatim ABI of the specification) --------------------------- */

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  /* Array type description */
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;

  /* Release callback */
  void (*release)(struct ArrowSchema *);
  /* Opaque producer-specific data */
  void *private_data;
};

struct ArrowArray {
  /* Array data description */
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;

  /* Release callback */
  void (*release)(struct ArrowArray *);
  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  /* Callbacks providing stream functionality */
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);

  /* Release callback */
  void (*release)(struct ArrowArrayStream *);

  /* Opaque producer-specific data */
  void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* ---- schema export ------------------------------------------------------------------------ */

/* Exports a type as an ArrowSchema with an empty name and the NULLABLE flag. Format strings:
 * "n" "b" "c" "C" "s" "S" "i" "I" "l" "L" "e" "f" "g", "d:P,S" (decimal128) / "d:P,S,32|64|256",
 * "w:N", "z" "u" "Z" "U" "vz" "vu", "tdD" "tdm" "tts" "ttm" "ttu" "ttn", "ts{s,m,u,n}:TZ",
 * "tD{s,m,u,n}", "tiM" "tiD" "tin", "+l" "+L" "+vl" "+vL" "+w:N" "+s" "+m", "+us:codes",
 * "+ud:codes", "+r"; a DICTIONARY type is exported as its index type's format with the value
 * type in ->dictionary and ARROW_FLAG_DICTIONARY_ORDERED when ordered; maps set
 * ARROW_FLAG_MAP_KEYS_SORTED when their keys are sorted. Children are exported as fields (name,
 * nullability, metadata). `a` (NULL: default) allocates the exported private data and must
 * outlive the export. Statuses: QV_E_NOMEM, QV_E_LIMIT (nesting deeper than
 * QV_VALIDATE_MAX_DEPTH). */
QV_API qv_status qv_type_export(const qv_type *type, const qv_allocator *a,
                                struct ArrowSchema *out, qv_error *err);
/* Exports a field: its name, ARROW_FLAG_NULLABLE when nullable, and its metadata (encoded as
 * the specification says: int32 pair count, then per pair int32 length + key bytes, int32
 * length + value bytes, native endianness). Extension types travel in that metadata. */
QV_API qv_status qv_field_export(const qv_field *field, const qv_allocator *a,
                                 struct ArrowSchema *out, qv_error *err);
/* Exports a schema as a struct ("+s") whose children are the fields, with the schema metadata
 * on the struct (the form Arrow uses for record batches and streams). */
QV_API qv_status qv_schema_export(const qv_schema *schema, const qv_allocator *a,
                                  struct ArrowSchema *out, qv_error *err);

/* ---- schema import ------------------------------------------------------------------------ */

/* Parses an ArrowSchema (borrowed, not released) into a new type reference. Every format
 * string of the specification is accepted; anything else fails with QV_E_INVALID and a message
 * naming the format and the field path, e.g. "format 'w:abc' of field 'x': bad byte width".
 * Also QV_E_INVALID for a released schema, a wrong number of children for the format, NULL
 * children, a dictionary on a non-integer format, malformed metadata; QV_E_LIMIT for nesting
 * deeper than QV_VALIDATE_MAX_DEPTH; QV_E_NOMEM. `a` allocates the result. */
QV_API qv_status qv_type_import(const struct ArrowSchema *schema, const qv_allocator *a,
                                qv_type **out, qv_error *err);
/* Parses an ArrowSchema (borrowed) into a new field: name (NULL means ""), type, nullability
 * (ARROW_FLAG_NULLABLE) and metadata. */
QV_API qv_status qv_field_import(const struct ArrowSchema *schema, const qv_allocator *a,
                                 qv_field **out, qv_error *err);
/* Parses a struct ArrowSchema ("+s", borrowed) into a schema: the children become the fields
 * and the struct's metadata the schema metadata. QV_E_INVALID when the format is not "+s". */
QV_API qv_status qv_schema_import(const struct ArrowSchema *schema, const qv_allocator *a,
                                  qv_schema **out, qv_error *err);

/* ---- array export / import ---------------------------------------------------------------- */

/* Exports an array zero-copy: buffer pointers point into arr's buffers (whole buffers with
 * arr's offset, as in quiver), children and dictionary are exported recursively, and every
 * exported node holds a reference on its qv_array until released. View types get the extra
 * "variadic buffer sizes" buffer (int64 lengths of the data buffers) the specification
 * requires as their last buffer. null_count is computed (qv_array_null_count). An absent
 * (empty) non-validity buffer is exported as a pointer to static zeroed memory, an absent
 * validity bitmap as NULL. `a` (NULL: default) allocates the private data and must outlive
 * the export. QV_E_NOMEM, QV_E_LIMIT (nesting). */
QV_API qv_status qv_array_export(const qv_array *arr, const qv_allocator *a,
                                 struct ArrowArray *out, qv_error *err);
/* Imports `array` (CONSUMED: see the top of this file) as an array of `type` (borrowed).
 * Messages name the path, e.g. "array.tags.item: buffer 1 (offsets) is NULL but 16 bytes are
 * needed" (qv_batch_import roots them at "batch" and names the columns). Checks: released
 * struct, negative length/offset, null_count < -1, n_buffers and n_children that do not match the
 * type (QV_E_INVALID), NULL buffers that the length requires, a validity bitmap missing while
 * null_count > 0, a dictionary present iff the type is DICTIONARY; then qv_array_new's
 * structural checks (QV_E_CORRUPT). QV_E_OVERFLOW for sizes that do not fit, QV_E_LIMIT for
 * nesting deeper than QV_VALIDATE_MAX_DEPTH, QV_E_NOMEM. `a` allocates the quiver side. */
QV_API qv_status qv_array_import(struct ArrowArray *array, const qv_type *type,
                                 const qv_allocator *a, qv_array **out, qv_error *err);

/* Exports a batch as a struct array (length = batch length, no validity bitmap, children = the
 * columns) and, when schema_out is not NULL, its schema (qv_schema_export). On failure
 * neither is exported. */
QV_API qv_status qv_batch_export(const qv_batch *batch, const qv_allocator *a,
                                 struct ArrowArray *out, struct ArrowSchema *schema_out,
                                 qv_error *err);
/* Imports a struct array (CONSUMED) whose children are the columns of `schema` (borrowed).
 * The struct must have no nulls (QV_E_INVALID otherwise); its offset is applied to the
 * columns (sliced, zero-copy). */
QV_API qv_status qv_batch_import(struct ArrowArray *array, const qv_schema *schema,
                                 const qv_allocator *a, qv_batch **out, qv_error *err);

/* ---- batch readers: a pull interface for any batch source ------------------------------- */

/* A source of batches that all have the same schema. A caller-owned value of four members:
 *   next(ctx, &batch, err): QV_OK with a new batch reference in *batch (the caller unrefs it),
 *     QV_EOF at the end (nothing returned; further calls keep returning QV_EOF), or a negative
 *     status with err filled;
 *   schema(ctx): the schema (borrowed, valid until release);
 *   release(ctx): frees everything (may be NULL when there is nothing to free);
 *   ctx: the implementation's state.
 * Readers are moved by copying the struct and zeroing the source (qv_batch_reader_release on
 * a zeroed reader is a no-op). A reader is used from one thread at a time. */
typedef struct qv_batch_reader {
  qv_status (*next)(void *ctx, qv_batch **out, qv_error *err);
  const qv_schema *(*schema)(void *ctx);
  void (*release)(void *ctx);
  void *ctx;
} qv_batch_reader;

/* Calls r->next (QV_E_STATE with a message when the reader is released / zeroed). */
QV_API qv_status qv_batch_reader_next(qv_batch_reader *r, qv_batch **out, qv_error *err);
/* The reader's schema (borrowed), or NULL for a released reader. */
QV_API const qv_schema *qv_batch_reader_schema(const qv_batch_reader *r);
/* Calls r->release (if any) and zeroes *r. Accepts NULL and zeroed readers. */
QV_API void qv_batch_reader_release(qv_batch_reader *r);
/* A reader over the batches of a table, in order. The reader takes its own references on the
 * schema and the batches (the table may be freed or changed afterwards). QV_E_NOMEM. */
QV_API qv_status qv_batch_reader_from_table(const qv_table *table, const qv_allocator *a,
                                            qv_batch_reader *out, qv_error *err);

/* ---- C stream interface ------------------------------------------------------------------ */

/* Exports a reader (CONSUMED, on success and failure; *reader is zeroed) as an
 * ArrowArrayStream: get_schema exports the reader's schema as a struct; get_next exports each
 * batch as a struct array and marks the end of the stream with out->release == NULL; an error
 * from the reader makes get_next return an errno code (ENOMEM, EINVAL, ENOSYS or EIO) and
 * get_last_error return the reader's message (valid until the next call on the stream); the
 * stream stays failed afterwards. release releases the reader. `a` allocates the stream's
 * private data and its exports. QV_E_NOMEM. */
QV_API qv_status qv_batch_reader_export(qv_batch_reader *reader, const qv_allocator *a,
                                        struct ArrowArrayStream *out, qv_error *err);
/* Exports a table's batches as an ArrowArrayStream (qv_batch_reader_from_table + export). */
QV_API qv_status qv_table_export_stream(const qv_table *table, const qv_allocator *a,
                                        struct ArrowArrayStream *out, qv_error *err);
/* Imports a stream (CONSUMED, on success and failure) as a reader. The schema is fetched and
 * imported now (a failing get_schema fails the import with the producer's message). next maps
 * get_next: a batch → qv_batch_import, release == NULL → QV_EOF, an error code → QV_E_NOMEM
 * (ENOMEM), QV_E_INVALID (EINVAL), QV_E_UNSUPPORTED (ENOSYS) or QV_E_IO (others) with the
 * message "stream producer error (errno N): <get_last_error>". */
QV_API qv_status qv_batch_reader_import(struct ArrowArrayStream *stream, const qv_allocator *a,
                                        qv_batch_reader *out, qv_error *err);

#ifdef __cplusplus
}
#endif
#endif
