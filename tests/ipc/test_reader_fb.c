/* test_reader_fb.c — the FlatBuffers verifier and metadata decoder on hand-assembled messages:
 * a schema with several types decodes to the expected qv_schema; every kind of structural
 * corruption (offsets, vtables, strings, vectors, unions, depth, versions) fails with a clear
 * status; truncation at every length and random corruption never crash. */
#include <stdio.h>
#include <string.h>

#include "ipc/ipc_int.h"
#include "qv_test.h"
#include "test_reader_fbb.h"

/* Schema {a: int32, s: utf8 not null, l: list<item: int64>, d: dictionary<utf8, int16, ordered>
 * id 7, ts: timestamp[us, UTC]} with schema metadata k=v. Positions of interesting bytes are
 * reported through the out-parameters (may be NULL). */
typedef struct spos {
  size_t int_bitwidth;   /* the Int.bitWidth scalar of column a */
  size_t name_a;         /* string "a" */
  size_t fields_vec;     /* the fields vector */
  size_t type_type_a;    /* the Field.type_type byte of a */
  size_t schema_table;
  size_t msg_version;
} spos;

static void build_schema(tfb *f, int version, spos *sp) {
  tfb_init(f);
  tf mf[4] = {{QV_FB_MESSAGE_VERSION, 2, version},
              {QV_FB_MESSAGE_HEADER_TYPE, 1, QV_FB_HEADER_SCHEMA},
              {QV_FB_MESSAGE_HEADER, 0, 0},
              {QV_FB_MESSAGE_BODY_LENGTH, 8, 0}};
  size_t mpos[4];
  tfb_root(f, tfb_table(f, mf, 4, mpos));
  tf sf[2] = {{QV_FB_SCHEMA_FIELDS, 0, 0}, {QV_FB_SCHEMA_CUSTOM_METADATA, 0, 0}};
  size_t spos_[2];
  size_t st = tfb_table(f, sf, 2, spos_);
  tfb_patch(f, mpos[2], st);
  size_t fv = tfb_vec_offsets(f, 5);
  tfb_patch(f, spos_[0], fv);
  /* a: int32 */
  {
    tf fs[4] = {{QV_FB_FIELD_NAME, 0, 0}, {QV_FB_FIELD_NULLABLE, 1, 1},
                {QV_FB_FIELD_TYPE_TYPE, 1, QV_FB_TYPE_INT}, {QV_FB_FIELD_TYPE, 0, 0}};
    size_t p[4];
    size_t t = tfb_table(f, fs, 4, p);
    tfb_patch(f, fv + 4, t);
    size_t nm = tfb_string(f, "a");
    tfb_patch(f, p[0], nm);
    tf it[2] = {{QV_FB_INT_BIT_WIDTH, 4, 32}, {QV_FB_INT_IS_SIGNED, 1, 1}};
    size_t ip[2];
    tfb_patch(f, p[3], tfb_table(f, it, 2, ip));
    if (sp) {
      sp->int_bitwidth = ip[0];
      sp->name_a = nm;
      sp->type_type_a = p[2];
    }
  }
  /* s: utf8 not null */
  tfb_patch(f, fv + 8, tfb_field(f, "s", 0, QV_FB_TYPE_UTF8, NULL, 0, -1, NULL));
  /* l: list<item: int64> */
  {
    size_t cv;
    tfb_patch(f, fv + 12, tfb_field(f, "l", 1, QV_FB_TYPE_LIST, NULL, 0, 1, &cv));
    tf it[2] = {{QV_FB_INT_BIT_WIDTH, 4, 64}, {QV_FB_INT_IS_SIGNED, 1, 1}};
    tfb_patch(f, cv + 4, tfb_field(f, "item", 1, QV_FB_TYPE_INT, it, 2, -1, NULL));
  }
  /* d: dictionary-encoded utf8 */
  {
    tf fs[5] = {{QV_FB_FIELD_NAME, 0, 0}, {QV_FB_FIELD_NULLABLE, 1, 1},
                {QV_FB_FIELD_TYPE_TYPE, 1, QV_FB_TYPE_UTF8}, {QV_FB_FIELD_TYPE, 0, 0},
                {QV_FB_FIELD_DICTIONARY, 0, 0}};
    size_t p[5];
    size_t t = tfb_table(f, fs, 5, p);
    tfb_patch(f, fv + 16, t);
    tfb_patch(f, p[0], tfb_string(f, "d"));
    tfb_patch(f, p[3], tfb_table(f, NULL, 0, NULL));
    tf de[3] = {{QV_FB_DICTENC_ID, 8, 7}, {QV_FB_DICTENC_INDEX_TYPE, 0, 0},
                {QV_FB_DICTENC_IS_ORDERED, 1, 1}};
    size_t dp[3];
    tfb_patch(f, p[4], tfb_table(f, de, 3, dp));
    tf it[2] = {{QV_FB_INT_BIT_WIDTH, 4, 16}, {QV_FB_INT_IS_SIGNED, 1, 1}};
    tfb_patch(f, dp[1], tfb_table(f, it, 2, NULL));
  }
  /* ts: timestamp[us, UTC] */
  {
    tf fs[4] = {{QV_FB_FIELD_NAME, 0, 0}, {QV_FB_FIELD_NULLABLE, 1, 1},
                {QV_FB_FIELD_TYPE_TYPE, 1, QV_FB_TYPE_TIMESTAMP}, {QV_FB_FIELD_TYPE, 0, 0}};
    size_t p[4];
    tfb_patch(f, fv + 20, tfb_table(f, fs, 4, p));
    tfb_patch(f, p[0], tfb_string(f, "ts"));
    tf tt[2] = {{QV_FB_TIMESTAMP_UNIT, 2, QV_FB_TIME_MICROSECOND}, {QV_FB_TIMESTAMP_TIMEZONE, 0, 0}};
    size_t tp[2];
    tfb_patch(f, p[3], tfb_table(f, tt, 2, tp));
    tfb_patch(f, tp[1], tfb_string(f, "UTC"));
  }
  /* metadata k=v */
  {
    size_t kv = tfb_vec_offsets(f, 1);
    tfb_patch(f, spos_[1], kv);
    tf kf[2] = {{QV_FB_KEYVALUE_KEY, 0, 0}, {QV_FB_KEYVALUE_VALUE, 0, 0}};
    size_t kp[2];
    tfb_patch(f, kv + 4, tfb_table(f, kf, 2, kp));
    tfb_patch(f, kp[0], tfb_string(f, "k"));
    tfb_patch(f, kp[1], tfb_string(f, "v"));
  }
  if (sp) {
    sp->fields_vec = fv;
    sp->schema_table = st;
    sp->msg_version = mpos[0];
  }
}

