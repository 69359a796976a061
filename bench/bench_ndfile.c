/* bench_ndfile.c — ndfile write / full read / 1,000 random single-chunk reads of a float32
 * [N, N] array in [1024, 1024] chunks (N = 16384: 1 GiB; --quick: 4096), uncompressed, LZ4 and
 * Zstd (level 1), against zarr-python and h5py run by bench/ndfile_peers.py in the same run.
 * Files go to $QV_BENCH_DIR or /tmp. The peers never fsync, so the write compared with them is
 * ndfile's with QV_ND_POSIX_NO_FSYNC; the durable write (fsync of each layer and its directory,
 * the default) is printed too, and the write and read on one thread (opts.threads = 1; the
 * default uses every online CPU for operations of 8 MiB or more). Buffers get a huge-page
 * hint, as numpy gives its arrays, and all sides read into preallocated, touched buffers.
 * Reads are the best of 5 runs on freshly opened files, writes the best of 3 (on every
 * side; the durable write runs once: the peers have none); the same reads
 * through pread instead of the layer mapping (QV_ND_POSIX_NO_MMAP) are printed too, and the
 * random chunks read as Arrow arrays (qv_nd_read_arrow: a checked zero-copy view of the
 * mapped layer for plain chunks, what an Arrow consumer gets without any copy), and for the
 * uncompressed file the ceiling of any reader that copies chunks out of the page cache (pread,
 * memcpy from a mapping; no checksum, no index), for the compressed ones that of any reader
 * that decodes them (the same codec decoding one chunk over and over, nothing else). */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "quiver/array.h"
#include "quiver/ndfile.h"
#include "ndfile/nd_int.h" /* the codecs ndfile uses, for the decode ceiling */

#define CHUNK 1024u
#define READS 1000

typedef struct peer_res {
  char peer[16], codec[24], op[16];
  double sec;
} peer_res;

static uint64_t lcg(uint64_t *x) {
  *x = *x * 6364136223846793005ull + 1442695040888963407ull;
  return *x >> 33;
}

static void gen(float *a, uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    for (uint64_t j = 0; j < n; j++) a[i * n + j] = (float)((i * 131 + j * 7) % 10007) / 16.0f;
}

static double find(const peer_res *r, size_t nr, const char *peer, const char *codec, const char *op) {
  for (size_t i = 0; i < nr; i++)
    if (strcmp(r[i].peer, peer) == 0 && strncmp(r[i].codec, codec, strlen(codec)) == 0 &&
        (r[i].codec[strlen(codec)] == 0 || r[i].codec[strlen(codec)] == '=') && strcmp(r[i].op, op) == 0)
      return r[i].sec;
  return 0;
}

static const char *h5label(const char *codec) {
  return strcmp(codec, "lz4") == 0 ? "h5py(lzf)" : strcmp(codec, "zstd") == 0 ? "h5py(gzip1)" : "h5py";
}

static size_t run_peers(uint64_t n, const char *dir, peer_res *res, size_t cap) {
  const char *src = getenv("QV_SOURCE_DIR");
  char script[4096], cmd[8400];
  if (src) {
    snprintf(script, sizeof script, "%s/bench/ndfile_peers.py", src);
  } else { /* this file's directory */
    snprintf(script, sizeof script, "%s", __FILE__);
    char *slash = strrchr(script, '/');
    if (slash) snprintf(slash + 1, sizeof script - (size_t)(slash + 1 - script), "ndfile_peers.py");
  }
  if (access(script, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0) {
    printf("  (peers skipped: %s or /usr/bin/python3 not found)\n", script);
    return 0;
  }
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' --n %llu --chunk %u --reads %d --dir '%s'", script,
           (unsigned long long)n, CHUNK, READS, dir);
  FILE *p = popen(cmd, "r");
  if (!p) return 0;
  char line[512];
  size_t nr = 0;
  while (fgets(line, sizeof line, p)) {
    peer_res r;
    unsigned long long bytes;
    if (sscanf(line, "RESULT %15s %23s %15s %lf %llu", r.peer, r.codec, r.op, &r.sec, &bytes) == 5 && nr < cap) {
      res[nr++] = r;
    } else if (strncmp(line, "SKIP", 4) == 0) {
      printf("  (%s)", line);
    }
  }
  if (pclose(p) != 0) printf("  (peer script failed; results may be partial)\n");
  return nr;
}

