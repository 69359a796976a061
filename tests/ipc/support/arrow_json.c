/* arrow_json.c — test support: the Arrow integration-testing JSON format (schema, dictionaries,
 * batches with explicit VALIDITY / OFFSET / DATA / TYPE_ID / SIZE / VIEWS buffers) loaded into
 * quiver arrays, built directly from the buffers the JSON spells out. */
#include "arrow_json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "quiver/array.h"

typedef struct dict_entry {
  int64_t id;
  json_t *column;      /* the JSON column of its values (borrowed from the document) */
  const qv_type *type; /* value type (borrowed from the schema) */
  qv_array *values;    /* built on first use */
} dict_entry;

typedef struct ctx {
  const qv_allocator *a;
  qv_error *err;
  const char *path;
  dict_entry *dicts;
  size_t n_dicts, cap_dicts;
  int depth;
  int flags;
} ctx;

#define FAIL(c, code, ...) qv_error_set((c)->err, (code), __VA_ARGS__)

/* ---- reading the file ---------------------------------------------------------------------- */

static qv_status read_gz(ctx *c, char **out, size_t *out_len) {
  gzFile gz = gzopen(c->path, "rb");
  if (!gz) return FAIL(c, QV_E_IO, "%s: cannot open: %s", c->path, strerror(errno));
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    gzclose(gz);
    return FAIL(c, QV_E_NOMEM, "%s: out of memory", c->path);
  }
  for (;;) {
    if (cap - len < (1 << 16)) {
      if (cap >= QV_TEST_JSON_MAX_BYTES) {
        free(buf);
        gzclose(gz);
        return FAIL(c, QV_E_LIMIT, "%s: more than %zu bytes of JSON", c->path,
                    (size_t)QV_TEST_JSON_MAX_BYTES);
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        gzclose(gz);
        return FAIL(c, QV_E_NOMEM, "%s: out of memory", c->path);
      }
      buf = nb;
      cap *= 2;
    }
    int n = gzread(gz, buf + len, (unsigned)(cap - len));
    if (n < 0) {
      int zerr;
      const char *msg = gzerror(gz, &zerr);
      qv_status s = FAIL(c, QV_E_IO, "%s: gzread: %s", c->path, msg);
      free(buf);
      gzclose(gz);
      return s;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  gzclose(gz);
  *out = buf;
  *out_len = len;
  return QV_OK;
}

/* ---- JSON helpers -------------------------------------------------------------------------- */

static json_t *member(json_t *obj, const char *key) {
  return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

static qv_status need_array(ctx *c, json_t *obj, const char *key, const char *where,
                            json_t **out) {
  json_t *v = member(obj, key);
  if (!json_is_array(v))
    return FAIL(c, QV_E_CORRUPT, "%s: %s: \"%s\" is missing or not an array", c->path, where,
                key);
  *out = v;
  return QV_OK;
}

static qv_status get_i64(ctx *c, json_t *v, const char *where, int64_t *out) {
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
    return QV_OK;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno == 0 && end != s && *end == '\0') {
      *out = (int64_t)x;
      return QV_OK;
    }
  }
  return FAIL(c, QV_E_CORRUPT, "%s: %s: expected an integer", c->path, where);
}

static qv_status get_u64(ctx *c, json_t *v, const char *where, uint64_t *out) {
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    *out = (uint64_t)json_integer_value(v);
    return QV_OK;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno == 0 && end != s && *end == '\0' && s[0] != '-') {
      *out = (uint64_t)x;
      return QV_OK;
    }
  }
  return FAIL(c, QV_E_CORRUPT, "%s: %s: expected an unsigned integer", c->path, where);
}

static qv_status get_f64(ctx *c, json_t *v, const char *where, double *out) {
  if (json_is_number(v)) {
    *out = json_number_value(v);
    return QV_OK;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    double x = strtod(s, &end);
    if (end != s && *end == '\0') {
      *out = x;
      return QV_OK;
    }
  }
  return FAIL(c, QV_E_CORRUPT, "%s: %s: expected a number", c->path, where);
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Appends the bytes of a hex string. */
static qv_status append_hex(ctx *c, qv_mbuffer *mb, json_t *v, const char *where) {
  const char *s = json_string_value(v);
  if (!s) return FAIL(c, QV_E_CORRUPT, "%s: %s: expected a hex string", c->path, where);
  size_t n = strlen(s);
  if (n % 2) return FAIL(c, QV_E_CORRUPT, "%s: %s: odd-length hex string", c->path, where);
  QV_TRY(qv_mbuffer_reserve(mb, n / 2, c->err));
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval(s[i]), lo = hexval(s[i + 1]);
    if (hi < 0 || lo < 0) return FAIL(c, QV_E_CORRUPT, "%s: %s: bad hex digit", c->path, where);
    uint8_t byte = (uint8_t)(hi * 16 + lo);
    QV_TRY(qv_mbuffer_append(mb, &byte, 1, c->err));
  }
  return QV_OK;
}

