/* cmd_nd.c — `quiver nd`: create, inspect and edit ndfiles (many chunked n-d arrays in one
 * object, docs/spec/ndfile.md) on the local filesystem; plus the ndfile step of `quiver demo`. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "quiver/array.h"
#include "quiver/ndfile.h"

extern const qv_cli_command qv_cli_cmd_nd;

#define ND_HELP                                                                                 \
  "usage: quiver nd SUBCOMMAND FILE [ARGS] [OPTIONS]\n\n"                                       \
  "An ndfile is a directory of checksummed layers holding many named n-d arrays.\n\n"            \
  "subcommands:\n"                                                                              \
  "  create FILE                         make an empty ndfile\n"                                \
  "  ls FILE                             list the arrays\n"                                     \
  "  info FILE ARRAY                     definition, dimensions, storage, attributes\n"          \
  "  define FILE ARRAY --dtype T --shape N,M [--chunks a,b] [--codec C] [--fill V] [--dims x,y]\n" \
  "                                      define an empty array (unwritten cells read as fill)\n" \
  "  put FILE ARRAY IN.npy [--chunks a,b] [--codec C] [--dims x,y]\n"                           \
  "                                      import a .npy file as a new array\n"                   \
  "  put FILE ARRAY IN.npy --start i,j   write a .npy into a region of an existing array\n"     \
  "  put FILE ARRAY --values v1,v2,... [--start i,j] [--shape n,m]\n"                            \
  "                                      write literal values into an existing array\n"         \
  "  get FILE ARRAY [--start i,j] [--shape n,m] [-o OUT.npy]\n"                                 \
  "                                      read a region (default: all) to .npy or as text\n"     \
  "  rm FILE ARRAY                       delete an array\n"                                     \
  "  attr FILE ARRAY                     list attributes\n"                                     \
  "  attr FILE ARRAY KEY                 print one attribute\n"                                 \
  "  attr FILE ARRAY KEY VALUE... [--type bool|int|float|string]\n"                              \
  "                                      set an attribute (several values make a list)\n"       \
  "  attr FILE ARRAY --delete KEY        remove an attribute\n"                                 \
  "  stats FILE ARRAY                    count, fill/unwritten count, min, max\n"               \
  "  compact FILE                        merge all layers into one (crash-safe)\n"              \
  "  layers FILE                         list the layers of the stack\n"                        \
  "  verify FILE                         read and check every block of every layer\n\n"        \
  "options:\n"                                                                                  \
  "  --codec none|lz4|zstd[:LEVEL]       chunk compression (default none)\n"                    \
  "  --as-of N                           read the state as of layer N (time travel)\n"          \
  "  --threads N                         threads for big reads and writes (default 0: every\n"  \
  "                                      online CPU, at most 8, for 8 MiB or more; 1: none)\n"   \
  "  --segment BYTES|off                 write chunks larger than BYTES (a power of two, 4096\n" \
  "                                      to 1 GiB; default 2 MiB) as segments checked and\n"    \
  "                                      decoded by several threads; off: as one frame\n\n"     \
  "examples:\n"                                                                                 \
  "  quiver nd create data.nd\n"                                                                \
  "  quiver nd put data.nd temperature t.npy --chunks 256,256 --codec zstd\n"                   \
  "  quiver nd get data.nd temperature --start 0,0 --shape 10,10 -o part.npy\n"                 \
  "  quiver nd attr data.nd temperature units kelvin\n"                                         \
  "  quiver nd layers data.nd && quiver nd compact data.nd\n"

typedef struct opts {
  const char *pos[16];
  int npos;
  const char *chunks, *codec, *start, *shape, *out, *dims, *dtype, *fill, *values, *type, *del;
  uint64_t as_of;
  long threads; /* -1: the library's default (automatic) */
  const char *segment;
  size_t segment_bytes; /* of --segment (QV_ND_SEGMENTS_OFF for off) */
} opts;

static int parse_opts(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  o->threads = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (strcmp(a, "--chunks") == 0) slot = &o->chunks;
    else if (strcmp(a, "--codec") == 0) slot = &o->codec;
    else if (strcmp(a, "--start") == 0) slot = &o->start;
    else if (strcmp(a, "--shape") == 0) slot = &o->shape;
    else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) slot = &o->out;
    else if (strcmp(a, "--dims") == 0) slot = &o->dims;
    else if (strcmp(a, "--dtype") == 0) slot = &o->dtype;
    else if (strcmp(a, "--fill") == 0) slot = &o->fill;
    else if (strcmp(a, "--values") == 0) slot = &o->values;
    else if (strcmp(a, "--type") == 0) slot = &o->type;
    else if (strcmp(a, "--delete") == 0) slot = &o->del;
    else if (strcmp(a, "--segment") == 0) slot = &o->segment;
    else if (strcmp(a, "--as-of") == 0) {
      if (i + 1 >= argc) return qv_cli_usage(&qv_cli_cmd_nd, "--as-of needs a layer number");
      char *e;
      o->as_of = strtoull(argv[++i], &e, 10);
      if (*e || !o->as_of) return qv_cli_usage(&qv_cli_cmd_nd, "--as-of: '%s' is not a layer number", argv[i]);
      continue;
    } else if (strcmp(a, "--threads") == 0) {
      if (i + 1 >= argc) return qv_cli_usage(&qv_cli_cmd_nd, "--threads needs a number");
      char *e;
      o->threads = strtol(argv[++i], &e, 10);
      if (*e || e == argv[i] || o->threads < 0 || o->threads > 64)
        return qv_cli_usage(&qv_cli_cmd_nd, "--threads: '%s' is not a number from 0 to 64", argv[i]);
      continue;
    } else if (a[0] == '-' && a[1] && strcmp(a, "-") != 0 && !(a[1] >= '0' && a[1] <= '9')) {
      return qv_cli_usage(&qv_cli_cmd_nd, "unknown option '%s'", a);
    } else {
      if (o->npos == 16) return qv_cli_usage(&qv_cli_cmd_nd, "too many arguments");
      o->pos[o->npos++] = a;
      continue;
    }
    if (i + 1 >= argc) return qv_cli_usage(&qv_cli_cmd_nd, "%s needs a value", a);
    *slot = argv[++i];
  }
  if (o->segment && strcmp(o->segment, "off") == 0) {
    o->segment_bytes = QV_ND_SEGMENTS_OFF;
  } else if (o->segment) { /* the library checks that it is a power of two in range */
    char *e;
    errno = 0;
    unsigned long long v = strtoull(o->segment, &e, 10);
    if (errno || *e || e == o->segment || o->segment[0] < '0' || o->segment[0] > '9' || v == 0 || v > SIZE_MAX)
      return qv_cli_usage(&qv_cli_cmd_nd, "--segment: '%s' is not a number of bytes or 'off'", o->segment);
    o->segment_bytes = (size_t)v;
  }
  return 0;
}

