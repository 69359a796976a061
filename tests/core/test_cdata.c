/* test_cdata.c — the Arrow C Data Interface: export → import → equal and import → export →
 * import for every type (nulls, odd slices, nesting, empty, dictionary, unions, REE, views with
 * long strings), release counting on foreign arrays, hand-made foreign arrays read through the
 * spec's layout, schema round trips of every format string with metadata and flags, malformed
 * schemas and arrays, batches, moved children, and allocation failure at every point. */
#include "qv_test.h"

#define N 41

static void chk(qv_status s, const qv_error *e, const char *what) {
  if (s != QV_OK) {
    fprintf(stderr, "setup failed: %s: %s\n", what, e ? e->message : "");
    abort();
  }
}

static qv_field *fld(const char *name, const qv_type *t, bool nullable) {
  qv_field *f = NULL;
  qv_error e;
  chk(qv_field_new(name, t, nullable, NULL, NULL, &f, &e), &e, name);
  return f;
}

/* ---- the type zoo ------------------------------------------------------------------------ */

static qv_type *zoo[96];
static int n_zoo;

static void zadd(qv_type *t) { zoo[n_zoo++] = t; }
/* The first type of the zoo with this id. */
static qv_type *zfirst(qv_type_id id) {
  for (int i = 0; i < n_zoo; i++)
    if (zoo[i]->id == id) return zoo[i];
  abort();
}
#define Z(call)                                                                               \
  do {                                                                                      \
    qv_type *t_ = NULL;                                                                     \
    qv_error e_;                                                                            \
    chk(call, &e_, #call);                                                                  \
    zadd(t_);                                                                               \
  } while (0)
#define OUT &t_, &e_

static qv_type *list_of(qv_type_id id, const qv_type *item) {
  qv_type *t = NULL;
  qv_error e;
  chk(qv_type_list_of(id, item, NULL, &t, &e), &e, "list_of");
  return t;
}

static void make_zoo(void) {
  if (n_zoo) return;
  static const qv_type_id prims[] = {
      QV_TYPE_NA, QV_TYPE_BOOL, QV_TYPE_INT8, QV_TYPE_INT16, QV_TYPE_INT32, QV_TYPE_INT64,
      QV_TYPE_UINT8, QV_TYPE_UINT16, QV_TYPE_UINT32, QV_TYPE_UINT64, QV_TYPE_HALF_FLOAT,
      QV_TYPE_FLOAT, QV_TYPE_DOUBLE, QV_TYPE_DATE32, QV_TYPE_DATE64, QV_TYPE_INTERVAL_MONTHS,
      QV_TYPE_INTERVAL_DAY_TIME, QV_TYPE_INTERVAL_MONTH_DAY_NANO, QV_TYPE_BINARY, QV_TYPE_STRING,
      QV_TYPE_LARGE_BINARY, QV_TYPE_LARGE_STRING, QV_TYPE_BINARY_VIEW, QV_TYPE_STRING_VIEW};
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) zadd(qv_type_primitive(prims[i]));
  Z(qv_type_decimal(32, 9, 2, NULL, OUT));
  Z(qv_type_decimal(64, 18, -3, NULL, OUT));
  Z(qv_type_decimal(128, 38, 10, NULL, OUT));
  Z(qv_type_decimal(256, 76, 5, NULL, OUT));
  Z(qv_type_time32(QV_TIME_SECOND, NULL, OUT));
  Z(qv_type_time32(QV_TIME_MILLI, NULL, OUT));
  Z(qv_type_time64(QV_TIME_MICRO, NULL, OUT));
  Z(qv_type_time64(QV_TIME_NANO, NULL, OUT));
  Z(qv_type_timestamp(QV_TIME_SECOND, NULL, NULL, OUT));
  Z(qv_type_timestamp(QV_TIME_MILLI, "UTC", NULL, OUT));
  Z(qv_type_timestamp(QV_TIME_MICRO, "Europe/Paris", NULL, OUT));
  Z(qv_type_timestamp(QV_TIME_NANO, "+05:30", NULL, OUT));
  Z(qv_type_duration(QV_TIME_SECOND, NULL, OUT));
  Z(qv_type_duration(QV_TIME_MILLI, NULL, OUT));
  Z(qv_type_duration(QV_TIME_MICRO, NULL, OUT));
  Z(qv_type_duration(QV_TIME_NANO, NULL, OUT));
  Z(qv_type_fixed_size_binary(5, NULL, OUT));
  zadd(list_of(QV_TYPE_LIST, qv_type_int32()));
  zadd(list_of(QV_TYPE_LARGE_LIST, qv_type_utf8()));
  zadd(list_of(QV_TYPE_LIST_VIEW, qv_type_int16()));
  zadd(list_of(QV_TYPE_LARGE_LIST_VIEW, qv_type_utf8_view()));
  qv_field *item = fld("item", qv_type_int64(), true);
  Z(qv_type_fixed_size_list(item, 3, NULL, OUT));
  qv_field_unref(item);
  qv_field *ab[3] = {fld("a", qv_type_int32(), false), fld("b", qv_type_utf8(), true),
                     fld("c", qv_type_bool(), true)};
  Z(qv_type_struct(ab, 3, NULL, OUT));
  qv_field *k = fld("key", qv_type_utf8(), false), *v = fld("value", qv_type_int32(), true);
  Z(qv_type_map(k, v, false, NULL, OUT));
  Z(qv_type_map(k, v, true, NULL, OUT));
  qv_field *is[3] = {fld("i", qv_type_int32(), true), fld("s", qv_type_utf8(), true),
                     fld("v", qv_type_binary_view(), true)};
  int8_t codes[3] = {5, 0, 127};
  Z(qv_type_union(QV_UNION_SPARSE, is, codes, 3, NULL, OUT));
  Z(qv_type_union(QV_UNION_DENSE, is, codes, 3, NULL, OUT));
  Z(qv_type_dictionary(qv_type_int8(), qv_type_utf8(), false, NULL, OUT));
  Z(qv_type_dictionary(qv_type_uint16(), qv_type_int64(), true, NULL, OUT));
  Z(qv_type_dictionary(qv_type_int32(), qv_type_utf8_view(), false, NULL, OUT));
  Z(qv_type_dictionary(qv_type_uint64(), qv_type_large_binary(), false, NULL, OUT));
  Z(qv_type_run_end_encoded(qv_type_int32(), qv_type_utf8(), NULL, OUT));
  Z(qv_type_run_end_encoded(qv_type_int16(), qv_type_int64(), NULL, OUT));
  Z(qv_type_run_end_encoded(qv_type_int64(), qv_type_utf8_view(), NULL, OUT));
  /* nested combinations */
  qv_type *lu = list_of(QV_TYPE_LIST, qv_type_utf8());
  qv_field *sb[2] = {fld("a", qv_type_int32(), true), fld("b", lu, true)};
  qv_type *st = NULL;
  qv_error e;
  chk(qv_type_struct(sb, 2, NULL, &st, &e), &e, "struct");
  zadd(list_of(QV_TYPE_LIST, st));
  zadd(list_of(QV_TYPE_LARGE_LIST_VIEW, st));
  qv_field *mdr[4] = {fld("m", zfirst(QV_TYPE_MAP), true), fld("d", zfirst(QV_TYPE_DICTIONARY), true),
                      fld("r", zfirst(QV_TYPE_RUN_END_ENCODED), true),
                      fld("u", zfirst(QV_TYPE_DENSE_UNION), true)};
  Z(qv_type_struct(mdr, 4, NULL, OUT));
  qv_field *fi = fld("item", st, true);
  Z(qv_type_fixed_size_list(fi, 2, NULL, OUT));
  qv_type *dl = NULL;
  chk(qv_type_dictionary(qv_type_int16(), qv_type_utf8(), false, NULL, &dl, &e), &e, "dict");
  zadd(list_of(QV_TYPE_LIST, dl));
  qv_field *um[2] = {fld("l", lu, true), fld("st", st, true)};
  Z(qv_type_union(QV_UNION_DENSE, um, NULL, 2, NULL, OUT));
  Z(qv_type_union(QV_UNION_SPARSE, um, NULL, 2, NULL, OUT));
  Z(qv_type_run_end_encoded(qv_type_int32(), lu, NULL, OUT));
  for (int i = 0; i < 2; i++) qv_field_unref(um[i]);
  qv_field_unref(fi);
  qv_type_unref(dl);
  for (int i = 0; i < 4; i++) qv_field_unref(mdr[i]);
  for (int i = 0; i < 3; i++) {
    qv_field_unref(ab[i]);
    qv_field_unref(is[i]);
  }
  qv_field_unref(sb[0]);
  qv_field_unref(sb[1]);
  qv_field_unref(k);
  qv_field_unref(v);
  qv_type_unref(lu);
  qv_type_unref(st);
}