static void store_le(uint8_t *p, uint64_t v, int width) {
  for (int i = 0; i < width; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Decimal string (optional '-') into `width` bytes of little-endian two's complement. */
static qv_status parse_decimal(ctx *c, json_t *v, int width, uint8_t *out, const char *where) {
  const char *s = json_string_value(v);
  char tmp[32];
  if (!s && json_is_integer(v)) {
    snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    s = tmp;
  }
  if (!s) return FAIL(c, QV_E_CORRUPT, "%s: %s: expected a decimal string", c->path, where);
  bool neg = false;
  if (*s == '-') {
    neg = true;
    s++;
  }
  if (!*s) return FAIL(c, QV_E_CORRUPT, "%s: %s: empty decimal", c->path, where);
  memset(out, 0, (size_t)width);
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return FAIL(c, QV_E_CORRUPT, "%s: %s: bad decimal digit '%c'", c->path, where, *s);
    unsigned carry = (unsigned)(*s - '0');
    for (int i = 0; i < width; i++) {
      unsigned x = out[i] * 10u + carry;
      out[i] = (uint8_t)x;
      carry = x >> 8;
    }
    if (carry) return FAIL(c, QV_E_CORRUPT, "%s: %s: decimal too large", c->path, where);
  }
  if (neg) { /* two's complement: invert and add one */
    unsigned carry = 1;
    for (int i = 0; i < width; i++) {
      unsigned x = (uint8_t)~out[i] + carry;
      out[i] = (uint8_t)x;
      carry = x >> 8;
    }
  }
  return QV_OK;
}

/* IEEE binary16 bits of d, rounded to nearest even. */
static uint16_t to_half(double d) {
  float f = (float)d;
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t exp = (x >> 23) & 0xff, man = x & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000;
    int shift = 14 - e;
    uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
  return (uint16_t)(sign | half);
}

/* ---- schema ------------------------------------------------------------------------------- */

static qv_status parse_field(ctx *c, json_t *jf, qv_field **out);

static qv_status parse_metadata(ctx *c, json_t *jmd, qv_metadata *md, const char *where) {
  if (!jmd) return QV_OK;
  if (!json_is_array(jmd))
    return FAIL(c, QV_E_CORRUPT, "%s: %s: metadata is not an array", c->path, where);
  size_t i;
  json_t *kv;
  json_array_foreach(jmd, i, kv) {
    json_t *k = member(kv, "key"), *v = member(kv, "value");
    if (!json_is_string(k) || !json_is_string(v))
      return FAIL(c, QV_E_CORRUPT, "%s: %s: metadata entry %zu needs string key and value",
                  c->path, where, i);
    QV_TRY(qv_metadata_append_n(md, json_string_value(k), json_string_length(k),
                                json_string_value(v), json_string_length(v), c->err));
  }
  return QV_OK;
}

static qv_status parse_unit(ctx *c, json_t *jt, const char *where, qv_time_unit *out) {
  const char *u = json_string_value(member(jt, "unit"));
  if (!u) return FAIL(c, QV_E_CORRUPT, "%s: %s: type has no unit", c->path, where);
  if (!strcmp(u, "SECOND")) *out = QV_TIME_SECOND;
  else if (!strcmp(u, "MILLISECOND")) *out = QV_TIME_MILLI;
  else if (!strcmp(u, "MICROSECOND")) *out = QV_TIME_MICRO;
  else if (!strcmp(u, "NANOSECOND")) *out = QV_TIME_NANO;
  else return FAIL(c, QV_E_CORRUPT, "%s: %s: unknown unit \"%s\"", c->path, where, u);
  return QV_OK;
}

static int json_int_or(json_t *obj, const char *key, int dflt) {
  json_t *v = member(obj, key);
  return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static qv_status int_type(ctx *c, bool is_signed, int bits, const char *where, qv_type **out) {
  qv_type_id id;
  switch (bits) {
    case 8: id = is_signed ? QV_TYPE_INT8 : QV_TYPE_UINT8; break;
    case 16: id = is_signed ? QV_TYPE_INT16 : QV_TYPE_UINT16; break;
    case 32: id = is_signed ? QV_TYPE_INT32 : QV_TYPE_UINT32; break;
    case 64: id = is_signed ? QV_TYPE_INT64 : QV_TYPE_UINT64; break;
    default: return FAIL(c, QV_E_CORRUPT, "%s: %s: int bitWidth %d", c->path, where, bits);
  }
  *out = qv_type_primitive(id);
  return QV_OK;
}

/* The type of field `jf` (its "type" object and parsed child fields). *out: new reference. */
static qv_status parse_type(ctx *c, json_t *jt, qv_field **kids, int32_t nk, const char *where,
                            qv_type **out) {
  const char *name = json_string_value(member(jt, "name"));
  if (!name) return FAIL(c, QV_E_CORRUPT, "%s: %s: type has no name", c->path, where);
  const qv_allocator *a = c->a;
  qv_error *err = c->err;
  qv_time_unit unit;
#define PRIM(str, ctor)                                                                       \
  if (!strcmp(name, str)) {                                                                   \
    *out = ctor();                                                                            \
    return QV_OK;                                                                             \
  }
  PRIM("null", qv_type_na)
  PRIM("bool", qv_type_bool)
  PRIM("binary", qv_type_binary)
  PRIM("utf8", qv_type_utf8)
  PRIM("largebinary", qv_type_large_binary)
  PRIM("largeutf8", qv_type_large_utf8)
  PRIM("binaryview", qv_type_binary_view)
  PRIM("utf8view", qv_type_utf8_view)
#undef PRIM
  if (!strcmp(name, "int")) {
    json_t *s = member(jt, "isSigned");
    return int_type(c, s ? json_is_true(s) : true, json_int_or(jt, "bitWidth", 0), where, out);
  }
  if (!strcmp(name, "floatingpoint")) {
    const char *p = json_string_value(member(jt, "precision"));
    if (p && !strcmp(p, "HALF")) *out = qv_type_float16();
    else if (p && !strcmp(p, "SINGLE")) *out = qv_type_float32();
    else if (p && !strcmp(p, "DOUBLE")) *out = qv_type_float64();
    else return FAIL(c, QV_E_CORRUPT, "%s: %s: bad floatingpoint precision", c->path, where);
    return QV_OK;
  }
  if (!strcmp(name, "decimal"))
    return qv_type_decimal(json_int_or(jt, "bitWidth", 128), json_int_or(jt, "precision", 0),
                           json_int_or(jt, "scale", 0), a, out, err);
  if (!strcmp(name, "fixedsizebinary"))
    return qv_type_fixed_size_binary(json_int_or(jt, "byteWidth", -1), a, out, err);
  if (!strcmp(name, "date")) {
    const char *u = json_string_value(member(jt, "unit"));
    *out = (u && !strcmp(u, "DAY")) ? qv_type_date32() : qv_type_date64();
    return QV_OK;
  }
  if (!strcmp(name, "time")) {
    QV_TRY(parse_unit(c, jt, where, &unit));
    return json_int_or(jt, "bitWidth", unit <= QV_TIME_MILLI ? 32 : 64) == 32
               ? qv_type_time32(unit, a, out, err)
               : qv_type_time64(unit, a, out, err);
  }
  if (!strcmp(name, "timestamp")) {
    QV_TRY(parse_unit(c, jt, where, &unit));
    return qv_type_timestamp(unit, json_string_value(member(jt, "timezone")), a, out, err);
  }
  if (!strcmp(name, "duration")) {
    QV_TRY(parse_unit(c, jt, where, &unit));
    return qv_type_duration(unit, a, out, err);
  }
  if (!strcmp(name, "interval")) {
    const char *u = json_string_value(member(jt, "unit"));
    if (u && !strcmp(u, "YEAR_MONTH")) *out = qv_type_interval_months();
    else if (u && !strcmp(u, "DAY_TIME")) *out = qv_type_interval_day_time();
    else if (u && !strcmp(u, "MONTH_DAY_NANO")) *out = qv_type_interval_month_day_nano();
    else return FAIL(c, QV_E_CORRUPT, "%s: %s: bad interval unit", c->path, where);
    return QV_OK;
  }
  /* nested */
  int want = -1;
  if (!strcmp(name, "list") || !strcmp(name, "largelist") || !strcmp(name, "listview") ||
      !strcmp(name, "largelistview") || !strcmp(name, "fixedsizelist") || !strcmp(name, "map"))
    want = 1;
  else if (!strcmp(name, "runendencoded"))
    want = 2;
  if (want >= 0 && nk != want)
    return FAIL(c, QV_E_CORRUPT, "%s: %s: %s type needs %d children, has %d", c->path, where,
                name, want, (int)nk);
  if (!strcmp(name, "list")) return qv_type_list(kids[0], a, out, err);
  if (!strcmp(name, "largelist")) return qv_type_large_list(kids[0], a, out, err);
  if (!strcmp(name, "listview")) return qv_type_list_view(kids[0], a, out, err);
  if (!strcmp(name, "largelistview")) return qv_type_large_list_view(kids[0], a, out, err);
  if (!strcmp(name, "fixedsizelist"))
    return qv_type_fixed_size_list(kids[0], json_int_or(jt, "listSize", -1), a, out, err);
  if (!strcmp(name, "map") && (c->flags & QV_TEST_JSON_CANONICAL_MAP_NAMES)) {
    const qv_type *et = kids[0]->type;
    if (et->id != QV_TYPE_STRUCT || et->n_children != 2)
      return FAIL(c, QV_E_CORRUPT, "%s: %s: map entries must be a struct of 2", c->path, where);
    qv_field *k = NULL, *v = NULL;
    qv_status s = qv_field_with_name(et->children[0], "key", a, &k, err);
    if (s == QV_OK) s = qv_field_with_name(et->children[1], "value", a, &v, err);
    if (s == QV_OK) s = qv_type_map(k, v, json_is_true(member(jt, "keysSorted")), a, out, err);
    qv_field_unref(k);
    qv_field_unref(v);
    return s;
  }
  if (!strcmp(name, "map"))
    return qv_type_map_from_entries(kids[0], json_is_true(member(jt, "keysSorted")), a, out, err);
  if (!strcmp(name, "struct")) return qv_type_struct(kids, nk, a, out, err);
  if (!strcmp(name, "runendencoded"))
    return qv_type_run_end_encoded_fields(kids[0], kids[1], a, out, err);
  if (!strcmp(name, "union")) {
    const char *mode = json_string_value(member(jt, "mode"));
    json_t *ids = member(jt, "typeIds");
    int8_t codes[QV_UNION_MAX_CHILDREN];
    if (!mode || (strcmp(mode, "SPARSE") && strcmp(mode, "DENSE")))
      return FAIL(c, QV_E_CORRUPT, "%s: %s: bad union mode", c->path, where);
    if (nk > QV_UNION_MAX_CHILDREN)
      return FAIL(c, QV_E_CORRUPT, "%s: %s: %d union children", c->path, where, (int)nk);
    for (int32_t i = 0; i < nk; i++) {
      json_t *v = json_is_array(ids) ? json_array_get(ids, (size_t)i) : NULL;
      codes[i] = json_is_integer(v) ? (int8_t)json_integer_value(v) : (int8_t)i;
    }
    return qv_type_union(strcmp(mode, "DENSE") ? QV_UNION_SPARSE : QV_UNION_DENSE, kids, codes,
                         nk, a, out, err);
  }
  return FAIL(c, QV_E_UNSUPPORTED, "%s: %s: type \"%s\" is not known to the JSON loader",
              c->path, where, name);
}

static qv_status add_dict(ctx *c, int64_t id, const qv_type *value_type) {
  for (size_t i = 0; i < c->n_dicts; i++)
    if (c->dicts[i].id == id) return QV_OK; /* shared dictionary: first declaration wins */
  if (c->n_dicts == c->cap_dicts) {
    size_t nc = c->cap_dicts ? c->cap_dicts * 2 : 8;
    dict_entry *nd = realloc(c->dicts, nc * sizeof *nd);
    if (!nd) return FAIL(c, QV_E_NOMEM, "out of memory");
    c->dicts = nd;
    c->cap_dicts = nc;
  }
  c->dicts[c->n_dicts++] = (dict_entry){id, NULL, value_type, NULL};
  return QV_OK;
}

static qv_status parse_field(ctx *c, json_t *jf, qv_field **out) {
  const char *name = json_string_value(member(jf, "name"));
  if (!name) return FAIL(c, QV_E_CORRUPT, "%s: a field has no name", c->path);
  if (++c->depth > 64) return FAIL(c, QV_E_LIMIT, "%s: field '%s' nested too deep", c->path, name);
  qv_status s = QV_OK;
  json_t *jkids = member(jf, "children");
  size_t nk = json_is_array(jkids) ? json_array_size(jkids) : 0;
  qv_field **kids = calloc(nk ? nk : 1, sizeof *kids);
  qv_type *vt = NULL, *t = NULL, *it = NULL;
  qv_metadata md;
  qv_metadata_init(&md, c->a);
  qv_field *f = NULL;
  if (!kids) {
    s = FAIL(c, QV_E_NOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < nk; i++) QV_TRY_GOTO(s, parse_field(c, json_array_get(jkids, i), &kids[i]), done);
  QV_TRY_GOTO(s, parse_type(c, member(jf, "type"), kids, (int32_t)nk, name, &vt), done);
  json_t *jd = member(jf, "dictionary");
  int64_t dict_id = -1;
  if (jd) {
    json_t *jit = member(jd, "indexType");
    json_t *sg = member(jit, "isSigned");
    QV_TRY_GOTO(s, int_type(c, sg ? json_is_true(sg) : true, json_int_or(jit, "bitWidth", 0), name, &it), done);
    QV_TRY_GOTO(s, get_i64(c, member(jd, "id"), name, &dict_id), done);
    QV_TRY_GOTO(s, qv_type_dictionary(it, vt, json_is_true(member(jd, "isOrdered")), c->a, &t, c->err), done);
  } else {
    t = qv_type_ref(vt);
  }
  QV_TRY_GOTO(s, parse_metadata(c, member(jf, "metadata"), &md, name), done);
  QV_TRY_GOTO(s, qv_field_new(name, t, json_is_true(member(jf, "nullable")), &md, c->a, &f, c->err), done);
  if (dict_id >= 0) {
    qv_field *g = NULL;
    s = qv_field_with_dictionary_id(f, dict_id, c->a, &g, c->err);
    qv_field_unref(f);
    f = g;
    if (s < 0) goto done;
    QV_TRY_GOTO(s, add_dict(c, dict_id, t->value_type), done);
  }
  *out = f;
  f = NULL;
done:
  c->depth--;
  qv_field_unref(f);
  for (size_t i = 0; kids && i < nk; i++) qv_field_unref(kids[i]);
  free(kids);
  qv_type_unref(vt);
  qv_type_unref(t);
  qv_type_unref(it);
  qv_metadata_reset(&md);
  if (s < 0) qv_error_prefix(c->err, "field '%s': ", name);
  return s;
}

/* ---- arrays -------------------------------------------------------------------------------- */

static qv_status build_array(ctx *c, const qv_type *t, int64_t dict_id, json_t *col,
                             qv_array **out);

static qv_status finish(ctx *c, qv_mbuffer *mb, qv_buffer *out) {
  return qv_mbuffer_finish(mb, out, c->err);
}

/* VALIDITY -> bitmap (empty buffer when every value is valid). */
static qv_status build_validity(ctx *c, json_t *col, int64_t count, const char *where,
                                qv_buffer *out) {
  json_t *jv = member(col, "VALIDITY");
  *out = (qv_buffer){0};
  if (!jv) return QV_OK;
  if (!json_is_array(jv) || (int64_t)json_array_size(jv) != count)
    return FAIL(c, QV_E_CORRUPT, "%s: %s: VALIDITY has %zu entries, count is %" PRId64, c->path,
                where, json_is_array(jv) ? json_array_size(jv) : 0, count);
  bool all = true;
  for (size_t i = 0; i < (size_t)count; i++)
    if (!json_is_true(json_array_get(jv, i)) && json_integer_value(json_array_get(jv, i)) != 1)
      all = false;
  if (all) return QV_OK;
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, c->a);
  qv_status s = qv_mbuffer_append_zeros(&mb, (size_t)(count + 7) / 8, c->err);
  if (s < 0) return s;
  for (size_t i = 0; i < (size_t)count; i++) {
    json_t *v = json_array_get(jv, i);
    if (json_is_true(v) || json_integer_value(v) == 1) mb.data[i / 8] |= (uint8_t)(1u << (i % 8));
  }
  return finish(c, &mb, out);
}

/* A bitmap from DATA booleans. */
static qv_status build_bool_data(ctx *c, json_t *data, int64_t count, qv_buffer *out) {
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, c->a);
  QV_TRY(qv_mbuffer_append_zeros(&mb, (size_t)(count + 7) / 8, c->err));
  for (size_t i = 0; i < (size_t)count; i++) {
    json_t *v = json_array_get(data, i);
    if (json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0))
      mb.data[i / 8] |= (uint8_t)(1u << (i % 8));
  }
  return finish(c, &mb, out);
}

