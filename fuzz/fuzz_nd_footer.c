/* fuzz_nd_footer.c — fuzzes the ndfile layer decoder (trailer, header, footer, chunk index,
 * blocks) through the memory store: the input is stored as layer 2 on top of an empty base and
 * opened, and everything it describes is read with small limits. Unless the input's second byte
 * is odd, the footer's layer number is set to 2 and the trailer's checksums are recomputed
 * first, so that mutations reach the footer parser instead of stopping at a checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "quiver/ndfile.h"

static void fix_checksums(uint8_t *p, size_t n) {
  if (n < 56) return;
  uint8_t *t = p + n - 40;
  uint64_t fl = 0;
  for (int i = 0; i < 8; i++) fl |= (uint64_t)t[i] << (8 * i);
  if (fl <= n - 56) {
    if (fl >= 8) { /* layer number := 2 */
      uint8_t *seq = p + n - 40 - fl;
      memset(seq, 0, 8);
      seq[0] = 2;
    }
    uint64_t h = XXH3_64bits(p + n - 40 - fl, (size_t)fl);
    for (int i = 0; i < 8; i++) t[8 + i] = (uint8_t)(h >> (8 * i));
  }
  uint64_t h = XXH3_64bits(t, 24);
  for (int i = 0; i < 8; i++) t[24 + i] = (uint8_t)(h >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qv_nd_store *st;
  if (qv_nd_store_memory_new(NULL, &st, NULL) != QV_OK) return 0;
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) {
    qv_nd_store_close(st);
    return 0;
  }
  if (size) memcpy(copy, data, size);
  if (size < 2 || (copy[1] & 1) == 0) fix_checksums(copy, size);
  qv_nd_file *base;
  if (qv_nd_create(st, "f.nd", NULL, &base, NULL) == QV_OK) qv_nd_close(base);
  qv_nd_store_writer *w;
  if (st->writer_open(st, "f.nd/layer-00000000000000000002.qnd", &w, NULL) == QV_OK) {
    if (st->writer_append(w, copy, size, NULL) == QV_OK) st->writer_commit(w, 0, NULL);
    else st->writer_abort(w);
  }
  free(copy);
  qv_nd_options o = qv_nd_options_default();
  o.limits.max_chunk_bytes = 1 << 20;
  o.limits.max_footer_bytes = 1 << 20;
  o.cache_bytes = 1 << 20;
  qv_nd_file *f;
  if (qv_nd_open(st, "f.nd", &o, &f, NULL) == QV_OK) {
    for (size_t i = 0; i < qv_nd_count(f); i++) {
      const char *name = qv_nd_name(f, i);
      qv_nd_info in;
      qv_nd_stats stt;
      if (qv_nd_info_get(f, name, &in, NULL) != QV_OK) continue;
      qv_nd_stats_get(f, name, &stt, NULL);
      for (size_t a = 0; a < qv_nd_attr_count(f, name); a++) {
        qv_nd_attr v;
        qv_nd_attr_get(f, name, qv_nd_attr_key(f, name, a), &v, NULL);
      }
      uint64_t n = 1, zero[QV_ND_MAX_RANK] = {0};
      size_t w8 = qv_nd_dtype_width(in.dtype);
      for (uint32_t k = 0; k < in.rank; k++) n = in.shape[k] && n > (1u << 22) / in.shape[k] ? (1u << 22) + 1 : n * in.shape[k];
      if (n > (1u << 22) / (w8 ? w8 : 16)) continue; /* keep the fuzzer fast: skip huge arrays */
      if (w8) {
        void *buf = malloc((size_t)n * w8 + 1);
        if (buf) qv_nd_read(f, name, zero, in.shape, buf, (size_t)n * w8, NULL);
        free(buf);
      } else {
        qv_nd_varbuf vb;
        if (qv_nd_read_var(f, name, zero, in.shape, &vb, NULL) == QV_OK) qv_nd_varbuf_reset(&vb);
      }
    }
    qv_nd_verify(f, NULL);
    qv_nd_close(f);
  }
  qv_nd_store_close(st);
  return 0;
}
