/* cmd_cat.c — `quiver cat FILE`: prints an Arrow IPC stream/file's rows, as an aligned text table
 * (the data model's pretty printer) or as the canonical JSON dump shared with the JavaScript
 * interop peer (tests/interop/canon.mjs describes the format; both must match byte for byte). */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_io.h"

/* ---- canonical JSON ------------------------------------------------------------------------ */

static void json_str(FILE *out, const uint8_t *s, size_t n) {
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = s[i];
    if (ch == '"') fputs("\\\"", out);
    else if (ch == '\\') fputs("\\\\", out);
    else if (ch < 0x20 || ch == 0x7f) fprintf(out, "\\u%04x", ch);
    else fputc(ch, out);
  }
  fputc('"', out);
}

static void json_cstr(FILE *out, const char *s) { json_str(out, (const uint8_t *)s, strlen(s)); }

/* Digits d[0..k) and decimal exponent e (value d.ddd x 10^e) back to a double. */
static double from_digits(const char *d, int k, int e) {
  char buf[48];
  snprintf(buf, sizeof buf, "%c%s%.*se%d", d[0], k > 1 ? "." : "", k - 1, d + 1, e);
  return strtod(buf, NULL);
}

/* Shortest digits that read back as x (> 0, finite), closest to x among those: what
 * ECMAScript's Number::toString prints. The correctly rounded p-digit string is tried first,
 * then its neighbours one unit in the last digit away (needed where the rounding interval of
 * x is asymmetric, just above a power of two). */
static int shortest_digits(double x, char *digits, int *exp10) {
  char buf[40];
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, sizeof buf, "%.*e", p - 1, x);
    int k = 0;
    for (const char *q = buf; *q && *q != 'e'; q++)
      if (*q >= '0' && *q <= '9') digits[k++] = *q;
    digits[k] = '\0';
    int e = (int)strtol(strchr(buf, 'e') + 1, NULL, 10); /* snprintf's own exponent */
    if (strtod(buf, NULL) == x || p == 17) {
      *exp10 = e;
      return k;
    }
    char up[20], down[20];
    int eu = e, ed = e;
    memcpy(up, digits, (size_t)k + 1);
    memcpy(down, digits, (size_t)k + 1);
    int i = k - 1;
    while (i >= 0 && up[i] == '9') up[i--] = '0';
    if (i >= 0) up[i]++;
    else { /* 99..9 + 1 = 100..0, one more power of ten */
      up[0] = '1';
      eu++;
    }
    i = k - 1;
    while (i >= 0 && down[i] == '0') down[i--] = '9';
    if (i >= 0) down[i]--; /* always: digits[0] is never '0' */
    if (down[0] == '0') { /* 100..0 - 1 = 99..9, one power of ten less */
      memset(down, '9', (size_t)k);
      ed--;
    }
    double vu = from_digits(up, k, eu), vd = from_digits(down, k, ed);
    if (vu == x || vd == x) {
      bool use_up = vu == x && (vd != x || vu - x <= x - vd);
      memcpy(digits, use_up ? up : down, (size_t)k + 1);
      *exp10 = use_up ? eu : ed;
      return k;
    }
  }
  return 0; /* unreachable: 17 digits always read back */
}

