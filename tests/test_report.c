/* test_report.c — the slope report: planted slopes recovered from per-replicate fits (also on
 * replicate-correlated data, where the CI must widen with the spread of the replicate slopes),
 * groups formed correctly, no slope for "too few points", "not yet learning", "budget-limited"
 * and "no cold predictions" groups, differences of slopes (paired / Welch, zipped keys), the
 * metric check, the failed-cell list, and the CLI exit statuses of report and plot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "h5out.h"
#include "report.h"
#include "testutil.h"

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
    r->data_seed = 5000 + (uint64_t)rep;
    snprintf(r->status, sizeof r->status, "%s", status);
    if (strcmp(status, "ok"))
        record_set_reason(r, "non-finite loss at epoch 3");
    else
        metrics_add(&r->metrics, "excess_risk_cold", err);
}

static void free_recs(cell_record *recs, int n)
{
    for (int i = 0; i < n; i++)
        record_free(&recs[i]);
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
 * for twotower; a flat baseline. Slopes and CIs recover the plants; the baseline on test_cold
 * gets no slope. */
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
            assert_int_equal(g->n_replicates, 4);
            assert_int_equal(g->nrep, 4);
            assert_true(fabs(g->slope - plant[di]) < 0.06);
            assert_true(g->slope_lo < g->slope && g->slope < g->slope_hi);
            /* the group slope is the mean of the replicate slopes */
            double m = 0;
            for (int k = 0; k < 4; k++)
                m += g->reps[k].slope / 4;
            assert_true(fabs(m - g->slope) < 1e-12);
            covered += g->slope_lo <= plant[di] && plant[di] <= g->slope_hi;
            trials++;
            assert_true(fabs(g->theory_slope - (di ? -1.0 / 3 : -0.5)) < 1e-12);
            /* the log^2-corrected slope is steeper by about 2 / log(n) */
            assert_true(g->slope_log2 < g->slope);
            assert_true(g->slope_log2_lo < g->slope_log2 && g->slope_log2 < g->slope_log2_hi);
            /* the baseline predicts the mean on test_cold: a status, not "fitted 0.000" */
            const report_group *b = find(&r, "baseline", di ? "4" : "2");
            assert_string_equal(b->status, "no cold predictions");
            assert_true(isnan(b->slope) && isnan(b->slope_lo));
        }
        report_free(&r);
        free_recs(recs, n);
    }
    printf("planted slope inside the 95%% CI in %d of %d trials\n", covered, trials);
    assert_true(covered >= 33);
    gsl_rng_free(rng);
}

/* The theory slope follows the structure: d = max(d_u, d_i) for the two-tower, d_u + d_i for
 * the joint network (lacunary, beta = 1, d_u = d_i = 2: -2/4 and -2/6). */
static void test_theory_slope_by_structure(void **state)
{
    (void)state;
    cell_record recs[24];
    int n = 0;
    for (int l = 0; l < 4; l++)
        for (int rep = 0; rep < 3; rep++) {
            double nobs = 1024.0 * (1 << l), e = pow(nobs, -0.5) * (1 + 0.01 * rep);
            make_rec(&recs[n++], "twotower", 2, nobs, rep, e, "ok");
            make_rec(&recs[n++], "joint", 2, nobs, rep, e, "ok");
        }
    report r;
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    /* d does not vary in this file: no group key for it */
    const report_group *t = find(&r, "twotower", ""), *j = find(&r, "joint", "");
    assert_non_null(t);
    assert_non_null(j);
    assert_true(fabs(t->theory_slope - -0.5) < 1e-12);
    assert_true(fabs(j->theory_slope - -1.0 / 3) < 1e-12);
    report_free(&r);
    free_recs(recs, n);
}

/* Replicate-correlated data: each replicate has its own slope (sd 0.1) and little point noise.
 * The CI must be about as wide as t(R-1) sd(replicate slopes)/sqrt(R) and much wider than the
 * pooled OLS interval of the same points, which treats the 24 points as independent. */
