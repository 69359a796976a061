/* quiver/type.h — Arrow data types (qv_type), fields (qv_field), key/value metadata
 * (qv_metadata) and schemas (qv_schema).
 *
 * Types, fields and schemas are immutable and reference counted (atomic counts; safe to share
 * between threads). Their struct fields are public and READ-ONLY: never write to them. Fields
 * whose names end in an underscore are private.
 *
 * Ownership rule for this header: every constructor BORROWS the types, fields and metadata it is
 * given (it takes its own references or copies), and hands back a new reference in *out that
 * the caller releases with the matching _unref. Parameterless types are static singletons:
 * qv_type_int32() etc. return a pointer that needs no unref (unref is a harmless no-op on them,
 * and qv_type_ref returns them unchanged), so `qv_type_list_of(qv_type_utf8(), ...)` just works.
 *
 * Children of nested types are fields, as in the Arrow specification:
 *   list / large list / list view / large list view / fixed-size list: 1 child (usually "item");
 *   struct: n children; map: 1 child "entries" = struct<key (not null), value>;
 *   sparse / dense union: n children, each with an int8 type code;
 *   run-end encoded: 2 children "run_ends" (int16/32/64, not null) and "values";
 *   dictionary: no children — index_type and value_type instead.
 */
#ifndef QUIVER_TYPE_H
#define QUIVER_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/alloc.h"
#include "quiver/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every type of the Arrow columnar format. Numbers are stable (append only). */
typedef enum qv_type_id {
  QV_TYPE_NA = 0, /* the null type: every value null, no buffers */
  QV_TYPE_BOOL,
  QV_TYPE_INT8,
  QV_TYPE_INT16,
  QV_TYPE_INT32,
  QV_TYPE_INT64,
  QV_TYPE_UINT8,
  QV_TYPE_UINT16,
  QV_TYPE_UINT32,
  QV_TYPE_UINT64,
  QV_TYPE_HALF_FLOAT,
  QV_TYPE_FLOAT,
  QV_TYPE_DOUBLE,
  QV_TYPE_DECIMAL32,
  QV_TYPE_DECIMAL64,
  QV_TYPE_DECIMAL128,
  QV_TYPE_DECIMAL256,
  QV_TYPE_DATE32, /* days since the UNIX epoch, int32 */
  QV_TYPE_DATE64, /* milliseconds since the UNIX epoch, int64 */
  QV_TYPE_TIME32, /* time of day, int32, unit SECOND or MILLI */
  QV_TYPE_TIME64, /* time of day, int64, unit MICRO or NANO */
  QV_TYPE_TIMESTAMP, /* int64 since the UNIX epoch, unit + optional timezone */
  QV_TYPE_DURATION,  /* int64, unit */
  QV_TYPE_INTERVAL_MONTHS,         /* int32 months */
  QV_TYPE_INTERVAL_DAY_TIME,       /* {int32 days, int32 milliseconds} */
  QV_TYPE_INTERVAL_MONTH_DAY_NANO, /* {int32 months, int32 days, int64 nanoseconds} */
  QV_TYPE_BINARY,
  QV_TYPE_STRING, /* "utf8" */
  QV_TYPE_LARGE_BINARY,
  QV_TYPE_LARGE_STRING,
  QV_TYPE_BINARY_VIEW,
  QV_TYPE_STRING_VIEW,
  QV_TYPE_FIXED_SIZE_BINARY,
  QV_TYPE_LIST,
  QV_TYPE_LARGE_LIST,
  QV_TYPE_LIST_VIEW,
  QV_TYPE_LARGE_LIST_VIEW,
  QV_TYPE_FIXED_SIZE_LIST,
  QV_TYPE_STRUCT,
  QV_TYPE_MAP,
  QV_TYPE_SPARSE_UNION,
  QV_TYPE_DENSE_UNION,
  QV_TYPE_DICTIONARY,
  QV_TYPE_RUN_END_ENCODED,
  QV_TYPE_ID_COUNT /* number of type ids; not a type */
} qv_type_id;

typedef enum qv_time_unit {
  QV_TIME_SECOND = 0,
  QV_TIME_MILLI = 1,
  QV_TIME_MICRO = 2,
  QV_TIME_NANO = 3
} qv_time_unit;

typedef enum qv_union_mode { QV_UNION_SPARSE = 0, QV_UNION_DENSE = 1 } qv_union_mode;

/* Largest number of union children (type codes are int8 in [0, 127]). */
#define QV_UNION_MAX_CHILDREN 128

/* ---- metadata ----------------------------------------------------------------------------- */