/* "3,4,5" -> dims; returns count or -1 */
static int parse_dims(const char *s, uint64_t *out, int max) {
  int n = 0;
  if (!s || !*s) return 0;
  const char *p = s;
  for (;;) {
    char *e;
    errno = 0;
    if (*p < '0' || *p > '9') return -1;
    unsigned long long v = strtoull(p, &e, 10);
    if (errno || e == p || n == max) return -1;
    out[n++] = v;
    if (*e == 0) return n;
    if (*e != ',') return -1;
    p = e + 1;
  }
}

/* Splits FILE into a store root (its directory) and the object name. */
static int open_store(const char *file, qv_nd_store **st, const char **name, char *root, size_t cap) {
  qv_error err;
  const char *slash = strrchr(file, '/');
  if (slash) {
    snprintf(root, cap, "%.*s", (int)(slash == file ? 1 : slash - file), file);
    *name = slash + 1;
  } else {
    snprintf(root, cap, ".");
    *name = file;
  }
  if (!**name) return qv_cli_fail("nd", NULL, "'%s' does not name a file", file);
  if (qv_nd_store_posix_new(root, NULL, st, &err) != QV_OK)
    return qv_cli_fail("nd", &err, "cannot use directory '%s'", root);
  return 0;
}

static int open_file(const opts *o, bool writable, qv_nd_store **st, qv_nd_file **f) {
  char root[4096];
  const char *name;
  if (open_store(o->pos[1], st, &name, root, sizeof root)) return QV_CLI_FAIL;
  qv_nd_options op = qv_nd_options_default();
  op.as_of_layer = o->as_of;
  op.read_only = !writable;
  if (o->threads >= 0) op.threads = (unsigned)o->threads;
  if (o->segment) op.segment_bytes = o->segment_bytes;
  qv_error err;
  if (qv_nd_open(*st, name, &op, f, &err) != QV_OK) {
    qv_nd_store_close(*st);
    return qv_cli_fail("nd", &err, "cannot open '%s'", o->pos[1]);
  }
  return 0;
}

static void close_file(qv_nd_store *st, qv_nd_file *f) {
  qv_nd_close(f);
  qv_nd_store_close(st);
}

static int flush_close(qv_nd_store *st, qv_nd_file *f, const char *what) {
  qv_error err;
  qv_status s = qv_nd_flush(f, &err);
  close_file(st, f);
  if (s != QV_OK) return qv_cli_fail("nd", &err, "%s: flush failed", what);
  return QV_CLI_OK;
}

static void print_dims(FILE *out, uint32_t rank, const uint64_t *d) {
  fputc('[', out);
  for (uint32_t k = 0; k < rank; k++) fprintf(out, "%s%" PRIu64, k ? "," : "", d[k]);
  fputc(']', out);
}

static int parse_codec(const char *s, uint32_t *codec, int *level) {
  char name[64];
  qv_error err;
  *level = 3;
  if (!s) {
    *codec = QV_ND_CODEC_NONE;
    return 0;
  }
  const char *colon = strchr(s, ':');
  snprintf(name, sizeof name, "%.*s", (int)(colon ? colon - s : (long)strlen(s)), s);
  if (colon) {
    char *end;
    errno = 0;
    long lv = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || lv < -131072 || lv > 22)
      return qv_cli_usage(&qv_cli_cmd_nd, "bad codec level in '%s' (want NAME:LEVEL, e.g. zstd:3)", s);
    *level = (int)lv;
  }
  if (qv_nd_codec_find(name, codec, &err) != QV_OK) return qv_cli_usage(&qv_cli_cmd_nd, "%s", err.message);
  return 0;
}

/* Parses one text value of a fixed-width dtype into `out` (width bytes). */
static int parse_value(qv_nd_dtype dt, const char *s, void *out) {
  char *e;
  errno = 0;
  switch (dt.type) {
    case QV_ND_BOOL: {
      uint8_t b = strcmp(s, "true") == 0 || strcmp(s, "1") == 0;
      if (!b && strcmp(s, "false") != 0 && strcmp(s, "0") != 0) return -1;
      memcpy(out, &b, 1);
      return 0;
    }
    case QV_ND_FLOAT32: {
      float v = strtof(s, &e);
      memcpy(out, &v, 4);
      return *e || e == s ? -1 : 0;
    }
    case QV_ND_FLOAT64: {
      double v = strtod(s, &e);
      memcpy(out, &v, 8);
      return *e || e == s ? -1 : 0;
    }
    case QV_ND_UINT8: case QV_ND_UINT16: case QV_ND_UINT32: case QV_ND_UINT64: {
      if (*s == '-') return -1;
      unsigned long long v = strtoull(s, &e, 0);
      if (*e || e == s || errno) return -1;
      size_t w = qv_nd_dtype_width(dt);
      if (w < 8 && v >> (8 * w)) return -1;
      memcpy(out, &v, w); /* little-endian host */
      return 0;
    }
    default: {
      long long v = strtoll(s, &e, 0);
      if (*e || e == s || errno) return -1;
      size_t w = qv_nd_dtype_width(dt);
      if (w < 8) {
        long long lim = 1ll << (8 * w - 1);
        if (v < -lim || v >= lim) return -1;
      }
      memcpy(out, &v, w);
      return 0;
    }
  }
}

static void print_value(FILE *out, qv_nd_dtype dt, const uint8_t *p) {
  switch (dt.type) {
    case QV_ND_BOOL: fputs(*p ? "true" : "false", out); break;
    case QV_ND_INT8: fprintf(out, "%d", (int)(int8_t)*p); break;
    case QV_ND_UINT8: fprintf(out, "%u", (unsigned)*p); break;
#define PV(T, FMT, CAST) { T v; memcpy(&v, p, sizeof v); fprintf(out, FMT, (CAST)v); } break;
    case QV_ND_INT16: PV(int16_t, "%d", int)
    case QV_ND_INT32: PV(int32_t, "%d", int)
    case QV_ND_INT64: case QV_ND_TIMESTAMP_NS: PV(int64_t, "%lld", long long)
    case QV_ND_UINT16: PV(uint16_t, "%u", unsigned)
    case QV_ND_UINT32: PV(uint32_t, "%u", unsigned)
    case QV_ND_UINT64: PV(uint64_t, "%llu", unsigned long long)
    case QV_ND_FLOAT32: PV(float, "%.9g", double)
    case QV_ND_FLOAT64: PV(double, "%.17g", double)
#undef PV
    default: fputs("?", out);
  }
}

