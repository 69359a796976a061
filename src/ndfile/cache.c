/* cache.c — the byte-budgeted LRU cache of decoded chunks, keyed by (layer, block offset).
 * Entries are refcounted so a reader can copy out of one while another thread evicts it. */
#include <string.h>

#include "ndfile/nd_int.h"

typedef struct ent {
  uint64_t seq, off;
  uint8_t *data;
  size_t len;
  size_t refs;
  bool in_table;
  struct ent *hnext;        /* bucket chain */
  struct ent *prev, *next;  /* LRU list, head = most recent */
} ent;

struct nd_cache {
  const qv_allocator *alloc;
  pthread_mutex_t mu;
  size_t budget, used, n, nbuckets;
  ent **buckets;
  ent *head, *tail;
};

static size_t bucket_of(const nd_cache *c, uint64_t seq, uint64_t off) {
  uint64_t h = (seq * 0x9E3779B97F4A7C15ull) ^ (off * 0xC2B2AE3D27D4EB4Full);
  h ^= h >> 29;
  return (size_t)(h & (c->nbuckets - 1));
}

qv_status qv__nd_cache_new(size_t budget, const qv_allocator *a, nd_cache **out, qv_error *err) {
  nd_cache *c = qv_mem_calloc(a, sizeof *c, 0);
  if (!c) return qv__nomem(err, "chunk cache", sizeof *c);
  c->alloc = a;
  c->budget = budget;
  c->nbuckets = 1024;
  c->buckets = qv_mem_calloc(a, c->nbuckets * sizeof(ent *), 0);
  if (!c->buckets) {
    qv_mem_free(a, c, sizeof *c, 0);
    return qv__nomem(err, "chunk cache", 1024 * sizeof(ent *));
  }
  pthread_mutex_init(&c->mu, NULL);
  *out = c;
  return QV_OK;
}

static void ent_free(nd_cache *c, ent *e) {
  qv_mem_free(c->alloc, e->data, e->len ? e->len : 1, 64);
  qv_mem_free(c->alloc, e, sizeof *e, 0);
}

static void unlink_ent(nd_cache *c, ent *e) {
  ent **pp = &c->buckets[bucket_of(c, e->seq, e->off)];
  while (*pp != e) pp = &(*pp)->hnext;
  *pp = e->hnext;
  if (e->prev) e->prev->next = e->next; else c->head = e->next;
  if (e->next) e->next->prev = e->prev; else c->tail = e->prev;
  e->in_table = false;
  c->used -= e->len;
  c->n--;
}

static void evict(nd_cache *c) {
  ent *e = c->tail;
  while (c->used > c->budget && e) {
    ent *p = e->prev;
    unlink_ent(c, e);
    if (e->refs == 0) ent_free(c, e);
    e = p;
  }
}

size_t qv__nd_cache_budget(const nd_cache *c) { return c ? c->budget : 0; }

void qv__nd_cache_clear(nd_cache *c) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  size_t b = c->budget;
  c->budget = 0;
  evict(c);
  c->budget = b;
  pthread_mutex_unlock(&c->mu);
}

void qv__nd_cache_free(nd_cache *c) {
  if (!c) return;
  qv__nd_cache_clear(c);
  pthread_mutex_destroy(&c->mu);
  qv_mem_free(c->alloc, c->buckets, c->nbuckets * sizeof(ent *), 0);
  qv_mem_free(c->alloc, c, sizeof *c, 0);
}

static void to_front(nd_cache *c, ent *e) {
  if (c->head == e) return;
  if (e->prev) e->prev->next = e->next;
  if (e->next) e->next->prev = e->prev; else c->tail = e->prev;
  e->prev = NULL;
  e->next = c->head;
  if (c->head) c->head->prev = e;
  c->head = e;
  if (!c->tail) c->tail = e;
}

bool qv__nd_cache_get(nd_cache *c, uint64_t seq, uint64_t off, nd_cached *out) {
  if (!c) return false;
  pthread_mutex_lock(&c->mu);
  ent *e = c->buckets[bucket_of(c, seq, off)];
  while (e && !(e->seq == seq && e->off == off)) e = e->hnext;
  if (e) {
    e->refs++;
    to_front(c, e);
    out->data = e->data;
    out->len = e->len;
    out->ent_ = e;
  }
  pthread_mutex_unlock(&c->mu);
  return e != NULL;
}

qv_status qv__nd_cache_put(nd_cache *c, uint64_t seq, uint64_t off, uint8_t *data, size_t len,
                           nd_cached *out, qv_error *err) {
  ent *e = qv_mem_calloc(c->alloc, sizeof *e, 0);
  if (!e) {
    qv_mem_free(c->alloc, data, len ? len : 1, 64);
    return qv__nomem(err, "cache entry", sizeof *e);
  }
  e->seq = seq;
  e->off = off;
  e->data = data;
  e->len = len;
  e->refs = 1;
  out->data = data;
  out->len = len;
  out->ent_ = e;
  pthread_mutex_lock(&c->mu);
  ent *x = c->buckets[bucket_of(c, seq, off)];
  while (x && !(x->seq == seq && x->off == off)) x = x->hnext;
  if (!x && len <= c->budget) {
    size_t b = bucket_of(c, seq, off);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    e->in_table = true;
    e->next = c->head;
    if (c->head) c->head->prev = e;
    c->head = e;
    if (!c->tail) c->tail = e;
    c->used += len;
    c->n++;
    /* evict others, never the one just inserted */
    ent *t = c->tail;
    while (c->used > c->budget && t && t != e) {
      ent *p = t->prev;
      unlink_ent(c, t);
      if (t->refs == 0) ent_free(c, t);
      t = p;
    }
  }
  pthread_mutex_unlock(&c->mu);
  return QV_OK;
}

void qv__nd_cache_release(nd_cache *c, nd_cached *h) {
  ent *e = h->ent_;
  if (!e) return;
  pthread_mutex_lock(&c->mu);
  e->refs--;
  bool drop = e->refs == 0 && !e->in_table;
  pthread_mutex_unlock(&c->mu);
  if (drop) ent_free(c, e);
  h->data = NULL;
  h->ent_ = NULL;
}
