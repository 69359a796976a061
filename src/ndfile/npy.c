/* npy.c — the NumPy .npy bridge: checked parsing of v1/v2/v3 headers (little-endian and
 * single-byte dtypes, C order), header writing, and import/export of whole files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ndfile/file_int.h"

static const struct {
  const char *code; /* without the byte-order character */
  qv_nd_type t;
} npy_types[] = {
    {"b1", QV_ND_BOOL},   {"i1", QV_ND_INT8},    {"i2", QV_ND_INT16},   {"i4", QV_ND_INT32},
    {"i8", QV_ND_INT64},  {"u1", QV_ND_UINT8},   {"u2", QV_ND_UINT16},  {"u4", QV_ND_UINT32},
    {"u8", QV_ND_UINT64}, {"f4", QV_ND_FLOAT32}, {"f8", QV_ND_FLOAT64}, {"M8[ns]", QV_ND_TIMESTAMP_NS},
};
#define N_NPY (sizeof npy_types / sizeof npy_types[0])

typedef struct hp {
  const char *p, *end;
} hp;

static void ws(hp *h) {
  while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
}
static bool lit(hp *h, char c) {
  ws(h);
  if (h->p < h->end && *h->p == c) {
    h->p++;
    return true;
  }
  return false;
}
/* a quoted string ('..' or "..") into buf */
static bool qstr(hp *h, char *buf, size_t cap) {
  ws(h);
  if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return false;
  char q = *h->p++;
  size_t n = 0;
  while (h->p < h->end && *h->p != q) {
    if (n + 1 >= cap) return false;
    buf[n++] = *h->p++;
  }
  if (h->p >= h->end) return false;
  h->p++;
  buf[n] = 0;
  return true;
}