static const char *codec_str(uint32_t id, char *buf, size_t cap) {
  const char *n = qv_nd_codec_name(id);
  if (n) return n;
  snprintf(buf, cap, "codec#%u", id);
  return buf;
}

/* ---- subcommands ---- */
static int nd_create(const opts *o) {
  qv_nd_store *st;
  qv_nd_file *f;
  char root[4096];
  const char *name;
  qv_error err;
  if (open_store(o->pos[1], &st, &name, root, sizeof root)) return QV_CLI_FAIL;
  if (qv_nd_create(st, name, NULL, &f, &err) != QV_OK) {
    qv_nd_store_close(st);
    return qv_cli_fail("nd", &err, "cannot create '%s'", o->pos[1]);
  }
  printf("created %s (layer 1)\n", o->pos[1]);
  close_file(st, f);
  return QV_CLI_OK;
}

static int nd_ls(const opts *o) {
  qv_nd_store *st;
  qv_nd_file *f;
  if (open_file(o, false, &st, &f)) return QV_CLI_FAIL;
  printf("%-24s %-16s %-20s %-16s %-8s %s\n", "ARRAY", "DTYPE", "SHAPE", "CHUNKS", "CODEC", "STORED");
  for (size_t i = 0; i < qv_nd_count(f); i++) {
    qv_nd_info in;
    char dts[64], cb[32], sh[256], ch[256];
    if (qv_nd_info_get(f, qv_nd_name(f, i), &in, NULL) != QV_OK) continue;
    FILE *m = fmemopen(sh, sizeof sh, "w");
    print_dims(m, in.rank, in.shape);
    fclose(m);
    m = fmemopen(ch, sizeof ch, "w");
    print_dims(m, in.rank, in.chunk_shape);
    fclose(m);
    printf("%-24s %-16s %-20s %-16s %-8s %" PRIu64 "/%" PRIu64 " chunks, %" PRIu64 " bytes\n", in.name,
           qv_nd_dtype_str(in.dtype, dts, sizeof dts), sh, ch, codec_str(in.codec, cb, sizeof cb),
           in.stored_chunks, in.n_chunks, in.stored_bytes);
  }
  close_file(st, f);
  return QV_CLI_OK;
}

static void print_attr(const qv_nd_attr *v) {
  static const char *kinds[] = {"?", "bool", "int", "float", "string", "binary"};
  if (v->is_list) fputc('[', stdout);
  for (size_t j = 0; j < v->count; j++) {
    if (j) fputs(", ", stdout);
    switch (v->kind) {
      case QV_ND_ATTR_BOOL: fputs(((const uint8_t *)v->values)[j] ? "true" : "false", stdout); break;
      case QV_ND_ATTR_INT: printf("%lld", (long long)((const int64_t *)v->values)[j]); break;
      case QV_ND_ATTR_FLOAT: printf("%.17g", ((const double *)v->values)[j]); break;
      case QV_ND_ATTR_STRING: {
        const qv_nd_bytes *b = (const qv_nd_bytes *)v->values + j;
        printf("\"%.*s\"", (int)b->len, (const char *)b->data);
        break;
      }
      default: {
        const qv_nd_bytes *b = (const qv_nd_bytes *)v->values + j;
        fputs("0x", stdout);
        for (size_t k = 0; k < b->len; k++) printf("%02x", ((const uint8_t *)b->data)[k]);
      }
    }
  }
  if (v->is_list) fputc(']', stdout);
  printf("  (%s%s)\n", v->is_list ? "list of " : "", kinds[v->kind <= 5 ? v->kind : 0]);
}

static int nd_info(const opts *o) {
  if (o->npos < 3) return qv_cli_usage(&qv_cli_cmd_nd, "info needs FILE ARRAY");
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  if (open_file(o, false, &st, &f)) return QV_CLI_FAIL;
  qv_nd_info in;
  if (qv_nd_info_get(f, o->pos[2], &in, &err) != QV_OK) {
    close_file(st, f);
    return qv_cli_fail("nd", &err, "info");
  }
  char dts[64], cb[32];
  printf("array:   %s\ndtype:   %s\nshape:   ", in.name, qv_nd_dtype_str(in.dtype, dts, sizeof dts));
  print_dims(stdout, in.rank, in.shape);
  printf("\nchunks:  ");
  print_dims(stdout, in.rank, in.chunk_shape);
  printf("\ndims:    ");
  for (uint32_t k = 0; k < in.rank; k++) printf("%s%s", k ? ", " : "", in.dim_names[k][0] ? in.dim_names[k] : "-");
  printf("\nfill:    ");
  if (qv_nd_dtype_width(in.dtype)) print_value(stdout, in.dtype, in.fill);
  else printf("\"%.*s\"", (int)in.fill_len, (const char *)in.fill);
  printf("\ncodec:   %s (level %d)\nstored:  %" PRIu64 " of %" PRIu64 " chunks, %" PRIu64
         " bytes; %" PRIu64 " in segments\ndefined: layer %" PRIu64 "\n",
         codec_str(in.codec, cb, sizeof cb), in.level, in.stored_chunks, in.n_chunks, in.stored_bytes,
         in.segmented_chunks, in.defined_in_layer);
  size_t na = qv_nd_attr_count(f, in.name);
  printf("attributes: %zu\n", na);
  for (size_t i = 0; i < na; i++) {
    qv_nd_attr v;
    const char *k = qv_nd_attr_key(f, in.name, i);
    if (qv_nd_attr_get(f, in.name, k, &v, NULL) != QV_OK) continue;
    printf("  %s = ", k);
    print_attr(&v);
  }
  close_file(st, f);
  return QV_CLI_OK;
}