/* Fixed-width DATA of type t, `width` bytes per value. */
static qv_status build_fixed_data(ctx *c, const qv_type *t, json_t *data, int64_t count,
                                  int width, const char *where, qv_buffer *out) {
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, c->a);
  qv_status s = qv_mbuffer_append_zeros(&mb, (size_t)count * (size_t)width, c->err);
  if (s < 0) return s;
  qv_type_id id = t->id == QV_TYPE_DICTIONARY ? t->index_type->id : t->id;
  for (size_t i = 0; i < (size_t)count && s == QV_OK; i++) {
    json_t *v = json_array_get(data, i);
    uint8_t *p = mb.data + i * (size_t)width;
    int64_t x = 0;
    uint64_t u = 0;
    double d = 0;
    switch (id) {
      case QV_TYPE_UINT8: case QV_TYPE_UINT16: case QV_TYPE_UINT32: case QV_TYPE_UINT64:
        s = get_u64(c, v, where, &u);
        if (s == QV_OK) store_le(p, u, width);
        break;
      case QV_TYPE_INT8: case QV_TYPE_INT16: case QV_TYPE_INT32: case QV_TYPE_INT64:
      case QV_TYPE_DATE32: case QV_TYPE_DATE64: case QV_TYPE_TIME32: case QV_TYPE_TIME64:
      case QV_TYPE_TIMESTAMP: case QV_TYPE_DURATION: case QV_TYPE_INTERVAL_MONTHS:
        s = get_i64(c, v, where, &x);
        if (s == QV_OK) store_le(p, (uint64_t)x, width);
        break;
      case QV_TYPE_HALF_FLOAT:
        s = get_f64(c, v, where, &d);
        if (s == QV_OK) store_le(p, to_half(d), 2);
        break;
      case QV_TYPE_FLOAT: {
        s = get_f64(c, v, where, &d);
        float f = (float)d;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        store_le(p, bits, 4);
        break;
      }
      case QV_TYPE_DOUBLE: {
        s = get_f64(c, v, where, &d);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        store_le(p, bits, 8);
        break;
      }
      case QV_TYPE_DECIMAL32: case QV_TYPE_DECIMAL64: case QV_TYPE_DECIMAL128:
      case QV_TYPE_DECIMAL256:
        s = parse_decimal(c, v, width, p, where);
        break;
      case QV_TYPE_INTERVAL_DAY_TIME: {
        int64_t days = 0, ms = 0;
        s = get_i64(c, member(v, "days"), where, &days);
        if (s == QV_OK) s = get_i64(c, member(v, "milliseconds"), where, &ms);
        store_le(p, (uint64_t)days, 4);
        store_le(p + 4, (uint64_t)ms, 4);
        break;
      }
      case QV_TYPE_INTERVAL_MONTH_DAY_NANO: {
        int64_t m = 0, days = 0, ns = 0;
        s = get_i64(c, member(v, "months"), where, &m);
        if (s == QV_OK) s = get_i64(c, member(v, "days"), where, &days);
        if (s == QV_OK) s = get_i64(c, member(v, "nanoseconds"), where, &ns);
        store_le(p, (uint64_t)m, 4);
        store_le(p + 4, (uint64_t)days, 4);
        store_le(p + 8, (uint64_t)ns, 8);
        break;
      }
      case QV_TYPE_FIXED_SIZE_BINARY: {
        qv_mbuffer tmp;
        qv_mbuffer_init(&tmp, c->a);
        s = append_hex(c, &tmp, v, where);
        if (s == QV_OK && tmp.len != (size_t)width)
          s = FAIL(c, QV_E_CORRUPT, "%s: %s: value %zu has %zu bytes, byteWidth is %d", c->path,
                   where, i, tmp.len, width);
        if (s == QV_OK && width > 0) memcpy(p, tmp.data, (size_t)width);
        qv_mbuffer_reset(&tmp);
        break;
      }
      default:
        s = FAIL(c, QV_E_UNSUPPORTED, "%s: %s: no fixed-width reader for %s", c->path, where,
                 qv_type_id_name(id));
    }
  }
  if (s < 0) {
    qv_mbuffer_reset(&mb);
    return s;
  }
  return finish(c, &mb, out);
}

