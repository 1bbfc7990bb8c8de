/* test_sae.c — CompresSAE (src/nn_sae.c): the signed top-k, a finite-difference check of the
 * backward pass (top-k masks held fixed), the decoder renormalisation, a PyTorch cross-check of
 * losses, first-step gradients and weights after Adam steps (tests/reference/sae_ref.py), and a
 * training test on inputs that are sparse in a hidden dictionary (held-out reconstruction). */
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
#include "nn_sae.h"
#include "testutil.h"

static void random_rows(gsl_rng *rng, float *X, int n, int d)
{
    for (int r = 0; r < n; r++) {
        double s = 0;
        for (int c = 0; c < d; c++) {
            X[(size_t)r * d + c] = (float)nn_sae_gauss(rng);
            s += (double)X[(size_t)r * d + c] * X[(size_t)r * d + c];
        }
        for (int c = 0; c < d; c++)
            X[(size_t)r * d + c] = (float)(X[(size_t)r * d + c] / sqrt(s));
    }
}

static void random_model(nn_sae *m, gsl_rng *rng)
{
    nn_sae_init(m, rng);
    for (size_t q = 0; q < (size_t)m->s * m->d; q++)   /* untie encoder and decoder */
        m->We[q] += 0.3f * (float)nn_sae_gauss(rng);
    for (int j = 0; j < m->s; j++)
        m->be[j] = 0.1f * (float)nn_sae_gauss(rng);
}

/* the top-k is the k largest |a| with signs, ascending indices */
static void test_topk(void **state)
{
    (void)state;
    char err[256];
    nn_sae *m = nn_sae_new(3, 8, 3, 1, 1e-3f, err, sizeof err);
    assert_non_null(m);
    const float a[8] = {0.5f, -2.0f, 0.1f, 1.5f, -0.4f, 0.0f, -1.6f, 0.3f};
    int32_t idx[3];
    float val[3];
    nn_sae_topk(m, a, 3, idx, val);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 3);
    assert_int_equal(idx[2], 6);
    assert_true(val[0] == -2.0f && val[1] == 1.5f && val[2] == -1.6f);
    /* ties: the lower index wins */
    const float t[8] = {1, -1, 1, -1, 1, -1, 1, -1};
    nn_sae_topk(m, t, 3, idx, val);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[2], 2);
    nn_sae_free(m);
    assert_null(nn_sae_new(3, 8, 9, 1, 1e-3f, err, sizeof err));   /* k > s refused */
}

/* central differences of the mean loss against backward(), masks frozen */
static void test_gradcheck(void **state)
{
    (void)state;
    enum { D = 6, S = 12, K = 2, B = 5 };
    char err[256];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    nn_sae *m = nn_sae_new(D, S, K, B, 1e-3f, err, sizeof err);
    assert_non_null(m);
    random_model(m, rng);
    float X[B * D];
    random_rows(rng, X, B, D);
    double l0 = nn_sae_forward(m, X, B);
    nn_sae_backward(m, X, B);
    float *g = malloc(m->n_params * sizeof *g);
    memcpy(g, m->grads, m->n_params * sizeof *g);
    m->freeze_mask = 1;
    double gmax = 0, worst = 0;
    for (size_t q = 0; q < m->n_params; q++)
        gmax = fabs(g[q]) > gmax ? fabs(g[q]) : gmax;
    const float h = 1e-2f;
    for (size_t q = 0; q < m->n_params; q++) {
        float keep = m->params[q];
        m->params[q] = keep + h;
        double lp = nn_sae_forward(m, X, B);
        m->params[q] = keep - h;
        double lm = nn_sae_forward(m, X, B);
        m->params[q] = keep;
        double fd = (lp - lm) / (2.0 * h), e = fabs(fd - g[q]) / gmax;
        if (e > worst)
            worst = e;
    }
    print_message("gradcheck: %zu params, loss %.5f, max |grad| %.3g, worst |fd - grad| / max "
                  "|grad| = %.2e\n", m->n_params, l0, gmax, worst);
    assert_true(gmax > 1e-3);
    assert_true(worst < 2e-3);
    /* the frozen masks really are the top-k ones: the loss did not move */
    assert_true(fabs(nn_sae_forward(m, X, B) - l0) < 1e-12);
    free(g);
    nn_sae_free(m);
    gsl_rng_free(rng);
}

