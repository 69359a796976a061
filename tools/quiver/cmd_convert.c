/* cmd_convert.c — `quiver convert IN OUT`: rewrites an Arrow IPC stream as a file or the other
 * way round (formats from content / extension / --from --to), optionally (re)compressing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_io.h"

extern const qv_cli_command qv_cli_cmd_convert;

static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (!strcmp(a, "-") || !strcmp(b, "-")) return false;
  if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int run_convert(int argc, char **argv) {
  const char *in_path = NULL, *out_path = NULL;
  int from = QV_CLI_FORMAT_UNKNOWN, to = QV_CLI_FORMAT_UNKNOWN, codec = QV_IPC_COMPRESSION_NONE;
  int level = 0;
  bool quiet = false;
  qv_cli_range range = {0, -1, 0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--from") || !strcmp(a, "--to")) {
      int f = i + 1 < argc ? qv_cli_parse_format(argv[i + 1]) : QV_CLI_FORMAT_UNKNOWN;
      if (f == QV_CLI_FORMAT_UNKNOWN)
        return qv_cli_usage(&qv_cli_cmd_convert, "%s needs 'stream' or 'file'%s%s%s", a,
                            i + 1 < argc ? " (got '" : "", i + 1 < argc ? argv[i + 1] : "",
                            i + 1 < argc ? "')" : "");
      if (a[2] == 'f') from = f;
      else to = f;
      i++;
    } else if (!strcmp(a, "--compression") || !strcmp(a, "-c")) {
      if (i + 1 >= argc || (codec = qv_cli_parse_compression(argv[i + 1])) < 0)
        return qv_cli_usage(&qv_cli_cmd_convert, "--compression needs zstd, lz4 or none");
      i++;
    } else if (!strcmp(a, "--level")) {
      char *end;
      if (i + 1 >= argc) return qv_cli_usage(&qv_cli_cmd_convert, "--level needs a number");
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < -131072 || v > 22)
        return qv_cli_usage(&qv_cli_cmd_convert, "bad --level '%s'", argv[i]);
      level = (int)v;
    } else if (!strcmp(a, "--offset") || !strcmp(a, "--limit")) {
      if (i + 1 >= argc || !qv_cli_parse_count(argv[i + 1], a[2] == 'o' ? &range.offset : &range.limit))
        return qv_cli_usage(&qv_cli_cmd_convert, "%s needs a number >= 0", a);
      i++;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = true;
    } else if (a[0] == '-' && a[1] != '\0') {
      return qv_cli_usage(&qv_cli_cmd_convert, "unknown option '%s'", a);
    } else if (!in_path) {
      in_path = a;
    } else if (!out_path) {
      out_path = a;
    } else {
      return qv_cli_usage(&qv_cli_cmd_convert, "too many arguments ('%s')", a);
    }
  }
  if (!in_path || !out_path) return qv_cli_usage(&qv_cli_cmd_convert, "need IN and OUT");
  if (same_file(in_path, out_path))
    return qv_cli_usage(&qv_cli_cmd_convert, "IN and OUT are the same file (%s)", in_path);
  if (to == QV_CLI_FORMAT_UNKNOWN) to = qv_cli_format_from_name(out_path);
  if (to == QV_CLI_FORMAT_UNKNOWN) {
    if (strcmp(out_path, "-") != 0)
      return qv_cli_usage(&qv_cli_cmd_convert,
                          "cannot tell the output format from '%s': use --to stream|file or "
                          "an .arrow / .arrows extension",
                          out_path);
    to = QV_IPC_FORMAT_STREAM; /* stdout: a stream unless told otherwise */
  }

  qv_error err;
  qv_error_init(&err);
  qv_cli_input in;
  if (qv_cli_input_open_streaming(&in, in_path, from, &err) < 0)
    return qv_cli_fail("convert", &err, "cannot read %s", in_path);

  bool to_stdout = !strcmp(out_path, "-");
  FILE *out = to_stdout ? stdout : fopen(out_path, "wb");
  if (!out) {
    int e = errno;
    qv_cli_input_close(&in);
    return qv_cli_fail("convert", NULL, "cannot create %s: %s", out_path, strerror(e));
  }
  qv_ipc_write_options wo = qv_ipc_write_options_default();
  wo.format = (qv_ipc_format)to;
  wo.compression = (qv_ipc_compression)codec;
  wo.compression_level = level;
  qv_ipc_writer *w = NULL;
  int rc = QV_CLI_OK;
  int64_t batches = 0, rows = 0;
  qv_status s = qv_ipc_writer_new(in.schema, &wo, qv_ipc_sink_stdio, out, NULL, &w, &err);
  if (s < 0) {
    rc = qv_cli_fail("convert", &err, "cannot write %s", out_path);
    goto done;
  }
  while (!qv_cli_range_done(&range)) {
    qv_batch *b = NULL, *part = NULL;
    s = qv_cli_input_next(&in, &b, &err);
    if (s == QV_EOF) break;
    if (s == QV_OK) s = qv_cli_range_apply(&range, b, &part, &err);
    qv_batch_unref(b);
    if (s < 0) {
      rc = qv_cli_fail("convert", &err, "reading %s", in_path);
      goto done;
    }
    if (!part) continue;
    s = qv_ipc_writer_write_batch(w, part, &err);
    rows += part->length;
    qv_batch_unref(part);
    if (s < 0) {
      rc = qv_cli_fail("convert", &err, "writing %s (record batch %lld)", out_path,
                       (long long)batches);
      goto done;
    }
    batches++;
    if (to_stdout && fflush(out) != 0) { /* hand each batch on to the consumer at once */
      rc = qv_cli_fail("convert", NULL, "writing %s: %s", out_path, strerror(errno));
      goto done;
    }
  }
  s = qv_ipc_writer_finish(w, &err);
  if (s < 0) {
    rc = qv_cli_fail("convert", &err, "writing %s", out_path);
    goto done;
  }
  if (fflush(out) != 0 || ferror(out)) {
    rc = qv_cli_fail("convert", NULL, "writing %s: %s", out_path, strerror(errno));
    goto done;
  }
  if (!quiet && !to_stdout)
    fprintf(stderr, "quiver convert: %s (%s) -> %s (%s%s%s): %lld batches, %lld rows, %lld bytes\n",
            in_path, qv_cli_format_name(in.format), out_path, qv_cli_format_name(to),
            codec ? ", " : "", codec ? qv_cli_compression_name(codec) : "", (long long)batches,
            (long long)rows, (long long)qv_ipc_writer_bytes_written(w));
