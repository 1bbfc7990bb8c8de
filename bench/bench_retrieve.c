/* bench_retrieve.c — exact top-K retrieval speed (retrieve.h) against the sgemm that does its
 * arithmetic: for a users x items x dim problem, the time of retrieve_topk (blocked sgemm +
 * per-user heap selection + no exclusion) and of the bare sgemm calls alone on the same blocks
 * (no selection), each the best of 3. Prints one JSON object per dim: users x items x dim per
 * second and GFLOP/s (2 flops per multiply-add) of both, and their ratio. With THREADS = 1 the
 * times are process CPU time (stable on a shared machine), else wall time.
 *
 * Usage: bench_retrieve USERS ITEMS K THREADS DIM [DIM...] */
#include "retrieve.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void openblas_set_num_threads(int);

static int use_cpu_clock;

/* one thread: the process CPU clock (a loaded machine does not distort it); else wall time */
static double now(void)
{
    struct timespec ts;
    clock_gettime(use_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_retrieve USERS ITEMS K THREADS DIM [DIM...]\n");
        return 2;
    }
    int nu = atoi(argv[1]), ni = atoi(argv[2]), K = atoi(argv[3]), th = atoi(argv[4]);
    openblas_set_num_threads(th);
    use_cpu_clock = th == 1;
    for (int a = 5; a < argc; a++) {
        int dim = atoi(argv[a]);
        float *U = malloc((size_t)nu * dim * sizeof *U), *V = malloc((size_t)ni * dim * sizeof *V);
        int32_t *top = malloc((size_t)nu * K * sizeof *top);
        long b = (8L << 20) / (4L * ni);
        int block = b < 16 ? 16 : b > 1024 ? 1024 : (int)b;
        block = block > nu ? nu : block;
        float *S = malloc((size_t)block * ni * sizeof *S);
        if (!U || !V || !top || !S)
            return 1;
        srand(1);
        for (long k = 0; k < (long)nu * dim; k++)
            U[k] = (float)rand() / RAND_MAX - 0.5f;
        for (long k = 0; k < (long)ni * dim; k++)
            V[k] = (float)rand() / RAND_MAX - 0.5f;
        double best_r = 1e30, best_g = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now();
            if (retrieve_topk(U, nu, V, ni, dim, K, NULL, 0, top, NULL) != 0)
                return 1;
            double t1 = now();
            for (int at = 0; at < nu; at += block) {
                int bb = nu - at < block ? nu - at : block;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bb, ni, dim, 1.0f,
                            U + (size_t)at * dim, dim, V, dim, 0.0f, S, ni);
            }
            double t2 = now();
            best_r = t1 - t0 < best_r ? t1 - t0 : best_r;
            best_g = t2 - t1 < best_g ? t2 - t1 : best_g;
        }
        double uip = (double)nu * ni * dim;
        printf("{\"users\": %d, \"items\": %d, \"dim\": %d, \"K\": %d, \"threads\": %d, "
               "\"block\": %d, \"clock\": \"%s\", \"retrieve_seconds\": %.4f, \"sgemm_seconds\": %.4f, "
               "\"retrieve_uip_per_s\": %.4g, \"retrieve_gflops\": %.2f, \"sgemm_gflops\": %.2f, "
               "\"ratio\": %.3f}\n", nu, ni, dim, K, th, block, use_cpu_clock ? "cpu" : "wall", best_r, best_g, uip / best_r,
               2e-9 * uip / best_r, 2e-9 * uip / best_g, best_g / best_r);
        free(U);
        free(V);
        free(top);
        free(S);
    }
    return 0;
}