static int nd_define_cmd(const opts *o) {
  if (o->npos < 3 || !o->dtype || !o->shape)
    return qv_cli_usage(&qv_cli_cmd_nd, "define needs FILE ARRAY --dtype T --shape N,...");
  qv_nd_array_def d = qv_nd_array_def_default();
  qv_error err;
  uint64_t shape[QV_ND_MAX_RANK], chunks[QV_ND_MAX_RANK];
  const char *dims[QV_ND_MAX_RANK];
  char dimbuf[1024];
  if (qv_nd_dtype_parse(o->dtype, &d.dtype, &err) != QV_OK) return qv_cli_usage(&qv_cli_cmd_nd, "%s", err.message);
  int r = strcmp(o->shape, "scalar") == 0 ? 0 : parse_dims(o->shape, shape, QV_ND_MAX_RANK);
  if (r < 0) return qv_cli_usage(&qv_cli_cmd_nd, "--shape: expected N,M,... got '%s'", o->shape);
  d.rank = (uint32_t)r;
  d.shape = shape;
  if (o->chunks) {
    if (parse_dims(o->chunks, chunks, QV_ND_MAX_RANK) != r)
      return qv_cli_usage(&qv_cli_cmd_nd, "--chunks must have %d dimensions", r);
    d.chunk_shape = chunks;
  }
  if (o->dims) {
    snprintf(dimbuf, sizeof dimbuf, "%s", o->dims);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(dimbuf, ",", &save); t && n < QV_ND_MAX_RANK; t = strtok_r(NULL, ",", &save)) dims[n++] = t;
    if (n != r) return qv_cli_usage(&qv_cli_cmd_nd, "--dims must name %d dimensions", r);
    d.dim_names = dims;
  }
  if (parse_codec(o->codec, &d.codec, &d.level)) return QV_CLI_USAGE;
  uint8_t fill[64];
  if (o->fill) {
    size_t w = qv_nd_dtype_width(d.dtype);
    if (!w) {
      d.fill = o->fill;
      d.fill_len = strlen(o->fill);
    } else if (d.dtype.list_size || parse_value(d.dtype, o->fill, fill) != 0) {
      return qv_cli_usage(&qv_cli_cmd_nd, "--fill: '%s' is not a %s value", o->fill, o->dtype);
    } else {
      d.fill = fill;
      d.fill_len = w;
    }
  }
  d.name = o->pos[2];
  qv_nd_store *st;
  qv_nd_file *f;
  if (open_file(o, true, &st, &f)) return QV_CLI_FAIL;
  if (qv_nd_define(f, &d, &err) != QV_OK) {
    close_file(st, f);
    return qv_cli_fail("nd", &err, "define");
  }
  return flush_close(st, f, "define");
}

static int nd_put(const opts *o) {
  if (o->npos < 3 || (o->npos < 4 && !o->values))
    return qv_cli_usage(&qv_cli_cmd_nd, "put needs FILE ARRAY IN.npy (or --values)");
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  if (open_file(o, true, &st, &f)) return QV_CLI_FAIL;
  const char *arr = o->pos[2];
  qv_nd_info in;
  bool exists = qv_nd_info_get(f, arr, &in, NULL) == QV_OK;
  uint64_t start[QV_ND_MAX_RANK] = {0}, shape[QV_ND_MAX_RANK];
  int rc = QV_CLI_OK;
  if (o->values) {
    if (!exists) {
      close_file(st, f);
      return qv_cli_fail("nd", NULL, "put --values: no array '%s' (define it first)", arr);
    }
    if (o->start && parse_dims(o->start, start, QV_ND_MAX_RANK) != (int)in.rank) rc = qv_cli_usage(&qv_cli_cmd_nd, "--start must have %u dimensions", in.rank);
    for (uint32_t k = 0; k < in.rank; k++) shape[k] = in.shape[k] - start[k];
    if (!rc && o->shape && parse_dims(o->shape, shape, QV_ND_MAX_RANK) != (int)in.rank) rc = qv_cli_usage(&qv_cli_cmd_nd, "--shape must have %u dimensions", in.rank);
    if (rc) {
      close_file(st, f);
      return rc;
    }
    uint64_t n = 1;
    for (uint32_t k = 0; k < in.rank; k++) n *= shape[k];
    size_t w = qv_nd_dtype_width(in.dtype);
    char *copy = strdup(o->values);
    size_t cnt = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) cnt++;
    free(copy);
    if (cnt != n) {
      close_file(st, f);
      return qv_cli_fail("nd", NULL, "put: the region holds %" PRIu64 " values, %zu given", n, cnt);
    }
    qv_status s;
    copy = strdup(o->values);
    if (!w) { /* strings / binary */
      const void **vals = calloc(cnt + 1, sizeof *vals);
      size_t *lens = calloc(cnt + 1, sizeof *lens);
      size_t i = 0;
      for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        vals[i] = t;
        lens[i++] = strlen(t);
      }
      s = qv_nd_write_var(f, arr, start, shape, vals, lens, cnt, &err);
      free(vals);
      free(lens);
    } else {
      uint8_t *buf = malloc(cnt * w + 1);
      size_t i = 0;
      s = QV_OK;
      for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save), i++) {
        if (in.dtype.list_size || parse_value(in.dtype, t, buf + i * w) != 0) {
          s = qv_error_set(&err, QV_E_INVALID, "value %zu ('%s') is not a valid %s", i, t,
                           qv_nd_dtype_str(in.dtype, (char[64]){0}, 64));
          break;
        }
      }
      if (s == QV_OK) s = qv_nd_write(f, arr, start, shape, buf, cnt * w, &err);
      free(buf);
    }
    free(copy);
    if (s != QV_OK) {
      close_file(st, f);
      return qv_cli_fail("nd", &err, "put");
    }
    return flush_close(st, f, "put");
  }
  const char *npy = o->pos[3];
  if (exists) {
    /* write into a region of the existing array */
    FILE *fp = fopen(npy, "rb");
    if (!fp) {
      close_file(st, f);
      return qv_cli_fail("nd", NULL, "%s: %s", npy, strerror(errno));
    }
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc(sz > 0 ? (size_t)sz : 1);
    size_t got = fread(buf, 1, sz > 0 ? (size_t)sz : 0, fp);
    fclose(fp);
    qv_npy_view v;
    qv_status s = qv_npy_parse(buf, got, &v, &err);
    if (s == QV_OK && (v.dtype.type != in.dtype.type || in.dtype.list_size || v.rank != in.rank))
      s = qv_error_set(&err, QV_E_TYPE, "%s holds a rank-%u %s array; '%s' is a rank-%u %s array", npy, v.rank,
                       qv_nd_dtype_str(v.dtype, (char[64]){0}, 64), arr, in.rank,
                       qv_nd_dtype_str(in.dtype, (char[64]){0}, 64));
    if (s == QV_OK && o->start && parse_dims(o->start, start, QV_ND_MAX_RANK) != (int)in.rank)
      s = qv_error_set(&err, QV_E_INVALID, "--start must have %u dimensions", in.rank);
    if (s == QV_OK && !o->start)
      s = qv_error_set(&err, QV_E_EXISTS, "array '%s' exists: give --start to write into it, or rm it first", arr);
    if (s == QV_OK) s = qv_nd_write(f, arr, start, v.shape, v.data, v.data_len, &err);
    free(buf);
    if (s != QV_OK) {
      close_file(st, f);
      return qv_cli_fail("nd", &err, "put");
    }
    return flush_close(st, f, "put");
  }
  qv_nd_array_def d = qv_nd_array_def_default();
  d.name = arr;
  uint64_t chunks[QV_ND_MAX_RANK];
  const char *dims[QV_ND_MAX_RANK];
  char dimbuf[1024];
  if (o->chunks) {
    int r = parse_dims(o->chunks, chunks, QV_ND_MAX_RANK);
    if (r < 0) rc = qv_cli_usage(&qv_cli_cmd_nd, "--chunks: expected N,M,...");
    d.rank = (uint32_t)r;
    d.chunk_shape = chunks;
  }
  if (!rc && o->dims) {
    snprintf(dimbuf, sizeof dimbuf, "%s", o->dims);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(dimbuf, ",", &save); t && n < QV_ND_MAX_RANK; t = strtok_r(NULL, ",", &save)) dims[n++] = t;
    if (d.chunk_shape && (uint32_t)n != d.rank) rc = qv_cli_usage(&qv_cli_cmd_nd, "--dims and --chunks disagree on the rank");
    d.rank = (uint32_t)n;
    d.dim_names = dims;
  }
  if (!rc && parse_codec(o->codec, &d.codec, &d.level)) rc = QV_CLI_USAGE;
  if (rc) {
    close_file(st, f);
    return rc;
  }
  if (qv_nd_import_npy(f, &d, npy, &err) != QV_OK) {
    close_file(st, f);
    return qv_cli_fail("nd", &err, "put");
  }
  return flush_close(st, f, "put");
}

