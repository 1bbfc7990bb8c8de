/* est_mf.c — the `mf` method: biased matrix factorisation
 *     R_hat(u, i) = mu + b_u + b_i + <p_u, q_i>,   p_u, q_i in R^rank,
 * fitted by alternating least squares (`solver = als`) or by Funk/Surprise-style stochastic
 * gradient descent (`solver = sgd`). mu is the mean training rating (fixed).
 *
 * Objective (both solvers minimise the same one):
 *     sum_{(u,i) in train} (r_ui - R_hat(u,i))^2
 *       + sum_u w_u (reg |p_u|^2 + reg_bias b_u^2) + sum_i w_i (reg |q_i|^2 + reg_bias b_i^2)
 * with w_e = n_e (the entity's number of training ratings) when `reg_scale = count` (the default:
 * the weighted-lambda ALS of Zhou et al. 2008, and exactly what per-observation SGD penalties
 * minimise), or w_e = 1 when `reg_scale = none`. The default is count, so that `reg` means what
 * it means in Surprise's SVD (a per-rating penalty) for both solvers. On MovieLens 100K, tuned on
 * the valid split (tests/test_mf.c header), the two scalings tie: best mean valid RMSE 0.9152
 * (none, rank 16, reg 15, reg_bias 2) vs 0.9165 (count, rank 64, reg 0.12, reg_bias 0.05) for
 * ALS; none reaches it at a 4x smaller rank, and is what the tuned ALS config uses.
 *
 * ALS: each epoch is a user half-step then an item half-step. The user half-step solves, for
 * every user u with training ratings, the (rank+1) x (rank+1) ridge system for [b_u, p_u] with
 * the item side's [1, q_i] as regressors and r_ui - mu - b_i as targets: A = Z^T Z through
 * cblas_dsyrk, Z^T y through cblas_dgemv, then LAPACK dposv (Cholesky). Items symmetrically. Each
 * half-step is the exact minimiser of the objective over its block, so the objective never
 * increases. With reg = 0 (or reg_bias = 0) a system that turns out singular (fewer ratings
 * than rank+1) is solved again with a tiny ridge (1e-10 * its mean diagonal).
 * SGD: per epoch, the training pairs in a fresh shuffled order (GSL mt19937 seeded with the fit
 * seed); for each, e = r - R_hat and
 *     b_u += lr (e - c_u reg_bias b_u),  b_i += lr (e - c_i reg_bias b_i),
 *     p_u += lr (e q_i - c_u reg p_u),   q_i += lr (e p_u(old) - c_i reg q_i),
 * with c_e = 1 (reg_scale = count) or 1 / n_e (reg_scale = none) — Surprise's SVD update.
 * Initialisation (both): biases 0, p_u, q_i ~ N(0, init_sd^2) from the same generator.
 *
 * k-shot users (kshot.h): a user without training ratings who has revealed pairs (d->reveal) is
 * folded in after training (mf_fold_in: the ridge solve of one ALS user half-step against the
 * fixed item factors) and predicted as a seen user.
 * Unseen entities (no training rating, or rows past the tables) fall back: unseen user ->
 * mu + b_i, unseen item -> mu + b_u, both -> mu; curves->n_fallback counts the test_warm +
 * test_cold pairs that did. Predictions are clipped to [rating_min, rating_max] when
 * rating_max > rating_min (real data). Per-epoch curves: train MSE, valid RMSE, test_cold
 * excess risk (synthetic, else NaN), wall seconds. `patience` > 0 stops early on valid RMSE
 * (est_early, as every method); with or without it the best valid epoch's factors are kept
 * (patience = 0 runs every epoch). Without a valid split the last epoch is kept.
 *
 * For tests (declared there, no header): mf_get() exposes a model's arrays and
 * mf_als_half_step() runs one ALS half-step on a trained model.
 */
#include "estimator.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_cblas.h>   /* the cblas_* prototypes; OpenBLAS provides the symbols */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* LAPACK (Fortran) Cholesky solve; provided by -lopenblas. The trailing size_t is gfortran's
 * hidden length of the character argument. */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
                   double *b, const int *ldb, int *info, size_t uplo_len);

