/* test_bitmap.c — qv_bitmap / qv_mbitmap / raw bit helpers checked against a naive bit-by-bit
 * reference at every bit offset 0..63 and lengths around byte and word edges; allocation
 * failure at every point leaks nothing. */
#include "qv_test.h"

static const size_t lens[] = {0,   1,   7,   8,   9,   15,   16,   17,   63,
                              64,  65,  127, 128, 129, 200, 1000, 1031, 4099};
#define NLENS (sizeof lens / sizeof lens[0])

/* ---- reference and helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void) { return qv_test_rand(&rng_state); }
/* Random bytes; `density` selects the pattern: 0 random, 1 sparse, 2 dense, 3 long runs. */
static void fill(uint8_t *p, size_t n, int density) {
  int run = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t b = (uint8_t)rnd();
    switch (density) {
    case 1: b = (uint8_t)(b & rnd() & rnd()); break;
    case 2: b = (uint8_t)(b | rnd() | rnd()); break;
    case 3:
      if (rnd() % 11 == 0) run = !run;
      b = run ? 0xff : 0x00;
      if (rnd() % 7 == 0) b = (uint8_t)(b ^ (1u << (rnd() % 8)));
      break;
    default: break;
    }
    p[i] = b;
  }
}
static bool ref_get(const uint8_t *p, size_t i) { return (p[i / 8] >> (i % 8)) & 1; }
static void ref_set(uint8_t *p, size_t i, bool v) {
  if (v) p[i / 8] = (uint8_t)(p[i / 8] | (1u << (i % 8)));
  else p[i / 8] = (uint8_t)(p[i / 8] & ~(1u << (i % 8)));
}
static size_t ref_count(const uint8_t *p, size_t off, size_t len) {
  size_t c = 0;
  for (size_t i = 0; i < len; i++) c += ref_get(p, off + i);
  return c;
}
static size_t nbytes(size_t bits) { return (bits + 7) / 8; }
/* An exactly sized heap block (so ASan catches any read past the last byte holding a bit). */
static uint8_t *exact(size_t bits, int density) {
  size_t n = nbytes(bits);
  uint8_t *p = malloc(n ? n : 1);
  fill(p, n ? n : 1, density);
  return p;
}

/* The mbitmap's padding invariant: bits past len in the last byte, and all bytes up to cap, 0. */
static bool padding_ok(const qv_mbitmap *mb) {
  if (!mb->buf.data) return mb->len == 0;
  if (mb->buf.len != nbytes(mb->len)) return false;
  if (mb->len % 8 && (mb->buf.data[mb->len / 8] >> (mb->len % 8)) != 0) return false;
  for (size_t i = mb->buf.len; i < mb->buf.cap; i++)
    if (mb->buf.data[i]) return false;
  return true;
}

/* Checks every bit of a bitmap against reference bits [roff, roff+len) of ref. */
static void check_bitmap_bits(const qv_bitmap *b, const uint8_t *ref, size_t roff, size_t len,
                              const char *what, size_t x, size_t y) {
  if (b->len != len) {
    QV__FAIL("%s (%zu, %zu): len %zu != %zu", what, x, y, b->len, len);
    return;
  }
  size_t unset = 0;
  for (size_t i = 0; i < len; i++) {
    bool want = ref_get(ref, roff + i);
    unset += !want;
    if (qv_bitmap_get(b, i) != want) {
      QV__FAIL("%s (%zu, %zu): bit %zu differs", what, x, y, i);
      return;
    }
  }
  if (b->unset != unset) QV__FAIL("%s (%zu, %zu): unset %zu != %zu", what, x, y, b->unset, unset);
}

