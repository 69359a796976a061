/* quiver/quiver.h — everything in one include. quiver: Apache Arrow columnar data in C11. */
#ifndef QUIVER_QUIVER_H
#define QUIVER_QUIVER_H

#include "quiver/status.h"
#include "quiver/alloc.h"
#include "quiver/buffer.h"
#include "quiver/bitmap.h"
#include "quiver/type.h"
#include "quiver/array.h"
#include "quiver/builder.h"
#include "quiver/table.h"
#include "quiver/cdata.h"
#include "quiver/ipc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QV_VERSION_MAJOR 0
#define QV_VERSION_MINOR 1
#define QV_VERSION_PATCH 0

/* The library's version as "MAJOR.MINOR.PATCH". */
QV_API const char *qv_version(void);

#ifdef __cplusplus
}
#endif
#endif
