/* test_segments.c — ndfile segmented blocks (docs/spec/ndfile.md §5a): round trips of every
 * dtype and codec through segments on every read path, the segment bits in the footer, the
 * checksum rule (recomputed here from the spec), corruption of each part, table and footer
 * tampering, options, a user codec, concurrent readers, compaction and zero-copy views. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "ndfile/file_int.h"
#include "quiver/array.h"
#include "support/nd_support.h"

#define SEG 4096u
#define SEGL 12u

static char g_dir[64];

static void make_dir(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/qv_seg_XXXXXX");
  QV_REQUIRE(mkdtemp(g_dir) != NULL);
}

static void remove_dir(void) { nd_rmdir(g_dir); }

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static qv_nd_options opts_seg(size_t seg, unsigned threads, size_t cache) {
  qv_nd_options o = qv_nd_options_default();
  o.segment_bytes = seg;
  o.threads = threads;
  o.cache_bytes = cache;
  return o;
}

/* ---- the spec's checksum rule, computed independently of quiver ------------------------ */

/* block_xxh3 of a stored block per §5/§5a; segments of a compressed block are located by its
 * table (lengths are followed as given, clipped at the block end). */
static uint64_t spec_hash(uint32_t codec, unsigned s, uint64_t raw_len, const uint8_t *blk,
                          uint64_t stored_len) {
  if (!s) return (uint64_t)XXH3_64bits(blk, (size_t)stored_len);
  uint64_t S = (uint64_t)1 << s, n = (raw_len + S - 1) / S;
  uint8_t *dig = malloc((size_t)(n + 1) * 8);
  size_t k = 0;
  if (codec == QV_ND_CODEC_NONE) {
    for (uint64_t i = 0; i < n; i++) {
      uint64_t a = i * S, b = a + S < stored_len ? a + S : stored_len;
      nd_put_u64(dig + 8 * k++, (uint64_t)XXH3_64bits(blk + a, (size_t)(b - a)));
    }
  } else {
    nd_put_u64(dig + 8 * k++, (uint64_t)XXH3_64bits(blk, (size_t)(4 * n)));
    uint64_t pos = 4 * n;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t len = get_u32(blk + 4 * i);
      if (len > stored_len - pos) len = stored_len - pos;
      nd_put_u64(dig + 8 * k++, (uint64_t)XXH3_64bits(blk + pos, (size_t)len));
      pos += len;
    }
  }
  uint64_t h = (uint64_t)XXH3_64bits(dig, k * 8);
  free(dig);
  return h;
}

/* ---- layer objects: reading, patching and resealing ---------------------------------- */

/* One layer object of a file, in a posix directory (written back in place) or a memory store. */
typedef struct obj {
  qv_nd_store *st; /* the store to read it through */
  char name[160];  /* object name in the store */
  char fs[256];    /* file path when posix, else "" */
  uint8_t *b;
  uint64_t size;
} obj;

static bool obj_load(obj *o, qv_nd_store *st, const char *file, uint64_t seq, bool posix) {
  o->st = st;
  snprintf(o->name, sizeof o->name, "%s/layer-%020llu.qnd", file, (unsigned long long)seq);
  o->fs[0] = 0;
  if (posix) snprintf(o->fs, sizeof o->fs, "%s/%s", g_dir, o->name);
  o->b = nd_get_obj(st, o->name, &o->size);
  return o->b != NULL;
}

static bool obj_store(obj *o) {
  if (!o->fs[0]) return nd_put_obj(o->st, o->name, o->b, (size_t)o->size) == QV_OK;
  int fd = open(o->fs, O_WRONLY);
  if (fd < 0) return false;
  bool ok = pwrite(fd, o->b, (size_t)o->size, 0) == (ssize_t)o->size;
  close(fd);
  return ok;
}

static void obj_free(obj *o) {
  free(o->b);
  o->b = NULL;
}

/* flips one bit of byte `off` of a file */
static void flip_file(const char *path, uint64_t off) {
  int fd = open(path, O_RDWR);
  QV_REQUIRE(fd >= 0);
  uint8_t b;
  QV_CHECK(pread(fd, &b, 1, (off_t)off) == 1);
  b ^= 0x10;
  QV_CHECK(pwrite(fd, &b, 1, (off_t)off) == 1);
  close(fd);
}

/* The footer position of the object's bytes. */
static uint64_t footer_pos(const obj *o, uint64_t *flen) {
  *flen = nd_get_u64(o->b + o->size - 40);
  return o->size - 40 - *flen;
}


/* Where the footer holds the entry of ce (chunk, offset, stored_len, raw_len match); 0: none. */
static uint64_t entry_at(const obj *o, const nd_chunk_ent *ce) {
  uint8_t pat[32];
  nd_put_u64(pat, ce->chunk);
  nd_put_u64(pat + 8, ce->offset);
  nd_put_u64(pat + 16, ce->stored_len);
  nd_put_u64(pat + 24, ce->raw_len);
  uint64_t flen, fpos = footer_pos(o, &flen), at = 0;
  for (uint64_t i = fpos; i + 72 <= fpos + flen; i++)
    if (memcmp(o->b + i, pat, 32) == 0) at = i;
  return at;
}

/* The entry of chunk `chunk` of `name` in layer index li (0 = newest) of f (a copy), and that
 * layer's seq. */
static bool ent_of(const qv_nd_file *f, size_t li, const char *name, uint64_t chunk,
                   nd_chunk_ent *out, uint64_t *seq) {
  if (li >= f->n_layers) return false;
  const nd_layer *L = &f->layers[li];
  for (size_t i = 0; i < L->n_entries; i++) {
    if (strcmp(L->entries[i].meta.name, name) != 0) continue;
    for (uint64_t k = 0; k < L->entries[i].n_chunks; k++)
      if (L->entries[i].chunks[k].chunk == chunk) {
        *out = L->entries[i].chunks[k];
        if (seq) *seq = L->seq;
        return true;
      }
  }
  return false;
}

static unsigned seg_bits(const nd_chunk_ent *ce) { return (ce->flags >> 8) & 0xffu; }

/* ---- data ------------------------------------------------------------------------------ */

/* compressible values of dtype dt (small integers, repeated), varied by seed */
static void gen(qv_nd_dtype dt, uint8_t *buf, uint64_t n, uint64_t seed) {
  size_t w = qv_nd_dtype_width(dt);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull | 1;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t v = (i / 4) % 1000 + (nd_rand(&s) % 4 == 0 ? nd_rand(&s) % 50 : 0) + seed;
    uint8_t *p = buf + i * w;
    if (dt.type == QV_ND_BOOL) {
      *p = (uint8_t)(v & 1);
    } else if (dt.type == QV_ND_FLOAT32 && !dt.list_size) {
      float x = (float)v / 8.0f;
      memcpy(p, &x, 4);
    } else if (dt.type == QV_ND_FLOAT64) {
      double x = (double)v / 8.0;
      memcpy(p, &x, 8);
    } else if (dt.list_size) { /* list<int16, n> */
      for (uint32_t j = 0; j < dt.list_size; j++) {
        uint16_t x = (uint16_t)(v + j);
        memcpy(p + 2 * j, &x, 2);
      }
    } else {
      memcpy(p, &v, w); /* little-endian: the low bytes */
    }
  }
}

/* string value i under seed: 0..39 characters */
static size_t str_of(uint64_t i, uint64_t seed, char *buf) {
  size_t len = (size_t)((i * 7 + seed * 13) % 40);
  for (size_t k = 0; k < len; k++) buf[k] = (char)('a' + (i + k + seed) % 26);
  return len;
}

/* ---- case 1: round trips ------------------------------------------------------------- */

#define RT_TYPES 14
static const qv_nd_dtype rt_types[RT_TYPES] = {
    {QV_ND_BOOL, 0},    {QV_ND_INT8, 0},    {QV_ND_INT16, 0},   {QV_ND_INT32, 0},
    {QV_ND_INT64, 0},   {QV_ND_UINT8, 0},   {QV_ND_UINT16, 0},  {QV_ND_UINT32, 0},
    {QV_ND_UINT64, 0},  {QV_ND_FLOAT32, 0}, {QV_ND_FLOAT64, 0}, {QV_ND_TIMESTAMP_NS, 0},
    {QV_ND_INT16, 3},   {QV_ND_STRING, 0}};
static const uint32_t codecs3[3] = {QV_ND_CODEC_NONE, QV_ND_CODEC_LZ4, QV_ND_CODEC_ZSTD};
/* chunks of 16 x 512 elements: 8192 x width bytes (2, 4, 8, 12, 16 segments); the edges are
 * clipped to 16 x 276, 8 x 512 (exactly 4096 bytes at width 1: not segmented), 8 x 276 */
static const uint64_t rt_shape[2] = {24, 1300}, rt_chunk[2] = {16, 512};
#define RT_N ((uint64_t)24 * 1300)
#define RT_ARRAYS (RT_TYPES * 3)

typedef struct rt_ref {
  uint8_t *full[RT_ARRAYS];  /* fixed-width arrays: the values written */
  char *sdata[3];            /* string arrays: value i is sdata + soff[i] .. soff[i] + slen[i] */
  size_t *soff[3], *slen[3];
} rt_ref;

static void rt_name(size_t a, char *buf, size_t cap) { snprintf(buf, cap, "a%02zu", a); }

/* reference string values of one string array after pass `pass` (1: the update box
 * [us, us + uc) holds values of seed 2, the rest seed 1) */
static void rt_strings(rt_ref *r, size_t c, int pass, const uint64_t *us, const uint64_t *uc) {
  if (!r->sdata[c]) {
    r->sdata[c] = malloc(RT_N * 40);
    r->soff[c] = malloc(RT_N * sizeof(size_t));
    r->slen[c] = malloc(RT_N * sizeof(size_t));
  }
  for (uint64_t i = 0; i < RT_N; i++) {
    uint64_t y = i / rt_shape[1], x = i % rt_shape[1];
    bool in = pass && y >= us[0] && y < us[0] + uc[0] && x >= us[1] && x < us[1] + uc[1];
    r->soff[c][i] = (size_t)i * 40;
    r->slen[c][i] = str_of(i, in ? 2 : 1, r->sdata[c] + i * 40);
  }
}

static void rt_free(rt_ref *r) {
  for (size_t a = 0; a < RT_ARRAYS; a++) free(r->full[a]);
  for (size_t c = 0; c < 3; c++) {
    free(r->sdata[c]);
    free(r->soff[c]);
    free(r->slen[c]);
  }
}

/* writes the box start/cnt of string array c from the reference */
static qv_status rt_write_var(qv_nd_file *f, const char *nm, rt_ref *r, size_t c,
                              const uint64_t *start, const uint64_t *cnt, qv_error *err) {
  size_t n = (size_t)(cnt[0] * cnt[1]);
  const void **vals = malloc(n * sizeof *vals);
  size_t *lens = malloc(n * sizeof *lens);
  for (uint64_t i = 0; i < cnt[0]; i++)
    for (uint64_t j = 0; j < cnt[1]; j++) {
      size_t e = (size_t)((start[0] + i) * rt_shape[1] + start[1] + j), k = (size_t)(i * cnt[1] + j);
      vals[k] = r->sdata[c] + r->soff[c][e];
      lens[k] = r->slen[c][e];
    }
  qv_status s = qv_nd_write_var(f, nm, start, cnt, vals, lens, n, err);
  free(vals);
  free(lens);
  return s;
}

/* reads the box start/cnt of array a and compares it with the reference */
static void rt_read_check(qv_nd_file *f, rt_ref *r, size_t a, const uint64_t *start,
                          const uint64_t *cnt, const char *what) {
  char nm[16];
  rt_name(a, nm, sizeof nm);
  qv_nd_dtype dt = rt_types[a / 3];
  qv_error err;
  if (dt.type == QV_ND_STRING) {
    size_t c = a % 3;
    qv_nd_varbuf vb;
    qv_status s = qv_nd_read_var(f, nm, start, cnt, &vb, &err);
    if (s != QV_OK) {
      QV__FAIL("%s %s: %s", nm, what, err.message);
      return;
    }
    bool same = vb.n == cnt[0] * cnt[1];
    for (uint64_t i = 0; same && i < cnt[0]; i++)
      for (uint64_t j = 0; same && j < cnt[1]; j++) {
        size_t e = (size_t)((start[0] + i) * rt_shape[1] + start[1] + j), k = (size_t)(i * cnt[1] + j);
        same = vb.offsets[k + 1] - vb.offsets[k] == r->slen[c][e] &&
               memcmp(vb.data + vb.offsets[k], r->sdata[c] + r->soff[c][e], r->slen[c][e]) == 0;
      }
    if (!same) QV__FAIL("%s %s: strings differ from those written", nm, what);
    qv_nd_varbuf_reset(&vb);
    return;
  }
  size_t w = qv_nd_dtype_width(dt), n = (size_t)(cnt[0] * cnt[1]) * w;
  uint8_t *want = malloc(n), *got = malloc(n);
  nd_box(2, w, r->full[a], rt_shape, start, cnt, want, false);
  memset(got, 0xA5, n);
  qv_status s = qv_nd_read(f, nm, start, cnt, got, n, &err);
  if (s != QV_OK) QV__FAIL("%s %s: %s", nm, what, err.message);
  else if (memcmp(got, want, n) != 0) QV__FAIL("%s %s: values differ from those written", nm, what);
  free(want);
  free(got);
}

