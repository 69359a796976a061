/* ipc_roundtrip.c — one whole use of quiver (walked through in docs/guide.md): build a batch with
 * builders, write it as a ZSTD-compressed Arrow IPC file, memory-map the file, read one batch by
 * index with a column projection, print it, and hand it to another Arrow library through the
 * C Data Interface. Usage: ipc_roundtrip [PATH]  (default: ./cities.arrow) */
#include <quiver/quiver.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(expr)                                                                  \
  do {                                                                               \
    if ((expr) != QV_OK) {                                                           \
      fprintf(stderr, "%s failed: %s [%s]\n", #expr, err.message,                    \
              qv_status_name(err.code));                                             \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "cities.arrow";
  qv_error err;
  qv_error_init(&err);

  /* 1. A schema {id: int64 not null, city: utf8} */
  qv_field *fields[2];
  CHECK(qv_field_new("id", qv_type_int64(), false, NULL, NULL, &fields[0], &err));
  CHECK(qv_field_new("city", qv_type_utf8(), true, NULL, NULL, &fields[1], &err));
  qv_schema *schema;
  CHECK(qv_schema_new(fields, 2, NULL, NULL, &schema, &err));

  /* 2. Two batches built with builders (a null city every 7th row) */
  static const char *names[] = {"Oslo", "Lagos", "Lima", "Osaka", "Quito"};
  qv_table *table;
  CHECK(qv_table_new(schema, NULL, &table, &err));
  qv_builder *ids, *cities;
  CHECK(qv_builder_new(qv_type_int64(), NULL, &ids, &err));
  CHECK(qv_builder_new(qv_type_utf8(), NULL, &cities, &err));
  for (int b = 0; b < 2; b++) {
    for (int64_t i = b * 1000; i < (b + 1) * 1000; i++) {
      CHECK(qv_builder_append_i64(ids, i, &err));
      if (i % 7 == 0) CHECK(qv_builder_append_null(cities, &err));
      else CHECK(qv_builder_append_str(cities, names[i % 5], &err));
    }
    qv_array *cols[2];
    CHECK(qv_builder_finish(ids, &cols[0], &err)); /* builders reset for reuse */
    CHECK(qv_builder_finish(cities, &cols[1], &err));
    qv_batch *batch;
    CHECK(qv_batch_new(schema, 1000, cols, 2, NULL, &batch, &err)); /* consumes cols */
    CHECK(qv_table_append_batch(table, batch, &err));
    qv_batch_unref(batch);
  }
  qv_builder_free(ids);
  qv_builder_free(cities);

  /* 3. Write an IPC file with ZSTD-compressed bodies */
  qv_ipc_write_options wopts = qv_ipc_write_options_default();
  wopts.format = QV_IPC_FORMAT_FILE;
  wopts.compression = QV_IPC_COMPRESSION_ZSTD;
  CHECK(qv_ipc_write_table_file(path, table, &wopts, &err));

  /* 4. Map it: footer verified, batch count known without reading any body */
  qv_ipc_file *file;
  CHECK(qv_ipc_file_open_path(path, NULL, NULL, &file, &err));
  printf("%s: %lld batches\n", path, (long long)qv_ipc_file_num_batches(file));

  /* 5. Batch 1, only the 'city' column (other columns' bytes are never touched) */
  int32_t projection[] = {1};
  qv_batch *b1;
  CHECK(qv_ipc_file_read_batch(file, 1, projection, 1, &b1, &err));
  qv_pretty_options po = qv_pretty_options_default();
  po.head_rows = 3;
  po.tail_rows = 2;
  CHECK(qv_batch_pretty(b1, stdout, &po, &err));

  /* 6. Hand the batch to any Arrow implementation, zero-copy (C Data Interface) */
  struct ArrowArray c_array;
  struct ArrowSchema c_schema;
  CHECK(qv_batch_export(b1, NULL, &c_array, &c_schema, &err));
  printf("exported: format '%s', %lld rows, %lld children\n", c_schema.format,
         (long long)c_array.length, (long long)c_array.n_children);
  c_array.release(&c_array); /* the consumer calls release when done */
  c_schema.release(&c_schema);

  qv_batch_unref(b1);
  qv_ipc_file_close(file);
  qv_table_free(table);
  qv_schema_unref(schema);
  qv_field_unref(fields[0]);
  qv_field_unref(fields[1]);
  return 0;
}
