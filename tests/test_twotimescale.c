/* test_twotimescale.c — the `twotimescale` method (src/est_twotimescale.c) on a small synthetic
 * problem with the k-shot protocol (kshot.h):
 *   - t_star > max_len is refused naming t_star;
 *   - it learns: warm excess risk far below the bias baseline's;
 *   - inductive: k-shot users encoded from their revealed pairs have a lower cold excess risk
 *     than the same users with nothing revealed (K = 0), with no refit involved;
 *   - no leak: scrambling the query ratings (test_cold) changes no prediction;
 *   - <user vector, item vector> == predict on training and k-shot users;
 *   - t_star = 0 trains one shared GRU, t_star > 0 two, and they predict differently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "estimator.h"
#include "kshot.h"
#include "testutil.h"

static void make(ds_data *d, long K)
{
    synth_params p;
    synth_params_default(&p);
    p.seed = 5;
    p.n_obs = 6000;
    p.obs_per_user = 25;
    p.obs_per_item = 25;
    p.user_intrinsic_dim = p.item_intrinsic_dim = 2;
    p.user_ambient_dim = p.item_ambient_dim = 4;
    p.noise = 0.1;
    p.cold_list_size = 25;
    p.test_cold_pairs = 1000;
    p.test_warm_pairs = 500;
    synth_dataset s;
    char err[256];
    assert_int_equal(synth_generate(&p, &s, err, sizeof err), 0);
    ds_from_synth(&s, d);
    synth_dataset_free(&s);
    if (K >= 0 && kshot_apply(d, K, &p, err, sizeof err) != 0) {
        print_error("kshot_apply: %s\n", err);
        fail();
    }
}

static double excess(const est_method *m, void *model, const ds_data *d, const ds_split *s)
{
    double *p = malloc((size_t)s->n * sizeof *p), e = 0;
    m->predict(model, d, s->n, s->user, s->item, p);
    for (long k = 0; k < s->n; k++)
        e += (p[k] - s->oracle[k]) * (p[k] - s->oracle[k]);
    free(p);
    return e / s->n;
}

static const char *KV[] = {"t_star=8", "epochs=15", "hidden=16", "max_len=30", "mf_rank=4",
                           "mf_epochs=15", NULL};

static void test_parameters(void **state)
{
    (void)state;
    const est_method *m = est_find("twotimescale");
    assert_non_null(m);
    kvset kv;
    kv_init(&kv);
    kv_set(&kv, "t_star", "60");
    kv_set(&kv, "max_len", "50");
    const char *bad = NULL;
    assert_non_null(m->check_parameter(&kv, &bad));
    assert_string_equal(bad, "t_star");
    kv_set(&kv, "t_star", "50");
    assert_null(m->check_parameter(&kv, &bad));
    kv_free(&kv);
}

static void test_learns_and_kshot(void **state)
{
    (void)state;
    const est_method *m = est_find("twotimescale"), *bl = est_find("baseline");
    ds_data d10, d0;
    make(&d10, 10);
    make(&d0, 0);
    tu_fit_result r10, r0, rb;
    assert_int_equal(tu_fit(m, &d10, 3, KV, &r10), 0);
    assert_non_null(r10.model);
    assert_int_equal(tu_fit(m, &d0, 3, KV, &r0), 0);
    assert_non_null(r0.model);
    assert_int_equal(tu_fit(bl, &d10, 3, NULL, &rb), 0);
    assert_non_null(strstr(r10.curves.note, "two GRUs"));
    assert_non_null(strstr(r10.curves.note, "users encoded from revealed pairs"));
    double w = excess(m, r10.model, &d10, &d10.test_warm), wb = excess(bl, rb.model, &d10, &d10.test_warm);
    /* the same fresh users' last 15 pairs are queries in both (K = 0 scores all 25) */
    double c10 = excess(m, r10.model, &d10, &d10.test_cold), c0 = excess(m, r0.model, &d0, &d0.test_cold);
    print_message("warm excess risk %.4f (baseline %.4f); k-shot users: K = 10 %.4f, K = 0 %.4f\n",
                  w, wb, c10, c0);
    assert_true(w < 0.5 * wb);
    assert_true(c10 < 0.6 * c0);
    assert_true(r10.curves.epochs_run >= 1 && r10.curves.best_epoch >= 1);

    /* vectors == predict: a training user and two k-shot users, training and any items */
    int32_t us[3] = {0, d10.reveal.user[0], d10.n_users - 1}, it[4] = {0, 1, 7, d10.n_items - 1};
    int dim = m->vectors(r10.model, &d10, 0, 0, NULL, NULL);
    float U[3 * 32], V[4 * 32];
    assert_true(dim > 0 && dim <= 32);
    m->vectors(r10.model, &d10, 0, 3, us, U);
    m->vectors(r10.model, &d10, 1, 4, it, V);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 4; b++) {
            double dot = 0, p;
            for (int c = 0; c < dim; c++)
                dot += (double)U[a * dim + c] * V[b * dim + c];
            m->predict(r10.model, &d10, 1, &us[a], &it[b], &p);
            assert_true(fabs(dot - p) < 1e-4);
        }
    tu_fit_free(m, &r10);
    tu_fit_free(m, &r0);
    tu_fit_free(bl, &rb);
    ds_free(&d10);
    ds_free(&d0);
}

static void test_no_leak_and_ablation(void **state)
{
    (void)state;
    const est_method *m = est_find("twotimescale");
    ds_data a, b;
    make(&a, 5);
    make(&b, 5);
    for (long k = 0; k < b.test_cold.n; k++)   /* scramble the queries' ratings */
        b.test_cold.rating[k] = 6.0 - b.test_cold.rating[k] * 3.0;
    tu_fit_result ra, rb, r1;
    assert_int_equal(tu_fit(m, &a, 9, KV, &ra), 0);
    assert_int_equal(tu_fit(m, &b, 9, KV, &rb), 0);
    assert_non_null(ra.model);
    assert_non_null(rb.model);
    long n = a.test_cold.n;
    double *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb), *p1 = malloc(n * sizeof *p1);
    m->predict(ra.model, &a, n, a.test_cold.user, a.test_cold.item, pa);
    m->predict(rb.model, &b, n, b.test_cold.user, b.test_cold.item, pb);
    for (long k = 0; k < n; k++)
        assert_true(pa[k] == pb[k]);
    /* the ablation: one shared GRU */
    const char *kv1[] = {"t_star=0", "epochs=15", "hidden=16", "max_len=30", "mf_rank=4",
                         "mf_epochs=15", NULL};
    assert_int_equal(tu_fit(m, &a, 9, kv1, &r1), 0);
    assert_non_null(r1.model);
    assert_non_null(strstr(r1.curves.note, "one shared GRU"));
    m->predict(r1.model, &a, n, a.test_cold.user, a.test_cold.item, p1);
    long differ = 0;
    for (long k = 0; k < n; k++)
        differ += fabs(p1[k] - pa[k]) > 1e-6;
    assert_true(differ > n / 2);
    free(pa);
    free(pb);
    free(p1);
    tu_fit_free(m, &ra);
    tu_fit_free(m, &rb);
    tu_fit_free(m, &r1);
    ds_free(&a);
    ds_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_learns_and_kshot),
        cmocka_unit_test(test_no_leak_and_ablation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
