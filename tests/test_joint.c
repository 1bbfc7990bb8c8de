/* test_joint.c — the joint method (one MLP on [x_u, x_i], src/est_joint.c, src/nn_joint.c):
 * the embedding layer, a finite-difference check of the gradients training uses, a PyTorch
 * cross-check of 20 AdamW steps (loss, first-step gradients, final weights; with and without
 * id blocks), parameter checks, stopping and budget, width = theory with d = d_u + d_i,
 * determinism, divergence, ids, and learning (beats the baseline; improves with n_obs).
 * Runs with one BLAS thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "blas.h"
#include "dataset.h"
#include "estimator.h"
#include "metrics.h"
#include "nn_joint.h"
#include "synth.h"
#include "testutil.h"

extern const est_method est_joint, est_baseline;

/* ------------------------------------------------------------------------------------------ */

static void test_embed_layer(void **state)
{
    (void)state;
    const float table[3 * 2] = {1, 2, 10, 20, 100, 200};
    const int32_t idx[4] = {2, -1, 0, 2};
    float out[4 * 2] = {0.5f, 0.5f, 0.5f, 0.5f, 0, 0, 0, 0};
    nn_embed_forward(out, table, idx, 4, 2);   /* accumulates; -1 adds nothing */
    const float want[8] = {100.5f, 200.5f, 0.5f, 0.5f, 1, 2, 100, 200};
    for (int k = 0; k < 8; k++)
        assert_true(out[k] == want[k]);
    float dt[6] = {0}, dout[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    nn_embed_backward(dt, dout, idx, 4, 2);   /* scatter-add, row 2 twice */
    const float wd[6] = {5, 6, 0, 0, 8, 10};
    for (int k = 0; k < 6; k++)
        assert_true(dt[k] == wd[k]);
}

/* Random inputs, ids (some -1) and learnable targets for a batch of B rows. */
static void fill_batch(nn_joint *m, gsl_rng *r, int B, float *y)
{
    int C = m->in_dim;
    for (int q = 0; q < B * C; q++)
        m->x[q] = (float)(2.0 * gsl_rng_uniform(r) - 1.0);
    for (int b = 0; b < B; b++) {
        m->iu[b] = m->n_uid > 0 ? (int32_t)gsl_rng_uniform_int(r, m->n_uid + 1) - 1 : -1;
        m->ii[b] = m->n_iid > 0 ? (int32_t)gsl_rng_uniform_int(r, m->n_iid + 1) - 1 : -1;
        const float *x = m->x + (size_t)b * C;
        y[b] = (float)(x[0] * x[C - 1] + 0.5 * x[1] + 0.3 * (m->iu[b] % 3) +
                       0.1 * (gsl_rng_uniform(r) - 0.5));
    }
}

/* Central differences of the loss (nn_joint_forward) against nn_joint_backward, parameter by
 * parameter. float32: eps = 1e-3 on inputs of size ~1; a parameter may sit near a ReLU kink,
 * so at most 1% of them may miss the tolerance. */
static void test_gradient_fd(void **state)
{
    (void)state;
    for (int ids = 0; ids < 2; ids++) {
        enum { C = 5, DEPTH = 2, WIDTH = 7, B = 12 };
        char err[256];
        nn_joint *m = nn_joint_new(C, ids ? 4 : 0, ids ? 3 : 0, DEPTH, WIDTH, B, 0.01f, 0.0f,
                                   err, sizeof err);
        assert_non_null(m);
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r, 77 + ids);
        nn_joint_init_torch(m, r);
        for (size_t k = 0; k < m->n_params; k++)   /* larger weights: a non-trivial function */
            m->params[k] *= 2.0f;
        float y[B];
        fill_batch(m, r, B, y);
        double loss0 = 0;
        nn_joint_forward(m, B, y, &loss0);
        nn_joint_backward(m, B, y);
        float *g = malloc(m->n_params * sizeof *g);
        memcpy(g, m->grads, m->n_params * sizeof *g);
        const float eps = 1e-3f;
        int bad = 0;
        double worst = 0, gsum = 0;
        for (size_t k = 0; k < m->n_params; k++) {
            float keep = m->params[k];
            double lp = 0, lm = 0;
            m->params[k] = keep + eps;
            nn_joint_forward(m, B, y, &lp);
            m->params[k] = keep - eps;
            nn_joint_forward(m, B, y, &lm);
            m->params[k] = keep;
            double fd = (lp - lm) / (2.0 * eps);
            double e = fabs(fd - g[k]) / (fmax(fabs(fd), fabs((double)g[k])) + 1e-2);
            if (e > 1e-2)
                bad++;
            else if (e > worst)
                worst = e;
            gsum += fabs(g[k]);
        }
        print_message("finite differences (ids %s): %zu params, %d beyond 1e-2, worst of the rest "
                      "%.2e, loss %.4f\n", ids ? "yes" : "no", m->n_params, bad, worst, loss0);
        assert_true(gsum > 0.1);                        /* the gradient is not trivially zero */
        assert_true(bad <= (int)(m->n_params / 100));   /* at most 1% near a kink */
        if (ids)   /* the id tables got gradient: their rows were used */
            assert_true(fabs(m->dEu[0]) + fabs(m->dEu[1]) + fabs(m->dEi[0]) > 0);
        free(g);
        gsl_rng_free(r);
        nn_joint_free(m);
    }
}