/* every decoder row has unit norm after a step */
static void test_renorm(void **state)
{
    (void)state;
    enum { D = 5, S = 9, K = 2, B = 4 };
    char err[256];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    nn_sae *m = nn_sae_new(D, S, K, B, 0.05f, err, sizeof err);
    assert_non_null(m);
    random_model(m, rng);
    float X[B * D];
    random_rows(rng, X, B, D);
    for (int t = 0; t < 5; t++)
        nn_sae_step(m, X, B);
    for (int j = 0; j < S; j++) {
        double n = 0;
        for (int c = 0; c < D; c++)
            n += (double)m->D[j * D + c] * m->D[j * D + c];
        assert_true(fabs(sqrt(n) - 1.0) < 1e-5);
    }
    nn_sae_free(m);
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
    enum { N = 40, D = 10, S = 24, K = 3, B = 16, STEPS = 25 };
    const float lr = 0.01f;
    char err[256], dir[512];
    tu_tmpdir("sae_ref", dir, sizeof dir);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    nn_sae *m = nn_sae_new(D, S, K, B, lr, err, sizeof err);
    assert_non_null(m);
    random_model(m, rng);
    static float X[N * D];
    random_rows(rng, X, N, D);
    float *init = malloc(m->n_params * sizeof *init), *ref = malloc(m->n_params * sizeof *ref);
    float *g0 = malloc(m->n_params * sizeof *g0);
    memcpy(init, m->params, m->n_params * sizeof *init);
    assert_int_equal(tu_write_bin(dir, "X.bin", X, sizeof X), 0);
    assert_int_equal(tu_write_bin(dir, "init.bin", init, m->n_params * sizeof *init), 0);
    char meta[256], path[600];
    snprintf(meta, sizeof meta, "%d %d %d %d %.9g %d %d\n", N, D, S, K, (double)lr, STEPS, B);
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    assert_int_equal(tu_write_file(path, meta), 0);

    double loss[STEPS];
    unsigned char mk0[B * S];
    float xb[B * D];
    for (int t = 0; t < STEPS; t++) {
        for (int r = 0; r < B; r++)
            memcpy(xb + r * D, X + ((t * B + r) % N) * D, D * sizeof *xb);
        loss[t] = nn_sae_step(m, xb, B);
        if (t == 0) {
            /* gradients and masks of step 0 on the initial weights (a second model: the
             * step above already moved m's weights) */
            nn_sae *m0 = nn_sae_new(D, S, K, B, lr, err, sizeof err);
            assert_non_null(m0);
            memcpy(m0->params, init, m->n_params * sizeof *init);
            nn_sae_forward(m0, xb, B);
            nn_sae_backward(m0, xb, B);
            memcpy(g0, m0->grads, m->n_params * sizeof *g0);
            memcpy(mk0, m0->mk, sizeof mk0);
            nn_sae_free(m0);
        }
    }
    char cmd[1200], out[8192];
    snprintf(cmd, sizeof cmd, "%s tests/reference/sae_ref.py '%s'", tu_python(), dir);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        print_error("reference failed (exit %d; is python3-torch installed?):\n%s\n", rc, out);
    assert_int_equal(rc, 0);

    double worst_loss = 0;
    assert_int_equal(tu_compare_losses(dir, loss, STEPS, 1e-5, &worst_loss), 0);
    assert_true(loss[STEPS - 1] < loss[0]);

    /* masks of step 0 identical */
    unsigned char tm[B * S];
    snprintf(path, sizeof path, "%s/masks0.bin", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(tm, 1, sizeof tm, f), sizeof tm);
    fclose(f);
    assert_memory_equal(tm, mk0, sizeof tm);

    /* gradients of step 0, relative to the largest */
    assert_int_equal(read_floats(dir, "grads0.bin", ref, m->n_params), 0);
    double gmax = 0, gworst = 0;
    for (size_t q = 0; q < m->n_params; q++)
        gmax = fabs(ref[q]) > gmax ? fabs(ref[q]) : gmax;
    for (size_t q = 0; q < m->n_params; q++) {
        double e = fabs(ref[q] - g0[q]) / gmax;
        gworst = e > gworst ? e : gworst;
    }
    double wworst = 0, moved = 0;
    assert_int_equal(tu_compare_params(dir, "final.bin", m->params, init, m->n_params, &wworst,
                                       &moved), 0);
    print_message("pytorch cross-check: %d Adam steps, %zu params, loss %.4f -> %.4f, worst loss "
                  "rel diff %.2e, worst grad diff / max |grad| %.2e, worst weight diff %.2e, "
                  "largest weight change %.3f\n", STEPS, m->n_params, loss[0], loss[STEPS - 1],
                  worst_loss, gworst, wworst, moved);
    assert_true(gmax > 1e-3);
    assert_true(gworst < 1e-4);
    assert_true(wworst < 1e-4);
    assert_true(moved > 0.05);
    free(init);
    free(ref);
    free(g0);
    nn_sae_free(m);
    gsl_rng_free(rng);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
}