/* ---- values ------------------------------------------------------------------------------ */

static void str_val(int64_t key, char *buf) {
  if (key % 3 == 0) snprintf(buf, 64, "a-longer-string-than-twelve-%lld", (long long)key);
  else snprintf(buf, 64, "s%lld", (long long)key);
}

static qv_status gen(qv_builder *b, const qv_type *t, int64_t key, qv_error *err) {
  char s[64];
  uint8_t fx[32];
  if (t->id == QV_TYPE_NA) return qv_builder_append_null(b, err);
  if (t->id == QV_TYPE_RUN_END_ENCODED) {
    QV_TRY(gen(qv_builder_child(b, 1), t->children[1]->type, key, err));
    return qv_builder_ree_append_run(b, 1, err); /* one element, as nested parents need */
  }
  if (qv_type_has_validity(t) && key % 5 == 2) return qv_builder_append_null(b, err);
  switch (t->id) {
    case QV_TYPE_BOOL: return qv_builder_append_bool(b, key % 3 == 1, err);
    case QV_TYPE_HALF_FLOAT: case QV_TYPE_FLOAT: case QV_TYPE_DOUBLE:
      return qv_builder_append_f64(b, (double)key * 0.25 - 2, err);
    case QV_TYPE_DECIMAL128: case QV_TYPE_DECIMAL256: case QV_TYPE_INTERVAL_DAY_TIME:
    case QV_TYPE_INTERVAL_MONTH_DAY_NANO: case QV_TYPE_FIXED_SIZE_BINARY:
      for (int i = 0; i < 32; i++) fx[i] = (uint8_t)(key * 31 + i * 7);
      return qv_builder_append_fixed(b, fx, err);
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW:
      str_val(key, s);
      return qv_builder_append_str(b, s, err);
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_LIST_VIEW:
    case QV_TYPE_LARGE_LIST_VIEW: case QV_TYPE_FIXED_SIZE_LIST: {
      int64_t n = t->id == QV_TYPE_FIXED_SIZE_LIST ? t->list_size : key % 4;
      for (int64_t j = 0; j < n; j++)
        QV_TRY(gen(qv_builder_child(b, 0), t->children[0]->type, key * 7 + j, err));
      return qv_builder_list_append(b, err);
    }
    case QV_TYPE_MAP: {
      const qv_type *et = t->children[0]->type;
      for (int64_t j = 0; j < key % 3; j++) {
        str_val(key * 5 + j, s);
        QV_TRY(qv_builder_append_str(qv_builder_child(b, 0), s, err));
        QV_TRY(gen(qv_builder_child(b, 1), et->children[1]->type, key * 5 + j, err));
      }
      return qv_builder_list_append(b, err);
    }
    case QV_TYPE_STRUCT:
      for (int32_t c = 0; c < t->n_children; c++) {
        const qv_field *f = t->children[c];
        int64_t ck = key * 3 + c;
        if (!f->nullable && ck % 5 == 2) ck++; /* keep non-nullable children valid */
        QV_TRY(gen(qv_builder_child(b, c), f->type, ck, err));
      }
      return qv_builder_struct_append(b, true, err);
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION: {
      int32_t c = (int32_t)(key % t->n_children);
      QV_TRY(gen(qv_builder_child(b, c), t->children[c]->type, key, err));
      return qv_builder_union_append(b, t->type_codes[c], err);
    }
    case QV_TYPE_DICTIONARY:
      switch (t->value_type->id) {
        case QV_TYPE_STRING: case QV_TYPE_STRING_VIEW: case QV_TYPE_LARGE_BINARY:
          str_val(key % 6, s);
          return qv_builder_append_str(b, s, err);
        default: return qv_builder_append_i64(b, key % 7 * 1000 - 3, err);
      }
    case QV_TYPE_UINT8: case QV_TYPE_UINT16: case QV_TYPE_UINT32: case QV_TYPE_UINT64:
      return qv_builder_append_i64(b, key * 3 % 250, err);
    case QV_TYPE_TIME32: return qv_builder_append_i64(b, key * 13, err);
    default: return qv_builder_append_i64(b, key * 7 % 101 - 50, err);
  }
}

static qv_status build_a(const qv_type *t, int64_t n, const qv_allocator *a, qv_array **out,
                         qv_error *err) {
  qv_builder *b = NULL;
  *out = NULL;
  QV_TRY(qv_builder_new(t, a, &b, err));
  qv_status s = QV_OK;
  for (int64_t k = 0; k < n && s == QV_OK; k++) {
    if (t->id == QV_TYPE_RUN_END_ENCODED) { /* top level: runs of 1..3 */
      s = gen(qv_builder_child(b, 1), t->children[1]->type, k, err);
      if (s == QV_OK) s = qv_builder_ree_append_run(b, 1 + k % 3, err);
    } else {
      s = gen(b, t, k, err);
    }
  }
  if (s == QV_OK) s = qv_builder_finish(b, out, err);
  qv_builder_free(b);
  return s;
}

static qv_array *build(const qv_type *t, int64_t n) {
  qv_array *out = NULL;
  qv_error e;
  if (build_a(t, n, NULL, &out, &e) != QV_OK) {
    char tn[200];
    qv_type_to_string(t, tn, sizeof tn);
    QV__FAIL("building %s: %s", tn, e.message);
    return NULL;
  }
  /* the builder may give REE a different length: slice to n */
  return out;
}

/* ---- release counting shim around any ArrowArray ----------------------------------------- */

typedef struct shim {
  void (*orig)(struct ArrowArray *);
  void *orig_priv;
  int *counter;
} shim;

static void shim_release(struct ArrowArray *x) {
  shim *s = x->private_data;
  int *c = s->counter;
  x->release = s->orig;
  x->private_data = s->orig_priv;
  free(s);
  x->release(x);
  QV_CHECK(x->release == NULL); /* our exporter marks released */
  (*c)++;
}

static void add_shim(struct ArrowArray *x, int *counter) {
  shim *s = malloc(sizeof *s);
  s->orig = x->release;
  s->orig_priv = x->private_data;
  s->counter = counter;
  x->release = shim_release;
  x->private_data = s;
}

static bool holds_memory(const qv_array *a) {
  for (int32_t i = 0; i < a->n_buffers; i++)
    if (a->buffers[i].len) return true;
  for (int32_t i = 0; i < a->n_children; i++)
    if (holds_memory(a->children[i])) return true;
  return a->dictionary && holds_memory(a->dictionary);
}

/* ---- every type: round trips ------------------------------------------------------------- */

static void roundtrip_one(const qv_array *src, const char *what) {
  qv_error err;
  struct ArrowSchema sc;
  struct ArrowArray ca;
  int released = 0;
  QV_REQUIRE_OK_E(qv_type_export(src->type, NULL, &sc, &err), &err);
  qv_type *t2 = NULL;
  QV_CHECK_OK_E(qv_type_import(&sc, NULL, &t2, &err), &err);
  sc.release(&sc);
  QV_CHECK(sc.release == NULL);
  QV_REQUIRE(t2);
  if (!qv_type_equal(t2, src->type)) QV__FAIL("%s: type changed in the round trip", what);
  QV_REQUIRE_OK_E(qv_array_export(src, NULL, &ca, &err), &err);
  QV_CHECK_INT_EQ(ca.length, src->length);
  QV_CHECK_INT_EQ(ca.offset, src->offset);
  add_shim(&ca, &released);
  qv_array *imp = NULL;
  qv_status s = qv_array_import(&ca, t2, NULL, &imp, &err);
  QV_CHECK(ca.release == NULL); /* moved */
  if (s != QV_OK) {
    QV__FAIL("%s: import failed: %s", what, err.message);
    qv_type_unref(t2);
    return;
  }
  qv_error diff;
  if (!qv_array_equal(src, imp, &diff)) QV__FAIL("%s: export→import differs: %s", what, diff.message);
  QV_CHECK_OK_E(qv_array_validate(imp, QV_VALIDATE_FULL, &err), &err);
  bool mem = holds_memory(imp);
  if (mem) QV_CHECK_INT_EQ(released, 0);
  /* import → export → import */
  struct ArrowArray cb;
  QV_REQUIRE_OK_E(qv_array_export(imp, NULL, &cb, &err), &err);
  qv_array *imp2 = NULL;
  QV_CHECK_OK_E(qv_array_import(&cb, t2, NULL, &imp2, &err), &err);
  if (imp2 && !qv_array_equal(src, imp2, &diff))
    QV__FAIL("%s: second round trip differs: %s", what, diff.message);
  /* a slice of the import outlives it; the foreign release waits for it */
  qv_array *sl = NULL;
  if (imp->length >= 2) QV_CHECK_OK(qv_array_slice(imp, 1, imp->length - 2, &sl, NULL));
  qv_array_unref(imp);
  if (mem && (sl || imp2)) QV_CHECK_INT_EQ(released, 0);
  qv_array_unref(imp2);
  if (mem && sl) QV_CHECK_INT_EQ(released, 0);
  qv_array_unref(sl);
  QV_CHECK_INT_EQ(released, 1);
  qv_type_unref(t2);
}

