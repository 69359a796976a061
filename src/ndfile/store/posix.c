/* posix.c — the ndfile store over a directory: pread for ranged reads, read-only shared mmap
 * of published (immutable) layers; publication by writing a temporary file, fsync, then link()
 * to the final name (atomic, fails if it exists) or rename(); sync fsyncs the directory. */
#define _GNU_SOURCE /* fallocate, sync_file_range */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ndfile/store/store_int.h"

typedef struct pstore {
  qv_nd_store base;
  const qv_allocator *alloc;
  char *root;
  pthread_mutex_t mu;
  uint64_t counter;
  bool no_fsync;
} pstore;

/* What unmap needs: the mapping made by p_map. */
typedef struct pmap {
  void *base;
  size_t len;
} pmap;

typedef struct pwriter {
  pstore *s;
  int fd;
  bool no_reserve;  /* the filesystem cannot reserve blocks (or refused once) */
  uint64_t len;     /* bytes appended */
  uint64_t reserved; /* blocks may be reserved up to here (fallocate, size kept) */
  uint64_t kicked;   /* writeback was started up to here (durable stores) */
  char tmp[4096], final[4096];
} pwriter;

static qv_status full_path(pstore *s, const char *path, char *buf, size_t cap, qv_error *err) {
  QV_TRY(qv__nd_path_check(path, err));
  int n = snprintf(buf, cap, "%s/%s", s->root, path);
  if (n < 0 || (size_t)n >= cap) return qv_error_set(err, QV_E_LIMIT, "path '%s' is too long", path);
  return QV_OK;
}

static qv_status io_err(qv_error *err, const char *op, const char *path) {
  int e = errno;
  return qv_error_set(err, e == ENOENT ? QV_E_NOTFOUND : QV_E_IO, "%s '%s': %s", op, path,
                      strerror(e));
}

static qv_status p_read_at(qv_nd_store *st, const char *path, uint64_t off, void *buf, size_t len,
                           qv_error *err) {
  pstore *s = (pstore *)st;
  char fp[4096];
  QV_TRY(full_path(s, path, fp, sizeof fp, err));
  int fd = open(fp, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_err(err, "open", fp);
  size_t done = 0;
  while (done < len) {
    ssize_t r = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      qv_status st2 = io_err(err, "read", fp);
      close(fd);
      return st2;
    }
    if (r == 0) {
      close(fd);
      return qv_error_set(err, QV_E_RANGE, "'%s': bytes [%llu, +%zu) beyond the end of the file",
                          fp, (unsigned long long)off, len);
    }
    done += (size_t)r;
  }
  close(fd);
  return QV_OK;
}

/* buffers per preadv/writev call (Linux and the BSDs take 1024) */
#define ND_IOV_MAX 512

/* The system vector for iov[i..n) with the first `done` bytes of iov[i] skipped, at most
 * ND_IOV_MAX buffers; returns how many. */
static int iov_batch(const qv_nd_iovec *iov, size_t n, size_t i, size_t done, struct iovec *v) {
  int k = 0;
  for (size_t j = i; j < n && k < ND_IOV_MAX; j++, k++) {
    v[k].iov_base = (uint8_t *)iov[j].base + (j == i ? done : 0);
    v[k].iov_len = iov[j].len - (j == i ? done : 0);
  }
  return k;
}

/* Moves the position (*i, *done) of a vectored transfer `got` bytes on. */
static void iov_advance(const qv_nd_iovec *iov, size_t n, size_t *i, size_t *done, size_t got) {
  while (*i < n && got >= iov[*i].len - *done) {
    got -= iov[*i].len - *done;
    *done = 0;
    (*i)++;
  }
  *done += got;
}

/* Scattered read: preadv over batches of at most ND_IOV_MAX buffers, resuming after short reads. */
static qv_status p_read_atv(qv_nd_store *st, const char *path, uint64_t off, const qv_nd_iovec *iov,
                            size_t n, qv_error *err) {
  pstore *s = (pstore *)st;
  char fp[4096];
  QV_TRY(full_path(s, path, fp, sizeof fp, err));
  int fd = open(fp, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_err(err, "open", fp);
  struct iovec v[ND_IOV_MAX];
  size_t i = 0, skip = 0; /* current buffer and bytes of it already filled */
  qv_status r = QV_OK;
  while (i < n) {
    int k = iov_batch(iov, n, i, skip, v);
    ssize_t got = preadv(fd, v, k, (off_t)off);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      r = io_err(err, "read", fp);
      break;
    }
    if (got == 0) {
      r = qv_error_set(err, QV_E_RANGE, "'%s': scattered read at %llu runs past the end of the file", fp,
                       (unsigned long long)off);
      break;
    }
    off += (uint64_t)got;
    iov_advance(iov, n, &i, &skip, (size_t)got);
  }
  close(fd);
  return r;
}

