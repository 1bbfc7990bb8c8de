/* nn_gru.c — the GRU layer's forward and backward, and the sequence encoder built on it
 * (see nn_gru.h for the equations, shapes and parameter layout). */
#include "nn_gru.h"
#include "nn.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

/* out (R, 3H) = bias broadcast to every row */
static void fill_rows(float *out, const float *bias, long R, int W)
{
    for (long r = 0; r < R; r++) {
        if (bias)
            memcpy(out + (size_t)r * W, bias, (size_t)W * sizeof *out);
        else
            memset(out + (size_t)r * W, 0, (size_t)W * sizeof *out);
    }
}

void gru_forward(float *hall, float *gates, float *ghn, float *gh, const float *inp,
                 const float *w_ih, const float *w_hh, const float *b_ih, const float *b_hh,
                 const int *len, int T, int B, int C, int H)
{
    if (T <= 0 || B <= 0)
        return;
    int G = 3 * H;
    /* gates (T*B, 3H) = inp (T*B, C) @ w_ih^T (C, 3H) + b_ih: all steps at once */
    fill_rows(gates, b_ih, (long)T * B, G);
    if (C > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T * B, G, C, 1.0f, inp, C, w_ih, C,
                    1.0f, gates, G);
    for (int t = 0; t < T; t++) {
        const float *hp = hall + (size_t)t * B * H;
        float *hn = hall + (size_t)(t + 1) * B * H;
        float *gt = gates + (size_t)t * B * G, *gn = ghn + (size_t)t * B * H;
        /* gh (B, 3H) = h_{t-1} (B, H) @ w_hh^T (H, 3H) + b_hh */
        fill_rows(gh, b_hh, B, G);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, G, H, 1.0f, hp, H, w_hh, H, 1.0f,
                    gh, G);
        for (int b = 0; b < B; b++) {
            float *g = gt + (size_t)b * G, *n_out = gn + (size_t)b * H;
            const float *hrow = hp + (size_t)b * H, *ghr = gh + (size_t)b * G;
            float *hnew = hn + (size_t)b * H;
            if (t >= len[b]) {   /* padded step: carry the state */
                memcpy(hnew, hrow, (size_t)H * sizeof *hnew);
                memset(g, 0, (size_t)G * sizeof *g);
                memset(n_out, 0, (size_t)H * sizeof *n_out);
                continue;
            }
            for (int j = 0; j < H; j++) {
                float r = sigmoidf_(g[j] + ghr[j]);
                float z = sigmoidf_(g[H + j] + ghr[H + j]);
                float hn_ = ghr[2 * H + j];
                float n = tanhf(g[2 * H + j] + r * hn_);
                g[j] = r;
                g[H + j] = z;
                g[2 * H + j] = n;
                n_out[j] = hn_;
                hnew[j] = (1.0f - z) * n + z * hrow[j];
            }
        }
    }
}

static void colsum_add(float *db, const float *d, long R, int W)
{
    for (long r = 0; r < R; r++)
        for (int j = 0; j < W; j++)
            db[j] += d[(size_t)r * W + j];
}