/* Parses f as a Message and decodes its schema. */
static qv_status parse_schema(const uint8_t *data, size_t len, qv__ipc_schema_info *si,
                              qv_error *err) {
  qv_ipc_read_options o = qv_ipc_read_options_default();
  qv__ipc_msg m;
  memset(si, 0, sizeof *si);
  QV_TRY(qv__ipc_msg_parse(data, len, 100, &o, &m, err));
  if (m.header_type != QV_FB_HEADER_SCHEMA)
    return qv_error_set(err, QV_E_CORRUPT, "not a schema");
  return qv__ipc_schema_read(&m.fb, m.header, &o, NULL, si, err);
}

static tfb F;
static uint8_t b[sizeof F.b];

static void test_schema_decodes(void) {
  build_schema(&F, QV_FB_METADATA_V5, NULL);
  qv__ipc_schema_info si;
  qv_error err;
  qv_error_init(&err);
  QV_REQUIRE_OK_E(parse_schema(F.b, F.n, &si, &err), &err);
  char buf[512];
  qv_schema_to_string(si.schema, buf, sizeof buf);
  QV_CHECK_STR_EQ(buf, "a: int32, s: utf8 not null, l: list<item: int64>, "
                       "d: dictionary<values=utf8, indices=int16, ordered=true>, "
                       "ts: timestamp[us, tz=UTC]");
  QV_CHECK_INT_EQ(si.schema->fields[3]->dictionary_id, 7);
  QV_CHECK_INT_EQ(si.dicts.n, 1);
  QV_CHECK_INT_EQ(si.dicts.slots[0].id, 7);
  QV_CHECK_STR_EQ(qv_metadata_get(&si.schema->metadata, "k"), "v");
  QV_CHECK(!si.big_endian);
  qv__ipc_schema_info_reset(&si);
}

