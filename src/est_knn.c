/* est_knn.c — the `knn` method: memory-based collaborative filtering (user- or item-based
 * neighbourhoods), with Surprise's KNNBasic / KNNWithMeans / KNNBaseline predictions.
 *
 * Notation (based = user: x = users, y = items; based = item: x = items, y = users). For a
 * pair (u, i) with x, y its two sides, N = the x' that rated y in training with sim(x, x') > 0,
 * of which the k most similar are kept (N_k; ties by the lower entity row); actual_k = |N_k|:
 *   prediction = basic     r_hat = sum_{N_k} sim r_x'y / sum_{N_k} sim
 *                          (actual_k < min_k: the global mean mu, as Surprise's
 *                          PredictionImpossible default)
 *   prediction = means     r_hat = mu_x + sum_{N_k} sim (r_x'y - mu_x') / sum_{N_k} sim
 *                          (mu_x = mean training rating of x; actual_k < min_k: mu_x)
 *   prediction = baseline  r_hat = b_ui + sum_{N_k} sim (r_x'y - b_x'y) / sum_{N_k} sim
 *                          (b_ui = mu + b_u + b_i; actual_k < min_k: b_ui)
 * Similarities (similarity = cosine | msd | pearson | pearson_baseline | jaccard, min_support,
 * shrinkage): knn_sim.h; pearson_baseline uses the residuals r - b_ui. The baselines b_u, b_i
 * (prediction = baseline or similarity = pearson_baseline) are Surprise's ALS: starting at 0,
 * `baseline_epochs` times: every item b_i = sum_{u in U(i)} (r_ui - mu - b_u) / (reg_i + |U(i)|),
 * then every user b_u = sum_{i in I(u)} (r_ui - mu - b_i) / (reg_u + |I(u)|).
 *
 * Unseen users/items (no training rating, or rows past the tables): basic and means predict mu
 * (Surprise's default prediction), baseline predicts mu + the biases that exist (b_u of a seen
 * user, b_i of a seen item). curves->n_fallback counts the test_warm + test_cold pairs that
 * fell back so; the note also counts the pairs with fewer than min_k neighbours. Predictions
 * are clipped to [rating_min, rating_max] when rating_max > rating_min (real data).
 *
 * k-shot users (kshot.h): a user with no training rating but revealed pairs in d->reveal
 * (those whose item has training ratings) uses them as the user's rating vector. Item-based:
 * the neighbourhood of the target item i is the revealed items, sim(i, j) from the item-item
 * matrix, val = r_uj minus the offset of the prediction mode. User-based: the similarities
 * of u to every training user over the co-rated revealed items, computed at fit time (the
 * same measure, min_support and shrinkage; knn_pair_similarity), then the usual neighbourhood
 * of the raters of i. means: mu_u = the mean revealed rating (user-based); baseline and
 * pearson_baseline: b_u = sum (r_uj - mu - b_j) / (reg_u + n), the shrunk user half-step of
 * est_baseline.c. docs/design.md (knn).
 *
 * Any (u, i) can be scored (the full-catalogue ranking metrics score every item for every
 * user): one gather of sim(x, .) at the raters of y, a partial selection (quickselect) of the
 * k largest when more than k are positive, one pass to sum. Memory: the similarity matrix
 * (n_x^2 floats over the x with training ratings) and the training ratings grouped by y;
 * knn_memory_bytes lets the config check refuse sizes that do not fit.
 */