static void check_mbitmap_bits(const qv_mbitmap *mb, const uint8_t *ref, size_t len,
                               const char *what, size_t x, size_t y) {
  if (mb->len != len) {
    QV__FAIL("%s (%zu, %zu): len %zu != %zu", what, x, y, mb->len, len);
    return;
  }
  for (size_t i = 0; i < len; i++)
    if (qv_mbitmap_get(mb, i) != ref_get(ref, i)) {
      QV__FAIL("%s (%zu, %zu): bit %zu differs", what, x, y, i);
      return;
    }
  if (!padding_ok(mb)) QV__FAIL("%s (%zu, %zu): padding not zero", what, x, y);
  if (qv_mbitmap_unset_count(mb) != len - ref_count(ref, 0, len))
    QV__FAIL("%s (%zu, %zu): unset count wrong", what, x, y);
}

/* ---- raw helpers ------------------------------------------------------------------------ */

static void test_count_set(void) {
  for (int density = 0; density < 4; density++)
    for (size_t off = 0; off < 64; off++)
      for (size_t li = 0; li < NLENS; li++) {
        size_t len = lens[li];
        uint8_t *p = exact(off + len, density);
        size_t got = qv_bits_count_set(p, off, len), want = ref_count(p, off, len);
        if (got != want) QV__FAIL("count off %zu len %zu: %zu != %zu", off, len, got, want);
        free(p);
      }
  /* all ones / all zeros over long ranges (word loop and its tails) */
  uint8_t *ones = malloc(1000), *zeros = calloc(1000, 1);
  memset(ones, 0xff, 1000);
  for (size_t off = 0; off < 64; off++) {
    QV_CHECK_UINT_EQ(qv_bits_count_set(ones, off, 8000 - off), 8000 - off);
    QV_CHECK_UINT_EQ(qv_bits_count_set(zeros, off, 8000 - off), 0);
  }
  free(ones);
  free(zeros);
}

static void copy_case(size_t soff, size_t doff, size_t len) {
  uint8_t *src = exact(soff + len, 0), *dst = exact(doff + len, 0);
  size_t n = nbytes(doff + len);
  uint8_t *before = malloc(n ? n : 1);
  memcpy(before, dst, n);
  qv_bits_copy(dst, doff, src, soff, len);
  for (size_t i = 0; i < n * 8; i++) {
    bool want = (i >= doff && i < doff + len) ? ref_get(src, soff + i - doff) : ref_get(before, i);
    if (ref_get(dst, i) != want) {
      QV__FAIL("copy src_off %zu dst_off %zu len %zu: dst bit %zu wrong", soff, doff, len, i);
      break;
    }
  }
  free(src);
  free(dst);
  free(before);
}

static void test_bits_copy(void) {
  for (size_t a = 0; a < 64; a++)
    for (size_t b = 0; b < 64; b++)
      for (size_t li = 0; li < NLENS; li++) copy_case(a, b, lens[li]);
}

/* ---- immutable bitmap -------------------------------------------------------------------- */