/* One key/value pair. Both are NUL-terminated copies; the lengths allow embedded NULs. */
typedef struct qv_metadata_entry {
  char *key;
  size_t key_len;
  char *value;
  size_t value_len;
} qv_metadata_entry;

/* Ordered key/value string pairs (Arrow custom_metadata). A caller-owned value: qv_metadata_init
 * it, fill it, and qv_metadata_reset it. Fields and schemas keep their own copies. The zero
 * struct is NOT initialised (it has no allocator): call qv_metadata_init. Keys may repeat only
 * through qv_metadata_append; qv_metadata_set replaces. */
typedef struct qv_metadata {
  qv_metadata_entry *entries;
  int32_t n;
  int32_t cap_;
  qv_allocator alloc_;
} qv_metadata;

/* Initialises an empty metadata list; `a` NULL means the default allocator. Never fails. */
QV_API void qv_metadata_init(qv_metadata *md, const qv_allocator *a);
/* Frees every entry; md stays initialised and empty. Accepts NULL. */
QV_API void qv_metadata_reset(qv_metadata *md);
/* Appends a pair (copies both). QV_E_NOMEM; QV_E_LIMIT beyond 1<<20 entries. */
QV_API qv_status qv_metadata_append(qv_metadata *md, const char *key, const char *value,
                                    qv_error *err);
/* Appends a pair given by pointer + length (for keys/values read from a file). */
QV_API qv_status qv_metadata_append_n(qv_metadata *md, const char *key, size_t key_len,
                                      const char *value, size_t value_len, qv_error *err);
/* Replaces the value of the first entry with `key`, or appends the pair. */
QV_API qv_status qv_metadata_set(qv_metadata *md, const char *key, const char *value,
                                 qv_error *err);
/* The value of the first entry named `key` (borrowed, valid while md is unchanged), or NULL. */
QV_API const char *qv_metadata_get(const qv_metadata *md, const char *key);
/* *dst (not initialised by the caller) becomes a copy of *src (src NULL: empty) allocated
 * with `a`. On failure *dst is initialised and empty. */
QV_API qv_status qv_metadata_copy(const qv_metadata *src, const qv_allocator *a,
                                  qv_metadata *dst, qv_error *err);
/* Same pairs in the same order (NULL equals an empty list). */
QV_API bool qv_metadata_equal(const qv_metadata *a, const qv_metadata *b);

/* Extension types are carried in field metadata under these keys. */
#define QV_EXTENSION_NAME_KEY "ARROW:extension:name"
#define QV_EXTENSION_METADATA_KEY "ARROW:extension:metadata"

/* ---- types ------------------------------------------------------------------------------- */

typedef struct qv_field qv_field;
typedef struct qv_type qv_type;

struct qv_type {
  qv_type_id id;
  qv_time_unit unit;     /* TIME32/TIME64/TIMESTAMP/DURATION; SECOND otherwise */
  const char *timezone;  /* TIMESTAMP: IANA name or "+HH:MM"; NULL = no timezone */
  int32_t byte_width;    /* FIXED_SIZE_BINARY width; DECIMALxx: bit_width / 8; 0 otherwise */
  int32_t precision;     /* DECIMALxx */
  int32_t scale;         /* DECIMALxx (may be negative) */
  int32_t bit_width;     /* DECIMALxx: 32/64/128/256; 0 otherwise (see qv_type_bit_width) */
  int32_t list_size;     /* FIXED_SIZE_LIST */
  bool keys_sorted;      /* MAP */
  bool ordered;          /* DICTIONARY */
  qv_union_mode union_mode; /* SPARSE_UNION / DENSE_UNION */
  const int8_t *type_codes; /* unions: type code of each child (n_children entries) */
  qv_type *index_type;   /* DICTIONARY: a signed or unsigned integer type */
  qv_type *value_type;   /* DICTIONARY */
  int32_t n_children;
  qv_field *const *children;
  /* private */
  intptr_t refcount_; /* < 0: static singleton */
  qv_allocator alloc_;
  int8_t union_child_of_code_[QV_UNION_MAX_CHILDREN]; /* unions: child index per code, -1 none */
};

/* Reference counting. qv_type_ref returns its argument (with a new reference) for chaining.
 * Both accept NULL. */
QV_API qv_type *qv_type_ref(const qv_type *t);
QV_API void qv_type_unref(qv_type *t);

