/* pretty.c — rendering values as text (numbers, quoted strings, ISO-8601 dates and times,
 * scaled decimals, nested values) and printing batches / tables as aligned text tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array_int.h"

/* ---- value rendering --------------------------------------------------------------------- */

static void render_double(qv__sbuf *s, double v, bool single) {
  if (isnan(v)) { qv__sbuf_puts(s, "nan"); return; }
  if (isinf(v)) { qv__sbuf_puts(s, v < 0 ? "-inf" : "inf"); return; }
  char tmp[64];
  for (int p = single ? 6 : 15; p <= 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*g", p, v);
    double back = strtod(tmp, NULL);
    if (single ? (float)back == (float)v : back == v) break;
  }
  qv__sbuf_puts(s, tmp);
}

/* days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

/* Floor division by b > 0 and the remainder in [0, b): no intermediate can overflow, also for
 * INT64_MIN (a - q * b would). */
static int64_t floor_divmod(int64_t a, int64_t b, int64_t *rem) {
  int64_t q = a / b, r = a % b;
  if (r < 0) {
    r += b;
    q--;
  }
  if (rem) *rem = r;
  return q;
}

static void render_date(qv__sbuf *s, int64_t days) {
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  qv__sbuf_printf(s, "%04lld-%02u-%02u", (long long)y, m, d);
}

static const int64_t unit_per_sec[4] = {1, 1000, 1000000, 1000000000};
static const int unit_digits[4] = {0, 3, 6, 9};

/* time of day from `v` units since midnight (or since the day start) */
static void render_tod(qv__sbuf *s, int64_t secs_of_day, int64_t frac, qv_time_unit u) {
  qv__sbuf_printf(s, "%02lld:%02lld:%02lld", (long long)(secs_of_day / 3600),
                  (long long)(secs_of_day / 60 % 60), (long long)(secs_of_day % 60));
  if (unit_digits[u]) qv__sbuf_printf(s, ".%0*lld", unit_digits[u], (long long)frac);
}

static void render_timestamp(qv__sbuf *s, int64_t v, qv_time_unit u, const char *tz) {
  int64_t per = unit_per_sec[u];
  int64_t frac, sod;
  int64_t secs = floor_divmod(v, per, &frac);
  int64_t days = floor_divmod(secs, 86400, &sod);
  render_date(s, days);
  qv__sbuf_puts(s, "T");
  render_tod(s, sod, frac, u);
  if (tz) qv__sbuf_puts(s, "Z"); /* values with a timezone are UTC instants */
}

#define ND_DEC_MAX_SCALE 200

