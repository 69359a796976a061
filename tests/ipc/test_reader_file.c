/* test_reader_file.c — the IPC file reader on hand-assembled files: footer and blocks, random
 * access, batch row counts without touching bodies, column projection that never touches the
 * unprojected columns' pages (they are mprotect'ed PROT_NONE), dictionaries from the footer,
 * mmap'ed files outliving the reader, malformed files (magic, footer length, blocks,
 * truncation, random corruption). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipc/ipc_int.h"
#include "qv_test.h"
#include "test_reader_fbb.h"

static uint8_t S[1 << 16];
static size_t SN;
static tfb F;

typedef struct bufspec {
  int64_t off, len;
} bufspec;
typedef struct blk {
  int64_t off;
  int32_t meta;
  int64_t body;
} blk;
static blk dict_blocks[8], batch_blocks[8];
static int n_dict_blocks, n_batch_blocks;

static void le64(uint8_t *p, int64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

static size_t rb_table(int64_t length, const int64_t *nodes, int n_nodes, const bufspec *bufs,
                       int n_bufs) {
  tf fs[3] = {{QV_FB_RECORDBATCH_LENGTH, 8, length},
              {QV_FB_RECORDBATCH_NODES, 0, 0},
              {QV_FB_RECORDBATCH_BUFFERS, 0, 0}};
  size_t p[3];
  size_t t = tfb_table(&F, fs, 3, p);
  uint8_t tmp[16 * 32];
  for (int i = 0; i < 2 * n_nodes; i++) le64(tmp + 8 * i, nodes[i]);
  tfb_patch(&F, p[1], tfb_vec(&F, tmp, (uint32_t)n_nodes, 16, 8));
  for (int i = 0; i < n_bufs; i++) {
    le64(tmp + 16 * i, bufs[i].off);
    le64(tmp + 16 * i + 8, bufs[i].len);
  }
  tfb_patch(&F, p[2], tfb_vec(&F, tmp, (uint32_t)n_bufs, 16, 8));
  return t;
}

/* Schema {a: int32, s: utf8, d: dictionary<utf8, int8> id 5} table into F. */
static size_t schema_table(void) {
  tf sf[1] = {{QV_FB_SCHEMA_FIELDS, 0, 0}};
  size_t sp;
  size_t st = tfb_table(&F, sf, 1, &sp);
  size_t fv = tfb_vec_offsets(&F, 3);
  tfb_patch(&F, sp, fv);
  tf it[2] = {{QV_FB_INT_BIT_WIDTH, 4, 32}, {QV_FB_INT_IS_SIGNED, 1, 1}};
  tfb_patch(&F, fv + 4, tfb_field(&F, "a", 1, QV_FB_TYPE_INT, it, 2, -1, NULL));
  tfb_patch(&F, fv + 8, tfb_field(&F, "s", 1, QV_FB_TYPE_UTF8, NULL, 0, -1, NULL));
  tfb_patch(&F, fv + 12, tfb_dict_utf8_field(&F, "d", 5));
  return st;
}

static blk frame(const uint8_t *body, size_t body_len) {
  blk b = {(int64_t)SN, 0, (int64_t)body_len};
  tfb_frame(&F, body, body_len, S, &SN);
  b.meta = (int32_t)(SN - (size_t)b.off - body_len);
  return b;
}

/* Dictionary id 5 = ["p", "q"]. */
static void emit_dict(void) {
  uint8_t body[24] = {0};
  int32_t o[3] = {0, 1, 2};
  memcpy(body, o, 12);
  memcpy(body + 16, "pq", 2);
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_DICTIONARY_BATCH, 24);
  tf fs[2] = {{QV_FB_DICTBATCH_ID, 8, 5}, {QV_FB_DICTBATCH_DATA, 0, 0}};
  size_t p[2];
  tfb_patch(&F, h, tfb_table(&F, fs, 2, p));
  int64_t nodes[2] = {2, 0};
  bufspec bufs[3] = {{0, 0}, {0, 12}, {16, 2}};
  tfb_patch(&F, p[1], rb_table(2, nodes, 1, bufs, 3));
  dict_blocks[n_dict_blocks++] = frame(body, sizeof body);
}

/* A batch of 2 rows: a = [k, k+1], s = ["k", "kk"] (k as a letter), d = [1, 0]. a's data is at
 * body offset 0, d's at 8, s's buffers at `s_at` (>= 16); `s_room` bytes are reserved for them
 * (a whole page in the paged layout, so nothing else shares it). */
