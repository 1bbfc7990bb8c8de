/* test_baseline.c — the `baseline` (ALS biases) and `oracle` methods: bias recovery on planted
 * bias-only data, the ALS update equations, unseen-entity fallback, parameter checks, curves,
 * and (on synth_generate data) the oracle's zero excess risk and the metric names of
 * metrics_evaluate. Runs in well under a second. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>
#include "estimator.h"
#include "metrics.h"

extern const est_method est_baseline, est_oracle;

#define assert_near(a, b, tol)                                                              \
    do {                                                                                    \
        double a_ = (a), b_ = (b);                                                          \
        if (!(fabs(a_ - b_) <= (tol)))                                                      \
            fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);                             \
    } while (0)

/* ---------------------------------------------------------------- planted bias-only data */

#define NU 150          /* training users; row NU is a user with no training rating */
#define NI 80           /* training items; row NI is an item with no training rating */
#define PER_USER 40
#define MU 3.5
#define SIGMA 0.1

typedef struct {
    ds_data d;
    double bu[NU], bi[NI];
    double mean;        /* mean training rating */
} planted;

static void fill_split(ds_split *s, long n, gsl_rng *r, const planted *p, int cold_frac)
{
    assert_int_equal(ds_split_alloc(s, n, 0), 0);
    for (long k = 0; k < n; k++) {
        int u = (int)gsl_rng_uniform_int(r, NU), i = (int)gsl_rng_uniform_int(r, NI);
        if (cold_frac && k % cold_frac == 0)
            u = NU;                       /* unseen user */
        if (cold_frac && k % cold_frac == 1)
            i = NI;                       /* unseen item */
        s->user[k] = u;
        s->item[k] = i;
        double bu = u < NU ? p->bu[u] : gsl_ran_gaussian(r, 0.5);
        double bi = i < NI ? p->bi[i] : gsl_ran_gaussian(r, 0.5);
        s->rating[k] = MU + bu + bi + gsl_ran_gaussian(r, SIGMA);
    }
}

static void make_planted(planted *p, unsigned long seed)
{
    memset(p, 0, sizeof *p);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    for (int u = 0; u < NU; u++)
        p->bu[u] = gsl_ran_gaussian(r, 0.5);
    for (int i = 0; i < NI; i++)
        p->bi[i] = gsl_ran_gaussian(r, 0.5);
    ds_data *d = &p->d;
    d->n_users = NU + 1;
    d->n_items = NI + 1;
    assert_int_equal(ds_split_alloc(&d->train, (long)NU * PER_USER, 0), 0);
    int all[NI], pick[PER_USER];
    for (int i = 0; i < NI; i++)
        all[i] = i;
    long k = 0;
    double s = 0;
    for (int u = 0; u < NU; u++) {
        gsl_ran_choose(r, pick, PER_USER, all, NI, sizeof(int));
        for (int j = 0; j < PER_USER; j++, k++) {
            d->train.user[k] = u;
            d->train.item[k] = pick[j];
            d->train.rating[k] = MU + p->bu[u] + p->bi[pick[j]] + gsl_ran_gaussian(r, SIGMA);
            s += d->train.rating[k];
        }
    }
    p->mean = s / (double)k;
    fill_split(&d->valid, 300, r, p, 0);
    fill_split(&d->test_warm, 400, r, p, 10);
    gsl_rng_free(r);
}

typedef struct {
    void *model;
    est_curves curves;
    char err[256];
} fit;

static void *train_with(const est_method *m, const ds_data *d, const char *epochs, const char *reg_u,
                        const char *reg_i, fit *f)
{
    kvset kv;
    kv_init(&kv);
    if (epochs)
        kv_set(&kv, "epochs", epochs);
    if (reg_u)
        kv_set(&kv, "reg_u", reg_u);
    if (reg_i)
        kv_set(&kv, "reg_i", reg_i);
    if (m->params)
        kv_fill_defaults(&kv, m->params);
    est_curves_init(&f->curves);
    f->err[0] = 0;
    est_fit_ctx ctx = { .data = d, .params = &kv, .seed = 1, .threads = 1, .curves = &f->curves,
                        .err = f->err, .errlen = sizeof f->err };
    f->model = m->train(&ctx);
    kv_free(&kv);
    return f->model;
}