static void test_every_type_roundtrip(void) {
  make_zoo();
  static const int64_t slices[][2] = {{0, N}, {3, 29}, {17, 1}, {5, 0}, {N, 0}, {1, N - 2}};
  for (int ti = 0; ti < n_zoo; ti++) {
    char tn[200], what[300];
    qv_type_to_string(zoo[ti], tn, sizeof tn);
    qv_array *a = build(zoo[ti], N);
    QV_REQUIRE(a);
    for (size_t si = 0; si < sizeof slices / sizeof slices[0]; si++) {
      qv_array *s = NULL;
      int64_t off = slices[si][0], len = slices[si][1];
      if (off + len > a->length) continue;
      QV_REQUIRE_OK(qv_array_slice(a, off, len, &s, NULL));
      snprintf(what, sizeof what, "%s [%lld,+%lld)", tn, (long long)off, (long long)len);
      roundtrip_one(s, what);
      qv_array_unref(s);
    }
    /* an empty array made directly, and all nulls */
    qv_array *e = NULL;
    QV_REQUIRE_OK(qv_array_new_empty(zoo[ti], NULL, &e, NULL));
    snprintf(what, sizeof what, "%s empty", tn);
    roundtrip_one(e, what);
    qv_array_unref(e);
    QV_REQUIRE_OK(qv_array_new_nulls(zoo[ti], 7, NULL, &e, NULL));
    snprintf(what, sizeof what, "%s nulls", tn);
    roundtrip_one(e, what);
    qv_array_unref(e);
    qv_array_unref(a);
    if (qv_test_failed > 30) return;
  }
}

/* ---- the exported layout, checked against the specification ------------------------------ */

static void test_export_layout(void) {
  qv_error err;
  /* utf8_view with inline and > 12-byte values: validity, views, data..., sizes */
  qv_array *a = build(qv_type_utf8_view(), 10);
  QV_REQUIRE(a);
  struct ArrowArray ca;
  QV_REQUIRE_OK_E(qv_array_export(a, NULL, &ca, &err), &err);
  int64_t nv = a->n_buffers - 2;
  QV_CHECK(nv >= 1);
  QV_CHECK_INT_EQ(ca.n_buffers, a->n_buffers + 1);
  const int64_t *sizes = ca.buffers[ca.n_buffers - 1];
  for (int64_t k = 0; k < nv; k++) {
    QV_CHECK_INT_EQ(sizes[k], a->buffers[2 + k].len);
    QV_CHECK(ca.buffers[2 + k] == a->buffers[2 + k].data); /* zero-copy */
  }
  QV_CHECK_INT_EQ(ca.null_count, 2); /* keys 2 and 7 */
  /* a long value: view = {len, prefix, buffer index, offset} */
  const uint8_t *view = (const uint8_t *)ca.buffers[1] + 16 * 3;
  int32_t len, bidx, boff;
  memcpy(&len, view, 4);
  memcpy(&bidx, view + 8, 4);
  memcpy(&boff, view + 12, 4);
  char s[64];
  str_val(3, s);
  QV_CHECK_INT_EQ(len, strlen(s));
  QV_REQUIRE(bidx >= 0 && bidx < nv && boff >= 0 && boff + len <= sizes[bidx]);
  QV_CHECK_MEM_EQ((const uint8_t *)ca.buffers[2 + bidx] + boff, s, (size_t)len);
  ca.release(&ca);
  QV_CHECK(ca.release == NULL);
  qv_array_unref(a);

  /* all-valid int32: NULL validity, null_count 0; the export keeps the data alive */
  qv_builder *b;
  QV_REQUIRE_OK(qv_builder_new(qv_type_int32(), NULL, &b, NULL));
  for (int i = 0; i < 5; i++) QV_CHECK_OK(qv_builder_append_i64(b, i * 10, NULL));
  QV_REQUIRE_OK(qv_builder_finish(b, &a, NULL));
  qv_builder_free(b);
  QV_REQUIRE_OK(qv_array_export(a, NULL, &ca, NULL));
  qv_array_unref(a);
  QV_CHECK_INT_EQ(ca.n_buffers, 2);
  QV_CHECK(ca.buffers[0] == NULL);
  QV_CHECK_INT_EQ(ca.null_count, 0);
  QV_CHECK_INT_EQ(((const int32_t *)ca.buffers[1])[4], 40);
  ca.release(&ca);

  /* dense union: no validity, type ids + offsets; REE: no buffers, 2 children */
  make_zoo();
  for (int ti = 0; ti < n_zoo; ti++) {
    const qv_type *t = zoo[ti];
    if (t->id != QV_TYPE_DENSE_UNION && t->id != QV_TYPE_RUN_END_ENCODED &&
        t->id != QV_TYPE_NA && t->id != QV_TYPE_DICTIONARY)
      continue;
    a = build(t, 9);
    QV_REQUIRE(a);
    QV_REQUIRE_OK(qv_array_export(a, NULL, &ca, NULL));
    switch (t->id) {
      case QV_TYPE_DENSE_UNION:
        QV_CHECK_INT_EQ(ca.n_buffers, 2);
        QV_CHECK_INT_EQ(ca.n_children, t->n_children);
        QV_CHECK_INT_EQ(((const int8_t *)ca.buffers[0])[1], t->type_codes[1]);
        break;
      case QV_TYPE_RUN_END_ENCODED:
        QV_CHECK_INT_EQ(ca.n_buffers, 0);
        QV_CHECK_INT_EQ(ca.n_children, 2);
        QV_CHECK_INT_EQ(ca.length, a->length);
        break;
      case QV_TYPE_NA:
        QV_CHECK_INT_EQ(ca.n_buffers, 0);
        QV_CHECK_INT_EQ(ca.null_count, 9);
        break;
      default:
        QV_CHECK_INT_EQ(ca.n_buffers, 2);
        QV_CHECK_INT_EQ(ca.n_children, 0);
        QV_REQUIRE(ca.dictionary != NULL);
        QV_CHECK_INT_EQ(ca.dictionary->length, a->dictionary->length);
        break;
    }
    ca.release(&ca);
    qv_array_unref(a);
  }
}

/* ---- hand-made foreign arrays ------------------------------------------------------------ */

typedef struct foreign {
  struct ArrowArray arr;
  struct ArrowArray kid[2];
  struct ArrowArray *kids[2];
  const void *bufs[3][4];
  int released;
} foreign;

static void foreign_release(struct ArrowArray *x) {
  foreign *f = x->private_data;
  f->released++;
  x->release = NULL;
}
static void foreign_child_release(struct ArrowArray *x) { x->release = NULL; }

static void foreign_node(struct ArrowArray *x, int64_t len, int64_t off, int64_t nulls,
                         int64_t nb, const void **bufs) {
  memset(x, 0, sizeof *x);
  x->length = len;
  x->offset = off;
  x->null_count = nulls;
  x->n_buffers = nb;
  x->buffers = bufs;
  x->release = foreign_child_release;
}

/* The root node (buffers f->bufs[0]) of a foreign array whose release counts in f->released. */
static void foreign_root(foreign *f, int64_t len, int64_t off, int64_t nulls, int64_t nb) {
  foreign_node(&f->arr, len, off, nulls, nb, f->bufs[0]);
  f->arr.release = foreign_release;
  f->arr.private_data = f;
}

