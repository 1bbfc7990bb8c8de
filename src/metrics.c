/* metrics.c — error and ranking metrics of SPEC section 6 (see metrics.h).
 *
 * Ranking conventions (all metrics below):
 *   - The pairs of a split are grouped by user (stable: within a user, split order); a user's
 *     candidate set is all of its pairs in the split.
 *   - Users with fewer than 2 candidates are skipped; a user with n_u < k candidates is scored
 *     on all of them: every "@k" uses kk = min(k, n_u) in place of k.
 *   - Rankings sort by score descending; ties are broken by item id ascending, then by position
 *     in the split (so a ranking is a deterministic function of the split and the scores). The
 *     ideal (oracle) ranking uses the same rule with the oracle values as scores.
 *   - Averages are plain means over the users that were not skipped; NaN if there are none.
 *   - A non-finite prediction (or oracle value) makes the metric NaN.
 */
#include "metrics.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- metric sets */

void metrics_init(metric_set *m)
{
    memset(m, 0, sizeof *m);
}

void metrics_add(metric_set *m, const char *name, double value)
{
    for (int k = 0; k < m->n; k++)
        if (strcmp(m->name[k], name) == 0) {
            m->value[k] = value;
            return;
        }
    if (m->n >= METRICS_MAX)
        return;
    m->name[m->n] = name;
    m->value[m->n] = value;
    m->n++;
}

void metrics_free(metric_set *m)
{
    for (int k = 0; k < m->n_user; k++) {
        free(m->user[k].user);
        free(m->user[k].value);
    }
    metrics_init(m);
}

int metrics_copy(metric_set *dst, const metric_set *src)
{
    *dst = *src;   /* names are static strings: a shallow copy is right for them */
    dst->n_user = 0;
    for (int k = 0; k < src->n_user; k++) {
        const metric_user_values *v = &src->user[k];
        metric_user_values *w = &dst->user[k];
        size_t n = (size_t)(v->n > 0 ? v->n : 1);
        *w = *v;
        w->user = malloc(n * sizeof *w->user);
        w->value = malloc(n * sizeof *w->value);
        dst->n_user = k + 1;
        if (!w->user || !w->value) {
            metrics_free(dst);
            return -1;
        }
        memcpy(w->user, v->user, (size_t)v->n * sizeof *w->user);
        memcpy(w->value, v->value, (size_t)v->n * sizeof *w->value);
    }
    return 0;
}

int metrics_add_user_values(metric_set *m, const char *name, long n, const int32_t *user,
                            const double *value)
{
    int k = 0;
    while (k < m->n_user && strcmp(m->user[k].name, name) != 0)
        k++;
    if (k == METRICS_USER_MAX)
        return 0;
    size_t cap = (size_t)(n > 0 ? n : 1);
    int32_t *u = malloc(cap * sizeof *u);
    float *v = malloc(cap * sizeof *v);
    if (!u || !v) {
        free(u);
        free(v);
        return -1;
    }
    for (long j = 0; j < n; j++) {
        u[j] = user[j];
        v[j] = (float)value[j];
    }
    if (k < m->n_user) {
        free(m->user[k].user);
        free(m->user[k].value);
    } else {
        m->n_user++;
    }
    m->user[k] = (metric_user_values){.name = name, .n = n, .user = u, .value = v};
    return 0;
}

const metric_user_values *metrics_user_values(const metric_set *m, const char *name)
{
    for (int k = 0; k < m->n_user; k++)
        if (strcmp(m->user[k].name, name) == 0)
            return &m->user[k];
    return NULL;
}

double metrics_get(const metric_set *m, const char *name)
{
    for (int k = 0; k < m->n; k++)
        if (strcmp(m->name[k], name) == 0)
            return m->value[k];
    return NAN;
}

/* ---------------------------------------------------------------- pointwise errors */

double metric_mse(const double *pred, const double *target, long n)
{
    if (n <= 0)
        return NAN;
    double s = 0;
    for (long k = 0; k < n; k++) {
        double e = pred[k] - target[k];
        s += e * e;
    }
    return s / (double)n;
}

double metric_rmse(const double *pred, const double *target, long n)
{
    return sqrt(metric_mse(pred, target, n));
}