static int dbl_cmp(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

#define REPS 5
#define WREPS 3 /* writes of the whole array: best of 3 (on every side) */

/* Times a whole read and READS random single-chunk reads of array "a" of `name` REPS times,
 * each on a freshly opened file, and returns the best of each (the same read varies by 30-50%
 * between runs on a shared VM; the peers are timed the same way). trr / tra NULL: the random
 * reads / the random reads as Arrow arrays are not run. */
static qv_status time_reads(qv_nd_store *st, const char *name, const qv_nd_options *o, uint64_t n,
                            const float *a, float *b, double *tr, double *trr, double *tra,
                            qv_error *err) {
  size_t bytes = (size_t)(n * n * 4);
  uint64_t shape[2] = {n, n}, z[2] = {0, 0}, g = n / CHUNK;
  double whole[REPS], rnd[REPS], arw[REPS];
  for (int rep = 0; rep < REPS; rep++) {
    qv_nd_file *f;
    QV_TRY(qv_nd_open(st, name, o, &f, err));
    sync();
    double t0 = qv_bench_now();
    qv_status s = qv_nd_read(f, "a", z, shape, b, bytes, err);
    whole[rep] = qv_bench_now() - t0;
    if (s == QV_OK && memcmp(a, b, bytes) != 0) s = qv_error_set(err, QV_E_CORRUPT, "data read back differs");
    uint64_t x = 0x9E3779B97F4A7C15ull;
    sync();
    t0 = qv_bench_now();
    for (int i = 0; i < READS && s == QV_OK && trr; i++) {
      uint64_t k = lcg(&x) % (g * g);
      uint64_t st2[2] = {(k / g) * CHUNK, (k % g) * CHUNK}, sh[2] = {CHUNK, CHUNK};
      s = qv_nd_read(f, "a", st2, sh, b, (size_t)CHUNK * CHUNK * 4, err);
      qv_bench_keep(((const uint64_t *)b)[0]);
    }
    rnd[rep] = qv_bench_now() - t0;
    /* the same chunks as Arrow arrays (a zero-copy view when the chunk is stored plain) */
    x = 0x9E3779B97F4A7C15ull;
    t0 = qv_bench_now();
    for (int i = 0; i < READS && s == QV_OK && tra; i++) {
      uint64_t k = lcg(&x) % (g * g);
      uint64_t st2[2] = {(k / g) * CHUNK, (k % g) * CHUNK}, sh[2] = {CHUNK, CHUNK};
      qv_array *arr;
      s = qv_nd_read_arrow(f, "a", st2, sh, NULL, &arr, err);
      if (s == QV_OK) {
        qv_bench_keep((uint64_t)qv_array_get_f64(qv_array_child(arr, 0), 1));
        qv_array_unref(arr);
      }
    }
    arw[rep] = qv_bench_now() - t0;
    qv_nd_close(f);
    if (s < 0) return s;
  }
  qsort(whole, REPS, sizeof *whole, dbl_cmp);
  qsort(rnd, REPS, sizeof *rnd, dbl_cmp);
  qsort(arw, REPS, sizeof *arw, dbl_cmp);
  *tr = whole[0];
  if (trr) *trr = rnd[0];
  if (tra) *tra = arw[0];
  return QV_OK;
}

/* The ceiling of a decoding reader on this machine: chunk (0, 0) of the data encoded with the
 * codec ndfile uses (level 1), then decoded READS times into a cache-resident buffer — no read,
 * no checksum, no index (best of REPS). 0 on failure. */
static double decode_ceiling(uint32_t codec, const float *a, uint64_t n) {
  size_t cb = (size_t)CHUNK * CHUNK * 4;
  float *raw = malloc(cb), *out = malloc(cb);
  size_t cap = cb * 2 + 4096, len = 0;
  uint8_t *enc = malloc(cap);
  double t[REPS], res = 0;
  if (raw && out && enc) {
    for (uint64_t r = 0; r < CHUNK; r++) memcpy(raw + r * CHUNK, a + r * n, CHUNK * 4);
    if (qv__nd_encode(codec, 1, raw, cb, enc, cap, &len, NULL) == QV_OK) {
      for (int rep = 0; rep < REPS; rep++) {
        double t0 = qv_bench_now();
        for (int i = 0; i < READS; i++)
          if (qv__nd_decode(codec, enc, len, out, cb, NULL) != QV_OK) break;
        t[rep] = qv_bench_now() - t0;
        qv_bench_keep(((const uint64_t *)out)[3]);
      }
      qsort(t, REPS, sizeof *t, dbl_cmp);
      res = t[0];
    }
  }
  free(raw);
  free(out);
  free(enc);
  return res;
}

/* The ceiling of a copying reader on this machine: 1000 random chunk-sized (4 MiB) ranges of
 * the uncompressed layer file copied into b with pread, and with memcpy from a mapping — no
 * checksum, no index, nothing else (best of REPS). Returns non-zero when the file is not
 * found. */
static int copy_ceiling(const char *dir, const char *name, uint64_t n, float *b, double *tp,
                        double *tm) {
  char sub[4200], path[4500];
  snprintf(sub, sizeof sub, "%s/%s", dir, name);
  DIR *d = opendir(sub);
  if (!d) return 1;
  struct dirent *e;
  struct stat sb;
  off_t best = 0;
  path[0] = 0;
  while ((e = readdir(d))) { /* the biggest layer: the one holding the chunks */
    char p[4500];
    snprintf(p, sizeof p, "%s/%s", sub, e->d_name);
    if (strncmp(e->d_name, "layer-", 6) == 0 && stat(p, &sb) == 0 && sb.st_size > best) {
      best = sb.st_size;
      memcpy(path, p, sizeof p);
    }
  }
  closedir(d);
  int fd = path[0] ? open(path, O_RDONLY) : -1;
  if (fd < 0) return 1;
  size_t cb = (size_t)CHUNK * CHUNK * 4, nc = (size_t)(n / CHUNK) * (n / CHUNK);
  uint8_t *m = fstat(fd, &sb) == 0 && (size_t)sb.st_size >= nc * cb
                   ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0)
                   : MAP_FAILED;
  double p[REPS], c[REPS];
  for (int rep = 0; rep < REPS && m != MAP_FAILED; rep++) {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    double t0 = qv_bench_now();
    for (int i = 0; i < READS; i++)
      if (pread(fd, b, cb, (off_t)((lcg(&x) % nc) * cb)) != (ssize_t)cb) break;
    p[rep] = qv_bench_now() - t0;
    x = 0x9E3779B97F4A7C15ull;
    t0 = qv_bench_now();
    for (int i = 0; i < READS; i++) memcpy(b, m + (lcg(&x) % nc) * cb, cb);
    c[rep] = qv_bench_now() - t0;
    qv_bench_keep(((const uint64_t *)b)[1]);
  }
  if (m != MAP_FAILED) munmap(m, (size_t)sb.st_size);
  close(fd);
  if (m == MAP_FAILED) return 1;
  qsort(p, REPS, sizeof *p, dbl_cmp);
  qsort(c, REPS, sizeof *c, dbl_cmp);
  *tp = p[0];
  *tm = c[0];
  return 0;
}

