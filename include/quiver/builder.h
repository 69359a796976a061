/* quiver/builder.h — builders: append values of any Arrow type, finish into an immutable
 * qv_array. Also the dictionary builder (hashes values into a dictionary-encoded array).
 *
 * One builder type serves every qv_type: create it for the type, append, finish. Finished
 * buffers are 64-byte aligned and zero-padded (qv_mbuffer); the validity bitmap is left out
 * when every value is valid.
 *
 * Which appends a type accepts:
 *   NA                         append_null(s), append_empty (also nulls)
 *   BOOL                       append_bool, append_i64/u64 (non-zero = true), append_values
 *   integers                   append_i64 / append_u64 (range-checked: QV_E_RANGE),
 *                              append_values (native-endian values of the type's width)
 *   HALF_FLOAT/FLOAT/DOUBLE    append_f64 (HALF_FLOAT: rounded to nearest even), append_values
 *                              (HALF_FLOAT: uint16 bit patterns)
 *   DATE*, TIME*, TIMESTAMP, DURATION, INTERVAL_MONTHS
 *                              append_i64 (range-checked for 32-bit types), append_values
 *   DECIMALxx, INTERVAL_DAY_TIME, INTERVAL_MONTH_DAY_NANO, FIXED_SIZE_BINARY
 *                              append_fixed (byte_width bytes, little-endian), append_values;
 *                              DECIMAL32/64 also append_i64 (unscaled); FIXED_SIZE_BINARY also
 *                              append_bytes with len == byte_width (else QV_E_INVALID)
 *   BINARY/STRING, LARGE_*, *_VIEW
 *                              append_bytes / append_str (STRING types do not check UTF-8 here;
 *                              validate if the input is untrusted). Views: values of <= 12
 *                              bytes are inlined, longer ones go to variadic data buffers.
 *   nested                     see below
 *   DICTIONARY                 the appends of its value type (BINARY/STRING (all forms),
 *                              integers, floats, dates/times/timestamps, FIXED_SIZE_BINARY via
 *                              append_bytes/append_fixed): each value is looked up in a hash
 *                              table and its index appended; a new value is added to the
 *                              dictionary. QV_E_LIMIT when the dictionary would outgrow the
 *                              index type (e.g. 128 entries for int8).
 * Any other combination returns QV_E_TYPE with a message naming the type and the call.
 *
 * Nested types — append the children's values through the child builders, then record the
 * parent element:
 *   LIST, LARGE_LIST, LIST_VIEW, LARGE_LIST_VIEW, FIXED_SIZE_LIST:
 *     child 0 = the item builder; qv_builder_list_append(b) appends a valid list made of every
 *     item appended to the child since the previous list element (FIXED_SIZE_LIST: exactly
 *     list_size items, else QV_E_INVALID). append_null(s) appends null lists (empty; for
 *     FIXED_SIZE_LIST the builder itself appends list_size null items to the child).
 *   MAP: child 0 = the key builder, child 1 = the item builder (the entries struct is managed
 *     internally); append keys and items (equal numbers), then qv_builder_list_append(b).
 *   STRUCT: child i = field i; append one value to every child, then
 *     qv_builder_struct_append(b, valid). append_null(s) appends nulls to every child itself.
 *   SPARSE_UNION / DENSE_UNION: child i = the builder of the i-th union member; append one
 *     value to the child of the wanted member, then qv_builder_union_append(b, type_code)
 *     (sparse: the builder pads the other children with nulls). append_null(s) appends a null
 *     in the first member.
 *   RUN_END_ENCODED: child 1 = the values builder (child 0 is NULL: run ends are managed
 *     internally); append exactly one value to it, then qv_builder_ree_append_run(b, n) to make
 *     it a run of n >= 1 elements. append_nulls(n) appends one null run of n.
 *   DICTIONARY: no child builders.
 * Appending a null (or empty value) to a list, map or struct builder while its children hold
 * values not yet recorded by list_append / struct_append is QV_E_INVALID.
 *
 * Errors: a failed append leaves the builder as it was before the call for flat types; for
 * nested types a failure in the middle of an element may leave children longer than the parent,
 * and the builder then refuses every call but reset/free with QV_E_STATE. QV_E_OVERFLOW when
 * 32-bit offsets (BINARY/STRING/LIST/MAP) or a length would overflow.
 *
 * A builder is not thread-safe; it owns its memory until finish.
 */
#ifndef QUIVER_BUILDER_H
#define QUIVER_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/alloc.h"
#include "quiver/array.h"
#include "quiver/status.h"
#include "quiver/type.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qv_builder qv_builder;

/* A builder for `type` (borrowed: a reference is taken), allocating with `a` (NULL: default).
 * Child builders are created with it. QV_E_NOMEM; QV_E_LIMIT when nesting is deeper than
 * QV_VALIDATE_MAX_DEPTH; QV_E_UNSUPPORTED only for a DICTIONARY whose value type cannot be hashed
 * (anything but binary/string forms and fixed-width byte types: e.g. BOOL or nested values —
 * such arrays can still be made with qv_array_new). Every other type has a builder. */
QV_API qv_status qv_builder_new(const qv_type *type, const qv_allocator *a, qv_builder **out,
                                qv_error *err);
