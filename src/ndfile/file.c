/* file.c — the ndfile handle: open/create, the resolved view of arrays over the layer stack,
 * pending (unflushed) changes, region reads and writes, attributes, statistics, flush and
 * compaction with the commit protocol of docs/spec/ndfile.md §2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ndfile/nd_int.h"

typedef struct nd_pchunk {
  uint64_t chunk;
  uint8_t *raw;
  size_t len;
} nd_pchunk;

typedef struct nd_pend {
  uint8_t kind;
  nd_meta meta; /* meta.name always set */
  nd_arena arena;
  nd_pchunk *chunks;
  size_t n, cap;
} nd_pend;

typedef struct nd_link {
  const nd_layer *layer;
  const nd_entry *entry;
} nd_link;

typedef struct nd_varr {
  const char *name;
  const nd_meta *meta;
  nd_link *chain;
  size_t n_chain;
} nd_varr;

struct qv_nd_file {
  qv_nd_store *store;
  char *path;
  qv_nd_options opts;
  const qv_allocator *alloc;
  pthread_rwlock_t lock;
  nd_cache *cache;
  nd_layer *layers; /* [0] = newest */
  size_t n_layers;
  nd_arena view_arena;
  nd_varr *view;
  size_t n_view;
  nd_pend **pend; /* sorted by name */
  size_t n_pend, cap_pend;
  size_t pending_bytes;
  bool poisoned;
  const char **names;
  size_t n_names, cap_names;
};

typedef struct nd_res {
  const nd_meta *meta;
  nd_pend *pend;
  const nd_link *chain;
  size_t n_chain;
} nd_res;

/* ---- options ---- */
qv_nd_options qv_nd_options_default(void) {
  qv_nd_options o;
  memset(&o, 0, sizeof o);
  o.cache_bytes = 64u << 20;
  o.max_pending_bytes = 256u << 20;
  o.limits.max_footer_bytes = 256u << 20;
  o.limits.max_arrays = 1000000;
  o.limits.max_rank = QV_ND_MAX_RANK;
  o.limits.max_name = 4096;
  o.limits.max_attrs = 65536;
  o.limits.max_attr_bytes = 16u << 20;
  o.limits.max_chunk_bytes = 1u << 30;
  o.limits.max_layers = 1000000;
  return o;
}

qv_nd_array_def qv_nd_array_def_default(void) {
  qv_nd_array_def d;
  memset(&d, 0, sizeof d);
  d.dtype.type = QV_ND_FLOAT64;
  d.codec = QV_ND_CODEC_NONE;
  d.level = 3;
  return d;
}

/* ---- small helpers ---- */
static void coord_str(const nd_meta *m, uint64_t c, char *buf, size_t cap) {
  uint64_t idx[QV_ND_MAX_RANK];
  for (uint32_t k = m->rank; k-- > 0;) {
    idx[k] = m->grid[k] ? c % m->grid[k] : 0;
    c = m->grid[k] ? c / m->grid[k] : 0;
  }
  size_t n = 0;
  n += (size_t)snprintf(buf, cap, "(");
  for (uint32_t k = 0; k < m->rank && n < cap; k++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%llu", k ? "," : "", (unsigned long long)idx[k]);
  if (n < cap) snprintf(buf + n, cap - n, ")");
}

/* Chunk buffers. Big ones get a transparent-huge-page hint (as numpy does for big arrays):
 * first touch of a multi-MiB chunk then costs a few faults instead of thousands. */
static void *raw_alloc(const qv_allocator *a, size_t len) {
  void *p = qv_mem_alloc(a, len ? len : 1, 64);
#ifdef MADV_HUGEPAGE
  if (p && len >= (4u << 20)) {
    uintptr_t lo = ((uintptr_t)p + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
    uintptr_t hi = ((uintptr_t)p + len) & ~(uintptr_t)((2u << 20) - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
  }
#endif
  return p;
}
static void raw_free(const qv_allocator *a, void *p, size_t len) { qv_mem_free(a, p, len ? len : 1, 64); }

static nd_pend *find_pend(qv_nd_file *f, const char *name, size_t *pos) {
  size_t lo = 0, hi = f->n_pend;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(f->pend[mid]->meta.name, name);
    if (c == 0) {
      if (pos) *pos = mid;
      return f->pend[mid];
    }
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  if (pos) *pos = lo;
  return NULL;
}

static nd_varr *find_view(qv_nd_file *f, const char *name) {
  size_t lo = 0, hi = f->n_view;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(f->view[mid].name, name);
    if (c == 0) return &f->view[mid];
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  return NULL;
}

static qv_status resolve(qv_nd_file *f, const char *name, nd_res *r, qv_error *err) {
  memset(r, 0, sizeof *r);
  if (!name) return qv_error_set(err, QV_E_INVALID, "array name is NULL");
  nd_pend *p = find_pend(f, name, NULL);
  nd_varr *v = find_view(f, name);
  if (p) {
    if (p->kind == ND_KIND_TOMBSTONE) goto missing;
    r->pend = p;
    r->meta = &p->meta;
    if (p->kind == ND_KIND_UPDATE && v) {
      r->chain = v->chain;
      r->n_chain = v->n_chain;
    }
    return QV_OK;
  }
  if (v) {
    r->meta = v->meta;
    r->chain = v->chain;
    r->n_chain = v->n_chain;
    return QV_OK;
  }
missing:
  return qv_error_set(err, QV_E_NOTFOUND, "no array named '%s'", name);
}

static void pend_free(qv_nd_file *f, nd_pend *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) raw_free(f->alloc, p->chunks[i].raw, p->chunks[i].len);
  qv_mem_free(f->alloc, p->chunks, p->cap * sizeof(nd_pchunk), 0);
  qv__nd_arena_free(&p->arena);
  qv_mem_free(f->alloc, p, sizeof *p, 0);
}

static void pend_clear_all(qv_nd_file *f) {
  for (size_t i = 0; i < f->n_pend; i++) pend_free(f, f->pend[i]);
  f->n_pend = 0;
  f->pending_bytes = 0;
}

/* Deep copy of a meta into an arena. */
static qv_status meta_copy(nd_arena *a, nd_meta *dst, const nd_meta *src, qv_error *err) {
  *dst = *src;
  dst->name = qv__nd_arena_strndup(a, src->name, strlen(src->name));
  dst->fill = qv__nd_arena_alloc(a, src->fill_len);
  dst->attrs = src->n_attrs ? qv__nd_arena_alloc(a, src->n_attrs * sizeof(nd_attr)) : NULL;
  if (!dst->name || !dst->fill || (src->n_attrs && !dst->attrs)) return qv__nomem(err, "array metadata", 0);
  if (src->fill_len) memcpy(dst->fill, src->fill, src->fill_len);
  for (uint32_t k = 0; k < src->rank; k++) {
    dst->dims[k] = qv__nd_arena_strndup(a, src->dims[k], strlen(src->dims[k]));
    if (!dst->dims[k]) return qv__nomem(err, "array metadata", 0);
  }
  for (size_t i = 0; i < src->n_attrs; i++) {
    const nd_attr *s = &src->attrs[i];
    nd_attr *d = &dst->attrs[i];
    *d = *s;
    d->key = qv__nd_arena_strndup(a, s->key, strlen(s->key));
    if (!d->key) return qv__nomem(err, "attribute", 0);
    if (s->kind <= QV_ND_ATTR_FLOAT) {
      size_t es = s->kind == QV_ND_ATTR_BOOL ? 1 : 8;
      d->values = qv__nd_arena_alloc(a, s->count * es);
      if (!d->values) return qv__nomem(err, "attribute", s->count * es);
      if (s->count) memcpy(d->values, s->values, s->count * es);
    } else {
      qv_nd_bytes *vs = qv__nd_arena_alloc(a, s->count * sizeof *vs + 1);
      if (!vs) return qv__nomem(err, "attribute", s->count * sizeof *vs);
      for (size_t j = 0; j < s->count; j++) {
        const qv_nd_bytes *b = (const qv_nd_bytes *)s->values + j;
        vs[j].data = qv__nd_arena_strndup(a, b->data, b->len);
        vs[j].len = b->len;
        if (!vs[j].data) return qv__nomem(err, "attribute", b->len);
      }
      d->values = vs;
    }
  }
  return QV_OK;
}

static qv_status pend_insert(qv_nd_file *f, size_t pos, nd_pend *p, qv_error *err) {
  if (f->n_pend == f->cap_pend) {
    size_t nc = f->cap_pend ? f->cap_pend * 2 : 8;
    nd_pend **np = qv_mem_realloc(f->alloc, f->pend, f->cap_pend * sizeof *np, nc * sizeof *np, 0);
    if (!np) return qv__nomem(err, "pending arrays", nc * sizeof *np);
    f->pend = np;
    f->cap_pend = nc;
  }
  memmove(f->pend + pos + 1, f->pend + pos, (f->n_pend - pos) * sizeof *f->pend);
  f->pend[pos] = p;
  f->n_pend++;
  return QV_OK;
}

static qv_status pend_new(qv_nd_file *f, uint8_t kind, const nd_meta *m, const char *name,
                          nd_pend **out, qv_error *err) {
  nd_pend *p = qv_mem_calloc(f->alloc, sizeof *p, 0);
  if (!p) return qv__nomem(err, "pending array", sizeof *p);
  qv__nd_arena_init(&p->arena, f->alloc);
  p->kind = kind;
  qv_status s;
  if (m) {
    s = meta_copy(&p->arena, &p->meta, m, err);
  } else {
    p->meta.name = qv__nd_arena_strndup(&p->arena, name, strlen(name));
    s = p->meta.name ? QV_OK : qv__nomem(err, "array name", strlen(name));
  }
  if (s < 0) {
    pend_free(f, p);
    return s;
  }
  *out = p;
  return QV_OK;
}

/* The pending record of a live array, made (as an UPDATE) if needed. */
static qv_status pend_for_update(qv_nd_file *f, const char *name, nd_res *r, qv_error *err) {
  QV_TRY(resolve(f, name, r, err));
  if (r->pend) return QV_OK;
  size_t pos;
  find_pend(f, name, &pos);
  nd_pend *p;
  QV_TRY(pend_new(f, ND_KIND_UPDATE, r->meta, NULL, &p, err));
  qv_status s = pend_insert(f, pos, p, err);
  if (s < 0) {
    pend_free(f, p);
    return s;
  }
  r->pend = p;
  r->meta = &p->meta;
  return QV_OK;
}

static nd_pchunk *pend_chunk(nd_pend *p, uint64_t c, size_t *pos) {
  size_t lo = 0, hi = p->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (p->chunks[mid].chunk == c) {
      if (pos) *pos = mid;
      return &p->chunks[mid];
    }
    if (p->chunks[mid].chunk < c) lo = mid + 1; else hi = mid;
  }
  if (pos) *pos = lo;
  return NULL;
}

static const nd_chunk_ent *entry_chunk(const nd_entry *e, uint64_t c) {
  size_t lo = 0, hi = (size_t)e->n_chunks;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (e->chunks[mid].chunk == c) return &e->chunks[mid];
    if (e->chunks[mid].chunk < c) lo = mid + 1; else hi = mid;
  }
  return NULL;
}

