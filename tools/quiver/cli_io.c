/* cli_io.c — input/output helpers of the IPC subcommands: loading a path or stdin (mmap for
 * regular files; a stream on stdin can be read batch by batch), telling IPC stream and file
 * formats apart, iterating an input's batches. */
#include "cli_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int qv_cli_parse_format(const char *s) {
  if (!strcmp(s, "stream") || !strcmp(s, "arrows")) return QV_IPC_FORMAT_STREAM;
  if (!strcmp(s, "file") || !strcmp(s, "arrow") || !strcmp(s, "feather") || !strcmp(s, "ipc"))
    return QV_IPC_FORMAT_FILE;
  return QV_CLI_FORMAT_UNKNOWN;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

int qv_cli_format_from_name(const char *path) {
  if (ends_with(path, ".arrow") || ends_with(path, ".feather") || ends_with(path, ".ipc") ||
      ends_with(path, ".arrow_file"))
    return QV_IPC_FORMAT_FILE;
  if (ends_with(path, ".arrows") || ends_with(path, ".stream")) return QV_IPC_FORMAT_STREAM;
  return QV_CLI_FORMAT_UNKNOWN;
}

int qv_cli_format_from_bytes(const uint8_t *p, size_t n) {
  if (n >= 6 && memcmp(p, "ARROW1", 6) == 0) return QV_IPC_FORMAT_FILE;
  if (n >= 4 && p[0] == 0xff && p[1] == 0xff && p[2] == 0xff && p[3] == 0xff)
    return QV_IPC_FORMAT_STREAM;
  return QV_CLI_FORMAT_UNKNOWN;
}

int qv_cli_parse_compression(const char *s) {
  if (!strcmp(s, "none")) return QV_IPC_COMPRESSION_NONE;
  if (!strcmp(s, "lz4") || !strcmp(s, "lz4_frame")) return QV_IPC_COMPRESSION_LZ4_FRAME;
  if (!strcmp(s, "zstd")) return QV_IPC_COMPRESSION_ZSTD;
  return -1;
}

const char *qv_cli_format_name(int format) {
  return format == QV_IPC_FORMAT_FILE ? "file" : format == QV_IPC_FORMAT_STREAM ? "stream" : "?";
}

const char *qv_cli_compression_name(int codec) {
  switch (codec) {
    case QV_IPC_COMPRESSION_NONE: return "none";
    case QV_IPC_COMPRESSION_LZ4_FRAME: return "lz4_frame";
    case QV_IPC_COMPRESSION_ZSTD: return "zstd";
    default: return "?";
  }
}

static void unmap(void *ctx, const void *data, size_t len) {
  (void)ctx;
  munmap((void *)(uintptr_t)data, len);
}

/* Reads fd to its end; `head` (n_head bytes already read from it) comes first. */
static qv_status read_all_after(int fd, const char *path, const uint8_t *head, size_t n_head,
                                qv_buffer *out, qv_error *err) {
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, NULL);
  if (n_head) {
    qv_status s = qv_mbuffer_append(&mb, head, n_head, err);
    if (s < 0) {
      qv_mbuffer_reset(&mb);
      return s;
    }
  }
  for (;;) {
    qv_status s = qv_mbuffer_reserve(&mb, 1 << 16, err);
    if (s < 0) {
      qv_mbuffer_reset(&mb);
      return s;
    }
    ssize_t n = read(fd, mb.data + mb.len, mb.cap - mb.len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      qv_mbuffer_reset(&mb);
      return qv_error_set(err, QV_E_IO, "%s: read: %s", path, strerror(errno));
    }
    if (n == 0) break;
    mb.len += (size_t)n;
  }
  return qv_mbuffer_finish(&mb, out, err);
}

static qv_status read_all(int fd, const char *path, qv_buffer *out, qv_error *err) {
  return read_all_after(fd, path, NULL, 0, out, err);
}