static const struct {
  uint64_t start[2], cnt[2];
  const char *what;
} rt_regions[] = {
    {{0, 0}, {24, 1300}, "whole array"},
    {{0, 0}, {16, 512}, "one whole chunk"},
    {{16, 1024}, {8, 276}, "one clipped chunk"},
    {{16, 512}, {8, 512}, "a chunk clipped in rows"},
    {{5, 300}, {15, 700}, "partial region"},
    {{0, 512}, {24, 788}, "whole chunks into a wider region"},
};
#define RT_NREG (sizeof rt_regions / sizeof rt_regions[0])

static void rt_read_all(qv_nd_file *f, rt_ref *r, const char *how) {
  char what[160];
  for (size_t a = 0; a < RT_ARRAYS; a++)
    for (size_t g = 0; g < RT_NREG; g++) {
      snprintf(what, sizeof what, "%s (%s)", rt_regions[g].what, how);
      rt_read_check(f, r, a, rt_regions[g].start, rt_regions[g].cnt, what);
    }
}

/* The expected raw length of chunk c of array a from the reference. */
static uint64_t rt_raw_len(rt_ref *r, size_t a, uint64_t c) {
  uint64_t gc = (rt_shape[1] + rt_chunk[1] - 1) / rt_chunk[1];
  uint64_t o0 = c / gc * rt_chunk[0], o1 = c % gc * rt_chunk[1];
  uint64_t e0 = rt_shape[0] - o0 < rt_chunk[0] ? rt_shape[0] - o0 : rt_chunk[0];
  uint64_t e1 = rt_shape[1] - o1 < rt_chunk[1] ? rt_shape[1] - o1 : rt_chunk[1];
  qv_nd_dtype dt = rt_types[a / 3];
  if (dt.type != QV_ND_STRING) return e0 * e1 * qv_nd_dtype_width(dt);
  uint64_t raw = 4 * e0 * e1;
  for (uint64_t i = 0; i < e0; i++)
    for (uint64_t j = 0; j < e1; j++) raw += r->slen[a % 3][(o0 + i) * rt_shape[1] + o1 + j];
  return raw;
}

/* Every chunk entry of layer li of f: raw length as written, segment bits 12 exactly when the
 * chunk is larger than 4096 bytes (0 when !segmented), lengths consistent with the codec, and
 * the checksum equal to the spec's rule computed over the stored bytes. Counts compressed
 * segmented blocks into *nseg_comp and plain segmented ones into *nseg_plain. */
static void rt_check_entries(qv_nd_file *f, qv_nd_store *st, const char *file, size_t li,
                             rt_ref *r, bool segmented, unsigned *nseg_comp, unsigned *nseg_plain,
                             const char *what) {
  const nd_layer *L = &f->layers[li];
  obj o;
  QV_REQUIRE(obj_load(&o, st, file, L->seq, false));
  for (size_t i = 0; i < L->n_entries; i++) {
    const nd_entry *e = &L->entries[i];
    size_t a;
    if (sscanf(e->meta.name, "a%zu", &a) != 1 || a >= RT_ARRAYS) continue;
    for (uint64_t k = 0; k < e->n_chunks; k++) {
      const nd_chunk_ent *ce = &e->chunks[k];
      uint64_t raw = rt_raw_len(r, a, ce->chunk);
      unsigned want = segmented && raw > SEG ? SEGL : 0;
      if (ce->raw_len != raw)
        QV__FAIL("%s: %s chunk %llu raw_len %llu, want %llu", what, e->meta.name,
                 (unsigned long long)ce->chunk, (unsigned long long)ce->raw_len, (unsigned long long)raw);
      if (seg_bits(ce) != want)
        QV__FAIL("%s: %s chunk %llu (raw %llu) has segment bits %u, want %u", what, e->meta.name,
                 (unsigned long long)ce->chunk, (unsigned long long)raw, seg_bits(ce), want);
      if (ce->flags & ~0xff01u) QV__FAIL("%s: %s unknown flag bits %#x", what, e->meta.name, ce->flags);
      if (ce->codec != QV_ND_CODEC_NONE && ce->codec != codecs3[a % 3])
        QV__FAIL("%s: %s chunk codec %u", what, e->meta.name, ce->codec);
      if (ce->codec == QV_ND_CODEC_NONE && ce->stored_len != ce->raw_len)
        QV__FAIL("%s: %s plain block of %llu bytes for %llu raw", what, e->meta.name,
                 (unsigned long long)ce->stored_len, (unsigned long long)ce->raw_len);
      if (ce->codec != QV_ND_CODEC_NONE && ce->stored_len >= ce->raw_len)
        QV__FAIL("%s: %s compressed block not smaller than the chunk", what, e->meta.name);
      if (ce->offset + ce->stored_len > o.size) {
        QV__FAIL("%s: block outside the object", what);
        continue;
      }
      const uint8_t *blk = o.b + ce->offset;
      if (want && ce->codec != QV_ND_CODEC_NONE) {
        uint64_t n = (raw + SEG - 1) / SEG, sum = 4 * n;
        for (uint64_t j = 0; j < n; j++) sum += get_u32(blk + 4 * j);
        if (sum != ce->stored_len) QV__FAIL("%s: %s segment table does not add up", what, e->meta.name);
        ++*nseg_comp;
      } else if (want) {
        ++*nseg_plain;
      }
      uint64_t h = spec_hash(ce->codec, seg_bits(ce), ce->raw_len, blk, ce->stored_len);
      if (h != ce->hash)
        QV__FAIL("%s: %s chunk %llu checksum %016llx, the spec's rule gives %016llx", what, e->meta.name,
                 (unsigned long long)ce->chunk, (unsigned long long)ce->hash, (unsigned long long)h);
    }
  }
  obj_free(&o);
}

/* writes every round-trip array to a new file (two layers: everything, then a partial update
 * that re-encodes chunks read back from segmented blocks); checks the entries */
static void rt_write(qv_nd_store *st, const char *file, rt_ref *r, size_t seg, bool check_pending) {
  qv_nd_options o = opts_seg(seg, 2, 64u << 20);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_create(st, file, &o, &f, &err), &err);
  for (size_t a = 0; a < RT_ARRAYS; a++) {
    char nm[16];
    rt_name(a, nm, sizeof nm);
    QV_REQUIRE_OK_E(nd_define(f, nm, rt_types[a / 3], 2, rt_shape, rt_chunk, codecs3[a % 3], &err), &err);
  }
  static const uint64_t z[2] = {0, 0}, ustart[2] = {10, 400}, ucnt[2] = {12, 300};
  unsigned nc = 0, np = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t a = 0; a < RT_ARRAYS; a++) {
      char nm[16];
      rt_name(a, nm, sizeof nm);
      qv_nd_dtype dt = rt_types[a / 3];
      if (dt.type == QV_ND_STRING) {
        rt_strings(r, a % 3, pass, ustart, ucnt);
        QV_CHECK_OK_E(rt_write_var(f, nm, r, a % 3, pass ? ustart : z, pass ? ucnt : rt_shape, &err), &err);
        continue;
      }
      size_t w = qv_nd_dtype_width(dt);
      if (!pass) {
        free(r->full[a]);
        r->full[a] = malloc(RT_N * w);
        gen(dt, r->full[a], RT_N, a + 1);
        QV_CHECK_OK_E(qv_nd_write(f, nm, z, rt_shape, r->full[a], RT_N * w, &err), &err);
      } else {
        uint64_t un = ucnt[0] * ucnt[1];
        uint8_t *u = malloc(un * w);
        gen(dt, u, un, a + 101);
        nd_box(2, w, r->full[a], rt_shape, ustart, ucnt, u, true);
        QV_CHECK_OK_E(qv_nd_write(f, nm, ustart, ucnt, u, un * w, &err), &err);
        free(u);
      }
    }
    if (check_pending && !pass) rt_read_all(f, r, "pending, streamed");
    QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
    rt_check_entries(f, st, file, 0, r, seg != QV_ND_SEGMENTS_OFF, &nc, &np, pass ? "update" : "written");
  }
  if (seg != QV_ND_SEGMENTS_OFF) {
    QV_CHECK(nc > 50); /* lz4 and zstd blocks are segmented and stay compressed */
    QV_CHECK(np > 50);
  } else {
    QV_CHECK_UINT_EQ(nc + np, 0);
  }
  QV_CHECK_OK_E(qv_nd_verify(f, &err), &err);
  qv_nd_close(f);
}

static void test_roundtrip_every_path(void) {
  make_dir();
  rt_ref r;
  memset(&r, 0, sizeof r);
  qv_nd_store *sm, *sr, *mem;
  nd_posix_pair(g_dir, &sm, &sr);
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &mem, NULL));
  rt_write(sm, "r.nd", &r, SEG, true);
  rt_write(mem, "r.nd", &r, SEG, false); /* the same values (reference regenerated alike) */
  /* reading never depends on the handle's segment option */
  static const size_t read_seg[4] = {SEG, QV_ND_SEGMENTS_OFF, 0, (size_t)1 << 30};
  qv_nd_store *stores[3] = {sm, sr, mem};
  static const char *const sname[3] = {"posix mapped", "posix pread", "memory"};
  static const struct {
    int si;
    unsigned th;
    int cache;
  } cfg[] = {{0, 1, 0}, {0, 2, 0}, {0, 1, 1}, {0, 2, 1}, {1, 1, 0}, {1, 2, 1}, {2, 2, 0}};
  for (int k = 0; k < (int)(sizeof cfg / sizeof cfg[0]); k++) {
    int si = cfg[k].si, cache = cfg[k].cache;
    unsigned th = cfg[k].th;
    qv_nd_options o = opts_seg(read_seg[k % 4], th, cache ? 64u << 20 : 0);
    qv_nd_file *f;
    qv_error err;
    QV_REQUIRE_OK_E(qv_nd_open(stores[si], "r.nd", &o, &f, &err), &err);
    for (size_t i = 0; i < f->n_layers; i++)
      if ((f->layers[i].map != NULL) != (si != 1)) QV__FAIL("%s: layer %zu mapping unexpected", sname[si], i);
    char how[96];
    snprintf(how, sizeof how, "%s, threads %u, cache %s", sname[si], th, cache ? "on" : "off");
    rt_read_all(f, &r, how);
    if (cache && k == 3) rt_read_all(f, &r, "again, from the cache");
    qv_nd_close(f);
  }
  /* a file written without segments: no entry has segment bits; a segmenting handle reads it */
  qv_nd_store *m2;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &m2, NULL));
  rt_write(m2, "off.nd", &r, QV_ND_SEGMENTS_OFF, false);
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_open(m2, "off.nd", &o, &f, NULL));
  rt_read_all(f, &r, "unsegmented file, segmenting handle");
  qv_nd_close(f);
  qv_nd_store_close(m2);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  qv_nd_store_close(mem);
  rt_free(&r);
  remove_dir();
}

/* Outputs of 32 MiB or more that exceed the cache budget are streamed (mapped plain blocks in
 * bands, others through a buffer); chunks of 1 MiB make 256 segments. */
