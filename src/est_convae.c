/* est_convae.c — the `convae` method: the implicit + explicit autoencoder of nn_convae.h (our
 * reading of Ledent, Kasalický, Alves, Lauw, TNNLS 2025; only the abstract is public to us).
 *
 * Vectors: side = item (default, like I-AutoRec: one row per item over the users) or user (one
 * row per user over the items). A row's observed entries are its training ratings, mapped to
 * levels 1..L: on data with a rating scale (MovieLens) level = rating - rating_min + 1; otherwise
 * the training ratings must be integers (synthetic with stars = 1) and the scale is their range;
 * anything else is a failed fit with that message. Unobserved entries for the implicit head are
 * sampled afresh for every row in every epoch: round(neg_ratio x observed) entries drawn
 * uniformly among the row's unobserved ones (at most all of them), weighted w_neg in the BCE.
 *
 * Training: AdamW (decay on Wc, E, D, wo, Wr) on minibatches of `batch` rows shuffled every epoch
 * (GSL mt19937 seeded with ctx->seed, which also draws the Glorot initialisation); the loss per
 * observed entry as in nn_convae.h; early stopping on valid RMSE with `patience` (best weights
 * kept); a non-finite loss fails the fit.
 * Prediction for (u, i): the row's code h (from its training ratings; a row with none: the
 * code of an empty row), then the expected rating sum_l P(level l | observed) x rating(l)
 * (the explicit head alone; P(observe) is not mixed in). An entry whose entity never appears in
 * training (its decoder row was never fitted) gets the mean training rating (n_fallback).
 * Predictions are clipped to the rating scale.
 * extra_metrics (real data): convae_obs_recall_at_10, the implicit head P(observe) ranking each
 * test user's unseen catalogue, next to pop_obs_recall_at_10 (training popularity).
 * extra_metrics (synthetic, sampling = popularity | mnar, protocol random, no drift):
 * convae_tv_sampling, the total variation between P(observe) over the training items
 * normalised to sum 1 and the true per-user law of a training draw (ds_observe_law), mean over
 * up to CV_TV_USERS training users evenly spaced by row; convae_tv_sampling_odds the same with
 * the odds P / (1 - P) normalised instead (with side = user and negatives uniform over the row's
 * unobserved items, the BCE optimum has odds proportional to P(i | u) / uniform, so the
 * normalised odds, not the normalised P, estimate the law); pop_tv_sampling the same for the
 * training item counts normalised (one law for every user), uniform_tv_sampling for the
 * uniform law (the scale: a model that learnt nothing of the sampling scores about this).
 */
#include "estimator.h"
#include "metrics.h"
#include "nn_convae.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_rng.h>