/* Maps the whole object read-only and shared (the descriptor is closed at once: the mapping
 * keeps the file alive, even if it is unlinked meanwhile). */
static qv_status p_map(qv_nd_store *st, const char *path, uint64_t size, const void **base,
                       void **token, qv_error *err) {
  pstore *s = (pstore *)st;
  char fp[4096];
  QV_TRY(full_path(s, path, fp, sizeof fp, err));
  if (size == 0) return qv_error_set(err, QV_E_UNSUPPORTED, "'%s': an empty object is not mapped", fp);
  if (size > SIZE_MAX) return qv_error_set(err, QV_E_UNSUPPORTED, "'%s': too large to map", fp);
  pmap *m = qv_mem_alloc(s->alloc, sizeof *m, 0);
  if (!m) return qv__nomem(err, "mapping", sizeof *m);
  int fd = open(fp, O_RDONLY | O_CLOEXEC);
  qv_status r = QV_OK;
  struct stat sb;
  if (fd < 0) {
    r = io_err(err, "open", fp);
  } else if (fstat(fd, &sb) != 0) {
    r = io_err(err, "stat", fp);
  } else if (!S_ISREG(sb.st_mode)) {
    r = qv_error_set(err, QV_E_UNSUPPORTED, "'%s' is not a regular file", fp);
  } else if ((uint64_t)sb.st_size != size) {
    r = qv_error_set(err, QV_E_CORRUPT, "'%s' has %lld bytes, expected %llu", fp,
                     (long long)sb.st_size, (unsigned long long)size);
  } else {
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      r = qv_error_set(err, e == ENOMEM || e == ENODEV || e == EACCES ? QV_E_UNSUPPORTED : QV_E_IO,
                       "mmap '%s': %s", fp, strerror(e));
    } else {
      m->base = p;
      m->len = (size_t)size;
    }
  }
  if (fd >= 0) close(fd);
  if (r < 0) {
    qv_mem_free(s->alloc, m, sizeof *m, 0);
    return r;
  }
  *base = m->base;
  *token = m;
  return QV_OK;
}

static void p_unmap(qv_nd_store *st, void *token) {
  pstore *s = (pstore *)st;
  pmap *m = token;
  if (!m) return;
  munmap(m->base, m->len);
  qv_mem_free(s->alloc, m, sizeof *m, 0);
}

static qv_status p_size(qv_nd_store *st, const char *path, uint64_t *out, qv_error *err) {
  pstore *s = (pstore *)st;
  char fp[4096];
  struct stat sb;
  QV_TRY(full_path(s, path, fp, sizeof fp, err));
  if (stat(fp, &sb) != 0) return io_err(err, "stat", fp);
  if (!S_ISREG(sb.st_mode)) return qv_error_set(err, QV_E_NOTFOUND, "'%s' is not a file", fp);
  *out = (uint64_t)sb.st_size;
  return QV_OK;
}

static qv_status p_list(qv_nd_store *st, const char *prefix, qv_nd_list_fn fn, void *ctx,
                        qv_error *err) {
  pstore *s = (pstore *)st;
  char dir[4096], name[4096];
  const char *slash = strrchr(prefix, '/');
  size_t dl = slash ? (size_t)(slash - prefix) : 0;
  int n = snprintf(dir, sizeof dir, "%s/%.*s", s->root, (int)dl, prefix);
  if (n < 0 || (size_t)n >= sizeof dir) return qv_error_set(err, QV_E_LIMIT, "prefix too long");
  const char *base = slash ? slash + 1 : prefix;
  size_t bl = strlen(base);
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? QV_OK : io_err(err, "opendir", dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || strncmp(e->d_name, base, bl) != 0) continue;
    n = snprintf(name, sizeof name, "%.*s%s%s", (int)dl, prefix, dl ? "/" : "", e->d_name);
    if (n < 0 || (size_t)n >= sizeof name) continue;
    uint64_t sz = 0;
    if (p_size(st, name, &sz, NULL) != QV_OK) continue;
    if (fn(ctx, name, sz)) break;
  }
  closedir(d);
  return QV_OK;
}

/* fsync of the directory holding `path` (path is modified temporarily) */
static void sync_parent(char *path) {
  char *slash = strrchr(path, '/');
  if (!slash || slash == path) return;
  *slash = 0;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  *slash = '/';
}