/* 20 AdamW steps through nn_joint_step against tests/reference/joint_ref.py on the same
 * weights and batches: losses (relative 1e-4), first-step gradients and final weights (1e-3 of
 * max(1, |w|)). */
static void crosscheck(int ids)
{
    enum { C = 6, DEPTH = 2, WIDTH = 16, STEPS = 20, MAXB = 40 };
    const int NU = ids ? 5 : 0, NI = ids ? 4 : 0;
    const float lr = 0.01f, wd = 1.0f;   /* strong decay: decaying biases too would show */
    char dir[512], err[256];
    assert_non_null(tu_tmpdir(ids ? "joint_ref_ids" : "joint_ref", dir, sizeof dir));
    nn_joint *m = nn_joint_new(C, NU, NI, DEPTH, WIDTH, MAXB, lr, wd, err, sizeof err);
    assert_non_null(m);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 2024);
    nn_joint_init_torch(m, r);
    float *init = malloc(m->n_params * sizeof *init);
    memcpy(init, m->params, m->n_params * sizeof *init);
    assert_int_equal(tu_write_bin(dir, "init.bin", init, m->n_params * sizeof *init), 0);
    char meta[4096];
    int ml = snprintf(meta, sizeof meta, "%d %d %d %d %d %.9g %.9g %d\n", C, NU, NI, DEPTH, WIDTH,
                      (double)lr, (double)wd, STEPS);
    double closs[STEPS];
    float *grad0 = malloc(m->n_params * sizeof *grad0);
    for (int k = 0; k < STEPS; k++) {
        int B = 8 + (int)gsl_rng_uniform_int(r, MAXB - 7);
        float y[MAXB];
        fill_batch(m, r, B, y);
        char name[64];
        snprintf(name, sizeof name, "step_%d_x.bin", k);
        assert_int_equal(tu_write_bin(dir, name, m->x, (size_t)B * C * sizeof(float)), 0);
        snprintf(name, sizeof name, "step_%d_iu.bin", k);
        assert_int_equal(tu_write_bin(dir, name, m->iu, (size_t)B * sizeof(int32_t)), 0);
        snprintf(name, sizeof name, "step_%d_ii.bin", k);
        assert_int_equal(tu_write_bin(dir, name, m->ii, (size_t)B * sizeof(int32_t)), 0);
        snprintf(name, sizeof name, "step_%d_y.bin", k);
        assert_int_equal(tu_write_bin(dir, name, y, (size_t)B * sizeof(float)), 0);
        ml += snprintf(meta + ml, sizeof meta - ml, "%d\n", B);
        closs[k] = nn_joint_step(m, B, y);   /* the code path training runs */
        if (k == 0)
            memcpy(grad0, m->grads, m->n_params * sizeof *grad0);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    assert_int_equal(tu_write_file(path, meta), 0);
    char cmd[1200], out[8192];
    snprintf(cmd, sizeof cmd, "%s tests/reference/joint_ref.py '%s'", tu_python(), dir);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        print_error("reference failed (exit %d; is python3-torch installed?):\n%s\n", rc, out);
    assert_int_equal(rc, 0);
    double worst_loss = 0, worst_g = 0, gmax = 0, worst_w = 0, moved = 0;
    assert_int_equal(tu_compare_losses(dir, closs, STEPS, 1e-4, &worst_loss), 0);
    assert_true(closs[STEPS - 1] < closs[0]);   /* the steps did something */
    float *zero = calloc(m->n_params, sizeof *zero);
    assert_int_equal(tu_compare_params(dir, "grad0.bin", grad0, zero, m->n_params, &worst_g, &gmax), 0);
    assert_int_equal(tu_compare_params(dir, "final.bin", m->params, init, m->n_params, &worst_w, &moved), 0);
    print_message("pytorch cross-check (ids %s): %d steps, %zu params, worst loss rel diff %.2e, "
                  "worst step-1 gradient diff %.2e (largest gradient %.3f), worst weight diff "
                  "%.2e, largest weight change %.3f\n", ids ? "yes" : "no", STEPS, m->n_params,
                  worst_loss, worst_g, gmax, worst_w, moved);
    assert_true(worst_g <= 1e-4);
    assert_true(gmax > 0.01);
    assert_true(worst_w <= 1e-3);
    assert_true(moved > 0.05);   /* the agreement is far below the size of the updates */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);   /* kept only when a check failed */
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
    free(zero);
    free(grad0);
    free(init);
    gsl_rng_free(r);
    nn_joint_free(m);
}