static const param_spec cv_params[] = {
    {"side", PT_ENUM, "item", 0, 0, "item|user",
     "item: one row per item over the users (like I-AutoRec); user: one row per user over the items"},
    {"channels", PT_INT, "4", 1, 64, NULL, "C: channels of the shared 1x1 convolution"},
    {"hidden", PT_INT, "500", 1, 65536, NULL, "sigmoid hidden units"},
    {"lr", PT_REAL, "0.001", 1e-9, 10, NULL, "AdamW learning rate"},
    {"weight_decay", PT_REAL, "0", 0, 1e6, NULL, "AdamW decoupled decay of the weight matrices"},
    {"batch", PT_INT, "32", 1, 1 << 24, NULL, "rows per minibatch"},
    {"epochs", PT_INT, "100", 1, 1000000, NULL, "largest number of epochs"},
    {"patience", PT_INT, "10", 0, 1000000, NULL,
     "stop after this many epochs without valid RMSE improvement (0 = never)"},
    {"min_delta", PT_REAL, "0", 0, 1e300, NULL, "smallest valid RMSE decrease that counts"},
    {"neg_ratio", PT_REAL, "1", 0, 1000, NULL,
     "sampled unobserved entries per observed entry of a row, every epoch (implicit head)"},
    {"w_neg", PT_REAL, "1", 0, 1e6, NULL, "weight of a sampled unobserved entry in the BCE"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct {
    int side, C, H, batch, epochs, patience;
    double lr, weight_decay, min_delta, neg_ratio, w_neg;
} cv_param;

static const char *cv_parse(const kvset *kv, cv_param *p, const char **bad_key)
{
    const char *m = param_check_table(cv_params, kv, bad_key);
    if (m)
        return m;
    p->side = strcmp(param_str(cv_params, kv, "side"), "user") == 0;
    p->C = (int)param_int(cv_params, kv, "channels");
    p->H = (int)param_int(cv_params, kv, "hidden");
    p->lr = param_real(cv_params, kv, "lr");
    p->weight_decay = param_real(cv_params, kv, "weight_decay");
    p->batch = (int)param_int(cv_params, kv, "batch");
    p->epochs = (int)param_int(cv_params, kv, "epochs");
    p->patience = (int)param_int(cv_params, kv, "patience");
    p->min_delta = param_real(cv_params, kv, "min_delta");
    p->neg_ratio = param_real(cv_params, kv, "neg_ratio");
    p->w_neg = param_real(cv_params, kv, "w_neg");
    return NULL;
}

static const char *cv_check_parameter(const kvset *params, const char **bad_key)
{
    cv_param p;
    return cv_parse(params, &p, bad_key);
}

typedef struct {
    int side, n_vec, dim;       /* rows, entries per row */
    int L;
    double lo;                  /* rating of level 1 */
    double mu, rmin, rmax;      /* fallback; the rating scale of training (its levels) */
    nn_convae *net;
    long *ptr;                  /* (n_vec + 1) CSR of the training entries by row */
    int32_t *col;
    int8_t *lev;
    char *seen;                 /* (dim) entry entity has training ratings */
    float *code;                /* (n_vec, H) codes h of the rows */
} cv_model;

static void cv_free(void *p)
{
    cv_model *m = p;
    if (!m)
        return;
    nn_convae_free(m->net);
    free(m->ptr);
    free(m->col);
    free(m->lev);
    free(m->seen);
    free(m->code);
    free(m);
}

static nn_convae_row cv_row(const cv_model *m, int v)
{
    nn_convae_row r = {(int)(m->ptr[v + 1] - m->ptr[v]), 0, m->col + m->ptr[v],
                       m->lev + m->ptr[v], NULL};
    return r;
}

static void cv_encode_all(cv_model *m)
{
    for (int v = 0; v < m->n_vec; v++) {
        nn_convae_row r = cv_row(m, v);
        nn_convae_encode(m->net, &r, m->code + (size_t)v * m->net->H);
    }
}

static void cv_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                       const int32_t *i, double *out)
{
    const cv_model *m = model;
    double p[64], po;
    /* clipping range of the d given (metrics_catalog ranks with an empty one: no clipping) */
    int clip = d->rating_max > d->rating_min;
    for (long k = 0; k < n; k++) {
        int32_t v = m->side ? u[k] : i[k], c = m->side ? i[k] : u[k];
        double y = m->mu;
        if (v >= 0 && v < m->n_vec && c >= 0 && c < m->dim && m->seen[c]) {
            nn_convae_heads(m->net, m->code + (size_t)v * m->net->H, c, &po, p);
            y = 0;
            for (int l = 0; l < m->L; l++)
                y += p[l] * (m->lo + l);
        }
        if (clip)
            y = y < d->rating_min ? d->rating_min : y > d->rating_max ? d->rating_max : y;
        out[k] = y;
    }
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double rmse(const double *p, const double *y, long n)
{
    double s = 0;
    for (long k = 0; k < n; k++)
        s += (p[k] - y[k]) * (p[k] - y[k]);
    return sqrt(s / n);
}

static long count_fallback(const cv_model *m, const ds_split *s)
{
    long n = 0;
    for (long k = 0; k < s->n; k++) {
        int32_t v = m->side ? s->user[k] : s->item[k], c = m->side ? s->item[k] : s->user[k];
        n += !(v >= 0 && v < m->n_vec && c >= 0 && c < m->dim && m->seen[c]);
    }
    return n;
}

static void *cv_train(const est_fit_ctx *ctx)
{
    const ds_data *d = ctx->data;
    cv_param prm;
    const char *bad = NULL, *msg = cv_parse(ctx->params, &prm, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "%s: %s", bad, msg);
        return NULL;
    }
    long N = d->train.n;
    if (N < 1) {
        snprintf(ctx->err, ctx->errlen, "empty training split");
        return NULL;
    }
    double t0 = now_seconds();
    cv_model *m = calloc(1, sizeof *m);
    int32_t *rows = NULL, *negs = NULL;
    float *best = NULL;
    double *pv = NULL;
    char *mark = NULL;
    nn_convae_row *batch = NULL;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int ok = 0;
    if (!m || !rng)
        goto oom;
    m->side = prm.side;
    m->n_vec = prm.side ? d->n_users : d->n_items;
    m->dim = prm.side ? d->n_items : d->n_users;
    m->rmin = d->rating_min;
    m->rmax = d->rating_max;
    /* rating levels */
    double lo = INFINITY, hi = -INFINITY;
    int integral = 1;
    m->mu = 0;
    for (long k = 0; k < N; k++) {
        double r = d->train.rating[k];
        lo = r < lo ? r : lo;
        hi = r > hi ? r : hi;
        integral &= r == floor(r);
        m->mu += r;
    }
    m->mu /= N;
    if (m->rmax > m->rmin && m->rmin == floor(m->rmin) && m->rmax == floor(m->rmax)) {
        lo = m->rmin;
        hi = m->rmax;
    } else if (!integral) {
        snprintf(ctx->err, ctx->errlen, "convae needs ratings on integer levels (MovieLens, or "
                 "synthetic data with stars = 1)");
        goto fail;
    }
    m->lo = lo;
    m->L = (int)(hi - lo) + 1;
    if (m->L < 2 || m->L > 64) {
        snprintf(ctx->err, ctx->errlen, "convae needs 2..64 rating levels (training ratings span "
                 "%g..%g)", lo, hi);
        goto fail;
    }
    m->ptr = calloc((size_t)m->n_vec + 1, sizeof *m->ptr);
    m->col = malloc((size_t)N * sizeof *m->col);
    m->lev = malloc((size_t)N * sizeof *m->lev);
    m->seen = calloc((size_t)m->dim, 1);
    rows = malloc((size_t)m->n_vec * sizeof *rows);
    mark = calloc((size_t)m->dim, 1);
    pv = malloc((size_t)(d->valid.n > 0 ? d->valid.n : 1) * sizeof *pv);
    if (!m->ptr || !m->col || !m->lev || !m->seen || !rows || !mark || !pv)
        goto oom;
    for (long k = 0; k < N; k++) {
        int32_t v = m->side ? d->train.user[k] : d->train.item[k];
        m->ptr[v + 1]++;
        m->seen[m->side ? d->train.item[k] : d->train.user[k]] = 1;
    }
    for (int v = 0; v < m->n_vec; v++)
        m->ptr[v + 1] += m->ptr[v];
    {
        long *fill = malloc((size_t)m->n_vec * sizeof *fill);
        if (!fill)
            goto oom;
        memcpy(fill, m->ptr, (size_t)m->n_vec * sizeof *fill);
        for (long k = 0; k < N; k++) {
            int32_t v = m->side ? d->train.user[k] : d->train.item[k];
            int32_t c = m->side ? d->train.item[k] : d->train.user[k];
            double r = d->train.rating[k];
            int lv = (int)lround(r - lo) + 1;
            lv = lv < 1 ? 1 : lv > m->L ? m->L : lv;
            m->col[fill[v]] = c;
            m->lev[fill[v]++] = (int8_t)lv;
        }
        free(fill);
    }
    int V = 0;
    long maxrow = 0;
    for (int v = 0; v < m->n_vec; v++)
        if (m->ptr[v + 1] > m->ptr[v]) {
            rows[V++] = v;
            maxrow = m->ptr[v + 1] - m->ptr[v] > maxrow ? m->ptr[v + 1] - m->ptr[v] : maxrow;
        }
    int B = prm.batch < V ? prm.batch : V;
    long negcap = (long)ceil(prm.neg_ratio * (double)maxrow) + 1;
    negs = malloc((size_t)B * (size_t)negcap * sizeof *negs);
    batch = malloc((size_t)B * sizeof *batch);
    m->net = nn_convae_new(m->dim, m->L, prm.C, prm.H, (float)prm.lr, (float)prm.weight_decay,
                           ctx->err, ctx->errlen);
    m->code = malloc((size_t)m->n_vec * prm.H * sizeof *m->code);
    if (!m->net)
        goto fail;
    best = malloc(m->net->n_params * sizeof *best);
    if (!negs || !batch || !m->code || !best)
        goto oom;
    gsl_rng_set(rng, (unsigned long)ctx->seed);
    nn_convae_init(m->net, rng);
    memcpy(best, m->net->params, m->net->n_params * sizeof *best);

    est_curves *cv = ctx->curves;
    est_early early;
    est_early_init(&early, prm.patience, prm.min_delta, d->valid.n > 0);
    snprintf(cv->stopped_by, sizeof cv->stopped_by, "cap");
    for (int epoch = 1; epoch <= prm.epochs; epoch++) {
        for (int k = V - 1; k > 0; k--) {
            int j = (int)gsl_rng_uniform_int(rng, (unsigned long)k + 1), t = rows[k];
            rows[k] = rows[j];
            rows[j] = t;
        }
        double sum = 0;
        long nobs = 0;
        for (int s = 0; s < V; s += B) {
            int Bc = V - s < B ? V - s : B;
            long bobs = 0;
            for (int b = 0; b < Bc; b++) {
                nn_convae_row r = cv_row(m, rows[s + b]);
                int32_t *ng = negs + (size_t)b * negcap;
                long want = lround(prm.neg_ratio * r.n_obs), free_ = m->dim - r.n_obs, got = 0;
                want = want > free_ ? free_ : want;
                for (int q = 0; q < r.n_obs; q++)
                    mark[r.obs_item[q]] = 1;
                for (long tries = 0; got < want && tries < 50 * (want + 1); tries++) {
                    int32_t c = (int32_t)gsl_rng_uniform_int(rng, (unsigned long)m->dim);
                    if (!mark[c]) {
                        mark[c] = 2;
                        ng[got++] = c;
                    }
                }
                for (int q = 0; q < r.n_obs; q++)
                    mark[r.obs_item[q]] = 0;
                for (long q = 0; q < got; q++)
                    mark[ng[q]] = 0;
                r.n_neg = (int)got;
                r.neg_item = ng;
                batch[b] = r;
                bobs += r.n_obs;
            }
            double loss = nn_convae_step(m->net, batch, Bc, prm.w_neg);
            if (!isfinite(loss)) {
                snprintf(ctx->err, ctx->errlen, "non-finite loss at epoch %d", epoch);
                snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
                goto fail;
            }
            sum += loss * bobs;
            nobs += bobs;
        }
        double vr = NAN;
        cv_encode_all(m);
        if (d->valid.n > 0) {
            cv_predict(m, d, d->valid.n, d->valid.user, d->valid.item, pv);
            vr = rmse(pv, d->valid.rating, d->valid.n);
        }
        if (est_curves_push(cv, sum / (nobs ? nobs : 1), vr, NAN, now_seconds() - t0) != 0)
            goto oom;
        cv->epochs_run = epoch;
        int es = est_early_step(&early, epoch, vr, ctx->err, ctx->errlen);
        if (es == EST_EARLY_NONFINITE) {
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
            goto fail;
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
    cv_encode_all(m);
    cv->best_epoch = early.best_epoch;
    cv->n_fallback = count_fallback(m, &d->valid) + count_fallback(m, &d->test_warm) +
                     count_fallback(m, &d->test_cold);
    snprintf(cv->note, sizeof cv->note,
             "convae side=%s levels=%d (%g..%g) channels=%d hidden=%d adamw lr=%g wd=%g batch=%d "
             "neg_ratio=%g w_neg=%g rows=%d params=%zu", m->side ? "user" : "item", m->L, lo, hi,
             prm.C, prm.H, prm.lr, prm.weight_decay, B, prm.neg_ratio, prm.w_neg, V,
             m->net->n_params);
    ok = 1;
    goto done;
oom:
    snprintf(ctx->err, ctx->errlen, "out of memory (convae)");
fail:
done:
    free(rows);
    free(negs);
    free(best);
    free(pv);
    free(mark);
    free(batch);
    if (rng)
        gsl_rng_free(rng);
    if (!ok) {
        cv_free(m);
        return NULL;
    }
    return m;
}

/* pairs of a split grouped by user: ptr (n_users + 1), items */
static int by_user(const ds_split *const *sp, int ns, int nu, long **ptr, int32_t **it)
{
    long n = 0;
    for (int k = 0; k < ns; k++)
        n += sp[k]->n;
    *ptr = calloc((size_t)nu + 1, sizeof **ptr);
    *it = malloc((size_t)(n ? n : 1) * sizeof **it);
    long *fill = malloc((size_t)nu * sizeof *fill);
    if (!*ptr || !*it || !fill) {
        free(fill);
        return -1;
    }
    for (int k = 0; k < ns; k++)
        for (long q = 0; q < sp[k]->n; q++)
            (*ptr)[sp[k]->user[q] + 1]++;
    for (int u = 0; u < nu; u++)
        (*ptr)[u + 1] += (*ptr)[u];
    memcpy(fill, *ptr, (size_t)nu * sizeof *fill);
    for (int k = 0; k < ns; k++)
        for (long q = 0; q < sp[k]->n; q++)
            (*it)[fill[sp[k]->user[q]]++] = sp[k]->item[q];
    free(fill);
    return 0;
}

/* hits of the top-K (score descending, lower id first) of sc over items not masked */
static int topk_hits(const double *sc, char *masked, const char *test, int n, int K)
{
    int hits = 0;
    for (int k = 0; k < K; k++) {
        int b = -1;
        for (int i = 0; i < n; i++)
            if (!masked[i] && (b < 0 || sc[i] > sc[b]))
                b = i;
        if (b < 0)
            break;
        hits += test[b] == 1;
        masked[b] = 2;   /* taken (restored by the caller) */
    }
    return hits;
}

/* The implicit head as a recommender (real data): each test_warm user ranks every item outside
 * their train and valid pairs by P(observe); convae_obs_recall_at_10 = hits among the user's
 * test items / min(10, their count), mean over those users; pop_obs_recall_at_10 the same
 * ranking by training popularity. */
static int cv_extra(const void *model, const ds_data *d, struct metric_set *out)
{
    const cv_model *m = model;
    if (d->synthetic || d->test_warm.n == 0)
        return 0;
    int nu = d->n_users, ni = d->n_items, rc = -1;
    long *tp = NULL, *ep = NULL;
    int32_t *ti = NULL, *ei = NULL;
    const ds_split *seen[2] = {&d->train, &d->valid}, *test[1] = {&d->test_warm};
    double *sc = malloc((size_t)ni * sizeof *sc), *pop = calloc((size_t)ni, sizeof *pop);
    char *mask = calloc((size_t)ni, 1), *tst = calloc((size_t)ni, 1);
    double pr[64], po;
    if (!sc || !pop || !mask || !tst || by_user(seen, 2, nu, &tp, &ti) != 0 ||
        by_user(test, 1, nu, &ep, &ei) != 0)
        goto out;
    for (long q = 0; q < d->train.n; q++)
        pop[d->train.item[q]] += 1;
    double rs = 0, rp = 0;
    long users = 0;
    for (int u = 0; u < nu; u++) {
        long nt = ep[u + 1] - ep[u];
        if (nt == 0)
            continue;
        for (long q = tp[u]; q < tp[u + 1]; q++)
            mask[ti[q]] = 1;
        for (long q = ep[u]; q < ep[u + 1]; q++)
            tst[ei[q]] = 1;
        int K = nt < 10 ? (int)nt : 10;
        for (int i = 0; i < ni; i++) {
            sc[i] = -1;
            int v = m->side ? u : i, c = m->side ? i : u;
            if (!mask[i] && v < m->n_vec && c < m->dim && m->seen[c]) {
                nn_convae_heads(m->net, m->code + (size_t)v * m->net->H, c, &po, pr);
                sc[i] = po;
            }
        }
        rs += (double)topk_hits(sc, mask, tst, ni, K) / K;
        for (int i = 0; i < ni; i++)
            mask[i] = mask[i] == 2 ? 0 : mask[i];
        rp += (double)topk_hits(pop, mask, tst, ni, K) / K;
        for (int i = 0; i < ni; i++)
            mask[i] = tst[i] = 0;
        users++;
    }
    if (users) {
        metrics_add(out, "convae_obs_recall_at_10", rs / users);
        metrics_add(out, "pop_obs_recall_at_10", rp / users);
    }
    rc = 0;
out:
    free(sc);
    free(pop);
    free(mask);
    free(tst);
    free(tp);
    free(ti);
    free(ep);
    free(ei);
    return rc;
}

#define CV_TV_USERS 500

/* TV of the implicit head's (and popularity's) per-user sampling law to the truth; an entry
 * the model cannot score (entity without training ratings) gets P(observe) = 0. */
static int cv_tv(const cv_model *m, const ds_data *d, struct metric_set *out)
{
    int nu = d->n_warm_users, ni = d->n_warm_items, rc = -1;
    if (nu <= 0 || ni <= 0 || d->train.n == 0)
        return 0;
    double *truth = malloc((size_t)ni * sizeof *truth), *pred = malloc((size_t)ni * sizeof *pred);
    double *odds = malloc((size_t)ni * sizeof *odds);
    double *pop = calloc((size_t)ni, sizeof *pop), pr[64], po;
    if (!truth || !pred || !pop || !odds)
        goto out;
    for (long q = 0; q < d->train.n; q++)
        if (d->train.item[q] < ni)
            pop[d->train.item[q]] += 1;
    double np = 0;
    for (int i = 0; i < ni; i++)
        np += pop[i];
    for (int i = 0; i < ni; i++)
        pop[i] /= np;
    int ns = nu < CV_TV_USERS ? nu : CV_TV_USERS;
    double tvc = 0, tvo = 0, tvp = 0, tvu = 0;
    long users = 0;
    for (int k = 0; k < ns; k++) {
        int u = (int)((long)k * nu / ns);
        if (ds_observe_law(d, u, truth) != 0)
            continue;
        double sum = 0, so = 0;
        for (int i = 0; i < ni; i++) {
            int v = m->side ? u : i, c = m->side ? i : u;
            pred[i] = odds[i] = 0;
            if (v < m->n_vec && c < m->dim && m->seen[c]) {
                nn_convae_heads(m->net, m->code + (size_t)v * m->net->H, c, &po, pr);
                pred[i] = po;
                odds[i] = po < 1 ? po / (1 - po) : 1e300;
            }
            sum += pred[i];
            so += odds[i];
        }
        if (!(sum > 0) || !(so > 0) || !isfinite(so))
            continue;
        for (int i = 0; i < ni; i++) {
            pred[i] /= sum;
            odds[i] /= so;
        }
        tvc += synth_tv_distance(pred, truth, ni);
        tvo += synth_tv_distance(odds, truth, ni);
        tvp += synth_tv_distance(pop, truth, ni);
        for (int i = 0; i < ni; i++)
            pred[i] = 1.0 / ni;
        tvu += synth_tv_distance(pred, truth, ni);
        users++;
    }
    if (users) {
        metrics_add(out, "convae_tv_sampling", tvc / users);
        metrics_add(out, "convae_tv_sampling_odds", tvo / users);
        metrics_add(out, "pop_tv_sampling", tvp / users);
        metrics_add(out, "uniform_tv_sampling", tvu / users);
    }
    rc = 0;
out:
    free(truth);
    free(pred);
    free(odds);
    free(pop);
    return rc;
}

static int cv_extra_all(const void *model, const ds_data *d, struct metric_set *out)
{
    if (d->synthetic) {
        if (d->sampling_law && (d->sampling == SYNTH_POPULARITY || d->sampling == SYNTH_MNAR))
            return cv_tv(model, d, out);
        return 0;
    }
    return cv_extra(model, d, out);
}

const est_method est_convae = {
    .name = "convae",
    .params = cv_params,
    .cold_capable = 1,
    .check_parameter = cv_check_parameter,
    .train = cv_train,
    .predict = cv_predict,
    .free_model = cv_free,
    .extra_metrics = cv_extra_all,
};
