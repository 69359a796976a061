/* cmd_info.c — `quiver info FILE`: what an Arrow IPC stream/file holds (format, batches, rows,
 * bytes per column, body compression, dictionaries), and the IPC step of `quiver demo`. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_io.h"
#include "ipc/fb_arrow.h"
#include "ipc/ipc_int.h"

extern const qv_cli_command qv_cli_cmd_info;

/* Bytes held by an array's buffers, children included, dictionary not. */
static int64_t array_bytes(const qv_array *a) {
  int64_t n = 0;
  for (int32_t i = 0; i < a->n_buffers; i++) n += (int64_t)a->buffers[i].len;
  for (int32_t i = 0; i < a->n_children; i++) n += array_bytes(a->children[i]);
  return n;
}

typedef struct msg_stats {
  int64_t messages, dict_batches, dict_deltas, record_batches, body_bytes;
  int64_t codec_batches[3]; /* none, lz4, zstd — counted over record + dictionary batches */
  int version;
  bool complete; /* the scan reached the end-of-stream marker / the footer */
} msg_stats;

/* Walks the encapsulated messages (through the library's internal framing and metadata
 * readers) to count dictionary batches and deltas and see which codec the bodies use. */
static void scan_messages(const qv_cli_input *in, msg_stats *st) {
  memset(st, 0, sizeof *st);
  const uint8_t *p = in->bytes.data;
  size_t len = in->bytes.len, at = 0, end = len;
  qv_ipc_read_options ro = qv_ipc_read_options_default();
  if (in->format == QV_IPC_FORMAT_FILE) {
    if (len < 18) return;
    uint32_t flen = (uint32_t)p[len - 10] | (uint32_t)p[len - 9] << 8 |
                    (uint32_t)p[len - 8] << 16 | (uint32_t)p[len - 7] << 24;
    at = 8;
    end = flen <= len - 18 ? len - 10 - flen : len;
  }
  while (at < end) {
    qv__ipc_frame fr;
    size_t need = 0;
    qv__ipc_msg msg;
    if (qv__ipc_frame_peek(p + at, end - at, (int64_t)at, &ro.limits, &fr, &need, NULL) != QV_OK)
      return;
    if (fr.eos) {
      st->complete = true;
      return;
    }
    if (fr.meta_len > end - at - fr.prefix_len) return;
    if (qv__ipc_msg_parse(p + at + fr.prefix_len, fr.meta_len, (int64_t)at, &ro, &msg, NULL) != QV_OK)
      return;
    st->messages++;
    st->version = msg.version;
    st->body_bytes += msg.body_length;
    uint32_t rb = 0;
    if (msg.header_type == QV_FB_HEADER_RECORD_BATCH) {
      st->record_batches++;
      rb = msg.header;
    } else if (msg.header_type == QV_FB_HEADER_DICTIONARY_BATCH) {
      st->dict_batches++;
      if (qv__fb_bool(&msg.fb, msg.header, QV_FB_DICTBATCH_IS_DELTA, false)) st->dict_deltas++;
      rb = qv__fb_table(&msg.fb, msg.header, QV_FB_DICTBATCH_DATA);
    }
    if (rb) {
      qv__ipc_batch_meta bm;
      if (qv__ipc_batch_meta_read(&msg.fb, rb, &ro.limits, &bm, NULL) == QV_OK) {
        int k = bm.codec == QV_FB_COMPRESSION_LZ4_FRAME ? 1 : bm.codec == QV_FB_COMPRESSION_ZSTD ? 2 : 0;
        st->codec_batches[k]++;
      }
    }
    size_t total = fr.prefix_len + fr.meta_len;
    if (msg.body_length < 0 || (uint64_t)msg.body_length > end - at - total) return;
    at += total + (size_t)msg.body_length;
  }
  st->complete = in->format == QV_IPC_FORMAT_FILE;
}

