/* hash.c — the ndfile checksum (XXH3-64, seed 0; docs/spec/ndfile.md §1), and the checksum of
 * a segmented block over its parts' checksums (§5a). On x86-64 CPUs with AVX2 an inlined AVX2
 * build of XXH3 is used (same result, about twice the speed of the distribution's generic
 * build); elsewhere libxxhash's XXH3_64bits. */
#include "ndfile/nd_int.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define ND_HASH_AVX2 1
#if defined(__clang__)
#include <immintrin.h> /* clang declares the AVX2 intrinsics whatever the target */
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>
static uint64_t hash_avx2(const void *p, size_t n) { return (uint64_t)XXH3_64bits(p, n); }
static void hasher_reset_avx2(void *st) { XXH3_64bits_reset((XXH3_state_t *)st); }
static void hasher_update_avx2(void *st, const void *p, size_t n) {
  XXH3_64bits_update((XXH3_state_t *)st, p, n);
}
static uint64_t hasher_digest_avx2(const void *st) {
  return (uint64_t)XXH3_64bits_digest((const XXH3_state_t *)st);
}
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#undef XXH3_64bits
#undef XXH3_64bits_reset
#undef XXH3_64bits_update
#undef XXH3_64bits_digest
/* the shared library's generic build (the inline build above has its own, renamed, copy) */
XXH64_hash_t XXH3_64bits(const void *data, size_t len);
XXH_errorcode XXH3_64bits_reset(XXH3_state_t *state);
XXH_errorcode XXH3_64bits_update(XXH3_state_t *state, const void *input, size_t length);
XXH64_hash_t XXH3_64bits_digest(const XXH3_state_t *state);
#else
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>
#endif

uint64_t qv__nd_hash_generic(const void *p, size_t n) { return (uint64_t)XXH3_64bits(p, n); }

_Static_assert(sizeof(XXH3_state_t) <= sizeof(((nd_hasher *)0)->state), "nd_hasher state too small");
_Static_assert(_Alignof(XXH3_state_t) <= 64, "nd_hasher state under-aligned");

static void flat_init(nd_hasher *h) {
  h->avx2 = 0;
#ifdef ND_HASH_AVX2
  if (__builtin_cpu_supports("avx2")) {
    h->avx2 = 1;
    hasher_reset_avx2(h->state);
    return;
  }
#endif
  XXH3_64bits_reset((XXH3_state_t *)(void *)h->state);
}

static void flat_update(nd_hasher *h, const void *p, size_t n) {
#ifdef ND_HASH_AVX2
  if (h->avx2) {
    hasher_update_avx2(h->state, p, n);
    return;
  }
#endif
  XXH3_64bits_update((XXH3_state_t *)(void *)h->state, p, n);
}

static uint64_t flat_digest(nd_hasher *h) {
#ifdef ND_HASH_AVX2
  if (h->avx2) return hasher_digest_avx2(h->state);
#endif
  return (uint64_t)XXH3_64bits_digest((const XXH3_state_t *)(const void *)h->state);
}

uint64_t qv__nd_hash(const void *p, size_t n) {
#ifdef ND_HASH_AVX2
  if (__builtin_cpu_supports("avx2")) return hash_avx2(p, n); /* reads a flag set at startup */
#endif
  return qv__nd_hash_generic(p, n);
}

uint64_t qv__nd_hash_combine(const uint64_t *d, size_t n) {
  return qv__nd_hash(d, n * sizeof *d); /* little-endian host: the u64le values in memory */
}

void qv__nd_hasher_init(nd_hasher *h) {
  h->part = h->fill = 0;
  flat_init(h);
}

/* Adds a part's checksum to the top state (an XXH3 state over the parts' checksums). */
static void top_add(nd_hasher *h, uint64_t d) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(d >> (8 * i));
#ifdef ND_HASH_AVX2
  if (h->avx2) {
    hasher_update_avx2(h->top, b, 8);
    return;
  }
#endif
  XXH3_64bits_update((XXH3_state_t *)(void *)h->top, b, 8);
}

void qv__nd_hasher_init_parts(nd_hasher *h, uint64_t part) {
  qv__nd_hasher_init(h);
  if (!part) return;
  h->part = part;
#ifdef ND_HASH_AVX2
  if (h->avx2) {
    hasher_reset_avx2(h->top);
    return;
  }
#endif
  XXH3_64bits_reset((XXH3_state_t *)(void *)h->top);
}

void qv__nd_hasher_update(nd_hasher *h, const void *p, size_t n) {
  if (!h->part) {
    flat_update(h, p, n);
    return;
  }
  const uint8_t *b = p;
  while (n) {
    size_t k = h->part - h->fill < n ? (size_t)(h->part - h->fill) : n;
    flat_update(h, b, k);
    b += k;
    n -= k;
    h->fill += k;
    if (h->fill == h->part) {
      top_add(h, flat_digest(h));
      flat_init(h);
      h->fill = 0;
    }
  }
}

uint64_t qv__nd_hasher_digest(nd_hasher *h) {
  if (!h->part) return flat_digest(h);
  if (h->fill) {
    top_add(h, flat_digest(h));
    h->fill = 0;
  }
#ifdef ND_HASH_AVX2
  if (h->avx2) return hasher_digest_avx2(h->top);
#endif
  return (uint64_t)XXH3_64bits_digest((const XXH3_state_t *)(const void *)h->top);
}