static void emit_batch(int k, size_t s_at, size_t s_room, size_t *body_start) {
  static uint8_t body[3 * 4096 + 64];
  size_t blen = s_at + s_room;
  memset(body, 0, blen);
  int32_t av[2] = {k, k + 1};
  memcpy(body, av, 8);
  body[8] = 1;
  body[9] = 0;
  int32_t so[3] = {0, 1, 3};
  memcpy(body + s_at, so, 12);
  char c = (char)('a' + k);
  char sv[3] = {c, c, c};
  memcpy(body + s_at + 12, sv, 3);
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_RECORD_BATCH, (int64_t)blen);
  int64_t nodes[6] = {2, 0, 2, 0, 2, 0};
  bufspec bufs[7] = {{0, 0}, {0, 8}, {0, 0}, {(int64_t)s_at, 12}, {(int64_t)s_at + 12, 3},
                     {0, 0}, {8, 2}};
  tfb_patch(&F, h, rb_table(2, nodes, 3, bufs, 7));
  blk b = frame(body, blen);
  if (body_start) *body_start = (size_t)(b.off + b.meta);
  batch_blocks[n_batch_blocks++] = b;
}

static void emit_footer(void) {
  tfb_init(&F);
  tf ff[4] = {{QV_FB_FOOTER_VERSION, 2, QV_FB_METADATA_V5},
              {QV_FB_FOOTER_SCHEMA, 0, 0},
              {QV_FB_FOOTER_DICTIONARIES, 0, 0},
              {QV_FB_FOOTER_RECORD_BATCHES, 0, 0}};
  size_t p[4];
  tfb_root(&F, tfb_table(&F, ff, 4, p));
  tfb_patch(&F, p[1], schema_table());
  uint8_t tmp[24 * 8];
  for (int pass = 0; pass < 2; pass++) {
    blk *bs = pass ? batch_blocks : dict_blocks;
    int n = pass ? n_batch_blocks : n_dict_blocks;
    memset(tmp, 0, sizeof tmp);
    for (int i = 0; i < n; i++) {
      le64(tmp + 24 * i, bs[i].off);
      for (int k = 0; k < 4; k++) tmp[24 * i + 8 + k] = (uint8_t)((uint32_t)bs[i].meta >> (8 * k));
      le64(tmp + 24 * i + 16, bs[i].body);
    }
    tfb_patch(&F, p[2 + pass], tfb_vec(&F, tmp, (uint32_t)n, 24, 8));
  }
  memcpy(S + SN, F.b, F.n);
  SN += F.n;
  for (int k = 0; k < 4; k++) S[SN + (size_t)k] = (uint8_t)(F.n >> (8 * k));
  SN += 4;
  memcpy(S + SN, "ARROW1", 6);
  SN += 6;
}

/* The file: magic, schema, dictionary, 2 batches, EOS, footer. With `paged`, column s of batch
 * 0 starts on its own page (file offset multiple of 4096) and batch 0's body spans pages. */
static size_t s_page_off; /* file offset of batch 0's column s buffers (paged) */
static void build_file(int paged) {
  SN = 0;
  n_dict_blocks = n_batch_blocks = 0;
  memcpy(S, "ARROW1\0\0", 8);
  SN = 8;
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_SCHEMA, 0);
  tfb_patch(&F, h, schema_table());
  frame(NULL, 0);
  emit_dict();
  size_t s_at = 16, s_room = 16;
  if (paged) { /* two passes: learn where the body starts, then place s on a page */
    size_t save = SN, bs;
    emit_batch(0, 16, 16, &bs);
    SN = save;
    n_batch_blocks--;
    s_at = ((bs + 16 + 4095) & ~(size_t)4095) - bs;
    s_room = 4096;
    s_page_off = bs + s_at;
  }
  emit_batch(0, s_at, s_room, NULL);
  emit_batch(1, 16, 16, NULL);
  memset(S + SN, 0xFF, 4);
  memset(S + SN + 4, 0, 4);
  SN += 8;
  emit_footer();
}

