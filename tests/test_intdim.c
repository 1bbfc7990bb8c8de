/* test_intdim.c — the intrinsic-dimension estimators (TwoNN, Levina-Bickel MLE) on synthetic
 * manifolds from the synth library: they recover d (within 0.5) for d in {1, 2, 4}, D in {8, 64},
 * linear and curved embeddings of 4000 points, and do not follow D. Also: the exact kNN against
 * a naive search, duplicate points, a full-dimensional cloud, bad arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intdim.h"
#include "synth.h"
#include "testutil.h"

#define NPTS 4000

/* n points z ~ U[0,1]^d embedded into R^D by the synth manifold m. */
static double *manifold_points(int n, int d, int D, synth_manifold m, uint64_t seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, (unsigned long)seed);
    synth_embedding *e = synth_embedding_new(d, D, m, seed * 7919 + 13);
    assert_non_null(e);
    double *x = malloc((size_t)n * D * sizeof *x);
    double z[16];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++)
            z[j] = gsl_rng_uniform(r);
        synth_embed_point(e, z, x + (size_t)i * D);
    }
    synth_embedding_free(e);
    gsl_rng_free(r);
    return x;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void estimate(const double *x, int n, int D, double *tw, double *mle)
{
    char err[256];
    if (intdim_twonn(x, n, D, tw, err, sizeof err))
        fail_msg("%s", err);
    if (intdim_mle(x, n, D, 10, 20, mle, err, sizeof err))
        fail_msg("%s", err);
}

static void test_recovers_d(void **state)
{
    (void)state;
    const int ds[3] = {1, 2, 4}, Ds[2] = {8, 64};
    const char *mname[2] = {"linear", "curved"};
    double est[3][2][2][2];   /* [d][D][manifold][estimator] */
    printf("  d   D  manifold   TwoNN    MLE(k=10..20)   seconds\n");
    for (int a = 0; a < 3; a++)
        for (int m = 0; m < 2; m++)
            for (int b = 0; b < 2; b++) {
                int d = ds[a], D = Ds[b];
                double *x = manifold_points(NPTS, d, D, (synth_manifold)m, 100 + 10 * a + 3 * b + m);
                double t0 = now();
                estimate(x, NPTS, D, &est[a][b][m][0], &est[a][b][m][1]);
                double dt = now() - t0;
                printf("  %d  %2d  %-8s  %6.3f   %6.3f          %.2f\n", d, D, mname[m],
                       est[a][b][m][0], est[a][b][m][1], dt);
                free(x);
            }
    for (int a = 0; a < 3; a++)
        for (int m = 0; m < 2; m++)
            for (int k = 0; k < 2; k++) {
                for (int b = 0; b < 2; b++)
                    if (!(fabs(est[a][b][m][k] - ds[a]) < 0.5))
                        fail_msg("%s d=%d D=%d %s: estimate %.3f", k ? "MLE" : "TwoNN", ds[a], Ds[b],
                                 mname[m], est[a][b][m][k]);
                /* the estimate does not follow the ambient dimension */
                if (!(fabs(est[a][1][m][k] - est[a][0][m][k]) < 0.5))
                    fail_msg("%s d=%d %s: D=64 gives %.3f, D=8 gives %.3f", k ? "MLE" : "TwoNN",
                             ds[a], mname[m], est[a][1][m][k], est[a][0][m][k]);
            }
}

/* The same latent points in D = 8 and D = 64 (orthonormal linear embedding): the pairwise
 * distances are the same, so the estimates agree to rounding. */
static void test_rotation_invariant(void **state)
{
    (void)state;
    int n = 1500, d = 3;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    double *z = malloc((size_t)n * d * sizeof *z);
    for (int t = 0; t < n * d; t++)
        z[t] = gsl_rng_uniform(r);
    double tw[2], ml[2];
    for (int b = 0; b < 2; b++) {
        int D = b ? 64 : 8;
        synth_embedding *e = synth_embedding_new(d, D, SYNTH_LINEAR, 77 + b);
        double *x = malloc((size_t)n * D * sizeof *x);
        for (int i = 0; i < n; i++)
            synth_embed_point(e, z + (size_t)i * d, x + (size_t)i * D);
        estimate(x, n, D, &tw[b], &ml[b]);
        synth_embedding_free(e);
        free(x);
    }
    printf("  d=3, same z: TwoNN %.6f / %.6f, MLE %.6f / %.6f\n", tw[0], tw[1], ml[0], ml[1]);
    assert_true(fabs(tw[0] - tw[1]) < 1e-6);
    assert_true(fabs(ml[0] - ml[1]) < 1e-6);
    free(z);
    gsl_rng_free(r);
}

