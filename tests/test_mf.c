/* test_mf.c — the `mf` method (biased matrix factorisation, ALS and SGD):
 *   - exact recovery of a hand-made rank-1 + biases matrix by ALS with tiny reg;
 *   - every ALS half-step is the exact minimiser of the regularised objective over its block
 *     (zero gradient, computed here independently of est_mf.c) and never increases it,
 *     for reg_scale = count and none;
 *   - unseen users/items: the fallback predictions and the exact count in curves->n_fallback;
 *   - parameters, determinism given the seed, early stopping, divergence;
 *   - synthetic data: test_warm excess risk falls as obs_per_user grows 10 -> 80 at a fixed
 *     population; on test_cold (fresh entities) mf does no better than `baseline`;
 *   - MovieLens 100K u1..u5: mean test RMSE of mf (ALS and SGD) <= 0.915, ALS and SGD within
 *     0.01 on u1, baseline alongside (table printed).
 *
 * MovieLens settings were tuned on the loader's valid split (10% of each uN.base, seed 1),
 * never on the uN.test files: mean over u1..u5 of the best-epoch valid RMSE, e.g.
 *     ALS count  rank 16 reg 0.05                  0.97 (u1; overfits)
 *     ALS count  rank 16 / 32 / 64, reg 0.12       0.9215 / 0.9181 / 0.9165
 *     ALS count  rank 64 reg 0.15 / 0.10           0.9183 / 0.9181     (reg >= 0.2: factors vanish)
 *     ALS none   rank 16 reg 15 reg_bias 2         0.9152 (best epoch 21)  <- chosen (ALS)
 *     ALS none   rank 32 reg 15 reg_bias 5         0.9152 (rank 16 is 4x cheaper)
 *     SGD count  rank 64 lr 0.01 reg 0.12 rb 0.05  0.9153 (best epoch 54) <- chosen (SGD)
 *     SGD count  rank 64 lr 0.005 reg 0.1          0.9263 (not converged by 40 epochs)
 * The final fits use those settings, with epochs = the valid-selected epoch count, on the whole
 * uN.base (valid_fraction = 0), and are scored on uN.test.
 * Run time: ~15-30 s on one core (MovieLens dominates). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>
#include "estimator.h"
#include "loaders.h"
#include "metrics.h"
#include "testutil.h"

extern const est_method est_mf, est_baseline;
/* test hooks defined in src/est_mf.c */
void mf_get(const void *model, int *n_users, int *n_items, int *rank, double *mu,
            const double **bu, const double **bi, const double **P, const double **Q);
int mf_als_half_step(void *model, const ds_data *d, int side, const kvset *params, char *err,
                     size_t errlen);

