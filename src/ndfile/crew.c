/* crew.c — the helper threads that check and decode the segments of one large block together
 * with the reading thread (docs/spec/ndfile.md §5a). A file starts its crew at the first
 * operation that wants one and stops it at qv_nd_close.
 *
 * A single 4 MiB chunk takes 0.05-0.2 ms to check and copy or decode, so the hand-off must cost
 * microseconds. Starting threads per operation costs tens of microseconds, and so does waking a
 * sleeping one on a VM. So a helper that finished a task keeps polling for the next one for
 * ND_CREW_SPIN_NS before it sleeps on a condition variable (libgomp and TBB do the same). The
 * caller never waits for a helper to start: it claims items itself, and a late helper finds
 * fewer or none left. The caller waits only for items a helper already claimed. In the child
 * of a fork the crew of a handle opened before it is inert: the caller runs every item. */
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "ndfile/file_int.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define ND_CREW_SPIN_NS 200000 /* 0.2 ms */
#define ND_CREW_MAX 7

typedef struct crew_task {
  nd_task_fn fn;
  void *ctx;
  size_t n;
  atomic_size_t next; /* the next unclaimed item */
  atomic_size_t done; /* items finished */
} crew_task;

struct nd_crew {
  const qv_allocator *alloc;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t th[ND_CREW_MAX];
  unsigned n_th;
  atomic_flag busy;          /* one task at a time; a second caller runs its items itself */
  _Atomic(crew_task *) task; /* the current task, or NULL */
  atomic_uint_fast64_t gen;  /* bumped for every task */
  atomic_uint active;        /* helpers between loading `task` and finishing with it */
  atomic_uint sleepers;
  atomic_bool stop;
  unsigned forks; /* fork_count when the helpers were started */
};

/* Forks so far whose child this process is: a crew started before a fork has no threads in the
 * child (fork copies only the calling thread), so there it runs nothing and is only freed. */
static atomic_uint fork_count;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void fork_child(void) { atomic_fetch_add(&fork_count, 1); }
static void fork_hook(void) { pthread_atfork(NULL, NULL, fork_child); }
static bool crew_orphaned(const nd_crew *c) { return c->forks != atomic_load(&fork_count); }

/* Set on threads running items of a parallel run: they do not start nested parallel work. */
static _Thread_local bool in_parallel;

bool qv__nd_parallel_set(bool on) {
  bool was = in_parallel;
  in_parallel = on;
  return was;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void work(crew_task *t) {
  size_t i;
  while ((i = atomic_fetch_add(&t->next, 1)) < t->n) {
    t->fn(t->ctx, i);
    atomic_fetch_add(&t->done, 1);
  }
}

static void *helper(void *vp) {
  nd_crew *c = vp;
  in_parallel = true;
  uint64_t seen = atomic_load(&c->gen);
  for (;;) {
    uint64_t g, t0 = now_ns();
    unsigned spins = 0;
    while ((g = atomic_load(&c->gen)) == seen && !atomic_load(&c->stop)) {
      CPU_RELAX();
      if (++spins % 64 == 0 && now_ns() - t0 > ND_CREW_SPIN_NS) {
        pthread_mutex_lock(&c->mu);
        atomic_fetch_add(&c->sleepers, 1);
        while (atomic_load(&c->gen) == seen && !atomic_load(&c->stop)) pthread_cond_wait(&c->cv, &c->mu);
        atomic_fetch_sub(&c->sleepers, 1);
        pthread_mutex_unlock(&c->mu);
        t0 = now_ns();
      }
    }
    if (atomic_load(&c->stop)) return NULL;
    seen = g;
    atomic_fetch_add(&c->active, 1);
    crew_task *t = atomic_load(&c->task); /* NULL once its caller finished with it */
    if (t) work(t);
    atomic_fetch_sub(&c->active, 1);
  }
}

void qv__nd_crew_free(nd_crew *c) {
  if (!c) return;
  if (crew_orphaned(c)) { /* in a forked child: no helpers to stop (and mu may be held) */
    qv_mem_free(c->alloc, c, sizeof *c, 0);
    return;
  }
  pthread_mutex_lock(&c->mu);
  atomic_store(&c->stop, true);
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  for (unsigned i = 0; i < c->n_th; i++) pthread_join(c->th[i], NULL);
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
  qv_mem_free(c->alloc, c, sizeof *c, 0);
}

/* The file's crew of `helpers` threads (at most the online CPUs but one: a helper without a CPU
 * of its own only takes time from the threads doing the work — measured on 2 CPUs, 7 helpers
 * read 4 MiB chunks 2-2.5x slower than 1, and slower than none), started on first use; NULL
 * when there is none (then none is tried again: the caller runs every item itself). */
static nd_crew *crew_get(qv_nd_file *f, unsigned helpers) {
  nd_crew *c = atomic_load(&f->crew);
  if (c || atomic_load(&f->crew_failed)) return c;
  pthread_mutex_lock(&f->pool_mu);
  c = atomic_load(&f->crew);
  if (!c && !atomic_load(&f->crew_failed)) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (helpers > ND_CREW_MAX) helpers = ND_CREW_MAX;
    if (cpus >= 1 && helpers > (unsigned long)cpus - 1) helpers = (unsigned)(cpus - 1);
    pthread_once(&fork_once, fork_hook);
    c = helpers ? qv_mem_calloc(f->alloc, sizeof *c, 0) : NULL;
    if (c) {
      c->alloc = f->alloc;
      c->forks = atomic_load(&fork_count);
      pthread_mutex_init(&c->mu, NULL);
      pthread_cond_init(&c->cv, NULL);
      atomic_flag_clear(&c->busy);
      while (c->n_th < helpers && pthread_create(&c->th[c->n_th], NULL, helper, c) == 0) c->n_th++;
      if (!c->n_th) {
        qv__nd_crew_free(c);
        c = NULL;
      }
    }
    if (c) atomic_store(&f->crew, c);
    else atomic_store(&f->crew_failed, true);
  }
  pthread_mutex_unlock(&f->pool_mu);
  return c;
}

void qv__nd_crew_run(qv_nd_file *f, unsigned threads, size_t n, nd_task_fn fn, void *ctx) {
  crew_task t = {fn, ctx, n, 0, 0};
  nd_crew *c = threads > 1 && n > 1 && !in_parallel ? crew_get(f, threads - 1) : NULL;
  if (!c || crew_orphaned(c) || atomic_flag_test_and_set(&c->busy)) {
    work(&t);
    return;
  }
  atomic_store(&c->task, &t);
  atomic_fetch_add(&c->gen, 1);
  if (atomic_load(&c->sleepers)) {
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
  }
  work(&t);
  while (atomic_load(&t.done) < n) CPU_RELAX(); /* items a helper claimed: short */
  atomic_store(&c->task, NULL);
  while (atomic_load(&c->active)) CPU_RELAX(); /* a helper still holding &t finds no items */
  atomic_flag_clear(&c->busy);
}