double metric_mae(const double *pred, const double *target, long n)
{
    if (n <= 0)
        return NAN;
    double s = 0;
    for (long k = 0; k < n; k++)
        s += fabs(pred[k] - target[k]);
    return s / (double)n;
}

/* ---------------------------------------------------------------- ranking */

typedef struct {
    const double *score;
    const int32_t *item;
    const int32_t *user;
} rank_ctx;

/* Group order: user ascending, then split position (stable). */
static int cmp_user(const void *a, const void *b, void *ctx)
{
    const rank_ctx *c = ctx;
    long x = *(const long *)a, y = *(const long *)b;
    if (c->user[x] != c->user[y])
        return c->user[x] < c->user[y] ? -1 : 1;
    return (x > y) - (x < y);
}

/* Ranking order: score descending, then item id ascending, then split position. */
static int cmp_rank(const void *a, const void *b, void *ctx)
{
    const rank_ctx *c = ctx;
    long x = *(const long *)a, y = *(const long *)b;
    if (c->score[x] != c->score[y])
        return c->score[x] > c->score[y] ? -1 : 1;
    if (c->item[x] != c->item[y])
        return c->item[x] < c->item[y] ? -1 : 1;
    return (x > y) - (x < y);
}

typedef enum { RK_NDCG, RK_RECALL_ORACLE, RK_REGRET, RK_PRECISION, RK_RECALL, RK_MAP } rank_kind;

/* One user's value. cand[0..n) are split positions; by_pred is cand ranked by prediction,
 * by_truth ranked by the oracle (graded kinds). Returns 0 with *v set, 1 to skip the user. */
static int user_value(rank_kind kind, const ds_split *s, const double *oracle, double threshold,
                      int k, const long *by_pred, const long *by_truth, long n, double *v)
{
    long kk = n < k ? n : k;
    switch (kind) {
    case RK_NDCG: {
        /* graded relevance rel = oracle - min oracle over this user's candidates (>= 0) */
        double lo = oracle[by_pred[0]];
        for (long r = 1; r < n; r++)
            if (oracle[by_pred[r]] < lo)
                lo = oracle[by_pred[r]];
        double dcg = 0, idcg = 0;
        for (long r = 0; r < kk; r++) {
            double disc = 1.0 / log2((double)r + 2.0);
            dcg += (oracle[by_pred[r]] - lo) * disc;
            idcg += (oracle[by_truth[r]] - lo) * disc;
        }
        if (!(idcg > 0))
            return 1;       /* all candidates equally good: NDCG undefined, user skipped */
        *v = dcg / idcg;
        return 0;
    }
    case RK_RECALL_ORACLE: {
        long hit = 0;
        for (long r = 0; r < kk; r++)
            for (long q = 0; q < kk; q++)
                if (by_pred[r] == by_truth[q]) {
                    hit++;
                    break;
                }
        *v = (double)hit / (double)kk;
        return 0;
    }
    case RK_REGRET: {
        double best = 0, got = 0;
        for (long r = 0; r < kk; r++) {
            best += oracle[by_truth[r]];
            got += oracle[by_pred[r]];
        }
        *v = (best - got) / (double)kk;
        return 0;
    }
    case RK_PRECISION:
    case RK_RECALL:
    case RK_MAP: {
        long n_rel = 0, hit = 0;
        double ap = 0;
        for (long r = 0; r < n; r++)
            if (s->rating[by_pred[r]] >= threshold)
                n_rel++;
        for (long r = 0; r < kk; r++)
            if (s->rating[by_pred[r]] >= threshold) {
                hit++;
                ap += (double)hit / (double)(r + 1);
            }
        if (kind == RK_PRECISION) {
            /* users with no relevant item count (precision 0) */
            *v = (double)hit / (double)kk;
            return 0;
        }
        /* recall and MAP are undefined for a user with no relevant item: skipped */
        if (n_rel == 0)
            return 1;
        if (kind == RK_RECALL)
            *v = (double)hit / (double)n_rel;
        else   /* AP@k = sum over relevant ranks r <= kk of precision@r, / min(k, n_rel) */
            *v = ap / (double)(n_rel < k ? n_rel : k);
        return 0;
    }
    }
    return 1;
}

/* Mean over users of the chosen ranking metric. *n_users = users counted. Returns NaN when no
 * user counts, or when a score is not finite (then *n_users = -1). -2 on allocation failure. */