/* OFFSET (or SIZE) column of n int32 / int64 values. */
static qv_status build_ints(ctx *c, json_t *arr, size_t n, int width, const char *where,
                            qv_buffer *out) {
  if (!json_is_array(arr) || json_array_size(arr) != n)
    return FAIL(c, QV_E_CORRUPT, "%s: %s: expected %zu offsets/sizes, have %zu", c->path, where,
                n, json_is_array(arr) ? json_array_size(arr) : 0);
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, c->a);
  QV_TRY(qv_mbuffer_append_zeros(&mb, n * (size_t)width, c->err));
  for (size_t i = 0; i < n; i++) {
    int64_t x;
    qv_status s = get_i64(c, json_array_get(arr, i), where, &x);
    if (s < 0) {
      qv_mbuffer_reset(&mb);
      return s;
    }
    store_le(mb.data + i * (size_t)width, (uint64_t)x, width);
  }
  return finish(c, &mb, out);
}

/* Concatenated DATA of a binary/string column (hex for binary, text for strings). */
static qv_status build_var_data(ctx *c, json_t *data, int64_t count, bool is_string,
                                const char *where, qv_buffer *out) {
  qv_mbuffer mb;
  qv_mbuffer_init(&mb, c->a);
  for (size_t i = 0; i < (size_t)count; i++) {
    json_t *v = json_array_get(data, i);
    qv_status s;
    if (is_string) {
      if (!json_is_string(v)) s = FAIL(c, QV_E_CORRUPT, "%s: %s: value %zu is not a string", c->path, where, i);
      else s = qv_mbuffer_append(&mb, json_string_value(v), json_string_length(v), c->err);
    } else {
      s = append_hex(c, &mb, v, where);
    }
    if (s < 0) {
      qv_mbuffer_reset(&mb);
      return s;
    }
  }
  return finish(c, &mb, out);
}