void gru_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh, float *dh0,
                  float *dhall, float *dgi, float *dgh, const float *hall, const float *gates,
                  const float *ghn, const float *inp, const float *w_ih, const float *w_hh,
                  const int *len, int T, int B, int C, int H)
{
    if (T <= 0 || B <= 0)
        return;
    int G = 3 * H;
    for (int t = T - 1; t >= 0; t--) {
        /* step t maps h_t = hall[t] to h_{t+1} = hall[t+1] */
        const float *dh = dhall + (size_t)(t + 1) * B * H;
        float *dhp = dhall + (size_t)t * B * H;
        const float *hp = hall + (size_t)t * B * H;
        const float *gt = gates + (size_t)t * B * G, *gn = ghn + (size_t)t * B * H;
        float *di = dgi + (size_t)t * B * G, *dr_h = dgh + (size_t)t * B * G;
        for (int b = 0; b < B; b++) {
            const float *d = dh + (size_t)b * H, *g = gt + (size_t)b * G, *hrow = hp + (size_t)b * H;
            const float *hn_ = gn + (size_t)b * H;
            float *dp = dhp + (size_t)b * H, *a = di + (size_t)b * G, *c = dr_h + (size_t)b * G;
            if (t >= len[b]) {   /* padded step: the gradient passes to h_{t-1} unchanged */
                for (int j = 0; j < H; j++)
                    dp[j] += d[j];
                memset(a, 0, (size_t)G * sizeof *a);
                memset(c, 0, (size_t)G * sizeof *c);
                continue;
            }
            for (int j = 0; j < H; j++) {
                float r = g[j], z = g[H + j], n = g[2 * H + j];
                float dn = d[j] * (1.0f - z);
                float dz = d[j] * (hrow[j] - n);
                dp[j] += d[j] * z;
                float dn_pre = dn * (1.0f - n * n);
                float dr = dn_pre * hn_[j];
                float dr_pre = dr * r * (1.0f - r);
                float dz_pre = dz * z * (1.0f - z);
                a[j] = dr_pre;
                a[H + j] = dz_pre;
                a[2 * H + j] = dn_pre;
                c[j] = dr_pre;
                c[H + j] = dz_pre;
                c[2 * H + j] = dn_pre * r;
            }
        }
        /* dh_{t-1} (B, H) += dgh_t (B, 3H) @ w_hh (3H, H) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G, 1.0f, dr_h, G, w_hh, H,
                    1.0f, dhp, H);
    }
    long TB = (long)T * B;
    if (dh0)
        for (long k = 0; k < (long)B * H; k++)
            dh0[k] += dhall[k];
    /* dw_hh (3H, H) += dgh^T (3H, T*B) @ hall[0..T) (T*B, H) */
    if (dw_hh)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, (int)TB, 1.0f, dgh, G, hall, H,
                    1.0f, dw_hh, H);
    if (db_hh)
        colsum_add(db_hh, dgh, TB, G);
    if (C > 0 && dw_ih)   /* dw_ih (3H, C) += dgi^T (3H, T*B) @ inp (T*B, C) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, C, (int)TB, 1.0f, dgi, G, inp, C,
                    1.0f, dw_ih, C);
    if (db_ih)
        colsum_add(db_ih, dgi, TB, G);
    if (C > 0 && dinp)    /* dinp (T*B, C) += dgi (T*B, 3H) @ w_ih (3H, C) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)TB, C, G, 1.0f, dgi, G, w_ih,
                    C, 1.0f, dinp, C);
}

/* ------------------------------------------------------------------------------------------ */
/* the sequence encoder */

void gru_enc_free(gru_enc *e)
{
    if (!e)
        return;
    free(e->params);
    free(e->grads);
    adam_free(&e->adam);
    free(e->x);
    free(e->v);
    free(e->off);
    free(e->y);
    free(e->len);
    free(e->hall);
    free(e->gates);
    free(e->ghn);
    free(e->gh);
    free(e->dhall);
    free(e->dgi);
    free(e->dgh);
    free(e->phi);
    free(e->dphi);
    free(e->pred);
    free(e);
}

gru_enc *gru_enc_new(int C, int H, int P, int max_T, int max_B, float lr)
{
    if (C < 0 || H < 1 || P < 1 || max_T < 1 || max_B < 1)
        return NULL;
    gru_enc *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->C = C;
    e->H = H;
    e->P = P;
    e->max_T = max_T;
    e->max_B = max_B;
    size_t G = 3 * (size_t)H, TB = (size_t)max_T * max_B;
    e->n_params = G * C + G * H + 2 * G + (size_t)P * H + P;
    e->params = calloc(e->n_params, sizeof(float));
    e->grads = calloc(e->n_params, sizeof(float));
    e->x = calloc(TB * (C > 0 ? C : 1), sizeof(float));
    e->v = calloc(TB * P, sizeof(float));
    e->off = calloc(TB, sizeof(float));
    e->y = calloc(TB, sizeof(float));
    e->len = calloc((size_t)max_B, sizeof(int));
    e->hall = calloc(TB * H + (size_t)max_B * H, sizeof(float));
    e->dhall = calloc(TB * H + (size_t)max_B * H, sizeof(float));
    e->gates = calloc(TB * G, sizeof(float));
    e->ghn = calloc(TB * H, sizeof(float));
    e->gh = calloc((size_t)max_B * G, sizeof(float));
    e->dgi = calloc(TB * G, sizeof(float));
    e->dgh = calloc(TB * G, sizeof(float));
    e->phi = calloc(TB * P, sizeof(float));
    e->dphi = calloc(TB * P, sizeof(float));
    e->pred = calloc(TB, sizeof(float));
    if (!e->params || !e->grads || !e->x || !e->v || !e->off || !e->y || !e->len || !e->hall ||
        !e->dhall || !e->gates || !e->ghn || !e->gh || !e->dgi || !e->dgh || !e->phi || !e->dphi ||
        !e->pred || adam_init(&e->adam, e->n_params, lr, 0.0f) != 0) {
        gru_enc_free(e);
        return NULL;
    }
    float *p = e->params, *g = e->grads;
    e->w_ih = p, e->dw_ih = g, p += G * C, g += G * C;
    e->w_hh = p, e->dw_hh = g, p += G * H, g += G * H;
    e->b_ih = p, e->db_ih = g, p += G, g += G;
    e->b_hh = p, e->db_hh = g, p += G, g += G;
    e->w_o = p, e->dw_o = g, p += (size_t)P * H, g += (size_t)P * H;
    e->b_o = p, e->db_o = g;
    return e;
}

void gru_enc_init(gru_enc *e, gsl_rng *r)
{
    double a = 1.0 / sqrt((double)e->H);
    for (size_t k = 0; k < e->n_params; k++)
        e->params[k] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
    adam_reset(&e->adam);
}

double gru_enc_forward(gru_enc *e, int T, int B, const float *h0)
{
    int H = e->H, P = e->P;
    if (h0)
        memcpy(e->hall, h0, (size_t)B * H * sizeof(float));
    else
        memset(e->hall, 0, (size_t)B * H * sizeof(float));
    gru_forward(e->hall, e->gates, e->ghn, e->gh, e->x, e->w_ih, e->w_hh, e->b_ih, e->b_hh, e->len,
                T, B, e->C, H);
    /* phi (T*B, P) = hall[0..T) (T*B, H) @ w_o^T + b_o: the state before each position */
    nn_linear_forward(e->phi, e->hall, e->w_o, e->b_o, T * B, H, P);
    double s = 0.0;
    long nv = 0;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            size_t q = (size_t)t * B + b;
            if (t >= e->len[b]) {
                e->pred[q] = 0.0f;
                continue;
            }
            const float *ph = e->phi + q * P, *v = e->v + q * P;
            float p = e->off[q];
            for (int c = 0; c < P; c++)
                p += ph[c] * v[c];
            e->pred[q] = p;
            double d = (double)p - (double)e->y[q];
            s += d * d;
            nv++;
        }
    e->n_valid = nv;
    return nv > 0 ? s / nv : 0.0;
}

