/* test_table.c — batches (construction checks, slice, select, rename, equality) and tables
 * (slicing across batch boundaries vs a naive reference, combine, equality regardless of batch
 * boundaries, select/rename without copying). */
#include "qv_test.h"

static qv_schema *schema;
static qv_type *tags_type;

static void make_schema(void) {
  if (schema) return;
  if (qv_type_list_of(QV_TYPE_LIST, qv_type_utf8(), NULL, &tags_type, NULL) != QV_OK) abort();
  qv_field *f[3];
  if (qv_field_new("id", qv_type_int64(), false, NULL, NULL, &f[0], NULL) ||
      qv_field_new("name", qv_type_utf8(), true, NULL, NULL, &f[1], NULL) ||
      qv_field_new("tags", tags_type, true, NULL, NULL, &f[2], NULL))
    abort();
  if (qv_schema_new(f, 3, NULL, NULL, &schema, NULL) != QV_OK) abort();
  for (int i = 0; i < 3; i++) qv_field_unref(f[i]);
}

/* A batch of rows [start, start+n): id = row, name = "n<row>" (null every 4th), tags = row % 3
 * items. `poison` >= 0 changes the name of that row. */
static qv_batch *make_batch(int64_t start, int64_t n, int64_t poison) {
  make_schema();
  qv_builder *b[3];
  for (int i = 0; i < 3; i++)
    if (qv_builder_new(schema->fields[i]->type, NULL, &b[i], NULL) != QV_OK) abort();
  char s[32];
  for (int64_t r = start; r < start + n; r++) {
    if (qv_builder_append_i64(b[0], r, NULL) != QV_OK) abort();
    if (r % 4 == 1) {
      (void)qv_builder_append_null(b[1], NULL);
    } else {
      snprintf(s, sizeof s, r == poison ? "poison" : "n%lld", (long long)r);
      (void)qv_builder_append_str(b[1], s, NULL);
    }
    for (int64_t j = 0; j < r % 3; j++) {
      snprintf(s, sizeof s, "t%lld", (long long)(r + j));
      (void)qv_builder_append_str(qv_builder_child(b[2], 0), s, NULL);
    }
    (void)qv_builder_list_append(b[2], NULL);
  }
  qv_array *cols[3];
  for (int i = 0; i < 3; i++) {
    if (qv_builder_finish(b[i], &cols[i], NULL) != QV_OK) abort();
    qv_builder_free(b[i]);
  }
  qv_batch *batch;
  if (qv_batch_new(schema, n, cols, 3, NULL, &batch, NULL) != QV_OK) abort();
  return batch;
}

static qv_table *make_table(const int64_t *sizes, int n, int64_t poison) {
  qv_table *t;
  if (qv_table_new(schema, NULL, &t, NULL) != QV_OK) abort();
  int64_t start = 0;
  for (int i = 0; i < n; i++) {
    qv_batch *b = make_batch(start, sizes[i], poison);
    if (qv_table_append_batch(t, b, NULL) != QV_OK) abort();
    qv_batch_unref(b);
    start += sizes[i];
  }
  return t;
}