static void test_streamed_reads(void) {
  make_dir();
  qv_nd_store *sm, *sr;
  nd_posix_pair(g_dir, &sm, &sr);
  static const uint64_t shape[2] = {2100, 16400}, chunk[2] = {256, 4096}, z[2] = {0, 0};
  static const uint64_t ps[2] = {1, 3}, pc[2] = {2090, 16390}; /* >= 32 MiB: streamed */
  uint64_t n = shape[0] * shape[1], pn = pc[0] * pc[1];
  uint8_t *full = malloc(n), *got = malloc(n), *want = malloc(pn);
  QV_REQUIRE(full && got && want);
  for (uint64_t i = 0; i < n; i++) full[i] = (uint8_t)(i / 7 + (i >> 13) + (i % 61 == 0 ? i >> 5 : 0));
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_create(sm, "s.nd", &o, &f, &err), &err);
  QV_REQUIRE_OK(nd_define(f, "p", (qv_nd_dtype){QV_ND_UINT8, 0}, 2, shape, chunk, QV_ND_CODEC_NONE, NULL));
  QV_REQUIRE_OK(nd_define(f, "z", (qv_nd_dtype){QV_ND_UINT8, 0}, 2, shape, chunk, QV_ND_CODEC_LZ4, NULL));
  QV_CHECK_OK_E(qv_nd_write(f, "p", z, shape, full, n, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "z", z, shape, full, n, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
  nd_chunk_ent ce;
  QV_REQUIRE(ent_of(f, 0, "p", 0, &ce, NULL));
  QV_CHECK_UINT_EQ(seg_bits(&ce), SEGL);
  QV_REQUIRE(ent_of(f, 0, "z", 0, &ce, NULL));
  QV_CHECK_UINT_EQ(seg_bits(&ce), SEGL);
  QV_CHECK_UINT_EQ(ce.codec, QV_ND_CODEC_LZ4);
  QV_REQUIRE(ent_of(f, 0, "p", 4, &ce, NULL)); /* 256 x 16: 4096 bytes, one frame */
  QV_CHECK_UINT_EQ(seg_bits(&ce), 0);
  qv_nd_close(f);
  nd_box(2, 1, full, shape, ps, pc, want, false);
  qv_nd_store *stores[2] = {sm, sr};
  for (int si = 0; si < 2; si++) {
    o.threads = si ? 0 : 2; /* automatic: chunks of 1 MiB use every thread */
    QV_REQUIRE_OK_E(qv_nd_open(stores[si], "s.nd", &o, &f, &err), &err);
    for (int a = 0; a < 2; a++) {
      const char *nm = a ? "z" : "p";
      memset(got, 0, n);
      QV_CHECK_OK_E(qv_nd_read(f, nm, z, shape, got, n, &err), &err);
      if (memcmp(got, full, n) != 0) QV__FAIL("streamed whole read of %s (store %d) differs", nm, si);
      memset(got, 0, pn);
      QV_CHECK_OK_E(qv_nd_read(f, nm, ps, pc, got, pn, &err), &err);
      if (memcmp(got, want, pn) != 0) QV__FAIL("streamed partial read of %s (store %d) differs", nm, si);
    }
    qv_nd_close(f);
  }
  /* a flipped byte in segment 5 of chunk 0 fails the streamed reads too */
  QV_REQUIRE_OK_E(qv_nd_open(sm, "s.nd", &o, &f, &err), &err);
  nd_chunk_ent cp, cz;
  uint64_t seq;
  QV_REQUIRE(ent_of(f, 0, "p", 0, &cp, &seq));
  QV_REQUIRE(ent_of(f, 0, "z", 0, &cz, NULL));
  qv_nd_close(f);
  char path[256];
  snprintf(path, sizeof path, "%s/s.nd/layer-%020llu.qnd", g_dir, (unsigned long long)seq);
  obj ob;
  QV_REQUIRE(obj_load(&ob, sm, "s.nd", seq, true));
  uint64_t zpos = 4 * 256; /* segment 5 of the lz4 block */
  for (int i = 0; i < 5; i++) zpos += get_u32(ob.b + cz.offset + 4 * (uint64_t)i);
  obj_free(&ob);
  flip_file(path, cp.offset + 5 * SEG + 33);
  flip_file(path, cz.offset + zpos + 3);
  for (int si = 0; si < 2; si++) {
    QV_REQUIRE_OK_E(qv_nd_open(stores[si], "s.nd", &o, &f, &err), &err);
    for (int a = 0; a < 2; a++) {
      const char *nm = a ? "z" : "p";
      qv_status s = qv_nd_read(f, nm, z, shape, got, n, &err);
      if (s != QV_E_CORRUPT) QV__FAIL("streamed whole read of corrupt %s (store %d): %s", nm, si, qv_status_name(s));
    }
    qv_nd_close(f);
  }
  free(full);
  free(got);
  free(want);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}

/* Chunks right at the segment size: 4095 and 4096 bytes are one frame, 4097 bytes are two
 * segments (the second of 1 byte), and so on; values compressible or not. */
static void test_segment_edges(void) {
  static const uint64_t sizes[6] = {4095, 4096, 4097, 8192, 8193, 12289};
  qv_nd_store *st;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_create(st, "e.nd", &o, &f, NULL));
  uint8_t *full[36] = {NULL};
  for (int i = 0; i < 36; i++) {
    uint64_t cs = sizes[i / 6], n = 3 * cs + 1; /* the last chunk: 1 byte */
    full[i] = malloc((size_t)n);
    uint64_t r = (uint64_t)i + 1;
    for (uint64_t k = 0; k < n; k++) full[i][k] = i % 2 ? (uint8_t)nd_rand(&r) : (uint8_t)(k / 100);
    char nm[16];
    snprintf(nm, sizeof nm, "e%02d", i);
    QV_REQUIRE_OK(nd_define(f, nm, (qv_nd_dtype){QV_ND_UINT8, 0}, 1, &n, &cs, codecs3[i / 2 % 3], NULL));
    QV_CHECK_OK_E(qv_nd_write(f, nm, (const uint64_t[]){0}, &n, full[i], (size_t)n, &err), &err);
  }
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  obj ob;
  QV_REQUIRE(obj_load(&ob, st, "e.nd", f->layers[0].seq, false));
  for (int i = 0; i < 36; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "e%02d", i);
    uint64_t cs = sizes[i / 6];
    for (uint64_t c = 0; c < 4; c++) {
      nd_chunk_ent ce;
      if (!ent_of(f, 0, nm, c, &ce, NULL)) {
        QV__FAIL("%s chunk %llu not stored", nm, (unsigned long long)c);
        continue;
      }
      uint64_t raw = c < 3 ? cs : 1;
      QV_CHECK_UINT_EQ(ce.raw_len, raw);
      if (seg_bits(&ce) != (raw > SEG ? SEGL : 0))
        QV__FAIL("%s chunk %llu of %llu bytes: segment bits %u", nm, (unsigned long long)c, (unsigned long long)raw, seg_bits(&ce));
      if (i % 2 == 0 && raw > 1000 && ce.codec != codecs3[i / 2 % 3]) QV__FAIL("%s: compressible chunk stored plain", nm);
      if (spec_hash(ce.codec, seg_bits(&ce), ce.raw_len, ob.b + ce.offset, ce.stored_len) != ce.hash)
        QV__FAIL("%s chunk %llu: checksum does not follow the spec", nm, (unsigned long long)c);
    }
  }
  obj_free(&ob);
  qv_nd_close(f);
  for (int cache = 0; cache < 2; cache++) {
    o = opts_seg(QV_ND_SEGMENTS_OFF, 2, cache ? 1u << 20 : 0);
    QV_REQUIRE_OK(qv_nd_open(st, "e.nd", &o, &f, NULL));
    for (int i = 0; i < 36; i++) {
      char nm[16];
      snprintf(nm, sizeof nm, "e%02d", i);
      uint64_t cs = sizes[i / 6], n = 3 * cs + 1;
      uint64_t rs[4][2] = {{0, n}, {cs, cs}, {4090, 20}, {cs - 1, cs + 2}};
      for (int g = 0; g < 4; g++) {
        uint8_t *got = malloc((size_t)rs[g][1]);
        QV_CHECK_OK_E(qv_nd_read(f, nm, &rs[g][0], &rs[g][1], got, (size_t)rs[g][1], &err), &err);
        if (memcmp(got, full[i] + rs[g][0], (size_t)rs[g][1]) != 0)
          QV__FAIL("%s [%llu, +%llu) differs", nm, (unsigned long long)rs[g][0], (unsigned long long)rs[g][1]);
        free(got);
      }
    }
    qv_nd_close(f);
  }
  for (int i = 0; i < 36; i++) free(full[i]);
  qv_nd_store_close(st);
}

/* ---- case 2: every part is covered by the checksum ---------------------------------- */

static const uint64_t cv_shape[2] = {8, 3200}, cv_chunk[2] = {4, 800}; /* 12800 bytes: 4 segments */
static const struct {
  uint64_t start[2], cnt[2];
} cv_regions[] = {{{0, 0}, {4, 800}}, {{1, 10}, {2, 500}}, {{0, 0}, {8, 1600}}, {{0, 0}, {8, 3200}}};

/* Every read touching chunk 0 of `name`, on every kind of handle, fails with QV_E_CORRUPT whose
 * message names the block and contains bad_msg (bad_msg not NULL), or returns the values
 * written, `full` (bad_msg NULL); so does qv_nd_verify. */
static void cv_expect(qv_nd_store *sm, qv_nd_store *sr, const char *file, const char *name,
                      const uint8_t *full, const char *bad_msg, const char *what) {
  bool bad = bad_msg != NULL;
  qv_nd_store *stores[2] = {sm, sr};
  uint8_t *got = malloc(8 * 3200 * 4), *want = malloc(8 * 3200 * 4);
  for (int si = 0; si < 2; si++)
    for (unsigned th = 1; th <= 2; th++)
      for (int cache = 0; cache < 2; cache++) {
        qv_nd_options o = opts_seg(SEG, th, cache ? 1u << 20 : 0);
        qv_nd_file *f;
        qv_error err;
        QV_REQUIRE_OK_E(qv_nd_open(stores[si], file, &o, &f, &err), &err);
        for (size_t g = 0; g < sizeof cv_regions / sizeof cv_regions[0]; g++) {
          size_t n = (size_t)(cv_regions[g].cnt[0] * cv_regions[g].cnt[1]) * 4;
          qv_status s = qv_nd_read(f, name, cv_regions[g].start, cv_regions[g].cnt, got, n, &err);
          if (bad && s != QV_E_CORRUPT)
            QV__FAIL("%s: %s region %zu (store %d, threads %u, cache %d): got %s, want QV_E_CORRUPT",
                     what, name, g, si, th, cache, qv_status_name(s));
          char where[64]; /* the block's layer, array and chunk */
          snprintf(where, sizeof where, "block of '%s' chunk (0,0): ", name);
          if (bad && s == QV_E_CORRUPT && (!strstr(err.message, where) || strncmp(err.message, "layer ", 6) != 0))
            QV__FAIL("%s: message does not name the layer, array and chunk: %s", what, err.message);
          if (bad && s == QV_E_CORRUPT && !strstr(err.message, bad_msg))
            QV__FAIL("%s: \"%s\" does not contain \"%s\"", what, err.message, bad_msg);
          if (!bad && s != QV_OK) QV__FAIL("%s: %s region %zu: %s", what, name, g, err.message);
          if (!bad && s == QV_OK) {
            nd_box(2, 4, (uint8_t *)full, cv_shape, cv_regions[g].start, cv_regions[g].cnt, want, false);
            if (memcmp(got, want, n) != 0) QV__FAIL("%s: %s region %zu differs", what, name, g);
          }
        }
        if (!cache && th == 1) {
          qv_status s = qv_nd_verify(f, &err);
          if (s != (bad ? QV_E_CORRUPT : QV_OK))
            QV__FAIL("%s: verify (store %d) gave %s: %s", what, si, qv_status_name(s), s ? err.message : "");
        }
        qv_nd_close(f);
      }
  free(got);
  free(want);
}

/* writes arrays "pl" (none), "lz" (lz4), "zs" (zstd) of int32 cv_shape into file of the posix
 * store; returns the values */
static uint8_t *cv_write(qv_nd_store *sm, const char *file) {
  uint64_t n = cv_shape[0] * cv_shape[1];
  uint8_t *full = malloc(n * 4);
  gen((qv_nd_dtype){QV_ND_INT32, 0}, full, n, 77);
  qv_nd_options o = opts_seg(SEG, 1, 0);
  qv_nd_file *f;
  qv_error err;
  static const uint64_t z[2] = {0, 0};
  if (qv_nd_create(sm, file, &o, &f, &err) != QV_OK) {
    QV__FAIL("create: %s", err.message);
    return full;
  }
  static const char *const nm[3] = {"pl", "lz", "zs"};
  for (int a = 0; a < 3; a++) {
    QV_CHECK_OK_E(nd_define(f, nm[a], (qv_nd_dtype){QV_ND_INT32, 0}, 2, cv_shape, cv_chunk, codecs3[a], &err), &err);
    QV_CHECK_OK_E(qv_nd_write(f, nm[a], z, cv_shape, full, n * 4, &err), &err);
  }
  QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
  qv_nd_close(f);
  return full;
}