static void human(char *buf, size_t cap, int64_t n) {
  if (n >= (INT64_C(1) << 30)) snprintf(buf, cap, "%.2f GiB", (double)n / (double)(1 << 30));
  else if (n >= (1 << 20)) snprintf(buf, cap, "%.2f MiB", (double)n / (double)(1 << 20));
  else if (n >= (1 << 10)) snprintf(buf, cap, "%.2f KiB", (double)n / 1024.0);
  else snprintf(buf, cap, "%lld B", (long long)n);
}

static int run_info(int argc, char **argv) {
  const char *path = NULL;
  int forced = QV_CLI_FORMAT_UNKNOWN;
  for (int i = 1; i < argc; i++) {
    int r = qv_cli_input_arg(&qv_cli_cmd_info, argc, argv, &i, &path, &forced);
    if (r) return r;
  }
  if (!path) return qv_cli_usage(&qv_cli_cmd_info, "missing input file");
  qv_error err;
  qv_error_init(&err);
  qv_cli_input in;
  if (qv_cli_input_open(&in, path, forced, &err) < 0)
    return qv_cli_fail("info", &err, "cannot read %s", path);
  const qv_schema *sc = in.schema;
  int32_t nf = sc->n_fields;
  int64_t *col_bytes = calloc((size_t)(nf ? nf : 1), sizeof *col_bytes);
  const qv_array **dicts = calloc((size_t)(nf ? nf : 1), sizeof *dicts);
  int64_t batches = 0, rows = 0, min_rows = -1, max_rows = 0;
  int rc = QV_CLI_OK;
  if (!col_bytes || !dicts) {
    rc = qv_cli_fail("info", NULL, "out of memory");
    goto done;
  }
  for (;;) {
    qv_batch *b = NULL;
    qv_status s = qv_cli_input_next(&in, &b, &err);
    if (s == QV_EOF) break;
    if (s < 0) {
      rc = qv_cli_fail("info", &err, "%s", path);
      goto done;
    }
    batches++;
    rows += b->length;
    if (min_rows < 0 || b->length < min_rows) min_rows = b->length;
    if (b->length > max_rows) max_rows = b->length;
    for (int32_t c = 0; c < nf; c++) {
      col_bytes[c] += array_bytes(b->columns[c]);
      if (b->columns[c]->dictionary) {
        qv_array_unref((qv_array *)dicts[c]);
        dicts[c] = qv_array_ref(b->columns[c]->dictionary);
      }
    }
    qv_batch_unref(b);
  }
  msg_stats st;
  scan_messages(&in, &st);
  char h[64];
  human(h, sizeof h, (int64_t)in.bytes.len);
  printf("input:        %s\n", strcmp(path, "-") ? path : "stdin");
  printf("format:       IPC %s, %s (%zu bytes), metadata V%d\n", qv_cli_format_name(in.format), h,
         in.bytes.len, st.version ? st.version + 1 : 0);
  printf("columns:      %d\n", (int)nf);
  printf("batches:      %lld", (long long)batches);
  if (batches) printf(" (rows per batch %lld..%lld)", (long long)min_rows, (long long)max_rows);
  printf("\nrows:         %lld\n", (long long)rows);
  const char *codec = "none";
  int kinds = (st.codec_batches[0] > 0) + (st.codec_batches[1] > 0) + (st.codec_batches[2] > 0);
  if (kinds > 1) codec = "mixed";
  else if (st.codec_batches[1]) codec = "lz4_frame";
  else if (st.codec_batches[2]) codec = "zstd";
  int64_t decoded = 0;
  for (int32_t c = 0; c < nf; c++) decoded += col_bytes[c] + (dicts[c] ? array_bytes(dicts[c]) : 0);
  human(h, sizeof h, decoded);
  printf("compression:  %s (bodies %lld bytes on the wire, %s decoded)\n", codec,
         (long long)st.body_bytes, h);
  printf("dictionaries: %lld dictionary batches (%lld deltas)%s\n", (long long)st.dict_batches,
         (long long)st.dict_deltas, st.complete ? "" : " [message scan incomplete]");
  printf("\n  %-24s %-44s %14s\n", "column", "type", "bytes");
  for (int32_t c = 0; c < nf; c++) {
    char tbuf[256];
    qv_type_to_string(sc->fields[c]->type, tbuf, sizeof tbuf);
    if (strlen(tbuf) > 44) memcpy(tbuf + 41, "...", 4);
    printf("  %-24s %-44s %14lld\n", sc->fields[c]->name, tbuf, (long long)col_bytes[c]);
    if (dicts[c])
      printf("  %-24s %-44s %14lld  (%lld values, id %lld)\n", "  dictionary", "",
             (long long)array_bytes(dicts[c]), (long long)dicts[c]->length,
             (long long)sc->fields[c]->dictionary_id);
  }
done:
  for (int32_t c = 0; dicts && c < nf; c++) qv_array_unref((qv_array *)dicts[c]);
  free(dicts);
  free(col_bytes);
  qv_cli_input_close(&in);
  if (fflush(stdout) != 0 && rc == QV_CLI_OK) rc = qv_cli_fail("info", NULL, "cannot write to stdout");
  return rc;
}