static void test_from_buffer_slice(void) {
  uint8_t raw[700];
  qv_buffer buf;
  for (int density = 0; density < 4; density += 3) {
    fill(raw, sizeof raw, density);
    QV_REQUIRE_OK(qv_buffer_copy(raw, sizeof raw, NULL, &buf, NULL));
    for (size_t off = 0; off < 64; off++)
      for (size_t li = 0; li < NLENS; li++) {
        size_t len = lens[li];
        qv_bitmap b;
        QV_REQUIRE_OK(qv_bitmap_from_buffer(&buf, off, len, &b, NULL));
        check_bitmap_bits(&b, raw, off, len, "from_buffer", off, len);
        /* slices: small ones (count the slice) and large ones (count the removed ends) */
        size_t cuts[][2] = {{0, len}, {0, len / 2}, {len / 3, len / 3},
                            {len ? 1 : 0, len ? len - 1 : 0},
                            {len > 2 ? 1 : 0, len > 2 ? len - 2 : 0}, {len, 0},
                            {len / 2, len - len / 2}, {len > 70 ? 67 : 0, len > 70 ? len - 70 : 0}};
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
          qv_bitmap s, ss;
          QV_REQUIRE_OK(qv_bitmap_slice(&b, cuts[c][0], cuts[c][1], &s, NULL));
          check_bitmap_bits(&s, raw, off + cuts[c][0], cuts[c][1], "slice", off, len);
          QV_CHECK(s.buf.data == buf.data); /* shares memory */
          size_t so = s.len / 5, sl = s.len - s.len / 5 - s.len / 7;
          QV_REQUIRE_OK(qv_bitmap_slice(&s, so, sl, &ss, NULL));
          check_bitmap_bits(&ss, raw, off + cuts[c][0] + so, sl, "slice of slice", off, len);
          qv_bitmap_unref(&s);
          qv_bitmap_unref(&ss);
        }
        qv_bitmap bad;
        qv_error err;
        QV_CHECK_STATUS_E(qv_bitmap_slice(&b, 1, len, &bad, &err), QV_E_RANGE, &err);
        QV_CHECK_CONTAINS(err.message, "outside the bitmap");
        QV_CHECK_STATUS(qv_bitmap_slice(&b, SIZE_MAX, 2, &bad, NULL), QV_E_RANGE);
        QV_CHECK_STATUS(qv_bitmap_slice(&b, 2, SIZE_MAX, &bad, NULL), QV_E_RANGE);
        qv_bitmap_unref(&b);
      }
    QV_CHECK_UINT_EQ(qv_buffer_refcount(&buf), 1);
    qv_buffer_unref(&buf);
  }
}

static void test_from_buffer_range(void) {
  uint8_t raw[4] = {0xff, 0, 0xff, 0};
  qv_buffer buf;
  qv_bitmap b;
  qv_error err;
  QV_REQUIRE_OK(qv_buffer_copy(raw, 4, NULL, &buf, NULL));
  QV_CHECK_OK(qv_bitmap_from_buffer(&buf, 0, 32, &b, NULL));
  QV_CHECK_UINT_EQ(b.unset, 16);
  qv_bitmap_unref(&b);
  QV_CHECK_OK(qv_bitmap_from_buffer(&buf, 31, 1, &b, NULL));
  qv_bitmap_unref(&b);
  QV_CHECK_OK(qv_bitmap_from_buffer(&buf, 32, 0, &b, NULL));
  qv_bitmap_unref(&b);
  QV_CHECK_STATUS_E(qv_bitmap_from_buffer(&buf, 30, 3, &b, &err), QV_E_RANGE, &err);
  QV_CHECK_CONTAINS(err.message, "3 bits at bit offset 30 needs 5 bytes but the buffer has 4");
  QV_CHECK_STATUS_E(qv_bitmap_from_buffer(&buf, SIZE_MAX - 3, 8, &b, &err), QV_E_RANGE, &err);
  QV_CHECK_CONTAINS(err.message, "overflows");
  QV_CHECK_STATUS(qv_bitmap_from_buffer(&buf, 8, SIZE_MAX, &b, NULL), QV_E_RANGE);
  QV_CHECK_UINT_EQ(qv_buffer_refcount(&buf), 1);
  qv_buffer_unref(&buf);
}

static void test_copy_bits_bitmap(void) {
  for (size_t off = 0; off < 64; off++)
    for (size_t li = 0; li < NLENS; li++) {
      size_t len = lens[li];
      uint8_t *p = exact(off + len, 0);
      qv_bitmap b;
      QV_REQUIRE_OK(qv_bitmap_copy_bits(p, off, len, NULL, &b, NULL));
      check_bitmap_bits(&b, p, off, len, "copy_bits", off, len);
      QV_CHECK_UINT_EQ(b.offset, 0);
      if (len % 8) QV_CHECK_UINT_EQ(b.buf.data[len / 8] >> (len % 8), 0);
      qv_bitmap_unref(&b);
      free(p);
    }
}

