/* nn_joint.c — the joint network (one MLP on [x_u, x_i], optional id embeddings); see nn_joint.h. */
#include "nn_joint.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn_embed_forward(float *out, const float *table, const int32_t *idx, int B, int OC)
{
    for (int b = 0; b < B; b++) {
        if (idx[b] < 0)
            continue;
        const float *e = table + (size_t)idx[b] * OC;
        float *o = out + (size_t)b * OC;
        for (int c = 0; c < OC; c++)
            o[c] += e[c];
    }
}

void nn_embed_backward(float *dtable, const float *dout, const int32_t *idx, int B, int OC)
{
    for (int b = 0; b < B; b++) {
        if (idx[b] < 0)
            continue;
        float *e = dtable + (size_t)idx[b] * OC;
        const float *d = dout + (size_t)b * OC;
        for (int c = 0; c < OC; c++)
            e[c] += d[c];
    }
}

nn_joint *nn_joint_new(int in_dim, int n_uid, int n_iid, int depth, int width, int max_batch,
                       float lr, float weight_decay, char *err, size_t errlen)
{
    if (in_dim < 0 || n_uid < 0 || n_iid < 0 || in_dim + n_uid + n_iid < 1) {
        snprintf(err, errlen, "the joint network has no inputs (covariates %d, ids %d + %d)",
                 in_dim, n_uid, n_iid);
        return NULL;
    }
    if (depth < 0 || depth > NN_MAX_DEPTH) {
        snprintf(err, errlen, "depth %d is out of range [0, %d]", depth, NN_MAX_DEPTH);
        return NULL;
    }
    if (width < 1 || max_batch < 1) {
        snprintf(err, errlen, "width and batch must be positive");
        return NULL;
    }
    nn_joint *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->in_dim = in_dim;
    m->n_uid = n_uid;
    m->n_iid = n_iid;
    m->depth = depth;
    m->n_layers = depth + 1;
    m->max_batch = max_batch;
    m->dim[0] = in_dim;
    for (int l = 1; l <= depth; l++)
        m->dim[l] = width;
    m->dim[depth + 1] = 1;
    m->max_dim = 1;
    for (int l = 0; l <= m->n_layers; l++)
        if (m->dim[l] > m->max_dim)
            m->max_dim = m->dim[l];
    size_t np = 0;
    for (int l = 0; l < m->n_layers; l++)
        np += (size_t)m->dim[l + 1] * m->dim[l] + (size_t)m->dim[l + 1];
    np += ((size_t)n_uid + n_iid) * m->dim[1];
    m->n_params = np;
    m->params = calloc(np, sizeof *m->params);
    m->grads = calloc(np, sizeof *m->grads);
    size_t R = (size_t)max_batch;
    m->x = calloc(R * (size_t)(in_dim > 0 ? in_dim : 1), sizeof *m->x);
    m->iu = calloc(R, sizeof *m->iu);
    m->ii = calloc(R, sizeof *m->ii);
    m->s1 = calloc(R * m->max_dim, sizeof *m->s1);
    m->s2 = calloc(R * m->max_dim, sizeof *m->s2);
    m->dpred = calloc(R, sizeof *m->dpred);
    int bad = !m->params || !m->grads || !m->x || !m->iu || !m->ii || !m->s1 || !m->s2 || !m->dpred;
    for (int l = 0; l < m->n_layers && !bad; l++)
        if (!(m->h[l] = calloc(R * m->dim[l + 1], sizeof(float))))
            bad = 1;
    if (!bad) {
        size_t o = 0;
        for (int l = 0; l < m->n_layers; l++) {
            m->W[l] = m->params + o;
            m->dW[l] = m->grads + o;
            o += (size_t)m->dim[l + 1] * m->dim[l];
            m->b[l] = m->params + o;
            m->db[l] = m->grads + o;
            o += (size_t)m->dim[l + 1];
        }
        if (n_uid > 0) {
            m->Eu = m->params + o;
            m->dEu = m->grads + o;
            o += (size_t)n_uid * m->dim[1];
        }
        if (n_iid > 0) {
            m->Ei = m->params + o;
            m->dEi = m->grads + o;
        }
        if (adam_init(&m->adam, np, lr, weight_decay) != 0)
            bad = 1;
    }
    if (bad) {
        snprintf(err, errlen, "out of memory (joint network with %zu parameters)", np);
        nn_joint_free(m);
        return NULL;
    }
    return m;
}

void nn_joint_free(nn_joint *m)
{
    if (!m)
        return;
    for (int l = 0; l < m->n_layers; l++)
        free(m->h[l]);
    adam_free(&m->adam);
    free(m->params);
    free(m->grads);
    free(m->x);
    free(m->iu);
    free(m->ii);
    free(m->s1);
    free(m->s2);
    free(m->dpred);
    free(m);
}

static void fill_uniform(float *p, size_t n, double a, gsl_rng *r)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
}

