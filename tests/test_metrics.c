/* test_metrics.c — metrics.c against values computed by hand on tiny splits: pointwise errors,
 * NDCG/recall/regret vs the oracle (ties, short users, skipped users), precision/recall/MAP
 * with binary relevance, and the metric names and NaN/empty rules of metrics_evaluate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include "metrics.h"

#define TOL 1e-12
/* cmocka 1.1.5 only compares floats: a double comparison that prints both values */
#define assert_near(a, b, tol)                                                              \
    do {                                                                                    \
        double a_ = (a), b_ = (b);                                                          \
        if (!(fabs(a_ - b_) <= (tol)))                                                      \
            fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);                             \
    } while (0)
#define L3 (log2(3.0))
#define L5 (log2(5.0))

static void make_split(ds_split *s, long n, const int32_t *u, const int32_t *i, const double *r,
                       const double *o)
{
    assert_int_equal(ds_split_alloc(s, n, o != NULL), 0);
    for (long k = 0; k < n; k++) {
        s->user[k] = u[k];
        s->item[k] = i[k];
        s->rating[k] = r ? r[k] : 0.0;
        if (o)
            s->oracle[k] = o[k];
    }
}

/* ---------------------------------------------------------------- metric_set, errors */

static void test_set_and_errors(void **state)
{
    (void)state;
    metric_set m;
    metrics_init(&m);
    assert_int_equal(m.n, 0);
    assert_true(isnan(metrics_get(&m, "rmse")));
    metrics_add(&m, "rmse", 1.5);
    metrics_add(&m, "mae", 0.5);
    metrics_add(&m, "rmse", 2.5);   /* replaces */
    assert_int_equal(m.n, 2);
    assert_true(metrics_get(&m, "rmse") == 2.5);
    assert_true(metrics_get(&m, "mae") == 0.5);
    assert_true(isnan(metrics_get(&m, "map_at_10")));

    double p[3] = { 1, 2, 3 }, t[3] = { 2, 2, 5 };   /* errors -1, 0, -2 */
    assert_near(metric_mse(p, t, 3), 5.0 / 3.0, TOL);
    assert_near(metric_rmse(p, t, 3), sqrt(5.0 / 3.0), TOL);
    assert_near(metric_mae(p, t, 3), 1.0, TOL);
    assert_true(isnan(metric_mse(p, t, 0)));
}

/* ---------------------------------------------------------------- graded ranking
 * user 0: items 0,1,2,3   oracle 3,1,2,0  pred .9,.8,.1,.5   -> pred order 0,1,3,2; ideal 0,2,1,3
 * user 1: one pair (skipped)
 * user 2: items 4,1,0     oracle 1,2,4    pred .5,.5,.2      -> tie .5: item 1 before 4 -> 1,4,0
 *         rel = oracle - 1: item4 0, item1 1, item0 3; ideal 0,1,4
 * pairs interleaved across users to exercise the grouping. */
static const int32_t GU[] = { 2, 0, 1, 0, 2, 0, 2, 0 };
static const int32_t GI[] = { 4, 0, 4, 1, 1, 2, 0, 3 };
static const double GO[] = { 1, 3, 5, 1, 2, 2, 4, 0 };
static const double GP[] = { .5, .9, 0, .8, .5, .1, .2, .5 };
#define GN 8

static void test_graded_k2(void **state)
{
    (void)state;
    ds_split s;
    make_split(&s, GN, GU, GI, NULL, GO);
    double n0 = (3.0 + 1.0 / L3) / (3.0 + 2.0 / L3);
    double n2 = (1.0 + 0.0 / L3) / (3.0 + 1.0 / L3);
    assert_near(metric_ndcg_at_k(&s, GP, s.oracle, 2), (n0 + n2) / 2, TOL);
    /* recall: u0 {0,1} vs {0,2} -> 1/2; u2 {1,4} vs {0,1} -> 1/2 */
    assert_near(metric_recall_vs_oracle_at_k(&s, GP, s.oracle, 2), 0.5, TOL);
    /* regret: u0 ((3+2)-(3+1))/2 = .5; u2 ((4+2)-(2+1))/2 = 1.5 */
    assert_near(metric_regret_at_k(&s, GP, s.oracle, 2), 1.0, TOL);
    ds_split_free(&s);
}