#define assert_near(a, b, tol)                                                              \
    do {                                                                                    \
        double a_ = (a), b_ = (b);                                                          \
        if (!(fabs(a_ - b_) <= (tol)))                                                      \
            fail_msg("%s = %.17g, expected %.17g (tol %g)", #a, a_, b_, (double)(tol));     \
    } while (0)

/* ---------------------------------------------------------------- helpers */

typedef struct {
    void *model;
    const est_method *m;
    est_curves curves;
    kvset kv;
    char err[256];
    double seconds;
} fit;

/* Train method m on d with "key=value" settings (NULL-terminated list). */
static void *train(const est_method *m, const ds_data *d, uint64_t seed, fit *f, ...)
{
    memset(f, 0, sizeof *f);
    f->m = m;
    kv_init(&f->kv);
    va_list ap;
    va_start(ap, f);
    for (const char *s; (s = va_arg(ap, const char *));)
        assert_int_equal(kv_set_pair(&f->kv, s), 0);
    va_end(ap);
    const char *bad = NULL;
    if (m->check_parameter(&f->kv, &bad))
        fail_msg("bad parameter %s", bad ? bad : "?");
    kv_fill_defaults(&f->kv, m->params);
    est_curves_init(&f->curves);
    est_fit_ctx ctx = { .data = d, .params = &f->kv, .seed = seed, .threads = 1,
                        .curves = &f->curves, .err = f->err, .errlen = sizeof f->err };
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    f->model = m->train(&ctx);
    clock_gettime(CLOCK_MONOTONIC, &b);
    f->seconds = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    return f->model;
}

static void fit_free(fit *f)
{
    if (f->model)
        f->m->free_model(f->model);
    est_curves_free(&f->curves);
    kv_free(&f->kv);
    f->model = NULL;
}

static double *predict_split(const fit *f, const ds_data *d, const ds_split *s)
{
    double *out = malloc((size_t)(s->n > 0 ? s->n : 1) * sizeof *out);
    assert_non_null(out);
    f->m->predict(f->model, d, s->n, s->user, s->item, out);
    return out;
}

static double split_rmse(const fit *f, const ds_data *d, const ds_split *s, double *mae)
{
    double *out = predict_split(f, d, s);
    double v = metric_rmse(out, s->rating, s->n);
    if (mae)
        *mae = metric_mae(out, s->rating, s->n);
    free(out);
    return v;
}

static double pred1(const fit *f, const ds_data *d, int32_t u, int32_t i)
{
    double out;
    f->m->predict(f->model, d, 1, &u, &i, &out);
    return out;
}

/* A planted low-rank + biases dataset: users 0..nu-1 and items 0..ni-1, each pair observed with
 * probability dens; ratings mu + a_u + c_i + <x_u, y_i> + noise. Unobserved pairs go to valid
 * with probability 0.3. Extra rows (unseen entities) are added by the caller via d->n_users. */
typedef struct {
    ds_data d;
    int nu, ni, r;
    double a[200], c[200], x[200 * 4], y[200 * 4];
} planted;

static double planted_value(const planted *p, int u, int i)
{
    double v = 3.0 + p->a[u] + p->c[i];
    for (int k = 0; k < p->r; k++)
        v += p->x[u * p->r + k] * p->y[i * p->r + k];
    return v;
}

static void make_planted(planted *p, int nu, int ni, int r, double dens, double noise,
                         unsigned long seed)
{
    memset(p, 0, sizeof *p);
    p->nu = nu;
    p->ni = ni;
    p->r = r;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, seed);
    for (int u = 0; u < nu; u++) {
        p->a[u] = gsl_ran_gaussian(g, 0.4);
        for (int k = 0; k < r; k++)
            p->x[u * r + k] = gsl_ran_gaussian(g, 1.0);
    }
    for (int i = 0; i < ni; i++) {
        p->c[i] = gsl_ran_gaussian(g, 0.4);
        for (int k = 0; k < r; k++)
            p->y[i * r + k] = gsl_ran_gaussian(g, 0.7);
    }
    ds_data *d = &p->d;
    d->n_users = nu;
    d->n_items = ni;
    long ntr = 0, nva = 0;
    char *code = malloc((size_t)nu * ni);
    for (int u = 0; u < nu; u++)
        for (int i = 0; i < ni; i++) {
            double z = gsl_rng_uniform(g);
            /* every user and item gets at least one rating: the diagonal is always observed */
            code[u * ni + i] = (z < dens || u % ni == i || i % nu == u) ? 1 : z < dens + 0.3 * (1 - dens) ? 2 : 0;
            ntr += code[u * ni + i] == 1;
            nva += code[u * ni + i] == 2;
        }
    assert_int_equal(ds_split_alloc(&d->train, ntr, 0), 0);
    assert_int_equal(ds_split_alloc(&d->valid, nva, 0), 0);
    long kt = 0, kv = 0;
    for (int u = 0; u < nu; u++)
        for (int i = 0; i < ni; i++) {
            ds_split *s = code[u * ni + i] == 1 ? &d->train : code[u * ni + i] == 2 ? &d->valid : NULL;
            if (!s)
                continue;
            long k = s == &d->train ? kt++ : kv++;
            s->user[k] = u;
            s->item[k] = i;
            s->rating[k] = planted_value(p, u, i) + (noise > 0 ? gsl_ran_gaussian(g, noise) : 0);
        }
    free(code);
    gsl_rng_free(g);
}

/* ---------------------------------------------------------------- exact recovery */

