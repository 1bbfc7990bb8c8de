/* test_metrics_catalog.c — real-data ranking over the whole catalogue (src/metrics_catalog.c):
 * exact values on a hand-made case (train items excluded, unrated items not relevant), and a
 * model that knows the held-out ratings beats one that does not (the old per-user-own-items
 * convention gave every model the same precision). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

#define TOL 1e-12

static void make_split(ds_split *s, long n, const int32_t *u, const int32_t *i, const double *r)
{
    assert_int_equal(ds_split_alloc(s, n, 0), 0);
    for (long k = 0; k < n; k++) {
        s->user[k] = u[k];
        s->item[k] = i[k];
        s->rating[k] = r[k];
    }
}

/* model = a table of scores, n_users x n_items */
typedef struct {
    int ni;
    const double *score;
} table_model;

static void table_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                          const int32_t *i, double *out)
{
    (void)d;
    const table_model *t = model;
    for (long k = 0; k < n; k++)
        out[k] = t->score[(size_t)u[k] * t->ni + i[k]];
}

static const est_method table_method = { .name = "table", .predict = table_predict };

static void test_catalog_exact(void **state)
{
    (void)state;
    ds_data d;
    memset(&d, 0, sizeof d);
    d.n_users = 1;
    d.n_items = 5;
    const int32_t tu[] = {0}, ti[] = {0};
    const double tr[] = {5};
    make_split(&d.train, 1, tu, ti, tr);
    const int32_t su[] = {0, 0}, si[] = {1, 2};
    const double sr[] = {5, 2};     /* item 1 relevant, item 2 not (threshold 4) */
    make_split(&d.test_warm, 2, su, si, sr);
    catalog_rank c;

    /* scores = item id, the train item scored highest: excluded; top 2 = items 4, 3: no hit */
    double s1[5] = {100, 1, 2, 3, 4};
    table_model m1 = {5, s1};
    assert_int_equal(metrics_catalog_rank(&table_method, &m1, &d, &d.test_warm, 4.0, 2, &c), 0);
    assert_int_equal(c.n_users, 1);
    assert_true(fabs(c.precision) < TOL && fabs(c.recall) < TOL && fabs(c.map) < TOL &&
                fabs(c.ndcg) < TOL);

    /* item 1 on top: top 2 = items 1, 4 */
    double s2[5] = {100, 10, 2, 3, 4};
    table_model m2 = {5, s2};
    assert_int_equal(metrics_catalog_rank(&table_method, &m2, &d, &d.test_warm, 4.0, 2, &c), 0);
    assert_true(fabs(c.precision - 0.5) < TOL);
    assert_true(fabs(c.recall - 1.0) < TOL);
    assert_true(fabs(c.map - 1.0) < TOL);
    assert_true(fabs(c.ndcg - 1.0) < TOL);

    /* item 1 second (after an unrated item): AP = 1/2, NDCG = (1/log2 3) / 1 */
    double s3[5] = {100, 3.5, 2, 3, 4};
    table_model m3 = {5, s3};
    assert_int_equal(metrics_catalog_rank(&table_method, &m3, &d, &d.test_warm, 4.0, 2, &c), 0);
    assert_true(fabs(c.precision - 0.5) < TOL);
    assert_true(fabs(c.map - 0.5) < TOL);
    assert_true(fabs(c.ndcg - 1.0 / log2(3.0)) < TOL);

    /* ties broken by item id ascending: all equal -> top 2 = items 1, 2 */
    double s4[5] = {0, 0, 0, 0, 0};
    table_model m4 = {5, s4};
    assert_int_equal(metrics_catalog_rank(&table_method, &m4, &d, &d.test_warm, 4.0, 2, &c), 0);
    assert_true(fabs(c.precision - 0.5) < TOL);

    /* threshold 6: no relevant item, no eligible user */
    assert_int_equal(metrics_catalog_rank(&table_method, &m4, &d, &d.test_warm, 6.0, 2, &c), 0);
    assert_int_equal(c.n_users, 0);
    ds_split_free(&d.train);
    ds_split_free(&d.test_warm);
}

static void test_catalog_knowing_model_wins(void **state)
{
    (void)state;
    enum { NU = 40, NI = 60, NTR = 8, NTE = 4 };
    ds_data d;
    memset(&d, 0, sizeof d);
    d.n_users = NU;
    d.n_items = NI;
    int32_t tu[NU * NTR], ti[NU * NTR], su[NU * NTE], si[NU * NTE];
    double tr[NU * NTR], sr[NU * NTE];
    unsigned seed = 7;
    static double truth[NU * NI], know[NU * NI], blind[NU * NI];
    for (int k = 0; k < NU * NI; k++) {
        truth[k] = 1 + rand_r(&seed) % 5;
        blind[k] = (double)(NI - k % NI);           /* same ranking for everyone */
    }
    for (int u = 0; u < NU; u++) {
        int perm[NI];
        for (int i = 0; i < NI; i++)
            perm[i] = i;
        for (int i = NI - 1; i > 0; i--) {
            int j = rand_r(&seed) % (i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int q = 0; q < NTR; q++) {
            tu[u * NTR + q] = u;
            ti[u * NTR + q] = perm[q];
            tr[u * NTR + q] = truth[u * NI + perm[q]];
        }
        for (int q = 0; q < NTE; q++) {
            su[u * NTE + q] = u;
            si[u * NTE + q] = perm[NTR + q];
            sr[u * NTE + q] = truth[u * NI + perm[NTR + q]];
        }
    }
    /* the knowing model: the true rating of the user's held-out items, 0 elsewhere */
    for (int k = 0; k < NU * NI; k++)
        know[k] = 0;
    for (int k = 0; k < NU * NTE; k++)
        know[su[k] * NI + si[k]] = sr[k];
    make_split(&d.train, NU * NTR, tu, ti, tr);
    make_split(&d.test_warm, NU * NTE, su, si, sr);
    catalog_rank a, b;
    table_model mk = {NI, know}, mb = {NI, blind};
    assert_int_equal(metrics_catalog_rank(&table_method, &mk, &d, &d.test_warm, 4.0, 10, &a), 0);
    assert_int_equal(metrics_catalog_rank(&table_method, &mb, &d, &d.test_warm, 4.0, 10, &b), 0);
    printf("knowing: P@10 %.3f R@10 %.3f MAP %.3f NDCG %.3f; blind: %.3f %.3f %.3f %.3f (%ld users)\n",
           a.precision, a.recall, a.map, a.ndcg, b.precision, b.recall, b.map, b.ndcg, a.n_users);
    assert_true(a.n_users > 10 && a.n_users == b.n_users);
    assert_true(fabs(a.recall - 1.0) < TOL && fabs(a.ndcg - 1.0) < TOL && fabs(a.map - 1.0) < TOL);
    assert_true(a.precision > b.precision + 0.05);
    assert_true(a.ndcg > b.ndcg + 0.2);
    ds_split_free(&d.train);
    ds_split_free(&d.test_warm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_exact),
        cmocka_unit_test(test_catalog_knowing_model_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