static void test_checksum_covers_every_part(void) {
  make_dir();
  qv_nd_store *sm, *sr;
  nd_posix_pair(g_dir, &sm, &sr);
  uint8_t *full = cv_write(sm, "c.nd");
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_open(sm, "c.nd", NULL, &f, NULL));
  cv_expect(sm, sr, "c.nd", "pl", full, NULL, "intact");
  static const char *const nm[3] = {"pl", "lz", "zs"};
  for (int a = 0; a < 3; a++) {
    nd_chunk_ent ce;
    uint64_t seq;
    QV_REQUIRE(ent_of(f, 0, nm[a], 0, &ce, &seq));
    QV_CHECK_UINT_EQ(seg_bits(&ce), SEGL);
    QV_CHECK_UINT_EQ(ce.codec, codecs3[a]);
    char path[256];
    snprintf(path, sizeof path, "%s/c.nd/layer-%020llu.qnd", g_dir, (unsigned long long)seq);
    obj o;
    QV_REQUIRE(obj_load(&o, sm, "c.nd", seq, true));
    /* the bytes to flip: one in each segment (and for compressed blocks two in the table) */
    uint64_t at[8], nat = 0, nseg = (ce.raw_len + SEG - 1) / SEG;
    QV_CHECK_UINT_EQ(nseg, 4);
    if (ce.codec == QV_ND_CODEC_NONE) {
      for (uint64_t i = 0; i < nseg; i++) at[nat++] = ce.offset + i * SEG + (i * 37) % 500;
    } else {
      at[nat++] = ce.offset + 1;                /* table: segment 0's length */
      at[nat++] = ce.offset + 4 * (nseg - 1);   /* table: the last segment's length */
      uint64_t pos = 4 * nseg;
      for (uint64_t i = 0; i < nseg; i++) {
        uint64_t len = get_u32(o.b + ce.offset + 4 * i);
        QV_CHECK(len > 2);
        at[nat++] = ce.offset + pos + len / 2;
        pos += len;
      }
      QV_CHECK_UINT_EQ(pos, ce.stored_len);
    }
    obj_free(&o);
    for (uint64_t i = 0; i < nat; i++) {
      char what[96];
      snprintf(what, sizeof what, "'%s' byte %llu of the block flipped", nm[a], (unsigned long long)(at[i] - ce.offset));
      flip_file(path, at[i]);
      cv_expect(sm, sr, "c.nd", nm[a], full, "", what);
      flip_file(path, at[i]);
      cv_expect(sm, sr, "c.nd", nm[a], full, NULL, "restored");
    }
  }
  qv_nd_close(f);
  free(full);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}

/* ---- case 3: table tampering with the block checksum resealed ------------------------- */

/* Rewrites chunk 0 of `name` in the newest layer: table entries i0/i1 changed by d0/d1, the
 * block checksum recomputed by the spec's rule and patched into the entry, footer resealed. */
static void tamper_table(qv_nd_store *sm, const char *file, const char *name, uint64_t i0,
                         int64_t d0, uint64_t i1, int64_t d1) {
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_open(sm, file, NULL, &f, NULL));
  nd_chunk_ent ce;
  uint64_t seq;
  QV_REQUIRE(ent_of(f, 0, name, 0, &ce, &seq));
  qv_nd_close(f);
  obj o;
  QV_REQUIRE(obj_load(&o, sm, file, seq, true));
  uint8_t *blk = o.b + ce.offset;
  QV_CHECK_UINT_EQ(spec_hash(ce.codec, seg_bits(&ce), ce.raw_len, blk, ce.stored_len), ce.hash);
  put_u32(blk + 4 * i0, (uint32_t)((int64_t)get_u32(blk + 4 * i0) + d0));
  if (d1) put_u32(blk + 4 * i1, (uint32_t)((int64_t)get_u32(blk + 4 * i1) + d1));
  uint64_t at = entry_at(&o, &ce);
  QV_REQUIRE(at != 0);
  nd_put_u64(o.b + at + 40, spec_hash(ce.codec, seg_bits(&ce), ce.raw_len, blk, ce.stored_len));
  nd_reseal(o.b, o.size);
  QV_REQUIRE(obj_store(&o));
  obj_free(&o);
}

static void test_table_tampering(void) {
  make_dir();
  qv_nd_store *sm, *sr;
  nd_posix_pair(g_dir, &sm, &sr);
  static const struct {
    uint64_t i0;
    int64_t d0;
    uint64_t i1;
    int64_t d1;
    const char *msg, *what;
  } cases[] = {
      {0, -1, 0, 0, "segment", "sum one short"},
      {3, 1, 0, 0, "segment", "sum one long"},
      {1, 100000, 0, 0, "segment", "a length beyond the block"},
      {0, -3, 1, 3, "segment", "same sum, bytes moved from segment 0 to 1"},
      {2, 5, 3, -5, "segment", "same sum, bytes moved from segment 3 to 2"},
  };
  for (int a = 1; a < 3; a++) {
    const char *nm = a == 1 ? "lz" : "zs";
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      char file[32], what[128];
      snprintf(file, sizeof file, "t%d%zu.nd", a, c);
      free(cv_write(sm, file));
      tamper_table(sm, file, nm, cases[c].i0, cases[c].d0, cases[c].i1, cases[c].d1);
      snprintf(what, sizeof what, "%s: %s", nm, cases[c].what);
      cv_expect(sm, sr, file, nm, NULL, cases[c].msg, what);
    }
  }
  /* the resealing itself is right: a table rewritten unchanged reads fine */
  uint8_t *full = cv_write(sm, "ok.nd");
  tamper_table(sm, "ok.nd", "lz", 0, 0, 0, 0);
  cv_expect(sm, sr, "ok.nd", "lz", full, NULL, "resealed unchanged");
  free(full);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}

/* A segmented plain string chunk whose value lengths no longer add up (block checksum and
 * footer resealed): the value length check still runs after the segments are copied. */
static void test_var_lengths_checked(void) {
  make_dir();
  qv_nd_store *sm, *sr;
  nd_posix_pair(g_dir, &sm, &sr);
  static const uint64_t sh[1] = {2000}, z[1] = {0};
  const void **vals = malloc(2000 * sizeof *vals);
  size_t *lens = malloc(2000 * sizeof *lens);
  char *data = malloc(2000 * 40);
  for (size_t i = 0; i < 2000; i++) {
    lens[i] = str_of(i, 3, data + i * 40);
    vals[i] = data + i * 40;
  }
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_create(sm, "v.nd", &o, &f, &err), &err);
  QV_REQUIRE_OK(nd_define(f, "s", (qv_nd_dtype){QV_ND_STRING, 0}, 1, sh, sh, QV_ND_CODEC_NONE, NULL));
  QV_REQUIRE_OK_E(qv_nd_write_var(f, "s", z, sh, vals, lens, 2000, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
  nd_chunk_ent ce;
  uint64_t seq;
  QV_REQUIRE(ent_of(f, 0, "s", 0, &ce, &seq));
  qv_nd_close(f);
  QV_CHECK_UINT_EQ(seg_bits(&ce), SEGL);
  QV_CHECK(ce.raw_len > 2 * SEG);
  for (int k = 0; k < 3; k++) {
    obj ob;
    QV_REQUIRE(obj_load(&ob, sm, "v.nd", seq, true));
    uint8_t *blk = ob.b + ce.offset;
    uint8_t *orig = malloc((size_t)ob.size);
    memcpy(orig, ob.b, (size_t)ob.size);
    if (k == 0) put_u32(blk, get_u32(blk) + 1);                  /* sum one long */
    if (k == 1) put_u32(blk + 4 * 1999, get_u32(blk + 4 * 1999) - 1); /* sum one short */
    if (k == 2) put_u32(blk + 8, 0xffffffffu);                   /* a huge length */
    uint64_t at = entry_at(&ob, &ce);
    QV_REQUIRE(at != 0);
    nd_put_u64(ob.b + at + 40, spec_hash(ce.codec, seg_bits(&ce), ce.raw_len, blk, ce.stored_len));
    nd_reseal(ob.b, ob.size);
    QV_REQUIRE(obj_store(&ob));
    qv_nd_store *stores[2] = {sm, sr};
    for (int si = 0; si < 2; si++)
      for (int cache = 0; cache < 2; cache++) {
        o = opts_seg(SEG, 2, cache ? 1u << 20 : 0);
        QV_REQUIRE_OK_E(qv_nd_open(stores[si], "v.nd", &o, &f, &err), &err);
        qv_nd_varbuf vb;
        qv_status s = qv_nd_read_var(f, "s", z, sh, &vb, &err);
        QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
        if (s == QV_OK) qv_nd_varbuf_reset(&vb);
        else QV_CHECK_CONTAINS(err.message, "value lengths");
        s = qv_nd_read_var(f, "s", (const uint64_t[]){100}, (const uint64_t[]){10}, &vb, &err);
        QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
        if (s == QV_OK) qv_nd_varbuf_reset(&vb);
        QV_CHECK_STATUS_E(qv_nd_verify(f, &err), QV_E_CORRUPT, &err);
        qv_nd_close(f);
      }
    memcpy(ob.b, orig, (size_t)ob.size);
    QV_REQUIRE(obj_store(&ob));
    free(orig);
    obj_free(&ob);
  }
  QV_REQUIRE_OK_E(qv_nd_open(sr, "v.nd", &o, &f, &err), &err);
  qv_nd_varbuf vb;
  QV_CHECK_OK_E(qv_nd_read_var(f, "s", z, sh, &vb, &err), &err);
  if (vb.n == 2000)
    for (size_t i = 0; i < 2000; i++)
      if (vb.offsets[i + 1] - vb.offsets[i] != lens[i] || memcmp(vb.data + vb.offsets[i], vals[i], lens[i]) != 0) {
        QV__FAIL("string %zu differs", i);
        break;
      }
  qv_nd_varbuf_reset(&vb);
  qv_nd_close(f);
  free(vals);
  free(lens);
  free(data);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}

/* A whole chunk streamed into the unpublished layer (spec §2a) is read back segment-checked:
 * a flipped byte in the temporary object gives QV_E_CORRUPT. */
static void test_pending_readback_checked(void) {
  make_dir();
  qv_nd_store *sm;
  QV_REQUIRE_OK(qv_nd_store_posix_open(g_dir, QV_ND_POSIX_NO_FSYNC, NULL, &sm, NULL));
  static const uint64_t sh[2] = {4, 16384}, ch[2] = {1, 16384}, z[2] = {0, 0}; /* 64 KiB chunks */
  int32_t *v = malloc(4 * 16384 * 4), *r = malloc(4 * 16384 * 4);
  for (size_t i = 0; i < 4 * 16384; i++) v[i] = (int32_t)(i * 2654435761u);
  qv_nd_options o = opts_seg(SEG, 1, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_create(sm, "p.nd", &o, &f, &err), &err);
  QV_REQUIRE_OK(nd_define(f, "pl", (qv_nd_dtype){QV_ND_INT32, 0}, 2, sh, ch, QV_ND_CODEC_NONE, NULL));
  QV_REQUIRE_OK(nd_define(f, "lz", (qv_nd_dtype){QV_ND_INT32, 0}, 2, sh, ch, QV_ND_CODEC_LZ4, NULL));
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  QV_CHECK_OK_E(qv_nd_write(f, "pl", z, sh, v, 4 * 16384 * 4, &err), &err);
  QV_CHECK_OK_E(qv_nd_write(f, "lz", z, sh, v, 4 * 16384 * 4, &err), &err); /* incompressible */
  const char *names[2] = {"pl", "lz"};
  for (int a = 0; a < 2; a++) {
    QV_CHECK_OK_E(qv_nd_read(f, names[a], z, sh, r, 4 * 16384 * 4, &err), &err);
    QV_CHECK_MEM_EQ(r, v, 4 * 16384 * 4);
  }
  /* the pending entries of chunk 2 */
  const nd_pchunk *pcs[2] = {NULL, NULL};
  for (size_t i = 0; i < f->n_pend; i++)
    for (int a = 0; a < 2; a++)
      if (strcmp(f->pend[i]->meta.name, names[a]) == 0)
        for (size_t k = 0; k < f->pend[i]->n; k++)
          if (f->pend[i]->chunks[k].chunk == 2) pcs[a] = &f->pend[i]->chunks[k];
  QV_REQUIRE(pcs[0] && pcs[1]);
  QV_REQUIRE(pcs[0]->spilled && pcs[1]->spilled);
  for (int a = 0; a < 2; a++) QV_CHECK_UINT_EQ(seg_bits(&pcs[a]->ent), SEGL);
  char dir[128], tmp[512] = "";
  snprintf(dir, sizeof dir, "%s/p.nd", g_dir);
  DIR *d = opendir(dir); /* the unpublished layer: the temporary object being written */
  QV_REQUIRE(d != NULL);
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    if (strncmp(de->d_name, ".tmp-", 5) == 0) snprintf(tmp, sizeof tmp, "%s/%s", dir, de->d_name);
  closedir(d);
  QV_REQUIRE(tmp[0] != 0);
  for (int a = 0; a < 2; a++) {
    uint64_t at = pcs[a]->ent.offset + 3 * SEG + 7;
    flip_file(tmp, at);
    qv_status s = qv_nd_read(f, names[a], (const uint64_t[]){2, 0}, ch, r, 16384 * 4, &err);
    QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
    if (s == QV_E_CORRUPT) QV_CHECK_CONTAINS(err.message, "unflushed block");
    s = qv_nd_read(f, names[a], (const uint64_t[]){2, 5}, (const uint64_t[]){1, 100}, r, 400, &err);
    QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
    flip_file(tmp, at);
    QV_CHECK_OK_E(qv_nd_read(f, names[a], (const uint64_t[]){2, 0}, ch, r, 16384 * 4, &err), &err);
    QV_CHECK_MEM_EQ(r, v + 2 * 16384, 16384 * 4);
  }
  QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
  QV_CHECK_OK_E(qv_nd_verify(f, &err), &err);
  qv_nd_close(f);
  QV_REQUIRE_OK_E(qv_nd_open(sm, "p.nd", &o, &f, &err), &err);
  for (int a = 0; a < 2; a++) {
    QV_CHECK_OK_E(qv_nd_read(f, names[a], z, sh, r, 4 * 16384 * 4, &err), &err);
    QV_CHECK_MEM_EQ(r, v, 4 * 16384 * 4);
  }
  qv_nd_close(f);
  free(v);
  free(r);
  qv_nd_store_close(sm);
  remove_dir();
}

/* Every allocation of writing and reading segmented blocks (more than 64 segments: the offset
 * tables leave the stack; the helper crew) fails in turn: no leak, no wrong value. A failure
 * the library survives (no crew: the caller does all segments) counts as the failure. */
typedef struct am_ctx {
  qv_nd_store *st;
  int32_t *v;
  unsigned run;
} am_ctx;

static qv_status am_fn(const qv_allocator *a, void *vc) {
  am_ctx *c = vc;
  static const uint64_t sh[1] = {70000}, z[1] = {0}, ps[1] = {1000}, pc[1] = {30000};
  char nm[32];
  snprintf(nm, sizeof nm, "am%u.nd", c->run++);
  qv_nd_options o = opts_seg(SEG, 2, 0);
  o.alloc = a;
  qv_nd_file *f;
  qv_status s = qv_nd_create(c->st, nm, &o, &f, NULL);
  if (s < 0) return s;
  if (s == QV_OK) s = nd_define(f, "lz", (qv_nd_dtype){QV_ND_INT32, 0}, 1, sh, sh, QV_ND_CODEC_LZ4, NULL);
  if (s == QV_OK) s = nd_define(f, "pl", (qv_nd_dtype){QV_ND_INT32, 0}, 1, sh, sh, QV_ND_CODEC_NONE, NULL);
  if (s == QV_OK) s = qv_nd_write(f, "lz", z, sh, c->v, 70000 * 4, NULL);
  if (s == QV_OK) s = qv_nd_write(f, "pl", z, sh, c->v, 70000 * 4, NULL);
  if (s == QV_OK) s = qv_nd_flush(f, NULL);
  qv_nd_close(f);
  if (s < 0) return s;
  s = qv_nd_open(c->st, nm, &o, &f, NULL);
  if (s < 0) return s;
  nd_chunk_ent ce;
  if (ent_of(f, 0, "lz", 0, &ce, NULL) && (seg_bits(&ce) != SEGL || ce.codec != QV_ND_CODEC_LZ4))
    QV__FAIL("%s: the lz4 chunk is not stored as compressed segments", nm);
  int32_t *r = malloc(70000 * 4);
  for (int k = 0; k < 2 && s == QV_OK; k++) {
    const char *an = k ? "pl" : "lz";
    s = qv_nd_read(f, an, z, sh, r, 70000 * 4, NULL);
    if (s == QV_OK && memcmp(r, c->v, 70000 * 4) != 0) QV__FAIL("%s: %s read back differs", nm, an);
    if (s == QV_OK) s = qv_nd_read(f, an, ps, pc, r, 30000 * 4, NULL);
    if (s == QV_OK && memcmp(r, c->v + 1000, 30000 * 4) != 0) QV__FAIL("%s: %s partial read differs", nm, an);
  }
  if (s == QV_OK) s = qv_nd_verify(f, NULL);
  free(r);
  qv_nd_close(f);
  if (s == QV_OK && ((const qv_test_alloc *)(const void *)a)->failed) s = QV_E_NOMEM;
  return s;
}

static void test_allocation_failures(void) {
  am_ctx c = {NULL, malloc(70000 * 4), 0};
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &c.st, NULL));
  gen((qv_nd_dtype){QV_ND_INT32, 0}, (uint8_t *)c.v, 70000, 31);
  size_t n = qv_test_each_alloc_failure(am_fn, &c, "segmented write and read");
  QV_CHECK(n > 10);
  qv_nd_store_close(c.st);
  free(c.v);
}