static void test_rank1_exact_recovery(void **state)
{
    (void)state;
    static planted p;
    make_planted(&p, 40, 25, 1, 0.6, 0.0, 21);
    fit f;
    assert_non_null(train(&est_mf, &p.d, 3, &f, "solver=als", "rank=1", "reg=1e-9", "reg_bias=1e-9",
                          "reg_scale=none", "epochs=300", NULL));
    double tr = split_rmse(&f, &p.d, &p.d.train, NULL);
    double va = split_rmse(&f, &p.d, &p.d.valid, NULL);
    printf("# rank-1 + biases, %ld of %d cells observed: train RMSE %.3g, held-out cells RMSE %.3g\n",
           p.d.train.n, p.nu * p.ni, tr, va);
    assert_true(tr < 1e-5);
    assert_true(va < 1e-4);      /* the matrix itself is recovered, not just the observed cells */
    assert_int_equal(f.curves.n, 300);
    /* training loss curve: the train MSE of the model after each epoch, non-increasing for ALS */
    assert_near(f.curves.train_loss[299], tr * tr, 1e-15);
    for (int e = 1; e < 300; e++)
        assert_true(f.curves.train_loss[e] <= f.curves.train_loss[e - 1] * (1 + 1e-9) + 1e-18);
    fit_free(&f);

    /* rank 0 of structure left out: a biases-only fit (rank 1 with huge reg) cannot do it */
    assert_non_null(train(&est_mf, &p.d, 3, &f, "rank=1", "reg=1e6", "reg_bias=1e-9",
                          "reg_scale=none", "epochs=50", NULL));
    assert_true(split_rmse(&f, &p.d, &p.d.train, NULL) > 0.1);
    fit_free(&f);
    ds_free(&p.d);
}

/* ---------------------------------------------------------------- ALS half-steps */

/* The regularised objective, computed from the model's arrays (seen entities only). */
static double objective(const void *model, const ds_data *d, double reg, double reg_bias, int count,
                        const long *nu, const long *ni)
{
    int NU, NI, k;
    double mu;
    const double *bu, *bi, *P, *Q;
    mf_get(model, &NU, &NI, &k, &mu, &bu, &bi, &P, &Q);
    const ds_split *t = &d->train;
    double J = 0;
    for (long n = 0; n < t->n; n++) {
        int u = t->user[n], i = t->item[n];
        double pr = mu + bu[u] + bi[i];
        for (int a = 0; a < k; a++)
            pr += P[u * k + a] * Q[i * k + a];
        J += (t->rating[n] - pr) * (t->rating[n] - pr);
    }
    for (int side = 0; side < 2; side++) {
        int ne = side ? NI : NU;
        const long *cnt = side ? ni : nu;
        const double *B = side ? bi : bu, *F = side ? Q : P;
        for (int e = 0; e < ne; e++) {
            if (!cnt[e])
                continue;
            double w = count ? (double)cnt[e] : 1.0, s = 0;
            for (int a = 0; a < k; a++)
                s += F[e * k + a] * F[e * k + a];
            J += w * (reg * s + reg_bias * B[e] * B[e]);
        }
    }
    return J;
}

/* Largest |gradient| of the objective over the block of `side`, relative to its data scale. */
static double block_gradient(const void *model, const ds_data *d, int side, double reg,
                             double reg_bias, int count, const long *cnt)
{
    int NU, NI, k;
    double mu;
    const double *bu, *bi, *P, *Q;
    mf_get(model, &NU, &NI, &k, &mu, &bu, &bi, &P, &Q);
    int ne = side ? NI : NU;
    double *g = calloc((size_t)ne * (k + 1), sizeof *g);
    const ds_split *t = &d->train;
    for (long n = 0; n < t->n; n++) {
        int u = t->user[n], i = t->item[n];
        double pr = mu + bu[u] + bi[i];
        for (int a = 0; a < k; a++)
            pr += P[u * k + a] * Q[i * k + a];
        double e = t->rating[n] - pr;
        int me = side ? i : u;
        const double *other = side ? P + u * k : Q + i * k;
        g[me * (k + 1)] += -2 * e;
        for (int a = 0; a < k; a++)
            g[me * (k + 1) + 1 + a] += -2 * e * other[a];
    }
    const double *B = side ? bi : bu, *F = side ? Q : P;
    double worst = 0;
    for (int e = 0; e < ne; e++) {
        if (!cnt[e])
            continue;
        double w = count ? (double)cnt[e] : 1.0;
        g[e * (k + 1)] += 2 * w * reg_bias * B[e];
        for (int a = 0; a < k; a++)
            g[e * (k + 1) + 1 + a] += 2 * w * reg * F[e * k + a];
        for (int a = 0; a <= k; a++)
            worst = fmax(worst, fabs(g[e * (k + 1) + a]) / (double)cnt[e]);
    }
    free(g);
    return worst;
}