static void test_equal(void) {
  for (size_t oa = 0; oa < 64; oa += 1)
    for (size_t ob = 0; ob < 64; ob += 3)
      for (size_t li = 0; li < NLENS; li++) {
        size_t len = lens[li];
        uint8_t *pa = exact(oa + len, 0), *pb = exact(ob + len, 0);
        qv_bits_copy(pb, ob, pa, oa, len);
        qv_buffer ba, bb;
        QV_REQUIRE_OK(qv_buffer_copy(pa, nbytes(oa + len), NULL, &ba, NULL));
        QV_REQUIRE_OK(qv_buffer_copy(pb, nbytes(ob + len), NULL, &bb, NULL));
        qv_bitmap a, b;
        QV_REQUIRE_OK(qv_bitmap_from_buffer(&ba, oa, len, &a, NULL));
        QV_REQUIRE_OK(qv_bitmap_from_buffer(&bb, ob, len, &b, NULL));
        if (!qv_bitmap_equal(&a, &b)) QV__FAIL("equal offsets %zu/%zu len %zu", oa, ob, len);
        /* Swap a set and an unset bit of b: same unset count, different value. */
        size_t i1 = SIZE_MAX, i0 = SIZE_MAX;
        for (size_t i = len; i-- > 0;) {
          if (ref_get(pb, ob + i)) i1 = i1 == SIZE_MAX ? i : i1;
          else i0 = i0 == SIZE_MAX ? i : i0;
        }
        if (i1 != SIZE_MAX && i0 != SIZE_MAX) {
          qv_buffer_unref(&bb);
          qv_bitmap_unref(&b);
          ref_set(pb, ob + i1, false);
          ref_set(pb, ob + i0, true);
          QV_REQUIRE_OK(qv_buffer_copy(pb, nbytes(ob + len), NULL, &bb, NULL));
          QV_REQUIRE_OK(qv_bitmap_from_buffer(&bb, ob, len, &b, NULL));
          QV_CHECK_UINT_EQ(a.unset, b.unset);
          if (qv_bitmap_equal(&a, &b))
            QV__FAIL("not equal offsets %zu/%zu len %zu bits %zu,%zu", oa, ob, len, i0, i1);
        }
        if (len) { /* different lengths */
          qv_bitmap s;
          QV_REQUIRE_OK(qv_bitmap_slice(&a, 0, len - 1, &s, NULL));
          QV_CHECK(!qv_bitmap_equal(&a, &s));
          qv_bitmap_unref(&s);
        }
        qv_bitmap_unref(&a);
        qv_bitmap_unref(&b);
        qv_buffer_unref(&ba);
        qv_buffer_unref(&bb);
        free(pa);
        free(pb);
      }
  /* absent == all set of the same length */
  uint8_t ones[20];
  memset(ones, 0xff, sizeof ones);
  qv_bitmap all, absent = {0};
  QV_REQUIRE_OK(qv_bitmap_copy_bits(ones, 3, 150, NULL, &all, NULL));
  absent.len = 150;
  QV_CHECK(qv_bitmap_equal(&all, &absent));
  QV_CHECK(qv_bitmap_equal(&absent, &all));
  absent.len = 149;
  QV_CHECK(!qv_bitmap_equal(&all, &absent));
  qv_bitmap_unref(&all);
}

static void test_runs(void) {
  for (int density = 0; density < 4; density++)
    for (size_t off = 0; off < 64; off++)
      for (size_t li = 0; li < NLENS; li++) {
        size_t len = lens[li];
        uint8_t *p = exact(off + len, density);
        qv_bitmap b = {0};
        b.buf.data = p; /* a borrowed view is enough for iteration */
        b.offset = off;
        b.len = len;
        qv_bitmap_runs it;
        qv_bitmap_runs_init(&it, &b);
        size_t i = 0, start, n;
        bool ok = true;
        while (ok && qv_bitmap_runs_next(&it, &start, &n)) {
          /* reference: skip zeros, then take ones */
          while (i < len && !ref_get(p, off + i)) i++;
          size_t s = i;
          while (i < len && ref_get(p, off + i)) i++;
          if (start != s || n != i - s || n == 0) {
            QV__FAIL("runs off %zu len %zu density %d: got [%zu,+%zu) want [%zu,+%zu)", off, len,
                     density, start, n, s, i - s);
            ok = false;
          }
        }
        while (ok && i < len && !ref_get(p, off + i)) i++;
        if (ok && i != len) QV__FAIL("runs off %zu len %zu: a run was missed at %zu", off, len, i);
        QV_CHECK(!qv_bitmap_runs_next(&it, &start, &n)); /* stays finished */
        free(p);
      }
  qv_bitmap absent = {0};
  absent.len = 77;
  qv_bitmap_runs it;
  size_t start, n;
  qv_bitmap_runs_init(&it, &absent);
  QV_CHECK(qv_bitmap_runs_next(&it, &start, &n));
  QV_CHECK_UINT_EQ(start, 0);
  QV_CHECK_UINT_EQ(n, 77);
  QV_CHECK(!qv_bitmap_runs_next(&it, &start, &n));
}

