/* quiver/buffer.h — shared, refcounted byte buffers with O(1) slicing and copy-on-write,
 * and the growable mutable buffer that builders write into.
 *
 * A qv_buffer is a small value: {owner, data, len}. The owner is a refcounted allocation (ours,
 * 64-byte aligned) or foreign memory with a release callback (an mmap, another library's
 * memory). Copying the struct does NOT take a reference: use qv_buffer_ref. Every qv_buffer
 * you hold must end in qv_buffer_unref (or be moved). The zero struct is a valid empty buffer.
 *
 * Thread safety: reference counts are atomic; a buffer's bytes are immutable once shared, so
 * buffers may be read and ref/unref'd from many threads at once.
 */
#ifndef QUIVER_BUFFER_H
#define QUIVER_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/alloc.h"
#include "quiver/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qv_buffer_owner qv_buffer_owner;

typedef struct qv_buffer {
  qv_buffer_owner *owner; /* NULL for an empty buffer */
  const uint8_t *data;    /* first visible byte; NULL when len == 0 and owner == NULL */
  size_t len;             /* visible bytes */
} qv_buffer;

/* Release callback for foreign memory: called exactly once, when the last reference goes. */
typedef void (*qv_release_fn)(void *ctx, const void *data, size_t len);

/* A new buffer of `len` bytes (contents unspecified, padding to 64 bytes zeroed). */
QV_API qv_status qv_buffer_new(size_t len, const qv_allocator *a, qv_buffer *out, qv_error *err);
/* A new zero-filled buffer. */
QV_API qv_status qv_buffer_new_zeroed(size_t len, const qv_allocator *a, qv_buffer *out,
                                      qv_error *err);
/* A new buffer holding a copy of data[0..len). */
QV_API qv_status qv_buffer_copy(const void *data, size_t len, const qv_allocator *a,
                                qv_buffer *out, qv_error *err);
/* Wraps foreign memory without copying. `release` (may be NULL for static memory) is called
 * exactly once with (ctx, data, len) when the last reference is dropped — also when this call
 * itself fails (QV_E_NOMEM), so ownership always passes to quiver. `a` allocates only the
 * small owner record. */
QV_API qv_status qv_buffer_wrap(const void *data, size_t len, qv_release_fn release, void *ctx,
                                const qv_allocator *a, qv_buffer *out, qv_error *err);

/* *dst becomes a new reference to the same view as *src (dst may not alias a live buffer). */
QV_API void qv_buffer_ref(const qv_buffer *src, qv_buffer *dst);
/* Drops the reference held by *b and zeroes it. Accepts NULL and empty buffers. */
QV_API void qv_buffer_unref(qv_buffer *b);
/* Moves the reference from *src to *dst; *src becomes empty. */
QV_API void qv_buffer_move(qv_buffer *src, qv_buffer *dst);

/* O(1): *out becomes a new reference to bytes [offset, offset+len) of *b's view.
 * QV_E_RANGE (nothing taken) when the range is not inside the view. */
QV_API qv_status qv_buffer_slice(const qv_buffer *b, size_t offset, size_t len, qv_buffer *out,
                                 qv_error *err);

/* The number of live references to b's owner (0 for an empty buffer). For diagnostics. */
QV_API size_t qv_buffer_refcount(const qv_buffer *b);
/* True when b is the only reference to its owner. */
QV_API bool qv_buffer_is_unique(const qv_buffer *b);
/* True when the memory belongs to quiver (not wrapped foreign memory). */
QV_API bool qv_buffer_is_owned(const qv_buffer *b);
/* Byte-wise equality of two views. */
QV_API bool qv_buffer_equal(const qv_buffer *a, const qv_buffer *b);

/* ---- growable mutable buffer ------------------------------------------------------------ */

/* A caller-owned growable byte buffer. Capacity is a multiple of 64 and the allocation is
 * 64-byte aligned; the bytes from `len` up to the next multiple of 64 are always zero, so a
 * vector loop may read whole 64-byte blocks. Growth is amortised (x1.5 or more). */
typedef struct qv_mbuffer {
  uint8_t *data;
  size_t len;
  size_t cap;
  qv_allocator alloc; /* copy of the allocator that owns `data` */
} qv_mbuffer;

/* Initialises an empty mutable buffer; `a` NULL means the default allocator. Never fails. */
QV_API void qv_mbuffer_init(qv_mbuffer *mb, const qv_allocator *a);
/* Frees the memory and leaves mb empty (still initialised, reusable). */
QV_API void qv_mbuffer_reset(qv_mbuffer *mb);
/* Makes room for `additional` more bytes without further allocation. */
QV_API qv_status qv_mbuffer_reserve(qv_mbuffer *mb, size_t additional, qv_error *err);
/* Sets the length; new bytes are zero, bytes cut off are zeroed (padding invariant). */
QV_API qv_status qv_mbuffer_resize(qv_mbuffer *mb, size_t len, qv_error *err);
/* Appends bytes. */
QV_API qv_status qv_mbuffer_append(qv_mbuffer *mb, const void *data, size_t len, qv_error *err);
/* Appends `len` zero bytes. */
QV_API qv_status qv_mbuffer_append_zeros(qv_mbuffer *mb, size_t len, qv_error *err);
/* Freezes the contents into a shared buffer without copying; mb is left empty and reusable.
 * An empty mbuffer yields a zero-length (possibly owner-less) buffer. */
QV_API qv_status qv_mbuffer_finish(qv_mbuffer *mb, qv_buffer *out, qv_error *err);

/* Copy-on-write: turns *b (consumed: it is empty afterwards, whatever the result) into a
 * mutable buffer holding the same visible bytes. No copy happens only when b is the unique
 * reference, the memory is quiver's own and the view covers the whole allocation; otherwise
 * exactly the visible window is copied (never bytes outside it). On failure *b is unchanged. */
QV_API qv_status qv_buffer_into_mut(qv_buffer *b, qv_mbuffer *out, qv_error *err);

#ifdef __cplusplus
}
#endif
#endif
