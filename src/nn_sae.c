/* nn_sae.c — CompresSAE forward/backward, signed top-k and training step (nn_sae.h). */
#include "nn_sae.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nn_sae *nn_sae_new(int d, int s, int k, int cap, float lr, char *err, size_t errlen)
{
    if (d < 1 || s < 1 || k < 1 || k > s || cap < 1) {
        snprintf(err, errlen, "CompresSAE sizes: need d >= 1 and 1 <= k <= s (d %d, s %d, k %d)",
                 d, s, k);
        return NULL;
    }
    nn_sae *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->d = d;
    m->s = s;
    m->k = k;
    m->k4 = 4 * k < s ? 4 * k : s;
    m->cap = cap;
    size_t sd = (size_t)s * d, bs = (size_t)cap * s, bd = (size_t)cap * d;
    m->n_params = 2 * sd + (size_t)s;
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    m->a = malloc(bs * sizeof(float));
    m->z = malloc(bs * sizeof(float));
    m->gz = malloc(bs * sizeof(float));
    m->ga = malloc(bs * sizeof(float));
    m->mk = calloc(bs, 1);
    m->m4 = calloc(bs, 1);
    m->yk = malloc(bd * sizeof(float));
    m->y4 = malloc(bd * sizeof(float));
    m->gy = malloc(bd * sizeof(float));
    m->heap = malloc((size_t)m->k4 * sizeof(int));
    if (!m->params || !m->grads || !m->a || !m->z || !m->gz || !m->ga || !m->mk || !m->m4 ||
        !m->yk || !m->y4 || !m->gy || !m->heap || adam_init(&m->opt, m->n_params, lr, 0.0f) != 0)
        goto oom;
    m->We = m->params;
    m->be = m->params + sd;
    m->D = m->params + sd + s;
    m->gWe = m->grads;
    m->gbe = m->grads + sd;
    m->gD = m->grads + sd + s;
    return m;
oom:
    nn_sae_free(m);
    snprintf(err, errlen, "out of memory (CompresSAE d %d, s %d, batch %d)", d, s, cap);
    return NULL;
}

void nn_sae_free(nn_sae *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m->a);
    free(m->z);
    free(m->gz);
    free(m->ga);
    free(m->mk);
    free(m->m4);
    free(m->yk);
    free(m->y4);
    free(m->gy);
    free(m->heap);
    adam_free(&m->opt);
    free(m);
}

void nn_sae_renorm(nn_sae *m)
{
    for (int j = 0; j < m->s; j++) {
        float *r = m->D + (size_t)j * m->d;
        double n2 = 0.0;
        for (int c = 0; c < m->d; c++)
            n2 += (double)r[c] * r[c];
        if (n2 > 0.0) {
            float inv = (float)(1.0 / sqrt(n2));
            for (int c = 0; c < m->d; c++)
                r[c] *= inv;
        }
    }
}

