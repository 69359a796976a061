/* nd_support.h — helpers shared by the ndfile tests: deterministic data, array definitions,
 * and whole-file snapshots for comparing states. */
#ifndef ND_SUPPORT_H
#define ND_SUPPORT_H

#include "qv_test.h"
#include "quiver/ndfile.h"

/* xorshift64 */
uint64_t nd_rand(uint64_t *s);
/* Defines an array with the given parameters (fill NULL = zero). */
qv_status nd_define(qv_nd_file *f, const char *name, qv_nd_dtype dt, uint32_t rank,
                    const uint64_t *shape, const uint64_t *chunk, uint32_t codec,
                    qv_error *err);
/* A text snapshot of everything visible in a file: every array's definition, attributes,
 * stats and full contents hashed. Returns a malloc'd string (caller frees) or NULL on error. */
char *nd_snapshot(qv_nd_file *f, qv_error *err);
/* Product of dims. */
uint64_t nd_prod(uint32_t rank, const uint64_t *shape);
/* Reference box copy over a full row-major array of `shape` (w bytes per element): extracts
 * the box start/cnt into `part` (row-major), or with `apply` writes `part` into the box. */
void nd_box(uint32_t rank, size_t w, uint8_t *full, const uint64_t *shape, const uint64_t *start,
            const uint64_t *cnt, uint8_t *part, bool apply);
/* Removes directory dir and everything in it (a failure is a failed check). */
void nd_rmdir(const char *dir);
/* Two posix stores (no fsync) over directory dir: *map reads layers through mappings, *rd
 * (QV_ND_POSIX_NO_MMAP) with pread. */
void nd_posix_pair(const char *dir, qv_nd_store **map, qv_nd_store **rd);
/* Little-endian u64 into / out of layer bytes. */
void nd_put_u64(uint8_t *p, uint64_t v);
uint64_t nd_get_u64(const uint8_t *p);
/* The whole of object `name` (malloc'd, *size set), or NULL when it cannot be read. */
uint8_t *nd_get_obj(qv_nd_store *st, const char *name, uint64_t *size);
/* Recomputes the footer and trailer checksums of layer bytes (after a deliberate edit), from the
 * footer length in the trailer. */
void nd_reseal(uint8_t *obj, uint64_t size);
/* Where the blocks of a layer object start (spec §3): after the 16-byte header, or at 4096
 * when its header has the ALIGNED flag. */
uint64_t nd_data_start(const uint8_t *obj);
/* Publishes (replacing) object `name` of a store with the given bytes. */
qv_status nd_put_obj(qv_nd_store *st, const char *name, const uint8_t *p, size_t len);

#endif
