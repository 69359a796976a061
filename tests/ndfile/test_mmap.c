/* test_mmap.c — ndfile reads from memory-mapped layers (posix store): every dtype width and
 * codec read through mappings equals a pread-only (QV_ND_POSIX_NO_MMAP) store reading the
 * same files; corruption of a mapped file is caught; compaction from mappings; the map/unmap
 * contract of the posix, memory and fault stores. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndfile/file_int.h"
#include "support/nd_support.h"

static char g_dir[64];

static const qv_nd_type fixed_types[] = {
    QV_ND_BOOL,   QV_ND_INT8,   QV_ND_INT16,   QV_ND_INT32,   QV_ND_INT64,
    QV_ND_UINT8,  QV_ND_UINT16, QV_ND_UINT32,  QV_ND_UINT64,  QV_ND_FLOAT32,
    QV_ND_FLOAT64, QV_ND_TIMESTAMP_NS};
#define NFIXED (sizeof fixed_types / sizeof fixed_types[0])
static const uint32_t codecs[] = {QV_ND_CODEC_NONE, QV_ND_CODEC_LZ4, QV_ND_CODEC_ZSTD};

static void make_dir(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/qv_mmap_XXXXXX");
  QV_REQUIRE(mkdtemp(g_dir) != NULL);
}

static void remove_dir(void) { nd_rmdir(g_dir); }

/* the mapped (default) store and the pread-only store over the same directory */
static void open_stores(qv_nd_store **map, qv_nd_store **rd) {
  nd_posix_pair(g_dir, map, rd);
  QV_REQUIRE((*map)->map != NULL && (*map)->unmap != NULL);
  QV_REQUIRE((*rd)->map == NULL);
}

/* every layer of f is mapped (want) or none is */
static void check_mapped(const qv_nd_file *f, bool want) {
  QV_CHECK(f->n_layers > 0);
  for (size_t i = 0; i < f->n_layers; i++)
    if ((f->layers[i].map != NULL) != want) QV__FAIL("layer %zu: mapped %d, want %d", i, f->layers[i].map != NULL, want);
}

/* compressible values of type t (small integers, repeated), varied by seed */
static void gen(qv_nd_dtype dt, uint8_t *buf, uint64_t n, uint64_t seed) {
  size_t w = qv_nd_dtype_width(dt);
  uint64_t s = seed | 1;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t v = (i / 4) % 1000 + (nd_rand(&s) % 4 == 0 ? nd_rand(&s) % 50 : 0);
    uint8_t *p = buf + i * w;
    if (dt.type == QV_ND_BOOL) {
      *p = (uint8_t)(v & 1);
    } else if (dt.type == QV_ND_FLOAT32) {
      float x = (float)v / 8.0f;
      memcpy(p, &x, 4);
    } else if (dt.type == QV_ND_FLOAT64) {
      double x = (double)v / 8.0;
      memcpy(p, &x, 8);
    } else {
      memcpy(p, &v, w); /* little-endian: the low bytes */
    }
  }
}


/* Reads start/cnt of `name` through fm (mapped) and fr (pread) and compares both with the
 * reference `full`. */
static void read_cmp(qv_nd_file *fm, qv_nd_file *fr, const char *name, size_t w, uint8_t *full,
                     const uint64_t *shape, const uint64_t *start, const uint64_t *cnt,
                     const char *what) {
  size_t n = (size_t)nd_prod(3, cnt) * w;
  uint8_t *want = malloc(n), *gm = malloc(n), *gr = malloc(n);
  QV_REQUIRE(want && gm && gr);
  nd_box(3, w, full, shape, start, cnt, want, false);
  memset(gm, 0xAB, n);
  memset(gr, 0xCD, n);
  qv_error err;
  qv_status s = qv_nd_read(fm, name, start, cnt, gm, n, &err);
  if (s != QV_OK) QV__FAIL("%s %s mapped: %s", name, what, err.message);
  s = qv_nd_read(fr, name, start, cnt, gr, n, &err);
  if (s != QV_OK) QV__FAIL("%s %s pread: %s", name, what, err.message);
  if (memcmp(gm, want, n) != 0) QV__FAIL("%s %s: mapped read differs from the data written", name, what);
  if (memcmp(gm, gr, n) != 0) QV__FAIL("%s %s: mapped and pread reads differ", name, what);
  free(want);
  free(gm);
  free(gr);
}