static int nd_get(const opts *o) {
  if (o->npos < 3) return qv_cli_usage(&qv_cli_cmd_nd, "get needs FILE ARRAY");
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  if (open_file(o, false, &st, &f)) return QV_CLI_FAIL;
  qv_nd_info in;
  int rc = QV_CLI_OK;
  if (qv_nd_info_get(f, o->pos[2], &in, &err) != QV_OK) {
    close_file(st, f);
    return qv_cli_fail("nd", &err, "get");
  }
  uint64_t start[QV_ND_MAX_RANK] = {0}, shape[QV_ND_MAX_RANK];
  if (o->start && parse_dims(o->start, start, QV_ND_MAX_RANK) != (int)in.rank)
    rc = qv_cli_usage(&qv_cli_cmd_nd, "--start must have %u dimensions", in.rank);
  for (uint32_t k = 0; k < in.rank; k++) shape[k] = start[k] <= in.shape[k] ? in.shape[k] - start[k] : 0;
  if (!rc && o->shape && parse_dims(o->shape, shape, QV_ND_MAX_RANK) != (int)in.rank)
    rc = qv_cli_usage(&qv_cli_cmd_nd, "--shape must have %u dimensions", in.rank);
  if (rc) {
    close_file(st, f);
    return rc;
  }
  qv_status s;
  if (o->out) {
    s = qv_nd_export_npy(f, in.name, start, shape, o->out, &err);
    if (s == QV_OK) {
      fprintf(stderr, "wrote %s ", o->out);
      print_dims(stderr, in.rank, shape);
      fputc('\n', stderr);
    }
  } else {
    uint64_t n = 1;
    for (uint32_t k = 0; k < in.rank; k++) n *= shape[k];
    uint64_t row = in.rank ? shape[in.rank - 1] : 1;
    size_t w = qv_nd_dtype_width(in.dtype);
    if (!w) {
      qv_nd_varbuf vb;
      s = qv_nd_read_var(f, in.name, start, shape, &vb, &err);
      if (s == QV_OK)
        for (size_t i = 0; i < vb.n; i++)
          printf("%.*s%s", (int)(vb.offsets[i + 1] - vb.offsets[i]), (const char *)vb.data + vb.offsets[i],
                 (i + 1) % row == 0 ? "\n" : " ");
      qv_nd_varbuf_reset(&vb);
    } else {
      uint8_t *buf = malloc((size_t)n * w + 1);
      s = buf ? qv_nd_read(f, in.name, start, shape, buf, (size_t)n * w, &err) : QV_E_NOMEM;
      size_t leaf = in.dtype.list_size ? in.dtype.list_size : 1;
      qv_nd_dtype base = {in.dtype.type, 0};
      size_t bw = qv_nd_dtype_width(base);
      for (uint64_t i = 0; s == QV_OK && i < n; i++) {
        if (leaf > 1) fputc('[', stdout);
        for (size_t j = 0; j < leaf; j++) {
          if (j) fputc(' ', stdout);
          print_value(stdout, base, buf + i * w + j * bw);
        }
        if (leaf > 1) fputc(']', stdout);
        fputc((i + 1) % row == 0 ? '\n' : ' ', stdout);
      }
      free(buf);
    }
  }
  close_file(st, f);
  if (s != QV_OK) return qv_cli_fail("nd", &err, "get");
  return QV_CLI_OK;
}

static int nd_rm(const opts *o) {
  if (o->npos < 3) return qv_cli_usage(&qv_cli_cmd_nd, "rm needs FILE ARRAY");
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  if (open_file(o, true, &st, &f)) return QV_CLI_FAIL;
  if (qv_nd_delete(f, o->pos[2], &err) != QV_OK) {
    close_file(st, f);
    return qv_cli_fail("nd", &err, "rm");
  }
  return flush_close(st, f, "rm");
}