static void test_graded_fewer_than_k(void **state)
{
    (void)state;
    ds_split s;
    make_split(&s, GN, GU, GI, NULL, GO);
    /* k = 5 > n_u: u0 uses all 4, u2 all 3 (ideal DCG over min(k, n_u) too) */
    double n0 = (3.0 + 1.0 / L3 + 0.0 / 2.0 + 2.0 / L5) / (3.0 + 2.0 / L3 + 1.0 / 2.0 + 0.0 / L5);
    double n2 = (1.0 + 0.0 / L3 + 3.0 / 2.0) / (3.0 + 1.0 / L3 + 0.0 / 2.0);
    assert_near(metric_ndcg_at_k(&s, GP, s.oracle, 5), (n0 + n2) / 2, TOL);
    assert_near(metric_recall_vs_oracle_at_k(&s, GP, s.oracle, 5), 1.0, TOL);
    assert_near(metric_regret_at_k(&s, GP, s.oracle, 5), 0.0, TOL);
    /* k = 1: u0 top 0 = oracle top -> ndcg 1, recall 1, regret 0;
     *        u2 pred top item 1 (rel 1, oracle 2), oracle top item 0 (rel 3, oracle 4) */
    assert_near(metric_ndcg_at_k(&s, GP, s.oracle, 1), (1.0 + 1.0 / 3.0) / 2, TOL);
    assert_near(metric_recall_vs_oracle_at_k(&s, GP, s.oracle, 1), 0.5, TOL);
    assert_near(metric_regret_at_k(&s, GP, s.oracle, 1), (0.0 + 2.0) / 2, TOL);
    ds_split_free(&s);
}

static void test_graded_perfect_and_reversed(void **state)
{
    (void)state;
    ds_split s;
    make_split(&s, GN, GU, GI, NULL, GO);
    double rev[GN];
    for (int k = 0; k < GN; k++)
        rev[k] = -GO[k];
    for (int k = 1; k <= 10; k++) {
        assert_near(metric_ndcg_at_k(&s, GO, s.oracle, k), 1.0, TOL);
        assert_near(metric_recall_vs_oracle_at_k(&s, GO, s.oracle, k), 1.0, TOL);
        assert_near(metric_regret_at_k(&s, GO, s.oracle, k), 0.0, TOL);
    }
    /* reversed, k = 2: u0 order 3,1,2,0: dcg 0 + 1/L3, idcg 3 + 2/L3; recall 0; regret (5-1)/2
     *                  u2 order 4,1,0:   dcg 0 + 1/L3, idcg 3 + 1/L3; recall 1/2; regret (6-3)/2 */
    double n0 = (1.0 / L3) / (3.0 + 2.0 / L3), n2 = (1.0 / L3) / (3.0 + 1.0 / L3);
    assert_near(metric_ndcg_at_k(&s, rev, s.oracle, 2), (n0 + n2) / 2, TOL);
    assert_near(metric_recall_vs_oracle_at_k(&s, rev, s.oracle, 2), 0.25, TOL);
    assert_near(metric_regret_at_k(&s, rev, s.oracle, 2), (2.0 + 1.5) / 2, TOL);
    ds_split_free(&s);
}

/* Ties in the oracle: user 0 items 2,0,1 (split order) oracle 1,1,0, pred .5,.1,.9.
 * Oracle top-1 = item 0 (tie with item 2 broken by item id); predicted top-1 = item 1. */