static void test_pytorch_crosscheck(void **state)
{
    (void)state;
    crosscheck(0);
}

static void test_pytorch_crosscheck_ids(void **state)
{
    (void)state;
    crosscheck(1);
}

/* ------------------------------------------------------------------------------------------ */

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

static void test_check_parameter(void **state)
{
    (void)state;
    kvset kv;
    kv_init(&kv);
    assert_int_equal(kv_fill_defaults(&kv, est_joint.params), 0);
    const char *bad = NULL;
    assert_null(est_joint.check_parameter(&kv, &bad));
    kv_set(&kv, "lr", "0.5");
    kv_set(&kv, "weight_decay", "4");
    assert_non_null(est_joint.check_parameter(&kv, &bad));
    assert_string_equal(bad, "weight_decay");
    kv_set(&kv, "weight_decay", "0");
    kv_set(&kv, "patience", "0");   /* plateau needs a patience */
    assert_non_null(est_joint.check_parameter(&kv, &bad));
    assert_string_equal(bad, "lr_schedule");
    kv_set(&kv, "lr_schedule", "cosine");
    assert_null(est_joint.check_parameter(&kv, &bad));
    kv_set(&kv, "ids", "maybe");
    assert_non_null(est_joint.check_parameter(&kv, &bad));
    assert_string_equal(bad, "ids");
    kv_free(&kv);
    /* the defaults that mean the same as the two-tower's are the two-tower's */
    extern const est_method est_twotower;
    for (const param_spec *p = est_joint.params; p->name; p++) {
        const param_spec *q = param_find(est_twotower.params, p->name);
        if (q && strcmp(p->name, "weight_decay") != 0)
            assert_string_equal(p->def, q->def);
    }
}

