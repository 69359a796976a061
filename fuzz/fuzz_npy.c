/* fuzz_npy.c — fuzz target: the .npy parser. Whatever it accepts must describe data that lies
 * inside the input and whose size matches shape x element width, and must survive a header
 * re-write + re-parse unchanged. Violations abort(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/quiver.h"
#include "quiver/ndfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qv_npy_view v;
  if (qv_npy_parse(data, size, &v, NULL) != QV_OK) return 0;
  if (v.rank > QV_ND_MAX_RANK) abort();
  if (v.data_len && (v.data < data || v.data_len > size || (size_t)(v.data - data) > size - v.data_len))
    abort();
  size_t w = qv_nd_dtype_width(v.dtype);
  if (w) { /* fixed width: data_len must be exactly product(shape) * width */
    size_t n = w;
    int overflow = 0;
    for (uint32_t i = 0; i < v.rank; i++)
      if (v.shape[i] == 0) n = 0; /* an empty dimension makes the array empty */
    for (uint32_t i = 0; i < v.rank && n; i++)
      if (__builtin_mul_overflow(n, v.shape[i], &n)) overflow = 1;
    if (overflow || n != v.data_len) {
      fprintf(stderr, "npy: data_len %zu but shape x width = %zu%s\n", v.data_len, n,
              overflow ? " (overflows)" : "");
      abort();
    }
    uint8_t hdr[8192];
    size_t hl = 0;
    if (qv_npy_header(v.dtype, v.rank, v.shape, hdr, sizeof hdr, &hl, NULL) == QV_OK) {
      qv_npy_view again;
      if (qv_npy_parse(hdr, hl, &again, NULL) == QV_OK) {
        if (again.dtype.type != v.dtype.type || again.dtype.list_size != v.dtype.list_size ||
            again.rank != v.rank ||
            memcmp(again.shape, v.shape, v.rank * sizeof v.shape[0]) != 0)
          abort();
      } else if (v.data_len == 0) {
        abort(); /* an empty array's header alone is a complete file */
      }
    }
  }
  return 0;
}