done:
  qv_ipc_writer_free(w);
  qv_cli_input_close(&in);
  if (!to_stdout) {
    if (fclose(out) != 0 && rc == QV_CLI_OK)
      rc = qv_cli_fail("convert", NULL, "closing %s: %s", out_path, strerror(errno));
    if (rc != QV_CLI_OK) remove(out_path); /* no half-written output */
  }
  return rc;
}

const qv_cli_command qv_cli_cmd_convert = {
    "convert",
    "convert between Arrow IPC stream and file formats, (re)compressing",
    "usage: quiver convert [options] IN OUT\n\n"
    "Reads an Arrow IPC stream or file and writes it again in the other (or the same) format.\n"
    "'-' is stdin / stdout. The input format is detected from its content (file magic\n"
    "\"ARROW1\"), then from its name; the output format from --to, then from OUT's extension\n"
    "(.arrow .feather .ipc = file, .arrows .stream = stream); stdout defaults to a stream.\n"
    "A stream on stdin is converted batch by batch as it arrives (each batch is written, and\n"
    "flushed to stdout, before the next is read), so `producer | quiver convert - - | consumer`\n"
    "runs in bounded memory; a file on stdin (first 6 bytes \"ARROW1\") is read whole first,\n"
    "since its footer is at the end.\n"
    "Dictionaries are carried over (deltas kept as deltas; a stream that replaces a dictionary\n"
    "cannot become a file, which allows no replacements). On failure OUT is removed.\n\n"
    "options:\n"
    "  --from stream|file          force the input format\n"
    "  --to stream|file            force the output format\n"
    "  -c, --compression CODEC     body compression of OUT: zstd, lz4 or none (default none)\n"
    "  --level N                   codec level (zstd 1..22, lz4 0..12; default: codec's own)\n"
    "  --offset N, --limit N       only rows [N, N+limit): batches are sliced, not copied\n"
    "  -q, --quiet                 no summary line on stderr\n\n"
    "examples:\n"
    "  quiver convert data.arrows data.arrow              # stream -> file\n"
    "  quiver convert --compression zstd big.arrow big.zstd.arrow\n"
    "  producer | quiver convert --to file - out.arrow\n"
    "  quiver convert data.arrow - | consumer             # file -> stream on stdout\n",
    run_convert,
};