/* VIEWS -> 16-byte view structs. */
static qv_status build_views(ctx *c, json_t *views, int64_t count, bool is_string,
                             const char *where, qv_buffer *out) {
  if (!json_is_array(views) || (int64_t)json_array_size(views) != count)
    return FAIL(c, QV_E_CORRUPT, "%s: %s: VIEWS must have count entries", c->path, where);
  qv_mbuffer mb, tmp;
  qv_mbuffer_init(&mb, c->a);
  qv_mbuffer_init(&tmp, c->a);
  qv_status s = qv_mbuffer_append_zeros(&mb, (size_t)count * 16, c->err);
  for (size_t i = 0; i < (size_t)count && s == QV_OK; i++) {
    json_t *v = json_array_get(views, i);
    uint8_t *p = mb.data + i * 16;
    int64_t size = 0;
    s = get_i64(c, member(v, "SIZE"), where, &size);
    if (s < 0) break;
    store_le(p, (uint64_t)size, 4);
    tmp.len = 0;
    json_t *inl = member(v, "INLINED");
    if (inl) {
      if (is_string && json_is_string(inl)) s = qv_mbuffer_append(&tmp, json_string_value(inl), json_string_length(inl), c->err);
      else s = append_hex(c, &tmp, inl, where);
      if (s == QV_OK && (tmp.len != (size_t)size || size > 12))
        s = FAIL(c, QV_E_CORRUPT, "%s: %s: view %zu: inlined %zu bytes, SIZE %" PRId64, c->path,
                 where, i, tmp.len, size);
      if (s == QV_OK && tmp.len) memcpy(p + 4, tmp.data, tmp.len);
    } else {
      int64_t bi = 0, off = 0;
      s = append_hex(c, &tmp, member(v, "PREFIX_HEX"), where);
      if (s == QV_OK && tmp.len != 4) s = FAIL(c, QV_E_CORRUPT, "%s: %s: view %zu: prefix is not 4 bytes", c->path, where, i);
      if (s == QV_OK) s = get_i64(c, member(v, "BUFFER_INDEX"), where, &bi);
      if (s == QV_OK) s = get_i64(c, member(v, "OFFSET"), where, &off);
      if (s == QV_OK) {
        memcpy(p + 4, tmp.data, 4);
        store_le(p + 8, (uint64_t)bi, 4);
        store_le(p + 12, (uint64_t)off, 4);
      }
    }
  }
  qv_mbuffer_reset(&tmp);
  if (s < 0) {
    qv_mbuffer_reset(&mb);
    return s;
  }
  return finish(c, &mb, out);
}