static void test_replicate_correlated(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    cell_record recs[64];
    double x[64], y[64];
    int n = 0;
    const double own[4] = {-0.62, -0.41, -0.55, -0.48};   /* the replicates' own slopes */
    for (int rep = 0; rep < 4; rep++)
        for (int l = 0; l < 6; l++) {
            double nobs = 1024.0 * (1 << l);
            double le = log(0.2) + own[rep] * log(nobs / 1024.0) + gsl_ran_gaussian(rng, 0.01);
            make_rec(&recs[n], "twotower", 2, nobs, rep, exp(le), "ok");
            x[n] = log(nobs);
            y[n++] = le;
        }
    report r;
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    assert_int_equal(r.ngroups, 1);
    const report_group *g = &r.groups[0];
    assert_string_equal(g->status, "fitted");
    for (int k = 0; k < 4; k++)
        assert_true(fabs(g->reps[k].slope - own[k]) < 0.01);
    double mean = (own[0] + own[1] + own[2] + own[3]) / 4, ss = 0;
    for (int k = 0; k < 4; k++)
        ss += (own[k] - mean) * (own[k] - mean);
    double half = 3.182446305284263 * sqrt(ss / 3) / 2;   /* t(0.975, 3) sd / sqrt(4) */
    assert_true(fabs(g->slope - mean) < 0.01);
    assert_true(fabs((g->slope_hi - g->slope_lo) / 2 - half) < 0.02);
    double a, b, lo, hi;
    assert_int_equal(report_fit(x, y, n, &a, &b, &lo, &hi), 0);
    printf("replicate-correlated: per-replicate CI half-width %.3f, pooled OLS %.3f\n",
           (g->slope_hi - g->slope_lo) / 2, (hi - lo) / 2);
    assert_true(g->slope_hi - g->slope_lo > 2 * (hi - lo));
    report_free(&r);
    free_recs(recs, n);
    gsl_rng_free(rng);
}

static void test_too_few_and_failed(void **state)
{
    (void)state;
    cell_record recs[16];
    int n = 0;
    /* d=2: only two n_obs levels -> too few points; d=4: 3 levels x 2 replicates, one failed
     * cell (replicate 1 keeps 2 levels: no slope of its own); d=8: one replicate */
    make_rec(&recs[n++], "twotower", 2, 1024, 0, 0.5, "ok");
    make_rec(&recs[n++], "twotower", 2, 4096, 0, 0.3, "ok");
    make_rec(&recs[n++], "twotower", 2, 4096, 1, 0.3, "ok");
    for (int rep = 0; rep < 2; rep++) {
        make_rec(&recs[n++], "twotower", 4, 1024, rep, 0.6, "ok");
        make_rec(&recs[n++], "twotower", 4, 2048, rep, 0.5, "ok");
        make_rec(&recs[n++], "twotower", 4, 4096, rep, 0.4, rep ? "failed" : "ok");
    }
    make_rec(&recs[n++], "twotower", 8, 1024, 0, 0.6, "ok");
    make_rec(&recs[n++], "twotower", 8, 2048, 0, 0.5, "ok");
    make_rec(&recs[n++], "twotower", 8, 4096, 0, 0.4, "ok");
    report r;
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    const report_group *g2 = find(&r, "twotower", "2"), *g4 = find(&r, "twotower", "4");
    const report_group *g8 = find(&r, "twotower", "8");
    assert_string_equal(g2->status, "too few points");
    assert_true(isnan(g2->slope) && isnan(g2->slope_log2));
    /* d=4: only replicate 0 has 3 levels: a slope without a CI */
    assert_string_equal(g4->status, "one replicate");
    assert_int_equal(g4->n_failed, 1);
    assert_int_equal(g4->n_points, 5);
    assert_int_equal(g4->nrep, 2);
    assert_int_equal(g4->n_replicates, 1);
    assert_true(isnan(g4->slope_lo) && isnan(g4->slope_hi));
    assert_true(isfinite(g4->slope));
    assert_string_equal(g8->status, "one replicate");
    assert_int_equal(r.n_failed_total, 1);
    /* the text table prints "-" for the slope of the too-few group and no CI for one replicate */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    report_print(f, &r);
    fclose(f);
    const char *lab = "twotower item_intrinsic_dim=2 user_intrinsic_dim=2";
    const char *line = strstr(buf, lab);
    assert_non_null(line);
    int pts, levs, reps;
    char slope[32], ci[32];
    assert_int_equal(sscanf(line + strlen(lab), "%d %d %d %31s %31s", &pts, &levs, &reps, slope, ci), 5);
    assert_string_equal(slope, "-");
    assert_string_equal(ci, "-");
    lab = "twotower item_intrinsic_dim=8 user_intrinsic_dim=8";
    line = strstr(buf, lab);
    assert_non_null(line);
    assert_int_equal(sscanf(line + strlen(lab), "%d %d %d %31s %31s", &pts, &levs, &reps, slope, ci), 5);
    assert_string_equal(slope, "-0.292");   /* log(0.4/0.6)/log(4): one replicate, exact */
    assert_string_equal(ci, "-");
    free(buf);
    report_free(&r);
    free_recs(recs, n);
}

