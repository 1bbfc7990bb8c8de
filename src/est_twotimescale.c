/* est_twotimescale.c — the `twotimescale` method (issue 17): two-time-scale user representations
 * after Chen et al., "Learning Two-Time-Scale Representations for Large Scale Recommendations"
 * (ICLR 2021 submission; no public code: where the paper is silent the choices below are ours).
 *
 * Stage 1: biased MF by the existing ALS (the `mf` method through est_find("mf"), keys mf_*),
 * which gives the mean mu (of the training ratings), item biases b_i and item factors q_i
 * (rank k); its item vectors are read through est_method.vectors ([q_i, b_i, 1]; zero for items
 * without training ratings). Stage 1 is then fixed.
 * Stage 2: two GRU encoders (nn_gru.h, gru_enc), each a GRU (hidden units `hidden`) and a
 * Linear read-out to phi in R^(k+1). A user's time-ordered interactions (d->train.time when
 * present, else the order of the pairs in the split) are the inputs
 *     x_t = [q_{i_t}, b_{i_t}, r_t - mu - b_{i_t}]          (k + 2 columns)
 * and the state after them gives phi_u = (p_u, c_u); the prediction is
 *     R_hat(u, i) = mu + b_i + <p_u, q_i> + c_u                (c_u: a learned user offset)
 * i.e. mu + b_i + <phi_u, (q_i, 1)>. Training: next-interaction prediction along the training
 * sequences with teacher forcing — position t is predicted from the state after positions
 * 0..t-1 (position 0 from the zero state) — squared loss averaged over positions, Adam
 * (`lr`, minibatches of `batch` sequences in a shuffled order each epoch).
 * The two time scales: a user with fewer than t* (`t_star`) interactions is encoded by the
 * INACTIVE encoder (all their interactions, at most max_len), a user with t* or more by the
 * ACTIVE encoder (their last max_len). The inactive encoder is trained on the first
 * min(n_u, t*) interactions of EVERY training user (the positions whose history is shorter than
 * t*: the regime it serves; without them it would see almost no data where every user has many
 * ratings, as in MovieLens); the active encoder on the last min(n_u, max_len) interactions of the
 * users with n_u >= t*. t_star = 0: every user is active, one shared GRU (the ablation).
 * t_star must not exceed max_len.
 * Early stopping: one valid RMSE over all valid pairs (users encoded from their training
 * sequences) after every epoch, `patience` epochs, the best epoch's weights of both encoders
 * kept (est_early). curves->test_excess: test_cold excess risk (synthetic data).
 * Inductive: after training, every user is encoded once: from their training pairs when they
 * have any, else from their revealed pairs (d->reveal, the k-shot protocol, kshot.h), else from
 * nothing (the zero state: phi = the read-out bias of the inactive encoder, or of the only one);
 * k-shot users are thus encoded from their revealed ratings with no refit. Items without
 * training ratings have q = 0, b = 0. Predictions are clipped to the rating scale (real data).
 */
#include "estimator.h"
#include "nn_gru.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

