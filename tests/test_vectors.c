/* test_vectors.c — est_method.vectors, the inner-product form of a model that retrieval and
 * embedding compression use: for every method that has it (twotower, mf), on a small synthetic
 * problem with unseen (cold) users and items, <user vector, item vector> equals predict() for
 * every pair of a users x items grid (fallbacks included), and dim-only calls agree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "estimator.h"
#include "testutil.h"

static int make_data(ds_data *d)
{
    synth_params p;
    synth_params_default(&p);
    p.seed = 7;
    p.n_obs = 3000;
    p.user_intrinsic_dim = p.item_intrinsic_dim = 2;
    p.user_ambient_dim = p.item_ambient_dim = 6;
    p.noise = 0.1;
    p.test_cold_pairs = 200;
    p.test_warm_pairs = 200;
    synth_dataset s;
    char err[256];
    if (synth_generate(&p, &s, err, sizeof err) != 0) {
        print_error("synth_generate: %s\n", err);
        return -1;
    }
    ds_from_synth(&s, d);
    synth_dataset_free(&s);
    return 0;
}

static void check_method(const char *name, const char **kv)
{
    const est_method *m = est_find(name);
    assert_non_null(m);
    assert_non_null(m->vectors);
    ds_data d;
    assert_int_equal(make_data(&d), 0);
    tu_fit_result r;
    assert_int_equal(tu_fit(m, &d, 3, kv, &r), 0);
    assert_non_null(r.model);
    /* every user and item row, training and cold (mf falls back on the cold ones) */
    int nu = d.n_users, ni = d.n_items;
    int32_t *uid = malloc((size_t)nu * sizeof *uid), *iid = malloc((size_t)ni * sizeof *iid);
    for (int k = 0; k < nu; k++)
        uid[k] = k;
    for (int k = 0; k < ni; k++)
        iid[k] = k;
    int dim = m->vectors(r.model, &d, 0, 0, NULL, NULL);
    assert_true(dim > 0);
    assert_int_equal(m->vectors(r.model, &d, 1, 0, NULL, NULL), dim);
    float *U = malloc((size_t)nu * dim * sizeof *U), *V = malloc((size_t)ni * dim * sizeof *V);
    assert_int_equal(m->vectors(r.model, &d, 0, nu, uid, U), dim);
    assert_int_equal(m->vectors(r.model, &d, 1, ni, iid, V), dim);
    /* a grid of pairs: every 7th user x every item */
    long n = 0;
    for (int u = 0; u < nu; u += 7)
        n += ni;
    int32_t *pu = malloc((size_t)n * sizeof *pu), *pi = malloc((size_t)n * sizeof *pi);
    double *pred = malloc((size_t)n * sizeof *pred);
    long k = 0;
    for (int u = 0; u < nu; u += 7)
        for (int i = 0; i < ni; i++, k++) {
            pu[k] = u;
            pi[k] = i;
        }
    /* predict() clips real-data ratings only; synthetic data have no rating scale */
    m->predict(r.model, &d, n, pu, pi, pred);
    double worst = 0.0;
    for (k = 0; k < n; k++) {
        double s = 0.0;
        for (int c = 0; c < dim; c++)
            s += (double)U[(size_t)pu[k] * dim + c] * V[(size_t)pi[k] * dim + c];
        double e = fabs(s - pred[k]) / (1.0 + fabs(pred[k]));
        if (e > worst)
            worst = e;
    }
    printf("%s: dim %d, %ld pairs, worst relative |<u,v> - predict| = %.3g\n", name, dim, n, worst);
    assert_true(worst < 1e-5);
    free(pu);
    free(pi);
    free(pred);
    free(U);
    free(V);
    free(uid);
    free(iid);
    tu_fit_free(m, &r);
    ds_free(&d);
}

static void test_twotower_vectors(void **state)
{
    (void)state;
    const char *kv[] = {"epochs=3", "width=16", "embed_dim=4", NULL};
    check_method("twotower", kv);
}

static void test_mf_vectors(void **state)
{
    (void)state;
    const char *kv[] = {"epochs=3", "rank=4", NULL};
    check_method("mf", kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twotower_vectors),
        cmocka_unit_test(test_mf_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
