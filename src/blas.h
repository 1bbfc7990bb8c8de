/* blas.h — OpenBLAS start-up: choose the fast kernel core on CPUs Debian's OpenBLAS does not
 * know, and report the core and thread count for provenance. */
#ifndef BLAS_H
#define BLAS_H

#include <stddef.h>

/* Call first thing in main(). If OpenBLAS fell back to its generic Prescott kernels on a CPU
 * with AVX-512 (or AVX2), or chose Haswell/Zen kernels on an AVX-512 CPU, and the user did not
 * set OPENBLAS_CORETYPE, re-executes the program
 * with OPENBLAS_CORETYPE=SkylakeX (or Haswell): OpenBLAS reads it only when it loads.
 * T2REC_BLAS_AUTO=0 disables this. Returns only when no re-exec happened. */
void blas_setup(int argc, char **argv);
const char *blas_core(void);      /* openblas_get_corename() */
int blas_threads(void);           /* openblas_get_num_threads() */
void blas_set_threads(int n);
const char *blas_config(void);    /* openblas_get_config() */

/* Memory limits (issue 19). OpenBLAS 0.3.21 gives every thread that calls a level-3 routine,
 * and each of its own threads, a work buffer from a pool; when mapping a new one fails (ulimit
 * -v) it retries forever, so the process spins instead of failing. blas_reserve makes the pool
 * hold callers + (threaded ? OpenBLAS's own threads : 0) buffers before any of a worker's BLAS
 * calls: it takes them one at a time, each only after checking that the address-space limit
 * leaves room for it (and for OpenBLAS's own threads, which may be mapping theirs at the same
 * moment), -1 with a message naming the limit and the need in MiB when not; then gives them
 * back. They stay mapped, so OpenBLAS never maps again. Idempotent per process (a later call
 * needing no more buffers is free). 0 ok. */
int blas_reserve(int callers, int threaded, char *err, size_t errlen);
/* OpenBLAS's own threads (at most): started when a threaded call runs, each holding a buffer */
int blas_server_threads(void);
double blas_buffer_bytes(void);   /* one buffer: 128 MiB (OpenBLAS's BUFFER_SIZE, 32 << 22) */

#endif