/* Parameterless types: static singletons (never NULL, no unref needed). */
QV_API qv_type *qv_type_na(void);
QV_API qv_type *qv_type_bool(void);
QV_API qv_type *qv_type_int8(void);
QV_API qv_type *qv_type_int16(void);
QV_API qv_type *qv_type_int32(void);
QV_API qv_type *qv_type_int64(void);
QV_API qv_type *qv_type_uint8(void);
QV_API qv_type *qv_type_uint16(void);
QV_API qv_type *qv_type_uint32(void);
QV_API qv_type *qv_type_uint64(void);
QV_API qv_type *qv_type_float16(void);
QV_API qv_type *qv_type_float32(void);
QV_API qv_type *qv_type_float64(void);
QV_API qv_type *qv_type_date32(void);
QV_API qv_type *qv_type_date64(void);
QV_API qv_type *qv_type_binary(void);
QV_API qv_type *qv_type_utf8(void);
QV_API qv_type *qv_type_large_binary(void);
QV_API qv_type *qv_type_large_utf8(void);
QV_API qv_type *qv_type_binary_view(void);
QV_API qv_type *qv_type_utf8_view(void);
QV_API qv_type *qv_type_interval_months(void);
QV_API qv_type *qv_type_interval_day_time(void);
QV_API qv_type *qv_type_interval_month_day_nano(void);
/* The singleton for a parameterless id (the list above), or NULL for any other id. */
QV_API qv_type *qv_type_primitive(qv_type_id id);

/* Parameterised types. Each returns a new reference in *out (release with qv_type_unref).
 * `a` allocates the type (NULL: default allocator). Statuses: QV_E_INVALID for a bad parameter
 * (message says which), QV_E_NOMEM. */

/* TIME32 with unit SECOND or MILLI; TIME64 with unit MICRO or NANO. */
QV_API qv_status qv_type_time32(qv_time_unit unit, const qv_allocator *a, qv_type **out,
                                qv_error *err);
QV_API qv_status qv_type_time64(qv_time_unit unit, const qv_allocator *a, qv_type **out,
                                qv_error *err);
/* TIMESTAMP with a unit and an optional timezone (NULL: none; copied). */
QV_API qv_status qv_type_timestamp(qv_time_unit unit, const char *timezone,
                                   const qv_allocator *a, qv_type **out, qv_error *err);
QV_API qv_status qv_type_duration(qv_time_unit unit, const qv_allocator *a, qv_type **out,
                                  qv_error *err);
/* DECIMAL32/64/128/256 chosen by bit_width (32, 64, 128, 256). precision must be in
 * [1, 9] / [1, 18] / [1, 38] / [1, 76] respectively; any scale. */
QV_API qv_status qv_type_decimal(int32_t bit_width, int32_t precision, int32_t scale,
                                 const qv_allocator *a, qv_type **out, qv_error *err);
/* FIXED_SIZE_BINARY of byte_width >= 0 bytes. */
QV_API qv_status qv_type_fixed_size_binary(int32_t byte_width, const qv_allocator *a,
                                           qv_type **out, qv_error *err);
/* LIST / LARGE_LIST / LIST_VIEW / LARGE_LIST_VIEW of the given item field. */
QV_API qv_status qv_type_list(const qv_field *item, const qv_allocator *a, qv_type **out,
                              qv_error *err);
QV_API qv_status qv_type_large_list(const qv_field *item, const qv_allocator *a, qv_type **out,
                                    qv_error *err);
QV_API qv_status qv_type_list_view(const qv_field *item, const qv_allocator *a, qv_type **out,
                                   qv_error *err);
QV_API qv_status qv_type_large_list_view(const qv_field *item, const qv_allocator *a,
                                         qv_type **out, qv_error *err);
/* Any list-like id (LIST, LARGE_LIST, LIST_VIEW, LARGE_LIST_VIEW) of a nullable field named
 * "item" of type item_type — the common case in one call. */
QV_API qv_status qv_type_list_of(qv_type_id list_id, const qv_type *item_type,
                                 const qv_allocator *a, qv_type **out, qv_error *err);
/* FIXED_SIZE_LIST of list_size >= 0 items. */
QV_API qv_status qv_type_fixed_size_list(const qv_field *item, int32_t list_size,
                                         const qv_allocator *a, qv_type **out, qv_error *err);
/* STRUCT of n fields (n >= 0; names may repeat, as Arrow allows). */
QV_API qv_status qv_type_struct(qv_field *const *fields, int32_t n, const qv_allocator *a,
                                qv_type **out, qv_error *err);
/* MAP: builds the child "entries" = struct<key, value>; the key field must not be nullable
 * (QV_E_INVALID) — its name and type are kept, as are the value field's. */