/* Frees the builder, its children and everything not yet finished. Accepts NULL. */
QV_API void qv_builder_free(qv_builder *b);
/* Discards everything appended (and the dictionary of a dictionary builder); keeps the type. */
QV_API void qv_builder_reset(qv_builder *b);

/* The builder's type (borrowed, valid as long as the builder). */
QV_API const qv_type *qv_builder_type(const qv_builder *b);
/* Number of elements appended so far (since creation, reset or finish). */
QV_API int64_t qv_builder_length(const qv_builder *b);
/* Makes room for `additional` more elements (flat buffers only; a hint). */
QV_API qv_status qv_builder_reserve(qv_builder *b, int64_t additional, qv_error *err);

/* Nulls, and "empty" placeholders (valid zero / empty-string / empty-list values; nulls for NA
 * and for children of sparse unions). */
QV_API qv_status qv_builder_append_null(qv_builder *b, qv_error *err);
QV_API qv_status qv_builder_append_nulls(qv_builder *b, int64_t n, qv_error *err);
QV_API qv_status qv_builder_append_empty(qv_builder *b, int64_t n, qv_error *err);

/* Typed appends; see the table at the top for which types accept which call. */
QV_API qv_status qv_builder_append_bool(qv_builder *b, bool v, qv_error *err);
QV_API qv_status qv_builder_append_i64(qv_builder *b, int64_t v, qv_error *err);
QV_API qv_status qv_builder_append_u64(qv_builder *b, uint64_t v, qv_error *err);
QV_API qv_status qv_builder_append_f64(qv_builder *b, double v, qv_error *err);
QV_API qv_status qv_builder_append_bytes(qv_builder *b, const void *data, size_t len,
                                         qv_error *err);
/* A NUL-terminated string (s must not be NULL). */
QV_API qv_status qv_builder_append_str(qv_builder *b, const char *s, qv_error *err);
/* One fixed-width value of byte_width bytes (decimals as little-endian two's complement,
 * intervals as their little-endian struct, fixed-size binary as is; also every fixed-width
 * primitive type in its native little-endian layout). */
QV_API qv_status qv_builder_append_fixed(qv_builder *b, const void *value, qv_error *err);
/* Bulk append of n fixed-width values, laid out contiguously as the type's buffer would hold
 * them (BOOL: one byte per value, 0 = false). valid_bytes: NULL (all valid) or n bytes, 0 =
 * null. Fixed-width primitive and fixed-width binary types only (not dictionary). */
QV_API qv_status qv_builder_append_values(qv_builder *b, const void *values,
                                          const uint8_t *valid_bytes, int64_t n, qv_error *err);

/* ---- nested ------------------------------------------------------------------------------ */

/* Child builder i (borrowed, owned by b), or NULL (no such child; see the table at the top). */
QV_API qv_builder *qv_builder_child(qv_builder *b, int32_t i);
/* Number of child builders (the table at the top: lists 1, map 2, REE 2, ...). */
QV_API int32_t qv_builder_num_children(const qv_builder *b);
/* Lists and maps: appends a valid element made of everything appended to the child(ren) since
 * the previous element. QV_E_INVALID (fixed-size list: wrong item count; map: key/item counts
 * differ), QV_E_OVERFLOW. */
QV_API qv_status qv_builder_list_append(qv_builder *b, qv_error *err);
/* STRUCT: appends an element once every child holds one more value than the struct;
 * QV_E_INVALID otherwise. */
QV_API qv_status qv_builder_struct_append(qv_builder *b, bool valid, qv_error *err);
/* Unions: appends an element selecting the member with `type_code` whose child has just
 * received one value. QV_E_INVALID for an undeclared code or a child without a new value. */
QV_API qv_status qv_builder_union_append(qv_builder *b, int8_t type_code, qv_error *err);
/* RUN_END_ENCODED: makes the one value just appended to child 1 a run of run_length >= 1
 * elements. QV_E_INVALID (no new value, run_length < 1), QV_E_OVERFLOW (run end beyond the run
 * end type). */
QV_API qv_status qv_builder_ree_append_run(qv_builder *b, int64_t run_length, qv_error *err);

/* Appends elements [offset, offset+length) of src, whose type must equal the builder's
 * (QV_E_TYPE otherwise) — any type, nested and dictionary (values re-hashed into this
 * builder's dictionary) included. QV_E_RANGE when the range is outside src. */
QV_API qv_status qv_builder_append_array(qv_builder *b, const qv_array *src, int64_t offset,
                                         int64_t length, qv_error *err);

/* Number of distinct values in a dictionary builder's dictionary (0 for other builders). */
QV_API int64_t qv_builder_dict_size(const qv_builder *b);

/* Finishes: *out receives a new array (release with qv_array_unref) holding everything
 * appended, and the builder is reset for reuse (a dictionary builder starts a new dictionary).
 * QV_E_STATE after an unrecoverable error; QV_E_NOMEM. On failure the builder's content is
 * discarded. */
QV_API qv_status qv_builder_finish(qv_builder *b, qv_array **out, qv_error *err);

#ifdef __cplusplus
}
#endif
#endif
