/* test_fd_reader.c — the blocking IPC stream reader over a file descriptor: batches handed out
 * while the producer is still writing (pipe + writer thread), large messages, truncation at
 * every byte, a pipe closed early, EOF without the end marker, regular files, read errors, the
 * prefixed open, the qv_batch_reader / ArrowArrayStream adapter and allocation failures. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qv_test.h"
#include "support/largest_alloc.h"
#include "quiver/builder.h"
#include "quiver/cdata.h"
#include "quiver/ipc.h"

/* ---- a test stream ------------------------------------------------------------------------- */

#define MAX_BATCHES 8

/* For helpers that return a value: a setup failure aborts the test program. */
#define MUST(cond)                                                               \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: setup failed: %s\n", __FILE__, __LINE__, #cond);   \
      abort();                                                                   \
    }                                                                            \
  } while (0)

typedef struct tstream {
  qv_schema *schema;
  qv_batch *batches[MAX_BATCHES];
  int n;
  qv_mbuffer bytes;
  size_t end_of[MAX_BATCHES + 1]; /* end_of[0]: end of the schema; end_of[k+1]: of batch k */
} tstream;

static qv_batch *make_batch(const qv_schema *schema, int64_t rows, int64_t seed) {
  qv_error err;
  qv_builder *bi = NULL, *bs = NULL;
  qv_array *cols[2] = {NULL, NULL};
  MUST(QV_OK == qv_builder_new(qv_type_int64(), NULL, &bi, &err));
  MUST(QV_OK == qv_builder_new(qv_type_utf8(), NULL, &bs, &err));
  for (int64_t i = 0; i < rows; i++) {
    if ((i + seed) % 7 == 3) {
      MUST(QV_OK == qv_builder_append_null(bi, &err));
    } else {
      MUST(QV_OK == qv_builder_append_i64(bi, seed * 1000003 + i, &err));
    }
    char s[32];
    snprintf(s, sizeof s, "r%lld", (long long)(seed + i));
    MUST(QV_OK == qv_builder_append_str(bs, s, &err));
  }
  MUST(QV_OK == qv_builder_finish(bi, &cols[0], &err));
  MUST(QV_OK == qv_builder_finish(bs, &cols[1], &err));
  qv_builder_free(bi);
  qv_builder_free(bs);
  qv_batch *b = NULL;
  MUST(QV_OK == qv_batch_new(schema, rows, cols, 2, NULL, &b, &err));
  return b;
}

/* A stream of batches with the given row counts (and the end-of-stream marker). */
static void tstream_make(tstream *t, const int64_t *rows, int n) {
  qv_error err;
  memset(t, 0, sizeof *t);
  qv_field *f[2] = {NULL, NULL};
  QV_REQUIRE_OK(qv_field_new("i", qv_type_int64(), true, NULL, NULL, &f[0], &err));
  QV_REQUIRE_OK(qv_field_new("s", qv_type_utf8(), false, NULL, NULL, &f[1], &err));
  QV_REQUIRE_OK(qv_schema_new(f, 2, NULL, NULL, &t->schema, &err));
  qv_field_unref(f[0]);
  qv_field_unref(f[1]);
  qv_mbuffer_init(&t->bytes, NULL);
  qv_ipc_write_options wo = qv_ipc_write_options_default();
  wo.format = QV_IPC_FORMAT_STREAM;
  qv_ipc_writer *w = NULL;
  QV_REQUIRE_OK_E(qv_ipc_writer_new(t->schema, &wo, qv_ipc_sink_mbuffer, &t->bytes, NULL, &w, &err),
                  &err);
  t->n = n;
  t->end_of[0] = t->bytes.len; /* may be 0 when the writer defers the schema */
  for (int k = 0; k < n; k++) {
    t->batches[k] = make_batch(t->schema, rows[k], k * 100);
    QV_REQUIRE_OK_E(qv_ipc_writer_write_batch(w, t->batches[k], &err), &err);
    t->end_of[k + 1] = t->bytes.len;
  }
  QV_REQUIRE_OK_E(qv_ipc_writer_finish(w, &err), &err);
  qv_ipc_writer_free(w);
  QV_REQUIRE(t->bytes.len == t->end_of[n] + 8); /* the end-of-stream marker */
  if (t->end_of[0] == 0) { /* find the end of the schema message: first message's length */
    uint32_t ml;
    memcpy(&ml, t->bytes.data + 4, 4);
    t->end_of[0] = 8 + ml;
  }
}

