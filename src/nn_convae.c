/* nn_convae.c — forward/backward of the implicit + explicit autoencoder (nn_convae.h). */
#include "nn_convae.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nn_convae *nn_convae_new(int M, int L, int C, int H, float lr, float weight_decay, char *err,
                         size_t errlen)
{
    if (M < 1 || L < 2 || L > 64 || C < 1 || C > 64 || H < 1) {
        snprintf(err, errlen, "convae sizes: items %d, levels %d (2..64), channels %d (1..64), hidden %d",
                 M, L, C, H);
        return NULL;
    }
    nn_convae *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->M = M;
    m->L = L;
    m->C = C;
    m->H = H;
    size_t mch = (size_t)M * C * H;
    size_t n = (size_t)C * (L + 1) + mch + H + mch + (size_t)M * C + C + 1 + (size_t)L * C + L;
    m->n_params = n;
    m->params = calloc(n, sizeof(float));
    m->grads = calloc(n, sizeof(float));
    m->h = malloc((size_t)H * sizeof(float));
    m->dh = malloc((size_t)H * sizeof(float));
    m->y = malloc((size_t)C * sizeof(float));
    m->dy = malloc((size_t)C * sizeof(float));
    if (!m->params || !m->grads || !m->h || !m->dh || !m->y || !m->dy ||
        adam_init(&m->opt, n, lr, weight_decay) != 0)
        goto oom;
    float *p = m->params, *g = m->grads;
#define TAKE(P, G, len) do { m->P = p; m->G = g; p += (len); g += (len); } while (0)
    TAKE(Wc, gWc, (size_t)C * (L + 1));
    TAKE(E, gE, mch);
    TAKE(be, gbe, (size_t)H);
    TAKE(D, gD, mch);
    TAKE(dd, gdd, (size_t)M * C);
    TAKE(wo, gwo, (size_t)C);
    TAKE(bo, gbo, 1);
    TAKE(Wr, gWr, (size_t)L * C);
    TAKE(br, gbr, (size_t)L);
#undef TAKE
    return m;
oom:
    nn_convae_free(m);
    snprintf(err, errlen, "out of memory (convae: %d items x %d channels x %d hidden)", M, C, H);
    return NULL;
}

void nn_convae_free(nn_convae *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m->h);
    free(m->dh);
    free(m->y);
    free(m->dy);
    adam_free(&m->opt);
    free(m);
}

static void glorot(gsl_rng *rng, float *w, size_t n, int fan_in, int fan_out)
{
    double a = sqrt(6.0 / (fan_in + fan_out));
    for (size_t q = 0; q < n; q++)
        w[q] = (float)(a * (2.0 * gsl_rng_uniform(rng) - 1.0));
}

void nn_convae_init(nn_convae *m, gsl_rng *rng)
{
    memset(m->params, 0, m->n_params * sizeof(float));
    size_t mch = (size_t)m->M * m->C * m->H;
    glorot(rng, m->Wc, (size_t)m->C * (m->L + 1), m->L + 1, m->C);
    glorot(rng, m->E, mch, m->M * m->C, m->H);
    glorot(rng, m->D, mch, m->H, m->M * m->C);
    glorot(rng, m->wo, (size_t)m->C, m->C, 1);
    glorot(rng, m->Wr, (size_t)m->L * m->C, m->C, m->L);
}

static double softplus(double x)   /* log(1 + e^x), stable */
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* c (C) = Wc @ x for an item rated at level lv (1..L): column lv-1 plus the observed column */
static void conv_in(const nn_convae *m, int lv, float *c)
{
    for (int k = 0; k < m->C; k++)
        c[k] = m->Wc[(size_t)k * (m->L + 1) + lv - 1] + m->Wc[(size_t)k * (m->L + 1) + m->L];
}

void nn_convae_encode(const nn_convae *m, const nn_convae_row *r, float *h)
{
    int C = m->C, H = m->H;
    float c[64];
    double *acc = malloc((size_t)H * sizeof *acc);
    if (!acc) {   /* (tiny) fall back to float accumulation */
        memcpy(h, m->be, (size_t)H * sizeof *h);
    } else {
        for (int u = 0; u < H; u++)
            acc[u] = m->be[u];
    }
    for (int q = 0; q < r->n_obs; q++) {
        conv_in(m, r->obs_level[q], c);
        for (int k = 0; k < C; k++) {
            const float *e = m->E + ((size_t)r->obs_item[q] * C + k) * H;
            for (int u = 0; u < H; u++) {
                if (acc)
                    acc[u] += (double)c[k] * e[u];
                else
                    h[u] += c[k] * e[u];
            }
        }
    }
    for (int u = 0; u < H; u++)
        h[u] = (float)(1.0 / (1.0 + exp(-(acc ? acc[u] : h[u]))));
    free(acc);
}

/* y (C) at item j, logit of observe, logits (L) */
static double decode(const nn_convae *m, const float *h, int j, float *y, double *lg)
{
    int C = m->C, H = m->H, L = m->L;
    double o = m->bo[0];
    for (int k = 0; k < C; k++) {
        const float *dr = m->D + ((size_t)j * C + k) * H;
        double s = m->dd[(size_t)j * C + k];
        for (int u = 0; u < H; u++)
            s += (double)dr[u] * h[u];
        y[k] = (float)s;
        o += (double)m->wo[k] * y[k];
    }
    if (lg)
        for (int l = 0; l < L; l++) {
            double s = m->br[l];
            for (int k = 0; k < C; k++)
                s += (double)m->Wr[(size_t)l * C + k] * y[k];
            lg[l] = s;
        }
    return o;
}

