/* test_convae.c — the implicit + explicit autoencoder (src/nn_convae.c, src/est_convae.c): a
 * finite-difference check of every gradient, a PyTorch cross-check (tests/reference/convae_ref.py:
 * losses, first-step gradients, weights after AdamW steps), the heads are distributions, and
 * the estimator on a small starred synthetic problem (finite predictions on the rating scale,
 * valid RMSE falling), and the sampling-law metrics (convae_tv_sampling, pop_tv_sampling). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "estimator.h"
#include "metrics.h"
#include "nn_convae.h"
#include "testutil.h"

enum { M = 12, L = 3, C = 2, H = 5, NR = 4, MAXO = 6 };

typedef struct {
    int32_t oi[NR][MAXO], ni[NR][MAXO];
    int8_t ol[NR][MAXO];
    nn_convae_row row[NR];
} batch;

static void make_batch(gsl_rng *rng, batch *b)
{
    for (int r = 0; r < NR; r++) {
        int perm[M];
        for (int k = 0; k < M; k++)
            perm[k] = k;
        for (int k = M - 1; k > 0; k--) {
            int j = (int)gsl_rng_uniform_int(rng, k + 1), t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        int no = 2 + (int)gsl_rng_uniform_int(rng, 4), nn = (int)gsl_rng_uniform_int(rng, 5);
        for (int q = 0; q < no; q++) {
            b->oi[r][q] = perm[q];
            b->ol[r][q] = (int8_t)(1 + gsl_rng_uniform_int(rng, L));
        }
        for (int q = 0; q < nn; q++)
            b->ni[r][q] = perm[no + q];
        b->row[r] = (nn_convae_row){no, nn, b->oi[r], b->ol[r], b->ni[r]};
    }
}

static void test_gradcheck(void **state)
{
    (void)state;
    char err[256];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 4);
    nn_convae *m = nn_convae_new(M, L, C, H, 1e-3f, 0.0f, err, sizeof err);
    assert_non_null(m);
    nn_convae_init(m, rng);
    for (size_t q = 0; q < m->n_params; q++)   /* biases too */
        m->params[q] += 0.2f * (float)(gsl_rng_uniform(rng) - 0.5);
    batch b;
    make_batch(rng, &b);
    const double w_neg = 0.7, scale = 9.0;
    nn_convae_zero_grad(m);
    double l0 = nn_convae_rows(m, b.row, NR, w_neg, scale, 1) / scale;
    float *g = malloc(m->n_params * sizeof *g);
    memcpy(g, m->grads, m->n_params * sizeof *g);
    double gmax = 0, worst = 0;
    for (size_t q = 0; q < m->n_params; q++)
        gmax = fabs(g[q]) > gmax ? fabs(g[q]) : gmax;
    const float h = 1e-2f;
    for (size_t q = 0; q < m->n_params; q++) {
        float keep = m->params[q];
        m->params[q] = keep + h;
        double lp = nn_convae_rows(m, b.row, NR, w_neg, scale, 0) / scale;
        m->params[q] = keep - h;
        double lm = nn_convae_rows(m, b.row, NR, w_neg, scale, 0) / scale;
        m->params[q] = keep;
        double fd = (lp - lm) / (2.0 * h), e = fabs(fd - g[q]) / gmax;
        worst = e > worst ? e : worst;
    }
    print_message("gradcheck: %zu params, loss %.5f, max |grad| %.3g, worst |fd - grad| / max "
                  "|grad| = %.2e\n", m->n_params, l0, gmax, worst);
    assert_true(gmax > 1e-3);
    assert_true(worst < 1e-3);
    /* heads: P(observe) in (0, 1), P(r | observed) sums to 1 */
    nn_convae_encode(m, &b.row[0], m->h);
    double po, pr[L], s = 0;
    nn_convae_heads(m, m->h, 3, &po, pr);
    for (int l = 0; l < L; l++)
        s += pr[l];
    assert_true(po > 0 && po < 1 && fabs(s - 1) < 1e-9);
    free(g);
    nn_convae_free(m);
    gsl_rng_free(rng);
}