static const param_spec mf_params[] = {
    {"solver", PT_ENUM, "als", 0, 0, "als|sgd", "als: alternating closed-form solves; sgd: Funk/Surprise SGD"},
    {"rank", PT_INT, "16", 1, 1024, NULL, "dimension of p_u and q_i"},
    {"reg", PT_REAL, "0.05", 0, 1e6, NULL, "L2 penalty of the factors (per rating when reg_scale = count)"},
    {"reg_bias", PT_REAL, "0.05", 0, 1e6, NULL, "L2 penalty of the biases (per rating when reg_scale = count)"},
    {"reg_scale", PT_ENUM, "count", 0, 0, "count|none",
     "count: an entity's penalty is multiplied by its number of training ratings (weighted-lambda ALS, = SGD's per-step penalty); none: not"},
    {"epochs", PT_INT, "20", 1, 1000000, NULL, "ALS sweeps (user + item half-step) or SGD passes"},
    {"lr", PT_REAL, "0.005", 1e-12, 1e6, NULL, "SGD learning rate (unused by als)"},
    {"init_sd", PT_REAL, "0.1", 0, 1e6, NULL, "sd of the Gaussian initial factors"},
    {"patience", PT_INT, "0", 0, 1000000, NULL,
     "stop after this many epochs without valid RMSE improvement (0 = never stop early); the "
     "best valid epoch's factors are kept either way"},
    {"min_delta", PT_REAL, "0", 0, 1e300, NULL, "smallest valid RMSE decrease that counts"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct {
    double reg, reg_bias, lr;
    int scale;                   /* 1: reg_scale = count */
} mf_hyper;

/* The parsed keys of [method.mf] (liblinear's `parameter`): filled once by mf_parse. */
typedef struct {
    int sgd, rank, epochs, patience;
    double init_sd, min_delta;
    mf_hyper h;
} mf_param;

/* NULL when kv is valid (p filled), else a message and *bad_key. */
static const char *mf_parse(const kvset *kv, mf_param *p, const char **bad_key)
{
    const char *bad = param_check_table(mf_params, kv, bad_key);
    if (bad)
        return bad;
    const param_spec *T = mf_params;
    p->sgd = strcmp(param_str(T, kv, "solver"), "sgd") == 0;
    p->rank = (int)param_int(T, kv, "rank");
    p->epochs = (int)param_int(T, kv, "epochs");
    p->patience = (int)param_int(T, kv, "patience");
    p->init_sd = param_real(T, kv, "init_sd");
    p->min_delta = param_real(T, kv, "min_delta");
    p->h.reg = param_real(T, kv, "reg");
    p->h.reg_bias = param_real(T, kv, "reg_bias");
    p->h.lr = param_real(T, kv, "lr");
    p->h.scale = strcmp(param_str(T, kv, "reg_scale"), "none") != 0;
    return NULL;
}

static const char *mf_check_parameter(const kvset *params, const char **bad_key)
{
    mf_param p;
    return mf_parse(params, &p, bad_key);
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    int n_users, n_items, k;
    double mu;
    double *bu, *bi;             /* n_users, n_items */
    double *P, *Q;               /* n_users x k, n_items x k (row-major) */
    long *nu, *ni;               /* training ratings per entity (0 = unseen) */
} mf_model;


static void mf_free(void *p)
{
    mf_model *m = p;
    if (!m)
        return;
    free(m->bu);
    free(m->bi);
    free(m->P);
    free(m->Q);
    free(m->nu);
    free(m->ni);
    free(m);
}

static mf_model *mf_alloc(int n_users, int n_items, int k)
{
    mf_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->n_users = n_users;
    m->n_items = n_items;
    m->k = k;
    size_t nU = (size_t)n_users + 1, nI = (size_t)n_items + 1;
    m->bu = calloc(nU, sizeof *m->bu);
    m->bi = calloc(nI, sizeof *m->bi);
    m->P = calloc(nU * (size_t)k, sizeof *m->P);
    m->Q = calloc(nI * (size_t)k, sizeof *m->Q);
    m->nu = calloc(nU, sizeof *m->nu);
    m->ni = calloc(nI, sizeof *m->ni);
    if (!m->bu || !m->bi || !m->P || !m->Q || !m->nu || !m->ni) {
        mf_free(m);
        return NULL;
    }
    return m;
}

/* Prediction before clipping; *fell_back = 1 when the user or the item is unseen. */
static double mf_raw(const mf_model *m, int32_t u, int32_t i, int *fell_back)
{
    int su = u >= 0 && u < m->n_users && m->nu[u] > 0;
    int si = i >= 0 && i < m->n_items && m->ni[i] > 0;
    double p = m->mu;
    if (su)
        p += m->bu[u];
    if (si)
        p += m->bi[i];
    if (su && si)
        p += cblas_ddot(m->k, m->P + (size_t)u * m->k, 1, m->Q + (size_t)i * m->k, 1);
    if (fell_back)
        *fell_back = !(su && si);
    return p;
}

static void mf_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                       const int32_t *i, double *out)
{
    const mf_model *m = model;
    int clip = d->rating_max > d->rating_min;
    for (long k = 0; k < n; k++) {
        double p = mf_raw(m, u[k], i[k], NULL);
        if (clip)
            p = p < d->rating_min ? d->rating_min : p > d->rating_max ? d->rating_max : p;
        out[k] = p;
    }
}

/* Inner-product vectors (est_method.vectors): user [s_u p_u, 1, mu + s_u b_u], item
 * [s_i q_i, s_i b_i, 1] with s = 1 for a seen entity, 0 for an unseen one, so that
 * <user, item> = mf_raw, its fallbacks included. */
static int mf_vectors(const void *model, const ds_data *d, int side, long n, const int32_t *ids,
                      float *out)
{
    const mf_model *m = model;
    (void)d;
    int k = m->k, dim = k + 2;
    if (!out)
        return dim;
    for (long r = 0; r < n; r++) {
        int32_t e = ids[r];
        float *o = out + (size_t)r * dim;
        int seen = side ? e >= 0 && e < m->n_items && m->ni[e] > 0
                        : e >= 0 && e < m->n_users && m->nu[e] > 0;
        const double *v = side ? m->Q : m->P;
        for (int c = 0; c < k; c++)
            o[c] = seen ? (float)v[(size_t)e * k + c] : 0.0f;
        if (side) {
            o[k] = seen ? (float)m->bi[e] : 0.0f;
            o[k + 1] = 1.0f;
        } else {
            o[k] = 1.0f;
            o[k + 1] = (float)(m->mu + (seen ? m->bu[e] : 0.0));
        }
    }
    return dim;
}

static long count_fallback(const mf_model *m, const ds_split *s)
{
    long c = 0;
    for (long k = 0; k < s->n; k++) {
        int fb;
        mf_raw(m, s->user[k], s->item[k], &fb);
        c += fb;
    }
    return c;
}

/* Mean squared error of the (clipped) predictions against target over split s; NaN if empty. */
static double split_mse(const mf_model *m, const ds_data *d, const ds_split *s,
                        const double *target)
{
    if (s->n <= 0 || !target)
        return NAN;
    double acc = 0;
    int clip = d->rating_max > d->rating_min;
    for (long k = 0; k < s->n; k++) {
        double p = mf_raw(m, s->user[k], s->item[k], NULL);
        if (clip)
            p = p < d->rating_min ? d->rating_min : p > d->rating_max ? d->rating_max : p;
        double e = p - target[k];
        acc += e * e;
    }
    return acc / (double)s->n;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- ALS */

/* Training pairs grouped by one side (CSR): the pairs of entity e are idx[off[e] .. off[e+1]). */
typedef struct {
    long *off, *idx;
    long max_deg;
} mf_csr;

static void csr_free(mf_csr *c)
{
    free(c->off);
    free(c->idx);
    memset(c, 0, sizeof *c);
}

static int csr_build(mf_csr *c, const int32_t *ent, long n, int n_ent)
{
    memset(c, 0, sizeof *c);
    c->off = calloc((size_t)n_ent + 1, sizeof *c->off);
    c->idx = malloc((size_t)(n > 0 ? n : 1) * sizeof *c->idx);
    long *fill = calloc((size_t)n_ent + 1, sizeof *fill);
    if (!c->off || !c->idx || !fill) {
        free(fill);
        csr_free(c);
        return -1;
    }
    for (long k = 0; k < n; k++)
        c->off[ent[k] + 1]++;
    for (int e = 0; e < n_ent; e++) {
        if (c->off[e + 1] > c->max_deg)
            c->max_deg = c->off[e + 1];
        c->off[e + 1] += c->off[e];
    }
    for (long k = 0; k < n; k++)
        c->idx[c->off[ent[k]] + fill[ent[k]]++] = k;
    free(fill);
    return 0;
}

/* One ALS half-step for side `side` (0 = users, 1 = items): exact ridge solves of every entity
 * with training ratings. Returns 0, or -1 with a message. */
static int als_half(mf_model *m, const ds_split *tr, const mf_csr *c, int side, const mf_hyper *h,
                    char *err, size_t errlen)
{
    int k = m->k, n = k + 1, one = 1, n_ent = side ? m->n_items : m->n_users;
    const int32_t *other = side ? tr->user : tr->item;
    double *B = side ? m->bi : m->bu, *F = side ? m->Q : m->P;
    const double *Bo = side ? m->bu : m->bi, *Fo = side ? m->P : m->Q;
    long deg = c->max_deg > 0 ? c->max_deg : 1;
    double *Z = malloc((size_t)deg * (size_t)n * sizeof *Z);
    double *y = malloc((size_t)deg * sizeof *y);
    double *A = malloc((size_t)n * (size_t)n * sizeof *A);
    double *rhs = malloc((size_t)n * sizeof *rhs);
    double *A0 = malloc((size_t)n * (size_t)n * sizeof *A0);
    double *rhs0 = malloc((size_t)n * sizeof *rhs0);
    int rc = 0;
    if (!Z || !y || !A || !rhs || !A0 || !rhs0) {
        snprintf(err, errlen, "mf: out of memory");
        rc = -1;
        goto out;
    }
    for (int e = 0; e < n_ent; e++) {
        long ne = c->off[e + 1] - c->off[e];
        if (ne == 0)
            continue;
        for (long j = 0; j < ne; j++) {
            long p = c->idx[c->off[e] + j];
            int32_t o = other[p];
            double *z = Z + (size_t)j * n;
            z[0] = 1.0;
            memcpy(z + 1, Fo + (size_t)o * k, (size_t)k * sizeof *z);
            y[j] = tr->rating[p] - m->mu - Bo[o];
        }
        /* row-major upper triangle of Z^T Z = column-major lower triangle for LAPACK */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, (int)ne, 1.0, Z, n, 0.0, A, n);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)ne, n, 1.0, Z, n, y, 1, 0.0, rhs, 1);
        double w = h->scale ? (double)ne : 1.0;
        A[0] += w * h->reg_bias;
        for (int a = 1; a < n; a++)
            A[(size_t)a * n + a] += w * h->reg;
        int info = 0;
        if (h->reg > 0 && h->reg_bias > 0) {
            dposv_("L", &n, &one, A, &n, rhs, &n, &info, 1);
        } else {
            /* unregularised: keep a copy; if the system is singular (fewer ratings than
             * rank + 1), retry with a tiny ridge of 1e-10 * the mean diagonal */
            memcpy(A0, A, (size_t)n * n * sizeof *A);
            memcpy(rhs0, rhs, (size_t)n * sizeof *rhs);
            dposv_("L", &n, &one, A, &n, rhs, &n, &info, 1);
            if (info > 0) {
                double t = 0;
                for (int a = 0; a < n; a++)
                    t += A0[(size_t)a * n + a];
                for (int a = 0; a < n; a++)
                    A0[(size_t)a * n + a] += 1e-10 * t / n + 1e-300;
                memcpy(A, A0, (size_t)n * n * sizeof *A);
                memcpy(rhs, rhs0, (size_t)n * sizeof *rhs);
                dposv_("L", &n, &one, A, &n, rhs, &n, &info, 1);
            }
        }
        if (info != 0) {
            snprintf(err, errlen, "mf: ALS normal equations of %s %d not solvable (dposv info %d)",
                     side ? "item" : "user", e, info);
            rc = -1;
            goto out;
        }
        B[e] = rhs[0];
        memcpy(F + (size_t)e * k, rhs + 1, (size_t)k * sizeof *F);
    }
