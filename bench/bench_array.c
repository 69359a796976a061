/* bench_array.c — builders and validation: appending 10M int64 and 10M short strings one at a
 * time (values/s, compared with a plain memcpy of the finished buffers), and full validation of
 * the same arrays (GB/s). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "quiver/quiver.h"

static double best_of(int reps, double (*fn)(void *), void *ctx) {
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t = fn(ctx);
    if (t < best) best = t;
  }
  return best;
}

typedef struct ctx {
  int64_t n;
  const char *blob;       /* all strings back to back */
  const uint32_t *starts; /* n + 1 */
  qv_array *out;
  const qv_array *arr;
  void *dst;
  size_t dst_len;
} ctx;

static double build_i64(void *p) {
  ctx *c = p;
  qv_builder *b;
  if (qv_builder_new(qv_type_int64(), NULL, &b, NULL) != QV_OK) return 1e30;
  double t0 = qv_bench_now();
  for (int64_t i = 0; i < c->n; i++) (void)qv_builder_append_i64(b, i * 7, NULL);
  qv_array *a;
  (void)qv_builder_finish(b, &a, NULL);
  double t = qv_bench_now() - t0;
  qv_builder_free(b);
  qv_array_unref(c->out);
  c->out = a;
  return t;
}

static double build_utf8(void *p) {
  ctx *c = p;
  qv_builder *b;
  if (qv_builder_new(qv_type_utf8(), NULL, &b, NULL) != QV_OK) return 1e30;
  double t0 = qv_bench_now();
  for (int64_t i = 0; i < c->n; i++)
    (void)qv_builder_append_bytes(b, c->blob + c->starts[i], c->starts[i + 1] - c->starts[i], NULL);
  qv_array *a;
  (void)qv_builder_finish(b, &a, NULL);
  double t = qv_bench_now() - t0;
  qv_builder_free(b);
  qv_array_unref(c->out);
  c->out = a;
  return t;
}

/* memcpy of every buffer of c->arr into freshly allocated memory (as a builder must write fresh
 * memory too: page faults included on both sides) */
static double copy_buffers(void *p) {
  ctx *c = p;
  double t0 = qv_bench_now();
  c->dst = malloc(c->dst_len);
  if (!c->dst) return 1e30;
  size_t pos = 0;
  for (int32_t i = 0; i < c->arr->n_buffers; i++) {
    memcpy((char *)c->dst + pos, c->arr->buffers[i].data, c->arr->buffers[i].len);
    pos += c->arr->buffers[i].len;
  }
  qv_bench_keep(((unsigned char *)c->dst)[pos / 2]);
  free(c->dst);
  c->dst = NULL;
  return qv_bench_now() - t0;
}

static double validate_full(void *p) {
  ctx *c = p;
  double t0 = qv_bench_now();
  qv_status s = qv_array_validate(c->arr, QV_VALIDATE_FULL, NULL);
  double t = qv_bench_now() - t0;
  qv_bench_keep((uint64_t)(s + 1));
  return s == QV_OK ? t : 1e30;
}

static size_t buffer_bytes(const qv_array *a) {
  size_t n = 0;
  for (int32_t i = 0; i < a->n_buffers; i++) n += a->buffers[i].len;
  return n;
}

int qv_bench_array(int quick) {
  ctx c = {0};
  c.n = quick ? 1000000 : 10000000;
  int reps = quick ? 2 : 3;
  /* the strings "v0", "v1", ... laid out back to back */
  char *blob = malloc((size_t)c.n * 12);
  uint32_t *starts = malloc(((size_t)c.n + 1) * sizeof *starts);
  if (!blob || !starts) return 1;
  size_t pos = 0;
  for (int64_t i = 0; i < c.n; i++) {
    starts[i] = (uint32_t)pos;
    pos += (size_t)snprintf(blob + pos, 12, "v%lld", (long long)i);
  }
  starts[c.n] = (uint32_t)pos;
  c.blob = blob;
  c.starts = starts;
  c.dst_len = (size_t)c.n * 16 + pos + 1024;
  char name[96];

  /* int64 */
  double tb = best_of(reps, build_i64, &c);
  qv_array *ai = c.out;
  c.out = NULL;
  c.arr = ai;
  double tc = best_of(reps, copy_buffers, &c);
  snprintf(name, sizeof name, "build %lldM int64 (append_i64)", (long long)(c.n / 1000000));
  qv_bench_report(name, (double)c.n / tb / 1e6, "Mvals/s", tc / tb, "memcpy of the buffers");
  /* validation of int64 without nulls is O(1); give it a validity bitmap (1% nulls) so that the
   * null count is verified against the bitmap */
  qv_array *an = NULL;
  {
    qv_builder *b;
    uint8_t *valid = malloc((size_t)c.n);
    if (!valid || qv_builder_new(qv_type_int64(), NULL, &b, NULL) != QV_OK) return 1;
    for (int64_t i = 0; i < c.n; i++) valid[i] = i % 100 != 0;
    (void)qv_builder_append_values(b, ai->buffers[1].data, valid, c.n, NULL);
    (void)qv_builder_finish(b, &an, NULL);
    qv_builder_free(b);
    free(valid);
  }
  c.arr = an;
  double tv = best_of(reps, validate_full, &c);
  (void)buffer_bytes;
  qv_bench_report("validate full int64 (1% nulls; reads the bitmap)", tv * 1e3, "ms", 0, NULL);
  qv_array_unref(an);

  /* utf8 */
  tb = best_of(reps, build_utf8, &c);
  qv_array *as = c.out;
  c.out = NULL;
  c.arr = as;
  tc = best_of(reps, copy_buffers, &c);
  snprintf(name, sizeof name, "build %lldM short utf8 (append_bytes)", (long long)(c.n / 1000000));
  qv_bench_report(name, (double)c.n / tb / 1e6, "Mvals/s", tc / tb, "memcpy of the buffers");
  tv = best_of(reps, validate_full, &c);
  qv_bench_report("validate full utf8 (offsets + UTF-8)", (double)buffer_bytes(as) / tv / 1e9,
                  "GB/s", 0, NULL);

  qv_array_unref(ai);
  qv_array_unref(as);
  free(blob);
  free(starts);
  return 0;
}