static void test_not_yet_learning(void **state)
{
    (void)state;
    cell_record recs[32];
    int n = 0;
    for (int rep = 0; rep < 2; rep++)
        for (int l = 0; l < 4; l++) {
            double nobs = 1024.0 * (1 << l);
            make_rec(&recs[n++], "baseline", 8, nobs, rep, 0.80, "ok");
            make_rec(&recs[n++], "twotower", 8, nobs, rep, 0.81 - 0.01 * l - 0.001 * rep, "ok");
            make_rec(&recs[n++], "twotower", 2, nobs, rep, 0.5 / (1 << l) * (1 + 0.01 * rep), "ok");
            make_rec(&recs[n++], "baseline", 2, nobs, rep, 0.80, "ok");
        }
    report r;
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    const report_group *g8 = find(&r, "twotower", "8");
    assert_string_equal(g8->status, "not yet learning");
    assert_true(isnan(g8->slope) && isnan(g8->slope_lo) && isnan(g8->slope_log2));
    const report_group *g = find(&r, "twotower", "2");
    assert_string_equal(g->status, "fitted");
    assert_true(fabs(g->slope + 1.0) < 1e-9);   /* error halves at each doubling */
    /* CSV: the not-learning row has empty slope fields */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    report_print_csv(f, &r);
    fclose(f);
    assert_non_null(strstr(buf, "method,item_intrinsic_dim,user_intrinsic_dim,metric,n_points,n_levels,"
                                "n_replicates,n_failed,n_capped,slope,slope_ci_low,slope_ci_high,"
                                "slope_log2,slope_log2_ci_low,slope_log2_ci_high,theory_slope,"
                                "error_at_max_n,status\n"));
    assert_non_null(strstr(buf, "twotower,8,8,excess_risk_cold,8,4,2,0,0,,,,,,,"));
    free(buf);
    report_free(&r);
    free_recs(recs, n);
}