#include "estimator.h"
#include "knn_sim.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const param_spec knn_params[] = {
    {"based", PT_ENUM, "user", 0, 0, "user|item", "user: neighbours are users who rated the item; item: items the user rated"},
    {"similarity", PT_ENUM, "msd", 0, 0, "cosine|msd|pearson|pearson_baseline|jaccard",
     "similarity of two users (items) over their co-rated items (users); docs/design.md"},
    {"k", PT_INT, "40", 1, 1000000000, NULL, "most neighbours used in a prediction"},
    {"min_k", PT_INT, "1", 0, 1000000000, NULL,
     "fewer positive-similarity neighbours than this: the prediction falls back (basic: mu; means: the mean of x; baseline: b_ui)"},
    {"prediction", PT_ENUM, "basic", 0, 0, "basic|means|baseline",
     "Surprise's KNNBasic (weighted mean) | KNNWithMeans (mean-centred) | KNNBaseline (baseline-centred)"},
    {"min_support", PT_INT, "1", 0, 1000000000, NULL,
     "similarity 0 for pairs with fewer co-ratings (pearson_baseline: at least 2)"},
    {"shrinkage", PT_REAL, "100", 0, 1e12, NULL,
     "pearson_baseline: the correlation is multiplied by (n - 1) / (n - 1 + shrinkage), n co-ratings"},
    {"reg_u", PT_REAL, "15", 0, 1e12, NULL, "baseline ALS: L2 penalty of the user biases (prediction = baseline, similarity = pearson_baseline)"},
    {"reg_i", PT_REAL, "10", 0, 1e12, NULL, "baseline ALS: L2 penalty of the item biases"},
    {"baseline_epochs", PT_INT, "10", 1, 1000000, NULL, "baseline ALS: sweeps (items, then users)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

enum { PRED_BASIC, PRED_MEANS, PRED_BASELINE };

/* The parsed keys of [method.knn]: filled once by knn_parse. */
typedef struct {
    int item_based, pred, k, min_k, min_support, bsl_epochs;
    knn_sim_kind sim;
    double shrinkage, reg_u, reg_i;
} knn_param;

/* NULL when kv is valid (p filled), else a message and *bad_key. */
static const char *knn_parse(const kvset *kv, knn_param *p, const char **bad_key)
{
    const char *bad = param_check_table(knn_params, kv, bad_key);
    if (bad)
        return bad;
    const param_spec *T = knn_params;
    static const char *const sims[] = {"cosine", "msd", "pearson", "pearson_baseline", "jaccard"};
    static const knn_sim_kind kinds[] = {KNN_COSINE, KNN_MSD, KNN_PEARSON, KNN_PEARSON_BASELINE,
                                         KNN_JACCARD};
    const char *s = param_str(T, kv, "similarity"), *pr = param_str(T, kv, "prediction");
    p->sim = KNN_MSD;
    for (int q = 0; q < 5; q++)
        if (strcmp(s, sims[q]) == 0)
            p->sim = kinds[q];
    p->item_based = strcmp(param_str(T, kv, "based"), "item") == 0;
    p->pred = strcmp(pr, "means") == 0 ? PRED_MEANS : strcmp(pr, "baseline") == 0 ? PRED_BASELINE
                                                                                  : PRED_BASIC;
    p->k = (int)param_int(T, kv, "k");
    p->min_k = (int)param_int(T, kv, "min_k");
    p->min_support = (int)param_int(T, kv, "min_support");
    p->bsl_epochs = (int)param_int(T, kv, "baseline_epochs");
    p->shrinkage = param_real(T, kv, "shrinkage");
    p->reg_u = param_real(T, kv, "reg_u");
    p->reg_i = param_real(T, kv, "reg_i");
    if (p->min_k > p->k) {
        *bad_key = "min_k";
        return "min_k must not exceed k (no prediction could use its neighbours)";
    }
    return NULL;
}

static const char *knn_check_parameter(const kvset *params, const char **bad_key)
{
    knn_param p;
    return knn_parse(params, &p, bad_key);
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    int item_based, pred, k, min_k;
    int n_users, n_items;
    double mu;
    long *nu, *ni;               /* training ratings per entity (0 = unseen) */
    double *bu, *bi;             /* baselines (prediction = baseline), else NULL */
    int n_x, n_xc, n_y;          /* x rows, x with ratings (compact), y rows */
    int32_t *xmap;               /* x row -> compact index, -1 = unseen */
    double *xmean;               /* compact x -> mean rating (prediction = means), else NULL */
    float *sim;                  /* n_xc x n_xc */
    long *off;                   /* ratings by y: off[y] .. off[y+1) */
    int32_t *nbx;                /* their compact x */
    float *val;                  /* r - offset of the prediction mode (0, mu_x', b_x'y) */
    long max_deg;                /* largest off[y+1] - off[y] (and revealed list) */
    /* k-shot users (NULL when d->reveal has no usable pair) */
    long *rv_off;                /* n_users + 1: revealed pairs of u: rv_off[u] .. rv_off[u+1) */
    int32_t *rv_nbx;             /* item-based: their compact items, by increasing index */
    float *rv_val;               /* item-based: r - offset of the prediction mode */
    double *rv_mean;             /* n_users: mean revealed rating (user-based means) */
    int32_t *rmap;               /* user-based: user -> row of rsim, -1 = none */
    float *rsim;                 /* user-based: n_rv x n_xc similarities to training users */
} knn_model;

static void knn_free(void *p)
{
    knn_model *m = p;
    if (!m)
        return;
    free(m->nu);
    free(m->ni);
    free(m->bu);
    free(m->bi);
    free(m->xmap);
    free(m->xmean);
    free(m->sim);
    free(m->off);
    free(m->nbx);
    free(m->val);
    free(m->rv_off);
    free(m->rv_nbx);
    free(m->rv_val);
    free(m->rv_mean);
    free(m->rmap);
    free(m->rsim);
    free(m);
}

/* The k-th largest of a[0..n) (0 < k <= n); a is reordered (Hoare quickselect). */
static float kth_largest(float *a, long n, long k)
{
    long lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float piv = a[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] > piv)
                i++;
            while (a[j] < piv)
                j--;
            if (i <= j) {
                float t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        /* a[lo..j] >= piv, a[i..hi] <= piv, entries between equal piv */
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return piv;
    }
    return a[want];
}