static qv_status mkdirs(pstore *s, char *fp, qv_error *err) {
  /* create every missing parent directory of fp; a new directory's entry is made durable */
  for (char *p = strchr(fp + 1, '/'); p; p = strchr(p + 1, '/')) {
    *p = 0;
    if (mkdir(fp, 0777) == 0) {
      if (!s->no_fsync) sync_parent(fp);
    } else if (errno != EEXIST) {
      qv_status r = io_err(err, "mkdir", fp);
      *p = '/';
      return r;
    }
    *p = '/';
  }
  return QV_OK;
}

/* A temporary file untouched for this long whose writer process is gone is a crash leftover. */
#define ND_STALE_TMP_SECONDS 3600

/* Removes crash leftovers ".tmp-<pid>-..." from directory `dir` (a path, modified temporarily
 * at `slash`): the pid is not alive on this host and the file was not modified for an hour
 * (a writer on another host sharing the directory keeps touching its file while it writes). */
static void sweep_stale(char *dir_slash_name, char *slash) {
  *slash = 0;
  DIR *d = opendir(dir_slash_name);
  if (d) {
    struct dirent *e;
    time_t now = time(NULL);
    char p[4096];
    while ((e = readdir(d))) {
      if (strncmp(e->d_name, ".tmp-", 5) != 0) continue;
      char *end;
      long pid = strtol(e->d_name + 5, &end, 10);
      if (end == e->d_name + 5 || *end != '-' || pid <= 0 || pid == (long)getpid()) continue;
      if (pid <= INT_MAX && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)) continue; /* alive */
      int n = snprintf(p, sizeof p, "%s/%s", dir_slash_name, e->d_name);
      struct stat sb;
      if (n < 0 || (size_t)n >= sizeof p || lstat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
      if (now - sb.st_mtime < ND_STALE_TMP_SECONDS) continue;
      (void)unlink(p);
    }
    closedir(d);
  }
  *slash = '/';
}

static qv_status p_writer_open(qv_nd_store *st, const char *path, qv_nd_store_writer **out,
                               qv_error *err) {
  pstore *s = (pstore *)st;
  pwriter *w = qv_mem_calloc(s->alloc, sizeof *w, 0);
  if (!w) return qv__nomem(err, "posix writer", sizeof *w);
  w->s = s;
  qv_status r = full_path(s, path, w->final, sizeof w->final, err);
  if (r < 0) goto fail;
  r = mkdirs(s, w->final, err);
  if (r < 0) goto fail;
  pthread_mutex_lock(&s->mu);
  uint64_t c = ++s->counter;
  pthread_mutex_unlock(&s->mu);
  char *slash = strrchr(w->final, '/');
  sweep_stale(w->final, slash);
  int n = snprintf(w->tmp, sizeof w->tmp, "%.*s/.tmp-%ld-%llu-%s", (int)(slash - w->final),
                   w->final, (long)getpid(), (unsigned long long)c, slash + 1);
  if (n < 0 || (size_t)n >= sizeof w->tmp) {
    r = qv_error_set(err, QV_E_LIMIT, "path '%s' is too long", path);
    goto fail;
  }
  w->fd = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (w->fd < 0) {
    r = io_err(err, "create", w->tmp);
    goto fail;
  }
  *out = (qv_nd_store_writer *)w;
  return QV_OK;
fail:
  qv_mem_free(s->alloc, w, sizeof *w, 0);
  return r;
}

/* Reserves the file's blocks ahead of appends that take it past 1 MiB (fallocate, keeping the
 * size), in steps of the size so far (8 MiB to 256 MiB). Buffered writes into reserved blocks
 * skip the filesystem's per-page delayed allocation: on ext4 (Linux 6.18) a 1 GiB layer is
 * written ~1.5x faster (5.3 vs 8 GB/s). Commit releases what lies past the end. A refusal
 * (unsupported, no space) only ends the reserving: the writes report real errors. */
static void reserve(pwriter *w, uint64_t add) {
#if defined(__linux__) && defined(FALLOC_FL_KEEP_SIZE)
  uint64_t end = w->len + add;
  if (w->no_reserve || end <= w->reserved || end < (1u << 20)) return;
  uint64_t step = w->len < (8u << 20) ? 8u << 20 : w->len > (256u << 20) ? 256u << 20 : w->len;
  uint64_t from = w->reserved > w->len ? w->reserved : w->len;
  if (end + step > (uint64_t)INT64_MAX) {
    w->no_reserve = true;
    return;
  }
  if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(end + step - from)) != 0) {
    w->no_reserve = true;
    /* a reserve that failed midway (ENOSPC, a signal) may have kept part of the range (ext4
     * does): count it as reserved, so that commit releases it too */
    if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) return;
  }
  w->reserved = end + step;
