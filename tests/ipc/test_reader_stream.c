/* test_reader_stream.c — the stream decoder on hand-assembled IPC streams: values, incremental
 * feeding (QV_NEED_MORE with the exact byte count), legacy 4-byte prefixes, misaligned input,
 * big-endian input, LZ4 / ZSTD / raw-marker compressed bodies, dictionaries (replacement,
 * delta), limits, lying lengths, truncation everywhere, random corruption, allocation
 * failures. */
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ipc/fb_build.h"
#include "ipc/ipc_int.h"
#include "qv_test.h"
#include "support/largest_alloc.h"
#include "test_reader_fbb.h"

static uint8_t S[1 << 17]; /* the stream under construction */
static size_t SN;
static tfb F;

/* ---- message builders ------------------------------------------------------------------- */

typedef struct bufspec {
  int64_t off, len;
} bufspec;

static void le64(uint8_t *p, int64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

/* Emits the fields of a RecordBatch table into F, returning the table position. */
static size_t rb_table(int64_t length, const int64_t *nodes, int n_nodes, const bufspec *bufs,
                       int n_bufs, int codec, const int64_t *variadic, int n_variadic) {
  tf fs[5] = {{QV_FB_RECORDBATCH_LENGTH, 8, length},
              {QV_FB_RECORDBATCH_NODES, 0, 0},
              {QV_FB_RECORDBATCH_BUFFERS, 0, 0},
              {QV_FB_RECORDBATCH_COMPRESSION, 0, 0},
              {QV_FB_RECORDBATCH_VARIADIC_BUFFER_COUNTS, 0, 0}};
  size_t p[5];
  int nf = variadic ? 5 : codec >= 0 ? 4 : 3;
  size_t t = tfb_table(&F, fs, nf, p);
  uint8_t tmp[16 * 64];
  for (int i = 0; i < 2 * n_nodes; i++) le64(tmp + 8 * i, nodes[i]);
  tfb_patch(&F, p[1], tfb_vec(&F, tmp, (uint32_t)n_nodes, 16, 8));
  for (int i = 0; i < n_bufs; i++) {
    le64(tmp + 16 * i, bufs[i].off);
    le64(tmp + 16 * i + 8, bufs[i].len);
  }
  tfb_patch(&F, p[2], tfb_vec(&F, tmp, (uint32_t)n_bufs, 16, 8));
  if (nf >= 4) {
    tf cf[1] = {{QV_FB_BODYCOMPRESSION_CODEC, 1, codec < 0 ? 0 : codec}};
    tfb_patch(&F, p[3], tfb_table(&F, cf, 1, NULL));
  }
  if (nf == 5) {
    for (int i = 0; i < n_variadic; i++) le64(tmp + 8 * i, variadic[i]);
    tfb_patch(&F, p[4], tfb_vec(&F, tmp, (uint32_t)n_variadic, 8, 8));
  }
  return t;
}

static void emit_rb(int64_t length, const int64_t *nodes, int n_nodes, const bufspec *bufs,
                    int n_bufs, int codec, const uint8_t *body, size_t body_len) {
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_RECORD_BATCH, (int64_t)body_len);
  tfb_patch(&F, h, rb_table(length, nodes, n_nodes, bufs, n_bufs, codec, NULL, 0));
  tfb_frame(&F, body, body_len, S, &SN);
}

static void emit_dict(int64_t id, int delta, int64_t length, const int64_t *nodes, int n_nodes,
                      const bufspec *bufs, int n_bufs, const uint8_t *body, size_t body_len) {
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_DICTIONARY_BATCH, (int64_t)body_len);
  tf fs[3] = {{QV_FB_DICTBATCH_ID, 8, id}, {QV_FB_DICTBATCH_DATA, 0, 0},
              {QV_FB_DICTBATCH_IS_DELTA, 1, delta}};
  size_t p[3];
  tfb_patch(&F, h, tfb_table(&F, fs, 3, p));
  tfb_patch(&F, p[1], rb_table(length, nodes, n_nodes, bufs, n_bufs, -1, NULL, 0));
  tfb_frame(&F, body, body_len, S, &SN);
}

static void emit_eos(void) {
  memset(S + SN, 0xFF, 4);
  memset(S + SN + 4, 0, 4);
  SN += 8;
}

/* Schema {a: int32, s: utf8} (endianness given). */
static void emit_schema_a_s(int big_endian) {
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_SCHEMA, 0);
  tf sf[2] = {{QV_FB_SCHEMA_ENDIANNESS, 2, big_endian}, {QV_FB_SCHEMA_FIELDS, 0, 0}};
  size_t sp[2];
  tfb_patch(&F, h, tfb_table(&F, sf, 2, sp));
  size_t fv = tfb_vec_offsets(&F, 2);
  tfb_patch(&F, sp[1], fv);
  tf it[2] = {{QV_FB_INT_BIT_WIDTH, 4, 32}, {QV_FB_INT_IS_SIGNED, 1, 1}};
  tfb_patch(&F, fv + 4, tfb_field(&F, "a", 1, QV_FB_TYPE_INT, it, 2, -1, NULL));
  tfb_patch(&F, fv + 8, tfb_field(&F, "s", 1, QV_FB_TYPE_UTF8, NULL, 0, -1, NULL));
  tfb_frame(&F, NULL, 0, S, &SN);
}