enum { KNN_OK = 0, KNN_UNSEEN = 1, KNN_FEW = 2 };

/* 1 when u is a k-shot user: no training rating, revealed pairs on trained items. */
static int is_rv(const knn_model *m, int32_t u)
{
    return m->rv_off && u >= 0 && u < m->n_users && m->nu[u] == 0 &&
           m->rv_off[u + 1] > m->rv_off[u];
}

/* The fallback / starting value of (u, i) into *base: mu (basic), mu_x (means; mu for an
 * unseen x), mu + the known biases (baseline). 1 when both u and i were seen in training. */
static int knn_base(const knn_model *m, int32_t u, int32_t i, double *base)
{
    int rv = is_rv(m, u);
    int su = (u >= 0 && u < m->n_users && m->nu[u] > 0) || rv;
    int si = i >= 0 && i < m->n_items && m->ni[i] > 0;
    *base = m->mu;
    if (m->pred == PRED_BASELINE)
        *base += (su ? m->bu[u] : 0) + (si ? m->bi[i] : 0);   /* k-shot: the shrunk b_u */
    if (m->pred == PRED_MEANS && su && si)
        *base = rv && !m->item_based ? m->rv_mean[u] : m->xmean[m->xmap[m->item_based ? i : u]];
    return su && si;
}

/* The neighbourhood term from the similarities s[0..deg) of the raters of y to x (listed by
 * increasing x', so "ties at the k-th similarity go to the lower x'" is "the first met") and
 * their offset ratings val: one pass sums every positive neighbour; only when there are more
 * than k, the k-th largest similarity t is found (quickselect on a copy in buf) and a second
 * pass sums those above t and the first (k - #above) equal to t. The prediction from base:
 * *how = KNN_OK, or KNN_FEW (fewer than min_k, or no, neighbours: base). */
static double knn_combine(const knn_model *m, double base, const float *s, const float *val,
                          long deg, float *buf, int *how)
{
    long n = 0;
    double ss = 0, sv = 0;
    for (long q = 0; q < deg; q++) {   /* branch-free: the signs are not predictable */
        float w = fmaxf(s[q], 0.0f);   /* maxss, no branch */
        buf[n] = s[q];
        n += s[q] > 0;
        ss += w;
        sv += (double)w * val[q];
    }
    if (n > m->k) {
        float t = kth_largest(buf, n, m->k);
        long above = 0;
        for (long q = 0; q < n; q++)
            above += buf[q] > t;
        long ties = m->k - above;
        ss = sv = 0;
        for (long q = 0; q < deg; q++)
            if (s[q] > t || (s[q] == t && ties-- > 0)) {
                ss += s[q];
                sv += (double)s[q] * val[q];
            }
        n = m->k;
    }
    if (n < m->min_k || n == 0) {
        *how = KNN_FEW;
        return base;   /* basic: mu */
    }
    *how = KNN_OK;
    return m->pred == PRED_BASIC ? sv / ss : base + sv / ss;
}

/* Prediction before clipping; *how = KNN_OK, KNN_UNSEEN (user or item unseen) or KNN_FEW.
 * S and buf hold max_deg floats each. */