static qv_status dictionary_values(ctx *c, int64_t id, qv_array **out) {
  for (size_t i = 0; i < c->n_dicts; i++) {
    dict_entry *d = &c->dicts[i];
    if (d->id != id) continue;
    if (!d->values) {
      if (!d->column)
        return FAIL(c, QV_E_CORRUPT, "%s: dictionary %" PRId64 " has no entry in \"dictionaries\"",
                    c->path, id);
      QV_TRY(build_array(c, d->type, -1, d->column, &d->values));
    }
    *out = qv_array_ref(d->values);
    return QV_OK;
  }
  return FAIL(c, QV_E_CORRUPT, "%s: dictionary id %" PRId64 " is not declared", c->path, id);
}

static qv_status build_array(ctx *c, const qv_type *t, int64_t dict_id, json_t *col,
                             qv_array **out) {
  const char *where = json_string_value(member(col, "name"));
  if (!where) where = "(unnamed column)";
  int64_t count;
  QV_TRY(get_i64(c, member(col, "count"), where, &count));
  if (count < 0 || count > (INT64_C(1) << 40))
    return FAIL(c, QV_E_CORRUPT, "%s: %s: bad count %" PRId64, c->path, where, count);
  qv_buffer bufs[3] = {{0}, {0}, {0}};
  qv_buffer *vbufs = NULL;
  int32_t nb = 0, nvar = 0;
  qv_array *kids[QV_UNION_MAX_CHILDREN] = {0};
  int32_t nk = 0;
  qv_array *dict = NULL;
  qv_status s = QV_OK;
  json_t *data = member(col, "DATA");
  json_t *jkids = member(col, "children");
  const qv_type_id id = t->id;

  if (id == QV_TYPE_DICTIONARY) {
    if (!json_is_array(data) || (int64_t)json_array_size(data) != count) {
      s = FAIL(c, QV_E_CORRUPT, "%s: %s: DATA must have count entries", c->path, where);
      goto fail;
    }
    QV_TRY_GOTO(s, build_validity(c, col, count, where, &bufs[0]), fail);
    QV_TRY_GOTO(s, build_fixed_data(c, t, data, count, qv_type_bit_width(t->index_type) / 8, where, &bufs[1]), fail);
    nb = 2;
    QV_TRY_GOTO(s, dictionary_values(c, dict_id, &dict), fail);
    return qv_array_new(t, count, 0, -1, nb, bufs, 0, NULL, dict, c->a, out, c->err);
  }
  /* children first (for nested types) */
  if (t->n_children > 0) {
    if (!json_is_array(jkids) || json_array_size(jkids) != (size_t)t->n_children) {
      s = FAIL(c, QV_E_CORRUPT, "%s: %s: expected %d children", c->path, where, (int)t->n_children);
      goto fail;
    }
    for (int32_t i = 0; i < t->n_children; i++) {
      const qv_field *cf = t->children[i];
      QV_TRY_GOTO(s, build_array(c, cf->type, cf->dictionary_id, json_array_get(jkids, (size_t)i), &kids[i]), fail);
      nk++;
    }
  }
  switch (id) {
    case QV_TYPE_NA:
      break;
    case QV_TYPE_BOOL:
      QV_TRY_GOTO(s, build_validity(c, col, count, where, &bufs[0]), fail);
      QV_TRY_GOTO(s, build_bool_data(c, data, count, &bufs[1]), fail);
      nb = 2;
      break;
    case QV_TYPE_BINARY: case QV_TYPE_STRING: case QV_TYPE_LARGE_BINARY:
    case QV_TYPE_LARGE_STRING: {
      int w = (id == QV_TYPE_LARGE_BINARY || id == QV_TYPE_LARGE_STRING) ? 8 : 4;
      if (!json_is_array(data) || (int64_t)json_array_size(data) != count) {
        s = FAIL(c, QV_E_CORRUPT, "%s: %s: DATA must have count entries", c->path, where);
        goto fail;
      }
      QV_TRY_GOTO(s, build_validity(c, col, count, where, &bufs[0]), fail);
      QV_TRY_GOTO(s, build_ints(c, member(col, "OFFSET"), (size_t)count + 1, w, where, &bufs[1]), fail);
      QV_TRY_GOTO(s, build_var_data(c, data, count, qv_type_id_is_string(id), where, &bufs[2]), fail);
      nb = 3;
      break;
    }
    case QV_TYPE_BINARY_VIEW: case QV_TYPE_STRING_VIEW: {
      json_t *jvar = member(col, "VARIADIC_DATA_BUFFERS");
      size_t n_var = json_is_array(jvar) ? json_array_size(jvar) : 0;
      vbufs = calloc(2 + n_var, sizeof *vbufs);
      if (!vbufs) {
        s = FAIL(c, QV_E_NOMEM, "out of memory");
        goto fail;
      }
      QV_TRY_GOTO(s, build_validity(c, col, count, where, &vbufs[0]), fail);
      QV_TRY_GOTO(s, build_views(c, member(col, "VIEWS"), count, id == QV_TYPE_STRING_VIEW, where, &vbufs[1]), fail);
      nvar = 2;
      for (size_t i = 0; i < n_var; i++) {
        qv_mbuffer mb;
        qv_mbuffer_init(&mb, c->a);
        s = append_hex(c, &mb, json_array_get(jvar, i), where);
        if (s == QV_OK) s = finish(c, &mb, &vbufs[nvar]);
        else qv_mbuffer_reset(&mb);
        if (s < 0) goto fail;
        nvar++;
      }
      s = qv_array_new(t, count, 0, -1, nvar, vbufs, 0, NULL, NULL, c->a, out, c->err);
      free(vbufs);
      return s;
    }
    case QV_TYPE_LIST: case QV_TYPE_MAP: case QV_TYPE_LARGE_LIST:
      QV_TRY_GOTO(s, build_validity(c, col, count, where, &bufs[0]), fail);
      QV_TRY_GOTO(s, build_ints(c, member(col, "OFFSET"), (size_t)count + 1, id == QV_TYPE_LARGE_LIST ? 8 : 4, where, &bufs[1]), fail);
      nb = 2;
      break;
    case QV_TYPE_LIST_VIEW: case QV_TYPE_LARGE_LIST_VIEW: {
      int w = id == QV_TYPE_LARGE_LIST_VIEW ? 8 : 4;
      QV_TRY_GOTO(s, build_validity(c, col, count, where, &bufs[0]), fail);
      QV_TRY_GOTO(s, build_ints(c, member(col, "OFFSET"), (size_t)count, w, where, &bufs[1]), fail);
      QV_TRY_GOTO(s, build_ints(c, member(col, "SIZE"), (size_t)count, w, where, &bufs[2]), fail);
      nb = 3;
      break;
    }
    case QV_TYPE_FIXED_SIZE_LIST: case QV_TYPE_STRUCT:
      QV_TRY_GOTO(s, build_validity(c, col, count, where, &bufs[0]), fail);
      nb = 1;
      break;
    case QV_TYPE_SPARSE_UNION: case QV_TYPE_DENSE_UNION:
      QV_TRY_GOTO(s, build_ints(c, member(col, "TYPE_ID"), (size_t)count, 1, where, &bufs[0]), fail);
      nb = 1;
      if (id == QV_TYPE_DENSE_UNION) {
        QV_TRY_GOTO(s, build_ints(c, member(col, "OFFSET"), (size_t)count, 4, where, &bufs[1]), fail);
        nb = 2;
      }
      break;
    case QV_TYPE_RUN_END_ENCODED:
      break;
    default: { /* fixed width */
      int bits = qv_type_bit_width(t);
      if (bits <= 0 || bits % 8) {
        s = FAIL(c, QV_E_UNSUPPORTED, "%s: %s: cannot load type %s", c->path, where, qv_type_id_name(id));
        goto fail;
      }
      if (!json_is_array(data) || (int64_t)json_array_size(data) != count) {
        s = FAIL(c, QV_E_CORRUPT, "%s: %s: DATA must have count entries", c->path, where);
        goto fail;
      }
      QV_TRY_GOTO(s, build_validity(c, col, count, where, &bufs[0]), fail);
      QV_TRY_GOTO(s, build_fixed_data(c, t, data, count, bits / 8, where, &bufs[1]), fail);
      nb = 2;
    }
  }
  return qv_array_new(t, count, 0, -1, nb, bufs, nk, kids, NULL, c->a, out, c->err);
fail:
  for (int i = 0; i < 3; i++) qv_buffer_unref(&bufs[i]);
  for (int32_t i = 0; vbufs && i < nvar; i++) qv_buffer_unref(&vbufs[i]);
  free(vbufs);
  for (int32_t i = 0; i < nk; i++) qv_array_unref(kids[i]);
  qv_array_unref(dict);
  return s;
}