QV_API qv_status qv_type_map(const qv_field *key, const qv_field *value, bool keys_sorted,
                             const qv_allocator *a, qv_type **out, qv_error *err);
/* MAP from an existing entries field (a non-nullable-key struct of 2 fields, any names), as
 * read from IPC or the C Data Interface. */
QV_API qv_status qv_type_map_from_entries(const qv_field *entries, bool keys_sorted,
                                          const qv_allocator *a, qv_type **out, qv_error *err);
/* SPARSE_UNION / DENSE_UNION of n <= 128 fields. type_codes (n distinct values in [0, 127])
 * may be NULL for 0..n-1. */
QV_API qv_status qv_type_union(qv_union_mode mode, qv_field *const *fields,
                               const int8_t *type_codes, int32_t n, const qv_allocator *a,
                               qv_type **out, qv_error *err);
/* DICTIONARY: index_type any (u)int8..64 type; value_type any type. */
QV_API qv_status qv_type_dictionary(const qv_type *index_type, const qv_type *value_type,
                                    bool ordered, const qv_allocator *a, qv_type **out,
                                    qv_error *err);
/* RUN_END_ENCODED with run ends of type int16/int32/int64 (field "run_ends", not null) and
 * values of value_type (field "values", nullable). */
QV_API qv_status qv_type_run_end_encoded(const qv_type *run_end_type, const qv_type *value_type,
                                         const qv_allocator *a, qv_type **out, qv_error *err);
/* RUN_END_ENCODED from its two child fields (as read from IPC / C Data; names kept). */
QV_API qv_status qv_type_run_end_encoded_fields(const qv_field *run_ends, const qv_field *values,
                                                const qv_allocator *a, qv_type **out,
                                                qv_error *err);

/* Structural equality: same id and parameters, children equal by name, type and nullability
 * (child metadata is ignored), timezones compared as strings. NULL equals only NULL. */
QV_API bool qv_type_equal(const qv_type *a, const qv_type *b);

/* Renders like Arrow's ToString into buf (always NUL-terminated when cap > 0, truncated if
 * needed); returns the full length the rendering needs (excluding the NUL), like snprintf.
 * Examples: "int32", "utf8", "timestamp[ms, tz=UTC]", "decimal128(10, 2)",
 * "fixed_size_binary[16]", "list<item: utf8>", "fixed_size_list<item: int32>[3]",
 * "struct<a: int32 not null, b: utf8>", "map<utf8, int64>", "sparse_union<a: int32=0>",
 * "dictionary<values=utf8, indices=int32, ordered=false>",
 * "run_end_encoded<run_ends: int32, values: utf8>". */
QV_API size_t qv_type_to_string(const qv_type *t, char *buf, size_t cap);
/* Short name of a type id: "int32", "utf8", "timestamp", "list", ... ("?" for invalid ids). */
QV_API const char *qv_type_id_name(qv_type_id id);

/* Child i (borrowed), or NULL when out of range. */
QV_API const qv_field *qv_type_child(const qv_type *t, int32_t i);
/* Unions: the child index of a type code, or -1 when the code is not declared. */
QV_API int32_t qv_type_union_child_index(const qv_type *t, int8_t type_code);

/* Bits per value for fixed-width types: BOOL 1, INT32 32, DECIMAL128 128, INTERVAL_DAY_TIME 64,
 * INTERVAL_MONTH_DAY_NANO 128, FIXED_SIZE_BINARY byte_width*8, DICTIONARY the index width;
 * 0 for everything else (variable-size and nested types, NA). */
QV_API int32_t qv_type_bit_width(const qv_type *t);
/* Number of buffers an array of this type has in the C Data Interface layout (validity
 * included where the layout has one), not counting the variadic data buffers of view types:
 * NA 0; BOOL and fixed width 2; BINARY/STRING and LARGE_ variants 3; views 2; LIST, LARGE_LIST,
 * MAP 2; LIST_VIEW, LARGE_LIST_VIEW 3; FIXED_SIZE_LIST, STRUCT 1; SPARSE_UNION 1 (type ids);
 * DENSE_UNION 2 (type ids, offsets); DICTIONARY as its index type; RUN_END_ENCODED 0. */
QV_API int32_t qv_type_layout_buffers(const qv_type *t);
/* True when arrays of this type carry a validity bitmap in buffers[0] (every type except NA,
 * unions and RUN_END_ENCODED). */
QV_API bool qv_type_has_validity(const qv_type *t);