/* ---- names ---- */
static qv_status rebuild_names(qv_nd_file *f, qv_error *err) {
  size_t need = f->n_view + f->n_pend;
  if (need > f->cap_names) {
    const char **nn = qv_mem_realloc(f->alloc, f->names, f->cap_names * sizeof *nn,
                                     need * sizeof *nn, 0);
    if (!nn) {
      f->n_names = 0;
      return qv__nomem(err, "array names", need * sizeof *nn);
    }
    f->names = nn;
    f->cap_names = need;
  }
  size_t i = 0, j = 0, n = 0;
  while (i < f->n_view || j < f->n_pend) {
    int c = i == f->n_view ? 1 : j == f->n_pend ? -1 : strcmp(f->view[i].name, f->pend[j]->meta.name);
    if (c < 0) {
      f->names[n++] = f->view[i++].name;
    } else {
      if (f->pend[j]->kind != ND_KIND_TOMBSTONE) f->names[n++] = f->pend[j]->meta.name;
      if (c == 0) i++;
      j++;
    }
  }
  f->n_names = n;
  return QV_OK;
}

/* ---- view over the layer stack (§6) ---- */
typedef struct vref {
  const char *name;
  uint32_t li, ei;
} vref;

static int vref_cmp(const void *a, const void *b) {
  const vref *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c) return c;
  return x->li < y->li ? -1 : x->li > y->li;
}

static bool same_shape(const nd_meta *a, const nd_meta *b) {
  if (a->dtype.type != b->dtype.type || a->dtype.list_size != b->dtype.list_size || a->rank != b->rank)
    return false;
  for (uint32_t k = 0; k < a->rank; k++)
    if (a->shape[k] != b->shape[k] || a->chunk[k] != b->chunk[k]) return false;
  return true;
}

static qv_status build_view(qv_nd_file *f, qv_error *err) {
  qv__nd_arena_free(&f->view_arena);
  qv__nd_arena_init(&f->view_arena, f->alloc);
  f->view = NULL;
  f->n_view = 0;
  size_t total = 0;
  for (size_t li = 0; li < f->n_layers; li++) total += f->layers[li].n_entries;
  if (!total) return QV_OK;
  vref *refs = qv_mem_alloc(f->alloc, total * sizeof *refs, 0);
  if (!refs) return qv__nomem(err, "array index", total * sizeof *refs);
  size_t n = 0;
  for (size_t li = 0; li < f->n_layers; li++)
    for (size_t ei = 0; ei < f->layers[li].n_entries; ei++)
      refs[n++] = (vref){f->layers[li].entries[ei].meta.name, (uint32_t)li, (uint32_t)ei};
  qsort(refs, n, sizeof *refs, vref_cmp);
  qv_status s = QV_OK;
  f->view = qv__nd_arena_alloc(&f->view_arena, total * sizeof(nd_varr));
  nd_link *links = qv__nd_arena_alloc(&f->view_arena, total * sizeof(nd_link));
  if (!f->view || !links) {
    s = qv__nomem(err, "array index", total * sizeof(nd_varr));
    goto done;
  }
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && strcmp(refs[j].name, refs[i].name) == 0) j++;
    const nd_entry *top = &f->layers[refs[i].li].entries[refs[i].ei];
    if (top->kind != ND_KIND_TOMBSTONE) {
      nd_varr *v = &f->view[f->n_view];
      v->name = top->meta.name;
      v->meta = &top->meta;
      v->chain = links;
      bool defined = false;
      for (size_t k = i; k < j && !defined; k++) {
        const nd_layer *L = &f->layers[refs[k].li];
        const nd_entry *e = &L->entries[refs[k].ei];
        if (e->kind == ND_KIND_TOMBSTONE || !same_shape(&e->meta, &top->meta)) {
          s = qv_error_set(err, QV_E_CORRUPT,
                           "array '%s': layer %llu %s below an update in layer %llu",
                           top->meta.name, (unsigned long long)L->seq,
                           e->kind == ND_KIND_TOMBSTONE ? "deletes it" : "has a different shape or dtype",
                           (unsigned long long)f->layers[refs[i].li].seq);
          goto done;
        }
        links[v->n_chain].layer = L;
        links[v->n_chain].entry = e;
        v->n_chain++;
        defined = e->kind == ND_KIND_DEFINE;
      }
      if (!defined) {
        s = qv_error_set(err, QV_E_CORRUPT,
                         "array '%s': layer %llu updates it but no layer in the stack defines it",
                         top->meta.name, (unsigned long long)f->layers[refs[i].li].seq);
        goto done;
      }
      links += v->n_chain;
      f->n_view++;
    }
    i = j;
  }
done:
  qv_mem_free(f->alloc, refs, total * sizeof *refs, 0);
  if (s < 0) f->n_view = 0;
  return s;
}

/* ---- open / create / close ---- */
typedef struct seqlist {
  qv_nd_file *f;
  size_t prefix_len;
  uint64_t *v;
  size_t n, cap;
  qv_status s;
} seqlist;

static int list_cb(void *ctx, const char *name, uint64_t size) {
  (void)size;
  seqlist *l = ctx;
  uint64_t seq;
  if (!qv__nd_layer_seq(name, l->prefix_len, &seq)) return 0;
  if (l->n >= l->f->opts.limits.max_layers) {
    l->s = QV_E_LIMIT;
    return 1;
  }
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 16;
    uint64_t *nv = qv_mem_realloc(l->f->alloc, l->v, l->cap * 8, nc * 8, 0);
    if (!nv) {
      l->s = QV_E_NOMEM;
      return 1;
    }
    l->v = nv;
    l->cap = nc;
  }
  l->v[l->n++] = seq;
  return 0;
}

