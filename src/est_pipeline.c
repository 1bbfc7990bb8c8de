/* est_pipeline.c — the `pipeline` method: two-stage recommendation, candidate retrieval by an
 * inner-product model over the whole catalogue, then reranking of the K candidates by
 * gradient-boosted trees (XGBoost), measured stage by stage (issue 16).
 *
 * Keys ([method.pipeline]; sub-method keys as space-separated key=value strings, checked at load
 * time against the sub-method's own table, as `compress` does with base_keys):
 *   retrieve = twotower | mf        stage 1 (a method with est_method.vectors)
 *   retrieve_keys = "width=64 ..."  its keys
 *   retrieval = exact | hnsw | ivf  exact: blocked sgemm + heap (retrieve.h); hnsw/ivf: Faiss
 *   K                               candidates per user
 *   rerank = xgboost | none         none: the stage-1 order is the final order (single stage)
 *   candidates_from = "mf baseline" other methods whose scores are reranker features (any
 *                                   method; oracle only on synthetic data)
 *   candidates_keys = "mf.rank=8"   their keys, each prefixed by its method's name
 * Training: stage2_fraction of the training pairs is held out for stage 2 (the latest ones by
 * time when the split has interaction times, else a seeded random part); stage 1 and the
 * candidates_from methods are fitted on the rest (A). The reranker is fitted on groups, one per
 * user with held-out pairs (B): negatives = stage1: the user's stage-1 top-K over the catalogue
 * minus A (labels: B's label for the B items among them, 0 for the rest; users without a B item
 * in their top-K are dropped); random | popularity: the user's B items plus n_negatives items
 * (0 = K) drawn uniformly or by A-popularity among items outside A and B; none: the B items
 * only. Labels (label key): graded = with rank:ndcg 1 + the quintile of the rating among A's
 * ratings (1..5), 0 for negatives; with reg:squarederror the rating itself, A's lowest rating
 * for negatives; threshold = 1 when the rating >= the relevance threshold (real data: the
 * data key relevance_threshold; synthetic: A's 80th rating percentile). Features per
 * (user, candidate): stage-1 score, position in the group by stage-1 score, each
 * candidates_from method's prediction, user count and mean rating in A, item count (=
 * popularity) and mean rating in A, and (covariates = yes) the user's and item's covariates.
 * XGBoost seed = the fit seed, nthread = the fit's threads.
 *
 * rerank = none holds nothing out: stage 1 is fitted on every training pair (the single-stage
 * arm of a study). predict() = the stage-1 model (fitted on A) so the standard RMSE/ranking columns are stage
 * 1's. extra_metrics, over eval_users users (evenly spaced; 0 = all), each user's catalogue =
 * every item row minus the user's train and valid items (exclude_train = yes) or every item:
 *   synthetic (users: the training population, rows 0..n_warm_users-1; the oracle R*(u, i) is
 *   known for every pair): pl_s1_recall_at_K = |oracle top-10 ∩ stage-1 top-K| / 10;
 *   pl_oracle_recall_at_10 = |oracle top 10 ∩ final top 10| / 10 (pl_s1_oracle_recall_at_10:
 *   the stage-1 top 10); pl_ndcg_at_10, pl_regret_at_10 (end to end: the reranked top 10) and pl_s1_ndcg_at_10,
 *   pl_s1_regret_at_10 (the stage-1 top 10), NDCG with gains R* - min R* over the catalogue as
 *   in metrics.c, regret = mean R* of the oracle top 10 minus that of the list; the split of
 *   the end-to-end regret: pl_regret_missed_at_10 (oracle top 10 minus the best 10 among the K
 *   candidates: what stage 1 lost) + pl_regret_misranked_at_10 (best 10 among the candidates
 *   minus the reranked 10: what stage 2 lost).
 *   real data (users with a relevant test_warm item, rating >= relevance_threshold):
 *   pl_s1_recall_at_K = |relevant ∩ top K| / |relevant|; pl_precision_at_10, pl_ndcg_at_10
 *   (binary gains) end to end, pl_s1_precision_at_10, pl_s1_ndcg_at_10 for stage 1 alone.
 *   Both: pl_K, pl_s1_sec_per_1k_users, pl_s2_sec_per_1k_users, pl_peak_rss_mb (process peak),
 *   pl_s2_train_rows; with retrieval = hnsw | ivf also pl_ann_recall_at_K (against exact top-K),
 *   pl_ann_qps and pl_exact_qps.
 */
