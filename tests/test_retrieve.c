/* test_retrieve.c — exact top-K retrieval (retrieve.h) against brute-force scoring of every
 * item: small integer vectors (exact float arithmetic, many tied scores: order must be score
 * descending then item id ascending), training-item exclusion, K above the number of eligible
 * items (padding with -1), several block sizes, and random float vectors (scores within
 * rounding of the brute-force K best). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "retrieve.h"

static uint64_t rs = 12345;
static int rnd(int n)
{
    rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)((rs >> 33) % (uint64_t)n);
}

/* brute force: every eligible item scored in double, sorted by (score desc, id asc) */
static int brute(const float *q, const float *V, int ni, int dim, int K, const int *bad,
                 int32_t *top, double *sc)
{
    double *s = malloc((size_t)ni * sizeof *s);
    int *used = calloc((size_t)ni, sizeof *used), n = 0;
    for (int i = 0; i < ni; i++) {
        s[i] = 0;
        for (int c = 0; c < dim; c++)
            s[i] += (double)q[c] * V[(size_t)i * dim + c];
    }
    for (int r = 0; r < K; r++) {
        int best = -1;
        for (int i = 0; i < ni; i++)
            if (!used[i] && !(bad && bad[i]) && (best < 0 || s[i] > s[best]))
                best = i;   /* strict >: the lowest id wins a tie */
        top[r] = best;
        sc[r] = best >= 0 ? s[best] : -INFINITY;
        if (best >= 0) {
            used[best] = 1;
            n++;
        }
    }
    free(s);
    free(used);
    return n;
}

static void run_case(int nq, int ni, int dim, int K, int integer, int exclude, int block)
{
    float *Q = malloc((size_t)nq * dim * sizeof *Q), *V = malloc((size_t)ni * dim * sizeof *V);
    for (size_t k = 0; k < (size_t)nq * dim; k++)
        Q[k] = integer ? (float)(rnd(5) - 2) : (float)(rnd(20001) - 10000) / 7919.0f;
    for (size_t k = 0; k < (size_t)ni * dim; k++)
        V[k] = integer ? (float)(rnd(3) - 1) : (float)(rnd(20001) - 10000) / 7919.0f;
    /* exclusions: a random third of the items of every user, given as (user, item) pairs of
     * users 0..nq-1 with the queries listed in reverse order, plus pairs of other users */
    int *bad = calloc((size_t)nq * ni, sizeof *bad);
    long np = 0;
    int32_t *pu = calloc((size_t)(nq + 5) * ni, sizeof *pu), *pi = calloc((size_t)(nq + 5) * ni, sizeof *pi);
    int32_t *us = calloc((size_t)nq, sizeof *us);
    for (int q = 0; q < nq; q++)
        us[q] = nq - 1 - q;
    if (exclude)
        for (int u = 0; u < nq + 5; u++)
            for (int i = 0; i < ni; i++)
                if (rnd(3) == 0) {
                    pu[np] = u;
                    pi[np++] = i;
                    if (u < nq)
                        for (int q = 0; q < nq; q++)
                            if (us[q] == u)
                                bad[(size_t)q * ni + i] = 1;
                }
    /* query q is user us[q]: its vector row us[q] */
    float *Qq = malloc((size_t)nq * dim * sizeof *Qq);
    for (int q = 0; q < nq; q++)
        memcpy(Qq + (size_t)q * dim, Q + (size_t)us[q] * dim, dim * sizeof *Qq);
    retrieve_excl e;
    assert_int_equal(retrieve_excl_build(&e, us, nq, nq + 5, np, pu, pi), 0);
    int32_t *top = malloc((size_t)nq * K * sizeof *top), *bt = malloc((size_t)K * sizeof *bt);
    float *score = malloc((size_t)nq * K * sizeof *score);
    double *bs = malloc((size_t)K * sizeof *bs);
    assert_int_equal(retrieve_topk(Qq, nq, V, ni, dim, K, exclude ? &e : NULL, block, top, score), 0);
    long ties = 0;
    for (int q = 0; q < nq; q++) {
        int n = brute(Qq + (size_t)q * dim, V, ni, dim, K, exclude ? bad + (size_t)q * ni : NULL, bt, bs);
        for (int r = 0; r < K; r++) {
            int32_t got = top[(size_t)q * K + r];
            if (r >= n) {
                assert_int_equal(got, -1);
                continue;
            }
            if (integer) {
                if (got != bt[r])
                    fail_msg("query %d rank %d: item %d, brute force %d (score %g)", q, r, got,
                             bt[r], bs[r]);
                ties += r > 0 && bs[r] == bs[r - 1];
            } else {
                assert_true(got >= 0 && got < ni);
                assert_true(fabs(score[(size_t)q * K + r] - bs[r]) < 1e-4 * (1 + fabs(bs[r])));
                assert_false(exclude && bad[(size_t)q * ni + got]);
            }
        }
    }
    if (integer)
        assert_true(ties > 0);   /* the case really exercised tie breaking */
    retrieve_excl_free(&e);
    free(Q);
    free(V);
    free(Qq);
    free(bad);
    free(pu);
    free(pi);
    free(us);
    free(top);
    free(bt);
    free(score);
    free(bs);
}

static void test_integer_ties(void **state)
{
    (void)state;
    run_case(37, 53, 3, 10, 1, 0, 0);
    run_case(37, 53, 3, 10, 1, 0, 5);      /* several blocks, a partial last one */
    run_case(8, 20, 2, 20, 1, 0, 3);       /* K = the whole catalogue */
}

static void test_exclusion(void **state)
{
    (void)state;
    run_case(30, 40, 4, 8, 1, 1, 7);
    run_case(10, 12, 2, 12, 1, 1, 0);      /* K above the eligible count: -1 padding */
}

static void test_random_floats(void **state)
{
    (void)state;
    run_case(200, 500, 16, 25, 0, 1, 64);
    run_case(3, 1000, 33, 1, 0, 0, 0);
}

static void test_bad_args(void **state)
{
    (void)state;
    float q[2] = {1, 2}, v[2] = {3, 4};
    int32_t t[1];
    assert_int_equal(retrieve_topk(q, 1, v, 1, 2, 0, NULL, 0, t, NULL), -1);
    assert_int_equal(retrieve_topk(q, 1, v, 1, 0, 1, NULL, 0, t, NULL), -1);
    assert_int_equal(retrieve_topk(q, 1, v, 1, 2, 1, NULL, 0, t, NULL), 0);
    assert_int_equal(t[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_ties),
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_random_floats),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
