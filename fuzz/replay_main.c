/* replay_main.c — runs a fuzz target over every file of a corpus directory (and over
 * deterministic mutations of each: truncations and byte flips), so that corpora are replayed as
 * ordinary tests without libFuzzer. Fails if the corpus is missing or empty. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, long *inputs) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      uint8_t *nb = realloc(buf, cap);
      if (!nb) break;
      buf = nb;
    }
    size_t r = fread(buf + len, 1, cap - len, f);
    if (!r) break;
    len += r;
  }
  fclose(f);
  /* the input itself, in an exactly-sized allocation so overreads are caught */
  uint8_t *exact = malloc(len ? len : 1);
  memcpy(exact, buf, len);
  LLVMFuzzerTestOneInput(exact, len);
  (*inputs)++;
  /* truncations */
  for (size_t cut = 0; cut < len; cut += 1 + len / 64) {
    LLVMFuzzerTestOneInput(exact, cut);
    (*inputs)++;
  }
  /* single-byte corruptions at spread positions (deterministic) */
  uint32_t x = 2463534242u;
  for (int k = 0; k < 64 && len; k++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    size_t pos = x % len;
    uint8_t old = exact[pos];
    exact[pos] = (uint8_t)(old ^ (1u << (x >> 29)) ^ (k & 1 ? 0xff : 0));
    LLVMFuzzerTestOneInput(exact, len);
    exact[pos] = old;
    (*inputs)++;
  }
  free(exact);
  free(buf);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
    return 2;
  }
  long files = 0, inputs = 0;
  for (int a = 1; a < argc; a++) {
    DIR *d = opendir(argv[a]);
    if (!d) {
      fprintf(stderr, "corpus %s: cannot open\n", argv[a]);
      return 1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
      files += run_file(path, &inputs);
    }
    closedir(d);
  }
  if (!files) {
    fprintf(stderr, "no corpus files found: a fuzz target without a corpus tests nothing\n");
    return 1;
  }
  printf("replayed %ld corpus files (%ld inputs with mutations)\n", files, inputs);
  return 0;
}
