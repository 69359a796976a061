/* util.c — ndfile helpers: the bump arena, dtype names/widths, definition checks and derived
 * sizes, chunk geometry, chunk statistics (§7) and the n-d box copy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ndfile/nd_int.h"

/* ---- arena ---- */
struct nd_arena_blk {
  nd_arena_blk *next;
  size_t size, used;
  /* data follows, 16-aligned */
};
#define BLK_HDR 32u

void qv__nd_arena_init(nd_arena *a, const qv_allocator *alloc) {
  a->alloc = alloc;
  a->head = NULL;
}

void qv__nd_arena_free(nd_arena *a) {
  nd_arena_blk *b = a->head;
  while (b) {
    nd_arena_blk *n = b->next;
    qv_mem_free(a->alloc, b, BLK_HDR + b->size, 16);
    b = n;
  }
  a->head = NULL;
}

void *qv__nd_arena_alloc(nd_arena *a, size_t size) {
  size_t need;
  if (!qv__round_up(size ? size : 1, 16, &need)) return NULL;
  nd_arena_blk *b = a->head;
  if (!b || b->size - b->used < need) {
    size_t bs = need > 16384 ? need : 16384;
    if (bs > SIZE_MAX - BLK_HDR) return NULL;
    b = qv_mem_alloc(a->alloc, BLK_HDR + bs, 16);
    if (!b) return NULL;
    b->size = bs;
    b->used = 0;
    b->next = a->head;
    a->head = b;
  }
  uint8_t *p = (uint8_t *)b + BLK_HDR + b->used;
  b->used += need;
  memset(p, 0, need);
  return p;
}

