/* largest_alloc.h — test support: an allocator (over the default one) that records the largest
 * single allocation, to check that a reader does not allocate a size an input merely declares. */
#ifndef QV_TEST_LARGEST_ALLOC_H
#define QV_TEST_LARGEST_ALLOC_H

#include <stddef.h>

#include "quiver/alloc.h"

static size_t largest_alloc_seen;

static inline void *largest_alloc_fn(void *u, size_t size, size_t align) {
  (void)u;
  if (size > largest_alloc_seen) largest_alloc_seen = size;
  return qv_mem_alloc(qv_allocator_default(), size, align);
}
static inline void *largest_realloc_fn(void *u, void *p, size_t old, size_t size, size_t align) {
  (void)u;
  if (size > largest_alloc_seen) largest_alloc_seen = size;
  return qv_mem_realloc(qv_allocator_default(), p, old, size, align);
}
static inline void largest_free_fn(void *u, void *p, size_t size, size_t align) {
  (void)u;
  qv_mem_free(qv_allocator_default(), p, size, align);
}

/* The recording allocator; the record starts again from 0. */
static inline qv_allocator largest_alloc_start(void) {
  largest_alloc_seen = 0;
  qv_allocator a = {largest_alloc_fn, largest_realloc_fn, largest_free_fn, NULL};
  return a;
}

#endif
