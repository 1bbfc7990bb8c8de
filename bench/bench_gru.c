/* bench_gru.c — seconds per training epoch of the twotimescale GRU encoder (nn_gru.h) at the
 * shapes of a MovieLens 100K fit: S sequences of length T (padded batches of B, random lengths
 * in [T/2, T]), input C = rank + 2, hidden H, read-out P = rank + 1; one epoch = S / B Adam
 * steps (gru_enc_step). Prints one line "gru_epoch_seconds S T B C H P best_of_3". Its PyTorch
 * twin is bench/bench_gru_torch.py (same shapes, nn.GRU + pack_padded_sequence + Adam).
 * Usage: bench_gru [S T B C H P] (default 680 50 32 18 32 17: the u1 cold_users fit). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <gsl/gsl_rng.h>
#include "nn_gru.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int S = 680, T = 50, B = 32, C = 18, H = 32, P = 17;
    if (argc == 7) {
        S = atoi(argv[1]), T = atoi(argv[2]), B = atoi(argv[3]);
        C = atoi(argv[4]), H = atoi(argv[5]), P = atoi(argv[6]);
    }
    gru_enc *e = gru_enc_new(C, H, P, T, B, 1e-3f);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!e || !r)
        return 1;
    gru_enc_init(e, r);
    for (size_t k = 0; k < (size_t)T * B * C; k++)
        e->x[k] = (float)gsl_rng_uniform(r) - 0.5f;
    for (size_t k = 0; k < (size_t)T * B * P; k++)
        e->v[k] = (float)gsl_rng_uniform(r) - 0.5f;
    for (size_t k = 0; k < (size_t)T * B; k++)
        e->y[k] = (float)gsl_rng_uniform(r), e->off[k] = 0.0f;
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (int s = 0; s < S; s += B) {
            for (int b = 0; b < B; b++)
                e->len[b] = T / 2 + (int)gsl_rng_uniform_int(r, (unsigned long)(T - T / 2 + 1));
            gru_enc_step(e, T, B);
        }
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    printf("gru_epoch_seconds %d %d %d %d %d %d %.6f\n", S, T, B, C, H, P, best);
    gru_enc_free(e);
    gsl_rng_free(r);
    return 0;
}