/* seg: the writer's segment_bytes (0: default — these chunks are then single frames) */
static void every_dtype_and_codec(size_t seg) {
  make_dir();
  qv_nd_store *sm, *sr;
  open_stores(&sm, &sr);
  static const uint64_t shape[3] = {3, 7, 2100}, chunk[3] = {2, 5, 1024};
  static const uint64_t z[3] = {0, 0, 0}, ustart[3] = {1, 3, 500}, ucnt[3] = {2, 4, 1100};
  uint64_t n = nd_prod(3, shape), un = nd_prod(3, ucnt);
  size_t na = NFIXED * 3;
  uint8_t **full = calloc(na, sizeof *full);
  qv_nd_file *f;
  qv_error err;
  qv_nd_options wo = qv_nd_options_default();
  wo.segment_bytes = seg;
  QV_REQUIRE_OK_E(qv_nd_create(sm, "r.nd", &wo, &f, &err), &err);
  for (int pass = 0; pass < 2; pass++) { /* layer 1: everything; layer 2: an update */
    for (size_t t = 0; t < NFIXED; t++) {
      for (size_t c = 0; c < 3; c++) {
        qv_nd_dtype dt = {fixed_types[t], 0};
        size_t w = qv_nd_dtype_width(dt), a = t * 3 + c;
        char name[32];
        snprintf(name, sizeof name, "a%02zu_%u", t, codecs[c]);
        if (pass == 0) {
          QV_REQUIRE_OK_E(nd_define(f, name, dt, 3, shape, chunk, codecs[c], &err), &err);
          full[a] = malloc(n * w);
          gen(dt, full[a], n, a * 7 + 1);
          QV_CHECK_OK_E(qv_nd_write(f, name, z, shape, full[a], n * w, &err), &err);
        } else {
          uint8_t *u = malloc(un * w);
          gen(dt, u, un, a * 7 + 2);
          nd_box(3, w, full[a], shape, ustart, ucnt, u, true);
          QV_CHECK_OK_E(qv_nd_write(f, name, ustart, ucnt, u, un * w, &err), &err);
          free(u);
        }
      }
    }
    /* a string array too (its value lengths are checked after the checksum) */
    static const uint64_t vs[1] = {50}, vc[1] = {16}, vz[1] = {0};
    if (pass == 0) QV_REQUIRE_OK_E(nd_define(f, "s", (qv_nd_dtype){QV_ND_STRING, 0}, 1, vs, vc, QV_ND_CODEC_ZSTD, &err), &err);
    const void *vals[50];
    size_t lens[50];
    static char text[50][24];
    for (int i = 0; i < 50; i++) {
      snprintf(text[i], sizeof text[i], "value %d of pass %d", i * 3, pass);
      vals[i] = text[i];
      lens[i] = strlen(text[i]);
    }
    QV_CHECK_OK_E(qv_nd_write_var(f, "s", vz, vs, vals, lens, 50, &err), &err);
    QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
  }
  qv_nd_close(f);
  for (int v = 0; v < 3; v++) {
    qv_nd_options o = qv_nd_options_default();
    o.threads = v == 1 ? 2 : 1;
    if (v < 2) o.cache_bytes = 0; /* direct and scattered paths; v == 2: through the cache */
    qv_nd_file *fm, *fr;
    QV_REQUIRE_OK_E(qv_nd_open(sm, "r.nd", &o, &fm, &err), &err);
    QV_REQUIRE_OK_E(qv_nd_open(sr, "r.nd", &o, &fr, &err), &err);
    QV_CHECK_UINT_EQ(fm->n_layers, 3); /* create, then two flushes */
    check_mapped(fm, true);
    check_mapped(fr, false);
    size_t segmented = 0, blocks = 0; /* the writer's choice shows in the chunk entries */
    for (size_t l = 0; l < fm->n_layers; l++)
      for (size_t e = 0; e < fm->layers[l].n_entries; e++)
        for (uint64_t k = 0; k < fm->layers[l].entries[e].n_chunks; k++) {
          const nd_chunk_ent *ce = &fm->layers[l].entries[e].chunks[k];
          blocks++;
          segmented += qv__nd_seg_log2(ce) != 0;
          if (qv__nd_seg_log2(ce) != (seg && ce->raw_len > seg ? 12u : 0u))
            QV__FAIL("chunk entry with raw_len %llu has segment bits %u (segment_bytes %zu)",
                     (unsigned long long)ce->raw_len, qv__nd_seg_log2(ce), seg);
        }
    QV_CHECK(blocks > 100);
    if (seg) QV_CHECK(segmented > blocks / 2);
    for (size_t t = 0; t < NFIXED; t++) {
      for (size_t c = 0; c < 3; c++) {
        size_t w = qv_nd_dtype_width((qv_nd_dtype){fixed_types[t], 0}), a = t * 3 + c;
        char name[32];
        snprintf(name, sizeof name, "a%02zu_%u", t, codecs[c]);
        static const uint64_t ps[3] = {1, 2, 77}, pc[3] = {2, 4, 1500};  /* partial chunks */
        static const uint64_t ds[3] = {0, 5, 1024}, dc[3] = {2, 2, 1024}; /* one whole chunk */
        static const uint64_t ws[3] = {0, 0, 1024}, wc[3] = {2, 5, 1076}; /* whole chunks, spread */
        read_cmp(fm, fr, name, w, full[a], shape, z, shape, "whole array");
        read_cmp(fm, fr, name, w, full[a], shape, ps, pc, "partial region");
        read_cmp(fm, fr, name, w, full[a], shape, ds, dc, "one chunk");
        read_cmp(fm, fr, name, w, full[a], shape, ws, wc, "whole chunks into a wider region");
      }
    }
    static const uint64_t vs[1] = {50}, vz[1] = {0};
    qv_nd_varbuf vm, vr;
    QV_CHECK_OK_E(qv_nd_read_var(fm, "s", vz, vs, &vm, &err), &err);
    QV_CHECK_OK_E(qv_nd_read_var(fr, "s", vz, vs, &vr, &err), &err);
    QV_CHECK_UINT_EQ(vm.n, 50);
    QV_CHECK_UINT_EQ(vm.data_len, vr.data_len);
    if (vm.data_len == vr.data_len) QV_CHECK_MEM_EQ(vm.data, vr.data, vm.data_len);
    QV_CHECK(vm.data_len > 8 && memcmp(vm.data + vm.offsets[3], "value 9 of pass 1", 17) == 0);
    qv_nd_varbuf_reset(&vm);
    qv_nd_varbuf_reset(&vr);
    QV_CHECK_OK_E(qv_nd_verify(fm, &err), &err);
    qv_nd_close(fm);
    qv_nd_close(fr);
  }
  for (size_t a = 0; a < na; a++) free(full[a]);
  free(full);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}