/* ---- mutable bitmap ---------------------------------------------------------------------- */

static void test_push_pop_get_set(void) {
  qv_mbitmap mb;
  qv_mbitmap_init(&mb, NULL);
  uint8_t ref[400] = {0};
  size_t len = 0;
  for (int step = 0; step < 20000; step++) {
    uint64_t r = rnd() % 10;
    if (r < 6 && len < 3000) {
      bool v = rnd() & 1;
      QV_REQUIRE_OK(qv_mbitmap_push(&mb, v, NULL));
      ref_set(ref, len++, v);
    } else if (r < 8) {
      bool v;
      if (!len) {
        QV_CHECK_STATUS(qv_mbitmap_pop(&mb, &v, NULL), QV_E_RANGE);
        continue;
      }
      QV_REQUIRE_OK(qv_mbitmap_pop(&mb, &v, NULL));
      len--;
      if (v != ref_get(ref, len)) QV__FAIL("pop at step %d: wrong bit", step);
      ref_set(ref, len, false);
    } else if (len) {
      size_t i = rnd() % len;
      bool v = rnd() & 1;
      qv_mbitmap_set(&mb, i, v);
      ref_set(ref, i, v);
      if (qv_mbitmap_get(&mb, i) != v) QV__FAIL("get after set at step %d", step);
    }
    if (step % 97 == 0) check_mbitmap_bits(&mb, ref, len, "push/pop", (size_t)step, len);
  }
  check_mbitmap_bits(&mb, ref, len, "push/pop end", 0, len);
  qv_error err;
  bool v;
  while (mb.len) QV_REQUIRE_OK(qv_mbitmap_pop(&mb, &v, NULL));
  QV_CHECK_STATUS_E(qv_mbitmap_pop(&mb, &v, &err), QV_E_RANGE, &err);
  QV_CHECK_CONTAINS(err.message, "empty");
  QV_CHECK(padding_ok(&mb));
  qv_mbitmap_reset(&mb);
}

