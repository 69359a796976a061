/* file.c — the ndfile handle: open/create, the resolved view of arrays over the layer stack,
 * pending (unflushed) changes, definitions, attributes, statistics and layer information.
 * Region I/O is in region.c, flush and compaction in commit.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "ndfile/file_int.h"

/* ---- options ---- */
qv_nd_options qv_nd_options_default(void) {
  qv_nd_options o;
  memset(&o, 0, sizeof o);
  o.cache_bytes = 64u << 20;
  o.max_pending_bytes = 256u << 20;
  o.threads = 0; /* automatic */
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
void qv__nd_coord_str(const nd_meta *m, uint64_t c, char *buf, size_t cap) {
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

/* Chunk buffers (64-byte aligned; size 0 allocates 1 byte). Big ones get a transparent huge
 * page hint, as numpy gives its big arrays: filling a fresh multi-MiB pending chunk then costs
 * a few faults instead of a thousand. */
void *qv__nd_raw_alloc(const qv_allocator *a, size_t len) {
  void *p = qv_mem_alloc(a, len ? len : 1, 64);
#ifdef MADV_HUGEPAGE
  const uintptr_t huge = (uintptr_t)2 << 20;
  if (p && len >= 2 * huge) {
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + len) & ~(huge - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
  }
#endif
  return p;
}
void qv__nd_raw_free(const qv_allocator *a, void *p, size_t len) { qv_mem_free(a, p, len ? len : 1, 64); }

uint8_t *qv__nd_pool_get(qv_nd_file *f, size_t len, size_t *cap) {
  uint8_t *p = NULL;
  size_t best = SIZE_MAX;
  pthread_mutex_lock(&f->pool_mu);
  for (size_t i = 0; i < f->n_pool; i++) /* best fit */
    if (f->pool[i].cap >= len && (best == SIZE_MAX || f->pool[i].cap < f->pool[best].cap)) best = i;
  if (best != SIZE_MAX) {
    p = f->pool[best].p;
    *cap = f->pool[best].cap;
    f->pool[best] = f->pool[--f->n_pool];
  }
  pthread_mutex_unlock(&f->pool_mu);
  if (!p) { /* sizes rounded up to 64 KiB so that blocks of similar size share buffers */
    if (!qv__round_up(len ? len : 1, 65536, cap)) return NULL;
    p = qv_mem_alloc(f->alloc, *cap, 64);
  }
  return p;
}

void qv__nd_pool_put(qv_nd_file *f, uint8_t *p, size_t cap) {
  if (!p) return;
  pthread_mutex_lock(&f->pool_mu);
  if (f->n_pool < sizeof f->pool / sizeof f->pool[0]) {
    f->pool[f->n_pool].p = p;
    f->pool[f->n_pool].cap = cap;
    f->n_pool++;
    p = NULL;
  }
  pthread_mutex_unlock(&f->pool_mu);
  if (p) qv_mem_free(f->alloc, p, cap, 64);
}

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

qv_status qv__nd_resolve(qv_nd_file *f, const char *name, nd_res *r, qv_error *err) {
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

void qv__nd_pchunk_free(qv_nd_file *f, nd_pchunk *pc) {
  if (pc->spilled) f->spill_live -= pc->ent.stored_len;
  else qv__nd_raw_free(f->alloc, pc->raw, pc->len);
  pc->raw = NULL;
  pc->spilled = false;
}

void qv__nd_spill_drop(qv_nd_file *f) {
  if (f->spill) f->store->writer_abort(f->spill);
  f->spill = NULL;
  f->spill_off = f->spill_live = 0;
  f->spill_broken = false;
}

static void pend_free(qv_nd_file *f, nd_pend *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) qv__nd_pchunk_free(f, &p->chunks[i]);
  qv_mem_free(f->alloc, p->chunks, p->cap * sizeof(nd_pchunk), 0);
  qv__nd_arena_free(&p->arena);
  qv_mem_free(f->alloc, p, sizeof *p, 0);
}

void qv__nd_pend_clear_all(qv_nd_file *f) {
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
qv_status qv__nd_pend_for_update(qv_nd_file *f, const char *name, nd_res *r, qv_error *err) {
  QV_TRY(qv__nd_resolve(f, name, r, err));
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

nd_pchunk *qv__nd_pend_chunk(nd_pend *p, uint64_t c, size_t *pos) {
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

const nd_chunk_ent *qv__nd_entry_chunk(const nd_entry *e, uint64_t c) {
  size_t lo = 0, hi = (size_t)e->n_chunks;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (e->chunks[mid].chunk == c) return &e->chunks[mid];
    if (e->chunks[mid].chunk < c) lo = mid + 1; else hi = mid;
  }
  return NULL;
}

/* ---- names ---- */
qv_status qv__nd_rebuild_names(qv_nd_file *f, qv_error *err) {
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

qv_status qv__nd_build_view(qv_nd_file *f, qv_error *err) {
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
  if (o.threads > 64) o.threads = 64;
  bool auto_threads = o.threads == 0;
  if (auto_threads) { /* the online CPUs, at most 8 */
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = nc < 1 ? 1u : nc > 8 ? 8u : (unsigned)nc;
  }
  if (o.as_of_layer) o.read_only = true;
  unsigned seg_log2 = 21; /* 2 MiB */
  if (o.segment_bytes == QV_ND_SEGMENTS_OFF) {
    seg_log2 = 0;
  } else if (o.segment_bytes) {
    for (seg_log2 = ND_SEG_MIN_LOG2; seg_log2 <= ND_SEG_MAX_LOG2; seg_log2++)
      if (o.segment_bytes == (size_t)1 << seg_log2) break;
    if (seg_log2 > ND_SEG_MAX_LOG2)
      return qv_error_set(err, QV_E_INVALID,
                          "ndfile: segment_bytes %zu is not a power of two from 4 KiB to 1 GiB",
                          o.segment_bytes);
  }
  qv_nd_file *f = qv_mem_calloc(o.alloc, sizeof *f, 0);
  if (!f) return qv__nomem(err, "ndfile", sizeof *f);
  f->alloc = o.alloc;
  f->opts = o;
  f->auto_threads = auto_threads;
  f->seg_log2 = seg_log2;
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
  pthread_mutex_init(&f->pool_mu, NULL);
  pthread_mutex_init(&f->spill_mu, NULL);
  *out = f;
  return QV_OK;
}

void qv_nd_close(qv_nd_file *f) {
  if (!f) return;
  qv__nd_crew_free(atomic_load(&f->crew));
  qv__nd_pend_clear_all(f);
  qv__nd_spill_drop(f);
  pthread_mutex_destroy(&f->spill_mu);
  qv_mem_free(f->alloc, f->pend, f->cap_pend * sizeof *f->pend, 0);
  qv_mem_free(f->alloc, f->names, f->cap_names * sizeof *f->names, 0);
  if (f->gather) qv_mem_free(f->alloc, f->gather, f->gcap, 64);
  if (f->encbuf) qv_mem_free(f->alloc, f->encbuf, f->ecap, 64);
  qv__nd_arena_free(&f->view_arena);
  free_layers(f);
  qv__nd_cache_free(f->cache);
  for (size_t i = 0; i < f->n_pool; i++) qv_mem_free(f->alloc, f->pool[i].p, f->pool[i].cap, 64);
  pthread_mutex_destroy(&f->pool_mu);
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
  s = qv__nd_build_view(f, err);
  if (s == QV_OK) s = qv__nd_rebuild_names(f, err);
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
  if (s == QV_OK) s = qv__nd_publish(f, 1, true, err);
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

qv_status qv__nd_check_writable(qv_nd_file *f, qv_error *err) {
  if (f->opts.read_only)
    return qv_error_set(err, QV_E_STATE, "ndfile '%s' is open read-only%s", f->path,
                        f->opts.as_of_layer ? " (opened as of an older layer)" : "");
  if (f->poisoned)
    return qv_error_set(err, QV_E_STATE, "ndfile '%s': an earlier flush failed after publishing; reopen the file", f->path);
  return QV_OK;
}

/* ---- define / delete ---- */
static bool name_ok(const char *n, const qv_nd_limits *lim) {
  size_t l = n ? strlen(n) : 0;
  return l > 0 && l <= lim->max_name && l <= 65535;
}

qv_status qv_nd_define(qv_nd_file *f, const qv_nd_array_def *d, qv_error *err) {
  if (!d) return qv_error_set(err, QV_E_INVALID, "definition is NULL");
  pthread_rwlock_wrlock(&f->lock);
  qv_status s = qv__nd_check_writable(f, err);
  nd_res r;
  if (s == QV_OK && !name_ok(d->name, &f->opts.limits))
    s = qv_error_set(err, QV_E_INVALID, "array name must be 1..%u bytes", f->opts.limits.max_name);
  if (s == QV_OK && qv__nd_resolve(f, d->name, &r, NULL) == QV_OK)
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
  if (s == QV_OK) s = qv__nd_rebuild_names(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

qv_status qv_nd_delete(qv_nd_file *f, const char *name, qv_error *err) {
  pthread_rwlock_wrlock(&f->lock);
  nd_res r;
  qv_status s = qv__nd_check_writable(f, err);
  if (s == QV_OK) s = qv__nd_resolve(f, name, &r, err);
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
        for (size_t i = 0; i < old->n; i++) qv__nd_pchunk_free(f, &old->chunks[i]);
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
  if (s == QV_OK) s = qv__nd_rebuild_names(f, err);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

/* ---- info, names ---- */

static int eff_cmp(const void *a, const void *b) {
  const eff *x = a, *y = b;
  if (x->chunk != y->chunk) return x->chunk < y->chunk ? -1 : 1;
  return x->link < y->link ? -1 : x->link > y->link;
}

/* The current chunks of an array, newest source winning, sorted by chunk number. */
qv_status qv__nd_effective(qv_nd_file *f, const nd_res *r, eff **out, size_t *n, qv_error *err) {
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

void qv__nd_eff_free(qv_nd_file *f, eff *e, const nd_res *r) {
  size_t total = r->pend ? r->pend->n : 0;
  for (size_t i = 0; i < r->n_chain; i++) total += (size_t)r->chain[i].entry->n_chunks;
  if (e) qv_mem_free(f->alloc, e, total * sizeof *e, 0);
}

/* The definition part of qv_nd_info (no chunk walk: stored_chunks and stored_bytes stay 0). */
static void describe(const nd_res *r, qv_nd_info *out) {
  const nd_meta *m = r->meta;
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
  if (r->n_chain && (!r->pend || r->pend->kind != ND_KIND_DEFINE))
    out->defined_in_layer = r->chain[r->n_chain - 1].layer->seq;
}

qv_status qv__nd_describe(qv_nd_file *f, const char *name, qv_nd_info *out, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  qv_status s = qv__nd_resolve(f, name, &r, err);
  if (s == QV_OK) describe(&r, out);
  pthread_rwlock_unlock(&f->lock);
  return s;
}

qv_status qv_nd_info_get(qv_nd_file *f, const char *name, qv_nd_info *out, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  eff *e = NULL;
  size_t n = 0;
  qv_status s = qv__nd_resolve(f, name, &r, err);
  if (s == QV_OK) s = qv__nd_effective(f, &r, &e, &n, err);
  if (s == QV_OK) {
    describe(&r, out);
    out->stored_chunks = n;
    for (size_t i = 0; i < n; i++) {
      const nd_pchunk *pc = e[i].link < 0 ? &r.pend->chunks[e[i].idx] : NULL;
      const nd_chunk_ent *ce = pc ? (pc->enc ? &pc->ent : NULL) : &r.chain[e[i].link].entry->chunks[e[i].idx];
      out->stored_bytes += pc ? (pc->spilled ? pc->ent.stored_len : pc->len) : ce->stored_len;
      out->segmented_chunks += ce && qv__nd_seg_log2(ce) != 0;
    }
    qv__nd_eff_free(f, e, &r);
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
  qv_status s = qv__nd_check_writable(f, err);
  if (s == QV_OK) s = attr_validate(f, key, value, &bytes, err);
  if (s == QV_OK) s = qv__nd_pend_for_update(f, array, &r, err);
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
  qv_status s = qv__nd_resolve(f, array, &r, err);
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
  qv_status s = qv__nd_check_writable(f, err);
  if (s == QV_OK) s = qv__nd_resolve(f, array, &r, err);
  if (s == QV_OK && (!key || !attr_find(r.meta, key)))
    s = qv_error_set(err, QV_E_NOTFOUND, "array '%s' has no attribute '%s'", array, key ? key : "(null)");
  if (s == QV_OK) s = qv__nd_pend_for_update(f, array, &r, err);
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
  size_t n = qv__nd_resolve(f, array, &r, NULL) == QV_OK ? r.meta->n_attrs : 0;
  pthread_rwlock_unlock(&f->lock);
  return n;
}

const char *qv_nd_attr_key(qv_nd_file *f, const char *array, size_t i) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  const char *k = NULL;
  if (qv__nd_resolve(f, array, &r, NULL) == QV_OK && i < r.meta->n_attrs) k = r.meta->attrs[i].key;
  pthread_rwlock_unlock(&f->lock);
  return k;
}

/* ---- statistics ---- */
qv_status qv_nd_stats_get(qv_nd_file *f, const char *name, qv_nd_stats *out, qv_error *err) {
  pthread_rwlock_rdlock(&f->lock);
  nd_res r;
  eff *e = NULL;
  size_t n = 0;
  qv_status s = qv__nd_resolve(f, name, &r, err);
  if (s == QV_OK) s = qv__nd_effective(f, &r, &e, &n, err);
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
        if (pc->enc) ce = pc->ent;
        else qv__nd_chunk_stats(m, pc->raw, pc->len, ne, &ce);
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
    qv__nd_eff_free(f, e, &r);
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
  uint64_t v = qv__nd_top_seq(f);
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
        s = qv__nd_load_block(f, nc, L, &e->meta, &e->chunks[c], &h, err);
        if (s == QV_OK) qv__nd_cache_release(nc, &h);
        qv__nd_cache_free(nc);
      }
    }
  }
  pthread_rwlock_unlock(&f->lock);
  return s;
}