out:
    free(Z);
    free(y);
    free(A);
    free(rhs);
    free(A0);
    free(rhs0);
    return rc;
}

/* The k-shot protocol (kshot.h): every user without training ratings who has revealed pairs
 * (d->reveal) is folded in — the exact ridge solve of one ALS user half-step for [b_u, p_u]
 * against the fixed item factors and biases, over the revealed pairs whose item has training
 * ratings (same objective and reg_scale weighting as training) — and counts as seen from then on.
 * Returns the number of users folded in, or -1 with a message. */
static long mf_fold_in(mf_model *m, const ds_data *d, const mf_hyper *h, char *err, size_t errlen)
{
    const ds_split *rv = &d->reveal;
    if (rv->n <= 0)
        return 0;
    ds_split f;
    if (ds_split_alloc(&f, rv->n, 0) != 0) {
        snprintf(err, errlen, "mf: out of memory");
        return -1;
    }
    long n = 0;
    for (long q = 0; q < rv->n; q++) {
        int32_t u = rv->user[q], i = rv->item[q];
        if (u < 0 || u >= m->n_users || m->nu[u] > 0 || i < 0 || i >= m->n_items || m->ni[i] == 0)
            continue;
        f.user[n] = u;
        f.item[n] = i;
        f.rating[n] = rv->rating[q];
        n++;
    }
    f.n = n;
    mf_csr c;
    long folded = 0;
    if (csr_build(&c, f.user, f.n, m->n_users) != 0) {
        ds_split_free(&f);
        snprintf(err, errlen, "mf: out of memory");
        return -1;
    }
    if (n > 0 && als_half(m, &f, &c, 0, h, err, errlen) != 0)
        folded = -1;
    for (int u = 0; folded >= 0 && u < m->n_users; u++)
        if (c.off[u + 1] > c.off[u]) {
            m->nu[u] = c.off[u + 1] - c.off[u];
            folded++;
        }
    csr_free(&c);
    ds_split_free(&f);
    return folded;
}