static int nd_attr(const opts *o) {
  if (o->npos < 3) return qv_cli_usage(&qv_cli_cmd_nd, "attr needs FILE ARRAY [KEY [VALUE...]]");
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  bool write = o->del || o->npos >= 5;
  if (open_file(o, write, &st, &f)) return QV_CLI_FAIL;
  const char *arr = o->pos[2];
  if (o->del) {
    if (qv_nd_attr_remove(f, arr, o->del, &err) != QV_OK) {
      close_file(st, f);
      return qv_cli_fail("nd", &err, "attr --delete");
    }
    return flush_close(st, f, "attr");
  }
  if (o->npos == 3 || o->npos == 4) {
    qv_nd_info in;
    if (qv_nd_info_get(f, arr, &in, &err) != QV_OK) {
      close_file(st, f);
      return qv_cli_fail("nd", &err, "attr");
    }
    int rc = QV_CLI_OK;
    for (size_t i = 0; i < qv_nd_attr_count(f, arr); i++) {
      const char *k = qv_nd_attr_key(f, arr, i);
      if (o->npos == 4 && strcmp(k, o->pos[3]) != 0) continue;
      qv_nd_attr v;
      if (qv_nd_attr_get(f, arr, k, &v, NULL) != QV_OK) continue;
      if (o->npos == 3) printf("%s = ", k);
      print_attr(&v);
    }
    if (o->npos == 4) {
      qv_nd_attr v;
      if (qv_nd_attr_get(f, arr, o->pos[3], &v, &err) != QV_OK) rc = qv_cli_fail("nd", &err, "attr");
    }
    close_file(st, f);
    return rc;
  }
  /* set: infer the kind unless --type */
  size_t n = (size_t)(o->npos - 4);
  const char *const *vals = o->pos + 4;
  qv_nd_attr_kind kind = QV_ND_ATTR_STRING;
  if (o->type) {
    if (strcmp(o->type, "bool") == 0) kind = QV_ND_ATTR_BOOL;
    else if (strcmp(o->type, "int") == 0) kind = QV_ND_ATTR_INT;
    else if (strcmp(o->type, "float") == 0) kind = QV_ND_ATTR_FLOAT;
    else if (strcmp(o->type, "string") == 0) kind = QV_ND_ATTR_STRING;
    else {
      close_file(st, f);
      return qv_cli_usage(&qv_cli_cmd_nd, "--type must be bool, int, float or string");
    }
  } else {
    bool all_int = true, all_num = true, all_bool = true;
    for (size_t i = 0; i < n; i++) {
      char *e;
      strtoll(vals[i], &e, 10);
      if (*e || e == vals[i]) all_int = false;
      strtod(vals[i], &e);
      if (*e || e == vals[i]) all_num = false;
      if (strcmp(vals[i], "true") != 0 && strcmp(vals[i], "false") != 0) all_bool = false;
    }
    kind = all_bool ? QV_ND_ATTR_BOOL : all_int ? QV_ND_ATTR_INT : all_num ? QV_ND_ATTR_FLOAT : QV_ND_ATTR_STRING;
  }
  int64_t iv[16];
  double dv[16];
  uint8_t bv[16];
  qv_nd_bytes sv[16];
  qv_nd_attr a = {kind, n > 1, n, NULL};
  for (size_t i = 0; i < n; i++) {
    char *e = NULL;
    iv[i] = strtoll(vals[i], &e, 10);
    bool bad = kind == QV_ND_ATTR_INT && (*e || e == vals[i]);
    dv[i] = strtod(vals[i], &e);
    bad = bad || (kind == QV_ND_ATTR_FLOAT && (*e || e == vals[i]));
    bv[i] = strcmp(vals[i], "true") == 0;
    bad = bad || (kind == QV_ND_ATTR_BOOL && !bv[i] && strcmp(vals[i], "false") != 0);
    sv[i] = (qv_nd_bytes){vals[i], strlen(vals[i])};
    if (bad) {
      close_file(st, f);
      return qv_cli_usage(&qv_cli_cmd_nd, "'%s' is not a valid %s", vals[i], o->type);
    }
  }
  a.values = kind == QV_ND_ATTR_INT ? (const void *)iv : kind == QV_ND_ATTR_FLOAT ? (const void *)dv
           : kind == QV_ND_ATTR_BOOL ? (const void *)bv : (const void *)sv;
  if (qv_nd_attr_set(f, arr, o->pos[3], &a, &err) != QV_OK) {
    close_file(st, f);
    return qv_cli_fail("nd", &err, "attr");
  }
  return flush_close(st, f, "attr");
}

static int nd_stats(const opts *o) {
  if (o->npos < 3) return qv_cli_usage(&qv_cli_cmd_nd, "stats needs FILE ARRAY");
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  if (open_file(o, false, &st, &f)) return QV_CLI_FAIL;
  qv_nd_info in;
  qv_nd_stats s;
  if (qv_nd_info_get(f, o->pos[2], &in, &err) != QV_OK || qv_nd_stats_get(f, o->pos[2], &s, &err) != QV_OK) {
    close_file(st, f);
    return qv_cli_fail("nd", &err, "stats");
  }
  printf("count:   %" PRIu64 "\nfill:    %" PRIu64 " (fill value or never written)\n", s.count, s.fill_count);
  if (s.has_minmax) {
    qv_nd_dtype t = in.dtype;
    if (t.type == QV_ND_FLOAT32 || t.type == QV_ND_FLOAT64) printf("min:     %.17g\nmax:     %.17g\n", s.min.f, s.max.f);
    else if (t.type == QV_ND_UINT8 || t.type == QV_ND_UINT16 || t.type == QV_ND_UINT32 || t.type == QV_ND_UINT64)
      printf("min:     %" PRIu64 "\nmax:     %" PRIu64 "\n", s.min.u, s.max.u);
    else printf("min:     %" PRId64 "\nmax:     %" PRId64 "\n", s.min.i, s.max.i);
  } else {
    printf("min:     -\nmax:     -\n");
  }
  close_file(st, f);
  return QV_CLI_OK;
}

static int nd_compact(const opts *o) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  if (open_file(o, true, &st, &f)) return QV_CLI_FAIL;
  size_t before = qv_nd_layer_count(f);
  if (qv_nd_compact(f, &err) != QV_OK) {
    close_file(st, f);
    return qv_cli_fail("nd", &err, "compact");
  }
  printf("compacted %zu layers into layer %" PRIu64 "\n", before, qv_nd_layer_top(f));
  close_file(st, f);
  return QV_CLI_OK;
}

