/* quiver/alloc.h — allocation hooks. Every allocation quiver makes goes through a qv_allocator.
 *
 * A NULL `const qv_allocator *` anywhere in the API means the default allocator
 * (aligned_alloc/free). Objects that allocate remember a copy of the allocator that made them
 * and free through it, so the user pointer must stay valid as long as such objects live.
 */
#ifndef QUIVER_ALLOC_H
#define QUIVER_ALLOC_H

#include <stddef.h>

#include "quiver/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default alignment of data buffers (bytes): a cache line, what AVX-512 wants. */
#define QV_ALIGNMENT 64

/* The hooks. `align` is a power of two; `size` is never 0.
 * alloc: returns memory aligned to `align`, or NULL when out of memory.
 * realloc: grows or shrinks `ptr` (allocated with old_size and align) keeping the first
 *   min(old_size, new_size) bytes; returns NULL (leaving ptr valid) when out of memory.
 *   May be NULL, in which case quiver does alloc + copy + free.
 * free: releases `ptr`; `size` and `align` are exactly what it was allocated with. */
typedef struct qv_allocator {
  void *(*alloc)(void *user, size_t size, size_t align);
  void *(*realloc)(void *user, void *ptr, size_t old_size, size_t new_size, size_t align);
  void (*free)(void *user, void *ptr, size_t size, size_t align);
  void *user;
} qv_allocator;

/* The default allocator (C11 aligned_alloc / free). Never NULL. */
QV_API const qv_allocator *qv_allocator_default(void);

/* Allocate `size` bytes aligned to `align` (0 means QV_ALIGNMENT) through `a` (NULL: default).
 * size 0 returns a non-NULL unique pointer-sized allocation. Returns NULL when out of memory. */
QV_API void *qv_mem_alloc(const qv_allocator *a, size_t size, size_t align);
/* Like qv_mem_alloc, zero-filled. */
QV_API void *qv_mem_calloc(const qv_allocator *a, size_t size, size_t align);
/* Resize an allocation; returns NULL and leaves `ptr` untouched when out of memory. */
QV_API void *qv_mem_realloc(const qv_allocator *a, void *ptr, size_t old_size, size_t new_size,
                            size_t align);
/* Free an allocation made by qv_mem_alloc with the same size and align. Accepts NULL. */
QV_API void qv_mem_free(const qv_allocator *a, void *ptr, size_t size, size_t align);

/* A NUL-terminated copy of `s` (of strlen(s)+1 bytes, align 1); NULL when out of memory.
 * Free with qv_mem_strfree. */
QV_API char *qv_mem_strdup(const qv_allocator *a, const char *s);
/* A NUL-terminated copy of the first `len` bytes of s. */
QV_API char *qv_mem_strndup(const qv_allocator *a, const char *s, size_t len);
/* Frees a string made by qv_mem_strdup / qv_mem_strndup. Accepts NULL. */
QV_API void qv_mem_strfree(const qv_allocator *a, char *s);

#ifdef __cplusplus
}
#endif
#endif