/* A group with a cell stopped at the cap is budget-limited: counted, no slope. */
static void test_budget_limited(void **state)
{
    (void)state;
    cell_record recs[32];
    int n = 0;
    for (int rep = 0; rep < 3; rep++)
        for (int l = 0; l < 4; l++) {
            double nobs = 1024.0 * (1 << l), e = 0.3 * pow(2, -0.5 * l) * (1 + 0.02 * rep);
            make_rec(&recs[n], "twotower", 2, nobs, rep, e, "ok");
            snprintf(recs[n++].curves.stopped_by, sizeof recs[0].curves.stopped_by, "%s",
                     l == 0 && rep < 2 ? "cap" : "patience");
            make_rec(&recs[n], "twotower", 4, nobs, rep, e, "ok");
            snprintf(recs[n++].curves.stopped_by, sizeof recs[0].curves.stopped_by, "patience");
        }
    report r;
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    const report_group *g2 = find(&r, "twotower", "2"), *g4 = find(&r, "twotower", "4");
    assert_string_equal(g2->status, "budget-limited");
    assert_int_equal(g2->n_capped, 2);
    assert_int_equal(g2->n_cells, 12);
    assert_true(isnan(g2->slope) && isnan(g2->slope_lo));
    assert_string_equal(g4->status, "fitted");
    assert_int_equal(g4->n_capped, 0);
    assert_true(fabs(g4->slope + 0.5 / log(2) * log(2)) < 1e-9);
    assert_int_equal(r.n_budget_limited, 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    report_print(f, &r);
    fclose(f);
    assert_non_null(strstr(buf, "budget-limited (2 of 12 cells at the cap)"));
    free(buf);
    report_free(&r);
    free_recs(recs, n);
}

/* mf has no covariates: no slope on test_cold metrics, a slope on test_warm. */
static void test_no_cold_predictions(void **state)
{
    (void)state;
    cell_record recs[32];
    int n = 0;
    for (int rep = 0; rep < 2; rep++)
        for (int l = 0; l < 4; l++) {
            make_rec(&recs[n], "mf", 2, 1024.0 * (1 << l), rep, 0.9, "ok");
            metrics_add(&recs[n++].metrics, "excess_risk_warm", 0.4 * pow(2, -0.3 * l) * (1 + 0.01 * rep));
        }
    report r;
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    assert_string_equal(r.groups[0].status, "no cold predictions");
    assert_true(isnan(r.groups[0].slope));
    report_free(&r);
    assert_int_equal(report_build(recs, n, "excess_risk_warm", &r), 0);
    assert_string_equal(r.groups[0].status, "fitted");
    assert_true(fabs(r.groups[0].slope + 0.3 / log(2) * log(2)) < 1e-9);
    report_free(&r);
    free_recs(recs, n);
}

/* Differences: paired on shared replicates, Welch when the data seeds differ; zipped keys
 * move with the key; bad specs are refused. */
static void test_diff(void **state)
{
    (void)state;
    cell_record recs[64];
    int n = 0;
    /* replicate effects shared by d=2 and d=4: the paired differences are exactly -0.2 */
    const double eff[3] = {0.05, -0.04, 0.02};
    for (int rep = 0; rep < 3; rep++)
        for (int l = 0; l < 4; l++) {
            double nobs = 1024.0 * (1 << l);
            make_rec(&recs[n++], "twotower", 2, nobs, rep, 0.3 * pow(2, (-0.6 + eff[rep]) * l), "ok");
            make_rec(&recs[n++], "twotower", 4, nobs, rep, 0.3 * pow(2, (-0.4 + eff[rep]) * l), "ok");
        }
    report r;
    report_diff d;
    char msg[512];
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    /* the zipped item_intrinsic_dim moves with user_intrinsic_dim */
    assert_int_equal(report_diff_build(&r, "user_intrinsic_dim=2,4", &d, msg, sizeof msg), 0);
    assert_int_equal(d.nrows, 1);
    assert_string_equal(d.rows[0].status, "ok");
    assert_true(d.rows[0].paired);
    assert_int_equal(d.rows[0].n_pairs, 3);
    assert_true(fabs(d.rows[0].diff + 0.2) < 1e-9);
    assert_true(d.rows[0].hi - d.rows[0].lo < 1e-6);   /* the shared effects cancel */
    report_diff_free(&d);
    report_free(&r);
    /* other data seeds for d=4: Welch, wide (the replicate effects no longer cancel) */
    for (int i = 0; i < n; i++)
        if (!strcmp(kv_str(&recs[i].config, "data.user_intrinsic_dim", ""), "4"))
            recs[i].data_seed += 100;
    assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
    assert_int_equal(report_diff_build(&r, "data.user_intrinsic_dim=2,4", &d, msg, sizeof msg), 0);
    assert_false(d.rows[0].paired);
    assert_true(fabs(d.rows[0].diff + 0.2) < 1e-9);
    assert_true(d.rows[0].lo < -0.25 && d.rows[0].hi > -0.15);
    assert_true(d.rows[0].df > 3.9 && d.rows[0].df < 4.1);   /* equal variances, 3 + 3: 4 df */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    report_diff_print_csv(f, &r, &d);
    fclose(f);
    assert_non_null(strstr(buf, ",welch,0,"));
    free(buf);
    report_diff_free(&d);
    /* refused specs */
    assert_int_equal(report_diff_build(&r, "user_intrinsic_dim", &d, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "KEY=A,B"));
    assert_int_equal(report_diff_build(&r, "beta=1,2", &d, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "not a key that varies"));
    assert_int_equal(report_diff_build(&r, "user_intrinsic_dim=2,16", &d, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "second value"));
    report_free(&r);
    free_recs(recs, n);
}

static void test_check_metric_and_failed(void **state)
{
    (void)state;
    cell_record recs[4];
    int n = 0;
    make_rec(&recs[n++], "twotower", 2, 1024, 0, 0.5, "ok");
    make_rec(&recs[n++], "twotower", 4, 1024, 0, 0.5, "failed");
    char msg[512];
    assert_int_equal(report_check_metric(recs, n, "excess_risk_cold", msg, sizeof msg), 0);
    assert_int_equal(report_check_metric(recs, n, "excess_risk_clod", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "unknown metric 'excess_risk_clod'"));
    assert_non_null(strstr(msg, "excess_risk_cold"));
    snprintf(recs[1].key, sizeof recs[1].key, "00000000deadbeef");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(report_print_failed(f, recs, n, 0), 0);
    fclose(f);
    assert_non_null(strstr(buf, "00000000deadbeef twotower"));
    assert_non_null(strstr(buf, "user_intrinsic_dim=4"));
    assert_non_null(strstr(buf, "non-finite loss at epoch 3"));
    assert_null(strstr(buf, "user_intrinsic_dim=2"));   /* the ok cell is not listed */
    free(buf);
    free_recs(recs, n);
}

/* The CLI: unknown metrics exit 2 for report and plot; --failed and --diff run. */
static void test_cli(void **state)
{
    (void)state;
    char dir[512], path[700], cmd[2048], out[8192];
    tu_tmpdir("report_cli", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/r.h5", dir);
    cell_record recs[48];
    int n = 0;
    for (int rep = 0; rep < 2; rep++)
        for (int l = 0; l < 4; l++) {
            make_rec(&recs[n], "twotower", 2, 1024.0 * (1 << l), rep, 0.3 * pow(2, -0.5 * l - 0.01 * rep), "ok");
            snprintf(recs[n].key, sizeof recs[n].key, "%016x", 0x100 + n);
            n++;
            /* d=3: a cell stopped at the epoch cap (stored as stopped_by in the file) */
            make_rec(&recs[n], "twotower", 3, 1024.0 * (1 << l), rep, 0.3 * pow(2, -0.4 * l - 0.01 * rep), "ok");
            snprintf(recs[n].curves.stopped_by, sizeof recs[n].curves.stopped_by, "%s",
                     l == 3 && rep == 1 ? "cap" : "patience");
            snprintf(recs[n].key, sizeof recs[n].key, "%016x", 0x100 + n);
            n++;
            make_rec(&recs[n], "twotower", 4, 1024.0 * (1 << l), rep, 0.95 - 0.01 * rep, l == 3 ? "failed" : "ok");
            snprintf(recs[n].key, sizeof recs[n].key, "%016x", 0x100 + n);
            n++;
        }
    char err[512];
    if (h5out_write(path, recs, n, err, sizeof err) != 0)
        fail_msg("h5out_write: %s", err);
    free_recs(recs, n);
    snprintf(cmd, sizeof cmd, "'%s' report '%s' --metric excess_risk_clod", tu_t2rec(), path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "unknown metric 'excess_risk_clod'"));
    snprintf(cmd, sizeof cmd, "'%s' plot '%s' --metric excess_risk_clod -o '%s/p' --no-render", tu_t2rec(),
             path, dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "excess_risk_cold"));
    snprintf(cmd, sizeof cmd, "'%s' report '%s' --failed", tu_t2rec(), path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "2 failed cells of 24"));
    snprintf(cmd, sizeof cmd, "'%s' report '%s' --diff user_intrinsic_dim=2,4", tu_t2rec(), path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "B: not yet learning"));
    snprintf(cmd, sizeof cmd, "'%s' report '%s' --diff nosuchkey=2,4", tu_t2rec(), path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "'%s' report '%s'", tu_t2rec(), path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "-0.5"));   /* d=2 slope: mean of -0.50 and -0.51 */
    assert_non_null(strstr(out, "budget-limited (1 of 8 cells at the cap)"));
    snprintf(cmd, sizeof cmd, "'%s' plot '%s' -o '%s/p' --no-render", tu_t2rec(), path, dir);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "budget-limited, 1 of 8 cells stopped at the epoch cap"));
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
    assert_int_equal(report_ols(xc, y, 4, &a, &b), -1);
    /* mean CI: t(0.975, 2) = 4.302652729911275 */
    double v[3] = {1, 2, 3}, m;
    assert_int_equal(report_mean_ci(v, 3, &m, &lo, &hi), 0);
    assert_true(fabs(m - 2) < 1e-12 && fabs(hi - 2 - 4.302652729911275 / sqrt(3)) < 1e-9);
    assert_int_equal(report_mean_ci(v, 1, &m, &lo, &hi), 0);
    assert_true(m == 1 && isnan(lo) && isnan(hi));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_exact),
        cmocka_unit_test(test_planted_slopes),
        cmocka_unit_test(test_theory_slope_by_structure),
        cmocka_unit_test(test_replicate_correlated),
        cmocka_unit_test(test_too_few_and_failed),
        cmocka_unit_test(test_not_yet_learning),
        cmocka_unit_test(test_budget_limited),
        cmocka_unit_test(test_no_cold_predictions),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_check_metric_and_failed),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