static void check_batch(const qv_batch *b, int k, const int32_t *cols, int ncol) {
  QV_REQUIRE(b && b->length == 2 && b->n_columns == ncol);
  for (int c = 0; c < ncol; c++) {
    const qv_array *a = b->columns[c];
    int which = cols ? cols[c] : c;
    QV_CHECK_STR_EQ(b->schema->fields[c]->name, which == 0 ? "a" : which == 1 ? "s" : "d");
    if (which == 0) {
      QV_CHECK_INT_EQ(qv_array_get_i64(a, 0), k);
      QV_CHECK_INT_EQ(qv_array_get_i64(a, 1), k + 1);
    } else if (which == 1) {
      const uint8_t *p;
      size_t l;
      qv_array_get_bytes(a, 1, &p, &l);
      QV_CHECK(l == 2 && p[0] == 'a' + k);
    } else {
      const uint8_t *p;
      size_t l;
      qv_array_get_bytes(a->dictionary, qv_array_dict_index(a, 0), &p, &l);
      QV_CHECK(l == 1 && p[0] == 'q');
    }
  }
}

static void test_random_access_and_projection(void) {
  build_file(0);
  qv_buffer buf;
  QV_REQUIRE_OK(qv_buffer_copy(S, SN, NULL, &buf, NULL));
  qv_ipc_file *f = NULL;
  qv_error err;
  qv_error_init(&err);
  QV_REQUIRE_OK_E(qv_ipc_file_open_buffer(&buf, NULL, NULL, &f, &err), &err);
  const uint8_t *base = buf.data;
  qv_buffer_unref(&buf);
  QV_CHECK_INT_EQ(qv_ipc_file_num_batches(f), 2);
  QV_CHECK_INT_EQ(qv_ipc_file_num_dictionaries(f), 1);
  QV_CHECK_INT_EQ(qv_ipc_file_schema(f)->n_fields, 3);
  int64_t rows = 0;
  QV_CHECK_OK(qv_ipc_file_batch_rows(f, 1, &rows, NULL));
  QV_CHECK_INT_EQ(rows, 2);
  qv_batch *b = NULL;
  QV_CHECK_OK_E(qv_ipc_file_read_batch(f, 1, NULL, 0, &b, &err), &err);
  check_batch(b, 1, NULL, 3);
  if (b) { /* zero-copy: the values of column a and the bytes of column s lie in the input */
    const uint8_t *va = b->columns[0]->buffers[1].data, *vs = b->columns[1]->buffers[2].data;
    QV_CHECK(va >= base && va < base + SN);
    QV_CHECK(vs >= base && vs < base + SN);
  }
  qv_batch_unref(b);
  int32_t proj[2] = {2, 0};
  QV_CHECK_OK_E(qv_ipc_file_read_batch(f, 0, proj, 2, &b, &err), &err);
  check_batch(b, 0, proj, 2);
  qv_batch_unref(b);
  /* an empty projection gives the row count and no columns; duplicates are refused */
  QV_CHECK_OK_E(qv_ipc_file_read_batch(f, 0, proj, 0, &b, &err), &err);
  if (b) {
    QV_CHECK_INT_EQ(b->n_columns, 0);
    QV_CHECK_INT_EQ(b->length, 2);
  }
  qv_batch_unref(b);
  int32_t dup[2] = {1, 1};
  QV_CHECK_STATUS(qv_ipc_file_read_batch(f, 0, dup, 2, &b, NULL), QV_E_INVALID);
  int32_t bad = 3;
  QV_CHECK_STATUS(qv_ipc_file_read_batch(f, 0, &bad, 1, &b, NULL), QV_E_RANGE);
  QV_CHECK_STATUS(qv_ipc_file_read_batch(f, 2, NULL, 0, &b, NULL), QV_E_RANGE);
  QV_CHECK_STATUS(qv_ipc_file_read_batch(f, -1, NULL, 0, &b, NULL), QV_E_RANGE);
  QV_CHECK_STATUS(qv_ipc_file_batch_rows(f, 2, &rows, NULL), QV_E_RANGE);
  qv_ipc_file_close(f);
  /* the whole-buffer reader detects the file format */
  qv_table *t = NULL;
  QV_REQUIRE_OK(qv_buffer_copy(S, SN, NULL, &buf, NULL));
  QV_CHECK_OK_E(qv_ipc_read_buffer(&buf, NULL, NULL, &t, &err), &err);
  qv_buffer_unref(&buf);
  QV_REQUIRE(t != NULL);
  QV_CHECK_INT_EQ(t->n_rows, 4);
  qv_table_free(t);
}

