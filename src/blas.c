/* blas.c — pick OpenBLAS's kernel core before it initialises (see blas.h). */
#include "blas.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "memlimit.h"

extern char *openblas_get_corename(void);
extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int);
extern char *openblas_get_config(void);

static int reserved;     /* buffers this process has made sure of (blas_reserve) */
static int load_threads; /* OpenBLAS's thread count when it loaded (blas_setup) */

void blas_setup(int argc, char **argv)
{
    (void)argc;
    load_threads = openblas_get_num_threads();
    const char *a = getenv("T2REC_BLAS_AUTO");
    if ((a && strcmp(a, "0") == 0) || getenv("OPENBLAS_CORETYPE"))
        return;
    const char *core = openblas_get_corename();
    if (!core)
        return;
    const char *want = NULL;
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    /* OpenBLAS 0.3.21 maps CPUs it does not know to Prescott (Intel) or Haswell/Zen (AMD with
     * AVX-512): both leave AVX-512 unused. SkylakeX kernels run about 2x faster there. */
    int generic = !strcasecmp(core, "prescott") || !strcasecmp(core, "core2") ||
                  !strcasecmp(core, "nehalem") || !strcasecmp(core, "sandybridge");
    if (avx512 && (generic || !strcasecmp(core, "haswell") || !strcasecmp(core, "zen")))
        want = "SkylakeX";
    else if (avx2 && generic)
        want = "Haswell";
    if (!want)
        return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("T2REC_BLAS_AUTO", "0", 1);   /* never loop */
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the slow kernels, say so once */
    fprintf(stderr, "t2rec: note: could not re-exec with OPENBLAS_CORETYPE=%s; using %s kernels\n",
            want, core);
}

const char *blas_core(void)
{
    const char *c = openblas_get_corename();
    return c ? c : "unknown";
}

int blas_threads(void)
{
    return openblas_get_num_threads();
}

void blas_set_threads(int n)
{
    openblas_set_num_threads(n);
}

const char *blas_config(void)
{
    const char *c = openblas_get_config();
    return c ? c : "unknown";
}

/* OpenBLAS's per-thread buffer: BUFFER_SIZE = 32 << 22 bytes on x86_64 builds of 0.3.x
 * (measured: the first level-3 call on a new thread maps 134217728 bytes; tests/test_faults.c
 * checks it). */
#define BLAS_BUFFER_BYTES (128.0 * 1024 * 1024)

double blas_buffer_bytes(void)
{
    return BLAS_BUFFER_BYTES;
}


int blas_server_threads(void)
{
    int n = blas_threads();
    return (load_threads > n ? load_threads : n) - 1;
}

int blas_reserve(int callers, int threaded, char *err, size_t errlen)
{
    int server = threaded ? blas_server_threads() : 0, n = callers + server;
    if (n <= reserved)
        return 0;
    /* OpenBLAS's own pool functions (exported, not in its headers) */
    void *(*alloc)(int) = (void *(*)(int))dlsym(RTLD_DEFAULT, "blas_memory_alloc");
    void (*release)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "blas_memory_free");
    void *held[64];
    int k, rc = 0;
    if (n > 64)
        n = 64;
    /* One at a time: a take either finds a free buffer in the pool (nothing mapped) or maps
     * one. OpenBLAS's own threads, started asynchronously, may each map theirs at the same
     * moment (once per thread, until the first reservation has covered them), so room for
     * 1 + server buffers before each take means no mapping can fail, and so none can spin. */
    int racing = reserved ? 0 : server;
    for (k = 0; k < n; k++) {
        char what[200];
        snprintf(what, sizeof what,
                 "OpenBLAS (%d work buffers of %.0f MiB: %d for the threads calling BLAS, %d for "
                 "its own threads; %d in place)", n, BLAS_BUFFER_BYTES / (1024.0 * 1024),
                 callers, server, k);
        if (memlimit_check((1 + racing) * BLAS_BUFFER_BYTES, 0, what, err, errlen) != 0) {
            rc = -1;
            break;
        }
        held[k] = alloc && release ? alloc(0) : NULL;
    }
    for (int j = 0; j < k; j++)
        if (held[j])
            release(held[j]);
    if (rc == 0)
        reserved = n;
    return rc;
}