/* ---- case 4: footer checks of the segment bits --------------------------------------- */

static void test_footer_checks(void) {
  qv_nd_store *st;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  qv_nd_options o = opts_seg(SEG, 1, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_create(st, "h.nd", &o, &f, &err), &err);
  static const uint64_t z[1] = {0}, sh[1] = {65536}, ch[1] = {256}, big[1] = {65536};
  /* "seg": segmented int32 chunks (1 KiB: not segmented; these: 256 KiB zstd) */
  QV_REQUIRE_OK(nd_define(f, "seg", (qv_nd_dtype){QV_ND_INT32, 0}, 1, sh, big, QV_ND_CODEC_NONE, NULL));
  QV_REQUIRE_OK(nd_define(f, "small", (qv_nd_dtype){QV_ND_INT32, 0}, 1, sh, ch, QV_ND_CODEC_LZ4, NULL));
  int32_t *v = malloc(65536 * 4);
  for (int i = 0; i < 65536; i++) v[i] = i;
  QV_CHECK_OK(qv_nd_write(f, "seg", z, sh, v, 65536 * 4, NULL));
  QV_CHECK_OK(qv_nd_write(f, "small", z, sh, v, 65536 * 4, NULL));
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  qv_nd_close(f);
  /* "flat": one zstd chunk of 256 KiB of one value, written without segments: tiny block */
  o.segment_bytes = QV_ND_SEGMENTS_OFF;
  QV_REQUIRE_OK(qv_nd_open(st, "h.nd", &o, &f, NULL));
  QV_REQUIRE_OK(nd_define(f, "flat", (qv_nd_dtype){QV_ND_INT32, 0}, 1, sh, big, QV_ND_CODEC_ZSTD, NULL));
  for (int i = 0; i < 65536; i++) v[i] = 7;
  QV_CHECK_OK(qv_nd_write(f, "flat", z, sh, v, 65536 * 4, NULL));
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  nd_chunk_ent e_seg, e_small, e_flat;
  uint64_t s_seg, s_small, s_flat;
  QV_REQUIRE(ent_of(f, 1, "seg", 0, &e_seg, &s_seg));
  QV_REQUIRE(ent_of(f, 1, "small", 5, &e_small, &s_small));
  QV_REQUIRE(ent_of(f, 0, "flat", 0, &e_flat, &s_flat));
  qv_nd_close(f);
  QV_CHECK_UINT_EQ(seg_bits(&e_seg), SEGL);
  QV_CHECK_UINT_EQ(seg_bits(&e_small), 0);
  QV_CHECK_UINT_EQ(e_small.raw_len, 1024);
  QV_CHECK_UINT_EQ(seg_bits(&e_flat), 0);
  QV_CHECK_UINT_EQ(e_flat.codec, QV_ND_CODEC_ZSTD);
  QV_CHECK(e_flat.stored_len / 4 < e_flat.raw_len / SEG); /* a table of 64 would not fit */
  uint32_t mm = e_seg.flags & 1u;
  struct {
    const nd_chunk_ent *ce;
    uint64_t seq;
    uint32_t flags;
    const char *msg;
  } cases[] = {
      {&e_seg, s_seg, mm | 11u << 8, "segment size outside"},
      {&e_seg, s_seg, mm | 31u << 8, "segment size outside"},
      {&e_seg, s_seg, mm | 255u << 8, "segment size outside"},
      {&e_seg, s_seg, mm | 18u << 8, "single segment"}, /* 2^18 = raw_len exactly */
      {&e_small, s_small, (e_small.flags & 1u) | 12u << 8, "single segment"},
      {&e_small, s_small, (e_small.flags & 1u) | 10u << 8, "segment size outside"},
      {&e_flat, s_flat, (e_flat.flags & 1u) | 12u << 8, "shorter than its segment table"},
      {&e_seg, s_seg, e_seg.flags | 1u << 16, "unknown flags"},
      {&e_small, s_small, e_small.flags | 1u << 31, "unknown flags"},
      {&e_flat, s_flat, e_flat.flags | 2u, "unknown flags"},
      {&e_seg, s_seg, e_seg.flags, NULL}, /* resealed unchanged: opens */
      {&e_seg, s_seg, mm | 13u << 8, NULL}, /* 2^13: a valid size (the checksum then differs) */
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    obj ob;
    QV_REQUIRE(obj_load(&ob, st, "h.nd", cases[c].seq, false));
    uint8_t *orig = malloc((size_t)ob.size);
    memcpy(orig, ob.b, (size_t)ob.size);
    uint64_t at = entry_at(&ob, cases[c].ce);
    QV_REQUIRE(at != 0);
    QV_CHECK_UINT_EQ(get_u32(ob.b + at + 36), cases[c].ce->flags);
    put_u32(ob.b + at + 36, cases[c].flags);
    nd_reseal(ob.b, ob.size);
    QV_REQUIRE(obj_store(&ob));
    qv_status s = qv_nd_open(st, "h.nd", NULL, &f, &err);
    if (!cases[c].msg) {
      QV_CHECK_OK_E(s, &err);
    } else {
      QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
      if (s == QV_E_CORRUPT) {
        QV_CHECK_CONTAINS(err.message, cases[c].msg);
        QV_CHECK_CONTAINS(err.message, "chunk entry");
      }
    }
    if (s == QV_OK && c + 1 == sizeof cases / sizeof cases[0]) { /* s = 13: the checksum catches it */
      uint8_t *r = malloc(65536 * 4);
      QV_CHECK_STATUS_E(qv_nd_read(f, "seg", z, sh, r, 65536 * 4, &err), QV_E_CORRUPT, &err);
      free(r);
    }
    if (s == QV_OK) qv_nd_close(f);
    memcpy(ob.b, orig, (size_t)ob.size);
    QV_REQUIRE(obj_store(&ob));
    free(orig);
    obj_free(&ob);
  }
  QV_CHECK_OK(qv_nd_open(st, "h.nd", NULL, &f, NULL));
  QV_CHECK_OK(qv_nd_verify(f, NULL));
  qv_nd_close(f);
  free(v);
  qv_nd_store_close(st);
}

/* ---- case 5: options ------------------------------------------------------------------ */

static void test_segment_option(void) {
  qv_nd_store *st;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  qv_nd_file *f;
  QV_REQUIRE_OK(qv_nd_create(st, "o.nd", NULL, &f, NULL));
  qv_nd_close(f);
  size_t bad[10] = {1000, 2048, 6000, 4097, 1, (size_t)1 << 31, (size_t)3 << 29, 12288, 2048, 2048};
  size_t nbad = 8;
#if SIZE_MAX > 0xffffffffu
  bad[nbad++] = (size_t)3 << 30; /* 3 GiB */
  bad[nbad++] = (size_t)1 << 40;
#endif
  for (size_t i = 0; i < nbad; i++) {
    qv_nd_options o = qv_nd_options_default();
    o.segment_bytes = bad[i];
    qv_error err;
    qv_status s = qv_nd_create(st, "n.nd", &o, &f, &err);
    QV_CHECK_STATUS_E(s, QV_E_INVALID, &err);
    if (s == QV_OK) qv_nd_close(f);
    s = qv_nd_open(st, "o.nd", &o, &f, &err);
    QV_CHECK_STATUS_E(s, QV_E_INVALID, &err);
    if (s == QV_E_INVALID) QV_CHECK_CONTAINS(err.message, "segment");
    if (s == QV_OK) qv_nd_close(f);
  }
  static const size_t good[4] = {SEG, (size_t)1 << 30, QV_ND_SEGMENTS_OFF, 0};
  for (size_t i = 0; i < 4; i++) {
    qv_nd_options o = qv_nd_options_default();
    o.segment_bytes = good[i];
    qv_error err;
    char nm[32];
    snprintf(nm, sizeof nm, "g%zu.nd", i);
    qv_status s = qv_nd_create(st, nm, &o, &f, &err);
    QV_CHECK_OK_E(s, &err);
    if (s == QV_OK) qv_nd_close(f);
    s = qv_nd_open(st, "o.nd", &o, &f, &err);
    QV_CHECK_OK_E(s, &err);
    if (s == QV_OK) qv_nd_close(f);
  }
  qv_nd_store_close(st);
}

/* ---- case 6: a user codec ------------------------------------------------------------- */

/* run-length pairs (count 1..255, byte); the encoder remembers the checksum of everything it
 * produced, the decoder counts its calls and inputs it never produced */