/* Stopping, budget, width = theory (d = d_u + d_i), determinism, predict = recorded metric. */
static void test_stopping_theory_determinism(void **state)
{
    (void)state;
    ds_data d;
    assert_int_equal(make_data(&d, 2048, 21, 1000), 0);
    tu_fit_result a, b, c, e;
    const char *pat[] = {"depth=1", "width=16", "batch=128", NULL};
    assert_int_equal(tu_fit(&est_joint, &d, 5, pat, &a), 0);
    assert_non_null(a.model);
    assert_string_equal(a.curves.stopped_by, "patience");
    assert_true(a.curves.best_epoch >= 1 && a.curves.best_epoch + 20 == a.curves.epochs_run);
    est_joint.free_model(a.model);
    est_curves_free(&a.curves);
    long spe = (d.train.n + 127) / 128;
    const char *cap[] = {"depth=1", "width=16", "batch=128", "patience=0", "lr_schedule=cosine",
                         "max_steps=100", NULL};
    assert_int_equal(tu_fit(&est_joint, &d, 5, cap, &a), 0);
    assert_non_null(a.model);
    assert_string_equal(a.curves.stopped_by, "cap");
    assert_int_equal(a.curves.epochs_run, (int)((100 + spe - 1) / spe));
    est_joint.free_model(a.model);
    est_curves_free(&a.curves);

    const char *no_keys[] = {"width=theory", "epochs=2", NULL};
    assert_int_equal(tu_fit(&est_joint, &d, 1, no_keys, &e), 0);
    assert_null(e.model);
    assert_non_null(strstr(e.err, "theory"));
    est_curves_free(&e.curves);
    /* d = 2 + 4 = 6, beta = 1: 0.5 * n^(6/8) */
    const char *theory[] = {"width=theory", "width_scale=0.5", "data.user_intrinsic_dim=2",
                            "data.item_intrinsic_dim=4", "data.beta=1", "epochs=3", "depth=2",
                            NULL};
    assert_int_equal(tu_fit(&est_joint, &d, 7, theory, &a), 0);
    assert_int_equal(tu_fit(&est_joint, &d, 7, theory, &b), 0);
    assert_int_equal(tu_fit(&est_joint, &d, 8, theory, &c), 0);
    assert_true(a.model && b.model && c.model);
    int w = 0;
    sscanf(strstr(a.curves.note, "width=") + 6, "%d", &w);
    assert_int_equal(w, (int)ceil(0.5 * pow((double)d.train.n, 6.0 / 8.0)));
    assert_int_equal(a.curves.epochs_run, 3);
    const ds_split *s = &d.test_cold;
    double *pa = malloc(s->n * sizeof *pa), *pb = malloc(s->n * sizeof *pb), *pc = malloc(s->n * sizeof *pc);
    est_joint.predict(a.model, &d, s->n, s->user, s->item, pa);
    est_joint.predict(b.model, &d, s->n, s->user, s->item, pb);
    est_joint.predict(c.model, &d, s->n, s->user, s->item, pc);
    assert_memory_equal(pa, pb, s->n * sizeof *pa);
    assert_memory_not_equal(pa, pc, s->n * sizeof *pa);
    double ex = metric_mse(pa, s->oracle, s->n);
    assert_true(fabs(ex - a.curves.test_excess[a.curves.best_epoch - 1]) < 1e-9 * fmax(1, ex));
    free(pa);
    free(pb);
    free(pc);
    tu_fit_result *all[] = {&a, &b, &c};
    for (int k = 0; k < 3; k++) {
        est_joint.free_model(all[k]->model);
        est_curves_free(&all[k]->curves);
    }
    ds_free(&d);
}

static void test_divergence(void **state)
{
    (void)state;
    ds_data d;
    assert_int_equal(make_data(&d, 1000, 3, 500), 0);
    d.train.rating[d.train.n / 2] = INFINITY;
    const char *kv[] = {"epochs=3", "width=8", "depth=1", "center=no", NULL};
    tu_fit_result r;
    assert_int_equal(tu_fit(&est_joint, &d, 1, kv, &r), 0);
    assert_null(r.model);
    assert_string_equal(r.err, "non-finite loss at epoch 1");
    assert_string_equal(r.curves.stopped_by, "diverged");
    est_curves_free(&r.curves);
    ds_free(&d);
}

