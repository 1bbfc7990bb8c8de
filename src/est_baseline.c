/* est_baseline.c — the `baseline` method: global mean plus user and item biases
 * (what Surprise calls BaselineOnly, fitted by ALS).
 *
 * Prediction mu + b_u + b_i, mu the mean training rating. Each epoch alternates the
 * closed-form regularised updates
 *     b_u = sum_{i in I(u)} (r_ui - mu - b_i) / (reg_u + n_u)     (all users, then)
 *     b_i = sum_{u in U(i)} (r_ui - mu - b_u) / (reg_i + n_i)     (all items)
 * starting from zero biases. Users/items without training ratings keep bias 0, so an unseen
 * user gets mu + b_i, an unseen item mu + b_u (cold capable). On real data with a known
 * rating scale, predictions are clipped to [rating_min, rating_max] as Surprise does.
 * k-shot users (kshot.h; no training ratings, revealed pairs in d->reveal): after training,
 * b_u = sum over their revealed pairs with a trained item of (r_ui - mu - b_i) / (reg_u + n),
 * the same shrunk user half-step, so few revealed ratings move b_u little.
 * Per-epoch curves: train MSE, valid RMSE, test_cold excess risk (synthetic), wall seconds.
 */
#include "estimator.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const param_spec baseline_params[] = {
    { "epochs", PT_INT, "10", 1, 100000, NULL, "ALS epochs (alternating closed-form bias updates)" },
    { "reg_u", PT_REAL, "15", 0, 1e12, NULL, "L2 regularisation of user biases" },
    { "reg_i", PT_REAL, "10", 0, 1e12, NULL, "L2 regularisation of item biases" },
    { NULL, 0, NULL, 0, 0, NULL, NULL },
};

typedef struct {
    double mu;
    int n_users, n_items;
    double *bu, *bi;
} baseline_model;

/* The typed parameters: filled once by baseline_parse, used by check and train. */
typedef struct {
    long epochs;
    double reg_u, reg_i;
} baseline_param;

/* NULL when kv is valid (p filled), else a message and *bad_key. */
static const char *baseline_parse(const kvset *kv, baseline_param *p, const char **bad_key)
{
    const char *bad = param_check_table(baseline_params, kv, bad_key);
    if (bad)
        return bad;
    p->epochs = param_int(baseline_params, kv, "epochs");
    p->reg_u = param_real(baseline_params, kv, "reg_u");
    p->reg_i = param_real(baseline_params, kv, "reg_i");
    return NULL;
}

static const char *baseline_check(const kvset *params, const char **bad_key)
{
    baseline_param p;
    return baseline_parse(params, &p, bad_key);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double raw_predict(const baseline_model *m, int32_t u, int32_t i)
{
    double p = m->mu;
    if (u >= 0 && u < m->n_users)
        p += m->bu[u];
    if (i >= 0 && i < m->n_items)
        p += m->bi[i];
    return p;
}

static void baseline_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                             const int32_t *i, double *out)
{
    const baseline_model *m = model;
    int clip = !d->synthetic && d->rating_max > d->rating_min;
    for (long k = 0; k < n; k++) {
        double p = raw_predict(m, u[k], i[k]);
        if (clip)
            p = p < d->rating_min ? d->rating_min : p > d->rating_max ? d->rating_max : p;
        out[k] = p;
    }
}

static void baseline_free(void *model)
{
    baseline_model *m = model;
    if (!m)
        return;
    free(m->bu);
    free(m->bi);
    free(m);
}

/* Mean squared error of the (unclipped) model against target values of split s. */
static double split_mse(const baseline_model *m, const ds_split *s, const double *target)
{
    if (s->n <= 0 || !target)
        return NAN;
    double acc = 0;
    for (long k = 0; k < s->n; k++) {
        double e = raw_predict(m, s->user[k], s->item[k]) - target[k];
        acc += e * e;
    }
    return acc / (double)s->n;
}

/* Pairs of s whose user or item has no training rating. */
static long count_unseen(const ds_split *s, const long *nu, const long *ni, int n_users, int n_items)
{
    long c = 0;
    for (long k = 0; k < s->n; k++) {
        int32_t u = s->user[k], i = s->item[k];
        if (u < 0 || u >= n_users || i < 0 || i >= n_items || nu[u] == 0 || ni[i] == 0)
            c++;
    }
    return c;
}

