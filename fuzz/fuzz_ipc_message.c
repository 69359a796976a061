/* fuzz_ipc_message.c — fuzz target: one IPC message's metadata FlatBuffer (the bytes after the
 * length prefix) through the verifier, the Message parser, and the Schema / RecordBatch /
 * DictionaryBatch header decoders. Must never crash, leak or read out of bounds. */
#include <stdint.h>
#include <string.h>

#include "ipc/ipc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qv_ipc_read_options o = qv_ipc_read_options_default();
  qv__ipc_msg m;
  if (qv__ipc_msg_parse(data, size, 0, &o, &m, NULL) < 0) return 0;
  if (m.header_type == QV_FB_HEADER_SCHEMA) {
    qv__ipc_schema_info si;
    if (qv__ipc_schema_read(&m.fb, m.header, &o, NULL, &si, NULL) == QV_OK) {
      char buf[256];
      qv_schema_to_string(si.schema, buf, sizeof buf);
      qv__ipc_schema_info_reset(&si);
    }
  } else {
    uint32_t rb = m.header;
    if (m.header_type == QV_FB_HEADER_DICTIONARY_BATCH)
      rb = qv__fb_table(&m.fb, m.header, QV_FB_DICTBATCH_DATA);
    qv__ipc_batch_meta bm;
    if (rb && qv__ipc_batch_meta_read(&m.fb, rb, &o.limits, &bm, NULL) == QV_OK) {
      uint64_t sum = 0;
      for (uint32_t i = 0; i < bm.n_nodes; i++)
        sum += (uint64_t)qv__fb_load_i64(&m.fb, bm.nodes + 16 * i);
      for (uint32_t i = 0; i < bm.n_buffers; i++)
        sum += (uint64_t)qv__fb_load_i64(&m.fb, bm.buffers + 16 * i + 8);
      for (uint32_t i = 0; i < bm.n_variadic; i++) sum += (uint64_t)qv__fb_load_i64(&m.fb, bm.variadic + 8 * i);
      (void)sum;
    }
  }
  return 0;
}