/* he = 0: torch bounds 1/sqrt(fan_in) on W, E and b; he = 1: sqrt(6/fan_in) on W, E, b = 0. */
static void joint_init(nn_joint *m, gsl_rng *r, int he)
{
    for (int l = 0; l < m->n_layers; l++) {
        double fan = (double)m->dim[l] + (l == 0 ? (double)m->n_uid + m->n_iid : 0.0);
        double a = he ? sqrt(6.0 / fan) : 1.0 / sqrt(fan);
        fill_uniform(m->W[l], (size_t)m->dim[l + 1] * m->dim[l], a, r);
        if (l == 0) {
            if (m->Eu)
                fill_uniform(m->Eu, (size_t)m->n_uid * m->dim[1], a, r);
            if (m->Ei)
                fill_uniform(m->Ei, (size_t)m->n_iid * m->dim[1], a, r);
        }
        if (he)
            memset(m->b[l], 0, (size_t)m->dim[l + 1] * sizeof(float));
        else
            fill_uniform(m->b[l], (size_t)m->dim[l + 1], a, r);
    }
    adam_reset(&m->adam);
}

void nn_joint_init_torch(nn_joint *m, gsl_rng *r)
{
    joint_init(m, r, 0);
}

void nn_joint_init_he(nn_joint *m, gsl_rng *r)
{
    joint_init(m, r, 1);
}

/* The forward pass into the buffers h[] (training) or, with o1/o2 scratch, without them. */
static const float *forward_into(const nn_joint *m, const float *x, const int32_t *iu,
                                 const int32_t *ii, int B, float *const *h)
{
    const float *cur = x;
    for (int l = 0; l < m->n_layers; l++) {
        int C = m->dim[l], OC = m->dim[l + 1];
        nn_linear_forward(h[l], cur, m->W[l], m->b[l], B, C, OC);   /* h (B, OC) */
        if (l == 0) {                                               /* + the id columns */
            if (m->Eu)
                nn_embed_forward(h[0], m->Eu, iu, B, OC);
            if (m->Ei)
                nn_embed_forward(h[0], m->Ei, ii, B, OC);
        }
        if (l < m->depth)
            nn_relu_forward(h[l], h[l], (long)B * OC);
        cur = h[l];
    }
    return cur;   /* (B, 1) */
}

const float *nn_joint_forward(nn_joint *m, int B, const float *y, double *loss)
{
    const float *pred = forward_into(m, m->x, m->iu, m->ii, B, m->h);
    if (y && loss)
        *loss = nn_mse_forward(pred, y, B);
    return pred;
}

void nn_joint_backward(nn_joint *m, int B, const float *y)
{
    memset(m->grads, 0, m->n_params * sizeof *m->grads);
    memset(m->dpred, 0, (size_t)B * sizeof *m->dpred);
    nn_mse_backward(m->dpred, m->h[m->n_layers - 1], y, B);   /* dpred (B) */
    const float *dcur = m->dpred;        /* gradient w.r.t. the output of linear layer l */
    float *bufs[2] = {m->s1, m->s2};
    for (int l = m->n_layers - 1; l >= 0; l--) {
        int C = m->dim[l], OC = m->dim[l + 1];
        const float *inp = l == 0 ? m->x : m->h[l - 1];
        float *dinp = NULL;
        if (l > 0) {
            dinp = bufs[l & 1];
            memset(dinp, 0, (size_t)B * C * sizeof *dinp);
        }
        /* dinp (B, C) += dcur (B, OC) @ W (OC, C); dW += dcur^T inp; db += colsum(dcur) */
        nn_linear_backward(dinp, m->dW[l], m->db[l], dcur, inp, m->W[l], B, C, OC);
        if (l == 0) {
            if (m->Eu)
                nn_embed_backward(m->dEu, dcur, m->iu, B, OC);
            if (m->Ei)
                nn_embed_backward(m->dEi, dcur, m->ii, B, OC);
        } else {
            nn_relu_backward(dinp, inp, dinp, (long)B * C);   /* through relu of layer l-1 */
            dcur = dinp;
        }
    }
}

double nn_joint_step(nn_joint *m, int B, const float *y)
{
    double loss = 0.0;
    nn_joint_forward(m, B, y, &loss);
    nn_joint_backward(m, B, y);
    adam_begin_step(&m->adam);
    for (int l = 0; l < m->n_layers; l++) {
        size_t nw = (size_t)m->dim[l + 1] * m->dim[l];
        adam_update(&m->adam, m->W[l], m->dW[l], (size_t)(m->W[l] - m->params), nw, 1);
        adam_update(&m->adam, m->b[l], m->db[l], (size_t)(m->b[l] - m->params),
                    (size_t)m->dim[l + 1], 0);
    }
    if (m->Eu)
        adam_update(&m->adam, m->Eu, m->dEu, (size_t)(m->Eu - m->params),
                    (size_t)m->n_uid * m->dim[1], 1);
    if (m->Ei)
        adam_update(&m->adam, m->Ei, m->dEi, (size_t)(m->Ei - m->params),
                    (size_t)m->n_iid * m->dim[1], 1);
    return loss;
}

void nn_joint_infer(const nn_joint *m, const float *x, const int32_t *iu, const int32_t *ii,
                    int rows, float *out, float *s1, float *s2)
{
    float *h[NN_MAX_LAYERS];
    for (int l = 0; l < m->n_layers; l++)
        h[l] = l == m->n_layers - 1 ? out : (l & 1 ? s2 : s1);
    forward_into(m, x, iu, ii, rows, h);
}