/* ---- document ------------------------------------------------------------------------------ */

static qv_status load_doc(ctx *c, json_t *doc, qv_table **out) {
  json_t *jschema = member(doc, "schema"), *jfields = NULL, *jbatches = NULL;
  QV_TRY(need_array(c, jschema, "fields", "schema", &jfields));
  QV_TRY(need_array(c, doc, "batches", "document", &jbatches));
  size_t nf = json_array_size(jfields);
  qv_field **fields = calloc(nf ? nf : 1, sizeof *fields);
  qv_schema *schema = NULL;
  qv_table *table = NULL;
  qv_metadata md;
  qv_metadata_init(&md, c->a);
  qv_status s = QV_OK;
  if (!fields) return FAIL(c, QV_E_NOMEM, "out of memory");
  for (size_t i = 0; i < nf; i++) QV_TRY_GOTO(s, parse_field(c, json_array_get(jfields, i), &fields[i]), done);
  QV_TRY_GOTO(s, parse_metadata(c, member(jschema, "metadata"), &md, "schema"), done);
  QV_TRY_GOTO(s, qv_schema_new(fields, (int32_t)nf, &md, c->a, &schema, c->err), done);
  /* attach the dictionaries' JSON columns */
  json_t *jd = member(doc, "dictionaries");
  size_t i;
  json_t *d;
  json_array_foreach(jd, i, d) {
    int64_t id;
    json_t *cols = NULL;
    QV_TRY_GOTO(s, get_i64(c, member(d, "id"), "dictionaries", &id), done);
    QV_TRY_GOTO(s, need_array(c, member(d, "data"), "columns", "dictionary", &cols), done);
    if (json_array_size(cols) != 1) {
      s = FAIL(c, QV_E_CORRUPT, "%s: dictionary %" PRId64 " must have one column", c->path, id);
      goto done;
    }
    for (size_t k = 0; k < c->n_dicts; k++)
      if (c->dicts[k].id == id) c->dicts[k].column = json_array_get(cols, 0);
  }
  QV_TRY_GOTO(s, qv_table_new(schema, c->a, &table, c->err), done);
  json_t *jb;
  json_array_foreach(jbatches, i, jb) {
    json_t *cols = NULL;
    int64_t count;
    QV_TRY_GOTO(s, need_array(c, jb, "columns", "batch", &cols), done);
    QV_TRY_GOTO(s, get_i64(c, member(jb, "count"), "batch", &count), done);
    if (json_array_size(cols) != nf) {
      s = FAIL(c, QV_E_CORRUPT, "%s: batch %zu has %zu columns, schema %zu", c->path, i,
               json_array_size(cols), nf);
      goto done;
    }
    qv_array **arrs = calloc(nf ? nf : 1, sizeof *arrs);
    if (!arrs) {
      s = FAIL(c, QV_E_NOMEM, "out of memory");
      goto done;
    }
    for (size_t k = 0; k < nf && s == QV_OK; k++) {
      s = build_array(c, fields[k]->type, fields[k]->dictionary_id, json_array_get(cols, k), &arrs[k]);
      if (s < 0) qv_error_prefix(c->err, "batch %zu, column '%s': ", i, fields[k]->name);
    }
    qv_batch *b = NULL;
    if (s == QV_OK) {
      s = qv_batch_new(schema, count, arrs, (int32_t)nf, c->a, &b, c->err);
    } else {
      for (size_t k = 0; k < nf; k++) qv_array_unref(arrs[k]);
    }
    free(arrs);
    if (s == QV_OK) {
      s = qv_batch_validate(b, QV_VALIDATE_FULL, c->err);
      if (s < 0) qv_error_prefix(c->err, "%s: batch %zu: ", c->path, i);
    }
    if (s == QV_OK) s = qv_table_append_batch(table, b, c->err);
    qv_batch_unref(b);
    if (s < 0) goto done;
  }
  *out = table;
  table = NULL;
done:
  qv_table_free(table);
  qv_schema_unref(schema);
  for (size_t k = 0; k < nf; k++) qv_field_unref(fields[k]);
  free(fields);
  qv_metadata_reset(&md);
  return s;
}

