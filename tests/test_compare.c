/* test_compare.c — paired comparisons (src/compare.c): the paired t-test, the Wilcoxon
 * signed-rank test (exact with ties and zeros, and the normal approximation) and Holm against
 * values computed independently (mpmath's incomplete beta for t, enumeration of all 2^m sign
 * vectors for Wilcoxon: the script is in the comment of each case); power on a planted
 * difference; the false-positive rate under no difference over 1000 simulated trials; the
 * pairing of cells by replicate, data seed and fold (unpaired cells reported, not dropped);
 * the slope table; and `t2rec compare` end to end on a tiny sweep (CSV columns, exit 2). */
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
#include "compare.h"
#include "h5out.h"
#include "report.h"
#include "testutil.h"

/* References (python3 + mpmath 1.2.1):
 *   t = mean / (sd / sqrt n); p = betainc(df/2, 1/2, 0, df / (df + t^2), regularized);
 *   CI half-width with the t quantile found by root-finding the same betainc;
 *   Wilcoxon: W+ and p = min(1, 2 min(P(S <= W+), P(S >= W+))) over all 2^m sign vectors of
 *   the average ranks of the non-zero |d|. */
static void test_paired_small(void **state)
{
    (void)state;
    const double a[] = {1.2, -0.4, 2.5, 0.8, 1.9, -0.1, 1.1};
    compare_stats s;
    assert_int_equal(compare_paired(a, 7, &s), 0);
    assert_int_equal(s.n, 7);
    assert_true(fabs(s.mean - 1.0) < 1e-12);
    assert_true(fabs(s.t - 2.577900234736241) < 1e-9);
    assert_true(fabs(s.p_t - 0.04188753864217651) < 1e-9);
    assert_true(fabs(s.lo - 0.05081204533296191) < 1e-8);
    assert_true(fabs(s.hi - 1.949187954667038) < 1e-8);
    assert_int_equal(s.n_nonzero, 7);
    assert_true(s.w_plus == 25.0);
    assert_true(fabs(s.p_w - 0.078125) < 1e-12);   /* 20 of 256 sign vectors as extreme, x2 */
    assert_int_equal(s.exact, 1);

    /* a zero (dropped) and ties (|0.5| x3, |1.0| x2: average ranks) */
    const double b[] = {0.5, -0.5, 1.0, 1.0, 0.0, 2.0, -1.5, 0.5};
    assert_int_equal(compare_paired(b, 8, &s), 0);
    assert_true(fabs(s.t - 1.0) < 1e-12);
    assert_true(fabs(s.p_t - 0.35061666282020754) < 1e-9);
    assert_true(fabs(s.lo - -0.5117340943472944) < 1e-8);
    assert_true(fabs(s.hi - 1.2617340943472946) < 1e-8);
    assert_int_equal(s.n_nonzero, 7);
    assert_true(s.w_plus == 20.0);
    assert_true(fabs(s.p_w - 0.328125) < 1e-12);
    assert_int_equal(s.exact, 1);
}

/* 60 differences with ties: the normal approximation (tie-corrected variance, continuity
 * correction): reference W+ = 1463.5, p = erfc(|W+ - m(m+1)/4 - 1/2| / sqrt(2 var)) with
 * var = m(m+1)(2m+1)/24 - sum(t^3 - t)/48 = 5.431535475829078e-05; t: 4.944670143579399,
 * p 6.661281790400014e-06. */