/* Test hook: one ALS half-step (side 0 users, 1 items) on d's training split with params. */
int mf_als_half_step(void *model, const ds_data *d, int side, const kvset *params, char *err,
                     size_t errlen)
{
    mf_model *m = model;
    mf_param prm;
    const char *bad = NULL, *msg = mf_parse(params, &prm, &bad);
    if (msg) {
        snprintf(err, errlen, "mf: %s: %s", bad, msg);
        return -1;
    }
    mf_hyper h = prm.h;
    mf_csr c;
    if (csr_build(&c, side ? d->train.item : d->train.user, d->train.n,
                  side ? m->n_items : m->n_users) != 0) {
        snprintf(err, errlen, "mf: out of memory");
        return -1;
    }
    int rc = als_half(m, &d->train, &c, side, &h, err, errlen);
    csr_free(&c);
    return rc;
}

/* Test hook: the model's arrays (rows of P, Q are rank long; nu/ni = training counts). */
void mf_get(const void *model, int *n_users, int *n_items, int *rank, double *mu,
            const double **bu, const double **bi, const double **P, const double **Q)
{
    const mf_model *m = model;
    *n_users = m->n_users;
    *n_items = m->n_items;
    *rank = m->k;
    *mu = m->mu;
    *bu = m->bu;
    *bi = m->bi;
    *P = m->P;
    *Q = m->Q;
}