static const param_spec ts_params[] = {
    {"t_star", PT_INT, "20", 0, 1000000, NULL,
     "users with fewer training (or revealed) interactions use the inactive GRU, the others the "
     "active one; 0 = one shared GRU for all users (the ablation); at most max_len"},
    {"hidden", PT_INT, "32", 1, 4096, NULL, "GRU hidden units (each encoder)"},
    {"max_len", PT_INT, "50", 1, 100000, NULL,
     "longest sequence: active users are encoded from (and trained on) their last max_len "
     "interactions"},
    {"lr", PT_REAL, "0.003", 1e-9, 1e3, NULL, "Adam learning rate of the encoders"},
    {"batch", PT_INT, "32", 1, 1 << 20, NULL, "sequences per minibatch"},
    {"epochs", PT_INT, "100", 1, 1000000, NULL, "largest number of passes over the sequences"},
    {"patience", PT_INT, "10", 0, 1000000, NULL,
     "stop after this many epochs without valid RMSE improvement (0 = never); the best valid "
     "epoch's encoders are kept either way"},
    {"mf_rank", PT_INT, "16", 1, 1024, NULL, "stage 1 (mf, ALS): rank k of q_i"},
    {"mf_reg", PT_REAL, "0.05", 0, 1e6, NULL, "stage 1: mf's reg"},
    {"mf_reg_bias", PT_REAL, "0.05", 0, 1e6, NULL, "stage 1: mf's reg_bias"},
    {"mf_reg_scale", PT_ENUM, "count", 0, 0, "count|none", "stage 1: mf's reg_scale"},
    {"mf_epochs", PT_INT, "20", 1, 1000000, NULL, "stage 1: ALS sweeps (best valid epoch kept)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct {
    int t_star, hidden, max_len, batch, epochs, patience;
    double lr;
    const char *mf_rank, *mf_reg, *mf_reg_bias, *mf_reg_scale, *mf_epochs;   /* passed as text */
} ts_param;

static const char *ts_parse(const kvset *kv, ts_param *p, const char **bad_key)
{
    static _Thread_local char msg[200];
    const char *bad = param_check_table(ts_params, kv, bad_key);
    if (bad)
        return bad;
    const param_spec *T = ts_params;
    p->t_star = (int)param_int(T, kv, "t_star");
    p->hidden = (int)param_int(T, kv, "hidden");
    p->max_len = (int)param_int(T, kv, "max_len");
    p->batch = (int)param_int(T, kv, "batch");
    p->epochs = (int)param_int(T, kv, "epochs");
    p->patience = (int)param_int(T, kv, "patience");
    p->lr = param_real(T, kv, "lr");
    p->mf_rank = param_str(T, kv, "mf_rank");
    p->mf_reg = param_str(T, kv, "mf_reg");
    p->mf_reg_bias = param_str(T, kv, "mf_reg_bias");
    p->mf_reg_scale = param_str(T, kv, "mf_reg_scale");
    p->mf_epochs = param_str(T, kv, "mf_epochs");
    if (p->t_star > p->max_len) {
        *bad_key = "t_star";
        snprintf(msg, sizeof msg, "t_star = %d must not exceed max_len = %d", p->t_star, p->max_len);
        return msg;
    }
    return NULL;
}

static const char *ts_check_parameter(const kvset *params, const char **bad_key)
{
    ts_param p;
    return ts_parse(params, &p, bad_key);
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    int n_users, n_items, k, P, V;   /* P = k + 1 (phi), V = k + 2 (item vectors) */
    double mu;
    float *item;                     /* n_items x V: [q_i, b_i, 1] */
    float *phi;                      /* n_users x P: every user's encoding */
    gru_enc *enc[2];                 /* 0 inactive, 1 active (NULL when t_star = 0) */
    int t_star, max_len;
} ts_model;

static void ts_free(void *p)
{
    ts_model *m = p;
    if (!m)
        return;
    free(m->item);
    free(m->phi);
    gru_enc_free(m->enc[0]);
    gru_enc_free(m->enc[1]);
    free(m);
}

static double ts_raw(const ts_model *m, int32_t u, int32_t i)
{
    double p = m->mu;
    if (u < 0 || u >= m->n_users)
        return p;
    const float *ph = m->phi + (size_t)u * m->P;
    p += ph[m->k];
    if (i >= 0 && i < m->n_items) {
        const float *q = m->item + (size_t)i * m->V;
        p += q[m->k];
        for (int c = 0; c < m->k; c++)
            p += (double)ph[c] * q[c];
    }
    return p;
}

static void ts_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                       const int32_t *i, double *out)
{
    const ts_model *m = model;
    int clip = d->rating_max > d->rating_min;
    for (long k = 0; k < n; k++) {
        double p = ts_raw(m, u[k], i[k]);
        if (clip)
            p = p < d->rating_min ? d->rating_min : p > d->rating_max ? d->rating_max : p;
        out[k] = p;
    }
}