static int nd_layers(const opts *o) {
  qv_nd_store *st;
  qv_nd_file *f;
  if (open_file(o, false, &st, &f)) return QV_CLI_FAIL;
  printf("%-8s %-12s %-6s %-8s %s\n", "LAYER", "BYTES", "BASE", "ARRAYS", "CHUNKS");
  for (size_t i = 0; i < qv_nd_layer_count(f); i++) {
    qv_nd_layer_desc d;
    if (qv_nd_layer_info(f, i, &d, NULL) != QV_OK) continue;
    printf("%-8" PRIu64 " %-12" PRIu64 " %-6s %-8zu %" PRIu64 "\n", d.seq, d.bytes, d.base ? "yes" : "no",
           d.n_arrays, d.n_chunks);
  }
  close_file(st, f);
  return QV_CLI_OK;
}

static int nd_verify(const opts *o) {
  qv_nd_store *st;
  qv_nd_file *f;
  qv_error err;
  if (open_file(o, false, &st, &f)) return QV_CLI_FAIL;
  qv_status s = qv_nd_verify(f, &err);
  size_t n = qv_nd_layer_count(f);
  close_file(st, f);
  if (s != QV_OK) return qv_cli_fail("nd", &err, "verify");
  printf("ok: %zu layers, every block checked\n", n);
  return QV_CLI_OK;
}

static int run_nd(int argc, char **argv) {
  opts o;
  int rc = parse_opts(argc, argv, &o);
  if (rc) return rc;
  if (o.npos < 1) return qv_cli_usage(&qv_cli_cmd_nd, "a subcommand is required");
  if (o.npos < 2) return qv_cli_usage(&qv_cli_cmd_nd, "'%s' needs a FILE", o.pos[0]);
  static const struct {
    const char *name;
    int (*fn)(const opts *);
  } subs[] = {{"create", nd_create}, {"ls", nd_ls},         {"info", nd_info},     {"define", nd_define_cmd},
              {"put", nd_put},       {"get", nd_get},       {"rm", nd_rm},         {"attr", nd_attr},
              {"stats", nd_stats},   {"compact", nd_compact}, {"layers", nd_layers}, {"verify", nd_verify}};
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp(o.pos[0], subs[i].name) == 0) return subs[i].fn(&o);
  return qv_cli_usage(&qv_cli_cmd_nd, "unknown subcommand '%s'", o.pos[0]);
}

const qv_cli_command qv_cli_cmd_nd = {
    "nd",
    "ndfile: many chunked n-d arrays in one layered, checksummed file",
    ND_HELP,
    run_nd,
};

/* ---- demo step ---- */
static int dcheck(FILE *out, int ok, const char *what) {
  fprintf(out, "  [%s] %s\n", ok ? "ok" : "FAILED", what);
  return ok ? 0 : 1;
}

/* Bytes in temporaries (".tmp-*": unpublished layers) of directory dir. */
static uint64_t tmp_bytes(const char *dir) {
  uint64_t total = 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  char p[4400];
  while ((e = readdir(d))) {
    struct stat sb;
    if (strncmp(e->d_name, ".tmp-", 5) == 0 && snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p &&
        stat(p, &sb) == 0)
      total += (uint64_t)sb.st_size;
  }
  closedir(d);
  return total;
}

/* A 64 MiB write streams into the unpublished layer as it happens; a whole chunk reads back as
 * a zero-copy Arrow view of the mapped layer. */
static int demo_stream_and_views(FILE *out, qv_nd_store *st, const char *workdir) {
  int bad = 0;
  qv_error err;
  uint64_t shape[2] = {4096, 4096}, chunk[2] = {512, 512}, z[2] = {0, 0};
  size_t n = 4096 * 4096;
  float *v = malloc(n * sizeof *v);
  if (!v) return dcheck(out, 0, "out of memory");
  for (size_t i = 0; i < n; i++) v[i] = (float)(i % 4099);
  qv_nd_array_def d = qv_nd_array_def_default();
  d.name = "frames";
  d.dtype.type = QV_ND_FLOAT32;
  d.rank = 2;
  d.shape = shape;
  d.chunk_shape = chunk;
  qv_nd_file *f = NULL;
  qv_nd_options o = qv_nd_options_default();
  o.segment_bytes = 256 << 10; /* each 1 MiB chunk in 4 segments (the default: over 2 MiB) */
  qv_status s = qv_nd_create(st, "big.nd", &o, &f, &err);
  if (s == QV_OK) s = qv_nd_define(f, &d, &err);
  if (s == QV_OK) s = qv_nd_write(f, "frames", z, shape, v, n * sizeof *v, &err);
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/big.nd", workdir);
  uint64_t streamed = tmp_bytes(dir);
  fprintf(out, "  wrote 64 MiB (64 chunks of 1 MiB): %.1f MiB already in the unpublished layer\n",
          (double)streamed / 1048576.0);
  bad |= dcheck(out, s == QV_OK && streamed >= (uint64_t)n * sizeof *v,
                "whole chunks stream to the store as they are written (no 64 MiB copy in memory)");
  if (s == QV_OK) s = qv_nd_flush(f, &err);
  qv_nd_layer_desc ld = {0};
  if (s == QV_OK) s = qv_nd_layer_info(f, 0, &ld, &err);
  bad |= dcheck(out, s == QV_OK && ld.n_chunks == 64 && tmp_bytes(dir) == 0,
                "the flush appended the footer and published that layer");
  qv_nd_info in;
  if (s == QV_OK) s = qv_nd_info_get(f, "frames", &in, &err);
  float *back = s == QV_OK ? malloc((size_t)512 * 512 * sizeof *back) : NULL;
  uint64_t c5[2] = {2048, 1536};
  if (back) s = qv_nd_read(f, "frames", c5, chunk, back, (size_t)512 * 512 * sizeof *back, &err);
  bool equal = back && s == QV_OK;
  for (size_t r = 0; equal && r < 512; r++) equal = memcmp(back + r * 512, v + (2048 + r) * 4096 + 1536, 512 * 4) == 0;
  free(back);
  fprintf(out, "  %llu of 64 chunks stored in segments of 256 KiB, each checksummed on its own\n",
          s == QV_OK ? (unsigned long long)in.segmented_chunks : 0ull);
  bad |= dcheck(out, s == QV_OK && in.segmented_chunks == 64 && equal,
                "one chunk is checked and copied by several threads at once (spec 5a), values equal");
  qv_array *arr = NULL;
  uint64_t at[2] = {1024, 2048};
  if (s == QV_OK) s = qv_nd_read_arrow(f, "frames", at, chunk, NULL, &arr, &err);
  if (s == QV_OK) {
    const qv_array *vals = qv_array_child(arr, 0);
    bool view = !qv_buffer_is_owned(&vals->buffers[1]);
    bool same = qv_array_get_f64(vals, 3 * 512 + 7) == v[(1024 + 3) * 4096 + 2048 + 7];
    fprintf(out, "  chunk (2,4) as Arrow: fixed_size_list<float>[512] x %lld, %s\n", (long long)arr->length,
            view ? "a view of the mapped layer (checksum checked, nothing copied)" : "copied");
    bad |= dcheck(out, view && same, "a whole stored chunk reads as a zero-copy Arrow array");
    qv_array_unref(arr);
  } else {
    bad |= dcheck(out, 0, err.message);
  }
  qv_nd_close(f);
  free(v);
  return bad;
}