static void softmax(double *p, const double *lg, int L)
{
    double mx = lg[0], s = 0;
    for (int l = 1; l < L; l++)
        mx = lg[l] > mx ? lg[l] : mx;
    for (int l = 0; l < L; l++)
        s += (p[l] = exp(lg[l] - mx));
    for (int l = 0; l < L; l++)
        p[l] /= s;
}

void nn_convae_heads(const nn_convae *m, const float *h, int j, double *p_obs, double *p_r)
{
    float y[64];
    double lg[64];
    double o = decode(m, h, j, y, lg);
    *p_obs = 1.0 / (1.0 + exp(-o));
    softmax(p_r, lg, m->L);
}

void nn_convae_zero_grad(nn_convae *m)
{
    memset(m->grads, 0, m->n_params * sizeof(float));
}

double nn_convae_rows(nn_convae *m, const nn_convae_row *rows, int n, double w_neg,
                      double scale, int grads)
{
    int C = m->C, H = m->H, L = m->L;
    float c[64];
    double lg[64], p[64];
    double total = 0;
    for (int b = 0; b < n; b++) {
        const nn_convae_row *r = &rows[b];
        nn_convae_encode(m, r, m->h);
        if (grads)
            memset(m->dh, 0, (size_t)H * sizeof(float));
        for (int q = 0; q < r->n_obs + r->n_neg; q++) {
            int obs = q < r->n_obs;
            int j = obs ? r->obs_item[q] : r->neg_item[q - r->n_obs];
            double o = decode(m, m->h, j, m->y, obs ? lg : NULL);
            double so = 1.0 / (1.0 + exp(-o)), dout;
            if (obs) {
                int t = r->obs_level[q] - 1;
                softmax(p, lg, L);
                total += softplus(-o) - log(p[t] > 1e-300 ? p[t] : 1e-300);
                dout = so - 1.0;
            } else {
                total += w_neg * softplus(o);
                dout = w_neg * so;
            }
            if (!grads)
                continue;
            dout /= scale;
            for (int k = 0; k < C; k++)
                m->dy[k] = (float)(dout * m->wo[k]);
            for (int k = 0; k < C; k++)
                m->gwo[k] += (float)(dout * m->y[k]);
            m->gbo[0] += (float)dout;
            if (obs) {
                int t = r->obs_level[q] - 1;
                for (int l = 0; l < L; l++) {
                    double dl = (p[l] - (l == t)) / scale;
                    m->gbr[l] += (float)dl;
                    for (int k = 0; k < C; k++) {
                        m->gWr[(size_t)l * C + k] += (float)(dl * m->y[k]);
                        m->dy[k] += (float)(dl * m->Wr[(size_t)l * C + k]);
                    }
                }
            }
            for (int k = 0; k < C; k++) {
                size_t row = (size_t)j * C + k;
                float dyk = m->dy[k];
                float *gd = m->gD + row * H;
                const float *dr = m->D + row * H;
                m->gdd[row] += dyk;
                for (int u = 0; u < H; u++) {
                    gd[u] += dyk * m->h[u];
                    m->dh[u] += dyk * dr[u];
                }
            }
        }
        if (!grads)
            continue;
        /* through the sigmoid: dh_pre = dh h (1 - h), kept in dh */
        for (int u = 0; u < H; u++) {
            m->dh[u] *= m->h[u] * (1.0f - m->h[u]);
            m->gbe[u] += m->dh[u];
        }
        for (int q = 0; q < r->n_obs; q++) {
            int lv = r->obs_level[q];
            conv_in(m, lv, c);
            for (int k = 0; k < C; k++) {
                size_t row = (size_t)r->obs_item[q] * C + k;
                float *ge = m->gE + row * H;
                const float *e = m->E + row * H;
                double dc = 0;
                for (int u = 0; u < H; u++) {
                    ge[u] += c[k] * m->dh[u];
                    dc += (double)e[u] * m->dh[u];
                }
                m->gWc[(size_t)k * (L + 1) + lv - 1] += (float)dc;
                m->gWc[(size_t)k * (L + 1) + L] += (float)dc;
            }
        }
    }
    return total;
}

double nn_convae_step(nn_convae *m, const nn_convae_row *rows, int n, double w_neg)
{
    long nobs = 0;
    for (int b = 0; b < n; b++)
        nobs += rows[b].n_obs;
    double scale = nobs > 0 ? (double)nobs : 1.0;
    nn_convae_zero_grad(m);
    double loss = nn_convae_rows(m, rows, n, w_neg, scale, 1) / scale;
    adam_begin_step(&m->opt);
    size_t mch = (size_t)m->M * m->C * m->H;
    struct { float *p; size_t len; int decay; } sl[] = {
        {m->Wc, (size_t)m->C * (m->L + 1), 1}, {m->E, mch, 1}, {m->be, (size_t)m->H, 0},
        {m->D, mch, 1}, {m->dd, (size_t)m->M * m->C, 0}, {m->wo, (size_t)m->C, 1},
        {m->bo, 1, 0}, {m->Wr, (size_t)m->L * m->C, 1}, {m->br, (size_t)m->L, 0},
    };
    for (size_t s = 0; s < sizeof sl / sizeof sl[0]; s++) {
        size_t off = (size_t)(sl[s].p - m->params);
        adam_update(&m->opt, sl[s].p, m->grads + off, off, sl[s].len, sl[s].decay);
    }
    return loss;
}