static void tstream_free(tstream *t) {
  for (int k = 0; k < t->n; k++) qv_batch_unref(t->batches[k]);
  qv_schema_unref(t->schema);
  qv_mbuffer_reset(&t->bytes);
}

static char tmp_path[64];

/* A temp file holding bytes[0..len), opened for reading (unlinked at once). */
static int file_with(const uint8_t *bytes, size_t len) {
  snprintf(tmp_path, sizeof tmp_path, "/tmp/qv_fd_reader_XXXXXX");
  int fd = mkstemp(tmp_path);
  MUST(fd >= 0);
  MUST(len == 0 || write(fd, bytes, len) == (ssize_t)len);
  MUST(lseek(fd, 0, SEEK_SET) == 0);
  unlink(tmp_path);
  return fd;
}

/* Reads every batch from fd and checks them against t (the first `expect` of them); returns the
 * final status. */
static qv_status read_all_check(int fd, const tstream *t, int expect, qv_error *err) {
  qv_ipc_fd_reader *r = NULL;
  qv_status s = qv_ipc_fd_reader_open(fd, NULL, NULL, &r, err);
  if (s != QV_OK) return s;
  QV_CHECK(qv_schema_equal(qv_ipc_fd_reader_schema(r), t->schema));
  int k = 0;
  for (;;) {
    qv_batch *b = NULL;
    s = qv_ipc_fd_reader_next(r, &b, err);
    if (s != QV_OK) break;
    QV_CHECK(k < expect);
    if (k < t->n) {
      qv_error diff;
      QV_CHECK(qv_batch_equal(b, t->batches[k], &diff));
    }
    qv_batch_unref(b);
    k++;
  }
  QV_CHECK_INT_EQ(k, expect);
  if (s == QV_EOF) { /* stays at EOF */
    qv_batch *b = NULL;
    QV_CHECK_STATUS(qv_ipc_fd_reader_next(r, &b, NULL), QV_EOF);
  } else if (s < 0) { /* errors are final */
    qv_batch *b = NULL;
    QV_CHECK_STATUS(qv_ipc_fd_reader_next(r, &b, NULL), QV_E_STATE);
  }
  qv_ipc_fd_reader_free(r);
  return s;
}

/* ---- a producer thread writing into a pipe ------------------------------------------------ */

typedef struct producer {
  int fd;
  const uint8_t *bytes;
  size_t len, hold_at; /* after hold_at bytes, wait (bounded) for `first_seen` */
  size_t piece;
  sem_t first_seen;
  int timed_out;        /* the reader did not return the first batch while we waited */
  size_t close_at;      /* close the pipe after this many bytes (len = everything) */
} producer;

static void pause_briefly(void) {
  struct timespec ts = {0, 200 * 1000}; /* 0.2 ms: lets the reader run on a partial message */
  nanosleep(&ts, NULL);
}

static void *produce(void *arg) {
  producer *p = arg;
  size_t pos = 0, end = p->close_at < p->len ? p->close_at : p->len;
  int waited = 0;
  while (pos < end) {
    if (!waited && p->hold_at && pos >= p->hold_at) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_sec += 20;
      int rc;
      while ((rc = sem_timedwait(&p->first_seen, &until)) != 0 && errno == EINTR) {
      }
      if (rc != 0) p->timed_out = 1;
      waited = 1;
    }
    size_t n = end - pos < p->piece ? end - pos : p->piece;
    if (p->hold_at && pos < p->hold_at && pos + n > p->hold_at) n = p->hold_at - pos;
    ssize_t w = write(p->fd, p->bytes + pos, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    pos += (size_t)w;
    if ((pos / p->piece) % 16 == 0) pause_briefly();
  }
  close(p->fd);
  return NULL;
}

/* Starts a producer thread writing t's bytes[0..close_at) into a new pipe in pieces of `piece`
 * bytes (waiting at hold_at, when not 0, for first_seen); returns the pipe's read end. */
