/* nn_autorec.c — sparse layers and the AutoRec network on sparse rating vectors (nn_autorec.h). */
#include "nn_autorec.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn_vec.h"

/* ------------------------------------------------------------------------------------------ */
/* vector kernels over the hidden dimension */

/* y (H) += a * x (H) */
NN_VEC static void axpy_h(float *restrict y, float a, const float *restrict x, int H)
{
    for (int h = 0; h < H; h++)
        y[h] += a * x[h];
}

/* da (H) += d * w (H) and dw (H) += d * a (H) in one pass (the two products of one entry of
 * the decoder backward) */
NN_VEC static void axpy2_h(float *restrict da, const float *restrict w, float *restrict dw,
                           const float *restrict a, float d, int H)
{
    for (int h = 0; h < H; h++) {
        da[h] += d * w[h];
        dw[h] += d * a[h];
    }
}

/* <x, y> over H entries: 16 partial sums (one SIMD register's lanes, fixed for every clone)
 * added in a fixed order, so the result does not depend on the CPU's vector width. */
NN_VEC static float dot_h(const float *restrict x, const float *restrict y, int H)
{
    float s[16] = {0};
    int h = 0;
    for (; h + 16 <= H; h += 16)
        for (int j = 0; j < 16; j++)
            s[j] += x[h + j] * y[h + j];
    float t = 0.0f;
    for (; h < H; h++)
        t += x[h] * y[h];
    for (int j = 0; j < 16; j++)
        t += s[j];
    return t;
}

static inline int32_t csr_vec(const nn_csr_batch *x, int r)
{
    return x->rows ? x->rows[r] : r;
}

long nn_csr_offsets(long *off, const nn_csr_batch *x)
{
    off[0] = 0;
    for (int r = 0; r < x->n; r++) {
        int32_t v = csr_vec(x, r);
        off[r + 1] = off[r] + (x->ptr[v + 1] - x->ptr[v]);
    }
    return off[x->n];
}

/* ------------------------------------------------------------------------------------------ */
/* sparse layers */

void nn_spmm_forward(float *out, const nn_csr_batch *x, const float *W, const float *b, int H)
{
    for (int r = 0; r < x->n; r++) {
        float *o = out + (size_t)r * H;
        if (b)
            memcpy(o, b, (size_t)H * sizeof *o);
        else
            memset(o, 0, (size_t)H * sizeof *o);
        int32_t v = csr_vec(x, r);
        for (long k = x->ptr[v]; k < x->ptr[v + 1]; k++)
            axpy_h(o, x->val[k], W + (size_t)x->col[k] * H, H);
    }
}

void nn_spmm_backward(float *dW, float *db, const float *dout, const nn_csr_batch *x, int H)
{
    for (int r = 0; r < x->n; r++) {
        const float *d = dout + (size_t)r * H;
        int32_t v = csr_vec(x, r);
        for (long k = x->ptr[v]; k < x->ptr[v + 1]; k++)
            axpy_h(dW + (size_t)x->col[k] * H, x->val[k], d, H);
        if (db)
            axpy_h(db, 1.0f, d, H);
    }
}

void nn_sddmm_forward(float *out, const float *inp, const float *W, const float *b,
                      const nn_csr_batch *x, int H)
{
    for (int r = 0; r < x->n; r++) {
        const float *a = inp + (size_t)r * H;
        int32_t v = csr_vec(x, r);
        float *o = out + x->off[r] - x->ptr[v];   /* o[k] is entry k's output */
        for (long k = x->ptr[v]; k < x->ptr[v + 1]; k++) {
            int32_t c = x->col[k];
            o[k] = dot_h(a, W + (size_t)c * H, H) + (b ? b[c] : 0.0f);
        }
    }
}

