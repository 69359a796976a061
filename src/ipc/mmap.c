/* mmap.c — read-only memory mapping of IPC files into a qv_buffer whose release unmaps, so
 * zero-copy arrays read from the file keep the mapping alive; and qv_ipc_read_path. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc/ipc_int.h"

static void unmap(void *ctx, const void *data, size_t len) {
  (void)ctx;
  munmap((void *)(uintptr_t)data, len);
}

qv_status qv__ipc_map_file(const char *path, const qv_allocator *a, qv_buffer *out,
                           qv_error *err) {
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return qv_error_set(err, QV_E_IO, "cannot open %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return qv_error_set(err, QV_E_IO, "cannot stat %s: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return qv_error_set(err, QV_E_IO, "%s is not a regular file", path);
  }
  if (st.st_size == 0) {
    close(fd);
    return QV_OK; /* empty buffer */
  }
  if ((uint64_t)st.st_size > SIZE_MAX / 2) {
    close(fd);
    return qv_error_set(err, QV_E_LIMIT, "%s is too large to map", path);
  }
  size_t len = (size_t)st.st_size;
  void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED) return qv_error_set(err, QV_E_IO, "cannot map %s: %s", path, strerror(e));
  return qv_buffer_wrap(p, len, unmap, NULL, a, out, err);
}

qv_status qv_ipc_read_path(const char *path, const qv_ipc_read_options *opts,
                           const qv_allocator *a, qv_table **out, qv_error *err) {
  if (!path || !out) return qv_error_set(err, QV_E_INVALID, "qv_ipc_read_path: NULL argument");
  *out = NULL;
  qv_buffer b;
  QV_TRY(qv__ipc_map_file(path, a, &b, err));
  qv_status s = qv_ipc_read_buffer(&b, opts, a, out, err);
  qv_buffer_unref(&b);
  if (s < 0) qv_error_prefix(err, "%s: ", path);
  return s;
}
