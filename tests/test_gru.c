/* test_gru.c — the GRU layer (src/nn_gru.c) and the twotimescale sequence encoder built on it:
 *   1. finite differences of gru_forward / gru_backward (weights, biases, inputs, h0) through a
 *      linear loss on every output state, padded sequences of lengths 0..T included;
 *   2. finite differences of the encoder's loss (gru_enc_forward / gru_enc_backward, what
 *      training calls): every parameter, the inputs and h0;
 *   3. a PyTorch cross-check against torch.nn.GRU + nn.Linear on identical weights, sequences
 *      (pack_padded_sequence) and h0: the loss and every gradient
 *      (tests/reference/gru_ref.py, /usr/bin/python3);
 *   4. Adam steps (gru_enc_step) lower the loss of a learnable toy task.
 * The checks 1-2 evaluate the math independently in double precision (naive loops written here),
 * take central differences (eps 1e-6) and compare them with the float32 analytic gradients. */
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
#include "nn_gru.h"
#include "testutil.h"

#define EPS 1e-6

static gsl_rng *rng;

static double unif(double a, double b) { return a + (b - a) * gsl_rng_uniform(rng); }

static void fill(float *x, long n, double a, double b)
{
    for (long k = 0; k < n; k++)
        x[k] = (float)unif(a, b);
}

static void assert_grad(double analytic, double fd, double floor, const char *what, long k)
{
    double tol = 2e-3 * fmax(fabs(fd), floor) + 1e-5;
    if (fabs(analytic - fd) > tol) {
        print_error("%s[%ld]: analytic %.9g vs finite difference %.9g\n", what, k, analytic, fd);
        fail();
    }
}

static double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* The GRU in double: hall (T+1, B, H) from h0, x (T, B, C), parameters in the encoder layout. */
static void gru_d(const double *par, const double *x, const double *h0, const int *len, int T,
                  int B, int C, int H, double *hall)
{
    int G = 3 * H;
    const double *wih = par, *whh = wih + G * C, *bih = whh + G * H, *bhh = bih + G;
    memcpy(hall, h0, (size_t)B * H * sizeof *hall);
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const double *hp = hall + ((size_t)t * B + b) * H, *xt = x + ((size_t)t * B + b) * C;
            double *hn = hall + ((size_t)(t + 1) * B + b) * H;
            if (t >= len[b]) {
                memcpy(hn, hp, (size_t)H * sizeof *hn);
                continue;
            }
            for (int j = 0; j < H; j++) {
                double a[3], c[3];
                for (int g = 0; g < 3; g++) {
                    int row = g * H + j;
                    a[g] = bih[row];
                    c[g] = bhh[row];
                    for (int k = 0; k < C; k++)
                        a[g] += wih[(size_t)row * C + k] * xt[k];
                    for (int k = 0; k < H; k++)
                        c[g] += whh[(size_t)row * H + k] * hp[k];
                }
                double r = sig(a[0] + c[0]), z = sig(a[1] + c[1]), n = tanh(a[2] + r * c[2]);
                hn[j] = (1 - z) * n + z * hp[j];
            }
        }
}

/* ---- 1. the layer ---- */

typedef struct {
    int T, B, C, H;
    const int *len;
    const double *w;   /* (T, B, H) loss weights of the states h_1..h_T */
} layer_case;

static double layer_loss_d(const layer_case *c, const double *par, const double *x, const double *h0)
{
    size_t nh = (size_t)(c->T + 1) * c->B * c->H;
    double *hall = malloc(nh * sizeof *hall);
    gru_d(par, x, h0, c->len, c->T, c->B, c->C, c->H, hall);
    double L = 0;
    for (size_t k = 0; k < (size_t)c->T * c->B * c->H; k++)
        L += c->w[k] * hall[(size_t)c->B * c->H + k];
    free(hall);
    return L;
}

static void to_d(double *o, const float *in, size_t n)
{
    for (size_t k = 0; k < n; k++)
        o[k] = in[k];
}