static int u64_desc(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

static void free_layers(qv_nd_file *f) {
  for (size_t i = 0; i < f->n_layers; i++) qv__nd_layer_free(&f->layers[i]);
  qv_mem_free(f->alloc, f->layers, f->n_layers * sizeof(nd_layer), 0);
  f->layers = NULL;
  f->n_layers = 0;
}

static qv_status load_stack(qv_nd_file *f, qv_error *err) {
  char prefix[4200];
  snprintf(prefix, sizeof prefix, "%s/", f->path);
  seqlist l = {f, strlen(prefix), NULL, 0, 0, QV_OK};
  qv_status s = f->store->list(f->store, prefix, list_cb, &l, err);
  if (s == QV_OK && l.s == QV_E_LIMIT)
    s = qv_error_set(err, QV_E_LIMIT, "'%s' has more than %llu layers", f->path,
                     (unsigned long long)f->opts.limits.max_layers);
  else if (s == QV_OK && l.s == QV_E_NOMEM)
    s = qv__nomem(err, "layer list", l.cap * 8);
  if (s < 0) goto done;
  if (l.n == 0) {
    s = qv_error_set(err, QV_E_NOTFOUND, "no ndfile at '%s' (no layers)", f->path);
    goto done;
  }
  qsort(l.v, l.n, 8, u64_desc);
  size_t start = 0;
  if (f->opts.as_of_layer) {
    while (start < l.n && l.v[start] > f->opts.as_of_layer) start++;
    if (start == l.n || l.v[start] != f->opts.as_of_layer) {
      s = qv_error_set(err, QV_E_NOTFOUND, "'%s' has no layer %llu (compacted away or never written)",
                       f->path, (unsigned long long)f->opts.as_of_layer);
      goto done;
    }
  }
  f->layers = qv_mem_calloc(f->alloc, (l.n - start) * sizeof(nd_layer), 0);
  if (!f->layers) {
    s = qv__nomem(err, "layers", (l.n - start) * sizeof(nd_layer));
    goto done;
  }
  /* n_layers counts the loaded ones; the array has room for l.n - start */
  size_t room = l.n - start;
  uint64_t expect = l.v[start];
  for (size_t i = start; i < l.n; i++) {
    if (l.v[i] != expect) {
      s = qv_error_set(err, QV_E_CORRUPT, "'%s': layer %llu is missing (found layer %llu above it and no base in between)",
                       f->path, (unsigned long long)expect, (unsigned long long)l.v[start]);
      break;
    }
    s = qv__nd_layer_load(f->store, f->path, l.v[i], &f->opts.limits, f->alloc,
                          &f->layers[f->n_layers], err);
    if (s < 0) break;
    f->n_layers++;
    if (f->layers[f->n_layers - 1].flags & ND_FLAG_BASE) break;
    expect--;
    if (i + 1 == l.n) {
      s = qv_error_set(err, QV_E_CORRUPT, "'%s': no base layer below layer %llu", f->path,
                       (unsigned long long)l.v[i]);
    }
  }
  if (s == QV_OK) {
    /* shrink bookkeeping: free_layers uses n_layers for the size */
    if (room != f->n_layers) {
      nd_layer *nl = qv_mem_realloc(f->alloc, f->layers, room * sizeof(nd_layer),
                                    f->n_layers * sizeof(nd_layer), 0);
      if (nl) f->layers = nl;
      else {
        s = qv__nomem(err, "layers", 0);
        f->n_layers = room; /* free with the right size; entries past n are zero */
      }
    }
  } else {
    size_t loaded = f->n_layers;
    for (size_t i = 0; i < loaded; i++) qv__nd_layer_free(&f->layers[i]);
    qv_mem_free(f->alloc, f->layers, room * sizeof(nd_layer), 0);
    f->layers = NULL;
    f->n_layers = 0;
  }
done:
  qv_mem_free(f->alloc, l.v, l.cap * 8, 0);
  return s;
}

static qv_status file_new(qv_nd_store *store, const char *path, const qv_nd_options *opts,
                          qv_nd_file **out, qv_error *err) {
  if (!store || store->version < 1 || !path)
    return qv_error_set(err, QV_E_INVALID, "ndfile: a store (version >= 1) and a path are required");
  if (strlen(path) > 4000) return qv_error_set(err, QV_E_LIMIT, "ndfile path too long");
  qv_nd_options o = opts ? *opts : qv_nd_options_default();
  if (o.limits.max_rank > QV_ND_MAX_RANK) o.limits.max_rank = QV_ND_MAX_RANK;
  if (o.as_of_layer) o.read_only = true;
  qv_nd_file *f = qv_mem_calloc(o.alloc, sizeof *f, 0);
  if (!f) return qv__nomem(err, "ndfile", sizeof *f);
  f->alloc = o.alloc;
  f->opts = o;
  f->store = store;
  f->path = qv_mem_strdup(f->alloc, path);
  qv__nd_arena_init(&f->view_arena, f->alloc);
  qv_status s = f->path ? qv__nd_cache_new(o.cache_bytes, f->alloc, &f->cache, err)
                        : qv__nomem(err, "ndfile path", strlen(path));
  if (s < 0) {
    qv_mem_strfree(f->alloc, f->path);
    qv_mem_free(f->alloc, f, sizeof *f, 0);
    return s;
  }
  pthread_rwlock_init(&f->lock, NULL);
  *out = f;
  return QV_OK;
}

void qv_nd_close(qv_nd_file *f) {
  if (!f) return;
  pend_clear_all(f);
  qv_mem_free(f->alloc, f->pend, f->cap_pend * sizeof *f->pend, 0);
  qv_mem_free(f->alloc, f->names, f->cap_names * sizeof *f->names, 0);
  qv__nd_arena_free(&f->view_arena);
  free_layers(f);
  qv__nd_cache_free(f->cache);
  pthread_rwlock_destroy(&f->lock);
  qv_mem_strfree(f->alloc, f->path);
  qv_mem_free(f->alloc, f, sizeof *f, 0);
}

static qv_status open_stack(qv_nd_file *f, qv_error *err) {
  qv_status s = QV_OK;
  /* A concurrent compaction may remove layers between listing and loading: retry a little. */
  for (int attempt = 0; attempt < 3; attempt++) {
    s = load_stack(f, err);
    if (s != QV_E_NOTFOUND || f->opts.as_of_layer) break;
    if (err && strstr(err->message, "no ndfile at")) break;
  }
  if (s < 0) return s;
  s = build_view(f, err);
  if (s == QV_OK) s = rebuild_names(f, err);
  return s;
}

qv_status qv_nd_open(qv_nd_store *store, const char *path, const qv_nd_options *opts,
                     qv_nd_file **out, qv_error *err) {
  qv_nd_file *f;
  QV_TRY(file_new(store, path, opts, &f, err));
  qv_status s = open_stack(f, err);
  if (s < 0) {
    qv_nd_close(f);
    return s;
  }
  *out = f;
  return QV_OK;
}

static qv_status publish(qv_nd_file *f, uint64_t seq, bool base, qv_error *err);

qv_status qv_nd_create(qv_nd_store *store, const char *path, const qv_nd_options *opts,
                       qv_nd_file **out, qv_error *err) {
  qv_nd_file *f;
  QV_TRY(file_new(store, path, opts, &f, err));
  qv_status s = f->opts.read_only ? qv_error_set(err, QV_E_STATE, "cannot create read-only") : QV_OK;
  if (s == QV_OK) {
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/", f->path);
    seqlist l = {f, strlen(prefix), NULL, 0, 0, QV_OK};
    s = store->list(store, prefix, list_cb, &l, err);
    qv_mem_free(f->alloc, l.v, l.cap * 8, 0);
    if (s == QV_OK && l.n)
      s = qv_error_set(err, QV_E_EXISTS, "an ndfile already exists at '%s'", path);
  }
  if (s == QV_OK) s = publish(f, 1, true, err);
  if (s == QV_E_CONFLICT) {
    qv_error_set(err, QV_E_EXISTS, "an ndfile already exists at '%s'", path);
    s = QV_E_EXISTS;
  }
  if (s < 0) {
    qv_nd_close(f);
    return s;
  }
  *out = f;
  return QV_OK;
}

/* ---- chunk access ---- */
typedef struct chunk_ref {
  const uint8_t *data; /* NULL: fill */
  size_t len;
  nd_cached h;
} chunk_ref;

static void chunk_release(qv_nd_file *f, chunk_ref *c) {
  if (c->h.data) qv__nd_cache_release(f->cache, &c->h);
  c->data = NULL;
}

static qv_status check_var_raw(const uint8_t *raw, size_t len, uint64_t n) {
  if (len / 4 < n) return QV_E_CORRUPT;
  uint64_t total = 0;
  for (uint64_t i = 0; i < n; i++) total += qv__load_u32le(raw + i * 4);
  return total == len - n * 4 ? QV_OK : QV_E_CORRUPT;
}

/* Reads block `ce` of layer L, checks its checksum, and decodes it into dst (exactly raw_len
 * bytes; also checks the value lengths of string/binary chunks). */
static qv_status fetch_block(qv_nd_file *f, const nd_layer *L, const nd_meta *m,
                             const nd_chunk_ent *ce, uint8_t *dst, qv_error *err) {
  char cs[200];
  size_t stored = (size_t)ce->stored_len, rawn = (size_t)ce->raw_len;
  uint8_t *sbuf = dst;
  if (ce->codec != QV_ND_CODEC_NONE) {
    sbuf = raw_alloc(f->alloc, stored);
    if (!sbuf) return qv__nomem(err, "chunk block", stored);
  }
  qv_status s = f->store->read_at(f->store, L->path, ce->offset, sbuf, stored, err);
  if (s < 0) {
    coord_str(m, ce->chunk, cs, sizeof cs);
    qv_error_prefix(err, "layer %llu block of '%s' chunk %s: ", (unsigned long long)L->seq, m->name, cs);
  } else if (qv__nd_hash(sbuf, stored) != ce->hash) {
    coord_str(m, ce->chunk, cs, sizeof cs);
    s = qv_error_set_at(err, QV_E_CORRUPT, (int64_t)ce->offset,
                        "layer %llu block of '%s' chunk %s: checksum mismatch",
                        (unsigned long long)L->seq, m->name, cs);
  } else if (ce->codec != QV_ND_CODEC_NONE) {
    s = qv__nd_decode(ce->codec, sbuf, stored, dst, rawn, err);
    if (s < 0) {
      coord_str(m, ce->chunk, cs, sizeof cs);
      qv_error_prefix(err, "layer %llu block of '%s' chunk %s (codec %u): ",
                      (unsigned long long)L->seq, m->name, cs, ce->codec);
    }
  }
  if (sbuf != dst) raw_free(f->alloc, sbuf, stored);
  if (s == QV_OK && qv__nd_type_var(m->dtype)) {
    uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK];
    uint64_t ne = qv__nd_chunk_extent(m, ce->chunk, org, ext);
    if (check_var_raw(dst, rawn, ne) < 0) {
      coord_str(m, ce->chunk, cs, sizeof cs);
      s = qv_error_set(err, QV_E_CORRUPT, "layer %llu block of '%s' chunk %s: value lengths do not add up",
                       (unsigned long long)L->seq, m->name, cs);
    }
  }
  return s;
}

/* Loads, checks and decodes a block of layer L (through the cache). */
static qv_status load_block(qv_nd_file *f, nd_cache *cache, const nd_layer *L, const nd_meta *m,
                            const nd_chunk_ent *ce, nd_cached *out, qv_error *err) {
  if (qv__nd_cache_get(cache, L->seq, ce->offset, out)) return QV_OK;
  size_t rawn = (size_t)ce->raw_len;
  uint8_t *raw = raw_alloc(f->alloc, rawn);
  if (!raw) return qv__nomem(err, "chunk", rawn);
  qv_status s = fetch_block(f, L, m, ce, raw, err);
  if (s < 0) {
    raw_free(f->alloc, raw, rawn);
    return s;
  }
  return qv__nd_cache_put(cache, L->seq, ce->offset, raw, rawn, out, err);
}

/* The stored block of chunk c, if any (newest layer first). */
static const nd_chunk_ent *find_stored(const nd_res *r, uint64_t c, const nd_layer **L) {
  for (size_t i = 0; i < r->n_chain; i++) {
    const nd_chunk_ent *ce = entry_chunk(r->chain[i].entry, c);
    if (ce) {
      *L = r->chain[i].layer;
      return ce;
    }
  }
  return NULL;
}

static qv_status get_chunk(qv_nd_file *f, const nd_res *r, uint64_t c, chunk_ref *out,
                           qv_error *err) {
  memset(out, 0, sizeof *out);
  if (r->pend) {
    nd_pchunk *pc = pend_chunk(r->pend, c, NULL);
    if (pc) {
      out->data = pc->raw;
      out->len = pc->len;
      return QV_OK;
    }
  }
  const nd_layer *L;
  const nd_chunk_ent *ce = find_stored(r, c, &L);
  if (ce) {
    QV_TRY(load_block(f, f->cache, L, r->meta, ce, &out->h, err));
    out->data = out->h.data;
    out->len = out->h.len;
  }
  return QV_OK; /* no block: fill */
}

/* ---- regions ---- */
static qv_status check_region(const nd_meta *m, const uint64_t *start, const uint64_t *shape,
                              uint64_t *nelem, qv_error *err) {
  uint64_t n = 1;
  if (m->rank && (!start || !shape))
    return qv_error_set(err, QV_E_INVALID, "array '%s': start and shape are required", m->name);
  for (uint32_t k = 0; k < m->rank; k++) {
    if (shape[k] > m->shape[k] || start[k] > m->shape[k] - shape[k])
      return qv_error_set(err, QV_E_RANGE,
                          "array '%s': region [%llu, +%llu) in dimension %u is outside its extent %llu",
                          m->name, (unsigned long long)start[k], (unsigned long long)shape[k], k,
                          (unsigned long long)m->shape[k]);
    n *= shape[k];
  }
  *nelem = n;
  return QV_OK;
}

/* Iterates the chunks a region touches; calls fn with chunk number, chunk origin/extent and
 * the intersection (lo = absolute start, cnt = counts). */
typedef qv_status (*chunk_fn)(void *ctx, uint64_t c, const uint64_t *origin, const uint64_t *ext,
                              const uint64_t *lo, const uint64_t *cnt, qv_error *err);