static void test_foreign_arrays(void) {
  qv_error err;
  foreign f;
  memset(&f, 0, sizeof f);
  /* utf8 ["ab", null, "", "cde"] at offset 1 → [null, "", "cde"] */
  static const uint8_t valid[1] = {0x0d}; /* 1011 */
  static const int32_t offs[5] = {0, 2, 2, 2, 5};
  static const char data[] = "abcde";
  f.bufs[0][0] = valid;
  f.bufs[0][1] = offs;
  f.bufs[0][2] = data;
  foreign_root(&f, 3, 1, -1, 3);
  qv_array *a = NULL;
  QV_REQUIRE_OK_E(qv_array_import(&f.arr, qv_type_utf8(), NULL, &a, &err), &err);
  QV_CHECK_INT_EQ(a->length, 3);
  QV_CHECK(qv_array_is_null(a, 0));
  const uint8_t *p;
  size_t n;
  qv_array_get_bytes(a, 2, &p, &n);
  QV_CHECK(n == 3 && memcmp(p, "cde", 3) == 0);
  QV_CHECK_INT_EQ(qv_array_null_count(a), 1);
  QV_CHECK(a->buffers[2].data == (const uint8_t *)data); /* zero-copy */
  QV_CHECK_INT_EQ(f.released, 0);
  qv_array_unref(a);
  QV_CHECK_INT_EQ(f.released, 1);

  /* binary view with one variadic buffer holding a 20-byte value */
  memset(&f, 0, sizeof f);
  static const char longv[] = "twenty-bytes-value!!";
  uint8_t views[2][16];
  memset(views, 0, sizeof views);
  int32_t l0 = 3, l1 = 20, bi = 0, bo = 0;
  memcpy(views[0], &l0, 4);
  memcpy(views[0] + 4, "xyz", 3);
  memcpy(views[1], &l1, 4);
  memcpy(views[1] + 4, longv, 4);
  memcpy(views[1] + 8, &bi, 4);
  memcpy(views[1] + 12, &bo, 4);
  int64_t vsizes[1] = {20};
  f.bufs[0][0] = NULL;
  f.bufs[0][1] = views;
  f.bufs[0][2] = longv;
  f.bufs[0][3] = vsizes;
  foreign_root(&f, 2, 0, 0, 4);
  QV_REQUIRE_OK_E(qv_array_import(&f.arr, qv_type_binary_view(), NULL, &a, &err), &err);
  QV_CHECK_INT_EQ(a->n_buffers, 3); /* sizes buffer not kept */
  QV_CHECK_UINT_EQ(a->buffers[2].len, 20);
  qv_array_get_bytes(a, 1, &p, &n);
  QV_CHECK(n == 20 && memcmp(p, longv, 20) == 0);
  qv_array_get_bytes(a, 0, &p, &n);
  QV_CHECK(n == 3 && memcmp(p, "xyz", 3) == 0);
  QV_CHECK_OK_E(qv_array_validate(a, QV_VALIDATE_FULL, &err), &err);
  qv_array_unref(a);
  QV_CHECK_INT_EQ(f.released, 1);

  /* struct<x: int16> with a struct offset of 2 applied to the child (own offset 1) */
  memset(&f, 0, sizeof f);
  static const int16_t xs[6] = {10, 11, 12, 13, 14, 15};
  f.bufs[0][0] = NULL;
  f.bufs[1][0] = NULL;
  f.bufs[1][1] = xs;
  foreign_node(&f.arr, 3, 2, 0, 1, f.bufs[0]);
  foreign_node(&f.kid[0], 5, 1, 0, 2, f.bufs[1]);
  f.kids[0] = &f.kid[0];
  f.arr.n_children = 1;
  f.arr.children = f.kids;
  f.arr.release = foreign_release;
  f.arr.private_data = &f;
  qv_field *x = fld("x", qv_type_int16(), true);
  qv_type *st = NULL;
  QV_REQUIRE_OK(qv_type_struct(&x, 1, NULL, &st, NULL));
  qv_schema *sch = NULL;
  QV_REQUIRE_OK(qv_schema_new(&x, 1, NULL, NULL, &sch, NULL));
  qv_batch *batch = NULL;
  QV_REQUIRE_OK_E(qv_batch_import(&f.arr, sch, NULL, &batch, &err), &err);
  QV_CHECK_INT_EQ(batch->length, 3);
  QV_CHECK_INT_EQ(qv_array_get_i64(batch->columns[0], 0), 13); /* 1 + 2 */
  QV_CHECK_INT_EQ(qv_array_get_i64(batch->columns[0], 2), 15);
  QV_CHECK_INT_EQ(f.released, 0);
  qv_batch_unref(batch);
  QV_CHECK_INT_EQ(f.released, 1);
  qv_schema_unref(sch);
  qv_type_unref(st);
  qv_field_unref(x);
}

/* Dictionary, run-end encoded and dense union arrays written by hand from the spec's layout. */
static void test_foreign_nested(void) {
  qv_error err;
  foreign f;
  const uint8_t *p;
  size_t n;
  qv_array *a = NULL;
  /* dictionary<int8, utf8>: indices [2, 0, null, 1] at offset 1 → ["x", null, "yy"] */
  memset(&f, 0, sizeof f);
  static const int8_t idx[4] = {2, 0, 9, 1};
  static const uint8_t iv[1] = {0x0b}; /* 1101 */
  static const int32_t doffs[4] = {0, 1, 3, 6};
  static const char dchars[] = "xyyzzz";
  f.bufs[0][0] = iv;
  f.bufs[0][1] = idx;
  f.bufs[1][0] = NULL;
  f.bufs[1][1] = doffs;
  f.bufs[1][2] = dchars;
  foreign_node(&f.arr, 3, 1, 1, 2, f.bufs[0]);
  foreign_node(&f.kid[0], 3, 0, 0, 3, f.bufs[1]);
  f.arr.dictionary = &f.kid[0];
  f.arr.release = foreign_release;
  f.arr.private_data = &f;
  qv_type *dt = NULL;
  QV_REQUIRE_OK(qv_type_dictionary(qv_type_int8(), qv_type_utf8(), false, NULL, &dt, NULL));
  QV_REQUIRE_OK_E(qv_array_import(&f.arr, dt, NULL, &a, &err), &err);
  QV_CHECK_INT_EQ(qv_array_dict_index(a, 0), 0);
  QV_CHECK(qv_array_is_null(a, 1));
  qv_array_get_bytes(a->dictionary, qv_array_dict_index(a, 2), &p, &n);
  QV_CHECK(n == 2 && memcmp(p, "yy", 2) == 0);
  QV_CHECK_OK_E(qv_array_validate(a, QV_VALIDATE_FULL, &err), &err);
  qv_array_unref(a);
  QV_CHECK_INT_EQ(f.released, 1);
  qv_type_unref(dt);

  /* run_end_encoded<int32, int64>: runs [0,2) = 7, [2,5) = null, offset 1, length 3 */
  memset(&f, 0, sizeof f);
  static const int32_t ends[2] = {2, 5};
  static const int64_t rvals[2] = {7, 0};
  static const uint8_t rv[1] = {0x01};
  f.bufs[1][0] = NULL;
  f.bufs[1][1] = ends;
  f.bufs[2][0] = rv;
  f.bufs[2][1] = rvals;
  foreign_node(&f.arr, 3, 1, 0, 0, NULL);
  foreign_node(&f.kid[0], 2, 0, 0, 2, f.bufs[1]);
  foreign_node(&f.kid[1], 2, 0, 1, 2, f.bufs[2]);
  f.kids[0] = &f.kid[0];
  f.kids[1] = &f.kid[1];
  f.arr.n_children = 2;
  f.arr.children = f.kids;
  f.arr.release = foreign_release;
  f.arr.private_data = &f;
  qv_type *rt = NULL;
  QV_REQUIRE_OK(qv_type_run_end_encoded(qv_type_int32(), qv_type_int64(), NULL, &rt, NULL));
  QV_REQUIRE_OK_E(qv_array_import(&f.arr, rt, NULL, &a, &err), &err);
  QV_CHECK(!qv_array_is_null(a, 0));
  QV_CHECK_INT_EQ(qv_array_get_i64(a->children[1], qv_array_ree_physical_index(a, 0)), 7);
  QV_CHECK(qv_array_is_null(a, 1));
  QV_CHECK(qv_array_is_null(a, 2));
  QV_CHECK_OK_E(qv_array_validate(a, QV_VALIDATE_FULL, &err), &err);
  qv_array_unref(a);
  QV_CHECK_INT_EQ(f.released, 1);
  qv_type_unref(rt);

  /* dense_union<i: int32 = 4, s: utf8 = 9>: [s "q", i 5, i 6], no validity buffer */
  memset(&f, 0, sizeof f);
  static const int8_t tids[3] = {9, 4, 4};
  static const int32_t uoffs[3] = {0, 1, 0};
  static const int32_t ivals[2] = {6, 5};
  static const int32_t soffs[2] = {0, 1};
  f.bufs[0][0] = tids;
  f.bufs[0][1] = uoffs;
  f.bufs[1][0] = NULL;
  f.bufs[1][1] = ivals;
  f.bufs[2][0] = NULL;
  f.bufs[2][1] = soffs;
  f.bufs[2][2] = "q";
  foreign_node(&f.arr, 3, 0, 0, 2, f.bufs[0]);
  foreign_node(&f.kid[0], 2, 0, 0, 2, f.bufs[1]);
  foreign_node(&f.kid[1], 1, 0, 0, 3, f.bufs[2]);
  f.kids[0] = &f.kid[0];
  f.kids[1] = &f.kid[1];
  f.arr.n_children = 2;
  f.arr.children = f.kids;
  f.arr.release = foreign_release;
  f.arr.private_data = &f;
  qv_field *uf[2] = {fld("i", qv_type_int32(), true), fld("s", qv_type_utf8(), true)};
  int8_t codes[2] = {4, 9};
  qv_type *ut = NULL;
  QV_REQUIRE_OK(qv_type_union(QV_UNION_DENSE, uf, codes, 2, NULL, &ut, NULL));
  QV_REQUIRE_OK_E(qv_array_import(&f.arr, ut, NULL, &a, &err), &err);
  QV_CHECK_INT_EQ(qv_array_union_child_index(a, 0), 1);
  QV_CHECK_INT_EQ(qv_array_get_i64(a->children[0], qv_array_union_value_index(a, 1)), 5);
  QV_CHECK_INT_EQ(qv_array_get_i64(a->children[0], qv_array_union_value_index(a, 2)), 6);
  QV_CHECK_OK_E(qv_array_validate(a, QV_VALIDATE_FULL, &err), &err);
  qv_array_unref(a);
  QV_CHECK_INT_EQ(f.released, 1);
  qv_type_unref(ut);
  qv_field_unref(uf[0]);
  qv_field_unref(uf[1]);
}