static int start_producer(producer *p, pthread_t *th, const tstream *t, size_t close_at,
                          size_t piece, size_t hold_at) {
  int pfd[2];
  MUST(pipe(pfd) == 0);
  memset(p, 0, sizeof *p);
  p->fd = pfd[1];
  p->bytes = t->bytes.data;
  p->len = t->bytes.len;
  p->close_at = close_at;
  p->piece = piece;
  p->hold_at = hold_at;
  MUST(sem_init(&p->first_seen, 0, 0) == 0);
  MUST(pthread_create(th, NULL, produce, p) == 0);
  return pfd[0];
}

/* The first batch arrives while the producer still holds back the rest of the stream: it waits
 * (up to 20 s) for the reader to post `first_seen` before writing on, so a reader that needed
 * the whole input would make it time out. Pieces of 7 bytes split every message. */
static void test_batches_arrive_incrementally(void) {
  int64_t rows[] = {50, 3, 0, 120, 9};
  tstream t;
  tstream_make(&t, rows, 5);
  producer p;
  pthread_t th;
  /* schema + batch 0 written, then wait */
  int rfd = start_producer(&p, &th, &t, t.bytes.len, 7, t.end_of[1]);
  qv_error err;
  qv_ipc_fd_reader *r = NULL;
  QV_CHECK_OK_E(qv_ipc_fd_reader_open(rfd, NULL, NULL, &r, &err), &err);
  int k = 0;
  if (r) {
    for (;;) {
      qv_batch *b = NULL;
      qv_status s = qv_ipc_fd_reader_next(r, &b, &err);
      if (s == QV_EOF) break;
      QV_CHECK_OK_E(s, &err);
      if (s != QV_OK) break;
      if (k == 0) {
        /* the producer is blocked before the rest of the stream: we got batch 0 early */
        QV_CHECK(qv_ipc_fd_reader_bytes_read(r) <= t.end_of[1]);
        sem_post(&p.first_seen);
      }
      QV_CHECK(k < t.n && qv_batch_equal(b, t.batches[k], NULL));
      qv_batch_unref(b);
      k++;
    }
    QV_CHECK_UINT_EQ(qv_ipc_fd_reader_bytes_read(r), t.bytes.len);
  }
  if (k == 0) sem_post(&p.first_seen);
  pthread_join(th, NULL);
  QV_CHECK_INT_EQ(p.timed_out, 0);
  QV_CHECK_INT_EQ(k, 5);
  qv_ipc_fd_reader_free(r);
  sem_destroy(&p.first_seen);
  close(rfd);
  tstream_free(&t);
}

/* Messages larger than the 64 KiB minimum chunk, through a pipe in odd-sized pieces. */
static void test_large_messages_pipe(void) {
  int64_t rows[] = {40000, 5, 70000};
  tstream t;
  tstream_make(&t, rows, 3);
  QV_REQUIRE(t.end_of[1] - t.end_of[0] > (64 << 10));
  producer p;
  pthread_t th;
  int rfd = start_producer(&p, &th, &t, t.bytes.len, 4093, 0);
  qv_error err;
  QV_CHECK_STATUS_E(read_all_check(rfd, &t, 3, &err), QV_EOF, &err);
  pthread_join(th, NULL);
  sem_destroy(&p.first_seen);
  close(rfd);
  tstream_free(&t);
}

/* A message larger than the chunk allocated at once for a declared size (64 MiB): the chunk
 * grows as the bytes arrive, and the batch is still read whole. */
static void test_message_beyond_eager_chunk(void) {
  int64_t rows[] = {2, 3700000, 3};
  tstream t;
  tstream_make(&t, rows, 3);
  QV_REQUIRE(t.end_of[2] - t.end_of[1] > ((size_t)64 << 20));
  int fd = file_with(t.bytes.data, t.bytes.len);
  qv_error err;
  QV_CHECK_STATUS_E(read_all_check(fd, &t, 3, &err), QV_EOF, &err);
  close(fd);
  tstream_free(&t);
}

/* A regular file: every batch, then QV_EOF at the marker. */
static void test_regular_file(void) {
  int64_t rows[] = {1, 1000, 0, 17};
  tstream t;
  tstream_make(&t, rows, 4);
  int fd = file_with(t.bytes.data, t.bytes.len);
  qv_error err;
  QV_CHECK_STATUS_E(read_all_check(fd, &t, 4, &err), QV_EOF, &err);
  /* the fd is not closed by the reader: it is at the end of the file */
  QV_CHECK(lseek(fd, 0, SEEK_CUR) == (off_t)t.bytes.len);
  QV_CHECK(close(fd) == 0);
  tstream_free(&t);
}