#define RLE_ID 231u
static pthread_mutex_t rle_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rle_known[4096];
static size_t rle_nknown;
static atomic_size_t rle_calls, rle_unknown;

static size_t rle_bound(size_t n) { return 2 * n + 2; }
static qv_status rle_enc(const void *src, size_t len, void *dst, size_t cap, int level,
                         size_t *out, qv_error *err) {
  (void)level;
  const uint8_t *s = src;
  uint8_t *d = dst;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    size_t r = 1;
    while (i + r < len && r < 255 && s[i + r] == s[i]) r++;
    if (o + 2 > cap) return qv_error_set(err, QV_E_INVALID, "rle: output too small");
    d[o++] = (uint8_t)r;
    d[o++] = s[i];
    i += r;
  }
  *out = o;
  pthread_mutex_lock(&rle_mu);
  if (rle_nknown < sizeof rle_known / sizeof rle_known[0]) rle_known[rle_nknown++] = (uint64_t)XXH3_64bits(dst, o);
  pthread_mutex_unlock(&rle_mu);
  return QV_OK;
}
static qv_status rle_dec(const void *src, size_t len, void *dst, size_t raw_len, qv_error *err) {
  atomic_fetch_add(&rle_calls, 1);
  uint64_t h = (uint64_t)XXH3_64bits(src, len);
  bool known = false;
  pthread_mutex_lock(&rle_mu);
  for (size_t i = 0; i < rle_nknown && !known; i++) known = rle_known[i] == h;
  pthread_mutex_unlock(&rle_mu);
  if (!known) atomic_fetch_add(&rle_unknown, 1);
  const uint8_t *s = src;
  uint8_t *d = dst;
  size_t o = 0;
  if (len % 2) return qv_error_set(err, QV_E_CORRUPT, "rle: odd length");
  for (size_t i = 0; i < len; i += 2) {
    if (s[i] == 0 || s[i] > raw_len - o) return qv_error_set(err, QV_E_CORRUPT, "rle: overrun");
    memset(d + o, s[i + 1], s[i]);
    o += s[i];
  }
  if (o != raw_len) return qv_error_set(err, QV_E_CORRUPT, "rle: short");
  return QV_OK;
}

static void test_user_codec(void) {
  static const qv_nd_codec rle = {RLE_ID, "test-rle", rle_bound, rle_enc, rle_dec};
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_codec_register(&rle, &err), &err);
  make_dir();
  qv_nd_store *sm, *sr;
  nd_posix_pair(g_dir, &sm, &sr);
  static const uint64_t sh[2] = {4, 20000}, ch[2] = {1, 20000}, z[2] = {0, 0}; /* 5 segments */
  uint8_t *v = malloc(80000), *r = malloc(80000);
  for (size_t i = 0; i < 80000; i++) v[i] = (uint8_t)(i / 37 + i / 20000);
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  QV_REQUIRE_OK_E(qv_nd_create(sm, "u.nd", &o, &f, &err), &err);
  QV_REQUIRE_OK_E(nd_define(f, "x", (qv_nd_dtype){QV_ND_UINT8, 0}, 2, sh, ch, RLE_ID, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_write(f, "x", z, sh, v, 80000, &err), &err);
  QV_REQUIRE_OK_E(qv_nd_flush(f, &err), &err);
  nd_chunk_ent ce;
  uint64_t seq;
  QV_REQUIRE(ent_of(f, 0, "x", 1, &ce, &seq));
  qv_nd_close(f);
  QV_CHECK_UINT_EQ(ce.codec, RLE_ID);
  QV_CHECK_UINT_EQ(seg_bits(&ce), SEGL);
  obj ob;
  QV_REQUIRE(obj_load(&ob, sm, "u.nd", seq, true));
  QV_CHECK_UINT_EQ(spec_hash(ce.codec, SEGL, ce.raw_len, ob.b + ce.offset, ce.stored_len), ce.hash);
  uint64_t segoff[6], pos = 20;
  for (int i = 0; i < 5; i++) {
    segoff[i] = pos;
    pos += get_u32(ob.b + ce.offset + 4 * (uint64_t)i);
  }
  segoff[5] = pos;
  QV_CHECK_UINT_EQ(pos, ce.stored_len);
  obj_free(&ob);
  qv_nd_store *stores[2] = {sm, sr};
  for (int si = 0; si < 2; si++)
    for (unsigned th = 1; th <= 2; th++) {
      o = opts_seg(SEG, th, 0);
      QV_REQUIRE_OK_E(qv_nd_open(stores[si], "u.nd", &o, &f, &err), &err);
      atomic_store(&rle_calls, 0);
      memset(r, 0, 80000);
      QV_CHECK_OK_E(qv_nd_read(f, "x", z, sh, r, 80000, &err), &err);
      QV_CHECK_MEM_EQ(r, v, 80000);
      QV_CHECK_OK_E(qv_nd_read(f, "x", (uint64_t[]){1, 5000}, (uint64_t[]){2, 9000}, r, 18000, &err), &err);
      QV_CHECK_MEM_EQ(r, v + 20000 + 5000, 9000);
      QV_CHECK_MEM_EQ(r + 9000, v + 40000 + 5000, 9000);
      QV_CHECK(atomic_load(&rle_calls) >= 20); /* 4 chunks x 5 segments at least */
      qv_nd_close(f);
    }
  QV_CHECK_UINT_EQ(atomic_load(&rle_unknown), 0);
  char path[256];
  snprintf(path, sizeof path, "%s/u.nd/layer-%020llu.qnd", g_dir, (unsigned long long)seq);
  uint64_t flips[3] = {ce.offset + segoff[2] + 1, ce.offset + segoff[4] + 2, ce.offset + 2};
  for (int k = 0; k < 3; k++) {
    flip_file(path, flips[k]);
    for (int si = 0; si < 2; si++)
      for (unsigned th = 1; th <= 2; th++)
        for (int cache = 0; cache < 2; cache++) {
          o = opts_seg(SEG, th, cache ? 1u << 20 : 0);
          QV_REQUIRE_OK_E(qv_nd_open(stores[si], "u.nd", &o, &f, &err), &err);
          atomic_store(&rle_calls, 0);
          atomic_store(&rle_unknown, 0);
          QV_CHECK_STATUS_E(qv_nd_read(f, "x", (uint64_t[]){1, 0}, (uint64_t[]){1, 20000}, r, 20000, &err), QV_E_CORRUPT, &err);
          QV_CHECK_UINT_EQ(atomic_load(&rle_calls), 0); /* only chunk 1: nothing decoded */
          QV_CHECK_STATUS_E(qv_nd_read(f, "x", (uint64_t[]){1, 100}, (uint64_t[]){1, 100}, r, 100, &err), QV_E_CORRUPT, &err);
          QV_CHECK_UINT_EQ(atomic_load(&rle_calls), 0);
          QV_CHECK_STATUS_E(qv_nd_read(f, "x", (uint64_t[]){0, 100}, (uint64_t[]){4, 100}, r, 400, &err), QV_E_CORRUPT, &err);
          QV_CHECK_STATUS_E(qv_nd_verify(f, &err), QV_E_CORRUPT, &err);
          QV_CHECK_UINT_EQ(atomic_load(&rle_unknown), 0); /* never saw the corrupted bytes */
          qv_nd_close(f);
        }
    flip_file(path, flips[k]);
    QV_REQUIRE_OK_E(qv_nd_open(sr, "u.nd", NULL, &f, &err), &err);
    QV_CHECK_OK_E(qv_nd_read(f, "x", z, sh, r, 80000, &err), &err);
    QV_CHECK_MEM_EQ(r, v, 80000);
    qv_nd_close(f);
  }
  /* a table split differently (same sum, checksum resealed): the user decoder's error */
  tamper_table(sm, "u.nd", "x", 0, -2, 1, 2);
  for (int si = 0; si < 2; si++)
    for (unsigned th = 1; th <= 2; th++) {
      o = opts_seg(SEG, th, 0);
      QV_REQUIRE_OK_E(qv_nd_open(stores[si], "u.nd", &o, &f, &err), &err);
      QV_CHECK_STATUS_E(qv_nd_read(f, "x", z, ch, r, 20000, &err), QV_E_CORRUPT, &err);
      QV_CHECK_STATUS_E(qv_nd_read(f, "x", z, sh, r, 80000, &err), QV_E_CORRUPT, &err);
      QV_CHECK_STATUS_E(qv_nd_verify(f, &err), QV_E_CORRUPT, &err);
      qv_nd_close(f);
    }
  free(v);
  free(r);
  qv_nd_store_close(sm);
  qv_nd_store_close(sr);
  remove_dir();
}

/* ---- case 7: concurrent readers ------------------------------------------------------- */

static const uint64_t cc_shape[2] = {64, 4096}, cc_chunk[2] = {16, 1024}; /* 64 KiB: 16 segments */

typedef struct cc_arg {
  qv_nd_file *f;
  const int32_t *full;
  uint64_t seed;
  int failures;
  char msg[256];
} cc_arg;

static void *cc_reader(void *vp) {
  cc_arg *a = vp;
  uint64_t s = a->seed;
  int32_t *buf = malloc(64 * 4096 * 4), *want = malloc(64 * 4096 * 4);
  for (int it = 0; it < 150; it++) {
    const char *nm = nd_rand(&s) % 2 ? "lz" : "pl";
    uint64_t st[2], cn[2];
    if (nd_rand(&s) % 2) { /* a whole chunk */
      st[0] = nd_rand(&s) % 4 * 16;
      st[1] = nd_rand(&s) % 4 * 1024;
      cn[0] = 16;
      cn[1] = 1024;
    } else {
      st[0] = nd_rand(&s) % 64;
      st[1] = nd_rand(&s) % 4096;
      cn[0] = 1 + nd_rand(&s) % (64 - st[0]);
      cn[1] = 1 + nd_rand(&s) % (4096 - st[1]);
    }
    size_t n = (size_t)(cn[0] * cn[1]) * 4;
    qv_error err;
    qv_status r = qv_nd_read(a->f, nm, st, cn, buf, n, &err);
    nd_box(2, 4, (uint8_t *)a->full, cc_shape, st, cn, (uint8_t *)want, false);
    if (r != QV_OK || memcmp(buf, want, n) != 0) {
      if (!a->failures++)
        snprintf(a->msg, sizeof a->msg, "%s [%llu,%llu]+[%llu,%llu]: %.150s", nm, (unsigned long long)st[0],
                 (unsigned long long)st[1], (unsigned long long)cn[0], (unsigned long long)cn[1],
                 r != QV_OK ? err.message : "values differ");
    }
  }
  free(buf);
  free(want);
  return NULL;
}

