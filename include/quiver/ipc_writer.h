/* quiver/ipc_writer.h — writing Arrow IPC streams and files (metadata version V5,
 * little-endian, every message and body buffer aligned and padded to 64 bytes).
 *
 * A qv_ipc_writer turns record batches into bytes and hands them to a sink callback: it does no
 * I/O of its own. Ready-made sinks write into a qv_mbuffer (qv_ipc_sink_mbuffer) or a stdio
 * FILE (qv_ipc_sink_stdio); convenience functions write a whole table to a path or to memory.
 *
 * What is written, in order:
 *   - the Schema message (at qv_ipc_writer_new, so an empty stream still has it);
 *   - before a record batch, a DictionaryBatch for every dictionary-encoded column whose
 *     dictionary is new or changed: a delta (isDelta) when the previously written dictionary is
 *     a prefix of the new one, otherwise a replacement (stream format only — the file format
 *     allows deltas but not replacements, which fail with QV_E_INVALID, nothing of that batch
 *     written and the writer still usable); unchanged dictionaries are not written again;
 *   - the RecordBatch message (optionally with custom metadata);
 *   - at qv_ipc_writer_finish: the end-of-stream marker (0xFFFFFFFF 0x00000000); for the file
 *     format then the Footer, its int32 length and "ARROW1".
 *
 * Sliced arrays are written compactly: offsets re-based to start at 0, only the referenced
 * range of data / child elements, validity bitmaps shifted to bit 0 when the slice does not
 * start on a byte, struct / union / fixed-size-list children sliced, run-end-encoded run ends
 * recomputed for the slice; null counts are always written (a validity bitmap is omitted when
 * there are no nulls). View arrays keep the data buffers their views use (whole), renumbered
 * when a slice uses only some of them.
 *
 * Compression (LZ4_FRAME or ZSTD, BUFFER method): each non-empty body buffer becomes an int64
 * LE uncompressed length followed by one codec frame; a buffer that does not get smaller is
 * stored raw after the length -1. Empty buffers stay empty.
 *
 * Dictionary ids: a field's dictionary_id when >= 0, otherwise the smallest unused id, in
 * schema pre-order (a dictionary field before its children). Fields with the same id share one
 * dictionary (their value types must be equal: QV_E_INVALID otherwise).
 *
 * A writer is not thread-safe. The sink is called only from the writer's calls.
 */
#ifndef QUIVER_IPC_WRITER_H
#define QUIVER_IPC_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "quiver/buffer.h"
#include "quiver/ipc.h"
#include "quiver/status.h"
#include "quiver/table.h"
#include "quiver/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Receives the writer's output: `len` bytes at `data` (valid only during the call). Returns
 * QV_OK, or a negative status (e.g. QV_E_IO) that the writer passes back to its caller, after
 * which the writer refuses further use (QV_E_STATE). `err` may be NULL. */
typedef qv_status (*qv_ipc_sink_fn)(void *ctx, const void *data, size_t len, qv_error *err);

/* Sink appending to the qv_mbuffer passed as ctx. */
QV_API qv_status qv_ipc_sink_mbuffer(void *ctx, const void *data, size_t len, qv_error *err);
/* Sink writing to the stdio FILE* passed as ctx (QV_E_IO on a short write). */
QV_API qv_status qv_ipc_sink_stdio(void *ctx, const void *data, size_t len, qv_error *err);

/* Writer options. Initialise with qv_ipc_write_options_default() and change what you need. */
typedef struct qv_ipc_write_options {
  qv_ipc_format format;           /* default QV_IPC_FORMAT_STREAM */
  qv_ipc_compression compression; /* default QV_IPC_COMPRESSION_NONE */
  /* Codec level; 0 = the codec's default. ZSTD: 1..22 (negative = fast modes); LZ4_FRAME:
   * 0..12 (values >= 3 use LZ4 HC). */
  int compression_level;
  /* Allow batches / arrays longer than INT32_MAX elements (Arrow's "large" IPC). Default
   * false: such batches fail with QV_E_LIMIT, as most readers reject them. */
  bool allow_64bit;
  /* When a dictionary changes and the old one is a prefix of the new one, write a delta
   * (default true). When false, a changed dictionary is always written whole (a replacement,
   * which the file format does not allow). */
  bool emit_dictionary_deltas;
  /* Check each column's type against the writer's schema before writing (default true). Turn
   * off only when the batches are known to match: a mismatch then produces output that
   * readers reject. (Column count and lengths are always checked.) */
  bool check_schema;
  /* File format: custom metadata for the Footer (NULL = none). Copied by qv_ipc_writer_new, so
   * it need not outlive that call. Schema-level metadata is qv_schema's own. */
  const qv_metadata *footer_metadata;
} qv_ipc_write_options;

