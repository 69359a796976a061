/* nd_support.c — helpers shared by the ndfile tests (see nd_support.h). */
#include "nd_support.h"

#include <stdio.h>
#include <stdlib.h>

#include <xxhash.h>

uint64_t nd_rand(uint64_t *s) { return qv_test_rand(s); }

void nd_rmdir(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  QV_CHECK_INT_EQ(system(cmd), 0);
}

void nd_posix_pair(const char *dir, qv_nd_store **map, qv_nd_store **rd) {
  QV_REQUIRE_OK(qv_nd_store_posix_open(dir, QV_ND_POSIX_NO_FSYNC, NULL, map, NULL));
  QV_REQUIRE_OK(qv_nd_store_posix_open(dir, QV_ND_POSIX_NO_FSYNC | QV_ND_POSIX_NO_MMAP, NULL, rd, NULL));
}

uint64_t nd_prod(uint32_t rank, const uint64_t *shape) {
  uint64_t n = 1;
  for (uint32_t i = 0; i < rank; i++) n *= shape[i];
  return n;
}

qv_status nd_define(qv_nd_file *f, const char *name, qv_nd_dtype dt, uint32_t rank,
                    const uint64_t *shape, const uint64_t *chunk, uint32_t codec,
                    qv_error *err) {
  qv_nd_array_def d = qv_nd_array_def_default();
  d.name = name;
  d.dtype = dt;
  d.rank = rank;
  d.shape = shape;
  d.chunk_shape = chunk;
  d.codec = codec;
  return qv_nd_define(f, &d, err);
}

typedef struct sb {
  char *p;
  size_t len, cap;
} sb;

static void sb_add(sb *b, const char *fmt, ...) QV_PRINTF(2, 3);
static void sb_add(sb *b, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (b->p && (size_t)n < b->cap - b->len) {
      b->len += (size_t)n;
      return;
    }
    b->cap = (b->cap + (size_t)n + 1) * 2;
    b->p = realloc(b->p, b->cap);
  }
}

char *nd_snapshot(qv_nd_file *f, qv_error *err) {
  sb b = {0};
  sb_add(&b, "arrays %zu\n", qv_nd_count(f));
  for (size_t i = 0; i < qv_nd_count(f); i++) {
    const char *name = qv_nd_name(f, i);
    qv_nd_info in;
    char dts[64];
    if (qv_nd_info_get(f, name, &in, err) != QV_OK) goto fail;
    sb_add(&b, "%s %s rank %u codec %u fill %zu:", name, qv_nd_dtype_str(in.dtype, dts, sizeof dts),
           in.rank, in.codec, in.fill_len);
    for (uint32_t k = 0; k < in.rank; k++)
      sb_add(&b, " %llu/%llu[%s]", (unsigned long long)in.shape[k],
             (unsigned long long)in.chunk_shape[k], in.dim_names[k]);
    sb_add(&b, "\n");
    for (size_t a = 0; a < qv_nd_attr_count(f, name); a++) {
      const char *key = qv_nd_attr_key(f, name, a);
      qv_nd_attr v;
      if (qv_nd_attr_get(f, name, key, &v, err) != QV_OK) goto fail;
      sb_add(&b, "  attr %s kind %d list %d count %zu", key, (int)v.kind, (int)v.is_list, v.count);
      for (size_t j = 0; j < v.count; j++) {
        if (v.kind == QV_ND_ATTR_BOOL) sb_add(&b, " %d", ((const uint8_t *)v.values)[j]);
        else if (v.kind == QV_ND_ATTR_INT) sb_add(&b, " %lld", (long long)((const int64_t *)v.values)[j]);
        else if (v.kind == QV_ND_ATTR_FLOAT) sb_add(&b, " %.17g", ((const double *)v.values)[j]);
        else {
          const qv_nd_bytes *x = (const qv_nd_bytes *)v.values + j;
          sb_add(&b, " '%.*s'", (int)x->len, (const char *)x->data);
        }
      }
      sb_add(&b, "\n");
    }
    qv_nd_stats st;
    if (qv_nd_stats_get(f, name, &st, err) != QV_OK) goto fail;
    sb_add(&b, "  stats count %llu fill %llu minmax %d %llx %llx\n", (unsigned long long)st.count,
           (unsigned long long)st.fill_count, (int)st.has_minmax, (unsigned long long)st.min.u,
           (unsigned long long)st.max.u);
    uint64_t zero[QV_ND_MAX_RANK] = {0};
    uint64_t n = nd_prod(in.rank, in.shape);
    if (in.dtype.type == QV_ND_STRING || in.dtype.type == QV_ND_BINARY) {
      qv_nd_varbuf vb;
      if (qv_nd_read_var(f, name, zero, in.shape, &vb, err) != QV_OK) goto fail;
      sb_add(&b, "  data %llx\n", (unsigned long long)XXH64(vb.data, vb.data_len, vb.n));
      qv_nd_varbuf_reset(&vb);
    } else {
      size_t len = (size_t)n * qv_nd_dtype_width(in.dtype);
      void *buf = malloc(len ? len : 1);
      if (qv_nd_read(f, name, zero, in.shape, buf, len, err) != QV_OK) {
        free(buf);
        goto fail;
      }
      sb_add(&b, "  data %llx\n", (unsigned long long)XXH64(buf, len, 0));
      free(buf);
    }
  }
  return b.p;
fail:
  free(b.p);
  return NULL;
}

void nd_box(uint32_t rank, size_t w, uint8_t *full, const uint64_t *shape, const uint64_t *start,
            const uint64_t *cnt, uint8_t *part, bool apply) {
  uint64_t n = nd_prod(rank, cnt);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t rem = i, off = 0, mul = 1, idx[QV_ND_MAX_RANK];
    for (uint32_t k = rank; k-- > 0;) {
      idx[k] = rem % cnt[k];
      rem /= cnt[k];
    }
    for (uint32_t k = rank; k-- > 0;) {
      off += (start[k] + idx[k]) * mul;
      mul *= shape[k];
    }
    if (apply) memcpy(full + off * w, part + i * w, w);
    else memcpy(part + i * w, full + off * w, w);
  }
}

void nd_put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t nd_get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

uint8_t *nd_get_obj(qv_nd_store *st, const char *name, uint64_t *size) {
  if (st->size(st, name, size, NULL) != QV_OK) return NULL;
  uint8_t *p = malloc(*size ? (size_t)*size : 1);
  if (p && st->read_at(st, name, 0, p, (size_t)*size, NULL) != QV_OK) {
    free(p);
    p = NULL;
  }
  return p;
}

void nd_reseal(uint8_t *obj, uint64_t size) {
  uint64_t flen = nd_get_u64(obj + size - 40);
  nd_put_u64(obj + size - 32, (uint64_t)XXH3_64bits(obj + size - 40 - flen, (size_t)flen));
  nd_put_u64(obj + size - 16, (uint64_t)XXH3_64bits(obj + size - 40, 24));
}

uint64_t nd_data_start(const uint8_t *obj) { return obj[12] & 1 ? 4096 : 16; }

qv_status nd_put_obj(qv_nd_store *st, const char *name, const uint8_t *p, size_t len) {
  qv_nd_store_writer *w;
  QV_TRY(st->writer_open(st, name, &w, NULL));
  qv_status s = st->writer_append(w, p, len, NULL);
  if (s < 0) {
    st->writer_abort(w);
    return s;
  }
  return st->writer_commit(w, 0, NULL);
}
