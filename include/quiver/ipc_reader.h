/* quiver/ipc_reader.h — reading Arrow IPC: the incremental (sans-I/O) stream decoder, whole-buffer
 * and path readers, and the file reader with random access to batches and column projection
 * (zero-copy over a buffer or a memory-mapped file).
 *
 * Accepted input: metadata V4 and V5, either endianness (big-endian data is byte-swapped to
 * native), the legacy 4-byte length prefix (no 0xFFFFFFFF continuation marker), LZ4_FRAME and
 * ZSTD body compression, dictionaries (replacement and delta in streams). Every length, count
 * and offset from the input is checked; FlatBuffers are verified before they are read; arrays
 * are fully validated by default. Bad input gives QV_E_CORRUPT (malformed), QV_E_UNSUPPORTED
 * (valid but not supported: the message names the feature/value) or QV_E_LIMIT (a limit in
 * qv_ipc_read_options was exceeded); qv_error.offset is then the byte offset in the input.
 *
 * Zero-copy: decoded arrays reference the input bytes (the qv_buffer you pass, or the file
 * mapping) — they hold a reference, so the input may be dropped by the caller at any time.
 * Buffers are copied only for decompression, byte swapping, or when a buffer is not aligned
 * for its type (e.g. 8-byte aligned input holding a misaligned buffer).
 */
#ifndef QUIVER_IPC_READER_H
#define QUIVER_IPC_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/alloc.h"
#include "quiver/array.h"
#include "quiver/buffer.h"
#include "quiver/cdata.h"
#include "quiver/status.h"
#include "quiver/table.h"
#include "quiver/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits: a message/input exceeding one fails with QV_E_LIMIT before anything is allocated for
 * it. 0 in a field means "no limit" (not recommended for untrusted input). */
typedef struct qv_ipc_limits {
  int64_t max_message_bytes;      /* metadata + body of one message (default 2 GiB) */
  int64_t max_metadata_bytes;     /* FlatBuffers metadata of one message (default 64 MiB) */
  int64_t max_rows;               /* rows in one batch, and values in any one array node of it
                                     (a list's child included) (default 2^31 - 1) */
  int64_t max_columns;            /* fields in a schema, counting nested fields (default 65536) */
  int32_t max_nesting;            /* depth of nested types (default 64; whatever the setting,
                                     metadata nested deeper than 96 tables and arrays nested
                                     deeper than 64 levels are refused) */
  int64_t max_dictionary_bytes;   /* body bytes of one dictionary, deltas summed; the copying
                                     that deltas cost is bounded by 8x this (default 1 GiB) */
  int64_t max_decompressed_bytes; /* decompressed bytes of one message's body (default 4 GiB) */
} qv_ipc_limits;

typedef struct qv_ipc_read_options {
  qv_ipc_limits limits;
  /* How much of each decoded array is checked (default QV_VALIDATE_FULL). MINIMAL checks buffer
   * sizes against lengths only: memory-safe access by length, but offsets, union type codes,
   * dictionary indices, UTF-8 ... are then trusted. Use MINIMAL for trusted input only. */
  qv_validate_level validate;
} qv_ipc_read_options;

/* The defaults (documented per field above; validate = FULL). */
QV_API qv_ipc_read_options qv_ipc_read_options_default(void);

/* ---- incremental stream decoder (sans-I/O) --------------------------------------------- */

/* A stream decoder: fed bytes, hands back batches. One thread at a time. */
typedef struct qv_ipc_decoder qv_ipc_decoder;

/* A new decoder for the IPC stream format. `opts` NULL = defaults; `a` NULL = default allocator
 * (kept for the decoder's life). Statuses: QV_OK, QV_E_NOMEM, QV_E_INVALID. */
QV_API qv_status qv_ipc_decoder_new(const qv_ipc_read_options *opts, const qv_allocator *a,
                                    qv_ipc_decoder **out, qv_error *err);
/* Frees the decoder (accepts NULL). Batches it handed out stay valid. */
QV_API void qv_ipc_decoder_free(qv_ipc_decoder *d);

/* Appends input without copying: the decoder takes its own reference to `bytes`. Empty input is
 * ignored. Statuses: QV_OK, QV_E_NOMEM, QV_E_STATE (after an error or after end of stream). */
QV_API qv_status qv_ipc_decoder_feed(qv_ipc_decoder *d, const qv_buffer *bytes, qv_error *err);
/* Appends a copy of data[0..len). */
QV_API qv_status qv_ipc_decoder_feed_copy(qv_ipc_decoder *d, const void *data, size_t len,
                                          qv_error *err);
/* Tells the decoder no more input will come: a partial message then gives QV_E_CORRUPT
 * ("truncated") from _next instead of QV_NEED_MORE; a stream without an end-of-stream marker
 * ends with QV_EOF. */
QV_API void qv_ipc_decoder_finish_input(qv_ipc_decoder *d);

