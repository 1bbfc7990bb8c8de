/* test_nn.c — finite-difference gradient checks of the layers in src/nn.c and of the whole
 * two-tower loss through every function training calls (nn_twotower_step, whose
 * tower_backward_update fuses backward and AdamW, and the alternating schedule's
 * nn_twotower_tower_step), a check of the AdamW update against its formula in double, and the
 * out-of-memory path of a huge network.
 *
 * Each check evaluates the layer's math independently in double precision (naive loops written
 * here), takes central differences of a scalar loss in double (eps 1e-6), and compares them with
 * the float32 analytic gradients of the X_backward functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/resource.h>
#include <gsl/gsl_rng.h>
#include "nn.h"
#include "adam.h"
#include "testutil.h"

#define EPS 1e-6

static gsl_rng *rng;

static double unif(double a, double b) { return a + (b - a) * gsl_rng_uniform(rng); }

static void fill(float *x, long n, double a, double b)
{
    for (long k = 0; k < n; k++)
        x[k] = (float)unif(a, b);
}

/* |analytic - fd| small relative to the larger of |fd| and a floor. */
static void assert_grad(double analytic, double fd, double floor, const char *what, long k)
{
    double tol = 2e-3 * fmax(fabs(fd), floor) + 1e-5;
    if (fabs(analytic - fd) > tol) {
        print_error("%s[%ld]: analytic %.9g vs finite difference %.9g\n", what, k, analytic, fd);
        fail();
    }
}

/* ---- linear ---- */

static double lin_loss_d(const double *inp, const double *w, const double *b, const double *c,
                         int B, int C, int OC)
{
    double L = 0;
    for (int r = 0; r < B; r++)
        for (int o = 0; o < OC; o++) {
            double s = b[o];
            for (int j = 0; j < C; j++)
                s += inp[r * C + j] * w[o * C + j];
            L += c[r * OC + o] * s;
        }
    return L;
}

static void to_d(double *d, const float *f, long n)
{
    for (long k = 0; k < n; k++)
        d[k] = f[k];
}

static void fd_check(double (*loss)(void *), void *ctx, double *param, const float *analytic,
                     long n, const char *what, long stride)
{
    for (long k = 0; k < n; k += stride) {
        double keep = param[k];
        param[k] = keep + EPS;
        double lp = loss(ctx);
        param[k] = keep - EPS;
        double lm = loss(ctx);
        param[k] = keep;
        assert_grad(analytic[k], (lp - lm) / (2 * EPS), 1e-2, what, k);
    }
}

typedef struct { double *inp, *w, *b, *c; int B, C, OC; } lin_ctx;
static double lin_cb(void *p)
{
    lin_ctx *x = p;
    return lin_loss_d(x->inp, x->w, x->b, x->c, x->B, x->C, x->OC);
}

static void test_linear(void **state)
{
    (void)state;
    enum { B = 6, C = 7, OC = 5 };
    float inp[B * C], w[OC * C], b[OC], c[B * OC], out[B * OC];
    float dinp[B * C], dw[OC * C], db[OC];
    fill(inp, B * C, -1, 1);
    fill(w, OC * C, -1, 1);
    fill(b, OC, -1, 1);
    fill(c, B * OC, -1, 1);
    nn_linear_forward(out, inp, w, b, B, C, OC);
    /* forward agrees with the double math */
    for (int r = 0; r < B; r++)
        for (int o = 0; o < OC; o++) {
            double s = b[o];
            for (int j = 0; j < C; j++)
                s += (double)inp[r * C + j] * w[o * C + j];
            assert_true(fabs(out[r * OC + o] - s) < 1e-5);
        }
    /* backward accumulates: start from a known offset and subtract it afterwards */
    for (int k = 0; k < B * C; k++) dinp[k] = 0.5f;
    for (int k = 0; k < OC * C; k++) dw[k] = 0.5f;
    for (int k = 0; k < OC; k++) db[k] = 0.5f;
    nn_linear_backward(dinp, dw, db, c, inp, w, B, C, OC);
    for (int k = 0; k < B * C; k++) dinp[k] -= 0.5f;
    for (int k = 0; k < OC * C; k++) dw[k] -= 0.5f;
    for (int k = 0; k < OC; k++) db[k] -= 0.5f;
    double dinp_d[B * C], w_d[OC * C], b_d[OC], c_d[B * OC];
    to_d(dinp_d, inp, B * C);
    to_d(w_d, w, OC * C);
    to_d(b_d, b, OC);
    to_d(c_d, c, B * OC);
    lin_ctx x = {dinp_d, w_d, b_d, c_d, B, C, OC};
    fd_check(lin_cb, &x, dinp_d, dinp, B * C, "linear dinp", 1);
    fd_check(lin_cb, &x, w_d, dw, OC * C, "linear dw", 1);
    fd_check(lin_cb, &x, b_d, db, OC, "linear db", 1);
}