static void noop_release(void *ctx, const void *data, size_t len) {
  (void)ctx;
  munmap((void *)(uintptr_t)data, len);
}

/* Column s of batch 0 lies on pages made PROT_NONE: reading other columns, row counts and the
 * schema must not touch them (a touch would crash the test). */
static void test_projection_never_touches(void) {
  build_file(1);
  size_t len = (SN + 4095) & ~(size_t)4095;
  uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  QV_REQUIRE(m != MAP_FAILED);
  memcpy(m, S, SN);
  QV_REQUIRE(s_page_off % 4096 == 0);
  QV_REQUIRE(mprotect(m + s_page_off, 4096, PROT_NONE) == 0);
  qv_buffer buf;
  QV_REQUIRE_OK(qv_buffer_wrap(m, SN, noop_release, NULL, NULL, &buf, NULL));
  qv_ipc_file *f = NULL;
  qv_error err;
  qv_error_init(&err);
  QV_REQUIRE_OK_E(qv_ipc_file_open_buffer(&buf, NULL, NULL, &f, &err), &err);
  qv_buffer_unref(&buf);
  int64_t rows = 0;
  QV_CHECK_OK(qv_ipc_file_batch_rows(f, 0, &rows, NULL));
  QV_CHECK_INT_EQ(rows, 2);
  int32_t proj[2] = {0, 2};
  qv_batch *b = NULL;
  QV_CHECK_OK_E(qv_ipc_file_read_batch(f, 0, proj, 2, &b, &err), &err);
  check_batch(b, 0, proj, 2);
  qv_batch_unref(b);
  qv_ipc_file_close(f);
}

/* The dictionary is loaded only when a projected column needs it: a corrupt dictionary block
 * does not stop reading the other columns. */