/* Batch of a = [1, null, 3], s = ["x", "", "yz"] (endianness given). */
static void emit_batch_a_s(int big_endian, int64_t a0) {
  uint8_t body[48];
  memset(body, 0, sizeof body);
  body[0] = 5; /* validity 101 */
  int32_t av[3] = {(int32_t)a0, 0, 3};
  int32_t so[4] = {0, 1, 1, 3};
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 4; k++)
      body[8 + 4 * i + k] = (uint8_t)((uint32_t)av[i] >> (8 * (big_endian ? 3 - k : k)));
  for (int i = 0; i < 4; i++)
    for (int k = 0; k < 4; k++)
      body[24 + 4 * i + k] = (uint8_t)((uint32_t)so[i] >> (8 * (big_endian ? 3 - k : k)));
  memcpy(body + 40, "xyz", 3);
  int64_t nodes[4] = {3, 1, 3, 0};
  bufspec bufs[5] = {{0, 1}, {8, 12}, {24, 0}, {24, 16}, {40, 3}};
  emit_rb(3, nodes, 2, bufs, 5, -1, body, sizeof body);
}

static void build_basic(int big_endian) {
  SN = 0;
  emit_schema_a_s(big_endian);
  emit_batch_a_s(big_endian, 1);
  emit_batch_a_s(big_endian, -7);
  emit_eos();
}

static void check_batch_a_s(const qv_batch *b, int64_t a0) {
  QV_REQUIRE(b != NULL);
  QV_CHECK_INT_EQ(b->length, 3);
  QV_REQUIRE(b->n_columns == 2);
  const qv_array *a = b->columns[0], *s = b->columns[1];
  QV_CHECK_INT_EQ(qv_array_get_i64(a, 0), a0);
  QV_CHECK(qv_array_is_null(a, 1));
  QV_CHECK_INT_EQ(qv_array_get_i64(a, 2), 3);
  QV_CHECK_INT_EQ(qv_array_null_count(a), 1);
  const uint8_t *p;
  size_t l;
  qv_array_get_bytes(s, 0, &p, &l);
  QV_CHECK(l == 1 && p[0] == 'x');
  qv_array_get_bytes(s, 1, &p, &l);
  QV_CHECK_INT_EQ(l, 0);
  qv_array_get_bytes(s, 2, &p, &l);
  QV_CHECK(l == 2 && memcmp(p, "yz", 2) == 0);
}

