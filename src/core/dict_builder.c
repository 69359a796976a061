/* dict_builder.c — the dictionary builder: an open-addressing hash table (XXH3 hashes, linear
 * probing, grown at 50% load) from value bytes to dictionary index; new values go to a value
 * builder that becomes the dictionary array. Growth is bounded by the index type. */
#include <string.h>
#include <xxhash.h>

#include "builder_int.h"

typedef struct slot {
  uint64_t hash;
  int64_t index1; /* index + 1; 0 = empty */
} slot;

struct qv__dict {
  qv_builder *values; /* builder of the value type */
  qv_mbuffer keys;    /* concatenated key bytes */
  qv_mbuffer key_offs; /* int64 start of each key; n+1 entries */
  slot *slots;
  size_t n_slots; /* power of two, or 0 */
  int64_t size;
  int64_t max_size;
};

static int64_t max_entries(const qv_type *index_type) {
  switch (index_type->id) {
    case QV_TYPE_INT8: return (int64_t)INT8_MAX + 1;
    case QV_TYPE_UINT8: return (int64_t)UINT8_MAX + 1;
    case QV_TYPE_INT16: return (int64_t)INT16_MAX + 1;
    case QV_TYPE_UINT16: return (int64_t)UINT16_MAX + 1;
    case QV_TYPE_INT32: return (int64_t)INT32_MAX + 1;
    default: return (int64_t)1 << 32; /* uint32 and 64-bit indices: a sane bound */
  }
}

qv_status qv__dict_new(qv_builder *b, qv_error *err) {
  const qv_type *vt = b->type->value_type;
  if (!qv_type_id_is_binary_like(vt->id) && qv__fixed_byte_width(vt) == 0) {
    char t[160];
    qv_type_to_string(b->type, t, sizeof t);
    return qv_error_set(err, QV_E_UNSUPPORTED,
                        "dictionary builder: values of type %s cannot be hashed (binary, string "
                        "and fixed-width values only)",
                        t);
  }
  qv__dict *d = qv_mem_calloc(&b->alloc, sizeof *d, _Alignof(qv__dict));
  if (!d) return qv__nomem(err, "dictionary builder", sizeof *d);
  qv_mbuffer_init(&d->keys, &b->alloc);
  qv_mbuffer_init(&d->key_offs, &b->alloc);
  d->max_size = max_entries(b->type->index_type);
  qv_status s = qv_builder_new(vt, &b->alloc, &d->values, err);
  if (s < 0) {
    qv_mem_free(&b->alloc, d, sizeof *d, _Alignof(qv__dict));
    return s;
  }
  b->dict = d;
  return QV_OK;
}

static void dict_clear(qv_builder *b) {
  qv__dict *d = b->dict;
  qv_mbuffer_reset(&d->keys);
  qv_mbuffer_reset(&d->key_offs);
  if (d->slots) qv_mem_free(&b->alloc, d->slots, d->n_slots * sizeof(slot), _Alignof(slot));
  d->slots = NULL;
  d->n_slots = 0;
  d->size = 0;
}

void qv__dict_reset(qv_builder *b) {
  if (!b->dict) return;
  dict_clear(b);
  qv_builder_reset(b->dict->values);
}

void qv__dict_free(qv_builder *b) {
  if (!b->dict) return;
  dict_clear(b);
  qv_builder_free(b->dict->values);
  qv_mem_free(&b->alloc, b->dict, sizeof *b->dict, _Alignof(qv__dict));
  b->dict = NULL;
}

int64_t qv__dict_size(const qv_builder *b) { return b->dict ? b->dict->size : 0; }

static void key_at(const qv__dict *d, int64_t idx, const uint8_t **p, size_t *len) {
  int64_t o[2];
  memcpy(o, d->key_offs.data + (size_t)idx * 8, 16);
  *p = d->keys.data + o[0];
  *len = (size_t)(o[1] - o[0]);
}

static qv_status grow(qv_builder *b, qv_error *err) {
  qv__dict *d = b->dict;
  size_t n = d->n_slots ? d->n_slots * 2 : 64;
  slot *ns = qv_mem_calloc(&b->alloc, n * sizeof *ns, _Alignof(slot));
  if (!ns) return qv__nomem(err, "dictionary hash table", n * sizeof *ns);
  for (size_t i = 0; i < d->n_slots; i++) {
    if (!d->slots[i].index1) continue;
    size_t j = (size_t)d->slots[i].hash & (n - 1);
    while (ns[j].index1) j = (j + 1) & (n - 1);
    ns[j] = d->slots[i];
  }
  if (d->slots) qv_mem_free(&b->alloc, d->slots, d->n_slots * sizeof(slot), _Alignof(slot));
  d->slots = ns;
  d->n_slots = n;
  return QV_OK;
}

static qv_status append_index(qv_builder *b, int64_t idx, qv_error *err) {
  uint8_t buf[8];
  qv__store_u64le(buf, (uint64_t)idx);
  return qv__builder_fixed(b, buf, err); /* b->width is the index width */
}

qv_status qv__dict_append(qv_builder *b, const void *key, size_t len, qv_error *err) {
  qv__dict *d = b->dict;
  if (len && !key) return qv_error_set(err, QV_E_INVALID, "dictionary append: NULL value");
  uint64_t h = XXH3_64bits(key, len);
  if ((size_t)(d->size + 1) * 2 > d->n_slots) QV_TRY(grow(b, err));
  size_t mask = d->n_slots - 1, j = (size_t)h & mask;
  while (d->slots[j].index1) {
    if (d->slots[j].hash == h) {
      const uint8_t *p;
      size_t l;
      key_at(d, d->slots[j].index1 - 1, &p, &l);
      if (l == len && (len == 0 || memcmp(p, key, len) == 0))
        return append_index(b, d->slots[j].index1 - 1, err);
    }
    j = (j + 1) & mask;
  }
  /* a new value */
  if (d->size >= d->max_size)
    return qv_error_set(err, QV_E_LIMIT,
                        "dictionary builder: more than %lld distinct values do not fit index type %s",
                        (long long)d->max_size, qv_type_id_name(b->type->index_type->id));
  /* reserve everything first so that the insert cannot half-fail */
  QV_TRY(qv_mbuffer_reserve(&d->keys, len, err));
  QV_TRY(qv_mbuffer_reserve(&d->key_offs, d->key_offs.len ? 8 : 16, err));
  QV_TRY(qv_mbuffer_reserve(&b->data, (size_t)b->width, err));
  if (b->has_validity) QV_TRY(qv_mbitmap_reserve(&b->validity, 1, err));
  const qv_type *vt = b->type->value_type;
  qv_status s = qv_type_id_is_binary_like(vt->id) && vt->id != QV_TYPE_FIXED_SIZE_BINARY
                    ? qv_builder_append_bytes(d->values, key, len, err)
                    : qv_builder_append_fixed(d->values, key, err);
  if (s < 0) return s;
  if (d->key_offs.len == 0) (void)qv_mbuffer_append_zeros(&d->key_offs, 8, NULL);
  if (len) (void)qv_mbuffer_append(&d->keys, key, len, NULL);
  int64_t end = (int64_t)d->keys.len;
  (void)qv_mbuffer_append(&d->key_offs, &end, 8, NULL);
  d->slots[j].hash = h;
  d->slots[j].index1 = d->size + 1;
  d->size++;
  return append_index(b, d->size - 1, err);
}

qv_status qv__dict_finish(qv_builder *b, qv_array **dictionary, qv_error *err) {
  return qv_builder_finish(b->dict->values, dictionary, err);
}
