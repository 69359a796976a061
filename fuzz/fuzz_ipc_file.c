/* fuzz_ipc_file.c — fuzz target: the input as an IPC file: footer verification, every batch
 * read whole and column by column (projection), row counts. */
#include <stdint.h>
#include <string.h>

#include "quiver/ipc_reader.h"
#include "quiver/quiver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qv_ipc_read_options o = qv_ipc_read_options_default();
  o.limits.max_message_bytes = 1 << 24;
  o.limits.max_decompressed_bytes = 1 << 24;
  o.limits.max_rows = 1 << 20;
  qv_buffer buf;
  if (qv_buffer_copy(data, size, NULL, &buf, NULL) < 0) return 0;
  qv_ipc_file *f = NULL;
  if (qv_ipc_file_open_buffer(&buf, &o, NULL, &f, NULL) == QV_OK) {
    const qv_schema *sc = qv_ipc_file_schema(f);
    int64_t nb = qv_ipc_file_num_batches(f);
    for (int64_t i = 0; i < nb && i < 16; i++) {
      int64_t rows;
      (void)qv_ipc_file_batch_rows(f, i, &rows, NULL);
      qv_batch *b = NULL;
      if (qv_ipc_file_read_batch(f, i, NULL, 0, &b, NULL) == QV_OK) qv_batch_unref(b);
      for (int32_t c = sc->n_fields - 1; c >= 0 && c >= sc->n_fields - 4; c--) {
        b = NULL;
        if (qv_ipc_file_read_batch(f, i, &c, 1, &b, NULL) == QV_OK) qv_batch_unref(b);
      }
    }
    qv_ipc_file_close(f);
  }
  qv_buffer_unref(&buf);
  return 0;
}
