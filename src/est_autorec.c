/* est_autorec.c — the `autorec` method: I-AutoRec and U-AutoRec (Sedhain, Menon, Sanner and Xie,
 * "AutoRec: Autoencoders Meet Collaborative Filtering", WWW 2015).
 *
 * side = item (I-AutoRec): every item is a vector r_i in R^{n_users} holding its TRAINING ratings
 * (0 where a user did not rate it); side = user (U-AutoRec): every user a vector over items.
 * The network (src/nn_autorec.[ch]) reconstructs it through one sigmoid hidden layer of
 * `hidden` units and an identity output layer:  h(r) = W2 sigmoid(W1 r + b1) + b2. It works on
 * the sparse vectors directly (the encoder sums the weight rows of the observed entries, the
 * decoder is evaluated only where the loss looks): the same objective and gradients as the dense
 * network at about 6% of its work on MovieLens (one full-batch epoch 16 ms instead of 46 ms).
 *
 * Objective. The paper minimises  sum_i ||r_i - h(r_i)||^2_O + (lambda/2)(||W1||^2 + ||W2||^2)
 * (squared error on OBSERVED entries only, summed over all training ratings, plus L2 on both
 * weight matrices, not on biases). We minimise the same function divided by N, the number of
 * training ratings:
 *     J = [ SSE_observed + (reg/2) (||W1||_F^2 + ||W2||_F^2) ] / N,     reg = the paper's lambda,
 * so the minimiser is the paper's for the same lambda, and J reads as a training MSE plus a
 * penalty. A minibatch of B of the V training vectors (those with at least one training rating)
 * uses the unbiased estimate [ (V/B) SSE_batch + (reg/2) ||W||^2 ] / N.
 *
 * Optimiser: Adam (torch.optim.Adam equivalent, betas 0.9/0.999, eps 1e-8, no decoupled decay:
 * the L2 term is in the loss) on minibatches of `batch` vectors (0, the default = full batch: one
 * step per epoch), in an order shuffled every epoch by a GSL mt19937 seeded with ctx->seed (which
 * also draws the Glorot initialisation). The paper used full-batch L-BFGS / Rprop. Measured on
 * MovieLens 100K u1 (valid part of u1.base, hidden 500, reg 100): full-batch Adam lr 0.01 reached
 * valid RMSE 0.875 in ~100 steps (~18 s with the dense network of the time, ~2 s now); minibatch Adam (batch 32/128, lr 1e-3/3e-3) stopped at
 * 0.898-0.907: the minibatch noise overfits before the penalty takes hold. Defaults: hidden 500,
 * reg 100 (the paper's lambda = 1 is nearly no penalty at N ~ 7e4 ratings: valid 0.902 on u1),
 * lr 0.01, full batch, up to 1000 epochs, patience 20. After every epoch: valid
 * RMSE (and test_cold excess risk on synthetic data); early stopping on valid RMSE with `patience`,
 * keeping the best weights. A non-finite loss fails the fit with "non-finite loss at epoch K".
 *
 * Prediction for (u, i), I-AutoRec: reconstruct item i's vector from its training ratings and
 * read entry u (U-AutoRec: user u's vector, entry i). When the vector has no training ratings,
 * or the entity of the entry never appears in training (its output row was never fitted), the
 * prediction is the mean training rating (counted in curves->n_fallback over valid, test_warm
 * and test_cold); this makes the method cold capable. On data with a rating scale
 * (rating_max > rating_min) predictions are clipped to [rating_min, rating_max].
 * k-shot users (kshot.h): U-AutoRec encodes a new user's revealed vector (ar_add_revealed);
 * I-AutoRec cannot use revealed ratings (no fitted output for a new user) and falls back.
 */
#include "estimator.h"
#include "nn_autorec.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

