/* file_int.h — the ndfile handle's internals shared by file.c (open, arrays, attributes,
 * statistics), region.c (chunk access, region reads and writes) and commit.c (flush and
 * compaction). Not installed. */
#ifndef QV_ND_FILE_INT_H
#define QV_ND_FILE_INT_H

#include <stdatomic.h>

#include "ndfile/nd_int.h"

/* crew.c — helper threads for the segments of one block */
typedef struct nd_crew nd_crew;
typedef void (*nd_task_fn)(void *ctx, size_t i);

typedef struct nd_pchunk {
  uint64_t chunk;
  uint8_t *raw; /* NULL when spilled */
  size_t len;   /* bytes held in memory (0 when spilled) */
  bool enc;
  bool spilled;     /* the block was streamed to the spill writer (enc is true then) */
  nd_chunk_ent ent; /* when enc: everything but the offset; when spilled: its offset too */
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
  qv_nd_options opts; /* opts.threads resolved (never 0) */
  bool auto_threads;  /* threads were left automatic: only big operations use them */
  unsigned seg_log2;  /* segments of the chunks this handle writes (0: none; spec §5a) */
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
  uint8_t *gather, *encbuf; /* write-time scratch (under the write lock) */
  size_t gcap, ecap;
  /* The next layer, being written already: whole chunks written by qv_nd_write stream into it
   * (no copy held in memory) and flush appends the rest and the footer (spec §2a). */
  pthread_mutex_t spill_mu;     /* appends from parallel encoders */
  qv_nd_store_writer *spill;    /* open writer of layer spill_seq, or NULL */
  uint64_t spill_seq;
  uint64_t spill_off;           /* bytes appended (header included) */
  uint64_t spill_live;          /* bytes of spilled blocks still referenced by pending chunks */
  bool spill_broken;            /* an append failed: stop spilling; flush rewrites the layer */
  /* transient chunk buffers reused across reads (several readers at once: own mutex) */
  pthread_mutex_t pool_mu;
  struct {
    uint8_t *p;
    size_t cap;
  } pool[4];
  size_t n_pool;
  /* helper threads for segmented blocks (crew.c), started on first use under pool_mu */
  _Atomic(nd_crew *) crew;
  atomic_bool crew_failed;
};

typedef struct nd_res {
  const nd_meta *meta;
  nd_pend *pend;
  const nd_link *chain;
  size_t n_chain;
} nd_res;

typedef struct chunk_ref {
  const uint8_t *data; /* NULL: fill */
  size_t len;
  nd_cached h;
  uint8_t *owned; /* decoded copy of an encoded pending chunk */
} chunk_ref;

/* A current chunk of an array: from the pending set (link -1) or a layer of the chain. */
typedef struct eff {
  uint64_t chunk;
  int32_t link; /* -1: pending */
  size_t idx;
} eff;

/* Operations that move less than this run on the calling thread when threads are automatic
 * (starting threads costs more than it saves on small work). */
#define ND_PAR_MIN_BYTES ((uint64_t)8 << 20)

/* Threads an operation over `bytes` bytes (decoded) may use. */
static inline unsigned qv__nd_threads_for(const qv_nd_file *f, uint64_t bytes) {
  return f->auto_threads && bytes < ND_PAR_MIN_BYTES ? 1u : f->opts.threads;
}

/* Threads one segmented block of raw_len bytes may use: with automatic threads, every one for
 * blocks of 1 MiB or more (the crew's hand-off costs microseconds). */
static inline unsigned qv__nd_seg_threads(const qv_nd_file *f, uint64_t raw_len) {
  return f->auto_threads && raw_len < ((uint64_t)1 << 20) ? 1u : f->opts.threads;
}

/* crew.c */
/* Runs fn(ctx, 0..n-1) on the calling thread and up to threads-1 helpers of the file's crew
 * (started on first use). Items must be independent. Runs everything on the caller when
 * threads <= 1, on a thread already running parallel items, or when another operation holds
 * the crew. */
void qv__nd_crew_run(qv_nd_file *f, unsigned threads, size_t n, nd_task_fn fn, void *ctx);
void qv__nd_crew_free(nd_crew *c);
/* Marks (or unmarks) the calling thread as running items of a parallel run; returns the
 * previous mark. */