/* ---------------------------------------------------------------- SGD */

static void sgd_epoch(mf_model *m, const ds_split *tr, const long *order, const mf_hyper *h,
                      double *pu_old)
{
    int k = m->k;
    for (long s = 0; s < tr->n; s++) {
        long p = order[s];
        int32_t u = tr->user[p], i = tr->item[p];
        double *pu = m->P + (size_t)u * k, *qi = m->Q + (size_t)i * k;
        double e = tr->rating[p] - (m->mu + m->bu[u] + m->bi[i] + cblas_ddot(k, pu, 1, qi, 1));
        double cu = h->scale ? 1.0 : 1.0 / (double)m->nu[u];
        double ci = h->scale ? 1.0 : 1.0 / (double)m->ni[i];
        m->bu[u] += h->lr * (e - cu * h->reg_bias * m->bu[u]);
        m->bi[i] += h->lr * (e - ci * h->reg_bias * m->bi[i]);
        memcpy(pu_old, pu, (size_t)k * sizeof *pu_old);
        for (int a = 0; a < k; a++) {
            pu[a] += h->lr * (e * qi[a] - cu * h->reg * pu[a]);
            qi[a] += h->lr * (e * pu_old[a] - ci * h->reg * qi[a]);
        }
    }
}

/* ---------------------------------------------------------------- fit */