static void test_wilcoxon_normal(void **state)
{
    (void)state;
    const double c[] = {-0.9, 1.1, -0.2, 1.8, 0.5, -0.8, 1.2, -0.1, 1.9, 0.6, -0.7, 1.4, 0.1, 2.1, 0.8,
                        -0.5, 1.5, 0.2, 2.2, 0.9, -0.4, 1.6, 0.3, -0.9, 1.1, -0.2, 1.8, 0.5, -0.8, 1.2,
                        -0.1, 1.9, 0.6, -0.7, 1.4, 0.1, 2.1, 0.8, -0.5, 1.5, 0.2, 2.2, 0.9, -0.4, 1.6,
                        0.3, -0.9, 1.1, -0.2, 1.8, 0.5, -0.8, 1.2, -0.1, 1.9, 0.6, -0.7, 1.4, 0.1, 2.1};
    compare_stats s;
    assert_int_equal(compare_paired(c, 60, &s), 0);
    assert_int_equal(s.exact, 0);
    assert_int_equal(s.n_nonzero, 60);
    assert_true(s.w_plus == 1463.5);
    assert_true(fabs(s.p_w / 5.431535475829078e-05 - 1) < 1e-9);
    assert_true(fabs(s.t - 4.944670143579399) < 1e-9);
    assert_true(fabs(s.p_t / 6.661281790400014e-06 - 1) < 1e-6);
}

static void test_degenerate(void **state)
{
    (void)state;
    compare_stats s;
    const double z[] = {0, 0, 0, 0};
    assert_int_equal(compare_paired(z, 4, &s), 0);
    assert_true(s.p_t == 1.0 && s.p_w == 1.0 && s.mean == 0);
    const double k[] = {0.3, 0.3, 0.3};   /* no spread: t infinite, p 0; Wilcoxon exact 0.25 */
    assert_int_equal(compare_paired(k, 3, &s), 0);
    assert_true(s.p_t == 0.0 && isinf(s.t));
    assert_true(fabs(s.p_w - 0.25) < 1e-12);
    const double one[] = {0.7};
    assert_int_equal(compare_paired(one, 1, &s), 0);
    assert_true(isnan(s.p_t) && isnan(s.lo) && s.mean == 0.7);
    assert_int_equal(compare_paired(one, 0, &s), 0);
    assert_true(isnan(s.mean) && isnan(s.p_w));
    /* five pairs all positive: the smallest two-sided Wilcoxon p is 2/32 */
    const double five[] = {1, 2, 3, 4, 5};
    assert_int_equal(compare_paired(five, 5, &s), 0);
    assert_true(fabs(s.p_w - 0.0625) < 1e-12);
}

/* Holm by hand: sorted 0.005, 0.01, 0.03, 0.04 -> 4x, 3x, 2x, 1x = 0.02, 0.03, 0.06, 0.04,
 * then the running maximum: 0.02, 0.03, 0.06, 0.06. NaN is not in the family. */
static void test_holm(void **state)
{
    (void)state;
    const double p[] = {0.01, 0.04, NAN, 0.03, 0.005};
    double adj[5];
    assert_int_equal(compare_holm(p, 5, adj), 0);
    assert_true(fabs(adj[0] - 0.03) < 1e-15);
    assert_true(fabs(adj[1] - 0.06) < 1e-15);
    assert_true(isnan(adj[2]));
    assert_true(fabs(adj[3] - 0.06) < 1e-15);
    assert_true(fabs(adj[4] - 0.02) < 1e-15);
    const double q[] = {0.5, 0.6};
    assert_int_equal(compare_holm(q, 2, adj), 0);
    assert_true(adj[0] == 1.0 && adj[1] == 1.0);   /* capped at 1 */
}

/* Rejection rates at 0.05 over `trials` simulated samples of n differences N(delta, 1). */
static void rates(gsl_rng *rng, int trials, int n, double delta, double *rt, double *rw, int *exact)
{
    double *d = malloc((size_t)n * sizeof *d);
    int kt = 0, kw = 0;
    *exact = -1;
    for (int t = 0; t < trials; t++) {
        for (int k = 0; k < n; k++)
            d[k] = delta + gsl_ran_gaussian(rng, 1.0);
        compare_stats s;
        assert_int_equal(compare_paired(d, n, &s), 0);
        kt += s.p_t <= 0.05;
        kw += s.p_w <= 0.05;
        *exact = s.exact;
    }
    free(d);
    *rt = (double)kt / trials;
    *rw = (double)kw / trials;
}

/* No difference: both tests reject about 5% of 1000 trials (binomial sd 0.7%), for the exact
 * Wilcoxon (n = 20) and the normal approximation (n = 60). A planted difference of 1 sd with
 * n = 15: the t-test's power is 0.95 (noncentral t), Wilcoxon's about 0.94. */
