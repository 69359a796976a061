/* bench_bitmap.c — the `bitmap` section: popcount, and, or, extend over 2^24-bit bitmaps at bit
 * offsets 0 and 3, quiver's word-wise code against a straightforward byte-at-a-time loop. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "quiver/quiver.h"

#define NBITS ((size_t)1 << 24)
#define NBYTES (NBITS / 8)

/* The peer: byte-at-a-time loops, kept byte-at-a-time (the compiler may not vectorize them). */
#if defined(__clang__)
#define BYTE_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")
#define NOVEC
#elif defined(__GNUC__)
#define BYTE_LOOP
#define NOVEC __attribute__((optimize("no-tree-vectorize")))
#else
#define BYTE_LOOP
#define NOVEC
#endif

static uint8_t popcnt_table[256];

static NOVEC size_t byte_count(const uint8_t *p, size_t off, size_t len) {
  size_t c = 0, i = 0;
  for (; i < len && ((off + i) & 7); i++) c += (p[(off + i) >> 3] >> ((off + i) & 7)) & 1u;
  const uint8_t *q = p + ((off + i) >> 3);
  size_t nb = (len - i) >> 3;
  BYTE_LOOP
  for (size_t k = 0; k < nb; k++) c += popcnt_table[q[k]];
  for (i += nb * 8; i < len; i++) c += (p[(off + i) >> 3] >> ((off + i) & 7)) & 1u;
  return c;
}

/* The source byte k of bits starting at bit offset `off` (assembled from two bytes when the
 * offset is not a multiple of 8; the caller's source has one spare byte). */
#define SRC_BYTE(s, k, sh) \
  ((sh) ? (uint8_t)((s)[k] >> (sh) | (s)[(k) + 1] << (8 - (sh))) : (s)[k])

enum { OP_AND, OP_OR, OP_COPY };
static NOVEC void byte_op(uint8_t *d, const uint8_t *src, size_t off, size_t nbytes, int op) {
  const uint8_t *s = src + off / 8;
  unsigned sh = (unsigned)(off & 7);
  if (op == OP_AND) {
    BYTE_LOOP
    for (size_t k = 0; k < nbytes; k++) d[k] &= SRC_BYTE(s, k, sh);
  } else if (op == OP_OR) {
    BYTE_LOOP
    for (size_t k = 0; k < nbytes; k++) d[k] |= SRC_BYTE(s, k, sh);
  } else {
    BYTE_LOOP
    for (size_t k = 0; k < nbytes; k++) d[k] = SRC_BYTE(s, k, sh);
  }
}

typedef struct ctx {
  uint8_t *src;      /* NBYTES + 16 random bytes */
  qv_buffer srcbuf;  /* the same bytes as a buffer */
  qv_bitmap other;   /* NBITS bits of srcbuf at the current offset */
  qv_mbitmap mb;     /* NBITS bits, quiver's destination */
  uint8_t *dst;      /* NBYTES + 16, the byte loop's destination */
  size_t off;
  size_t sink;
} ctx;

static void run_quiver(ctx *c, int what) {
  switch (what) {
  case 0: c->sink += qv_bits_count_set(c->src, c->off, NBITS); break;
  case 1: qv_mbitmap_and(&c->mb, &c->other, NULL); break;
  case 2: qv_mbitmap_or(&c->mb, &c->other, NULL); break;
  default:
    /* empty the bitmap, keep its memory (cleared outside the timed region by the caller) */
    qv_mbitmap_extend_bits(&c->mb, c->src, c->off, NBITS, NULL);
    break;
  }
}

static void run_bytes(ctx *c, int what) {
  switch (what) {
  case 0: c->sink += byte_count(c->src, c->off, NBITS); break;
  case 1: byte_op(c->dst, c->src, c->off, NBYTES, OP_AND); break;
  case 2: byte_op(c->dst, c->src, c->off, NBYTES, OP_OR); break;
  default: byte_op(c->dst, c->src, c->off, NBYTES, OP_COPY); break;
  }
}