static double rank_metric_pu(rank_kind kind, const ds_split *s, const double *pred,
                             const double *oracle, double threshold, int k, long *n_users,
                             int32_t *pu_user, double *pu_value)
{
    *n_users = 0;
    if (k <= 0 || s->n <= 0)
        return NAN;
    int graded = kind == RK_NDCG || kind == RK_RECALL_ORACLE || kind == RK_REGRET;
    if (graded && !oracle)
        return NAN;
    for (long j = 0; j < s->n; j++)
        if (!isfinite(pred[j]) || (graded && !isfinite(oracle[j]))) {
            *n_users = -1;
            return NAN;
        }
    long n = s->n;
    long *order = malloc((size_t)n * sizeof *order);
    long *by_pred = malloc((size_t)n * sizeof *by_pred);
    long *by_truth = malloc((size_t)n * sizeof *by_truth);
    if (!order || !by_pred || !by_truth) {
        free(order);
        free(by_pred);
        free(by_truth);
        *n_users = -2;
        return NAN;
    }
    for (long j = 0; j < n; j++)
        order[j] = j;
    rank_ctx c = { .score = pred, .item = s->item, .user = s->user };
    qsort_r(order, (size_t)n, sizeof *order, cmp_user, &c);

    double sum = 0;
    long counted = 0;
    for (long a = 0; a < n;) {
        long b = a + 1;
        while (b < n && s->user[order[b]] == s->user[order[a]])
            b++;
        long nu = b - a;
        if (nu >= 2) {
            memcpy(by_pred, order + a, (size_t)nu * sizeof *by_pred);
            c.score = pred;
            qsort_r(by_pred, (size_t)nu, sizeof *by_pred, cmp_rank, &c);
            if (graded) {
                memcpy(by_truth, order + a, (size_t)nu * sizeof *by_truth);
                c.score = oracle;
                qsort_r(by_truth, (size_t)nu, sizeof *by_truth, cmp_rank, &c);
            }
            double v;
            if (user_value(kind, s, oracle, threshold, k, by_pred, by_truth, nu, &v) == 0) {
                if (pu_user) {   /* room: at most one entry per user, n >= users */
                    pu_user[counted] = s->user[order[a]];
                    pu_value[counted] = v;
                }
                sum += v;
                counted++;
            }
        }
        a = b;
    }
    free(order);
    free(by_pred);
    free(by_truth);
    *n_users = counted;
    return counted ? sum / (double)counted : NAN;
}

static double rank_metric(rank_kind kind, const ds_split *s, const double *pred,
                          const double *oracle, double threshold, int k, long *n_users)
{
    return rank_metric_pu(kind, s, pred, oracle, threshold, k, n_users, NULL, NULL);
}

double metric_ndcg_at_k(const ds_split *s, const double *pred, const double *relevance, int k)
{
    long nu;
    return rank_metric(RK_NDCG, s, pred, relevance, 0, k, &nu);
}

double metric_recall_vs_oracle_at_k(const ds_split *s, const double *pred, const double *oracle, int k)
{
    long nu;
    return rank_metric(RK_RECALL_ORACLE, s, pred, oracle, 0, k, &nu);
}

double metric_regret_at_k(const ds_split *s, const double *pred, const double *oracle, int k)
{
    long nu;
    return rank_metric(RK_REGRET, s, pred, oracle, 0, k, &nu);
}

double metric_precision_at_k(const ds_split *s, const double *pred, double threshold, int k)
{
    long nu;
    return rank_metric(RK_PRECISION, s, pred, NULL, threshold, k, &nu);
}

double metric_recall_at_k(const ds_split *s, const double *pred, double threshold, int k)
{
    long nu;
    return rank_metric(RK_RECALL, s, pred, NULL, threshold, k, &nu);
}

double metric_map_at_k(const ds_split *s, const double *pred, double threshold, int k)
{
    long nu;
    return rank_metric(RK_MAP, s, pred, NULL, threshold, k, &nu);
}

/* ---------------------------------------------------------------- evaluation */

#define EVAL_K 10

/* Predictions for every pair of s (NULL on allocation failure); *finite = all finite. */
static double *predict_split(const est_method *m, const void *model, const ds_data *d,
                             const ds_split *s, int *finite)
{
    double *p = malloc((size_t)s->n * sizeof *p);
    if (!p)
        return NULL;
    m->predict(model, d, s->n, s->user, s->item, p);
    *finite = 1;
    for (long j = 0; j < s->n; j++)
        if (!isfinite(p[j])) {
            *finite = 0;
            break;
        }
    return p;
}