qv_status qv_npy_parse(const void *bytes, size_t len, qv_npy_view *out, qv_error *err) {
  const uint8_t *b = bytes;
  memset(out, 0, sizeof *out);
  if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return qv_error_set_at(err, QV_E_CORRUPT, 0, ".npy: bad magic (not a NumPy .npy file)");
  uint8_t major = b[6];
  size_t hl, hstart;
  if (major == 1) {
    hl = qv__load_u16le(b + 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12) return qv_error_set(err, QV_E_CORRUPT, ".npy: truncated header");
    hl = qv__load_u32le(b + 8);
    hstart = 12;
  } else {
    return qv_error_set(err, QV_E_UNSUPPORTED, ".npy: format version %u.%u", major, b[7]);
  }
  if (qv__range_bad(hstart, hl, len))
    return qv_error_set(err, QV_E_CORRUPT, ".npy: header of %zu bytes runs past the file (%zu bytes)", hl, len);
  hp h = {(const char *)b + hstart, (const char *)b + hstart + hl};
  char key[64], descr[64] = "";
  bool have_descr = false, have_order = false, have_shape = false, fortran = false;
  if (!lit(&h, '{')) return qv_error_set(err, QV_E_CORRUPT, ".npy: header is not a dict");
  while (!lit(&h, '}')) {
    if (!qstr(&h, key, sizeof key) || !lit(&h, ':'))
      return qv_error_set(err, QV_E_CORRUPT, ".npy: malformed header dict");
    if (strcmp(key, "descr") == 0) {
      if (!qstr(&h, descr, sizeof descr))
        return qv_error_set(err, QV_E_UNSUPPORTED, ".npy: only simple dtypes are supported (structured descr)");
      have_descr = true;
    } else if (strcmp(key, "fortran_order") == 0) {
      ws(&h);
      if ((size_t)(h.end - h.p) >= 4 && memcmp(h.p, "True", 4) == 0) {
        fortran = true;
        h.p += 4;
      } else if ((size_t)(h.end - h.p) >= 5 && memcmp(h.p, "False", 5) == 0) {
        h.p += 5;
      } else {
        return qv_error_set(err, QV_E_CORRUPT, ".npy: fortran_order is not True/False");
      }
      have_order = true;
    } else if (strcmp(key, "shape") == 0) {
      if (!lit(&h, '(')) return qv_error_set(err, QV_E_CORRUPT, ".npy: shape is not a tuple");
      while (!lit(&h, ')')) {
        ws(&h);
        uint64_t v = 0;
        const char *d0 = h.p;
        while (h.p < h.end && *h.p >= '0' && *h.p <= '9') {
          if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(*h.p - '0'), &v))
            return qv_error_set(err, QV_E_CORRUPT, ".npy: shape dimension overflows");
          h.p++;
        }
        if (h.p == d0) return qv_error_set(err, QV_E_CORRUPT, ".npy: malformed shape");
        if (out->rank == QV_ND_MAX_RANK)
          return qv_error_set(err, QV_E_LIMIT, ".npy: more than %d dimensions", QV_ND_MAX_RANK);
        out->shape[out->rank++] = v;
        if (!lit(&h, ',')) {
          if (!lit(&h, ')')) return qv_error_set(err, QV_E_CORRUPT, ".npy: malformed shape");
          break;
        }
      }
      have_shape = true;
    } else {
      return qv_error_set(err, QV_E_CORRUPT, ".npy: unknown header key '%s'", key);
    }
    if (!lit(&h, ',')) {
      if (!lit(&h, '}')) return qv_error_set(err, QV_E_CORRUPT, ".npy: malformed header dict");
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape)
    return qv_error_set(err, QV_E_CORRUPT, ".npy: header lacks descr, fortran_order or shape");
  if (fortran)
    return qv_error_set(err, QV_E_UNSUPPORTED, ".npy: fortran_order arrays are not supported (save with C order)");
  char order = descr[0];
  const char *code = descr + 1;
  if (order != '<' && order != '|' && order != '>' && order != '=')
    return qv_error_set(err, QV_E_UNSUPPORTED, ".npy: dtype '%s' is not supported", descr);
  for (size_t i = 0; i < N_NPY; i++)
    if (strcmp(code, npy_types[i].code) == 0) out->dtype.type = npy_types[i].t;
  if (!out->dtype.type) return qv_error_set(err, QV_E_UNSUPPORTED, ".npy: dtype '%s' is not supported", descr);
  size_t w = qv_nd_dtype_width(out->dtype);
  if (order == '>' && w > 1)
    return qv_error_set(err, QV_E_UNSUPPORTED, ".npy: big-endian dtype '%s' is not supported", descr);
  uint64_t n = 1;
  for (uint32_t k = 0; k < out->rank; k++)
    if (__builtin_mul_overflow(n, out->shape[k], &n))
      return qv_error_set(err, QV_E_CORRUPT, ".npy: element count overflows");
  uint64_t nbytes;
  if (__builtin_mul_overflow(n, w, &nbytes) || nbytes != len - hstart - hl)
    return qv_error_set(err, QV_E_CORRUPT, ".npy: data is %zu bytes, shape and dtype need %llu",
                        len - hstart - hl, (unsigned long long)(n * w));
  out->data = b + hstart + hl;
  out->data_len = (size_t)nbytes;
  return QV_OK;
}

qv_status qv_npy_header(qv_nd_dtype dtype, uint32_t rank, const uint64_t *shape, void *buf,
                        size_t cap, size_t *hdr_len, qv_error *err) {
  const char *code = NULL;
  for (size_t i = 0; i < N_NPY; i++)
    if (npy_types[i].t == dtype.type) code = npy_types[i].code;
  if (!code || dtype.list_size)
    return qv_error_set(err, QV_E_UNSUPPORTED, ".npy: dtype cannot be written (numeric scalars only)");
  if (rank > QV_ND_MAX_RANK) return qv_error_set(err, QV_E_LIMIT, ".npy: rank too large");
  char dict[1024];
  size_t w = qv_nd_dtype_width(dtype);
  int n = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                   w == 1 ? '|' : '<', code);
  for (uint32_t k = 0; k < rank; k++)
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%llu%s", (unsigned long long)shape[k],
                  rank == 1 ? "," : (k + 1 < rank ? ", " : ""));
  n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
  size_t dl = (size_t)n;
  size_t pre = 10;
  size_t total = (pre + dl + 1 + 63) / 64 * 64;
  if (total - pre > 65535) {
    pre = 12;
    total = (pre + dl + 1 + 63) / 64 * 64;
  }
  if (total > cap) return qv_error_set(err, QV_E_LIMIT, ".npy: header buffer too small");
  uint8_t *o = buf;
  memcpy(o, "\x93NUMPY", 6);
  o[6] = pre == 10 ? 1 : 2;
  o[7] = 0;
  if (pre == 10) qv__store_u16le(o + 8, (uint16_t)(total - pre));
  else qv__store_u32le(o + 8, (uint32_t)(total - pre));
  memcpy(o + pre, dict, dl);
  memset(o + pre + dl, ' ', total - pre - dl - 1);
  o[total - 1] = '\n';
  *hdr_len = total;
  return QV_OK;
}