/* ECMAScript Number::toString of a finite, non-zero double. */
static void js_number(FILE *out, double x) {
  char digits[24];
  int e = 0;
  if (x < 0) {
    fputc('-', out);
    x = -x;
  }
  int k = shortest_digits(x, digits, &e);
  while (k > 1 && digits[k - 1] == '0') digits[--k] = '\0';
  int n = e + 1;
  if (k <= n && n <= 21) {
    fputs(digits, out);
    for (int i = 0; i < n - k; i++) fputc('0', out);
  } else if (0 < n && n <= 21) {
    fprintf(out, "%.*s.%s", n, digits, digits + n);
  } else if (-6 < n && n <= 0) {
    fputs("0.", out);
    for (int i = 0; i < -n; i++) fputc('0', out);
    fputs(digits, out);
  } else {
    fputc(digits[0], out);
    if (k > 1) fprintf(out, ".%s", digits + 1);
    fprintf(out, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
  }
}

static void json_float(FILE *out, double x) {
  if (isnan(x)) fputs("\"NaN\"", out);
  else if (isinf(x)) fputs(x > 0 ? "\"Infinity\"" : "\"-Infinity\"", out);
  else if (x == 0) fputs(signbit(x) ? "\"-0\"" : "0", out);
  else js_number(out, x);
}

/* A little-endian two's complement integer of `width` bytes as decimal digits. */
static void json_decimal(FILE *out, const uint8_t *le, int width) {
  uint8_t mag[32];
  char digits[90];
  int nd = 0;
  bool neg = (le[width - 1] & 0x80) != 0;
  memcpy(mag, le, (size_t)width);
  if (neg) { /* negate */
    unsigned carry = 1;
    for (int i = 0; i < width; i++) {
      unsigned v = (uint8_t)~mag[i] + carry;
      mag[i] = (uint8_t)v;
      carry = v >> 8;
    }
  }
  for (;;) {
    bool zero = true;
    unsigned rem = 0;
    for (int i = width - 1; i >= 0; i--) {
      unsigned cur = (rem << 8) | mag[i];
      mag[i] = (uint8_t)(cur / 10);
      rem = cur % 10;
      if (mag[i]) zero = false;
    }
    digits[nd++] = (char)('0' + rem);
    if (zero) break;
  }
  fputc('"', out);
  if (neg) fputc('-', out);
  while (nd > 0) fputc(digits[--nd], out);
  fputc('"', out);
}

static int32_t le_i32(const uint8_t *p) {
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24);
}

static int64_t le_i64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return (int64_t)v;
}

static void json_value(FILE *out, const qv_array *a, int64_t i);

static void json_list(FILE *out, const qv_array *a, int64_t i) {
  int64_t start, len;
  qv_array_list_range(a, i, &start, &len);
  const qv_array *child = a->children[0];
  fputc('[', out);
  for (int64_t k = 0; k < len; k++) {
    if (k) fputc(',', out);
    if (a->type->id == QV_TYPE_MAP) {
      /* entries struct element start+k: its children at entries->offset + start + k */
      int64_t e = child->offset + start + k;
      fputc('[', out);
      json_value(out, child->children[0], e);
      fputc(',', out);
      json_value(out, child->children[1], e);
      fputc(']', out);
    } else {
      json_value(out, child, start + k);
    }
  }
  fputc(']', out);
}

static void json_value(FILE *out, const qv_array *a, int64_t i) {
  const qv_type *t = a->type;
  if (t->id == QV_TYPE_SPARSE_UNION || t->id == QV_TYPE_DENSE_UNION) {
    int32_t c = qv_array_union_child_index(a, i);
    fprintf(out, "[%d,", (int)qv_array_union_type_code(a, i));
    json_value(out, a->children[c], qv_array_union_value_index(a, i));
    fputc(']', out);
    return;
  }
  if (t->id == QV_TYPE_RUN_END_ENCODED) {
    json_value(out, a->children[1], qv_array_ree_physical_index(a, i));
    return;
  }
  if (qv_array_is_null(a, i)) {
    fputs("null", out);
    return;
  }
  const uint8_t *p;
  size_t n;
  switch (t->id) {
    case QV_TYPE_BOOL: fputs(qv_array_get_bool(a, i) ? "true" : "false", out); break;
    case QV_TYPE_UINT8: case QV_TYPE_UINT16: case QV_TYPE_UINT32: case QV_TYPE_UINT64:
      fprintf(out, "%" PRIu64, qv_array_get_u64(a, i));
      break;
    case QV_TYPE_INT8: case QV_TYPE_INT16: case QV_TYPE_INT32: case QV_TYPE_INT64:
    case QV_TYPE_DATE32: case QV_TYPE_DATE64: case QV_TYPE_TIME32: case QV_TYPE_TIME64:
    case QV_TYPE_TIMESTAMP: case QV_TYPE_DURATION: case QV_TYPE_INTERVAL_MONTHS:
      fprintf(out, "%" PRId64, qv_array_get_i64(a, i));
      break;
    case QV_TYPE_HALF_FLOAT: case QV_TYPE_FLOAT: case QV_TYPE_DOUBLE:
      json_float(out, qv_array_get_f64(a, i));
      break;
    case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL128:
    case QV_TYPE_DECIMAL256:
      json_decimal(out, qv_array_value_ptr(a, i), t->bit_width / 8);
      break;
    case QV_TYPE_INTERVAL_DAY_TIME:
      p = qv_array_value_ptr(a, i);
      fprintf(out, "[%" PRId32 ",%" PRId32 "]", le_i32(p), le_i32(p + 4));
      break;
    case QV_TYPE_INTERVAL_MONTH_DAY_NANO:
      p = qv_array_value_ptr(a, i);
      fprintf(out, "[%" PRId32 ",%" PRId32 ",%" PRId64 "]", le_i32(p), le_i32(p + 4),
              le_i64(p + 8));
      break;
    case QV_TYPE_STRING: case QV_TYPE_LARGE_STRING: case QV_TYPE_STRING_VIEW:
      qv_array_get_bytes(a, i, &p, &n);
      json_str(out, p, n);
      break;
    case QV_TYPE_BINARY: case QV_TYPE_LARGE_BINARY: case QV_TYPE_BINARY_VIEW:
    case QV_TYPE_FIXED_SIZE_BINARY:
      qv_array_get_bytes(a, i, &p, &n);
      fputc('"', out);
      for (size_t k = 0; k < n; k++) fprintf(out, "%02x", p[k]);
      fputc('"', out);
      break;
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_LIST_VIEW:
    case QV_TYPE_LARGE_LIST_VIEW: case QV_TYPE_FIXED_SIZE_LIST: case QV_TYPE_MAP:
      json_list(out, a, i);
      break;
    case QV_TYPE_STRUCT:
      fputc('{', out);
      for (int32_t c = 0; c < a->n_children; c++) {
        if (c) fputc(',', out);
        json_cstr(out, t->children[c]->name);
        fputc(':', out);
        json_value(out, a->children[c], a->offset + i);
      }
      fputc('}', out);
      break;
    case QV_TYPE_DICTIONARY:
      json_value(out, a->dictionary, qv_array_dict_index(a, i));
      break;
    default: fputs("null", out); break;
  }
}

