/* provenance.h — where a number came from: code version, compiler, BLAS, host, times
 * (SPEC section 8). The sweep driver stores these in every cell record. */
#ifndef PROVENANCE_H
#define PROVENANCE_H

#include <stddef.h>
#include "params.h"

/* Sets (adds or replaces) in p: code_version, code_dirty ("1"/"0"), compiler, blas_core,
 * blas_threads, blas_config, host, pid, t2rec_schema. start_time / end_time are the
 * caller's (prov_now_iso). Returns 0, or -1 on allocation failure. */
int prov_collect(kvset *p);
/* Current UTC time as ISO 8601 with milliseconds, e.g. "2024-05-01T12:34:56.789Z"
 * (these strings sort in time order). buf needs at least 25 bytes. */
void prov_now_iso(char *buf, size_t n);

#endif