static void *baseline_train(const est_fit_ctx *ctx)
{
    const ds_data *d = ctx->data;
    const ds_split *tr = &d->train;
    double t0 = now_seconds();
    baseline_param par;
    const char *bad = NULL, *msg = baseline_parse(ctx->params, &par, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "baseline: %s: %s", bad ? bad : "?", msg);
        return NULL;
    }
    const long epochs = par.epochs;
    const double reg_u = par.reg_u, reg_i = par.reg_i;
    if (tr->n <= 0) {
        snprintf(ctx->err, ctx->errlen, "baseline: the training split is empty");
        return NULL;
    }
    for (long k = 0; k < tr->n; k++)
        if (tr->user[k] < 0 || tr->user[k] >= d->n_users || tr->item[k] < 0 ||
            tr->item[k] >= d->n_items || !isfinite(tr->rating[k])) {
            snprintf(ctx->err, ctx->errlen, "baseline: training pair %ld is out of range or not finite", k);
            return NULL;
        }

    baseline_model *m = calloc(1, sizeof *m);
    long *nu = calloc((size_t)d->n_users + 1, sizeof *nu);
    long *ni = calloc((size_t)d->n_items + 1, sizeof *ni);
    double *acc_u = calloc((size_t)d->n_users + 1, sizeof *acc_u);
    double *acc_i = calloc((size_t)d->n_items + 1, sizeof *acc_i);
    if (m) {
        m->n_users = d->n_users;
        m->n_items = d->n_items;
        m->bu = calloc((size_t)d->n_users + 1, sizeof *m->bu);
        m->bi = calloc((size_t)d->n_items + 1, sizeof *m->bi);
    }
    if (!m || !nu || !ni || !acc_u || !acc_i || !m->bu || !m->bi) {
        snprintf(ctx->err, ctx->errlen, "baseline: out of memory");
        goto fail;
    }

    double s = 0;
    for (long k = 0; k < tr->n; k++) {
        s += tr->rating[k];
        nu[tr->user[k]]++;
        ni[tr->item[k]]++;
    }
    m->mu = s / (double)tr->n;

    for (long ep = 1; ep <= epochs; ep++) {
        memset(acc_u, 0, (size_t)d->n_users * sizeof *acc_u);
        for (long k = 0; k < tr->n; k++)
            acc_u[tr->user[k]] += tr->rating[k] - m->mu - m->bi[tr->item[k]];
        for (int u = 0; u < d->n_users; u++)
            m->bu[u] = nu[u] ? acc_u[u] / (reg_u + (double)nu[u]) : 0.0;

        memset(acc_i, 0, (size_t)d->n_items * sizeof *acc_i);
        for (long k = 0; k < tr->n; k++)
            acc_i[tr->item[k]] += tr->rating[k] - m->mu - m->bu[tr->user[k]];
        for (int i = 0; i < d->n_items; i++)
            m->bi[i] = ni[i] ? acc_i[i] / (reg_i + (double)ni[i]) : 0.0;

        double loss = split_mse(m, tr, tr->rating);
        if (!isfinite(loss)) {
            snprintf(ctx->err, ctx->errlen, "baseline: non-finite loss at epoch %ld", ep);
            goto fail;
        }
        double vr = sqrt(split_mse(m, &d->valid, d->valid.rating));
        double te = d->synthetic ? split_mse(m, &d->test_cold, d->test_cold.oracle) : NAN;
        if (est_curves_push(ctx->curves, loss, vr, te, now_seconds() - t0) != 0) {
            snprintf(ctx->err, ctx->errlen, "baseline: out of memory");
            goto fail;
        }
        ctx->curves->epochs_run = (int)ep;
    }
    /* k-shot users (kshot.h): the user half-step's shrunk bias from the revealed pairs */
    long folded = 0;
    double *cnt = calloc((size_t)d->n_users + 1, sizeof *cnt);
    if (!cnt) {
        snprintf(ctx->err, ctx->errlen, "baseline: out of memory");
        goto fail;
    }
    memset(acc_u, 0, (size_t)d->n_users * sizeof *acc_u);
    for (long k = 0; k < d->reveal.n; k++) {
        int32_t u = d->reveal.user[k], i = d->reveal.item[k];
        if (u < 0 || u >= d->n_users || nu[u] > 0 || i < 0 || i >= d->n_items || ni[i] == 0)
            continue;
        acc_u[u] += d->reveal.rating[k] - m->mu - m->bi[i];
        folded += cnt[u] == 0.0;
        cnt[u] += 1.0;
    }
    for (int u = 0; u < d->n_users; u++)
        if (nu[u] == 0 && cnt[u] > 0)
            m->bu[u] = acc_u[u] / (reg_u + cnt[u]);
    free(cnt);
    ctx->curves->best_epoch = 0;
    ctx->curves->n_fallback =
        count_unseen(&d->valid, nu, ni, d->n_users, d->n_items) +
        count_unseen(&d->test_warm, nu, ni, d->n_users, d->n_items) +
        count_unseen(&d->test_cold, nu, ni, d->n_users, d->n_items);
    snprintf(ctx->curves->note, sizeof ctx->curves->note,
             "baseline ALS: mu %.6g, reg_u %g, reg_i %g, %ld epochs; %ld users with a shrunk bias "
             "from revealed pairs", m->mu, reg_u, reg_i, epochs, folded);
    free(nu);
    free(ni);
    free(acc_u);
    free(acc_i);
    return m;

fail:
    free(nu);
    free(ni);
    free(acc_u);
    free(acc_i);
    baseline_free(m);
    return NULL;
}

const est_method est_baseline = {
    .name = "baseline",
    .params = baseline_params,
    .cold_capable = 1,
    .needs_truth = 0,
    .check_parameter = baseline_check,
    .train = baseline_train,
    .predict = baseline_predict,
    .free_model = baseline_free,
};