static void test_oracle_ties(void **state)
{
    (void)state;
    const int32_t u[] = { 0, 0, 0, 1, 1 };
    const int32_t i[] = { 2, 0, 1, 0, 1 };
    const double o[] = { 1, 1, 0, 7, 7 };        /* user 1: all equal -> NDCG skips it */
    const double p[] = { .5, .1, .9, .3, .2 };
    ds_split s;
    make_split(&s, 5, u, i, NULL, o);
    /* k = 1 u0: pred top item 1 (rel 0) vs ideal rel 1 -> ndcg 0; recall 0; regret 1
     *      u1: recall 1 (pred top 0 = oracle top 0), regret 0; ndcg skipped */
    assert_near(metric_ndcg_at_k(&s, p, s.oracle, 1), 0.0, TOL);
    assert_near(metric_recall_vs_oracle_at_k(&s, p, s.oracle, 1), 0.5, TOL);
    assert_near(metric_regret_at_k(&s, p, s.oracle, 1), 0.5, TOL);
    /* k = 2 u0: pred order 1,2,0 -> top2 {1,2}, oracle top2 {0,2} (tie broken by id)
     *   ndcg (0 + 1/L3) / (1 + 1/L3); recall 1/2; regret (2 - 1)/2 */
    assert_near(metric_ndcg_at_k(&s, p, s.oracle, 2), (1.0 / L3) / (1.0 + 1.0 / L3), TOL);
    assert_near(metric_recall_vs_oracle_at_k(&s, p, s.oracle, 2), (0.5 + 1.0) / 2, TOL);
    assert_near(metric_regret_at_k(&s, p, s.oracle, 2), (0.5 + 0.0) / 2, TOL);
    ds_split_free(&s);
}

/* No eligible user, non-finite predictions. */
static void test_graded_edge(void **state)
{
    (void)state;
    const int32_t u[] = { 0, 1, 2 }, i[] = { 0, 1, 2 };
    const double o[] = { 1, 2, 3 }, p[] = { 1, 2, 3 };
    ds_split s;
    make_split(&s, 3, u, i, NULL, o);   /* every user has one candidate */
    assert_true(isnan(metric_ndcg_at_k(&s, p, s.oracle, 10)));
    assert_true(isnan(metric_regret_at_k(&s, p, s.oracle, 10)));
    ds_split_free(&s);
    make_split(&s, GN, GU, GI, NULL, GO);
    double q[GN];
    memcpy(q, GP, sizeof q);
    q[3] = NAN;
    assert_true(isnan(metric_ndcg_at_k(&s, q, s.oracle, 2)));
    assert_true(isnan(metric_recall_vs_oracle_at_k(&s, q, s.oracle, 2)));
    q[3] = INFINITY;
    assert_true(isnan(metric_regret_at_k(&s, q, s.oracle, 2)));
    ds_split_free(&s);
}

/* ---------------------------------------------------------------- binary relevance (>= 4)
 * user 0: items 0..4 ratings 5,3,4,1,2  pred .9,.8,.3,.7,.6 -> order 0(rel),1,3,4,2(rel), n_rel 2
 * user 1: items 0,1 ratings 2,3: no relevant item (precision 0; skipped for recall/MAP)
 * user 2: items 2,3,4 ratings 1,5,4 pred .5,.5,.1 -> tie: item 2 before 3 -> 2,3(rel),4(rel)
 * user 3: one pair (skipped) */
static const int32_t BU[] = { 0, 2, 0, 1, 0, 2, 0, 3, 1, 0, 2 };
static const int32_t BI[] = { 0, 3, 1, 0, 2, 2, 3, 4, 1, 4, 4 };
static const double BR[] = { 5, 5, 3, 2, 4, 1, 1, 5, 3, 2, 4 };
static const double BP[] = { .9, .5, .8, .4, .3, .5, .7, .9, .1, .6, .1 };
#define BN 11