/* Adds a ranking metric: NaN for non-finite predictions, nothing when no user qualifies.
 * Returns -1 on allocation failure. */
static int add_rank(metric_set *out, const char *name, rank_kind kind, const ds_split *s,
                    const double *pred, int finite, const double *oracle, double threshold)
{
    if (!finite) {
        metrics_add(out, name, NAN);
        return 0;
    }
    long nu;
    int32_t *pu = NULL;
    double *pv = NULL;
    if (out->keep_per_user) {
        size_t n = (size_t)(s->n > 0 ? s->n : 1);
        pu = malloc(n * sizeof *pu);
        pv = malloc(n * sizeof *pv);
        if (!pu || !pv) {
            free(pu);
            free(pv);
            return -1;
        }
    }
    double v = rank_metric_pu(kind, s, pred, oracle, threshold, EVAL_K, &nu, pu, pv);
    int rc = nu == -2 ? -1 : 0;
    if (nu != 0 && nu != -2) {
        metrics_add(out, name, v);
        if (pu && nu > 0)
            rc = metrics_add_user_values(out, name, nu, pu, pv);
    }
    free(pu);
    free(pv);
    return rc;
}

/* The issue-15 metrics of a catalogue ranking (and the plain ones when plain = 1), with the
 * per-user values when asked; heldout = 1: the synthetic held-out-ratings names. 0 or -1. */
static int add_catalog(metric_set *out, const catalog_rank *cr, int plain, int heldout)
{
    if (cr->n_users <= 0)
        return 0;
    static const char *const real_names[CAT_PER_USER] = {
        "precision_at_10", "recall_at_10", "map_at_10", "ndcg_at_10",
        "pop_recall_at_10", "pop_ndcg_at_10", "calibrated_recall_at_10"};
    static const char *const heldout_names[CAT_PER_USER] = {
        "heldout_precision_at_10", "heldout_recall_at_10", "heldout_map_at_10",
        "heldout_ndcg_at_10", "heldout_pop_recall_at_10", "heldout_pop_ndcg_at_10",
        "heldout_calibrated_recall_at_10"};
    const char *const *names = heldout ? heldout_names : real_names;
    const double vals[CAT_PER_USER] = {cr->precision, cr->recall, cr->map, cr->ndcg,
                                       cr->pop_recall, cr->pop_ndcg, cr->calibrated_recall};
    for (int c = plain ? 0 : CAT_POP_RECALL; c < CAT_PER_USER; c++)
        metrics_add(out, names[c], vals[c]);
    if (!heldout) {   /* the exposure of the same top-k lists: once */
        metrics_add(out, "coverage_at_10", cr->coverage);
        metrics_add(out, "gini_exposure_at_10", cr->gini_exposure);
        metrics_add(out, "avg_rec_popularity_at_10", cr->avg_rec_popularity);
    }
    if (out->keep_per_user && cr->user)
        for (int c = plain ? 0 : CAT_POP_RECALL; c < CAT_PER_USER; c++)
            if (metrics_add_user_values(out, names[c], cr->n_users, cr->user, cr->per_user[c]) != 0)
                return -1;
    return 0;
}

static void add_err(metric_set *out, const char *name, double v, int finite)
{
    metrics_add(out, name, finite ? v : NAN);
}

