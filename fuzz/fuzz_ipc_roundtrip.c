/* fuzz_ipc_roundtrip.c — fuzz target: whatever the reader accepts, the writer must write and the
 * reader must read back to an equal table (stream format, uncompressed and LZ4). Anything else
 * is a bug in one of them, reported by abort(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "quiver/quiver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const qv_table *t, qv_ipc_compression codec) {
  qv_ipc_write_options w = qv_ipc_write_options_default();
  w.compression = codec;
  qv_mbuffer out;
  qv_mbuffer_init(&out, NULL);
  qv_error err;
  qv_status s = qv_ipc_write_table_mbuffer(t, &w, &out, &err);
  if (s != QV_OK) {
    /* The writer may refuse only what it documents refusing (over-large batches). */
    if (s == QV_E_LIMIT) {
      qv_mbuffer_reset(&out);
      return;
    }
    fprintf(stderr, "writer refused a table the reader accepted: %s\n", err.message);
    abort();
  }
  qv_buffer bytes;
  if (qv_mbuffer_finish(&out, &bytes, &err) != QV_OK) abort();
  qv_table *back = NULL;
  s = qv_ipc_read_buffer(&bytes, NULL, NULL, &back, &err);
  if (s != QV_OK) {
    fprintf(stderr, "reader rejected what the writer wrote: %s\n", err.message);
    abort();
  }
  if (!qv_table_equal(t, back, &err)) {
    fprintf(stderr, "round trip changed the data: %s\n", err.message);
    abort();
  }
  qv_table_free(back);
  qv_buffer_unref(&bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qv_ipc_read_options o = qv_ipc_read_options_default();
  o.limits.max_message_bytes = 1 << 22;
  o.limits.max_decompressed_bytes = 1 << 22;
  o.limits.max_rows = 1 << 16;
  qv_buffer in;
  if (qv_buffer_copy(data, size, NULL, &in, NULL) != QV_OK) return 0;
  qv_table *t = NULL;
  if (qv_ipc_read_buffer(&in, &o, NULL, &t, NULL) == QV_OK) {
    roundtrip(t, QV_IPC_COMPRESSION_NONE);
    roundtrip(t, QV_IPC_COMPRESSION_LZ4_FRAME);
    qv_table_free(t);
  }
  qv_buffer_unref(&in);
  return 0;
}