static void test_false_positives_and_power(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2024);
    double rt, rw;
    int exact;
    rates(rng, 1000, 20, 0.0, &rt, &rw, &exact);
    print_message("no difference, n = 20 (exact Wilcoxon): t rejects %.3f, Wilcoxon %.3f\n", rt, rw);
    assert_int_equal(exact, 1);
    assert_true(rt >= 0.03 && rt <= 0.07);
    assert_true(rw >= 0.03 && rw <= 0.07);
    rates(rng, 1000, 60, 0.0, &rt, &rw, &exact);
    print_message("no difference, n = 60 (normal Wilcoxon): t rejects %.3f, Wilcoxon %.3f\n", rt, rw);
    assert_int_equal(exact, 0);
    assert_true(rt >= 0.03 && rt <= 0.07);
    assert_true(rw >= 0.03 && rw <= 0.07);
    rates(rng, 1000, 15, 1.0, &rt, &rw, &exact);
    print_message("difference 1 sd, n = 15: power t %.3f, Wilcoxon %.3f\n", rt, rw);
    assert_true(rt >= 0.88);
    assert_true(rw >= 0.85);
    gsl_rng_free(rng);
}

/* ---- tables from records ---- */

static void make_rec(cell_record *r, const char *method, const char *fold, double nobs, int rep,
                     uint64_t seed, double err)
{
    record_init(r);
    char buf[64];
    kv_set(&r->config, "method", method);
    snprintf(buf, sizeof buf, "%.0f", nobs);
    kv_set(&r->config, "data.n_obs", buf);
    kv_set(&r->config, "data.beta", "1");
    kv_set(&r->config, "data.user_intrinsic_dim", "2");
    kv_set(&r->config, "data.item_intrinsic_dim", "2");
    if (fold)
        kv_set(&r->config, "data.fold", fold);
    kv_set(&r->config, "experiment.name", "t");
    if (!strcmp(method, "twotower"))
        kv_set(&r->config, "method.depth", "2");
    r->replicate = rep;
    r->data_seed = seed;
    snprintf(r->status, sizeof r->status, "ok");
    metrics_add(&r->metrics, "excess_risk_warm", err);
}

static const compare_row *row_of(const compare_table *t, const char *a, const char *b, const char *block)
{
    for (int k = 0; k < t->nrows; k++)
        if (!strcmp(t->rows[k].label_a, a) && !strcmp(t->rows[k].label_b, b) &&
            (!block || !strcmp(t->block_label[t->rows[k].block], block)))
            return &t->rows[k];
    return NULL;
}

/* Three methods, 2 n_obs levels, 6 replicates with a shared replicate effect (large) and a
 * planted method difference (small): the pairs are formed per n_obs block, the paired
 * differences recover the plant, Holm is over the 3 pairs of a block. Folds are units. */