int metrics_evaluate(const est_method *m, const void *model, const ds_data *d, metric_set *out)
{
    int rc = 0, fin;
    double *p;
    if (d->synthetic) {
        /* names added in the order of SPEC section 7 */
        const ds_split *c = &d->test_cold, *w = &d->test_warm;
        double *pc = NULL, *pw = NULL;
        int fc = 1, fw = 1;
        if (c->n > 0 && !(pc = predict_split(m, model, d, c, &fc)))
            return -1;
        if (w->n > 0 && !(pw = predict_split(m, model, d, w, &fw))) {
            free(pc);
            return -1;
        }
        if (pc && c->oracle)
            add_err(out, "excess_risk_cold", metric_mse(pc, c->oracle, c->n), fc);
        if (pw && w->oracle)
            add_err(out, "excess_risk_warm", metric_mse(pw, w->oracle, w->n), fw);
        if (pc)
            add_err(out, "rmse_cold", metric_rmse(pc, c->rating, c->n), fc);
        if (pw)
            add_err(out, "rmse_warm", metric_rmse(pw, w->rating, w->n), fw);
        if (pc)
            add_err(out, "mae_cold", metric_mae(pc, c->rating, c->n), fc);
        if (pw)
            add_err(out, "mae_warm", metric_mae(pw, w->rating, w->n), fw);
        if (pc && c->oracle) {
            /* ranked unclipped (estimator.h): with stars = 1 the methods clip to 1..5 */
            double *pr = pc;
            int fr = fc;
            if (d->rating_max > d->rating_min) {
                ds_data unclipped = *d;
                unclipped.rating_max = unclipped.rating_min;
                if (!(pr = predict_split(m, model, &unclipped, c, &fr))) {
                    free(pc);
                    free(pw);
                    return -1;
                }
            }
            rc |= add_rank(out, "ndcg_at_10", RK_NDCG, c, pr, fr, c->oracle, 0);
            rc |= add_rank(out, "recall_at_10", RK_RECALL_ORACLE, c, pr, fr, c->oracle, 0);
            rc |= add_rank(out, "regret_at_10", RK_REGRET, c, pr, fr, c->oracle, 0);
            if (pr != pc)
                free(pr);
        }
        free(pc);
        free(pw);
        /* issue 15: the warm catalogue ranked against the oracle's top 10 */
        catalog_opts co = {.pop_gamma = d->pop_gamma, .keep_per_user = out->keep_per_user};
        catalog_rank cr;
        if (rc == 0 && metrics_catalog_oracle(m, model, d, EVAL_K, &co, &cr) != 0)
            return -1;
        if (rc == 0) {
            rc |= add_catalog(out, &cr, 0, 0);
            catalog_rank_free(&cr);
        }
        /* and as on real data: held-out test_warm ratings >= the synthetic relevance threshold
         * (oracle_offset + mean R* + 1, one sd above the mean) are the relevant items */
        if (rc == 0 && w->n > 0 && d->truth && d->n_warm_items > 0) {
            double mean, var, kurt;
            synth_truth_stats(d->truth, &mean, &var, &kurt);
            co.n_cat = d->n_warm_items;
            co.max_pairs = CAT_ORACLE_PAIRS;
            if (metrics_catalog_rank_opts(m, model, d, w, d->oracle_offset + mean + 1.0, EVAL_K,
                                          &co, &cr) != 0)
                return -1;
            rc |= add_catalog(out, &cr, 1, 1);
            catalog_rank_free(&cr);
        }
    } else {
        const ds_split *w = &d->test_warm, *c = &d->test_cold;
        if (w->n > 0) {
            if (!(p = predict_split(m, model, d, w, &fin)))
                return -1;
            add_err(out, "rmse", metric_rmse(p, w->rating, w->n), fin);
            add_err(out, "mae", metric_mae(p, w->rating, w->n), fin);
            free(p);
            /* ranking over the whole catalogue (metrics_catalog.c) */
            catalog_opts co = {.pop_gamma = d->pop_gamma, .keep_per_user = out->keep_per_user};
            catalog_rank cr;
            if (metrics_catalog_rank_opts(m, model, d, w, d->relevance_threshold, EVAL_K, &co,
                                          &cr) != 0)
                return -1;
            rc = add_catalog(out, &cr, 1, 0);
            catalog_rank_free(&cr);
            if (rc != 0)
                return -1;
        }
        if (c->n > 0) {
            if (!(p = predict_split(m, model, d, c, &fin)))
                return -1;
            add_err(out, "rmse_cold", metric_rmse(p, c->rating, c->n), fin);
            add_err(out, "mae_cold", metric_mae(p, c->rating, c->n), fin);
            free(p);
        }
    }
    /* the valid split's RMSE: what hyperparameters are tuned on (never the test splits) */
    if (rc == 0 && d->valid.n > 0) {
        if (!(p = predict_split(m, model, d, &d->valid, &fin)))
            return -1;
        add_err(out, "rmse_valid", metric_rmse(p, d->valid.rating, d->valid.n), fin);
        free(p);
    }
    return rc ? -1 : 0;
}