/* Inputs that are exactly 3-sparse in a hidden dictionary of 48 atoms in R^16: after training,
 * the training loss falls below 0.6 x its first epoch's, held-out inputs are reconstructed from
 * k = 4 codes with mean cosine > 0.88 (measured 0.911), and beat keeping each input's 4 largest
 * coordinates (the same number of stored values; 0.830) by 0.05. */
static void test_training(void **state)
{
    (void)state;
    enum { D = 16, A = 48, S = 96, K = 4, NTR = 2000, NTE = 300, B = 128 };
    char err[256];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 21);
    float *dict = malloc((size_t)A * D * sizeof *dict);
    random_rows(rng, dict, A, D);
    float *X = calloc((size_t)(NTR + NTE) * D, sizeof *X);
    for (int r = 0; r < NTR + NTE; r++) {
        double n = 0;
        for (int q = 0; q < 3; q++) {
            int a = (int)gsl_rng_uniform_int(rng, A);
            double w = (0.5 + gsl_rng_uniform(rng)) * (gsl_rng_uniform(rng) < 0.5 ? -1 : 1);
            for (int c = 0; c < D; c++)
                X[(size_t)r * D + c] += (float)(w * dict[a * D + c]);
        }
        for (int c = 0; c < D; c++)
            n += (double)X[(size_t)r * D + c] * X[(size_t)r * D + c];
        for (int c = 0; c < D; c++)
            X[(size_t)r * D + c] = (float)(X[(size_t)r * D + c] / sqrt(n));
    }
    nn_sae *m = nn_sae_new(D, S, K, B, 3e-3f, err, sizeof err);
    assert_non_null(m);
    nn_sae_init(m, rng);
    const float *Xte = X + (size_t)NTR * D;
    double c0 = 0;
    nn_sae *ev = nn_sae_new(D, S, K, NTE, 1e-3f, err, sizeof err);
    assert_non_null(ev);
    memcpy(ev->params, m->params, m->n_params * sizeof(float));
    c0 = nn_sae_forward(ev, Xte, NTE);
    double first = 0, last = 0;
    for (int ep = 0; ep < 60; ep++) {
        double s = 0;
        int nb = 0;
        for (int at = 0; at + B <= NTR; at += B, nb++)
            s += nn_sae_step(m, X + (size_t)at * D, B);
        if (ep == 0)
            first = s / nb;
        last = s / nb;
    }
    memcpy(ev->params, m->params, m->n_params * sizeof(float));
    nn_sae_forward(ev, Xte, NTE);
    double cs = 0, trunc = 0;
    for (int r = 0; r < NTE; r++) {
        const float *x = Xte + (size_t)r * D, *y = ev->yk + (size_t)r * D;
        double xy = 0, yy = 0;
        for (int c = 0; c < D; c++) {
            xy += (double)x[c] * y[c];
            yy += (double)y[c] * y[c];
        }
        cs += yy > 0 ? xy / sqrt(yy) : 0;
        /* keep the K largest |x_c|: cos = sqrt(sum of their squares) (|x| = 1) */
        float mag[D];
        for (int c = 0; c < D; c++)
            mag[c] = x[c] * x[c];
        double kept = 0;
        for (int q = 0; q < K; q++) {
            int b = 0;
            for (int c = 1; c < D; c++)
                b = mag[c] > mag[b] ? c : b;
            kept += mag[b];
            mag[b] = -1;
        }
        trunc += sqrt(kept);
    }
    cs /= NTE;
    trunc /= NTE;
    print_message("training: loss %.4f (untrained, held out) %.4f (epoch 1) -> %.4f (epoch 60); "
                  "held-out k-cosine %.4f vs top-%d coordinate truncation %.4f\n", c0, first, last,
                  cs, K, trunc);
    assert_true(last < 0.6 * first);
    assert_true(cs > 0.88);
    assert_true(cs > trunc + 0.05);
    nn_sae_free(ev);
    nn_sae_free(m);
    free(X);
    free(dict);
    gsl_rng_free(rng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topk),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_renorm),
        cmocka_unit_test(test_pytorch),
        cmocka_unit_test(test_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