/* The bytes of a file: mapped read-only (a big .npy costs no memory), or read when it cannot be
 * mapped (empty, or not a regular file). Release with unload_file. */
typedef struct loaded {
  const uint8_t *p;
  size_t len, cap; /* cap: the allocation when read (0 when mapped) */
  bool mapped;
} loaded;

static qv_status load_file(const char *path, loaded *out, qv_error *err) {
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return qv_error_set(err, errno == ENOENT ? QV_E_NOTFOUND : QV_E_IO, "%s: %s", path, strerror(errno));
  struct stat sb;
  qv_status s = QV_OK;
  if (fstat(fd, &sb) != 0 || sb.st_size < 0) s = qv_error_set(err, QV_E_IO, "%s: cannot determine the size", path);
  else if ((uint64_t)sb.st_size > SIZE_MAX / 2) s = qv_error_set(err, QV_E_LIMIT, "%s: too large", path);
  size_t len = s == QV_OK ? (size_t)sb.st_size : 0;
  if (s == QV_OK && S_ISREG(sb.st_mode) && len) {
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
      *out = (loaded){m, len, 0, true};
      close(fd);
      return QV_OK;
    }
  }
  uint8_t *buf = NULL;
  size_t got = 0, cap = 0;
  while (s == QV_OK) { /* read it (also works where the size is unknown, e.g. a pipe) */
    if (got == cap) {
      size_t nc = cap ? cap * 2 : (len ? len + 1 : 65536);
      uint8_t *nb = qv_mem_realloc(NULL, buf, cap, nc, 64);
      if (!nb) {
        s = qv__nomem(err, ".npy file", nc);
        break;
      }
      buf = nb;
      cap = nc;
    }
    ssize_t r = read(fd, buf + got, cap - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) s = qv_error_set(err, QV_E_IO, "%s: %s", path, strerror(errno));
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (s < 0) {
    qv_mem_free(NULL, buf, cap, 64);
    return s;
  }
  *out = (loaded){buf, got, cap, false};
  return QV_OK;
}

static void unload_file(loaded *l) {
  if (l->mapped) munmap((void *)(uintptr_t)l->p, l->len);
  else qv_mem_free(NULL, (void *)(uintptr_t)l->p, l->cap, 64);
  memset(l, 0, sizeof *l);
}

qv_status qv_nd_import_npy(qv_nd_file *f, const qv_nd_array_def *def, const char *npy_path,
                           qv_error *err) {
  loaded file;
  QV_TRY(load_file(npy_path, &file, err));
  qv_npy_view v;
  qv_status s = qv_npy_parse(file.p, file.len, &v, err);
  if (s < 0) qv_error_prefix(err, "%s: ", npy_path);
  if (s == QV_OK) {
    qv_nd_array_def d = *def;
    d.dtype = v.dtype;
    d.rank = v.rank;
    d.shape = v.shape;
    uint64_t chunk[QV_ND_MAX_RANK];
    if (def->chunk_shape && def->rank != v.rank)
      s = qv_error_set(err, QV_E_INVALID, "chunk shape has %u dimensions, the .npy array %u", def->rank, v.rank);
    if (s == QV_OK && def->dim_names && def->rank != v.rank)
      s = qv_error_set(err, QV_E_INVALID, "%u dimension names for a rank-%u array", def->rank, v.rank);
    if (s == QV_OK && def->chunk_shape) {
      memcpy(chunk, def->chunk_shape, v.rank * sizeof *chunk);
      d.chunk_shape = chunk;
    }
    if (s == QV_OK) s = qv_nd_define(f, &d, err);
    uint64_t zero[QV_ND_MAX_RANK] = {0};
    if (s == QV_OK) s = qv_nd_write(f, d.name, zero, v.shape, v.data, v.data_len, err);
    if (s < 0) qv_error_prefix(err, "%s: ", npy_path);
  }
  unload_file(&file);
  return s;
}