static void test_binary(void **state)
{
    (void)state;
    ds_split s;
    make_split(&s, BN, BU, BI, BR, NULL);
    /* k = 1: u0 P 1 R 1/2 AP 1; u1 P 0; u2 P 0 R 0 AP 0 (the tie puts non-relevant item 2 first) */
    assert_near(metric_precision_at_k(&s, BP, 4.0, 1), 1.0 / 3.0, TOL);
    assert_near(metric_recall_at_k(&s, BP, 4.0, 1), 0.25, TOL);
    assert_near(metric_map_at_k(&s, BP, 4.0, 1), 0.5, TOL);
    /* k = 2: u0 top {0,1}: P 1/2 R 1/2 AP 1/2; u1 P 0; u2 top {2,3}: P 1/2 R 1/2 AP (1/2)/2 */
    assert_near(metric_precision_at_k(&s, BP, 4.0, 2), (0.5 + 0 + 0.5) / 3, TOL);
    assert_near(metric_recall_at_k(&s, BP, 4.0, 2), 0.5, TOL);
    assert_near(metric_map_at_k(&s, BP, 4.0, 2), (0.5 + 0.25) / 2, TOL);
    /* k = 3: u0 top {0,1,3}: P 1/3 R 1/2 AP 1/2; u2 all 3: P 2/3 R 1 AP (1/2 + 2/3)/2 */
    assert_near(metric_precision_at_k(&s, BP, 4.0, 3), (1.0 / 3 + 0 + 2.0 / 3) / 3, TOL);
    assert_near(metric_recall_at_k(&s, BP, 4.0, 3), 0.75, TOL);
    assert_near(metric_map_at_k(&s, BP, 4.0, 3), (0.5 + (0.5 + 2.0 / 3) / 2) / 2, TOL);
    /* k = 10 (every user has fewer): u0 kk 5: P 2/5 R 1 AP (1 + 2/5)/2; u1 kk 2: P 0; u2 as k=3 */
    assert_near(metric_precision_at_k(&s, BP, 4.0, 10), (0.4 + 0 + 2.0 / 3) / 3, TOL);
    assert_near(metric_recall_at_k(&s, BP, 4.0, 10), 1.0, TOL);
    assert_near(metric_map_at_k(&s, BP, 4.0, 10), (0.7 + (0.5 + 2.0 / 3) / 2) / 2, TOL);

    /* perfect predictor (pred = rating): P@1 over users 0,2 = 1, user 1 = 0; recall@2 = MAP@2 = 1 */
    assert_near(metric_precision_at_k(&s, BR, 4.0, 1), 2.0 / 3.0, TOL);
    assert_near(metric_recall_at_k(&s, BR, 4.0, 2), 1.0, TOL);
    assert_near(metric_map_at_k(&s, BR, 4.0, 2), 1.0, TOL);
    /* reversed: relevant items last; u0 top2 {3,4} -> 0; u2 top2 {2,4}: AP (1/2)/2, R 1/2 */
    double rev[BN];
    for (int k = 0; k < BN; k++)
        rev[k] = -BR[k];
    assert_near(metric_precision_at_k(&s, rev, 4.0, 2), (0 + 0 + 0.5) / 3, TOL);
    assert_near(metric_recall_at_k(&s, rev, 4.0, 2), (0 + 0.5) / 2, TOL);
    assert_near(metric_map_at_k(&s, rev, 4.0, 2), (0 + 0.25) / 2, TOL);
    ds_split_free(&s);
}

/* ---------------------------------------------------------------- metrics_evaluate
 * A hand-made method: prediction = oracle (synthetic) or rating (real) + a constant shift,
 * or NaN when the shift is NaN; pairs in no split score -1000 (NaN with a NaN shift). */
static double g_shift;

static void fake_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                         const int32_t *i, double *out)
{
    (void)model;
    /* look the pair up in the test splits (tiny data) */
    const ds_split *sp[3] = { &d->test_cold, &d->test_warm, &d->valid };
    for (long k = 0; k < n; k++) {
        out[k] = isnan(g_shift) ? NAN : -1e3;   /* pairs in no split: ranked last */
        for (int q = 0; q < 3; q++)
            for (long j = 0; j < sp[q]->n; j++)
                if (sp[q]->user[j] == u[k] && sp[q]->item[j] == i[k])
                    out[k] = (sp[q]->oracle ? sp[q]->oracle[j] : sp[q]->rating[j]) + g_shift;
    }
}