static void *mf_train(const est_fit_ctx *ctx)
{
    const ds_data *d = ctx->data;
    const ds_split *tr = &d->train;
    double t0 = now_seconds();
    mf_param prm;
    const char *bad = NULL, *msg = mf_parse(ctx->params, &prm, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "mf: %s: %s", bad, msg);
        return NULL;
    }
    int sgd = prm.sgd, k = prm.rank;
    long epochs = prm.epochs;
    double init_sd = prm.init_sd;
    mf_hyper h = prm.h;
    if (tr->n <= 0) {
        snprintf(ctx->err, ctx->errlen, "mf: the training split is empty");
        return NULL;
    }
    for (long q = 0; q < tr->n; q++)
        if (tr->user[q] < 0 || tr->user[q] >= d->n_users || tr->item[q] < 0 ||
            tr->item[q] >= d->n_items || !isfinite(tr->rating[q])) {
            snprintf(ctx->err, ctx->errlen, "mf: training pair %ld is out of range or not finite", q);
            return NULL;
        }

    mf_model *m = mf_alloc(d->n_users, d->n_items, k), *best = NULL;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    mf_csr cu = { 0 }, ci = { 0 };
    long *order = NULL;
    double *pu_old = NULL;
    int ok = 0;
    if (!m || !r)
        goto oom;
    gsl_rng_set(r, (unsigned long)ctx->seed);
    double s = 0;
    for (long q = 0; q < tr->n; q++) {
        s += tr->rating[q];
        m->nu[tr->user[q]]++;
        m->ni[tr->item[q]]++;
    }
    m->mu = s / (double)tr->n;
    for (size_t a = 0; a < (size_t)d->n_users * k; a++)
        m->P[a] = gsl_ran_gaussian(r, init_sd);
    for (size_t a = 0; a < (size_t)d->n_items * k; a++)
        m->Q[a] = gsl_ran_gaussian(r, init_sd);

    if (sgd) {
        order = malloc((size_t)tr->n * sizeof *order);
        pu_old = malloc((size_t)k * sizeof *pu_old);
        if (!order || !pu_old)
            goto oom;
        for (long q = 0; q < tr->n; q++)
            order[q] = q;
    } else if (csr_build(&cu, tr->user, tr->n, d->n_users) != 0 ||
               csr_build(&ci, tr->item, tr->n, d->n_items) != 0)
        goto oom;
    int have_valid = d->valid.n > 0;
    if (have_valid && !(best = mf_alloc(d->n_users, d->n_items, k)))
        goto oom;

    est_curves *cv = ctx->curves;
    est_early early;
    est_early_init(&early, prm.patience, prm.min_delta, have_valid);
    snprintf(cv->stopped_by, sizeof cv->stopped_by, "cap");
    for (long ep = 1; ep <= epochs; ep++) {
        if (sgd) {
            gsl_ran_shuffle(r, order, (size_t)tr->n, sizeof *order);
            sgd_epoch(m, tr, order, &h, pu_old);
        } else if (als_half(m, tr, &cu, 0, &h, ctx->err, ctx->errlen) != 0 ||
                   als_half(m, tr, &ci, 1, &h, ctx->err, ctx->errlen) != 0)
            goto done;
        double loss = split_mse(m, &(ds_data){ 0 }, tr, tr->rating);   /* unclipped */
        if (!isfinite(loss)) {
            snprintf(ctx->err, ctx->errlen, "mf: non-finite loss at epoch %ld", ep);
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
            goto done;
        }
        double vr = have_valid ? sqrt(split_mse(m, d, &d->valid, d->valid.rating)) : NAN;
        double te = d->synthetic ? split_mse(m, d, &d->test_cold, d->test_cold.oracle) : NAN;
        if (est_curves_push(cv, loss, vr, te, now_seconds() - t0) != 0)
            goto oom;
        cv->epochs_run = (int)ep;
        int es = est_early_step(&early, (int)ep, vr, ctx->err, ctx->errlen);
        if (es == EST_EARLY_NONFINITE) {
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "diverged");
            goto done;
        }
        if (es == EST_EARLY_BEST) {
            size_t nU = (size_t)d->n_users, nI = (size_t)d->n_items;
            memcpy(best->bu, m->bu, nU * sizeof *m->bu);
            memcpy(best->bi, m->bi, nI * sizeof *m->bi);
            memcpy(best->P, m->P, nU * k * sizeof *m->P);
            memcpy(best->Q, m->Q, nI * k * sizeof *m->Q);
        } else if (es == EST_EARLY_STOP) {
            snprintf(cv->stopped_by, sizeof cv->stopped_by, "patience");
            break;
        }
    }
    if (have_valid) {   /* keep the best valid epoch's factors */
        size_t nU = (size_t)d->n_users, nI = (size_t)d->n_items;
        memcpy(m->bu, best->bu, nU * sizeof *m->bu);
        memcpy(m->bi, best->bi, nI * sizeof *m->bi);
        memcpy(m->P, best->P, nU * k * sizeof *m->P);
        memcpy(m->Q, best->Q, nI * k * sizeof *m->Q);
    }
    long folded = mf_fold_in(m, d, &h, ctx->err, ctx->errlen);
    if (folded < 0)
        goto done;
    int best_epoch = early.best_epoch;
    cv->best_epoch = best_epoch;
    long fbw = count_fallback(m, &d->test_warm), fbc = count_fallback(m, &d->test_cold);
    cv->n_fallback = fbw + fbc;
    snprintf(cv->note, sizeof cv->note,
             "mf %s rank=%d reg=%g reg_bias=%g reg_scale=%s%s; unseen user -> mu+b_i, unseen item "
             "-> mu+b_u, both -> mu: %ld test_warm + %ld test_cold predictions fell back; %ld "
             "users folded in from revealed pairs",
             sgd ? "sgd" : "als", k, h.reg, h.reg_bias, h.scale ? "count" : "none",
             sgd ? "" : " (LAPACK dposv)", fbw, fbc, folded);
    ok = 1;
    goto done;
oom:
    snprintf(ctx->err, ctx->errlen, "mf: out of memory");
done:
    csr_free(&cu);
    csr_free(&ci);
    free(order);
    free(pu_old);
    mf_free(best);
    if (r)
        gsl_rng_free(r);
    if (!ok) {
        mf_free(m);
        return NULL;
    }
    return m;
}

/* the learning rate is SGD's only */
static const param_condition mf_conditions[] = {
    {"lr", "solver", "sgd"},
    {NULL, NULL, NULL},
};

const est_method est_mf = {
    .name = "mf",
    .params = mf_params,
    .conditions = mf_conditions,
    .cold_capable = 1,
    .needs_truth = 0,
    .check_parameter = mf_check_parameter,
    .train = mf_train,
    .predict = mf_predict,
    .free_model = mf_free,
    .vectors = mf_vectors,
};
