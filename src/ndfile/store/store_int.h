/* store_int.h — internals shared by the ndfile store implementations. Not installed. */
#ifndef QV_ND_STORE_INT_H
#define QV_ND_STORE_INT_H

#include <pthread.h>

#include "core/core_int.h"
#include "quiver/ndfile.h"

/* Every writer starts with this (stores cast their own writer struct to it). */
typedef struct qv_nd_store_writer_base {
  qv_nd_store *store;
} qv_nd_store_writer_base;

/* Rejects absolute names, empty parts, "." and "..". */
qv_status qv__nd_path_check(const char *path, qv_error *err);
/* Memory store: reverts every object to its last synced state (crash simulation). */
void qv__nd_memstore_drop_unsynced(qv_nd_store *memstore);

#endif