bool qv__nd_parallel_set(bool on);

/* file.c */
/* qv_nd_info_get without the walk over the stored chunks (stored_chunks/bytes left 0): what
 * the bridges need on every call. */
qv_status qv__nd_describe(qv_nd_file *f, const char *name, qv_nd_info *out, qv_error *err);
/* Frees what a pending chunk holds (memory, or its spilled block's share of spill_live). */
void qv__nd_pchunk_free(qv_nd_file *f, nd_pchunk *pc);
/* Aborts the spill writer and forgets it (after a successful publish, or on close). */
void qv__nd_spill_drop(qv_nd_file *f);
/* Bytes the spill writer holds that no pending chunk references any more (overwritten blocks).
 * A spill writer always starts with the aligned header (region.c spill_blockv). */
static inline uint64_t qv__nd_spill_dead(const qv_nd_file *f) {
  uint64_t used = ND_DATA_ALIGN + f->spill_live;
  return f->spill && f->spill_off > used ? f->spill_off - used : 0;
}
void qv__nd_coord_str(const nd_meta *m, uint64_t c, char *buf, size_t cap);
void *qv__nd_raw_alloc(const qv_allocator *a, size_t len);
void qv__nd_raw_free(const qv_allocator *a, void *p, size_t len);
/* A transient buffer of at least len bytes from the file's pool (*cap = its real size), and
 * its return. Reusing them spares the page faults of fresh multi-MiB allocations. */
uint8_t *qv__nd_pool_get(qv_nd_file *f, size_t len, size_t *cap);
void qv__nd_pool_put(qv_nd_file *f, uint8_t *p, size_t cap);
qv_status qv__nd_resolve(qv_nd_file *f, const char *name, nd_res *r, qv_error *err);
qv_status qv__nd_pend_for_update(qv_nd_file *f, const char *name, nd_res *r, qv_error *err);
nd_pchunk *qv__nd_pend_chunk(nd_pend *p, uint64_t c, size_t *pos);
const nd_chunk_ent *qv__nd_entry_chunk(const nd_entry *e, uint64_t c);
void qv__nd_pend_clear_all(qv_nd_file *f);
qv_status qv__nd_build_view(qv_nd_file *f, qv_error *err);
qv_status qv__nd_rebuild_names(qv_nd_file *f, qv_error *err);
qv_status qv__nd_check_writable(qv_nd_file *f, qv_error *err);
qv_status qv__nd_effective(qv_nd_file *f, const nd_res *r, eff **out, size_t *n, qv_error *err);
void qv__nd_eff_free(qv_nd_file *f, eff *e, const nd_res *r);
/* region.c */
/* A zero-copy view of the region when it is exactly one whole stored chunk of a fixed-width
 * (not bool) array, uncompressed, in a mapped layer, aligned for its element type, and not
 * overwritten by a pending write: its checksum is checked and *out becomes a slice of the
 * layer's mapping. QV_E_RANGE when the region is outside the array; QV_E_UNSUPPORTED (nothing
 * done) otherwise. */
qv_status qv__nd_chunk_view(qv_nd_file *f, const char *name, const uint64_t *start,
                            const uint64_t *shape, qv_buffer *out, qv_error *err);
/* Reads a spilled pending block back into dst (raw_len bytes), checked and decoded; or, with
 * `stored` true, its stored bytes (stored_len) checked but not decoded. */
qv_status qv__nd_spill_read(qv_nd_file *f, const nd_meta *m, const nd_pchunk *pc, uint8_t *dst,
                            bool stored, qv_error *err);
qv_status qv__nd_load_block(qv_nd_file *f, nd_cache *cache, const nd_layer *L, const nd_meta *m,
                            const nd_chunk_ent *ce, nd_cached *out, qv_error *err);
/* commit.c */
qv_status qv__nd_publish(qv_nd_file *f, uint64_t seq, bool base, qv_error *err);
qv_status qv__nd_maybe_autoflush(qv_nd_file *f, qv_error *err);

static inline uint64_t qv__nd_top_seq(qv_nd_file *f) { return f->n_layers ? f->layers[0].seq : 0; }

#endif