#include "estimator.h"
#include "faiss_c.h"
#include "metrics.h"
#include "rerank_xgb.h"
#include "retrieve.h"
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const param_spec pl_params[] = {
    {"retrieve", PT_ENUM, "twotower", 0, 0, "twotower|mf", "stage 1: the inner-product model that retrieves candidates"},
    {"retrieve_keys", PT_STRING, "none", 0, 0, NULL,
     "keys of [method.<retrieve>] as space-separated key=value pairs, e.g. 'width=64 epochs=20'; none = defaults"},
    {"retrieval", PT_ENUM, "exact", 0, 0, "exact|hnsw|ivf",
     "exact top-K (blocked sgemm + heap) or approximate (Faiss HNSW / IVF, inner product)"},
    {"K", PT_INT, "100", 1, 100000, NULL, "candidates per user from stage 1"},
    {"exclude_train", PT_ENUM, "yes", 0, 0, "yes|no", "never retrieve a user's train/valid items"},
    {"hnsw_m", PT_INT, "32", 2, 512, NULL, "HNSW graph degree M"},
    {"hnsw_ef_search", PT_INT, "128", 1, 1 << 20, NULL, "HNSW efSearch (raised to K when below)"},
    {"hnsw_ef_construction", PT_INT, "80", 1, 1 << 20, NULL, "HNSW efConstruction"},
    {"ivf_nlist", PT_INT, "64", 1, 1 << 20, NULL, "IVF clusters"},
    {"ivf_nprobe", PT_INT, "8", 1, 1 << 20, NULL, "IVF clusters visited per query"},
    {"rerank", PT_ENUM, "xgboost", 0, 0, "xgboost|none", "stage 2: XGBoost trees, or none (the stage-1 order)"},
    {"candidates_from", PT_STRING, "none", 0, 0, NULL,
     "other methods whose scores are reranker features, space-separated, e.g. 'mf baseline'; none = no others"},
    {"candidates_keys", PT_STRING, "none", 0, 0, NULL,
     "their keys as method.key=value pairs, space-separated, e.g. 'mf.rank=8 mf.epochs=10'; none = defaults"},
    {"objective", PT_ENUM, "rank:ndcg", 0, 0, "rank:ndcg|reg:squarederror", "XGBoost objective"},
    {"label", PT_ENUM, "graded", 0, 0, "graded|threshold",
     "graded: 1 + rating quintile, negatives 0 (reg:squarederror: the rating, negatives the lowest); threshold: rating >= relevance threshold"},
    {"negatives", PT_ENUM, "stage1", 0, 0, "stage1|random|popularity|none",
     "negatives of the stage-2 training groups"},
    {"n_negatives", PT_INT, "0", 0, 1 << 20, NULL, "random/popularity negatives per user; 0 = K"},
    {"stage2_fraction", PT_REAL, "0.2", 0.01, 0.9, NULL,
     "share of the training pairs held out to train stage 2 (latest by time when times exist)"},
    {"covariates", PT_ENUM, "yes", 0, 0, "yes|no", "user and item covariates as reranker features"},
    {"rounds", PT_INT, "100", 1, 100000, NULL, "boosting rounds"},
    {"max_depth", PT_INT, "6", 1, 64, NULL, "tree depth"},
    {"eta", PT_REAL, "0.1", 1e-6, 1, NULL, "learning rate of the trees"},
    {"subsample", PT_REAL, "1", 0.05, 1, NULL, "rows sampled per tree"},
    {"train_users", PT_INT, "2000", 0, 1 << 30, NULL,
     "users (evenly spaced) giving stage-2 training groups; 0 = all"},
    {"eval_users", PT_INT, "1000", 0, 1 << 30, NULL,
     "users (evenly spaced) in the stage-wise metrics; 0 = all"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const param_condition pl_conditions[] = {
    {"hnsw_m", "retrieval", "hnsw"},
    {"hnsw_ef_search", "retrieval", "hnsw"},
    {"hnsw_ef_construction", "retrieval", "hnsw"},
    {"ivf_nlist", "retrieval", "ivf"},
    {"ivf_nprobe", "retrieval", "ivf"},
    {"candidates_from", "rerank", "xgboost"},
    {"candidates_keys", "rerank", "xgboost"},
    {"objective", "rerank", "xgboost"},
    {"label", "rerank", "xgboost"},
    {"negatives", "rerank", "xgboost"},
    {"n_negatives", "negatives", "random|popularity"},
    {"covariates", "rerank", "xgboost"},
    {"stage2_fraction", "rerank", "xgboost"},
    {"rounds", "rerank", "xgboost"},
    {"max_depth", "rerank", "xgboost"},
    {"eta", "rerank", "xgboost"},
    {"subsample", "rerank", "xgboost"},
    {"train_users", "rerank", "xgboost"},
    {NULL, NULL, NULL},
};

#define PL_MAX_OTHER 8

enum { NEG_STAGE1, NEG_RANDOM, NEG_POP, NEG_NONE };
enum { RET_EXACT, RET_HNSW, RET_IVF };

typedef struct {
    const est_method *s1;
    kvset s1_kv;
    int n_other;
    const est_method *other[PL_MAX_OTHER];
    kvset other_kv[PL_MAX_OTHER];
    int retrieval, K, exclude, hnsw_m, hnsw_efs, hnsw_efc, ivf_nlist, ivf_nprobe;
    int rerank, objective, threshold_label, negatives, n_neg, covariates;
    int rounds, max_depth, train_users, eval_users;
    double frac, eta, subsample;
} pl_param;

static void pl_param_free(pl_param *p)
{
    kv_free(&p->s1_kv);
    for (int k = 0; k < PL_MAX_OTHER; k++)
        kv_free(&p->other_kv[k]);
}

static int choice(const char *choices, const char *v)
{
    int k = 0;
    for (const char *p = choices; *p; k++) {
        size_t n = strcspn(p, "|");
        if (strlen(v) == n && strncmp(p, v, n) == 0)
            return k;
        p += n + (p[n] == '|');
    }
    return -1;
}

/* Next space-separated token of *s into tok (size n); 0 at the end, -1 when too long. The
 * whole value "none" is the empty list. */
static int next_token(const char **s, char *tok, size_t n)
{
    if (strcmp(*s, "none") == 0)
        *s += 4;
    *s += strspn(*s, " \t");
    size_t len = strcspn(*s, " \t");
    if (!len)
        return 0;
    if (len >= n)
        return -1;
    memcpy(tok, *s, len);
    tok[len] = '\0';
    *s += len;
    return 1;
}

/* One "key=value" token for method m into kv; NULL or a message (in msg). */
static const char *sub_pair(const est_method *m, char *tok, kvset *kv, char *msg, size_t n)
{
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok || !eq[1]) {
        snprintf(msg, n, "'%s' is not key=value", tok);
        return msg;
    }
    *eq = '\0';
    if (!param_find(m->params, tok)) {
        const char *near = param_nearest(m->params, tok);
        snprintf(msg, n, "'%s' is not a key of [method.%s]%s%s%s", tok, m->name,
                 near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        return msg;
    }
    return kv_set(kv, tok, eq + 1) == 0 ? NULL : "out of memory";
}

static const char *sub_check(const est_method *m, const kvset *kv, char *msg, size_t n)
{
    const char *bk = NULL, *e;
    if ((e = param_check_table(m->params, kv, &bk)) ||
        (m->check_parameter && (e = m->check_parameter(kv, &bk)))) {
        snprintf(msg, n, "%s (key %s of [method.%s])", e, bk ? bk : "?", m->name);
        return msg;
    }
    return NULL;
}

/* NULL when valid, else a message and *bad_key. p's kvsets to free with pl_param_free, also on
 * failure. */
static const char *pl_parse(const kvset *kv, pl_param *p, const char **bad_key)
{
    static _Thread_local char msg[512];
    char tok[256];
    memset(p, 0, sizeof *p);
    kv_init(&p->s1_kv);
    for (int k = 0; k < PL_MAX_OTHER; k++)
        kv_init(&p->other_kv[k]);
    const char *m = param_check_table(pl_params, kv, bad_key);
    if (m)
        return m;
#define S(k) param_str(pl_params, kv, k)
#define I(k) (int)param_int(pl_params, kv, k)
    p->s1 = est_find(S("retrieve"));
    p->retrieval = choice("exact|hnsw|ivf", S("retrieval"));
    p->K = I("K");
    p->exclude = strcmp(S("exclude_train"), "yes") == 0;
    p->hnsw_m = I("hnsw_m");
    p->hnsw_efs = I("hnsw_ef_search");
    p->hnsw_efc = I("hnsw_ef_construction");
    p->ivf_nlist = I("ivf_nlist");
    p->ivf_nprobe = I("ivf_nprobe");
    p->rerank = strcmp(S("rerank"), "xgboost") == 0;
    p->objective = strcmp(S("objective"), "rank:ndcg") == 0 ? RERANK_NDCG : RERANK_SQUARED;
    p->threshold_label = strcmp(S("label"), "threshold") == 0;
    p->negatives = choice("stage1|random|popularity|none", S("negatives"));
    p->n_neg = I("n_negatives");
    p->covariates = strcmp(S("covariates"), "yes") == 0;
    p->rounds = I("rounds");
    p->max_depth = I("max_depth");
    p->train_users = I("train_users");
    p->eval_users = I("eval_users");
    p->frac = param_real(pl_params, kv, "stage2_fraction");
    p->eta = param_real(pl_params, kv, "eta");
    p->subsample = param_real(pl_params, kv, "subsample");
    if (!p->s1 || !p->s1->vectors) {
        *bad_key = "retrieve";
        return "the stage-1 method has no inner-product vectors";
    }
    /* retrieve_keys */
    const char *s = S("retrieve_keys");
    int r;
    *bad_key = "retrieve_keys";
    while ((r = next_token(&s, tok, sizeof tok)) != 0) {
        if (r < 0)
            return "a key=value pair longer than 255 characters";
        if ((m = sub_pair(p->s1, tok, &p->s1_kv, msg, sizeof msg)))
            return m;
    }
    if ((m = sub_check(p->s1, &p->s1_kv, msg, sizeof msg)))
        return m;
    /* candidates_from */
    s = S("candidates_from");
    *bad_key = "candidates_from";
    while ((r = next_token(&s, tok, sizeof tok)) != 0) {
        const est_method *o = r > 0 ? est_find(tok) : NULL;
        if (!o || strcmp(tok, "pipeline") == 0 || strcmp(tok, "compress") == 0) {
            snprintf(msg, sizeof msg, "'%s' is not a method that can score candidates", tok);
            return msg;
        }
        for (int k = 0; k < p->n_other; k++)
            if (p->other[k] == o) {
                snprintf(msg, sizeof msg, "'%s' is listed twice", tok);
                return msg;
            }
        if (p->n_other == PL_MAX_OTHER) {
            snprintf(msg, sizeof msg, "more than %d methods", PL_MAX_OTHER);
            return msg;
        }
        p->other[p->n_other++] = o;
    }
    /* candidates_keys: method.key=value */
    s = S("candidates_keys");
    *bad_key = "candidates_keys";
    while ((r = next_token(&s, tok, sizeof tok)) != 0) {
        if (r < 0)
            return "a pair longer than 255 characters";
        char *dot = strchr(tok, '.');
        int which = -1;
        if (dot) {
            *dot = '\0';
            for (int k = 0; k < p->n_other; k++)
                if (strcmp(p->other[k]->name, tok) == 0)
                    which = k;
        }
        if (which < 0) {
            snprintf(msg, sizeof msg, "'%s' does not start with a method of candidates_from "
                     "and a dot (write 'mf.rank=8')", tok);
            return msg;
        }
        if ((m = sub_pair(p->other[which], dot + 1, &p->other_kv[which], msg, sizeof msg)))
            return m;
    }
    for (int k = 0; k < p->n_other; k++)
        if ((m = sub_check(p->other[k], &p->other_kv[k], msg, sizeof msg)))
            return m;
    *bad_key = NULL;
    return NULL;
#undef S
#undef I
}

static const char *pl_check_parameter(const kvset *params, const char **bad_key)
{
    pl_param p;
    const char *m = pl_parse(params, &p, bad_key);
    pl_param_free(&p);
    return m;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    pl_param p;
    ds_data dA;                 /* the data stage 1 saw: train = A (own arrays), rest shared */
    void *s1m;
    void *om[PL_MAX_OTHER];
    rerank_xgb *xgb;
    int nu, ni, dim, nf;
    float *U, *V;               /* stage-1 vectors of every user and item row */
    double *ucnt, *umean, *icnt, *imean;   /* A statistics */
    double cut[4];              /* quintile cut-points of A's ratings */
    double thr;                 /* threshold of label = threshold */
    double neg_label;           /* label of a negative: 0, or A's lowest rating (graded labels
                                   = ratings, objective reg:squarederror) */
    int threads;
    long s2_rows;
} pl_model;

static void pl_free(void *model)
{
    pl_model *M = model;
    if (!M)
        return;
    if (M->s1m)
        M->p.s1->free_model(M->s1m);
    for (int k = 0; k < M->p.n_other; k++)
        if (M->om[k])
            M->p.other[k]->free_model(M->om[k]);
    rerank_xgb_free(M->xgb);
    ds_split_free(&M->dA.train);
    free(M->U);
    free(M->V);
    free(M->ucnt);
    free(M->umean);
    free(M->icnt);
    free(M->imean);
    pl_param_free(&M->p);
    free(M);
}

static void pl_predict(const void *model, const ds_data *d, long n, const int32_t *u,
                       const int32_t *i, double *out)
{
    const pl_model *M = model;
    M->p.s1->predict(M->s1m, d, n, u, i, out);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void copy_pair(ds_split *to, long at, const ds_split *from, long k)
{
    to->user[at] = from->user[k];
    to->item[at] = from->item[k];
    to->rating[at] = from->rating[k];
    if (to->oracle && from->oracle)
        to->oracle[at] = from->oracle[k];
    if (to->time && from->time)
        to->time[at] = from->time[k];
}

/* Split d's train into A (returned in *A) and B (*B): B = the latest frac by time when times
 * exist (ties by position), else a random frac. 0 or -1 (memory). */
static int split_train(const ds_split *tr, double frac, gsl_rng *rng, ds_split *A, ds_split *B)
{
    long n = tr->n, nb = (long)llround(frac * n);
    if (nb < 1 && frac > 0)
        nb = n > 1 ? 1 : 0;
    char *inB = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!inB)
        return -1;
    if (tr->time) {
        double *t = malloc((size_t)(n > 0 ? n : 1) * sizeof *t);
        if (!t) {
            free(inB);
            return -1;
        }
        memcpy(t, tr->time, (size_t)n * sizeof *t);
        qsort(t, (size_t)n, sizeof *t, cmp_double);
        double cutoff = nb > 0 ? t[n - nb] : INFINITY;
        long got = 0;
        for (long k = n - 1; k >= 0 && got < nb; k--)   /* > cutoff first, then = cutoff */
            if (tr->time[k] > cutoff) {
                inB[k] = 1;
                got++;
            }
        for (long k = n - 1; k >= 0 && got < nb; k--)
            if (tr->time[k] == cutoff && !inB[k]) {
                inB[k] = 1;
                got++;
            }
        free(t);
    } else {   /* selection sampling: exactly nb of n */
        long need = nb;
        for (long k = 0; k < n; k++)
            if (gsl_rng_uniform(rng) * (double)(n - k) < (double)need) {
                inB[k] = 1;
                need--;
            }
    }
    memset(A, 0, sizeof *A);
    memset(B, 0, sizeof *B);
    if (ds_split_alloc(A, n - nb, tr->oracle != NULL) != 0 ||
        ds_split_alloc(B, nb, tr->oracle != NULL) != 0)
        goto oom;
    if (tr->time) {
        A->time = malloc((size_t)(n - nb > 0 ? n - nb : 1) * sizeof *A->time);
        B->time = malloc((size_t)(nb > 0 ? nb : 1) * sizeof *B->time);
        if (!A->time || !B->time)
            goto oom;
    }
    long a = 0, b = 0;
    for (long k = 0; k < n; k++) {
        if (inB[k])
            copy_pair(B, b++, tr, k);
        else
            copy_pair(A, a++, tr, k);
    }
    free(inB);
    return 0;
oom:
    free(inB);
    ds_split_free(A);
    ds_split_free(B);
    return -1;
}

/* The stage-1 top-K of the users us[0..nq) (retrieval per the params; exact when ann = 0),
 * items outside excl. Returns seconds, -1 on failure (err). */
static double stage1(const pl_model *M, const int32_t *us, int nq, const retrieve_excl *excl,
                     int ann, int32_t *top, float *score, char *err, size_t errlen)
{
    int dim = M->dim, K = M->p.K;
    float *Q = malloc((size_t)(nq > 0 ? nq : 1) * dim * sizeof *Q);
    if (!Q) {
        snprintf(err, errlen, "out of memory (stage 1 queries)");
        return -1;
    }
    for (int q = 0; q < nq; q++)
        memcpy(Q + (size_t)q * dim, M->U + (size_t)us[q] * dim, dim * sizeof *Q);
    double t0 = now_s(), secs = -1;
    if (!ann || M->p.retrieval == RET_EXACT) {
        if (retrieve_topk(Q, nq, M->V, M->ni, dim, K, excl, 0, top, score) == 0)
            secs = now_s() - t0;
        else
            snprintf(err, errlen, "out of memory (stage 1 retrieval)");
        free(Q);
        return secs;
    }
    /* Faiss: ask for K + the longest exclusion list, drop excluded items */
    long mx = 0;
    for (int q = 0; excl && q < nq; q++)
        if (excl->ptr[q + 1] - excl->ptr[q] > mx)
            mx = excl->ptr[q + 1] - excl->ptr[q];
    int K2 = (int)(K + mx < M->ni ? K + mx : M->ni);
    int efs = M->p.hnsw_efs > K2 ? M->p.hnsw_efs : K2;
    faissc_index *x = M->p.retrieval == RET_HNSW
        ? faissc_build(FAISSC_HNSW, dim, M->V, M->ni, M->p.hnsw_m, M->p.hnsw_efc, efs, M->threads, err, errlen)
        : faissc_build(FAISSC_IVF, dim, M->V, M->ni, M->p.ivf_nlist, 0, M->p.ivf_nprobe, M->threads, err, errlen);
    int64_t *ids = malloc((size_t)(nq > 0 ? nq : 1) * K2 * sizeof *ids);
    float *sc = malloc((size_t)(nq > 0 ? nq : 1) * K2 * sizeof *sc);
    if (x && ids && sc) {
        t0 = now_s();   /* the search only: the index is built once, offline */
        if (faissc_search(x, Q, nq, K2, ids, sc, err, errlen) == 0) {
            secs = now_s() - t0;
            for (int q = 0; q < nq; q++) {
                int r = 0;
                for (int j = 0; j < K2 && r < K; j++) {
                    int64_t it = ids[(size_t)q * K2 + j];
                    int bad = it < 0;
                    for (long e = excl ? excl->ptr[q] : 0; !bad && excl && e < excl->ptr[q + 1]; e++)
                        bad = excl->idx[e] == it;
                    if (bad)
                        continue;
                    top[(size_t)q * K + r] = (int32_t)it;
                    if (score)
                        score[(size_t)q * K + r] = sc[(size_t)q * K2 + j];
                    r++;
                }
                for (; r < K; r++) {
                    top[(size_t)q * K + r] = -1;
                    if (score)
                        score[(size_t)q * K + r] = -INFINITY;
                }
            }
        }
    } else if (x || !err[0]) {
        snprintf(err, errlen, "out of memory (faiss retrieval)");
    }
    faissc_free(x);
    free(ids);
    free(sc);
    free(Q);
    return secs;
}

/* Features of the candidate rows (u[r], it[r], s1 score sc[r]), r < n, in groups: pos[r] = the
 * position of the row in its group by stage-1 score. X (n x nf). 0 or -1 (memory). */
static int features(const pl_model *M, const ds_data *d, long n, const int32_t *u,
                    const int32_t *it, const float *sc, const int *pos, float *X)
{
    int nf = M->nf;
    double *tmp = malloc((size_t)(n > 0 ? n : 1) * sizeof *tmp);
    if (!tmp)
        return -1;
    for (long r = 0; r < n; r++) {
        float *x = X + (size_t)r * nf;
        int c = 0;
        x[c++] = sc[r];
        x[c++] = (float)pos[r];
        c += M->p.n_other;
        x[c++] = (float)M->ucnt[u[r]];
        x[c++] = (float)M->umean[u[r]];
        x[c++] = (float)M->icnt[it[r]];
        x[c++] = (float)M->imean[it[r]];
        if (M->p.covariates) {
            for (int j = 0; j < d->user_dim; j++)
                x[c++] = (float)d->user_x[(size_t)u[r] * d->user_dim + j];
            for (int j = 0; j < d->item_dim; j++)
                x[c++] = (float)d->item_x[(size_t)it[r] * d->item_dim + j];
        }
    }
    for (int k = 0; k < M->p.n_other; k++) {
        M->p.other[k]->predict(M->om[k], d, n, u, it, tmp);
        for (long r = 0; r < n; r++)
            X[(size_t)r * nf + 2 + k] = (float)tmp[r];
    }
    free(tmp);
    return 0;
}

static double label_of(const pl_model *M, double rating)
{
    if (M->p.threshold_label)
        return rating >= M->thr ? 1.0 : 0.0;
    if (M->p.objective == RERANK_SQUARED)
        return rating;
    int g = 1;
    for (int c = 0; c < 4; c++)
        g += rating > M->cut[c];
    return g;
}

/* positions by score within a group of n rows (score desc, item asc) */
static void group_positions(const float *sc, const int32_t *it, int n, int *pos)
{
    for (int a = 0; a < n; a++) {
        int p = 0;
        for (int b = 0; b < n; b++)
            p += sc[b] > sc[a] || (sc[b] == sc[a] && it[b] < it[a]);
        pos[a] = p;
    }
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int in_sorted(const int32_t *v, long n, int32_t x)
{
    return n > 0 && bsearch(&x, v, (size_t)n, sizeof x, cmp_i32) != NULL;
}

/* Fit the reranker on the held-out pairs B. 0, or -1 with err. */
static int fit_stage2(pl_model *M, const ds_data *d, const ds_split *B, gsl_rng *rng, uint64_t seed,
                      char *err, size_t errlen)
{
    const pl_param *p = &M->p;
    int nu = M->nu, ni = M->ni, K = p->K;
    int rc = -1;
    /* users of B, evenly spaced train_users of them */
    int *hasB = calloc((size_t)nu, sizeof *hasB);
    int32_t *us = malloc((size_t)nu * sizeof *us), *top = NULL, *ru = NULL, *ri = NULL;
    float *tsc = NULL, *rs = NULL, *X = NULL, *lab = NULL;
    int *pos = NULL;
    unsigned *grp = NULL;
    double *cum = NULL, *tmp = NULL;
    retrieve_excl eA = {0}, eB = {0};
    if (!hasB || !us)
        goto oom;
    for (long k = 0; k < B->n; k++)
        hasB[B->user[k]] = 1;
    int nall = 0, nq = 0;
    for (int u = 0; u < nu; u++)
        if (hasB[u])
            us[nall++] = u;
    nq = p->train_users > 0 && p->train_users < nall ? p->train_users : nall;
    for (int q = 0; q < nq; q++)
        us[q] = us[(long)q * nall / nq];
    if (nq == 0) {
        snprintf(err, errlen, "stage 2: no held-out pairs");
        goto out;
    }
    if (retrieve_excl_build(&eA, us, nq, nu, M->dA.train.n, M->dA.train.user, M->dA.train.item) ||
        retrieve_excl_build(&eB, us, nq, nu, B->n, B->user, B->item))
        goto oom;
    /* B rating of (q, item): eB lists items sorted; ratings looked up through a sorted copy */
    int nneg = p->negatives == NEG_STAGE1 ? K : p->negatives == NEG_NONE ? 0 : (p->n_neg > 0 ? p->n_neg : K);
    long maxB = 0;
    for (int q = 0; q < nq; q++)
        if (eB.ptr[q + 1] - eB.ptr[q] > maxB)
            maxB = eB.ptr[q + 1] - eB.ptr[q];
    long cap = (long)nq * (nneg + maxB);
    ru = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *ru);
    ri = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *ri);
    rs = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *rs);
    lab = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *lab);
    pos = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *pos);
    grp = malloc((size_t)nq * sizeof *grp);
    tmp = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *tmp);
    if (!ru || !ri || !rs || !lab || !pos || !grp || !tmp)
        goto oom;
    /* the rating of a B pair: per user a map item -> rating via a scan (groups are small) */
    double *rb = malloc((size_t)ni * sizeof *rb);
    if (!rb)
        goto oom;
    for (int i = 0; i < ni; i++)
        rb[i] = NAN;
    long *bpos = calloc((size_t)nu, sizeof *bpos), n = 0;
    int ng = 0;
    long *bstart = malloc((size_t)(nu + 1) * sizeof *bstart);
    int32_t *border = malloc((size_t)(B->n > 0 ? B->n : 1) * sizeof *border);
    if (!bpos || !bstart || !border) {
        free(rb);
        free(bpos);
        free(bstart);
        free(border);
        goto oom;
    }
    /* B pairs by user (CSR of positions into B) */
    memset(bstart, 0, (size_t)(nu + 1) * sizeof *bstart);
    for (long k = 0; k < B->n; k++)
        bstart[B->user[k] + 1]++;
    for (int u = 0; u < nu; u++)
        bstart[u + 1] += bstart[u];
    memcpy(bpos, bstart, (size_t)nu * sizeof *bpos);
    for (long k = 0; k < B->n; k++)
        border[bpos[B->user[k]]++] = (int32_t)k;
    if (p->negatives == NEG_STAGE1) {
        top = malloc((size_t)nq * K * sizeof *top);
        tsc = malloc((size_t)nq * K * sizeof *tsc);
        if (!top || !tsc || stage1(M, us, nq, p->exclude ? &eA : NULL, 0, top, tsc, err, errlen) < 0) {
            if (!err[0])
                snprintf(err, errlen, "out of memory (stage 2 candidates)");
            free(rb);
            free(bpos);
            free(bstart);
            free(border);
            goto out;
        }
    }
    if (p->negatives == NEG_POP) {
        cum = malloc((size_t)ni * sizeof *cum);
        if (!cum) {
            free(rb);
            free(bpos);
            free(bstart);
            free(border);
            goto oom;
        }
        double s = 0;
        for (int i = 0; i < ni; i++)
            cum[i] = (s += M->icnt[i] + 1.0);   /* + 1: items never seen can be drawn */
    }
    for (int q = 0; q < nq; q++) {
        int u = us[q];
        for (long k = bstart[u]; k < bstart[u + 1]; k++)
            rb[B->item[border[k]]] = B->rating[border[k]];
        long g0 = n;
        int npos = 0;
        if (p->negatives == NEG_STAGE1) {
            for (int r = 0; r < K; r++) {
                int32_t it = top[(size_t)q * K + r];
                if (it < 0)
                    break;
                ru[n] = u;
                ri[n] = it;
                rs[n] = tsc[(size_t)q * K + r];
                lab[n] = isnan(rb[it]) ? (float)M->neg_label : (float)label_of(M, rb[it]);
                npos += !isnan(rb[it]);
                n++;
            }
        } else {
            for (long k = eB.ptr[q]; k < eB.ptr[q + 1]; k++) {
                int32_t it = eB.idx[k];
                if (k > eB.ptr[q] && eB.idx[k - 1] == it)
                    continue;   /* a pair twice in B */
                ru[n] = u;
                ri[n] = it;
                lab[n] = (float)label_of(M, rb[it]);
                npos++;
                n++;
            }
            long want = n + nneg, tries = 0;
            const int32_t *ea = eA.idx + eA.ptr[q], *eb = eB.idx + eB.ptr[q];
            long na = eA.ptr[q + 1] - eA.ptr[q], nbq = eB.ptr[q + 1] - eB.ptr[q];
            while (n < want && tries++ < 20L * nneg + 100) {
                int32_t it;
                if (p->negatives == NEG_RANDOM) {
                    it = (int32_t)gsl_rng_uniform_int(rng, (unsigned long)ni);
                } else {
                    double x = gsl_rng_uniform(rng) * cum[ni - 1];
                    int lo = 0, hi = ni - 1;
                    while (lo < hi) {
                        int mid = (lo + hi) / 2;
                        if (cum[mid] > x)
                            hi = mid;
                        else
                            lo = mid + 1;
                    }
                    it = lo;
                }
                if (in_sorted(ea, na, it) || in_sorted(eb, nbq, it))
                    continue;
                int dup = 0;
                for (long r = g0; r < n && !dup; r++)
                    dup = ri[r] == it;
                if (dup)
                    continue;
                ru[n] = u;
                ri[n] = it;
                lab[n] = (float)M->neg_label;
                n++;
            }
            /* stage-1 scores of the group */
            M->p.s1->predict(M->s1m, d, n - g0, ru + g0, ri + g0, tmp);
            for (long r = g0; r < n; r++)
                rs[r] = (float)tmp[r - g0];
        }
        for (long k = bstart[u]; k < bstart[u + 1]; k++)
            rb[B->item[border[k]]] = NAN;
        int gn = (int)(n - g0);
        if (npos == 0 || gn < 2) {   /* no signal in this group */
            n = g0;
            continue;
        }
        group_positions(rs + g0, ri + g0, gn, pos + g0);
        grp[ng++] = (unsigned)gn;
    }
    free(rb);
    free(bpos);
    free(bstart);
    free(border);
    if (ng == 0) {
        snprintf(err, errlen, "stage 2: no training group has a held-out item among its candidates "
                 "(raise K or use negatives = random)");
        goto out;
    }
    X = malloc((size_t)n * M->nf * sizeof *X);
    if (!X || features(M, d, n, ru, ri, rs, pos, X) != 0)
        goto oom;
    rerank_xgb_param xp = {.objective = p->objective, .rounds = p->rounds, .max_depth = p->max_depth,
                           .eta = p->eta, .subsample = p->subsample, .seed = seed,
                           .nthread = M->threads};
    if (!(M->xgb = rerank_xgb_train(&xp, X, n, M->nf, lab, grp, ng, err, errlen)))
        goto out;
    M->s2_rows = n;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory (stage 2 training)");