static void fit_free(const est_method *m, fit *f)
{
    if (f->model)
        m->free_model(f->model);
    est_curves_free(&f->curves);
}

static double pred1(const est_method *m, const void *model, const ds_data *d, int32_t u, int32_t i)
{
    double out;
    m->predict(model, d, 1, &u, &i, &out);
    return out;
}

/* Biases as the model sees them: b_u = pred(u, unseen item) - mu, b_i = pred(unseen user, i) - mu. */
static void model_biases(const void *model, const planted *p, double mu, double *bu, double *bi)
{
    for (int u = 0; u < NU; u++)
        bu[u] = pred1(&est_baseline, model, &p->d, u, NI) - mu;
    for (int i = 0; i < NI; i++)
        bi[i] = pred1(&est_baseline, model, &p->d, NU, i) - mu;
}

static double split_rmse(const void *model, const ds_data *d, const ds_split *s)
{
    double *out = malloc((size_t)s->n * sizeof *out);
    est_baseline.predict(model, d, s->n, s->user, s->item, out);
    double v = metric_rmse(out, s->rating, s->n);
    free(out);
    return v;
}

/* ---------------------------------------------------------------- tests */

static void test_recovers_planted_biases(void **state)
{
    (void)state;
    static planted p;
    make_planted(&p, 11);
    fit f;
    assert_non_null(train_with(&est_baseline, &p.d, "30", "0.5", "0.5", &f));
    double bu[NU], bi[NI];
    /* mu is the training mean: prediction for an unseen user and unseen item */
    double mu = pred1(&est_baseline, f.model, &p.d, NU, NI);
    assert_near(mu, p.mean, 1e-12);
    model_biases(f.model, &p, mu, bu, bi);
    double cu = gsl_stats_correlation(bu, 1, p.bu, 1, NU);
    double ci = gsl_stats_correlation(bi, 1, p.bi, 1, NI);
    double rmse = split_rmse(f.model, &p.d, &p.d.train);
    double vrmse = split_rmse(f.model, &p.d, &p.d.valid);
    printf("# planted biases: corr users %.5f items %.5f, train RMSE %.5f (sigma %.2f), valid RMSE %.5f\n",
           cu, ci, rmse, SIGMA, vrmse);
    assert_true(cu > 0.95);
    assert_true(ci > 0.95);
    assert_true(rmse > 0.8 * SIGMA && rmse < 1.2 * SIGMA);
    assert_true(vrmse < 1.5 * SIGMA);

    /* curves: one point per epoch; the last train loss is the train MSE of the final model,
     * valid RMSE that of the valid split, no excess risk on real-like data */
    assert_int_equal(f.curves.n, 30);
    assert_int_equal(f.curves.epochs_run, 30);
    assert_near(f.curves.train_loss[29], rmse * rmse, 1e-12);
    assert_near(f.curves.valid_rmse[29], vrmse, 1e-12);
    assert_true(isnan(f.curves.test_excess[29]));
    for (int e = 1; e < f.curves.n; e++)
        assert_true(f.curves.wall_seconds[e] >= f.curves.wall_seconds[e - 1]);
    /* test_warm: every 10th pair has the unseen user, every 10th+1 the unseen item */
    assert_int_equal(f.curves.n_fallback, 80);
    fit_free(&est_baseline, &f);

    /* Surprise's defaults (10 epochs, reg_u 15, reg_i 10) shrink but keep the ordering */
    assert_non_null(train_with(&est_baseline, &p.d, NULL, NULL, NULL, &f));
    assert_int_equal(f.curves.n, 10);
    {
        /* train reads its keys through the table (baseline_parse): an EMPTY kvset (no defaults
         * filled) trains with the table's defaults, never with a second hand-written copy */
        kvset empty;
        kv_init(&empty);
        est_curves cv;
        est_curves_init(&cv);
        char e2[256] = "";
        est_fit_ctx cx = {.data = &p.d, .params = &empty, .seed = 1, .threads = 1, .curves = &cv,
                          .err = e2, .errlen = sizeof e2};
        void *m2 = est_baseline.train(&cx);
        assert_non_null(m2);
        assert_int_equal(cv.n, atoi(param_find(est_baseline.params, "epochs")->def));
        double a[1], b[1];
        int32_t u0 = 0, i0 = 0;
        est_baseline.predict(m2, &p.d, 1, &u0, &i0, a);
        est_baseline.predict(f.model, &p.d, 1, &u0, &i0, b);
        assert_true(a[0] == b[0]);
        est_baseline.free_model(m2);
        est_curves_free(&cv);
    }
    model_biases(f.model, &p, p.mean, bu, bi);
    cu = gsl_stats_correlation(bu, 1, p.bu, 1, NU);
    ci = gsl_stats_correlation(bi, 1, p.bi, 1, NI);
    printf("# defaults: corr users %.5f items %.5f, train RMSE %.5f\n", cu, ci,
           split_rmse(f.model, &p.d, &p.d.train));
    assert_true(cu > 0.95);
    assert_true(ci > 0.95);
    fit_free(&est_baseline, &f);
    ds_free(&p.d);
}