static void test_table(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    cell_record recs[64];
    int n = 0;
    for (int l = 0; l < 2; l++)
        for (int rep = 0; rep < 6; rep++) {
            double shared = gsl_ran_gaussian(rng, 0.5);   /* the data's luck, common to methods */
            double nobs = 1024 << l;
            make_rec(&recs[n++], "twotower", NULL, nobs, rep, 100 + rep, 1.0 + shared + gsl_ran_gaussian(rng, 0.01));
            make_rec(&recs[n++], "mf", NULL, nobs, rep, 100 + rep, 1.2 + shared + gsl_ran_gaussian(rng, 0.01));
            make_rec(&recs[n++], "baseline", NULL, nobs, rep, 100 + rep, 1.2 + shared + gsl_ran_gaussian(rng, 0.01));
        }
    compare_table t;
    assert_int_equal(compare_build(recs, n, "excess_risk_warm", &t), 0);
    assert_int_equal(t.nblocks, 2);
    assert_int_equal(t.nrows, 6);
    assert_string_equal(t.block_label[0], "n_obs=1024");
    const compare_row *w = row_of(&t, "mf", "twotower", "n_obs=2048");
    assert_non_null(w);
    assert_string_equal(w->status, "ok");
    assert_int_equal(w->s.n, 6);
    assert_true(fabs(w->s.mean - 0.2) < 0.02);
    assert_true(w->s.lo > 0.15 && w->s.hi < 0.25);
    assert_true(w->s.p_t < 1e-6);
    assert_true(fabs(w->s.p_w - 2.0 / 64) < 1e-12);   /* all 6 positive: exact 2 / 2^6 */
    /* Holm over the 3 pairs of the block: the smallest p times 3 at least */
    assert_true(w->p_t_holm >= w->s.p_t && w->p_t_holm <= 3 * w->s.p_t + 1e-15);
    const compare_row *z = row_of(&t, "baseline", "mf", "n_obs=2048");
    assert_non_null(z);
    assert_true(z->s.p_t > 0.01);   /* no planted difference */
    compare_free(&t);
    for (int i = 0; i < n; i++)
        record_free(&recs[i]);

    /* folds are units; a method on other data seeds is unpaired, and cells only one arm has
     * are counted */
    n = 0;
    const char *folds[] = {"u1", "u2", "u3"};
    for (int f = 0; f < 3; f++) {
        make_rec(&recs[n++], "twotower", folds[f], 1000, 0, 7, 0.90 + 0.01 * f);
        make_rec(&recs[n++], "mf", folds[f], 1000, 0, 7, 0.92 + 0.01 * f + 0.001 * f * f);
        make_rec(&recs[n++], "baseline", folds[f], 1000, 0, 99, 0.95);
    }
    make_rec(&recs[n++], "mf", "u4", 1000, 0, 7, 0.93);
    assert_int_equal(compare_build(recs, n, "excess_risk_warm", &t), 0);
    assert_int_equal(t.nblocks, 1);
    w = row_of(&t, "mf", "twotower", NULL);
    assert_non_null(w);
    assert_int_equal(w->s.n, 3);
    assert_int_equal(w->n_only_a, 1);
    assert_int_equal(w->n_only_b, 0);
    assert_true(fabs(w->s.mean - (0.02 + 0.005 / 3)) < 1e-12);
    z = row_of(&t, "baseline", "mf", NULL);
    assert_non_null(z);
    assert_string_equal(z->status, "unpaired (no shared data seed)");
    assert_int_equal(z->s.n, 0);
    assert_int_equal(z->n_only_a, 3);
    assert_int_equal(z->n_only_b, 4);
    compare_free(&t);
    for (int i = 0; i < n; i++)
        record_free(&recs[i]);
    gsl_rng_free(rng);
}

/* Slopes: twotower -0.5, mf -0.3 per replicate (+ shared replicate slope noise): the paired
 * slope difference is -0.2 with a tight CI. */
static void test_slopes(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 9);
    cell_record recs[128];
    int n = 0;
    for (int rep = 0; rep < 5; rep++) {
        double shared = gsl_ran_gaussian(rng, 0.1);
        for (int l = 0; l < 4; l++) {
            double nobs = 1024 << l, x = log(nobs / 1024);
            make_rec(&recs[n++], "twotower", NULL, nobs, rep, 300 + rep,
                     0.5 * exp((-0.5 + shared) * x + gsl_ran_gaussian(rng, 0.002)));
            make_rec(&recs[n++], "mf", NULL, nobs, rep, 300 + rep,
                     0.7 * exp((-0.3 + shared) * x + gsl_ran_gaussian(rng, 0.002)));
        }
    }
    report r;
    assert_int_equal(report_build(recs, n, "excess_risk_warm", &r), 0);
    compare_table t;
    assert_int_equal(compare_build_slopes(&r, &t), 0);
    assert_int_equal(t.nrows, 1);
    const compare_row *w = row_of(&t, "mf", "twotower", NULL);
    assert_non_null(w);
    assert_string_equal(w->status, "ok");
    assert_int_equal(w->s.n, 5);
    assert_true(fabs(w->s.mean - 0.2) < 0.01);
    assert_true(w->s.hi - w->s.lo < 0.02);
    compare_free(&t);
    report_free(&r);
    for (int i = 0; i < n; i++)
        record_free(&recs[i]);
    gsl_rng_free(rng);
}