static void expect_fail(const uint8_t *data, size_t len, qv_status want, const char *needle) {
  qv__ipc_schema_info si;
  qv_error err;
  qv_error_init(&err);
  qv_status s = parse_schema(data, len, &si, &err);
  QV_CHECK_STATUS_E(s, want, &err);
  if (needle) QV_CHECK_CONTAINS(err.message, needle);
  if (s == QV_OK) qv__ipc_schema_info_reset(&si);
}

static void test_corruptions(void) {
  spos sp;
  build_schema(&F, QV_FB_METADATA_V5, &sp);
  size_t n = F.n;
  /* root offset beyond the buffer */
  memcpy(b, F.b, n);
  b[0] = 0xF0; b[1] = 0xFF;
  expect_fail(b, n, QV_E_CORRUPT, "outside");
  /* root offset 0 */
  memcpy(b, F.b, n);
  memset(b, 0, 4);
  expect_fail(b, n, QV_E_CORRUPT, "outside");
  /* vtable (soffset of the schema table) pointing before the buffer */
  memcpy(b, F.b, n);
  { uint32_t v = 0x7FFFFFF0u; for (int i = 0; i < 4; i++) b[sp.schema_table + (size_t)i] = (uint8_t)(v >> (8 * i)); }
  expect_fail(b, n, QV_E_CORRUPT, "vtable");
  /* odd vtable position */
  memcpy(b, F.b, n);
  b[sp.schema_table] ^= 1;
  expect_fail(b, n, QV_E_CORRUPT, NULL);
  /* string without NUL */
  memcpy(b, F.b, n);
  b[sp.name_a + 5] = 'x';
  expect_fail(b, n, QV_E_CORRUPT, "NUL");
  /* string length huge */
  memcpy(b, F.b, n);
  b[sp.name_a + 3] = 0x40;
  expect_fail(b, n, QV_E_CORRUPT, "past the end");
  /* vector length huge */
  memcpy(b, F.b, n);
  b[sp.fields_vec + 2] = 0x10;
  expect_fail(b, n, QV_E_CORRUPT, "past the end");
  /* unknown Type union tag */
  memcpy(b, F.b, n);
  b[sp.type_type_a] = 77;
  expect_fail(b, n, QV_E_UNSUPPORTED, "77");
  /* Int bit width 12 */
  memcpy(b, F.b, n);
  b[sp.int_bitwidth] = 12;
  expect_fail(b, n, QV_E_UNSUPPORTED, "bitWidth 12");
  /* metadata version V3 and unknown V9 */
  memcpy(b, F.b, n);
  b[sp.msg_version] = QV_FB_METADATA_V3;
  expect_fail(b, n, QV_E_UNSUPPORTED, "V3");
  b[sp.msg_version] = 8;
  expect_fail(b, n, QV_E_UNSUPPORTED, "8");
  /* too short */
  expect_fail(F.b, 3, QV_E_CORRUPT, "too short");
}

static void test_version_v4_ok(void) {
  build_schema(&F, QV_FB_METADATA_V4, NULL);
  expect_fail(F.b, F.n, QV_OK, NULL);
}

static void test_tensor_unsupported(void) {
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_TENSOR, 0);
  tfb_patch(&F, h, tfb_table(&F, NULL, 0, NULL));
  expect_fail(F.b, F.n, QV_E_UNSUPPORTED, "Tensor");
  tfb_init(&F);
  h = tfb_message(&F, QV_FB_METADATA_V5, 9, 0);
  tfb_patch(&F, h, tfb_table(&F, NULL, 0, NULL));
  expect_fail(F.b, F.n, QV_E_UNSUPPORTED, "9");
}