/* ---- ReLU ---- */

typedef struct { double *x, *c; int n; } relu_ctx;
static double relu_cb(void *p)
{
    relu_ctx *r = p;
    double L = 0;
    for (int k = 0; k < r->n; k++)
        L += r->c[k] * (r->x[k] > 0 ? r->x[k] : 0);
    return L;
}

static void test_relu(void **state)
{
    (void)state;
    enum { N = 64 };
    float x[N], out[N], c[N], dx[N];
    for (int k = 0; k < N; k++) {   /* keep away from the kink */
        double v = unif(0.05, 1.0);
        x[k] = (float)(k % 2 ? v : -v);
    }
    fill(c, N, -1, 1);
    nn_relu_forward(out, x, N);
    int pos = 0;
    for (int k = 0; k < N; k++) {
        assert_true(out[k] == (x[k] > 0 ? x[k] : 0.0f));
        pos += out[k] > 0;
    }
    assert_int_equal(pos, N / 2);
    nn_relu_backward(dx, out, c, N);
    double xd[N], cd[N];
    to_d(xd, x, N);
    to_d(cd, c, N);
    relu_ctx r = {xd, cd, N};
    fd_check(relu_cb, &r, xd, dx, N, "relu dinp", 1);
    /* in place: the mask applied to the gradient buffer itself */
    float g[N];
    memcpy(g, c, sizeof g);
    nn_relu_backward(g, out, g, N);
    for (int k = 0; k < N; k++)
        assert_true(g[k] == dx[k]);
}

/* ---- dot head with repeated users/items (scatter-add) ---- */

typedef struct { double *fu, *gi, *c; const int32_t *pu, *pi; int B, P; } dot_ctx;
static double dot_cb(void *p)
{
    dot_ctx *d = p;
    double L = 0;
    for (int b = 0; b < d->B; b++) {
        double s = 0;
        for (int q = 0; q < d->P; q++)
            s += d->fu[d->pu[b] * d->P + q] * d->gi[d->pi[b] * d->P + q];
        L += d->c[b] * s;
    }
    return L;
}

static void test_dot(void **state)
{
    (void)state;
    enum { NU = 3, NI = 4, B = 11, P = 5 };
    const int32_t pu[B] = {0, 1, 2, 0, 0, 1, 2, 2, 1, 0, 2};
    const int32_t pi[B] = {3, 3, 0, 1, 2, 0, 3, 1, 1, 0, 2};
    float fu[NU * P], gi[NI * P], c[B], out[B], dfu[NU * P] = {0}, dgi[NI * P] = {0};
    fill(fu, NU * P, -1, 1);
    fill(gi, NI * P, -1, 1);
    fill(c, B, -1, 1);
    nn_dot_forward(out, fu, gi, pu, pi, B, P);
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int q = 0; q < P; q++)
            s += (double)fu[pu[b] * P + q] * gi[pi[b] * P + q];
        assert_true(fabs(out[b] - s) < 1e-5);
    }
    nn_dot_backward(dfu, dgi, c, fu, gi, pu, pi, B, P);
    double fud[NU * P], gid[NI * P], cd[B];
    to_d(fud, fu, NU * P);
    to_d(gid, gi, NI * P);
    to_d(cd, c, B);
    dot_ctx d = {fud, gid, cd, pu, pi, B, P};
    fd_check(dot_cb, &d, fud, dfu, NU * P, "dot dfu", 1);
    fd_check(dot_cb, &d, gid, dgi, NI * P, "dot dgi", 1);
}

