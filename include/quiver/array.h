/* quiver/array.h — immutable, refcounted Arrow arrays (qv_array): construction from buffers,
 * O(1) slicing, typed element access, validation, logical equality and concatenation.
 *
 * A qv_array is laid out exactly like an ArrowArray of the C Data Interface, so export/import
 * and IPC map onto it directly:
 *   - `buffers` are whole (unsliced) buffers; `offset` is the logical element offset applied to
 *     them, exactly as in the C Data Interface;
 *   - buffer order and count follow the C Data Interface (qv_type_layout_buffers): buffers[0]
 *     is the validity bitmap for every type that has one (qv_type_has_validity; an empty buffer
 *     means "all valid"); then offsets / data / type ids / views. NA has no buffers, unions have
 *     no validity (sparse: [type ids]; dense: [type ids, offsets]), RUN_END_ENCODED has none.
 *     BINARY_VIEW/STRING_VIEW: [validity, views, data buffers...] — the variadic data buffers
 *     follow the views; the extra "variadic buffer sizes" buffer of the C Data Interface is NOT
 *     stored (an exporter computes it from the buffer lengths);
 *   - children: lists 1, struct n, map 1 (the entries struct), unions n, REE 2 (run ends,
 *     values). Struct and sparse-union children are addressed with the parent's offset applied
 *     (element i of the parent is element `offset + i` of each child, in the child's own logical
 *     indexing, i.e. on top of the child's own offset); list, map and dense-union children are
 *     addressed through the offsets buffer; fixed-size-list element i covers child elements
 *     [(offset + i) * list_size, +list_size); REE element i is found by searching the run ends
 *     for `offset + i`;
 *   - DICTIONARY arrays hold the indices (type->index_type layout) and `dictionary` is the
 *     values array (of type->value_type).
 *
 * Ownership: qv_array_new CONSUMES the buffers, children and dictionary it is given (also when
 * it fails); the type is borrowed (a reference is taken). Every other function borrows its
 * array arguments and returns new references the caller must qv_array_unref.
 *
 * Element access contract: the getters do NO bounds or type checks beyond assert() (active in
 * debug builds). `i` must be in [0, length) and the array must be of a type the getter accepts;
 * otherwise the behaviour is undefined. Validate untrusted arrays (qv_array_validate with
 * QV_VALIDATE_FULL) before reading them.
 *
 * Thread safety: an array is immutable; the lazily computed null count is cached with an
 * atomic store, so arrays may be shared and read from many threads.
 */
#ifndef QUIVER_ARRAY_H
#define QUIVER_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/alloc.h"
#include "quiver/buffer.h"
#include "quiver/status.h"
#include "quiver/type.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qv_array qv_array;

struct qv_array {
  qv_type *type;
  int64_t length;
  int64_t offset;
  int64_t null_count; /* -1 = not yet computed; read it with qv_array_null_count */
  int32_t n_buffers;
  qv_buffer *buffers; /* n_buffers entries; see the layout above */
  int32_t n_children;
  qv_array **children;
  qv_array *dictionary; /* DICTIONARY: the values array; NULL otherwise */
  qv_allocator alloc;   /* what this struct was allocated with */
  /* private */
  intptr_t refcount_;
};

/* ---- construction and lifetime ----------------------------------------------------------- */

/* Makes an array from its parts. `type` is borrowed. The n_buffers buffers (moved out of the
 * caller's array, which is left zeroed), the n_children child pointers and `dictionary` are
 * consumed, on success and on failure. null_count may be -1 (computed lazily).
 * Cheap structural validation (qv_array_validate MINIMAL) is done: buffer count and sizes cover
 * offset + length, child count and lengths, a dictionary present exactly for DICTIONARY, ...
 * Statuses: QV_E_INVALID (wrong counts, negative length/offset, missing dictionary),
 * QV_E_CORRUPT (buffers too small, inconsistent children), QV_E_OVERFLOW, QV_E_NOMEM. */
QV_API qv_status qv_array_new(const qv_type *type, int64_t length, int64_t offset,
                              int64_t null_count, int32_t n_buffers, qv_buffer *buffers,
                              int32_t n_children, qv_array **children, qv_array *dictionary,
                              const qv_allocator *a, qv_array **out, qv_error *err);
