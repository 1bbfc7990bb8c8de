/* metrics.h — the numbers every plot is made of (SPEC section 6).
 *
 * Synthetic data (oracle known): excess risk E(R_hat - R*)^2 on test_cold and test_warm,
 * RMSE/MAE against observed ratings, and ranking on test_cold (per test user, the candidate
 * set is that user's pairs in the split): NDCG@k with the oracle as graded relevance,
 * recall@k against the oracle's top-k, regret@k = (oracle value of the oracle's top-k minus
 * that of the predicted top-k) / min(k, n_u).
 * Real data: RMSE, MAE on the test split; precision/recall/MAP/NDCG@k over the whole item
 * catalogue (metrics_catalog.c) with relevance rating >= d->relevance_threshold (data key
 * relevance_threshold, default 4).
 *
 * Ranking conventions (metrics.c):
 *   - candidates of user u = u's pairs in the split (n_u of them); users with n_u < 2 are
 *     skipped; with n_u < k every "@k" uses kk = min(k, n_u) (NDCG's ideal DCG too);
 *   - rankings sort by score descending, ties broken by item id ascending (then split
 *     position); the ideal/oracle ranking uses the same rule on the oracle values;
 *   - NDCG: graded relevance rel = oracle - (min oracle over u's candidates) >= 0, gain = rel,
 *     discount 1/log2(rank+1); users whose candidates all have the same oracle are skipped;
 *   - recall vs oracle = |pred top-kk  ∩  oracle top-kk| / kk;
 *   - precision@k = hits in top-kk / kk (users with no relevant item count, as 0);
 *     recall@k = hits / n_rel; AP@k = sum over relevant ranks r <= kk of precision@r,
 *     / min(k, n_rel); users with no relevant item are skipped for recall and MAP;
 *   - values are means over the users not skipped: NaN when none is left, or when a
 *     prediction is not finite.
 */
#ifndef METRICS_H
#define METRICS_H

#include "dataset.h"
#include "estimator.h"

#define METRICS_MAX 96
#define METRICS_USER_MAX 16   /* ranking metrics with per-user values kept */

/* One ranking metric's value for each user it was averaged over (issue 15: paired tests). */
typedef struct {
    const char *name;        /* static string (as in metric_set) */
    long n;
    int32_t *user;           /* user rows */
    float *value;            /* float32: enough for paired tests, half the bytes */
} metric_user_values;

typedef struct metric_set {
    int n;
    const char *name[METRICS_MAX];   /* static strings */
    double value[METRICS_MAX];
    /* per-user values: only filled when keep_per_user is set before metrics_evaluate (the
     * runner does; then metrics_free releases them). Heap arrays: copy with metrics_copy. */
    int keep_per_user;
    int n_user;
    metric_user_values user[METRICS_USER_MAX];
} metric_set;

void metrics_init(metric_set *m);
/* Frees the per-user arrays and leaves m initialised (empty). */
void metrics_free(metric_set *m);
/* Deep copy (dst overwritten, not freed first). 0, or -1 on allocation failure (dst empty). */
int metrics_copy(metric_set *dst, const metric_set *src);
/* Add (or replace) name's per-user values (copied; value rounded to float). 0 or -1 (memory);
 * beyond METRICS_USER_MAX metrics nothing is kept (0). */
int metrics_add_user_values(metric_set *m, const char *name, long n, const int32_t *user,
                            const double *value);
/* NULL when name has no per-user values. */
const metric_user_values *metrics_user_values(const metric_set *m, const char *name);
void metrics_add(metric_set *m, const char *name, double value);
double metrics_get(const metric_set *m, const char *name);   /* NaN if absent */

double metric_mse(const double *pred, const double *target, long n);
double metric_rmse(const double *pred, const double *target, long n);
double metric_mae(const double *pred, const double *target, long n);

/* Ranking over the users of a split: pairs are grouped by user; users with fewer than 2
 * candidates are skipped. relevance[] is graded (oracle) for ndcg/recall/regret. */