out:
    free(hasB);
    free(us);
    free(top);
    free(tsc);
    free(ru);
    free(ri);
    free(rs);
    free(X);
    free(lab);
    free(pos);
    free(grp);
    free(cum);
    free(tmp);
    retrieve_excl_free(&eA);
    retrieve_excl_free(&eB);
    return rc;
}

static void *pl_train(const est_fit_ctx *ctx)
{
    pl_model *M = calloc(1, sizeof *M);
    if (!M) {
        snprintf(ctx->err, ctx->errlen, "out of memory (pipeline)");
        return NULL;
    }
    const char *bad = NULL, *msg = pl_parse(ctx->params, &M->p, &bad);
    if (msg) {
        snprintf(ctx->err, ctx->errlen, "%s: %s", bad ? bad : "?", msg);
        pl_free(M);
        return NULL;
    }
    const pl_param *p = &M->p;
    const ds_data *d = ctx->data;
    ds_split B = {0};
    int32_t *ids = NULL;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng)
        goto oom;
    gsl_rng_set(rng, (unsigned long)(ctx->seed ^ 0x9e11e5ULL));
    for (int k = 0; k < p->n_other; k++)
        if (p->other[k]->needs_truth && !d->synthetic) {
            snprintf(ctx->err, ctx->errlen, "candidates_from: %s needs synthetic data",
                     p->other[k]->name);
            goto fail;
        }
    M->nu = d->n_users;
    M->ni = d->n_items;
    M->threads = ctx->threads;
    M->dA = *d;
    memset(&M->dA.train, 0, sizeof M->dA.train);
    /* rerank = none: nothing is held out, stage 1 sees every training pair */
    if (split_train(&d->train, p->rerank ? p->frac : 0.0, rng, &M->dA.train, &B) != 0)
        goto oom;
    /* sub-methods: their keys + the runner's data.* keys, the same seed, fitted on A */
    for (int q = 0; q < ctx->params->n; q++)
        if (strncmp(ctx->params->key[q], "data.", 5) == 0) {
            if (kv_set(&M->p.s1_kv, ctx->params->key[q], ctx->params->val[q]) != 0)
                goto oom;
            for (int k = 0; k < p->n_other; k++)
                if (kv_set(&M->p.other_kv[k], ctx->params->key[q], ctx->params->val[q]) != 0)
                    goto oom;
        }
    est_fit_ctx sctx = *ctx;
    sctx.data = &M->dA;
    sctx.params = &M->p.s1_kv;
    double t0 = now_s();
    if (!(M->s1m = p->s1->train(&sctx)))
        goto fail;
    double t1 = now_s();
    for (int k = 0; k < p->n_other; k++) {
        est_curves oc;   /* the other methods' curves are not the cell's */
        est_curves_init(&oc);
        sctx.params = &M->p.other_kv[k];
        sctx.curves = &oc;
        M->om[k] = p->other[k]->train(&sctx);
        est_curves_free(&oc);
        if (!M->om[k])
            goto fail;
    }
    /* vectors and A statistics */
    int dim = M->dim = p->s1->vectors(M->s1m, d, 0, 0, NULL, NULL);
    int nmax = M->nu > M->ni ? M->nu : M->ni;
    ids = malloc((size_t)nmax * sizeof *ids);
    M->U = malloc((size_t)M->nu * dim * sizeof *M->U);
    M->V = malloc((size_t)M->ni * dim * sizeof *M->V);
    M->ucnt = calloc((size_t)M->nu, sizeof *M->ucnt);
    M->umean = calloc((size_t)M->nu, sizeof *M->umean);
    M->icnt = calloc((size_t)M->ni, sizeof *M->icnt);
    M->imean = calloc((size_t)M->ni, sizeof *M->imean);
    if (dim < 1 || !ids || !M->U || !M->V || !M->ucnt || !M->umean || !M->icnt || !M->imean)
        goto oom;
    for (int q = 0; q < nmax; q++)
        ids[q] = q;
    if (p->s1->vectors(M->s1m, d, 0, M->nu, ids, M->U) != dim ||
        p->s1->vectors(M->s1m, d, 1, M->ni, ids, M->V) != dim)
        goto oom;
    const ds_split *A = &M->dA.train;
    for (long k = 0; k < A->n; k++) {
        M->ucnt[A->user[k]] += 1;
        M->umean[A->user[k]] += A->rating[k];
        M->icnt[A->item[k]] += 1;
        M->imean[A->item[k]] += A->rating[k];
    }
    for (int u = 0; u < M->nu; u++)
        M->umean[u] = M->ucnt[u] > 0 ? M->umean[u] / M->ucnt[u] : NAN;
    for (int i = 0; i < M->ni; i++)
        M->imean[i] = M->icnt[i] > 0 ? M->imean[i] / M->icnt[i] : NAN;
    double *r = malloc((size_t)(A->n > 0 ? A->n : 1) * sizeof *r);
    if (!r)
        goto oom;
    memcpy(r, A->rating, (size_t)A->n * sizeof *r);
    qsort(r, (size_t)A->n, sizeof *r, cmp_double);
    for (int c = 0; c < 4; c++)
        M->cut[c] = A->n > 0 ? r[(long)((c + 1) * 0.2 * (A->n - 1))] : 0;
    M->neg_label = !p->threshold_label && p->objective == RERANK_SQUARED && A->n > 0 ? r[0] : 0.0;
    M->thr = d->synthetic ? (A->n > 0 ? r[(long)(0.8 * (A->n - 1))] : 0) : d->relevance_threshold;
    free(r);
    M->nf = 2 + p->n_other + 4 + (p->covariates ? d->user_dim + d->item_dim : 0);
    double t2 = now_s();
    if (p->rerank && fit_stage2(M, d, &B, rng, ctx->seed, ctx->err, ctx->errlen) != 0)
        goto fail;
    double t3 = now_s();
    size_t at = strlen(ctx->curves->note);
    if (at < sizeof ctx->curves->note - 1)
        snprintf(ctx->curves->note + at, sizeof ctx->curves->note - at,
                 "%spipeline: stage 1 %s on %ld of %ld training pairs (%.1f s), stage 2 %s on %ld rows "
                 "(%.1f s), %d features", at ? "; " : "", p->s1->name, A->n, d->train.n, t1 - t0,
                 p->rerank ? "xgboost" : "none", M->s2_rows, t3 - t2, M->nf);
    ds_split_free(&B);
    free(ids);
    gsl_rng_free(rng);
    return M;