/* Unknown vtable slots (a newer writer's fields) are ignored. */
static void test_unknown_slots_ignored(void) {
  tfb_init(&F);
  tf mf[5] = {{QV_FB_MESSAGE_VERSION, 2, QV_FB_METADATA_V5},
              {QV_FB_MESSAGE_HEADER_TYPE, 1, QV_FB_HEADER_SCHEMA},
              {QV_FB_MESSAGE_HEADER, 0, 0},
              {QV_FB_MESSAGE_BODY_LENGTH, 8, 0},
              {12, 8, 0x1234}};
  size_t mp[5];
  tfb_root(&F, tfb_table(&F, mf, 5, mp));
  tf sf[2] = {{QV_FB_SCHEMA_FIELDS, 0, 0}, {9, 4, 99}};
  size_t sp2[2];
  tfb_patch(&F, mp[2], tfb_table(&F, sf, 2, sp2));
  size_t fv = tfb_vec_offsets(&F, 1);
  tfb_patch(&F, sp2[0], fv);
  tfb_patch(&F, fv + 4, tfb_field(&F, "x", 1, QV_FB_TYPE_BOOL, NULL, 0, -1, NULL));
  expect_fail(F.b, F.n, QV_OK, NULL);
}

/* A field nested 200 deep (list<list<...>>) hits the nesting limit, not the stack. */
static void test_deep_nesting(void) {
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_SCHEMA, 0);
  tf sf[1] = {{QV_FB_SCHEMA_FIELDS, 0, 0}};
  size_t sp2;
  tfb_patch(&F, h, tfb_table(&F, sf, 1, &sp2));
  size_t v = tfb_vec_offsets(&F, 1);
  tfb_patch(&F, sp2, v);
  for (int i = 0; i < 200; i++) {
    size_t cv;
    tfb_patch(&F, v + 4, tfb_field(&F, "n", 1, QV_FB_TYPE_LIST, NULL, 0, 1, &cv));
    v = cv;
  }
  tfb_patch(&F, v + 4, tfb_field(&F, "leaf", 1, QV_FB_TYPE_BOOL, NULL, 0, -1, NULL));
  expect_fail(F.b, F.n, QV_E_LIMIT, "deeper");
}

/* Shared offsets (a DAG): 30 levels of struct fields whose 2 children are the same table would
 * be 2^30 visits; the table budget stops it. */
static void test_shared_offsets_bounded(void) {
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_SCHEMA, 0);
  tf sf[1] = {{QV_FB_SCHEMA_FIELDS, 0, 0}};
  size_t sp2;
  tfb_patch(&F, h, tfb_table(&F, sf, 1, &sp2));
  size_t v = tfb_vec_offsets(&F, 1);
  tfb_patch(&F, sp2, v);
  size_t slots[2] = {v + 4, v + 4};
  int nslots = 1;
  for (int i = 0; i < 30; i++) {
    size_t cv;
    size_t t = tfb_field(&F, "s", 1, QV_FB_TYPE_STRUCT, NULL, 0, 2, &cv);
    for (int k = 0; k < nslots; k++) tfb_patch(&F, slots[k], t);
    slots[0] = cv + 4;
    slots[1] = cv + 8;
    nslots = 2;
  }
  size_t leaf = tfb_field(&F, "leaf", 1, QV_FB_TYPE_BOOL, NULL, 0, -1, NULL);
  tfb_patch(&F, slots[0], leaf);
  tfb_patch(&F, slots[1], leaf);
  qv__ipc_schema_info si;
  qv_error err;
  qv_error_init(&err);
  qv_status s = parse_schema(F.b, F.n, &si, &err);
  QV_CHECK(s < 0);
  if (s == QV_OK) qv__ipc_schema_info_reset(&si);
}

static void test_truncation_everywhere(void) {
  build_schema(&F, QV_FB_METADATA_V5, NULL);
  for (size_t len = 0; len < F.n; len++) {
    /* copy into an exact-size heap block so ASan sees any overread */
    uint8_t *p = malloc(len ? len : 1);
    memcpy(p, F.b, len);
    qv__ipc_schema_info si;
    qv_error err;
    qv_error_init(&err);
    qv_status s = parse_schema(p, len, &si, &err);
    if (s == QV_OK) qv__ipc_schema_info_reset(&si);
    else if (!err.message[0]) QV__FAIL("length %zu: %s without a message", len, qv_status_name(s));
    free(p);
  }
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) { return qv_test_rand(&rng); }