double metric_ndcg_at_k(const ds_split *s, const double *pred, const double *relevance, int k);
double metric_recall_vs_oracle_at_k(const ds_split *s, const double *pred, const double *oracle, int k);
double metric_regret_at_k(const ds_split *s, const double *pred, const double *oracle, int k);
/* Binary relevance rating >= threshold (real data). */
double metric_precision_at_k(const ds_split *s, const double *pred, double threshold, int k);
double metric_recall_at_k(const ds_split *s, const double *pred, double threshold, int k);
double metric_map_at_k(const ds_split *s, const double *pred, double threshold, int k);

/* Ranking over the whole catalogue (real data, metrics_catalog.c): each test user with a
 * relevant test item (rating >= threshold) ranks every item outside their train and valid
 * pairs; precision/recall/MAP/NDCG@k are means over those users (n_users of them; 0 = none).
 * 0, or -1 on allocation failure. */
enum { CAT_PRECISION, CAT_RECALL, CAT_MAP, CAT_NDCG, CAT_POP_RECALL, CAT_POP_NDCG,
       CAT_CALIBRATED_RECALL, CAT_PER_USER };
typedef struct {
    double precision, recall, map, ndcg;
    double pop_recall, pop_ndcg, calibrated_recall;      /* issue 15; formulas in metrics_catalog.c */
    double coverage, gini_exposure, avg_rec_popularity;   /* over all users' top-k lists */
    long n_users;
    /* keep_per_user: the users counted and each one's value, per_user[CAT_...][0..n_users) */
    int32_t *user;
    double *per_user[CAT_PER_USER];
} catalog_rank;
typedef struct {
    double pop_gamma;        /* weight of a relevant item: max(pop, 1)^-pop_gamma */
    int keep_per_user;
    int n_cat;               /* catalogue = items 0..n_cat-1 (0: all d->n_items) */
    long max_pairs;          /* > 0: score an evenly spaced subset of the eligible users so that
                                users x n_cat <= max_pairs (at least one user); 0: every user */
} catalog_opts;
/* Users x items scored in a synthetic catalogue ranking at most (else a user subset). */
#define CAT_ORACLE_PAIRS (1L << 20)
int metrics_catalog_rank(const est_method *m, const void *model, const ds_data *d,
                         const ds_split *test, double threshold, int k, catalog_rank *out);
/* The same with the popularity weight and per-user values (o NULL: gamma 0, none kept). */
int metrics_catalog_rank_opts(const est_method *m, const void *model, const ds_data *d,
                              const ds_split *test, double threshold, int k,
                              const catalog_opts *o, catalog_rank *out);
/* Synthetic data: each training user (an evenly spaced subset of them when users x items >
 * CAT_ORACLE_PAIRS) ranks every training item outside their train and valid pairs; relevant
 * = the oracle's top k of the same candidates. Nothing (n_users 0) for real data. */
int metrics_catalog_oracle(const est_method *m, const void *model, const ds_data *d, int k,
                           const catalog_opts *o, catalog_rank *out);
void catalog_rank_free(catalog_rank *c);   /* the per-user arrays */

/* All SPEC section 6 metrics of a trained model on d, with the names of SPEC section 7
 * (excess_risk_cold, ..., regret_at_10 for synthetic data; rmse, mae, precision_at_10,
 * recall_at_10, map_at_10 for real data). Returns 0, -1 on allocation failure.
 * Synthetic: excess_risk_{cold,warm} (vs oracle), rmse_/mae_{cold,warm} (vs ratings),
 * ndcg_at_10, recall_at_10 (vs the oracle's top 10), regret_at_10 on test_cold.
 * Real: rmse, mae on test_warm; precision_at_10, recall_at_10, map_at_10, ndcg_at_10 ranking
 * each test_warm user's whole catalogue (relevant: rating >= d->relevance_threshold), plus rmse_cold, mae_cold when test_cold is not empty (cold_users split).
 * An empty split adds none of its metrics; a ranking metric with no eligible user is not
 * added; non-finite predictions on a split make all of its metrics NaN. */
int metrics_evaluate(const est_method *m, const void *model, const ds_data *d, metric_set *out);

#endif