static qv_status for_chunks(const nd_meta *m, const uint64_t *start, const uint64_t *shape,
                            chunk_fn fn, void *ctx, qv_error *err) {
  uint32_t R = m->rank;
  uint64_t c0[QV_ND_MAX_RANK], c1[QV_ND_MAX_RANK], cc[QV_ND_MAX_RANK];
  uint64_t org[QV_ND_MAX_RANK] = {0}, ext[QV_ND_MAX_RANK] = {0}, lo[QV_ND_MAX_RANK] = {0}, cnt[QV_ND_MAX_RANK] = {0};
  for (uint32_t k = 0; k < R; k++) {
    if (shape[k] == 0) return QV_OK;
    c0[k] = start[k] / m->chunk[k];
    c1[k] = (start[k] + shape[k] - 1) / m->chunk[k];
    cc[k] = c0[k];
  }
  for (;;) {
    uint64_t c = 0;
    for (uint32_t k = 0; k < R; k++) {
      c = c * m->grid[k] + cc[k];
      org[k] = cc[k] * m->chunk[k];
      uint64_t left = m->shape[k] - org[k];
      ext[k] = left < m->chunk[k] ? left : m->chunk[k];
      lo[k] = org[k] > start[k] ? org[k] : start[k];
      uint64_t hi = org[k] + ext[k] < start[k] + shape[k] ? org[k] + ext[k] : start[k] + shape[k];
      cnt[k] = hi - lo[k];
    }
    QV_TRY(fn(ctx, c, org, ext, lo, cnt, err));
    uint32_t k = R;
    for (;;) {
      if (k == 0) return QV_OK;
      k--;
      if (++cc[k] <= c1[k]) break;
      cc[k] = c0[k];
    }
  }
}

static void fill_box(uint32_t R, size_t w, const uint8_t *fill, uint8_t *dst,
                     const uint64_t *dshape, const uint64_t *dstart, const uint64_t *cnt) {
  if (R == 0) {
    memcpy(dst, fill, w);
    return;
  }
  uint64_t str[QV_ND_MAX_RANK], idx[QV_ND_MAX_RANK] = {0};
  str[R - 1] = 1;
  for (uint32_t k = R - 1; k-- > 0;) str[k] = str[k + 1] * dshape[k + 1];
  for (uint32_t k = 0; k < R; k++)
    if (!cnt[k]) return;
  bool zero = true;
  for (size_t i = 0; i < w; i++) zero = zero && fill[i] == 0;
  for (;;) {
    uint64_t off = 0;
    for (uint32_t k = 0; k < R; k++) off += (dstart[k] + (k + 1 < R ? idx[k] : 0)) * str[k];
    uint8_t *p = dst + off * w;
    if (zero) memset(p, 0, (size_t)cnt[R - 1] * w);
    else
      for (uint64_t i = 0; i < cnt[R - 1]; i++) memcpy(p + i * w, fill, w);
    uint32_t k = R - 1;
    for (;;) {
      if (k == 0) return;
      k--;
      if (++idx[k] < cnt[k]) break;
      idx[k] = 0;
    }
  }
}

typedef struct rctx {
  qv_nd_file *f;
  nd_res *r;
  const uint64_t *start, *shape;
  uint8_t *out;
  const uint8_t *in;
} rctx;

static qv_status read_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                          const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  rctx *x = vc;
  const nd_meta *m = x->r->meta;
  uint64_t src_start[QV_ND_MAX_RANK], dst_start[QV_ND_MAX_RANK];
  for (uint32_t k = 0; k < m->rank; k++) {
    src_start[k] = lo[k] - org[k];
    dst_start[k] = lo[k] - x->start[k];
  }
  /* A whole chunk that lands contiguously in the output and would not stay in the cache is
   * decoded straight into the output: no intermediate buffer, no copy. */
  bool direct = !(x->r->pend && pend_chunk(x->r->pend, c, NULL));
  for (uint32_t k = 0; k < m->rank && direct; k++)
    direct = cnt[k] == ext[k] && (k == 0 || x->shape[k] == ext[k]);
  if (direct) {
    const nd_layer *L;
    const nd_chunk_ent *ce = find_stored(x->r, c, &L);
    if (ce && ce->raw_len / 4 >= qv__nd_cache_budget(x->f->cache)) {
      nd_cached h;
      if (!qv__nd_cache_get(x->f->cache, L->seq, ce->offset, &h)) {
        uint64_t off = 0;
        for (uint32_t k = 0; k < m->rank; k++) off = off * x->shape[k] + dst_start[k];
        return fetch_block(x->f, L, m, ce, x->out + off * m->width, err);
      }
      qv__nd_cache_release(x->f->cache, &h);
    }
  }
  chunk_ref cr;
  QV_TRY(get_chunk(x->f, x->r, c, &cr, err));
  if (!cr.data)
    fill_box(m->rank, m->width, m->fill, x->out, x->shape, dst_start, cnt);
  else
    qv__nd_copy_box(m->rank, m->width, cr.data, ext, src_start, x->out, x->shape, dst_start, cnt);
  chunk_release(x->f, &cr);
  return QV_OK;
}

static const uint64_t zero_dims[1] = {0};

qv_status qv_nd_read(qv_nd_file *f, const char *name, const uint64_t *start,
                     const uint64_t *shape, void *out, size_t len, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  uint64_t n = 0;
  qv_status s = resolve(f, name, &r, err);
  if (s == QV_OK && qv__nd_type_var(r.meta->dtype))
    s = qv_error_set(err, QV_E_TYPE, "array '%s' holds variable-length values: use qv_nd_read_var", name);
  if (s == QV_OK) s = check_region(r.meta, start, shape, &n, err);
  if (s == QV_OK && (n > SIZE_MAX / r.meta->width || n * r.meta->width != len))
    s = qv_error_set(err, QV_E_INVALID, "array '%s': region needs %llu bytes, buffer has %zu", name,
                     (unsigned long long)(n * r.meta->width), len);
  if (s == QV_OK) {
    if (!r.meta->rank) start = shape = zero_dims;
    rctx x = {f, &r, start, shape, out, NULL};
    s = for_chunks(r.meta, start, shape, read_one, &x, err);
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}

/* ---- writes ---- */
static qv_status maybe_autoflush(qv_nd_file *f, qv_error *err);

/* Makes sure chunk c has a pending buffer; loads the current content unless `whole`. */
static qv_status ensure_pchunk(qv_nd_file *f, nd_res *r, uint64_t c, bool whole, nd_pchunk **out,
                               qv_error *err) {
  size_t pos;
  nd_pchunk *pc = pend_chunk(r->pend, c, &pos);
  if (pc) {
    *out = pc;
    return QV_OK;
  }
  const nd_meta *m = r->meta;
  uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK];
  uint64_t ne = qv__nd_chunk_extent(m, c, org, ext);
  size_t len = (size_t)ne * m->width;
  uint8_t *raw = raw_alloc(f->alloc, len);
  if (!raw) return qv__nomem(err, "chunk", len);
  if (!whole) {
    chunk_ref cr;
    qv_status s = get_chunk(f, r, c, &cr, err);
    if (s < 0) {
      raw_free(f->alloc, raw, len);
      return s;
    }
    if (cr.data) memcpy(raw, cr.data, len);
    else {
      uint64_t z[QV_ND_MAX_RANK] = {0};
      fill_box(m->rank, m->width, m->fill, raw, ext, z, ext);
    }
    chunk_release(f, &cr);
  }
  nd_pend *p = r->pend;
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 8;
    nd_pchunk *np = qv_mem_realloc(f->alloc, p->chunks, p->cap * sizeof *np, nc * sizeof *np, 0);
    if (!np) {
      raw_free(f->alloc, raw, len);
      return qv__nomem(err, "pending chunks", nc * sizeof *np);
    }
    p->chunks = np;
    p->cap = nc;
  }
  memmove(p->chunks + pos + 1, p->chunks + pos, (p->n - pos) * sizeof *p->chunks);
  p->chunks[pos] = (nd_pchunk){c, raw, len};
  p->n++;
  f->pending_bytes += len;
  *out = &p->chunks[pos];
  return QV_OK;
}

static qv_status prep_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                          const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  (void)org;
  (void)lo;
  rctx *x = vc;
  bool whole = true;
  for (uint32_t k = 0; k < x->r->meta->rank; k++) whole = whole && cnt[k] == ext[k];
  nd_pchunk *pc;
  return ensure_pchunk(x->f, x->r, c, whole, &pc, err);
}

static qv_status write_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                           const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  (void)err;
  rctx *x = vc;
  const nd_meta *m = x->r->meta;
  uint64_t src_start[QV_ND_MAX_RANK], dst_start[QV_ND_MAX_RANK];
  for (uint32_t k = 0; k < m->rank; k++) {
    src_start[k] = lo[k] - x->start[k];
    dst_start[k] = lo[k] - org[k];
  }
  nd_pchunk *pc = pend_chunk(x->r->pend, c, NULL);
  qv__nd_copy_box(m->rank, m->width, x->in, x->shape, src_start, pc->raw, ext, dst_start, cnt);
  return QV_OK;
}

static qv_status check_writable(qv_nd_file *f, qv_error *err) {
  if (f->opts.read_only)
    return qv_error_set(err, QV_E_STATE, "ndfile '%s' is open read-only%s", f->path,
                        f->opts.as_of_layer ? " (opened as of an older layer)" : "");
  if (f->poisoned)
    return qv_error_set(err, QV_E_STATE, "ndfile '%s': an earlier flush failed after publishing; reopen the file", f->path);
  return QV_OK;
}