static void test_batch_checks(void) {
  make_schema();
  qv_array *cols[3];
  qv_error err;
  qv_batch *b;
  QV_REQUIRE_OK(qv_array_new_nulls(qv_type_int64(), 3, NULL, &cols[0], NULL));
  QV_REQUIRE_OK(qv_array_new_nulls(qv_type_utf8(), 2, NULL, &cols[1], NULL));
  QV_REQUIRE_OK(qv_array_new_nulls(tags_type, 3, NULL, &cols[2], NULL));
  QV_CHECK_STATUS_E(qv_batch_new(schema, 3, cols, 3, NULL, &b, &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "column 'name' (index 1) has 2 rows, the batch has 3");
  QV_CHECK(cols[0] == NULL); /* consumed */
  QV_REQUIRE_OK(qv_array_new_nulls(qv_type_int32(), 3, NULL, &cols[0], NULL));
  QV_REQUIRE_OK(qv_array_new_nulls(qv_type_utf8(), 3, NULL, &cols[1], NULL));
  QV_REQUIRE_OK(qv_array_new_nulls(tags_type, 3, NULL, &cols[2], NULL));
  QV_CHECK_STATUS_E(qv_batch_new(schema, 3, cols, 3, NULL, &b, &err), QV_E_TYPE, &err);
  QV_CHECK_CONTAINS(err.message, "column 'id' (index 0) has type int32, the field says int64");
  QV_REQUIRE_OK(qv_array_new_nulls(qv_type_int64(), 3, NULL, &cols[0], NULL));
  QV_CHECK_STATUS(qv_batch_new(schema, 3, cols, 1, NULL, &b, NULL), QV_E_INVALID);
  qv_array_unref(cols[0]);
}

static void test_batch_ops(void) {
  qv_batch *b = make_batch(0, 10, -1), *s, *sel, *ren;
  QV_CHECK_INT_EQ(b->length, 10);
  QV_CHECK(qv_batch_column_by_name(b, "tags") == b->columns[2]);
  QV_CHECK(qv_batch_column_by_name(b, "nope") == NULL);
  QV_REQUIRE_OK(qv_batch_slice(b, 3, 4, &s, NULL));
  qv_batch *ref = make_batch(3, 4, -1);
  qv_error diff;
  QV_CHECK(qv_batch_equal(s, ref, &diff));
  QV_CHECK_OK(qv_batch_validate(s, QV_VALIDATE_FULL, NULL));
  qv_batch_unref(ref);
  ref = make_batch(3, 4, 6);
  QV_CHECK(!qv_batch_equal(s, ref, &diff));
  QV_CHECK_CONTAINS(diff.message, "column 'name' row 3: \"n6\" != \"poison\"");
  qv_batch_unref(ref);
  QV_CHECK_STATUS(qv_batch_slice(b, 8, 3, &ref, NULL), QV_E_RANGE);

  int32_t idx[3] = {2, 0, 2};
  QV_REQUIRE_OK(qv_batch_select(b, idx, 3, &sel, NULL));
  QV_CHECK_INT_EQ(sel->n_columns, 3);
  QV_CHECK(sel->columns[0] == b->columns[2]); /* shared, not copied */
  QV_CHECK(sel->columns[1] == b->columns[0]);
  QV_CHECK_STR_EQ(sel->schema->fields[0]->name, "tags");
  QV_CHECK_STATUS(qv_batch_select(b, (int32_t[]){3}, 1, &ref, NULL), QV_E_RANGE);
  const char *names[3] = {"a", "b", "c"};
  QV_REQUIRE_OK(qv_batch_rename(b, names, 3, &ren, NULL));
  QV_CHECK_STR_EQ(ren->schema->fields[1]->name, "b");
  QV_CHECK(ren->columns[1] == b->columns[1]);
  QV_CHECK(ren->schema->fields[1]->nullable);
  QV_CHECK(!qv_batch_equal(ren, b, NULL));
  QV_CHECK_STATUS(qv_batch_rename(b, names, 2, &ref, NULL), QV_E_INVALID);
  qv_batch_unref(sel);
  qv_batch_unref(ren);
  qv_batch_unref(s);
  qv_batch_unref(b);
}

static void test_table_slice_vs_reference(void) {
  make_schema();
  static const int64_t sizes[] = {7, 0, 13, 1, 9, 20};
  qv_table *t = make_table(sizes, 6, -1);
  QV_CHECK_INT_EQ(qv_table_num_rows(t), 50);
  for (int64_t off = 0; off <= 50; off += 3) {
    for (int64_t len = 0; off + len <= 50; len += 5) {
      qv_table *s;
      QV_REQUIRE_OK(qv_table_slice(t, off, len, &s, NULL));
      QV_CHECK_INT_EQ(qv_table_num_rows(s), len);
      QV_CHECK(s->n_batches <= 5);
      qv_batch *combined, *ref = make_batch(off, len, -1);
      QV_REQUIRE_OK(qv_table_combine(s, NULL, &combined, NULL));
      qv_error diff;
      if (!qv_batch_equal(combined, ref, &diff))
        QV__FAIL("slice [%lld,+%lld): %s", (long long)off, (long long)len, diff.message);
      /* and as tables, without combining */
      qv_table *rt;
      QV_REQUIRE_OK(qv_table_new(schema, NULL, &rt, NULL));
      QV_REQUIRE_OK(qv_table_append_batch(rt, ref, NULL));
      QV_CHECK(qv_table_equal(s, rt, NULL));
      qv_table_free(rt);
      qv_batch_unref(combined);
      qv_batch_unref(ref);
      qv_table_free(s);
    }
  }
  QV_CHECK_STATUS(qv_table_slice(t, 45, 6, &(qv_table *){NULL}, NULL), QV_E_RANGE);
  qv_table_free(t);
}

static void test_table_equal_and_combine(void) {
  make_schema();
  static const int64_t a_sizes[] = {3, 7, 0, 10}, b_sizes[] = {10, 10}, c_sizes[] = {20};
  qv_table *a = make_table(a_sizes, 4, -1), *b = make_table(b_sizes, 2, -1);
  qv_table *c = make_table(c_sizes, 1, 12);
  qv_error diff;
  QV_CHECK(qv_table_equal(a, b, &diff));
  QV_CHECK(!qv_table_equal(a, c, &diff));
  QV_CHECK_CONTAINS(diff.message, "column 'name' row 12: \"n12\" != \"poison\"");
  qv_batch *comb, *ref = make_batch(0, 20, -1);
  QV_REQUIRE_OK(qv_table_combine(a, NULL, &comb, NULL));
  QV_CHECK(qv_batch_equal(comb, ref, NULL));
  QV_CHECK_OK(qv_batch_validate(comb, QV_VALIDATE_FULL, NULL));
  qv_batch_unref(comb);
  qv_batch_unref(ref);
  /* empty table combines to an empty batch */
  qv_table *e;
  QV_REQUIRE_OK(qv_table_new(schema, NULL, &e, NULL));
  QV_REQUIRE_OK(qv_table_combine(e, NULL, &comb, NULL));
  QV_CHECK_INT_EQ(comb->length, 0);
  QV_CHECK_INT_EQ(comb->n_columns, 3);
  qv_batch_unref(comb);
  /* select / rename on tables */
  qv_table *sel, *ren;
  QV_REQUIRE_OK(qv_table_select(a, (int32_t[]){1}, 1, &sel, NULL));
  QV_CHECK_INT_EQ(sel->schema->n_fields, 1);
  QV_CHECK_INT_EQ(sel->n_batches, 4);
  QV_CHECK(sel->batches[3]->columns[0] == a->batches[3]->columns[1]);
  QV_REQUIRE_OK(qv_table_rename(a, (const char *const[]){"x", "y", "z"}, 3, &ren, NULL));
  QV_CHECK_STR_EQ(ren->schema->fields[2]->name, "z");
  QV_CHECK_STR_EQ(ren->batches[1]->schema->fields[2]->name, "z");
  QV_CHECK_INT_EQ(qv_table_num_rows(ren), 20);
  /* select / rename on a table without batches still derive (and check) the schema */
  qv_error err;
  qv_table *esel = NULL;
  QV_REQUIRE_OK(qv_table_select(e, (int32_t[]){2, 0}, 2, &esel, NULL));
  QV_CHECK_INT_EQ(esel->n_batches, 0);
  QV_CHECK_INT_EQ(esel->schema->n_fields, 2);
  QV_CHECK(qv_field_equal(esel->schema->fields[0], schema->fields[2]));
  QV_CHECK(qv_field_equal(esel->schema->fields[1], schema->fields[0]));
  qv_table_free(esel);
  QV_CHECK_STATUS_E(qv_table_select(e, (int32_t[]){3}, 1, &esel, &err), QV_E_RANGE, &err);
  QV_CHECK_CONTAINS(err.message, "column index 3 of 3 columns");
  QV_CHECK_STATUS_E(qv_table_select(a, (int32_t[]){-1}, 1, &esel, &err), QV_E_RANGE, &err);
  QV_CHECK_STATUS_E(qv_table_rename(a, (const char *const[]){"x"}, 1, &esel, &err), QV_E_INVALID,
                    &err);
  QV_CHECK_CONTAINS(err.message, "rename: 1 names for 3 columns");
  /* appending a batch of another schema */
  QV_CHECK_STATUS_E(qv_table_append_batch(sel, a->batches[0], &err), QV_E_TYPE, &err);
  qv_table_free(sel);
  qv_table_free(ren);
  qv_table_free(e);
  qv_table_free(a);
  qv_table_free(b);
  qv_table_free(c);
}

static void cleanup(void) {
  qv_schema_unref(schema);
  qv_type_unref(tags_type);
  schema = NULL;
}

QV_TEST_MAIN(QV_CASE(test_batch_checks), QV_CASE(test_batch_ops),
             QV_CASE(test_table_slice_vs_reference), QV_CASE(test_table_equal_and_combine),
             QV_CASE(cleanup))