/* A full-dimensional cloud is not mistaken for a low-dimensional one. */
static void test_full_dimensional(void **state)
{
    (void)state;
    int n = 3000, D = 8;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 9);
    double *x = malloc((size_t)n * D * sizeof *x);
    for (int t = 0; t < n * D; t++)
        x[t] = gsl_rng_uniform(r);
    double tw, ml;
    estimate(x, n, D, &tw, &ml);
    printf("  uniform cube, D=8: TwoNN %.3f, MLE %.3f\n", tw, ml);
    assert_true(tw > 6.5 && tw < 9.5);
    assert_true(ml > 6.0 && ml < 9.5);
    free(x);
    gsl_rng_free(r);
}

/* intdim_knn against a naive search, on points far from the origin (cancellation in the
 * |a|^2 + |b|^2 - 2ab expansion must not leak into the distances). */
static void test_knn_exact(void **state)
{
    (void)state;
    int n = 300, D = 5, k = 6;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    double *x = malloc((size_t)n * D * sizeof *x);
    for (int t = 0; t < n * D; t++)
        x[t] = 1000.0 + gsl_rng_uniform(r);
    double *dist = malloc((size_t)n * k * sizeof *dist);
    char err[256];
    assert_int_equal(intdim_knn(x, n, D, k, dist, err, sizeof err), 0);
    double *all = malloc((size_t)n * sizeof *all);
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            double s = 0;
            for (int c = 0; c < D; c++)
                s += (x[i * D + c] - x[j * D + c]) * (x[i * D + c] - x[j * D + c]);
            all[m++] = sqrt(s);
        }
        /* partial selection sort of the k smallest */
        for (int a = 0; a < k; a++) {
            int best = a;
            for (int b = a + 1; b < m; b++)
                if (all[b] < all[best])
                    best = b;
            double tmp = all[a];
            all[a] = all[best];
            all[best] = tmp;
            assert_true(fabs(dist[i * k + a] - all[a]) <= 1e-12 * all[a]);
        }
    }
    free(all);
    free(dist);
    free(x);
    gsl_rng_free(r);
}

/* Duplicate points are skipped as neighbours: no NaN, and the estimate is still near d. */
static void test_duplicates(void **state)
{
    (void)state;
    int n0 = 2000, d = 2, D = 8;
    double *base = manifold_points(n0, d, D, SYNTH_LINEAR, 21);
    int n = n0 + 500;
    double *x = malloc((size_t)n * D * sizeof *x);
    memcpy(x, base, (size_t)n0 * D * sizeof *x);
    memcpy(x + (size_t)n0 * D, base, (size_t)500 * D * sizeof *x);   /* 500 exact duplicates */
    double tw, ml;
    estimate(x, n, D, &tw, &ml);
    printf("  with 500 duplicates, d=2: TwoNN %.3f, MLE %.3f\n", tw, ml);
    assert_true(isfinite(tw) && isfinite(ml));
    assert_true(fabs(tw - d) < 0.5 && fabs(ml - d) < 0.5);
    /* duplicates are merged: the estimates are those of the distinct points, bit for bit */
    double tw0, ml0;
    estimate(base, n0, D, &tw0, &ml0);
    assert_true(tw == tw0 && ml == ml0);
    double *dist = malloc((size_t)n * 2 * sizeof *dist);
    char err[256];
    assert_int_equal(intdim_knn(x, n, D, 2, dist, err, sizeof err), 0);
    for (int t = 0; t < 2 * n; t++)
        assert_true(dist[t] > 0);
    /* all points identical: a clear error, not NaN */
    for (int i = 1; i < 50; i++)
        memcpy(x + (size_t)i * D, x, D * sizeof *x);
    assert_int_equal(intdim_twonn(x, 50, D, &tw, err, sizeof err), -1);
    printf("  all duplicates: %s\n", err);
    assert_int_equal(intdim_mle(x, 50, D, 10, 20, &ml, err, sizeof err), -1);
    free(dist);
    free(x);
    free(base);
}

static void test_bad_args(void **state)
{
    (void)state;
    double x[20] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 3, 5, 7, 9, 2, 4, 6, 8, 0};
    double v;
    char err[256];
    assert_int_equal(intdim_twonn(x, 2, 10, &v, err, sizeof err), -1);
    assert_int_equal(intdim_mle(x, 10, 2, 10, 20, &v, err, sizeof err), -1);   /* k2 >= n */
    assert_non_null(strstr(err, "k2"));
    assert_int_equal(intdim_mle(x, 10, 2, 1, 3, &v, err, sizeof err), -1);     /* k1 < 2 */
    x[5] = NAN;
    assert_int_equal(intdim_twonn(x, 10, 2, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "non-finite"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovers_d),
        cmocka_unit_test(test_rotation_invariant),
        cmocka_unit_test(test_full_dimensional),
        cmocka_unit_test(test_knn_exact),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