static void test_concurrent_readers(void) {
  qv_nd_store *st;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  uint64_t n = cc_shape[0] * cc_shape[1];
  int32_t *full = malloc(n * 4);
  gen((qv_nd_dtype){QV_ND_INT32, 0}, (uint8_t *)full, n, 9);
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  static const uint64_t z[2] = {0, 0};
  QV_REQUIRE_OK(qv_nd_create(st, "cc.nd", &o, &f, NULL));
  QV_REQUIRE_OK(nd_define(f, "lz", (qv_nd_dtype){QV_ND_INT32, 0}, 2, cc_shape, cc_chunk, QV_ND_CODEC_LZ4, NULL));
  QV_REQUIRE_OK(nd_define(f, "pl", (qv_nd_dtype){QV_ND_INT32, 0}, 2, cc_shape, cc_chunk, QV_ND_CODEC_NONE, NULL));
  QV_CHECK_OK(qv_nd_write(f, "lz", z, cc_shape, full, n * 4, NULL));
  QV_CHECK_OK(qv_nd_write(f, "pl", z, cc_shape, full, n * 4, NULL));
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  nd_chunk_ent ce;
  QV_REQUIRE(ent_of(f, 0, "lz", 0, &ce, NULL));
  QV_CHECK_UINT_EQ(seg_bits(&ce), SEGL);
  QV_CHECK_UINT_EQ(ce.codec, QV_ND_CODEC_LZ4);
  for (int round = 0; round < 2; round++) { /* round 1: with a cache (hits and misses) */
    if (round) {
      qv_nd_close(f);
      o.cache_bytes = 256u << 10;
      QV_REQUIRE_OK(qv_nd_open(st, "cc.nd", &o, &f, NULL));
    }
    cc_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
      args[i] = (cc_arg){f, full, (uint64_t)(i + 1) * 7919 + (uint64_t)round, 0, ""};
      QV_REQUIRE(pthread_create(&th[i], NULL, cc_reader, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
      pthread_join(th[i], NULL);
      if (args[i].failures) QV__FAIL("reader %d: %d failures, first: %s", i, args[i].failures, args[i].msg);
    }
  }
  qv_nd_close(f);
  free(full);
  qv_nd_store_close(st);
}

/* ---- case 8: compaction and time travel --------------------------------------------- */

static void test_compaction(void) {
  qv_nd_store *st;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  static const uint64_t sh[2] = {24, 2000}, ch[2] = {8, 600}, z[2] = {0, 0};
  static const uint64_t us[2] = {4, 500}, uc[2] = {12, 900};
  uint64_t n = sh[0] * sh[1], un = uc[0] * uc[1];
  uint8_t *v1 = malloc(n * 8), *v2 = malloc(n * 8), *u = malloc(un * 8), *r = malloc(n * 8);
  qv_nd_dtype f64 = {QV_ND_FLOAT64, 0};
  gen(f64, v1, n, 3);
  gen(f64, u, un, 4);
  memcpy(v2, v1, n * 8);
  nd_box(2, 8, v2, sh, us, uc, u, true);
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_create(st, "k.nd", &o, &f, NULL));
  for (int a = 0; a < 3; a++) {
    char nm[8];
    snprintf(nm, sizeof nm, "c%d", a);
    QV_REQUIRE_OK(nd_define(f, nm, f64, 2, sh, ch, codecs3[a], NULL));
    QV_CHECK_OK(qv_nd_write(f, nm, z, sh, v1, n * 8, NULL));
  }
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  uint64_t old = qv_nd_layer_top(f);
  for (int a = 0; a < 3; a++) {
    char nm[8];
    snprintf(nm, sizeof nm, "c%d", a);
    QV_CHECK_OK(qv_nd_write(f, nm, us, uc, u, un * 8, NULL));
  }
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  qv_nd_close(f);
  /* as of the older layer, before compaction */
  o.as_of_layer = old;
  QV_REQUIRE_OK_E(qv_nd_open(st, "k.nd", &o, &f, &err), &err);
  for (int a = 0; a < 3; a++) {
    char nm[8];
    snprintf(nm, sizeof nm, "c%d", a);
    QV_CHECK_OK_E(qv_nd_read(f, nm, z, sh, r, n * 8, &err), &err);
    if (memcmp(r, v1, n * 8) != 0) QV__FAIL("%s as of layer %llu differs", nm, (unsigned long long)old);
  }
  qv_nd_close(f);
  /* compaction by a handle that does not segment: blocks are copied with their segments */
  o = opts_seg(QV_ND_SEGMENTS_OFF, 2, 0);
  QV_REQUIRE_OK(qv_nd_open(st, "k.nd", &o, &f, NULL));
  /* a corrupt segment in the newest layer stops the compaction */
  nd_chunk_ent ce;
  uint64_t seq;
  QV_REQUIRE(ent_of(f, 0, "c0", 0, &ce, &seq));
  QV_CHECK_UINT_EQ(seg_bits(&ce), SEGL);
  nd_chunk_ent cz;
  QV_REQUIRE(ent_of(f, 0, "c1", 0, &cz, NULL));
  obj ob;
  QV_REQUIRE(obj_load(&ob, st, "k.nd", seq, false));
  ob.b[ce.offset + SEG + 10] ^= 1; /* segment 1 */
  QV_REQUIRE(obj_store(&ob));
  qv_nd_close(f);
  QV_REQUIRE_OK(qv_nd_open(st, "k.nd", &o, &f, NULL));
  qv_status s = qv_nd_compact(f, &err);
  QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
  if (s == QV_E_CORRUPT) QV_CHECK_CONTAINS(err.message, "'c0' chunk (0,0)");
  qv_nd_close(f);
  ob.b[ce.offset + SEG + 10] ^= 1;
  /* a compressed block whose segment table does not add up stops it too, naming the block */
  QV_CHECK_UINT_EQ(seg_bits(&cz), SEGL);
  QV_CHECK_UINT_EQ(cz.codec, QV_ND_CODEC_LZ4);
  put_u32(ob.b + cz.offset, get_u32(ob.b + cz.offset) + 1);
  QV_REQUIRE(obj_store(&ob));
  QV_REQUIRE_OK(qv_nd_open(st, "k.nd", &o, &f, NULL));
  s = qv_nd_compact(f, &err);
  QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
  /* the message names the block, like a checksum mismatch does */
  if (s == QV_E_CORRUPT) QV_CHECK_CONTAINS(err.message, "'c1' chunk (0,0)");
  qv_nd_close(f);
  put_u32(ob.b + cz.offset, get_u32(ob.b + cz.offset) - 1);
  QV_REQUIRE(obj_store(&ob));
  obj_free(&ob);
  QV_REQUIRE_OK(qv_nd_open(st, "k.nd", &o, &f, NULL));
  QV_CHECK_OK_E(qv_nd_compact(f, &err), &err);
  QV_CHECK_UINT_EQ(qv_nd_layer_count(f), 1);
  unsigned nseg = 0;
  const nd_layer *L = &f->layers[0];
  obj base;
  QV_REQUIRE(obj_load(&base, st, "k.nd", L->seq, false));
  for (size_t i = 0; i < L->n_entries; i++)
    for (uint64_t k = 0; k < L->entries[i].n_chunks; k++) {
      const nd_chunk_ent *e = &L->entries[i].chunks[k];
      unsigned want = e->raw_len > SEG ? SEGL : 0;
      if (seg_bits(e) != want) QV__FAIL("compacted %s chunk %llu: segment bits %u, want %u", L->entries[i].meta.name, (unsigned long long)e->chunk, seg_bits(e), want);
      nseg += want != 0;
      if (spec_hash(e->codec, seg_bits(e), e->raw_len, base.b + e->offset, e->stored_len) != e->hash)
        QV__FAIL("compacted %s chunk %llu: checksum does not follow the spec", L->entries[i].meta.name, (unsigned long long)e->chunk);
    }
  obj_free(&base);
  QV_CHECK(nseg >= 3 * 8);
  for (int a = 0; a < 3; a++) {
    char nm[8];
    snprintf(nm, sizeof nm, "c%d", a);
    QV_CHECK_OK_E(qv_nd_read(f, nm, z, sh, r, n * 8, &err), &err);
    if (memcmp(r, v2, n * 8) != 0) QV__FAIL("%s after compaction differs", nm);
  }
  QV_CHECK_OK_E(qv_nd_verify(f, &err), &err);
  qv_nd_close(f);
  o = opts_seg(SEG, 1, 1u << 20);
  QV_REQUIRE_OK(qv_nd_open(st, "k.nd", &o, &f, NULL));
  QV_CHECK_OK_E(qv_nd_read(f, "c2", z, sh, r, n * 8, &err), &err);
  QV_CHECK_MEM_EQ(r, v2, n * 8);
  qv_nd_close(f);
  free(v1);
  free(v2);
  free(u);
  free(r);
  qv_nd_store_close(st);
}

/* ---- case 9: zero-copy views -------------------------------------------------------- */

static void test_zero_copy_view(void) {
  make_dir();
  qv_nd_store *sm;
  QV_REQUIRE_OK(qv_nd_store_posix_open(g_dir, QV_ND_POSIX_NO_FSYNC, NULL, &sm, NULL));
  static const uint64_t sh[2] = {8, 4096}, ch[2] = {4, 2048}, z[2] = {0, 0}; /* 32 KiB: 8 segments */
  uint64_t n = sh[0] * sh[1];
  float *v = malloc(n * 4);
  gen((qv_nd_dtype){QV_ND_FLOAT32, 0}, (uint8_t *)v, n, 12);
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK(qv_nd_create(sm, "z.nd", &o, &f, NULL));
  QV_REQUIRE_OK(nd_define(f, "v", (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, sh, ch, QV_ND_CODEC_NONE, NULL));
  QV_CHECK_OK(qv_nd_write(f, "v", z, sh, v, n * 4, NULL));
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  qv_nd_close(f);
  QV_REQUIRE_OK(qv_nd_open(sm, "z.nd", &o, &f, NULL));
  nd_chunk_ent ce;
  uint64_t seq;
  QV_REQUIRE(ent_of(f, 0, "v", 1, &ce, &seq)); /* chunk (0,1) */
  QV_CHECK_UINT_EQ(seg_bits(&ce), SEGL);
  QV_CHECK_UINT_EQ(ce.codec, QV_ND_CODEC_NONE);
  QV_REQUIRE(f->layers[0].map != NULL);
  QV_REQUIRE(ce.offset % 4 == 0);
  const uint8_t *blk = f->layers[0].map + ce.offset;
  static const uint64_t cs[2] = {0, 2048};
  qv_array *arr;
  QV_REQUIRE_OK_E(qv_nd_read_arrow(f, "v", cs, ch, NULL, &arr, &err), &err);
  qv_array *child = qv_array_child(arr, 0);
  QV_REQUIRE(child != NULL);
  const float *p = qv_array_value_ptr(child, 0);
  QV_CHECK(p == (const float *)(const void *)blk); /* a view of the mapping */
  bool same = true;
  for (uint64_t i = 0; i < 4; i++)
    for (uint64_t j = 0; j < 2048; j++) same = same && memcmp(&p[i * 2048 + j], &v[i * 4096 + 2048 + j], 4) == 0;
  QV_CHECK(same);
  qv_array_unref(arr);
  qv_nd_close(f);
  char path[256];
  snprintf(path, sizeof path, "%s/z.nd/layer-%020llu.qnd", g_dir, (unsigned long long)seq);
  for (int k = 0; k < 2; k++) {
    uint64_t at = ce.offset + (k ? 7 * SEG + 5 : SEG + 100); /* segment 1, then the last */
    flip_file(path, at);
    QV_REQUIRE_OK(qv_nd_open(sm, "z.nd", &o, &f, NULL));
    qv_status s = qv_nd_read_arrow(f, "v", cs, ch, NULL, &arr, &err);
    QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
    if (s == QV_E_CORRUPT) QV_CHECK_CONTAINS(err.message, "'v' chunk (0,1)");
    else if (s == QV_OK) qv_array_unref(arr);
    qv_nd_close(f);
    flip_file(path, at);
  }
  QV_REQUIRE_OK(qv_nd_open(sm, "z.nd", &o, &f, NULL));
  qv_status s = qv_nd_read_arrow(f, "v", cs, ch, NULL, &arr, &err);
  QV_CHECK_OK_E(s, &err);
  if (s == QV_OK) qv_array_unref(arr);
  qv_nd_close(f);
  free(v);
  qv_nd_store_close(sm);
  remove_dir();
}

/* ---- case 10: the crew has no more helpers than there are other CPUs --------------------- */

/* threads of this process (Linux: entries of /proc/self/task); -1 when unknown */
static long count_threads(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return -1;
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* A helper without a CPU of its own only slows the others down (spinning for its next item), so
 * however many threads are asked for, the crew gets at most the online CPUs but one (and 7);
 * the values still read back right. */
static void test_crew_helpers_per_cpu(void) {
  qv_nd_store *st;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  static const uint64_t z[1] = {0}, sh[1] = {1u << 16};
  uint32_t *v = malloc(sh[0] * 4), *got = malloc(sh[0] * 4);
  for (uint32_t i = 0; i < sh[0]; i++) v[i] = i * 2654435761u;
  qv_nd_options o = opts_seg(SEG, 64, 0); /* one 256 KiB chunk: 64 segments */
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_create(st, "t.nd", &o, &f, &err), &err);
  QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_UINT32, 0}, 1, sh, sh, QV_ND_CODEC_NONE, NULL));
  QV_CHECK_OK(qv_nd_write(f, "a", z, sh, v, sh[0] * 4, NULL));
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  qv_nd_close(f);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN), most = cpus < 1 ? 7 : cpus - 1 < 7 ? cpus - 1 : 7;
  QV_REQUIRE_OK_E(qv_nd_open(st, "t.nd", &o, &f, &err), &err);
  long before = count_threads();
  QV_CHECK_OK_E(qv_nd_read(f, "a", z, sh, got, sh[0] * 4, &err), &err);
  QV_CHECK(memcmp(got, v, sh[0] * 4) == 0);
  long helpers = count_threads() - before;
  if (before > 0) {
    if (helpers > most)
      QV__FAIL("%ld helper threads on %ld online CPUs (at most %ld wanted)", helpers, cpus, most);
    if (cpus >= 2 && helpers < 1) QV__FAIL("no helper thread on %ld online CPUs", cpus);
  }
  qv_nd_close(f);
  QV_CHECK(before < 0 || count_threads() == before); /* close stopped them */
  free(v);
  free(got);
  qv_nd_store_close(st);
}

/* ---- case 11: a handle used in the child of a fork -------------------------------------- */

/* reads "a" of f (u32, n values) and compares it with v */
static bool read_same(qv_nd_file *f, const uint32_t *v, uint32_t *got, uint64_t n) {
  static const uint64_t z[1] = {0};
  uint64_t sh[1] = {n};
  memset(got, 0, n * 4);
  return qv_nd_read(f, "a", z, sh, got, n * 4, NULL) == QV_OK && memcmp(got, v, n * 4) == 0;
}

