/* blas.h — OpenBLAS start-up: choose the fast kernel core on CPUs Debian's OpenBLAS does not
 * know, and report the core and thread count for provenance. */
#ifndef BLAS_H
#define BLAS_H

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

#endif