qv_status qv_test_json_load(const char *path, const qv_allocator *a, qv_table **out,
                            qv_error *err) {
  return qv_test_json_load_opts(path, a, 0, out, err);
}

qv_status qv_test_json_load_opts(const char *path, const qv_allocator *a, int flags,
                                 qv_table **out, qv_error *err) {
  ctx c = {a, err, path, NULL, 0, 0, 0, flags};
  char *text = NULL;
  size_t len = 0;
  *out = NULL;
  QV_TRY(read_gz(&c, &text, &len));
  json_error_t jerr;
  json_t *doc = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
  free(text);
  if (!doc)
    return qv_error_set(err, QV_E_CORRUPT, "%s: JSON error at line %d: %s", path, jerr.line,
                        jerr.text);
  qv_status s = load_doc(&c, doc, out);
  for (size_t i = 0; i < c.n_dicts; i++) qv_array_unref(c.dicts[i].values);
  free(c.dicts);
  json_decref(doc);
  return s;
}

/* ---- metadata-aware schema comparison ------------------------------------------------------- */

/* Is every pair of x in y (same key and value bytes)? */
static const qv_metadata_entry *md_missing(const qv_metadata *x, const qv_metadata *y) {
  for (int32_t i = 0; i < x->n; i++) {
    const qv_metadata_entry *e = &x->entries[i];
    bool found = false;
    for (int32_t j = 0; j < y->n && !found; j++) {
      const qv_metadata_entry *f = &y->entries[j];
      found = e->key_len == f->key_len && e->value_len == f->value_len &&
              memcmp(e->key, f->key, e->key_len) == 0 &&
              memcmp(e->value, f->value, e->value_len) == 0;
    }
    if (!found) return e;
  }
  return NULL;
}

static bool md_equal(const qv_metadata *x, const qv_metadata *y, const char *where,
                     qv_error *diff) {
  const qv_metadata_entry *m = NULL;
  if (x->n == y->n && !(m = md_missing(x, y)) && !(m = md_missing(y, x))) return true;
  if (m)
    qv_error_set(diff, QV_E_INVALID, "%s: custom metadata differs: '%s' = '%s' is not in both",
                 where, m->key, m->value);
  else
    qv_error_set(diff, QV_E_INVALID, "%s: custom metadata differs (%d vs %d entries)", where,
                 (int)x->n, (int)y->n);
  return false;
}

static bool fields_md_equal(const qv_field *x, const qv_field *y, qv_error *diff) {
  if (!md_equal(&x->metadata, &y->metadata, x->name, diff)) return false;
  const qv_type *tx = x->type, *ty = y->type;
  if (tx->id == QV_TYPE_DICTIONARY) {
    tx = tx->value_type;
    ty = ty->value_type;
  }
  for (int32_t i = 0; i < tx->n_children && i < ty->n_children; i++)
    if (!fields_md_equal(tx->children[i], ty->children[i], diff)) {
      qv_error_prefix(diff, "%s.", x->name);
      return false;
    }
  return true;
}

/* "name: type{child: type, ...}" with every nested name shown (the one-line renderings of
 * the data model hide the names of map children). */
static void describe(const qv_field *f, char *buf, size_t cap, size_t *len) {
  char t[256];
  qv_type_to_string(f->type, t, sizeof t);
  if (*len < cap) *len += (size_t)snprintf(buf + *len, cap - *len, "%s%s: %s", f->name, f->nullable ? "" : "!", t);
  const qv_type *ty = f->type->id == QV_TYPE_DICTIONARY ? f->type->value_type : f->type;
  if (ty->n_children == 0) return;
  if (*len < cap) *len += (size_t)snprintf(buf + *len, cap - *len, "{");
  for (int32_t i = 0; i < ty->n_children; i++) {
    if (i && *len < cap) *len += (size_t)snprintf(buf + *len, cap - *len, ", ");
    describe(ty->children[i], buf, cap, len);
  }
  if (*len < cap) *len += (size_t)snprintf(buf + *len, cap - *len, "}");
}

bool qv_test_schema_equal_md(const qv_schema *a, const qv_schema *b, qv_error *diff) {
  if (!qv_schema_equal(a, b)) {
    char sa[400] = "", sb[400] = "";
    size_t la = 0, lb = 0;
    if (a->n_fields != b->n_fields) {
      qv_error_set(diff, QV_E_INVALID, "schemas differ: %d vs %d fields", (int)a->n_fields,
                   (int)b->n_fields);
      return false;
    }
    for (int32_t i = 0; i < a->n_fields; i++)
      if (!qv_field_equal(a->fields[i], b->fields[i])) {
        describe(a->fields[i], sa, sizeof sa, &la);
        describe(b->fields[i], sb, sizeof sb, &lb);
        qv_error_set(diff, QV_E_INVALID, "field %d differs: {%s} vs {%s}", (int)i, sa, sb);
        break;
      }
    return false;
  }
  if (!md_equal(&a->metadata, &b->metadata, "schema", diff)) return false;
  for (int32_t i = 0; i < a->n_fields; i++)
    if (!fields_md_equal(a->fields[i], b->fields[i], diff)) return false;
  return true;
}