/* ---- batches ----------------------------------------------------------------------------- */

static qv_batch *make_batch(int64_t n, const qv_allocator *al) {
  make_zoo();
  const qv_type *picks[5] = {qv_type_int32(), qv_type_utf8(), qv_type_binary_view(),
                             zfirst(QV_TYPE_FIXED_SIZE_LIST), zfirst(QV_TYPE_DENSE_UNION)};
  qv_field *fs[5];
  qv_array *cols[5];
  for (int i = 0; i < 5; i++) {
    char name[16];
    snprintf(name, sizeof name, "c%d", i);
    fs[i] = fld(name, picks[i], true);
    if (build_a(picks[i], n, al, &cols[i], NULL) != QV_OK) abort();
  }
  qv_metadata md;
  qv_metadata_init(&md, NULL);
  qv_metadata_append(&md, "origin", "test_cdata", NULL);
  qv_schema *s = NULL;
  qv_batch *b = NULL;
  if (qv_schema_new(fs, 5, &md, NULL, &s, NULL) != QV_OK) abort();
  if (qv_batch_new(s, n, cols, 5, NULL, &b, NULL) != QV_OK) abort();
  for (int i = 0; i < 5; i++) qv_field_unref(fs[i]);
  qv_metadata_reset(&md);
  qv_schema_unref(s);
  return b;
}

static void test_batch_roundtrip(void) {
  qv_error err;
  qv_batch *b = make_batch(N, NULL), *sl = NULL;
  QV_REQUIRE_OK(qv_batch_slice(b, 5, 21, &sl, NULL));
  qv_batch *src[2] = {b, sl};
  for (int i = 0; i < 2; i++) {
    struct ArrowArray ca;
    struct ArrowSchema sc;
    QV_REQUIRE_OK_E(qv_batch_export(src[i], NULL, &ca, &sc, &err), &err);
    QV_CHECK_STR_EQ(sc.format, "+s");
    QV_CHECK_INT_EQ(sc.n_children, 5);
    QV_CHECK_INT_EQ(ca.n_children, 5);
    QV_CHECK_INT_EQ(ca.null_count, 0);
    qv_schema *s2 = NULL;
    QV_REQUIRE_OK_E(qv_schema_import(&sc, NULL, &s2, &err), &err);
    sc.release(&sc);
    QV_CHECK(qv_schema_equal(s2, b->schema));
    QV_CHECK_STR_EQ(qv_metadata_get(&s2->metadata, "origin"), "test_cdata");
    qv_batch *back = NULL;
    QV_CHECK_OK_E(qv_batch_import(&ca, s2, NULL, &back, &err), &err);
    qv_error diff;
    if (back && !qv_batch_equal(src[i], back, &diff)) QV__FAIL("batch differs: %s", diff.message);
    qv_batch_unref(back);
    qv_schema_unref(s2);
  }
  /* a struct array with nulls is not a batch; the array is still released once */
  make_zoo();
  const qv_type *stt = NULL;
  for (int ti = 0; ti < n_zoo; ti++)
    if (zoo[ti]->id == QV_TYPE_STRUCT) {
      stt = zoo[ti];
      break;
    }
  QV_REQUIRE(stt);
  qv_builder *bb;
  QV_REQUIRE_OK(qv_builder_new(stt, NULL, &bb, NULL));
  QV_CHECK_OK(qv_builder_append_nulls(bb, 3, NULL));
  qv_array *sa = NULL;
  QV_REQUIRE_OK(qv_builder_finish(bb, &sa, NULL));
  qv_builder_free(bb);
  struct ArrowArray ca;
  int released = 0;
  QV_REQUIRE_OK(qv_array_export(sa, NULL, &ca, NULL));
  add_shim(&ca, &released);
  qv_schema *ss = NULL;
  QV_REQUIRE_OK(qv_schema_new(stt->children, stt->n_children, NULL, NULL, &ss, NULL));
  qv_batch *nb = NULL;
  QV_CHECK_STATUS_E(qv_batch_import(&ca, ss, NULL, &nb, &err), QV_E_INVALID, &err);
  QV_CHECK_CONTAINS(err.message, "3 nulls");
  QV_CHECK_INT_EQ(released, 1);
  qv_schema_unref(ss);
  qv_array_unref(sa);
  qv_batch_unref(sl);
  qv_batch_unref(b);
}

/* Consumers may move a child out of an exported array and release the parent first. */
static void test_move_child(void) {
  qv_batch *b = make_batch(10, NULL);
  struct ArrowArray ca, moved;
  QV_REQUIRE_OK(qv_batch_export(b, NULL, &ca, NULL, NULL));
  moved = *ca.children[2];
  ca.children[2]->release = NULL;
  ca.release(&ca);
  qv_array *c = NULL;
  qv_error err;
  QV_CHECK_OK_E(qv_array_import(&moved, b->columns[2]->type, NULL, &c, &err), &err);
  if (c) QV_CHECK(qv_array_equal(c, b->columns[2], NULL));
  qv_array_unref(c);
  qv_batch_unref(b);
}

/* ---- schemas ----------------------------------------------------------------------------- */

/* A hand-made ArrowSchema tree (static strings; release only marks). */
typedef struct hs {
  struct ArrowSchema s;
  struct ArrowSchema *kids[3];
} hs;
static void hs_release(struct ArrowSchema *s) { s->release = NULL; }
static void hs_init(hs *h, const char *fmt, const char *name, int64_t flags) {
  memset(h, 0, sizeof *h);
  h->s.format = fmt;
  h->s.name = name;
  h->s.flags = flags;
  h->s.release = hs_release;
}
static void hs_kids(hs *h, hs *k, int n) {
  for (int i = 0; i < n; i++) h->kids[i] = &k[i].s;
  h->s.children = h->kids;
  h->s.n_children = n;
}

