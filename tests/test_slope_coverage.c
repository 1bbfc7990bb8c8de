/* test_slope_coverage.c — the report's 95% slope CI covers the true slope 93-97% of the time
 * when each replicate has its own random slope (and intercept) on top of per-point noise, and
 * also without the random slope; the former pooled OLS (every replicate x n point independent,
 * n - 2 df) undercovers in the random-slope case (this test would fail it). The same for the
 * paired CI of a difference of slopes (report --diff). Simulated groups go through report_build
 * and report_diff_build, the code `t2rec report` runs. Deterministic seeds; 1000 trials each. */
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
#include "report.h"

#define GROUPS 4        /* independent groups (trials) per report */
#define REPORTS 250     /* GROUPS x REPORTS = 1000 trials */
#define MAXREC 512

typedef struct {
    int R, L;           /* replicates, n_obs levels (2^10, 2^11, ...) */
    double slope;       /* true slope of every group */
    double sd_slope;    /* sd of a replicate's own slope around it */
    double sd_icpt;     /* sd of a replicate's own intercept (at the centre of log n) */
    double sd_noise;    /* per-point noise of log(error) */
} design;

static void make_rec(cell_record *r, const char *method, int d, double nobs, int rep, double err)
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
    r->replicate = rep;
    r->data_seed = 1000 + (uint64_t)rep;
    snprintf(r->status, sizeof r->status, "ok");
    metrics_add(&r->metrics, "excess_risk_cold", err);
}

/* log(error) of replicate-level point (level l of L) with the replicate's slope and intercept */
static double log_err(const design *s, int l, double b, double a, gsl_rng *rng)
{
    double x = log(1024.0 * (1 << l)), xc = log(1024.0) + 0.5 * (s->L - 1) * log(2.0);
    return log(0.05) + a + b * (x - xc) + gsl_ran_gaussian(rng, s->sd_noise);
}

/* Coverage of the report's CI and of the pooled OLS CI over GROUPS x REPORTS trials. */
static void coverage(const design *s, unsigned long seed, double *cov_new, double *cov_pooled,
                     double *mean_width_new, double *mean_width_pooled)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    static cell_record recs[MAXREC];
    double x[MAXREC], y[MAXREC];
    int cn = 0, cp = 0, trials = 0;
    double wn = 0, wp = 0;
    for (int t = 0; t < REPORTS; t++) {
        int n = 0;
        double px[GROUPS][MAXREC / GROUPS], py[GROUPS][MAXREC / GROUPS];
        int np[GROUPS] = {0};
        for (int g = 0; g < GROUPS; g++)
            for (int rep = 0; rep < s->R; rep++) {
                double b = s->slope + gsl_ran_gaussian(rng, s->sd_slope);
                double a = gsl_ran_gaussian(rng, s->sd_icpt);
                for (int l = 0; l < s->L; l++) {
                    double le = log_err(s, l, b, a, rng), nobs = 1024.0 * (1 << l);
                    make_rec(&recs[n++], "twotower", g + 1, nobs, rep, exp(le));
                    px[g][np[g]] = log(nobs);
                    py[g][np[g]++] = le;
                }
            }
        report r;
        assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
        assert_int_equal(r.ngroups, GROUPS);
        for (int g = 0; g < GROUPS; g++) {
            const report_group *gr = &r.groups[g];
            assert_string_equal(gr->status, "fitted");
            assert_int_equal(gr->n_replicates, s->R);
            cn += gr->slope_lo <= s->slope && s->slope <= gr->slope_hi;
            wn += gr->slope_hi - gr->slope_lo;
            /* the former method on the same points */
            double a, b, lo, hi;
            int gi = atoi(kv_str(&gr->keys, "data.user_intrinsic_dim", "0")) - 1;
            assert_true(gi >= 0 && gi < GROUPS);
            memcpy(x, px[gi], sizeof x[0] * (size_t)np[gi]);
            memcpy(y, py[gi], sizeof y[0] * (size_t)np[gi]);
            assert_int_equal(report_fit(x, y, np[gi], &a, &b, &lo, &hi), 0);
            cp += lo <= s->slope && s->slope <= hi;
            wp += hi - lo;
            trials++;
        }
        report_free(&r);
        for (int i = 0; i < n; i++)
            record_free(&recs[i]);
    }
    gsl_rng_free(rng);
    *cov_new = (double)cn / trials;
    *cov_pooled = (double)cp / trials;
    *mean_width_new = wn / trials;
    *mean_width_pooled = wp / trials;
}

/* Replicates with their own slopes (sd 0.07, as the three demo replicates -0.51, -0.53,
 * -0.64 suggest), own intercepts and per-point noise. */