void gru_enc_backward(gru_enc *e, int T, int B, float *dx, float *dh0)
{
    int H = e->H, P = e->P, C = e->C;
    memset(e->grads, 0, e->n_params * sizeof(float));
    memset(e->dhall, 0, (size_t)(T + 1) * B * H * sizeof(float));
    float scale = e->n_valid > 0 ? 2.0f / (float)e->n_valid : 0.0f;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            size_t q = (size_t)t * B + b;
            float *dph = e->dphi + q * P;
            if (t >= e->len[b]) {
                memset(dph, 0, (size_t)P * sizeof *dph);
                continue;
            }
            float dp = scale * (e->pred[q] - e->y[q]);
            const float *v = e->v + q * P;
            for (int c = 0; c < P; c++)
                dph[c] = dp * v[c];
        }
    nn_linear_backward(e->dhall, e->dw_o, e->db_o, e->dphi, e->hall, e->w_o, T * B, H, P);
    if (dx)
        memset(dx, 0, (size_t)T * B * C * sizeof *dx);
    if (dh0)
        memset(dh0, 0, (size_t)B * H * sizeof *dh0);
    gru_backward(dx, e->dw_ih, e->dw_hh, e->db_ih, e->db_hh, dh0, e->dhall, e->dgi, e->dgh, e->hall,
                 e->gates, e->ghn, e->x, e->w_ih, e->w_hh, e->len, T, B, C, H);
}

double gru_enc_step(gru_enc *e, int T, int B)
{
    double loss = gru_enc_forward(e, T, B, NULL);
    gru_enc_backward(e, T, B, NULL, NULL);
    adam_begin_step(&e->adam);
    adam_update(&e->adam, e->params, e->grads, 0, e->n_params, 0);
    return loss;
}

void gru_enc_encode(gru_enc *e, int T, int B, float *phi)
{
    int H = e->H;
    memset(e->hall, 0, (size_t)B * H * sizeof(float));
    gru_forward(e->hall, e->gates, e->ghn, e->gh, e->x, e->w_ih, e->w_hh, e->b_ih, e->b_hh, e->len,
                T, B, e->C, H);
    /* padded steps carry the state, so hall[T] holds every row's state after its len[b] inputs */
    nn_linear_forward(phi, e->hall + (size_t)T * B * H, e->w_o, e->b_o, B, H, e->P);
}