static void test_format_strings(void) {
  static const struct {
    const char *fmt;
    int kids; /* children: int32 "a", utf8 "b", ... */
    const char *str;
  } cases[] = {
      {"n", 0, "null"}, {"b", 0, "bool"}, {"c", 0, "int8"}, {"C", 0, "uint8"},
      {"s", 0, "int16"}, {"S", 0, "uint16"}, {"i", 0, "int32"}, {"I", 0, "uint32"},
      {"l", 0, "int64"}, {"L", 0, "uint64"}, {"e", 0, NULL}, {"f", 0, NULL}, {"g", 0, NULL},
      {"z", 0, "binary"}, {"u", 0, "utf8"}, {"Z", 0, NULL}, {"U", 0, NULL}, {"vz", 0, NULL},
      {"vu", 0, NULL}, {"d:10,2", 0, "decimal128(10, 2)"}, {"d:9,-2,32", 0, NULL},
      {"d:18,3,64", 0, NULL}, {"d:60,4,256", 0, NULL}, {"w:16", 0, "fixed_size_binary[16]"},
      {"w:0", 0, NULL}, {"tdD", 0, NULL}, {"tdm", 0, NULL}, {"tts", 0, NULL}, {"ttm", 0, NULL},
      {"ttu", 0, NULL}, {"ttn", 0, NULL}, {"tss:", 0, NULL}, {"tsm:UTC", 0, "timestamp[ms, tz=UTC]"},
      {"tsu:America/New_York", 0, NULL}, {"tsn:+07:00", 0, NULL}, {"tDs", 0, NULL},
      {"tDm", 0, NULL}, {"tDu", 0, NULL}, {"tDn", 0, NULL}, {"tiM", 0, NULL}, {"tiD", 0, NULL},
      {"tin", 0, NULL}, {"+l", 1, NULL}, {"+L", 1, NULL}, {"+vl", 1, NULL}, {"+vL", 1, NULL},
      {"+w:4", 1, NULL}, {"+s", 3, NULL}, {"+s", 0, NULL}, {"+us:0,1,2", 3, NULL},
      {"+ud:7,3,100", 3, NULL}, {"+us:", 0, NULL}, {"+r", 2, NULL}, {"+m", -1, NULL},
  };
  qv_error err;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    hs root, kids[3], entries, ek[2];
    hs_init(&root, cases[i].fmt, "x", ARROW_FLAG_NULLABLE);
    if (cases[i].kids > 0) {
      static const char *kf[3] = {"i", "u", "l"};
      static const char *kn[3] = {"a", "b", "c"};
      for (int k = 0; k < cases[i].kids; k++) hs_init(&kids[k], kf[k], kn[k], ARROW_FLAG_NULLABLE);
      if (!strcmp(cases[i].fmt, "+r")) kids[0].s.flags = 0; /* run ends not null */
      hs_kids(&root, kids, cases[i].kids);
    } else if (cases[i].kids < 0) { /* map: entries struct<key, value> */
      hs_init(&entries, "+s", "entries", 0);
      hs_init(&ek[0], "u", "key", 0);
      hs_init(&ek[1], "i", "value", ARROW_FLAG_NULLABLE);
      hs_kids(&entries, ek, 2);
      hs_kids(&root, &entries, 1);
    }
    qv_field *f = NULL;
    qv_status s = qv_field_import(&root.s, NULL, &f, &err);
    if (s != QV_OK) {
      QV__FAIL("format '%s': %s", cases[i].fmt, err.message);
      continue;
    }
    if (cases[i].str) {
      char buf[128];
      qv_type_to_string(f->type, buf, sizeof buf);
      QV_CHECK_STR_EQ(buf, cases[i].str);
    }
    struct ArrowSchema out;
    QV_REQUIRE_OK(qv_field_export(f, NULL, &out, NULL));
    const char *want = cases[i].fmt;
    if (!strcmp(want, "d:10,2")) want = "d:10,2"; /* decimal128: bit width omitted */
    QV_CHECK_STR_EQ(out.format, want);
    QV_CHECK_STR_EQ(out.name, "x");
    QV_CHECK_INT_EQ(out.flags, ARROW_FLAG_NULLABLE);
    QV_CHECK_INT_EQ(out.n_children, root.s.n_children);
    qv_field *g = NULL;
    QV_CHECK_OK(qv_field_import(&out, NULL, &g, NULL));
    QV_CHECK(g && qv_field_equal(f, g));
    out.release(&out);
    qv_field_unref(g);
    qv_field_unref(f);
  }
  /* explicit 128 bit width is accepted and exported without it */
  hs d;
  hs_init(&d, "d:38,10,128", "d", 0);
  qv_type *t = NULL;
  QV_REQUIRE_OK(qv_type_import(&d.s, NULL, &t, NULL));
  QV_CHECK_INT_EQ(t->id, QV_TYPE_DECIMAL128);
  struct ArrowSchema out;
  QV_REQUIRE_OK(qv_type_export(t, NULL, &out, NULL));
  QV_CHECK_STR_EQ(out.format, "d:38,10");
  out.release(&out);
  qv_type_unref(t);
}

static void test_schema_metadata_flags(void) {
  qv_error err;
  make_zoo();
  /* a field with metadata (an extension type) and every flag */
  qv_metadata md;
  qv_metadata_init(&md, NULL);
  QV_CHECK_OK(qv_metadata_append(&md, QV_EXTENSION_NAME_KEY, "my.uuid", NULL));
  QV_CHECK_OK(qv_metadata_append_n(&md, "bin", 3, "a\0b", 3, NULL));
  QV_CHECK_OK(qv_metadata_append(&md, "", "", NULL));
  qv_type *dict = NULL, *map = NULL;
  for (int ti = 0; ti < n_zoo; ti++) {
    if (zoo[ti]->id == QV_TYPE_DICTIONARY && zoo[ti]->ordered) dict = zoo[ti];
    if (zoo[ti]->id == QV_TYPE_MAP && zoo[ti]->keys_sorted) map = zoo[ti];
  }
  QV_REQUIRE(dict && map);
  qv_field *fs[3] = {NULL, NULL, NULL};
  QV_REQUIRE_OK(qv_field_new("uuid", zfirst(QV_TYPE_FIXED_SIZE_BINARY), false, &md, NULL, &fs[0], NULL));
  QV_REQUIRE_OK(qv_field_new("dict", dict, true, NULL, NULL, &fs[1], NULL));
  QV_REQUIRE_OK(qv_field_new("map", map, false, &md, NULL, &fs[2], NULL));
  qv_schema *s = NULL;
  QV_REQUIRE_OK(qv_schema_new(fs, 3, &md, NULL, &s, NULL));
  struct ArrowSchema out;
  QV_REQUIRE_OK_E(qv_schema_export(s, NULL, &out, &err), &err);
  QV_CHECK_INT_EQ(out.children[0]->flags, 0);
  QV_CHECK_INT_EQ(out.children[1]->flags, ARROW_FLAG_NULLABLE | ARROW_FLAG_DICTIONARY_ORDERED);
  QV_CHECK_INT_EQ(out.children[2]->flags, ARROW_FLAG_MAP_KEYS_SORTED);
  QV_CHECK_STR_EQ(out.children[1]->format, "S"); /* uint16 indices */
  QV_REQUIRE(out.children[1]->dictionary != NULL);
  QV_CHECK_STR_EQ(out.children[1]->dictionary->format, "l");
  QV_CHECK(out.children[1]->metadata == NULL);
  /* the metadata encoding: int32 count, then (int32 len, bytes) pairs */
  const uint8_t *p = (const uint8_t *)out.children[0]->metadata;
  QV_REQUIRE(p != NULL);
  int32_t v;
  memcpy(&v, p, 4);
  QV_CHECK_INT_EQ(v, 3);
  memcpy(&v, p + 4, 4);
  QV_CHECK_INT_EQ(v, strlen(QV_EXTENSION_NAME_KEY));
  QV_CHECK_MEM_EQ(p + 8, QV_EXTENSION_NAME_KEY, strlen(QV_EXTENSION_NAME_KEY));
  p += 8 + strlen(QV_EXTENSION_NAME_KEY);
  memcpy(&v, p, 4);
  QV_CHECK_INT_EQ(v, 7);
  QV_CHECK_MEM_EQ(p + 4, "my.uuid", 7);
  qv_schema *back = NULL;
  QV_REQUIRE_OK_E(qv_schema_import(&out, NULL, &back, &err), &err);
  QV_CHECK(qv_schema_equal(s, back));
  QV_CHECK(qv_metadata_equal(&s->metadata, &back->metadata));
  for (int i = 0; i < 3; i++)
    QV_CHECK(qv_metadata_equal(&s->fields[i]->metadata, &back->fields[i]->metadata));
  QV_CHECK_STR_EQ(qv_field_extension_name(back->fields[0]), "my.uuid");
  QV_CHECK(back->fields[1]->type->ordered);
  QV_CHECK(back->fields[2]->type->keys_sorted);
  QV_CHECK(!back->fields[2]->nullable);
  /* moving a child out of an exported schema, then releasing the parent */
  struct ArrowSchema kid = *out.children[1];
  out.children[1]->release = NULL;
  out.release(&out);
  QV_CHECK(out.release == NULL);
  qv_field *kf = NULL;
  QV_CHECK_OK(qv_field_import(&kid, NULL, &kf, NULL));
  QV_CHECK(kf && qv_field_equal(kf, fs[1]));
  kid.release(&kid);
  qv_field_unref(kf);
  qv_schema_unref(back);
  qv_schema_unref(s);
  for (int i = 0; i < 3; i++) qv_field_unref(fs[i]);
  qv_metadata_reset(&md);
}