oom:
    snprintf(ctx->err, ctx->errlen, "out of memory (pipeline)");
fail:
    ds_split_free(&B);
    free(ids);
    if (rng)
        gsl_rng_free(rng);
    pl_free(M);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* stage-wise metrics */

/* The final top-10 of each query from its K candidates: reranked by the trees (rerank =
 * xgboost) or the stage-1 order. fin (nq x 10, -1 padded). Returns seconds, -1 on failure. */
static double stage2(const pl_model *M, const ds_data *d, const int32_t *us, int nq,
                     const int32_t *top, const float *tsc, int K10, int32_t *fin)
{
    int K = M->p.K;
    double t0 = now_s();
    if (!M->p.rerank) {
        for (int q = 0; q < nq; q++)
            for (int r = 0; r < K10; r++)
                fin[(size_t)q * K10 + r] = r < K ? top[(size_t)q * K + r] : -1;
        return now_s() - t0;
    }
    long n = (long)nq * K;
    int32_t *ru = malloc((size_t)n * sizeof *ru), *ri = malloc((size_t)n * sizeof *ri);
    float *rs = malloc((size_t)n * sizeof *rs), *X = malloc((size_t)n * M->nf * sizeof *X);
    float *out = malloc((size_t)n * sizeof *out);
    int *pos = malloc((size_t)n * sizeof *pos);
    long *start = malloc((size_t)(nq + 1) * sizeof *start);
    double secs = -1;
    char err[256];
    if (!ru || !ri || !rs || !X || !out || !pos || !start)
        goto out;
    long m = 0;
    for (int q = 0; q < nq; q++) {
        start[q] = m;
        for (int r = 0; r < K; r++) {
            int32_t it = top[(size_t)q * K + r];
            if (it < 0)
                break;
            ru[m] = us[q];
            ri[m] = it;
            rs[m] = tsc[(size_t)q * K + r];
            pos[m] = r;
            m++;
        }
    }
    start[nq] = m;
    if (features(M, d, m, ru, ri, rs, pos, X) != 0 ||
        rerank_xgb_predict(M->xgb, X, m, M->nf, out, err, sizeof err) != 0)
        goto out;
    for (int q = 0; q < nq; q++) {
        int gn = (int)(start[q + 1] - start[q]);
        /* the group's scores indexed by item: retrieve_select wants a score row over ids; use
         * local indices instead, then map back (ties: the stage-1 order, i.e. local index) */
        float *g = out + start[q];
        int32_t loc[10];
        retrieve_select(g, gn, K10 < gn ? K10 : gn, loc, NULL);
        for (int r = 0; r < K10; r++)
            fin[(size_t)q * K10 + r] = r < gn && loc[r] >= 0 ? ri[start[q] + loc[r]] : -1;
    }
    secs = now_s() - t0;
out:
    free(ru);
    free(ri);
    free(rs);
    free(X);
    free(out);
    free(pos);
    free(start);
    return secs;
}