/* An empty (length 0) array of any type. */
QV_API qv_status qv_array_new_empty(const qv_type *type, const qv_allocator *a, qv_array **out,
                                    qv_error *err);
/* An array of `length` nulls of any type (unions: nulls in the first child; REE: one null run;
 * DICTIONARY: null indices over an empty dictionary). */
QV_API qv_status qv_array_new_nulls(const qv_type *type, int64_t length, const qv_allocator *a,
                                    qv_array **out, qv_error *err);

/* A new reference (returns its argument). Accepts NULL. */
QV_API qv_array *qv_array_ref(const qv_array *arr);
/* Drops a reference; the last one frees buffers, children and dictionary. Accepts NULL. */
QV_API void qv_array_unref(qv_array *arr);

/* O(1) slice: a new array sharing everything with arr, covering elements [off, off+len) of
 * arr (offset adjusted, length set, null count recomputed lazily). Works for every type,
 * nested and dictionary included. QV_E_RANGE when the range is outside arr (overflow-safe). */
QV_API qv_status qv_array_slice(const qv_array *arr, int64_t off, int64_t len, qv_array **out,
                                qv_error *err);

/* Number of null elements among [0, length): for types with a validity bitmap the unset bits
 * (0 without a bitmap); NA: length; unions and REE: 0 (their nulls are in the children, see
 * qv_array_is_null). Computed on first use and cached (atomically). */
QV_API int64_t qv_array_null_count(const qv_array *arr);
/* Child i (borrowed) or NULL. */
QV_API qv_array *qv_array_child(const qv_array *arr, int32_t i);

/* ---- element access (unchecked; see the contract above) ---------------------------------- */

/* Logical null: the validity bit for types with validity; NA: always null; unions: the
 * selected child's value; REE: the value of the run; DICTIONARY: the index's validity OR the
 * referenced dictionary value's validity. */
QV_API bool qv_array_is_null(const qv_array *arr, int64_t i);
QV_API bool qv_array_is_valid(const qv_array *arr, int64_t i);

/* Value as int64: any integer type (UINT64 reinterpreted), BOOL (0/1), DATE32/64, TIME32/64,
 * TIMESTAMP, DURATION, INTERVAL_MONTHS, DECIMAL32/64 (unscaled), DICTIONARY (the index). */
QV_API int64_t qv_array_get_i64(const qv_array *arr, int64_t i);
/* Value as uint64: any integer type (signed values reinterpreted), BOOL. */
QV_API uint64_t qv_array_get_u64(const qv_array *arr, int64_t i);
/* Value as double: HALF_FLOAT, FLOAT, DOUBLE, and every type qv_array_get_i64 accepts. */
QV_API double qv_array_get_f64(const qv_array *arr, int64_t i);
/* BOOL value. */
QV_API bool qv_array_get_bool(const qv_array *arr, int64_t i);
/* Pointer to element i for fixed-width types whose width is a whole number of bytes (ints,
 * floats, decimals, dates/times/timestamps/durations, intervals, FIXED_SIZE_BINARY); the bytes
 * are little-endian and possibly unaligned for foreign memory. NULL for other types. Valid as
 * long as arr is. */
QV_API const void *qv_array_value_ptr(const qv_array *arr, int64_t i);
/* The bytes of a BINARY, STRING, LARGE_BINARY, LARGE_STRING, BINARY_VIEW, STRING_VIEW or
 * FIXED_SIZE_BINARY element
 * (borrowed, valid as long as arr). A null element yields whatever its slot holds (usually
 * length 0). */
QV_API void qv_array_get_bytes(const qv_array *arr, int64_t i, const uint8_t **ptr,
                               size_t *len);
/* Lists: element i covers child elements [*start, *start + *len) (child logical indices) for
 * LIST, LARGE_LIST, LIST_VIEW, LARGE_LIST_VIEW, FIXED_SIZE_LIST and MAP (child = entries). */
QV_API void qv_array_list_range(const qv_array *arr, int64_t i, int64_t *start, int64_t *len);
/* Unions: the type code of element i, the index of the child it selects, and the element's
 * index in that child (dense: the offsets buffer; sparse: offset + i). */