/* The crew's threads are not in a forked child: there a handle opened before the fork reads on
 * the calling thread alone, and closes without waiting for helpers that do not exist (it hung
 * in pthread_join); the parent's crew goes on working. */
static void test_crew_after_fork(void) {
  qv_nd_store *st;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  static const uint64_t z[1] = {0}, sh[1] = {1u << 16};
  uint32_t *v = malloc(sh[0] * 4), *got = malloc(sh[0] * 4);
  for (uint32_t i = 0; i < sh[0]; i++) v[i] = i % 1000;
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_create(st, "k.nd", &o, &f, &err), &err);
  QV_REQUIRE_OK(nd_define(f, "a", (qv_nd_dtype){QV_ND_UINT32, 0}, 1, sh, sh, QV_ND_CODEC_ZSTD, NULL));
  QV_CHECK_OK(qv_nd_write(f, "a", z, sh, v, sh[0] * 4, NULL));
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  QV_CHECK(read_same(f, v, got, sh[0])); /* starts the crew (with 2 CPUs or more) */
  fflush(NULL);
  pid_t pid = fork();
  QV_REQUIRE(pid >= 0);
  if (pid == 0) {
    bool ok = true;
    for (int i = 0; i < 3; i++) ok = ok && read_same(f, v, got, sh[0]);
    qv_nd_close(f);
    _exit(ok ? 0 : 1);
  }
  int status = 0, waited = 0;
  pid_t w;
  while ((w = waitpid(pid, &status, WNOHANG)) == 0 && waited < 2000) { /* 20 s */
    struct timespec ms10 = {0, 10000000};
    nanosleep(&ms10, NULL);
    waited++;
  }
  if (w == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    QV__FAIL("the forked child did not finish reading and closing within 20 s");
  } else {
    QV_CHECK(w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  QV_CHECK(read_same(f, v, got, sh[0]));
  qv_nd_close(f);
  free(v);
  free(got);
  qv_nd_store_close(st);
}

/* ---- segments read one by one from a store that cannot map ---- */
static qv_status (*g_inner_read)(qv_nd_store *, const char *, uint64_t, void *, size_t, qv_error *);
static _Atomic uint64_t g_fail_lo = UINT64_MAX, g_fail_hi; /* reads starting in [lo, hi) fail */
static atomic_uint g_reads;

static qv_status failing_read(qv_nd_store *st, const char *path, uint64_t off, void *buf, size_t len,
                              qv_error *err) {
  atomic_fetch_add(&g_reads, 1);
  if (off >= atomic_load(&g_fail_lo) && off < atomic_load(&g_fail_hi))
    return qv_error_set(err, QV_E_IO, "injected read failure at %llu", (unsigned long long)off);
  return g_inner_read(st, path, off, buf, len, err);
}

/* Without a mapping each segment is read by the thread that checks it: the values come back,
 * one read per segment (plus the table of a compressed block), and a failing read of any
 * segment or of the table is reported (QV_E_IO, naming the block) — never a wrong value. */
static void test_unmapped_segment_reads(void) {
  qv_nd_store *st;
  QV_REQUIRE_OK(qv_nd_store_memory_new(NULL, &st, NULL));
  static const uint64_t sh[2] = {32, 1024}, ch[2] = {16, 1024}, z[2] = {0, 0}; /* 64 KiB chunks */
  float *v = malloc(32 * 1024 * sizeof *v), *got = malloc(16 * 1024 * sizeof *got);
  QV_REQUIRE(v && got);
  for (size_t i = 0; i < 32 * 1024; i++) v[i] = (float)(i % 777) * 0.25f;
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_create(st, "u.nd", &o, &f, &err), &err);
  static const uint32_t codecs[2] = {QV_ND_CODEC_NONE, QV_ND_CODEC_LZ4};
  const char *names[2] = {"plain", "lz4"};
  for (int c = 0; c < 2; c++) {
    QV_REQUIRE_OK(nd_define(f, names[c], (qv_nd_dtype){QV_ND_FLOAT32, 0}, 2, sh, ch, codecs[c], NULL));
    QV_REQUIRE_OK(qv_nd_write(f, names[c], z, sh, v, 32 * 1024 * sizeof *v, NULL));
  }
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  qv_nd_close(f);
  g_inner_read = st->read_at;
  st->read_at = failing_read;
  st->map = NULL; /* reads go through read_at */
  st->unmap = NULL;
  QV_REQUIRE_OK_E(qv_nd_open(st, "u.nd", &o, &f, &err), &err);
  QV_REQUIRE(f->n_layers == 2 && !f->layers[0].map);
  for (int c = 0; c < 2; c++) {
    const nd_entry *e = NULL;
    for (size_t k = 0; k < f->layers[0].n_entries; k++)
      if (strcmp(f->layers[0].entries[k].meta.name, names[c]) == 0) e = &f->layers[0].entries[k];
    QV_REQUIRE(e != NULL && e->n_chunks == 2);
    const nd_chunk_ent *ce = &e->chunks[1]; /* chunk (1,0): rows 16..31 */
    uint64_t nseg = qv__nd_seg_count(ce);
    QV_CHECK_UINT_EQ(nseg, 16);
    QV_CHECK_UINT_EQ(ce->codec, codecs[c]); /* (the values compress) */
    static const uint64_t s1[2] = {16, 0};
    atomic_store(&g_reads, 0);
    QV_CHECK_OK_E(qv_nd_read(f, names[c], s1, ch, got, 16 * 1024 * sizeof *got, &err), &err);
    QV_CHECK_MEM_EQ(got, v + 16 * 1024, 16 * 1024 * sizeof *got);
    QV_CHECK_UINT_EQ(atomic_load(&g_reads), nseg + (c ? 1 : 0));
    /* fail the table (compressed), then each segment in turn */
    uint64_t offs[17];
    uint8_t table[64];
    if (c) QV_REQUIRE_OK(g_inner_read(st, f->layers[0].path, ce->offset, table, 64, NULL));
    for (uint64_t k = 0; k < nseg; k++)
      offs[k] = c ? (k ? offs[k - 1] + get_u32(table + 4 * (k - 1)) : 64) : k * SEG;
    offs[nseg] = ce->stored_len;
    for (int64_t k = c ? -1 : 0; k < (int64_t)nseg; k++) {
      uint64_t lo = k < 0 ? 0 : offs[k], hi = k < 0 ? 1 : offs[k] + 1;
      atomic_store(&g_fail_hi, ce->offset + hi);
      atomic_store(&g_fail_lo, ce->offset + lo);
      memset(got, 0, 16 * 1024 * sizeof *got);
      qv_status s = qv_nd_read(f, names[c], s1, ch, got, 16 * 1024 * sizeof *got, &err);
      atomic_store(&g_fail_lo, UINT64_MAX);
      if (s != QV_E_IO) {
        QV__FAIL("%s: failing the read of %s %lld: got %s", names[c], k < 0 ? "the table" : "segment",
                 (long long)k, qv_status_name(s));
      } else {
        QV_CHECK_CONTAINS(err.message, "injected read failure");
        QV_CHECK_CONTAINS(err.message, "chunk (1,0)");
      }
    }
    QV_CHECK_OK_E(qv_nd_read(f, names[c], s1, ch, got, 16 * 1024 * sizeof *got, &err), &err);
    QV_CHECK_MEM_EQ(got, v + 16 * 1024, 16 * 1024 * sizeof *got);
  }
  qv_nd_close(f);
  free(v);
  free(got);
  qv_nd_store_close(st);
}

/* A compressed segmented block that was streamed to the unpublished layer reads back checked
 * and decoded (every segment, on the crew), before and after the flush; a flipped byte in a
 * segment or in the segment table is reported, never returned as a value. */
static void test_pending_compressed_readback(void) {
  make_dir();
  qv_nd_store *sm;
  QV_REQUIRE_OK(qv_nd_store_posix_open(g_dir, QV_ND_POSIX_NO_FSYNC, NULL, &sm, NULL));
  enum { N = 262144 }; /* 1 MiB chunks: 256 segments of 4 KiB */
  static const uint64_t sh[2] = {3, N}, ch[2] = {1, N}, z[2] = {0, 0};
  int32_t *v = malloc(3 * (size_t)N * 4), *r = malloc(3 * (size_t)N * 4);
  QV_REQUIRE(v && r);
  uint64_t rs = 42;
  for (size_t i = 0; i < 3 * (size_t)N; i++) v[i] = i % 4 ? 0 : (int32_t)nd_rand(&rs); /* lz4: about 40% */
  qv_nd_options o = opts_seg(SEG, 2, 0);
  qv_nd_file *f;
  qv_error err;
  QV_REQUIRE_OK_E(qv_nd_create(sm, "c.nd", &o, &f, &err), &err);
  QV_REQUIRE_OK(nd_define(f, "lz", (qv_nd_dtype){QV_ND_INT32, 0}, 2, sh, ch, QV_ND_CODEC_LZ4, NULL));
  QV_REQUIRE_OK(qv_nd_flush(f, NULL));
  QV_CHECK_OK_E(qv_nd_write(f, "lz", z, sh, v, 3 * (size_t)N * 4, &err), &err);
  const nd_pchunk *pc = NULL;
  for (size_t i = 0; i < f->n_pend; i++)
    for (size_t k = 0; k < f->pend[i]->n; k++)
      if (f->pend[i]->chunks[k].chunk == 1) pc = &f->pend[i]->chunks[k];
  QV_REQUIRE(pc != NULL);
  QV_REQUIRE(pc->spilled);
  QV_CHECK_UINT_EQ(pc->ent.codec, QV_ND_CODEC_LZ4);
  QV_CHECK_UINT_EQ(seg_bits(&pc->ent), SEGL);
  memset(r, 0, 3 * (size_t)N * 4);
  QV_CHECK_OK_E(qv_nd_read(f, "lz", z, sh, r, 3 * (size_t)N * 4, &err), &err);
  QV_CHECK_MEM_EQ(r, v, 3 * (size_t)N * 4);
  char dir[128], tmp[512] = "";
  snprintf(dir, sizeof dir, "%s/c.nd", g_dir);
  DIR *d = opendir(dir);
  QV_REQUIRE(d != NULL);
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    if (strncmp(de->d_name, ".tmp-", 5) == 0) snprintf(tmp, sizeof tmp, "%s/%s", dir, de->d_name);
  closedir(d);
  QV_REQUIRE(tmp[0] != 0);
  uint64_t n = (pc->ent.raw_len + SEG - 1) / SEG;
  const uint64_t at[2] = {pc->ent.offset + 4 * n + (pc->ent.stored_len - 4 * n) / 2, /* a segment */
                          pc->ent.offset + 4 * 7 + 1};                              /* the table */
  for (int i = 0; i < 2; i++) {
    flip_file(tmp, at[i]);
    qv_status s = qv_nd_read(f, "lz", (const uint64_t[]){1, 0}, ch, r, (size_t)N * 4, &err);
    QV_CHECK_STATUS_E(s, QV_E_CORRUPT, &err);
    if (s == QV_E_CORRUPT) QV_CHECK_CONTAINS(err.message, "unflushed block");
    flip_file(tmp, at[i]);
    QV_CHECK_OK_E(qv_nd_read(f, "lz", (const uint64_t[]){1, 0}, ch, r, (size_t)N * 4, &err), &err);
    QV_CHECK_MEM_EQ(r, v + N, (size_t)N * 4);
  }
  QV_CHECK_OK_E(qv_nd_flush(f, &err), &err);
  QV_CHECK_OK_E(qv_nd_verify(f, &err), &err);
  memset(r, 0, 3 * (size_t)N * 4);
  QV_CHECK_OK_E(qv_nd_read(f, "lz", z, sh, r, 3 * (size_t)N * 4, &err), &err);
  QV_CHECK_MEM_EQ(r, v, 3 * (size_t)N * 4);
  qv_nd_close(f);
  free(v);
  free(r);
  qv_nd_store_close(sm);
  remove_dir();
}

QV_TEST_MAIN(QV_CASE(test_roundtrip_every_path), QV_CASE(test_streamed_reads),
             QV_CASE(test_segment_edges),
             QV_CASE(test_checksum_covers_every_part), QV_CASE(test_table_tampering),
             QV_CASE(test_var_lengths_checked), QV_CASE(test_pending_readback_checked),
             QV_CASE(test_pending_compressed_readback),
             QV_CASE(test_allocation_failures),
             QV_CASE(test_footer_checks), QV_CASE(test_segment_option),
             QV_CASE(test_user_codec), QV_CASE(test_concurrent_readers),
             QV_CASE(test_compaction), QV_CASE(test_zero_copy_view),
             QV_CASE(test_crew_helpers_per_cpu), QV_CASE(test_crew_after_fork),
             QV_CASE(test_unmapped_segment_reads))