/* user [p_u, 1, mu + c_u], item [q_i, b_i, 1]: <user, item> = ts_raw */
static int ts_vectors(const void *model, const ds_data *d, int side, long n, const int32_t *ids,
                      float *out)
{
    const ts_model *m = model;
    (void)d;
    int k = m->k, dim = k + 2;
    if (!out)
        return dim;
    for (long r = 0; r < n; r++) {
        int32_t e = ids[r];
        float *o = out + (size_t)r * dim;
        if (side) {
            int ok = e >= 0 && e < m->n_items;
            for (int c = 0; c < dim; c++)
                o[c] = ok ? m->item[(size_t)e * m->V + c] : (c == k + 1 ? 1.0f : 0.0f);
        } else {
            int ok = e >= 0 && e < m->n_users;
            const float *ph = ok ? m->phi + (size_t)e * m->P : NULL;
            for (int c = 0; c < k; c++)
                o[c] = ok ? ph[c] : 0.0f;
            o[k] = 1.0f;
            o[k + 1] = (float)(m->mu + (ok ? ph[k] : 0.0));
        }
    }
    return dim;
}

/* ---------------------------------------------------------------- sequences */

/* Each user's pairs of one split, time-ordered (ties and time = NULL: split order). */
typedef struct {
    long *off, *idx;     /* pairs of user u: idx[off[u] .. off[u+1]) (rows of the split) */
} ts_seqs;

