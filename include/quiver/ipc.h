/* quiver/ipc.h — Arrow IPC (stream and file formats): the shared enums, and the reader and
 * writer APIs in one include. */
#ifndef QUIVER_IPC_H
#define QUIVER_IPC_H

#ifdef __cplusplus
extern "C" {
#endif

/* The two IPC container formats.
 * STREAM: schema message, dictionary / record batch messages, end-of-stream marker.
 * FILE:   "ARROW1\0\0", the stream, a footer (schema + block index), footer length, "ARROW1". */
typedef enum { QV_IPC_FORMAT_STREAM = 0, QV_IPC_FORMAT_FILE = 1 } qv_ipc_format;

/* Body compression codecs (Message.fbs BodyCompression, BUFFER method). */
typedef enum {
  QV_IPC_COMPRESSION_NONE = 0,
  QV_IPC_COMPRESSION_LZ4_FRAME = 1,
  QV_IPC_COMPRESSION_ZSTD = 2
} qv_ipc_compression;

#ifdef __cplusplus
}
#endif

#include "quiver/ipc_reader.h"
#include "quiver/ipc_writer.h"

#endif
