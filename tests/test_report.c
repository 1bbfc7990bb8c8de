/* test_report.c — the slope report recovers planted slopes, forms groups correctly, and
 * refuses to fit groups with too few points or that are not yet learning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "report.h"

static void make_rec(cell_record *r, const char *method, int d, double nobs, int rep, double err,
                     const char *status)
{
    record_init(r);
    char buf[64];
    kv_set(&r->config, "method", method);
    snprintf(buf, sizeof buf, "%d", d);
    kv_set(&r->config, "data.user_intrinsic_dim", buf);
    kv_set(&r->config, "data.item_intrinsic_dim", buf);
    snprintf(buf, sizeof buf, "%.0f", nobs);
    kv_set(&r->config, "data.n_obs", buf);
    kv_set(&r->config, "data.beta", "1");
    kv_set(&r->config, "data.truth", "lacunary");
    kv_set(&r->config, "experiment.name", "t");
    r->replicate = rep;
    snprintf(r->status, sizeof r->status, "%s", status);
    metrics_add(&r->metrics, "excess_risk_cold", err);
}

static const report_group *find(const report *r, const char *method, const char *d)
{
    for (int i = 0; i < r->ngroups; i++)
        if (!strcmp(r->groups[i].method, method) &&
            !strcmp(kv_str(&r->groups[i].keys, "data.user_intrinsic_dim", ""), d))
            return &r->groups[i];
    return NULL;
}

/* Planted slopes -0.5 (d=2) and -0.33 (d=4) with log-normal noise, 5 levels x 4 replicates,
 * for twotower; a flat baseline; slopes and CIs must recover the plants. */
static void test_planted_slopes(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    cell_record recs[200];
    int n = 0;
    const double plant[2] = {-0.5, -1.0 / 3};
    int covered = 0, trials = 0;
    for (int t = 0; t < 20; t++) {
        n = 0;
        for (int di = 0; di < 2; di++)
            for (int l = 0; l < 5; l++)
                for (int rep = 0; rep < 4; rep++) {
                    double nobs = 1024.0 * (1 << (2 * l));
                    double e = 0.9 * pow(nobs / 1024.0, plant[di]) * exp(gsl_ran_gaussian(rng, 0.1));
                    make_rec(&recs[n++], "twotower", di ? 4 : 2, nobs, rep, e, "ok");
                    make_rec(&recs[n++], "baseline", di ? 4 : 2, nobs, rep,
                             0.95 * exp(gsl_ran_gaussian(rng, 0.01)), "ok");
                }
        report r;
        assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
        assert_int_equal(r.ngroups, 4);
        for (int di = 0; di < 2; di++) {
            const report_group *g = find(&r, "twotower", di ? "4" : "2");
            assert_non_null(g);
            assert_string_equal(g->status, "fitted");
            assert_int_equal(g->n_points, 20);
            assert_int_equal(g->n_levels, 5);
            assert_true(fabs(g->slope - plant[di]) < 0.06);
            assert_true(g->slope_lo < g->slope && g->slope < g->slope_hi);
            covered += g->slope_lo <= plant[di] && plant[di] <= g->slope_hi;
            trials++;
            /* theory slope for beta = 1 */
            assert_true(fabs(g->theory_slope - (di ? -1.0 / 3 : -0.5)) < 1e-12);
            /* the log^2-corrected slope is steeper by about 2 / log(n) */
            assert_true(g->slope_log2 < g->slope);
        }
        report_free(&r);
        for (int i = 0; i < n; i++)
            record_free(&recs[i]);
    }
    /* a 95% interval covers the planted slope in most of 40 trials */
    printf("planted slope inside the 95%% CI in %d of %d trials\n", covered, trials);
    assert_true(covered >= 33);
    gsl_rng_free(rng);
}

static void test_too_few_and_failed(void **state)
{
    (void)state;
    cell_record recs[16];
    int n = 0;
    /* d=2: only two n_obs levels -> too few points; d=4: 3 levels, one failed cell */
    make_rec(&recs[n++], "twotower", 2, 1024, 0, 0.5, "ok");
    make_rec(&recs[n++], "twotower", 2, 4096, 0, 0.3, "ok");
    make_rec(&recs[n++], "twotower", 4, 1024, 0, 0.6, "ok");
    make_rec(&recs[n++], "twotower", 4, 2048, 0, 0.5, "ok");
    make_rec(&recs[n++], "twotower", 4, 4096, 0, 0.4, "ok");
    make_rec(&recs[n++], "twotower", 4, 4096, 1, NAN, "failed");
    report r;
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    const report_group *g2 = find(&r, "twotower", "2"), *g4 = find(&r, "twotower", "4");
    assert_non_null(g2);
    assert_non_null(g4);
    assert_string_equal(g2->status, "too few points");
    assert_true(isnan(g2->slope));
    assert_string_equal(g4->status, "fitted");
    assert_int_equal(g4->n_failed, 1);
    assert_int_equal(g4->n_points, 3);
    assert_int_equal(r.n_failed_total, 1);
    /* exact slope on noiseless points: log(0.4/0.6)/log(4) */
    report_free(&r);
    for (int i = 0; i < n; i++)
        record_free(&recs[i]);
}

static void test_not_yet_learning(void **state)
{
    (void)state;
    cell_record recs[16];
    int n = 0;
    for (int l = 0; l < 4; l++) {
        double nobs = 1024.0 * (1 << l);
        make_rec(&recs[n++], "baseline", 8, nobs, 0, 0.80, "ok");
        make_rec(&recs[n++], "twotower", 8, nobs, 0, 0.81 - 0.01 * l, "ok");   /* 0.78 at the end */
        make_rec(&recs[n++], "twotower", 2, nobs, 0, 0.5 / (1 << l), "ok");
        make_rec(&recs[n++], "baseline", 2, nobs, 0, 0.80, "ok");
    }
    report r;
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    assert_string_equal(find(&r, "twotower", "8")->status, "not yet learning");
    const report_group *g = find(&r, "twotower", "2");
    assert_string_equal(g->status, "fitted");
    assert_true(fabs(g->slope + 1.0) < 1e-9);   /* error halves at each doubling */
    report_free(&r);
    for (int i = 0; i < n; i++)
        record_free(&recs[i]);
}

static void test_fit_exact(void **state)
{
    (void)state;
    double x[5] = {1, 2, 3, 4, 5}, y[5], a, b, lo, hi;
    for (int k = 0; k < 5; k++)
        y[k] = 2 - 0.7 * x[k];
    assert_int_equal(report_fit(x, y, 5, &a, &b, &lo, &hi), 0);
    assert_true(fabs(b + 0.7) < 1e-12 && fabs(a - 2) < 1e-12);
    assert_true(hi - lo < 1e-9);
    assert_int_equal(report_fit(x, y, 2, &a, &b, &lo, &hi), -1);
    double xc[4] = {1, 1, 1, 1};
    assert_int_equal(report_fit(xc, y, 4, &a, &b, &lo, &hi), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_exact),
        cmocka_unit_test(test_planted_slopes),
        cmocka_unit_test(test_too_few_and_failed),
        cmocka_unit_test(test_not_yet_learning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