int qv_cli_demo_ndfile(FILE *out, const char *workdir) {
  qv_nd_store *st;
  qv_nd_file *f = NULL;
  qv_error err;
  int bad = 0;
  if (qv_nd_store_posix_new(workdir, NULL, &st, &err) != QV_OK) return dcheck(out, 0, err.message);
  uint64_t shape[2] = {100, 100}, chunk[2] = {32, 32}, z[2] = {0, 0};
  float *grid = malloc(100 * 100 * sizeof *grid), *back = malloc(100 * 100 * sizeof *back);
  for (int i = 0; i < 100 * 100; i++) grid[i] = (float)(i % 100) * 0.5f;
  qv_nd_array_def d = qv_nd_array_def_default();
  d.name = "temperature";
  d.dtype.type = QV_ND_FLOAT32;
  d.rank = 2;
  d.shape = shape;
  d.chunk_shape = chunk;
  d.codec = QV_ND_CODEC_ZSTD;
  qv_status s = qv_nd_create(st, "demo.nd", NULL, &f, &err);
  if (s == QV_OK) s = qv_nd_define(f, &d, &err);
  if (s == QV_OK) s = qv_nd_write(f, "temperature", z, shape, grid, 100 * 100 * 4, &err);
  if (s == QV_OK) s = qv_nd_flush(f, &err);
  bad |= dcheck(out, s == QV_OK, "defined a 100x100 float32 array in 32x32 zstd chunks and flushed (layer 2)");
  float patch[4] = {-1, -2, -3, -4};
  uint64_t ps[2] = {50, 50}, pc[2] = {2, 2};
  if (s == QV_OK) s = qv_nd_write(f, "temperature", ps, pc, patch, sizeof patch, &err);
  if (s == QV_OK) s = qv_nd_flush(f, &err);
  qv_nd_layer_desc ld = {0};
  if (s == QV_OK) qv_nd_layer_info(f, 0, &ld, NULL);
  fprintf(out, "  a 2x2 update wrote layer %llu of %llu bytes holding %llu chunk(s)\n",
          (unsigned long long)ld.seq, (unsigned long long)ld.bytes, (unsigned long long)ld.n_chunks);
  bad |= dcheck(out, s == QV_OK && ld.n_chunks == 1, "a flush writes only the chunks that changed");
  if (s == QV_OK) s = qv_nd_read(f, "temperature", z, shape, back, 100 * 100 * 4, &err);
  bad |= dcheck(out, s == QV_OK && back[50 * 100 + 50] == -1 && back[0] == 0 && back[99] == 49.5f,
                "reads see the newest layer and fall through to older ones");
  qv_nd_stats sx;
  if (s == QV_OK) s = qv_nd_stats_get(f, "temperature", &sx, &err);
  fprintf(out, "  stats: min %g, max %g\n", sx.min.f, sx.max.f);
  bad |= dcheck(out, s == QV_OK && sx.min.f == -4 && sx.max.f == 49.5, "statistics follow the updates");
  qv_nd_file *g = NULL;
  if (s == QV_OK && qv_nd_open(st, "demo.nd", NULL, &g, NULL) == QV_OK) {
    qv_nd_write(g, "temperature", ps, pc, patch, sizeof patch, NULL);
    qv_nd_write(f, "temperature", z, pc, patch, sizeof patch, NULL);
    qv_nd_flush(f, NULL);
    qv_status c = qv_nd_flush(g, &err);
    fprintf(out, "  second writer: %s\n", err.message);
    bad |= dcheck(out, c == QV_E_CONFLICT, "a second writer gets QV_E_CONFLICT, never a silent overwrite");
    qv_nd_close(g);
  }
  size_t before = f ? qv_nd_layer_count(f) : 0;
  if (s == QV_OK) s = qv_nd_compact(f, &err);
  bad |= dcheck(out, s == QV_OK && qv_nd_layer_count(f) == 1, "compaction merged the layers into one base");
  fprintf(out, "  compacted %zu layers into layer %llu\n", before, f ? (unsigned long long)qv_nd_layer_top(f) : 0ull);
  qv_nd_close(f);
  /* flip one byte of the data and watch it being caught */
  char path[4200];
  snprintf(path, sizeof path, "%s/demo.nd/layer-%020llu.qnd", workdir, (unsigned long long)ld.seq + 2);
  FILE *fp = fopen(path, "r+b");
  uint8_t hd[16];
  if (fp && fread(hd, 1, sizeof hd, fp) == sizeof hd) {
    long at = (hd[12] & 1 ? 4096 : 16) + 24; /* 24 bytes into the first block (spec §3) */
    fseek(fp, at, SEEK_SET);
    int ch = fgetc(fp);
    fseek(fp, at, SEEK_SET);
    fputc(ch ^ 0x20, fp);
    fclose(fp);
    if (qv_nd_open(st, "demo.nd", NULL, &f, &err) == QV_OK) {
      s = qv_nd_read(f, "temperature", z, shape, back, 100 * 100 * 4, &err);
      fprintf(out, "  after flipping a byte: %s: %s\n", qv_status_name(s), err.message);
      bad |= dcheck(out, s == QV_E_CORRUPT, "a flipped byte is detected by the block checksum");
      qv_nd_close(f);
    } else {
      bad |= dcheck(out, 0, err.message);
    }
  } else {
    if (fp) fclose(fp);
    bad |= dcheck(out, 0, "compacted layer file not found");
  }
  bad |= demo_stream_and_views(out, st, workdir);
  free(grid);
  free(back);
  qv_nd_store_close(st);
  return bad;
}