static const est_method fake = { .name = "fake", .predict = fake_predict, .cold_capable = 1 };

static int has_exactly(const metric_set *m, const char *const *names, int n)
{
    if (m->n != n)
        return 0;
    for (int k = 0; k < n; k++) {
        int found = 0;
        for (int j = 0; j < m->n; j++)
            found |= strcmp(m->name[j], names[k]) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

static void test_evaluate_synthetic(void **state)
{
    (void)state;
    static const char *const syn[] = { "excess_risk_cold", "excess_risk_warm", "rmse_cold",
                                       "rmse_warm", "mae_cold", "mae_warm", "ndcg_at_10",
                                       "recall_at_10", "regret_at_10" };
    ds_data d;
    memset(&d, 0, sizeof d);
    d.synthetic = 1;
    d.n_users = 10;
    d.n_items = 10;
    double r[GN];
    for (int k = 0; k < GN; k++)
        r[k] = GO[k] + (k % 2 ? 1.0 : -1.0);    /* observed = oracle +- 1 */
    make_split(&d.test_cold, GN, GU, GI, r, GO);
    const int32_t wu[] = { 7, 8 }, wi[] = { 7, 8 };
    const double wo[] = { 0.5, 1.5 }, wr[] = { 1.5, 1.5 };
    make_split(&d.test_warm, 2, wu, wi, wr, wo);

    metric_set m;
    metrics_init(&m);
    g_shift = 0.5;
    assert_int_equal(metrics_evaluate(&fake, NULL, &d, &m), 0);
    assert_true(has_exactly(&m, syn, 9));
    assert_near(metrics_get(&m, "excess_risk_cold"), 0.25, TOL);
    assert_near(metrics_get(&m, "excess_risk_warm"), 0.25, TOL);
    /* cold errors vs ratings: pred - r = 0.5 -+ 1 -> |.| alternates 0.5, 1.5 */
    assert_near(metrics_get(&m, "mae_cold"), 1.0, TOL);
    assert_near(metrics_get(&m, "rmse_cold"), sqrt((0.25 + 2.25) / 2), TOL);
    /* warm: pred 1.0, 2.0 vs 1.5 -> errors .5 */
    assert_near(metrics_get(&m, "rmse_warm"), 0.5, TOL);
    assert_near(metrics_get(&m, "mae_warm"), 0.5, TOL);
    /* a shifted oracle ranks perfectly */
    assert_near(metrics_get(&m, "ndcg_at_10"), 1.0, TOL);
    assert_near(metrics_get(&m, "recall_at_10"), 1.0, TOL);
    assert_near(metrics_get(&m, "regret_at_10"), 0.0, TOL);

    /* non-finite predictions: every metric present and NaN */
    metrics_init(&m);
    g_shift = NAN;
    assert_int_equal(metrics_evaluate(&fake, NULL, &d, &m), 0);
    assert_int_equal(m.n, 9);
    for (int k = 0; k < 9; k++)
        assert_true(isnan(metrics_get(&m, syn[k])));

    /* empty test_warm: its metrics are not added */
    ds_split_free(&d.test_warm);
    metrics_init(&m);
    g_shift = 0;
    assert_int_equal(metrics_evaluate(&fake, NULL, &d, &m), 0);
    assert_int_equal(m.n, 6);
    assert_true(isnan(metrics_get(&m, "rmse_warm")));
    assert_near(metrics_get(&m, "excess_risk_cold"), 0.0, TOL);
    ds_free(&d);
}

/* The valid split's RMSE is reported as rmse_valid (what tuning uses, never the test sets). */
static void test_evaluate_valid(void **state)
{
    (void)state;
    ds_data d;
    memset(&d, 0, sizeof d);
    d.n_users = 10;
    d.n_items = 10;
    make_split(&d.valid, BN, BU, BI, BR, NULL);
    metric_set m;
    metrics_init(&m);
    g_shift = -0.5;
    assert_int_equal(metrics_evaluate(&fake, NULL, &d, &m), 0);
    assert_int_equal(m.n, 1);
    assert_near(metrics_get(&m, "rmse_valid"), 0.5, TOL);
    ds_free(&d);
}

static void test_evaluate_real(void **state)
{
    (void)state;
    static const char *const real[] = { "rmse", "mae", "precision_at_10", "recall_at_10",
                                        "map_at_10", "ndcg_at_10", "pop_recall_at_10",
                                        "pop_ndcg_at_10", "calibrated_recall_at_10",
                                        "coverage_at_10", "gini_exposure_at_10",
                                        "avg_rec_popularity_at_10" };
    ds_data d;
    memset(&d, 0, sizeof d);
    d.n_users = 10;
    d.n_items = 10;
    d.relevance_threshold = 4;
    make_split(&d.test_warm, BN, BU, BI, BR, NULL);
    metric_set m;
    metrics_init(&m);
    g_shift = -0.25;   /* pred = rating - .25: ranking by rating, relevance still rating >= 4 */
    assert_int_equal(metrics_evaluate(&fake, NULL, &d, &m), 0);
    assert_true(has_exactly(&m, real, 12));
    /* pop_gamma = 0 (d is zeroed): the popularity-penalised metrics are the plain ones */
    assert_true(metrics_get(&m, "pop_recall_at_10") == metrics_get(&m, "recall_at_10"));
    assert_true(metrics_get(&m, "pop_ndcg_at_10") == metrics_get(&m, "ndcg_at_10"));
    assert_near(metrics_get(&m, "rmse"), 0.25, TOL);
    assert_near(metrics_get(&m, "mae"), 0.25, TOL);
    /* ranking over the 10-item catalogue, k = 10: the rated items first (by rating), the rest
     * last; u0 and u2 have 2 relevant items each (P = 2/10), u3 one (1/10), u1 none (skipped) */
    assert_near(metrics_get(&m, "precision_at_10"), (0.2 + 0.2 + 0.1) / 3, TOL);
    assert_near(metrics_get(&m, "recall_at_10"), 1.0, TOL);
    assert_near(metrics_get(&m, "map_at_10"), 1.0, TOL);
    assert_near(metrics_get(&m, "ndcg_at_10"), 1.0, TOL);
    /* a higher threshold: only rating 5 relevant */
    d.relevance_threshold = 5;
    metrics_init(&m);
    assert_int_equal(metrics_evaluate(&fake, NULL, &d, &m), 0);
    assert_near(metrics_get(&m, "recall_at_10"), 1.0, TOL);
    assert_near(metrics_get(&m, "precision_at_10"), 0.1, TOL);   /* u0, u2, u3: one each */
    d.relevance_threshold = 4;

    /* a cold_users split adds rmse_cold, mae_cold */
    const int32_t cu[] = { 9 }, ci[] = { 9 };
    const double cr[] = { 3 };
    make_split(&d.test_cold, 1, cu, ci, cr, NULL);
    metrics_init(&m);
    assert_int_equal(metrics_evaluate(&fake, NULL, &d, &m), 0);
    assert_int_equal(m.n, 14);
    assert_near(metrics_get(&m, "rmse_cold"), 0.25, TOL);
    assert_near(metrics_get(&m, "mae_cold"), 0.25, TOL);
    ds_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_errors),
        cmocka_unit_test(test_graded_k2),
        cmocka_unit_test(test_graded_fewer_than_k),
        cmocka_unit_test(test_graded_perfect_and_reversed),
        cmocka_unit_test(test_oracle_ties),
        cmocka_unit_test(test_graded_edge),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_evaluate_synthetic),
        cmocka_unit_test(test_evaluate_real),
        cmocka_unit_test(test_evaluate_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