static double knn_raw(const knn_model *m, int32_t u, int32_t i, float *S, float *buf, int *how)
{
    double base;
    if (!knn_base(m, u, i, &base)) {
        *how = KNN_UNSEEN;
        return base;
    }
    if (is_rv(m, u) && m->item_based) {   /* neighbourhood of i = the revealed items */
        const float *row = m->sim + (size_t)m->xmap[i] * (size_t)m->n_xc;
        const int32_t *nbx = m->rv_nbx + m->rv_off[u];
        long deg = m->rv_off[u + 1] - m->rv_off[u];
        for (long q = 0; q < deg; q++)
            S[q] = row[nbx[q]];
        return knn_combine(m, base, S, m->rv_val + m->rv_off[u], deg, buf, how);
    }
    int32_t x = m->item_based ? i : u, y = m->item_based ? u : i;
    const float *row = is_rv(m, u) ? m->rsim + (size_t)m->rmap[u] * (size_t)m->n_xc
                                   : m->sim + (size_t)m->xmap[x] * (size_t)m->n_xc;
    const int32_t *nbx = m->nbx + m->off[y];
    long deg = m->off[y + 1] - m->off[y];
    for (long q = 0; q < deg; q++)
        S[q] = row[nbx[q]];
    return knn_combine(m, base, S, m->val + m->off[y], deg, buf, how);
}

#define KNN_TILE 16   /* item-based: consecutive items of one user scored together */

/* Item-based: how many of the pairs from k on (at most KNN_TILE) are one seen user with
 * consecutive seen items of consecutive compact rows (the catalogue metrics' order). */
static int tile_length(const knn_model *m, long n, const int32_t *u, const int32_t *i, long k)
{
    if (!m->item_based || u[k] < 0 || u[k] >= m->n_users || m->nu[u[k]] == 0 || i[k] < 0 ||
        i[k] >= m->n_items || m->xmap[i[k]] < 0)
        return 1;
    int c = 1;
    while (c < KNN_TILE && k + c < n && u[k + c] == u[k] && i[k + c] == i[k] + c &&
           i[k + c] < m->n_items && m->xmap[i[k + c]] == m->xmap[i[k]] + c)
        c++;
    return c;
}

static void knn_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                        const int32_t *i, double *out)
{
    const knn_model *m = model;
    int clip = d->rating_max > d->rating_min;
    size_t deg1 = (size_t)(m->max_deg > 0 ? m->max_deg : 1);
    float *S = malloc((size_t)KNN_TILE * deg1 * sizeof *S), *buf = malloc(deg1 * sizeof *buf);
    for (long k = 0; k < n;) {
        int T = S && buf ? tile_length(m, n, u, i, k) : 1, how;
        if (!S || !buf) {
            out[k++] = NAN;   /* out of memory */
            continue;
        }
        if (T == 1) {
            out[k] = knn_raw(m, u[k], i[k], S, buf, &how);
        } else {
            /* sim(x, x') = sim(x', x): the T targets' similarities to one rater x' are T
             * neighbouring floats of row x', read together */
            int32_t y = u[k];
            const int32_t *nbx = m->nbx + m->off[y];
            long deg = m->off[y + 1] - m->off[y];
            size_t xc0 = (size_t)m->xmap[i[k]];
            for (long q = 0; q < deg; q++) {
                const float *p = m->sim + (size_t)nbx[q] * (size_t)m->n_xc + xc0;
                for (int c = 0; c < T; c++)
                    S[(size_t)c * deg + q] = p[c];
            }
            for (int c = 0; c < T; c++) {
                double base;
                knn_base(m, u[k + c], i[k + c], &base);
                out[k + c] = knn_combine(m, base, S + (size_t)c * deg, m->val + m->off[y], deg,
                                         buf, &how);
            }
        }
        for (int c = 0; c < T; c++) {
            double p = out[k + c];
            if (clip)
                out[k + c] = p < d->rating_min ? d->rating_min : p > d->rating_max ? d->rating_max : p;
        }
        k += T;
    }
    free(S);
    free(buf);
}

