/* nn.c — layers (llm.c-style forward/backward pairs) and the two-tower model (see nn.h). */
#include "nn.h"
#include "nn_vec.h"
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Elementwise loops are compiled vectorised (NN_VEC, nn_vec.h): the branchy scalar ReLU
 * backward alone cost a fifth of a training step. */

/* ------------------------------------------------------------------------------------------ */
/* layers */

/* db (OC) += column sums of dout (B, OC), row by row (the order of a plain loop). */
NN_VEC static void colsum_add(float *restrict db, const float *restrict dout, int B, int OC)
{
    for (int r = 0; r < B; r++) {
        const float *restrict d = dout + (size_t)r * OC;
        for (int o = 0; o < OC; o++)
            db[o] += d[o];
    }
}

void nn_linear_forward(float *out, const float *inp, const float *w, const float *b,
                       int B, int C, int OC)
{
    if (B <= 0 || OC <= 0)
        return;
    float beta = 0.0f;
    if (b) {
        for (int r = 0; r < B; r++)
            memcpy(out + (size_t)r * OC, b, (size_t)OC * sizeof *out);
        beta = 1.0f;
    }
    if (C <= 0) {
        if (!b)
            memset(out, 0, (size_t)B * OC * sizeof *out);
        return;
    }
    /* out (B, OC) = inp (B, C) @ w^T (C, OC) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OC, C, 1.0f, inp, C, w, C, beta,
                out, OC);
}

void nn_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int B, int C, int OC)
{
    if (B <= 0 || OC <= 0)
        return;
    if (dinp && C > 0)   /* dinp (B, C) += dout (B, OC) @ w (OC, C) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, OC, 1.0f, dout, OC, w, C,
                    1.0f, dinp, C);
    if (dw && C > 0)     /* dw (OC, C) += dout^T (OC, B) @ inp (B, C) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, B, 1.0f, dout, OC, inp, C,
                    1.0f, dw, C);
    if (db)
        colsum_add(db, dout, B, OC);
}

NN_VEC void nn_relu_forward(float *out, const float *inp, long N)
{
    for (long k = 0; k < N; k++)
        out[k] = inp[k] > 0.0f ? inp[k] : 0.0f;
}

NN_VEC void nn_relu_backward(float *dinp, const float *out, const float *dout, long N)
{
    for (long k = 0; k < N; k++)
        dinp[k] = out[k] > 0.0f ? dout[k] : 0.0f;
}

void nn_dot_forward(float *out, const float *fu, const float *gi, const int32_t *pu,
                    const int32_t *pi, int B, int P)
{
    for (int b = 0; b < B; b++) {
        const float *f = fu + (size_t)pu[b] * P, *g = gi + (size_t)pi[b] * P;
        float s = 0.0f;
        for (int p = 0; p < P; p++)
            s += f[p] * g[p];
        out[b] = s;
    }
}

void nn_dot_backward(float *dfu, float *dgi, const float *dout, const float *fu, const float *gi,
                     const int32_t *pu, const int32_t *pi, int B, int P)
{
    for (int b = 0; b < B; b++) {
        const float *f = fu + (size_t)pu[b] * P, *g = gi + (size_t)pi[b] * P;
        float d = dout[b];
        if (dfu) {
            float *df = dfu + (size_t)pu[b] * P;
            for (int p = 0; p < P; p++)
                df[p] += d * g[p];
        }
        if (dgi) {
            float *dg = dgi + (size_t)pi[b] * P;
            for (int p = 0; p < P; p++)
                dg[p] += d * f[p];
        }
    }
}

double nn_mse_forward(const float *pred, const float *target, int B)
{
    if (B <= 0)
        return 0.0;
    double s = 0.0;
    for (int b = 0; b < B; b++) {
        double e = (double)pred[b] - (double)target[b];
        s += e * e;
    }
    return s / B;
}

void nn_mse_backward(float *dpred, const float *pred, const float *target, int B)
{
    if (B <= 0)
        return;
    float scale = 2.0f / (float)B;
    for (int b = 0; b < B; b++)
        dpred[b] += scale * (pred[b] - target[b]);
}

/* ------------------------------------------------------------------------------------------ */
/* tower */

float *nn_tower_forward(nn_tower *t, int rows)
{
    const float *cur = t->x;
    for (int l = 0; l < t->n_layers; l++) {
        int C = t->dim[l], OC = t->dim[l + 1];
        nn_linear_forward(t->h[l], cur, t->W[l], t->b[l], rows, C, OC);
        if (l < t->depth) {
            nn_relu_forward(t->a[l], t->h[l], (long)rows * OC);
            cur = t->a[l];
        }
    }
    return t->h[t->n_layers - 1];
}

void nn_tower_backward(nn_tower *t, int rows, const float *dout)
{
    const float *dcur = dout;      /* gradient w.r.t. the output of linear layer l */
    float *bufs[2] = {t->s1, t->s2};
    for (int l = t->n_layers - 1; l >= 0; l--) {
        int C = t->dim[l], OC = t->dim[l + 1];
        const float *inp = l == 0 ? t->x : t->a[l - 1];
        float *dinp = NULL;
        if (l > 0) {
            dinp = bufs[l & 1];
            memset(dinp, 0, (size_t)rows * C * sizeof *dinp);
        }
        nn_linear_backward(dinp, t->dW[l], t->db[l], dcur, inp, t->W[l], rows, C, OC);
        if (l > 0) {
            /* through the ReLU of hidden layer l-1 (its output is inp), in place */
            nn_relu_backward(dinp, inp, dinp, (long)rows * C);
            dcur = dinp;
        }
    }
}

void nn_tower_infer(const nn_tower *t, const float *x, int rows, float *out, float *s1, float *s2)
{
    const float *cur = x;
    float *bufs[2] = {s1, s2};
    for (int l = 0; l < t->n_layers; l++) {
        int C = t->dim[l], OC = t->dim[l + 1];
        float *o = l == t->n_layers - 1 ? out : bufs[l & 1];
        nn_linear_forward(o, cur, t->W[l], t->b[l], rows, C, OC);
        if (l < t->depth)
            nn_relu_forward(o, o, (long)rows * OC);
        cur = o;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* two-tower model */

static void tower_shape(nn_tower *t, int in_dim, int depth, int width, int out_dim, int max_rows)
{
    memset(t, 0, sizeof *t);
    t->depth = depth;
    t->n_layers = depth + 1;
    t->dim[0] = in_dim;
    for (int l = 1; l <= depth; l++)
        t->dim[l] = width;
    t->dim[depth + 1] = out_dim;
    t->max_dim = 0;
    for (int l = 0; l <= t->n_layers; l++)
        if (t->dim[l] > t->max_dim)
            t->max_dim = t->dim[l];
    t->max_rows = max_rows;
    t->n_params = 0;
    for (int l = 0; l < t->n_layers; l++)
        t->n_params += (size_t)t->dim[l + 1] * t->dim[l] + (size_t)t->dim[l + 1];
}

static void tower_views(nn_tower *t, float *params, float *grads)
{
    size_t o = t->off;
    for (int l = 0; l < t->n_layers; l++) {
        size_t nw = (size_t)t->dim[l + 1] * t->dim[l];
        t->W[l] = params + o;
        t->dW[l] = grads + o;
        o += nw;
        t->b[l] = params + o;
        t->db[l] = grads + o;
        o += (size_t)t->dim[l + 1];
    }
}

static int tower_alloc(nn_tower *t)
{
    size_t R = (size_t)(t->max_rows > 0 ? t->max_rows : 1);
    t->x = calloc(R * (size_t)(t->dim[0] > 0 ? t->dim[0] : 1), sizeof(float));
    if (!t->x)
        return -1;
    for (int l = 0; l < t->n_layers; l++) {
        t->h[l] = calloc(R * (size_t)t->dim[l + 1], sizeof(float));
        if (!t->h[l])
            return -1;
        if (l < t->depth)
            t->a[l] = t->h[l];   /* ReLU in place: backward needs only its output */
    }
    t->s1 = calloc(R * (size_t)t->max_dim, sizeof(float));
    t->s2 = calloc(R * (size_t)t->max_dim, sizeof(float));
    return t->s1 && t->s2 ? 0 : -1;
}

static void tower_release(nn_tower *t)
{
    free(t->x);
    for (int l = 0; l < t->n_layers; l++)
        free(t->h[l]);   /* a[l] aliases h[l] */
    free(t->s1);
    free(t->s2);
}

nn_twotower *nn_twotower_new(int user_dim, int item_dim, int depth, int width, int embed_dim,
                             int max_rows, int max_batch, float lr, float weight_decay,
                             char *err, size_t errlen)
{
    if (user_dim < 1 || item_dim < 1) {
        snprintf(err, errlen, "two-tower needs user and item covariates (user_dim %d, item_dim %d)",
                 user_dim, item_dim);
        return NULL;
    }
    if (depth < 0 || depth > NN_MAX_DEPTH) {
        snprintf(err, errlen, "depth %d is out of range [0, %d]", depth, NN_MAX_DEPTH);
        return NULL;
    }
    if (width < 1 || embed_dim < 1 || max_rows < 1 || max_batch < 1) {
        snprintf(err, errlen, "width, embed_dim and batch sizes must be positive");
        return NULL;
    }
    nn_twotower *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->user_dim = user_dim;
    m->item_dim = item_dim;
    m->depth = depth;
    m->width = width;
    m->embed_dim = embed_dim;
    m->max_rows = max_rows;
    m->max_batch = max_batch;
    tower_shape(&m->tower[0], user_dim, depth, width, embed_dim, max_rows);
    tower_shape(&m->tower[1], item_dim, depth, width, embed_dim, max_rows);
    m->tower[0].off = 0;
    m->tower[1].off = m->tower[0].n_params;
    m->n_params = m->tower[0].n_params + m->tower[1].n_params;
    m->params = calloc(m->n_params, sizeof *m->params);
    m->grads = calloc(m->n_params, sizeof *m->grads);
    m->pred = calloc((size_t)max_batch, sizeof *m->pred);
    m->dpred = calloc((size_t)max_batch, sizeof *m->dpred);
    m->dfu = calloc((size_t)max_rows * embed_dim, sizeof *m->dfu);
    m->dgi = calloc((size_t)max_rows * embed_dim, sizeof *m->dgi);
    m->pred2 = calloc((size_t)max_batch, sizeof *m->pred2);
    m->dpred2 = calloc((size_t)max_batch, sizeof *m->dpred2);
    m->threads = 1;
    int bad = !m->params || !m->grads || !m->pred || !m->dpred || !m->dfu || !m->dgi ||
              !m->pred2 || !m->dpred2;
    if (!bad) {
        for (int s = 0; s < 2; s++) {
            tower_views(&m->tower[s], m->params, m->grads);
            if (tower_alloc(&m->tower[s]) != 0)
                bad = 1;
        }
    }
    if (!bad && adam_init(&m->adam, m->n_params, lr, weight_decay) != 0)
        bad = 1;
    if (bad) {   /* the message first: m is freed below */
        snprintf(err, errlen, "out of memory (two-tower with %zu parameters)", m->n_params);
        nn_twotower_free(m);
        return NULL;
    }
    return m;
}

void nn_twotower_free(nn_twotower *m)
{
    if (!m)
        return;
    nn_twotower_set_threads(m, 1, NULL, 0);
    tower_release(&m->tower[0]);
    tower_release(&m->tower[1]);
    adam_free(&m->adam);
    free(m->params);
    free(m->grads);
    free(m->pred);
    free(m->dpred);
    free(m->dfu);
    free(m->dgi);
    free(m->pred2);
    free(m->dpred2);
    free(m);
}

void nn_twotower_init_he(nn_twotower *m, gsl_rng *r)
{
    for (int s = 0; s < 2; s++) {
        nn_tower *t = &m->tower[s];
        for (int l = 0; l < t->n_layers; l++) {
            size_t nw = (size_t)t->dim[l + 1] * t->dim[l];
            double a = sqrt(6.0 / t->dim[l]);   /* U(-a, a) has variance 2 / fan_in */
            for (size_t k = 0; k < nw; k++)
                t->W[l][k] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
            memset(t->b[l], 0, (size_t)t->dim[l + 1] * sizeof(float));
        }
    }
    adam_reset(&m->adam);
    m->side_t[0] = m->side_t[1] = 0;
}

void nn_twotower_init_torch(nn_twotower *m, gsl_rng *r, double out_scale)
{
    for (int s = 0; s < 2; s++) {
        nn_tower *t = &m->tower[s];
        for (int l = 0; l < t->n_layers; l++) {
            size_t nw = (size_t)t->dim[l + 1] * t->dim[l];
            double a = 1.0 / sqrt((double)t->dim[l]);   /* kaiming_uniform(a = sqrt(5)) bound */
            if (l == t->n_layers - 1)
                a *= out_scale;
            for (size_t k = 0; k < nw; k++)
                t->W[l][k] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
            for (int k = 0; k < t->dim[l + 1]; k++)
                t->b[l][k] = (float)(a * (2.0 * gsl_rng_uniform(r) - 1.0));
        }
    }
    adam_reset(&m->adam);
    m->side_t[0] = m->side_t[1] = 0;
}

double nn_twotower_forward(nn_twotower *m, int nu, int ni, int B, const int32_t *pu,
                           const int32_t *pi, const float *y)
{
    const float *fu = nn_tower_forward(&m->tower[0], nu);
    const float *gi = nn_tower_forward(&m->tower[1], ni);
    nn_dot_forward(m->pred, fu, gi, pu, pi, B, m->embed_dim);
    return y ? nn_mse_forward(m->pred, y, B) : 0.0;
}

void nn_twotower_backward(nn_twotower *m, int nu, int ni, int B, const int32_t *pu,
                          const int32_t *pi, const float *y)
{
    int P = m->embed_dim;
    memset(m->grads, 0, m->n_params * sizeof *m->grads);
    memset(m->dpred, 0, (size_t)B * sizeof *m->dpred);
    memset(m->dfu, 0, (size_t)nu * P * sizeof *m->dfu);
    memset(m->dgi, 0, (size_t)ni * P * sizeof *m->dgi);
    nn_mse_backward(m->dpred, m->pred, y, B);
    const float *fu = m->tower[0].h[m->tower[0].n_layers - 1];
    const float *gi = m->tower[1].h[m->tower[1].n_layers - 1];
    nn_dot_backward(m->dfu, m->dgi, m->dpred, fu, gi, pu, pi, B, P);
    nn_tower_backward(&m->tower[0], nu, m->dfu);
    nn_tower_backward(&m->tower[1], ni, m->dgi);
}

/* Work of one tower inside nn_twotower_step, so that the two towers can run on two threads. */
typedef struct {
    nn_twotower *m;
    nn_tower *t;
    int rows;
    const float *dout;
} tower_job;

static void job_forward(void *p)
{
    tower_job *j = p;
    nn_tower_forward(j->t, j->rows);
}

/* Backward from dout through tower t, OVERWRITING t->dW and t->db (no zeroing pass), and the
 * AdamW update of each layer as soon as its gradients are complete, while they are still in
 * cache. Gives the numbers of nn_tower_backward on zeroed gradients followed by tower_adam. */
static void tower_backward_update(nn_twotower *m, nn_tower *t, int rows, const float *dout,
                                  adam_state *a)
{
    const float *dcur = dout;
    float *bufs[2] = {t->s1, t->s2};
    for (int l = t->n_layers - 1; l >= 0; l--) {
        int C = t->dim[l], OC = t->dim[l + 1];
        const float *inp = l == 0 ? t->x : t->a[l - 1];
        float *dinp = l > 0 ? bufs[l & 1] : NULL;
        memset(t->db[l], 0, (size_t)OC * sizeof(float));
        if (rows > 0) {
            if (dinp)   /* dinp (rows, C) = dout (rows, OC) @ W (OC, C) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, C, OC, 1.0f, dcur, OC,
                            t->W[l], C, 0.0f, dinp, C);
            /* dW (OC, C) = dout^T (OC, rows) @ inp (rows, C) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, rows, 1.0f, dcur, OC, inp,
                        C, 0.0f, t->dW[l], C);
            colsum_add(t->db[l], dcur, rows, OC);
        } else
            memset(t->dW[l], 0, (size_t)OC * C * sizeof(float));
        adam_update(a, t->W[l], t->dW[l], (size_t)(t->W[l] - m->params), (size_t)OC * C, 1);
        adam_update(a, t->b[l], t->db[l], (size_t)(t->b[l] - m->params), (size_t)OC, 0);
        if (dinp) {
            nn_relu_backward(dinp, inp, dinp, (long)rows * C);
            dcur = dinp;
        }
    }
}

static void job_backward_update(void *p)
{
    tower_job *j = p;
    tower_backward_update(j->m, j->t, j->rows, j->dout, &j->m->adam);
}

double nn_twotower_step(nn_twotower *m, int nu, int ni, int B, const int32_t *pu,
                        const int32_t *pi, const float *y)
{
    int P = m->embed_dim;
    tower_job ju = {m, &m->tower[0], nu, m->dfu}, ji = {m, &m->tower[1], ni, m->dgi};
    nn_twotower_run2(m, job_forward, &ju, job_forward, &ji);
    const float *fu = m->tower[0].h[m->tower[0].n_layers - 1];
    const float *gi = m->tower[1].h[m->tower[1].n_layers - 1];
    nn_dot_forward(m->pred, fu, gi, pu, pi, B, P);
    double loss = nn_mse_forward(m->pred, y, B);
    memset(m->dpred, 0, (size_t)B * sizeof *m->dpred);
    memset(m->dfu, 0, (size_t)nu * P * sizeof *m->dfu);
    memset(m->dgi, 0, (size_t)ni * P * sizeof *m->dgi);
    nn_mse_backward(m->dpred, m->pred, y, B);
    nn_dot_backward(m->dfu, m->dgi, m->dpred, fu, gi, pu, pi, B, P);
    adam_begin_step(&m->adam);
    nn_twotower_run2(m, job_backward_update, &ju, job_backward_update, &ji);
    return loss;
}

double nn_twotower_tower_step(nn_twotower *m, int side, int rows, int B, const int32_t *prow,
                              const float *E, const int32_t *eidx, const float *y)
{
    nn_tower *t = &m->tower[side];
    int P = m->embed_dim;
    float *pred = side ? m->pred2 : m->pred, *dpred = side ? m->dpred2 : m->dpred;
    float *dout = side ? m->dgi : m->dfu;
    const float *out = nn_tower_forward(t, rows);
    if (side == 0)
        nn_dot_forward(pred, out, E, prow, eidx, B, P);
    else
        nn_dot_forward(pred, E, out, eidx, prow, B, P);
    double loss = nn_mse_forward(pred, y, B);
    memset(dpred, 0, (size_t)B * sizeof *dpred);
    memset(dout, 0, (size_t)rows * P * sizeof *dout);
    nn_mse_backward(dpred, pred, y, B);
    if (side == 0)
        nn_dot_backward(dout, NULL, dpred, out, E, prow, eidx, B, P);
    else
        nn_dot_backward(NULL, dout, dpred, E, out, eidx, prow, B, P);
    adam_state a = m->adam;   /* shares the moment buffers; own step count */
    a.t = ++m->side_t[side];
    tower_backward_update(m, t, rows, dout, &a);
    return loss;
}

/* The helper thread: runs one posted job at a time. Both sides spin briefly (NN_SPIN_NS)
 * before sleeping on the condition variable: waking a sleeping thread is slow in a VM, but
 * longer spins wasted the one core a shared machine left us (measured: 2 threads at 0.57x). */
#define NN_SPIN_NS 50000L

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

struct nn_worker {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void (*fn)(void *);
    void *arg;
    atomic_long posted, done;
    atomic_int quit;
};

static void *worker_main(void *p)
{
    struct nn_worker *w = p;
    long seen = 0;
    for (;;) {
        long t0 = mono_ns();
        for (unsigned k = 1; atomic_load_explicit(&w->posted, memory_order_acquire) == seen &&
                             !atomic_load(&w->quit); k++) {
            if ((k & 1023) == 0 && mono_ns() - t0 > NN_SPIN_NS) {
                pthread_mutex_lock(&w->mu);
                while (atomic_load(&w->posted) == seen && !atomic_load(&w->quit))
                    pthread_cond_wait(&w->cv, &w->mu);
                pthread_mutex_unlock(&w->mu);
                break;
            }
            cpu_relax();
        }
        if (atomic_load(&w->quit))
            break;
        seen = atomic_load_explicit(&w->posted, memory_order_acquire);
        w->fn(w->arg);
        pthread_mutex_lock(&w->mu);
        atomic_store_explicit(&w->done, seen, memory_order_release);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

int nn_twotower_set_threads(nn_twotower *m, int threads, char *err, size_t errlen)
{
    if (threads >= 2 && !m->worker) {
        struct nn_worker *w = calloc(1, sizeof *w);
        if (!w) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        atomic_init(&w->posted, 0);
        atomic_init(&w->done, 0);
        atomic_init(&w->quit, 0);
        if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
            pthread_mutex_destroy(&w->mu);
            pthread_cond_destroy(&w->cv);
            free(w);
            snprintf(err, errlen, "could not start a helper thread");
            return -1;
        }
        m->worker = w;
    } else if (threads < 2 && m->worker) {
        struct nn_worker *w = m->worker;
        pthread_mutex_lock(&w->mu);
        atomic_store(&w->quit, 1);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        m->worker = NULL;
    }
    m->threads = m->worker ? 2 : 1;
    return 0;
}

void nn_twotower_run2(nn_twotower *m, void (*fa)(void *), void *a, void (*fb)(void *), void *b)
{
    struct nn_worker *w = m->worker;
    if (!w) {
        fa(a);
        fb(b);
        return;
    }
    w->fn = fb;
    w->arg = b;
    long job = atomic_load(&w->posted) + 1;
    atomic_store_explicit(&w->posted, job, memory_order_release);
    pthread_mutex_lock(&w->mu);   /* wakes the helper if it went to sleep */
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    fa(a);
    long t0 = mono_ns();
    for (unsigned k = 1; atomic_load_explicit(&w->done, memory_order_acquire) != job; k++) {
        if ((k & 255) == 0 && mono_ns() - t0 > NN_SPIN_NS) {
            pthread_mutex_lock(&w->mu);
            while (atomic_load(&w->done) != job)
                pthread_cond_wait(&w->cv, &w->mu);
            pthread_mutex_unlock(&w->mu);
            break;
        }
        cpu_relax();
    }
}