static void test_dictionary_on_demand(void) {
  build_file(0);
  /* corrupt the dictionary's offsets buffer (offset 9 > data length 2) */
  S[dict_blocks[0].off + dict_blocks[0].meta + 8] = 9;
  qv_buffer buf;
  QV_REQUIRE_OK(qv_buffer_copy(S, SN, NULL, &buf, NULL));
  qv_ipc_file *f = NULL;
  QV_REQUIRE_OK(qv_ipc_file_open_buffer(&buf, NULL, NULL, &f, NULL));
  qv_buffer_unref(&buf);
  int32_t proj[2] = {1, 0};
  qv_batch *b = NULL;
  qv_error err;
  qv_error_init(&err);
  QV_CHECK_OK_E(qv_ipc_file_read_batch(f, 0, proj, 2, &b, &err), &err);
  check_batch(b, 0, proj, 2);
  qv_batch_unref(b);
  int32_t dcol = 2;
  QV_CHECK_STATUS_E(qv_ipc_file_read_batch(f, 0, &dcol, 1, &b, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "dictionary id 5");
  qv_ipc_file_close(f);
}

static void test_open_path_mmap(void) {
  build_file(0);
  char path[] = "/tmp/qv_reader_file_XXXXXX";
  int fd = mkstemp(path);
  QV_REQUIRE(fd >= 0);
  QV_REQUIRE(write(fd, S, SN) == (ssize_t)SN);
  close(fd);
  qv_ipc_file *f = NULL;
  qv_error err;
  qv_error_init(&err);
  QV_REQUIRE_OK_E(qv_ipc_file_open_path(path, NULL, NULL, &f, &err), &err);
  unlink(path);
  qv_batch *b = NULL;
  QV_CHECK_OK_E(qv_ipc_file_read_batch(f, 1, NULL, 0, &b, &err), &err);
  qv_ipc_file_close(f);
  check_batch(b, 1, NULL, 3); /* the mapping outlives the reader */
  if (b) /* zero-copy: a view of the (foreign) mapping, not a copy quiver allocated */
    QV_CHECK(!qv_buffer_is_owned(&b->columns[0]->buffers[1]));
  qv_batch_unref(b);
  QV_CHECK_STATUS(qv_ipc_file_open_path("/nonexistent/x.arrow", NULL, NULL, &f, NULL), QV_E_IO);
  qv_table *t = NULL;
  QV_CHECK_STATUS(qv_ipc_read_path("/nonexistent/x.arrow", NULL, NULL, &t, NULL), QV_E_IO);
}

static qv_status open_bytes(const uint8_t *p, size_t n, qv_error *err) {
  qv_buffer buf;
  QV_TRY(qv_buffer_copy(p, n, NULL, &buf, err));
  qv_ipc_file *f = NULL;
  qv_status s = qv_ipc_file_open_buffer(&buf, NULL, NULL, &f, err);
  qv_buffer_unref(&buf);
  for (int64_t i = 0; s == QV_OK && i < qv_ipc_file_num_batches(f); i++) {
    qv_batch *b = NULL;
    s = qv_ipc_file_read_batch(f, i, NULL, 0, &b, err);
    qv_batch_unref(b);
  }
  qv_ipc_file_close(f);
  return s;
}

static void test_malformed(void) {
  build_file(0);
  static uint8_t b[sizeof S];
  qv_error err;
  qv_error_init(&err);
  memcpy(b, S, SN);
  b[0] = 'X';
  QV_CHECK_STATUS_E(open_bytes(b, SN, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "ARROW1");
  memcpy(b, S, SN);
  b[SN - 1] = 'X';
  QV_CHECK_STATUS_E(open_bytes(b, SN, &err), QV_E_CORRUPT, &err);
  for (int k = 0; k < 3; k++) {
    memcpy(b, S, SN);
    uint32_t fl = k == 0 ? (uint32_t)SN : k == 1 ? 0x80000000u : 0;
    for (int i = 0; i < 4; i++) b[SN - 10 + (size_t)i] = (uint8_t)(fl >> (8 * i));
    QV_CHECK_STATUS_E(open_bytes(b, SN, &err), QV_E_CORRUPT, &err);
    QV_CHECK_CONTAINS(err.message, "footer length");
  }
  /* a block pointing past the footer: patch batch block 1's offset in the footer copy */
  build_file(0);
  batch_blocks[1].off = (int64_t)SN;
  {
    /* strip the old footer and tail, and write the footer again */
    uint32_t old = qv__load_u32le(S + SN - 10);
    SN = SN - 10 - old;
    emit_footer();
  }
  QV_CHECK_STATUS_E(open_bytes(S, SN, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "record batch block 1");
  QV_CHECK_STATUS_E(open_bytes(S, 10, &err), QV_E_CORRUPT, &err);
}

static void test_truncation_everywhere(void) {
  build_file(0);
  for (size_t len = 0; len < SN; len++) {
    uint8_t *p = malloc(len ? len : 1);
    memcpy(p, S, len);
    qv_error err;
    qv_error_init(&err);
    qv_status s = open_bytes(p, len, &err);
    if (s != QV_E_CORRUPT) QV__FAIL("length %zu: %s: %s", len, qv_status_name(s), err.message);
    free(p);
  }
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void) { return qv_test_rand(&rng); }

static void test_random_corruption(void) {
  build_file(0);
  int ok = 0, bad = 0;
  for (int iter = 0; iter < 6000; iter++) {
    uint8_t *p = malloc(SN);
    memcpy(p, S, SN);
    int flips = 1 + (int)(rnd() % 3);
    for (int k = 0; k < flips; k++) p[rnd() % SN] = (uint8_t)rnd();
    qv_error err;
    qv_error_init(&err);
    qv_status s = open_bytes(p, SN, &err);
    if (s == QV_OK) ok++;
    else {
      bad++;
      if (!err.message[0]) QV__FAIL("%s without a message", qv_status_name(s));
    }
    free(p);
  }
  printf("  random corruption: %d still valid, %d rejected\n", ok, bad);
  QV_CHECK(bad > 0);
}

static qv_status read_with(const qv_allocator *a, void *ctx) {
  (void)ctx;
  qv_buffer buf;
  QV_TRY(qv_buffer_copy(S, SN, a, &buf, NULL));
  qv_table *t = NULL;
  qv_status s = qv_ipc_read_buffer(&buf, NULL, a, &t, NULL);
  qv_buffer_unref(&buf);
  qv_table_free(t);
  return s;
}

static void test_alloc_failures(void) {
  build_file(0);
  QV_CHECK(qv_test_each_alloc_failure(read_with, NULL, "file read") > 10);
}

QV_TEST_MAIN(QV_CASE(test_random_access_and_projection), QV_CASE(test_projection_never_touches),
             QV_CASE(test_dictionary_on_demand), QV_CASE(test_open_path_mmap),
             QV_CASE(test_malformed), QV_CASE(test_truncation_everywhere),
             QV_CASE(test_random_corruption), QV_CASE(test_alloc_failures))