/* Pairs of s that fell back because an entity is unseen (*unseen) or had < min_k neighbours. */
static void count_fallback(const knn_model *m, const ds_split *s, float *S, float *buf,
                           long *unseen, long *few)
{
    *unseen = *few = 0;
    for (long k = 0; k < s->n; k++) {
        int how;
        knn_raw(m, s->user[k], s->item[k], S, buf, &how);
        *unseen += how == KNN_UNSEEN;
        *few += how == KNN_FEW;
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Surprise's ALS baselines (items first, then users, each sweep), into m->bu, m->bi. */
static void fit_baselines(knn_model *m, const ds_split *tr, const knn_param *p, double *acc_u,
                          double *acc_i)
{
    for (int e = 0; e < p->bsl_epochs; e++) {
        memset(acc_i, 0, (size_t)m->n_items * sizeof *acc_i);
        for (long q = 0; q < tr->n; q++)
            acc_i[tr->item[q]] += tr->rating[q] - m->mu - m->bu[tr->user[q]];
        for (int i = 0; i < m->n_items; i++)
            m->bi[i] = m->ni[i] > 0 ? acc_i[i] / (p->reg_i + (double)m->ni[i]) : 0;
        memset(acc_u, 0, (size_t)m->n_users * sizeof *acc_u);
        for (long q = 0; q < tr->n; q++)
            acc_u[tr->user[q]] += tr->rating[q] - m->mu - m->bi[tr->item[q]];
        for (int u = 0; u < m->n_users; u++)
            m->bu[u] = m->nu[u] > 0 ? acc_u[u] / (p->reg_u + (double)m->nu[u]) : 0;
    }
}

/* k-shot users (kshot.h; see the top comment): their revealed pairs on trained items, the
 * shrunk b_u (baselines), the mean (user-based means), the offset values (item-based) or the
 * similarities to the training users (user-based; simval: the training values by item, as
 * the similarity saw them). The number of such users, or -1 when memory ran out. */
static long knn_add_revealed(knn_model *m, const ds_data *d, const knn_param *p,
                             const float *simval)
{
    const ds_split *rv = &d->reveal;
    if (rv->n <= 0)
        return 0;
    int nU = m->n_users;
    long *cur = NULL;
    int32_t *item = NULL;
    double *rat = NULL, *acc = NULL;
    long n_rv = 0;
    m->rv_off = calloc((size_t)nU + 1, sizeof *m->rv_off);
    if (!m->rv_off)
        return -1;
#define RV_OK(k)                                                                               \
    (rv->user[k] >= 0 && rv->user[k] < nU && m->nu[rv->user[k]] == 0 && rv->item[k] >= 0 &&   \
     rv->item[k] < m->n_items && m->ni[rv->item[k]] > 0 && isfinite(rv->rating[k]))
    for (long k = 0; k < rv->n; k++)
        if (RV_OK(k))
            m->rv_off[rv->user[k] + 1]++;
    for (int u = 0; u < nU; u++) {
        n_rv += m->rv_off[u + 1] > 0;
        if (m->rv_off[u + 1] > m->max_deg)
            m->max_deg = m->rv_off[u + 1];
        m->rv_off[u + 1] += m->rv_off[u];
    }
    long tot = m->rv_off[nU];
    if (tot == 0) {
        free(m->rv_off);
        m->rv_off = NULL;
        return 0;
    }
    cur = malloc((size_t)nU * sizeof *cur);
    item = malloc((size_t)tot * sizeof *item);
    rat = malloc((size_t)tot * sizeof *rat);
    if (!cur || !item || !rat)
        goto oom;
    memcpy(cur, m->rv_off, (size_t)nU * sizeof *cur);
    for (long k = 0; k < rv->n; k++)
        if (RV_OK(k)) {
            long at = cur[rv->user[k]]++;
            item[at] = rv->item[k];
            rat[at] = rv->rating[k];
        }
#undef RV_OK
    for (int u = 0; u < nU; u++)   /* each user's list by increasing item (tie order) */
        for (long a = m->rv_off[u] + 1; a < m->rv_off[u + 1]; a++)
            for (long b = a; b > m->rv_off[u] && item[b - 1] > item[b]; b--) {
                int32_t ti = item[b];
                double tr = rat[b];
                item[b] = item[b - 1];
                rat[b] = rat[b - 1];
                item[b - 1] = ti;
                rat[b - 1] = tr;
            }
    for (int u = 0; u < nU; u++) {
        long a0 = m->rv_off[u], a1 = m->rv_off[u + 1];
        if (a1 == a0)
            continue;
        if (m->bu) {   /* the shrunk bias of est_baseline.c's k-shot handling */
            double s = 0;
            for (long a = a0; a < a1; a++)
                s += rat[a] - m->mu - m->bi[item[a]];
            m->bu[u] = s / (p->reg_u + (double)(a1 - a0));
        }
    }
    if (p->pred == PRED_MEANS && !m->item_based) {
        m->rv_mean = calloc((size_t)nU + 1, sizeof *m->rv_mean);
        if (!m->rv_mean)
            goto oom;
        for (int u = 0; u < nU; u++)
            if (m->rv_off[u + 1] > m->rv_off[u]) {
                double s = 0;
                for (long a = m->rv_off[u]; a < m->rv_off[u + 1]; a++)
                    s += rat[a];
                m->rv_mean[u] = s / (double)(m->rv_off[u + 1] - m->rv_off[u]);
            }
    }
    if (m->item_based) {
        m->rv_nbx = malloc((size_t)tot * sizeof *m->rv_nbx);
        m->rv_val = malloc((size_t)tot * sizeof *m->rv_val);
        if (!m->rv_nbx || !m->rv_val)
            goto oom;
        for (int u = 0; u < nU; u++)
            for (long a = m->rv_off[u]; a < m->rv_off[u + 1]; a++) {
                int32_t j = item[a];
                m->rv_nbx[a] = m->xmap[j];
                m->rv_val[a] = (float)(p->pred == PRED_MEANS ? rat[a] - m->xmean[m->xmap[j]]
                                       : p->pred == PRED_BASELINE ? rat[a] - (m->mu + m->bu[u] + m->bi[j])
                                                                  : rat[a]);
            }
    } else {
        /* sums over the co-rated revealed items: f, p, sum a^2, sum b^2, sum a, sum b */
        int nx = m->n_xc;
        m->rmap = malloc((size_t)nU * sizeof *m->rmap);
        m->rsim = malloc((size_t)n_rv * (size_t)(nx > 0 ? nx : 1) * sizeof *m->rsim);
        acc = malloc((size_t)7 * (size_t)(nx > 0 ? nx : 1) * sizeof *acc);
        if (!m->rmap || !m->rsim || !acc)
            goto oom;
        double *F = acc, *P = F + nx, *SA = P + nx, *SB = SA + nx, *TA = SB + nx, *TB = TA + nx,
               *NB = TB + nx;
        for (int v = 0; v < nU; v++)
            if (m->xmap[v] >= 0)
                NB[m->xmap[v]] = (double)m->nu[v];
        int row = 0;
        for (int u = 0; u < nU; u++) {
            m->rmap[u] = -1;
            long a0 = m->rv_off[u], a1 = m->rv_off[u + 1];
            if (a1 == a0)
                continue;
            memset(acc, 0, (size_t)6 * (size_t)nx * sizeof *acc);
            for (long a = a0; a < a1; a++) {
                int32_t j = item[a];
                double va = p->sim == KNN_PEARSON_BASELINE ? rat[a] - (m->mu + m->bu[u] + m->bi[j])
                                                           : rat[a];
                for (long e = m->off[j]; e < m->off[j + 1]; e++) {
                    int32_t v = m->nbx[e];
                    double vb = simval[e];
                    F[v] += 1;
                    P[v] += va * vb;
                    SA[v] += va * va;
                    SB[v] += vb * vb;
                    TA[v] += va;
                    TB[v] += vb;
                }
            }
            float *out = m->rsim + (size_t)row * (size_t)nx;
            for (int v = 0; v < nx; v++)
                out[v] = (float)knn_pair_similarity(p->sim, F[v], P[v], SA[v], SB[v], TA[v], TB[v],
                                                    (double)(a1 - a0), NB[v], p->min_support,
                                                    p->shrinkage);
            m->rmap[u] = row++;
        }
    }
    free(cur);
    free(item);
    free(rat);
    free(acc);
    return n_rv;
oom:
    free(cur);
    free(item);
    free(rat);
    free(acc);
    return -1;
}

static void *knn_train(const est_fit_ctx *ctx)
{
    const ds_data *d = ctx->data;
    const ds_split *tr = &d->train;
    double t0 = now_seconds();
    knn_param prm;
    const char *bad = NULL, *msg = knn_parse(ctx->params, &prm, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "knn: %s: %s", bad ? bad : "?", msg);
        return NULL;
    }
    if (tr->n <= 0) {
        snprintf(ctx->err, ctx->errlen, "knn: the training split is empty");
        return NULL;
    }
    for (long q = 0; q < tr->n; q++)
        if (tr->user[q] < 0 || tr->user[q] >= d->n_users || tr->item[q] < 0 ||
            tr->item[q] >= d->n_items || !isfinite(tr->rating[q])) {
            snprintf(ctx->err, ctx->errlen, "knn: training pair %ld is out of range or not finite", q);
            return NULL;
        }

    knn_model *m = calloc(1, sizeof *m);
    double *acc_u = NULL, *acc_i = NULL;
    float *simval = NULL;
    long *fill = NULL, *xorder = NULL, *xoff = NULL;
    float *buf = NULL, *S = NULL;
    int ok = 0;
    if (!m)
        goto oom;
    m->item_based = prm.item_based;
    m->pred = prm.pred;
    m->k = prm.k;
    m->min_k = prm.min_k;
    m->n_users = d->n_users;
    m->n_items = d->n_items;
    m->n_x = prm.item_based ? d->n_items : d->n_users;
    m->n_y = prm.item_based ? d->n_users : d->n_items;
    m->nu = calloc((size_t)d->n_users + 1, sizeof *m->nu);
    m->ni = calloc((size_t)d->n_items + 1, sizeof *m->ni);
    if (!m->nu || !m->ni)
        goto oom;
    double s = 0;
    for (long q = 0; q < tr->n; q++) {
        s += tr->rating[q];
        m->nu[tr->user[q]]++;
        m->ni[tr->item[q]]++;
    }
    m->mu = s / (double)tr->n;

    int need_bsl = prm.pred == PRED_BASELINE || prm.sim == KNN_PEARSON_BASELINE;
    if (need_bsl) {
        m->bu = calloc((size_t)d->n_users + 1, sizeof *m->bu);
        m->bi = calloc((size_t)d->n_items + 1, sizeof *m->bi);
        acc_u = malloc(((size_t)d->n_users + 1) * sizeof *acc_u);
        acc_i = malloc(((size_t)d->n_items + 1) * sizeof *acc_i);
        if (!m->bu || !m->bi || !acc_u || !acc_i)
            goto oom;
        fit_baselines(m, tr, &prm, acc_u, acc_i);
    }

    /* compact x indices, per-x means */
    const int32_t *xs = prm.item_based ? tr->item : tr->user;
    const int32_t *ys = prm.item_based ? tr->user : tr->item;
    const long *nx_cnt = prm.item_based ? m->ni : m->nu;
    m->xmap = malloc(((size_t)m->n_x + 1) * sizeof *m->xmap);
    if (!m->xmap)
        goto oom;
    for (int x = 0; x < m->n_x; x++)
        m->xmap[x] = nx_cnt[x] > 0 ? m->n_xc++ : -1;
    if (prm.pred == PRED_MEANS) {
        m->xmean = calloc((size_t)m->n_xc + 1, sizeof *m->xmean);
        if (!m->xmean)
            goto oom;
        for (long q = 0; q < tr->n; q++)
            m->xmean[m->xmap[xs[q]]] += tr->rating[q];
        for (int x = 0; x < m->n_x; x++)
            if (m->xmap[x] >= 0)
                m->xmean[m->xmap[x]] /= (double)nx_cnt[x];
    }

    /* the training ratings grouped by y */
    m->off = calloc((size_t)m->n_y + 1, sizeof *m->off);
    m->nbx = malloc((size_t)tr->n * sizeof *m->nbx);
    m->val = malloc((size_t)tr->n * sizeof *m->val);
    simval = malloc((size_t)tr->n * sizeof *simval);
    fill = calloc((size_t)m->n_y + 1, sizeof *fill);
    if (!m->off || !m->nbx || !m->val || !simval || !fill)
        goto oom;
    for (long q = 0; q < tr->n; q++)
        m->off[ys[q] + 1]++;
    for (int y = 0; y < m->n_y; y++) {
        if (m->off[y + 1] > m->max_deg)
            m->max_deg = m->off[y + 1];
        m->off[y + 1] += m->off[y];
    }
    /* visit the pairs by increasing x (counting sort), so every y lists its raters by x */
    xorder = malloc((size_t)tr->n * sizeof *xorder);
    xoff = calloc((size_t)m->n_x + 1, sizeof *xoff);
    if (!xorder || !xoff)
        goto oom;
    for (long q = 0; q < tr->n; q++)
        xoff[xs[q] + 1]++;
    for (int x = 0; x < m->n_x; x++)
        xoff[x + 1] += xoff[x];
    for (long q = 0; q < tr->n; q++)
        xorder[xoff[xs[q]]++] = q;
    for (long o = 0; o < tr->n; o++) {
        long q = xorder[o];
        int32_t x = xs[q], y = ys[q];
        long at = m->off[y] + fill[y]++;
        double r = tr->rating[q], bxy = need_bsl ? m->mu + m->bu[tr->user[q]] + m->bi[tr->item[q]] : 0;
        m->nbx[at] = m->xmap[x];
        m->val[at] = (float)(prm.pred == PRED_MEANS      ? r - m->xmean[m->xmap[x]]
                             : prm.pred == PRED_BASELINE ? r - bxy
                                                         : r);
        simval[at] = (float)(prm.sim == KNN_PEARSON_BASELINE ? r - bxy : r);
    }
    knn_csr c = {.n_x = m->n_xc, .n_y = m->n_y, .off = m->off, .x = m->nbx, .v = simval};
    m->sim = knn_similarity(&c, prm.sim, prm.min_support, prm.shrinkage, ctx->err, ctx->errlen);
    if (!m->sim)
        goto done;
    long n_revealed = knn_add_revealed(m, d, &prm, simval);
    if (n_revealed < 0)
        goto oom;

    est_curves *cv = ctx->curves;
    cv->epochs_run = 0;
    cv->best_epoch = 0;
    cv->stopped_by[0] = '\0';
    buf = malloc((size_t)(m->max_deg > 0 ? m->max_deg : 1) * sizeof *buf);
    S = malloc((size_t)(m->max_deg > 0 ? m->max_deg : 1) * sizeof *S);
    if (!buf || !S)
        goto oom;
    double fit_s = now_seconds() - t0;
    long uw, fw, uc, fc;
    count_fallback(m, &d->test_warm, S, buf, &uw, &fw);
    count_fallback(m, &d->test_cold, S, buf, &uc, &fc);
    cv->n_fallback = uw + uc;
    static const char *const simname[] = {"cosine", "msd", "pearson", "pearson_baseline", "jaccard"};
    static const char *const predname[] = {"basic", "means", "baseline"};
    snprintf(cv->note, sizeof cv->note,
             "knn %s-based %s k=%d min_k=%d prediction=%s, %d x %d similarities, fit %.3f s; "
             "unseen user/item -> %s: %ld test_warm + %ld test_cold; fewer than min_k "
             "neighbours: %ld + %ld; %ld k-shot users use their revealed ratings",
             prm.item_based ? "item" : "user", simname[prm.sim], prm.k, prm.min_k,
             predname[prm.pred], m->n_xc, m->n_xc, fit_s,
             prm.pred == PRED_BASELINE ? "mu+b_u+b_i (known ones)" : "mu", uw, uc, fw, fc,
             n_revealed);
    ok = 1;
    goto done;
oom:
    snprintf(ctx->err, ctx->errlen, "knn: out of memory");
done:
    free(acc_u);
    free(acc_i);
    free(simval);
    free(fill);
    free(xorder);
    free(xoff);
    free(buf);
    free(S);
    if (!ok) {
        knn_free(m);
        return NULL;
    }
    return m;
}

/* Bytes a fit needs: the similarity sums and matrix over every entity of the based side (an
 * upper bound: only entities with ratings are kept), the block, the grouped ratings. */
static double knn_memory_bytes(const kvset *kv, const est_shape *sh)
{
    knn_param p;
    const char *bad = NULL;
    if (knn_parse(kv, &p, &bad))
        return 0;
    double nx = p.item_based ? sh->n_items : sh->n_users, ny = p.item_based ? sh->n_users : sh->n_items;
    return knn_sim_bytes(p.sim, nx, ny) + 24.0 * sh->n_train + 32.0 * (nx + ny);
}

/* shrinkage shapes pearson_baseline only */
static const param_condition knn_conditions[] = {
    {"shrinkage", "similarity", "pearson_baseline"},
    {NULL, NULL, NULL},
};

const est_method est_knn = {
    .name = "knn",
    .params = knn_params,
    .conditions = knn_conditions,
    .cold_capable = 0,
    .needs_truth = 0,
    .check_parameter = knn_check_parameter,
    .train = knn_train,
    .predict = knn_predict,
    .free_model = knn_free,
    .memory_bytes = knn_memory_bytes,
};