QV_API bool qv_type_id_is_integer(qv_type_id id);  /* (u)int8..64 */
QV_API bool qv_type_id_is_signed(qv_type_id id);   /* int8..64 */
QV_API bool qv_type_id_is_floating(qv_type_id id); /* half, float, double */
QV_API bool qv_type_id_is_decimal(qv_type_id id);
QV_API bool qv_type_id_is_temporal(qv_type_id id); /* dates, times, timestamp, duration, intervals */
QV_API bool qv_type_id_is_binary_like(qv_type_id id); /* binary/string, large, view, fixed-size */
QV_API bool qv_type_id_is_string(qv_type_id id);   /* STRING, LARGE_STRING, STRING_VIEW */
QV_API bool qv_type_id_is_nested(qv_type_id id);   /* lists, struct, map, unions, REE */
QV_API bool qv_type_id_is_list(qv_type_id id); /* LIST, LARGE_LIST, LIST_VIEW, LARGE_LIST_VIEW,
                                                  FIXED_SIZE_LIST, MAP */

/* ---- fields ------------------------------------------------------------------------------ */

struct qv_field {
  const char *name;      /* never NULL ("" allowed) */
  qv_type *type;         /* never NULL */
  bool nullable;
  int64_t dictionary_id; /* IPC dictionary id for DICTIONARY-typed fields; -1 = none */
  qv_metadata metadata;  /* possibly empty */
  /* private */
  intptr_t refcount_;
  qv_allocator alloc_;
};

/* A new field named `name` (copied) of `type` (borrowed: a reference is taken). `md` (may be
 * NULL) is copied. dictionary_id starts at -1. QV_E_INVALID for NULL name/type; QV_E_NOMEM. */
QV_API qv_status qv_field_new(const char *name, const qv_type *type, bool nullable,
                              const qv_metadata *md, const qv_allocator *a, qv_field **out,
                              qv_error *err);
QV_API qv_field *qv_field_ref(const qv_field *f);
QV_API void qv_field_unref(qv_field *f);
/* A copy of f with another name / dictionary id / type (the rest shared by reference). */
QV_API qv_status qv_field_with_name(const qv_field *f, const char *name, const qv_allocator *a,
                                    qv_field **out, qv_error *err);
QV_API qv_status qv_field_with_dictionary_id(const qv_field *f, int64_t id,
                                             const qv_allocator *a, qv_field **out,
                                             qv_error *err);
QV_API qv_status qv_field_with_type(const qv_field *f, const qv_type *type,
                                    const qv_allocator *a, qv_field **out, qv_error *err);
/* Same name, nullability and (structurally) equal type; metadata and dictionary id ignored. */
QV_API bool qv_field_equal(const qv_field *a, const qv_field *b);
/* The ARROW:extension:name / ARROW:extension:metadata values, or NULL (borrowed). */
QV_API const char *qv_field_extension_name(const qv_field *f);
QV_API const char *qv_field_extension_metadata(const qv_field *f);
/* Renders "name: type" plus " not null" when not nullable; snprintf-like like
 * qv_type_to_string. */
QV_API size_t qv_field_to_string(const qv_field *f, char *buf, size_t cap);

/* ---- schemas ----------------------------------------------------------------------------- */

typedef struct qv_schema {
  int32_t n_fields;
  qv_field *const *fields;
  qv_metadata metadata; /* possibly empty */
  /* private */
  intptr_t refcount_;
  qv_allocator alloc_;
} qv_schema;

/* A new schema of n fields (borrowed: references taken) and metadata (copied; may be NULL).
 * QV_E_INVALID for NULL fields; QV_E_NOMEM. */
QV_API qv_status qv_schema_new(qv_field *const *fields, int32_t n, const qv_metadata *md,
                               const qv_allocator *a, qv_schema **out, qv_error *err);
QV_API qv_schema *qv_schema_ref(const qv_schema *s);
QV_API void qv_schema_unref(qv_schema *s);
/* Field equality (qv_field_equal) position by position; schema metadata ignored. */
QV_API bool qv_schema_equal(const qv_schema *a, const qv_schema *b);
/* Index of the first field named `name`, or -1. */
QV_API int32_t qv_schema_find(const qv_schema *s, const char *name);
/* One line: "id: int64 not null, tags: list<item: utf8>" (snprintf-like). */
QV_API size_t qv_schema_to_string(const qv_schema *s, char *buf, size_t cap);
/* One field per line ("id: int64 not null\n"), then metadata lines "-- key: value" if any. */
QV_API size_t qv_schema_to_string_multiline(const qv_schema *s, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