/* End to end: a tiny sweep of baseline and mf (3 replicates, 3 n_obs levels), then
 * `t2rec compare --csv`: the columns, one row per pair per n_obs block plus the slope row,
 * 3 pairs each; a bad --metric / --where exits 2 and writes no CSV. */
static void test_cli(void **state)
{
    (void)state;
    char dir[512], cfg[600], out[600], csv[600], cmd[4096], buf[65536];
    tu_tmpdir("compare_cli", dir, sizeof dir);
    snprintf(cfg, sizeof cfg, "%s/tiny.ini", dir);
    snprintf(out, sizeof out, "%s/tiny.h5", dir);
    snprintf(csv, sizeof csv, "%s/cmp.csv", dir);
    assert_int_equal(tu_write_file(cfg,
        "[experiment]\nname = tiny\nseed = 3\nreplicates = 3\n\n"
        "[data]\nn_obs = 256, 512, 1024\nuser_ambient_dim = 4\nitem_ambient_dim = 4\n"
        "test_cold_pairs = 200\ntest_warm_pairs = 200\n\n"
        "[method.baseline]\n\n[method.mf]\nrank = 4\nepochs = 5\n"), 0);
    snprintf(cmd, sizeof cmd, "%s run %s -o %s --no-progress 2>&1", tu_t2rec(), cfg, out);
    int rc = tu_run(cmd, buf, sizeof buf);
    if (rc != 0)
        print_message("%s\n", buf);
    assert_int_equal(rc, 0);
    snprintf(cmd, sizeof cmd, "%s compare %s --metric excess_risk_warm --csv %s", tu_t2rec(), out, csv);
    assert_int_equal(tu_run(cmd, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "n_obs=512"));
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "what,block,arm_a,arm_b,n_pairs,n_only_a,n_only_b,mean_a,mean_b,diff,"
                              "diff_ci_low,diff_ci_high,t,p_t,p_t_holm,n_nonzero,w_plus,p_wilcoxon,"
                              "p_wilcoxon_holm,wilcoxon_exact,status\n");
    int rows = 0, slope_rows = 0;
    while (fgets(line, sizeof line, f)) {
        int commas = 0;
        for (char *p = line; *p; p++)
            commas += *p == ',';
        assert_int_equal(commas, 20);
        if (!strncmp(line, "slope,", 6))
            slope_rows++;
        else {
            assert_non_null(strstr(line, "excess_risk_warm,n_obs="));
            assert_non_null(strstr(line, ",baseline,mf,3,0,0,"));
            assert_non_null(strstr(line, ",ok\n"));
            rows++;
        }
    }
    fclose(f);
    assert_int_equal(rows, 3);
    assert_int_equal(slope_rows, 1);
    /* bad input: exit 2, one message, no CSV */
    remove(csv);
    snprintf(cmd, sizeof cmd, "%s compare %s --metric nope --csv %s 2>&1", tu_t2rec(), out, csv);
    assert_int_equal(tu_run(cmd, buf, sizeof buf), 2);
    assert_non_null(strstr(buf, "unknown metric 'nope'"));
    assert_null(fopen(csv, "r"));
    snprintf(cmd, sizeof cmd, "%s compare %s --where n_obs=3 --csv %s 2>&1", tu_t2rec(), out, csv);
    assert_int_equal(tu_run(cmd, buf, sizeof buf), 2);
    assert_non_null(strstr(buf, "no cell matches"));
    assert_null(fopen(csv, "r"));
    snprintf(cmd, sizeof cmd, "%s compare --help", tu_t2rec());
    assert_int_equal(tu_run(cmd, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "Holm"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paired_small),
        cmocka_unit_test(test_wilcoxon_normal),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_holm),
        cmocka_unit_test(test_false_positives_and_power),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_slopes),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