/* Decodes as far as the input allows. Returns
 *  QV_OK        *out is a new record batch (caller owns one reference: qv_batch_unref);
 *  QV_NEED_MORE not enough input; qv_ipc_decoder_bytes_needed() says how many more bytes are
 *               needed at least before progress is possible;
 *  QV_EOF       the end-of-stream marker (or end of input after finish_input) was reached;
 *  <0           QV_E_CORRUPT / QV_E_UNSUPPORTED / QV_E_LIMIT / QV_E_NOMEM: the decoder is then
 *               failed and every later call returns QV_E_STATE.
 * Schema and dictionary messages are consumed internally. */
QV_API qv_status qv_ipc_decoder_next(qv_ipc_decoder *d, qv_batch **out, qv_error *err);
/* After QV_NEED_MORE: the minimum number of additional bytes needed. */
QV_API size_t qv_ipc_decoder_bytes_needed(const qv_ipc_decoder *d);
/* Total bytes consumed (whole messages) so far. */
QV_API uint64_t qv_ipc_decoder_bytes_consumed(const qv_ipc_decoder *d);
/* The stream's schema (borrowed, valid while the decoder lives), NULL until it has been read. */
QV_API const qv_schema *qv_ipc_decoder_schema(const qv_ipc_decoder *d);
/* Custom metadata (Message.custom_metadata) of the record batch last returned by _next:
 * borrowed, valid until the next call to _next or _free; empty when the message had none. */
QV_API const qv_metadata *qv_ipc_decoder_batch_metadata(const qv_ipc_decoder *d);
/* Decodes until the schema is known. QV_OK, QV_NEED_MORE, or an error as for _next. */
QV_API qv_status qv_ipc_decoder_read_schema(qv_ipc_decoder *d, qv_error *err);

/* ---- blocking stream reader over a file descriptor ----------------------------------------- */

/* Reads an IPC stream from a file descriptor (a pipe, socket, terminal or regular file) with
 * blocking read(2) calls, handing out each record batch as soon as its bytes have arrived. It
 * reads in chunks of at least 64 KiB (more when the next message is larger: a message is never
 * split over two chunks), feeds them to a qv_ipc_decoder zero-copy, and the batches it returns
 * reference those chunks — bytes are copied only when a partial message has to move to a larger
 * chunk. Memory held is therefore the batches the caller still holds plus one chunk; every size
 * is bounded by the limits in the read options, and a message's declared size beyond 64 MiB is
 * not allocated before its bytes arrive (its chunk doubles as they do). The fd must be in
 * blocking mode (EAGAIN from a non-blocking fd is reported as QV_E_IO). Bytes after the
 * end-of-stream marker that were already read are dropped. One thread at a time. */
typedef struct qv_ipc_fd_reader qv_ipc_fd_reader;

/* Opens a reader on `fd` and reads until the schema message has been decoded (blocking).
 * `opts` NULL = defaults; `a` NULL = default allocator. The fd stays the caller's: it is never
 * closed. Statuses: QV_OK; QV_E_IO (read(2) failed: the message has strerror; EINTR is retried);
 * QV_E_CORRUPT (input ends before the schema, or is malformed: qv_error.offset is the byte
 * offset in the stream); QV_E_UNSUPPORTED, QV_E_LIMIT, QV_E_NOMEM, QV_E_INVALID. */
QV_API qv_status qv_ipc_fd_reader_open(int fd, const qv_ipc_read_options *opts,
                                       const qv_allocator *a, qv_ipc_fd_reader **out,
                                       qv_error *err);
/* Like qv_ipc_fd_reader_open when the first `prefix_len` bytes of the stream have already been
 * read from `fd` (e.g. to sniff the format): they are taken (copied) as the stream's start. */
QV_API qv_status qv_ipc_fd_reader_open_prefixed(int fd, const void *prefix, size_t prefix_len,
                                                const qv_ipc_read_options *opts,
                                                const qv_allocator *a, qv_ipc_fd_reader **out,
                                                qv_error *err);
/* The stream's schema (borrowed, valid until _free). */
QV_API const qv_schema *qv_ipc_fd_reader_schema(const qv_ipc_fd_reader *r);
/* Blocks until the next record batch has arrived. Returns
 *  QV_OK   *out is a new batch (caller owns one reference);
 *  QV_EOF  at the end-of-stream marker, or at end of input on a message boundary (a stream
 *          may end without the marker); every later call returns QV_EOF again;
 *  <0      QV_E_CORRUPT (including a stream truncated inside a message: the message names the
 *          byte offset of the incomplete message, also in qv_error.offset), QV_E_IO,
 *          QV_E_UNSUPPORTED, QV_E_LIMIT, QV_E_NOMEM. Errors are final: later calls return
 *          QV_E_STATE. */