double nn_sae_gauss(gsl_rng *rng)
{
    double u1 = gsl_rng_uniform_pos(rng), u2 = gsl_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void nn_sae_init(nn_sae *m, gsl_rng *rng)
{
    size_t sd = (size_t)m->s * m->d;
    for (size_t q = 0; q < sd; q++)
        m->D[q] = (float)nn_sae_gauss(rng);
    nn_sae_renorm(m);
    memcpy(m->We, m->D, sd * sizeof(float));
    memset(m->be, 0, (size_t)m->s * sizeof(float));
}

/* i ranks below j: smaller |a|, or equal |a| and a higher index */
static int worse(const float *a, int i, int j)
{
    float x = fabsf(a[i]), y = fabsf(a[j]);
    return x < y || (x == y && i > j);
}

static void sift_down(int *h, int n, int p, const float *a)
{
    for (;;) {
        int l = 2 * p + 1, r = l + 1, w = p;
        if (l < n && worse(a, h[l], h[w]))
            w = l;
        if (r < n && worse(a, h[r], h[w]))
            w = r;
        if (w == p)
            return;
        int t = h[p];
        h[p] = h[w];
        h[w] = t;
        p = w;
    }
}

/* h (kk) = the kk best entries of a (s), best first. A min-heap of the kk best seen so far. */
static void select_best(int *h, int kk, const float *a, int s)
{
    for (int i = 0; i < kk; i++)
        h[i] = i;
    for (int p = kk / 2 - 1; p >= 0; p--)
        sift_down(h, kk, p, a);
    for (int i = kk; i < s; i++)
        if (worse(a, h[0], i)) {
            h[0] = i;
            sift_down(h, kk, 0, a);
        }
    /* heap sort: repeatedly move the worst to the end -> best first */
    for (int n = kk - 1; n > 0; n--) {
        int t = h[0];
        h[0] = h[n];
        h[n] = t;
        sift_down(h, n, 0, a);
    }
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

void nn_sae_topk(nn_sae *m, const float *a, int kk, int32_t *idx, float *val)
{
    select_best(m->heap, kk, a, m->s);
    qsort(m->heap, (size_t)kk, sizeof(int), cmp_int);
    for (int q = 0; q < kk; q++) {
        idx[q] = m->heap[q];
        val[q] = a[m->heap[q]];
    }
}

void nn_sae_encode(nn_sae *m, const float *x, int32_t *idx, float *val)
{
    /* a (s) = We x + be, into the first row of the activation buffer */
    float *a = m->ga;
    memcpy(a, m->be, (size_t)m->s * sizeof(float));
    cblas_sgemv(CblasRowMajor, CblasNoTrans, m->s, m->d, 1.0f, m->We, m->d, x, 1, 1.0f, a, 1);
    nn_sae_topk(m, a, m->k, idx, val);
}

/* cosine of x and y (n) and, when g != NULL, g += w * d(-cos)/dy */
static double cos_and_grad(const float *x, const float *y, int n, float *g, double w)
{
    double xy = 0, xx = 0, yy = 0;
    for (int c = 0; c < n; c++) {
        xy += (double)x[c] * y[c];
        xx += (double)x[c] * x[c];
        yy += (double)y[c] * y[c];
    }
    if (xx <= 0.0 || yy <= 0.0)
        return 0.0;   /* an empty reconstruction: cos 0, no gradient */
    double nx = sqrt(xx), ny = sqrt(yy), cs = xy / (nx * ny);
    if (g)
        for (int c = 0; c < n; c++)
            g[c] += (float)(-w * (x[c] / (nx * ny) - cs * y[c] / yy));
    return cs;
}

double nn_sae_forward(nn_sae *m, const float *X, int B)
{
    int s = m->s, d = m->d;
    size_t bs = (size_t)B * s;
    /* a (B, s) = X (B, d) @ We^T (d, s) + be */
    for (int b = 0; b < B; b++)
        memcpy(m->a + (size_t)b * s, m->be, (size_t)s * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, s, d, 1.0f, X, d, m->We, d, 1.0f,
                m->a, s);
    if (!m->freeze_mask) {
        memset(m->mk, 0, bs);
        memset(m->m4, 0, bs);
        for (int b = 0; b < B; b++) {
            const float *ab = m->a + (size_t)b * s;
            select_best(m->heap, m->k4, ab, s);   /* best first: the first k are the top-k */
            for (int q = 0; q < m->k4; q++) {
                m->m4[(size_t)b * s + m->heap[q]] = 1;
                if (q < m->k)
                    m->mk[(size_t)b * s + m->heap[q]] = 1;
            }
        }
    }
    /* y (B, d) = (a * mask) (B, s) @ D (s, d), for the two masks */
    for (int pass = 0; pass < 2; pass++) {
        const unsigned char *mask = pass ? m->m4 : m->mk;
        for (size_t q = 0; q < bs; q++)
            m->z[q] = mask[q] ? m->a[q] : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, s, 1.0f, m->z, s, m->D, d,
                    0.0f, pass ? m->y4 : m->yk, d);
    }
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *x = X + (size_t)b * d;
        loss += (1.0 - cos_and_grad(x, m->yk + (size_t)b * d, d, NULL, 0)) +
                (1.0 - cos_and_grad(x, m->y4 + (size_t)b * d, d, NULL, 0)) / 8.0;
    }
    return loss / B;
}

void nn_sae_backward(nn_sae *m, const float *X, int B)
{
    int s = m->s, d = m->d;
    size_t bs = (size_t)B * s;
    memset(m->grads, 0, m->n_params * sizeof(float));
    memset(m->ga, 0, bs * sizeof(float));
    for (int pass = 0; pass < 2; pass++) {
        const unsigned char *mask = pass ? m->m4 : m->mk;
        const float *y = pass ? m->y4 : m->yk;
        double w = (pass ? 1.0 / 8.0 : 1.0) / B;
        /* gy (B, d) = d loss / d y */
        memset(m->gy, 0, (size_t)B * d * sizeof(float));
        for (int b = 0; b < B; b++)
            cos_and_grad(X + (size_t)b * d, y + (size_t)b * d, d, m->gy + (size_t)b * d, w);
        for (size_t q = 0; q < bs; q++)
            m->z[q] = mask[q] ? m->a[q] : 0.0f;
        /* gD (s, d) += z^T (s, B) @ gy (B, d) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s, d, B, 1.0f, m->z, s, m->gy, d,
                    1.0f, m->gD, d);
        /* gz (B, s) = gy (B, d) @ D^T (d, s); ga += gz * mask */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, s, d, 1.0f, m->gy, d, m->D, d,
                    0.0f, m->gz, s);
        for (size_t q = 0; q < bs; q++)
            if (mask[q])
                m->ga[q] += m->gz[q];
    }
    /* gWe (s, d) = ga^T (s, B) @ X (B, d); gbe (s) = column sums of ga */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s, d, B, 1.0f, m->ga, s, X, d, 0.0f,
                m->gWe, d);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < s; j++)
            m->gbe[j] += m->ga[(size_t)b * s + j];
}

double nn_sae_step(nn_sae *m, const float *X, int B)
{
    double loss = nn_sae_forward(m, X, B);
    nn_sae_backward(m, X, B);
    adam_begin_step(&m->opt);
    adam_update(&m->opt, m->params, m->grads, 0, m->n_params, 0);
    nn_sae_renorm(m);
    return loss;
}