static void test_layer_fd(void **state)
{
    (void)state;
    enum { T = 5, B = 4, C = 3, H = 4, G = 3 * H };
    int len[B] = {5, 2, 0, 3};
    size_t npar = (size_t)G * C + (size_t)G * H + 2 * G;
    float *par = malloc(npar * sizeof *par), x[T * B * C], h0[B * H];
    fill(par, (long)npar, -0.8, 0.8);
    fill(x, T * B * C, -1, 1);
    fill(h0, B * H, -0.5, 0.5);
    double w[T * B * H];
    for (int k = 0; k < T * B * H; k++)
        w[k] = unif(-1, 1);
    float *wih = par, *whh = wih + G * C, *bih = whh + G * H, *bhh = bih + G;

    float hall[(T + 1) * B * H], gates[T * B * G], ghn[T * B * H], gh[B * G];
    memcpy(hall, h0, sizeof h0);
    gru_forward(hall, gates, ghn, gh, x, wih, whh, bih, bhh, len, T, B, C, H);
    /* the forward itself against the double reference */
    double pd[npar], xd[T * B * C], h0d[B * H], halld[(T + 1) * B * H];
    to_d(pd, par, npar);
    to_d(xd, x, T * B * C);
    to_d(h0d, h0, B * H);
    gru_d(pd, xd, h0d, len, T, B, C, H, halld);
    for (int k = 0; k < (T + 1) * B * H; k++)
        assert_true(fabs(hall[k] - halld[k]) < 1e-5);
    /* a padded row keeps its state; the zero-length row ends at h0 */
    for (int j = 0; j < H; j++) {
        assert_true(hall[((size_t)T * B + 2) * H + j] == h0[2 * H + j]);
        assert_true(hall[((size_t)T * B + 1) * H + j] == hall[((size_t)2 * B + 1) * H + j]);
    }

    float dhall[(T + 1) * B * H], dgi[T * B * G], dgh[T * B * G];
    float *dpar = calloc(npar, sizeof *dpar), dx[T * B * C], dh0[B * H];
    memset(dhall, 0, sizeof dhall);
    for (int k = 0; k < T * B * H; k++)
        dhall[B * H + k] = (float)w[k];
    memset(dx, 0, sizeof dx);
    memset(dh0, 0, sizeof dh0);
    gru_backward(dx, dpar, dpar + G * C, dpar + G * C + G * H, dpar + G * C + G * H + G, dh0, dhall,
                 dgi, dgh, hall, gates, ghn, x, wih, whh, len, T, B, C, H);
    layer_case lc = {T, B, C, H, len, w};
    for (size_t k = 0; k < npar; k++) {
        double s = pd[k];
        pd[k] = s + EPS;
        double lp = layer_loss_d(&lc, pd, xd, h0d);
        pd[k] = s - EPS;
        double lm = layer_loss_d(&lc, pd, xd, h0d);
        pd[k] = s;
        assert_grad(dpar[k], (lp - lm) / (2 * EPS), 1e-2, "dparams", (long)k);
    }
    for (int k = 0; k < T * B * C; k++) {
        double s = xd[k];
        xd[k] = s + EPS;
        double lp = layer_loss_d(&lc, pd, xd, h0d);
        xd[k] = s - EPS;
        double lm = layer_loss_d(&lc, pd, xd, h0d);
        xd[k] = s;
        assert_grad(dx[k], (lp - lm) / (2 * EPS), 1e-2, "dinp", k);
    }
    for (int k = 0; k < B * H; k++) {
        double s = h0d[k];
        h0d[k] = s + EPS;
        double lp = layer_loss_d(&lc, pd, xd, h0d);
        h0d[k] = s - EPS;
        double lm = layer_loss_d(&lc, pd, xd, h0d);
        h0d[k] = s;
        assert_grad(dh0[k], (lp - lm) / (2 * EPS), 1e-2, "dh0", k);
    }
    /* padded steps get no input gradient */
    for (int k = 0; k < C; k++)
        assert_true(dx[((size_t)3 * B + 1) * C + k] == 0.0f);
    free(par);
    free(dpar);
}

/* ---- 2. the encoder ---- */

typedef struct {
    int T, B, C, H, P;
    const int *len;
    const double *v, *off, *y;
} enc_case;

static double enc_loss_d(const enc_case *c, const double *par, const double *x, const double *h0)
{
    int T = c->T, B = c->B, H = c->H, P = c->P, G = 3 * H;
    double *hall = malloc((size_t)(T + 1) * B * H * sizeof *hall);
    gru_d(par, x, h0, c->len, T, B, c->C, H, hall);
    const double *wo = par + (size_t)G * c->C + (size_t)G * H + 2 * G, *bo = wo + (size_t)P * H;
    double L = 0;
    long nv = 0;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            if (t >= c->len[b])
                continue;
            size_t q = (size_t)t * B + b;
            double pred = c->off[q];
            for (int p = 0; p < P; p++) {
                double ph = bo[p];
                for (int j = 0; j < H; j++)
                    ph += wo[(size_t)p * H + j] * hall[q * H + j];
                pred += ph * c->v[q * P + p];
            }
            L += (pred - c->y[q]) * (pred - c->y[q]);
            nv++;
        }
    free(hall);
    return nv ? L / nv : 0;
}