static void half_steps(const char *scale, const char *reg_s, const char *rb_s)
{
    static planted p;
    make_planted(&p, 60, 45, 3, 0.35, 0.3, 22);
    long nu[60] = { 0 }, ni[45] = { 0 };
    for (long n = 0; n < p.d.train.n; n++) {
        nu[p.d.train.user[n]]++;
        ni[p.d.train.item[n]]++;
    }
    int count = strcmp(scale, "count") == 0;
    double reg = atof(reg_s), rb = atof(rb_s);
    char a[64], b[64], c[64];
    snprintf(a, sizeof a, "reg_scale=%s", scale);
    snprintf(b, sizeof b, "reg=%s", reg_s);
    snprintf(c, sizeof c, "reg_bias=%s", rb_s);
    fit f;
    assert_non_null(train(&est_mf, &p.d, 5, &f, "rank=6", "epochs=1", a, b, c, NULL));
    /* the epoch ended with an item half-step: the item block is at its exact minimum */
    assert_true(block_gradient(f.model, &p.d, 1, reg, rb, count, ni) < 1e-9);
    double prev = objective(f.model, &p.d, reg, rb, count, nu, ni), first = prev;
    char err[256];
    for (int h = 0; h < 16; h++) {
        int side = h % 2;
        assert_int_equal(mf_als_half_step(f.model, &p.d, side, &f.kv, err, sizeof err), 0);
        double J = objective(f.model, &p.d, reg, rb, count, nu, ni);
        double g = block_gradient(f.model, &p.d, side, reg, rb, count, side ? ni : nu);
        if (!(J <= prev * (1 + 1e-12)))
            fail_msg("half-step %d (%s) increased the objective %.17g -> %.17g", h, side ? "items" : "users", prev, J);
        if (!(g < 1e-9))
            fail_msg("half-step %d (%s): gradient %.3g after the exact solve", h, side ? "items" : "users", g);
        prev = J;
    }
    printf("# reg_scale=%s reg=%s reg_bias=%s: objective %.6f -> %.6f over 16 half-steps\n", scale,
           reg_s, rb_s, first, prev);
    assert_true(prev < first);
    fit_free(&f);
    ds_free(&p.d);
}

static void test_als_half_steps_exact(void **state)
{
    (void)state;
    half_steps("count", "0.1", "0.02");
    half_steps("none", "3", "1");
    half_steps("count", "0", "0");   /* reg = 0: least squares with a ridge only where singular */
}

/* ---------------------------------------------------------------- fallback */