/* The stream cut at every byte: before the schema is complete open fails; on a message boundary
 * the stream ends cleanly (no end marker); inside a message -> QV_E_CORRUPT naming the offset
 * of the incomplete message. */
static void test_truncated_everywhere(void) {
  int64_t rows[] = {3, 4};
  tstream t;
  tstream_make(&t, rows, 2);
  for (size_t cut = 0; cut < t.bytes.len; cut++) {
    int fd = file_with(t.bytes.data, cut);
    qv_error err;
    qv_error_init(&err);
    int complete = 0;
    size_t msg_at = 0;
    bool boundary = false;
    for (int k = 0; k <= t.n; k++) {
      if (cut >= t.end_of[k]) {
        complete = k;
        msg_at = t.end_of[k];
      }
      if (cut == t.end_of[k]) boundary = true;
    }
    qv_status s = read_all_check(fd, &t, cut < t.end_of[0] ? 0 : complete, &err);
    if (cut < t.end_of[0]) {
      QV_CHECK_STATUS(s, QV_E_CORRUPT);
    } else if (boundary) {
      QV_CHECK_STATUS_E(s, QV_EOF, &err);
    } else {
      QV_CHECK_STATUS(s, QV_E_CORRUPT);
      QV_CHECK_CONTAINS(err.message, "truncated");
      QV_CHECK_INT_EQ(err.offset, (int64_t)msg_at);
      char at[32];
      snprintf(at, sizeof at, "byte %zu", msg_at);
      QV_CHECK_CONTAINS(err.message, at);
    }
    close(fd);
  }
  tstream_free(&t);
}

/* A producer that closes the pipe in the middle of batch 1, and one that stops right before the
 * end-of-stream marker. */
static void test_pipe_closed_early(void) {
  int64_t rows[] = {10, 200, 5};
  tstream t;
  tstream_make(&t, rows, 3);
  for (int variant = 0; variant < 2; variant++) {
    producer p;
    pthread_t th;
    size_t close_at = variant == 0 ? (t.end_of[1] + t.end_of[2]) / 2 : t.end_of[3];
    int rfd = start_producer(&p, &th, &t, close_at, 100, 0);
    qv_error err;
    qv_error_init(&err);
    qv_status s = read_all_check(rfd, &t, variant == 0 ? 1 : 3, &err);
    pthread_join(th, NULL);
    sem_destroy(&p.first_seen);
    if (variant == 0) {
      QV_CHECK_STATUS(s, QV_E_CORRUPT);
      QV_CHECK_CONTAINS(err.message, "truncated");
      QV_CHECK_INT_EQ(err.offset, (int64_t)t.end_of[1]);
    } else {
      QV_CHECK_STATUS_E(s, QV_EOF, &err); /* EOF without the end marker: a clean end */
    }
    close(rfd);
  }
  tstream_free(&t);
}

/* Empty input, garbage and a read error. */
static void test_errors(void) {
  qv_error err;
  qv_ipc_fd_reader *r = NULL;
  int fd = file_with(NULL, 0);
  QV_CHECK_STATUS_E(qv_ipc_fd_reader_open(fd, NULL, NULL, &r, &err), QV_E_CORRUPT, &err);
  QV_CHECK(r == NULL);
  close(fd);
  const char junk[] = "this is not an arrow stream, but it is long enough to look like one";
  fd = file_with((const uint8_t *)junk, sizeof junk);
  QV_CHECK(qv_ipc_fd_reader_open(fd, NULL, NULL, &r, &err) < 0);
  close(fd);
  /* a write-only fd: read(2) fails with EBADF */
  char path[] = "/tmp/qv_fd_reader_wo_XXXXXX";
  fd = mkstemp(path);
  QV_REQUIRE(fd >= 0);
  int wo = open(path, O_WRONLY);
  unlink(path);
  close(fd);
  QV_REQUIRE(wo >= 0);
  QV_CHECK_STATUS_E(qv_ipc_fd_reader_open(wo, NULL, NULL, &r, &err), QV_E_IO, &err);
  QV_CHECK_CONTAINS(err.message, strerror(EBADF));
  close(wo);
  QV_CHECK_STATUS(qv_ipc_fd_reader_open(-1, NULL, NULL, &r, NULL), QV_E_INVALID);
  QV_CHECK_STATUS(qv_ipc_fd_reader_next(NULL, NULL, NULL), QV_E_INVALID);
  qv_ipc_fd_reader_free(NULL);
}