/* .npy exports are read and written in bands of about this many bytes along dimension 0. */
#define ND_NPY_BAND ((size_t)8 << 20)

qv_status qv_nd_export_npy(qv_nd_file *f, const char *name, const uint64_t *start,
                           const uint64_t *shape, const char *npy_path, qv_error *err) {
  qv_nd_info in;
  QV_TRY(qv__nd_describe(f, name, &in, err));
  uint64_t st[QV_ND_MAX_RANK] = {0}, sh[QV_ND_MAX_RANK] = {0};
  uint32_t rank = in.rank;
  qv__nd_region_or_all(rank, in.shape, start, shape, st, sh);
  uint64_t nelem;
  QV_TRY(qv__nd_region_check(name, rank, in.shape, st, sh, &nelem, err)); /* before a file exists */
  uint8_t hdr[4096];
  size_t hl;
  QV_TRY(qv_npy_header(in.dtype, rank, sh, hdr, sizeof hdr, &hl, err));
  size_t w = qv_nd_dtype_width(in.dtype);
  uint64_t row = w; /* bytes per index of dimension 0 (rank 0: the element) */
  for (uint32_t k = 1; k < rank; k++)
    if (__builtin_mul_overflow(row, sh[k], &row)) return qv_error_set(err, QV_E_LIMIT, "region too large");
  /* rows of no bytes (an extent 0 past dimension 0) make one band: one empty read */
  uint64_t rows = rank ? sh[0] : 1, band = !row ? rows : row < ND_NPY_BAND ? ND_NPY_BAND / row : 1;
  if (band > rows || !band) band = rows ? rows : 1;
  if (row > SIZE_MAX / band) return qv_error_set(err, QV_E_LIMIT, "region too large");
  size_t cap = (size_t)(row * band);
  uint8_t *data = qv_mem_alloc(NULL, cap ? cap : 1, 64);
  if (!data) return qv__nomem(err, "export band", cap);
  qv_status s = QV_OK;
  FILE *fp = fopen(npy_path, "wb");
  if (!fp) s = qv_error_set(err, QV_E_IO, "%s: %s", npy_path, strerror(errno));
  else if (fwrite(hdr, 1, hl, fp) != hl) s = qv_error_set(err, QV_E_IO, "%s: write failed", npy_path);
  for (uint64_t r0 = 0; s == QV_OK && r0 < rows; r0 += band) {
    uint64_t b = rows - r0 < band ? rows - r0 : band, bst[QV_ND_MAX_RANK], bsh[QV_ND_MAX_RANK];
    memcpy(bst, st, rank * sizeof *st);
    memcpy(bsh, sh, rank * sizeof *sh);
    if (rank) {
      bst[0] += r0;
      bsh[0] = b;
    }
    size_t bytes = (size_t)(b * row);
    s = qv_nd_read(f, name, bst, bsh, data, bytes, err);
    if (s == QV_OK && fwrite(data, 1, bytes, fp) != bytes) s = qv_error_set(err, QV_E_IO, "%s: write failed", npy_path);
  }
  if (fp && fclose(fp) != 0 && s == QV_OK) s = qv_error_set(err, QV_E_IO, "%s: close failed", npy_path);
  if (fp && s < 0) (void)remove(npy_path); /* no partial file */
  qv_mem_free(NULL, data, cap ? cap : 1, 64);
  return s;
}