static qv_status read_all(const uint8_t *data, size_t len, const qv_ipc_read_options *o,
                          const qv_allocator *a, qv_table **t, qv_error *err) {
  qv_buffer b;
  QV_TRY(qv_buffer_copy(data, len, a, &b, err));
  qv_status s = qv_ipc_read_buffer(&b, o, a, t, err);
  qv_buffer_unref(&b);
  return s;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* The same stream little-endian, then big-endian (values byte-swapped on read). */
static void test_basic_values(void) {
  for (int big_endian = 0; big_endian < 2; big_endian++) {
    build_basic(big_endian);
    qv_table *t = NULL;
    qv_error err;
    qv_error_init(&err);
    QV_REQUIRE_OK_E(read_all(S, SN, NULL, NULL, &t, &err), &err);
    QV_CHECK_INT_EQ(t->n_batches, 2);
    QV_CHECK_INT_EQ(t->n_rows, 6);
    char buf[200];
    qv_schema_to_string(t->schema, buf, sizeof buf);
    QV_CHECK_STR_EQ(buf, "a: int32, s: utf8");
    if (t->n_batches == 2) {
      check_batch_a_s(t->batches[0], 1);
      check_batch_a_s(t->batches[1], -7);
    }
    qv_table_free(t);
  }
}

/* Feeding exactly what the decoder asks for gets there in a few steps, byte-exactly. */
static void test_incremental_exact(void) {
  build_basic(0);
  qv_ipc_decoder *d = NULL;
  qv_error err;
  qv_error_init(&err);
  QV_REQUIRE_OK_E(qv_ipc_decoder_new(NULL, NULL, &d, &err), &err);
  size_t fed = 0;
  int batches = 0, steps = 0;
  for (;;) {
    qv_batch *b = NULL;
    qv_status s = qv_ipc_decoder_next(d, &b, &err);
    if (s == QV_OK) {
      check_batch_a_s(b, batches == 0 ? 1 : -7);
      batches++;
      qv_batch_unref(b);
      continue;
    }
    if (s == QV_EOF) break;
    QV_REQUIRE(s == QV_NEED_MORE);
    size_t need = qv_ipc_decoder_bytes_needed(d);
    QV_REQUIRE(need > 0 && fed + need <= SN);
    QV_REQUIRE_OK_E(qv_ipc_decoder_feed_copy(d, S + fed, need, &err), &err);
    fed += need;
    if (++steps > 50) break;
  }
  QV_CHECK_INT_EQ(batches, 2);
  QV_CHECK_UINT_EQ(fed, SN);
  QV_CHECK_UINT_EQ(qv_ipc_decoder_bytes_consumed(d), SN);
  QV_CHECK(steps <= 16); /* prefix word, length, metadata, body: <= 4 per message */
  QV_CHECK(qv_ipc_decoder_schema(d) != NULL);
  /* after EOS: more input is refused */
  QV_CHECK_STATUS(qv_ipc_decoder_feed_copy(d, "x", 1, NULL), QV_E_STATE);
  qv_ipc_decoder_free(d);
}

/* One byte at a time (each byte its own zero-copy chunk): same result. */
static void test_incremental_bytewise(void) {
  build_basic(0);
  qv_ipc_decoder *d = NULL;
  QV_REQUIRE_OK(qv_ipc_decoder_new(NULL, NULL, &d, NULL));
  qv_buffer whole;
  QV_REQUIRE_OK(qv_buffer_copy(S, SN, NULL, &whole, NULL));
  int batches = 0;
  qv_status s = QV_OK;
  for (size_t i = 0; i < SN; i++) {
    qv_buffer one;
    QV_REQUIRE_OK(qv_buffer_slice(&whole, i, 1, &one, NULL));
    QV_REQUIRE_OK(qv_ipc_decoder_feed(d, &one, NULL));
    qv_buffer_unref(&one);
    for (;;) {
      qv_batch *b = NULL;
      qv_error err;
      qv_error_init(&err);
      s = qv_ipc_decoder_next(d, &b, &err);
      if (s != QV_OK) {
        if (s < 0) QV__FAIL("byte %zu: %s", i, err.message);
        break;
      }
      check_batch_a_s(b, batches == 0 ? 1 : -7);
      batches++;
      qv_batch_unref(b);
    }
  }
  QV_CHECK_STATUS(s, QV_EOF);
  QV_CHECK_INT_EQ(batches, 2);
  qv_buffer_unref(&whole);
  qv_ipc_decoder_free(d);
}

/* The pre-0.15 framing: a 4-byte length without the 0xFFFFFFFF marker. */
static void test_legacy_prefix(void) {
  build_basic(0);
  static uint8_t L[sizeof S];
  size_t ln = 0, i = 0;
  while (i < SN) {
    uint32_t len = qv__load_u32le(S + i + 4);
    if (len == 0) {
      memset(L + ln, 0, 4);
      ln += 4;
      i += 8;
      continue;
    }
    tfb tmp;
    (void)tmp;
    memcpy(L + ln, S + i + 4, 4 + len);
    ln += 4 + len;
    i += 8 + len;
    /* the body follows: copy up to the next message (found by parsing body length) */
    qv__ipc_msg m;
    qv_ipc_read_options o = qv_ipc_read_options_default();
    QV_REQUIRE_OK(qv__ipc_msg_parse(S + i - len, len, 0, &o, &m, NULL));
    memcpy(L + ln, S + i, (size_t)m.body_length);
    ln += (size_t)m.body_length;
    i += (size_t)m.body_length;
  }
  qv_table *t = NULL;
  qv_error err;
  qv_error_init(&err);
  QV_REQUIRE_OK_E(read_all(L, ln, NULL, NULL, &t, &err), &err);
  QV_CHECK_INT_EQ(t->n_batches, 2);
  check_batch_a_s(t->batches[1], -7);
  qv_table_free(t);
}

/* Input at an odd address: buffers are copied where the type needs alignment. */
static void test_misaligned_input(void) {
  build_basic(0);
  qv_buffer big, view;
  QV_REQUIRE_OK(qv_buffer_new(SN + 1, NULL, &big, NULL));
  memcpy((uint8_t *)big.data + 1, S, SN);
  QV_REQUIRE_OK(qv_buffer_slice(&big, 1, SN, &view, NULL));
  qv_table *t = NULL;
  qv_error err;
  qv_error_init(&err);
  QV_REQUIRE_OK_E(qv_ipc_read_buffer(&view, NULL, NULL, &t, &err), &err);
  check_batch_a_s(t->batches[0], 1);
  const qv_array *a = t->batches[0]->columns[0];
  QV_CHECK((uintptr_t)a->buffers[1].data % 4 == 0);
  /* the validity bitmap and string bytes need no alignment: still zero-copy */
  const qv_array *s = t->batches[0]->columns[1];
  QV_CHECK(s->buffers[2].data >= big.data && s->buffers[2].data < big.data + big.len);
  qv_table_free(t);
  qv_buffer_unref(&view);
  qv_buffer_unref(&big);
}

/* Zero-copy: aligned input is referenced, not copied, and outlives the caller's buffer. */
static void test_zero_copy(void) {
  build_basic(0);
  qv_buffer in;
  QV_REQUIRE_OK(qv_buffer_copy(S, SN, NULL, &in, NULL));
  const uint8_t *base = in.data;
  qv_table *t = NULL;
  QV_REQUIRE_OK(qv_ipc_read_buffer(&in, NULL, NULL, &t, NULL));
  qv_buffer_unref(&in); /* the table keeps the bytes alive */
  const qv_array *a = t->batches[0]->columns[0];
  QV_CHECK(a->buffers[1].data >= base && a->buffers[1].data < base + SN);
  check_batch_a_s(t->batches[0], 1);
  qv_table_free(t);
}

/* ---- compression -------------------------------------------------------------------------- */

/* Appends a compressed buffer (prefix + frame) of data to body; returns its spec. */
static bufspec put_compressed(uint8_t *body, size_t *bl, const void *data, size_t n, int codec,
                              int raw) {
  bufspec sp = {(int64_t)*bl, 0};
  if (n == 0) return sp;
  uint8_t *p = body + *bl;
  size_t clen;
  if (raw) {
    le64(p, -1);
    memcpy(p + 8, data, n);
    clen = n;
  } else if (codec == QV_FB_COMPRESSION_LZ4_FRAME) {
    le64(p, (int64_t)n);
    clen = LZ4F_compressFrame(p + 8, 4096, data, n, NULL);
  } else {
    le64(p, (int64_t)n);
    clen = ZSTD_compress(p + 8, 4096, data, n, 1);
  }
  sp.len = (int64_t)(8 + clen);
  *bl += (size_t)((sp.len + 7) & ~7);
  return sp;
}

static void build_compressed(int codec, int raw) {
  SN = 0;
  emit_schema_a_s(0);
  static uint8_t body[1 << 14];
  memset(body, 0, sizeof body);
  size_t bl = 0;
  uint8_t valid = 5;
  int32_t av[3] = {1, 0, 3};
  int32_t so[4] = {0, 1, 1, 3};
  bufspec bufs[5];
  bufs[0] = put_compressed(body, &bl, &valid, 1, codec, raw);
  bufs[1] = put_compressed(body, &bl, av, 12, codec, raw);
  bufs[2] = put_compressed(body, &bl, NULL, 0, codec, raw);
  bufs[3] = put_compressed(body, &bl, so, 16, codec, raw);
  bufs[4] = put_compressed(body, &bl, "xyz", 3, codec, raw);
  int64_t nodes[4] = {3, 1, 3, 0};
  emit_rb(3, nodes, 2, bufs, 5, codec, body, bl);
  emit_eos();
}

static void test_compressed(void) {
  for (int codec = 0; codec < 2; codec++)
    for (int raw = 0; raw < 2; raw++) {
      build_compressed(codec, raw);
      qv_table *t = NULL;
      qv_error err;
      qv_error_init(&err);
      QV_CHECK_OK_E(read_all(S, SN, NULL, NULL, &t, &err), &err);
      if (t) check_batch_a_s(t->batches[0], 1);
      qv_table_free(t);
    }
  /* the decompressed-size limit is checked before allocating */
  build_compressed(QV_FB_COMPRESSION_ZSTD, 0);
  qv_ipc_read_options o = qv_ipc_read_options_default();
  o.limits.max_decompressed_bytes = 20;
  qv_table *t = NULL;
  qv_error err;
  qv_error_init(&err);
  QV_CHECK_STATUS_E(read_all(S, SN, &o, NULL, &t, &err), QV_E_LIMIT, &err);
  QV_CHECK_CONTAINS(err.message, "decompressed");
  QV_CHECK_CONTAINS(err.message, "record batch 0");
}

static void test_compressed_lies(void) {
  /* declared uncompressed length larger / smaller than the frame's contents, and far larger
   * (1 GiB, within the default decompressed-size limit) than the frame can hold: refused before
   * anything of that size is allocated */
  const int64_t huge = (int64_t)1 << 30;
  for (int codec = 0; codec < 2; codec++)
    for (int64_t delta = -1; delta <= 3; delta += 2) {
      build_compressed(codec, 0);
      /* find the int32 data buffer's prefix: body of the second message, buffer 1 */
      size_t i = 0;
      uint32_t ml = qv__load_u32le(S + 4);
      i = 8 + ml; /* the batch message */
      uint32_t ml2 = qv__load_u32le(S + i + 4);
      qv__ipc_msg m;
      qv_ipc_read_options o = qv_ipc_read_options_default();
      QV_REQUIRE_OK(qv__ipc_msg_parse(S + i + 8, ml2, 0, &o, &m, NULL));
      qv__ipc_batch_meta bm;
      QV_REQUIRE_OK(qv__ipc_batch_meta_read(&m.fb, m.header, &o.limits, &bm, NULL));
      int64_t off = qv__fb_load_i64(&m.fb, bm.buffers + 16);
      uint8_t *p = S + i + 8 + ml2 + off;
      le64(p, delta == 3 ? huge : 12 + delta);
      qv_table *t = NULL;
      qv_error err;
      qv_error_init(&err);
      qv_allocator a = largest_alloc_start();
      QV_CHECK_STATUS_E(read_all(S, SN, NULL, &a, &t, &err), QV_E_CORRUPT, &err);
      QV_CHECK_CONTAINS(err.message, "declared");
      QV_CHECK(largest_alloc_seen < (size_t)huge);
      qv_table_free(t);
    }
}

/* A ZSTD buffer (declared length, then a frame of one RLE block of `n` 'x' bytes whose header
 * claims content size `fcs`) into in[25]. */
static void zstd_rle_buffer(uint8_t *in, int64_t declared, uint64_t fcs, uint32_t n) {
  memset(in, 0, 25);
  le64(in, declared);
  static const uint8_t magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
  memcpy(in + 8, magic, 4);
  in[12] = 0xE0; /* 8-byte content size, single segment (no window descriptor) */
  le64(in + 13, (int64_t)fcs);
  uint32_t bh = (n << 3) | (1u << 1) | 1u; /* last block, RLE, n bytes */
  in[21] = (uint8_t)bh;
  in[22] = (uint8_t)(bh >> 8);
  in[23] = (uint8_t)(bh >> 16);
  in[24] = 'x';
}

/* Frames whose headers claim more than their blocks can produce: a ZSTD frame header's content
 * size (1 GiB here, then 2^40) is the producer's word, and a 1 GiB declared length must not be
 * allocated on it. The densest honest frames still decode: one 25-byte RLE frame of 128 KiB,
 * and 1 MiB of zeros as LZ4 and as ZSTD frames. */
static void test_compressed_header_lies(void) {
  const int64_t huge = (int64_t)1 << 30;
  const uint64_t fcs[2] = {(uint64_t)1 << 30, (uint64_t)1 << 40};
  uint8_t in[25];
  qv_buffer b, out;
  qv_error err;
  for (int k = 0; k < 2; k++) {
    zstd_rle_buffer(in, huge, fcs[k], 12);
    QV_REQUIRE_OK(qv_buffer_wrap(in, sizeof in, NULL, NULL, NULL, &b, NULL));
    int64_t budget = (int64_t)4 << 30;
    qv_error_init(&err);
    qv_allocator a = largest_alloc_start();
    QV_CHECK_STATUS_E(qv__ipc_decompress(QV_FB_COMPRESSION_ZSTD, &b, &budget, &a, &out, &err),
                      QV_E_CORRUPT, &err);
    QV_CHECK_CONTAINS(err.message, "declared");
    QV_CHECK(largest_alloc_seen < (size_t)huge);
    QV_CHECK(out.data == NULL);
    qv_buffer_unref(&b);
  }
  /* honest: 128 KiB (the largest block) from 17 frame bytes */
  zstd_rle_buffer(in, 128 << 10, 128 << 10, 128 << 10);
  QV_REQUIRE_OK(qv_buffer_wrap(in, sizeof in, NULL, NULL, NULL, &b, NULL));
  int64_t budget = -1;
  QV_CHECK_OK_E(qv__ipc_decompress(QV_FB_COMPRESSION_ZSTD, &b, &budget, NULL, &out, &err), &err);
  QV_CHECK_UINT_EQ(out.len, 128 << 10);
  if (out.len == 128 << 10) QV_CHECK(out.data[0] == 'x' && out.data[out.len - 1] == 'x');
  qv_buffer_unref(&out);
  qv_buffer_unref(&b);
  /* honest: 1 MiB of zeros compressed by each codec as the writer does */
  static uint8_t zeros[1 << 20];
  for (int comp = 1; comp <= 2; comp++) {
    qv__ipc_compressor c;
    qv__ipc_compressor_init(&c, comp, 0, NULL);
    qv_buffer enc = {0};
    QV_CHECK_OK_E(qv__ipc_compress(&c, zeros, sizeof zeros, &enc, &err), &err);
    budget = -1;
    int codec = comp == 1 ? QV_FB_COMPRESSION_LZ4_FRAME : QV_FB_COMPRESSION_ZSTD;
    QV_CHECK(enc.len > 8 && enc.len < 8 + sizeof zeros / 64); /* compressed, not stored raw */
    QV_CHECK_OK_E(qv__ipc_decompress(codec, &enc, &budget, NULL, &out, &err), &err);
    QV_CHECK_UINT_EQ(out.len, sizeof zeros);
    if (out.len == sizeof zeros) QV_CHECK(memcmp(out.data, zeros, sizeof zeros) == 0);
    qv_buffer_unref(&out);
    qv_buffer_unref(&enc);
    qv__ipc_compressor_reset(&c);
  }
}

/* ---- dictionaries -------------------------------------------------------------------------- */

/* Schema {d: dictionary<utf8, int8> id 3}. */
static void emit_dict_schema(void) {
  tfb_init(&F);
  size_t h = tfb_message(&F, QV_FB_METADATA_V5, QV_FB_HEADER_SCHEMA, 0);
  tf sf[1] = {{QV_FB_SCHEMA_FIELDS, 0, 0}};
  size_t sp;
  tfb_patch(&F, h, tfb_table(&F, sf, 1, &sp));
  size_t fv = tfb_vec_offsets(&F, 1);
  tfb_patch(&F, sp, fv);
  tfb_patch(&F, fv + 4, tfb_dict_utf8_field(&F, "d", 3));
  tfb_frame(&F, NULL, 0, S, &SN);
}

/* A dictionary batch of single-letter strings. */
static void emit_dict_values(const char *letters, int delta) {
  int n = (int)strlen(letters);
  uint8_t body[64];
  memset(body, 0, sizeof body);
  for (int i = 0; i <= n; i++) {
    int32_t o = i;
    memcpy(body + 4 * i, &o, 4);
  }
  memcpy(body + 32, letters, (size_t)n);
  int64_t nodes[2] = {n, 0};
  bufspec bufs[3] = {{0, 0}, {0, 4 * (n + 1)}, {32, n}};
  emit_dict(3, delta, n, nodes, 1, bufs, 3, body, 40);
}

static void emit_dict_indices(const int8_t *idx, int n) {
  uint8_t body[16];
  memset(body, 0, sizeof body);
  memcpy(body, idx, (size_t)n);
  int64_t nodes[2] = {n, 0};
  bufspec bufs[2] = {{0, 0}, {0, n}};
  emit_rb(n, nodes, 1, bufs, 2, -1, body, 16);
}

static void check_dict_values(const qv_batch *b, const char *want) {
  const qv_array *a = b->columns[0];
  QV_REQUIRE(a->dictionary != NULL);
  QV_REQUIRE(a->length == (int64_t)strlen(want));
  for (int64_t i = 0; i < a->length; i++) {
    const uint8_t *p;
    size_t l;
    qv_array_get_bytes(a->dictionary, qv_array_dict_index(a, i), &p, &l);
    if (l != 1 || p[0] != (uint8_t)want[i]) QV__FAIL("row %lld: want %c", (long long)i, want[i]);
  }
}

static void test_dictionaries(void) {
  SN = 0;
  emit_dict_schema();
  emit_dict_values("ab", 0);
  emit_dict_indices((const int8_t[]){1, 0, 1}, 3);
  emit_dict_values("c", 1); /* delta: a b c */
  emit_dict_indices((const int8_t[]){2, 0}, 2);
  emit_dict_values("z", 0); /* replacement */
  emit_dict_indices((const int8_t[]){0}, 1);
  emit_eos();
  qv_table *t = NULL;
  qv_error err;
  qv_error_init(&err);
  QV_REQUIRE_OK_E(read_all(S, SN, NULL, NULL, &t, &err), &err);
  QV_REQUIRE(t->n_batches == 3);
  check_dict_values(t->batches[0], "bab");
  check_dict_values(t->batches[1], "ca");
  check_dict_values(t->batches[2], "z");
  qv_table_free(t);
  /* an index beyond the dictionary fails full validation */
  SN = 0;
  emit_dict_schema();
  emit_dict_values("ab", 0);
  emit_dict_indices((const int8_t[]){5}, 1);
  emit_eos();
  QV_CHECK_STATUS_E(read_all(S, SN, NULL, NULL, &t, &err), QV_E_CORRUPT, &err);
  /* a batch before its dictionary */
  SN = 0;
  emit_dict_schema();
  emit_dict_indices((const int8_t[]){0}, 1);
  emit_eos();
  QV_CHECK_STATUS_E(read_all(S, SN, NULL, NULL, &t, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "dictionary id 3");
  /* the dictionary size limit */
  SN = 0;
  emit_dict_schema();
  emit_dict_values("ab", 0);
  emit_dict_values("cd", 1);
  emit_eos();
  qv_ipc_read_options o = qv_ipc_read_options_default();
  o.limits.max_dictionary_bytes = 60;
  QV_CHECK_STATUS_E(read_all(S, SN, &o, NULL, &t, &err), QV_E_LIMIT, &err);
  /* many small deltas: the copying work is bounded too */
  SN = 0;
  emit_dict_schema();
  emit_dict_values("ab", 0);
  for (int i = 0; i < 100; i++) emit_dict_values("c", 1);
  emit_eos();
  o.limits.max_dictionary_bytes = 10000;
  QV_CHECK_STATUS_E(read_all(S, SN, &o, NULL, &t, &err), QV_E_LIMIT, &err);
  QV_CHECK_CONTAINS(err.message, "too many dictionary deltas");
  o.limits.max_dictionary_bytes = 0; /* unlimited: 102 entries */
  QV_CHECK_OK_E(read_all(S, SN, &o, NULL, &t, &err), &err);
  qv_table_free(t);
}

/* ---- malformed ---------------------------------------------------------------------------- */

/* One malformed record batch of the a/s schema: what it says about itself, and a substring its
 * error must contain (NULL: any message). */
typedef struct lie_case {
  const char *what;
  int64_t nodes[4];
  int n_nodes;
  bufspec bufs[5];
  int32_t s_offsets[4]; /* the utf8 column's offsets when `set_offsets` */
  bool set_offsets;
  const char *want;
} lie_case;

#define GOOD_BUFS {{0, 0}, {8, 12}, {24, 0}, {24, 16}, {40, 3}}

static const lie_case lies[] = {
    {"buffer beyond the body", {3, 0, 3, 0}, 2, {{0, 0}, {8, 12}, {24, 0}, {24, 16}, {40, 300}},
     {0}, false, "buffer 4"},
    {"negative buffer offset", {3, 0, 3, 0}, 2, {{0, 0}, {-8, 12}, {24, 0}, {24, 16}, {40, 3}},
     {0}, false, NULL},
    {"data too short for the node length", {3, 0, 3, 0}, 2,
     {{0, 0}, {8, 8}, {24, 0}, {24, 16}, {40, 3}}, {0}, false, NULL},
    {"null count without a validity buffer", {3, 1, 3, 0}, 2, GOOD_BUFS, {0}, false, NULL},
    {"null count above the length", {3, 4, 3, 0}, 2, GOOD_BUFS, {0}, false, NULL},
    {"offsets beyond the data", {3, 0, 3, 0}, 2, GOOD_BUFS, {0, 1, 1, 9}, true, "column 's'"},
    {"non-monotonic offsets", {3, 0, 3, 0}, 2, GOOD_BUFS, {0, 3, 1, 3}, true, "column 's'"},
    {"too few field nodes", {3, 0, 3, 0}, 1, GOOD_BUFS, {0}, false, "field nodes"},
    {"batch length != column length", {2, 0, 2, 0}, 2, GOOD_BUFS, {0}, false, NULL},
};

static void emit_lie(const lie_case *c) {
  SN = 0;
  emit_schema_a_s(0);
  uint8_t body[48] = {0};
  if (c->set_offsets) memcpy(body + 24, c->s_offsets, sizeof c->s_offsets);
  emit_rb(3, c->nodes, c->n_nodes, c->bufs, 5, -1, body, sizeof body);
}

static void test_lying_lengths(void) {
  qv_table *t = NULL;
  qv_error err;
  qv_error_init(&err);
  for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
    emit_lie(&lies[i]);
    qv_status st = read_all(S, SN, NULL, NULL, &t, &err);
    if (st != QV_E_CORRUPT)
      QV__FAIL("%s: got %s, want QV_E_CORRUPT: %s", lies[i].what, qv_status_name(st),
               err.message);
    else if (lies[i].want && !strstr(err.message, lies[i].want))
      QV__FAIL("%s: message \"%s\" lacks \"%s\"", lies[i].what, err.message, lies[i].want);
  }
  /* the first case also names the column and the byte offset */
  emit_lie(&lies[0]);
  QV_CHECK_STATUS_E(read_all(S, SN, NULL, NULL, &t, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "column 's'");
  QV_CHECK(err.offset > 0);
  /* non-monotonic offsets are found by FULL validation only (MINIMAL is for trusted input) */
  emit_lie(&lies[6]);
  {
    qv_ipc_read_options mo = qv_ipc_read_options_default();
    mo.validate = QV_VALIDATE_MINIMAL;
    QV_CHECK_OK_E(read_all(S, SN, &mo, NULL, &t, &err), &err);
    qv_table_free(t);
    t = NULL;
  }
  /* a second schema; a record batch before any schema */
  SN = 0;
  emit_schema_a_s(0);
  emit_schema_a_s(0);
  QV_CHECK_STATUS_E(read_all(S, SN, NULL, NULL, &t, &err), QV_E_CORRUPT, &err);
  SN = 0;
  emit_batch_a_s(0, 1);
  QV_CHECK_STATUS_E(read_all(S, SN, NULL, NULL, &t, &err), QV_E_CORRUPT, &err);
  /* empty input */
  QV_CHECK_STATUS_E(read_all(S, 0, NULL, NULL, &t, &err), QV_E_CORRUPT, &err);
}

static void test_limits(void) {
  build_basic(0);
  qv_table *t = NULL;
  qv_error err;
  qv_error_init(&err);
  qv_ipc_read_options o = qv_ipc_read_options_default();
  o.limits.max_rows = 2;
  QV_CHECK_STATUS_E(read_all(S, SN, &o, NULL, &t, &err), QV_E_LIMIT, &err);
  o = qv_ipc_read_options_default();
  o.limits.max_message_bytes = 100;
  QV_CHECK_STATUS_E(read_all(S, SN, &o, NULL, &t, &err), QV_E_LIMIT, &err);
  o = qv_ipc_read_options_default();
  o.limits.max_metadata_bytes = 64;
  QV_CHECK_STATUS_E(read_all(S, SN, &o, NULL, &t, &err), QV_E_LIMIT, &err);
  o = qv_ipc_read_options_default();
  o.limits.max_columns = 1;
  QV_CHECK_STATUS_E(read_all(S, SN, &o, NULL, &t, &err), QV_E_LIMIT, &err);
  /* a huge declared metadata length is refused up front, not waited for */
  uint8_t huge[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 0xFF, 0xFF, 0x7F};
  qv_ipc_decoder *d = NULL;
  QV_REQUIRE_OK(qv_ipc_decoder_new(NULL, NULL, &d, NULL));
  QV_REQUIRE_OK(qv_ipc_decoder_feed_copy(d, huge, 8, NULL));
  qv_batch *b = NULL;
  QV_CHECK_STATUS_E(qv_ipc_decoder_next(d, &b, &err), QV_E_LIMIT, &err);
  QV_CHECK_STATUS(qv_ipc_decoder_next(d, &b, NULL), QV_E_STATE);
  qv_ipc_decoder_free(d);
}

static void test_truncation_everywhere(void) {
  build_basic(0);
  static uint8_t full[sizeof S];
  size_t n = SN;
  memcpy(full, S, n);
  for (size_t len = 0; len < n; len++) {
    uint8_t *p = malloc(len ? len : 1);
    memcpy(p, full, len);
    qv_table *t = NULL;
    qv_error err;
    qv_error_init(&err);
    qv_status s = read_all(p, len, NULL, NULL, &t, &err);
    if (s == QV_OK) {
      /* only cuts at message boundaries may succeed (a stream may lack the EOS marker) */
      QV_CHECK(t->n_batches <= 2);
      qv_table_free(t);
    } else if (s != QV_E_CORRUPT) {
      QV__FAIL("length %zu: %s: %s", len, qv_status_name(s), err.message);
    }
    free(p);
  }
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) { return qv_test_rand(&rng); }

static void test_random_corruption(void) {
  static uint8_t full[sizeof S];
  int ok = 0, bad = 0;
  for (int variant = 0; variant < 3; variant++) {
    if (variant == 0) build_basic(0);
    else if (variant == 1) build_compressed(QV_FB_COMPRESSION_LZ4_FRAME, 0);
    else {
      SN = 0;
      emit_dict_schema();
      emit_dict_values("ab", 0);
      emit_dict_indices((const int8_t[]){1, 0, 1}, 3);
      emit_dict_values("c", 1);
      emit_dict_indices((const int8_t[]){2, 0}, 2);
      emit_eos();
    }
    size_t n = SN;
    memcpy(full, S, n);
    for (int iter = 0; iter < 4000; iter++) {
      uint8_t *p = malloc(n);
      memcpy(p, full, n);
      int flips = 1 + (int)(rnd() % 3);
      for (int k = 0; k < flips; k++) p[rnd() % n] = (uint8_t)rnd();
      qv_table *t = NULL;
      qv_error err;
      qv_error_init(&err);
      qv_status s = read_all(p, n, NULL, NULL, &t, &err);
      if (s == QV_OK) {
        ok++;
        qv_table_free(t);
      } else {
        bad++;
        if (!err.message[0]) QV__FAIL("%s without a message", qv_status_name(s));
      }
      free(p);
    }
  }
  printf("  random corruption: %d still valid, %d rejected\n", ok, bad);
  QV_CHECK(bad > 0);
}

static qv_status read_with(const qv_allocator *a, void *ctx) {
  (void)ctx;
  qv_table *t = NULL;
  QV_TRY(read_all(S, SN, NULL, a, &t, NULL));
  qv_table_free(t);
  return QV_OK;
}

static void test_alloc_failures(void) {
  build_basic(0);
  QV_CHECK(qv_test_each_alloc_failure(read_with, NULL, "stream read") > 10);
  build_compressed(QV_FB_COMPRESSION_ZSTD, 0);
  QV_CHECK(qv_test_each_alloc_failure(read_with, NULL, "zstd stream read") > 10);
  build_compressed(QV_FB_COMPRESSION_LZ4_FRAME, 0);
  QV_CHECK(qv_test_each_alloc_failure(read_with, NULL, "lz4 stream read") > 10);
  SN = 0;
  emit_dict_schema();
  emit_dict_values("ab", 0);
  emit_dict_indices((const int8_t[]){1, 0, 1}, 3);
  emit_dict_values("c", 1);
  emit_dict_indices((const int8_t[]){2, 0}, 2);
  emit_eos();
  QV_CHECK(qv_test_each_alloc_failure(read_with, NULL, "dictionary stream read") > 10);
}

/* A sparse union<i: int32 = code 5> stream in metadata V4 (the union has a validity buffer) and
 * V5 (it has none): both decode to the same values. */
static void emit_union_stream(int version) {
  SN = 0;
  tfb_init(&F);
  size_t h = tfb_message(&F, version, QV_FB_HEADER_SCHEMA, 0);
  tf sf[1] = {{QV_FB_SCHEMA_FIELDS, 0, 0}};
  size_t sp;
  tfb_patch(&F, h, tfb_table(&F, sf, 1, &sp));
  size_t fv = tfb_vec_offsets(&F, 1);
  tfb_patch(&F, sp, fv);
  tf ut[2] = {{QV_FB_UNION_MODE, 2, QV_FB_UNION_SPARSE}, {QV_FB_UNION_TYPE_IDS, 0, 0}};
  tf fs[5] = {{QV_FB_FIELD_NAME, 0, 0}, {QV_FB_FIELD_NULLABLE, 1, 1},
              {QV_FB_FIELD_TYPE_TYPE, 1, QV_FB_TYPE_UNION}, {QV_FB_FIELD_TYPE, 0, 0},
              {QV_FB_FIELD_CHILDREN, 0, 0}};
  size_t p[5];
  tfb_patch(&F, fv + 4, tfb_table(&F, fs, 5, p));
  tfb_patch(&F, p[0], tfb_string(&F, "u"));
  size_t up[2];
  tfb_patch(&F, p[3], tfb_table(&F, ut, 2, up));
  int32_t code = 5;
  tfb_patch(&F, up[1], tfb_vec(&F, &code, 1, 4, 4));
  size_t cv = tfb_vec_offsets(&F, 1);
  tfb_patch(&F, p[4], cv);
  tf it[2] = {{QV_FB_INT_BIT_WIDTH, 4, 32}, {QV_FB_INT_IS_SIGNED, 1, 1}};
  tfb_patch(&F, cv + 4, tfb_field(&F, "i", 1, QV_FB_TYPE_INT, it, 2, -1, NULL));
  tfb_frame(&F, NULL, 0, S, &SN);
  uint8_t body[24] = {5, 5, 5, 0, 0, 0, 0, 0};
  int32_t v[3] = {10, 20, 30};
  memcpy(body + 8, v, 12);
  int64_t nodes[4] = {3, 0, 3, 0};
  bufspec v4[4] = {{0, 0}, {0, 3}, {8, 0}, {8, 12}};
  tfb_init(&F);
  h = tfb_message(&F, version, QV_FB_HEADER_RECORD_BATCH, 24);
  tfb_patch(&F, h, rb_table(3, nodes, 2, version == QV_FB_METADATA_V4 ? v4 : v4 + 1,
                            version == QV_FB_METADATA_V4 ? 4 : 3, -1, NULL, 0));
  tfb_frame(&F, body, sizeof body, S, &SN);
  emit_eos();
}

static void test_union_v4_v5(void) {
  for (int version = QV_FB_METADATA_V4; version <= QV_FB_METADATA_V5; version++) {
    emit_union_stream(version);
    qv_table *t = NULL;
    qv_error err;
    qv_error_init(&err);
    QV_CHECK_OK_E(read_all(S, SN, NULL, NULL, &t, &err), &err);
    if (!t) continue;
    const qv_array *u = t->batches[0]->columns[0];
    QV_CHECK_INT_EQ(u->type->id, QV_TYPE_SPARSE_UNION);
    QV_CHECK_INT_EQ(qv_array_union_type_code(u, 1), 5);
    QV_CHECK_INT_EQ(qv_array_get_i64(u->children[0], 2), 30);
    qv_table_free(t);
  }
}

QV_TEST_MAIN(QV_CASE(test_union_v4_v5), QV_CASE(test_basic_values), QV_CASE(test_incremental_exact),
             QV_CASE(test_incremental_bytewise), QV_CASE(test_legacy_prefix),
             QV_CASE(test_misaligned_input), QV_CASE(test_zero_copy), QV_CASE(test_compressed),
             QV_CASE(test_compressed_lies), QV_CASE(test_compressed_header_lies),
             QV_CASE(test_dictionaries), QV_CASE(test_lying_lengths), QV_CASE(test_limits),
             QV_CASE(test_truncation_everywhere), QV_CASE(test_random_corruption),
             QV_CASE(test_alloc_failures))
