/* arrow_json.h — test support: loads the Arrow integration-testing JSON format (the expected
 * values beside each IPC golden file) into a quiver schema + table, and compares schemas
 * including their custom metadata. Test-only code (linked into every tests/ipc test). */
#ifndef QV_TEST_ARROW_JSON_H
#define QV_TEST_ARROW_JSON_H

#include <stdbool.h>

#include "quiver/quiver.h"
#include "quiver/table.h"
#include "quiver/type.h"

/* Largest decompressed JSON accepted (bytes). */
#define QV_TEST_JSON_MAX_BYTES ((size_t)512 << 20)

/* Loads `path` (.json, or gzip-compressed .json.gz — gzread handles both) into a new table:
 * *out holds the schema (with field and schema metadata, dictionary ids, extension metadata)
 * and one batch per JSON batch. Every buffer is built from the JSON columns (VALIDITY, OFFSET,
 * DATA, TYPE_ID, SIZE, VIEWS, VARIADIC_DATA_BUFFERS, children), dictionary-encoded fields get
 * their "dictionaries" entry as the dictionary. Arrays are fully validated.
 * Statuses: QV_E_IO (cannot read), QV_E_CORRUPT (not the format; message names the JSON path),
 * QV_E_UNSUPPORTED (a type name this loader does not know), QV_E_NOMEM, or what the data model
 * constructors return. `a` NULL = default allocator. */
qv_status qv_test_json_load(const char *path, const qv_allocator *a, qv_table **out,
                            qv_error *err);

/* Options of qv_test_json_load_opts. */
enum {
  /* Map fields get the canonical child names "entries" / "key" / "value" whatever the JSON
   * says (the names of a map's children are not significant in Arrow). */
  QV_TEST_JSON_CANONICAL_MAP_NAMES = 1
};
qv_status qv_test_json_load_opts(const char *path, const qv_allocator *a, int flags,
                                 qv_table **out, qv_error *err);

/* True when the schemas are equal (qv_schema_equal) AND their schema-level and field-level
 * (recursively) custom metadata hold the same key/value pairs (in any order: producers order
 * extension keys differently between their JSON and IPC output). When not, `diff` (optional)
 * says where. */
bool qv_test_schema_equal_md(const qv_schema *a, const qv_schema *b, qv_error *diff);

#endif
