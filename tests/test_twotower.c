/* test_twotower.c — the two-tower estimator: a step-by-step PyTorch cross-check of the training
 * step, parameter checks, width = theory, determinism, divergence handling, and learning on
 * synthetic data (beats the baseline on cold users/items and improves with n_obs).
 *
 * Runs with one BLAS thread; main() calls blas_setup() so OpenBLAS uses its fast kernels.
 * T2REC_TT_QUICK=1 skips the learning curve (a few seconds instead of about a minute). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_rng.h>
#include "blas.h"
#include "dataset.h"
#include "estimator.h"
#include "metrics.h"
#include "nn.h"
#include "synth.h"
#include "testutil.h"

extern const est_method est_twotower, est_baseline;

/* ------------------------------------------------------------------------------------------ */
/* (a) PyTorch cross-check of 20 AdamW steps, through the functions training calls:
 * nn_twotower_step (schedules pairs and user_grouped) or, with alternating = 1, the alternating
 * schedule's nn_twotower_tower_step: blocks of user-tower steps against the item embeddings
 * computed by the current item tower, then item-tower steps against the user embeddings (each
 * tower with its own Adam step count, as the reference's two optimisers). */

static void crosscheck(int alternating)
{
    enum { DU = 6, DI = 4, DEPTH = 2, WIDTH = 16, P = 4, STEPS = 20, MAXR = 12, MAXB = 40 };
    const float lr = 0.01f, wd = 1.0f;   /* strong decay: decaying biases too would show */
    char dir[512], err[256];
    assert_non_null(tu_tmpdir("twotower_ref", dir, sizeof dir));
    nn_twotower *m = nn_twotower_new(DU, DI, DEPTH, WIDTH, P, MAXR, MAXB, lr, wd, err, sizeof err);
    assert_non_null(m);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 2024);
    nn_twotower_init_he(m, r);
    for (size_t k = 0; k < m->n_params; k++)   /* non-zero biases too (He gives 0) */
        if (m->params[k] == 0.0f)
            m->params[k] = (float)(0.1 * (gsl_rng_uniform(r) - 0.5));
    float *init = malloc(m->n_params * sizeof *init);
    memcpy(init, m->params, m->n_params * sizeof *init);
    assert_int_equal(tu_write_bin(dir, "init.bin", init, m->n_params * sizeof *init), 0);

    char meta[4096];
    int ml = snprintf(meta, sizeof meta, "%d %d %d %d %d %.9g %.9g %d\n", DU, DI, DEPTH, WIDTH, P,
                      (double)lr, (double)wd, STEPS);
    double closs[STEPS];
    int maxd = m->tower[0].max_dim > m->tower[1].max_dim ? m->tower[0].max_dim : m->tower[1].max_dim;
    float *E = malloc((size_t)MAXR * P * sizeof *E);
    float *s1 = malloc((size_t)MAXR * maxd * sizeof *s1), *s2 = malloc((size_t)MAXR * maxd * sizeof *s2);
    assert_true(E && s1 && s2);
    for (int k = 0; k < STEPS; k++) {
        int kind = alternating ? 1 + (k / 5) % 2 : 0;   /* 0 joint, 1 user tower, 2 item tower */
        int nu = 4 + (int)gsl_rng_uniform_int(r, MAXR - 3), ni = 4 + (int)gsl_rng_uniform_int(r, MAXR - 3);
        int B = 16 + (int)gsl_rng_uniform_int(r, MAXB - 15);
        int32_t pu[MAXB], pi[MAXB];
        float y[MAXB];
        float *xu = nn_twotower_user_x(m), *xi = nn_twotower_item_x(m);
        for (int q = 0; q < nu * DU; q++)
            xu[q] = (float)(2.0 * gsl_rng_uniform(r) - 1.0);
        for (int q = 0; q < ni * DI; q++)
            xi[q] = (float)(2.0 * gsl_rng_uniform(r) - 1.0);
        for (int b = 0; b < B; b++) {   /* every local row used; repeats (B > nu, ni) */
            pu[b] = b < nu ? b : (int32_t)gsl_rng_uniform_int(r, nu);
            pi[b] = b < ni ? (ni - 1 - b) : (int32_t)gsl_rng_uniform_int(r, ni);
            /* a learnable target: a fixed function of the inputs plus noise */
            y[b] = (float)(xu[pu[b] * DU] * xi[pi[b] * DI + 1] + 0.5 * xu[pu[b] * DU + 2] +
                           0.1 * (gsl_rng_uniform(r) - 0.5));
        }
        char name[64];
        snprintf(name, sizeof name, "step_%d_xu.bin", k);
        assert_int_equal(tu_write_bin(dir, name, xu, (size_t)nu * DU * sizeof(float)), 0);
        snprintf(name, sizeof name, "step_%d_xi.bin", k);
        assert_int_equal(tu_write_bin(dir, name, xi, (size_t)ni * DI * sizeof(float)), 0);
        snprintf(name, sizeof name, "step_%d_pu.bin", k);
        assert_int_equal(tu_write_bin(dir, name, pu, (size_t)B * sizeof(int32_t)), 0);
        snprintf(name, sizeof name, "step_%d_pi.bin", k);
        assert_int_equal(tu_write_bin(dir, name, pi, (size_t)B * sizeof(int32_t)), 0);
        snprintf(name, sizeof name, "step_%d_y.bin", k);
        assert_int_equal(tu_write_bin(dir, name, y, (size_t)B * sizeof(float)), 0);
        ml += snprintf(meta + ml, sizeof meta - ml, "%d %d %d %d\n", nu, ni, B, kind);
        if (kind == 0)   /* the real code paths */
            closs[k] = nn_twotower_step(m, nu, ni, B, pu, pi, y);
        else if (kind == 1) {
            nn_tower_infer(&m->tower[1], xi, ni, E, s1, s2);
            closs[k] = nn_twotower_tower_step(m, 0, nu, B, pu, E, pi, y);
        } else {
            nn_tower_infer(&m->tower[0], xu, nu, E, s1, s2);
            closs[k] = nn_twotower_tower_step(m, 1, ni, B, pi, E, pu, y);
        }
    }
    free(E);
    free(s1);
    free(s2);
    char path[600];
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    assert_int_equal(tu_write_file(path, meta), 0);

    char cmd[1200], out[8192];
    snprintf(cmd, sizeof cmd, "%s tests/reference/twotower_ref.py '%s'", tu_python(), dir);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        print_error("reference failed (exit %d; is python3-torch installed?):\n%s\n", rc, out);
    assert_int_equal(rc, 0);

    double worst_loss = 0;
    assert_int_equal(tu_compare_losses(dir, closs, STEPS, 1e-4, &worst_loss), 0);
    /* the steps did something: the loss fell */
    assert_true(closs[STEPS - 1] < closs[0]);

    double worst_w = 0, moved = 0;
    assert_int_equal(tu_compare_params(dir, "final.bin", m->params, init, m->n_params, &worst_w, &moved), 0);
    print_message("pytorch cross-check (%s): %d steps, %zu params, worst loss rel diff %.2e, worst "
                  "weight diff %.2e, largest weight change %.3f\n",
                  alternating ? "alternating tower steps" : "joint steps", STEPS, m->n_params,
                  worst_loss, worst_w, moved);
    assert_true(worst_w <= 1e-3);
    assert_true(moved > 0.05);   /* the 1e-3 agreement is far below the size of the updates */
    free(init);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);   /* kept only when a check failed */
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
    gsl_rng_free(r);
    nn_twotower_free(m);
}