char *qv__nd_arena_strndup(nd_arena *a, const char *s, size_t n) {
  if (n == SIZE_MAX) return NULL;
  char *p = qv__nd_arena_alloc(a, n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = 0;
  return p;
}

/* ---- dtypes ---- */
static const struct {
  qv_nd_type t;
  const char *name, *alias;
  size_t width;
} types[] = {
    {QV_ND_BOOL, "bool", "b1", 1},         {QV_ND_INT8, "int8", "i1", 1},
    {QV_ND_INT16, "int16", "i2", 2},       {QV_ND_INT32, "int32", "i4", 4},
    {QV_ND_INT64, "int64", "i8", 8},       {QV_ND_UINT8, "uint8", "u1", 1},
    {QV_ND_UINT16, "uint16", "u2", 2},     {QV_ND_UINT32, "uint32", "u4", 4},
    {QV_ND_UINT64, "uint64", "u8", 8},     {QV_ND_FLOAT32, "float32", "f4", 4},
    {QV_ND_FLOAT64, "float64", "f8", 8},   {QV_ND_TIMESTAMP_NS, "timestamp", "M8[ns]", 8},
    {QV_ND_STRING, "string", "str", 0},    {QV_ND_BINARY, "binary", "bytes", 0},
};
#define NTYPES (sizeof types / sizeof types[0])

static int type_index(qv_nd_type t) {
  for (size_t i = 0; i < NTYPES; i++)
    if (types[i].t == t) return (int)i;
  return -1;
}

bool qv__nd_type_var(qv_nd_dtype t) { return t.type == QV_ND_STRING || t.type == QV_ND_BINARY; }

bool qv__nd_type_valid(qv_nd_dtype t) {
  if (type_index(t.type) < 0) return false;
  if (t.list_size && qv__nd_type_var(t)) return false;
  return true;
}

size_t qv_nd_dtype_width(qv_nd_dtype t) {
  int i = type_index(t.type);
  if (i < 0 || !qv__nd_type_valid(t)) return 0;
  size_t w = types[i].width;
  if (t.list_size) {
    if (qv__mul_overflow(w, t.list_size, &w)) return 0;
  }
  return w;
}

const char *qv_nd_dtype_str(qv_nd_dtype t, char *buf, size_t size) {
  int i = type_index(t.type);
  if (i < 0 || !qv__nd_type_valid(t)) {
    snprintf(buf, size, "?");
  } else if (t.list_size) {
    snprintf(buf, size, "list<%s,%u>", types[i].name, t.list_size);
  } else {
    snprintf(buf, size, "%s", types[i].name);
  }
  return buf;
}

qv_status qv_nd_dtype_parse(const char *s, qv_nd_dtype *out, qv_error *err) {
  qv_nd_dtype d = {0, 0};
  char base[32];
  const char *p = s;
  if (strncmp(s, "list<", 5) == 0) {
    const char *comma = strchr(s, ',');
    const char *end = strchr(s, '>');
    if (!comma || !end || comma > end || (size_t)(comma - s - 5) >= sizeof base || end[1])
      return qv_error_set(err, QV_E_INVALID, "dtype '%s': expected list<TYPE,N>", s);
    memcpy(base, s + 5, (size_t)(comma - s - 5));
    base[comma - s - 5] = 0;
    char *e;
    unsigned long n = strtoul(comma + 1, &e, 10);
    if (e != end || n == 0 || n > 1u << 24)
      return qv_error_set(err, QV_E_INVALID, "dtype '%s': list size must be 1..16777216", s);
    d.list_size = (uint32_t)n;
    p = base;
  }
  for (size_t i = 0; i < NTYPES; i++)
    if (strcmp(p, types[i].name) == 0 || strcmp(p, types[i].alias) == 0) d.type = types[i].t;
  if (!d.type || !qv__nd_type_valid(d))
    return qv_error_set(err, QV_E_INVALID,
                        "unknown dtype '%s' (bool, int8..int64, uint8..uint64, float32, float64, "
                        "timestamp, string, binary, list<TYPE,N>)", s);
  *out = d;
  return QV_OK;
}

/* ---- definitions ---- */
qv_status qv__nd_meta_derive(nd_meta *m, const qv_nd_limits *lim, qv_error *err) {
  const char *nm = m->name ? m->name : "?";
  if (!qv__nd_type_valid(m->dtype))
    return qv_error_set(err, QV_E_INVALID, "array '%s': invalid dtype %d (list size %u)", nm,
                        (int)m->dtype.type, m->dtype.list_size);
  if (m->rank > QV_ND_MAX_RANK || m->rank > lim->max_rank)
    return qv_error_set(err, QV_E_LIMIT, "array '%s': rank %u exceeds the limit %u", nm, m->rank,
                        lim->max_rank < QV_ND_MAX_RANK ? lim->max_rank : QV_ND_MAX_RANK);
  bool var = qv__nd_type_var(m->dtype);
  m->width = var ? 0 : qv_nd_dtype_width(m->dtype);
  if (!var && m->width == 0)
    return qv_error_set(err, QV_E_LIMIT, "array '%s': element width overflows", nm);
  if (!var && m->fill_len != m->width)
    return qv_error_set(err, QV_E_INVALID, "array '%s': fill value of %zu bytes, element is %zu",
                        nm, m->fill_len, m->width);
  uint64_t count = 1, nch = 1, per_chunk = 1;
  for (uint32_t i = 0; i < m->rank; i++) {
    if (m->chunk[i] == 0)
      return qv_error_set(err, QV_E_INVALID, "array '%s': chunk dimension %u is 0", nm, i);
    uint64_t g = m->shape[i] / m->chunk[i] + (m->shape[i] % m->chunk[i] != 0);
    m->grid[i] = g;
    if (__builtin_mul_overflow(count, m->shape[i], &count) ||
        __builtin_mul_overflow(nch, g, &nch))
      return qv_error_set(err, QV_E_LIMIT, "array '%s': element count overflows 64 bits", nm);
    uint64_t c = m->chunk[i] < m->shape[i] ? m->chunk[i] : m->shape[i];
    if (c == 0) c = 1;
    if (__builtin_mul_overflow(per_chunk, c, &per_chunk))
      return qv_error_set(err, QV_E_LIMIT, "array '%s': chunk size overflows", nm);
  }
  uint64_t chunk_bytes;
  if (__builtin_mul_overflow(per_chunk, var ? 4 : m->width, &chunk_bytes) ||
      chunk_bytes > lim->max_chunk_bytes || chunk_bytes > SIZE_MAX / 2)
    return qv_error_set(err, QV_E_LIMIT,
                        "array '%s': a chunk of %llu elements exceeds the chunk limit of %llu bytes",
                        nm, (unsigned long long)per_chunk, (unsigned long long)lim->max_chunk_bytes);
  m->count = count;
  m->n_chunks = nch;
  return QV_OK;
}

uint64_t qv__nd_chunk_extent(const nd_meta *m, uint64_t c, uint64_t *origin, uint64_t *extent) {
  uint64_t n = 1;
  for (uint32_t k = m->rank; k-- > 0;) {
    uint64_t ci = c % m->grid[k];
    c /= m->grid[k];
    origin[k] = ci * m->chunk[k];
    uint64_t left = m->shape[k] - origin[k];
    extent[k] = left < m->chunk[k] ? left : m->chunk[k];
    n *= extent[k];
  }
  return n;
}

/* ---- statistics (§7) ---- */
typedef enum { DOM_I, DOM_U, DOM_F } dom;
static dom type_dom(qv_nd_type t) {
  switch (t) {
    case QV_ND_UINT8: case QV_ND_UINT16: case QV_ND_UINT32: case QV_ND_UINT64: return DOM_U;
    case QV_ND_FLOAT32: case QV_ND_FLOAT64: return DOM_F;
    default: return DOM_I;
  }
}

/* Counts elements equal to the fill value, comparing whole elements as integers when the
 * width allows (the hot path of every flush), else with memcmp. */
static uint64_t count_fill(const uint8_t *raw, uint64_t nelem, size_t w, const uint8_t *fill) {
  uint64_t n = 0;
#define CF(T)                                                   \
  {                                                             \
    T fv, v;                                                    \
    memcpy(&fv, fill, sizeof fv);                               \
    for (uint64_t i = 0; i < nelem; i++) {                      \
      memcpy(&v, raw + i * sizeof v, sizeof v);                 \
      n += v == fv;                                             \
    }                                                           \
    return n;                                                   \
  }
  switch (w) {
    case 1: CF(uint8_t)
    case 2: CF(uint16_t)
    case 4: CF(uint32_t)
    case 8: CF(uint64_t)
    default:
      for (uint64_t i = 0; i < nelem; i++) n += memcmp(raw + i * w, fill, w) == 0;
      return n;
  }
#undef CF
}

/* min/max of integer leaves, one tight loop per type */
#define IMINMAX(T, ACC, MN, MX)                                 \
  {                                                             \
    T lo, hi, v;                                                \
    memcpy(&lo, raw, sizeof lo);                                \
    hi = lo;                                                    \
    for (size_t j = 1; j < nleaf; j++) {                        \
      memcpy(&v, raw + j * sizeof v, sizeof v);                 \
      lo = v < lo ? v : lo;                                     \
      hi = v > hi ? v : hi;                                     \
    }                                                           \
    MN = (ACC)lo;                                               \
    MX = (ACC)hi;                                               \
  }                                                             \
  break;

/* min/max of float leaves ignoring NaN; false when all are NaN. Compared as integers in the
 * float's total order (-0 below +0), so the result does not depend on the order of the
 * elements and the loop vectorises; IT/UT: same-width signed/unsigned integer. */
#define FMINMAX(T, IT, UT)                                                          \
  {                                                                                 \
    const UT mag = (UT)~(UT)0 >> 1, inf = T##_INF_BITS, top = sizeof(UT) * 8 - 1;    \
    IT klo = (IT)mag, khi = (IT)~mag; /* the empty range: max, min */               \
    for (size_t j = 0; j < nleaf; j++) {                                            \
      UT b;                                                                         \
      memcpy(&b, raw + j * sizeof b, sizeof b);                                     \
      UT neg = (UT)((IT)b >> top), nan = (UT)((IT)(inf - (b & mag)) >> top);         \
      UT k = b ^ (neg & mag); /* order-preserving key; NaN: out of the running */   \
      IT kl = (IT)((k & ~nan) | (nan & mag)), kh = (IT)((k & ~nan) | (nan & ~mag));  \
      klo = kl < klo ? kl : klo;                                                    \
      khi = kh > khi ? kh : khi;                                                    \
    }                                                                               \
    any = klo <= khi;                                                               \
    if (any) {                                                                      \
      T lo, hi;                                                                     \
      UT ulo = (UT)klo ^ ((UT)(klo >> top) & mag), uhi = (UT)khi ^ ((UT)(khi >> top) & mag); \
      memcpy(&lo, &ulo, sizeof lo);                                                 \
      memcpy(&hi, &uhi, sizeof hi);                                                 \
      fmin = (double)lo;                                                            \
      fmax = (double)hi;                                                            \
    }                                                                               \
  }                                                                                 \
  break;
#define float_INF_BITS 0x7f800000u
#define double_INF_BITS 0x7ff0000000000000ull

/* float32 chunks (the common case) in one fused pass: fill count and min/max keys in the float
 * total order, NaN skipped (as FMINMAX). Branch-free so that it vectorises; an AVX2 build is
 * picked at run time on x86-64. The fill count runs in 32-bit blocks. */
#define F32_STATS_BODY                                                                  \
  const uint32_t mag = 0x7fffffffu, inf = 0x7f800000u;                                  \
  uint64_t nf = 0;                                                                      \
  int32_t lo = INT32_MAX, hi = INT32_MIN;                                               \
  for (size_t j0 = 0; j0 < n; j0 += (size_t)1 << 20) {                                  \
    size_t j1 = n - j0 < ((size_t)1 << 20) ? n : j0 + ((size_t)1 << 20);                \
    uint32_t c = 0;                                                                     \
    for (size_t j = j0; j < j1; j++) {                                                  \
      uint32_t b;                                                                       \
      memcpy(&b, raw + j * 4, 4);                                                       \
      c += (uint32_t)(b == fill);                                                       \
      uint32_t neg = (uint32_t)((int32_t)b >> 31), nan = (uint32_t)((int32_t)(inf - (b & mag)) >> 31); \
      uint32_t k = b ^ (neg & mag);                                                     \
      int32_t kl = (int32_t)((k & ~nan) | (nan & mag)), kh = (int32_t)((k & ~nan) | (nan & ~mag)); \
      lo = kl < lo ? kl : lo;                                                           \
      hi = kh > hi ? kh : hi;                                                           \
    }                                                                                   \
    nf += c;                                                                            \
  }                                                                                     \
  *nfill = nf;                                                                          \
  *klo = lo;                                                                            \
  *khi = hi;

static void f32_stats_base(const uint8_t *raw, size_t n, uint32_t fill, uint64_t *nfill,
                           int32_t *klo, int32_t *khi) {
  F32_STATS_BODY
}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ND_F32_AVX2 1
__attribute__((target("avx2"))) static void f32_stats_avx2(const uint8_t *raw, size_t n,
                                                           uint32_t fill, uint64_t *nfill,
                                                           int32_t *klo, int32_t *khi) {
  F32_STATS_BODY
}
#endif
#undef F32_STATS_BODY

static void f32_stats(const nd_meta *m, const uint8_t *raw, size_t n, nd_chunk_ent *e) {
  uint32_t fill;
  memcpy(&fill, m->fill, 4);
  int32_t klo, khi;
#ifdef ND_F32_AVX2
  if (__builtin_cpu_supports("avx2")) f32_stats_avx2(raw, n, fill, &e->n_fill, &klo, &khi);
  else
#endif
    f32_stats_base(raw, n, fill, &e->n_fill, &klo, &khi);
  if (klo > khi) return; /* all NaN (or empty) */
  uint32_t ulo = (uint32_t)klo ^ ((uint32_t)(klo >> 31) & 0x7fffffffu);
  uint32_t uhi = (uint32_t)khi ^ ((uint32_t)(khi >> 31) & 0x7fffffffu);
  float flo, fhi;
  memcpy(&flo, &ulo, 4);
  memcpy(&fhi, &uhi, 4);
  double dlo = (double)flo, dhi = (double)fhi;
  memcpy(&e->min, &dlo, 8);
  memcpy(&e->max, &dhi, 8);
  e->flags = ND_CHUNK_HAS_MINMAX;
}

void qv__nd_chunk_stats(const nd_meta *m, const uint8_t *raw, size_t raw_len, uint64_t nelem,
                        nd_chunk_ent *e) {
  e->n_fill = 0;
  e->flags = 0;
  e->min = e->max = 0;
  if (qv__nd_type_var(m->dtype)) {
    if (raw_len < nelem * 4) return;
    size_t off = (size_t)nelem * 4;
    for (uint64_t i = 0; i < nelem; i++) {
      uint32_t l = qv__load_u32le(raw + i * 4);
      if (l > raw_len - off) return;
      if (l == m->fill_len && (l == 0 || memcmp(raw + off, m->fill, l) == 0)) e->n_fill++;
      off += l;
    }
    return;
  }
  size_t w = m->width;
  if (raw_len < nelem * w) return;
  if (m->dtype.type == QV_ND_FLOAT32 && w == 4) {
    f32_stats(m, raw, (size_t)nelem, e);
    return;
  }
  e->n_fill = count_fill(raw, nelem, w, m->fill);
  size_t nleaf = (size_t)nelem * (m->dtype.list_size ? m->dtype.list_size : 1);
  if (nleaf == 0) return;
  dom d = type_dom(m->dtype.type);
  int64_t imin = 0, imax = 0;
  uint64_t umin = 0, umax = 0;
  double fmin = 0, fmax = 0;
  bool any = true;
  switch (m->dtype.type) {
    case QV_ND_BOOL: IMINMAX(uint8_t, int64_t, imin, imax)
    case QV_ND_UINT8: IMINMAX(uint8_t, uint64_t, umin, umax)
    case QV_ND_INT8: IMINMAX(int8_t, int64_t, imin, imax)
    case QV_ND_INT16: IMINMAX(int16_t, int64_t, imin, imax)
    case QV_ND_INT32: IMINMAX(int32_t, int64_t, imin, imax)
    case QV_ND_INT64: case QV_ND_TIMESTAMP_NS: IMINMAX(int64_t, int64_t, imin, imax)
    case QV_ND_UINT16: IMINMAX(uint16_t, uint64_t, umin, umax)
    case QV_ND_UINT32: IMINMAX(uint32_t, uint64_t, umin, umax)
    case QV_ND_UINT64: IMINMAX(uint64_t, uint64_t, umin, umax)
    case QV_ND_FLOAT32: FMINMAX(float, int32_t, uint32_t)
    case QV_ND_FLOAT64: FMINMAX(double, int64_t, uint64_t)
    default: return;
  }
  if (d == DOM_F) {
    if (!any) return;
    memcpy(&e->min, &fmin, 8);
    memcpy(&e->max, &fmax, 8);
  } else if (d == DOM_U) {
    e->min = umin;
    e->max = umax;
  } else {
    e->min = (uint64_t)imin;
    e->max = (uint64_t)imax;
  }
  e->flags = ND_CHUNK_HAS_MINMAX;
}
#undef IMINMAX
#undef FMINMAX
#undef float_INF_BITS
#undef double_INF_BITS

/* ---- box copy ---- */
/* memcpy with non-temporal (cache-bypassing) stores for the 16-byte-aligned middle: the
 * destination lines are written without being read first (no read-for-ownership), and the
 * copy does not evict the caller's working set. The caller issues the store fence. */
static void copy_stream(uint8_t *dst, const uint8_t *src, size_t n) {
#if defined(__SSE2__)
  size_t head = (size_t)(-(uintptr_t)dst & 15u);
  if (n < head + 64) {
    memcpy(dst, src, n);
    return;
  }
  memcpy(dst, src, head);
  dst += head;
  src += head;
  n -= head;
  size_t body = n & ~(size_t)63;
  for (size_t i = 0; i < body; i += 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 32));
    __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 48));
    _mm_stream_si128((__m128i *)(void *)(dst + i), a);
    _mm_stream_si128((__m128i *)(void *)(dst + i + 16), b);
    _mm_stream_si128((__m128i *)(void *)(dst + i + 32), c);
    _mm_stream_si128((__m128i *)(void *)(dst + i + 48), d);
  }
  if (n > body) memcpy(dst + body, src + body, n - body);