/* ---- squared loss ---- */

typedef struct { double *pred, *y; int B; } mse_ctx;
static double mse_cb(void *p)
{
    mse_ctx *m = p;
    double L = 0;
    for (int b = 0; b < m->B; b++)
        L += (m->pred[b] - m->y[b]) * (m->pred[b] - m->y[b]);
    return L / m->B;
}

static void test_mse(void **state)
{
    (void)state;
    enum { B = 9 };
    float pred[B], y[B], dpred[B] = {0};
    fill(pred, B, -2, 2);
    fill(y, B, -2, 2);
    double pd[B], yd[B];
    to_d(pd, pred, B);
    to_d(yd, y, B);
    mse_ctx m = {pd, yd, B};
    assert_true(fabs(nn_mse_forward(pred, y, B) - mse_cb(&m)) < 1e-12);
    nn_mse_backward(dpred, pred, y, B);
    fd_check(mse_cb, &m, pd, dpred, B, "mse dpred", 1);
}

/* ---- the full two-tower loss w.r.t. every parameter tensor ---- */

typedef struct {
    const nn_twotower *net;
    double *theta;              /* double copy of net->params */
    const float *xu, *xi, *y;
    const int32_t *pu, *pi;
    int nu, ni, B;
} tt_ctx;

/* Tower side s on rows of x, in double, parameters from theta. out (rows, P). */
static void tower_d(const tt_ctx *c, int s, const float *x, int rows, double *out)
{
    const nn_tower *t = &c->net->tower[s];
    double *cur = malloc(sizeof(double) * rows * t->max_dim), *nxt = malloc(sizeof(double) * rows * t->max_dim);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < t->dim[0]; j++)
            cur[r * t->dim[0] + j] = x[r * t->dim[0] + j];
    for (int l = 0; l < t->n_layers; l++) {
        int C = t->dim[l], OC = t->dim[l + 1];
        const double *W = c->theta + (t->W[l] - c->net->params), *b = c->theta + (t->b[l] - c->net->params);
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < OC; o++) {
                double v = b[o];
                for (int j = 0; j < C; j++)
                    v += cur[r * C + j] * W[o * C + j];
                nxt[r * OC + o] = l < t->depth && v < 0 ? 0 : v;
            }
        double *tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    memcpy(out, cur, sizeof(double) * rows * t->dim[t->n_layers]);
    free(cur);
    free(nxt);
}

static double tt_cb(void *p)
{
    const tt_ctx *c = p;
    int P = c->net->embed_dim;
    double *fu = malloc(sizeof(double) * c->nu * P), *gi = malloc(sizeof(double) * c->ni * P);
    tower_d(c, 0, c->xu, c->nu, fu);
    tower_d(c, 1, c->xi, c->ni, gi);
    double L = 0;
    for (int b = 0; b < c->B; b++) {
        double s = 0;
        for (int q = 0; q < P; q++)
            s += fu[c->pu[b] * P + q] * gi[c->pi[b] * P + q];
        L += (s - c->y[b]) * (s - c->y[b]);
    }
    free(fu);
    free(gi);
    return L / c->B;
}

/* Central differences of the double loss tt_cb against the float gradients G (laid out as
 * net->params) for the towers in sides (bit 0 user, bit 1 item), sampled entries. */