QV_API qv_status qv_ipc_fd_reader_next(qv_ipc_fd_reader *r, qv_batch **out, qv_error *err);
/* Custom metadata of the batch last returned (borrowed, valid until the next _next / _free). */
QV_API const qv_metadata *qv_ipc_fd_reader_batch_metadata(const qv_ipc_fd_reader *r);
/* Bytes read from the fd so far (the prefix included). */
QV_API uint64_t qv_ipc_fd_reader_bytes_read(const qv_ipc_fd_reader *r);
/* Frees the reader (accepts NULL); does not close the fd. Batches handed out stay valid. */
QV_API void qv_ipc_fd_reader_free(qv_ipc_fd_reader *r);
/* Turns the reader (CONSUMED: on success it belongs to *out and is freed by
 * qv_batch_reader_release) into a qv_batch_reader, e.g. to export the fd stream as an
 * ArrowArrayStream with qv_batch_reader_export. QV_E_INVALID for NULL arguments (then
 * the reader is freed). */
QV_API qv_status qv_ipc_fd_reader_to_batch_reader(qv_ipc_fd_reader *r, qv_batch_reader *out,
                                                  qv_error *err);

/* ---- whole inputs ------------------------------------------------------------------------ */

/* Reads a whole IPC stream or file held in `buf` (the format is detected by the "ARROW1"
 * magic) into a new table (*out: caller owns it, qv_table_free/unref). Zero-copy: the table's
 * arrays reference `buf`. Statuses as for qv_ipc_decoder_next (never QV_NEED_MORE: a truncated
 * input is QV_E_CORRUPT). */
QV_API qv_status qv_ipc_read_buffer(const qv_buffer *buf, const qv_ipc_read_options *opts,
                                    const qv_allocator *a, qv_table **out, qv_error *err);
/* Like qv_ipc_read_buffer over a memory-mapped file (QV_E_IO if it cannot be opened/mapped). */
QV_API qv_status qv_ipc_read_path(const char *path, const qv_ipc_read_options *opts,
                                  const qv_allocator *a, qv_table **out, qv_error *err);

/* ---- file format: random access ----------------------------------------------------------- */

/* A file reader. Not thread-safe (dictionaries are loaded lazily): use one per thread, or
 * serialise calls; the batches it returns are immutable and may be shared freely. */
typedef struct qv_ipc_file qv_ipc_file;

/* Opens an IPC file held in `buf` (a reference is taken): checks both magics and verifies the
 * footer; every Block is checked against the file size. Bodies are not touched. Statuses:
 * QV_OK, QV_E_CORRUPT, QV_E_UNSUPPORTED, QV_E_LIMIT, QV_E_NOMEM. */
QV_API qv_status qv_ipc_file_open_buffer(const qv_buffer *buf, const qv_ipc_read_options *opts,
                                         const qv_allocator *a, qv_ipc_file **out,
                                         qv_error *err);
/* Opens by memory-mapping `path` (read-only). Arrays read from it keep the mapping alive;
 * closing the file does not invalidate them. Additionally QV_E_IO. */
QV_API qv_status qv_ipc_file_open_path(const char *path, const qv_ipc_read_options *opts,
                                       const qv_allocator *a, qv_ipc_file **out, qv_error *err);
/* Closes (accepts NULL). */
QV_API void qv_ipc_file_close(qv_ipc_file *f);

/* The schema from the footer (borrowed, valid until close). */
QV_API const qv_schema *qv_ipc_file_schema(const qv_ipc_file *f);
/* Number of record batches in the footer. */
QV_API int64_t qv_ipc_file_num_batches(const qv_ipc_file *f);
/* Number of dictionary blocks in the footer. */
QV_API int64_t qv_ipc_file_num_dictionaries(const qv_ipc_file *f);
/* Row count of batch i, read from its metadata only (the body is not touched).
 * QV_E_RANGE for a bad index; format errors as above. */
QV_API qv_status qv_ipc_file_batch_rows(qv_ipc_file *f, int64_t i, int64_t *rows,
                                        qv_error *err);
/* Reads batch i. `columns` (NULL = all) lists top-level column indices (in any order, no
 * duplicates) of the projection; the batch then has those columns in that order and a schema
 * with those fields. Buffers of columns not projected are never touched (not decompressed, not
 * byte-swapped, not validated, their pages never faulted in). Dictionaries are loaded from the
 * footer's dictionary blocks on first use (only those the projection needs).
 * *out: caller owns one reference. QV_E_RANGE for a bad index or column. */
QV_API qv_status qv_ipc_file_read_batch(qv_ipc_file *f, int64_t i, const int32_t *columns,
                                        size_t n_columns, qv_batch **out, qv_error *err);

/* Custom metadata of record batch i's message, appended to *md (initialised by the caller).
 * Only metadata is read. QV_E_RANGE for a bad index; format errors as above. */
QV_API qv_status qv_ipc_file_batch_metadata(qv_ipc_file *f, int64_t i, qv_metadata *md,
                                            qv_error *err);
/* The footer's custom metadata (borrowed, valid until close; possibly empty). Schema-level
 * metadata is in qv_ipc_file_schema(f)->metadata. */
QV_API const qv_metadata *qv_ipc_file_footer_metadata(const qv_ipc_file *f);

#ifdef __cplusplus
}
#endif
#endif