#else
  (void)w;
  (void)add;
#endif
}

/* A durable store's writer starts the writeback of every 32 MiB appended (sync_file_range
 * without waiting), so that the disk works while later bytes are being appended and the fsync
 * at commit has little left to wait for: 1 GiB written durably at 2.9-3.5 GB/s instead of
 * 2.2-2.5 (ext4, Linux 6.18). Only a hint: fsync still decides, and reports any error. */
static void kick_writeback(pwriter *w) {
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
  if (w->s->no_fsync || w->len - w->kicked < ((uint64_t)32 << 20)) return;
  (void)sync_file_range(w->fd, (off_t)w->kicked, (off_t)(w->len - w->kicked), SYNC_FILE_RANGE_WRITE);
  w->kicked = w->len;
#else
  (void)w;
#endif
}

static qv_status p_writer_append(qv_nd_store_writer *wr, const void *data, size_t len,
                                 qv_error *err) {
  pwriter *w = (pwriter *)wr;
  reserve(w, len);
  const uint8_t *p = data;
  while (len) {
    ssize_t r = write(w->fd, p, len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_err(err, "write", w->tmp);
    p += r;
    len -= (size_t)r;
    w->len += (uint64_t)r;
  }
  kick_writeback(w);
  return QV_OK;
}

static qv_status p_writer_appendv(qv_nd_store_writer *wr, const qv_nd_iovec *iov, size_t n,
                                  qv_error *err) {
  pwriter *w = (pwriter *)wr;
  struct iovec v[ND_IOV_MAX];
  size_t i = 0, done = 0; /* iov[0..i) are written, and `done` bytes of iov[i] */
  uint64_t total = 0;
  for (size_t j = 0; j < n; j++) total += iov[j].len;
  reserve(w, total);
  while (i < n) {
    int k = iov_batch(iov, n, i, done, v);
    ssize_t r = writev(w->fd, v, k);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_err(err, "write", w->tmp);
    w->len += (uint64_t)r;
    iov_advance(iov, n, &i, &done, (size_t)r);
    if (r == 0 && i < n) return qv_error_set(err, QV_E_IO, "'%s': write made no progress", w->tmp);
  }
  kick_writeback(w);
  return QV_OK;
}

static qv_status p_writer_read_at(qv_nd_store_writer *wr, uint64_t off, void *buf, size_t len,
                                  qv_error *err) {
  pwriter *w = (pwriter *)wr;
  if (off > w->len || len > w->len - off)
    return qv_error_set(err, QV_E_RANGE, "'%s': read of %zu bytes at %llu beyond the %llu written",
                        w->tmp, len, (unsigned long long)off, (unsigned long long)w->len);
  uint8_t *p = buf;
  while (len) {
    ssize_t r = pread(w->fd, p, len, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_err(err, "read", w->tmp);
    if (r == 0) return qv_error_set(err, QV_E_IO, "'%s': shorter than what was written", w->tmp);
    p += r;
    off += (uint64_t)r;
    len -= (size_t)r;
  }
  return QV_OK;
}

static void p_writer_abort(qv_nd_store_writer *wr) {
  pwriter *w = (pwriter *)wr;
  if (!w) return;
  if (w->fd >= 0) close(w->fd);
  unlink(w->tmp);
  qv_mem_free(w->s->alloc, w, sizeof *w, 0);
}

static qv_status p_writer_commit(qv_nd_store_writer *wr, unsigned flags, qv_error *err) {
  pwriter *w = (pwriter *)wr;
  qv_status r = QV_OK;
  if (w->reserved > w->len && ftruncate(w->fd, (off_t)w->len) != 0) /* releases the reserve */
    r = io_err(err, "truncate", w->tmp);
  if (r == QV_OK && !w->s->no_fsync && fsync(w->fd) != 0) r = io_err(err, "fsync", w->tmp);
  if (close(w->fd) != 0 && r == QV_OK) r = io_err(err, "close", w->tmp);
  w->fd = -1;
  if (r == QV_OK) {
    if (flags & QV_ND_PUT_IF_ABSENT) {
      /* link() never replaces an existing name: the atomic conditional create. Filesystems
       * without hard links get renameat2(RENAME_NOREPLACE) instead. */
      int rc = link(w->tmp, w->final);
      if (rc != 0 && (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK)) {
#ifdef SYS_renameat2
        rc = (int)syscall(SYS_renameat2, AT_FDCWD, w->tmp, AT_FDCWD, w->final, 1u /* NOREPLACE */);
        if (rc != 0 && (errno == ENOSYS || errno == EINVAL)) errno = EOPNOTSUPP;
#endif
      }
      if (rc != 0)
        r = errno == EEXIST ? qv_error_set(err, QV_E_EXISTS, "'%s' already exists", w->final)
            : errno == EOPNOTSUPP
                ? qv_error_set(err, QV_E_UNSUPPORTED, "'%s': the filesystem supports neither link() nor renameat2(RENAME_NOREPLACE)", w->final)
                : io_err(err, "link", w->final);
    } else if (rename(w->tmp, w->final) != 0) {
      r = io_err(err, "rename", w->final);
    }
  }
  p_writer_abort(wr); /* unlinks the temporary name (gone already after rename) */
  return r;
}

static qv_status p_remove(qv_nd_store *st, const char *path, qv_error *err) {
  pstore *s = (pstore *)st;
  char fp[4096];
  QV_TRY(full_path(s, path, fp, sizeof fp, err));
  if (unlink(fp) != 0) return io_err(err, "unlink", fp);
  return QV_OK;
}

static qv_status p_sync(qv_nd_store *st, const char *path, qv_error *err) {
  pstore *s = (pstore *)st;
  char fp[4096];
  QV_TRY(full_path(s, path, fp, sizeof fp, err));
  if (s->no_fsync) return QV_OK;
  char *slash = strrchr(fp, '/');
  *slash = 0;
  int fd = open(fp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_err(err, "open directory", fp);
  qv_status r = QV_OK;
  if (fsync(fd) != 0 && errno != EINVAL) r = io_err(err, "fsync directory", fp);
  close(fd);
  return r;
}

static void p_close(qv_nd_store *st) {
  pstore *s = (pstore *)st;
  qv_mem_strfree(s->alloc, s->root);
  pthread_mutex_destroy(&s->mu);
  qv_mem_free(s->alloc, s, sizeof *s, 0);
}

qv_status qv_nd_store_posix_new(const char *root, const qv_allocator *a, qv_nd_store **out,
                                qv_error *err) {
  return qv_nd_store_posix_open(root, 0, a, out, err);
}

qv_status qv_nd_store_posix_open(const char *root, unsigned flags, const qv_allocator *a,
                                 qv_nd_store **out, qv_error *err) {
  if (flags & ~(QV_ND_POSIX_NO_FSYNC | QV_ND_POSIX_NO_MMAP)) return qv_error_set(err, QV_E_INVALID, "unknown posix store flags 0x%x", flags);
  struct stat sb;
  if (!root || stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return qv_error_set(err, QV_E_NOTFOUND, "store root '%s' is not a directory",
                        root ? root : "(null)");
  pstore *s = qv_mem_calloc(a, sizeof *s, 0);
  if (!s) return qv__nomem(err, "posix store", sizeof *s);
  s->alloc = a;
  s->root = qv_mem_strdup(a, root);
  if (!s->root) {
    qv_mem_free(a, s, sizeof *s, 0);
    return qv__nomem(err, "posix store", strlen(root));
  }
  pthread_mutex_init(&s->mu, NULL);
  s->no_fsync = (flags & QV_ND_POSIX_NO_FSYNC) != 0;
  s->base.version = QV_ND_STORE_VERSION;
  s->base.caps = QV_ND_CAP_ATOMIC_PUT | QV_ND_CAP_CONDITIONAL_PUT | QV_ND_CAP_RANGED_READ |
                 (s->no_fsync ? 0u : QV_ND_CAP_DURABLE);
  s->base.name = "posix";
  s->base.read_at = p_read_at;
  s->base.read_atv = p_read_atv;
  s->base.size = p_size;
  s->base.list = p_list;
  s->base.writer_open = p_writer_open;
  s->base.writer_append = p_writer_append;
  s->base.writer_commit = p_writer_commit;
  s->base.writer_abort = p_writer_abort;
  s->base.remove = p_remove;
  s->base.sync = p_sync;
  s->base.close = p_close;
  s->base.writer_read_at = p_writer_read_at;
  s->base.writer_appendv = p_writer_appendv;
  if (!(flags & QV_ND_POSIX_NO_MMAP)) {
    s->base.map = p_map;
    s->base.unmap = p_unmap;
  }
  *out = &s->base;
  return QV_OK;
}