/* Refills the destinations from the same random pattern (untimed). */
static void prepare(ctx *c, int what, int quiver) {
  if (quiver) {
    if (what == 3) {
      qv_mbuffer_resize(&c->mb.buf, 0, NULL); /* zeroes the bytes, keeps the capacity */
      c->mb.len = 0;
    } else {
      memcpy(c->mb.buf.data, c->src + 8, NBYTES);
    }
  } else {
    memcpy(c->dst, c->src + 8, NBYTES);
  }
}

static double best_of(ctx *c, int what, int quiver, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    prepare(c, what, quiver);
    double t0 = qv_bench_now();
    if (quiver) run_quiver(c, what);
    else run_bytes(c, what);
    double t = qv_bench_now() - t0;
    if (t < best) best = t;
  }
  return best;
}

int qv_bench_bitmap(int quick) {
  int reps = quick ? 3 : 25, rc = 0;
  for (int i = 0; i < 256; i++) popcnt_table[i] = (uint8_t)__builtin_popcount((unsigned)i);
  ctx c;
  memset(&c, 0, sizeof c);
  c.src = malloc(NBYTES + 16);
  c.dst = malloc(NBYTES + 16);
  if (!c.src || !c.dst) {
    free(c.src);
    free(c.dst);
    return 1;
  }
  uint64_t x = 0x2545f4914f6cdd1du;
  for (size_t i = 0; i < NBYTES + 16; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c.src[i] = (uint8_t)(x >> 24);
  }
  memset(c.dst, 0, NBYTES + 16);
  qv_mbitmap_init(&c.mb, NULL);
  if (qv_buffer_copy(c.src, NBYTES + 16, NULL, &c.srcbuf, NULL) != QV_OK ||
      qv_mbitmap_extend_const(&c.mb, false, NBITS, NULL) != QV_OK) {
    rc = 1;
    goto out;
  }
  printf("  (%zu bits = %zu MiB per operation, best of %d; Gbit/s of bitmap processed)\n", NBITS,
         NBYTES >> 20, reps);
  static const char *const names[] = {"popcount", "and", "or", "extend"};
  for (int what = 0; what < 4; what++) {
    double t_aligned = 0;
    for (size_t off = 0; off <= 3; off += 3) {
      c.off = off;
      qv_bitmap_unref(&c.other);
      if (qv_bitmap_from_buffer(&c.srcbuf, off, NBITS, &c.other, NULL) != QV_OK) {
        rc = 1;
        goto out;
      }
      double tq = best_of(&c, what, 1, reps);
      double tb = best_of(&c, what, 0, reps);
      /* The two implementations must agree. */
      int same;
      if (what == 0) {
        same = qv_bits_count_set(c.src, off, NBITS) == byte_count(c.src, off, NBITS);
      } else {
        same = c.mb.len == NBITS && memcmp(c.mb.buf.data, c.dst, NBYTES) == 0;
      }
      char name[96];
      snprintf(name, sizeof name, "%s, bit offset %zu: quiver word-wise", names[what], off);
      qv_bench_report(name, (double)NBITS / tq / 1e9, "Gbit/s", tb / tq, "byte loop");
      snprintf(name, sizeof name, "%s, bit offset %zu: byte-at-a-time loop", names[what], off);
      qv_bench_report(name, (double)NBITS / tb / 1e9, "Gbit/s", 0, NULL);
      if (off == 0) {
        t_aligned = tq;
      } else {
        snprintf(name, sizeof name, "%s: offset %zu cost / offset 0 cost (quiver)", names[what],
                 off);
        qv_bench_report(name, tq / t_aligned, "x", 0, NULL);
      }
      if (!same) {
        printf("  %s, bit offset %zu: RESULTS DIFFER between quiver and the byte loop\n",
               names[what], off);
        rc = 1;
      }
    }
  }
  qv_bench_keep(c.sink);
out:
  qv_bitmap_unref(&c.other);
  qv_buffer_unref(&c.srcbuf);
  qv_mbitmap_reset(&c.mb);
  free(c.src);
  free(c.dst);
  return rc;
}