static void fd_twotower(tt_ctx *c, const float *G, int sides, const char *label, int *checked,
                        int *nonzero)
{
    const nn_twotower *m = c->net;
    for (int s = 0; s < 2; s++) {
        if (!(sides >> s & 1))
            continue;
        const nn_tower *t = &m->tower[s];
        for (int l = 0; l < t->n_layers; l++) {
            for (int wb = 0; wb < 2; wb++) {
                const float *pp = wb ? t->b[l] : t->W[l];
                long n = wb ? t->dim[l + 1] : (long)t->dim[l + 1] * t->dim[l];
                long off = pp - m->params;
                char what[96];
                snprintf(what, sizeof what, "%s: %s tower %c%d", label, s ? "item" : "user",
                         wb ? 'b' : 'W', l);
                /* sampled entries: up to 12 per tensor, spread over it */
                long stride = n > 12 ? n / 12 : 1;
                for (long k = 0; k < n; k += stride) {
                    double keep = c->theta[off + k];
                    c->theta[off + k] = keep + EPS;
                    double lp = tt_cb(c);
                    c->theta[off + k] = keep - EPS;
                    double lm = tt_cb(c);
                    c->theta[off + k] = keep;
                    double fd = (lp - lm) / (2 * EPS);
                    assert_grad(G[off + k], fd, 1e-2, what, k);
                    (*checked)++;
                    *nonzero += fabs(fd) > 1e-4;
                }
            }
        }
    }
}

/* The gradients of every function that computes them: nn_twotower_backward (the reference
 * path), nn_twotower_step (what schedules pairs / user_grouped train with: tower_backward_update
 * leaves the gradients at the pre-update parameters in net->grads) and nn_twotower_tower_step
 * on each side against the other tower's fixed embeddings (the alternating schedule). */
static void check_twotower(int depth, int width, int P)
{
    enum { DU = 5, DI = 3, NU = 4, NI = 5, B = 13 };
    char err[256];
    nn_twotower *m = nn_twotower_new(DU, DI, depth, width, P, 8, 16, 1e-3f, 0.0f, err, sizeof err);
    assert_non_null(m);
    nn_twotower_init_he(m, rng);
    for (int s = 0; s < 2; s++)   /* non-zero biases, so their role is checked too */
        for (int l = 0; l < m->tower[s].n_layers; l++)
            fill(m->tower[s].b[l], m->tower[s].dim[l + 1], -0.3, 0.3);
    /* every user and item repeats: scatter-add path */
    const int32_t pu[B] = {0, 1, 2, 3, 0, 0, 1, 2, 3, 3, 1, 0, 2};
    const int32_t pi[B] = {4, 3, 2, 1, 0, 4, 4, 0, 1, 2, 3, 3, 4};
    float y[B];
    fill(y, B, -1, 1);
    fill(nn_twotower_user_x(m), NU * DU, -1.5, 1.5);
    fill(nn_twotower_item_x(m), NI * DI, -1.5, 1.5);
    float *p0 = malloc(sizeof(float) * m->n_params);
    memcpy(p0, m->params, sizeof(float) * m->n_params);
    double loss = nn_twotower_forward(m, NU, NI, B, pu, pi, y);
    nn_twotower_backward(m, NU, NI, B, pu, pi, y);

    double *theta = malloc(sizeof(double) * m->n_params);
    to_d(theta, m->params, (long)m->n_params);
    tt_ctx c = {m, theta, nn_twotower_user_x(m), nn_twotower_item_x(m), y, pu, pi, NU, NI, B};
    double Ld = tt_cb(&c);
    assert_true(fabs(loss - Ld) <= 1e-5 * fmax(1.0, fabs(Ld)));

    int checked = 0, nonzero = 0;
    fd_twotower(&c, m->grads, 3, "nn_twotower_backward", &checked, &nonzero);
    /* the checks saw real gradients, not a dead network */
    assert_true(checked >= 4 * (depth + 1));
    assert_true(nonzero >= checked / 2);

    /* nn_twotower_step: same loss, gradients through tower_backward_update, params move */
    double ls = nn_twotower_step(m, NU, NI, B, pu, pi, y);
    assert_true(fabs(ls - Ld) <= 1e-5 * fmax(1.0, fabs(Ld)));
    assert_memory_not_equal(p0, m->params, sizeof(float) * m->n_params);
    checked = nonzero = 0;
    fd_twotower(&c, m->grads, 3, "nn_twotower_step", &checked, &nonzero);
    assert_true(nonzero >= checked / 2);

    /* nn_twotower_tower_step, each side against the other side's embeddings at p0 */
    int maxd = m->tower[0].max_dim > m->tower[1].max_dim ? m->tower[0].max_dim : m->tower[1].max_dim;
    float *s1 = malloc(sizeof(float) * 8 * maxd), *s2 = malloc(sizeof(float) * 8 * maxd);
    float *E = malloc(sizeof(float) * 8 * P);
    for (int side = 0; side < 2; side++) {
        memcpy(m->params, p0, sizeof(float) * m->n_params);
        memset(m->grads, 0, sizeof(float) * m->n_params);
        const nn_tower *other = &m->tower[1 - side];
        nn_tower_infer(other, other->x, side ? NU : NI, E, s1, s2);
        double lt = side ? nn_twotower_tower_step(m, 1, NI, B, pi, E, pu, y)
                         : nn_twotower_tower_step(m, 0, NU, B, pu, E, pi, y);
        assert_true(fabs(lt - Ld) <= 1e-5 * fmax(1.0, fabs(Ld)));
        checked = nonzero = 0;
        fd_twotower(&c, m->grads, 1 << side, "nn_twotower_tower_step", &checked, &nonzero);
        assert_true(checked >= 2 * (depth + 1));
        assert_true(nonzero >= checked / 2);
    }
    free(s1);
    free(s2);
    free(E);
    free(p0);
    free(theta);
    nn_twotower_free(m);
}