/* A corrupt body in batch 1: the error names the batch and the column (names are formatted
 * lazily, only on error), with the batch before it delivered. */
static void test_corrupt_batch_named(void) {
  int64_t rows[] = {3, 4};
  tstream t;
  tstream_make(&t, rows, 2);
  /* batch 1 (seed 100) holds strings "r100".."r103": offsets 0,4,8,12,16 */
  const int32_t want[5] = {0, 4, 8, 12, 16};
  size_t at = 0;
  for (size_t p = t.end_of[1]; p + sizeof want <= t.end_of[2]; p += 4)
    if (memcmp(t.bytes.data + p, want, sizeof want) == 0) {
      at = p;
      break;
    }
  QV_REQUIRE(at != 0);
  int32_t bad = 9999;
  memcpy(t.bytes.data + at + 16, &bad, 4);
  int fd = file_with(t.bytes.data, t.bytes.len);
  qv_error err;
  qv_error_init(&err);
  QV_CHECK_STATUS(read_all_check(fd, &t, 1, &err), QV_E_CORRUPT);
  QV_CHECK_CONTAINS(err.message, "record batch 1");
  QV_CHECK_CONTAINS(err.message, "column 's'");
  close(fd);
  tstream_free(&t);
}

/* A limit on message size holds for fd input too (nothing big is allocated). */
static void test_limits(void) {
  int64_t rows[] = {5000};
  tstream t;
  tstream_make(&t, rows, 1);
  int fd = file_with(t.bytes.data, t.bytes.len);
  qv_ipc_read_options ro = qv_ipc_read_options_default();
  ro.limits.max_message_bytes = 4096;
  qv_ipc_fd_reader *r = NULL;
  qv_error err;
  QV_CHECK_OK_E(qv_ipc_fd_reader_open(fd, &ro, NULL, &r, &err), &err);
  qv_batch *b = NULL;
  QV_CHECK_STATUS_E(qv_ipc_fd_reader_next(r, &b, &err), QV_E_LIMIT, &err);
  qv_ipc_fd_reader_free(r);
  close(fd);
  tstream_free(&t);
}

/* A message whose metadata declares a 1 GiB body (within the default limits) followed by a few
 * bytes and the end of input: truncated, and the reader never allocated the declared size
 * before the bytes arrived. */
static void test_declared_size_not_allocated(void) {
  int64_t rows[] = {4};
  tstream t;
  tstream_make(&t, rows, 1);
  size_t meta_at = t.end_of[0] + 8;
  uint32_t ml;
  memcpy(&ml, t.bytes.data + t.end_of[0] + 4, 4);
  int64_t body = (int64_t)(t.end_of[1] - meta_at - ml);
  size_t at = 0; /* Message.bodyLength inside the metadata */
  for (size_t p = meta_at; p + 8 <= meta_at + ml; p += 4) {
    int64_t v;
    memcpy(&v, t.bytes.data + p, 8);
    if (v == body) {
      at = p;
      break;
    }
  }
  QV_REQUIRE(at != 0);
  int64_t huge = (int64_t)1 << 30;
  memcpy(t.bytes.data + at, &huge, 8);
  int fd = file_with(t.bytes.data, t.end_of[1]);
  qv_allocator a = largest_alloc_start();
  qv_ipc_fd_reader *r = NULL;
  qv_error err;
  QV_REQUIRE_OK_E(qv_ipc_fd_reader_open(fd, NULL, &a, &r, &err), &err);
  qv_batch *b = NULL;
  QV_CHECK_STATUS_E(qv_ipc_fd_reader_next(r, &b, &err), QV_E_CORRUPT, &err);
  QV_CHECK_CONTAINS(err.message, "truncated");
  QV_CHECK(largest_alloc_seen < ((size_t)128 << 20));
  qv_ipc_fd_reader_free(r);
  close(fd);
  tstream_free(&t);
}

