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

typedef struct metric_set {
    int n;
    const char *name[METRICS_MAX];   /* static strings */
    double value[METRICS_MAX];
} metric_set;

void metrics_init(metric_set *m);
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
typedef struct {
    double precision, recall, map, ndcg;
    long n_users;
} catalog_rank;
int metrics_catalog_rank(const est_method *m, const void *model, const ds_data *d,
                         const ds_split *test, double threshold, int k, catalog_rank *out);

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