static void test_twotower_grad(void **state)
{
    (void)state;
    check_twotower(2, 6, 3);
    check_twotower(0, 1, 4);    /* depth 0: linear towers */
    check_twotower(3, 10, 2);
}

/* ---- AdamW against its formula in double ---- */

static void test_adamw(void **state)
{
    (void)state;
    enum { N = 4, T = 6 };
    adam_state a;
    assert_int_equal(adam_init(&a, 2 * N, 0.01f, 0.5f), 0);
    float p[N] = {0.5f, -1.0f, 2.0f, 0.0f}, q[N] = {0.5f, -1.0f, 2.0f, 0.0f};
    double pd[N], qd[N], m1[N] = {0}, v1[N] = {0}, m2[N] = {0}, v2[N] = {0};
    to_d(pd, p, N);
    to_d(qd, q, N);
    for (int t = 1; t <= T; t++) {
        float g[N];
        for (int k = 0; k < N; k++)
            g[k] = (float)(0.3 * (k + 1) * sin(t + k) + 0.1);
        adam_begin_step(&a);
        adam_update(&a, p, g, 0, N, 1);     /* decayed slice */
        adam_update(&a, q, g, N, N, 0);     /* undecayed slice (its own moments) */
        double bc1 = 1 - pow(0.9, t), bc2 = 1 - pow(0.999, t);
        for (int k = 0; k < N; k++) {
            pd[k] *= 1 - 0.01 * 0.5;
            m1[k] = 0.9 * m1[k] + 0.1 * g[k];
            v1[k] = 0.999 * v1[k] + 0.001 * g[k] * g[k];
            pd[k] -= 0.01 / bc1 * m1[k] / (sqrt(v1[k]) / sqrt(bc2) + 1e-8);
            m2[k] = 0.9 * m2[k] + 0.1 * g[k];
            v2[k] = 0.999 * v2[k] + 0.001 * g[k] * g[k];
            qd[k] -= 0.01 / bc1 * m2[k] / (sqrt(v2[k]) / sqrt(bc2) + 1e-8);
        }
    }
    for (int k = 0; k < N; k++) {
        assert_true(fabs(p[k] - pd[k]) < 1e-5);
        assert_true(fabs(q[k] - qd[k]) < 1e-5);
    }
    /* the decay is visible: decayed and undecayed copies differ where the weight is non-zero */
    assert_true(fabs(p[2] - q[2]) > 1e-3);
    adam_free(&a);
}