static void test_fallback_counting(void **state)
{
    (void)state;
    static planted p;
    make_planted(&p, 30, 20, 2, 0.5, 0.1, 23);
    ds_data *d = &p.d;
    /* two unseen users (rows 30, 31) and three unseen items (rows 20..22) in the tables */
    d->n_users = 32;
    d->n_items = 23;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 9);
    long expect_warm = 0;
    assert_int_equal(ds_split_alloc(&d->test_warm, 500, 0), 0);
    for (long k = 0; k < 500; k++) {
        int u = (int)gsl_rng_uniform_int(g, 32), i = (int)gsl_rng_uniform_int(g, 23);
        if (k % 50 == 7)
            u = 40;            /* past the table: unseen too */
        d->test_warm.user[k] = u;
        d->test_warm.item[k] = i;
        d->test_warm.rating[k] = 3;
        expect_warm += u >= 30 || i >= 20;
    }
    assert_int_equal(ds_split_alloc(&d->test_cold, 60, 0), 0);
    for (long k = 0; k < 60; k++) {
        d->test_cold.user[k] = 30 + (int)(k % 2);
        d->test_cold.item[k] = (int)(k % 23);      /* some cold users with seen items */
        d->test_cold.rating[k] = 3;
    }
    long expect_cold = 60;
    /* valid pairs with unseen entities are not counted */
    d->valid.user[0] = 31;
    gsl_rng_free(g);

    for (int s = 0; s < 2; s++) {
        fit f;
        assert_non_null(train(&est_mf, d, 4, &f, s ? "solver=sgd" : "solver=als", "rank=3", "epochs=5", NULL));
        printf("# %s: n_fallback %ld (expected %ld + %ld); note: %s\n", s ? "sgd" : "als",
               f.curves.n_fallback, expect_warm, expect_cold, f.curves.note);
        assert_int_equal(f.curves.n_fallback, expect_warm + expect_cold);
        assert_true(strlen(f.curves.note) > 0);
        int NU, NI, k;
        double mu;
        const double *bu, *bi, *P, *Q;
        mf_get(f.model, &NU, &NI, &k, &mu, &bu, &bi, &P, &Q);
        double mean = 0;
        for (long n = 0; n < d->train.n; n++)
            mean += d->train.rating[n];
        assert_near(mu, mean / (double)d->train.n, 1e-12);
        assert_near(pred1(&f, d, 30, 21), mu, 1e-12);
        assert_near(pred1(&f, d, 99, -1), mu, 1e-12);
        for (int i = 0; i < 20; i++)
            assert_near(pred1(&f, d, 31, i), mu + bi[i], 1e-12);
        for (int u = 0; u < 30; u++) {
            assert_near(pred1(&f, d, u, 22), mu + bu[u], 1e-12);
            for (int i = 0; i < 20; i += 3) {
                double want = mu + bu[u] + bi[i];
                for (int a = 0; a < k; a++)
                    want += P[u * k + a] * Q[i * k + a];
                assert_near(pred1(&f, d, u, i), want, 1e-12);
            }
        }
        /* clipping on a known rating scale */
        d->rating_min = 2.9;
        d->rating_max = 3.1;
        long outside = 0;
        for (int u = 0; u < 30; u++)
            for (int i = 0; i < 20; i++) {
                double q = pred1(&f, d, u, i);
                assert_true(q >= 2.9 && q <= 3.1);
                outside += q == 2.9 || q == 3.1;
            }
        assert_true(outside > 0);
        d->rating_min = d->rating_max = 0;
        fit_free(&f);
    }
    ds_free(d);
}

/* ---------------------------------------------------------------- parameters and behaviour */