QV_API int8_t qv_array_union_type_code(const qv_array *arr, int64_t i);
QV_API int32_t qv_array_union_child_index(const qv_array *arr, int64_t i);
QV_API int64_t qv_array_union_value_index(const qv_array *arr, int64_t i);
/* RUN_END_ENCODED: the index in the values child (children[1]) of logical element i — binary
 * search of the run ends for offset + i. */
QV_API int64_t qv_array_ree_physical_index(const qv_array *arr, int64_t i);
/* DICTIONARY: the index stored at element i (an index into arr->dictionary). */
QV_API int64_t qv_array_dict_index(const qv_array *arr, int64_t i);

/* ---- validation -------------------------------------------------------------------------- */

typedef enum qv_validate_level {
  /* O(1) per array node: buffer counts, buffer sizes cover offset + length for the type
   * (overflow-safe), child counts and lengths, dictionary present. What qv_array_new does. */
  QV_VALIDATE_MINIMAL = 0,
  /* O(data), for untrusted input: also offsets monotonic and inside the data, UTF-8 of string
   * types, dictionary indices in range, union type codes declared and dense offsets in range,
   * run ends positive / strictly increasing / covering the length, view lengths / buffer
   * indices / offsets inside their data buffers and inline prefixes matching, null counts
   * consistent, recursively (nesting depth limit QV_VALIDATE_MAX_DEPTH). */
  QV_VALIDATE_FULL = 1
} qv_validate_level;

#define QV_VALIDATE_MAX_DEPTH 64

/* Checks arr at `level`. Messages name the path and the index, e.g.
 * "array.item: offset 9 at index 3 is beyond data length 5" (qv_batch_validate names the
 * column instead: "column 'tags'.item: ..."). Statuses: QV_E_INVALID (wrong buffer/child
 * counts, a dictionary missing or unexpected), QV_E_CORRUPT (sizes or contents inconsistent),
 * QV_E_LIMIT (nesting deeper than QV_VALIDATE_MAX_DEPTH). */
QV_API qv_status qv_array_validate(const qv_array *arr, qv_validate_level level, qv_error *err);
/* The same, naming the root in messages as `root` (e.g. "column 'tags'"). */
QV_API qv_status qv_array_validate_named(const qv_array *arr, qv_validate_level level,
                                         const char *root, qv_error *err);

/* Fast UTF-8 check (ASCII fast path; rejects overlongs, surrogates, > U+10FFFF). On failure
 * *bad_at (may be NULL) receives the byte offset of the first invalid sequence. */
QV_API bool qv_utf8_valid(const uint8_t *s, size_t len, size_t *bad_at);

/* ---- equality and concatenation ---------------------------------------------------------- */

/* Logical equality: same type (qv_type_equal), same length, and element by element the same
 * nulls and the same values — offsets respected, data under nulls ignored, nested types
 * recursively, DICTIONARY compared by decoded value (dictionaries may differ), REE by logical
 * value, floats bitwise-equal or both NaN. When they differ and `diff` is not NULL, diff gets
 * code QV_E_INVALID and a description of the first difference, e.g. "row 17: 5 != 6" or
 * "type int32 != int64". */
QV_API bool qv_array_equal(const qv_array *a, const qv_array *b, qv_error *diff);

/* Concatenates n >= 1 arrays of equal types into one new array (copying; every type, nested
 * and dictionary included — dictionaries are unified). QV_E_TYPE when the types differ,
 * QV_E_INVALID for n < 1, QV_E_OVERFLOW when 32-bit offsets would overflow, QV_E_NOMEM. */
QV_API qv_status qv_array_concat(qv_array *const *arrays, int32_t n, const qv_allocator *a,
                                 qv_array **out, qv_error *err);

/* Renders element i as text (as the pretty printer does: null, numbers, "quoted strings"
 * with escapes, ISO-8601 timestamps, decimals with scale, [1, 2] lists, {a: 1} structs);
 * snprintf-like: returns the full length needed, writes at most cap-1 chars and a NUL. */
QV_API size_t qv_array_value_to_string(const qv_array *arr, int64_t i, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