const qv_cli_command qv_cli_cmd_info = {
    "info",
    "summarise an Arrow IPC file or stream: batches, rows, bytes, compression, dictionaries",
    "usage: quiver info [--from stream|file] FILE\n\n"
    "Reads every batch and prints: the format and size, the number of batches and rows, the\n"
    "body compression codec, the dictionary batches (and how many are deltas), and per column\n"
    "its type and decoded bytes (dictionary values listed under their column). '-' reads stdin.\n\n"
    "examples:\n"
    "  quiver info data.arrow\n"
    "  quiver convert --compression zstd a.arrow b.arrow && quiver info b.arrow\n",
    run_info,
};

/* ---- quiver demo: IPC ----------------------------------------------------------------------- */

static int demo_check(FILE *out, int ok, const char *what) {
  fprintf(out, "  [%s] %s\n", ok ? "ok" : "FAILED", what);
  return ok ? 0 : 1;
}

/* Writes a 3-batch IPC file (int64, utf8, dictionary<int32, utf8>), maps it, reads batch 1
 * with the columns projected in reverse order, and checks values. */
int qv_cli_demo_ipc(FILE *out, const char *workdir) {
  qv_error err;
  qv_error_init(&err);
  int bad = 0;
  char path[512];
  snprintf(path, sizeof path, "%s/demo.arrow", workdir);
  qv_type *dict_t = NULL;
  qv_field *fields[3] = {NULL, NULL, NULL};
  qv_schema *schema = NULL;
  qv_table *table = NULL;
  qv_ipc_file *f = NULL;
  qv_batch *got = NULL;
  static const char *const colors[] = {"red", "green", "blue"};
  if (qv_type_dictionary(qv_type_int32(), qv_type_utf8(), false, NULL, &dict_t, &err) < 0 ||
      qv_field_new("id", qv_type_int64(), false, NULL, NULL, &fields[0], &err) < 0 ||
      qv_field_new("name", qv_type_utf8(), true, NULL, NULL, &fields[1], &err) < 0 ||
      qv_field_new("color", dict_t, true, NULL, NULL, &fields[2], &err) < 0 ||
      qv_schema_new(fields, 3, NULL, NULL, &schema, &err) < 0 ||
      qv_table_new(schema, NULL, &table, &err) < 0) {
    bad = demo_check(out, 0, err.message);
    goto done;
  }
  for (int b = 0; b < 3 && !bad; b++) {
    qv_array *cols[3] = {NULL, NULL, NULL};
    qv_builder *bl[3] = {NULL, NULL, NULL};
    qv_batch *batch = NULL;
    qv_status s = QV_OK;
    for (int c = 0; c < 3 && s == QV_OK; c++) s = qv_builder_new(schema->fields[c]->type, NULL, &bl[c], &err);
    for (int64_t i = 0; i < 1000 && s == QV_OK; i++) {
      int64_t id = b * 1000 + i;
      char name[32];
      snprintf(name, sizeof name, "row-%lld", (long long)id);
      s = qv_builder_append_i64(bl[0], id, &err);
      if (s == QV_OK) s = i % 7 == 3 ? qv_builder_append_null(bl[1], &err) : qv_builder_append_str(bl[1], name, &err);
      if (s == QV_OK) s = qv_builder_append_str(bl[2], colors[i % 3], &err); /* same dictionary */
    }
    for (int c = 0; c < 3 && s == QV_OK; c++) s = qv_builder_finish(bl[c], &cols[c], &err);
    for (int c = 0; c < 3; c++) qv_builder_free(bl[c]);
    if (s == QV_OK) {
      s = qv_batch_new(schema, 1000, cols, 3, NULL, &batch, &err);
    } else {
      for (int c = 0; c < 3; c++) qv_array_unref(cols[c]);
    }
    if (s == QV_OK) s = qv_table_append_batch(table, batch, &err);
    qv_batch_unref(batch);
    if (s < 0) bad = demo_check(out, 0, err.message);
  }
  if (bad) goto done;
  qv_ipc_write_options wo = qv_ipc_write_options_default();
  wo.format = QV_IPC_FORMAT_FILE;
  wo.compression = QV_IPC_COMPRESSION_ZSTD;
  qv_status s = qv_ipc_write_table_path(path, table, &wo, NULL, &err);
  fprintf(out, "  wrote %s: 3 batches x 1000 rows {id int64, name utf8, color dictionary}, zstd -> %s\n",
          path, qv_status_name(s));
  bad |= demo_check(out, s == QV_OK, "IPC file written (ZSTD-compressed bodies)");
  if (s < 0) {
    fprintf(out, "  %s\n", err.message);
    goto done;
  }
  s = qv_ipc_file_open_path(path, NULL, NULL, &f, &err);
  bad |= demo_check(out, s == QV_OK && qv_ipc_file_num_batches(f) == 3,
                    "file memory-mapped; footer lists 3 batches");
  if (s < 0) {
    fprintf(out, "  %s\n", err.message);
    goto done;
  }
  const int32_t proj[2] = {2, 0}; /* color, id */
  s = qv_ipc_file_read_batch(f, 1, proj, 2, &got, &err);
  bad |= demo_check(out, s == QV_OK, "batch 1 read by index with projection [color, id]");
  if (s < 0) {
    fprintf(out, "  %s\n", err.message);
    goto done;
  }
  int ok = got->n_columns == 2 && got->length == 1000 &&
           !strcmp(got->schema->fields[0]->name, "color") && !strcmp(got->schema->fields[1]->name, "id");
  for (int64_t i = 0; ok && i < 1000; i++) {
    int64_t id = qv_array_get_i64(got->columns[1], i);
    const uint8_t *p;
    size_t n;
    const qv_array *d = got->columns[0];
    qv_array_get_bytes(d->dictionary, qv_array_dict_index(d, i), &p, &n);
    const char *want = colors[i % 3];
    if (id != 1000 + i || n != strlen(want) || memcmp(p, want, n) != 0) ok = 0;
  }
  fprintf(out, "  batch 1: %lld rows, columns %s, %s; first id %lld\n", (long long)got->length,
          got->schema->fields[0]->name, got->schema->fields[1]->name,
          (long long)(got->length ? qv_array_get_i64(got->columns[1], 0) : -1));
  bad |= demo_check(out, ok, "projected values match what was written (ids 1000..1999, colors)");
done:
  qv_batch_unref(got);
  qv_ipc_file_close(f);
  qv_table_free(table);
  qv_schema_unref(schema);
  for (int c = 0; c < 3; c++) qv_field_unref(fields[c]);
  qv_type_unref(dict_t);
  return bad;
}
