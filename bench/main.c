/* main.c — `qv_bench [--quick] [SECTION...]`: runs the benchmark sections (all by default). */
#include <stdio.h>
#include <string.h>

#include "bench.h"

int qv_bench_bitmap(int quick);
int qv_bench_array(int quick);
int qv_bench_ndfile(int quick);
int qv_bench_ipc(int quick);

static const struct {
  const char *name;
  qv_bench_fn fn;
  const char *what;
} sections[] = {
    {"bitmap", qv_bench_bitmap, "bitmap popcount/and/or/extend vs a byte-at-a-time loop"},
    {"array", qv_bench_array, "builders (10M int64 / short utf8) vs memcpy; full validation GB/s"},
    {"ipc", qv_bench_ipc, "IPC write/read GB/s (none/lz4/zstd) vs memcpy; 100M-row file open+map, reach every batch, sum vs apache-arrow JS"},
    {"ndfile", qv_bench_ndfile, "ndfile write/read/random chunk reads vs zarr and h5py (float32, 1024^2 chunks)"},
};

int main(int argc, char **argv) {
  int quick = 0, any = 0, rc = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) quick = 1;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: qv_bench [--quick] [SECTION...]\nsections:\n");
      for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++)
        printf("  %-10s %s\n", sections[s].name, sections[s].what);
      return 0;
    }
  }
  for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
    int want = 1;
    for (int i = 1; i < argc; i++)
      if (argv[i][0] != '-') want = 0;
    for (int i = 1; i < argc; i++)
      if (strcmp(argv[i], sections[s].name) == 0) want = 1;
    if (!want) continue;
    any = 1;
    printf("== %s: %s\n", sections[s].name, sections[s].what);
    if (sections[s].fn(quick) != 0) rc = 1;
  }
  if (!any) {
    fprintf(stderr, "qv_bench: no such section (try --help)\n");
    return 2;
  }
  return rc;
}