static void test_extend(void) {
  /* Append bitmaps at every offset onto bitmaps of every starting length mod 64. */
  for (size_t start = 0; start < 64; start += 5)
    for (size_t off = 0; off < 64; off++)
      for (size_t li = 0; li < NLENS; li += 2) {
        size_t len = lens[li];
        qv_mbitmap mb;
        qv_mbitmap_init(&mb, NULL);
        uint8_t ref[1100] = {0};
        uint8_t *head = exact(start, 0), *p = exact(off + len, 0);
        QV_REQUIRE_OK(qv_mbitmap_extend_bits(&mb, head, 0, start, NULL));
        for (size_t i = 0; i < start; i++) ref_set(ref, i, ref_get(head, i));
        qv_buffer buf;
        qv_bitmap b;
        QV_REQUIRE_OK(qv_buffer_copy(p, nbytes(off + len), NULL, &buf, NULL));
        QV_REQUIRE_OK(qv_bitmap_from_buffer(&buf, off, len, &b, NULL));
        QV_REQUIRE_OK(qv_mbitmap_extend(&mb, &b, NULL));
        for (size_t i = 0; i < len; i++) ref_set(ref, start + i, ref_get(p, off + i));
        /* and a constant run and the raw bits again */
        bool cv = (off & 1) != 0;
        size_t cn = (off * 37) % 150;
        QV_REQUIRE_OK(qv_mbitmap_extend_const(&mb, cv, cn, NULL));
        for (size_t i = 0; i < cn; i++) ref_set(ref, start + len + i, cv);
        QV_REQUIRE_OK(qv_mbitmap_extend_bits(&mb, p, off, len, NULL));
        for (size_t i = 0; i < len; i++) ref_set(ref, start + len + cn + i, ref_get(p, off + i));
        check_mbitmap_bits(&mb, ref, start + 2 * len + cn, "extend", off, len);
        qv_bitmap_unref(&b);
        qv_buffer_unref(&buf);
        qv_mbitmap_reset(&mb);
        free(head);
        free(p);
      }
  /* absent bitmap appends set bits */
  qv_mbitmap mb;
  qv_mbitmap_init(&mb, NULL);
  qv_bitmap absent = {0};
  absent.len = 70;
  QV_REQUIRE_OK(qv_mbitmap_push(&mb, false, NULL));
  QV_REQUIRE_OK(qv_mbitmap_extend(&mb, &absent, NULL));
  QV_CHECK_UINT_EQ(mb.len, 71);
  QV_CHECK_UINT_EQ(qv_mbitmap_unset_count(&mb), 1);
  QV_CHECK(padding_ok(&mb));
  qv_mbitmap_reset(&mb);
}

static void test_extend_const(void) {
  for (size_t start = 0; start < 70; start++)
    for (size_t li = 0; li < NLENS; li++) {
      qv_mbitmap mb;
      qv_mbitmap_init(&mb, NULL);
      uint8_t ref[600] = {0};
      for (size_t i = 0; i < start; i++) {
        bool v = rnd() & 1;
        QV_REQUIRE_OK(qv_mbitmap_push(&mb, v, NULL));
        ref_set(ref, i, v);
      }
      bool v = (start + li) & 1;
      QV_REQUIRE_OK(qv_mbitmap_extend_const(&mb, v, lens[li], NULL));
      for (size_t i = 0; i < lens[li]; i++) ref_set(ref, start + i, v);
      check_mbitmap_bits(&mb, ref, start + lens[li], "extend_const", start, lens[li]);
      qv_mbitmap_reset(&mb);
    }
}

enum { AND, OR, XOR };