/* ---- the vector unit is a property of each optimiser, not a shared static ---- */

/* adam_init records the SIMD level in the state (adam.c once cached it in a function static
 * that every training thread wrote: a data race); every level gives bitwise the scalar result,
 * so forcing the scalar path on one state changes nothing but the speed. */
static void test_adam_simd_level(void **state)
{
    (void)state;
    enum { N = 1000, T = 5 };
    adam_state a, b;
    assert_int_equal(adam_init(&a, N, 0.01f, 0.1f), 0);
    assert_int_equal(adam_init(&b, N, 0.01f, 0.1f), 0);
    assert_true(a.simd >= 0 && a.simd <= 2);
    assert_int_equal(a.simd, b.simd);
    b.simd = 0;   /* scalar */
    float *p = malloc(N * sizeof *p), *q = malloc(N * sizeof *q), *g = malloc(N * sizeof *g);
    fill(p, N, -1, 1);
    memcpy(q, p, N * sizeof *p);
    for (int t = 0; t < T; t++) {
        fill(g, N, -2, 2);
        adam_begin_step(&a);
        adam_begin_step(&b);
        adam_update(&a, p, g, 0, N, 1);
        adam_update(&b, q, g, 0, N, 1);
    }
    assert_memory_equal(p, q, N * sizeof *p);
    free(p);
    free(q);
    free(g);
    adam_free(&a);
    adam_free(&b);
}

/* ---- a network too large to allocate (width 65536, depth 16 are accepted keys) ---- */

/* nn_twotower_new must fail cleanly with a message naming the parameter count. The message used
 * to be written from the model AFTER freeing it; glibc's M_PERTURB fills freed memory with a
 * byte pattern, so that use after free printed a wrong count (and ASan reports it). The address
 * space is capped for the call, so the allocation fails even where memory overcommit is on. */
static void test_huge_network_oom(void **state)
{
    (void)state;
    if (tu_sanitized()) {   /* ASan dies on a failed huge allocation (and finds the bug itself) */
        print_message("skipped under sanitizers\n");
        skip();
    }
    enum { DU = 32, DI = 16, DEPTH = 16, WIDTH = 65536, P = 8 };
    size_t per = 0, expect = 0;
    for (int s = 0; s < 2; s++) {
        int in = s ? DI : DU;
        per = (size_t)WIDTH * in + WIDTH + (size_t)(DEPTH - 1) * ((size_t)WIDTH * WIDTH + WIDTH) +
              (size_t)P * WIDTH + P;
        expect += per;
    }
    struct rlimit old, cap;
    assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
    cap = old;
    cap.rlim_cur = (rlim_t)8 << 30;   /* 8 GiB: far below the ~550 GB this network needs */
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < cap.rlim_cur)
        cap.rlim_cur = old.rlim_cur;
    assert_int_equal(setrlimit(RLIMIT_AS, &cap), 0);
    mallopt(M_PERTURB, 0xa5);
    char err[256] = "";
    nn_twotower *m = nn_twotower_new(DU, DI, DEPTH, WIDTH, P, 256, 256, 1e-3f, 0.0f, err, sizeof err);
    mallopt(M_PERTURB, 0);
    assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
    assert_null(m);
    char want[128];
    snprintf(want, sizeof want, "out of memory (two-tower with %zu parameters)", expect);
    if (strcmp(err, want) != 0)
        print_error("message '%s', expected '%s'\n", err, want);
    assert_string_equal(err, want);
}

int main(void)
{
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 12345);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_relu),
        cmocka_unit_test(test_dot),
        cmocka_unit_test(test_mse),
        cmocka_unit_test(test_twotower_grad),
        cmocka_unit_test(test_adamw),
        cmocka_unit_test(test_adam_simd_level),
        cmocka_unit_test(test_huge_network_oom),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gsl_rng_free(rng);
    return rc;
}