/* Decimal: little-endian two's complement of n bytes, shown with `scale`. */
static void render_decimal(qv__sbuf *s, const uint8_t *p, int32_t n, int32_t scale) {
  uint32_t limbs[8] = {0};
  int32_t nl = n / 4;
  for (int32_t i = 0; i < nl; i++) limbs[i] = qv__load_u32le(p + 4 * i);
  bool neg = (p[n - 1] & 0x80) != 0;
  if (neg) { /* negate: invert and add one */
    uint64_t carry = 1;
    for (int32_t i = 0; i < nl; i++) {
      uint64_t v = (uint64_t)(uint32_t)~limbs[i] + carry;
      limbs[i] = (uint32_t)v;
      carry = v >> 32;
    }
  }
  char digits[96];
  int nd = 0;
  for (;;) {
    bool zero = true;
    for (int32_t i = 0; i < nl; i++) zero = zero && limbs[i] == 0;
    if (zero) break;
    uint64_t rem = 0;
    for (int32_t i = nl - 1; i >= 0; i--) {
      uint64_t cur = (rem << 32) | limbs[i];
      limbs[i] = (uint32_t)(cur / 10);
      rem = cur % 10;
    }
    digits[nd++] = (char)('0' + rem);
  }
  if (nd == 0) digits[nd++] = '0';
  if (neg) qv__sbuf_puts(s, "-");
  bool zero = nd == 1 && digits[0] == '0';
  /* The scale comes from metadata and is not bounded: beyond what any decimal holds (76 digits)
   * the value is written with an exponent instead of that many zeros. */
  if (scale < -ND_DEC_MAX_SCALE || scale > ND_DEC_MAX_SCALE) {
    for (int i = nd - 1; i >= 0; i--) qv__sbuf_putn(s, &digits[i], 1);
    if (!zero) qv__sbuf_printf(s, "e%lld", -(long long)scale);
    return;
  }
  if (scale <= 0) {
    for (int i = nd - 1; i >= 0; i--) qv__sbuf_putn(s, &digits[i], 1);
    for (int32_t i = 0; i < -scale && !zero; i++) qv__sbuf_puts(s, "0");
    return;
  }
  if (nd <= scale) { /* no integer digit: 0.00ddd */
    qv__sbuf_puts(s, "0.");
    for (int32_t i = nd; i < scale; i++) qv__sbuf_puts(s, "0");
    for (int i = nd - 1; i >= 0; i--) qv__sbuf_putn(s, &digits[i], 1);
    return;
  }
  for (int i = nd - 1; i >= 0; i--) {
    qv__sbuf_putn(s, &digits[i], 1);
    if (i == scale) qv__sbuf_puts(s, ".");
  }
}

static void render_string(qv__sbuf *s, const uint8_t *p, size_t n) {
  qv__sbuf_puts(s, "\"");
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    const char *esc = NULL;
    char hex[8];
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\t': esc = "\\t"; break;
      case '\r': esc = "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          snprintf(hex, sizeof hex, "\\x%02x", c);
          esc = hex;
        }
    }
    if (esc) {
      qv__sbuf_putn(s, (const char *)p + run, i - run);
      qv__sbuf_puts(s, esc);
      run = i + 1;
    }
  }
  qv__sbuf_putn(s, (const char *)p + run, n - run);
  qv__sbuf_puts(s, "\"");
}