static double peak_rss_mb(void)
{
    struct rusage r;
    return getrusage(RUSAGE_SELF, &r) == 0 ? r.ru_maxrss / 1024.0 : NAN;
}

static int pl_extra(const void *model, const ds_data *d, metric_set *out)
{
    const pl_model *M = model;
    int nu = M->nu, ni = M->ni, K = M->p.K, K10 = 10;
    int rc = -1;
    char err[256] = "";
    /* evaluation users */
    int32_t *cand = malloc((size_t)nu * sizeof *cand);
    int32_t *us = NULL, *top = NULL, *fin = NULL, *atop = NULL, *otop = NULL;
    float *tsc = NULL, *osc = NULL;
    double *o = NULL;
    char *rel = NULL;
    retrieve_excl ex = {0};
    if (!cand)
        return -1;
    int nall = 0;
    if (d->synthetic) {
        int nw = d->n_warm_users > 0 ? d->n_warm_users : nu;
        for (int u = 0; u < nw; u++)
            cand[nall++] = u;
    } else {
        char *has = calloc((size_t)nu, 1);
        if (!has)
            goto out;
        for (long k = 0; k < d->test_warm.n; k++)
            if (d->test_warm.rating[k] >= d->relevance_threshold)
                has[d->test_warm.user[k]] = 1;
        for (int u = 0; u < nu; u++)
            if (has[u])
                cand[nall++] = u;
        free(has);
    }
    int nq = M->p.eval_users > 0 && M->p.eval_users < nall ? M->p.eval_users : nall;
    us = malloc((size_t)(nq > 0 ? nq : 1) * sizeof *us);
    if (!us)
        goto out;
    for (int q = 0; q < nq; q++)
        us[q] = cand[(long)q * nall / nq];
    if (nq == 0) {
        rc = 0;
        goto out;
    }
    /* exclusion: the users' train and valid items */
    long ne = M->p.exclude ? d->train.n + d->valid.n : 0;
    int32_t *eu = malloc((size_t)(ne > 0 ? ne : 1) * sizeof *eu), *ei = malloc((size_t)(ne > 0 ? ne : 1) * sizeof *ei);
    if (!eu || !ei) {
        free(eu);
        free(ei);
        goto out;
    }
    if (M->p.exclude) {
        memcpy(eu, d->train.user, (size_t)d->train.n * sizeof *eu);
        memcpy(ei, d->train.item, (size_t)d->train.n * sizeof *ei);
        memcpy(eu + d->train.n, d->valid.user, (size_t)d->valid.n * sizeof *eu);
        memcpy(ei + d->train.n, d->valid.item, (size_t)d->valid.n * sizeof *ei);
    }
    int erc = retrieve_excl_build(&ex, us, nq, nu, ne, eu, ei);
    free(eu);
    free(ei);
    if (erc != 0)
        goto out;
    top = malloc((size_t)nq * K * sizeof *top);
    tsc = malloc((size_t)nq * K * sizeof *tsc);
    fin = malloc((size_t)nq * K10 * sizeof *fin);
    if (!top || !tsc || !fin)
        goto out;
    double s1 = stage1(M, us, nq, &ex, 1, top, tsc, err, sizeof err);
    if (s1 < 0)
        goto out;
    double s2 = stage2(M, d, us, nq, top, tsc, K10, fin);
    if (s2 < 0)
        goto out;
    metrics_add(out, "pl_K", K);
    if (M->p.retrieval != RET_EXACT) {
        atop = malloc((size_t)nq * K * sizeof *atop);
        if (!atop)
            goto out;
        double se = stage1(M, us, nq, &ex, 0, atop, NULL, err, sizeof err);
        if (se < 0)
            goto out;
        double hit = 0;
        for (int q = 0; q < nq; q++) {
            int h = 0, ne2 = 0;
            for (int a = 0; a < K; a++) {
                int32_t x = atop[(size_t)q * K + a];
                if (x < 0)
                    continue;
                ne2++;
                for (int b = 0; b < K; b++)
                    if (top[(size_t)q * K + b] == x) {
                        h++;
                        break;
                    }
            }
            hit += ne2 ? (double)h / ne2 : 1.0;
        }
        metrics_add(out, "pl_ann_recall_at_K", hit / nq);
        metrics_add(out, "pl_ann_qps", nq / (s1 > 1e-9 ? s1 : 1e-9));
        metrics_add(out, "pl_exact_qps", nq / (se > 1e-9 ? se : 1e-9));
    }
    if (d->synthetic && d->truth) {
        o = malloc((size_t)ni * sizeof *o);
        osc = malloc((size_t)ni * sizeof *osc);
        otop = malloc((size_t)(K > K10 ? K : K10) * sizeof *otop);
        if (!o || !osc || !otop)
            goto out;
        double rec = 0, ndcg = 0, reg = 0, ndcg1 = 0, reg1 = 0, miss = 0, orec = 0, orec1 = 0;
        for (int q = 0; q < nq; q++) {
            int u = us[q];
            for (int i = 0; i < ni; i++) {
                o[i] = ds_oracle(d, u, i);
                osc[i] = (float)o[i];
            }
            for (long e = ex.ptr[q]; e < ex.ptr[q + 1]; e++)
                osc[ex.idx[e]] = -INFINITY;
            double lo = INFINITY;
            for (int i = 0; i < ni; i++)
                if (osc[i] > -INFINITY && o[i] < lo)
                    lo = o[i];
            retrieve_select(osc, ni, K10, otop, NULL);
            double opt = 0, idcg = 0;
            int nopt = 0;
            for (int r = 0; r < K10; r++)
                if (otop[r] >= 0) {
                    opt += o[otop[r]];
                    idcg += (o[otop[r]] - lo) / log2(r + 2.0);
                    nopt++;
                }
            if (nopt == 0)
                continue;
            /* stage-1 recall of the oracle top 10 */
            int h = 0;
            for (int r = 0; r < K10; r++)
                for (int c = 0; c < K && otop[r] >= 0; c++)
                    if (top[(size_t)q * K + c] == otop[r]) {
                        h++;
                        break;
                    }
            rec += (double)h / nopt;
            /* best 10 among the candidates */
            double bestc = 0;
            {
                double *cv = malloc((size_t)K * sizeof *cv);
                if (!cv)
                    goto out;
                int nc = 0;
                for (int c = 0; c < K; c++)
                    if (top[(size_t)q * K + c] >= 0)
                        cv[nc++] = o[top[(size_t)q * K + c]];
                qsort(cv, (size_t)nc, sizeof *cv, cmp_double);
                for (int r = 0; r < nopt && r < nc; r++)
                    bestc += cv[nc - 1 - r];
                free(cv);
            }
            double got = 0, got1 = 0, dcg = 0, dcg1 = 0;
            int ohit = 0, ohit1 = 0;
            for (int r = 0; r < nopt; r++) {
                int32_t a = fin[(size_t)q * K10 + r], b = r < K ? top[(size_t)q * K + r] : -1;
                for (int c = 0; c < nopt; c++) {
                    ohit += a >= 0 && a == otop[c];
                    ohit1 += b >= 0 && b == otop[c];
                }
                double va = a >= 0 ? o[a] : lo, vb = b >= 0 ? o[b] : lo;
                got += va;
                got1 += vb;
                dcg += (va - lo) / log2(r + 2.0);
                dcg1 += (vb - lo) / log2(r + 2.0);
            }
            orec += (double)ohit / nopt;
            orec1 += (double)ohit1 / nopt;
            reg += (opt - got) / nopt;
            reg1 += (opt - got1) / nopt;
            miss += (opt - bestc) / nopt;
            ndcg += idcg > 0 ? dcg / idcg : 1.0;
            ndcg1 += idcg > 0 ? dcg1 / idcg : 1.0;
        }
        metrics_add(out, "pl_s1_recall_at_K", rec / nq);
        metrics_add(out, "pl_oracle_recall_at_10", orec / nq);
        metrics_add(out, "pl_s1_oracle_recall_at_10", orec1 / nq);
        metrics_add(out, "pl_ndcg_at_10", ndcg / nq);
        metrics_add(out, "pl_regret_at_10", reg / nq);
        metrics_add(out, "pl_s1_ndcg_at_10", ndcg1 / nq);
        metrics_add(out, "pl_s1_regret_at_10", reg1 / nq);
        metrics_add(out, "pl_regret_missed_at_10", miss / nq);
        metrics_add(out, "pl_regret_misranked_at_10", (reg - miss) / nq);
    } else {
        rel = calloc((size_t)ni, 1);
        if (!rel)
            goto out;
        /* test_warm pairs by user */
        double rec = 0, prec = 0, ndcg = 0, prec1 = 0, ndcg1 = 0;
        int *slot = malloc((size_t)nu * sizeof *slot);
        if (!slot)
            goto out;
        for (int u = 0; u < nu; u++)
            slot[u] = -1;
        for (int q = 0; q < nq; q++)
            slot[us[q]] = q;
        long *st = calloc((size_t)nq + 1, sizeof *st);
        int32_t *it = malloc((size_t)(d->test_warm.n > 0 ? d->test_warm.n : 1) * sizeof *it);
        if (!st || !it) {
            free(slot);
            free(st);
            free(it);
            goto out;
        }
        for (long k = 0; k < d->test_warm.n; k++)
            if (d->test_warm.rating[k] >= d->relevance_threshold && slot[d->test_warm.user[k]] >= 0)
                st[slot[d->test_warm.user[k]] + 1]++;
        for (int q = 0; q < nq; q++)
            st[q + 1] += st[q];
        long *fill = malloc((size_t)nq * sizeof *fill);
        if (!fill) {
            free(slot);
            free(st);
            free(it);
            goto out;
        }
        memcpy(fill, st, (size_t)nq * sizeof *fill);
        for (long k = 0; k < d->test_warm.n; k++)
            if (d->test_warm.rating[k] >= d->relevance_threshold && slot[d->test_warm.user[k]] >= 0)
                it[fill[slot[d->test_warm.user[k]]]++] = d->test_warm.item[k];
        for (int q = 0; q < nq; q++) {
            long nr = 0;
            for (long k = st[q]; k < st[q + 1]; k++)
                if (!rel[it[k]]) {
                    rel[it[k]] = 1;
                    nr++;
                }
            int h = 0;
            for (int c = 0; c < K; c++)
                h += top[(size_t)q * K + c] >= 0 && rel[top[(size_t)q * K + c]];
            rec += nr ? (double)h / nr : 0;
            double idcg = 0, dcg = 0, dcg1 = 0;
            int h10 = 0, h1 = 0;
            for (int r = 0; r < K10; r++) {
                if (r < nr)
                    idcg += 1 / log2(r + 2.0);
                int32_t a = fin[(size_t)q * K10 + r], b = r < K ? top[(size_t)q * K + r] : -1;
                if (a >= 0 && rel[a]) {
                    h10++;
                    dcg += 1 / log2(r + 2.0);
                }
                if (b >= 0 && rel[b]) {
                    h1++;
                    dcg1 += 1 / log2(r + 2.0);
                }
            }
            prec += h10 / 10.0;
            prec1 += h1 / 10.0;
            ndcg += idcg > 0 ? dcg / idcg : 0;
            ndcg1 += idcg > 0 ? dcg1 / idcg : 0;
            for (long k = st[q]; k < st[q + 1]; k++)
                rel[it[k]] = 0;
        }
        free(slot);
        free(st);
        free(it);
        free(fill);
        metrics_add(out, "pl_s1_recall_at_K", rec / nq);
        metrics_add(out, "pl_precision_at_10", prec / nq);
        metrics_add(out, "pl_ndcg_at_10", ndcg / nq);
        metrics_add(out, "pl_s1_precision_at_10", prec1 / nq);
        metrics_add(out, "pl_s1_ndcg_at_10", ndcg1 / nq);
    }
    metrics_add(out, "pl_s1_sec_per_1k_users", 1000.0 * s1 / nq);
    metrics_add(out, "pl_s2_sec_per_1k_users", 1000.0 * s2 / nq);
    metrics_add(out, "pl_s2_train_rows", (double)M->s2_rows);
    metrics_add(out, "pl_peak_rss_mb", peak_rss_mb());
    rc = 0;
out:
    free(cand);
    free(us);
    free(top);
    free(tsc);
    free(fin);
    free(atop);
    free(otop);
    free(osc);
    free(o);
    free(rel);
    retrieve_excl_free(&ex);
    return rc;
}

const est_method est_pipeline = {
    .name = "pipeline",
    .params = pl_params,
    .conditions = pl_conditions,
    .cold_capable = 1,
    .check_parameter = pl_check_parameter,
    .train = pl_train,
    .predict = pl_predict,
    .free_model = pl_free,
    .extra_metrics = pl_extra,
};