static void test_every_dtype_and_codec(void) { every_dtype_and_codec(0); }

/* the same with chunks stored in segments of 4 KiB (spec §5a): 2 to 20 per chunk */
static void test_every_dtype_and_codec_segmented(void) { every_dtype_and_codec(4096); }

/* blocks larger than the piece size the mapped copy works in */
static void test_large_blocks(void) {
  make_dir();
  qv_nd_store *sm, *sr;
  open_stores(&sm, &sr);
  qv_nd_file *f;
  qv_error err;
  static const uint64_t bs[3] = {2, 300, 300};                     /* one 1.4 MB chunk */
  static const uint64_t rs[3] = {3, 2, 40000}, rc[3] = {2, 1, 40000}; /* 320 KB runs, spread */
  static const uint64_t z[3] = {0, 0, 0};
  qv_nd_dtype f64 = {QV_ND_FLOAT64, 0}, u64 = {QV_ND_UINT64, 0};
  uint64_t bn = nd_prod(3, bs), rn = nd_prod(3, rs);
  uint8_t *b = malloc(bn * 8), *r = malloc(rn * 8);
  gen(f64, b, bn, 11);
  gen(u64, r, rn, 12);
  QV_REQUIRE_OK_E(qv_nd_create(sm, "l.nd", NULL, &f, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "big", f64, 3, bs, bs, QV_ND_CODEC_NONE, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "bigz", f64, 3, bs, bs, QV_ND_CODEC_LZ4, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "runs", u64, 3, rs, rc, QV_ND_CODEC_NONE, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "big", z, bs, b, bn * 8, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "bigz", z, bs, b, bn * 8, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "runs", z, rs, r, rn * 8, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
  qv_nd_close(f);
  for (int v = 0; v < 2; v++) {
    qv_nd_options o = qv_nd_options_default();
    o.cache_bytes = v ? o.cache_bytes : 0;
    o.threads = v ? 2 : 1;
    qv_nd_file *fm, *fr;
    QV_REQUIRE_OK_E(qv_nd_open(sm, "l.nd", &o, &fm, &err), &err);
    QV_REQUIRE_OK_E(qv_nd_open(sr, "l.nd", &o, &fr, &err), &err);
    check_mapped(fm, true);
    read_cmp(fm, fr, "big", 8, b, bs, z, bs, "whole");
    read_cmp(fm, fr, "bigz", 8, b, bs, z, bs, "whole");
    read_cmp(fm, fr, "runs", 8, r, rs, z, rs, "whole");
    static const uint64_t ps[3] = {1, 17, 3}, pc[3] = {1, 250, 290};
    read_cmp(fm, fr, "big", 8, b, bs, ps, pc, "partial");
    qv_nd_close(fm);
    qv_nd_close(fr);
  }
  /* outputs of 32 MiB and more are streamed: from the mapping in bands, whole and partial */
  static const uint64_t ws[3] = {2, 2052, 2100}, wc[3] = {2, 1024, 1024};
  static const uint64_t wps[3] = {0, 1, 3}, wpc[3] = {2, 2050, 2097};
  qv_nd_dtype f32 = {QV_ND_FLOAT32, 0};
  uint64_t wn = nd_prod(3, ws);
  uint8_t *wd = malloc(wn * 4);
  gen(f32, wd, wn, 13);
  QV_REQUIRE_OK_E(qv_nd_open(sm, "l.nd", NULL, &f, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "wide", f32, 3, ws, wc, QV_ND_CODEC_NONE, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "wide", z, ws, wd, wn * 4, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
  qv_nd_close(f);
  for (int v = 0; v < 2; v++) {
    qv_nd_options o = qv_nd_options_default();
    o.cache_bytes = 0;
    o.threads = v ? 2 : 1;
    qv_nd_file *fm, *fr;
    QV_REQUIRE_OK_E(qv_nd_open(sm, "l.nd", &o, &fm, &err), &err);
    QV_REQUIRE_OK_E(qv_nd_open(sr, "l.nd", &o, &fr, &err), &err);
    check_mapped(fm, true);
    read_cmp(fm, fr, "wide", 4, wd, ws, z, ws, "streamed whole");
    read_cmp(fm, fr, "wide", 4, wd, ws, wps, wpc, "streamed partial");
    if (v == 1) { /* a flipped byte late in a streamed block */
      const nd_layer *L = &fm->layers[0];
      const nd_chunk_ent *ce = NULL;
      for (size_t i = 0; i < L->n_entries; i++)
        if (strcmp(L->entries[i].meta.name, "wide") == 0) ce = &L->entries[i].chunks[3]; /* chunk (0,1,0) of a 1x3x3 grid */
      QV_REQUIRE(ce != NULL);
      char path[160];
      snprintf(path, sizeof path, "%s/l.nd/layer-%020llu.qnd", g_dir, (unsigned long long)L->seq);
      int fd = open(path, O_RDWR);
      QV_REQUIRE(fd >= 0);
      uint8_t c;
      uint64_t at = ce->offset + ce->stored_len - 9;
      QV_REQUIRE(pread(fd, &c, 1, (off_t)at) == 1);
      c ^= 1;
      QV_REQUIRE(pwrite(fd, &c, 1, (off_t)at) == 1);
      uint8_t *got = malloc(wn * 4);
      QV_CHECK_STATUS_E(qv_nd_read(fm, "wide", z, ws, got, wn * 4, &err), QV_E_CORRUPT, &err);
      QV_CHECK_CONTAINS(err.message, "block of 'wide' chunk (0,1,0): checksum mismatch");
      QV_CHECK_STATUS_E(qv_nd_read(fr, "wide", z, ws, got, wn * 4, &err), QV_E_CORRUPT, &err);
      QV_CHECK_CONTAINS(err.message, "block of 'wide' chunk (0,1,0): checksum mismatch");
      c ^= 1;
      QV_REQUIRE(pwrite(fd, &c, 1, (off_t)at) == 1);
      close(fd);
      QV_CHECK_OK_E(qv_nd_read(fm, "wide", z, ws, got, wn * 4, &err), &err);
      QV_CHECK_MEM_EQ(got, wd, wn * 4);
      free(got);
    }
    qv_nd_close(fm);
    qv_nd_close(fr);
  }
  free(wd);
  free(b);
  free(r);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}

/* the stored entry of chunk `chunk` of `name` in the newest layer of f */
static const nd_chunk_ent *entry_of(const qv_nd_file *f, const char *name, uint64_t chunk) {
  const nd_layer *L = &f->layers[0];
  for (size_t i = 0; i < L->n_entries; i++) {
    if (strcmp(L->entries[i].meta.name, name) != 0) continue;
    for (uint64_t k = 0; k < L->entries[i].n_chunks; k++)
      if (L->entries[i].chunks[k].chunk == chunk) return &L->entries[i].chunks[k];
  }
  return NULL;
}

static void flip(int fd, uint64_t off) {
  uint8_t b;
  QV_REQUIRE(pread(fd, &b, 1, (off_t)off) == 1);
  b ^= 0x20;
  QV_REQUIRE(pwrite(fd, &b, 1, (off_t)off) == 1);
}

static void test_corruption_through_the_mapping(void) {
  make_dir();
  qv_nd_store *sm, *sr;
  open_stores(&sm, &sr);
  qv_nd_file *f;
  qv_error err;
  static const uint64_t bs[3] = {2, 300, 300}, ps[3] = {4, 8, 1024}, pc[3] = {2, 4, 512};
  static const uint64_t z[3] = {0, 0, 0};
  qv_nd_dtype f64 = {QV_ND_FLOAT64, 0}, f32 = {QV_ND_FLOAT32, 0}, i32 = {QV_ND_INT32, 0};
  uint64_t bn = nd_prod(3, bs), pn = nd_prod(3, ps);
  uint8_t *b = malloc(bn * 8), *p = malloc(pn * 4), *q = malloc(pn * 4);
  gen(f64, b, bn, 21);
  gen(f32, p, pn, 22);
  gen(i32, q, pn, 23);
  QV_REQUIRE_OK_E(qv_nd_create(sm, "c.nd", NULL, &f, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "big", f64, 3, bs, bs, QV_ND_CODEC_NONE, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "lz", i32, 3, ps, pc, QV_ND_CODEC_LZ4, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "plain", f32, 3, ps, pc, QV_ND_CODEC_NONE, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "big", z, bs, b, bn * 8, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "lz", z, ps, q, pn * 4, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "plain", z, ps, p, pn * 4, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
  qv_nd_close(f);
  qv_nd_options o = qv_nd_options_default();
  o.cache_bytes = 0;
  qv_nd_file *fm, *fr;
  QV_REQUIRE_OK_E(qv_nd_open(sm, "c.nd", &o, &fm, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_open(sr, "c.nd", &o, &fr, &err), &err);
  check_mapped(fm, true);
  char path[160]; /* the newest layer holds every block */
  snprintf(path, sizeof path, "%s/c.nd/layer-%020llu.qnd", g_dir, (unsigned long long)fm->layers[0].seq);
  int fd = open(path, O_RDWR);
  QV_REQUIRE(fd >= 0);
  struct {
    const char *name;
    uint64_t chunk;
    const char *coord;
    const uint64_t *start, *cnt;
    size_t bytes;
    const uint8_t *full;
    const uint64_t *shape;
  } cases[] = {
      {"big", 0, "chunk (0,0,0)", z, bs, bn * 8, b, bs},               /* direct, last piece */
      {"plain", 1, "chunk (0,0,1)", z, ps, pn * 4, p, ps},             /* scattered runs */
      {"plain", 1, "chunk (0,0,1)", (const uint64_t[]){0, 0, 512}, pc, 2 * 4 * 512 * 4, p, ps}, /* direct */
      {"plain", 2, "chunk (0,1,0)", (const uint64_t[]){0, 3, 0}, (const uint64_t[]){2, 2, 700}, 2 * 2 * 700 * 4, p, ps}, /* partial */
      {"lz", 3, "chunk (0,1,1)", z, ps, pn * 4, q, ps},                /* compressed in place */
  };
  uint8_t *got = malloc(bn * 8), *want = malloc(bn * 8);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const nd_chunk_ent *ce = entry_of(fm, cases[i].name, cases[i].chunk);
    QV_REQUIRE(ce != NULL);
    uint64_t at = ce->offset + ce->stored_len - 3; /* late in the block: past the first piece */
    char msg[128];
    snprintf(msg, sizeof msg, "block of '%s' %s: checksum mismatch", cases[i].name, cases[i].coord);
    for (int when = 0; when < 2; when++) { /* 0: flipped while open (mapped); 1: before open */
      qv_nd_file *h = fm;
      flip(fd, at);
      if (when) QV_REQUIRE_OK_E(qv_nd_open(sm, "c.nd", &o, &h, &err), &err);
      QV_CHECK_STATUS_E(qv_nd_read(h, cases[i].name, cases[i].start, cases[i].cnt, got, cases[i].bytes, &err), QV_E_CORRUPT, &err);
      QV_CHECK_CONTAINS(err.message, msg);
      QV_CHECK_STATUS_E(qv_nd_read(fr, cases[i].name, cases[i].start, cases[i].cnt, got, cases[i].bytes, &err), QV_E_CORRUPT, &err);
      QV_CHECK_CONTAINS(err.message, msg);
      flip(fd, at); /* restored: the same handle reads the right data again */
      QV_CHECK_OK_E(qv_nd_read(h, cases[i].name, cases[i].start, cases[i].cnt, got, cases[i].bytes, &err), &err);
      nd_box(3, cases[i].bytes / nd_prod(3, cases[i].cnt), (uint8_t *)cases[i].full, cases[i].shape, cases[i].start, cases[i].cnt, want, false);
      QV_CHECK_MEM_EQ(got, want, cases[i].bytes);
      if (when) qv_nd_close(h);
    }
  }
  /* verify sees a flipped byte in a mapped block too */
  const nd_chunk_ent *ce = entry_of(fm, "lz", 0);
  QV_REQUIRE(ce != NULL);
  flip(fd, ce->offset);
  QV_CHECK_STATUS_E(qv_nd_verify(fm, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "'lz' chunk (0,0,0): checksum mismatch");
  flip(fd, ce->offset);
  QV_CHECK_OK_E(qv_nd_verify(fm, &err), &err);
  close(fd);
  free(got);
  free(want);
  qv_nd_close(fm);
  qv_nd_close(fr);
  free(b);
  free(p);
  free(q);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}

static int count_cb(void *ctx, const char *name, uint64_t size) {
  (void)name, (void)size;
  ++*(int *)ctx;
  return 0;
}

static void test_compaction_from_mappings(void) {
  make_dir();
  qv_nd_store *sm, *sr;
  open_stores(&sm, &sr);
  qv_nd_file *f;
  qv_error err;
  static const uint64_t xs[2] = {6, 500}, xc[2] = {2, 128}, ys[2] = {40, 40}, yc[2] = {16, 16};
  static const uint64_t z[2] = {0, 0};
  qv_nd_dtype i16 = {QV_ND_INT16, 0}, f32 = {QV_ND_FLOAT32, 0};
  uint8_t x[6 * 500 * 2], y[40 * 40 * 4];
  QV_REQUIRE_OK_E(qv_nd_create(sm, "k.nd", NULL, &f, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "x", i16, 2, xs, xc, QV_ND_CODEC_ZSTD, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "y", f32, 2, ys, yc, QV_ND_CODEC_NONE, &err), &err);
  for (int layer = 0; layer < 3; layer++) {
    gen(i16, x, 6 * 500, (uint64_t)layer + 31);
    gen(f32, y, 40 * 40, (uint64_t)layer + 41);
    uint64_t s1[2] = {(uint64_t)layer, (uint64_t)layer * 100}, c1[2] = {3, 270};
    uint64_t s2[2] = {(uint64_t)layer * 5, 3}, c2[2] = {20, 30};
    if (layer == 0) {
      QV_CHECK_OK_E(qv_nd_write(f, "x", z, xs, x, sizeof x, &err), &err);
      QV_CHECK_OK_E(qv_nd_write(f, "y", z, ys, y, sizeof y, &err), &err);
    } else {
      QV_CHECK_OK_E(qv_nd_write(f, "x", s1, c1, x, 3 * 270 * 2, &err), &err);
      if (layer == 2) QV_CHECK_OK_E(qv_nd_write(f, "y", s2, c2, y, 20 * 30 * 4, &err), &err);
    }
    QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
  }
  QV_CHECK(f->n_layers >= 3);
  check_mapped(f, true);
  char *before = nd_snapshot(f, &err);
  QV_REQUIRE(before != NULL);
  QV_CHECK_OK_E(qv_nd_compact(f, &err), &err);
  QV_CHECK_UINT_EQ(f->n_layers, 1);
  check_mapped(f, true);
  char *after = nd_snapshot(f, &err);
  QV_REQUIRE(after != NULL);
  QV_CHECK_STR_EQ(after, before);
  free(after);
  qv_nd_close(f);
  int n = 0;
  QV_CHECK_OK(sm->list(sm, "k.nd/", count_cb, &n, NULL));
  QV_CHECK_INT_EQ(n, 1);
  QV_REQUIRE_OK_E(qv_nd_open(sr, "k.nd", NULL, &f, &err), &err);
  char *reread = nd_snapshot(f, &err);
  QV_REQUIRE(reread != NULL);
  QV_CHECK_STR_EQ(reread, before);
  QV_CHECK_OK_E(qv_nd_verify(f, &err), &err);
  free(reread);
  qv_nd_close(f);
  /* a bad block in a mapped layer stops compaction (and leaves the layers alone) */
  QV_REQUIRE_OK_E(qv_nd_open(sm, "k.nd", NULL, &f, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "y", z, yc, y, 16 * 16 * 4, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
  const nd_chunk_ent *ce = NULL;
  for (size_t i = 0; i < f->layers[1].n_entries; i++)
    if (strcmp(f->layers[1].entries[i].meta.name, "x") == 0) ce = &f->layers[1].entries[i].chunks[2];
  QV_REQUIRE(ce != NULL);
  char path[160];
  snprintf(path, sizeof path, "%s/k.nd/layer-%020llu.qnd", g_dir, (unsigned long long)f->layers[1].seq);
  int fd = open(path, O_RDWR);
  QV_REQUIRE(fd >= 0);
  flip(fd, ce->offset + 1);
  QV_CHECK_STATUS_E(qv_nd_compact(f, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "block of 'x' chunk (0,2): checksum mismatch");
  flip(fd, ce->offset + 1);
  close(fd);
  QV_CHECK_UINT_EQ(f->n_layers, 2);
  QV_CHECK_OK_E(qv_nd_compact(f, &err), &err);
  QV_CHECK_UINT_EQ(f->n_layers, 1);
  qv_nd_close(f);
  free(before);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}


/* map/unmap of one store: contents, wrong size, absent, empty, removal while mapped */
static void map_contract(qv_nd_store *st) {
  uint8_t data[5000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + 3);
  QV_REQUIRE_OK(nd_put_obj(st, "o/x", data, sizeof data));
  QV_REQUIRE_OK(nd_put_obj(st, "o/e", data, 0));
  const void *base = NULL;
  void *tok = NULL;
  qv_error err;
  QV_REQUIRE(st->version >= 2 && st->map && st->unmap);
  QV_CHECK_STATUS_E(st->map(st, "o/x", 4999, &base, &tok, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "o/x");
  QV_CHECK_STATUS_E(st->map(st, "o/none", 10, &base, &tok, &err), QV_E_NOTFOUND, &err);
  QV_CHECK_STATUS_E(st->map(st, "o/e", 0, &base, &tok, &err), QV_E_UNSUPPORTED, &err);
  QV_REQUIRE_OK_E(st->map(st, "o/x", sizeof data, &base, &tok, &err), &err);
  QV_REQUIRE(base != NULL);
  QV_CHECK_MEM_EQ(base, data, sizeof data);
  QV_CHECK_OK(st->remove(st, "o/x", NULL)); /* the mapping stays valid */
  const void *base2 = NULL;
  void *tok2 = NULL;
  QV_CHECK_STATUS(st->map(st, "o/x", sizeof data, &base2, &tok2, NULL), QV_E_NOTFOUND);
  QV_CHECK_MEM_EQ(base, data, sizeof data);
  st->unmap(st, tok);
  QV_CHECK_OK(st->remove(st, "o/e", NULL));
}

static void test_store_map_contract(void) {
  make_dir();
  qv_nd_store *sm, *sr;
  open_stores(&sm, &sr);
  map_contract(sm);
  qv_nd_store *mem, *fault;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &mem, NULL));
  map_contract(mem);
  qv_nd_store_close(mem);
  QV_REQUIRE_OK(qv_nd_store_fault_new(NULL, &fault, NULL));
  map_contract(fault);
  qv_nd_store_close(fault);
  qv_nd_store *bad = NULL;
  QV_CHECK_STATUS(qv_nd_store_posix_open(g_dir, 0x100, NULL, &bad, NULL), QV_E_INVALID);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}

QV_TEST_MAIN(QV_CASE(test_every_dtype_and_codec), QV_CASE(test_every_dtype_and_codec_segmented), QV_CASE(test_large_blocks),
             QV_CASE(test_corruption_through_the_mapping), QV_CASE(test_compaction_from_mappings),
             QV_CASE(test_store_map_contract))