/* The first bytes already read by the caller (format sniffing). */
static void test_prefixed_open(void) {
  int64_t rows[] = {7, 8};
  tstream t;
  tstream_make(&t, rows, 2);
  for (size_t pre = 1; pre < 20; pre += 5) {
    int fd = file_with(t.bytes.data, t.bytes.len);
    uint8_t head[32];
    QV_REQUIRE(read(fd, head, pre) == (ssize_t)pre);
    qv_ipc_fd_reader *r = NULL;
    qv_error err;
    QV_CHECK_OK_E(qv_ipc_fd_reader_open_prefixed(fd, head, pre, NULL, NULL, &r, &err), &err);
    int k = 0;
    qv_batch *b = NULL;
    while (r && qv_ipc_fd_reader_next(r, &b, &err) == QV_OK) {
      QV_CHECK(qv_batch_equal(b, t.batches[k], NULL));
      qv_batch_unref(b);
      k++;
    }
    QV_CHECK_INT_EQ(k, 2);
    qv_ipc_fd_reader_free(r);
    close(fd);
  }
  tstream_free(&t);
}

/* The reader as a qv_batch_reader, exported as an ArrowArrayStream. */
static void test_batch_reader_stream_export(void) {
  int64_t rows[] = {2, 3, 4};
  tstream t;
  tstream_make(&t, rows, 3);
  int fd = file_with(t.bytes.data, t.bytes.len);
  qv_ipc_fd_reader *r = NULL;
  qv_error err;
  QV_REQUIRE_OK_E(qv_ipc_fd_reader_open(fd, NULL, NULL, &r, &err), &err);
  qv_batch_reader br;
  QV_REQUIRE_OK(qv_ipc_fd_reader_to_batch_reader(r, &br, &err));
  QV_CHECK(qv_schema_equal(qv_batch_reader_schema(&br), t.schema));
  struct ArrowArrayStream st;
  QV_REQUIRE_OK_E(qv_batch_reader_export(&br, NULL, &st, &err), &err);
  struct ArrowSchema sc;
  QV_CHECK_INT_EQ(st.get_schema(&st, &sc), 0);
  QV_CHECK_INT_EQ(sc.n_children, 2);
  sc.release(&sc);
  int64_t total = 0;
  int n = 0;
  for (;;) {
    struct ArrowArray a;
    QV_REQUIRE(st.get_next(&st, &a) == 0);
    if (!a.release) break;
    total += a.length;
    n++;
    a.release(&a);
  }
  QV_CHECK_INT_EQ(n, 3);
  QV_CHECK_INT_EQ(total, 9);
  st.release(&st);
  close(fd);
  tstream_free(&t);
}

/* Allocation failures anywhere: NOMEM, no leak. */
static tstream alloc_stream;

static qv_status alloc_run(const qv_allocator *a, void *ctx) {
  (void)ctx;
  int fd = file_with(alloc_stream.bytes.data, alloc_stream.bytes.len);
  qv_ipc_fd_reader *r = NULL;
  qv_status s = qv_ipc_fd_reader_open(fd, NULL, a, &r, NULL);
  int k = 0;
  while (s == QV_OK) {
    qv_batch *b = NULL;
    s = qv_ipc_fd_reader_next(r, &b, NULL);
    if (s == QV_OK) {
      QV_CHECK(qv_batch_equal(b, alloc_stream.batches[k], NULL));
      qv_batch_unref(b);
      k++;
    }
  }
  qv_ipc_fd_reader_free(r);
  close(fd);
  if (s == QV_EOF) {
    QV_CHECK_INT_EQ(k, alloc_stream.n);
    return QV_OK;
  }
  return s;
}

static void test_alloc_failures(void) {
  int64_t rows[] = {3, 6};
  tstream_make(&alloc_stream, rows, 2);
  size_t points = qv_test_each_alloc_failure(alloc_run, NULL, "fd reader");
  QV_CHECK(points > 5);
  tstream_free(&alloc_stream);
}

QV_TEST_MAIN(QV_CASE(test_batches_arrive_incrementally), QV_CASE(test_large_messages_pipe),
             QV_CASE(test_message_beyond_eager_chunk),
             QV_CASE(test_regular_file), QV_CASE(test_truncated_everywhere),
             QV_CASE(test_pipe_closed_early), QV_CASE(test_errors), QV_CASE(test_corrupt_batch_named), QV_CASE(test_limits),
             QV_CASE(test_declared_size_not_allocated),
             QV_CASE(test_prefixed_open), QV_CASE(test_batch_reader_stream_export),
             QV_CASE(test_alloc_failures))