/* The ALS equations: after the last epoch b_i solves its update exactly, b_u nearly (converged),
 * and the regularised objective never increases from one epoch count to the next. */
static void test_als_equations(void **state)
{
    (void)state;
    static planted p;
    make_planted(&p, 12);
    const double ru = 15, ri = 10;
    const ds_split *t = &p.d.train;
    double bu[NU], bi[NI], prev = INFINITY;
    for (int ep = 1; ep <= 6; ep++) {
        fit f;
        char e[16];
        snprintf(e, sizeof e, "%d", ep);
        assert_non_null(train_with(&est_baseline, &p.d, e, "15", "10", &f));
        model_biases(f.model, &p, p.mean, bu, bi);
        double obj = 0;
        for (long k = 0; k < t->n; k++) {
            double r = t->rating[k] - p.mean - bu[t->user[k]] - bi[t->item[k]];
            obj += r * r;
        }
        for (int u = 0; u < NU; u++)
            obj += ru * bu[u] * bu[u];
        for (int i = 0; i < NI; i++)
            obj += ri * bi[i] * bi[i];
        assert_true(obj <= prev + 1e-9);
        prev = obj;
        fit_free(&est_baseline, &f);
    }
    fit f;
    assert_non_null(train_with(&est_baseline, &p.d, "200", "15", "10", &f));
    model_biases(f.model, &p, p.mean, bu, bi);
    double su[NU] = { 0 }, si[NI] = { 0 };
    int nu[NU] = { 0 }, ni[NI] = { 0 };
    for (long k = 0; k < t->n; k++) {
        su[t->user[k]] += t->rating[k] - p.mean - bi[t->item[k]];
        si[t->item[k]] += t->rating[k] - p.mean - bu[t->user[k]];
        nu[t->user[k]]++;
        ni[t->item[k]]++;
    }
    for (int i = 0; i < NI; i++)
        assert_near(bi[i], si[i] / (ri + ni[i]), 1e-12);
    for (int u = 0; u < NU; u++)
        assert_near(bu[u], su[u] / (ru + nu[u]), 1e-9);
    fit_free(&est_baseline, &f);
    ds_free(&p.d);
}