/* ids = yes: covariates that say nothing (one constant column); ratings bu[u] + bi[i] +
 * bu[u] bi[i] can only be fitted through the id embeddings. Unseen entities: finite. */
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
        d.train.rating[k] = bu[k / NI] + bi[k % NI] + bu[k / NI] * bi[k % NI];
    }
    double rmse[2];
    for (int ids = 0; ids < 2; ids++) {
        const char *kv[] = {ids ? "ids=yes" : "ids=no", "depth=2", "width=64", "lr=0.01",
                            "batch=200", "epochs=150", "patience=0", "lr_schedule=constant",
                            "max_steps=0", NULL};
        tu_fit_result r;
        assert_int_equal(tu_fit(&est_joint, &d, 3, kv, &r), 0);
        assert_non_null(r.model);
        double *p = malloc((size_t)n * sizeof *p);
        est_joint.predict(r.model, &d, n, d.train.user, d.train.item, p);
        rmse[ids] = metric_rmse(p, d.train.rating, n);
        int32_t uu = NU, ii = 0;
        double q;
        est_joint.predict(r.model, &d, 1, &uu, &ii, &q);
        assert_true(isfinite(q));
        free(p);
        est_joint.free_model(r.model);
        est_curves_free(&r.curves);
    }
    print_message("ids: train RMSE without ids %.4f, with ids %.4f\n", rmse[0], rmse[1]);
    assert_true(rmse[1] < 0.25 * rmse[0]);
    ds_free(&d);
}

/* Learning: at 2^13 every seed's joint network is below a third of the baseline's cold excess
 * risk, and the mean excess risk falls from 2^11 to 2^13. */
static void test_learning(void **state)
{
    (void)state;
    enum { NS = 2, SEEDS = 3 };
    const long sizes[NS] = {1L << 11, 1L << 13};
    const char *kv[] = {"depth=2", "width=64", NULL};
    double jt[NS][SEEDS], bl[NS][SEEDS], mean[NS] = {0, 0};
    for (int k = 0; k < NS; k++)
        for (int s = 0; s < SEEDS; s++) {
            ds_data d;
            assert_int_equal(make_data(&d, sizes[k], 100 + s, 5000), 0);
            tu_fit_result r, b;
            assert_int_equal(tu_fit(&est_joint, &d, 1000 + s, kv, &r), 0);
            assert_non_null(r.model);
            assert_int_equal(tu_fit(&est_baseline, &d, 1000 + s, NULL, &b), 0);
            assert_non_null(b.model);
            jt[k][s] = excess_cold(&est_joint, r.model, &d);
            bl[k][s] = excess_cold(&est_baseline, b.model, &d);
            mean[k] += jt[k][s] / SEEDS;
            est_joint.free_model(r.model);
            est_baseline.free_model(b.model);
            est_curves_free(&r.curves);
            est_curves_free(&b.curves);
            ds_free(&d);
        }
    for (int k = 0; k < NS; k++)
        print_message("n_obs %5ld: joint excess %.4f %.4f %.4f, baseline %.4f %.4f %.4f\n",
                      sizes[k], jt[k][0], jt[k][1], jt[k][2], bl[k][0], bl[k][1], bl[k][2]);
    for (int s = 0; s < SEEDS; s++)
        assert_true(jt[1][s] <= bl[1][s] / 3.0);
    assert_true(mean[1] < mean[0]);
}

int main(int argc, char **argv)
{
    blas_setup(argc, argv);
    blas_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_layer),
        cmocka_unit_test(test_gradient_fd),
        cmocka_unit_test(test_pytorch_crosscheck),
        cmocka_unit_test(test_pytorch_crosscheck_ids),
        cmocka_unit_test(test_check_parameter),
        cmocka_unit_test(test_stopping_theory_determinism),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_learning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