static void test_bad_schemas(void) {
  static const struct {
    const char *fmt;
    int kids;
    const char *msg;
  } cases[] = {
      {"w:abc", 0, "format 'w:abc' of field 'x': bad byte width"},
      {"w:", 0, "bad byte width"},
      {"w:-1", 0, "bad byte width"},
      {"w:12x", 0, "bad byte width"},
      {"d:10", 0, "expected ','"},
      {"d:x,2", 0, "bad decimal precision"},
      {"d:10,2,100", 0, "bit width"},
      {"d:10,2,128x", 0, "trailing characters"},
      {"d:99,2", 0, "format 'd:99,2' of field 'x'"}, /* precision out of range */
      {"tss", 0, "':'"},
      {"tsx:", 0, "unknown format"},
      {"ttx", 0, "unknown format"},
      {"tdx", 0, "unknown format"},
      {"q", 0, "format 'q' of field 'x': unknown format"},
      {"", 0, "unknown format"},
      {"ii", 0, "unknown format"},
      {"i", 1, "has 1 children, expected 0"},
      {"+l", 0, "has 0 children, expected 1"},
      {"+r", 1, "expected 2"},
      {"+w:", 1, "bad list size"},
      {"+w:-3", 1, "bad list size"},
      {"+us:1,2", 1, "type codes"},
      {"+ud:1", 2, "type codes"},
      {"+ud:1,x", 2, "bad union type code"},
      {"+us:128", 1, "bad union type code"},
      {"+us:1,1", 2, "format '+us:1,1' of field 'x'"}, /* duplicate codes */
      {"+q", 0, "unknown format"},
      {"+m", 1, "format '+m' of field 'x'"}, /* entries is not a struct */
  };
  qv_error err;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    hs root, kids[2];
    hs_init(&root, cases[i].fmt, "x", 0);
    for (int k = 0; k < cases[i].kids; k++) hs_init(&kids[k], "i", "k", 0);
    if (cases[i].kids) hs_kids(&root, kids, cases[i].kids);
    qv_type *t = NULL;
    qv_status s = qv_type_import(&root.s, NULL, &t, &err);
    if (s != QV_E_INVALID) {
      QV__FAIL("format '%s': got %s, want QV_E_INVALID", cases[i].fmt, qv_status_name(s));
      qv_type_unref(t);
      continue;
    }
    QV_CHECK(t == NULL);
    QV_CHECK_CONTAINS(err.message, cases[i].msg);
  }
  /* nested path in messages; NULL format; released; dictionary of a non-integer */
  hs root, kids[1];
  hs_init(&root, "+s", "outer", 0);
  hs_init(&kids[0], "w:zz", "inner", 0);
  hs_kids(&root, kids, 1);
  qv_type *t = NULL;
  QV_CHECK_STATUS(qv_type_import(&root.s, NULL, &t, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "field 'outer.inner'");
  kids[0].s.format = NULL;
  QV_CHECK_STATUS(qv_type_import(&root.s, NULL, &t, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "format is NULL");
  kids[0].s.format = "i";
  kids[0].s.release = NULL;
  QV_CHECK_STATUS(qv_type_import(&root.s, NULL, &t, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "released");
  root.kids[0] = NULL;
  QV_CHECK_STATUS(qv_type_import(&root.s, NULL, &t, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "child 0 is NULL");
  hs d, dv;
  hs_init(&d, "u", "d", 0);
  hs_init(&dv, "u", "", 0);
  d.s.dictionary = &dv.s;
  QV_CHECK_STATUS(qv_type_import(&d.s, NULL, &t, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "index type must be an integer");
  d.s.format = "i";
  QV_CHECK_OK(qv_type_import(&d.s, NULL, &t, NULL));
  QV_CHECK(t && t->id == QV_TYPE_DICTIONARY && t->value_type->id == QV_TYPE_STRING);
  qv_type_unref(t);
  /* a schema must be a struct */
  qv_schema *s = NULL;
  hs_init(&root, "i", "", 0);
  QV_CHECK_STATUS(qv_schema_import(&root.s, NULL, &s, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "not a struct");
  /* malformed metadata */
  static const uint8_t badmd[8] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  hs_init(&root, "i", "m", 0);
  root.s.metadata = (const char *)badmd;
  qv_field *f = NULL;
  QV_CHECK_STATUS(qv_field_import(&root.s, NULL, &f, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "negative key length");
  static const uint8_t badval[13] = {2, 0, 0, 0, 1, 0, 0, 0, 'k', 0xfe, 0xff, 0xff, 0xff};
  root.s.metadata = (const char *)badval;
  QV_CHECK_STATUS(qv_field_import(&root.s, NULL, &f, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "field 'm': negative value length -2 in pair 0");
  /* nesting limit */
  hs deep[80];
  for (int i = 0; i < 80; i++) {
    hs_init(&deep[i], i == 79 ? "i" : "+l", "item", 0);
    if (i) hs_kids(&deep[i - 1], &deep[i], 1);
  }
  QV_CHECK_STATUS(qv_type_import(&deep[0].s, NULL, &t, &err), QV_E_LIMIT);
  QV_CHECK_CONTAINS(err.message, "nesting");
}

/* ---- malformed arrays -------------------------------------------------------------------- */

static void test_bad_arrays(void) {
  qv_error err;
  static const int32_t vals[4] = {1, 2, 3, 4};
  static const int32_t offs[3] = {0, 1, 2};
  static const int32_t neg_offs[3] = {0, 1, -3};
  static const uint8_t bits[1] = {0x05};
  struct {
    const char *what;
    const qv_type *type;
    int64_t len, off, nulls, nb;
    const void *b0, *b1, *b2;
    qv_status want;
    const char *msg;
  } cases[] = {
      {"n_buffers", qv_type_int32(), 4, 0, 0, 3, NULL, vals, vals, QV_E_INVALID,
       "n_buffers 3 does not match type int32 (expected 2)"},
      {"NULL data", qv_type_int32(), 4, 0, 0, 2, NULL, NULL, NULL, QV_E_INVALID,
       "buffer 1 (data) is NULL but 16 bytes are needed"},
      {"negative length", qv_type_int32(), -1, 0, 0, 2, NULL, vals, NULL, QV_E_INVALID,
       "negative length"},
      {"negative offset", qv_type_int32(), 1, -2, 0, 2, NULL, vals, NULL, QV_E_INVALID,
       "or offset -2"},
      {"nulls without validity", qv_type_int32(), 4, 0, 2, 2, NULL, vals, NULL, QV_E_INVALID,
       "validity bitmap is NULL but null_count is 2"},
      {"null count", qv_type_int32(), 4, 0, 9, 2, bits, vals, NULL, QV_E_INVALID, "null_count 9"},
      {"NULL utf8 offsets", qv_type_utf8(), 2, 0, 0, 3, NULL, NULL, "ab", QV_E_INVALID,
       "buffer 1 (offsets) is NULL"},
      {"NULL utf8 data", qv_type_utf8(), 2, 0, 0, 3, NULL, offs, NULL, QV_E_INVALID,
       "buffer 2 (data) is NULL but 2 bytes"},
      {"view without sizes", qv_type_utf8_view(), 0, 0, 0, 2, NULL, NULL, NULL, QV_E_INVALID,
       "expected at least 3"},
      {"offset overflow", qv_type_int32(), INT64_MAX, 5, 0, 2, NULL, vals, NULL, QV_E_OVERFLOW,
       "overflows"},
      {"negative last offset", qv_type_utf8(), 2, 0, 0, 3, NULL, neg_offs, "ab", QV_E_CORRUPT,
       "last offset -3 (at 2) is negative"},
      {"offsets size overflow", qv_type_utf8(), INT64_MAX - 2, 2, 0, 3, NULL, offs, "ab",
       QV_E_OVERFLOW, "offsets size for 9223372036854775808 elements overflows"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    foreign f;
    memset(&f, 0, sizeof f);
    f.bufs[0][0] = cases[i].b0;
    f.bufs[0][1] = cases[i].b1;
    f.bufs[0][2] = cases[i].b2;
    foreign_root(&f, cases[i].len, cases[i].off, cases[i].nulls, cases[i].nb);
    qv_array *a = NULL;
    qv_status s = qv_array_import(&f.arr, cases[i].type, NULL, &a, &err);
    if (s != cases[i].want) {
      QV__FAIL("%s: got %s (%s), want %s", cases[i].what, qv_status_name(s),
               s ? err.message : "", qv_status_name(cases[i].want));
      qv_array_unref(a);
      continue;
    }
    QV_CHECK(a == NULL);
    QV_CHECK_CONTAINS(err.message, cases[i].msg);
    QV_CHECK_CONTAINS(err.message, "array");
    QV_CHECK_INT_EQ(f.released, 1); /* consumed even on failure */
    QV_CHECK(f.arr.release == NULL);
  }
  /* children: wrong count, NULL child; dictionary missing; released input */
  foreign f;
  memset(&f, 0, sizeof f);
  /* a view array whose one variadic buffer has a negative size */
  static const int64_t neg_size[1] = {-1};
  f.bufs[0][1] = vals;
  f.bufs[0][2] = "ab";
  f.bufs[0][3] = neg_size;
  foreign_root(&f, 0, 0, 0, 4);
  qv_array *a = NULL;
  QV_CHECK_STATUS(qv_array_import(&f.arr, qv_type_utf8_view(), NULL, &a, &err), QV_E_CORRUPT);
  QV_CHECK_CONTAINS(err.message, "array: variadic buffer 0 has negative size -1");
  QV_CHECK_INT_EQ(f.released, 1);
  memset(&f, 0, sizeof f);
  make_zoo();
  const qv_type *lt = zfirst(QV_TYPE_LIST); /* list<int32> */
  QV_REQUIRE(lt->id == QV_TYPE_LIST);
  f.bufs[0][1] = offs;
  foreign_root(&f, 2, 0, 0, 2);
  QV_CHECK_STATUS(qv_array_import(&f.arr, lt, NULL, &a, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "n_children 0 does not match");
  QV_CHECK_INT_EQ(f.released, 1);
  f.released = 0;
  foreign_root(&f, 2, 0, 0, 2);
  f.arr.n_children = 1;
  f.kids[0] = NULL;
  f.arr.children = f.kids;
  QV_CHECK_STATUS(qv_array_import(&f.arr, lt, NULL, &a, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "array.item: ArrowArray is NULL");
  QV_CHECK_INT_EQ(f.released, 1);
  /* child data too short for the offsets: qv_array_new's check, path-prefixed */
  f.released = 0;
  foreign_root(&f, 2, 0, 0, 2);
  f.bufs[1][1] = vals;
  foreign_node(&f.kid[0], 1, 0, 0, 2, f.bufs[1]);
  f.kids[0] = &f.kid[0];
  f.arr.n_children = 1;
  f.arr.children = f.kids;
  QV_CHECK_STATUS(qv_array_import(&f.arr, lt, NULL, &a, &err), QV_E_CORRUPT);
  QV_CHECK_CONTAINS(err.message, "beyond child length 1");
  QV_CHECK_INT_EQ(f.released, 1);
  /* dictionary type without a dictionary */
  f.released = 0;
  foreign_root(&f, 2, 0, 0, 2);
  const qv_type *dt = NULL;
  for (int ti = 0; ti < n_zoo; ti++)
    if (zoo[ti]->id == QV_TYPE_DICTIONARY && zoo[ti]->index_type->id == QV_TYPE_INT32) dt = zoo[ti];
  QV_REQUIRE(dt);
  QV_CHECK_STATUS(qv_array_import(&f.arr, dt, NULL, &a, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "without a dictionary");
  QV_CHECK_INT_EQ(f.released, 1);
  /* an already released ArrowArray */
  QV_CHECK_STATUS(qv_array_import(&f.arr, qv_type_int32(), NULL, &a, &err), QV_E_INVALID);
  QV_CHECK_CONTAINS(err.message, "released");
  QV_CHECK_INT_EQ(f.released, 1);
}

/* ---- allocation failure at every point --------------------------------------------------- */

typedef struct af_ctx {
  const qv_type *type;
  bool batch;
} af_ctx;

static qv_status af_array(const qv_allocator *al, void *vctx) {
  af_ctx *c = vctx;
  qv_array *a = NULL, *b = NULL;
  qv_type *t2 = NULL;
  struct ArrowSchema sc;
  struct ArrowArray ca;
  qv_status s = build_a(c->type, 12, al, &a, NULL);
  if (s < 0) return s;
  s = qv_type_export(a->type, al, &sc, NULL);
  if (s >= 0) {
    s = qv_type_import(&sc, al, &t2, NULL);
    sc.release(&sc);
  }
  if (s >= 0) s = qv_array_export(a, al, &ca, NULL);
  if (s >= 0) s = qv_array_import(&ca, t2, al, &b, NULL);
  if (s >= 0 && !qv_array_equal(a, b, NULL)) s = QV_E_CORRUPT;
  qv_array_unref(b);
  qv_type_unref(t2);
  qv_array_unref(a);
  return s;
}

static qv_status af_batch(const qv_allocator *al, void *vctx) {
  (void)vctx;
  qv_batch *b = make_batch(9, NULL), *back = NULL;
  struct ArrowArray ca;
  struct ArrowSchema sc;
  qv_schema *s2 = NULL;
  qv_status s = qv_batch_export(b, al, &ca, &sc, NULL);
  if (s >= 0) {
    s = qv_schema_import(&sc, al, &s2, NULL);
    sc.release(&sc);
    if (s >= 0) s = qv_batch_import(&ca, s2, al, &back, NULL);
    else ca.release(&ca);
  }
  if (s >= 0 && !qv_batch_equal(b, back, NULL)) s = QV_E_CORRUPT;
  qv_batch_unref(back);
  qv_schema_unref(s2);
  qv_batch_unref(b);
  return s;
}

static void test_alloc_failures(void) {
  make_zoo();
  for (int ti = 0; ti < n_zoo; ti++) {
    qv_type_id id = zoo[ti]->id;
    /* a representative subset keeps the test fast: every nested kind, views, dictionary */
    if (!qv_type_id_is_nested(id) && id != QV_TYPE_DICTIONARY && id != QV_TYPE_STRING_VIEW &&
        id != QV_TYPE_STRING && id != QV_TYPE_TIMESTAMP)
      continue;
    char tn[200];
    qv_type_to_string(zoo[ti], tn, sizeof tn);
    af_ctx c = {zoo[ti], false};
    size_t n = qv_test_each_alloc_failure(af_array, &c, tn);
    QV_CHECK(n > 3);
  }
  QV_CHECK(qv_test_each_alloc_failure(af_batch, NULL, "batch export/import") > 5);
}

static void cleanup(void) {
  for (int i = 0; i < n_zoo; i++) qv_type_unref(zoo[i]);
  n_zoo = 0;
}

QV_TEST_MAIN(QV_CASE(test_every_type_roundtrip), QV_CASE(test_export_layout),
             QV_CASE(test_foreign_arrays), QV_CASE(test_foreign_nested),
             QV_CASE(test_batch_roundtrip),
             QV_CASE(test_move_child), QV_CASE(test_format_strings),
             QV_CASE(test_schema_metadata_flags), QV_CASE(test_bad_schemas),
             QV_CASE(test_bad_arrays), QV_CASE(test_alloc_failures), QV_CASE(cleanup))