qv_status qv_cli_load(const char *path, qv_buffer *out, qv_error *err) {
  *out = (qv_buffer){0};
  if (!strcmp(path, "-")) return read_all(STDIN_FILENO, "stdin", out, err);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return qv_error_set(err, QV_E_IO, "%s: %s", path, strerror(errno));
  struct stat st;
  qv_status s;
  if (fstat(fd, &st) != 0) {
    s = qv_error_set(err, QV_E_IO, "%s: %s", path, strerror(errno));
  } else if (S_ISDIR(st.st_mode)) {
    s = qv_error_set(err, QV_E_IO, "%s: is a directory", path);
  } else if (!S_ISREG(st.st_mode) || st.st_size == 0) {
    s = read_all(fd, path, out, err);
  } else {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      s = qv_error_set(err, QV_E_IO, "%s: mmap: %s", path, strerror(errno));
    } else {
      s = qv_buffer_wrap(p, (size_t)st.st_size, unmap, NULL, NULL, out, err);
    }
  }
  close(fd);
  return s;
}

qv_status qv_cli_input_open(qv_cli_input *in, const char *path, int forced, qv_error *err) {
  memset(in, 0, sizeof *in);
  in->path = path;
  QV_TRY(qv_cli_load(path, &in->bytes, err));
  qv_status s;
  if (in->bytes.len == 0) {
    s = qv_error_set(err, QV_E_CORRUPT, "%s: empty input (not an Arrow IPC stream or file)",
                     strcmp(path, "-") ? path : "stdin");
    goto fail;
  }
  int fmt = forced;
  if (fmt == QV_CLI_FORMAT_UNKNOWN) fmt = qv_cli_format_from_bytes(in->bytes.data, in->bytes.len);
  if (fmt == QV_CLI_FORMAT_UNKNOWN) fmt = qv_cli_format_from_name(path);
  if (fmt == QV_CLI_FORMAT_UNKNOWN) fmt = QV_IPC_FORMAT_STREAM; /* e.g. a legacy stream */
  in->format = fmt;
  if (fmt == QV_IPC_FORMAT_FILE) {
    QV_TRY_GOTO(s, qv_ipc_file_open_buffer(&in->bytes, NULL, NULL, &in->file, err), fail);
    in->schema = qv_ipc_file_schema(in->file);
  } else {
    QV_TRY_GOTO(s, qv_ipc_decoder_new(NULL, NULL, &in->dec, err), fail);
    QV_TRY_GOTO(s, qv_ipc_decoder_feed(in->dec, &in->bytes, err), fail);
    qv_ipc_decoder_finish_input(in->dec);
    s = qv_ipc_decoder_read_schema(in->dec, err);
    if (s == QV_NEED_MORE || s == QV_EOF)
      s = qv_error_set(err, QV_E_CORRUPT, "input ends before the schema message");
    if (s < 0) goto fail;
    in->schema = qv_ipc_decoder_schema(in->dec);
  }
  return QV_OK;
fail:
  qv_cli_input_close(in);
  return s;
}

