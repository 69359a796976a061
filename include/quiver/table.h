/* quiver/table.h — record batches (a schema plus equal-length columns), tables (a schema plus a
 * list of batches), and pretty-printing them as aligned text.
 *
 * qv_batch is immutable and refcounted. qv_table is a caller-owned, growable list of batches
 * (qv_table_new / qv_table_free); the batches it holds are shared by reference.
 *
 * Ownership: qv_batch_new CONSUMES the column arrays (also on failure); the schema is borrowed.
 * Everything else borrows its arguments and returns new references / new objects.
 */
#ifndef QUIVER_TABLE_H
#define QUIVER_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "quiver/alloc.h"
#include "quiver/array.h"
#include "quiver/status.h"
#include "quiver/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- record batches ---------------------------------------------------------------------- */

typedef struct qv_batch {
  qv_schema *schema;
  int64_t length;
  int32_t n_columns; /* == schema->n_fields */
  qv_array **columns;
  /* private */
  intptr_t refcount_;
  qv_allocator alloc_;
} qv_batch;

/* A batch of schema->n_fields columns, each of `length` elements and of the type of its field
 * (qv_type_equal). `schema` borrowed; the columns are consumed. length must be given (a batch
 * may have no columns). QV_E_INVALID (column count, length mismatch, NULL column), QV_E_TYPE
 * (column type differs from the field's), QV_E_NOMEM. Messages name the column. */
QV_API qv_status qv_batch_new(const qv_schema *schema, int64_t length, qv_array **columns,
                              int32_t n_columns, const qv_allocator *a, qv_batch **out,
                              qv_error *err);
QV_API qv_batch *qv_batch_ref(const qv_batch *b);
QV_API void qv_batch_unref(qv_batch *b);
/* Column i (borrowed) or NULL; the column named `name` (first match) or NULL. */
QV_API qv_array *qv_batch_column(const qv_batch *b, int32_t i);
QV_API qv_array *qv_batch_column_by_name(const qv_batch *b, const char *name);
/* O(columns): rows [off, off+len) (every column sliced). QV_E_RANGE. */
QV_API qv_status qv_batch_slice(const qv_batch *b, int64_t off, int64_t len, qv_batch **out,
                                qv_error *err);
/* Columns by index, in the given order (repeats allowed), no data copied. QV_E_RANGE for a bad
 * index. */
QV_API qv_status qv_batch_select(const qv_batch *b, const int32_t *indices, int32_t n,
                                 qv_batch **out, qv_error *err);
/* The same columns under new names (n must equal the column count: QV_E_INVALID). */
QV_API qv_status qv_batch_rename(const qv_batch *b, const char *const *names, int32_t n,
                                 qv_batch **out, qv_error *err);
/* qv_array_validate of every column, messages prefixed "column 'name'". */
QV_API qv_status qv_batch_validate(const qv_batch *b, qv_validate_level level, qv_error *err);
/* Equal schemas (qv_schema_equal), lengths and columns (qv_array_equal). diff (optional)
 * describes the first difference: "column 'a' row 17: 5 != 6". */
QV_API bool qv_batch_equal(const qv_batch *a, const qv_batch *b, qv_error *diff);

/* ---- tables ------------------------------------------------------------------------------ */

typedef struct qv_table {
  qv_schema *schema;
  int64_t n_batches;
  qv_batch **batches;
  int64_t n_rows; /* total over the batches */
  /* private */
  int64_t cap_;
  qv_allocator alloc_;
} qv_table;

/* An empty table of `schema` (borrowed). */
QV_API qv_status qv_table_new(const qv_schema *schema, const qv_allocator *a, qv_table **out,
                              qv_error *err);
/* Frees the table (dropping its batch references). Accepts NULL. */
QV_API void qv_table_free(qv_table *t);
/* Appends a batch (borrowed: a reference is taken) whose schema equals the table's
 * (qv_schema_equal: QV_E_TYPE otherwise, naming the first differing field). QV_E_NOMEM. */
QV_API qv_status qv_table_append_batch(qv_table *t, const qv_batch *b, qv_error *err);
QV_API int64_t qv_table_num_rows(const qv_table *t);
/* Rows [off, off+len) as a new table of sliced batches (batches outside the range dropped,
 * the boundary ones sliced), in O(number of batches). QV_E_RANGE. */
QV_API qv_status qv_table_slice(const qv_table *t, int64_t off, int64_t len, qv_table **out,
                                qv_error *err);
/* Concatenates every batch into one batch (copying, qv_array_concat per column). An empty
 * table yields a batch of length 0 with empty columns. */
QV_API qv_status qv_table_combine(const qv_table *t, const qv_allocator *a, qv_batch **out,
                                  qv_error *err);
/* Column selection / renaming applied to every batch (no data copied). */
QV_API qv_status qv_table_select(const qv_table *t, const int32_t *indices, int32_t n,
                                 qv_table **out, qv_error *err);
QV_API qv_status qv_table_rename(const qv_table *t, const char *const *names, int32_t n,
                                 qv_table **out, qv_error *err);
/* Same schema and the same rows, whatever the batch boundaries. diff as qv_batch_equal, rows
 * counted from the start of the table. */
QV_API bool qv_table_equal(const qv_table *a, const qv_table *b, qv_error *diff);

/* ---- pretty-printing --------------------------------------------------------------------- */

typedef struct qv_pretty_options {
  int64_t head_rows;    /* rows shown from the start (default 10) */
  int64_t tail_rows;    /* rows shown from the end (default 5); a "…" row marks the gap */
  int32_t max_width;    /* cells longer than this (in characters) are cut with "…" (default 40) */
  int32_t max_items;    /* list/map items shown per cell before ", …" (default 10) */
  bool show_types;      /* a second header line with the column types (default true) */
  bool show_row_count;  /* a last line "N rows, M columns" (default true) */
} qv_pretty_options;

/* The defaults above. */
QV_API qv_pretty_options qv_pretty_options_default(void);

/* Writes the batch as an aligned text table:
 *
 *   id     name      tags
 *   int64  utf8      list<item: utf8>
 *   ─────  ────────  ────────────
 *   1      "a\tb"    ["x", null]
 *   …      …         …
 *   3 rows, 3 columns
 *
 * nulls as `null`, strings quoted with C-style escapes, binary as hex, nested values as
 * [1, 2, null] / {a: 1, b: "x"} / {key: value} for maps, timestamps/dates/times ISO-8601,
 * decimals with their scale. opts NULL = defaults. QV_E_IO when writing fails. */
QV_API qv_status qv_batch_pretty(const qv_batch *b, FILE *out, const qv_pretty_options *opts,
                                 qv_error *err);
QV_API qv_status qv_table_pretty(const qv_table *t, FILE *out, const qv_pretty_options *opts,
                                 qv_error *err);
/* The same into a new NUL-terminated string allocated with `a` (free with qv_mem_strfree(a,
 * s)). */
QV_API qv_status qv_batch_pretty_string(const qv_batch *b, const qv_pretty_options *opts,
                                        const qv_allocator *a, char **out, qv_error *err);
QV_API qv_status qv_table_pretty_string(const qv_table *t, const qv_pretty_options *opts,
                                        const qv_allocator *a, char **out, qv_error *err);

#ifdef __cplusplus
}
#endif
#endif