#else
  memcpy(dst, src, n);
#endif
}

static void copy_box_impl(uint32_t rank, size_t width, const uint8_t *src, const uint64_t *src_shape,
                          const uint64_t *src_start, uint8_t *dst, const uint64_t *dst_shape,
                          const uint64_t *dst_start, const uint64_t *count, bool stream) {
  if (rank == 0) {
    memcpy(dst, src, width);
    return;
  }
  for (uint32_t k = 0; k < rank; k++)
    if (count[k] == 0) return;
  uint64_t sstr[QV_ND_MAX_RANK], dstr[QV_ND_MAX_RANK], idx[QV_ND_MAX_RANK];
  sstr[rank - 1] = dstr[rank - 1] = 1;
  for (uint32_t k = rank - 1; k-- > 0;) {
    sstr[k] = sstr[k + 1] * src_shape[k + 1];
    dstr[k] = dstr[k + 1] * dst_shape[k + 1];
  }
  /* merge the innermost dimensions while both sides are contiguous */
  uint32_t inner = rank - 1;
  size_t run = (size_t)count[inner] * width;
  while (inner > 0 && count[inner] == src_shape[inner] && count[inner] == dst_shape[inner]) {
    inner--;
    run *= (size_t)count[inner];
  }
  memset(idx, 0, sizeof idx);
  for (;;) {
    uint64_t so = 0, dof = 0;
    for (uint32_t k = 0; k <= inner; k++) {
      so += (src_start[k] + (k < inner ? idx[k] : 0)) * sstr[k];
      dof += (dst_start[k] + (k < inner ? idx[k] : 0)) * dstr[k];
    }
    for (uint32_t k = inner + 1; k < rank; k++) {
      so += src_start[k] * sstr[k];
      dof += dst_start[k] * dstr[k];
    }
    if (stream) copy_stream(dst + dof * width, src + so * width, run);
    else memcpy(dst + dof * width, src + so * width, run);
    /* advance dims 0..inner-1 */
    uint32_t k = inner;
    for (;;) {
      if (k == 0) return;
      k--;
      if (++idx[k] < count[k]) break;
      idx[k] = 0;
    }
  }
}