static const char *const unit_names[] = {"s", "ms", "us", "ns"};

static void json_type_name(FILE *out, const qv_type *t) {
  char buf[300];
  switch (t->id) {
    case QV_TYPE_NA: json_cstr(out, "null"); return;
    case QV_TYPE_HALF_FLOAT: json_cstr(out, "float16"); return;
    case QV_TYPE_FLOAT: json_cstr(out, "float32"); return;
    case QV_TYPE_DOUBLE: json_cstr(out, "float64"); return;
    case QV_TYPE_STRING: json_cstr(out, "utf8"); return;
    case QV_TYPE_LARGE_STRING: json_cstr(out, "large_utf8"); return;
    case QV_TYPE_STRING_VIEW: json_cstr(out, "utf8_view"); return;
    case QV_TYPE_BINARY_VIEW: json_cstr(out, "binary_view"); return;
    case QV_TYPE_FIXED_SIZE_BINARY: snprintf(buf, sizeof buf, "fixed_size_binary[%d]", (int)t->byte_width); break;
    case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL128: case QV_TYPE_DECIMAL256:
      snprintf(buf, sizeof buf, "decimal%d(%d,%d)", (int)t->bit_width, (int)t->precision, (int)t->scale);
      break;
    case QV_TYPE_TIME32: snprintf(buf, sizeof buf, "time32[%s]", unit_names[t->unit]); break;
    case QV_TYPE_TIME64: snprintf(buf, sizeof buf, "time64[%s]", unit_names[t->unit]); break;
    case QV_TYPE_TIMESTAMP:
      if (t->timezone) snprintf(buf, sizeof buf, "timestamp[%s,%s]", unit_names[t->unit], t->timezone);
      else snprintf(buf, sizeof buf, "timestamp[%s]", unit_names[t->unit]);
      break;
    case QV_TYPE_DURATION: snprintf(buf, sizeof buf, "duration[%s]", unit_names[t->unit]); break;
    case QV_TYPE_INTERVAL_MONTHS: json_cstr(out, "interval[year_month]"); return;
    case QV_TYPE_INTERVAL_DAY_TIME: json_cstr(out, "interval[day_time]"); return;
    case QV_TYPE_INTERVAL_MONTH_DAY_NANO: json_cstr(out, "interval[month_day_nano]"); return;
    case QV_TYPE_FIXED_SIZE_LIST: snprintf(buf, sizeof buf, "fixed_size_list[%d]", (int)t->list_size); break;
    case QV_TYPE_MAP: json_cstr(out, t->keys_sorted ? "map[sorted]" : "map"); return;
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION: {
      size_t len = (size_t)snprintf(buf, sizeof buf, "%s[", t->id == QV_TYPE_SPARSE_UNION ? "sparse_union" : "dense_union");
      for (int32_t c = 0; c < t->n_children && len < sizeof buf - 8; c++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%d", c ? "," : "", (int)t->type_codes[c]);
      snprintf(buf + len, sizeof buf - len, "]");
      break;
    }
    default:
      /* bool, (u)intN, date32/64, utf8-less binaries, list, large_list, list_view, struct, ... */
      json_cstr(out, qv_type_id_name(t->id));
      return;
  }
  json_cstr(out, buf);
}

static int cmp_md(const void *x, const void *y) {
  const qv_metadata_entry *a = *(const qv_metadata_entry *const *)x;
  const qv_metadata_entry *b = *(const qv_metadata_entry *const *)y;
  return strcmp(a->key, b->key);
}

static void json_metadata(FILE *out, const qv_metadata *md) {
  if (md->n == 0) return;
  const qv_metadata_entry **e = malloc(sizeof *e * (size_t)md->n);
  if (!e) return;
  for (int32_t i = 0; i < md->n; i++) e[i] = &md->entries[i];
  qsort(e, (size_t)md->n, sizeof *e, cmp_md);
  fputs(",\"metadata\":{", out);
  for (int32_t i = 0; i < md->n; i++) {
    if (i) fputc(',', out);
    json_str(out, (const uint8_t *)e[i]->key, e[i]->key_len);
    fputc(':', out);
    json_str(out, (const uint8_t *)e[i]->value, e[i]->value_len);
  }
  fputc('}', out);
  free(e);
}

/* `name_as`: NULL, or the name to print instead of f's (map children are printed with the
 * canonical names entries/key/value: they are not significant, and peers rename them). */
static void json_field(FILE *out, const qv_field *f, const char *name_as) {
  const qv_type *t = f->type;
  fputs("{\"name\":", out);
  json_cstr(out, name_as ? name_as : f->name);
  fputs(",\"type\":", out);
  json_type_name(out, t->id == QV_TYPE_DICTIONARY ? t->value_type : t);
  fprintf(out, ",\"nullable\":%s", f->nullable ? "true" : "false");
  if (t->id == QV_TYPE_DICTIONARY) {
    fputs(",\"dictionary\":{\"index\":", out);
    json_type_name(out, t->index_type);
    fprintf(out, ",\"ordered\":%s}", t->ordered ? "true" : "false");
    t = t->value_type;
  }
  if (t->n_children > 0) {
    fputs(",\"children\":[", out);
    for (int32_t i = 0; i < t->n_children; i++) {
      if (i) fputc(',', out);
      const char *as = NULL;
      if (t->id == QV_TYPE_MAP) as = "entries";
      else if (name_as && !strcmp(name_as, "entries")) as = i == 0 ? "key" : "value";
      json_field(out, t->children[i], as);
    }
    fputc(']', out);
  }
  json_metadata(out, &f->metadata);
  fputc('}', out);
}

void qv_cli_json_schema(FILE *out, const qv_schema *schema) {
  fputs("{\"schema\":{\"fields\":[", out);
  for (int32_t i = 0; i < schema->n_fields; i++) {
    if (i) fputc(',', out);
    json_field(out, schema->fields[i], NULL);
  }
  fputc(']', out);
  json_metadata(out, &schema->metadata);
  fputs("}}\n", out);
}

void qv_cli_json_batch(FILE *out, const qv_batch *batch, int64_t index) {
  fprintf(out, "{\"batch\":%" PRId64 ",\"rows\":%" PRId64 "}\n", index, batch->length);
  for (int32_t c = 0; c < batch->n_columns; c++) {
    fprintf(out, "{\"batch\":%" PRId64 ",\"column\":%d,\"values\":[", index, (int)c);
    const qv_array *a = batch->columns[c];
    for (int64_t i = 0; i < a->length; i++) {
      if (i) fputc(',', out);
      json_value(out, a, i);
    }
    fputs("]}\n", out);
  }
}

/* ---- the command ----------------------------------------------------------------------------- */

extern const qv_cli_command qv_cli_cmd_cat;

static int run_cat(int argc, char **argv) {
  const char *path = NULL;
  qv_cli_range range = {0, -1, 0};
  int json = 0, forced = QV_CLI_FORMAT_UNKNOWN;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--limit") || !strcmp(a, "-n") || !strcmp(a, "--offset")) {
      int64_t *dst = a[2] == 'o' ? &range.offset : &range.limit;
      if (i + 1 >= argc || !qv_cli_parse_count(argv[i + 1], dst))
        return qv_cli_usage(&qv_cli_cmd_cat, "%s needs a number >= 0%s%s%s", a,
                            i + 1 < argc ? " (got '" : "", i + 1 < argc ? argv[i + 1] : "",
                            i + 1 < argc ? "')" : "");
      i++;
    } else if (!strcmp(a, "--format")) {
      if (i + 1 >= argc) return qv_cli_usage(&qv_cli_cmd_cat, "--format needs text or json");
      const char *f = argv[++i];
      if (!strcmp(f, "json")) json = 1;
      else if (!strcmp(f, "text")) json = 0;
      else return qv_cli_usage(&qv_cli_cmd_cat, "unknown --format '%s' (text or json)", f);
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else {
      int r = qv_cli_input_arg(&qv_cli_cmd_cat, argc, argv, &i, &path, &forced);
      if (r) return r;
    }
  }
  if (!path) return qv_cli_usage(&qv_cli_cmd_cat, "missing input file");
  qv_error err;
  qv_error_init(&err);
  qv_cli_input in;
  qv_status s = qv_cli_input_open_streaming(&in, path, forced, &err);
  if (s < 0) return qv_cli_fail("cat", &err, "cannot read %s", path);
  int rc = QV_CLI_OK;
  qv_table *tbl = NULL;
  if (json) {
    qv_cli_json_schema(stdout, in.schema);
  } else if ((s = qv_table_new(in.schema, NULL, &tbl, &err)) < 0) {
    rc = qv_cli_fail("cat", &err, "%s", path);
    goto done;
  }
  for (int64_t shown = 0; !qv_cli_range_done(&range);) {
    qv_batch *b = NULL, *part = NULL;
    s = qv_cli_input_next(&in, &b, &err);
    if (s == QV_EOF) break;
    if (s == QV_OK) s = qv_cli_range_apply(&range, b, &part, &err);
    qv_batch_unref(b);
    if (s == QV_OK && part) {
      if (json) {
        qv_cli_json_batch(stdout, part, shown++);
        if (fflush(stdout) != 0) s = qv_error_set(&err, QV_E_IO, "cannot write to stdout");
      }
      else s = qv_table_append_batch(tbl, part, &err);
    }
    qv_batch_unref(part);
    if (s < 0) {
      rc = qv_cli_fail("cat", &err, "%s", path);
      break;
    }
  }
  if (rc == QV_CLI_OK && !json) {
    qv_pretty_options po = qv_pretty_options_default();
    po.head_rows = tbl->n_rows;
    po.tail_rows = 0;
    if (qv_table_pretty(tbl, stdout, &po, &err) < 0) rc = qv_cli_fail("cat", &err, "writing");
  }
  if (fflush(stdout) != 0) rc = qv_cli_fail("cat", NULL, "cannot write to stdout");
done:
  qv_table_free(tbl);
  qv_cli_input_close(&in);
  return rc;
}