static const param_spec ar_params[] = {
    {"side", PT_ENUM, "item", 0, 0, "item|user",
     "item: I-AutoRec (item vectors over users); user: U-AutoRec (user vectors over items)"},
    {"hidden", PT_INT, "500", 1, 65536, NULL, "sigmoid hidden units"},
    {"reg", PT_REAL, "100", 0, 1e12, NULL,
     "L2 lambda of the paper: objective SSE + lambda/2 (||W1||^2 + ||W2||^2) over observed ratings"},
    {"lr", PT_REAL, "0.01", 1e-9, 1e9, NULL, "Adam learning rate"},
    {"batch", PT_INT, "0", 0, 1 << 24, NULL,
     "vectors (items or users) per minibatch; 0 = full batch (one Adam step per epoch)"},
    {"epochs", PT_INT, "1000", 1, 1000000, NULL, "maximum number of epochs"},
    {"patience", PT_INT, "20", 0, 1000000, NULL,
     "stop after this many epochs without valid improvement (0 = never stop early); the best "
     "valid epoch's weights are kept either way"},
    {"min_delta", PT_REAL, "0", 0, 1e300, NULL, "smallest valid RMSE decrease that counts"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* The parsed keys of [method.autorec] (liblinear's `parameter`): filled once by ar_parse. */
typedef struct {
    int side;                /* 0 item (I-AutoRec), 1 user (U-AutoRec) */
    int hidden, batch, epochs, patience;
    double reg, lr, min_delta;
} ar_param;

/* NULL when kv is valid (p filled), else a message and *bad_key. */
static const char *ar_parse(const kvset *kv, ar_param *p, const char **bad_key)
{
    const char *bad = param_check_table(ar_params, kv, bad_key);
    if (bad)
        return bad;
    const param_spec *T = ar_params;
    p->side = strcmp(param_str(T, kv, "side"), "user") == 0;
    p->hidden = (int)param_int(T, kv, "hidden");
    p->reg = param_real(T, kv, "reg");
    p->lr = param_real(T, kv, "lr");
    p->batch = (int)param_int(T, kv, "batch");
    p->epochs = (int)param_int(T, kv, "epochs");
    p->patience = (int)param_int(T, kv, "patience");
    p->min_delta = param_real(T, kv, "min_delta");
    return NULL;
}

static const char *ar_check_parameter(const kvset *params, const char **bad_key)
{
    ar_param p;
    return ar_parse(params, &p, bad_key);
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    int side;               /* 0: item vectors (I-AutoRec), 1: user vectors (U-AutoRec) */
    int n_vec, dim;         /* vectors, entries per vector */
    double mu;              /* mean training rating (fallback) */
    nn_autorec *net;
    long *ptr;              /* (n_vec + 1) CSR of the training ratings by vector */
    int32_t *col;
    float *val;
    char *seen;             /* (dim) 1: the entry's entity has training ratings */
} ar_model;

static void ar_free(void *p)
{
    ar_model *m = p;
    if (!m)
        return;
    nn_autorec_free(m->net);
    free(m->ptr);
    free(m->col);
    free(m->val);
    free(m->seen);
    free(m);
}

/* (vector, entry) of pair (u, i) */
static inline void ar_pair(const ar_model *m, int32_t u, int32_t i, int32_t *v, int32_t *c)
{
    *v = m->side ? u : i;
    *c = m->side ? i : u;
}

static inline int ar_usable(const ar_model *m, int32_t v, int32_t c)
{
    return v >= 0 && v < m->n_vec && c >= 0 && c < m->dim && m->ptr[v + 1] > m->ptr[v] && m->seen[c];
}

/* The rows list[0..rows) of the training CSR as a batch for the network (off: rows + 1). */
static nn_csr_batch ar_batch(const ar_model *m, const int32_t *list, int rows, long *off)
{
    nn_csr_batch b = {rows, list, m->ptr, m->col, m->val, off};
    nn_csr_offsets(off, &b);
    return b;
}

static void ar_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                       const int32_t *i, double *out)
{
    (void)d;
    const ar_model *m = model;
    if (n <= 0)
        return;
    const int chunk = 256;
    int H = m->net->hidden;
    int32_t *loc = malloc((size_t)m->n_vec * sizeof *loc);
    int32_t *list = malloc((size_t)m->n_vec * sizeof *list);
    long *start = calloc((size_t)m->n_vec + 1, sizeof *start);
    long *order = malloc((size_t)n * sizeof *order);
    long *off = malloc((size_t)(chunk + 1) * sizeof *off);
    float *hid = malloc((size_t)chunk * H * sizeof *hid);
    if (!loc || !list || !start || !order || !off || !hid) {
        for (long k = 0; k < n; k++)
            out[k] = NAN;
        goto done;
    }
    /* distinct usable vectors in first-appearance order; queries bucketed by position */
    memset(loc, 0xff, (size_t)m->n_vec * sizeof *loc);
    long nv = 0;
    for (long k = 0; k < n; k++) {
        int32_t v, c;
        ar_pair(m, u[k], i[k], &v, &c);
        if (!ar_usable(m, v, c)) {
            out[k] = m->mu;
            continue;
        }
        if (loc[v] < 0) {
            loc[v] = (int32_t)nv;
            list[nv++] = v;
        }
        start[loc[v] + 1]++;
    }
    for (long p = 0; p < nv; p++)
        start[p + 1] += start[p];
    {
        long *fillp = malloc((size_t)(nv > 0 ? nv : 1) * sizeof *fillp);
        if (!fillp) {
            for (long k = 0; k < n; k++)
                out[k] = NAN;
            goto done;
        }
        memcpy(fillp, start, (size_t)nv * sizeof *fillp);
        for (long k = 0; k < n; k++) {
            int32_t v, c;
            ar_pair(m, u[k], i[k], &v, &c);
            if (ar_usable(m, v, c))
                order[fillp[loc[v]]++] = k;
        }
        free(fillp);
    }
    /* clipping range of the d given (metrics_catalog ranks with an empty one: no clipping) */
    int clip = d->rating_max > d->rating_min;
    for (long s = 0; s < nv; s += chunk) {
        int rows = (int)(nv - s < chunk ? nv - s : chunk);
        nn_csr_batch b = ar_batch(m, list + s, rows, off);
        nn_autorec_encode(m->net, &b, hid);
        for (int r = 0; r < rows; r++)
            for (long q = start[s + r]; q < start[s + r + 1]; q++) {
                long k = order[q];
                int32_t v, c;
                ar_pair(m, u[k], i[k], &v, &c);
                double p = nn_autorec_decode_one(m->net, hid + (size_t)r * H, c);
                if (clip)
                    p = p < d->rating_min ? d->rating_min : (p > d->rating_max ? d->rating_max : p);
                out[k] = p;
            }
    }
done:
    free(loc);
    free(list);
    free(start);
    free(order);
    free(off);
    free(hid);
}

/* ------------------------------------------------------------------------------------------ */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double mse_d(const double *a, const double *b, long n)
{
    double s = 0.0;
    for (long k = 0; k < n; k++)
        s += (a[k] - b[k]) * (a[k] - b[k]);
    return n > 0 ? s / n : NAN;
}

static long count_fallback(const ar_model *m, const ds_split *s)
{
    long c = 0;
    for (long k = 0; k < s->n; k++) {
        int32_t v, e;
        ar_pair(m, s->user[k], s->item[k], &v, &e);
        c += !ar_usable(m, v, e);
    }
    return c;
}

/* k-shot users (kshot.h), U-AutoRec only: the revealed pairs (d->reveal) of users without training
 * ratings become their input vectors (entries of items with training ratings), so predict()
 * encodes them like any user; the network is not refitted. (I-AutoRec has no fitted output row
 * for a new user: it keeps the mean fallback.) Returns the users added, or -1 out of memory. */
static long ar_add_revealed(ar_model *m, const ds_data *d)
{
    const ds_split *rv = &d->reveal;
    if (m->side != 1 || rv->n <= 0)
        return 0;
    long *cnt = calloc((size_t)m->n_vec + 1, sizeof *cnt), extra = 0, users = 0;
    if (!cnt)
        return -1;
    for (long k = 0; k < rv->n; k++) {
        int32_t u = rv->user[k], i = rv->item[k];
        if (u >= 0 && u < m->n_vec && m->ptr[u + 1] == m->ptr[u] && i >= 0 && i < m->dim && m->seen[i]) {
            users += cnt[u + 1] == 0;
            cnt[u + 1]++;
            extra++;
        }
    }
    long N = m->ptr[m->n_vec];
    long *ptr = calloc((size_t)m->n_vec + 1, sizeof *ptr);
    int32_t *col = malloc((size_t)(N + extra + 1) * sizeof *col);
    float *val = malloc((size_t)(N + extra + 1) * sizeof *val);
    if (!ptr || !col || !val) {
        free(cnt);
        free(ptr);
        free(col);
        free(val);
        return -1;
    }
    for (int v = 0; v < m->n_vec; v++)
        ptr[v + 1] = ptr[v] + (m->ptr[v + 1] - m->ptr[v]) + cnt[v + 1];
    for (int v = 0; v < m->n_vec; v++) {   /* the training entries keep their place and order */
        long n = m->ptr[v + 1] - m->ptr[v];
        memcpy(col + ptr[v], m->col + m->ptr[v], (size_t)n * sizeof *col);
        memcpy(val + ptr[v], m->val + m->ptr[v], (size_t)n * sizeof *val);
        cnt[v] = ptr[v] + n;   /* next free slot of vector v */
    }
    for (long k = 0; k < rv->n; k++) {
        int32_t u = rv->user[k], i = rv->item[k];
        if (u >= 0 && u < m->n_vec && m->ptr[u + 1] == m->ptr[u] && i >= 0 && i < m->dim && m->seen[i]) {
            col[cnt[u]] = i;
            val[cnt[u]++] = (float)rv->rating[k];
        }
    }
    free(cnt);
    free(m->ptr);
    free(m->col);
    free(m->val);
    m->ptr = ptr;
    m->col = col;
    m->val = val;
    return users;
}

static void *ar_train(const est_fit_ctx *ctx)
{
    const ds_data *d = ctx->data;
    ar_param prm;
    const char *bad = NULL, *msg = ar_parse(ctx->params, &prm, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "%s: %s", bad, msg);
        return NULL;
    }
    long N = d->train.n;
    if (N < 1) {
        snprintf(ctx->err, ctx->errlen, "empty training split");
        return NULL;
    }
    int side = prm.side, H = prm.hidden, B = prm.batch, epochs = prm.epochs;
    double reg = prm.reg, lr = prm.lr;

    double t0 = now_seconds();
    ar_model *m = calloc(1, sizeof *m);
    int32_t *vecs = NULL;
    float *best = NULL;
    double *pv = NULL, *pt = NULL;
    gsl_rng *r = NULL;
    int ok = 0;
    if (!m) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        return NULL;
    }
    m->side = side;
    m->n_vec = side ? d->n_users : d->n_items;
    m->dim = side ? d->n_items : d->n_users;
    m->ptr = calloc((size_t)m->n_vec + 1, sizeof *m->ptr);
    m->col = malloc((size_t)N * sizeof *m->col);
    m->val = malloc((size_t)N * sizeof *m->val);
    m->seen = calloc((size_t)m->dim, 1);
    vecs = malloc((size_t)m->n_vec * sizeof *vecs);
    pv = malloc((size_t)(d->valid.n > 0 ? d->valid.n : 1) * sizeof *pv);
    pt = malloc((size_t)(d->test_cold.n > 0 ? d->test_cold.n : 1) * sizeof *pt);
    r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!m->ptr || !m->col || !m->val || !m->seen || !vecs || !pv || !pt || !r) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    /* CSR by vector (counting sort, file order kept within a vector) */
    m->mu = 0.0;
    for (long k = 0; k < N; k++) {
        int32_t v, c;
        ar_pair(m, d->train.user[k], d->train.item[k], &v, &c);
        m->ptr[v + 1]++;
        m->seen[c] = 1;
        m->mu += d->train.rating[k];
    }
    m->mu /= N;
    for (int v = 0; v < m->n_vec; v++)
        m->ptr[v + 1] += m->ptr[v];
    {
        long *fillp = malloc((size_t)m->n_vec * sizeof *fillp);
        if (!fillp) {
            snprintf(ctx->err, ctx->errlen, "out of memory");
            goto done;
        }
        memcpy(fillp, m->ptr, (size_t)m->n_vec * sizeof *fillp);
        for (long k = 0; k < N; k++) {
            int32_t v, c;
            ar_pair(m, d->train.user[k], d->train.item[k], &v, &c);
            m->col[fillp[v]] = c;
            m->val[fillp[v]++] = (float)d->train.rating[k];
        }
        free(fillp);
    }
    int V = 0;   /* training vectors */
    for (int v = 0; v < m->n_vec; v++)
        if (m->ptr[v + 1] > m->ptr[v])
            vecs[V++] = v;
    if (B <= 0 || B > V)
        B = V;

    m->net = nn_autorec_new(m->dim, H, B, N, (float)lr, ctx->err, ctx->errlen);
    if (!m->net)
        goto done;
    best = malloc(m->net->n_params * sizeof *best);
    if (!best) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    gsl_rng_set(r, (unsigned long)ctx->seed);
    nn_autorec_init(m->net, r);
    memcpy(best, m->net->params, m->net->n_params * sizeof *best);

    est_curves *cv = ctx->curves;
    const double reg_scale = reg / (2.0 * (double)N);
    est_early early;
    est_early_init(&early, prm.patience, prm.min_delta, d->valid.n > 0);
    snprintf(cv->stopped_by, sizeof cv->stopped_by, "cap");
    for (int epoch = 1; epoch <= epochs; epoch++) {
        gsl_ran_shuffle(r, vecs, (size_t)V, sizeof *vecs);
        double sum = 0.0;
        for (int s = 0; s < V; s += B) {
            int Bc = V - s < B ? V - s : B;
            nn_csr_batch b = ar_batch(m, vecs + s, Bc, m->net->off);
            double data_scale = (double)V / ((double)Bc * (double)N);
            double loss = nn_autorec_step(m->net, &b, data_scale, reg_scale);
            if (!isfinite(loss)) {
                snprintf(ctx->err, ctx->errlen, "non-finite loss at epoch %d", epoch);
                snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
                goto done;
            }
            sum += loss * Bc;
        }
        double vr = NAN, te = NAN;
        if (d->valid.n > 0) {
            ar_predict(m, d, d->valid.n, d->valid.user, d->valid.item, pv);
            vr = sqrt(mse_d(pv, d->valid.rating, d->valid.n));
        }
        if (d->synthetic && d->test_cold.n > 0 && d->test_cold.oracle) {
            ar_predict(m, d, d->test_cold.n, d->test_cold.user, d->test_cold.item, pt);
            te = mse_d(pt, d->test_cold.oracle, d->test_cold.n);
        }
        if (est_curves_push(cv, sum / V, vr, te, now_seconds() - t0) != 0) {
            snprintf(ctx->err, ctx->errlen, "out of memory");
            goto done;
        }
        cv->epochs_run = epoch;
        int es = est_early_step(&early, epoch, vr, ctx->err, ctx->errlen);
        if (es == EST_EARLY_NONFINITE) {
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
            goto done;
        }
        if (es == EST_EARLY_BEST)
            memcpy(best, m->net->params, m->net->n_params * sizeof *best);
        else if (es == EST_EARLY_STOP) {
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "patience");
            break;
        }
    }
    if (d->valid.n > 0)
        memcpy(m->net->params, best, m->net->n_params * sizeof *best);
    cv->best_epoch = early.best_epoch;
    long revealed = ar_add_revealed(m, d);
    if (revealed < 0) {
        snprintf(ctx->err, ctx->errlen, "out of memory");
        goto done;
    }
    cv->n_fallback = count_fallback(m, &d->valid) + count_fallback(m, &d->test_warm) +
                     count_fallback(m, &d->test_cold);
    snprintf(cv->note, sizeof cv->note,
             "%s-AutoRec hidden=%d reg=%g (objective (SSE + reg/2 ||W||^2)/N, N=%ld) adam lr=%g "
             "batch=%d vectors=%d params=%zu; %ld users encoded from revealed pairs",
             side ? "U" : "I", H, reg, N, lr, B, V, m->net->n_params, revealed);
    ok = 1;
done:
    free(vecs);
    free(best);
    free(pv);
    free(pt);
    if (r)
        gsl_rng_free(r);
    if (!ok) {
        ar_free(m);
        return NULL;
    }
    return m;
}

const est_method est_autorec = {
    .name = "autorec",
    .params = ar_params,
    .cold_capable = 1,
    .needs_truth = 0,
    .check_parameter = ar_check_parameter,
    .train = ar_train,
    .predict = ar_predict,
    .free_model = ar_free,
};