static void render_hex(qv__sbuf *s, const uint8_t *p, size_t n) {
  static const char hx[] = "0123456789abcdef";
  qv__sbuf_puts(s, "x'");
  for (size_t i = 0; i < n; i++) {
    char two[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
    qv__sbuf_putn(s, two, 2);
  }
  qv__sbuf_puts(s, "'");
}

static void render_items(const qv_array *child, int64_t start, int64_t len, qv__sbuf *s,
                         int32_t max_items) {
  qv__sbuf_puts(s, "[");
  for (int64_t k = 0; k < len; k++) {
    if (k) qv__sbuf_puts(s, ", ");
    if (max_items > 0 && k >= max_items) {
      qv__sbuf_puts(s, "…");
      break;
    }
    qv__value_render(child, start + k, s, max_items);
  }
  qv__sbuf_puts(s, "]");
}

void qv__value_render(const qv_array *arr, int64_t i, qv__sbuf *s, int32_t max_items) {
  const qv_type *t = arr->type;
  if (t->id != QV_TYPE_SPARSE_UNION && t->id != QV_TYPE_DENSE_UNION &&
      t->id != QV_TYPE_RUN_END_ENCODED && t->id != QV_TYPE_DICTIONARY && qv_array_is_null(arr, i)) {
    qv__sbuf_puts(s, "null");
    return;
  }
  switch (t->id) {
    case QV_TYPE_NA: qv__sbuf_puts(s, "null"); return;
    case QV_TYPE_BOOL: qv__sbuf_puts(s, qv_array_get_bool(arr, i) ? "true" : "false"); return;
    case QV_TYPE_INT8: case QV_TYPE_INT16: case QV_TYPE_INT32: case QV_TYPE_INT64:
    case QV_TYPE_UINT8: case QV_TYPE_UINT16: case QV_TYPE_UINT32:
      qv__sbuf_printf(s, "%lld", (long long)qv_array_get_i64(arr, i));
      return;
    case QV_TYPE_UINT64:
      qv__sbuf_printf(s, "%llu", (unsigned long long)qv_array_get_u64(arr, i));
      return;
    case QV_TYPE_HALF_FLOAT: case QV_TYPE_FLOAT:
      render_double(s, qv_array_get_f64(arr, i), true);
      return;
    case QV_TYPE_DOUBLE: render_double(s, qv_array_get_f64(arr, i), false); return;
    case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL128:
    case QV_TYPE_DECIMAL256:
      render_decimal(s, qv_array_value_ptr(arr, i), t->byte_width, t->scale);
      return;
    case QV_TYPE_DATE32: render_date(s, qv_array_get_i64(arr, i)); return;
    case QV_TYPE_DATE64: render_date(s, floor_divmod(qv_array_get_i64(arr, i), 86400000, NULL)); return;
    case QV_TYPE_TIME32: case QV_TYPE_TIME64: {
      int64_t v = qv_array_get_i64(arr, i), per = unit_per_sec[t->unit];
      int64_t frac, secs = floor_divmod(v, per, &frac);
      render_tod(s, secs, frac, t->unit);
      return;
    }
    case QV_TYPE_TIMESTAMP:
      render_timestamp(s, qv_array_get_i64(arr, i), t->unit, t->timezone);
      return;
    case QV_TYPE_DURATION: {
      static const char *const suf[4] = {"s", "ms", "us", "ns"};
      qv__sbuf_printf(s, "%lld%s", (long long)qv_array_get_i64(arr, i), suf[t->unit]);
      return;
    }
    case QV_TYPE_INTERVAL_MONTHS:
      qv__sbuf_printf(s, "%lldM", (long long)qv_array_get_i64(arr, i));
      return;
    case QV_TYPE_INTERVAL_DAY_TIME: {
      const uint8_t *p = qv_array_value_ptr(arr, i);
      qv__sbuf_printf(s, "%dd %dms", (int)(int32_t)qv__load_u32le(p),
                      (int)(int32_t)qv__load_u32le(p + 4));
      return;
    }
    case QV_TYPE_INTERVAL_MONTH_DAY_NANO: {
      const uint8_t *p = qv_array_value_ptr(arr, i);
      qv__sbuf_printf(s, "%dM %dd %lldns", (int)(int32_t)qv__load_u32le(p),
                      (int)(int32_t)qv__load_u32le(p + 4), (long long)(int64_t)qv__load_u64le(p + 8));
      return;
    }
    case QV_TYPE_STRING: case QV_TYPE_LARGE_STRING: case QV_TYPE_STRING_VIEW: {
      const uint8_t *p;
      size_t n;
      qv_array_get_bytes(arr, i, &p, &n);
      render_string(s, p, n);
      return;
    }
    case QV_TYPE_BINARY: case QV_TYPE_LARGE_BINARY: case QV_TYPE_BINARY_VIEW:
    case QV_TYPE_FIXED_SIZE_BINARY: {
      const uint8_t *p;
      size_t n;
      qv_array_get_bytes(arr, i, &p, &n);
      render_hex(s, p, n);
      return;
    }
    case QV_TYPE_LIST: case QV_TYPE_LARGE_LIST: case QV_TYPE_LIST_VIEW:
    case QV_TYPE_LARGE_LIST_VIEW: case QV_TYPE_FIXED_SIZE_LIST: {
      int64_t st, n;
      qv_array_list_range(arr, i, &st, &n);
      render_items(arr->children[0], st, n, s, max_items);
      return;
    }
    case QV_TYPE_MAP: {
      int64_t st, n;
      qv_array_list_range(arr, i, &st, &n);
      const qv_array *e = arr->children[0];
      qv__sbuf_puts(s, "{");
      for (int64_t k = 0; k < n; k++) {
        if (k) qv__sbuf_puts(s, ", ");
        if (max_items > 0 && k >= max_items) {
          qv__sbuf_puts(s, "…");
          break;
        }
        qv__value_render(e->children[0], e->offset + st + k, s, max_items);
        qv__sbuf_puts(s, ": ");
        qv__value_render(e->children[1], e->offset + st + k, s, max_items);
      }
      qv__sbuf_puts(s, "}");
      return;
    }
    case QV_TYPE_STRUCT:
      qv__sbuf_puts(s, "{");
      for (int32_t c = 0; c < arr->n_children; c++) {
        if (c) qv__sbuf_puts(s, ", ");
        qv__sbuf_puts(s, t->children[c]->name);
        qv__sbuf_puts(s, ": ");
        qv__value_render(arr->children[c], arr->offset + i, s, max_items);
      }
      qv__sbuf_puts(s, "}");
      return;
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION: {
      int32_t c = qv_array_union_child_index(arr, i);
      if (c < 0) {
        qv__sbuf_puts(s, "<bad type code>");
        return;
      }
      qv__value_render(arr->children[c], qv_array_union_value_index(arr, i), s, max_items);
      return;
    }
    case QV_TYPE_DICTIONARY:
      if (arr->buffers[0].data && !qv_bit_get(arr->buffers[0].data, (size_t)(arr->offset + i))) {
        qv__sbuf_puts(s, "null");
        return;
      }
      qv__value_render(arr->dictionary, qv_array_dict_index(arr, i), s, max_items);
      return;
    case QV_TYPE_RUN_END_ENCODED:
      qv__value_render(arr->children[1], qv_array_ree_physical_index(arr, i), s, max_items);
      return;
    case QV_TYPE_ID_COUNT: break;
  }
  qv__sbuf_puts(s, "?");
}

size_t qv_array_value_to_string(const qv_array *arr, int64_t i, char *buf, size_t cap) {
  qv__sbuf s;
  qv__sbuf_init(&s, buf, cap);
  qv__value_render(arr, i, &s, 0);
  return s.len;
}

/* ---- tables as text ---------------------------------------------------------------------- */

qv_pretty_options qv_pretty_options_default(void) {
  qv_pretty_options o;
  memset(&o, 0, sizeof o);
  o.head_rows = 10;
  o.tail_rows = 5;
  o.max_width = 40;
  o.max_items = 10;
  o.show_types = true;
  o.show_row_count = true;
  return o;
}

/* Number of characters (UTF-8 code points) in s[0..n). */
static size_t char_count(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((uint8_t)s[i] & 0xc0) != 0x80;
  return c;
}

/* Byte length of the first `chars` characters of s. */
static size_t char_prefix(const char *s, size_t n, size_t chars) {
  size_t i = 0, c = 0;
  while (i < n) {
    if (((uint8_t)s[i] & 0xc0) != 0x80) {
      if (c == chars) break;
      c++;
    }
    i++;
  }
  return i;
}

typedef struct cell {
  char text[1024];
  size_t len;   /* bytes */
  size_t width; /* characters */
} cell;

static void cell_fit(cell *c, size_t total_len, int32_t max_width) {
  size_t have = total_len < sizeof c->text ? total_len : sizeof c->text - 1;
  size_t w = char_count(c->text, have);
  if (total_len > have) w = (size_t)-1; /* cut by the buffer: surely too wide */
  if (max_width > 1 && w > (size_t)max_width) {
    size_t keep = char_prefix(c->text, have, (size_t)max_width - 1);
    memcpy(c->text + keep, "…", 3);
    have = keep + 3;
    w = (size_t)max_width;
  }
  c->text[have] = '\0';
  c->len = have;
  c->width = w;
}

static void cell_set(cell *c, const char *s, int32_t max_width) {
  size_t n = strlen(s);
  size_t k = n < sizeof c->text - 1 ? n : sizeof c->text - 1;
  memcpy(c->text, s, k);
  c->text[k] = '\0';
  cell_fit(c, n, max_width);
}

typedef struct view {
  const qv_schema *schema;
  const qv_batch *const *batches;
  int64_t n_batches;
  int64_t n_rows;
} view;

static void cell_value(cell *c, const view *v, int32_t col, int64_t row,
                       const qv_pretty_options *o) {
  int64_t b = 0;
  while (row >= v->batches[b]->length) {
    row -= v->batches[b]->length;
    b++;
  }
  qv__sbuf s;
  qv__sbuf_init(&s, c->text, sizeof c->text);
  qv__value_render(v->batches[b]->columns[col], row, &s, o->max_items);
  cell_fit(c, s.len, o->max_width);
}

static qv_status put(qv_mbuffer *out, const char *s, size_t n, qv_error *err) {
  return qv_mbuffer_append(out, s, n, err);
}

static qv_status pad(qv_mbuffer *out, size_t n, qv_error *err) {
  static const char sp[] = "                                ";
  while (n > 0) {
    size_t k = n < 32 ? n : 32;
    QV_TRY(put(out, sp, k, err));
    n -= k;
  }
  return QV_OK;
}

static qv_status render_view(const view *v, const qv_pretty_options *o, qv_mbuffer *out,
                             qv_error *err) {
  int32_t nc = v->schema->n_fields;
  int64_t head = o->head_rows < 0 ? 0 : o->head_rows, tail = o->tail_rows < 0 ? 0 : o->tail_rows;
  bool gap = v->n_rows > head + tail;
  int64_t shown = gap ? head + tail : v->n_rows;
  cell *c = qv_mem_alloc(&out->alloc, sizeof *c, _Alignof(cell));
  if (!c) return qv__nomem(err, "pretty cell", sizeof *c);
  size_t *widths = NULL;
  qv_status s = QV_OK;
  if (nc > 0) {
    widths = qv_mem_calloc(&out->alloc, (size_t)nc * sizeof *widths, _Alignof(size_t));
    if (!widths) {
      qv_mem_free(&out->alloc, c, sizeof *c, _Alignof(cell));
      return qv__nomem(err, "pretty widths", (size_t)nc * sizeof *widths);
    }
  }
  /* pass 1: widths */
  for (int32_t col = 0; col < nc; col++) {
    const qv_field *f = v->schema->fields[col];
    cell_set(c, f->name, o->max_width);
    widths[col] = c->width;
    if (o->show_types) {
      char t[1024];
      qv_type_to_string(f->type, t, sizeof t);
      cell_set(c, t, o->max_width);
      if (c->width > widths[col]) widths[col] = c->width;
    }
    if (gap && widths[col] < 1) widths[col] = 1;
    for (int64_t r = 0; r < shown; r++) {
      int64_t row = (gap && r >= head) ? v->n_rows - tail + (r - head) : r;
      cell_value(c, v, col, row, o);
      if (c->width > widths[col]) widths[col] = c->width;
    }
  }
  /* pass 2: lines. line kinds: 0 names, 1 types, 2 rule, 3 rows (with the gap row) */
  int64_t n_lines = 3 + shown + (gap ? 1 : 0);
  for (int64_t line = 0; line < n_lines && s == QV_OK; line++) {
    if (line == 1 && !o->show_types) continue;
    for (int32_t col = 0; col < nc && s == QV_OK; col++) {
      const qv_field *f = v->schema->fields[col];
      if (line == 0) {
        cell_set(c, f->name, o->max_width);
      } else if (line == 1) {
        char t[1024];
        qv_type_to_string(f->type, t, sizeof t);
        cell_set(c, t, o->max_width);
      } else if (line == 2) {
        c->len = 0;
        for (size_t k = 0; k < widths[col] && c->len + 3 < sizeof c->text; k++) {
          memcpy(c->text + c->len, "─", 3);
          c->len += 3;
        }
        c->text[c->len] = '\0';
        c->width = widths[col];
      } else {
        int64_t r = line - 3;
        if (gap && r == head) {
          cell_set(c, "…", o->max_width);
        } else {
          if (gap && r > head) r = v->n_rows - tail + (r - head - 1);
          cell_value(c, v, col, r, o);
        }
      }
      if (col) s = put(out, "  ", 2, err);
      if (s == QV_OK) s = put(out, c->text, c->len, err);
      if (s == QV_OK && col + 1 < nc && widths[col] > c->width)
        s = pad(out, widths[col] - c->width, err);
    }
    if (s == QV_OK) s = put(out, "\n", 1, err);
  }
  if (s == QV_OK && o->show_row_count) {
    char foot[96];
    int n = snprintf(foot, sizeof foot, "%lld row%s, %d column%s\n", (long long)v->n_rows,
                     v->n_rows == 1 ? "" : "s", (int)nc, nc == 1 ? "" : "s");
    s = put(out, foot, (size_t)n, err);
  }
  if (widths) qv_mem_free(&out->alloc, widths, (size_t)nc * sizeof *widths, _Alignof(size_t));
  qv_mem_free(&out->alloc, c, sizeof *c, _Alignof(cell));
  return s;
}

static qv_status to_file(const view *v, FILE *f, const qv_pretty_options *o, qv_error *err) {
  qv_pretty_options d = qv_pretty_options_default();
  if (!o) o = &d;
  qv_mbuffer out;
  qv_mbuffer_init(&out, NULL);
  qv_status s = render_view(v, o, &out, err);
  if (s == QV_OK && out.len && fwrite(out.data, 1, out.len, f) != out.len)
    s = qv_error_set(err, QV_E_IO, "pretty: writing the table failed");
  qv_mbuffer_reset(&out);
  return s;
}

static qv_status to_string(const view *v, const qv_pretty_options *o, const qv_allocator *a,
                           char **res, qv_error *err) {
  qv_pretty_options d = qv_pretty_options_default();
  if (!o) o = &d;
  qv_mbuffer out;
  qv_mbuffer_init(&out, a);
  qv_status s = render_view(v, o, &out, err);
  if (s == QV_OK) {
    char *str = qv_mem_alloc(a, out.len + 1, 1);
    if (!str) {
      s = qv__nomem(err, "pretty string", out.len + 1);
    } else {
      if (out.len) memcpy(str, out.data, out.len);
      str[out.len] = '\0';
      *res = str;
    }
  }
  qv_mbuffer_reset(&out);
  return s;
}

static view batch_view(const qv_batch *const *b) {
  view v = {(*b)->schema, b, 1, (*b)->length};
  return v;
}

static view table_view(const qv_table *t) {
  view v = {t->schema, (const qv_batch *const *)t->batches, t->n_batches, t->n_rows};
  return v;
}

qv_status qv_batch_pretty(const qv_batch *b, FILE *out, const qv_pretty_options *opts,
                          qv_error *err) {
  view v = batch_view(&b);
  return to_file(&v, out, opts, err);
}

qv_status qv_table_pretty(const qv_table *t, FILE *out, const qv_pretty_options *opts,
                          qv_error *err) {
  view v = table_view(t);
  return to_file(&v, out, opts, err);
}

qv_status qv_batch_pretty_string(const qv_batch *b, const qv_pretty_options *opts,
                                 const qv_allocator *a, char **out, qv_error *err) {
  view v = batch_view(&b);
  return to_string(&v, opts, a, out, err);
}

qv_status qv_table_pretty_string(const qv_table *t, const qv_pretty_options *opts,
                                 const qv_allocator *a, char **out, qv_error *err) {
  view v = table_view(t);
  return to_string(&v, opts, a, out, err);
}