static int read_floats(const char *dir, const char *name, float *out, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t got = fread(out, 1, n * sizeof *out + 1, f);
    fclose(f);
    return got == n * sizeof *out ? 0 : -1;
}

static void test_pytorch(void **state)
{
    (void)state;
    enum { STEPS = 20 };
    const float lr = 0.01f, wd = 0.1f;
    const double w_neg = 0.5;
    char err[256], dir[512];
    tu_tmpdir("convae_ref", dir, sizeof dir);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 8);
    nn_convae *m = nn_convae_new(M, L, C, H, lr, wd, err, sizeof err);
    assert_non_null(m);
    nn_convae_init(m, rng);
    size_t n = m->n_params;
    float *init = malloc(n * sizeof *init), *ref = malloc(n * sizeof *ref), *g0 = malloc(n * sizeof *g0);
    memcpy(init, m->params, n * sizeof *init);
    assert_int_equal(tu_write_bin(dir, "init.bin", init, n * sizeof *init), 0);
    static char meta[1 << 16];
    int ml = snprintf(meta, sizeof meta, "%d %d %d %d %.9g %.9g %.9g %d\n", M, L, C, H, (double)lr,
                      (double)wd, w_neg, STEPS);
    double loss[STEPS];
    for (int t = 0; t < STEPS; t++) {
        batch b;
        make_batch(rng, &b);
        for (int r = 0; r < NR; r++) {
            ml += snprintf(meta + ml, sizeof meta - ml, "%d %d", b.row[r].n_obs, b.row[r].n_neg);
            for (int q = 0; q < b.row[r].n_obs; q++)
                ml += snprintf(meta + ml, sizeof meta - ml, " %d:%d", b.oi[r][q], b.ol[r][q]);
            ml += snprintf(meta + ml, sizeof meta - ml, " |");
            for (int q = 0; q < b.row[r].n_neg; q++)
                ml += snprintf(meta + ml, sizeof meta - ml, " %d", b.ni[r][q]);
            ml += snprintf(meta + ml, sizeof meta - ml, "\n");
        }
        ml += snprintf(meta + ml, sizeof meta - ml, "--\n");
        loss[t] = nn_convae_step(m, b.row, NR, w_neg);
        if (t == 0)
            memcpy(g0, m->grads, n * sizeof *g0);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    assert_int_equal(tu_write_file(path, meta), 0);
    char cmd[1200], out[8192];
    snprintf(cmd, sizeof cmd, "%s tests/reference/convae_ref.py '%s'", tu_python(), dir);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        print_error("reference failed (exit %d; is python3-torch installed?):\n%s\n", rc, out);
    assert_int_equal(rc, 0);
    double worst_loss = 0;
    assert_int_equal(tu_compare_losses(dir, loss, STEPS, 1e-5, &worst_loss), 0);
    assert_int_equal(read_floats(dir, "grads0.bin", ref, n), 0);
    double gmax = 0, gworst = 0;
    for (size_t q = 0; q < n; q++)
        gmax = fabs(ref[q]) > gmax ? fabs(ref[q]) : gmax;
    for (size_t q = 0; q < n; q++) {
        double e = fabs(ref[q] - g0[q]) / gmax;
        gworst = e > gworst ? e : gworst;
    }
    double wworst = 0, moved = 0;
    assert_int_equal(tu_compare_params(dir, "final.bin", m->params, init, n, &wworst, &moved), 0);
    print_message("pytorch cross-check: %d AdamW steps, %zu params, loss %.4f -> %.4f, worst loss "
                  "rel diff %.2e, worst grad diff / max |grad| %.2e, worst weight diff %.2e, "
                  "largest weight change %.3f\n", STEPS, n, loss[0], loss[STEPS - 1], worst_loss,
                  gworst, wworst, moved);
    assert_true(gmax > 1e-3);
    assert_true(gworst < 1e-5);
    assert_true(wworst < 1e-4);
    assert_true(moved > 0.05);
    free(init);
    free(ref);
    free(g0);
    nn_convae_free(m);
    gsl_rng_free(rng);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
}