qv_status qv_cli_input_open_streaming(qv_cli_input *in, const char *path, int forced,
                                      qv_error *err) {
  if (strcmp(path, "-") != 0 || forced == QV_IPC_FORMAT_FILE)
    return qv_cli_input_open(in, path, forced, err);
  memset(in, 0, sizeof *in);
  in->path = path;
  uint8_t head[6];
  size_t n = 0;
  while (n < sizeof head) { /* peek: a file starts with "ARROW1" */
    ssize_t r = read(STDIN_FILENO, head + n, sizeof head - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return qv_error_set(err, QV_E_IO, "stdin: read: %s", strerror(errno));
    if (r == 0) break;
    n += (size_t)r;
  }
  if (n == 0)
    return qv_error_set(err, QV_E_CORRUPT, "stdin: empty input (not an Arrow IPC stream or file)");
  qv_status s;
  if (forced != QV_IPC_FORMAT_STREAM && qv_cli_format_from_bytes(head, n) == QV_IPC_FORMAT_FILE) {
    in->format = QV_IPC_FORMAT_FILE;
    QV_TRY(read_all_after(STDIN_FILENO, "stdin", head, n, &in->bytes, err));
    QV_TRY_GOTO(s, qv_ipc_file_open_buffer(&in->bytes, NULL, NULL, &in->file, err), fail);
    in->schema = qv_ipc_file_schema(in->file);
    return QV_OK;
  }
  in->format = QV_IPC_FORMAT_STREAM;
  QV_TRY_GOTO(s, qv_ipc_fd_reader_open_prefixed(STDIN_FILENO, head, n, NULL, NULL, &in->fdr, err),
              fail);
  in->schema = qv_ipc_fd_reader_schema(in->fdr);
  return QV_OK;
fail:
  qv_cli_input_close(in);
  return s;
}

qv_status qv_cli_input_next(qv_cli_input *in, qv_batch **out, qv_error *err) {
  *out = NULL;
  if (in->fdr) return qv_ipc_fd_reader_next(in->fdr, out, err);
  if (in->file) {
    if (in->next_batch >= qv_ipc_file_num_batches(in->file)) return QV_EOF;
    qv_status s = qv_ipc_file_read_batch(in->file, in->next_batch, NULL, 0, out, err);
    if (s < 0) qv_error_prefix(err, "record batch %lld: ", (long long)in->next_batch);
    in->next_batch++;
    return s;
  }
  qv_status s = qv_ipc_decoder_next(in->dec, out, err);
  if (s == QV_NEED_MORE)
    return qv_error_set(err, QV_E_CORRUPT, "truncated stream (a message is incomplete)");
  return s;
}

void qv_cli_input_close(qv_cli_input *in) {
  qv_ipc_file_close(in->file);
  qv_ipc_decoder_free(in->dec);
  qv_ipc_fd_reader_free(in->fdr);
  qv_buffer_unref(&in->bytes);
  memset(in, 0, sizeof *in);
}

bool qv_cli_range_done(const qv_cli_range *r) {
  return r->limit >= 0 && r->seen >= r->offset && r->seen - r->offset >= r->limit;
}

qv_status qv_cli_range_apply(qv_cli_range *r, const qv_batch *b, qv_batch **out, qv_error *err) {
  *out = NULL;
  int64_t len = b->length, seen = r->seen;
  r->seen += len;
  if (r->offset == 0 && r->limit < 0) {
    *out = qv_batch_ref(b);
    return QV_OK;
  }
  int64_t start = r->offset > seen ? r->offset - seen : 0;
  int64_t end = len;
  if (r->limit >= 0 && r->offset + r->limit - seen < end) end = r->offset + r->limit - seen;
  if (start >= len || end <= start) return QV_OK;
  if (start == 0 && end == len) {
    *out = qv_batch_ref(b);
    return QV_OK;
  }
  return qv_batch_slice(b, start, end - start, out, err);
}

bool qv_cli_parse_count(const char *s, int64_t *out) {
  char *end;
  if (!s || !*s || *s == '-') return false;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

int qv_cli_input_arg(const qv_cli_command *cmd, int argc, char **argv, int *i, const char **path,
                     int *forced) {
  const char *a = argv[*i];
  if (!strcmp(a, "--from")) {
    if (*i + 1 >= argc || (*forced = qv_cli_parse_format(argv[*i + 1])) < 0)
      return qv_cli_usage(cmd, "--from needs stream or file");
    ++*i;
  } else if (a[0] == '-' && a[1] != '\0') {
    return qv_cli_usage(cmd, "unknown option '%s'", a);
  } else if (!*path) {
    *path = a;
  } else {
    return qv_cli_usage(cmd, "one input only ('%s' is extra)", a);
  }
  return 0;
}