/* A random batch in e: lengths, inputs, targets. */
static void random_batch(gru_enc *e, int T, int B, const int *len)
{
    for (int b = 0; b < B; b++)
        e->len[b] = len[b];
    fill(e->x, (long)T * B * e->C, -1, 1);
    fill(e->v, (long)T * B * e->P, -1, 1);
    fill(e->off, (long)T * B, -0.5, 0.5);
    fill(e->y, (long)T * B, -2, 2);
}

static void test_encoder_fd(void **state)
{
    (void)state;
    enum { T = 4, B = 3, C = 3, H = 3, P = 2 };
    int len[B] = {4, 1, 3};
    gru_enc *e = gru_enc_new(C, H, P, T, B, 0.01f);
    assert_non_null(e);
    gru_enc_init(e, rng);
    random_batch(e, T, B, len);
    float h0[B * H], dx[T * B * C], dh0[B * H];
    fill(h0, B * H, -0.5, 0.5);
    double loss = gru_enc_forward(e, T, B, h0);
    gru_enc_backward(e, T, B, dx, dh0);
    size_t n = e->n_params;
    double *pd = malloc(n * sizeof *pd), xd[T * B * C], h0d[B * H], vd[T * B * P], od[T * B],
           yd[T * B];
    to_d(pd, e->params, n);
    to_d(xd, e->x, T * B * C);
    to_d(h0d, h0, B * H);
    to_d(vd, e->v, T * B * P);
    to_d(od, e->off, T * B);
    to_d(yd, e->y, T * B);
    enc_case c = {T, B, C, H, P, len, vd, od, yd};
    assert_true(fabs(loss - enc_loss_d(&c, pd, xd, h0d)) < 1e-5 * fmax(1, loss));
    for (size_t k = 0; k < n; k++) {
        double s = pd[k];
        pd[k] = s + EPS;
        double lp = enc_loss_d(&c, pd, xd, h0d);
        pd[k] = s - EPS;
        double lm = enc_loss_d(&c, pd, xd, h0d);
        pd[k] = s;
        assert_grad(e->grads[k], (lp - lm) / (2 * EPS), 1e-2, "encoder dparams", (long)k);
    }
    for (int k = 0; k < T * B * C; k++) {
        double s = xd[k];
        xd[k] = s + EPS;
        double lp = enc_loss_d(&c, pd, xd, h0d);
        xd[k] = s - EPS;
        double lm = enc_loss_d(&c, pd, xd, h0d);
        xd[k] = s;
        assert_grad(dx[k], (lp - lm) / (2 * EPS), 1e-2, "encoder dx", k);
    }
    for (int k = 0; k < B * H; k++) {
        double s = h0d[k];
        h0d[k] = s + EPS;
        double lp = enc_loss_d(&c, pd, xd, h0d);
        h0d[k] = s - EPS;
        double lm = enc_loss_d(&c, pd, xd, h0d);
        h0d[k] = s;
        assert_grad(dh0[k], (lp - lm) / (2 * EPS), 1e-2, "encoder dh0", k);
    }
    /* encode = the read-out of the state after each row's last input (h0 = 0) */
    float phi[B * P];
    gru_enc_encode(e, T, B, phi);
    double z[B * H];
    memset(z, 0, sizeof z);
    double *hall = malloc((size_t)(T + 1) * B * H * sizeof *hall);
    gru_d(pd, xd, z, len, T, B, C, H, hall);
    const double *wo = pd + (size_t)3 * H * C + (size_t)3 * H * H + 6 * H, *bo = wo + P * H;
    for (int b = 0; b < B; b++)
        for (int p = 0; p < P; p++) {
            double ph = bo[p];
            for (int j = 0; j < H; j++)
                ph += wo[p * H + j] * hall[((size_t)T * B + b) * H + j];
            assert_true(fabs(phi[b * P + p] - ph) < 1e-5);
        }
    free(hall);
    free(pd);
    gru_enc_free(e);
}

/* ---- 3. PyTorch ---- */

