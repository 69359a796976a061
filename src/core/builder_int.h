/* builder_int.h — the builder's internal state, shared by builder.c (flat and nested appends,
 * finish), dict_builder.c (hashing values into a dictionary) and builder_append.c (appending
 * arrays, concatenation). */
#ifndef QV_BUILDER_INT_H
#define QV_BUILDER_INT_H

#include "array_int.h"

typedef enum builder_kind {
  BK_NA,
  BK_BOOL,
  BK_FIXED,  /* fixed-width values of `width` bytes */
  BK_BINARY, /* offsets (32/64) + data */
  BK_VIEW,
  BK_LIST,   /* LIST / LARGE_LIST (offsets) */
  BK_LISTVIEW,
  BK_FSL,
  BK_MAP,
  BK_STRUCT,
  BK_UNION,
  BK_DICT,
  BK_REE
} builder_kind;

typedef struct qv__dict qv__dict;

struct qv_builder {
  qv_type *type;
  qv_allocator alloc;
  builder_kind kind;
  int32_t width;    /* BK_FIXED: bytes per value; BK_DICT: index bytes; BK_REE: run end bytes */
  bool large;       /* 64-bit offsets */
  bool broken;      /* an unrecoverable error happened: only reset/free allowed */
  int64_t length;
  int64_t null_count;
  bool has_validity; /* validity materialised (a null was appended) */
  qv_mbitmap validity;
  qv_mbitmap bits;   /* BK_BOOL values */
  qv_mbuffer data;   /* fixed values / views / union type ids / dict indices / run ends */
  qv_mbuffer offsets; /* binary & list offsets, list-view offsets, dense union offsets */
  qv_mbuffer sizes;  /* list-view sizes */
  qv_mbuffer values; /* binary data; views: the current variadic block */
  qv_buffer *var_bufs; /* views: finished variadic blocks */
  int32_t n_var, cap_var;
  int64_t mark;      /* lists: child length at the previous element end */
  int64_t *dense_counts; /* dense unions: elements pointing at each child */
  int32_t n_children;
  qv_builder **children;
  qv__dict *dict;    /* BK_DICT */
};

/* Validity for n more elements (before length is updated). */
qv_status qv__builder_validity(qv_builder *b, bool valid, int64_t n, qv_error *err);
/* Appends one fixed-width value of b->width bytes (BK_FIXED). */
qv_status qv__builder_fixed(qv_builder *b, const void *v, qv_error *err);
/* Appends bytes to a binary/view builder. */
qv_status qv__builder_bytes(qv_builder *b, const void *data, size_t len, qv_error *err);
/* Encodes typed input as the little-endian bytes of type t (width in *w). */
qv_status qv__encode_i64(const qv_type *t, int64_t v, uint8_t out[32], int32_t *w,
                         const char *call, qv_error *err);
qv_status qv__encode_u64(const qv_type *t, uint64_t v, uint8_t out[32], int32_t *w,
                         const char *call, qv_error *err);
qv_status qv__encode_f64(const qv_type *t, double v, uint8_t out[32], int32_t *w,
                         const char *call, qv_error *err);

/* Dictionary builders (dict_builder.c). */
qv_status qv__dict_new(qv_builder *b, qv_error *err);
void qv__dict_free(qv_builder *b);
void qv__dict_reset(qv_builder *b);
/* Looks up / inserts key bytes and appends the index. */
qv_status qv__dict_append(qv_builder *b, const void *key, size_t len, qv_error *err);
qv_status qv__dict_finish(qv_builder *b, qv_array **dictionary, qv_error *err);
int64_t qv__dict_size(const qv_builder *b);

#endif