static void test_random_slope(void **state)
{
    (void)state;
    design s = {.R = 5, .L = 6, .slope = -0.5, .sd_slope = 0.07, .sd_icpt = 0.05, .sd_noise = 0.05};
    double cn, cp, wn, wp;
    coverage(&s, 12, &cn, &cp, &wn, &wp);
    print_message("random slope: per-replicate CI covers %.1f%% (mean width %.3f), pooled OLS %.1f%% "
                  "(mean width %.3f), %d trials\n", 100 * cn, wn, 100 * cp, wp, GROUPS * REPORTS);
    assert_true(cn >= 0.93 && cn <= 0.97);
    assert_true(cp < 0.90);   /* the former CI is too narrow here */
    /* three replicates: still nominal (a wider t quantile, 2 df) */
    s.R = 3;
    coverage(&s, 13, &cn, &cp, &wn, &wp);
    print_message("random slope, R = 3: per-replicate CI covers %.1f%%, pooled OLS %.1f%%\n", 100 * cn,
                  100 * cp);
    assert_true(cn >= 0.93 && cn <= 0.97);
    assert_true(cp < 0.90);
}

/* No random slope: per-point noise and random intercepts only. */
static void test_no_random_slope(void **state)
{
    (void)state;
    design s = {.R = 5, .L = 6, .slope = -0.5, .sd_slope = 0, .sd_icpt = 0.1, .sd_noise = 0.1};
    double cn, cp, wn, wp;
    coverage(&s, 21, &cn, &cp, &wn, &wp);
    print_message("no random slope: per-replicate CI covers %.1f%% (mean width %.3f), pooled OLS %.1f%% "
                  "(mean width %.3f)\n", 100 * cn, wn, 100 * cp, wp);
    assert_true(cn >= 0.93 && cn <= 0.97);
}

/* Difference of two groups' slopes (d = 1 vs d = 2) on shared replicates: each replicate's
 * slope effect is common to both groups (same data seed), so the paired CI must cover the true
 * difference 93-97% of the time. */
static void test_paired_difference(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 31);
    design s = {.R = 5, .L = 6, .slope = 0, .sd_slope = 0, .sd_icpt = 0, .sd_noise = 0.05};
    const double b1 = -0.6, b2 = -0.4, truth = b1 - b2;
    static cell_record recs[MAXREC];
    int covered = 0, trials = 0, paired_narrower = 0;
    for (int t = 0; t < 1000; t++) {
        int n = 0;
        for (int rep = 0; rep < s.R; rep++) {
            double shared = gsl_ran_gaussian(rng, 0.08), sa = gsl_ran_gaussian(rng, 0.1);
            for (int g = 0; g < 2; g++) {
                double b = (g ? b2 : b1) + shared + gsl_ran_gaussian(rng, 0.02);
                for (int l = 0; l < s.L; l++)
                    make_rec(&recs[n++], "twotower", g + 1, 1024.0 * (1 << l), rep,
                             exp(log_err(&s, l, b, sa, rng)));
            }
        }
        report r;
        report_diff d;
        char msg[256];
        assert_int_equal(report_build(recs, n, "excess_risk_cold", &r), 0);
        assert_int_equal(report_diff_build(&r, "user_intrinsic_dim=1,2", &d, msg, sizeof msg), 0);
        assert_int_equal(d.nrows, 1);
        const report_diff_row *w = &d.rows[0];
        assert_string_equal(w->status, "ok");
        assert_true(w->paired);
        assert_int_equal(w->n_pairs, s.R);
        covered += w->lo <= truth && truth <= w->hi;
        /* the unpaired (Welch) interval of the same slopes is wider: the shared effect cancels */
        const report_group *g1 = &r.groups[w->a], *g2 = &r.groups[w->b];
        double v1 = 0, v2 = 0;
        for (int k = 0; k < s.R; k++) {
            v1 += pow(g1->reps[k].slope - g1->slope, 2) / (s.R - 1);
            v2 += pow(g2->reps[k].slope - g2->slope, 2) / (s.R - 1);
        }
        paired_narrower += (w->hi - w->lo) < 2 * 1.96 * sqrt(v1 / s.R + v2 / s.R);
        trials++;
        report_diff_free(&d);
        report_free(&r);
        for (int i = 0; i < n; i++)
            record_free(&recs[i]);
    }
    gsl_rng_free(rng);
    print_message("paired difference CI covers %.1f%% of %d trials; narrower than Welch in %d\n",
                  100.0 * covered / trials, trials, paired_narrower);
    assert_true(covered >= 0.93 * trials && covered <= 0.97 * trials);
    assert_true(paired_narrower > 0.9 * trials);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_slope),
        cmocka_unit_test(test_no_random_slope),
        cmocka_unit_test(test_paired_difference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