/* (time, row) order of the rows of a split (qsort_r context: the split's times) */
static int by_time(const void *a, const void *b, void *ctx)
{
    const double *time = ctx;
    long x = *(const long *)a, y = *(const long *)b;
    if (time[x] != time[y])
        return time[x] < time[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static int seqs_build(ts_seqs *s, const ds_split *sp, int n_users)
{
    s->off = calloc((size_t)n_users + 1, sizeof *s->off);
    s->idx = malloc((size_t)(sp->n > 0 ? sp->n : 1) * sizeof *s->idx);
    long *fill = calloc((size_t)n_users + 1, sizeof *fill);
    if (!s->off || !s->idx || !fill) {
        free(fill);
        return -1;
    }
    for (long q = 0; q < sp->n; q++)
        if (sp->user[q] >= 0 && sp->user[q] < n_users)
            s->off[sp->user[q] + 1]++;
    for (int u = 0; u < n_users; u++)
        s->off[u + 1] += s->off[u];
    for (long q = 0; q < sp->n; q++)
        if (sp->user[q] >= 0 && sp->user[q] < n_users)
            s->idx[s->off[sp->user[q]] + fill[sp->user[q]]++] = q;
    free(fill);
    if (sp->time)   /* rows are already in split order within a user */
        for (int u = 0; u < n_users; u++)
            if (s->off[u + 1] - s->off[u] > 1)
                qsort_r(s->idx + s->off[u], (size_t)(s->off[u + 1] - s->off[u]), sizeof *s->idx,
                        by_time, (void *)sp->time);
    return 0;
}

static void seqs_free(ts_seqs *s)
{
    free(s->off);
    free(s->idx);
}

/* One sequence to encode or train on: rows idx[from .. from+len) of split sp. */
typedef struct {
    const ds_split *sp;
    const long *idx;
    long from;
    int len;
} ts_seq;

/* Fill batch slot b of encoder e (T steps) with sequence s. */
static void fill_slot(const ts_model *m, gru_enc *e, int T, int B, int b, const ts_seq *s)
{
    int C = e->C, P = e->P, k = m->k;
    e->len[b] = s->len;
    for (int t = 0; t < T; t++) {
        size_t q = (size_t)t * B + b;
        float *x = e->x + q * C, *v = e->v + q * P;
        if (t >= s->len) {
            memset(x, 0, (size_t)C * sizeof *x);
            memset(v, 0, (size_t)P * sizeof *v);
            e->off[q] = e->y[q] = 0.0f;
            continue;
        }
        long row = s->idx[s->from + t];
        int32_t i = s->sp->item[row];
        const float *iv = (i >= 0 && i < m->n_items) ? m->item + (size_t)i * m->V : NULL;
        float bi = iv ? iv[k] : 0.0f, r = (float)s->sp->rating[row];
        for (int c = 0; c < k; c++)
            x[c] = v[c] = iv ? iv[c] : 0.0f;
        x[k] = bi;
        x[k + 1] = (float)(r - m->mu - bi);
        v[k] = 1.0f;
        e->off[q] = (float)(m->mu + bi);
        e->y[q] = r;
    }
}

/* The sequence of user u: training pairs if any, else revealed pairs, else none; *n_all = the
 * full count (which picks the encoder); the last max_len of them. */
static ts_seq user_seq(const ts_model *m, const ds_data *d, const ts_seqs *tr, const ts_seqs *rv,
                       int32_t u, long *n_all)
{
    ts_seq s = {&d->train, tr->idx, tr->off[u], 0};
    long n = tr->off[u + 1] - tr->off[u];
    if (n == 0 && rv) {
        s.sp = &d->reveal;
        s.idx = rv->idx;
        s.from = rv->off[u];
        n = rv->off[u + 1] - rv->off[u];
    }
    *n_all = n;
    long keep = n < m->max_len ? n : m->max_len;
    s.from += n - keep;
    s.len = (int)keep;
    return s;
}

/* Encode users 0..n_users into m->phi with the current encoders. */
static void encode_all(ts_model *m, const ds_data *d, const ts_seqs *tr, const ts_seqs *rv,
                       int32_t *buf)
{
    for (int g = 0; g < 2; g++) {
        gru_enc *e = m->enc[g];
        if (!e)
            continue;
        int nb = 0;
        for (int32_t u = 0; u <= m->n_users; u++) {
            int flush = u == m->n_users;
            if (!flush) {
                long n;
                user_seq(m, d, tr, rv, u, &n);
                int grp = (m->enc[0] && n < m->t_star) ? 0 : 1;
                if (grp == g)
                    buf[nb++] = u;
                flush = nb == e->max_B;
            }
            if (!flush || nb == 0)
                continue;
            int T = 1;
            for (int b = 0; b < nb; b++) {
                long n;
                ts_seq s = user_seq(m, d, tr, rv, buf[b], &n);
                if (s.len > T)
                    T = s.len;
            }
            for (int b = 0; b < nb; b++) {
                long n;
                ts_seq s = user_seq(m, d, tr, rv, buf[b], &n);
                fill_slot(m, e, T, nb, b, &s);
            }
            float *tmp = e->dphi;   /* (max_T * max_B * P) >= nb * P scratch */
            gru_enc_encode(e, T, nb, tmp);
            for (int b = 0; b < nb; b++)
                memcpy(m->phi + (size_t)buf[b] * m->P, tmp + (size_t)b * m->P,
                       (size_t)m->P * sizeof(float));
            nb = 0;
        }
    }
}

static double mse_split(const ts_model *m, const ds_data *d, const ds_split *s, const double *target)
{
    if (s->n <= 0 || !target)
        return NAN;
    int clip = d->rating_max > d->rating_min;
    double acc = 0;
    for (long k = 0; k < s->n; k++) {
        double p = ts_raw(m, s->user[k], s->item[k]);
        if (clip)
            p = p < d->rating_min ? d->rating_min : p > d->rating_max ? d->rating_max : p;
        acc += (p - target[k]) * (p - target[k]);
    }
    return acc / s->n;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- fit */

/* Stage 1: mf (ALS) with the mf_* keys; fills m->mu, m->item. 0 or -1 with ctx->err. */
static int stage1(ts_model *m, const est_fit_ctx *ctx, const ts_param *p)
{
    const ds_data *d = ctx->data;
    const est_method *mf = est_find("mf");
    if (!mf || !mf->vectors) {
        snprintf(ctx->err, ctx->errlen, "twotimescale: the mf method is not available");
        return -1;
    }
    kvset kv;
    kv_init(&kv);
    int rc = kv_set(&kv, "solver", "als") | kv_set(&kv, "rank", p->mf_rank) |
             kv_set(&kv, "reg", p->mf_reg) | kv_set(&kv, "reg_bias", p->mf_reg_bias) |
             kv_set(&kv, "reg_scale", p->mf_reg_scale) | kv_set(&kv, "epochs", p->mf_epochs);
    if (rc == 0)
        rc = kv_fill_defaults(&kv, mf->params);
    if (rc != 0) {
        kv_free(&kv);
        snprintf(ctx->err, ctx->errlen, "twotimescale: out of memory");
        return -1;
    }
    est_curves cv;
    est_curves_init(&cv);
    char err[256] = "";
    est_fit_ctx c1 = {d, &kv, ctx->seed, ctx->threads, &cv, err, sizeof err};
    void *mm = mf->train(&c1);
    kv_free(&kv);
    est_curves_free(&cv);
    if (!mm) {
        snprintf(ctx->err, ctx->errlen, "twotimescale: stage 1 (mf): %s", err);
        return -1;
    }
    int32_t *ids = malloc((size_t)(d->n_items > 0 ? d->n_items : 1) * sizeof *ids);
    m->item = malloc((size_t)(d->n_items > 0 ? d->n_items : 1) * m->V * sizeof(float));
    if (!ids || !m->item) {
        free(ids);
        mf->free_model(mm);
        snprintf(ctx->err, ctx->errlen, "twotimescale: out of memory");
        return -1;
    }
    for (int i = 0; i < d->n_items; i++)
        ids[i] = i;
    int dim = mf->vectors(mm, d, 1, d->n_items, ids, m->item);
    mf->free_model(mm);
    free(ids);
    if (dim != m->V) {
        snprintf(ctx->err, ctx->errlen, "twotimescale: stage 1 item vectors have %d columns, not %d",
                 dim, m->V);
        return -1;
    }
    double s = 0;
    for (long q = 0; q < d->train.n; q++)
        s += d->train.rating[q];
    m->mu = s / (double)d->train.n;   /* = mf's mu */
    return 0;
}

static void *ts_train(const est_fit_ctx *ctx)
{
    const ds_data *d = ctx->data;
    ts_param p;
    const char *bad = NULL, *msg = ts_parse(ctx->params, &p, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "twotimescale: %s: %s", bad, msg);
        return NULL;
    }
    if (d->train.n <= 0) {
        snprintf(ctx->err, ctx->errlen, "twotimescale: the training split is empty");
        return NULL;
    }
    double t0 = now_seconds();
    ts_model *m = calloc(1, sizeof *m);
    ts_seqs tr = {0}, rv = {0};
    int32_t *users = NULL, *buf = NULL;
    ts_seq *sq = NULL;
    float *best[2] = {NULL, NULL};
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    int ok = 0;
    if (!m || !r)
        goto oom;
    m->n_users = d->n_users;
    m->n_items = d->n_items;
    m->k = atoi(p.mf_rank);
    m->P = m->k + 1;
    m->V = m->k + 2;
    m->t_star = p.t_star;
    m->max_len = p.max_len;
    if (stage1(m, ctx, &p) != 0)
        goto done;
    m->phi = calloc((size_t)d->n_users + 1, (size_t)m->P * sizeof(float));
    users = malloc(((size_t)d->n_users + 1) * sizeof *users);
    buf = malloc(((size_t)d->n_users + 1) * sizeof *buf);
    sq = malloc((size_t)p.batch * sizeof *sq);
    if (!m->phi || !users || !buf || !sq || seqs_build(&tr, &d->train, d->n_users) != 0 ||
        seqs_build(&rv, &d->reveal, d->n_users) != 0)
        goto oom;
    gsl_rng_set(r, (unsigned long)ctx->seed);
    for (int g = p.t_star > 0 ? 0 : 1; g < 2; g++) {
        int T = g == 0 ? (p.t_star > 0 ? p.t_star : 1) : p.max_len;
        if (T < p.max_len)   /* the inactive encoder also encodes sequences of up to max_len */
            T = p.max_len;
        m->enc[g] = gru_enc_new(m->k + 2, p.hidden, m->P, T, p.batch, (float)p.lr);
        if (!m->enc[g] || !(best[g] = malloc(m->enc[g]->n_params * sizeof(float))))
            goto oom;
        gru_enc_init(m->enc[g], r);
        memcpy(best[g], m->enc[g]->params, m->enc[g]->n_params * sizeof(float));
    }
    long n_act = 0, n_inact = 0;
    for (int u = 0; u < d->n_users; u++) {
        long n = tr.off[u + 1] - tr.off[u];
        if (n > 0 && m->enc[0] && n < p.t_star)
            n_inact++;
        else if (n > 0)
            n_act++;
    }

    est_curves *cv = ctx->curves;
    est_early early;
    est_early_init(&early, p.patience, 0.0, d->valid.n > 0);
    snprintf(cv->stopped_by, sizeof cv->stopped_by, "cap");
    for (int ep = 1; ep <= p.epochs; ep++) {
        double sum = 0;
        long npos = 0;
        for (int g = 0; g < 2; g++) {
            gru_enc *e = m->enc[g];
            if (!e)
                continue;
            /* the training sequences of this encoder (see the header) */
            int nu = 0;
            for (int u = 0; u < d->n_users; u++) {
                long n = tr.off[u + 1] - tr.off[u];
                if (n > 0 && (g == 0 || !m->enc[0] || n >= p.t_star))
                    users[nu++] = u;
            }
            gsl_ran_shuffle(r, users, (size_t)nu, sizeof *users);
            for (int s = 0; s < nu; s += p.batch) {
                int B = nu - s < p.batch ? nu - s : p.batch, T = 1;
                for (int b = 0; b < B; b++) {
                    int32_t u = users[s + b];
                    long n = tr.off[u + 1] - tr.off[u];
                    long keep = g == 0 ? (n < p.t_star ? n : p.t_star)
                                       : (n < p.max_len ? n : p.max_len);
                    /* inactive: the first min(n, t*); active: the last min(n, max_len) */
                    sq[b] = (ts_seq){&d->train, tr.idx, tr.off[u] + (g == 0 ? 0 : n - keep),
                                     (int)keep};
                    if (keep > T)
                        T = (int)keep;
                }
                for (int b = 0; b < B; b++)
                    fill_slot(m, e, T, B, b, &sq[b]);
                double loss = gru_enc_step(e, T, B);
                if (!isfinite(loss)) {
                    snprintf(ctx->err, ctx->errlen, "twotimescale: non-finite loss at epoch %d", ep);
                    snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
                    goto done;
                }
                sum += loss * e->n_valid;
                npos += e->n_valid;
            }
        }
        encode_all(m, d, &tr, &rv, buf);
        double vr = d->valid.n > 0 ? sqrt(mse_split(m, d, &d->valid, d->valid.rating)) : NAN;
        double te = d->synthetic ? mse_split(m, d, &d->test_cold, d->test_cold.oracle) : NAN;
        if (est_curves_push(cv, npos ? sum / npos : NAN, vr, te, now_seconds() - t0) != 0)
            goto oom;
        cv->epochs_run = ep;
        int es = est_early_step(&early, ep, vr, ctx->err, ctx->errlen);
        if (es == EST_EARLY_NONFINITE) {
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
            goto done;
        }
        if (es == EST_EARLY_BEST) {
            for (int g = 0; g < 2; g++)
                if (m->enc[g])
                    memcpy(best[g], m->enc[g]->params, m->enc[g]->n_params * sizeof(float));
        } else if (es == EST_EARLY_STOP) {
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "patience");
            break;
        }
    }
    if (d->valid.n > 0)
        for (int g = 0; g < 2; g++)
            if (m->enc[g])
                memcpy(m->enc[g]->params, best[g], m->enc[g]->n_params * sizeof(float));
    encode_all(m, d, &tr, &rv, buf);   /* the kept encoders; k-shot users from their reveals */
    cv->best_epoch = early.best_epoch;
    long n_rev = 0;
    for (int u = 0; u < d->n_users; u++)
        if (tr.off[u + 1] == tr.off[u] && rv.off[u + 1] > rv.off[u])
            n_rev++;
    snprintf(cv->note, sizeof cv->note,
             "twotimescale: stage 1 mf als rank=%d; stage 2 %s, hidden=%d max_len=%d t_star=%d: "
             "%ld inactive + %ld active training users; %ld users encoded from revealed pairs; "
             "order by %s",
             m->k, m->enc[0] ? "two GRUs" : "one shared GRU (t_star = 0)", p.hidden, p.max_len,
             p.t_star, n_inact, n_act, n_rev, d->train.time ? "time" : "split position");
    ok = 1;
    goto done;
oom:
    snprintf(ctx->err, ctx->errlen, "twotimescale: out of memory");
done:
    seqs_free(&tr);
    seqs_free(&rv);
    free(users);
    free(buf);
    free(sq);
    free(best[0]);
    free(best[1]);
    if (r)
        gsl_rng_free(r);
    if (!ok) {
        ts_free(m);
        return NULL;
    }
    return m;
}

const est_method est_twotimescale = {
    .name = "twotimescale",
    .params = ts_params,
    .cold_capable = 1,
    .needs_truth = 0,
    .check_parameter = ts_check_parameter,
    .train = ts_train,
    .predict = ts_predict,
    .free_model = ts_free,
    .vectors = ts_vectors,
};