static void test_parameters_determinism_early_stop(void **state)
{
    (void)state;
    kvset kv;
    kv_init(&kv);
    const char *bad = NULL;
    assert_null(est_mf.check_parameter(&kv, &bad));
    static const char *const cases[][2] = {
        { "solver", "newton" }, { "rank", "0" }, { "reg", "-1" }, { "reg_bias", "x" },
        { "reg_scale", "all" }, { "epochs", "0" }, { "lr", "0" }, { "init_sd", "-0.1" },
        { "patience", "-2" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        kvset k2;
        kv_init(&k2);
        kv_set(&k2, cases[c][0], cases[c][1]);
        bad = NULL;
        assert_non_null(est_mf.check_parameter(&k2, &bad));
        assert_string_equal(bad, cases[c][0]);
        kv_free(&k2);
    }
    kv_fill_defaults(&kv, est_mf.params);
    assert_string_equal(kv_get(&kv, "solver"), "als");
    assert_string_equal(kv_get(&kv, "rank"), "16");
    assert_string_equal(kv_get(&kv, "reg"), "0.05");
    assert_string_equal(kv_get(&kv, "epochs"), "20");
    assert_string_equal(kv_get(&kv, "lr"), "0.005");
    assert_string_equal(kv_get(&kv, "init_sd"), "0.1");
    assert_string_equal(kv_get(&kv, "patience"), "0");
    kv_free(&kv);
    assert_true(est_mf.cold_capable && !est_mf.needs_truth);
    assert_string_equal(est_mf.name, "mf");

    static planted p;
    make_planted(&p, 80, 60, 3, 0.25, 0.5, 24);
    /* determinism: same seed -> bitwise the same predictions; another seed -> different */
    for (int s = 0; s < 2; s++) {
        const char *solver = s ? "solver=sgd" : "solver=als";
        fit f1, f2, f3;
        assert_non_null(train(&est_mf, &p.d, 11, &f1, solver, "epochs=5", NULL));
        assert_non_null(train(&est_mf, &p.d, 11, &f2, solver, "epochs=5", NULL));
        assert_non_null(train(&est_mf, &p.d, 12, &f3, solver, "epochs=5", NULL));
        double *a = predict_split(&f1, &p.d, &p.d.valid), *b = predict_split(&f2, &p.d, &p.d.valid),
               *c = predict_split(&f3, &p.d, &p.d.valid);
        assert_memory_equal(a, b, (size_t)p.d.valid.n * sizeof *a);
        assert_true(memcmp(a, c, (size_t)p.d.valid.n * sizeof *a) != 0);
        free(a);
        free(b);
        free(c);
        fit_free(&f1);
        fit_free(&f2);
        fit_free(&f3);
    }
    /* early stopping: SGD at rank 16 with almost no reg overfits this small noisy matrix */
    fit f;
    assert_non_null(train(&est_mf, &p.d, 13, &f, "solver=sgd", "lr=0.02", "rank=16", "reg=0.001",
                          "reg_bias=0.001", "epochs=200", "patience=3", NULL));
    const est_curves *c = &f.curves;
    printf("# early stopping: best epoch %d of %d run, valid RMSE %.4f (last %.4f)\n", c->best_epoch,
           c->epochs_run, c->valid_rmse[c->best_epoch - 1], c->valid_rmse[c->n - 1]);
    assert_true(c->best_epoch >= 1 && c->epochs_run == c->best_epoch + 3 && c->epochs_run < 200);
    assert_int_equal(c->n, c->epochs_run);
    for (int e = 0; e < c->n; e++)
        assert_true(c->valid_rmse[e] >= c->valid_rmse[c->best_epoch - 1]);
    assert_near(split_rmse(&f, &p.d, &p.d.valid, NULL), c->valid_rmse[c->best_epoch - 1], 1e-12);
    assert_true(isnan(c->test_excess[0]));
    assert_string_equal(c->stopped_by, "patience");
    int best3 = c->best_epoch;
    fit_free(&f);
    /* patience 0 (one meaning for every method): every epoch runs, and the BEST valid epoch's
     * factors are kept, not the last (this overfitting fit peaks early) */
    assert_non_null(train(&est_mf, &p.d, 13, &f, "solver=sgd", "lr=0.02", "rank=16", "reg=0.001",
                          "reg_bias=0.001", "epochs=40", NULL));
    assert_int_equal(f.curves.epochs_run, 40);
    assert_string_equal(f.curves.stopped_by, "cap");
    assert_int_equal(f.curves.best_epoch, best3);
    assert_true(f.curves.best_epoch < 40);
    assert_true(f.curves.valid_rmse[39] > f.curves.valid_rmse[best3 - 1]);
    assert_near(split_rmse(&f, &p.d, &p.d.valid, NULL), f.curves.valid_rmse[best3 - 1], 1e-12);
    fit_free(&f);
    /* a diverging SGD is a failed fit with a reason, not a crash */
    assert_null(train(&est_mf, &p.d, 13, &f, "solver=sgd", "lr=50", "epochs=5", NULL));
    printf("# lr=50: %s\n", f.err);
    assert_non_null(strstr(f.err, "non-finite"));
    assert_string_equal(f.curves.stopped_by, "diverged");
    fit_free(&f);
    /* reg = 0 with a user of one rating (singular normal equations): still a finite fit */
    ds_data z;
    memset(&z, 0, sizeof z);
    z.n_users = z.n_items = 4;
    assert_int_equal(ds_split_alloc(&z.train, 7, 0), 0);
    static const int zu[] = { 0, 1, 1, 2, 2, 3, 3 }, zi[] = { 0, 0, 1, 1, 2, 2, 3 };
    for (int n = 0; n < 7; n++) {
        z.train.user[n] = zu[n];
        z.train.item[n] = zi[n];
        z.train.rating[n] = 1 + n % 4;
    }
    assert_non_null(train(&est_mf, &z, 1, &f, "rank=3", "reg=0", "reg_bias=0", "epochs=3", NULL));
    for (int u = 0; u < 4; u++)
        for (int i = 0; i < 4; i++)
            assert_true(isfinite(pred1(&f, &z, u, i)));
    assert_true(split_rmse(&f, &z, &z.train, NULL) < 1e-3);
    fit_free(&f);
    ds_free(&z);
    /* empty training split */
    ds_data e;
    memset(&e, 0, sizeof e);
    e.n_users = e.n_items = 2;
    assert_null(train(&est_mf, &e, 1, &f, NULL));
    assert_true(strlen(f.err) > 0);
    fit_free(&f);
    ds_free(&p.d);
}

/* ---------------------------------------------------------------- synthetic */

static void test_synthetic_warm_and_cold(void **state)
{
    (void)state;
    const int n_users = 200, n_items = 200;
    const int opu[] = { 10, 20, 40, 80 };
    double warm[4], cold[4], bcold[4], bwarm[4];
    printf("# synthetic (lacunary, d=2, D=16, truth_dim 4, noise 0.1), %d users x %d items:\n", n_users, n_items);
    printf("# %-13s %8s %14s %14s %14s %14s %10s\n", "obs_per_user", "n_obs", "mf warm", "mf cold",
           "base warm", "base cold", "fallback");
    for (int s = 0; s < 4; s++) {
        synth_params sp;
        synth_params_default(&sp);
        sp.seed = 31;
        sp.n_obs = (long)n_users * opu[s];
        sp.obs_per_user = opu[s];
        sp.obs_per_item = (double)sp.n_obs / n_items;
        sp.test_warm_pairs = 2000;
        sp.test_cold_pairs = 2000;
        synth_dataset sd;
        char err[256];
        if (synth_generate(&sp, &sd, err, sizeof err) != 0)
            fail_msg("synth_generate: %s", err);
        assert_int_equal(sd.n_users, n_users);
        assert_int_equal(sd.n_items, n_items);
        ds_data d;
        ds_from_synth(&sd, &d);
        synth_dataset_free(&sd);
        fit f, b;
        assert_non_null(train(&est_mf, &d, 41, &f, "rank=8", "reg=0.1", "reg_bias=0.05", "epochs=25", NULL));
        assert_non_null(train(&est_baseline, &d, 41, &b, NULL));
        metric_set mm, mb;
        metrics_init(&mm);
        metrics_init(&mb);
        assert_int_equal(metrics_evaluate(&est_mf, f.model, &d, &mm), 0);
        assert_int_equal(metrics_evaluate(&est_baseline, b.model, &d, &mb), 0);
        warm[s] = metrics_get(&mm, "excess_risk_warm");
        cold[s] = metrics_get(&mm, "excess_risk_cold");
        bwarm[s] = metrics_get(&mb, "excess_risk_warm");
        bcold[s] = metrics_get(&mb, "excess_risk_cold");
        printf("# %-13d %8ld %14.5f %14.5f %14.5f %14.5f %10ld\n", opu[s], sp.n_obs, warm[s], cold[s],
               bwarm[s], bcold[s], f.curves.n_fallback);
        /* curves carry the test_cold excess risk of the final model */
        assert_near(f.curves.test_excess[f.curves.n - 1], cold[s], 1e-9);
        /* every test_cold pair has fresh entities: all fall back; test_warm ones never */
        assert_int_equal(f.curves.n_fallback, d.test_cold.n);
        /* cold: no covariates, nothing better than the baseline (both predict about mu) */
        assert_true(cold[s] >= 0.95 * bcold[s]);
        /* warm: the factors do learn the low-rank truth */
        assert_true(warm[s] < bwarm[s]);
        fit_free(&f);
        fit_free(&b);
        ds_free(&d);
    }
    for (int s = 1; s < 4; s++)
        assert_true(warm[s] < warm[s - 1]);
    assert_true(warm[3] < 0.25 * warm[0]);
}

/* ---------------------------------------------------------------- MovieLens 100K */

static void mean_ci(const double *x, int n, double *mean, double *half)
{
    *mean = gsl_stats_mean(x, 1, (size_t)n);
    *half = gsl_cdf_tdist_Pinv(0.975, n - 1) * gsl_stats_sd(x, 1, (size_t)n) / sqrt((double)n);
}

static void test_movielens100k(void **state)
{
    (void)state;
    if (!tu_have_movielens()) {
        printf("# SKIPPED: data/ml-100k is absent (run `make data/ml-100k`)\n");
        skip();
    }
    static const char *const folds[] = { "u1", "u2", "u3", "u4", "u5" };
    double rm[3][5], ma[3][5], sec[3][5];
    printf("# MovieLens 100K, train = whole uN.base, test = uN.test\n");
    printf("# %-4s %9s %9s %10s %10s %10s %10s %7s %7s %7s\n", "fold", "base_rmse", "base_mae",
           "als_rmse", "als_mae", "sgd_rmse", "sgd_mae", "base_s", "als_s", "sgd_s");
    for (int k = 0; k < 5; k++) {
        ds_data d;
        char err[256];
        if (load_movielens100k("data/ml-100k", folds[k], "fold", 0.0, 0.1, 1, &d, err, sizeof err) != 0)
            fail_msg("load: %s", err);
        fit f[3];
        /* baseline with the settings of paper_configs/movielens100k.ini (tuned on the valid
         * part of the base files: reg_u 5, reg_i 2, 20 epochs) */
        assert_non_null(train(&est_baseline, &d, 1, &f[0], "reg_u=5", "reg_i=2", "epochs=20", NULL));
        assert_non_null(train(&est_mf, &d, 1, &f[1], "solver=als", "rank=16", "reg=15", "reg_bias=2",
                              "reg_scale=none", "epochs=21", NULL));
        assert_non_null(train(&est_mf, &d, 1, &f[2], "solver=sgd", "rank=64", "lr=0.01", "reg=0.12",
                              "reg_bias=0.05", "reg_scale=count", "epochs=55", NULL));
        for (int m = 0; m < 3; m++) {
            rm[m][k] = split_rmse(&f[m], &d, &d.test_warm, &ma[m][k]);
            sec[m][k] = f[m].seconds;
        }
        /* fallback: test pairs whose item (or user) has no rating in the base file */
        long *nu = calloc((size_t)d.n_users, sizeof *nu), *ni = calloc((size_t)d.n_items, sizeof *ni);
        for (long n = 0; n < d.train.n; n++) {
            nu[d.train.user[n]]++;
            ni[d.train.item[n]]++;
        }
        long unseen = 0;
        for (long n = 0; n < d.test_warm.n; n++)
            unseen += !nu[d.test_warm.user[n]] || !ni[d.test_warm.item[n]];
        assert_int_equal(f[1].curves.n_fallback, unseen);
        assert_int_equal(f[2].curves.n_fallback, unseen);
        free(nu);
        free(ni);
        printf("# %-4s %9.4f %9.4f %10.4f %10.4f %10.4f %10.4f %7.2f %7.2f %7.2f   (fallback %ld)\n",
               folds[k], rm[0][k], ma[0][k], rm[1][k], ma[1][k], rm[2][k], ma[2][k], sec[0][k],
               sec[1][k], sec[2][k], unseen);
        for (int m = 0; m < 3; m++)
            fit_free(&f[m]);
        ds_free(&d);
    }
    double mr[3], hr[3], mm_[3], hm[3], ms[3], hs[3];
    for (int m = 0; m < 3; m++) {
        mean_ci(rm[m], 5, &mr[m], &hr[m]);
        mean_ci(ma[m], 5, &mm_[m], &hm[m]);
        mean_ci(sec[m], 5, &ms[m], &hs[m]);
    }
    printf("# mean (95%% CI over folds, t with 4 df):\n");
    static const char *const names[] = { "baseline", "mf als", "mf sgd" };
    for (int m = 0; m < 3; m++)
        printf("#   %-8s RMSE %.4f +- %.4f  MAE %.4f +- %.4f  fit %.2f +- %.2f s\n", names[m], mr[m],
               hr[m], mm_[m], hm[m], ms[m], hs[m]);
    printf("#   published (Surprise, random 5-fold): SVD 0.934, SVD++ 0.919, BaselineOnly 0.944\n");
    assert_true(mr[1] <= 0.915);
    assert_true(mr[2] <= 0.915);
    assert_true(fabs(rm[1][0] - rm[2][0]) <= 0.01);
    /* baseline: <= 0.945 (Surprise BaselineOnly 0.944 on its random folds; with Surprise's
     * default regularisation 15/10 the fixed u1..u5 folds give 0.9458) */
    assert_true(mr[0] <= 0.945);
    assert_true(mr[1] < mr[0] - 0.02 && mr[2] < mr[0] - 0.02);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank1_exact_recovery),
        cmocka_unit_test(test_als_half_steps_exact),
        cmocka_unit_test(test_fallback_counting),
        cmocka_unit_test(test_parameters_determinism_early_stop),
        cmocka_unit_test(test_synthetic_warm_and_cold),
        cmocka_unit_test(test_movielens100k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