void qv__nd_copy_box(uint32_t rank, size_t width, const uint8_t *src, const uint64_t *src_shape,
                     const uint64_t *src_start, uint8_t *dst, const uint64_t *dst_shape,
                     const uint64_t *dst_start, const uint64_t *count) {
  copy_box_impl(rank, width, src, src_shape, src_start, dst, dst_shape, dst_start, count, false);
}

void qv__nd_copy_box_stream(uint32_t rank, size_t width, const uint8_t *src,
                            const uint64_t *src_shape, const uint64_t *src_start, uint8_t *dst,
                            const uint64_t *dst_shape, const uint64_t *dst_start,
                            const uint64_t *count) {
  copy_box_impl(rank, width, src, src_shape, src_start, dst, dst_shape, dst_start, count, true);
#if defined(__SSE2__)
  _mm_sfence(); /* the streamed stores are visible before anything that follows */
#endif
}

/* float64 bits as an integer in the float total order (-0 below +0; no NaN here) */
static int64_t fkey(uint64_t bits) {
  int64_t k = (int64_t)bits;
  return k ^ (int64_t)((uint64_t)(k >> 63) & (UINT64_MAX >> 1));
}

void qv__nd_chunk_stats_merge(const nd_meta *m, nd_chunk_ent *acc, const nd_chunk_ent *seg) {
  acc->n_fill += seg->n_fill;
  if (!(seg->flags & ND_CHUNK_HAS_MINMAX)) return;
  if (!(acc->flags & ND_CHUNK_HAS_MINMAX)) {
    acc->min = seg->min;
    acc->max = seg->max;
    acc->flags |= ND_CHUNK_HAS_MINMAX;
    return;
  }
  switch (type_dom(m->dtype.type)) {
    case DOM_F: /* float64 bits, compared in the total order the statistics use */
      if (fkey(seg->min) < fkey(acc->min)) acc->min = seg->min;
      if (fkey(seg->max) > fkey(acc->max)) acc->max = seg->max;
      break;
    case DOM_U:
      if (seg->min < acc->min) acc->min = seg->min;
      if (seg->max > acc->max) acc->max = seg->max;
      break;
    default:
      if ((int64_t)seg->min < (int64_t)acc->min) acc->min = seg->min;
      if ((int64_t)seg->max > (int64_t)acc->max) acc->max = seg->max;
      break;
  }
}

void qv__nd_region_or_all(uint32_t rank, const uint64_t *array_shape, const uint64_t *start,
                          const uint64_t *shape, uint64_t *st, uint64_t *sh) {
  for (uint32_t k = 0; k < rank; k++) {
    st[k] = start ? start[k] : 0;
    sh[k] = shape ? shape[k] : (st[k] <= array_shape[k] ? array_shape[k] - st[k] : 0);
  }
}

qv_status qv__nd_region_check(const char *name, uint32_t rank, const uint64_t *array_shape,
                              const uint64_t *start, const uint64_t *shape, uint64_t *nelem,
                              qv_error *err) {
  uint64_t n = 1;
  for (uint32_t k = 0; k < rank; k++) {
    if (shape[k] > array_shape[k] || start[k] > array_shape[k] - shape[k])
      return qv_error_set(err, QV_E_RANGE,
                          "array '%s': region [%llu, +%llu) in dimension %u is outside its extent %llu",
                          name, (unsigned long long)start[k], (unsigned long long)shape[k], k,
                          (unsigned long long)array_shape[k]);
    n *= shape[k]; /* at most the array's element count */
  }
  *nelem = n;
  return QV_OK;
}