static void test_and_or_xor_not(void) {
  for (int op = 0; op < 3; op++)
    for (size_t off = 0; off < 64; off++)
      for (size_t li = 0; li < NLENS; li++) {
        size_t len = lens[li];
        uint8_t *mine = exact(len, (int)(off % 4)), *p = exact(off + len, (int)(li % 4));
        qv_mbitmap mb;
        qv_mbitmap_init(&mb, NULL);
        QV_REQUIRE_OK(qv_mbitmap_extend_bits(&mb, mine, 0, len, NULL));
        qv_buffer buf;
        qv_bitmap other;
        QV_REQUIRE_OK(qv_buffer_copy(p, nbytes(off + len), NULL, &buf, NULL));
        QV_REQUIRE_OK(qv_bitmap_from_buffer(&buf, off, len, &other, NULL));
        uint8_t ref[600] = {0};
        for (size_t i = 0; i < len; i++) {
          bool a = ref_get(mine, i), b = ref_get(p, off + i);
          ref_set(ref, i, op == AND ? (a && b) : op == OR ? (a || b) : (a != b));
        }
        qv_status s = op == AND ? qv_mbitmap_and(&mb, &other, NULL)
                      : op == OR ? qv_mbitmap_or(&mb, &other, NULL)
                                 : qv_mbitmap_xor(&mb, &other, NULL);
        QV_CHECK_OK(s);
        check_mbitmap_bits(&mb, ref, len, op == AND ? "and" : op == OR ? "or" : "xor", off, len);
        qv_mbitmap_not(&mb);
        for (size_t i = 0; i < len; i++) ref_set(ref, i, !ref_get(ref, i));
        check_mbitmap_bits(&mb, ref, len, "not", off, len);
        /* absent other: all set */
        qv_bitmap absent = {0};
        absent.len = len;
        s = op == AND ? qv_mbitmap_and(&mb, &absent, NULL)
            : op == OR ? qv_mbitmap_or(&mb, &absent, NULL)
                       : qv_mbitmap_xor(&mb, &absent, NULL);
        QV_CHECK_OK(s);
        for (size_t i = 0; i < len; i++)
          ref_set(ref, i, op == AND ? ref_get(ref, i) : op == OR ? true : !ref_get(ref, i));
        check_mbitmap_bits(&mb, ref, len, "op with absent", off, len);
        qv_bitmap_unref(&other);
        qv_buffer_unref(&buf);
        qv_mbitmap_reset(&mb);
        free(mine);
        free(p);
      }
  /* length mismatch */
  qv_mbitmap mb;
  qv_error err;
  qv_mbitmap_init(&mb, NULL);
  QV_REQUIRE_OK(qv_mbitmap_extend_const(&mb, true, 10, NULL));
  qv_bitmap other = {0};
  other.len = 11;
  QV_CHECK_STATUS_E(qv_mbitmap_and(&mb, &other, &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "lengths differ (10 bits vs 11 bits)");
  QV_CHECK_STATUS(qv_mbitmap_or(&mb, &other, NULL), QV_E_INVALID);
  QV_CHECK_STATUS(qv_mbitmap_xor(&mb, &other, NULL), QV_E_INVALID);
  qv_mbitmap_reset(&mb);
}

static void test_finish(void) {
  for (size_t li = 0; li < NLENS; li++)
    for (int elide = 0; elide < 2; elide++)
      for (int all_set = 0; all_set < 2; all_set++) {
        size_t len = lens[li];
        qv_test_alloc t;
        qv_test_alloc_init(&t, 0);
        qv_mbitmap mb;
        qv_mbitmap_init(&mb, &t.base);
        uint8_t ref[600] = {0};
        for (size_t i = 0; i < len; i++) {
          bool v = all_set || (rnd() % 3 != 0) || i == len / 2;
          if (!all_set && i == len / 2) v = false;
          QV_REQUIRE_OK(qv_mbitmap_push(&mb, v, NULL));
          ref_set(ref, i, v);
        }
        qv_bitmap b;
        QV_REQUIRE_OK(qv_mbitmap_finish(&mb, elide != 0, &b, NULL));
        QV_CHECK_UINT_EQ(mb.len, 0);
        QV_CHECK(mb.buf.data == NULL);
        QV_CHECK_UINT_EQ(b.len, len);
        if (elide && all_set) {
          QV_CHECK(!qv_bitmap_present(&b));
          QV_CHECK_UINT_EQ(b.unset, 0);
          QV_CHECK_UINT_EQ(t.live_allocs, 0); /* memory freed */
        } else if (len) {
          QV_CHECK(qv_bitmap_present(&b));
          check_bitmap_bits(&b, ref, 0, len, "finish", len, (size_t)elide);
        }
        /* mb is reusable */
        QV_REQUIRE_OK(qv_mbitmap_push(&mb, true, NULL));
        QV_CHECK_UINT_EQ(mb.len, 1);
        qv_mbitmap_reset(&mb);
        qv_bitmap_unref(&b);
        qv_test_alloc_check_clean(&t, "finish");
      }
}

static void test_reserve_overflow(void) {
  qv_mbitmap mb;
  qv_error err;
  qv_mbitmap_init(&mb, NULL);
  QV_REQUIRE_OK(qv_mbitmap_extend_const(&mb, true, 5, NULL));
  QV_CHECK_STATUS_E(qv_mbitmap_reserve(&mb, SIZE_MAX - 2, &err), QV_E_OVERFLOW, &err);
  QV_CHECK_CONTAINS(err.message, "bitmap of 5 bits cannot grow");
  QV_CHECK_STATUS(qv_mbitmap_extend_const(&mb, false, SIZE_MAX, NULL), QV_E_OVERFLOW);
  QV_CHECK_STATUS(qv_mbitmap_extend_bits(&mb, mb.buf.data, 0, SIZE_MAX - 4, NULL), QV_E_OVERFLOW);
  QV_CHECK_UINT_EQ(mb.len, 5); /* unchanged */
  QV_CHECK_UINT_EQ(qv_mbitmap_unset_count(&mb), 0);
  QV_CHECK(padding_ok(&mb));
  qv_mbitmap_reset(&mb);
}

/* Every allocation point fails once: QV_E_NOMEM, nothing leaked, mb still consistent. */
static qv_status scenario(const qv_allocator *a, void *ctx) {
  (void)ctx;
  qv_status s;
  qv_mbitmap mb, mb2;
  qv_bitmap b = {0}, c = {0}, d = {0};
  qv_mbitmap_init(&mb, a);
  qv_mbitmap_init(&mb2, a);
  uint8_t raw[400];
  memset(raw, 0xa5, sizeof raw);
  for (int i = 0; i < 100; i++) QV_TRY_GOTO(s, qv_mbitmap_push(&mb, i % 3 != 0, NULL), out);
  QV_TRY_GOTO(s, qv_mbitmap_extend_const(&mb, true, 1000, NULL), out);
  QV_TRY_GOTO(s, qv_mbitmap_extend_bits(&mb, raw, 5, 2000, NULL), out);
  QV_TRY_GOTO(s, qv_bitmap_copy_bits(raw, 3, 3100, a, &b, NULL), out);
  QV_TRY_GOTO(s, qv_mbitmap_xor(&mb, &b, NULL), out);
  QV_TRY_GOTO(s, qv_mbitmap_finish(&mb, true, &c, NULL), out);
  QV_TRY_GOTO(s, qv_mbitmap_extend(&mb2, &c, NULL), out);
  QV_TRY_GOTO(s, qv_mbitmap_extend_const(&mb2, true, 5000, NULL), out);
  QV_TRY_GOTO(s, qv_mbitmap_finish(&mb2, true, &d, NULL), out);
  /* c (mb xor b) has unset bits, so it is present; d (c then 5000 set bits) too. */
  s = QV_OK;
  if (!qv_bitmap_present(&c) || !qv_bitmap_present(&d) || d.len != c.len + 5000 ||
      d.unset != c.unset || c.unset != c.len - qv_bits_count_set(c.buf.data, 0, c.len))
    s = QV_E_INVALID;
out:
  if (s < 0 && mb.len && !padding_ok(&mb)) s = QV_E_STATE; /* a failed call broke mb */
  qv_mbitmap_reset(&mb);
  qv_mbitmap_reset(&mb2);
  qv_bitmap_unref(&b);
  qv_bitmap_unref(&c);
  qv_bitmap_unref(&d);
  return s;
}

static void test_alloc_failures(void) {
  size_t points = qv_test_each_alloc_failure(scenario, NULL, "bitmap scenario");
  QV_CHECK(points >= 6); /* pushes, growth, copy_bits (owner + bytes), finish owners, ... */
  printf("  %zu allocation points exercised\n", points);
}

QV_TEST_MAIN(QV_CASE(test_count_set), QV_CASE(test_bits_copy), QV_CASE(test_from_buffer_slice),
             QV_CASE(test_from_buffer_range), QV_CASE(test_copy_bits_bitmap), QV_CASE(test_equal),
             QV_CASE(test_runs), QV_CASE(test_push_pop_get_set), QV_CASE(test_extend),
             QV_CASE(test_extend_const), QV_CASE(test_and_or_xor_not), QV_CASE(test_finish),
             QV_CASE(test_reserve_overflow), QV_CASE(test_alloc_failures))