/* An unseen user gets mu + b_i, an unseen item mu + b_u; clipping to a known rating scale. */
static void test_unseen_fallback_and_clip(void **state)
{
    (void)state;
    static planted p;
    make_planted(&p, 13);
    fit f;
    assert_non_null(train_with(&est_baseline, &p.d, NULL, NULL, NULL, &f));
    double mu = p.mean;
    assert_near(pred1(&est_baseline, f.model, &p.d, NU, NI), mu, 1e-12);
    for (int u = 0; u < NU; u += 7)
        for (int i = 0; i < NI; i += 5) {
            double bu = pred1(&est_baseline, f.model, &p.d, u, NI) - mu;
            double bi = pred1(&est_baseline, f.model, &p.d, NU, i) - mu;
            assert_near(pred1(&est_baseline, f.model, &p.d, u, i), mu + bu + bi, 1e-12);
        }
    /* the unseen user's prediction still follows the item biases */
    double b[NI];
    for (int i = 0; i < NI; i++)
        b[i] = pred1(&est_baseline, f.model, &p.d, NU, i) - mu;
    assert_true(gsl_stats_correlation(b, 1, p.bi, 1, NI) > 0.95);
    /* rows beyond the tables are treated as unseen too */
    assert_near(pred1(&est_baseline, f.model, &p.d, NU + 50, NI + 50), mu, 1e-12);

    p.d.rating_min = 3.4;
    p.d.rating_max = 3.6;
    long outside = 0;
    for (long k = 0; k < p.d.test_warm.n; k++) {
        double q = pred1(&est_baseline, f.model, &p.d, p.d.test_warm.user[k], p.d.test_warm.item[k]);
        assert_true(q >= 3.4 && q <= 3.6);
        p.d.rating_max = 0;   /* unclipped */
        double raw = pred1(&est_baseline, f.model, &p.d, p.d.test_warm.user[k], p.d.test_warm.item[k]);
        p.d.rating_max = 3.6;
        outside += raw < 3.4 || raw > 3.6;
    }
    assert_true(outside > 0);
    fit_free(&est_baseline, &f);
    ds_free(&p.d);
}

static void test_parameters_and_failures(void **state)
{
    (void)state;
    kvset kv;
    kv_init(&kv);
    const char *bad = NULL;
    assert_null(est_baseline.check_parameter(&kv, &bad));
    kv_set(&kv, "epochs", "12");
    kv_set(&kv, "reg_u", "0");
    assert_null(est_baseline.check_parameter(&kv, &bad));
    kv_set(&kv, "epochs", "0");
    assert_non_null(est_baseline.check_parameter(&kv, &bad));
    assert_string_equal(bad, "epochs");
    kv_set(&kv, "epochs", "3");
    kv_set(&kv, "reg_i", "-1");
    assert_non_null(est_baseline.check_parameter(&kv, &bad));
    assert_string_equal(bad, "reg_i");
    kv_set(&kv, "reg_i", "abc");
    assert_non_null(est_baseline.check_parameter(&kv, &bad));
    kv_free(&kv);
    assert_non_null(est_baseline.params);
    assert_non_null(param_find(est_baseline.params, "reg_u"));
    assert_true(est_baseline.cold_capable && !est_baseline.needs_truth);
    /* oracle: no keys, needs truth */
    assert_null(est_oracle.params[0].name);
    assert_true(est_oracle.needs_truth);

    /* empty training split: a failed fit with a message */
    ds_data d;
    memset(&d, 0, sizeof d);
    d.n_users = d.n_items = 3;
    fit f;
    assert_null(train_with(&est_baseline, &d, NULL, NULL, NULL, &f));
    assert_true(strlen(f.err) > 0);
    fit_free(&est_baseline, &f);

    /* the oracle refuses real data */
    static planted p;
    make_planted(&p, 14);
    assert_null(train_with(&est_oracle, &p.d, NULL, NULL, NULL, &f));
    assert_string_equal(f.err, "oracle needs synthetic data");
    fit_free(&est_oracle, &f);

    /* real data: metrics_evaluate names exactly the real-data metrics */
    assert_non_null(train_with(&est_baseline, &p.d, NULL, NULL, NULL, &f));
    metric_set m;
    metrics_init(&m);
    assert_int_equal(metrics_evaluate(&est_baseline, f.model, &p.d, &m), 0);
    static const char *const real[] = { "rmse", "mae", "precision_at_10", "recall_at_10",
                                        "map_at_10", "ndcg_at_10" };
    /* the six real-data metrics and the six of issue 15 (pop_*, calibrated recall, coverage,
     * Gini, popularity), plus rmse_valid when there is a valid split */
    assert_int_equal(m.n, 12 + (p.d.valid.n > 0));
    for (int k = 0; k < 6; k++)
        assert_true(isfinite(metrics_get(&m, real[k])));
    if (p.d.valid.n > 0)
        assert_true(isfinite(metrics_get(&m, "rmse_valid")));
    fit_free(&est_baseline, &f);
    ds_free(&p.d);
}