static void test_torch_crosscheck(void **state)
{
    (void)state;
    enum { T = 7, B = 5, C = 6, H = 8, P = 4 };
    int len[B] = {7, 3, 1, 6, 4};   /* >= 1: pack_padded_sequence refuses empty rows */
    char dir[512], cmd[1200], out[4096];
    tu_tmpdir("test_gru_torch", dir, sizeof dir);
    gru_enc *e = gru_enc_new(C, H, P, T, B, 0.01f);
    assert_non_null(e);
    gru_enc_init(e, rng);
    random_batch(e, T, B, len);
    float h0[B * H], dx[T * B * C], dh0[B * H];
    fill(h0, B * H, -0.5, 0.5);
    double loss = gru_enc_forward(e, T, B, h0);
    gru_enc_backward(e, T, B, dx, dh0);
    FILE *f = fopen(strcat(strcpy(out, dir), "/meta.txt"), "w");
    assert_non_null(f);
    fprintf(f, "%d %d %d %d %d\n", T, B, C, H, P);
    for (int b = 0; b < B; b++)
        fprintf(f, "%d ", len[b]);
    fprintf(f, "\n");
    fclose(f);
    assert_int_equal(tu_write_bin(dir, "params.bin", e->params, e->n_params * sizeof(float)), 0);
    assert_int_equal(tu_write_bin(dir, "x.bin", e->x, (size_t)T * B * C * sizeof(float)), 0);
    assert_int_equal(tu_write_bin(dir, "v.bin", e->v, (size_t)T * B * P * sizeof(float)), 0);
    assert_int_equal(tu_write_bin(dir, "off.bin", e->off, (size_t)T * B * sizeof(float)), 0);
    assert_int_equal(tu_write_bin(dir, "y.bin", e->y, (size_t)T * B * sizeof(float)), 0);
    assert_int_equal(tu_write_bin(dir, "h0.bin", h0, sizeof h0), 0);
    snprintf(cmd, sizeof cmd, "%s tests/reference/gru_ref.py '%s'", tu_python(), dir);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0) {
        print_error("reference failed (exit %d; is python3-torch installed?):\n%s\n", rc, out);
        fail();
    }
    double worst;
    assert_int_equal(tu_compare_losses(dir, &loss, 1, 1e-5, &worst), 0);
    print_message("torch nn.GRU: loss rel. diff %.2e\n", worst);
    double moved;
    float *zeros = calloc(e->n_params + T * B * C + B * H, sizeof(float));
    assert_int_equal(tu_compare_params(dir, "dparams.bin", e->grads, zeros, e->n_params, &worst, &moved), 0);
    print_message("torch nn.GRU: parameter gradients max |diff| / max(1,|ref|) %.2e (largest |grad| %.3g)\n",
                  worst, moved);
    assert_true(worst < 1e-5 && moved > 1e-3);
    assert_int_equal(tu_compare_params(dir, "dx.bin", dx, zeros, (size_t)T * B * C, &worst, &moved), 0);
    print_message("torch nn.GRU: input gradients %.2e\n", worst);
    assert_true(worst < 1e-5 && moved > 1e-4);
    assert_int_equal(tu_compare_params(dir, "dh0.bin", dh0, zeros, (size_t)B * H, &worst, &moved), 0);
    print_message("torch nn.GRU: h0 gradients %.2e\n", worst);
    assert_true(worst < 1e-5 && moved > 1e-4);
    free(zeros);
    gru_enc_free(e);
}

/* ---- 4. training lowers the loss ---- */

static void test_steps_learn(void **state)
{
    (void)state;
    /* y_t = mean of the inputs' first coordinate so far (0 at t = 0), read out through v = 1:
     * learnable by a GRU, not by the initial weights */
    enum { T = 8, B = 16, C = 2, H = 8, P = 1 };
    gru_enc *e = gru_enc_new(C, H, P, T, B, 0.01f);
    assert_non_null(e);
    gru_enc_init(e, rng);
    double first = 0, last = 0;
    for (int step = 0; step < 400; step++) {
        for (int b = 0; b < B; b++) {
            e->len[b] = 1 + (int)gsl_rng_uniform_int(rng, T);
            double s = 0;
            for (int t = 0; t < T; t++) {
                size_t q = (size_t)t * B + b;
                e->y[q] = t ? (float)(s / t) : 0.0f;
                e->x[q * C] = (float)unif(-1, 1);
                e->x[q * C + 1] = 1.0f;
                s += e->x[q * C];
                e->v[q] = 1.0f;
                e->off[q] = 0.0f;
            }
        }
        double l = gru_enc_step(e, T, B);
        assert_true(isfinite(l));
        if (step < 20)
            first += l / 20;
        if (step >= 380)
            last += l / 20;
    }
    print_message("toy task: mean loss of the first 20 steps %.4f, last 20 %.4f\n", first, last);
    assert_true(last < 0.3 * first);
    gru_enc_free(e);
}

int main(void)
{
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 17);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_fd),
        cmocka_unit_test(test_encoder_fd),
        cmocka_unit_test(test_torch_crosscheck),
        cmocka_unit_test(test_steps_learn),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gsl_rng_free(rng);
    return rc;
}