qv_status qv_nd_write(qv_nd_file *f, const char *name, const uint64_t *start,
                      const uint64_t *shape, const void *data, size_t len, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  nd_res r;
  uint64_t n = 0;
  qv_status s = check_writable(f, err);
  if (s == QV_OK) s = resolve(f, name, &r, err);
  if (s == QV_OK && qv__nd_type_var(r.meta->dtype))
    s = qv_error_set(err, QV_E_TYPE, "array '%s' holds variable-length values: use qv_nd_write_var", name);
  if (s == QV_OK) s = check_region(r.meta, start, shape, &n, err);
  if (s == QV_OK && (n > SIZE_MAX / r.meta->width || n * r.meta->width != len))
    s = qv_error_set(err, QV_E_INVALID, "array '%s': region needs %llu bytes, %zu given", name,
                     (unsigned long long)(n * r.meta->width), len);
  if (s == QV_OK) s = pend_for_update(f, name, &r, err);
  if (s == QV_OK) {
    if (!r.meta->rank) start = shape = zero_dims;
    rctx x = {f, &r, start, shape, NULL, data};
    s = for_chunks(r.meta, start, shape, prep_one, &x, err);
    if (s == QV_OK) s = for_chunks(r.meta, start, shape, write_one, &x, err);
  }
  if (s == QV_OK) s = maybe_autoflush(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

/* ---- variable-length values ---- */
void qv_nd_varbuf_reset(qv_nd_varbuf *v) {
  if (!v) return;
  if (v->offsets) qv_mem_free(v->alloc, v->offsets, (v->n + 1) * 8, 0);
  if (v->data) qv_mem_free(v->alloc, v->data, v->data_len ? v->data_len : 1, 0);
  memset(v, 0, sizeof *v);
}

/* element e of a var chunk (raw NULL: fill) */
static void var_elem(const nd_meta *m, const uint8_t *raw, const uint64_t *offs, uint64_t ne,
                     uint64_t e, const uint8_t **p, size_t *l) {
  if (!raw) {
    *p = m->fill;
    *l = m->fill_len;
    return;
  }
  *p = raw + ne * 4 + offs[e];
  *l = qv__load_u32le(raw + e * 4);
}

typedef struct vctx {
  qv_nd_file *f;
  nd_res *r;
  const uint64_t *start, *shape;
  qv_nd_varbuf *out;
  int pass;
  const void *const *values;
  const size_t *lens;
} vctx;

static qv_status chunk_offsets(qv_nd_file *f, const uint8_t *raw, uint64_t ne, uint64_t **offs,
                               qv_error *err) {
  *offs = qv_mem_alloc(f->alloc, (size_t)(ne + 1) * 8, 0);
  if (!*offs) return qv__nomem(err, "chunk offsets", (size_t)(ne + 1) * 8);
  uint64_t o = 0;
  for (uint64_t i = 0; i < ne; i++) {
    (*offs)[i] = o;
    o += raw ? qv__load_u32le(raw + i * 4) : 0;
  }
  (*offs)[ne] = o;
  return QV_OK;
}

/* Walks the intersection elementwise: chunk-local index and region-local index. */
#define FOR_BOX(R, org, ext, lo, cnt, start, shape, BODY)                                   \
  do {                                                                                     \
    uint64_t ix_[QV_ND_MAX_RANK] = {0};                                                    \
    bool empty_ = false;                                                                   \
    for (uint32_t k_ = 0; k_ < (R); k_++) empty_ = empty_ || !(cnt)[k_];                    \
    while (!empty_) {                                                                      \
      uint64_t ci = 0, ri = 0;                                                             \
      for (uint32_t k_ = 0; k_ < (R); k_++) {                                              \
        ci = ci * (ext)[k_] + ((lo)[k_] + ix_[k_] - (org)[k_]);                             \
        ri = ri * (shape)[k_] + ((lo)[k_] + ix_[k_] - (start)[k_]);                         \
      }                                                                                    \
      BODY;                                                                                \
      uint32_t k_ = (R);                                                                   \
      for (;;) {                                                                           \
        if (k_ == 0) { empty_ = true; break; }                                             \
        k_--;                                                                              \
        if (++ix_[k_] < (cnt)[k_]) break;                                                  \
        ix_[k_] = 0;                                                                       \
      }                                                                                    \
    }                                                                                      \
  } while (0)

static qv_status readvar_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                             const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  vctx *x = vc;
  const nd_meta *m = x->r->meta;
  chunk_ref cr;
  QV_TRY(get_chunk(x->f, x->r, c, &cr, err));
  uint64_t ne = 1;
  for (uint32_t k = 0; k < m->rank; k++) ne *= ext[k];
  uint64_t *offs;
  qv_status s = chunk_offsets(x->f, cr.data, ne, &offs, err);
  if (s == QV_OK) {
    FOR_BOX(m->rank, org, ext, lo, cnt, x->start, x->shape, {
      const uint8_t *p;
      size_t l;
      var_elem(m, cr.data, offs, ne, ci, &p, &l);
      if (x->pass == 0) x->out->offsets[ri + 1] = l;
      else if (l) memcpy(x->out->data + x->out->offsets[ri], p, l);
    });
    qv_mem_free(x->f->alloc, offs, (size_t)(ne + 1) * 8, 0);
  }
  chunk_release(x->f, &cr);
  return s;
}

qv_status qv_nd_read_var(qv_nd_file *f, const char *name, const uint64_t *start,
                         const uint64_t *shape, qv_nd_varbuf *out, qv_error *err) {
  memset(out, 0, sizeof *out);
  out->alloc = f->alloc;
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  uint64_t n = 0;
  qv_status s = resolve(f, name, &r, err);
  if (s == QV_OK && !qv__nd_type_var(r.meta->dtype))
    s = qv_error_set(err, QV_E_TYPE, "array '%s' holds fixed-width values: use qv_nd_read", name);
  if (s == QV_OK) s = check_region(r.meta, start, shape, &n, err);
  if (s == QV_OK && n > SIZE_MAX / 16) s = qv_error_set(err, QV_E_LIMIT, "region too large");
  if (s == QV_OK) {
    out->offsets = qv_mem_calloc(f->alloc, (size_t)(n + 1) * 8, 0);
    if (!out->offsets) s = qv__nomem(err, "offsets", (size_t)(n + 1) * 8);
    else out->n = (size_t)n;
  }
  if (s == QV_OK) {
    if (!r.meta->rank) start = shape = zero_dims;
    vctx x = {f, &r, start, shape, out, 0, NULL, NULL};
    s = for_chunks(r.meta, start, shape, readvar_one, &x, err);
    if (s == QV_OK) {
      for (size_t i = 0; i < n; i++) out->offsets[i + 1] += out->offsets[i];
      out->data_len = (size_t)out->offsets[n];
      out->data = qv_mem_alloc(f->alloc, out->data_len ? out->data_len : 1, 0);
      if (!out->data) s = qv__nomem(err, "values", out->data_len);
    }
    if (s == QV_OK) {
      x.pass = 1;
      s = for_chunks(r.meta, start, shape, readvar_one, &x, err);
    }
  }
  pthread_rwlock_unlock(&f->lock);
  if (s < 0) qv_nd_varbuf_reset(out);
  return s;
}

static qv_status writevar_one(void *vc, uint64_t c, const uint64_t *org, const uint64_t *ext,
                              const uint64_t *lo, const uint64_t *cnt, qv_error *err) {
  vctx *x = vc;
  qv_nd_file *f = x->f;
  const nd_meta *m = x->r->meta;
  chunk_ref cr;
  QV_TRY(get_chunk(f, x->r, c, &cr, err));
  uint64_t ne = 1;
  for (uint32_t k = 0; k < m->rank; k++) ne *= ext[k];
  uint64_t *offs = NULL;
  const void **vp = NULL;
  size_t *vl = NULL;
  uint8_t *raw = NULL;
  size_t total = 0;
  qv_status s = chunk_offsets(f, cr.data, ne, &offs, err);
  if (s == QV_OK) {
    vp = qv_mem_alloc(f->alloc, (size_t)ne * sizeof *vp + 1, 0);
    vl = qv_mem_alloc(f->alloc, (size_t)ne * sizeof *vl + 1, 0);
    if (!vp || !vl) s = qv__nomem(err, "chunk values", (size_t)ne * 16);
  }
  if (s == QV_OK) {
    for (uint64_t i = 0; i < ne; i++) {
      const uint8_t *p;
      var_elem(m, cr.data, offs, ne, i, &p, &vl[i]);
      vp[i] = p;
    }
    FOR_BOX(m->rank, org, ext, lo, cnt, x->start, x->shape, {
      vp[ci] = x->values[ri];
      vl[ci] = x->lens[ri];
    });
    total = (size_t)ne * 4;
    for (uint64_t i = 0; i < ne && s == QV_OK; i++) {
      if (vl[i] > UINT32_MAX || qv__add_overflow(total, vl[i], &total))
        s = qv_error_set(err, QV_E_LIMIT, "array '%s': value too long", m->name);
    }
    if (s == QV_OK && total > f->opts.limits.max_chunk_bytes)
      s = qv_error_set(err, QV_E_LIMIT, "array '%s': chunk of %zu bytes exceeds the chunk limit", m->name, total);
  }
  if (s == QV_OK) {
    raw = raw_alloc(f->alloc, total);
    if (!raw) s = qv__nomem(err, "chunk", total);
  }
  if (s == QV_OK) {
    size_t o = (size_t)ne * 4;
    for (uint64_t i = 0; i < ne; i++) {
      qv__store_u32le(raw + i * 4, (uint32_t)vl[i]);
      if (vl[i]) memcpy(raw + o, vp[i], vl[i]);
      o += vl[i];
    }
  }
  if (offs) qv_mem_free(f->alloc, offs, (size_t)(ne + 1) * 8, 0);
  if (vp) qv_mem_free(f->alloc, vp, (size_t)ne * sizeof *vp + 1, 0);
  if (vl) qv_mem_free(f->alloc, vl, (size_t)ne * sizeof *vl + 1, 0);
  chunk_release(f, &cr);
  if (s < 0) return s;
  nd_pend *p = x->r->pend;
  size_t pos;
  nd_pchunk *pc = pend_chunk(p, c, &pos);
  if (pc) {
    f->pending_bytes -= pc->len;
    raw_free(f->alloc, pc->raw, pc->len);
    pc->raw = raw;
    pc->len = total;
  } else {
    if (p->n == p->cap) {
      size_t nc = p->cap ? p->cap * 2 : 8;
      nd_pchunk *np = qv_mem_realloc(f->alloc, p->chunks, p->cap * sizeof *np, nc * sizeof *np, 0);
      if (!np) {
        raw_free(f->alloc, raw, total);
        return qv__nomem(err, "pending chunks", nc * sizeof *np);
      }
      p->chunks = np;
      p->cap = nc;
    }
    memmove(p->chunks + pos + 1, p->chunks + pos, (p->n - pos) * sizeof *p->chunks);
    p->chunks[pos] = (nd_pchunk){c, raw, total};
    p->n++;
  }
  f->pending_bytes += total;
  return QV_OK;
}

qv_status qv_nd_write_var(qv_nd_file *f, const char *name, const uint64_t *start,
                          const uint64_t *shape, const void *const *values, const size_t *lens,
                          size_t n, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  nd_res r;
  uint64_t ne = 0;
  qv_status s = check_writable(f, err);
  if (s == QV_OK) s = resolve(f, name, &r, err);
  if (s == QV_OK && !qv__nd_type_var(r.meta->dtype))
    s = qv_error_set(err, QV_E_TYPE, "array '%s' holds fixed-width values: use qv_nd_write", name);
  if (s == QV_OK) s = check_region(r.meta, start, shape, &ne, err);
  if (s == QV_OK && ne != n)
    s = qv_error_set(err, QV_E_INVALID, "array '%s': region holds %llu values, %zu given", name,
                     (unsigned long long)ne, n);
  if (s == QV_OK && n && (!values || !lens))
    s = qv_error_set(err, QV_E_INVALID, "values and lens are required");
  for (size_t i = 0; s == QV_OK && i < n; i++)
    if (!values[i] && lens[i]) s = qv_error_set(err, QV_E_INVALID, "value %zu is NULL", i);
  if (s == QV_OK) s = pend_for_update(f, name, &r, err);
  if (s == QV_OK) {
    if (!r.meta->rank) start = shape = zero_dims;
    vctx x = {f, &r, start, shape, NULL, 0, values, lens};
    s = for_chunks(r.meta, start, shape, writevar_one, &x, err);
  }
  if (s == QV_OK) s = maybe_autoflush(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

/* ---- define / delete ---- */
static bool name_ok(const char *n, const qv_nd_limits *lim) {
  size_t l = n ? strlen(n) : 0;
  return l > 0 && l <= lim->max_name && l <= 65535;
}

qv_status qv_nd_define(qv_nd_file *f, const qv_nd_array_def *d, qv_error *err) {
  if (!d) return qv_error_set(err, QV_E_INVALID, "definition is NULL");
  pthread_rwlock_wrlock(&f->lock);
  qv_status s = check_writable(f, err);
  nd_res r;
  if (s == QV_OK && !name_ok(d->name, &f->opts.limits))
    s = qv_error_set(err, QV_E_INVALID, "array name must be 1..%u bytes", f->opts.limits.max_name);
  if (s == QV_OK && resolve(f, d->name, &r, NULL) == QV_OK)
    s = qv_error_set(err, QV_E_EXISTS, "array '%s' already exists (delete it first)", d->name);
  if (s == QV_OK && (d->rank > QV_ND_MAX_RANK || (d->rank && !d->shape)))
    s = qv_error_set(err, QV_E_INVALID, "array '%s': rank %u needs a shape (max rank %d)", d->name, d->rank, QV_ND_MAX_RANK);
  if (s == QV_OK && !qv__nd_codec_known(d->codec))
    s = qv_error_set(err, QV_E_UNSUPPORTED, "array '%s': codec %u is not registered", d->name, d->codec);
  nd_pend *p = NULL;
  if (s == QV_OK) {
    size_t pos;
    nd_pend *old = find_pend(f, d->name, &pos);
    s = pend_new(f, ND_KIND_DEFINE, NULL, d->name, &p, err);
    nd_meta *m = p ? &p->meta : NULL;
    if (s == QV_OK) {
      m->dtype = d->dtype;
      m->rank = d->rank;
      m->codec = d->codec;
      m->level = d->level;
      for (uint32_t k = 0; k < d->rank; k++) {
        m->shape[k] = d->shape[k];
        uint64_t c = d->chunk_shape ? d->chunk_shape[k] : d->shape[k];
        m->chunk[k] = c ? c : 1;
        if (d->chunk_shape && d->chunk_shape[k] == 0)
          s = qv_error_set(err, QV_E_INVALID, "array '%s': chunk dimension %u is 0", d->name, k);
        const char *dn = d->dim_names && d->dim_names[k] ? d->dim_names[k] : "";
        if (strlen(dn) > f->opts.limits.max_name || strlen(dn) > 65535)
          s = qv_error_set(err, QV_E_INVALID, "array '%s': dimension name %u too long", d->name, k);
        m->dims[k] = qv__nd_arena_strndup(&p->arena, dn, strlen(dn));
        if (!m->dims[k] && s == QV_OK) s = qv__nomem(err, "dimension name", strlen(dn));
      }
    }
    if (s == QV_OK) {
      bool var = qv__nd_type_var(d->dtype);
      size_t w = qv_nd_dtype_width(d->dtype);
      m->fill_len = d->fill ? d->fill_len : (var ? 0 : w);
      if (m->fill_len > UINT32_MAX) s = qv_error_set(err, QV_E_LIMIT, "fill value too long");
      m->fill = qv__nd_arena_alloc(&p->arena, m->fill_len);
      if (s == QV_OK && !m->fill) s = qv__nomem(err, "fill", m->fill_len);
      if (s == QV_OK && d->fill && m->fill_len) memcpy(m->fill, d->fill, m->fill_len);
    }
    if (s == QV_OK) s = qv__nd_meta_derive(m, &f->opts.limits, err);
    if (s == QV_OK && !old) s = pend_insert(f, pos, p, err);
    if (s == QV_OK && old) {
      f->pending_bytes -= 0;
      for (size_t i = 0; i < old->n; i++) f->pending_bytes -= old->chunks[i].len;
      f->pend[pos] = p;
      pend_free(f, old);
    }
    if (s < 0) pend_free(f, p);
  }
  if (s == QV_OK) s = rebuild_names(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

qv_status qv_nd_delete(qv_nd_file *f, const char *name, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  nd_res r;
  qv_status s = check_writable(f, err);
  if (s == QV_OK) s = resolve(f, name, &r, err);
  if (s == QV_OK) {
    size_t pos;
    nd_pend *old = find_pend(f, name, &pos);
    bool in_layers = find_view(f, name) != NULL;
    if (old) {
      for (size_t i = 0; i < old->n; i++) f->pending_bytes -= old->chunks[i].len;
      if (!in_layers) { /* defined and deleted before any flush: nothing to record */
        pend_free(f, old);
        memmove(f->pend + pos, f->pend + pos + 1, (f->n_pend - pos - 1) * sizeof *f->pend);
        f->n_pend--;
      } else {
        for (size_t i = 0; i < old->n; i++) raw_free(f->alloc, old->chunks[i].raw, old->chunks[i].len);
        old->n = 0;
        old->kind = ND_KIND_TOMBSTONE;
      }
    } else {
      nd_pend *p;
      s = pend_new(f, ND_KIND_TOMBSTONE, NULL, name, &p, err);
      if (s == QV_OK) {
        s = pend_insert(f, pos, p, err);
        if (s < 0) pend_free(f, p);
      }
    }
  }
  if (s == QV_OK) s = rebuild_names(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

/* ---- info, names ---- */
typedef struct eff {
  uint64_t chunk;
  int32_t link; /* -1: pending */
  size_t idx;
} eff;

static int eff_cmp(const void *a, const void *b) {
  const eff *x = a, *y = b;
  if (x->chunk != y->chunk) return x->chunk < y->chunk ? -1 : 1;
  return x->link < y->link ? -1 : x->link > y->link;
}

/* The current chunks of an array, newest source winning, sorted by chunk number. */
static qv_status effective(qv_nd_file *f, const nd_res *r, eff **out, size_t *n, qv_error *err) {
  size_t total = r->pend ? r->pend->n : 0;
  for (size_t i = 0; i < r->n_chain; i++) total += (size_t)r->chain[i].entry->n_chunks;
  *out = NULL;
  *n = 0;
  if (!total) return QV_OK;
  eff *e = qv_mem_alloc(f->alloc, total * sizeof *e, 0);
  if (!e) return qv__nomem(err, "chunk list", total * sizeof *e);
  size_t k = 0;
  if (r->pend)
    for (size_t i = 0; i < r->pend->n; i++) e[k++] = (eff){r->pend->chunks[i].chunk, -1, i};
  for (size_t li = 0; li < r->n_chain; li++)
    for (size_t i = 0; i < r->chain[li].entry->n_chunks; i++)
      e[k++] = (eff){r->chain[li].entry->chunks[i].chunk, (int32_t)li, i};
  qsort(e, k, sizeof *e, eff_cmp);
  size_t m = 0;
  for (size_t i = 0; i < k; i++)
    if (m == 0 || e[m - 1].chunk != e[i].chunk) e[m++] = e[i];
  *out = e;
  *n = m;
  return QV_OK;
}

static void eff_free(qv_nd_file *f, eff *e, const nd_res *r) {
  size_t total = r->pend ? r->pend->n : 0;
  for (size_t i = 0; i < r->n_chain; i++) total += (size_t)r->chain[i].entry->n_chunks;
  if (e) qv_mem_free(f->alloc, e, total * sizeof *e, 0);
}

qv_status qv_nd_info_get(qv_nd_file *f, const char *name, qv_nd_info *out, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  eff *e = NULL;
  size_t n = 0;
  qv_status s = resolve(f, name, &r, err);
  if (s == QV_OK) s = effective(f, &r, &e, &n, err);
  if (s == QV_OK) {
    const nd_meta *m = r.meta;
    memset(out, 0, sizeof *out);
    out->name = m->name;
    out->dtype = m->dtype;
    out->rank = m->rank;
    out->shape = m->shape;
    out->chunk_shape = m->chunk;
    out->dim_names = (const char *const *)m->dims;
    out->fill = m->fill;
    out->fill_len = m->fill_len;
    out->codec = m->codec;
    out->level = m->level;
    out->n_chunks = m->n_chunks;
    out->stored_chunks = n;
    for (size_t i = 0; i < n; i++)
      out->stored_bytes += e[i].link < 0 ? r.pend->chunks[e[i].idx].len
                                         : r.chain[e[i].link].entry->chunks[e[i].idx].stored_len;
    if (r.n_chain && (!r.pend || r.pend->kind != ND_KIND_DEFINE))
      out->defined_in_layer = r.chain[r.n_chain - 1].layer->seq;
    eff_free(f, e, &r);
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}

size_t qv_nd_count(qv_nd_file *f) {
  pthread_rwlock_rdlock(&f->lock);
  size_t n = f->n_names;
  pthread_rwlock_unlock(&f->lock);
  return n;
}

const char *qv_nd_name(qv_nd_file *f, size_t i) {
  pthread_rwlock_rdlock(&f->lock);
  const char *n = i < f->n_names ? f->names[i] : NULL;
  pthread_rwlock_unlock(&f->lock);
  return n;
}

/* ---- attributes ---- */
static qv_status attr_validate(qv_nd_file *f, const char *key, const qv_nd_attr *v, size_t *bytes,
                               qv_error *err) {
  if (!name_ok(key, &f->opts.limits)) return qv_error_set(err, QV_E_INVALID, "attribute key must be 1..%u bytes", f->opts.limits.max_name);
  if (!v || v->kind < QV_ND_ATTR_BOOL || v->kind > QV_ND_ATTR_BINARY)
    return qv_error_set(err, QV_E_INVALID, "attribute '%s': unknown kind", key);
  if (!v->is_list && v->count != 1)
    return qv_error_set(err, QV_E_INVALID, "attribute '%s': a scalar has count 1", key);
  if (v->count && !v->values) return qv_error_set(err, QV_E_INVALID, "attribute '%s': values missing", key);
  if (v->count > UINT32_MAX) return qv_error_set(err, QV_E_LIMIT, "attribute '%s': too many values", key);
  size_t b = 0;
  if (v->kind <= QV_ND_ATTR_FLOAT) {
    b = v->count * (v->kind == QV_ND_ATTR_BOOL ? 1 : 8);
  } else {
    for (size_t i = 0; i < v->count; i++) {
      const qv_nd_bytes *x = (const qv_nd_bytes *)v->values + i;
      if (x->len > UINT32_MAX || (x->len && !x->data) || qv__add_overflow(b, x->len, &b))
        return qv_error_set(err, QV_E_INVALID, "attribute '%s': bad value %zu", key, i);
    }
  }
  if (b > f->opts.limits.max_attr_bytes)
    return qv_error_set(err, QV_E_LIMIT, "attribute '%s': %zu bytes exceed the limit", key, b);
  *bytes = b;
  return QV_OK;
}

qv_status qv_nd_attr_set(qv_nd_file *f, const char *array, const char *key,
                         const qv_nd_attr *value, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  nd_res r;
  size_t bytes;
  qv_status s = check_writable(f, err);
  if (s == QV_OK) s = attr_validate(f, key, value, &bytes, err);
  if (s == QV_OK) s = pend_for_update(f, array, &r, err);
  if (s == QV_OK) {
    nd_pend *p = r.pend;
    nd_meta *m = &p->meta;
    size_t pos = 0;
    bool replace = false;
    while (pos < m->n_attrs && strcmp(m->attrs[pos].key, key) < 0) pos++;
    if (pos < m->n_attrs && strcmp(m->attrs[pos].key, key) == 0) replace = true;
    if (!replace && m->n_attrs >= f->opts.limits.max_attrs)
      s = qv_error_set(err, QV_E_LIMIT, "array '%s': attribute limit reached", array);
    nd_attr a = {0};
    if (s == QV_OK) {
      nd_meta tmp = {0};
      tmp.name = m->name;
      tmp.n_attrs = 1;
      a.key = (char *)key;
      a.kind = value->kind;
      a.is_list = value->is_list;
      a.count = value->count;
      a.values = (void *)value->values;
      tmp.attrs = &a;
      nd_meta copy;
      s = meta_copy(&p->arena, &copy, &tmp, err);
      if (s == QV_OK) a = copy.attrs[0];
    }
    if (s == QV_OK) {
      size_t nn = m->n_attrs + (replace ? 0 : 1);
      nd_attr *na = qv__nd_arena_alloc(&p->arena, nn * sizeof *na);
      if (!na) s = qv__nomem(err, "attributes", nn * sizeof *na);
      else {
        if (pos) memcpy(na, m->attrs, pos * sizeof *na);
        na[pos] = a;
        size_t rest = m->n_attrs - pos - (replace ? 1 : 0);
        if (rest) memcpy(na + pos + 1, m->attrs + pos + (replace ? 1 : 0), rest * sizeof *na);
        m->attrs = na;
        m->n_attrs = nn;
      }
    }
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}

static const nd_attr *attr_find(const nd_meta *m, const char *key) {
  for (size_t i = 0; i < m->n_attrs; i++)
    if (strcmp(m->attrs[i].key, key) == 0) return &m->attrs[i];
  return NULL;
}

qv_status qv_nd_attr_get(qv_nd_file *f, const char *array, const char *key, qv_nd_attr *out,
                         qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  qv_status s = resolve(f, array, &r, err);
  if (s == QV_OK) {
    const nd_attr *a = key ? attr_find(r.meta, key) : NULL;
    if (!a) s = qv_error_set(err, QV_E_NOTFOUND, "array '%s' has no attribute '%s'", array, key ? key : "(null)");
    else {
      out->kind = a->kind;
      out->is_list = a->is_list;
      out->count = a->count;
      out->values = a->values;
    }
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}

qv_status qv_nd_attr_remove(qv_nd_file *f, const char *array, const char *key, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  nd_res r;
  qv_status s = check_writable(f, err);
  if (s == QV_OK) s = resolve(f, array, &r, err);
  if (s == QV_OK && (!key || !attr_find(r.meta, key)))
    s = qv_error_set(err, QV_E_NOTFOUND, "array '%s' has no attribute '%s'", array, key ? key : "(null)");
  if (s == QV_OK) s = pend_for_update(f, array, &r, err);
  if (s == QV_OK) {
    nd_meta *m = &r.pend->meta;
    size_t j = 0;
    for (size_t i = 0; i < m->n_attrs; i++)
      if (strcmp(m->attrs[i].key, key) != 0) m->attrs[j++] = m->attrs[i];
    m->n_attrs = j;
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}

size_t qv_nd_attr_count(qv_nd_file *f, const char *array) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  size_t n = resolve(f, array, &r, NULL) == QV_OK ? r.meta->n_attrs : 0;
  pthread_rwlock_unlock(&f->lock);
  return n;
}

const char *qv_nd_attr_key(qv_nd_file *f, const char *array, size_t i) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  const char *k = NULL;
  if (resolve(f, array, &r, NULL) == QV_OK && i < r.meta->n_attrs) k = r.meta->attrs[i].key;
  pthread_rwlock_unlock(&f->lock);
  return k;
}

/* ---- statistics ---- */
qv_status qv_nd_stats_get(qv_nd_file *f, const char *name, qv_nd_stats *out, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  eff *e = NULL;
  size_t n = 0;
  qv_status s = resolve(f, name, &r, err);
  if (s == QV_OK) s = effective(f, &r, &e, &n, err);
  if (s == QV_OK) {
    const nd_meta *m = r.meta;
    memset(out, 0, sizeof *out);
    out->count = m->count;
    uint64_t stored = 0;
    bool fdom = m->dtype.type == QV_ND_FLOAT32 || m->dtype.type == QV_ND_FLOAT64;
    bool udom = m->dtype.type == QV_ND_UINT8 || m->dtype.type == QV_ND_UINT16 ||
                m->dtype.type == QV_ND_UINT32 || m->dtype.type == QV_ND_UINT64;
    for (size_t i = 0; i < n; i++) {
      nd_chunk_ent ce;
      uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK];
      uint64_t ne = qv__nd_chunk_extent(m, e[i].chunk, org, ext);
      if (e[i].link < 0) {
        const nd_pchunk *pc = &r.pend->chunks[e[i].idx];
        qv__nd_chunk_stats(m, pc->raw, pc->len, ne, &ce);
      } else {
        ce = r.chain[e[i].link].entry->chunks[e[i].idx];
      }
      stored += ne;
      out->fill_count += ce.n_fill;
      if (!(ce.flags & ND_CHUNK_HAS_MINMAX)) continue;
      if (fdom) {
        double lo, hi;
        memcpy(&lo, &ce.min, 8);
        memcpy(&hi, &ce.max, 8);
        if (!out->has_minmax || lo < out->min.f) out->min.f = lo;
        if (!out->has_minmax || hi > out->max.f) out->max.f = hi;
      } else if (udom) {
        if (!out->has_minmax || ce.min < out->min.u) out->min.u = ce.min;
        if (!out->has_minmax || ce.max > out->max.u) out->max.u = ce.max;
      } else {
        if (!out->has_minmax || (int64_t)ce.min < out->min.i) out->min.i = (int64_t)ce.min;
        if (!out->has_minmax || (int64_t)ce.max > out->max.i) out->max.i = (int64_t)ce.max;
      }
      out->has_minmax = true;
    }
    out->fill_count += m->count - stored;
    eff_free(f, e, &r);
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}

/* ---- flush / compact ---- */
typedef struct lw {
  qv_nd_file *f;
  qv_nd_store_writer *w;
  uint64_t off;
  uint8_t *scratch;
  size_t scap;
} lw;

static qv_status lw_append(lw *l, const void *p, size_t n, qv_error *err) {
  QV_TRY(l->f->store->writer_append(l->w, p, n, err));
  l->off += n;
  return QV_OK;
}

static qv_status lw_scratch(lw *l, size_t n, qv_error *err) {
  if (n <= l->scap) return QV_OK;
  if (l->scratch) raw_free(l->f->alloc, l->scratch, l->scap);
  l->scratch = raw_alloc(l->f->alloc, n);
  l->scap = l->scratch ? n : 0;
  return l->scratch ? QV_OK : qv__nomem(err, "encode buffer", n);
}

/* Encodes and appends a pending chunk; fills its index entry. */
static qv_status put_pchunk(lw *l, const nd_meta *m, const nd_pchunk *pc, nd_chunk_ent *ce,
                            qv_error *err) {
  uint64_t org[QV_ND_MAX_RANK], ext[QV_ND_MAX_RANK];
  uint64_t ne = qv__nd_chunk_extent(m, pc->chunk, org, ext);
  memset(ce, 0, sizeof *ce);
  ce->chunk = pc->chunk;
  ce->offset = l->off;
  ce->raw_len = pc->len;
  ce->codec = m->codec;
  qv__nd_chunk_stats(m, pc->raw, pc->len, ne, ce);
  const uint8_t *blk = pc->raw;
  size_t blen = pc->len;
  if (m->codec != QV_ND_CODEC_NONE) {
    size_t bound = qv__nd_codec_bound(m->codec, pc->len, err);
    if (!bound) return err ? err->code : QV_E_INVALID;
    QV_TRY(lw_scratch(l, bound, err));
    QV_TRY(qv__nd_encode(m->codec, m->level, pc->raw, pc->len, l->scratch, l->scap, &blen, err));
    blk = l->scratch;
    if (blen >= pc->len) { /* incompressible: store it plain */
      blk = pc->raw;
      blen = pc->len;
      ce->codec = QV_ND_CODEC_NONE;
    }
  }
  ce->stored_len = blen;
  ce->hash = qv__nd_hash(blk, blen);
  return lw_append(l, blk, blen, err);
}

/* Writes the pending changes (or, with base, the merged state) as layer `seq`, publishes it
 * with a conditional create, syncs it, and installs it in the handle. */
static qv_status publish(qv_nd_file *f, uint64_t seq, bool base, qv_error *err) {
  char name[4200];
  qv__nd_layer_name(name, sizeof name, f->path, seq);
  lw l = {f, NULL, 0, NULL, 0};
  qv_mbuffer foot;
  qv_mbuffer_init(&foot, f->alloc);
  nd_arena tmp;
  qv__nd_arena_init(&tmp, f->alloc);
  qv_status s = f->store->writer_open(f->store, name, &l.w, err);
  if (s < 0) goto out;
  uint8_t hd[ND_HEADER_LEN];
  qv__nd_header(hd);
  QV_TRY_GOTO(s, lw_append(&l, hd, sizeof hd, err), out);
  size_t n_ent = base ? f->n_view : f->n_pend;
  nd_entry *ents = n_ent ? qv__nd_arena_alloc(&tmp, n_ent * sizeof *ents) : NULL;
  if (n_ent && !ents) {
    s = qv__nomem(err, "layer entries", n_ent * sizeof *ents);
    goto out;
  }
  for (size_t i = 0; i < n_ent; i++) {
    nd_entry *e = &ents[i];
    if (!base) {
      nd_pend *p = f->pend[i];
      e->kind = p->kind;
      e->meta = p->meta;
      e->n_chunks = p->n;
      e->chunks = p->n ? qv__nd_arena_alloc(&tmp, p->n * sizeof(nd_chunk_ent)) : NULL;
      if (p->n && !e->chunks) {
        s = qv__nomem(err, "chunk index", p->n * sizeof(nd_chunk_ent));
        goto out;
      }
      for (size_t c = 0; c < p->n; c++) QV_TRY_GOTO(s, put_pchunk(&l, &p->meta, &p->chunks[c], &e->chunks[c], err), out);
    } else {
      nd_varr *v = &f->view[i];
      nd_res r = {v->meta, NULL, v->chain, v->n_chain};
      eff *ef = NULL;
      size_t ne = 0;
      QV_TRY_GOTO(s, effective(f, &r, &ef, &ne, err), out);
      e->kind = ND_KIND_DEFINE;
      e->meta = *v->meta;
      e->n_chunks = ne;
      e->chunks = ne ? qv__nd_arena_alloc(&tmp, ne * sizeof(nd_chunk_ent)) : NULL;
      if (ne && !e->chunks) s = qv__nomem(err, "chunk index", ne * sizeof(nd_chunk_ent));
      for (size_t c = 0; c < ne && s == QV_OK; c++) {
        const nd_layer *L = v->chain[ef[c].link].layer;
        const nd_chunk_ent *src = &v->chain[ef[c].link].entry->chunks[ef[c].idx];
        s = lw_scratch(&l, (size_t)src->stored_len, err);
        if (s == QV_OK) s = f->store->read_at(f->store, L->path, src->offset, l.scratch, (size_t)src->stored_len, err);
        if (s == QV_OK && qv__nd_hash(l.scratch, (size_t)src->stored_len) != src->hash) {
          char cs[200];
          coord_str(v->meta, src->chunk, cs, sizeof cs);
          s = qv_error_set(err, QV_E_CORRUPT, "layer %llu block of '%s' chunk %s: checksum mismatch",
                           (unsigned long long)L->seq, v->name, cs);
        }
        if (s == QV_OK) {
          e->chunks[c] = *src;
          e->chunks[c].offset = l.off;
          s = lw_append(&l, l.scratch, (size_t)src->stored_len, err);
        }
      }
      eff_free(f, ef, &r);
      if (s < 0) goto out;
    }
  }
  uint8_t t16[16];
  qv__store_u64le(t16, seq);
  qv__store_u32le(t16 + 8, base ? ND_FLAG_BASE : 0);
  qv__store_u32le(t16 + 12, (uint32_t)n_ent);
  QV_TRY_GOTO(s, qv_mbuffer_append(&foot, t16, 16, err), out);
  for (size_t i = 0; i < n_ent; i++) QV_TRY_GOTO(s, qv__nd_put_entry(&foot, &ents[i], err), out);
  uint8_t tr[ND_TRAILER_LEN];
  qv__nd_trailer(tr, foot.len, qv__nd_hash(foot.data, foot.len));
  QV_TRY_GOTO(s, lw_append(&l, foot.data, foot.len, err), out);
  QV_TRY_GOTO(s, lw_append(&l, tr, sizeof tr, err), out);
  s = f->store->writer_commit(l.w, QV_ND_PUT_IF_ABSENT, err);
  l.w = NULL;
  if (s == QV_E_EXISTS) {
    s = qv_error_set(err, QV_E_CONFLICT,
                     "'%s': layer %llu was published by another writer first; reopen the file to see it",
                     f->path, (unsigned long long)seq);
    goto out;
  }
  if (s < 0) goto out;
  /* Published. From here a failure leaves the store ahead of this handle: poison it. */
  s = f->store->sync(f->store, name, err);
  nd_layer nl;
  if (s == QV_OK) s = qv__nd_layer_load(f->store, f->path, seq, &f->opts.limits, f->alloc, &nl, err);
  if (s < 0) {
    f->poisoned = true;
    goto out;
  }
  {
    size_t keep = base ? 0 : f->n_layers;
    nd_layer *nls = qv_mem_alloc(f->alloc, (keep + 1) * sizeof *nls, 0);
    if (!nls) {
      qv__nd_layer_free(&nl);
      f->poisoned = true;
      s = qv__nomem(err, "layers", (keep + 1) * sizeof *nls);
      goto out;
    }
    nls[0] = nl;
    if (keep) memcpy(nls + 1, f->layers, keep * sizeof *nls);
    if (base) {
      for (size_t i = 0; i < f->n_layers; i++) qv__nd_layer_free(&f->layers[i]);
    }
    qv_mem_free(f->alloc, f->layers, f->n_layers * sizeof(nd_layer), 0);
    f->layers = nls;
    f->n_layers = keep + 1;
  }
  pend_clear_all(f);
  s = build_view(f, err);
  if (s == QV_OK) s = rebuild_names(f, err);
  if (s < 0) f->poisoned = true;
  if (base) qv__nd_cache_clear(f->cache);
out:
  if (l.w) f->store->writer_abort(l.w);
  if (l.scratch) raw_free(f->alloc, l.scratch, l.scap);
  qv_mbuffer_reset(&foot);
  qv__nd_arena_free(&tmp);
  return s;
}

static uint64_t top_seq(qv_nd_file *f) { return f->n_layers ? f->layers[0].seq : 0; }

static qv_status flush_locked(qv_nd_file *f, qv_error *err) {
  QV_TRY(check_writable(f, err));
  if (!f->n_pend) return QV_OK;
  return publish(f, top_seq(f) + 1, false, err);
}

static qv_status maybe_autoflush(qv_nd_file *f, qv_error *err) {
  if (f->pending_bytes <= f->opts.max_pending_bytes) return QV_OK;
  return flush_locked(f, err);
}

qv_status qv_nd_flush(qv_nd_file *f, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  qv_status s = flush_locked(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

typedef struct rmlist {
  size_t prefix_len;
  uint64_t below;
  char **names;
  size_t n, cap;
  const qv_allocator *a;
  bool nomem;
} rmlist;

static int rm_cb(void *ctx, const char *name, uint64_t size) {
  (void)size;
  rmlist *l = ctx;
  uint64_t seq;
  if (!qv__nd_layer_seq(name, l->prefix_len, &seq) || seq >= l->below) return 0;
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 16;
    char **nn = qv_mem_realloc(l->a, l->names, l->cap * sizeof *nn, nc * sizeof *nn, 0);
    if (!nn) {
      l->nomem = true;
      return 1;
    }
    l->names = nn;
    l->cap = nc;
  }
  l->names[l->n] = qv_mem_strdup(l->a, name);
  if (l->names[l->n]) l->n++;
  else l->nomem = true;
  return l->nomem;
}

qv_status qv_nd_compact(qv_nd_file *f, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  qv_status s = flush_locked(f, err);
  if (s == QV_OK) s = publish(f, top_seq(f) + 1, true, err);
  if (s == QV_OK) {
    /* The new base is durable: only now remove the older layers (and leftovers of crashes). */
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/", f->path);
    rmlist l = {strlen(prefix), top_seq(f), NULL, 0, 0, f->alloc, false};
    s = f->store->list(f->store, prefix, rm_cb, &l, err);
    if (s == QV_OK && l.nomem)
      s = qv__nomem(err, "compaction succeeded but the list of old layers to remove", 0);
    for (size_t i = 0; i < l.n; i++) {
      if (s == QV_OK) {
        s = f->store->remove(f->store, l.names[i], err);
        if (s == QV_E_NOTFOUND) s = QV_OK;
        if (s == QV_OK) s = f->store->sync(f->store, l.names[i], err);
        if (s < 0) qv_error_prefix(err, "compaction succeeded but removing an old layer failed (it is ignored and removed next time): ");
      }
      qv_mem_strfree(f->alloc, l.names[i]);
    }
    qv_mem_free(f->alloc, l.names, l.cap * sizeof(char *), 0);
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}

size_t qv_nd_layer_count(qv_nd_file *f) {
  pthread_rwlock_rdlock(&f->lock);
  size_t n = f->n_layers;
  pthread_rwlock_unlock(&f->lock);
  return n;
}

uint64_t qv_nd_layer_top(qv_nd_file *f) {
  pthread_rwlock_rdlock(&f->lock);
  uint64_t v = top_seq(f);
  pthread_rwlock_unlock(&f->lock);
  return v;
}

uint64_t qv_nd_layer_base(qv_nd_file *f) {
  pthread_rwlock_rdlock(&f->lock);
  uint64_t v = f->n_layers ? f->layers[f->n_layers - 1].seq : 0;
  pthread_rwlock_unlock(&f->lock);
  return v;
}

qv_status qv_nd_layer_info(qv_nd_file *f, size_t i, qv_nd_layer_desc *out, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  qv_status s = QV_OK;
  if (i >= f->n_layers) {
    s = qv_error_set(err, QV_E_RANGE, "layer index %zu: the stack has %zu layers", i, f->n_layers);
  } else {
    const nd_layer *L = &f->layers[i];
    memset(out, 0, sizeof *out);
    out->seq = L->seq;
    out->bytes = L->size;
    out->base = (L->flags & ND_FLAG_BASE) != 0;
    out->n_arrays = L->n_entries;
    for (size_t e = 0; e < L->n_entries; e++) out->n_chunks += L->entries[e].n_chunks;
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}

bool qv_nd_dirty(qv_nd_file *f) {
  pthread_rwlock_rdlock(&f->lock);
  bool d = f->n_pend > 0;
  pthread_rwlock_unlock(&f->lock);
  return d;
}

qv_status qv_nd_verify(qv_nd_file *f, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  qv_status s = QV_OK;
  for (size_t li = 0; li < f->n_layers && s == QV_OK; li++) {
    const nd_layer *L = &f->layers[li];
    for (size_t ei = 0; ei < L->n_entries && s == QV_OK; ei++) {
      const nd_entry *e = &L->entries[ei];
      for (uint64_t c = 0; c < e->n_chunks && s == QV_OK; c++) {
        nd_cached h;
        nd_cache *nc; /* a private zero-budget cache: verification must read the stored bytes */
        s = qv__nd_cache_new(0, f->alloc, &nc, err);
        if (s < 0) break;
        s = load_block(f, nc, L, &e->meta, &e->chunks[c], &h, err);
        if (s == QV_OK) qv__nd_cache_release(nc, &h);
        qv__nd_cache_free(nc);
      }
    }
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}
