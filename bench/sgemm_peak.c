/* sgemm_peak.c — the sgemm speed OpenBLAS reaches on the exact GEMM shapes of one two-tower
 * training step (tower forward and backward), each shape timed in isolation, hot in cache.
 * This is the "peak for the same shapes" that bench_twotower's tower GEMM rate is compared to.
 *
 * Usage: sgemm_peak ROWS IN_DIM DEPTH WIDTH EMBED_DIM THREADS [SECONDS_PER_SHAPE]
 * Prints one JSON object: core, threads, per-shape GFLOP/s (best of repeated timings), the
 * flop-weighted peak of the whole set (total flops / sum of best per-shape times), and the
 * core's FP32 FMA throughput (fma_peak_gflops: independent FMAs on registers only, AVX-512 where
 * the CPU has it, else AVX2, one thread): the ceiling no GEMM can pass. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

typedef struct {
    const char *what;
    CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb;
} shape;

/* Best time of one call, repeated for about `secs` seconds in 5 rounds. */
static double time_shape(const shape *s, float *A, float *B, float *C, double secs)
{
    double best = 1e30;
    cblas_sgemm(CblasRowMajor, s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, s->lda, B, s->ldb, 1.0f, C,
                s->N);
    for (int round = 0; round < 5; round++) {
        int reps = 0;
        double t0 = now(), t;
        do {
            cblas_sgemm(CblasRowMajor, s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, s->lda, B, s->ldb,
                        1.0f, C, s->N);
            reps++;
            t = now() - t0;
        } while (t < secs / 5);
        if (t / reps < best)
            best = t / reps;
    }
    return best;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* 12 independent FMA chains (enough to cover latency x throughput), `n` rounds; flops done. */
__attribute__((target("avx512f"))) static double fma_avx512(long n, float *sink)
{
    __m512 a[12], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(-1e-7f);
    for (int k = 0; k < 12; k++)
        a[k] = _mm512_set1_ps((float)k);
    for (long i = 0; i < n; i++) {
#pragma GCC unroll 12
        for (int k = 0; k < 12; k++)   /* unrolled: the chains live in registers */
            a[k] = _mm512_fmadd_ps(a[k], x, y);
    }
    __m512 s = a[0];
    for (int k = 1; k < 12; k++)
        s = _mm512_add_ps(s, a[k]);
    *sink = _mm512_reduce_add_ps(s);
    return 2.0 * 16 * 12 * (double)n;
}

__attribute__((target("avx2,fma"))) static double fma_avx2(long n, float *sink)
{
    __m256 a[12], x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(-1e-7f);
    for (int k = 0; k < 12; k++)
        a[k] = _mm256_set1_ps((float)k);
    for (long i = 0; i < n; i++) {
#pragma GCC unroll 12
        for (int k = 0; k < 12; k++)
            a[k] = _mm256_fmadd_ps(a[k], x, y);
    }
    __m256 s = a[0];
    for (int k = 1; k < 12; k++)
        s = _mm256_add_ps(s, a[k]);
    float o[8];
    _mm256_storeu_ps(o, s);
    *sink = o[0];
    return 2.0 * 8 * 12 * (double)n;
}

/* Best of 5 timings of ~0.1 s each; 0 if the CPU has neither AVX-512F nor AVX2+FMA. */
static double fma_peak(void)
{
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f");
    if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return 0.0;
    double best = 0;
    float sink = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        double f = avx512 ? fma_avx512(3000000, &sink) : fma_avx2(3000000, &sink);
        double g = f / (now() - t0) * 1e-9;
        if (g > best)
            best = g;
    }
    if (sink == 12345.0f)   /* keeps the chains alive */
        fprintf(stderr, " ");
    return best;
}
#else
static double fma_peak(void) { return 0.0; }
#endif

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: sgemm_peak ROWS IN_DIM DEPTH WIDTH EMBED_DIM THREADS [SECONDS]\n");
        return 2;
    }
    int R = atoi(argv[1]), D = atoi(argv[2]), depth = atoi(argv[3]), W = atoi(argv[4]);
    int P = atoi(argv[5]), threads = atoi(argv[6]);
    double secs = argc > 7 ? atof(argv[7]) : 0.5;
    openblas_set_num_threads(threads);
    int dim[40], nl = depth + 1;
    dim[0] = D;
    for (int l = 1; l <= depth; l++)
        dim[l] = W;
    dim[nl] = P;
    int maxd = 0;
    for (int l = 0; l <= nl; l++)
        if (dim[l] > maxd)
            maxd = dim[l];
    size_t big = (size_t)(R > maxd ? R : maxd) * maxd;
    float *A = malloc(big * sizeof *A), *B = malloc(big * sizeof *B), *C = malloc(big * sizeof *C);
    for (size_t k = 0; k < big; k++) {
        A[k] = (float)((k * 7 % 13) - 6) * 0.01f;
        B[k] = (float)((k * 5 % 11) - 5) * 0.01f;
        C[k] = 0.0f;
    }
    shape sh[3 * 40];
    int ns = 0;
    for (int l = 0; l < nl; l++)   /* forward: out (R, OC) = inp (R, C) @ W^T */
        sh[ns++] = (shape){"fwd", CblasNoTrans, CblasTrans, R, dim[l + 1], dim[l], dim[l], dim[l]};
    for (int l = nl - 1; l >= 0; l--) {
        /* dW (OC, C) += dout^T (OC, R) @ inp (R, C) */
        sh[ns++] = (shape){"bwd_w", CblasTrans, CblasNoTrans, dim[l + 1], dim[l], R, dim[l + 1], dim[l]};
        if (l > 0)   /* dinp (R, C) += dout (R, OC) @ W (OC, C) */
            sh[ns++] = (shape){"bwd_x", CblasNoTrans, CblasNoTrans, R, dim[l], dim[l + 1], dim[l + 1], dim[l]};
    }
    double tot_f = 0, tot_t = 0;
    printf("{\"core\": \"%s\", \"threads\": %d, \"rows\": %d, \"shapes\": [", openblas_get_corename(),
           threads, R);
    for (int k = 0; k < ns; k++) {
        double t = time_shape(&sh[k], A, B, C, secs);
        double f = 2.0 * sh[k].M * sh[k].N * sh[k].K;
        tot_f += f;
        tot_t += t;
        printf("%s{\"op\": \"%s\", \"M\": %d, \"N\": %d, \"K\": %d, \"gflops\": %.2f}", k ? ", " : "",
               sh[k].what, sh[k].M, sh[k].N, sh[k].K, f / t * 1e-9);
    }
    printf("], \"tower_step_flops\": %.0f, \"peak_gflops\": %.2f, \"fma_peak_gflops\": %.2f}\n", tot_f,
           tot_f / tot_t * 1e-9, fma_peak());
    free(A);
    free(B);
    free(C);
    return 0;
}