/* Defaults: stream format, no compression, level 0, allow_64bit false, deltas on, checks on,
 * no footer metadata. */
QV_API qv_ipc_write_options qv_ipc_write_options_default(void);

typedef struct qv_ipc_writer qv_ipc_writer;

/* Creates a writer for batches of `schema` and writes the Schema message (and, for the file
 * format, the leading magic) to the sink. The writer takes its own reference on the schema.
 * `opts` NULL = defaults; `alloc` NULL = default allocator.
 * Returns QV_OK; QV_E_INVALID (bad options, a schema the format cannot express);
 * QV_E_UNSUPPORTED (a type IPC cannot carry); QV_E_NOMEM; or the sink's status.
 * On failure *out is NULL and nothing needs freeing. */
QV_API qv_status qv_ipc_writer_new(const qv_schema *schema, const qv_ipc_write_options *opts,
                                   qv_ipc_sink_fn sink, void *sink_ctx,
                                   const qv_allocator *alloc, qv_ipc_writer **out,
                                   qv_error *err);

/* Writes one record batch (preceded by any dictionary batches it needs). The batch is only
 * read; the caller keeps its reference.
 * Returns QV_OK; QV_E_TYPE (batch does not match the writer's schema); QV_E_INVALID (a
 * dictionary replacement in the file format; a malformed array); QV_E_LIMIT (sizes beyond
 * int32 without allow_64bit); QV_E_NOMEM; QV_E_STATE (after finish or a previous sink/IO
 * failure); or the sink's status. */
QV_API qv_status qv_ipc_writer_write_batch(qv_ipc_writer *w, const qv_batch *batch,
                                           qv_error *err);

/* Like qv_ipc_writer_write_batch, attaching custom metadata (Message.custom_metadata) to the
 * record-batch message. `md` may be NULL (no metadata). */
QV_API qv_status qv_ipc_writer_write_batch_metadata(qv_ipc_writer *w, const qv_batch *batch,
                                                    const qv_metadata *md, qv_error *err);

/* Writes every batch of `table` (whose schema must match the writer's). */
QV_API qv_status qv_ipc_writer_write_table(qv_ipc_writer *w, const qv_table *table,
                                           qv_error *err);

/* Writes the end-of-stream marker and, for the file format, the footer and trailing magic.
 * After finish only qv_ipc_writer_free is allowed (other calls return QV_E_STATE). */
QV_API qv_status qv_ipc_writer_finish(qv_ipc_writer *w, qv_error *err);

/* Frees the writer (without finishing it). Accepts NULL. */
QV_API void qv_ipc_writer_free(qv_ipc_writer *w);

/* Statistics: batches / dictionary batches written, and total bytes handed to the sink. */
QV_API int64_t qv_ipc_writer_num_batches(const qv_ipc_writer *w);
QV_API int64_t qv_ipc_writer_num_dictionary_batches(const qv_ipc_writer *w);
QV_API int64_t qv_ipc_writer_bytes_written(const qv_ipc_writer *w);

/* ---- convenience ------------------------------------------------------------------------ */

/* Writes the whole table to `path` (created or truncated) in opts->format (opts NULL =
 * defaults; alloc NULL = default allocator). Returns as qv_ipc_writer_write_batch, plus QV_E_IO
 * when the file cannot be created or written (the message names the path); on failure the
 * partial file is removed. */
QV_API qv_status qv_ipc_write_table_path(const char *path, const qv_table *table,
                                         const qv_ipc_write_options *opts,
                                         const qv_allocator *alloc, qv_error *err);
/* qv_ipc_write_table_path with the default allocator. */
QV_API qv_status qv_ipc_write_table_file(const char *path, const qv_table *table,
                                         const qv_ipc_write_options *opts, qv_error *err);

/* Appends the whole table, in opts->format, to `out` (an initialised qv_mbuffer; on failure
 * its length is restored to what it was). */
QV_API qv_status qv_ipc_write_table_mbuffer(const qv_table *table,
                                            const qv_ipc_write_options *opts, qv_mbuffer *out,
                                            qv_error *err);

#ifdef __cplusplus
}
#endif
#endif