/* On synth_generate data: the oracle has zero excess risk (it predicts the split's oracle
 * values exactly) and ranks perfectly; metrics_evaluate names exactly the synthetic metrics. */
static void test_synthetic_oracle_and_names(void **state)
{
    (void)state;
    static const char *const syn[] = { "excess_risk_cold", "excess_risk_warm", "rmse_cold",
                                       "rmse_warm", "mae_cold", "mae_warm", "ndcg_at_10",
                                       "recall_at_10", "regret_at_10" };
    synth_params sp;
    synth_params_default(&sp);
    sp.seed = 5;
    sp.n_obs = 2000;
    sp.user_intrinsic_dim = sp.item_intrinsic_dim = 2;
    sp.user_ambient_dim = sp.item_ambient_dim = 8;
    sp.test_cold_pairs = 2000;
    sp.test_warm_pairs = 500;
    synth_dataset sd;
    char err[256];
    if (synth_generate(&sp, &sd, err, sizeof err) != 0)
        fail_msg("synth_generate: %s", err);
    ds_data d;
    ds_from_synth(&sd, &d);
    synth_dataset_free(&sd);
    assert_true(d.synthetic);
    assert_true(d.test_cold.n > 0 && d.test_warm.n > 0);

    fit f;
    assert_non_null(train_with(&est_oracle, &d, NULL, NULL, NULL, &f));
    metric_set m;
    metrics_init(&m);
    assert_int_equal(metrics_evaluate(&est_oracle, f.model, &d, &m), 0);
    /* + 6 warm-catalogue metrics and 7 heldout_* of issue 15, + rmse_valid */
    assert_int_equal(m.n, 9 + 13 + (d.valid.n > 0));
    for (int k = 0; k < 9; k++)
        assert_false(isnan(metrics_get(&m, syn[k])));
    printf("# oracle: excess cold %.3g warm %.3g, rmse cold %.4f (noise %.3f), ndcg %.4f\n",
           metrics_get(&m, "excess_risk_cold"), metrics_get(&m, "excess_risk_warm"),
           metrics_get(&m, "rmse_cold"), sp.noise, metrics_get(&m, "ndcg_at_10"));
    assert_true(metrics_get(&m, "excess_risk_cold") == 0.0);
    assert_true(metrics_get(&m, "excess_risk_warm") == 0.0);
    assert_near(metrics_get(&m, "ndcg_at_10"), 1.0, 1e-12);
    assert_near(metrics_get(&m, "recall_at_10"), 1.0, 1e-12);
    assert_near(metrics_get(&m, "regret_at_10"), 0.0, 1e-12);
    fit_free(&est_oracle, &f);

    /* the baseline on the same data: same names, finite, worse than the oracle on cold pairs */
    assert_non_null(train_with(&est_baseline, &d, NULL, NULL, NULL, &f));
    metric_set b;
    metrics_init(&b);
    assert_int_equal(metrics_evaluate(&est_baseline, f.model, &d, &b), 0);
    assert_int_equal(b.n, 9 + 13 + (d.valid.n > 0));   /* + issue 15, + rmse_valid */
    for (int k = 0; k < 9; k++)
        assert_true(isfinite(metrics_get(&b, syn[k])));
    printf("# baseline: excess cold %.4f warm %.4f, ndcg %.4f, regret %.4f\n",
           metrics_get(&b, "excess_risk_cold"), metrics_get(&b, "excess_risk_warm"),
           metrics_get(&b, "ndcg_at_10"), metrics_get(&b, "regret_at_10"));
    assert_true(metrics_get(&b, "excess_risk_cold") > 0.5);     /* Var R* = 1: nothing learnable cold */
    assert_true(metrics_get(&b, "regret_at_10") > 0);
    /* synthetic curves carry the test_cold excess risk, equal at the end to the metric */
    assert_near(f.curves.test_excess[f.curves.n - 1], metrics_get(&b, "excess_risk_cold"), 1e-9);
    fit_free(&est_baseline, &f);
    ds_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovers_planted_biases),
        cmocka_unit_test(test_als_equations),
        cmocka_unit_test(test_unseen_fallback_and_clip),
        cmocka_unit_test(test_parameters_and_failures),
        cmocka_unit_test(test_synthetic_oracle_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