const qv_cli_command qv_cli_cmd_cat = {
    "cat",
    "print the rows of an Arrow IPC file or stream (text table or JSON)",
    "usage: quiver cat [--offset N] [--limit N] [--format text|json] [--from stream|file] FILE\n\n"
    "Prints the rows of an Arrow IPC stream or file ('-' reads stdin). The format is detected\n"
    "from the content (file magic \"ARROW1\"), then from the name; --from forces it. A stream\n"
    "on stdin is decoded batch by batch as it arrives (--format json prints and flushes each\n"
    "batch at once; the aligned text table is printed at the end); a file on stdin (first 6\n"
    "bytes \"ARROW1\") is read whole first, since its footer is at the end.\n\n"
    "options:\n"
    "  --offset N          skip the first N rows\n"
    "  -n, --limit N       print at most N rows (default: all)\n"
    "  --format text       an aligned table: header, types, rows (default)\n"
    "  --format json       one JSON value per line: the schema, then per batch its row count\n"
    "                      and one line of values per column (canonical: the same bytes as\n"
    "                      the JavaScript interop peer prints for the same data); --json too\n\n"
    "examples:\n"
    "  quiver cat data.arrow\n"
    "  quiver cat --limit 20 trades.arrows\n"
    "  producer | quiver cat -\n"
    "  quiver cat --format json data.arrow | head -3\n",
    run_cat,
};
