/* cli_io.h — shared input/output helpers of the IPC subcommands (convert, cat, schema, info):
 * loading a path or stdin, telling the IPC stream and file formats apart, iterating batches. */
#ifndef QV_CLI_IO_H
#define QV_CLI_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "quiver/ipc.h"
#include "quiver/table.h"

/* -1 when a format cannot be told. */
#define QV_CLI_FORMAT_UNKNOWN (-1)

/* "stream"/"arrows" -> STREAM, "file"/"arrow"/"feather"/"ipc" -> FILE, else UNKNOWN. */
int qv_cli_parse_format(const char *s);
/* From the file name: .arrow/.feather/.ipc -> FILE, .arrows/.stream -> STREAM, else UNKNOWN
 * ("-" is UNKNOWN). */
int qv_cli_format_from_name(const char *path);
/* From the first bytes: "ARROW1" -> FILE, a 0xFFFFFFFF continuation -> STREAM, else UNKNOWN. */
int qv_cli_format_from_bytes(const uint8_t *p, size_t n);
/* The arguments the reading commands (cat, info, schema) share, at argv[*i]: "--from
 * stream|file" (into *forced), the one input (into *path), anything else starting with '-' is
 * an unknown option. Returns 0 when it took argv[*i] (*i advanced past a value), else the exit
 * code of the usage error it printed. Call it for what the command's own options did not take. */
int qv_cli_input_arg(const qv_cli_command *cmd, int argc, char **argv, int *i, const char **path,
                     int *forced);
/* "none"/"lz4"/"lz4_frame"/"zstd" -> the codec; -1 when unknown. */
int qv_cli_parse_compression(const char *s);
const char *qv_cli_format_name(int format);
const char *qv_cli_compression_name(int codec);

/* The whole of `path` ("-" = stdin) as a buffer: regular files are memory-mapped (read-only),
 * anything else is read into memory. QV_E_IO with the path and errno text. */
qv_status qv_cli_load(const char *path, qv_buffer *out, qv_error *err);

/* An opened IPC input: the format, the schema, and its batches one by one. */
typedef struct qv_cli_input {
  const char *path;
  qv_buffer bytes;
  int format; /* QV_IPC_FORMAT_* */
  qv_ipc_file *file;
  int64_t next_batch;
  qv_ipc_decoder *dec;
  qv_ipc_fd_reader *fdr;   /* stdin read as a stream, batch by batch (bytes then empty) */
  const qv_schema *schema; /* borrowed from file/decoder/fd reader */
} qv_cli_input;

/* Opens `path` ("-" = stdin). `forced` is a QV_IPC_FORMAT_* or UNKNOWN: then the content
 * decides (magic), then the name, and a stream is assumed. Reads the schema. */
qv_status qv_cli_input_open(qv_cli_input *in, const char *path, int forced, qv_error *err);
/* Like qv_cli_input_open, but stdin ("-") holding a stream is read incrementally (each batch
 * as soon as it has arrived, memory bounded by the batches held): the first 6 bytes are peeked
 * and only a file ("ARROW1", or --from file) is read whole (it needs its footer). */
qv_status qv_cli_input_open_streaming(qv_cli_input *in, const char *path, int forced,
                                      qv_error *err);
/* The next batch (*out: new reference) -> QV_OK, or QV_EOF after the last one. */
qv_status qv_cli_input_next(qv_cli_input *in, qv_batch **out, qv_error *err);
void qv_cli_input_close(qv_cli_input *in);

/* A row range [offset, offset + limit) over an input's batches (limit < 0: to the end). */
typedef struct qv_cli_range {
  int64_t offset, limit;
  int64_t seen; /* rows of the batches before the next one */
} qv_cli_range;

/* True when no batch after those seen can hold a row of the range. */
bool qv_cli_range_done(const qv_cli_range *r);
/* Applies the range to the next batch `b` (borrowed): *out = a new reference to b itself, a
 * slice of it, or NULL when none of its rows is in the range (then skip it). Without a range
 * (offset 0, limit < 0) every batch passes, empty ones included. */
qv_status qv_cli_range_apply(qv_cli_range *r, const qv_batch *b, qv_batch **out, qv_error *err);
/* Parses the value of --offset / --limit (a non-negative integer); false when bad. */
bool qv_cli_parse_count(const char *s, int64_t *out);

/* Writes the canonical JSON dump of a schema / a batch (the format shared with the JavaScript
 * interop peer, tests/interop/canon.mjs) to `out`. */
void qv_cli_json_schema(FILE *out, const qv_schema *schema);
void qv_cli_json_batch(FILE *out, const qv_batch *batch, int64_t index);

#endif