static void test_pytorch_crosscheck(void **state)
{
    (void)state;
    crosscheck(0);
}

static void test_pytorch_crosscheck_alternating(void **state)
{
    (void)state;
    crosscheck(1);
}

/* ------------------------------------------------------------------------------------------ */
/* helpers for estimator-level tests */

static int make_data(ds_data *d, long n_obs, uint64_t seed, long test_cold_pairs)
{
    synth_params p;
    synth_params_default(&p);
    p.seed = seed;
    p.n_obs = n_obs;
    p.user_intrinsic_dim = p.item_intrinsic_dim = 2;
    p.user_ambient_dim = p.item_ambient_dim = 16;
    p.beta = 1.0;
    p.noise = 0.1;
    p.test_cold_pairs = test_cold_pairs;
    p.test_warm_pairs = 1000;
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

static double excess_cold(const est_method *m, const void *model, const ds_data *d)
{
    const ds_split *s = &d->test_cold;
    double *pred = malloc((size_t)s->n * sizeof *pred);
    m->predict(model, d, s->n, s->user, s->item, pred);
    double e = metric_mse(pred, s->oracle, s->n);
    free(pred);
    return e;
}

/* ------------------------------------------------------------------------------------------ */

static void test_check_parameter(void **state)
{
    (void)state;
    kvset kv;
    kv_init(&kv);
    assert_int_equal(kv_fill_defaults(&kv, est_twotower.params), 0);
    const char *bad = NULL;
    assert_null(est_twotower.check_parameter(&kv, &bad));
    kv_set(&kv, "lr", "0.5");
    kv_set(&kv, "weight_decay", "4");
    const char *msg = est_twotower.check_parameter(&kv, &bad);
    assert_non_null(msg);
    assert_string_equal(bad, "weight_decay");
    kv_set(&kv, "weight_decay", "0.1");
    assert_null(est_twotower.check_parameter(&kv, &bad));
    kv_set(&kv, "width", "wide");
    msg = est_twotower.check_parameter(&kv, &bad);
    assert_non_null(msg);
    assert_string_equal(bad, "width");
    kv_set(&kv, "width", "theory");
    assert_null(est_twotower.check_parameter(&kv, &bad));
    kv_set(&kv, "depth", "-1");
    assert_non_null(est_twotower.check_parameter(&kv, &bad));
    assert_string_equal(bad, "depth");
    kv_set(&kv, "depth", "2");
    /* the default plateau schedule needs a patience to halve on: refused, naming the key */
    kv_set(&kv, "patience", "0");
    msg = est_twotower.check_parameter(&kv, &bad);
    assert_non_null(msg);
    assert_string_equal(bad, "lr_schedule");
    kv_set(&kv, "lr_schedule", "cosine");
    assert_null(est_twotower.check_parameter(&kv, &bad));
    kv_set(&kv, "lr_schedule", "step");
    assert_non_null(est_twotower.check_parameter(&kv, &bad));
    assert_string_equal(bad, "lr_schedule");
    kv_free(&kv);
}

/* The valid RMSE of the model a fit returns (its kept weights). */
static double valid_rmse(const void *model, const ds_data *d)
{
    const ds_split *s = &d->valid;
    double *pred = malloc((size_t)s->n * sizeof *pred);
    est_twotower.predict(model, d, s->n, s->user, s->item, pred);
    double e = metric_rmse(pred, s->rating, s->n);
    free(pred);
    return e;
}

/* Training to convergence: every fit says why it stopped and keeps its best valid epoch.
 * patience ends a default fit; patience = 0 runs the whole budget ("cap") and still keeps the
 * best epoch, not the last; max_steps sets the epoch budget (ceil(max_steps / steps per epoch));
 * the cosine schedule runs over that budget. */
static void test_stopping_and_budget(void **state)
{
    (void)state;
    ds_data d;
    assert_int_equal(make_data(&d, 2048, 21, 500), 0);
    long spe = (d.train.n + 127) / 128;
    struct {
        const char *kv[8];
        const char *stopped_by;
        int epochs;          /* expected epochs_run, 0 = not fixed */
    } cases[] = {
        {{"depth=1", "width=16", "batch=128", NULL}, "patience", 0},
        {{"depth=1", "width=16", "batch=128", "patience=0", "lr_schedule=constant", "epochs=25",
          "lr=0.05", NULL},
         "cap", 25},
        {{"depth=1", "width=16", "batch=128", "patience=0", "lr_schedule=cosine", "max_steps=100",
          NULL}, "cap", (int)((100 + spe - 1) / spe)},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        tu_fit_result r;
        assert_int_equal(tu_fit(&est_twotower, &d, 5, cases[c].kv, &r), 0);
        assert_non_null(r.model);
        est_curves *cv = &r.curves;
        printf("case %zu: stopped_by %s after %d epochs, best epoch %d\n", c, cv->stopped_by,
               cv->epochs_run, cv->best_epoch);
        assert_string_equal(cv->stopped_by, cases[c].stopped_by);
        if (cases[c].epochs)
            assert_int_equal(cv->epochs_run, cases[c].epochs);
        assert_true(cv->best_epoch >= 1 && cv->best_epoch <= cv->epochs_run);
        double best = INFINITY;
        for (int k = 0; k < cv->n; k++)
            best = fmin(best, cv->valid_rmse[k]);
        assert_true(cv->valid_rmse[cv->best_epoch - 1] == best);
        /* the kept weights are the best epoch's (recomputed: same predictions, same RMSE) */
        assert_true(fabs(valid_rmse(r.model, &d) - best) <= 1e-12);
        if (c == 0)   /* patience ended it: patience epochs after the best one */
            assert_int_equal(cv->epochs_run, cv->best_epoch + 20);
        if (c == 1)   /* a large constant lr: the valid error wanders, the best is not the last */
            assert_true(cv->best_epoch < cv->epochs_run);
        if (c == 2)
            assert_non_null(strstr(cv->note, "lr_schedule=cosine"));
        tu_fit_free(&est_twotower, &r);
    }
    ds_free(&d);
}

/* width = theory: ceil(width_scale * n^(d/(2 beta + d))) capped by width_max; error without the
 * data keys; same seed twice gives bitwise the same predictions; a different seed does not. */
static void test_theory_width_and_determinism(void **state)
{
    (void)state;
    ds_data d;
    assert_int_equal(make_data(&d, 2000, 5, 2000), 0);
    tu_fit_result a, b, c, e;

    const char *no_keys[] = {"width=theory", "epochs=2", NULL};
    assert_int_equal(tu_fit(&est_twotower, &d, 1, no_keys, &e), 0);
    assert_null(e.model);
    assert_non_null(strstr(e.err, "theory"));
    est_curves_free(&e.curves);

    /* d = max(2, 4) = 4, beta = 1: 2000^(4/6) = 158.7 -> 0.5 * that -> 80 */
    const char *theory[] = {"width=theory", "width_scale=0.5", "data.user_intrinsic_dim=2",
                            "data.item_intrinsic_dim=4", "data.beta=1", "epochs=3", "depth=2", NULL};
    assert_int_equal(tu_fit(&est_twotower, &d, 7, theory, &a), 0);
    assert_non_null(a.model);
    int w = 0;
    assert_non_null(strstr(a.curves.note, "width="));
    sscanf(strstr(a.curves.note, "width=") + 6, "%d", &w);
    assert_int_equal(w, (int)ceil(0.5 * pow((double)d.train.n, 4.0 / 6.0)));
    const char *capped[] = {"width=theory", "width_max=20", "data.user_intrinsic_dim=2",
                            "data.item_intrinsic_dim=4", "data.beta=1", "epochs=1", NULL};
    assert_int_equal(tu_fit(&est_twotower, &d, 7, capped, &e), 0);
    assert_non_null(e.model);
    sscanf(strstr(e.curves.note, "width=") + 6, "%d", &w);
    assert_int_equal(w, 20);
    est_twotower.free_model(e.model);
    est_curves_free(&e.curves);

    assert_int_equal(tu_fit(&est_twotower, &d, 7, theory, &b), 0);
    assert_int_equal(tu_fit(&est_twotower, &d, 8, theory, &c), 0);
    assert_non_null(b.model);
    assert_non_null(c.model);
    assert_int_equal(a.curves.n, 3);
    assert_int_equal(a.curves.epochs_run, 3);
    assert_true(a.curves.best_epoch >= 1 && a.curves.best_epoch <= 3);
    for (int k = 0; k < a.curves.n; k++) {
        assert_true(a.curves.train_loss[k] == b.curves.train_loss[k]);
        assert_true(a.curves.valid_rmse[k] == b.curves.valid_rmse[k]);
        assert_true(a.curves.test_excess[k] == b.curves.test_excess[k]);
        assert_true(isfinite(a.curves.test_excess[k]));
        assert_true(a.curves.wall_seconds[k] >= 0);
    }
    const ds_split *s = &d.test_cold;
    double *pa = malloc(s->n * sizeof *pa), *pb = malloc(s->n * sizeof *pb), *pc = malloc(s->n * sizeof *pc);
    est_twotower.predict(a.model, &d, s->n, s->user, s->item, pa);
    est_twotower.predict(b.model, &d, s->n, s->user, s->item, pb);
    est_twotower.predict(c.model, &d, s->n, s->user, s->item, pc);
    assert_memory_equal(pa, pb, s->n * sizeof *pa);
    assert_memory_not_equal(pa, pc, s->n * sizeof *pa);
    /* predict agrees with the metric the fit recorded for its kept epoch */
    double ex = metric_mse(pa, s->oracle, s->n);
    assert_true(fabs(ex - a.curves.test_excess[a.curves.best_epoch - 1]) < 1e-9 * fmax(1, ex));
    free(pa);
    free(pb);
    free(pc);
    tu_fit_result *all[] = {&a, &b, &c};
    for (int k = 0; k < 3; k++) {
        est_twotower.free_model(all[k]->model);
        est_curves_free(&all[k]->curves);
    }
    ds_free(&d);
}

/* A non-finite loss fails the fit with the epoch in the message (not a crash, no model). */
static void test_divergence(void **state)
{
    (void)state;
    ds_data d;
    assert_int_equal(make_data(&d, 1000, 3, 500), 0);
    d.train.rating[d.train.n / 2] = INFINITY;
    const char *kv[] = {"epochs=3", "width=8", "depth=1", "center=no", NULL};
    tu_fit_result r;
    assert_int_equal(tu_fit(&est_twotower, &d, 1, kv, &r), 0);
    assert_null(r.model);
    assert_string_equal(r.err, "non-finite loss at epoch 1");
    assert_string_equal(r.curves.stopped_by, "diverged");
    est_curves_free(&r.curves);
    ds_free(&d);
}

/* ids = yes: with covariates that say nothing (one constant column), ratings with per-user and
 * per-item offsets can only be fitted through the one-hot id block; without it the model can
 * do no better than the mean. Unseen entities get an all-zero block. */
static void test_ids(void **state)
{
    (void)state;
    const int NU = 40, NI = 30;
    ds_data d;
    memset(&d, 0, sizeof d);
    d.n_users = NU + 1;   /* the last user has no training pairs */
    d.n_items = NI;
    d.user_dim = d.item_dim = 1;
    d.user_x = calloc((size_t)d.n_users, sizeof(double));
    d.item_x = calloc((size_t)d.n_items, sizeof(double));
    double bu[41], bi[30];
    for (int u = 0; u < NU + 1; u++)
        bu[u] = ((u * 37) % 11 - 5) / 5.0;
    for (int i = 0; i < NI; i++)
        bi[i] = ((i * 13) % 7 - 3) / 3.0;
    long n = (long)NU * NI;
    assert_int_equal(ds_split_alloc(&d.train, n, 0), 0);
    for (long k = 0; k < n; k++) {
        d.train.user[k] = (int32_t)(k / NI);
        d.train.item[k] = (int32_t)(k % NI);
        d.train.rating[k] = bu[k / NI] * bi[k % NI];   /* rank 1, not additive: needs <f, g> */
    }
    double rmse[2];
    for (int ids = 0; ids < 2; ids++) {
        const char *kv[] = {ids ? "ids=yes" : "ids=no", "depth=1", "width=32", "embed_dim=4",
                            "lr=0.01", "batch=200", "epochs=150", "patience=0",
                            "lr_schedule=constant", "max_steps=0", NULL};
        tu_fit_result r;
        assert_int_equal(tu_fit(&est_twotower, &d, 3, kv, &r), 0);
        assert_non_null(r.model);
        double *p = malloc((size_t)n * sizeof *p);
        est_twotower.predict(r.model, &d, n, d.train.user, d.train.item, p);
        rmse[ids] = metric_rmse(p, d.train.rating, n);
        /* the unseen user: an all-zero id block, a finite prediction */
        int32_t uu = NU, ii = 0;
        double q;
        est_twotower.predict(r.model, &d, 1, &uu, &ii, &q);
        assert_true(isfinite(q));
        free(p);
        est_twotower.free_model(r.model);
        est_curves_free(&r.curves);
    }
    printf("ids: train RMSE without ids %.4f, with ids %.4f\n", rmse[0], rmse[1]);
    assert_true(rmse[1] < 0.25 * rmse[0]);
    ds_free(&d);
}

/* Every schedule: 1 and 2 threads give bitwise the same model; every schedule learns (the
 * test_cold excess risk after a few epochs is well below that of the first epoch). */
static void test_schedules_threads(void **state)
{
    (void)state;
    ds_data d;
    assert_int_equal(make_data(&d, 4096, 5, 1000), 0);
    const char *sched[] = {"schedule=pairs", "schedule=user_grouped", "schedule=alternating"};
    for (int s = 0; s < 3; s++) {
        double *pred[2];
        for (int t = 0; t < 2; t++) {
            const char *kv[] = {sched[s], "depth=2", "width=32", "embed_dim=8", "lr=0.003",
                                "batch=256", "epochs=8", "patience=0", "lr_schedule=constant", NULL};
            kvset params;
            kv_init(&params);
            for (int k = 0; kv[k]; k++)
                assert_int_equal(kv_set_pair(&params, kv[k]), 0);
            kv_fill_defaults(&params, est_twotower.params);
            est_curves c;
            est_curves_init(&c);
            char err[256] = "";
            est_fit_ctx ctx = {&d, &params, 9, t + 1, &c, err, sizeof err};
            void *model = est_twotower.train(&ctx);
            assert_non_null(model);
            pred[t] = malloc((size_t)d.test_cold.n * sizeof(double));
            est_twotower.predict(model, &d, d.test_cold.n, d.test_cold.user, d.test_cold.item, pred[t]);
            if (t == 0) {
                printf("%s: test_cold excess risk epoch 1 %.4f, epoch %d %.4f\n", sched[s],
                       c.test_excess[0], c.n, c.test_excess[c.n - 1]);
                assert_true(c.test_excess[c.n - 1] < 0.7 * c.test_excess[0]);
            }
            est_twotower.free_model(model);
            est_curves_free(&c);
            kv_free(&params);
        }
        /* bitwise equal: the two threads embed rows in the same chunks (sgemm shapes) as one */
        double worst = 0;
        for (long k = 0; k < d.test_cold.n; k++)
            worst = fmax(worst, fabs(pred[0][k] - pred[1][k]) / fmax(fabs(pred[0][k]), 1e-3));
        printf("%s: 1 vs 2 threads, largest relative difference %.3g\n", sched[s], worst);
        assert_memory_equal(pred[0], pred[1], (size_t)d.test_cold.n * sizeof(double));
        free(pred[0]);
        free(pred[1]);
    }
    ds_free(&d);
}

/* ------------------------------------------------------------------------------------------ */
/* (b) learning on synthetic data: d = 2, D = 16, beta = 1, sigma = 0.1 */

static const char *learn_kv[] = {"depth=2", "width=64", "embed_dim=8", "lr=0.003", "batch=256",
                                 "epochs=40", "patience=5", NULL};

static void test_learning(void **state)
{
    (void)state;
    const char *q = getenv("T2REC_TT_QUICK");
    if (q && *q && strcmp(q, "0") != 0) {
        print_message("T2REC_TT_QUICK set: learning curve skipped\n");
        skip();
    }
    enum { NS = 5, SEEDS = 3 };
    const long sizes[NS] = {1L << 12, 1L << 13, 1L << 14, 1L << 15, 1L << 16};
    double tt[NS][SEEDS], bl[NS][SEEDS], sec_per_epoch = 0;
    int epochs16[SEEDS];
    for (int k = 0; k < NS; k++)
        for (int s = 0; s < SEEDS; s++) {
            ds_data d;
            assert_int_equal(make_data(&d, sizes[k], 100 + s, 5000), 0);
            tu_fit_result r, b;
            assert_int_equal(tu_fit(&est_twotower, &d, 1000 + s, learn_kv, &r), 0);
            if (!r.model)
                print_error("twotower fit failed: %s\n", r.err);
            assert_non_null(r.model);
            assert_int_equal(tu_fit(&est_baseline, &d, 1000 + s, NULL, &b), 0);
            if (!b.model)
                print_error("baseline fit failed: %s\n", b.err);
            assert_non_null(b.model);
            tt[k][s] = excess_cold(&est_twotower, r.model, &d);
            bl[k][s] = excess_cold(&est_baseline, b.model, &d);
            if (k == NS - 1) {
                sec_per_epoch += r.curves.wall_seconds[r.curves.n - 1] / r.curves.n / SEEDS;
                epochs16[s] = r.curves.epochs_run;
            }
            est_twotower.free_model(r.model);
            est_baseline.free_model(b.model);
            est_curves_free(&r.curves);
            est_curves_free(&b.curves);
            ds_free(&d);
        }
    double mean_tt[NS], mean_bl[NS];
    print_message("n_obs    twotower excess (mean of %d seeds)   baseline excess\n", SEEDS);
    for (int k = 0; k < NS; k++) {
        mean_tt[k] = mean_bl[k] = 0;
        for (int s = 0; s < SEEDS; s++) {
            mean_tt[k] += tt[k][s] / SEEDS;
            mean_bl[k] += bl[k][s] / SEEDS;
        }
        print_message("%6ld   %.4f  [%.4f %.4f %.4f]   %.4f\n", sizes[k], mean_tt[k], tt[k][0],
                      tt[k][1], tt[k][2], mean_bl[k]);
    }
    print_message("n_obs 2^16: %.3f s per epoch (epochs run %d %d %d; OpenBLAS core %s)\n",
                  sec_per_epoch, epochs16[0], epochs16[1], epochs16[2], blas_core());
    /* at 2^14 every seed's two-tower is at most a quarter of the baseline's excess risk */
    for (int s = 0; s < SEEDS; s++)
        assert_true(tt[2][s] <= 0.25 * bl[2][s]);
    /* the mean excess risk falls at each doubling */
    for (int k = 1; k < NS; k++)
        assert_true(mean_tt[k] < mean_tt[k - 1]);
}

int main(int argc, char **argv)
{
    blas_setup(argc, argv);
    blas_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pytorch_crosscheck),
        cmocka_unit_test(test_pytorch_crosscheck_alternating),
        cmocka_unit_test(test_check_parameter),
        cmocka_unit_test(test_stopping_and_budget),
        cmocka_unit_test(test_theory_width_and_determinism),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_schedules_threads),
        cmocka_unit_test(test_learning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