int qv_bench_ndfile(int quick) {
  uint64_t n = quick ? 4096 : 16384;
  size_t bytes = (size_t)(n * n * 4);
  const char *base = getenv("QV_BENCH_DIR") ? getenv("QV_BENCH_DIR") : "/tmp";
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/qv-bench-nd-XXXXXX", base);
  if (!mkdtemp(dir)) {
    printf("  cannot create a work directory under %s\n", base);
    return 1;
  }
  float *a = aligned_alloc(2u << 20, bytes), *b = aligned_alloc(2u << 20, bytes);
#ifdef MADV_HUGEPAGE
  if (a) (void)madvise(a, bytes, MADV_HUGEPAGE);
  if (b) (void)madvise(b, bytes, MADV_HUGEPAGE);
#endif
  if (!a || !b) {
    free(a);
    free(b);
    return 1;
  }
  gen(a, n);
  memset(b, 0, bytes); /* touched, like the peers' preallocated output arrays */
  printf("  array float32 [%llu, %llu] (%.0f MiB), chunks [%u, %u], %d random chunk reads; peers run by bench/ndfile_peers.py\n",
         (unsigned long long)n, (unsigned long long)n, (double)bytes / 1048576.0, CHUNK, CHUNK, READS);
  fflush(stdout);
  peer_res *peers = calloc(64, sizeof *peers);
  size_t np = run_peers(n, dir, peers, 64);
  static const char *codecs[] = {"none", "lz4", "zstd"};
  static const uint32_t ids[] = {QV_ND_CODEC_NONE, QV_ND_CODEC_LZ4, QV_ND_CODEC_ZSTD};
  int rc = 0;
  qv_nd_store *st, *dur, *st_pread;
  qv_error err;
  if (qv_nd_store_posix_new(dir, NULL, &dur, &err) != QV_OK) {
    printf("  %s\n", err.message);
    rc = 1;
    goto out;
  }
  if (qv_nd_store_posix_open(dir, QV_ND_POSIX_NO_FSYNC | QV_ND_POSIX_NO_MMAP, NULL, &st_pread, &err) != QV_OK) {
    qv_nd_store_close(dur);
    printf("  %s\n", err.message);
    rc = 1;
    goto out;
  }
  if (qv_nd_store_posix_open(dir, QV_ND_POSIX_NO_FSYNC, NULL, &st, &err) != QV_OK) {
    qv_nd_store_close(st_pread);
    qv_nd_store_close(dur);
    printf("  %s\n", err.message);
    rc = 1;
    goto out;
  }
  for (int c = 0; c < 3; c++) {
    char name[64];
    snprintf(name, sizeof name, "b-%s.nd", codecs[c]);
    qv_nd_options o = qv_nd_options_default();
    o.max_pending_bytes = bytes + 1; /* one layer */
    o.cache_bytes = 0;                /* no decoded-chunk cache: like the peers' defaults */
    qv_nd_file *f;
    uint64_t shape[2] = {n, n}, chunk[2] = {CHUNK, CHUNK}, z[2] = {0, 0};
    qv_nd_array_def d = qv_nd_array_def_default();
    d.name = "a";
    d.dtype.type = QV_ND_FLOAT32;
    d.rank = 2;
    d.shape = shape;
    d.chunk_shape = chunk;
    d.codec = ids[c];
    d.level = 1;
    double twd = 0, tw = 0;
    qv_status s = QV_OK;
    /* durable once, then WREPS times without fsync (the best counts, as for the peers); the
     * last file stays for the reads */
    for (int pass = 0; pass <= WREPS && s == QV_OK; pass++) {
      char cmd[4300];
      snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", dir, name);
      if (system(cmd) != 0) printf("  (could not remove %s)\n", name);
      sync(); /* start every timed step without anyone's pending writeback */
      double t0 = qv_bench_now();
      s = qv_nd_create(pass ? st : dur, name, &o, &f, &err);
      if (s != QV_OK) break;
      if (s == QV_OK) s = qv_nd_define(f, &d, &err);
      if (s == QV_OK) s = qv_nd_write(f, "a", z, shape, a, bytes, &err);
      if (s == QV_OK) s = qv_nd_flush(f, &err);
      double t = qv_bench_now() - t0;
      if (!pass) twd = t;
      else if (pass == 1 || t < tw) tw = t;
      if (pass < WREPS) qv_nd_close(f);
    }
    qv_nd_info in;
    if (s == QV_OK) s = qv_nd_info_get(f, "a", &in, &err);
    uint64_t stored = s == QV_OK ? in.stored_bytes : 0;
    qv_nd_close(f);
    if (s != QV_OK) {
      printf("  ndfile %s: %s\n", codecs[c], err.message);
      rc = 1;
      continue;
    }
    double tr = 0, trr = 0, tra = 0, trp = 0, trrp = 0;
    QV_TRY_GOTO(s, time_reads(st, name, &o, n, a, b, &tr, &trr, &tra, &err), fail);
    QV_TRY_GOTO(s, time_reads(st_pread, name, &o, n, a, b, &trp, &trrp, NULL, &err), fail);
    double t0;
    /* the same write (no fsync) and full read on the calling thread only (opts.threads = 1;
     * the lines above use the default: automatic, i.e. every online CPU for big operations) */
    double tr2 = 0, tw2 = 0;
    if (s == QV_OK) {
      qv_nd_options o2 = o;
      o2.threads = 1;
      char name2[80], cmd[4300];
      snprintf(name2, sizeof name2, "t2-%s", name);
      snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", dir, name2);
      for (int rep = 0; rep < WREPS && s == QV_OK; rep++) { /* best of WREPS, as above */
        sync();
        t0 = qv_bench_now();
        s = qv_nd_create(st, name2, &o2, &f, &err);
        if (s == QV_OK) {
          s = qv_nd_define(f, &d, &err);
          if (s == QV_OK) s = qv_nd_write(f, "a", z, shape, a, bytes, &err);
          if (s == QV_OK) s = qv_nd_flush(f, &err);
          double t = qv_bench_now() - t0;
          if (rep == 0 || t < tw2) tw2 = t;
          qv_nd_close(f);
        }
        if (system(cmd) != 0) printf("  (could not remove %s)\n", name2);
      }
    }
    if (s == QV_OK) {
      qv_nd_options o2 = o;
      o2.threads = 1;
      s = time_reads(st, name, &o2, n, a, b, &tr2, NULL, NULL, &err); /* the whole read only */
    }
  fail:
    if (s != QV_OK) {
      printf("  ndfile %s: %s\n", codecs[c], err.message);
      rc = 1;
      continue;
    }
    printf("  -- codec %s: ndfile stores %.1f MiB (%.2fx smaller)\n", codecs[c], (double)stored / 1048576.0,
           stored ? (double)bytes / (double)stored : 0);
    {
      char label[96];
      snprintf(label, sizeof label, "ndfile %s write, durable (fsync)", codecs[c]);
      double zs = find(peers, np, "zarr", codecs[c], "write");
      qv_bench_report(label, (double)bytes / 1048576.0 / twd, "MiB/s", zs > 0 ? zs / twd : 0, "zarr (no fsync)");
    }
    const char *ops[3] = {"write", "read", "random"};
    double ours[3] = {tw, tr, trr};
    for (int op = 0; op < 3; op++) {
      char label[96];
      double mbs = (double)(op == 2 ? (uint64_t)READS * CHUNK * CHUNK * 4 : bytes) / 1048576.0;
      snprintf(label, sizeof label, "ndfile %s %s%s", codecs[c], ops[op], op == 2 ? " (1000 chunks)" : op == 0 ? " (no fsync)" : "");
      double zs = find(peers, np, "zarr", codecs[c], ops[op]);
      double hs = find(peers, np, "h5py", codecs[c], ops[op]);
      qv_bench_report(label, mbs / ours[op], "MiB/s", zs > 0 ? zs / ours[op] : 0, "zarr");
      if (hs > 0) {
        snprintf(label, sizeof label, "  (zarr %.0f MiB/s, %s %.0f MiB/s)", zs > 0 ? mbs / zs : 0, h5label(codecs[c]), mbs / hs);
        qv_bench_report(label, mbs / ours[op], "MiB/s", hs / ours[op], h5label(codecs[c]));
      }
    }
    {
      char label[96];
      double zs = find(peers, np, "zarr", codecs[c], "write");
      if (tw2 > 0) {
        snprintf(label, sizeof label, "ndfile %s write (no fsync), 1 thread", codecs[c]);
        qv_bench_report(label, (double)bytes / 1048576.0 / tw2, "MiB/s", zs > 0 ? zs / tw2 : 0, "zarr");
      }
      snprintf(label, sizeof label, "ndfile %s read, 1 thread", codecs[c]);
      zs = find(peers, np, "zarr", codecs[c], "read");
      qv_bench_report(label, (double)bytes / 1048576.0 / tr2, "MiB/s", zs > 0 ? zs / tr2 : 0, "zarr");
      snprintf(label, sizeof label, "ndfile %s read, pread (NO_MMAP)", codecs[c]);
      qv_bench_report(label, (double)bytes / 1048576.0 / trp, "MiB/s", zs > 0 ? zs / trp : 0, "zarr");
      snprintf(label, sizeof label, "ndfile %s random, pread (NO_MMAP)", codecs[c]);
      zs = find(peers, np, "zarr", codecs[c], "random");
      double rb = (double)((uint64_t)READS * CHUNK * CHUNK * 4) / 1048576.0;
      qv_bench_report(label, rb / trrp, "MiB/s", zs > 0 ? zs / trrp : 0, "zarr");
      double hs = find(peers, np, "h5py", codecs[c], "random");
      if (c == 0) { /* (compressed chunks are decoded into a new array each time: not a view) */
        snprintf(label, sizeof label, "ndfile %s random as Arrow arrays (views)", codecs[c]);
        qv_bench_report(label, rb / tra, "MiB/s", zs > 0 ? zs / tra : 0, "zarr");
      }
      if (c == 0 && hs > 0) {
        snprintf(label, sizeof label, "  (%s %.0f MiB/s)", h5label(codecs[c]), rb / hs);
        qv_bench_report(label, rb / tra, "MiB/s", hs / tra, h5label(codecs[c]));
      }
      if (c > 0) { /* what any reader that decodes each chunk can reach here */
        double td = decode_ceiling(ids[c], a, n);
        zs = find(peers, np, "zarr", codecs[c], "random");
        snprintf(label, sizeof label, "  ceiling: %s decode alone, no read/checks", codecs[c]);
        if (td > 0) qv_bench_report(label, rb / td, "MiB/s", zs > 0 ? zs / td : 0, "zarr");
      }
      if (c == 0) { /* what any reader that copies chunks out of the page cache can reach here */
        double tp = 0, tm = 0;
        if (copy_ceiling(dir, name, n, b, &tp, &tm) == 0) {
          zs = find(peers, np, "zarr", codecs[c], "random");
          qv_bench_report("  ceiling: pread of 1000 chunks, no checks", rb / tp, "MiB/s", zs > 0 ? zs / tp : 0, "zarr");
          qv_bench_report("  ceiling: memcpy from a mapping, no checks", rb / tm, "MiB/s", zs > 0 ? zs / tm : 0, "zarr");
        }
      }
    }
    char path[4200];
    snprintf(path, sizeof path, "rm -rf '%s/%s'", dir, name);
    if (system(path) != 0) printf("  (could not remove %s)\n", name);
  }
  qv_nd_store_close(st);
  qv_nd_store_close(st_pread);
  qv_nd_store_close(dur);
out:
  {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("  (could not remove %s)\n", dir);
  }
  free(peers);
  free(a);
  free(b);
  return rc;
}