static int make_data_law(ds_data *d, int stars, synth_sampling law, synth_protocol protocol)
{
    synth_params p;
    synth_params_default(&p);
    p.seed = 3;
    p.n_obs = 6000;
    p.obs_per_user = p.obs_per_item = 40;
    p.truth = SYNTH_SMOOTH;
    p.noise = 0.3;
    p.stars = stars;
    p.test_cold_pairs = 100;
    p.test_warm_pairs = 300;
    p.sampling = law;
    p.zipf_s = 0.8;
    p.mnar_strength = 2.0;
    p.protocol = protocol;
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

static int make_data(ds_data *d, int stars)
{
    return make_data_law(d, stars, SYNTH_UNIFORM, SYNTH_PROTOCOL_RANDOM);
}

/* issue 18: convae_tv_sampling / pop_tv_sampling. The true law (ds_observe_law) sums to 1 and
 * has TV 0 to itself; is uniform under uniform sampling (no TV metrics there); is absent under
 * protocol temporal. Under popularity the training counts estimate the (user-independent) law:
 * pop_tv_sampling well below the TV of the uniform law to the truth; convae with side = user
 * learns it through its normalised odds (convae_tv_sampling_odds well below the uniform law's).
 * Under popularity and mnar the metrics are in [0, 1]; all are printed for both sides. */
static void test_tv_sampling(void **state)
{
    (void)state;
    const est_method *m = est_find("convae");
    const char *kv[] = {"side=item", "hidden=32", "epochs=15", "patience=0", "lr=0.003",
                        "weight_decay=10", NULL};
    ds_data d;
    assert_int_equal(make_data_law(&d, 1, SYNTH_POPULARITY, SYNTH_PROTOCOL_TEMPORAL), 0);
    assert_null(d.sampling_law);
    double q[1];
    assert_int_equal(ds_observe_law(&d, 0, q), -1);
    ds_free(&d);
    for (int law = 0; law < 3; law++) {
        assert_int_equal(make_data_law(&d, 1, (synth_sampling)law, SYNTH_PROTOCOL_RANDOM), 0);
        assert_non_null(d.sampling_law);
        int ni = d.n_warm_items;
        double *t = malloc((size_t)ni * sizeof *t), *un = malloc((size_t)ni * sizeof *un);
        assert_non_null(t);
        assert_non_null(un);
        for (int i = 0; i < ni; i++)
            un[i] = 1.0 / ni;
        double tv_un = 0;
        for (int u = 0; u < d.n_warm_users; u++) {
            assert_int_equal(ds_observe_law(&d, u, t), 0);
            double sum = 0;
            for (int i = 0; i < ni; i++)
                sum += t[i];
            assert_true(fabs(sum - 1) < 1e-12);
            assert_true(synth_tv_distance(t, t, ni) == 0);
            tv_un += synth_tv_distance(t, un, ni) / d.n_warm_users;
        }
        assert_int_equal(ds_observe_law(&d, d.n_warm_users, t), -1);
        for (int side = 0; side < 2; side++) {
            tu_fit_result r;
            kv[0] = side ? "side=user" : "side=item";
            assert_int_equal(tu_fit(m, &d, 5, kv, &r), 0);
            assert_non_null(r.model);
            metric_set ms;
            metrics_init(&ms);
            assert_int_equal(m->extra_metrics(r.model, &d, &ms), 0);
            double tc = metrics_get(&ms, "convae_tv_sampling");
            double tp = metrics_get(&ms, "pop_tv_sampling");
            double to = metrics_get(&ms, "convae_tv_sampling_odds");
            print_message("tv_sampling %s, %s: convae %.4f (odds %.4f), pop %.4f, uniform law "
                          "%.4f\n", law == 0 ? "uniform" : law == 1 ? "popularity" : "mnar",
                          kv[0], tc, to, tp, tv_un);
            double tu = metrics_get(&ms, "uniform_tv_sampling");   /* its sample of users */
            if (law == SYNTH_UNIFORM) {
                assert_true(tv_un < 1e-12);
                assert_true(isnan(tc) && isnan(tp) && isnan(to) && isnan(tu));
            } else {
                assert_true(tc >= 0 && tc <= 1 && tp >= 0 && tp <= 1 && to >= 0 && to <= 1);
                assert_true(tv_un > 0.05);
                assert_true(fabs(tu - tv_un) < 0.05);
            }
            if (law == SYNTH_POPULARITY)
                assert_true(tp < 0.5 * tv_un);
            /* side = user learns popularity through its odds (measured 0.25 vs 0.40) */
            if (law == SYNTH_POPULARITY && side == 1)
                assert_true(to < 0.8 * tv_un);
            metrics_free(&ms);
            tu_fit_free(m, &r);
        }
        free(t);
        free(un);
        ds_free(&d);
    }
}

/* the estimator on starred synthetic ratings: predictions on the observed scale, valid RMSE
 * improving on the first epoch; continuous ratings refused with a message */
static void test_estimator(void **state)
{
    (void)state;
    const est_method *m = est_find("convae");
    assert_non_null(m);
    ds_data d;
    assert_int_equal(make_data(&d, 1), 0);
    const char *kv[] = {"hidden=32", "epochs=15", "patience=0", "lr=0.003", "weight_decay=10", NULL};
    tu_fit_result r;
    assert_int_equal(tu_fit(m, &d, 5, kv, &r), 0);
    if (!r.model)
        print_error("fit: %s\n", r.err);
    assert_non_null(r.model);
    double lo = INFINITY, hi = -INFINITY;
    for (long k = 0; k < d.train.n; k++) {
        lo = d.train.rating[k] < lo ? d.train.rating[k] : lo;
        hi = d.train.rating[k] > hi ? d.train.rating[k] : hi;
    }
    long n = d.test_warm.n;
    double *p = malloc((size_t)n * sizeof *p);
    m->predict(r.model, &d, n, d.test_warm.user, d.test_warm.item, p);
    double se = 0, se0 = 0, mu = 0;
    for (long k = 0; k < d.train.n; k++)
        mu += d.train.rating[k] / d.train.n;
    for (long k = 0; k < n; k++) {
        assert_true(isfinite(p[k]) && p[k] >= lo - 1e-9 && p[k] <= hi + 1e-9);
        se += (p[k] - d.test_warm.rating[k]) * (p[k] - d.test_warm.rating[k]);
        se0 += (mu - d.test_warm.rating[k]) * (mu - d.test_warm.rating[k]);
    }
    const est_curves *c = &r.curves;
    print_message("estimator: levels %g..%g, valid RMSE %.4f (epoch 1) -> %.4f (epoch %d); test_warm "
                  "RMSE %.4f vs mean %.4f\n", lo, hi, c->valid_rmse[0], c->valid_rmse[c->n - 1],
                  c->n, sqrt(se / n), sqrt(se0 / n));
    assert_true(c->valid_rmse[c->n - 1] < c->valid_rmse[0]);
    assert_true(sqrt(se / n) < sqrt(se0 / n));
    free(p);
    tu_fit_free(m, &r);
    ds_free(&d);

    assert_int_equal(make_data(&d, 0), 0);
    assert_int_equal(tu_fit(m, &d, 5, kv, &r), 0);
    assert_null(r.model);
    assert_non_null(strstr(r.err, "integer levels"));
    tu_fit_free(m, &r);
    ds_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_pytorch),
        cmocka_unit_test(test_estimator),
        cmocka_unit_test(test_tv_sampling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
