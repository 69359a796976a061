/* alloc.c — the default allocator and the qv_mem_* entry points every allocation goes through. */
#define _GNU_SOURCE /* mremap */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core_int.h"

/* Large blocks come straight from mmap: page-aligned (so 64-byte aligned), and they grow with
 * mremap, which moves pages instead of copying bytes — builders and writers grow for free.
 * The hooks receive the size on free and realloc, so no header is needed to tell them apart. */
#define LARGE_BLOCK ((size_t)1 << 20)
#define PAGE ((size_t)4096)

static bool is_large(size_t size, size_t align) { return size >= LARGE_BLOCK && align <= PAGE; }

static void *map_pages(size_t size) {
  size_t len;
  if (!qv__round_up(size, PAGE, &len)) return NULL;
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void *default_alloc(void *user, size_t size, size_t align) {
  (void)user;
  if (is_large(size, align)) return map_pages(size);
  size_t rounded;
  if (!qv__round_up(size, align, &rounded)) return NULL;
  return aligned_alloc(align, rounded); /* C11: size must be a multiple of align */
}

static void default_free(void *user, void *ptr, size_t size, size_t align) {
  (void)user;
  if (is_large(size, align)) {
    munmap(ptr, (size + PAGE - 1) & ~(PAGE - 1));
    return;
  }
  free(ptr);
}

static void *default_realloc(void *user, void *ptr, size_t old_size, size_t new_size,
                             size_t align) {
  if (is_large(old_size, align) && is_large(new_size, align)) {
    size_t old_len = (old_size + PAGE - 1) & ~(PAGE - 1), new_len;
    if (!qv__round_up(new_size, PAGE, &new_len)) return NULL;
    if (old_len == new_len) return ptr;
    void *p = mremap(ptr, old_len, new_len, MREMAP_MAYMOVE);
    return p == MAP_FAILED ? NULL : p;
  }
  void *n = default_alloc(user, new_size, align);
  if (!n) return NULL;
  memcpy(n, ptr, old_size < new_size ? old_size : new_size);
  default_free(user, ptr, old_size, align);
  return n;
}

static const qv_allocator default_allocator = {default_alloc, default_realloc, default_free,
                                               NULL};

const qv_allocator *qv_allocator_default(void) { return &default_allocator; }

static size_t norm_align(size_t align) {
  if (align == 0) return QV_ALIGNMENT;
  if (align < sizeof(void *)) return sizeof(void *);
  return align;
}

void *qv_mem_alloc(const qv_allocator *a, size_t size, size_t align) {
  if (!a) a = &default_allocator;
  align = norm_align(align);
  if ((align & (align - 1)) != 0) return NULL;
  return a->alloc(a->user, size ? size : 1, align);
}

void *qv_mem_calloc(const qv_allocator *a, size_t size, size_t align) {
  void *p = qv_mem_alloc(a, size, align);
  if (p) memset(p, 0, size ? size : 1);
  return p;
}

void *qv_mem_realloc(const qv_allocator *a, void *ptr, size_t old_size, size_t new_size,
                     size_t align) {
  if (!a) a = &default_allocator;
  align = norm_align(align);
  if (!ptr) return qv_mem_alloc(a, new_size, align);
  if (!old_size) old_size = 1;
  if (!new_size) new_size = 1;
  if (a->realloc) return a->realloc(a->user, ptr, old_size, new_size, align);
  void *n = a->alloc(a->user, new_size, align);
  if (!n) return NULL;
  memcpy(n, ptr, old_size < new_size ? old_size : new_size);
  a->free(a->user, ptr, old_size, align);
  return n;
}

void qv_mem_free(const qv_allocator *a, void *ptr, size_t size, size_t align) {
  if (!ptr) return;
  if (!a) a = &default_allocator;
  a->free(a->user, ptr, size ? size : 1, norm_align(align));
}

char *qv_mem_strndup(const qv_allocator *a, const char *s, size_t len) {
  char *p = qv_mem_alloc(a, len + 1, 1);
  if (!p) return NULL;
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *qv_mem_strdup(const qv_allocator *a, const char *s) {
  return qv_mem_strndup(a, s, strlen(s));
}

void qv_mem_strfree(const qv_allocator *a, char *s) {
  if (s) qv_mem_free(a, s, strlen(s) + 1, 1);
}