static void test_random_corruption(void) {
  build_schema(&F, QV_FB_METADATA_V5, NULL);
  size_t n = F.n;
  int ok = 0, bad = 0;
  for (int iter = 0; iter < 20000; iter++) {
    uint8_t *p = malloc(n);
    memcpy(p, F.b, n);
    int flips = 1 + (int)(next_rand() % 4);
    for (int k = 0; k < flips; k++) p[next_rand() % n] = (uint8_t)next_rand();
    qv__ipc_schema_info si;
    qv_error err;
    qv_error_init(&err);
    qv_status s = parse_schema(p, n, &si, &err);
    if (s == QV_OK) {
      ok++;
      qv__ipc_schema_info_reset(&si);
    } else {
      bad++;
      if (!err.message[0]) QV__FAIL("%s without a message", qv_status_name(s));
    }
    free(p);
  }
  printf("  random corruption: %d still valid, %d rejected\n", ok, bad);
  QV_CHECK(bad > 0);
}

/* Allocation failures while decoding the schema leak nothing. */
static qv_status decode_with(const qv_allocator *a, void *ctx) {
  (void)ctx;
  qv_ipc_read_options o = qv_ipc_read_options_default();
  qv__ipc_msg m;
  QV_TRY(qv__ipc_msg_parse(F.b, F.n, 0, &o, &m, NULL));
  qv__ipc_schema_info si;
  QV_TRY(qv__ipc_schema_read(&m.fb, m.header, &o, a, &si, NULL));
  qv__ipc_schema_info_reset(&si);
  return QV_OK;
}

static void test_alloc_failures(void) {
  build_schema(&F, QV_FB_METADATA_V5, NULL);
  size_t n = qv_test_each_alloc_failure(decode_with, NULL, "schema decode");
  QV_CHECK(n > 5);
}

static void test_limits(void) {
  build_schema(&F, QV_FB_METADATA_V5, NULL);
  qv_ipc_read_options o = qv_ipc_read_options_default();
  o.limits.max_columns = 3;
  qv__ipc_msg m;
  qv_error err;
  qv_error_init(&err);
  QV_REQUIRE_OK_E(qv__ipc_msg_parse(F.b, F.n, 0, &o, &m, &err), &err);
  qv__ipc_schema_info si;
  QV_CHECK_STATUS_E(qv__ipc_schema_read(&m.fb, m.header, &o, NULL, &si, &err), QV_E_LIMIT, &err);
  QV_CHECK_CONTAINS(err.message, "limit");
  o.limits.max_columns = 5; /* 5 top-level + 1 nested item = 6 fields */
  QV_CHECK_STATUS_E(qv__ipc_schema_read(&m.fb, m.header, &o, NULL, &si, &err), QV_E_LIMIT, &err);
  o.limits.max_columns = 6;
  o.limits.max_nesting = 1;
  QV_CHECK_STATUS_E(qv__ipc_schema_read(&m.fb, m.header, &o, NULL, &si, &err), QV_E_LIMIT, &err);
  QV_CHECK_CONTAINS(err.message, "'l'.'item'");
  o.limits.max_nesting = 2;
  QV_CHECK_OK_E(qv__ipc_schema_read(&m.fb, m.header, &o, NULL, &si, &err), &err);
  qv__ipc_schema_info_reset(&si);
}

QV_TEST_MAIN(QV_CASE(test_schema_decodes), QV_CASE(test_corruptions), QV_CASE(test_version_v4_ok),
             QV_CASE(test_tensor_unsupported), QV_CASE(test_unknown_slots_ignored),
             QV_CASE(test_deep_nesting), QV_CASE(test_shared_offsets_bounded),
             QV_CASE(test_truncation_everywhere), QV_CASE(test_random_corruption),
             QV_CASE(test_alloc_failures), QV_CASE(test_limits))