void nn_sddmm_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                       const float *W, const nn_csr_batch *x, int H)
{
    for (int r = 0; r < x->n; r++) {
        const float *a = inp + (size_t)r * H;
        float *da = dinp ? dinp + (size_t)r * H : NULL;
        int32_t v = csr_vec(x, r);
        const float *d = dout + x->off[r] - x->ptr[v];
        for (long k = x->ptr[v]; k < x->ptr[v + 1]; k++) {
            int32_t c = x->col[k];
            if (da && dW)
                axpy2_h(da, W + (size_t)c * H, dW + (size_t)c * H, a, d[k], H);
            else if (da)
                axpy_h(da, d[k], W + (size_t)c * H, H);
            else if (dW)
                axpy_h(dW + (size_t)c * H, d[k], a, H);
            if (db)
                db[c] += d[k];
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* elementwise layers and losses */

NN_VEC void nn_sigmoid_forward(float *out, const float *inp, long N)
{
    for (long k = 0; k < N; k++)
        out[k] = 1.0f / (1.0f + expf(-inp[k]));
}

NN_VEC void nn_sigmoid_backward(float *dinp, const float *out, const float *dout, long N)
{
    for (long k = 0; k < N; k++)
        dinp[k] += dout[k] * out[k] * (1.0f - out[k]);
}

double nn_csr_sse_forward(const float *pred, const nn_csr_batch *x)
{
    double s = 0.0;
    for (int r = 0; r < x->n; r++) {
        int32_t v = csr_vec(x, r);
        const float *p = pred + x->off[r] - x->ptr[v];
        for (long k = x->ptr[v]; k < x->ptr[v + 1]; k++) {
            double e = (double)p[k] - (double)x->val[k];
            s += e * e;
        }
    }
    return s;
}

void nn_csr_sse_backward(float *dpred, const float *pred, const nn_csr_batch *x, float scale)
{
    float s2 = 2.0f * scale;
    for (int r = 0; r < x->n; r++) {
        int32_t v = csr_vec(x, r);
        long o = x->off[r] - x->ptr[v];
        for (long k = x->ptr[v]; k < x->ptr[v + 1]; k++)
            dpred[o + k] += s2 * (pred[o + k] - x->val[k]);
    }
}

double nn_sumsq_forward(const float *w, long N)
{
    double s = 0.0;
    for (long k = 0; k < N; k++)
        s += (double)w[k] * w[k];
    return s;
}

NN_VEC void nn_sumsq_backward(float *dw, const float *w, float scale, long N)
{
    float s2 = 2.0f * scale;
    for (long k = 0; k < N; k++)
        dw[k] += s2 * w[k];
}

/* ------------------------------------------------------------------------------------------ */
/* the network */

nn_autorec *nn_autorec_new(int in_dim, int hidden, int max_batch, long max_nnz, float lr,
                           char *err, size_t errlen)
{
    if (in_dim < 1 || hidden < 1 || max_batch < 1 || max_nnz < 0) {
        snprintf(err, errlen, "autorec network: bad sizes (in_dim %d, hidden %d, batch %d, entries %ld)",
                 in_dim, hidden, max_batch, max_nnz);
        return NULL;
    }
    nn_autorec *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t D = (size_t)in_dim, H = (size_t)hidden, Bm = (size_t)max_batch;
    size_t nz = (size_t)(max_nnz > 0 ? max_nnz : 1);
    m->in_dim = in_dim;
    m->hidden = hidden;
    m->max_batch = max_batch;
    m->max_nnz = max_nnz;
    m->n_params = 2 * H * D + H + D;
    m->params = calloc(m->n_params, sizeof *m->params);
    m->grads = calloc(m->n_params, sizeof *m->grads);
    m->off = malloc((Bm + 1) * sizeof *m->off);
    m->a1 = malloc(Bm * H * sizeof *m->a1);
    m->da1 = malloc(Bm * H * sizeof *m->da1);
    m->dz1 = malloc(Bm * H * sizeof *m->dz1);
    m->out = malloc(nz * sizeof *m->out);
    m->dout = malloc(nz * sizeof *m->dout);
    if (!m->params || !m->grads || !m->off || !m->a1 || !m->da1 || !m->dz1 || !m->out ||
        !m->dout || adam_init(&m->adam, m->n_params, lr, 0.0f) != 0) {
        nn_autorec_free(m);
        snprintf(err, errlen, "out of memory (autorec network, %zu parameters)", 2 * H * D + H + D);
        return NULL;
    }
    m->W1 = m->params;
    m->b1 = m->W1 + D * H;
    m->W2 = m->b1 + H;
    m->b2 = m->W2 + D * H;
    m->dW1 = m->grads;
    m->db1 = m->dW1 + D * H;
    m->dW2 = m->db1 + H;
    m->db2 = m->dW2 + D * H;
    return m;
}

void nn_autorec_free(nn_autorec *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m->off);
    free(m->a1);
    free(m->da1);
    free(m->dz1);
    free(m->out);
    free(m->dout);
    adam_free(&m->adam);
    free(m);
}

void nn_autorec_init(nn_autorec *m, gsl_rng *r)
{
    int D = m->in_dim, H = m->hidden;
    double a = sqrt(6.0 / ((double)H + D));
    for (int h = 0; h < H; h++)   /* torch's enc.weight[h, c], stored at W1[c * H + h] */
        for (int c = 0; c < D; c++)
            m->W1[(size_t)c * H + h] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
    for (size_t k = 0; k < (size_t)D * H; k++)
        m->W2[k] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
    memset(m->b1, 0, (size_t)H * sizeof *m->b1);
    memset(m->b2, 0, (size_t)D * sizeof *m->b2);
    adam_reset(&m->adam);
}

double nn_autorec_forward(nn_autorec *m, const nn_csr_batch *x, double data_scale,
                          double reg_scale)
{
    int H = m->hidden;
    long nw = (long)H * m->in_dim;
    nn_spmm_forward(m->a1, x, m->W1, m->b1, H);
    nn_sigmoid_forward(m->a1, m->a1, (long)x->n * H);
    nn_sddmm_forward(m->out, m->a1, m->W2, m->b2, x, H);
    return data_scale * nn_csr_sse_forward(m->out, x) +
           reg_scale * (nn_sumsq_forward(m->W1, nw) + nn_sumsq_forward(m->W2, nw));
}

void nn_autorec_backward(nn_autorec *m, const nn_csr_batch *x, double data_scale,
                         double reg_scale)
{
    int H = m->hidden;
    long nw = (long)H * m->in_dim, nnz = x->off[x->n];
    memset(m->grads, 0, m->n_params * sizeof *m->grads);
    memset(m->dout, 0, (size_t)nnz * sizeof *m->dout);
    memset(m->da1, 0, (size_t)x->n * H * sizeof *m->da1);
    memset(m->dz1, 0, (size_t)x->n * H * sizeof *m->dz1);
    nn_csr_sse_backward(m->dout, m->out, x, (float)data_scale);
    nn_sddmm_backward(m->da1, m->dW2, m->db2, m->dout, m->a1, m->W2, x, H);
    nn_sigmoid_backward(m->dz1, m->a1, m->da1, (long)x->n * H);
    nn_spmm_backward(m->dW1, m->db1, m->dz1, x, H);
    nn_sumsq_backward(m->dW1, m->W1, (float)reg_scale, nw);
    nn_sumsq_backward(m->dW2, m->W2, (float)reg_scale, nw);
}

double nn_autorec_step(nn_autorec *m, const nn_csr_batch *x, double data_scale,
                       double reg_scale)
{
    double loss = nn_autorec_forward(m, x, data_scale, reg_scale);
    nn_autorec_backward(m, x, data_scale, reg_scale);
    adam_begin_step(&m->adam);
    adam_update(&m->adam, m->params, m->grads, 0, m->n_params, 0);
    return loss;
}

void nn_autorec_encode(const nn_autorec *m, const nn_csr_batch *x, float *hid)
{
    nn_spmm_forward(hid, x, m->W1, m->b1, m->hidden);
    nn_sigmoid_forward(hid, hid, (long)x->n * m->hidden);
}

float nn_autorec_decode_one(const nn_autorec *m, const float *hid, int c)
{
    return dot_h(hid, m->W2 + (size_t)c * m->hidden, m->hidden) + m->b2[c];
}

/* dst (cols, rows) = src (rows, cols)^T */
static void transpose(float *dst, const float *src, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            dst[c * rows + r] = src[r * cols + c];
}

void nn_autorec_to_torch(const nn_autorec *m, const float *p, float *out)
{
    size_t D = (size_t)m->in_dim, H = (size_t)m->hidden;
    transpose(out, p, D, H);   /* W1 (D, H) -> enc.weight (H, D); the rest is torch's layout */
    memcpy(out + D * H, p + D * H, (m->n_params - D * H) * sizeof *out);
}

void nn_autorec_from_torch(const nn_autorec *m, const float *t, float *p)
{
    size_t D = (size_t)m->in_dim, H = (size_t)m->hidden;
    transpose(p, t, H, D);
    memcpy(p + D * H, t + D * H, (m->n_params - D * H) * sizeof *p);
}
